//! Category `reminder`, owned by `reminders`. Two kinds of streams:
//!
//! - a rule, `reminder-rule.<key>` (e.g. `reminder-rule.session_convocation_j2`): what the
//!   pole set of a reminder rule ([`RuleEvent`]). Without a stream, the shipped default
//!   of that key applies.
//! - a reminder, `reminder-<uuid v5 of its key>`: the ledger of one reminder, keyed by
//!   (rule, recipient, target, occurrence) ([`ReminderKey`], [`ReminderEvent`]). The id is
//!   derived from the key, so the store's expected-version check makes a second
//!   `reminder_scheduled` (or a second claim of the same attempt) of one key impossible:
//!   two schedulers racing on the same key, one appends, the other gets a conflict.
//!
//! Nothing personal: a recipient is a vault person (its e-mail is unsealed at send
//! time), a target names a session, a school or an edition.

use chrono::{DateTime, NaiveDate, Utc};
use pharos_privacy::PersonId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const CATEGORY: &str = "reminder";

/// The prefix of a rule's stream id, after the category.
pub const RULE_PREFIX: &str = "rule.";

/// The id of a rule's stream in [`CATEGORY`].
pub fn rule_stream_id(key: &str) -> String {
    format!("{RULE_PREFIX}{key}")
}

/// The namespace of reminder stream ids (UUID v5 of the key).
const KEY_NAMESPACE: Uuid = Uuid::from_u128(0x5b0c_7d0e_9a4f_4c61_8f3e_2d1a_6c5b_4e72);

/// What makes one reminder: the rule, who receives it, what it is about, and which
/// occurrence of its trigger date (a moved date is a new occurrence, so the reminder of
/// the old date never fires and the new one is armed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReminderKey {
    pub rule: String,
    pub recipient: PersonId,
    /// `training_session-<uuid>`, `school-<uai>:2025-2026`, …
    pub target: String,
    /// The trigger date this reminder is for.
    pub occurrence: NaiveDate,
}

impl ReminderKey {
    fn canonical(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.rule, self.recipient, self.target, self.occurrence
        )
    }

    /// The same key always gives the same id; another key another id.
    pub fn id(&self) -> Uuid {
        Uuid::new_v5(&KEY_NAMESPACE, self.canonical().as_bytes())
    }

    /// The id of the reminder's stream in [`CATEGORY`].
    pub fn stream_id(&self) -> String {
        self.id().to_string()
    }

    /// The `Message-ID` of its mail, stable across attempts and processes.
    pub fn message_id(&self, domain: &str) -> String {
        format!("<reminder.{}@{domain}>", self.id().simple())
    }
}

/// The `Message-ID` of a digest: one mail to one recipient listing several reminders of
/// one rule and occurrence (a department referent's schools). Derived from the keys it
/// lists, in any order: the same digest tried again keeps its id; each key's
/// `reminder_sent` carries it, so the keys a digest listed are found by it.
pub fn digest_message_id<'a>(
    keys: impl IntoIterator<Item = &'a ReminderKey>,
    domain: &str,
) -> String {
    let mut ids: Vec<Uuid> = keys.into_iter().map(ReminderKey::id).collect();
    ids.sort_unstable();
    let mut canonical = String::from("digest");
    for id in ids {
        canonical.push('\u{1f}');
        canonical.push_str(&id.simple().to_string());
    }
    let id = Uuid::new_v5(&KEY_NAMESPACE, canonical.as_bytes());
    format!("<digest.{}@{domain}>", id.simple())
}

/// The date a rule counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = ReminderTrigger,
    description = "Date de déclenchement : national_day (Journée nationale), contest_opening \
                   (ouverture du concours), contest_deadline (date limite de dépôt), jury_date \
                   (jury académique), session_start (début d'une session de formation), \
                   session_end (fin d'une session : saisie des présences), session_cancelled \
                   (annulation d'une session : l'avis part au passage suivant, jusqu'au début \
                   prévu), charter_end (fin de la charte pHARe), school_year_start (rentrée, 1er septembre), school_year_end \
                   (fin d'année, 30 juin), account_created (création d'un compte : l'invitation \
                   part au passage suivant, avec un lien pour choisir son mot de passe), \
                   password_reset_requested (demande « mot de passe oublié » : le lien part au \
                   passage suivant), registration_confirmed (inscription confirmée à une session : \
                   la convocation part au passage suivant, avant le début de la session)."
)]
pub enum Trigger {
    NationalDay,
    ContestOpening,
    ContestDeadline,
    JuryDate,
    SessionStart,
    SessionEnd,
    /// A session was cancelled: its notice goes at the next evaluation, not on a
    /// schedule, until the session's planned start.
    SessionCancelled,
    CharterEnd,
    SchoolYearStart,
    SchoolYearEnd,
    /// An account was created: its invitation, with a set-password link minted at send
    /// time, goes at the next evaluation (within the catch-up window).
    AccountCreated,
    /// A « mot de passe oublié » request was recorded: the link goes at the next
    /// evaluation (within the catch-up window).
    PasswordResetRequested,
    /// A registration to a session was confirmed (directly or from the waiting list):
    /// its convocation goes at the next evaluation, within the catch-up window and
    /// before the session starts.
    RegistrationConfirmed,
}

/// Who receives a rule's reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = ReminderAudience,
    description = "Destinataires : schools (comptes des établissements concernés), \
                   department_referents (référents des départements concernés : pour une \
                   règle sur des établissements, un seul courriel récapitulatif par règle et \
                   occurrence listant tous leurs établissements concernés ; pour la fin d'une \
                   session, les référents du département de la session), \
                   registrants (inscrits confirmés d'une session), trainers (formateurs d'une \
                   session ; pour la fin d'une session sans formateur, les référents de son \
                   département), jurors (jurés de l'édition), account (le compte concerné, pour \
                   l'invitation et la réinitialisation du mot de passe)."
)]
pub enum Audience {
    Schools,
    DepartmentReferents,
    Registrants,
    Trainers,
    Jurors,
    /// The account an account event is about.
    Account,
}

