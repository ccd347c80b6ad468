//! pHARe compliance flags: computed from the recorded facts, they never block a save.
//!
//! What pHARe asks of a deployment (a school, or a circonscription, for a school
//! year): a charter in force, a resource team of at least 5 trained members, a named
//! coordinator, a treatment protocol formalised and presented, the 10 hours of learning
//! per pupil planned, at least one parent workshop held. The `phare` target shows these
//! flags with a deployment; the read model counts them and the reminders chase what is
//! missing, from the same functions.
//!
//! Inputs are plain facts ([`DeploymentFacts`]) and a date: a fact dated ahead (a
//! protocol presentation, a workshop scheduled) counts once its day has come.
//!
//! Pupil ambassadors (at least 10 in a collège or lycée) are a label criterion the
//! school answers; no deployment fact records them yet, so no flag is computed for them.

use chrono::{Days, NaiveDate};
use pharos_events::phare::SchoolYear;

/// A resource team is complete with this many trained members.
pub const TRAINED_MEMBERS_REQUIRED: usize = 5;
/// The 10 heures d'apprentissage per pupil and year.
pub const LEARNING_HOURS_REQUIRED: u32 = 10;
/// Renewal of the charter is due this many days before its end.
pub const RENEWAL_NOTICE_DAYS: u64 = 60;

/// A charter's term: it runs the school year it is signed in and the next one, and is
/// due for renewal [`RENEWAL_NOTICE_DAYS`] before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharterTerm {
    pub signed_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub renewal_due_from: NaiveDate,
}

impl CharterTerm {
    /// The term of a charter signed on `signed_on`.
    pub fn of(signed_on: NaiveDate) -> Self {
        let ends_on = SchoolYear::containing(signed_on).next().last_day();
        Self {
            signed_on,
            ends_on,
            renewal_due_from: ends_on
                .checked_sub_days(Days::new(RENEWAL_NOTICE_DAYS))
                .unwrap_or(ends_on),
        }
    }

    /// Signed on or before `today`, and not yet ended.
    pub fn in_force(&self, today: NaiveDate) -> bool {
        (self.signed_on..=self.ends_on).contains(&today)
    }
}

/// Where a deployment stands on `today`: `not_started → enrolled (charter) → active →
/// renewal_due → expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentStatus {
    /// No charter yet.
    NotStarted,
    /// The charter is signed, the deployment's school year has not begun.
    Enrolled,
    Active,
    /// Within [`RENEWAL_NOTICE_DAYS`] of the charter's end.
    RenewalDue,
    /// The charter has ended.
    Expired,
}

impl DeploymentStatus {
    /// The status on `today` of a deployment of `school_year` whose charter (if any) was
    /// signed on `charter_signed_on`.
    pub fn of(
        school_year: SchoolYear,
        charter_signed_on: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Self {
        let Some(term) = charter_signed_on.map(CharterTerm::of) else {
            return Self::NotStarted;
        };
        if today > term.ends_on {
            Self::Expired
        } else if today < school_year.first_day() || today < term.signed_on {
            Self::Enrolled
        } else if today >= term.renewal_due_from {
            Self::RenewalDue
        } else {
            Self::Active
        }
    }
}

/// What a deployment records, as compliance needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeploymentFacts {
    /// The day the charter in the record was signed.
    pub charter_signed_on: Option<NaiveDate>,
    /// Members of the resource team trained in pHARe.
    pub trained_members: usize,
    pub coordinator_named: bool,
    /// The day the treatment protocol was presented, once formalised.
    pub protocol_presented_on: Option<NaiveDate>,
    /// The learning hours planned per pupil and year; `None` while not planned.
    pub learning_hours_planned: Option<u32>,
    /// The earliest parent workshop recorded (held, or scheduled ahead).
    pub first_parent_workshop_on: Option<NaiveDate>,
}

/// Each requirement, met or not on a given day, and all of them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compliance {
    pub trained_members: usize,
    /// At least [`TRAINED_MEMBERS_REQUIRED`] trained members.
    pub trained_team: bool,
    pub coordinator_named: bool,
    /// The protocol has been presented (by that day).
    pub protocol_presented: bool,
    /// At least [`LEARNING_HOURS_REQUIRED`] hours planned.
    pub learning_hours_planned: bool,
    /// A parent workshop has taken place (by that day).
    pub parent_workshop_held: bool,
    pub charter_in_force: bool,
    /// Every flag above.
    pub compliant: bool,
}

