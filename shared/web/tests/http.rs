//! The shared HTTP plumbing, driven through a real server on a random port with a real
//! HTTP client, on SQLite and (when DATABASE_URL is set) PostgreSQL.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Router, response::IntoResponse};
use pharos_eventstore::{
    EventStore, ExpectedVersion, Metadata, NewEvent, StoreOptions, StreamId, on_db,
};
use pharos_test_support::TestDb;
use pharos_web::{AppState, HttpSettings, Json, Problem};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct CreateNote {
    title: String,
    #[allow(dead_code)]
    pages: u32,
}

/// A target-like route: appends one event per call and answers 201 with the version.
async fn create_note(
    State(state): State<AppState>,
    Json(body): Json<CreateNote>,
) -> impl IntoResponse {
    let stream = StreamId::new("note", uuid::Uuid::now_v7()).unwrap();
    let result = state
        .store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![NewEvent::new(
                "note_created",
                json!({ "title": body.title }),
            )],
            &Metadata::default(),
        )
        .await
        .map_err(Problem::from)?;
    Ok::<_, Problem>((
        StatusCode::CREATED,
        Json(json!({ "id": stream.id(), "version": result.version })),
    ))
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

/// An upload: answers how many bytes it read.
async fn drip(body: axum::body::Bytes) -> String {
    body.len().to_string()
}

async fn boom() -> &'static str {
    panic!("handler bug")
}

struct TestApp {
    base: String,
    client: reqwest::Client,
    store: EventStore,
    db: TestDb,
}

impl TestApp {
    async fn spawn(db: TestDb) -> Self {
        let store = EventStore::connect(&db.url, StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let state = AppState {
            store: store.clone(),
            settings: Arc::new(HttpSettings {
                body_limit_bytes: 4096,
                upload_limit_bytes: 4096,
                request_timeout: Duration::from_secs(1),
                ..HttpSettings::default()
            }),
            targets: Arc::from(vec!["test".to_owned()]),
        };
        let routes = Router::new()
            .route("/api/v1/notes", post(create_note))
            .route("/api/v1/slow", post(slow))
            .route("/api/v1/drip", post(drip))
            .route("/api/v1/boom", post(boom))
            .with_state(state.clone());
        let app = pharos_web::app(state, vec![routes]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            store,
            db,
        }
    }

    async fn sqlite() -> Self {
        Self::spawn(TestDb::sqlite("pharos-web")).await
    }

    async fn postgres() -> Option<Self> {
        Some(Self::spawn(TestDb::postgres("pharos_web").await?).await)
    }

    async fn post(&self, path: &str, key: Option<&str>, body: &str) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    }

    /// Events stored, counted in the table: `read_all` on PostgreSQL deliberately holds
    /// back events while any older transaction of the cluster is still open.
    async fn events(&self) -> i64 {
        on_db!(&self.store.db(), |pool| sqlx::query_scalar(
            "SELECT count(*) FROM events"
        )
        .fetch_one(pool)
        .await
        .unwrap())
    }

    async fn finish(self) {
        self.store.close().await;
        self.db.finish().await;
    }
}

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().unwrap().starts_with("https://"));
    assert!(!body["title"].as_str().unwrap().is_empty());
    body
}

