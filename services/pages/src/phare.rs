//! `GET /phare`: a school's pHARe deployment for the current school year — the steps of
//! the programme with their state, what is still missing, and the forms the API offers
//! (start the deployment, sign the charter, name the coordinator, add a team member,
//! record the protocol, plan the learning hours, record a parent workshop). `GET
//! /phare/label`: the school's label request with its criteria, the suggested answers and
//! its own, and « Soumettre ».
//!
//! The school opens its own; the department referents and the pole open a school's with
//! `?uai=` (the API decides: a school outside their scope is refused, and the page shows
//! the refusal). Everything is read through the REST API right after a command
//! (`GET /api/v1/phare/deployments…`), so that the page shows it at once.

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
use crate::api::ApiError;
use crate::common::{encode, french_date, me, signed_in};
use crate::home::Me;
use crate::session::Session;

pub fn routes() -> Router<Pages> {
    Router::new()
        .route("/phare", get(page))
        .route("/phare/demarrer", post(start))
        .route("/phare/deploiements/{id}/{step}", post(step))
        .route("/phare/label", get(label_page))
        .route("/phare/label/demarrer", post(label_start))
        .route("/phare/label/{id}/critere", post(label_answer))
        .route("/phare/label/{id}/soumettre", post(label_submit))
}

/// Trained members a resource team needs.
const TEAM_REQUIRED: u64 = 5;

/// The functions a team member may hold: the API's code and its French name.
const FUNCTIONS: [(&str, &str); 12] = [
    ("enseignant", "Enseignant ou enseignante"),
    (
        "cpe",
        "Conseiller ou conseillère principal(e) d'éducation (CPE)",
    ),
    ("aed", "Assistant ou assistante d'éducation (AED)"),
    ("infirmier", "Infirmier ou infirmière"),
    (
        "assistant_social",
        "Assistant ou assistante de service social",
    ),
    ("psyen", "Psychologue de l'Éducation nationale"),
    ("direction", "Direction"),
    (
        "conseiller_pedagogique",
        "Conseiller ou conseillère pédagogique",
    ),
    (
        "ien",
        "Inspecteur ou inspectrice de l'Éducation nationale (IEN)",
    ),
    ("medecin_scolaire", "Médecin scolaire"),
    (
        "aesh",
        "Accompagnant ou accompagnante d'élèves en situation de handicap (AESH)",
    ),
    ("autre", "Autre fonction (à préciser)"),
];

fn function_label(code: &str) -> String {
    FUNCTIONS
        .iter()
        .find(|f| f.0 == code)
        .map_or_else(|| code.to_owned(), |f| f.1.to_owned())
}

// --- Shared with the cohorts page ------------------------------------------------------

/// A school as the directory gives it: its name and kind (`college`, `ecole`…); `None`
/// when the API does not give it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct School {
    pub uai: String,
    pub name: String,
    pub kind: String,
}

pub(crate) async fn school(pages: &Pages, token: &str, uai: &str) -> Option<School> {
    // The directory's own record (REST): the read model may not have a school just
    // registered yet.
    let found = pages
        .api
        .get(token, &format!("/api/v1/schools/{}", encode(uai)))
        .await
        .inspect_err(|error| tracing::debug!(?error, "school unavailable to the pages"))
        .ok()?;
    serde_json::from_value(found).ok()
}

/// Whose page it is: a school's own, or for the referents and the pole the `?uai=` asked
/// (empty: none asked yet). `None`: a role these pages are not for.
pub(crate) fn target_uai(me: &Me, asked: &str) -> Option<String> {
    let asked = asked.trim().to_uppercase();
    match me.role.as_str() {
        "school" if asked.is_empty() => Some(me.scope.clone().unwrap_or_default()),
        "school" | "department_referent" | "pole_manager" | "admin" => Some(asked),
        _ => None,
    }
}

/// The current school year, on Paris's calendar.
pub(crate) fn current_year(pages: &Pages) -> SchoolYear {
    SchoolYear::containing(pharos_domain::today_in_france(pages.clock.now()))
}

