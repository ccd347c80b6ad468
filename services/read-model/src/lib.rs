//! The `read-model` target: a projector that keeps the `rm_*` tables up to date from the
//! event store, and the GraphQL API the dashboards and pages read (`POST /graphql`).
//! Reads every category it knows, owns none.
//!
//! - [`projector`]: one active projector per database (the `read-model-projector`
//!   lease; a standby replica takes over when the holder stops), catching up then
//!   following the log, each batch and its checkpoint in one transaction.
//! - [`graphql`]: `me`, `schools`, `school`, `trainings` (with their `sessions`),
//!   `sessions`, `session`, `deployments`, `labels`, `partners`, `cohorts`, `actions`,
//!   `entries`, `contest` and `nationalDay` ([`editions`]), `events` (the audit log,
//!   [`audit`]); Relay pagination (`first` ≤ 100), filters, each record's `history`;
//!   every list limited to the caller's scope ([`scope`]); per-row lookups batched
//!   ([`loaders`]). The tables lag the log by the projector's delay: a client that has
//!   just written polls, or subscribes to `dashboardChanged` over `/graphql/ws`
//!   ([`subscription`], fed by [`notice`]).
//! - [`graphiql`]: GraphiQL on `GET /graphql`, its assets embedded (no CDN).
//! - [`exports`]: every list as CSV or XLSX, `GET /api/v1/exports/{name}.{csv|xlsx}`,
//!   through the same query as GraphQL.
//! - [`tables`]: projections (the lists, and each indicator group of [`indicators`]),
//!   each with its generations of tables; [`rebuild_of`] fills a projection's next one
//!   while the API reads the live one, then switches. Definitions are versioned per
//!   projection: tables built with older ones are rebuilt by the projector before it
//!   follows them, the other projections untouched.
//! - [`dashboard`]: `dashboard(schoolYear, department, asOf)`, the indicators as they
//!   stood at `asOf`, from rows with validity intervals (no replay).
//!
//! Every projection's commit notifies `dashboardChanged` ([`notice`], published by
//! [`tables::Runner`]).

pub mod answers;
pub mod audit;
pub mod batch;
pub mod dashboard;
pub mod each;
pub mod editions;
pub mod exports;
pub mod graphiql;
pub mod graphql;
pub mod indicators;
pub mod loaders;
pub mod notice;
pub mod people;
pub mod projector;
pub mod reminders;
pub mod scope;
pub mod sql;
pub mod subscription;
pub mod tables;
pub mod warm;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use pharos_access::{Actor, TargetState};
use pharos_kit::{OpenApiRouter, Started, Target, routes};
use pharos_web::{Json, Problem};
use std::time::Duration;

use pharos_eventstore::{Db, EventStore, on_db};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

pub use tables::{Descriptor, Generation};

/// The name `pharos serve --target` takes.
const NAME: &str = "read-model";
/// The lease one projector holds across replicas.
const LEASE: &str = "read-model-projector";
/// Events applied per transaction.
const BATCH: usize = 1_000;
/// Events applied per transaction by a rebuild (larger batches, fewer statements).
const REBUILD_PAGE: usize = 5_000;

/// The read-model target.
pub static TARGET: Target = Target {
    name: NAME,
    summary: "Projections et API GraphQL des tableaux de bord",
    owns: &[],
    openapi: || pharos_kit::openapi_of(api()),
    start: |context| {
        Box::pin(async move {
            let app = context.state.app.clone();
            let answers = std::sync::Arc::new(answers::AnswerCache::new(Duration::from_millis(
                app.settings.dashboards_previous_above_ms,
            )));
            let schema = graphql::schema(context.state.clone(), answers.clone());
            let store = app.store.clone();
            tables::live(&store.db()).await?;
            // Notices of the projector's commits, for subscriptions ([`notice`]) and the
            // dashboards kept warm ([`warm`]).
            let (notices, _) = tokio::sync::broadcast::channel(256);
            let listening =
                notice::listen(store.clone(), notices.clone(), context.shutdown.clone());
            let kept = std::sync::Arc::new(warm::KeptWarm::new(app.settings.dashboards_kept_warm));
            let warming = warm::keep_warm(
                context.state.clone(),
                schema.clone(),
                kept.clone(),
                answers,
                notices.clone(),
                context.shutdown.clone(),
            );
            let api = api()
                .layer(Extension(schema))
                .layer(Extension(notices))
                .layer(Extension(kept));
            Ok(Started::new(NAME, api, context.state, app)
                .with_worker("read-model-projector", project(store, context.shutdown))
                .with_worker("read-model-notices", listening)
                .with_worker("read-model-warm", warming))
        })
    },
};

