//! The « Non au harcèlement » contest, for a school: the open edition of the school year
//! and its deadline, the school's entries, the draft form, and an entry's page (its
//! files; its attestations; its submission).
//!
//! The file form works without JavaScript: a multipart form posted to `…/fichier`, which
//! checks the CSRF token and forwards the file to the API as it arrives (bounded by the
//! edition's limit, never held whole in memory). When JavaScript runs, `upload.js`
//! intercepts the same form and sends the file straight to the API with a progress bar.
//!
//! | page | who |
//! |---|---|
//! | `GET /concours` | a school account |
//! | `GET`, `POST /concours/{contest_id}/participations/nouvelle` | a school account |
//! | `GET /concours/participations/{id}`; `POST …/fichier`, `…/attestations`, `…/depot` | a school account |
//!
//! Everything is read from the REST API rather than the read model: a page shown right
//! after a command (Post/Redirect/Get) must show it, and the commands answer once the
//! entry is stored, before the projector has caught up.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Europe::Paris;
use futures::SinkExt;
use futures::channel::mpsc;
use minijinja::value::Serde;
use pharos_events::contest::EntryStatus;
use pharos_events::phare::SchoolYear;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Pages;
use crate::api::ApiError;
use crate::common::{MONTHS, WEEKDAYS, encode};
use crate::contest_api::{Edition, EditionList, SummaryList};
use crate::home::Me;
use crate::session::{Session, to_login};

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/concours", get(list))
        .route(
            "/concours/{contest_id}/participations/nouvelle",
            get(new_form).post(create),
        )
        .route("/concours/participations/{id}", get(entry_page))
        // The body is bounded by the edition's limit, checked by the handler (the default
        // limit is that of the other forms).
        .route(
            "/concours/participations/{id}/fichier",
            post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/concours/participations/{id}/attestations", post(attest))
        .route("/concours/participations/{id}/depot", post(submit))
}

/// The class levels a group may have, by stage: as the API spells them, as people read them.
type Levels = &'static [(&'static str, &'static str)];
const LEVELS: [(&str, Levels); 3] = [
    (
        "école",
        &[
            ("ps", "PS"),
            ("ms", "MS"),
            ("gs", "GS"),
            ("cp", "CP"),
            ("ce1", "CE1"),
            ("ce2", "CE2"),
            ("cm1", "CM1"),
            ("cm2", "CM2"),
        ],
    ),
    (
        "collège",
        &[("6e", "6e"), ("5e", "5e"), ("4e", "4e"), ("3e", "3e")],
    ),
    (
        "lycée",
        &[
            ("2nde", "2nde"),
            ("1re", "1re"),
            ("tle", "Tle"),
            ("cap", "CAP"),
        ],
    ),
];

/// `2027-02-12T22:59Z` → `vendredi 12 février 2027 à 23 h 59`.
fn paris_label(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Paris);
    let day = WEEKDAYS[local.weekday().num_days_from_monday() as usize];
    let month = MONTHS[local.month0() as usize];
    format!(
        "{day} {} {month} {} à {} h {}",
        local.day(),
        local.year(),
        local.format("%H"),
        local.format("%M")
    )
}

/// `100000` → `100 Ko`; `52428800` → `52,4 Mo` (decimal units, as file managers show).
fn size_label(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        let tenths = bytes / 100_000;
        let text = if tenths.is_multiple_of(10) {
            format!("{}", tenths / 10)
        } else {
            format!("{},{}", tenths / 10, tenths % 10)
        };
        format!("{text}\u{a0}Mo")
    } else if bytes >= 1000 {
        format!("{}\u{a0}Ko", bytes / 1000)
    } else {
        format!("{bytes}\u{a0}octets")
    }
}

fn mime_of(file_type: &str) -> Option<(&'static str, &'static str)> {
    Some(match file_type {
        "png" => ("image/png", ".png"),
        "jpeg" => ("image/jpeg", ".jpg,.jpeg"),
        "pdf" => ("application/pdf", ".pdf"),
        "mp4" => ("video/mp4", ".mp4"),
        "webm" => ("video/webm", ".webm"),
        _ => return None,
    })
}

fn status_label(status: EntryStatus) -> &'static str {
    status.label()
}

