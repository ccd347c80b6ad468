//! The deployment aggregate as a decider: its state folded from `phare_deployment`
//! events, the commands and the rules that decide them. No HTTP here; the status and
//! the compliance flags shown with a deployment come from `pharos_domain::compliance`.

use chrono::{DateTime, NaiveDate, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_domain::compliance::{
    CharterTerm, Compliance, DeploymentFacts, DeploymentStatus, LEARNING_HOURS_REQUIRED,
    TRAINED_MEMBERS_REQUIRED,
};
use pharos_events::SchoolKind;
use pharos_events::phare::{
    DeploymentEvent, DeploymentOwner, MemberDetails, ProtocolBody, SchoolYear, StaffPerson,
    TeamFunction, TeamMember,
};
use uuid::Uuid;

use crate::check_school_year;
use crate::places::{KnownSchool, named, normal_circonscription, same_circonscription};

/// More hours than this in a year is a typing error (the programme asks for 10).
pub const LEARNING_HOURS_MAX: u32 = 200;
/// The longest name of an « autre » function.
pub const FUNCTION_LABEL_MAX: usize = 100;

/// Deployment streams' ids are derived from owner and year, so that two deployments of
/// the same owner and year are the same stream (the second one is refused there).
const NAMESPACE: Uuid = Uuid::from_u128(0x7068_6172_655f_6465_706c_6f79_6d65_6e74);

/// The deployment id of an owner and year.
pub fn deployment_id(owner: &DeploymentOwner, year: SchoolYear) -> Uuid {
    let key = match owner {
        DeploymentOwner::School { uai, .. } => format!("school:{uai}:{year}"),
        DeploymentOwner::Circonscription {
            circonscription,
            department,
        } => format!(
            "circonscription:{department}:{}:{year}",
            normal_circonscription(circonscription)
        ),
    };
    Uuid::new_v5(&NAMESPACE, key.as_bytes())
}

/// How an owner is named in messages: a school by its name (when known) with its UAI
/// in parentheses.
fn describe(owner: &DeploymentOwner, school_name: Option<&str>) -> String {
    match owner {
        DeploymentOwner::School { uai, .. } => match school_name {
            Some(name) => format!("l'établissement {}", named(name, uai)),
            None => format!("l'établissement {uai}"),
        },
        DeploymentOwner::Circonscription {
            circonscription,
            department,
        } => format!("la circonscription {circonscription} ({department})"),
    }
}

fn french(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// The treatment protocol (protocole de traitement des situations de harcèlement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    pub formalised_on: NaiveDate,
    /// The day it was presented to `presented_to`, once it has been.
    pub presented_on: Option<NaiveDate>,
    pub presented_to: ProtocolBody,
}

/// The 10 heures d'apprentissage per pupil and year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearningHours {
    pub planned: bool,
    pub hours: u32,
}

/// A parent workshop, held or (dated ahead) scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workshop {
    pub workshop_id: Uuid,
    pub held_on: NaiveDate,
    pub participants: Option<u32>,
}

/// A deployment as its events leave it.
#[derive(Debug, Clone, Default)]
pub struct DeploymentState {
    pub owner: Option<DeploymentOwner>,
    pub school_year: Option<SchoolYear>,
    pub charter_signed_on: Option<NaiveDate>,
    pub team: Vec<TeamMember>,
    pub coordinator: Option<StaffPerson>,
    /// The coordinator was copied from the previous year and is not confirmed yet.
    pub coordinator_carried_over: bool,
    pub protocol: Option<Protocol>,
    /// The protocol was copied from the previous year and is not confirmed yet.
    pub protocol_carried_over: bool,
    pub learning_hours: Option<LearningHours>,
    pub workshops: Vec<Workshop>,
}

impl DeploymentState {
    /// The charter's term, counted from the school year it takes effect (a charter
    /// signed in June for this deployment's year runs from September).
    pub fn charter(&self) -> Option<CharterTerm> {
        let year = self.school_year?;
        self.charter_signed_on.map(|on| CharterTerm::of(on, year))
    }

    pub fn status(&self, today: NaiveDate) -> DeploymentStatus {
        match self.school_year {
            Some(year) => DeploymentStatus::of(year, self.charter_signed_on, today),
            None => DeploymentStatus::NotStarted,
        }
    }

    /// What compliance is computed from.
    pub fn facts(&self) -> DeploymentFacts {
        DeploymentFacts {
            charter_signed_on: self.charter_signed_on,
            school_year: self.school_year,
            trained_members: self.team.iter().filter(|m| m.trained).count(),
            circonscription_trained_members: None,
            coordinator_named: self.coordinator.is_some(),
            protocol_presented_on: self.protocol.and_then(|p| p.presented_on),
            learning_hours_planned: self.learning_hours.filter(|h| h.planned).map(|h| h.hours),
            first_parent_workshop_on: self.workshops.iter().map(|w| w.held_on).min(),
        }
    }

    /// The compliance flags on `today`: an indication, never a reason to refuse a save.
    pub fn compliance(&self, today: NaiveDate) -> Compliance {
        Compliance::of(&self.facts(), today)
    }

    /// The compliance flags on `today` of an école's deployment: its team and its
    /// coordinator are judged by its circonscription's deployment of the same year
    /// (`None` when there is none), never by its own.
    pub fn compliance_of_ecole(
        &self,
        circonscription: Option<&DeploymentState>,
        today: NaiveDate,
    ) -> Compliance {
        let facts = DeploymentFacts {
            circonscription_trained_members: Some(
                circonscription.map_or(0, |c| c.facts().trained_members),
            ),
            coordinator_named: circonscription.is_some_and(|c| c.coordinator.is_some()),
            ..self.facts()
        };
        Compliance::of(&facts, today)
    }

