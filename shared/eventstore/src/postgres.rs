//! PostgreSQL backend: each append is one autocommitted statement (one round trip), its
//! companions' writes and its other streams' parts included where they allow it (else
//! one transaction), reads below the oldest running transaction, LISTEN/NOTIFY as a
//! wake-up hint.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgListener, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Arguments, AssertSqlSafe, PgConnection, PgPool, Row};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::companion::InStatement;
use crate::{
    AppendResult, ExpectedVersion, GlobalPosition, Metadata, Part, PreparedAppend, ProjectionTx,
    RecordedEvent, StoreError, StoreOptions, StreamId,
};

pub(crate) const NOTIFY_CHANNEL: &str = "pharos_events";

enum Refusal {
    /// The stream's state did not meet the expected version.
    Expectation,
    /// Another append took the version first.
    Version,
    /// An event id is already stored.
    EventId,
}

/// Versions this process has seen stored, per stream. Versions are never removed, so
/// "version n exists" stays true whatever other processes do: an append that expects a
/// version known here can skip the existence probe and let the unique index do the rest.
#[derive(Default)]
struct KnownVersions {
    versions: Mutex<HashMap<String, i64>>,
}

impl KnownVersions {
    const CAPACITY: usize = 100_000;

    fn exists(&self, stream: &str, version: i64) -> bool {
        self.versions
            .lock()
            .map(|v| v.get(stream).is_some_and(|known| *known >= version))
            .unwrap_or(false)
    }

    fn saw(&self, stream: &str, version: i64) {
        if let Ok(mut versions) = self.versions.lock() {
            // Every append passes here: no key allocated for a stream already known.
            if let Some(known) = versions.get_mut(stream) {
                *known = (*known).max(version);
                return;
            }
            if versions.len() >= Self::CAPACITY {
                versions.clear();
            }
            versions.insert(stream.to_owned(), version);
        }
    }
}

pub(crate) struct PgBackend {
    pub pool: PgPool,
    known_versions: KnownVersions,
    pub connect_options: PgConnectOptions,
    /// Asks the notifier task to send one NOTIFY (several requests coalesce).
    announce: Arc<Notify>,
    /// Appends with companions or several parts stored in one statement.
    pub one_statement: AtomicU64,
}

impl PgBackend {
    pub async fn connect(
        url: &str,
        options: &StoreOptions,
        wakeup: watch::Sender<u64>,
        tasks: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<Self, StoreError> {
        let connect_options = PgConnectOptions::from_str(url)?.application_name("pharos");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect_options.clone())
            .await?;
        let announce = Arc::new(Notify::new());
        tracker.spawn(notifier(pool.clone(), announce.clone(), tasks.clone()));
        tracker.spawn(listener(pool.clone(), wakeup, tasks.clone()));
        Ok(Self {
            pool,
            connect_options,
            announce,
            known_versions: KnownVersions::default(),
            one_statement: AtomicU64::new(0),
        })
    }

    /// Tells other processes that events were appended. Sent after the commit, outside
    /// the append's transaction: a NOTIFY inside it would serialise every commit.
    pub fn announce(&self) {
        self.announce.notify_one();
    }

    pub async fn append(&self, append: PreparedAppend) -> Result<Vec<AppendResult>, StoreError> {
        // A lost race on a version retries for the expectations that do not name one.
        let retries = if append.parts.iter().all(|p| {
            matches!(
                p.expected,
                ExpectedVersion::Any | ExpectedVersion::StreamExists
            )
        }) {
            100
        } else {
            0
        };
        for attempt in 0.. {
            // Which part the refusal is about.
            let mut at = 0;
            let refused = match self.insert(&append, &mut at).await {
                Ok(Some(results)) => return Ok(results),
                Ok(None) => Refusal::Expectation,
                Err(e) if e.constraint() == Some("events_stream_version_key") => Refusal::Version,
                Err(e) if e.constraint() == Some("events_event_id_key") => Refusal::EventId,
                Err(e) => return Err(e),
            };
            // Every refusal may be a retry of an append that committed: answer with its
            // result. The insert ran first and waited for any such append in flight on
            // the unique indexes, so the check below sees it committed.
            if let Some(original) = self.earlier_append(&append.parts).await? {
                return Ok(original);
            }
            let part = &append.parts[at.min(append.parts.len() - 1)];
            match refused {
                Refusal::EventId => return Err(self.idempotency_conflict(&append.parts).await),
                Refusal::Version if attempt < retries => continue,
                Refusal::Version | Refusal::Expectation => {
                    return Err(StoreError::WrongExpectedVersion {
                        stream_id: part.stream.to_string(),
                        expected: part.expected,
                        actual: self.stream_version(part.stream.as_str()).await?,
                    });
                }
            }
        }
        unreachable!("the retry loop returns")
    }

