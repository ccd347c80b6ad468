//! `/phare`: a school starts its deployment of the year, signs the charter, builds its
//! resource team through the forms; refusals are shown next to their field with nothing
//! recorded; a referent outside the school's department is shown the API's refusal.

use pharos_test_support::{TestApp, TestDb, instant};
use reqwest::StatusCode;

use super::{Browser, COLLEGE_31, COLLEGE_32, Page, assert_strict_page};

/// Mid-October 2026: the school year 2026-2027 has started.
const NOW: &str = "2026-10-15T10:00:00Z";

async fn start(db: TestDb) -> TestApp {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    app
}

/// The deployment id the page's forms post to.
fn deployment_id(page: &Page) -> String {
    let marker = "action=\"/phare/deploiements/";
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no deployment form in {}", page.body))
        + marker.len();
    page.body[start..].split('/').next().unwrap().to_owned()
}

async fn a_school_starts_its_deployment_and_its_team_reaches_five_trained(db: TestDb) {
    let app = start(db).await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&school.email).await;

    // No deployment yet: the page says so and offers to start it.
    let page = browser.get("/phare").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Programme pHARe</h1>"));
    assert!(
        page.body
            .contains("Établissement 0310001H (0310001H) · année scolaire 2026-2027")
    );
    assert!(page.body.contains("Aucun déploiement pHARe pour 2026-2027"));
    assert!(
        page.body
            .contains("Démarrer le déploiement pHARe de l'année")
    );
    let csrf = page.hidden("csrf");

    // A form without its token is refused before anything is recorded.
    let before = app.events().await;
    let forged = browser.post_form("/phare/demarrer", &[("csrf", "")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.events().await, before);

    let started = browser
        .post_form("/phare/demarrer", &[("csrf", &csrf)])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    assert_eq!(started.location(), "/phare?succes=demarre");
    let page = browser.get(started.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("Le déploiement pHARe de l&#x27;année est démarré.")
    );
    assert!(page.body.contains("<strong id=\"formes\">0 sur 5</strong>"));
    assert!(
        page.body
            .contains("Faire signer la charte d&#x27;engagement")
    );
    let id = deployment_id(&page);
    let charter = format!("/phare/deploiements/{id}/charte");

    // A date that is not one, then a date in the future: named next to the field, and
    // nothing recorded.
    let before = app.events().await;
    let page = browser
        .post_form(&charter, &[("csrf", &csrf), ("signed_on", "31/02/2026")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"charte-signed-on-erreur\">« 31/02/2026 » n&#x27;est pas une date"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"31/02/2026\""),
        "what was typed is kept"
    );
    let page = browser
        .post_form(&charter, &[("csrf", &csrf), ("signed_on", "2026-12-01")])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body.contains(
            "id=\"charte-signed-on-erreur\">La date de signature ne peut pas être dans le futur"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("Date non enregistrée"));
    assert_eq!(app.events().await, before);

    // The charter signed: shown at once, from the API's own read.
    let signed = browser
        .post_form(&charter, &[("csrf", &csrf), ("signed_on", "2026-09-20")])
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let page = browser.get(signed.location()).await;
    assert!(
        page.body
            .contains("La date de signature de la charte est enregistrée.")
    );
    assert!(page.body.contains("Signée le 20/09/2026"), "{}", page.body);

    // Five trained members: the progress reaches 5 on 5.
    for n in 1..=5 {
        let name = format!("Membre {n}");
        let email = format!("membre{n}@ac-toulouse.fr");
        let added = browser
            .post_form(
                &format!("/phare/deploiements/{id}/equipe"),
                &[
                    ("csrf", &csrf),
                    ("display_name", &name),
                    ("email", &email),
                    ("function", "enseignant"),
                    ("trained", "oui"),
                ],
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        assert_eq!(added.location(), "/phare?succes=equipe");
    }
    let page = browser.get("/phare").await;
    assert!(
        page.body.contains("<strong id=\"formes\">5 sur 5</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("max=\"5\" value=\"5\""));
    assert!(page.body.contains("<td>Membre 5</td>"));
    // Addresses identify people for the API; the page does not show them.
    assert!(!page.body.contains("membre5@ac-toulouse.fr"));
    assert!(!page.body.contains("Compléter l&#x27;équipe ressource"));
    assert!(!page.body.contains("Compléter l'équipe ressource"));

    // The same person twice: the API's refusal, next to the form.
    let page = browser
        .post_form(
            &format!("/phare/deploiements/{id}/equipe"),
            &[
                ("csrf", &csrf),
                ("display_name", "Membre 1"),
                ("email", "membre1@ac-toulouse.fr"),
                ("function", "enseignant"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("Membre non ajouté"));
    app.finish().await;
}

async fn a_referent_opens_a_school_of_her_department_only(db: TestDb) {
    let app = start(db).await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let (status, body) = school
        .post(
            "/api/v1/phare/deployments",
            serde_json::json!({ "school_year": "2026-2027", "school_uai": COLLEGE_31 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Her department's school: its deployment, with the forms.
    let referent_31 = app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&referent_31.email).await;
    let page = browser.get("/phare").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Indiquez l&#x27;UAI") || page.body.contains("Indiquez l'UAI"));
    let page = browser.get("/phare?uai=0310001h").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<strong id=\"formes\">0 sur 5</strong>"));
    assert!(page.body.contains("name=\"uai\" value=\"0310001H\""));

    // Another department's: the API refuses, and the page says why.
    let referent_32 = app.user("department_referent", Some("32")).await;
    let mut other = Browser::new(&app);
    other.sign_in(&referent_32.email).await;
    let page = other.get("/phare?uai=0310001H").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("Déploiement inaccessible"));
    assert!(!page.body.contains("id=\"formes\""));
    // A UAI that is not one is named next to its field.
    let page = other.get("/phare?uai=123").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"uai-erreur\""));
    app.finish().await;
}

