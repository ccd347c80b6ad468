//! The cohort aggregate as a decider: its state folded from `ambassador_cohort` events,
//! the commands and the rules that decide them. No HTTP here.
//!
//! Lifecycle: `draft → declared → trained → active → closed`. A cohort is `trained` once
//! it is declared and a training is recorded (in either order: a training recorded on a
//! draft makes the declaration lead straight to `trained`); only a trained cohort
//! becomes `active`; any state but `closed` may be closed, and nothing changes after.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::cohort::{
    AMBASSADORS_EXPECTED, ClassLevel, CohortEvent, CohortKind, CohortTraining, PupilName, Referent,
};
use pharos_events::phare::SchoolYear;
use pharos_events::training::Topic;
use pharos_events::{DepartmentCode, SchoolKind, Uai};
use serde::Serialize;
use uuid::Uuid;

/// No cohort is older than pHARe's first year (2019-2020).
pub const FIRST_YEAR: i32 = 2019;
/// More ambassadors than this in one class level is a typing error.
pub const COUNT_MAX: u32 = 1000;
/// The longest nominal list.
pub const NAMES_MAX: usize = 500;
/// The longest first name kept.
pub const FIRST_NAME_MAX: usize = 50;
/// The longest training title.
pub const TITLE_MAX: usize = 200;
/// A training entry longer than this (100 hours) is a typing error.
pub const MINUTES_MAX: u32 = 6000;

/// Cohort streams' ids derive from school, year and kind, so that a second cohort of the
/// same kind for the same school and year is the same stream (refused there).
const NAMESPACE: Uuid = Uuid::from_u128(0x636f_686f_7274_5f61_6d62_6173_7361_6472);

/// The id of the cohort of `kind` of `school` in `year`.
pub fn cohort_id(school: &Uai, year: SchoolYear, kind: CohortKind) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{school}:{year}:{kind}").as_bytes())
}

fn french(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

fn levels_of(kind: CohortKind) -> String {
    kind.levels()
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// État de la cohorte : brouillon (draft), déclarée au pôle (declared), formée (trained :
/// déclarée et une formation enregistrée), active (active), close (closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CohortState)]
pub enum CohortStatus {
    #[default]
    Draft,
    Declared,
    Trained,
    Active,
    Closed,
}

/// Whose cohort it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortIdentity {
    pub school_uai: Uai,
    pub department: DepartmentCode,
    pub school_year: SchoolYear,
    pub kind: CohortKind,
}

/// A cohort as its events leave it.
#[derive(Debug, Clone, Default)]
pub struct CohortState {
    pub identity: Option<CohortIdentity>,
    pub referent: Option<Referent>,
    pub counts: BTreeMap<ClassLevel, u32>,
    pub status: CohortStatus,
    pub declared_on: Option<NaiveDate>,
    pub activated_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub trainings: Vec<CohortTraining>,
    pub pupils: Vec<PupilName>,
}

impl CohortState {
    /// Every ambassador counted.
    pub fn total(&self) -> u32 {
        self.counts.values().fold(0, |a, b| a.saturating_add(*b))
    }

    /// A collège's or lycée's cohort below 10 pupils: flagged, never refused.
    pub fn below_ten(&self) -> bool {
        self.identity
            .as_ref()
            .is_some_and(|i| i.kind.expects_ten() && self.total() < AMBASSADORS_EXPECTED)
    }

    /// What the cohort should look at, in French.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.below_ten() {
            warnings.push(format!(
                "Moins de {AMBASSADORS_EXPECTED} élèves ambassadeurs : la cohorte en compte {}, \
                 pHARe en attend au moins {AMBASSADORS_EXPECTED} par collège ou lycée.",
                self.total()
            ));
        }
        let mut named: BTreeMap<ClassLevel, u32> = BTreeMap::new();
        for pupil in &self.pupils {
            *named.entry(pupil.class_level).or_default() += 1;
        }
        for (level, names) in named {
            let counted = self.counts.get(&level).copied().unwrap_or(0);
            if names > counted {
                warnings.push(format!(
                    "La liste nominative compte {names} élèves en {level}, pour {counted} \
                     ambassadeurs déclarés à ce niveau."
                ));
            }
        }
        if self.status == CohortStatus::Declared {
            warnings.push(
                "Aucune formation n'est encore enregistrée : la cohorte deviendra active une \
                 fois formée."
                    .to_owned(),
            );
        }
        warnings
    }

    /// The session ids already recorded.
    fn has_session(&self, id: Uuid) -> bool {
        self.trainings.iter().any(|t| t.session_id == Some(id))
    }
}

/// The school as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortSchool {
    pub uai: Uai,
    pub department: DepartmentCode,
    pub kind: SchoolKind,
    pub closed: bool,
}

fn school_kind_label(kind: SchoolKind) -> &'static str {
    match kind {
        SchoolKind::Ecole => "l'école",
        SchoolKind::College => "le collège",
        SchoolKind::LyceeGt | SchoolKind::LyceePro | SchoolKind::LyceePoly => "le lycée",
        SchoolKind::Erea => "l'EREA",
        SchoolKind::Periscolaire => "la structure périscolaire",
    }
}

