//! The values that cross the store's API.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::StoreError;

/// Largest serialized `data` of one event.
pub const MAX_EVENT_DATA_BYTES: usize = 1024 * 1024;
const MAX_STREAM_ID_LEN: usize = 200;
const MAX_CATEGORY_LEN: usize = 50;

/// `<category>-<id>`: the category is lower-case ASCII letters, digits and `_`
/// (starting with a letter); the id is non-empty ASCII letters, digits and `_ - . :`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId {
    value: String,
    category_len: usize,
}

impl StreamId {
    /// Parses a stream id, refusing anything the store could not route by category.
    pub fn parse(value: impl Into<String>) -> Result<Self, StoreError> {
        let value = value.into();
        let invalid = |reason: &'static str| StoreError::InvalidStreamId {
            stream_id: value.chars().take(MAX_STREAM_ID_LEN).collect(),
            reason,
        };
        if value.len() > MAX_STREAM_ID_LEN {
            return Err(invalid("longer than 200 bytes"));
        }
        let Some(category_len) = value.find('-') else {
            return Err(invalid("expected <category>-<id>"));
        };
        let (category, id) = (&value[..category_len], &value[category_len + 1..]);
        check_category(category).map_err(invalid)?;
        if id.is_empty() {
            return Err(invalid("the id after the category is empty"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        {
            return Err(invalid(
                "the id may only hold ASCII letters, digits and _ - . :",
            ));
        }
        Ok(Self {
            value,
            category_len,
        })
    }

    /// The stream of one aggregate: `<category>-<id>`.
    pub fn new(category: &str, id: impl fmt::Display) -> Result<Self, StoreError> {
        Self::parse(format!("{category}-{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn category(&self) -> &str {
        &self.value[..self.category_len]
    }

    /// The part after the category.
    pub fn id(&self) -> &str {
        &self.value[self.category_len + 1..]
    }
}

pub(crate) fn check_category(category: &str) -> Result<(), &'static str> {
    let mut bytes = category.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_lowercase() => {}
        _ => return Err("the category must start with a lower-case letter"),
    }
    if category.len() > MAX_CATEGORY_LEN {
        return Err("the category is longer than 50 bytes");
    }
    if !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err("the category may only hold a-z, 0-9 and _");
    }
    Ok(())
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({})", self.value)
    }
}

impl TryFrom<String> for StreamId {
    type Error = StoreError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<StreamId> for String {
    fn from(id: StreamId) -> Self {
        id.value
    }
}

/// What the caller believes about the stream it appends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must hold at least one event.
    StreamExists,
    /// The stream's last version must be exactly this one.
    Exact(i64),
}

impl ExpectedVersion {
    /// Whether a stream currently at `actual` (0 = absent) satisfies this expectation.
    pub fn is_satisfied_by(self, actual: i64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == 0,
            Self::StreamExists => actual > 0,
            Self::Exact(n) => actual == n,
        }
    }

    /// The encoding the PostgreSQL batch append takes: NULL any, 0 none, -1 exists, n exact.
    pub(crate) fn as_sql(self) -> Option<i64> {
        match self {
            Self::Any => None,
            Self::NoStream => Some(0),
            Self::StreamExists => Some(-1),
            Self::Exact(n) => Some(n.max(0)),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::StreamExists => f.write_str("stream exists"),
            Self::Exact(n) => write!(f, "{n}"),
        }
    }
}

/// An event to append. `event_id` must be a UUID v7 chosen by the caller: re-sending
/// the same ids is how a retry stays idempotent.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub data: Value,
}

impl NewEvent {
    /// A new event with a fresh UUID v7, at schema version 1.
    pub fn new(event_type: impl Into<String>, data: Value) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            data,
        }
    }

    pub fn with_schema_version(mut self, schema_version: i32) -> Self {
        self.schema_version = schema_version;
        self
    }

    pub fn with_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }
}

/// Who caused a batch of events, and why: stored with every event of the batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_target: Option<String>,
}

/// A place in the global order. On PostgreSQL `commit_id` is the appending
/// transaction's id; on SQLite, where commits are serialised, it is always 0.
/// Order is lexicographic: commit first, then position.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct GlobalPosition {
    pub commit_id: i64,
    pub position: i64,
}

impl GlobalPosition {
    /// Before the first event.
    pub const START: Self = Self {
        commit_id: 0,
        position: 0,
    };
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// The stream's version after the append (the last appended event's version).
    pub version: i64,
    /// The last appended event's global position.
    pub position: GlobalPosition,
    /// False when every event was already stored by an earlier append with the same ids.
    pub appended: bool,
}

/// An event as read back, upcast to the newest schema version known to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub position: GlobalPosition,
    pub stream_id: String,
    pub category: String,
    pub version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub data: Value,
    pub metadata: Metadata,
    pub recorded_at: DateTime<Utc>,
}