    /// What the compliance flag `flag` (as [`Compliance`] names it) says of this
    /// deployment on `day`, in French and worded by its outcome in `flags`: « atelier
    /// parents tenu le 10/11/2026 », « aucun atelier parents tenu ». `flags` are this
    /// deployment's (or, for an école's team and coordinator, its own flags, which
    /// count its circonscription's).
    pub fn fact_wording(&self, flag: &str, flags: &Compliance, day: NaiveDate) -> String {
        match flag {
            "charter_in_force" => match self.charter() {
                Some(term) if flags.charter_in_force => format!(
                    "charte d'engagement signée le {}, en vigueur jusqu'au {}",
                    french(term.signed_on),
                    french(term.ends_on)
                ),
                Some(term) if day < term.takes_effect_on => format!(
                    "charte d'engagement signée le {}, pas encore en vigueur (à partir du {})",
                    french(term.signed_on),
                    french(term.takes_effect_on)
                ),
                Some(term) => format!(
                    "charte d'engagement signée le {}, échue le {}",
                    french(term.signed_on),
                    french(term.ends_on)
                ),
                None => "aucune charte d'engagement signée".to_owned(),
            },
            "trained_team" => match (flags.trained_team, flags.trained_members) {
                (true, n) => format!(
                    "équipe ressource de {n} personnels formés (au moins \
                     {TRAINED_MEMBERS_REQUIRED} attendus)"
                ),
                (false, 0) => format!(
                    "aucun personnel formé dans l'équipe ressource (au moins \
                     {TRAINED_MEMBERS_REQUIRED} attendus)"
                ),
                (false, 1) => format!(
                    "un seul personnel formé dans l'équipe ressource (au moins \
                     {TRAINED_MEMBERS_REQUIRED} attendus)"
                ),
                (false, n) => format!(
                    "{n} personnels formés seulement dans l'équipe ressource (au moins \
                     {TRAINED_MEMBERS_REQUIRED} attendus)"
                ),
            },
            "coordinator_named" => if flags.coordinator_named {
                "coordonnateur désigné"
            } else {
                "aucun coordonnateur désigné"
            }
            .to_owned(),
            "protocol_presented" => match self.protocol {
                Some(Protocol {
                    presented_on: Some(on),
                    ..
                }) if flags.protocol_presented => {
                    format!("protocole de traitement présenté le {}", french(on))
                }
                Some(protocol) => format!(
                    "protocole de traitement formalisé le {}, pas encore présenté",
                    french(protocol.formalised_on)
                ),
                None => "aucun protocole de traitement enregistré".to_owned(),
            },
            "learning_hours_planned" => match self.learning_hours.filter(|h| h.planned) {
                Some(plan) if flags.learning_hours_planned => {
                    format!("{} heures d'apprentissage planifiées", plan.hours)
                }
                Some(LearningHours { hours: 1, .. }) => format!(
                    "une seule heure d'apprentissage planifiée ({LEARNING_HOURS_REQUIRED} \
                     attendues)"
                ),
                Some(plan) => format!(
                    "{} heures d'apprentissage planifiées seulement \
                     ({LEARNING_HOURS_REQUIRED} attendues)",
                    plan.hours
                ),
                None => format!(
                    "aucune heure d'apprentissage planifiée ({LEARNING_HOURS_REQUIRED} \
                     attendues)"
                ),
            },
            _ => {
                let days = self.workshops.iter().map(|w| w.held_on);
                let held = days.clone().filter(|on| *on <= day).min();
                let scheduled = days.filter(|on| *on > day).min();
                match (held, scheduled) {
                    (Some(on), _) => format!("atelier parents tenu le {}", french(on)),
                    (None, Some(on)) => format!(
                        "aucun atelier parents tenu (le premier est programmé le {})",
                        french(on)
                    ),
                    (None, None) => "aucun atelier parents tenu".to_owned(),
                }
            }
        }
    }

    /// Something copied from the previous year waits for confirmation.
    pub fn carry_over_to_confirm(&self) -> bool {
        self.coordinator_carried_over
            || self.protocol_carried_over
            || self.team.iter().any(|m| m.carried_over)
    }
}

/// What a deployment for the next school year takes from this one, to confirm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarryOver {
    pub team: Vec<TeamMember>,
    pub coordinator: Option<StaffPerson>,
    pub protocol: Option<Protocol>,
}

impl CarryOver {
    /// What `previous` (the same owner's deployment of the year before) offers.
    pub fn of(previous: &DeploymentState) -> Self {
        Self {
            team: previous.team.clone(),
            coordinator: previous.coordinator.clone(),
            protocol: previous.protocol,
        }
    }
}

/// A change of a team member: each field given replaces the member's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberChanges {
    pub function: Option<TeamFunction>,
    /// The name of an « autre » function; without it, the member's stays while their
    /// function does.
    pub function_label: Option<String>,
    pub trained: Option<bool>,
    pub training_minutes: Option<u32>,
    pub mpp_trained: Option<bool>,
}

/// A function with its name: required for « autre », refused for the others.
pub fn check_function(
    function: TeamFunction,
    label: Option<&str>,
) -> Result<Option<String>, Rejection> {
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    match (function, label) {
        (TeamFunction::Autre, None) => Err(Rejection::invalid(
            "function-label-missing",
            "function_label",
            "Pour la fonction « autre », précisez son libellé (ex. « Éducateur spécialisé »).",
        )),
        (TeamFunction::Autre, Some(label)) if label.chars().count() > FUNCTION_LABEL_MAX => {
            Err(Rejection::invalid(
                "function-label-too-long",
                "function_label",
                format!(
                    "Le nom de la fonction dépasse {FUNCTION_LABEL_MAX} caractères : abrégez-le."
                ),
            ))
        }
        (TeamFunction::Autre, Some(label)) => Ok(Some(label.to_owned())),
        (_, None) => Ok(None),
        (_, Some(_)) => Err(Rejection::invalid(
            "function-label-unexpected",
            "function_label",
            "Un libellé de fonction ne se donne qu'avec la fonction « autre » : retirez-le, ou \
             choisissez « autre ».",
        )),
    }
}

/// The body a deployment's protocol is presented to: a collège's or a lycée's
/// (second degree) to its conseil d'administration, an école's or a circonscription's
/// to the conseil d'école. `None` when the school's kind does not say (périscolaire, a
/// school the directory no longer knows).
pub fn expected_protocol_body(
    owner: &DeploymentOwner,
    school_kind: Option<SchoolKind>,
) -> Option<ProtocolBody> {
    match (owner, school_kind) {
        (DeploymentOwner::Circonscription { .. }, _) => Some(ProtocolBody::ConseilEcole),
        (DeploymentOwner::School { .. }, Some(SchoolKind::Ecole)) => {
            Some(ProtocolBody::ConseilEcole)
        }
        (
            DeploymentOwner::School { .. },
            Some(
                SchoolKind::College
                | SchoolKind::LyceeGt
                | SchoolKind::LyceePro
                | SchoolKind::LyceePoly
                | SchoolKind::Erea,
            ),
        ) => Some(ProtocolBody::ConseilAdministration),
        (DeploymentOwner::School { .. }, _) => None,
    }
}

/// Refuses a protocol presented to the body of the other degree.
fn check_protocol_body(
    owner: &DeploymentOwner,
    school_kind: Option<SchoolKind>,
    presented_to: ProtocolBody,
) -> Result<(), Rejection> {
    match expected_protocol_body(owner, school_kind) {
        Some(ProtocolBody::ConseilAdministration)
            if presented_to != ProtocolBody::ConseilAdministration =>
        {
            Err(Rejection::invalid(
                "protocol-body-mismatch",
                "presented_to",
                "Un collège ou un lycée présente son protocole à son conseil d'administration \
                 (conseil_administration), pas à un conseil d'école.",
            ))
        }
        Some(ProtocolBody::ConseilEcole) if presented_to != ProtocolBody::ConseilEcole => {
            Err(Rejection::invalid(
                "protocol-body-mismatch",
                "presented_to",
                match owner {
                    DeploymentOwner::School { .. } => {
                        "Une école présente son protocole au conseil d'école (conseil_ecole), \
                         pas à un conseil d'administration."
                    }
                    DeploymentOwner::Circonscription { .. } => {
                        "Le protocole d'une circonscription se présente en conseil d'école \
                         (conseil_ecole), pas à un conseil d'administration."
                    }
                },
            ))
        }
        _ => Ok(()),
    }
}

/// The id of a member copied into a deployment of `year` (the same for the same copy,
/// so that a decision taken again gives the same events).
fn carried_member_id(member_id: Uuid, year: SchoolYear) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("carried:{member_id}:{year}").as_bytes())
}

