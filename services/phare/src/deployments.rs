//! pHARe deployments (category `phare_deployment`): per school, or per circonscription
//! for the resource team of primary schools, and per school year. The decider, the
//! state and compliance computed from the clock, and the handlers.

use std::borrow::Cow;
use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Days, NaiveDate, Utc};
use pharos_access::{Action, Actor, IfMatch, Subject, TargetState};
use pharos_decider::{Decider, execute, execute_with, load};
use pharos_events::phare::{
    DEPLOYMENT_CATEGORY, DeploymentEvent, DeploymentOwner, ProtocolBody, SchoolYear, StaffPerson,
    TeamFunction, TeamMember,
};
use pharos_events::{Academy, DepartmentCode, Uai};
use pharos_eventstore::StreamId;
use pharos_privacy::{PersonId, Sealed};
use pharos_web::{Created, Json, Path, Problem, Versioned};
use pharos_decider::Rejection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::input::{self, PersonInput};
use crate::places::{self, KnownSchool, same_circonscription};
use crate::{NAME, check_school_year};

/// A resource team is complete with this many trained members.
pub const TRAINED_MEMBERS_REQUIRED: usize = 5;
/// The 10 heures d'apprentissage per pupil and year.
pub const LEARNING_HOURS_REQUIRED: u32 = 10;
/// More hours than this in a year is a typing error (the programme asks for 10).
pub const LEARNING_HOURS_MAX: u32 = 200;
/// Renewal of the charter is due this many days before its end.
pub const RENEWAL_NOTICE_DAYS: u64 = 60;

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
            places::normal_circonscription(circonscription)
        ),
    };
    Uuid::new_v5(&NAMESPACE, key.as_bytes())
}

pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(DEPLOYMENT_CATEGORY, id)?)
}

/// How an owner is named in messages.
fn describe(owner: &DeploymentOwner) -> String {
    match owner {
        DeploymentOwner::School { uai, .. } => format!("l'établissement {uai}"),
        DeploymentOwner::Circonscription {
            circonscription,
            department,
        } => format!("la circonscription {circonscription} ({department})"),
    }
}

fn french(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// Le protocole de traitement des situations de harcèlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Protocol {
    /// Date de formalisation.
    pub formalised_on: NaiveDate,
    /// Date de présentation à l'instance, si elle a eu lieu.
    pub presented_on: Option<NaiveDate>,
    pub presented_to: ProtocolBody,
}

/// Les 10 heures d'apprentissage par élève et par année.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LearningHours {
    pub planned: bool,
    /// Nombre d'heures planifiées (10 attendues).
    pub hours: u32,
}

/// Un atelier parents, tenu ou (daté à venir) programmé.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Workshop {
    pub workshop_id: Uuid,
    pub held_on: NaiveDate,
    /// Nombre de participants, s'il est connu.
    pub participants: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub owner: Option<DeploymentOwner>,
    pub school_year: Option<SchoolYear>,
    pub charter_signed_on: Option<NaiveDate>,
    pub team: Vec<TeamMember>,
    pub coordinator: Option<StaffPerson>,
    pub protocol: Option<Protocol>,
    pub learning_hours: Option<LearningHours>,
    pub workshops: Vec<Workshop>,
}

/// `not_started → enrolled (charter) → active → renewal_due → expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "État du déploiement, calculé à la date du jour : not_started (pas de charte), \
                   enrolled (charte signée, année scolaire pas encore commencée), active, \
                   renewal_due (dans les 60 jours avant la fin de la charte), expired (charte \
                   échue)."
)]
pub enum DeploymentStatus {
    /// No charter yet.
    NotStarted,
    /// The charter is signed, the deployment's school year has not begun.
    Enrolled,
    Active,
    /// Within 60 days of the charter's end.
    RenewalDue,
    /// The charter has ended.
    Expired,
}

/// A charter's term: it runs the school year it is signed in and the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(
    description = "La charte d'engagement : elle court l'année scolaire de sa signature et la \
                   suivante, et se renouvelle à partir de 60 jours avant sa fin."
)]
pub struct CharterTerm {
    pub signed_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub renewal_due_from: NaiveDate,
}

impl CharterTerm {
    pub fn of(signed_on: NaiveDate) -> Self {
        let ends_on = SchoolYear::containing(signed_on).next().last_day();
        Self {
            signed_on,
            ends_on,
            renewal_due_from: ends_on
                .checked_sub_days(Days::new(RENEWAL_NOTICE_DAYS))
                .unwrap_or(ends_on),
        }
    }

    pub fn in_force(&self, today: NaiveDate) -> bool {
        (self.signed_on..=self.ends_on).contains(&today)
    }
}

/// What DOMAIN.md asks of a deployment, computed: never a reason to refuse a save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(
    description = "Conformité du déploiement au cahier des charges pHARe, calculée à la date du \
                   jour : une indication, jamais un motif de refus d'enregistrement."
)]
pub struct Compliance {
    /// Nombre de membres formés de l'équipe ressource.
    pub trained_members: usize,
    /// Au moins 5 membres formés.
    pub trained_team: bool,
    /// Un coordonnateur (référent harcèlement) est désigné.
    pub coordinator_named: bool,
    /// Le protocole est formalisé et a été présenté (à ce jour).
    pub protocol_presented: bool,
    /// Les 10 heures d'apprentissage sont planifiées.
    pub learning_hours_planned: bool,
    /// Au moins un atelier parents a eu lieu (à ce jour).
    pub parent_workshop_held: bool,
    /// La charte est en vigueur.
    pub charter_in_force: bool,
    /// Tous les indicateurs ci-dessus.
    pub compliant: bool,
}

