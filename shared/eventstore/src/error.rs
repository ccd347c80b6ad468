use uuid::Uuid;

use crate::ExpectedVersion;

/// Everything an event store call can refuse or fail with. Every variant but
/// `Database`, `Outage` with [`Outage::Unreachable`] (a connection cut during a commit)
/// and `Closed` means nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("wrong expected version on {stream_id}: expected {expected}, actual {actual}")]
    WrongExpectedVersion {
        stream_id: String,
        expected: ExpectedVersion,
        /// The stream's version when the append was refused (0 = no stream).
        actual: i64,
    },
    #[error("an append needs at least one event")]
    EmptyBatch,
    #[error("event {event_id} has {bytes} bytes of data, over the limit of {limit}")]
    EventTooLarge {
        event_id: Uuid,
        bytes: usize,
        limit: usize,
    },
    #[error("invalid stream id {stream_id:?}: {reason}")]
    InvalidStreamId {
        stream_id: String,
        reason: &'static str,
    },
    #[error("invalid category {category:?}: {reason}")]
    InvalidCategory {
        category: String,
        reason: &'static str,
    },
    #[error("event id {event_id} is already stored, but not as part of this very append")]
    IdempotencyConflict { event_id: Uuid },
    #[error("schema version {schema_version} of event {event_type} is invalid: {reason}")]
    InvalidSchemaVersion {
        event_type: String,
        schema_version: i32,
        reason: &'static str,
    },
    #[error("invalid event type {event_type:?}: {reason}")]
    InvalidEventType {
        event_type: String,
        reason: &'static str,
    },
    #[error("upcasting {event_type} v{from} failed: {reason}")]
    Upcast {
        event_type: String,
        from: i32,
        reason: String,
    },
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt { position: i64, reason: String },
    #[error("the checkpoint of {name} moved while its batch was applied (another runner?)")]
    CheckpointMoved { name: String },
    /// A companion of the append ([`crate::Companion`]) refused its write: nothing of the
    /// append was stored. `reason` is said to the user, in French.
    #[error("{reason}")]
    CompanionRefused { reason: String },
    #[error("the store's writer has stopped")]
    Closed,
    #[error("projection {name} failed: {source}")]
    Projection {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database cannot serve: unreachable, restarting, or out of space. The caller
    /// may retry later; it is not the request's fault. (A string, not the `sqlx::Error`:
    /// the SQLite writer answers every job of a failed group with it.)
    #[error("database unavailable ({outage:?}): {reason}")]
    Outage { outage: Outage, reason: String },
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Why the database cannot serve at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// The connection failed or was cut, the pool found none in time, or the server is
    /// starting up or shutting down.
    Unreachable,
    /// The disk is full (SQLite's SQLITE_FULL, PostgreSQL's 53100): the write was undone.
    StorageFull,
}

impl Outage {
    /// The outage `error` reveals, if it reveals one (a refused statement does not).
    pub fn of(error: &sqlx::Error) -> Option<Self> {
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Some(Self::Unreachable),
            sqlx::Error::Database(e) => match e.code().as_deref() {
                // SQLite's primary result code (extended codes keep it in the low byte).
                Some(code) if code.parse::<i32>().is_ok_and(|c| c & 0xff == 13) => {
                    Some(Self::StorageFull)
                }
                Some("53100") => Some(Self::StorageFull),
                // Connection exceptions; admin or crash shutdown; starting up.
                Some(code)
                    if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03") =>
                {
                    Some(Self::Unreachable)
                }
                _ => None,
            },
            _ => None,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match Outage::of(&error) {
            Some(outage) => Self::Outage {
                outage,
                reason: error.to_string(),
            },
            None => Self::Database(error),
        }
    }
}

impl StoreError {
    /// The name of the violated constraint, when the database refused a write for one.
    pub(crate) fn constraint(&self) -> Option<&str> {
        match self {
            Self::Database(sqlx::Error::Database(e)) => e.constraint(),
            _ => None,
        }
    }
}
