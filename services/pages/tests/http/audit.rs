//! `/journal`: the audit log for the pole, by category, page after page; refused to a
//! referent.

use pharos_test_support::{TestApp, TestDb, on_both_backends};
use reqwest::StatusCode;

use super::{Browser, COLLEGE_31, assert_strict_page, until};

async fn the_pole_reads_the_log_by_category_page_after_page(db: TestDb) {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    // Enough accounts for the log to hold more than a page.
    for _ in 0..45 {
        app.user("juror", None).await;
    }
    assert!(app.events().await > 50, "{}", app.events().await);
    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;

    let page = pole.get("/journal").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Journal des événements</h1>"));
    assert!(page.body.contains("<td>Comptes</td>"), "{}", page.body);
    assert!(page.body.contains("Compte créé"), "{}", page.body);
    assert!(page.body.contains("Date (heure de Paris)"));
    // The next page follows the cursor.
    let marker = "fr-pagination__link--next fr-pagination__link--lg-label\" href=\"";
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("{}", page.body))
        + marker.len();
    let next = page.body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(next.starts_with("/journal?apres="), "{next}");
    let second = pole.get(&next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.body.contains("Première page"));
    assert_ne!(second.body, page.body);

    // One category: the school's stream, and who registered it.
    let page = until(&mut pole, "/journal?categorie=school", "school-0310001H").await;
    assert!(page.body.contains("<td>Établissements</td>"));
    assert!(!page.body.contains("<td>Comptes</td>"));
    assert!(page.body.contains("Pôle académique"), "{}", page.body);
    let page = pole.get("/journal?flux=school-0310001H").await;
    assert!(page.body.contains("school-0310001H"));
    let page = pole.get("/journal?categorie=inconnue").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"categorie-erreur\""));

    // A referent reads no log.
    let referent = app.user("department_referent", Some("31")).await;
    let mut department = Browser::new(&app);
    department.sign_in(&referent.email).await;
    let page = department.get("/journal").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Journal réservé"));
    app.finish().await;
}

on_both_backends!(
    "audit";
    the_pole_reads_the_log_by_category_page_after_page,
);
