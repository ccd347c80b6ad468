//! The entry routes: create, edit while draft, read and list (within the actor's scope),
//! upload files (streamed), attest, submit, withdraw; the pole's admissibility, jurors'
//! assignments and awards; the juror's scores.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pharos_access::{Action, Actor, IfMatch, Subject, TargetState};
use pharos_decider::{Rejection, execute, execute_attached, execute_with, load};
use pharos_events::contest::{
    Attestations, AwardKind, ClassLevel, EntryDetails, EntryFile, FileType, Group, Medium,
};
use pharos_events::{DepartmentCode, Role, Uai};
use pharos_eventstore::{Companion, Companions, StreamId};
use pharos_web::{Created, Json, Path, Problem, Query, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::editions::{reference_date, unknown_school};
use super::{Files, PersonInput, PersonView, edition, entry_stream, may_list, page, uai};
use crate::edition::{AwardedEntry, Edition, EditionCommand, EditionState, type_allowed};
use crate::entry::{Entry, EntryCommand, EntrySchool, EntryState, EntryStatus, score};
use crate::files::{self, Refused};
use crate::index::Index;
use crate::{NAME, purge};

fn school_subject<'a>(uai: &'a Uai, department: &'a DepartmentCode) -> Subject<'a> {
    Subject::School { uai, department }
}

/// Le groupe d'élèves : jamais nommés, comptés.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = ContestGroupInput)]
pub struct GroupInput {
    /// Classe ou atelier (« 5e B », « atelier théâtre ») : les productions se comptent par
    /// groupe. Jamais le nom d'un élève.
    #[schema(example = "5e B")]
    pub label: String,
    /// Niveaux de classe.
    pub levels: Vec<ClassLevel>,
    /// Nombre d'élèves (au moins 2 : productions de groupe seulement).
    #[schema(example = 24)]
    pub pupil_count: u32,
    /// Nombre d'adultes encadrants.
    #[serde(default)]
    #[schema(example = 2)]
    pub adult_count: u32,
}

impl From<GroupInput> for Group {
    fn from(g: GroupInput) -> Self {
        Self {
            label: g.label.trim().to_owned(),
            levels: g.levels,
            pupil_count: g.pupil_count,
            adult_count: g.adult_count,
        }
    }
}

/// Une nouvelle production.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewEntryInput {
    /// UAI de l'établissement.
    #[schema(example = "0310001H")]
    pub school_uai: String,
    /// Catégorie de l'édition (ex. college_video).
    #[schema(example = "college_affiche")]
    pub category: String,
    /// Prix spéciaux visés.
    #[serde(default)]
    pub special_prizes: Vec<String>,
    /// Titre de la production.
    #[schema(example = "Briser le silence")]
    pub title: String,
    pub group: GroupInput,
    /// Adulte responsable (nom et adresse, chiffrés).
    pub responsible: PersonInput,
    /// Fiche projet (texte, 10 000 caractères au plus).
    #[serde(default)]
    pub project_sheet: String,
}

/// Où les productions se lisent.
const PATH: &str = "/api/v1/entries";

