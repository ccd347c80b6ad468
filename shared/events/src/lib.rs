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
    let object = event.data.as_object()?;
    // The tag and the data's fields read in place, as one map: a copy of the data with
    // the tag inserted cost a clone of every field of every event replayed.
    let tag = Value::String(event.event_type.clone());
    let fields = std::iter::once(("type", &tag)).chain(
        object
            .iter()
            .filter(|(name, _)| name.as_str() != "type")
            .map(|(name, value)| (name.as_str(), value)),
    );
    let map = serde::de::value::MapDeserializer::<_, serde_json::Error>::new(fields);
    match E::deserialize(map) {
        Ok(e) => Some(e),
        Err(e) if e.to_string().starts_with("unknown variant") => None,
        Err(e) => {
            // A writer's bug, never the reader's to hide.
            tracing::warn!(stream = %event.stream_id, event_type = %event.event_type, error = %e, "undecodable event");
            None
        }
    }
}
