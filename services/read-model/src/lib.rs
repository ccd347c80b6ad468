//! The `read-model` target: a projector that keeps the `rm_*` tables up to date from the
//! event store, and the GraphQL API the dashboards and pages read (`POST /graphql`).
//! Reads every category it knows, owns none.
//!
//! - [`projector`]: one active projector per database (the `read-model-projector`
//!   lease; a standby replica takes over when the holder stops), catching up then
//!   following the log, each batch and its checkpoint in one transaction.
//! - [`graphql`]: `me`, `schools`, `school`, `trainings` (with their `sessions`),
//!   `session`, `deployments`, `labels`, `partners`, `cohorts`, `actions`; Relay
//!   pagination (`first` ≤ 100), filters, each record's `history`; every list limited to
//!   the caller's scope ([`scope`]). The tables lag the log by the projector's delay: a
//!   client that has just written polls until the change shows.
//! - [`tables`]: generations of tables; [`rebuild`] fills the next one while the API
//!   reads the live one, then switches. Definitions are versioned: tables built with
//!   older ones are rebuilt by the projector before it follows them.
//!
//! Not built yet (see the README): contest entries in the tables, the dashboard's
//! indicators and `asOf`, exports, subscriptions, GraphiQL.

pub mod graphql;
pub mod projector;
pub mod scope;
pub mod sql;
pub mod tables;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use pharos_access::{Actor, TargetState};
use pharos_kit::{OpenApiRouter, Started, Target, routes};
use pharos_web::{Json, Problem};
use std::time::Duration;

use pharos_eventstore::{EventStore, on_db};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

pub use tables::Generation;

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
            tables::live(&store.db()).await?;
            let api = api().layer(Extension(schema));
            Ok(Started::new(NAME, api, context.state, app)
                .with_worker("read-model-projector", project(store, context.shutdown)))
        })
    },
};

/// Keeps the live generation's tables up to date while this process holds the lease; a
/// standby waits for it, and takes over when the holder stops or loses it. When a rebuild
/// makes another generation live, the projector follows it (from that generation's own
/// checkpoint, where the rebuild left it).
async fn project(store: EventStore, shutdown: CancellationToken) {
    let db = store.db();
    while !shutdown.is_cancelled() {
        let lease = match store.lease(LEASE, &shutdown).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "read-model lease unavailable; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        while lease.is_held() && !shutdown.is_cancelled() {
            let generation = match current(&store).await {
                Ok(generation) => generation,
                Err(e) => {
                    tracing::warn!(error = %e, "read-model tables unavailable; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let projection = projector::ReadModel::new(generation);
            let running = shutdown.child_token();
            let switched = async {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if let Ok(Some((live, definition, _))) = tables::state(&db).await
                        && (live != generation || definition != tables::DEFINITION)
                    {
                        return;
                    }
                }
            };
            tokio::select! {
                () = store.run_projection(&projection, BATCH, running.clone()) => {}
                () = switched => running.cancel(),
                () = lease.lost() => {
                    tracing::warn!("read-model lease lost; the projector waits to lead again");
                    running.cancel();
                }
            }
        }
    }
}

/// The live generation, rebuilt first when it was built with other definitions than this
/// release's (the API keeps reading it meanwhile).
async fn current(
    store: &EventStore,
) -> Result<Generation, Box<dyn std::error::Error + Send + Sync>> {
    let db = store.db();
    let live = tables::live(&db).await?;
    match tables::state(&db).await? {
        Some((_, definition, _)) if definition != tables::DEFINITION => {
            tracing::info!(
                from = definition,
                to = tables::DEFINITION,
                "read-model definitions changed: rebuilding into a new generation"
            );
            let done = rebuild(store, Duration::from_secs(5), false, |_, _| {}).await?;
            tracing::info!(events = done.events, elapsed = ?done.elapsed, "read model rebuilt");
            Ok(done.live)
        }
        _ => Ok(live),
    }
}

/// What a rebuild did.
#[derive(Debug)]
pub struct Rebuilt {
    pub previous: Generation,
    pub live: Generation,
    pub events: usize,
    pub elapsed: Duration,
}

/// Rebuilds the read model from the start of the log into the next generation of tables
/// while the API reads the live one, then makes it live. `progress(applied, total)` is
/// called after each batch (`total`: the events of the projected categories when it
/// started). On PostgreSQL a read stops below a transaction still writing, so the new
/// generation may go live a few events short: the live projector applies them next. The previous generation is dropped after `grace` (requests reading it
/// finish first), or kept when `keep_previous` (to compare them).
pub async fn rebuild(
    store: &EventStore,
    grace: Duration,
    keep_previous: bool,
    mut progress: impl FnMut(usize, u64),
) -> Result<Rebuilt, Box<dyn std::error::Error + Send + Sync>> {
    let db = store.db();
    let started = std::time::Instant::now();
    let previous = tables::live(&db).await?;
    let building = match tables::generations(&db).await? {
        Some((_, Some(building))) if building.0 > previous.0 => Generation(building.0 + 1),
        _ => Generation(previous.0 + 1),
    };
    // A rebuild that stopped half-way left its tables: start them afresh.
    tables::drop(&db, building).await?;
    tables::create(&db, building).await?;
    on_db!(&db, |pool| sqlx::query(
        "UPDATE rm_generations SET building = $2 WHERE projection = $1"
    )
    .bind(tables::PROJECTION)
    .bind(building.0)
    .execute(pool)
    .await
    .map(|_| ()))?;
    let total = count_events(store).await?;
    let projection = projector::ReadModel::new(building);
    let mut applied = 0;
    loop {
        let n = store.project_batch(&projection, BATCH * 10).await?;
        if n == 0 {
            break;
        }
        applied += n;
        progress(applied, total);
    }
    on_db!(&db, |pool| sqlx::query(
        "UPDATE rm_generations SET live = $2, definition = $3, building = NULL \
         WHERE projection = $1"
    )
    .bind(tables::PROJECTION)
    .bind(building.0)
    .bind(tables::DEFINITION)
    .execute(pool)
    .await
    .map(|_| ()))?;
    if !keep_previous {
        tokio::time::sleep(grace).await;
        tables::drop(&db, previous).await?;
    }
    Ok(Rebuilt {
        previous,
        live: building,
        events: applied,
        elapsed: started.elapsed(),
    })
}

/// How many events of the projected categories the log holds.
async fn count_events(store: &EventStore) -> Result<u64, sqlx::Error> {
    let categories = projector::CATEGORIES
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT COUNT(*) FROM events WHERE category IN ({categories})");
    let n: i64 = on_db!(&store.db(), |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .fetch_one(pool)
    .await)?;
    Ok(u64::try_from(n).unwrap_or_default())
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
    let generation = tables::live(&state.app.store.db()).await.map_err(|e| {
        tracing::error!(error = %e, "read model tables unavailable");
        Problem::unavailable("Le modèle de lecture ne répond pas ; réessayez dans un instant.")
    })?;
    let mut response = schema
        .execute(request.data(actor).data(seen).data(generation))
        .await;
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