async fn a_school_answers_its_label_criteria_and_submits(db: TestDb) {
    let app = start(db).await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&school.email).await;
    let csrf = browser.get("/phare").await.hidden("csrf");
    browser
        .post_form("/phare/demarrer", &[("csrf", &csrf)])
        .await;
    let id = deployment_id(&browser.get("/phare").await);
    let signed = browser
        .post_form(
            &format!("/phare/deploiements/{id}/charte"),
            &[("csrf", &csrf), ("signed_on", "2026-09-20")],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);

    // No request yet: the levels of the year's criteria to choose from.
    let page = browser.get("/phare/label").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("Aucune candidature au label pour 2026-2027")
    );
    assert!(
        page.body
            .contains("<option value=\"1\" selected>Niveau 1 — engagement</option>")
    );
    let started = browser
        .post_form(
            "/phare/label/demarrer",
            &[("csrf", &csrf), ("target_level", "1")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let page = browser.get(started.location()).await;
    assert!(page.body.contains("id=\"etat-label\""), "{}", page.body);
    assert!(page.body.contains(">Brouillon</span>"));
    // The charter criterion, suggested from the deployment's facts.
    assert!(
        page.body
            .contains("Charte d&#x27;engagement signée et en vigueur")
    );
    assert!(page.body.contains("Suggestion : rempli"), "{}", page.body);
    let marker = "action=\"/phare/label/";
    let start = page.body.find(marker).unwrap() + marker.len();
    let label = page.body[start..].split('/').next().unwrap().to_owned();

    // Submitted with criteria unanswered: the API's refusal is shown.
    let page = browser
        .post_form(
            &format!("/phare/label/{label}/soumettre"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(page.status.is_client_error(), "{}", page.body);
    assert!(page.body.contains("Candidature non déposée"));
    let answered = browser
        .post_form(
            &format!("/phare/label/{label}/critere"),
            &[
                ("csrf", &csrf),
                ("criterion", "charte_signee"),
                ("met", "oui"),
                ("evidence", "Charte signée le 20/09/2026"),
            ],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
    let page = browser.get(answered.location()).await;
    assert!(
        page.body
            .contains("<strong>rempli</strong> — Charte signée le 20/09/2026"),
        "{}",
        page.body
    );
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pages_phare";
    a_school_starts_its_deployment_and_its_team_reaches_five_trained,
    a_referent_opens_a_school_of_her_department_only,
    a_school_answers_its_label_criteria_and_submits,
);
