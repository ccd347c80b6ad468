//! The entry aggregate (category `contest_entry`) as a decider: a group's production,
//! from draft to the jury. Commands that depend on the edition carry what it says (its
//! state, as loaded by the handler), so that the rules stay pure. No HTTP here.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use pharos_decider::{Decider, Rejection};
use pharos_events::contest::{
    Attestations, ContestLevel, EntryDetails, EntryEvent, EntryFile, Responsible,
};
use pharos_events::{DepartmentCode, SchoolKind, Uai};
use uuid::Uuid;

use crate::edition::{EditionState, Juror, level_fits, type_allowed};
use crate::paris;

/// The longest title.
pub const TITLE_MAX: usize = 200;
/// The longest project sheet (a page or two of text).
pub const PROJECT_SHEET_MAX: usize = 10_000;
/// The longest name of a group.
pub const GROUP_LABEL_MAX: usize = 100;
/// More pupils than this in one group is a typing error.
pub const PUPILS_MAX: u32 = 1000;
/// A score is out of this.
pub const SCORE_MAX: u8 = 20;
/// Files per entry.
pub const FILES_MAX: usize = 10;

pub use pharos_events::contest::EntryStatus;

/// An entry as its events leave it.
#[derive(Debug, Clone, Default)]
pub struct EntryState {
    pub contest_id: Option<Uuid>,
    pub school_uai: Option<Uai>,
    pub department: Option<DepartmentCode>,
    pub details: Option<EntryDetails>,
    pub responsible: Option<Responsible>,
    pub files: Vec<EntryFile>,
    pub attestations: Option<Attestations>,
    pub status: EntryStatus,
    pub submitted_late: Option<DateTime<Utc>>,
    pub inadmissible_reason: Option<String>,
    pub jurors: Vec<Uuid>,
    pub scores: BTreeMap<Uuid, BTreeMap<String, u8>>,
    /// Files deleted under a retention rule or an erasure.
    pub files_deleted: bool,
    /// Why, the last time: the `purpose` of `FilesDeleted`.
    pub files_deleted_for: Option<String>,
    /// The content (sha256) of every file deleted: what the store may still have to drop.
    pub deleted_contents: Vec<String>,
}

impl EntryState {
    pub fn exists(&self) -> bool {
        self.contest_id.is_some()
    }

    /// Where the entry `id` stands, its edition's results and close included: archived
    /// once the campaign is closed (withdrawn entries stay withdrawn); after publication,
    /// an admissible entry is nominated (then national laureate or not awarded once the
    /// national result is in), laureate, mention (a mention or a coup de cœur), or not
    /// selected. Before publication nothing of the jury's outcome shows.
    pub fn standing(&self, id: Uuid, edition: &EditionState) -> EntryStatus {
        self.status.standing(
            edition.closed,
            edition.published(),
            &edition.awards_of(id),
            edition.national_result(id),
        )
    }
}

/// The school an entry is of, as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySchool {
    pub uai: Uai,
    pub department: DepartmentCode,
    pub kind: SchoolKind,
}

#[derive(Debug, Clone)]
pub enum EntryCommand {
    /// `same_group`: the school's entries of that edition with the same group label,
    /// withdrawn ones aside.
    Create {
        contest_id: Uuid,
        edition: Box<EditionState>,
        school: EntrySchool,
        details: EntryDetails,
        responsible: Responsible,
        same_group: usize,
    },
    Edit {
        edition: Box<EditionState>,
        school_kind: SchoolKind,
        details: EntryDetails,
        responsible: Option<Responsible>,
        same_group: usize,
    },
    AttachFile {
        edition: Box<EditionState>,
        file: EntryFile,
    },
    Attest {
        edition: Box<EditionState>,
        attestations: Attestations,
    },
    Submit {
        edition: Box<EditionState>,
    },
    Withdraw {
        edition: Box<EditionState>,
    },
    DecideAdmissibility {
        admissible: bool,
        reason: Option<String>,
        published: bool,
    },
    /// `juror`: as appointed to the edition, with their attachment.
    AssignJuror {
        juror: Juror,
        published: bool,
    },
    Score {
        juror_id: Uuid,
        edition: Box<EditionState>,
        scores: BTreeMap<String, i64>,
    },
    /// The retention rule `purpose` deletes the entry's files.
    DeleteFiles {
        purpose: String,
    },
}

/// The entry's decider.
#[derive(Debug)]
pub struct Entry;

