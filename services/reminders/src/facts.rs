//! What the reminders target keeps of the log, in memory: the facts its triggers count
//! from (sessions and their registrants, accounts, schools, national days and actions,
//! contest editions and entries), read through the event contract, and its own rules and
//! ledger. Fed by the store's subscription; the ledger is also written through by the
//! engine, and an event already applied (by version) is not applied twice.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use pharos_domain::compliance::CharterTerm;
use pharos_domain::national_day::{NationalDayDates, Overrides, known_national_days};
use pharos_events::contest::{self, ContestEvent, EntryEvent};
use pharos_events::national_day::{self, ActionEvent, Campaign, NationalDayEvent};
use pharos_events::phare::{self, DeploymentEvent, DeploymentOwner, SchoolYear};
use pharos_events::reminder::{self, ReminderEvent, ReminderKey, RuleDefinition, RuleEvent};
use pharos_events::school::{self, SchoolEvent};
use pharos_events::training::{self, Registrant, SessionEvent, TrainingEvent};
use pharos_events::user::{self, UserEvent};
use pharos_events::{DepartmentCode, Role, Uai, decode};
use pharos_eventstore::RecordedEvent;
use pharos_privacy::Sealed;
use uuid::Uuid;

/// The categories the facts are built from.
pub const CATEGORIES: &[&str] = &[
    training::TRAINING_CATEGORY,
    training::SESSION_CATEGORY,
    user::CATEGORY,
    school::CATEGORY,
    national_day::NATIONAL_DAY_CATEGORY,
    national_day::ACTION_CATEGORY,
    contest::EDITION_CATEGORY,
    contest::ENTRY_CATEGORY,
    phare::DEPLOYMENT_CATEGORY,
    reminder::CATEGORY,
];

#[derive(Debug, Clone)]
pub struct Session {
    pub training_id: Uuid,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    pub location: Option<String>,
    pub remote_url: Option<String>,
    pub trainers: Vec<Uuid>,
    pub cancelled: Option<String>,
    /// The stream version of the last change of its dates (or of its cancellation):
    /// the `SEQUENCE` of its calendar invitations.
    pub schedule_version: i64,
    pub registrations: HashMap<Uuid, Registration>,
    /// Where it is held (its own, else its training's; `None`: academy-wide).
    pub department: Option<DepartmentCode>,
    /// Its slots: attendance is recorded per registration and slot.
    pub slots: usize,
    /// The (registration, slot) pairs whose attendance is recorded.
    pub attendance: HashSet<(Uuid, usize)>,
    pub attendance_locked: bool,
    version: i64,
}

impl Session {
    /// Whether its attendance is entered: locked, or recorded for every slot of every
    /// confirmed registration (a session nobody attended still needs its lock).
    pub fn attendance_entered(&self) -> bool {
        let mut confirmed = self
            .registrations
            .iter()
            .filter(|(_, r)| r.confirmed)
            .peekable();
        self.attendance_locked
            || (confirmed.peek().is_some()
                && confirmed.all(|(id, _)| {
                    (0..self.slots.max(1)).all(|slot| self.attendance.contains(&(*id, slot)))
                }))
    }
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub registrant: Registrant,
    pub confirmed: bool,
    /// When it was confirmed (recorded), directly or from the waiting list.
    pub confirmed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub email: Sealed,
    pub display_name: Sealed,
    pub role: Role,
    pub scope: Option<String>,
    pub grants: Vec<(Role, Option<String>)>,
    pub active: bool,
    /// When it was recorded (the invitation's window counts from it).
    pub created_at: DateTime<Utc>,
    /// « Mot de passe oublié » requests: the stream version of each, and when.
    pub reset_requests: Vec<(i64, DateTime<Utc>)>,
    version: i64,
}

impl Account {
    /// Whether the account holds `role` with `scope` (primary or granted).
    pub fn holds(&self, role: Role, scope: &str) -> bool {
        (self.role == role && self.scope.as_deref() == Some(scope))
            || self
                .grants
                .iter()
                .any(|(r, s)| *r == role && s.as_deref() == Some(scope))
    }
}

#[derive(Debug, Clone)]
pub struct School {
    pub name: String,
    pub department: DepartmentCode,
    pub closed: bool,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub school_year: SchoolYear,
    pub campaign: Campaign,
    pub schools: Vec<Uai>,
    /// Submitted, validated or published (a returned action waits to be sent again).
    pub reported: bool,
    version: i64,
}

