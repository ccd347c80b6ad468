//! The phare target through the assembled application (beside the directory, for
//! logins, accounts and schools), on a real port, with a real HTTP client, on SQLite and
//! on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use pharos_eventstore::on_db;
use pharos_test_support::{Client, TestApp, TestDb, instant, rule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The instant the application's clock shows.
const NOW: &str = "2026-11-15T10:00:00Z";
const YEAR: &str = "2026-2027";
const NORD: &str = "Toulouse Nord";

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

/// The application serving `phare`, its clock at [`NOW`], with the places registered by
/// a pole manager.
struct Phare {
    app: TestApp,
    places: Places,
    manager: Client,
}

impl Deref for Phare {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Phare {
    async fn start(db: TestDb) -> Self {
        Self::serving(db, &["phare"]).await
    }

    /// The application serving `targets` (which include `phare`).
    async fn serving(db: TestDb, targets: &'static [&'static str]) -> Self {
        Self::configured(db, targets, |_| {}).await
    }

    /// The same, with settings changed first.
    async fn configured(
        db: TestDb,
        targets: &'static [&'static str],
        change: impl FnOnce(&mut pharos_test_support::RawConfig),
    ) -> Self {
        let app = TestApp::builder(db)
            .targets(targets)
            .at(instant(NOW))
            .configure(change)
            .start()
            .await;
        let manager = app.user("pole_manager", None).await;
        let phare = Self {
            app,
            places: Places::new(),
            manager,
        };
        let p = &phare.places;
        for (uai, department, kind, circonscription) in [
            (&p.college, "31", "college", None),
            (&p.other_college, "31", "college", None),
            (&p.gers, "32", "college", None),
            (&p.ecole_nord, "31", "ecole", Some(NORD)),
            (&p.ecole_nord_2, "31", "ecole", Some(NORD)),
            (&p.ecole_sud, "31", "ecole", Some("Toulouse Sud")),
        ] {
            let (status, body) = phare
                .manager
                .post(
                    "/api/v1/schools",
                    json!({
                        "uai": uai, "name": format!("Établissement {uai}"), "kind": kind,
                        "sector": "public", "department": department, "commune": "Toulouse",
                        "circonscription": circonscription, "priority_education": "none"
                    }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        phare
    }

    async fn finish(self) {
        self.app.finish().await;
    }

    /// The pole manager who registered the places.
    fn manager(&self) -> Client {
        self.manager.clone()
    }

    /// A client whose token is not one the application issued.
    fn forged(&self) -> Client {
        let mut forged = self.anonymous();
        forged.token = Some("abc.def.ghi".into());
        forged
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

    /// Asserts a refusal: its status, its rule (the problem's type), a French fragment of
    /// its detail, and that nothing was appended.
    async fn refused(
        &self,
        (status, body): (StatusCode, Value),
        expected: StatusCode,
        rule_name: &str,
        fragment: &str,
        events_before: i64,
    ) {
        assert_eq!(status, expected, "{body}");
        assert_eq!(rule(&body), rule_name, "{body}");
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

/// Creates a school's deployment and answers its id.
async fn deployment(client: &Client, school: &str, year: &str) -> String {
    let (status, body) = client
        .post(
            "/api/v1/phare/deployments",
            json!({ "school_year": year, "school_uai": school }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn deployment_view(client: &Client, id: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/phare/deployments/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn label_view(client: &Client, id: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/phare/labels/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A label application with every criterion the school answers answered `met`.
async fn answered_label(client: &Client, school: &str, year: &str, level: u8) -> String {
    let (status, body) = client
        .post(
            "/api/v1/phare/labels",
            json!({ "school_uai": school, "school_year": year, "target_level": level }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let view = label_view(client, &id).await;
    assert_eq!(view["status"], "draft");
    for criterion in view["criteria"].as_array().unwrap() {
        if criterion["answered_by"] == "school" {
            let (status, body) = client
                .post(
                    &format!("/api/v1/phare/labels/{id}/criteria"),
                    json!({ "criterion": criterion["key"], "met": true,
                            "evidence": "Voir le bilan annuel" }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    id
}

/// A resource-team member as a request gives them.
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
    let app = Phare::start(db).await;
    let college = app.places.college.clone();
    let school = app.user("school", Some(&college)).await;
    let manager = app.manager();

    let id = deployment(&school, &college, YEAR).await;
    let path = format!("/api/v1/phare/deployments/{id}");
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["status"], "not_started");
    assert_eq!(view["school_uai"], college.as_str());
    assert_eq!(view["department"], "31");
    assert_eq!(view["compliance"]["compliant"], false);

    let (status, body) = school
        .post(
            &format!("{path}/charter"),
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
        let (status, body) = school
            .post(
                &format!("{path}/team-members"),
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
        let (status, answer) = school.post(&format!("{path}/{route}"), body).await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }
    let (status, body) = school
        .post(
            &format!("{path}/parent-workshops"),
            json!({"held_on": "2026-11-10", "participants": 23}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let view = deployment_view(&manager, &id).await;
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
    let (status, log) = manager
        .get("/api/v1/read-log?person=membre1@ac-toulouse.fr")
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let reads = log["reads"].as_array().unwrap();
    assert_eq!(reads.len(), 1, "{log}");
    assert_eq!(reads[0]["route"], "/api/v1/phare/deployments/{id}");
    assert_eq!(reads[0]["actor_role"], "pole_manager");

    // A member leaves: the flag follows, the save is never refused.
    let (status, body) = school
        .delete(&format!("{path}/team-members/{}", member_ids[4]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["compliance"]["trained_team"], false);
    assert_eq!(view["compliance"]["compliant"], false);

    // The charter's term, from the clock.
    app.set_now(instant("2028-07-10T08:00:00Z"));
    assert_eq!(deployment_view(&school, &id).await["status"], "renewal_due");
    app.set_now(instant("2028-09-02T08:00:00Z"));
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["status"], "expired");
    assert_eq!(view["compliance"]["charter_in_force"], false);
    app.set_now(instant(NOW));

    // Label, level 1: the school applies, the pole awards.
    let label = answered_label(&school, &college, YEAR, 1).await;
    let (status, body) = school
        .post(&format!("/api/v1/phare/labels/{label}/submit"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(label_view(&school, &label).await["status"], "submitted");
    let (status, body) = manager.post(&format!("/api/v1/phare/labels/{label}/decision"), json!({"outcome": "awarded", "reason": "Équipe formée, protocole présenté, ateliers tenus."}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = label_view(&school, &label).await;
    assert_eq!(view["status"], "awarded");
    assert_eq!(view["awarded_level"]["number"], 1);
    assert_eq!(view["awarded_level"]["name"], "engagement");
    assert_eq!(view["levels_met"][0]["name"], "engagement");

    // Level 2 the next year: the contest is the pole's to tick, then an explicit review.
    let next = answered_label(&school, &college, "2027-2028", 2).await;
    let submit = school
        .post(&format!("/api/v1/phare/labels/{next}/submit"), json!({}))
        .await;
    assert_eq!(submit.0, StatusCode::OK, "{}", submit.1);
    let contest = json!({"criterion": "participation_concours", "met": true,
                         "evidence": "Affiche « Non au harcèlement » déposée"});
    let before = app.events().await;
    let refused = school
        .post(
            &format!("/api/v1/phare/labels/{next}/criteria"),
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
        let (status, answer) = manager
            .post(&format!("/api/v1/phare/labels/{next}/{route}"), body)
            .await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }
    assert_eq!(label_view(&school, &next).await["status"], "under_review");
    let (status, body) = manager.post(&format!("/api/v1/phare/labels/{next}/decision"), json!({"outcome": "awarded", "level": "approfondissement", "reason": "Participation au concours."}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = label_view(&school, &next).await;
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
    let app = Phare::start(db).await;
    let p = &app.places;
    let referent = app.user("department_referent", Some("31")).await;
    let (status, body) = referent.post("/api/v1/phare/deployments", json!({"school_year": YEAR, "circonscription": " toulouse   NORD ", "department": "31"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let view = deployment_view(&referent, &id).await;
    assert_eq!(view["circonscription"], NORD);
    assert!(view["school_uai"].is_null());

    let path = format!("/api/v1/phare/deployments/{id}/team-members");
    for (n, school) in [
        (1, Some(p.ecole_nord.as_str())),
        (2, Some(&p.ecole_nord_2)),
        (3, None),
    ] {
        let (status, body) = referent
            .post(&path, member(n, "enseignant", true, school))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let version = deployment_view(&referent, &id).await["version"].clone();
    for school in [&p.ecole_sud, &p.college] {
        let before = app.events().await;
        let refused = referent
            .post(&path, member(9, "cpe", true, Some(school)))
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
    assert_eq!(deployment_view(&referent, &id).await["version"], version);

    let before = app.events().await;
    let again = referent
        .post(
            "/api/v1/phare/deployments",
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
    let manager = app.manager();
    for (name, department) in [("Toulouse Ouest", "31"), (NORD, "32")] {
        let unknown = manager
            .post(
                "/api/v1/phare/deployments",
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

    // A circonscription is its department's: its écoles read it (their resource team
    // and coordinator are its), and change nothing; the others do not even read it.
    let ecole = app.user("school", Some(&p.ecole_nord)).await;
    let view = deployment_view(&ecole, &id).await;
    assert_eq!(view["team"].as_array().unwrap().len(), 3);
    assert_eq!(view["team"][0]["person"]["display_name"], "Membre Numéro1");
    let by_circonscription = format!(
        "/api/v1/phare/deployments?circonscription=toulouse%20nord&department=31&school_year={YEAR}"
    );
    assert_eq!(ids(&list(&ecole, &by_circonscription).await), [id.as_str()]);
    assert!(ids(&list(&ecole, "/api/v1/phare/deployments").await).contains(&id.as_str()));
    // The école's read of the members' data is logged like any other.
    let vault = &app.pharos.state.vault;
    let read = vault
        .find_person("membre1@ac-toulouse.fr")
        .await
        .unwrap()
        .unwrap();
    let reads = vault.reads_of(read).await.unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r.route == "/api/v1/phare/deployments/{id}"
                && r.purpose == "phare"
                && r.actor_id.as_deref() == Some(ecole.id.as_str())),
        "{reads:?}"
    );
    let ecole_sud = app.user("school", Some(&p.ecole_sud)).await;
    let college = app.user("school", Some(&p.college)).await;
    for token in [&ecole_sud, &college] {
        let (status, body) = token.get(&format!("/api/v1/phare/deployments/{id}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = token.get(&by_circonscription).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("Le déploiement de la circonscription toulouse nord (31) est hors de votre périmètre"),
            "{body}"
        );
        assert!(!ids(&list(token, "/api/v1/phare/deployments").await).contains(&id.as_str()));
    }
    let referent32 = app.user("department_referent", Some("32")).await;
    let (status, body) = referent32
        .get(&format!("/api/v1/phare/deployments/{id}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for token in [&ecole, &referent32] {
        let before = app.events().await;
        for (route, body) in [
            ("charter", json!({"signed_on": "2026-09-20"})),
            ("learning-hours", json!({"planned": true, "hours": 10})),
            (
                "coordinator",
                json!({"person": {"display_name": "Claire Coordinatrice", "email": "claire.coord@ac-toulouse.fr"}}),
            ),
        ] {
            let (status, answer) = token
                .post(&format!("/api/v1/phare/deployments/{id}/{route}"), body)
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{route}: {answer}");
        }
        assert_eq!(app.events().await, before);
        let refused = token.post(&path, member(8, "aed", false, None)).await;
        app.refused(
            refused,
            StatusCode::FORBIDDEN,
            "forbidden",
            "périmètre",
            before,
        )
        .await;
        let create = token
            .post(
                "/api/v1/phare/deployments",
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
    let app = Phare::start(db).await;
    let p = &app.places;
    let college = p.college.clone();
    let manager = app.manager();
    let admin = app.admin().await;
    let referent31 = app.user("department_referent", Some("31")).await;
    let referent32 = app.user("department_referent", Some("32")).await;
    let own = app.user("school", Some(&college)).await;
    let other = app.user("school", Some(&p.other_college)).await;
    let juror = app.user("juror", None).await;
    let trainer = app.user("trainer", None).await;
    let anonymous = app.anonymous();
    let forged = app.forged();

    let allowed: [(&str, &Client, &str); 3] = [
        ("pole_manager", &manager, "2024-2025"),
        ("department_referent 31", &referent31, "2025-2026"),
        ("school (own)", &own, "2026-2027"),
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
    let create = |year: &str| json!({"school_year": year, "school_uai": college});

    // Creating a deployment.
    let mut ids = Vec::new();
    for (who, token, year) in allowed {
        let (status, body) = token.post("/api/v1/phare/deployments", create(year)).await;
        assert_eq!(status, StatusCode::CREATED, "{who}: {body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    for (who, token, expected) in denied {
        let before = app.events().await;
        let (status, body) = token
            .post("/api/v1/phare/deployments", create("2023-2024"))
            .await;
        assert_eq!(status, expected, "{who}: {body}");
        assert_eq!(app.events().await, before, "{who}");
    }

    // Reading and changing one.
    let id = &ids[2];
    let path = format!("/api/v1/phare/deployments/{id}");
    for (who, token, _) in allowed {
        let (status, body) = token.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let (status, body) = token
            .post(
                &format!("{path}/learning-hours"),
                json!({"planned": true, "hours": 10 + body["version"].as_u64().unwrap()}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
    }
    for (who, token, expected) in denied {
        let before = app.events().await;
        let (status, body) = token.get(&path).await;
        assert_eq!(status, expected, "{who}: {body}");
        for (route, body) in [
            ("learning-hours", json!({"planned": true, "hours": 12})),
            ("team-members", member(1, "cpe", true, None)),
            ("charter", json!({"signed_on": "2026-09-20"})),
        ] {
            let (status, answer) = token.post(&format!("{path}/{route}"), body).await;
            assert_eq!(status, expected, "{who} {route}: {answer}");
            if status == StatusCode::FORBIDDEN {
                assert_eq!(rule(&answer), "forbidden");
            }
        }
        assert_eq!(app.events().await, before, "{who}");
    }

    // Labels: applied for by the school's side, decided by the pole only.
    let label = answered_label(&own, &college, YEAR, 1).await;
    let (status, _) = own
        .post(&format!("/api/v1/phare/labels/{label}/submit"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let decision = json!({"outcome": "awarded", "reason": "Dossier complet."});
    let not_pole: [(&str, &Client, StatusCode); 5] = [
        ("school (own)", &own, StatusCode::FORBIDDEN),
        ("department_referent 31", &referent31, StatusCode::FORBIDDEN),
        ("admin", &admin, StatusCode::FORBIDDEN),
        ("juror", &juror, StatusCode::FORBIDDEN),
        ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
    ];
    for (who, token, expected) in not_pole {
        let before = app.events().await;
        for route in ["decision", "review"] {
            let (status, body) = token
                .post(
                    &format!("/api/v1/phare/labels/{label}/{route}"),
                    decision.clone(),
                )
                .await;
            assert_eq!(status, expected, "{who} {route}: {body}");
        }
        assert_eq!(app.events().await, before, "{who}");
    }
    for (who, token, expected) in denied {
        let before = app.events().await;
        let (status, body) = token.get(&format!("/api/v1/phare/labels/{label}")).await;
        assert_eq!(status, expected, "{who}: {body}");
        let (status, body) = token
            .post(
                "/api/v1/phare/labels",
                json!({"school_uai": college, "school_year": "2025-2026", "target_level": 1}),
            )
            .await;
        assert_eq!(status, expected, "{who}: {body}");
        assert_eq!(app.events().await, before, "{who}");
    }
    for (who, token, _) in allowed {
        let (status, body) = token.get(&format!("/api/v1/phare/labels/{label}")).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
    }
    let (status, body) = manager
        .post(&format!("/api/v1/phare/labels/{label}/decision"), decision)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.finish().await;
}

async fn bad_deployment_inputs_are_refused_naming_the_rule_and_change_nothing(db: TestDb) {
    let app = Phare::start(db).await;
    let p = &app.places;
    let college = p.college.clone();
    let school = app.user("school", Some(&college)).await;
    let id = deployment(&school, &college, YEAR).await;
    let path = format!("/api/v1/phare/deployments/{id}");
    let (status, _) = school
        .post(
            &format!("{path}/team-members"),
            member(1, "cpe", true, None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let version = deployment_view(&school, &id).await["version"].clone();
    let before = app.events().await;

    let exists_message = format!(
        "existe déjà pour l'établissement Établissement {college} ({college}) en 2026-2027"
    );
    let creations = [
        (
            json!({"school_year": YEAR, "school_uai": college}),
            StatusCode::CONFLICT,
            "deployment-exists",
            exists_message.as_str(),
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
            json!({"school_year": YEAR}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "deployment-owner",
            "aucun des deux n'est indiqué",
        ),
        (
            json!({"school_year": YEAR, "circonscription": NORD}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "department-missing",
            "indique son département",
        ),
    ];
    for (body, status, rule, fragment) in creations {
        let answer = school.post("/api/v1/phare/deployments", body).await;
        app.refused(answer, status, rule, fragment, before).await;
    }
    let (_, neither) = school
        .post("/api/v1/phare/deployments", json!({"school_year": YEAR}))
        .await;
    assert!(
        !neither["detail"].as_str().unwrap().contains("pas les deux"),
        "{neither}"
    );

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
            "ne peut pas être dans le futur (le 01/12/2026) : enregistrez la charte une fois signée",
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
        (
            "protocol",
            json!({"formalised_on": "2026-10-01", "presented_on": "2026-10-05",
                   "presented_to": "conseil_ecole"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "protocol-body-mismatch",
            "conseil d'administration (conseil_administration)",
        ),
    ];
    for (route, body, status, rule, fragment) in commands {
        let answer = school.post(&format!("{path}/{route}"), body).await;
        if rule == "protocol-body-mismatch" {
            assert_eq!(
                answer.1["errors"][0]["field"], "presented_to",
                "{}",
                answer.1
            );
        }
        app.refused(answer, status, rule, fragment, before).await;
    }
    let unknown = school
        .delete(&format!("{path}/team-members/{}", uuid::Uuid::nil()))
        .await;
    app.refused(
        unknown,
        StatusCode::NOT_FOUND,
        "team-member-unknown",
        "ne fait pas",
        before,
    )
    .await;

    // A stale If-Match is a conflict; an Idempotency-Key replays the first answer.
    let stale = school
        .request(Method::POST, &format!("{path}/learning-hours"))
        .header("if-match", "1")
        .json(&json!({"planned": true, "hours": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(app.events().await, before);
    assert_eq!(deployment_view(&school, &id).await["version"], version);
    let key = uuid::Uuid::now_v7().to_string();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = school
            .request(Method::POST, &format!("{path}/parent-workshops"))
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
    let manager = app.manager();
    let (status, body) = manager
        .post(
            &format!("/api/v1/schools/{}/close", p.other_college),
            json!({"closed_on": "2026-11-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The reference projection follows the log a moment later (by design).
    let closing = pharos_events::Uai::parse(&p.other_college).unwrap();
    for _ in 0..200 {
        if app
            .pharos
            .state
            .access
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
    let closed = manager
        .post(
            "/api/v1/phare/deployments",
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
        let (status, _) = manager
            .get(&format!("/api/v1/phare/deployments/{missing}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    app.finish().await;
}

async fn bad_label_inputs_are_refused_naming_the_rule_and_change_nothing(db: TestDb) {
    let app = Phare::start(db).await;
    let college = app.places.college.clone();
    let school = app.user("school", Some(&college)).await;
    let manager = app.manager();
    let label_path = |id: &str, route: &str| format!("/api/v1/phare/labels/{id}/{route}");

    // Applying: twice, for a level without the one below, for a bad year or level.
    let label = answered_label(&school, &college, YEAR, 1).await;
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
        let answer = school.post("/api/v1/phare/labels", body).await;
        app.refused(answer, status, rule, fragment, before).await;
    }

    // A draft with one criterion left unanswered, then unmet.
    let (status, body) = manager
        .post(
            &label_path(&label, "criteria"),
            json!({"criterion": "atelier_parents", "met": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let version = label_view(&school, &label).await["version"].clone();
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
        let answer = token.post(&label_path(&label, route), body).await;
        app.refused(answer, status, rule, fragment, before).await;
    }
    assert_eq!(label_view(&school, &label).await["version"], version);

    // Submitting with a criterion unanswered: a fresh application of the next year.
    let (status, body) = school.post("/api/v1/phare/labels", json!({"school_uai": college, "school_year": "2027-2028", "target_level": "engagement"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let fresh = body["id"].as_str().unwrap().to_owned();
    let (status, _) = school
        .post(
            &label_path(&fresh, "criteria"),
            json!({"criterion": "charte_signee", "met": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh_version = label_view(&school, &fresh).await["version"].clone();
    let before = app.events().await;
    let unanswered = school.post(&label_path(&fresh, "submit"), json!({})).await;
    app.refused(
        unanswered,
        StatusCode::CONFLICT,
        "criteria-unanswered",
        "« Au moins un atelier parents organisé »",
        before,
    )
    .await;
    assert_eq!(label_view(&school, &fresh).await["version"], fresh_version);

    // Submitted with an unmet criterion: the pole cannot award that level.
    let (status, _) = school.post(&label_path(&label, "submit"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let version = label_view(&school, &label).await["version"].clone();
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
        let answer = manager.post(&label_path(&label, "decision"), body).await;
        app.refused(answer, status, rule, fragment, before).await;
    }
    let change = school
        .post(
            &label_path(&label, "criteria"),
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
    assert_eq!(label_view(&school, &label).await["version"], version);

    // Refused, the decision stands.
    let (status, body) = manager
        .post(
            &label_path(&label, "decision"),
            json!({"outcome": "not_awarded", "reason": "Aucun atelier parents cette année."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = label_view(&school, &label).await;
    assert_eq!(view["status"], "not_awarded");
    assert_eq!(
        view["decision_reason"],
        "Aucun atelier parents cette année."
    );
    let before = app.events().await;
    let again = manager
        .post(
            &label_path(&label, "decision"),
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

/// A creation expected to answer 409 because the resource exists: the problem carries
/// the existing id and the `Location` header its address.
async fn exists(client: &Client, path: &str, body: Value, rule_name: &str, existing: &str) {
    let response = client
        .request(Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let problem: Value = response.json().await.unwrap();
    assert_eq!(rule(&problem), rule_name, "{problem}");
    assert_eq!(problem["existing_id"], existing, "{problem}");
    assert_eq!(location, Some(format!("{path}/{existing}")));
}

async fn list(client: &Client, path: &str) -> Vec<Value> {
    let (status, body) = client.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert!(
        body["total"].as_u64().unwrap() as usize >= body["items"].as_array().unwrap().len(),
        "{body}"
    );
    body["items"].as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["id"].as_str().unwrap()).collect()
}

async fn a_school_finds_its_deployment_and_label_without_their_ids(db: TestDb) {
    let app = Phare::start(db).await;
    let p = &app.places;
    let college = p.college.clone();
    let school = app.user("school", Some(&college)).await;
    let other = app.user("school", Some(&p.other_college)).await;
    let referent31 = app.user("department_referent", Some("31")).await;
    let referent32 = app.user("department_referent", Some("32")).await;
    let manager = app.manager();

    let id = deployment(&school, &college, YEAR).await;
    let other_id = deployment(&other, &p.other_college, YEAR).await;
    let gers_id = deployment(&manager, &p.gers, YEAR).await;
    let earlier = deployment(&manager, &college, "2025-2026").await;

    // By owner and year, read from the stream at once; by owner alone, every year.
    let by_owner = format!("/api/v1/phare/deployments?school_uai={college}&school_year={YEAR}");
    let found = list(&school, &by_owner).await;
    assert_eq!(ids(&found), [id.as_str()]);
    assert_eq!(found[0]["school_year"], YEAR);
    assert_eq!(found[0]["department"], "31");
    // With its state and compliance, as the deployment shows them.
    assert_eq!(found[0]["status"], "not_started");
    assert_eq!(found[0]["carry_over_to_confirm"], false);
    assert_eq!(found[0]["compliance"]["compliant"], false);
    assert_eq!(found[0]["compliance"]["charter_in_force"], false);
    let (status, body) = school
        .post(
            &format!("/api/v1/phare/deployments/{id}/charter"),
            json!({"signed_on": "2026-09-20"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let found = list(&school, &by_owner).await;
    assert_eq!(found[0]["status"], "active");
    assert_eq!(found[0]["compliance"]["charter_in_force"], true);
    let in_department = list(
        &referent31,
        &format!("/api/v1/phare/deployments?department=31&school_year={YEAR}"),
    )
    .await;
    let item = in_department
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        item["status"], "active",
        "the stream's state, not the index's: {item}"
    );
    assert_eq!(item["compliance"]["charter_in_force"], true);
    let all_years = list(
        &school,
        &format!("/api/v1/phare/deployments?school_uai={college}"),
    )
    .await;
    assert_eq!(ids(&all_years), [id.as_str(), earlier.as_str()]);
    // Without a filter, the school sees its own only; the referent its department; the
    // pole everything.
    let own = list(&school, "/api/v1/phare/deployments").await;
    assert_eq!(ids(&own), [id.as_str(), earlier.as_str()]);
    let department = list(
        &referent31,
        &format!("/api/v1/phare/deployments?department=31&school_year={YEAR}"),
    )
    .await;
    let mut expected = vec![id.as_str(), other_id.as_str()];
    expected.sort_unstable();
    let mut got = ids(&department);
    got.sort_unstable();
    assert_eq!(got, expected);
    let everything = list(
        &manager,
        &format!("/api/v1/phare/deployments?school_year={YEAR}"),
    )
    .await;
    assert_eq!(everything.len(), 3);
    assert!(ids(&everything).contains(&gers_id.as_str()));
    let paged = list(&manager, "/api/v1/phare/deployments?limit=1&offset=1").await;
    assert_eq!(paged.len(), 1);
    // Outside the scope: refused, like the deployment itself.
    for (who, client, path) in [
        ("other school", &other, by_owner.clone()),
        ("referent 32", &referent32, by_owner.clone()),
        (
            "referent 32",
            &referent32,
            "/api/v1/phare/deployments?department=31".to_owned(),
        ),
    ] {
        let (status, body) = client.get(&path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
    }
    let (status, body) = school
        .get("/api/v1/phare/deployments?school_uai=0310001A")
        .await;
    assert_eq!(
        (status, rule(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-uai")
    );

    // A circonscription, whatever its spelling.
    let (status, body) = referent31
        .post(
            "/api/v1/phare/deployments",
            json!({"school_year": YEAR, "circonscription": NORD, "department": "31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let nord = body["id"].as_str().unwrap().to_owned();
    let found = list(
        &referent31,
        &format!(
            "/api/v1/phare/deployments?circonscription=toulouse%20nord&department=31&school_year={YEAR}"
        ),
    )
    .await;
    assert_eq!(ids(&found), [nord.as_str()]);
    assert_eq!(found[0]["circonscription"], NORD);

    // A second creation answers the existing one, and appends nothing.
    let before = app.events().await;
    exists(
        &school,
        "/api/v1/phare/deployments",
        json!({"school_year": YEAR, "school_uai": college}),
        "deployment-exists",
        &id,
    )
    .await;
    exists(
        &referent31,
        "/api/v1/phare/deployments",
        json!({"school_year": YEAR, "circonscription": "TOULOUSE NORD", "department": "31"}),
        "deployment-exists",
        &nord,
    )
    .await;
    assert_eq!(app.events().await, before);

    // Labels alike.
    let (status, body) = school
        .post(
            "/api/v1/phare/labels",
            json!({"school_uai": college, "school_year": YEAR, "target_level": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let label = body["id"].as_str().unwrap().to_owned();
    let found = list(
        &school,
        &format!("/api/v1/phare/labels?school_uai={college}&school_year={YEAR}"),
    )
    .await;
    assert_eq!(ids(&found), [label.as_str()]);
    assert_eq!(found[0]["target_level"]["number"], 1);
    assert_eq!(
        ids(&list(&school, "/api/v1/phare/labels").await),
        [label.as_str()]
    );
    assert_eq!(
        ids(&list(&referent31, "/api/v1/phare/labels?department=31").await),
        [label.as_str()]
    );
    assert!(list(&referent32, "/api/v1/phare/labels").await.is_empty());
    // The écoles of a circonscription.
    let ecole = app.places.ecole_nord.clone();
    let (status, body) = manager
        .post(
            "/api/v1/phare/labels",
            json!({"school_uai": ecole, "school_year": YEAR, "target_level": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ecole_label = body["id"].as_str().unwrap().to_owned();
    let of_nord = list(
        &referent31,
        &format!(
            "/api/v1/phare/labels?circonscription=TOULOUSE%20NORD&department=31&school_year={YEAR}"
        ),
    )
    .await;
    assert_eq!(ids(&of_nord), [ecole_label.as_str()]);
    let (status, _) = referent32
        .get("/api/v1/phare/labels?circonscription=Toulouse%20Nord&department=31")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(list(&other, "/api/v1/phare/labels").await.is_empty());
    let (status, _) = other
        .get(&format!("/api/v1/phare/labels?school_uai={college}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.admin().await.get("/api/v1/phare/labels").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let before = app.events().await;
    exists(
        &school,
        "/api/v1/phare/labels",
        json!({"school_uai": college, "school_year": YEAR, "target_level": 1}),
        "label-exists",
        &label,
    )
    .await;
    assert_eq!(app.events().await, before);
    app.finish().await;
}

async fn a_charter_signed_in_june_runs_two_full_school_years_from_september(db: TestDb) {
    let app = Phare::start(db).await;
    let college = app.places.college.clone();
    let school = app.user("school", Some(&college)).await;
    let id = deployment(&school, &college, YEAR).await;
    let (status, body) = school
        .post(
            &format!("/api/v1/phare/deployments/{id}/charter"),
            json!({"signed_on": "2026-06-20"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["charter"]["signed_on"], "2026-06-20");
    assert_eq!(view["charter"]["takes_effect_on"], "2026-09-01");
    assert_eq!(view["charter"]["ends_on"], "2028-08-31");
    assert_eq!(view["charter"]["renewal_due_from"], "2028-07-02");
    assert_eq!(view["compliance"]["charter_in_force"], true);
    // Signed during the year: the same end.
    let (status, _) = school
        .post(
            &format!("/api/v1/phare/deployments/{id}/charter"),
            json!({"signed_on": "2026-10-05"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["charter"]["takes_effect_on"], "2026-10-05");
    assert_eq!(view["charter"]["ends_on"], "2028-08-31");
    // Signed in the summer before last year, for last year: it covers this one too.
    let (status, body) = school
        .post(
            &format!("/api/v1/phare/deployments/{id}/charter"),
            json!({"signed_on": "2025-06-20"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        deployment_view(&school, &id).await["charter"]["ends_on"],
        "2027-08-31"
    );
    app.finish().await;
}

async fn a_team_member_changes_during_the_year(db: TestDb) {
    let app = Phare::start(db).await;
    let college = app.places.college.clone();
    let school = app.user("school", Some(&college)).await;
    let id = deployment(&school, &college, YEAR).await;
    let path = format!("/api/v1/phare/deployments/{id}/team-members");
    let (status, body) = school.post(&path, member(1, "aesh", false, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let member_id = body["id"].as_str().unwrap().to_owned();
    for (n, function) in ["conseiller_pedagogique", "ien", "medecin_scolaire"]
        .into_iter()
        .enumerate()
    {
        let (status, body) = school
            .post(&path, member(n + 2, function, true, None))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{function}: {body}");
    }
    let mut autre = member(7, "autre", true, None);
    autre["function_label"] = json!("Éducateur spécialisé");
    let (status, body) = school.post(&path, autre.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Trained later in the year: the member stays, with their id.
    let member_path = format!("{path}/{member_id}");
    let before = app.events().await;
    let (status, body) = school
        .call(
            Method::PATCH,
            &member_path,
            json!({"trained": true, "training_minutes": 900, "mpp_trained": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.events().await, before + 1);
    let view = deployment_view(&school, &id).await;
    let team = view["team"].as_array().unwrap();
    assert_eq!(team.len(), 5);
    let updated = team
        .iter()
        .find(|m| m["member_id"] == member_id.as_str())
        .unwrap();
    assert_eq!(updated["function"], "aesh");
    assert_eq!(updated["trained"], true);
    assert_eq!(updated["training_minutes"], 900);
    assert_eq!(updated["mpp_trained"], true);
    assert_eq!(updated["person"]["email"], "membre1@ac-toulouse.fr");
    assert_eq!(view["compliance"]["trained_members"], 5);
    let named = team.iter().find(|m| m["function"] == "autre").unwrap();
    assert_eq!(named["function_label"], "Éducateur spécialisé");
    // The same values again append nothing.
    let before = app.events().await;
    let (status, _) = school
        .call(Method::PATCH, &member_path, json!({"trained": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.events().await, before);

    // Refusals, nothing appended.
    for (body, expected, rule_name, fragment) in [
        (
            json!({"function": "autre"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "function-label-missing",
            "précisez son libellé",
        ),
        (
            json!({"function": "cpe", "function_label": "Chef"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "function-label-unexpected",
            "fonction « autre »",
        ),
        (
            json!({"function": "professeur"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-function",
            "medecin_scolaire",
        ),
    ] {
        let before = app.events().await;
        let refused = school.call(Method::PATCH, &member_path, body).await;
        app.refused(refused, expected, rule_name, fragment, before)
            .await;
    }
    let before = app.events().await;
    let refused = school
        .call(
            Method::PATCH,
            &format!("{path}/{}", uuid_like(9)),
            json!({"trained": true}),
        )
        .await;
    app.refused(
        refused,
        StatusCode::NOT_FOUND,
        "team-member-unknown",
        "ne fait pas",
        before,
    )
    .await;
    let before = app.events().await;
    autre["function_label"] = Value::Null;
    autre["person"]["email"] = json!("autre8@ac-toulouse.fr");
    let refused = school.post(&path, autre).await;
    app.refused(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "function-label-missing",
        "précisez son libellé",
        before,
    )
    .await;
    // Out of scope.
    let other = app.user("school", Some(&app.places.other_college)).await;
    let before = app.events().await;
    let (status, _) = other
        .call(Method::PATCH, &member_path, json!({"trained": false}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.events().await, before);
    app.finish().await;
}

/// A well-formed id nothing has.
fn uuid_like(n: u8) -> String {
    format!("0190a000-0000-7000-8000-0000000000{n:02}")
}

async fn the_next_year_opens_with_last_years_team_to_confirm(db: TestDb) {
    let app = Phare::start(db).await;
    let college = app.places.college.clone();
    let school = app.user("school", Some(&college)).await;
    let last = deployment(&school, &college, "2025-2026").await;
    let path = format!("/api/v1/phare/deployments/{last}");
    for n in 1..=2 {
        let (status, body) = school
            .post(
                &format!("{path}/team-members"),
                member(n, "cpe", n == 1, None),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for (route, body) in [
        (
            "coordinator",
            json!({"person": {"display_name": "Claire Coordinatrice", "email": "claire.coord@ac-toulouse.fr"}}),
        ),
        (
            "protocol",
            json!({"formalised_on": "2025-09-25", "presented_on": "2025-10-05",
                   "presented_to": "conseil_administration"}),
        ),
    ] {
        let (status, answer) = school.post(&format!("{path}/{route}"), body).await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }

    // Opening this year's: last year's team, coordinator and protocol, to confirm.
    let before = app.events().await;
    let id = deployment(&school, &college, YEAR).await;
    assert_eq!(
        app.events().await,
        before + 5,
        "created, two members, coordinator, protocol"
    );
    let view = deployment_view(&school, &id).await;
    let team = view["team"].as_array().unwrap();
    assert_eq!(team.len(), 2);
    assert!(team.iter().all(|m| m["carried_over"] == true), "{view}");
    assert_eq!(team[0]["person"]["email"], "membre1@ac-toulouse.fr");
    assert_eq!(view["coordinator"]["display_name"], "Claire Coordinatrice");
    assert_eq!(view["coordinator_carried_over"], true);
    assert_eq!(view["protocol"]["formalised_on"], "2025-09-25");
    assert_eq!(view["protocol_carried_over"], true);
    assert_eq!(view["carry_over_to_confirm"], true);
    // Last year's stays as it was.
    let last_view = deployment_view(&school, &last).await;
    assert_eq!(last_view["carry_over_to_confirm"], false);
    assert!(
        last_view["team"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["carried_over"] == false)
    );

    // Confirmed as it stands, once.
    let confirm = format!("/api/v1/phare/deployments/{id}/carry-over/confirm");
    let (status, body) = school.post(&confirm, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["carry_over_to_confirm"], false);
    assert_eq!(view["coordinator_carried_over"], false);
    let before = app.events().await;
    let refused = school.post(&confirm, Value::Null).await;
    app.refused(
        refused,
        StatusCode::CONFLICT,
        "carry-over-none",
        "Rien n'est à confirmer",
        before,
    )
    .await;

    // Without the carry-over, the next year opens empty.
    let manager = app.manager();
    let (status, body) = manager
        .post(
            "/api/v1/phare/deployments",
            json!({"school_year": "2027-2028", "school_uai": college, "carry_over": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let next = deployment_view(&manager, body["id"].as_str().unwrap()).await;
    assert!(next["team"].as_array().unwrap().is_empty());
    assert!(next["coordinator"].is_null());

    // The team and the coordinator are held through the second school year after
    // 2026-2027, the last year naming them; the purge erases them then, in both years.
    let vault = &app.pharos.state.vault;
    let job = pharos_eventstore::Metadata::default();
    let purged = vault
        .purge(&app.store, instant("2029-08-31T23:00:00+02:00"), &job)
        .await
        .unwrap();
    assert!(purged.is_empty(), "{purged:?}");
    let purged = vault
        .purge(&app.store, instant("2029-09-01T03:00:00+02:00"), &job)
        .await
        .unwrap();
    assert_eq!(
        purged.len(),
        3,
        "two members and the coordinator: {purged:?}"
    );
    assert!(purged.iter().all(|p| p.purpose == "phare_team_member"));
    for year in [&last, &id] {
        let view = deployment_view(&school, year).await;
        assert_eq!(
            view["coordinator"]["display_name"], "donnée effacée",
            "{view}"
        );
        assert_eq!(
            view["team"][1]["person"]["email"], "donnée effacée",
            "{view}"
        );
    }
    app.finish().await;
}

async fn an_ecole_is_judged_by_its_circonscriptions_trained_team(db: TestDb) {
    let app = Phare::start(db).await;
    let ecole = app.places.ecole_nord.clone();
    let school = app.user("school", Some(&ecole)).await;
    let referent = app.user("department_referent", Some("31")).await;
    // Five trained in the école itself: not what it is judged by.
    let id = deployment(&school, &ecole, YEAR).await;
    for n in 1..=5 {
        let (status, body) = school
            .post(
                &format!("/api/v1/phare/deployments/{id}/team-members"),
                member(n, "enseignant", true, None),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["compliance"]["team_of_circonscription"], true);
    assert_eq!(view["compliance"]["trained_members"], 0);
    assert_eq!(view["compliance"]["trained_team"], false);
    // Said in the view: no circonscription deployment yet, its own members do not count.
    let warnings = view["warnings"].as_array().unwrap();
    assert_eq!(
        warnings[0],
        "La circonscription de Toulouse Nord n'a pas encore de déploiement pHARe en 2026-2027 : \
         l'équipe ressource et le coordonnateur de l'école se lisent dans le sien."
    );
    assert!(
        warnings[1]
            .as_str()
            .unwrap()
            .starts_with("Les 5 membres de l'équipe enregistrés par l'école ne comptent pas"),
        "{view}"
    );
    // Its label's team and coordinator suggestions say where they are read.
    let (status, body) = school
        .post(
            "/api/v1/phare/labels",
            json!({ "school_uai": ecole, "school_year": YEAR, "target_level": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let label = body["id"].as_str().unwrap().to_owned();
    let view = label_view(&school, &label).await;
    let coordinator = criterion(&view, "coordonnateur_designe");
    assert_eq!(coordinator["suggested"], "not_met", "{coordinator}");
    assert_eq!(coordinator["suggested_from"]["deployment_id"], id.as_str());
    assert!(
        coordinator["suggested_from"]["description"]
            .as_str()
            .unwrap()
            .contains("aucun coordonnateur désigné (la circonscription Toulouse Nord n'a pas encore de déploiement"),
        "{coordinator}"
    );

    // Its circonscription's resource team of five trained: met.
    let (status, body) = referent
        .post(
            "/api/v1/phare/deployments",
            json!({"school_year": YEAR, "circonscription": NORD, "department": "31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let nord = body["id"].as_str().unwrap().to_owned();
    for n in 11..=15 {
        let (status, body) = referent
            .post(
                &format!("/api/v1/phare/deployments/{nord}/team-members"),
                member(n, "enseignant", n != 15, None),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["compliance"]["trained_members"], 4);
    assert_eq!(view["compliance"]["trained_team"], false);
    let last = deployment_view(&referent, &nord).await["team"][4]["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = referent
        .call(
            Method::PATCH,
            &format!("/api/v1/phare/deployments/{nord}/team-members/{last}"),
            json!({"trained": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["compliance"]["trained_members"], 5);
    assert_eq!(view["compliance"]["trained_team"], true);
    assert_eq!(view["compliance"]["coordinator_named"], false);
    assert_eq!(view["warnings"].as_array().unwrap().len(), 1, "{view}");

    // Its coordinator is its circonscription's too.
    let (status, body) = referent
        .post(
            &format!("/api/v1/phare/deployments/{nord}/coordinator"),
            json!({"person": {"display_name": "Claire Coordinatrice", "email": "claire.coord@ac-toulouse.fr"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = deployment_view(&school, &id).await;
    assert_eq!(view["compliance"]["coordinator_named"], true, "{view}");
    let view = label_view(&school, &label).await;
    for (key, wording) in [
        ("coordonnateur_designe", "coordonnateur désigné"),
        (
            "equipe_ressource_formee",
            "équipe ressource de 5 personnels formés (au moins 5 attendus)",
        ),
    ] {
        let c = criterion(&view, key);
        assert_eq!(c["suggested"], "met", "{c}");
        assert_eq!(c["suggested_from"]["deployment_id"], nord.as_str(), "{c}");
        assert_eq!(
            c["suggested_from"]["description"],
            format!("Déploiement pHARe 2026-2027 de la circonscription Toulouse Nord : {wording}")
        );
    }
    // The rest comes from the école's own deployment.
    assert_eq!(
        criterion(&view, "charte_signee")["suggested_from"]["deployment_id"],
        id.as_str()
    );
    // The circonscription is judged by its own team.
    let circonscription = deployment_view(&referent, &nord).await;
    assert_eq!(
        circonscription["compliance"]["team_of_circonscription"],
        false
    );
    // An école's protocol, like its circonscription's, goes to the conseil d'école.
    for (client, deployment) in [(&school, &id), (&referent, &nord)] {
        let before = app.events().await;
        let answer = client
            .post(
                &format!("/api/v1/phare/deployments/{deployment}/protocol"),
                json!({"formalised_on": "2026-10-01", "presented_to": "conseil_administration"}),
            )
            .await;
        assert_eq!(
            answer.1["errors"][0]["field"], "presented_to",
            "{}",
            answer.1
        );
        app.refused(
            answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "protocol-body-mismatch",
            "conseil d'école (conseil_ecole)",
            before,
        )
        .await;
        let (status, body) = client
            .post(
                &format!("/api/v1/phare/deployments/{deployment}/protocol"),
                json!({"formalised_on": "2026-10-01", "presented_to": "conseil_ecole"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.finish().await;
}

async fn a_member_shows_the_phare_trainings_they_attended(db: TestDb) {
    let app = Phare::serving(db, &["phare", "trainings"]).await;
    let college = app.places.college.clone();
    let manager = app.manager();
    let school = app.user("school", Some(&college)).await;
    let id = deployment(&school, &college, YEAR).await;
    let (status, body) = school
        .post(
            &format!("/api/v1/phare/deployments/{id}/team-members"),
            member(1, "cpe", true, None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let view = deployment_view(&school, &id).await;
    assert_eq!(
        view["team"][0]["training_evidence"],
        json!({"team_minutes": 0, "mpp_minutes": 0})
    );

    // A resource-team training held on 3 November, recorded with its attendance.
    let (status, body) = manager
        .post(
            "/api/v1/trainings",
            json!({"title": "Équipes ressources", "topic": "equipe_ressource",
                   "audience": "équipes ressources", "department": "31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let training = body["id"].as_str().unwrap().to_owned();
    let (status, body) = manager
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
                    "person": {"email": "membre1@ac-toulouse.fr", "display_name": "Membre Numéro1",
                               "school_uai": college, "function": "CPE"},
                    "mode": "designated",
                    "attendance": [{"slot_index": 0, "status": "present"},
                                   {"slot_index": 1, "status": "present", "minutes": 200}]
                }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The member (the same person, by their address) shows it once the events are read.
    let mut evidence = Value::Null;
    for _ in 0..100 {
        evidence = deployment_view(&school, &id).await["team"][0]["training_evidence"].clone();
        if evidence["team_minutes"] != 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(evidence, json!({"team_minutes": 380, "mpp_minutes": 0}));
    app.finish().await;
}

async fn the_pole_returns_an_application_and_the_school_corrects_and_resubmits(db: TestDb) {
    let app = Phare::start(db).await;
    let college = app.places.college.clone();
    let school = app.user("school", Some(&college)).await;
    let manager = app.manager();
    let label = answered_label(&school, &college, YEAR, 1).await;
    let path = |route: &str| format!("/api/v1/phare/labels/{label}/{route}");
    let (status, body) = school.post(&path("submit"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = manager.post(&path("review"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Returning needs the pole and a reason.
    let before = app.events().await;
    let answer = manager.post(&path("return"), json!({"reason": "  "})).await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "return-reason-missing",
        "renvoyée",
        before,
    )
    .await;
    let answer = school
        .post(&path("return"), json!({"reason": "Je me renvoie"}))
        .await;
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "{}", answer.1);
    assert_eq!(app.events().await, before);

    let (status, body) = manager
        .post(
            &path("return"),
            json!({"reason": "L'atelier parents n'est pas justifié."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = label_view(&school, &label).await;
    assert_eq!(view["status"], "returned", "{view}");
    assert_eq!(
        view["return_reason"],
        "L'atelier parents n'est pas justifié."
    );
    // The lists show it too, by the school or by the department.
    for (client, route) in [
        (
            &school,
            format!("/api/v1/phare/labels?school_uai={college}"),
        ),
        (&manager, "/api/v1/phare/labels?department=31".to_owned()),
    ] {
        let items = list(client, &route).await;
        assert_eq!(items[0]["status"], "returned", "{route}");
        assert_eq!(
            items[0]["return_reason"], "L'atelier parents n'est pas justifié.",
            "{route}"
        );
        assert_eq!(items[0]["awarded_level"], Value::Null, "{route}");
    }

    // While it is with the school, the pole neither examines nor decides it.
    let before = app.events().await;
    for (route, body) in [
        ("review", json!({})),
        ("decision", json!({"outcome": "awarded", "reason": "Bravo"})),
        ("return", json!({"reason": "Encore"})),
    ] {
        let answer = manager.post(&path(route), body).await;
        app.refused(
            answer,
            StatusCode::CONFLICT,
            "label-returned",
            "renvoyée à l'établissement",
            before,
        )
        .await;
    }

    // The school corrects its answer and submits again; the pole awards.
    let (status, body) = school
        .post(
            &path("criteria"),
            json!({"criterion": "atelier_parents", "met": true,
                   "evidence": "Atelier du 10 novembre, 23 parents"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = school.post(&path("submit"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(label_view(&school, &label).await["status"], "submitted");
    let (status, body) = manager
        .post(
            &path("decision"),
            json!({"outcome": "awarded", "reason": "Dossier complet"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = label_view(&school, &label).await;
    assert_eq!(view["status"], "awarded", "{view}");
    let items = list(&manager, "/api/v1/phare/labels?department=31").await;
    assert_eq!(
        (&items[0]["status"], &items[0]["awarded_level"]["number"]),
        (&json!("awarded"), &json!(1))
    );
    assert_eq!(items[0]["return_reason"], Value::Null, "{}", items[0]);
    // Once decided, it is not returned.
    let before = app.events().await;
    let answer = manager
        .post(&path("return"), json!({"reason": "Trop tard"}))
        .await;
    app.refused(
        answer,
        StatusCode::CONFLICT,
        "label-decided",
        "décision",
        before,
    )
    .await;
    app.finish().await;
}

/// The criterion `key` of a label view.
fn criterion<'a>(view: &'a Value, key: &str) -> &'a Value {
    view["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("{key} not in {view}"))
}

async fn a_label_suggests_answers_from_the_deployments_recorded_facts(db: TestDb) {
    let app = Phare::start(db).await;
    let college = app.places.college.clone();
    let other = app.places.other_college.clone();
    let school = app.user("school", Some(&college)).await;
    let other_school = app.user("school", Some(&other)).await;
    let deployment_id = deployment(&school, &college, YEAR).await;
    let path = format!("/api/v1/phare/deployments/{deployment_id}");
    for (route, body) in [
        ("charter", json!({"signed_on": "2026-09-20"})),
        (
            "coordinator",
            json!({"person": {"display_name": "Claire Coordinatrice", "email": "claire.coord@ac-toulouse.fr"}}),
        ),
        ("learning-hours", json!({"planned": true, "hours": 10})),
    ] {
        let (status, answer) = school.post(&format!("{path}/{route}"), body).await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }
    let mut labels = Vec::new();
    for (client, uai) in [(&school, &college), (&other_school, &other)] {
        let (status, body) = client
            .post(
                "/api/v1/phare/labels",
                json!({ "school_uai": uai, "school_year": YEAR, "target_level": 1 }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        labels.push(body["id"].as_str().unwrap().to_owned());
    }

    let view = label_view(&school, &labels[0]).await;
    // Each description is worded by its outcome.
    for (key, description) in [
        (
            "charte_signee",
            "charte d'engagement signée le 20/09/2026, en vigueur jusqu'au 31/08/2028",
        ),
        ("coordonnateur_designe", "coordonnateur désigné"),
        (
            "dix_heures_planifiees",
            "10 heures d'apprentissage planifiées",
        ),
        (
            "equipe_ressource_formee",
            "aucun personnel formé dans l'équipe ressource (au moins 5 attendus)",
        ),
        (
            "protocole_formalise_presente",
            "aucun protocole de traitement enregistré",
        ),
        ("atelier_parents", "aucun atelier parents tenu"),
    ] {
        assert_eq!(
            criterion(&view, key)["suggested_from"]["description"],
            format!("Déploiement pHARe 2026-2027 : {description}"),
            "{key}"
        );
    }
    for (key, suggested) in [
        ("charte_signee", "met"),
        ("coordonnateur_designe", "met"),
        ("dix_heures_planifiees", "met"),
        ("equipe_ressource_formee", "not_met"),
        ("protocole_formalise_presente", "not_met"),
        ("atelier_parents", "not_met"),
    ] {
        let c = criterion(&view, key);
        assert_eq!(c["suggested"], suggested, "{key}: {c}");
        assert_eq!(c["met"], Value::Null, "only a suggestion: {c}");
        assert_eq!(c["suggested_from"]["deployment_id"], deployment_id.as_str());
        assert!(
            c["suggested_from"]["description"]
                .as_str()
                .unwrap()
                .starts_with("Déploiement pHARe 2026-2027 : "),
            "{c}"
        );
    }
    assert_eq!(
        criterion(&view, "charte_signee")["suggested_from"]["flag"],
        "charter_in_force"
    );

    // The school's answer is what counts; the suggestion stays beside it.
    let (status, body) = school
        .post(
            &format!("/api/v1/phare/labels/{}/criteria", labels[0]),
            json!({"criterion": "charte_signee", "met": false,
                   "evidence": "La charte est à renouveler en conseil d'administration"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A fact recorded later shows at the next read, with no event on the label.
    let before = app.events().await;
    let (status, body) = school
        .post(
            &format!("{path}/parent-workshops"),
            json!({"held_on": "2026-11-10", "participants": 23}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(app.events().await, before + 1);
    let view = label_view(&school, &labels[0]).await;
    let charter = criterion(&view, "charte_signee");
    assert_eq!(
        (&charter["met"], &charter["suggested"]),
        (&json!(false), &json!("met"))
    );
    assert_eq!(criterion(&view, "atelier_parents")["suggested"], "met");
    assert_eq!(
        criterion(&view, "atelier_parents")["suggested_from"]["description"],
        "Déploiement pHARe 2026-2027 : atelier parents tenu le 10/11/2026"
    );
    assert_eq!(app.events().await, before + 1, "a read appends nothing");

    // Without a deployment, nothing is suggested.
    let view = label_view(&other_school, &labels[1]).await;
    for c in view["criteria"].as_array().unwrap() {
        assert_eq!(c["suggested"], Value::Null, "{c}");
        assert_eq!(c["suggested_from"], Value::Null, "{c}");
    }
    app.finish().await;
}

async fn the_pole_edits_a_years_label_criteria_and_new_applications_use_them(db: TestDb) {
    let app = Phare::start(db).await;
    let college = app.places.college.clone();
    let school = app.user("school", Some(&college)).await;
    let manager = app.manager();
    const NEXT: &str = "2027-2028";
    let path = format!("/api/v1/phare/label-criteria/{NEXT}");

    // Until the pole sets them, the shipped criteria.
    let (status, view) = school.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["source"], "shipped");
    assert_eq!(view["checklists"].as_array().unwrap().len(), 3);
    assert_eq!(view["checklists"][0]["criteria"][0]["key"], "charte_signee");
    assert_eq!(view["version"], 0);

    let criteria = json!({"checklists": [{"level": 1, "criteria": [
        {"key": "charte_signee", "label": "Charte d'engagement signée"},
        {"key": "semaine_prevention", "label": "Semaine de prévention organisée"}
    ]}]});
    let before = app.events().await;
    let answer = school.put(&path, criteria.clone()).await;
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "{}", answer.1);
    assert_eq!(app.events().await, before);
    let refusals = [
        (
            json!({"checklists": [{"level": 2, "criteria": [{"key": "concours", "label": "Concours"}]}]}),
            "criteria-level-missing",
            "donnez aussi la liste de critères du niveau 1",
        ),
        (
            json!({"checklists": [{"level": 1, "criteria": [
                {"key": "charte", "label": "Charte"}, {"key": "charte", "label": "Charte encore"}]}]}),
            "criterion-twice",
            "figure deux fois",
        ),
        (
            json!({"checklists": [{"level": 1, "criteria": []}]}),
            "criteria-empty",
            "est vide",
        ),
        (
            json!({"checklists": [{"level": 1, "criteria": [{"key": "Charte signée", "label": "Charte"}]}]}),
            "criterion-key-invalid",
            "n'est pas une clé de critère",
        ),
    ];
    for (body, rule_name, fragment) in refusals {
        let answer = manager.put(&path, body).await;
        app.refused(
            answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            rule_name,
            fragment,
            before,
        )
        .await;
    }
    let answer = manager
        .put("/api/v1/phare/label-criteria/2030-2031", criteria.clone())
        .await;
    app.refused(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "school-year-out-of-range",
        "hors période",
        before,
    )
    .await;

    let (status, body) = manager.put(&path, criteria.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.events().await, before + 1);
    // The same again appends nothing.
    let (status, body) = manager.put(&path, criteria).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.events().await, before + 1);
    let (status, view) = school.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["source"], "recorded");
    assert_eq!(view["version"], 1);
    assert_eq!(view["checklists"].as_array().unwrap().len(), 1);
    assert_eq!(
        view["checklists"][0]["criteria"][1]["key"],
        "semaine_prevention"
    );
    assert_eq!(
        view["checklists"][0]["criteria"][1]["answered_by"],
        "school"
    );

    // A new application for that year takes them; another year keeps the shipped ones.
    let (status, body) = school
        .post(
            "/api/v1/phare/labels",
            json!({"school_uai": college, "school_year": NEXT, "target_level": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let view = label_view(&school, body["id"].as_str().unwrap()).await;
    let keys: Vec<&str> = view["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["charte_signee", "semaine_prevention"]);
    let label = answered_label(&school, &college, YEAR, 1).await;
    assert_eq!(
        label_view(&school, &label).await["criteria"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    let (status, view) = school
        .get(&format!("/api/v1/phare/label-criteria/{YEAR}"))
        .await;
    assert_eq!(
        (status, &view["source"]),
        (StatusCode::OK, &json!("shipped"))
    );
    app.finish().await;
}

/// A school's contest entry, submitted to the year's edition, meets its label's
/// « participation au concours »: the pole awards level 2 without ticking it.
async fn a_submitted_contest_entry_meets_the_labels_contest_criterion(db: TestDb) {
    let files = std::env::temp_dir().join(format!("pharos-phare-files-{}", uuid::Uuid::now_v7()));
    let dir = files.display().to_string();
    let app = Phare::configured(db, &["phare", "contests"], |raw| raw.files_dir = Some(dir)).await;
    let college = app.places.college.clone();
    let school = app.user("school", Some(&college)).await;
    let manager = &app.manager();
    // Level 1 this year.
    let label = answered_label(&school, &college, YEAR, 1).await;
    for (client, route, body) in [
        (&school, "submit", json!({})),
        (
            manager,
            "decision",
            json!({"outcome": "awarded", "reason": "Niveau 1 acquis."}),
        ),
    ] {
        let (status, answer) = client
            .post(&format!("/api/v1/phare/labels/{label}/{route}"), body)
            .await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }

    // Next year's contest: a poster submitted in November 2027.
    app.set_now(instant("2027-11-20T10:00:00Z"));
    let (status, contest) = manager
        .post(
            "/api/v1/contests",
            json!({
                "school_year": "2027-2028", "opens_at": "2027-11-02",
                "submission_deadline": "2028-02-11T23:59", "jury_on": "2028-03-16",
                "categories": [{"level": "college", "medium": "affiche"}],
                "rules": {"media": ["affiche"], "max_file_bytes": 1048576, "file_types": ["png"],
                          "max_entries_per_group": 1, "nominees_per_category": 1}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contest}");
    let (status, entry) = school
        .post(
            &format!("/api/v1/contests/{}/entries", contest["id"].as_str().unwrap()),
            json!({"school_uai": college, "category": "college_affiche", "title": "Briser le silence",
                   "special_prizes": [],
                   "group": {"label": "5e B", "levels": ["5e"], "pupil_count": 24, "adult_count": 2},
                   "responsible": {"display_name": "Camille Martin", "email": "camille.martin@ac-toulouse.fr"},
                   "project_sheet": "Une affiche."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let entry = entry["id"].as_str().unwrap();
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    png.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    let response = school
        .request(
            Method::POST,
            &format!("/api/v1/entries/{entry}/files?name=affiche.png"),
        )
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.text().await
    );
    for (route, body) in [
        (
            "attestations",
            json!({"image_rights": true, "third_party_rights": true, "republic_values": true,
                   "rights_grant": true, "attested_by": "Principal du collège"}),
        ),
        ("submit", json!({})),
    ] {
        let (status, answer) = school
            .post(&format!("/api/v1/entries/{entry}/{route}"), body)
            .await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }

    // Level 2: the criterion shows met from the entry; no tick, and the award goes through.
    // `phare` follows the contest's events: the submission reaches it shortly after.
    let next = answered_label(&school, &college, "2027-2028", 2).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let view = loop {
        let view = label_view(&school, &next).await;
        if criterion(&view, "participation_concours")["met"] == true {
            break view;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the submitted entry never met the criterion: {view}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let criterion = criterion(&view, "participation_concours");
    assert!(
        criterion["evidence"]
            .as_str()
            .unwrap()
            .contains("2027-2028"),
        "{view}"
    );
    let (status, body) = school
        .post(&format!("/api/v1/phare/labels/{next}/submit"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (route, body) in [
        ("review", json!({})),
        (
            "decision",
            json!({"outcome": "awarded", "reason": "Participation au concours."}),
        ),
    ] {
        let (status, answer) = manager
            .post(&format!("/api/v1/phare/labels/{next}/{route}"), body)
            .await;
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
    }
    assert_eq!(
        label_view(&school, &next).await["awarded_level"]["number"],
        2
    );
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

pharos_test_support::on_both_backends!(
    "pharos-phare";
    a_submitted_contest_entry_meets_the_labels_contest_criterion,
    a_school_deploys_phare_to_full_compliance_and_the_pole_awards_its_labels,
    a_circonscription_deploys_with_the_staff_of_its_own_schools,
    every_role_in_and_out_of_scope,
    bad_deployment_inputs_are_refused_naming_the_rule_and_change_nothing,
    bad_label_inputs_are_refused_naming_the_rule_and_change_nothing,
    a_school_finds_its_deployment_and_label_without_their_ids,
    a_charter_signed_in_june_runs_two_full_school_years_from_september,
    a_team_member_changes_during_the_year,
    the_next_year_opens_with_last_years_team_to_confirm,
    an_ecole_is_judged_by_its_circonscriptions_trained_team,
    a_member_shows_the_phare_trainings_they_attended,
    the_pole_returns_an_application_and_the_school_corrects_and_resubmits,
    a_label_suggests_answers_from_the_deployments_recorded_facts,
    the_pole_edits_a_years_label_criteria_and_new_applications_use_them,
);
