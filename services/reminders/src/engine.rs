//! Evaluating the rules at an instant, and delivering what is due.
//!
//! A reminder is due at the first instant its rule's schedule matches on or after its
//! trigger date plus the rule's offset (in Paris). At an instant `at`, the reminders due
//! in `(at − catch-up window, at]` are scheduled — older ones never are, so a rule
//! created late does not blast old targets — each under its key (rule, recipient,
//! target, occurrence = the trigger date). Scheduling appends `reminder_scheduled` to
//! the key's own stream, which must not exist: of two schedulers racing, one appends and
//! delivers, the other gets a conflict and moves on. A temporary failure is tried again
//! on a later run after a growing pause; a reminder whose facts changed meanwhile (the
//! session moved or was cancelled, the school reported) is cancelled or suppressed
//! instead.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Europe::Paris;
use futures::StreamExt;
use pharos_access::{Projected, RESET_PAGE, RESET_TOKEN_TTL, TokenKeys};
use pharos_events::phare::SchoolYear;
use pharos_events::reminder::{
    self, Audience, Condition, ReminderEvent, ReminderKey, RuleDefinition, SuppressionReason,
    Trigger,
};

use pharos_events::{Role, Uai, encode};
use pharos_eventstore::{EventStore, ExpectedVersion, Metadata, StoreError, StreamId};
use pharos_privacy::{PersonId, Personal, Vault};
use uuid::Uuid;

use crate::facts::{Facts, Status};
use crate::mail::{Invitation, Mailer, Outcome};
use crate::rules::{self, Schedule};
use crate::templates::{
    self, AccountFacts, ContestFacts, MailContext, NationalDayFacts, SchoolFacts, SchoolLine,
    SessionFacts,
};

/// Attempts before a temporary failure is given up as permanent.
const MAX_ATTEMPTS: u32 = 12;
/// A claimed attempt with no outcome for this long was lost with its process.
const STALE_CLAIM_MINUTES: i64 = 15;
/// Deliveries in flight at once.
const CONCURRENCY: usize = 8;

/// The pause before attempt `attempt + 1`: 5 minutes, doubling, at most 6 hours.
pub fn backoff(attempt: u32) -> Duration {
    let minutes = 5i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(10));
    Duration::minutes(minutes.min(6 * 60))
}

/// One reminder's target as the facts show it now.
#[derive(Debug, Clone)]
struct Target {
    target: String,
    occurrence: NaiveDate,
    recipients: Vec<Uuid>,
    context: MailContext,
    session: Option<Uuid>,
    /// A session's calendar invitation, its UID completed per recipient.
    invitation: Option<Invitation>,
    /// A notice due as soon as evaluated (a cancellation), until this instant, instead
    /// of on its rule's schedule.
    until: Option<DateTime<Utc>>,
    /// Such a notice's event: not due before it happened.
    since: Option<DateTime<Utc>>,
    /// The account a set-password link is minted for, when the mail is built.
    reset_for: Option<Uuid>,
    /// Its line in a department referent's digest.
    line: Option<SchoolLine>,
    /// Why the rule's condition no longer holds for it (the attendance was entered): a
    /// reminder due is then recorded as suppressed, with this, instead of sent.
    unmet: Option<String>,
}

/// What a run does with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Schedule and deliver (first attempt).
    Send,
    /// Deliver again after a temporary failure, or a claim lost with its process.
    Retry {
        attempt: u32,
    },
    Cancel {
        reason: String,
    },
    Suppress {
        reason: SuppressionReason,
        detail: String,
    },
    /// Due, but its condition no longer holds: recorded (`scheduled`, then
    /// `suppressed` with the reason), so the ledger says why it did not go.
    Withhold {
        detail: String,
    },
}

/// A decision and why.
#[derive(Debug, Clone)]
pub struct Decision {
    pub key: ReminderKey,
    pub due_at: DateTime<Utc>,
    pub action: Action,
    pub why: String,
    /// Delivered in its recipient's digest of the rule and occurrence.
    pub digest: bool,
    line: Option<SchoolLine>,
    context: Option<MailContext>,
    invitation: Option<Invitation>,
    session: Option<Uuid>,
    reset_for: Option<Uuid>,
}

/// What an evaluation found: decisions to carry out, and explanations of what it leaves.
#[derive(Debug, Default)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    /// Per rule: what was not due, too old, or already done.
    pub notes: Vec<String>,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Reminders sent (each school of a digest counts).
    pub sent: usize,
    /// Digest mails sent (to department referents, each listing several reminders).
    pub digests: usize,
    pub failed: usize,
    pub suppressed: usize,
    pub cancelled: usize,
    /// Keys another scheduler took first.
    pub conflicts: usize,
    /// Reminders the store could not record (taken up again by a later run).
    pub errors: usize,
}

/// The reminder engine of one process.
#[derive(Clone)]
pub struct Engine {
    pub store: EventStore,
    vault: Arc<Vault>,
    /// Mints the set-password links of invitations and reset mails, with the key every
    /// target derives from the vault's master key: the token exists only in the mail,
    /// never in the log.
    tokens: TokenKeys,
    pub facts: Arc<Projected<Facts>>,
    pub mailer: Mailer,
    /// How far [`Engine::catch_up`] has read.
    read_through: Arc<tokio::sync::Mutex<pharos_eventstore::GlobalPosition>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("mailer", &self.mailer)
            .finish_non_exhaustive()
    }
}

fn metadata() -> Metadata {
    Metadata {
        actor_id: Some("reminders-scheduler".into()),
        source_target: Some(crate::NAME.into()),
        ..Metadata::default()
    }
}