impl Deployment {
    pub fn charter(&self) -> Option<CharterTerm> {
        self.charter_signed_on.map(CharterTerm::of)
    }

    pub fn status(&self, today: NaiveDate) -> DeploymentStatus {
        let (Some(year), Some(term)) = (self.school_year, self.charter()) else {
            return DeploymentStatus::NotStarted;
        };
        if today > term.ends_on {
            DeploymentStatus::Expired
        } else if today < year.first_day() || today < term.signed_on {
            DeploymentStatus::Enrolled
        } else if today >= term.renewal_due_from {
            DeploymentStatus::RenewalDue
        } else {
            DeploymentStatus::Active
        }
    }

    pub fn compliance(&self, today: NaiveDate) -> Compliance {
        let trained_members = self.team.iter().filter(|m| m.trained).count();
        let trained_team = trained_members >= TRAINED_MEMBERS_REQUIRED;
        let coordinator_named = self.coordinator.is_some();
        let protocol_presented = self
            .protocol
            .is_some_and(|p| p.presented_on.is_some_and(|on| on <= today));
        let learning_hours_planned = self
            .learning_hours
            .is_some_and(|h| h.planned && h.hours >= LEARNING_HOURS_REQUIRED);
        let parent_workshop_held = self.workshops.iter().any(|w| w.held_on <= today);
        let charter_in_force = self.charter().is_some_and(|t| t.in_force(today));
        Compliance {
            trained_members,
            trained_team,
            coordinator_named,
            protocol_presented,
            learning_hours_planned,
            parent_workshop_held,
            charter_in_force,
            compliant: trained_team
                && coordinator_named
                && protocol_presented
                && learning_hours_planned
                && parent_workshop_held
                && charter_in_force,
        }
    }
}

#[derive(Debug, Clone)]
pub enum DeploymentCommand {
    Create {
        owner: DeploymentOwner,
        school_year: SchoolYear,
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
    NameCoordinator {
        person: StaffPerson,
    },
    RecordProtocol(Protocol),
    PlanLearningHours(LearningHours),
    RecordParentWorkshop(Workshop),
}

/// The deployment's decider.
#[derive(Debug)]
pub struct Deployments;

impl Decider for Deployments {
    type State = Deployment;
    type Command = DeploymentCommand;
    type Event = DeploymentEvent;

