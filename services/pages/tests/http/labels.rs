//! `/labels`: the pole's and the referents' list of the pHARe label applications of their
//! scope, one application with the school's answers, and the pole's decisions on it
//! (start the review, return it with a reason, award or not) through the forms.

use pharos_test_support::{Client, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Browser, COLLEGE_31, COLLEGE_32, LYCEE_31, Page, assert_strict_page, created, until};

/// Mid-October 2026: the school year 2026-2027 has started.
const NOW: &str = "2026-10-15T10:00:00Z";
const YEAR: &str = "2026-2027";

/// The school's deployment of the year with its charter signed: the charter criterion's
/// suggestion comes from it.
async fn deployment(school: &Client, uai: &str) {
    let id = created(
        school,
        "/api/v1/phare/deployments",
        json!({ "school_year": YEAR, "school_uai": uai }),
    )
    .await;
    let (status, body) = school
        .post(
            &format!("/api/v1/phare/deployments/{id}/charter"),
            json!({ "signed_on": "2026-09-20" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A level-1 application of `uai` with each of the school's criteria answered (met, but
/// `unmet`), submitted if `submit`.
async fn label(school: &Client, uai: &str, unmet: Option<&str>, submit: bool) -> String {
    label_of(school, uai, (YEAR, 1), unmet, submit).await
}

/// [`label`] of another year or level.
async fn label_of(
    school: &Client,
    uai: &str,
    (year, level): (&str, u8),
    unmet: Option<&str>,
    submit: bool,
) -> String {
    let id = created(
        school,
        "/api/v1/phare/labels",
        json!({ "school_uai": uai, "school_year": year, "target_level": level }),
    )
    .await;
    let view = view(school, &id).await;
    for criterion in view["criteria"].as_array().unwrap() {
        if criterion["answered_by"] == "school" {
            let met = unmet != criterion["key"].as_str();
            let (status, body) = school
                .post(
                    &format!("/api/v1/phare/labels/{id}/criteria"),
                    json!({ "criterion": criterion["key"], "met": met,
                            "evidence": "Voir le bilan annuel" }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    if submit {
        submit_label(school, &id).await;
    }
    id
}

async fn submit_label(school: &Client, id: &str) {
    let (status, body) = school
        .post(&format!("/api/v1/phare/labels/{id}/submit"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn view(client: &Client, id: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/phare/labels/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

struct Seeded {
    app: TestApp,
    school_31: Client,
    lycee_31: Client,
    /// Submitted, every criterion met, of the collège of Haute-Garonne (with a deployment).
    college: String,
    /// A draft of the lycée of Haute-Garonne, its parents' workshop not held.
    lycee: String,
    /// Submitted, of the collège of Gers.
    gers: String,
}

async fn seed(db: TestDb) -> Seeded {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let school_31 = app.user("school", Some(COLLEGE_31)).await;
    let lycee_31 = app.user("school", Some(LYCEE_31)).await;
    let school_32 = app.user("school", Some(COLLEGE_32)).await;
    deployment(&school_31, COLLEGE_31).await;
    let college = label(&school_31, COLLEGE_31, None, true).await;
    let lycee = label(&lycee_31, LYCEE_31, Some("atelier_parents"), false).await;
    let gers = label(&school_32, COLLEGE_32, None, true).await;
    Seeded {
        app,
        school_31,
        lycee_31,
        college,
        lycee,
        gers,
    }
}

/// The signed-in browser of a new user of `role`.
async fn browser(app: &TestApp, role: &str, scope: Option<&str>) -> (Browser, Client) {
    let user = app.user(role, scope).await;
    let mut browser = Browser::new(app);
    browser.sign_in(&user.email).await;
    (browser, user)
}

fn has_form(page: &Page, id: &str, route: &str) -> bool {
    page.body
        .contains(&format!("action=\"/labels/{id}/{route}\""))
}

async fn the_pole_and_a_referent_list_the_applications_of_their_scope(db: TestDb) {
    let s = seed(db).await;
    let (mut pole, _) = browser(&s.app, "pole_manager", None).await;

    // By default: the applications awaiting a decision, across the academy.
    let page = until(&mut pole, "/labels", &s.gers).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Labels pHARe</h1>"));
    assert!(
        page.body
            .contains("Académie de Toulouse · année scolaire 2026-2027"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("href=\"/labels/{}\"", s.college))
    );
    assert!(
        page.body.contains("Établissement 0310001H"),
        "the school's name"
    );
    assert!(page.body.contains("Niveau 1 — engagement"));
    assert!(
        page.body
            .contains("fr-badge--new fr-badge--no-icon\">Déposée</p>")
    );
    assert!(page.body.contains("2 candidatures"), "{}", page.body);
    assert!(page.body.contains(">Examiner</a>"));
    assert!(!page.body.contains(&s.lycee), "a draft awaits no decision");
    // Every state; one department; one state.
    let page = pole.get("/labels?etat=tous").await;
    assert!(page.body.contains(&s.lycee) && page.body.contains("Brouillon"));
    assert!(page.body.contains("3 candidatures"));
    let page = pole.get("/labels?departement=32").await;
    assert!(page.body.contains(&s.gers) && !page.body.contains(&s.college));
    let page = pole.get("/labels?etat=brouillon").await;
    assert!(page.body.contains(&s.lycee) && !page.body.contains(&s.gers));
    // Another year: nothing, and what to do about it.
    let page = pole.get("/labels?annee=2025-2026").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Aucune candidature n'attend de décision pour l'instant"),
        "{}",
        page.body
    );
    // A wrong filter is named next to its field.
    let page = pole.get("/labels?etat=perdue&uai=12").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"etat-erreur\""));
    assert!(page.body.contains("id=\"uai-erreur\""));

    // The referent: her department only, to read.
    let (mut referent, _) = browser(&s.app, "department_referent", Some("31")).await;
    let page = until(&mut referent, "/labels", &s.college).await;
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("31 – Haute-Garonne · année scolaire 2026-2027")
    );
    assert!(!page.body.contains(&s.gers) && !page.body.contains(COLLEGE_32));
    assert!(page.body.contains(">Voir</a>") && !page.body.contains(">Examiner</a>"));
    assert!(!page.body.contains("id=\"departement\""));
    let page = referent.get("/labels?etat=tous&departement=32").await;
    assert!(!page.body.contains(&s.gers) && page.body.contains(&s.lycee));

    // A school has no such page; a visitor is sent to sign in.
    let mut school = Browser::new(&s.app);
    school.sign_in(&s.school_31.email).await;
    let page = school.get("/labels").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Labels réservés"));
    let page = school.get(&format!("/labels/{}", s.college)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = Browser::new(&s.app).get("/labels").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/connexion?suite=/labels");
    s.app.finish().await;
}

async fn the_pole_reviews_returns_then_awards_an_application(db: TestDb) {
    let s = seed(db).await;
    let (mut pole, manager) = browser(&s.app, "pole_manager", None).await;
    let detail = format!("/labels/{}", s.college);

    // The application: the school's answers, the suggestion of its deployment, the forms.
    let page = pole.get(&detail).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("<h1>Candidature au label pHARe 2026-2027</h1>")
    );
    assert!(
        page.body
            .contains("Établissement 0310001H (0310001H) · 31 – Haute-Garonne")
    );
    assert!(page.body.contains("id=\"etat-label\">Déposée</span>"));
    assert!(
        page.body
            .contains("Charte d&#x27;engagement signée et en vigueur")
    );
    assert!(page.body.contains("Voir le bilan annuel"));
    assert!(
        page.body.contains(
            "Déploiement pHARe 2026-2027 : charte d&#x27;engagement signée le 20/09/2026"
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Niveau 1 — engagement (critères remplis)")
    );
    for route in ["examen", "renvoi", "decision"] {
        assert!(has_form(&page, &s.college, route), "{route}");
    }
    let csrf = page.hidden("csrf");
    let first_version = page.hidden("version");

    // Without the form's token: refused, nothing appended.
    let events = s.app.events().await;
    let forged = pole
        .post_form(
            &format!("{detail}/examen"),
            &[("csrf", ""), ("version", &first_version)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("Formulaire refusé"));
    assert_eq!(s.app.events().await, events);

    // The review starts: back to the application, which says so.
    let done = pole
        .post_form(
            &format!("{detail}/examen"),
            &[("csrf", &csrf), ("version", &first_version)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{detail}?succes=examen"));
    let page = pole.get(done.location()).await;
    assert!(page.body.contains("Examen commencé"));
    assert!(
        page.body
            .contains("id=\"etat-label\">En cours d&#x27;examen</span>")
    );
    assert!(!has_form(&page, &s.college, "examen"), "started once");
    assert!(has_form(&page, &s.college, "decision"));
    assert_eq!(view(&manager, &s.college).await["status"], "under_review");
    let version = page.hidden("version");

    // Returned without a reason: the field says so, nothing is sent.
    let events = s.app.events().await;
    let empty = pole
        .post_form(
            &format!("{detail}/renvoi"),
            &[("csrf", &csrf), ("version", &version), ("reason", "  ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty.body.contains(
            "id=\"renvoi-reason-erreur\">Indiquez ce que l&#x27;établissement doit corriger"
        ),
        "{}",
        empty.body
    );
    assert!(empty.body.contains("fr-input-group--error"));
    assert!(empty.body.contains("Candidature non renvoyée"));
    // From the page as it was before the review: the application has changed since.
    let reason = "Le protocole n'a pas encore été présenté au conseil d'administration.";
    let stale = pole
        .post_form(
            &format!("{detail}/renvoi"),
            &[
                ("csrf", &csrf),
                ("version", &first_version),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(stale.body.contains("La ressource a changé entre-temps"));
    assert!(
        stale
            .body
            .contains("Le protocole n&#x27;a pas encore été présenté"),
        "the reason typed is kept"
    );
    assert_eq!(s.app.events().await, events, "nothing appended");

    // With a reason: returned, and the reason shown.
    let done = pole
        .post_form(
            &format!("{detail}/renvoi"),
            &[("csrf", &csrf), ("version", &version), ("reason", reason)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{detail}?succes=renvoi"));
    let page = pole.get(done.location()).await;
    assert!(
        page.body
            .contains("Candidature renvoyée à l&#x27;établissement")
    );
    assert!(page.body.contains("id=\"etat-label\">Renvoyée</span>"));
    assert!(page.body.contains("Motif du renvoi"));
    assert!(
        page.body
            .contains("Le protocole n&#x27;a pas encore été présenté")
    );
    assert!(
        !has_form(&page, &s.college, "decision"),
        "the school's turn"
    );
    let returned = view(&manager, &s.college).await;
    assert_eq!(returned["status"], "returned");
    assert_eq!(returned["return_reason"], reason);

    // The school submits again; a decision without a reason is refused next to it.
    submit_label(&s.school_31, &s.college).await;
    let page = pole.get(&detail).await;
    let version = page.hidden("version");
    let events = s.app.events().await;
    let empty = pole
        .post_form(
            &format!("{detail}/decision"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("outcome", "awarded"),
                ("level", "1"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .body
            .contains("id=\"decision-reason-erreur\">Motivez la décision"),
        "{}",
        empty.body
    );
    assert_eq!(s.app.events().await, events);

    // Awarded at level 1.
    let done = pole
        .post_form(
            &format!("{detail}/decision"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("outcome", "awarded"),
                ("level", "1"),
                (
                    "reason",
                    "Équipe formée, protocole présenté, ateliers tenus.",
                ),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{detail}?succes=attribue"));
    let page = pole.get(done.location()).await;
    assert!(page.body.contains("Décision enregistrée : label attribué."));
    assert!(page.body.contains("id=\"etat-label\">Attribué</span>"));
    assert!(
        page.body
            .contains("Équipe formée, protocole présenté, ateliers tenus.")
    );
    assert!(!has_form(&page, &s.college, "decision"), "decided for good");
    let awarded = view(&manager, &s.college).await;
    assert_eq!(awarded["status"], "awarded");
    assert_eq!(awarded["awarded_level"]["number"], 1);

    // The history, from the read model once it has caught up; the list follows.
    let page = until(&mut pole, &detail, "<strong>Label attribué</strong>").await;
    assert!(
        page.body
            .contains("<strong>Demande renvoyée à l&#x27;établissement</strong>")
    );
    assert!(
        page.body
            .contains("<strong>Examen de la demande commencé</strong>")
    );
    assert!(page.body.contains("Le pôle académique"));
    let page = until(&mut pole, "/labels?etat=attribue", &s.college).await;
    assert!(!page.body.contains(&s.gers));
    s.app.finish().await;
}

async fn a_referent_reads_an_application_and_the_pole_alone_decides(db: TestDb) {
    let s = seed(db).await;
    let (mut referent, _) = browser(&s.app, "department_referent", Some("31")).await;
    let detail = format!("/labels/{}", s.college);

    // Her department's application, to read: no decision form.
    let page = referent.get(&detail).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("Voir le bilan annuel"));
    for route in ["examen", "renvoi", "decision"] {
        assert!(!has_form(&page, &s.college, route), "{route}");
    }
    assert!(
        page.body
            .contains("Le pôle académique examine cette candidature")
    );
    // The decision form posted all the same: the API's refusal, nothing appended.
    let csrf = page.hidden("csrf");
    let events = s.app.events().await;
    let refused = referent
        .post_form(
            &format!("{detail}/decision"),
            &[
                ("csrf", &csrf),
                ("outcome", "awarded"),
                ("level", "1"),
                ("reason", "Dossier complet."),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("Décision non enregistrée"));
    assert!(
        refused.body.contains("décider des labels"),
        "{}",
        refused.body
    );
    assert_eq!(s.app.events().await, events);
    assert_eq!(view(&s.school_31, &s.college).await["status"], "submitted");
    // Another department's application is refused her.
    let page = referent.get(&format!("/labels/{}", s.gers)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);

    // The pole: an award the criteria do not support is the API's refusal, shown in the
    // decision form with what was typed; not awarded, then.
    submit_label(&s.lycee_31, &s.lycee).await;
    let (mut pole, _) = browser(&s.app, "pole_manager", None).await;
    let lycee = format!("/labels/{}", s.lycee);
    let page = pole.get(&lycee).await;
    assert!(
        page.body
            .contains("Niveau 1 — engagement (critères non remplis)")
    );
    assert!(page.body.contains("Non rempli"));
    let csrf = page.hidden("csrf");
    let version = page.hidden("version");
    let events = s.app.events().await;
    let refused = pole
        .post_form(
            &format!("{lycee}/decision"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("outcome", "awarded"),
                ("level", "1"),
                ("reason", "Dossier presque complet."),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body.contains("critères non remplis"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("<h4 class=\"fr-alert__title\">Décision non enregistrée</h4>")
    );
    assert!(
        refused
            .body
            .contains(">Dossier presque complet.</textarea>")
    );
    assert_eq!(s.app.events().await, events);
    let done = pole
        .post_form(
            &format!("{lycee}/decision"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("outcome", "not_awarded"),
                ("level", "1"),
                ("reason", "Aucun atelier parents tenu cette année."),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = pole.get(done.location()).await;
    assert!(
        page.body
            .contains("Décision enregistrée : label non attribué.")
    );
    assert!(page.body.contains("id=\"etat-label\">Non attribué</span>"));

    // An unknown application.
    let page = pole
        .get("/labels/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Candidature introuvable"));
    assert_eq!(
        pole.get("/labels/pas-un-label").await.status,
        StatusCode::NOT_FOUND
    );
    s.app.finish().await;
}

async fn the_pole_answers_its_criterion_then_awards_the_level_above(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    let manager = app.user("pole_manager", None).await;
    // Level 1 awarded last year: level 2 this year, the contest criterion the pole's.
    let earlier = label_of(&manager, COLLEGE_31, ("2025-2026", 1), None, true).await;
    let (status, body) = manager
        .post(
            &format!("/api/v1/phare/labels/{earlier}/decision"),
            json!({ "outcome": "awarded", "reason": "Dossier complet." }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = label_of(&manager, COLLEGE_31, (YEAR, 2), None, true).await;
    let detail = format!("/labels/{id}");

    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;
    let page = pole.get(&detail).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("<h2 class=\"fr-mt-4w\">Critères du pôle</h2>")
    );
    assert!(has_form(&page, &id, "critere"));
    assert!(
        page.body
            .contains("Niveau 2 — approfondissement (critères non remplis)")
    );
    assert!(
        page.body
            .contains("Niveau 1 — engagement (critères remplis)")
    );
    let csrf = page.hidden("csrf");
    let version = page.hidden("version");
    let criterion = "participation_concours";

    // Neither yes nor no: said next to the question, nothing sent.
    let events = app.events().await;
    let empty = pole
        .post_form(
            &format!("{detail}/critere"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("criterion", criterion),
            ],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .body
            .contains("id=\"critere-participation_concours-met-erreur\"")
    );
    assert!(empty.body.contains("Réponse non enregistrée"));
    assert_eq!(app.events().await, events);

    // Met: the level is within reach, and awarded.
    let done = pole
        .post_form(
            &format!("{detail}/critere"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("criterion", criterion),
                ("met", "oui"),
                ("evidence", "Affiche déposée au concours."),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{detail}?succes=critere"));
    let page = pole.get(done.location()).await;
    assert!(page.body.contains("Réponse du pôle enregistrée."));
    assert!(page.body.contains("Affiche déposée au concours."));
    assert!(
        page.body
            .contains("Niveau 2 — approfondissement (critères remplis)")
    );
    let version = page.hidden("version");
    let done = pole
        .post_form(
            &format!("{detail}/decision"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("outcome", "awarded"),
                ("level", "2"),
                ("reason", "Participation au concours."),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let awarded = view(&manager, &id).await;
    assert_eq!(awarded["status"], "awarded");
    assert_eq!(awarded["awarded_level"]["number"], 2);
    let page = pole.get(&detail).await;
    assert!(
        !has_form(&page, &id, "critere"),
        "decided: the answers are final"
    );
    app.finish().await;
}

/// A UAI of Haute-Garonne with its check letter (the seven digits modulo 23).
fn uai_31(n: u32) -> String {
    let digits = format!("031{n:04}");
    let key = digits.parse::<usize>().unwrap() % 23;
    let letter = char::from(b"ABCDEFGHJKLMNPRSTUVWXYZ"[key]);
    format!("{digits}{letter}")
}

async fn the_awaiting_list_goes_on_page_after_page_across_both_states(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    assert_eq!(uai_31(1), COLLEGE_31);
    // One more than a page of 20: submitted and under review, alternately.
    let mut ids = Vec::new();
    for n in 0..21 {
        let uai = uai_31(100 + n);
        app.school(&uai, "college", "31").await;
        let id = label(&manager, &uai, None, true).await;
        if n % 2 == 1 {
            let (status, body) = manager
                .post(&format!("/api/v1/phare/labels/{id}/review"), json!({}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        ids.push(id);
    }
    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;
    // The last event appended is the last submission: all projected once it shows.
    let first = until(&mut pole, "/labels", "21 candidatures").await;
    let shown = |body: &str| ids.iter().filter(|id| body.contains(id.as_str())).count();
    assert_eq!(shown(&first.body), 20);
    // In the read model's order, both states merged.
    let at = |body: &str, n: u32| body.find(&uai_31(100 + n)).unwrap();
    for n in 0..19 {
        assert!(at(&first.body, n) < at(&first.body, n + 1), "{n}");
    }
    assert!(
        first.body.contains(">Déposée</p>") && first.body.contains(">En cours d&#x27;examen</p>")
    );
    let end = first
        .body
        .find(">Page suivante</a>")
        .unwrap_or_else(|| panic!("no next page in {}", first.body));
    let start = first.body[..end].rfind("href=\"").unwrap() + "href=\"".len();
    let next = first.body[start..end]
        .trim_end_matches('"')
        .replace("&amp;", "&");
    assert!(
        next.starts_with("/labels?annee=2026-2027&etat=a-decider&apres="),
        "{next}"
    );
    let second = pole.get(&next).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(shown(&second.body), 1);
    assert!(second.body.contains(&uai_31(120)));
    assert!(!second.body.contains("Page suivante"));
    assert!(second.body.contains(">Première page</a>"));
    app.finish().await;
}

async fn an_administrator_reads_an_application_without_its_answers(db: TestDb) {
    let s = seed(db).await;
    let (mut admin, _) = browser(&s.app, "admin", None).await;
    // The awaiting list: both states in one list.
    let page = until(&mut admin, "/labels", &s.gers).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("href=\"/labels/{}\"", s.college))
    );
    let path = format!("/labels/{}", s.college);
    let page = until(&mut admin, &path, "Demande de label déposée").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("Candidature au label pHARe 2026-2027"));
    assert!(page.body.contains("Niveau 1 — engagement"));
    assert!(page.body.contains(">Déposée</span>"), "{}", page.body);
    assert!(
        page.body
            .contains("un compte administrateur voit l'état de la candidature")
    );
    assert!(!page.body.contains("Réponses de l'établissement"));
    assert!(!has_form(&page, &s.college, "examen") && !has_form(&page, &s.college, "decision"));
    // An application that does not exist: the 404 page.
    let missing = admin
        .get("/labels/0190a0b0-0000-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    s.app.finish().await;
}

pharos_test_support::on_both_backends!(
    "labels";
    an_administrator_reads_an_application_without_its_answers,
    the_pole_and_a_referent_list_the_applications_of_their_scope,
    the_pole_reviews_returns_then_awards_an_application,
    a_referent_reads_an_application_and_the_pole_alone_decides,
    the_pole_answers_its_criterion_then_awards_the_level_above,
    the_awaiting_list_goes_on_page_after_page_across_both_states,
);