fn check_details(
    edition: &EditionState,
    school_kind: SchoolKind,
    details: &EntryDetails,
    same_group: usize,
) -> Result<(), Rejection> {
    let title = details.title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        return Err(Rejection::invalid(
            "title-invalid",
            "title",
            format!("Le titre de la production est obligatoire ({TITLE_MAX} caractères au plus)."),
        ));
    }
    if details.project_sheet.chars().count() > PROJECT_SHEET_MAX {
        return Err(Rejection::invalid(
            "project-sheet-too-long",
            "project_sheet",
            format!("La fiche projet dépasse {PROJECT_SHEET_MAX} caractères : résumez-la."),
        ));
    }
    let category = edition.category(&details.category).ok_or_else(|| {
        let keys: Vec<String> = edition.categories.iter().map(|c| c.key()).collect();
        Rejection::invalid(
            "category-unknown",
            "category",
            format!(
                "« {} » n'est pas une catégorie de cette édition ; catégories : {}.",
                details.category,
                keys.join(", ")
            ),
        )
    })?;
    let rules = edition.rules.as_ref().ok_or_else(|| {
        Rejection::not_found("contest-unknown", "Cette édition du concours n'existe pas.")
    })?;
    if !rules.media.contains(&category.medium) {
        return Err(Rejection::invalid(
            "medium-not-allowed",
            "category",
            format!(
                "Le support « {} » n'est pas autorisé par le règlement de cette édition.",
                category.medium.as_str()
            ),
        ));
    }
    let school_level = ContestLevel::of_school(school_kind);
    if category.level != ContestLevel::InterDegres && category.level != school_level {
        return Err(Rejection::invalid(
            "level-mismatch",
            "category",
            format!(
                "La catégorie {} est du niveau {} ; l'établissement concourt au niveau {} (ou en \
                 inter-degrés).",
                category.key(),
                category.level.label(),
                school_level.label()
            ),
        ));
    }
    let group = &details.group;
    let label = group.label.trim();
    if label.is_empty() || label.chars().count() > GROUP_LABEL_MAX {
        return Err(Rejection::invalid(
            "group-label-invalid",
            "group.label",
            format!(
                "Nommez le groupe (classe ou atelier, ex. « 5e B »), {GROUP_LABEL_MAX} caractères \
                 au plus — jamais le nom d'un élève."
            ),
        ));
    }
    if group.pupil_count < 2 {
        return Err(Rejection::invalid(
            "group-too-small",
            "group.pupil_count",
            "Le concours est ouvert aux productions de groupe : au moins deux élèves.",
        ));
    }
    if group.pupil_count > PUPILS_MAX {
        return Err(Rejection::invalid(
            "group-too-large",
            "group.pupil_count",
            format!("Un groupe compte au plus {PUPILS_MAX} élèves."),
        ));
    }
    if group.levels.is_empty() {
        return Err(Rejection::invalid(
            "levels-missing",
            "group.levels",
            "Indiquez le ou les niveaux de classe du groupe (ex. 5e).",
        ));
    }
    if let Some(level) = group
        .levels
        .iter()
        .find(|l| !level_fits(category.level, **l))
    {
        return Err(Rejection::invalid(
            "level-mismatch",
            "group.levels",
            format!(
                "Le niveau {} n'est pas du niveau {} de la catégorie {} (les niveaux se mêlent en \
                 inter-degrés seulement).",
                level.as_str(),
                category.level.label(),
                category.key()
            ),
        ));
    }
    if category.level == ContestLevel::InterDegres {
        let stages: BTreeSet<ContestLevel> = group.levels.iter().map(|l| l.stage()).collect();
        if stages.len() < 2 {
            return Err(Rejection::invalid(
                "inter-degres-single-level",
                "group.levels",
                "Une production inter-degrés réunit des élèves d'au moins deux degrés (ex. cm2 et \
                 6e).",
            ));
        }
    }
    for prize in &details.special_prizes {
        if !edition.special_prizes.iter().any(|p| &p.key == prize) {
            return Err(Rejection::invalid(
                "special-prize-unknown",
                "special_prizes",
                format!("« {prize} » n'est pas un prix spécial de cette édition."),
            ));
        }
    }
    if same_group >= rules.max_entries_per_group as usize {
        return Err(Rejection::conflict(
            "group-entries-over-limit",
            format!(
                "Le groupe « {label} » a déjà {same_group} production(s) dans cette édition : le \
                 règlement en permet {} par groupe.",
                rules.max_entries_per_group
            ),
        ));
    }
    Ok(())
}

fn draft(state: &EntryState) -> Result<(), Rejection> {
    match state.status {
        EntryStatus::Draft => Ok(()),
        other => Err(Rejection::conflict(
            "entry-not-draft",
            format!(
                "La production est {} : elle ne se modifie plus (seul un brouillon se modifie).",
                other.label()
            ),
        )),
    }
}

/// Once the campaign is closed, its entries are archived: nothing changes them.
fn not_archived(edition: &EditionState) -> Result<(), Rejection> {
    if edition.closed {
        return Err(Rejection::conflict(
            "campaign-closed",
            "La campagne de cette édition est close : la production est archivée, elle ne se \
             modifie plus.",
        ));
    }
    Ok(())
}

fn not_published(published: bool) -> Result<(), Rejection> {
    if published {
        return Err(Rejection::conflict(
            "results-published",
            "Le palmarès de cette édition est publié : il est figé.",
        ));
    }
    Ok(())
}

impl Decider for Entry {
    type State = EntryState;
    type Command = EntryCommand;
    type Event = EntryEvent;

    fn evolve(mut state: EntryState, event: &EntryEvent) -> EntryState {
        match event {
            EntryEvent::EntryCreated {
                contest_id,
                school_uai,
                department,
                details,
                responsible,
            } => {
                state.contest_id = Some(*contest_id);
                state.school_uai = Some(school_uai.clone());
                state.department = Some(department.clone());
                state.details = Some(details.clone());
                state.responsible = Some(responsible.clone());
            }
            EntryEvent::EntryEdited { details } => state.details = Some(details.clone()),
            EntryEvent::ResponsibleChanged { responsible } => {
                state.responsible = Some(responsible.clone());
            }
            EntryEvent::FileAttached(file) => state.files.push(file.clone()),
            EntryEvent::FileRemoved { file_id } => state.files.retain(|f| f.file_id != *file_id),
            EntryEvent::Attested(attestations) => state.attestations = Some(attestations.clone()),
            EntryEvent::EntrySubmitted { extended_until } => {
                state.status = EntryStatus::Submitted;
                state.submitted_late = *extended_until;
            }
            EntryEvent::EntryWithdrawn => state.status = EntryStatus::Withdrawn,
            EntryEvent::AdmissibilityDecided { admissible, reason } => {
                state.status = if *admissible {
                    EntryStatus::Admissible
                } else {
                    EntryStatus::Inadmissible
                };
                state.inadmissible_reason = reason.clone();
            }
            EntryEvent::JurorAssigned { juror_id } => {
                state.jurors.push(*juror_id);
                state.status = EntryStatus::UnderJury;
            }
            EntryEvent::EntryScored { juror_id, scores } => {
                state.scores.insert(*juror_id, scores.clone());
            }
            EntryEvent::FilesDeleted { file_ids, purpose } => {
                let (deleted, kept): (Vec<EntryFile>, _) = std::mem::take(&mut state.files)
                    .into_iter()
                    .partition(|f| file_ids.contains(&f.file_id));
                state.files = kept;
                state
                    .deleted_contents
                    .extend(deleted.into_iter().map(|f| f.sha256));
                state.files_deleted = true;
                state.files_deleted_for = Some(purpose.clone());
            }
        }
        state
    }

