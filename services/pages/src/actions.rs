//! `GET /actions`: the awareness and prevention actions schools declared (the Journée
//! nationale « Non au harcèlement » and the rest of the year), for the department
//! referents (their department) and the pole (the academy); `GET /actions/{id}`: one
//! action, with the referent's two decisions on a submitted one — validate it, or return
//! it to the school with a reason — and, once validated, its publication.
//!
//! The list is the read model's `actions` query (Relay pagination); the detail is the
//! API's `GET /api/v1/actions/{id}` (the schools' names, the labelled types and audiences,
//! the last return reason); the decisions are the API's commands. All are asked with the
//! user's token: the API decides what the user sees and may do, the page only shows it.

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
use crate::api::ApiError;
use crate::common::{
    MANAGERS, asked_year, department_label, encode, french_date, history, recent_years,
    school_names, signed_in_as,
};
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/actions", get(list))
        .route("/actions/{id}", get(detail))
        .route("/actions/{id}/valider", post(validate))
        .route("/actions/{id}/renvoyer", post(return_to_school))
        .route("/actions/{id}/publier", post(publish))
}

/// Actions per page.
const PAGE_SIZE: i64 = 20;

/// The longest reason the API takes.
const REASON_MAX: usize = 2000;

/// The states of an action: the URL's French word, the API's code, the label, the DSFR
/// badge variant.
const STATUSES: [(&str, &str, &str, &str); 5] = [
    ("a-valider", "submitted", "Transmise, à valider", "new"),
    (
        "renvoyee",
        "returned",
        "Renvoyée à l'établissement",
        "warning",
    ),
    ("validee", "validated", "Validée", "success"),
    ("publiee", "published", "Publiée", "info"),
    ("brouillon", "draft", "Brouillon", ""),
];

/// The word of the status filter for every state.
const ALL_STATUSES: &str = "tous";

pub(crate) const CAMPAIGNS: [(&str, &str, &str); 2] = [
    ("journee-nationale", "national_day", "Journée nationale"),
    ("annee", "year_round", "Au cours de l'année"),
];

pub(crate) fn status_label(code: &str) -> String {
    STATUSES
        .iter()
        .find(|s| s.1 == code)
        .map_or_else(|| code.to_owned(), |s| s.2.to_owned())
}

pub(crate) fn status_badge(code: &str) -> &'static str {
    STATUSES.iter().find(|s| s.1 == code).map_or("", |s| s.3)
}

pub(crate) fn campaign_label(code: &str) -> String {
    CAMPAIGNS
        .iter()
        .find(|c| c.1 == code)
        .map_or_else(|| code.to_owned(), |c| c.2.to_owned())
}

/// The refusal of the roles these pages are not for: the referents and the pole read
/// them (the administrators too; the API keeps the decisions to the referents and the
/// pole).
const REFUSAL: (&str, &str) = (
    "Actions réservées",
    "Les actions transmises par les établissements sont suivies par les référents \
     départementaux et le pôle académique. Revenez à l'accueil pour les pages de votre \
     espace.",
);

// --- The list ------------------------------------------------------------------------

/// The URL's parameters, in French.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    annee: String,
    /// Absent: the referent's default (actions to validate); `tous`: every state.
    etat: Option<String>,
    #[serde(default)]
    campagne: String,
    #[serde(default)]
    departement: String,
    #[serde(default)]
    uai: String,
    /// The cursor of the page's first action (Relay `after`).
    #[serde(default)]
    apres: String,
}

#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    annee: Option<String>,
    etat: Option<String>,
    campagne: Option<String>,
    departement: Option<String>,
    uai: Option<String>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.annee.is_some()
            || self.etat.is_some()
            || self.campagne.is_some()
            || self.departement.is_some()
            || self.uai.is_some()
    }
}

/// The filters once checked: the URL's words (for the form) and the API's codes.
#[derive(Debug, Default, Serialize)]
struct Chosen {
    school_year: String,
    /// The status word (`tous` for every state).
    etat: String,
    status: Option<String>,
    campagne: String,
    campaign: Option<String>,
    department: Option<String>,
    uai: String,
}

