//! The reminders target through the assembled application (beside `trainings` and
//! `national-day`, whose events its rules count from), on SQLite and on PostgreSQL, with
//! a manual clock and a real SMTP server receiving over TCP (mailcrab, in-process): the
//! mails are read back and parsed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use pharos_kit::MailSettings;
use pharos_reminders::{Engine, Report};
use pharos_test_support::{Client, TestApp, TestDb, instant, rule};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const UAI_A: &str = "0310001H";
const UAI_B: &str = "0310002J";
const FROM: &str = "Pharos <pharos@ac-toulouse.fr>";

/// A free local port (for a server started now, or later to end an outage).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real SMTP server on `port`, accepting once this returns.
struct Smtp {
    handle: mailcrab::TestMailServerHandle,
}

impl Smtp {
    async fn start(port: u16) -> Self {
        let handle = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(tokio::time::Instant::now() < deadline, "SMTP server not up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self { handle }
    }

    /// The next `n` mails, raw; fails after a deadline.
    async fn received(&mut self, n: usize) -> Vec<Vec<u8>> {
        let mut mails = Vec::new();
        while mails.len() < n {
            let mail = tokio::time::timeout(Duration::from_secs(10), self.handle.rx.recv())
                .await
                .expect("a mail within 10 s")
                .unwrap();
            mails.push(mail.raw_bytes().unwrap());
        }
        mails
    }

    /// Nothing else arrived (every mail of a run is received before the run returns:
    /// the server answered each one).
    fn nothing_more(&mut self) {
        assert!(
            self.handle.rx.try_recv().is_err(),
            "an unexpected extra mail"
        );
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.handle.token.cancel();
    }
}

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
    let head = app.store.head().await.unwrap().expect("events in the log");
    assert!(
        app.store
            .wait_readable(head, Duration::from_secs(10))
            .await
            .unwrap()
    );
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

pharos_test_support::on_both_backends!(
    "reminders";
    a_moved_session_sends_its_convocation_once_on_the_new_day_and_updates_the_invitation,
    the_national_day_report_reminder_goes_only_to_schools_without_a_submitted_action,
    a_rule_created_late_sends_nothing_older_than_its_window_and_bad_rules_are_refused,
    an_smtp_outage_delays_reminders_and_loses_none,
    two_schedulers_racing_send_each_reminder_once,
    the_target_schedules_by_itself_under_its_lease,
);