#[derive(Debug, Clone)]
pub struct Edition {
    pub school_year: SchoolYear,
    pub edition: u32,
    pub opens_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub jury_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub contest_id: Uuid,
    pub school: Uai,
    /// Neither submitted nor withdrawn.
    pub draft: bool,
    version: i64,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub school: Uai,
    pub school_year: SchoolYear,
    pub charter_ends_on: Option<NaiveDate>,
}

/// Where one reminder stands in its ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// An attempt is claimed (`scheduled` or `retried`) and has no outcome yet.
    Claimed {
        attempt: u32,
        at: DateTime<Utc>,
    },
    Sent,
    /// A temporary failure, tried again from `retry_at`.
    Failing {
        attempt: u32,
        retry_at: DateTime<Utc>,
    },
    FailedPermanently,
    Suppressed,
    Cancelled,
}

impl Status {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Claimed { .. } => "en cours d'envoi",
            Self::Sent => "envoyé",
            Self::Failing { .. } => "en échec temporaire",
            Self::FailedPermanently => "en échec définitif",
            Self::Suppressed => "écarté",
            Self::Cancelled => "annulé",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ledger {
    pub key: ReminderKey,
    pub due_at: DateTime<Utc>,
    pub status: Status,
    pub version: i64,
    /// Why it was scheduled, then the last outcome's reason (the SMTP answer, why it
    /// was suppressed or cancelled), in French.
    pub reason: String,
    pub scheduled_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything the engine reads.
#[derive(Debug, Default)]
pub struct Facts {
    pub trainings: HashMap<Uuid, String>,
    /// The department of a departmental training (absent: academy-wide).
    pub training_departments: HashMap<Uuid, DepartmentCode>,
    pub sessions: HashMap<Uuid, Session>,
    pub accounts: HashMap<Uuid, Account>,
    pub schools: HashMap<Uai, School>,
    /// What the pole set of a year's national day (the rest is computed).
    pub national_days: HashMap<SchoolYear, Overrides>,
    pub actions: HashMap<Uuid, Action>,
    pub editions: HashMap<Uuid, Edition>,
    /// Jurors appointed, per edition.
    pub jurors: HashMap<Uuid, HashSet<Uuid>>,
    pub entries: HashMap<Uuid, Entry>,
    /// Per-school contest deadline extensions: (edition, school) → until.
    pub extensions: HashMap<(Uuid, Uai), DateTime<Utc>>,
    /// A school deployment's owner and year, and its charter's end when signed, by
    /// deployment stream.
    pub deployments: HashMap<Uuid, Deployment>,
    /// What the pole set of the rules (the shipped defaults apply to the others).
    pub rules: HashMap<String, RuleDefinition>,
    pub ledger: HashMap<Uuid, Ledger>,
    seen: HashMap<String, i64>,
}

fn stream_uuid(event: &RecordedEvent) -> Option<Uuid> {
    Uuid::parse_str(&event.stream_id[event.category.len() + 1..]).ok()
}

impl Facts {
    /// Applies one event, once (by stream version: the engine writes its own appends
    /// through before the subscription delivers them).
    pub fn apply(&mut self, event: &RecordedEvent) {
        let seen = self.seen.entry(event.stream_id.clone()).or_insert(0);
        if event.version <= *seen {
            return;
        }
        *seen = event.version;
        match event.category.as_str() {
            training::TRAINING_CATEGORY => self.training(event),
            training::SESSION_CATEGORY => self.session(event),
            user::CATEGORY => self.account(event),
            school::CATEGORY => self.school(event),
            national_day::NATIONAL_DAY_CATEGORY => {
                if let Some(NationalDayEvent::NationalDaySet {
                    school_year,
                    date,
                    window_days_before,
                    window_days_after,
                    report_deadline,
                }) = decode(event)
                {
                    self.national_days.insert(
                        school_year,
                        Overrides {
                            date,
                            window_days_before,
                            window_days_after,
                            report_deadline,
                        },
                    );
                }
            }
            national_day::ACTION_CATEGORY => self.action(event),
            contest::EDITION_CATEGORY => self.edition(event),
            contest::ENTRY_CATEGORY => self.entry(event),
            phare::DEPLOYMENT_CATEGORY => self.deployment(event),
            reminder::CATEGORY => self.reminder(event),
            _ => {}
        }
    }

    fn training(&mut self, event: &RecordedEvent) {
        if let (
            Some(id),
            Some(TrainingEvent::TrainingCreated {
                title, department, ..
            }),
        ) = (stream_uuid(event), decode(event))
        {
            self.trainings.insert(id, title);
            if let Some(department) = department {
                self.training_departments.insert(id, department);
            }
        }
    }

    fn session(&mut self, event: &RecordedEvent) {
        let Some(id) = stream_uuid(event) else { return };
        let Some(e) = decode::<SessionEvent>(event) else {
            return;
        };
        if let SessionEvent::SessionPlanned {
            training_id,
            department,
            schedule,
            location,
            remote_url,
            trainers,
            ..
        } = &e
        {
            let department = department
                .clone()
                .or_else(|| self.training_departments.get(training_id).cloned());
            self.sessions.insert(
                id,
                Session {
                    training_id: *training_id,
                    starts_at: schedule.starts_at,
                    ends_at: schedule.ends_at,
                    location: location.clone(),
                    remote_url: remote_url.clone(),
                    trainers: trainers.clone(),
                    cancelled: None,
                    schedule_version: event.version,
                    registrations: HashMap::new(),
                    department,
                    slots: schedule.slots.len(),
                    attendance: HashSet::new(),
                    attendance_locked: false,
                    version: event.version,
                },
            );
            return;
        }
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        session.version = event.version;
        match e {
            SessionEvent::SessionRescheduled { schedule } => {
                session.starts_at = schedule.starts_at;
                session.ends_at = schedule.ends_at;
                session.slots = schedule.slots.len();
                session.schedule_version = event.version;
            }
            SessionEvent::AttendanceRecorded {
                registration_id,
                slot_index,
                ..
            }
            | SessionEvent::AttendanceCorrected {
                registration_id,
                slot_index,
                ..
            } => {
                session.attendance.insert((registration_id, slot_index));
            }
            SessionEvent::AttendanceLocked => session.attendance_locked = true,
            SessionEvent::SessionCancelled { reason } => {
                session.cancelled = Some(reason);
                session.schedule_version = event.version;
            }
            SessionEvent::SessionTrainersChanged { trainers } => session.trainers = trainers,
            SessionEvent::RegistrationConfirmed {
                registration_id,
                registrant,
                ..
            } => {
                session.registrations.insert(
                    registration_id,
                    Registration {
                        registrant,
                        confirmed: true,
                        confirmed_at: Some(event.recorded_at),
                    },
                );
            }
            SessionEvent::RegistrationWaitlisted {
                registration_id,
                registrant,
                ..
            } => {
                session.registrations.insert(
                    registration_id,
                    Registration {
                        registrant,
                        confirmed: false,
                        confirmed_at: None,
                    },
                );
            }
            SessionEvent::RegistrationPromoted { registration_id } => {
                if let Some(r) = session.registrations.get_mut(&registration_id) {
                    r.confirmed = true;
                    r.confirmed_at = Some(event.recorded_at);
                }
            }
            SessionEvent::RegistrationWithdrawn { registration_id } => {
                session.registrations.remove(&registration_id);
            }
            _ => {}
        }
    }

    fn account(&mut self, event: &RecordedEvent) {
        let Some(id) = stream_uuid(event) else { return };
        let Some(e) = decode::<UserEvent>(event) else {
            return;
        };
        if let UserEvent::UserCreated {
            email,
            display_name,
            role,
            scope,
            ..
        } = e
        {
            self.accounts.insert(
                id,
                Account {
                    email,
                    display_name,
                    role,
                    scope,
                    grants: Vec::new(),
                    active: true,
                    created_at: event.recorded_at,
                    reset_requests: Vec::new(),
                    version: event.version,
                },
            );
            return;
        }
        let Some(account) = self.accounts.get_mut(&id) else {
            return;
        };
        account.version = event.version;
        match e {
            UserEvent::UserRoleChanged { role, scope } => {
                account.role = role;
                account.scope = scope;
            }
            UserEvent::UserDeactivated { .. } => account.active = false,
            UserEvent::UserGrantsChanged { grants } => {
                account.grants = grants.into_iter().map(|g| (g.role, g.scope)).collect();
            }
            UserEvent::PasswordResetRequested { requested_at } => {
                account.reset_requests.push((event.version, requested_at));
            }
            _ => {}
        }
    }

    fn school(&mut self, event: &RecordedEvent) {
        let Some(e) = decode::<SchoolEvent>(event) else {
            return;
        };
        match e {
            SchoolEvent::SchoolRegistered(record) | SchoolEvent::SchoolUpdated(record) => {
                let closed = self.schools.get(&record.uai).is_some_and(|s| s.closed);
                self.schools.insert(
                    record.uai,
                    School {
                        name: record.name,
                        department: record.department,
                        closed,
                    },
                );
            }
            SchoolEvent::SchoolClosed { .. } => {
                let uai = &event.stream_id[school::CATEGORY.len() + 1..];
                if let Some(school) = Uai::parse(uai).ok().and_then(|u| self.schools.get_mut(&u)) {
                    school.closed = true;
                }
            }
        }
    }

    fn action(&mut self, event: &RecordedEvent) {
        let Some(id) = stream_uuid(event) else { return };
        let Some(e) = decode::<ActionEvent>(event) else {
            return;
        };
        if let ActionEvent::ActionDeclared {
            school_year,
            campaign,
            details,
        } = &e
        {
            self.actions.insert(
                id,
                Action {
                    school_year: *school_year,
                    campaign: *campaign,
                    schools: details.schools.iter().map(|s| s.uai.clone()).collect(),
                    reported: false,
                    version: event.version,
                },
            );
            return;
        }
        let Some(action) = self.actions.get_mut(&id) else {
            return;
        };
        action.version = event.version;
        match e {
            ActionEvent::ActionEdited { details } => {
                action.schools = details.schools.into_iter().map(|s| s.uai).collect();
            }
            ActionEvent::ActionSubmitted
            | ActionEvent::ActionValidated
            | ActionEvent::ActionPublished => action.reported = true,
            ActionEvent::ActionReturned { .. } => action.reported = false,
            ActionEvent::ActionDeclared { .. } => {}
        }
    }

    fn edition(&mut self, event: &RecordedEvent) {
        let Some(id) = stream_uuid(event) else { return };
        match decode::<ContestEvent>(event) {
            Some(ContestEvent::EditionCreated {
                school_year,
                edition,
                opens_at,
                submission_deadline,
                dates,
                ..
            }) => {
                self.editions.insert(
                    id,
                    Edition {
                        school_year,
                        edition,
                        opens_at,
                        deadline: submission_deadline,
                        jury_on: dates.jury_on,
                    },
                );
            }
            Some(ContestEvent::JurorAppointed { juror_id, .. }) => {
                self.jurors.entry(id).or_default().insert(juror_id);
            }
            Some(ContestEvent::DeadlineExtended {
                school_uai, until, ..
            }) => {
                self.extensions.insert((id, school_uai), until);
            }
            _ => {}
        }
    }

    fn entry(&mut self, event: &RecordedEvent) {
        let Some(id) = stream_uuid(event) else { return };
        let Some(e) = decode::<EntryEvent>(event) else {
            return;
        };
        if let EntryEvent::EntryCreated {
            contest_id,
            school_uai,
            ..
        } = &e
        {
            self.entries.insert(
                id,
                Entry {
                    contest_id: *contest_id,
                    school: school_uai.clone(),
                    draft: true,
                    version: event.version,
                },
            );
            return;
        }
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.version = event.version;
            if matches!(
                e,
                EntryEvent::EntrySubmitted { .. } | EntryEvent::EntryWithdrawn
            ) {
                entry.draft = false;
            }
        }
    }

    fn deployment(&mut self, event: &RecordedEvent) {
        let Some(id) = stream_uuid(event) else { return };
        match decode::<DeploymentEvent>(event) {
            // Only a school's deployment has accounts to remind (a circonscription's
            // resource team has none of its own).
            Some(DeploymentEvent::DeploymentCreated {
                owner: DeploymentOwner::School { uai, .. },
                school_year,
            }) => {
                self.deployments.insert(
                    id,
                    Deployment {
                        school: uai,
                        school_year,
                        charter_ends_on: None,
                    },
                );
            }
            Some(DeploymentEvent::CharterSigned { signed_on }) => {
                if let Some(d) = self.deployments.get_mut(&id) {
                    d.charter_ends_on = Some(CharterTerm::of(signed_on, d.school_year).ends_on);
                }
            }
            _ => {}
        }
    }

    /// The end of each school's charter in force: the latest of its deployments'.
    pub fn charter_ends(&self) -> HashMap<&Uai, NaiveDate> {
        let mut ends: HashMap<&Uai, NaiveDate> = HashMap::new();
        for d in self.deployments.values() {
            if let Some(end) = d.charter_ends_on {
                let latest = ends.entry(&d.school).or_insert(end);
                *latest = (*latest).max(end);
            }
        }
        ends
    }

    fn reminder(&mut self, event: &RecordedEvent) {
        let id = &event.stream_id[reminder::CATEGORY.len() + 1..];
        if let Some(key) = id.strip_prefix(reminder::RULE_PREFIX) {
            if let Some(
                RuleEvent::ReminderRuleDefined { rule, .. }
                | RuleEvent::ReminderRuleChanged { rule, .. },
            ) = decode(event)
            {
                self.rules.insert(key.to_owned(), rule);
            }
            return;
        }
        if let (Ok(id), Some(e)) = (Uuid::parse_str(id), decode::<ReminderEvent>(event)) {
            self.ledger_event(id, event.version, e, event.recorded_at);
        }
    }

    /// An event of a reminder's ledger, from the log or written through by the engine
    /// right after its append (the log delivers it again later: skipped by version).
    pub fn record(&mut self, id: Uuid, version: i64, event: ReminderEvent, at: DateTime<Utc>) {
        let stream = format!("{}-{id}", reminder::CATEGORY);
        let seen = self.seen.entry(stream).or_insert(0);
        if version <= *seen {
            return;
        }
        *seen = version;
        self.ledger_event(id, version, event, at);
    }

    fn ledger_event(&mut self, id: Uuid, version: i64, e: ReminderEvent, at: DateTime<Utc>) {
        if let ReminderEvent::ReminderScheduled { key, due_at, why } = e {
            self.ledger.insert(
                id,
                Ledger {
                    key,
                    due_at,
                    status: Status::Claimed { attempt: 1, at },
                    version,
                    reason: why,
                    scheduled_at: at,
                    updated_at: at,
                },
            );
            return;
        }
        let Some(ledger) = self.ledger.get_mut(&id) else {
            return;
        };
        ledger.version = version;
        ledger.updated_at = at;
        match &e {
            ReminderEvent::ReminderSent { answer, .. }
            | ReminderEvent::ReminderFailed { answer, .. } => ledger.reason.clone_from(answer),
            ReminderEvent::ReminderSuppressed { detail, .. } => ledger.reason.clone_from(detail),
            ReminderEvent::ReminderCancelled { reason } => ledger.reason.clone_from(reason),
            ReminderEvent::ReminderScheduled { .. } | ReminderEvent::ReminderRetried { .. } => {}
        }
        ledger.status = match e {
            ReminderEvent::ReminderScheduled { .. } => return,
            ReminderEvent::ReminderSent { .. } => Status::Sent,
            ReminderEvent::ReminderFailed {
                permanent: true, ..
            } => Status::FailedPermanently,
            ReminderEvent::ReminderFailed {
                attempt, retry_at, ..
            } => Status::Failing {
                attempt,
                retry_at: retry_at.unwrap_or(at),
            },
            ReminderEvent::ReminderRetried { attempt } => Status::Claimed { attempt, at },
            ReminderEvent::ReminderSuppressed { .. } => Status::Suppressed,
            ReminderEvent::ReminderCancelled { .. } => Status::Cancelled,
        };
    }

    /// Every national day known: computed from the shipped return days, or set by the pole.
    pub fn national_day_dates(&self) -> Vec<NationalDayDates> {
        let mut years: Vec<SchoolYear> =
            known_national_days().into_iter().map(|(y, _)| y).collect();
        years.extend(self.national_days.keys().copied());
        years.sort_unstable();
        years.dedup();
        years
            .into_iter()
            .filter_map(|year| {
                let overrides = self.national_days.get(&year).copied().unwrap_or_default();
                NationalDayDates::of(year, &overrides)
            })
            .collect()
    }

    /// The e-mail of a person, and whether they are still concerned: for a session's
    /// reminder their registration's (confirmed), else their account's (active).
    pub fn email_of(&self, person: Uuid, target_session: Option<Uuid>) -> Option<(Sealed, bool)> {
        if let Some(r) = target_session
            .and_then(|s| self.sessions.get(&s))
            .and_then(|session| {
                session
                    .registrations
                    .values()
                    .find(|r| r.registrant.person.0 == person)
            })
        {
            return Some((r.registrant.email.clone(), r.confirmed));
        }
        self.accounts
            .get(&person)
            .map(|a| (a.email.clone(), a.active))
    }

    /// The sealed name of a reminder's recipient: their registration's for a session's
    /// reminder, else their account's.
    pub fn name_of(&self, person: Uuid, target: &str) -> Option<Sealed> {
        let registration = target
            .strip_prefix("training_session-")
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| self.sessions.get(&id))
            .and_then(|session| {
                session
                    .registrations
                    .values()
                    .find(|r| r.registrant.person.0 == person)
            });
        if let Some(r) = registration {
            return Some(r.registrant.display_name.clone());
        }
        if let Some(a) = self.accounts.get(&person) {
            return Some(a.display_name.clone());
        }
        // A registrant whose registration was withdrawn since: any session's.
        self.sessions
            .values()
            .flat_map(|s| s.registrations.values())
            .find(|r| r.registrant.person.0 == person)
            .map(|r| r.registrant.display_name.clone())
    }

