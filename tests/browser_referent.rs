//! The department referent in a real browser: her actions to validate, one returned to
//! its school with a reason, another validated then published; the schools lagging
//! behind (`/retards`) and the label applications of her department (`/labels`)
//! (`tests/browser/walk-referent.mjs`).

use pharos_test_support::{Client, PASSWORD, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::{Value, json};

const COLLEGE_31: &str = "0310001H";
const LYCEE_31: &str = "0310002J";
/// An école of Haute-Garonne that declares no action: it lags behind on the national day.
const ECOLE_31: &str = "0318147M";

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

/// A level-1 label application of `uai` for 2025-2026, each of the school's criteria
/// answered, submitted.
async fn submitted_label(school: &Client, uai: &str) -> String {
    let (status, body) = school
        .post(
            "/api/v1/phare/labels",
            json!({ "school_uai": uai, "school_year": "2025-2026", "target_level": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, view) = school.get(&format!("/api/v1/phare/labels/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    for criterion in view["criteria"].as_array().unwrap() {
        if criterion["answered_by"] == "school" {
            let (status, body) = school
                .post(
                    &format!("/api/v1/phare/labels/{id}/criteria"),
                    json!({ "criterion": criterion["key"], "met": true,
                            "evidence": "Voir le bilan annuel" }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    let (status, body) = school
        .post(&format!("/api/v1/phare/labels/{id}/submit"), json!({}))
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
    // An école without any action (with its account, the contact /retards gives), and the
    // collège's label application waiting for a decision.
    app.school(ECOLE_31, "ecole", "31").await;
    let ecole = app.user("school", Some(ECOLE_31)).await;
    let label = submitted_label(&college, COLLEGE_31).await;

    let stdout = crate::browser::walk(
        "walk-referent.mjs",
        &[
            ("PHAROS_BASE_URL", app.base.as_str()),
            ("PHAROS_REFERENT_EMAIL", referent.email.as_str()),
            ("PHAROS_REFERENT_PASSWORD", PASSWORD),
            ("PHAROS_RETURN_ID", to_return.as_str()),
            ("PHAROS_VALIDATE_ID", to_validate.as_str()),
            ("PHAROS_LAGGING_UAI", ECOLE_31),
            ("PHAROS_LAGGING_EMAIL", ecole.email.as_str()),
            ("PHAROS_LABEL_ID", label.as_str()),
        ],
    )
    .await;
    assert!(stdout.contains("7 passed, 0 failed"), "{stdout}");

    // What she did is what the API holds.
    let (_, returned) = referent.get(&format!("/api/v1/actions/{to_return}")).await;
    assert_eq!(returned["status"], "returned", "{returned}");
    assert!(
        returned["return_reason"]
            .as_str()
            .unwrap()
            .starts_with("Précisez les niveaux concernés")
    );
    let (_, published) = referent
        .get(&format!("/api/v1/actions/{to_validate}"))
        .await;
    assert_eq!(published["status"], "published", "{published}");
    app.finish().await;
}