/// `base`, with `?uai=` for a referent's view of a school, and the success flag.
pub(crate) fn back_to(base: &str, uai: &str, me_is_school: bool, success: Option<&str>) -> String {
    let mut pairs = Vec::new();
    if !me_is_school && !uai.is_empty() {
        pairs.push(format!("uai={}", encode(uai)));
    }
    if let Some(success) = success {
        pairs.push(format!("succes={success}"));
    }
    if pairs.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

/// What a form's submission gave, shown on the page it came from: a success, or the
/// refusal with the field messages next to their inputs and what was typed.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Outcome {
    pub success: Option<&'static str>,
    /// The form that was refused (its key in the page).
    pub form: Option<String>,
    pub detail: Option<String>,
    /// Field → message, by the input's name.
    pub fields: HashMap<String, String>,
    /// What was typed, by the input's name.
    pub values: HashMap<String, String>,
}

impl Outcome {
    pub(crate) fn refused(
        form: &str,
        detail: String,
        fields: Vec<(String, String)>,
        values: HashMap<String, String>,
    ) -> Self {
        Self {
            form: Some(form.to_owned()),
            detail: Some(detail),
            // The API names a person's fields `person.…`, `referent.…`: the inputs do not.
            fields: fields
                .into_iter()
                .map(|(field, message)| {
                    let field = field
                        .strip_prefix("person.")
                        .or_else(|| field.strip_prefix("referent."))
                        .map_or(field.clone(), str::to_owned);
                    (field, message)
                })
                .collect(),
            values,
            success: None,
        }
    }
}

/// After a command: back to `base` with its success (Post/Redirect/Get), or the page
/// `show` renders (for the school asked) with the API's refusal next to the form.
pub(crate) async fn after<Fut: std::future::Future<Output = Response>>(
    pages: &Pages,
    (base, uai, is_school): (&str, &str, bool),
    (form_key, success): (&str, &str),
    result: Result<Value, ApiError>,
    form: HashMap<String, String>,
    show: impl FnOnce(String, StatusCode, Outcome) -> Fut,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&back_to(base, uai, is_school, Some(success))).into_response(),
        Err(ApiError::Refused {
            status,
            detail,
            fields,
        }) => {
            let asked = if is_school { "" } else { uai };
            show(
                asked.to_owned(),
                client_status(status),
                Outcome::refused(form_key, detail, fields, form),
            )
            .await
        }
        Err(error) => pages
            .templates
            .api_error(error, &back_to(base, uai, is_school, None)),
    }
}

/// The CSRF refusal of every form of these pages.
pub(crate) fn forged(pages: &Pages) -> Response {
    pages.templates.error(
        StatusCode::FORBIDDEN,
        "Formulaire refusé",
        "Ce formulaire ne vient pas de Pharos ou a expiré. Rechargez la page, puis \
         recommencez.",
    )
}

pub(crate) fn reserved(pages: &Pages, what: &str) -> Response {
    pages.templates.error(
        StatusCode::FORBIDDEN,
        "Page réservée",
        &format!(
            "{what} sont suivis par les établissements, les référents départementaux et le \
             pôle académique. Revenez à l'accueil pour les pages de votre espace."
        ),
    )
}

/// A date typed in a form (`AAAA-MM-JJ` from a date input, or `JJ/MM/AAAA`), checked
/// before the API is asked; `Ok(None)` when left empty.
pub(crate) fn typed_date(text: &str) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .map(Some)
        .map_err(|_| format!("« {text} » n'est pas une date : saisissez-la au format jj/mm/aaaa."))
}

pub(crate) fn value<'a>(form: &'a HashMap<String, String>, key: &str) -> &'a str {
    form.get(key).map_or("", |v| v.trim())
}

/// The status of a refusal the page shows: the API's own when it is the user's (4xx).
pub(crate) fn client_status(status: StatusCode) -> StatusCode {
    if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_GATEWAY
    }
}

// --- The deployment --------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    uai: String,
    #[serde(default)]
    succes: String,
}

