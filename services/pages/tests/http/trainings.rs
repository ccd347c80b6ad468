//! `/formations`: the trainings of a referent's department with their sessions, a session
//! with its registrants and waitlist and its steps, the attendance sheet (one slot saved
//! at a time, through the API's command) and the printable sign-in sheet.

use pharos_test_support::{Client, TestApp, TestDb, instant};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Browser, COLLEGE_31, COLLEGE_32, assert_strict_page, created, until};

/// Before the session: registrations are open.
const BEFORE: &str = "2026-11-21T10:00:00+01:00";
/// During the session's first slot (9 h 00 – 12 h 00), before its second.
const DURING: &str = "2026-12-03T10:00:00+01:00";
/// The session is over.
const AFTER: &str = "2026-12-03T18:00:00+01:00";

const MPP: &str = "Méthode de la préoccupation partagée";
const GERS: &str = "Pilotes pHARe du Gers";

struct Seeded {
    app: TestApp,
    referent: Client,
    trainer: Client,
    school: Client,
    manager: Client,
    /// The session of Haute-Garonne: two places, two confirmed, one waiting.
    session: String,
    /// The registrations of « Personne 1 », « Personne 2 » (confirmed).
    first: String,
    second: String,
}

/// A training of `department` and a session of it on 2026-12-03, opened.
async fn session(
    manager: &Client,
    title: &str,
    topic: &str,
    department: &str,
    trainers: &[&str],
) -> String {
    let training = created(
        manager,
        "/api/v1/trainings",
        json!({ "title": title, "topic": topic, "audience": "équipes ressources des collèges",
                "department": department }),
    )
    .await;
    let id = created(
        manager,
        &format!("/api/v1/trainings/{training}/sessions"),
        json!({
            "starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00",
            "slots": [
                {"starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T12:00:00+01:00"},
                {"starts_at": "2026-12-03T13:30:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00"}
            ],
            "location": "Atelier Canopé, Toulouse", "capacity": 2, "planned_minutes": 390,
            "trainers": trainers
        }),
    )
    .await;
    let (status, body) = manager
        .post(&format!("/api/v1/sessions/{id}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

async fn register(manager: &Client, session: &str, n: usize, uai: &str) -> String {
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{session}/registrations"),
            json!({
                "person": {"email": format!("personne{n}@ac-toulouse.fr"),
                           "display_name": format!("Personne {n}"), "school_uai": uai, "function": "CPE"},
                "mode": "designated"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn seed(db: TestDb) -> Seeded {
    let app = TestApp::builder(db)
        .targets(&["all"])
        .at(instant(BEFORE))
        .start()
        .await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let manager = app.user("pole_manager", None).await;
    let referent = app.user("department_referent", Some("31")).await;
    let trainer = app.user("trainer", None).await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let id = session(&manager, MPP, "mpp", "31", &[&trainer.id]).await;
    let first = register(&manager, &id, 1, COLLEGE_31).await;
    let second = register(&manager, &id, 2, COLLEGE_31).await;
    register(&manager, &id, 3, COLLEGE_31).await;
    session(&manager, GERS, "pilotes", "32", &[]).await;
    Seeded {
        app,
        referent,
        trainer,
        school,
        manager,
        session: id,
        first,
        second,
    }
}

async fn the_referent_sees_her_department_and_moves_a_session_on(db: TestDb) {
    let seeded = seed(db).await;
    let id = &seeded.session;
    let mut referent = Browser::new(&seeded.app);
    referent.sign_in(&seeded.referent.email).await;

    // Her department's training and its session; not the Gers's.
    let list = until(&mut referent, "/formations", MPP).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_strict_page(&list);
    assert!(!list.body.contains(GERS), "{}", list.body);
    assert!(
        list.body
            .contains("31 – Haute-Garonne et formations académiques")
    );
    assert!(list.body.contains("Inscriptions ouvertes"));
    assert!(
        list.body.contains("1 en liste d&#x27;attente")
            || list.body.contains("1 en liste d'attente")
    );
    assert!(
        list.body
            .contains(&format!("href=\"/formations/sessions/{id}\""))
    );
    assert!(
        !list.body.contains("id=\"departement\""),
        "no department filter for her"
    );

    // The session: its confirmed registrants by name, the waitlist with its rank.
    let page = referent.get(&format!("/formations/sessions/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("<h1>Méthode de la préoccupation partagée</h1>")
    );
    assert!(
        page.body
            .contains("jeudi 3 décembre 2026, 9 h 00 – 17 h 00")
    );
    assert!(page.body.contains("Créneau 1 — 9 h 00 – 12 h 00"));
    let confirmed = page.body.split("Liste d&#x27;attente (").next().unwrap();
    let confirmed = confirmed.split("Liste d'attente (").next().unwrap();
    assert!(confirmed.contains("Personne 1") && confirmed.contains("Personne 2"));
    assert!(!confirmed.contains("Personne 3"));
    assert!(
        page.body.contains("<td>1</td><td>Personne 3</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Clore les inscriptions"));
    assert!(page.body.contains("Annuler la session"));
    assert!(
        !page.body.contains("Déclarer la session tenue"),
        "not begun"
    );

    // A cancellation needs its reason, named next to the field; nothing is sent.
    let csrf = page.hidden("csrf");
    let before = seeded.app.events().await;
    let refused = referent
        .post_form(
            &format!("/formations/sessions/{id}/annuler"),
            &[("csrf", &csrf), ("reason", "  ")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("id=\"reason-erreur\">Indiquez le motif")
    );
    assert_eq!(seeded.app.events().await, before);

    // She closes the registrations: back to the session, with its new state.
    let closed = referent
        .post_form(
            &format!("/formations/sessions/{id}/clore"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    assert_eq!(
        closed.location(),
        format!("/formations/sessions/{id}?succes=close")
    );
    let page = referent.get(closed.location()).await;
    assert!(page.body.contains("Inscriptions closes."));
    assert!(
        page.body
            .contains("id=\"etat-session\">Inscriptions closes</span>")
    );
    // Closing twice: the API's refusal, in French, on the page.
    let again = referent
        .post_form(
            &format!("/formations/sessions/{id}/clore"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("fr-alert--error"));

    // The pole sees every department, and filters by one.
    let mut pole = Browser::new(&seeded.app);
    pole.sign_in(&seeded.manager.email).await;
    let all = until(&mut pole, "/formations", GERS).await;
    assert!(all.body.contains(MPP));
    let gers = pole.get("/formations?departement=32").await;
    assert!(
        gers.body.contains(GERS) && !gers.body.contains(MPP),
        "{}",
        gers.body
    );
    let wrong = pole.get("/formations?departement=75&etat=perdue").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("id=\"departement-erreur\""));
    assert!(wrong.body.contains("id=\"etat-erreur\""));

    // A school has no trainings pages.
    let mut school = Browser::new(&seeded.app);
    school.sign_in(&seeded.school.email).await;
    for path in [
        "/formations".to_owned(),
        format!("/formations/sessions/{id}"),
        format!("/formations/sessions/{id}/presences"),
        format!("/formations/sessions/{id}/emargement"),
    ] {
        let page = school.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("Formations réservées"), "{path}");
    }
    seeded.app.finish().await;
}

async fn the_trainer_records_a_slot_through_the_sheet_and_prints_the_sign_in_sheet(db: TestDb) {
    let seeded = seed(db).await;
    let id = &seeded.session;
    seeded.app.set_now(instant(DURING));
    let mut trainer = Browser::new(&seeded.app);
    trainer.sign_in(&seeded.trainer.email).await;

    // His planning: the session he gives.
    let list = trainer.get("/formations").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains(MPP) && !list.body.contains(GERS));

    // The sheet: the first slot has begun, the second not yet.
    let path = format!("/formations/sessions/{id}/presences");
    let sheet = trainer.get(&path).await;
    assert_eq!(sheet.status, StatusCode::OK, "{}", sheet.body);
    assert_strict_page(&sheet);
    assert!(sheet.body.contains("Enregistrer le créneau 1"));
    assert!(!sheet.body.contains("Enregistrer le créneau 2"));
    assert!(
        sheet
            .body
            .contains(&format!("value=\"0:{}\"", seeded.first))
    );
    assert!(
        !sheet
            .body
            .contains(&format!("value=\"1:{}\"", seeded.first))
    );
    let present = format!("0:{}", seeded.first);

    // Without the form's token: refused, nothing recorded.
    let before = seeded.app.events().await;
    let forged = trainer
        .post_form(&path, &[("creneau", "0"), ("presence", &present)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(seeded.app.events().await, before);

    // Personne 1 present, Personne 2 absent, at the first slot.
    let csrf = sheet.hidden("csrf");
    let saved = trainer
        .post_form(
            &path,
            &[("csrf", &csrf), ("presence", &present), ("creneau", "0")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), format!("{path}?succes=0"));
    let (_, session) = seeded.manager.get(&format!("/api/v1/sessions/{id}")).await;
    let minutes = |registration: &str| {
        session["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == registration)
            .map(|r| r["attended_minutes"].as_i64().unwrap())
    };
    assert_eq!(minutes(&seeded.first), Some(180), "{session}");
    assert_eq!(minutes(&seeded.second), Some(0), "{session}");
    let page = trainer.get(saved.location()).await;
    assert!(page.body.contains("Présences du créneau 1 enregistrées."));
    assert!(
        page.body
            .contains(&format!("value=\"0:{}\" checked", seeded.first)),
        "what was recorded is ticked: {}",
        page.body
    );

    // The second slot has not begun: the API's refusal, said once.
    let early = trainer
        .post_form(&path, &[("csrf", &csrf), ("creneau", "1")])
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early
            .body
            .contains("Ce créneau n&#x27;a pas encore commencé"),
        "{}",
        early.body
    );

    // The sign-in sheet: one row per confirmed registrant, a signature cell per slot.
    let print = trainer
        .get(&format!("/formations/sessions/{id}/emargement"))
        .await;
    assert_eq!(print.status, StatusCode::OK, "{}", print.body);
    assert_strict_page(&print);
    assert!(
        print.body.contains("<h1>Feuille d&#x27;émargement</h1>")
            || print.body.contains("<h1>Feuille d'émargement</h1>")
    );
    assert!(print.body.contains("/pharos/trainings.css"));
    assert!(
        print
            .body
            .contains("Utilisez la commande Imprimer de votre navigateur")
    );
    assert_eq!(
        print
            .body
            .matches("class=\"pharos-sign-in__signature\"")
            .count(),
        4
    );
    assert!(
        !print.body.contains("Personne 3"),
        "the waitlist does not sign"
    );

    // Over and locked: the sheet is read only.
    seeded.app.set_now(instant(AFTER));
    let mut referent = Browser::new(&seeded.app);
    referent.sign_in(&seeded.referent.email).await;
    let page = referent.get(&format!("/formations/sessions/{id}")).await;
    let csrf = page.hidden("csrf");
    let locked = referent
        .post_form(
            &format!("/formations/sessions/{id}/verrouiller"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(locked.status, StatusCode::SEE_OTHER, "{}", locked.body);
    let sheet = referent.get(&path).await;
    assert!(sheet.body.contains("Les présences sont verrouillées"));
    assert!(!sheet.body.contains("type=\"checkbox\""));
    seeded.app.finish().await;
}

pharos_test_support::on_both_backends!(
    "trainings";
    the_referent_sees_her_department_and_moves_a_session_on,
    the_trainer_records_a_slot_through_the_sheet_and_prints_the_sign_in_sheet,
);
