//! `/rappels`: the reminder ledger as the scheduler filled it — a referent's schools only,
//! where each reminder stands and why, its filters and exports.

use pharos_test_support::{TestApp, TestDb, instant, on_both_backends};
use reqwest::StatusCode;
use serde_json::json;

use super::{Browser, COLLEGE_31, COLLEGE_32, assert_strict_page, until};

/// The application with every target, its scheduler evaluating the rules every second,
/// its mails written to a scratch directory; two collèges that report nothing for the
/// Journée nationale of 6 November 2025, and the clock at J+7, when their reminder is due.
async fn start(db: TestDb) -> TestApp {
    let outbox = std::env::temp_dir().join(format!(
        "pharos-pages-reminders-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant("2025-10-01T10:00:00+02:00"))
        .configure(move |raw| {
            raw.outbox_dir = Some(outbox.display().to_string());
            raw.reminders_interval_seconds = 1;
        })
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    app.user("school", Some(COLLEGE_31)).await;
    app.user("school", Some(COLLEGE_32)).await;
    let manager = app.user("pole_manager", None).await;
    let (status, body) = manager
        .put(
            "/api/v1/national-days/2025-2026",
            json!({ "date": "2025-11-06" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.set_now(instant("2025-11-13T09:00:00+01:00"));
    app
}

async fn a_referent_reads_why_her_schools_were_reminded(db: TestDb) {
    let app = start(db).await;
    let referent = app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&referent.email).await;

    let page = until(&mut browser, "/rappels", "Établissement 0310001H").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Rappels</h1>"));
    assert!(page.body.contains("31 – Haute-Garonne"));
    assert!(
        page.body.contains("national_day_report_j7"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Envoyé"), "{}", page.body);
    assert!(
        page.body.contains("occurrence du 06/11/2025"),
        "{}",
        page.body
    );
    // Gers's collège is not hers.
    assert!(!page.body.contains(COLLEGE_32), "{}", page.body);
    // She filters by the rule's key (the rules' names are the pole's) and by state.
    assert!(page.body.contains("id=\"regle\" name=\"regle\" value=\"\""));
    // The sent state is projected after the send: the list may need a moment.
    let page = until(
        &mut browser,
        "/rappels?etat=sent&regle=national_day_report_j7",
        "Établissement 0310001H",
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(
            "href=\"/api/v1/exports/reminders.csv?rule=national_day_report_j7&amp;status=sent\""
        ) || page.body.contains(
            "href=\"/api/v1/exports/reminders.csv?rule=national_day_report_j7&status=sent\""
        ),
        "{}",
        page.body
    );
    let page = browser.get("/rappels?etat=cancelled").await;
    assert!(
        page.body.contains("Aucun rappel pour ces filtres"),
        "{}",
        page.body
    );
    // Wrong filters are named next to their field.
    let page = browser
        .get("/rappels?etat=perdu&regle=Pas%20une%20cl%C3%A9")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"etat-erreur\"") && page.body.contains("id=\"regle-erreur\""));

    // The pole sees both departments, with the rules' names.
    let manager = app.user("pole_manager", None).await;
    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;
    let page = until(
        &mut pole,
        "/rappels?regle=national_day_report_j7",
        COLLEGE_32,
    )
    .await;
    assert!(page.body.contains(COLLEGE_31));
    assert!(
        page.body
            .contains("<option value=\"national_day_report_j7\" selected>"),
        "{}",
        page.body
    );
    let page = pole
        .get("/rappels?departement=32&regle=national_day_report_j7")
        .await;
    assert!(page.body.contains(COLLEGE_32) && !page.body.contains("Établissement 0310001H"));

    // A juror has no ledger.
    let juror = app.user("juror", None).await;
    let mut its = Browser::new(&app);
    its.sign_in(&juror.email).await;
    assert_eq!(its.get("/rappels").await.status, StatusCode::FORBIDDEN);
    app.finish().await;
}

on_both_backends!(
    "reminders";
    a_referent_reads_why_her_schools_were_reminded,
);
