//! The shapes every target answers commands with (creation answers `201` with
//! `{"id", "version"}`, other commands `200` with `{"version"}`), and what the OpenAPI
//! documents of the targets share: the bearer scheme, and the problem answers every
//! operation can give, documented here once ([`attach_problem_answers`]).

use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref};
use uuid::Uuid;

/// Ressource créée (`201`) : son identifiant et la version de son flux.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: Uuid,
    pub version: i64,
}

/// Commande exécutée (`200`) : la nouvelle version du flux de la ressource.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Versioned {
    pub version: i64,
}

/// `201 Created` with the body.
impl axum::response::IntoResponse for Created {
    fn into_response(self) -> axum::response::Response {
        (axum::http::StatusCode::CREATED, axum::Json(self)).into_response()
    }
}

/// `200 OK` with the body.
impl axum::response::IntoResponse for Versioned {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self).into_response()
    }
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
    attach_problem_answers(&mut merged);
    let components = merged.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    merged
}

/// Every operation of `document`: its method (`GET`…), path and operation.
pub fn operations(document: &OpenApi) -> impl Iterator<Item = (&'static str, &str, &Operation)> {
    document.paths.paths.iter().flat_map(|(path, item)| {
        [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ]
        .into_iter()
        .filter_map(move |(method, operation)| Some((method, path.as_str(), operation.as_ref()?)))
    })
}

/// The problem answers an operation can give, by what it has: a bearer requirement (401,
/// 403), path parameters (404: unknown or malformed id), query parameters (400), a
/// request body (400, 413, 415, 422), an unsafe method (400 and 422 for a bad
/// `Idempotency-Key`, 409 for a conflict with the current state or a stale version,
/// 413), and every operation 503 (request timeout, database unreachable). An answer
/// the operation documents itself (a more precise 404) is kept.
pub fn attach_problem_answers(document: &mut OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Delete, &mut item.delete),
            (HttpMethod::Patch, &mut item.patch),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                for (status, description) in problem_answers(&method, operation) {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem_response(description).into());
                }
            }
        }
    }
    let components = document.components.get_or_insert_with(Default::default);
    components
        .schemas
        .entry("Problem".into())
        .or_insert_with(<crate::Problem as utoipa::PartialSchema>::schema);
    components
        .schemas
        .entry("FieldError".into())
        .or_insert_with(<crate::FieldError as utoipa::PartialSchema>::schema);
}

fn problem_answers(method: &HttpMethod, operation: &Operation) -> Vec<(u16, &'static str)> {
    let mut answers = vec![(
        503,
        "Service momentanément indisponible (délai dépassé, base injoignable) ; réessayer",
    )];
    let secured = operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement).is_ok_and(|v| v != serde_json::json!({}))
    });
    if secured {
        answers.push((401, "Non authentifié : jeton absent, invalide ou expiré"));
        answers.push((403, "Hors du périmètre de l'acteur"));
    }
    let parameters = operation.parameters.iter().flatten();
    let (mut in_path, mut in_query) = (false, false);
    for parameter in parameters {
        match parameter.parameter_in {
            ParameterIn::Path => in_path = true,
            ParameterIn::Query => in_query = true,
            _ => {}
        }
    }
    if in_path {
        answers.push((404, "Ressource inconnue, ou identifiant mal formé"));
    }
    if in_query {
        answers.push((400, "Paramètres de requête invalides"));
    }
    let unsafe_method = !matches!(
        method,
        HttpMethod::Get | HttpMethod::Head | HttpMethod::Options
    );
    if unsafe_method {
        answers.push((400, "Requête mal formée (JSON, en-tête Idempotency-Key)"));
        answers.push((409, "Refusé dans l'état actuel (règle nommée dans `type`), version périmée, ou clé d'idempotence réutilisée"));
        answers.push((413, "Requête trop volumineuse"));
        answers.push((
            422,
            "Valeur refusée (règle nommée dans `type`, champ dans `errors`)",
        ));
    }
    if operation.request_body.is_some() {
        answers.push((415, "Type de contenu non pris en charge"));
    }
    answers
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// What a target's OpenAPI document lacks: an operation without the tag `tag`, a
/// summary, a security requirement (public ones name the empty requirement), an
/// operation id prefixed `<tag>_` and used once, or one of its path parameters. Routes
/// and documentation come from one list (`utoipa_axum::routes!`), so every route is
/// documented and every documented operation routed by construction. Empty when the
/// document is complete.
pub fn incomplete(document: &OpenApi, tag: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (method, path, operation) in operations(document) {
        let at = format!("{method} {path}");
        if operation.tags.as_deref() != Some(&[tag.to_owned()][..]) {
            problems.push(format!("{at}: not tagged {tag}"));
        }
        if operation.summary.is_none() {
            problems.push(format!("{at}: no summary"));
        }
        if operation.security.is_none() {
            problems.push(format!("{at}: no security"));
        }
        let id = operation.operation_id.clone().unwrap_or_default();
        // A tag with a dash (`national-day`) prefixes its ids in snake case.
        let prefix = format!("{}_", tag.replace('-', "_"));
        if !id.starts_with(&prefix) {
            problems.push(format!("{at}: operation id {id:?} not prefixed {prefix}"));
        }
        if !ids.insert(id.clone()) {
            problems.push(format!("{at}: operation id {id} used twice"));
        }
        let documented: Vec<&str> = operation
            .parameters
            .iter()
            .flatten()
            .map(|p| p.name.as_str())
            .collect();
        for segment in path.split('/') {
            let param = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            if let Some(param) = param.filter(|p| !documented.contains(p)) {
                problems.push(format!("{at}: path parameter {param} undocumented"));
            }
        }
    }
    problems
}
