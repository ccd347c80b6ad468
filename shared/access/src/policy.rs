//! The one place that decides whether an actor may do something on something
//! (the README's « Who may do what »). Handlers name the action and the subject; this
//! module answers.

use pharos_events::{DepartmentCode, Role, Uai};
use uuid::Uuid;

/// What an account's role reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `admin`: accounts and configuration.
    Platform,
    /// `pole_manager`: everything in the academy.
    Academy,
    /// `department_referent`.
    Department(DepartmentCode),
    /// `school`.
    School(Uai),
    /// `juror` and `trainer`: only what their service assigns them (entries, sessions),
    /// decided by that service; nothing in the directory.
    Assigned,
}

impl Scope {
    /// The scope a role's stored scope value gives; a value that does not parse gives
    /// [`Scope::Assigned`], which reaches nothing.
    pub fn of(role: Role, scope: Option<&str>) -> Self {
        match role {
            Role::Admin => Self::Platform,
            Role::PoleManager => Self::Academy,
            Role::DepartmentReferent => scope
                .and_then(|s| DepartmentCode::parse(s).ok())
                .map_or(Self::Assigned, Self::Department),
            Role::School => scope
                .and_then(|s| Uai::parse(s).ok())
                .map_or(Self::Assigned, Self::School),
            Role::Juror | Role::Trainer => Self::Assigned,
        }
    }

    /// The stored form: a department code, a UAI, or none.
    pub fn value(&self) -> Option<String> {
        match self {
            Self::Department(d) => Some(d.to_string()),
            Self::School(u) => Some(u.to_string()),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Platform => "la plateforme".into(),
            Self::Academy => "l'académie".into(),
            Self::Department(d) => format!("le département {d}"),
            Self::School(u) => format!("l'établissement {u}"),
            Self::Assigned => "ce qui vous est attribué".into(),
        }
    }
}

/// Who is acting: the account behind a valid token, with its current roles and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    /// The primary role (the one event metadata names).
    pub role: Role,
    /// The primary role's scope.
    pub scope: Scope,
    /// The roles held besides the primary one, each with its scope (a department
    /// referent who also trains, a referent of two departments): [`Actor::may`] allows
    /// what any of them allows.
    pub grants: Vec<(Role, Scope)>,
    /// The request's `x-request-id`, carried into event metadata.
    pub request_id: Option<String>,
}

/// What an action is applied to.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The whole academy (an import, a national partner, personal-data requests).
    Academy,
    Department(&'a DepartmentCode),
    School {
        uai: &'a Uai,
        department: &'a DepartmentCode,
    },
    /// An account holding this role.
    Account(Role),
    /// A training session: of a department (`None`: academy-wide), given by `trainers`.
    Session {
        department: Option<&'a DepartmentCode>,
        trainers: &'a [Uuid],
    },
    /// A contest entry, as the jury sees it: assigned to `jurors`.
    ContestEntry {
        jurors: &'a [Uuid],
    },
}

impl Subject<'_> {
    fn describe(&self) -> String {
        match self {
            Self::Academy => "l'ensemble de l'académie".into(),
            Self::Department(d) => format!("le département {d}"),
            Self::School { uai, department } => {
                format!("l'établissement {uai} (département {department})")
            }
            Self::Account(role) => format!("un compte de rôle « {} »", role.label()),
            Self::Session {
                department: Some(d),
                ..
            } => format!("une session du département {d}"),
            Self::Session {
                department: None, ..
            } => "une session académique".into(),
            Self::ContestEntry { .. } => "une participation au concours".into(),
        }
    }
}

