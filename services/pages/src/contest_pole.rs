//! The « Non au harcèlement » contest, for the pole: the editions and their entries, the
//! admissibility of the submitted entries, the jurors appointed and the entries assigned
//! to them, the jury's progress, the schools' deadline extensions, the edition's history;
//! the palmarès: the awards granted and taken back before the publication, the
//! publication, then the national round's results.
//!
//! | page | who |
//! |---|---|
//! | `GET /concours/pole` | the pole |
//! | `GET /concours/pole/{contest_id}`; `POST …/jures`, `…/participations/{id}/recevabilite`, `…/participations/{id}/jure` | the pole |
//! | `GET /concours/pole/{contest_id}/palmares`; `POST …/palmares/publier`, `…/participations/{id}/distinctions`, `…/distinctions/retrait`, `…/participations/{id}/national` | the pole |
//! | `POST /concours/pole/{contest_id}/prolongations` (a school's deadline extension) | the pole |
//!
//! Everything is read from the REST API: the page shown after a command must show it,
//! and the jury's progress is only there.

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use minijinja::value::Serde;
use pharos_events::contest::{AwardKind, EntryStatus};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Pages;
use crate::api::ApiError;
use crate::common::{
    POLE, department_label, departments, forbidden, french_date, history, paris_time, query,
    school_names, signed_in_as, with_query,
};
use crate::contest_api::{Edition, EditionList, Summary, SummaryList};
use crate::home::Me;
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/concours/pole", get(list))
        .route("/concours/pole/{contest_id}", get(edition_page))
        .route("/concours/pole/{contest_id}/jures", post(appoint))
        .route(
            "/concours/pole/{contest_id}/participations/{entry_id}/recevabilite",
            post(admissibility),
        )
        .route(
            "/concours/pole/{contest_id}/participations/{entry_id}/jure",
            post(assign),
        )
        .route("/concours/pole/{contest_id}/palmares", get(palmares))
        .route(
            "/concours/pole/{contest_id}/palmares/publier",
            post(publish),
        )
        .route(
            "/concours/pole/{contest_id}/participations/{entry_id}/distinctions",
            post(grant_award),
        )
        .route(
            "/concours/pole/{contest_id}/participations/{entry_id}/distinctions/retrait",
            post(revoke_award),
        )
        .route(
            "/concours/pole/{contest_id}/participations/{entry_id}/national",
            post(national_result),
        )
        .route("/concours/pole/{contest_id}/prolongations", post(extend))
}

const REFUSAL: (&str, &str) = (
    "Pages réservées au pôle académique",
    "Le suivi du concours « Non au harcèlement » (recevabilité, jury, palmarès) revient au pôle \
     académique. Revenez à l'accueil pour les pages de votre espace.",
);

const FORGED: (&str, &str) = (
    "Formulaire refusé",
    "Ce formulaire ne vient pas de Pharos ou a expiré. Revenez à la page, puis envoyez-le à \
     nouveau.",
);

/// Every status, in the order of an entry's life: the filter's options.
const STATUSES: [EntryStatus; 13] = [
    EntryStatus::Draft,
    EntryStatus::Submitted,
    EntryStatus::Admissible,
    EntryStatus::Inadmissible,
    EntryStatus::UnderJury,
    EntryStatus::Withdrawn,
    EntryStatus::Laureate,
    EntryStatus::Mention,
    EntryStatus::NotSelected,
    EntryStatus::NominatedNational,
    EntryStatus::NationalLaureate,
    EntryStatus::NotAwarded,
    EntryStatus::Archived,
];

/// `under_jury`: the status as the API spells it.
fn status_key(status: EntryStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The DSFR badge of a status.
fn status_badge(status: EntryStatus) -> &'static str {
    match status {
        EntryStatus::Draft | EntryStatus::Submitted => "fr-badge--info",
        EntryStatus::Withdrawn | EntryStatus::Archived => "",
        EntryStatus::Inadmissible | EntryStatus::NotSelected | EntryStatus::NotAwarded => {
            "fr-badge--warning"
        }
        _ => "fr-badge--success",
    }
}

/// « 0 note sur 1 », « 3 notes sur 5 ».
fn notes_label(scored: usize, total: usize) -> String {
    let plural = if scored > 1 { "s" } else { "" };
    format!("{scored} note{plural} sur {total}")
}

/// `1` → « 1er », `2` and tied → « 2e ex æquo ».
fn rank_label(rank: Option<u32>, tied: bool) -> String {
    match rank {
        None => "—".to_owned(),
        Some(1) if tied => "1er ex æquo".to_owned(),
        Some(1) => "1er".to_owned(),
        Some(n) if tied => format!("{n}e ex æquo"),
        Some(n) => format!("{n}e"),
    }
}

/// `14.25` → « 14,25 / 20 ».
fn score_label(score: Option<f64>) -> String {
    score.map_or_else(
        || "—".to_owned(),
        |s| format!("{s:.2}\u{a0}/\u{a0}20").replace('.', ","),
    )
}

// ----------------------------------------------------------------------------------------
// What the API answers.

#[derive(Debug, Default, Deserialize)]
struct JurorProgress {
    user_id: Uuid,
    assigned: usize,
    scored: usize,
}

