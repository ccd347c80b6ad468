//! `GET /formations`: the trainings in scope with their sessions, for the department
//! referents, the pole and the trainers; `GET /formations/sessions/{id}`: one session, its
//! slots, trainers, registrations and history, with the steps its managers may take
//! (open, close, hold, lock attendance, cancel with a reason);
//! `GET`, `POST /formations/sessions/{id}/presences`: the attendance sheet, one slot
//! saved at a time; `POST /formations/sessions/{id}/presences/corrections`: once the
//! attendance is locked, one registrant's slot corrected with a reason;
//! `GET /formations/sessions/{id}/emargement`: the printable sign-in sheet;
//! `POST /formations/sessions/{id}/inscriptions`: a person registered (confirmed, or
//! waitlisted when the session is full); `GET`, `POST
//! /formations/sessions/{id}/inscriptions/{registration}/retrait`: a registration's
//! withdrawal, confirmed on its own page (no script), the waitlist promoted in order.
//!
//! The list is the read model's `trainings` and `sessions` queries for the pole, the
//! referents and the schools (a school may narrow them to the sessions where its own staff
//! are registered: `registeredFrom`); a trainer's sessions are absent from the read model (a trainer's scope is
//! the sessions they give, which it does not follow), so a trainer's list is the API's
//! planning (`GET /api/v1/trainings`, `…/{id}/sessions`). A session is the API's
//! `GET /api/v1/sessions/{id}` (its slots, trainers and registrations, as of the last
//! command: the page reads it right after a step), its history the read model's. All are
//! asked with the user's token: the API decides what the user sees and may do.

use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use minijinja::value::Serde;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Pages;
use crate::api::ApiError;
use crate::common::{
    MONTHS, WEEKDAYS, asked_year, day_number, department_label, encode, history, is_pole, paris,
    recent_years, school_names, signed_in_as,
};
use crate::home::Me;
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/formations", get(list))
        .route("/formations/sessions/{id}", get(detail))
        .route(
            "/formations/sessions/{id}/presences",
            get(attendance).post(record_attendance),
        )
        .route(
            "/formations/sessions/{id}/presences/corrections",
            post(correct_attendance),
        )
        .route("/formations/sessions/{id}/emargement", get(sign_in_sheet))
        .route(
            "/formations/sessions/{id}/inscriptions",
            post(register_person),
        )
        .route(
            "/formations/sessions/{id}/inscriptions/{registration}/retrait",
            get(withdrawal).post(withdraw),
        )
        .route("/formations/sessions/{id}/{step}", post(take_step))
}

/// Trainings per page (each with up to [`SESSIONS_SHOWN`] sessions: the read model's cost
/// limit counts both).
const PAGE_SIZE: i64 = 10;
const SESSIONS_SHOWN: i64 = 20;

/// The longest cancellation reason the page sends.
const REASON_MAX: usize = 2000;

/// The states of a session: the URL's French word, the API's code, the label, the DSFR
/// badge variant.
const STATUSES: [(&str, &str, &str, &str); 7] = [
    ("programmee", "planned", "Programmée", "info"),
    ("ouverte", "open", "Inscriptions ouvertes", "success"),
    ("close", "closed", "Inscriptions closes", "new"),
    ("tenue", "held", "Tenue", "info"),
    (
        "verrouillee",
        "attendance_locked",
        "Présences verrouillées",
        "",
    ),
    ("archivee", "archived", "Archivée", ""),
    ("annulee", "cancelled", "Annulée", "error"),
];

fn status_label(code: &str) -> String {
    STATUSES
        .iter()
        .find(|s| s.1 == code)
        .map_or_else(|| code.to_owned(), |s| s.2.to_owned())
}

fn status_badge(code: &str) -> &'static str {
    STATUSES.iter().find(|s| s.1 == code).map_or("", |s| s.3)
}

fn topic_label(topic: &str) -> String {
    match topic {
        "equipe_ressource" => "Équipe ressource",
        "mpp" => "Méthode de la préoccupation partagée",
        "pilotes" => "Pilotes pHARe",
        "ambassadeurs" => "Élèves ambassadeurs",
        "parents" => "Parents",
        "referents" => "Référents",
        "tous_personnels" => "Tous personnels",
        "partenaires" => "Partenaires",
        "en_ligne" => "En ligne",
        other => other,
    }
    .to_owned()
}

// --- French dates --------------------------------------------------------------------

/// `jeudi 3 décembre 2026`.
fn long_day(day: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        WEEKDAYS[day.weekday().num_days_from_monday() as usize],
        day_number(&day),
        MONTHS[day.month0() as usize],
        day.year()
    )
}

/// `9 h 00`.
fn clock(t: DateTime<chrono_tz::Tz>) -> String {
    format!("{} h {:02}", t.hour(), t.minute())
}

/// A span in French: `jeudi 3 décembre 2026, 9 h 00 – 17 h 00`, or over several days
/// `du 03/12/2026 9 h 00 au 04/12/2026 12 h 00`.
fn span(starts_at: &str, ends_at: &str) -> String {
    match (paris(starts_at), paris(ends_at)) {
        (Some(start), Some(end)) if start.date_naive() == end.date_naive() => format!(
            "{}, {} – {}",
            long_day(start.date_naive()),
            clock(start),
            clock(end)
        ),
        (Some(start), Some(end)) => format!(
            "du {} {} au {} {}",
            start.format("%d/%m/%Y"),
            clock(start),
            end.format("%d/%m/%Y"),
            clock(end)
        ),
        _ => format!("{starts_at} – {ends_at}"),
    }
}

/// `180` → `3 h`; `210` → `3 h 30`; `45` → `45 min`.
fn duration(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m:02}"),
    }
}

// --- Who ------------------------------------------------------------------------------

/// The roles of these pages: the pole, the department referents, the trainers, and the
/// schools (registering their staff; the sheets stay their trainers', referent's and
/// the pole's).
const ROLES: &[&str] = &[
    "admin",
    "pole_manager",
    "department_referent",
    "trainer",
    "school",
];

/// The signed-in user of these pages, or the answer to give instead.
async fn signed_in(pages: &Pages, jar: &CookieJar, here: &str) -> Result<(Session, Me), Response> {
    let refusal = (
        "Formations réservées",
        "Le planning des formations est tenu par le pôle académique et les référents \
         départementaux ; les formateurs et les établissements y ont accès. Revenez à \
         l'accueil pour les pages de votre espace.",
    );
    signed_in_as(pages, jar, here, ROLES, refusal).await
}

// --- The list -------------------------------------------------------------------------

/// The URL's parameters, in French.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    annee: String,
    #[serde(default)]
    etat: String,
    #[serde(default)]
    departement: String,
    /// `1`: a school's sessions with its own staff registered only.
    #[serde(default)]
    inscrits: String,
    /// The cursor of the page's first training (read model), or the page number (a
    /// trainer's planning).
    #[serde(default)]
    apres: String,
}

#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    annee: Option<String>,
    etat: Option<String>,
    departement: Option<String>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.annee.is_some() || self.etat.is_some() || self.departement.is_some()
    }
}

#[derive(Debug, Default, Serialize)]
struct Chosen {
    school_year: String,
    etat: String,
    status: Option<String>,
    department: Option<String>,
    /// The school (UAI) whose registered staff the sessions must have.
    registered_from: Option<String>,
}

fn check(
    filters: &Filters,
    today: NaiveDate,
    me: &Me,
    departments: &[String],
) -> (Chosen, FieldErrors) {
    let pole = is_pole(me);
    let mut errors = FieldErrors::default();
    let mut chosen = Chosen::default();
    // Any other value than `1` reads as unticked, as a checkbox sends nothing then.
    if me.role == "school" && filters.inscrits.trim() == "1" {
        chosen.registered_from.clone_from(&me.scope);
    }
    (chosen.school_year, errors.annee) = asked_year(&filters.annee, today);
    match filters.etat.trim() {
        "" => {}
        word => match STATUSES.iter().find(|s| s.0 == word) {
            Some(s) => {
                chosen.etat = s.0.to_owned();
                chosen.status = Some(s.1.to_owned());
            }
            None => {
                errors.etat = Some(format!("« {word} » n'est pas un état de session reconnu."));
            }
        },
    }
    if pole {
        chosen.department = match filters.departement.trim() {
            "" => None,
            code if departments.iter().any(|d| d == code) => Some(code.to_owned()),
            code => {
                errors.departement = Some(format!(
                    "« {code} » n'est pas un département de l'académie ({}).",
                    departments.join(", ")
                ));
                None
            }
        };
    }
    (chosen, errors)
}

