//! `/retards`: the schools of a department lagging behind (resource team, national-day
//! actions, contest drafts), each with its accounts to contact.

use pharos_test_support::seed::{CONTEST_NOW, submitted_contest};
use pharos_test_support::{TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::json;

use super::{Browser, COLLEGE_31, COLLEGE_32, LYCEE_31, assert_strict_page, created, until};

async fn a_referent_lists_the_lagging_schools_of_her_department_with_their_contacts(db: TestDb) {
    let files = std::env::temp_dir().join(format!("pharos-pages-lagging-{}", uuid::Uuid::now_v7()));
    let dir = files.display().to_string();
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(CONTEST_NOW))
        .configure(|raw| raw.files_dir = Some(dir))
        .start()
        .await;
    // Two collèges with a submitted entry each; a lycée of 31 with a deployment and no
    // team, and a draft entry of the collège of 31.
    let (_, contest, _) = submitted_contest(&app).await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    let lycee = app.user("school", Some(LYCEE_31)).await;
    created(
        &lycee,
        "/api/v1/phare/deployments",
        json!({ "school_year": "2026-2027", "school_uai": LYCEE_31 }),
    )
    .await;
    let college = app.user("school", Some(COLLEGE_31)).await;
    created(
        &college,
        &format!("/api/v1/contests/{contest}/entries"),
        json!({
            "school_uai": COLLEGE_31, "category": "college_affiche", "title": "Ensemble",
            "group": {"label": "4e B", "levels": ["4e"], "pupil_count": 20, "adult_count": 1},
            "responsible": {"display_name": "Alex Durand", "email": "alex.durand@ac-toulouse.fr"},
            "project_sheet": "Une affiche."
        }),
    )
    .await;

    let referent = app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&referent.email).await;
    let page = until(&mut browser, "/retards", "« Ensemble » encore en brouillon").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Établissements en retard</h1>"));
    assert!(
        page.body
            .contains("31 – Haute-Garonne, année scolaire 2026-2027"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("href=\"/retards\" aria-current=\"page\"")
    );
    // The resource teams: the collège without a deployment, the lycée without members.
    assert!(
        page.body.contains("Aucun déploiement pHARe cette année"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Équipe ressource de 0 membre sur 5"),
        "{}",
        page.body
    );
    // Each row with the school's accounts to write to.
    assert!(
        page.body
            .contains(&format!("<a href=\"mailto:{}\">", lycee.email)),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<a href=\"mailto:{}\">", college.email))
    );
    // National day: no action declared anywhere yet.
    assert!(page.body.contains("Aucune action déclarée"));
    // Nothing of the Gers.
    assert!(!page.body.contains(COLLEGE_32), "{}", page.body);
    // The referent chooses no department; a wrong year is named next to its field.
    assert!(!page.body.contains("id=\"departement\""));
    let wrong = browser.get("/retards?annee=2026").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("id=\"annee-erreur\""), "{}", wrong.body);

    // The pole chooses the department; a school has no such page.
    let manager = app.user("pole_manager", None).await;
    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;
    let page = pole.get("/retards?departement=32").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(COLLEGE_32) && !page.body.contains(LYCEE_31));
    let wrong = pole.get("/retards?departement=75").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("id=\"departement-erreur\""),
        "{}",
        wrong.body
    );
    let mut school = Browser::new(&app);
    school.sign_in(&college.email).await;
    assert_eq!(school.get("/retards").await.status, StatusCode::FORBIDDEN);
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

pharos_test_support::on_both_backends!(
    "lagging";
    a_referent_lists_the_lagging_schools_of_her_department_with_their_contacts,
);
