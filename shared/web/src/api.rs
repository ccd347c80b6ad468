//! The shapes every target answers commands with (API.md: creation answers `201` with
//! `{"id", "version"}`, other commands `200` with `{"version"}`), and what the OpenAPI
//! documents of the targets share.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::Serialize;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use uuid::Uuid;

/// `201 Created`: the new resource and its stream version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: Uuid,
    pub version: i64,
}

/// `200 OK` after a command: the resource's stream version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Versioned {
    pub version: i64,
}

/// The name of the bearer-token security scheme the targets' paths refer to.
pub const BEARER: &str = "bearer";

/// The OpenAPI document of the targets served, merged, with the bearer scheme and the
/// problem+json shapes: what `GET /api/v1/openapi.json` answers.
pub fn merged(
    documents: impl IntoIterator<Item = utoipa::openapi::OpenApi>,
) -> utoipa::openapi::OpenApi {
    let mut merged = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Pharos — API v1")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Pilotage du pôle académique de lutte contre le harcèlement. Erreurs au \
                     format application/problem+json (RFC 9457), en français.",
                ))
                .build(),
        )
        .build();
    for document in documents {
        merged.merge(document);
    }
    let components = merged.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    merged
}

/// One route of a target: its method and path as the OpenAPI document names them, and
/// its handler. Targets list their routes as a table of these; the router is built from
/// it and a test checks the document against it ([`undocumented`]).
pub struct Route<S> {
    pub method: HttpMethod,
    pub path: &'static str,
    handler: MethodRouter<S>,
}

impl<S> std::fmt::Debug for Route<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", method_name(&self.method), self.path)
    }
}

pub fn route<S, H, T>(method: HttpMethod, path: &'static str, handler: H) -> Route<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let filter = match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
    };
    Route {
        method,
        path,
        handler: on(filter, handler),
    }
}

/// The router of a route table.
pub fn router<S: Clone + Send + Sync + 'static>(routes: Vec<Route<S>>) -> Router<S> {
    routes
        .into_iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.handler))
}

fn method_name(method: &HttpMethod) -> String {
    serde_json::to_string(method)
        .unwrap_or_default()
        .trim_matches('"')
        .to_uppercase()
}

/// What is wrong between a target's routes and its OpenAPI document: a route not
/// documented (or without tag `tag`, summary, bearer security, 401 answer, or one of its
/// path parameters), an operation documented but not routed, an operation id not
/// prefixed `<tag>_` or used twice. Empty when they agree.
pub fn undocumented<S>(
    document: &utoipa::openapi::OpenApi,
    routes: &[Route<S>],
    tag: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    for route in routes {
        let at = format!("{route:?}");
        let Some(operation) = document
            .paths
            .get_path_operation(route.path, route.method.clone())
        else {
            problems.push(format!("{at}: not documented"));
            continue;
        };
        if operation.tags.as_deref() != Some(&[tag.to_owned()][..]) {
            problems.push(format!("{at}: not tagged {tag}"));
        }
        if operation.summary.is_none() {
            problems.push(format!("{at}: no summary"));
        }
        if operation.security.is_none() {
            problems.push(format!("{at}: no security"));
        }
        if !operation.responses.responses.contains_key("401") {
            problems.push(format!("{at}: no 401 answer"));
        }
        let documented: Vec<&str> = operation
            .parameters
            .iter()
            .flatten()
            .map(|p| p.name.as_str())
            .collect();
        for segment in route.path.split('/') {
            let param = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            if let Some(param) = param.filter(|p| !documented.contains(p)) {
                problems.push(format!("{at}: path parameter {param} undocumented"));
            }
        }
    }
    let mut ids = std::collections::HashSet::new();
    for (path, item) in &document.paths.paths {
        let operations = [
            (HttpMethod::Get, &item.get),
            (HttpMethod::Post, &item.post),
            (HttpMethod::Put, &item.put),
            (HttpMethod::Delete, &item.delete),
            (HttpMethod::Patch, &item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let at = format!("{} {path}", method_name(&method));
            let id = operation.operation_id.clone().unwrap_or_default();
            if !id.starts_with(&format!("{tag}_")) {
                problems.push(format!("{at}: operation id {id:?} not prefixed {tag}_"));
            }
            if !ids.insert(id.clone()) {
                problems.push(format!("{at}: operation id {id} used twice"));
            }
            if !routes.iter().any(|r| r.path == path && r.method == method) {
                problems.push(format!("{at}: documented but not routed"));
            }
        }
    }
    problems
}