#[derive(Debug, Deserialize)]
struct EntryProgress {
    entry_id: Uuid,
    category: String,
    title: String,
    jurors: Vec<Uuid>,
    scored_by: Vec<Uuid>,
    score: Option<f64>,
    rank: Option<u32>,
    tied: bool,
    #[serde(default)]
    awards: Vec<AwardKind>,
}

#[derive(Debug, Default, Deserialize)]
struct JuryProgress {
    jurors: Vec<JurorProgress>,
    entries: Vec<EntryProgress>,
}

#[derive(Debug, Deserialize)]
struct Account {
    id: Uuid,
    display_name: String,
    email: String,
}

#[derive(Debug, Deserialize)]
struct AccountList {
    items: Vec<Account>,
}

async fn entries_of(
    pages: &Pages,
    session: &Session,
    contest_id: Uuid,
    filter: &str,
) -> Result<Vec<Summary>, ApiError> {
    let path = with_query(
        &format!("/api/v1/contests/{contest_id}/entries"),
        &crate::common::join(filter, "limit=500"),
    );
    pages
        .api
        .get_as::<SummaryList>(&session.token, &path)
        .await
        .map(|l| l.items)
}

// ----------------------------------------------------------------------------------------
// `GET /concours/pole`

#[derive(Debug, Serialize)]
struct Count {
    label: &'static str,
    count: usize,
}

#[derive(Debug, Serialize)]
struct EditionRow {
    id: Uuid,
    edition: u32,
    opens: String,
    deadline: String,
    jury_on: Option<String>,
    published: bool,
    closed: bool,
    total: usize,
    counts: Vec<Count>,
}

#[derive(Debug, Serialize)]
struct Year {
    school_year: String,
    editions: Vec<EditionRow>,
}

pub async fn list(State(pages): State<Pages>, jar: CookieJar) -> Response {
    let here = "/concours/pole";
    let (session, me) = match signed_in_as(&pages, &jar, here, POLE, REFUSAL).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let mut editions = match pages
        .api
        .get_as::<EditionList>(&session.token, "/api/v1/contests")
        .await
    {
        Ok(list) => list.items,
        Err(error) => return pages.templates.api_error(error, here),
    };
    editions.sort_by(|a, b| (&b.school_year, b.edition).cmp(&(&a.school_year, a.edition)));
    let mut years: Vec<Year> = Vec::new();
    for edition in editions {
        let entries = match entries_of(&pages, &session, edition.id, "").await {
            Ok(entries) => entries,
            Err(error) => return pages.templates.api_error(error, here),
        };
        let counts = STATUSES
            .iter()
            .map(|s| Count {
                label: s.label(),
                count: entries.iter().filter(|e| e.status == *s).count(),
            })
            .filter(|c| c.count > 0)
            .collect();
        let row = EditionRow {
            id: edition.id,
            edition: edition.edition,
            opens: paris_time(&edition.opens_at.to_rfc3339()),
            deadline: paris_time(&edition.submission_deadline.to_rfc3339()),
            jury_on: edition.jury_on.as_deref().map(french_date),
            published: edition.results_published,
            closed: edition.closed,
            total: entries.len(),
            counts,
        };
        match years.last_mut() {
            Some(year) if year.school_year == edition.school_year => year.editions.push(row),
            _ => years.push(Year {
                school_year: edition.school_year.clone(),
                editions: vec![row],
            }),
        }
    }
    pages.templates.render(
        StatusCode::OK,
        "contest_pole.html",
        minijinja::context! {
            title => "Concours « Non au harcèlement » : les éditions",
            active => "contest_pole",
            me => Serde(&me),
            csrf => session.csrf(),
            years => Serde(&years),
        },
    )
}

// ----------------------------------------------------------------------------------------
// `GET /concours/pole/{contest_id}`

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    statut: String,
    #[serde(default)]
    categorie: String,
    #[serde(default)]
    departement: String,
    recevabilite: Option<String>,
    jure: Option<String>,
    attribution: Option<String>,
    prolongation: Option<String>,
}

/// A refused form of the edition's page: which one (`appoint`, `admissibility-{id}`,
/// `assign-{id}`), the API's detail, the messages next to fields, what was typed.
#[derive(Debug, Default, Serialize)]
struct Refusal {
    form: String,
    detail: String,
    errors: HashMap<String, String>,
    values: HashMap<String, String>,
}

/// A select's option: value, label.
type Choice = (String, String);

#[derive(Debug, Serialize)]
struct EntryRow {
    id: Uuid,
    school: String,
    department: String,
    category: String,
    title: String,
    status: &'static str,
    badge: &'static str,
    files: usize,
    /// A submitted entry: the admissibility form.
    decide: bool,
    /// An admissible entry, before the palmarès: the assignment form, with these jurors.
    assignable: Vec<Choice>,
    can_assign: bool,
}

#[derive(Debug, Serialize)]
struct JurorRow {
    name: String,
    attachment: String,
    assigned: usize,
    scored: usize,
}

