//! `GET /labels`: the pHARe label applications of the caller's scope (the department
//! referents: their department; the pole: the academy), by default those awaiting the
//! pole's decision; `GET /labels/{id}`: one application, the school's answers per
//! criterion with the suggestions from its deployment, its history, and for the pole its
//! three decisions — start the review, return it to the school with a reason, decide.
//!
//! The list is the read model's `labels` query; the application is the API's
//! `GET /api/v1/phare/labels/{id}`; the decisions are the API's commands. All are asked
//! with the user's token: the API keeps the decisions to the pole (`DecideLabel`), the
//! referents read.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use chrono::NaiveDate;
use minijinja::value::Serde;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Pages;
use crate::actions::role_label;
use crate::api::ApiError;
use crate::common::{
    Event, MANAGERS, asked_year, department_label, encode, paris, recent_years, school_names,
    signed_in_as,
};
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/labels", get(list))
        .route("/labels/{id}", get(detail))
        .route("/labels/{id}/examen", post(review))
        .route("/labels/{id}/renvoi", post(return_to_school))
        .route("/labels/{id}/decision", post(decide))
        .route("/labels/{id}/critere", post(answer))
}

/// Applications per page.
const PAGE_SIZE: usize = 20;

/// The longest reason the page sends (the school reads it).
const REASON_MAX: usize = 2000;

/// The states of an application: the URL's French word, the API's code, the label, the
/// DSFR badge variant.
const STATUSES: [(&str, &str, &str, &str); 6] = [
    ("deposee", "submitted", "Déposée", "new"),
    ("en-examen", "under_review", "En cours d'examen", "info"),
    ("renvoyee", "returned", "Renvoyée", "warning"),
    ("attribue", "awarded", "Attribué", "success"),
    ("non-attribue", "not_awarded", "Non attribué", "error"),
    ("brouillon", "draft", "Brouillon", ""),
];

/// The default word of the status filter: the applications awaiting the pole's decision.
const AWAITING: &str = "a-decider";
/// Their states.
const AWAITING_CODES: [&str; 2] = ["submitted", "under_review"];
/// The word of the status filter for every state.
const ALL_STATUSES: &str = "tous";

/// The label's levels: number, name as the API spells it.
const LEVELS: [(u64, &str); 3] = [
    (1, "engagement"),
    (2, "approfondissement"),
    (3, "expertise"),
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

/// `engagement` (or `1`) → `Niveau 1 — engagement`; anything else as it is.
fn level_label(level: &str) -> String {
    LEVELS
        .iter()
        .find(|(n, name)| *name == level || n.to_string() == level)
        .map_or_else(
            || level.to_owned(),
            |(n, name)| format!("Niveau {n} — {name}"),
        )
}

const REFUSAL: (&str, &str) = (
    "Labels réservés",
    "Les candidatures au label pHARe sont suivies par le pôle académique et les référents \
     départementaux. Revenez à l'accueil pour les pages de votre espace.",
);

// --- The list ------------------------------------------------------------------------

/// The URL's parameters, in French.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    annee: String,
    /// Absent: the applications awaiting a decision; `tous`: every state.
    etat: Option<String>,
    #[serde(default)]
    departement: String,
    #[serde(default)]
    uai: String,
    /// Where the page starts: the cursor of the previous page's last application.
    #[serde(default)]
    apres: String,
}

#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    annee: Option<String>,
    etat: Option<String>,
    departement: Option<String>,
    uai: Option<String>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.annee.is_some()
            || self.etat.is_some()
            || self.departement.is_some()
            || self.uai.is_some()
    }
}

/// The filters once checked: the URL's words (for the form) and the API's codes.
#[derive(Debug, Default, Serialize)]
struct Chosen {
    school_year: String,
    etat: String,
    /// The states asked, as the read model spells them; `None`: every state.
    statuses: Option<Vec<String>>,
    department: Option<String>,
    uai: String,
}