/// The rules in force: the shipped defaults with what the pole changed, and the pole's
/// own rules, by key.
pub fn rules_in_force(facts: &Facts) -> Vec<(String, RuleDefinition)> {
    let mut all: Vec<(String, RuleDefinition)> = rules::defaults()
        .into_iter()
        .map(|(k, r)| (k.to_owned(), facts.rules.get(k).cloned().unwrap_or(r)))
        .collect();
    let mut added: Vec<(String, RuleDefinition)> = facts
        .rules
        .iter()
        .filter(|(k, _)| rules::default_of(k).is_none())
        .map(|(k, r)| (k.clone(), r.clone()))
        .collect();
    added.sort_by(|a, b| a.0.cmp(&b.0));
    all.extend(added);
    all
}

fn paris_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&Paris).date_naive()
}

impl Engine {
    pub async fn start(
        store: &EventStore,
        vault: Arc<Vault>,
        tokens: TokenKeys,
        mailer: Mailer,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Result<Self, StoreError> {
        let facts =
            Projected::start(store, crate::facts::CATEGORIES, Facts::apply, shutdown).await?;
        // Everything up to where the catch-up ended is applied: a read-through starts
        // there, where reading from the start read the whole log again (nine million
        // events, about 30 s at national scale) for nothing.
        let engine = Self {
            store: store.clone(),
            vault,
            tokens,
            read_through: Arc::new(tokio::sync::Mutex::new(facts.position())),
            facts,
            mailer,
        };
        engine.catch_up().await?;
        Ok(engine)
    }

    /// Reads through what the subscription may not have delivered yet, so that a run or
    /// a request right after a command of another process sees it. Only the events since
    /// the last read-through are read.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let categories: Vec<String> = crate::facts::CATEGORIES
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        // What committed before this call is readable first: on PostgreSQL an event is
        // withheld while an older transaction of the cluster is open, so a run right
        // after a command could miss it (a moved session, a submitted action).
        if !self
            .store
            .settle(std::time::Duration::from_secs(10))
            .await?
        {
            tracing::warn!(
                "reminders: the latest events are not readable yet; evaluating without them"
            );
        }
        let mut after = *self.read_through.lock().await;
        loop {
            let page = self.store.read_all(after, 1000, &categories).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            self.facts.apply_read(&page);
        }
        *self.read_through.lock().await = after;
        Ok(())
    }

    /// What is due at `at`, and why, on the facts as they are (call [`Engine::catch_up`]
    /// first to include the latest events); changes nothing.
    pub fn evaluate(&self, at: DateTime<Utc>) -> Plan {
        self.facts.read(|facts| evaluate(facts, &self.mailer, at))
    }

    /// Evaluates at `at` and carries the decisions out.
    pub async fn run(&self, at: DateTime<Utc>) -> Result<Report, StoreError> {
        self.catch_up().await?;
        let plan = self.evaluate(at);
        Ok(self.execute(plan, at).await)
    }

