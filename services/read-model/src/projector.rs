//! The projector: every event of the categories below, in log order, applied to the
//! `rm_*` tables inside the transaction that moves the checkpoint
//! (`EventStore::run_projection`), so each event takes effect exactly once, across
//! crashes and restarts, into the tables of one generation ([`crate::tables`]). It reads
//! the event contract (`pharos_events`) only, never a service crate. One live projector
//! runs per database: the worker holds the `read-model-projector` lease, a standby
//! replica waits for it; a rebuild runs its own into the next generation.
//!
//! Each event is one statement (an upsert of the row the event describes, or a change of
//! a few columns). Events of categories or types it does not know are skipped: the log
//! may hold newer events than this release knows.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use pharos_events::cohort::{ClassLevel, CohortEvent};
use pharos_events::contest::{AwardKind, ContestEvent, EntryEvent, EntryStatus};
use pharos_events::national_day::{ActionDetails, ActionEvent};
use pharos_events::partner::{PartnerEvent, PartnerRecord};
use pharos_events::phare::{DeploymentEvent, DeploymentOwner, LabelEvent};
use pharos_events::reminder::{RULE_PREFIX, ReminderEvent};
use pharos_events::school::{SchoolEvent, SchoolRecord};
use pharos_events::training::{SessionEvent, TrainingEvent};
use pharos_events::user::UserEvent;
use pharos_events::{
    cohort, contest, decode, national_day, partner, phare, reminder, school, training, user,
};
use pharos_eventstore::{Projection, ProjectionError, ProjectionTx, RecordedEvent};
use serde::Serialize;

use crate::batch::{Batch, Value as V};
use crate::tables::Generation;

/// The categories projected.
pub const CATEGORIES: [&str; 12] = [
    school::CATEGORY,
    training::TRAINING_CATEGORY,
    training::SESSION_CATEGORY,
    phare::DEPLOYMENT_CATEGORY,
    phare::LABEL_CATEGORY,
    partner::CATEGORY,
    cohort::CATEGORY,
    national_day::ACTION_CATEGORY,
    contest::ENTRY_CATEGORY,
    contest::EDITION_CATEGORY,
    user::CATEGORY,
    reminder::CATEGORY,
];

/// The read model's projection into the tables of one generation.
pub struct ReadModel {
    generation: Generation,
    checkpoint: String,
    categories: Vec<String>,
}

impl ReadModel {
    pub fn new(generation: Generation) -> Self {
        Self {
            generation,
            checkpoint: generation.checkpoint(),
            categories: CATEGORIES.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
}

impl Projection for ReadModel {
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
        let g = self.generation;
        let mut batch = Batch::begin(tx, move |statement| crate::tables::rename(g, statement))
            .await?
            .with_rows(crate::tables::LISTS.tables);
        let decoded: Vec<_> = events.iter().map(Decoded::of).collect();
        // The rows of the batch's streams, and the registrations and team members its
        // events name, read in one statement per table: most events then change a row in
        // memory, and a row created in the batch costs no read. A registration promoted
        // or withdrawn, a member updated, each read its row alone (the rows queued for
        // its table sent first): at a million events, 11,000 reads and 7,000 more
        // statements.
        let mut keys: HashMap<&'static str, Vec<String>> = HashMap::new();
        for (event, decoded) in events.iter().zip(&decoded) {
            if let Some(table) = table_of(&event.category) {
                keys.entry(table)
                    .or_default()
                    .push(stream_key(event).to_owned());
            }
            if let Some((table, key)) = decoded.as_ref().and_then(Decoded::row) {
                keys.entry(table).or_default().push(key);
            }
        }
        for (table, keys) in keys {
            batch.preload(table, keys).await?;
        }
        for (event, decoded) in events.iter().zip(decoded) {
            if let Some(decoded) = decoded {
                apply(&mut batch, event, decoded).await?;
            }
        }
        batch.flush().await?;
        tracing::trace!(
            events = events.len(),
            statements = batch.sent(),
            "read model batch written"
        );
        Ok(())
    }
}

/// The list table whose key is the stream's id, for the streams of `category`.
fn table_of(category: &str) -> Option<&'static str> {
    Some(match category {
        c if c == school::CATEGORY => "rm_schools",
        c if c == training::TRAINING_CATEGORY => "rm_trainings",
        c if c == training::SESSION_CATEGORY => "rm_sessions",
        c if c == phare::DEPLOYMENT_CATEGORY => "rm_deployments",
        c if c == phare::LABEL_CATEGORY => "rm_labels",
        c if c == partner::CATEGORY => "rm_partners",
        c if c == cohort::CATEGORY => "rm_cohorts",
        c if c == national_day::ACTION_CATEGORY => "rm_actions",
        c if c == contest::ENTRY_CATEGORY => "rm_entries",
        c if c == contest::EDITION_CATEGORY => "rm_contests",
        c if c == user::CATEGORY => "rm_accounts",
        c if c == reminder::CATEGORY => "rm_reminders",
        _ => return None,
    })
}