fn check(
    filters: &Filters,
    today: NaiveDate,
    referent: bool,
    departments: &[String],
) -> (Chosen, FieldErrors) {
    let mut errors = FieldErrors::default();
    let mut chosen = Chosen::default();
    (chosen.school_year, errors.annee) = asked_year(&filters.annee, today);
    // A referent comes to validate: the actions waiting for her, unless she asks for more.
    let default = if referent { "a-valider" } else { ALL_STATUSES };
    let etat = filters.etat.as_deref().map_or(default, str::trim);
    chosen.etat = ALL_STATUSES.to_owned();
    match etat {
        "" | ALL_STATUSES => {}
        word => match STATUSES.iter().find(|s| s.0 == word) {
            Some(s) => {
                chosen.etat = s.0.to_owned();
                chosen.status = Some(s.1.to_owned());
            }
            None => errors.etat = Some(format!("« {word} » n'est pas un état d'action reconnu.")),
        },
    }
    match filters.campagne.trim() {
        "" => {}
        word => match CAMPAIGNS.iter().find(|c| c.0 == word) {
            Some(c) => {
                chosen.campagne = c.0.to_owned();
                chosen.campaign = Some(c.1.to_owned());
            }
            None => {
                errors.campagne = Some(format!("« {word} » n'est pas une campagne reconnue."));
            }
        },
    }
    if !referent {
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

/// The page's parameters, without the cursor (the next page adds its own).
fn filters_query(chosen: &Chosen) -> String {
    let mut pairs = vec![
        ("annee", chosen.school_year.clone()),
        ("etat", chosen.etat.clone()),
    ];
    let department = chosen.department.clone().unwrap_or_default();
    for (key, value) in [
        ("campagne", &chosen.campagne),
        ("departement", &department),
        ("uai", &chosen.uai),
    ] {
        if !value.trim().is_empty() {
            pairs.push((key, value.trim().to_owned()));
        }
    }
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", encode(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

const LIST_QUERY: &str = r"
query Actions($first: Int, $after: String, $schoolYear: String, $department: String,
              $schoolUai: String, $campaign: String, $status: String) {
  me { role roleLabel scope }
  actions(first: $first, after: $after, schoolYear: $schoolYear, department: $department,
          schoolUai: $schoolUai, campaign: $campaign, status: $status) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id schoolYear campaign schoolUai department heldOn types pupilsReached
            adultsReached held status }
  }
}
";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    total_count: i64,
    page_info: PageInfo,
    nodes: Vec<Node>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    id: String,
    campaign: String,
    school_uai: String,
    held_on: String,
    types: String,
    pupils_reached: i64,
    held: bool,
    status: String,
}

/// A row of the table, as the template reads it.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    school_uai: String,
    school_name: Option<String>,
    date: String,
    held: bool,
    campaign: String,
    types: Vec<String>,
    pupils_reached: i64,
    status: String,
    status_label: String,
    badge: &'static str,
}