    fn decide(
        command: &EntryCommand,
        state: &EntryState,
        now: DateTime<Utc>,
    ) -> Result<Vec<EntryEvent>, Rejection> {
        if let EntryCommand::Create {
            contest_id,
            edition,
            school,
            details,
            responsible,
            same_group,
        } = command
        {
            if state.exists() {
                return Err(Rejection::conflict(
                    "entry-exists",
                    "Cette production existe déjà.",
                ));
            }
            if edition.published() {
                return Err(Rejection::conflict(
                    "results-published",
                    "Le palmarès de cette édition est publié : elle ne reçoit plus de production.",
                ));
            }
            check_details(edition, school.kind, details, *same_group)?;
            return Ok(vec![EntryEvent::EntryCreated {
                contest_id: *contest_id,
                school_uai: school.uai.clone(),
                department: school.department.clone(),
                details: EntryDetails {
                    title: details.title.trim().to_owned(),
                    ..details.clone()
                },
                responsible: responsible.clone(),
            }]);
        }
        let Some(school) = &state.school_uai else {
            return Err(Rejection::not_found(
                "entry-unknown",
                "Cette production n'existe pas.",
            ));
        };
        match command {
            EntryCommand::Create { .. } => Ok(vec![]),
            EntryCommand::Edit {
                edition,
                school_kind,
                details,
                responsible,
                same_group,
            } => {
                draft(state)?;
                not_archived(edition)?;
                check_details(edition, *school_kind, details, *same_group)?;
                let details = EntryDetails {
                    title: details.title.trim().to_owned(),
                    ..details.clone()
                };
                let mut events = Vec::new();
                if state.details.as_ref() != Some(&details) {
                    events.push(EntryEvent::EntryEdited { details });
                }
                if let Some(responsible) = responsible
                    && state.responsible.as_ref() != Some(responsible)
                {
                    events.push(EntryEvent::ResponsibleChanged {
                        responsible: responsible.clone(),
                    });
                }
                Ok(events)
            }
            EntryCommand::AttachFile { edition, file } => {
                draft(state)?;
                not_archived(edition)?;
                let rules = edition.rules.as_ref().ok_or_else(|| {
                    Rejection::not_found("contest-unknown", "Cette édition n'existe pas.")
                })?;
                if !type_allowed(rules, file.file_type) {
                    return Err(Rejection::invalid(
                        "file-type-not-allowed",
                        "file",
                        format!(
                            "Les fichiers {} ne sont pas acceptés par le règlement de cette \
                             édition.",
                            file.file_type.as_str()
                        ),
                    ));
                }
                if file.bytes > rules.max_file_bytes {
                    return Err(Rejection::invalid(
                        "file-too-large",
                        "file",
                        format!(
                            "Le fichier dépasse la taille maximale de {} octets.",
                            rules.max_file_bytes
                        ),
                    ));
                }
                if let Some(seconds) = file.duration_seconds
                    && seconds > rules.max_video_seconds
                {
                    return Err(Rejection::invalid(
                        "video-too-long",
                        "file",
                        format!(
                            "La vidéo dure {seconds} s ; le règlement en permet {} au plus.",
                            rules.max_video_seconds
                        ),
                    ));
                }
                if state.files.iter().any(|f| f.sha256 == file.sha256) {
                    return Ok(vec![]);
                }
                if state.files.len() >= FILES_MAX {
                    return Err(Rejection::conflict(
                        "too-many-files",
                        format!("Une production a au plus {FILES_MAX} fichiers."),
                    ));
                }
                Ok(vec![EntryEvent::FileAttached(file.clone())])
            }
            EntryCommand::Attest {
                edition,
                attestations,
            } => {
                draft(state)?;
                not_archived(edition)?;
                let by = attestations.attested_by.trim();
                if by.is_empty() || by.chars().count() > 200 {
                    return Err(Rejection::invalid(
                        "attested-by-missing",
                        "attested_by",
                        "Indiquez la fonction de qui atteste (ex. « principal du collège »).",
                    ));
                }
                let attestations = Attestations {
                    attested_by: by.to_owned(),
                    ..attestations.clone()
                };
                if state.attestations.as_ref() == Some(&attestations) {
                    return Ok(vec![]);
                }
                Ok(vec![EntryEvent::Attested(attestations)])
            }
            EntryCommand::Submit { edition } => {
                draft(state)?;
                if now < edition.opens_at {
                    return Err(Rejection::conflict(
                        "submission-not-open",
                        format!("Le dépôt ouvre le {}.", paris::describe(edition.opens_at)),
                    ));
                }
                let deadline = edition.deadline_for(school);
                if now > deadline {
                    return Err(Rejection::conflict(
                        "submission-closed",
                        format!(
                            "La date limite de dépôt est passée ({}) ; seul le pôle académique \
                             peut accorder une prolongation à l'établissement.",
                            paris::describe(deadline)
                        ),
                    ));
                }
                let missing: Vec<&str> = match &state.attestations {
                    None => vec![
                        "droits à l'image et à la voix",
                        "droits des tiers",
                        "valeurs de la République",
                        "cession des droits",
                    ],
                    Some(a) => [
                        (a.image_rights, "droits à l'image et à la voix"),
                        (a.third_party_rights, "droits des tiers"),
                        (a.republic_values, "valeurs de la République"),
                        (a.rights_grant, "cession des droits"),
                    ]
                    .into_iter()
                    .filter(|(given, _)| !given)
                    .map(|(_, name)| name)
                    .collect(),
                };
                if !missing.is_empty() {
                    return Err(Rejection::conflict(
                        "attestations-missing",
                        format!(
                            "Attestations manquantes avant le dépôt : {}.",
                            missing.join(", ")
                        ),
                    ));
                }
                let medium = state
                    .details
                    .as_ref()
                    .and_then(|d| edition.category(&d.category))
                    .map(|c| c.medium);
                if !state
                    .files
                    .iter()
                    .any(|f| Some(f.file_type.medium()) == medium)
                {
                    return Err(Rejection::conflict(
                        "production-missing",
                        format!(
                            "Déposez d'abord le fichier de la production ({}).",
                            medium.map_or("", |m| m.as_str())
                        ),
                    ));
                }
                let extended_until =
                    (now > edition.submission_deadline).then(|| edition.deadline_for(school));
                Ok(vec![EntryEvent::EntrySubmitted { extended_until }])
            }
            EntryCommand::Withdraw { edition } => {
                if !matches!(state.status, EntryStatus::Draft | EntryStatus::Submitted) {
                    return Err(Rejection::conflict(
                        "withdrawal-impossible",
                        format!(
                            "La production est {} : elle ne se retire plus.",
                            state.status.label()
                        ),
                    ));
                }
                let deadline = edition.deadline_for(school);
                if now > deadline {
                    return Err(Rejection::conflict(
                        "withdrawal-after-deadline",
                        format!(
                            "La date limite de dépôt est passée ({}) : la production ne se \
                             retire plus.",
                            paris::describe(deadline)
                        ),
                    ));
                }
                Ok(vec![EntryEvent::EntryWithdrawn])
            }
            EntryCommand::DecideAdmissibility {
                admissible,
                reason,
                published,
            } => {
                not_published(*published)?;
                if !matches!(
                    state.status,
                    EntryStatus::Submitted | EntryStatus::Admissible | EntryStatus::Inadmissible
                ) {
                    return Err(Rejection::conflict(
                        "admissibility-not-open",
                        format!(
                            "La production est {} : la recevabilité se décide sur une production \
                             déposée, avant que le jury ne la reçoive.",
                            state.status.label()
                        ),
                    ));
                }
                let reason = reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned);
                if !admissible && reason.is_none() {
                    return Err(Rejection::invalid(
                        "reason-missing",
                        "reason",
                        "Une production déclarée non recevable l'est pour un motif : indiquez-le.",
                    ));
                }
                if reason
                    .as_ref()
                    .is_some_and(|r| r.chars().count() > crate::edition::REASON_MAX)
                {
                    return Err(Rejection::invalid(
                        "reason-too-long",
                        "reason",
                        format!(
                            "Le motif dépasse {} caractères.",
                            crate::edition::REASON_MAX
                        ),
                    ));
                }
                Ok(vec![EntryEvent::AdmissibilityDecided {
                    admissible: *admissible,
                    reason: if *admissible { None } else { reason },
                }])
            }
            EntryCommand::AssignJuror { juror, published } => {
                not_published(*published)?;
                if !state.status.admissible() {
                    return Err(Rejection::conflict(
                        "entry-not-admissible",
                        format!(
                            "La production est {} : seule une production recevable va au jury.",
                            state.status.label()
                        ),
                    ));
                }
                if juror.school_uai.as_ref() == Some(school) {
                    return Err(Rejection::conflict(
                        "juror-recused",
                        format!(
                            "Ce juré est rattaché à l'établissement {school}, celui de la \
                             production : il ne peut pas la noter (déport)."
                        ),
                    ));
                }
                if let (Some(mine), Some(theirs)) = (&juror.department, &state.department)
                    && mine == theirs
                {
                    return Err(Rejection::conflict(
                        "juror-recused",
                        format!(
                            "Ce juré est rattaché au département {mine}, celui de \
                             l'établissement de la production : il ne peut pas la noter (déport)."
                        ),
                    ));
                }
                if state.jurors.contains(&juror.juror_id) {
                    return Ok(vec![]);
                }
                Ok(vec![EntryEvent::JurorAssigned {
                    juror_id: juror.juror_id,
                }])
            }
            EntryCommand::Score {
                juror_id,
                edition,
                scores,
            } => {
                not_published(edition.published())?;
                if !state.jurors.contains(juror_id) {
                    return Err(Rejection::conflict(
                        "entry-not-assigned",
                        "Cette production ne vous est pas attribuée : un juré ne note que les \
                         productions qui lui sont attribuées.",
                    ));
                }
                if !state.status.admissible() {
                    return Err(Rejection::conflict(
                        "entry-not-admissible",
                        format!(
                            "La production est {} : seule une production recevable se note.",
                            state.status.label()
                        ),
                    ));
                }
                if let Some(unknown) = scores
                    .keys()
                    .find(|k| !edition.criteria.iter().any(|c| &c.key == *k))
                {
                    return Err(Rejection::invalid(
                        "criterion-unknown",
                        "scores",
                        format!("« {unknown} » n'est pas un critère de cette édition."),
                    ));
                }
                let missing: Vec<&str> = edition
                    .criteria
                    .iter()
                    .filter(|c| !scores.contains_key(&c.key))
                    .map(|c| c.key.as_str())
                    .collect();
                if !missing.is_empty() {
                    return Err(Rejection::invalid(
                        "scores-incomplete",
                        "scores",
                        format!("Notez chaque critère ; manquent : {}.", missing.join(", ")),
                    ));
                }
                let mut marks = BTreeMap::new();
                for (key, score) in scores {
                    let Some(mark) = u8::try_from(*score).ok().filter(|s| *s <= SCORE_MAX) else {
                        return Err(Rejection::invalid(
                            "score-out-of-range",
                            "scores",
                            format!(
                                "La note du critère {key} ({score}) est comprise entre 0 et \
                                 {SCORE_MAX}."
                            ),
                        ));
                    };
                    marks.insert(key.clone(), mark);
                }
                if state.scores.get(juror_id) == Some(&marks) {
                    return Ok(vec![]);
                }
                Ok(vec![EntryEvent::EntryScored {
                    juror_id: *juror_id,
                    scores: marks,
                }])
            }
            EntryCommand::DeleteFiles { purpose } => {
                if state.files.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![EntryEvent::FilesDeleted {
                    file_ids: state.files.iter().map(|f| f.file_id).collect(),
                    purpose: purpose.clone(),
                }])
            }
        }
    }
}