fn success_message(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "demarre" => "Le déploiement pHARe de l'année est démarré.",
        "charte" => "La date de signature de la charte est enregistrée.",
        "coordonnateur" => "Le coordonnateur est désigné.",
        "equipe" => "Le membre est ajouté à l'équipe ressource.",
        "protocole" => "Le protocole de traitement est enregistré.",
        "heures" => "Les heures d'apprentissage sont enregistrées.",
        "atelier" => "L'atelier parents est enregistré.",
        "label" => "La candidature au label est créée : répondez à ses critères.",
        "critere" => "La réponse au critère est enregistrée.",
        "soumis" => "La candidature au label est déposée : le pôle académique l'examinera.",
        _ => return None,
    })
}

/// `GET /phare`.
pub async fn page(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(query): Query<PageQuery>,
) -> Response {
    let outcome = Outcome {
        success: success_message(&query.succes),
        ..Outcome::default()
    };
    show(&pages, &jar, &query.uai, StatusCode::OK, outcome).await
}

/// A step of the programme, as the checklist shows it.
#[derive(Debug, Serialize)]
struct Step {
    label: &'static str,
    done: bool,
    detail: String,
    /// What remains to do, in plain French (empty once done).
    missing: String,
}

async fn show(
    pages: &Pages,
    jar: &CookieJar,
    asked: &str,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let (session, me, uai) =
        match school_page(pages, jar, "/phare", asked, "Les déploiements pHARe").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let is_school = me.role == "school";
    let here = back_to("/phare", &uai, is_school, None);
    let year = current_year(pages);
    let mut refusal: Option<String> = None;
    let mut status = status;
    let mut uai_error: Option<String> = None;
    let mut deployment: Option<Value> = None;
    let mut school_info = None;
    if !uai.is_empty() {
        let path = format!(
            "/api/v1/phare/deployments?school_uai={}&school_year={year}",
            encode(&uai)
        );
        match pages.api.get(&session.token, &path).await {
            Ok(list) => {
                if let Some(id) = list["items"][0]["id"].as_str() {
                    match pages
                        .api
                        .get(&session.token, &format!("/api/v1/phare/deployments/{id}"))
                        .await
                    {
                        Ok(found) => deployment = Some(found),
                        Err(error) => return pages.templates.api_error(error, &here),
                    }
                }
                school_info = school(pages, &session.token, &uai).await;
            }
            Err(ApiError::Refused {
                status: refused,
                detail,
                fields,
            }) if refused.is_client_error() => {
                status = refused;
                match fields.into_iter().find(|(f, _)| f == "school_uai") {
                    Some((_, message)) => uai_error = Some(message),
                    None => refusal = Some(detail),
                }
            }
            Err(error) => return pages.templates.api_error(error, &here),
        }
    }
    let steps = deployment.as_ref().map(steps);
    let trained = deployment
        .as_ref()
        .and_then(|d| d["compliance"]["trained_members"].as_u64())
        .unwrap_or(0);
    let team: Vec<Value> = deployment
        .as_ref()
        .and_then(|d| d["team"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|mut m| {
            let label = m["function_label"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| function_label(m["function"].as_str().unwrap_or_default()));
            m["function_name"] = Value::from(label);
            m
        })
        .collect();
    let workshops: Vec<Value> = deployment
        .as_ref()
        .and_then(|d| d["parent_workshops"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|mut w| {
            w["date"] = Value::from(french_date(w["held_on"].as_str().unwrap_or_default()));
            w
        })
        .collect();
    let kind = school_info
        .as_ref()
        .map(|s| s.kind.clone())
        .unwrap_or_default();
    let protocol_body = if kind == "ecole" {
        "conseil_ecole"
    } else {
        "conseil_administration"
    };
    let label_link = back_to("/phare/label", &uai, is_school, None);
    let cohorts_link = back_to("/cohortes", &uai, is_school, None);
    pages.templates.render(
        status,
        "phare.html",
        minijinja::context! {
            title => "Déploiement pHARe",
            active => "phare",
            me => Serde(&me),
            csrf => session.csrf(),
            is_school,
            uai,
            uai_error,
            refusal,
            school => school_info.as_ref().map(Serde),
            year => year.to_string(),
            deployment => deployment.as_ref().map(Serde),
            steps => steps.as_ref().map(Serde),
            trained,
            trained_bar => trained.min(TEAM_REQUIRED),
            team_required => TEAM_REQUIRED,
            team => Serde(&team),
            workshops => Serde(&workshops),
            functions => FUNCTIONS.to_vec(),
            protocol_body,
            label_link,
            cohorts_link,
            outcome => Serde(&outcome),
        },
    )
}

/// The checklist of the deployment `d` (the API's view), in the programme's order.
fn steps(d: &Value) -> Vec<Step> {
    let flags = &d["compliance"];
    let flag = |key: &str| flags[key].as_bool().unwrap_or(false);
    let mut steps = Vec::new();

    let charter = &d["charter"];
    steps.push(Step {
        label: "Charte d'engagement en vigueur",
        done: flag("charter_in_force"),
        detail: match charter["signed_on"].as_str() {
            Some(on) => format!(
                "Signée le {}, en vigueur du {} au {}.",
                french_date(on),
                french_date(charter["takes_effect_on"].as_str().unwrap_or_default()),
                french_date(charter["ends_on"].as_str().unwrap_or_default())
            ),
            None => "Pas encore signée.".to_owned(),
        },
        missing: "Faire signer la charte d'engagement et enregistrer sa date de signature."
            .to_owned(),
    });

    steps.push(Step {
        label: "Coordonnateur (référent harcèlement) désigné",
        done: flag("coordinator_named"),
        detail: match d["coordinator"]["display_name"].as_str() {
            Some(name) => format!("{name}."),
            None if flag("team_of_circonscription") => {
                "Celui de la circonscription compte pour une école.".to_owned()
            }
            None => "Personne n'est désigné.".to_owned(),
        },
        missing: "Désigner le coordonnateur du programme dans l'établissement.".to_owned(),
    });

    let trained = flags["trained_members"].as_u64().unwrap_or(0);
    let members = d["team"].as_array().map_or(0, Vec::len);
    steps.push(Step {
        label: "Équipe ressource d'au moins 5 personnes formées",
        done: flag("trained_team"),
        detail: format!(
            "{trained} personne{} formée{} sur {TEAM_REQUIRED} attendues ({members} membre{} dans l'équipe).",
            plural(trained),
            plural(trained),
            plural(members as u64)
        ),
        missing: format!(
            "Compléter l'équipe ressource : encore {} personne{} formée{} à pHARe.",
            TEAM_REQUIRED.saturating_sub(trained),
            plural(TEAM_REQUIRED.saturating_sub(trained)),
            plural(TEAM_REQUIRED.saturating_sub(trained))
        ),
    });

    let protocol = &d["protocol"];
    let body = match protocol["presented_to"].as_str() {
        Some("conseil_ecole") => "au conseil d'école",
        _ => "au conseil d'administration",
    };
    steps.push(Step {
        label: "Protocole de traitement présenté",
        done: flag("protocol_presented"),
        detail: match (
            protocol["formalised_on"].as_str(),
            protocol["presented_on"].as_str(),
        ) {
            (Some(_), Some(on)) => format!("Présenté {body} le {}.", french_date(on)),
            (Some(formalised), None) => format!(
                "Formalisé le {}, pas encore présenté {body}.",
                french_date(formalised)
            ),
            _ => "Pas encore enregistré.".to_owned(),
        },
        missing: format!("Présenter le protocole de traitement des situations {body}."),
    });

    let hours = d["learning_hours"]["hours"].as_u64();
    steps.push(Step {
        label: "10 heures d'apprentissage planifiées",
        done: flag("learning_hours_planned"),
        detail: match hours {
            Some(h) if d["learning_hours"]["planned"].as_bool() == Some(true) => {
                format!("{h} heure{} planifiée{}.", plural(h), plural(h))
            }
            _ => "Aucun plan enregistré.".to_owned(),
        },
        missing: "Planifier les 10 heures d'apprentissage par élève sur l'année.".to_owned(),
    });

    let workshops = d["parent_workshops"].as_array().map_or(0, Vec::len) as u64;
    steps.push(Step {
        label: "Atelier parents tenu",
        done: flag("parent_workshop_held"),
        detail: if workshops == 0 {
            "Aucun atelier enregistré.".to_owned()
        } else {
            format!(
                "{workshops} atelier{} enregistré{} (tenu{} ou programmé{}).",
                plural(workshops),
                plural(workshops),
                plural(workshops),
                plural(workshops)
            )
        },
        missing: "Tenir au moins un atelier parents et l'enregistrer.".to_owned(),
    });

    if flag("ambassadors_expected") {
        let pupils = flags["pupil_ambassadors"].as_u64().unwrap_or(0);
        steps.push(Step {
            label: "Au moins 10 élèves ambassadeurs",
            done: flag("ten_ambassadors"),
            detail: format!(
                "{pupils} élève{} ambassadeur{} déclaré{} dans les cohortes de l'année.",
                plural(pupils),
                plural(pupils),
                plural(pupils)
            ),
            missing: format!(
                "Déclarer au moins 10 élèves ambassadeurs (encore {}) dans « Cohortes ».",
                10u64.saturating_sub(pupils)
            ),
        });
    }
    for step in &mut steps {
        if step.done {
            step.missing.clear();
        }
    }
    steps
}

fn plural(n: u64) -> &'static str {
    if n > 1 { "s" } else { "" }
}

/// The signed-in user and the school the page is about ([`target_uai`]); else the
/// answer: `what` names the page's subject in the refusal.
pub(crate) async fn school_page(
    pages: &Pages,
    jar: &CookieJar,
    here: &str,
    asked: &str,
    what: &str,
) -> Result<(Session, Me, String), Response> {
    let (session, me) = signed_in(pages, jar, here).await?;
    match target_uai(&me, asked) {
        Some(uai) => Ok((session, me, uai)),
        None => Err(reserved(pages, what)),
    }
}

/// The signed session, the user and the school of a form, once its CSRF token is
/// checked; else the answer.
pub(crate) async fn school_form(
    pages: &Pages,
    jar: &CookieJar,
    here: &str,
    form: &HashMap<String, String>,
    what: &str,
) -> Result<(Session, Me, String), Box<Response>> {
    let session = signed(pages, jar, here, form)?;
    let me = me(pages, &session)
        .await
        .map_err(|error| Box::new(pages.templates.api_error(error, here)))?;
    let uai = target_uai(&me, value(form, "uai")).ok_or_else(|| Box::new(reserved(pages, what)))?;
    Ok((session, me, uai))
}

/// The session of a form, once its CSRF token is checked; else the answer.
fn signed(
    pages: &Pages,
    jar: &CookieJar,
    here: &str,
    form: &HashMap<String, String>,
) -> Result<Session, Box<Response>> {
    let Some(session) = Session::of(jar) else {
        return Err(Box::new(crate::session::to_login(here)));
    };
    if !session.accepts(value(form, "csrf")) {
        return Err(Box::new(forged(pages)));
    }
    Ok(session)
}

/// `POST /phare/demarrer`: the deployment of the current year, for the form's school
/// (or the school's own).
pub async fn start(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (session, me, uai) =
        match school_form(&pages, &jar, "/phare", &form, "Les déploiements pHARe").await {
            Ok(found) => found,
            Err(response) => return *response,
        };
    let body = json!({
        "school_year": current_year(&pages).to_string(),
        "school_uai": uai,
    });
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            "/api/v1/phare/deployments",
            &body,
        )
        .await;
    // One already there (started meanwhile, or twice): the page shows it.
    let result = match result {
        Err(ApiError::Refused { status, .. }) if status == StatusCode::CONFLICT => Ok(Value::Null),
        other => other,
    };
    done(
        &pages,
        &jar,
        &me,
        &uai,
        ("demarrer", "demarre"),
        result,
        form,
    )
    .await
}

