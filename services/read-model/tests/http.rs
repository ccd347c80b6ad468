//! The read model through the real application: commands through the REST APIs, then
//! GraphQL answers reflect them (polled with a deadline: the projector lags the log),
//! each caller seeing its scope only; hostile queries refused in French. On SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

#[path = "http/batch.rs"]
mod batch;
#[path = "http/dashboard.rs"]
mod dashboard;
#[path = "http/dashboard_exports.rs"]
mod dashboard_exports;
#[path = "http/people.rs"]
mod people;

use pharos_eventstore::Db;
use pharos_test_support::{Client, TestApp, TestDb};

mod surface;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A collège, a lycée and an école of Haute-Garonne, a collège of the Gers (check letters
/// computed from the number: 0310001 mod 23 = 7 → H).
const COLLEGE_31: &str = "0310001H";
const LYCEE_31: &str = "0310002J";
const COLLEGE_32: &str = "0320001C";

async fn graphql(client: &Client, query: &str) -> Value {
    let (status, body) = client.post("/graphql", json!({ "query": query })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Asks `query` until `done` holds of the answer, for at most ten seconds.
async fn until(client: &Client, query: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = graphql(client, query).await;
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "never reached: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn names(body: &Value, list: &str) -> Vec<String> {
    body["data"][list]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {body}"))
        .iter()
        .map(|e| {
            let node = &e["node"];
            node["name"]
                .as_str()
                .or(node["title"].as_str())
                .or(node["uai"].as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn lists_follow_the_commands_and_each_caller_sees_its_scope(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "trainings", "phare"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(LYCEE_31, "lycee_gt", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let referent = app.user("department_referent", Some("31")).await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let trainer = app.user("trainer", None).await;

    let schools = "{ schools(first: 10) { totalCount edges { node { uai name department history { label actorRole } } } } }";
    let all = until(&manager, schools, |b| {
        b["data"]["schools"]["totalCount"] == 3
    })
    .await;
    assert_eq!(
        all["data"]["schools"]["edges"][0]["node"]["history"][0]["label"],
        "Établissement enregistré",
        "{all}"
    );
    let mine = graphql(&referent, schools).await;
    assert_eq!(mine["data"]["schools"]["totalCount"], 2, "{mine}");
    assert!(
        mine["data"]["schools"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["node"]["department"] == "31"),
        "{mine}"
    );
    let own = graphql(&school, schools).await;
    assert_eq!(
        names(&own, "schools"),
        [format!("Établissement {COLLEGE_31}")]
    );
    let none = graphql(&trainer, schools).await;
    assert_eq!(none["data"]["schools"]["totalCount"], 0, "{none}");
    // Out of scope: absent, not an error.
    let other = graphql(
        &referent,
        &format!("{{ school(uai: \"{COLLEGE_32}\") {{ name }} }}"),
    )
    .await;
    assert!(
        other["data"]["school"].is_null() && other["errors"].is_null(),
        "{other}"
    );

    // Pages: one at a time, the cursor leads on.
    let first = graphql(
        &manager,
        "{ schools(first: 2) { pageInfo { hasNextPage endCursor } edges { node { uai } } } }",
    )
    .await;
    assert_eq!(first["data"]["schools"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["data"]["schools"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap();
    let next = graphql(
        &manager,
        &format!(
            "{{ schools(first: 2, after: \"{cursor}\") {{ pageInfo {{ hasNextPage hasPreviousPage }} edges {{ node {{ uai }} }} }} }}"
        ),
    )
    .await;
    assert_eq!(
        next["data"]["schools"]["edges"].as_array().unwrap().len(),
        1
    );
    assert_eq!(next["data"]["schools"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(next["data"]["schools"]["pageInfo"]["hasPreviousPage"], true);

    // Text search ignores case and accents.
    let found = graphql(
        &manager,
        "{ schools(search: \"ETABLISSEMENT 0320\") { totalCount } }",
    )
    .await;
    assert_eq!(found["data"]["schools"]["totalCount"], 1, "{found}");

    // Trainings: the Gers' one is not the referent's; the academy's is everyone's.
    for (title, department) in [("MPP Gers", Some("32")), ("Pilotes", None)] {
        let (status, body) = manager
            .post(
                "/api/v1/trainings",
                json!({"title": title, "topic": "mpp", "audience": "équipes", "department": department}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let trainings = "{ trainings { totalCount edges { node { title department } } } }";
    until(&manager, trainings, |b| {
        b["data"]["trainings"]["totalCount"] == 2
    })
    .await;
    let seen = graphql(&referent, trainings).await;
    assert_eq!(names(&seen, "trainings"), ["Pilotes"]);

    // A deployment shows with its team and history.
    let (status, body) = school
        .post(
            "/api/v1/phare/deployments",
            json!({"school_year": "2026-2027", "school_uai": COLLEGE_31}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, body) = school
        .post(
            &format!("/api/v1/phare/deployments/{id}/team-members"),
            json!({"person": {"display_name": "Claire Martin", "email": "claire.martin@ac-toulouse.fr"},
                   "function": "cpe", "trained": true, "training_minutes": 720, "mpp_trained": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let deployments = "{ deployments(schoolYear: \"2026-2027\") { totalCount edges { node { schoolUai teamMembers trainedMembers history { eventType } } } } }";
    let found = until(&referent, deployments, |b| {
        b["data"]["deployments"]["edges"][0]["node"]["teamMembers"] == 1
    })
    .await;
    let node = &found["data"]["deployments"]["edges"][0]["node"];
    assert_eq!(node["trainedMembers"], 1, "{found}");
    assert_eq!(node["history"].as_array().unwrap().len(), 2, "{found}");
    let outside = graphql(
        &app.user("department_referent", Some("32")).await,
        deployments,
    )
    .await;
    assert_eq!(outside["data"]["deployments"]["totalCount"], 0, "{outside}");

    // No personal data in the tables: the member's name is nowhere.
    let live = pharos_read_model::tables::live(&app.store.db())
        .await
        .unwrap();
    let sql = format!("SELECT id FROM {}", live.table("rm_team_members"));
    let text: Vec<String> = pharos_eventstore::on_db!(app.store.db(), |pool| sqlx::query_scalar(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_all(&pool)
    .await)
    .unwrap();
    assert_eq!(text.len(), 1);
    app.finish().await;
}

async fn hostile_or_anonymous_queries_are_refused(db: TestDb) {
    let app = TestApp::builder(db).targets(&["read-model"]).start().await;
    let manager = app.user("pole_manager", None).await;

    // Depth 30, through introspection's nesting.
    let mut deep = String::from("name");
    for _ in 0..28 {
        deep = format!("ofType {{ {deep} }}");
    }
    // Twice: the second is parsed from the first's copy, and is checked again.
    for _ in 0..2 {
        let body = graphql(
            &manager,
            &format!("{{ __schema {{ types {{ {deep} }} }} }}"),
        )
        .await;
        assert!(body["data"].is_null(), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("Requête trop profonde"),
            "{body}"
        );
    }
    // A query that does not parse is told so each time (nothing parsed is kept for it).
    for _ in 0..2 {
        let body = graphql(&manager, "{ schools(first: 5) { totalCount }").await;
        assert!(body["data"].is_null(), "{body}");
        assert!(body["errors"][0]["locations"][0]["line"] == 1, "{body}");
    }

    let body = graphql(
        &manager,
        "{ schools(first: 100000) { edges { node { uai } } } }",
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Requête trop coûteuse") || message.starts_with("« first »"),
        "{body}"
    );

    let aliases: String = (0..500)
        .map(|i| format!("a{i}: schools(first: 100) {{ edges {{ node {{ uai }} }} }} "))
        .collect();
    let body = graphql(&manager, &format!("{{ {aliases} }}")).await;
    assert!(body["data"].is_null(), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Requête trop coûteuse"),
        "{body}"
    );

    let body = graphql(&manager, "{ schools(first: 0) { totalCount } }").await;
    assert_eq!(
        body["errors"][0]["message"],
        "« first » : entre 1 et 100 éléments par page (0 demandés)."
    );

    let (status, problem) = app
        .anonymous()
        .post("/graphql", json!({"query": "{ me { id } }"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");

    let me = graphql(&manager, "{ me { role roleLabel scope } }").await;
    assert_eq!(me["data"]["me"]["roleLabel"], "pôle académique", "{me}");
    app.finish().await;
}

/// Tables rebuilt from the start of the log equal those built as events came (row
/// checksums of every table), and the API answers from them after the switch.
async fn a_rebuild_equals_the_tables_built_as_events_came(db: TestDb) {
    let app = TestApp::builder(db)
        .targets(&["read-model", "trainings", "phare"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    for (uai, department) in [(COLLEGE_31, "31"), (LYCEE_31, "31"), (COLLEGE_32, "32")] {
        app.school(uai, "college", department).await;
    }
    let (_, training) = manager
        .post(
            "/api/v1/trainings",
            json!({"title": "MPP", "topic": "mpp", "audience": "équipes", "department": "31"}),
        )
        .await;
    let (status, session) = manager
        .post(
            &format!("/api/v1/trainings/{}/sessions", training["id"].as_str().unwrap()),
            json!({
                "starts_at": "2027-01-14T09:00:00+01:00", "ends_at": "2027-01-14T17:00:00+01:00",
                "slots": [{"starts_at": "2027-01-14T09:00:00+01:00", "ends_at": "2027-01-14T12:00:00+01:00"}],
                "location": "Canopé", "capacity": 1, "planned_minutes": 180
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let session = session["id"].as_str().unwrap();
    for n in 1..=2 {
        let (status, body) = manager
            .post(
                &format!("/api/v1/sessions/{session}/registrations"),
                json!({"person": {"email": format!("p{n}@ac-toulouse.fr"), "display_name": format!("P {n}"),
                                  "school_uai": COLLEGE_31, "function": "CPE"}, "mode": "designated"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, deployment) = manager
        .post(
            "/api/v1/phare/deployments",
            json!({"school_year": "2026-2027", "school_uai": COLLEGE_32}),
        )
        .await;
    let deployment = deployment["id"].as_str().unwrap();
    let (status, body) = manager
        .post(
            &format!("/api/v1/phare/deployments/{deployment}/charter"),
            json!({"signed_on": "2026-09-15"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Caught up: the last change shows, and the live generation's checkpoint holds the
    // last event.
    until(
        &manager,
        "{ deployments { edges { node { charterSignedOn } } } }",
        |b| b["data"]["deployments"]["edges"][0]["node"]["charterSignedOn"] == "2026-09-15",
    )
    .await;
    let db = app.store.db();
    let live = pharos_read_model::tables::live(&db).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let head = app
            .store
            .read_all(Default::default(), usize::MAX / 2, &[])
            .await
            .unwrap();
        let last = head.last().unwrap().position;
        if app.store.checkpoint(&live.checkpoint()).await.unwrap() >= last {
            break;
        }
        assert!(Instant::now() < deadline, "the projector never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let built = pharos_read_model::tables::checksums(&db, live)
        .await
        .unwrap();
    let done = pharos_read_model::rebuild(&app.store, Duration::ZERO, true, |_, _| {})
        .await
        .unwrap();
    assert_eq!(done.previous, live);
    assert!(done.events > 10, "{done:?}");
    // On PostgreSQL a read stops below a transaction still writing: the rebuild may end a
    // few events short, which the live projector then applies to the new generation.
    let target = app.store.checkpoint(&live.checkpoint()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store.checkpoint(&done.live.checkpoint()).await.unwrap() < target {
        assert!(
            Instant::now() < deadline,
            "the new generation never caught up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rebuilt = pharos_read_model::tables::checksums(&db, done.live)
        .await
        .unwrap();
    assert_eq!(built, rebuilt);
    assert!(
        built
            .iter()
            .any(|(table, _)| table.starts_with("rm_registrations (2 lignes)")),
        "{built:?}"
    );
    // The rebuilt tables carry the planner's statistics (SQLite gathers none by itself).
    let schools = done.live.table("rm_schools");
    let analysed = match &db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_stat1 WHERE tbl = $1")
                .bind(&schools)
                .fetch_one(pool)
                .await
                .unwrap()
                > 0
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar::<_, f32>("SELECT reltuples FROM pg_class WHERE relname = $1")
                .bind(&schools)
                .fetch_one(pool)
                .await
                .unwrap()
                >= 0.0
        }
    };
    assert!(analysed, "{schools} has no statistics");

    // The API reads the rebuilt tables.
    let sessions = graphql(
        &manager,
        &format!("{{ session(id: \"{session}\") {{ confirmed waitlisted }} }}"),
    )
    .await;
    assert_eq!(sessions["data"]["session"]["confirmed"], 1, "{sessions}");
    assert_eq!(sessions["data"]["session"]["waitlisted"], 1, "{sessions}");
    // And the live projector follows the new generation.
    let (status, body) = manager
        .post(
            &format!("/api/v1/sessions/{session}/registrations"),
            json!({"person": {"email": "p3@ac-toulouse.fr", "display_name": "P 3",
                              "school_uai": COLLEGE_31, "function": "CPE"}, "mode": "designated"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    until(
        &manager,
        &format!("{{ session(id: \"{session}\") {{ waitlisted }} }}"),
        |b| b["data"]["session"]["waitlisted"] == 2,
    )
    .await;

    // Every projection rebuilt together: each one's progress counts, as its total, the
    // events it then applies (the log counted once for all, by category).
    use futures::StreamExt as _;
    let totals = std::sync::Mutex::new(std::collections::HashMap::new());
    let progress = |projection: &'static pharos_read_model::Descriptor, _: usize, total: u64| {
        totals.lock().unwrap().insert(projection.name, total);
    };
    let all = pharos_read_model::tables::all();
    let rebuilds = pharos_read_model::rebuild_each(&app.store, all.clone(), 2, false, &progress)
        .await
        .unwrap();
    let applied: std::collections::HashMap<&str, usize> = rebuilds
        .map(|(projection, done)| (projection.name, done.unwrap().events))
        .collect()
        .await;
    assert_eq!(applied.len(), all.len(), "{applied:?}");
    let totals = totals.into_inner().unwrap();
    for (name, events) in &applied {
        if *events > 0 {
            assert_eq!(
                totals.get(name).copied(),
                Some(*events as u64),
                "{name}: {totals:?} {applied:?}"
            );
        }
    }
    for name in ["read-model", "indicator-trainings", "indicator-phare-steps"] {
        assert!(applied[name] > 0, "{name}: {applied:?}");
    }
    app.finish().await;
}

/// Cohorts and national-day actions show to their school, their department's referent
/// and the pole, counted without names; an action of two departments shows in both.
async fn cohorts_and_actions_are_listed_in_scope(db: TestDb) {
    let files = std::env::temp_dir().join(format!("pharos-rm-files-{}", uuid::Uuid::now_v7()));
    let dir = files.display().to_string();
    let app = TestApp::builder(db)
        .targets(&["read-model", "cohorts", "national-day", "contests"])
        .at(pharos_test_support::instant("2026-11-20T10:00:00+01:00"))
        .configure(|raw| raw.files_dir = Some(dir))
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    app.school(COLLEGE_32, "college", "32").await;
    let school = app.user("school", Some(COLLEGE_31)).await;
    let (status, body) = school
        .post(
            "/api/v1/cohorts",
            json!({"school_uai": COLLEGE_31, "school_year": "2026-2027", "kind": "eleves_college",
                   "referent": {"display_name": "Nora CPE", "email": "nora.cpe@ac-toulouse.fr"},
                   "counts": {"6e": 4, "5e": 3}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = school
        .post(
            "/api/v1/national-days/2026-2027/actions",
            json!({"school_uais": [COLLEGE_31, COLLEGE_32], "date": "2026-11-05", "types": ["atelier"],
                   "audience_levels": ["6e"], "pupils_reached": 120, "adults_reached": 4,
                   "partners": [], "description": "Ateliers inter-établissements", "held": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, contest) = manager
        .post(
            "/api/v1/contests",
            json!({
                "school_year": "2026-2027", "opens_at": "2026-11-02",
                "submission_deadline": "2027-02-12T23:59", "jury_on": "2027-03-18",
                "categories": [{"level": "college", "medium": "affiche"}],
                "rules": {"media": ["affiche"], "max_file_bytes": 1048576, "file_types": ["png", "pdf"],
                          "max_entries_per_group": 1, "nominees_per_category": 1}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contest}");
    let (status, body) = school
        .post(
            &format!("/api/v1/contests/{}/entries", contest["id"].as_str().unwrap()),
            json!({"school_uai": COLLEGE_31, "category": "college_affiche", "title": "Briser le silence",
                   "special_prizes": [],
                   "group": {"label": "5e B", "levels": ["5e"], "pupil_count": 24, "adult_count": 2},
                   "responsible": {"display_name": "Camille Martin", "email": "camille.martin@ac-toulouse.fr"},
                   "project_sheet": "Une affiche."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let query = "{ cohorts { totalCount edges { node { kind status pupils } } } actions { totalCount edges { node { campaign pupilsReached types status } } } entries { totalCount edges { node { title pupilCount status } } } }";
    let seen = until(&manager, query, |b| {
        b["data"]["cohorts"]["totalCount"] == 1
            && b["data"]["actions"]["totalCount"] == 1
            && b["data"]["entries"]["totalCount"] == 1
    })
    .await;
    assert_eq!(
        seen["data"]["entries"]["edges"][0]["node"]["pupilCount"], 24,
        "{seen}"
    );
    assert_eq!(
        seen["data"]["cohorts"]["edges"][0]["node"]["pupils"], 7,
        "{seen}"
    );
    assert_eq!(
        seen["data"]["actions"]["edges"][0]["node"]["pupilsReached"], 120,
        "{seen}"
    );
    for department in ["31", "32"] {
        let referent = app.user("department_referent", Some(department)).await;
        let body = graphql(&referent, query).await;
        assert_eq!(
            body["data"]["actions"]["totalCount"], 1,
            "{department}: {body}"
        );
        let cohorts = if department == "31" { 1 } else { 0 };
        assert_eq!(
            body["data"]["cohorts"]["totalCount"], cohorts,
            "{department}: {body}"
        );
    }
    let other = app.user("department_referent", Some("82")).await;
    let body = graphql(&other, query).await;
    assert_eq!(body["data"]["actions"]["totalCount"], 0, "{body}");
    assert_eq!(body["data"]["entries"]["totalCount"], 0, "{body}");
    app.finish().await;
    let _ = std::fs::remove_dir_all(files);
}

/// Tables built with other definitions than the code's are rebuilt into a new
/// generation by the projector itself, while the API reads the old one.
async fn changed_definitions_are_rebuilt_by_the_projector(db: TestDb) {
    let app = TestApp::builder(db).targets(&["read-model"]).start().await;
    let manager = app.user("pole_manager", None).await;
    app.school(COLLEGE_31, "college", "31").await;
    let db = app.store.db();
    let before = pharos_read_model::tables::live(&db).await.unwrap();
    pharos_eventstore::on_db!(&db, |pool| sqlx::query(
        "UPDATE rm_generations SET definition = definition - 1"
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (live, definition, _) = pharos_read_model::tables::state(&db)
            .await
            .unwrap()
            .unwrap();
        if live != before && definition == pharos_read_model::tables::DEFINITION {
            break;
        }
        assert!(Instant::now() < deadline, "never rebuilt");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = until(&manager, "{ schools { totalCount } }", |b| {
        b["data"]["schools"]["totalCount"] == 1
    })
    .await;
    assert_eq!(body["data"]["schools"]["totalCount"], 1);
    app.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-read-model";
    cohorts_and_actions_are_listed_in_scope,
    changed_definitions_are_rebuilt_by_the_projector,
    a_rebuild_equals_the_tables_built_as_events_came,
    lists_follow_the_commands_and_each_caller_sees_its_scope,
    hostile_or_anonymous_queries_are_refused,
);