/// The id part of `category-id`.
fn stream_key(event: &RecordedEvent) -> &str {
    event
        .stream_id
        .get(event.category.len() + 1..)
        .unwrap_or_default()
}

/// An enum's identifier, as its JSON spells it.
pub(crate) fn ident<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Lower case without accents: what text search compares.
pub(crate) fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'œ' => 'o',
            'ÿ' => 'y',
            c => c,
        })
        .collect()
}

fn utc(instant: DateTime<FixedOffset>) -> String {
    instant
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An event of a category projected, decoded (once: the preload reads its keys, then it
/// is applied).
enum Decoded {
    School(SchoolEvent),
    Training(TrainingEvent),
    Session(SessionEvent),
    Deployment(DeploymentEvent),
    Label(LabelEvent),
    Partner(PartnerEvent),
    Cohort(CohortEvent),
    Entry(EntryEvent),
    Edition(ContestEvent),
    Action(ActionEvent),
    User(UserEvent),
    Reminder(ReminderEvent),
}

impl Decoded {
    /// `event` decoded, if of a category and type projected.
    fn of(event: &RecordedEvent) -> Option<Self> {
        let key = stream_key(event);
        Some(match event.category.as_str() {
            c if c == school::CATEGORY => Self::School(decode(event)?),
            c if c == training::TRAINING_CATEGORY => Self::Training(decode(event)?),
            c if c == training::SESSION_CATEGORY => Self::Session(decode(event)?),
            c if c == phare::DEPLOYMENT_CATEGORY => Self::Deployment(decode(event)?),
            // The same category holds the label criteria of each year
            // (`phare_label-criteria-<year>`): not an application, not decoded as one.
            c if c == phare::LABEL_CATEGORY && uuid::Uuid::parse_str(key).is_ok() => {
                Self::Label(decode(event)?)
            }
            c if c == partner::CATEGORY => Self::Partner(decode(event)?),
            c if c == cohort::CATEGORY => Self::Cohort(decode(event)?),
            c if c == contest::ENTRY_CATEGORY => Self::Entry(decode(event)?),
            c if c == contest::EDITION_CATEGORY => Self::Edition(decode(event)?),
            c if c == national_day::ACTION_CATEGORY => Self::Action(decode(event)?),
            c if c == user::CATEGORY => Self::User(decode(event)?),
            // The same category holds the rules (`reminder-rule.<key>`): not reminders.
            c if c == reminder::CATEGORY && !key.starts_with(RULE_PREFIX) => {
                Self::Reminder(decode(event)?)
            }
            _ => return None,
        })
    }

    /// The row of a list table the event writes, other than its stream's own: the
    /// table, and the row's key.
    fn row(&self) -> Option<(&'static str, String)> {
        let (table, id) = match self {
            Self::Session(
                SessionEvent::RegistrationConfirmed {
                    registration_id, ..
                }
                | SessionEvent::RegistrationWaitlisted {
                    registration_id, ..
                }
                | SessionEvent::RegistrationPromoted { registration_id }
                | SessionEvent::RegistrationWithdrawn { registration_id },
            ) => ("rm_registrations", registration_id),
            Self::Deployment(DeploymentEvent::TeamMemberAdded(member)) => {
                ("rm_team_members", &member.member_id)
            }
            Self::Deployment(
                DeploymentEvent::TeamMemberUpdated { member_id, .. }
                | DeploymentEvent::TeamMemberRemoved { member_id },
            ) => ("rm_team_members", member_id),
            _ => return None,
        };
        Some((table, id.to_string()))
    }
}

async fn apply(
    b: &mut Batch<'_, '_>,
    event: &RecordedEvent,
    decoded: Decoded,
) -> Result<(), ProjectionError> {
    let key = stream_key(event).to_owned();
    match decoded {
        Decoded::School(e) => school_event(b, &key, e).await?,
        Decoded::Training(e) => training_event(b, &key, e).await?,
        Decoded::Session(e) => {
            crate::people::session_event(b, &key, &e).await?;
            session_event(b, &key, e).await?;
        }
        Decoded::Deployment(e) => {
            crate::people::deployment_event(b, &key, &e).await?;
            deployment_event(b, &key, e).await?;
        }
        Decoded::Label(e) => label_event(b, &key, e).await?,
        Decoded::Partner(e) => partner_event(b, &key, e).await?,
        Decoded::Cohort(e) => cohort_event(b, &key, e).await?,
        Decoded::Entry(e) => {
            crate::people::entry_event(b, &key, &e).await?;
            entry_event(b, &key, e).await?;
        }
        Decoded::Edition(e) => contest_event(b, &key, e).await?,
        Decoded::Action(e) => action_event(b, &key, e).await?,
        Decoded::User(e) => crate::people::user_event(b, &key, &e).await?,
        Decoded::Reminder(e) => crate::reminders::reminder_event(b, &key, event, e).await?,
    }
    Ok(())
}

const UPSERT_SCHOOL: &str = "INSERT INTO rm_schools (uai, name, kind, sector, department, commune, \
     circonscription, priority_education, search) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (uai) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
     sector = excluded.sector, department = excluded.department, commune = excluded.commune, \
     circonscription = excluded.circonscription, \
     priority_education = excluded.priority_education, search = excluded.search";

async fn school_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: SchoolEvent,
) -> Result<(), ProjectionError> {
    match event {
        SchoolEvent::SchoolRegistered(record) | SchoolEvent::SchoolUpdated(record) => {
            let SchoolRecord {
                uai,
                name,
                kind,
                sector,
                department,
                commune,
                circonscription,
                priority_education,
            } = record;
            let search = fold(&format!("{name} {commune} {uai}"));
            b.upsert(
                UPSERT_SCHOOL,
                vec![
                    V::from(uai.to_string()),
                    V::from(&name),
                    V::from(ident(&kind)),
                    V::from(ident(&sector)),
                    V::from(department.to_string()),
                    V::from(&commune),
                    V::from(&circonscription),
                    V::from(ident(&priority_education)),
                    V::from(&search),
                ],
            )
            .await?;
        }
        SchoolEvent::SchoolClosed {
            closed_on,
            successor_uai,
        } => {
            b.execute(
                "UPDATE rm_schools SET closed_on = $2, successor_uai = $3 WHERE uai = $1",
                vec![
                    V::from(key),
                    V::from(closed_on.to_string()),
                    V::from(successor_uai.map(|u| u.to_string())),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

async fn training_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: TrainingEvent,
) -> Result<(), ProjectionError> {
    let TrainingEvent::TrainingCreated {
        title,
        topic,
        audience,
        department,
        ..
    } = event;
    let search = fold(&format!("{title} {audience}"));
    b.upsert(
        "INSERT INTO rm_trainings (id, title, topic, audience, department, search) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        vec![
            V::from(key),
            V::from(&title),
            V::from(ident(&topic)),
            V::from(&audience),
            V::from(department.map(|d| d.to_string())),
            V::from(&search),
        ],
    )
    .await?;
    Ok(())
}

async fn set_session_status(
    b: &mut Batch<'_, '_>,
    key: &str,
    status: &str,
) -> Result<(), ProjectionError> {
    b.execute(
        "UPDATE rm_sessions SET status = $2 WHERE id = $1",
        vec![V::from(key), V::from(status)],
    )
    .await?;
    Ok(())
}

async fn set_registration(
    b: &mut Batch<'_, '_>,
    id: uuid::Uuid,
    status: &str,
) -> Result<(), ProjectionError> {
    b.execute(
        "UPDATE rm_registrations SET status = $2 WHERE id = $1",
        vec![V::from(id.to_string()), V::from(status)],
    )
    .await?;
    Ok(())
}

async fn session_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: SessionEvent,
) -> Result<(), ProjectionError> {
    match event {
        SessionEvent::SessionPlanned {
            training_id,
            department,
            schedule,
            location,
            capacity,
            planned_minutes,
            recorded_after_the_fact,
            ..
        } => {
            // A session recorded after the fact is held from the start.
            let status = if recorded_after_the_fact {
                "held"
            } else {
                "planned"
            };
            b.upsert(
                "INSERT INTO rm_sessions (id, training_id, department, starts_at, ends_at, \
                 status, capacity, planned_minutes, location, recorded_after_the_fact) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
                vec![
                    V::from(key),
                    V::from(training_id.to_string()),
                    V::from(department.map(|d| d.to_string())),
                    V::from(utc(schedule.starts_at)),
                    V::from(utc(schedule.ends_at)),
                    V::from(status),
                    V::from(i64::from(capacity)),
                    V::from(i64::from(planned_minutes)),
                    V::from(&location),
                    V::from(recorded_after_the_fact),
                ],
            )
            .await?;
        }
        SessionEvent::SessionOpened => set_session_status(b, key, "open").await?,
        SessionEvent::SessionClosed => set_session_status(b, key, "closed").await?,
        SessionEvent::SessionHeld => set_session_status(b, key, "held").await?,
        SessionEvent::AttendanceLocked => set_session_status(b, key, "attendance_locked").await?,
        SessionEvent::SessionArchived => set_session_status(b, key, "archived").await?,
        SessionEvent::SessionCancelled { .. } => set_session_status(b, key, "cancelled").await?,
        SessionEvent::SessionRescheduled { schedule } => {
            b.execute(
                "UPDATE rm_sessions SET starts_at = $2, ends_at = $3 WHERE id = $1",
                vec![
                    V::from(key),
                    V::from(utc(schedule.starts_at)),
                    V::from(utc(schedule.ends_at)),
                ],
            )
            .await?;
        }
        SessionEvent::SessionCapacityChanged { capacity } => {
            b.execute(
                "UPDATE rm_sessions SET capacity = $2 WHERE id = $1",
                vec![V::from(key), V::from(i64::from(capacity))],
            )
            .await?;
        }
        SessionEvent::RegistrationConfirmed {
            registration_id,
            registrant,
            ..
        } => {
            let school = registrant.school_uai.map(|u| u.to_string());
            add_registration(b, key, registration_id, school, "confirmed").await?;
        }
        SessionEvent::RegistrationWaitlisted {
            registration_id,
            registrant,
            ..
        } => {
            let school = registrant.school_uai.map(|u| u.to_string());
            add_registration(b, key, registration_id, school, "waitlisted").await?;
        }
        SessionEvent::RegistrationPromoted { registration_id } => {
            set_registration(b, registration_id, "confirmed").await?;
        }
        SessionEvent::RegistrationWithdrawn { registration_id } => {
            set_registration(b, registration_id, "withdrawn").await?;
        }
        SessionEvent::SessionTrainersChanged { .. }
        | SessionEvent::AttendanceRecorded { .. }
        | SessionEvent::AttendanceCorrected { .. } => {}
    }
    Ok(())
}

async fn add_registration(
    b: &mut Batch<'_, '_>,
    session: &str,
    id: uuid::Uuid,
    school: Option<String>,
    status: &str,
) -> Result<(), ProjectionError> {
    b.upsert(
        "INSERT INTO rm_registrations (id, session_id, status, school_uai) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        vec![
            V::from(id.to_string()),
            V::from(session),
            V::from(status),
            V::from(&school),
        ],
    )
    .await?;
    Ok(())
}

async fn deployment_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: DeploymentEvent,
) -> Result<(), ProjectionError> {
    match event {
        DeploymentEvent::DeploymentCreated { owner, school_year } => {
            let (uai, circonscription) = match &owner {
                DeploymentOwner::School { uai, .. } => (Some(uai.to_string()), None),
                DeploymentOwner::Circonscription {
                    circonscription, ..
                } => (None, Some(circonscription.clone())),
            };
            b.upsert(
                "INSERT INTO rm_deployments (id, school_year, school_uai, circonscription, \
                 department, coordinator, parent_workshops) \
                 VALUES ($1, $2, $3, $4, $5, FALSE, 0) ON CONFLICT (id) DO NOTHING",
                vec![
                    V::from(key),
                    V::from(school_year.to_string()),
                    V::from(&uai),
                    V::from(&circonscription),
                    V::from(owner.department().to_string()),
                ],
            )
            .await?;
        }
        DeploymentEvent::CharterSigned { signed_on } => {
            b.execute(
                "UPDATE rm_deployments SET charter_signed_on = $2 WHERE id = $1",
                vec![V::from(key), V::from(signed_on.to_string())],
            )
            .await?;
        }
        DeploymentEvent::TeamMemberAdded(member) => {
            b.upsert(
                "INSERT INTO rm_team_members (id, deployment_id, trained, mpp_trained) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
                 trained = excluded.trained, mpp_trained = excluded.mpp_trained",
                vec![
                    V::from(member.member_id.to_string()),
                    V::from(key),
                    V::from(member.trained),
                    V::from(member.mpp_trained),
                ],
            )
            .await?;
        }
        DeploymentEvent::TeamMemberUpdated { member_id, details } => {
            b.execute(
                "UPDATE rm_team_members SET trained = $2, mpp_trained = $3 WHERE id = $1",
                vec![
                    V::from(member_id.to_string()),
                    V::from(details.trained),
                    V::from(details.mpp_trained),
                ],
            )
            .await?;
        }
        DeploymentEvent::TeamMemberRemoved { member_id } => {
            b.execute(
                "DELETE FROM rm_team_members WHERE id = $1",
                vec![V::from(member_id.to_string())],
            )
            .await?;
        }
        DeploymentEvent::CoordinatorNamed { .. } => {
            b.execute(
                "UPDATE rm_deployments SET coordinator = TRUE WHERE id = $1",
                vec![V::from(key)],
            )
            .await?;
        }
        DeploymentEvent::ProtocolRecorded { presented_on, .. } => {
            b.execute(
                "UPDATE rm_deployments SET protocol_presented_on = $2 WHERE id = $1",
                vec![V::from(key), V::from(presented_on.map(|d| d.to_string()))],
            )
            .await?;
        }
        DeploymentEvent::LearningHoursPlanned { planned, hours } => {
            b.execute(
                "UPDATE rm_deployments SET learning_hours = $2 WHERE id = $1",
                vec![V::from(key), V::from(planned.then_some(i64::from(hours)))],
            )
            .await?;
        }
        DeploymentEvent::ParentWorkshopRecorded { .. } => {
            b.execute(
                "UPDATE rm_deployments SET parent_workshops = parent_workshops + 1 WHERE id = $1",
                vec![V::from(key)],
            )
            .await?;
        }
        DeploymentEvent::CarryOverConfirmed => {}
    }
    Ok(())
}

async fn label_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: LabelEvent,
) -> Result<(), ProjectionError> {
    let status = match event {
        LabelEvent::LabelDrafted {
            school_uai,
            department,
            school_year,
            target_level,
            ..
        } => {
            b.upsert(
                "INSERT INTO rm_labels (id, school_uai, department, school_year, target_level, \
                 status) VALUES ($1, $2, $3, $4, $5, 'draft') ON CONFLICT (id) DO NOTHING",
                vec![
                    V::from(key),
                    V::from(school_uai.to_string()),
                    V::from(department.to_string()),
                    V::from(school_year.to_string()),
                    V::from(ident(&target_level)),
                ],
            )
            .await?;
            return Ok(());
        }
        LabelEvent::CriterionAnswered { .. } => return Ok(()),
        LabelEvent::LabelSubmitted => "submitted",
        LabelEvent::LabelReviewStarted => "under_review",
        LabelEvent::LabelReturned { .. } => "returned",
        LabelEvent::LabelNotAwarded { .. } => "not_awarded",
        LabelEvent::LabelAwarded { level, .. } => {
            b.execute(
                "UPDATE rm_labels SET status = 'awarded', awarded_level = $2 WHERE id = $1",
                vec![V::from(key), V::from(ident(&level))],
            )
            .await?;
            return Ok(());
        }
    };
    b.execute(
        "UPDATE rm_labels SET status = $2 WHERE id = $1",
        vec![V::from(key), V::from(status)],
    )
    .await?;
    Ok(())
}

