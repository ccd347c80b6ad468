//! The indicator projections of DOMAIN.md §Indicators: one [`Descriptor`] per group, each
//! with its own definition version, its own tables (`rm_ind_*_<generation>`), the
//! categories it needs only, and its own generation and checkpoint, so that a changed
//! definition (what counts as « trained », say) rebuilds that group's tables only.
//!
//! Past states are kept, not recomputed: a *fact* table holds, for each subject (a
//! deployment, a cohort, a label application, a session, a registration), one row per
//! period its facts held — `valid_from` (the instant the event was recorded, UTC RFC 3339
//! with microseconds, so that text order is time order) and `valid_to` (`NULL` while
//! current). An event that changes a subject's facts closes its open row and opens a new
//! one ([`change`]); the dashboard reads the rows valid at its `asOf` and aggregates them
//! in SQL, with no replay. Side tables (`rm_ind_team_trained`, `rm_ind_registrations`…)
//! hold the current state a fact is computed from; they are never read at an `asOf`.
//!
//! Rules come from the shared crates (`pharos_domain::compliance` for pHARe's thresholds
//! and the charter's term), never from a service crate.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use pharos_domain::compliance::CharterTerm;
use pharos_events::cohort::{ClassLevel, CohortEvent};
use pharos_events::contest::{AwardKind, ContestEvent, EntryEvent};
use pharos_events::national_day::{ActionDetails, ActionEvent};
use pharos_events::phare::{DeploymentEvent, DeploymentOwner, LabelEvent, SchoolYear};
use pharos_events::reminder::{RULE_PREFIX, ReminderEvent};
use pharos_events::training::{AttendanceStatus, SessionEvent, TrainingEvent};
use pharos_events::{cohort, contest, decode, national_day, phare, reminder, training};
use pharos_eventstore::{Projection, ProjectionError, ProjectionTx, RecordedEvent};

use std::collections::HashMap;

use crate::batch::{Batch, FactRow, Value as V};
use crate::projector::ident;
use crate::reminders::target_parts;
use crate::tables::{Descriptor, Generation, Kind};

/// One indicator group of DOMAIN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// 1. Resource teams with at least 5 trained members.
    TrainedTeams,
    /// 2. Pupil and parent ambassadors.
    Ambassadors,
    /// 3. Labels by level.
    Labels,
    /// 4. pHARe steps: charter, protocol, learning hours, parent workshop.
    PhareSteps,
    /// 5. Journée nationale: actions, types, pupils reached, reports.
    NationalDay,
    /// 6. Contest: entries, participation, inadmissible entries and why, laureates.
    Contest,
    /// 8. Reminders pending or failed (the rest of group 8 reads groups 1, 5 and 6).
    Reminders,
    /// 7. Trainings: sessions, hours, attendance, MPP, coverage.
    Trainings,
}

// COVERING: a department's dashboard looks each of its few hundred schools' facts up by
// school; the indexes it looks them up in carry every column it reads of them, so that
// the facts are found in the index alone (PostgreSQL's index-only scans) where the rows
// lie scattered over the whole table. At 60,000 schools, one department's contest
// entries took 7.5 ms by school and row against 2.3 ms from the index, its cohorts 5.3
// against 2.6 ms, its people trained in the MPP 24 against 4.5 ms. A school's facts are
// indexed by year first: a department's schools span a range of UAIs, scanned within
// the year asked, where led by the school the range held every year's facts (with three
// years, one department's national day read 112 index pages against 58, and the log
// adds a year each year); the whole academy's year reads its facts from the same index.

/// The columns every fact table starts with.
macro_rules! fact {
    ($columns:literal) => {
        concat!(
            "subject TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT, ",
            $columns,
            ", PRIMARY KEY (subject, valid_from)"
        )
    };
}

/// Group 1, trained resource teams: v1: a member counts when recorded as trained in pHARe
/// (`trained`), as the deployment's own compliance flag counts them. v2: the team's size
/// (`members`, trained or not) too, for group 8's undeclared teams.
pub static TRAINED_TEAMS: Descriptor = Descriptor {
    name: "indicator-trained-teams",
    definition: 2,
    tables: &[
        (
            "rm_ind_team_trained",
            "member_id TEXT PRIMARY KEY, deployment_id TEXT NOT NULL, trained BOOLEAN NOT NULL",
        ),
        (
            "rm_ind_teams",
            fact!(
                "school_year TEXT NOT NULL, school_uai TEXT, circonscription TEXT, \
                 department TEXT NOT NULL, trained BIGINT NOT NULL, members BIGINT NOT NULL"
            ),
        ),
    ],
    indexes: &[
        ("rm_ind_team_trained", "deployment_id"),
        ("rm_ind_teams", "school_year, valid_from"),
        // The dashboard's lookups: a school's team (with every column the dashboard reads
        // of it: see `COVERING`), a circonscription's. The latter leads with the
        // department, as the lookup does: on the circonscription alone PostgreSQL hashed
        // every team of the academy for a department's few circonscriptions (27 ms
        // against 3 ms for one department at 60,000 schools).
        (
            "rm_ind_teams",
            "school_year, school_uai, valid_from, valid_to, trained, members",
        ),
        ("rm_ind_teams", "department, circonscription, school_year"),
    ],
    // A deployment's team members, read to count its trained ones.
    applying: &[("rm_ind_team_trained", "deployment_id")],
    categories: &[phare::DEPLOYMENT_CATEGORY],
    kind: Kind::Indicator(Group::TrainedTeams),
};

/// Group 2, ambassadors: v1: the counts of cohorts declared (a draft does not count), pupils
/// (every class level) apart from parents.
pub static AMBASSADORS: Descriptor = Descriptor {
    name: "indicator-ambassadors",
    definition: 1,
    tables: &[(
        "rm_ind_cohorts",
        fact!(
            "school_uai TEXT NOT NULL, department TEXT NOT NULL, school_year TEXT NOT NULL, \
             kind TEXT NOT NULL, declared BOOLEAN NOT NULL, pupils BIGINT NOT NULL, \
             parents BIGINT NOT NULL"
        ),
    )],
    indexes: &[
        ("rm_ind_cohorts", "school_year, valid_from"),
        // A school's cohorts, covering (`COVERING`).
        (
            "rm_ind_cohorts",
            "school_year, school_uai, valid_from, valid_to, declared, kind, pupils, parents",
        ),
    ],
    applying: &[],
    categories: &[cohort::CATEGORY],
    kind: Kind::Indicator(Group::Ambassadors),
};

/// Group 3, labels: v1: applications with their status and the level awarded.
pub static LABELS: Descriptor = Descriptor {
    name: "indicator-labels",
    definition: 1,
    tables: &[(
        "rm_ind_labels",
        fact!(
            "school_uai TEXT NOT NULL, department TEXT NOT NULL, school_year TEXT NOT NULL, \
             target_level TEXT NOT NULL, status TEXT NOT NULL, awarded_level TEXT"
        ),
    )],
    indexes: &[
        ("rm_ind_labels", "school_year, valid_from"),
        // A school's applications, covering (`COVERING`).
        (
            "rm_ind_labels",
            "school_year, school_uai, valid_from, valid_to, status, awarded_level",
        ),
    ],
    applying: &[],
    categories: &[phare::LABEL_CATEGORY],
    kind: Kind::Indicator(Group::Labels),
};

/// Group 4, pHARe steps: v1: the charter's term (`CharterTerm`), the protocol's presentation
/// day, the learning hours planned, the first parent workshop's day.
pub static PHARE_STEPS: Descriptor = Descriptor {
    name: "indicator-phare-steps",
    definition: 1,
    tables: &[(
        "rm_ind_steps",
        fact!(
            "school_year TEXT NOT NULL, school_uai TEXT, circonscription TEXT, \
             department TEXT NOT NULL, charter_signed_on TEXT, charter_ends_on TEXT, \
             protocol_presented_on TEXT, learning_hours BIGINT, first_workshop_on TEXT"
        ),
    )],
    indexes: &[
        ("rm_ind_steps", "school_year, valid_from"),
        // A school's deployment, covering (`COVERING`).
        (
            "rm_ind_steps",
            "school_year, school_uai, valid_from, valid_to, charter_signed_on, \
             charter_ends_on, protocol_presented_on, learning_hours, first_workshop_on",
        ),
    ],
    applying: &[],
    categories: &[phare::DEPLOYMENT_CATEGORY],
    kind: Kind::Indicator(Group::PhareSteps),
};