async fn same_key_same_body_replays_without_a_second_event(app: TestApp) {
    let body = r#"{"title":"Plan de prévention","pages":3}"#;
    let first = app.post("/api/v1/notes", Some("key-1"), body).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = app.post("/api/v1/notes", Some("key-1"), body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.events().await, 1);

    let other = app
        .post(
            "/api/v1/notes",
            Some("key-1"),
            r#"{"title":"Autre","pages":1}"#,
        )
        .await;
    let body = problem(other, 422).await;
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(app.events().await, 1);

    // Without a key every POST runs.
    app.post("/api/v1/notes", None, r#"{"title":"a","pages":1}"#)
        .await;
    app.post("/api/v1/notes", None, r#"{"title":"a","pages":1}"#)
        .await;
    assert_eq!(app.events().await, 3);
    app.finish().await;
}

async fn concurrent_requests_with_one_key_run_once(app: TestApp) {
    let body = r#"{"title":"Course","pages":1}"#;
    let answers =
        futures::future::join_all((0..8).map(|_| app.post("/api/v1/notes", Some("race"), body)))
            .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(app.events().await, 1);
    app.finish().await;
}

async fn bad_bodies_get_problems_and_append_nothing(app: TestApp) {
    let body = problem(app.post("/api/v1/notes", None, "{not json").await, 400).await;
    assert_eq!(
        body["detail"], "Le corps de la requête n'est pas du JSON valide (ligne 1, colonne 2).",
        "{body}"
    );

    let body = problem(
        app.post("/api/v1/notes", None, r#"{"title":"x"}"#).await,
        422,
    )
    .await;
    assert_eq!(
        body["detail"], "Le champ « pages » est invalide : champ obligatoire manquant.",
        "{body}"
    );

    let body = problem(
        app.post("/api/v1/notes", None, r#"{"title":"x","pages":-2}"#)
            .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "pages", "{body}");
    assert_eq!(
        body["detail"], "Le champ « pages » est invalide : il faut un nombre entier.",
        "{body}"
    );

    let too_big = format!(r#"{{"title":"{}","pages":1}}"#, "x".repeat(10_000));
    problem(app.post("/api/v1/notes", None, &too_big).await, 413).await;
    problem(app.post("/api/v1/notes", Some("big"), &too_big).await, 413).await;

    let untyped = app
        .client
        .post(format!("{}/api/v1/notes", app.base))
        .body(r#"{"title":"x","pages":1}"#)
        .send()
        .await
        .unwrap();
    problem(untyped, 415).await;
    assert_eq!(app.events().await, 0);
    app.finish().await;
}

async fn health_readiness_metrics_and_errors(app: TestApp) {
    let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();
    let health = get("/healthz").await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let ready: Value = get("/readyz").await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["backend"], app.store.backend_name());

    app.post("/api/v1/notes", None, r#"{"title":"m","pages":1}"#)
        .await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("pharos_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/notes\""), "{metrics}");
    assert!(
        metrics.contains("pharos_eventstore_appends_total"),
        "{metrics}"
    );

    problem(get("/nowhere").await.unwrap(), 404).await;
    problem(get("/api/v1/notes").await.unwrap(), 405).await;
    let late = problem(app.post("/api/v1/slow", None, "{}").await, 503).await;
    assert_eq!(
        late["type"],
        "https://pharos.ac-toulouse.fr/problems/timeout"
    );
    let crashed = problem(app.post("/api/v1/boom", None, "{}").await, 500).await;
    assert!(!crashed["detail"].as_str().unwrap().contains("handler bug"));

    // A request id sent by the client is kept.
    let traced = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "abc-123");
    app.finish().await;
}

/// `POST /api/v1/drip` over a plain socket: `declared` bytes announced, `chunks` sent
/// as `(bytes, pause before them)`; the status and body of the answer.
async fn dripped(app: &TestApp, declared: usize, chunks: &[(usize, u64)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/drip HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/octet-stream\r\n\
         content-length: {declared}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for (bytes, pause) in chunks {
        tokio::time::sleep(Duration::from_millis(*pause)).await;
        stream.write_all(&vec![b'a'; *bytes]).await.unwrap();
    }
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn an_upload_is_cut_when_its_bytes_stop_not_while_they_come(app: TestApp) {
    // Six pieces 400 ms apart: 2.4 s in all, over the 1 s limit, never 1 s without bytes.
    let started = std::time::Instant::now();
    let (status, body) = dripped(
        &app,
        3000,
        &[
            (500, 0),
            (500, 400),
            (500, 400),
            (500, 400),
            (500, 400),
            (500, 400),
        ],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "3000"), "{body}");
    assert!(started.elapsed() > Duration::from_secs(2));

    // Half the body, then nothing: cut about 1 s after the last byte.
    let started = std::time::Instant::now();
    let (status, body) = dripped(&app, 3000, &[(500, 0), (500, 400)]).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("/problems/timeout"), "{body}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1400), "cut after {took:?}");
    app.finish().await;
}

async fn readiness_fails_while_migrations_are_pending(app: TestApp) {
    // A database without migrations: the store connects but is not ready.
    let url = format!(
        "sqlite://{}",
        std::env::temp_dir()
            .join(format!(
                "pharos-unmigrated-{}.db",
                uuid::Uuid::now_v7().simple()
            ))
            .display()
    );
    let store = EventStore::connect(&url, StoreOptions::default())
        .await
        .unwrap();
    assert!(store.pending_migrations().await.unwrap() > 0);
    let state = AppState {
        store,
        settings: Arc::new(HttpSettings::default()),
        targets: Arc::from(Vec::<String>::new()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, pharos_web::app(state, vec![]))
            .await
            .unwrap()
    });
    let answer = app
        .client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    let body = problem(answer, 503).await;
    assert!(body["detail"].as_str().unwrap().contains("migration"));
    app.finish().await;
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    same_key_same_body_replays_without_a_second_event,
    concurrent_requests_with_one_key_run_once,
    bad_bodies_get_problems_and_append_nothing,
    health_readiness_metrics_and_errors,
    an_upload_is_cut_when_its_bytes_stop_not_while_they_come,
    readiness_fails_while_migrations_are_pending,
);