impl Compliance {
    /// The flags of `facts` on `today`.
    pub fn of(facts: &DeploymentFacts, today: NaiveDate) -> Self {
        let trained_team = facts.trained_members >= TRAINED_MEMBERS_REQUIRED;
        let protocol_presented = facts.protocol_presented_on.is_some_and(|on| on <= today);
        let learning_hours_planned = facts
            .learning_hours_planned
            .is_some_and(|hours| hours >= LEARNING_HOURS_REQUIRED);
        let parent_workshop_held = facts.first_parent_workshop_on.is_some_and(|on| on <= today);
        let charter_in_force = facts
            .charter_signed_on
            .is_some_and(|on| CharterTerm::of(on).in_force(today));
        Self {
            trained_members: facts.trained_members,
            trained_team,
            coordinator_named: facts.coordinator_named,
            protocol_presented,
            learning_hours_planned,
            parent_workshop_held,
            charter_in_force,
            compliant: trained_team
                && facts.coordinator_named
                && protocol_presented
                && learning_hours_planned
                && parent_workshop_held
                && charter_in_force,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn year() -> SchoolYear {
        SchoolYear::parse("2026-2027").unwrap()
    }

    /// Every requirement met by 2026-11-15.
    fn complete() -> DeploymentFacts {
        DeploymentFacts {
            charter_signed_on: Some(day("2026-09-20")),
            trained_members: 5,
            coordinator_named: true,
            protocol_presented_on: Some(day("2026-10-05")),
            learning_hours_planned: Some(10),
            first_parent_workshop_on: Some(day("2026-11-10")),
        }
    }

    #[test]
    fn a_charter_runs_two_school_years_and_is_due_for_renewal_60_days_before_its_end() {
        let term = CharterTerm::of(day("2026-09-20"));
        assert_eq!(term.ends_on, day("2028-08-31"));
        assert_eq!(term.renewal_due_from, day("2028-07-02"));
        // Signed in June, it still runs to the end of the next school year.
        assert_eq!(
            CharterTerm::of(day("2027-06-10")).ends_on,
            day("2028-08-31")
        );
        assert!(!term.in_force(day("2026-09-19")));
        assert!(term.in_force(day("2026-09-20")));
        assert!(term.in_force(day("2028-08-31")));
        assert!(!term.in_force(day("2028-09-01")));
    }

    #[test]
    fn the_status_follows_the_charter_and_the_school_year() {
        let signed = Some(day("2026-09-20"));
        let status = |today: &str| DeploymentStatus::of(year(), signed, day(today));
        assert_eq!(
            DeploymentStatus::of(year(), None, day("2026-11-15")),
            DeploymentStatus::NotStarted
        );
        assert_eq!(status("2026-09-25"), DeploymentStatus::Active);
        assert_eq!(status("2028-07-01"), DeploymentStatus::Active);
        assert_eq!(status("2028-07-02"), DeploymentStatus::RenewalDue);
        assert_eq!(status("2028-08-31"), DeploymentStatus::RenewalDue);
        assert_eq!(status("2028-09-01"), DeploymentStatus::Expired);
        // Signed in June for the next school year: enrolled until September.
        let next =
            |today: &str| DeploymentStatus::of(year().next(), Some(day("2027-06-10")), day(today));
        assert_eq!(next("2027-06-11"), DeploymentStatus::Enrolled);
        assert_eq!(next("2027-09-01"), DeploymentStatus::Active);
    }

    #[test]
    fn a_deployment_with_every_fact_recorded_is_compliant() {
        let flags = Compliance::of(&complete(), day("2026-11-15"));
        assert_eq!(
            flags,
            Compliance {
                trained_members: 5,
                trained_team: true,
                coordinator_named: true,
                protocol_presented: true,
                learning_hours_planned: true,
                parent_workshop_held: true,
                charter_in_force: true,
                compliant: true,
            }
        );
        let nothing = Compliance::of(&DeploymentFacts::default(), day("2026-11-15"));
        assert_eq!(nothing.trained_members, 0);
        assert!(!nothing.compliant);
    }

    #[test]
    fn each_missing_fact_lowers_its_flag_and_compliance() {
        let today = day("2026-11-15");
        type Case = (
            &'static str,
            fn(&mut DeploymentFacts),
            fn(&Compliance) -> bool,
        );
        let cases: [Case; 6] = [
            (
                "four trained members",
                |f| f.trained_members = 4,
                |c| c.trained_team,
            ),
            (
                "no coordinator",
                |f| f.coordinator_named = false,
                |c| c.coordinator_named,
            ),
            (
                "protocol formalised, not presented",
                |f| f.protocol_presented_on = None,
                |c| c.protocol_presented,
            ),
            (
                "nine hours",
                |f| f.learning_hours_planned = Some(9),
                |c| c.learning_hours_planned,
            ),
            (
                "no workshop",
                |f| f.first_parent_workshop_on = None,
                |c| c.parent_workshop_held,
            ),
            (
                "no charter",
                |f| f.charter_signed_on = None,
                |c| c.charter_in_force,
            ),
        ];
        for (case, change, flag) in cases {
            let mut facts = complete();
            change(&mut facts);
            let flags = Compliance::of(&facts, today);
            assert!(!flag(&flags), "{case}");
            assert!(!flags.compliant, "{case}");
        }
    }

    #[test]
    fn a_fact_dated_ahead_counts_once_its_day_has_come() {
        let facts = DeploymentFacts {
            protocol_presented_on: Some(day("2026-11-20")),
            first_parent_workshop_on: Some(day("2026-11-20")),
            ..complete()
        };
        let before = Compliance::of(&facts, day("2026-11-19"));
        assert!(!before.protocol_presented && !before.parent_workshop_held);
        assert!(!before.compliant);
        let on_the_day = Compliance::of(&facts, day("2026-11-20"));
        assert!(on_the_day.protocol_presented && on_the_day.parent_workshop_held);
        assert!(on_the_day.compliant);
    }

    #[test]
    fn an_expired_charter_is_no_longer_in_force() {
        let flags = Compliance::of(&complete(), day("2028-09-01"));
        assert!(!flags.charter_in_force && !flags.compliant);
        assert!(flags.trained_team && flags.parent_workshop_held);
    }
}