/// Keeps the live generation of every projection ([`tables::all`]: the lists and each
/// indicator group) up to date while this process holds the lease; a standby waits for
/// it, and takes over when the holder stops or loses it. Each projection follows its own
/// generation: when a rebuild makes another one live, its projector follows it (from that
/// generation's own checkpoint, where the rebuild left it), the others go on.
async fn project(store: EventStore, shutdown: CancellationToken) {
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
        let held = shutdown.child_token();
        let all = tables::all()
            .into_iter()
            .map(|projection| follow(&store, projection, held.clone()));
        tokio::select! {
            _ = futures::future::join_all(all) => {}
            () = keep_statistics(store.db()) => {}
            () = lease.lost() => {
                tracing::warn!("read-model lease lost; the projector waits to lead again");
            }
        }
        held.cancel();
    }
}

/// How often the leader refreshes SQLite's planner statistics while its tables grow.
const STATISTICS_EVERY: Duration = Duration::from_secs(10 * 60);

/// On SQLite, the planner's statistics of every read-model table, now and every
/// [`STATISTICS_EVERY`] ([`tables::analyze_sqlite`]: SQLite gathers none by itself, and
/// an installation's tables grow from nothing without a rebuild). An open connection
/// reads them once renewed by the pool or after a schema change: `ANALYZE` leaves the
/// schema's version as it is. Never ends; nothing to do on PostgreSQL, whose autovacuum
/// analyses the tables.
async fn keep_statistics(db: Db) {
    let Db::Sqlite(pool) = db else {
        return std::future::pending().await;
    };
    let mut every = tokio::time::interval(STATISTICS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = tables::analyze_sqlite(&pool, &[]).await {
            tracing::warn!(error = %e, "SQLite statistics not refreshed; next try later");
        }
    }
}