const UPSERT_PARTNER: &str = "INSERT INTO rm_partners (id, name, kind, scope, department, commune, \
     archived, search) VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7) ON CONFLICT (id) DO UPDATE SET \
     name = excluded.name, kind = excluded.kind, scope = excluded.scope, \
     department = excluded.department, commune = excluded.commune, search = excluded.search";

async fn partner_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: PartnerEvent,
) -> Result<(), ProjectionError> {
    let archived = match event {
        PartnerEvent::PartnerRegistered { record, .. }
        | PartnerEvent::PartnerUpdated { record } => {
            let PartnerRecord {
                name,
                kind,
                scope,
                department,
                commune,
                description,
                ..
            } = record;
            let search = fold(&format!(
                "{name} {} {description}",
                commune.as_deref().unwrap_or_default()
            ));
            b.upsert(
                UPSERT_PARTNER,
                vec![
                    V::from(key),
                    V::from(&name),
                    V::from(ident(&kind)),
                    V::from(ident(&scope)),
                    V::from(department.as_ref().map(ToString::to_string)),
                    V::from(&commune),
                    V::from(&search),
                ],
            )
            .await?;
            return Ok(());
        }
        PartnerEvent::PartnerVerified { .. } => return Ok(()),
        PartnerEvent::PartnerArchived { .. } => true,
        PartnerEvent::PartnerUnarchived {} => false,
    };
    b.execute(
        "UPDATE rm_partners SET archived = $2 WHERE id = $1",
        vec![V::from(key), V::from(archived)],
    )
    .await?;
    Ok(())
}

