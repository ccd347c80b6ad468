//! `/formations`: the trainings of a referent's department with their sessions, a session
//! with its registrants and waitlist and its steps, people registered and withdrawn
//! through its forms, the attendance sheet (one slot saved at a time, through the API's
//! command; corrected with a reason once locked) and the printable sign-in sheet.

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
    /// « Personne 3 », first on the waitlist.
    third: String,
    /// The Gers's session: two places, nobody registered.
    gers: String,
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
    let third = register(&manager, &id, 3, COLLEGE_31).await;
    let gers = session(&manager, GERS, "pilotes", "32", &[]).await;
    Seeded {
        app,
        referent,
        trainer,
        school,
        manager,
        session: id,
        first,
        second,
        third,
        gers,
    }
}

async fn the_referent_sees_her_department_and_moves_a_session_on(db: TestDb) {
    let seeded = seed(db).await;
    let id = &seeded.session;
    let mut referent = Browser::new(&seeded.app);
    referent.sign_in(&seeded.referent.email).await;

    // Her department's training and its session; not the Gers's. Waited for until the
    // read model has the last registration (the waitlisted one), not only the training.
    let list = until(&mut referent, "/formations", "1 en liste d'attente").await;
    assert!(list.body.contains(MPP), "{}", list.body);
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

    // A school reads the planning and the session, not its sheets.
    let mut school = Browser::new(&seeded.app);
    school.sign_in(&seeded.school.email).await;
    let list = school.get("/formations").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body
            .contains("href=\"/formations\" aria-current=\"page\"")
    );
    assert!(list.body.contains(MPP), "{}", list.body);
    assert!(
        list.body
            .contains("y inscrire des personnels de votre établissement")
    );
    // Ticked, « seulement les sessions où des personnels de l'établissement sont
    // inscrits »: MPP (three of them), not a training of the department without any.
    const OTHER: &str = "Équipe ressource, seconde vague";
    session(&seeded.manager, OTHER, "equipe_ressource", "31", &[]).await;
    until(&mut school, "/formations", OTHER).await;
    let own = school.get("/formations?inscrits=1").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_strict_page(&own);
    assert!(own.body.contains(MPP), "{}", own.body);
    assert!(!own.body.contains(OTHER), "{}", own.body);
    assert!(
        own.body
            .contains("id=\"inscrits\" name=\"inscrits\" value=\"1\" checked")
    );
    // None registered in another school year: the empty state says what to do.
    let none = school.get("/formations?inscrits=1&annee=2024-2025").await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.body);
    assert!(
        none.body
            .contains("Aucun personnel de l'établissement n'est inscrit"),
        "{}",
        none.body
    );
    let page = school.get(&format!("/formations/sessions/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for (path, refusal) in [
        ("presences", "Feuille de présence réservée"),
        ("emargement", "Feuille d&#x27;émargement réservée"),
    ] {
        let page = school
            .get(&format!("/formations/sessions/{id}/{path}"))
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains(refusal), "{path}: {}", page.body);
    }
    seeded.app.finish().await;
}

