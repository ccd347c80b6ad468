//! `/mes-actions`: a school declares its actions through the form, transmits them to the
//! referent, sees a returned one with its reason, corrects it and transmits it again.

use pharos_test_support::{Client, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::json;

use super::{Browser, COLLEGE_31, assert_strict_page, until};

/// Two weeks after the Journée nationale of 2025-2026 (Thursday 6 November 2025): inside
/// its campaign window.
const NOW: &str = "2025-11-20T10:00:00Z";

async fn start(db: TestDb) -> (TestApp, Client) {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    (app, school)
}

/// A complete declaration, with `changes` in place of its fields.
fn declaration<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("date", "2025-11-06"),
        ("campaign", "national_day"),
        ("held", "oui"),
        ("types", "projection_debat"),
        ("types", "atelier"),
        ("audience_levels", "6e"),
        ("pupils_reached", "150"),
        ("partners", "Association Les Petits Pas"),
        ("description", "Projection du film puis débat en classe."),
    ];
    for (key, value) in changes {
        form.retain(|(k, _)| k != key);
        if !value.is_empty() {
            form.push((key, value));
        }
    }
    form
}

/// Declares a complete action through the form; its id.
async fn declare(browser: &mut Browser) -> String {
    let csrf = browser.get("/mes-actions/nouvelle").await.hidden("csrf");
    let done = browser
        .post_form("/mes-actions/nouvelle", &declaration(&csrf, &[]))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    done.location()
        .strip_prefix("/mes-actions/")
        .and_then(|rest| rest.strip_suffix("?succes=declaree"))
        .unwrap_or_else(|| panic!("{}", done.location()))
        .to_owned()
}