#[derive(Debug, Clone)]
pub enum DeploymentCommand {
    /// `carry_over`: what the same owner's deployment of the year before offers;
    /// `school_name`: the owning school's name in the directory, for messages.
    Create {
        owner: DeploymentOwner,
        school_year: SchoolYear,
        carry_over: Option<CarryOver>,
        school_name: Option<String>,
    },
    SignCharter {
        signed_on: NaiveDate,
    },
    /// `school`: the member's school as the directory knows it, when one is given.
    AddMember {
        member: TeamMember,
        school: Option<KnownSchool>,
    },
    RemoveMember {
        member_id: Uuid,
    },
    UpdateMember {
        member_id: Uuid,
        changes: MemberChanges,
    },
    ConfirmCarryOver,
    NameCoordinator {
        person: StaffPerson,
    },
    /// `school_kind`: the owning school's kind as the directory knows it (`None` for a
    /// circonscription, or a school the directory no longer knows).
    RecordProtocol {
        protocol: Protocol,
        school_kind: Option<SchoolKind>,
    },
    PlanLearningHours(LearningHours),
    RecordParentWorkshop(Workshop),
}

/// The deployment's decider.
#[derive(Debug)]
pub struct Deployment;

impl Decider for Deployment {
    type State = DeploymentState;
    type Command = DeploymentCommand;
    type Event = DeploymentEvent;

    fn evolve(mut state: DeploymentState, event: &DeploymentEvent) -> DeploymentState {
        match event {
            DeploymentEvent::DeploymentCreated { owner, school_year } => {
                state.owner = Some(owner.clone());
                state.school_year = Some(*school_year);
            }
            DeploymentEvent::CharterSigned { signed_on } => {
                state.charter_signed_on = Some(*signed_on);
            }
            DeploymentEvent::TeamMemberAdded(member) => state.team.push(member.clone()),
            DeploymentEvent::TeamMemberRemoved { member_id } => {
                state.team.retain(|m| m.member_id != *member_id);
            }
            DeploymentEvent::TeamMemberUpdated { member_id, details } => {
                if let Some(member) = state.team.iter_mut().find(|m| m.member_id == *member_id) {
                    member.function = details.function;
                    member.function_label.clone_from(&details.function_label);
                    member.trained = details.trained;
                    member.training_minutes = details.training_minutes;
                    member.mpp_trained = details.mpp_trained;
                    member.carried_over = false;
                }
            }
            DeploymentEvent::CoordinatorNamed {
                person,
                carried_over,
            } => {
                state.coordinator = Some(person.clone());
                state.coordinator_carried_over = *carried_over;
            }
            DeploymentEvent::ProtocolRecorded {
                formalised_on,
                presented_on,
                presented_to,
                carried_over,
            } => {
                state.protocol = Some(Protocol {
                    formalised_on: *formalised_on,
                    presented_on: *presented_on,
                    presented_to: *presented_to,
                });
                state.protocol_carried_over = *carried_over;
            }
            DeploymentEvent::CarryOverConfirmed => {
                state.coordinator_carried_over = false;
                state.protocol_carried_over = false;
                for member in &mut state.team {
                    member.carried_over = false;
                }
            }
            DeploymentEvent::LearningHoursPlanned { planned, hours } => {
                state.learning_hours = Some(LearningHours {
                    planned: *planned,
                    hours: *hours,
                });
            }
            DeploymentEvent::ParentWorkshopRecorded {
                workshop_id,
                held_on,
                participants,
            } => state.workshops.push(Workshop {
                workshop_id: *workshop_id,
                held_on: *held_on,
                participants: *participants,
            }),
        }
        state
    }