    fn evolve(mut state: Deployment, event: &DeploymentEvent) -> Deployment {
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
            DeploymentEvent::CoordinatorNamed { person } => {
                state.coordinator = Some(person.clone());
            }
            DeploymentEvent::ProtocolRecorded {
                formalised_on,
                presented_on,
                presented_to,
            } => {
                state.protocol = Some(Protocol {
                    formalised_on: *formalised_on,
                    presented_on: *presented_on,
                    presented_to: *presented_to,
                });
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
        state: &Deployment,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeploymentEvent>, Rejection> {
        let today = now.date_naive();
        if let DeploymentCommand::Create { owner, school_year } = command {
            if let (Some(existing), Some(year)) = (&state.owner, state.school_year) {
                return Err(Rejection::conflict(
                    "deployment-exists",
                    format!(
                        "Un déploiement pHARe existe déjà pour {} en {year} : un seul par \
                         établissement (ou circonscription) et par année scolaire.",
                        describe(existing)
                    ),
                ));
            }
            check_school_year(*school_year, today)?;
            return Ok(vec![DeploymentEvent::DeploymentCreated {
                owner: owner.clone(),
                school_year: *school_year,
            }]);
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
                            "La charte ne peut pas être datée du {} : on enregistre une charte déjà signée.",
                            french(*signed_on)
                        ),
                    ));
                }
                // A charter runs two school years: to cover this deployment's year it is
                // signed that year or the one before.
                if !year.contains(*signed_on) && !year.previous().contains(*signed_on) {
                    let signed_in = SchoolYear::containing(*signed_on);
                    return Err(Rejection::invalid(
                        "charter-outside-term",
                        "signed_on",
                        format!(
                            "Signée le {}, la charte couvre les années {signed_in} et {} : pas l'année \
                             {year} de ce déploiement (une charte court deux années scolaires).",
                            french(*signed_on),
                            signed_in.next()
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
                                school.uai,
                                match owner {
                                    DeploymentOwner::School { .. } => describe(owner),
                                    DeploymentOwner::Circonscription { .. } =>
                                        format!("une école de {}", describe(owner)),
                                }
                            ),
                        ));
                    }
                }
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
            DeploymentCommand::NameCoordinator { person } => {
                Ok(vec![DeploymentEvent::CoordinatorNamed {
                    person: person.clone(),
                }])
            }
            DeploymentCommand::RecordProtocol(protocol) => {
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
                if state.protocol.as_ref() == Some(protocol) {
                    return Ok(vec![]);
                }
                Ok(vec![DeploymentEvent::ProtocolRecorded {
                    formalised_on: protocol.formalised_on,
                    presented_on: protocol.presented_on,
                    presented_to: protocol.presented_to,
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
                            "Des heures sans planification : indiquez planned: true, ou 0 heure."
                        },
                    ));
                }
                if plan.hours > LEARNING_HOURS_MAX {
                    return Err(Rejection::invalid(
                        "learning-hours-too-many",
                        "hours",
                        format!(
                            "{} heures d'apprentissage dans l'année : au-delà de {LEARNING_HOURS_MAX}, \
                             c'est sans doute une erreur de saisie (10 heures attendues).",
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
                             déploiement ({} → {}).",
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

/// What a deployment is about, for the scope table.
fn subject(owner: &DeploymentOwner) -> Subject<'_> {
    match owner {
        DeploymentOwner::School { uai, department } => Subject::School { uai, department },
        DeploymentOwner::Circonscription { department, .. } => Subject::Department(department),
    }
}

/// Un nouveau déploiement : soit un établissement (`school_uai`), soit une circonscription
/// (`circonscription` et `department`) pour l'équipe ressource des écoles ; l'un des deux,
/// pas les deux.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewDeployment {
    /// Année scolaire, de pHARe (2019-2020) à l'année suivant l'année en cours.
    #[schema(example = "2026-2027")]
    pub school_year: String,
    /// UAI de l'établissement, ouvert et enregistré dans le répertoire.
    #[serde(default)]
    #[schema(example = "0310001H")]
    pub school_uai: Option<String>,
    /// Circonscription, telle que l'écrit le répertoire des établissements (casse et
    /// espaces indifférents).
    #[serde(default)]
    #[schema(example = "Toulouse Nord")]
    pub circonscription: Option<String>,
    /// Département de la circonscription ; ignoré pour un établissement.
    #[serde(default)]
    #[schema(example = "31")]
    pub department: Option<String>,
}

/// Whose deployment a request names, before looking it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerChoice {
    School(Uai),
    Circonscription {
        name: String,
        department: DepartmentCode,
    },
}

impl NewDeployment {
    pub fn check(&self, academy: &Academy) -> Result<(SchoolYear, OwnerChoice), Rejection> {
        let school_year = input::school_year(&self.school_year)?;
        let school = input::trimmed(self.school_uai.as_deref());
        let circonscription = input::trimmed(self.circonscription.as_deref());
        let choice = match (school, circonscription) {
            (Some(uai), None) => OwnerChoice::School(input::uai("school_uai", &uai)?),
            (None, Some(name)) => {
                let department = input::trimmed(self.department.as_deref()).ok_or_else(|| {
                    Rejection::invalid(
                        "department-missing",
                        "department",
                        "Le déploiement d'une circonscription indique son département (ex. 31).",
                    )
                })?;
                let department = academy
                    .department(&department)
                    .map_err(|e| Rejection::invalid("invalid-department", "department", e.0))?;
                OwnerChoice::Circonscription { name, department }
            }
            _ => {
                return Err(Rejection::invalid(
                    "deployment-owner",
                    "school_uai",
                    "Un déploiement concerne soit un établissement (school_uai), soit une \
                     circonscription (circonscription et department) : l'un des deux, pas les deux.",
                ));
            }
        };
        Ok((school_year, choice))
    }
}

/// `POST /api/v1/phare/deployments`
#[utoipa::path(post, path = "/api/v1/phare/deployments", tag = "phare",
    operation_id = "phare_create_deployment",
    summary = "Créer un déploiement pHARe",
    description = "Un déploiement par établissement (ou circonscription) et par année scolaire.",
    request_body = NewDeployment,
    responses(
        (status = 201, description = "Déploiement créé", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre (l'établissement, les référents de son département, le pôle)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Un déploiement existe déjà pour ce propriétaire et cette année", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (année hors période, UAI invalide, établissement inconnu ou fermé, circonscription inconnue, propriétaire ambigu)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    actor: Actor,
    Json(body): Json<NewDeployment>,
) -> Result<impl IntoResponse, Problem> {
    let (school_year, choice) = body.check(&state.access.academy)?;
    let owner = match choice {
        OwnerChoice::School(uai) => {
            let found = places::school(&state.access, &uai).await?;
            let school = places::open_school("school_uai", &uai, found)?;
            DeploymentOwner::School {
                uai,
                department: school.department,
            }
        }
        OwnerChoice::Circonscription { name, department } => {
            // Scope first: looking a circonscription up may read the whole school
            // registry, which only an actor of that department should cause.
            actor.may(Action::ManageDeployment, Subject::Department(&department))?;
            let schools = places::schools_for_circonscription(
                &state.access,
                &state.app.store,
                &name,
                &department,
            )
            .await?;
            DeploymentOwner::Circonscription {
                circonscription: places::circonscription(&name, &department, &schools)?,
                department,
            }
        }
    };
    actor.may(Action::ManageDeployment, subject(&owner))?;
    let id = deployment_id(&owner, school_year);
    let done = execute::<Deployments, Problem>(
        &state.app.store,
        &stream(id)?,
        &DeploymentCommand::Create { owner, school_year },
        state.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Created {
            id,
            version: done.version,
        }),
    ))
}

/// The deployment behind a path id, once the actor is known to reach it.
async fn reachable(
    state: &TargetState,
    actor: &Actor,
    id: &str,
) -> Result<(StreamId, Deployment, i64), Problem> {
    let id = input::id(id)?;
    let stream = stream(id)?;
    let (deployment, version) = load::<Deployments>(&state.app.store, &stream).await?;
    let Some(owner) = &deployment.owner else {
        return Err(Problem::not_found());
    };
    actor.may(Action::ManageDeployment, subject(owner))?;
    Ok((stream, deployment, version))
}

/// Runs a command on the deployment behind a path id, deciding on one load: 404 when
/// there is none, 403 when the actor does not reach its owner.
async fn run(
    state: &TargetState,
    actor: &Actor,
    id: &str,
    command: DeploymentCommand,
    if_match: IfMatch,
) -> Result<axum::Json<Versioned>, Problem> {
    let done = execute_with::<Deployments, Problem>(
        &state.app.store,
        &stream(input::id(id)?)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |deployment| {
            let owner = deployment.owner.as_ref().ok_or_else(Problem::not_found)?;
            actor.may(Action::ManageDeployment, subject(owner))?;
            Ok(Cow::Borrowed(&command))
        },
    )
    .await?;
    Ok(axum::Json(Versioned {
        version: done.version,
    }))
}

/// La charte d'engagement signée ; une signature ultérieure (renouvellement, correction)
/// la remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CharterInput {
    /// Date de signature : pas dans le futur, dans l'année scolaire du déploiement ou la
    /// précédente (une charte court deux années).
    pub signed_on: NaiveDate,
}

/// `POST /api/v1/phare/deployments/{id}/charter`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/charter", tag = "phare",
    operation_id = "phare_sign_charter",
    summary = "Enregistrer la charte signée",
    request_body = CharterInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Charte enregistrée", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Date refusée (future, ou hors des deux années que couvre la charte)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn sign_charter(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<CharterInput>,
) -> Result<impl IntoResponse, Problem> {
    let command = DeploymentCommand::SignCharter {
        signed_on: body.signed_on,
    };
    run(&state, &actor, &id, command, if_match).await
}

