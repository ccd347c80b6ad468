//! The cohorts target through the assembled application (beside the directory for
//! logins, accounts and schools, `trainings` for the sessions cohorts attend and `phare`
//! for the « 10 ambassadeurs » flag), on a real port, with a real HTTP client, on SQLite
//! and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use pharos_eventstore::on_db;
use pharos_test_support::{Client, TestApp, TestDb, instant, rule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The instant the application's clock shows.
const NOW: &str = "2026-11-15T10:00:00Z";
const YEAR: &str = "2026-2027";
const REFERENT: &str = "referente.cohorte@ac-toulouse.fr";

/// A valid UAI of `department` (its check letter computed).
fn uai(department: u32, n: u32) -> String {
    let digits = format!("{department:03}{n:04}");
    let letter = pharos_events::Uai::check_letter(&digits) as char;
    format!("{digits}{letter}")
}

/// The application serving `cohorts`, `trainings` and `phare`, its clock at [`NOW`],
/// with two collèges and an école of Haute-Garonne, a lycée of Haute-Garonne and a
/// collège of Gers registered.
struct Cohorts {
    app: TestApp,
    manager: Client,
    college: String,
    other_college: String,
    ecole: String,
    lycee: String,
    gers: String,
}

impl Deref for Cohorts {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Cohorts {
    async fn start(db: TestDb) -> Self {
        let app = TestApp::builder(db)
            .targets(&["cohorts", "trainings", "phare"])
            .at(instant(NOW))
            .start()
            .await;
        let manager = app.user("pole_manager", None).await;
        let cohorts = Self {
            app,
            manager,
            college: uai(31, 1),
            other_college: uai(31, 2),
            ecole: uai(31, 10),
            lycee: uai(31, 20),
            gers: uai(32, 1),
        };
        for (school, kind, department) in [
            (&cohorts.college, "college", "31"),
            (&cohorts.other_college, "college", "31"),
            (&cohorts.ecole, "ecole", "31"),
            (&cohorts.lycee, "lycee_gt", "31"),
            (&cohorts.gers, "college", "32"),
        ] {
            cohorts.app.school(school, kind, department).await;
        }
        cohorts
    }

    async fn finish(self) {
        self.app.finish().await;
    }

    /// Everything stored, as text: for checking what is (not) in clear.
    async fn stored_text(&self) -> String {
        let rows: Vec<String> = on_db!(self.store.db(), |pool| sqlx::query_scalar(
            "SELECT CAST(data AS TEXT) FROM events"
        )
        .fetch_all(&pool)
        .await)
        .unwrap();
        rows.join("\n")
    }

    /// Asserts a refusal: its status, its rule (the problem's type), and that nothing
    /// was appended.
    async fn refused(
        &self,
        (status, body): (StatusCode, Value),
        expected: StatusCode,
        rule_name: &str,
        events_before: i64,
    ) -> Value {
        assert_eq!(status, expected, "{body}");
        assert_eq!(rule(&body), rule_name, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or("")
                .starts_with(|c: char| c.is_uppercase() || c == '«'),
            "{body}"
        );
        assert_eq!(
            self.events().await,
            events_before,
            "nothing appended: {body}"
        );
        body
    }

    /// A training of the pole on the ambassadors, with a session held on 3 November
    /// whose attendance records `email` present all day; answers the session's id.
    async fn held_session(&self, email: &str) -> String {
        let training = self.training().await;
        let (status, body) = self
            .manager
            .post(
                &format!("/api/v1/trainings/{training}/sessions/past"),
                json!({
                    "starts_at": "2026-11-03T09:00:00+01:00", "ends_at": "2026-11-03T17:00:00+01:00",
                    "slots": [
                        {"starts_at": "2026-11-03T09:00:00+01:00", "ends_at": "2026-11-03T12:00:00+01:00"},
                        {"starts_at": "2026-11-03T13:30:00+01:00", "ends_at": "2026-11-03T17:00:00+01:00"}
                    ],
                    "location": "Atelier Canopé, Toulouse", "capacity": 10, "planned_minutes": 390,
                    "trainers": [],
                    "registrants": [{
                        "person": {"email": email, "display_name": "Camille Référente",
                                   "school_uai": self.college, "function": "CPE"},
                        "mode": "designated",
                        "attendance": [{"slot_index": 0, "status": "present"},
                                       {"slot_index": 1, "status": "present"}]
                    }]
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// A session planned on 3 December (not held yet); answers its id.
    async fn planned_session(&self) -> String {
        let training = self.training().await;
        let (status, body) = self
            .manager
            .post(
                &format!("/api/v1/trainings/{training}/sessions"),
                json!({
                    "starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T17:00:00+01:00",
                    "slots": [
                        {"starts_at": "2026-12-03T09:00:00+01:00", "ends_at": "2026-12-03T12:00:00+01:00"}
                    ],
                    "location": "Atelier Canopé, Toulouse", "capacity": 10, "planned_minutes": 180
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn training(&self) -> String {
        let (status, body) = self
            .manager
            .post(
                "/api/v1/trainings",
                json!({"title": "Former les élèves ambassadeurs", "topic": "ambassadeurs",
                       "audience": "référents des cohortes", "department": "31"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}

fn new_cohort(school: &str, kind: &str, counts: Value) -> Value {
    json!({
        "school_uai": school, "school_year": YEAR, "kind": kind,
        "referent": {"display_name": "Camille Référente", "email": REFERENT},
        "counts": counts
    })
}

/// Creates a cohort and answers its id.
async fn create(client: &Client, body: Value) -> String {
    let (status, answer) = client.post("/api/v1/cohorts", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["id"].as_str().unwrap().to_owned()
}

async fn view(client: &Client, id: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/cohorts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn ok(client: &Client, method: Method, path: &str, body: Value) -> Value {
    let (status, answer) = client.call(method, path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn a_college_cohort_goes_from_draft_to_closed(db: TestDb) {
    let app = Cohorts::start(db).await;
    let college = app.college.clone();
    let school = app.user("school", Some(&college)).await;
    let id = create(
        &school,
        new_cohort(&college, "eleves_college", json!({"6e": 4, "5e": 4})),
    )
    .await;
    let path = format!("/api/v1/cohorts/{id}");
    let cohort = view(&school, &id).await;
    assert_eq!(cohort["state"], "draft", "{cohort}");
    assert_eq!(cohort["counts"], json!({"6e": 4, "5e": 4}));
    assert_eq!(cohort["total"], 8);
    assert_eq!(cohort["below_ten_ambassadors"], true);
    assert!(
        cohort["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("Moins de 10 élèves ambassadeurs"),
        "{cohort}"
    );
    assert_eq!(
        cohort["referent"],
        json!({"display_name": "Camille Référente", "email": REFERENT})
    );
    // The read is logged: who read the referent's data, through which route.
    let vault = &app.pharos.state.vault;
    let referent = vault.find_person(REFERENT).await.unwrap().unwrap();
    let reads = vault.reads_of(referent).await.unwrap();
    assert!(
        reads.iter().any(|r| r.route == "/api/v1/cohorts/{id}"
            && r.purpose == "cohorts"
            && r.actor_id.as_deref() == Some(school.id.as_str())),
        "{reads:?}"
    );

    // Ten pupils: no more warning; declared to the pole.
    ok(
        &school,
        Method::PUT,
        &format!("{path}/counts"),
        json!({"counts": {"6e": 5, "5e": 4, "4e": 1}}),
    )
    .await;
    ok(
        &school,
        Method::POST,
        &format!("{path}/declare"),
        Value::Null,
    )
    .await;
    let cohort = view(&school, &id).await;
    assert_eq!(
        (
            &cohort["state"],
            &cohort["total"],
            &cohort["below_ten_ambassadors"]
        ),
        (&json!("declared"), &json!(10), &json!(false)),
        "{cohort}"
    );

    // Not active before a training.
    let before = app.events().await;
    app.refused(
        school.post(&format!("{path}/activate"), Value::Null).await,
        StatusCode::CONFLICT,
        "training-missing",
        before,
    )
    .await;

    // The referent attended a session of the trainings target: the cohort is trained.
    let session = app.held_session(REFERENT).await;
    let (status, body) = school
        .post(&format!("{path}/trainings"), json!({"session_id": session}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cohort = view(&school, &id).await;
    assert_eq!(cohort["state"], "trained", "{cohort}");
    let training = &cohort["trainings"][0];
    assert_eq!(training["session_id"], json!(session));
    assert_eq!(training["title"], "Former les élèves ambassadeurs");
    assert_eq!(training["held_on"], "2026-11-03");
    assert_eq!(training["minutes"], 390);
    assert_eq!(training["referent_minutes"], 390);

    // The nominal list, for the certificates.
    ok(
        &school,
        Method::PUT,
        &format!("{path}/names"),
        json!([
            {"first_name": "Lina", "initial": "B", "class_level": "6e"},
            {"first_name": "Noé", "initial": "c.", "class_level": "5e"}
        ]),
    )
    .await;
    let cohort = view(&school, &id).await;
    assert_eq!(
        cohort["names"],
        json!([
            {"first_name": "Lina", "initial": "B", "class_level": "6e"},
            {"first_name": "Noé", "initial": "C", "class_level": "5e"}
        ])
    );
    let stored = app.stored_text().await;
    for clear in ["Lina", "Noé", "Camille", REFERENT] {
        assert!(!stored.contains(clear), "{clear} stored in clear");
    }

    ok(
        &school,
        Method::POST,
        &format!("{path}/activate"),
        Value::Null,
    )
    .await;
    assert_eq!(view(&school, &id).await["state"], "active");

    // Lists show it without any name.
    let (status, list) = school
        .get(&format!("/api/v1/cohorts?school_uai={college}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1);
    let item = &list["items"][0];
    assert_eq!(
        (&item["id"], &item["state"], &item["total"]),
        (&json!(id), &json!("active"), &json!(10))
    );
    assert!(item.get("names").is_none() && item.get("referent").is_none());

    // Closed: the pupils' names are erased; nothing changes any more.
    ok(&school, Method::POST, &format!("{path}/close"), Value::Null).await;
    let cohort = view(&school, &id).await;
    assert_eq!(cohort["state"], "closed");
    assert_eq!(cohort["closed_on"], "2026-11-15");
    for name in cohort["names"].as_array().unwrap() {
        assert_eq!(name["first_name"], "donnée effacée", "{cohort}");
        assert_eq!(name["initial"], "donnée effacée", "{cohort}");
    }
    assert_eq!(cohort["referent"]["email"], REFERENT);
    let before = app.events().await;
    for (method, route, body) in [
        (Method::PUT, "counts", json!({"counts": {"6e": 20}})),
        (Method::POST, "declare", Value::Null),
        (Method::POST, "activate", Value::Null),
        (Method::POST, "close", Value::Null),
        (
            Method::POST,
            "trainings",
            json!({"held_on": "2026-11-10", "minutes": 60, "title": "Atelier"}),
        ),
        (
            Method::PUT,
            "names",
            json!([{"first_name": "Lina", "initial": "B", "class_level": "6e"}]),
        ),
    ] {
        app.refused(
            school.call(method, &format!("{path}/{route}"), body).await,
            StatusCode::CONFLICT,
            "cohort-closed",
            before,
        )
        .await;
    }
    app.finish().await;
}

async fn every_role_in_and_out_of_scope(db: TestDb) {
    let app = Cohorts::start(db).await;
    let college = app.college.clone();
    let manager = app.manager.clone();
    let admin = app.admin().await;
    let referent31 = app.user("department_referent", Some("31")).await;
    let referent32 = app.user("department_referent", Some("32")).await;
    let own = app.user("school", Some(&college)).await;
    let other = app.user("school", Some(&app.other_college)).await;
    let juror = app.user("juror", None).await;
    let trainer = app.user("trainer", None).await;
    let anonymous = app.anonymous();
    let mut forged = app.anonymous();
    forged.token = Some("abc.def.ghi".into());

    let allowed: [(&str, &Client, &str); 3] = [
        ("pole_manager", &manager, "eleves_college"),
        ("department_referent 31", &referent31, "parents"),
        ("school (own)", &own, "eleves_college"),
    ];
    let denied: [(&str, &Client, StatusCode); 7] = [
        ("admin", &admin, StatusCode::FORBIDDEN),
        ("department_referent 32", &referent32, StatusCode::FORBIDDEN),
        ("school (other)", &other, StatusCode::FORBIDDEN),
        ("juror", &juror, StatusCode::FORBIDDEN),
        ("trainer", &trainer, StatusCode::FORBIDDEN),
        ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
        ("forged token", &forged, StatusCode::UNAUTHORIZED),
    ];

    // Creating a cohort: the pole and the referent of 31 for the collège; the school's
    // own account finds the pole's (409 with its id).
    let mut ids = Vec::new();
    for (who, client, kind) in allowed.iter().take(2) {
        let (status, body) = client
            .post("/api/v1/cohorts", new_cohort(&college, kind, json!({})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{who}: {body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let (status, body) = own
        .post(
            "/api/v1/cohorts",
            new_cohort(&college, "eleves_college", json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["existing_id"], json!(ids[0]));
    for (who, client, expected) in denied {
        let before = app.events().await;
        let (status, body) = client
            .post(
                "/api/v1/cohorts",
                new_cohort(&college, "eleves_college", json!({"6e": 3})),
            )
            .await;
        assert_eq!(status, expected, "{who}: {body}");
        if status == StatusCode::FORBIDDEN {
            assert_eq!(rule(&body), "forbidden", "{who}");
        }
        assert_eq!(app.events().await, before, "{who}");
    }

    // Reading and changing one.
    let id = &ids[0];
    let path = format!("/api/v1/cohorts/{id}");
    for (n, (who, client, _)) in allowed.iter().enumerate() {
        let (status, body) = client.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let (status, body) = client
            .put(&format!("{path}/counts"), json!({"counts": {"6e": 3 + n}}))
            .await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let (status, body) = client
            .get(&format!("/api/v1/cohorts?school_uai={college}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        assert_eq!(body["total"], 2, "{who}: {body}");
    }
    let changes: [(Method, &str, Value); 7] = [
        (Method::PUT, "counts", json!({"counts": {"6e": 12}})),
        (Method::POST, "declare", Value::Null),
        (
            Method::POST,
            "trainings",
            json!({"held_on": "2026-11-10", "minutes": 60, "title": "Atelier"}),
        ),
        (
            Method::PUT,
            "names",
            json!([{"first_name": "Lina", "initial": "B", "class_level": "6e"}]),
        ),
        (Method::POST, "activate", Value::Null),
        (Method::POST, "close", Value::Null),
        (Method::GET, "", Value::Null),
    ];
    for (who, client, expected) in denied {
        let before = app.events().await;
        for (method, route, body) in changes.clone() {
            let target = if route.is_empty() {
                path.clone()
            } else {
                format!("{path}/{route}")
            };
            let (status, answer) = client.call(method, &target, body).await;
            assert_eq!(status, expected, "{who} {route}: {answer}");
            if status == StatusCode::FORBIDDEN {
                assert_eq!(rule(&answer), "forbidden", "{who} {route}");
            }
        }
        let (status, answer) = client
            .get(&format!("/api/v1/cohorts?school_uai={college}"))
            .await;
        assert_eq!(status, expected, "{who} list: {answer}");
        assert_eq!(app.events().await, before, "{who}");
    }
    // Lists keep to each one's scope.
    for (who, client, expected) in [
        ("pole_manager", &manager, 2),
        ("department_referent 31", &referent31, 2),
        ("school (own)", &own, 2),
        ("school (other)", &other, 0),
        ("department_referent 32", &referent32, 0),
    ] {
        let (status, body) = client.get("/api/v1/cohorts").await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        assert_eq!(body["total"], expected, "{who}: {body}");
    }
    for (who, client) in [("juror", &juror), ("admin", &admin)] {
        let (status, body) = client.get("/api/v1/cohorts").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
    }
    let (status, body) = referent32.get("/api/v1/cohorts?department=31").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = referent31
        .get("/api/v1/cohorts?department=31&kind=parents")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 1, "{body}");
    app.finish().await;
}

async fn bad_inputs_are_refused_naming_the_rule_and_change_nothing(db: TestDb) {
    let app = Cohorts::start(db).await;
    let college = app.college.clone();
    let school = app.user("school", Some(&college)).await;
    let manager = app.manager.clone();
    let before = app.events().await;

    let refusals: Vec<(Value, &str, Option<&str>)> = vec![
        (
            new_cohort(&college, "petits_ambassadeurs", json!({})),
            "kind-not-for-school",
            Some("kind"),
        ),
        (
            new_cohort(&college, "eleves_lycee", json!({})),
            "kind-not-for-school",
            Some("kind"),
        ),
        (
            new_cohort(&app.lycee, "eleves_college", json!({})),
            "kind-not-for-school",
            Some("kind"),
        ),
        (
            new_cohort(&app.ecole, "eleves_college", json!({})),
            "kind-not-for-school",
            Some("kind"),
        ),
        (
            new_cohort(&college, "eleves_college", json!({"6e": -1})),
            "invalid-body",
            Some("counts.6e"),
        ),
        (
            new_cohort(&college, "eleves_college", json!({"6e": 2, "cm1": 2})),
            "level-not-taught",
            Some("counts.cm1"),
        ),
        (
            new_cohort(&college, "parents", json!({"6e": 2})),
            "level-not-taught",
            Some("counts.6e"),
        ),
        (
            new_cohort(&college, "eleves_college", json!({"7e": 2})),
            "level-unknown",
            Some("counts.7e"),
        ),
        (
            new_cohort(&college, "eleves_college", json!({"6e": 5000})),
            "count-implausible",
            Some("counts.6e"),
        ),
        (
            new_cohort(&college, "ambassadeurs", json!({})),
            "invalid-kind",
            Some("kind"),
        ),
        (
            new_cohort("0310001A", "eleves_college", json!({})),
            "invalid-uai",
            Some("school_uai"),
        ),
        (
            new_cohort(&uai(31, 99), "eleves_college", json!({})),
            "school-unknown",
            Some("school_uai"),
        ),
        (
            json!({"school_uai": college, "school_year": "2030-2031", "kind": "parents",
                   "referent": {"display_name": "Camille", "email": REFERENT}}),
            "school-year-out-of-range",
            Some("school_year"),
        ),
        (
            json!({"school_uai": college, "school_year": "2026", "kind": "parents",
                   "referent": {"display_name": "Camille", "email": REFERENT}}),
            "invalid-school-year",
            Some("school_year"),
        ),
        (
            json!({"school_uai": college, "school_year": YEAR, "kind": "parents",
                   "referent": {"display_name": "Camille", "email": "camille"}}),
            "invalid-email",
            Some("referent.email"),
        ),
        (
            json!({"school_uai": college, "school_year": YEAR, "kind": "parents",
                   "referent": {"display_name": " ", "email": REFERENT}}),
            "invalid-display-name",
            Some("referent.display_name"),
        ),
    ];
    // Sent by the pole, which reaches every school.
    for (body, rule_name, field) in refusals {
        let problem = app
            .refused(
                manager.post("/api/v1/cohorts", body).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                rule_name,
                before,
            )
            .await;
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
    }

    // On a cohort of the collège and one of its parents.
    let id = create(&school, new_cohort(&college, "eleves_college", json!({}))).await;
    let parents = create(
        &school,
        new_cohort(&college, "parents", json!({"parents": 4})),
    )
    .await;
    let path = format!("/api/v1/cohorts/{id}");
    let held = app.held_session("quelqu.un@ac-toulouse.fr").await;
    let planned = app.planned_session().await;
    let cancelled = app.planned_session().await;
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{cancelled}/cancel"),
            json!({"reason": "Neige"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = app.events().await;
    let pupil = |first: &str, initial: &str, level: &str| json!({"first_name": first, "initial": initial, "class_level": level});
    for (method, route, body, status, rule_name, field) in [
        (
            Method::PUT,
            "counts",
            json!({"counts": {"6e": -3}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            Some("counts.6e"),
        ),
        (
            Method::PUT,
            "counts",
            json!({"counts": {"2nde": 3}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "level-not-taught",
            Some("counts.2nde"),
        ),
        (
            Method::POST,
            "declare",
            Value::Null,
            StatusCode::UNPROCESSABLE_ENTITY,
            "counts-empty",
            Some("counts"),
        ),
        (
            Method::POST,
            "activate",
            Value::Null,
            StatusCode::CONFLICT,
            "cohort-not-declared",
            None,
        ),
        (
            Method::PUT,
            "names",
            json!([
                pupil("Lina", "B", "6e"),
                pupil("Noé", "C", "5e"),
                pupil("lina", "b", "6e")
            ]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "pupil-duplicate",
            Some("names"),
        ),
        (
            Method::PUT,
            "names",
            json!([pupil("Lina", "Bertrand", "6e")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-initial",
            Some("names.initial"),
        ),
        (
            Method::PUT,
            "names",
            json!([pupil("Lina", "B", "cm1")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "level-not-taught",
            Some("names.class_level"),
        ),
        (
            Method::POST,
            "trainings",
            json!({"session_id": "0197a1b2-0000-7000-8000-000000000001"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "training-session-unknown",
            Some("session_id"),
        ),
        (
            Method::POST,
            "trainings",
            json!({"session_id": planned}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "training-session-not-held",
            Some("session_id"),
        ),
        (
            Method::POST,
            "trainings",
            json!({"session_id": cancelled}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "training-session-cancelled",
            Some("session_id"),
        ),
        (
            Method::POST,
            "trainings",
            json!({"session_id": held, "title": "Atelier"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "training-source",
            Some("session_id"),
        ),
        (
            Method::POST,
            "trainings",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "training-source",
            Some("session_id"),
        ),
        (
            Method::POST,
            "trainings",
            json!({"held_on": "2026-11-10", "title": "Atelier"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "training-entry-incomplete",
            Some("minutes"),
        ),
        (
            Method::POST,
            "trainings",
            json!({"held_on": "2026-12-10", "minutes": 60, "title": "Atelier"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "training-in-future",
            Some("held_on"),
        ),
    ] {
        let problem = app
            .refused(
                school.call(method, &format!("{path}/{route}"), body).await,
                status,
                rule_name,
                before,
            )
            .await;
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{route}: {problem}");
        }
    }
    app.refused(
        school
            .put(
                &format!("/api/v1/cohorts/{parents}/names"),
                json!([pupil("Lina", "B", "6e")]),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "names-pupils-only",
        before,
    )
    .await;
    let (status, body) = school
        .get("/api/v1/cohorts/0197a1b2-0000-7000-8000-000000000001")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = school
        .post(
            "/api/v1/cohorts/0197a1b2-0000-7000-8000-000000000001/declare",
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // The same session twice.
    ok(
        &school,
        Method::POST,
        &format!("{path}/trainings"),
        json!({"session_id": held}),
    )
    .await;
    let before = app.events().await;
    app.refused(
        school
            .post(&format!("{path}/trainings"), json!({"session_id": held}))
            .await,
        StatusCode::CONFLICT,
        "training-already-recorded",
        before,
    )
    .await;
    // Lists refuse a bad filter.
    for (query, rule_name) in [
        ("kind=eleves", "invalid-kind"),
        ("school_year=2026", "invalid-school-year"),
        ("department=33", "invalid-department"),
        ("school_uai=0310001A", "invalid-uai"),
    ] {
        let (status, body) = school.get(&format!("/api/v1/cohorts?{query}")).await;
        assert_eq!(
            (status, rule(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, rule_name),
            "{body}"
        );
    }
    app.finish().await;
}

async fn a_second_cohort_of_a_kind_answers_409_with_the_existing_id(db: TestDb) {
    let app = Cohorts::start(db).await;
    let college = app.college.clone();
    let school = app.user("school", Some(&college)).await;
    let id = create(
        &school,
        new_cohort(&college, "eleves_college", json!({"6e": 3})),
    )
    .await;
    let before = app.events().await;
    let response = school
        .request(Method::POST, "/api/v1/cohorts")
        .json(&new_cohort(&college, "eleves_college", json!({"5e": 2})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let problem: Value = response.json().await.unwrap();
    assert_eq!(rule(&problem), "cohort-exists", "{problem}");
    assert_eq!(problem["existing_id"], json!(id), "{problem}");
    assert_eq!(location, Some(format!("/api/v1/cohorts/{id}")));
    assert_eq!(app.events().await, before);
    // Another kind, or another year, is another cohort.
    let parents = create(&school, new_cohort(&college, "parents", json!({}))).await;
    let mut next_year = new_cohort(&college, "eleves_college", json!({}));
    next_year["school_year"] = json!("2027-2028");
    let next = create(&school, next_year).await;
    assert!(parents != id && next != id && parents != next);
    let (status, list) = school
        .get(&format!(
            "/api/v1/cohorts?school_uai={college}&school_year={YEAR}&kind=eleves_college"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["id"], json!(id));
    // An école's petits ambassadeurs and a lycée's pupils.
    let manager = app.manager.clone();
    create(
        &manager,
        new_cohort(
            &app.ecole,
            "petits_ambassadeurs",
            json!({"cm1": 3, "cm2": 4}),
        ),
    )
    .await;
    let lycee = create(
        &manager,
        new_cohort(&app.lycee, "eleves_lycee", json!({"2nde": 3, "tle": 4})),
    )
    .await;
    assert_eq!(view(&manager, &lycee).await["below_ten_ambassadors"], true);
    let (_, list) = manager.get("/api/v1/cohorts?limit=2&offset=1").await;
    assert_eq!(list["total"], 5, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    app.finish().await;
}

/// The deployment's compliance, once its flag shows `expected` pupil ambassadors (the
/// phare projection reads the cohorts' events).
async fn ambassadors_shown(client: &Client, deployment: &str, expected: u64) -> Value {
    let mut compliance = Value::Null;
    for _ in 0..100 {
        let (status, body) = client
            .get(&format!("/api/v1/phare/deployments/{deployment}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        compliance = body["compliance"].clone();
        if compliance["pupil_ambassadors"] == expected {
            return compliance;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{expected} ambassadors never shown: {compliance}");
}

async fn the_phare_flag_turns_true_at_ten_declared_ambassadors(db: TestDb) {
    let app = Cohorts::start(db).await;
    let college = app.college.clone();
    let school = app.user("school", Some(&college)).await;
    let (status, body) = school
        .post(
            "/api/v1/phare/deployments",
            json!({"school_year": YEAR, "school_uai": college}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let deployment = body["id"].as_str().unwrap().to_owned();
    let compliance = ambassadors_shown(&school, &deployment, 0).await;
    assert_eq!(compliance["ambassadors_expected"], true, "{compliance}");
    assert_eq!(compliance["ten_ambassadors"], false, "{compliance}");

    // Nine pupils in a draft, parents declared: still none counted.
    let id = create(
        &school,
        new_cohort(&college, "eleves_college", json!({"6e": 5, "5e": 4})),
    )
    .await;
    let parents = create(
        &school,
        new_cohort(&college, "parents", json!({"parents": 8})),
    )
    .await;
    ok(
        &school,
        Method::POST,
        &format!("/api/v1/cohorts/{parents}/declare"),
        Value::Null,
    )
    .await;
    // Declared: nine count, below ten.
    ok(
        &school,
        Method::POST,
        &format!("/api/v1/cohorts/{id}/declare"),
        Value::Null,
    )
    .await;
    let compliance = ambassadors_shown(&school, &deployment, 9).await;
    assert_eq!(compliance["ten_ambassadors"], false, "{compliance}");
    // One more in 4e: ten.
    ok(
        &school,
        Method::PUT,
        &format!("/api/v1/cohorts/{id}/counts"),
        json!({"counts": {"6e": 5, "5e": 4, "4e": 1}}),
    )
    .await;
    let compliance = ambassadors_shown(&school, &deployment, 10).await;
    assert_eq!(compliance["ten_ambassadors"], true, "{compliance}");
    // The other collège's deployment shows none.
    let other = app.other_college.clone();
    let manager = app.manager.clone();
    let (status, body) = manager
        .post(
            "/api/v1/phare/deployments",
            json!({"school_year": YEAR, "school_uai": other}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let compliance = ambassadors_shown(&manager, body["id"].as_str().unwrap(), 0).await;
    assert_eq!(compliance["ten_ambassadors"], false);
    app.finish().await;
}

async fn pupil_names_go_when_replaced_and_at_the_end_of_the_school_year(db: TestDb) {
    let app = Cohorts::start(db).await;
    let college = app.college.clone();
    let school = app.user("school", Some(&college)).await;
    let id = create(
        &school,
        new_cohort(&college, "eleves_college", json!({"6e": 12})),
    )
    .await;
    let names = format!("/api/v1/cohorts/{id}/names");
    ok(
        &school,
        Method::PUT,
        &names,
        json!([
            {"first_name": "Lina", "initial": "B", "class_level": "6e"},
            {"first_name": "Noé", "initial": "C", "class_level": "6e"}
        ]),
    )
    .await;
    // Replaced: the first list's names are erased at once.
    ok(
        &school,
        Method::PUT,
        &names,
        json!([{"first_name": "Inès", "initial": "D", "class_level": "6e"}]),
    )
    .await;
    let cohort = view(&school, &id).await;
    assert_eq!(
        cohort["names"],
        json!([{"first_name": "Inès", "initial": "D", "class_level": "6e"}])
    );
    // The end of the school year: the purge erases the pupil still named, and nobody
    // else (the referent is held two more years).
    let vault = &app.pharos.state.vault;
    let job = pharos_eventstore::Metadata::default();
    let purged = vault
        .purge(&app.store, instant("2027-08-31T23:00:00+02:00"), &job)
        .await
        .unwrap();
    assert!(purged.is_empty(), "{purged:?}");
    let purged = vault
        .purge(&app.store, instant("2027-09-01T03:00:00+02:00"), &job)
        .await
        .unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    assert_eq!(purged[0].purpose, "pupil_name");
    let cohort = view(&school, &id).await;
    assert_eq!(
        cohort["names"][0]["first_name"], "donnée effacée",
        "{cohort}"
    );
    assert_eq!(cohort["referent"]["email"], REFERENT);
    let purged = vault
        .purge(&app.store, instant("2029-09-01T03:00:00+02:00"), &job)
        .await
        .unwrap();
    assert!(
        purged.iter().any(|p| p.purpose == "cohort_referent"),
        "{purged:?}"
    );
    assert_eq!(
        view(&school, &id).await["referent"]["email"],
        "donnée effacée"
    );
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-cohorts";
    a_college_cohort_goes_from_draft_to_closed,
    every_role_in_and_out_of_scope,
    bad_inputs_are_refused_naming_the_rule_and_change_nothing,
    a_second_cohort_of_a_kind_answers_409_with_the_existing_id,
    the_phare_flag_turns_true_at_ten_declared_ambassadors,
    pupil_names_go_when_replaced_and_at_the_end_of_the_school_year,
);