/// After a command: back to the page with its success (Post/Redirect/Get), or the page
/// with the API's refusal next to the form.
async fn done(
    pages: &Pages,
    jar: &CookieJar,
    me: &Me,
    uai: &str,
    keys: (&str, &str),
    result: Result<Value, ApiError>,
    form: HashMap<String, String>,
) -> Response {
    let place = ("/phare", uai, me.role == "school");
    after(
        pages,
        place,
        keys,
        result,
        form,
        |asked, status, outcome| async move { show(pages, jar, &asked, status, outcome).await },
    )
    .await
}

/// `POST /phare/deploiements/{id}/{step}`: one of the deployment's commands, its fields
/// checked for shape here (dates, numbers), for their rules by the API.
pub async fn step(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path((id, step)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let session = match signed(&pages, &jar, "/phare", &form) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let me = match me(&pages, &session).await {
        Ok(me) => me,
        Err(error) => return pages.templates.api_error(error, "/phare"),
    };
    let Some(uai) = target_uai(&me, value(&form, "uai")) else {
        return reserved(&pages, "Les déploiements pHARe");
    };
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut date = |field: &str, required: &str| -> Option<String> {
        match typed_date(value(&form, field)) {
            Ok(Some(day)) => Some(day.format("%Y-%m-%d").to_string()),
            Ok(None) => {
                if !required.is_empty() {
                    errors.push((field.to_owned(), required.to_owned()));
                }
                None
            }
            Err(message) => {
                errors.push((field.to_owned(), message));
                None
            }
        }
    };
    let (path, body, success) = match step.as_str() {
        "charte" => {
            let signed_on = date("signed_on", "Indiquez la date de signature de la charte.");
            ("charter", json!({ "signed_on": signed_on }), "charte")
        }
        "protocole" => {
            let formalised_on = date(
                "formalised_on",
                "Indiquez la date de formalisation du protocole.",
            );
            let presented_on = date("presented_on", "");
            (
                "protocol",
                json!({
                    "formalised_on": formalised_on,
                    "presented_on": presented_on,
                    "presented_to": value(&form, "presented_to"),
                }),
                "protocole",
            )
        }
        "ateliers" => {
            let held_on = date("held_on", "Indiquez la date de l'atelier.");
            let participants = match value(&form, "participants") {
                "" => None,
                text => match text.parse::<u32>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        errors.push((
                            "participants".into(),
                            format!("« {text} » n'est pas un nombre de participants."),
                        ));
                        None
                    }
                },
            };
            (
                "parent-workshops",
                json!({ "held_on": held_on, "participants": participants }),
                "atelier",
            )
        }
        "heures" => {
            let hours = match value(&form, "hours") {
                "" => {
                    errors.push((
                        "hours".into(),
                        "Indiquez le nombre d'heures planifiées (10 attendues).".into(),
                    ));
                    0
                }
                text => text.parse::<u32>().unwrap_or_else(|_| {
                    errors.push((
                        "hours".into(),
                        format!("« {text} » n'est pas un nombre d'heures entier."),
                    ));
                    0
                }),
            };
            (
                "learning-hours",
                json!({ "planned": hours > 0, "hours": hours }),
                "heures",
            )
        }
        "coordonnateur" => (
            "coordinator",
            json!({ "person": {
                "display_name": value(&form, "display_name"),
                "email": value(&form, "email"),
            }}),
            "coordonnateur",
        ),
        "equipe" => {
            let function = value(&form, "function");
            (
                "team-members",
                json!({
                    "person": {
                        "display_name": value(&form, "display_name"),
                        "email": value(&form, "email"),
                    },
                    "function": function,
                    "function_label": Some(value(&form, "function_label"))
                        .filter(|l| !l.is_empty() && function == "autre"),
                    "trained": value(&form, "trained") == "oui",
                }),
                "equipe",
            )
        }
        _ => return unknown(&pages),
    };
    if !errors.is_empty() {
        let asked = if me.role == "school" {
            ""
        } else {
            uai.as_str()
        };
        return show(
            &pages,
            &jar,
            asked,
            StatusCode::UNPROCESSABLE_ENTITY,
            Outcome::refused(
                &step,
                "Le formulaire n'a pas été enregistré : corrigez le champ signalé.".into(),
                errors,
                form,
            ),
        )
        .await;
    }
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/phare/deployments/{id}/{path}"),
            &body,
        )
        .await;
    done(&pages, &jar, &me, &uai, (&step, success), result, form).await
}

