//! The event contract: the values events carry (parsed once at the boundary) and every
//! event type, by owning category. Services write only their own categories; any
//! service may read any category's events, through these types.
//!
//! An event is stored as its `event_type` (the snake_case variant name) and `data`
//! (the variant's fields). [`encode`] and [`decode`] do that split for enums tagged
//! `#[serde(tag = "type", rename_all = "snake_case")]`.

pub mod cohort;
pub mod contest;
pub mod national_day;
pub mod partner;
pub mod phare;
pub mod reminder;
pub mod school;
pub mod training;
pub mod user;
mod values;

use pharos_eventstore::{NewEvent, RecordedEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use values::{
    Academy, DepartmentCode, Email, InvalidValue, PriorityEducation, Role, SchoolKind, Sector, Uai,
};

/// An internally tagged event as the store's `(event_type, data)`.
pub fn encode<E: Serialize>(event: &E) -> NewEvent {
    let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
    let event_type = value
        .as_object_mut()
        .and_then(|o| o.remove("type"))
        .and_then(|t| t.as_str().map(str::to_owned))
        .unwrap_or_default();
    NewEvent::new(event_type, value)
}

/// The event back from the store; `None` when its type is not one of `E`'s (another
/// aggregate's event in the same category, or a newer type this build does not know).
pub fn decode<E: DeserializeOwned>(event: &RecordedEvent) -> Option<E> {
    let mut data = event.data.clone();
    let object = data.as_object_mut()?;
    object.insert("type".into(), Value::String(event.event_type.clone()));
    match serde_json::from_value(data) {
        Ok(e) => Some(e),
        Err(e) if e.to_string().starts_with("unknown variant") => None,
        Err(e) => {
            // A writer's bug, never the reader's to hide.
            tracing::warn!(stream = %event.stream_id, event_type = %event.event_type, error = %e, "undecodable event");
            None
        }
    }
}
