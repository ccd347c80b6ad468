//! Scratch databases on both backends, and `pharos` run as a separate process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `pharos serve`.
#[derive(Debug)]
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:<port>`, read from the line the server prints once it listens.
    pub base: String,
    /// What the process writes on stderr (its log), gathered until it exits.
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// A test that fails before stopping its processes does not leave them running.
impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Served {
    /// Starts `command` (a `pharos serve ... --addr 127.0.0.1:0`) and waits until it listens.
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pharos starts");
        let log = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(log), &mut text);
            text
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(base) = line.split_whitespace().find(|w| w.starts_with("http://")) else {
            // It stopped before listening: its log says why.
            let _ = child.wait();
            let log = stderr.join().unwrap_or_default();
            panic!("pharos did not start (no address in {line:?}):\n{log}");
        };
        let base = base.to_owned();
        Self {
            child,
            base,
            stderr: Some(stderr),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash or the OOM killer stops a process: no clean-up runs. Returns
    /// what it logged.
    pub fn kill(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.log()
    }

    /// What the process logged, once it has exited.
    fn log(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }

    /// Sends SIGTERM and expects a clean exit within 10 s, with no warning or error
    /// logged on the way out (background tasks stop before the pool closes).
    pub fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = self.log();
                assert!(
                    status.success(),
                    "pharos exited with {status} on SIGTERM:\n{log}"
                );
                let stopping = log.split("shutting down").nth(1).unwrap_or_default();
                // sqlx's note that a connection took long to come (begun during an outage
                // a test caused, ended after the signal) says nothing of the stop itself.
                let faults = stopping
                    .lines()
                    .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                    .filter(|l| !l.contains("time to acquire exceeded slow threshold"))
                    .count();
                assert!(
                    faults == 0,
                    "pharos logged a fault while stopping:\n{stopping}"
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill().unwrap();
        panic!("pharos did not stop within 10 s of SIGTERM");
    }
}

/// A database of a test's own: a temporary SQLite file, or a PostgreSQL database created
/// next to `DATABASE_URL`. `finish` removes it (a failing test leaves it for a look).
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Sqlite(std::path::PathBuf),
    Postgres { admin: String, name: String },
}

impl TestDb {
    pub fn sqlite(prefix: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("{prefix}-{}.db", uuid::Uuid::now_v7().simple()));
        Self {
            url: format!("sqlite://{}", path.display()),
            kind: Kind::Sqlite(path),
        }
    }

    /// `None` (and a line saying so) when `DATABASE_URL` is unset; under `CI` that is a
    /// failure, since CI must run both backends.
    pub async fn postgres(prefix: &str) -> Option<Self> {
        use sqlx::Connection;
        let Ok(admin) = std::env::var("DATABASE_URL") else {
            assert!(std::env::var_os("CI").is_none(), "CI must set DATABASE_URL");
            eprintln!("DATABASE_URL unset: PostgreSQL variant skipped");
            return None;
        };
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        Some(Self {
            url: format!("{base}/{name}"),
            kind: Kind::Postgres { admin, name },
        })
    }

    /// The SQLite file, when it is one.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.kind {
            Kind::Sqlite(path) => Some(path),
            Kind::Postgres { .. } => None,
        }
    }

    pub async fn finish(self) {
        use sqlx::Connection;
        match self.kind {
            Kind::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Kind::Postgres { admin, name } => {
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
            }
        }
    }
}

/// Runs each named `async fn(TestDb)` twice: in module `sqlite` on a scratch SQLite
/// file, and in module `postgres` on a scratch PostgreSQL database (skipped without
/// `DATABASE_URL`, a failure under `CI`). `$prefix` names the scratch databases.
#[macro_export]
macro_rules! on_both_backends {
    ($prefix:literal; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::TestDb::sqlite($prefix)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(db) = $crate::TestDb::postgres(&$prefix.replace('-', "_")).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}