/// A pupil of the nominal list as typed, trimmed: the same pupil (same first name,
/// whatever its case, initial and class) may not appear twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pupil {
    pub first_name: String,
    pub initial: char,
    pub class_level: ClassLevel,
}

impl Pupil {
    /// The pupil as typed; `initial` may carry a period (« M. »).
    pub fn parse(first_name: &str, initial: &str, class_level: &str) -> Result<Self, Rejection> {
        let first_name = first_name.split_whitespace().collect::<Vec<_>>().join(" ");
        if first_name.is_empty() || first_name.chars().count() > FIRST_NAME_MAX {
            return Err(Rejection::invalid(
                "invalid-first-name",
                "names.first_name",
                format!(
                    "Le prénom de chaque élève est obligatoire ({FIRST_NAME_MAX} caractères au \
                     plus)."
                ),
            ));
        }
        let mut letters = initial.trim().trim_end_matches('.').chars();
        let initial = match (letters.next(), letters.next()) {
            (Some(letter), None) if letter.is_alphabetic() => {
                letter.to_uppercase().next().unwrap_or(letter)
            }
            _ => {
                return Err(Rejection::invalid(
                    "invalid-initial",
                    "names.initial",
                    format!(
                        "L'initiale du nom de {first_name} est une seule lettre (ex. M) : le nom \
                         entier n'est pas conservé."
                    ),
                ));
            }
        };
        let class_level = ClassLevel::parse(class_level).ok_or_else(|| {
            Rejection::invalid(
                "level-unknown",
                "names.class_level",
                format!(
                    "« {} » n'est pas un niveau de classe ; niveaux acceptés : cm1, cm2, 6e, 5e, \
                     4e, 3e, 2nde, 1re, tle.",
                    class_level.trim()
                ),
            )
        })?;
        Ok(Self {
            first_name,
            initial,
            class_level,
        })
    }

    fn key(&self) -> (String, char, ClassLevel) {
        (
            self.first_name.to_lowercase(),
            self.initial,
            self.class_level,
        )
    }
}

/// The ambassadors by class level: only the levels of the cohort's kind, each
/// plausible.
pub fn check_counts(kind: CohortKind, counts: &BTreeMap<ClassLevel, u32>) -> Result<(), Rejection> {
    for (level, count) in counts {
        if !kind.levels().contains(level) {
            return Err(Rejection::invalid(
                "level-not-taught",
                level.count_field(),
                format!(
                    "Le niveau {level} n'existe pas dans une cohorte de {} : niveaux acceptés : {}.",
                    kind.label(),
                    levels_of(kind)
                ),
            ));
        }
        if *count > COUNT_MAX {
            return Err(Rejection::invalid(
                "count-implausible",
                level.count_field(),
                format!(
                    "Un effectif de {count} ambassadeurs en {level} est invraisemblable : au-delà \
                     de {COUNT_MAX}, c'est sans doute une erreur de saisie."
                ),
            ));
        }
    }
    Ok(())
}

/// The nominal list: pupils of the cohort's levels, each once.
pub fn check_pupils(kind: CohortKind, pupils: &[Pupil]) -> Result<(), Rejection> {
    if !kind.is_pupils() {
        return Err(Rejection::invalid(
            "names-pupils-only",
            "names",
            "Une liste nominative ne se tient que pour une cohorte d'élèves (certificats \
             d'ambassadeurs), pas pour une cohorte de parents.",
        ));
    }
    if pupils.len() > NAMES_MAX {
        return Err(Rejection::invalid(
            "names-too-many",
            "names",
            format!(
                "La liste nominative compte {} élèves : {NAMES_MAX} au plus.",
                pupils.len()
            ),
        ));
    }
    let mut seen: HashMap<(String, char, ClassLevel), &Pupil> = HashMap::new();
    for pupil in pupils {
        if !kind.levels().contains(&pupil.class_level) {
            return Err(Rejection::invalid(
                "level-not-taught",
                "names.class_level",
                format!(
                    "L'élève {} {}. est en {}, un niveau absent d'une cohorte de {} : niveaux \
                     acceptés : {}.",
                    pupil.first_name,
                    pupil.initial,
                    pupil.class_level,
                    kind.label(),
                    levels_of(kind)
                ),
            ));
        }
        if let Some(first) = seen.insert(pupil.key(), pupil) {
            return Err(Rejection::invalid(
                "pupil-duplicate",
                "names",
                format!(
                    "L'élève {} {}. ({}) figure deux fois dans la liste : chaque élève n'y figure \
                     qu'une fois.",
                    first.first_name, first.initial, first.class_level
                ),
            ));
        }
    }
    Ok(())
}

/// A cohort concerns a school year from pHARe's start up to the next one.
pub fn check_school_year(year: SchoolYear, today: NaiveDate) -> Result<(), Rejection> {
    let next = SchoolYear::containing(today).next();
    if year.start_year() < FIRST_YEAR || year > next {
        return Err(Rejection::invalid(
            "school-year-out-of-range",
            "school_year",
            format!(
                "L'année scolaire {year} est hors période : une cohorte concerne une année de \
                 {FIRST_YEAR}-{} à {next} (l'année suivante au plus tard).",
                FIRST_YEAR + 1
            ),
        ));
    }
    Ok(())
}

