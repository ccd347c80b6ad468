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

use chrono::{Datelike, Days, NaiveDate};
use pharos_events::phare::SchoolYear;

/// A resource team is complete with this many trained members.
pub const TRAINED_MEMBERS_REQUIRED: usize = 5;
/// The 10 heures d'apprentissage per pupil and year.
pub const LEARNING_HOURS_REQUIRED: u32 = 10;
/// Renewal of the charter is due this many days before its end.
pub const RENEWAL_NOTICE_DAYS: u64 = 60;

/// A charter signed from this month on (June, July, August), before the school year
/// of the deployment it is recorded on, is signed for the coming school year: its term
/// starts with that year.
pub const COMING_YEAR_FROM_MONTH: u32 = 6;

/// A charter's term, counted from the school year it takes effect: it runs that year and
/// the next (two full school years), and is due for renewal [`RENEWAL_NOTICE_DAYS`]
/// before its end. A charter signed during a school year takes effect that year; one
/// signed in the summer (from June) for a deployment of a later year takes effect on
/// 1 September of the coming year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharterTerm {
    pub signed_on: NaiveDate,
    /// The school year the term starts with.
    pub first_year: SchoolYear,
    /// The day the charter takes effect: its signature, or 1 September of the coming
    /// year for one signed ahead.
    pub takes_effect_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub renewal_due_from: NaiveDate,
}

impl CharterTerm {
    /// The term of a charter signed on `signed_on` and recorded on a deployment of
    /// `deployment_year`.
    pub fn of(signed_on: NaiveDate, deployment_year: SchoolYear) -> Self {
        let signed_in = SchoolYear::containing(signed_on);
        let first_year =
            // June, July, August: the end of a school year (31 August).
            if (COMING_YEAR_FROM_MONTH..=8).contains(&signed_on.month())
                && signed_in < deployment_year
            {
                signed_in.next()
            } else {
                signed_in
            };
        let ends_on = first_year.next().last_day();
        Self {
            signed_on,
            first_year,
            takes_effect_on: signed_on.max(first_year.first_day()),
            ends_on,
            renewal_due_from: ends_on
                .checked_sub_days(Days::new(RENEWAL_NOTICE_DAYS))
                .unwrap_or(ends_on),
        }
    }

    /// The two school years the charter covers.
    pub fn years(&self) -> [SchoolYear; 2] {
        [self.first_year, self.first_year.next()]
    }