/// Group 7, trainings: v1: a registrant attended when at least one slot is recorded present;
/// minutes delivered are the minutes credited to the attendees (slot by slot). v2: the same
/// figures; each attendee's period also carries its session's school year and whether the
/// session is cancelled (a new period when either changes), so that a school's coverage
/// reads its attendees alone, without looking each one's session up. v3: the same
/// figures; a school's coverage of each year (`rm_ind_coverage`: covered or not) and each
/// person trained in the MPP in a department (`rm_ind_mpp_trained`) are kept as periods
/// of their own, a new period only when that changes, counted from the attendees as they
/// change ([`Tally`]), so that the dashboard reads one row or two per school or person
/// where it read every period of every attendee; the attendees lose their two indexes by
/// school and year, which nothing reads any more.
pub static TRAININGS: Descriptor = Descriptor {
    name: "indicator-trainings",
    definition: 3,
    tables: &[
        (
            "rm_ind_training_topics",
            "id TEXT PRIMARY KEY, topic TEXT NOT NULL",
        ),
        (
            "rm_ind_registrations",
            "id TEXT PRIMARY KEY, session_id TEXT NOT NULL, status TEXT NOT NULL",
        ),
        (
            "rm_ind_slots",
            "registration_id TEXT NOT NULL, slot_index BIGINT NOT NULL, \
             present BOOLEAN NOT NULL, minutes BIGINT NOT NULL, \
             PRIMARY KEY (registration_id, slot_index)",
        ),
        (
            "rm_ind_sessions",
            fact!(
                "school_year TEXT NOT NULL, department TEXT, topic TEXT NOT NULL, \
                 status TEXT NOT NULL, planned_minutes BIGINT NOT NULL, \
                 registered BIGINT NOT NULL, attendees BIGINT NOT NULL, minutes BIGINT NOT NULL"
            ),
        ),
        (
            "rm_ind_attendees",
            fact!(
                "session_id TEXT NOT NULL, person TEXT NOT NULL, school_uai TEXT, \
                 minutes BIGINT NOT NULL, school_year TEXT, cancelled BOOLEAN NOT NULL"
            ),
        ),
        // How many of a school's attendees of a year count (`uai year`), how many of a
        // person's attendances of the MPP in a department (`department person`): current
        // state, which the periods follow ([`Tally`]).
        (
            "rm_ind_attendance_counts",
            "subject TEXT PRIMARY KEY, attendees BIGINT NOT NULL",
        ),
        (
            "rm_ind_coverage",
            fact!("school_uai TEXT NOT NULL, school_year TEXT NOT NULL, covered BOOLEAN NOT NULL"),
        ),
        (
            "rm_ind_mpp_attendances",
            "subject TEXT PRIMARY KEY, attendees BIGINT NOT NULL",
        ),
        (
            "rm_ind_mpp_trained",
            fact!("department TEXT, person TEXT NOT NULL, trained BOOLEAN NOT NULL"),
        ),
    ],
    indexes: &[
        ("rm_ind_registrations", "session_id"),
        ("rm_ind_sessions", "school_year, valid_from"),
        // A session's attendees, and a school's, with every column the dashboard reads
        // of them: found in the index alone, where the rows lie scattered over the whole
        // table (at 60,000 schools, one department's people trained in the MPP took
        // 24 ms reading the rows, 4.5 ms from the index).
        (
            "rm_ind_attendees",
            "session_id, valid_from, valid_to, minutes, person",
        ),
        // A department's sessions, covering (`COVERING`): its figures of the year, its
        // sessions of the MPP (7.7 → 4.9 ms for one department at 60,000 schools).
        (
            "rm_ind_sessions",
            "department, school_year, valid_from, valid_to, status, topic, subject, \
             registered, attendees, minutes",
        ),
        // A session by its key, covering (`COVERING`): what the people trained in the
        // MPP are joined to (its topic, its state).
        (
            "rm_ind_sessions",
            "subject, valid_from, valid_to, school_year, status, topic",
        ),
        // A school's coverage, covering (`COVERING`); the year's, for the whole academy.
        (
            "rm_ind_coverage",
            "school_year, school_uai, valid_from, valid_to, covered",
        ),
        (
            "rm_ind_coverage",
            "school_year, valid_from, valid_to, covered, school_uai",
        ),
        // A department's people trained in the MPP, covering (`COVERING`).
        (
            "rm_ind_mpp_trained",
            "department, valid_from, valid_to, trained, person",
        ),
    ],
    // A batch's sessions' registrations and open attendees, read before its events.
    applying: &[
        ("rm_ind_registrations", "session_id"),
        (
            "rm_ind_attendees",
            "session_id, valid_from, valid_to, minutes, person",
        ),
    ],
    categories: &[training::TRAINING_CATEGORY, training::SESSION_CATEGORY],
    kind: Kind::Indicator(Group::Trainings),
};

/// Group 5, national day: v1: the actions of the national-day campaign, their schools
/// (`,uai,` joined, so that SQL finds a school in them), types, pupils reached, whether
/// held, and their status (a report is received once submitted). v2: the same figures,
/// each action's period also one row per school it names (`rm_ind_action_schools`), so
/// that a department's schools find their actions through an index of their own.
pub static NATIONAL_DAY: Descriptor = Descriptor {
    name: "indicator-national-day",
    definition: 2,
    tables: &[
        (
            "rm_ind_actions",
            fact!(
                "school_year TEXT NOT NULL, campaign TEXT NOT NULL, schools TEXT NOT NULL, \
                 types TEXT NOT NULL, pupils_reached BIGINT NOT NULL, held BOOLEAN NOT NULL, \
                 status TEXT NOT NULL"
            ),
        ),
        // Derived from `rm_ind_actions` in the batch that changes it (`action_schools`):
        // each period of an action (`subject`, `valid_from`), once per school it names.
        (
            "rm_ind_action_schools",
            "subject TEXT NOT NULL, valid_from TEXT NOT NULL, school_uai TEXT NOT NULL, \
             valid_to TEXT, school_year TEXT NOT NULL, campaign TEXT NOT NULL, \
             types TEXT NOT NULL, pupils_reached BIGINT NOT NULL, held BOOLEAN NOT NULL, \
             status TEXT NOT NULL, PRIMARY KEY (subject, valid_from, school_uai)",
        ),
    ],
    indexes: &[
        ("rm_ind_actions", "school_year, valid_from"),
        // A school's actions, with every column the dashboard reads of them (the action
        // too, which an action naming two schools of a department counts once): found
        // in the index alone (a department's few hundred schools read a few index pages
        // each, where the actions' own rows lie scattered over the whole table).
        (
            "rm_ind_action_schools",
            "school_year, school_uai, valid_from, valid_to, campaign, status, held, \
             pupils_reached, types, subject",
        ),
    ],
    applying: &[],
    categories: &[national_day::ACTION_CATEGORY],
    kind: Kind::Indicator(Group::NationalDay),
};

/// Group 6, contest: v1: each edition's school year, submission deadline, whether its
/// results are published and its campaign closed (`rm_ind_editions`); the deadline
/// extensions granted to schools (`rm_ind_extensions`, from the instant granted); each
/// entry's edition year, school, status (`draft`, `submitted`, `withdrawn`, `admissible`,
/// `inadmissible`), the inadmissibility reason (trimmed) and whether it holds the
/// laureate award (granted, not revoked).
pub static CONTEST: Descriptor = Descriptor {
    name: "indicator-contest",
    definition: 1,
    tables: &[
        (
            "rm_ind_editions",
            fact!(
                "school_year TEXT NOT NULL, submission_deadline TEXT NOT NULL, \
                 published BOOLEAN NOT NULL, closed BOOLEAN NOT NULL"
            ),
        ),
        (
            "rm_ind_extensions",
            "edition_id TEXT NOT NULL, school_uai TEXT NOT NULL, granted_at TEXT NOT NULL, \
             until TEXT NOT NULL, PRIMARY KEY (edition_id, school_uai, granted_at)",
        ),
        (
            "rm_ind_entries",
            fact!(
                "contest_id TEXT NOT NULL, school_year TEXT NOT NULL, school_uai TEXT NOT NULL, \
                 department TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, \
                 laureate BOOLEAN NOT NULL"
            ),
        ),
    ],
    indexes: &[
        ("rm_ind_editions", "school_year, valid_from"),
        ("rm_ind_entries", "school_year, valid_from"),
        // A school's entries, covering (`COVERING`), the inadmissibility reason last:
        // a department's totals, participation and reasons are read in one pass over its
        // schools' entries (`Dashboard::contest_narrow`), and a reason only an
        // inadmissible entry carries. Without it in the index, that pass read every entry's
        // row for the few reasons: 6.6 ms for one department at 60,000 schools.
        (
            "rm_ind_entries",
            "school_year, school_uai, valid_from, valid_to, status, laureate, contest_id, reason",
        ),
    ],
    applying: &[],
    categories: &[contest::EDITION_CATEGORY, contest::ENTRY_CATEGORY],
    kind: Kind::Indicator(Group::Contest),
};

/// Group 8's reminders: v1: each reminder of the ledger (`reminder-<id>`; the rules'
/// streams are not reminders), its rule, the school year of its occurrence date, the
/// school or the training session its target names (`school-<uai>…`,
/// `contest-<id>:school-<uai>`, `training_session-<id>`), and its state: `pending`
/// (scheduled, or failed for now and to be retried), `sent`, `failed` (for good),
/// `suppressed` or `cancelled`.
pub static REMINDERS: Descriptor = Descriptor {
    name: "indicator-reminders",
    definition: 1,
    tables: &[(
        "rm_ind_reminders",
        fact!(
            "rule TEXT NOT NULL, school_year TEXT NOT NULL, school_uai TEXT, session_id TEXT, \
             state TEXT NOT NULL"
        ),
    )],
    indexes: &[
        ("rm_ind_reminders", "school_year, valid_from"),
        ("rm_ind_reminders", "school_uai"),
        ("rm_ind_reminders", "session_id"),
    ],
    applying: &[],
    categories: &[reminder::CATEGORY],
    kind: Kind::Indicator(Group::Reminders),
};

