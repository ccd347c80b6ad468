//! `/actions`: the referent's list of the actions of her department, and her decisions on
//! a submitted one (validate, return with a reason) and on a validated one (publish),
//! through the forms.

use pharos_test_support::{Client, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Browser, COLLEGE_31, COLLEGE_32, LYCEE_31, assert_strict_page, created, until};

/// Two weeks after the Journée nationale of 2025-2026 (Thursday 6 November 2025): inside
/// its campaign window.
const NOW: &str = "2025-11-20T10:00:00Z";
const YEAR: &str = "2025-2026";

/// A national-day action of `school`, held on the day, submitted unless `draft`.
async fn action(school: &Client, uai: &str, pupils: i64, draft: bool) -> String {
    let id = created(
        school,
        &format!("/api/v1/national-days/{YEAR}/actions"),
        json!({
            "school_uai": uai,
            "date": "2025-11-06",
            "types": ["projection_debat", "atelier"],
            "audience_levels": ["6e"],
            "pupils_reached": pupils,
            "adults_reached": 4,
            "partners": [],
            "description": "Projection du film puis débat en classe.",
            "held": true
        }),
    )
    .await;
    if !draft {
        let (status, body) = school
            .post(&format!("/api/v1/actions/{id}/submit"), Value::Null)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    id
}

async fn status_of(client: &Client, id: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/actions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

struct Seeded {
    app: TestApp,
    school_31: Client,
    /// Submitted, of the collège of Haute-Garonne.
    college: String,
    /// Submitted, of the lycée of Haute-Garonne.
    lycee: String,
    /// A draft of the collège of Haute-Garonne.
    draft: String,
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
    let college = action(&school_31, COLLEGE_31, 120, false).await;
    let lycee = action(&lycee_31, LYCEE_31, 45, false).await;
    let draft = action(&school_31, COLLEGE_31, 30, true).await;
    let gers = action(&school_32, COLLEGE_32, 80, false).await;
    Seeded {
        app,
        school_31,
        college,
        lycee,
        draft,
        gers,
    }
}

async fn the_referent_lists_the_actions_of_her_department_by_state(db: TestDb) {
    let s = seed(db).await;
    let referent = s.app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&s.app);
    browser.sign_in(&referent.email).await;

    // By default: the submitted actions of Haute-Garonne, waiting for her.
    let page = until(&mut browser, "/actions", &s.lycee).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Actions de sensibilisation</h1>"));
    assert!(
        page.body
            .contains("31 – Haute-Garonne · année scolaire 2025-2026")
    );
    assert!(
        page.body
            .contains(&format!("href=\"/actions/{}\"", s.college))
    );
    assert!(
        page.body.contains("Établissement 0310002J"),
        "the school's name"
    );
    assert!(
        page.body.contains("Projection-débat, Atelier"),
        "{}",
        page.body
    );
    assert!(page.body.contains("06/11/2025"), "{}", page.body);
    assert!(
        page.body
            .contains("fr-badge--new fr-badge--no-icon\">Transmise, à valider")
    );
    assert!(
        !page.body.contains(&s.draft),
        "a draft is not waiting for her"
    );
    assert!(!page.body.contains(&s.gers), "Gers is not hers");
    assert!(!page.body.contains(COLLEGE_32));

    // Every state; the drafts alone; one school.
    let page = until(&mut browser, "/actions?etat=tous", &s.draft).await;
    assert!(page.body.contains(&s.college) && !page.body.contains(&s.gers));
    assert!(page.body.contains("Brouillon"));
    let page = browser.get("/actions?etat=brouillon").await;
    assert!(page.body.contains(&s.draft) && !page.body.contains(&s.college));
    let page = browser
        .get(&format!("/actions?etat=tous&uai={LYCEE_31}"))
        .await;
    assert!(page.body.contains(&s.lycee) && !page.body.contains(&s.college));
    // Another department's filter is not offered her, and gives nothing of it.
    let page = browser.get("/actions?etat=tous&departement=32").await;
    assert!(!page.body.contains(&s.gers) && !page.body.contains("id=\"departement\""));
    // Another year: nothing, and what to do about it.
    let page = browser.get("/actions?annee=2024-2025").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Aucune action transmise pour l'instant"),
        "{}",
        page.body
    );
    // A wrong filter is named next to its field.
    let page = browser.get("/actions?etat=perdue&uai=12").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"etat-erreur\""));
    assert!(page.body.contains("id=\"uai-erreur\""));

    // Another department's action is refused her.
    let page = browser.get(&format!("/actions/{}", s.gers)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);

    // The pole sees both departments, and filters by one.
    let manager = s.app.user("pole_manager", None).await;
    let mut pole = Browser::new(&s.app);
    pole.sign_in(&manager.email).await;
    let page = until(&mut pole, "/actions", &s.gers).await;
    assert!(page.body.contains(&s.college) && page.body.contains(&s.draft));
    let page = pole.get("/actions?departement=32").await;
    assert!(page.body.contains(&s.gers) && !page.body.contains(&s.college));

    // A school has no such page; a visitor is sent to sign in.
    let mut school = Browser::new(&s.app);
    school.sign_in(&s.school_31.email).await;
    let page = school.get("/actions").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Actions réservées"));
    let page = school.get(&format!("/actions/{}", s.college)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = Browser::new(&s.app).get("/actions").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/connexion?suite=/actions");
    s.app.finish().await;
}