fn filters_query(chosen: &Chosen) -> String {
    let mut pairs = vec![("annee", chosen.school_year.clone())];
    if !chosen.etat.is_empty() {
        pairs.push(("etat", chosen.etat.clone()));
    }
    if let Some(department) = &chosen.department {
        pairs.push(("departement", department.clone()));
    }
    if chosen.registered_from.is_some() {
        pairs.push(("inscrits", "1".to_owned()));
    }
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", encode(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A training of the list, as the template reads it.
#[derive(Debug, Serialize)]
struct TrainingRow {
    id: String,
    title: String,
    topic: String,
    audience: String,
    scope: String,
    sessions: Vec<SessionRow>,
    /// Sessions beyond those shown.
    more: i64,
}

#[derive(Debug, Serialize)]
struct SessionRow {
    id: String,
    when: String,
    place: String,
    capacity: i64,
    confirmed: i64,
    waitlisted: i64,
    status_label: String,
    badge: &'static str,
}

/// A session as the read model and the API's planning give it (their fields differ in
/// case only).
#[derive(Debug, Deserialize)]
struct PlannedSession {
    id: String,
    #[serde(alias = "startsAt")]
    starts_at: String,
    #[serde(alias = "endsAt")]
    ends_at: String,
    status: String,
    capacity: i64,
    location: Option<String>,
    #[serde(default, alias = "remoteUrl")]
    remote_url: Option<String>,
    confirmed: i64,
    waitlisted: i64,
}

impl From<PlannedSession> for SessionRow {
    fn from(s: PlannedSession) -> Self {
        Self {
            when: span(&s.starts_at, &s.ends_at),
            place: place(s.location.as_deref(), s.remote_url.as_deref()),
            capacity: s.capacity,
            confirmed: s.confirmed,
            waitlisted: s.waitlisted,
            status_label: status_label(&s.status),
            badge: status_badge(&s.status),
            id: s.id,
        }
    }
}

fn place(location: Option<&str>, remote_url: Option<&str>) -> String {
    match (location, remote_url) {
        (Some(location), _) if !location.trim().is_empty() => location.to_owned(),
        (_, Some(_)) => "Classe virtuelle".to_owned(),
        _ => "Lieu à préciser".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
struct TrainingNode {
    id: String,
    title: String,
    topic: String,
    audience: String,
    department: Option<String>,
}

impl TrainingNode {
    fn row(self, sessions: Vec<SessionRow>, more: i64) -> TrainingRow {
        TrainingRow {
            scope: self
                .department
                .as_deref()
                .map_or_else(|| "Formation académique".to_owned(), department_label),
            topic: topic_label(&self.topic),
            id: self.id,
            title: self.title,
            audience: self.audience,
            sessions,
            more,
        }
    }
}

/// A page of the list: its trainings, how many there are, and the next page's `apres`.
struct Listed {
    rows: Vec<TrainingRow>,
    total: i64,
    next: Option<String>,
}

const TRAININGS_QUERY: &str = r"
query Trainings($first: Int, $after: String, $schoolYear: String, $department: String, $registeredFrom: String) {
  trainings(first: $first, after: $after, schoolYear: $schoolYear, department: $department, registeredFrom: $registeredFrom) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id title topic audience department }
  }
}
";

/// The read model's page of trainings, then their sessions in one query (an alias per
/// training).
async fn from_read_model(
    pages: &Pages,
    token: &str,
    chosen: &Chosen,
    after: &str,
) -> Result<Listed, ApiError> {
    #[derive(Deserialize)]
    struct Data {
        trainings: Connection,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Connection {
        total_count: i64,
        page_info: PageInfo,
        nodes: Vec<TrainingNode>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PageInfo {
        has_next_page: bool,
        end_cursor: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sessions {
        total_count: i64,
        nodes: Vec<PlannedSession>,
    }
    let data: Data = pages
        .api
        .graphql(
            token,
            TRAININGS_QUERY,
            json!({
                "first": PAGE_SIZE,
                "after": Some(after.trim()).filter(|a| !a.is_empty()),
                "schoolYear": chosen.school_year,
                "department": chosen.department,
                "registeredFrom": chosen.registered_from,
            }),
        )
        .await?;
    let trainings = data.trainings;
    let mut sessions: HashMap<String, Option<Sessions>> = HashMap::new();
    if !trainings.nodes.is_empty() {
        let params: Vec<String> = (0..trainings.nodes.len())
            .map(|i| format!("$t{i}: String"))
            .collect();
        let fields: Vec<String> = (0..trainings.nodes.len())
            .map(|i| {
                format!(
                    "s{i}: sessions(trainingId: $t{i}, schoolYear: $y, department: $d, \
                     status: $st, registeredFrom: $rf, first: {SESSIONS_SHOWN}) {{ totalCount nodes {{ id startsAt \
                     endsAt status capacity location confirmed waitlisted }} }}"
                )
            })
            .collect();
        let query = format!(
            "query Sessions($y: String, $d: String, $st: String, $rf: String, {}) {{ {} }}",
            params.join(", "),
            fields.join(" ")
        );
        let mut variables = serde_json::Map::new();
        variables.insert("y".into(), json!(chosen.school_year));
        variables.insert("d".into(), json!(chosen.department));
        variables.insert("st".into(), json!(chosen.status));
        variables.insert("rf".into(), json!(chosen.registered_from));
        for (i, node) in trainings.nodes.iter().enumerate() {
            variables.insert(format!("t{i}"), json!(node.id));
        }
        sessions = pages
            .api
            .graphql(token, &query, Value::Object(variables))
            .await?;
    }
    let rows = trainings
        .nodes
        .into_iter()
        .enumerate()
        .map(|(i, node)| {
            let found = sessions.remove(&format!("s{i}")).flatten();
            let (total, nodes) = found.map_or((0, Vec::new()), |s| (s.total_count, s.nodes));
            let shown = nodes.len() as i64;
            node.row(
                nodes.into_iter().map(SessionRow::from).collect(),
                total - shown,
            )
        })
        .collect();
    let next = trainings
        .page_info
        .end_cursor
        .filter(|_| trainings.page_info.has_next_page);
    Ok(Listed {
        rows,
        total: trainings.total_count,
        next,
    })
}

/// A trainer's planning from the API: the trainings whose sessions they give.
async fn from_planning(
    pages: &Pages,
    token: &str,
    chosen: &Chosen,
    page: &str,
) -> Result<Listed, ApiError> {
    #[derive(Deserialize)]
    struct Page<T> {
        items: Vec<T>,
        total: i64,
    }
    let page: i64 = page.trim().parse().unwrap_or(1).max(1);
    let year = encode(&chosen.school_year);
    let answer = pages
        .api
        .get(
            token,
            &format!("/api/v1/trainings?school_year={year}&page={page}&limit={PAGE_SIZE}"),
        )
        .await?;
    let trainings: Page<TrainingNode> = serde_json::from_value(answer).map_err(unreadable)?;
    let mut rows = Vec::with_capacity(trainings.items.len());
    for training in trainings.items {
        let answer = pages
            .api
            .get(
                token,
                &format!(
                    "/api/v1/trainings/{}/sessions?school_year={year}&limit=100",
                    encode(&training.id)
                ),
            )
            .await?;
        let sessions: Page<PlannedSession> = serde_json::from_value(answer).map_err(unreadable)?;
        let wanted: Vec<PlannedSession> = sessions
            .items
            .into_iter()
            .filter(|s| chosen.status.as_ref().is_none_or(|st| *st == s.status))
            .collect();
        let shown = wanted.len().min(SESSIONS_SHOWN as usize);
        let more = wanted.len() - shown;
        rows.push(
            training.row(
                wanted
                    .into_iter()
                    .take(shown)
                    .map(SessionRow::from)
                    .collect(),
                more as i64,
            ),
        );
    }
    let next = (page * PAGE_SIZE < trainings.total).then(|| (page + 1).to_string());
    Ok(Listed {
        rows,
        total: trainings.total,
        next,
    })
}

fn unreadable(error: serde_json::Error) -> ApiError {
    tracing::warn!(%error, "an API answer the trainings pages cannot read");
    ApiError::Unavailable
}

/// `GET /formations`.
pub async fn list(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let (session, me) = match signed_in(&pages, &jar, "/formations").await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let pole = is_pole(&me);
    let today = pharos_domain::today_in_france(pages.clock.now());
    let departments: Vec<String> = pages
        .academy
        .departments
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    let (chosen, errors) = check(&filters, today, &me, &departments);
    let query = filters_query(&chosen);
    let here = format!("/formations?{query}");
    let mut listed = None;
    if !errors.any() {
        let found = if me.role == "trainer" {
            from_planning(&pages, &session.token, &chosen, &filters.apres).await
        } else {
            from_read_model(&pages, &session.token, &chosen, &filters.apres).await
        };
        match found {
            Ok(found) => listed = Some(found),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    }
    let (rows, total, next) = match listed {
        Some(l) => (
            l.rows,
            l.total,
            l.next
                .map(|after| format!("/formations?{query}&apres={}", encode(&after))),
        ),
        None => (Vec::new(), 0, None),
    };
    let scope_label = match me.role.as_str() {
        "department_referent" => me.scope.as_deref().map_or_else(
            || "Votre département".to_owned(),
            |d| format!("{} et formations académiques", department_label(d)),
        ),
        "trainer" => "Les sessions que vous animez".to_owned(),
        "school" => "Les formations de votre département et de l'académie".to_owned(),
        _ => chosen.department.as_deref().map_or_else(
            || format!("Académie de {}", pages.academy.name),
            department_label,
        ),
    };
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    pages.templates.render(
        status,
        "trainings.html",
        minijinja::context! {
            title => "Formations",
            active => "trainings",
            me => Serde(&me),
            csrf => session.csrf(),
            errors => Serde(&errors),
            chosen => Serde(&chosen),
            listed => !errors.any(),
            pole,
            scope_label,
            years => recent_years(today, 1),
            statuses => STATUSES.iter().map(|s| (s.0, s.2)).collect::<Vec<_>>(),
            departments => crate::common::departments(&pages),
            rows => Serde(&rows),
            total,
            next,
            first_page => (!filters.apres.trim().is_empty()).then(|| format!("/formations?{query}")),
        },
    )
}

// --- One session ------------------------------------------------------------------------

/// `GET /api/v1/sessions/{id}`, as the pages read it.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct SessionView {
    id: String,
    training_id: String,
    department: Option<String>,
    starts_at: String,
    ends_at: String,
    slots: Vec<SlotView>,
    location: Option<String>,
    remote_url: Option<String>,
    capacity: i64,
    planned_minutes: i64,
    trainers: Vec<String>,
    status: String,
    cancel_reason: Option<String>,
    #[serde(default)]
    recorded_after_the_fact: bool,
    confirmed: i64,
    waitlisted: i64,
    registrations: Vec<RegistrationView>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct SlotView {
    starts_at: String,
    ends_at: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct RegistrationView {
    id: String,
    display_name: String,
    school_uai: Option<String>,
    function: String,
    mode: String,
    status: String,
    waitlist_position: Option<i64>,
    attended_minutes: i64,
}

impl SlotView {
    fn minutes(&self) -> i64 {
        match (
            DateTime::parse_from_rfc3339(&self.starts_at),
            DateTime::parse_from_rfc3339(&self.ends_at),
        ) {
            (Ok(start), Ok(end)) => (end - start).num_minutes(),
            _ => 0,
        }
    }

    fn started(&self, now: DateTime<Utc>) -> bool {
        DateTime::parse_from_rfc3339(&self.starts_at)
            .is_ok_and(|start: DateTime<FixedOffset>| start <= now)
    }

    /// `Créneau 1 — 9 h 00 – 12 h 00` (with the day when the session spans several).
    fn label(&self, index: usize, several_days: bool) -> String {
        let times = match (paris(&self.starts_at), paris(&self.ends_at)) {
            (Some(start), Some(end)) if several_days => format!(
                "{} {} – {}",
                start.format("%d/%m"),
                clock(start),
                clock(end)
            ),
            (Some(start), Some(end)) => format!("{} – {}", clock(start), clock(end)),
            _ => String::new(),
        };
        format!("Créneau {} — {times}", index + 1)
    }
}

impl SessionView {
    fn several_days(&self) -> bool {
        match (paris(&self.starts_at), paris(&self.ends_at)) {
            (Some(start), Some(end)) => start.date_naive() != end.date_naive(),
            _ => false,
        }
    }

    /// Confirmed registrations, by name.
    fn confirmed(&self) -> Vec<&RegistrationView> {
        let mut confirmed: Vec<&RegistrationView> = self
            .registrations
            .iter()
            .filter(|r| r.status == "confirmed")
            .collect();
        confirmed.sort_by_key(|r| r.display_name.to_lowercase());
        confirmed
    }

    fn locked(&self) -> bool {
        matches!(self.status.as_str(), "attendance_locked" | "archived")
    }

    /// Whether attendance is recorded now (before the lock).
    fn recording(&self) -> bool {
        matches!(self.status.as_str(), "open" | "closed" | "held")
    }

    fn started(&self, now: DateTime<Utc>) -> bool {
        DateTime::parse_from_rfc3339(&self.starts_at).is_ok_and(|t| t <= now)
    }

    /// Whether people are registered now: planned (designated only) or open, and not
    /// begun (the API's rule).
    fn registering(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status.as_str(), "planned" | "open") && !self.started(now)
    }

    /// Whether registrations are withdrawn now: planned, open or closed, and not begun.
    fn withdrawing(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status.as_str(), "planned" | "open" | "closed") && !self.started(now)
    }

    /// Whether a change of attendance is a correction now (the API corrects only a
    /// locked session's, not an archived one's).
    fn correcting(&self) -> bool {
        self.status == "attendance_locked"
    }

    fn registration(&self, id: &str) -> Option<&RegistrationView> {
        self.registrations
            .iter()
            .find(|r| !id.is_empty() && r.id == id)
    }
}

/// The registrants' schools.
fn registrant_uais(session: &SessionView) -> impl Iterator<Item = &String> {
    session
        .registrations
        .iter()
        .filter_map(|r| r.school_uai.as_ref())
}

fn mode_label(mode: &str) -> &'static str {
    match mode {
        "designated" => "Désignation",
        "volunteer" => "Volontariat",
        _ => "—",
    }
}

/// The slots a registrant attended, when their attended minutes tell it without doubt:
/// exactly one set of whole slots adds up to them. The API gives the minutes, not the
/// marks per slot; an ambiguous total (two slots of the same length, part of a slot)
/// shows no mark rather than a guess.
fn attended_slots(slot_minutes: &[i64], attended: i64) -> Option<Vec<bool>> {
    if slot_minutes.len() > 16 {
        return None;
    }
    let mut found = None;
    for set in 0u32..(1 << slot_minutes.len()) {
        let total: i64 = slot_minutes
            .iter()
            .enumerate()
            .filter(|(i, _)| set & (1 << i) != 0)
            .map(|(_, m)| m)
            .sum();
        if total == attended {
            if found.is_some() {
                return None;
            }
            found = Some(set);
        }
    }
    found.map(|set| {
        (0..slot_minutes.len())
            .map(|i| set & (1 << i) != 0)
            .collect()
    })
}

/// What a session page may do: its managers (the pole, the referent of its department)
/// take its steps; they and its trainers record attendance; the pole, the department
/// referents and the schools register people and withdraw them (the API's
/// `RegisterToTraining`: a referent registers anyone to her department's sessions, and
/// the people of her department's schools to the others; she reads only those
/// registrations there; a school registers its own staff, and reads only theirs).
struct Powers {
    manage: bool,
    record: bool,
    register: bool,
}

fn powers(me: &Me, session: &SessionView) -> Powers {
    let manage = me.role == "pole_manager"
        || (me.role == "department_referent"
            && session.department.is_some()
            && me.scope == session.department);
    let record = manage || (!me.id.is_empty() && session.trainers.contains(&me.id));
    let register = matches!(
        me.role.as_str(),
        "pole_manager" | "department_referent" | "school"
    );
    Powers {
        manage,
        record,
        register,
    }
}

fn unknown(pages: &Pages) -> Response {
    pages.templates.error(
        StatusCode::NOT_FOUND,
        "Session introuvable",
        "Cette session n'existe pas ou n'est plus disponible. Revenez à la liste des \
         formations.",
    )
}

/// The session and its training's title, or the answer to give instead.
async fn load(
    pages: &Pages,
    token: &str,
    id: &str,
    here: &str,
) -> Result<(SessionView, Value), Response> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(unknown(pages));
    }
    let answer = match pages
        .api
        .get(token, &format!("/api/v1/sessions/{id}"))
        .await
    {
        Ok(answer) => answer,
        Err(ApiError::Refused { status, .. }) if status == StatusCode::NOT_FOUND => {
            return Err(unknown(pages));
        }
        Err(error) => return Err(pages.templates.api_error(error, here)),
    };
    let session: SessionView = serde_json::from_value(answer)
        .map_err(|e| pages.templates.api_error(unreadable(e), here))?;
    let training = pages
        .api
        .get(
            token,
            &format!("/api/v1/trainings/{}", encode(&session.training_id)),
        )
        .await
        .unwrap_or(Value::Null);
    Ok((session, training))
}

/// The facts every session page shows.
fn facts(session: &SessionView, training: &Value) -> Value {
    json!({
        "id": session.id,
        "title": training["title"].as_str().unwrap_or("Formation"),
        "topic": topic_label(training["topic"].as_str().unwrap_or_default()),
        "audience": training["audience"].as_str().unwrap_or_default(),
        "when": span(&session.starts_at, &session.ends_at),
        "place": place(session.location.as_deref(), session.remote_url.as_deref()),
        "remote_url": session.remote_url,
        "scope": session.department.as_deref().map_or_else(|| "Session académique".to_owned(), department_label),
        "capacity": session.capacity,
        "confirmed": session.confirmed,
        "waitlisted": session.waitlisted,
        "planned": duration(session.planned_minutes),
        "status": session.status,
        "status_label": status_label(&session.status),
        "badge": status_badge(&session.status),
        "cancel_reason": session.cancel_reason,
        "past": session.recorded_after_the_fact,
    })
}

/// The URL's word for what was just done, and the registrations it was done to.
#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    #[serde(default)]
    succes: String,
    /// The registration just made or withdrawn.
    #[serde(default)]
    inscription: String,
    /// The registration promoted from the waitlist by a withdrawal.
    #[serde(default)]
    promue: String,
    /// Set when the API warned that the person registered already attended a session on
    /// the same topic (a fixed text is shown: a URL never carries the words a page shows).
    #[serde(default)]
    deja: String,
}