/// `POST /api/v1/contests/{id}/entries`
#[utoipa::path(post, path = "/api/v1/contests/{id}/entries", tag = "contests",
    operation_id = "contests_create_entry",
    summary = "Inscrire une production",
    description = "Un brouillon de production de groupe (au moins deux élèves), dans une \
                   catégorie de l'édition du niveau de l'établissement (ou inter-degrés), sur un \
                   support autorisé, dans la limite des productions par groupe. L'établissement, \
                   les référents de son département, le pôle.",
    request_body = NewEntryInput,
    params(("id" = Uuid, Path, description = "Identifiant de l'édition")),
    responses(
        (status = 201, description = "Production créée (brouillon)", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre (l'établissement, les référents de son département, le pôle)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Édition inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Groupe au maximum de ses productions, ou palmarès publié", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (un seul élève, niveau ou catégorie, support, prix spécial, titre, responsable, établissement)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(contest_id): Path<Uuid>,
    Json(body): Json<NewEntryInput>,
) -> Result<Response, Problem> {
    let school_uai = uai("school_uai", &body.school_uai)?;
    let school = state
        .access
        .reference
        .school(&school_uai)
        .await?
        .ok_or_else(|| unknown_school(&school_uai))?;
    actor.may(
        Action::EnterContest,
        school_subject(&school.uai, &school.department),
    )?;
    if school.closed {
        return Err(Rejection::invalid(
            "school-closed",
            "school_uai",
            format!("L'établissement {school_uai} est fermé."),
        )
        .into());
    }
    let (edition, _) = edition(&state, contest_id).await?;
    body.responsible.check()?;
    let same_group = index.read(|i| i.same_group(contest_id, &school_uai, &body.group.label, None));
    let details = EntryDetails {
        category: body.category.trim().to_owned(),
        special_prizes: body.special_prizes.clone(),
        title: body.title.clone(),
        group: body.group.clone().into(),
        project_sheet: body.project_sheet.trim().to_owned(),
    };
    // The rules first, before the vault is asked.
    let probe = EntryCommand::Create {
        contest_id,
        edition: Box::new(edition.clone()),
        school: EntrySchool {
            uai: school.uai.clone(),
            department: school.department.clone(),
            kind: school.kind,
        },
        details,
        responsible: pharos_events::contest::Responsible {
            display_name: placeholder(),
            email: placeholder(),
        },
        same_group,
    };
    <Entry as pharos_decider::Decider>::decide(&probe, &EntryState::default(), state.clock.now())?;
    let EntryCommand::Create {
        contest_id,
        edition: boxed,
        school: entry_school,
        details,
        same_group,
        ..
    } = probe
    else {
        return Err(Problem::internal());
    };
    let (responsible, mut companions) = body.responsible.seal(&state.vault).await?;
    let id = Uuid::now_v7();
    let stream = entry_stream(id)?;
    companions.push(responsible_hold(&state, id, &edition, &responsible)?);
    let command = EntryCommand::Create {
        contest_id,
        edition: boxed,
        school: entry_school,
        details,
        responsible,
        same_group,
    };
    let done = execute_attached::<Entry, Problem>(
        &state.app.store,
        &stream,
        state.clock.now(),
        None,
        &actor.metadata(NAME),
        |_| Ok((Cow::Borrowed(&command), companions.clone())),
    )
    .await?;
    note(&state, &index, id).await?;
    let mut response = Created {
        id,
        version: done.version,
    }
    .into_response();
    if let Ok(location) = header::HeaderValue::from_str(&format!("{PATH}/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn placeholder() -> pharos_privacy::Sealed {
    pharos_privacy::Sealed {
        person: pharos_privacy::PersonId(Uuid::nil()),
        sealed: String::new(),
    }
}

/// The responsible adult's data is held for the edition: the `contest_responsible`
/// retention runs from its school year. Stored in the commit naming them.
fn responsible_hold(
    state: &TargetState,
    id: Uuid,
    edition: &EditionState,
    responsible: &pharos_events::contest::Responsible,
) -> Result<std::sync::Arc<dyn Companion>, Problem> {
    let reference = reference_date(edition, state.clock.now());
    state
        .vault
        .hold_in_commit(
            responsible.email.person,
            &format!("contest_entry-{id}"),
            "contest_responsible",
            Some(reference),
        )
        .map_err(Problem::from)
}

/// Writes the entry as stored through to this process's index.
async fn note(state: &TargetState, index: &Index, id: Uuid) -> Result<(), Problem> {
    let (entry, version) = load::<Entry>(&state.app.store, &entry_stream(id)?).await?;
    index.update(|i| i.note(id, entry, version));
    Ok(())
}

/// Who reads an entry, and so what they see of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// The pole: everything, the jury's scores included.
    Pole,
    /// The school and its department's referents: the entry, not the jury's work.
    School,
    /// An assigned juror: the production, not the responsible adult; their own scores.
    Juror,
}

/// How `actor` reaches `entry`: 403 when they do not (a juror: not assigned, or the entry
/// not admissible).
fn reader(actor: &Actor, entry: &EntryState) -> Result<Reader, Problem> {
    let (Some(uai), Some(department)) = (&entry.school_uai, &entry.department) else {
        return Err(Problem::not_found());
    };
    let school = actor.may(Action::EnterContest, school_subject(uai, department));
    if school.is_ok() {
        return Ok(if actor.holds(Role::PoleManager) {
            Reader::Pole
        } else {
            Reader::School
        });
    }
    if actor.holds(Role::Juror) {
        actor.may(
            Action::JudgeContest,
            Subject::ContestEntry {
                jurors: &entry.jurors,
            },
        )?;
        if !entry.status.admissible() {
            return Err(Problem::from(pharos_access::Denied(
                "Cette production n'est pas (ou plus) recevable : le jury ne la voit pas.".into(),
            )));
        }
        return Ok(Reader::Juror);
    }
    Err(school
        .map_err(Problem::from)
        .err()
        .unwrap_or_else(Problem::internal))
}

/// A juror reads the entries assigned to them; they change none.
fn school_side(reader: Reader) -> Result<(), Problem> {
    if reader == Reader::Juror {
        return Err(pharos_access::Denied(
            "Un juré ne modifie pas les productions : il note celles qui lui sont attribuées."
                .into(),
        )
        .into());
    }
    Ok(())
}

/// The entry behind a path id with its version, once the actor is known to reach it.
async fn reachable(
    state: &TargetState,
    actor: &Actor,
    id: Uuid,
) -> Result<(StreamId, EntryState, i64, Reader), Problem> {
    let stream = entry_stream(id)?;
    let (entry, version) = load::<Entry>(&state.app.store, &stream).await?;
    if !entry.exists() {
        return Err(Problem::not_found());
    }
    let reader = reader(actor, &entry)?;
    Ok((stream, entry, version, reader))
}

/// Runs a school-side command on an entry, deciding on one load: 404 when there is none,
/// 403 when the actor does not reach its school. `command` is made from the entry and its
/// edition.
async fn run_school(
    state: &TargetState,
    index: &Index,
    actor: &Actor,
    id: Uuid,
    if_match: IfMatch,
    command: impl Fn(&EntryState, EditionState) -> Result<EntryCommand, Problem>,
) -> Result<Versioned, Problem> {
    run_school_attached(state, index, actor, id, if_match, &Vec::new(), command).await
}

/// [`run_school`], with `companions` stored in the command's commit.
async fn run_school_attached(
    state: &TargetState,
    index: &Index,
    actor: &Actor,
    id: Uuid,
    if_match: IfMatch,
    companions: &Companions,
    command: impl Fn(&EntryState, EditionState) -> Result<EntryCommand, Problem>,
) -> Result<Versioned, Problem> {
    let (_, entry, _, reader) = reachable(state, actor, id).await?;
    school_side(reader)?;
    let contest = entry.contest_id.ok_or_else(Problem::not_found)?;
    let (edition, _) = edition(state, contest).await?;
    let done = execute_attached::<Entry, Problem>(
        &state.app.store,
        &entry_stream(id)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |entry| {
            let (Some(uai), Some(department)) = (&entry.school_uai, &entry.department) else {
                return Err(Problem::not_found());
            };
            actor.may(Action::EnterContest, school_subject(uai, department))?;
            let command = command(entry, edition.clone())?;
            Ok((Cow::Owned(command), companions.clone()))
        },
    )
    .await?;
    note(state, index, id).await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// Ce qui change d'un brouillon : chaque champ donné remplace la valeur.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EntryPatch {
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub special_prizes: Option<Vec<String>>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub group: Option<GroupInput>,
    #[serde(default)]
    pub responsible: Option<PersonInput>,
    #[serde(default)]
    pub project_sheet: Option<String>,
}

/// `PATCH /api/v1/entries/{id}`
#[utoipa::path(patch, path = "/api/v1/entries/{id}", tag = "contests",
    operation_id = "contests_update_entry",
    summary = "Modifier un brouillon de production",
    description = "Tant que la production est un brouillon : après le dépôt, rien ne change.",
    request_body = EntryPatch,
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Production modifiée (ou inchangée)", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Production déposée (plus modifiable), archivée (campagne close), ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<EntryPatch>,
) -> Result<impl IntoResponse, Problem> {
    let (_, entry, _, reader) = reachable(&state, &actor, id).await?;
    school_side(reader)?;
    let school_uai = entry.school_uai.clone().ok_or_else(Problem::not_found)?;
    let kind = state
        .access
        .reference
        .school(&school_uai)
        .await?
        .ok_or_else(|| unknown_school(&school_uai))?
        .kind;
    let contest = entry.contest_id.ok_or_else(Problem::not_found)?;
    let (responsible, companions) = match &body.responsible {
        Some(person) => {
            person.check()?;
            if entry.status != EntryStatus::Draft {
                return Err(Rejection::conflict(
                    "entry-not-draft",
                    "La production est déposée : elle ne se modifie plus.",
                )
                .into());
            }
            let (responsible, mut companions) = person.seal(&state.vault).await?;
            let (edition, _) = edition(&state, contest).await?;
            companions.push(responsible_hold(&state, id, &edition, &responsible)?);
            (Some(responsible), companions)
        }
        None => (None, Vec::new()),
    };
    let done = run_school_attached(
        &state,
        &index,
        &actor,
        id,
        if_match,
        &companions,
        |entry, edition| {
            let current = entry.details.clone().ok_or_else(Problem::not_found)?;
            let details = EntryDetails {
                category: body
                    .category
                    .as_deref()
                    .map_or(current.category.clone(), |c| c.trim().to_owned()),
                special_prizes: body
                    .special_prizes
                    .clone()
                    .unwrap_or(current.special_prizes.clone()),
                title: body.title.clone().unwrap_or(current.title.clone()),
                group: body.group.clone().map_or(current.group.clone(), Into::into),
                project_sheet: body
                    .project_sheet
                    .as_deref()
                    .map_or(current.project_sheet.clone(), |p| p.trim().to_owned()),
            };
            let same_group =
                index.read(|i| i.same_group(contest, &school_uai, &details.group.label, Some(id)));
            Ok(EntryCommand::Edit {
                edition: Box::new(edition),
                school_kind: kind,
                details,
                responsible: responsible.clone(),
                same_group,
            })
        },
    )
    .await?;
    Ok(done)
}

/// Un fichier d'une production.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    pub file_id: Uuid,
    /// Empreinte SHA-256 du contenu (hexadécimal).
    pub sha256: String,
    /// Taille en octets.
    pub bytes: u64,
    /// Support : affiche (image, PDF) ou vidéo.
    pub media: Medium,
    /// Type reconnu d'après le contenu.
    pub file_type: FileType,
    /// Durée d'une vidéo, en secondes.
    pub duration_seconds: Option<u32>,
}

impl From<&EntryFile> for FileView {
    fn from(f: &EntryFile) -> Self {
        Self {
            file_id: f.file_id,
            sha256: f.sha256.clone(),
            bytes: f.bytes,
            media: f.file_type.medium(),
            file_type: f.file_type,
            duration_seconds: f.duration_seconds,
        }
    }
}

/// Le nom du fichier envoyé, facultatif : son extension doit dire vrai.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Nom du fichier (ex. affiche.png) : une extension qui ne correspond pas au contenu
    /// est refusée.
    pub name: Option<String>,
}

