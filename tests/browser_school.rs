//! The school's walk in a real browser: « Concours », a participation created, a file
//! uploaded without JavaScript (the form posted to the pages) and another with the
//! progress bar, its rights attested, then submitted; « Actions » (`/mes-actions`) with
//! the school's action of the year.

use pharos_test_support::{PASSWORD, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::json;

const COLLEGE_31: &str = "0310001H";

#[tokio::test]
async fn the_school_enters_the_contest_and_submits_its_entry() {
    if !crate::browser::browser_ready() {
        return;
    }
    let files = std::env::temp_dir().join(format!("pharos-browser-files-{}", uuid::Uuid::now_v7()));
    let dir = files.display().to_string();
    // The clock inside the 2026-2027 submission window, 73 days before its deadline.
    let app = TestApp::builder(TestDb::sqlite("browser_school"))
        .targets(&["all"])
        .at(instant("2026-12-01T10:00:00+01:00"))
        .configure(|raw| raw.files_dir = Some(dir))
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    let (status, body) = manager
        .post(
            "/api/v1/contests",
            json!({
                "school_year": "2026-2027",
                "opens_at": "2026-11-02",
                "submission_deadline": "2027-02-12T23:59",
                "jury_on": "2027-03-18",
                "national_submission_on": "2027-03-31",
                "exhibition_from": "2027-05-10",
                "exhibition_to": "2027-05-28",
                "categories": [
                    {"level": "college", "medium": "affiche"},
                    {"level": "college", "medium": "video"}
                ],
                "rules": {
                    "media": ["affiche", "video"], "max_video_seconds": 120,
                    "max_file_bytes": 5_000_000, "file_types": ["png", "jpeg", "pdf", "mp4"],
                    "max_entries_per_group": 2, "nominees_per_category": 1
                }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let school = app.user("school", Some(COLLEGE_31)).await;
    // An action of the year (no campaign window), sent to the referent: /mes-actions lists it.
    let (status, action) = school
        .post(
            "/api/v1/national-days/2026-2027/actions",
            json!({
                "school_uai": COLLEGE_31, "campaign": "year_round", "date": "2026-11-20",
                "types": ["questionnaire"], "audience_levels": ["5e"],
                "pupils_reached": 60, "adults_reached": 3, "partners": [],
                "description": "Questionnaire sur le climat scolaire.", "held": true
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{action}");
    let (status, submitted) = school
        .post(
            &format!("/api/v1/actions/{}/submit", action["id"].as_str().unwrap()),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{submitted}");

    let stdout = crate::browser::walk(
        "walk-school.mjs",
        &[
            ("PHAROS_BASE_URL", app.base.as_str()),
            ("PHAROS_SCHOOL_EMAIL", school.email.as_str()),
            ("PHAROS_SCHOOL_PASSWORD", PASSWORD),
        ],
    )
    .await;
    assert!(stdout.contains("10 passed, 0 failed"), "{stdout}");

    // What the browser did, as the API reads it: one entry, submitted, with its two files.
    let (status, list) = school
        .get(&format!(
            "/api/v1/contests/{}/entries",
            body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["status"], "submitted", "{list}");
    assert_eq!(list["items"][0]["files"], 2, "{list}");
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}
