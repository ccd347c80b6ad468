//! The Pharos event store: one append-only table on SQLite (embedded mode) or
//! PostgreSQL (production), with the guarantees listed in its README:
//!
//! 1. atomic batch appends with optimistic concurrency ([`ExpectedVersion`]), to one
//!    stream or, linked, to several in one commit ([`EventStore::append_linked`]);
//! 2. idempotent appends by event id;
//! 3. a global order ([`GlobalPosition`]) readers never see skip;
//! 4. catch-up-then-live [`Subscription`]s by category;
//! 5. [`Projection`]s whose checkpoint moves in the same transaction as their effects;
//! 6. upcasting of old schema versions on read ([`Upcasters`]);
//! 7. a leader [`Lease`] per singleton worker.
//!
//! The backend is chosen once, from the URL scheme, in [`EventStore::connect`].

mod companion;
mod error;
mod lease;
mod postgres;
mod projection;
mod sqlite;
mod subscription;
mod types;
mod upcast;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use companion::{Companion, CompanionWrite, Companions, InStatement};
pub use error::{Outage, StoreError};
pub use lease::Lease;
pub use postgres::listen;
pub use projection::{Lookout, Projection, ProjectionError, ProjectionTx};
pub use subscription::Subscription;
pub use types::{
    AppendResult, ExpectedVersion, GlobalPosition, MAX_EVENT_DATA_BYTES, Metadata, NewEvent,
    RecordedEvent, StreamId,
};
pub use upcast::Upcasters;

/// The migrations of each backend, embedded in the binary.
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("../../migrations/postgres");
/// See [`POSTGRES_MIGRATIONS`].
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How SQLite makes a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// fsync the WAL at every commit: an acknowledged append survives a power cut.
    Full,
    /// fsync at checkpoints only: an acknowledged append survives a crash of the
    /// process, not of the machine.
    Normal,
}

/// Settings of a store connection.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub sqlite_synchronous: SqliteSync,
    /// The safety net of subscriptions and projections when no wake-up arrives.
    pub poll_interval: Duration,
    /// How long an SQLite lease lasts without renewal (PostgreSQL leases end with
    /// their connection).
    pub lease_ttl: Duration,
    /// An up-to-date projection moves its checkpoint past the other categories' events
    /// once the log's head is this many positions beyond it: its rescans stay bounded,
    /// while its checkpoint (which keys the read model's reused answers) moves rarely.
    pub idle_skip: i64,
    pub upcasters: Upcasters,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            sqlite_synchronous: SqliteSync::Full,
            poll_interval: Duration::from_millis(500),
            lease_ttl: Duration::from_secs(10),
            idle_skip: 10_000,
            upcasters: Upcasters::new(),
        }
    }
}

/// The database behind the store, for the few shared tables other crates keep
/// (idempotency keys, projections' read tables).
#[derive(Debug, Clone)]
pub enum Db {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// Runs the same code on whichever pool a [`Db`] holds, for statements that read the
/// same on both backends; the body's value must have one type on both:
/// `on_db!(db, |pool| sqlx::query(SQL).execute(pool).await.map(|_| ()))`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::Db::Postgres($pool) => $body,
            $crate::Db::Sqlite($pool) => $body,
        }
    };
}

/// A handle on the event store; cheap to clone.
#[derive(Clone)]
pub struct EventStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("backend", &self.backend_name())
            .finish()
    }
}

struct Inner {
    backend: Backend,
    upcasters: Upcasters,
    options: StoreOptions,
    /// Bumped whenever new events may be readable.
    wakeup: watch::Sender<u64>,
    /// Stops the store's background tasks.
    tasks: CancellationToken,
    /// Every background task of the store and of its users ([`EventStore::spawn`]):
    /// [`EventStore::close`] waits for them before closing the pool.
    tracker: TaskTracker,
    /// This store's number in the process ([`EventStore::instance`]).
    instance: u64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.tasks.cancel();
    }
}

/// The last event of the log, in its global order (its primary key).
const HEAD_POSTGRES: &str =
    "SELECT commit_id, position FROM events ORDER BY commit_id DESC, position DESC LIMIT 1";
