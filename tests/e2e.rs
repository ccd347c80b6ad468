//! The `pharos` binary as separate processes: two targets against one PostgreSQL
//! database, and the event store benchmark's output; the schema fuzz of the whole API
//! (`fuzz.rs`); the web pages in a real browser (`browser*.rs`); the multi-process layout
//! behind nginx and `deploy/` (`deploy.rs`); a school year end to end in both shapes
//! (`year.rs`); faults: processes killed (`faults.rs`), PostgreSQL restarted and a full
//! disk (`faults_infra.rs`).
//!
//! The binary is the one `cargo nextest run --workspace` builds for the `pharos`
//! package's own integration tests (`target/<profile>/pharos`).
#![allow(clippy::unwrap_used)]

mod browser;
mod browser_juror;
mod browser_phare;
mod browser_pole;
mod browser_referent;
mod browser_school;
mod browser_trainings;
mod deploy;
mod faults;
mod faults_infra;
mod fuzz;
mod year;

use std::process::Command;

use pharos_test_support::TestDb;
use pharos_test_support::process::{ADMIN, PASSWORD, binary, database_url, login, serve};

use sqlx::Connection;

/// Two replicas of `directory`: both bootstrap at once (one administrator results), a
/// token issued by one is accepted by the other without any call between them, and a
/// deactivation made on one reaches the other through the event log.
#[tokio::test]
async fn two_directory_replicas_share_tokens_and_deactivations() {
    let Some(db) = TestDb::postgres("pharos_test_support_dir").await else {
        return;
    };
    let a = serve("directory", &db.url);
    let b = serve("directory", &db.url);
    let client = reqwest::Client::new();
    let admin = login(&client, &a.base, ADMIN, PASSWORD).await;
    let created: serde_json::Value = client
        .post(format!("{}/api/v1/users", a.base))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "email": "formatrice@ac-toulouse.fr", "display_name": "Formatrice",
            "role": "trainer", "password": PASSWORD
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let trainer = login(&client, &a.base, "formatrice@ac-toulouse.fr", PASSWORD).await;
    let me_on_b = || {
        client
            .get(format!("{}/api/v1/me", b.base))
            .bearer_auth(&trainer)
            .send()
    };
    assert_eq!(me_on_b().await.unwrap().status(), 200);

    let deactivated = client
        .post(format!("{}/api/v1/users/{id}/deactivate", a.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), 200);
    let mut status = 200;
    for _ in 0..100 {
        status = me_on_b().await.unwrap().status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        status, 401,
        "replica b still accepts a deactivated account's token"
    );

    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let admins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'user_created' AND data->>'role' = 'admin'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        admins, 1,
        "two replicas bootstrapping at once make one administrator"
    );
    conn.close().await.unwrap();
    a.stop();
    b.stop();
    db.finish().await;
}

/// `trainings` in its own process trusts tokens issued by `directory` in another one,
/// knows the schools and accounts `directory` records, and stops accepting a token
/// once its account is deactivated there: all through the event log, no call between
/// them.
#[tokio::test]
async fn a_trainings_process_trusts_the_directory_process_through_the_log() {
    let Some(db) = TestDb::postgres("pharos_test_support_access").await else {
        return;
    };
    let directory = serve("directory", &db.url);
    let trainings = serve("trainings", &db.url);
    let client = reqwest::Client::new();
    let admin = login(&client, &directory.base, ADMIN, PASSWORD).await;
    let created: serde_json::Value = client
        .post(format!("{}/api/v1/users", directory.base))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "email": "referente31@ac-toulouse.fr", "display_name": "Référente 31",
            "role": "department_referent", "scope": "31", "password": PASSWORD
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let referent = login(
        &client,
        &directory.base,
        "referente31@ac-toulouse.fr",
        PASSWORD,
    )
    .await;
    let create = |department: &'static str| {
        client
            .post(format!("{}/api/v1/trainings", trainings.base))
            .bearer_auth(&referent)
            .json(&serde_json::json!({
                "title": "Préoccupation partagée", "topic": "mpp",
                "audience": "équipes ressources", "department": department
            }))
            .send()
    };
    assert_eq!(create("31").await.unwrap().status(), 201);
    assert_eq!(
        create("32").await.unwrap().status(),
        403,
        "out of her department"
    );

    let deactivated = client
        .post(format!(
            "{}/api/v1/users/{}/deactivate",
            directory.base,
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), 200);
    let mut status = 201;
    for _ in 0..100 {
        status = create("31").await.unwrap().status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        status, 401,
        "the trainings process still accepts a deactivated account"
    );
    directory.stop();
    trainings.stop();
    db.finish().await;
}