fn too_large(limit: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file-too-large",
        "Fichier trop volumineux",
        format!(
            "Le fichier dépasse la taille maximale du règlement ({limit} octets, soit {} Kio) : \
             rien n'a été conservé.",
            limit / 1024
        ),
    )
}

fn store_failure(error: std::io::Error) -> Problem {
    tracing::error!(error = %error, "contest file store failure");
    Problem::internal()
}

/// `POST /api/v1/entries/{id}/files`: the body is the file itself.
#[utoipa::path(post, path = "/api/v1/entries/{id}/files", tag = "contests",
    operation_id = "contests_upload_file",
    summary = "Déposer un fichier de la production",
    description = "Le corps de la requête est le fichier lui-même (Content-Type : son type, ou \
                   application/octet-stream), reçu en flux — jamais tenu en mémoire — et limité \
                   pendant la réception à la taille du règlement (413, rien de conservé). Le type \
                   est reconnu d'après le contenu et doit être accepté par le règlement ; un \
                   Content-Type ou un nom de fichier (name) qui ne correspond pas au contenu est \
                   refusé. La durée d'une vidéo (MP4, WebM) est lue dans son conteneur. Le contenu est \
                   conservé une fois, sous son empreinte SHA-256. Brouillon seulement.",
    params(
        ("id" = Uuid, Path, description = "Identifiant de la production"),
        UploadQuery,
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "Le fichier (image PNG ou JPEG, PDF, vidéo MP4 ou WebM)"),
    responses(
        (status = 201, description = "Fichier déposé", body = FileView),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Production déposée (plus modifiable)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Fichier au-delà de la taille du règlement : rien de conservé", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Type non reconnu, non accepté, ou contredit par le Content-Type ou l'extension ; vidéo trop longue ou durée illisible", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[allow(clippy::too_many_arguments)] // axum extractors, each one a part of the request
pub async fn upload(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    Extension(files): Extension<Files>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    match receive(state, index, files, actor, id, query, headers, body).await {
        Ok(response) => Ok(response),
        // A refused upload's body is not read to its end (refused by its length, its
        // claimed type, or its bytes once past the cap): the connection is closed after
        // the answer, so that no client sends its next request on a connection whose
        // unread bytes would be taken for that request.
        Err(problem) => {
            let mut response = problem.into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            Ok(response)
        }
    }
}

#[allow(clippy::too_many_arguments)] // the extractors of one request
async fn receive(
    state: TargetState,
    index: Index,
    files: Files,
    actor: Actor,
    id: Uuid,
    query: UploadQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let (_, entry, _, reader) = reachable(&state, &actor, id).await?;
    school_side(reader)?;
    if entry.status != EntryStatus::Draft {
        return Err(Rejection::conflict(
            "entry-not-draft",
            format!(
                "La production est {} : elle ne se modifie plus.",
                entry.status.label()
            ),
        )
        .into());
    }
    let contest = entry.contest_id.ok_or_else(Problem::not_found)?;
    let (edition, _) = edition(&state, contest).await?;
    let rules = edition.rules.clone().ok_or_else(Problem::not_found)?;
    let limit = rules.max_file_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    // What the request says the file is: its Content-Type and its name.
    let mut claims = Vec::new();
    if let Some(mime) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|m| !m.is_empty() && m != "application/octet-stream")
    {
        let claimed = FileType::of_mime(&mime).ok_or_else(|| {
            Rejection::invalid(
                "file-type-not-allowed",
                "Content-Type",
                format!(
                    "Le type {mime} n'est pas accepté (png, jpeg, pdf, mp4, webm ; ou \
                     application/octet-stream)."
                ),
            )
        })?;
        claims.push(claimed);
    }
    if let Some(name) = query
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let claimed = FileType::of_extension(name).ok_or_else(|| {
            Rejection::invalid(
                "file-type-not-allowed",
                "name",
                format!(
                    "L'extension du fichier « {name} » n'est pas acceptée (png, jpg, pdf, mp4, webm)."
                ),
            )
        })?;
        claims.push(claimed);
    }
    if let [first, rest @ ..] = claims.as_slice()
        && rest.iter().any(|c| c != first)
    {
        return Err(Rejection::invalid(
            "file-type-mismatch",
            "name",
            "Le Content-Type et l'extension du nom de fichier se contredisent.",
        )
        .into());
    }
    let spooled = files::spool(
        files.spool(),
        body,
        limit,
        claims.first().copied(),
        |found| type_allowed(&rules, found),
    )
    .await
    .map_err(|refused| match refused {
        Refused::TooLarge { limit } => too_large(limit),
        Refused::UnknownType => Rejection::invalid(
            "file-type-unknown",
            "file",
            "Le contenu du fichier n'est d'aucun type reconnu (png, jpeg, pdf, mp4, webm).",
        )
        .into(),
        Refused::Mismatch { found, claimed } => Rejection::invalid(
            "file-type-mismatch",
            "file",
            format!(
                "Le fichier se présente comme {} mais son contenu est {} : il est refusé.",
                claimed.as_str(),
                found.as_str()
            ),
        )
        .into(),
        Refused::NotAllowed(found) => Rejection::invalid(
            "file-type-not-allowed",
            "file",
            format!(
                "Les fichiers {} ne sont pas acceptés par le règlement de cette édition.",
                found.as_str()
            ),
        )
        .into(),
        Refused::Interrupted => Problem::new(
            StatusCode::BAD_REQUEST,
            "upload-interrupted",
            "Envoi interrompu",
            "Le fichier n'a pas été reçu en entier : rien n'a été conservé ; recommencez.",
        ),
        Refused::Io(e) => store_failure(e),
    })?;
    let duration_seconds = if spooled.file_type.medium() == Medium::Video {
        let seconds = files::video_duration_seconds(&spooled.path, spooled.file_type)
            .await
            .ok()
            .flatten();
        let refusal = match seconds {
            None => Some(Rejection::invalid(
                "video-duration-unreadable",
                "file",
                "La durée de la vidéo est illisible (MP4 sans en-tête moov/mvhd, ou WebM sans \
                 durée dans Segment/Info) : réenregistrez-la ou convertissez-la.",
            )),
            Some(s) if s > rules.max_video_seconds => Some(Rejection::invalid(
                "video-too-long",
                "file",
                format!(
                    "La vidéo dure {s} s ; le règlement en permet {} au plus.",
                    rules.max_video_seconds
                ),
            )),
            Some(_) => None,
        };
        if let Some(refusal) = refusal {
            let _ = tokio::fs::remove_file(&spooled.path).await;
            return Err(refusal.into());
        }
        seconds
    } else {
        None
    };
    let new = files
        .put(&spooled.path, &spooled.sha256)
        .await
        .map_err(store_failure)?;
    let file = EntryFile {
        file_id: Uuid::now_v7(),
        sha256: spooled.sha256.clone(),
        bytes: spooled.bytes,
        file_type: spooled.file_type,
        duration_seconds,
    };
    let attached = execute_with::<Entry, Problem>(
        &state.app.store,
        &entry_stream(id)?,
        state.clock.now(),
        None,
        &actor.metadata(NAME),
        |entry| {
            let (Some(uai), Some(department)) = (&entry.school_uai, &entry.department) else {
                return Err(Problem::not_found());
            };
            actor.may(Action::EnterContest, school_subject(uai, department))?;
            Ok(Cow::Owned(EntryCommand::AttachFile {
                edition: Box::new(edition.clone()),
                file: file.clone(),
            }))
        },
    )
    .await;
    let done = match attached {
        Ok(done) => done,
        Err(problem) => {
            // Stored for nothing: removed unless another entry holds the same content.
            let shared = index.read(|i| i.holds(&spooled.sha256));
            if new && !shared {
                let _ = files.delete(&spooled.sha256).await;
            }
            return Err(problem);
        }
    };
    note(&state, &index, id).await?;
    // The same content attached before: its first file answers.
    let (after, _) = load::<Entry>(&state.app.store, &entry_stream(id)?).await?;
    let shown = after
        .files
        .iter()
        .find(|f| f.sha256 == spooled.sha256)
        .cloned()
        .unwrap_or(file);
    let status = if done.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(FileView::from(&shown))).into_response())
}

