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

#[cfg(test)]
mod tests {
    use super::*;
    use cohort::{ClassLevel, CohortEvent};

    fn recorded(event_type: &str, data: Value) -> RecordedEvent {
        RecordedEvent {
            position: pharos_eventstore::GlobalPosition::START,
            stream_id: "ambassador_cohort-1".into(),
            category: "ambassador_cohort".into(),
            version: 1,
            event_id: uuid::Uuid::nil(),
            event_type: event_type.into(),
            schema_version: 1,
            data,
            metadata: pharos_eventstore::Metadata::default(),
            recorded_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn an_event_reads_back_from_its_stored_type_and_fields() {
        let event = CohortEvent::CountsSet {
            counts: [(ClassLevel::Sixieme, 3), (ClassLevel::Parents, 2)].into(),
        };
        let stored = encode(&event);
        assert_eq!(stored.event_type, "counts_set");
        assert!(stored.data.get("type").is_none());
        let back: Option<CohortEvent> = decode(&recorded(&stored.event_type, stored.data.clone()));
        assert_eq!(back, Some(event));

        // The stored type decides, whatever a field of the data says.
        let mut data = stored.data;
        data["type"] = Value::String("cohort_closed".into());
        let back: Option<CohortEvent> = decode(&recorded("counts_set", data));
        assert!(matches!(back, Some(CohortEvent::CountsSet { .. })));

        // Another aggregate's type, or one newer than this build: not this enum's event.
        let unknown: Option<CohortEvent> =
            decode(&recorded("renamed_later", serde_json::json!({})));
        assert_eq!(unknown, None);
        // Not an object: nothing to read.
        let shapeless: Option<CohortEvent> = decode(&recorded("counts_set", Value::Null));
        assert_eq!(shapeless, None);
    }
}