fn unknown(pages: &Pages) -> Response {
    pages.templates.error(
        StatusCode::NOT_FOUND,
        "Page introuvable",
        "Ce formulaire ne correspond à aucun déploiement pHARe. Revenez à la page pHARe.",
    )
}

// --- The label -------------------------------------------------------------------------

const LABEL_STATUSES: [(&str, &str, &str); 6] = [
    ("draft", "Brouillon", ""),
    ("submitted", "Déposée", "new"),
    ("under_review", "En cours d'examen", "info"),
    ("returned", "Renvoyée à l'établissement", "warning"),
    ("awarded", "Label attribué", "success"),
    ("not_awarded", "Label non attribué", "error"),
];

/// `GET /phare/label`.
pub async fn label_page(
    State(pages): State<Pages>,
    jar: CookieJar,
    Query(query): Query<PageQuery>,
) -> Response {
    let outcome = Outcome {
        success: success_message(&query.succes),
        ..Outcome::default()
    };
    show_label(&pages, &jar, &query.uai, StatusCode::OK, outcome).await
}

async fn show_label(
    pages: &Pages,
    jar: &CookieJar,
    asked: &str,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let (session, me, uai) =
        match school_page(pages, jar, "/phare/label", asked, "Les labels pHARe").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let is_school = me.role == "school";
    let here = back_to("/phare/label", &uai, is_school, None);
    let year = current_year(pages);
    let mut status = status;
    let mut refusal = None;
    // The year's criteria: without them, no label this year.
    let criteria = pages
        .api
        .get(
            &session.token,
            &format!("/api/v1/phare/label-criteria/{year}"),
        )
        .await
        .inspect_err(|error| tracing::debug!(?error, "no label criteria for the year"))
        .ok();
    let mut label: Option<Value> = None;
    if !uai.is_empty() && criteria.is_some() {
        let path = format!(
            "/api/v1/phare/labels?school_uai={}&school_year={year}",
            encode(&uai)
        );
        match pages.api.get(&session.token, &path).await {
            Ok(list) => {
                if let Some(id) = list["items"][0]["id"].as_str() {
                    match pages
                        .api
                        .get(&session.token, &format!("/api/v1/phare/labels/{id}"))
                        .await
                    {
                        Ok(found) => label = Some(found),
                        Err(error) => return pages.templates.api_error(error, &here),
                    }
                }
            }
            Err(ApiError::Refused {
                status: refused,
                detail,
                ..
            }) if refused.is_client_error() => {
                status = refused;
                refusal = Some(detail);
            }
            Err(error) => return pages.templates.api_error(error, &here),
        }
    }
    let code = label
        .as_ref()
        .and_then(|l| l["status"].as_str())
        .unwrap_or_default()
        .to_owned();
    let (status_label, badge) = LABEL_STATUSES
        .iter()
        .find(|s| s.0 == code)
        .map_or((code.clone(), ""), |s| (s.1.to_owned(), s.2));
    let editable = matches!(code.as_str(), "draft" | "returned");
    // The levels the year's criteria offer, as the select shows them.
    let levels: Vec<(String, String)> = criteria
        .as_ref()
        .and_then(|c| c["checklists"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let number = c["level"]["number"].as_u64().unwrap_or(1);
            let name = c["level"]["name"].as_str().unwrap_or_default().to_owned();
            (number.to_string(), format!("Niveau {number} — {name}"))
        })
        .collect();
    let phare_link = back_to("/phare", &uai, is_school, None);
    pages.templates.render(
        status,
        "phare_label.html",
        minijinja::context! {
            title => "Label pHARe",
            active => "phare",
            me => Serde(&me),
            csrf => session.csrf(),
            is_school,
            uai,
            refusal,
            year => year.to_string(),
            criteria => criteria.as_ref().map(Serde),
            levels => Serde(&levels),
            label => label.as_ref().map(Serde),
            status_label,
            badge,
            editable,
            phare_link,
            outcome => Serde(&outcome),
        },
    )
}

