//! The trainings target through the real application (assembled with `directory`, which
//! issues accounts and registers schools), on a real port, with a real HTTP client, on
//! SQLite and on PostgreSQL. Time is a manual clock: sessions are planned ahead, then
//! attended.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharos_eventstore::on_db;
use pharos_test_support::{Client, TestApp, TestDb, instant, rule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const UAI_31: &str = "0310001H";
const UAI_31B: &str = "0310002J";
const UAI_32: &str = "0320001C";
const BEFORE: &str = "2026-11-21T10:00:00+01:00";
const DURING: &str = "2026-12-03T10:00:00+01:00";
const AFTER: &str = "2026-12-03T18:00:00+01:00";

/// The application serving `trainings`, with three collèges (two in the Haute-Garonne,
/// one in the Gers), and a pole manager.
///
/// The accounts `accounts` makes are created, then the clock is set to `BEFORE`.
async fn start<T>(db: TestDb, accounts: impl AsyncFnOnce(&TestApp) -> T) -> (TestApp, Client, T) {
    let app = TestApp::builder(db).targets(&["trainings"]).start().await;
    let manager = app.user("pole_manager", None).await;
    for (uai, department) in [(UAI_31, "31"), (UAI_31B, "31"), (UAI_32, "32")] {
        register_school(&manager, uai, department).await;
    }
    let others = accounts(&app).await;
    app.set_now(instant(BEFORE));
    (app, manager, others)
}

/// Registers a collège as the pole manager `manager`.
async fn register_school(manager: &Client, uai: &str, department: &str) {
    let (status, body) = manager
        .post(
            "/api/v1/schools",
            json!({
                "uai": uai, "name": format!("Collège {uai}"), "kind": "college", "sector": "public",
                "department": department, "commune": "Toulouse"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// `GET /api/v1/sessions/{id}`, which must answer 200.
async fn read_session(client: &Client, id: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/sessions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A training of `department` and an open session of it on 2026-12-03.
async fn open_session(
    client: &Client,
    department: Option<&str>,
    capacity: u32,
    trainers: &[&str],
) -> String {
    let (status, training) = client
        .post(
            "/api/v1/trainings",
            json!({
                "title": "Méthode de la préoccupation partagée", "topic": "mpp",
                "audience": "équipes ressources des collèges", "department": department,
                "description": "Deux demi-journées"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{training}");
    let (status, session) = client
        .post(
            &format!(
                "/api/v1/trainings/{}/sessions",
                training["id"].as_str().unwrap()
            ),
            session_body(capacity, trainers),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let id = session["id"].as_str().unwrap().to_owned();
    let (status, body) = client
        .post(&format!("/api/v1/sessions/{id}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

fn session_body(capacity: u32, trainers: &[&str]) -> Value {
    json!({
        "starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00",
        "slots": [
            {"starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T12:00:00+01:00"},
            {"starts_at": "2026-12-03T13:30:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00"}
        ],
        "location": "Atelier Canopé, Toulouse", "capacity": capacity, "planned_minutes": 390,
        "trainers": trainers
    })
}

fn person(n: usize, school: Option<&str>) -> Value {
    json!({
        "person": {"email": format!("personne{n}@ac-toulouse.fr"), "display_name": format!("Personne {n}"),
                   "school_uai": school, "function": "CPE"},
        "mode": "designated"
    })
}

async fn a_session_runs_from_planning_to_archive_and_counts_hours(db: TestDb) {
    let (app, manager, (trainer, school)) = start(db, async |app: &TestApp| {
        (
            app.user("trainer", None).await,
            app.user("school", Some(UAI_31)).await,
        )
    })
    .await;
    let id = open_session(&manager, Some("31"), 2, &[&trainer.id]).await;

    let (status, first) = school
        .post(
            &format!("/api/v1/sessions/{id}/registrations"),
            person(1, None),
        )
        .await;
    assert_eq!(
        (status, first["status"].as_str()),
        (StatusCode::CREATED, Some("confirmed")),
        "{first}"
    );
    let (_, second) = manager
        .post(
            &format!("/api/v1/sessions/{id}/registrations"),
            person(2, Some(UAI_31B)),
        )
        .await;
    assert_eq!(second["status"], "confirmed");
    let (_, third) = manager
        .post(
            &format!("/api/v1/sessions/{id}/registrations"),
            person(3, None),
        )
        .await;
    assert_eq!(third["status"], "waitlisted");

    let (status, withdrawn) = manager
        .post(
            &format!(
                "/api/v1/sessions/{id}/registrations/{}/withdraw",
                second["id"].as_str().unwrap()
            ),
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, &withdrawn["promoted"]),
        (StatusCode::OK, &json!([third["id"]])),
        "a list, as after a change of capacity"
    );
    let (status, _) = manager
        .post(&format!("/api/v1/sessions/{id}/close"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);

    app.set_now(instant(DURING));
    let first_id = first["id"].as_str().unwrap();
    let third_id = third["id"].as_str().unwrap();
    for (registration, slot, status, minutes) in [
        (first_id, 0, "present", None),
        (third_id, 0, "present", Some(150)),
    ] {
        let (code, body) = trainer.post(&format!("/api/v1/sessions/{id}/attendance"), json!({
                "registration_id": registration, "slot_index": slot, "status": status, "minutes": minutes
            }))
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    app.set_now(instant(AFTER));
    let (code, _) = trainer
        .post(
            &format!("/api/v1/sessions/{id}/attendance"),
            json!({"registration_id": first_id, "slot_index": 1, "status": "present"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = trainer
        .post(
            &format!("/api/v1/sessions/{id}/attendance"),
            json!({"registration_id": third_id, "slot_index": 1, "status": "absent"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = manager
        .post(
            &format!("/api/v1/sessions/{id}/lock-attendance"),
            Value::Null,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, body) = trainer.post(&format!("/api/v1/sessions/{id}/attendance/corrections"), json!({
            "registration_id": third_id, "slot_index": 1, "status": "excused", "reason": "convocation à un conseil de discipline"
        }))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, _) = manager
        .post(&format!("/api/v1/sessions/{id}/archive"), Value::Null)
        .await;
    assert_eq!(code, StatusCode::OK);

    let session = read_session(&manager, &id).await;
    assert_eq!(session["status"], "archived");
    let minutes: Vec<(String, String, u64)> = session["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["display_name"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["attended_minutes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        minutes,
        [
            ("Personne 1".to_owned(), "confirmed".to_owned(), 390),
            ("Personne 2".to_owned(), "withdrawn".to_owned(), 0),
            ("Personne 3".to_owned(), "confirmed".to_owned(), 150),
        ]
    );
    // The school sees only its own people.
    let seen = read_session(&school, &id).await;
    let names: Vec<&str> = seen["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Personne 1"]);

    let stored: Vec<String> = on_db!(app.store.db(), |pool| sqlx::query_scalar(
        "SELECT CAST(data AS TEXT) FROM events WHERE category = 'training_session'"
    )
    .fetch_all(&pool)
    .await)
    .unwrap();
    assert!(
        !stored.join("\n").contains("personne1"),
        "registrants' e-mails are sealed"
    );
    app.finish().await;
}

async fn fifty_simultaneous_registrations_fill_twenty_places_then_wait_in_order(db: TestDb) {
    let (app, manager, ()) = start(db, async |_: &TestApp| {}).await;
    let id = open_session(&manager, None, 20, &[]).await;
    let requests = (0..50).map(|n| {
        let manager = &manager;
        let id = &id;
        async move {
            manager
                .post(
                    &format!("/api/v1/sessions/{id}/registrations"),
                    person(n, None),
                )
                .await
        }
    });
    let answers = futures::future::join_all(requests).await;
    let mut confirmed = 0;
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        if body["status"] == "confirmed" {
            confirmed += 1;
        }
    }
    assert_eq!(confirmed, 20);
    let session = read_session(&manager, &id).await;
    assert_eq!(
        (
            session["confirmed"].as_u64(),
            session["waitlisted"].as_u64()
        ),
        (Some(20), Some(30))
    );
    // The session lists registrations in the order they were recorded: the first 20
    // hold the places, the next 30 wait in that order.
    let registrations = session["registrations"].as_array().unwrap();
    for (i, r) in registrations.iter().enumerate() {
        if i < 20 {
            assert_eq!(r["status"], "confirmed", "{r}");
        } else {
            assert_eq!(
                (r["status"].as_str(), r["waitlist_position"].as_u64()),
                (Some("waitlisted"), Some(i as u64 - 19)),
                "{r}"
            );
        }
    }
    // Each answer said what the log says.
    for (_, body) in &answers {
        let stored = registrations
            .iter()
            .find(|r| r["id"] == body["id"])
            .unwrap();
        assert_eq!(stored["status"], body["status"]);
    }
    // A place freed goes to the first in line.
    let (_, withdrawn) = manager
        .post(
            &format!(
                "/api/v1/sessions/{id}/registrations/{}/withdraw",
                registrations[3]["id"].as_str().unwrap()
            ),
            Value::Null,
        )
        .await;
    assert_eq!(withdrawn["promoted"], json!([registrations[20]["id"]]));
    app.finish().await;
}

async fn bad_inputs_are_refused_with_the_rule_and_leave_the_stream_unchanged(db: TestDb) {
    let (app, manager, ()) = start(db, async |_: &TestApp| {}).await;
    let (_, training) = manager
        .post(
            "/api/v1/trainings",
            json!({"title": "Pilotes", "topic": "pilotes", "audience": "chefs d'établissement"}),
        )
        .await;
    let training = training["id"].as_str().unwrap();
    let before = app.events().await;
    for (change, expected_rule) in [
        (
            json!({"ends_at": "2026-12-03T09:00:00+01:00"}),
            "end-before-start",
        ),
        (json!({"planned_minutes": 0}), "non-positive-minutes"),
        (json!({"capacity": 0}), "non-positive-capacity"),
        (
            json!({"starts_at": "2026-11-01T09:00:00+01:00"}),
            "session-in-the-past",
        ),
        (json!({"location": null}), "no-place"),
    ] {
        let mut body = session_body(10, &[]);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, problem) = manager
            .post(&format!("/api/v1/trainings/{training}/sessions"), body)
            .await;
        assert_eq!(
            (status, rule(&problem)),
            (StatusCode::UNPROCESSABLE_ENTITY, expected_rule),
            "{problem}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .chars()
                .next()
                .unwrap()
                .is_uppercase()
        );
    }
    assert_eq!(app.events().await, before, "no session half-planned");

    let id = open_session(&manager, None, 1, &[]).await;
    let other = open_session(&manager, None, 10, &[]).await;
    let (_, first) = manager
        .post(
            &format!("/api/v1/sessions/{id}/registrations"),
            person(1, None),
        )
        .await;
    let first = first["id"].as_str().unwrap().to_owned();
    let path = |suffix: &str| format!("/api/v1/sessions/{id}{suffix}");
    let mut same_person = person(1, None);
    same_person["person"]["email"] = json!("PERSONNE1@AC-Toulouse.fr");
    let checks: Vec<(&str, String, Value, StatusCode, &str)> = vec![
        (
            "BEFORE",
            path("/registrations"),
            same_person.clone(),
            StatusCode::CONFLICT,
            "already-registered",
        ),
        (
            "BEFORE",
            format!("/api/v1/sessions/{other}/registrations"),
            same_person,
            StatusCode::CONFLICT,
            "overlapping-session",
        ),
        (
            "BEFORE",
            path("/registrations"),
            json!({"person": {"email": "x", "display_name": "X", "function": "CPE"}, "mode": "volunteer"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-email",
        ),
        (
            "BEFORE",
            path("/attendance"),
            json!({"registration_id": first, "slot_index": 0, "status": "present"}),
            StatusCode::CONFLICT,
            "before-start",
        ),
        (
            "BEFORE",
            path("/lock-attendance"),
            Value::Null,
            StatusCode::CONFLICT,
            "not-ended",
        ),
        (
            "BEFORE",
            path("/cancel"),
            json!({"reason": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason-required",
        ),
        (
            "DURING",
            path("/registrations"),
            person(5, None),
            StatusCode::CONFLICT,
            "session-past",
        ),
        (
            "DURING",
            path("/attendance"),
            json!({"registration_id": uuid_like(), "slot_index": 0, "status": "present"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-registered",
        ),
        (
            "DURING",
            path("/attendance"),
            json!({"registration_id": first, "slot_index": 0, "status": "present", "minutes": 181}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "minutes-over-slot",
        ),
        (
            "DURING",
            path("/attendance"),
            json!({"registration_id": first, "slot_index": 5, "status": "present"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-slot",
        ),
        (
            "DURING",
            path("/attendance/corrections"),
            json!({"registration_id": first, "slot_index": 0, "status": "present", "reason": "oubli"}),
            StatusCode::CONFLICT,
            "not-locked",
        ),
    ];
    for (when, path, body, expected, expected_rule) in checks {
        app.set_now(instant(if when == "BEFORE" { BEFORE } else { DURING }));
        let version = read_session(&manager, &id).await["version"].clone();
        let other_version = read_session(&manager, &other).await["version"].clone();
        let (status, problem) = manager.post(&path, body).await;
        assert_eq!(
            (status, rule(&problem)),
            (expected, expected_rule),
            "{path}: {problem}"
        );
        assert_eq!(
            read_session(&manager, &id).await["version"],
            version,
            "{path}"
        );
        assert_eq!(
            read_session(&manager, &other).await["version"],
            other_version,
            "{path}"
        );
    }

    app.set_now(instant(AFTER));
    let (status, _) = manager.post(&path("/lock-attendance"), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let version = read_session(&manager, &id).await["version"].clone();
    for (suffix, body, expected, expected_rule) in [
        (
            "/attendance",
            json!({"registration_id": first, "slot_index": 0, "status": "present"}),
            StatusCode::CONFLICT,
            "attendance-locked",
        ),
        (
            "/attendance/corrections",
            json!({"registration_id": first, "slot_index": 0, "status": "present"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason-required",
        ),
        (
            "/cancel",
            json!({"reason": "trop tard"}),
            StatusCode::CONFLICT,
            "transition-not-allowed",
        ),
    ] {
        let (status, problem) = manager.post(&path(suffix), body).await;
        assert_eq!(
            (status, rule(&problem)),
            (expected, expected_rule),
            "{suffix}: {problem}"
        );
        assert_eq!(read_session(&manager, &id).await["version"], version);
    }

    app.set_now(instant(BEFORE));
    let (status, _) = manager
        .post(
            &format!("/api/v1/sessions/{other}/cancel"),
            json!({"reason": "formatrice absente"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = manager
        .post(
            &format!("/api/v1/sessions/{other}/registrations"),
            person(9, None),
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "session-cancelled")
    );
    app.finish().await;
}

/// One command of the matrix: when, what, where, with what, who may, what success is.
type Case = (
    &'static str,
    &'static str,
    String,
    Value,
    &'static [&'static str],
    StatusCode,
);

fn uuid_like() -> String {
    "01900000-0000-7000-8000-000000000000".into()
}

async fn every_role_in_and_out_of_scope_for_every_command(db: TestDb) {
    let (app, manager, accounts) = start(db, async |app: &TestApp| {
        [
            app.user("trainer", None).await,
            app.admin().await,
            app.user("department_referent", Some("31")).await,
            app.user("department_referent", Some("32")).await,
            app.user("school", Some(UAI_31)).await,
            app.user("school", Some(UAI_32)).await,
            app.user("juror", None).await,
            app.user("trainer", None).await,
        ]
    })
    .await;
    let [
        trainer,
        admin,
        referent_31,
        referent_32,
        school_31,
        school_32,
        juror,
        other_trainer,
    ] = accounts;
    let actors: Vec<(&str, Client)> = vec![
        ("anonymous", app.anonymous()),
        ("admin", admin),
        ("pole_manager", manager.clone()),
        ("referent_31", referent_31),
        ("referent_32", referent_32),
        ("school_31", school_31),
        ("school_32", school_32),
        ("juror", juror),
        ("trainer_of_session", trainer.clone()),
        ("other_trainer", other_trainer),
    ];
    const MANAGERS: &[&str] = &["pole_manager", "referent_31"];
    let mut n = 1000;
    for (actor, client) in &actors {
        // Fresh subjects for each actor: a session of department 31 with a registration.
        app.set_now(instant(BEFORE));
        let session = open_session(&manager, Some("31"), 50, &[&trainer.id]).await;
        let (_, training) = manager.post("/api/v1/trainings", json!({"title": "T", "topic": "referents", "audience": "référents", "department": "31"})).await;
        let training = training["id"].as_str().unwrap().to_owned();
        n += 10;
        let (_, registered) = manager
            .post(
                &format!("/api/v1/sessions/{session}/registrations"),
                person(n, Some(UAI_31)),
            )
            .await;
        let registration = registered["id"].as_str().unwrap().to_owned();
        let cases: Vec<Case> = vec![
            (
                "BEFORE",
                "create a training of 31",
                "/api/v1/trainings".into(),
                json!({"title": "T", "topic": "mpp", "audience": "tous", "department": "31"}),
                MANAGERS,
                StatusCode::CREATED,
            ),
            (
                "BEFORE",
                "create an academy-wide training",
                "/api/v1/trainings".into(),
                json!({"title": "T", "topic": "mpp", "audience": "tous"}),
                &["pole_manager"],
                StatusCode::CREATED,
            ),
            (
                "BEFORE",
                "plan a session",
                format!("/api/v1/trainings/{training}/sessions"),
                session_body(10, &[]),
                MANAGERS,
                StatusCode::CREATED,
            ),
            (
                "BEFORE",
                "register someone of school 31",
                format!("/api/v1/sessions/{session}/registrations"),
                person(n + 1, Some(UAI_31)),
                &["pole_manager", "referent_31", "school_31"],
                StatusCode::CREATED,
            ),
            (
                "BEFORE",
                "register someone of school 32",
                format!("/api/v1/sessions/{session}/registrations"),
                person(n + 2, Some(UAI_32)),
                &["pole_manager", "referent_31", "referent_32", "school_32"],
                StatusCode::CREATED,
            ),
            (
                "BEFORE",
                "reschedule",
                format!("/api/v1/sessions/{session}/reschedule"),
                json!({"starts_at": "2026-12-03T09:30:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00",
                    "slots": [{"starts_at": "2026-12-03T09:30:00+01:00", "ends_at": "2026-12-03T12:00:00+01:00"},
                              {"starts_at": "2026-12-03T13:30:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00"}]}),
                MANAGERS,
                StatusCode::OK,
            ),
            (
                "BEFORE",
                "close registrations",
                format!("/api/v1/sessions/{session}/close"),
                Value::Null,
                MANAGERS,
                StatusCode::OK,
            ),
            (
                "DURING",
                "record attendance",
                format!("/api/v1/sessions/{session}/attendance"),
                json!({"registration_id": registration, "slot_index": 0, "status": "present"}),
                &["pole_manager", "referent_31", "trainer_of_session"],
                StatusCode::OK,
            ),
            (
                "AFTER",
                "lock attendance",
                format!("/api/v1/sessions/{session}/lock-attendance"),
                Value::Null,
                MANAGERS,
                StatusCode::OK,
            ),
            (
                "AFTER",
                "correct attendance",
                format!("/api/v1/sessions/{session}/attendance/corrections"),
                json!({"registration_id": registration, "slot_index": 0, "status": "excused", "reason": "erreur de saisie"}),
                &["pole_manager", "referent_31", "trainer_of_session"],
                StatusCode::OK,
            ),
        ];
        for (when, name, path, body, allowed, created) in cases {
            app.set_now(instant(match when {
                "BEFORE" => BEFORE,
                "DURING" => DURING,
                _ => AFTER,
            }));
            let before = app.events().await;
            let (status, problem) = client.call(Method::POST, &path, body).await;
            let expected = match client.token {
                None => StatusCode::UNAUTHORIZED,
                Some(_) if allowed.contains(actor) => created,
                Some(_) => StatusCode::FORBIDDEN,
            };
            assert_eq!(status, expected, "{actor}: {name} → {problem}");
            if !status.is_success() {
                assert_eq!(
                    app.events().await,
                    before,
                    "{actor}: {name} appended after {status}"
                );
            }
            // A correction needs the lock: when this actor could not lock, the pole does.
            if name == "lock attendance" && !status.is_success() {
                let (status, _) = manager
                    .post(
                        &format!("/api/v1/sessions/{session}/lock-attendance"),
                        Value::Null,
                    )
                    .await;
                assert_eq!(status, StatusCode::OK);
            }
        }
        // Reading the session: managers and its trainer see every registrant; who may
        // register people to it (a school, the referent of another department) sees
        // their own; the others are refused.
        let (status, body) = client.get(&format!("/api/v1/sessions/{session}")).await;
        let expected = match *actor {
            "anonymous" => StatusCode::UNAUTHORIZED,
            "pole_manager" | "referent_31" | "trainer_of_session" | "school_31" | "school_32"
            | "referent_32" => StatusCode::OK,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(status, expected, "{actor}: read the session → {body}");
        if status == StatusCode::OK {
            let schools: Vec<&str> = body["registrations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["school_uai"].as_str().unwrap())
                .collect();
            let (ones, twos) = (
                schools.iter().filter(|s| **s == UAI_31).count(),
                schools.iter().filter(|s| **s == UAI_32).count(),
            );
            match *actor {
                "school_31" => assert!(ones >= 1 && twos == 0, "{body}"),
                "school_32" | "referent_32" => {
                    assert!(ones == 0 && twos >= 1, "{actor}: {body}")
                }
                _ => assert!(ones >= 1, "{actor}: {body}"),
            }
        }
    }
    app.finish().await;
}

/// A training of `department` (`None`: academy-wide), created by `client`.
async fn new_training(client: &Client, title: &str, department: Option<&str>) -> String {
    let (status, training) = client
        .post(
            "/api/v1/trainings",
            json!({"title": title, "topic": "mpp", "audience": "équipes ressources", "department": department}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{training}");
    training["id"].as_str().unwrap().to_owned()
}

/// Plans a session of `training` on `day` (`2026-12-03`), held in `department` when given.
async fn plan_on(
    client: &Client,
    training: &str,
    day: &str,
    department: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = session_body(10, &[]);
    for key in ["starts_at", "ends_at"] {
        body[key] = json!(body[key].as_str().unwrap().replace("2026-12-03", day));
    }
    for slot in body["slots"].as_array_mut().unwrap() {
        for key in ["starts_at", "ends_at"] {
            slot[key] = json!(slot[key].as_str().unwrap().replace("2026-12-03", day));
        }
    }
    body["department"] = json!(department);
    client
        .post(&format!("/api/v1/trainings/{training}/sessions"), body)
        .await
}

/// The ids of a page's items.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn academy_wide_trainings_have_sessions_managed_by_each_department(db: TestDb) {
    let (app, manager, (referent_31, referent_32)) = start(db, async |app: &TestApp| {
        (
            app.user("department_referent", Some("31")).await,
            app.user("department_referent", Some("32")).await,
        )
    })
    .await;
    let academy = new_training(&manager, "Pilotes pHARe", None).await;
    let (status, in_32) = plan_on(&manager, &academy, "2026-12-03", Some("32")).await;
    assert_eq!(status, StatusCode::CREATED, "{in_32}");
    let in_32 = in_32["id"].as_str().unwrap().to_owned();
    assert_eq!(read_session(&manager, &in_32).await["department"], "32");

    // A referent plans and runs the sessions of an academy-wide training held in their
    // department, not those of another one.
    let (status, in_31) = plan_on(&referent_31, &academy, "2026-12-04", Some("31")).await;
    assert_eq!(status, StatusCode::CREATED, "{in_31}");
    let in_31 = in_31["id"].as_str().unwrap().to_owned();
    let (status, body) = referent_31
        .post(&format!("/api/v1/sessions/{in_31}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = app.events().await;
    let (status, body) = referent_31
        .post(&format!("/api/v1/sessions/{in_32}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = referent_31
        .post(
            &format!("/api/v1/sessions/{in_32}/registrations"),
            person(1, None),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = plan_on(&referent_31, &academy, "2026-12-05", Some("32")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = plan_on(&referent_31, &academy, "2026-12-05", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an academy-wide session is the pole's: {body}"
    );
    // A department's training holds its sessions in its department.
    let of_31 = new_training(&referent_31, "MPP 31", Some("31")).await;
    let before_31 = app.events().await;
    let (status, problem) = plan_on(&manager, &of_31, "2026-12-05", Some("32")).await;
    assert_eq!(
        (status, rule(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "session-outside-training-department"
        ),
        "{problem}"
    );
    assert!(!problem["detail"].as_str().unwrap().contains("department_"));
    assert_eq!(app.events().await, before_31);
    assert_eq!(before_31, before + 1, "nothing appended on the refusals");
    let (status, body) = referent_32
        .post(&format!("/api/v1/sessions/{in_32}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.finish().await;
}

async fn volunteers_wait_for_the_opening_and_a_waitlist_blocks_no_other_session(db: TestDb) {
    let (app, manager, school) = start(db, async |app: &TestApp| {
        app.user("school", Some(UAI_31)).await
    })
    .await;
    let training = new_training(&manager, "MPP", Some("31")).await;
    let (_, planned) = plan_on(&manager, &training, "2026-12-03", None).await;
    let planned = planned["id"].as_str().unwrap().to_owned();
    let mut volunteer = person(1, None);
    volunteer["mode"] = json!("volunteer");
    let before = app.events().await;
    let (status, problem) = school
        .post(
            &format!("/api/v1/sessions/{planned}/registrations"),
            volunteer.clone(),
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "registrations-not-open"),
        "{problem}"
    );
    assert_eq!(app.events().await, before);
    // Designated by the head of school: accepted before the opening.
    let (status, body) = school
        .post(
            &format!("/api/v1/sessions/{planned}/registrations"),
            person(1, None),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::CREATED, Some("confirmed")),
        "{body}"
    );
    let (status, _) = manager
        .post(&format!("/api/v1/sessions/{planned}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    volunteer["person"]["email"] = json!("volontaire@ac-toulouse.fr");
    let (status, body) = school
        .post(
            &format!("/api/v1/sessions/{planned}/registrations"),
            volunteer,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A full session: person 2 waits; the same day, another session takes them.
    let full = open_session(&manager, Some("31"), 1, &[]).await;
    let other = open_session(&manager, Some("31"), 5, &[]).await;
    for (n, expected) in [(3, "confirmed"), (2, "waitlisted")] {
        let (_, body) = manager
            .post(
                &format!("/api/v1/sessions/{full}/registrations"),
                person(n, None),
            )
            .await;
        assert_eq!(body["status"], expected, "{body}");
    }
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{other}/registrations"),
            person(2, None),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a waitlisted place blocks nothing: {body}"
    );
    let before = app.events().await;
    let (status, problem) = manager
        .post(
            &format!("/api/v1/sessions/{other}/registrations"),
            person(3, None),
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "overlapping-session"),
        "{problem}"
    );
    assert_eq!(app.events().await, before);
    app.finish().await;
}

async fn capacity_and_trainers_change_after_planning(db: TestDb) {
    let (app, manager, (trainer, referent_32)) = start(db, async |app: &TestApp| {
        (
            app.user("trainer", None).await,
            app.user("department_referent", Some("32")).await,
        )
    })
    .await;
    let id = open_session(&manager, Some("31"), 1, &[]).await;
    let mut registrations = Vec::new();
    for n in 1..=4 {
        let (_, body) = manager
            .post(
                &format!("/api/v1/sessions/{id}/registrations"),
                person(n, None),
            )
            .await;
        registrations.push(body["id"].clone());
    }
    let capacity = format!("/api/v1/sessions/{id}/capacity");
    let (status, changed) = manager.put(&capacity, json!({"capacity": 3})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed["promoted"],
        json!([registrations[1], registrations[2]])
    );
    let session = read_session(&manager, &id).await;
    assert_eq!(
        (
            session["capacity"].as_u64(),
            session["confirmed"].as_u64(),
            session["waitlisted"].as_u64()
        ),
        (Some(3), Some(3), Some(1))
    );

    let before = app.events().await;
    for (who, body, expected, expected_rule) in [
        (
            &manager,
            json!({"capacity": 2}),
            StatusCode::CONFLICT,
            "capacity-below-confirmed",
        ),
        (
            &manager,
            json!({"capacity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "non-positive-capacity",
        ),
        (
            &referent_32,
            json!({"capacity": 10}),
            StatusCode::FORBIDDEN,
            "",
        ),
    ] {
        let (status, problem) = who.put(&capacity, body).await;
        assert_eq!(status, expected, "{problem}");
        if !expected_rule.is_empty() {
            assert_eq!(rule(&problem), expected_rule);
        }
    }
    let (_, problem) = manager.put(&capacity, json!({"capacity": 2})).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("3 inscriptions"),
        "{problem}"
    );
    assert_eq!(app.events().await, before, "nothing appended on refusals");

    // A trainer added after planning records the attendance.
    let trainers = format!("/api/v1/sessions/{id}/trainers");
    let (status, problem) = manager
        .put(&trainers, json!({"trainers": [uuid_like()]}))
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-trainer")
    );
    assert_eq!(
        problem["detail"],
        "Le 1er compte de la liste n'est pas un compte actif de formateur ou formatrice."
    );
    let (_, problem) = manager
        .put(&trainers, json!({"trainers": [trainer.id, uuid_like()]}))
        .await;
    assert_eq!(
        problem["detail"],
        "Le 2e compte de la liste n'est pas un compte actif de formateur ou formatrice."
    );
    assert_eq!(app.events().await, before);
    app.set_now(instant(DURING));
    let mark = json!({"registration_id": registrations[0], "slot_index": 0, "status": "present"});
    let (status, _) = trainer
        .post(&format!("/api/v1/sessions/{id}/attendance"), mark.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = manager
        .put(&trainers, json!({"trainers": [trainer.id]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = trainer
        .post(&format!("/api/v1/sessions/{id}/attendance"), mark)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, problem) = manager.put(&capacity, json!({"capacity": 8})).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "session-past")
    );
    app.finish().await;
}

async fn plannings_are_paginated_and_scoped(db: TestDb) {
    let (app, manager, (referent_31, school_32, trainer, juror)) =
        start(db, async |app: &TestApp| {
            (
                app.user("department_referent", Some("31")).await,
                app.user("school", Some(UAI_32)).await,
                app.user("trainer", None).await,
                app.user("juror", None).await,
            )
        })
        .await;
    let of_31 = new_training(&manager, "A - MPP 31", Some("31")).await;
    let of_32 = new_training(&manager, "B - MPP 32", Some("32")).await;
    let academy = new_training(&manager, "C - Pilotes", None).await;
    let mut sessions = Vec::new();
    for (training, day, department) in [
        (&academy, "2026-12-10", Some("32")),
        (&academy, "2026-12-08", Some("31")),
        (&academy, "2027-10-05", None),
        (&of_31, "2026-12-09", None),
    ] {
        let (status, body) = plan_on(&manager, training, day, department).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        sessions.push(body["id"].as_str().unwrap().to_owned());
    }
    let (status, body) = manager
        .put(
            &format!("/api/v1/sessions/{}/trainers", sessions[0]),
            json!({"trainers": [trainer.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, all) = manager.get("/api/v1/trainings").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(
        ids(&all).iter().collect::<Vec<_>>(),
        [&of_31, &of_32, &academy]
    );
    assert_eq!(
        (all["total"].as_u64(), all["limit"].as_u64()),
        (Some(3), Some(50))
    );
    let (_, second) = manager.get("/api/v1/trainings?limit=2&page=2").await;
    assert_eq!(
        (ids(&second), second["total"].as_u64()),
        (vec![academy.clone()], Some(3))
    );
    let (_, year) = manager.get("/api/v1/trainings?school_year=2027-2028").await;
    assert_eq!(ids(&year).iter().collect::<Vec<_>>(), [&academy]);
    let (_, in_32) = manager.get("/api/v1/trainings?department=32").await;
    assert_eq!(ids(&in_32).iter().collect::<Vec<_>>(), [&of_32, &academy]);
    let (_, seen) = referent_31.get("/api/v1/trainings").await;
    assert_eq!(ids(&seen).iter().collect::<Vec<_>>(), [&of_31, &academy]);
    let (_, seen) = school_32.get("/api/v1/trainings").await;
    assert_eq!(ids(&seen).iter().collect::<Vec<_>>(), [&of_32, &academy]);
    let (_, seen) = trainer.get("/api/v1/trainings").await;
    assert_eq!(ids(&seen).iter().collect::<Vec<_>>(), [&academy]);

    let path = format!("/api/v1/trainings/{academy}/sessions");
    let (_, all) = manager.get(&path).await;
    assert_eq!(
        ids(&all).iter().collect::<Vec<_>>(),
        [&sessions[1], &sessions[0], &sessions[2]],
        "by start"
    );
    assert_eq!(all["items"][1]["department"], "32");
    let (_, first) = manager.get(&format!("{path}?limit=1")).await;
    assert_eq!(
        (ids(&first), first["total"].as_u64()),
        (vec![sessions[1].clone()], Some(3))
    );
    let (_, seen) = referent_31.get(&path).await;
    assert_eq!(
        ids(&seen).iter().collect::<Vec<_>>(),
        [&sessions[1], &sessions[2]]
    );
    let (_, seen) = trainer.get(&path).await;
    assert_eq!(ids(&seen).iter().collect::<Vec<_>>(), [&sessions[0]]);
    let (_, seen) = referent_31
        .get(&format!("/api/v1/trainings/{of_31}/sessions"))
        .await;
    assert_eq!(ids(&seen).iter().collect::<Vec<_>>(), [&sessions[3]]);

    for (client, path, expected, expected_rule) in [
        (
            &manager,
            "/api/v1/trainings?limit=101".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-limit",
        ),
        (
            &manager,
            format!("{path}?page=0"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-page",
        ),
        (
            &manager,
            "/api/v1/trainings?school_year=2026".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-school-year",
        ),
        (
            &manager,
            "/api/v1/trainings?department=75".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-department",
        ),
        (
            &manager,
            format!("/api/v1/trainings/{}/sessions", uuid_like()),
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            &referent_31,
            format!("/api/v1/trainings/{of_32}/sessions"),
            StatusCode::FORBIDDEN,
            "",
        ),
        (
            &juror,
            "/api/v1/trainings".to_owned(),
            StatusCode::FORBIDDEN,
            "",
        ),
    ] {
        let (status, problem) = client.get(&path).await;
        assert_eq!(status, expected, "{path}: {problem}");
        if !expected_rule.is_empty() {
            assert_eq!(rule(&problem), expected_rule, "{path}");
        }
    }
    let (status, _) = app.anonymous().get("/api/v1/trainings").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

async fn a_past_session_is_recorded_with_its_attendance_and_closed_to_registrations(db: TestDb) {
    let (app, manager, (referent_31, school_31, trainer)) = start(db, async |app: &TestApp| {
        (
            app.user("department_referent", Some("31")).await,
            app.user("school", Some(UAI_31)).await,
            app.user("trainer", None).await,
        )
    })
    .await;
    let training = new_training(&manager, "MPP", Some("31")).await;
    let path = format!("/api/v1/trainings/{training}/sessions/past");
    let mut body = session_body(10, &[]);
    body["registrants"] = json!([
        {"person": person(1, Some(UAI_31))["person"], "mode": "designated",
         "attendance": [{"slot_index": 0, "status": "present"}, {"slot_index": 1, "status": "present", "minutes": 200}]},
        {"person": person(2, None)["person"], "mode": "volunteer",
         "attendance": [{"slot_index": 0, "status": "absent"}]}
    ]);

    app.set_now(instant(DURING));
    let before = app.events().await;
    let (status, problem) = manager.post(&path, body.clone()).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "session-not-ended"),
        "{problem}"
    );
    app.set_now(instant(AFTER));
    let mut twice = body.clone();
    twice["registrants"][1]["person"]["email"] = json!("PERSONNE1@ac-toulouse.fr");
    let (status, problem) = manager.post(&path, twice).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, "already-registered"),
        "{problem}"
    );
    for client in [&school_31, &trainer] {
        let (status, problem) = client.post(&path, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    }
    assert_eq!(app.events().await, before, "nothing appended on refusals");

    let (status, created) = referent_31.post(&path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let session = read_session(&manager, id).await;
    assert_eq!(
        (&session["status"], &session["recorded_after_the_fact"]),
        (&json!("attendance_locked"), &json!(true)),
        "recorded after the fact, its attendance is history"
    );
    let minutes: Vec<u64> = session["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["attended_minutes"].as_u64().unwrap())
        .collect();
    assert_eq!(minutes, [380, 0]);
    let planned: Vec<String> = on_db!(app.store.db(), |pool| sqlx::query_scalar(
        "SELECT CAST(data AS TEXT) FROM events WHERE event_type = 'session_planned'"
    )
    .fetch_all(&pool)
    .await)
    .unwrap();
    assert!(
        planned.iter().any(|d| d
            .replace(' ', "")
            .contains("\"recorded_after_the_fact\":true")),
        "{planned:?}"
    );

    let before = app.events().await;
    let mut volunteer = person(3, None);
    volunteer["mode"] = json!("volunteer");
    let (status, problem) = manager
        .post(&format!("/api/v1/sessions/{id}/registrations"), volunteer)
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "session-past"),
        "{problem}"
    );
    assert_eq!(app.events().await, before);
    let (status, problem) = manager
        .post(
            &format!("/api/v1/sessions/{id}/lock-attendance"),
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "transition-not-allowed"),
        "locked already: {problem}"
    );
    // A change is an audited correction, with its reason.
    let absent = session["registrations"][1]["id"].clone();
    let mark = json!({"registration_id": absent, "slot_index": 1, "status": "present"});
    let (status, problem) = manager
        .post(&format!("/api/v1/sessions/{id}/attendance"), mark.clone())
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "attendance-locked"),
        "{problem}"
    );
    let mut corrected = mark;
    corrected["reason"] = json!("feuille d'émargement retrouvée");
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{id}/attendance/corrections"),
            corrected,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = read_session(&manager, id).await;
    assert_eq!(session["registrations"][1]["attended_minutes"], 210);
    app.finish().await;
}

/// The person's schedule follows their confirmed places: a withdrawal frees the time, a
/// promotion from the waitlist takes it, a cancelled session blocks nothing.
async fn the_schedule_follows_withdrawals_promotions_and_cancellations(db: TestDb) {
    let (app, manager, ()) = start(db, async |_: &TestApp| ()).await;
    let small = open_session(&manager, Some("31"), 1, &[]).await;
    let other = open_session(&manager, Some("31"), 5, &[]).await;
    let register = async |session: &str, n: usize| {
        manager
            .post(
                &format!("/api/v1/sessions/{session}/registrations"),
                person(n, None),
            )
            .await
    };
    let withdraw = async |session: &str, registration: &Value| {
        let (status, body) = manager
            .post(
                &format!(
                    "/api/v1/sessions/{session}/registrations/{}/withdraw",
                    registration["id"].as_str().unwrap()
                ),
                Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    };

    let (_, first) = register(&small, 1).await;
    assert_eq!(first["status"], "confirmed", "{first}");
    let (status, problem) = register(&other, 1).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "overlapping-session"),
        "{problem}"
    );
    withdraw(&small, &first).await;
    // A confirmed place and its claim, then the withdrawal and the release, are each one
    // commit: one transaction id on PostgreSQL (SQLite's `commit_id` is always 0; the
    // conformance suite covers its linked appends).
    let rows: Vec<(String, i64)> = on_db!(app.store.db(), |pool| sqlx::query_as(
        "SELECT event_type, commit_id FROM events WHERE event_type IN \
         ('registration_confirmed', 'session_time_claimed', 'registration_withdrawn', \
          'session_time_released') ORDER BY commit_id, position"
    )
    .fetch_all(&pool)
    .await)
    .unwrap();
    let types: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        types,
        [
            "registration_confirmed",
            "session_time_claimed",
            "registration_withdrawn",
            "session_time_released"
        ],
        "{rows:?}"
    );
    assert_eq!(rows[0].1, rows[1].1, "one commit: {rows:?}");
    assert_eq!(rows[2].1, rows[3].1, "one commit: {rows:?}");
    let (status, body) = register(&other, 1).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::CREATED, Some("confirmed")),
        "a withdrawal frees the time: {body}"
    );

    // Person 3 waits in the small session, then is promoted: their time is taken.
    let (_, second) = register(&small, 2).await;
    let (_, waiting) = register(&small, 3).await;
    assert_eq!(waiting["status"], "waitlisted", "{waiting}");
    withdraw(&small, &second).await;
    let (status, problem) = register(&other, 3).await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "overlapping-session"),
        "a promotion takes the time: {problem}"
    );

    // Person 4 waits in the small session but takes a place in the other one; person 5
    // waits behind. When the place frees, person 4 is skipped (their time is taken) and
    // keeps waiting; person 5 is promoted.
    let (_, busy) = register(&small, 4).await;
    let (_, behind) = register(&small, 5).await;
    assert_eq!(
        (busy["status"].as_str(), behind["status"].as_str()),
        (Some("waitlisted"), Some("waitlisted"))
    );
    let (_, elsewhere) = register(&other, 4).await;
    assert_eq!(elsewhere["status"], "confirmed", "{elsewhere}");
    withdraw(&small, &waiting).await;
    let session = read_session(&manager, &small).await;
    let status_of = |registration: &Value| {
        session["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == registration["id"])
            .map(|r| r["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of(&busy).as_deref(), Some("waitlisted"), "{session}");
    assert_eq!(
        status_of(&behind).as_deref(),
        Some("confirmed"),
        "{session}"
    );

    // Cancelled, the small session holds nobody's time.
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{small}/cancel"),
            json!({"reason": "Formatrice indisponible"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = register(&other, 3).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::CREATED, Some("confirmed")),
        "a cancelled session blocks nothing: {body}"
    );
    app.finish().await;
}

/// Registrants are held until the end of the second school year after their session's:
/// the retention purge erases them then, except someone whose active account still holds
/// their data.
async fn registrants_are_purged_two_school_years_after_their_session(db: TestDb) {
    let (app, manager, _) = start(db, async |app: &TestApp| {
        app.user_with_email(
            "referente.31@ac-toulouse.fr",
            "department_referent",
            Some("31"),
        )
        .await
    })
    .await;
    let id = open_session(&manager, Some("31"), 10, &[]).await;
    let mut referent = person(0, None);
    referent["person"]["email"] = json!("Referente.31@ac-toulouse.fr");
    referent["person"]["display_name"] = json!("Référente 31");
    for body in [person(1, None), referent] {
        let (status, body) = manager
            .post(&format!("/api/v1/sessions/{id}/registrations"), body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let vault = &app.pharos.state.vault;
    let job = pharos_eventstore::Metadata::default();
    // The session is of 2026-2027: its registrants are held through 2028-2029.
    let purged = vault
        .purge(&app.store, instant("2029-08-31T23:00:00+02:00"), &job)
        .await
        .unwrap();
    assert!(purged.is_empty(), "{purged:?}");
    let purged = vault
        .purge(&app.store, instant("2029-09-01T03:00:00+02:00"), &job)
        .await
        .unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    assert_eq!(purged[0].purpose, "session_registrant");
    let session = read_session(&manager, &id).await;
    let names: Vec<&str> = session["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["donnée effacée", "Référente 31"]);
    app.finish().await;
}

/// An account's grants widen what it sees: a referent of 31 granted the Gers lists the
/// Gers' trainings, and granted « formateur » the sessions they give elsewhere.
async fn a_referent_with_grants_sees_each_department_and_session_they_hold(db: TestDb) {
    let (app, manager, referent) = start(db, async |app: &TestApp| {
        app.user("department_referent", Some("31")).await
    })
    .await;
    let admin = app.admin().await;
    new_training(&manager, "MPP 32", Some("32")).await;
    let of_65 = new_training(&manager, "MPP 65", Some("65")).await;
    let titles = async |client: &Client| {
        let (status, body) = client.get("/api/v1/trainings").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut titles: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect();
        titles.sort();
        titles
    };
    assert!(titles(&referent).await.is_empty());
    let (status, body) = admin
        .put(
            &format!("/api/v1/users/{}/grants", referent.id),
            json!({"grants": [{"role": "department_referent", "scope": "32"}, {"role": "trainer"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(titles(&referent).await, ["MPP 32"]);
    // Named trainer of a session of the Hautes-Pyrénées: that training shows too.
    let (status, session) = plan_on(&manager, &of_65, "2026-12-09", None).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let session = session["id"].as_str().unwrap();
    let (status, body) = manager
        .put(
            &format!("/api/v1/sessions/{session}/trainers"),
            json!({"trainers": [referent.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(titles(&referent).await, ["MPP 32", "MPP 65"]);
    let (status, body) = referent
        .get(&format!("/api/v1/trainings/{of_65}/sessions"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
    app.finish().await;
}

/// A reschedule that would put a confirmed person in two sessions at once is refused;
/// an accepted one moves their time, freeing the old slot.
async fn a_reschedule_moves_confirmed_peoples_time_and_never_double_books(db: TestDb) {
    let (app, manager, ()) = start(db, async |_: &TestApp| ()).await;
    let training = new_training(&manager, "MPP", Some("31")).await;
    let mut sessions = Vec::new();
    for day in ["2026-12-03", "2026-12-04", "2026-12-07"] {
        let (status, body) = plan_on(&manager, &training, day, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        sessions.push(body["id"].as_str().unwrap().to_owned());
    }
    let (thursday, friday, monday) = (&sessions[0], &sessions[1], &sessions[2]);
    for session in [thursday, friday] {
        let (status, body) = manager
            .post(
                &format!("/api/v1/sessions/{session}/registrations"),
                person(1, None),
            )
            .await;
        assert_eq!(body["status"], "confirmed", "{status} {body}");
    }
    let on = |day: &str| {
        let mut body = session_body(10, &[]);
        let text = body.to_string().replace("2026-12-03", day);
        body = serde_json::from_str(&text).unwrap();
        json!({"starts_at": body["starts_at"], "ends_at": body["ends_at"], "slots": body["slots"]})
    };
    let before = app.events().await;
    let (status, problem) = manager
        .post(
            &format!("/api/v1/sessions/{friday}/reschedule"),
            on("2026-12-03"),
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "reschedule-overlaps"),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("une personne inscrite"),
        "{problem}"
    );
    assert_eq!(app.events().await, before, "nothing appended");

    // Thursday's session moves to Tuesday: person 1's Thursday is free (their time
    // moved: the claim in their schedule, which registrations check, follows).
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{thursday}/reschedule"),
            on("2026-12-08"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, another) = plan_on(&manager, &training, "2026-12-03", None).await;
    let another = another["id"].as_str().unwrap();
    for session in [another, monday.as_str()] {
        let (status, body) = manager
            .post(
                &format!("/api/v1/sessions/{session}/registrations"),
                person(1, None),
            )
            .await;
        assert_eq!(
            body["status"], "confirmed",
            "the old slot is free: {status} {body}"
        );
    }
    // Monday moves onto Tuesday, where person 1 now is: refused.
    let (status, problem) = manager
        .post(
            &format!("/api/v1/sessions/{monday}/reschedule"),
            on("2026-12-08"),
        )
        .await;
    assert_eq!(
        (status, rule(&problem)),
        (StatusCode::CONFLICT, "reschedule-overlaps"),
        "the moved claim counts: {problem}"
    );
    app.finish().await;
}

/// `body` (a session's), moved to `day` (`2026-12-03` in it).
fn on_day(body: Value, day: &str) -> Value {
    serde_json::from_str(&body.to_string().replace("2026-12-03", day)).unwrap()
}

/// Records after the fact a session of `training` on `day`, held in `department`, with
/// `registrants`; answers its id.
async fn record_past_on(
    client: &Client,
    training: &str,
    day: &str,
    department: Option<&str>,
    registrants: Value,
) -> String {
    let mut body = on_day(session_body(10, &[]), day);
    body["department"] = json!(department);
    body["registrants"] = registrants;
    let (status, created) = client
        .post(&format!("/api/v1/trainings/{training}/sessions/past"), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// The plannings follow the school year and the department asked: the sessions listed,
/// the trainings listed and the sessions they count.
async fn plannings_follow_the_school_year_and_the_department(db: TestDb) {
    let (app, manager, referent_31) = start(db, async |app: &TestApp| {
        app.user("department_referent", Some("31")).await
    })
    .await;
    let academy = new_training(&manager, "Pilotes", None).await;
    let november = record_past_on(&manager, &academy, "2025-11-05", Some("82"), json!([])).await;
    let mut planned = Vec::new();
    for (day, department) in [
        ("2026-12-10", Some("82")),
        ("2026-12-11", Some("31")),
        ("2027-01-14", None),
        ("2027-10-05", Some("82")),
    ] {
        let (status, body) = plan_on(&manager, &academy, day, department).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        planned.push(body["id"].as_str().unwrap().to_owned());
    }
    let of_31 = new_training(&manager, "MPP 31", Some("31")).await;
    for day in ["2026-12-03", "2026-12-04"] {
        let (status, body) = plan_on(&manager, &of_31, day, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let unplanned = new_training(&manager, "Parents 31", Some("31")).await;

    // A training's sessions, by school year and department (academy-wide ones shown
    // with a department's).
    let sessions = async |client: &Client, query: &str| {
        let (status, body) = client
            .get(&format!("/api/v1/trainings/{academy}/sessions{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        (ids(&body), body["total"].as_u64().unwrap() as usize)
    };
    let (all, total) = sessions(&manager, "").await;
    assert_eq!((all.len(), total), (5, 5));
    assert_eq!(all[0], november);
    let (year, total) = sessions(&manager, "?school_year=2026-2027").await;
    assert_eq!((year.clone(), total), (planned[..3].to_vec(), 3));
    let (in_82, _) = sessions(&manager, "?school_year=2026-2027&department=82").await;
    assert_eq!(in_82, [planned[0].clone(), planned[2].clone()]);
    let (last_year, _) = sessions(&manager, "?school_year=2025-2026").await;
    assert_eq!(last_year, [november]);
    let (seen, _) = sessions(&referent_31, "?school_year=2026-2027").await;
    assert_eq!(seen, [planned[1].clone(), planned[2].clone()]);
    for (query, expected_rule) in [
        ("?school_year=2026", "invalid-school-year"),
        ("?department=75", "invalid-department"),
    ] {
        let (status, problem) = manager
            .get(&format!("/api/v1/trainings/{academy}/sessions{query}"))
            .await;
        assert_eq!(
            (status, rule(&problem)),
            (StatusCode::UNPROCESSABLE_ENTITY, expected_rule),
            "{problem}"
        );
    }

    // The trainings listed for a school year, with the sessions matching the filters.
    let trainings = async |client: &Client, query: &str| {
        let (status, body) = client.get(&format!("/api/v1/trainings{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_owned(),
                    t["sessions"].as_u64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        trainings(&manager, "?school_year=2026-2027&department=82").await,
        [(academy.clone(), 2)],
        "the session in 82 and the academy-wide one of that year"
    );
    assert_eq!(
        trainings(&manager, "?school_year=2026-2027").await,
        [
            (of_31.clone(), 2),
            (unplanned.clone(), 0),
            (academy.clone(), 3)
        ],
        "a training with no session yet shows in the school year it was created in"
    );
    assert_eq!(
        trainings(&manager, "?school_year=2025-2026&department=31").await,
        [],
        "no session of 2025-2026 held in 31 or academy-wide"
    );
    assert_eq!(
        trainings(&manager, "?school_year=2025-2026").await,
        [(academy.clone(), 1)]
    );
    assert_eq!(
        trainings(&manager, "?school_year=2027-2028").await,
        [(academy.clone(), 1)]
    );
    assert_eq!(
        trainings(&referent_31, "?school_year=2025-2026").await,
        [],
        "the session of 2025-2026 is in 82, out of the referent's sight"
    );
    assert_eq!(
        trainings(&referent_31, "").await,
        [(of_31.clone(), 2), (unplanned, 0), (academy.clone(), 2)],
        "counted: the sessions seen, every year"
    );
    app.finish().await;
}

/// Who may register people to a session reads it, with the people they may register:
/// a referent registering someone of their department in a session held elsewhere.
async fn who_registers_to_a_session_reads_it_with_their_people(db: TestDb) {
    let (app, manager, (referent_31, school_31, trainer)) = start(db, async |app: &TestApp| {
        (
            app.user("department_referent", Some("31")).await,
            app.user("school", Some(UAI_31)).await,
            app.user("trainer", None).await,
        )
    })
    .await;
    let in_32 = open_session(&manager, Some("32"), 10, &[]).await;
    let (status, mine) = referent_31
        .post(
            &format!("/api/v1/sessions/{in_32}/registrations"),
            person(1, Some(UAI_31)),
        )
        .await;
    assert_eq!(
        (status, mine["status"].as_str()),
        (StatusCode::CREATED, Some("confirmed")),
        "{mine}"
    );
    for body in [
        person(2, Some(UAI_31B)),
        person(3, Some(UAI_32)),
        person(4, None),
    ] {
        let (status, body) = manager
            .post(&format!("/api/v1/sessions/{in_32}/registrations"), body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let session = read_session(&referent_31, &in_32).await;
    let shown: Vec<&str> = session["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["Personne 1", "Personne 2"], "{session}");
    assert_eq!(
        (
            session["capacity"].as_u64(),
            session["confirmed"].as_u64(),
            session["waitlisted"].as_u64()
        ),
        (Some(10), Some(4), Some(0)),
        "with the session's public facts"
    );
    let session = read_session(&school_31, &in_32).await;
    assert_eq!(session["registrations"].as_array().unwrap().len(), 1);
    assert_eq!(session["registrations"][0]["id"], mine["id"]);
    let (status, body) = trainer.get(&format!("/api/v1/sessions/{in_32}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    app.finish().await;
}

/// Someone who already attended a session on the same topic is registered again, with a
/// warning in French.
async fn registering_someone_already_trained_warns(db: TestDb) {
    let (app, manager, ()) = start(db, async |_: &TestApp| ()).await;
    let before = new_training(&manager, "MPP 2025", Some("31")).await;
    record_past_on(
        &manager,
        &before,
        "2025-11-05",
        None,
        json!([
            {"person": person(1, Some(UAI_31))["person"], "mode": "designated",
             "attendance": [{"slot_index": 0, "status": "present"}]},
            {"person": person(2, Some(UAI_31))["person"], "mode": "designated",
             "attendance": [{"slot_index": 0, "status": "absent"}]}
        ]),
    )
    .await;
    let again = open_session(&manager, Some("31"), 10, &[]).await;
    let register = async |session: &str, n: usize| {
        let (status, body) = manager
            .post(
                &format!("/api/v1/sessions/{session}/registrations"),
                person(n, Some(UAI_31)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["warnings"].clone()
    };
    assert_eq!(
        register(&again, 1).await,
        json!([
            "Cette personne a déjà suivi une formation « méthode de la préoccupation partagée » (le 05/11/2025)."
        ])
    );
    assert_eq!(register(&again, 2).await, json!([]), "absent: not trained");
    assert_eq!(register(&again, 3).await, json!([]));
    let (status, other) = manager
        .post(
            "/api/v1/trainings",
            json!({"title": "Référents", "topic": "referents", "audience": "référents", "department": "31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let (status, session) =
        plan_on(&manager, other["id"].as_str().unwrap(), "2026-12-10", None).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(
        register(session["id"].as_str().unwrap(), 1).await,
        json!([]),
        "another topic"
    );
    app.finish().await;
}

/// Refusals name the schools they cite, not only their UAI.
async fn refusals_name_the_schools(db: TestDb) {
    let (app, manager, school_31) = start(db, async |app: &TestApp| {
        app.user("school", Some(UAI_31)).await
    })
    .await;
    let (status, body) = manager
        .post(
            "/api/v1/schools",
            json!({
                "uai": "0822013T", "name": "Collège Jean Jaurès", "kind": "college",
                "sector": "public", "department": "82", "commune": "Montauban"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = open_session(&manager, Some("31"), 10, &[]).await;
    let (status, problem) = school_31
        .post(
            &format!("/api/v1/sessions/{id}/registrations"),
            person(1, Some("0822013T")),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("l'établissement Collège Jean Jaurès (0822013T, département 82)")
            && detail.contains(&format!("l'établissement Collège {UAI_31} ({UAI_31})")),
        "{detail}"
    );
    let (status, body) = manager
        .post(
            "/api/v1/schools/0822013T/close",
            json!({"closed_on": "2026-11-20"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The closing reaches the trainings' reference of schools by its subscription: asked
    // of an unknown session (404 until then), the registration refuses nothing else.
    let mut answer = (StatusCode::NOT_FOUND, Value::Null);
    for _ in 0..100 {
        answer = manager
            .post(
                &format!("/api/v1/sessions/{}/registrations", uuid_like()),
                person(1, Some("0822013T")),
            )
            .await;
        if answer.0 != StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, problem) = answer;
    assert_eq!(
        (status, problem["detail"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("L'établissement Collège Jean Jaurès (0822013T) est fermé.")
        ),
        "{problem}"
    );
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-trainings";
    plannings_follow_the_school_year_and_the_department,
    who_registers_to_a_session_reads_it_with_their_people,
    registering_someone_already_trained_warns,
    refusals_name_the_schools,
    a_reschedule_moves_confirmed_peoples_time_and_never_double_books,
    a_referent_with_grants_sees_each_department_and_session_they_hold,
    registrants_are_purged_two_school_years_after_their_session,
    a_session_runs_from_planning_to_archive_and_counts_hours,
    fifty_simultaneous_registrations_fill_twenty_places_then_wait_in_order,
    bad_inputs_are_refused_with_the_rule_and_leave_the_stream_unchanged,
    every_role_in_and_out_of_scope_for_every_command,
    academy_wide_trainings_have_sessions_managed_by_each_department,
    volunteers_wait_for_the_opening_and_a_waitlist_blocks_no_other_session,
    capacity_and_trainers_change_after_planning,
    plannings_are_paginated_and_scoped,
    a_past_session_is_recorded_with_its_attendance_and_closed_to_registrations,
    the_schedule_follows_withdrawals_promotions_and_cancellations,
);