/// The parameters of a file's address.
#[derive(Debug, Deserialize)]
pub struct FilePath {
    id: Uuid,
    file_id: Uuid,
}

/// `GET /api/v1/entries/{id}/files/{file_id}`
#[utoipa::path(get, path = "/api/v1/entries/{id}/files/{file_id}", tag = "contests",
    operation_id = "contests_download_file",
    summary = "Télécharger un fichier de la production",
    description = "Envoyé en flux, avec son type. L'établissement, les référents de son \
                   département, le pôle, et les jurés à qui la production est attribuée.",
    params(
        ("id" = Uuid, Path, description = "Identifiant de la production"),
        ("file_id" = Uuid, Path, description = "Identifiant du fichier"),
    ),
    responses(
        (status = 200, description = "Le fichier", content_type = "application/octet-stream"),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production ou fichier inconnu, ou fichier effacé", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<TargetState>,
    Extension(files): Extension<Files>,
    actor: Actor,
    Path(FilePath { id, file_id }): Path<FilePath>,
) -> Result<Response, Problem> {
    let (_, entry, _, _) = reachable(&state, &actor, id).await?;
    let file = entry
        .files
        .iter()
        .find(|f| f.file_id == file_id)
        .ok_or_else(Problem::not_found)?;
    let opened = files
        .open(&file.sha256)
        .await
        .map_err(store_failure)?
        .ok_or_else(Problem::not_found)?;
    let stream = futures::stream::unfold(opened, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut chunk = vec![0u8; 64 * 1024];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)),
                    file,
                ))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, file.file_type.mime().to_owned()),
            (header::CONTENT_LENGTH, file.bytes.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Ce que l'établissement atteste : il détient les droits (aucun formulaire signé n'est
/// déposé).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AttestationsInput {
    /// Droits à l'image et à la voix des personnes filmées ou photographiées, détenus par
    /// l'établissement.
    pub image_rights: bool,
    /// Droits des tiers (musique, images, textes) respectés.
    pub third_party_rights: bool,
    /// Production conforme aux valeurs de la République.
    pub republic_values: bool,
    /// Cession des droits pour la diffusion par l'académie et le ministère.
    pub rights_grant: bool,
    /// Fonction de qui atteste (pas un nom).
    #[schema(example = "Principal du collège")]
    pub attested_by: String,
}