impl Flash {
    /// The warning that goes with the success message, if the API gave one.
    fn warning(&self) -> Option<&'static str> {
        let registered = matches!(self.succes.as_str(), "inscrite" | "attente");
        (registered && self.deja == "1").then_some(
            "Attention : cette personne a déjà suivi une session sur le même thème. \
             Vérifiez que cette nouvelle inscription est voulue ; sinon, retirez-la.",
        )
    }

    /// The success message, with the names and ranks of the session as read now.
    fn message(&self, view: &SessionView) -> Option<String> {
        let named = |what: &str| {
            view.registration(&self.inscription).map_or_else(
                || format!("{what} enregistrée"),
                |r| format!("{what} enregistrée pour {}", r.display_name),
            )
        };
        match self.succes.as_str() {
            "inscrite" => Some(format!(
                "{} : la personne est inscrite, sa place est confirmée.",
                named("Inscription")
            )),
            "attente" => {
                let rank = view
                    .registration(&self.inscription)
                    .and_then(|r| r.waitlist_position)
                    .map(|rank| format!(", rang {rank}"))
                    .unwrap_or_default();
                Some(format!(
                    "{} : la session est complète, la personne est placée en liste d'attente{rank}.",
                    named("Inscription")
                ))
            }
            "retiree" => {
                let mut text = view.registration(&self.inscription).map_or_else(
                    || "Inscription retirée.".to_owned(),
                    |r| format!("Inscription retirée : {}.", r.display_name),
                );
                if let Some(promoted) = view.registration(&self.promue) {
                    text.push_str(&format!(
                        " La place libérée va à {}, la première personne de la liste \
                         d'attente : sa place est confirmée.",
                        promoted.display_name
                    ));
                }
                Some(text)
            }
            word => STEPS
                .iter()
                .find(|s| s.done_word == word)
                .map(|s| s.done.to_owned()),
        }
    }
}

