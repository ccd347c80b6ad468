//! The department referent's trainings in a real browser: « Formations », a session with
//! its waitlist, the attendance of its first slot recorded through the sheet, the
//! sign-in sheet as printed, and a person registered to the next session through its
//! form, whose withdrawal she opens and declines, and a correction of a locked
//! attendance with its reason (`tests/browser/walk-trainings.mjs`).

use pharos_test_support::{Client, PASSWORD, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::{Value, json};

const COLLEGE_31: &str = "0310001H";

/// Registrations open, before the session.
const BEFORE: &str = "2026-11-21T10:00:00+01:00";
/// During the session's first slot (9 h 00 – 12 h 00).
const DURING: &str = "2026-12-03T10:30:00+01:00";
/// After the earlier session, the day it was held: its attendance is locked then.
const LOCKED_AFTER: &str = "2026-11-26T18:00:00+01:00";

async fn created(client: &Client, path: &str, body: Value) -> String {
    let (status, answer) = client.post(path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
    answer["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_referent_records_a_slot_and_prints_the_sign_in_sheet() {
    if !crate::browser::browser_ready() {
        return;
    }
    let app = TestApp::builder(TestDb::sqlite("browser-trainings"))
        .targets(&["all"])
        .at(instant(BEFORE))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    let manager = app.user("pole_manager", None).await;
    let referent = app.user("department_referent", Some("31")).await;
    let training = created(
        &manager,
        "/api/v1/trainings",
        json!({ "title": "Méthode de la préoccupation partagée", "topic": "mpp",
                "audience": "équipes ressources des collèges", "department": "31" }),
    )
    .await;
    let session = created(
        &manager,
        &format!("/api/v1/trainings/{training}/sessions"),
        json!({
            "starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00",
            "slots": [
                {"starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T12:00:00+01:00"},
                {"starts_at": "2026-12-03T13:30:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00"}
            ],
            "location": "Atelier Canopé, Toulouse", "capacity": 2, "planned_minutes": 390,
            "trainers": []
        }),
    )
    .await;
    let (status, body) = manager
        .post(&format!("/api/v1/sessions/{session}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut registrations = Vec::new();
    for (n, name) in ["Camille Martin", "Sacha Durand", "Lou Bernard"]
        .iter()
        .enumerate()
    {
        registrations.push(
            created(
                &manager,
                &format!("/api/v1/sessions/{session}/registrations"),
                json!({
                    "person": {"email": format!("personne{n}@ac-toulouse.fr"), "display_name": name,
                               "school_uai": COLLEGE_31, "function": "CPE"},
                    "mode": "designated"
                }),
            )
            .await,
        );
    }
    // The next session, a week later: open, nobody registered yet.
    let next = created(
        &manager,
        &format!("/api/v1/trainings/{training}/sessions"),
        json!({
            "starts_at": "2026-12-10T09:00:00+01:00", "ends_at": "2026-12-10T12:00:00+01:00",
            "slots": [
                {"starts_at": "2026-12-10T09:00:00+01:00", "ends_at": "2026-12-10T12:00:00+01:00"}
            ],
            "location": "Atelier Canopé, Toulouse", "capacity": 12, "planned_minutes": 180,
            "trainers": []
        }),
    )
    .await;
    let (status, body) = manager
        .post(&format!("/api/v1/sessions/{next}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An earlier session, held and locked: Noa Petit registered, nobody ticked.
    let locked = created(
        &manager,
        &format!("/api/v1/trainings/{training}/sessions"),
        json!({
            "starts_at": "2026-11-26T09:00:00+01:00", "ends_at": "2026-11-26T12:00:00+01:00",
            "slots": [
                {"starts_at": "2026-11-26T09:00:00+01:00", "ends_at": "2026-11-26T12:00:00+01:00"}
            ],
            "location": "Atelier Canopé, Toulouse", "capacity": 12, "planned_minutes": 180,
            "trainers": []
        }),
    )
    .await;
    let (status, body) = manager
        .post(&format!("/api/v1/sessions/{locked}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    created(
        &manager,
        &format!("/api/v1/sessions/{locked}/registrations"),
        json!({
            "person": {"email": "noa.petit@ac-toulouse.fr", "display_name": "Noa Petit",
                       "school_uai": COLLEGE_31, "function": "CPE"},
            "mode": "designated"
        }),
    )
    .await;
    app.set_now(instant(LOCKED_AFTER));
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{locked}/lock-attendance"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.set_now(instant(DURING));

    let stdout = crate::browser::walk(
        "walk-trainings.mjs",
        &[
            ("PHAROS_BASE_URL", app.base.as_str()),
            ("PHAROS_REFERENT_EMAIL", referent.email.as_str()),
            ("PHAROS_REFERENT_PASSWORD", PASSWORD),
            ("PHAROS_SESSION_ID", session.as_str()),
            ("PHAROS_NEXT_SESSION_ID", next.as_str()),
            ("PHAROS_LOCKED_SESSION_ID", locked.as_str()),
        ],
    )
    .await;
    assert!(stdout.contains("7 passed, 0 failed"), "{stdout}");

    // What she ticked is what the API holds: Camille present at the first slot (3 h),
    // Sacha absent.
    let (_, read) = manager.get(&format!("/api/v1/sessions/{session}")).await;
    let minutes = |id: &str| {
        read["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["attended_minutes"].as_i64().unwrap())
    };
    assert_eq!(minutes(&registrations[0]), Some(180), "{read}");
    assert_eq!(minutes(&registrations[1]), Some(0), "{read}");

    // The person she registered through the form: confirmed, as a volunteer, at the
    // school she gave.
    let (_, read) = manager.get(&format!("/api/v1/sessions/{next}")).await;
    let registered = &read["registrations"][0];
    assert_eq!(registered["display_name"], "Alex Petit", "{read}");
    assert_eq!(registered["email"], "alex.petit@ac-toulouse.fr", "{read}");
    assert_eq!(registered["school_uai"], COLLEGE_31, "{read}");
    assert_eq!(registered["function"], "CPE", "{read}");
    assert_eq!(registered["mode"], "volunteer", "{read}");
    assert_eq!(registered["status"], "confirmed", "{read}");
    app.finish().await;
}
