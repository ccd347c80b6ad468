//! `/cohortes`: a school creates an ambassador cohort (a kind its own kind does not allow
//! is refused by the API next to the field), records its counts by class level, sees the
//! « moins de 10 » warning, and declares it. No name on the page.

use pharos_test_support::{TestApp, TestDb, instant};
use reqwest::StatusCode;

use super::{Browser, COLLEGE_31, Page, assert_strict_page};

const NOW: &str = "2026-10-15T10:00:00Z";

/// The id of the (first) cohort whose counts form the page shows.
fn cohort_id(page: &Page) -> String {
    let marker = "action=\"/cohortes/";
    let start = page
        .body
        .match_indices(marker)
        .map(|(i, _)| i + marker.len())
        .find(|&i| !page.body[i..].starts_with("creer"))
        .unwrap_or_else(|| panic!("no cohort form in {}", page.body));
    page.body[start..].split('/').next().unwrap().to_owned()
}

async fn a_school_creates_a_cohort_counts_it_and_declares_it(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&school.email).await;

    let page = browser.get("/cohortes").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body.contains("<h1>Cohortes d&#x27;ambassadeurs</h1>")
            || page.body.contains("<h1>Cohortes d'ambassadeurs</h1>")
    );
    assert!(page.body.contains("Aucune cohorte pour 2026-2027"));
    assert!(
        page.body
            .contains("Aucun nom d'élève n'est demandé ni affiché ici")
    );
    // A collège: its pupils' kind and parents, not the lycée's.
    assert!(page.body.contains("<option value=\"eleves_college\""));
    assert!(page.body.contains("<option value=\"parents\""));
    assert!(!page.body.contains("<option value=\"eleves_lycee\""));
    let csrf = page.hidden("csrf");

    // Without the form's token: refused, nothing recorded.
    let before = app.events().await;
    let forged = browser
        .post_form("/cohortes/creer", &[("kind", "eleves_college")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A kind the school may not have, sent anyway: the API's refusal next to the field.
    let page = browser
        .post_form(
            "/cohortes/creer",
            &[
                ("csrf", &csrf),
                ("kind", "eleves_lycee"),
                ("display_name", "Camille Martin"),
                ("email", "camille.martin@ac-toulouse.fr"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("id=\"creer-kind-erreur\">Une cohorte de"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Cohorte non créée"));
    assert_eq!(app.events().await, before);

    let created = browser
        .post_form(
            "/cohortes/creer",
            &[
                ("csrf", &csrf),
                ("kind", "eleves_college"),
                ("display_name", "Camille Martin"),
                ("email", "camille.martin@ac-toulouse.fr"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), "/cohortes?succes=creee");
    let page = browser.get(created.location()).await;
    assert!(page.body.contains("La cohorte est créée en brouillon"));
    assert!(page.body.contains("Élèves ambassadeurs de collège"));
    assert!(page.body.contains(">Brouillon</span>"));
    assert!(
        !page.body.contains("<option value=\"eleves_college\""),
        "created once"
    );
    assert!(!page.body.contains("Camille Martin"), "no name on the page");
    let id = cohort_id(&page);

    // Counts by the levels of its kind: under 10, the warning.
    let counted = browser
        .post_form(
            &format!("/cohortes/{id}/effectifs"),
            &[
                ("csrf", &csrf),
                ("counts.6e", "3"),
                ("counts.5e", "4"),
                ("counts.4e", ""),
                ("counts.3e", ""),
            ],
        )
        .await;
    assert_eq!(counted.status, StatusCode::SEE_OTHER, "{}", counted.body);
    let page = browser.get(counted.location()).await;
    assert!(
        page.body
            .contains("Total : <strong>7 ambassadeurs</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Moins de 10 ambassadeurs"));
    assert!(page.body.contains("name=\"counts.5e\" value=\"4\""));
    // A count that is not a number is named next to its level.
    let page = browser
        .post_form(
            &format!("/cohortes/{id}/effectifs"),
            &[("csrf", &csrf), ("counts.6e", "trois")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains(&format!("id=\"effectifs-{id}-counts-6e-erreur\"")),
        "{}",
        page.body
    );

    // Declared, then 10 ambassadors: the warning goes.
    let declared = browser
        .post_form(&format!("/cohortes/{id}/declarer"), &[("csrf", &csrf)])
        .await;
    assert_eq!(declared.status, StatusCode::SEE_OTHER, "{}", declared.body);
    let page = browser.get(declared.location()).await;
    assert!(page.body.contains(">Déclarée</span>"), "{}", page.body);
    assert!(!page.body.contains("Déclarer au pôle"));
    let counted = browser
        .post_form(
            &format!("/cohortes/{id}/effectifs"),
            &[("csrf", &csrf), ("counts.6e", "6"), ("counts.5e", "4")],
        )
        .await;
    assert_eq!(counted.status, StatusCode::SEE_OTHER, "{}", counted.body);
    let page = browser.get("/cohortes").await;
    assert!(
        page.body
            .contains("Total : <strong>10 ambassadeurs</strong>")
    );
    assert!(!page.body.contains("Moins de 10 ambassadeurs"));
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pages_cohorts";
    a_school_creates_a_cohort_counts_it_and_declares_it,
);
