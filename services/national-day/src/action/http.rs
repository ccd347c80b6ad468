//! The action routes: request and answer shapes (documented in French for the OpenAPI
//! document), authorisation on the action's schools, and the handlers that run the
//! decider's commands.
//!
//! Who: any school of the action (and the referents of its department, the pole)
//! declares, reads, edits and submits it (`ReportAwarenessAction` on at least one of its
//! schools); validating, returning and publishing need `ValidateAwarenessAction` on
//! every school of the action (a referent of one department cannot validate an action
//! held partly in another).

use std::borrow::Cow;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use pharos_access::{Action as Act, Actor, IfMatch, Subject, TargetState};
use pharos_decider::{Rejection, execute, execute_with, load, sentence};
use pharos_events::national_day::{
    ACTION_CATEGORY, ActionPartner, ActionSchool, ActionType, AudienceLevel, Campaign,
};
use pharos_events::phare::SchoolYear;
use pharos_events::{DepartmentCode, Role, Uai};
use pharos_eventstore::StreamId;
use pharos_web::{Created, Json, Path, Problem, Query, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::decider::{Action, ActionCommand, ActionState, ActionStatus, Draft};
use crate::day::Edition;
use crate::day::http::{TermView, edition, levels_view, school_year_in_path, types_view};
use crate::index::{self, Index};
use crate::{NAME, input, places};

pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(ACTION_CATEGORY, id)?)
}

fn subject(school: &ActionSchool) -> Subject<'_> {
    Subject::School {
        uai: &school.uai,
        department: &school.department,
    }
}

/// The school side reaches an action through at least one of its schools.
fn may_report(actor: &Actor, schools: &[ActionSchool]) -> Result<(), Problem> {
    let mut denied = None;
    for school in schools {
        match actor.may(Act::ReportAwarenessAction, subject(school)) {
            Ok(()) => return Ok(()),
            Err(e) => denied = denied.or(Some(e)),
        }
    }
    Err(denied.map_or_else(Problem::not_found, Problem::from))
}

/// Validating, returning and publishing reach an action through every one of its
/// schools.
fn may_validate(actor: &Actor, schools: &[ActionSchool]) -> Result<(), Problem> {
    for school in schools {
        actor.may(Act::ValidateAwarenessAction, subject(school))?;
    }
    Ok(())
}

const CAMPAIGNS: &[(&str, Campaign)] = &[
    ("national_day", Campaign::NationalDay),
    ("year_round", Campaign::YearRound),
];

