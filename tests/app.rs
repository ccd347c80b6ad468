//! The HTTP test harness: the application as `pharos serve` assembles it, on
//! `127.0.0.1:0`, driven by a real HTTP client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use pharos::Pharos;
use pharos::config::RawConfig;
use pharos_decider::ManualClock;
use pharos_eventstore::{EventStore, on_db};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::TestDb;

/// The first administrator of every test application.
pub const ADMIN: &str = "admin@ac-toulouse.fr";
/// The password of every account the harness creates.
pub const PASSWORD: &str = "mot-de-passe-de-test";

/// An instant from RFC 3339 text (`2026-12-03T10:00:00+01:00`).
pub fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The rule a problem names: the last segment of its `type`
/// (`…/problems/session-full` → `session-full`).
pub fn rule(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
}

/// The sum of the samples of `name` whose labels include each of `labels`, as the
/// `/metrics` of the server at `base` shows them now.
pub async fn metric(http: &reqwest::Client, base: &str, name: &str, labels: &[&str]) -> f64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| {
            line.split(['{', ' ']).next() == Some(name)
                && labels.iter().all(|label| line.contains(label))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// How to start a [`TestApp`].
pub struct TestAppBuilder {
    db: TestDb,
    targets: Vec<&'static str>,
    now: DateTime<Utc>,
    raw: RawConfig,
}

impl TestAppBuilder {
    /// The targets to serve (`directory` is always served: it issues the accounts).
    #[must_use]
    pub fn targets(mut self, targets: &[&'static str]) -> Self {
        self.targets = targets.to_vec();
        self
    }

    /// The instant the manual clock starts at (by default, now).
    #[must_use]
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Changes settings before they are checked (limits, cookies, the academy).
    #[must_use]
    pub fn configure(mut self, change: impl FnOnce(&mut RawConfig)) -> Self {
        change(&mut self.raw);
        self
    }

    /// Assembles and serves the application on a free local port.
    pub async fn start(self) -> TestApp {
        let mut targets = vec!["directory"];
        targets.extend(self.targets.iter().filter(|t| **t != "directory"));
        // Every test application has a vault key of its own.
        let master_key = format!(
            "{}{}",
            uuid::Uuid::now_v7().simple(),
            uuid::Uuid::now_v7().simple()
        );
        // Bound first: the web pages call the API at this very address.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Files and mails in a folder of the test's own, not in the crate's `data/`.
        let scratch = std::env::temp_dir().join(format!("pharos-app-{}", uuid::Uuid::now_v7()));
        let within = |name: &str| Some(scratch.join(name).display().to_string());
        let raw = RawConfig {
            api_url: self.raw.api_url.clone().or_else(|| Some(base.clone())),
            files_dir: self.raw.files_dir.clone().or_else(|| within("files")),
            outbox_dir: self.raw.outbox_dir.clone().or_else(|| within("outbox")),
            database_url: self.db.url.clone(),
            master_key: Some(master_key),
            targets: targets.join(","),
            token_ttl_minutes: 7 * 24 * 60,
            admin_email: Some(ADMIN.into()),
            admin_password: Some(PASSWORD.into()),
            ..self.raw
        };
        let config = raw.check().unwrap();
        let clock = Arc::new(ManualClock::new(self.now));
        let pharos = pharos::assemble(&config, clock.clone()).await.unwrap();
        let stop = CancellationToken::new();
        let router = pharos.router.clone();
        let stopped = stop.clone();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move { stopped.cancelled().await })
            .await
            .unwrap();
        });
        TestApp {
            base,
            http: reqwest::Client::new(),
            store: pharos.store.clone(),
            clock,
            pharos,
            stop,
            server,
            db: self.db,
            scratch,
            accounts: AtomicUsize::new(0),
            manager: tokio::sync::OnceCell::new(),
        }
    }
}

/// The application under test, served on a local port.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub http: reqwest::Client,
    pub store: EventStore,
    pub clock: Arc<ManualClock>,
    pub pharos: Pharos,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<()>,
    db: TestDb,
    /// The folder of its files and mails, removed at the end.
    scratch: std::path::PathBuf,
    accounts: AtomicUsize,
    /// The pole manager the harness registers schools as.
    manager: tokio::sync::OnceCell<Client>,
}