#[test]
fn the_import_benchmark_prints_its_passes_as_json() {
    let out = Command::new(binary())
        .args(["bench", "import", "--backend", "sqlite", "--lines", "200"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let figures: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(figures["lines"], 200);
    for pass in ["first", "unchanged", "one_in_ten_changed"] {
        let rate = figures[format!("import_{pass}_lines_per_s")]
            .as_f64()
            .unwrap();
        assert!(rate > 0.0, "{pass}: {rate}");
    }
}

#[test]
fn the_registrations_benchmark_prints_its_ratio_steps_and_cpu_as_json() {
    let out = Command::new(binary())
        .args([
            "bench",
            "registrations",
            "--backend",
            "sqlite",
            "--registrations",
            "80",
            "--callers",
            "2",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let figures: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(figures["registrations"], 80, "{figures}");
    assert!(figures["ratio"].as_f64().unwrap() > 0.0, "{figures}");
    // SQLite runs in this process: all of a registration's CPU is the process's (read in
    // ticks of 10 ms: the 80 bare appends may take less than one).
    let registration = &figures["cpu_per_registration"];
    assert!(
        registration["process_ms"].as_f64().unwrap() > 0.0,
        "{figures}"
    );
    assert!(
        registration["cores_busy"].as_f64().unwrap() > 0.0,
        "{figures}"
    );
    assert!(
        figures["cpu_per_append"]["process_ms"].as_f64().unwrap() >= 0.0,
        "{figures}"
    );
    assert!(
        figures["shares"]["linked_append"].as_f64().unwrap() > 0.0,
        "{figures}"
    );
}

#[tokio::test]
async fn trainings_and_read_model_run_as_two_processes_on_one_postgres_database() {
    let Some(db) = TestDb::postgres("pharos_test_support").await else {
        return;
    };
    // Both processes migrate at start, at the same time: sqlx's migration lock serialises them.
    let trainings = serve("trainings", &db.url);
    let read_model = serve("read-model", &db.url);
    let client = reqwest::Client::new();
    for (base, mine, other) in [
        (&trainings.base, "trainings", "read-model"),
        (&read_model.base, "read-model", "trainings"),
    ] {
        let ready: serde_json::Value = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["backend"], "postgres");
        assert_eq!(ready["targets"], serde_json::json!([mine]));
        let own = client
            .get(format!("{base}/api/v1/targets/{mine}"))
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), 200);
        let foreign = client
            .get(format!("{base}/api/v1/targets/{other}"))
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 404, "{mine} must not serve {other}");
    }
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let migrations: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(migrations >= 1);
    conn.close().await.unwrap();
    trainings.stop();
    read_model.stop();
    db.finish().await;
}