const FUNCTIONS: &[(&str, TeamFunction)] = &[
    ("enseignant", TeamFunction::Enseignant),
    ("cpe", TeamFunction::Cpe),
    ("aed", TeamFunction::Aed),
    ("infirmier", TeamFunction::Infirmier),
    ("assistant_social", TeamFunction::AssistantSocial),
    ("psyen", TeamFunction::Psyen),
    ("direction", TeamFunction::Direction),
];

/// Un nouveau membre de l'équipe ressource.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewTeamMember {
    pub person: PersonInput,
    #[schema(value_type = TeamFunction)]
    pub function: String,
    /// Formé à pHARe.
    pub trained: bool,
    /// Durée de formation, en minutes.
    #[serde(default)]
    pub training_minutes: u32,
    /// Formé à la méthode de la préoccupation partagée.
    #[serde(default)]
    pub mpp_trained: bool,
    /// UAI de l'établissement du membre : pour un établissement, lui-même (par défaut) ;
    /// pour une circonscription, l'une de ses écoles (absent pour les personnels de la
    /// circonscription).
    #[serde(default)]
    #[schema(example = "0310001H")]
    pub school_uai: Option<String>,
}

/// `POST /api/v1/phare/deployments/{id}/team-members`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/team-members", tag = "phare",
    operation_id = "phare_add_team_member",
    summary = "Ajouter un membre à l'équipe ressource",
    request_body = NewTeamMember,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 201, description = "Membre ajouté : id est l'identifiant du membre", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Personne déjà dans l'équipe (même adresse), ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (fonction, nom, adresse, UAI, établissement hors du déploiement)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<NewTeamMember>,
) -> Result<impl IntoResponse, Problem> {
    // Authorised before anyone is registered in the vault.
    let (stream, _, _) = reachable(&state, &actor, &id).await?;
    let function = input::choice("invalid-function", "function", &body.function, FUNCTIONS)?;
    body.person.check()?;
    let (school_uai, school) = match input::trimmed(body.school_uai.as_deref()) {
        None => (None, None),
        Some(text) => {
            let uai = input::uai("school_uai", &text)?;
            let found = places::school(&state.access, &uai).await?;
            let school = places::registered_school("school_uai", &uai, found)?;
            (Some(uai), Some(school))
        }
    };
    let member = TeamMember {
        member_id: Uuid::now_v7(),
        person: body.person.seal(&state.vault).await?,
        function,
        trained: body.trained,
        training_minutes: body.training_minutes,
        mpp_trained: body.mpp_trained,
        school_uai,
    };
    let member_id = member.member_id;
    let done = execute::<Deployments, Problem>(
        &state.app.store,
        &stream,
        &DeploymentCommand::AddMember { member, school },
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Created {
            id: member_id,
            version: done.version,
        }),
    ))
}

