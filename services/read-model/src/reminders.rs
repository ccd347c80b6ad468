//! The reminder ledger as a list (`reminders(...)`): each reminder the `reminders`
//! target recorded, keyed by (rule, recipient, target, occurrence), with where it stands
//! and why, placed in the school and department it concerns so that it is scoped like
//! every list. Times are those the log recorded.

use async_graphql::{Context, Error, Object};
use chrono::{DateTime, SecondsFormat, Utc};
use pharos_events::reminder::{ReminderEvent, SuppressionReason};
use pharos_eventstore::{ProjectionError, RecordedEvent};

use crate::batch::{Batch, Value};
use crate::graphql::{Page, connection, page, tables, visibility};
use crate::projector::school_department;
use crate::sql::Filter;

fn utc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The school and the session a reminder's target names (`school-<uai>:<year>`,
/// `contest-<id>:school-<uai>`, `training_session-<id>`…), if any.
pub(crate) fn target_parts(target: &str) -> (Option<String>, Option<String>) {
    let session = target
        .strip_prefix("training_session-")
        .map(|id| id.split(':').next().unwrap_or_default().to_owned());
    let school = target
        .split(':')
        .find_map(|part| part.strip_prefix("school-"))
        .map(str::to_owned);
    (school, session)
}

/// A suppression's reason, in French.
fn suppressed(reason: SuppressionReason) -> &'static str {
    match reason {
        SuppressionReason::ConditionNoLongerTrue => "la condition n'est plus remplie",
        SuppressionReason::RecipientInactive => "destinataire inactif",
        SuppressionReason::RecipientErased => "données du destinataire effacées",
        SuppressionReason::OutsideCatchUpWindow => "hors de la fenêtre de rattrapage",
    }
}

/// One event of a reminder's stream (`key` its id), applied to `rm_reminders`.
pub(crate) async fn reminder_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    recorded: &RecordedEvent,
    event: ReminderEvent,
) -> Result<(), ProjectionError> {
    let at = utc(recorded.recorded_at);
    match event {
        ReminderEvent::ReminderScheduled {
            key: k,
            due_at,
            why,
        } => {
            let (school, session) = target_parts(&k.target);
            // The department it concerns: its school's, or its session's (none for an
            // academy-wide session).
            let department = match (&school, &session) {
                (Some(uai), _) => school_department(b, uai).await?,
                (None, Some(session)) => {
                    match b
                        .row("rm_sessions", session, &["department"])
                        .await?
                        .as_deref()
                    {
                        Some([Value::Text(department)]) => {
                            department.clone().filter(|d| !d.is_empty())
                        }
                        _ => None,
                    }
                }
                (None, None) => None,
            };
            b.upsert(
                "INSERT INTO rm_reminders (id, rule, recipient, target, occurrence, due_at, \
                 why, status, reason, attempts, retry_at, scheduled_at, updated_at, school_uai, \
                 session_id, department) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 $12, $13, $14, $15, $16) ON CONFLICT (id) DO NOTHING",
                vec![
                    key.into(),
                    k.rule.into(),
                    k.recipient.0.to_string().into(),
                    k.target.into(),
                    k.occurrence.to_string().into(),
                    utc(due_at).into(),
                    (&why).into(),
                    "sending".into(),
                    why.into(),
                    Value::Int(Some(1)),
                    Value::Text(None),
                    (&at).into(),
                    at.into(),
                    Value::Text(school),
                    Value::Text(session),
                    Value::Text(department),
                ],
            )
            .await?;
        }
        ReminderEvent::ReminderSent {
            attempt, answer, ..
        } => {
            set(b, key, "sent", Some(attempt), None, &answer, &at).await?;
        }
        ReminderEvent::ReminderFailed {
            attempt,
            answer,
            permanent,
            retry_at,
        } => {
            let status = if permanent { "failed" } else { "failing" };
            let retry = retry_at.map(utc);
            set(b, key, status, Some(attempt), retry, &answer, &at).await?;
        }
        ReminderEvent::ReminderRetried { attempt } => {
            set(
                b,
                key,
                "sending",
                Some(attempt),
                None,
                "nouvelle tentative",
                &at,
            )
            .await?;
        }
        ReminderEvent::ReminderSuppressed { reason, detail } => {
            let why = if detail.is_empty() {
                suppressed(reason).to_owned()
            } else {
                format!("{} : {detail}", suppressed(reason))
            };
            set(b, key, "suppressed", None, None, &why, &at).await?;
        }
        ReminderEvent::ReminderCancelled { reason } => {
            set(b, key, "cancelled", None, None, &reason, &at).await?;
        }
    }
    Ok(())
}