async fn set_status(
    b: &mut Batch<'_, '_>,
    table: &str,
    key: &str,
    status: &str,
) -> Result<(), ProjectionError> {
    let statement = format!("UPDATE {table} SET status = $2 WHERE id = $1");
    b.execute(&statement, vec![V::from(key), V::from(status)])
        .await?;
    Ok(())
}

async fn cohort_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: CohortEvent,
) -> Result<(), ProjectionError> {
    let status = match event {
        CohortEvent::CohortCreated {
            school_uai,
            department,
            school_year,
            kind,
            ..
        } => {
            b.upsert(
                "INSERT INTO rm_cohorts (id, school_uai, department, school_year, kind, status, \
                 pupils, parents, trainings) VALUES ($1, $2, $3, $4, $5, 'draft', 0, 0, 0) \
                 ON CONFLICT (id) DO NOTHING",
                vec![
                    V::from(key),
                    V::from(school_uai.to_string()),
                    V::from(department.to_string()),
                    V::from(school_year.to_string()),
                    V::from(ident(&kind)),
                ],
            )
            .await?;
            return Ok(());
        }
        CohortEvent::CountsSet { counts } => {
            let parents: u32 = counts
                .iter()
                .filter(|(level, _)| **level == ClassLevel::Parents)
                .map(|(_, n)| *n)
                .sum();
            let pupils: u32 = counts.values().sum::<u32>() - parents;
            b.execute(
                "UPDATE rm_cohorts SET pupils = $2, parents = $3 WHERE id = $1",
                vec![
                    V::from(key),
                    V::from(i64::from(pupils)),
                    V::from(i64::from(parents)),
                ],
            )
            .await?;
            return Ok(());
        }
        CohortEvent::TrainingRecorded(_) => {
            b.execute(
                "UPDATE rm_cohorts SET trainings = trainings + 1 WHERE id = $1",
                vec![V::from(key)],
            )
            .await?;
            b.execute(
                "UPDATE rm_cohorts SET status = 'trained' WHERE id = $1 AND status = 'declared'",
                vec![V::from(key)],
            )
            .await?;
            return Ok(());
        }
        CohortEvent::CohortDeclared { .. } => {
            // Declared with a training recorded while a draft: trained at once.
            match b.row("rm_cohorts", key, &["trainings"]).await?.as_deref() {
                Some([V::Int(Some(n))]) if *n > 0 => "trained",
                Some(_) => "declared",
                None => return Ok(()),
            }
        }
        CohortEvent::CohortActivated { .. } => "active",
        CohortEvent::CohortClosed { .. } => "closed",
        CohortEvent::NamesSet { .. } => return Ok(()),
    };
    set_status(b, "rm_cohorts", key, status).await
}