fn check(
    filters: &Filters,
    today: NaiveDate,
    pole: bool,
    departments: &[String],
) -> (Chosen, FieldErrors) {
    let mut errors = FieldErrors::default();
    let mut chosen = Chosen::default();
    (chosen.school_year, errors.annee) = asked_year(&filters.annee, today);
    let etat = filters.etat.as_deref().map_or(AWAITING, str::trim);
    match etat {
        "" | ALL_STATUSES => {
            chosen.etat = ALL_STATUSES.to_owned();
            chosen.statuses = None;
        }
        AWAITING => {
            chosen.etat = AWAITING.to_owned();
            chosen.statuses = Some(AWAITING_CODES.iter().map(|c| (*c).to_owned()).collect());
        }
        word => match STATUSES.iter().find(|s| s.0 == word) {
            Some(s) => {
                chosen.etat = s.0.to_owned();
                chosen.statuses = Some(vec![s.1.to_owned()]);
            }
            None => {
                chosen.etat = AWAITING.to_owned();
                errors.etat = Some(format!(
                    "« {word} » n'est pas un état de candidature reconnu."
                ));
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
    let uai = filters.uai.trim().to_uppercase();
    let well_formed = uai.len() == 8 && uai.chars().all(|c| c.is_ascii_alphanumeric());
    if !uai.is_empty() && !well_formed {
        errors.uai = Some(format!(
            "« {uai} » n'est pas un UAI : 7 chiffres et une lettre, par exemple 0310001H."
        ));
    } else {
        chosen.uai = uai;
    }
    (chosen, errors)
}

/// The page's parameters, without the cursors (the next page adds its own).
fn filters_query(chosen: &Chosen) -> String {
    let department = chosen.department.clone().unwrap_or_default();
    crate::common::query(&[
        ("annee", &chosen.school_year),
        ("etat", &chosen.etat),
        ("departement", &department),
        ("uai", &chosen.uai),
    ])
}

/// The applications of the filters, in one of the states asked (`statuses`).
const LIST_QUERY: &str = "query Labels($first: Int, $after: String, $schoolYear: String, \
     $department: String, $schoolUai: String, $statuses: [String!]) { labels(first: $first, \
     after: $after, schoolYear: $schoolYear, department: $department, schoolUai: $schoolUai, \
     statuses: $statuses) { totalCount pageInfo { hasNextPage endCursor } nodes { id \
     schoolUai department schoolYear targetLevel status awardedLevel } } }";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    total_count: i64,
    page_info: PageInfo,
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    id: String,
    school_uai: String,
    department: String,
    target_level: String,
    status: String,
    awarded_level: Option<String>,
}

/// A row of the table, as the template reads it.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    school_uai: String,
    school_name: Option<String>,
    department: String,
    target_level: String,
    status_label: String,
    badge: &'static str,
    awarded_level: Option<String>,
}

/// `GET /labels`.
pub async fn list(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let (session, me) = match signed_in_as(&pages, &jar, "/labels", MANAGERS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let pole = me.role != "department_referent";
    let today = pharos_domain::today_in_france(pages.clock.now());
    let departments: Vec<String> = pages
        .academy
        .departments
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    let (chosen, errors) = check(&filters, today, pole, &departments);
    let query = filters_query(&chosen);
    let here = format!("/labels?{query}");

    // A wrong filter shows the form with its error, and no applications.
    let mut rows = Vec::new();
    let mut total = 0;
    let mut next = None;
    if !errors.any() {
        let after = Some(filters.apres.trim()).filter(|a| !a.is_empty());
        let variables = json!({
            "first": PAGE_SIZE,
            "after": after,
            "schoolYear": chosen.school_year,
            "department": chosen.department,
            "schoolUai": Some(chosen.uai.as_str()).filter(|u| !u.is_empty()),
            "statuses": chosen.statuses,
        });
        #[derive(Deserialize)]
        struct Data {
            labels: Connection,
        }
        let found = match pages
            .api
            .graphql::<Data>(&session.token, LIST_QUERY, variables)
            .await
        {
            Ok(found) => found.labels,
            Err(error) => return pages.templates.api_error(error, &here),
        };
        total = found.total_count;
        next = found
            .page_info
            .end_cursor
            .filter(|_| found.page_info.has_next_page)
            .map(|cursor| {
                format!(
                    "/labels?{}",
                    crate::common::join(&query, &crate::common::query(&[("apres", &cursor)]))
                )
            });
        let nodes = found.nodes;
        let uais: Vec<String> = nodes.iter().map(|n| n.school_uai.clone()).collect();
        let names = school_names(&pages, &session.token, &uais).await;
        rows = nodes
            .into_iter()
            .map(|n| Row {
                school_name: names.get(&n.school_uai).cloned(),
                department: department_label(&n.department),
                target_level: level_label(&n.target_level),
                status_label: status_label(&n.status),
                badge: status_badge(&n.status),
                awarded_level: n.awarded_level.as_deref().map(level_label),
                school_uai: n.school_uai,
                id: n.id,
            })
            .collect();
    }
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let scope_label = if pole {
        chosen.department.as_deref().map_or_else(
            || format!("Académie de {}", pages.academy.name),
            department_label,
        )
    } else {
        me.scope
            .as_deref()
            .map_or_else(|| "Votre département".to_owned(), department_label)
    };
    let mut statuses = vec![(AWAITING, "À décider (déposées ou en cours d'examen)")];
    statuses.extend(STATUSES.iter().map(|s| (s.0, s.2)));
    let paged = !filters.apres.trim().is_empty();
    pages.templates.render(
        status,
        "labels.html",
        minijinja::context! {
            title => "Labels pHARe",
            me => Serde(&me),
            csrf => session.csrf(),
            filters => Serde(&filters),
            errors => Serde(&errors),
            chosen => Serde(&chosen),
            listed => !errors.any(),
            pole,
            decides => me.role == "pole_manager",
            scope_label,
            years => recent_years(today, 1),
            statuses,
            departments => crate::common::departments(&pages),
            rows => Serde(&rows),
            total,
            next,
            first_page => paged.then(|| format!("/labels?{query}")),
        },
    )
}

// --- One application -----------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    /// The decision just recorded (Post/Redirect/Get).
    #[serde(default)]
    succes: String,
}

/// What the page shows after a decision, or again after a refusal.
#[derive(Debug, Default, Serialize)]
struct Outcome {
    success: Option<&'static str>,
    /// The form refused: `examen`, `renvoi`, `decision`, or `critere-<key>` (the pole's
    /// answer to one of its criteria).
    form: Option<String>,
    /// The API's (or the page's) refusal, in French.
    detail: Option<String>,
    /// The fields at fault, and what was typed.
    fields: HashMap<String, String>,
    values: HashMap<String, String>,
}

/// `GET /labels/{id}`.
pub async fn detail(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Response {
    let success = match query.succes.as_str() {
        "examen" => {
            Some("Examen commencé : l'établissement voit que sa candidature est en cours d'examen.")
        }
        "renvoi" => Some("Candidature renvoyée à l'établissement avec votre motif."),
        "attribue" => Some("Décision enregistrée : label attribué."),
        "non-attribue" => Some("Décision enregistrée : label non attribué."),
        "critere" => Some("Réponse du pôle enregistrée."),
        _ => None,
    };
    show(
        &pages,
        &jar,
        &id,
        StatusCode::OK,
        Outcome {
            success,
            ..Outcome::default()
        },
    )
    .await
}

fn unknown(pages: &Pages) -> Response {
    pages.templates.error(
        StatusCode::NOT_FOUND,
        "Candidature introuvable",
        "Cette candidature au label n'existe pas ou n'est plus disponible. Revenez à la liste \
         des labels.",
    )
}

/// `GET /api/v1/phare/labels/{id}` as the user: the 404 page when there is none, the
/// API's refusal page when it is out of her sight.
async fn fetch_label(pages: &Pages, token: &str, id: &str, here: &str) -> Result<Value, Response> {
    match pages
        .api
        .get(token, &format!("/api/v1/phare/labels/{id}"))
        .await
    {
        Ok(label) => Ok(label),
        Err(ApiError::Refused { status, .. }) if status == StatusCode::NOT_FOUND => {
            Err(unknown(pages))
        }
        Err(error) => Err(pages.templates.api_error(error, here)),
    }
}

/// An application as the read model lists it, shaped as the API's answer without the
/// answers to the criteria; none when the read model does not list it (unknown, or not
/// projected yet).
async fn admin_view(pages: &Pages, token: &str, id: &str) -> Result<Option<Value>, ApiError> {
    const QUERY: &str = "query Find($after: String) { labels(first: 100, after: $after) { \
                         pageInfo { hasNextPage endCursor } nodes { id schoolUai department \
                         schoolYear targetLevel status awardedLevel } } }";
    let number = |level: &Value| {
        let level = level.as_str().unwrap_or_default();
        LEVELS
            .iter()
            .find(|(n, name)| *name == level || n.to_string() == level)
            .map(|(n, _)| *n)
    };
    let mut after: Option<String> = None;
    // 100 pages of 100: more applications than an academy holds in years.
    for _ in 0..100 {
        let data: Value = pages
            .api
            .graphql(token, QUERY, json!({ "after": after }))
            .await?;
        let connection = &data["labels"];
        if let Some(node) = connection["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["id"].as_str() == Some(id))
        {
            return Ok(Some(json!({
                "id": id,
                "school_uai": node["schoolUai"],
                "school_year": node["schoolYear"],
                "department": node["department"],
                "status": node["status"],
                "target_level": { "number": number(&node["targetLevel"]) },
                "awarded_level": { "number": number(&node["awardedLevel"]) },
                "levels_met": [],
                "criteria": [],
            })));
        }
        match connection["pageInfo"]["endCursor"].as_str() {
            Some(cursor) if connection["pageInfo"]["hasNextPage"].as_bool() == Some(true) => {
                after = Some(cursor.to_owned());
            }
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// The application's history from the read model (there is no `label(id)` query: the
/// school's applications of the year hold it), newest first; none while not projected.
async fn label_history(
    pages: &Pages,
    token: &str,
    id: &str,
    uai: &str,
    year: &str,
) -> Option<Vec<Event>> {
    #[derive(Deserialize)]
    struct Data {
        labels: Nodes,
    }
    #[derive(Deserialize)]
    struct Nodes {
        nodes: Vec<WithHistory>,
    }
    #[derive(Deserialize)]
    struct WithHistory {
        id: String,
        history: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        at: String,
        label: String,
        actor_role: Option<String>,
    }
    const QUERY: &str = "query History($uai: String, $year: String) { labels(schoolUai: $uai, \
                         schoolYear: $year) { nodes { id history { at label actorRole } } } }";
    let data = pages
        .api
        .graphql::<Data>(token, QUERY, json!({ "uai": uai, "year": year }))
        .await
        .inspect_err(|error| tracing::debug!(?error, "no label history from the read model"))
        .ok()?;
    let found = data.labels.nodes.into_iter().find(|n| n.id == id)?;
    let mut events: Vec<Event> = found
        .history
        .into_iter()
        .map(|e| Event {
            at: paris(&e.at).map_or_else(
                || e.at.clone(),
                |t| t.format("%d/%m/%Y à %H:%M").to_string(),
            ),
            label: e.label,
            who: e
                .actor_role
                .as_deref()
                .map_or_else(|| "Traitement automatique".to_owned(), role_label),
        })
        .collect();
    events.reverse();
    Some(events)
}

/// A criterion as the template reads it.
#[derive(Debug, Serialize)]
struct Criterion {
    key: String,
    label: String,
    by_pole: bool,
    answer: &'static str,
    met: Option<bool>,
    evidence: Option<String>,
    suggestion: Option<&'static str>,
    suggested_from: Option<String>,
}

fn criteria(label: &Value) -> Vec<Criterion> {
    label["criteria"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let met = c["met"].as_bool();
            Criterion {
                key: c["key"].as_str().unwrap_or_default().to_owned(),
                label: c["label"].as_str().unwrap_or_default().to_owned(),
                by_pole: c["answered_by"] == "pole",
                answer: match met {
                    Some(true) => "Rempli",
                    Some(false) => "Non rempli",
                    None => "Sans réponse",
                },
                met,
                evidence: c["evidence"].as_str().map(str::to_owned),
                suggestion: match c["suggested"].as_str() {
                    Some("met") => Some("rempli"),
                    Some("not_met") => Some("non rempli"),
                    _ => None,
                },
                suggested_from: c["suggested_from"]["description"]
                    .as_str()
                    .map(str::to_owned),
            }
        })
        .collect()
}

/// The application's page with `outcome`.
async fn show(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let here = format!("/labels/{}", encode(id));
    let (session, me) = match signed_in_as(pages, jar, &here, MANAGERS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if uuid::Uuid::parse_str(id).is_err() {
        return unknown(pages);
    }
    // An administrator is not among those the API shows an application's answers to
    // (`ApplyForLabel`): she reads what the read model gives, the state and the history.
    let admin = me.role == "admin";
    let label = if admin {
        match admin_view(pages, &session.token, id).await {
            Ok(Some(label)) => label,
            Ok(None) => return unknown(pages),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    } else {
        match fetch_label(pages, &session.token, id, &here).await {
            Ok(label) => label,
            Err(page) => return page,
        }
    };
    let uai = label["school_uai"].as_str().unwrap_or_default().to_owned();
    let year = label["school_year"].as_str().unwrap_or_default().to_owned();
    let history = label_history(pages, &session.token, id, &uai, &year).await;
    let school_name = school_names(pages, &session.token, [&uai])
        .await
        .remove(&uai);
    let code = label["status"].as_str().unwrap_or_default().to_owned();
    let target = label["target_level"]["number"].as_u64().unwrap_or(1);
    let met: Vec<u64> = label["levels_met"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["number"].as_u64())
        .collect();
    // The levels the pole may award: up to the target, each saying whether its criteria
    // are met.
    let levels: Vec<(String, String)> = LEVELS
        .iter()
        .filter(|(n, _)| *n <= target)
        .map(|(n, name)| {
            let state = if met.contains(n) {
                "critères remplis"
            } else {
                "critères non remplis"
            };
            (n.to_string(), format!("Niveau {n} — {name} ({state})"))
        })
        .collect();
    let criteria = criteria(&label);
    let pending = AWAITING_CODES.contains(&code.as_str());
    let decides = me.role == "pole_manager";
    // The pole answers its own criteria (contest participation) until its decision.
    let may_answer = decides && !matches!(code.as_str(), "awarded" | "not_awarded");
    // Whether the refused form is on the page, to show the refusal in it; else above.
    let inline = match outcome.form.as_deref() {
        Some("examen") => decides && code == "submitted",
        Some("renvoi" | "decision") => decides && pending,
        Some(form) => form.starts_with("critere-") && may_answer,
        None => false,
    };
    pages.templates.render(
        status,
        "labels_detail.html",
        minijinja::context! {
            title => "Candidature au label pHARe",
            me => Serde(&me),
            csrf => session.csrf(),
            id,
            label => Serde(&label),
            school_name,
            department => department_label(label["department"].as_str().unwrap_or_default()),
            target_level => level_label(&target.to_string()),
            levels_met => met.iter().map(|n| level_label(&n.to_string())).collect::<Vec<_>>(),
            awarded_level => label["awarded_level"]["number"].as_u64().map(|n| level_label(&n.to_string())),
            pole_criteria => criteria.iter().any(|c| c.by_pole),
            criteria => Serde(&criteria),
            status_label => status_label(&code),
            badge => status_badge(&code),
            may_review => decides && code == "submitted",
            may_decide => decides && pending,
            may_answer,
            inline,
            reader => !decides,
            pending,
            levels,
            default_level => target.to_string(),
            history => history.as_ref().map(Serde),
            outcome => Serde(&outcome),
            reason_max => REASON_MAX,
            summary_only => admin,
        },
    )
}

// --- The decisions -------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    /// The version of the application the page showed.
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    level: String,
    /// The criterion the pole answers, `oui` or `non`, and its evidence.
    #[serde(default)]
    criterion: String,
    #[serde(default)]
    met: String,
    #[serde(default)]
    evidence: String,
}

/// The session of a decision form, once its CSRF token is checked; else the answer.
fn signed(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    form: &DecisionForm,
) -> Result<Session, Box<Response>> {
    let Some(session) = Session::of(jar) else {
        return Err(Box::new(crate::session::to_login(&format!(
            "/labels/{}",
            encode(id)
        ))));
    };
    if !session.accepts(&form.csrf) {
        return Err(Box::new(pages.templates.error(
            StatusCode::FORBIDDEN,
            "Formulaire refusé",
            "Ce formulaire ne vient pas de Pharos ou a expiré. Rechargez la page de la \
             candidature, puis recommencez.",
        )));
    }
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(Box::new(unknown(pages)));
    }
    Ok(session)
}

/// The reason typed, or the field's French error.
fn reason(form: &DecisionForm, missing: &str) -> Result<String, String> {
    let reason = form.reason.trim();
    let count = reason.chars().count();
    if reason.is_empty() {
        Err(missing.to_owned())
    } else if count > REASON_MAX {
        Err(format!(
            "Le motif compte {count} caractères : {REASON_MAX} au plus."
        ))
    } else {
        Ok(reason.to_owned())
    }
}

/// The page again, with the refusal of `form`: its detail, and its fields' errors.
async fn refused(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    status: StatusCode,
    (key, form): (&str, &DecisionForm),
    detail: String,
    fields: Vec<(String, String)>,
) -> Response {
    let values = HashMap::from([
        ("reason".to_owned(), form.reason.clone()),
        ("outcome".to_owned(), form.outcome.clone()),
        ("level".to_owned(), form.level.clone()),
        ("met".to_owned(), form.met.clone()),
        ("evidence".to_owned(), form.evidence.clone()),
    ]);
    show(
        pages,
        jar,
        id,
        status,
        Outcome {
            form: Some(key.to_owned()),
            detail: Some(detail),
            fields: fields.into_iter().collect(),
            values,
            ..Outcome::default()
        },
    )
    .await
}

/// Sends the command on the version the form showed (If-Match: the API refuses with 409
/// when another member of the pole or the school acted since); then back to the
/// application with its success, or the page with the refusal next to its fields.
#[allow(clippy::too_many_arguments)] // the page, the form, and the command
async fn send(
    pages: &Pages,
    jar: &CookieJar,
    session: &Session,
    id: &str,
    (key, form): (&str, &DecisionForm),
    route: &str,
    body: Value,
    success: &str,
) -> Response {
    let here = format!("/labels/{}", encode(id));
    let path = format!("/api/v1/phare/labels/{id}/{route}");
    let result = match form.version.trim().parse::<i64>() {
        Ok(version) => {
            pages
                .api
                .command_at(&session.token, Method::POST, &path, &body, version)
                .await
        }
        Err(_) => {
            pages
                .api
                .command(&session.token, Method::POST, &path, &body)
                .await
        }
    };
    match result {
        Ok(_) => Redirect::to(&format!("{here}?succes={success}")).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            let status = if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_GATEWAY
            };
            refused(pages, jar, id, status, (key, form), detail, fields).await
        }
        Err(error) => pages.templates.api_error(error, &here),
    }
}

/// `POST /labels/{id}/examen`: the pole starts examining the application.
pub async fn review(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let session = match signed(&pages, &jar, &id, &form) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    send(
        &pages,
        &jar,
        &session,
        &id,
        ("examen", &form),
        "review",
        json!({}),
        "examen",
    )
    .await
}

/// `POST /labels/{id}/renvoi`: back to the school, with the reason it will read (checked
/// here before anything is sent).
pub async fn return_to_school(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let session = match signed(&pages, &jar, &id, &form) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let reason = match reason(
        &form,
        "Indiquez ce que l'établissement doit corriger avant de déposer à nouveau sa candidature.",
    ) {
        Ok(reason) => reason,
        Err(message) => {
            return refused(
                &pages,
                &jar,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                ("renvoi", &form),
                "La candidature n'a pas été renvoyée : le motif est à compléter.".to_owned(),
                vec![("reason".to_owned(), message)],
            )
            .await;
        }
    };
    let body = json!({ "reason": reason });
    send(
        &pages,
        &jar,
        &session,
        &id,
        ("renvoi", &form),
        "return",
        body,
        "renvoi",
    )
    .await
}

/// `POST /labels/{id}/decision`: awarded at a level up to the target (the target by
/// default), or not awarded; the reason is required.
pub async fn decide(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let session = match signed(&pages, &jar, &id, &form) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let mut fields = Vec::new();
    let awarded = match form.outcome.trim() {
        "awarded" => Some(true),
        "not_awarded" => Some(false),
        _ => {
            fields.push((
                "outcome".to_owned(),
                "Choisissez : attribuer le label, ou ne pas l'attribuer.".to_owned(),
            ));
            None
        }
    };
    let level = match form.level.trim() {
        "" => None,
        text => match text.parse::<u64>() {
            Ok(n) if LEVELS.iter().any(|(l, _)| *l == n) => Some(n),
            _ => {
                fields.push((
                    "level".to_owned(),
                    "Choisissez un niveau de la liste.".to_owned(),
                ));
                None
            }
        },
    };
    let reason = reason(&form, "Motivez la décision : l'établissement la lira.")
        .map_err(|message| fields.push(("reason".to_owned(), message)))
        .unwrap_or_default();
    let Some(awarded) = awarded.filter(|_| fields.is_empty()) else {
        return refused(
            &pages,
            &jar,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            ("decision", &form),
            "La décision n'a pas été enregistrée : complétez les champs signalés.".to_owned(),
            fields,
        )
        .await;
    };
    let (body, success) = if awarded {
        (
            json!({ "outcome": "awarded", "level": level, "reason": reason }),
            "attribue",
        )
    } else {
        (
            json!({ "outcome": "not_awarded", "reason": reason }),
            "non-attribue",
        )
    };
    send(
        &pages,
        &jar,
        &session,
        &id,
        ("decision", &form),
        "decision",
        body,
        success,
    )
    .await
}

/// `POST /labels/{id}/critere`: the pole's answer to a criterion it holds (contest
/// participation), which a level's award may need.
pub async fn answer(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let session = match signed(&pages, &jar, &id, &form) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let criterion = form.criterion.trim().to_owned();
    let key = format!("critere-{criterion}");
    let met = match form.met.trim() {
        "oui" => true,
        "non" => false,
        _ => {
            return refused(
                &pages,
                &jar,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                (&key, &form),
                "La réponse n'a pas été enregistrée : choisissez oui ou non.".to_owned(),
                vec![(
                    "met".to_owned(),
                    "Choisissez « Oui » ou « Non ».".to_owned(),
                )],
            )
            .await;
        }
    };
    let evidence = Some(form.evidence.trim()).filter(|e| !e.is_empty());
    let body = json!({ "criterion": criterion, "met": met, "evidence": evidence });
    send(
        &pages,
        &jar,
        &session,
        &id,
        (&key, &form),
        "criteria",
        body,
        "critere",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 15).unwrap_or_default()
    }

    fn departments() -> Vec<String> {
        vec!["31".into(), "32".into()]
    }

    #[test]
    fn the_list_first_shows_the_applications_awaiting_a_decision() {
        let (chosen, errors) = check(&Filters::default(), today(), true, &departments());
        assert!(!errors.any());
        assert_eq!(chosen.school_year, "2026-2027");
        assert_eq!(
            chosen.statuses,
            Some(vec!["submitted".to_owned(), "under_review".to_owned()])
        );
        let every = Filters {
            etat: Some("tous".into()),
            departement: "32".into(),
            ..Filters::default()
        };
        let (chosen, _) = check(&every, today(), true, &departments());
        assert_eq!(chosen.statuses, None);
        assert_eq!(
            filters_query(&chosen),
            "annee=2026-2027&etat=tous&departement=32"
        );
        // A referent's department filter is hers, whatever the URL says.
        let (chosen, errors) = check(&every, today(), false, &departments());
        assert!(!errors.any() && chosen.department.is_none());
        let wrong = Filters {
            annee: "2026".into(),
            etat: Some("perdue".into()),
            departement: "75".into(),
            uai: "031".into(),
            ..Filters::default()
        };
        let (_, errors) = check(&wrong, today(), true, &departments());
        assert!(errors.annee.is_some() && errors.etat.is_some() && errors.uai.is_some());
        assert!(errors.departement.is_some_and(|e| e.contains("31, 32")));
        assert_eq!(
            level_label("approfondissement"),
            "Niveau 2 — approfondissement"
        );
        assert_eq!(level_label("1"), "Niveau 1 — engagement");
    }
}