/// `POST /api/v1/entries/{id}/attestations`
#[utoipa::path(post, path = "/api/v1/entries/{id}/attestations", tag = "contests",
    operation_id = "contests_attest_entry",
    summary = "Attester les droits de la production",
    description = "Les quatre attestations sont requises au dépôt ; brouillon seulement.",
    request_body = AttestationsInput,
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Attestations enregistrées", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Production déposée, ou archivée (campagne close)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Fonction de qui atteste manquante", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn attest(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<AttestationsInput>,
) -> Result<impl IntoResponse, Problem> {
    let attestations = Attestations {
        image_rights: body.image_rights,
        third_party_rights: body.third_party_rights,
        republic_values: body.republic_values,
        rights_grant: body.rights_grant,
        attested_by: body.attested_by,
    };
    run_school(&state, &index, &actor, id, if_match, |_, edition| {
        Ok(EntryCommand::Attest {
            edition: Box::new(edition),
            attestations: attestations.clone(),
        })
    })
    .await
}

/// `POST /api/v1/entries/{id}/submit`
#[utoipa::path(post, path = "/api/v1/entries/{id}/submit", tag = "contests",
    operation_id = "contests_submit_entry",
    summary = "Déposer la production",
    description = "Entre l'ouverture et la date limite, heure de Paris (ou jusqu'à la \
                   prolongation accordée à l'établissement par le pôle), attestations complètes \
                   et fichier de la production déposé. Ensuite, plus de modification.",
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Production déposée", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Dépôt pas encore ouvert ou clos, attestations ou fichier manquants, déjà déposée", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run_school(&state, &index, &actor, id, if_match, |_, edition| {
        Ok(EntryCommand::Submit {
            edition: Box::new(edition),
        })
    })
    .await
}

/// `POST /api/v1/entries/{id}/withdraw`
#[utoipa::path(post, path = "/api/v1/entries/{id}/withdraw", tag = "contests",
    operation_id = "contests_withdraw_entry",
    summary = "Retirer la production",
    description = "Un brouillon ou une production déposée, avant la date limite (ou la \
                   prolongation de l'établissement).",
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Production retirée", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Date limite passée, ou production déjà examinée", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run_school(&state, &index, &actor, id, if_match, |_, edition| {
        Ok(EntryCommand::Withdraw {
            edition: Box::new(edition),
        })
    })
    .await
}

/// Runs a pole's command on an entry.
async fn run_pole(
    state: &TargetState,
    index: &Index,
    actor: &Actor,
    id: Uuid,
    if_match: IfMatch,
    command: EntryCommand,
) -> Result<Versioned, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let done = execute_with::<Entry, Problem>(
        &state.app.store,
        &entry_stream(id)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |entry| {
            if !entry.exists() {
                return Err(Problem::not_found());
            }
            Ok(Cow::Borrowed(&command))
        },
    )
    .await?;
    note(state, index, id).await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// La recevabilité d'une production déposée.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AdmissibilityInput {
    /// Recevable ou non.
    pub admissible: bool,
    /// Motif, obligatoire quand la production n'est pas recevable.
    #[serde(default)]
    #[schema(example = "Production individuelle")]
    pub reason: Option<String>,
}

/// `POST /api/v1/entries/{id}/admissibility`
#[utoipa::path(post, path = "/api/v1/entries/{id}/admissibility", tag = "contests",
    operation_id = "contests_decide_admissibility",
    summary = "Décider de la recevabilité",
    description = "Le pôle académique, sur une production déposée, avant qu'elle aille au jury ; \
                   un motif quand elle n'est pas recevable.",
    request_body = AdmissibilityInput,
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Recevabilité décidée", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Production non déposée, déjà devant le jury, ou palmarès publié", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Motif manquant", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn decide_admissibility(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<AdmissibilityInput>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let published = published_of(&state, id).await?;
    let command = EntryCommand::DecideAdmissibility {
        admissible: body.admissible,
        reason: body.reason,
        published,
    };
    run_pole(&state, &index, &actor, id, if_match, command).await
}

/// Whether the palmarès of the entry's edition is published (404 for no entry).
async fn published_of(state: &TargetState, id: Uuid) -> Result<bool, Problem> {
    let (entry, _) = load::<Entry>(&state.app.store, &entry_stream(id)?).await?;
    let contest = entry.contest_id.ok_or_else(Problem::not_found)?;
    Ok(edition(state, contest).await?.0.published())
}

/// Un juré de l'édition à qui attribuer la production.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AssignmentInput {
    /// Identifiant du compte du juré, nommé pour l'édition.
    pub juror_id: Uuid,
}