/// Writes an action's details; `declared`: its first (no school of it recorded yet).
async fn action_details(
    b: &mut Batch<'_, '_>,
    key: &str,
    details: &ActionDetails,
    declared: bool,
) -> Result<(), ProjectionError> {
    let types = details
        .types
        .iter()
        .map(ident)
        .collect::<Vec<_>>()
        .join(",");
    let (uai, department) = details
        .schools
        .first()
        .map(|s| (s.uai.to_string(), s.department.to_string()))
        .unwrap_or_default();
    b.execute(
        "UPDATE rm_actions SET school_uai = $2, department = $3, held_on = $4, types = $5, \
         pupils_reached = $6, adults_reached = $7, held = $8 WHERE id = $1",
        vec![
            V::from(key),
            V::from(&uai),
            V::from(&department),
            V::from(details.date.to_string()),
            V::from(&types),
            V::from(i64::from(details.pupils_reached)),
            V::from(i64::from(details.adults_reached)),
            V::from(details.held),
        ],
    )
    .await?;
    if !declared {
        b.execute(
            "DELETE FROM rm_action_schools WHERE action_id = $1",
            vec![V::from(key)],
        )
        .await?;
    }
    for school in &details.schools {
        b.upsert(
            "INSERT INTO rm_action_schools (action_id, uai, department) VALUES ($1, $2, $3) \
             ON CONFLICT (action_id, uai) DO NOTHING",
            vec![
                V::from(key),
                V::from(school.uai.to_string()),
                V::from(school.department.to_string()),
            ],
        )
        .await?;
    }
    Ok(())
}