    /// The append's statement, autocommitted, or in one transaction with its companions
    /// and its other parts: `None` when a part's stream does not meet its expectation
    /// (and nothing was written). `at` is left on the part being written when it stops.
    async fn insert(
        &self,
        append: &PreparedAppend,
        at: &mut usize,
    ) -> Result<Option<Vec<AppendResult>>, StoreError> {
        if let Some(stored) = self.in_one_statement(append).await? {
            return Ok(Some(stored));
        }
        let mut results = Vec::with_capacity(append.parts.len());
        if append.companions.is_empty() && append.parts.len() == 1 {
            let part = &append.parts[0];
            let mut conn = self.pool.acquire().await?;
            match self.insert_on(&mut conn, part).await? {
                Some(result) => results.push(result),
                None => return Ok(None),
            }
        } else {
            // Dropped on any error before the commit: rolled back, companions included.
            let mut tx = self.pool.begin().await?;
            for companion in &append.companions {
                companion.write(ProjectionTx::Postgres(&mut tx)).await?;
            }
            for (i, part) in append.parts.iter().enumerate() {
                *at = i;
                match self.insert_on(&mut tx, part).await? {
                    Some(result) => results.push(result),
                    None => {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                }
            }
            tx.commit().await?;
        }
        for (part, result) in append.parts.iter().zip(&results) {
            self.known_versions
                .saw(part.stream.as_str(), result.version);
        }
        Ok(Some(results))
    }

    /// An append with companions or several parts as one autocommitted statement: the
    /// companions' writes ([`InStatement`]) and every part's events in one `INSERT`. Only
    /// where no part needs its stream's state probed (each expects an exact version known
    /// to exist, or no stream), so that a part refused by the log fails the statement (a
    /// unique index) instead of leaving the others stored. `None`: not possible, or the
    /// statement failed and nothing of it was stored; the transaction path then runs and
    /// decides (who refused, or whether this is the retry of an earlier append).
    async fn in_one_statement(
        &self,
        append: &PreparedAppend,
    ) -> Result<Option<Vec<AppendResult>>, StoreError> {
        if append.companions.is_empty() && append.parts.len() == 1 {
            return Ok(None);
        }
        let mut rows = Rows::default();
        for part in &append.parts {
            let first = match part.expected {
                ExpectedVersion::NoStream => 0,
                ExpectedVersion::Exact(n)
                    if n <= 0 || self.known_versions.exists(part.stream.as_str(), n) =>
                {
                    n.max(0)
                }
                _ => return Ok(None),
            };
            rows.add(part, first);
        }
        let mut arguments = PgArguments::default();
        rows.bind(&mut arguments)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
        let mut statement = InStatement::new(arguments);
        for companion in &append.companions {
            if !companion.in_statement(&mut statement)? {
                return Ok(None);
            }
        }
        let mut sql = String::new();
        for (i, write) in statement.writes.iter().enumerate() {
            sql.push_str(if i == 0 { "WITH " } else { ", " });
            sql.push_str(&format!("w{i} AS ({write})"));
        }
        sql.push_str(
            " INSERT INTO events (stream_id, category, version, event_id, event_type, \
               schema_version, data, metadata) \
             SELECT e.stream_id, e.category, e.version, e.id, e.type, e.schema_version, \
               e.data::json, e.metadata::json \
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], \
               $6::int[], $7::text[], $8::text[]) \
               WITH ORDINALITY AS e(stream_id, category, version, id, type, schema_version, \
               data, metadata, ord) \
             ORDER BY e.ord \
             RETURNING stream_id, commit_id, position, version",
        );
        let stored: Vec<(String, i64, i64, i64)> =
            match sqlx::query_as_with(AssertSqlSafe(sql), statement.arguments)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from)
            {
                Ok(stored) => stored,
                // Refused: by a unique index (a version taken, an event id stored, a
                // companion's row already there), or anything else the database said.
                Err(StoreError::Database(sqlx::Error::Database(_))) => return Ok(None),
                Err(e) => return Err(e),
            };
        let mut results = Vec::with_capacity(append.parts.len());
        for part in &append.parts {
            let last = stored
                .iter()
                .filter(|row| row.0 == part.stream.as_str())
                .max_by_key(|row| row.3)
                .ok_or_else(|| StoreError::Corrupt {
                    position: 0,
                    reason: format!("the append's statement returned no row of {}", part.stream),
                })?;
            self.known_versions.saw(part.stream.as_str(), last.3);
            results.push(AppendResult {
                version: last.3,
                position: GlobalPosition {
                    commit_id: last.1,
                    position: last.2,
                },
                appended: true,
            });
        }
        self.one_statement.fetch_add(1, Ordering::Relaxed);
        Ok(Some(results))
    }