    /// The school and the department a reminder's target belongs to, when it belongs to
    /// one (an academy-wide training belongs to none).
    pub fn place_of(&self, target: &str) -> (Option<Uai>, Option<DepartmentCode>) {
        let school = target
            .split(':')
            .find_map(|part| part.strip_prefix("school-"))
            .and_then(|uai| Uai::parse(uai).ok());
        if let Some(uai) = school {
            let department = self.schools.get(&uai).map(|s| s.department.clone());
            return (Some(uai), department);
        }
        if let Some(session) = target
            .strip_prefix("training_session-")
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| self.sessions.get(&id))
        {
            return (None, session.department.clone());
        }
        let account = target
            .strip_prefix("user-")
            .and_then(|rest| rest.split(':').next())
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| self.accounts.get(&id));
        match account.and_then(|a| Some((a.role, a.scope.clone()?))) {
            Some((Role::School, uai)) => match Uai::parse(&uai) {
                Ok(uai) => {
                    let department = self.schools.get(&uai).map(|s| s.department.clone());
                    (Some(uai), department)
                }
                Err(_) => (None, None),
            },
            Some((Role::DepartmentReferent, code)) => (None, DepartmentCode::parse(&code).ok()),
            _ => (None, None),
        }
    }

    /// The active accounts holding each (role, scope), primary or granted, each list
    /// sorted: built once per rule evaluated, rather than a scan of every account per
    /// school (60,000 schools would make that quadratic).
    pub fn accounts_by_scope(&self) -> HashMap<(Role, &str), Vec<Uuid>> {
        let mut index: HashMap<(Role, &str), Vec<Uuid>> = HashMap::new();
        for (id, account) in self.accounts.iter().filter(|(_, a)| a.active) {
            let held = std::iter::once((account.role, account.scope.as_deref()))
                .chain(account.grants.iter().map(|(r, s)| (*r, s.as_deref())));
            for (role, scope) in held {
                if let Some(scope) = scope {
                    index.entry((role, scope)).or_default().push(*id);
                }
            }
        }
        for ids in index.values_mut() {
            ids.sort_unstable();
            ids.dedup();
        }
        index
    }

    /// The active accounts of a school.
    pub fn school_accounts(&self, uai: &Uai) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .accounts
            .iter()
            .filter(|(_, a)| a.active && a.holds(Role::School, uai.as_str()))
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The active referents of a department.
    pub fn department_referents(&self, department: &DepartmentCode) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .accounts
            .iter()
            .filter(|(_, a)| a.active && a.holds(Role::DepartmentReferent, department.as_str()))
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Schools with a reported national-day action in `year`.
    pub fn schools_with_reported_action(&self, year: SchoolYear) -> HashSet<&Uai> {
        self.actions
            .values()
            .filter(|a| a.reported && a.school_year == year && a.campaign == Campaign::NationalDay)
            .flat_map(|a| a.schools.iter())
            .collect()
    }

    /// Schools holding a draft entry in edition `contest`.
    pub fn schools_with_draft_entry(&self, contest: Uuid) -> HashSet<&Uai> {
        self.entries
            .values()
            .filter(|e| e.draft && e.contest_id == contest)
            .map(|e| &e.school)
            .collect()
    }
}
