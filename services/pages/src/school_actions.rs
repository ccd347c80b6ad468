//! `/mes-actions`: a school's own awareness and prevention actions (the Journée nationale
//! « Non au harcèlement » and the rest of the year) — the list of the school year, the
//! declaration form, and one action with its history, its correction (while a draft or
//! returned) and its transmission to the department referent.
//!
//! Everything goes through the API with the school's token: `GET /api/v1/actions` (the
//! school's own, straight from the target's index, so a declaration shows at once),
//! `GET /api/v1/actions/{id}` (the return reason, the labelled terms), the vocabulary,
//! the national day of the year, and the commands (declare, `PATCH`, submit).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use chrono::NaiveDate;
use minijinja::value::Serde;
use pharos_events::phare::SchoolYear;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Pages;
use crate::actions::{
    CAMPAIGNS, campaign_label, fetch_action, names, role_label, status_badge, status_label,
    type_labels, unknown,
};
use crate::api::ApiError;
use crate::common::{asked_year, encode, french_date, history, query, signed_in_as, with_query};
use crate::home::Me;
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/mes-actions", get(list))
        .route("/mes-actions/nouvelle", get(new_form).post(declare))
        .route("/mes-actions/{id}", get(detail))
        .route("/mes-actions/{id}/modifier", post(edit))
        .route("/mes-actions/{id}/transmettre", post(submit))
}

const SCHOOLS: &[&str] = &["school"];

const REFUSAL: (&str, &str) = (
    "Pages réservées aux établissements",
    "Ces pages servent aux établissements à déclarer leurs actions de sensibilisation. \
     Les référents et le pôle suivent les actions transmises dans « Actions ».",
);

/// The longest description the API takes.
const DESCRIPTION_MAX: usize = 2000;

// --- The list ------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    annee: String,
}

#[derive(Debug, Serialize)]
struct Row {
    id: String,
    date: String,
    held: bool,
    campaign: String,
    types: Vec<String>,
    pupils_reached: i64,
    status: String,
    status_label: String,
    badge: &'static str,
    return_reason: Option<String>,
}

fn today(pages: &Pages) -> NaiveDate {
    pharos_domain::today_in_france(pages.clock.now())
}