async fn a_school_registers_its_own_staff_and_is_warned_of_a_second_training(db: TestDb) {
    let seeded = seed(db).await;
    let gers = format!("/formations/sessions/{}", seeded.gers);
    let mut school = Browser::new(&seeded.app);
    school.sign_in(&seeded.school.email).await;

    // Its form has no school field: the person is its own staff.
    let page = school.get(&gers).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("id=\"inscrire\">Inscrire une personne</h2>")
    );
    assert!(!page.body.contains("for=\"inscription-uai\""));
    assert!(
        page.body
            .contains("La personne est inscrite au titre de votre établissement.")
    );
    let csrf = page.hidden("csrf");
    let form = |name: &'static str, email: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("display_name", name.to_owned()),
            ("email", email.to_owned()),
            ("function", "cpe".to_owned()),
            ("mode", "designated".to_owned()),
        ]
    };
    let sent = form("Dominique Sol", "dominique.sol@ac-toulouse.fr");
    let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = school
        .post_form(&format!("{gers}/inscriptions"), &sent)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location()
            .starts_with(&format!("{gers}?succes=inscrite&inscription=")),
        "{}",
        done.location()
    );
    assert!(!done.location().contains("deja="), "{}", done.location());
    let (status, read) = seeded
        .manager
        .get(&format!("/api/v1/sessions/{}", seeded.gers))
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["registrations"][0]["school_uai"], COLLEGE_31, "{read}");

    // Personne 1 attends the MPP session's first slot; registered to another MPP session
    // later, the API warns (already trained on the topic): the redirect carries it as a
    // flag, and the page says it beside the success message.
    seeded.app.set_now(instant(DURING));
    let (status, body) = seeded
        .manager
        .post(
            &format!("/api/v1/sessions/{}/attendance", seeded.session),
            json!({"registration_id": seeded.first, "slot_index": 0, "status": "present"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let training = created(
        &seeded.manager,
        "/api/v1/trainings",
        json!({ "title": "MPP, seconde vague", "topic": "mpp",
                "audience": "équipes ressources des collèges", "department": "31" }),
    )
    .await;
    let later = created(
        &seeded.manager,
        &format!("/api/v1/trainings/{training}/sessions"),
        json!({
            "starts_at": "2026-12-17T09:00:00+01:00", "ends_at": "2026-12-17T12:00:00+01:00",
            "slots": [{"starts_at": "2026-12-17T09:00:00+01:00", "ends_at": "2026-12-17T12:00:00+01:00"}],
            "location": "Atelier Canopé, Toulouse", "capacity": 10, "planned_minutes": 180
        }),
    )
    .await;
    let (status, body) = seeded
        .manager
        .post(&format!("/api/v1/sessions/{later}/open"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let later = format!("/formations/sessions/{later}");
    let page = school.get(&later).await;
    let again = [
        ("csrf", page.hidden("csrf")),
        ("display_name", "Personne 1".to_owned()),
        ("email", "personne1@ac-toulouse.fr".to_owned()),
        ("function", "cpe".to_owned()),
        ("mode", "designated".to_owned()),
    ];
    let again: Vec<(&str, &str)> = again.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let warned = school
        .post_form(&format!("{later}/inscriptions"), &again)
        .await;
    assert_eq!(warned.status, StatusCode::SEE_OTHER, "{}", warned.body);
    assert!(
        warned
            .location()
            .starts_with(&format!("{later}?succes=inscrite&inscription="))
            && warned.location().ends_with("&deja=1"),
        "{}",
        warned.location()
    );
    let page = school.get(warned.location()).await;
    assert!(
        page.body
            .contains("Attention : cette personne a déjà suivi une session sur le même thème."),
        "{}",
        page.body
    );

    // The flag is only a flag: after a withdrawal it says nothing.
    let page = school
        .get(&format!("{gers}?succes=retiree&inscription=x&deja=1"))
        .await;
    assert!(!page.body.contains("Attention : cette personne"));
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

/// The registration rows of the session as the API holds them: `(name, status, rank)`.
async fn registrations(manager: &Client, session: &str) -> Vec<(String, String, Option<i64>)> {
    let (status, read) = manager.get(&format!("/api/v1/sessions/{session}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    read["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["display_name"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["waitlist_position"].as_i64(),
            )
        })
        .collect()
}

async fn the_referent_registers_people_and_withdraws_them_through_the_session_page(db: TestDb) {
    let seeded = seed(db).await;
    let id = &seeded.session;
    let path = format!("/formations/sessions/{id}");
    let mut referent = Browser::new(&seeded.app);
    referent.sign_in(&seeded.referent.email).await;

    // Registrations open: the form, every field labelled; a « Retirer » per registrant.
    let page = referent.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("<h2 class=\"fr-mt-4w\" id=\"inscrire\">Inscrire une personne</h2>")
    );
    assert!(page.body.contains(&format!(
        "action=\"/formations/sessions/{id}/inscriptions\""
    )));
    for input in [
        "inscription-nom",
        "inscription-courriel",
        "inscription-uai",
        "inscription-fonction",
        "inscription-mode-designated",
        "inscription-mode-volunteer",
    ] {
        assert!(page.body.contains(&format!("for=\"{input}\"")), "{input}");
    }
    for registration in [&seeded.first, &seeded.second, &seeded.third] {
        assert!(
            page.body.contains(&format!(
                "href=\"/formations/sessions/{id}/inscriptions/{registration}/retrait\""
            )),
            "{}",
            page.body
        );
    }
    let csrf = page.hidden("csrf");
    let person = |name: &'static str, email: &'static str, uai: &'static str| {
        vec![
            ("display_name", name),
            ("email", email),
            ("school_uai", uai),
            ("function", "cpe"),
            ("function_other", ""),
            ("mode", "designated"),
        ]
    };

    // A forged form registers nobody.
    let before = seeded.app.events().await;
    let forged = referent
        .post_form(
            &format!("{path}/inscriptions"),
            &person("Alex Petit", "alex.petit@ac-toulouse.fr", COLLEGE_31),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("Formulaire refusé"));
    assert_eq!(seeded.app.events().await, before);

    // Fields missing: named next to their inputs, the values kept, nothing sent.
    let mut empty = vec![("csrf", csrf.as_str())];
    empty.extend(person("Alex Petit", "", COLLEGE_31));
    empty.retain(|(k, _)| *k != "function");
    let refused = referent
        .post_form(&format!("{path}/inscriptions"), &empty)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("aria-describedby=\"inscription-courriel-erreur\"")
    );
    assert!(
        refused
            .body
            .contains("id=\"inscription-courriel-erreur\">Indiquez l&#x27;adresse")
    );
    assert!(
        refused
            .body
            .contains("id=\"inscription-fonction-erreur\">Choisissez la fonction")
    );
    assert!(refused.body.contains("value=\"Alex Petit\""));
    assert_eq!(seeded.app.events().await, before);

    // The API's refusal of the school, next to its field; nothing appended.
    let mut wrong = vec![("csrf", csrf.as_str())];
    wrong.extend(person("Alex Petit", "alex.petit@ac-toulouse.fr", "031000"));
    let refused = referent
        .post_form(&format!("{path}/inscriptions"), &wrong)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("aria-describedby=\"inscription-uai-erreur\""),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("id=\"inscription-uai-erreur\">« 031000 » n&#x27;est pas un UAI")
    );
    assert!(refused.body.contains("value=\"alex.petit@ac-toulouse.fr\""));
    assert!(refused.body.contains("<option value=\"cpe\" selected>"));
    assert_eq!(seeded.app.events().await, before);

    // To the Gers's empty session, a person of her department's school: confirmed.
    let gers = format!("/formations/sessions/{}", seeded.gers);
    let page = referent.get(&gers).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("Un établissement de votre département : cette session n&#x27;est pas"),
        "{}",
        page.body
    );
    let mut sam = vec![("csrf", csrf.as_str())];
    sam.extend(person("Sam Roux", "sam.roux@ac-toulouse.fr", COLLEGE_31));
    let done = referent
        .post_form(&format!("{gers}/inscriptions"), &sam)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location()
            .starts_with(&format!("{gers}?succes=inscrite&inscription="))
    );
    let page = referent.get(done.location()).await;
    assert!(
        page.body.contains(
            "Inscription enregistrée pour Sam Roux : la personne est inscrite, sa place est confirmée."
        ),
        "{}",
        page.body
    );
    assert_eq!(
        registrations(&seeded.manager, &seeded.gers).await,
        vec![("Sam Roux".to_owned(), "confirmed".to_owned(), None)]
    );

    // Her department's session is full: the next person waits, second in line.
    let mut alex = vec![("csrf", csrf.as_str())];
    alex.extend(person("Alex Petit", "alex.petit@ac-toulouse.fr", ""));
    alex.retain(|(k, _)| *k != "mode");
    alex.push(("mode", "volunteer"));
    let done = referent
        .post_form(&format!("{path}/inscriptions"), &alex)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location()
            .starts_with(&format!("{path}?succes=attente&inscription="))
    );
    let alex_id = done.location().rsplit('=').next().unwrap().to_owned();
    let page = referent.get(done.location()).await;
    assert!(
        page.body.contains(
            "Inscription enregistrée pour Alex Petit : la session est complète, la personne est \
             placée en liste d&#x27;attente, rang 2."
        ),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<td>2</td><td>Alex Petit</td>"),
        "{}",
        page.body
    );

    // Withdrawing Personne 1: a confirmation page first, which says who gets the place.
    let confirm = format!("{path}/inscriptions/{}/retrait", seeded.first);
    let page = referent.get(&confirm).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_strict_page(&page);
    assert!(
        page.body
            .contains("<h1>Retirer une inscription : Personne 1</h1>")
    );
    assert!(
        page.body
            .contains("première personne de la liste d'attente, Personne 3")
    );
    assert!(page.body.contains("Je confirme le retrait"));
    let forged = referent.post_form(&confirm, &[("csrf", "0")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let done = referent.post_form(&confirm, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location(),
        format!(
            "{path}?succes=retiree&inscription={}&promue={}",
            seeded.first, seeded.third
        )
    );
    let page = referent.get(done.location()).await;
    assert!(
        page.body.contains(
            "Inscription retirée : Personne 1. La place libérée va à Personne 3, la première \
             personne de la liste d&#x27;attente : sa place est confirmée."
        ),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<td>1</td><td>Alex Petit</td>"),
        "{}",
        page.body
    );
    let rows = registrations(&seeded.manager, id).await;
    let of = |name: &str| rows.iter().find(|r| r.0 == name).cloned().unwrap();
    assert_eq!(of("Personne 1").1, "withdrawn");
    assert_eq!(of("Personne 3").1, "confirmed");
    assert_eq!(
        of("Alex Petit"),
        ("Alex Petit".to_owned(), "waitlisted".to_owned(), Some(1))
    );

    // Withdrawn already: the page for it is gone; the API's refusal is said.
    let again = referent.post_form(&confirm, &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.body.contains("Cette inscription est déjà retirée."),
        "{}",
        again.body
    );
    assert_eq!(referent.get(&confirm).await.status, StatusCode::NOT_FOUND);

    // Alex leaves the waitlist: nobody is promoted.
    let done = referent
        .post_form(
            &format!("{path}/inscriptions/{alex_id}/retrait"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location(),
        format!("{path}?succes=retiree&inscription={alex_id}")
    );

    // Once the session has begun, neither the form nor the buttons are offered.
    seeded.app.set_now(instant(DURING));
    let page = referent.get(&path).await;
    assert!(!page.body.contains("Inscrire une personne"));
    assert!(!page.body.contains("/retrait\""));
    // A trainer registers nobody.
    let mut trainer = Browser::new(&seeded.app);
    trainer.sign_in(&seeded.trainer.email).await;
    seeded.app.set_now(instant(BEFORE));
    let page = trainer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Inscrire une personne"));
    assert!(!page.body.contains("/retrait\""));
    seeded.app.finish().await;
}

async fn the_referent_corrects_a_locked_attendance_with_its_reason(db: TestDb) {
    let seeded = seed(db).await;
    let id = &seeded.session;
    let path = format!("/formations/sessions/{id}/presences");
    seeded.app.set_now(instant(AFTER));
    let mut referent = Browser::new(&seeded.app);
    referent.sign_in(&seeded.referent.email).await;

    // Before the lock: no correction form, the sheet is the way.
    let sheet = referent.get(&path).await;
    assert!(!sheet.body.contains("Corriger une présence"));
    let csrf = sheet.hidden("csrf");
    let locked = referent
        .post_form(
            &format!("/formations/sessions/{id}/verrouiller"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(locked.status, StatusCode::SEE_OTHER, "{}", locked.body);

    // Locked: a « Corriger » link per registrant and slot, and the form.
    let sheet = referent.get(&path).await;
    assert_eq!(sheet.status, StatusCode::OK, "{}", sheet.body);
    assert_strict_page(&sheet);
    assert!(
        sheet
            .body
            .contains("<h2 class=\"fr-mt-4w\" id=\"correction\">Corriger une présence</h2>")
    );
    let link = format!(
        "/formations/sessions/{id}/presences?inscription={}&amp;creneau=1#correction",
        seeded.first
    );
    assert!(
        sheet.body.contains(&format!("href=\"{link}\"")),
        "{}",
        sheet.body
    );
    for input in [
        "correction-inscription",
        "correction-creneau",
        "correction-statut",
        "correction-minutes",
        "correction-motif",
    ] {
        assert!(sheet.body.contains(&format!("for=\"{input}\"")), "{input}");
    }
    assert!(sheet.body.contains("maxlength=\"2000\""));
    // The link chooses its person and slot.
    let chosen = referent
        .get(&format!("{path}?inscription={}&creneau=1", seeded.first))
        .await;
    assert!(
        chosen.body.contains(&format!(
            "<option value=\"{}\" selected>Personne 1</option>",
            seeded.first
        )),
        "{}",
        chosen.body
    );
    assert!(
        chosen
            .body
            .contains("<option value=\"1\" selected>Créneau 2")
    );

    let corrections = format!("/formations/sessions/{id}/presences/corrections");
    let first = seeded.first.as_str();
    let before = seeded.app.events().await;

    // Forged: refused.
    let forged = referent
        .post_form(
            &corrections,
            &[
                ("registration_id", first),
                ("slot_index", "0"),
                ("status", "present"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Without a reason: named next to the field, the choices kept, nothing recorded.
    let refused = referent
        .post_form(
            &corrections,
            &[
                ("csrf", &csrf),
                ("registration_id", first),
                ("slot_index", "0"),
                ("status", "present"),
                ("minutes", ""),
                ("reason", "   "),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Correction non enregistrée"));
    assert!(
        refused
            .body
            .contains("aria-describedby=\"correction-motif-erreur\"")
    );
    assert!(
        refused
            .body
            .contains("id=\"correction-motif-erreur\">Indiquez le motif de la correction")
    );
    assert!(refused.body.contains("<option value=\"present\" selected>"));
    assert_eq!(seeded.app.events().await, before);

    // More minutes than the slot: the API's refusal, next to the minutes.
    let refused = referent
        .post_form(
            &corrections,
            &[
                ("csrf", &csrf),
                ("registration_id", first),
                ("slot_index", "0"),
                ("status", "present"),
                ("minutes", "500"),
                ("reason", "Feuille d'émargement retrouvée"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("id=\"correction-minutes-erreur\""),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("Feuille d&#x27;émargement retrouvée</textarea>")
    );
    assert_eq!(seeded.app.events().await, before);

    // With its reason: recorded, said, and in the history.
    let done = referent
        .post_form(
            &corrections,
            &[
                ("csrf", &csrf),
                ("registration_id", first),
                ("slot_index", "0"),
                ("status", "present"),
                ("minutes", ""),
                ("reason", "Feuille d'émargement retrouvée"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location(),
        format!("{path}?corrigee=1&inscription={first}&creneau=0")
    );
    let page = referent.get(done.location()).await;
    assert!(
        page.body
            .contains("Correction enregistrée pour Personne 1, créneau 1"),
        "{}",
        page.body
    );
    let (_, read) = seeded.manager.get(&format!("/api/v1/sessions/{id}")).await;
    let minutes = read["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == first)
        .map(|r| r["attended_minutes"].as_i64().unwrap());
    assert_eq!(minutes, Some(180), "{read}");
    until(&mut referent, &path, "Présence corrigée").await;
    until(
        &mut referent,
        &format!("/formations/sessions/{id}"),
        "Présence corrigée",
    )
    .await;
    seeded.app.finish().await;
}

pharos_test_support::on_both_backends!(
    "trainings";
    the_referent_sees_her_department_and_moves_a_session_on,
    the_trainer_records_a_slot_through_the_sheet_and_prints_the_sign_in_sheet,
    the_referent_registers_people_and_withdraws_them_through_the_session_page,
    the_referent_corrects_a_locked_attendance_with_its_reason,
    a_school_registers_its_own_staff_and_is_warned_of_a_second_training,
);