    /// `year` is one of the two school years the charter covers.
    pub fn covers(&self, year: SchoolYear) -> bool {
        self.years().contains(&year)
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
        let Some(term) = charter_signed_on.map(|on| CharterTerm::of(on, school_year)) else {
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
    /// The deployment's school year, which tells a charter signed ahead for it (see
    /// [`CharterTerm::of`]); without it a charter takes effect the year it is signed.
    pub school_year: Option<SchoolYear>,
    /// Members of the resource team trained in pHARe.
    pub trained_members: usize,
    /// For an école: the trained members of its circonscription's deployment for the
    /// year (0 when there is none). An école's team is judged by its circonscription's
    /// resource team, never by its own count. `None` for other schools and for
    /// circonscriptions.
    pub circonscription_trained_members: Option<usize>,
    pub coordinator_named: bool,
    /// The day the treatment protocol was presented, once formalised.
    pub protocol_presented_on: Option<NaiveDate>,
    /// The learning hours planned per pupil and year; `None` while not planned.
    pub learning_hours_planned: Option<u32>,
    /// The earliest parent workshop recorded (held, or scheduled ahead).
    pub first_parent_workshop_on: Option<NaiveDate>,
}

/// Conformité du déploiement au cahier des charges pHARe, calculée à la date du jour : une
/// indication, jamais un motif de refus d'enregistrement.
// Each requirement, met or not on that day, and all of them together. The API shows this
// type as it is, hence its French documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Compliance {
    /// Nombre de membres formés de l'équipe ressource : celle du déploiement, ou pour une
    /// école celle de sa circonscription.
    pub trained_members: usize,
    /// École : son équipe et son coordonnateur sont jugés sur le déploiement de sa
    /// circonscription (jamais sur les siens).
    pub team_of_circonscription: bool,
    /// Au moins 5 membres formés.
    pub trained_team: bool,
    /// Un coordonnateur (référent harcèlement) est désigné : pour une école, celui de sa
    /// circonscription.
    pub coordinator_named: bool,
    /// Le protocole est formalisé et a été présenté (à ce jour).
    pub protocol_presented: bool,
    /// Les 10 heures d'apprentissage sont planifiées.
    pub learning_hours_planned: bool,
    /// Au moins un atelier parents a eu lieu (à ce jour).
    pub parent_workshop_held: bool,
    /// La charte est en vigueur.
    pub charter_in_force: bool,
    /// Tous les indicateurs ci-dessus.
    pub compliant: bool,
}

impl Compliance {
    /// The flags of `facts` on `today`.
    pub fn of(facts: &DeploymentFacts, today: NaiveDate) -> Self {
        let trained_members = facts
            .circonscription_trained_members
            .unwrap_or(facts.trained_members);
        let trained_team = trained_members >= TRAINED_MEMBERS_REQUIRED;
        let protocol_presented = facts.protocol_presented_on.is_some_and(|on| on <= today);
        let learning_hours_planned = facts
            .learning_hours_planned
            .is_some_and(|hours| hours >= LEARNING_HOURS_REQUIRED);
        let parent_workshop_held = facts.first_parent_workshop_on.is_some_and(|on| on <= today);
        let charter_in_force = facts.charter_signed_on.is_some_and(|on| {
            let year = facts
                .school_year
                .unwrap_or_else(|| SchoolYear::containing(on));
            CharterTerm::of(on, year).in_force(today)
        });
        Self {
            trained_members,
            team_of_circonscription: facts.circonscription_trained_members.is_some(),
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

/// A label criterion (its key in the label checklists) that a deployment's facts answer,
/// with the compliance flag that answers it. Contest participation stays the pole's tick
/// and pupil ambassadors have no fact yet: neither is here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelFact {
    pub criterion: &'static str,
    /// The flag's name, as the deployment's compliance shows it.
    pub flag: &'static str,
    /// What the flag says, in French.
    pub description: &'static str,
}

/// The label criteria the deployment's facts answer.
pub const LABEL_FACTS: [LabelFact; 6] = [
    LabelFact {
        criterion: "charte_signee",
        flag: "charter_in_force",
        description: "charte d'engagement en vigueur",
    },
    LabelFact {
        criterion: "equipe_ressource_formee",
        flag: "trained_team",
        description: "équipe ressource d'au moins 5 personnels formés",
    },
    LabelFact {
        criterion: "coordonnateur_designe",
        flag: "coordinator_named",
        description: "coordonnateur désigné",
    },
    LabelFact {
        criterion: "protocole_formalise_presente",
        flag: "protocol_presented",
        description: "protocole de traitement présenté",
    },
    LabelFact {
        criterion: "dix_heures_planifiees",
        flag: "learning_hours_planned",
        description: "10 heures d'apprentissage planifiées",
    },
    LabelFact {
        criterion: "atelier_parents",
        flag: "parent_workshop_held",
        description: "atelier parents tenu",
    },
];

impl LabelFact {
    /// The fact answering the label criterion `key`, if one does.
    pub fn for_criterion(key: &str) -> Option<&'static Self> {
        LABEL_FACTS.iter().find(|f| f.criterion == key)
    }

    /// Whether `compliance` meets this fact.
    pub fn met(&self, compliance: &Compliance) -> bool {
        match self.flag {
            "charter_in_force" => compliance.charter_in_force,
            "trained_team" => compliance.trained_team,
            "coordinator_named" => compliance.coordinator_named,
            "protocol_presented" => compliance.protocol_presented,
            "learning_hours_planned" => compliance.learning_hours_planned,
            _ => compliance.parent_workshop_held,
        }
    }
}

impl Compliance {
    /// What the recorded facts say of the label criterion `key`: `None` when no fact
    /// answers it (contest participation, pupil ambassadors, an unknown key).
    pub fn label_criterion(&self, key: &str) -> Option<bool> {
        LabelFact::for_criterion(key).map(|f| f.met(self))
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
            school_year: Some(year()),
            trained_members: 5,
            circonscription_trained_members: None,
            coordinator_named: true,
            protocol_presented_on: Some(day("2026-10-05")),
            learning_hours_planned: Some(10),
            first_parent_workshop_on: Some(day("2026-11-10")),
        }
    }

    #[test]
    fn a_charter_runs_two_school_years_and_is_due_for_renewal_60_days_before_its_end() {
        let term = CharterTerm::of(day("2026-09-20"), year());
        assert_eq!(term.first_year, year());
        assert_eq!(term.takes_effect_on, day("2026-09-20"));
        assert_eq!(term.ends_on, day("2028-08-31"));
        assert_eq!(term.renewal_due_from, day("2028-07-02"));
        assert!(!term.in_force(day("2026-09-19")));
        assert!(term.in_force(day("2026-09-20")));
        assert!(term.in_force(day("2028-08-31")));
        assert!(!term.in_force(day("2028-09-01")));
    }

