//! The edition aggregate (category `contest`) as a decider: one stream per school year,
//! with its dates, categories, rules and criteria, the deadline extensions, the jurors,
//! the awards and the palmarès frozen at publication. No HTTP here.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::contest::{
    AwardKind, ContestCategory, ContestEvent, ContestLevel, ContestRules, Criterion, EditionDates,
    FileType, Medium, PalmaresLine, SpecialPrize,
};
use pharos_events::phare::SchoolYear;
use pharos_events::{DepartmentCode, Uai};
use uuid::Uuid;

use crate::paris;

/// Editions' stream ids derive from their school year: one edition per year.
const NAMESPACE: Uuid = Uuid::from_u128(0x636f_6e74_6573_745f_6564_6974_696f_6e00);

/// The contest's first edition was 2013-2014: the 13th is 2025-2026.
pub const FIRST_EDITION_YEAR: i32 = 2013;
/// No file is larger than this, whatever an edition says (2 Gio).
pub const HARD_MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The longest reason of an extension or an inadmissibility.
pub const REASON_MAX: usize = 1000;
/// A weight above this is a typing error.
pub const WEIGHT_MAX: u32 = 10;

/// The edition id of a school year.
pub fn edition_id(year: SchoolYear) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("contest:{year}").as_bytes())
}

/// The edition number of a school year (13 for 2025-2026).
pub fn edition_number(year: SchoolYear) -> i64 {
    i64::from(year.start_year() - FIRST_EDITION_YEAR + 1)
}

/// The criteria an edition scores on when none are given.
pub fn default_criteria() -> Vec<Criterion> {
    [
        ("message", "Pertinence et force du message", 3),
        ("creativite", "Créativité et originalité", 2),
        ("realisation", "Qualité de la réalisation", 2),
        (
            "valeurs",
            "Respect du thème et des valeurs de la République",
            1,
        ),
    ]
    .into_iter()
    .map(|(key, label, weight)| Criterion {
        key: key.into(),
        label: label.into(),
        weight,
    })
    .collect()
}

/// A juror of the edition and what they are attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Juror {
    pub juror_id: Uuid,
    pub school_uai: Option<Uai>,
    pub department: Option<DepartmentCode>,
}

/// An extension granted to a school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub until: DateTime<Utc>,
    pub reason: String,
}

/// An edition as its events leave it.
#[derive(Debug, Clone, Default)]
pub struct EditionState {
    pub school_year: Option<SchoolYear>,
    pub edition: u32,
    pub opens_at: DateTime<Utc>,
    pub submission_deadline: DateTime<Utc>,
    pub dates: EditionDates,
    pub categories: Vec<ContestCategory>,
    pub special_prizes: Vec<SpecialPrize>,
    pub rules: Option<ContestRules>,
    pub criteria: Vec<Criterion>,
    pub extensions: BTreeMap<Uai, Extension>,
    pub jurors: Vec<Juror>,
    /// Awards by entry.
    pub awards: BTreeMap<Uuid, (String, BTreeSet<AwardKind>)>,
    pub palmares: Option<Vec<PalmaresLine>>,
    /// The national round's results of nominated entries: national laureate or not.
    pub national: BTreeMap<Uuid, bool>,
    pub closed: bool,
}

impl EditionState {
    pub fn exists(&self) -> bool {
        self.school_year.is_some()
    }

    pub fn category(&self, key: &str) -> Option<&ContestCategory> {
        self.categories.iter().find(|c| c.key() == key)
    }

    pub fn juror(&self, id: Uuid) -> Option<&Juror> {
        self.jurors.iter().find(|j| j.juror_id == id)
    }

    /// Until when `school` may submit: the deadline, or its extension when later.
    pub fn deadline_for(&self, school: &Uai) -> DateTime<Utc> {
        self.extensions
            .get(school)
            .map_or(self.submission_deadline, |e| {
                e.until.max(self.submission_deadline)
            })
    }

    pub fn published(&self) -> bool {
        self.palmares.is_some()
    }

    /// The awards of an entry.
    pub fn awards_of(&self, entry: Uuid) -> Vec<AwardKind> {
        self.awards
            .get(&entry)
            .map(|(_, kinds)| kinds.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether the entry holds an award (its files survive the close).
    pub fn distinguished(&self, entry: Uuid) -> bool {
        !self.awards_of(entry).is_empty()
    }

    /// The national round's result of a nominated entry, once recorded.
    pub fn national_result(&self, entry: Uuid) -> Option<bool> {
        self.national.get(&entry).copied()
    }
}

/// What a new edition is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEdition {
    pub school_year: SchoolYear,
    pub edition: Option<u32>,
    pub opens_at: DateTime<Utc>,
    pub submission_deadline: DateTime<Utc>,
    pub dates: EditionDates,
    pub categories: Vec<ContestCategory>,
    pub special_prizes: Vec<SpecialPrize>,
    pub rules: ContestRules,
    /// Empty: the default criteria.
    pub criteria: Vec<Criterion>,
}

/// What the edition knows of an entry an award is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardedEntry {
    pub entry_id: Uuid,
    pub category: String,
    pub admissible: bool,
}

