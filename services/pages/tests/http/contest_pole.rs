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

async fn the_pole_grants_awards_publishes_and_records_the_national_round(db: TestDb) {
    let (app, files) = app_with_files(db, "contest-palmares").await;
    let (juror, first, second) = judged(&app).await;
    let manager = app.user("pole_manager", None).await;
    let (_, view) = manager.get(&format!("/api/v1/entries/{first}")).await;
    let contest = view["contest_id"].as_str().unwrap().to_owned();
    for (id, message) in [(&first, 16), (&second, 12)] {
        ok(
            &juror,
            &format!("/api/v1/entries/{id}/scores"),
            json!({"scores": {"message": message, "creativite": 14, "realisation": 12, "valeurs": 18}}),
        )
        .await;
    }
    let mut browser = Browser::new(&app);
    browser.sign_in(&manager.email).await;
    let path = format!("/concours/pole/{contest}/palmares");
    let page = until(&mut browser, &path, "1er").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body.contains("Aucune distinction attribuée"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Publier le palmarès</button>"));
    let csrf = page.hidden("csrf");

    // An award that is not one: named next to its select, nothing sent.
    let before = app.events().await;
    let grant = |id: &str| format!("/concours/pole/{contest}/participations/{id}/distinctions");
    let wrong = browser
        .post_form(&grant(&first), &[("csrf", &csrf), ("kind", "medaille")])
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains(&format!(
            "id=\"distinction-{first}-erreur\">Choisissez une distinction de la liste."
        )),
        "{}",
        wrong.body
    );
    let forged = browser
        .post_form(&grant(&first), &[("kind", "laureate")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.events().await, before);

    // The laureate, and a national selection; a second laureate is refused in French.
    let done = browser
        .post_form(&grant(&first), &[("csrf", &csrf), ("kind", "laureate")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{path}?distinction=1"));
    let refused = browser
        .post_form(&grant(&second), &[("csrf", &csrf), ("kind", "laureate")])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains(&format!("id=\"distinction-{second}-refus\"")),
        "{}",
        refused.body
    );
    for kind in ["mention", "nominated_national"] {
        let done = browser
            .post_form(&grant(&second), &[("csrf", &csrf), ("kind", kind)])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
    // The mention taken back.
    let done = browser
        .post_form(
            &format!("{}/retrait", grant(&second)),
            &[("csrf", &csrf), ("kind", "mention")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{path}?retrait=1"));
    let shown = browser.get(done.location()).await;
    assert!(shown.body.contains("Distinction retirée"), "{}", shown.body);
    assert!(
        shown
            .body
            .contains("Retirer la distinction « sélection nationale » de « Tous différents »"),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains("Retirer la distinction « mention »"));

    // Publication: the confirmation box is required.
    let publish = format!("{path}/publier");
    let before = app.events().await;
    let unconfirmed = browser.post_form(&publish, &[("csrf", &csrf)]).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unconfirmed
            .body
            .contains("id=\"publier-confirmation-erreur\">Cochez la case"),
        "{}",
        unconfirmed.body
    );
    assert_eq!(app.events().await, before);
    let done = browser
        .post_form(&publish, &[("csrf", &csrf), ("confirm", "oui")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{path}?publication=1"));
    let (_, edition) = manager.get(&format!("/api/v1/contests/{contest}")).await;
    assert_eq!(edition["results_published"], true, "{edition}");

    // The national round: the selected entry, its result required, then recorded.
    let page = until(&mut browser, &path, "Concours national").await;
    assert!(
        page.body.contains("Palmarès publié : il est figé")
            || page.body.contains("Le palmarès publié")
    );
    assert!(!page.body.contains("/distinctions\""), "{}", page.body);
    let national = format!("/concours/pole/{contest}/participations/{second}/national");
    assert!(
        page.body.contains(&format!("action=\"{national}\"")),
        "{}",
        page.body
    );
    let missing = browser.post_form(&national, &[("csrf", &csrf)]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.body.contains(&format!(
            "id=\"national-{second}-erreur\">Choisissez « Lauréate du concours national »"
        )),
        "{}",
        missing.body
    );
    let done = browser
        .post_form(&national, &[("csrf", &csrf), ("result", "laureate")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, entry) = manager.get(&format!("/api/v1/entries/{second}")).await;
    assert_eq!(entry["status"], "national_laureate", "{entry}");
    // The first one was not selected: no national form for it.
    let page = until(
        &mut browser,
        &path,
        "Résultat du concours national enregistré",
    )
    .await;
    assert!(
        !page
            .body
            .contains(&format!("participations/{first}/national"))
    );
    assert!(
        page.body.contains("<h2 class=\"fr-mt-4w\">Historique</h2>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Distinction retirée</strong> — Le pôle académique"),
        "{}",
        page.body
    );

    // Others are refused.
    let referent = app.user("department_referent", Some("31")).await;
    let mut other = Browser::new(&app);
    other.sign_in(&referent.email).await;
    let refused = other.get(&path).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

async fn the_pole_extends_a_schools_deadline_with_a_reason(db: TestDb) {
    let (app, files) = app_with_files(db, "contest-extension").await;
    let (manager, contest, _) = submitted(&app).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&manager.email).await;
    let page_path = format!("/concours/pole/{contest}");
    let page = browser.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Aucune prolongation accordée"),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let extend = format!("{page_path}/prolongations");

    // Every field missing: each named next to its input, nothing sent.
    let before = app.events().await;
    let empty = browser
        .post_form(
            &extend,
            &[
                ("csrf", &csrf),
                ("school_uai", ""),
                ("until", ""),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    for (id, text) in [
        ("extension-school", "Indiquez l&#x27;UAI"),
        ("extension-until", "Indiquez la nouvelle date limite"),
        ("extension-reason", "Indiquez le motif"),
    ] {
        assert!(
            empty.body.contains(&format!("id=\"{id}-erreur\">{text}")),
            "{id}: {}",
            empty.body
        );
    }
    assert_eq!(app.events().await, before);

    // An unknown school, or a limit after the jury: the API's message next to its field.
    let unknown = browser
        .post_form(
            &extend,
            &[
                ("csrf", &csrf),
                ("school_uai", "0990001X"),
                ("until", "2027-02-20T12:00"),
                ("reason", "Panne du réseau"),
            ],
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert!(
        unknown.body.contains("id=\"extension-school-erreur\">"),
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains("value=\"Panne du réseau\""));
    assert_eq!(app.events().await, before);

    let done = browser
        .post_form(
            &extend,
            &[
                ("csrf", &csrf),
                ("school_uai", "0310001h"),
                ("until", "2027-02-20T12:00"),
                ("reason", "Panne du réseau le jour de la date limite"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{page_path}?prolongation=1"));
    let (_, edition) = manager.get(&format!("/api/v1/contests/{contest}")).await;
    assert_eq!(
        edition["extensions"][0]["school_uai"], "0310001H",
        "{edition}"
    );
    let page = until(
        &mut browser,
        &page_path,
        "Date limite prolongée pour un établissement",
    )
    .await;
    assert!(
        page.body.contains("Prolongations accordées"),
        "{}",
        page.body
    );
    assert!(page.body.contains("20/02/2027 à 12 h 00"), "{}", page.body);
    assert!(
        page.body
            .contains("Panne du réseau le jour de la date limite")
    );
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

pharos_test_support::on_both_backends!(
    "contest_pole";
    the_pole_grants_awards_publishes_and_records_the_national_round,
    the_pole_extends_a_schools_deadline_with_a_reason,
    the_pole_decides_admissibility_appoints_and_assigns_jurors_and_follows_the_jury,
    the_editions_are_listed_for_the_pole_alone,
);