/// An entry's weighted score on 20 by one juror.
pub fn weighted(
    criteria: &[pharos_events::contest::Criterion],
    marks: &BTreeMap<String, u8>,
) -> f64 {
    let total: u32 = criteria.iter().map(|c| c.weight).sum();
    if total == 0 {
        return 0.0;
    }
    let sum: u32 = criteria
        .iter()
        .map(|c| c.weight * u32::from(marks.get(&c.key).copied().unwrap_or(0)))
        .sum();
    f64::from(sum) / f64::from(total)
}

/// An entry's score: the mean of its jurors' weighted scores (`None` until scored).
pub fn score(criteria: &[pharos_events::contest::Criterion], state: &EntryState) -> Option<f64> {
    if state.scores.is_empty() {
        return None;
    }
    let sum: f64 = state.scores.values().map(|m| weighted(criteria, m)).sum();
    Some(sum / state.scores.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::tests::{at, created};
    use crate::edition::{Edition, EditionCommand};
    use pharos_decider::given;
    use pharos_events::contest::{ClassLevel, FileType, Group};
    use pharos_privacy::{PersonId, Sealed};

    fn edition_with(extra: Vec<EditionCommand>) -> Box<EditionState> {
        let mut history = created();
        for command in extra {
            history.extend(given::<Edition>(history.clone()).when(&command).events());
        }
        Box::new(given::<Edition>(history).state().clone())
    }

    fn edition() -> Box<EditionState> {
        edition_with(vec![])
    }

    fn school() -> EntrySchool {
        EntrySchool {
            uai: Uai::parse("0310001H").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
            kind: SchoolKind::College,
        }
    }

    fn responsible() -> Responsible {
        let sealed = Sealed {
            person: PersonId(Uuid::from_u128(9)),
            sealed: "x".into(),
        };
        Responsible {
            display_name: sealed.clone(),
            email: sealed,
        }
    }

    fn details(category: &str, levels: Vec<ClassLevel>, pupils: u32) -> EntryDetails {
        EntryDetails {
            category: category.into(),
            special_prizes: vec![],
            title: " Stop ".into(),
            group: Group {
                label: "5e B".into(),
                levels,
                pupil_count: pupils,
                adult_count: 2,
            },
            project_sheet: "Une affiche".into(),
        }
    }

    fn create(details: EntryDetails, same_group: usize) -> EntryCommand {
        EntryCommand::Create {
            contest_id: Uuid::from_u128(1),
            edition: edition(),
            school: school(),
            details,
            responsible: responsible(),
            same_group,
        }
    }

    const OPEN: &str = "2026-12-01T10:00:00+01:00";

    fn draft() -> Vec<EntryEvent> {
        given::<Entry>([])
            .at(at(OPEN))
            .when(&create(
                details("college_affiche", vec![ClassLevel::Cinquieme], 25),
                0,
            ))
            .events()
    }

    fn png() -> EntryFile {
        EntryFile {
            file_id: Uuid::from_u128(2),
            sha256: "ab".repeat(32),
            bytes: 1000,
            file_type: FileType::Png,
            duration_seconds: None,
        }
    }

    fn attested() -> Attestations {
        Attestations {
            image_rights: true,
            third_party_rights: true,
            republic_values: true,
            rights_grant: true,
            attested_by: "Principal".into(),
        }
    }

    fn ready() -> Vec<EntryEvent> {
        let mut history = draft();
        history.push(EntryEvent::FileAttached(png()));
        history.push(EntryEvent::Attested(attested()));
        history
    }

    fn submitted() -> Vec<EntryEvent> {
        let mut history = ready();
        history.push(EntryEvent::EntrySubmitted {
            extended_until: None,
        });
        history
    }

    fn admissible() -> Vec<EntryEvent> {
        let mut history = submitted();
        history.push(EntryEvent::AdmissibilityDecided {
            admissible: true,
            reason: None,
        });
        history
    }

    #[test]
    fn a_draft_keeps_its_title_trimmed() {
        let state = given::<Entry>(draft()).state().clone();
        assert_eq!(state.details.unwrap().title, "Stop");
        assert_eq!(state.status, EntryStatus::Draft);
    }

    #[test]
    fn rejects_a_single_pupil_a_wrong_level_an_unknown_category_and_a_full_group() {
        let refused = |details: EntryDetails, same_group: usize, rule: &str| {
            given::<Entry>([])
                .at(at(OPEN))
                .when(&create(details, same_group))
                .then_rejected(rule);
        };
        use ClassLevel::*;
        refused(
            details("college_affiche", vec![Cinquieme], 1),
            0,
            "group-too-small",
        );
        refused(
            details("college_affiche", vec![Cinquieme], 5000),
            0,
            "group-too-large",
        );
        refused(details("college_affiche", vec![], 20), 0, "levels-missing");
        refused(
            details("college_affiche", vec![Cm2], 20),
            0,
            "level-mismatch",
        );
        refused(
            details("lycee_affiche", vec![Seconde], 20),
            0,
            "category-unknown",
        );
        refused(
            details("college_affiche", vec![Cinquieme], 20),
            1,
            "group-entries-over-limit",
        );
        refused(
            details("inter_degres_affiche", vec![Sixieme], 20),
            0,
            "inter-degres-single-level",
        );
        let mut untitled = details("college_affiche", vec![Cinquieme], 20);
        untitled.title = " ".into();
        refused(untitled, 0, "title-invalid");
        let mut unnamed = details("college_affiche", vec![Cinquieme], 20);
        unnamed.group.label = String::new();
        refused(unnamed, 0, "group-label-invalid");
        let mut prize = details("college_affiche", vec![Cinquieme], 20);
        prize.special_prizes = vec!["inclusion".into()];
        refused(prize, 0, "special-prize-unknown");
        // An école competes in inter-degrés with a collège's 6e.
        given::<Entry>([])
            .at(at(OPEN))
            .when(&create(
                details("inter_degres_affiche", vec![Cm2, Sixieme], 20),
                0,
            ))
            .events();
        // A lycée does not compete in a collège category.
        let mut lycee = school();
        lycee.kind = SchoolKind::LyceeGt;
        given::<Entry>([])
            .when(&EntryCommand::Create {
                contest_id: Uuid::from_u128(1),
                edition: edition(),
                school: lycee,
                details: details("college_affiche", vec![Cinquieme], 20),
                responsible: responsible(),
                same_group: 0,
            })
            .then_rejected("level-mismatch");
    }

    #[test]
    fn rejects_a_medium_the_rules_do_not_allow() {
        let mut edition = edition();
        if let Some(rules) = edition.rules.as_mut() {
            rules.media = vec![pharos_events::contest::Medium::Video];
        }
        given::<Entry>([])
            .when(&EntryCommand::Create {
                contest_id: Uuid::from_u128(1),
                edition,
                school: school(),
                details: details("college_affiche", vec![ClassLevel::Cinquieme], 20),
                responsible: responsible(),
                same_group: 0,
            })
            .then_rejected("medium-not-allowed");
    }

    #[test]
    fn rejects_files_of_a_forbidden_type_too_large_or_too_long() {
        let attach = |file: EntryFile| EntryCommand::AttachFile {
            edition: edition(),
            file,
        };
        let mut jpeg = png();
        jpeg.file_type = FileType::Jpeg;
        given::<Entry>(draft())
            .when(&attach(jpeg))
            .then_rejected("file-type-not-allowed");
        let mut big = png();
        big.bytes = 11 * 1024 * 1024;
        given::<Entry>(draft())
            .when(&attach(big))
            .then_rejected("file-too-large");
        let mut long = png();
        long.file_type = FileType::Mp4;
        long.duration_seconds = Some(121);
        given::<Entry>(draft())
            .when(&attach(long))
            .then_rejected("video-too-long");
        // The same content twice is one file.
        given::<Entry>(ready()).when(&attach(png())).then(&[]);
    }

    #[test]
    fn submission_needs_attestations_a_production_and_the_window() {
        let submit = EntryCommand::Submit { edition: edition() };
        given::<Entry>(draft())
            .at(at(OPEN))
            .when(&submit)
            .then_rejected("attestations-missing");
        let mut partial = draft();
        partial.push(EntryEvent::Attested(Attestations {
            republic_values: false,
            ..attested()
        }));
        let error = given::<Entry>(partial)
            .at(at(OPEN))
            .when(&submit)
            .then_rejected("attestations-missing");
        assert!(
            error.message.contains("valeurs de la République"),
            "{error}"
        );
        let mut no_file = draft();
        no_file.push(EntryEvent::Attested(attested()));
        given::<Entry>(no_file)
            .at(at(OPEN))
            .when(&submit)
            .then_rejected("production-missing");
        given::<Entry>(ready())
            .at(at("2026-11-01T23:59:00+01:00"))
            .when(&submit)
            .then_rejected("submission-not-open");
        // One minute after the deadline, in Paris.
        let late = at("2027-02-13T00:00:00+01:00");
        let error = given::<Entry>(ready())
            .at(late)
            .when(&submit)
            .then_rejected("submission-closed");
        assert!(error.message.contains("12/02/2027 à 23:59"), "{error}");
        given::<Entry>(ready())
            .at(at("2027-02-12T23:59:00+01:00"))
            .when(&submit)
            .then(&[EntryEvent::EntrySubmitted {
                extended_until: None,
            }]);
        // With an extension for the school.
        let extended = edition_with(vec![EditionCommand::ExtendDeadline {
            school_uai: school().uai,
            until: at("2027-02-15T12:00:00+01:00"),
            reason: "Panne".into(),
        }]);
        given::<Entry>(ready())
            .at(late)
            .when(&EntryCommand::Submit { edition: extended })
            .then(&[EntryEvent::EntrySubmitted {
                extended_until: Some(at("2027-02-15T12:00:00+01:00")),
            }]);
    }

    #[test]
    fn nothing_changes_after_submission_and_withdrawal_ends_at_the_deadline() {
        let edit = EntryCommand::Edit {
            edition: edition(),
            school_kind: SchoolKind::College,
            details: details("college_affiche", vec![ClassLevel::Quatrieme], 20),
            responsible: None,
            same_group: 0,
        };
        given::<Entry>(submitted())
            .when(&edit)
            .then_rejected("entry-not-draft");
        given::<Entry>(submitted())
            .when(&EntryCommand::AttachFile {
                edition: edition(),
                file: png(),
            })
            .then_rejected("entry-not-draft");
        given::<Entry>(submitted())
            .when(&EntryCommand::Attest {
                edition: edition(),
                attestations: attested(),
            })
            .then_rejected("entry-not-draft");
        given::<Entry>(submitted())
            .at(at(OPEN))
            .when(&EntryCommand::Submit { edition: edition() })
            .then_rejected("entry-not-draft");
        given::<Entry>(submitted())
            .at(at("2027-02-13T00:00:00+01:00"))
            .when(&EntryCommand::Withdraw { edition: edition() })
            .then_rejected("withdrawal-after-deadline");
        given::<Entry>(admissible())
            .at(at(OPEN))
            .when(&EntryCommand::Withdraw { edition: edition() })
            .then_rejected("withdrawal-impossible");
        given::<Entry>(submitted())
            .at(at(OPEN))
            .when(&EntryCommand::Withdraw { edition: edition() })
            .then(&[EntryEvent::EntryWithdrawn]);
        // A draft's edit with the same values changes nothing.
        let mut same = draft();
        same.push(EntryEvent::EntryEdited {
            details: EntryDetails {
                title: "Stop".into(),
                ..details("college_affiche", vec![ClassLevel::Quatrieme], 20)
            },
        });
        given::<Entry>(same).when(&edit).then(&[]);
    }

    #[test]
    fn inadmissibility_needs_a_reason() {
        let decide = |admissible, reason: Option<&str>| EntryCommand::DecideAdmissibility {
            admissible,
            reason: reason.map(Into::into),
            published: false,
        };
        given::<Entry>(submitted())
            .when(&decide(false, Some("  ")))
            .then_rejected("reason-missing");
        given::<Entry>(draft())
            .when(&decide(true, None))
            .then_rejected("admissibility-not-open");
        given::<Entry>(submitted())
            .when(&decide(false, Some("Hors sujet")))
            .then(&[EntryEvent::AdmissibilityDecided {
                admissible: false,
                reason: Some("Hors sujet".into()),
            }]);
        given::<Entry>(submitted())
            .when(&EntryCommand::DecideAdmissibility {
                admissible: true,
                reason: None,
                published: true,
            })
            .then_rejected("results-published");
    }

    #[test]
    fn after_the_jury_the_status_comes_from_the_editions_results_and_close() {
        use crate::edition::tests::after;
        use pharos_events::contest::AwardKind::*;
        let award = |entry: u128, kind| EditionCommand::GrantAward {
            entry: crate::edition::AwardedEntry {
                entry_id: Uuid::from_u128(entry),
                category: "college_affiche".into(),
                admissible: true,
            },
            kind,
        };
        let edition_of = |history: &[pharos_events::contest::ContestEvent]| {
            given::<Edition>(history.to_vec()).state().clone()
        };
        let judged = given::<Entry>(admissible()).state().clone();
        let submitted = given::<Entry>(submitted()).state().clone();
        let withdrawn = given::<Entry>(draft())
            .at(at(OPEN))
            .when(&EntryCommand::Withdraw { edition: edition() })
            .state_after();
        let status = |entry: u128, state: &EntryState, edition: &EditionState| {
            state.standing(Uuid::from_u128(entry), edition)
        };
        let awarded = after(
            created(),
            &[
                award(1, Laureate),
                award(2, Mention),
                award(3, CoupDeCoeur),
                award(4, Mention),
                award(4, NominatedNational),
            ],
        );
        // Before publication, nothing of the outcome shows.
        let before = edition_of(&awarded);
        for entry in 1..=5 {
            assert_eq!(status(entry, &judged, &before), EntryStatus::Admissible);
        }
        let published = after(
            awarded,
            &[EditionCommand::PublishResults { palmares: vec![] }],
        );
        let edition = edition_of(&published);
        assert_eq!(status(1, &judged, &edition), EntryStatus::Laureate);
        assert_eq!(status(2, &judged, &edition), EntryStatus::Mention);
        assert_eq!(status(3, &judged, &edition), EntryStatus::Mention);
        assert_eq!(status(4, &judged, &edition), EntryStatus::NominatedNational);
        assert_eq!(status(5, &judged, &edition), EntryStatus::NotSelected);
        // Never judged: as it was.
        assert_eq!(status(5, &submitted, &edition), EntryStatus::Submitted);
        let national = |awarded| EditionCommand::RecordNationalResult {
            entry_id: Uuid::from_u128(4),
            awarded,
        };
        let lost = edition_of(&after(published.clone(), &[national(false)]));
        assert_eq!(status(4, &judged, &lost), EntryStatus::NotAwarded);
        let won = after(published, &[national(true)]);
        assert_eq!(
            status(4, &judged, &edition_of(&won)),
            EntryStatus::NationalLaureate
        );
        let closed = edition_of(&after(won, &[EditionCommand::Close]));
        for (entry, state) in [(4, &judged), (5, &judged), (5, &submitted)] {
            assert_eq!(status(entry, state, &closed), EntryStatus::Archived);
        }
        assert_eq!(status(6, &withdrawn, &closed), EntryStatus::Withdrawn);
    }

    #[test]
    fn an_archived_draft_changes_no_more() {
        let award = EditionCommand::GrantAward {
            entry: crate::edition::AwardedEntry {
                entry_id: Uuid::from_u128(1),
                category: "college_affiche".into(),
                admissible: true,
            },
            kind: pharos_events::contest::AwardKind::Mention,
        };
        let closed = edition_with(vec![
            award,
            EditionCommand::PublishResults { palmares: vec![] },
            EditionCommand::Close,
        ]);
        let mut other = png();
        other.sha256 = "cd".repeat(32);
        for command in [
            EntryCommand::Edit {
                edition: closed.clone(),
                school_kind: SchoolKind::College,
                details: details("college_affiche", vec![ClassLevel::Quatrieme], 20),
                responsible: None,
                same_group: 0,
            },
            EntryCommand::AttachFile {
                edition: closed.clone(),
                file: other,
            },
            EntryCommand::Attest {
                edition: closed.clone(),
                attestations: attested(),
            },
        ] {
            let error = given::<Entry>(draft())
                .when(&command)
                .then_rejected("campaign-closed");
            assert!(error.message.contains("archivée"), "{error}");
        }
    }

    #[test]
    fn deleting_files_records_their_ids_and_why_once() {
        let delete = EntryCommand::DeleteFiles {
            purpose: "person_erased".into(),
        };
        given::<Entry>(submitted())
            .when(&delete)
            .then(&[EntryEvent::FilesDeleted {
                file_ids: vec![png().file_id],
                purpose: "person_erased".into(),
            }]);
        let state = given::<Entry>(submitted()).when(&delete).state_after();
        assert!(state.files.is_empty());
        assert_eq!(state.deleted_contents, [png().sha256]);
        assert_eq!(state.files_deleted_for.as_deref(), Some("person_erased"));
        let mut deleted = submitted();
        deleted.push(EntryEvent::FilesDeleted {
            file_ids: vec![png().file_id],
            purpose: "person_erased".into(),
        });
        given::<Entry>(deleted).when(&delete).then(&[]);
    }

    fn juror(id: u128, school_uai: Option<&str>, department: Option<&str>) -> Juror {
        Juror {
            juror_id: Uuid::from_u128(id),
            school_uai: school_uai.map(|u| Uai::parse(u).unwrap()),
            department: department.map(|d| DepartmentCode::parse(d).unwrap()),
        }
    }

    #[test]
    fn a_juror_of_the_entrys_school_or_department_is_recused() {
        let assign = |juror| EntryCommand::AssignJuror {
            juror,
            published: false,
        };
        let error = given::<Entry>(admissible())
            .when(&assign(juror(7, Some("0310001H"), None)))
            .then_rejected("juror-recused");
        assert!(error.message.contains("0310001H"), "{error}");
        let error = given::<Entry>(admissible())
            .when(&assign(juror(7, None, Some("31"))))
            .then_rejected("juror-recused");
        assert!(error.message.contains("département 31"), "{error}");
        given::<Entry>(submitted())
            .when(&assign(juror(7, None, Some("32"))))
            .then_rejected("entry-not-admissible");
        let state = given::<Entry>(admissible())
            .when(&assign(juror(7, Some("0320001C"), Some("32"))))
            .state_after();
        assert_eq!(state.status, EntryStatus::UnderJury);
    }

    #[test]
    fn a_juror_scores_assigned_admissible_entries_on_every_criterion_from_0_to_20() {
        let mut history = admissible();
        history.push(EntryEvent::JurorAssigned {
            juror_id: Uuid::from_u128(7),
        });
        let marks = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
        };
        let full = marks(&[
            ("message", 16),
            ("creativite", 14),
            ("realisation", 12),
            ("valeurs", 18),
        ]);
        let score = |juror: u128, scores: BTreeMap<String, i64>| EntryCommand::Score {
            juror_id: Uuid::from_u128(juror),
            edition: edition(),
            scores,
        };
        given::<Entry>(history.clone())
            .when(&score(8, full.clone()))
            .then_rejected("entry-not-assigned");
        given::<Entry>(history.clone())
            .when(&score(7, marks(&[("message", 16)])))
            .then_rejected("scores-incomplete");
        let mut over = full.clone();
        over.insert("message".into(), 21);
        given::<Entry>(history.clone())
            .when(&score(7, over))
            .then_rejected("score-out-of-range");
        let mut unknown = full.clone();
        unknown.insert("humour".into(), 3);
        given::<Entry>(history.clone())
            .when(&score(7, unknown))
            .then_rejected("criterion-unknown");
        let state = given::<Entry>(history.clone())
            .when(&score(7, full))
            .state_after();
        let edition = edition();
        // (3×16 + 2×14 + 2×12 + 1×18) / 8 = 14.75
        assert_eq!(super::score(&edition.criteria, &state), Some(14.75));
        let mut inadmissible = submitted();
        inadmissible.push(EntryEvent::JurorAssigned {
            juror_id: Uuid::from_u128(7),
        });
        inadmissible.push(EntryEvent::AdmissibilityDecided {
            admissible: false,
            reason: Some("x".into()),
        });
        given::<Entry>(inadmissible)
            .when(&score(7, marks(&[("message", 1)])))
            .then_rejected("entry-not-admissible");
    }
}