/// A reminder's new state: its reason is why it went, then what happened.
#[allow(clippy::too_many_arguments)]
async fn set(
    b: &mut Batch<'_, '_>,
    id: &str,
    status: &str,
    attempt: Option<u32>,
    retry_at: Option<String>,
    what: &str,
    at: &str,
) -> Result<(), ProjectionError> {
    b.execute(
        "UPDATE rm_reminders SET status = $2, attempts = COALESCE($3, attempts), \
         retry_at = $4, reason = why || ' — ' || $5, updated_at = $6 WHERE id = $1",
        vec![
            id.into(),
            status.into(),
            Value::Int(attempt.map(i64::from)),
            Value::Text(retry_at),
            what.into(),
            at.into(),
        ],
    )
    .await
}

/// Un rappel du registre : à qui, selon quelle règle, pour quelle occurrence, où il en
/// est et pourquoi.
#[derive(sqlx::FromRow, Clone)]
pub struct Reminder {
    id: String,
    rule: String,
    recipient: String,
    target: String,
    occurrence: String,
    due_at: String,
    status: String,
    reason: String,
    attempts: i64,
    retry_at: Option<String>,
    scheduled_at: String,
    updated_at: String,
    school_uai: Option<String>,
    session_id: Option<String>,
    department: Option<String>,
}

const COLUMNS: &str = "id, rule, recipient, target, occurrence, due_at, status, reason, attempts, \
     retry_at, scheduled_at, updated_at, school_uai, session_id, department";

/// A status in French.
fn status_label(status: &str) -> &'static str {
    match status {
        "sending" => "en cours d'envoi",
        "sent" => "envoyé",
        "failing" => "en échec temporaire",
        "failed" => "en échec définitif",
        "suppressed" => "écarté",
        "cancelled" => "annulé",
        _ => "inconnu",
    }
}

/// Un rappel du registre.
#[Object]
impl Reminder {
    /// Identifiant du rappel (dérivé de sa clé).
    async fn id(&self) -> &str {
        &self.id
    }
    /// Clé de la règle (ex. `national_day_report_j7`).
    async fn rule(&self) -> &str {
        &self.rule
    }
    /// Le destinataire : son nom et son adresse, ou « donnée effacée » (lecture
    /// nominative consignée).
    async fn recipient(&self, ctx: &Context<'_>) -> Result<crate::people::Person, Error> {
        crate::people::by_id(ctx, &self.recipient).await
    }
    /// Ce qu'il concerne : `training_session-<id>`, `school-<uai>:<année>`…
    async fn target(&self) -> &str {
        &self.target
    }
    /// L'établissement concerné, s'il y en a un.
    async fn school_uai(&self) -> Option<&str> {
        self.school_uai.as_deref()
    }
    /// La session concernée, s'il y en a une.
    async fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
    /// Le département concerné (absent pour un rappel académique ou un compte).
    async fn department(&self) -> Option<&str> {
        self.department.as_deref()
    }
    /// La date de déclenchement de cette occurrence.
    async fn occurrence(&self) -> &str {
        &self.occurrence
    }
    /// Quand il était dû (UTC).
    async fn due_at(&self) -> &str {
        &self.due_at
    }
    /// `sending`, `sent`, `failing`, `failed`, `suppressed` ou `cancelled`.
    async fn status(&self) -> &str {
        &self.status
    }
    /// L'état, en français.
    async fn status_label(&self) -> &str {
        status_label(&self.status)
    }
    /// Pourquoi il part, puis ce qui est arrivé (réponse du serveur de courriel, motif
    /// de l'abandon ou de l'annulation).
    async fn reason(&self) -> &str {
        &self.reason
    }
    /// Tentatives d'envoi.
    async fn attempts(&self) -> i64 {
        self.attempts
    }
    /// Prochaine tentative, après un échec temporaire.
    async fn retry_at(&self) -> Option<&str> {
        self.retry_at.as_deref()
    }
    /// Quand il a été programmé (UTC).
    async fn scheduled_at(&self) -> &str {
        &self.scheduled_at
    }
    /// Son dernier changement (UTC).
    async fn updated_at(&self) -> &str {
        &self.updated_at
    }
}

/// The reminders the caller sees: all for the pole, those of their departments for a
/// referent (a school's, a session's), a school's own; most recent first.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn list(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    rule: Option<String>,
    status: Option<String>,
    target: Option<String>,
    department: Option<String>,
    school_uai: Option<String>,
) -> Result<Page<Reminder>, Error> {
    let seen = visibility(ctx)?;
    let mut filter = Filter::default();
    if !seen.all {
        filter.any_of(&[
            ("department", &seen.departments),
            ("school_uai", &seen.schools),
        ]);
    }
    filter.eq("rule", rule);
    filter.eq("status", status);
    filter.eq("target", target);
    filter.eq("department", department);
    filter.eq("school_uai", school_uai.map(|u| u.trim().to_uppercase()));
    connection(
        tables(ctx)?,
        COLUMNS,
        "rm_reminders",
        &filter,
        "updated_at DESC, id",
        page(first, after)?,
        |r: Reminder| r,
    )
    .await
}