/// What the session's forms show again after a refusal.
#[derive(Debug, Default, Serialize)]
struct Outcome {
    success: Option<String>,
    warning: Option<&'static str>,
    error: Option<String>,
    reason: String,
    reason_error: Option<String>,
    /// The registration form as sent, and its errors.
    person: PersonForm,
    person_errors: PersonErrors,
    #[serde(skip)]
    flash: Flash,
}

/// The longest name and the longest « other » function the page sends.
const NAME_MAX: usize = 200;
const FUNCTION_MAX: usize = 100;

/// The functions offered for a registrant: the form's value, the text the API records
/// (a free text there, « CPE » in the existing registrations), and the label.
const FUNCTIONS: [(&str, &str, &str); 12] = [
    ("enseignant", "Enseignant", "Enseignant ou enseignante"),
    (
        "cpe",
        "CPE",
        "Conseiller ou conseillère principal(e) d'éducation (CPE)",
    ),
    ("aed", "AED", "Assistant ou assistante d'éducation (AED)"),
    ("infirmier", "Infirmier", "Infirmier ou infirmière"),
    (
        "assistant_social",
        "Assistant social",
        "Assistant ou assistante de service social",
    ),
    (
        "psyen",
        "Psy-EN",
        "Psychologue de l'Éducation nationale (Psy-EN)",
    ),
    (
        "direction",
        "Direction",
        "Direction (chef d'établissement, adjoint, directeur d'école)",
    ),
    (
        "conseiller_pedagogique",
        "Conseiller pédagogique",
        "Conseiller ou conseillère pédagogique",
    ),
    (
        "ien",
        "IEN",
        "Inspecteur ou inspectrice de l'Éducation nationale (IEN)",
    ),
    ("medecin_scolaire", "Médecin scolaire", "Médecin scolaire"),
    (
        "aesh",
        "AESH",
        "Accompagnant ou accompagnante d'élèves en situation de handicap (AESH)",
    ),
    ("autre", "", "Autre fonction (à préciser)"),
];

/// The registration form, as sent (and shown again after a refusal).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct PersonForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    school_uai: String,
    #[serde(default)]
    function: String,
    #[serde(default)]
    function_other: String,
    #[serde(default)]
    mode: String,
}

/// The registration form's errors, next to their fields.
#[derive(Debug, Default, Serialize)]
struct PersonErrors {
    display_name: Option<String>,
    email: Option<String>,
    school_uai: Option<String>,
    function: Option<String>,
    function_other: Option<String>,
    mode: Option<String>,
}

impl PersonErrors {
    fn any(&self) -> bool {
        self.display_name.is_some()
            || self.email.is_some()
            || self.school_uai.is_some()
            || self.function.is_some()
            || self.function_other.is_some()
            || self.mode.is_some()
    }

    /// The API's error on `field`, next to its input: `false` when the form has none.
    fn set(&mut self, field: &str, message: String) -> bool {
        let slot = match field {
            "person.display_name" => &mut self.display_name,
            "person.email" => &mut self.email,
            "person.school_uai" => &mut self.school_uai,
            "person.function" => &mut self.function,
            "mode" => &mut self.mode,
            _ => return false,
        };
        *slot = Some(message);
        true
    }
}

/// The registration `form` asks for (the API's body), or its errors.
fn person_body(form: &PersonForm) -> Result<Value, Box<PersonErrors>> {
    let mut errors = PersonErrors::default();
    let name = form.display_name.trim();
    if name.is_empty() {
        errors.display_name = Some("Indiquez le nom et le prénom de la personne.".into());
    } else if name.chars().count() > NAME_MAX {
        errors.display_name = Some(format!(
            "Le nom compte {} caractères : {NAME_MAX} au plus.",
            name.chars().count()
        ));
    }
    let email = form.email.trim();
    if email.is_empty() {
        errors.email = Some(
            "Indiquez l'adresse électronique de la personne (format nom@ac-toulouse.fr).".into(),
        );
    } else if !email.contains('@') {
        errors.email = Some(format!(
            "« {email} » n'est pas une adresse électronique : format attendu nom@ac-toulouse.fr."
        ));
    }
    let uai = form.school_uai.trim().to_uppercase();
    let other = form.function_other.trim();
    let function = match FUNCTIONS.iter().find(|f| f.0 == form.function) {
        Some(("autre", _, _)) if other.is_empty() => {
            errors.function_other =
                Some("Précisez la fonction de la personne (« Autre fonction »).".into());
            String::new()
        }
        Some(("autre", _, _)) if other.chars().count() > FUNCTION_MAX => {
            errors.function_other = Some(format!(
                "La fonction compte {} caractères : {FUNCTION_MAX} au plus.",
                other.chars().count()
            ));
            String::new()
        }
        Some(("autre", _, _)) => other.to_owned(),
        Some((_, recorded, _)) => (*recorded).to_owned(),
        None if form.function.trim().is_empty() => {
            errors.function = Some("Choisissez la fonction de la personne.".into());
            String::new()
        }
        None => {
            errors.function = Some("Choisissez une fonction de la liste.".into());
            String::new()
        }
    };
    if !matches!(form.mode.as_str(), "designated" | "volunteer") {
        errors.mode = Some("Choisissez le mode d'inscription : désignation ou volontariat.".into());
    }
    if errors.any() {
        return Err(Box::new(errors));
    }
    Ok(json!({
        "person": {
            "display_name": name,
            "email": email,
            "school_uai": Some(uai).filter(|u| !u.is_empty()),
            "function": function,
        },
        "mode": form.mode,
    }))
}

/// The steps of a session: the URL's word, the API's command, the button, what it does,
/// the states it is taken from, and the success message.
struct Step {
    word: &'static str,
    command: &'static str,
    button: &'static str,
    hint: &'static str,
    from: &'static [&'static str],
    done: &'static str,
    done_word: &'static str,
}

const STEPS: [Step; 5] = [
    Step {
        word: "ouvrir",
        command: "open",
        button: "Ouvrir les inscriptions",
        hint: "Les personnes volontaires peuvent alors s'inscrire.",
        from: &["planned"],
        done: "Inscriptions ouvertes.",
        done_word: "ouverte",
    },
    Step {
        word: "clore",
        command: "close",
        button: "Clore les inscriptions",
        hint: "Plus aucune inscription volontaire.",
        from: &["open"],
        done: "Inscriptions closes.",
        done_word: "close",
    },
    Step {
        word: "tenir",
        command: "hold",
        button: "Déclarer la session tenue",
        hint: "Une fois la session commencée.",
        from: &["open", "closed"],
        done: "Session déclarée tenue.",
        done_word: "tenue",
    },
    Step {
        word: "verrouiller",
        command: "lock-attendance",
        button: "Verrouiller les présences",
        hint: "Une fois la session terminée ; une modification passera ensuite par une \
               correction motivée.",
        from: &["open", "closed", "held"],
        done: "Présences verrouillées.",
        done_word: "verrouillee",
    },
    Step {
        word: "annuler",
        command: "cancel",
        button: "Annuler la session",
        hint: "Le motif est communiqué aux personnes inscrites.",
        from: &["planned", "open", "closed"],
        done: "Session annulée.",
        done_word: "annulee",
    },
];

