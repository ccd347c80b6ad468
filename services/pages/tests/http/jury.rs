//! The juror's pages: the entries assigned to them with their progress, a production
//! shown in the browser, the scoring grid with its errors next to each criterion.

use pharos_test_support::seed::{CONTEST_NOW as NOW, judged_contest as judged};
use pharos_test_support::{TestApp, TestDb, instant};
use reqwest::StatusCode;

use super::{Browser, assert_strict_page};

async fn a_juror_sees_the_productions_assigned_and_scores_them_through_the_grid(db: TestDb) {
    let files = std::env::temp_dir().join(format!("pharos-pages-jury-{}", uuid::Uuid::now_v7()));
    let dir = files.display().to_string();
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .configure(|raw| raw.files_dir = Some(dir))
        .start()
        .await;
    let (juror, first, _) = judged(&app).await;
    let mut browser = Browser::new(&app);
    let signed_in = browser.sign_in(&juror.email).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    // Home is the jury's list, with the progress.
    let home = browser.get("/").await;
    assert_eq!(home.location(), "/jury");
    let list = browser.get("/jury").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_strict_page(&list);
    assert!(list.body.contains("0 note sur 2"), "{}", list.body);
    assert!(list.body.contains("Briser le silence") && list.body.contains("Tous différents"));
    assert_eq!(list.body.matches("À noter").count(), 2);

    // The production is shown as an image from the contests API, with the grid.
    let page = browser.get(&format!("/jury/participations/{first}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    let img = format!("<img class=\"fr-responsive-img\" src=\"/api/v1/entries/{first}/files/");
    assert!(page.body.contains(&img), "{}", page.body);
    for criterion in [
        "note_message",
        "note_creativite",
        "note_realisation",
        "note_valeurs",
    ] {
        assert!(
            page.body.contains(&format!("name=\"{criterion}\"")),
            "{criterion}"
        );
    }
    let csrf = page.hidden("csrf");

    // A mark out of range or missing is named next to its criterion; nothing recorded.
    let before = app.events().await;
    let path = format!("/jury/participations/{first}/notes");
    let wrong = browser
        .post_form(
            &path,
            &[
                ("csrf", &csrf),
                ("note_message", "21"),
                ("note_creativite", ""),
                ("note_realisation", "12"),
                ("note_valeurs", "douze"),
            ],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(
        wrong
            .body
            .contains("id=\"note_message-erreur\">« 21 » n&#x27;est pas une note")
    );
    assert!(
        wrong
            .body
            .contains("id=\"note_creativite-erreur\">Saisissez une note de 0 à 20.")
    );
    assert!(wrong.body.contains("id=\"note_valeurs-erreur\">« douze »"));
    assert!(
        wrong.body.contains("value=\"12\""),
        "what was typed is kept"
    );
    assert_eq!(app.events().await, before);
    let forged = browser
        .post_form(&path, &[("csrf", "0"), ("note_message", "12")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Scored: back on the entry with a confirmation, the marks kept, the progress moved.
    let marks = [
        ("csrf", csrf.as_str()),
        ("note_message", "14"),
        ("note_creativite", "12"),
        ("note_realisation", "15"),
        ("note_valeurs", "18"),
    ];
    let done = browser.post_form(&path, &marks).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = browser.get(done.location()).await;
    assert!(page.body.contains("Vos notes sont enregistrées."));
    assert!(page.body.contains("value=\"18\""));
    let (_, view) = juror.get(&format!("/api/v1/entries/{first}")).await;
    assert_eq!(view["scores"][0]["scores"]["valeurs"], 18, "{view}");
    let list = browser.get("/jury").await;
    assert!(list.body.contains("1 note sur 2"), "{}", list.body);
    assert!(list.body.contains("il vous reste 1 production à noter"));

    // Other roles are sent back.
    let referent = app.user("department_referent", Some("31")).await;
    let mut other = Browser::new(&app);
    other.sign_in(&referent.email).await;
    assert_eq!(other.get("/jury").await.status, StatusCode::FORBIDDEN);
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

async fn a_juror_without_entries_is_told_what_comes_next(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    let juror = app.user("juror", None).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&juror.email).await;
    let list = browser.get("/jury").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body
            .contains("Aucune production ne vous est confiée pour l'instant")
    );
    assert!(
        list.body
            .contains("Aucune édition du concours n'est ouverte pour l'année 2026-2027.")
    );
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "jury";
    a_juror_sees_the_productions_assigned_and_scores_them_through_the_grid,
    a_juror_without_entries_is_told_what_comes_next,
);