/// `POST /api/v1/entries/{id}/jurors`
#[utoipa::path(post, path = "/api/v1/entries/{id}/jurors", tag = "contests",
    operation_id = "contests_assign_juror",
    summary = "Attribuer la production à un juré",
    description = "Le pôle académique ; la production doit être recevable, le juré nommé pour \
                   l'édition. Un juré rattaché à l'établissement de la production, ou à son \
                   département, est refusé (déport, motif dans la réponse).",
    request_body = AssignmentInput,
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Production attribuée", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Déport du juré, production non recevable, ou palmarès publié", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Juré non nommé pour l'édition", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn assign_juror(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<AssignmentInput>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let (entry, _) = load::<Entry>(&state.app.store, &entry_stream(id)?).await?;
    let contest = entry.contest_id.ok_or_else(Problem::not_found)?;
    let (edition, _) = edition(&state, contest).await?;
    let juror = edition.juror(body.juror_id).cloned().ok_or_else(|| {
        Rejection::invalid(
            "juror-not-appointed",
            "juror_id",
            "Ce compte n'est pas juré de cette édition : nommez-le d'abord \
             (POST /api/v1/contests/{id}/jurors).",
        )
    })?;
    let command = EntryCommand::AssignJuror {
        juror,
        published: edition.published(),
    };
    run_pole(&state, &index, &actor, id, if_match, command).await
}

/// Les notes d'un juré, de 0 à 20, pour chaque critère de l'édition.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ScoresInput {
    /// Note par critère (identifiant du critère → note entière de 0 à 20).
    #[schema(example = json!({"message": 16, "creativite": 14, "realisation": 12, "valeurs": 18}))]
    pub scores: BTreeMap<String, i64>,
}

/// `POST /api/v1/entries/{id}/scores`
#[utoipa::path(post, path = "/api/v1/entries/{id}/scores", tag = "contests",
    operation_id = "contests_score_entry",
    summary = "Noter une production",
    description = "Un juré, sur une production recevable qui lui est attribuée : chaque critère \
                   de 0 à 20. Une nouvelle notation remplace la sienne, jusqu'à la publication du \
                   palmarès.",
    request_body = ScoresInput,
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Notes enregistrées", body = pharos_web::Versioned),
        (status = 403, description = "Production non attribuée à ce juré, ou non recevable ; pas juré", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Palmarès publié", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Critère manquant ou inconnu, note hors de 0 à 20", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn score_entry(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<ScoresInput>,
) -> Result<impl IntoResponse, Problem> {
    let (_, entry, _, reader) = reachable(&state, &actor, id).await?;
    if reader != Reader::Juror {
        actor.may(
            Action::JudgeContest,
            Subject::ContestEntry {
                jurors: &entry.jurors,
            },
        )?;
    }
    let contest = entry.contest_id.ok_or_else(Problem::not_found)?;
    let (edition, _) = edition(&state, contest).await?;
    let done = execute_with::<Entry, Problem>(
        &state.app.store,
        &entry_stream(id)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |entry| {
            actor.may(
                Action::JudgeContest,
                Subject::ContestEntry {
                    jurors: &entry.jurors,
                },
            )?;
            Ok(Cow::Owned(EntryCommand::Score {
                juror_id: actor.user_id,
                edition: Box::new(edition.clone()),
                scores: body.scores.clone(),
            }))
        },
    )
    .await?;
    note(&state, &index, id).await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// Une distinction pour la production.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AwardInput {
    pub kind: AwardKind,
}

/// `POST /api/v1/entries/{id}/awards`
#[utoipa::path(post, path = "/api/v1/entries/{id}/awards", tag = "contests",
    operation_id = "contests_grant_award",
    summary = "Distinguer une production",
    description = "Le pôle académique, sur une production recevable : un lauréat et un coup de \
                   cœur au plus par catégorie, lauréat et mention exclusifs l'un de l'autre, les \
                   sélections nationales dans le quota de la catégorie. Enregistré sur l'édition ; \
                   la même distinction redemandée ne change rien.",
    request_body = AwardInput,
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Distinction attribuée (version du flux de l'édition)", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Production non recevable, distinction exclusive déjà attribuée dans la catégorie, quota atteint, palmarès publié", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn grant_award(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(body): Json<AwardInput>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let (entry, _) = load::<Entry>(&state.app.store, &entry_stream(id)?).await?;
    let contest = entry.contest_id.ok_or_else(Problem::not_found)?;
    let details = entry.details.clone().ok_or_else(Problem::not_found)?;
    let done = execute::<Edition, Problem>(
        &state.app.store,
        &super::edition_stream(contest)?,
        &EditionCommand::GrantAward {
            entry: AwardedEntry {
                entry_id: id,
                category: details.category,
                admissible: entry.status.admissible(),
            },
            kind: body.kind,
        },
        state.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// The parameters of an award's address.
#[derive(Debug, Deserialize)]
pub struct AwardPath {
    id: Uuid,
    kind: String,
}

/// The award an address names: 404 naming the known ones otherwise.
fn award_kind(text: &str) -> Result<AwardKind, Rejection> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        Rejection::not_found(
            "award-kind-unknown",
            format!(
                "« {text} » n'est pas une distinction : laureate, mention, coup_de_coeur ou \
                 nominated_national."
            ),
        )
    })
}