fn types(values: &[String]) -> Result<Vec<ActionType>, Rejection> {
    values
        .iter()
        .map(|text| {
            ActionType::parse(text).ok_or_else(|| {
                Rejection::invalid(
                    "invalid-action-type",
                    "types",
                    format!(
                        "« {} » n'est pas un type d'action ; types possibles : {}.",
                        text.trim(),
                        ActionType::ALL
                            .iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        })
        .collect()
}

fn levels(values: &[String]) -> Result<Vec<AudienceLevel>, Rejection> {
    values
        .iter()
        .map(|text| {
            AudienceLevel::parse(text).ok_or_else(|| {
                Rejection::invalid(
                    "invalid-audience-level",
                    "audience_levels",
                    format!(
                        "« {} » n'est pas un public ; publics possibles : {}.",
                        text.trim(),
                        AudienceLevel::ALL
                            .iter()
                            .map(|l| l.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// Un partenaire de l'action : un partenaire de l'annuaire d'orientation (son
/// identifiant), ou un nom libre. Une chaîne seule est un nom libre, ou l'identifiant
/// d'un partenaire de l'annuaire quand c'en est un.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = AwarenessActionPartnerInput)]
pub enum PartnerInput {
    /// Nom libre, ou identifiant d'un partenaire de l'annuaire.
    Text(String),
    /// Partenaire de l'annuaire (partner_id) ou nom libre (name).
    Entry {
        /// Identifiant du partenaire dans l'annuaire d'orientation.
        #[serde(default)]
        partner_id: Option<Uuid>,
        /// Nom libre (200 caractères au plus).
        #[serde(default)]
        name: Option<String>,
    },
}

/// The partners as recorded: directory entries checked (known, not archived).
async fn partners(
    state: &TargetState,
    index: &Index,
    given: &[PartnerInput],
) -> Result<Vec<ActionPartner>, Problem> {
    let mut partners = Vec::new();
    for partner in given {
        let (id, name) = match partner {
            PartnerInput::Text(text) => match Uuid::parse_str(text.trim()) {
                Ok(id) => (Some(id), None),
                Err(_) => (None, Some(text.clone())),
            },
            PartnerInput::Entry { partner_id, name } => (*partner_id, name.clone()),
        };
        let Some(id) = id else {
            partners.push(ActionPartner::Named {
                name: name.unwrap_or_default(),
            });
            continue;
        };
        let found = index::partner(index, &state.app.store, id).await?;
        match found {
            Some(entry) if !entry.archived => partners.push(ActionPartner::Directory {
                partner_id: id,
                name: entry.name,
            }),
            Some(entry) => {
                return Err(Rejection::invalid(
                    "partner-archived",
                    "partners",
                    format!(
                        "Le partenaire « {} » est archivé dans l'annuaire d'orientation : \
                         nommez-le librement, ou choisissez un partenaire en vigueur.",
                        entry.name
                    ),
                )
                .into());
            }
            None => {
                return Err(Rejection::invalid(
                    "partner-unknown",
                    "partners",
                    format!(
                        "Le partenaire {id} n'est pas dans l'annuaire d'orientation : \
                         nommez-le librement, ou choisissez un partenaire de l'annuaire."
                    ),
                )
                .into());
            }
        }
    }
    Ok(partners)
}

/// The schools named in a request, `school_uai` first: each registered and open.
async fn schools(
    state: &TargetState,
    school_uai: Option<&str>,
    school_uais: &[String],
) -> Result<Vec<ActionSchool>, Problem> {
    let mut uais: Vec<(&'static str, Uai)> = Vec::new();
    if let Some(text) = input::trimmed(school_uai) {
        uais.push(("school_uai", input::uai("school_uai", &text)?));
    }
    for text in school_uais {
        let uai = input::uai("school_uais", text)?;
        if !uais.iter().any(|(_, u)| *u == uai) {
            uais.push(("school_uais", uai));
        }
    }
    let mut schools = Vec::new();
    for (field, uai) in &uais {
        schools.push(places::open_school(&state.access, field, uai).await?);
    }
    Ok(schools)
}

/// A national-day action's edition (its window), `None` for a year-round one.
async fn window(
    state: &TargetState,
    year: SchoolYear,
    campaign: Campaign,
) -> Result<Option<Edition>, Problem> {
    Ok(match campaign {
        Campaign::NationalDay => Some(edition(&state.app.store, year).await?.0),
        Campaign::YearRound => None,
    })
}

/// Une action de sensibilisation ou de prévention, déclarée par un établissement (ou pour
/// lui).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = NewAwarenessAction)]
pub struct NewAction {
    /// UAI de l'établissement de l'action, enregistré et ouvert.
    #[serde(default)]
    #[schema(example = "0310001H")]
    pub school_uai: Option<String>,
    /// Plusieurs établissements pour une action commune (un collège et ses écoles),
    /// après school_uai s'il est donné ; chacun enregistré et ouvert.
    #[serde(default)]
    pub school_uais: Vec<String>,
    /// Date de l'action, dans l'année scolaire ; pour la Journée nationale, dans sa
    /// fenêtre.
    #[schema(value_type = String, format = Date, example = "2025-11-06")]
    pub date: String,
    /// Types d'action, au moins un (voir GET /api/v1/national-days/vocabulary).
    #[serde(default)]
    #[schema(example = json!(["projection_debat"]))]
    pub types: Vec<String>,
    /// Publics : niveaux, parents, personnels (voir le vocabulaire).
    #[serde(default)]
    #[schema(example = json!(["6e", "5e"]))]
    pub audience_levels: Vec<String>,
    /// Nombre d'élèves touchés, positif ou nul.
    #[schema(minimum = 0, example = 120)]
    pub pupils_reached: i64,
    /// Nombre d'adultes touchés (parents, personnels), positif ou nul ; 0 par défaut.
    #[serde(default)]
    #[schema(minimum = 0, example = 8)]
    pub adults_reached: i64,
    /// Partenaires : de l'annuaire d'orientation, ou nommés librement.
    #[serde(default)]
    pub partners: Vec<PartnerInput>,
    /// Description (2000 caractères au plus ; obligatoire pour le type « autre »). Pour
    /// un questionnaire sur le climat scolaire : ce qui a été fait, jamais ses réponses.
    #[serde(default)]
    pub description: String,
    /// Campagne : national_day (par défaut) ou year_round.
    #[serde(default)]
    #[schema(value_type = Option<Campaign>)]
    pub campaign: Option<String>,
    /// Action réalisée (true) ou prévue (false, par défaut) ; une action réalisée n'est
    /// pas datée dans le futur.
    #[serde(default)]
    pub held: bool,
}

/// `POST /api/v1/national-days/{school_year}/actions`
#[utoipa::path(post, path = "/api/v1/national-days/{school_year}/actions", tag = "national-day",
    operation_id = "national_day_create_action",
    summary = "Déclarer une action",
    description = "Une action de la Journée nationale (dans sa fenêtre) ou de prévention pendant \
                   l'année (campaign = year_round), en brouillon. L'établissement déclare les \
                   siennes ; une action commune nomme plusieurs établissements (school_uais).",
    request_body = NewAction,
    params(("school_year" = String, Path, description = "Année scolaire (ex. 2025-2026)")),
    responses(
        (status = 201, description = "Action déclarée (brouillon)", body = pharos_web::Created),
        (status = 403, description = "Aucun des établissements de l'action n'est dans le périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (année, UAI, établissement inconnu ou fermé, date hors de l'année ou de la fenêtre, action réalisée datée dans le futur, aucun type, type ou public inconnu, nombre négatif, partenaire inconnu, description)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(school_year): Path<String>,
    Json(body): Json<NewAction>,
) -> Result<Response, Problem> {
    let now = state.clock.now();
    let year = school_year_in_path(&school_year, pharos_domain::today_in_france(now))?;
    let date = input::date("date", &body.date)?;
    let campaign = match input::trimmed(body.campaign.as_deref()) {
        Some(text) => input::choice("invalid-campaign", "campaign", &text, CAMPAIGNS)?,
        None => Campaign::NationalDay,
    };
    let types = types(&body.types)?;
    let audience_levels = levels(&body.audience_levels)?;
    let schools = schools(&state, body.school_uai.as_deref(), &body.school_uais).await?;
    if !schools.is_empty() {
        may_report(&actor, &schools)?;
    } else {
        // Refused below for want of a school; the role is checked first.
        may_report_any(&actor)?;
    }
    let partners = partners(&state, &index, &body.partners).await?;
    let window = window(&state, year, campaign).await?;
    let command = ActionCommand::Declare {
        school_year: year,
        campaign,
        window,
        draft: Draft {
            schools,
            date,
            types,
            audience_levels,
            pupils_reached: body.pupils_reached,
            adults_reached: body.adults_reached,
            partners,
            description: body.description,
            held: body.held,
        },
    };
    let id = Uuid::now_v7();
    let done = execute::<Action, Problem>(
        &state.app.store,
        &stream(id)?,
        &command,
        now,
        None,
        &actor.metadata(NAME),
    )
    .await?;
    index::write_through(&index, id, done.version, &done.events);
    Ok(Created {
        id,
        version: done.version,
    }
    .into_response())
}

/// The roles that declare actions at all (for a request naming no school).
fn may_report_any(actor: &Actor) -> Result<(), Problem> {
    let side = [Role::PoleManager, Role::DepartmentReferent, Role::School];
    if actor.held().any(|(role, _)| side.contains(&role)) {
        return Ok(());
    }
    Err(actor
        .may(Act::ReportAwarenessAction, Subject::Academy)
        .err()
        .map_or_else(Problem::not_found, Problem::from))
}

/// Ce qui change d'une action en brouillon ou renvoyée : chaque champ donné remplace la
/// valeur de l'action, les autres restent. La campagne et l'année ne changent pas
/// (déclarez une autre action).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = AwarenessActionPatch)]
pub struct ActionPatch {
    /// Établissement de l'action ; avec school_uais, remplace la liste des établissements.
    #[serde(default)]
    #[schema(example = "0310001H")]
    pub school_uai: Option<String>,
    /// Établissements de l'action ; avec school_uai, remplace la liste des établissements.
    #[serde(default)]
    pub school_uais: Option<Vec<String>>,
    /// Date de l'action.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2025-11-06")]
    pub date: Option<String>,
    /// Types d'action, au moins un.
    #[serde(default)]
    pub types: Option<Vec<String>>,
    /// Publics.
    #[serde(default)]
    pub audience_levels: Option<Vec<String>>,
    /// Nombre d'élèves touchés, positif ou nul.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub pupils_reached: Option<i64>,
    /// Nombre d'adultes touchés, positif ou nul.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub adults_reached: Option<i64>,
    /// Partenaires ; remplace la liste.
    #[serde(default)]
    pub partners: Option<Vec<PartnerInput>>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Action réalisée (true) ou prévue (false).
    #[serde(default)]
    pub held: Option<bool>,
}

/// What a patch gives, parsed before the action is loaded.
struct Changes {
    schools: Option<Vec<ActionSchool>>,
    date: Option<NaiveDate>,
    types: Option<Vec<ActionType>>,
    audience_levels: Option<Vec<AudienceLevel>>,
    partners: Option<Vec<ActionPartner>>,
}

/// `PATCH /api/v1/actions/{id}`
#[utoipa::path(patch, path = "/api/v1/actions/{id}", tag = "national-day",
    operation_id = "national_day_edit_action",
    summary = "Modifier une action",
    description = "Tant que l'action est un brouillon ou renvoyée à l'établissement. Les mêmes \
                   règles qu'à la déclaration s'appliquent à l'action modifiée.",
    request_body = ActionPatch,
    params(("id" = Uuid, Path, description = "Identifiant de l'action")),
    responses(
        (status = 200, description = "Action modifiée (ou inchangée)", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre de l'action", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Action inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Action déposée, validée ou publiée, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (comme à la déclaration)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn edit(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<ActionPatch>,
) -> Result<impl IntoResponse, Problem> {
    let stream = stream(id)?;
    let (current, _) = load::<Action>(&state.app.store, &stream).await?;
    let (Some(year), Some(details)) = (current.school_year, &current.details) else {
        return Err(Problem::not_found());
    };
    may_report(&actor, &details.schools)?;
    let changes = Changes {
        schools: if body.school_uai.is_some() || body.school_uais.is_some() {
            Some(
                schools(
                    &state,
                    body.school_uai.as_deref(),
                    body.school_uais.as_deref().unwrap_or_default(),
                )
                .await?,
            )
        } else {
            None
        },
        date: body
            .date
            .as_deref()
            .map(|text| input::date("date", text))
            .transpose()?,
        types: body.types.as_deref().map(types).transpose()?,
        audience_levels: body.audience_levels.as_deref().map(levels).transpose()?,
        partners: match &body.partners {
            Some(given) => Some(partners(&state, &index, given).await?),
            None => None,
        },
    };
    if let Some(schools) = changes.schools.as_ref().filter(|s| !s.is_empty()) {
        // Whoever edits keeps a school of the action in their scope.
        may_report(&actor, schools)?;
    }
    let window = window(&state, year, current.campaign).await?;
    let done = execute_with::<Action, Problem>(
        &state.app.store,
        &stream,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |action: &ActionState| {
            let details = action.details.as_ref().ok_or_else(Problem::not_found)?;
            may_report(&actor, &details.schools)?;
            let mut draft = Draft::of(details);
            if let Some(schools) = &changes.schools {
                draft.schools.clone_from(schools);
            }
            if let Some(date) = changes.date {
                draft.date = date;
            }
            if let Some(types) = &changes.types {
                draft.types.clone_from(types);
            }
            if let Some(levels) = &changes.audience_levels {
                draft.audience_levels.clone_from(levels);
            }
            if let Some(n) = body.pupils_reached {
                draft.pupils_reached = n;
            }
            if let Some(n) = body.adults_reached {
                draft.adults_reached = n;
            }
            if let Some(partners) = &changes.partners {
                draft.partners.clone_from(partners);
            }
            if let Some(description) = &body.description {
                draft.description.clone_from(description);
            }
            if let Some(held) = body.held {
                draft.held = held;
            }
            Ok(Cow::Owned(ActionCommand::Edit { draft, window }))
        },
    )
    .await?;
    index::write_through(&index, id, done.version, &done.events);
    Ok(Versioned {
        version: done.version,
    })
}

/// Runs the command `check` makes from the action behind a path id, deciding on one
/// load: 404 when there is none, 403 when `check` refuses.
async fn run(
    state: &TargetState,
    index: &Index,
    actor: &Actor,
    id: Uuid,
    if_match: IfMatch,
    check: impl Fn(&[ActionSchool]) -> Result<ActionCommand, Problem>,
) -> Result<Versioned, Problem> {
    let done = execute_with::<Action, Problem>(
        &state.app.store,
        &stream(id)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |action: &ActionState| {
            let details = action.details.as_ref().ok_or_else(Problem::not_found)?;
            check(&details.schools).map(Cow::Owned)
        },
    )
    .await?;
    index::write_through(index, id, done.version, &done.events);
    Ok(Versioned {
        version: done.version,
    })
}

/// `POST /api/v1/actions/{id}/submit`
#[utoipa::path(post, path = "/api/v1/actions/{id}/submit", tag = "national-day",
    operation_id = "national_day_submit_action",
    summary = "Déposer une action",
    description = "Depuis le brouillon, ou à nouveau après un renvoi : le référent du \
                   département la valide ou la renvoie.",
    params(("id" = Uuid, Path, description = "Identifiant de l'action")),
    responses(
        (status = 200, description = "Action déposée", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre de l'action", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Action inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Action déjà déposée, validée ou publiée, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &index, &actor, id, if_match, |schools| {
        may_report(&actor, schools)?;
        Ok(ActionCommand::Submit)
    })
    .await
}

/// `POST /api/v1/actions/{id}/validate`
#[utoipa::path(post, path = "/api/v1/actions/{id}/validate", tag = "national-day",
    operation_id = "national_day_validate_action",
    summary = "Valider une action",
    description = "Le référent du département de chacun des établissements de l'action, ou le \
                   pôle, valide une action déposée.",
    params(("id" = Uuid, Path, description = "Identifiant de l'action")),
    responses(
        (status = 200, description = "Action validée", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au référent du département de chaque établissement de l'action et au pôle", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Action inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Action non déposée, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn validate(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &index, &actor, id, if_match, |schools| {
        may_validate(&actor, schools)?;
        Ok(ActionCommand::Validate)
    })
    .await
}

/// Le renvoi d'une action à l'établissement.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = AwarenessActionReturnInput)]
pub struct ReturnInput {
    /// Ce que l'établissement doit corriger, obligatoire (2000 caractères au plus).
    #[serde(default)]
    #[schema(required = true, example = "Précisez les niveaux concernés.")]
    pub reason: String,
}

/// `POST /api/v1/actions/{id}/return`
#[utoipa::path(post, path = "/api/v1/actions/{id}/return", tag = "national-day",
    operation_id = "national_day_return_action",
    summary = "Renvoyer une action à l'établissement",
    description = "Le référent (ou le pôle) renvoie une action déposée, avec le motif : \
                   l'établissement la modifie puis la dépose à nouveau.",
    request_body = ReturnInput,
    params(("id" = Uuid, Path, description = "Identifiant de l'action")),
    responses(
        (status = 200, description = "Action renvoyée", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au référent du département de chaque établissement de l'action et au pôle", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Action inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Action non déposée, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Motif manquant ou trop long", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn return_to_school(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<ReturnInput>,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &index, &actor, id, if_match, |schools| {
        may_validate(&actor, schools)?;
        Ok(ActionCommand::Return {
            reason: body.reason.clone(),
        })
    })
    .await
}

/// `POST /api/v1/actions/{id}/publish`
#[utoipa::path(post, path = "/api/v1/actions/{id}/publish", tag = "national-day",
    operation_id = "national_day_publish_action",
    summary = "Publier une action",
    description = "Le pôle ou le référent publie une action validée (une action déjà publiée \
                   reste publiée).",
    params(("id" = Uuid, Path, description = "Identifiant de l'action")),
    responses(
        (status = 200, description = "Action publiée", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au référent du département de chaque établissement de l'action et au pôle", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Action inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Action non validée, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn publish(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &index, &actor, id, if_match, |schools| {
        may_validate(&actor, schools)?;
        Ok(ActionCommand::Publish)
    })
    .await
}

/// État de l'action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = AwarenessActionStatus,
    description = "État de l'action : draft (brouillon), submitted (déposée), returned \
                   (renvoyée à l'établissement pour correction), validated (validée par le \
                   référent), published (publiée)."
)]
pub enum ActionStatusView {
    Draft,
    Submitted,
    Returned,
    Validated,
    Published,
}

impl From<ActionStatus> for ActionStatusView {
    fn from(status: ActionStatus) -> Self {
        match status {
            ActionStatus::Draft => Self::Draft,
            ActionStatus::Submitted => Self::Submitted,
            ActionStatus::Returned => Self::Returned,
            ActionStatus::Validated => Self::Validated,
            ActionStatus::Published => Self::Published,
        }
    }
}

/// Un établissement de l'action.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AwarenessActionSchool)]
pub struct ActionSchoolView {
    /// UAI.
    #[schema(value_type = String, example = "0310001H")]
    pub uai: Uai,
    /// Département.
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    /// Nom, d'après le répertoire des établissements.
    pub name: Option<String>,
}

/// Un partenaire de l'action.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AwarenessActionPartner)]
pub struct ActionPartnerView {
    /// Identifiant dans l'annuaire d'orientation ; absent pour un nom libre.
    pub partner_id: Option<Uuid>,
    /// Nom du partenaire.
    pub name: String,
}

/// Une action de sensibilisation ou de prévention.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AwarenessAction)]
pub struct ActionView {
    /// Identifiant de l'action.
    pub id: Uuid,
    /// Année scolaire.
    #[schema(value_type = String, example = "2025-2026")]
    pub school_year: SchoolYear,
    /// Campagne.
    pub campaign: Campaign,
    /// État.
    pub status: ActionStatusView,
    /// Établissements de l'action, celui qui l'a déclarée d'abord.
    pub schools: Vec<ActionSchoolView>,
    /// Date de l'action.
    pub date: NaiveDate,
    /// Types d'action.
    pub types: Vec<TermView>,
    /// Publics.
    pub audience_levels: Vec<TermView>,
    /// Nombre d'élèves touchés.
    pub pupils_reached: u32,
    /// Nombre d'adultes touchés.
    pub adults_reached: u32,
    /// Partenaires.
    pub partners: Vec<ActionPartnerView>,
    /// Description.
    pub description: String,
    /// Réalisée (true) ou prévue (false).
    pub held: bool,
    /// Motif du dernier renvoi à l'établissement.
    pub return_reason: Option<String>,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

/// `GET /api/v1/actions/{id}`
#[utoipa::path(get, path = "/api/v1/actions/{id}", tag = "national-day",
    operation_id = "national_day_get_action",
    summary = "Lire une action",
    params(("id" = Uuid, Path, description = "Identifiant de l'action")),
    responses(
        (status = 200, description = "L'action", body = ActionView),
        (status = 403, description = "Hors du périmètre de l'action", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Action inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (action, version) = load::<Action>(&state.app.store, &stream(id)?).await?;
    let (Some(school_year), Some(details)) = (action.school_year, &action.details) else {
        return Err(Problem::not_found());
    };
    may_report(&actor, &details.schools)?;
    let mut schools = Vec::new();
    for school in &details.schools {
        schools.push(ActionSchoolView {
            uai: school.uai.clone(),
            department: school.department.clone(),
            name: places::name(&state.access, &school.uai).await,
        });
    }
    Ok(axum::Json(ActionView {
        id,
        school_year,
        campaign: action.campaign,
        status: action.status.into(),
        schools,
        date: details.date,
        types: types_view(&details.types),
        audience_levels: levels_view(&details.audience_levels),
        pupils_reached: details.pupils_reached,
        adults_reached: details.adults_reached,
        partners: details
            .partners
            .iter()
            .map(|p| ActionPartnerView {
                partner_id: match p {
                    ActionPartner::Directory { partner_id, .. } => Some(*partner_id),
                    ActionPartner::Named { .. } => None,
                },
                name: p.name().to_owned(),
            })
            .collect(),
        description: details.description.clone(),
        held: details.held,
        return_reason: action.return_reason.clone(),
        version,
    }))
}

/// Quelles actions lister ; sans filtre, toutes celles du périmètre de l'utilisateur.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionFilter {
    /// Année scolaire ; toutes par défaut.
    #[param(example = "2025-2026")]
    pub school_year: Option<String>,
    /// Département (d'au moins un établissement de l'action).
    #[param(example = "31")]
    pub department: Option<String>,
    /// UAI d'un établissement de l'action.
    #[param(example = "0310001H")]
    pub school_uai: Option<String>,
    /// État : draft, submitted, returned, validated ou published.
    #[param(example = "submitted")]
    pub status: Option<String>,
    /// Campagne : national_day ou year_round.
    #[param(example = "national_day")]
    pub campaign: Option<String>,
    /// Nombre d'éléments par page : 100 par défaut, 500 au plus.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Nombre d'éléments à sauter (pagination).
    pub offset: Option<u32>,
}

/// Une action dans une liste : de quoi l'ouvrir.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AwarenessActionSummary)]
pub struct ActionSummary {
    /// Identifiant de l'action.
    pub id: Uuid,
    /// Année scolaire.
    #[schema(value_type = String, example = "2025-2026")]
    pub school_year: SchoolYear,
    /// Campagne.
    pub campaign: Campaign,
    /// État.
    pub status: ActionStatusView,
    /// UAI des établissements de l'action.
    #[schema(value_type = Vec<String>)]
    pub school_uais: Vec<Uai>,
    /// Date de l'action.
    pub date: NaiveDate,
    /// Codes des types d'action.
    pub types: Vec<String>,
    /// Nombre d'élèves touchés.
    pub pupils_reached: u32,
    /// Réalisée (true) ou prévue (false).
    pub held: bool,
}

/// Une page d'actions, la plus récente d'abord.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AwarenessActionList)]
pub struct ActionList {
    /// Les actions de la page.
    pub items: Vec<ActionSummary>,
    /// Nombre d'actions répondant au filtre, toutes pages confondues.
    pub total: usize,
}

const STATUSES: &[(&str, ActionStatus)] = &[
    ("draft", ActionStatus::Draft),
    ("submitted", ActionStatus::Submitted),
    ("returned", ActionStatus::Returned),
    ("validated", ActionStatus::Validated),
    ("published", ActionStatus::Published),
];

/// `GET /api/v1/actions?school_year=&department=&school_uai=&status=&campaign=`
#[utoipa::path(get, path = "/api/v1/actions", tag = "national-day",
    operation_id = "national_day_list_actions",
    summary = "Trouver des actions",
    description = "Les actions du périmètre de l'utilisateur (l'établissement : les siennes ; \
                   le référent : celles de son département ; le pôle : toutes), filtrées par \
                   année, département, établissement, état, campagne. Paginée : 100 par page par \
                   défaut, 500 au plus (limit, offset).",
    params(ActionFilter),
    responses(
        (status = 200, description = "Les actions", body = ActionList),
        (status = 403, description = "Filtre hors du périmètre, ou rôle sans accès aux actions", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (année, département, UAI, état, campagne)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Query(filter): Query<ActionFilter>,
) -> Result<impl IntoResponse, Problem> {
    may_report_any(&actor)?;
    let year = input::trimmed(filter.school_year.as_deref())
        .map(|text| input::school_year(&text))
        .transpose()?;
    let department =
        input::trimmed(filter.department.as_deref())
            .map(|text| {
                state.access.academy.department(&text).map_err(|e| {
                    Rejection::invalid("invalid-department", "department", sentence(&e.0))
                })
            })
            .transpose()?;
    let uai = input::trimmed(filter.school_uai.as_deref())
        .map(|text| input::uai("school_uai", &text))
        .transpose()?;
    let status = input::trimmed(filter.status.as_deref())
        .map(|text| input::choice("invalid-status", "status", &text, STATUSES))
        .transpose()?;
    let campaign = input::trimmed(filter.campaign.as_deref())
        .map(|text| input::choice("invalid-campaign", "campaign", &text, CAMPAIGNS))
        .transpose()?;
    if let Some(department) = &department {
        actor.may(Act::ReportAwarenessAction, Subject::Department(department))?;
    }
    if let Some(uai) = &uai
        && let Some(school) = state.access.reference.school(uai).await?
    {
        actor.may(
            Act::ReportAwarenessAction,
            Subject::School {
                uai,
                department: &school.department,
            },
        )?;
    }
    let mut items: Vec<ActionSummary> = index.read(|index| {
        index
            .actions
            .iter()
            .filter_map(|(id, entry)| {
                let action = &entry.state;
                let school_year = action.school_year?;
                let details = action.details.as_ref()?;
                let keep = year.is_none_or(|y| y == school_year)
                    && status.is_none_or(|s| s == action.status)
                    && campaign.is_none_or(|c| c == action.campaign)
                    && department
                        .as_ref()
                        .is_none_or(|d| details.schools.iter().any(|s| &s.department == d))
                    && uai
                        .as_ref()
                        .is_none_or(|u| details.schools.iter().any(|s| &s.uai == u))
                    && may_report(&actor, &details.schools).is_ok();
                keep.then(|| ActionSummary {
                    id: *id,
                    school_year,
                    campaign: action.campaign,
                    status: action.status.into(),
                    school_uais: details.schools.iter().map(|s| s.uai.clone()).collect(),
                    date: details.date,
                    types: details
                        .types
                        .iter()
                        .map(|t| t.as_str().to_owned())
                        .collect(),
                    pupils_reached: details.pupils_reached,
                    held: details.held,
                })
            })
            .collect()
    });
    items.sort_by_key(|item| std::cmp::Reverse((item.date, item.id)));
    let (items, total) = input::page(items, filter.limit, filter.offset);
    Ok(axum::Json(ActionList { items, total }))
}