    /// One statement on `conn`. The common cases (one event, no stream or an exact
    /// version) are a plain INSERT: the unique index on (stream, version) does the
    /// concurrency check.
    async fn insert_on(
        &self,
        conn: &mut PgConnection,
        part: &Part,
    ) -> Result<Option<AppendResult>, StoreError> {
        let (stream, expected, batch) = (&part.stream, part.expected, &part.batch);
        // Version $8 + 1 when version $8 is known to exist (or $8 = 0).
        const PLAIN: &str = "INSERT INTO events (stream_id, category, version, event_id, \
             event_type, schema_version, data, metadata) \
             VALUES ($1, $2, $8 + 1, $3, $4, $5, $6::json, $7::json) RETURNING commit_id, position";
        // Otherwise version n must exist, so that a stale caller cannot leave a gap.
        const NEXT: &str = "INSERT INTO events (stream_id, category, version, event_id, \
             event_type, schema_version, data, metadata) \
             SELECT $1, $2, $8 + 1, $3, $4, $5, $6::json, $7::json \
             WHERE EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND version = $8) \
             RETURNING commit_id, position";
        // $3: NULL any, 0 no stream, -1 stream exists, n exactly n.
        const BATCH: &str = "WITH current AS ( \
               SELECT coalesce(max(version), 0) AS version FROM events WHERE stream_id = $1) \
             INSERT INTO events (stream_id, category, version, event_id, event_type, \
               schema_version, data, metadata) \
             SELECT $1, $2, current.version + e.ord, e.id, e.type, e.schema_version, e.data::json, $8::json \
             FROM current, unnest($4::uuid[], $5::text[], $6::int[], $7::text[]) \
               WITH ORDINALITY AS e(id, type, schema_version, data, ord) \
             WHERE $3::bigint IS NULL OR current.version = $3 OR ($3 = -1 AND current.version > 0) \
             ORDER BY e.ord \
             RETURNING commit_id, position, version";
        let single = batch.len() == 1;
        let exact = match expected {
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exact(n) => Some(n.max(0)),
            _ => None,
        };
        let rows: Vec<(i64, i64, i64)> = match exact {
            Some(n) if single => {
                let sql = if n == 0 || self.known_versions.exists(stream.as_str(), n) {
                    PLAIN
                } else {
                    NEXT
                };
                sqlx::query_as(sql)
                    .bind(stream.as_str())
                    .bind(stream.category())
                    .bind(batch.event_ids[0])
                    .bind(&batch.event_types[0])
                    .bind(batch.schema_versions[0])
                    .bind(&batch.data[0])
                    .bind(&batch.metadata)
                    .bind(n)
                    .fetch_optional(&mut *conn)
                    .await?
                    .map(|(commit_id, position): (i64, i64)| vec![(commit_id, position, n + 1)])
                    .unwrap_or_default()
            }
            _ => {
                sqlx::query_as(BATCH)
                    .bind(stream.as_str())
                    .bind(stream.category())
                    .bind(expected.as_sql())
                    .bind(&batch.event_ids)
                    .bind(&batch.event_types)
                    .bind(&batch.schema_versions)
                    .bind(&batch.data)
                    .bind(&batch.metadata)
                    .fetch_all(&mut *conn)
                    .await?
            }
        };
        let last = rows.iter().max_by_key(|r| r.2);
        Ok(last.map(|&(commit_id, position, version)| AppendResult {
            version,
            position: GlobalPosition {
                commit_id,
                position,
            },
            appended: true,
        }))
    }