/// What the `trainings` target's events say of a session a cohort names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    pub cancelled: bool,
    pub starts_at: DateTime<FixedOffset>,
    pub planned_minutes: u32,
    /// The training's title.
    pub title: String,
    pub topic: Option<Topic>,
    /// The minutes its attendance records for the cohort's referent.
    pub referent_minutes: u32,
}

/// A training the cohort attended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainingInput {
    /// A session of the `trainings` target; `facts`: `None` when it is unknown.
    Session {
        session_id: Uuid,
        facts: Option<SessionFacts>,
    },
    /// A training recorded by hand (given by someone else).
    Entry {
        held_on: NaiveDate,
        minutes: u32,
        title: String,
    },
}

#[derive(Debug, Clone)]
pub enum CohortCommand {
    Create {
        school: CohortSchool,
        school_year: SchoolYear,
        kind: CohortKind,
        referent: Referent,
        counts: BTreeMap<ClassLevel, u32>,
    },
    SetCounts(BTreeMap<ClassLevel, u32>),
    Declare,
    RecordTraining {
        entry_id: Uuid,
        training: TrainingInput,
    },
    Activate,
    /// The nominal list, each pupil as typed (for the rules) and sealed (for the event).
    SetNames(Vec<(Pupil, PupilName)>),
    Close,
}

/// The cohort's decider.
#[derive(Debug)]
pub struct Cohort;

impl Cohort {
    fn training(
        entry_id: Uuid,
        training: &TrainingInput,
        state: &CohortState,
        year: SchoolYear,
        now: DateTime<Utc>,
    ) -> Result<CohortTraining, Rejection> {
        let today = pharos_domain::today_in_france(now);
        match training {
            TrainingInput::Session { session_id, facts } => {
                let Some(facts) = facts else {
                    return Err(Rejection::invalid(
                        "training-session-unknown",
                        "session_id",
                        format!("Aucune session de formation n'a l'identifiant {session_id}."),
                    ));
                };
                if facts.cancelled {
                    return Err(Rejection::invalid(
                        "training-session-cancelled",
                        "session_id",
                        format!(
                            "La session « {} » a été annulée : elle ne peut pas former la cohorte.",
                            facts.title
                        ),
                    ));
                }
                if facts.starts_at.with_timezone(&Utc) > now {
                    return Err(Rejection::invalid(
                        "training-session-not-held",
                        "session_id",
                        format!(
                            "La session « {} » du {} n'a pas encore eu lieu : enregistrez-la une \
                             fois tenue.",
                            facts.title,
                            french(facts.starts_at.date_naive())
                        ),
                    ));
                }
                if state.has_session(*session_id) {
                    return Err(Rejection::conflict(
                        "training-already-recorded",
                        format!(
                            "La session « {} » est déjà enregistrée pour cette cohorte.",
                            facts.title
                        ),
                    ));
                }
                Ok(CohortTraining {
                    entry_id,
                    session_id: Some(*session_id),
                    held_on: facts.starts_at.date_naive(),
                    minutes: facts.planned_minutes,
                    title: facts.title.clone(),
                    referent_minutes: Some(facts.referent_minutes),
                })
            }
            TrainingInput::Entry {
                held_on,
                minutes,
                title,
            } => {
                let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
                if title.is_empty() || title.chars().count() > TITLE_MAX {
                    return Err(Rejection::invalid(
                        "training-title",
                        "title",
                        format!(
                            "Le titre de la formation est obligatoire ({TITLE_MAX} caractères au \
                             plus)."
                        ),
                    ));
                }
                if *minutes == 0 || *minutes > MINUTES_MAX {
                    return Err(Rejection::invalid(
                        "training-minutes",
                        "minutes",
                        format!(
                            "La durée d'une formation se compte en minutes, de 1 à {MINUTES_MAX} \
                             (100 heures)."
                        ),
                    ));
                }
                if *held_on > today {
                    return Err(Rejection::invalid(
                        "training-in-future",
                        "held_on",
                        format!(
                            "Une formation du {} n'a pas encore eu lieu : enregistrez-la une fois \
                             tenue.",
                            french(*held_on)
                        ),
                    ));
                }
                let earliest = year.previous().first_day();
                if *held_on < earliest {
                    return Err(Rejection::invalid(
                        "training-too-old",
                        "held_on",
                        format!(
                            "Une formation du {} est trop ancienne pour une cohorte de {year} : \
                             elle date au plus tôt du {}.",
                            french(*held_on),
                            french(earliest)
                        ),
                    ));
                }
                Ok(CohortTraining {
                    entry_id,
                    session_id: None,
                    held_on: *held_on,
                    minutes: *minutes,
                    title,
                    referent_minutes: None,
                })
            }
        }
    }
}

impl Decider for Cohort {
    type State = CohortState;
    type Command = CohortCommand;
    type Event = CohortEvent;