/// The commands that need a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create accounts, change their role, deactivate them.
    ManageUsers,
    /// Import, register, update and close schools.
    ManageSchools,
    /// Register, update and verify partners of the orientation directory.
    ManagePartners,
    /// Right of access, erasure, read log.
    ManagePersonalData,
    /// Create trainings; plan, open, close, reschedule, cancel sessions; lock attendance.
    ManageTrainings,
    /// Register people to a session, withdraw them.
    RegisterToTraining,
    /// Record and correct attendance.
    RecordAttendance,
    /// A school's (or circonscription's) pHARe deployment: create it, record its facts,
    /// read it.
    ManageDeployment,
    /// A school's pHARe label application: draft it, answer the criteria the school
    /// answers, submit it, read it.
    ApplyForLabel,
    /// The pole's part of a pHARe label: start the review, answer the criteria only the
    /// pole holds (contest participation), decide; configure label criteria.
    DecideLabel,
    /// A school's ambassador cohorts (pupils, parents): create them, record their counts,
    /// trainings and nominal list, declare, activate and close them, read them.
    ManageCohorts,
    /// Set the date, window and report deadline of a year's Journée nationale « Non au
    /// harcèlement ».
    SetNationalDay,
    /// A school's awareness and prevention actions (national day or year-round): declare
    /// them, edit them while draft or returned, submit them, read them.
    ReportAwarenessAction,
    /// Validate, return and publish awareness actions; read the expected reports of a
    /// department.
    ValidateAwarenessAction,
    /// The pole's part of the « Non au harcèlement » contest: editions, deadline
    /// extensions, admissibility, jurors and their assignments, awards, publication of the
    /// palmarès, closing the campaign.
    ManageContest,
    /// A school's contest entries: create them, edit them while draft, upload their files,
    /// attest, submit, withdraw, read them.
    EnterContest,
    /// Score the contest entries assigned to the juror.
    JudgeContest,
}

impl Action {
    fn roles(self) -> &'static [Role] {
        match self {
            Self::ManageUsers => &[Role::Admin, Role::PoleManager],
            Self::ManageSchools | Self::ManagePersonalData => &[Role::PoleManager],
            Self::ManagePartners | Self::ManageTrainings => {
                &[Role::PoleManager, Role::DepartmentReferent]
            }
            Self::RegisterToTraining | Self::ManageDeployment | Self::ApplyForLabel => {
                &[Role::PoleManager, Role::DepartmentReferent, Role::School]
            }
            Self::RecordAttendance => &[Role::PoleManager, Role::DepartmentReferent, Role::Trainer],
            Self::DecideLabel => &[Role::PoleManager],
            Self::ManageCohorts => &[Role::PoleManager, Role::DepartmentReferent, Role::School],
            Self::SetNationalDay => &[Role::PoleManager],
            Self::ReportAwarenessAction => {
                &[Role::PoleManager, Role::DepartmentReferent, Role::School]
            }
            Self::ValidateAwarenessAction => &[Role::PoleManager, Role::DepartmentReferent],
            Self::ManageContest => &[Role::PoleManager],
            Self::EnterContest => &[Role::PoleManager, Role::DepartmentReferent, Role::School],
            Self::JudgeContest => &[Role::Juror],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::ManageUsers => "gérer les comptes",
            Self::ManageSchools => "gérer le répertoire des établissements",
            Self::ManagePartners => "gérer l'annuaire d'orientation",
            Self::ManagePersonalData => "traiter les demandes sur les données personnelles",
            Self::ManageTrainings => "gérer les formations et leurs sessions",
            Self::RegisterToTraining => "inscrire des personnes à une formation",
            Self::RecordAttendance => "saisir les présences",
            Self::ManageDeployment => "renseigner le déploiement de pHARe",
            Self::ApplyForLabel => "candidater au label pHARe",
            Self::DecideLabel => "décider des labels pHARe",
            Self::ManageCohorts => "gérer les cohortes d'ambassadeurs",
            Self::SetNationalDay => "fixer la date de la Journée nationale « Non au harcèlement »",
            Self::ReportAwarenessAction => "déclarer les actions de sensibilisation",
            Self::ValidateAwarenessAction => {
                "valider, renvoyer ou publier les actions de sensibilisation"
            }
            Self::ManageContest => "gérer le concours « Non au harcèlement »",
            Self::EnterContest => "inscrire des productions au concours « Non au harcèlement »",
            Self::JudgeContest => "noter les productions du concours « Non au harcèlement »",
        }
    }
}

/// A refusal, in French, saying which rule refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

impl Actor {
    /// Every role the actor holds with its scope: the primary one first, then the grants.
    pub fn held(&self) -> impl Iterator<Item = (Role, &Scope)> {
        std::iter::once((self.role, &self.scope)).chain(self.grants.iter().map(|(r, s)| (*r, s)))
    }

