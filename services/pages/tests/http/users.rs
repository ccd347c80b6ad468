//! `/comptes`: the accounts for the pole, and the form that creates one with the API's
//! refusals next to their fields.

use pharos_test_support::{TestApp, TestDb, on_both_backends};
use reqwest::StatusCode;

use super::{Browser, assert_strict_page, until};

async fn the_pole_lists_the_accounts_and_a_referent_is_refused(db: TestDb) {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let manager = app.user("pole_manager", None).await;
    let referent = app.user("department_referent", Some("31")).await;
    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;

    let page = until(&mut pole, "/comptes", &referent.email).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Comptes</h1>"));
    assert!(
        page.body.contains("Référent départemental"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Actif"));
    assert!(page.body.contains("href=\"/comptes/nouveau\""));
    let page = pole.get("/comptes?role=department_referent").await;
    assert!(page.body.contains(&referent.email) && !page.body.contains(&manager.email));
    let page = pole.get("/comptes?departement=32").await;
    assert!(!page.body.contains(&referent.email), "{}", page.body);
    let page = pole.get("/comptes?role=roi").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"role-erreur\""));

    // A referent manages no account.
    let mut department = Browser::new(&app);
    department.sign_in(&referent.email).await;
    for path in ["/comptes", "/comptes/nouveau"] {
        let page = department.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("Comptes réservés"));
    }
    app.finish().await;
}

async fn the_form_shows_a_refused_address_next_to_its_field_then_creates_the_account(db: TestDb) {
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let manager = app.user("pole_manager", None).await;
    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;
    let form = pole.get("/comptes/nouveau").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert_strict_page(&form);
    assert!(form.body.contains("<h1>Créer un compte</h1>"));
    // Only an administrator makes administrators.
    assert!(!form.body.contains("value=\"admin\""));
    let csrf = form.hidden("csrf");

    // A wrong address: the API's message next to the field, what was typed kept, nothing
    // appended.
    let events = app.events().await;
    let refused = pole
        .post_form(
            "/comptes/nouveau",
            &[
                ("csrf", &csrf),
                ("email", "pas-une-adresse"),
                ("display_name", "Claire Martin"),
                ("role", "department_referent"),
                ("scope", "31"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("fr-alert--error"));
    assert!(
        refused.body.contains("id=\"email-erreur\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"Claire Martin\""));
    assert!(
        refused
            .body
            .contains("<option value=\"department_referent\" selected>")
    );
    assert_eq!(app.events().await, events);
    // Without the form's token: refused too.
    let forged = pole
        .post_form(
            "/comptes/nouveau",
            &[("csrf", "0"), ("email", "claire.martin@ac-toulouse.fr")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.events().await, events);

    // A valid one: created, back to the list which says so.
    let done = pole
        .post_form(
            "/comptes/nouveau",
            &[
                ("csrf", &csrf),
                ("email", "claire.martin@ac-toulouse.fr"),
                ("display_name", "Claire Martin"),
                ("role", "department_referent"),
                ("scope", "31"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/comptes?succes=cree");
    let page = pole.get(done.location()).await;
    assert!(page.body.contains("fr-alert--success") && page.body.contains("Compte créé"));
    let (status, list) = manager
        .get("/api/v1/users?q=claire.martin@ac-toulouse.fr")
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["role"], "department_referent");
    assert_eq!(list["items"][0]["scope"], "31");
    until(
        &mut pole,
        "/comptes?departement=31",
        "claire.martin@ac-toulouse.fr",
    )
    .await;
    app.finish().await;
}

on_both_backends!(
    "users";
    the_pole_lists_the_accounts_and_a_referent_is_refused,
    the_form_shows_a_refused_address_next_to_its_field_then_creates_the_account,
);