/// `DELETE /api/v1/entries/{id}/awards/{kind}`
#[utoipa::path(delete, path = "/api/v1/entries/{id}/awards/{kind}", tag = "contests",
    operation_id = "contests_revoke_award",
    summary = "Retirer une distinction",
    description = "Le pôle académique corrige une erreur avant la publication du palmarès : la \
                   distinction est retirée de la production (consigné : qui, quand), ce qui \
                   libère la place dans la catégorie (lauréat, coup de cœur) ou le quota \
                   (sélection nationale). Une fois le palmarès publié, il est figé.",
    params(
        ("id" = Uuid, Path, description = "Identifiant de la production"),
        ("kind" = AwardKind, Path, description = "Distinction à retirer"),
    ),
    responses(
        (status = 200, description = "Distinction retirée (version du flux de l'édition)", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue, ou distinction inconnue dans l'adresse", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "La production n'a pas cette distinction, ou palmarès publié", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn revoke_award(
    State(state): State<TargetState>,
    actor: Actor,
    Path(AwardPath { id, kind }): Path<AwardPath>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let kind = award_kind(&kind)?;
    let contest = contest_of(&state, id).await?;
    let done = execute::<Edition, Problem>(
        &state.app.store,
        &super::edition_stream(contest)?,
        &EditionCommand::RevokeAward { entry_id: id, kind },
        state.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// Le résultat du concours national pour une production sélectionnée.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NationalResultInput {
    /// Lauréate du concours national (true) ou non primée (false).
    pub awarded: bool,
}

/// `POST /api/v1/entries/{id}/national-result`
#[utoipa::path(post, path = "/api/v1/entries/{id}/national-result", tag = "contests",
    operation_id = "contests_record_national_result",
    summary = "Enregistrer le résultat du concours national",
    description = "Le pôle académique, pour une production sélectionnée pour le concours \
                   national, une fois le palmarès académique publié et avant la clôture de la \
                   campagne : lauréate nationale ou non primée. Un nouveau résultat corrige le \
                   précédent (consigné) ; le même redonné ne change rien.",
    request_body = NationalResultInput,
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "Résultat enregistré (version du flux de l'édition)", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Production non sélectionnée pour le concours national, palmarès pas encore publié, ou campagne close", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Corps invalide (awarded manquant ou non booléen)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn record_national_result(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(body): Json<NationalResultInput>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageContest, Subject::Academy)?;
    let contest = contest_of(&state, id).await?;
    let done = execute::<Edition, Problem>(
        &state.app.store,
        &super::edition_stream(contest)?,
        &EditionCommand::RecordNationalResult {
            entry_id: id,
            awarded: body.awarded,
        },
        state.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// The edition of an existing entry (404 for no entry).
async fn contest_of(state: &TargetState, id: Uuid) -> Result<Uuid, Problem> {
    let (entry, _) = load::<Entry>(&state.app.store, &entry_stream(id)?).await?;
    entry.contest_id.ok_or_else(Problem::not_found)
}

/// Le groupe d'élèves, en effectifs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ContestGroupView)]
pub struct GroupView {
    pub label: String,
    pub levels: Vec<ClassLevel>,
    pub pupil_count: u32,
    pub adult_count: u32,
}

/// Les attestations de l'établissement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttestationsView {
    pub image_rights: bool,
    pub third_party_rights: bool,
    pub republic_values: bool,
    pub rights_grant: bool,
    pub attested_by: String,
}

/// Les notes d'un juré.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JurorScores {
    pub juror_id: Uuid,
    pub scores: BTreeMap<String, u8>,
}

/// Une production.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub id: Uuid,
    pub contest_id: Uuid,
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    pub category: String,
    pub special_prizes: Vec<String>,
    pub title: String,
    pub group: GroupView,
    /// Adulte responsable ; absent pour un juré.
    pub responsible: Option<PersonView>,
    pub project_sheet: String,
    pub files: Vec<FileView>,
    /// Fichiers effacés : à la clôture (production non distinguée), ou avec les données
    /// de l'adulte responsable.
    pub files_deleted: bool,
    /// Pourquoi les fichiers ont été effacés, en clair.
    pub files_deleted_reason: Option<String>,
    pub attestations: Option<AttestationsView>,
    pub status: EntryStatus,
    /// Motif de non-recevabilité.
    pub inadmissible_reason: Option<String>,
    /// Déposée après la date limite, sous la prolongation accordée jusqu'à cet instant.
    pub submitted_under_extension_until: Option<DateTime<Utc>>,
    /// Jurés désignés (pôle seulement).
    pub jurors: Vec<Uuid>,
    /// Notes : toutes pour le pôle, les siennes pour un juré, aucune pour l'établissement.
    pub scores: Vec<JurorScores>,
    /// Note pondérée moyenne sur 20 (pôle seulement).
    pub score: Option<f64>,
    /// Distinctions (pour l'établissement, une fois le palmarès publié).
    pub awards: Vec<AwardKind>,
    /// Résultat du concours national d'une production sélectionnée : lauréate nationale
    /// (true) ou non primée (false) ; absent tant qu'il n'est pas enregistré.
    pub national_laureate: Option<bool>,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

/// Why an entry's files were deleted, as users read it.
fn deletion_reason(purpose: &str) -> String {
    match purpose {
        purge::NON_LAUREATE => {
            "Clôture de la campagne : la production n'a pas été distinguée.".to_owned()
        }
        purge::RESPONSIBLE_ERASED => {
            "Effacement des données de l'adulte responsable de la production.".to_owned()
        }
        other => format!("Règle de conservation « {other} »."),
    }
}

/// `GET /api/v1/entries/{id}`
#[utoipa::path(get, path = "/api/v1/entries/{id}", tag = "contests",
    operation_id = "contests_get_entry",
    summary = "Lire une production",
    description = "L'établissement, les référents de son département et le pôle la lisent \
                   avec l'adulte responsable (lecture nominative consignée) ; un juré à qui elle \
                   est attribuée, recevable, la lit sans lui, avec ses propres notes.",
    params(("id" = Uuid, Path, description = "Identifiant de la production")),
    responses(
        (status = 200, description = "La production", body = EntryView),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Production inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (_, entry, version, reader) = reachable(&state, &actor, id).await?;
    let contest = entry.contest_id.ok_or_else(Problem::not_found)?;
    let (edition, _) = edition(&state, contest).await?;
    let (Some(details), Some(uai), Some(department)) =
        (&entry.details, &entry.school_uai, &entry.department)
    else {
        return Err(Problem::not_found());
    };
    let responsible = match (&entry.responsible, reader) {
        (Some(person), Reader::Pole | Reader::School) => {
            let values = state
                .vault
                .unseal_all(&[&person.display_name, &person.email])
                .await
                .map_err(Problem::from)?;
            if person.email.person.0 != actor.user_id {
                state
                    .vault
                    .log_read(
                        &actor.metadata(NAME),
                        person.email.person,
                        "/api/v1/entries/{id}",
                        "contests",
                    )
                    .await
                    .map_err(Problem::from)?;
            }
            let mut values = values.into_iter().map(|v| v.to_string());
            Some(PersonView {
                display_name: values.next().unwrap_or_default(),
                email: values.next().unwrap_or_default(),
            })
        }
        _ => None,
    };
    let scores = entry
        .scores
        .iter()
        .filter(|(juror, _)| match reader {
            Reader::Pole => true,
            Reader::Juror => **juror == actor.user_id,
            Reader::School => false,
        })
        .map(|(juror, marks)| JurorScores {
            juror_id: *juror,
            scores: marks.clone(),
        })
        .collect();
    let awards = if reader == Reader::Pole || edition.published() {
        edition.awards_of(id)
    } else {
        Vec::new()
    };
    let status = entry.standing(id, &edition);
    Ok(axum::Json(EntryView {
        id,
        contest_id: contest,
        school_uai: uai.clone(),
        department: department.clone(),
        category: details.category.clone(),
        special_prizes: details.special_prizes.clone(),
        title: details.title.clone(),
        group: GroupView {
            label: details.group.label.clone(),
            levels: details.group.levels.clone(),
            pupil_count: details.group.pupil_count,
            adult_count: details.group.adult_count,
        },
        responsible,
        project_sheet: details.project_sheet.clone(),
        files: entry.files.iter().map(Into::into).collect(),
        files_deleted: entry.files_deleted,
        files_deleted_reason: entry.files_deleted_for.as_deref().map(deletion_reason),
        attestations: entry.attestations.as_ref().map(|a| AttestationsView {
            image_rights: a.image_rights,
            third_party_rights: a.third_party_rights,
            republic_values: a.republic_values,
            rights_grant: a.rights_grant,
            attested_by: a.attested_by.clone(),
        }),
        status,
        inadmissible_reason: entry.inadmissible_reason.clone(),
        submitted_under_extension_until: entry.submitted_late,
        jurors: if reader == Reader::Pole {
            entry.jurors.clone()
        } else {
            Vec::new()
        },
        scores,
        score: (reader == Reader::Pole)
            .then(|| score(&edition.criteria, &entry))
            .flatten(),
        awards,
        national_laureate: edition.national_result(id),
        version,
    }))
}

/// Quelles productions lister.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntryFilter {
    /// UAI de l'établissement.
    #[param(example = "0310001H")]
    pub school_uai: Option<String>,
    /// Département.
    #[param(example = "31")]
    pub department: Option<String>,
    /// Catégorie.
    pub category: Option<String>,
    /// Nombre d'éléments par page : 100 par défaut, 500 au plus.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Nombre d'éléments à sauter (pagination).
    pub offset: Option<u32>,
}