/// The steps `session` offers now: those of its state, once its time has come.
fn offered(session: &SessionView, now: DateTime<Utc>) -> Vec<Value> {
    let started = DateTime::parse_from_rfc3339(&session.starts_at).is_ok_and(|t| t <= now);
    let ended = DateTime::parse_from_rfc3339(&session.ends_at).is_ok_and(|t| t <= now);
    STEPS
        .iter()
        .filter(|s| s.from.contains(&session.status.as_str()))
        .filter(|s| match s.word {
            "tenir" => started,
            "verrouiller" => ended,
            _ => true,
        })
        .map(|s| json!({ "word": s.word, "button": s.button, "hint": s.hint }))
        .collect()
}

fn role_label(role: &str) -> String {
    match role {
        "school" => "Un établissement",
        "department_referent" => "Le référent départemental",
        "pole_manager" => "Le pôle académique",
        "admin" => "Un administrateur",
        "trainer" => "Un formateur ou une formatrice",
        other => other,
    }
    .to_owned()
}

/// The session's trainers as the user may read them: « vous », and by name for the
/// pole (who reads the accounts: a logged read); others by their number.
async fn trainer_names(pages: &Pages, token: &str, me: &Me, trainers: &[String]) -> Vec<String> {
    let mut names = Vec::with_capacity(trainers.len());
    for (i, id) in trainers.iter().enumerate() {
        if *id == me.id {
            names.push("Vous".to_owned());
            continue;
        }
        let mut name = None;
        if me.role == "pole_manager" || me.role == "admin" {
            name = pages
                .api
                .get(token, &format!("/api/v1/users/{}", encode(id)))
                .await
                .ok()
                .and_then(|account| account["display_name"].as_str().map(str::to_owned));
        }
        names.push(name.unwrap_or_else(|| format!("Formateur ou formatrice n° {}", i + 1)));
    }
    names
}

/// `GET /formations/sessions/{id}`.
pub async fn detail(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    show(
        &pages,
        &jar,
        &id,
        StatusCode::OK,
        Outcome {
            flash,
            ..Outcome::default()
        },
    )
    .await
}

