//! SQLite backend: WAL with `synchronous=FULL` by default, one writer task that groups
//! concurrent appends so that they share one commit (one fsync), a pool for reads and
//! other writes (projections, leases, idempotency keys).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row, SqlitePool};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{
    AppendResult, GlobalPosition, Metadata, Part, PreparedAppend, ProjectionTx, RecordedEvent,
    SqliteSync, StoreError, StoreOptions, StreamId,
};
use uuid::Uuid;

/// Most appends one group commit takes.
const MAX_GROUP: usize = 512;
/// How long a group waits for more appends when several callers are at work.
const LINGER: Duration = Duration::from_micros(60);

pub(crate) struct SqliteBackend {
    pub pool: SqlitePool,
    writer: mpsc::Sender<Job>,
}

struct Job {
    append: PreparedAppend,
    reply: oneshot::Sender<Result<Vec<AppendResult>, StoreError>>,
}

impl Job {
    fn streams(&self) -> impl Iterator<Item = &str> {
        self.append.parts.iter().map(|p| p.stream.as_str())
    }
}

impl SqliteBackend {
    pub async fn connect(
        url: &str,
        options: &StoreOptions,
        wakeup: watch::Sender<u64>,
        tasks: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<Self, StoreError> {
        let synchronous = match options.sqlite_synchronous {
            SqliteSync::Full => SqliteSynchronous::Full,
            SqliteSync::Normal => SqliteSynchronous::Normal,
        };
        let connect_options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Deleted rows are overwritten with zeros: an erased person's key must not
            // survive in free pages.
            .pragma("secure_delete", "ON");
        if let Some(dir) = connect_options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(e.into()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .connect_with(connect_options.clone())
            .await?;
        let connection = connect_options.connect().await?;
        let (writer, jobs) = mpsc::channel(4 * MAX_GROUP);
        tracker.spawn(writer_loop(connection, jobs, wakeup, tasks.clone()));
        Ok(Self { pool, writer })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn append(&self, append: PreparedAppend) -> Result<Vec<AppendResult>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { append, reply };
        self.writer
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    pub async fn stream_version(&self, stream: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1")
                .bind(stream)
                .fetch_one(&self.pool)
                .await?,
        )
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
        rows.iter().map(decode).collect()
    }

    pub async fn read_all(
        &self,
        after: GlobalPosition,
        limit: i64,
        categories: &[String],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // Commits are serialised and positions grow with them: position order has no gaps
        // that could fill later, and commit_id is always 0, so the rowid alone orders.
        const ALL: &str = "SELECT position, commit_id, stream_id, category, version, event_id, \
             event_type, schema_version, data, metadata, recorded_at FROM events \
             WHERE position > $1 ORDER BY position LIMIT $2";
        // Several categories walk the log in order: the `+` keeps the planner from
        // gathering every match through `events_category_idx` and sorting them for each
        // page, which costs more than the walk when the categories are frequent.
        const BY_CATEGORY: &str = "SELECT position, commit_id, stream_id, category, version, \
             event_id, event_type, schema_version, data, metadata, recorded_at FROM events \
             WHERE position > $1 AND +category IN (SELECT value FROM json_each($3)) \
             ORDER BY position LIMIT $2";
        // One category: a range scan of `events_category_idx`, whose entries end with the
        // position, so already in the global order.
        const ONE_CATEGORY: &str = "SELECT position, commit_id, stream_id, category, version, \
             event_id, event_type, schema_version, data, metadata, recorded_at FROM events \
             WHERE category = $3 AND position > $1 ORDER BY position LIMIT $2";
        let query = sqlx::query(match categories {
            [] => ALL,
            [_] => ONE_CATEGORY,
            _ => BY_CATEGORY,
        })
        .bind(after.position)
        .bind(limit);
        let query = match categories {
            [one] => query.bind(one.clone()),
            many => query.bind(serde_json::to_string(many).unwrap_or_else(|_| "[]".into())),
        };
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(decode).collect()
    }
}

fn decode(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get("position")?;
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    let data: &str = row.try_get("data")?;
    let metadata: &str = row.try_get("metadata")?;
    Ok(RecordedEvent {
        position: GlobalPosition {
            commit_id: row.try_get("commit_id")?,
            position,
        },
        stream_id: row.try_get("stream_id")?,
        category: row.try_get("category")?,
        version: row.try_get("version")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        data: serde_json::from_str(data).map_err(|e| corrupt(e.to_string()))?,
        metadata: serde_json::from_str::<Metadata>(metadata).map_err(|e| corrupt(e.to_string()))?,
        recorded_at: row.try_get("recorded_at")?,
    })
}

fn drain(jobs: &mut mpsc::Receiver<Job>, group: &mut Vec<Job>) {
    while group.len() < MAX_GROUP {
        match jobs.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
}

async fn writer_loop(
    mut conn: SqliteConnection,
    mut jobs: mpsc::Receiver<Job>,
    wakeup: watch::Sender<u64>,
    tasks: CancellationToken,
) {
    let mut versions = VersionCache::default();
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut previous_group = 0;
    loop {
        let first = tokio::select! {
            biased;
            job = jobs.recv() => match job { Some(job) => job, None => return },
            () = tasks.cancelled() => { jobs.close(); match jobs.recv().await { Some(job) => job, None => return } }
        };
        group.push(first);
        drain(&mut jobs, &mut group);
        // Callers answered by the previous group come back within microseconds: when
        // several are at work, give them that long to join this group's fsync, and no
        // longer once as many as last time are here.
        if previous_group > 1 {
            let deadline = Instant::now() + LINGER;
            while group.len() < previous_group && Instant::now() < deadline {
                tokio::task::yield_now().await;
                drain(&mut jobs, &mut group);
            }
        }
        previous_group = group.len();
        let results = append_group(&mut conn, &mut versions, &group).await;
        let any_appended = results
            .iter()
            .any(|r| matches!(r, Ok(a) if a.iter().any(|a| a.appended)));
        for (job, result) in group.drain(..).zip(results) {
            let _ = job.reply.send(result);
        }
        if any_appended {
            wakeup.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// Last known version of recently written streams. Only this task writes events, so an
/// entry can lag behind the database only if another process wrote to the file; the
/// unique (stream, version) index then refuses the insert and the careful path runs.
#[derive(Default)]
struct VersionCache {
    versions: HashMap<String, i64>,
}

impl VersionCache {
    const CAPACITY: usize = 100_000;

    async fn load(&mut self, conn: &mut SqliteConnection, group: &[Job]) -> Result<(), StoreError> {
        const VERSIONS: &str = "SELECT s.value, \
             coalesce((SELECT max(version) FROM events WHERE stream_id = s.value), 0) \
             FROM json_each($1) AS s";
        let missing: HashSet<&str> = group
            .iter()
            .flat_map(Job::streams)
            .filter(|s| !self.versions.contains_key(*s))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if self.versions.len() + missing.len() > Self::CAPACITY {
            self.versions.clear();
        }
        let missing = serde_json::to_string(&missing).map_err(|e| StoreError::Corrupt {
            position: 0,
            reason: e.to_string(),
        })?;
        let found: Vec<(String, i64)> = sqlx::query_as(VERSIONS)
            .bind(missing)
            .fetch_all(&mut *conn)
            .await?;
        self.versions.extend(found);
        Ok(())
    }

    fn forget<'j>(&mut self, jobs: impl IntoIterator<Item = &'j Job>) {
        for stream in jobs.into_iter().flat_map(Job::streams) {
            self.versions.remove(stream);
        }
    }
}

/// Appends a group of jobs with as few statements as possible: each one is a round trip
/// to SQLite's thread, and one commit (one fsync) serves the whole group.
///
/// Fast path: every job whose expectation holds against the known versions goes into one
/// INSERT, autocommitted, so atomic and durable on its own. Careful path, in one
/// transaction after it: jobs whose expectation fails (they may be retries, answered with
/// the original result), ids repeated within the group, and every job when the fast
/// INSERT is refused (an id already stored, or versions changed under us).
async fn append_group(
    conn: &mut SqliteConnection,
    versions: &mut VersionCache,
    group: &[Job],
) -> Vec<Result<Vec<AppendResult>, StoreError>> {
    let mut results: Vec<Option<Result<Vec<AppendResult>, StoreError>>> =
        std::iter::repeat_with(|| None).take(group.len()).collect();
    if let Err(e) = versions.load(conn, group).await {
        return fail_all(group.len(), &e);
    }
    let plan = plan_group(&versions.versions, group);
    if !plan.accepted.is_empty() {
        match insert_planned(conn, &plan, group).await {
            Ok(positions) => {
                for (index, parts) in &plan.accepted {
                    let result = parts
                        .iter()
                        .map(|(stream, version)| {
                            versions.versions.insert(stream.clone(), *version);
                            positions
                                .get(&(stream.clone(), *version))
                                .map(|&position| AppendResult {
                                    version: *version,
                                    position: GlobalPosition {
                                        commit_id: 0,
                                        position,
                                    },
                                    appended: true,
                                })
                                .ok_or_else(|| StoreError::Corrupt {
                                    position: 0,
                                    reason: format!("no position returned for {stream} v{version}"),
                                })
                        })
                        .collect();
                    results[*index] = Some(result);
                }
            }
            // The statement was undone as a whole (SQLite aborts the statement), or the
            // transaction with it: the careful path tells which job was refused.
            Err(e) if is_any_unique_violation(&e) => versions.forget(group),
            Err(StoreError::CompanionRefused { .. }) => {}
            Err(e) => {
                tracing::error!(error = %e, "append failed; nothing of it was written");
                for (index, _) in &plan.accepted {
                    results[*index] = Some(Err(nothing_written(&e)));
                }
            }
        }
    }
    let careful: Vec<usize> = (0..group.len()).filter(|i| results[*i].is_none()).collect();
    if !careful.is_empty() {
        let jobs: Vec<&Job> = careful.iter().map(|i| &group[*i]).collect();
        let outcome = append_carefully(conn, &jobs).await;
        versions.forget(jobs.iter().copied());
        match outcome {
            Ok(done) => {
                for (index, result) in careful.into_iter().zip(done) {
                    results[index] = Some(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = careful.len(), "append transaction failed; nothing of it was written");
                for index in careful {
                    results[index] = Some(Err(nothing_written(&e)));
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Err(StoreError::Closed)))
        .collect()
}

fn nothing_written(e: &StoreError) -> StoreError {
    match e {
        // Kept as such: the caller answers « try again later », not an internal error.
        StoreError::Outage { outage, reason } => StoreError::Outage {
            outage: *outage,
            reason: format!("append failed, nothing written: {reason}"),
        },
        _ => StoreError::Database(sqlx::Error::Protocol(format!(
            "append failed, nothing written: {e}"
        ))),
    }
}

fn fail_all(n: usize, e: &StoreError) -> Vec<Result<Vec<AppendResult>, StoreError>> {
    (0..n).map(|_| Err(nothing_written(e))).collect()
}

fn is_any_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation())
}

/// Jobs one by one with every check, in one transaction.
async fn append_carefully(
    conn: &mut SqliteConnection,
    jobs: &[&Job],
) -> Result<Vec<Result<Vec<AppendResult>, StoreError>>, StoreError> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        match append_checked(conn, job).await {
            Ok(result) => results.push(result),
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                return Err(e);
            }
        }
    }
    if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(e.into());
    }
    Ok(results)
}

struct GroupPlan {
    /// Rows to insert, as one JSON array.
    rows: String,
    /// (job index, (stream, version of its last event) of each part) of each job in
    /// `rows`.
    accepted: Vec<(usize, Vec<(String, i64)>)>,
}

fn plan_group(known: &HashMap<String, i64>, group: &[Job]) -> GroupPlan {
    let mut current: HashMap<&str, i64> = HashMap::new();
    let mut ids = HashSet::new();
    let mut rows = Vec::new();
    let mut accepted = Vec::new();
    for (index, job) in group.iter().enumerate() {
        let parts = &job.append.parts;
        let version_of = |current: &HashMap<&str, i64>, stream: &str| {
            current
                .get(stream)
                .or_else(|| known.get(stream))
                .copied()
                .unwrap_or(0)
        };
        // Unmet expectations may be retries; ids seen twice are concurrent retries.
        if parts.iter().any(|p| {
            !p.expected
                .is_satisfied_by(version_of(&current, p.stream.as_str()))
                || p.batch.event_ids.iter().any(|id| ids.contains(id))
        }) {
            continue;
        }
        let mut lasts = Vec::with_capacity(parts.len());
        for part in parts {
            let stream = part.stream.as_str();
            let version = version_of(&current, stream);
            let batch = &part.batch;
            for i in 0..batch.len() {
                ids.insert(batch.event_ids[i]);
                rows.push(serde_json::json!([
                    stream,
                    part.stream.category(),
                    version + 1 + i as i64,
                    batch.event_ids[i].simple().to_string(),
                    batch.event_types[i],
                    batch.schema_versions[i],
                    batch.data[i],
                    batch.metadata,
                ]));
            }
            let last = version + batch.len() as i64;
            current.insert(stream, last);
            lasts.push((stream.to_owned(), last));
        }
        accepted.push((index, lasts));
    }
    GroupPlan {
        rows: serde_json::Value::Array(rows).to_string(),
        accepted,
    }
}

/// Inserts the planned rows in order, in one autocommitted statement, or in one
/// transaction after the accepted jobs' companions; returns each row's position by
/// (stream, version).
async fn insert_planned(
    conn: &mut SqliteConnection,
    plan: &GroupPlan,
    group: &[Job],
) -> Result<HashMap<(String, i64), i64>, StoreError> {
    let companions: Vec<_> = plan
        .accepted
        .iter()
        .flat_map(|(index, _)| &group[*index].append.companions)
        .collect();
    if companions.is_empty() {
        return insert_rows(conn, plan).await;
    }
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let written = async {
        for companion in companions {
            companion.write(ProjectionTx::Sqlite(conn)).await?;
        }
        let positions = insert_rows(conn, plan).await?;
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok(positions)
    }
    .await;
    if written.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    written
}

async fn insert_rows(
    conn: &mut SqliteConnection,
    plan: &GroupPlan,
) -> Result<HashMap<(String, i64), i64>, StoreError> {
    const INSERT: &str = "INSERT INTO events (stream_id, category, version, event_id, \
         event_type, schema_version, data, metadata, recorded_at) \
         SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, unhex(e.value ->> 3), \
           e.value ->> 4, e.value ->> 5, e.value ->> 6, e.value ->> 7, $2 \
         FROM json_each($1) AS e ORDER BY e.key \
         RETURNING stream_id, version, position";
    let inserted: Vec<(String, i64, i64)> = sqlx::query_as(INSERT)
        .bind(&plan.rows)
        .bind(Utc::now())
        .fetch_all(&mut *conn)
        .await?;
    Ok(inserted
        .into_iter()
        .map(|(stream, version, position)| ((stream, version), position))
        .collect())
}

/// One job with every check, in its own savepoint when it has several events, several
/// parts or companions (written once its events are, unless it was a retry). A job is a
/// retry only if every part of it is: an earlier append stored all its parts or none.
async fn append_checked(
    conn: &mut SqliteConnection,
    job: &Job,
) -> Result<Result<Vec<AppendResult>, StoreError>, StoreError> {
    let append = &job.append;
    let savepoint = append.parts.len() > 1
        || append.parts.iter().any(|p| p.batch.len() > 1)
        || !append.companions.is_empty();
    if savepoint {
        sqlx::query("SAVEPOINT job").execute(&mut *conn).await?;
    }
    let mut result = async {
        let mut results = Vec::with_capacity(append.parts.len());
        for part in &append.parts {
            results.push(append_one(conn, part).await?);
        }
        let appended = results.iter().filter(|r| r.appended).count();
        if appended != 0 && appended != results.len() {
            let retried = append
                .parts
                .iter()
                .zip(&results)
                .find(|(_, r)| !r.appended)
                .map_or(Uuid::nil(), |(p, _)| p.batch.event_ids[0]);
            return Err(StoreError::IdempotencyConflict { event_id: retried });
        }
        Ok(results)
    }
    .await;
    if matches!(&result, Ok(results) if results.iter().all(|r| r.appended)) {
        for companion in &append.companions {
            if let Err(e) = companion.write(ProjectionTx::Sqlite(conn)).await {
                result = Err(e);
                break;
            }
        }
    }
    match &result {
        Err(StoreError::Database(_) | StoreError::Outage { .. }) => {
            return Err(result.err().unwrap_or(StoreError::Closed));
        }
        Err(_) if savepoint => {
            sqlx::query("ROLLBACK TO job").execute(&mut *conn).await?;
            sqlx::query("RELEASE job").execute(&mut *conn).await?;
        }
        _ if savepoint => {
            sqlx::query("RELEASE job").execute(&mut *conn).await?;
        }
        _ => {}
    }
    Ok(result)
}

fn is_unique_violation(e: &sqlx::Error, columns: &str) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.is_unique_violation() && d.message().contains(columns))
}

