//! HTTP plumbing shared by every Pharos target: problem+json errors, request ids and
//! tracing spans, body limit, timeouts, `Idempotency-Key`, `/healthz`, `/readyz`,
//! `/metrics`, graceful shutdown.

pub mod api;
pub mod browser;
mod deadline;
pub mod idempotency;
mod json;
mod path;
mod problem;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use pharos_eventstore::EventStore;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use api::{Created, Versioned};
pub use json::Json;
pub use path::{Path, Query};
pub use problem::{FieldError, Problem};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Limits applied to every request.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub body_limit_bytes: usize,
    /// Limit of file uploads (the school directory import).
    pub upload_limit_bytes: usize,
    /// How long a request may take, counted from its start or from the last bytes of its
    /// body, whichever is later (an upload is not cut while its bytes keep coming).
    pub request_timeout: Duration,
    /// Mark the session cookie `Secure` (HTTPS deployments).
    pub secure_cookies: bool,
    /// Behind a reverse proxy: take the client's address from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// How many dashboards are computed at once; `None`: twice this machine's cores.
    pub dashboards_at_once: Option<usize>,
    /// How many dashboards asked "now" are kept computed ahead of the next request; 0: none.
    pub dashboards_kept_warm: usize,
    /// From what cost of computing the academy's dashboard a request at a state the warmer
    /// is computing is answered at the one it computed before (ms).
    pub dashboards_previous_above_ms: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: 2 * 1024 * 1024,
            upload_limit_bytes: 20 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            secure_cookies: false,
            trust_forwarded_for: false,
            dashboards_at_once: None,
            dashboards_kept_warm: 8,
            dashboards_previous_above_ms: 200,
        }
    }
}

/// What every handler of every target can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: EventStore,
    pub settings: Arc<HttpSettings>,
    /// The targets this process serves, for `/readyz`.
    pub targets: Arc<[String]>,
}

/// The route by which a target says it is mounted: `GET /api/v1/targets/{name}`.
pub fn target_status_route(name: &'static str) -> Router<AppState> {
    Router::new().route(
        &format!("/api/v1/targets/{name}"),
        get(move || async move {
            axum::Json(json!({
                "target": name,
                "status": "up",
                "version": env!("CARGO_PKG_VERSION"),
            }))
        }),
    )
}

/// The whole HTTP application: health routes, the targets' routers and the layers.
pub fn app(state: AppState, targets: Vec<Router>) -> Router {
    install_metrics();
    let health = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state.clone());
    let routes = targets.into_iter().fold(health, Router::merge);
    let timeout = state.settings.request_timeout;
    routes
        .fallback(|| async { Problem::no_route() })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::middleware))
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            deadline::with_deadline(timeout, req, next)
        }))
        .layer(middleware::from_fn(browser::same_origin_for_cookies))
        .layer(middleware::from_fn(record_metrics))
        .layer(middleware::from_fn(browser::security_headers))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            Problem::internal().into_response()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let request_id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// How long `/readyz` waits for the database.
const READY_PING: Duration = Duration::from_secs(2);

async fn readyz(State(state): State<AppState>) -> Response {
    // Bounded: a probe reads the outage within its own timeout, not the pool's (10 s).
    match tokio::time::timeout(READY_PING, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: store unreachable");
            return Problem::unavailable("La base de données ne répond pas.").into_response();
        }
        Err(_) => {
            tracing::warn!("readiness: store did not answer within {READY_PING:?}");
            return Problem::unavailable("La base de données ne répond pas.").into_response();
        }
    }
    match state.store.pending_migrations().await {
        Ok(0) => axum::Json(json!({
            "status": "ready",
            "backend": state.store.backend_name(),
            "targets": &*state.targets,
        }))
        .into_response(),
        Ok(n) => Problem::unavailable(match n {
            1 => "La base attend encore une migration : lancez « pharos migrate ».".to_owned(),
            n => format!("La base attend encore {n} migrations : lancez « pharos migrate »."),
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: migrations unknown");
            Problem::unavailable("L'état des migrations est inconnu.").into_response()
        }
    }
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls reuse it).
pub fn install_metrics() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; the handle still renders ours.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

async fn metrics_text() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        install_metrics().render(),
    )
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("pharos_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("pharos_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is
/// called, not when the future is first polled: call it before announcing that the
/// server listens, so a signal sent right after the announcement is not fatal.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |stream: std::io::Result<tokio::signal::unix::Signal>,
                        name: &'static str| async move {
                match stream {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for {name}");
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                () = wait(interrupt, "SIGINT") => tracing::info!("SIGINT received, shutting down"),
                () = wait(terminate, "SIGTERM") => tracing::info!("SIGTERM received, shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
            tracing::info!("Ctrl-C received, shutting down");
        }
    }
}