async fn show(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    status: StatusCode,
    mut outcome: Outcome,
) -> Response {
    let here = format!("/formations/sessions/{}", encode(id));
    let (session, me) = match signed_in(pages, jar, &here).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (view, training) = match load(pages, &session.token, id, &here).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let powers = powers(&me, &view);
    let now = pages.clock.now();
    let several_days = view.several_days();
    let slots: Vec<String> = view
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| s.label(i, several_days))
        .collect();
    let names = school_names(pages, &session.token, registrant_uais(&view)).await;
    let school_name =
        |r: &RegistrationView| r.school_uai.as_ref().and_then(|u| names.get(u)).cloned();
    let registrant = |r: &RegistrationView| {
        json!({
            "id": r.id,
            "name": r.display_name,
            "school": r.school_uai,
            "school_name": school_name(r),
            "function": r.function,
            "mode": mode_label(&r.mode),
            "rank": r.waitlist_position,
            "attended": duration(r.attended_minutes),
        })
    };
    let confirmed: Vec<Value> = view.confirmed().into_iter().map(registrant).collect();
    let mut waiting: Vec<&RegistrationView> = view
        .registrations
        .iter()
        .filter(|r| r.status == "waitlisted")
        .collect();
    waiting.sort_by_key(|r| r.waitlist_position.unwrap_or(i64::MAX));
    let waiting: Vec<Value> = waiting.into_iter().map(registrant).collect();
    let withdrawn: Vec<Value> = view
        .registrations
        .iter()
        .filter(|r| r.status == "withdrawn")
        .map(registrant)
        .collect();
    let trainers = trainer_names(pages, &session.token, &me, &view.trainers).await;
    let history = history(pages, &session.token, "session", id, role_label).await;
    let steps = if powers.manage {
        offered(&view, now)
    } else {
        Vec::new()
    };
    let cancel = steps.iter().any(|s| s["word"] == "annuler");
    let steps: Vec<Value> = steps
        .into_iter()
        .filter(|s| s["word"] != "annuler")
        .collect();
    if outcome.success.is_none() {
        outcome.success = outcome.flash.message(&view);
        outcome.warning = outcome.flash.warning();
    }
    if outcome.person.mode.is_empty() {
        outcome.person.mode = "designated".into();
    }
    // A referent registers the people of her department's schools to the sessions of
    // other departments (and academic ones): their school is then needed.
    let school_needed = me.role == "department_referent" && me.scope != view.department;
    pages.templates.render(
        status,
        "session.html",
        minijinja::context! {
            title => "Session de formation",
            active => "trainings",
            me => Serde(&me),
            csrf => session.csrf(),
            id => view.id.clone(),
            facts => Serde(&facts(&view, &training)),
            slots,
            trainers,
            confirmed => Serde(&confirmed),
            waiting => Serde(&waiting),
            withdrawn => Serde(&withdrawn),
            history => history.as_ref().map(Serde),
            steps => Serde(&steps),
            cancel,
            attendance_sheet => powers.record && (view.recording() || view.locked()),
            sign_in_sheet => powers.record && view.status != "cancelled",
            outcome => Serde(&outcome),
            reason_max => REASON_MAX,
            register => powers.register && view.registering(now),
            volunteers => view.status == "open",
            school_needed,
            withdraw => powers.register && view.withdrawing(now),
            functions => FUNCTIONS.iter().map(|f| (f.0, f.2)).collect::<Vec<_>>(),
            name_max => NAME_MAX,
            function_max => FUNCTION_MAX,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

fn forged(pages: &Pages) -> Response {
    pages.templates.error(
        StatusCode::FORBIDDEN,
        "Formulaire refusé",
        "Ce formulaire ne vient pas de Pharos ou a expiré. Rechargez la page de la session, \
         puis recommencez.",
    )
}

/// `POST /formations/sessions/{id}/{ouvrir|clore|tenir|verrouiller|annuler}`.
pub async fn take_step(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((id, word)): Path<(String, String)>,
    Form(form): Form<StepForm>,
) -> Response {
    let here = format!("/formations/sessions/{}", encode(&id));
    let Some(session) = Session::of(&jar) else {
        return crate::session::to_login(&here);
    };
    if !session.accepts(&form.csrf) {
        return forged(&pages);
    }
    let Some(step) = STEPS.iter().find(|s| s.word == word) else {
        return pages.templates.error(
            StatusCode::NOT_FOUND,
            "Page introuvable",
            "Cette adresse ne correspond à aucune page de Pharos.",
        );
    };
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let reason = form.reason.trim().to_owned();
    let body = if step.word == "annuler" {
        let reason_error = if reason.is_empty() {
            Some(
                "Indiquez le motif de l'annulation : il est communiqué aux personnes inscrites."
                    .to_owned(),
            )
        } else if reason.chars().count() > REASON_MAX {
            Some(format!(
                "Le motif compte {} caractères : {REASON_MAX} au plus.",
                reason.chars().count()
            ))
        } else {
            None
        };
        if reason_error.is_some() {
            return show(
                &pages,
                &jar,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Outcome {
                    error: Some(
                        "La session n'a pas été annulée : le motif est à compléter.".into(),
                    ),
                    reason,
                    reason_error,
                    ..Outcome::default()
                },
            )
            .await;
        }
        json!({ "reason": reason })
    } else {
        json!({})
    };
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/sessions/{id}/{}", step.command),
            &body,
        )
        .await;
    match result {
        Ok(_) => Redirect::to(&format!("{here}?succes={}", step.done_word)).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            let reason_error = fields
                .iter()
                .find(|(field, _)| field == "reason")
                .map(|(_, message)| message.clone());
            show(
                &pages,
                &jar,
                &id,
                client_error(status),
                Outcome {
                    error: Some(detail),
                    reason,
                    reason_error,
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

// --- Registrations ----------------------------------------------------------------------

/// `POST /formations/sessions/{id}/inscriptions`: registers a person (the API confirms
/// them, or puts them on the waitlist of a full session).
pub async fn register_person(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<PersonForm>,
) -> Response {
    let here = format!("/formations/sessions/{}", encode(&id));
    let Some(session) = Session::of(&jar) else {
        return crate::session::to_login(&here);
    };
    if !session.accepts(&form.csrf) {
        return forged(&pages);
    }
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let refused = |error: &str, person_errors| Outcome {
        error: Some(error.to_owned()),
        person: form.clone(),
        person_errors,
        ..Outcome::default()
    };
    let body = match person_body(&form) {
        Ok(body) => body,
        Err(errors) => {
            let outcome = refused(
                "La personne n'a pas été inscrite : voyez les champs signalés du formulaire.",
                *errors,
            );
            return show(&pages, &jar, &id, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
        }
    };
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/sessions/{id}/registrations"),
            &body,
        )
        .await;
    match result {
        Ok(answer) => {
            let word = if answer["status"] == "waitlisted" {
                "attente"
            } else {
                "inscrite"
            };
            let registration = answer["id"].as_str().unwrap_or_default();
            let warned = answer["warnings"].as_array().is_some_and(|w| !w.is_empty());
            Redirect::to(&format!(
                "{here}?succes={word}&inscription={}{}",
                encode(registration),
                if warned { "&deja=1" } else { "" }
            ))
            .into_response()
        }
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            let mut errors = PersonErrors::default();
            let mut placed = false;
            for (field, message) in fields {
                placed |= errors.set(&field, message);
            }
            let error = if placed {
                "La personne n'a pas été inscrite : voyez les champs signalés du formulaire."
            } else {
                detail.as_str()
            };
            let outcome = refused(error, errors);
            show(&pages, &jar, &id, client_error(status), outcome).await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

/// `GET /formations/sessions/{id}/inscriptions/{registration}/retrait`: what withdrawing
/// this registration does, and the button that does it.
pub async fn withdrawal(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((id, registration)): Path<(String, String)>,
) -> Response {
    confirm_withdrawal(&pages, &jar, &id, &registration, StatusCode::OK, None).await
}

async fn confirm_withdrawal(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    registration: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let here = format!(
        "/formations/sessions/{}/inscriptions/{}/retrait",
        encode(id),
        encode(registration)
    );
    let (session, me) = match signed_in(pages, jar, &here).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (view, training) = match load(pages, &session.token, id, &here).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !powers(&me, &view).register {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Retrait réservé",
            "Les inscriptions d'une session sont retirées par le pôle académique et les \
             référents départementaux.",
        );
    }
    let Some(found) = view
        .registration(registration)
        .filter(|r| r.status != "withdrawn")
    else {
        if let Some(error) = error {
            // Refused, and withdrawn meanwhile: the session says how it stands.
            let outcome = Outcome {
                error: Some(error),
                ..Outcome::default()
            };
            return show(pages, jar, id, status, outcome).await;
        }
        return pages.templates.error(
            StatusCode::NOT_FOUND,
            "Inscription introuvable",
            "Cette inscription n'existe pas ou a déjà été retirée. Revenez à la session pour \
             voir ses inscriptions.",
        );
    };
    let names = school_names(pages, &session.token, found.school_uai.iter()).await;
    // The first waiting person gets a confirmed place freed (the API's order).
    let next = (found.status == "confirmed")
        .then(|| {
            view.registrations
                .iter()
                .filter(|r| r.status == "waitlisted")
                .min_by_key(|r| r.waitlist_position.unwrap_or(i64::MAX))
        })
        .flatten();
    let registrant = json!({
        "id": found.id,
        "name": found.display_name,
        "school": found.school_uai,
        "school_name": found.school_uai.as_ref().and_then(|u| names.get(u)),
        "function": found.function,
        "mode": mode_label(&found.mode),
        "confirmed": found.status == "confirmed",
        "rank": found.waitlist_position,
    });
    pages.templates.render(
        status,
        "session_withdraw.html",
        minijinja::context! {
            title => "Retirer une inscription",
            active => "trainings",
            me => Serde(&me),
            csrf => session.csrf(),
            id => view.id.clone(),
            facts => Serde(&facts(&view, &training)),
            registrant => Serde(&registrant),
            next => next.map(|r| r.display_name.clone()),
            waiting => view.waitlisted,
            open => view.withdrawing(pages.clock.now()),
            error,
        },
    )
}

/// `POST /formations/sessions/{id}/inscriptions/{registration}/retrait`: withdraws the
/// registration (a confirmed place goes to the first waiting person).
pub async fn withdraw(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((id, registration)): Path<(String, String)>,
    Form(form): Form<StepForm>,
) -> Response {
    let here = format!(
        "/formations/sessions/{}/inscriptions/{}/retrait",
        encode(&id),
        encode(&registration)
    );
    let Some(session) = Session::of(&jar) else {
        return crate::session::to_login(&here);
    };
    if !session.accepts(&form.csrf) {
        return forged(&pages);
    }
    if uuid::Uuid::parse_str(&id).is_err() || uuid::Uuid::parse_str(&registration).is_err() {
        return unknown(&pages);
    }
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/sessions/{id}/registrations/{registration}/withdraw"),
            &json!({}),
        )
        .await;
    match result {
        Ok(answer) => {
            let mut to = format!(
                "/formations/sessions/{}?succes=retiree&inscription={}",
                encode(&id),
                encode(&registration)
            );
            if let Some(promoted) = answer["promoted"].get(0).and_then(Value::as_str) {
                to.push_str(&format!("&promue={}", encode(promoted)));
            }
            Redirect::to(&to).into_response()
        }
        Err(ApiError::Refused { status, detail, .. }) => {
            confirm_withdrawal(
                &pages,
                &jar,
                &id,
                &registration,
                client_error(status),
                Some(detail),
            )
            .await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

fn client_error(status: StatusCode) -> StatusCode {
    if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_GATEWAY
    }
}

// --- Attendance -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct AttendanceFlash {
    /// The slot just saved (from 0).
    #[serde(default)]
    succes: Option<usize>,
    /// `1` when a correction was just recorded (for `inscription` at `creneau`).
    #[serde(default)]
    corrigee: String,
    /// The registration and slot the correction form starts with.
    #[serde(default)]
    inscription: String,
    #[serde(default)]
    creneau: String,
}

/// What the sheet shows again after a refusal: the boxes as ticked, and the errors.
#[derive(Debug, Default)]
struct Sheet {
    success: Option<String>,
    error: Option<String>,
    /// The alert's title when `error` is a correction's.
    correction_refused: bool,
    /// The slot the user saved.
    slot: Option<usize>,
    /// `(slot, registration)` ticked, when the sheet comes back from a form.
    ticked: Option<HashSet<(usize, String)>>,
    /// Per registration, the API's refusal.
    row_errors: HashMap<String, String>,
    /// The correction form as sent (or as chosen by a row's link), and its errors.
    correction: CorrectionForm,
    correction_errors: CorrectionErrors,
}

/// The correction form of a locked sheet.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct CorrectionForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    registration_id: String,
    #[serde(default)]
    slot_index: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Default, Serialize)]
struct CorrectionErrors {
    registration_id: Option<String>,
    slot_index: Option<String>,
    status: Option<String>,
    minutes: Option<String>,
    reason: Option<String>,
}

impl CorrectionErrors {
    fn any(&self) -> bool {
        self.registration_id.is_some()
            || self.slot_index.is_some()
            || self.status.is_some()
            || self.minutes.is_some()
            || self.reason.is_some()
    }

    /// The API's error on `field`, next to its input: `false` when the form has none.
    fn set(&mut self, field: &str, message: String) -> bool {
        let slot = match field {
            "registration_id" => &mut self.registration_id,
            "slot_index" => &mut self.slot_index,
            "status" => &mut self.status,
            "minutes" => &mut self.minutes,
            "reason" => &mut self.reason,
            _ => return false,
        };
        *slot = Some(message);
        true
    }
}

/// The attendance statuses a correction records: the API's code and the label.
const MARKS: [(&str, &str); 3] = [
    ("present", "Présent ou présente"),
    ("absent", "Absent ou absente"),
    ("excused", "Absence excusée"),
];

/// The correction `form` asks for (the API's body), or its errors.
fn correction_body(form: &CorrectionForm) -> Result<Value, CorrectionErrors> {
    let mut errors = CorrectionErrors::default();
    if uuid::Uuid::parse_str(form.registration_id.trim()).is_err() {
        errors.registration_id =
            Some("Choisissez la personne dont la présence est à corriger.".into());
    }
    let slot = form.slot_index.trim().parse::<usize>().ok();
    if slot.is_none() {
        errors.slot_index = Some("Choisissez le créneau à corriger.".into());
    }
    if !MARKS.iter().any(|m| m.0 == form.status) {
        errors.status = Some("Choisissez la présence à enregistrer.".into());
    }
    let minutes = match form.minutes.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(minutes) if minutes >= 0 => Some(minutes),
            _ => {
                errors.minutes = Some(format!(
                    "« {text} » n'est pas un nombre entier de minutes : indiquez par exemple \
                     90, ou laissez le champ vide."
                ));
                None
            }
        },
    };
    let reason = form.reason.trim();
    if reason.is_empty() {
        errors.reason = Some(
            "Indiquez le motif de la correction : une correction après verrouillage est \
             motivée et tracée."
                .into(),
        );
    } else if reason.chars().count() > REASON_MAX {
        errors.reason = Some(format!(
            "Le motif compte {} caractères : {REASON_MAX} au plus.",
            reason.chars().count()
        ));
    }
    if errors.any() {
        return Err(errors);
    }
    Ok(json!({
        "registration_id": form.registration_id.trim(),
        "slot_index": slot,
        "status": form.status,
        "minutes": minutes,
        "reason": reason,
    }))
}

/// `GET /formations/sessions/{id}/presences`.
pub async fn attendance(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(flash): Query<AttendanceFlash>,
) -> Response {
    let sheet = Sheet {
        success: flash
            .succes
            .map(|slot| format!("Présences du créneau {} enregistrées.", slot + 1)),
        correction: CorrectionForm {
            registration_id: flash.inscription,
            slot_index: flash.creneau,
            ..CorrectionForm::default()
        },
        ..Sheet::default()
    };
    let corrected = !flash.corrigee.is_empty();
    show_sheet(&pages, &jar, &id, StatusCode::OK, sheet, corrected).await
}

/// The attendance sheet; `corrected` when a correction was just recorded (for the
/// registration and slot of `sheet.correction`).
async fn show_sheet(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    status: StatusCode,
    mut sheet: Sheet,
    corrected: bool,
) -> Response {
    let here = format!("/formations/sessions/{}/presences", encode(id));
    let (session, me) = match signed_in(pages, jar, &here).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (view, training) = match load(pages, &session.token, id, &here).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let powers = powers(&me, &view);
    if !powers.record {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Feuille de présence réservée",
            "Les présences d'une session sont saisies par ses formateurs, le référent de \
             son département et le pôle académique.",
        );
    }
    let now = pages.clock.now();
    let several_days = view.several_days();
    let editable = view.recording();
    let slot_minutes: Vec<i64> = view.slots.iter().map(SlotView::minutes).collect();
    let names = school_names(pages, &session.token, registrant_uais(&view)).await;
    let slots: Vec<Value> = view
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "index": i,
                "label": s.label(i, several_days),
                "editable": editable && s.started(now),
            })
        })
        .collect();
    let rows: Vec<Value> = view
        .confirmed()
        .into_iter()
        .enumerate()
        .map(|(n, r)| {
            let known = attended_slots(&slot_minutes, r.attended_minutes);
            let cells: Vec<Value> = view
                .slots
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let checked = match &sheet.ticked {
                        Some(ticked) => ticked.contains(&(i, r.id.clone())),
                        None => known.as_ref().is_some_and(|k| k[i]),
                    };
                    json!({
                        "slot": i,
                        "value": format!("{i}:{}", r.id),
                        "input": format!("presence-{n}-{i}"),
                        "checked": checked,
                        "known": known.as_ref().map(|k| k[i]),
                        "editable": editable && s.started(now),
                        "correct": format!(
                            "/formations/sessions/{}/presences?inscription={}&creneau={i}#correction",
                            encode(&view.id),
                            encode(&r.id)
                        ),
                    })
                })
                .collect();
            json!({
                "id": r.id,
                "n": n,
                "name": r.display_name,
                "school": r.school_uai,
                "school_name": r.school_uai.as_ref().and_then(|u| names.get(u)),
                "function": r.function,
                "attended": duration(r.attended_minutes),
                "cells": cells,
                "error": sheet.row_errors.get(&r.id),
            })
        })
        .collect();
    let any_editable = slots.iter().any(|s| s["editable"] == true);
    let correct = view.correcting();
    if corrected {
        let who = view
            .registration(&sheet.correction.registration_id)
            .map(|r| format!(" pour {}", r.display_name))
            .unwrap_or_default();
        let slot = sheet
            .correction
            .slot_index
            .parse::<usize>()
            .map(|slot| format!(", créneau {}", slot + 1))
            .unwrap_or_default();
        sheet.success = Some(format!(
            "Correction enregistrée{who}{slot} : son motif est tracé, elle figure dans \
             l'historique de la session."
        ));
    }
    let people: Vec<(String, String)> = view
        .confirmed()
        .into_iter()
        .map(|r| (r.id.clone(), r.display_name.clone()))
        .collect();
    let slot_choices: Vec<(String, String)> = view
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| (i.to_string(), s.label(i, several_days)))
        .collect();
    let history = history(pages, &session.token, "session", id, role_label).await;
    pages.templates.render(
        status,
        "session_attendance.html",
        minijinja::context! {
            title => "Feuille de présence",
            active => "trainings",
            me => Serde(&me),
            csrf => session.csrf(),
            id => view.id.clone(),
            facts => Serde(&facts(&view, &training)),
            slots => Serde(&slots),
            rows => Serde(&rows),
            editable => editable && any_editable,
            locked => view.locked(),
            not_yet => editable && !any_editable,
            success => sheet.success,
            error => sheet.error,
            error_title => if sheet.correction_refused {
                "Correction non enregistrée"
            } else {
                "Présences non enregistrées"
            },
            error_slot => sheet.slot,
            correct,
            correction => Serde(&sheet.correction),
            correction_errors => Serde(&sheet.correction_errors),
            people,
            slot_choices,
            marks => MARKS.to_vec(),
            reason_max => REASON_MAX,
            history => history.as_ref().map(Serde),
        },
    )
}