impl TestApp {
    /// The application on `db`, serving `directory` only until told otherwise.
    pub fn builder(db: TestDb) -> TestAppBuilder {
        TestAppBuilder {
            db,
            targets: Vec::new(),
            now: Utc::now(),
            // Twice the default: the tests ask many requests at once.
            raw: RawConfig {
                max_connections: 20,
                ..RawConfig::default()
            },
        }
    }

    /// Stops the server and the application, then drops the scratch database.
    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.server.await;
        self.pharos.stop().await;
        self.db.finish().await;
        let _ = std::fs::remove_dir_all(&self.scratch);
    }

    /// Sets the manual clock.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.clock.set(now);
    }

    /// A client with no session.
    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token: None,
            id: String::new(),
            email: String::new(),
        }
    }

    /// The first administrator, logged in.
    pub async fn admin(&self) -> Client {
        let mut admin = self.login(ADMIN, PASSWORD).await;
        admin.email = ADMIN.into();
        admin
    }

    /// Logs `email` in with `password`; panics unless it succeeds.
    pub async fn login(&self, email: &str, password: &str) -> Client {
        let (status, body) = self
            .anonymous()
            .post(
                "/api/v1/auth/login",
                json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        Client {
            token: Some(body["token"].as_str().unwrap().to_owned()),
            id: body["user"]["id"].as_str().unwrap_or_default().to_owned(),
            email: email.to_owned(),
            ..self.anonymous()
        }
    }

    /// A new account of `role` and `scope` (a department code, a UAI), created by the
    /// administrator under a fresh address, logged in.
    pub async fn user(&self, role: &str, scope: Option<&str>) -> Client {
        let n = self.accounts.fetch_add(1, Ordering::Relaxed);
        let email = format!(
            "{}-{}-{n}@ac-toulouse.fr",
            role.replace('_', "-"),
            scope.unwrap_or("academie").to_lowercase()
        );
        self.user_with_email(&email, role, scope).await
    }

    /// A new account under `email`, logged in.
    pub async fn user_with_email(&self, email: &str, role: &str, scope: Option<&str>) -> Client {
        let (status, body) = self
            .admin()
            .await
            .post(
                "/api/v1/users",
                json!({
                    "email": email, "display_name": email, "role": role, "scope": scope,
                    "password": PASSWORD
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "account {email}: {body}");
        self.login(email, PASSWORD).await
    }

    /// Registers a school (`kind` as the API names it) as a pole manager would.
    pub async fn school(&self, uai: &str, kind: &str, department: &str) {
        let body = if kind == "ecole" {
            json!({
                "uai": uai, "name": format!("École {uai}"), "kind": kind, "sector": "public",
                "department": department, "commune": "Toulouse", "circonscription": "Toulouse Centre"
            })
        } else {
            json!({
                "uai": uai, "name": format!("Établissement {uai}"), "kind": kind,
                "sector": "public", "department": department, "commune": "Toulouse"
            })
        };
        let manager = self
            .manager
            .get_or_init(|| self.user("pole_manager", None))
            .await;
        let (status, answer) = manager.post("/api/v1/schools", body).await;
        assert_eq!(status, StatusCode::CREATED, "school {uai}: {answer}");
    }

    /// How many events the store holds.
    pub async fn events(&self) -> i64 {
        on_db!(self.store.db(), |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM events"
        )
        .fetch_one(&pool)
        .await)
        .unwrap()
    }
}

/// An HTTP client, logged in or not.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    pub http: reqwest::Client,
    /// The session token, when logged in.
    pub token: Option<String>,
    /// The account's id, when logged in.
    pub id: String,
    pub email: String,
}

impl Client {
    /// Sends `body` (none when `Null`) and returns the status and the JSON answer
    /// (`Null` when the answer is not JSON).
    pub async fn call(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A request to `path` carrying the session token, to add headers or a raw body to.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Value::Null).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, body).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Value::Null).await
    }

    /// The session token; panics for an anonymous client.
    pub fn token(&self) -> &str {
        self.token.as_deref().unwrap()
    }
}