    /// Carries out the decisions of `plan` (evaluated at `at`): a key another scheduler
    /// took meanwhile is a conflict, skipped. The reminders of a digest rule due to one
    /// recipient for one occurrence go together, in one mail.
    pub async fn execute(&self, plan: Plan, at: DateTime<Utc>) -> Report {
        let mut units: Vec<Vec<Decision>> = Vec::new();
        let mut digests: HashMap<(String, Uuid, NaiveDate), usize> = HashMap::new();
        for decision in plan.decisions {
            let delivered = matches!(decision.action, Action::Send | Action::Retry { .. });
            if !(decision.digest && delivered) {
                units.push(vec![decision]);
                continue;
            }
            let group = (
                decision.key.rule.clone(),
                decision.key.recipient.0,
                decision.key.occurrence,
            );
            match digests.get(&group) {
                Some(&unit) => units[unit].push(decision),
                None => {
                    digests.insert(group, units.len());
                    units.push(vec![decision]);
                }
            }
        }
        let mut report = Report::default();
        let mut outcomes = futures::stream::iter(units)
            .map(|unit| self.carry_out(unit, at))
            .buffer_unordered(CONCURRENCY);
        while let Some(carried) = outcomes.next().await {
            report.digests += usize::from(carried.digest_sent);
            for outcome in carried.outcomes {
                // One store failure must not drop the deliveries in flight: their
                // outcomes still get recorded; the failed one is taken up again by a
                // later run.
                let outcome = match outcome {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        tracing::warn!(error = %e, "reminder not recorded; a later run takes it up");
                        report.errors += 1;
                        continue;
                    }
                };
                match outcome {
                    Done::Sent => report.sent += 1,
                    Done::Failed => report.failed += 1,
                    Done::Suppressed => report.suppressed += 1,
                    Done::Cancelled => report.cancelled += 1,
                    Done::Conflict => report.conflicts += 1,
                }
            }
        }
        report
    }

    async fn append(
        &self,
        key: &ReminderKey,
        expected: ExpectedVersion,
        event: ReminderEvent,
        at: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let stream = StreamId::new(reminder::CATEGORY, key.stream_id())?;
        match self
            .store
            .append(&stream, expected, vec![encode(&event)], &metadata())
            .await
        {
            Ok(done) => {
                let id = key.id();
                self.facts.update(|f| f.record(id, done.version, event, at));
                Ok(Some(done.version))
            }
            Err(StoreError::WrongExpectedVersion { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One unit: a single decision, or the reminders of one digest. Each key is
    /// claimed on its own stream; those claimed are delivered together.
    async fn carry_out(&self, unit: Vec<Decision>, at: DateTime<Utc>) -> Carried {
        let mut carried = Carried::default();
        let mut claims = Vec::with_capacity(unit.len());
        for decision in unit {
            match self.claim(decision, at).await {
                Ok(Claimed::Delivering(claim)) => claims.push(*claim),
                Ok(Claimed::Done(done)) => carried.outcomes.push(Ok(done)),
                Err(e) => carried.outcomes.push(Err(e)),
            }
        }
        if !claims.is_empty() {
            let (outcomes, digest_sent) = self.deliver(claims, at).await;
            carried.outcomes.extend(outcomes);
            carried.digest_sent = digest_sent;
        }
        carried
    }

    /// Records a decision: a delivery attempt claimed, or what it came to.
    async fn claim(&self, decision: Decision, at: DateTime<Utc>) -> Result<Claimed, StoreError> {
        let key = decision.key.clone();
        let current = || {
            self.facts
                .read(|f| f.ledger.get(&key.id()).map(|l| l.version))
        };
        let (version, attempt) = match &decision.action {
            Action::Send | Action::Withhold { .. } => {
                let scheduled = ReminderEvent::ReminderScheduled {
                    key: key.clone(),
                    due_at: decision.due_at,
                    why: decision.why.clone(),
                };
                let Some(version) = self
                    .append(&key, ExpectedVersion::NoStream, scheduled, at)
                    .await?
                else {
                    return Ok(Claimed::Done(Done::Conflict));
                };
                if let Action::Withhold { detail } = &decision.action {
                    let reason = SuppressionReason::ConditionNoLongerTrue;
                    return Ok(Claimed::Done(
                        self.suppress(&key, version, reason, detail, at).await?,
                    ));
                }
                (version, 1)
            }
            Action::Retry { attempt } => {
                let Some(version) = current() else {
                    return Ok(Claimed::Done(Done::Conflict));
                };
                let retried = ReminderEvent::ReminderRetried { attempt: *attempt };
                match self
                    .append(&key, ExpectedVersion::Exact(version), retried, at)
                    .await?
                {
                    Some(version) => (version, *attempt),
                    None => return Ok(Claimed::Done(Done::Conflict)),
                }
            }
            Action::Cancel { reason } => {
                let Some(version) = current() else {
                    return Ok(Claimed::Done(Done::Conflict));
                };
                let event = ReminderEvent::ReminderCancelled {
                    reason: reason.clone(),
                };
                return Ok(Claimed::Done(
                    match self
                        .append(&key, ExpectedVersion::Exact(version), event, at)
                        .await?
                    {
                        Some(_) => Done::Cancelled,
                        None => Done::Conflict,
                    },
                ));
            }
            Action::Suppress { reason, detail } => {
                let Some(version) = current() else {
                    return Ok(Claimed::Done(Done::Conflict));
                };
                return Ok(Claimed::Done(
                    self.suppress(&key, version, *reason, detail, at).await?,
                ));
            }
        };
        Ok(Claimed::Delivering(Box::new(Claim {
            decision,
            version,
            attempt,
        })))
    }

    async fn suppress(
        &self,
        key: &ReminderKey,
        version: i64,
        reason: SuppressionReason,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<Done, StoreError> {
        let event = ReminderEvent::ReminderSuppressed {
            reason,
            detail: detail.to_owned(),
        };
        Ok(
            match self
                .append(key, ExpectedVersion::Exact(version), event, at)
                .await?
            {
                Some(_) => Done::Suppressed,
                None => Done::Conflict,
            },
        )
    }

    /// Every claim of a unit suppressed alike.
    async fn suppress_all(
        &self,
        claims: &[Claim],
        reason: SuppressionReason,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Vec<Result<Done, StoreError>> {
        let mut outcomes = Vec::with_capacity(claims.len());
        for claim in claims {
            outcomes.push(
                self.suppress(&claim.decision.key, claim.version, reason, detail, at)
                    .await,
            );
        }
        outcomes
    }

    /// Every claim of a unit failed alike.
    async fn fail_all(
        &self,
        claims: &[Claim],
        answer: &str,
        permanent: bool,
        at: DateTime<Utc>,
    ) -> Vec<Result<Done, StoreError>> {
        let mut outcomes = Vec::with_capacity(claims.len());
        for claim in claims {
            outcomes.push(
                self.record_failure(
                    &claim.decision.key,
                    claim.version,
                    claim.attempt,
                    answer.to_owned(),
                    permanent,
                    at,
                )
                .await,
            );
        }
        outcomes
    }

    /// One attempt for the claims of one unit (one recipient): the address unsealed now
    /// (an erased person gets nothing), the mail rendered — one reminder's, or a digest
    /// listing each claim's school — sent once, and its outcome recorded on every key.
    /// Returns the outcomes, and whether a digest went.
    async fn deliver(
        &self,
        claims: Vec<Claim>,
        at: DateTime<Utc>,
    ) -> (Vec<Result<Done, StoreError>>, bool) {
        let first = &claims[0].decision;
        let (recipient, session) = (first.key.recipient.0, first.session);
        let address = self.facts.read(|f| f.email_of(recipient, session));
        let Some((sealed, active)) = address else {
            let reason = SuppressionReason::RecipientInactive;
            return (
                self.suppress_all(&claims, reason, "Destinataire inconnu.", at)
                    .await,
                false,
            );
        };
        if !active {
            let detail = "Compte désactivé ou inscription retirée.";
            let reason = SuppressionReason::RecipientInactive;
            return (self.suppress_all(&claims, reason, detail, at).await, false);
        }
        let email = match self.vault.unseal(&sealed).await {
            Ok(Personal::Known(email)) => email,
            Ok(Personal::Erased) => {
                let detail = "Les données personnelles du destinataire ont été effacées.";
                let reason = SuppressionReason::RecipientErased;
                return (self.suppress_all(&claims, reason, detail, at).await, false);
            }
            Err(e) => {
                tracing::error!(error = %e, "vault failure while unsealing a recipient");
                let answer = format!("coffre illisible : {e}");
                return (self.fail_all(&claims, &answer, false, at).await, false);
            }
        };
        let digest = first.digest;
        let message_id = if digest {
            reminder::digest_message_id(claims.iter().map(|c| &c.decision.key), &self.mailer.domain)
        } else {
            first.key.message_id(&self.mailer.domain)
        };
        let context = match self.context_of(&claims, at).await {
            Ok(context) => context,
            // Only an account's mail reads the store here: a unit of one, left claimed
            // (a later run takes it up once the claim is stale).
            Err(e) => return (vec![Err(e)], false),
        };
        let rule_key = first.key.rule.clone();
        let built = context
            .as_ref()
            .ok_or_else(|| "aucun contenu".to_owned())
            .and_then(|context| {
                let rule = self.facts.read(|f| {
                    rules_in_force(f)
                        .into_iter()
                        .find(|(k, _)| *k == rule_key)
                        .map(|(_, r)| r)
                });
                let rule = rule.ok_or_else(|| format!("règle {rule_key} introuvable"))?;
                let rendered = templates::render(&rule.templates, context)
                    .map_err(|e| format!("{} : {}", e.field, e.message))?;
                self.mailer.message(
                    &email,
                    &message_id,
                    at,
                    &rendered,
                    first.invitation.as_ref(),
                )
            });
        let message = match built {
            Ok(message) => message,
            Err(reason) => return (self.fail_all(&claims, &reason, true, at).await, false),
        };
        // The outbox file is named after the mail: the key's id, or the digest's.
        let file_name = message_id
            .trim_start_matches('<')
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned();
        match self.mailer.deliver(message, &file_name).await {
            Outcome::Sent(answer) => {
                let listed = u32::try_from(claims.len()).unwrap_or(u32::MAX);
                let mut outcomes = Vec::with_capacity(claims.len());
                for claim in &claims {
                    let sent = ReminderEvent::ReminderSent {
                        attempt: claim.attempt,
                        message_id: message_id.clone(),
                        answer: answer.clone(),
                        digest_of: digest.then_some(listed),
                    };
                    outcomes.push(
                        self.append(
                            &claim.decision.key,
                            ExpectedVersion::Exact(claim.version),
                            sent,
                            at,
                        )
                        .await
                        .map(|_| Done::Sent),
                    );
                }
                (outcomes, digest)
            }
            Outcome::Temporary(answer) => (self.fail_all(&claims, &answer, false, at).await, false),
            Outcome::Permanent(answer) => (self.fail_all(&claims, &answer, true, at).await, false),
        }
    }

    /// The values the mail of a unit is rendered with: its reminder's (a set-password
    /// link minted now for an account's mail), or a digest's listing each school.
    async fn context_of(
        &self,
        claims: &[Claim],
        at: DateTime<Utc>,
    ) -> Result<Option<MailContext>, StoreError> {
        let first = &claims[0].decision;
        let Some(mut context) = first.context.clone() else {
            return Ok(None);
        };
        if first.digest {
            let lines: Vec<SchoolLine> = claims
                .iter()
                .filter_map(|c| c.decision.line.clone())
                .collect();
            // One link for the whole digest when its schools share it (a national
            // day's, an edition's), else the platform's.
            let shared = claims
                .iter()
                .all(|c| c.decision.context.as_ref().map(|x| &x.link) == Some(&context.link));
            if !shared {
                context.link.clone_from(&context.platform_url);
            }
            return Ok(Some(templates::digest_of(context, lines)));
        }
        if let Some(account) = first.reset_for {
            // Bound to the account's version now: setting the password, or any change of
            // the account, voids it (see `pharos_access::TokenKeys::issue_reset`).
            let stream = StreamId::new(pharos_events::user::CATEGORY, account.to_string())?;
            let version = self.store.stream_version(&stream).await?;
            let (token, expires_at) =
                self.tokens
                    .issue_reset(account, version, at, RESET_TOKEN_TTL);
            context.link = format!("{}{RESET_PAGE}{token}", self.mailer.public_url);
            if let Some(facts) = context.account.as_mut() {
                facts.link_expires_at = templates::long_instant(&expires_at);
            }
        }
        Ok(Some(context))
    }

    async fn record_failure(
        &self,
        key: &ReminderKey,
        version: i64,
        attempt: u32,
        answer: String,
        permanent: bool,
        at: DateTime<Utc>,
    ) -> Result<Done, StoreError> {
        let permanent = permanent || attempt >= MAX_ATTEMPTS;
        tracing::warn!(rule = %key.rule, attempt, permanent, %answer, "reminder not delivered");
        let failed = ReminderEvent::ReminderFailed {
            attempt,
            answer,
            permanent,
            retry_at: (!permanent).then(|| at + backoff(attempt)),
        };
        self.append(key, ExpectedVersion::Exact(version), failed, at)
            .await?;
        Ok(Done::Failed)
    }
}

/// A delivery attempt claimed on one key's stream.
struct Claim {
    decision: Decision,
    version: i64,
    attempt: u32,
}

enum Claimed {
    Delivering(Box<Claim>),
    Done(Done),
}

/// What came of one unit.
#[derive(Default)]
struct Carried {
    outcomes: Vec<Result<Done, StoreError>>,
    digest_sent: bool,
}

enum Done {
    Sent,
    Failed,
    Suppressed,
    Cancelled,
    Conflict,
}

/// The decisions at `at` over `facts`.
fn evaluate(facts: &Facts, mailer: &Mailer, at: DateTime<Utc>) -> Plan {
    let mut plan = Plan::default();
    let rules = rules_in_force(facts);
    // Pending ledger entries (to retry or to drop), by rule.
    let mut pending: HashMap<&str, Vec<(&crate::facts::Ledger, u32)>> = HashMap::new();
    for ledger in facts.ledger.values() {
        let attempt = match ledger.status {
            Status::Failing { attempt, retry_at } if retry_at <= at => attempt + 1,
            Status::Claimed {
                attempt,
                at: claimed,
            } if claimed + Duration::minutes(STALE_CLAIM_MINUTES) <= at => attempt + 1,
            _ => continue,
        };
        pending
            .entry(ledger.key.rule.as_str())
            .or_default()
            .push((ledger, attempt));
    }
    for (key, rule) in &rules {
        let retries = pending.remove(key.as_str()).unwrap_or_default();
        if !rule.enabled && retries.is_empty() {
            plan.notes.push(format!("{key} : règle désactivée"));
            continue;
        }
        let Ok(schedule) = Schedule::parse(&rule.schedule) else {
            plan.notes.push(format!("{key} : expression cron invalide"));
            continue;
        };
        let window = Duration::days(i64::from(rule.catch_up_days));
        let targets = targets_of(facts, mailer, rule, at, retries.is_empty());
        let (mut not_yet, mut too_old, mut done) = (0usize, 0usize, 0usize);
        let mut current: HashMap<Uuid, (&Target, Uuid, DateTime<Utc>)> = HashMap::new();
        for target in &targets {
            let due_day = target.occurrence + Duration::days(i64::from(rule.offset_days));
            let due_at = match target.until {
                // Due now, or past its use once the session would have started.
                Some(until) if at <= until => target.since.map_or(at, |since| since.max(at)),
                Some(until) => until - window,
                None => match schedule.first_on_or_after(due_day) {
                    Some(due_at) => due_at,
                    None => continue,
                },
            };
            let due = due_at <= at && due_at > at - window;
            // Keys (a SHA-1 each) only where needed: a due reminder, or a retry to match.
            if !due && retries.is_empty() {
                if rule.enabled && due_at > at {
                    not_yet += target.recipients.len();
                } else if rule.enabled {
                    too_old += target.recipients.len();
                }
                continue;
            }
            for recipient in &target.recipients {
                let k = ReminderKey {
                    rule: key.clone(),
                    recipient: PersonId(*recipient),
                    target: target.target.clone(),
                    occurrence: target.occurrence,
                };
                current.insert(k.id(), (target, *recipient, due_at));
                if !rule.enabled {
                    continue;
                }
                if due_at > at {
                    not_yet += 1;
                } else if due_at <= at - window {
                    too_old += 1;
                } else if let Some(ledger) = facts.ledger.get(&k.id()) {
                    done += 1;
                    if matches!(ledger.status, Status::Sent) {
                        continue;
                    }
                } else {
                    let why = format!(
                        "{} : {} ({}), dû le {}",
                        rule.label,
                        target.target,
                        templates::long_date(target.occurrence),
                        templates::long_instant(&due_at)
                    );
                    let (action, why) = match &target.unmet {
                        Some(detail) => (
                            Action::Withhold {
                                detail: detail.clone(),
                            },
                            format!("{why} ; écarté : {detail}"),
                        ),
                        None => (Action::Send, why),
                    };
                    plan.decisions
                        .push(decision(k, due_at, action, why, target, mailer, at, rule));
                }
            }
        }
        for (ledger, attempt) in retries {
            let id = ledger.key.id();
            match current.get(&id) {
                Some((target, _, due_at)) if rule.enabled && target.unmet.is_some() => {
                    let detail = target.unmet.clone().unwrap_or_default();
                    plan.decisions.push(Decision {
                        key: ledger.key.clone(),
                        due_at: *due_at,
                        action: Action::Suppress {
                            reason: SuppressionReason::ConditionNoLongerTrue,
                            detail: detail.clone(),
                        },
                        why: detail,
                        digest: false,
                        line: None,
                        context: None,
                        invitation: None,
                        session: None,
                        reset_for: None,
                    });
                }
                Some((target, _, due_at)) if rule.enabled => {
                    plan.decisions.push(decision(
                        ledger.key.clone(),
                        *due_at,
                        Action::Retry { attempt },
                        format!(
                            "{} : nouvelle tentative ({attempt}) après un échec temporaire",
                            rule.label
                        ),
                        target,
                        mailer,
                        at,
                        rule,
                    ));
                }
                _ => {
                    let action = gone(facts, &ledger.key, rule);
                    let why = match &action {
                        Action::Cancel { reason } => reason.clone(),
                        Action::Suppress { detail, .. } => detail.clone(),
                        _ => String::new(),
                    };
                    plan.decisions.push(Decision {
                        key: ledger.key.clone(),
                        due_at: ledger.due_at,
                        action,
                        why,
                        digest: false,
                        line: None,
                        context: None,
                        invitation: None,
                        session: None,
                        reset_for: None,
                    });
                }
            }
        }
        plan.notes.push(format!(
            "{key} : {} cible(s), {not_yet} rappel(s) pas encore dus, {too_old} trop anciens \
             (hors de la fenêtre de rattrapage de {} jour(s)), {done} déjà traités",
            targets.len(),
            rule.catch_up_days
        ));
    }
    plan
}

/// Why a pending reminder no longer applies.
fn gone(facts: &Facts, key: &ReminderKey, rule: &RuleDefinition) -> Action {
    if !rule.enabled {
        return Action::Cancel {
            reason: "La règle a été désactivée.".into(),
        };
    }
    if let Some(session) = key
        .target
        .strip_prefix("training_session-")
        .and_then(|id| Uuid::parse_str(id).ok())
        .and_then(|id| facts.sessions.get(&id))
    {
        if let Some(reason) = &session.cancelled {
            return Action::Cancel {
                reason: format!("Session annulée : {reason}"),
            };
        }
        let starts = session.starts_at.with_timezone(&Paris).date_naive();
        let ends = session.ends_at.with_timezone(&Paris).date_naive();
        // The attendance reminder counts from the end, the convocations from the start.
        let now = if rule.trigger == Trigger::SessionEnd {
            ends
        } else {
            starts
        };
        if now != key.occurrence {
            return Action::Cancel {
                reason: format!("Session déplacée au {}.", templates::long_date(now)),
            };
        }
        return Action::Suppress {
            reason: SuppressionReason::RecipientInactive,
            detail: if rule.audience == Audience::Registrants {
                "L'inscription n'est plus confirmée.".into()
            } else {
                "Le destinataire n'est plus chargé de cette session.".into()
            },
        };
    }
    if let (Some(uai), department) = facts.place_of(&key.target) {
        let school = facts.schools.get(&uai);
        if school.is_none_or(|s| s.closed) {
            return Action::Suppress {
                reason: SuppressionReason::ConditionNoLongerTrue,
                detail: format!("L'établissement {uai} est fermé."),
            };
        }
        let (role, scope) = if rule.audience == Audience::DepartmentReferents {
            (
                Role::DepartmentReferent,
                department
                    .map(|d| d.as_str().to_owned())
                    .unwrap_or_default(),
            )
        } else {
            (Role::School, uai.as_str().to_owned())
        };
        let still = facts
            .accounts
            .get(&key.recipient.0)
            .is_some_and(|a| a.active && a.holds(role, &scope));
        if !still {
            return Action::Suppress {
                reason: SuppressionReason::RecipientInactive,
                detail: "Le destinataire n'a plus de compte actif pour cet établissement ou \
                         ce département."
                    .into(),
            };
        }
        let detail = match rule.condition {
            Condition::NoSubmittedAction => Some(format!(
                "L'établissement {uai} a transmis une action de la Journée nationale."
            )),
            Condition::DraftContestEntry => Some(format!(
                "L'établissement {uai} n'a plus de participation en brouillon (déposée ou \
                 retirée)."
            )),
            Condition::None | Condition::AttendanceNotEntered => None,
        };
        if let Some(detail) = detail {
            return Action::Suppress {
                reason: SuppressionReason::ConditionNoLongerTrue,
                detail,
            };
        }
    }
    Action::Suppress {
        reason: SuppressionReason::ConditionNoLongerTrue,
        detail: "La condition de la règle n'est plus remplie, ou le destinataire n'est plus \
                 concerné."
            .into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn decision(
    key: ReminderKey,
    due_at: DateTime<Utc>,
    action: Action,
    why: String,
    target: &Target,
    mailer: &Mailer,
    at: DateTime<Utc>,
    rule: &RuleDefinition,
) -> Decision {
    let mut context = target.context.clone();
    context.rule.clone_from(&rule.label);
    context.days_left = (target.occurrence - paris_date(at)).num_days();
    // Only a convocation carries the invitation (not the trainers' attendance reminder).
    let invitation = target
        .invitation
        .as_ref()
        .filter(|_| rule.audience == Audience::Registrants)
        .map(|invitation| Invitation {
            uid: format!("{}-{}@{}", invitation.uid, key.recipient, mailer.domain),
            ..invitation.clone()
        });
    Decision {
        key,
        due_at,
        action,
        why,
        digest: rules::digests(rule),
        line: target.line.clone(),
        context: Some(context),
        invitation,
        session: target.session,
        reset_for: target.reset_for,
    }
}

/// Every target of a rule's trigger, with its recipients (the rule's audience and
/// condition applied), whatever its due date.
/// (`at` only bounds the school years of the September and June milestones: the year
/// of `at` and those either side.)
fn targets_of(
    facts: &Facts,
    mailer: &Mailer,
    rule: &RuleDefinition,
    at: DateTime<Utc>,
    skip_far: bool,
) -> Vec<Target> {
    // With no retry to match, the occurrences of the rules sent to every school are
    // built only near `at` (due by tomorrow, and less than a year plus the window ago:
    // a schedule matches at least once a year): over 60,000 schools, the other years'
    // national days are most of the work, and none of them can be due.
    let today = paris_date(at);
    let near = |occurrence: NaiveDate| {
        let due_day = occurrence + Duration::days(i64::from(rule.offset_days));
        !skip_far
            || (due_day <= today + Duration::days(1)
                && due_day + Duration::days(366 + i64::from(rule.catch_up_days)) >= today)
    };
    let base = |link: String, occurrence: NaiveDate| MailContext {
        trigger_date: templates::long_date(occurrence),
        link,
        platform_url: mailer.public_url.clone(),
        ..MailContext::default()
    };
    let open_schools = || {
        let mut schools: Vec<(&Uai, &crate::facts::School)> =
            facts.schools.iter().filter(|(_, s)| !s.closed).collect();
        schools.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        schools
    };
    // A rule about schools goes to their accounts, or to their department's referents
    // (one digest per referent listing the schools concerned: each school a line).
    let accounts = facts.accounts_by_scope();
    let digest = rules::digests(rule);
    let line_of = |uai: &Uai, school: &crate::facts::School, link: &str, missing: String| {
        digest.then(|| SchoolLine {
            uai: uai.to_string(),
            name: school.name.clone(),
            missing,
            // The school's own page when the link is not one already.
            link: if link.contains(uai.as_str()) {
                link.to_owned()
            } else {
                format!("{link}?school={uai}")
            },
        })
    };
    let about_school = |uai: &Uai, school: &crate::facts::School| {
        let key = if rule.audience == Audience::DepartmentReferents {
            (Role::DepartmentReferent, school.department.as_str())
        } else {
            (Role::School, uai.as_str())
        };
        accounts.get(&key).cloned().unwrap_or_default()
    };
    // Who a session's rule goes to. The attendance of a session without trainers is
    // its department's referents' to enter.
    let referents_of = |session: &crate::facts::Session| {
        session
            .department
            .as_ref()
            .and_then(|d| accounts.get(&(Role::DepartmentReferent, d.as_str())))
            .cloned()
            .unwrap_or_default()
    };
    let of_session = |session: &crate::facts::Session| {
        let mut recipients: Vec<Uuid> = if rule.audience == Audience::DepartmentReferents {
            referents_of(session)
        } else if rule.audience == Audience::Trainers {
            if session.trainers.is_empty() && rule.trigger == Trigger::SessionEnd {
                referents_of(session)
            } else {
                session.trainers.clone()
            }
        } else {
            session
                .registrations
                .values()
                .filter(|r| r.confirmed)
                .map(|r| r.registrant.person.0)
                .collect()
        };
        recipients.sort_unstable();
        recipients
    };
    let mut targets = Vec::new();
    match rule.trigger {
        Trigger::SessionStart | Trigger::SessionCancelled | Trigger::RegistrationConfirmed => {
            let cancellations = rule.trigger == Trigger::SessionCancelled;
            for (id, session) in &facts.sessions {
                if session.cancelled.is_some() != cancellations {
                    continue;
                }
                let occurrence = session.starts_at.with_timezone(&Paris).date_naive();
                let recipients = of_session(session);
                let title = title_of(facts, session);
                let mut context = base(format!("{}/sessions/{id}", mailer.public_url), occurrence);
                context.session = Some(SessionFacts {
                    training_title: title,
                    starts_at: templates::long_instant(&session.starts_at),
                    ends_at: templates::long_instant(&session.ends_at),
                    location: session.location.clone().unwrap_or_default(),
                    remote_url: session.remote_url.clone().unwrap_or_default(),
                    cancellation_reason: session.cancelled.clone().unwrap_or_default(),
                });
                let invitation = Invitation {
                    uid: format!("session-{id}"),
                    sequence: u32::try_from(session.schedule_version).unwrap_or(u32::MAX),
                    summary: title_of(facts, session),
                    starts_at: session.starts_at.with_timezone(&Utc),
                    ends_at: session.ends_at.with_timezone(&Utc),
                    location: session
                        .location
                        .clone()
                        .or_else(|| session.remote_url.clone()),
                    url: context.link.clone(),
                    cancelled: cancellations,
                };
                let target = Target {
                    target: format!("training_session-{id}"),
                    occurrence,
                    recipients,
                    context,
                    session: Some(*id),
                    invitation: Some(invitation),
                    until: cancellations.then(|| session.starts_at.with_timezone(&Utc)),
                    since: None,
                    reset_for: None,
                    line: None,
                    unmet: None,
                };
                if rule.trigger != Trigger::RegistrationConfirmed {
                    targets.push(target);
                    continue;
                }
                // Each confirmation is due from when it happened, within the window and
                // before the session starts.
                let window = Duration::days(i64::from(rule.catch_up_days));
                let starts = session.starts_at.with_timezone(&Utc);
                for r in session.registrations.values().filter(|r| r.confirmed) {
                    let Some(confirmed_at) = r.confirmed_at else {
                        continue;
                    };
                    targets.push(Target {
                        recipients: vec![r.registrant.person.0],
                        until: Some((confirmed_at + window).min(starts)),
                        since: Some(confirmed_at),
                        ..target.clone()
                    });
                }
            }
        }
        Trigger::NationalDay => {
            for dates in facts.national_day_dates() {
                let (year, date, deadline) =
                    (&dates.school_year, &dates.date, dates.report_deadline);
                if !near(*date) {
                    continue;
                }
                let reported = facts.schools_with_reported_action(*year);
                for (uai, school) in open_schools() {
                    if rule.condition == Condition::NoSubmittedAction && reported.contains(uai) {
                        continue;
                    }
                    let mut context =
                        base(format!("{}/national-days/{year}", mailer.public_url), *date);
                    let missing = if rule.condition == Condition::NoSubmittedAction {
                        "aucune action de la Journée nationale transmise".to_owned()
                    } else {
                        format!("Journée nationale du {}", templates::long_date(*date))
                    };
                    let line = line_of(uai, school, &context.link, missing);
                    context.school = Some(SchoolFacts {
                        name: school.name.clone(),
                        uai: uai.to_string(),
                    });
                    context.national_day = Some(NationalDayFacts {
                        school_year: year.to_string(),
                        date: templates::long_date(*date),
                        report_deadline: templates::long_date(deadline),
                    });
                    targets.push(Target {
                        target: format!("school-{uai}:{year}"),
                        occurrence: *date,
                        recipients: about_school(uai, school),
                        context,
                        session: None,
                        invitation: None,
                        until: None,
                        since: None,
                        reset_for: None,
                        line,
                        unmet: None,
                    });
                }
            }
        }
        Trigger::ContestOpening | Trigger::ContestDeadline => {
            let opening = rule.trigger == Trigger::ContestOpening;
            for (id, edition) in &facts.editions {
                let drafts = facts.schools_with_draft_entry(*id);
                for (uai, school) in open_schools() {
                    if rule.condition == Condition::DraftContestEntry && !drafts.contains(uai) {
                        continue;
                    }
                    // A school the pole gave more time has its own deadline: a moved
                    // date, a new occurrence.
                    let deadline = facts
                        .extensions
                        .get(&(*id, uai.clone()))
                        .map_or(edition.deadline, |until| edition.deadline.max(*until));
                    let occurrence = paris_date(if opening { edition.opens_at } else { deadline });
                    if !near(occurrence) {
                        continue;
                    }
                    let mut context =
                        base(format!("{}/contests/{id}", mailer.public_url), occurrence);
                    context.school = Some(SchoolFacts {
                        name: school.name.clone(),
                        uai: uai.to_string(),
                    });
                    let mut contest = contest_facts(edition.school_year, edition);
                    contest.deadline = templates::long_instant(&deadline);
                    let missing = if rule.condition == Condition::DraftContestEntry {
                        format!(
                            "participation encore en brouillon (date limite : {})",
                            contest.deadline
                        )
                    } else {
                        format!("concours ouvert jusqu'au {}", contest.deadline)
                    };
                    let line = line_of(uai, school, &context.link, missing);
                    context.contest = Some(contest);
                    targets.push(Target {
                        target: format!("contest-{id}:school-{uai}"),
                        occurrence,
                        recipients: about_school(uai, school),
                        context,
                        session: None,
                        invitation: None,
                        until: None,
                        since: None,
                        reset_for: None,
                        line,
                        unmet: None,
                    });
                }
            }
        }
        Trigger::JuryDate => {
            for (id, edition) in &facts.editions {
                let Some(jury_on) = edition.jury_on else {
                    continue;
                };
                let mut recipients: Vec<Uuid> = facts
                    .jurors
                    .get(id)
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                recipients.sort_unstable();
                let mut context = base(format!("{}/contests/{id}", mailer.public_url), jury_on);
                context.contest = Some(contest_facts(edition.school_year, edition));
                targets.push(Target {
                    target: format!("contest-{id}:jury"),
                    occurrence: jury_on,
                    recipients,
                    context,
                    session: None,
                    invitation: None,
                    until: None,
                    since: None,
                    reset_for: None,
                    line: None,
                    unmet: None,
                });
            }
        }
        Trigger::SessionEnd => {
            for (id, session) in &facts.sessions {
                if session.cancelled.is_some() {
                    continue;
                }
                let occurrence = session.ends_at.with_timezone(&Paris).date_naive();
                let recipients = of_session(session);
                let mut context = base(format!("{}/sessions/{id}", mailer.public_url), occurrence);
                context.session = Some(SessionFacts {
                    training_title: title_of(facts, session),
                    starts_at: templates::long_instant(&session.starts_at),
                    ends_at: templates::long_instant(&session.ends_at),
                    location: session.location.clone().unwrap_or_default(),
                    remote_url: session.remote_url.clone().unwrap_or_default(),
                    cancellation_reason: String::new(),
                });
                let unmet = (rule.condition == Condition::AttendanceNotEntered
                    && session.attendance_entered())
                .then(|| {
                    if session.attendance_locked {
                        "Les présences de la session sont saisies et verrouillées.".to_owned()
                    } else {
                        "Les présences de la session sont saisies pour chaque inscrit et chaque \
                         créneau."
                            .to_owned()
                    }
                });
                targets.push(Target {
                    target: format!("training_session-{id}"),
                    occurrence,
                    recipients,
                    context,
                    session: Some(*id),
                    invitation: None,
                    until: None,
                    since: None,
                    reset_for: None,
                    line: None,
                    unmet,
                });
            }
        }
        Trigger::SchoolYearStart | Trigger::SchoolYearEnd => {
            let current = SchoolYear::containing(paris_date(at));
            let years = [
                SchoolYear::starting(current.start_year() - 1),
                Some(current),
                SchoolYear::starting(current.start_year() + 1),
            ];
            let start = rule.trigger == Trigger::SchoolYearStart;
            for year in years.into_iter().flatten() {
                // 1 September, or 30 June.
                let occurrence = if start {
                    year.first_day()
                } else {
                    NaiveDate::from_ymd_opt(year.start_year() + 1, 6, 30).unwrap_or(NaiveDate::MAX)
                };
                let milestone = if start { "rentree" } else { "bilan" };
                if !near(occurrence) {
                    continue;
                }
                for (uai, school) in open_schools() {
                    let mut context = base(
                        format!("{}/schools/{uai}/phare", mailer.public_url),
                        occurrence,
                    );
                    context.school = Some(SchoolFacts {
                        name: school.name.clone(),
                        uai: uai.to_string(),
                    });
                    let missing = if start {
                        "déclarations de rentrée (équipe ressource, élèves ambassadeurs)"
                    } else {
                        "auto-évaluation du label pHARe et bilan annuel"
                    };
                    let line = line_of(uai, school, &context.link, missing.to_owned());
                    targets.push(Target {
                        target: format!("school-{uai}:{year}:{milestone}"),
                        occurrence,
                        recipients: about_school(uai, school),
                        context,
                        session: None,
                        invitation: None,
                        until: None,
                        since: None,
                        reset_for: None,
                        line,
                        unmet: None,
                    });
                }
            }
        }
        Trigger::CharterEnd => {
            let ends = facts.charter_ends();
            for (uai, school) in open_schools() {
                let Some(ends_on) = ends.get(uai).filter(|end| near(**end)) else {
                    continue;
                };
                let mut context = base(
                    format!("{}/schools/{uai}/phare", mailer.public_url),
                    *ends_on,
                );
                context.school = Some(SchoolFacts {
                    name: school.name.clone(),
                    uai: uai.to_string(),
                });
                let missing = format!(
                    "charte pHARe à renouveler (échéance : {})",
                    templates::long_date(*ends_on)
                );
                let line = line_of(uai, school, &context.link, missing);
                targets.push(Target {
                    target: format!("school-{uai}:charter"),
                    occurrence: *ends_on,
                    recipients: about_school(uai, school),
                    context,
                    session: None,
                    invitation: None,
                    until: None,
                    since: None,
                    reset_for: None,
                    line,
                    unmet: None,
                });
            }
        }
        Trigger::AccountCreated | Trigger::PasswordResetRequested => {
            let window = Duration::days(i64::from(rule.catch_up_days));
            let mut accounts: Vec<(&Uuid, &crate::facts::Account)> =
                facts.accounts.iter().filter(|(_, a)| a.active).collect();
            accounts.sort_by_key(|(id, _)| **id);
            for (id, account) in accounts {
                let events: Vec<(String, DateTime<Utc>)> =
                    if rule.trigger == Trigger::AccountCreated {
                        vec![(format!("user-{id}"), account.created_at)]
                    } else {
                        account
                            .reset_requests
                            .iter()
                            .map(|(version, at)| (format!("user-{id}:reset-{version}"), *at))
                            .collect()
                    };
                for (target, happened) in events {
                    let occurrence = paris_date(happened);
                    let mut context = base(mailer.public_url.clone(), occurrence);
                    context.account = Some(AccountFacts {
                        role: account.role.label().to_owned(),
                        scope: account.scope.clone().unwrap_or_default(),
                        link_expires_at: String::new(),
                    });
                    targets.push(Target {
                        target,
                        occurrence,
                        recipients: vec![*id],
                        context,
                        session: None,
                        invitation: None,
                        until: Some(happened + window),
                        since: Some(happened),
                        reset_for: Some(*id),
                        line: None,
                        unmet: None,
                    });
                }
            }
        }
    }
    targets
}

fn title_of(facts: &Facts, session: &crate::facts::Session) -> String {
    facts
        .trainings
        .get(&session.training_id)
        .cloned()
        .unwrap_or_else(|| "Session de formation".into())
}

fn contest_facts(year: SchoolYear, edition: &crate::facts::Edition) -> ContestFacts {
    ContestFacts {
        school_year: year.to_string(),
        edition: edition.edition,
        opens_at: templates::long_date(paris_date(edition.opens_at)),
        deadline: templates::long_instant(&edition.deadline),
    }
}