/// Une production dans une liste.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntrySummary {
    pub id: Uuid,
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    pub category: String,
    pub title: String,
    pub status: EntryStatus,
    pub pupil_count: u32,
    pub files: usize,
}

/// Une page de productions, par département, établissement et titre.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryList {
    pub items: Vec<EntrySummary>,
    pub total: usize,
}

/// `GET /api/v1/contests/{id}/entries`
#[utoipa::path(get, path = "/api/v1/contests/{id}/entries", tag = "contests",
    operation_id = "contests_list_entries",
    summary = "Lister les productions d'une édition",
    description = "Dans le périmètre de l'utilisateur : l'établissement, les siennes ; le \
                   référent, celles de son département ; le pôle, toutes ; un juré, celles qui \
                   lui sont attribuées et recevables. Paginée : 100 par page par défaut, 500 au \
                   plus (limit, offset).",
    params(("id" = Uuid, Path, description = "Identifiant de l'édition"), EntryFilter),
    responses(
        (status = 200, description = "Les productions", body = EntryList),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Édition inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "UAI ou département mal formé", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(contest): Path<Uuid>,
    Query(filter): Query<EntryFilter>,
) -> Result<impl IntoResponse, Problem> {
    let (edition, _) = edition(&state, contest).await?;
    let school = filter
        .school_uai
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| uai("school_uai", s))
        .transpose()?;
    let department = filter
        .department
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            state.access.academy.department(d).map_err(|e| {
                Rejection::invalid(
                    "invalid-department",
                    "department",
                    pharos_decider::sentence(&e.0),
                )
            })
        })
        .transpose()?;
    let school_side = may_list(&actor, Action::EnterContest);
    let juror = actor.holds(Role::Juror);
    if school_side.is_err() && !juror {
        school_side?;
    }
    if let Some(department) = &department
        && !juror
    {
        actor.may(Action::EnterContest, Subject::Department(department))?;
    }
    let mut items: Vec<EntrySummary> = index.read(|index| {
        index
            .of_contest(contest)
            .filter(|(_, e)| {
                school
                    .as_ref()
                    .is_none_or(|s| e.school_uai.as_ref() == Some(s))
            })
            .filter(|(_, e)| {
                department
                    .as_ref()
                    .is_none_or(|d| e.department.as_ref() == Some(d))
            })
            .filter(|(_, e)| {
                filter
                    .category
                    .as_deref()
                    .is_none_or(|c| e.details.as_ref().is_some_and(|d| d.category == c.trim()))
            })
            .filter(|(_, e)| reader(&actor, e).is_ok())
            .filter_map(|(id, e)| {
                let details = e.details.as_ref()?;
                Some(EntrySummary {
                    id,
                    school_uai: e.school_uai.clone()?,
                    department: e.department.clone()?,
                    category: details.category.clone(),
                    title: details.title.clone(),
                    status: e.standing(id, &edition),
                    pupil_count: details.group.pupil_count,
                    files: e.files.len(),
                })
            })
            .collect()
    });
    items.sort_by(|a, b| {
        (&a.department, &a.school_uai, &a.title, a.id).cmp(&(
            &b.department,
            &b.school_uai,
            &b.title,
            b.id,
        ))
    });
    let (items, total) = page(items, filter.limit, filter.offset);
    Ok(axum::Json(EntryList { items, total }))
}