/// Runs one projection into its live generation until `running` is cancelled, moving to
/// the new one when a rebuild switches it.
async fn follow(store: &EventStore, projection: &'static Descriptor, running: CancellationToken) {
    let db = store.db();
    while !running.is_cancelled() {
        let generation = match current(store, projection).await {
            Ok(generation) => generation,
            Err(e) => {
                tracing::warn!(projection = projection.name, error = %e, "read-model tables unavailable; retrying");
                tokio::select! {
                    () = running.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let runner = projection.projection(generation);
        let this = running.child_token();
        let switched = async {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Ok(Some((live, definition, _))) = tables::state_of(&db, projection).await
                    && (live != generation || definition != projection.definition)
                {
                    return;
                }
            }
        };
        tokio::select! {
            () = store.run_projection(&runner, BATCH, this.clone()) => {}
            () = switched => this.cancel(),
        }
    }
}

/// A projection's live generation, rebuilt first when it was built with another
/// definition than this release's (the API keeps reading it meanwhile).
async fn current(
    store: &EventStore,
    projection: &'static Descriptor,
) -> Result<Generation, Box<dyn std::error::Error + Send + Sync>> {
    let db = store.db();
    let live = tables::live_of(&db, projection).await?;
    match tables::state_of(&db, projection).await? {
        Some((_, definition, _)) if definition != projection.definition => {
            tracing::info!(
                projection = projection.name,
                from = definition,
                to = projection.definition,
                "definitions changed: rebuilding into a new generation"
            );
            let done =
                rebuild_of(store, projection, Duration::from_secs(5), false, |_, _| {}).await?;
            tracing::info!(projection = projection.name, events = done.events, elapsed = ?done.elapsed, "projection rebuilt");
            Ok(done.live)
        }
        _ => {
            // The indexes this release adds to tables built by an earlier one, or makes
            // on other columns (indexes change no row: no rebuild for them).
            tables::create_of(&db, projection, live).await?;
            Ok(live)
        }
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

/// [`rebuild_of`] the lists projection.
pub async fn rebuild(
    store: &EventStore,
    grace: Duration,
    keep_previous: bool,
    progress: impl FnMut(usize, u64),
) -> Result<Rebuilt, Box<dyn std::error::Error + Send + Sync>> {
    rebuild_of(store, &tables::LISTS, grace, keep_previous, progress).await
}

/// Rebuilds one projection from the start of the log into its next generation of tables
/// while the API reads the live one, then makes it live; the other projections are not
/// touched. `progress(applied, total)` is called after each batch (`total`: the events
/// of the categories it reads when it started). On PostgreSQL a read stops below a
/// transaction still writing, so the new generation may go live a few events short: the
/// live projector applies them next. The previous generation is dropped after `grace`
/// (requests reading it finish first), or kept when `keep_previous` (to compare them).
pub async fn rebuild_of(
    store: &EventStore,
    projection: &'static Descriptor,
    grace: Duration,
    keep_previous: bool,
    progress: impl FnMut(usize, u64),
) -> Result<Rebuilt, Box<dyn std::error::Error + Send + Sync>> {
    let total = count_events(store, projection).await?;
    rebuild_counted(store, projection, total, grace, keep_previous, progress).await
}

/// [`rebuild_of`], the events it will read counted already (`total`).
async fn rebuild_counted(
    store: &EventStore,
    projection: &'static Descriptor,
    total: u64,
    grace: Duration,
    keep_previous: bool,
    mut progress: impl FnMut(usize, u64),
) -> Result<Rebuilt, Box<dyn std::error::Error + Send + Sync>> {
    let db = store.db();
    let started = std::time::Instant::now();
    let previous = tables::live_of(&db, projection).await?;
    let building = match tables::state_of(&db, projection).await? {
        Some((_, _, Some(building))) if building.0 > previous.0 => Generation(building.0 + 1),
        _ => Generation(previous.0 + 1),
    };
    // A rebuild that stopped half-way left its tables: start them afresh.
    tables::drop_of(&db, projection, building).await?;
    tables::start_filling(&db, projection, building).await?;
    on_db!(&db, |pool| sqlx::query(
        "UPDATE rm_generations SET building = $2 WHERE projection = $1"
    )
    .bind(projection.name)
    .bind(building.0)
    .execute(pool)
    .await
    .map(|_| ()))?;
    let runner = projection.projection(building);
    // The next page is read (by PostgreSQL, then decoded) while this one is applied: one
    // after the other, each waited for the other, and the lists' rebuild, the longest,
    // kept one core busy of two. Two pages are held at once, per projection rebuilt:
    // pages of REBUILD_PAGE events keep that within the memory one page of twice as many
    // took before.
    let applied = store
        .catch_up_counted(&runner, REBUILD_PAGE, |applied| progress(applied, total))
        .await?;
    tables::finish_filling(&db, projection, building).await?;
    on_db!(&db, |pool| sqlx::query(
        "UPDATE rm_generations SET live = $2, definition = $3, building = NULL \
         WHERE projection = $1"
    )
    .bind(projection.name)
    .bind(building.0)
    .bind(projection.definition)
    .execute(pool)
    .await
    .map(|_| ()))?;
    if !keep_previous {
        tokio::time::sleep(grace).await;
        tables::drop_of(&db, projection, previous).await?;
    }
    Ok(Rebuilt {
        previous,
        live: building,
        events: applied,
        elapsed: started.elapsed(),
    })
}

/// [`rebuild_of`] each of `projections`, `jobs` of them at a time (at least one), each
/// answered as it ends: its own tables, generation and checkpoint make them independent,
/// as the live projector runs them side by side. Each runs as a task of its own, so that
/// the runtime's workers share them: decoding and applying events is CPU work, and in one
/// task three rebuilds took turns on one core (`pharos` at one core of two while
/// PostgreSQL idled at half of the other). Those reading the most events start first, so
/// that the last to end is not a long one started late. `progress(projection, applied,
/// total)` follows each, called by whoever polls the stream. A rebuild that panics ends
/// as an error of its projection ([`each::run_each`]): the caller is told, not left with
/// a stream that ends one projection short.
///
/// Dropping the stream stops the rebuilds under way (their tasks are aborted: a batch's
/// transaction under way rolls back); their half-filled generations are started afresh by
/// the next rebuild.
pub async fn rebuild_each<'a>(
    store: &EventStore,
    mut projections: Vec<&'static Descriptor>,
    jobs: usize,
    keep_previous: bool,
    progress: &'a (dyn Fn(&'static Descriptor, usize, u64) + Sync),
) -> Result<
    impl futures::Stream<Item = (&'static Descriptor, Result<Rebuilt, each::Failure>)> + 'a,
    sqlx::Error,
> {
    // One pass over the log for every projection's count: counted one projection after
    // the other, they were read as many times before any rebuild began (nine statements,
    // 1.1 s at a million events, where one grouped by category takes 0.23 s).
    let by_category = count_by_category(store).await?;
    let mut sizes = std::collections::HashMap::new();
    for projection in &projections {
        let events: u64 = projection
            .categories
            .iter()
            .filter_map(|c| by_category.get(*c))
            .sum();
        sizes.insert(projection.name, events);
    }
    projections.sort_by_key(|p| std::cmp::Reverse(sizes[p.name]));
    let store = store.clone();
    Ok(each::run_each(
        projections,
        jobs,
        move |projection, reports| {
            let store = store.clone();
            let total = sizes[projection.name];
            async move {
                rebuild_counted(
                    &store,
                    projection,
                    total,
                    Duration::ZERO,
                    keep_previous,
                    |applied, total| reports.report((applied, total)),
                )
                .await
            }
        },
        move |projection, (applied, total)| progress(projection, applied, total),
    ))
}

/// How many events of each category the log holds.
async fn count_by_category(
    store: &EventStore,
) -> Result<std::collections::HashMap<String, u64>, sqlx::Error> {
    use sqlx::Row as _;
    const SQL: &str = "SELECT category, COUNT(*) FROM events GROUP BY category";
    on_db!(&store.db(), |pool| {
        let mut counts = std::collections::HashMap::new();
        for row in sqlx::query(SQL).fetch_all(pool).await? {
            let n: i64 = row.try_get(1)?;
            counts.insert(row.try_get(0)?, u64::try_from(n).unwrap_or_default());
        }
        Ok(counts)
    })
}

/// How many events of the categories `projection` reads the log holds.
async fn count_events(store: &EventStore, projection: &Descriptor) -> Result<u64, sqlx::Error> {
    let categories = projection
        .categories
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
    OpenApiRouter::new()
        .routes(routes!(query))
        .routes(routes!(graphiql::page))
        .routes(routes!(graphiql::asset))
        .routes(routes!(subscription::websocket))
        .routes(routes!(exports::export))
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
        `schools`, `school`, `trainings`, `sessions`, `session`, `deployments`, `labels`, `partners`, \
        `cohorts`, `actions`, `entries`, `contest`, `nationalDay`, `dashboard` ; `events` (journal, pôle \
        académique). Pagination Relay (`first` de 1 à 100, `after`) ; `history` sur chaque fiche. \
        Explorateur : `GET /graphql` ; abonnements : `/graphql/ws`. Une requête trop profonde ou trop coûteuse \
        est refusée avant d'être exécutée. Le schéma complet est dans `schema/schema.graphql`.",
    request_body = GraphqlRequest,
    responses(
        (status = 200, description = "Réponse GraphQL : `data`, et `errors` en français le cas échéant", body = Object),
    ),
    security(("bearer" = [])))]
async fn query(
    State(state): State<TargetState>,
    Extension(schema): Extension<graphql::ReadSchema>,
    Extension(kept): Extension<std::sync::Arc<warm::KeptWarm>>,
    actor: Actor,
    Json(request): Json<async_graphql::Request>,
) -> Result<Response, Problem> {
    // What a "now" dashboard asked is kept warm with (the request is consumed).
    let (query, operation_name, variables) = (
        request.query.clone(),
        request.operation_name.clone(),
        request.variables.clone(),
    );
    let now = warm::NowAsked::default();
    let previous = warm::MayAnswerPrevious::default();
    let asked = std::time::Instant::now();
    let request = if warm::keepable(&query) {
        request.data(previous.clone())
    } else {
        request
    };
    let mut response = execute(&state, &schema, actor.clone(), request.data(now.clone())).await?;
    if previous.was_missed() {
        // Answered at the warmer's previous state, a statement was not there: asked again
        // at the request's own state.
        metrics::counter!("pharos_dashboard_previous_missed_total").increment(1);
        let mut again = async_graphql::Request::new(query.clone()).variables(variables.clone());
        if let Some(name) = &operation_name {
            again = again.operation_name(name);
        }
        response = execute(&state, &schema, actor.clone(), again.data(now.clone())).await?;
    }
    if now.asked() && response.errors.is_empty() {
        let took = asked.elapsed();
        kept.keep(&actor, &query, operation_name.as_deref(), &variables, took);
    }
    Ok(axum::Json(response).into_response())
}

/// Runs `request` as `actor`: its scope, the live tables, the request's loaders; the
/// engine's errors in French. The query handler and the exports both go through it, so
/// that an export holds exactly what the same query answers.
pub(crate) async fn execute(
    state: &TargetState,
    schema: &graphql::ReadSchema,
    actor: Actor,
    request: async_graphql::Request,
) -> Result<async_graphql::Response, Problem> {
    let seen = scope::Visibility::of(&actor, &state.access.reference).await;
    let db = state.app.store.db();
    let generation = tables::live(&db).await.map_err(|e| {
        tracing::error!(error = %e, "read model tables unavailable");
        Problem::unavailable("Le modèle de lecture ne répond pas ; réessayez dans un instant.")
    })?;
    let (sessions, histories) = loaders::for_request(&db, generation, &seen);
    let people = people::PeopleLoader::for_request(state, &actor, generation);
    let mut response = schema
        .execute(
            graphql::parsed(request)
                .data(people)
                .data(actor)
                .data(seen)
                .data(generation)
                .data(sessions)
                .data(histories),
        )
        .await;
    for error in &mut response.errors {
        if let Some(french) = graphql::french(&error.message) {
            error.message = french;
        }
    }
    Ok(response)
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