/// Every indicator projection.
pub static DESCRIPTORS: [&Descriptor; 8] = [
    &TRAINED_TEAMS,
    &AMBASSADORS,
    &LABELS,
    &PHARE_STEPS,
    &NATIONAL_DAY,
    &CONTEST,
    &TRAININGS,
    &REMINDERS,
];

/// The projection of one indicator group into the tables of one generation.
pub struct Indicators {
    descriptor: &'static Descriptor,
    group: Group,
    generation: Generation,
    checkpoint: String,
    categories: Vec<String>,
}

impl Indicators {
    pub fn new(descriptor: &'static Descriptor, group: Group, generation: Generation) -> Self {
        Self {
            descriptor,
            group,
            generation,
            checkpoint: descriptor.checkpoint(generation),
            categories: descriptor
                .categories
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
        }
    }
}

impl Projection for Indicators {
    fn name(&self) -> &str {
        &self.checkpoint
    }

    fn categories(&self) -> &[String] {
        &self.categories
    }

    async fn apply(
        &self,
        tx: &mut ProjectionTx<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let (tables, g) = (self.descriptor, self.generation);
        let mut batch = Batch::begin(tx, move |statement| tables.rename(g, statement)).await?;
        let b = &mut batch;
        let (mut sessions, mut teams) = (Sessions::new(), Teams::new());
        let mut tallies = Tallies::default();
        // The open facts of the batch's subjects, one statement per table for them all.
        // Read one by one as their events come, each cost a round trip, and each read
        // wrote first what was queued for its table (the rows opened in SQL), one subject
        // at a time: a rebuild's batch of 10,000 deployment events sent 3,437 statements
        // for group 1, now 4.
        for (table, category) in preloaded(self.group) {
            let mut keys: Vec<String> = events
                .iter()
                .filter(|e| e.category == *category)
                .map(|e| stream_key(e).to_owned())
                .collect();
            keys.sort_unstable();
            keys.dedup();
            b.load_facts_of(table, definition(self.descriptor, table), "subject", &keys)
                .await?;
        }
        if self.group == Group::TrainedTeams {
            let keys = events.iter().map(|e| stream_key(e).to_owned()).collect();
            read_teams(b, &mut teams, keys).await?;
        }
        if self.group == Group::Trainings {
            let keys = events
                .iter()
                .filter(|e| e.category == training::SESSION_CATEGORY)
                .map(|e| stream_key(e).to_owned())
                .collect();
            read_sessions(b, &mut sessions, keys).await?;
        }
        for event in events {
            let on = On {
                tables: self.descriptor,
                subject: stream_key(event).to_owned(),
                at: instant(event.recorded_at),
            };
            match self.group {
                Group::TrainedTeams | Group::PhareSteps => {
                    if let Some(e) = decode::<DeploymentEvent>(event) {
                        if self.group == Group::TrainedTeams {
                            trained_teams(b, &on, e, &mut teams).await?;
                        } else {
                            phare_steps(b, &on, e).await?;
                        }
                    }
                }
                Group::Ambassadors => {
                    if let Some(e) = decode::<CohortEvent>(event) {
                        ambassadors(b, &on, e).await?;
                    }
                }
                // The category also holds each year's label criteria
                // (`phare_label-criteria-<year>`): not an application.
                Group::Labels if uuid::Uuid::parse_str(&on.subject).is_ok() => {
                    if let Some(e) = decode::<LabelEvent>(event) {
                        labels(b, &on, e).await?;
                    }
                }
                Group::Labels => {}
                Group::NationalDay => {
                    if let Some(e) = decode::<ActionEvent>(event) {
                        national_day_action(b, &on, e).await?;
                    }
                }
                Group::Contest if event.category == contest::EDITION_CATEGORY => {
                    if let Some(e) = decode::<ContestEvent>(event) {
                        contest_edition(b, &on, e).await?;
                    }
                }
                Group::Contest => {
                    if let Some(e) = decode::<EntryEvent>(event) {
                        contest_entry(b, &on, e).await?;
                    }
                }
                Group::Reminders if on.subject.starts_with(RULE_PREFIX) => {}
                Group::Reminders => {
                    if let Some(e) = decode::<ReminderEvent>(event) {
                        reminders(b, &on, e).await?;
                    }
                }
                Group::Trainings if event.category == training::TRAINING_CATEGORY => {
                    if let Some(TrainingEvent::TrainingCreated { topic, .. }) = decode(event) {
                        on.run(
                            b,
                            "INSERT INTO rm_ind_training_topics (id, topic) VALUES ($1, $2) \
                             ON CONFLICT (id) DO NOTHING",
                            vec![V::text(&on.subject), V::text(ident(&topic))],
                        )
                        .await?;
                    }
                }
                Group::Trainings => {
                    if let Some(e) = decode::<SessionEvent>(event) {
                        trainings(b, &on, e, &mut sessions, &mut tallies).await?;
                    }
                }
            }
        }
        tallies.write(b).await?;
        batch.flush().await?;
        if self.group == Group::NationalDay {
            action_schools(&mut batch, events).await?;
        }
        tracing::trace!(
            projection = self.descriptor.name,
            events = events.len(),
            statements = batch.sent(),
            "indicator batch written"
        );
        Ok(())
    }
}

/// The fact tables keyed by the stream whose events change them (`subject` = the stream's
/// id), with that stream's category, read for a whole batch before its events: the
/// trainings' are read with their registrations ([`read_sessions`]).
fn preloaded(group: Group) -> &'static [(&'static str, &'static str)] {
    match group {
        Group::TrainedTeams => &[("rm_ind_teams", phare::DEPLOYMENT_CATEGORY)],
        Group::PhareSteps => &[("rm_ind_steps", phare::DEPLOYMENT_CATEGORY)],
        Group::Ambassadors => &[("rm_ind_cohorts", cohort::CATEGORY)],
        Group::Labels => &[("rm_ind_labels", phare::LABEL_CATEGORY)],
        Group::NationalDay => &[("rm_ind_actions", national_day::ACTION_CATEGORY)],
        Group::Contest => &[
            ("rm_ind_editions", contest::EDITION_CATEGORY),
            ("rm_ind_entries", contest::ENTRY_CATEGORY),
        ],
        Group::Reminders => &[("rm_ind_reminders", reminder::CATEGORY)],
        Group::Trainings => &[],
    }
}

/// An instant as the indicator tables hold it (and as `asOf` is compared with them).
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The id part of `category-id`.
fn stream_key(event: &RecordedEvent) -> &str {
    event
        .stream_id
        .get(event.category.len() + 1..)
        .unwrap_or_default()
}

/// A day as the tables hold it.
fn date(value: Option<NaiveDate>) -> V {
    V::Text(value.map(|d| d.to_string()))
}

/// The event being applied: its subject (the stream's id), its instant, and where its
/// group's tables are.
struct On {
    tables: &'static Descriptor,
    subject: String,
    at: String,
}

impl On {
    /// `statement` on this generation's tables, with `binds` as `$1, $2…`: queued when it
    /// is an upsert ([`Batch`]).
    async fn run(
        &self,
        b: &mut Batch<'_, '_>,
        statement: &str,
        binds: Vec<V>,
    ) -> Result<(), ProjectionError> {
        if statement.starts_with("INSERT INTO ") && statement.contains(" VALUES (") {
            b.upsert(statement, binds).await
        } else {
            b.execute(statement, binds).await
        }
    }