    #[test]
    fn a_charter_signed_in_june_for_the_coming_year_runs_from_that_year() {
        // Signed in June for 2026-2027: two full school years from 1 September.
        let june = CharterTerm::of(day("2026-06-20"), year());
        assert_eq!(june.first_year, year());
        assert_eq!(june.takes_effect_on, day("2026-09-01"));
        assert_eq!(june.ends_on, day("2028-08-31"));
        assert_eq!(june.renewal_due_from, day("2028-07-02"));
        assert!(june.covers(year()) && june.covers(year().next()));
        assert!(!june.covers(year().previous()));
        // Signed during 2026-2027: the same end.
        let october = CharterTerm::of(day("2026-10-05"), year());
        assert_eq!(october.ends_on, day("2028-08-31"));
        assert_eq!(october.takes_effect_on, day("2026-10-05"));
        // Signed in June on the deployment of the year ending: that year and the next.
        let late = CharterTerm::of(day("2026-06-20"), year().previous());
        assert_eq!(late.first_year, year().previous());
        assert_eq!(late.ends_on, day("2027-08-31"));
        // Signed before June, it is for the year it is signed in, whatever the deployment;
        // so is one signed in the autumn.
        let may = CharterTerm::of(day("2026-05-31"), year());
        assert_eq!(may.ends_on, day("2027-08-31"));
        assert!(may.covers(year()) && !may.covers(year().next()));
        let autumn = CharterTerm::of(day("2025-10-01"), year());
        assert_eq!(autumn.first_year, year().previous());
        assert_eq!(autumn.ends_on, day("2027-08-31"));
        // Without the deployment's year, compliance takes the year of the signature.
        let facts = DeploymentFacts {
            charter_signed_on: Some(day("2026-06-20")),
            school_year: None,
            ..complete()
        };
        assert!(!Compliance::of(&facts, day("2027-09-01")).charter_in_force);
        let facts = DeploymentFacts {
            school_year: Some(year()),
            ..facts
        };
        assert!(Compliance::of(&facts, day("2028-08-31")).charter_in_force);
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
        // Signed in June for the next school year: enrolled until September, active for
        // two full school years.
        let next =
            |today: &str| DeploymentStatus::of(year().next(), Some(day("2027-06-10")), day(today));
        assert_eq!(next("2027-06-11"), DeploymentStatus::Enrolled);
        assert_eq!(next("2027-09-01"), DeploymentStatus::Active);
        assert_eq!(next("2029-07-01"), DeploymentStatus::Active);
        assert_eq!(next("2029-07-02"), DeploymentStatus::RenewalDue);
        assert_eq!(next("2029-09-01"), DeploymentStatus::Expired);
    }

    #[test]
    fn a_deployment_with_every_fact_recorded_is_compliant() {
        let flags = Compliance::of(&complete(), day("2026-11-15"));
        assert_eq!(
            flags,
            Compliance {
                trained_members: 5,
                team_of_circonscription: false,
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
    fn an_ecole_is_judged_by_its_circonscriptions_team_never_its_own() {
        let today = day("2026-11-15");
        // Five trained in the école itself, two in the circonscription: not met.
        let ecole = DeploymentFacts {
            trained_members: 5,
            circonscription_trained_members: Some(2),
            ..complete()
        };
        let flags = Compliance::of(&ecole, today);
        assert!(flags.team_of_circonscription);
        assert_eq!(flags.trained_members, 2);
        assert!(!flags.trained_team && !flags.compliant);
        // None trained in the école, five in the circonscription: met.
        let ecole = DeploymentFacts {
            trained_members: 0,
            circonscription_trained_members: Some(5),
            ..complete()
        };
        let flags = Compliance::of(&ecole, today);
        assert_eq!(flags.trained_members, 5);
        assert!(flags.trained_team && flags.compliant);
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

    #[test]
    fn label_criteria_follow_the_facts_except_the_poles_and_the_ambassadors() {
        let today = day("2026-11-15");
        let all = Compliance::of(&complete(), today);
        for fact in LABEL_FACTS {
            assert_eq!(all.label_criterion(fact.criterion), Some(true), "{fact:?}");
        }
        let partial = Compliance::of(
            &DeploymentFacts {
                trained_members: 4,
                first_parent_workshop_on: Some(day("2026-12-01")),
                learning_hours_planned: Some(8),
                ..complete()
            },
            today,
        );
        assert_eq!(
            partial.label_criterion("equipe_ressource_formee"),
            Some(false)
        );
        assert_eq!(partial.label_criterion("atelier_parents"), Some(false));
        assert_eq!(
            partial.label_criterion("dix_heures_planifiees"),
            Some(false)
        );
        assert_eq!(partial.label_criterion("charte_signee"), Some(true));
        for key in ["participation_concours", "eleves_ambassadeurs", "inconnu"] {
            assert_eq!(all.label_criterion(key), None, "{key}");
        }
    }
}