/// A school's later deadline, as the pole granted it.
#[derive(Debug, Serialize)]
struct ExtensionRow {
    school: String,
    until: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct ProgressRow {
    title: String,
    category: String,
    jurors: Vec<String>,
    scored: usize,
    total: usize,
    notes: String,
    score: String,
    rank: String,
}

fn success_of(filters: &Filters) -> Option<&'static str> {
    if filters.recevabilite.is_some() {
        Some("Recevabilité enregistrée.")
    } else if filters.jure.is_some() {
        Some("Juré nommé pour l'édition : attribuez-lui maintenant des productions recevables.")
    } else if filters.attribution.is_some() {
        Some("Production attribuée au juré.")
    } else if filters.prolongation.is_some() {
        Some("Prolongation accordée : l'établissement peut déposer jusqu'à sa nouvelle limite.")
    } else {
        None
    }
}

async fn render_edition(
    pages: &Pages,
    (session, me): (&Session, &Me),
    contest_id: Uuid,
    filters: &Filters,
    status: StatusCode,
    refusal: Refusal,
) -> Response {
    let here = format!("/concours/pole/{contest_id}");
    let edition: Edition = match pages
        .api
        .get_as(&session.token, &format!("/api/v1/contests/{contest_id}"))
        .await
    {
        Ok(edition) => edition,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let mut filter_errors: HashMap<&str, String> = HashMap::new();
    let status_filter = match filters.statut.trim() {
        "" => None,
        key => match STATUSES.iter().find(|s| status_key(**s) == key) {
            Some(s) => Some(*s),
            None => {
                filter_errors.insert("statut", "Choisissez un statut de la liste.".to_owned());
                None
            }
        },
    };
    let category = filters.categorie.trim();
    let category = if category.is_empty() || edition.categories.iter().any(|c| c.key == category) {
        category
    } else {
        filter_errors.insert(
            "categorie",
            "Choisissez une catégorie de l'édition.".to_owned(),
        );
        ""
    };
    let department = filters.departement.trim();
    let department = if department.is_empty()
        || pages
            .academy
            .departments
            .iter()
            .any(|d| d.as_str() == department)
    {
        department
    } else {
        filter_errors.insert(
            "departement",
            "Choisissez un département de l'académie.".to_owned(),
        );
        ""
    };
    let api_filter = query(&[("category", category), ("department", department)]);
    let entries = match entries_of(pages, session, contest_id, &api_filter).await {
        Ok(entries) => entries,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let progress: JuryProgress = match pages
        .api
        .get_as(
            &session.token,
            &format!("/api/v1/contests/{contest_id}/jury-progress"),
        )
        .await
    {
        Ok(progress) => progress,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    // The juror accounts: to appoint one, and the names of those appointed.
    let accounts = pages
        .api
        .get_as::<AccountList>(
            &session.token,
            "/api/v1/users?role=juror&active=true&limit=100",
        )
        .await
        .map(|l| l.items)
        .inspect_err(|error| tracing::debug!(?error, "juror accounts unavailable to the pages"))
        .unwrap_or_default();
    let names: HashMap<Uuid, String> = accounts
        .iter()
        .map(|a| (a.id, a.display_name.clone()))
        .collect();
    let name_of = |id: &Uuid| {
        names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("Juré {}", &id.to_string()[..8]))
    };
    let schools = school_names(
        pages,
        &session.token,
        entries
            .iter()
            .map(|e| &e.school_uai)
            .chain(edition.extensions.iter().map(|x| &x.school_uai)),
    )
    .await;
    let named = |uai: &String| {
        schools
            .get(uai)
            .map_or_else(|| uai.clone(), |name| format!("{name} ({uai})"))
    };
    let mut extensions: Vec<&crate::contest_api::Extension> = edition.extensions.iter().collect();
    extensions.sort_by(|a, b| (a.until, &a.school_uai).cmp(&(b.until, &b.school_uai)));
    let extensions: Vec<ExtensionRow> = extensions
        .into_iter()
        .map(|x| ExtensionRow {
            school: named(&x.school_uai),
            until: paris_time(&x.until.to_rfc3339()),
            reason: x.reason.clone(),
        })
        .collect();
    let history = history(
        pages,
        &session.token,
        "contest",
        &contest_id.to_string(),
        crate::actions::role_label,
    )
    .await
    .unwrap_or_default();
    let assigned: HashMap<Uuid, &Vec<Uuid>> = progress
        .entries
        .iter()
        .map(|p| (p.entry_id, &p.jurors))
        .collect();
    let open = !edition.results_published && !edition.closed;
    let rows: Vec<EntryRow> = entries
        .iter()
        .filter(|e| status_filter.is_none_or(|s| s == e.status))
        .map(|e| {
            let already = assigned.get(&e.id).copied();
            let can_assign =
                open && matches!(e.status, EntryStatus::Admissible | EntryStatus::UnderJury);
            let assignable = if can_assign {
                edition
                    .jurors
                    .iter()
                    .filter(|j| already.is_none_or(|a| !a.contains(&j.user_id)))
                    .map(|j| (j.user_id.to_string(), name_of(&j.user_id)))
                    .collect()
            } else {
                Vec::new()
            };
            EntryRow {
                id: e.id,
                school: named(&e.school_uai),
                department: department_label(&e.department),
                category: edition.category_label(&e.category),
                title: e.title.clone(),
                status: e.status.label(),
                badge: status_badge(e.status),
                files: e.files,
                decide: open && e.status == EntryStatus::Submitted,
                assignable,
                can_assign,
            }
        })
        .collect();
    let by_juror: HashMap<Uuid, &JurorProgress> =
        progress.jurors.iter().map(|j| (j.user_id, j)).collect();
    let jurors: Vec<JurorRow> = edition
        .jurors
        .iter()
        .map(|j| {
            let attachment = match (&j.school_uai, &j.department) {
                (Some(uai), _) => format!("Établissement {uai}"),
                (None, Some(code)) => format!("Département {}", department_label(code)),
                (None, None) => "Aucun".to_owned(),
            };
            let done = by_juror.get(&j.user_id);
            JurorRow {
                name: name_of(&j.user_id),
                attachment,
                assigned: done.map_or(0, |p| p.assigned),
                scored: done.map_or(0, |p| p.scored),
            }
        })
        .collect();
    let appointed: Vec<Uuid> = edition.jurors.iter().map(|j| j.user_id).collect();
    let candidates: Vec<Choice> = accounts
        .iter()
        .filter(|a| !appointed.contains(&a.id))
        .map(|a| {
            (
                a.id.to_string(),
                format!("{} ({})", a.display_name, a.email),
            )
        })
        .collect();
    let progress_rows: Vec<ProgressRow> = progress
        .entries
        .iter()
        .map(|p| ProgressRow {
            title: p.title.clone(),
            category: edition.category_label(&p.category),
            jurors: p.jurors.iter().map(&name_of).collect(),
            scored: p.scored_by.len(),
            total: p.jurors.len(),
            notes: notes_label(p.scored_by.len(), p.jurors.len()),
            score: score_label(p.score),
            rank: rank_label(p.rank, p.tied),
        })
        .collect();
    let scored: usize = progress_rows.iter().map(|p| p.scored).sum();
    let expected: usize = progress_rows.iter().map(|p| p.total).sum();
    let status_options: Vec<(String, &str)> = STATUSES
        .iter()
        .map(|s| (status_key(*s), s.label()))
        .collect();
    let category_options: Vec<(String, String)> = edition
        .categories
        .iter()
        .map(|c| (c.key.clone(), c.label.clone()))
        .collect();
    pages.templates.render(
        status,
        "contest_pole_edition.html",
        minijinja::context! {
            title => format!("Concours : édition {} ({})", edition.edition, edition.school_year),
            active => "contest_pole",
            me => Serde(me),
            csrf => session.csrf(),
            contest_id => contest_id.to_string(),
            edition => edition.edition,
            school_year => &edition.school_year,
            opens => paris_time(&edition.opens_at.to_rfc3339()),
            deadline => paris_time(&edition.submission_deadline.to_rfc3339()),
            jury_on => edition.jury_on.as_deref().map(french_date),
            published => edition.results_published,
            closed => edition.closed,
            open,
            entries => Serde(&rows),
            filtered => !api_filter.is_empty() || status_filter.is_some(),
            filters => Serde(&json!({
                "statut": filters.statut, "categorie": filters.categorie,
                "departement": filters.departement,
            })),
            filter_errors => Serde(&filter_errors),
            status_options => Serde(&status_options),
            category_options => Serde(&category_options),
            department_options => Serde(&departments(pages)),
            jurors => Serde(&jurors),
            candidates => Serde(&candidates),
            progress => Serde(&progress_rows),
            scored,
            expected,
            total_notes => notes_label(scored, expected),
            extensions => Serde(&extensions),
            history => Serde(&history),
            success => if refusal.form.is_empty() { success_of(filters) } else { None },
            refusal => Serde(&refusal),
        },
    )
}

pub async fn edition_page(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(contest_id): Path<Uuid>,
    Query(filters): Query<Filters>,
) -> Response {
    let here = with_query(
        &format!("/concours/pole/{contest_id}"),
        &query(&[
            ("statut", &filters.statut),
            ("categorie", &filters.categorie),
            ("departement", &filters.departement),
        ]),
    );
    let (session, me) = match signed_in_as(&pages, &jar, &here, POLE, REFUSAL).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    render_edition(
        &pages,
        (&session, &me),
        contest_id,
        &filters,
        StatusCode::OK,
        Refusal::default(),
    )
    .await
}

/// A command of the edition's page: sent, then back to the page with `flag`; refused,
/// the page again with the API's detail (and its field messages) on `form`.
#[allow(clippy::too_many_arguments)] // the page and the form shown again
async fn run(
    pages: &Pages,
    who: (&Session, &Me),
    contest_id: Uuid,
    path: &str,
    body: &Value,
    form: String,
    values: HashMap<String, String>,
    flag: &str,
) -> Response {
    let here = format!("/concours/pole/{contest_id}");
    match pages
        .api
        .command(&who.0.token, Method::POST, path, body)
        .await
    {
        Ok(_) => Redirect::to(&format!("{here}?{flag}=1")).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() => {
            let refusal = Refusal {
                form,
                detail,
                errors: fields.into_iter().collect(),
                values,
            };
            render_edition(pages, who, contest_id, &Filters::default(), status, refusal).await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

#[derive(Debug, Deserialize)]
pub struct AdmissibilityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

pub async fn admissibility(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((contest_id, entry_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<AdmissibilityForm>,
) -> Response {
    let here = format!("/concours/pole/{contest_id}");
    let (session, me) = match pole_form(&pages, &jar, &here, &form.csrf).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let reason = form.reason.trim();
    let values = HashMap::from([("reason".to_owned(), reason.to_owned())]);
    let key = format!("admissibility-{entry_id}");
    let admissible = match form.decision.as_str() {
        "recevable" => Some(true),
        "irrecevable" => Some(false),
        _ => None,
    };
    let missing = match admissible {
        None => Some(("decision", "Choisissez « Recevable » ou « Irrecevable ».")),
        Some(false) if reason.is_empty() => Some((
            "reason",
            "Indiquez le motif de l'irrecevabilité : il est communiqué à l'établissement.",
        )),
        _ => None,
    };
    if let Some((field, message)) = missing {
        let refusal = Refusal {
            form: key,
            detail: "La recevabilité n'a pas été enregistrée : un champ est à corriger.".into(),
            errors: HashMap::from([(field.to_owned(), message.to_owned())]),
            values,
        };
        return render_edition(
            &pages,
            (&session, &me),
            contest_id,
            &Filters::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal,
        )
        .await;
    }
    let body = if admissible == Some(true) {
        json!({ "admissible": true })
    } else {
        json!({ "admissible": false, "reason": reason })
    };
    run(
        &pages,
        (&session, &me),
        contest_id,
        &format!("/api/v1/entries/{entry_id}/admissibility"),
        &body,
        key,
        values,
        "recevabilite",
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct AppointForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    school_uai: String,
    #[serde(default)]
    department: String,
}

pub async fn appoint(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(contest_id): Path<Uuid>,
    Form(form): Form<AppointForm>,
) -> Response {
    let here = format!("/concours/pole/{contest_id}");
    let (session, me) = match pole_form(&pages, &jar, &here, &form.csrf).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let values = HashMap::from([
        ("user_id".to_owned(), form.user_id.clone()),
        ("school_uai".to_owned(), form.school_uai.trim().to_owned()),
        ("department".to_owned(), form.department.clone()),
    ]);
    let Ok(user_id) = form.user_id.trim().parse::<Uuid>() else {
        let refusal = Refusal {
            form: "appoint".into(),
            detail: "Le juré n'a pas été nommé : un champ est à corriger.".into(),
            errors: HashMap::from([(
                "user_id".to_owned(),
                "Choisissez un compte de juré dans la liste.".to_owned(),
            )]),
            values,
        };
        return render_edition(
            &pages,
            (&session, &me),
            contest_id,
            &Filters::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal,
        )
        .await;
    };
    let optional = |text: &str| {
        Some(text.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let body = json!({
        "user_id": user_id,
        "school_uai": optional(&form.school_uai),
        "department": optional(&form.department),
    });
    run(
        &pages,
        (&session, &me),
        contest_id,
        &format!("/api/v1/contests/{contest_id}/jurors"),
        &body,
        "appoint".into(),
        values,
        "jure",
    )
    .await
}

/// The pole member posting one of these forms, its CSRF token checked; else the page to
/// show instead (sign-in, the 403 for another role, or the forged-form refusal).
async fn pole_form(
    pages: &Pages,
    jar: &CookieJar,
    here: &str,
    csrf: &str,
) -> Result<(Session, Me), Response> {
    let (session, me) = signed_in_as(pages, jar, here, POLE, REFUSAL).await?;
    if session.accepts(csrf) {
        Ok((session, me))
    } else {
        Err(forbidden(pages, FORGED))
    }
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    juror_id: String,
}

pub async fn assign(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((contest_id, entry_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<AssignForm>,
) -> Response {
    let here = format!("/concours/pole/{contest_id}");
    let (session, me) = match pole_form(&pages, &jar, &here, &form.csrf).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let key = format!("assign-{entry_id}");
    let values = HashMap::from([("juror_id".to_owned(), form.juror_id.clone())]);
    let Ok(juror_id) = form.juror_id.trim().parse::<Uuid>() else {
        let refusal = Refusal {
            form: key,
            detail: "La production n'a pas été attribuée : un champ est à corriger.".into(),
            errors: HashMap::from([(
                "juror_id".to_owned(),
                "Choisissez un juré nommé pour l'édition.".to_owned(),
            )]),
            values,
        };
        return render_edition(
            &pages,
            (&session, &me),
            contest_id,
            &Filters::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal,
        )
        .await;
    };
    run(
        &pages,
        (&session, &me),
        contest_id,
        &format!("/api/v1/entries/{entry_id}/jurors"),
        &json!({ "juror_id": juror_id }),
        key,
        values,
        "attribution",
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct ExtensionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    school_uai: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
}

/// A later deadline for a school, with its reason (`POST …/deadline-extensions`).
pub async fn extend(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(contest_id): Path<Uuid>,
    Form(form): Form<ExtensionForm>,
) -> Response {
    let here = format!("/concours/pole/{contest_id}");
    let (session, me) = match pole_form(&pages, &jar, &here, &form.csrf).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let (uai, until, reason) = (
        form.school_uai.trim().to_uppercase(),
        form.until.trim().to_owned(),
        form.reason.trim().to_owned(),
    );
    let values = HashMap::from([
        ("school_uai".to_owned(), uai.clone()),
        ("until".to_owned(), until.clone()),
        ("reason".to_owned(), reason.clone()),
    ]);
    let mut errors = HashMap::new();
    if uai.is_empty() {
        errors.insert(
            "school_uai".to_owned(),
            "Indiquez l'UAI de l'établissement, par exemple 0310001H.".to_owned(),
        );
    }
    if until.is_empty() {
        errors.insert(
            "until".to_owned(),
            "Indiquez la nouvelle date limite : le jour et l'heure, heure de Paris.".to_owned(),
        );
    }
    if reason.is_empty() {
        errors.insert(
            "reason".to_owned(),
            "Indiquez le motif de la prolongation : il est consigné.".to_owned(),
        );
    }
    if !errors.is_empty() {
        let refusal = Refusal {
            form: "extension".into(),
            detail: "La prolongation n'a pas été accordée : un champ est à corriger.".into(),
            errors,
            values,
        };
        return render_edition(
            &pages,
            (&session, &me),
            contest_id,
            &Filters::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal,
        )
        .await;
    }
    run(
        &pages,
        (&session, &me),
        contest_id,
        &format!("/api/v1/contests/{contest_id}/deadline-extensions"),
        &json!({ "school_uai": uai, "until": until, "reason": reason }),
        "extension".into(),
        values,
        "prolongation",
    )
    .await
}

// ----------------------------------------------------------------------------------------
// `GET /concours/pole/{contest_id}/palmares`, and its forms: the awards before the
// publication, the publication, the national round's results after it.

#[derive(Debug, Deserialize)]
struct PalmaresEntry {
    entry_id: Uuid,
    title: String,
    school_uai: String,
    school_name: String,
    pupil_count: u32,
    #[serde(default)]
    awards: Vec<AwardKind>,
    #[serde(default)]
    special_prizes: Vec<String>,
    score: Option<f64>,
    rank: Option<u32>,
    tied: bool,
}

#[derive(Debug, Deserialize)]
struct PalmaresCategory {
    key: String,
    label: String,
    entries: Vec<PalmaresEntry>,
}

#[derive(Debug, Deserialize)]
struct PalmaresView {
    categories: Vec<PalmaresCategory>,
}

#[derive(Debug, Serialize)]
struct RankRow {
    id: Uuid,
    rank: String,
    tied: bool,
    title: String,
    school: String,
    pupils: Option<u32>,
    score: String,
    awards: Vec<String>,
    /// The awards it holds, to take back before the publication: (kind, label).
    held: Vec<Choice>,
    /// The awards it may still be granted: (kind, label).
    grantable: Vec<Choice>,
}

#[derive(Debug, Serialize)]
struct RankCategory {
    label: String,
    entries: Vec<RankRow>,
}

/// An entry selected for the national round, with its result if recorded.
#[derive(Debug, Serialize)]
struct NationalRow {
    id: Uuid,
    title: String,
    school: String,
    category: String,
    status: &'static str,
    badge: &'static str,
    /// `laureate`, `non_primee`, or empty while the result is awaited.
    result: &'static str,
}

const AWARDS: [AwardKind; 4] = [
    AwardKind::Laureate,
    AwardKind::Mention,
    AwardKind::CoupDeCoeur,
    AwardKind::NominatedNational,
];

/// `coup_de_coeur`: the award as the API spells it.
fn award_key(kind: AwardKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn award_of(key: &str) -> Option<AwardKind> {
    AWARDS.iter().copied().find(|k| award_key(*k) == key.trim())
}

/// Which command of the palmarès page succeeded (`?distinction=1`…).
#[derive(Debug, Default, Deserialize)]
pub struct PalmaresFlags {
    distinction: Option<String>,
    retrait: Option<String>,
    publication: Option<String>,
    national: Option<String>,
}

impl PalmaresFlags {
    fn success(&self) -> Option<&'static str> {
        if self.distinction.is_some() {
            Some("Distinction attribuée.")
        } else if self.retrait.is_some() {
            Some("Distinction retirée : la place est de nouveau libre dans la catégorie.")
        } else if self.publication.is_some() {
            Some(
                "Palmarès publié : il est figé et lisible de tous. Enregistrez ici les résultats \
                 du concours national dès qu'ils sont connus.",
            )
        } else if self.national.is_some() {
            Some("Résultat du concours national enregistré.")
        } else {
            None
        }
    }
}

pub async fn palmares(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(contest_id): Path<Uuid>,
    Query(flags): Query<PalmaresFlags>,
) -> Response {
    let here = format!("/concours/pole/{contest_id}/palmares");
    let (session, me) = match signed_in_as(&pages, &jar, &here, POLE, REFUSAL).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    render_palmares(
        &pages,
        (&session, &me),
        contest_id,
        flags.success(),
        StatusCode::OK,
        Refusal::default(),
    )
    .await
}

async fn render_palmares(
    pages: &Pages,
    (session, me): (&Session, &Me),
    contest_id: Uuid,
    success: Option<&str>,
    status: StatusCode,
    refusal: Refusal,
) -> Response {
    let here = format!("/concours/pole/{contest_id}/palmares");
    let edition: Edition = match pages
        .api
        .get_as(&session.token, &format!("/api/v1/contests/{contest_id}"))
        .await
    {
        Ok(edition) => edition,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let open = !edition.results_published && !edition.closed;
    let categories: Vec<RankCategory> = if edition.results_published {
        let view: PalmaresView = match pages
            .api
            .get_as(
                &session.token,
                &format!("/api/v1/contests/{contest_id}/palmares"),
            )
            .await
        {
            Ok(view) => view,
            Err(error) => return pages.templates.api_error(error, &here),
        };
        view.categories
            .into_iter()
            .map(|c| RankCategory {
                label: if c.label.is_empty() { c.key } else { c.label },
                entries: c
                    .entries
                    .into_iter()
                    .map(|e| RankRow {
                        id: e.entry_id,
                        rank: rank_label(e.rank, e.tied),
                        tied: e.tied,
                        school: if e.school_name.is_empty() {
                            e.school_uai
                        } else {
                            format!("{} ({})", e.school_name, e.school_uai)
                        },
                        title: e.title,
                        pupils: Some(e.pupil_count),
                        score: score_label(e.score),
                        awards: e
                            .awards
                            .iter()
                            .map(|a| a.label().to_owned())
                            .chain(e.special_prizes.iter().map(|key| {
                                let label = edition
                                    .special_prizes
                                    .iter()
                                    .find(|p| &p.key == key)
                                    .map_or(key.as_str(), |p| p.label.as_str());
                                format!("prix spécial « {label} »")
                            }))
                            .collect(),
                        held: Vec::new(),
                        grantable: Vec::new(),
                    })
                    .collect(),
            })
            .collect()
    } else {
        // Before publication: the jury's ranking so far, from its progress, with the
        // awards granted meanwhile (each can be taken back until the publication).
        let progress: JuryProgress = match pages
            .api
            .get_as(
                &session.token,
                &format!("/api/v1/contests/{contest_id}/jury-progress"),
            )
            .await
        {
            Ok(progress) => progress,
            Err(error) => return pages.templates.api_error(error, &here),
        };
        let mut by_category: BTreeMap<String, Vec<&EntryProgress>> = BTreeMap::new();
        for entry in &progress.entries {
            by_category
                .entry(entry.category.clone())
                .or_default()
                .push(entry);
        }
        edition
            .categories
            .iter()
            .filter_map(|c| {
                let mut entries = by_category.remove(&c.key)?;
                entries.sort_by(|a, b| {
                    (a.rank.unwrap_or(u32::MAX), &a.title)
                        .cmp(&(b.rank.unwrap_or(u32::MAX), &b.title))
                });
                Some(RankCategory {
                    label: c.label.clone(),
                    entries: entries
                        .into_iter()
                        .map(|e| RankRow {
                            id: e.entry_id,
                            rank: rank_label(e.rank, e.tied),
                            tied: e.tied,
                            title: e.title.clone(),
                            school: String::new(),
                            pupils: None,
                            score: score_label(e.score),
                            awards: e.awards.iter().map(|a| a.label().to_owned()).collect(),
                            held: e
                                .awards
                                .iter()
                                .map(|a| (award_key(*a), a.label().to_owned()))
                                .collect(),
                            grantable: AWARDS
                                .iter()
                                .filter(|a| !e.awards.contains(a))
                                .map(|a| (award_key(*a), a.label().to_owned()))
                                .collect(),
                        })
                        .collect(),
                })
            })
            .collect()
    };
    // After the publication: the entries selected for the national round.
    let national: Vec<NationalRow> = if edition.results_published {
        let entries = match entries_of(pages, session, contest_id, "").await {
            Ok(entries) => entries,
            Err(error) => return pages.templates.api_error(error, &here),
        };
        let selected: Vec<&Summary> = entries
            .iter()
            .filter(|e| {
                matches!(
                    e.status,
                    EntryStatus::NominatedNational
                        | EntryStatus::NationalLaureate
                        | EntryStatus::NotAwarded
                )
            })
            .collect();
        let schools = school_names(
            pages,
            &session.token,
            selected.iter().map(|e| &e.school_uai),
        )
        .await;
        selected
            .into_iter()
            .map(|e| NationalRow {
                id: e.id,
                title: e.title.clone(),
                school: schools.get(&e.school_uai).map_or_else(
                    || e.school_uai.clone(),
                    |name| format!("{name} ({})", e.school_uai),
                ),
                category: edition.category_label(&e.category),
                status: e.status.label(),
                badge: status_badge(e.status),
                result: match e.status {
                    EntryStatus::NationalLaureate => "laureate",
                    EntryStatus::NotAwarded => "non_primee",
                    _ => "",
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    let history = history(
        pages,
        &session.token,
        "contest",
        &contest_id.to_string(),
        crate::actions::role_label,
    )
    .await
    .unwrap_or_default();
    let awarded = categories
        .iter()
        .flat_map(|c| &c.entries)
        .any(|e| !e.awards.is_empty());
    pages.templates.render(
        status,
        "contest_pole_palmares.html",
        minijinja::context! {
            title => format!("Palmarès : édition {} ({})", edition.edition, edition.school_year),
            active => "contest_pole",
            me => Serde(me),
            csrf => session.csrf(),
            contest_id => contest_id.to_string(),
            edition => edition.edition,
            school_year => &edition.school_year,
            published => edition.results_published,
            closed => edition.closed,
            open,
            awarded,
            categories => Serde(&categories),
            national => Serde(&national),
            history => Serde(&history),
            success => if refusal.form.is_empty() { success } else { None },
            refusal => Serde(&refusal),
        },
    )
}

/// A command of the palmarès page: sent, then back to the page with `flag`; refused,
/// the page again with the API's detail (and its field messages) on `form`.
#[allow(clippy::too_many_arguments)] // the page and the form shown again
async fn run_palmares(
    pages: &Pages,
    who: (&Session, &Me),
    contest_id: Uuid,
    (method, path, body): (Method, &str, &Value),
    form: String,
    values: HashMap<String, String>,
    flag: &str,
) -> Response {
    let here = format!("/concours/pole/{contest_id}/palmares");
    match pages.api.command(&who.0.token, method, path, body).await {
        Ok(_) => Redirect::to(&format!("{here}?{flag}=1")).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) if status.is_client_error() => {
            let refusal = Refusal {
                form,
                detail,
                errors: fields.into_iter().collect(),
                values,
            };
            render_palmares(pages, who, contest_id, None, status, refusal).await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

/// The palmarès page again, with `message` next to `field` of `form`: nothing was sent.
async fn palmares_invalid(
    pages: &Pages,
    who: (&Session, &Me),
    contest_id: Uuid,
    form: String,
    (field, message): (&str, &str),
    values: HashMap<String, String>,
) -> Response {
    let refusal = Refusal {
        form,
        detail: "Rien n'a été enregistré : un champ est à corriger.".into(),
        errors: HashMap::from([(field.to_owned(), message.to_owned())]),
        values,
    };
    render_palmares(
        pages,
        who,
        contest_id,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        refusal,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct AwardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
}

pub async fn grant_award(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((contest_id, entry_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<AwardForm>,
) -> Response {
    award_command(pages, jar, (contest_id, entry_id), form, true).await
}

pub async fn revoke_award(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((contest_id, entry_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<AwardForm>,
) -> Response {
    award_command(pages, jar, (contest_id, entry_id), form, false).await
}

/// Grant (`POST …/awards`) or take back (`DELETE …/awards/{kind}`) an award.
async fn award_command(
    pages: Pages,
    jar: CookieJar,
    (contest_id, entry_id): (Uuid, Uuid),
    form: AwardForm,
    grant: bool,
) -> Response {
    let here = format!("/concours/pole/{contest_id}/palmares");
    let (session, me) = match pole_form(&pages, &jar, &here, &form.csrf).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let key = format!("award-{entry_id}");
    let values = HashMap::from([("kind".to_owned(), form.kind.clone())]);
    let Some(kind) = award_of(&form.kind) else {
        return palmares_invalid(
            &pages,
            (&session, &me),
            contest_id,
            key,
            ("kind", "Choisissez une distinction de la liste."),
            values,
        )
        .await;
    };
    let (method, path, body, flag) = if grant {
        (
            Method::POST,
            format!("/api/v1/entries/{entry_id}/awards"),
            json!({ "kind": kind }),
            "distinction",
        )
    } else {
        (
            Method::DELETE,
            format!("/api/v1/entries/{entry_id}/awards/{}", award_key(kind)),
            Value::Null,
            "retrait",
        )
    };
    run_palmares(
        &pages,
        (&session, &me),
        contest_id,
        (method, &path, &body),
        key,
        values,
        flag,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn publish(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(contest_id): Path<Uuid>,
    Form(form): Form<PublishForm>,
) -> Response {
    let here = format!("/concours/pole/{contest_id}/palmares");
    let (session, me) = match pole_form(&pages, &jar, &here, &form.csrf).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    if form.confirm != "oui" {
        return palmares_invalid(
            &pages,
            (&session, &me),
            contest_id,
            "publish".into(),
            (
                "confirm",
                "Cochez la case pour confirmer : une fois publié, le palmarès ne change plus.",
            ),
            HashMap::new(),
        )
        .await;
    }
    run_palmares(
        &pages,
        (&session, &me),
        contest_id,
        (
            Method::POST,
            &format!("/api/v1/contests/{contest_id}/publish-results"),
            &Value::Null,
        ),
        "publish".into(),
        HashMap::new(),
        "publication",
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct NationalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    result: String,
}

pub async fn national_result(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((contest_id, entry_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<NationalForm>,
) -> Response {
    let here = format!("/concours/pole/{contest_id}/palmares");
    let (session, me) = match pole_form(&pages, &jar, &here, &form.csrf).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let key = format!("national-{entry_id}");
    let values = HashMap::from([("result".to_owned(), form.result.clone())]);
    let awarded = match form.result.as_str() {
        "laureate" => true,
        "non_primee" => false,
        _ => {
            return palmares_invalid(
                &pages,
                (&session, &me),
                contest_id,
                key,
                (
                    "result",
                    "Choisissez « Lauréate du concours national » ou « Non primée ».",
                ),
                values,
            )
            .await;
        }
    };
    run_palmares(
        &pages,
        (&session, &me),
        contest_id,
        (
            Method::POST,
            &format!("/api/v1/entries/{entry_id}/national-result"),
            &json!({ "awarded": awarded }),
        ),
        key,
        values,
        "national",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_ranks_and_scores_read_the_french_way() {
        assert_eq!(notes_label(0, 1), "0 note sur 1");
        assert_eq!(notes_label(3, 5), "3 notes sur 5");
        assert_eq!(rank_label(Some(1), false), "1er");
        assert_eq!(rank_label(Some(2), true), "2e ex æquo");
        assert_eq!(rank_label(None, false), "—");
        assert_eq!(score_label(Some(14.25)), "14,25\u{a0}/\u{a0}20");
        assert_eq!(status_key(EntryStatus::UnderJury), "under_jury");
    }
}
