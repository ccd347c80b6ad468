//! The account pages: changing one's password, asking for a link, choosing a password
//! with the link the mails carry.

use pharos_test_support::{PASSWORD, TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::json;

use super::{Browser, assert_strict_page};

const NEW: &str = "une phrase assez longue pour Pharos";

async fn a_password_is_changed_with_the_current_one_and_typed_twice(db: TestDb) {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let referent = app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&referent.email).await;
    let page = browser.get("/compte").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    let csrf = page.hidden("csrf");

    // The page's own rules, next to their fields; nothing asked of the API.
    let before = app.events().await;
    let short = browser
        .post_form(
            "/compte",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", "court"),
                ("confirm", "court"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short.body.contains(
            "id=\"new-erreur\">Choisissez un mot de passe d&#x27;au moins 12 caractères."
        ),
        "{}",
        short.body
    );
    let differ = browser
        .post_form(
            "/compte",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", NEW),
                ("confirm", "autre chose encore"),
            ],
        )
        .await;
    assert!(
        differ
            .body
            .contains("id=\"confirm-erreur\">Les deux saisies du nouveau mot de passe diffèrent.")
    );
    // The API's refusal of a wrong current password, in French.
    let wrong = browser
        .post_form(
            "/compte",
            &[
                ("csrf", &csrf),
                ("current", "pas le bon du tout"),
                ("new", NEW),
                ("confirm", NEW),
            ],
        )
        .await;
    assert!(wrong.status.is_client_error(), "{}", wrong.status);
    assert!(
        wrong.body.contains("fr-error-text") || wrong.body.contains("fr-alert--error"),
        "{}",
        wrong.body
    );
    assert_eq!(app.events().await, before);
    assert_eq!(
        browser
            .post_form(
                "/compte",
                &[
                    ("csrf", "0"),
                    ("current", PASSWORD),
                    ("new", NEW),
                    ("confirm", NEW)
                ]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let done = browser
        .post_form(
            "/compte",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", NEW),
                ("confirm", NEW),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        browser
            .get(done.location())
            .await
            .body
            .contains("Votre nouveau mot de passe est enregistré.")
    );
    app.login(&referent.email, NEW).await;
    app.finish().await;
}

async fn the_link_of_a_reset_mail_leads_to_a_new_password(db: TestDb) {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    app.school("0310001H", "college", "31").await;
    let school = app.user("school", Some("0310001H")).await;
    let admin = app.admin().await;
    let mut browser = Browser::new(&app);

    // Asking for a link answers alike for an account and for a stranger. (Another
    // account than the school's: the link mailed would replace the one issued below.)
    let referent = app.user("department_referent", Some("31")).await;
    for email in [referent.email.as_str(), "personne@ac-toulouse.fr"] {
        let form = browser.get("/mot-de-passe-oublie").await;
        assert_strict_page(&form);
        let asked = browser
            .post_form(
                "/mot-de-passe-oublie",
                &[("csrf", &form.hidden("csrf")), ("email", email)],
            )
            .await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        assert!(
            asked
                .body
                .contains(&format!("Si {email} est l'adresse d'un compte actif")),
            "{}",
            asked.body
        );
    }
    let form = browser.get("/mot-de-passe-oublie").await;
    let empty = browser
        .post_form(
            "/mot-de-passe-oublie",
            &[("csrf", &form.hidden("csrf")), ("email", " ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("id=\"email-erreur\">"));

    // The link's page: its script moves the fragment's token into the form.
    let (status, link) = admin
        .post(
            &format!("/api/v1/users/{}/password-reset", school.id),
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{link}");
    assert!(
        link["reset_path"]
            .as_str()
            .unwrap()
            .starts_with("/reinitialiser-mot-de-passe#jeton=")
    );
    let page = browser.get("/reinitialiser-mot-de-passe").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_strict_page(&page);
    assert!(page.body.contains("/pharos/account.js\""));
    let csrf = page.hidden("csrf");
    // Without the token (a browser without JavaScript), it says what to do.
    let missing = browser
        .post_form(
            "/reinitialiser-mot-de-passe",
            &[
                ("csrf", &csrf),
                ("jeton", ""),
                ("new", NEW),
                ("confirm", NEW),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing
            .body
            .contains("Le lien de réinitialisation est incomplet")
    );
    let token = link["token"].as_str().unwrap();
    let done = browser
        .post_form(
            "/reinitialiser-mot-de-passe",
            &[
                ("csrf", &csrf),
                ("jeton", token),
                ("new", NEW),
                ("confirm", NEW),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/connexion?fait=mot-de-passe");
    assert!(
        browser
            .get(done.location())
            .await
            .body
            .contains("Votre mot de passe est enregistré")
    );
    app.login(&school.email, NEW).await;
    // The link serves once: the API's refusal, in French.
    let again = browser
        .post_form(
            "/reinitialiser-mot-de-passe",
            &[
                ("csrf", &csrf),
                ("jeton", token),
                ("new", NEW),
                ("confirm", NEW),
            ],
        )
        .await;
    assert!(again.status.is_client_error(), "{}", again.status);
    assert!(again.body.contains("fr-alert--error"));
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "account";
    a_password_is_changed_with_the_current_one_and_typed_twice,
    the_link_of_a_reset_mail_leads_to_a_new_password,
);