    /// Whether the actor holds `role`, as primary role or as a grant.
    pub fn holds(&self, role: Role) -> bool {
        self.held().any(|(r, _)| r == role)
    }

    /// Whether one of the actor's scopes reaches `subject` (whatever the action).
    pub fn covers(&self, subject: Subject<'_>) -> bool {
        self.held()
            .any(|(role, scope)| reaches(self.user_id, role, scope, subject))
    }

    /// May this actor do `action` on `subject`? Yes when one role it holds (the primary
    /// one or a grant) may do `action` and that role's scope reaches `subject`.
    pub fn may(&self, action: Action, subject: Subject<'_>) -> Result<(), Denied> {
        let permitted: Vec<(Role, &Scope)> = self
            .held()
            .filter(|(role, _)| action.roles().contains(role))
            .collect();
        if permitted.is_empty() {
            let mut labels: Vec<&str> = Vec::new();
            for (role, _) in self.held() {
                if !labels.contains(&role.label()) {
                    labels.push(role.label());
                }
            }
            return Err(Denied(match labels.as_slice() {
                [one] => format!("Votre rôle ({one}) ne permet pas de {}.", action.describe()),
                many => format!(
                    "Vos rôles ({}) ne permettent pas de {}.",
                    many.join(", "),
                    action.describe()
                ),
            }));
        }
        if permitted
            .iter()
            .any(|(role, scope)| reaches(self.user_id, *role, scope, subject))
        {
            return Ok(());
        }
        let perimeter = match permitted.as_slice() {
            [(_, scope)] if self.grants.is_empty() => {
                format!("hors de votre périmètre ({})", scope.describe())
            }
            [(role, scope)] => format!(
                "hors du périmètre de votre rôle {} ({})",
                role.label(),
                scope.describe()
            ),
            many => format!(
                "hors de vos périmètres ({})",
                many.iter()
                    .map(|(role, scope)| format!("{} : {}", role.label(), scope.describe()))
                    .collect::<Vec<_>>()
                    .join(" ; ")
            ),
        };
        Err(Denied(format!(
            "Cette action porte sur {}, {perimeter}.",
            subject.describe()
        )))
    }

    /// Metadata for the events this actor causes from `target`.
    pub fn metadata(&self, target: &str) -> pharos_eventstore::Metadata {
        pharos_eventstore::Metadata {
            actor_id: Some(self.user_id.to_string()),
            actor_role: Some(self.role.to_string()),
            request_id: self.request_id.clone(),
            source_target: Some(target.to_owned()),
            ..Default::default()
        }
    }
}