/// `GET /actions`.
pub async fn list(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let (session, me) = match signed_in_as(&pages, &jar, "/actions", MANAGERS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let referent = me.role == "department_referent";
    let today = pharos_domain::today_in_france(pages.clock.now());
    let departments: Vec<String> = pages
        .academy
        .departments
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    let (chosen, errors) = check(&filters, today, referent, &departments);
    let query = filters_query(&chosen);
    let here = format!("/actions?{query}");

    // A wrong filter shows the form with its error, and no actions.
    let mut found = None;
    if !errors.any() {
        let variables = json!({
            "first": PAGE_SIZE,
            "after": Some(filters.apres.trim()).filter(|a| !a.is_empty()),
            "schoolYear": chosen.school_year,
            "department": chosen.department,
            "schoolUai": Some(chosen.uai.as_str()).filter(|u| !u.is_empty()),
            "campaign": chosen.campaign,
            "status": chosen.status,
        });
        #[derive(Deserialize)]
        struct Data {
            actions: Connection,
        }
        match pages
            .api
            .graphql::<Data>(&session.token, LIST_QUERY, variables)
            .await
        {
            Ok(data) => found = Some(data.actions),
            Err(error) => return pages.templates.api_error(error, &here),
        }
    }
    let (rows, total, next) = match found {
        Some(actions) => {
            let uais: Vec<String> = actions.nodes.iter().map(|n| n.school_uai.clone()).collect();
            let names = school_names(&pages, &session.token, &uais).await;
            let types = type_labels(&pages, &session.token).await;
            let rows: Vec<Row> = actions
                .nodes
                .into_iter()
                .map(|n| Row {
                    school_name: names.get(&n.school_uai).cloned(),
                    school_uai: n.school_uai,
                    date: french_date(&n.held_on),
                    held: n.held,
                    campaign: campaign_label(&n.campaign),
                    types: n
                        .types
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(|t| types.get(t).cloned().unwrap_or_else(|| t.to_owned()))
                        .collect(),
                    pupils_reached: n.pupils_reached,
                    status_label: status_label(&n.status),
                    badge: status_badge(&n.status),
                    status: n.status,
                    id: n.id,
                })
                .collect();
            let next = actions
                .page_info
                .end_cursor
                .filter(|_| actions.page_info.has_next_page)
                .map(|cursor| format!("/actions?{query}&apres={}", encode(&cursor)));
            (rows, actions.total_count, next)
        }
        None => (Vec::new(), 0, None),
    };
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let scope_label = if referent {
        me.scope
            .as_deref()
            .map_or_else(|| "Votre département".to_owned(), department_label)
    } else {
        chosen.department.as_deref().map_or_else(
            || format!("Académie de {}", pages.academy.name),
            department_label,
        )
    };
    pages.templates.render(
        status,
        "actions.html",
        minijinja::context! {
            title => "Actions de sensibilisation",
            me => Serde(&me),
            csrf => session.csrf(),
            filters => Serde(&filters),
            errors => Serde(&errors),
            chosen => Serde(&chosen),
            listed => !errors.any(),
            pole => !referent,
            scope_label,
            years => recent_years(today, 0),
            statuses => STATUSES.iter().map(|s| (s.0, s.2)).collect::<Vec<_>>(),
            campaigns => CAMPAIGNS.iter().map(|c| (c.0, c.2)).collect::<Vec<_>>(),
            departments => crate::common::departments(&pages),
            rows => Serde(&rows),
            total,
            next,
            first_page => (!filters.apres.trim().is_empty()).then(|| format!("/actions?{query}")),
        },
    )
}

/// The French labels of the action types (`projection_debat` → `Projection-débat`);
/// without them, the codes are shown.
pub(crate) async fn type_labels(pages: &Pages, token: &str) -> HashMap<String, String> {
    match pages
        .api
        .get(token, "/api/v1/national-days/vocabulary")
        .await
    {
        Ok(vocabulary) => vocabulary["types"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t["code"].as_str()?.to_owned(),
                    t["label"].as_str()?.to_owned(),
                ))
            })
            .collect(),
        Err(error) => {
            tracing::warn!(?error, "action vocabulary unavailable for the actions list");
            HashMap::new()
        }
    }
}

// --- One action ----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    /// `validee`, `renvoyee` or `publiee`: the decision just recorded (Post/Redirect/Get).
    #[serde(default)]
    succes: String,
}

/// What the decision forms show again after a refusal.
#[derive(Debug, Default, Serialize)]
struct Outcome {
    success: Option<&'static str>,
    /// The API's (or the page's) refusal, in French.
    error: Option<String>,
    /// The reason typed, shown again in its textarea.
    reason: String,
    reason_error: Option<String>,
}