    /// The results of an earlier append of exactly these parts (each part's events in
    /// its stream), if there was one.
    async fn earlier_append(
        &self,
        parts: &[Part],
    ) -> Result<Option<Vec<AppendResult>>, StoreError> {
        let mut results = Vec::with_capacity(parts.len());
        for part in parts {
            let (found, version, commit_id, position): (
                i64,
                Option<i64>,
                Option<i64>,
                Option<i64>,
            ) = sqlx::query_as(
                "SELECT count(*), max(version), max(commit_id), max(position) FROM events \
                 WHERE event_id = ANY($1) AND stream_id = $2",
            )
            .bind(&part.batch.event_ids)
            .bind(part.stream.as_str())
            .fetch_one(&self.pool)
            .await?;
            match (version, commit_id, position) {
                (Some(version), Some(commit_id), Some(position))
                    if found == part.batch.len() as i64 =>
                {
                    results.push(AppendResult {
                        version,
                        position: GlobalPosition {
                            commit_id,
                            position,
                        },
                        appended: false,
                    });
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(results))
    }

    async fn idempotency_conflict(&self, parts: &[Part]) -> StoreError {
        let ids: Vec<uuid::Uuid> = parts
            .iter()
            .flat_map(|p| p.batch.event_ids.iter().copied())
            .collect();
        let found: Result<Option<uuid::Uuid>, _> =
            sqlx::query_scalar("SELECT event_id FROM events WHERE event_id = ANY($1) LIMIT 1")
                .bind(&ids)
                .fetch_optional(&self.pool)
                .await;
        match found {
            Ok(Some(event_id)) => StoreError::IdempotencyConflict { event_id },
            Ok(None) => StoreError::IdempotencyConflict { event_id: ids[0] },
            Err(e) => e.into(),
        }
    }

    pub async fn stream_version(&self, stream: &str) -> Result<i64, StoreError> {
        let version = sqlx::query_scalar(
            "SELECT coalesce(max(version), 0)::bigint FROM events WHERE stream_id = $1",
        )
        .bind(stream)
        .fetch_one(&self.pool)
        .await?;
        if version > 0 {
            self.known_versions.saw(stream, version);
        }
        Ok(version)
    }

    pub async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        const SQL: &str = "SELECT position, commit_id, stream_id, category, version, event_id, \
             event_type, schema_version, data, metadata, recorded_at \
             FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version";
        let rows = sqlx::query(SQL)
            .bind(stream.as_str())
            .bind(from_version)
            .fetch_all(&self.pool)
            .await?;
        let events: Vec<RecordedEvent> = rows.iter().map(decode).collect::<Result<_, _>>()?;
        if let Some(last) = events.last() {
            self.known_versions.saw(stream.as_str(), last.version);
        }
        Ok(events)
    }

    pub async fn read_all(
        &self,
        after: GlobalPosition,
        limit: i64,
        categories: &[String],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // Only rows of transactions older than every running one: nothing can commit
        // below that line any more, so a reader that moves past a position never has
        // to come back for it.
        const ALL: &str = "SELECT position, commit_id, stream_id, category, version, event_id, \
             event_type, schema_version, data, metadata, recorded_at FROM events \
             WHERE (commit_id, position) > ($1, $2) \
               AND commit_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
             ORDER BY commit_id, position LIMIT $3";
        const BY_CATEGORY: &str = "SELECT position, commit_id, stream_id, category, version, \
             event_id, event_type, schema_version, data, metadata, recorded_at FROM events \
             WHERE (commit_id, position) > ($1, $2) \
               AND commit_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
               AND category = ANY($4) \
             ORDER BY commit_id, position LIMIT $3";
        // One category: a range scan of `events_category_idx`, already in the global
        // order, when the category is rare (`= ANY` would sort every match); a frequent one
        // keeps the walk. Each execution is planned for its values: with the LIMIT a
        // parameter, the generic plan assumes a tenth of the table and costs more.
        const ONE_CATEGORY: &str = "SELECT position, commit_id, stream_id, category, version, \
             event_id, event_type, schema_version, data, metadata, recorded_at FROM events \
             WHERE category = $4 AND (commit_id, position) > ($1, $2) \
               AND commit_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
             ORDER BY commit_id, position LIMIT $3";
        let query = sqlx::query(match categories {
            [] => ALL,
            [_] => ONE_CATEGORY,
            _ => BY_CATEGORY,
        })
        .bind(after.commit_id)
        .bind(after.position)
        .bind(limit);
        let query = match categories {
            [one] => query.bind(one),
            many => query.bind(many),
        };
        // Each row is decoded as it arrives: the server keeps sending the page meanwhile,
        // where collecting the page first left it idle during the decoding.
        let mut rows = query.fetch(&self.pool);
        let mut events = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(PAGE_CAPACITY));
        while let Some(row) = rows.try_next().await? {
            events.push(decode(&row)?);
        }
        Ok(events)
    }
}