/// `GET /mes-actions`.
pub async fn list(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(asked): Query<ListQuery>,
) -> Response {
    let (year, year_error) = asked_year(&asked.annee, today(&pages));
    let here = with_query("/mes-actions", &query(&[("annee", &asked.annee)]));
    let (session, me) = match signed_in_as(&pages, &jar, &here, SCHOOLS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let path = format!(
        "/api/v1/actions?{}",
        query(&[("school_year", &year), ("limit", "500")])
    );
    let found = match pages.api.get(&session.token, &path).await {
        Ok(found) => found,
        Err(error) => return pages.templates.api_error(error, &here),
    };
    let types = type_labels(&pages, &session.token).await;
    let mut rows = Vec::new();
    for item in found["items"].as_array().into_iter().flatten() {
        let id = item["id"].as_str().unwrap_or_default().to_owned();
        let status = item["status"].as_str().unwrap_or_default().to_owned();
        // The reason is on the action itself: asked for the returned ones only.
        let return_reason = if status == "returned" {
            pages
                .api
                .get(&session.token, &format!("/api/v1/actions/{id}"))
                .await
                .ok()
                .and_then(|a| a["return_reason"].as_str().map(str::to_owned))
        } else {
            None
        };
        rows.push(Row {
            date: french_date(item["date"].as_str().unwrap_or_default()),
            held: item["held"].as_bool().unwrap_or_default(),
            campaign: campaign_label(item["campaign"].as_str().unwrap_or_default()),
            types: item["types"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|t| types.get(t).cloned().unwrap_or_else(|| t.to_owned()))
                .collect(),
            pupils_reached: item["pupils_reached"].as_i64().unwrap_or_default(),
            status_label: status_label(&status),
            badge: status_badge(&status),
            status,
            return_reason,
            id,
        });
    }
    let day = match pages
        .api
        .get(&session.token, &format!("/api/v1/national-days/{year}"))
        .await
    {
        Ok(day) => Some(json!({
            "date": french_date(day["date"].as_str().unwrap_or_default()),
            "window_start": french_date(day["window_start"].as_str().unwrap_or_default()),
            "window_end": french_date(day["window_end"].as_str().unwrap_or_default()),
            "report_deadline": french_date(day["report_deadline"].as_str().unwrap_or_default()),
        })),
        Err(error) => {
            tracing::debug!(?error, "no national day for the school's actions");
            None
        }
    };
    let status = if year_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    pages.templates.render(
        status,
        "school_actions.html",
        minijinja::context! {
            title => "Mes actions de sensibilisation",
            active => "school_actions",
            me => Serde(&me),
            csrf => session.csrf(),
            year,
            year_error,
            rows => Serde(&rows),
            day => day.as_ref().map(Serde),
        },
    )
}

// --- The form ------------------------------------------------------------------------

/// What the school typed (or the action's values, to correct it), as the form shows it.
#[derive(Debug, Default, Serialize)]
struct Typed {
    date: String,
    campaign: String,
    held: bool,
    types: Vec<String>,
    audience_levels: Vec<String>,
    pupils_reached: String,
    partners: String,
    description: String,
}

impl Typed {
    /// The form's pairs (checkboxes repeat their name) and its CSRF token.
    fn of(pairs: Vec<(String, String)>) -> (Self, String) {
        let mut typed = Self::default();
        let mut csrf = String::new();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => csrf = value,
                "date" => typed.date = value.trim().to_owned(),
                "campaign" => typed.campaign = value.trim().to_owned(),
                "held" => typed.held = true,
                "types" => typed.types.push(value),
                "audience_levels" => typed.audience_levels.push(value),
                "pupils_reached" => typed.pupils_reached = value.trim().to_owned(),
                "partners" => typed.partners = value,
                "description" => typed.description = value,
                _ => {}
            }
        }
        (typed, csrf)
    }

    /// The action's values, to correct it.
    fn from_action(action: &Value) -> Self {
        let codes = |key: &str| -> Vec<String> {
            action[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["code"].as_str().map(str::to_owned))
                .collect()
        };
        Self {
            date: action["date"].as_str().unwrap_or_default().to_owned(),
            campaign: action["campaign"].as_str().unwrap_or_default().to_owned(),
            held: action["held"].as_bool().unwrap_or_default(),
            types: codes("types"),
            audience_levels: codes("audience_levels"),
            pupils_reached: action["pupils_reached"]
                .as_i64()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            partners: action["partners"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str())
                .collect::<Vec<_>>()
                .join(", "),
            description: action["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// The page's own checks, before anything is sent: the API's body, or the fields at
    /// fault. `new` checks the campaign too (an action keeps its own).
    fn check(&self, new: bool) -> Result<(SchoolYear, Value), HashMap<String, String>> {
        let mut errors = HashMap::new();
        let date = NaiveDate::parse_from_str(&self.date, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(&self.date, "%d/%m/%Y"));
        if date.is_err() {
            errors.insert(
                "date".to_owned(),
                if self.date.is_empty() {
                    "Indiquez la date de l'action.".to_owned()
                } else {
                    format!(
                        "« {} » n'est pas une date : jour, mois et année, par exemple \
                         06/11/2025.",
                        self.date
                    )
                },
            );
        }
        let pupils = self.pupils_reached.parse::<u32>();
        if pupils.is_err() {
            errors.insert(
                "pupils_reached".to_owned(),
                if self.pupils_reached.is_empty() {
                    "Indiquez le nombre d'élèves touchés (0 si aucun).".to_owned()
                } else {
                    format!(
                        "« {} » n'est pas un nombre d'élèves : un nombre entier, positif ou \
                         nul.",
                        self.pupils_reached
                    )
                },
            );
        }
        if new && !CAMPAIGNS.iter().any(|c| c.1 == self.campaign) {
            errors.insert(
                "campaign".to_owned(),
                "Choisissez la campagne : Journée nationale ou au cours de l'année.".to_owned(),
            );
        }
        if self.description.trim().chars().count() > DESCRIPTION_MAX {
            errors.insert(
                "description".to_owned(),
                format!("La description compte {DESCRIPTION_MAX} caractères au plus."),
            );
        }
        let (Ok(date), Ok(pupils)) = (date, pupils) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let partners: Vec<&str> = self
            .partners
            .split([',', '\n'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let mut body = json!({
            "date": date.format("%Y-%m-%d").to_string(),
            "types": self.types,
            "audience_levels": self.audience_levels,
            "pupils_reached": pupils,
            "partners": partners,
            "description": self.description.trim(),
            "held": self.held,
        });
        if new {
            body["campaign"] = json!(self.campaign);
        }
        Ok((SchoolYear::containing(date), body))
    }
}

/// The refusal shown above a form: the API's (or the page's) French detail, and the
/// messages of its fields.
#[derive(Debug, Default, Serialize)]
struct Refusal {
    detail: Option<String>,
    errors: HashMap<String, String>,
}

impl Refusal {
    fn of_page(errors: HashMap<String, String>) -> Self {
        Self {
            detail: Some("Le formulaire est à compléter : voyez les champs signalés.".into()),
            errors,
        }
    }

    fn of_api(detail: String, fields: Vec<(String, String)>) -> Self {
        Self {
            detail: Some(detail),
            errors: fields.into_iter().collect(),
        }
    }
}

/// The API's vocabularies (types, audience levels), for the checkboxes.
async fn vocabulary(pages: &Pages, token: &str) -> Result<Value, ApiError> {
    pages
        .api
        .get(token, "/api/v1/national-days/vocabulary")
        .await
}

/// A client error as it is; anything else is the API's trouble.
fn client_status(status: StatusCode) -> StatusCode {
    if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_GATEWAY
    }
}

/// The session of a form, once its CSRF token is checked; else the answer.
fn checked(
    pages: &Pages,
    jar: &CookieJar,
    here: &str,
    csrf: &str,
) -> Result<Session, Box<Response>> {
    let Some(session) = Session::of(jar) else {
        return Err(Box::new(crate::session::to_login(here)));
    };
    if !session.accepts(csrf) {
        return Err(Box::new(pages.templates.error(
            StatusCode::FORBIDDEN,
            "Formulaire refusé",
            "Ce formulaire ne vient pas de Pharos ou a expiré. Rechargez la page, puis \
             recommencez.",
        )));
    }
    Ok(session)
}

async fn render_new(
    pages: &Pages,
    session: &Session,
    me: &Me,
    status: StatusCode,
    typed: &Typed,
    refusal: &Refusal,
) -> Response {
    let vocabulary = match vocabulary(pages, &session.token).await {
        Ok(vocabulary) => vocabulary,
        Err(error) => return pages.templates.api_error(error, "/mes-actions/nouvelle"),
    };
    pages.templates.render(
        status,
        "school_actions_new.html",
        minijinja::context! {
            title => "Déclarer une action",
            active => "school_actions",
            me => Serde(me),
            csrf => session.csrf(),
            form => Serde(typed),
            refusal => Serde(refusal),
            vocabulary => Serde(&vocabulary),
            campaigns => CAMPAIGNS.iter().map(|c| (c.1, c.2)).collect::<Vec<_>>(),
            description_max => DESCRIPTION_MAX,
        },
    )
}

/// `GET /mes-actions/nouvelle`: on the national day's campaign by default.
pub async fn new_form(State(pages): State<Pages>, jar: CookieJar) -> Response {
    let (session, me) =
        match signed_in_as(&pages, &jar, "/mes-actions/nouvelle", SCHOOLS, REFUSAL).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let typed = Typed {
        campaign: "national_day".to_owned(),
        ..Typed::default()
    };
    render_new(
        &pages,
        &session,
        &me,
        StatusCode::OK,
        &typed,
        &Refusal::default(),
    )
    .await
}

/// `POST /mes-actions/nouvelle`.
pub async fn declare(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let here = "/mes-actions/nouvelle";
    let (typed, csrf) = Typed::of(pairs);
    if let Err(response) = checked(&pages, &jar, here, &csrf) {
        return *response;
    }
    let (session, me) = match signed_in_as(&pages, &jar, here, SCHOOLS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (year, mut body) = match typed.check(true) {
        Ok(checked) => checked,
        Err(errors) => {
            let refusal = Refusal::of_page(errors);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return render_new(&pages, &session, &me, status, &typed, &refusal).await;
        }
    };
    body["school_uai"] = json!(me.scope);
    let path = format!("/api/v1/national-days/{year}/actions");
    match pages
        .api
        .command(&session.token, Method::POST, &path, &body)
        .await
    {
        Ok(created) => {
            let id = created["id"].as_str().unwrap_or_default();
            Redirect::to(&format!("/mes-actions/{}?succes=declaree", encode(id))).into_response()
        }
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            let refusal = Refusal::of_api(detail, fields);
            let status = client_status(status);
            render_new(&pages, &session, &me, status, &typed, &refusal).await
        }
        Err(error) => pages.templates.api_error(error, here),
    }
}

// --- One action ----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    succes: String,
}

/// What the action page shows after a form: a success, or the refused form.
#[derive(Debug, Default)]
struct Outcome {
    success: Option<&'static str>,
    /// The correction typed, when it was refused.
    typed: Option<Typed>,
    /// Which form was refused: `edit` or `submit`.
    form: &'static str,
    refusal: Refusal,
}

/// `GET /mes-actions/{id}`.
pub async fn detail(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Query(asked): Query<DetailQuery>,
) -> Response {
    let success = match asked.succes.as_str() {
        "declaree" => Some("Action déclarée. Transmettez-la au référent quand elle est complète."),
        "modifiee" => Some("Action modifiée."),
        "transmise" => Some("Action transmise au référent départemental."),
        _ => None,
    };
    let outcome = Outcome {
        success,
        ..Outcome::default()
    };
    show(&pages, &jar, &id, StatusCode::OK, outcome).await
}

async fn show(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let here = format!("/mes-actions/{}", encode(id));
    let (session, me) = match signed_in_as(pages, jar, &here, SCHOOLS, REFUSAL).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if uuid::Uuid::parse_str(id).is_err() {
        return unknown(pages);
    }
    let unknown_on = [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN];
    let action = match fetch_action(pages, &session.token, id, &here, &unknown_on).await {
        Ok(action) => action,
        Err(page) => return page,
    };
    let code = action["status"].as_str().unwrap_or_default().to_owned();
    let editable = matches!(code.as_str(), "draft" | "returned");
    let vocabulary = if editable {
        match vocabulary(pages, &session.token).await {
            Ok(vocabulary) => vocabulary,
            Err(error) => return pages.templates.api_error(error, &here),
        }
    } else {
        Value::Null
    };
    let history = history(pages, &session.token, "action", id, role_label).await;
    let labels = |key: &str| names(&action[key], "label");
    let partners = names(&action["partners"], "name");
    let typed = outcome.typed.unwrap_or_else(|| Typed::from_action(&action));
    pages.templates.render(
        status,
        "school_actions_detail.html",
        minijinja::context! {
            title => "Mon action de sensibilisation",
            active => "school_actions",
            me => Serde(&me),
            csrf => session.csrf(),
            id,
            action => Serde(&action),
            date => french_date(action["date"].as_str().unwrap_or_default()),
            campaign => campaign_label(action["campaign"].as_str().unwrap_or_default()),
            types => labels("types"),
            audiences => labels("audience_levels"),
            partners,
            status_label => status_label(&code),
            badge => status_badge(&code),
            editable,
            vocabulary => Serde(&vocabulary),
            form => Serde(&typed),
            success => outcome.success,
            refused_form => outcome.form,
            refusal => Serde(&outcome.refusal),
            history => history.as_ref().map(Serde),
            description_max => DESCRIPTION_MAX,
        },
    )
}

/// After a command on the action: back to it with its success, or its page with the
/// refusal.
async fn after(
    pages: &Pages,
    jar: &CookieJar,
    id: &str,
    result: Result<Value, ApiError>,
    success: &str,
    mut outcome: Outcome,
) -> Response {
    match result {
        Ok(_) => {
            Redirect::to(&format!("/mes-actions/{}?succes={success}", encode(id))).into_response()
        }
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            outcome.refusal = Refusal::of_api(detail, fields);
            show(pages, jar, id, client_status(status), outcome).await
        }
        Err(error) => pages
            .templates
            .api_error(error, &format!("/mes-actions/{}", encode(id))),
    }
}

/// `POST /mes-actions/{id}/modifier`: the correction, as a `PATCH`.
pub async fn edit(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let here = format!("/mes-actions/{}", encode(&id));
    let (typed, csrf) = Typed::of(pairs);
    let session = match checked(&pages, &jar, &here, &csrf) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let body = match typed.check(false) {
        Ok((_, body)) => body,
        Err(errors) => {
            let outcome = Outcome {
                typed: Some(typed),
                form: "edit",
                refusal: Refusal::of_page(errors),
                ..Outcome::default()
            };
            return show(&pages, &jar, &id, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
        }
    };
    let result = pages
        .api
        .command(
            &session.token,
            Method::PATCH,
            &format!("/api/v1/actions/{id}"),
            &body,
        )
        .await;
    let outcome = Outcome {
        typed: Some(typed),
        form: "edit",
        ..Outcome::default()
    };
    after(&pages, &jar, &id, result, "modifiee", outcome).await
}

#[derive(Debug, Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /mes-actions/{id}/transmettre`.
pub async fn submit(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<SubmitForm>,
) -> Response {
    let here = format!("/mes-actions/{}", encode(&id));
    let session = match checked(&pages, &jar, &here, &form.csrf) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/actions/{id}/submit"),
            &json!({}),
        )
        .await;
    let outcome = Outcome {
        form: "submit",
        ..Outcome::default()
    };
    after(&pages, &jar, &id, result, "transmise", outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_reads_its_checkboxes_and_checks_its_numbers() {
        let (typed, csrf) = Typed::of(pairs(&[
            ("csrf", "t"),
            ("date", "06/11/2025"),
            ("campaign", "national_day"),
            ("types", "atelier"),
            ("types", "projection_debat"),
            ("pupils_reached", "120"),
            ("partners", "Association A, Maison B"),
            ("held", "on"),
        ]));
        assert_eq!(csrf, "t");
        let (year, body) = typed.check(true).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(year.to_string(), "2025-2026");
        assert_eq!(body["date"], "2025-11-06");
        assert_eq!(body["types"], json!(["atelier", "projection_debat"]));
        assert_eq!(body["partners"], json!(["Association A", "Maison B"]));
        assert_eq!(body["held"], true);

        let (typed, _) = Typed::of(pairs(&[("date", "demain"), ("pupils_reached", "beaucoup")]));
        let errors = typed.check(true).err().unwrap_or_default();
        assert!(errors.contains_key("date"));
        assert!(errors["pupils_reached"].contains("beaucoup"));
        assert!(errors.contains_key("campaign"));
        assert!(
            typed
                .check(false)
                .err()
                .is_some_and(|e| !e.contains_key("campaign")),
            "a correction keeps its campaign"
        );
    }
}
