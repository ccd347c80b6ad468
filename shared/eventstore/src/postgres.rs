//! PostgreSQL backend: appends through the `pharos_append` function (one round trip),
//! reads below the oldest running transaction, LISTEN/NOTIFY as a wake-up hint.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{PgPool, Row};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    AppendResult, ExpectedVersion, GlobalPosition, Metadata, PreparedBatch, RecordedEvent,
    StoreError, StoreOptions, StreamId,
};

pub(crate) const NOTIFY_CHANNEL: &str = "pharos_events";

pub(crate) struct PgBackend {
    pub pool: PgPool,
    pub connect_options: PgConnectOptions,
    /// Asks the notifier task to send one NOTIFY (several requests coalesce).
    announce: Arc<Notify>,
}

impl PgBackend {
    pub async fn connect(
        url: &str,
        options: &StoreOptions,
        wakeup: watch::Sender<u64>,
        tasks: CancellationToken,
    ) -> Result<Self, StoreError> {
        let connect_options = PgConnectOptions::from_str(url)?.application_name("pharos");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect_options.clone())
            .await?;
        let announce = Arc::new(Notify::new());
        tokio::spawn(notifier(pool.clone(), announce.clone(), tasks.clone()));
        tokio::spawn(listener(pool.clone(), wakeup, tasks));
        Ok(Self {
            pool,
            connect_options,
            announce,
        })
    }

    /// Tells other processes that events were appended. Sent after the commit, outside
    /// the append's transaction: a NOTIFY inside it would serialise every commit.
    pub fn announce(&self) {
        self.announce.notify_one();
    }

    pub async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        batch: PreparedBatch,
    ) -> Result<AppendResult, StoreError> {
        const APPEND: &str = "SELECT status, stream_version, commit_id, last_position \
             FROM pharos_append($1, $2, $3, $4, $5, $6, $7::text[]::jsonb[], $8::jsonb)";
        // A lost race on a version retries for `Any`. Any lost race retries once: the
        // winner may be an identical append (a retry racing its original), whose result
        // the next attempt's duplicate check returns instead of a conflict.
        for attempt in 0.. {
            let outcome = sqlx::query(APPEND)
                .bind(stream.as_str())
                .bind(stream.category())
                .bind(expected.as_sql())
                .bind(&batch.event_ids)
                .bind(&batch.event_types)
                .bind(&batch.schema_versions)
                .bind(&batch.data)
                .bind(&batch.metadata)
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::from);
            let row = match outcome {
                Ok(row) => row,
                Err(e) if e.constraint() == Some("events_stream_version_key") => {
                    if attempt < 1 || (expected == ExpectedVersion::Any && attempt < 100) {
                        continue;
                    }
                    let actual = self.stream_version(stream.as_str()).await?;
                    return Err(StoreError::WrongExpectedVersion {
                        stream_id: stream.to_string(),
                        expected,
                        actual,
                    });
                }
                Err(e) if e.constraint() == Some("events_event_id_key") => {
                    if attempt < 1 {
                        continue;
                    }
                    return Err(self.idempotency_conflict(&batch).await);
                }
                Err(e) => return Err(e),
            };
            let status: String = row.try_get("status")?;
            let version: i64 = row.try_get("stream_version")?;
            // pharos_append checks duplicates and versions in separate statements: an
            // identical append committing between the two shows as a wrong version.
            if status == "wrong_version" && attempt < 1 {
                continue;
            }
            return match status.as_str() {
                "ok" | "duplicate" => Ok(AppendResult {
                    version,
                    position: GlobalPosition {
                        commit_id: row.try_get("commit_id")?,
                        position: row.try_get("last_position")?,
                    },
                    appended: status == "ok",
                }),
                _ => Err(StoreError::WrongExpectedVersion {
                    stream_id: stream.to_string(),
                    expected,
                    actual: version,
                }),
            };
        }
        unreachable!("the retry loop returns")
    }

    async fn idempotency_conflict(&self, batch: &PreparedBatch) -> StoreError {
        let found: Result<Option<uuid::Uuid>, _> =
            sqlx::query_scalar("SELECT event_id FROM events WHERE event_id = ANY($1) LIMIT 1")
                .bind(&batch.event_ids)
                .fetch_optional(&self.pool)
                .await;
        match found {
            Ok(Some(event_id)) => StoreError::IdempotencyConflict { event_id },
            Ok(None) => StoreError::IdempotencyConflict {
                event_id: batch.event_ids[0],
            },
            Err(e) => e.into(),
        }
    }

    pub async fn stream_version(&self, stream: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT coalesce(max(version), 0)::bigint FROM events WHERE stream_id = $1",
        )
        .bind(stream)
        .fetch_one(&self.pool)
        .await?)
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
        let query = if categories.is_empty() {
            sqlx::query(ALL)
        } else {
            sqlx::query(BY_CATEGORY)
        };
        let rows = query
            .bind(after.commit_id)
            .bind(after.position)
            .bind(limit)
            .bind(categories)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }
}

fn decode(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let Json(metadata): Json<Metadata> = row.try_get("metadata")?;
    Ok(RecordedEvent {
        position: GlobalPosition {
            commit_id: row.try_get("commit_id")?,
            position: row.try_get("position")?,
        },
        stream_id: row.try_get("stream_id")?,
        category: row.try_get("category")?,
        version: row.try_get("version")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        data: row.try_get("data")?,
        metadata,
        recorded_at: row.try_get("recorded_at")?,
    })
}

/// Sends one NOTIFY per burst of local appends.
async fn notifier(pool: PgPool, announce: Arc<Notify>, tasks: CancellationToken) {
    loop {
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

/// Turns notifications from any process into local wake-ups.
async fn listener(pool: PgPool, wakeup: watch::Sender<u64>, tasks: CancellationToken) {
    let mut listener = loop {
        let attempt = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        };
        match attempt.await {
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