/// `GET /actions/{id}`.
pub async fn detail(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Response {
    let success = match query.succes.as_str() {
        "validee" => Some("Action validée."),
        "renvoyee" => Some("Action renvoyée à l'établissement."),
        "publiee" => Some("Action publiée."),
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

/// `GET /api/v1/actions/{id}` as the user; an answer of `unknown_on` (not found, or
/// out of the user's sight) is the 404 page, another refusal the API's error page.
pub(crate) async fn fetch_action(
    pages: &Pages,
    token: &str,
    id: &str,
    here: &str,
    unknown_on: &[StatusCode],
) -> Result<Value, Response> {
    match pages.api.get(token, &format!("/api/v1/actions/{id}")).await {
        Ok(action) => Ok(action),
        Err(ApiError::Refused { status, .. }) if unknown_on.contains(&status) => {
            Err(unknown(pages))
        }
        Err(error) => Err(pages.templates.api_error(error, here)),
    }
}

/// The `field` of each item of a list of the action (its types' and audiences' labels,
/// its partners' names).
pub(crate) fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t[field].as_str().map(str::to_owned))
        .collect()
}

/// The action page with `outcome` (a success, or a refusal and what was typed).
async fn show(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let here = format!("/actions/{}", encode(id));
    let (session, me) = match signed_in_as(pages, jar, &here, MANAGERS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if uuid::Uuid::parse_str(id).is_err() {
        return unknown(pages);
    }
    let action =
        match fetch_action(pages, &session.token, id, &here, &[StatusCode::NOT_FOUND]).await {
            Ok(action) => action,
            Err(page) => return page,
        };
    let history = history(pages, &session.token, "action", id, role_label).await;
    let code = action["status"].as_str().unwrap_or_default().to_owned();
    let schools: Vec<Value> = action["schools"].as_array().cloned().unwrap_or_default();
    // A referent decides on an action of her department only; one across two
    // departments is the pole's (the API says the same; the page does not offer it).
    let own = me.role != "department_referent"
        || schools
            .iter()
            .all(|s| s["department"].as_str() == me.scope.as_deref());
    let may_decide = matches!(me.role.as_str(), "department_referent" | "pole_manager");
    let terms = |key: &str| names(&action[key], "label");
    let partners = names(&action["partners"], "name");
    pages.templates.render(
        status,
        "actions_detail.html",
        minijinja::context! {
            title => "Action de sensibilisation",
            me => Serde(&me),
            csrf => session.csrf(),
            id,
            action => Serde(&action),
            schools => Serde(&schools),
            date => french_date(action["date"].as_str().unwrap_or_default()),
            campaign => campaign_label(action["campaign"].as_str().unwrap_or_default()),
            types => terms("types"),
            audiences => terms("audience_levels"),
            partners,
            status_label => status_label(&code),
            badge => status_badge(&code),
            decide => may_decide && own && code == "submitted",
            across => may_decide && !own && matches!(code.as_str(), "submitted" | "validated"),
            publish => may_decide && own && code == "validated",
            history => history.as_ref().map(Serde),
            outcome => Serde(&outcome),
            reason_max => REASON_MAX,
        },
    )
}

pub(crate) fn unknown(pages: &Pages) -> Response {
    pages.templates.error(
        StatusCode::NOT_FOUND,
        "Action introuvable",
        "Cette action n'existe pas ou n'est plus disponible. Revenez à la liste des actions.",
    )
}

pub(crate) fn role_label(role: &str) -> String {
    match role {
        "school" => "L'établissement",
        "department_referent" => "Le référent départemental",
        "pole_manager" => "Le pôle académique",
        "admin" => "Un administrateur",
        other => other,
    }
    .to_owned()
}

// --- The decisions -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
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
            "/actions/{}",
            encode(id)
        ))));
    };
    if !session.accepts(&form.csrf) {
        return Err(Box::new(pages.templates.error(
            StatusCode::FORBIDDEN,
            "Formulaire refusé",
            "Ce formulaire ne vient pas de Pharos ou a expiré. Rechargez la page de \
             l'action, puis recommencez.",
        )));
    }
    Ok(session)
}