/// `POST /formations/sessions/{id}/presences/corrections`: a locked session's attendance
/// changed for one registration at one slot, with its reason (the API traces it).
pub async fn correct_attendance(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<CorrectionForm>,
) -> Response {
    let here = format!("/formations/sessions/{}/presences", encode(&id));
    let Some(session) = Session::of(&jar) else {
        return crate::session::to_login(&here);
    };
    if !session.accepts(&form.csrf) {
        return forged(&pages);
    }
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let refused = |error: String, correction_errors| Sheet {
        error: Some(error),
        correction_refused: true,
        correction: form.clone(),
        correction_errors,
        ..Sheet::default()
    };
    let body = match correction_body(&form) {
        Ok(body) => body,
        Err(errors) => {
            let sheet = refused(
                "La correction n'a pas été enregistrée : voyez les champs signalés du \
                 formulaire."
                    .into(),
                errors,
            );
            return show_sheet(
                &pages,
                &jar,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                sheet,
                false,
            )
            .await;
        }
    };
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/sessions/{id}/attendance/corrections"),
            &body,
        )
        .await;
    match result {
        Ok(_) => Redirect::to(&format!(
            "{here}?corrigee=1&inscription={}&creneau={}",
            encode(form.registration_id.trim()),
            encode(form.slot_index.trim())
        ))
        .into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            let mut errors = CorrectionErrors::default();
            let mut placed = false;
            for (field, message) in fields {
                placed |= errors.set(&field, message);
            }
            let error = if placed {
                "La correction n'a pas été enregistrée : voyez les champs signalés du \
                 formulaire."
                    .to_owned()
            } else {
                detail
            };
            let sheet = refused(error, errors);
            show_sheet(&pages, &jar, &id, client_error(status), sheet, false).await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

/// `POST /formations/sessions/{id}/presences`: the slot `creneau` of every confirmed
/// registrant, present when ticked, absent otherwise; the other slots are left as they
/// are (the sheet cannot show them for sure: see [`attended_slots`]).
pub async fn record_attendance(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let here = format!("/formations/sessions/{}/presences", encode(&id));
    let Some(session) = Session::of(&jar) else {
        return crate::session::to_login(&here);
    };
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if !session.accepts(value("csrf").unwrap_or_default()) {
        return forged(&pages);
    }
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let ticked: HashSet<(usize, String)> = fields
        .iter()
        .filter(|(k, _)| k == "presence")
        .filter_map(|(_, v)| {
            let (slot, registration) = v.split_once(':')?;
            Some((slot.parse().ok()?, registration.to_owned()))
        })
        .collect();
    let Some(slot) = value("creneau").and_then(|s| s.parse::<usize>().ok()) else {
        let sheet = Sheet {
            error: Some(
                "Choisissez le créneau à enregistrer avec son bouton « Enregistrer ».".into(),
            ),
            ticked: Some(ticked),
            ..Sheet::default()
        };
        return show_sheet(
            &pages,
            &jar,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            sheet,
            false,
        )
        .await;
    };
    let answer = match pages
        .api
        .get(&session.token, &format!("/api/v1/sessions/{id}"))
        .await
    {
        Ok(answer) => answer,
        Err(ApiError::Refused { status, .. }) if status == StatusCode::NOT_FOUND => {
            return unknown(&pages);
        }
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let view: SessionView = match serde_json::from_value(answer) {
        Ok(view) => view,
        Err(error) => return pages.templates.api_error(unreadable(error), &here),
    };
    if slot >= view.slots.len() {
        let sheet = Sheet {
            error: Some(format!(
                "Cette session compte {} créneau{} : choisissez-en un de la feuille.",
                view.slots.len(),
                if view.slots.len() > 1 { "x" } else { "" }
            )),
            ticked: Some(ticked),
            ..Sheet::default()
        };
        return show_sheet(
            &pages,
            &jar,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            sheet,
            false,
        )
        .await;
    }
    let mut row_errors = HashMap::new();
    let mut refused: Option<(StatusCode, String)> = None;
    for registration in view.confirmed() {
        let present = ticked.contains(&(slot, registration.id.clone()));
        let result = pages
            .api
            .command(
                &session.token,
                Method::POST,
                &format!("/api/v1/sessions/{id}/attendance"),
                &json!({
                    "registration_id": registration.id,
                    "slot_index": slot,
                    "status": if present { "present" } else { "absent" },
                }),
            )
            .await;
        match result {
            Ok(_) => {}
            // A conflict is the session's (locked, not begun, not now): the same for
            // everyone, said once.
            Err(ApiError::Refused { status, detail, .. }) if status == StatusCode::CONFLICT => {
                refused = Some((status, detail));
                break;
            }
            Err(ApiError::Refused { status, detail, .. }) => {
                row_errors.insert(registration.id.clone(), detail.clone());
                refused.get_or_insert((status, detail));
            }
            Err(error) => return pages.templates.api_error(error, &here),
        }
    }
    match refused {
        None => Redirect::to(&format!("{here}?succes={slot}")).into_response(),
        Some((status, detail)) => {
            let error = if row_errors.is_empty() {
                detail
            } else {
                format!(
                    "Les présences du créneau {} n'ont pas toutes été enregistrées : voyez \
                     les lignes signalées.",
                    slot + 1
                )
            };
            let sheet = Sheet {
                error: Some(error),
                slot: Some(slot),
                ticked: Some(ticked),
                row_errors,
                ..Sheet::default()
            };
            show_sheet(&pages, &jar, &id, client_error(status), sheet, false).await
        }
    }
}

// --- The sign-in sheet ------------------------------------------------------------------

/// `GET /formations/sessions/{id}/emargement`.
pub async fn sign_in_sheet(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/formations/sessions/{}/emargement", encode(&id));
    let (session, me) = match signed_in(&pages, &jar, &here).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (view, training) = match load(&pages, &session.token, &id, &here).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !powers(&me, &view).record {
        return pages.templates.error(
            StatusCode::FORBIDDEN,
            "Feuille d'émargement réservée",
            "La feuille d'émargement d'une session est imprimée par ses formateurs, le \
             référent de son département et le pôle académique.",
        );
    }
    let several_days = view.several_days();
    let slots: Vec<String> = view
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| s.label(i, several_days))
        .collect();
    let names = school_names(&pages, &session.token, registrant_uais(&view)).await;
    let rows: Vec<Value> = view
        .confirmed()
        .into_iter()
        .map(|r| {
            json!({
                "name": r.display_name,
                "school": r.school_uai,
                "school_name": r.school_uai.as_ref().and_then(|u| names.get(u)),
                "function": r.function,
            })
        })
        .collect();
    let trainers = trainer_names(&pages, &session.token, &me, &view.trainers).await;
    pages.templates.render(
        StatusCode::OK,
        "session_signin.html",
        minijinja::context! {
            title => "Feuille d'émargement",
            active => "trainings",
            me => Serde(&me),
            csrf => session.csrf(),
            id => view.id.clone(),
            facts => Serde(&facts(&view, &training)),
            slots,
            rows => Serde(&rows),
            trainers,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default()
    }

    fn someone(role: &str, scope: Option<&str>) -> Me {
        Me {
            id: String::new(),
            role: role.to_owned(),
            role_label: String::new(),
            scope: scope.map(str::to_owned),
        }
    }

    #[test]
    fn filters_default_to_this_school_year_and_name_their_errors() {
        let pole = someone("pole_manager", None);
        let referent = someone("department_referent", Some("31"));
        let (chosen, errors) = check(&Filters::default(), today(), &pole, &["31".into()]);
        assert!(!errors.any());
        assert_eq!(chosen.school_year, "2026-2027");
        assert_eq!(filters_query(&chosen), "annee=2026-2027");
        let wrong = Filters {
            annee: "2026".into(),
            etat: "perdue".into(),
            departement: "75".into(),
            ..Filters::default()
        };
        let (_, errors) = check(&wrong, today(), &pole, &["31".into()]);
        assert!(errors.annee.is_some() && errors.etat.is_some() && errors.departement.is_some());
        // A referent has no department filter: her department is her scope.
        let (chosen, errors) = check(&wrong, today(), &referent, &["31".into()]);
        assert!(errors.departement.is_none() && chosen.department.is_none());
        let open = Filters {
            etat: "ouverte".into(),
            ..Filters::default()
        };
        let (chosen, _) = check(&open, today(), &referent, &[]);
        assert_eq!(chosen.status.as_deref(), Some("open"));
    }

    #[test]
    fn only_a_school_narrows_the_list_to_its_own_registrants() {
        let ticked = Filters {
            inscrits: "1".into(),
            ..Filters::default()
        };
        let school = someone("school", Some("0310001A"));
        let (chosen, errors) = check(&ticked, today(), &school, &[]);
        assert!(!errors.any());
        assert_eq!(chosen.registered_from.as_deref(), Some("0310001A"));
        assert_eq!(filters_query(&chosen), "annee=2026-2027&inscrits=1");
        // Another role's URL carrying it (or a school's with another value) lists all.
        let referent = someone("department_referent", Some("31"));
        assert!(
            check(&ticked, today(), &referent, &[])
                .0
                .registered_from
                .is_none()
        );
        let other = Filters {
            inscrits: "oui".into(),
            ..Filters::default()
        };
        assert!(
            check(&other, today(), &school, &[])
                .0
                .registered_from
                .is_none()
        );
    }

    #[test]
    fn dates_and_durations_read_the_french_way() {
        assert_eq!(
            span("2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            "jeudi 3 décembre 2026, 9 h 00 – 17 h 00"
        );
        assert_eq!(
            span("2026-12-01T08:00:00Z", "2026-12-02T11:00:00Z"),
            "du 01/12/2026 9 h 00 au 02/12/2026 12 h 00"
        );
        assert_eq!(duration(210), "3 h 30");
        assert_eq!(duration(180), "3 h");
        assert_eq!(duration(45), "45 min");
    }

    #[test]
    fn a_registration_form_names_its_missing_fields_and_sends_the_recorded_function() {
        let Err(errors) = person_body(&PersonForm::default()) else {
            panic!("an empty form is sent");
        };
        assert!(errors.display_name.is_some() && errors.email.is_some());
        assert!(errors.function.is_some() && errors.mode.is_some());
        let form = PersonForm {
            display_name: " Alex Petit ".into(),
            email: "alex.petit@ac-toulouse.fr".into(),
            school_uai: "0310001h".into(),
            function: "autre".into(),
            mode: "volunteer".into(),
            ..PersonForm::default()
        };
        let Err(errors) = person_body(&form) else {
            panic!("« autre » without its name is sent");
        };
        assert!(errors.function_other.is_some() && errors.display_name.is_none());
        let form = PersonForm {
            function: "cpe".into(),
            ..form
        };
        let body = person_body(&form).unwrap_or_default();
        assert_eq!(
            body,
            json!({"person": {"display_name": "Alex Petit", "email": "alex.petit@ac-toulouse.fr",
                              "school_uai": "0310001H", "function": "CPE"}, "mode": "volunteer"})
        );
        let mut errors = PersonErrors::default();
        assert!(errors.set("person.school_uai", "non".into()));
        assert!(!errors.set("version", "non".into()));
    }

    #[test]
    fn a_correction_needs_its_reason_and_whole_minutes() {
        let form = CorrectionForm {
            registration_id: "0190f0a0-0000-7000-8000-000000000001".into(),
            slot_index: "1".into(),
            status: "present".into(),
            minutes: "1 h".into(),
            reason: "  ".into(),
            ..CorrectionForm::default()
        };
        let Err(errors) = correction_body(&form) else {
            panic!("a correction without reason is sent");
        };
        assert!(errors.reason.is_some() && errors.minutes.is_some());
        assert!(errors.registration_id.is_none() && errors.slot_index.is_none());
        let form = CorrectionForm {
            minutes: String::new(),
            reason: "Feuille retrouvée".into(),
            ..form
        };
        assert_eq!(
            correction_body(&form).unwrap_or_default(),
            json!({"registration_id": "0190f0a0-0000-7000-8000-000000000001", "slot_index": 1,
                   "status": "present", "minutes": null, "reason": "Feuille retrouvée"})
        );
    }

    #[test]
    fn the_slots_attended_are_shown_only_when_the_minutes_say_it_without_doubt() {
        assert_eq!(attended_slots(&[180, 210], 210), Some(vec![false, true]));
        assert_eq!(attended_slots(&[180, 210], 0), Some(vec![false, false]));
        assert_eq!(attended_slots(&[180, 180], 180), None);
        assert_eq!(attended_slots(&[180, 210], 150), None);
    }
}
