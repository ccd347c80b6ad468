//! The reminders target through the assembled application (beside `trainings` and
//! `national-day`, whose events its rules count from), on SQLite and on PostgreSQL, with
//! a manual clock and a real SMTP server receiving over TCP (`pharos_test_support::smtp`:
//! mailcrab, in-process): the mails are read back and parsed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use pharos_kit::MailSettings;
use pharos_reminders::{Engine, Report};
use pharos_test_support::smtp::{Smtp, free_port};
use pharos_test_support::{Client, TestApp, TestDb, instant, rule};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const UAI_A: &str = "0310001H";
const UAI_B: &str = "0310002J";
const FROM: &str = "Pharos <pharos@ac-toulouse.fr>";

fn settings(port: u16) -> MailSettings {
    MailSettings {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        from: FROM.into(),
        public_url: "https://pharos.ac-toulouse.fr".into(),
        outbox_dir: std::env::temp_dir(),
        scheduler_interval: None,
    }
}

/// The application with the reminders target (its own scheduler off: the tests run the
/// evaluations at chosen instants), sending to `port`.
async fn app(db: TestDb, port: u16, now: &str) -> TestApp {
    TestApp::builder(db)
        .targets(&["trainings", "national-day", "reminders"])
        .at(instant(now))
        .configure(|raw| {
            raw.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            raw.mail_from = FROM.into();
            raw.public_url = "https://pharos.ac-toulouse.fr".into();
            raw.reminders_interval_seconds = 0;
        })
        .start()
        .await
}

/// A scheduler of its own over the application's store, as another replica would be.
async fn engine(app: &TestApp, port: u16) -> Engine {
    pharos_reminders::start_engine(&app.pharos.state, &settings(port), CancellationToken::new())
        .await
        .unwrap()
}

async fn run(engine: &Engine, at: &str) -> Report {
    engine.run(instant(at)).await.unwrap()
}

struct Mail {
    to: String,
    subject: String,
    message_id: String,
    text: String,
    html: String,
    ics: Option<String>,
}