/// After a command: back to the action with its success, or the page with the refusal.
async fn decided(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    result: Result<Value, ApiError>,
    success: &str,
    reason: String,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/actions/{}?succes={success}", encode(id))).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            let reason_error = fields
                .iter()
                .find(|(field, _)| field == "reason")
                .map(|(_, message)| message.clone());
            let status = if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_GATEWAY
            };
            show(
                pages,
                jar,
                id,
                status,
                Outcome {
                    error: Some(detail),
                    reason,
                    reason_error,
                    ..Outcome::default()
                },
            )
            .await
        }
        Err(error) => pages
            .templates
            .api_error(error, &format!("/actions/{}", encode(id))),
    }
}

/// `POST /actions/{id}/valider`.
pub async fn validate(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide_plainly(&pages, &jar, &id, &form, "validate", "validee").await
}

/// `POST /actions/{id}/publier`: a validated action becomes published (the API refuses
/// any other state, in French).
pub async fn publish(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide_plainly(&pages, &jar, &id, &form, "publish", "publiee").await
}

/// A decision without a reason: the API's `command` on the action, then the page with
/// `done` (the success flash) or the refusal.
async fn decide_plainly(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    form: &DecisionForm,
    command: &str,
    done: &str,
) -> Response {
    let session = match signed(pages, jar, id, form) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    if uuid::Uuid::parse_str(id).is_err() {
        return unknown(pages);
    }
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/actions/{id}/{command}"),
            &json!({}),
        )
        .await;
    decided(pages, jar, id, result, done, String::new()).await
}

/// `POST /actions/{id}/renvoyer`: the reason is required, and checked here before
/// anything is sent.
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
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let reason = form.reason.trim().to_owned();
    let reason_error = if reason.is_empty() {
        Some("Indiquez ce que l'établissement doit corriger.".to_owned())
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
                error: Some("L'action n'a pas été renvoyée : le motif est à compléter.".into()),
                reason,
                reason_error,
                ..Outcome::default()
            },
        )
        .await;
    }
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/actions/{id}/return"),
            &json!({ "reason": reason }),
        )
        .await;
    decided(&pages, &jar, &id, result, "renvoyee", reason).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 11, 20).unwrap_or_default()
    }

    fn departments() -> Vec<String> {
        vec!["31".into(), "32".into()]
    }

    #[test]
    fn a_referent_first_sees_the_actions_waiting_for_her() {
        let (chosen, errors) = check(&Filters::default(), today(), true, &departments());
        assert!(!errors.any());
        assert_eq!(chosen.school_year, "2025-2026");
        assert_eq!(chosen.status.as_deref(), Some("submitted"));
        let (chosen, _) = check(&Filters::default(), today(), false, &departments());
        assert_eq!(chosen.status, None, "the pole sees every state");
        let every = Filters {
            etat: Some("tous".into()),
            ..Filters::default()
        };
        let (chosen, _) = check(&every, today(), true, &departments());
        assert_eq!((chosen.etat.as_str(), chosen.status), ("tous", None));
    }

    #[test]
    fn wrong_filters_name_their_field() {
        let filters = Filters {
            annee: "2025".into(),
            etat: Some("perdue".into()),
            campagne: "hiver".into(),
            departement: "75".into(),
            uai: "031".into(),
            apres: String::new(),
        };
        let (_, errors) = check(&filters, today(), false, &departments());
        assert!(errors.annee.is_some_and(|e| e.contains("2025-2026")));
        assert!(errors.etat.is_some());
        assert!(errors.campagne.is_some());
        assert!(errors.departement.is_some_and(|e| e.contains("31, 32")));
        assert!(errors.uai.is_some());
    }

    #[test]
    fn the_next_page_keeps_the_filters() {
        let filters = Filters {
            uai: "0310001h".into(),
            ..Filters::default()
        };
        let (chosen, _) = check(&filters, today(), true, &departments());
        assert_eq!(
            filters_query(&chosen),
            "annee=2025-2026&etat=a-valider&uai=0310001H"
        );
        assert_eq!(french_date("2025-11-06"), "06/11/2025");
    }
}
