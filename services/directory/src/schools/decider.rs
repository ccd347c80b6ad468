//! The school decider (category `school`): a school is registered once (by hand or by
//! an import), updated by later imports, and closed at most once, perhaps with a
//! successor. Pure: no I/O, no HTTP; records arrive checked (see `input`).

use chrono::{DateTime, NaiveDate, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::Uai;
use pharos_events::school::{CATEGORY, SchoolEvent, SchoolRecord};
use pharos_eventstore::{StoreError, StreamId};

/// A school's stream: `school-<UAI>`.
pub fn stream(uai: &Uai) -> Result<StreamId, StoreError> {
    StreamId::new(CATEGORY, uai)
}

/// What a school's history folds to.
#[derive(Debug, Clone, Default)]
pub struct SchoolState {
    pub record: Option<SchoolRecord>,
    pub closed_on: Option<NaiveDate>,
    pub successor_uai: Option<Uai>,
}

#[derive(Debug, Clone)]
pub enum SchoolCommand {
    /// A new school; an existing one is a conflict.
    Register(SchoolRecord),
    /// A line of an import: registers, updates, or changes nothing.
    Import(SchoolRecord),
    Close {
        closed_on: NaiveDate,
        successor_uai: Option<Uai>,
    },
}

/// The school aggregate: one per UAI.
#[derive(Debug)]
pub struct School;

impl Decider for School {
    type State = SchoolState;
    type Command = SchoolCommand;
    type Event = SchoolEvent;

    fn evolve(mut state: SchoolState, event: &SchoolEvent) -> SchoolState {
        match event {
            SchoolEvent::SchoolRegistered(record) | SchoolEvent::SchoolUpdated(record) => {
                state.record = Some(record.clone());
            }
            SchoolEvent::SchoolClosed {
                closed_on,
                successor_uai,
            } => {
                state.closed_on = Some(*closed_on);
                state.successor_uai.clone_from(successor_uai);
            }
        }
        state
    }

    fn decide(
        command: &SchoolCommand,
        state: &SchoolState,
        _now: DateTime<Utc>,
    ) -> Result<Vec<SchoolEvent>, Rejection> {
        match (command, &state.record) {
            (SchoolCommand::Register(record), None) => {
                Ok(vec![SchoolEvent::SchoolRegistered(record.clone())])
            }
            (SchoolCommand::Register(record), Some(_)) => Err(Rejection::conflict(
                "school-exists",
                format!("L'établissement {} est déjà enregistré.", record.uai),
            )),
            (SchoolCommand::Import(record), None) => {
                Ok(vec![SchoolEvent::SchoolRegistered(record.clone())])
            }
            (SchoolCommand::Import(_), Some(_)) if state.closed_on.is_some() => {
                Err(Rejection::conflict(
                    "school-closed",
                    format!(
                        "établissement fermé le {} : la ligne n'est pas appliquée",
                        state.closed_on.unwrap_or_default().format("%d/%m/%Y")
                    ),
                ))
            }
            (SchoolCommand::Import(record), Some(current)) if record == current => Ok(vec![]),
            (SchoolCommand::Import(record), Some(_)) => {
                Ok(vec![SchoolEvent::SchoolUpdated(record.clone())])
            }
            (SchoolCommand::Close { .. }, None) => Err(Rejection::not_found(
                "school-unknown",
                "Cet établissement n'est pas enregistré.",
            )),
            (SchoolCommand::Close { .. }, Some(_)) if state.closed_on.is_some() => {
                Err(Rejection::conflict(
                    "school-already-closed",
                    format!(
                        "L'établissement est déjà fermé depuis le {}.",
                        state.closed_on.unwrap_or_default().format("%d/%m/%Y")
                    ),
                ))
            }
            (
                SchoolCommand::Close {
                    closed_on,
                    successor_uai,
                },
                Some(record),
            ) => {
                if successor_uai.as_ref() == Some(&record.uai) {
                    return Err(Rejection::invalid(
                        "successor-is-itself",
                        "successor_uai",
                        "Un établissement ne peut pas se succéder à lui-même.",
                    ));
                }
                Ok(vec![SchoolEvent::SchoolClosed {
                    closed_on: *closed_on,
                    successor_uai: successor_uai.clone(),
                }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_decider::given;
    use pharos_events::{DepartmentCode, PriorityEducation, SchoolKind, Sector};

    fn record(name: &str) -> SchoolRecord {
        SchoolRecord {
            uai: Uai::parse("0310001H").unwrap(),
            name: name.into(),
            kind: SchoolKind::parse("college").unwrap(),
            sector: Sector::parse("public").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
            commune: "Toulouse".into(),
            circonscription: None,
            priority_education: PriorityEducation::parse("rep").unwrap(),
        }
    }

    fn closed_on(text: &str) -> SchoolCommand {
        SchoolCommand::Close {
            closed_on: text.parse().unwrap(),
            successor_uai: None,
        }
    }

    #[test]
    fn an_import_registers_then_changes_nothing_then_updates() {
        given::<School>([])
            .when(&SchoolCommand::Import(record("Collège A")))
            .then(&[SchoolEvent::SchoolRegistered(record("Collège A"))]);
        let registered = [SchoolEvent::SchoolRegistered(record("Collège A"))];
        given::<School>(registered.clone())
            .when(&SchoolCommand::Import(record("Collège A")))
            .then(&[]);
        given::<School>(registered)
            .when(&SchoolCommand::Import(record("Collège B")))
            .then(&[SchoolEvent::SchoolUpdated(record("Collège B"))]);
    }

    #[test]
    fn rejects_registering_a_school_twice_and_closing_it_twice() {
        let registered = [SchoolEvent::SchoolRegistered(record("Collège A"))];
        given::<School>(registered.clone())
            .when(&SchoolCommand::Register(record("Collège A")))
            .then_rejected("school-exists");
        let closed = given::<School>(registered.clone())
            .when(&closed_on("2026-08-31"))
            .events();
        let history = [registered.to_vec(), closed].concat();
        given::<School>(history.clone())
            .when(&closed_on("2026-08-31"))
            .then_rejected("school-already-closed");
        given::<School>(history)
            .when(&SchoolCommand::Import(record("X")))
            .then_rejected("school-closed");
    }

    #[test]
    fn a_school_cannot_succeed_itself() {
        let close = SchoolCommand::Close {
            closed_on: "2026-08-31".parse().unwrap(),
            successor_uai: Some(Uai::parse("0310001H").unwrap()),
        };
        let rejection = given::<School>([SchoolEvent::SchoolRegistered(record("Collège A"))])
            .when(&close)
            .then_rejected("successor-is-itself");
        assert_eq!(rejection.field, Some("successor_uai"));
    }
}