/// The same on SQLite, where `commit_id` is always 0 and `position` the rowid: the last
/// row, read from the table's own b-tree. Ordered by both columns (no index has them),
/// SQLite sorted the whole log for it: 1.8 s at a million events, on every catch-up of
/// the read model's projections and every `settle`.
const HEAD_SQLITE: &str = "SELECT commit_id, position FROM events ORDER BY position DESC LIMIT 1";
/// The last event of one category: the end of its range in `events_category_idx`.
const LAST_OF_POSTGRES: &str = "SELECT commit_id, position FROM events WHERE category = $1 \
     ORDER BY commit_id DESC, position DESC LIMIT 1";
const LAST_OF_SQLITE: &str =
    "SELECT commit_id, position FROM events WHERE category = $1 ORDER BY position DESC LIMIT 1";

// One per store, behind an Arc: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Postgres(postgres::PgBackend),
    Sqlite(sqlite::SqliteBackend),
}

impl EventStore {
    /// Connects to `sqlite://...` or `postgres://...`. The SQLite file is created when
    /// missing. Migrations are not applied: call [`EventStore::migrate`].
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let (wakeup, _) = watch::channel(0);
        let tasks = CancellationToken::new();
        let tracker = TaskTracker::new();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(
                postgres::PgBackend::connect(url, &options, wakeup.clone(), &tasks, &tracker)
                    .await?,
            )
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite(
                sqlite::SqliteBackend::connect(url, &options, wakeup.clone(), &tasks, &tracker)
                    .await?,
            )
        } else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                "the database URL must start with sqlite:// or postgres://".into(),
            )));
        };
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                upcasters: options.upcasters.clone(),
                options,
                wakeup,
                tasks,
                tracker,
                instance: {
                    static OPENED: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(0);
                    OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                },
            }),
        })
    }

    /// Applies the backend's pending migrations (safe to run from several processes
    /// at once on PostgreSQL: sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.inner.backend {
            Backend::Postgres(b) => POSTGRES_MIGRATIONS.run(&b.pool).await?,
            Backend::Sqlite(b) => SQLITE_MIGRATIONS.run(&b.pool).await?,
        }
        Ok(())
    }

    /// How many embedded migrations the database has not applied yet.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";
        let (applied, migrator): (Vec<i64>, _) = match &self.inner.backend {
            Backend::Postgres(b) => (
                sqlx::query_scalar(APPLIED)
                    .fetch_all(&b.pool)
                    .await
                    .unwrap_or_default(),
                &POSTGRES_MIGRATIONS,
            ),
            Backend::Sqlite(b) => (
                sqlx::query_scalar(APPLIED)
                    .fetch_all(&b.pool)
                    .await
                    .unwrap_or_default(),
                &SQLITE_MIGRATIONS,
            ),
        };
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .count())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_db!(&self.db(), |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend_name(&self) -> &'static str {
        match &self.inner.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// The connection pool, for shared infrastructure tables and projections.
    pub fn db(&self) -> Db {
        match &self.inner.backend {
            Backend::Postgres(b) => Db::Postgres(b.pool.clone()),
            Backend::Sqlite(b) => Db::Sqlite(b.pool.clone()),
        }
    }

    /// Appends `events` to `stream` atomically if `expected` holds; stores `metadata`
    /// with each event. Re-appending events whose ids are already stored in this
    /// stream returns the original result and writes nothing.
    pub async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        metadata: &Metadata,
    ) -> Result<AppendResult, StoreError> {
        self.append_with(stream, expected, events, metadata, &[])
            .await
    }

    /// Like [`append`](Self::append), with `companions` written in the same commit:
    /// events and companions all stored, or nothing (a refused append writes none).
    pub async fn append_with(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        metadata: &Metadata,
        companions: &[Arc<dyn Companion>],
    ) -> Result<AppendResult, StoreError> {
        let part = Part {
            stream: stream.clone(),
            expected,
            batch: PreparedBatch::new(events, metadata)?,
        };
        let mut results = self.append_prepared(vec![part], companions).await?;
        results.pop().ok_or(StoreError::EmptyBatch)
    }

    /// Appends to several streams in one commit, each part on its own expectation: all
    /// the parts and `companions` are stored, or nothing is. A rule that spans streams
    /// (one person's schedule and the session they register for) is then kept by the
    /// optimistic checks of both, with no compensation to run after a refusal or a crash.
    /// Re-appending exactly the same parts (the same event ids in the same streams)
    /// returns the original results and writes nothing; a part that was stored when
    /// another was not cannot happen, and ids stored elsewhere are a conflict.
    /// Results come in the order of `parts`.
    pub async fn append_linked(
        &self,
        parts: Vec<StreamAppend>,
        metadata: &Metadata,
        companions: &[Arc<dyn Companion>],
    ) -> Result<Vec<AppendResult>, StoreError> {
        let mut prepared: Vec<Part> = Vec::with_capacity(parts.len());
        for part in parts {
            if prepared.iter().any(|p| p.stream == part.stream) {
                return Err(StoreError::InvalidStreamId {
                    stream_id: part.stream.to_string(),
                    reason: "a linked append names each stream once",
                });
            }
            let batch = PreparedBatch::new(part.events, metadata)?;
            if let Some(id) = batch
                .event_ids
                .iter()
                .find(|id| prepared.iter().any(|p| p.batch.event_ids.contains(id)))
            {
                return Err(StoreError::IdempotencyConflict { event_id: *id });
            }
            prepared.push(Part {
                stream: part.stream,
                expected: part.expected,
                batch,
            });
        }
        if prepared.is_empty() {
            return Err(StoreError::EmptyBatch);
        }
        self.append_prepared(prepared, companions).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(stream = %parts[0].stream, parts = parts.len(), companions = companions.len()))]
    async fn append_prepared(
        &self,
        parts: Vec<Part>,
        companions: &[Arc<dyn Companion>],
    ) -> Result<Vec<AppendResult>, StoreError> {
        let append = PreparedAppend {
            parts,
            companions: companions.to_vec(),
        };
        let started = Instant::now();
        let result = match &self.inner.backend {
            Backend::Postgres(b) => b.append(append).await,
            Backend::Sqlite(b) => b.append(append).await,
        };
        let backend = self.backend_name();
        metrics::histogram!("pharos_eventstore_append_seconds", "backend" => backend)
            .record(started.elapsed().as_secs_f64());
        match &result {
            Ok(r) if r.iter().any(|r| r.appended) => {
                metrics::counter!("pharos_eventstore_appends_total", "backend" => backend, "outcome" => "ok").increment(1);
                if let Backend::Postgres(b) = &self.inner.backend {
                    b.announce();
                }
                self.inner.wakeup.send_modify(|n| *n = n.wrapping_add(1));
            }
            Ok(_) => metrics::counter!("pharos_eventstore_appends_total", "backend" => backend, "outcome" => "duplicate").increment(1),
            Err(StoreError::WrongExpectedVersion { .. }) => metrics::counter!("pharos_eventstore_appends_total", "backend" => backend, "outcome" => "wrong_version").increment(1),
            Err(_) => metrics::counter!("pharos_eventstore_appends_total", "backend" => backend, "outcome" => "error").increment(1),
        }
        result
    }

    /// The stream's events from `from_version` on (1 = from the start), in order.
    /// This store's number among those opened by this process (its clones share it): what
    /// tells apart two stores of this process whose streams share names, as a cache of
    /// their states must (another database's `school-0310001H`).
    pub fn instance(&self) -> u64 {
        self.inner.instance
    }

    pub async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = match &self.inner.backend {
            Backend::Postgres(b) => b.read_stream(stream, from_version).await?,
            Backend::Sqlite(b) => b.read_stream(stream, from_version).await?,
        };
        self.upcast_all(events)
    }

    /// How many appends with companions or several streams' parts PostgreSQL stored in
    /// one statement since this store was opened (SQLite: 0, its writer commits groups).
    /// What `pharos bench registrations` reports beside its rate.
    pub fn appends_in_one_statement(&self) -> u64 {
        match &self.inner.backend {
            Backend::Postgres(b) => b.one_statement.load(std::sync::atomic::Ordering::Relaxed),
            Backend::Sqlite(_) => 0,
        }
    }

    /// The stream's current version; 0 when it does not exist.
    pub async fn stream_version(&self, stream: &StreamId) -> Result<i64, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(b) => b.stream_version(stream.as_str()).await,
            Backend::Sqlite(b) => b.stream_version(stream.as_str()).await,
        }
    }

    /// Up to `limit` events after `after` in the global order, of the given categories
    /// (all when empty). Never returns an event before one that could still commit.
    pub async fn read_all(
        &self,
        after: GlobalPosition,
        limit: usize,
        categories: &[String],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        for category in categories {
            check_category(category)?;
        }
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let events = match &self.inner.backend {
            Backend::Postgres(b) => b.read_all(after, limit, categories).await?,
            Backend::Sqlite(b) => b.read_all(after, limit, categories).await?,
        };
        self.upcast_all(events)
    }

    /// The position of the last event committed, readable or not yet (on PostgreSQL an
    /// older transaction still open withholds it: [`Self::wait_readable`] waits for it).
    /// `None` on an empty log.
    pub async fn head(&self) -> Result<Option<GlobalPosition>, StoreError> {
        self.last_position(HEAD_POSTGRES, HEAD_SQLITE, None).await
    }

    /// The position of the last event of `category` committed, readable or not yet (see
    /// [`Self::head`]); `None` when it has none. A follower of the category that has
    /// applied this position has seen every one of its events committed before the call.
    pub async fn last_of(&self, category: &str) -> Result<Option<GlobalPosition>, StoreError> {
        check_category(category)?;
        self.last_position(LAST_OF_POSTGRES, LAST_OF_SQLITE, Some(category))
            .await
    }

    /// The position the backend's statement finds (`category` bound as `$1` when given).
    async fn last_position(
        &self,
        postgres: &'static str,
        sqlite: &'static str,
        category: Option<&str>,
    ) -> Result<Option<GlobalPosition>, StoreError> {
        let sql = match &self.inner.backend {
            Backend::Postgres(_) => postgres,
            Backend::Sqlite(_) => sqlite,
        };
        let found: Option<(i64, i64)> = on_db!(&self.db(), |pool| {
            let query = sqlx::query_as(sql);
            match category {
                Some(category) => query.bind(category),
                None => query,
            }
            .fetch_optional(pool)
            .await?
        });
        Ok(found.map(|(commit_id, position)| GlobalPosition {
            commit_id,
            position,
        }))
    }

    /// Waits until every event committed before this call is readable (at most
    /// `timeout`; returns whether it is): what a reader folding the log on a request calls
    /// first, so that it sees the writes acknowledged before it, a command just answered
    /// included. On SQLite it returns at once.
    pub async fn settle(&self, timeout: Duration) -> Result<bool, StoreError> {
        match self.head().await? {
            Some(head) => self.wait_readable(head, timeout).await,
            None => Ok(true),
        }
    }

    /// Waits until every event up to `position` (an append's result, say) is readable by
    /// `read_all` and subscribers, or `timeout` passes; returns whether it is. Readable
    /// events form a prefix of the global order, so one event after the position just
    /// below proves it. On PostgreSQL this may wait for an older open transaction.
    pub async fn wait_readable(
        &self,
        position: GlobalPosition,
        timeout: Duration,
    ) -> Result<bool, StoreError> {
        let below = GlobalPosition {
            position: position.position - 1,
            ..position
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if !self.read_all(below, 1, &[]).await?.is_empty() {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Events after `after` of `categories` (all when empty): first those already
    /// stored, then new ones as they commit.
    pub fn subscribe(&self, after: GlobalPosition, categories: Vec<String>) -> Subscription {
        Subscription::new(self.clone(), after, categories)
    }

    /// A receiver that changes whenever new events may be readable: local appends, and
    /// on PostgreSQL notifications from other processes.
    pub fn wakeups(&self) -> watch::Receiver<u64> {
        self.inner.wakeup.subscribe()
    }

    pub(crate) fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    fn upcast_all(&self, mut events: Vec<RecordedEvent>) -> Result<Vec<RecordedEvent>, StoreError> {
        for event in &mut events {
            let data = std::mem::take(&mut event.data);
            let (version, data) =
                self.inner
                    .upcasters
                    .upcast(&event.event_type, event.schema_version, data)?;
            event.schema_version = version;
            event.data = data;
        }
        Ok(events)
    }

    /// Runs `task` in the background until it ends or the store closes, whichever
    /// comes first: a task that reads or writes through the store (a subscription, a
    /// projection, a worker) stops at its next await when [`EventStore::close`] runs,
    /// and never meets a closed pool.
    pub fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let closing = self.inner.tasks.clone();
        self.inner.tracker.spawn(async move {
            tokio::select! {
                () = closing.cancelled() => {}
                () = task => {}
            }
        });
    }

    /// Stops the background tasks, waits for them (appends in flight finish first), then
    /// closes the pools.
    pub async fn close(&self) {
        self.inner.tasks.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(Duration::from_secs(10), self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks still running after 10 s; closing the pool");
        }
        match &self.inner.backend {
            Backend::Postgres(b) => b.pool.close().await,
            Backend::Sqlite(b) => b.close().await,
        }
    }
}

/// A batch checked and serialised once, before it reaches a backend.
pub(crate) struct PreparedBatch {
    pub event_ids: Vec<uuid::Uuid>,
    pub event_types: Vec<String>,
    pub schema_versions: Vec<i32>,
    pub data: Vec<String>,
    pub metadata: String,
}

/// One stream's share of a linked append ([`EventStore::append_linked`]).
#[derive(Debug, Clone)]
pub struct StreamAppend {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// One stream's events of an append, on their expectation.
pub(crate) struct Part {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub batch: PreparedBatch,
}

/// What one commit stores: one stream's events or several streams' (all or none), and
/// the rows written with them.
pub(crate) struct PreparedAppend {
    pub parts: Vec<Part>,
    pub companions: Companions,
}

impl PreparedBatch {
    fn new(events: Vec<NewEvent>, metadata: &Metadata) -> Result<Self, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyBatch);
        }
        let mut batch = Self {
            event_ids: Vec::with_capacity(events.len()),
            event_types: Vec::with_capacity(events.len()),
            schema_versions: Vec::with_capacity(events.len()),
            data: Vec::with_capacity(events.len()),
            metadata: serde_json::to_string(metadata).map_err(|e| StoreError::Corrupt {
                position: 0,
                reason: e.to_string(),
            })?,
        };
        for event in events {
            if event.schema_version < 1 {
                return Err(StoreError::InvalidSchemaVersion {
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    reason: "schema versions start at 1",
                });
            }
            if event.event_type.is_empty() || event.event_type.len() > 100 {
                return Err(StoreError::InvalidEventType {
                    event_type: event.event_type,
                    reason: "the event type must hold 1 to 100 bytes",
                });
            }
            if batch.event_ids.contains(&event.event_id) {
                return Err(StoreError::IdempotencyConflict {
                    event_id: event.event_id,
                });
            }
            let data = event.data.to_string();
            if data.len() > MAX_EVENT_DATA_BYTES {
                return Err(StoreError::EventTooLarge {
                    event_id: event.event_id,
                    bytes: data.len(),
                    limit: MAX_EVENT_DATA_BYTES,
                });
            }
            batch.event_ids.push(event.event_id);
            batch.event_types.push(event.event_type);
            batch.schema_versions.push(event.schema_version);
            batch.data.push(data);
        }
        Ok(batch)
    }

    pub fn len(&self) -> usize {
        self.event_ids.len()
    }
}

/// A category name as the log accepts it, or the error naming why not.
fn check_category(category: &str) -> Result<(), StoreError> {
    types::check_category(category).map_err(|reason| StoreError::InvalidCategory {
        category: category.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite reads the head from the table's b-tree: no sort of the log.
    #[tokio::test]
    async fn sqlite_reads_the_head_without_sorting_the_log() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        SQLITE_MIGRATIONS.run(&pool).await.unwrap();
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {HEAD_SQLITE}"
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        let steps: Vec<&str> = plan.iter().map(|step| step.3.as_str()).collect();
        assert!(
            steps.iter().all(|step| !step.contains("TEMP B-TREE")),
            "{steps:?}"
        );
    }
}
