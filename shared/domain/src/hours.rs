//! Hours of training derived from attendance: the one rule for trainings, the read model
//! and pHARe evidence.
//!
//! Attendance is recorded per slot (a half-day or shorter). A slot attended credits the
//! minutes stated, or the whole slot when none are, and never more than the slot lasts;
//! a slot missed (absent or excused) credits none. A person's attended minutes are the
//! sum of the minutes their slots attended credit, and their hours are those minutes
//! over sixty.

use std::fmt;

use pharos_events::training::AttendanceStatus;

/// Why the minutes stated for one slot are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinutesRefused {
    /// A slot attended credits a positive number of minutes.
    NotPositive,
    /// More minutes than the slot lasts.
    OverSlot { minutes: i64, slot_minutes: i64 },
    /// A slot missed (absent or excused) credits no minute.
    ForAbsence,
}

impl MinutesRefused {
    /// The stable slug of the rule broken (a problem's `type`).
    pub fn rule(self) -> &'static str {
        match self {
            Self::NotPositive => "non-positive-minutes",
            Self::OverSlot { .. } => "minutes-over-slot",
            Self::ForAbsence => "minutes-for-absence",
        }
    }
}

/// In French, for the person who stated the minutes.
impl fmt::Display for MinutesRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPositive => f.write_str("Une présence compte un nombre de minutes positif."),
            Self::OverSlot {
                minutes,
                slot_minutes,
            } => write!(
                f,
                "La présence saisie ({minutes} minutes) dépasse la durée du créneau ({slot_minutes} minutes)."
            ),
            Self::ForAbsence => f.write_str("Une absence ne compte pas de minutes."),
        }
    }
}

impl std::error::Error for MinutesRefused {}

/// The minutes one slot credits, given the attendance `status` recorded for it, the
/// minutes `stated` (if any) and the slot's length in minutes. A presence without
/// minutes credits the whole slot; an absence credits nothing (`0` may be stated).
pub fn slot_minutes(
    status: AttendanceStatus,
    stated: Option<i64>,
    slot_minutes: i64,
) -> Result<u32, MinutesRefused> {
    match (status, stated) {
        (AttendanceStatus::Present, None) => Ok(u32::try_from(slot_minutes).unwrap_or(0)),
        (AttendanceStatus::Present, Some(m)) if m <= 0 => Err(MinutesRefused::NotPositive),
        (AttendanceStatus::Present, Some(m)) if m > slot_minutes => Err(MinutesRefused::OverSlot {
            minutes: m,
            slot_minutes,
        }),
        (AttendanceStatus::Present, Some(m)) => Ok(u32::try_from(m).unwrap_or(0)),
        (AttendanceStatus::Absent | AttendanceStatus::Excused, None | Some(0)) => Ok(0),
        (AttendanceStatus::Absent | AttendanceStatus::Excused, Some(_)) => {
            Err(MinutesRefused::ForAbsence)
        }
    }
}

/// The minutes attended over some slots, each as recorded: its status and the minutes it
/// credits. Only the slots attended count.
pub fn attended_minutes(slots: impl IntoIterator<Item = (AttendanceStatus, u32)>) -> u32 {
    slots
        .into_iter()
        .filter(|(status, _)| *status == AttendanceStatus::Present)
        .fold(0, |total, (_, minutes)| total.saturating_add(minutes))
}

/// Hours from minutes: 390 minutes are 6.5 hours.
pub fn hours(minutes: u32) -> f64 {
    f64::from(minutes) / 60.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttendanceStatus::{Absent, Excused, Present};

    #[test]
    fn a_presence_without_minutes_credits_the_whole_slot() {
        assert_eq!(slot_minutes(Present, None, 180), Ok(180));
    }

    #[test]
    fn a_presence_credits_the_minutes_stated_up_to_the_slot() {
        assert_eq!(slot_minutes(Present, Some(150), 180), Ok(150));
        assert_eq!(slot_minutes(Present, Some(180), 180), Ok(180));
        assert_eq!(
            slot_minutes(Present, Some(181), 180),
            Err(MinutesRefused::OverSlot {
                minutes: 181,
                slot_minutes: 180
            })
        );
    }

    #[test]
    fn a_presence_credits_a_positive_number_of_minutes() {
        for stated in [0, -5] {
            assert_eq!(
                slot_minutes(Present, Some(stated), 180),
                Err(MinutesRefused::NotPositive)
            );
        }
    }

    #[test]
    fn an_absence_credits_nothing_and_states_no_minutes() {
        for status in [Absent, Excused] {
            assert_eq!(slot_minutes(status, None, 180), Ok(0));
            assert_eq!(slot_minutes(status, Some(0), 180), Ok(0));
            assert_eq!(
                slot_minutes(status, Some(30), 180),
                Err(MinutesRefused::ForAbsence)
            );
        }
    }

    #[test]
    fn refusals_name_their_rule_and_explain_in_french() {
        let over = MinutesRefused::OverSlot {
            minutes: 181,
            slot_minutes: 180,
        };
        assert_eq!(over.rule(), "minutes-over-slot");
        assert_eq!(
            over.to_string(),
            "La présence saisie (181 minutes) dépasse la durée du créneau (180 minutes)."
        );
        assert_eq!(MinutesRefused::NotPositive.rule(), "non-positive-minutes");
        assert_eq!(MinutesRefused::ForAbsence.rule(), "minutes-for-absence");
    }

    #[test]
    fn only_the_slots_attended_count() {
        assert_eq!(
            attended_minutes([(Present, 180), (Absent, 0), (Present, 210), (Excused, 0)]),
            390
        );
        assert_eq!(attended_minutes([(Present, 150), (Excused, 0)]), 150);
        assert_eq!(attended_minutes([]), 0);
    }

    #[test]
    fn hours_are_minutes_over_sixty() {
        assert!((hours(390) - 6.5).abs() < f64::EPSILON);
        assert!((hours(150) - 2.5).abs() < f64::EPSILON);
        assert!(hours(0).abs() < f64::EPSILON);
        assert!((hours(attended_minutes([(Present, 180), (Present, 210)])) - 6.5).abs() < 1e-9);
    }
}
