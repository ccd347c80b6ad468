//! The partner decider (category `partner`): an entry of the orientation directory is
//! registered once, then replaced whole by updates, and verified from time to time; it
//! needs a new check twelve months after its last one. Pure: no I/O, no HTTP; contact
//! people arrive sealed.

use chrono::{DateTime, Months, NaiveDate, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::partner::{CATEGORY, PartnerEvent, PartnerRecord};
use pharos_eventstore::{StoreError, StreamId};
use uuid::Uuid;

/// An entry is flagged for review this long after its last check.
const REVIEW_AFTER_MONTHS: u32 = 12;

/// A partner's stream: `partner-<id>`.
pub fn stream(id: Uuid) -> Result<StreamId, StoreError> {
    StreamId::new(CATEGORY, id)
}

/// What a partner's history folds to.
#[derive(Debug, Clone, Default)]
pub struct PartnerState {
    pub record: Option<PartnerRecord>,
    pub verified_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub enum PartnerCommand {
    Register {
        record: PartnerRecord,
        verified_on: NaiveDate,
    },
    Update(PartnerRecord),
    Verify {
        on: NaiveDate,
    },
}

/// The partner aggregate: an entry of the orientation directory.
#[derive(Debug)]
pub struct Partner;

impl Decider for Partner {
    type State = PartnerState;
    type Command = PartnerCommand;
    type Event = PartnerEvent;

    fn evolve(mut state: PartnerState, event: &PartnerEvent) -> PartnerState {
        match event {
            PartnerEvent::PartnerRegistered {
                record,
                verified_on,
            } => {
                state.record = Some(record.clone());
                state.verified_on = Some(*verified_on);
            }
            PartnerEvent::PartnerUpdated { record } => state.record = Some(record.clone()),
            PartnerEvent::PartnerVerified { verified_on } => state.verified_on = Some(*verified_on),
        }
        state
    }

    fn decide(
        command: &PartnerCommand,
        state: &PartnerState,
        now: DateTime<Utc>,
    ) -> Result<Vec<PartnerEvent>, Rejection> {
        let today = now.date_naive();
        match (command, &state.record) {
            (
                PartnerCommand::Register {
                    record,
                    verified_on,
                },
                None,
            ) => {
                if *verified_on > today {
                    return Err(Rejection::invalid(
                        "verified-in-future",
                        "last_verified_on",
                        "La date de vérification ne peut pas être dans le futur.",
                    ));
                }
                Ok(vec![PartnerEvent::PartnerRegistered {
                    record: record.clone(),
                    verified_on: *verified_on,
                }])
            }
            (PartnerCommand::Register { .. }, Some(_)) => Err(Rejection::conflict(
                "partner-exists",
                "Ce partenaire est déjà enregistré.",
            )),
            (_, None) => Err(Rejection::not_found(
                "partner-unknown",
                "Ce partenaire n'existe pas.",
            )),
            (PartnerCommand::Update(record), Some(current)) if record == current => Ok(vec![]),
            (PartnerCommand::Update(record), Some(_)) => Ok(vec![PartnerEvent::PartnerUpdated {
                record: record.clone(),
            }]),
            (PartnerCommand::Verify { on }, Some(_)) => {
                if *on > today {
                    return Err(Rejection::invalid(
                        "verified-in-future",
                        "verified_on",
                        "La date de vérification ne peut pas être dans le futur.",
                    ));
                }
                if state.verified_on.is_some_and(|v| v >= *on) {
                    return Ok(vec![]);
                }
                Ok(vec![PartnerEvent::PartnerVerified { verified_on: *on }])
            }
        }
    }
}

/// Whether an entry last checked on `verified_on` needs a new check `today`.
pub fn needs_review(verified_on: NaiveDate, today: NaiveDate) -> bool {
    verified_on
        .checked_add_months(Months::new(REVIEW_AFTER_MONTHS))
        .is_none_or(|due| due <= today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_decider::given;
    use serde_json::json;

    fn record() -> PartnerRecord {
        serde_json::from_value(json!({
            "name": "Maison des adolescents de la Haute-Garonne",
            "kind": "maison_des_adolescents", "scope": "department", "department": "31",
            "description": "Accueil des 11-25 ans"
        }))
        .unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn an_entry_needs_review_twelve_months_after_its_check() {
        let checked = date("2025-11-21");
        assert!(!needs_review(checked, date("2026-11-20")));
        assert!(needs_review(checked, date("2026-11-21")));
    }

    #[test]
    fn rejects_a_check_in_the_future_and_ignores_an_older_one() {
        let now = "2026-11-21T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let registered = [PartnerEvent::PartnerRegistered {
            record: record(),
            verified_on: date("2026-01-10"),
        }];
        given::<Partner>(registered.clone())
            .at(now)
            .when(&PartnerCommand::Verify {
                on: date("2026-11-22"),
            })
            .then_rejected("verified-in-future");
        given::<Partner>(registered)
            .at(now)
            .when(&PartnerCommand::Verify {
                on: date("2025-12-01"),
            })
            .then(&[]);
        given::<Partner>([])
            .at(now)
            .when(&PartnerCommand::Update(record()))
            .then_rejected("partner-unknown");
    }
}