async fn a_school_declares_its_action_and_finds_it_listed(db: TestDb) {
    let (app, school) = start(db).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&school.email).await;

    // Nothing yet: what to do, and the national day's dates.
    let page = browser.get("/mes-actions").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("<h1>Mes actions de sensibilisation</h1>")
    );
    assert!(page.body.contains("Aucune action déclarée pour l"));
    assert!(page.body.contains("href=\"/mes-actions/nouvelle\""));
    assert!(
        page.body.contains("Journée nationale du 06/11/2025"),
        "{}",
        page.body
    );
    assert!(page.body.contains("27/11/2025"), "the report deadline");
    assert!(
        page.body
            .contains("href=\"/mes-actions\" aria-current=\"page\"")
    );

    // The form offers the vocabulary's types and audiences.
    let form = browser.get("/mes-actions/nouvelle").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert_strict_page(&form);
    assert!(form.body.contains("id=\"type-projection_debat\""));
    assert!(form.body.contains("Projection-débat"));
    assert!(form.body.contains("id=\"public-6e\""));
    let csrf = form.hidden("csrf");

    // The page's own check: nothing sent.
    let events = app.events().await;
    let page = browser
        .post_form(
            "/mes-actions/nouvelle",
            &declaration(&csrf, &[("pupils_reached", "beaucoup")]),
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
            .contains("id=\"pupils_reached-erreur\">« beaucoup » n")
    );
    assert!(page.body.contains("value=\"beaucoup\""), "what was typed");
    assert!(page.body.contains("Action non déclarée"));
    assert_eq!(app.events().await, events);
    // The API's refusals, next to their fields: no type, a date outside the window.
    let page = browser
        .post_form(
            "/mes-actions/nouvelle",
            &declaration(&csrf, &[("types", "")]),
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"types-erreur\""), "{}", page.body);
    let page = browser
        .post_form(
            "/mes-actions/nouvelle",
            &declaration(&csrf, &[("date", "2025-12-10"), ("held", "")]),
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"date-erreur\""), "{}", page.body);
    assert_eq!(app.events().await, events);
    // Without the form's token: refused, nothing sent.
    let forged = browser
        .post_form("/mes-actions/nouvelle", &declaration("", &[]))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("Formulaire refusé"));
    assert_eq!(app.events().await, events);

    // Declared: its page, then the list.
    let id = declare(&mut browser).await;
    let page = browser
        .get(&format!("/mes-actions/{id}?succes=declaree"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Action du 06/11/2025</h1>"));
    assert!(page.body.contains("Action déclarée."));
    assert!(page.body.contains("Brouillon"));
    assert!(page.body.contains("Transmettre au référent"));
    let page = until(&mut browser, "/mes-actions", &id).await;
    assert!(
        page.body.contains("Projection-débat, Atelier"),
        "{}",
        page.body
    );
    assert!(page.body.contains("06/11/2025"));

    // A referent has no such page.
    let referent = app.user("department_referent", Some("31")).await;
    let mut hers = Browser::new(&app);
    hers.sign_in(&referent.email).await;
    let page = hers.get("/mes-actions").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Pages réservées aux établissements"));
    app.finish().await;
}

async fn a_returned_action_is_corrected_and_transmitted_again(db: TestDb) {
    let (app, school) = start(db).await;
    let referent = app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&school.email).await;
    let id = declare(&mut browser).await;
    let detail = format!("/mes-actions/{id}");
    let csrf = browser.get(&detail).await.hidden("csrf");

    // Without the form's token: refused, nothing appended.
    let events = app.events().await;
    let forged = browser
        .post_form(&format!("{detail}/transmettre"), &[("csrf", "0")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.events().await, events);

    // Transmitted.
    let done = browser
        .post_form(&format!("{detail}/transmettre"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{detail}?succes=transmise"));
    let page = browser.get(done.location()).await;
    assert!(page.body.contains("Action transmise au référent"));
    assert!(page.body.contains("id=\"etat-action\">Transmise"));
    assert!(
        !page.body.contains("/transmettre\""),
        "nothing more to send"
    );

    // The referent returns it with a reason: the school sees it, and what to do.
    let (status, body) = referent
        .post(
            &format!("/api/v1/actions/{id}/return"),
            json!({ "reason": "Précisez les classes concernées." }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = until(
        &mut browser,
        "/mes-actions",
        "Précisez les classes concernées.",
    )
    .await;
    assert!(page.body.contains("Corriger"));
    assert!(page.body.contains(&format!("href=\"{detail}\"")));
    let page = browser.get(&detail).await;
    assert!(page.body.contains("Renvoyée par le référent"));
    assert!(page.body.contains("Précisez les classes concernées."));
    assert!(page.body.contains("value=\"150\""), "the form is prefilled");
    assert!(
        page.body
            .contains("id=\"type-atelier\" name=\"types\" value=\"atelier\" checked")
    );
    let csrf = page.hidden("csrf");

    // Corrected: a wrong value is named, then the correction is saved.
    let mut form = declaration(&csrf, &[("pupils_reached", "-3")]);
    form.retain(|(k, _)| *k != "campaign");
    let page = browser
        .post_form(&format!("{detail}/modifier"), &form)
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"pupils_reached-erreur\""));
    let form = declaration(
        &csrf,
        &[
            ("pupils_reached", "160"),
            ("description", "Projection du film en 6e A et 6e B."),
        ],
    );
    let done = browser
        .post_form(&format!("{detail}/modifier"), &form)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{detail}?succes=modifiee"));
    let page = browser.get(done.location()).await;
    assert!(page.body.contains("Action modifiée."));
    assert!(page.body.contains("Projection du film en 6e A et 6e B."));
    assert!(page.body.contains("160"));

    // Transmitted again.
    let done = browser
        .post_form(&format!("{detail}/transmettre"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = browser.get(done.location()).await;
    assert!(page.body.contains("id=\"etat-action\">Transmise"));
    assert!(page.body.contains("Motif du dernier renvoi"));
    // Its history, once the read model caught up.
    until(&mut browser, &detail, "Historique").await;
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "school_actions";
    a_school_declares_its_action_and_finds_it_listed,
    a_returned_action_is_corrected_and_transmitted_again,
);