    fn evolve(mut state: CohortState, event: &CohortEvent) -> CohortState {
        match event {
            CohortEvent::CohortCreated {
                school_uai,
                department,
                school_year,
                kind,
                referent,
            } => {
                state.identity = Some(CohortIdentity {
                    school_uai: school_uai.clone(),
                    department: department.clone(),
                    school_year: *school_year,
                    kind: *kind,
                });
                state.referent = Some(referent.clone());
                state.status = CohortStatus::Draft;
            }
            CohortEvent::CountsSet { counts } => state.counts.clone_from(counts),
            CohortEvent::CohortDeclared { declared_on } => {
                state.declared_on = Some(*declared_on);
                state.status = if state.trainings.is_empty() {
                    CohortStatus::Declared
                } else {
                    CohortStatus::Trained
                };
            }
            CohortEvent::TrainingRecorded(training) => {
                state.trainings.push(training.clone());
                if state.status == CohortStatus::Declared {
                    state.status = CohortStatus::Trained;
                }
            }
            CohortEvent::CohortActivated { activated_on } => {
                state.activated_on = Some(*activated_on);
                state.status = CohortStatus::Active;
            }
            CohortEvent::NamesSet { pupils } => state.pupils.clone_from(pupils),
            CohortEvent::CohortClosed { closed_on } => {
                state.closed_on = Some(*closed_on);
                state.status = CohortStatus::Closed;
            }
        }
        state
    }