/// The events of an append made in one statement, as the columns of its `unnest`.
#[derive(Default)]
struct Rows<'a> {
    streams: Vec<&'a str>,
    categories: Vec<&'a str>,
    versions: Vec<i64>,
    ids: Vec<uuid::Uuid>,
    types: Vec<&'a str>,
    schema_versions: Vec<i32>,
    data: Vec<&'a str>,
    metadata: Vec<&'a str>,
}

impl<'a> Rows<'a> {
    /// `part`'s events, numbered from the version after `after`.
    fn add(&mut self, part: &'a Part, after: i64) {
        let batch = &part.batch;
        for i in 0..batch.len() {
            self.streams.push(part.stream.as_str());
            self.categories.push(part.stream.category());
            self.versions.push(after + 1 + i as i64);
            self.ids.push(batch.event_ids[i]);
            self.types.push(&batch.event_types[i]);
            self.schema_versions.push(batch.schema_versions[i]);
            self.data.push(&batch.data[i]);
            self.metadata.push(&batch.metadata);
        }
    }

    /// Binds the columns as `$1` to `$8`.
    fn bind(self, arguments: &mut PgArguments) -> Result<(), sqlx::error::BoxDynError> {
        arguments.add(self.streams)?;
        arguments.add(self.categories)?;
        arguments.add(self.versions)?;
        arguments.add(self.ids)?;
        arguments.add(self.types)?;
        arguments.add(self.schema_versions)?;
        arguments.add(self.data)?;
        arguments.add(self.metadata)?;
        Ok(())
    }
}

/// Most rows a read reserves room for before it sees them.
const PAGE_CAPACITY: usize = 10_000;

/// Columns in the order of `COLUMNS`; read by index, the hot path of every replay.
fn decode(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let Json(metadata): Json<Metadata> = row.try_get(9)?;
    Ok(RecordedEvent {
        position: GlobalPosition {
            commit_id: row.try_get(1)?,
            position: row.try_get(0)?,
        },
        stream_id: row.try_get(2)?,
        category: row.try_get(3)?,
        version: row.try_get(4)?,
        event_id: row.try_get(5)?,
        event_type: row.try_get(6)?,
        schema_version: row.try_get(7)?,
        data: row.try_get(8)?,
        metadata,
        recorded_at: row.try_get(10)?,
    })
}

/// Sends one NOTIFY per burst of local appends, at most one per `NOTIFY_INTERVAL`:
/// each NOTIFY is a transaction that takes a cluster-wide lock at commit.
async fn notifier(pool: PgPool, announce: Arc<Notify>, tasks: CancellationToken) {
    const NOTIFY_INTERVAL: Duration = Duration::from_millis(25);
    loop {
        tokio::time::sleep(NOTIFY_INTERVAL).await;
        tokio::select! {
            () = tasks.cancelled() => return,
            () = announce.notified() => {}
        }
        if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(NOTIFY_CHANNEL)
            .execute(&pool)
            .await
        {
            // Subscribers still poll: a lost hint only delays them.
            tracing::debug!(error = %e, "NOTIFY failed");
        }
    }
}

/// A listener on `channel`, on a connection of its own beside `pool` (same server and
/// settings; sqlx's [`PgListener::connect`] does the same from a URL), not one of the
/// pool's. A listener holds its connection for the process's life: taken from the pool,
/// it would leave requests and projectors one short for good. With 4 connections, the
/// read model's two listeners left two, which two dashboards' snapshots took, each then
/// waiting for a second one (a short read beside its snapshot) until the pool's timeout,
/// every other request of the process with them.
pub async fn listen(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own).await?;
    // Nothing closes its pool but its end: no close event to wait for.
    listener.ignore_pool_close_event(true);
    listener.listen(channel).await?;
    Ok(listener)
}

/// Turns notifications from any process into local wake-ups.
async fn listener(pool: PgPool, wakeup: watch::Sender<u64>, tasks: CancellationToken) {
    let mut listener = loop {
        match listen(&pool, NOTIFY_CHANNEL).await {
            Ok(l) => break l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; subscribers fall back to polling");
                tokio::select! {
                    () = tasks.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        }
    };
    loop {
        tokio::select! {
            () = tasks.cancelled() => return,
            received = listener.recv() => match received {
                Ok(_) => wakeup.send_modify(|n| *n = n.wrapping_add(1)),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; retrying");
                    tokio::select! {
                        () = tasks.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }
}