#[derive(Debug, Clone)]
pub enum EditionCommand {
    Create(Box<NewEdition>),
    ExtendDeadline {
        school_uai: Uai,
        until: DateTime<Utc>,
        reason: String,
    },
    AppointJuror(Juror),
    GrantAward {
        entry: AwardedEntry,
        kind: AwardKind,
    },
    /// A pole's mistake put right before publication.
    RevokeAward {
        entry_id: Uuid,
        kind: AwardKind,
    },
    /// The national round's result of a nominated entry.
    RecordNationalResult {
        entry_id: Uuid,
        awarded: bool,
    },
    /// `palmares`: computed by the caller from the entries (see `palmares`).
    PublishResults {
        palmares: Vec<PalmaresLine>,
    },
    Close,
}

/// The edition's decider.
#[derive(Debug)]
pub struct Edition;

fn slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn french(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// The checks of a new edition, each naming its rule.
pub fn check_new(new: &NewEdition, today: NaiveDate) -> Result<(), Rejection> {
    let year = new.school_year;
    let current = SchoolYear::containing(today);
    if year.start_year() < FIRST_EDITION_YEAR || year > current.next() {
        return Err(Rejection::invalid(
            "school-year-out-of-range",
            "school_year",
            format!(
                "L'année scolaire {year} est hors période : le concours couvre les années de \
                 {FIRST_EDITION_YEAR}-{} à {} (l'année suivante au plus tard).",
                FIRST_EDITION_YEAR + 1,
                current.next()
            ),
        ));
    }
    let expected = edition_number(year);
    if let Some(edition) = new.edition
        && i64::from(edition) != expected
    {
        return Err(Rejection::invalid(
            "edition-number",
            "edition",
            format!(
                "L'édition {year} est la {expected}e (la première fut 2013-2014), pas la {edition}e."
            ),
        ));
    }
    if new.submission_deadline <= new.opens_at {
        return Err(Rejection::invalid(
            "deadline-before-opening",
            "submission_deadline",
            format!(
                "La date limite de dépôt ({}) doit suivre l'ouverture ({}).",
                paris::describe(new.submission_deadline),
                paris::describe(new.opens_at)
            ),
        ));
    }
    for (field, date) in [
        ("opens_at", paris::date(new.opens_at)),
        ("submission_deadline", paris::date(new.submission_deadline)),
    ] {
        if !year.contains(date) {
            return Err(Rejection::invalid(
                "date-outside-school-year",
                field,
                format!(
                    "Le {} n'est pas dans l'année scolaire {year}.",
                    french(date)
                ),
            ));
        }
    }
    let deadline = paris::date(new.submission_deadline);
    let dates = &new.dates;
    let jury_on = dates.jury_on.ok_or_else(|| {
        Rejection::invalid(
            "jury-date-missing",
            "jury_on",
            "Indiquez la date du jury académique.",
        )
    })?;
    if jury_on <= deadline {
        return Err(Rejection::invalid(
            "jury-before-deadline",
            "jury_on",
            format!(
                "Le jury académique ({}) se réunit après la date limite de dépôt ({}).",
                french(jury_on),
                french(deadline)
            ),
        ));
    }
    if let Some(local) = dates.local_round_on
        && (local <= deadline || local >= jury_on)
    {
        return Err(Rejection::invalid(
            "local-round-outside",
            "local_round_on",
            format!(
                "La sélection locale ({}) a lieu entre la date limite de dépôt ({}) et le jury \
                 académique ({}).",
                french(local),
                french(deadline),
                french(jury_on)
            ),
        ));
    }
    if let Some(national) = dates.national_submission_on
        && national < jury_on
    {
        return Err(Rejection::invalid(
            "national-before-jury",
            "national_submission_on",
            format!(
                "L'envoi au concours national ({}) suit le jury académique ({}).",
                french(national),
                french(jury_on)
            ),
        ));
    }
    match (dates.exhibition_from, dates.exhibition_to) {
        (Some(from), Some(to)) if to < from => {
            return Err(Rejection::invalid(
                "exhibition-dates",
                "exhibition_to",
                format!(
                    "L'exposition finit ({}) avant de commencer ({}).",
                    french(to),
                    french(from)
                ),
            ));
        }
        (None, Some(_)) | (Some(_), None) => {
            return Err(Rejection::invalid(
                "exhibition-dates",
                "exhibition_from",
                "L'exposition se donne avec son début et sa fin (exhibition_from, exhibition_to).",
            ));
        }
        _ => {}
    }
    if let Some(from) = dates.exhibition_from
        && from < jury_on
    {
        return Err(Rejection::invalid(
            "exhibition-before-jury",
            "exhibition_from",
            format!(
                "L'exposition ({}) montre les productions distinguées : après le jury ({}).",
                french(from),
                french(jury_on)
            ),
        ));
    }
    check_rules(&new.rules)?;
    if new.categories.is_empty() {
        return Err(Rejection::invalid(
            "categories-missing",
            "categories",
            "Une édition a au moins une catégorie (niveau × support, ex. college / video).",
        ));
    }
    let mut keys = BTreeSet::new();
    for category in &new.categories {
        if !keys.insert(category.key()) {
            return Err(Rejection::invalid(
                "category-duplicate",
                "categories",
                format!("La catégorie {} est donnée deux fois.", category.key()),
            ));
        }
        if !new.rules.media.contains(&category.medium) {
            return Err(Rejection::invalid(
                "category-medium-not-allowed",
                "categories",
                format!(
                    "La catégorie {} porte sur le support « {} », absent des supports autorisés \
                     par le règlement (rules.media).",
                    category.key(),
                    category.medium.as_str()
                ),
            ));
        }
        if category.label.trim().is_empty() || category.label.chars().count() > 100 {
            return Err(Rejection::invalid(
                "category-label",
                "categories",
                format!(
                    "Le libellé de la catégorie {} est obligatoire (100 caractères au plus).",
                    category.key()
                ),
            ));
        }
    }
    let mut prizes = BTreeSet::new();
    for prize in &new.special_prizes {
        if !slug(&prize.key) || prize.label.trim().is_empty() {
            return Err(Rejection::invalid(
                "special-prize-invalid",
                "special_prizes",
                format!(
                    "« {} » n'est pas un identifiant de prix spécial (minuscules, chiffres et _), \
                     ou son libellé manque.",
                    prize.key
                ),
            ));
        }
        if !prizes.insert(&prize.key) {
            return Err(Rejection::invalid(
                "special-prize-duplicate",
                "special_prizes",
                format!("Le prix spécial {} est donné deux fois.", prize.key),
            ));
        }
    }
    check_criteria(&new.criteria)
}

fn check_rules(rules: &ContestRules) -> Result<(), Rejection> {
    if rules.media.is_empty() {
        return Err(Rejection::invalid(
            "media-missing",
            "rules.media",
            "Le règlement autorise au moins un support (affiche, video).",
        ));
    }
    if rules.file_types.is_empty() {
        return Err(Rejection::invalid(
            "file-types-missing",
            "rules.file_types",
            "Le règlement autorise au moins un type de fichier (png, jpeg, pdf, mp4, webm).",
        ));
    }
    if rules.max_file_bytes == 0 || rules.max_file_bytes > HARD_MAX_FILE_BYTES {
        return Err(Rejection::invalid(
            "max-file-bytes",
            "rules.max_file_bytes",
            format!(
                "La taille maximale d'un fichier est comprise entre 1 octet et {} Mio.",
                HARD_MAX_FILE_BYTES / 1024 / 1024
            ),
        ));
    }
    for medium in &rules.media {
        if !rules.file_types.iter().any(|t| t.medium() == *medium) {
            return Err(Rejection::invalid(
                "medium-without-file-type",
                "rules.file_types",
                format!(
                    "Le support « {} » est autorisé mais aucun type de fichier ne lui correspond \
                     (affiche : png, jpeg, pdf ; vidéo : mp4, webm).",
                    medium.as_str()
                ),
            ));
        }
    }
    if rules.media.contains(&Medium::Video) && rules.max_video_seconds == 0 {
        return Err(Rejection::invalid(
            "max-video-seconds",
            "rules.max_video_seconds",
            "Avec le support vidéo, indiquez la durée maximale d'une vidéo (en secondes).",
        ));
    }
    if rules.max_entries_per_group == 0 {
        return Err(Rejection::invalid(
            "max-entries-per-group",
            "rules.max_entries_per_group",
            "Un groupe peut présenter au moins une production.",
        ));
    }
    Ok(())
}

fn check_criteria(criteria: &[Criterion]) -> Result<(), Rejection> {
    let mut keys = BTreeSet::new();
    for criterion in criteria {
        if !slug(&criterion.key) || criterion.label.trim().is_empty() {
            return Err(Rejection::invalid(
                "criterion-invalid",
                "criteria",
                format!(
                    "« {} » n'est pas un identifiant de critère (minuscules, chiffres et _), ou \
                     son libellé manque.",
                    criterion.key
                ),
            ));
        }
        if !keys.insert(&criterion.key) {
            return Err(Rejection::invalid(
                "criterion-duplicate",
                "criteria",
                format!("Le critère {} est donné deux fois.", criterion.key),
            ));
        }
        if !(1..=WEIGHT_MAX).contains(&criterion.weight) {
            return Err(Rejection::invalid(
                "criterion-weight",
                "criteria",
                format!(
                    "Le poids du critère {} est compris entre 1 et {WEIGHT_MAX}.",
                    criterion.key
                ),
            ));
        }
    }
    Ok(())
}

fn not_held(kind: AwardKind) -> Rejection {
    Rejection::conflict(
        "award-not-held",
        format!(
            "Cette production n'a pas la distinction « {} » : il n'y a rien à retirer.",
            kind.label()
        ),
    )
}

fn published(state: &EditionState) -> Result<(), Rejection> {
    if state.published() {
        return Err(Rejection::conflict(
            "results-published",
            "Le palmarès de cette édition est publié : il est figé.",
        ));
    }
    Ok(())
}

impl Decider for Edition {
    type State = EditionState;
    type Command = EditionCommand;
    type Event = ContestEvent;

    fn evolve(mut state: EditionState, event: &ContestEvent) -> EditionState {
        match event {
            ContestEvent::EditionCreated {
                school_year,
                edition,
                opens_at,
                submission_deadline,
                dates,
                categories,
                special_prizes,
                rules,
                criteria,
            } => {
                state.school_year = Some(*school_year);
                state.edition = *edition;
                state.opens_at = *opens_at;
                state.submission_deadline = *submission_deadline;
                state.dates = dates.clone();
                state.categories = categories.clone();
                state.special_prizes = special_prizes.clone();
                state.rules = Some(rules.clone());
                state.criteria = criteria.clone();
            }
            ContestEvent::DeadlineExtended {
                school_uai,
                until,
                reason,
            } => {
                state.extensions.insert(
                    school_uai.clone(),
                    Extension {
                        until: *until,
                        reason: reason.clone(),
                    },
                );
            }
            ContestEvent::JurorAppointed {
                juror_id,
                school_uai,
                department,
            } => state.jurors.push(Juror {
                juror_id: *juror_id,
                school_uai: school_uai.clone(),
                department: department.clone(),
            }),
            ContestEvent::AwardGranted {
                entry_id,
                category,
                kind,
            } => {
                state
                    .awards
                    .entry(*entry_id)
                    .or_insert_with(|| (category.clone(), BTreeSet::new()))
                    .1
                    .insert(*kind);
            }
            ContestEvent::AwardRevoked { entry_id, kind, .. } => {
                if let Some((_, kinds)) = state.awards.get_mut(entry_id) {
                    kinds.remove(kind);
                    if kinds.is_empty() {
                        state.awards.remove(entry_id);
                    }
                }
            }
            ContestEvent::ResultsPublished { palmares } => state.palmares = Some(palmares.clone()),
            ContestEvent::NationalResultRecorded { entry_id, awarded } => {
                state.national.insert(*entry_id, *awarded);
            }
            ContestEvent::CampaignClosed => state.closed = true,
        }
        state
    }

    fn decide(
        command: &EditionCommand,
        state: &EditionState,
        now: DateTime<Utc>,
    ) -> Result<Vec<ContestEvent>, Rejection> {
        if let EditionCommand::Create(new) = command {
            if let Some(year) = state.school_year {
                return Err(Rejection::conflict(
                    "contest-exists",
                    format!("L'édition {year} du concours existe déjà : une par année scolaire."),
                ));
            }
            check_new(new, paris::date(now))?;
            let criteria = if new.criteria.is_empty() {
                default_criteria()
            } else {
                new.criteria.clone()
            };
            return Ok(vec![ContestEvent::EditionCreated {
                school_year: new.school_year,
                edition: u32::try_from(edition_number(new.school_year)).unwrap_or_default(),
                opens_at: new.opens_at,
                submission_deadline: new.submission_deadline,
                dates: new.dates.clone(),
                categories: new.categories.clone(),
                special_prizes: new.special_prizes.clone(),
                rules: new.rules.clone(),
                criteria,
            }]);
        }
        if !state.exists() {
            return Err(Rejection::not_found(
                "contest-unknown",
                "Cette édition du concours n'existe pas.",
            ));
        }
        match command {
            EditionCommand::Create(_) => Ok(vec![]),
            EditionCommand::ExtendDeadline {
                school_uai,
                until,
                reason,
            } => {
                published(state)?;
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > REASON_MAX {
                    return Err(Rejection::invalid(
                        "reason-missing",
                        "reason",
                        format!(
                            "Une prolongation se motive ({REASON_MAX} caractères au plus) : elle \
                             est consignée."
                        ),
                    ));
                }
                if *until <= state.submission_deadline {
                    return Err(Rejection::invalid(
                        "extension-before-deadline",
                        "until",
                        format!(
                            "La prolongation ({}) doit dépasser la date limite de dépôt ({}).",
                            paris::describe(*until),
                            paris::describe(state.submission_deadline)
                        ),
                    ));
                }
                if let Some(jury) = state.dates.jury_on
                    && paris::date(*until) >= jury
                {
                    return Err(Rejection::invalid(
                        "extension-after-jury",
                        "until",
                        format!(
                            "La prolongation ({}) doit finir avant le jury académique ({}).",
                            paris::describe(*until),
                            french(jury)
                        ),
                    ));
                }
                Ok(vec![ContestEvent::DeadlineExtended {
                    school_uai: school_uai.clone(),
                    until: *until,
                    reason: reason.to_owned(),
                }])
            }
            EditionCommand::AppointJuror(juror) => {
                published(state)?;
                if state.juror(juror.juror_id).is_some() {
                    return Err(Rejection::conflict(
                        "juror-already-appointed",
                        "Ce compte est déjà juré de cette édition.",
                    ));
                }
                Ok(vec![ContestEvent::JurorAppointed {
                    juror_id: juror.juror_id,
                    school_uai: juror.school_uai.clone(),
                    department: juror.department.clone(),
                }])
            }
            EditionCommand::GrantAward { entry, kind } => {
                published(state)?;
                if !entry.admissible {
                    return Err(Rejection::conflict(
                        "award-entry-not-admissible",
                        format!(
                            "Seule une production déclarée recevable peut être distinguée (ici : \
                             {}).",
                            kind.label()
                        ),
                    ));
                }
                let held = state.awards_of(entry.entry_id);
                if held.contains(kind) {
                    return Ok(vec![]);
                }
                let grade = |k: &AwardKind| matches!(k, AwardKind::Laureate | AwardKind::Mention);
                if grade(kind)
                    && let Some(other) = held.iter().find(|k| grade(k))
                {
                    return Err(Rejection::conflict(
                        "award-conflicts",
                        format!(
                            "Cette production est déjà distinguée ({}) : elle ne peut être en \
                             même temps {}.",
                            other.label(),
                            kind.label()
                        ),
                    ));
                }
                let in_category = |k: AwardKind| {
                    state
                        .awards
                        .iter()
                        .filter(|(id, (category, kinds))| {
                            **id != entry.entry_id
                                && *category == entry.category
                                && kinds.contains(&k)
                        })
                        .count()
                };
                if kind.exclusive() && in_category(*kind) > 0 {
                    return Err(Rejection::conflict(
                        "award-exclusive-taken",
                        format!(
                            "La catégorie {} a déjà sa distinction « {} » : une seule par \
                             catégorie.",
                            entry.category,
                            kind.label()
                        ),
                    ));
                }
                let quota = state.rules.as_ref().map_or(0, |r| r.nominees_per_category);
                if *kind == AwardKind::NominatedNational
                    && in_category(AwardKind::NominatedNational) >= quota as usize
                {
                    return Err(Rejection::conflict(
                        "nominations-over-quota",
                        format!(
                            "La catégorie {} a déjà ses {quota} production(s) sélectionnée(s) \
                             pour le concours national.",
                            entry.category
                        ),
                    ));
                }
                Ok(vec![ContestEvent::AwardGranted {
                    entry_id: entry.entry_id,
                    category: entry.category.clone(),
                    kind: *kind,
                }])
            }
            EditionCommand::RevokeAward { entry_id, kind } => {
                if state.published() {
                    return Err(Rejection::conflict(
                        "results-published",
                        format!(
                            "Le palmarès de cette édition est publié : il est figé, la \
                             distinction « {} » ne se retire plus.",
                            kind.label()
                        ),
                    ));
                }
                let Some((category, kinds)) = state.awards.get(entry_id) else {
                    return Err(not_held(*kind));
                };
                if !kinds.contains(kind) {
                    return Err(not_held(*kind));
                }
                Ok(vec![ContestEvent::AwardRevoked {
                    entry_id: *entry_id,
                    category: category.clone(),
                    kind: *kind,
                }])
            }
            EditionCommand::RecordNationalResult { entry_id, awarded } => {
                if !state.published() {
                    return Err(Rejection::conflict(
                        "results-not-published",
                        "Le résultat du concours national s'enregistre une fois le palmarès \
                         académique publié.",
                    ));
                }
                if state.closed {
                    return Err(Rejection::conflict(
                        "campaign-closed",
                        "La campagne de cette édition est close : ses productions sont \
                         archivées, leur résultat national ne change plus.",
                    ));
                }
                if !state
                    .awards_of(*entry_id)
                    .contains(&AwardKind::NominatedNational)
                {
                    return Err(Rejection::conflict(
                        "entry-not-nominated",
                        "Cette production n'a pas été sélectionnée pour le concours national : \
                         elle n'a pas de résultat national.",
                    ));
                }
                if state.national_result(*entry_id) == Some(*awarded) {
                    return Ok(vec![]);
                }
                Ok(vec![ContestEvent::NationalResultRecorded {
                    entry_id: *entry_id,
                    awarded: *awarded,
                }])
            }
            EditionCommand::PublishResults { palmares } => {
                published(state)?;
                if state.awards.is_empty() {
                    return Err(Rejection::conflict(
                        "palmares-empty",
                        "Aucune production n'est distinguée : attribuez les distinctions avant de \
                         publier le palmarès.",
                    ));
                }
                Ok(vec![ContestEvent::ResultsPublished {
                    palmares: palmares.clone(),
                }])
            }
            EditionCommand::Close => {
                if !state.published() {
                    return Err(Rejection::conflict(
                        "results-not-published",
                        "La campagne se clôt une fois le palmarès publié.",
                    ));
                }
                if state.closed {
                    return Err(Rejection::conflict(
                        "campaign-closed",
                        "La campagne de cette édition est déjà close.",
                    ));
                }
                Ok(vec![ContestEvent::CampaignClosed])
            }
        }
    }
}

/// Whether a class level may be in a group of a category of `level`.
pub fn level_fits(category: ContestLevel, class: pharos_events::contest::ClassLevel) -> bool {
    match category {
        ContestLevel::InterDegres | ContestLevel::Periscolaire => true,
        level => class.stage() == level,
    }
}

/// Whether a file type is allowed by the rules.
pub fn type_allowed(rules: &ContestRules, file_type: FileType) -> bool {
    rules.file_types.contains(&file_type) && rules.media.contains(&file_type.medium())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pharos_decider::given;

    pub(crate) fn year() -> SchoolYear {
        SchoolYear::parse("2026-2027").unwrap()
    }

    pub(crate) fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    pub(crate) fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    pub(crate) fn rules() -> ContestRules {
        ContestRules {
            media: vec![Medium::Affiche, Medium::Video],
            max_video_seconds: 120,
            max_file_bytes: 10 * 1024 * 1024,
            file_types: vec![FileType::Png, FileType::Pdf, FileType::Mp4],
            max_entries_per_group: 1,
            nominees_per_category: 2,
        }
    }

    pub(crate) fn new_edition() -> NewEdition {
        NewEdition {
            school_year: year(),
            edition: Some(14),
            opens_at: at("2026-11-02T00:00:00+01:00"),
            submission_deadline: at("2027-02-12T23:59:00+01:00"),
            dates: EditionDates {
                jury_on: Some(day("2027-03-18")),
                local_round_on: Some(day("2027-03-01")),
                national_submission_on: Some(day("2027-03-31")),
                exhibition_from: Some(day("2027-05-10")),
                exhibition_to: Some(day("2027-05-28")),
            },
            categories: vec![
                ContestCategory {
                    level: ContestLevel::College,
                    medium: Medium::Affiche,
                    label: "Collège — affiche".into(),
                },
                ContestCategory {
                    level: ContestLevel::College,
                    medium: Medium::Video,
                    label: "Collège — vidéo".into(),
                },
                ContestCategory {
                    level: ContestLevel::InterDegres,
                    medium: Medium::Affiche,
                    label: "Inter-degrés — affiche".into(),
                },
            ],
            special_prizes: vec![SpecialPrize {
                key: "cyberharcelement".into(),
                label: "Prix « Cyberharcèlement »".into(),
            }],
            rules: rules(),
            criteria: vec![],
        }
    }

    pub(crate) fn created() -> Vec<ContestEvent> {
        given::<Edition>([])
            .at(at("2026-10-01T10:00:00Z"))
            .when(&EditionCommand::Create(Box::new(new_edition())))
            .events()
    }

    fn refused(change: impl FnOnce(&mut NewEdition), rule: &str) {
        let mut new = new_edition();
        change(&mut new);
        given::<Edition>([])
            .at(at("2026-10-01T10:00:00Z"))
            .when(&EditionCommand::Create(Box::new(new)))
            .then_rejected(rule);
    }

    #[test]
    fn an_edition_takes_its_number_from_its_year_and_default_criteria() {
        let events = created();
        let ContestEvent::EditionCreated {
            edition, criteria, ..
        } = &events[0]
        else {
            panic!("{events:?}")
        };
        assert_eq!(*edition, 14);
        assert_eq!(criteria, &default_criteria());
        assert_eq!(edition_number(SchoolYear::parse("2025-2026").unwrap()), 13);
        given::<Edition>(events)
            .when(&EditionCommand::Create(Box::new(new_edition())))
            .then_rejected("contest-exists");
    }

    #[test]
    fn rejects_inconsistent_dates_naming_the_rule() {
        refused(|n| n.edition = Some(12), "edition-number");
        refused(
            |n| n.school_year = SchoolYear::parse("2010-2011").unwrap(),
            "school-year-out-of-range",
        );
        refused(
            |n| n.submission_deadline = n.opens_at,
            "deadline-before-opening",
        );
        refused(
            |n| n.opens_at = at("2026-08-20T00:00:00+02:00"),
            "date-outside-school-year",
        );
        refused(|n| n.dates.jury_on = None, "jury-date-missing");
        refused(
            |n| n.dates.jury_on = Some(day("2027-02-12")),
            "jury-before-deadline",
        );
        refused(
            |n| n.dates.local_round_on = Some(day("2027-03-20")),
            "local-round-outside",
        );
        refused(
            |n| n.dates.national_submission_on = Some(day("2027-03-01")),
            "national-before-jury",
        );
        refused(
            |n| n.dates.exhibition_to = Some(day("2027-05-01")),
            "exhibition-dates",
        );
        refused(|n| n.dates.exhibition_to = None, "exhibition-dates");
        refused(
            |n| {
                n.dates.exhibition_from = Some(day("2027-03-01"));
            },
            "exhibition-before-jury",
        );
    }

    #[test]
    fn rejects_inconsistent_rules_categories_and_criteria() {
        refused(|n| n.rules.media.clear(), "media-missing");
        refused(|n| n.rules.file_types.clear(), "file-types-missing");
        refused(|n| n.rules.max_file_bytes = 0, "max-file-bytes");
        refused(
            |n| n.rules.file_types = vec![FileType::Png],
            "medium-without-file-type",
        );
        refused(|n| n.rules.max_video_seconds = 0, "max-video-seconds");
        refused(
            |n| n.rules.max_entries_per_group = 0,
            "max-entries-per-group",
        );
        refused(|n| n.categories.clear(), "categories-missing");
        refused(
            |n| n.categories.push(n.categories[0].clone()),
            "category-duplicate",
        );
        refused(
            |n| n.rules.media = vec![Medium::Affiche],
            "category-medium-not-allowed",
        );
        refused(|n| n.categories[0].label = " ".into(), "category-label");
        refused(
            |n| n.special_prizes[0].key = "Cyber Harcèlement".into(),
            "special-prize-invalid",
        );
        refused(
            |n| n.special_prizes.push(n.special_prizes[0].clone()),
            "special-prize-duplicate",
        );
        let criterion = |key: &str, weight| Criterion {
            key: key.into(),
            label: "Critère".into(),
            weight,
        };
        refused(
            |n| n.criteria = vec![criterion("message", 0)],
            "criterion-weight",
        );
        refused(
            |n| n.criteria = vec![criterion("a", 1), criterion("a", 2)],
            "criterion-duplicate",
        );
        refused(
            |n| n.criteria = vec![criterion("é", 1)],
            "criterion-invalid",
        );
    }

    fn school() -> Uai {
        Uai::parse("0310001H").unwrap()
    }

    #[test]
    fn an_extension_is_motivated_later_than_the_deadline_and_before_the_jury() {
        let extend = |until: &str, reason: &str| EditionCommand::ExtendDeadline {
            school_uai: school(),
            until: at(until),
            reason: reason.into(),
        };
        given::<Edition>(created())
            .when(&extend("2027-02-15T12:00:00+01:00", "  "))
            .then_rejected("reason-missing");
        given::<Edition>(created())
            .when(&extend("2027-02-10T12:00:00+01:00", "Panne"))
            .then_rejected("extension-before-deadline");
        given::<Edition>(created())
            .when(&extend("2027-03-18T12:00:00+01:00", "Panne"))
            .then_rejected("extension-after-jury");
        let state = given::<Edition>(created())
            .when(&extend("2027-02-15T12:00:00+01:00", " Panne du réseau "))
            .state_after();
        assert_eq!(
            state.deadline_for(&school()),
            at("2027-02-15T12:00:00+01:00")
        );
        assert_eq!(state.extensions[&school()].reason, "Panne du réseau");
        given::<Edition>([])
            .when(&extend("2027-02-15T12:00:00+01:00", "Panne"))
            .then_rejected("contest-unknown");
    }

    #[test]
    fn a_juror_is_appointed_once() {
        let juror = Juror {
            juror_id: Uuid::from_u128(5),
            school_uai: Some(school()),
            department: None,
        };
        let mut history = created();
        history.extend(
            given::<Edition>(history.clone())
                .when(&EditionCommand::AppointJuror(juror.clone()))
                .events(),
        );
        given::<Edition>(history)
            .when(&EditionCommand::AppointJuror(juror))
            .then_rejected("juror-already-appointed");
    }

    fn award(entry: u128, category: &str, admissible: bool, kind: AwardKind) -> EditionCommand {
        EditionCommand::GrantAward {
            entry: AwardedEntry {
                entry_id: Uuid::from_u128(entry),
                category: category.into(),
                admissible,
            },
            kind,
        }
    }

    #[test]
    fn awards_go_to_admissible_entries_within_exclusivity_and_quota() {
        let mut history = created();
        given::<Edition>(history.clone())
            .when(&award(1, "college_video", false, AwardKind::Mention))
            .then_rejected("award-entry-not-admissible");
        for command in [
            award(1, "college_video", true, AwardKind::Laureate),
            award(1, "college_video", true, AwardKind::NominatedNational),
            award(2, "college_video", true, AwardKind::NominatedNational),
            award(3, "college_affiche", true, AwardKind::Laureate),
        ] {
            history.extend(given::<Edition>(history.clone()).when(&command).events());
        }
        // The same award again changes nothing.
        given::<Edition>(history.clone())
            .when(&award(1, "college_video", true, AwardKind::Laureate))
            .then(&[]);
        given::<Edition>(history.clone())
            .when(&award(2, "college_video", true, AwardKind::Laureate))
            .then_rejected("award-exclusive-taken");
        given::<Edition>(history.clone())
            .when(&award(1, "college_video", true, AwardKind::Mention))
            .then_rejected("award-conflicts");
        given::<Edition>(history.clone())
            .when(&award(
                4,
                "college_video",
                true,
                AwardKind::NominatedNational,
            ))
            .then_rejected("nominations-over-quota");
        // Mentions are many.
        for entry in [5, 6] {
            given::<Edition>(history.clone())
                .when(&award(entry, "college_video", true, AwardKind::Mention))
                .events();
        }
        let published = given::<Edition>(history.clone())
            .when(&EditionCommand::PublishResults { palmares: vec![] })
            .events();
        history.extend(published);
        given::<Edition>(history.clone())
            .when(&award(5, "college_video", true, AwardKind::Mention))
            .then_rejected("results-published");
        given::<Edition>(history.clone())
            .when(&EditionCommand::PublishResults { palmares: vec![] })
            .then_rejected("results-published");
        history.extend(
            given::<Edition>(history.clone())
                .when(&EditionCommand::Close)
                .events(),
        );
        given::<Edition>(history)
            .when(&EditionCommand::Close)
            .then_rejected("campaign-closed");
    }

    /// `history` with the events `commands` add, each decided on what came before.
    pub(crate) fn after(
        mut history: Vec<ContestEvent>,
        commands: &[EditionCommand],
    ) -> Vec<ContestEvent> {
        for command in commands {
            history.extend(given::<Edition>(history.clone()).when(command).events());
        }
        history
    }

    fn revoke(entry: u128, kind: AwardKind) -> EditionCommand {
        EditionCommand::RevokeAward {
            entry_id: Uuid::from_u128(entry),
            kind,
        }
    }

    #[test]
    fn an_award_is_revoked_before_publication_only_and_frees_its_place() {
        let history = after(
            created(),
            &[
                award(1, "college_video", true, AwardKind::Laureate),
                award(1, "college_video", true, AwardKind::NominatedNational),
            ],
        );
        given::<Edition>(history.clone())
            .when(&revoke(1, AwardKind::Laureate))
            .then(&[ContestEvent::AwardRevoked {
                entry_id: Uuid::from_u128(1),
                category: "college_video".into(),
                kind: AwardKind::Laureate,
            }]);
        let error = given::<Edition>(history.clone())
            .when(&revoke(1, AwardKind::Mention))
            .then_rejected("award-not-held");
        assert!(error.message.contains("« mention »"), "{error}");
        given::<Edition>(history.clone())
            .when(&revoke(2, AwardKind::Laureate))
            .then_rejected("award-not-held");
        // The category's laureate place is free again; the entry keeps its nomination.
        let history = after(history, &[revoke(1, AwardKind::Laureate)]);
        let state = given::<Edition>(history.clone())
            .when(&award(2, "college_video", true, AwardKind::Laureate))
            .state_after();
        assert_eq!(
            state.awards_of(Uuid::from_u128(1)),
            [AwardKind::NominatedNational]
        );
        assert_eq!(state.awards_of(Uuid::from_u128(2)), [AwardKind::Laureate]);
        // An entry without awards any more is not distinguished (its files go at the close).
        let history = after(history, &[revoke(1, AwardKind::NominatedNational)]);
        let state = given::<Edition>(history.clone()).state().clone();
        assert!(!state.distinguished(Uuid::from_u128(1)));
        given::<Edition>(history.clone())
            .when(&EditionCommand::PublishResults { palmares: vec![] })
            .then_rejected("palmares-empty");
        let history = after(
            history,
            &[
                award(1, "college_video", true, AwardKind::Mention),
                EditionCommand::PublishResults { palmares: vec![] },
            ],
        );
        let error = given::<Edition>(history)
            .when(&revoke(1, AwardKind::Mention))
            .then_rejected("results-published");
        assert!(error.message.contains("figé"), "{error}");
    }

    fn national(entry: u128, awarded: bool) -> EditionCommand {
        EditionCommand::RecordNationalResult {
            entry_id: Uuid::from_u128(entry),
            awarded,
        }
    }

    #[test]
    fn a_national_result_is_for_a_nominated_entry_between_publication_and_close() {
        let awarded = after(
            created(),
            &[
                award(1, "college_video", true, AwardKind::NominatedNational),
                award(2, "college_video", true, AwardKind::Laureate),
            ],
        );
        given::<Edition>(awarded.clone())
            .when(&national(1, true))
            .then_rejected("results-not-published");
        let published = after(
            awarded,
            &[EditionCommand::PublishResults { palmares: vec![] }],
        );
        given::<Edition>(published.clone())
            .when(&national(2, true))
            .then_rejected("entry-not-nominated");
        given::<Edition>(published.clone())
            .when(&national(3, false))
            .then_rejected("entry-not-nominated");
        let recorded = after(published, &[national(1, false)]);
        assert_eq!(
            given::<Edition>(recorded.clone())
                .state()
                .national_result(Uuid::from_u128(1)),
            Some(false)
        );
        // The same result again changes nothing; another corrects it.
        given::<Edition>(recorded.clone())
            .when(&national(1, false))
            .then(&[]);
        given::<Edition>(recorded.clone())
            .when(&national(1, true))
            .then(&[ContestEvent::NationalResultRecorded {
                entry_id: Uuid::from_u128(1),
                awarded: true,
            }]);
        let closed = after(recorded, &[EditionCommand::Close]);
        given::<Edition>(closed)
            .when(&national(1, true))
            .then_rejected("campaign-closed");
    }

    #[test]
    fn a_palmares_needs_awards_and_a_close_needs_the_palmares() {
        given::<Edition>(created())
            .when(&EditionCommand::PublishResults { palmares: vec![] })
            .then_rejected("palmares-empty");
        given::<Edition>(created())
            .when(&EditionCommand::Close)
            .then_rejected("results-not-published");
    }
}