/// Whether `role`, held by `user_id` with `scope`, reaches `subject`.
fn reaches(user_id: Uuid, role: Role, scope: &Scope, subject: Subject<'_>) -> bool {
    match (scope, subject) {
        (Scope::Platform, Subject::Account(_)) => true,
        (Scope::Academy, Subject::Account(role)) => role != Role::Admin,
        (Scope::Academy, _) => true,
        (Scope::Department(mine), Subject::Department(d)) => mine == d,
        (Scope::Department(mine), Subject::School { department, .. }) => mine == department,
        (Scope::School(mine), Subject::School { uai, .. }) => mine == uai,
        (Scope::Department(mine), Subject::Session { department, .. }) => department == Some(mine),
        // A trainer reaches the sessions they give, nothing else.
        (Scope::Assigned, Subject::Session { trainers, .. }) => {
            role == Role::Trainer && trainers.contains(&user_id)
        }
        // A juror reaches the contest entries assigned to them, nothing else.
        (Scope::Assigned, Subject::ContestEntry { jurors }) => {
            role == Role::Juror && jurors.contains(&user_id)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trainer_reaches_only_the_sessions_they_give() {
        let mut trainer = actor(Role::Trainer, None);
        trainer.user_id = Uuid::from_u128(7);
        let d31 = DepartmentCode::parse("31").unwrap();
        let theirs = [Uuid::from_u128(7)];
        let others = [Uuid::from_u128(8)];
        let session = |trainers| Subject::Session {
            department: Some(&d31),
            trainers,
        };
        assert!(
            trainer
                .may(Action::RecordAttendance, session(&theirs))
                .is_ok()
        );
        assert!(
            trainer
                .may(Action::RecordAttendance, session(&others))
                .is_err()
        );
        assert!(
            trainer
                .may(Action::ManageTrainings, session(&theirs))
                .is_err()
        );
        let juror = actor(Role::Juror, None);
        assert!(!juror.covers(session(&theirs)));
        let referent = actor(Role::DepartmentReferent, Some("31"));
        assert!(referent.covers(session(&others)));
        assert!(!referent.covers(Subject::Session {
            department: None,
            trainers: &others
        }));
    }

    fn actor(role: Role, scope: Option<&str>) -> Actor {
        Actor {
            user_id: Uuid::nil(),
            role,
            scope: Scope::of(role, scope),
            grants: Vec::new(),
            request_id: None,
        }
    }

    fn with_grants(mut actor: Actor, grants: &[(Role, Option<&str>)]) -> Actor {
        actor.grants = grants
            .iter()
            .map(|(role, scope)| (*role, Scope::of(*role, *scope)))
            .collect();
        actor
    }

    #[test]
    fn a_referent_granted_a_second_department_reaches_both_and_only_while_granted() {
        let d31 = DepartmentCode::parse("31").unwrap();
        let d32 = DepartmentCode::parse("32").unwrap();
        let d82 = DepartmentCode::parse("82").unwrap();
        let referent = actor(Role::DepartmentReferent, Some("31"));
        let denied = referent
            .may(Action::ManagePartners, Subject::Department(&d82))
            .unwrap_err();
        assert!(
            denied
                .0
                .contains("hors de votre périmètre (le département 31)"),
            "{denied}"
        );
        let both = with_grants(referent.clone(), &[(Role::DepartmentReferent, Some("82"))]);
        for department in [&d31, &d82] {
            assert!(
                both.may(Action::ManagePartners, Subject::Department(department))
                    .is_ok()
            );
        }
        let school_82 = Uai::parse("0820001F").unwrap();
        assert!(both.covers(Subject::School {
            uai: &school_82,
            department: &d82
        }));
        let denied = both
            .may(Action::ManagePartners, Subject::Department(&d32))
            .unwrap_err();
        assert_eq!(
            denied.0,
            "Cette action porte sur le département 32, hors de vos périmètres \
             (référent départemental : le département 31 ; référent départemental : le \
             département 82)."
        );
        // The grant removed, the access goes with it.
        let removed = with_grants(both, &[]);
        assert_eq!(removed, referent);
        assert!(
            removed
                .may(Action::ManagePartners, Subject::Department(&d82))
                .is_err()
        );
    }

    #[test]
    fn a_referent_who_trains_acts_as_trainer_on_their_sessions_only() {
        let mut referent = with_grants(
            actor(Role::DepartmentReferent, Some("31")),
            &[(Role::Trainer, None)],
        );
        referent.user_id = Uuid::from_u128(7);
        assert!(referent.holds(Role::Trainer) && referent.holds(Role::DepartmentReferent));
        assert!(!referent.holds(Role::School));
        let d32 = DepartmentCode::parse("32").unwrap();
        let theirs = [Uuid::from_u128(7)];
        let others = [Uuid::from_u128(8)];
        let session = |trainers| Subject::Session {
            department: Some(&d32),
            trainers,
        };
        // In 32 they give the session as a trainer: attendance, not its management.
        assert!(
            referent
                .may(Action::RecordAttendance, session(&theirs))
                .is_ok()
        );
        assert!(
            referent
                .may(Action::RecordAttendance, session(&others))
                .is_err()
        );
        let denied = referent
            .may(Action::ManageTrainings, session(&theirs))
            .unwrap_err();
        assert_eq!(
            denied.0,
            "Cette action porte sur une session du département 32, hors du périmètre de \
             votre rôle référent départemental (le département 31)."
        );
    }

    #[test]
    fn each_role_acts_within_its_own_scope_and_refusals_name_every_role() {
        // A referent of 31 who is also the account of a school of 82: the referent's
        // actions do not reach 82 through the school's scope.
        let d82 = DepartmentCode::parse("82").unwrap();
        let school_82 = Uai::parse("0820001F").unwrap();
        let mixed = with_grants(
            actor(Role::DepartmentReferent, Some("31")),
            &[(Role::School, Some("0820001F"))],
        );
        let school = Subject::School {
            uai: &school_82,
            department: &d82,
        };
        assert!(mixed.may(Action::ApplyForLabel, school).is_ok());
        assert!(mixed.may(Action::ManageTrainings, school).is_err());
        assert!(
            mixed
                .may(Action::ManagePartners, Subject::Department(&d82))
                .is_err()
        );
        let both = with_grants(actor(Role::Juror, None), &[(Role::Trainer, None)]);
        assert_eq!(
            both.may(Action::ManagePartners, Subject::Department(&d82))
                .unwrap_err()
                .0,
            "Vos rôles (juré, formateur) ne permettent pas de gérer l'annuaire d'orientation."
        );
        // One role twice (two departments) is named once.
        let twice = with_grants(
            actor(Role::DepartmentReferent, Some("31")),
            &[(Role::DepartmentReferent, Some("82"))],
        );
        assert_eq!(
            twice
                .may(Action::ManageSchools, Subject::Academy)
                .unwrap_err()
                .0,
            "Votre rôle (référent départemental) ne permet pas de gérer le répertoire des \
             établissements."
        );
        // A pole-manager grant manages accounts; an administrator's stays out of reach.
        let manager = with_grants(actor(Role::Trainer, None), &[(Role::PoleManager, None)]);
        assert!(
            manager
                .may(Action::ManageUsers, Subject::Account(Role::School))
                .is_ok()
        );
        assert!(
            manager
                .may(Action::ManageUsers, Subject::Account(Role::Admin))
                .is_err()
        );
    }

    #[test]
    fn a_department_referent_reaches_only_their_department() {
        let referent = actor(Role::DepartmentReferent, Some("31"));
        let d31 = DepartmentCode::parse("31").unwrap();
        let d32 = DepartmentCode::parse("32").unwrap();
        let uai = Uai::parse("0310001H").unwrap();
        assert!(
            referent
                .may(Action::ManagePartners, Subject::Department(&d31))
                .is_ok()
        );
        let denied = referent
            .may(Action::ManagePartners, Subject::Department(&d32))
            .unwrap_err();
        assert!(
            denied
                .0
                .contains("hors de votre périmètre (le département 31)"),
            "{denied}"
        );
        assert!(referent.covers(Subject::School {
            uai: &uai,
            department: &d31
        }));
        assert!(!referent.covers(Subject::School {
            uai: &uai,
            department: &d32
        }));
        assert!(
            referent
                .may(Action::ManageSchools, Subject::Department(&d31))
                .is_err()
        );
    }

    #[test]
    fn a_pole_manager_manages_every_account_but_administrators() {
        let manager = actor(Role::PoleManager, None);
        assert!(
            manager
                .may(Action::ManageUsers, Subject::Account(Role::School))
                .is_ok()
        );
        assert!(
            manager
                .may(Action::ManageUsers, Subject::Account(Role::Admin))
                .is_err()
        );
        let admin = actor(Role::Admin, None);
        assert!(
            admin
                .may(Action::ManageUsers, Subject::Account(Role::Admin))
                .is_ok()
        );
        assert!(admin.may(Action::ManageSchools, Subject::Academy).is_err());
    }

    #[test]
    fn the_school_side_applies_for_its_own_labels_and_only_the_pole_decides_them() {
        let d31 = DepartmentCode::parse("31").unwrap();
        let d32 = DepartmentCode::parse("32").unwrap();
        let mine = Uai::parse("0310001H").unwrap();
        let other = Uai::parse("0310002J").unwrap();
        let gers = Uai::parse("0320001C").unwrap();
        let label = |uai, department| Subject::School { uai, department };
        let school = actor(Role::School, Some("0310001H"));
        let referent = actor(Role::DepartmentReferent, Some("31"));
        let manager = actor(Role::PoleManager, None);
        for who in [&school, &referent, &manager] {
            assert!(
                who.may(Action::ApplyForLabel, label(&mine, &d31)).is_ok(),
                "{:?}",
                who.role
            );
        }
        assert!(
            school
                .may(Action::ApplyForLabel, label(&other, &d31))
                .is_err()
        );
        assert!(
            referent
                .may(Action::ApplyForLabel, label(&other, &d31))
                .is_ok()
        );
        assert!(
            referent
                .may(Action::ApplyForLabel, label(&gers, &d32))
                .is_err()
        );
        for role in [Role::Admin, Role::Juror, Role::Trainer] {
            let denied = actor(role, None)
                .may(Action::ApplyForLabel, label(&mine, &d31))
                .unwrap_err();
            assert!(denied.0.contains("candidater au label pHARe"), "{denied}");
        }

        assert!(manager.may(Action::DecideLabel, label(&mine, &d31)).is_ok());
        for who in [&school, &referent, &actor(Role::Admin, None)] {
            let denied = who
                .may(Action::DecideLabel, label(&mine, &d31))
                .unwrap_err();
            assert!(denied.0.contains("décider des labels"), "{denied}");
        }
    }

    #[test]
    fn the_school_side_records_its_own_deployments_and_referents_their_circonscriptions() {
        let d31 = DepartmentCode::parse("31").unwrap();
        let d32 = DepartmentCode::parse("32").unwrap();
        let mine = Uai::parse("0310001H").unwrap();
        let school = actor(Role::School, Some("0310001H"));
        let referent = actor(Role::DepartmentReferent, Some("31"));
        let deployment = Subject::School {
            uai: &mine,
            department: &d31,
        };
        assert!(school.may(Action::ManageDeployment, deployment).is_ok());
        assert!(referent.may(Action::ManageDeployment, deployment).is_ok());
        // A circonscription's deployment is its department's.
        assert!(
            referent
                .may(Action::ManageDeployment, Subject::Department(&d31))
                .is_ok()
        );
        assert!(
            referent
                .may(Action::ManageDeployment, Subject::Department(&d32))
                .is_err()
        );
        assert!(
            school
                .may(Action::ManageDeployment, Subject::Department(&d31))
                .is_err()
        );
        assert!(
            actor(Role::Admin, None)
                .may(Action::ManageDeployment, deployment)
                .is_err()
        );
    }

    #[test]
    fn a_school_reaches_only_itself_and_an_unparsable_scope_reaches_nothing() {
        let school = actor(Role::School, Some("0310001H"));
        let d31 = DepartmentCode::parse("31").unwrap();
        let mine = Uai::parse("0310001H").unwrap();
        let other = Uai::parse("0310002J").unwrap();
        assert!(school.covers(Subject::School {
            uai: &mine,
            department: &d31
        }));
        assert!(!school.covers(Subject::School {
            uai: &other,
            department: &d31
        }));
        assert!(!school.covers(Subject::Department(&d31)));
        let broken = actor(Role::School, Some("nonsense"));
        assert_eq!(broken.scope, Scope::Assigned);
        assert!(!broken.covers(Subject::School {
            uai: &mine,
            department: &d31
        }));
    }
    #[test]
    fn the_contest_is_the_poles_the_schools_enter_it_and_jurors_score_what_is_assigned() {
        let d31 = DepartmentCode::parse("31").unwrap();
        let mine = Uai::parse("0310001H").unwrap();
        let entry = Subject::School {
            uai: &mine,
            department: &d31,
        };
        for who in [
            actor(Role::School, Some("0310001H")),
            actor(Role::DepartmentReferent, Some("31")),
            actor(Role::PoleManager, None),
        ] {
            assert!(
                who.may(Action::EnterContest, entry).is_ok(),
                "{:?}",
                who.role
            );
        }
        let denied = actor(Role::School, Some("0310001H"))
            .may(Action::ManageContest, Subject::Academy)
            .unwrap_err();
        assert!(denied.0.contains("gérer le concours"), "{denied}");
        let mut juror = actor(Role::Juror, None);
        juror.user_id = Uuid::from_u128(7);
        let assigned = [Uuid::from_u128(7)];
        let others = [Uuid::from_u128(8)];
        assert!(
            juror
                .may(
                    Action::JudgeContest,
                    Subject::ContestEntry { jurors: &assigned }
                )
                .is_ok()
        );
        assert!(
            juror
                .may(
                    Action::JudgeContest,
                    Subject::ContestEntry { jurors: &others }
                )
                .is_err()
        );
        assert!(juror.may(Action::EnterContest, entry).is_err());
        assert!(
            actor(Role::PoleManager, None)
                .may(
                    Action::JudgeContest,
                    Subject::ContestEntry { jurors: &assigned }
                )
                .is_err()
        );
    }
}
