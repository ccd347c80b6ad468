//! The school's pHARe walk in a real browser: « pHARe », the deployment of the year
//! started, the charter signed, a team member added; then « Cohortes », a cohort created
//! with its counts by class level.

use pharos_test_support::{PASSWORD, TestApp, TestDb, instant};
use reqwest::StatusCode;

const COLLEGE_31: &str = "0310001H";

#[tokio::test]
async fn the_school_follows_its_phare_deployment_and_its_cohorts() {
    if !crate::browser::browser_ready() {
        return;
    }
    // Mid-October 2026: the school year 2026-2027 has started.
    let app = TestApp::builder(TestDb::sqlite("browser_phare"))
        .targets(&["all"])
        .at(instant("2026-10-15T10:00:00+02:00"))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    let school = app.user("school", Some(COLLEGE_31)).await;

    let stdout = crate::browser::walk(
        "walk-phare.mjs",
        &[
            ("PHAROS_BASE_URL", app.base.as_str()),
            ("PHAROS_SCHOOL_EMAIL", school.email.as_str()),
            ("PHAROS_SCHOOL_PASSWORD", PASSWORD),
        ],
    )
    .await;
    assert!(stdout.contains("6 passed, 0 failed"), "{stdout}");

    // What the browser did, as the API reads it.
    let (status, list) = school
        .get(&format!(
            "/api/v1/phare/deployments?school_uai={COLLEGE_31}&school_year=2026-2027"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let id = list["items"][0]["id"].as_str().unwrap();
    let (status, deployment) = school.get(&format!("/api/v1/phare/deployments/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{deployment}");
    assert_eq!(
        deployment["charter"]["signed_on"], "2026-09-20",
        "{deployment}"
    );
    assert_eq!(
        deployment["compliance"]["trained_members"], 1,
        "{deployment}"
    );
    let (status, cohorts) = school
        .get(&format!(
            "/api/v1/cohorts?school_uai={COLLEGE_31}&school_year=2026-2027"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{cohorts}");
    assert_eq!(cohorts["items"][0]["kind"], "eleves_college", "{cohorts}");
    assert_eq!(cohorts["items"][0]["total"], 7, "{cohorts}");
    app.finish().await;
}
