//! The partner decider (category `partner`): an entry of the orientation directory is
//! registered once, then replaced whole by updates, and verified from time to time; it
//! needs a new check twelve months after its last one. An entry can be archived (it
//! leaves the lists and can no longer be changed) and brought back. Pure: no I/O, no HTTP; contact
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
    pub archived: bool,
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
    Archive {
        reason: Option<String>,
    },
    Unarchive,
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
            PartnerEvent::PartnerArchived { .. } => state.archived = true,
            PartnerEvent::PartnerUnarchived {} => state.archived = false,
        }
        state
    }

    fn decide(
        command: &PartnerCommand,
        state: &PartnerState,
        now: DateTime<Utc>,
    ) -> Result<Vec<PartnerEvent>, Rejection> {
        let today = pharos_domain::today_in_france(now);
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
            (PartnerCommand::Archive { .. }, Some(_)) if state.archived => {
                Err(Rejection::conflict(
                    "partner-already-archived",
                    "Ce partenaire est déjà archivé.",
                ))
            }
            (PartnerCommand::Archive { reason }, Some(_)) => {
                Ok(vec![PartnerEvent::PartnerArchived {
                    reason: reason.clone(),
                }])
            }
            (PartnerCommand::Unarchive, Some(_)) if !state.archived => Err(Rejection::conflict(
                "partner-not-archived",
                "Ce partenaire n'est pas archivé.",
            )),
            (PartnerCommand::Unarchive, Some(_)) => Ok(vec![PartnerEvent::PartnerUnarchived {}]),
            (PartnerCommand::Update(_) | PartnerCommand::Verify { .. }, Some(_))
                if state.archived =>
            {
                Err(Rejection::conflict(
                    "partner-archived",
                    "Ce partenaire est archivé : désarchivez-le avant de modifier ou de vérifier sa fiche.",
                ))
            }
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

    #[test]
    fn an_archived_entry_is_frozen_until_it_is_brought_back() {
        let now = "2026-11-21T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let registered = PartnerEvent::PartnerRegistered {
            record: record(),
            verified_on: date("2026-01-10"),
        };
        let archived = PartnerEvent::PartnerArchived {
            reason: Some("structure fermée".into()),
        };
        given::<Partner>([registered.clone()])
            .at(now)
            .when(&PartnerCommand::Archive {
                reason: Some("structure fermée".into()),
            })
            .then(std::slice::from_ref(&archived));
        given::<Partner>([registered.clone()])
            .at(now)
            .when(&PartnerCommand::Unarchive)
            .then_rejected("partner-not-archived");
        let history = [registered.clone(), archived];
        given::<Partner>(history.clone())
            .at(now)
            .when(&PartnerCommand::Archive { reason: None })
            .then_rejected("partner-already-archived");
        for command in [
            PartnerCommand::Update(record()),
            PartnerCommand::Verify {
                on: date("2026-11-01"),
            },
        ] {
            given::<Partner>(history.clone())
                .at(now)
                .when(&command)
                .then_rejected("partner-archived");
        }
        given::<Partner>(history.clone())
            .at(now)
            .when(&PartnerCommand::Unarchive)
            .then(&[PartnerEvent::PartnerUnarchived {}]);
        let back = [history.to_vec(), vec![PartnerEvent::PartnerUnarchived {}]].concat();
        given::<Partner>(back)
            .at(now)
            .when(&PartnerCommand::Verify {
                on: date("2026-11-01"),
            })
            .then(&[PartnerEvent::PartnerVerified {
                verified_on: date("2026-11-01"),
            }]);
        given::<Partner>([])
            .at(now)
            .when(&PartnerCommand::Archive { reason: None })
            .then_rejected("partner-unknown");
    }

    #[test]
    fn events_written_before_countries_and_archives_still_read() {
        // A `partner_registered` of the first contract: no country, no archive.
        let old: PartnerEvent = serde_json::from_value(json!({
            "type": "partner_registered", "name": "Écoute Ados", "kind": "association",
            "scope": "department", "department": "31", "phones": ["05 61 00 00 00 "],
            "emails": [], "description": "", "contacts": [], "verified_on": "2025-01-01"
        }))
        .unwrap();
        let state = Partner::evolve(PartnerState::default(), &old);
        let record = state.record.unwrap();
        assert_eq!((record.country, state.archived), (None, false));
        assert_eq!(record.phones, ["05 61 00 00 00 "], "kept as stored");
    }
}