/// After a label command: the label page with its success, or with the refusal.
async fn label_done(
    pages: &Pages,
    jar: &CookieJar,
    me: &Me,
    uai: &str,
    keys: (&str, &str),
    result: Result<Value, ApiError>,
    form: HashMap<String, String>,
) -> Response {
    let place = ("/phare/label", uai, me.role == "school");
    after(pages, place, keys, result, form, |asked, status, outcome| async move {
        show_label(pages, jar, &asked, status, outcome).await
    })
    .await
}

/// `POST /phare/label/demarrer`: a label request of the current year at the level chosen.
pub async fn label_start(
    State(pages): State<Pages>,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (session, me, uai) =
        match school_form(&pages, &jar, "/phare/label", &form, "Les labels pHARe").await {
            Ok(found) => found,
            Err(response) => return *response,
        };
    let body = json!({
        "school_uai": uai,
        "school_year": current_year(&pages).to_string(),
        "target_level": value(&form, "target_level"),
    });
    let result = pages
        .api
        .command(&session.token, Method::POST, "/api/v1/phare/labels", &body)
        .await;
    label_done(&pages, &jar, &me, &uai, ("demarrer", "label"), result, form).await
}

/// `POST /phare/label/{id}/critere`: the school's answer to one criterion.
pub async fn label_answer(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (session, me, uai) =
        match school_form(&pages, &jar, "/phare/label", &form, "Les labels pHARe").await {
            Ok(found) => found,
            Err(response) => return *response,
        };
    if uuid::Uuid::parse_str(&id).is_err() {
        return unknown(&pages);
    }
    let criterion = value(&form, "criterion").to_owned();
    let met = match value(&form, "met") {
        "oui" => true,
        "non" => false,
        _ => {
            return show_label(
                &pages,
                &jar,
                if me.role == "school" { "" } else { &uai },
                StatusCode::UNPROCESSABLE_ENTITY,
                Outcome::refused(
                    &format!("critere-{criterion}"),
                    "La réponse n'a pas été enregistrée : choisissez oui ou non.".into(),
                    vec![("met".into(), "Choisissez « Oui » ou « Non ».".into())],
                    form,
                ),
            )
            .await;
        }
    };
    let body = json!({
        "criterion": criterion,
        "met": met,
        "evidence": Some(value(&form, "evidence")).filter(|e| !e.is_empty()),
    });
    let result = pages
        .api
        .command(
            &session.token,
            Method::POST,
            &format!("/api/v1/phare/labels/{id}/criteria"),
            &body,
        )
        .await;
    let key = format!("critere-{criterion}");
    label_done(&pages, &jar, &me, &uai, (&key, "critere"), result, form).await
}