fn parse(raw: &[u8]) -> Mail {
    let message = MessageParser::default().parse(raw).unwrap();
    let ics = message
        .attachments()
        .find(|a| a.attachment_name() == Some("invitation.ics"))
        .map(|a| String::from_utf8(a.contents().to_vec()).unwrap());
    Mail {
        to: message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned(),
        subject: message.subject().unwrap_or_default().to_owned(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        text: message.body_text(0).unwrap_or_default().into_owned(),
        html: message.body_html(0).unwrap_or_default().into_owned(),
        ics,
    }
}

/// The `UID`, `SEQUENCE` and `METHOD` of an invitation, read with the icalendar parser.
fn invitation(ics: &str) -> (String, u32, String) {
    use icalendar::{Calendar, Component};
    let calendar: Calendar = ics.parse().unwrap();
    let event = calendar.events().next().expect("one event");
    (
        event.get_uid().unwrap().to_owned(),
        event.get_sequence().unwrap(),
        calendar.property_value("METHOD").unwrap().to_owned(),
    )
}

/// Every event of the `reminder` category, once all committed ones are readable (on
/// PostgreSQL an open transaction elsewhere in the cluster holds newer ones back).
async fn reminder_events(app: &TestApp) -> Vec<pharos_eventstore::RecordedEvent> {
    assert!(app.store.settle(Duration::from_secs(10)).await.unwrap());
    app.store
        .read_all(
            pharos_eventstore::GlobalPosition::START,
            100_000,
            &["reminder".to_owned()],
        )
        .await
        .unwrap()
}

/// How many events of `event_type` the store holds.
async fn count(app: &TestApp, event_type: &str) -> usize {
    let events = reminder_events(app).await;
    events.iter().filter(|e| e.event_type == event_type).count()
}

/// A training and an open session on `day` (9:00–17:00, Paris winter time), with
/// `people` registered (confirmed); the session's id.
async fn session(manager: &Client, day: &str, people: usize) -> String {
    let (status, training) = manager
        .post(
            "/api/v1/trainings",
            json!({
                "title": "Méthode de la préoccupation partagée", "topic": "mpp",
                "audience": "équipes ressources des collèges", "department": "31"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{training}");
    let (status, session) = manager
        .post(
            &format!("/api/v1/trainings/{}/sessions", training["id"].as_str().unwrap()),
            json!({
                "starts_at": format!("{day}T09:00:00+01:00"), "ends_at": format!("{day}T17:00:00+01:00"),
                "slots": [{"starts_at": format!("{day}T09:00:00+01:00"), "ends_at": format!("{day}T17:00:00+01:00")}],
                "location": "Atelier Canopé, Toulouse", "capacity": 30, "planned_minutes": 420
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let id = session["id"].as_str().unwrap().to_owned();
    let (status, body) = manager
        .post(&format!("/api/v1/sessions/{id}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for n in 0..people {
        let (status, body) = manager
            .post(
                &format!("/api/v1/sessions/{id}/registrations"),
                json!({
                    "person": {"email": format!("stagiaire{n}@ac-toulouse.fr"),
                               "display_name": format!("Stagiaire {n}"), "function": "CPE"},
                    "mode": "designated"
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "confirmed", "{body}");
    }
    id
}

async fn a_moved_session_sends_its_convocation_once_on_the_new_day_and_updates_the_invitation(
    db: TestDb,
) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = app(db, port, "2026-02-01T10:00:00+01:00").await;
    let manager = app.user("pole_manager", None).await;
    let id = session(&manager, "2026-03-10", 1).await;
    let scheduler = engine(&app, port).await;

    // J−14 of the 10th: the first convocation, with its invitation.
    let report = run(&scheduler, "2026-02-24T09:00:00+01:00").await;
    assert_eq!(report.sent, 1, "{report:?}");
    let first = parse(&smtp.received(1).await[0]);
    assert_eq!(first.to, "stagiaire0@ac-toulouse.fr");
    assert!(
        first
            .subject
            .starts_with("Convocation : Méthode de la préoccupation partagée"),
        "{}",
        first.subject
    );
    assert!(
        first.text.contains("mardi 10 mars 2026 à 09 h 00"),
        "{}",
        first.text
    );
    assert!(
        first
            .html
            .contains(&format!("https://pharos.ac-toulouse.fr/sessions/{id}")),
        "{}",
        first.html
    );
    assert!(
        first.message_id.ends_with("@ac-toulouse.fr"),
        "{}",
        first.message_id
    );
    let (uid, first_sequence, method) = invitation(first.ics.as_deref().expect("an invitation"));
    assert_eq!(method, "REQUEST");

    // Moved to the 17th before its J−2.
    app.set_now(instant("2026-03-01T10:00:00+01:00"));
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{id}/reschedule"),
            json!({
                "starts_at": "2026-03-17T09:00:00+01:00", "ends_at": "2026-03-17T17:00:00+01:00",
                "slots": [{"starts_at": "2026-03-17T09:00:00+01:00", "ends_at": "2026-03-17T17:00:00+01:00"}]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The 8th (J−2 of the old date): nothing.
    let report = run(&scheduler, "2026-03-08T09:00:00+01:00").await;
    assert_eq!(report, Report::default());
    // The 15th (J−2 of the new date): the reminder, once, however often evaluated.
    let report = run(&scheduler, "2026-03-15T09:00:00+01:00").await;
    assert_eq!(report.sent, 1, "{report:?}");
    let again = run(&scheduler, "2026-03-15T09:30:00+01:00").await;
    assert_eq!(again, Report::default());
    let reminder = parse(&smtp.received(1).await[0]);
    smtp.nothing_more();
    assert!(
        reminder.subject.starts_with("Rappel : Méthode"),
        "{}",
        reminder.subject
    );
    assert!(
        reminder.text.contains("mardi 17 mars 2026 à 09 h 00"),
        "{}",
        reminder.text
    );
    let (same_uid, sequence, _) = invitation(reminder.ics.as_deref().expect("an invitation"));
    assert_eq!(same_uid, uid, "the calendar updates its event");
    assert!(sequence > first_sequence, "{sequence} > {first_sequence}");
    assert_ne!(reminder.message_id, first.message_id);
    // The J−14 of the 17th fell on the 3rd, when nobody evaluated: too old now, never sent.
    assert_eq!(count(&app, "reminder_scheduled").await, 2);
    assert_eq!(count(&app, "reminder_sent").await, 2);

    // Cancelled the day before: the notice goes at the next run, once, and withdraws the
    // calendar event.
    app.set_now(instant("2026-03-16T10:00:00+01:00"));
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{id}/cancel"),
            json!({"reason": "formateur indisponible"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = run(&scheduler, "2026-03-16T10:05:00+01:00").await;
    assert_eq!(report.sent, 1, "{report:?}");
    let again = run(&scheduler, "2026-03-16T11:00:00+01:00").await;
    assert_eq!(again, Report::default());
    let notice = parse(&smtp.received(1).await[0]);
    smtp.nothing_more();
    assert!(
        notice.subject.starts_with("Annulation : Méthode"),
        "{}",
        notice.subject
    );
    assert!(
        notice.text.contains("Motif : formateur indisponible"),
        "{}",
        notice.text
    );
    let (cancelled_uid, cancelled_sequence, method) =
        invitation(notice.ics.as_deref().expect("an invitation"));
    assert_eq!((cancelled_uid, method.as_str()), (uid, "CANCEL"));
    assert!(
        cancelled_sequence > sequence,
        "{cancelled_sequence} > {sequence}"
    );
    app.finish().await;
}

async fn the_national_day_report_reminder_goes_only_to_schools_without_a_submitted_action(
    db: TestDb,
) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = app(db, port, "2025-10-01T10:00:00+02:00").await;
    app.school(UAI_A, "college", "31").await;
    app.school(UAI_B, "college", "31").await;
    let manager = app.user("pole_manager", None).await;
    let reported = app.user("school", Some(UAI_A)).await;
    let silent = app.user("school", Some(UAI_B)).await;
    let (status, body) = manager
        .put(
            "/api/v1/national-days/2025-2026",
            json!({"date": "2025-11-06"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.set_now(instant("2025-11-10T10:00:00+01:00"));
    let (status, action) = reported
        .post(
            "/api/v1/national-days/2025-2026/actions",
            json!({
                "school_uai": UAI_A, "date": "2025-11-06", "types": ["projection_debat"],
                "audience_levels": ["6e"], "pupils_reached": 120, "held": true,
                "description": "Projection puis débat."
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{action}");
    let (status, body) = reported
        .post(
            &format!("/api/v1/actions/{}/submit", action["id"].as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let scheduler = engine(&app, port).await;
    let report = run(&scheduler, "2025-11-13T09:00:00+01:00").await;
    assert_eq!(report.sent, 1, "{report:?}");
    let mail = parse(&smtp.received(1).await[0]);
    smtp.nothing_more();
    assert_eq!(mail.to, silent.email);
    assert_eq!(
        mail.subject,
        "Journée nationale : transmettez le bilan de vos actions"
    );
    assert!(
        mail.text.contains(&format!("Établissement {UAI_B}")),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("jeudi 27 novembre 2025"),
        "{}",
        mail.text
    );
    assert!(
        mail.html
            .contains("https://pharos.ac-toulouse.fr/national-days/2025-2026"),
        "{}",
        mail.html
    );
    app.finish().await;
}

async fn a_rule_created_late_sends_nothing_older_than_its_window_and_bad_rules_are_refused(
    db: TestDb,
) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = app(db, port, "2026-02-01T10:00:00+01:00").await;
    let manager = app.user("pole_manager", None).await;
    session(&manager, "2026-03-10", 2).await;
    app.set_now(instant("2026-03-05T08:00:00+01:00"));

    // J−5: the pole adds a J−30 convocation.
    let (status, body) = manager
        .put(
            "/api/v1/reminder-rules/session_convocation_j30",
            json!({
                "label": "Formation : convocation (J−30)", "trigger": "session_start",
                "offset_days": -30, "audience": "registrants",
                "subject": "Convocation : {{ session.training_title }}",
                "text": "Le {{ session.starts_at }}.", "html": "<p>Le {{ session.starts_at }}.</p>"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, rules) = manager.get("/api/v1/reminder-rules").await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    let added = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "session_convocation_j30")
        .unwrap();
    assert_eq!(
        (added["shipped"].as_bool(), added["catch_up_days"].as_u64()),
        (Some(false), Some(1))
    );

    let scheduler = engine(&app, port).await;
    let plan = scheduler.evaluate(instant("2026-03-05T09:00:00+01:00"));
    assert!(plan.decisions.is_empty(), "{:?}", plan.decisions);
    assert!(
        plan.notes.iter().any(|n| n.starts_with(
            "session_convocation_j30 : 1 cible(s), 0 rappel(s) pas encore dus, 2 trop anciens"
        )),
        "{:#?}",
        plan.notes
    );
    let report = run(&scheduler, "2026-03-05T09:00:00+01:00").await;
    assert_eq!(report, Report::default());
    assert_eq!(count(&app, "reminder_scheduled").await, 0);

    // Refused at save, naming the field, nothing appended.
    let referent = app.user("department_referent", Some("31")).await;
    let events = app.events().await;
    let (status, problem) = manager
        .put(
            "/api/v1/reminder-rules/session_convocation_j2",
            json!({"html": "<p>{{ session.starts_at }</p>"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(rule(&problem), "invalid-template");
    assert_eq!(problem["errors"][0]["field"], "html", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Le HTML du modèle"),
        "{problem}"
    );
    let (status, problem) = manager
        .put(
            "/api/v1/reminder-rules/session_convocation_j2",
            json!({"subject": "Rappel {{ ecole.nom }}"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "subject", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("variable inconnue"),
        "{problem}"
    );
    let (status, problem) = manager
        .put(
            "/api/v1/reminder-rules/session_convocation_j2",
            json!({"schedule": "tous les matins"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "schedule", "{problem}");
    let (status, problem) = referent
        .put(
            "/api/v1/reminder-rules/session_convocation_j2",
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(app.events().await, events);

    // The J−2 of the 10th still goes on the 8th, except to whom was erased meanwhile.
    let vault = &app.pharos.state.vault;
    let erased = vault
        .find_person("stagiaire1@ac-toulouse.fr")
        .await
        .unwrap()
        .unwrap();
    vault
        .erase(
            &app.store,
            erased,
            "demande de la personne",
            &pharos_eventstore::Metadata::default(),
        )
        .await
        .unwrap();
    let report = run(&scheduler, "2026-03-08T09:00:00+01:00").await;
    assert_eq!((report.sent, report.suppressed), (1, 1), "{report:?}");
    let mail = parse(&smtp.received(1).await[0]);
    smtp.nothing_more();
    assert_eq!(mail.to, "stagiaire0@ac-toulouse.fr");
    let suppressed = reminder_events(&app)
        .await
        .into_iter()
        .find(|e| e.event_type == "reminder_suppressed")
        .unwrap();
    assert_eq!(suppressed.data["reason"], "recipient_erased");
    app.finish().await;
}

async fn an_smtp_outage_delays_reminders_and_loses_none(db: TestDb) {
    let port = free_port();
    let app = app(db, port, "2026-02-01T10:00:00+01:00").await;
    let manager = app.user("pole_manager", None).await;
    session(&manager, "2026-03-10", 2).await;
    let scheduler = engine(&app, port).await;

    // No server on the port: both attempts fail temporarily.
    let report = run(&scheduler, "2026-03-08T09:00:00+01:00").await;
    assert_eq!((report.sent, report.failed), (0, 2), "{report:?}");
    let failed = reminder_events(&app)
        .await
        .into_iter()
        .find(|e| e.event_type == "reminder_failed")
        .unwrap();
    assert_eq!(failed.data["permanent"], false);
    assert_eq!(failed.data["retry_at"], "2026-03-08T08:05:00Z");

    let mut smtp = Smtp::start(port).await;
    // Before the pause is over: nothing yet.
    let report = run(&scheduler, "2026-03-08T09:02:00+01:00").await;
    assert_eq!(report, Report::default());
    // After it: each delivered, once.
    let report = run(&scheduler, "2026-03-08T09:06:00+01:00").await;
    assert_eq!(report.sent, 2, "{report:?}");
    let mut to: Vec<String> = smtp.received(2).await.iter().map(|m| parse(m).to).collect();
    to.sort();
    assert_eq!(
        to,
        ["stagiaire0@ac-toulouse.fr", "stagiaire1@ac-toulouse.fr"]
    );
    let report = run(&scheduler, "2026-03-08T12:00:00+01:00").await;
    assert_eq!(report, Report::default());
    smtp.nothing_more();
    assert_eq!(count(&app, "reminder_retried").await, 2);
    app.finish().await;
}

async fn two_schedulers_racing_send_each_reminder_once(db: TestDb) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = app(db, port, "2026-02-01T10:00:00+01:00").await;
    let manager = app.user("pole_manager", None).await;
    session(&manager, "2026-03-10", 6).await;
    let (one, two) = (engine(&app, port).await, engine(&app, port).await);
    let at: DateTime<Utc> = instant("2026-03-08T09:00:00+01:00");
    // Both decide before either appends: each finds the six reminders due.
    one.catch_up().await.unwrap();
    two.catch_up().await.unwrap();
    let (plan_one, plan_two) = (one.evaluate(at), two.evaluate(at));
    assert_eq!((plan_one.decisions.len(), plan_two.decisions.len()), (6, 6));
    let (a, b) = tokio::join!(one.execute(plan_one, at), two.execute(plan_two, at));
    assert_eq!(a.sent + b.sent, 6, "{a:?} {b:?}");
    assert_eq!(a.conflicts + b.conflicts, 6, "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0, "{a:?} {b:?}");
    smtp.received(6).await;
    smtp.nothing_more();
    assert_eq!(count(&app, "reminder_scheduled").await, 6);
    assert_eq!(count(&app, "reminder_sent").await, 6);
    app.finish().await;
}

async fn the_target_schedules_by_itself_under_its_lease(db: TestDb) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = TestApp::builder(db)
        .targets(&["trainings", "reminders"])
        .at(instant("2026-02-01T10:00:00+01:00"))
        .configure(|raw| {
            raw.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            raw.mail_from = FROM.into();
            raw.reminders_interval_seconds = 1;
        })
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    session(&manager, "2026-03-10", 1).await;
    app.set_now(instant("2026-03-08T09:00:00+01:00"));
    let mail = parse(&smtp.received(1).await[0]);
    assert_eq!(mail.to, "stagiaire0@ac-toulouse.fr");
    assert!(mail.subject.starts_with("Rappel : "), "{}", mail.subject);
    // A second replica's scheduler stands by: the lease is held.
    assert!(
        app.store
            .try_lease(pharos_reminders::LEASE)
            .await
            .unwrap()
            .is_none()
    );
    app.finish().await;
}

/// The token of the set-password link in a mail's plain text.
fn reset_token(text: &str) -> String {
    let start = text
        .find("https://pharos.ac-toulouse.fr/reinitialiser-mot-de-passe#jeton=")
        .unwrap_or_else(|| panic!("a set-password link in {text}"));
    text[start..]
        .split_once("#jeton=")
        .unwrap()
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// Every event of the log, as text (to look for a secret in it).
async fn whole_log(app: &TestApp) -> String {
    assert!(app.store.settle(Duration::from_secs(10)).await.unwrap());
    let events = app
        .store
        .read_all(pharos_eventstore::GlobalPosition::START, 100_000, &[])
        .await
        .unwrap();
    assert!(!events.is_empty());
    serde_json::to_string(
        &events
            .iter()
            .map(|e| (&e.data, &e.metadata))
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

async fn new_accounts_get_an_invitation_with_a_set_password_link_once(db: TestDb) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    // On the real clock: an account's invitation counts from when it was recorded.
    let app = TestApp::builder(db)
        .targets(&["reminders"])
        .configure(|raw| {
            raw.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            raw.mail_from = FROM.into();
            raw.public_url = "https://pharos.ac-toulouse.fr".into();
            raw.reminders_interval_seconds = 0;
        })
        .start()
        .await;
    let admin = app.admin().await;
    app.school(UAI_A, "college", "31").await;
    let (status, created) = admin
        .post(
            "/api/v1/users",
            json!({"email": "referente.31@ac-toulouse.fr", "display_name": "Claire Martin",
                   "role": "department_referent", "scope": "31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, report) = admin.post("/api/v1/users/schools", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], 1, "{report}");

    let scheduler = engine(&app, port).await;
    // The administrator, the pole manager app.school made, the referent, the school.
    let report = scheduler.run(Utc::now()).await.unwrap();
    assert_eq!(report.sent, 4, "{report:?}");
    let mails: Vec<Mail> = smtp.received(4).await.iter().map(|m| parse(m)).collect();
    assert_eq!(scheduler.run(Utc::now()).await.unwrap(), Report::default());
    smtp.nothing_more();
    let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    to.sort_unstable();
    assert!(to.contains(&"ce.0310001h@ac-toulouse.fr"), "{to:?}");
    assert!(to.contains(&"referente.31@ac-toulouse.fr"), "{to:?}");
    let school = mails
        .iter()
        .find(|m| m.to == "ce.0310001h@ac-toulouse.fr")
        .unwrap();
    assert_eq!(school.subject, "Votre compte Pharos est ouvert");
    assert!(
        school.text.contains("(établissement, 0310001H)"),
        "{}",
        school.text
    );
    assert!(school.text.contains("valable jusqu'au"), "{}", school.text);
    let token = reset_token(&school.text);
    assert!(school.html.contains(&token), "{}", school.html);

    // The link sets the school's first password, once; the token is nowhere in the log.
    assert!(!whole_log(&app).await.contains(&token));
    let (status, body) = app
        .anonymous()
        .post(
            "/api/v1/password-reset",
            json!({"token": token, "password": "un mot de passe solide"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.login("ce.0310001h@ac-toulouse.fr", "un mot de passe solide")
        .await;
    let (status, problem) = app
        .anonymous()
        .post(
            "/api/v1/password-reset",
            json!({"token": token, "password": "un autre mot de passe"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(rule(&problem), "reset-token-invalid");
    app.finish().await;
}

async fn a_forgotten_password_request_mails_a_link_and_says_nothing_of_the_address(db: TestDb) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = app(db, port, "2026-03-02T10:00:00+01:00").await;
    let referent = app.user("department_referent", Some("31")).await;
    let scheduler = engine(&app, port).await;
    let anonymous = app.anonymous();

    // Known, unknown: the same answer.
    let (known, known_body) = anonymous
        .post(
            "/api/v1/auth/password-reset",
            json!({"email": referent.email}),
        )
        .await;
    let (unknown, unknown_body) = anonymous
        .post(
            "/api/v1/auth/password-reset",
            json!({"email": "personne@ac-toulouse.fr"}),
        )
        .await;
    assert_eq!(
        (known, unknown),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(known_body, unknown_body);
    let (status, problem) = anonymous
        .post(
            "/api/v1/auth/password-reset",
            json!({"email": "pas une adresse"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "email", "{problem}");

    // The request is recorded after the answer: the next runs send its link, once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let report = run(&scheduler, "2026-03-02T10:01:00+01:00").await;
        if report.sent == 1 {
            break;
        }
        assert_eq!(report, Report::default());
        assert!(tokio::time::Instant::now() < deadline, "no reset mail");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mail = parse(&smtp.received(1).await[0]);
    assert_eq!(mail.to, referent.email);
    assert_eq!(
        mail.subject,
        "Réinitialisation de votre mot de passe Pharos"
    );
    assert!(
        mail.text.contains("jeudi 5 mars 2026 à 10 h 01"),
        "72 hours: {}",
        mail.text
    );
    let token = reset_token(&mail.text);

    // The token is in the mail only; the log holds the request, not it.
    assert!(!whole_log(&app).await.contains(&token));
    let requests = app
        .store
        .read_all(
            pharos_eventstore::GlobalPosition::START,
            100_000,
            &["user".to_owned()],
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "password_reset_requested")
        .count();
    assert_eq!(requests, 1);

    // Expired after 72 hours; good before.
    app.set_now(instant("2026-03-05T10:02:00+01:00"));
    let (status, problem) = anonymous
        .post(
            "/api/v1/password-reset",
            json!({"token": token, "password": "un mot de passe solide"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(rule(&problem), "reset-token-expired");
    app.set_now(instant("2026-03-05T10:00:00+01:00"));
    let (status, body) = anonymous
        .post(
            "/api/v1/password-reset",
            json!({"token": token, "password": "un mot de passe solide"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.login(&referent.email, "un mot de passe solide").await;
    app.finish().await;
}

async fn the_ledger_of_a_target_is_read_within_the_readers_scope(db: TestDb) {
    const UAI_C: &str = "0320001C";
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = app(db, port, "2025-10-01T10:00:00+02:00").await;
    app.school(UAI_A, "college", "31").await;
    app.school(UAI_C, "college", "32").await;
    let manager = app.user("pole_manager", None).await;
    let school_a = app.user("school", Some(UAI_A)).await;
    let school_c = app.user("school", Some(UAI_C)).await;
    let referent_31 = app.user("department_referent", Some("31")).await;
    let referent_32 = app.user("department_referent", Some("32")).await;
    let trainer = app.user("trainer", None).await;
    let (status, body) = manager
        .put(
            "/api/v1/national-days/2025-2026",
            json!({"date": "2025-11-06"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let scheduler = engine(&app, port).await;
    // Each school its mail, each referent a digest of her school.
    let report = run(&scheduler, "2025-11-13T09:00:00+01:00").await;
    assert_eq!((report.sent, report.digests), (4, 2), "{report:?}");
    smtp.received(4).await;
    let of_school = |page: &Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["rule"] == "national_day_report_j7")
            .cloned()
            .unwrap_or_else(|| panic!("{page}"))
    };

    let target = format!("/api/v1/reminders?target=school-{UAI_A}:2025-2026");
    let (status, page) = manager.get(&target).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 2, "{page}");
    let item = &of_school(&page);
    assert_eq!(item["rule"], "national_day_report_j7", "{item}");
    assert_eq!(
        item["rule_label"],
        "Journée nationale : bilan des actions (J+7)"
    );
    assert_eq!(item["recipient"], school_a.id.as_str());
    assert_eq!(item["recipient_name"], school_a.email.as_str());
    assert_eq!(item["occurrence"], "2025-11-06");
    assert_eq!(item["due_at"], "2025-11-13T07:00:00Z");
    assert_eq!(
        (item["status"].as_str(), item["status_label"].as_str()),
        (Some("sent"), Some("envoyé"))
    );
    assert!(
        item["reason"].as_str().unwrap().starts_with("250"),
        "{item}"
    );

    // In scope: the referent of its department, the school itself; else absent.
    for (reader, expected) in [
        (&referent_31, 2),
        (&school_a, 2),
        (&referent_32, 0),
        (&school_c, 0),
    ] {
        let (status, page) = reader.get(&target).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], expected, "{} {page}", reader.email);
    }
    let (status, problem) = trainer.get(&target).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let recipient = format!("/api/v1/reminders?recipient={}", school_c.id);
    let (status, problem) = referent_32.get(&recipient).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, page) = manager.get(&recipient).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["items"][0]["target"],
        format!("school-{UAI_C}:2025-2026")
    );
    let (status, problem) = manager.get("/api/v1/reminders").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "target", "{problem}");
    let (status, page) = manager.get(&format!("{target}&offset=1&limit=10")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        (
            page["total"].as_u64(),
            page["items"].as_array().map(Vec::len)
        ),
        (Some(2), Some(1))
    );

    // Erased: the ledger stays, the name goes.
    let vault = &app.pharos.state.vault;
    let person = vault.find_person(&school_a.email).await.unwrap().unwrap();
    vault
        .erase(
            &app.store,
            person,
            "demande de la personne",
            &pharos_eventstore::Metadata::default(),
        )
        .await
        .unwrap();
    let (status, page) = manager.get(&target).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        of_school(&page)["recipient_name"],
        "donnée effacée",
        "{page}"
    );
    app.finish().await;
}

/// Posts and expects success; the answer.
async fn ok(client: &Client, path: &str, body: Value) -> Value {
    let (status, answer) = client.post(path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// Runs at `at`: exactly one mail, to `to`; a second run sends nothing more.
async fn one_mail(scheduler: &Engine, smtp: &mut Smtp, at: &str, to: &str) -> Mail {
    let report = run(scheduler, at).await;
    assert_eq!(report.sent, 1, "{at}: {report:?}");
    assert_eq!(run(scheduler, at).await, Report::default());
    let mail = parse(&smtp.received(1).await[0]);
    smtp.nothing_more();
    assert_eq!(mail.to, to, "{at}");
    mail
}

async fn the_contest_opening_jury_attendance_and_charter_reminders_go_on_their_day(db: TestDb) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = TestApp::builder(db)
        .targets(&["trainings", "contests", "phare", "reminders"])
        .at(instant("2026-09-25T10:00:00+02:00"))
        .configure(|raw| {
            raw.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            raw.mail_from = FROM.into();
            raw.public_url = "https://pharos.ac-toulouse.fr".into();
            raw.reminders_interval_seconds = 0;
        })
        .start()
        .await;
    app.school(UAI_A, "college", "31").await;
    let manager = app.user("pole_manager", None).await;
    // The accounts' invitations count from the wall clock: out of this scenario.
    let (status, body) = manager
        .put(
            "/api/v1/reminder-rules/account_invitation",
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let school = app.user("school", Some(UAI_A)).await;
    let juror = app.user("juror", None).await;
    let trainer = app.user("trainer", None).await;

    // A contest edition open on 2 November, its jury on 18 March, one juror.
    let edition = ok(
        &manager,
        "/api/v1/contests",
        json!({
            "school_year": "2026-2027", "opens_at": "2026-11-02",
            "submission_deadline": "2027-02-12T23:59", "jury_on": "2027-03-18",
            "national_submission_on": "2027-03-31",
            "exhibition_from": "2027-05-10", "exhibition_to": "2027-05-28",
            "categories": [{"level": "college", "medium": "affiche"}],
            "rules": {"media": ["affiche"], "max_video_seconds": 120, "max_file_bytes": 100000,
                      "file_types": ["png", "pdf"], "max_entries_per_group": 1,
                      "nominees_per_category": 1}
        }),
    )
    .await;
    let contest = edition["id"].as_str().unwrap();
    ok(
        &manager,
        &format!("/api/v1/contests/{contest}/jurors"),
        json!({"user_id": juror.id}),
    )
    .await;
    // A session on 14 January 2027 with its trainer.
    let training = ok(
        &manager,
        "/api/v1/trainings",
        json!({"title": "Méthode de la préoccupation partagée", "topic": "mpp",
               "audience": "équipes ressources des collèges", "department": "31"}),
    )
    .await;
    ok(
        &manager,
        &format!("/api/v1/trainings/{}/sessions", training["id"].as_str().unwrap()),
        json!({
            "starts_at": "2027-01-14T09:00:00+01:00", "ends_at": "2027-01-14T17:00:00+01:00",
            "slots": [{"starts_at": "2027-01-14T09:00:00+01:00", "ends_at": "2027-01-14T17:00:00+01:00"}],
            "location": "Atelier Canopé, Toulouse", "capacity": 30, "planned_minutes": 420,
            "trainers": [trainer.id]
        }),
    )
    .await;
    // The school's pHARe charter, signed on 20 September 2026: in force until 31 August 2028.
    let deployment = ok(
        &school,
        "/api/v1/phare/deployments",
        json!({"school_year": "2026-2027", "school_uai": UAI_A}),
    )
    .await;
    ok(
        &school,
        &format!(
            "/api/v1/phare/deployments/{}/charter",
            deployment["id"].as_str().unwrap()
        ),
        json!({"signed_on": "2026-09-20"}),
    )
    .await;
    let scheduler = engine(&app, port).await;

    // The day before each: nothing.
    for at in [
        "2026-11-01T09:00:00+01:00",
        "2027-01-15T09:00:00+01:00",
        "2027-03-03T09:00:00+01:00",
        "2027-06-29T09:00:00+02:00",
        "2027-09-14T09:00:00+02:00",
        "2028-07-01T09:00:00+02:00",
    ] {
        assert_eq!(run(&scheduler, at).await, Report::default(), "{at}");
    }
    let opening = one_mail(
        &scheduler,
        &mut smtp,
        "2026-11-02T08:00:00+01:00",
        &school.email,
    )
    .await;
    assert_eq!(
        opening.subject,
        "Le concours « Non au harcèlement » est ouvert"
    );
    assert!(
        opening.text.contains("vendredi 12 février 2027 à 23 h 59"),
        "{}",
        opening.text
    );
    assert!(
        opening
            .html
            .contains(&format!("https://pharos.ac-toulouse.fr/contests/{contest}")),
        "{}",
        opening.html
    );
    // J+2 is a Saturday: the attendance reminder waits for Monday.
    assert_eq!(
        run(&scheduler, "2027-01-16T08:00:00+01:00").await,
        Report::default()
    );
    let attendance = one_mail(
        &scheduler,
        &mut smtp,
        "2027-01-18T08:00:00+01:00",
        &trainer.email,
    )
    .await;
    assert_eq!(
        attendance.subject,
        "Présences à saisir : Méthode de la préoccupation partagée"
    );
    assert!(attendance.ics.is_none(), "no invitation for the trainer");
    let jury = one_mail(
        &scheduler,
        &mut smtp,
        "2027-03-04T08:00:00+01:00",
        &juror.email,
    )
    .await;
    assert_eq!(
        jury.subject,
        "Convocation au jury académique du concours « Non au harcèlement »"
    );
    assert!(jury.text.contains("jeudi 18 mars 2027"), "{}", jury.text);
    // June: the label self-assessment and yearly report; September: the declarations.
    let june = one_mail(
        &scheduler,
        &mut smtp,
        "2027-06-30T08:00:00+02:00",
        &school.email,
    )
    .await;
    assert_eq!(
        june.subject,
        "pHARe : auto-évaluation du label et bilan de l'année"
    );
    let september = one_mail(
        &scheduler,
        &mut smtp,
        "2027-09-15T08:00:00+02:00",
        &school.email,
    )
    .await;
    assert_eq!(
        september.subject,
        "pHARe : équipe ressource et élèves ambassadeurs de l'année"
    );
    assert!(
        september.text.contains(&format!("Établissement {UAI_A}")),
        "{}",
        september.text
    );
    let charter = one_mail(
        &scheduler,
        &mut smtp,
        "2028-07-02T08:00:00+02:00",
        &school.email,
    )
    .await;
    assert_eq!(
        charter.subject,
        "pHARe : votre charte d'engagement arrive à échéance"
    );
    assert!(
        charter.text.contains("jeudi 31 août 2028"),
        "{}",
        charter.text
    );
    assert!(
        charter.text.contains(&format!("Établissement {UAI_A}")),
        "{}",
        charter.text
    );
    app.finish().await;
}

async fn a_confirmed_registration_gets_its_convocation_at_once_with_the_invitation(db: TestDb) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    // On the real clock: a confirmation counts from when it was recorded.
    let app = TestApp::builder(db)
        .targets(&["trainings", "reminders"])
        .configure(|raw| {
            raw.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            raw.mail_from = FROM.into();
            raw.public_url = "https://pharos.ac-toulouse.fr".into();
            raw.reminders_interval_seconds = 0;
        })
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    let (status, body) = manager
        .put(
            "/api/v1/reminder-rules/account_invitation",
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A session in 40 days: no J−14 or J−2 yet.
    let day = (Utc::now() + chrono::Duration::days(40))
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        .to_string();
    let id = session(&manager, &day, 2).await;
    let scheduler = engine(&app, port).await;
    let report = scheduler.run(Utc::now()).await.unwrap();
    assert_eq!(report.sent, 2, "{report:?}");
    let mut mails: Vec<Mail> = smtp.received(2).await.iter().map(|m| parse(m)).collect();
    assert_eq!(scheduler.run(Utc::now()).await.unwrap(), Report::default());
    smtp.nothing_more();
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(mails[0].to, "stagiaire0@ac-toulouse.fr");
    assert!(
        mails[0]
            .subject
            .starts_with("Inscription confirmée : Méthode de la préoccupation partagée"),
        "{}",
        mails[0].subject
    );
    let (uid, _, method) = invitation(mails[0].ics.as_deref().expect("an invitation"));
    assert_eq!(method, "REQUEST");
    assert!(uid.starts_with(&format!("session-{id}-")), "{uid}");
    assert_ne!(mails[0].message_id, mails[1].message_id);
    app.finish().await;
}

/// Turns a rule off (the accounts' invitations count from the wall clock: out of these
/// scenarios).
async fn disable(manager: &Client, rule: &str) {
    let (status, body) = manager
        .put(
            &format!("/api/v1/reminder-rules/{rule}"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A school account declares and submits a national-day action of `year` on `date`.
async fn report_action(school: &Client, uai: &str, year: &str, date: &str) {
    let action = ok(
        school,
        &format!("/api/v1/national-days/{year}/actions"),
        json!({
            "school_uai": uai, "date": date, "types": ["projection_debat"],
            "audience_levels": ["6e"], "pupils_reached": 120, "held": true,
            "description": "Projection puis débat."
        }),
    )
    .await;
    ok(
        school,
        &format!("/api/v1/actions/{}/submit", action["id"].as_str().unwrap()),
        Value::Null,
    )
    .await;
}

async fn a_referent_gets_one_digest_of_her_lagging_schools_per_occurrence(db: TestDb) {
    const UAI_C: &str = "0310003K";
    const UAI_D: &str = "0310004L";
    const UAI_X: &str = "0320001C";
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = app(db, port, "2025-10-01T10:00:00+02:00").await;
    let manager = app.user("pole_manager", None).await;
    disable(&manager, "account_invitation").await;
    for uai in [UAI_A, UAI_B, UAI_C, UAI_D] {
        app.school(uai, "college", "31").await;
    }
    // Another department's school, lagging too: not the referent's.
    app.school(UAI_X, "college", "32").await;
    let referent = app.user("department_referent", Some("31")).await;
    let mut schools = Vec::new();
    for uai in [UAI_A, UAI_B, UAI_C, UAI_D] {
        schools.push(app.user("school", Some(uai)).await);
    }
    for (year, date) in [("2025-2026", "2025-11-06"), ("2026-2027", "2026-11-05")] {
        let (status, body) = manager
            .put(
                &format!("/api/v1/national-days/{year}"),
                json!({ "date": date }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The first year, only D reports.
    app.set_now(instant("2025-11-10T10:00:00+01:00"));
    report_action(&schools[3], UAI_D, "2025-2026", "2025-11-06").await;
    let scheduler = engine(&app, port).await;

    // J+7: each lagging school its own mail, and the referent one digest of the three.
    let report = run(&scheduler, "2025-11-13T08:00:00+01:00").await;
    assert_eq!((report.sent, report.digests), (6, 1), "{report:?}");
    let mails: Vec<Mail> = smtp.received(4).await.iter().map(|m| parse(m)).collect();
    // Re-evaluated, the same day and later: nothing more.
    for at in ["2025-11-13T08:00:00+01:00", "2025-11-13T18:00:00+01:00"] {
        assert_eq!(run(&scheduler, at).await, Report::default(), "{at}");
    }
    smtp.nothing_more();
    let mut to_schools: Vec<&str> = mails
        .iter()
        .filter(|m| m.to != referent.email)
        .map(|m| m.to.as_str())
        .collect();
    to_schools.sort_unstable();
    let mut expected: Vec<&str> = schools[..3].iter().map(|s| s.email.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(to_schools, expected, "each lagging school its own mail");
    let digest = mails
        .iter()
        .find(|m| m.to == referent.email)
        .expect("a digest");
    assert_eq!(
        digest.subject,
        "Journée nationale : 3 établissement(s) sans action transmise"
    );
    for uai in [UAI_A, UAI_B, UAI_C] {
        assert!(
            digest.text.contains(&format!(
                "- Établissement {uai} ({uai}) : aucune action de la Journée nationale transmise"
            )),
            "{}",
            digest.text
        );
        let link = format!("https://pharos.ac-toulouse.fr/national-days/2025-2026?school={uai}");
        assert!(digest.text.contains(&link), "{}", digest.text);
        assert!(
            digest.html.contains(&format!("<a href=\"{link}\">")),
            "{}",
            digest.html
        );
    }
    for absent in [UAI_D, UAI_X] {
        assert!(!digest.text.contains(absent), "{absent}: {}", digest.text);
    }
    assert!(
        digest.text.contains("jeudi 27 novembre 2025"),
        "{}",
        digest.text
    );
    assert!(
        digest.message_id.starts_with("digest.") && digest.message_id.ends_with("@ac-toulouse.fr"),
        "{}",
        digest.message_id
    );
    // The ledger keeps one reminder per school, each `sent` naming the digest.
    let sent: Vec<_> = reminder_events(&app)
        .await
        .into_iter()
        .filter(|e| e.event_type == "reminder_sent" && e.data["digest_of"] == 3)
        .collect();
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter()
            .all(|e| e.data["message_id"] == format!("<{}>", digest.message_id)),
        "{sent:?}"
    );
    let (status, page) = manager
        .get(&format!("/api/v1/reminders?recipient={}", referent.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut targets: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["status"], "sent", "{i}");
            assert_eq!(i["rule"], "national_day_report_j7_referents", "{i}");
            i["target"].as_str().unwrap()
        })
        .collect();
    targets.sort_unstable();
    assert_eq!(
        targets,
        [UAI_A, UAI_B, UAI_C].map(|u| format!("school-{u}:2025-2026"))
    );

    // The next year, A, B and C report, D does not: the next digest lists D only.
    app.set_now(instant("2026-11-06T10:00:00+01:00"));
    for (school, uai) in schools[..3].iter().zip([UAI_A, UAI_B, UAI_C]) {
        report_action(school, uai, "2026-2027", "2026-11-05").await;
    }
    let report = run(&scheduler, "2026-11-12T08:00:00+01:00").await;
    assert_eq!((report.sent, report.digests), (2, 1), "{report:?}");
    let mails: Vec<Mail> = smtp.received(2).await.iter().map(|m| parse(m)).collect();
    assert_eq!(
        run(&scheduler, "2026-11-12T09:00:00+01:00").await,
        Report::default()
    );
    smtp.nothing_more();
    let next = mails
        .iter()
        .find(|m| m.to == referent.email)
        .expect("a digest");
    assert!(mails.iter().any(|m| m.to == schools[3].email));
    assert_eq!(
        next.subject,
        "Journée nationale : 1 établissement(s) sans action transmise"
    );
    assert!(next.text.contains(UAI_D), "{}", next.text);
    for absent in [UAI_A, UAI_B, UAI_C, UAI_X] {
        assert!(!next.text.contains(absent), "{absent}: {}", next.text);
    }
    assert_ne!(next.message_id, digest.message_id);
    app.finish().await;
}

async fn a_digest_school_that_catches_up_before_a_retry_is_suppressed_with_its_reason(db: TestDb) {
    let port = free_port();
    let app = app(db, port, "2025-10-01T10:00:00+02:00").await;
    let manager = app.user("pole_manager", None).await;
    disable(&manager, "account_invitation").await;
    app.school(UAI_A, "college", "31").await;
    app.school(UAI_B, "college", "31").await;
    let referent = app.user("department_referent", Some("31")).await;
    let school_a = app.user("school", Some(UAI_A)).await;
    let (status, body) = manager
        .put(
            "/api/v1/national-days/2025-2026",
            json!({"date": "2025-11-06"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    disable(&manager, "national_day_report_j7").await;
    let scheduler = engine(&app, port).await;

    // No server yet: the digest of A and B fails, for both.
    let report = run(&scheduler, "2025-11-13T08:00:00+01:00").await;
    assert_eq!((report.sent, report.failed), (0, 2), "{report:?}");
    // A reports meanwhile; the retry lists B only, and A's reminder says why not.
    app.set_now(instant("2025-11-13T08:02:00+01:00"));
    report_action(&school_a, UAI_A, "2025-2026", "2025-11-06").await;
    let mut smtp = Smtp::start(port).await;
    let report = run(&scheduler, "2025-11-13T08:06:00+01:00").await;
    assert_eq!(
        (report.sent, report.suppressed, report.digests),
        (1, 1, 1),
        "{report:?}"
    );
    let mail = parse(&smtp.received(1).await[0]);
    smtp.nothing_more();
    assert_eq!(mail.to, referent.email);
    assert!(mail.text.contains(UAI_B), "{}", mail.text);
    assert!(!mail.text.contains(UAI_A), "{}", mail.text);
    let (status, page) = manager
        .get(&format!(
            "/api/v1/reminders?target=school-{UAI_A}:2025-2026"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let item = &page["items"][0];
    assert_eq!(item["status"], "suppressed", "{item}");
    assert_eq!(
        item["reason"],
        format!("L'établissement {UAI_A} a transmis une action de la Journée nationale."),
        "{item}"
    );
    assert_eq!(
        run(&scheduler, "2025-11-13T12:00:00+01:00").await,
        Report::default()
    );
    app.finish().await;
}

/// A session on `day` (9:00–17:00) of a training of department 31, given by `trainers`,
/// with one confirmed registrant `person`; its id and the registration's.
async fn session_given_by(
    manager: &Client,
    day: &str,
    trainers: &[&str],
    person: &str,
) -> (String, String) {
    let training = ok(
        manager,
        "/api/v1/trainings",
        json!({"title": "Méthode de la préoccupation partagée", "topic": "mpp",
               "audience": "équipes ressources des collèges", "department": "31"}),
    )
    .await;
    let session = ok(
        manager,
        &format!("/api/v1/trainings/{}/sessions", training["id"].as_str().unwrap()),
        json!({
            "starts_at": format!("{day}T09:00:00+01:00"), "ends_at": format!("{day}T17:00:00+01:00"),
            "slots": [{"starts_at": format!("{day}T09:00:00+01:00"), "ends_at": format!("{day}T17:00:00+01:00")}],
            "location": "Atelier Canopé, Toulouse", "capacity": 30, "planned_minutes": 420,
            "trainers": trainers
        }),
    )
    .await;
    let id = session["id"].as_str().unwrap().to_owned();
    ok(manager, &format!("/api/v1/sessions/{id}/open"), Value::Null).await;
    let registration = ok(
        manager,
        &format!("/api/v1/sessions/{id}/registrations"),
        json!({
            "person": {"email": format!("{person}@ac-toulouse.fr"),
                       "display_name": person, "function": "CPE"},
            "mode": "designated"
        }),
    )
    .await;
    assert_eq!(registration["status"], "confirmed", "{registration}");
    (id, registration["id"].as_str().unwrap().to_owned())
}

async fn the_attendance_reminder_goes_only_where_attendance_is_not_entered(db: TestDb) {
    let port = free_port();
    let mut smtp = Smtp::start(port).await;
    let app = app(db, port, "2026-02-01T10:00:00+01:00").await;
    let manager = app.user("pole_manager", None).await;
    disable(&manager, "account_invitation").await;
    let entered_by = app.user("trainer", None).await;
    let forgetful = app.user("trainer", None).await;
    let referent = app.user("department_referent", Some("31")).await;
    // Three sessions ending on Tuesday 10 March: one whose trainer enters the attendance
    // that evening, one whose trainer does not, one without trainer.
    let (entered, registration) =
        session_given_by(&manager, "2026-03-10", &[&entered_by.id], "stagiaire-a").await;
    let (missing, _) =
        session_given_by(&manager, "2026-03-10", &[&forgetful.id], "stagiaire-b").await;
    let (orphan, _) = session_given_by(&manager, "2026-03-10", &[], "stagiaire-c").await;
    app.set_now(instant("2026-03-10T18:00:00+01:00"));
    ok(
        &entered_by,
        &format!("/api/v1/sessions/{entered}/attendance"),
        json!({"registration_id": registration, "slot_index": 0, "status": "present"}),
    )
    .await;
    let scheduler = engine(&app, port).await;

    // J+1: not yet.
    assert_eq!(
        run(&scheduler, "2026-03-11T08:00:00+01:00").await,
        Report::default()
    );
    // J+2, Thursday 8:00: the forgetful trainer and the referent (for the session
    // without trainer), once each; the entered session's reminder is suppressed.
    let report = run(&scheduler, "2026-03-12T08:00:00+01:00").await;
    assert_eq!((report.sent, report.suppressed), (2, 1), "{report:?}");
    let mut mails: Vec<Mail> = smtp.received(2).await.iter().map(|m| parse(m)).collect();
    for at in ["2026-03-12T08:30:00+01:00", "2026-03-13T08:00:00+01:00"] {
        assert_eq!(run(&scheduler, at).await, Report::default(), "{at}");
    }
    smtp.nothing_more();
    mails.sort_by_key(|m| m.to != forgetful.email);
    assert_eq!(mails[0].to, forgetful.email);
    assert_eq!(mails[1].to, referent.email);
    for (mail, session) in mails.iter().zip([&missing, &orphan]) {
        assert_eq!(
            mail.subject,
            "Présences à saisir : Méthode de la préoccupation partagée"
        );
        assert!(
            mail.text
                .contains("ses présences ne sont pas encore saisies"),
            "{}",
            mail.text
        );
        assert!(
            mail.html
                .contains(&format!("https://pharos.ac-toulouse.fr/sessions/{session}")),
            "{}",
            mail.html
        );
        // No registrant's name in a trainer's reminder.
        assert!(!mail.text.contains("stagiaire"), "{}", mail.text);
    }
    let (status, page) = manager
        .get(&format!(
            "/api/v1/reminders?target=training_session-{entered}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1, "{page}");
    let item = &page["items"][0];
    assert_eq!(
        (item["status"].as_str(), item["recipient"].as_str()),
        (Some("suppressed"), Some(entered_by.id.as_str())),
        "{item}"
    );
    assert_eq!(
        item["reason"],
        "Les présences de la session sont saisies pour chaque inscrit et chaque créneau.",
        "{item}"
    );
    let suppressed = reminder_events(&app)
        .await
        .into_iter()
        .find(|e| e.event_type == "reminder_suppressed")
        .unwrap();
    assert_eq!(suppressed.data["reason"], "condition_no_longer_true");
    assert_eq!(count(&app, "reminder_sent").await, 2);
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "reminders";
    a_moved_session_sends_its_convocation_once_on_the_new_day_and_updates_the_invitation,
    the_national_day_report_reminder_goes_only_to_schools_without_a_submitted_action,
    a_rule_created_late_sends_nothing_older_than_its_window_and_bad_rules_are_refused,
    an_smtp_outage_delays_reminders_and_loses_none,
    two_schedulers_racing_send_each_reminder_once,
    the_target_schedules_by_itself_under_its_lease,
    new_accounts_get_an_invitation_with_a_set_password_link_once,
    a_forgotten_password_request_mails_a_link_and_says_nothing_of_the_address,
    the_ledger_of_a_target_is_read_within_the_readers_scope,
    the_contest_opening_jury_attendance_and_charter_reminders_go_on_their_day,
    a_confirmed_registration_gets_its_convocation_at_once_with_the_invitation,
    a_referent_gets_one_digest_of_her_lagging_schools_per_occurrence,
    a_digest_school_that_catches_up_before_a_retry_is_suppressed_with_its_reason,
    the_attendance_reminder_goes_only_where_attendance_is_not_entered,
);