async fn action_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: ActionEvent,
) -> Result<(), ProjectionError> {
    let status = match event {
        ActionEvent::ActionDeclared {
            school_year,
            campaign,
            details,
        } => {
            b.upsert(
                "INSERT INTO rm_actions (id, school_year, campaign, school_uai, department, \
                 held_on, types, pupils_reached, adults_reached, held, status) \
                 VALUES ($1, $2, $3, '', '', '', '', 0, 0, FALSE, 'draft') \
                 ON CONFLICT (id) DO NOTHING",
                vec![
                    V::from(key),
                    V::from(school_year.to_string()),
                    V::from(ident(&campaign)),
                ],
            )
            .await?;
            return action_details(b, key, &details, true).await;
        }
        ActionEvent::ActionEdited { details } => {
            return action_details(b, key, &details, false).await;
        }
        ActionEvent::ActionSubmitted => "submitted",
        ActionEvent::ActionReturned { .. } => "returned",
        ActionEvent::ActionValidated => "validated",
        ActionEvent::ActionPublished => "published",
    };
    set_status(b, "rm_actions", key, status).await
}

async fn entry_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: EntryEvent,
) -> Result<(), ProjectionError> {
    let status = match event {
        EntryEvent::EntryCreated {
            contest_id,
            school_uai,
            department,
            details,
            ..
        } => {
            b.upsert(
                "INSERT INTO rm_entries (id, contest_id, school_uai, department, category, title, \
                 pupil_count, adult_count, files, status, own_status, awards) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 'draft', 'draft', '') \
                 ON CONFLICT (id) DO NOTHING",
                vec![
                    V::from(key),
                    V::from(contest_id.to_string()),
                    V::from(school_uai.to_string()),
                    V::from(department.to_string()),
                    V::from(&details.category),
                    V::from(&details.title),
                    V::from(i64::from(details.group.pupil_count)),
                    V::from(i64::from(details.group.adult_count)),
                ],
            )
            .await?;
            return Ok(());
        }
        EntryEvent::EntryEdited { details } => {
            b.execute(
                "UPDATE rm_entries SET category = $2, title = $3, pupil_count = $4, \
                 adult_count = $5 WHERE id = $1",
                vec![
                    V::from(key),
                    V::from(&details.category),
                    V::from(&details.title),
                    V::from(i64::from(details.group.pupil_count)),
                    V::from(i64::from(details.group.adult_count)),
                ],
            )
            .await?;
            return Ok(());
        }
        EntryEvent::FileAttached(_) | EntryEvent::FileRemoved { .. } => {
            let change = if matches!(event, EntryEvent::FileAttached(_)) {
                "files + 1"
            } else {
                "files - 1"
            };
            let statement = format!("UPDATE rm_entries SET files = {change} WHERE id = $1");
            b.execute(&statement, vec![V::from(key)]).await?;
            return Ok(());
        }
        EntryEvent::FilesDeleted { file_ids, .. } => {
            let n = i64::try_from(file_ids.len()).unwrap_or(0);
            if let Some([V::Int(files)]) = b.row("rm_entries", key, &["files"]).await?.as_deref() {
                // As `CASE WHEN files > n THEN files - n ELSE 0 END` would.
                let left = files
                    .filter(|files| *files > n)
                    .map_or(0, |files| files - n);
                b.execute(
                    "UPDATE rm_entries SET files = $2 WHERE id = $1",
                    vec![V::from(key), V::from(left)],
                )
                .await?;
            }
            return Ok(());
        }
        EntryEvent::EntrySubmitted { .. } => "submitted",
        EntryEvent::EntryWithdrawn => "withdrawn",
        EntryEvent::AdmissibilityDecided { admissible, .. } => {
            if admissible {
                "admissible"
            } else {
                "inadmissible"
            }
        }
        // The first juror takes an admissible entry before the jury.
        EntryEvent::JurorAssigned { .. } => {
            b.execute(
                "UPDATE rm_entries SET own_status = 'under_jury' \
                 WHERE id = $1 AND own_status = 'admissible'",
                vec![V::from(key)],
            )
            .await?;
            return restand_entry(b, key).await;
        }
        EntryEvent::ResponsibleChanged { .. }
        | EntryEvent::Attested(_)
        | EntryEvent::EntryScored { .. } => return Ok(()),
    };
    b.execute(
        "UPDATE rm_entries SET own_status = $2 WHERE id = $1",
        vec![V::from(key), V::from(status)],
    )
    .await?;
    restand_entry(b, key).await
}

