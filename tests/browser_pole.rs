//! The pole manager's own pages in a real browser: the orientation directory and a
//! department's sheet printed on one A4 page, the reminder ledger, an account created
//! through the form, the audit log (`tests/browser/walk-pole.mjs`).

use pharos_test_support::{PASSWORD, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::json;

const COLLEGE_31: &str = "0310001H";
const COLLEGE_32: &str = "0320001C";
const NEW_EMAIL: &str = "claire.martin@ac-toulouse.fr";

#[tokio::test]
async fn the_manager_walks_the_directory_the_ledger_the_accounts_and_the_log() {
    if !crate::browser::browser_ready() {
        return;
    }
    let outbox = std::env::temp_dir().join(format!(
        "pharos-browser-pole-{}",
        uuid::Uuid::now_v7().simple()
    ));
    // The scheduler evaluates every second; the mails go to a scratch directory.
    let app = TestApp::builder(TestDb::sqlite("browser-pole"))
        .targets(&["all"])
        .at(instant("2025-10-01T10:00:00+02:00"))
        .configure(move |raw| {
            raw.outbox_dir = Some(outbox.display().to_string());
            raw.reminders_interval_seconds = 1;
        })
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    app.user("school", Some(COLLEGE_31)).await;
    app.user("school", Some(COLLEGE_32)).await;
    for body in [
        json!({
            "name": "Maison des adolescents de Haute-Garonne", "kind": "maison_des_adolescents",
            "scope": "department", "department": "31", "commune": "Toulouse",
            "phones": ["05 61 00 00 01"], "emails": ["accueil@mda31.example"],
            "hours": "Du lundi au vendredi, de 13 h à 19 h",
            "description": "Accueil, écoute et orientation des 11-25 ans."
        }),
        json!({
            "name": "Cellule d'écoute de Muret", "kind": "local_cell", "scope": "local",
            "department": "31", "commune": "Muret", "phones": ["05 61 00 00 02"],
            "last_verified_on": "2024-01-15"
        }),
    ] {
        let (status, answer) = manager.post("/api/v1/partners", body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    // Two collèges without a report of the Journée nationale of 6 November: at J+7 the
    // scheduler reminds them.
    let (status, body) = manager
        .put(
            "/api/v1/national-days/2025-2026",
            json!({ "date": "2025-11-06" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.set_now(instant("2025-11-13T09:00:00+01:00"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, ledger) = manager
            .post(
                "/graphql",
                json!({ "query": "{ reminders(rule: \"national_day_report_j7\") { totalCount } }" }),
            )
            .await;
        if ledger["data"]["reminders"]["totalCount"].as_i64() >= Some(2) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reminder: {ledger}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let stdout = crate::browser::walk(
        "walk-pole.mjs",
        &[
            ("PHAROS_BASE_URL", app.base.as_str()),
            ("PHAROS_MANAGER_EMAIL", manager.email.as_str()),
            ("PHAROS_MANAGER_PASSWORD", PASSWORD),
            ("PHAROS_NEW_EMAIL", NEW_EMAIL),
        ],
    )
    .await;
    assert!(stdout.contains("6 passed, 0 failed"), "{stdout}");

    // The account the form created is the API's.
    let (status, list) = manager.get(&format!("/api/v1/users?q={NEW_EMAIL}")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["role"], "department_referent");
    app.finish().await;
}
