//! The training decider: a training is created once, with a title. Pure: no I/O, no
//! HTTP.

use chrono::{DateTime, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::DepartmentCode;
use pharos_events::training::{TRAINING_CATEGORY, TrainingEvent};
use pharos_eventstore::{StoreError, StreamId};
use uuid::Uuid;

/// The stream of training `id`.
pub fn stream(id: Uuid) -> Result<StreamId, StoreError> {
    StreamId::new(TRAINING_CATEGORY, id)
}

/// What a training's history folds to: its creation, once created.
#[derive(Debug, Clone, Default)]
pub struct TrainingState {
    pub created: Option<TrainingEvent>,
}

impl TrainingState {
    /// The department that manages the training; `None` for an academy-wide one (or
    /// one that does not exist).
    pub fn department(&self) -> Option<&DepartmentCode> {
        match &self.created {
            Some(TrainingEvent::TrainingCreated { department, .. }) => department.as_ref(),
            None => None,
        }
    }
}

/// The training aggregate. Its one command is its creation, which carries the very facts
/// the event records.
#[derive(Debug)]
pub struct Training;

impl Decider for Training {
    type State = TrainingState;
    type Command = TrainingEvent;
    type Event = TrainingEvent;

    fn evolve(mut state: TrainingState, event: &TrainingEvent) -> TrainingState {
        state.created = Some(event.clone());
        state
    }

    fn decide(
        command: &TrainingEvent,
        state: &TrainingState,
        _now: DateTime<Utc>,
    ) -> Result<Vec<TrainingEvent>, Rejection> {
        if state.created.is_some() {
            return Err(Rejection::conflict(
                "training-exists",
                "Cette formation existe déjà.",
            ));
        }
        let TrainingEvent::TrainingCreated { title, .. } = command;
        if title.trim().is_empty() {
            return Err(Rejection::invalid(
                "title-required",
                "title",
                "Le titre de la formation est obligatoire.",
            ));
        }
        Ok(vec![command.clone()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_decider::given;
    use pharos_events::training::Topic;

    fn created(title: &str, department: Option<&str>) -> TrainingEvent {
        TrainingEvent::TrainingCreated {
            title: title.into(),
            topic: Topic::Mpp,
            audience: "équipes ressources des collèges".into(),
            department: department.map(|d| DepartmentCode::parse(d).unwrap()),
            description: String::new(),
            gaia_reference: None,
        }
    }

    #[test]
    fn creates_a_training_with_a_title() {
        let command = created("Méthode de la préoccupation partagée", Some("31"));
        given::<Training>([])
            .when(&command)
            .then(std::slice::from_ref(&command));
        let state = given::<Training>([]).when(&command).state_after();
        assert_eq!(state.department().map(DepartmentCode::as_str), Some("31"));
    }

    #[test]
    fn refuses_a_training_without_a_title() {
        given::<Training>([])
            .when(&created("  ", None))
            .then_rejected("title-required");
    }

    #[test]
    fn refuses_to_create_a_training_twice() {
        given::<Training>([created("Pilotes", None)])
            .when(&created("Pilotes", None))
            .then_rejected("training-exists");
    }
}