async fn append_one(conn: &mut SqliteConnection, part: &Part) -> Result<AppendResult, StoreError> {
    const STATE: &str = "SELECT coalesce((SELECT max(version) FROM events WHERE stream_id = $1), 0), \
         (SELECT stream_id FROM events WHERE event_id = $2)";
    let stream = part.stream.as_str();
    let batch = &part.batch;
    let (current, holder): (i64, Option<String>) = sqlx::query_as(STATE)
        .bind(stream)
        .bind(batch.event_ids[0])
        .fetch_one(&mut *conn)
        .await?;
    if holder.is_some() {
        return earlier_append(conn, part).await;
    }
    if !part.expected.is_satisfied_by(current) {
        return Err(StoreError::WrongExpectedVersion {
            stream_id: stream.to_owned(),
            expected: part.expected,
            actual: current,
        });
    }
    const INSERT: &str = "INSERT INTO events (stream_id, category, version, event_id, event_type, \
         schema_version, data, metadata, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING position";
    let recorded_at = Utc::now();
    let mut position = 0;
    for i in 0..batch.len() {
        let inserted = sqlx::query_scalar(INSERT)
            .bind(stream)
            .bind(part.stream.category())
            .bind(current + 1 + i as i64)
            .bind(batch.event_ids[i])
            .bind(&batch.event_types[i])
            .bind(batch.schema_versions[i])
            .bind(&batch.data[i])
            .bind(&batch.metadata)
            .bind(recorded_at)
            .fetch_one(&mut *conn)
            .await;
        position = match inserted {
            Ok(p) => p,
            Err(e) if is_unique_violation(&e, "events.event_id") => {
                return Err(StoreError::IdempotencyConflict {
                    event_id: batch.event_ids[i],
                });
            }
            Err(e) => return Err(e.into()),
        };
    }
    Ok(AppendResult {
        version: current + batch.len() as i64,
        position: GlobalPosition {
            commit_id: 0,
            position,
        },
        appended: true,
    })
}

/// The first event id is already stored: this is a retry if every id of the batch is
/// stored in this stream, and a conflict otherwise.
async fn earlier_append(
    conn: &mut SqliteConnection,
    part: &Part,
) -> Result<AppendResult, StoreError> {
    let mut last: Option<(i64, i64)> = None;
    for event_id in &part.batch.event_ids {
        let found: Option<(i64, i64)> = sqlx::query_as(
            "SELECT version, position FROM events WHERE event_id = $1 AND stream_id = $2",
        )
        .bind(event_id)
        .bind(part.stream.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        match found {
            Some(found) => last = Some(last.map_or(found, |l| l.max(found))),
            // Name the id known to be stored: this one may be brand new.
            None => {
                return Err(StoreError::IdempotencyConflict {
                    event_id: part.batch.event_ids[0],
                });
            }
        }
    }
    let (version, position) = last.ok_or(StoreError::EmptyBatch)?;
    Ok(AppendResult {
        version,
        position: GlobalPosition {
            commit_id: 0,
            position,
        },
        appended: false,
    })
}