    fn decide(
        command: &CohortCommand,
        state: &CohortState,
        now: DateTime<Utc>,
    ) -> Result<Vec<CohortEvent>, Rejection> {
        let today = pharos_domain::today_in_france(now);
        if let CohortCommand::Create {
            school,
            school_year,
            kind,
            referent,
            counts,
        } = command
        {
            if let Some(existing) = &state.identity {
                return Err(Rejection::conflict(
                    "cohort-exists",
                    format!(
                        "Une cohorte de {} existe déjà pour l'établissement {} en {} : une seule \
                         par type, établissement et année scolaire.",
                        existing.kind.label(),
                        existing.school_uai,
                        existing.school_year
                    ),
                ));
            }
            check_school_year(*school_year, today)?;
            if school.closed {
                return Err(Rejection::invalid(
                    "school-closed",
                    "school_uai",
                    format!(
                        "L'établissement {} est fermé : il ne peut plus déclarer de cohorte.",
                        school.uai
                    ),
                ));
            }
            let possible = CohortKind::for_school(school.kind);
            if !possible.contains(kind) {
                return Err(Rejection::invalid(
                    "kind-not-for-school",
                    "kind",
                    format!(
                        "Une cohorte de {} ne convient pas à {} {} ; types acceptés : {}.",
                        kind.label(),
                        school_kind_label(school.kind),
                        school.uai,
                        possible
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            check_counts(*kind, counts)?;
            let mut events = vec![CohortEvent::CohortCreated {
                school_uai: school.uai.clone(),
                department: school.department.clone(),
                school_year: *school_year,
                kind: *kind,
                referent: referent.clone(),
            }];
            if !counts.is_empty() {
                events.push(CohortEvent::CountsSet {
                    counts: counts.clone(),
                });
            }
            return Ok(events);
        }
        let Some(identity) = &state.identity else {
            return Err(Rejection::not_found(
                "cohort-unknown",
                "Cette cohorte d'ambassadeurs n'existe pas.",
            ));
        };
        if let Some(closed_on) = state.closed_on {
            return Err(Rejection::conflict(
                "cohort-closed",
                format!(
                    "La cohorte est close depuis le {} : elle ne change plus.",
                    french(closed_on)
                ),
            ));
        }
        let kind = identity.kind;
        match command {
            // Decided above, before the cohort had to exist.
            CohortCommand::Create { .. } => Ok(vec![]),
            CohortCommand::SetCounts(counts) => {
                check_counts(kind, counts)?;
                if *counts == state.counts {
                    return Ok(vec![]);
                }
                Ok(vec![CohortEvent::CountsSet {
                    counts: counts.clone(),
                }])
            }
            CohortCommand::Declare => {
                if let Some(on) = state.declared_on {
                    return Err(Rejection::conflict(
                        "cohort-already-declared",
                        format!("La cohorte est déjà déclarée, depuis le {}.", french(on)),
                    ));
                }
                if state.total() == 0 {
                    return Err(Rejection::invalid(
                        "counts-empty",
                        "counts",
                        format!(
                            "Une cohorte se déclare avec ses ambassadeurs : indiquez leur nombre \
                             par niveau ({}).",
                            levels_of(kind)
                        ),
                    ));
                }
                Ok(vec![CohortEvent::CohortDeclared { declared_on: today }])
            }
            CohortCommand::RecordTraining { entry_id, training } => {
                let training =
                    Self::training(*entry_id, training, state, identity.school_year, now)?;
                Ok(vec![CohortEvent::TrainingRecorded(training)])
            }
            CohortCommand::Activate => match state.status {
                CohortStatus::Draft => Err(Rejection::conflict(
                    "cohort-not-declared",
                    "Une cohorte devient active une fois déclarée puis formée : déclarez-la \
                     d'abord.",
                )),
                CohortStatus::Declared => Err(Rejection::conflict(
                    "training-missing",
                    "Une cohorte devient active une fois formée : enregistrez d'abord une \
                     formation suivie par son référent ou ses ambassadeurs.",
                )),
                CohortStatus::Trained => Ok(vec![CohortEvent::CohortActivated {
                    activated_on: today,
                }]),
                CohortStatus::Active | CohortStatus::Closed => Err(Rejection::conflict(
                    "cohort-already-active",
                    "La cohorte est déjà active.",
                )),
            },
            CohortCommand::SetNames(pupils) => {
                let typed: Vec<Pupil> = pupils.iter().map(|(p, _)| p.clone()).collect();
                check_pupils(kind, &typed)?;
                Ok(vec![CohortEvent::NamesSet {
                    pupils: pupils.iter().map(|(_, sealed)| sealed.clone()).collect(),
                }])
            }
            CohortCommand::Close => Ok(vec![CohortEvent::CohortClosed { closed_on: today }]),
        }
    }
}

#[cfg(test)]
mod tests {
    use pharos_decider::{RejectionKind, given};
    use pharos_privacy::{PersonId, Sealed};

    use super::*;

    const NOW: &str = "2026-11-15T10:00:00Z";

    fn now() -> DateTime<Utc> {
        NOW.parse().unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn year() -> SchoolYear {
        SchoolYear::parse("2026-2027").unwrap()
    }

    fn sealed(n: u128) -> Sealed {
        Sealed {
            person: PersonId(Uuid::from_u128(n)),
            sealed: "YQ==".into(),
        }
    }

    fn referent() -> Referent {
        Referent {
            display_name: sealed(1),
            email: sealed(1),
        }
    }

    fn school(kind: SchoolKind) -> CohortSchool {
        CohortSchool {
            uai: Uai::parse("0310001H").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
            kind,
            closed: false,
        }
    }

    fn counts(levels: &[(ClassLevel, u32)]) -> BTreeMap<ClassLevel, u32> {
        levels.iter().copied().collect()
    }

    fn create(school_kind: SchoolKind, kind: CohortKind) -> CohortCommand {
        creating(school(school_kind), year(), kind, BTreeMap::new())
    }

    fn creating(
        school: CohortSchool,
        school_year: SchoolYear,
        kind: CohortKind,
        counts: BTreeMap<ClassLevel, u32>,
    ) -> CohortCommand {
        CohortCommand::Create {
            school,
            school_year,
            kind,
            referent: referent(),
            counts,
        }
    }

    fn created(kind: CohortKind) -> Vec<CohortEvent> {
        vec![CohortEvent::CohortCreated {
            school_uai: Uai::parse("0310001H").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
            school_year: year(),
            kind,
            referent: referent(),
        }]
    }

    fn college_counts(n: u32) -> CohortEvent {
        CohortEvent::CountsSet {
            counts: counts(&[(ClassLevel::Sixieme, n)]),
        }
    }

    fn entry(held_on: &str, minutes: u32, title: &str) -> CohortCommand {
        CohortCommand::RecordTraining {
            entry_id: Uuid::from_u128(50),
            training: TrainingInput::Entry {
                held_on: day(held_on),
                minutes,
                title: title.into(),
            },
        }
    }

    fn trained_entry() -> CohortEvent {
        CohortEvent::TrainingRecorded(CohortTraining {
            entry_id: Uuid::from_u128(50),
            session_id: None,
            held_on: day("2026-10-10"),
            minutes: 120,
            title: "Formation des ambassadeurs".into(),
            referent_minutes: None,
        })
    }

    fn session(cancelled: bool, starts_at: &str) -> SessionFacts {
        SessionFacts {
            cancelled,
            starts_at: starts_at.parse().unwrap(),
            planned_minutes: 390,
            title: "Former les élèves ambassadeurs".into(),
            topic: Some(Topic::Ambassadeurs),
            referent_minutes: 380,
        }
    }

    fn at_session(id: u128, facts: Option<SessionFacts>) -> CohortCommand {
        CohortCommand::RecordTraining {
            entry_id: Uuid::from_u128(60 + id),
            training: TrainingInput::Session {
                session_id: Uuid::from_u128(id),
                facts,
            },
        }
    }

    fn pupil(first: &str, initial: &str, level: &str, n: u128) -> (Pupil, PupilName) {
        let typed = Pupil::parse(first, initial, level).unwrap();
        let name = PupilName {
            first_name: sealed(100 + n),
            initial: sealed(100 + n),
            class_level: typed.class_level,
        };
        (typed, name)
    }

    #[test]
    fn a_cohort_goes_from_draft_to_closed() {
        let events = given::<Cohort>([])
            .at(now())
            .when(&creating(
                school(SchoolKind::College),
                year(),
                CohortKind::ElevesCollege,
                counts(&[(ClassLevel::Sixieme, 6), (ClassLevel::Cinquieme, 5)]),
            ))
            .events();
        assert_eq!(events.len(), 2);
        let mut history = events;
        let step = |history: &mut Vec<CohortEvent>, command: &CohortCommand| {
            let events = given::<Cohort>(history.clone())
                .at(now())
                .when(command)
                .events();
            history.extend(events);
            given::<Cohort>(history.clone()).state().clone()
        };
        let state = given::<Cohort>(history.clone()).state().clone();
        assert_eq!((state.status, state.total()), (CohortStatus::Draft, 11));
        assert!(!state.below_ten());
        let state = step(&mut history, &CohortCommand::Declare);
        assert_eq!(state.status, CohortStatus::Declared);
        assert_eq!(state.declared_on, Some(day("2026-11-15")));
        let state = step(
            &mut history,
            &at_session(7, Some(session(false, "2026-11-03T09:00:00+01:00"))),
        );
        assert_eq!(state.status, CohortStatus::Trained);
        assert_eq!(state.trainings[0].referent_minutes, Some(380));
        assert_eq!(state.trainings[0].held_on, day("2026-11-03"));
        let state = step(&mut history, &CohortCommand::Activate);
        assert_eq!(state.status, CohortStatus::Active);
        let state = step(
            &mut history,
            &CohortCommand::SetCounts(counts(&[(ClassLevel::Sixieme, 12)])),
        );
        assert_eq!(state.total(), 12);
        let state = step(&mut history, &CohortCommand::Close);
        assert_eq!(state.status, CohortStatus::Closed);
    }

    #[test]
    fn a_training_recorded_before_the_declaration_makes_it_trained_at_once() {
        let mut history = created(CohortKind::PetitsAmbassadeurs);
        history.push(CohortEvent::CountsSet {
            counts: counts(&[(ClassLevel::Cm1, 4)]),
        });
        history.push(trained_entry());
        assert_eq!(
            given::<Cohort>(history.clone()).state().status,
            CohortStatus::Draft
        );
        let state = given::<Cohort>(history)
            .at(now())
            .when(&CohortCommand::Declare)
            .state_after();
        assert_eq!(state.status, CohortStatus::Trained);
        // Petits ambassadeurs are never expected to be ten.
        assert!(!state.below_ten());
    }

    #[test]
    fn rejects_a_kind_that_does_not_match_the_schools() {
        for (school_kind, kind) in [
            (SchoolKind::Ecole, CohortKind::ElevesCollege),
            (SchoolKind::College, CohortKind::PetitsAmbassadeurs),
            (SchoolKind::College, CohortKind::ElevesLycee),
            (SchoolKind::LyceeGt, CohortKind::ElevesCollege),
            (SchoolKind::LyceePro, CohortKind::PetitsAmbassadeurs),
            (SchoolKind::Periscolaire, CohortKind::ElevesCollege),
        ] {
            let error = given::<Cohort>([])
                .at(now())
                .when(&create(school_kind, kind))
                .then_rejected("kind-not-for-school");
            assert_eq!(
                (error.kind, error.field),
                (RejectionKind::Invalid, Some("kind"))
            );
        }
        for (school_kind, kind) in [
            (SchoolKind::Ecole, CohortKind::PetitsAmbassadeurs),
            (SchoolKind::College, CohortKind::ElevesCollege),
            (SchoolKind::LyceePoly, CohortKind::ElevesLycee),
            (SchoolKind::Erea, CohortKind::ElevesCollege),
            (SchoolKind::Erea, CohortKind::ElevesLycee),
            (SchoolKind::Periscolaire, CohortKind::Parents),
            (SchoolKind::Ecole, CohortKind::Parents),
        ] {
            given::<Cohort>([])
                .at(now())
                .when(&create(school_kind, kind))
                .events();
        }
    }

    #[test]
    fn rejects_a_second_cohort_of_the_same_kind_school_and_year() {
        let error = given::<Cohort>(created(CohortKind::ElevesCollege))
            .at(now())
            .when(&create(SchoolKind::College, CohortKind::ElevesCollege))
            .then_rejected("cohort-exists");
        assert_eq!(error.kind, RejectionKind::Conflict);
        let uai = Uai::parse("0310001H").unwrap();
        let id = cohort_id(&uai, year(), CohortKind::ElevesCollege);
        assert_eq!(id, cohort_id(&uai, year(), CohortKind::ElevesCollege));
        assert_ne!(id, cohort_id(&uai, year(), CohortKind::Parents));
        assert_ne!(
            id,
            cohort_id(&uai, year().next(), CohortKind::ElevesCollege)
        );
    }

    #[test]
    fn rejects_a_level_the_cohort_does_not_count_naming_it() {
        let error = given::<Cohort>([])
            .at(now())
            .when(&creating(
                school(SchoolKind::College),
                year(),
                CohortKind::ElevesCollege,
                counts(&[(ClassLevel::Sixieme, 3), (ClassLevel::Cm1, 2)]),
            ))
            .then_rejected("level-not-taught");
        assert_eq!(error.field, Some("counts.cm1"));
        assert!(
            error.message.contains("6e, 5e, 4e, 3e"),
            "{}",
            error.message
        );
        let error = given::<Cohort>(created(CohortKind::Parents))
            .at(now())
            .when(&CohortCommand::SetCounts(counts(&[(
                ClassLevel::Terminale,
                2,
            )])))
            .then_rejected("level-not-taught");
        assert_eq!(error.field, Some("counts.tle"));
        let error = given::<Cohort>(created(CohortKind::ElevesLycee))
            .at(now())
            .when(&CohortCommand::SetCounts(counts(&[(
                ClassLevel::Seconde,
                5000,
            )])))
            .then_rejected("count-implausible");
        assert_eq!(error.field, Some("counts.2nde"));
    }

    #[test]
    fn rejects_a_school_year_out_of_range_and_a_closed_school() {
        given::<Cohort>([])
            .at(now())
            .when(&creating(
                school(SchoolKind::College),
                SchoolYear::parse("2028-2029").unwrap(),
                CohortKind::ElevesCollege,
                BTreeMap::new(),
            ))
            .then_rejected("school-year-out-of-range");
        let mut closed = school(SchoolKind::College);
        closed.closed = true;
        given::<Cohort>([])
            .at(now())
            .when(&creating(
                closed,
                year(),
                CohortKind::ElevesCollege,
                BTreeMap::new(),
            ))
            .then_rejected("school-closed");
    }

    #[test]
    fn declaring_needs_ambassadors_and_happens_once() {
        let error = given::<Cohort>(created(CohortKind::ElevesCollege))
            .at(now())
            .when(&CohortCommand::Declare)
            .then_rejected("counts-empty");
        assert_eq!(error.field, Some("counts"));
        let mut history = created(CohortKind::ElevesCollege);
        history.push(college_counts(3));
        history.push(CohortEvent::CohortDeclared {
            declared_on: day("2026-10-01"),
        });
        given::<Cohort>(history)
            .at(now())
            .when(&CohortCommand::Declare)
            .then_rejected("cohort-already-declared");
    }

    #[test]
    fn active_only_once_declared_and_trained() {
        let mut history = created(CohortKind::ElevesCollege);
        history.push(college_counts(12));
        given::<Cohort>(history.clone())
            .at(now())
            .when(&CohortCommand::Activate)
            .then_rejected("cohort-not-declared");
        history.push(CohortEvent::CohortDeclared {
            declared_on: day("2026-10-01"),
        });
        let error = given::<Cohort>(history.clone())
            .at(now())
            .when(&CohortCommand::Activate)
            .then_rejected("training-missing");
        assert_eq!(error.kind, RejectionKind::Conflict);
        history.push(trained_entry());
        history.push(CohortEvent::CohortActivated {
            activated_on: day("2026-11-01"),
        });
        given::<Cohort>(history)
            .at(now())
            .when(&CohortCommand::Activate)
            .then_rejected("cohort-already-active");
    }

    #[test]
    fn nothing_changes_after_closing() {
        let mut history = created(CohortKind::ElevesCollege);
        history.push(college_counts(12));
        history.push(CohortEvent::CohortClosed {
            closed_on: day("2026-11-10"),
        });
        for command in [
            CohortCommand::SetCounts(counts(&[(ClassLevel::Sixieme, 1)])),
            CohortCommand::Declare,
            CohortCommand::Activate,
            CohortCommand::Close,
            entry("2026-10-10", 60, "Formation"),
            CohortCommand::SetNames(vec![]),
        ] {
            let error = given::<Cohort>(history.clone())
                .at(now())
                .when(&command)
                .then_rejected("cohort-closed");
            assert_eq!(error.kind, RejectionKind::Conflict, "{command:?}");
        }
        let error = given::<Cohort>([])
            .at(now())
            .when(&CohortCommand::Declare)
            .then_rejected("cohort-unknown");
        assert_eq!(error.kind, RejectionKind::NotFound);
    }

    #[test]
    fn a_session_must_exist_not_be_cancelled_have_started_and_count_once() {
        let declared = {
            let mut history = created(CohortKind::ElevesCollege);
            history.push(college_counts(3));
            history.push(CohortEvent::CohortDeclared {
                declared_on: day("2026-10-01"),
            });
            history
        };
        let error = given::<Cohort>(declared.clone())
            .at(now())
            .when(&at_session(7, None))
            .then_rejected("training-session-unknown");
        assert_eq!(error.field, Some("session_id"));
        given::<Cohort>(declared.clone())
            .at(now())
            .when(&at_session(
                7,
                Some(session(true, "2026-11-03T09:00:00+01:00")),
            ))
            .then_rejected("training-session-cancelled");
        given::<Cohort>(declared.clone())
            .at(now())
            .when(&at_session(
                7,
                Some(session(false, "2026-11-20T09:00:00+01:00")),
            ))
            .then_rejected("training-session-not-held");
        let recorded = given::<Cohort>(declared.clone())
            .at(now())
            .when(&at_session(
                7,
                Some(session(false, "2026-11-03T09:00:00+01:00")),
            ))
            .events();
        let mut history = declared;
        history.extend(recorded);
        given::<Cohort>(history)
            .at(now())
            .when(&at_session(
                7,
                Some(session(false, "2026-11-03T09:00:00+01:00")),
            ))
            .then_rejected("training-already-recorded");
    }

    #[test]
    fn a_training_entry_is_titled_timed_and_already_held() {
        let history = created(CohortKind::Parents);
        for (command, rule, field) in [
            (entry("2026-10-10", 60, "  "), "training-title", "title"),
            (
                entry("2026-10-10", 0, "Formation"),
                "training-minutes",
                "minutes",
            ),
            (
                entry("2026-10-10", 7000, "Formation"),
                "training-minutes",
                "minutes",
            ),
            (
                entry("2026-11-16", 60, "Formation"),
                "training-in-future",
                "held_on",
            ),
            (
                entry("2025-08-31", 60, "Formation"),
                "training-too-old",
                "held_on",
            ),
        ] {
            let error = given::<Cohort>(history.clone())
                .at(now())
                .when(&command)
                .then_rejected(rule);
            assert_eq!(error.field, Some(field), "{rule}");
        }
        let events = given::<Cohort>(history)
            .at(now())
            .when(&entry("2025-09-01", 90, " Parents  ambassadeurs "))
            .events();
        assert!(matches!(
            &events[..],
            [CohortEvent::TrainingRecorded(t)] if t.title == "Parents ambassadeurs" && t.minutes == 90
        ));
    }

    #[test]
    fn the_nominal_list_has_each_pupil_once_in_the_cohorts_levels() {
        let history = created(CohortKind::ElevesCollege);
        let error = given::<Cohort>(history.clone())
            .at(now())
            .when(&CohortCommand::SetNames(vec![
                pupil("Lina", "B", "6e", 1),
                pupil("Noé", "C", "5e", 2),
                pupil(" lina ", "b.", "6e", 3),
            ]))
            .then_rejected("pupil-duplicate");
        assert_eq!(error.field, Some("names"));
        assert!(error.message.contains("Lina B. (6e)"), "{}", error.message);
        // The same first name and initial in another class is another pupil.
        let events = given::<Cohort>(history.clone())
            .at(now())
            .when(&CohortCommand::SetNames(vec![
                pupil("Lina", "B", "6e", 1),
                pupil("Lina", "B", "5e", 2),
            ]))
            .events();
        assert!(matches!(&events[..], [CohortEvent::NamesSet { pupils }] if pupils.len() == 2));
        let error = given::<Cohort>(history)
            .at(now())
            .when(&CohortCommand::SetNames(vec![pupil("Lina", "B", "cm2", 1)]))
            .then_rejected("level-not-taught");
        assert_eq!(error.field, Some("names.class_level"));
        given::<Cohort>(created(CohortKind::Parents))
            .at(now())
            .when(&CohortCommand::SetNames(vec![]))
            .then_rejected("names-pupils-only");
        for (first, initial, level, rule) in [
            ("", "B", "6e", "invalid-first-name"),
            ("Lina", "Bo", "6e", "invalid-initial"),
            ("Lina", "", "6e", "invalid-initial"),
            ("Lina", "B", "7e", "level-unknown"),
        ] {
            assert_eq!(Pupil::parse(first, initial, level).unwrap_err().rule, rule);
        }
        let typed = Pupil::parse(" Jean  Marc ", " m. ", " 6E ").unwrap();
        assert_eq!(
            (typed.first_name.as_str(), typed.initial, typed.class_level),
            ("Jean Marc", 'M', ClassLevel::Sixieme)
        );
    }

    #[test]
    fn fewer_than_ten_pupils_in_a_college_or_lycee_is_flagged_never_refused() {
        let mut history = created(CohortKind::ElevesCollege);
        let events = given::<Cohort>(history.clone())
            .at(now())
            .when(&CohortCommand::SetCounts(counts(&[(
                ClassLevel::Sixieme,
                9,
            )])))
            .events();
        history.extend(events);
        history.push(CohortEvent::NamesSet {
            pupils: (0..10)
                .map(|n| PupilName {
                    first_name: sealed(n),
                    initial: sealed(n),
                    class_level: ClassLevel::Sixieme,
                })
                .collect(),
        });
        let state = given::<Cohort>(history.clone()).state().clone();
        assert!(state.below_ten());
        let warnings = state.warnings();
        assert!(warnings[0].contains("en compte 9"), "{warnings:?}");
        assert!(
            warnings[1].contains("10 élèves en 6e, pour 9"),
            "{warnings:?}"
        );
        let state = given::<Cohort>(history.clone())
            .at(now())
            .when(&CohortCommand::Declare)
            .state_after();
        assert!(state.below_ten() && state.status == CohortStatus::Declared);
        history.push(college_counts(10));
        let state = given::<Cohort>(history).state().clone();
        assert!(!state.below_ten() && state.warnings().is_empty());
        let mut parents = created(CohortKind::Parents);
        parents.push(CohortEvent::CountsSet {
            counts: counts(&[(ClassLevel::Parents, 2)]),
        });
        assert!(!given::<Cohort>(parents).state().below_ten());
    }

    #[test]
    fn the_same_counts_again_change_nothing() {
        let mut history = created(CohortKind::ElevesCollege);
        history.push(college_counts(4));
        given::<Cohort>(history)
            .at(now())
            .when(&CohortCommand::SetCounts(counts(&[(
                ClassLevel::Sixieme,
                4,
            )])))
            .then(&[]);
    }
}
