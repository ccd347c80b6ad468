//! The `pharos` binary as separate processes: two targets against one PostgreSQL
//! database, and the event store benchmark's output.
//!
//! The binary is the one `cargo nextest run --workspace` builds for the `pharos`
//! package's own integration tests (`target/<profile>/pharos`).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use pharos_e2e::{Served, TestDb};

use sqlx::Connection;

fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/e2e-<hash> → target/<profile>/pharos
    let path = exe.parent().unwrap().parent().unwrap().join("pharos");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p pharos` (cargo nextest run --workspace does)",
        path.display()
    );
    path
}

fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(std::env::var_os("CI").is_none(), "CI must set DATABASE_URL");
            eprintln!("DATABASE_URL unset: PostgreSQL end-to-end test skipped");
            None
        }
    }
}

/// The master key both processes share, as production gives it to every target.
const MASTER_KEY: &str = "8f1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0";

fn serve(target: &str, database_url: &str) -> Served {
    let mut command = Command::new(binary());
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--target", target])
        .args(["--database-url", database_url])
        .env("PHAROS_MASTER_KEY", MASTER_KEY);
    Served::start(command)
}

#[tokio::test]
async fn trainings_and_read_model_run_as_two_processes_on_one_postgres_database() {
    let Some(db) = TestDb::postgres("pharos_e2e").await else {
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
    bench("sqlite", None);
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
    tokio::task::spawn_blocking(move || bench("postgres", Some(&admin_for_bench)))
        .await
        .unwrap();
    assert_eq!(count().await, before);
}