/// `POST /phare/label/{id}/soumettre`.
pub async fn label_submit(
    State(pages): State<Pages>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (session, me, uai) =
        match school_form(&pages, &jar, "/phare/label", &form, "Les labels pHARe").await {
            Ok(found) => found,
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
            &format!("/api/v1/phare/labels/{id}/submit"),
            &json!({}),
        )
        .await;
    label_done(
        &pages,
        &jar,
        &me,
        &uai,
        ("soumettre", "soumis"),
        result,
        form,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_for_shape_before_the_api() {
        assert_eq!(
            typed_date("2026-09-20"),
            Ok(NaiveDate::from_ymd_opt(2026, 9, 20))
        );
        assert_eq!(
            typed_date("20/09/2026"),
            Ok(NaiveDate::from_ymd_opt(2026, 9, 20))
        );
        assert_eq!(typed_date("  "), Ok(None));
        assert!(typed_date("31/02/2026").is_err_and(|e| e.contains("jj/mm/aaaa")));
    }

    #[test]
    fn the_checklist_says_what_is_missing() {
        let deployment = json!({
            "charter": { "signed_on": "2026-09-20", "takes_effect_on": "2026-09-20", "ends_on": "2028-08-31" },
            "team": [{}, {}, {}],
            "compliance": { "charter_in_force": true, "trained_members": 3, "ambassadors_expected": true, "pupil_ambassadors": 4 },
            "parent_workshops": [],
        });
        let steps = steps(&deployment);
        assert!(steps[0].done && steps[0].missing.is_empty());
        assert!(steps[0].detail.contains("20/09/2026"));
        assert!(steps[2].missing.contains("encore 2 personnes formées"));
        assert!(steps[6].missing.contains("encore 6"));
        assert_eq!(
            back_to("/phare", "0310001H", false, Some("charte")),
            "/phare?uai=0310001H&succes=charte"
        );
        assert_eq!(back_to("/phare", "0310001H", true, None), "/phare");
    }
}