async fn the_referent_validates_one_action_and_returns_another_with_a_reason(db: TestDb) {
    let s = seed(db).await;
    let referent = s.app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&s.app);
    browser.sign_in(&referent.email).await;
    until(&mut browser, "/actions", &s.lycee).await;

    // The detail, with the two decisions.
    let detail = format!("/actions/{}", s.college);
    let page = browser.get(&detail).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(page.body.contains("<h1>Action du 06/11/2025</h1>"));
    assert!(page.body.contains("Établissement 0310001H (0310001H)"));
    assert!(page.body.contains("Transmise, à valider"));
    assert!(
        page.body
            .contains(&format!("action=\"/actions/{}/valider\"", s.college))
    );
    assert!(
        page.body
            .contains(&format!("action=\"/actions/{}/renvoyer\"", s.college))
    );
    let csrf = page.hidden("csrf");

    // Without the form's token: refused, nothing appended.
    let events = s.app.events().await;
    let forged = browser
        .post_form(&format!("{detail}/valider"), &[("csrf", "")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("Formulaire refusé"));
    assert_eq!(s.app.events().await, events);

    // Validated: back to the action, which says so.
    let done = browser
        .post_form(&format!("{detail}/valider"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{detail}?succes=validee"));
    let page = browser.get(done.location()).await;
    assert!(page.body.contains("Action validée."));
    assert!(
        page.body
            .contains("fr-badge--success fr-badge--no-icon\" id=\"etat-action\">Validée")
    );
    assert!(!page.body.contains("/valider\""), "nothing more to decide");
    // Its history, from the read model once it has caught up: who did what, when.
    let page = super::until(&mut browser, &detail, "<strong>Action validée</strong>").await;
    assert!(
        page.body
            .contains("<strong>Action transmise au référent</strong>")
    );
    assert!(page.body.contains("<strong>Action déclarée</strong>"));
    assert_eq!(
        status_of(&referent, &s.college).await["status"],
        "validated"
    );
    // Validating it again: the API's refusal, in French.
    let again = browser
        .post_form(&format!("{detail}/valider"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("fr-alert--error"));
    assert!(again.body.contains("Décision non enregistrée"));

    // Returned without a reason: the field says so, nothing is sent.
    let lycee = format!("/actions/{}", s.lycee);
    let events = s.app.events().await;
    let empty = browser
        .post_form(
            &format!("{lycee}/renvoyer"),
            &[("csrf", &csrf), ("reason", "  ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty.body.contains(
            "id=\"reason-erreur\">Indiquez ce que l&#x27;établissement doit corriger.</p>"
        ),
        "{}",
        empty.body
    );
    assert!(empty.body.contains("fr-input-group--error"));
    assert_eq!(s.app.events().await, events, "nothing appended");

    // With a reason: returned, and the reason shown.
    let reason = "Précisez les niveaux concernés.";
    let done = browser
        .post_form(
            &format!("{lycee}/renvoyer"),
            &[("csrf", &csrf), ("reason", reason)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{lycee}?succes=renvoyee"));
    let page = browser.get(done.location()).await;
    assert!(
        page.body
            .contains("Action renvoyée à l&#x27;établissement.")
    );
    assert!(page.body.contains("Renvoyée à l&#x27;établissement"));
    assert!(page.body.contains("Précisez les niveaux concernés."));
    let returned = status_of(&referent, &s.lycee).await;
    assert_eq!(returned["status"], "returned");
    assert_eq!(returned["return_reason"], reason);

    // The list follows: both decided, no longer waiting.
    let page = until(&mut browser, "/actions?etat=validee", &s.college).await;
    assert!(!page.body.contains(&s.lycee));
    let page = until(&mut browser, "/actions?etat=renvoyee", &s.lycee).await;
    assert!(!page.body.contains(&s.college));
    // An unknown action.
    let page = browser
        .get("/actions/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(browser.get("/actions/pas-une-action").await.status == StatusCode::NOT_FOUND);
    s.app.finish().await;
}

async fn the_referent_publishes_a_validated_action_and_only_a_validated_one(db: TestDb) {
    let s = seed(db).await;
    let referent = s.app.user("department_referent", Some("31")).await;
    let mut browser = Browser::new(&s.app);
    browser.sign_in(&referent.email).await;
    until(&mut browser, "/actions", &s.lycee).await;
    let detail = format!("/actions/{}", s.college);
    let publish = format!("{detail}/publier");

    // A submitted action is not offered for publication yet.
    let page = browser.get(&detail).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains(&format!("action=\"{publish}\"")));
    let csrf = page.hidden("csrf");
    // Published before it is validated: the API's refusal, in French, nothing appended.
    let events = s.app.events().await;
    let early = browser.post_form(&publish, &[("csrf", &csrf)]).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(early.body.contains("Décision non enregistrée"));
    assert!(
        early
            .body
            .contains("L&#x27;action est déposée : seule une action validée se publie."),
        "{}",
        early.body
    );
    assert_eq!(s.app.events().await, events, "nothing appended");
    // A draft neither.
    let draft = browser
        .post_form(&format!("/actions/{}/publier", s.draft), &[("csrf", &csrf)])
        .await;
    assert_eq!(draft.status, StatusCode::CONFLICT, "{}", draft.body);
    assert!(draft.body.contains("seule une action validée se publie"));
    assert_eq!(s.app.events().await, events, "nothing appended");
    assert_eq!(
        status_of(&referent, &s.college).await["status"],
        "submitted"
    );

    // Validated: the page now offers the publication, and says what it does.
    let done = browser
        .post_form(&format!("{detail}/valider"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = browser.get(&detail).await;
    assert_strict_page(&page);
    assert!(page.body.contains(&format!("action=\"{publish}\"")));
    assert!(page.body.contains("Publier l'action</button>"));
    assert!(page.body.contains("La publication est définitive"));
    let csrf = page.hidden("csrf");

    // Without the form's token: refused, nothing appended.
    let events = s.app.events().await;
    let forged = browser.post_form(&publish, &[("csrf", "forgé")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("Formulaire refusé"));
    assert_eq!(s.app.events().await, events, "nothing appended");
    assert_eq!(
        status_of(&referent, &s.college).await["status"],
        "validated"
    );

    // Published: back to the action, which reads « Publiée », with nothing more to decide.
    let done = browser.post_form(&publish, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{detail}?succes=publiee"));
    let page = browser.get(done.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Action publiée."));
    assert!(
        page.body
            .contains("fr-badge--info fr-badge--no-icon\" id=\"etat-action\">Publiée"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("/publier\""), "nothing more to decide");
    assert!(!page.body.contains("/valider\""));
    assert_eq!(
        status_of(&referent, &s.college).await["status"],
        "published"
    );
    // Its history and the list follow, once the read model has caught up.
    until(&mut browser, &detail, "<strong>Action publiée</strong>").await;
    let page = until(&mut browser, "/actions?etat=publiee", &s.college).await;
    assert!(!page.body.contains(&s.lycee));

    // A school may not publish: the page refuses its form before the API is asked.
    let mut school = Browser::new(&s.app);
    school.sign_in(&s.school_31.email).await;
    let page = school.get("/mes-actions").await;
    let school_csrf = page.hidden("csrf");
    let refused = school
        .post_form(
            &format!("/actions/{}/publier", s.lycee),
            &[("csrf", &school_csrf)],
        )
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.body);
    s.app.finish().await;
}

async fn the_list_goes_on_page_after_page(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(NOW))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    // One more than a page of 20.
    let mut ids = Vec::new();
    for n in 0..21 {
        ids.push(action(&school, COLLEGE_31, n, true).await);
    }
    let manager = app.user("pole_manager", None).await;
    let mut pole = Browser::new(&app);
    pole.sign_in(&manager.email).await;
    let first = until(&mut pole, "/actions?etat=brouillon", "21 actions").await;
    let shown = |body: &str| ids.iter().filter(|id| body.contains(id.as_str())).count();
    assert_eq!(shown(&first.body), 20);
    let marker = "href=\"/actions?annee=2025-2026&amp;etat=brouillon&amp;apres=";
    let start = first
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no next page in {}", first.body));
    let next = first.body[start + "href=\"".len()..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(first.body.contains(">Page suivante</a>"));
    let second = pole.get(&next).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(shown(&second.body), 1);
    assert!(!second.body.contains("Page suivante"));
    assert!(second.body.contains(">Première page</a>"));
    assert_eq!(
        ids.iter()
            .filter(|id| first.body.contains(id.as_str()) || second.body.contains(id.as_str()))
            .count(),
        21,
        "every action on one page or the other"
    );
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "actions";
    the_referent_lists_the_actions_of_her_department_by_state,
    the_referent_validates_one_action_and_returns_another_with_a_reason,
    the_referent_publishes_a_validated_action_and_only_a_validated_one,
    the_list_goes_on_page_after_page,
);