/// `DELETE /api/v1/phare/deployments/{id}/team-members/{member_id}`
#[utoipa::path(delete, path = "/api/v1/phare/deployments/{id}/team-members/{member_id}", tag = "phare",
    operation_id = "phare_remove_team_member",
    summary = "Retirer un membre de l'équipe ressource",
    params(
        ("id" = Uuid, Path, description = "Identifiant du déploiement"),
        ("member_id" = Uuid, Path, description = "Identifiant du membre"),
    ),
    responses(
        (status = 200, description = "Membre retiré", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu, ou membre absent de l'équipe", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(state): State<TargetState>,
    actor: Actor,
    Path((id, member_id)): Path<(String, String)>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    let member_id = input::id(&member_id)?;
    let command = DeploymentCommand::RemoveMember { member_id };
    run(&state, &actor, &id, command, if_match).await
}

/// Le coordonnateur (référent harcèlement) ; une désignation ultérieure le remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CoordinatorInput {
    pub person: PersonInput,
}

/// `POST /api/v1/phare/deployments/{id}/coordinator`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/coordinator", tag = "phare",
    operation_id = "phare_name_coordinator",
    summary = "Désigner le coordonnateur",
    request_body = CoordinatorInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Coordonnateur désigné", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nom ou adresse refusés", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn name_coordinator(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<CoordinatorInput>,
) -> Result<impl IntoResponse, Problem> {
    // Authorised before anyone is registered in the vault; checked again on the
    // deployment as it is decided on.
    reachable(&state, &actor, &id).await?;
    let person = body.person.seal(&state.vault).await?;
    let command = DeploymentCommand::NameCoordinator { person };
    run(&state, &actor, &id, command, if_match).await
}

const BODIES: &[(&str, ProtocolBody)] = &[
    (
        "conseil_administration",
        ProtocolBody::ConseilAdministration,
    ),
    ("conseil_ecole", ProtocolBody::ConseilEcole),
];

/// Le protocole de traitement ; un enregistrement ultérieur le remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProtocolInput {
    /// Date de formalisation (pas dans le futur).
    pub formalised_on: NaiveDate,
    /// Date de présentation (pas dans le futur, ni avant la formalisation).
    #[serde(default)]
    pub presented_on: Option<NaiveDate>,
    #[schema(value_type = ProtocolBody)]
    pub presented_to: String,
}

/// `POST /api/v1/phare/deployments/{id}/protocol`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/protocol", tag = "phare",
    operation_id = "phare_record_protocol",
    summary = "Enregistrer le protocole de traitement",
    request_body = ProtocolInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Protocole enregistré", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (date future, présentation avant formalisation, instance inconnue)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn record_protocol(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<ProtocolInput>,
) -> Result<impl IntoResponse, Problem> {
    let presented_to = input::choice(
        "invalid-protocol-body",
        "presented_to",
        &body.presented_to,
        BODIES,
    )?;
    let command = DeploymentCommand::RecordProtocol(Protocol {
        formalised_on: body.formalised_on,
        presented_on: body.presented_on,
        presented_to,
    });
    run(&state, &actor, &id, command, if_match).await
}

/// Le plan des 10 heures d'apprentissage ; un plan ultérieur le remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LearningHoursInput {
    pub planned: bool,
    /// Nombre d'heures : au moins 1 si planifiées, 0 sinon ; 200 au plus.
    #[schema(example = 10)]
    pub hours: u32,
}

/// `POST /api/v1/phare/deployments/{id}/learning-hours`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/learning-hours", tag = "phare",
    operation_id = "phare_plan_learning_hours",
    summary = "Planifier les heures d'apprentissage",
    request_body = LearningHoursInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Plan enregistré", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nombre d'heures incohérent avec le plan, ou invraisemblable", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn plan_learning_hours(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<LearningHoursInput>,
) -> Result<impl IntoResponse, Problem> {
    let command = DeploymentCommand::PlanLearningHours(LearningHours {
        planned: body.planned,
        hours: body.hours,
    });
    run(&state, &actor, &id, command, if_match).await
}

/// Un atelier parents : daté à venir, il est programmé, et compte une fois son jour venu.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct WorkshopInput {
    /// Date, dans l'année scolaire du déploiement.
    pub held_on: NaiveDate,
    /// Nombre de participants, s'il est connu.
    #[serde(default)]
    pub participants: Option<u32>,
}

/// `POST /api/v1/phare/deployments/{id}/parent-workshops`: a workshop dated ahead is
/// scheduled, and counts once its day has come.
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/parent-workshops", tag = "phare",
    operation_id = "phare_record_parent_workshop",
    summary = "Enregistrer un atelier parents",
    request_body = WorkshopInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 201, description = "Atelier enregistré : id est l'identifiant de l'atelier", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Date hors de l'année scolaire du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn record_parent_workshop(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<WorkshopInput>,
) -> Result<impl IntoResponse, Problem> {
    let workshop_id = Uuid::now_v7();
    let command = DeploymentCommand::RecordParentWorkshop(Workshop {
        workshop_id,
        held_on: body.held_on,
        participants: body.participants,
    });
    let Versioned { version } = run(&state, &actor, &id, command, if_match).await?.0;
    Ok((
        StatusCode::CREATED,
        axum::Json(Created {
            id: workshop_id,
            version,
        }),
    ))
}

