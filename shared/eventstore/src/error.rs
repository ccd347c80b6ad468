use uuid::Uuid;

use crate::ExpectedVersion;

/// Everything an event store call can refuse or fail with. Every variant but
/// `Database` and `Closed` means nothing was written.
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
    #[error("the store's writer has stopped")]
    Closed,
    #[error("projection {name} failed: {source}")]
    Projection {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
