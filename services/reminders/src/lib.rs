//! The `reminders` target: reminder rules as data on cron schedules, their ledger, and
//! the mails they send (SMTP, or a file outbox in the embedded default). Owns `reminder`.
//!
//! | route | who | |
//! |---|---|---|
//! | `GET /api/v1/reminder-rules` | the pole | the rules in force |
//! | `PUT /api/v1/reminder-rules/{key}` | the pole | change a rule, or add one |
//! | `GET /api/v1/reminders?target=` / `?recipient=` | the pole, a referent, a school (their own) | the ledger |
//!
//! The scheduler ([`engine::Engine::run`]) runs continuously in one process at a time
//! (a leader lease), and once from `pharos reminders run --at INSTANT [--dry-run]`.
//! Every reminder is keyed by (rule, recipient, target, occurrence) and recorded in the
//! `reminder` category: see [`pharos_events::reminder`].

pub mod engine;
pub mod facts;
pub mod http;
pub mod ledger;
pub mod mail;
pub mod rules;
pub mod templates;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pharos_access::TargetState;
use pharos_decider::Clock;
use pharos_kit::{MailSettings, OpenApiRouter, Started, Target, routes};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi as _;

pub use engine::{Engine, Plan, Report};
pub use mail::Mailer;

/// The name `pharos serve --target` takes.
pub const NAME: &str = "reminders";

/// The lease only one scheduler holds at a time.
pub const LEASE: &str = "reminders-scheduler";

/// The `reminders` target.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Rappels programmés et envoi des courriels",
    owns: &[pharos_events::reminder::CATEGORY],
    openapi: || pharos_kit::openapi_of(api()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            let engine =
                start_engine(&context.state, &context.mail, context.shutdown.clone()).await?;
            tracing::info!("{}", engine.mailer.describe());
            eprintln!("{}", engine.mailer.describe());
            let api = api().layer(axum::Extension(engine.clone()));
            let started = Started::new(NAME, api, context.state.clone(), app);
            Ok(match context.mail.scheduler_interval {
                Some(every) => started.with_worker(
                    "reminder scheduler",
                    schedule(engine, context.state.clock.clone(), every, context.shutdown),
                ),
                None => started,
            })
        })
    },
};

/// The engine of this process: its facts caught up, its mailer ready.
pub async fn start_engine(
    state: &TargetState,
    mail: &MailSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<Engine> {
    let mailer = Mailer::new(mail)?;
    Ok(Engine::start(
        &state.app.store,
        state.vault.clone(),
        state.access.tokens.clone(),
        mailer,
        shutdown,
    )
    .await?)
}

/// Evaluates and delivers every `every`, while this process holds the scheduler's lease;
/// a standby takes over when the leader stops.
async fn schedule(
    engine: Engine,
    clock: Arc<dyn Clock>,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let lease = match engine.store.lease(LEASE, &shutdown).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "reminder scheduler: lease unavailable; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(every) => continue,
                }
            }
        };
        while lease.is_held() {
            let at = clock.now();
            match engine.run(at).await {
                Ok(report) if report != Report::default() => {
                    tracing::info!(?report, %at, "reminders run");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reminders run failed; next run retries"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = lease.lost() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

/// `pharos reminders run --at INSTANT [--dry-run]`: one evaluation, delivered or only
/// explained. Returns the lines to print.
pub async fn run_once(
    engine: &Engine,
    at: DateTime<Utc>,
    dry_run: bool,
) -> anyhow::Result<Vec<String>> {
    engine.catch_up().await?;
    let plan = engine.evaluate(at);
    let mut lines = Vec::new();
    for decision in &plan.decisions {
        let what = match &decision.action {
            engine::Action::Send => "à envoyer".to_owned(),
            engine::Action::Retry { attempt } => format!("nouvelle tentative ({attempt})"),
            engine::Action::Cancel { .. } => "à annuler".to_owned(),
            engine::Action::Suppress { .. } => "à écarter".to_owned(),
            engine::Action::Withhold { .. } => "à écarter (condition plus remplie)".to_owned(),
        };
        let what = if decision.digest {
            format!("{what} dans le récapitulatif du destinataire")
        } else {
            what
        };
        lines.push(format!(
            "{what} — règle {}, destinataire {}, cible {}, occurrence {} : {}",
            decision.key.rule,
            decision.key.recipient,
            decision.key.target,
            decision.key.occurrence,
            decision.why
        ));
    }
    lines.extend(plan.notes.iter().map(|n| format!("  {n}")));
    if dry_run {
        lines.push(format!(
            "Simulation au {} : {} décision(s), rien n'est envoyé ni enregistré.",
            at.to_rfc3339(),
            plan.decisions.len()
        ));
        return Ok(lines);
    }
    let report = engine.run(at).await?;
    lines.push(format!(
        "Rappels au {} — envoyés : {} (courriels récapitulatifs aux référents : {}) ; en échec : {} ; \
         écartés : {} ; annulés : {} ; déjà pris par un autre planificateur : {} ; non \
         enregistrés (repris au passage suivant) : {}.",
        at.to_rfc3339(),
        report.sent,
        report.digests,
        report.failed,
        report.suppressed,
        report.cancelled,
        report.conflicts,
        report.errors
    ));
    Ok(lines)
}

/// Every route of this target with its documentation.
fn api() -> OpenApiRouter<TargetState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(http::list))
        .routes(routes!(http::put))
        .routes(routes!(ledger::list))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(
        pharos_web::Versioned,
        pharos_web::Problem,
        pharos_web::FieldError,
        http::RuleView,
        http::RuleInput,
        ledger::ReminderView,
        ledger::ReminderPage,
        pharos_events::reminder::Trigger,
        pharos_events::reminder::Audience,
        pharos_events::reminder::Condition,
    )),
    tags((name = "reminders", description = "Rappels programmés : règles et envois"))
)]
struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_is_complete_and_french() {
        let document = (TARGET.openapi)();
        let problems = pharos_web::api::incomplete(&document, NAME);
        assert!(problems.is_empty(), "{problems:#?}");
        let text = serde_json::to_string(&document).unwrap_or_default();
        assert!(text.contains("règle"), "{text}");
    }

    #[test]
    fn backoff_doubles_from_five_minutes_up_to_six_hours() {
        assert_eq!(engine::backoff(1), chrono::Duration::minutes(5));
        assert_eq!(engine::backoff(2), chrono::Duration::minutes(10));
        assert_eq!(engine::backoff(4), chrono::Duration::minutes(40));
        assert_eq!(engine::backoff(12), chrono::Duration::hours(6));
    }
}