/// Une personne nommée, en clair (« donnée effacée » une fois ses données effacées).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = StaffPersonView)]
pub struct PersonView {
    #[schema(example = "Camille Martin")]
    pub display_name: String,
    #[schema(example = "camille.martin@ac-toulouse.fr")]
    pub email: String,
}

/// Un membre de l'équipe ressource.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub member_id: Uuid,
    pub person: PersonView,
    pub function: TeamFunction,
    /// Formé à pHARe.
    pub trained: bool,
    /// Durée de formation, en minutes.
    pub training_minutes: u32,
    /// Formé à la méthode de la préoccupation partagée.
    pub mpp_trained: bool,
    /// UAI de l'établissement du membre, quand il est indiqué.
    #[schema(value_type = Option<String>, example = "0310001H")]
    pub school_uai: Option<Uai>,
}

/// Un déploiement pHARe, avec les noms de son équipe.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeploymentView {
    pub id: Uuid,
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// UAI de l'établissement ; absent pour une circonscription.
    #[schema(value_type = Option<String>, example = "0310001H")]
    pub school_uai: Option<Uai>,
    /// Circonscription ; absente pour un établissement.
    pub circonscription: Option<String>,
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    pub status: DeploymentStatus,
    /// La charte, une fois signée.
    pub charter: Option<CharterTerm>,
    pub team: Vec<MemberView>,
    pub coordinator: Option<PersonView>,
    pub protocol: Option<Protocol>,
    pub learning_hours: Option<LearningHours>,
    pub parent_workshops: Vec<Workshop>,
    pub compliance: Compliance,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