/// An edition's events that change where its entries stand: awards (shown once the
/// palmarès is published), publication, the national round's result, the close.
async fn contest_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: ContestEvent,
) -> Result<(), ProjectionError> {
    match event {
        ContestEvent::EditionCreated { .. } => {
            b.upsert(
                "INSERT INTO rm_contests (id, published, closed) VALUES ($1, FALSE, FALSE) \
                 ON CONFLICT (id) DO NOTHING",
                vec![V::from(key)],
            )
            .await?;
            Ok(())
        }
        ContestEvent::AwardGranted { entry_id, kind, .. }
        | ContestEvent::AwardRevoked { entry_id, kind, .. } => {
            let granted = matches!(event, ContestEvent::AwardGranted { .. });
            let entry = entry_id.to_string();
            let held = b.row("rm_entries", &entry, &["awards"]).await?;
            let Some([V::Text(held)]) = held.as_deref() else {
                return Ok(());
            };
            let mut awards = parse_awards(held.as_deref().unwrap_or_default());
            awards.retain(|k| *k != kind);
            if granted {
                awards.push(kind);
            }
            let text = awards.iter().map(ident).collect::<Vec<_>>().join(",");
            b.execute(
                "UPDATE rm_entries SET awards = $2 WHERE id = $1",
                vec![V::from(&entry), V::from(text)],
            )
            .await?;
            restand_entry(b, &entry).await
        }
        ContestEvent::NationalResultRecorded { entry_id, awarded } => {
            let entry = entry_id.to_string();
            b.execute(
                "UPDATE rm_entries SET national = $2 WHERE id = $1",
                vec![V::from(&entry), V::from(awarded)],
            )
            .await?;
            restand_entry(b, &entry).await
        }
        ContestEvent::ResultsPublished { .. } | ContestEvent::CampaignClosed => {
            let column = if matches!(event, ContestEvent::CampaignClosed) {
                "closed"
            } else {
                "published"
            };
            let statement = format!("UPDATE rm_contests SET {column} = TRUE WHERE id = $1");
            b.execute(&statement, vec![V::from(key)]).await?;
            restand(b, key).await
        }
        ContestEvent::DeadlineExtended { .. } | ContestEvent::JurorAppointed { .. } => Ok(()),
    }
}