    /// Opens the first row of this subject's facts in `table`: `columns` after the
    /// subject and its validity, `values` their binds (from `$3`). An event replayed
    /// changes nothing.
    async fn open(
        &self,
        b: &mut Batch<'_, '_>,
        table: &str,
        columns: &str,
        values: Vec<V>,
    ) -> Result<(), ProjectionError> {
        let placeholders = (0..values.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let statement = format!(
            "INSERT INTO {table} (subject, valid_from, {columns}) \
             VALUES ($1, $2, {placeholders}) ON CONFLICT (subject, valid_from) DO NOTHING"
        );
        // In memory when the batch knows the subject has no row yet.
        if let Some((table, definition)) = self.table(table) {
            let names: Vec<&str> = columns.split(',').map(str::trim).collect();
            if b.open_fact(table, definition, &self.subject, &self.at, &names, &values) {
                return Ok(());
            }
        }
        let mut binds = vec![V::text(&self.subject), V::text(&self.at)];
        binds.extend(values);
        b.forget_fact(table, &self.subject).await?;
        self.run(b, &statement, binds).await
    }

    /// `table` of this group, with its definition.
    fn table(&self, table: &str) -> Option<(&'static str, &'static str)> {
        self.tables
            .tables
            .iter()
            .find(|(name, _)| *name == table)
            .copied()
    }

    /// A change of this subject's facts in `table` from this event's instant: the open
    /// row is closed and a copy opened, then `set` (placeholders from `$2`, its values
    /// `values`) applied to the copy. Several events of one instant change one row. `set`
    /// must give values, not steps (`trained = (SELECT COUNT …)`, never `n = n + 1`),
    /// so that the result does not depend on whether a copy was made.
    async fn change(
        &self,
        b: &mut Batch<'_, '_>,
        table: &str,
        set: &str,
        values: Vec<V>,
    ) -> Result<(), ProjectionError> {
        let Some((table, definition)) = self.table(table) else {
            return Err(format!("{table} is not a table of {}", self.tables.name).into());
        };
        // Values, not expressions: changed in memory (`Batch::change_fact`).
        if let Some(given) = given_values(set, &values) {
            return b
                .change_fact(table, definition, &self.subject, &self.at, |row| {
                    for (column, value) in given {
                        row.set(&column, value);
                    }
                })
                .await;
        }
        let rest_columns: Vec<&str> = crate::tables::columns(definition)
            .into_iter()
            .filter(|c| !["subject", "valid_from", "valid_to"].contains(c))
            .collect();
        let rest = rest_columns.join(", ");
        let both = [V::text(&self.subject), V::text(&self.at)];
        // A row opened earlier: copy it from now, close it. (A row opened at this very
        // instant, or later — PostgreSQL stamps a transaction's start, so the log's order
        // and the instants' may differ by a few milliseconds — is changed in place.)
        if b.is_postgres() {
            // One statement, one round trip: the row closed gives its copy, written with
            // `set` applied (its expressions read the closed row as the UPDATE's would
            // read the open one); a row opened at this instant or later is updated. The
            // two never meet one row, so the statement's single snapshot is enough.
            let assignments = assignments(set);
            let copied = rest_columns
                .iter()
                .map(|column| {
                    assignments
                        .iter()
                        .find(|(name, _)| name == column)
                        .map_or_else(|| (*column).to_owned(), |(_, value)| shift(value))
                })
                .collect::<Vec<_>>()
                .join(", ");
            let mut binds = both.to_vec();
            binds.extend(values);
            return self
                .run(
                    b,
                    &format!(
                        "WITH closed AS (UPDATE {table} SET valid_to = $2 \
                         WHERE subject = $1 AND valid_to IS NULL AND valid_from < $2 \
                         RETURNING subject, {rest}), \
                         copied AS (INSERT INTO {table} (subject, valid_from, valid_to, {rest}) \
                         SELECT subject, $2, CAST(NULL AS TEXT), {copied} FROM closed) \
                         UPDATE {table} SET {set} \
                         WHERE subject = $1 AND valid_to IS NULL AND valid_from >= $2",
                        set = shift(set),
                    ),
                    binds,
                )
                .await;
        }
        // SQLite: the copy, the close, then `set`.
        self.run(
            b,
            &format!(
                "INSERT INTO {table} (subject, valid_from, valid_to, {rest}) \
                 SELECT subject, $2, CAST(NULL AS TEXT), {rest} FROM {table} \
                 WHERE subject = $1 AND valid_to IS NULL AND valid_from < $2"
            ),
            both.to_vec(),
        )
        .await?;
        self.run(
            b,
            &format!(
                "UPDATE {table} SET valid_to = $2 \
                 WHERE subject = $1 AND valid_to IS NULL AND valid_from < $2"
            ),
            both.to_vec(),
        )
        .await?;
        let mut binds = vec![V::text(&self.subject)];
        binds.extend(values);
        self.run(
            b,
            &format!("UPDATE {table} SET {set} WHERE subject = $1 AND valid_to IS NULL"),
            binds,
        )
        .await
    }
}

/// The `column = value` pairs of an UPDATE's `SET` list, split at its top-level commas.
fn assignments(set: &str) -> Vec<(String, String)> {
    crate::batch::split_top(set)
        .into_iter()
        .filter_map(|part| {
            let (column, value) = part.split_once('=')?;
            Some((column.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// The values `set` gives its columns, when each is a bind (`$n`, `values[n - 2]`) or a
/// plain text literal; `None` when one is an expression.
fn given_values(set: &str, values: &[V]) -> Option<Vec<(String, V)>> {
    assignments(set)
        .into_iter()
        .map(|(column, value)| {
            let given = if let Some(n) = value.strip_prefix('$') {
                values
                    .get(n.parse::<usize>().ok()?.checked_sub(2)?)?
                    .clone()
            } else {
                let text = value.strip_prefix('\'')?.strip_suffix('\'')?;
                if text.contains('\'') {
                    return None;
                }
                V::text(text)
            };
            Some((column, given))
        })
        .collect()
}

/// `sql` with its placeholders from `$2` moved one up, for a statement whose `$2` is the
/// instant (`$1`, the subject, stays).
fn shift(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 4);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<u32>() {
            Ok(n) if n >= 2 => out.push_str(&(n + 1).to_string()),
            _ => out.push_str(&digits),
        }
    }
    out
}

/// The school or circonscription owning a deployment, and its department.
fn owner(owner: &DeploymentOwner) -> (V, V, V) {
    match owner {
        DeploymentOwner::School { uai, .. } => (
            V::text(uai.to_string()),
            V::Text(None),
            V::text(owner.department().to_string()),
        ),
        DeploymentOwner::Circonscription {
            circonscription, ..
        } => (
            V::Text(None),
            V::text(circonscription.clone()),
            V::text(owner.department().to_string()),
        ),
    }
}

/// The members of the teams of a batch's deployments (member → trained), as
/// `rm_ind_team_trained` holds them: read once per batch, then kept as the batch's
/// events change them, so that a team's figures are counted in memory.
type Teams = HashMap<String, HashMap<String, bool>>;

/// The members of the deployment `on` is about.
async fn team<'t>(
    b: &mut Batch<'_, '_>,
    teams: &'t mut Teams,
    deployment: &str,
) -> Result<&'t mut HashMap<String, bool>, ProjectionError> {
    if !teams.contains_key(deployment) {
        read_teams(b, teams, vec![deployment.to_owned()]).await?;
    }
    Ok(teams.entry(deployment.to_owned()).or_default())
}

/// Reads into memory, in one statement, the members of the deployments `keys` not held
/// yet (a deployment without any is held empty).
async fn read_teams(
    b: &mut Batch<'_, '_>,
    teams: &mut Teams,
    mut keys: Vec<String>,
) -> Result<(), ProjectionError> {
    keys.sort_unstable();
    keys.dedup();
    keys.retain(|key| !teams.contains_key(key));
    if keys.is_empty() {
        return Ok(());
    }
    let rows: Vec<(String, String, bool)> = b
        .read_all_of(
            "SELECT deployment_id, member_id, trained FROM rm_ind_team_trained \
             WHERE deployment_id = ANY($1)",
            &keys,
        )
        .await?;
    for key in keys {
        teams.entry(key).or_default();
    }
    for (deployment, member, trained) in rows {
        teams.entry(deployment).or_default().insert(member, trained);
    }
    Ok(())
}

async fn trained_teams(
    b: &mut Batch<'_, '_>,
    on: &On,
    event: DeploymentEvent,
    teams: &mut Teams,
) -> Result<(), ProjectionError> {
    let (member, trained) = match event {
        DeploymentEvent::DeploymentCreated {
            owner: who,
            school_year,
        } => {
            let (uai, circonscription, department) = owner(&who);
            return on
                .open(
                    b,
                    "rm_ind_teams",
                    "school_year, school_uai, circonscription, department, trained, members",
                    vec![
                        V::text(school_year.to_string()),
                        uai,
                        circonscription,
                        department,
                        V::Int(Some(0)),
                        V::Int(Some(0)),
                    ],
                )
                .await;
        }
        DeploymentEvent::TeamMemberAdded(member) => (member.member_id, Some(member.trained)),
        DeploymentEvent::TeamMemberUpdated { member_id, details } => {
            (member_id, Some(details.trained))
        }
        DeploymentEvent::TeamMemberRemoved { member_id } => (member_id, None),
        _ => return Ok(()),
    };
    let id = member.to_string();
    let members = team(b, teams, &on.subject).await?;
    match trained {
        Some(trained) => {
            members.insert(id.clone(), trained);
            on.run(
                b,
                "INSERT INTO rm_ind_team_trained (member_id, deployment_id, trained) \
                 VALUES ($1, $2, $3) ON CONFLICT (member_id) DO UPDATE SET \
                 trained = excluded.trained",
                vec![V::text(id), V::text(&on.subject), V::Bool(trained)],
            )
            .await?;
        }
        None => {
            members.remove(&id);
            on.run(
                b,
                "DELETE FROM rm_ind_team_trained WHERE member_id = $1",
                vec![V::text(id)],
            )
            .await?;
        }
    }
    let members = team(b, teams, &on.subject).await?;
    let count = |n: usize| V::Int(Some(i64::try_from(n).unwrap_or(i64::MAX)));
    let (trained, all) = (
        count(members.values().filter(|t| **t).count()),
        count(members.len()),
    );
    // Member ids are the deployment's own: its rows are all its members.
    b.change_fact(
        "rm_ind_teams",
        definition(&TRAINED_TEAMS, "rm_ind_teams"),
        &on.subject,
        &on.at,
        |row| {
            row.set("trained", trained);
            row.set("members", all);
        },
    )
    .await
}

async fn phare_steps(
    b: &mut Batch<'_, '_>,
    on: &On,
    event: DeploymentEvent,
) -> Result<(), ProjectionError> {
    match event {
        DeploymentEvent::DeploymentCreated {
            owner: who,
            school_year,
        } => {
            let (uai, circonscription, department) = owner(&who);
            on.open(
                b,
                "rm_ind_steps",
                "school_year, school_uai, circonscription, department",
                vec![
                    V::text(school_year.to_string()),
                    uai,
                    circonscription,
                    department,
                ],
            )
            .await
        }
        DeploymentEvent::CharterSigned { signed_on } => {
            // The term depends on the deployment's year, which the row holds: both ends
            // are computed here, by the domain's rule, once the year is read back.
            let year = deployment_year(b, on).await?;
            let term = year.map(|year| CharterTerm::of(signed_on, year));
            on.change(
                b,
                "rm_ind_steps",
                "charter_signed_on = $2, charter_ends_on = $3",
                vec![date(Some(signed_on)), date(term.map(|t| t.ends_on))],
            )
            .await
        }
        DeploymentEvent::ProtocolRecorded { presented_on, .. } => {
            on.change(
                b,
                "rm_ind_steps",
                "protocol_presented_on = $2",
                vec![date(presented_on)],
            )
            .await
        }
        DeploymentEvent::LearningHoursPlanned { planned, hours } => {
            on.change(
                b,
                "rm_ind_steps",
                "learning_hours = $2",
                vec![V::Int(planned.then_some(i64::from(hours)))],
            )
            .await
        }
        DeploymentEvent::ParentWorkshopRecorded { held_on, .. } => {
            // The earliest workshop: a later one recorded changes nothing it flags.
            let first = steps_value(b, on, "first_workshop_on")
                .await?
                .and_then(|day| NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok())
                .map_or(held_on, |first| first.min(held_on));
            on.change(
                b,
                "rm_ind_steps",
                "first_workshop_on = $2",
                vec![date(Some(first))],
            )
            .await
        }
        _ => Ok(()),
    }
}

/// The one text `statement` (on this generation's tables) answers for `bind`, if any.
async fn scalar(
    b: &mut Batch<'_, '_>,
    statement: &str,
    bind: &str,
) -> Result<Option<String>, ProjectionError> {
    b.text(statement, bind).await
}

/// The text `column` of `subject`'s open row in the fact table `table` of `group`, from
/// the batch's memory ([`Batch::fact_value`]).
async fn fact_text(
    b: &mut Batch<'_, '_>,
    group: &'static Descriptor,
    table: &'static str,
    subject: &str,
    column: &str,
) -> Result<Option<String>, ProjectionError> {
    Ok(
        match b
            .fact_value(table, definition(group, table), subject, column)
            .await?
        {
            Some(V::Text(text)) => text,
            _ => None,
        },
    )
}

/// The text `column` of the open steps row of the deployment `on` is about.
async fn steps_value(
    b: &mut Batch<'_, '_>,
    on: &On,
    column: &str,
) -> Result<Option<String>, ProjectionError> {
    fact_text(b, &PHARE_STEPS, "rm_ind_steps", &on.subject, column).await
}

/// The school year of the deployment `on` is about, from its open row.
async fn deployment_year(
    b: &mut Batch<'_, '_>,
    on: &On,
) -> Result<Option<SchoolYear>, ProjectionError> {
    let found = steps_value(b, on, "school_year").await?;
    Ok(found.and_then(|text| SchoolYear::parse(&text).ok()))
}

async fn ambassadors(
    b: &mut Batch<'_, '_>,
    on: &On,
    event: CohortEvent,
) -> Result<(), ProjectionError> {
    match event {
        CohortEvent::CohortCreated {
            school_uai,
            department,
            school_year,
            kind,
            ..
        } => {
            on.open(
                b,
                "rm_ind_cohorts",
                "school_uai, department, school_year, kind, declared, pupils, parents",
                vec![
                    V::text(school_uai.to_string()),
                    V::text(department.to_string()),
                    V::text(school_year.to_string()),
                    V::text(ident(&kind)),
                    V::Bool(false),
                    V::Int(Some(0)),
                    V::Int(Some(0)),
                ],
            )
            .await
        }
        CohortEvent::CountsSet { counts } => {
            let parents: u32 = counts
                .iter()
                .filter(|(level, _)| **level == ClassLevel::Parents)
                .map(|(_, n)| *n)
                .sum();
            let pupils = counts.values().sum::<u32>() - parents;
            on.change(
                b,
                "rm_ind_cohorts",
                "pupils = $2, parents = $3",
                vec![
                    V::Int(Some(i64::from(pupils))),
                    V::Int(Some(i64::from(parents))),
                ],
            )
            .await
        }
        CohortEvent::CohortDeclared { .. } | CohortEvent::CohortActivated { .. } => {
            on.change(b, "rm_ind_cohorts", "declared = $2", vec![V::Bool(true)])
                .await
        }
        _ => Ok(()),
    }
}

async fn labels(b: &mut Batch<'_, '_>, on: &On, event: LabelEvent) -> Result<(), ProjectionError> {
    let status = match event {
        LabelEvent::LabelDrafted {
            school_uai,
            department,
            school_year,
            target_level,
            ..
        } => {
            return on
                .open(
                    b,
                    "rm_ind_labels",
                    "school_uai, department, school_year, target_level, status",
                    vec![
                        V::text(school_uai.to_string()),
                        V::text(department.to_string()),
                        V::text(school_year.to_string()),
                        V::text(ident(&target_level)),
                        V::text("draft"),
                    ],
                )
                .await;
        }
        LabelEvent::CriterionAnswered { .. } => return Ok(()),
        LabelEvent::LabelSubmitted => "submitted",
        LabelEvent::LabelReviewStarted => "under_review",
        LabelEvent::LabelReturned { .. } => "returned",
        LabelEvent::LabelNotAwarded { .. } => "not_awarded",
        LabelEvent::LabelAwarded { level, .. } => {
            return on
                .change(
                    b,
                    "rm_ind_labels",
                    "status = 'awarded', awarded_level = $2",
                    vec![V::text(ident(&level))],
                )
                .await;
        }
    };
    on.change(b, "rm_ind_labels", "status = $2", vec![V::text(status)])
        .await
}

/// A session's registrations and the slots recorded for them, as `rm_ind_registrations`
/// and `rm_ind_slots` hold them: read once per batch, then kept as the batch's events
/// change them, so that the session's figures are counted in memory.
#[derive(Debug, Default)]
struct Registrations(HashMap<String, Registration>);

#[derive(Debug)]
struct Registration {
    status: String,
    /// Slot index → (present, minutes).
    slots: HashMap<i64, (bool, i64)>,
}

impl Registration {
    /// The minutes of the slots attended.
    fn minutes(&self) -> i64 {
        self.slots
            .values()
            .filter(|(present, _)| *present)
            .map(|(_, minutes)| minutes)
            .sum()
    }
}

impl Registrations {
    /// Registered (confirmed), attendees (one slot attended at least, whatever the
    /// registration's status now), minutes credited.
    fn figures(&self) -> (i64, i64, i64) {
        let registered = self.0.values().filter(|r| r.status == "confirmed").count();
        let attendees = self
            .0
            .values()
            .filter(|r| r.slots.values().any(|(present, _)| *present))
            .count();
        let minutes = self.0.values().map(Registration::minutes).sum();
        (
            i64::try_from(registered).unwrap_or(i64::MAX),
            i64::try_from(attendees).unwrap_or(i64::MAX),
            minutes,
        )
    }
}

/// The sessions of a batch whose registrations are in memory.
type Sessions = HashMap<String, Registrations>;

/// What group 7 counts of its attendees, each kept as periods of its own so that the
/// dashboard reads one or two rows per school or person where it read every period of
/// every attendee: an attendee counts when it has minutes in a session not cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    /// For its school's coverage of its session's year (`school_uai`, `school_year`).
    Coverage,
    /// For its person trained in the MPP in its session's department (`department`,
    /// `person`; no department for an academy-wide session), when the session's topic is
    /// the MPP.
    Mpp,
}

impl Tally {
    /// The table of how many attendees count for each key (current state), and the fact
    /// table of the periods of that being above 0, with its flag column.
    fn tables(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Coverage => ("rm_ind_attendance_counts", "rm_ind_coverage", "covered"),
            Self::Mpp => ("rm_ind_mpp_attendances", "rm_ind_mpp_trained", "trained"),
        }
    }