/// `GET /api/v1/phare/deployments/{id}`: the deployment with its team's names, a
/// nominative read logged for each person shown.
#[utoipa::path(get, path = "/api/v1/phare/deployments/{id}", tag = "phare",
    operation_id = "phare_get_deployment",
    summary = "Lire un déploiement",
    description = "Le déploiement, son état et sa conformité à la date du jour, avec les noms \
                   de son équipe : chaque personne affichée fait l'objet d'une lecture nominative \
                   consignée.",
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Le déploiement", body = DeploymentView),
        (status = 403, description = "Hors du périmètre du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let (_, deployment, version) = reachable(&state, &actor, &id).await?;
    let (Some(owner), Some(school_year)) = (&deployment.owner, deployment.school_year) else {
        return Err(Problem::not_found());
    };
    let mut sealed: Vec<&Sealed> = Vec::new();
    for person in deployment
        .team
        .iter()
        .map(|m| &m.person)
        .chain(deployment.coordinator.as_ref())
    {
        sealed.extend([&person.display_name, &person.email]);
    }
    let vault = &state.vault;
    let values = vault.unseal_all(&sealed).await.map_err(Problem::from)?;
    let mut seen = HashSet::new();
    let people: Vec<PersonId> = sealed
        .iter()
        .map(|s| s.person)
        .filter(|p| seen.insert(*p))
        .collect();
    // A member reading their own entry reads nobody else's data: not logged.
    for person in people.into_iter().filter(|p| p.0 != actor.user_id) {
        vault
            .log_read(
                &actor.metadata(NAME),
                person,
                "/api/v1/phare/deployments/{id}",
                "phare",
            )
            .await
            .map_err(Problem::from)?;
    }
    let mut values = values.into_iter().map(|v| v.to_string());
    let mut next_person = || PersonView {
        display_name: values.next().unwrap_or_default(),
        email: values.next().unwrap_or_default(),
    };
    let team = deployment
        .team
        .iter()
        .map(|m| MemberView {
            member_id: m.member_id,
            person: next_person(),
            function: m.function,
            trained: m.trained,
            training_minutes: m.training_minutes,
            mpp_trained: m.mpp_trained,
            school_uai: m.school_uai.clone(),
        })
        .collect();
    let coordinator = deployment.coordinator.as_ref().map(|_| next_person());
    let today = state.clock.now().date_naive();
    let (school_uai, circonscription) = match owner {
        DeploymentOwner::School { uai, .. } => (Some(uai.clone()), None),
        DeploymentOwner::Circonscription {
            circonscription, ..
        } => (None, Some(circonscription.clone())),
    };
    Ok(axum::Json(DeploymentView {
        id: input::id(&id)?,
        school_year,
        school_uai,
        circonscription,
        department: owner.department().clone(),
        status: deployment.status(today),
        charter: deployment.charter(),
        team,
        coordinator,
        protocol: deployment.protocol,
        learning_hours: deployment.learning_hours,
        parent_workshops: deployment.workshops.clone(),
        compliance: deployment.compliance(today),
        version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::tests::ecole;

    fn at(text: &str) -> DateTime<Utc> {
        format!("{text}T10:00:00Z").parse().unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    const NOW: &str = "2026-11-15";

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

    fn given(events: &[DeploymentEvent]) -> Deployment {
        events
            .iter()
            .fold(Deployment::default(), Deployments::evolve)
    }

    fn when(
        events: &[DeploymentEvent],
        command: DeploymentCommand,
    ) -> Result<Vec<DeploymentEvent>, Rejection> {
        Deployments::decide(&command, &given(events), at(NOW))
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
        let history = created(school_owner());
        let error = when(
            &history,
            DeploymentCommand::Create {
                owner: school_owner(),
                school_year: year(),
            },
        )
        .unwrap_err();
        assert_eq!(error.rule, "deployment-exists");
        assert!(
            error.message.contains("0310001H en 2026-2027"),
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
        let error = when(
            &[],
            DeploymentCommand::Create {
                owner: school_owner(),
                school_year: SchoolYear::parse("2028-2029").unwrap(),
            },
        )
        .unwrap_err();
        assert_eq!(error.rule, "school-year-out-of-range");
    }

    #[test]
    fn rejects_commands_on_a_deployment_that_does_not_exist() {
        let error = when(
            &[],
            DeploymentCommand::SignCharter {
                signed_on: day("2026-10-01"),
            },
        )
        .unwrap_err();
        assert_eq!(error.rule, "deployment-unknown");
    }

    #[test]
    fn rejects_a_charter_dated_in_the_future() {
        let error = when(
            &created(school_owner()),
            DeploymentCommand::SignCharter {
                signed_on: day("2026-11-16"),
            },
        )
        .unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("charter-in-future", Some("signed_on"))
        );
    }

    #[test]
    fn rejects_a_charter_that_does_not_cover_the_deployments_year() {
        let error = when(
            &created(school_owner()),
            DeploymentCommand::SignCharter {
                signed_on: day("2025-08-31"),
            },
        )
        .unwrap_err();
        assert_eq!(error.rule, "charter-outside-term");
        assert!(
            error.message.contains("2024-2025 et 2025-2026"),
            "{}",
            error.message
        );
        // Signed the year before, it still covers this one.
        let events = when(
            &created(school_owner()),
            DeploymentCommand::SignCharter {
                signed_on: day("2025-09-01"),
            },
        )
        .unwrap();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn a_charter_runs_two_school_years_and_is_due_for_renewal_60_days_before_its_end() {
        let mut history = created(school_owner());
        history.push(DeploymentEvent::CharterSigned {
            signed_on: day("2026-09-20"),
        });
        let deployment = given(&history);
        let term = deployment.charter().unwrap();
        assert_eq!(term.ends_on, day("2028-08-31"));
        assert_eq!(term.renewal_due_from, day("2028-07-02"));
        assert_eq!(
            Deployment::default().status(day(NOW)),
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
        let mut next = vec![DeploymentEvent::DeploymentCreated {
            owner: school_owner(),
            school_year: year().next(),
        }];
        next.push(DeploymentEvent::CharterSigned {
            signed_on: day("2027-06-10"),
        });
        let next = given(&next);
        assert_eq!(next.status(day("2027-06-11")), DeploymentStatus::Enrolled);
        assert_eq!(next.status(day("2027-09-01")), DeploymentStatus::Active);
    }

    #[test]
    fn rejects_a_team_member_from_another_school() {
        let error = when(
            &created(school_owner()),
            add(2, Some(ecole("0310002J", "31", "Toulouse Nord"))),
        )
        .unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("team-member-other-school", Some("school_uai"))
        );
        assert!(
            error
                .message
                .contains("0310002J n'est pas l'établissement 0310001H"),
            "{}",
            error.message
        );
        // Their own school, or no school given, is fine.
        assert!(
            when(
                &created(school_owner()),
                add(2, Some(ecole("0310001H", "31", "X")))
            )
            .is_ok()
        );
        assert!(when(&created(school_owner()), add(2, None)).is_ok());
    }

    #[test]
    fn rejects_a_team_member_from_a_school_outside_the_circonscription() {
        let history = created(circonscription_owner());
        for school in [
            ecole("0310002J", "31", "Toulouse Sud"),
            ecole("0320001C", "32", "Toulouse Nord"),
        ] {
            let error = when(&history, add(2, Some(school))).unwrap_err();
            assert_eq!(error.rule, "team-member-other-school");
            assert!(
                error.message.contains("une école de la circonscription"),
                "{}",
                error.message
            );
        }
        assert!(
            when(
                &history,
                add(2, Some(ecole("0310002J", "31", "toulouse nord")))
            )
            .is_ok()
        );
        // The circonscription's own staff belong to no school.
        assert!(when(&history, add(2, None)).is_ok());
    }

    #[test]
    fn rejects_the_same_person_twice_in_the_team() {
        let mut history = created(school_owner());
        history.push(DeploymentEvent::TeamMemberAdded(member(2, true, None)));
        let error = when(&history, add(2, None)).unwrap_err();
        assert_eq!(error.rule, "team-member-duplicate");
    }

    #[test]
    fn rejects_removing_a_member_not_in_the_team() {
        let mut history = created(school_owner());
        history.push(DeploymentEvent::TeamMemberAdded(member(2, true, None)));
        let removed = when(
            &history,
            DeploymentCommand::RemoveMember {
                member_id: Uuid::from_u128(1002),
            },
        )
        .unwrap();
        history.extend(removed);
        assert!(given(&history).team.is_empty());
        let error = when(
            &history,
            DeploymentCommand::RemoveMember {
                member_id: Uuid::from_u128(1002),
            },
        )
        .unwrap_err();
        assert_eq!(error.rule, "team-member-unknown");
    }

    fn protocol(formalised_on: &str, presented_on: Option<&str>) -> DeploymentCommand {
        DeploymentCommand::RecordProtocol(Protocol {
            formalised_on: day(formalised_on),
            presented_on: presented_on.map(day),
            presented_to: ProtocolBody::ConseilAdministration,
        })
    }

    #[test]
    fn rejects_a_protocol_dated_in_the_future() {
        let history = created(school_owner());
        let error = when(&history, protocol("2026-11-20", None)).unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("protocol-in-future", Some("formalised_on"))
        );
        let error = when(&history, protocol("2026-10-01", Some("2026-12-01"))).unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("protocol-in-future", Some("presented_on"))
        );
    }

    #[test]
    fn rejects_a_protocol_presented_before_it_was_formalised() {
        let error = when(
            &created(school_owner()),
            protocol("2026-10-01", Some("2026-09-30")),
        )
        .unwrap_err();
        assert_eq!(error.rule, "protocol-presented-before-formalised");
    }

    #[test]
    fn rejects_planned_hours_without_a_number_and_hours_without_a_plan() {
        let history = created(school_owner());
        for (planned, hours) in [(true, 0), (false, 10)] {
            let error = when(
                &history,
                DeploymentCommand::PlanLearningHours(LearningHours { planned, hours }),
            )
            .unwrap_err();
            assert_eq!(error.rule, "learning-hours-inconsistent");
        }
        assert!(
            when(
                &history,
                DeploymentCommand::PlanLearningHours(LearningHours {
                    planned: false,
                    hours: 0
                })
            )
            .is_ok()
        );
    }

    #[test]
    fn rejects_an_implausible_number_of_learning_hours() {
        let error = when(
            &created(school_owner()),
            DeploymentCommand::PlanLearningHours(LearningHours {
                planned: true,
                hours: 1000,
            }),
        )
        .unwrap_err();
        assert_eq!(error.rule, "learning-hours-too-many");
    }

    #[test]
    fn rejects_a_parent_workshop_outside_the_deployments_year() {
        let error = when(
            &created(school_owner()),
            DeploymentCommand::RecordParentWorkshop(Workshop {
                workshop_id: Uuid::from_u128(1),
                held_on: day("2027-09-01"),
                participants: Some(12),
            }),
        )
        .unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("workshop-outside-year", Some("held_on"))
        );
    }

    #[test]
    fn compliance_is_computed_and_never_blocks_a_save() {
        let mut history = created(school_owner());
        // Four trained members and one untrained: saved all the same, flag still false.
        for person in 1..=4 {
            history.push(DeploymentEvent::TeamMemberAdded(member(person, true, None)));
        }
        let untrained = when(
            &history,
            DeploymentCommand::AddMember {
                member: member(5, false, None),
                school: None,
            },
        )
        .unwrap();
        history.extend(untrained);
        let today = day(NOW);
        let flags = given(&history).compliance(today);
        assert_eq!(flags.trained_members, 4);
        assert!(!flags.trained_team && !flags.compliant);

        history.extend([
            DeploymentEvent::TeamMemberAdded(member(6, true, None)),
            DeploymentEvent::CharterSigned {
                signed_on: day("2026-09-20"),
            },
            DeploymentEvent::CoordinatorNamed {
                person: member(1, true, None).person,
            },
            DeploymentEvent::ProtocolRecorded {
                formalised_on: day("2026-09-25"),
                presented_on: Some(day("2026-10-05")),
                presented_to: ProtocolBody::ConseilAdministration,
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
        let flags = given(&history).compliance(today);
        assert!(flags.trained_team && flags.charter_in_force && flags.protocol_presented);
        assert!(flags.coordinator_named && flags.learning_hours_planned);
        assert!(
            !flags.parent_workshop_held,
            "a workshop scheduled ahead is not held yet"
        );
        assert!(given(&history).compliance(day("2026-11-20")).compliant);
    }

    #[test]
    fn rejects_a_request_naming_both_or_neither_owner() {
        let academy = Academy::toulouse();
        let request = |school: Option<&str>,
                       circonscription: Option<&str>,
                       department: Option<&str>| NewDeployment {
            school_year: "2026-2027".into(),
            school_uai: school.map(Into::into),
            circonscription: circonscription.map(Into::into),
            department: department.map(Into::into),
        };
        for bad in [
            request(None, None, None),
            request(Some("0310001H"), Some("Auch"), Some("32")),
        ] {
            assert_eq!(bad.check(&academy).unwrap_err().rule, "deployment-owner");
        }
        assert_eq!(
            request(None, Some("Auch"), None)
                .check(&academy)
                .unwrap_err()
                .rule,
            "department-missing"
        );
        assert_eq!(
            request(None, Some("Bordeaux"), Some("33"))
                .check(&academy)
                .unwrap_err()
                .rule,
            "invalid-department"
        );
        assert_eq!(
            request(Some("0310001A"), None, None)
                .check(&academy)
                .unwrap_err()
                .rule,
            "invalid-uai"
        );
        let (_, choice) = request(Some("0310001H"), None, Some(""))
            .check(&academy)
            .unwrap();
        assert_eq!(choice, OwnerChoice::School(Uai::parse("0310001H").unwrap()));
    }
}