fn parse_awards(text: &str) -> Vec<AwardKind> {
    text.split(',')
        .filter_map(|k| serde_json::from_value(serde_json::Value::String(k.to_owned())).ok())
        .collect()
}

/// Recomputes `status` — where an entry stands, as the contest's own rule says
/// ([`EntryStatus::standing`]) — of the entry `id`, from its row and its edition's as
/// the batch holds them.
async fn restand_entry(b: &mut Batch<'_, '_>, id: &str) -> Result<(), ProjectionError> {
    let entry = b
        .row(
            "rm_entries",
            id,
            &["own_status", "awards", "national", "contest_id"],
        )
        .await?;
    let Some(
        [
            V::Text(Some(own)),
            V::Text(awards),
            national,
            V::Text(Some(contest)),
        ],
    ) = entry.as_deref()
    else {
        return Ok(());
    };
    let national = match national {
        V::Bool(b) | V::NullableBool(Some(b)) => Some(*b),
        _ => None,
    };
    let Ok(own) = serde_json::from_value::<EntryStatus>(serde_json::Value::String(own.clone()))
    else {
        return Ok(());
    };
    // An entry of an edition not (yet) known: neither published nor closed.
    let edition = b
        .row("rm_contests", contest, &["published", "closed"])
        .await?;
    let (published, closed) = match edition.as_deref() {
        Some([V::Bool(published), V::Bool(closed)]) => (*published, *closed),
        _ => (false, false),
    };
    let awards = parse_awards(awards.as_deref().unwrap_or_default());
    let standing = own.standing(closed, published, &awards, national);
    b.execute(
        "UPDATE rm_entries SET status = $2 WHERE id = $1",
        vec![V::from(id), V::from(ident(&standing))],
    )
    .await
}

/// The department of the school `uai`, as the lists hold it.
pub(crate) async fn school_department(
    b: &mut Batch<'_, '_>,
    uai: &str,
) -> Result<Option<String>, ProjectionError> {
    Ok(
        match b.row("rm_schools", uai, &["department"]).await?.as_deref() {
            Some([V::Text(department)]) => department.clone(),
            _ => None,
        },
    )
}

/// [`restand_entry`] of every entry of the edition `contest` (one statement).
async fn restand(b: &mut Batch<'_, '_>, contest: &str) -> Result<(), ProjectionError> {
    let statement = "SELECT e.id, e.own_status, e.awards, e.national, \
         COALESCE(c.published, FALSE), COALESCE(c.closed, FALSE) \
         FROM rm_entries e LEFT JOIN rm_contests c ON c.id = e.contest_id \
         WHERE e.contest_id = $1";
    type Row = (String, String, String, Option<bool>, bool, bool);
    let (tx, query) = b.before_read(statement).await?;
    let query = sqlx::AssertSqlSafe(query);
    let rows: Vec<Row> = match tx {
        ProjectionTx::Postgres(c) => {
            sqlx::query_as(query)
                .bind(contest)
                .fetch_all(&mut **c)
                .await?
        }
        ProjectionTx::Sqlite(c) => {
            sqlx::query_as(query)
                .bind(contest)
                .fetch_all(&mut **c)
                .await?
        }
    };
    // Their rows, to be changed in memory: one read for all.
    b.preload("rm_entries", rows.iter().map(|row| row.0.clone()))
        .await?;
    for (id, own, awards, national, published, closed) in rows {
        let Ok(own) = serde_json::from_value::<EntryStatus>(serde_json::Value::String(own)) else {
            continue;
        };
        let standing = own.standing(closed, published, &parse_awards(&awards), national);
        b.execute(
            "UPDATE rm_entries SET status = $2 WHERE id = $1",
            vec![V::from(&id), V::from(ident(&standing))],
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_ignores_case_and_accents() {
        assert_eq!(
            fold("Collège Émile-Zola Béziers"),
            "college emile-zola beziers"
        );
    }
}