/// The DSFR badge of a status.
fn status_badge(status: EntryStatus) -> &'static str {
    match status {
        EntryStatus::Draft => "fr-badge--info",
        EntryStatus::Withdrawn | EntryStatus::Archived => "",
        EntryStatus::Inadmissible | EntryStatus::NotSelected | EntryStatus::NotAwarded => {
            "fr-badge--warning"
        }
        _ => "fr-badge--success",
    }
}

// ----------------------------------------------------------------------------------------
// What the API answers.

#[derive(Debug, Clone, Deserialize, Serialize)]
struct GroupView {
    label: String,
    levels: Vec<String>,
    pupil_count: u32,
    adult_count: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct PersonView {
    display_name: String,
    email: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct FileView {
    file_id: Uuid,
    bytes: u64,
    file_type: String,
    duration_seconds: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct AttestationsView {
    image_rights: bool,
    third_party_rights: bool,
    republic_values: bool,
    rights_grant: bool,
    attested_by: String,
}

#[derive(Debug, Clone, Deserialize)]
struct EntryView {
    id: Uuid,
    contest_id: Uuid,
    category: String,
    title: String,
    group: GroupView,
    responsible: Option<PersonView>,
    project_sheet: String,
    files: Vec<FileView>,
    files_deleted: bool,
    files_deleted_reason: Option<String>,
    attestations: Option<AttestationsView>,
    status: EntryStatus,
    inadmissible_reason: Option<String>,
    submitted_under_extension_until: Option<DateTime<Utc>>,
}

impl Edition {
    /// The school's deadline: its extension when the pole granted a later one.
    fn deadline_for(&self, uai: &str) -> (DateTime<Utc>, bool) {
        match self
            .extensions
            .iter()
            .filter(|e| e.school_uai == uai)
            .map(|e| e.until)
            .max()
        {
            Some(until) if until > self.submission_deadline => (until, true),
            _ => (self.submission_deadline, false),
        }
    }
}

/// Where an edition stands for the school, as the pages say it.
#[derive(Debug, Serialize)]
struct Window {
    /// `before` (not open yet), `open`, `passed`.
    state: &'static str,
    opens: String,
    deadline: String,
    /// « dans 12 jours », « aujourd'hui ».
    remaining: String,
    extended: bool,
}

fn window(edition: &Edition, uai: &str, now: DateTime<Utc>) -> Window {
    let (deadline, extended) = edition.deadline_for(uai);
    let days = (deadline.with_timezone(&Paris).date_naive() - pharos_domain::today_in_france(now))
        .num_days();
    let remaining = match days {
        ..=0 => "aujourd'hui".to_owned(),
        1 => "dans 1 jour".to_owned(),
        n => format!("dans {n} jours"),
    };
    let state = if now < edition.opens_at {
        "before"
    } else if now > deadline {
        "passed"
    } else {
        "open"
    };
    Window {
        state,
        opens: paris_label(edition.opens_at),
        deadline: paris_label(deadline),
        remaining,
        extended,
    }
}

// ----------------------------------------------------------------------------------------
// Who asks.

/// The signed-in school: its `me` and its UAI; else the page to show instead.
async fn school(
    pages: &Pages,
    jar: &CookieJar,
    here: &str,
) -> Result<(Session, Me, String), Response> {
    let (session, me) = crate::common::signed_in(pages, jar, here).await?;
    match (me.role.as_str(), me.scope.clone()) {
        ("school", Some(uai)) => Ok((session, me, uai)),
        _ => Err(pages.templates.error(
            StatusCode::FORBIDDEN,
            "Pages réservées aux établissements",
            "Les participations au concours « Non au harcèlement » se déposent depuis le \
             compte de l'établissement. Revenez à l'accueil pour les pages de votre espace.",
        )),
    }
}

fn forged(pages: &Pages) -> Response {
    pages.templates.error(
        StatusCode::FORBIDDEN,
        "Formulaire refusé",
        "Ce formulaire ne vient pas de Pharos ou a expiré. Revenez à la page, puis \
         envoyez-le à nouveau.",
    )
}

// ----------------------------------------------------------------------------------------
// `GET /concours`

#[derive(Debug, Serialize)]
struct EntryRow {
    id: Uuid,
    title: String,
    category: String,
    status: &'static str,
    badge: &'static str,
    pupil_count: u32,
    files: usize,
}

#[derive(Debug, Serialize)]
struct EditionBlock {
    id: Uuid,
    edition: u32,
    school_year: String,
    window: Window,
    entries: Vec<EntryRow>,
}

pub async fn list(State(pages): State<Pages>, jar: CookieJar) -> Response {
    let here = "/concours";
    let (session, me, uai) = match school(&pages, &jar, here).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let now = pages.clock.now();
    let year = SchoolYear::containing(pharos_domain::today_in_france(now)).to_string();
    let editions: EditionList = match pages
        .api
        .get_as(
            &session.token,
            &format!("/api/v1/contests?school_year={year}"),
        )
        .await
    {
        Ok(list) => list,
        Err(error) => return pages.templates.api_error(error, here),
    };
    let mut blocks = Vec::new();
    for edition in editions.items.into_iter().filter(|e| !e.closed) {
        let entries: SummaryList = match pages
            .api
            .get_as(
                &session.token,
                &format!("/api/v1/contests/{}/entries?school_uai={uai}", edition.id),
            )
            .await
        {
            Ok(list) => list,
            Err(error) => return pages.templates.api_error(error, here),
        };
        blocks.push(EditionBlock {
            id: edition.id,
            edition: edition.edition,
            school_year: edition.school_year.clone(),
            window: window(&edition, &uai, now),
            entries: entries
                .items
                .into_iter()
                .map(|e| EntryRow {
                    id: e.id,
                    category: edition.category_label(&e.category),
                    title: e.title,
                    status: status_label(e.status),
                    badge: status_badge(e.status),
                    pupil_count: e.pupil_count,
                    files: e.files,
                })
                .collect(),
        });
    }
    pages.templates.render(
        StatusCode::OK,
        "contest.html",
        minijinja::context! {
            title => "Concours « Non au harcèlement »",
            me => Serde(&me),
            csrf => session.csrf(),
            school_year => year,
            editions => Serde(&blocks),
        },
    )
}

// ----------------------------------------------------------------------------------------
// The draft form.

/// The form as typed, shown again with its errors.
#[derive(Debug, Default, Serialize)]
struct Draft {
    category: String,
    title: String,
    group_label: String,
    levels: Vec<String>,
    pupil_count: String,
    adult_count: String,
    responsible_name: String,
    responsible_email: String,
    project_sheet: String,
}

impl Draft {
    fn from_pairs(pairs: &[(String, String)]) -> (Self, String) {
        let mut draft = Self::default();
        let mut csrf = String::new();
        for (key, value) in pairs {
            let value = value.clone();
            match key.as_str() {
                "csrf" => csrf = value,
                "category" => draft.category = value,
                "title" => draft.title = value,
                "group_label" => draft.group_label = value,
                "levels" => draft.levels.push(value),
                "pupil_count" => draft.pupil_count = value,
                "adult_count" => draft.adult_count = value,
                "responsible_name" => draft.responsible_name = value,
                "responsible_email" => draft.responsible_email = value,
                "project_sheet" => draft.project_sheet = value,
                _ => {}
            }
        }
        (draft, csrf)
    }
}

/// The form's field of an API field name.
fn form_field(api_field: &str) -> &str {
    match api_field {
        "group.label" => "group_label",
        "group.levels" => "levels",
        "group.pupil_count" => "pupil_count",
        "group.adult_count" => "adult_count",
        "responsible.display_name" => "responsible_name",
        "responsible.email" => "responsible_email",
        other => other,
    }
}

fn count(text: &str, field: &str, errors: &mut HashMap<String, String>, min: u32) -> u32 {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= min => n,
        _ => {
            errors.insert(
                field.to_owned(),
                if min > 0 {
                    format!("Saisissez un nombre entier, au moins {min}.")
                } else {
                    "Saisissez un nombre entier (0 si aucun).".to_owned()
                },
            );
            0
        }
    }
}

async fn edition_of(pages: &Pages, session: &Session, id: Uuid) -> Result<Edition, ApiError> {
    pages
        .api
        .get_as(&session.token, &format!("/api/v1/contests/{id}"))
        .await
}

#[allow(clippy::too_many_arguments)] // the page and everything it shows again
fn draft_page(
    pages: &Pages,
    status: StatusCode,
    session: &Session,
    me: &Me,
    edition: &Edition,
    draft: &Draft,
    errors: &HashMap<String, String>,
    detail: Option<String>,
) -> Response {
    pages.templates.render(
        status,
        "contest_new.html",
        minijinja::context! {
            title => "Nouvelle participation",
            me => Serde(me),
            csrf => session.csrf(),
            contest_id => edition.id.to_string(),
            edition => edition.edition,
            school_year => &edition.school_year,
            categories => Serde(&edition.categories),
            levels => LEVELS.iter().map(|(stage, levels)| (*stage, levels.to_vec())).collect::<Vec<_>>(),
            draft => Serde(draft),
            errors => Serde(errors),
            detail,
        },
    )
}

pub async fn new_form(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(contest_id): Path<Uuid>,
) -> Response {
    let here = format!("/concours/{contest_id}/participations/nouvelle");
    let (session, me, _) = match school(&pages, &jar, &here).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let edition = match edition_of(&pages, &session, contest_id).await {
        Ok(edition) => edition,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let draft = Draft {
        adult_count: "1".into(),
        ..Draft::default()
    };
    draft_page(
        &pages,
        StatusCode::OK,
        &session,
        &me,
        &edition,
        &draft,
        &HashMap::new(),
        None,
    )
}

pub async fn create(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(contest_id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let here = format!("/concours/{contest_id}/participations/nouvelle");
    let (session, me, uai) = match school(&pages, &jar, &here).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let (draft, csrf) = Draft::from_pairs(&pairs);
    if !session.accepts(&csrf) {
        return forged(&pages);
    }
    let edition = match edition_of(&pages, &session, contest_id).await {
        Ok(edition) => edition,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let mut errors = HashMap::new();
    let pupils = count(&draft.pupil_count, "pupil_count", &mut errors, 2);
    let adults = count(&draft.adult_count, "adult_count", &mut errors, 0);
    if !errors.is_empty() {
        return draft_page(
            &pages,
            StatusCode::UNPROCESSABLE_ENTITY,
            &session,
            &me,
            &edition,
            &draft,
            &errors,
            Some("Certains champs sont à corriger : rien n'a été enregistré.".into()),
        );
    }
    let body = json!({
        "school_uai": uai,
        "category": draft.category,
        "title": draft.title.trim(),
        "group": {
            "label": draft.group_label.trim(),
            "levels": draft.levels,
            "pupil_count": pupils,
            "adult_count": adults,
        },
        "responsible": {
            "display_name": draft.responsible_name.trim(),
            "email": draft.responsible_email.trim(),
        },
        "project_sheet": draft.project_sheet,
    });
    let path = format!("/api/v1/contests/{contest_id}/entries");
    match pages
        .api
        .command(&session.token, Method::POST, &path, &body)
        .await
    {
        Ok(created) => match created["id"].as_str() {
            Some(id) => {
                Redirect::to(&format!("/concours/participations/{id}?cree=1")).into_response()
            }
            None => pages.templates.api_error(ApiError::Unavailable, &here),
        },
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() => {
            let errors = fields
                .into_iter()
                .map(|(field, message)| (form_field(&field).to_owned(), message))
                .collect();
            draft_page(
                &pages,
                status,
                &session,
                &me,
                &edition,
                &draft,
                &errors,
                Some(detail),
            )
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

// ----------------------------------------------------------------------------------------
// An entry's page.

#[derive(Debug, Default, Deserialize)]
pub struct Flags {
    cree: Option<String>,
    fichier: Option<String>,
    atteste: Option<String>,
    deposee: Option<String>,
}

/// A refused form of the entry's page, shown on it.
#[derive(Debug, Default, Serialize)]
struct Refusal {
    /// `upload`, `attestations` or `submit`: which form it was.
    form: &'static str,
    detail: String,
    errors: HashMap<String, String>,
}

#[derive(Debug, Serialize)]
struct FileRow {
    file_id: Uuid,
    kind: String,
    size: String,
    duration: Option<String>,
}

async fn render_entry(
    pages: &Pages,
    jar: &CookieJar,
    id: Uuid,
    status: StatusCode,
    success: Option<&str>,
    refusal: Option<Refusal>,
    attested: Option<AttestationsView>,
) -> Response {
    let here = format!("/concours/participations/{id}");
    let (session, me, uai) = match school(pages, jar, &here).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let entry: EntryView = match pages
        .api
        .get_as(&session.token, &format!("/api/v1/entries/{id}"))
        .await
    {
        Ok(entry) => entry,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let edition = match edition_of(pages, &session, entry.contest_id).await {
        Ok(edition) => edition,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let now = pages.clock.now();
    let accept: Vec<String> = edition
        .rules
        .file_types
        .iter()
        .filter_map(|t| mime_of(t))
        .flat_map(|(mime, ext)| [mime.to_owned(), ext.to_owned()])
        .collect();
    let types: Vec<String> = edition
        .rules
        .file_types
        .iter()
        .map(|t| t.to_uppercase())
        .collect();
    let files: Vec<FileRow> = entry
        .files
        .iter()
        .map(|f| FileRow {
            file_id: f.file_id,
            kind: f.file_type.to_uppercase(),
            size: size_label(f.bytes),
            duration: f.duration_seconds.map(|s| format!("{s}\u{a0}s")),
        })
        .collect();
    let attestations = attested
        .or_else(|| entry.attestations.clone())
        .unwrap_or_default();
    pages.templates.render(
        status,
        "contest_entry.html",
        minijinja::context! {
            title => format!("Participation « {} »", entry.title),
            me => Serde(&me),
            csrf => session.csrf(),
            id => entry.id.to_string(),
            entry_title => &entry.title,
            category => edition.category_label(&entry.category),
            group => Serde(&entry.group),
            responsible => Serde(&entry.responsible),
            project_sheet => &entry.project_sheet,
            status_label => status_label(entry.status),
            badge => status_badge(entry.status),
            draft => entry.status == EntryStatus::Draft,
            inadmissible_reason => &entry.inadmissible_reason,
            late_until => entry.submitted_under_extension_until.map(paris_label),
            files => Serde(&files),
            files_deleted => entry.files_deleted,
            files_deleted_reason => &entry.files_deleted_reason,
            attestations => Serde(&attestations),
            attested => entry.attestations.is_some(),
            accept => accept.join(","),
            types => types.join(", "),
            max_size => size_label(edition.rules.max_file_bytes),
            max_bytes => edition.rules.max_file_bytes,
            max_video => edition.rules.max_video_seconds,
            window => Serde(&window(&edition, &uai, now)),
            edition => edition.edition,
            success,
            refusal => Serde(&refusal),
        },
    )
}

pub async fn entry_page(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Query(flags): Query<Flags>,
) -> Response {
    let success = if flags.cree.is_some() {
        Some(
            "Participation créée. Déposez maintenant le fichier de la production, attestez les droits, puis déposez la participation.",
        )
    } else if flags.fichier.is_some() {
        Some("Fichier déposé.")
    } else if flags.atteste.is_some() {
        Some("Attestations enregistrées.")
    } else if flags.deposee.is_some() {
        Some(
            "Participation déposée : elle ne se modifie plus. Le pôle académique en examinera la recevabilité.",
        )
    } else {
        None
    };
    render_entry(&pages, &jar, id, StatusCode::OK, success, None, None).await
}

// ----------------------------------------------------------------------------------------
// `POST /concours/participations/{id}/fichier`: the file form without JavaScript.

/// What the multipart form adds to the file itself: its boundaries, its parts' headers
/// and the CSRF token.
const MULTIPART_SLACK: u64 = 64 * 1024;

/// The longest CSRF token read from the form.
const CSRF_MAX: usize = 256;

/// What is still read (and dropped) of a form refused before its end, so that the
/// browser reads the answer rather than a connection cut short; beyond, it is left.
const DRAIN_MAX: u64 = 4 * 1024 * 1024;

const NO_FILE: &str = "Choisissez d'abord un fichier.";

const INTERRUPTED: &str = "Le fichier n'a pas été reçu en entier : rien n'a été conservé ; \
                           recommencez.";

/// How the forwarding of a file ended, as the pages saw it.
enum Pumped {
    /// Every byte forwarded.
    Done,
    /// Over the edition's limit: the forwarding was cut.
    TooLarge,
    /// The API stopped reading (it answered before the end: a refusal).
    Stopped,
    /// The browser's body broke off.
    Broken,
}

/// The text of a short field (the CSRF token), at most `max` bytes; else `None`.
async fn short_text(mut field: Field<'_>, max: usize) -> Option<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.ok()? {
        if bytes.len() + chunk.len() > max {
            return None;
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).ok()
}

/// Forwards the file field to `sender`, the body of the API's request, chunk by chunk;
/// beyond `limit` bytes, the request is cut. What the API no longer reads is discarded,
/// up to [`DRAIN_MAX`].
async fn pump(
    mut field: Field<'_>,
    mut sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    limit: u64,
) -> Pumped {
    let mut read: u64 = 0;
    let mut ended: Option<Pumped> = None;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return ended.unwrap_or(Pumped::Done),
            Err(error) => {
                tracing::info!(%error, "contest file form broken off");
                let _ = sender
                    .send(Err(std::io::Error::other("the form's body broke off")))
                    .await;
                return ended.unwrap_or(Pumped::Broken);
            }
        };
        read = read.saturating_add(chunk.len() as u64);
        if let Some(outcome) = ended {
            if read > limit.saturating_add(DRAIN_MAX) {
                return outcome;
            }
            ended = Some(outcome);
        } else if read > limit {
            let _ = sender
                .send(Err(std::io::Error::other("file over the edition's limit")))
                .await;
            sender.close_channel();
            ended = Some(Pumped::TooLarge);
        } else if sender.send(Ok(chunk)).await.is_err() {
            ended = Some(Pumped::Stopped);
        }
    }
}

/// Reads and drops what is left of the form, up to [`DRAIN_MAX`] bytes: the browser then
/// reads the refusal rather than a connection cut short.
async fn discard(multipart: &mut Multipart) {
    let mut read: u64 = 0;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            read = read.saturating_add(chunk.len() as u64);
            if read > DRAIN_MAX {
                return;
            }
        }
    }
}

/// The entry's page with the file form's refusal next to its field.
async fn upload_refused(
    pages: &Pages,
    jar: &CookieJar,
    id: Uuid,
    status: StatusCode,
    message: String,
) -> Response {
    let refusal = Refusal {
        form: "upload",
        detail: "Le fichier n'a pas été déposé.".to_owned(),
        errors: HashMap::from([("fichier".to_owned(), message)]),
    };
    render_entry(pages, jar, id, status, None, Some(refusal), None).await
}

pub async fn upload(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let here = format!("/concours/participations/{id}");
    let Some(session) = Session::of(&jar) else {
        return to_login(&here);
    };
    let Ok(mut multipart) = multipart else {
        return upload_refused(
            &pages,
            &jar,
            id,
            StatusCode::BAD_REQUEST,
            "Le fichier n'a pas été reçu : envoyez-le depuis le formulaire de la participation."
                .to_owned(),
        )
        .await;
    };
    // The token first (the form puts it before the file): nothing more is read without it.
    let csrf = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => short_text(field, CSRF_MAX).await,
        _ => None,
    };
    if !csrf.is_some_and(|csrf| session.accepts(&csrf)) {
        return forged(&pages);
    }
    // The API's limit, the edition's: a longer body is refused before it is read.
    let entry: EntryView = match pages
        .api
        .get_as(&session.token, &format!("/api/v1/entries/{id}"))
        .await
    {
        Ok(entry) => entry,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let edition = match edition_of(&pages, &session, entry.contest_id).await {
        Ok(edition) => edition,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let limit = edition.rules.max_file_bytes;
    let too_large = || {
        format!(
            "Le fichier dépasse la taille maximale du règlement ({}) : rien n'a été conservé. \
             Choisissez un fichier plus léger.",
            size_label(limit)
        )
    };
    // A browser always says how long its form is; without it the body is not bounded.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        None => {
            return upload_refused(
                &pages,
                &jar,
                id,
                StatusCode::LENGTH_REQUIRED,
                "La taille de l'envoi n'est pas indiquée : envoyez le fichier depuis le \
                 formulaire de la participation."
                    .to_owned(),
            )
            .await;
        }
        Some(length) if length > limit.saturating_add(MULTIPART_SLACK) => {
            discard(&mut multipart).await;
            return upload_refused(&pages, &jar, id, StatusCode::PAYLOAD_TOO_LARGE, too_large())
                .await;
        }
        Some(_) => {}
    }
    let field = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("fichier") => field,
        Ok(_) => {
            return upload_refused(
                &pages,
                &jar,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                NO_FILE.to_owned(),
            )
            .await;
        }
        Err(error) => {
            tracing::info!(%error, "contest file form unreadable");
            return upload_refused(
                &pages,
                &jar,
                id,
                StatusCode::BAD_REQUEST,
                INTERRUPTED.to_owned(),
            )
            .await;
        }
    };
    // No file chosen: the browser sends the part with an empty name.
    let name = field.file_name().unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        drop(field);
        discard(&mut multipart).await;
        return upload_refused(
            &pages,
            &jar,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            NO_FILE.to_owned(),
        )
        .await;
    }
    let content_type = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_owned();
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let path = format!("/api/v1/entries/{id}/files?name={}", encode(&name));
    let forwarded = pages.api.upload(
        &session.token,
        &path,
        &content_type,
        reqwest::Body::wrap_stream(receiver),
    );
    let (answer, pumped) = futures::future::join(forwarded, pump(field, sender, limit)).await;
    match (answer, pumped) {
        (Ok(_), _) => Redirect::to(&format!("{here}?fichier=1")).into_response(),
        (_, Pumped::TooLarge) => {
            upload_refused(&pages, &jar, id, StatusCode::PAYLOAD_TOO_LARGE, too_large()).await
        }
        (
            Err(ApiError::Refused {
                status,
                detail,
                fields,
            }),
            _,
        ) if status.is_client_error()
            && status != StatusCode::FORBIDDEN
            && status != StatusCode::NOT_FOUND =>
        {
            // The field at fault is the file (its content, its name, its type): its
            // message, else the problem's.
            let message = fields
                .into_iter()
                .find(|(field, _)| matches!(field.as_str(), "file" | "name" | "Content-Type"))
                .map_or(detail, |(_, message)| message);
            upload_refused(&pages, &jar, id, status, message).await
        }
        (_, Pumped::Broken) => {
            upload_refused(
                &pages,
                &jar,
                id,
                StatusCode::BAD_REQUEST,
                INTERRUPTED.to_owned(),
            )
            .await
        }
        (Err(error), _) => pages.templates.api_error(error, &here),
    }
}

#[derive(Debug, Deserialize)]
pub struct AttestForm {
    #[serde(default)]
    csrf: String,
    image_rights: Option<String>,
    third_party_rights: Option<String>,
    republic_values: Option<String>,
    rights_grant: Option<String>,
    #[serde(default)]
    attested_by: String,
}

pub async fn attest(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Form(form): Form<AttestForm>,
) -> Response {
    let here = format!("/concours/participations/{id}");
    let Some(session) = Session::of(&jar) else {
        return to_login(&here);
    };
    if !session.accepts(&form.csrf) {
        return forged(&pages);
    }
    let typed = AttestationsView {
        image_rights: form.image_rights.is_some(),
        third_party_rights: form.third_party_rights.is_some(),
        republic_values: form.republic_values.is_some(),
        rights_grant: form.rights_grant.is_some(),
        attested_by: form.attested_by.trim().to_owned(),
    };
    let path = format!("/api/v1/entries/{id}/attestations");
    let body = serde_json::to_value(&typed).unwrap_or(Value::Null);
    match pages
        .api
        .command(&session.token, Method::POST, &path, &body)
        .await
    {
        Ok(_) => Redirect::to(&format!("{here}?atteste=1")).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() => {
            let refusal = Refusal {
                form: "attestations",
                detail,
                errors: fields.into_iter().collect(),
            };
            render_entry(&pages, &jar, id, status, None, Some(refusal), Some(typed)).await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn submit(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let here = format!("/concours/participations/{id}");
    let Some(session) = Session::of(&jar) else {
        return to_login(&here);
    };
    if !session.accepts(&form.csrf) {
        return forged(&pages);
    }
    let path = format!("/api/v1/entries/{id}/submit");
    match pages
        .api
        .command(&session.token, Method::POST, &path, &Value::Null)
        .await
    {
        Ok(_) => Redirect::to(&format!("{here}?deposee=1")).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() && status != StatusCode::FORBIDDEN => {
            let refusal = Refusal {
                form: "submit",
                detail,
                errors: fields.into_iter().collect(),
            };
            render_entry(&pages, &jar, id, status, None, Some(refusal), None).await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_sizes_read_the_french_way() {
        let deadline = DateTime::parse_from_rfc3339("2027-02-12T22:59:00Z")
            .unwrap_or_default()
            .with_timezone(&Utc);
        assert_eq!(paris_label(deadline), "vendredi 12 février 2027 à 23 h 59");
        assert_eq!(size_label(100_000), "100\u{a0}Ko");
        assert_eq!(size_label(52_400_000), "52,4\u{a0}Mo");
        assert_eq!(size_label(2_000_000), "2\u{a0}Mo");
        assert_eq!(size_label(12), "12\u{a0}octets");
    }
}