    fn decide(
        command: &DeploymentCommand,
        state: &DeploymentState,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeploymentEvent>, Rejection> {
        let today = pharos_domain::today_in_france(now);
        if let DeploymentCommand::Create {
            owner,
            school_year,
            carry_over,
            school_name,
        } = command
        {
            if let (Some(existing), Some(year)) = (&state.owner, state.school_year) {
                return Err(Rejection::conflict(
                    "deployment-exists",
                    format!(
                        "Un déploiement pHARe existe déjà pour {} en {year} : un seul par \
                         établissement (ou circonscription) et par année scolaire.",
                        describe(existing, school_name.as_deref())
                    ),
                ));
            }
            check_school_year(*school_year, today)?;
            let mut events = vec![DeploymentEvent::DeploymentCreated {
                owner: owner.clone(),
                school_year: *school_year,
            }];
            // The previous year's team, coordinator and protocol, copied to confirm.
            if let Some(carry) = carry_over {
                events.extend(carry.team.iter().map(|member| {
                    DeploymentEvent::TeamMemberAdded(TeamMember {
                        member_id: carried_member_id(member.member_id, *school_year),
                        carried_over: true,
                        ..member.clone()
                    })
                }));
                if let Some(person) = &carry.coordinator {
                    events.push(DeploymentEvent::CoordinatorNamed {
                        person: person.clone(),
                        carried_over: true,
                    });
                }
                if let Some(protocol) = carry.protocol {
                    events.push(DeploymentEvent::ProtocolRecorded {
                        formalised_on: protocol.formalised_on,
                        presented_on: protocol.presented_on,
                        presented_to: protocol.presented_to,
                        carried_over: true,
                    });
                }
            }
            return Ok(events);
        }
        let (Some(owner), Some(year)) = (&state.owner, state.school_year) else {
            return Err(Rejection::not_found(
                "deployment-unknown",
                "Ce déploiement pHARe n'existe pas.",
            ));
        };
        match command {
            // Decided above, before the deployment had to exist.
            DeploymentCommand::Create { .. } => Ok(vec![]),
            DeploymentCommand::SignCharter { signed_on } => {
                if *signed_on > today {
                    return Err(Rejection::invalid(
                        "charter-in-future",
                        "signed_on",
                        format!(
                            "La date de signature ne peut pas être dans le futur (le {}) : \
                             enregistrez la charte une fois signée.",
                            french(*signed_on)
                        ),
                    ));
                }
                // A charter runs two full school years from the one it takes effect:
                // to cover this deployment's year it takes effect that year or the one
                // before (signed in June for the coming year, it takes effect then).
                let term = CharterTerm::of(*signed_on, year);
                if !term.covers(year) {
                    let [first, second] = term.years();
                    return Err(Rejection::invalid(
                        "charter-outside-term",
                        "signed_on",
                        format!(
                            "Signée le {}, la charte couvre les années {first} et {second} : pas l'année \
                             {year} de ce déploiement (une charte court deux années scolaires).",
                            french(*signed_on),
                        ),
                    ));
                }
                if state.charter_signed_on == Some(*signed_on) {
                    return Ok(vec![]);
                }
                Ok(vec![DeploymentEvent::CharterSigned {
                    signed_on: *signed_on,
                }])
            }
            DeploymentCommand::AddMember { member, school } => {
                if let Some(school) = school {
                    let belongs = match owner {
                        DeploymentOwner::School { uai, .. } => &school.uai == uai,
                        DeploymentOwner::Circonscription {
                            circonscription,
                            department,
                        } => {
                            &school.department == department
                                && school
                                    .circonscription
                                    .as_deref()
                                    .is_some_and(|c| same_circonscription(c, circonscription))
                        }
                    };
                    if !belongs {
                        return Err(Rejection::invalid(
                            "team-member-other-school",
                            "school_uai",
                            format!(
                                "L'établissement {} n'est pas {} : l'équipe ressource ne compte que \
                                 des personnels de l'établissement (ou des écoles de la circonscription).",
                                school.named(),
                                match owner {
                                    DeploymentOwner::School { .. } =>
                                        "l'établissement de ce déploiement".to_owned(),
                                    DeploymentOwner::Circonscription { .. } =>
                                        format!("une école de {}", describe(owner, None)),
                                }
                            ),
                        ));
                    }
                }
                check_function(member.function, member.function_label.as_deref())?;
                let person = member.person.email.person;
                if state.team.iter().any(|m| m.person.email.person == person) {
                    return Err(Rejection::conflict(
                        "team-member-duplicate",
                        "Cette personne fait déjà partie de l'équipe ressource (même adresse électronique).",
                    ));
                }
                Ok(vec![DeploymentEvent::TeamMemberAdded(member.clone())])
            }
            DeploymentCommand::RemoveMember { member_id } => {
                if !state.team.iter().any(|m| m.member_id == *member_id) {
                    return Err(Rejection::not_found(
                        "team-member-unknown",
                        "Ce membre ne fait pas (ou plus) partie de l'équipe ressource.",
                    ));
                }
                Ok(vec![DeploymentEvent::TeamMemberRemoved {
                    member_id: *member_id,
                }])
            }
            DeploymentCommand::UpdateMember { member_id, changes } => {
                let Some(member) = state.team.iter().find(|m| m.member_id == *member_id) else {
                    return Err(Rejection::not_found(
                        "team-member-unknown",
                        "Ce membre ne fait pas (ou plus) partie de l'équipe ressource.",
                    ));
                };
                let function = changes.function.unwrap_or(member.function);
                let function_label = match &changes.function_label {
                    Some(label) => Some(label.clone()),
                    None if function == member.function => member.function_label.clone(),
                    None => None,
                };
                let details = MemberDetails {
                    function,
                    function_label: check_function(function, function_label.as_deref())?,
                    trained: changes.trained.unwrap_or(member.trained),
                    training_minutes: changes.training_minutes.unwrap_or(member.training_minutes),
                    mpp_trained: changes.mpp_trained.unwrap_or(member.mpp_trained),
                };
                let current = MemberDetails {
                    function: member.function,
                    function_label: member.function_label.clone(),
                    trained: member.trained,
                    training_minutes: member.training_minutes,
                    mpp_trained: member.mpp_trained,
                };
                if details == current && !member.carried_over {
                    return Ok(vec![]);
                }
                Ok(vec![DeploymentEvent::TeamMemberUpdated {
                    member_id: *member_id,
                    details,
                }])
            }
            DeploymentCommand::ConfirmCarryOver => {
                if !state.carry_over_to_confirm() {
                    return Err(Rejection::conflict(
                        "carry-over-none",
                        "Rien n'est à confirmer : ce déploiement ne reprend rien de l'année \
                         précédente, ou tout est déjà confirmé.",
                    ));
                }
                Ok(vec![DeploymentEvent::CarryOverConfirmed])
            }
            DeploymentCommand::NameCoordinator { person } => {
                Ok(vec![DeploymentEvent::CoordinatorNamed {
                    person: person.clone(),
                    carried_over: false,
                }])
            }
            DeploymentCommand::RecordProtocol {
                protocol,
                school_kind,
            } => {
                check_protocol_body(owner, *school_kind, protocol.presented_to)?;
                for (field, date) in [
                    ("formalised_on", Some(protocol.formalised_on)),
                    ("presented_on", protocol.presented_on),
                ] {
                    if let Some(date) = date.filter(|d| *d > today) {
                        return Err(Rejection::invalid(
                            "protocol-in-future",
                            field,
                            format!(
                                "Le protocole ne peut pas être daté du {} : on enregistre ce qui est fait \
                                 (formalisé, présenté).",
                                french(date)
                            ),
                        ));
                    }
                }
                if let Some(presented_on) = protocol
                    .presented_on
                    .filter(|on| *on < protocol.formalised_on)
                {
                    return Err(Rejection::invalid(
                        "protocol-presented-before-formalised",
                        "presented_on",
                        format!(
                            "Le protocole ne peut pas être présenté le {} avant d'avoir été formalisé le {}.",
                            french(presented_on),
                            french(protocol.formalised_on)
                        ),
                    ));
                }
                if state.protocol.as_ref() == Some(protocol) && !state.protocol_carried_over {
                    return Ok(vec![]);
                }
                Ok(vec![DeploymentEvent::ProtocolRecorded {
                    formalised_on: protocol.formalised_on,
                    presented_on: protocol.presented_on,
                    presented_to: protocol.presented_to,
                    carried_over: false,
                }])
            }
            DeploymentCommand::PlanLearningHours(plan) => {
                if plan.planned == (plan.hours == 0) {
                    return Err(Rejection::invalid(
                        "learning-hours-inconsistent",
                        "hours",
                        if plan.planned {
                            "Des heures d'apprentissage planifiées se comptent : indiquez leur nombre (10 attendues)."
                        } else {
                            "Des heures d'apprentissage non planifiées ne se comptent pas : indiquez qu'elles sont planifiées, ou 0 heure."
                        },
                    ));
                }
                if plan.hours > LEARNING_HOURS_MAX {
                    return Err(Rejection::invalid(
                        "learning-hours-too-many",
                        "hours",
                        format!(
                            "Le plan compte {} heures d'apprentissage dans l'année : au-delà de \
                             {LEARNING_HOURS_MAX}, c'est sans doute une erreur de saisie (10 heures \
                             attendues).",
                            plan.hours
                        ),
                    ));
                }
                if state.learning_hours.as_ref() == Some(plan) {
                    return Ok(vec![]);
                }
                Ok(vec![DeploymentEvent::LearningHoursPlanned {
                    planned: plan.planned,
                    hours: plan.hours,
                }])
            }
            DeploymentCommand::RecordParentWorkshop(workshop) => {
                if !year.contains(workshop.held_on) {
                    return Err(Rejection::invalid(
                        "workshop-outside-year",
                        "held_on",
                        format!(
                            "Un atelier parents du {} n'appartient pas à l'année scolaire {year} de ce \
                             déploiement (du {} au {}).",
                            french(workshop.held_on),
                            french(year.first_day()),
                            french(year.last_day())
                        ),
                    ));
                }
                Ok(vec![DeploymentEvent::ParentWorkshopRecorded {
                    workshop_id: workshop.workshop_id,
                    held_on: workshop.held_on,
                    participants: workshop.participants,
                }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pharos_decider::testing::Given;
    use pharos_events::phare::TeamFunction;
    use pharos_events::{DepartmentCode, Uai};
    use pharos_privacy::{PersonId, Sealed};

    use super::*;
    use crate::places::tests::ecole;

    const NOW: &str = "2026-11-15";

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// `history`, decided on at 10:00 on [`NOW`].
    fn given(history: impl IntoIterator<Item = DeploymentEvent>) -> Given<Deployment> {
        pharos_decider::given::<Deployment>(history).at(format!("{NOW}T10:00:00Z").parse().unwrap())
    }

    fn year() -> SchoolYear {
        SchoolYear::parse("2026-2027").unwrap()
    }

    fn school_owner() -> DeploymentOwner {
        DeploymentOwner::School {
            uai: Uai::parse("0310001H").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
        }
    }

    fn circonscription_owner() -> DeploymentOwner {
        DeploymentOwner::Circonscription {
            circonscription: "Toulouse Nord".into(),
            department: DepartmentCode::parse("31").unwrap(),
        }
    }

    fn created(owner: DeploymentOwner) -> Vec<DeploymentEvent> {
        vec![DeploymentEvent::DeploymentCreated {
            owner,
            school_year: year(),
        }]
    }

    fn sealed(person: u128) -> Sealed {
        Sealed {
            person: PersonId(Uuid::from_u128(person)),
            sealed: "c2NlbGzDqQ==".into(),
        }
    }

    fn member(person: u128, trained: bool, school_uai: Option<&str>) -> TeamMember {
        TeamMember {
            member_id: Uuid::from_u128(1000 + person),
            person: StaffPerson {
                display_name: sealed(person),
                email: sealed(person),
            },
            function: TeamFunction::Enseignant,
            trained,
            training_minutes: 360,
            mpp_trained: true,
            school_uai: school_uai.map(|u| Uai::parse(u).unwrap()),
            function_label: None,
            carried_over: false,
        }
    }

    fn add(person: u128, school: Option<KnownSchool>) -> DeploymentCommand {
        DeploymentCommand::AddMember {
            member: member(person, true, school.as_ref().map(|s| s.uai.as_str())),
            school,
        }
    }

    #[test]
    fn rejects_two_deployments_for_the_same_owner_and_year() {
        let error = given(created(school_owner()))
            .when(&DeploymentCommand::Create {
                owner: school_owner(),
                school_year: year(),
                carry_over: None,
                school_name: Some("Collège Jean Moulin".into()),
            })
            .then_rejected("deployment-exists");
        assert!(
            error
                .message
                .contains("l'établissement Collège Jean Moulin (0310001H) en 2026-2027"),
            "{}",
            error.message
        );
        // The same owner another year, or another owner the same year, is another stream.
        assert_ne!(
            deployment_id(&school_owner(), year()),
            deployment_id(&school_owner(), year().next())
        );
        assert_ne!(
            deployment_id(&school_owner(), year()),
            deployment_id(&circonscription_owner(), year())
        );
    }

    #[test]
    fn a_circonscription_is_one_deployment_whatever_its_spelling() {
        let spelt = DeploymentOwner::Circonscription {
            circonscription: " toulouse  NORD".into(),
            department: DepartmentCode::parse("31").unwrap(),
        };
        assert_eq!(
            deployment_id(&spelt, year()),
            deployment_id(&circonscription_owner(), year())
        );
    }

    #[test]
    fn rejects_a_deployment_beyond_next_school_year() {
        given([])
            .when(&DeploymentCommand::Create {
                owner: school_owner(),
                school_year: SchoolYear::parse("2028-2029").unwrap(),
                carry_over: None,
                school_name: None,
            })
            .then_rejected("school-year-out-of-range");
    }

    #[test]
    fn rejects_commands_on_a_deployment_that_does_not_exist() {
        given([])
            .when(&DeploymentCommand::SignCharter {
                signed_on: day("2026-10-01"),
            })
            .then_rejected("deployment-unknown");
    }

    #[test]
    fn rejects_a_charter_dated_in_the_future() {
        let error = given(created(school_owner()))
            .when(&DeploymentCommand::SignCharter {
                signed_on: day("2026-11-16"),
            })
            .then_rejected("charter-in-future");
        assert_eq!(error.field, Some("signed_on"));
        assert_eq!(
            error.message,
            "La date de signature ne peut pas être dans le futur (le 16/11/2026) : enregistrez \
             la charte une fois signée."
        );
    }

    #[test]
    fn rejects_a_charter_that_does_not_cover_the_deployments_year() {
        let error = given(created(school_owner()))
            .when(&DeploymentCommand::SignCharter {
                signed_on: day("2025-05-31"),
            })
            .then_rejected("charter-outside-term");
        assert!(
            error.message.contains("2024-2025 et 2025-2026"),
            "{}",
            error.message
        );
        // Signed the year before, it still covers this one; signed in the summer before
        // the year before, it was signed for that year and covers this one too.
        for signed_on in ["2025-09-01", "2025-06-20"] {
            given(created(school_owner()))
                .when(&DeploymentCommand::SignCharter {
                    signed_on: day(signed_on),
                })
                .then(&[DeploymentEvent::CharterSigned {
                    signed_on: day(signed_on),
                }]);
        }
    }

    #[test]
    fn a_charter_signed_in_june_for_the_coming_year_runs_two_full_years_from_september() {
        let next = given([
            DeploymentEvent::DeploymentCreated {
                owner: school_owner(),
                school_year: year().next(),
            },
            DeploymentEvent::CharterSigned {
                signed_on: day("2027-06-10"),
            },
        ]);
        let term = next.state().charter().unwrap();
        assert_eq!(term.takes_effect_on, day("2027-09-01"));
        assert_eq!(term.ends_on, day("2029-08-31"));
        assert_eq!(term.renewal_due_from, day("2029-07-02"));
        assert_eq!(
            next.state().status(day("2028-09-01")),
            DeploymentStatus::Active
        );
        assert!(next.state().compliance(day("2029-08-31")).charter_in_force);
    }

    #[test]
    fn a_charter_runs_two_school_years_and_is_due_for_renewal_60_days_before_its_end() {
        let deployment = given(created(school_owner()))
            .when(&DeploymentCommand::SignCharter {
                signed_on: day("2026-09-20"),
            })
            .state_after();
        let term = deployment.charter().unwrap();
        assert_eq!(term.ends_on, day("2028-08-31"));
        assert_eq!(term.renewal_due_from, day("2028-07-02"));
        assert_eq!(
            DeploymentState::default().status(day(NOW)),
            DeploymentStatus::NotStarted
        );
        assert_eq!(
            deployment.status(day("2026-09-25")),
            DeploymentStatus::Active
        );
        assert_eq!(
            deployment.status(day("2028-07-01")),
            DeploymentStatus::Active
        );
        assert_eq!(
            deployment.status(day("2028-07-02")),
            DeploymentStatus::RenewalDue
        );
        assert_eq!(
            deployment.status(day("2028-09-01")),
            DeploymentStatus::Expired
        );

        // Signed in June for the next school year: enrolled until September.
        let next = given([
            DeploymentEvent::DeploymentCreated {
                owner: school_owner(),
                school_year: year().next(),
            },
            DeploymentEvent::CharterSigned {
                signed_on: day("2027-06-10"),
            },
        ]);
        assert_eq!(
            next.state().status(day("2027-06-11")),
            DeploymentStatus::Enrolled
        );
        assert_eq!(
            next.state().status(day("2027-09-01")),
            DeploymentStatus::Active
        );
    }

    #[test]
    fn rejects_a_team_member_from_another_school() {
        let error = given(created(school_owner()))
            .when(&add(2, Some(ecole("0310002J", "31", "Toulouse Nord"))))
            .then_rejected("team-member-other-school");
        assert_eq!(error.field, Some("school_uai"));
        assert!(
            error
                .message
                .contains("École 0310002J (0310002J) n'est pas l'établissement de ce déploiement"),
            "{}",
            error.message
        );
        // Their own school, or no school given, is fine.
        given(created(school_owner()))
            .when(&add(2, Some(ecole("0310001H", "31", "X"))))
            .events();
        given(created(school_owner())).when(&add(2, None)).events();
    }

    #[test]
    fn rejects_a_team_member_from_a_school_outside_the_circonscription() {
        for school in [
            ecole("0310002J", "31", "Toulouse Sud"),
            ecole("0320001C", "32", "Toulouse Nord"),
        ] {
            let error = given(created(circonscription_owner()))
                .when(&add(2, Some(school)))
                .then_rejected("team-member-other-school");
            assert!(
                error.message.contains("une école de la circonscription"),
                "{}",
                error.message
            );
        }
        given(created(circonscription_owner()))
            .when(&add(2, Some(ecole("0310002J", "31", "toulouse nord"))))
            .events();
        // The circonscription's own staff belong to no school.
        given(created(circonscription_owner()))
            .when(&add(2, None))
            .events();
    }

    #[test]
    fn rejects_the_same_person_twice_in_the_team() {
        let mut history = created(school_owner());
        history.push(DeploymentEvent::TeamMemberAdded(member(2, true, None)));
        given(history)
            .when(&add(2, None))
            .then_rejected("team-member-duplicate");
    }

    #[test]
    fn rejects_removing_a_member_not_in_the_team() {
        let mut history = created(school_owner());
        history.push(DeploymentEvent::TeamMemberAdded(member(2, true, None)));
        let remove = DeploymentCommand::RemoveMember {
            member_id: Uuid::from_u128(1002),
        };
        let removed = given(history.clone()).when(&remove).events();
        assert_eq!(
            removed,
            [DeploymentEvent::TeamMemberRemoved {
                member_id: Uuid::from_u128(1002)
            }]
        );
        history.extend(removed);
        let then = given(history);
        assert!(then.state().team.is_empty());
        then.when(&remove).then_rejected("team-member-unknown");
    }

    fn update(member_id: u128, changes: MemberChanges) -> DeploymentCommand {
        DeploymentCommand::UpdateMember {
            member_id: Uuid::from_u128(member_id),
            changes,
        }
    }

    #[test]
    fn a_member_changes_during_the_year_without_leaving_the_team() {
        let mut history = created(school_owner());
        history.push(DeploymentEvent::TeamMemberAdded(member(2, false, None)));
        // Trained later in the year, with more hours and the MPP.
        let changes = MemberChanges {
            trained: Some(true),
            training_minutes: Some(720),
            mpp_trained: Some(false),
            ..MemberChanges::default()
        };
        let events = given(history.clone())
            .when(&update(1002, changes.clone()))
            .events();
        assert_eq!(
            events,
            [DeploymentEvent::TeamMemberUpdated {
                member_id: Uuid::from_u128(1002),
                details: MemberDetails {
                    function: TeamFunction::Enseignant,
                    function_label: None,
                    trained: true,
                    training_minutes: 720,
                    mpp_trained: false,
                },
            }]
        );
        history.extend(events);
        let then = given(history.clone());
        let member = &then.state().team[0];
        assert_eq!(member.member_id, Uuid::from_u128(1002));
        assert!(member.trained && !member.mpp_trained);
        assert_eq!(member.training_minutes, 720);
        assert_eq!(then.state().facts().trained_members, 1);
        // The same values again change nothing.
        given(history.clone())
            .when(&update(1002, changes))
            .then(&[]);
        given(history)
            .when(&update(1009, MemberChanges::default()))
            .then_rejected("team-member-unknown");
    }

    #[test]
    fn the_function_autre_is_named_and_only_it_takes_a_name() {
        let mut history = created(school_owner());
        history.push(DeploymentEvent::TeamMemberAdded(member(2, true, None)));
        let with = |function, label: Option<&str>| MemberChanges {
            function: Some(function),
            function_label: label.map(Into::into),
            ..MemberChanges::default()
        };
        let error = given(history.clone())
            .when(&update(1002, with(TeamFunction::Autre, Some("  "))))
            .then_rejected("function-label-missing");
        assert_eq!(error.field, Some("function_label"));
        given(history.clone())
            .when(&update(1002, with(TeamFunction::Ien, Some("Inspectrice"))))
            .then_rejected("function-label-unexpected");
        given(history.clone())
            .when(&update(
                1002,
                with(TeamFunction::Autre, Some(&"x".repeat(101))),
            ))
            .then_rejected("function-label-too-long");
        let events = given(history.clone())
            .when(&update(
                1002,
                with(TeamFunction::Autre, Some(" Éducateur spécialisé ")),
            ))
            .events();
        history.extend(events);
        let renamed = given(history.clone()).state().team[0].clone();
        assert_eq!(renamed.function, TeamFunction::Autre);
        assert_eq!(
            renamed.function_label.as_deref(),
            Some("Éducateur spécialisé")
        );
        // Other changes keep the name; another function drops it; a name alone is
        // refused for a function other than « autre ».
        let trained_later = MemberChanges {
            training_minutes: Some(30),
            ..MemberChanges::default()
        };
        let events = given(history.clone())
            .when(&update(1002, trained_later))
            .events();
        assert!(matches!(
            &events[..],
            [DeploymentEvent::TeamMemberUpdated { details, .. }]
                if details.function_label.as_deref() == Some("Éducateur spécialisé")
        ));
        let events = given(history.clone())
            .when(&update(1002, with(TeamFunction::Cpe, None)))
            .events();
        history.extend(events);
        given(history)
            .when(&update(
                1002,
                MemberChanges {
                    function_label: Some("Chef".into()),
                    ..MemberChanges::default()
                },
            ))
            .then_rejected("function-label-unexpected");
        // Adding a member checks the same.
        let mut autre = member(3, true, None);
        autre.function = TeamFunction::Autre;
        given(created(school_owner()))
            .when(&DeploymentCommand::AddMember {
                member: autre,
                school: None,
            })
            .then_rejected("function-label-missing");
        for function in [
            TeamFunction::ConseillerPedagogique,
            TeamFunction::MedecinScolaire,
            TeamFunction::Aesh,
        ] {
            let mut added = member(4, true, None);
            added.function = function;
            given(created(school_owner()))
                .when(&DeploymentCommand::AddMember {
                    member: added,
                    school: None,
                })
                .events();
        }
    }

    #[test]
    fn the_next_year_opens_with_the_team_coordinator_and_protocol_to_confirm() {
        let previous_year = given(
            [
                created(school_owner()),
                vec![
                    DeploymentEvent::TeamMemberAdded(member(2, true, None)),
                    DeploymentEvent::TeamMemberAdded(member(3, false, None)),
                    DeploymentEvent::CoordinatorNamed {
                        person: member(2, true, None).person,
                        carried_over: false,
                    },
                    DeploymentEvent::ProtocolRecorded {
                        formalised_on: day("2026-09-25"),
                        presented_on: Some(day("2026-10-05")),
                        presented_to: ProtocolBody::ConseilAdministration,
                        carried_over: false,
                    },
                ],
            ]
            .concat(),
        );
        let previous = previous_year.state();
        let events = given([])
            .when(&DeploymentCommand::Create {
                owner: school_owner(),
                school_year: year().next(),
                carry_over: Some(CarryOver::of(previous)),
                school_name: None,
            })
            .events();
        assert_eq!(events.len(), 5, "{events:?}");
        let next = given(events.clone());
        let state = next.state();
        assert_eq!(state.school_year, Some(year().next()));
        assert_eq!(state.team.len(), 2);
        assert!(state.team.iter().all(|m| m.carried_over));
        // Copies are new members of the new deployment.
        assert!(
            state
                .team
                .iter()
                .all(|m| previous.team.iter().all(|p| p.member_id != m.member_id))
        );
        assert!(state.coordinator_carried_over && state.protocol_carried_over);
        assert!(state.carry_over_to_confirm());

        // Editing a copied member confirms it; confirming takes the rest.
        let first = state.team[0].member_id;
        let mut history = events;
        let edited = next
            .when(&DeploymentCommand::UpdateMember {
                member_id: first,
                changes: MemberChanges::default(),
            })
            .events();
        assert_eq!(edited.len(), 1, "confirmed even without a change");
        history.extend(edited);
        assert!(!given(history.clone()).state().team[0].carried_over);
        let confirmed = given(history.clone())
            .when(&DeploymentCommand::ConfirmCarryOver)
            .events();
        assert_eq!(confirmed, [DeploymentEvent::CarryOverConfirmed]);
        history.extend(confirmed);
        let after = given(history);
        assert!(!after.state().carry_over_to_confirm());
        after
            .when(&DeploymentCommand::ConfirmCarryOver)
            .then_rejected("carry-over-none");
    }

    #[test]
    fn events_stored_before_the_carry_over_and_the_new_functions_stay_readable() {
        for (old, expected) in [
            (
                serde_json::json!({"type": "coordinator_named", "person": {
                    "display_name": {"person": Uuid::from_u128(1), "sealed": "YQ=="},
                    "email": {"person": Uuid::from_u128(1), "sealed": "YQ=="}}}),
                "coordinator",
            ),
            (
                serde_json::json!({"type": "protocol_recorded", "formalised_on": "2026-09-25",
                                   "presented_to": "conseil_ecole"}),
                "protocol",
            ),
            (
                serde_json::json!({"type": "team_member_added", "member_id": Uuid::from_u128(2),
                    "person": {
                        "display_name": {"person": Uuid::from_u128(1), "sealed": "YQ=="},
                        "email": {"person": Uuid::from_u128(1), "sealed": "YQ=="}},
                    "function": "cpe", "trained": true, "training_minutes": 60,
                    "mpp_trained": false}),
                "member",
            ),
        ] {
            let event: DeploymentEvent = serde_json::from_value(old).expect(expected);
            let state = Deployment::evolve(
                Deployment::evolve(DeploymentState::default(), &created(school_owner())[0]),
                &event,
            );
            assert!(!state.carry_over_to_confirm(), "{expected}");
        }
    }

    fn protocol(formalised_on: &str, presented_on: Option<&str>) -> DeploymentCommand {
        DeploymentCommand::RecordProtocol {
            protocol: Protocol {
                formalised_on: day(formalised_on),
                presented_on: presented_on.map(day),
                presented_to: ProtocolBody::ConseilAdministration,
            },
            school_kind: Some(SchoolKind::College),
        }
    }

    #[test]
    fn rejects_a_protocol_presented_to_the_other_degrees_body() {
        let command = |presented_to, school_kind| DeploymentCommand::RecordProtocol {
            protocol: Protocol {
                formalised_on: day("2026-10-01"),
                presented_on: Some(day("2026-10-05")),
                presented_to,
            },
            school_kind,
        };
        use ProtocolBody::{ConseilAdministration as Ca, ConseilEcole as Ce};
        for (owner, kind, wrong, expected) in [
            (
                school_owner(),
                Some(SchoolKind::College),
                Ce,
                "conseil d'administration",
            ),
            (
                school_owner(),
                Some(SchoolKind::LyceePro),
                Ce,
                "conseil d'administration",
            ),
            (
                school_owner(),
                Some(SchoolKind::Ecole),
                Ca,
                "conseil d'école",
            ),
            (circonscription_owner(), None, Ca, "conseil d'école"),
        ] {
            let error = given(created(owner.clone()))
                .when(&command(wrong, kind))
                .then_rejected("protocol-body-mismatch");
            assert_eq!(error.field, Some("presented_to"));
            assert!(error.message.contains(expected), "{}", error.message);
            let right = if wrong == Ca { Ce } else { Ca };
            assert_eq!(
                given(created(owner))
                    .when(&command(right, kind))
                    .events()
                    .len(),
                1
            );
        }
        // A kind that does not say (périscolaire, unknown) is not checked.
        for body in [Ca, Ce] {
            assert_eq!(
                given(created(school_owner()))
                    .when(&command(body, Some(SchoolKind::Periscolaire)))
                    .events()
                    .len(),
                1
            );
        }
    }

    #[test]
    fn rejects_a_protocol_dated_in_the_future() {
        let error = given(created(school_owner()))
            .when(&protocol("2026-11-20", None))
            .then_rejected("protocol-in-future");
        assert_eq!(error.field, Some("formalised_on"));
        let error = given(created(school_owner()))
            .when(&protocol("2026-10-01", Some("2026-12-01")))
            .then_rejected("protocol-in-future");
        assert_eq!(error.field, Some("presented_on"));
    }

    #[test]
    fn rejects_a_protocol_presented_before_it_was_formalised() {
        given(created(school_owner()))
            .when(&protocol("2026-10-01", Some("2026-09-30")))
            .then_rejected("protocol-presented-before-formalised");
    }

    #[test]
    fn rejects_planned_hours_without_a_number_and_hours_without_a_plan() {
        for (planned, hours) in [(true, 0), (false, 10)] {
            given(created(school_owner()))
                .when(&DeploymentCommand::PlanLearningHours(LearningHours {
                    planned,
                    hours,
                }))
                .then_rejected("learning-hours-inconsistent");
        }
        given(created(school_owner()))
            .when(&DeploymentCommand::PlanLearningHours(LearningHours {
                planned: false,
                hours: 0,
            }))
            .then(&[DeploymentEvent::LearningHoursPlanned {
                planned: false,
                hours: 0,
            }]);
    }

    #[test]
    fn rejects_an_implausible_number_of_learning_hours() {
        given(created(school_owner()))
            .when(&DeploymentCommand::PlanLearningHours(LearningHours {
                planned: true,
                hours: 1000,
            }))
            .then_rejected("learning-hours-too-many");
    }

    #[test]
    fn rejects_a_parent_workshop_outside_the_deployments_year() {
        let error = given(created(school_owner()))
            .when(&DeploymentCommand::RecordParentWorkshop(Workshop {
                workshop_id: Uuid::from_u128(1),
                held_on: day("2027-09-01"),
                participants: Some(12),
            }))
            .then_rejected("workshop-outside-year");
        assert_eq!(error.field, Some("held_on"));
    }

    #[test]
    fn an_ecoles_team_is_judged_by_its_circonscriptions() {
        let trained = |owner: DeploymentOwner, count: u128| {
            let mut history = created(owner);
            history.extend(
                (1..=count).map(|p| DeploymentEvent::TeamMemberAdded(member(p, true, None))),
            );
            given(history).state().clone()
        };
        let today = day(NOW);
        let ecole = trained(school_owner(), 5);
        assert!(ecole.compliance(today).trained_team);
        let flags = ecole.compliance_of_ecole(None, today);
        assert!(flags.team_of_circonscription && !flags.trained_team);
        let small = trained(circonscription_owner(), 4);
        assert!(!ecole.compliance_of_ecole(Some(&small), today).trained_team);
        let full = trained(circonscription_owner(), 5);
        let alone = trained(school_owner(), 0);
        let flags = alone.compliance_of_ecole(Some(&full), today);
        assert!(flags.trained_team);
        assert_eq!(flags.trained_members, 5);
    }

    #[test]
    fn each_fact_is_worded_by_its_outcome() {
        let today = day(NOW);
        let bare = given(created(school_owner())).state().clone();
        let flags = bare.compliance(today);
        for (flag, expected) in [
            ("charter_in_force", "aucune charte d'engagement signée"),
            (
                "trained_team",
                "aucun personnel formé dans l'équipe ressource (au moins 5 attendus)",
            ),
            ("coordinator_named", "aucun coordonnateur désigné"),
            (
                "protocol_presented",
                "aucun protocole de traitement enregistré",
            ),
            (
                "learning_hours_planned",
                "aucune heure d'apprentissage planifiée (10 attendues)",
            ),
            ("parent_workshop_held", "aucun atelier parents tenu"),
        ] {
            assert_eq!(bare.fact_wording(flag, &flags, today), expected);
        }
        let mut history = created(school_owner());
        history.extend([
            DeploymentEvent::CharterSigned {
                signed_on: day("2026-09-20"),
            },
            DeploymentEvent::TeamMemberAdded(member(1, true, None)),
            DeploymentEvent::ProtocolRecorded {
                formalised_on: day("2026-10-01"),
                presented_on: None,
                presented_to: ProtocolBody::ConseilAdministration,
                carried_over: false,
            },
            DeploymentEvent::LearningHoursPlanned {
                planned: true,
                hours: 6,
            },
            DeploymentEvent::ParentWorkshopRecorded {
                workshop_id: Uuid::from_u128(1),
                held_on: day("2027-01-12"),
                participants: None,
            },
        ]);
        let partial = given(history.clone()).state().clone();
        let flags = partial.compliance(today);
        for (flag, expected) in [
            (
                "charter_in_force",
                "charte d'engagement signée le 20/09/2026, en vigueur jusqu'au 31/08/2028",
            ),
            (
                "trained_team",
                "un seul personnel formé dans l'équipe ressource (au moins 5 attendus)",
            ),
            (
                "protocol_presented",
                "protocole de traitement formalisé le 01/10/2026, pas encore présenté",
            ),
            (
                "learning_hours_planned",
                "6 heures d'apprentissage planifiées seulement (10 attendues)",
            ),
            (
                "parent_workshop_held",
                "aucun atelier parents tenu (le premier est programmé le 12/01/2027)",
            ),
        ] {
            assert_eq!(partial.fact_wording(flag, &flags, today), expected);
        }
        history.push(DeploymentEvent::ParentWorkshopRecorded {
            workshop_id: Uuid::from_u128(2),
            held_on: day("2026-11-10"),
            participants: Some(20),
        });
        let held = given(history).state().clone();
        assert_eq!(
            held.fact_wording("parent_workshop_held", &held.compliance(today), today),
            "atelier parents tenu le 10/11/2026"
        );
    }

    #[test]
    fn an_ecoles_coordinator_is_its_circonscriptions() {
        let coordinator = DeploymentEvent::CoordinatorNamed {
            person: StaffPerson {
                display_name: sealed(7),
                email: sealed(7),
            },
            carried_over: false,
        };
        let named = |owner: DeploymentOwner, named: bool| {
            let mut history = created(owner);
            if named {
                history.push(coordinator.clone());
            }
            given(history).state().clone()
        };
        let today = day(NOW);
        let ecole = named(school_owner(), false);
        assert!(!ecole.compliance_of_ecole(None, today).coordinator_named);
        let circonscription = named(circonscription_owner(), true);
        assert!(
            ecole
                .compliance_of_ecole(Some(&circonscription), today)
                .coordinator_named
        );
        // Its own coordinator does not count, like its own team.
        let own = named(school_owner(), true);
        let bare = named(circonscription_owner(), false);
        assert!(
            !own.compliance_of_ecole(Some(&bare), today)
                .coordinator_named
        );
        assert!(!own.compliance_of_ecole(None, today).coordinator_named);
    }

    #[test]
    fn compliance_is_computed_and_never_blocks_a_save() {
        let mut history = created(school_owner());
        // Four trained members and one untrained: saved all the same, flag still false.
        for person in 1..=4 {
            history.push(DeploymentEvent::TeamMemberAdded(member(person, true, None)));
        }
        let untrained = given(history.clone())
            .when(&DeploymentCommand::AddMember {
                member: member(5, false, None),
                school: None,
            })
            .events();
        history.extend(untrained);
        let today = day(NOW);
        let flags = given(history.clone()).state().compliance(today);
        assert_eq!(flags.trained_members, 4);
        assert!(!flags.trained_team && !flags.compliant);

        history.extend([
            DeploymentEvent::TeamMemberAdded(member(6, true, None)),
            DeploymentEvent::CharterSigned {
                signed_on: day("2026-09-20"),
            },
            DeploymentEvent::CoordinatorNamed {
                person: member(1, true, None).person,
                carried_over: false,
            },
            DeploymentEvent::ProtocolRecorded {
                formalised_on: day("2026-09-25"),
                presented_on: Some(day("2026-10-05")),
                presented_to: ProtocolBody::ConseilAdministration,
                carried_over: false,
            },
            DeploymentEvent::LearningHoursPlanned {
                planned: true,
                hours: 10,
            },
            DeploymentEvent::ParentWorkshopRecorded {
                workshop_id: Uuid::from_u128(9),
                held_on: day("2026-11-20"),
                participants: None,
            },
        ]);
        let deployment = given(history);
        let flags = deployment.state().compliance(today);
        assert!(flags.trained_team && flags.charter_in_force && flags.protocol_presented);
        assert!(flags.coordinator_named && flags.learning_hours_planned);
        assert!(
            !flags.parent_workshop_held,
            "a workshop scheduled ahead is not held yet"
        );
        assert!(deployment.state().compliance(day("2026-11-20")).compliant);
    }
}