fn bench(backend: &str, database_url: Option<&str>) -> serde_json::Value {
    let mut command = Command::new(binary());
    command.args([
        "bench",
        "eventstore",
        "--backend",
        backend,
        "--events",
        "320",
        "--hot-events",
        "40",
        "--replay-events",
        "3000",
    ]);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let out = command.output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    // Its background tasks stop before the pool closes: nothing to warn about.
    assert!(
        !log.contains("WARN") && !log.contains("ERROR"),
        "the benchmark logged a fault:\n{log}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    let figures: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(figures["backend"], backend);
    for key in [
        "append_1",
        "append_8",
        "append_32",
        "raw_8",
        "ratio_8",
        "hot_stream",
        "hot_stream_p99_ms",
        "replay_memory",
        "replay_table",
    ] {
        let value = figures[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing in {last}"));
        assert!(value > 0.0, "{key} = {value}");
    }
    figures
}

#[test]
fn the_sqlite_benchmark_prints_every_figure_as_json_on_its_last_line() {
    let figures = bench("sqlite", None);
    // The indexed floor is PostgreSQL's: SQLite's raw floor commits each row alone.
    assert!(figures["raw_8_indexed"].is_null(), "{figures}");
}

#[tokio::test]
async fn the_postgres_benchmark_prints_every_figure_and_leaves_no_database_behind() {
    let Some(admin) = database_url() else { return };
    let count = || async {
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'pharos_bench_%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        n
    };
    let before = count().await;
    let admin_for_bench = admin.clone();
    let figures = tokio::task::spawn_blocking(move || bench("postgres", Some(&admin_for_bench)))
        .await
        .unwrap();
    for key in ["raw_8_indexed", "ratio_8_indexed", "indexes_ratio_8"] {
        let value = figures[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing in {figures}"));
        assert!(value > 0.0, "{key} = {value}");
    }
    assert_eq!(count().await, before);
}

/// Routes and documentation come from one list per target; this checks the other way
/// round on the assembled application: every operation the served document names answers
/// from a route (not the "no route" fallback, not "method not allowed").
async fn every_documented_operation_is_routed(db: TestDb) {
    use pharos_test_support::{TestApp, rule};
    let app = TestApp::builder(db).targets(&["all"]).start().await;
    let anonymous = app.anonymous();
    let (status, document) = anonymous.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "0193a4b0-0000-7000-8000-000000000000"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = anonymous
                .call(method.clone(), &concrete, serde_json::Value::Null)
                .await;
            assert!(
                !["no-route", "method-not-allowed"].contains(&rule(&body)),
                "{method} {path}: {status} {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} operations");
    app.finish().await;
}

/// A malformed id in a path is a 404 problem naming the parameter, not axum's plain-text
/// 400; a query string that does not parse is a 400 problem.
async fn malformed_paths_and_queries_answer_problems(db: TestDb) {
    use pharos_test_support::{TestApp, rule};
    let app = TestApp::builder(db)
        .targets(&["trainings", "phare"])
        .start()
        .await;
    let manager = app.user("pole_manager", None).await;
    for path in [
        "/api/v1/sessions/null,null",
        "/api/v1/trainings/not-a-uuid",
        "/api/v1/phare/deployments/12",
    ] {
        let response = manager
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(rule(&body), "malformed-identifier", "{path}: {body}");
        assert_eq!(body["errors"][0]["field"], "id", "{path}: {body}");
    }
    // A second parameter, read by position, is named too.
    let path = "/api/v1/sessions/0193a4b0-0000-7000-8000-000000000000/registrations/nope/withdraw";
    let (status, body) = manager.post(path, serde_json::Value::Null).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(rule(&body), "malformed-identifier", "{body}");
    assert_eq!(body["errors"][0]["field"], "rid", "{body}");
    let (status, body) = manager.get("/api/v1/partners?needs_review=peut-etre").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(rule(&body), "invalid-query", "{body}");
    app.finish().await;
}

mod http {
    pub(super) use super::{
        every_documented_operation_is_routed, malformed_paths_and_queries_answer_problems,
    };
    pharos_test_support::on_both_backends!("routes"; every_documented_operation_is_routed, malformed_paths_and_queries_answer_problems);
}

/// The overlap rule across processes: the same person registered in two overlapping
/// sessions at the same instant, through two `trainings` processes on one database, is
/// confirmed in exactly one; the other is refused (`overlapping-session`). The person's
/// schedule stream decides it with optimistic concurrency, not either process's memory.
#[tokio::test]
async fn two_trainings_processes_confirm_one_of_two_overlapping_registrations() {
    let Some(db) = TestDb::postgres("pharos_test_support_overlap").await else {
        return;
    };
    let directory = serve("directory", &db.url);
    let a = serve("trainings", &db.url);
    let b = serve("trainings", &db.url);
    let client = reqwest::Client::new();
    let admin = login(&client, &directory.base, ADMIN, PASSWORD).await;
    let created = client
        .post(format!("{}/api/v1/users", directory.base))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "email": "referente31@ac-toulouse.fr", "display_name": "Référente 31",
            "role": "department_referent", "scope": "31", "password": PASSWORD
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let referent = login(
        &client,
        &directory.base,
        "referente31@ac-toulouse.fr",
        PASSWORD,
    )
    .await;
    let post = |url: String, body: serde_json::Value| {
        let request = client.post(url).bearer_auth(&referent).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, body)
        }
    };
    let (status, training) = post(
        format!("{}/api/v1/trainings", a.base),
        serde_json::json!({
            "title": "Préoccupation partagée", "topic": "mpp",
            "audience": "équipes ressources", "department": "31"
        }),
    )
    .await;
    assert_eq!(status, 201, "{training}");
    let training = training["id"].as_str().unwrap().to_owned();
    let mut sessions = Vec::new();
    for (starts_at, ends_at) in [
        ("2030-03-04T09:00:00+01:00", "2030-03-04T17:00:00+01:00"),
        ("2030-03-04T13:30:00+01:00", "2030-03-04T17:00:00+01:00"),
    ] {
        let (status, session) = post(
            format!("{}/api/v1/trainings/{training}/sessions", a.base),
            serde_json::json!({
                "starts_at": starts_at, "ends_at": ends_at,
                "slots": [{"starts_at": starts_at, "ends_at": ends_at}],
                "location": "Atelier Canopé, Toulouse", "capacity": 20,
                "planned_minutes": 60, "trainers": []
            }),
        )
        .await;
        assert_eq!(status, 201, "{session}");
        let id = session["id"].as_str().unwrap().to_owned();
        let (status, body) = post(
            format!("{}/api/v1/sessions/{id}/open", a.base),
            serde_json::Value::Null,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        sessions.push(id);
    }
    for n in 0..10 {
        let person = serde_json::json!({
            "person": {"email": format!("personne{n}@ac-toulouse.fr"),
                       "display_name": format!("Personne {n}"), "function": "CPE"},
            "mode": "designated"
        });
        let (first, second) = tokio::join!(
            post(
                format!("{}/api/v1/sessions/{}/registrations", a.base, sessions[0]),
                person.clone(),
            ),
            post(
                format!("{}/api/v1/sessions/{}/registrations", b.base, sessions[1]),
                person.clone(),
            ),
        );
        let mut outcomes = [&first, &second].map(|(status, body)| {
            let outcome = match status {
                201 => body["status"].as_str().unwrap_or_default().to_owned(),
                _ => body["type"].as_str().unwrap_or_default().to_owned(),
            };
            (*status, outcome)
        });
        outcomes.sort();
        assert!(
            outcomes[0] == (201, "confirmed".to_owned())
                && outcomes[1].0 == 409
                && outcomes[1].1.ends_with("overlapping-session"),
            "person {n}: {first:?} / {second:?}"
        );
    }
    directory.stop();
    a.stop();
    b.stop();
    db.finish().await;
}
