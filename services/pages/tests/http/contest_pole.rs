//! The pole's contest pages: the editions, an edition's entries with their admissibility,
//! the jurors appointed and assigned (recusal refused in French), the jury's progress.

use pharos_test_support::seed::{
    CONTEST_NOW as NOW, judged_contest as judged, submitted_contest as submitted,
};
use pharos_test_support::{Client, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Browser, assert_strict_page, until};

async fn app_with_files(db: TestDb, name: &str) -> (TestApp, std::path::PathBuf) {
    let files = std::env::temp_dir().join(format!("pharos-pages-{name}-{}", uuid::Uuid::now_v7()));
    let dir = files.display().to_string();
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .configure(|raw| raw.files_dir = Some(dir))
        .start()
        .await;
    (app, files)
}

async fn ok(client: &Client, path: &str, body: Value) -> Value {
    let (status, answer) = client.post(path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn the_pole_decides_admissibility_appoints_and_assigns_jurors_and_follows_the_jury(
    db: TestDb,
) {
    let (app, files) = app_with_files(db, "contest-pole").await;
    let (manager, contest, ids) = submitted(&app).await;
    let (silence, different) = (&ids[0], &ids[1]);
    let juror = app.user("juror", None).await;
    let recused = app.user("juror", None).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&manager.email).await;
    let page_path = format!("/concours/pole/{contest}");
    let page = until(&mut browser, &page_path, "Tous différents").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("Briser le silence"));
    assert_eq!(page.body.matches("value=\"irrecevable\"").count(), 2);
    assert!(page.body.contains("Aucun juré nommé"));
    let csrf = page.hidden("csrf");

    // Inadmissible without a reason: named next to the field, nothing sent.
    let before = app.events().await;
    let decide = format!("/concours/pole/{contest}/participations/{silence}/recevabilite");
    let wrong = browser
        .post_form(
            &decide,
            &[
                ("csrf", &csrf),
                ("decision", "irrecevable"),
                ("reason", " "),
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
        wrong.body.contains(&format!(
            "id=\"motif-{silence}-erreur\">Indiquez le motif de l&#x27;irrecevabilité"
        )),
        "{}",
        wrong.body
    );
    assert_eq!(app.events().await, before);
    // A form without its token is refused.
    let forged = browser
        .post_form(&decide, &[("decision", "recevable")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.events().await, before);

    // With a reason: recorded, shown by the API.
    let done = browser
        .post_form(
            &decide,
            &[
                ("csrf", &csrf),
                ("decision", "irrecevable"),
                ("reason", "Production individuelle"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{page_path}?recevabilite=1"));
    let (_, view) = manager.get(&format!("/api/v1/entries/{silence}")).await;
    assert_eq!(view["status"], "inadmissible", "{view}");
    assert_eq!(view["inadmissible_reason"], "Production individuelle");
    let shown = browser.get(done.location()).await;
    assert!(shown.body.contains("Recevabilité enregistrée."));

    // The other one admissible; a juror appointed through the form.
    let admit = format!("/concours/pole/{contest}/participations/{different}/recevabilite");
    let done = browser
        .post_form(
            &admit,
            &[("csrf", &csrf), ("decision", "recevable"), ("reason", "")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let appoint = format!("/concours/pole/{contest}/jures");
    for (who, department) in [(&juror, ""), (&recused, "32")] {
        let done = browser
            .post_form(
                &appoint,
                &[
                    ("csrf", &csrf),
                    ("user_id", &who.id),
                    ("school_uai", ""),
                    ("department", department),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
    let page = until(&mut browser, &page_path, "Attribuer les productions").await;
    assert!(page.body.contains("Département 32"), "{}", page.body);

    // The juror of the entry's department is recused: the API's refusal in French.
    let assign = format!("/concours/pole/{contest}/participations/{different}/jure");
    let refused = browser
        .post_form(&assign, &[("csrf", &csrf), ("juror_id", &recused.id)])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("il ne peut pas la noter (déport)"));
    let done = browser
        .post_form(&assign, &[("csrf", &csrf), ("juror_id", &juror.id)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{page_path}?attribution=1"));
    let shown = browser.get(done.location()).await;
    assert!(shown.body.contains("Production attribuée au juré."));
    until(&mut browser, &page_path, "0 note sur 1").await;

    // The juror scores through the API: the progress moves.
    ok(
        &juror,
        &format!("/api/v1/entries/{different}/scores"),
        json!({"scores": {"message": 16, "creativite": 14, "realisation": 12, "valeurs": 18}}),
    )
    .await;
    let page = until(&mut browser, &page_path, "1 note sur 1").await;
    assert!(
        page.body.contains("En tout : 1 note sur 1"),
        "{}",
        page.body
    );

    // Filtered by status: the inadmissible one alone.
    let filtered = browser
        .get(&format!("{page_path}?statut=inadmissible"))
        .await;
    assert!(
        filtered.body.contains(">non recevable</p>"),
        "{}",
        filtered.body
    );
    assert!(
        filtered
            .body
            .contains("<th scope=\"row\">Briser le silence</th>")
    );
    assert!(!filtered.body.contains(">devant le jury</p>"));
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

async fn the_editions_are_listed_for_the_pole_alone(db: TestDb) {
    let (app, files) = app_with_files(db, "contest-pole-list").await;
    let (juror, first, second) = judged(&app).await;
    let (_, view) = app
        .user("pole_manager", None)
        .await
        .get(&format!("/api/v1/entries/{first}"))
        .await;
    let contest = view["contest_id"].as_str().unwrap().to_owned();
    let manager = app.user("pole_manager", None).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&manager.email).await;
    let list = browser.get("/concours/pole").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_strict_page(&list);
    assert!(list.body.contains("Année scolaire 2026-2027"));
    assert!(
        list.body
            .contains(&format!("href=\"/concours/pole/{contest}\""))
    );
    assert!(list.body.contains("12/02/2027 à 23 h 59"), "{}", list.body);
    assert!(list.body.contains("18/03/2027"));
    assert!(list.body.contains("2 participations"));
    assert!(list.body.contains("devant le jury : 2"), "{}", list.body);
    assert!(
        list.body
            .contains("href=\"/concours/pole\" aria-current=\"page\"")
    );

    let page = browser.get(&format!("/concours/pole/{contest}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body.contains("En tout : 0 note sur 2"),
        "{}",
        page.body
    );
    let palmares = browser
        .get(&format!("/concours/pole/{contest}/palmares"))
        .await;
    assert_eq!(palmares.status, StatusCode::OK, "{}", palmares.body);
    assert_strict_page(&palmares);
    assert!(palmares.body.contains("Palmarès pas encore publié"));
    assert!(palmares.body.contains("Briser le silence"));

    // Scored alike, one laureate, published: the palmarès shows the tie and the award.
    for id in [&first, &second] {
        let (status, answer) = juror
            .post(
                &format!("/api/v1/entries/{id}/scores"),
                json!({"scores": {"message": 16, "creativite": 14, "realisation": 12, "valeurs": 18}}),
            )
            .await;
        assert!(status.is_success(), "{answer}");
    }
    let (status, answer) = manager
        .post(
            &format!("/api/v1/entries/{first}/awards"),
            json!({"kind": "laureate"}),
        )
        .await;
    assert!(status.is_success(), "{answer}");
    until(
        &mut browser,
        &format!("/concours/pole/{contest}"),
        "2 notes sur 2",
    )
    .await;
    let (status, answer) = manager
        .post(
            &format!("/api/v1/contests/{contest}/publish-results"),
            Value::Null,
        )
        .await;
    assert!(status.is_success(), "{answer}");
    let palmares = browser
        .get(&format!("/concours/pole/{contest}/palmares"))
        .await;
    assert_eq!(palmares.status, StatusCode::OK, "{}", palmares.body);
    assert!(
        palmares.body.contains("Le palmarès publié"),
        "{}",
        palmares.body
    );
    assert!(palmares.body.contains(">lauréat</p>"), "{}", palmares.body);
    assert!(palmares.body.contains("0310001H"), "{}", palmares.body);

    // Others are refused in French; a form without its token too.
    let csrf = page.hidden("csrf");
    let forged = browser
        .post_form(
            &format!("/concours/pole/{contest}/jures"),
            &[("user_id", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!csrf.is_empty());
    let referent = app.user("department_referent", Some("31")).await;
    let mut other = Browser::new(&app);
    other.sign_in(&referent.email).await;
    let refused = other.get("/concours/pole").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("Pages réservées au pôle académique"));
    let refused = other.get(&format!("/concours/pole/{contest}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

pharos_test_support::on_both_backends!(
    "contest_pole";
    the_pole_decides_admissibility_appoints_and_assigns_jurors_and_follows_the_jury,
    the_editions_are_listed_for_the_pole_alone,
);
