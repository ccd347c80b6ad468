//! The phare target through its real router (beside the directory's, for logins,
//! accounts and schools), on a real port, with a real HTTP client, on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pharos_access::{Access, ManualClock, Reference, SystemClock, TargetState, TokenKeys};
use pharos_directory::Directory;
use pharos_test_support::TestDb;
use pharos_events::Academy;
use pharos_eventstore::{EventStore, StoreOptions, on_db};
use pharos_privacy::{MasterKey, Vault};
use pharos_web::{AppState, HttpSettings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "admin@ac-toulouse.fr";
const MANAGER: &str = "pole@ac-toulouse.fr";
const PASSWORD: &str = "mot-de-passe-de-test";
/// The instant the phare target sees (the directory keeps the system clock, so that the
/// tokens it issues stay valid whenever the tests run).
const NOW: &str = "2026-11-15T10:00:00Z";
const YEAR: &str = "2026-2027";
const NORD: &str = "Toulouse Nord";

fn instant(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A valid UAI of `department` (its check letter computed).
fn uai(department: u32, n: u32) -> String {
    let digits = format!("{department:03}{n:04}");
    let letter = pharos_events::Uai::check_letter(&digits) as char;
    format!("{digits}{letter}")
}

/// The places of these tests: two collèges of Haute-Garonne, one of Gers, two écoles of
/// the circonscription Toulouse Nord, one of Toulouse Sud.
struct Places {
    college: String,
    other_college: String,
    gers: String,
    ecole_nord: String,
    ecole_nord_2: String,
    ecole_sud: String,
}

impl Places {
    fn new() -> Self {
        Self {
            college: uai(31, 1),
            other_college: uai(31, 2),
            gers: uai(32, 1),
            ecole_nord: uai(31, 10),
            ecole_nord_2: uai(31, 11),
            ecole_sud: uai(31, 12),
        }
    }
}

struct TestApp {
    base: String,
    client: reqwest::Client,
    store: EventStore,
    clock: Arc<ManualClock>,
    reference: Arc<Reference>,
    shutdown: CancellationToken,
    db: TestDb,
    places: Places,
}

impl TestApp {
    async fn spawn(db: TestDb) -> Self {
        let store = EventStore::connect(&db.url, StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let key = MasterKey::generate();
        let shutdown = CancellationToken::new();
        let app = AppState {
            store: store.clone(),
            settings: Arc::new(HttpSettings::default()),
            targets: Arc::from(vec!["directory".to_owned(), "phare".to_owned()]),
        };
        let reference = Reference::start(store.clone(), shutdown.clone())
            .await
            .unwrap();
        let directory_state = TargetState {
            app: app.clone(),
            access: Access {
                tokens: TokenKeys::new(&key, chrono::Duration::hours(8)),
                academy: Arc::new(Academy::toulouse()),
                reference: reference.clone(),
            },
            vault: Arc::new(Vault::open(&store, key).await.unwrap()),
            clock: Arc::new(SystemClock),
        };
        let clock = Arc::new(ManualClock::new(instant(NOW)));
        let phare_state = TargetState {
            clock: clock.clone(),
            ..directory_state.clone()
        };
        let directory = Directory::new(directory_state);
        pharos_directory::bootstrap_admin(&directory, Some(ADMIN.into()), Some(PASSWORD.into()))
            .await
            .unwrap();
        let router = pharos_web::app(
            app,
            vec![
                pharos_directory::router(directory),
                pharos_phare::router(phare_state),
            ],
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .unwrap();
        });
        let app = Self {
            base,
            client: reqwest::Client::new(),
            store,
            clock,
            reference,
            shutdown,
            db,
            places: Places::new(),
        };
        let manager = app.user(MANAGER, "pole_manager", None).await;
        let p = &app.places;
        for (uai, department, kind, circonscription) in [
            (&p.college, "31", "college", None),
            (&p.other_college, "31", "college", None),
            (&p.gers, "32", "college", None),
            (&p.ecole_nord, "31", "ecole", Some(NORD)),
            (&p.ecole_nord_2, "31", "ecole", Some(NORD)),
            (&p.ecole_sud, "31", "ecole", Some("Toulouse Sud")),
        ] {
            let (status, body) = app
                .post(
                    "/api/v1/schools",
                    Some(&manager),
                    json!({
                        "uai": uai, "name": format!("Établissement {uai}"), "kind": kind,
                        "sector": "public", "department": department, "commune": "Toulouse",
                        "circonscription": circonscription, "priority_education": "none"
                    }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        app
    }

    async fn finish(self) {
        self.shutdown.cancel();
        self.store.close().await;
        self.db.finish().await;
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    async fn token(&self, email: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// An account created by the administrator, logged in.
    async fn user(&self, email: &str, role: &str, scope: Option<&str>) -> String {
        let admin = self.token(ADMIN).await;
        let (status, body) = self
            .post(
                "/api/v1/users",
                Some(&admin),
                json!({ "email": email, "display_name": email, "role": role,
                        "scope": scope, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        self.token(email).await
    }

    async fn manager(&self) -> String {
        self.token(MANAGER).await
    }

    async fn events(&self) -> i64 {
        on_db!(self.store.db(), |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM events"
        )
        .fetch_one(&pool)
        .await)
        .unwrap()
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

    /// Creates a school's deployment and answers its id.
    async fn deployment(&self, token: &str, school: &str, year: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/phare/deployments",
                Some(token),
                json!({ "school_year": year, "school_uai": school }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn deployment_view(&self, token: &str, id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/api/v1/phare/deployments/{id}"), Some(token))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn label_view(&self, token: &str, id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/api/v1/phare/labels/{id}"), Some(token))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A label application with every criterion the school answers answered `met`.
    async fn answered_label(&self, token: &str, school: &str, year: &str, level: u8) -> String {
        let (status, body) = self
            .post(
                "/api/v1/phare/labels",
                Some(token),
                json!({ "school_uai": school, "school_year": year, "target_level": level }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let view = self.label_view(token, &id).await;
        assert_eq!(view["status"], "draft");
        for criterion in view["criteria"].as_array().unwrap() {
            if criterion["answered_by"] == "school" {
                let (status, body) = self
                    .post(
                        &format!("/api/v1/phare/labels/{id}/criteria"),
                        Some(token),
                        json!({ "criterion": criterion["key"], "met": true,
                                "evidence": "Voir le bilan annuel" }),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        }
        id
    }

    /// Asserts a refusal: its status, its rule (the problem's type), a French fragment of
    /// its detail, and that nothing was appended.
    async fn refused(
        &self,
        (status, body): (StatusCode, Value),
        expected: StatusCode,
        rule: &str,
        fragment: &str,
        events_before: i64,
    ) {
        assert_eq!(status, expected, "{body}");
        assert_eq!(problem_type(&body), rule, "{body}");
        assert!(
            body["detail"].as_str().unwrap_or("").contains(fragment),
            "« {fragment} » not in {body}"
        );
        assert_eq!(
            self.events().await,
            events_before,
            "nothing appended: {body}"
        );
    }
}

fn problem_type(body: &Value) -> &str {
    body["type"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
}

fn member(n: usize, function: &str, trained: bool, school: Option<&str>) -> Value {
    json!({
        "person": { "display_name": format!("Membre Numéro{n}"),
                    "email": format!("membre{n}@ac-toulouse.fr") },
        "function": function, "trained": trained, "training_minutes": 720,
        "mpp_trained": n.is_multiple_of(2), "school_uai": school
    })
}

// ---------------------------------------------------------------------------------

async fn a_school_deploys_phare_to_full_compliance_and_the_pole_awards_its_labels(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let college = app.places.college.clone();
    let school = app
        .user("college@ac-toulouse.fr", "school", Some(&college))
        .await;
    let manager = app.manager().await;

    let id = app.deployment(&school, &college, YEAR).await;
    let path = format!("/api/v1/phare/deployments/{id}");
    let view = app.deployment_view(&school, &id).await;
    assert_eq!(view["status"], "not_started");
    assert_eq!(view["school_uai"], college.as_str());
    assert_eq!(view["department"], "31");
    assert_eq!(view["compliance"]["compliant"], false);

    let (status, body) = app
        .post(
            &format!("{path}/charter"),
            Some(&school),
            json!({"signed_on": "2026-09-20"}),
        )
        .await;
    assert_eq!(
        (status, body["version"].as_i64()),
        (StatusCode::OK, Some(2))
    );
    let functions = ["enseignant", "cpe", "infirmier", "psyen", "direction"];
    let mut member_ids = Vec::new();
    for (n, function) in functions.iter().enumerate() {
        let school_uai = (n == 0).then_some(college.as_str());
        let (status, body) = app
            .post(
                &format!("{path}/team-members"),
                Some(&school),
                member(n, function, true, school_uai),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        member_ids.push(body["id"].as_str().unwrap().to_owned());
    }
    for (route, body) in [
        (
            "coordinator",
            json!({"person": {"display_name": "Claire Coordinatrice", "email": "claire.coord@ac-toulouse.fr"}}),
        ),
        (
            "protocol",
            json!({"formalised_on": "2026-09-25", "presented_on": "2026-10-05",
                   "presented_to": "conseil_administration"}),
        ),
        ("learning-hours", json!({"planned": true, "hours": 10})),
    ] {
        let (status, answer) = app
            .post(&format!("{path}/{route}"), Some(&school), body)
            .await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }
    let (status, body) = app
        .post(
            &format!("{path}/parent-workshops"),
            Some(&school),
            json!({"held_on": "2026-11-10", "participants": 23}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let view = app.deployment_view(&manager, &id).await;
    assert_eq!(view["status"], "active");
    assert_eq!(view["charter"]["ends_on"], "2028-08-31");
    assert_eq!(view["charter"]["renewal_due_from"], "2028-07-02");
    let compliance = &view["compliance"];
    for flag in [
        "trained_team",
        "coordinator_named",
        "protocol_presented",
        "learning_hours_planned",
        "parent_workshop_held",
        "charter_in_force",
        "compliant",
    ] {
        assert_eq!(compliance[flag], true, "{flag}: {view}");
    }
    assert_eq!(compliance["trained_members"], 5);
    assert_eq!(view["team"].as_array().unwrap().len(), 5);
    assert_eq!(view["team"][1]["person"]["display_name"], "Membre Numéro1");
    assert_eq!(view["team"][1]["function"], "cpe");
    assert_eq!(view["coordinator"]["email"], "claire.coord@ac-toulouse.fr");
    assert_eq!(view["version"], 11);

    // Names are sealed in the log, and each reading of them is logged.
    let stored = app.stored_text().await;
    assert!(!stored.contains("Numéro1") && !stored.contains("membre1@"));
    assert!(!stored.contains("Claire"));
    let (status, log) = app
        .get(
            "/api/v1/read-log?person=membre1@ac-toulouse.fr",
            Some(&manager),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let reads = log["reads"].as_array().unwrap();
    assert_eq!(reads.len(), 1, "{log}");
    assert_eq!(reads[0]["route"], "/api/v1/phare/deployments/{id}");
    assert_eq!(reads[0]["actor_role"], "pole_manager");

    // A member leaves: the flag follows, the save is never refused.
    let response = app
        .client
        .delete(format!("{}{path}/team-members/{}", app.base, member_ids[4]))
        .bearer_auth(&school)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let view = app.deployment_view(&school, &id).await;
    assert_eq!(view["compliance"]["trained_team"], false);
    assert_eq!(view["compliance"]["compliant"], false);

    // The charter's term, from the clock.
    app.clock.set(instant("2028-07-10T08:00:00Z"));
    assert_eq!(
        app.deployment_view(&school, &id).await["status"],
        "renewal_due"
    );
    app.clock.set(instant("2028-09-02T08:00:00Z"));
    let view = app.deployment_view(&school, &id).await;
    assert_eq!(view["status"], "expired");
    assert_eq!(view["compliance"]["charter_in_force"], false);
    app.clock.set(instant(NOW));

    // Label, level 1: the school applies, the pole awards.
    let label = app.answered_label(&school, &college, YEAR, 1).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/phare/labels/{label}/submit"),
            Some(&school),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.label_view(&school, &label).await["status"], "submitted");
    let (status, body) = app
        .post(
            &format!("/api/v1/phare/labels/{label}/decision"),
            Some(&manager),
            json!({"outcome": "awarded", "reason": "Équipe formée, protocole présenté, ateliers tenus."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = app.label_view(&school, &label).await;
    assert_eq!(view["status"], "awarded");
    assert_eq!(view["awarded_level"]["number"], 1);
    assert_eq!(view["awarded_level"]["name"], "engagement");
    assert_eq!(view["levels_met"][0]["name"], "engagement");

    // Level 2 the next year: the contest is the pole's to tick, then an explicit review.
    let next = app.answered_label(&school, &college, "2027-2028", 2).await;
    let submit = app
        .post(
            &format!("/api/v1/phare/labels/{next}/submit"),
            Some(&school),
            json!({}),
        )
        .await;
    assert_eq!(submit.0, StatusCode::OK, "{}", submit.1);
    let contest = json!({"criterion": "participation_concours", "met": true,
                         "evidence": "Affiche « Non au harcèlement » déposée"});
    let before = app.events().await;
    let refused = app
        .post(
            &format!("/api/v1/phare/labels/{next}/criteria"),
            Some(&school),
            contest.clone(),
        )
        .await;
    app.refused(
        refused,
        StatusCode::FORBIDDEN,
        "forbidden",
        "décider des labels",
        before,
    )
    .await;
    for (route, body) in [("criteria", contest), ("review", json!({}))] {
        let (status, answer) = app
            .post(
                &format!("/api/v1/phare/labels/{next}/{route}"),
                Some(&manager),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }
    assert_eq!(
        app.label_view(&school, &next).await["status"],
        "under_review"
    );
    let (status, body) = app
        .post(
            &format!("/api/v1/phare/labels/{next}/decision"),
            Some(&manager),
            json!({"outcome": "awarded", "level": "approfondissement", "reason": "Participation au concours."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = app.label_view(&school, &next).await;
    assert_eq!(
        (
            view["status"].as_str(),
            view["awarded_level"]["number"].as_i64()
        ),
        (Some("awarded"), Some(2))
    );
    app.finish().await;
}

async fn a_circonscription_deploys_with_the_staff_of_its_own_schools(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let p = &app.places;
    let referent = app
        .user(
            "referent31@ac-toulouse.fr",
            "department_referent",
            Some("31"),
        )
        .await;
    let (status, body) = app
        .post(
            "/api/v1/phare/deployments",
            Some(&referent),
            json!({"school_year": YEAR, "circonscription": " toulouse   NORD ", "department": "31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let view = app.deployment_view(&referent, &id).await;
    assert_eq!(view["circonscription"], NORD);
    assert!(view["school_uai"].is_null());

    let path = format!("/api/v1/phare/deployments/{id}/team-members");
    for (n, school) in [
        (1, Some(p.ecole_nord.as_str())),
        (2, Some(&p.ecole_nord_2)),
        (3, None),
    ] {
        let (status, body) = app
            .post(
                &path,
                Some(&referent),
                member(n, "enseignant", true, school),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let version = app.deployment_view(&referent, &id).await["version"].clone();
    for school in [&p.ecole_sud, &p.college] {
        let before = app.events().await;
        let refused = app
            .post(&path, Some(&referent), member(9, "cpe", true, Some(school)))
            .await;
        app.refused(
            refused,
            StatusCode::UNPROCESSABLE_ENTITY,
            "team-member-other-school",
            "une école de la circonscription Toulouse Nord (31)",
            before,
        )
        .await;
    }
    assert_eq!(
        app.deployment_view(&referent, &id).await["version"],
        version
    );

    let before = app.events().await;
    let again = app
        .post(
            "/api/v1/phare/deployments",
            Some(&referent),
            json!({"school_year": YEAR, "circonscription": "Toulouse Nord", "department": "31"}),
        )
        .await;
    app.refused(
        again,
        StatusCode::CONFLICT,
        "deployment-exists",
        "un seul par établissement (ou circonscription) et par année scolaire",
        before,
    )
    .await;
    let manager = app.manager().await;
    for (name, department) in [("Toulouse Ouest", "31"), (NORD, "32")] {
        let unknown = app
            .post(
                "/api/v1/phare/deployments",
                Some(&manager),
                json!({"school_year": YEAR, "circonscription": name, "department": department}),
            )
            .await;
        app.refused(
            unknown,
            StatusCode::UNPROCESSABLE_ENTITY,
            "circonscription-unknown",
            "n'est rattachée à la circonscription",
            before,
        )
        .await;
    }

    // A circonscription is its department's: an école's account does not reach it.
    let ecole = app
        .user("ecole@ac-toulouse.fr", "school", Some(&p.ecole_nord))
        .await;
    let referent32 = app
        .user(
            "referent32@ac-toulouse.fr",
            "department_referent",
            Some("32"),
        )
        .await;
    for token in [&ecole, &referent32] {
        let before = app.events().await;
        let (status, body) = app
            .get(&format!("/api/v1/phare/deployments/{id}"), Some(token))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let refused = app
            .post(&path, Some(token), member(8, "aed", false, None))
            .await;
        app.refused(
            refused,
            StatusCode::FORBIDDEN,
            "forbidden",
            "périmètre",
            before,
        )
        .await;
        let create = app
            .post(
                "/api/v1/phare/deployments",
                Some(token),
                json!({"school_year": "2027-2028", "circonscription": NORD, "department": "31"}),
            )
            .await;
        app.refused(
            create,
            StatusCode::FORBIDDEN,
            "forbidden",
            "périmètre",
            before,
        )
        .await;
    }
    app.finish().await;
}

async fn every_role_in_and_out_of_scope(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let p = &app.places;
    let college = p.college.clone();
    let manager = app.manager().await;
    let admin = app.token(ADMIN).await;
    let referent31 = app
        .user("ref31@ac-toulouse.fr", "department_referent", Some("31"))
        .await;
    let referent32 = app
        .user("ref32@ac-toulouse.fr", "department_referent", Some("32"))
        .await;
    let own = app
        .user("college@ac-toulouse.fr", "school", Some(&college))
        .await;
    let other = app
        .user("autre@ac-toulouse.fr", "school", Some(&p.other_college))
        .await;
    let juror = app.user("jure@ac-toulouse.fr", "juror", None).await;
    let trainer = app.user("formateur@ac-toulouse.fr", "trainer", None).await;

    let allowed: [(&str, &str, &str); 3] = [
        ("pole_manager", &manager, "2024-2025"),
        ("department_referent 31", &referent31, "2025-2026"),
        ("school (own)", &own, "2026-2027"),
    ];
    let denied: [(&str, Option<&str>, StatusCode); 7] = [
        ("admin", Some(&admin), StatusCode::FORBIDDEN),
        (
            "department_referent 32",
            Some(&referent32),
            StatusCode::FORBIDDEN,
        ),
        ("school (other)", Some(&other), StatusCode::FORBIDDEN),
        ("juror", Some(&juror), StatusCode::FORBIDDEN),
        ("trainer", Some(&trainer), StatusCode::FORBIDDEN),
        ("anonymous", None, StatusCode::UNAUTHORIZED),
        (
            "forged token",
            Some("abc.def.ghi"),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    let create = |year: &str| json!({"school_year": year, "school_uai": college});

    // Creating a deployment.
    let mut ids = Vec::new();
    for (who, token, year) in allowed {
        let (status, body) = app
            .post("/api/v1/phare/deployments", Some(token), create(year))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{who}: {body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    for (who, token, expected) in denied {
        let before = app.events().await;
        let (status, body) = app
            .post("/api/v1/phare/deployments", token, create("2023-2024"))
            .await;
        assert_eq!(status, expected, "{who}: {body}");
        assert_eq!(app.events().await, before, "{who}");
    }

    // Reading and changing one.
    let id = &ids[2];
    let path = format!("/api/v1/phare/deployments/{id}");
    for (who, token, _) in allowed {
        let (status, body) = app.get(&path, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let (status, body) = app
            .post(
                &format!("{path}/learning-hours"),
                Some(token),
                json!({"planned": true, "hours": 10 + body["version"].as_u64().unwrap()}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
    }
    for (who, token, expected) in denied {
        let before = app.events().await;
        let (status, body) = app.get(&path, token).await;
        assert_eq!(status, expected, "{who}: {body}");
        for (route, body) in [
            ("learning-hours", json!({"planned": true, "hours": 12})),
            ("team-members", member(1, "cpe", true, None)),
            ("charter", json!({"signed_on": "2026-09-20"})),
        ] {
            let (status, answer) = app.post(&format!("{path}/{route}"), token, body).await;
            assert_eq!(status, expected, "{who} {route}: {answer}");
            if status == StatusCode::FORBIDDEN {
                assert_eq!(problem_type(&answer), "forbidden");
            }
        }
        assert_eq!(app.events().await, before, "{who}");
    }

    // Labels: applied for by the school's side, decided by the pole only.
    let label = app.answered_label(&own, &college, YEAR, 1).await;
    let (status, _) = app
        .post(
            &format!("/api/v1/phare/labels/{label}/submit"),
            Some(&own),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let decision = json!({"outcome": "awarded", "reason": "Dossier complet."});
    let not_pole: [(&str, Option<&str>, StatusCode); 5] = [
        ("school (own)", Some(&own), StatusCode::FORBIDDEN),
        (
            "department_referent 31",
            Some(&referent31),
            StatusCode::FORBIDDEN,
        ),
        ("admin", Some(&admin), StatusCode::FORBIDDEN),
        ("juror", Some(&juror), StatusCode::FORBIDDEN),
        ("anonymous", None, StatusCode::UNAUTHORIZED),
    ];
    for (who, token, expected) in not_pole {
        let before = app.events().await;
        for route in ["decision", "review"] {
            let (status, body) = app
                .post(
                    &format!("/api/v1/phare/labels/{label}/{route}"),
                    token,
                    decision.clone(),
                )
                .await;
            assert_eq!(status, expected, "{who} {route}: {body}");
        }
        assert_eq!(app.events().await, before, "{who}");
    }
    for (who, token, expected) in denied {
        let before = app.events().await;
        let (status, body) = app
            .get(&format!("/api/v1/phare/labels/{label}"), token)
            .await;
        assert_eq!(status, expected, "{who}: {body}");
        let (status, body) = app
            .post(
                "/api/v1/phare/labels",
                token,
                json!({"school_uai": college, "school_year": "2025-2026", "target_level": 1}),
            )
            .await;
        assert_eq!(status, expected, "{who}: {body}");
        assert_eq!(app.events().await, before, "{who}");
    }
    for (who, token, _) in allowed {
        let (status, body) = app
            .get(&format!("/api/v1/phare/labels/{label}"), Some(token))
            .await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
    }
    let (status, body) = app
        .post(
            &format!("/api/v1/phare/labels/{label}/decision"),
            Some(&manager),
            decision,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.finish().await;
}

async fn bad_deployment_inputs_are_refused_naming_the_rule_and_change_nothing(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let p = &app.places;
    let college = p.college.clone();
    let school = app
        .user("college@ac-toulouse.fr", "school", Some(&college))
        .await;
    let id = app.deployment(&school, &college, YEAR).await;
    let path = format!("/api/v1/phare/deployments/{id}");
    let (status, _) = app
        .post(
            &format!("{path}/team-members"),
            Some(&school),
            member(1, "cpe", true, None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let version = app.deployment_view(&school, &id).await["version"].clone();
    let before = app.events().await;

    let creations = [
        (
            json!({"school_year": YEAR, "school_uai": college}),
            StatusCode::CONFLICT,
            "deployment-exists",
            "existe déjà",
        ),
        (
            json!({"school_year": "2026-2028", "school_uai": college}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-school-year",
            "n'est pas une année scolaire",
        ),
        (
            json!({"school_year": "2030-2031", "school_uai": college}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "school-year-out-of-range",
            "hors période",
        ),
        (
            json!({"school_year": YEAR, "school_uai": uai(31, 99)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "school-unknown",
            "n'est pas enregistré",
        ),
        (
            json!({"school_year": YEAR, "school_uai": "0310001A"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-uai",
            "lettre de contrôle",
        ),
        (
            json!({"school_year": YEAR, "school_uai": college, "circonscription": NORD, "department": "31"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "deployment-owner",
            "l'un des deux, pas les deux",
        ),
        (
            json!({"school_year": YEAR, "circonscription": NORD}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "department-missing",
            "indique son département",
        ),
    ];
    for (body, status, rule, fragment) in creations {
        let answer = app
            .post("/api/v1/phare/deployments", Some(&school), body)
            .await;
        app.refused(answer, status, rule, fragment, before).await;
    }

    let commands = [
        (
            "team-members",
            member(1, "enseignant", true, None),
            StatusCode::CONFLICT,
            "team-member-duplicate",
            "fait déjà partie",
        ),
        (
            "team-members",
            member(2, "enseignant", true, Some(&p.other_college)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "team-member-other-school",
            "n'est pas l'établissement",
        ),
        (
            "team-members",
            member(2, "enseignant", true, Some(&uai(31, 98))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "school-unknown",
            "n'est pas enregistré",
        ),
        (
            "team-members",
            member(2, "professeur", true, None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-function",
            "assistant_social",
        ),
        (
            "charter",
            json!({"signed_on": "2026-12-01"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "charter-in-future",
            "déjà signée",
        ),
        (
            "charter",
            json!({"signed_on": "2024-10-01"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "charter-outside-term",
            "deux années scolaires",
        ),
        (
            "protocol",
            json!({"formalised_on": "2026-10-10", "presented_on": "2026-10-01", "presented_to": "conseil_administration"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "protocol-presented-before-formalised",
            "avant d'avoir été formalisé",
        ),
        (
            "protocol",
            json!({"formalised_on": "2026-10-10", "presented_to": "assemblée"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-protocol-body",
            "conseil_ecole",
        ),
        (
            "learning-hours",
            json!({"planned": true, "hours": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "learning-hours-inconsistent",
            "indiquez leur nombre",
        ),
        (
            "learning-hours",
            json!({"planned": true, "hours": 5000}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "learning-hours-too-many",
            "erreur de saisie",
        ),
        (
            "parent-workshops",
            json!({"held_on": "2027-09-15"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "workshop-outside-year",
            "n'appartient pas à l'année scolaire 2026-2027",
        ),
    ];
    for (route, body, status, rule, fragment) in commands {
        let answer = app
            .post(&format!("{path}/{route}"), Some(&school), body)
            .await;
        app.refused(answer, status, rule, fragment, before).await;
    }
    let response = app
        .client
        .delete(format!(
            "{}{path}/team-members/{}",
            app.base,
            uuid::Uuid::nil()
        ))
        .bearer_auth(&school)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    app.refused(
        (status, body),
        StatusCode::NOT_FOUND,
        "team-member-unknown",
        "ne fait pas",
        before,
    )
    .await;

    // A stale If-Match is a conflict; an Idempotency-Key replays the first answer.
    let stale = app
        .client
        .post(format!("{}{path}/learning-hours", app.base))
        .bearer_auth(&school)
        .header("if-match", "1")
        .json(&json!({"planned": true, "hours": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(app.events().await, before);
    assert_eq!(app.deployment_view(&school, &id).await["version"], version);
    let key = uuid::Uuid::now_v7().to_string();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .post(format!("{}{path}/parent-workshops", app.base))
            .bearer_auth(&school)
            .header("idempotency-key", &key)
            .json(&json!({"held_on": "2026-10-14", "participants": 12}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        answers.push(response.json::<Value>().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(app.events().await, before + 1);

    // A closed school deploys no more; a deployment that does not exist is not found.
    let manager = app.manager().await;
    let (status, body) = app
        .post(
            &format!("/api/v1/schools/{}/close", p.other_college),
            Some(&manager),
            json!({"closed_on": "2026-11-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The reference projection follows the log a moment later (by design).
    let closing = pharos_events::Uai::parse(&p.other_college).unwrap();
    for _ in 0..200 {
        if app
            .reference
            .school(&closing)
            .await
            .unwrap()
            .unwrap()
            .closed
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = app.events().await;
    let closed = app
        .post(
            "/api/v1/phare/deployments",
            Some(&manager),
            json!({"school_year": YEAR, "school_uai": p.other_college}),
        )
        .await;
    app.refused(
        closed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "school-closed",
        "est fermé",
        before,
    )
    .await;
    for missing in [
        uuid::Uuid::now_v7().to_string(),
        "pas-un-identifiant".into(),
    ] {
        let (status, _) = app
            .get(
                &format!("/api/v1/phare/deployments/{missing}"),
                Some(&manager),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    app.finish().await;
}

async fn bad_label_inputs_are_refused_naming_the_rule_and_change_nothing(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let college = app.places.college.clone();
    let school = app
        .user("college@ac-toulouse.fr", "school", Some(&college))
        .await;
    let manager = app.manager().await;
    let label_path = |id: &str, route: &str| format!("/api/v1/phare/labels/{id}/{route}");

    // Applying: twice, for a level without the one below, for a bad year or level.
    let label = app.answered_label(&school, &college, YEAR, 1).await;
    let before = app.events().await;
    let applications = [
        (
            json!({"school_uai": college, "school_year": YEAR, "target_level": 1}),
            StatusCode::CONFLICT,
            "label-exists",
            "une par année scolaire",
        ),
        (
            json!({"school_uai": college, "school_year": "2025-2026", "target_level": 2}),
            StatusCode::CONFLICT,
            "previous-level-missing",
            "suppose le niveau 1 (engagement) obtenu une année précédente",
        ),
        (
            json!({"school_uai": college, "school_year": "2025/2026", "target_level": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-school-year",
            "n'est pas une année scolaire",
        ),
        (
            json!({"school_uai": college, "school_year": YEAR, "target_level": 4}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-level",
            "n'est pas un niveau de label",
        ),
        (
            json!({"school_uai": uai(31, 97), "school_year": YEAR, "target_level": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "school-unknown",
            "n'est pas enregistré",
        ),
    ];
    for (body, status, rule, fragment) in applications {
        let answer = app.post("/api/v1/phare/labels", Some(&school), body).await;
        app.refused(answer, status, rule, fragment, before).await;
    }

    // A draft with one criterion left unanswered, then unmet.
    let (status, body) = app
        .post(
            &label_path(&label, "criteria"),
            Some(&manager),
            json!({"criterion": "atelier_parents", "met": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let version = app.label_view(&school, &label).await["version"].clone();
    let before = app.events().await;
    let refusals = [
        (
            &school,
            "criteria",
            json!({"criterion": "inconnu", "met": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "criterion-unknown",
            "n'est pas un critère du label",
        ),
        (
            &manager,
            "decision",
            json!({"outcome": "awarded", "reason": "Trop tôt"}),
            StatusCode::CONFLICT,
            "label-not-submitted",
            "encore un brouillon",
        ),
        (
            &manager,
            "review",
            json!({}),
            StatusCode::CONFLICT,
            "label-not-submitted",
            "encore un brouillon",
        ),
        (
            &school,
            "decision",
            json!({"outcome": "awarded", "reason": "Je m'attribue le label"}),
            StatusCode::FORBIDDEN,
            "forbidden",
            "décider des labels",
        ),
    ];
    for (token, route, body, status, rule, fragment) in refusals {
        let answer = app
            .post(&label_path(&label, route), Some(token), body)
            .await;
        app.refused(answer, status, rule, fragment, before).await;
    }
    assert_eq!(app.label_view(&school, &label).await["version"], version);

    // Submitting with a criterion unanswered: a fresh application of the next year.
    let (status, body) = app
        .post(
            "/api/v1/phare/labels",
            Some(&school),
            json!({"school_uai": college, "school_year": "2027-2028", "target_level": "engagement"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let fresh = body["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post(
            &label_path(&fresh, "criteria"),
            Some(&school),
            json!({"criterion": "charte_signee", "met": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh_version = app.label_view(&school, &fresh).await["version"].clone();
    let before = app.events().await;
    let unanswered = app
        .post(&label_path(&fresh, "submit"), Some(&school), json!({}))
        .await;
    app.refused(
        unanswered,
        StatusCode::CONFLICT,
        "criteria-unanswered",
        "« Au moins un atelier parents organisé »",
        before,
    )
    .await;
    assert_eq!(
        app.label_view(&school, &fresh).await["version"],
        fresh_version
    );

    // Submitted with an unmet criterion: the pole cannot award that level.
    let (status, _) = app
        .post(&label_path(&label, "submit"), Some(&school), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let version = app.label_view(&school, &label).await["version"].clone();
    let before = app.events().await;
    let decisions = [
        (
            json!({"outcome": "awarded", "reason": "Bravo"}),
            StatusCode::CONFLICT,
            "criteria-unmet",
            "critères non remplis : « Au moins un atelier parents organisé »",
        ),
        (
            json!({"outcome": "awarded", "level": 2, "reason": "Bravo"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "award-above-target",
            "ne peut pas être attribué",
        ),
        (
            json!({"outcome": "not_awarded", "reason": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "decision-reason-missing",
            "Motivez la décision",
        ),
        (
            json!({"outcome": "not_awarded", "level": 1, "reason": "Non"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "level-without-award",
            "label attribué",
        ),
        (
            json!({"outcome": "peut-être", "reason": "Non"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-outcome",
            "not_awarded",
        ),
    ];
    for (body, status, rule, fragment) in decisions {
        let answer = app
            .post(&label_path(&label, "decision"), Some(&manager), body)
            .await;
        app.refused(answer, status, rule, fragment, before).await;
    }
    let change = app
        .post(
            &label_path(&label, "criteria"),
            Some(&school),
            json!({"criterion": "atelier_parents", "met": true}),
        )
        .await;
    app.refused(
        change,
        StatusCode::CONFLICT,
        "label-not-draft",
        "ne se modifient plus",
        before,
    )
    .await;
    assert_eq!(app.label_view(&school, &label).await["version"], version);

    // Refused, the decision stands.
    let (status, body) = app
        .post(
            &label_path(&label, "decision"),
            Some(&manager),
            json!({"outcome": "not_awarded", "reason": "Aucun atelier parents cette année."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = app.label_view(&school, &label).await;
    assert_eq!(view["status"], "not_awarded");
    assert_eq!(
        view["decision_reason"],
        "Aucun atelier parents cette année."
    );
    let before = app.events().await;
    let again = app
        .post(
            &label_path(&label, "decision"),
            Some(&manager),
            json!({"outcome": "awarded", "level": 1, "reason": "Revu"}),
        )
        .await;
    app.refused(
        again,
        StatusCode::CONFLICT,
        "label-decided",
        "déjà rendu sa décision",
        before,
    )
    .await;
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-phare";
    a_school_deploys_phare_to_full_compliance_and_the_pole_awards_its_labels,
    a_circonscription_deploys_with_the_staff_of_its_own_schools,
    every_role_in_and_out_of_scope,
    bad_deployment_inputs_are_refused_naming_the_rule_and_change_nothing,
    bad_label_inputs_are_refused_naming_the_rule_and_change_nothing,
);
