//! The `read-model` target: a projector that keeps the `rm_*` tables up to date from the
//! event store, and the GraphQL API the dashboards and pages read (`POST /graphql`).
//! Reads every category it knows, owns none.
//!
//! - [`projector`]: one active projector per database (the `read-model-projector`
//!   lease; a standby replica takes over when the holder stops), catching up then
//!   following the log, each batch and its checkpoint in one transaction.
//! - [`graphql`]: `me`, `schools`, `school`, `trainings` (with their `sessions`),
//!   `session`, `deployments`, `labels`, `partners`; Relay pagination (`first` ≤ 100),
//!   filters, each record's `history`; every list limited to the caller's scope
//!   ([`scope`]). The tables lag the log by the projector's delay: a client that has just
//!   written polls until the change shows.
//!
//! Not built yet (see the README): cohorts, national-day actions and contest entries in
//! the tables, the dashboard's indicators and `asOf`, rebuild by swap, exports,
//! subscriptions, GraphiQL.

pub mod graphql;
pub mod projector;
pub mod scope;
pub mod sql;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use pharos_access::{Actor, TargetState};
use pharos_kit::{OpenApiRouter, Started, Target, routes};
use pharos_web::{Json, Problem};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// The name `pharos serve --target` takes.
const NAME: &str = "read-model";
/// The lease one projector holds across replicas.
const LEASE: &str = "read-model-projector";
/// Events applied per transaction.
const BATCH: usize = 1_000;

/// The read-model target.
pub const TARGET: Target = Target {
    name: NAME,
    summary: "Projections et API GraphQL des tableaux de bord",
    owns: &[],
    openapi: || pharos_kit::openapi_of(api()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            let schema = graphql::schema(context.state.clone());
            let store = app.store.clone();
            let api = api().layer(Extension(schema));
            Ok(Started::new(NAME, api, context.state, app)
                .with_worker("read-model-projector", project(store, context.shutdown)))
        })
    },
};

/// Keeps the tables up to date while this process holds the lease; a standby waits for
/// it, and takes over when the holder stops or loses it.
async fn project(store: pharos_eventstore::EventStore, shutdown: CancellationToken) {
    let projection = projector::ReadModel::default();
    while !shutdown.is_cancelled() {
        let lease = match store.lease(LEASE, &shutdown).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "read-model lease unavailable; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                }
            }
        };
        let held = shutdown.child_token();
        tokio::select! {
            () = store.run_projection(&projection, BATCH, held.clone()) => {}
            () = lease.lost() => {
                tracing::warn!("read-model lease lost; the projector waits to lead again");
                held.cancel();
            }
        }
    }
}

fn api() -> OpenApiRouter<TargetState> {
    OpenApiRouter::new().routes(routes!(query))
}

/// Une requête GraphQL.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct GraphqlRequest {
    /// Le texte de la requête.
    query: String,
    /// Les variables de la requête.
    #[serde(default)]
    variables: Option<serde_json::Map<String, serde_json::Value>>,
    /// L'opération à exécuter quand le texte en contient plusieurs.
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

/// `POST /graphql`
#[utoipa::path(post, path = "/graphql", tag = "read-model",
    operation_id = "read_model_graphql",
    summary = "Interroger le modèle de lecture (GraphQL)",
    description = "Listes et fiches du modèle de lecture, limitées au périmètre de l'appelant : `me`, \
        `schools`, `school`, `trainings`, `session`, `deployments`, `labels`, `partners`. Pagination Relay \
        (`first` de 1 à 100, `after`) ; `history` sur chaque fiche. Une requête trop profonde ou trop coûteuse \
        est refusée avant d'être exécutée. Le schéma complet est dans `schema/schema.graphql`.",
    request_body = GraphqlRequest,
    responses(
        (status = 200, description = "Réponse GraphQL : `data`, et `errors` en français le cas échéant", body = Object),
    ),
    security(("bearer" = [])))]
async fn query(
    State(state): State<TargetState>,
    Extension(schema): Extension<graphql::ReadSchema>,
    actor: Actor,
    Json(request): Json<async_graphql::Request>,
) -> Result<Response, Problem> {
    let seen = scope::Visibility::of(&actor, &state.access.reference).await;
    let mut response = schema.execute(request.data(actor).data(seen)).await;
    for error in &mut response.errors {
        if let Some(french) = graphql::french(&error.message) {
            error.message = french;
        }
    }
    Ok(axum::Json(response).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_sdl_is_the_one_the_code_generates() {
        let checked_in = include_str!("../../../schema/schema.graphql");
        assert!(
            checked_in == graphql::sdl(),
            "schema/schema.graphql is stale: run `cargo run -- graphql-schema > schema/schema.graphql`"
        );
    }
}