    /// The fact table's two key columns.
    fn columns(self) -> &'static str {
        match self {
            Self::Coverage => "school_uai, school_year",
            Self::Mpp => "department, person",
        }
    }
}

/// Group 7's tallies changed by a batch's attendees ([`Tally`]): where a change of an
/// attendee's facts (its minutes, its session's year or cancellation) makes it count for
/// a key or no longer count, noted in the batch's order and written at its end
/// ([`Tallies::write`]), when one statement per table reads the counts of every key it
/// names and the periods of those whose flag changes.
///
/// Counted from the attendee's facts before and after each change, not from the event,
/// so that an event applied again changes nothing.
#[derive(Default)]
struct Tallies(Vec<Counted>);

/// One attendee starting (`by` 1) or ceasing (-1) to count for a key.
struct Counted {
    tally: Tally,
    /// The values of the tally's two key columns.
    key: (Option<String>, String),
    at: String,
    by: i64,
}

impl Counted {
    /// The key as the tables hold it (`subject`).
    fn subject(&self) -> String {
        format!("{} {}", self.key.0.as_deref().unwrap_or("-"), self.key.1)
    }
}

impl Tallies {
    /// Changes attendee `id`'s facts from `at` (`set`), noting what that changes of the
    /// tallies.
    async fn attendee_change(
        &mut self,
        b: &mut Batch<'_, '_>,
        id: &str,
        at: &str,
        set: impl FnOnce(&mut FactRow<'_>),
    ) -> Result<(), ProjectionError> {
        let table = "rm_ind_attendees";
        let before = counts_for(b, id).await?;
        b.change_fact(table, definition(&TRAININGS, table), id, at, set)
            .await?;
        let after = counts_for(b, id).await?;
        for (tally, before, after) in [
            (Tally::Coverage, before.0, after.0),
            (Tally::Mpp, before.1, after.1),
        ] {
            if before == after {
                continue;
            }
            for (key, by) in [(before, -1), (after, 1)] {
                if let Some(key) = key {
                    self.0.push(Counted {
                        tally,
                        key,
                        at: at.to_owned(),
                        by,
                    });
                }
            }
        }
        Ok(())
    }

    /// Applies the batch's changes in order to the counts and periods of the keys they
    /// name.
    async fn write(self, b: &mut Batch<'_, '_>) -> Result<(), ProjectionError> {
        for tally in [Tally::Coverage, Tally::Mpp] {
            let changes: Vec<&Counted> = self.0.iter().filter(|c| c.tally == tally).collect();
            if !changes.is_empty() {
                write_tally(b, tally, &changes).await?;
            }
        }
        Ok(())
    }
}

/// [`Tallies::write`] for one tally.
async fn write_tally(
    b: &mut Batch<'_, '_>,
    tally: Tally,
    changes: &[&Counted],
) -> Result<(), ProjectionError> {
    let (counts_table, table, flag) = tally.tables();
    let mut keys: Vec<String> = changes.iter().map(|c| c.subject()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut counts: HashMap<String, i64> = b
        .read_all_of::<(String, i64)>(
            &format!("SELECT subject, attendees FROM {counts_table} WHERE subject = ANY($1)"),
            &keys,
        )
        .await?
        .into_iter()
        .collect();
    // The counts as they go, each change with whether it turns its key's flag on or off:
    // most of a batch's keys were counted before it and stay so, and only the periods of
    // those that change are read.
    let flips: Vec<Option<bool>> = changes
        .iter()
        .map(|counted| {
            let count = counts.entry(counted.subject()).or_default();
            let was = *count > 0;
            *count += counted.by;
            (was != (*count > 0)).then_some(*count > 0)
        })
        .collect();
    let mut flipping: Vec<String> = (changes.iter().zip(&flips))
        .filter(|(_, flip)| flip.is_some())
        .map(|(counted, _)| counted.subject())
        .collect();
    flipping.sort_unstable();
    flipping.dedup();
    let facts = definition(&TRAININGS, table);
    b.load_facts_of(table, facts, "subject", &flipping).await?;
    for (counted, flip) in changes.iter().zip(flips) {
        let Some(on) = flip else {
            continue;
        };
        let subject = counted.subject();
        if b.fact_value(table, facts, &subject, flag).await?.is_some() {
            b.change_fact(table, facts, &subject, &counted.at, |row| {
                row.set(flag, V::Bool(on));
            })
            .await?;
        } else {
            let opening = On {
                tables: &TRAININGS,
                subject,
                at: counted.at.clone(),
            };
            opening
                .open(
                    b,
                    table,
                    &format!("{}, {flag}", tally.columns()),
                    vec![
                        V::Text(counted.key.0.clone()),
                        V::text(&counted.key.1),
                        V::Bool(on),
                    ],
                )
                .await?;
        }
    }
    let upsert = format!(
        "INSERT INTO {counts_table} (subject, attendees) VALUES ($1, $2) \
         ON CONFLICT (subject) DO UPDATE SET attendees = excluded.attendees"
    );
    for (subject, count) in counts {
        b.upsert(&upsert, vec![V::text(subject), V::Int(Some(count))])
            .await?;
    }
    Ok(())
}

/// What an attendee counts for: its key of [`Tally::Coverage`], its key of [`Tally::Mpp`].
type Keys = (
    Option<(Option<String>, String)>,
    Option<(Option<String>, String)>,
);

/// The keys attendee `id` counts for (its open period's and its session's, when it has
/// minutes in a session not cancelled), from the batch's memory: its school's coverage of
/// its session's year, and (for a session of the MPP) its person in the session's
/// department.
async fn counts_for(b: &mut Batch<'_, '_>, id: &str) -> Result<Keys, ProjectionError> {
    let (table, columns) = (
        "rm_ind_attendees",
        definition(&TRAININGS, "rm_ind_attendees"),
    );
    let open = b
        .fact_values(
            table,
            columns,
            id,
            &[
                "minutes",
                "cancelled",
                "session_id",
                "person",
                "school_uai",
                "school_year",
            ],
        )
        .await?;
    let Some(
        [
            V::Int(Some(minutes)),
            V::Bool(false) | V::NullableBool(Some(false)),
            V::Text(Some(session)),
            V::Text(Some(person)),
            uai,
            year,
        ],
    ) = open.as_deref()
    else {
        return Ok((None, None));
    };
    if *minutes <= 0 {
        return Ok((None, None));
    }
    let coverage = match (uai, year) {
        (V::Text(Some(uai)), V::Text(Some(year))) => Some((Some(uai.clone()), year.clone())),
        _ => None,
    };
    let (sessions, columns) = ("rm_ind_sessions", definition(&TRAININGS, "rm_ind_sessions"));
    let mpp = match b
        .fact_values(sessions, columns, session, &["topic", "department"])
        .await?
        .as_deref()
    {
        Some([V::Text(Some(topic)), V::Text(department)]) if topic == "mpp" => {
            Some((department.clone(), person.clone()))
        }
        _ => None,
    };
    Ok((coverage, mpp))
}

const REGISTRATION: &str = "INSERT INTO rm_ind_registrations (id, session_id, status) \
     VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET status = excluded.status";

/// The definition of `table`, one of `group`'s.
fn definition(group: &'static Descriptor, table: &str) -> &'static str {
    group
        .tables
        .iter()
        .find(|(name, _)| *name == table)
        .map(|(_, definition)| *definition)
        .unwrap_or_default()
}

/// The registrations of the session `on` is about, read on its first event of the batch
/// (with its attendees' open rows) unless the batch read them first.
async fn registrations<'s>(
    b: &mut Batch<'_, '_>,
    sessions: &'s mut Sessions,
    session: &str,
) -> Result<&'s mut Registrations, ProjectionError> {
    if !sessions.contains_key(session) {
        read_sessions(b, sessions, vec![session.to_owned()]).await?;
    }
    Ok(sessions.entry(session.to_owned()).or_default())
}

/// Reads into memory, in three statements for them all, the registrations of the
/// sessions `keys` (with their slots), their attendees' open rows and their own: a
/// batch's events then count the sessions' figures without a round trip each.
async fn read_sessions(
    b: &mut Batch<'_, '_>,
    sessions: &mut Sessions,
    mut keys: Vec<String>,
) -> Result<(), ProjectionError> {
    keys.sort_unstable();
    keys.dedup();
    keys.retain(|key| !sessions.contains_key(key));
    if keys.is_empty() {
        return Ok(());
    }
    // Two reads of one table each, not a join: on a table a rebuild is filling (no
    // planner statistics yet) a join of lists may be planned as a nested loop over a
    // sequential scan, which cost minutes where one table's index scan costs milliseconds.
    let registrations: Vec<(String, String, String)> = b
        .read_all_of(
            "SELECT session_id, id, status FROM rm_ind_registrations WHERE session_id = ANY($1)",
            &keys,
        )
        .await?;
    let ids: Vec<String> = registrations.iter().map(|(_, id, _)| id.clone()).collect();
    let slots: Vec<(String, i64, bool, i64)> = b
        .read_all_of(
            "SELECT registration_id, slot_index, present, minutes FROM rm_ind_slots \
             WHERE registration_id = ANY($1)",
            &ids,
        )
        .await?;
    let mut slots_of: HashMap<String, HashMap<i64, (bool, i64)>> = HashMap::new();
    for (id, slot, present, minutes) in slots {
        slots_of
            .entry(id)
            .or_default()
            .insert(slot, (present, minutes));
    }
    for key in &keys {
        sessions.entry(key.clone()).or_default();
    }
    for (session, id, status) in registrations {
        let slots = slots_of.remove(&id).unwrap_or_default();
        sessions
            .entry(session)
            .or_default()
            .0
            .entry(id)
            .or_insert(Registration { status, slots });
    }
    for (table, column) in [
        ("rm_ind_attendees", "session_id"),
        ("rm_ind_sessions", "subject"),
    ] {
        b.load_facts_of(table, definition(&TRAININGS, table), column, &keys)
            .await?;
    }
    Ok(())
}

/// A change of the session's facts, in memory.
async fn session_change(
    b: &mut Batch<'_, '_>,
    on: &On,
    set: impl FnOnce(&mut FactRow<'_>),
) -> Result<(), ProjectionError> {
    b.change_fact(
        "rm_ind_sessions",
        definition(&TRAININGS, "rm_ind_sessions"),
        &on.subject,
        &on.at,
        set,
    )
    .await
}

/// The session's figures counted again from its registrations.
async fn session_figures(
    b: &mut Batch<'_, '_>,
    on: &On,
    sessions: &mut Sessions,
) -> Result<(), ProjectionError> {
    let (registered, attendees, minutes) = registrations(b, sessions, &on.subject).await?.figures();
    session_change(b, on, |row| {
        row.set("registered", V::Int(Some(registered)));
        row.set("attendees", V::Int(Some(attendees)));
        row.set("minutes", V::Int(Some(minutes)));
    })
    .await
}

async fn trainings(
    b: &mut Batch<'_, '_>,
    on: &On,
    event: SessionEvent,
    sessions: &mut Sessions,
    tallies: &mut Tallies,
) -> Result<(), ProjectionError> {
    let status = match event {
        SessionEvent::SessionPlanned {
            training_id,
            department,
            schedule,
            planned_minutes,
            recorded_after_the_fact,
            ..
        } => {
            let year = SchoolYear::containing(schedule.starts_at.date_naive());
            // A session recorded after the fact is held from the start.
            let status = if recorded_after_the_fact {
                "held"
            } else {
                "planned"
            };
            let topic = scalar(
                b,
                "SELECT topic FROM rm_ind_training_topics WHERE id = $1",
                &training_id.to_string(),
            )
            .await?
            .unwrap_or_default();
            return on
                .open(
                    b,
                    "rm_ind_sessions",
                    "school_year, department, topic, status, planned_minutes, registered, \
                     attendees, minutes",
                    vec![
                        V::text(year.to_string()),
                        V::Text(department.map(|d| d.to_string())),
                        V::text(topic),
                        V::text(status),
                        V::Int(Some(i64::from(planned_minutes))),
                        V::Int(Some(0)),
                        V::Int(Some(0)),
                        V::Int(Some(0)),
                    ],
                )
                .await;
        }
        SessionEvent::SessionOpened => "open",
        SessionEvent::SessionClosed => "closed",
        SessionEvent::SessionHeld => "held",
        SessionEvent::AttendanceLocked => "attendance_locked",
        SessionEvent::SessionArchived => "archived",
        SessionEvent::SessionCancelled { .. } => {
            session_change(b, on, |row| row.set("status", V::text("cancelled"))).await?;
            return attendees_follow(b, on, sessions, tallies, "cancelled", &V::Bool(true)).await;
        }
        SessionEvent::SessionRescheduled { schedule } => {
            let year = SchoolYear::containing(schedule.starts_at.date_naive()).to_string();
            session_change(b, on, |row| row.set("school_year", V::text(&year))).await?;
            return attendees_follow(b, on, sessions, tallies, "school_year", &V::text(year)).await;
        }
        SessionEvent::RegistrationConfirmed {
            registration_id,
            registrant,
            ..
        } => {
            return register(b, on, registration_id, &registrant, "confirmed", sessions).await;
        }
        SessionEvent::RegistrationWaitlisted {
            registration_id,
            registrant,
            ..
        } => {
            return register(b, on, registration_id, &registrant, "waitlisted", sessions).await;
        }
        SessionEvent::RegistrationPromoted { registration_id }
        | SessionEvent::RegistrationWithdrawn { registration_id } => {
            let status = if matches!(event, SessionEvent::RegistrationPromoted { .. }) {
                "confirmed"
            } else {
                "withdrawn"
            };
            let id = registration_id.to_string();
            let known = registrations(b, sessions, &on.subject).await?;
            if let Some(registration) = known.0.get_mut(&id) {
                registration.status = status.to_owned();
                on.run(
                    b,
                    REGISTRATION,
                    vec![V::text(id), V::text(&on.subject), V::text(status)],
                )
                .await?;
            }
            return session_figures(b, on, sessions).await;
        }
        SessionEvent::AttendanceRecorded {
            registration_id,
            slot_index,
            status,
            minutes,
        }
        | SessionEvent::AttendanceCorrected {
            registration_id,
            slot_index,
            status,
            minutes,
            ..
        } => {
            let present = status == AttendanceStatus::Present;
            let (id, slot) = (
                registration_id.to_string(),
                i64::try_from(slot_index).unwrap_or(i64::MAX),
            );
            let minutes = i64::from(minutes);
            on.run(
                b,
                "INSERT INTO rm_ind_slots (registration_id, slot_index, present, minutes) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (registration_id, slot_index) DO UPDATE \
                 SET present = excluded.present, minutes = excluded.minutes",
                vec![
                    V::text(&id),
                    V::Int(Some(slot)),
                    V::Bool(present),
                    V::Int(Some(minutes)),
                ],
            )
            .await?;
            // A slot of a registration the session does not hold changes no figure.
            let known = registrations(b, sessions, &on.subject).await?;
            if let Some(registration) = known.0.get_mut(&id) {
                registration.slots.insert(slot, (present, minutes));
                let attended = registration.minutes();
                tallies
                    .attendee_change(b, &id, &on.at, |row| {
                        row.set("minutes", V::Int(Some(attended)));
                    })
                    .await?;
            }
            return session_figures(b, on, sessions).await;
        }
        SessionEvent::SessionCapacityChanged { .. }
        | SessionEvent::SessionTrainersChanged { .. } => {
            return Ok(());
        }
    };
    session_change(b, on, |row| row.set("status", V::text(status))).await
}

/// Each attendee of the session `on` is about given the session's new `value` of `column`
/// (its year, its cancellation), from the session's change on: what the tallies count
/// ([`Tally`]), and what v2's coverage read of its attendees' sessions.
async fn attendees_follow(
    b: &mut Batch<'_, '_>,
    on: &On,
    sessions: &mut Sessions,
    tallies: &mut Tallies,
    column: &str,
    value: &V,
) -> Result<(), ProjectionError> {
    let mut ids: Vec<String> = registrations(b, sessions, &on.subject)
        .await?
        .0
        .keys()
        .cloned()
        .collect();
    ids.sort_unstable();
    for id in ids {
        tallies
            .attendee_change(b, &id, &on.at, |row| row.set(column, value.clone()))
            .await?;
    }
    Ok(())
}

/// A registration to the session `on` is about, and its attendee row (no minutes yet).
/// A registration already recorded (an event applied again) changes nothing.
async fn register(
    b: &mut Batch<'_, '_>,
    on: &On,
    registration_id: uuid::Uuid,
    registrant: &pharos_events::training::Registrant,
    status: &str,
    sessions: &mut Sessions,
) -> Result<(), ProjectionError> {
    let id = registration_id.to_string();
    let known = registrations(b, sessions, &on.subject).await?;
    if !known.0.contains_key(&id) {
        // A registration its session does not hold is new (its id is unique to it): its
        // attendee has no row, and opens in memory.
        b.note_no_facts(
            "rm_ind_attendees",
            definition(&TRAININGS, "rm_ind_attendees"),
            &id,
        );
        known.0.insert(
            id.clone(),
            Registration {
                status: status.to_owned(),
                slots: HashMap::new(),
            },
        );
        on.run(
            b,
            REGISTRATION,
            vec![V::text(&id), V::text(&on.subject), V::text(status)],
        )
        .await?;
    }
    // The session as it stands: its year and whether it is cancelled, which its
    // attendees carry (v2).
    let sessions_definition = definition(&TRAININGS, "rm_ind_sessions");
    let year = match b
        .fact_value(
            "rm_ind_sessions",
            sessions_definition,
            &on.subject,
            "school_year",
        )
        .await?
    {
        Some(V::Text(year)) => year,
        _ => None,
    };
    let cancelled = matches!(
        b.fact_value("rm_ind_sessions", sessions_definition, &on.subject, "status")
            .await?,
        Some(V::Text(Some(status))) if status == "cancelled"
    );
    let attendee = On {
        subject: id,
        at: on.at.clone(),
        ..*on
    };
    attendee
        .open(
            b,
            "rm_ind_attendees",
            "session_id, person, school_uai, minutes, school_year, cancelled",
            vec![
                V::text(&on.subject),
                V::text(registrant.person.0.to_string()),
                V::Text(registrant.school_uai.as_ref().map(ToString::to_string)),
                V::Int(Some(0)),
                V::Text(year),
                V::Bool(cancelled),
            ],
        )
        .await?;
    session_figures(b, on, sessions).await
}

/// An action's details as its row holds them: schools (`,uai,uai,`), types (`,type,`),
/// pupils reached, held.
fn action_values(details: &ActionDetails) -> Vec<V> {
    let joined = |items: Vec<String>| format!(",{},", items.join(","));
    vec![
        V::text(joined(
            details.schools.iter().map(|s| s.uai.to_string()).collect(),
        )),
        V::text(joined(details.types.iter().map(ident).collect())),
        V::Int(Some(i64::from(details.pupils_reached))),
        V::Bool(details.held),
    ]
}

async fn national_day_action(
    b: &mut Batch<'_, '_>,
    on: &On,
    event: ActionEvent,
) -> Result<(), ProjectionError> {
    let status = match event {
        ActionEvent::ActionDeclared {
            school_year,
            campaign,
            details,
        } => {
            let mut values = vec![V::text(school_year.to_string()), V::text(ident(&campaign))];
            values.extend(action_values(&details));
            values.push(V::text("draft"));
            return on
                .open(
                    b,
                    "rm_ind_actions",
                    "school_year, campaign, schools, types, pupils_reached, held, status",
                    values,
                )
                .await;
        }
        ActionEvent::ActionEdited { details } => {
            return on
                .change(
                    b,
                    "rm_ind_actions",
                    "schools = $2, types = $3, pupils_reached = $4, held = $5",
                    action_values(&details),
                )
                .await;
        }
        ActionEvent::ActionSubmitted => "submitted",
        ActionEvent::ActionReturned { .. } => "returned",
        ActionEvent::ActionValidated => "validated",
        ActionEvent::ActionPublished => "published",
    };
    on.change(b, "rm_ind_actions", "status = $2", vec![V::text(status)])
        .await
}

/// `rm_ind_action_schools` derived anew for the actions `events` touched, from their
/// periods as the batch left them (written: after its flush).
async fn action_schools(
    b: &mut Batch<'_, '_>,
    events: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    let mut subjects: Vec<&str> = events.iter().map(stream_key).collect();
    subjects.sort_unstable();
    subjects.dedup();
    // One bind for the list: the subjects (UUIDs) as a JSON array, read by each backend.
    let list = V::text(serde_json::to_string(&subjects).map_err(|e| e.to_string())?);
    let (chosen, each, uai) = if b.is_postgres() {
        (
            "subject IN (SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))",
            "CROSS JOIN unnest(string_to_array(trim(both ',' from a.schools), ',')) AS u(uai)",
            "u.uai",
        )
    } else {
        (
            "subject IN (SELECT value FROM json_each($1))",
            "CROSS JOIN json_each('[\"' || replace(trim(a.schools, ','), ',', '\",\"') || '\"]') AS u",
            "u.value",
        )
    };
    b.execute(
        &format!("DELETE FROM rm_ind_action_schools WHERE {chosen}"),
        vec![list.clone()],
    )
    .await?;
    b.execute(
        &format!(
            "INSERT INTO rm_ind_action_schools (subject, valid_from, school_uai, valid_to, \
             school_year, campaign, types, pupils_reached, held, status) \
             SELECT a.subject, a.valid_from, {uai}, a.valid_to, a.school_year, a.campaign, \
             a.types, a.pupils_reached, a.held, a.status FROM rm_ind_actions a {each} \
             WHERE a.{chosen} AND {uai} <> ''"
        ),
        vec![list],
    )
    .await
}

async fn contest_edition(
    b: &mut Batch<'_, '_>,
    on: &On,
    event: ContestEvent,
) -> Result<(), ProjectionError> {
    match event {
        ContestEvent::EditionCreated {
            school_year,
            submission_deadline,
            ..
        } => {
            on.open(
                b,
                "rm_ind_editions",
                "school_year, submission_deadline, published, closed",
                vec![
                    V::text(school_year.to_string()),
                    V::text(instant(submission_deadline)),
                    V::Bool(false),
                    V::Bool(false),
                ],
            )
            .await
        }
        ContestEvent::DeadlineExtended {
            school_uai, until, ..
        } => {
            on.run(
                b,
                "INSERT INTO rm_ind_extensions (edition_id, school_uai, granted_at, until) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (edition_id, school_uai, granted_at) \
                 DO UPDATE SET until = excluded.until",
                vec![
                    V::text(&on.subject),
                    V::text(school_uai.to_string()),
                    V::text(&on.at),
                    V::text(instant(until)),
                ],
            )
            .await
        }
        ContestEvent::AwardGranted {
            entry_id,
            kind: AwardKind::Laureate,
            ..
        }
        | ContestEvent::AwardRevoked {
            entry_id,
            kind: AwardKind::Laureate,
            ..
        } => {
            let granted = matches!(event, ContestEvent::AwardGranted { .. });
            let entry = On {
                subject: entry_id.to_string(),
                at: on.at.clone(),
                ..*on
            };
            entry
                .change(b, "rm_ind_entries", "laureate = $2", vec![V::Bool(granted)])
                .await
        }
        ContestEvent::ResultsPublished { .. } => {
            on.change(b, "rm_ind_editions", "published = $2", vec![V::Bool(true)])
                .await
        }
        ContestEvent::CampaignClosed => {
            on.change(b, "rm_ind_editions", "closed = $2", vec![V::Bool(true)])
                .await
        }
        _ => Ok(()),
    }
}

async fn contest_entry(
    b: &mut Batch<'_, '_>,
    on: &On,
    event: EntryEvent,
) -> Result<(), ProjectionError> {
    let status = match event {
        EntryEvent::EntryCreated {
            contest_id,
            school_uai,
            department,
            ..
        } => {
            // The entry's year is its edition's, recorded before it in the log.
            let year = fact_text(
                b,
                &CONTEST,
                "rm_ind_editions",
                &contest_id.to_string(),
                "school_year",
            )
            .await?
            .unwrap_or_default();
            return on
                .open(
                    b,
                    "rm_ind_entries",
                    "contest_id, school_year, school_uai, department, status, reason, laureate",
                    vec![
                        V::text(contest_id.to_string()),
                        V::text(year),
                        V::text(school_uai.to_string()),
                        V::text(department.to_string()),
                        V::text("draft"),
                        V::Text(None),
                        V::Bool(false),
                    ],
                )
                .await;
        }
        EntryEvent::EntrySubmitted { .. } => "submitted",
        EntryEvent::EntryWithdrawn => "withdrawn",
        EntryEvent::AdmissibilityDecided { admissible, reason } => {
            let (status, reason) = if admissible {
                ("admissible", None)
            } else {
                (
                    "inadmissible",
                    Some(reason.as_deref().unwrap_or_default().trim().to_owned()),
                )
            };
            return on
                .change(
                    b,
                    "rm_ind_entries",
                    "status = $2, reason = $3",
                    vec![V::text(status), V::Text(reason)],
                )
                .await;
        }
        _ => return Ok(()),
    };
    on.change(
        b,
        "rm_ind_entries",
        "status = $2, reason = $3",
        vec![V::text(status), V::Text(None)],
    )
    .await
}

async fn reminders(
    b: &mut Batch<'_, '_>,
    on: &On,
    event: ReminderEvent,
) -> Result<(), ProjectionError> {
    let state = match event {
        ReminderEvent::ReminderScheduled { key, .. } => {
            let (school, session) = target_parts(&key.target);
            let year = SchoolYear::containing(key.occurrence);
            return on
                .open(
                    b,
                    "rm_ind_reminders",
                    "rule, school_year, school_uai, session_id, state",
                    vec![
                        V::text(key.rule),
                        V::text(year.to_string()),
                        V::Text(school),
                        V::Text(session),
                        V::text("pending"),
                    ],
                )
                .await;
        }
        ReminderEvent::ReminderSent { .. } => "sent",
        ReminderEvent::ReminderFailed { permanent, .. } => {
            if permanent {
                "failed"
            } else {
                "pending"
            }
        }
        ReminderEvent::ReminderRetried { .. } => "pending",
        ReminderEvent::ReminderSuppressed { .. } => "suppressed",
        ReminderEvent::ReminderCancelled { .. } => "cancelled",
    };
    on.change(b, "rm_ind_reminders", "state = $2", vec![V::text(state)])
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SET list of expressions (the SQL change of group 1 before it was counted in
    /// memory).
    const COUNT_TRAINED: &str = "trained = (SELECT COUNT(*) FROM rm_ind_team_trained \
         WHERE deployment_id = $1 AND trained), \
         members = (SELECT COUNT(*) FROM rm_ind_team_trained WHERE deployment_id = $1)";

    #[test]
    fn a_set_list_splits_at_its_top_level_commas_only() {
        assert_eq!(
            assignments("status = 'a, b', reason = $3"),
            [
                ("status".to_owned(), "'a, b'".to_owned()),
                ("reason".to_owned(), "$3".to_owned())
            ]
        );
        let figures = assignments(COUNT_TRAINED);
        let names: Vec<&str> = figures.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["trained", "members"]);
        assert!(figures[0].1.starts_with("(SELECT COUNT(*)"));
        assert!(
            figures[0]
                .1
                .ends_with("WHERE deployment_id = $1 AND trained)")
        );
    }

    #[test]
    fn a_set_list_of_values_is_changed_in_memory_and_one_of_expressions_in_sql() {
        let values = [V::text("held"), V::Int(Some(3))];
        assert_eq!(
            given_values("status = $2, level = 'or', n = $3", &values),
            Some(vec![
                ("status".to_owned(), V::text("held")),
                ("level".to_owned(), V::text("or")),
                ("n".to_owned(), V::Int(Some(3))),
            ])
        );
        for expression in [
            COUNT_TRAINED,
            "a = CASE WHEN a IS NULL THEN $2 ELSE a END",
            "a = $4",
            "a = $1",
            "a = 'it''s'",
            "a = NULL",
        ] {
            assert_eq!(given_values(expression, &values), None, "{expression}");
        }
    }

    #[test]
    fn placeholders_after_the_subject_move_one_up() {
        assert_eq!(
            shift("a = $2, b = $10 WHERE s = $1 AND c = '$'"),
            "a = $3, b = $11 WHERE s = $1 AND c = '$'"
        );
    }

    #[test]
    fn a_reminder_target_names_its_school_or_session() {
        let own = |(school, session): (Option<String>, Option<String>)| {
            (school.unwrap_or_default(), session.unwrap_or_default())
        };
        assert_eq!(
            own(target_parts("school-0310001H:2026-2027")),
            ("0310001H".into(), String::new())
        );
        assert_eq!(
            own(target_parts("contest-0193:school-0310001H")),
            ("0310001H".into(), String::new())
        );
        assert_eq!(
            own(target_parts("training_session-0193")),
            (String::new(), "0193".into())
        );
        assert_eq!(
            own(target_parts("contest-0193")),
            (String::new(), String::new())
        );
    }
}
