//! The department referent in a real browser: her actions to validate, one returned to
//! its school with a reason, another validated (`tests/browser/walk-referent.mjs`).

use pharos_test_support::{Client, PASSWORD, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::{Value, json};

const COLLEGE_31: &str = "0310001H";
const LYCEE_31: &str = "0310002J";

/// Two weeks after the Journée nationale of 2025-2026 (6 November 2025): inside its window.
const NOW: &str = "2025-11-20T10:00:00Z";

/// A national-day action of `uai`, declared and submitted by its school.
async fn submitted(school: &Client, uai: &str, pupils: i64) -> String {
    let (status, body) = school
        .post(
            "/api/v1/national-days/2025-2026/actions",
            json!({
                "school_uai": uai, "date": "2025-11-06",
                "types": ["projection_debat", "atelier"], "audience_levels": ["6e", "5e"],
                "pupils_reached": pupils, "adults_reached": 6,
                "partners": ["Association Les Petits Pas"],
                "description": "Projection du film puis débat en classe.", "held": true
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, body) = school
        .post(&format!("/api/v1/actions/{id}/submit"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

#[tokio::test]
async fn the_referent_returns_one_action_and_validates_another() {
    if !crate::browser::browser_ready() {
        return;
    }
    let app = TestApp::builder(TestDb::sqlite("browser-referent"))
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    let college = app.user("school", Some(COLLEGE_31)).await;
    let lycee = app.user("school", Some(LYCEE_31)).await;
    let referent = app.user("department_referent", Some("31")).await;
    let to_return = submitted(&college, COLLEGE_31, 120).await;
    let to_validate = submitted(&lycee, LYCEE_31, 45).await;

    let stdout = crate::browser::walk(
        "walk-referent.mjs",
        &[
            ("PHAROS_BASE_URL", app.base.as_str()),
            ("PHAROS_REFERENT_EMAIL", referent.email.as_str()),
            ("PHAROS_REFERENT_PASSWORD", PASSWORD),
            ("PHAROS_RETURN_ID", to_return.as_str()),
            ("PHAROS_VALIDATE_ID", to_validate.as_str()),
        ],
    )
    .await;
    assert!(stdout.contains("4 passed, 0 failed"), "{stdout}");

    // What she did is what the API holds.
    let (_, returned) = referent.get(&format!("/api/v1/actions/{to_return}")).await;
    assert_eq!(returned["status"], "returned", "{returned}");
    assert!(
        returned["return_reason"]
            .as_str()
            .unwrap()
            .starts_with("Précisez les niveaux concernés")
    );
    let (_, validated) = referent
        .get(&format!("/api/v1/actions/{to_validate}"))
        .await;
    assert_eq!(validated["status"], "validated", "{validated}");
    app.finish().await;
}