/// What must still hold, at the instant of sending, for a reminder to go.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = ReminderCondition,
    description = "Condition : none (aucune), no_submitted_action (l'établissement n'a soumis \
                   aucune action de la Journée nationale de l'année), draft_contest_entry \
                   (l'établissement a une participation au concours encore en brouillon), \
                   attendance_not_entered (la session est terminée sans que ses présences \
                   soient saisies ni verrouillées ; avec session_end)."
)]
pub enum Condition {
    #[default]
    None,
    NoSubmittedAction,
    DraftContestEntry,
    /// The session ended and its attendance is neither locked nor recorded for every
    /// confirmed registrant and slot. Entered before the reminder is due, the reminder
    /// is recorded as suppressed, with the reason.
    AttendanceNotEntered,
}

/// A rule's French mail, as minijinja templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Templates {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A reminder rule, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDefinition {
    /// What the pole reads (« Convocation J−2 »).
    pub label: String,
    pub enabled: bool,
    pub trigger: Trigger,
    /// Days after the trigger date (negative: before).
    pub offset_days: i32,
    pub audience: Audience,
    #[serde(default)]
    pub condition: Condition,
    /// When in the day (or week) the reminder goes, as a `cron` expression (seconds
    /// first) evaluated in Europe/Paris: the first instant it matches on or after the
    /// due day.
    pub schedule: String,
    /// How late a reminder may still go: one due longer ago than this is never sent
    /// (a rule created after its dates does not blast old targets).
    pub catch_up_days: u32,
    pub templates: Templates,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleEvent {
    /// A rule the pole adds (a key that has no shipped default).
    ReminderRuleDefined { key: String, rule: RuleDefinition },
    /// The pole changed a rule: the whole rule after the change, and which fields
    /// changed.
    ReminderRuleChanged {
        rule: RuleDefinition,
        changed: Vec<String>,
    },
}

/// Why a scheduled reminder did not go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SuppressionReason)]
pub enum SuppressionReason {
    /// The condition no longer holds (the school submitted an action meanwhile).
    ConditionNoLongerTrue,
    /// The account is deactivated, or the registration withdrawn.
    RecipientInactive,
    /// The recipient's personal data was erased: no address to write to.
    RecipientErased,
    /// Its retries ran past the catch-up window.
    OutsideCatchUpWindow,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReminderEvent {
    /// The reminder is due and claimed for its first delivery attempt (only one
    /// scheduler can append it: the stream must not exist).
    ReminderScheduled {
        #[serde(flatten)]
        key: ReminderKey,
        due_at: DateTime<Utc>,
        /// Why, in French (« session du 17/03/2026, J−2 »).
        why: String,
    },
    ReminderSent {
        attempt: u32,
        /// The mail's `Message-ID`: the key's own, or the digest's that listed it
        /// ([`digest_message_id`]), shared by every key of that digest.
        message_id: String,
        /// The SMTP server's answer (or where the file outbox wrote it).
        answer: String,
        /// Sent within a digest listing this many reminders (this one included);
        /// absent for a mail of its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest_of: Option<u32>,
    },
    ReminderFailed {
        attempt: u32,
        /// The SMTP answer or the connection error.
        answer: String,
        permanent: bool,
        /// When a temporary failure is tried again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at: Option<DateTime<Utc>>,
    },
    /// A later attempt claimed, after a temporary failure (appended on the failure's
    /// version: two schedulers cannot both claim it).
    ReminderRetried { attempt: u32 },
    ReminderSuppressed {
        reason: SuppressionReason,
        detail: String,
    },
    /// The reminder no longer applies (the session was cancelled, the date moved).
    ReminderCancelled { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(occurrence: &str) -> ReminderKey {
        ReminderKey {
            rule: "session_convocation_j2".into(),
            recipient: PersonId(Uuid::from_u128(7)),
            target: "training_session-0193".into(),
            occurrence: occurrence.parse().unwrap(),
        }
    }

    #[test]
    fn a_key_gives_one_stream_and_a_moved_date_another() {
        assert_eq!(key("2026-03-10").stream_id(), key("2026-03-10").stream_id());
        assert_ne!(key("2026-03-10").stream_id(), key("2026-03-17").stream_id());
        assert_eq!(
            key("2026-03-10").message_id("ac-toulouse.fr"),
            key("2026-03-10").message_id("ac-toulouse.fr")
        );
    }

    #[test]
    fn a_digest_id_depends_on_its_keys_not_their_order() {
        let (a, b) = (key("2026-03-10"), key("2026-03-17"));
        let domain = "ac-toulouse.fr";
        assert_eq!(
            digest_message_id([&a, &b], domain),
            digest_message_id([&b, &a], domain)
        );
        assert_ne!(
            digest_message_id([&a, &b], domain),
            digest_message_id([&a], domain)
        );
        assert_ne!(digest_message_id([&a], domain), a.message_id(domain));
    }

    #[test]
    fn scheduled_events_carry_their_key_flat() {
        let event = ReminderEvent::ReminderScheduled {
            key: key("2026-03-17"),
            due_at: "2026-03-15T07:00:00Z".parse().unwrap(),
            why: "J−2".into(),
        };
        let stored = crate::encode(&event);
        assert_eq!(stored.event_type, "reminder_scheduled");
        assert_eq!(stored.data["occurrence"], "2026-03-17");
        assert_eq!(stored.data["rule"], "session_convocation_j2");
    }
}
