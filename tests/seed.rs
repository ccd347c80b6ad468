//! Data the pages' tests and the browser walks share: a contest judged up to the scoring.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Client, TestApp};

/// Inside the 2026-2027 edition's submission window (Paris time): the instant a test
/// using [`judged_contest`] starts its clock at.
pub const CONTEST_NOW: &str = "2026-12-01T10:00:00+01:00";
const COLLEGE_31: &str = "0310001H";
const COLLEGE_32: &str = "0320001C";

/// A poster: a real 320 × 200 PNG, so that a browser shows it.
pub fn png() -> Vec<u8> {
    include_bytes!("fixtures/affiche.png").to_vec()
}

async fn ok(client: &Client, path: &str, body: Value) -> Value {
    let (status, answer) = client.post(path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// An edition of 2026-2027 (criteria by default) with a submitted entry of each of two
/// collèges (a poster, attested), nothing decided yet; the pole manager, the edition's id
/// and the entries' ids.
pub async fn submitted_contest(app: &TestApp) -> (Client, String, Vec<String>) {
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let contest = ok(
        &manager,
        "/api/v1/contests",
        json!({
            "school_year": "2026-2027", "opens_at": "2026-11-02",
            "submission_deadline": "2027-02-12T23:59", "jury_on": "2027-03-18",
            "national_submission_on": "2027-03-31", "exhibition_from": "2027-05-10",
            "exhibition_to": "2027-05-28",
            "categories": [{"level": "college", "medium": "affiche"}],
            "rules": {"media": ["affiche"], "max_video_seconds": 120, "max_file_bytes": 100_000,
                      "file_types": ["png", "pdf"], "max_entries_per_group": 1, "nominees_per_category": 1}
        }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    for (uai, title) in [
        (COLLEGE_31, "Briser le silence"),
        (COLLEGE_32, "Tous différents"),
    ] {
        let school = app.user("school", Some(uai)).await;
        let id = ok(
            &school,
            &format!("/api/v1/contests/{contest}/entries"),
            json!({
                "school_uai": uai, "category": "college_affiche", "title": title,
                "group": {"label": "5e A", "levels": ["5e"], "pupil_count": 24, "adult_count": 2},
                "responsible": {"display_name": "Camille Martin", "email": "camille.martin@ac-toulouse.fr"},
                "project_sheet": "Une affiche réalisée en classe de 5e."
            }),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let response = school
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/entries/{id}/files?name=affiche.png"),
            )
            .header("content-type", "image/png")
            .body(png())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        ok(
            &school,
            &format!("/api/v1/entries/{id}/attestations"),
            json!({"image_rights": true, "third_party_rights": true, "republic_values": true,
                   "rights_grant": true, "attested_by": "Principal du collège"}),
        )
        .await;
        ok(
            &school,
            &format!("/api/v1/entries/{id}/submit"),
            Value::Null,
        )
        .await;
        ids.push(id);
    }
    (manager, contest, ids)
}

/// The edition of [`submitted_contest`] with both entries admissible, and a juror
/// appointed and assigned both; the juror and the entries' ids.
pub async fn judged_contest(app: &TestApp) -> (Client, String, String) {
    let (manager, contest, mut ids) = submitted_contest(app).await;
    let juror = app.user("juror", None).await;
    ok(
        &manager,
        &format!("/api/v1/contests/{contest}/jurors"),
        json!({ "user_id": juror.id }),
    )
    .await;
    for id in &ids {
        ok(
            &manager,
            &format!("/api/v1/entries/{id}/admissibility"),
            json!({ "admissible": true }),
        )
        .await;
        ok(
            &manager,
            &format!("/api/v1/entries/{id}/jurors"),
            json!({ "juror_id": juror.id }),
        )
        .await;
    }
    (juror, ids.remove(0), ids.remove(0))
}
