//! The label routes: request and answer shapes (documented in French for the OpenAPI
//! document), authorisation on the application's school, and the handlers that run the
//! decider's commands. The school's side (the school, its department's referents, the
//! pole) applies and answers; only the pole reviews, decides, and answers the criteria
//! it holds.

use std::borrow::Cow;
use std::collections::BTreeSet;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use pharos_access::{Action, Actor, IfMatch, Subject, TargetState};
use pharos_decider::{Rejection, execute, execute_with, load, sentence};
use pharos_domain::compliance::LabelFact;
use pharos_events::phare::{
    CriterionAuthority, CriterionSpec, DeploymentOwner, LABEL_CATEGORY, LabelLevel, LevelChecklist,
    SchoolYear,
};
use pharos_events::{DepartmentCode, Uai};
use pharos_eventstore::{EventStore, StreamId};
use pharos_web::{Created, Json, Path, Problem, Query, Versioned};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::criteria::{
    CriteriaCommand, CriteriaState, LabelCriteria, criteria_stream_id, in_force,
};
use super::decider::{
    Application, Label, LabelCommand, LabelState, LabelStatus, Outcome, label_id, suggestions,
};
use crate::answer::{Failed, OwnerFilter, existing, page};
use crate::contest::Participation;
use crate::criteria::CriteriaConfig;
use crate::deployment::decider::{Deployment, DeploymentState, deployment_id};
use crate::deployment::http::{
    Judged, compliance_of, every_year, may_list, stream as deployment_stream,
};
use crate::index::Index;
use crate::input;
use crate::places;
use crate::{FIRST_PHARE_YEAR, NAME};

pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(LABEL_CATEGORY, id)?)
}

/// The highest level `uai` was awarded before `year`.
async fn earlier_best(
    store: &EventStore,
    uai: &Uai,
    year: SchoolYear,
) -> Result<Option<LabelLevel>, Problem> {
    let mut best = None;
    let mut earlier = year.previous();
    while earlier.start_year() >= FIRST_PHARE_YEAR && earlier < year {
        let (label, _) = load::<Label>(store, &stream(label_id(uai, earlier))?).await?;
        if label.status == LabelStatus::Awarded {
            best = best.max(label.awarded_level);
        }
        earlier = earlier.previous();
    }
    Ok(best)
}

fn subject(application: &Application) -> Subject<'_> {
    Subject::School {
        uai: &application.school_uai,
        department: &application.department,
    }
}

fn criteria_stream(year: SchoolYear) -> Result<StreamId, Problem> {
    Ok(StreamId::new(LABEL_CATEGORY, criteria_stream_id(year))?)
}

/// The checklists in force for `year` (recorded by the pole, else shipped), and the
/// year's criteria stream as loaded.
async fn criteria_in_force(
    store: &EventStore,
    year: SchoolYear,
) -> Result<(Vec<LevelChecklist>, (CriteriaState, i64)), Problem> {
    let (criteria, version) = load::<LabelCriteria>(store, &criteria_stream(year)?).await?;
    let checklists = in_force(&criteria, CriteriaConfig::shipped()?, year);
    Ok((checklists, (criteria, version)))
}

/// Un critère d'une liste, tel que le pôle le configure.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = LabelCriterionSpec)]
pub struct CriterionSpecView {
    /// Clé du critère : minuscules sans accent, chiffres et _.
    #[schema(example = "charte_signee")]
    pub key: String,
    /// Libellé, tel que les établissements le lisent.
    #[schema(example = "Charte d'engagement signée et en vigueur")]
    pub label: String,
    /// Qui répond au critère (l'établissement par défaut).
    #[serde(default)]
    pub answered_by: CriterionAuthority,
}

/// La liste de critères d'un niveau.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = LabelChecklist)]
pub struct ChecklistView {
    /// Le niveau.
    pub level: LevelView,
    /// Ses critères, dans l'ordre.
    pub criteria: Vec<CriterionSpecView>,
}

/// D'où viennent les critères d'une année.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = LabelCriteriaSource,
    description = "recorded : fixés par le pôle pour l'année ; shipped : ceux livrés avec \
                   l'application (criteria.json), faute de critères fixés."
)]
pub enum CriteriaSource {
    Recorded,
    Shipped,
}

/// Les critères du label en vigueur pour une année scolaire.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LabelCriteriaView {
    /// Année scolaire.
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// D'où viennent ces critères.
    pub source: CriteriaSource,
    /// Candidater au niveau n suppose le niveau n−1 obtenu une année précédente.
    pub progressive: bool,
    /// Les listes de critères, par niveau.
    pub checklists: Vec<ChecklistView>,
    /// Version du flux des critères de l'année (0 sans critères fixés), pour If-Match.
    pub version: i64,
}

/// La liste de critères d'un niveau, telle que le pôle la fixe.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = LabelChecklistInput)]
pub struct ChecklistInput {
    /// Le niveau.
    #[schema(value_type = LevelInput)]
    pub level: Value,
    /// Ses critères, dans l'ordre.
    pub criteria: Vec<CriterionSpecView>,
}

/// Les critères du label d'une année, chaque niveau du premier au plus haut proposé.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LabelCriteriaInput {
    /// Les listes de critères, une par niveau, du niveau 1 au plus haut proposé.
    pub checklists: Vec<ChecklistInput>,
}

fn school_year_in_path(text: &str) -> Result<SchoolYear, Problem> {
    Ok(input::school_year(text)?)
}

/// `GET /api/v1/phare/label-criteria/{school_year}`
#[utoipa::path(get, path = "/api/v1/phare/label-criteria/{school_year}", tag = "phare",
    operation_id = "phare_get_label_criteria",
    summary = "Lire les critères du label d'une année",
    description = "Les critères fixés par le pôle pour l'année, ou à défaut ceux livrés avec \
                   l'application. Une nouvelle candidature reprend ceux en vigueur pour son année.",
    params(("school_year" = String, Path, description = "Année scolaire (ex. 2026-2027)")),
    responses(
        (status = 200, description = "Les critères en vigueur", body = LabelCriteriaView),
        (status = 422, description = "Année scolaire mal écrite", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_criteria(
    State(state): State<TargetState>,
    _actor: Actor,
    Path(school_year): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let year = school_year_in_path(&school_year)?;
    let (checklists, (criteria, version)) = criteria_in_force(&state.app.store, year).await?;
    Ok(axum::Json(LabelCriteriaView {
        school_year: year,
        source: if criteria.recorded.is_some() {
            CriteriaSource::Recorded
        } else {
            CriteriaSource::Shipped
        },
        progressive: CriteriaConfig::shipped()?.progressive,
        checklists: checklists
            .into_iter()
            .map(|c| ChecklistView {
                level: c.level.into(),
                criteria: c
                    .criteria
                    .into_iter()
                    .map(|s| CriterionSpecView {
                        key: s.key,
                        label: s.label,
                        answered_by: s.answered_by,
                    })
                    .collect(),
            })
            .collect(),
        version,
    }))
}

/// `PUT /api/v1/phare/label-criteria/{school_year}`
#[utoipa::path(put, path = "/api/v1/phare/label-criteria/{school_year}", tag = "phare",
    operation_id = "phare_set_label_criteria",
    summary = "Fixer les critères du label d'une année",
    description = "Le pôle fixe les listes de critères de chaque niveau pour l'année ; elles \
                   remplacent les précédentes. Les candidatures déjà créées gardent les leurs.",
    request_body = LabelCriteriaInput,
    params(("school_year" = String, Path, description = "Année scolaire (ex. 2026-2027)")),
    responses(
        (status = 200, description = "Critères enregistrés", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (année, niveau manquant ou en double, liste vide, clé ou libellé de critère, critère en double)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_criteria(
    State(state): State<TargetState>,
    actor: Actor,
    Path(school_year): Path<String>,
    if_match: IfMatch,
    Json(body): Json<LabelCriteriaInput>,
) -> Result<impl IntoResponse, Problem> {
    let year = school_year_in_path(&school_year)?;
    let mut checklists = Vec::new();
    for checklist in &body.checklists {
        checklists.push(LevelChecklist {
            level: input::level("level", &checklist.level)?,
            criteria: checklist
                .criteria
                .iter()
                .map(|c| CriterionSpec {
                    key: c.key.trim().to_owned(),
                    label: c.label.trim().to_owned(),
                    answered_by: c.answered_by,
                })
                .collect(),
        });
    }
    actor.may(Action::DecideLabel, Subject::Academy)?;
    let done = execute::<LabelCriteria, Failed>(
        &state.app.store,
        &criteria_stream(year)?,
        &CriteriaCommand::Set {
            school_year: year,
            checklists,
        },
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// Une candidature au label : une par établissement et par année scolaire.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewLabel {
    /// UAI de l'établissement, ouvert et enregistré dans le répertoire.
    #[schema(example = "0310001H")]
    pub school_uai: String,
    /// Année scolaire, de pHARe (2019-2020) à l'année suivant l'année en cours.
    #[schema(example = "2026-2027")]
    pub school_year: String,
    /// Niveau visé ; les niveaux sont progressifs (le niveau précédent doit avoir été
    /// obtenu une année antérieure).
    #[schema(value_type = LevelInput)]
    pub target_level: Value,
}

/// A label level as requests give it, for the OpenAPI document only: requests carry a
/// JSON value that `input::level` reads.
pub struct LevelInput;

impl utoipa::PartialSchema for LevelInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(3)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([
                        "1",
                        "2",
                        "3",
                        "engagement",
                        "approfondissement",
                        "expertise",
                    ])),
            )
            .description(Some(
                "Niveau de label : 1 (engagement), 2 (approfondissement) ou 3 (expertise), \
                 en chiffre ou en toutes lettres.",
            ))
            .examples([serde_json::json!(1), serde_json::json!("engagement")])
            .into()
    }
}

impl utoipa::ToSchema for LevelInput {
    fn name() -> std::borrow::Cow<'static, str> {
        "LabelLevelInput".into()
    }
}

/// `POST /api/v1/phare/labels`
#[utoipa::path(post, path = "/api/v1/phare/labels", tag = "phare",
    operation_id = "phare_create_label",
    summary = "Candidater au label pHARe",
    description = "La candidature reprend les listes de critères configurées pour l'année, de \
                   chaque niveau jusqu'au niveau visé.",
    request_body = NewLabel,
    responses(
        (status = 201, description = "Candidature créée (brouillon)", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre (l'établissement, les référents de son département, le pôle)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Une candidature existe déjà pour cet établissement et cette année (son identifiant dans existing_id, son adresse dans Location), ou le niveau précédent n'a pas été obtenu", body = pharos_web::Problem, content_type = "application/problem+json",
            headers(("Location" = String, description = "Adresse de la candidature existante, quand elle existe"))),
        (status = 422, description = "Valeur refusée (UAI, année hors période, niveau, établissement inconnu ou fermé, critères non configurés)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Json(body): Json<NewLabel>,
) -> Result<Response, Problem> {
    let uai = input::uai("school_uai", &body.school_uai)?;
    let school_year = input::school_year(&body.school_year)?;
    let target_level = input::level("target_level", &body.target_level)?;
    let found = places::school(&state.access, &uai).await?;
    let school = places::open_school("school_uai", &uai, found)?;
    actor.may(
        Action::ApplyForLabel,
        Subject::School {
            uai: &uai,
            department: &school.department,
        },
    )?;
    let config = CriteriaConfig::shipped()?;
    let store = &state.app.store;
    let (in_force, _) = criteria_in_force(store, school_year).await?;
    let command = LabelCommand::Draft {
        earlier_best: earlier_best(store, &uai, school_year).await?,
        progressive: config.progressive,
        application: Application {
            checklists: in_force
                .into_iter()
                .filter(|c| c.level <= target_level)
                .collect(),
            school_uai: uai.clone(),
            department: school.department,
            school_year,
            target_level,
        },
    };
    let id = label_id(&uai, school_year);
    let done = match execute::<Label, Failed>(
        store,
        &stream(id)?,
        &command,
        state.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await
    {
        Ok(done) => done,
        Err(Failed::Rejected(rejection)) if rejection.rule == "label-exists" => {
            return Err(existing(rejection, id, &format!("{PATH}/{id}")));
        }
        Err(failed) => return Err(failed.into()),
    };
    // Written through, so that this process lists it at once.
    index.update(|index| {
        for event in &done.events {
            index.note_label(id, event);
        }
    });
    Ok(Created {
        id,
        version: done.version,
    }
    .into_response())
}

/// Où les candidatures se lisent.
const PATH: &str = "/api/v1/phare/labels";

/// Une candidature dans une liste : de quoi l'ouvrir, et où elle en est.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LabelSummary {
    /// Identifiant de la candidature.
    pub id: Uuid,
    /// UAI de l'établissement candidat.
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    /// Département de l'établissement.
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    /// Année scolaire de la candidature.
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// Niveau visé.
    pub target_level: LevelView,
    /// État de la candidature.
    pub status: LabelStatusView,
    /// Motif du renvoi, quand la candidature est renvoyée à l'établissement.
    pub return_reason: Option<String>,
    /// Le niveau attribué, une fois le label attribué.
    pub awarded_level: Option<LevelView>,
}

impl LabelSummary {
    /// The list item of application `id`; `None` when there is no such application.
    fn of(id: Uuid, label: &LabelState) -> Option<Self> {
        let application = label.application.as_ref()?;
        Some(Self {
            id,
            school_uai: application.school_uai.clone(),
            department: application.department.clone(),
            school_year: application.school_year,
            target_level: application.target_level.into(),
            status: label.status.into(),
            return_reason: (label.status == LabelStatus::Returned)
                .then(|| label.return_reason.clone())
                .flatten(),
            awarded_level: (label.status == LabelStatus::Awarded)
                .then_some(label.awarded_level)
                .flatten()
                .map(LevelView::from),
        })
    }
}

/// Une page de candidatures : l'année la plus récente d'abord, puis par département et
/// établissement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LabelList {
    /// Les candidatures de la page.
    pub items: Vec<LabelSummary>,
    /// Nombre de candidatures répondant au filtre, toutes pages confondues.
    pub total: usize,
}

/// `GET /api/v1/phare/labels?school_uai=&department=&school_year=`
#[utoipa::path(get, path = "/api/v1/phare/labels", tag = "phare",
    operation_id = "phare_list_labels",
    summary = "Trouver ses candidatures au label",
    description = "Les candidatures d'un établissement, des écoles d'une circonscription ou \
                   d'un département, d'une année ou de \
                   toutes, dans le périmètre de l'utilisateur (l'établissement : les siennes ; \
                   le référent : son département ; le pôle : toutes), avec l'état de chacune \
                   (le motif d'un renvoi, le niveau attribué). Paginée : 100 par page par \
                   défaut, 500 au plus (limit, offset).",
    params(OwnerFilter),
    responses(
        (status = 200, description = "Les candidatures", body = LabelList),
        (status = 422, description = "Valeur refusée (année, UAI, établissement inconnu, département, circonscription sans département, établissement et circonscription ensemble)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Query(filter): Query<OwnerFilter>,
) -> Result<impl IntoResponse, Problem> {
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
    let today = pharos_domain::today_in_france(state.clock.now());
    let mut items = Vec::new();
    let circonscription = input::trimmed(filter.circonscription.as_deref());
    if circonscription.is_some()
        && filter
            .school_uai
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty())
    {
        return Err(Rejection::invalid(
            "label-owner",
            "school_uai",
            "Cherchez soit un établissement (son UAI), soit les écoles d'une circonscription \
             (son nom et son département) : l'un des deux, pas les deux.",
        )
        .into());
    }
    // The écoles of a circonscription, from the school registry.
    let schools: Option<Vec<Uai>> = match &circonscription {
        Some(name) => {
            let department = department.as_ref().ok_or_else(|| {
                Rejection::invalid(
                    "department-missing",
                    "department",
                    "Une circonscription se cherche avec son département (ex. 31).",
                )
            })?;
            actor.may(Action::ApplyForLabel, Subject::Department(department))?;
            let schools =
                places::schools_for_circonscription(&state.access, name, department).await?;
            Some(
                schools
                    .into_iter()
                    .filter(|s| {
                        s.circonscription
                            .as_deref()
                            .is_some_and(|c| places::same_circonscription(c, name))
                    })
                    .map(|s| s.uai)
                    .collect(),
            )
        }
        None => None,
    };
    if let Some(text) = input::trimmed(filter.school_uai.as_deref()) {
        // The school's streams themselves: what was just drafted is there.
        let uai = input::uai("school_uai", &text)?;
        let found = places::school(&state.access, &uai).await?;
        let school = places::registered_school("school_uai", &uai, found)?;
        actor.may(
            Action::ApplyForLabel,
            Subject::School {
                uai: &uai,
                department: &school.department,
            },
        )?;
        let years = year.map_or_else(|| every_year(today), |y| vec![y]);
        for year in years {
            let id = label_id(&uai, year);
            let (label, _) = load::<Label>(&state.app.store, &stream(id)?).await?;
            items.extend(LabelSummary::of(id, &label));
        }
    } else {
        match &department {
            Some(department) => {
                actor.may(Action::ApplyForLabel, Subject::Department(department))?;
            }
            None => may_list(&actor, Action::ApplyForLabel)?,
        }
        let mut found = index.read(|index| {
            index
                .labels
                .iter()
                .filter(|(_, l)| year.is_none_or(|y| l.school_year == y))
                .filter(|(_, l)| department.as_ref().is_none_or(|d| &l.department == d))
                .filter(|(_, l)| schools.as_ref().is_none_or(|s| s.contains(&l.school_uai)))
                .filter(|(_, l)| {
                    actor
                        .may(
                            Action::ApplyForLabel,
                            Subject::School {
                                uai: &l.school_uai,
                                department: &l.department,
                            },
                        )
                        .is_ok()
                })
                .map(|(id, l)| {
                    (
                        *id,
                        l.school_year,
                        l.department.clone(),
                        l.school_uai.clone(),
                    )
                })
                .collect::<Vec<_>>()
        });
        // The page's items read from their streams: their state as it is now.
        found.sort_by(|a, b| (b.1, &a.2, &a.3).cmp(&(a.1, &b.2, &b.3)));
        let (found, total) = page(found, filter.limit, filter.offset);
        for (id, ..) in found {
            let (label, _) = load::<Label>(&state.app.store, &stream(id)?).await?;
            items.extend(LabelSummary::of(id, &label));
        }
        return Ok(axum::Json(LabelList { items, total }));
    }
    items.sort_by(|a, b| {
        (b.school_year, &a.department, &a.school_uai).cmp(&(
            a.school_year,
            &b.department,
            &b.school_uai,
        ))
    });
    let (items, total) = page(items, filter.limit, filter.offset);
    Ok(axum::Json(LabelList { items, total }))
}

/// The application behind a path id, once the actor is known to reach its school.
async fn reachable(
    state: &TargetState,
    actor: &Actor,
    id: Uuid,
) -> Result<(StreamId, LabelState, i64), Problem> {
    let stream = stream(id)?;
    let (label, version) = load::<Label>(&state.app.store, &stream).await?;
    let Some(application) = &label.application else {
        return Err(Problem::not_found());
    };
    actor.may(Action::ApplyForLabel, subject(application))?;
    Ok((stream, label, version))
}

/// Runs the command `check` makes from the application behind a path id, deciding on
/// one load: 404 when there is none, 403 when the actor does not reach its school (or
/// when `check` refuses).
async fn run(
    state: &TargetState,
    actor: &Actor,
    id: Uuid,
    if_match: IfMatch,
    check: impl Fn(&Application) -> Result<LabelCommand, Problem>,
) -> Result<Versioned, Problem> {
    let done = execute_with::<Label, Problem>(
        &state.app.store,
        &stream(id)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |label| {
            let application = label.application.as_ref().ok_or_else(Problem::not_found)?;
            actor.may(Action::ApplyForLabel, subject(application))?;
            check(application).map(Cow::Owned)
        },
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// La réponse à un critère ; une réponse ultérieure la remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AnswerInput {
    /// Clé du critère, dans les listes de la candidature.
    #[schema(example = "charte_signee")]
    pub criterion: String,
    /// Critère rempli.
    pub met: bool,
    /// Justificatif (2000 caractères au plus).
    #[serde(default)]
    pub evidence: Option<String>,
}

/// `POST /api/v1/phare/labels/{id}/criteria`
#[utoipa::path(post, path = "/api/v1/phare/labels/{id}/criteria", tag = "phare",
    operation_id = "phare_answer_criterion",
    summary = "Répondre à un critère",
    description = "L'établissement répond à ses critères tant que la candidature est un brouillon ou lui a été renvoyée ; le pôle répond aux siens (participation au concours) jusqu'à sa décision.",
    request_body = AnswerInput,
    params(("id" = Uuid, Path, description = "Identifiant de la candidature")),
    responses(
        (status = 200, description = "Réponse enregistrée", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre de la candidature, ou critère réservé au pôle", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Candidature inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Candidature déposée (critères de l'établissement) ou décidée, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Critère inconnu, ou justificatif trop long", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn answer(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<AnswerInput>,
) -> Result<impl IntoResponse, Problem> {
    let criterion = body.criterion.trim().to_owned();
    let evidence = input::trimmed(body.evidence.as_deref());
    run(&state, &actor, id, if_match, |application| {
        if application
            .criterion(&criterion)
            .is_some_and(|c| c.answered_by == CriterionAuthority::Pole)
        {
            // A fact only the pole holds (contest participation): the school cannot tick it.
            actor.may(Action::DecideLabel, subject(application))?;
        }
        Ok(LabelCommand::Answer {
            criterion: criterion.clone(),
            met: body.met,
            evidence: evidence.clone(),
        })
    })
    .await
}

/// `POST /api/v1/phare/labels/{id}/submit`
#[utoipa::path(post, path = "/api/v1/phare/labels/{id}/submit", tag = "phare",
    operation_id = "phare_submit_label",
    summary = "Déposer la candidature",
    description = "Depuis le brouillon, ou à nouveau après un renvoi du pôle.",
    params(("id" = Uuid, Path, description = "Identifiant de la candidature")),
    responses(
        (status = 200, description = "Candidature déposée", body = pharos_web::Versioned),
        (status = 404, description = "Candidature inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Candidature déjà déposée, critères sans réponse, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &actor, id, if_match, |_| Ok(LabelCommand::Submit)).await
}

/// `POST /api/v1/phare/labels/{id}/review`: the pole starts examining the application.
#[utoipa::path(post, path = "/api/v1/phare/labels/{id}/review", tag = "phare",
    operation_id = "phare_start_label_review",
    summary = "Commencer l'examen de la candidature",
    description = "Le pôle signale à l'établissement que sa candidature déposée est en cours d'examen.",
    params(("id" = Uuid, Path, description = "Identifiant de la candidature")),
    responses(
        (status = 200, description = "Examen commencé", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Candidature inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Candidature encore en brouillon ou déjà décidée, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn review(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &actor, id, if_match, |application| {
        actor.may(Action::DecideLabel, subject(application))?;
        Ok(LabelCommand::Review)
    })
    .await
}

/// Issue de la décision du pôle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(
    as = LabelOutcome,
    rename_all = "snake_case",
    description = "Issue de la décision : awarded (label attribué) ou not_awarded (non attribué)."
)]
pub enum OutcomeInput {
    Awarded,
    NotAwarded,
}

impl From<OutcomeInput> for Outcome {
    fn from(outcome: OutcomeInput) -> Self {
        match outcome {
            OutcomeInput::Awarded => Self::Awarded,
            OutcomeInput::NotAwarded => Self::NotAwarded,
        }
    }
}

const OUTCOMES: &[(&str, OutcomeInput)] = &[
    ("awarded", OutcomeInput::Awarded),
    ("not_awarded", OutcomeInput::NotAwarded),
];

/// La décision du pôle sur une candidature déposée.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    /// Issue de la décision.
    #[schema(value_type = OutcomeInput)]
    pub outcome: String,
    /// Pour une attribution : le niveau attribué, au plus le niveau visé (par défaut).
    #[serde(default)]
    #[schema(value_type = Option<LevelInput>)]
    pub level: Option<Value>,
    /// Motif de la décision, obligatoire : l'établissement le lira.
    #[serde(default)]
    #[schema(required = true, example = "Dossier complet")]
    pub reason: String,
}

/// `POST /api/v1/phare/labels/{id}/decision`
#[utoipa::path(post, path = "/api/v1/phare/labels/{id}/decision", tag = "phare",
    operation_id = "phare_decide_label",
    summary = "Décider de la candidature",
    description = "Une candidature déposée mais dont l'examen n'a pas commencé le commence dans la même opération.",
    request_body = DecisionInput,
    params(("id" = Uuid, Path, description = "Identifiant de la candidature")),
    responses(
        (status = 200, description = "Décision enregistrée", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Candidature inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Candidature encore en brouillon ou déjà décidée, critères du niveau non remplis, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (issue, niveau, motif manquant)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn decide(
    State(state): State<TargetState>,
    Extension(participation): Extension<Participation>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<DecisionInput>,
) -> Result<impl IntoResponse, Problem> {
    let outcome: Outcome =
        input::choice("invalid-outcome", "outcome", &body.outcome, OUTCOMES)?.into();
    let level = match &body.level {
        None | Some(Value::Null) => None,
        Some(value) => Some(input::level("level", value)?),
    };
    run(&state, &actor, id, if_match, |application| {
        actor.may(Action::DecideLabel, subject(application))?;
        Ok(LabelCommand::Decide {
            outcome,
            level,
            reason: body.reason.clone(),
            recorded: recorded(&participation, application),
        })
    })
    .await
}

/// Le renvoi d'une candidature à l'établissement.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReturnInput {
    /// Ce que l'établissement doit corriger, obligatoire : il le lira.
    #[serde(default)]
    #[schema(
        required = true,
        example = "Le protocole n'a pas encore été présenté au conseil d'administration."
    )]
    pub reason: String,
}

/// `POST /api/v1/phare/labels/{id}/return`: the pole sends the application back to the
/// school, which corrects its answers and submits again.
#[utoipa::path(post, path = "/api/v1/phare/labels/{id}/return", tag = "phare",
    operation_id = "phare_return_label",
    summary = "Renvoyer la candidature à l'établissement",
    description = "Le pôle renvoie une candidature déposée ou en cours d'examen à \
                   l'établissement, avec le motif : l'établissement corrige ses réponses puis la \
                   dépose à nouveau. Une candidature déposée dont l'examen n'a pas commencé le \
                   commence dans la même opération.",
    request_body = ReturnInput,
    params(("id" = Uuid, Path, description = "Identifiant de la candidature")),
    responses(
        (status = 200, description = "Candidature renvoyée", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Candidature inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Candidature en brouillon, déjà renvoyée ou décidée, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Motif manquant", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn return_to_school(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<ReturnInput>,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &actor, id, if_match, |application| {
        actor.may(Action::DecideLabel, subject(application))?;
        Ok(LabelCommand::Return {
            reason: body.reason.clone(),
        })
    })
    .await
}

/// État de la candidature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = LabelStatus,
    description = "État de la candidature : draft (brouillon), submitted (déposée), under_review \
                   (en cours d'examen par le pôle), awarded (label attribué), not_awarded (label \
                   non attribué), returned (renvoyée à l'établissement pour correction, à déposer \
                   à nouveau)."
)]
pub enum LabelStatusView {
    Draft,
    Submitted,
    UnderReview,
    Awarded,
    NotAwarded,
    Returned,
}

impl From<LabelStatus> for LabelStatusView {
    fn from(status: LabelStatus) -> Self {
        match status {
            LabelStatus::Draft => Self::Draft,
            LabelStatus::Submitted => Self::Submitted,
            LabelStatus::UnderReview => Self::UnderReview,
            LabelStatus::Awarded => Self::Awarded,
            LabelStatus::NotAwarded => Self::NotAwarded,
            LabelStatus::Returned => Self::Returned,
        }
    }
}

/// Un niveau de label, en chiffre et en toutes lettres.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct LevelView {
    /// Numéro du niveau : 1, 2 ou 3.
    #[schema(minimum = 1, maximum = 3, example = 1)]
    pub number: u8,
    /// Nom du niveau.
    pub name: LabelLevel,
}

impl From<LabelLevel> for LevelView {
    fn from(level: LabelLevel) -> Self {
        Self {
            number: level.number(),
            name: level,
        }
    }
}

/// Un critère du niveau visé, avec sa réponse.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CriterionView {
    /// Clé du critère, pour y répondre.
    #[schema(example = "charte_signee")]
    pub key: String,
    /// Libellé du critère.
    pub label: String,
    /// Qui répond au critère : l'établissement ou le pôle.
    pub answered_by: CriterionAuthority,
    /// Critère rempli ; absent tant que personne n'a répondu.
    pub met: Option<bool>,
    /// Justificatif.
    pub evidence: Option<String>,
    /// Réponse suggérée d'après les faits enregistrés du déploiement pHARe de
    /// l'établissement pour la même année ; absente quand aucun fait n'y répond (critères
    /// du pôle, élèves ambassadeurs) ou sans déploiement. Une suggestion seulement :
    /// l'établissement confirme ou explique, et sa réponse (met) est celle qui compte.
    pub suggested: Option<Suggested>,
    /// D'où vient la suggestion.
    pub suggested_from: Option<SuggestionSource>,
}

/// Réponse suggérée à un critère.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = LabelCriterionSuggestion,
    description = "Réponse suggérée d'après le déploiement : met (rempli) ou not_met (non rempli)."
)]
pub enum Suggested {
    Met,
    NotMet,
}

/// Le fait du déploiement dont vient une suggestion.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SuggestionSource {
    /// Identifiant du déploiement pHARe dont vient le fait : celui de l'établissement pour
    /// l'année, ou pour l'équipe ressource et le coordonnateur d'une école celui de sa
    /// circonscription.
    pub deployment_id: Uuid,
    /// L'indicateur de conformité du déploiement qui répond au critère.
    #[schema(example = "charter_in_force")]
    pub flag: String,
    /// Ce que dit cet indicateur, en français, selon qu'il est rempli ou non (« atelier
    /// parents tenu le 10/11/2026 », « aucun atelier parents tenu »).
    #[schema(
        example = "Déploiement pHARe 2026-2027 : charte d'engagement signée le 20/09/2026, en vigueur jusqu'au 31/08/2028"
    )]
    pub description: String,
}

/// Une candidature au label pHARe.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LabelView {
    /// Identifiant de la candidature.
    pub id: Uuid,
    /// UAI de l'établissement candidat.
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    /// Département de l'établissement.
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    /// Année scolaire de la candidature.
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// Niveau visé.
    pub target_level: LevelView,
    /// État de la candidature.
    pub status: LabelStatusView,
    /// Les critères du niveau visé, avec leurs réponses.
    pub criteria: Vec<CriterionView>,
    /// Les niveaux, jusqu'au niveau visé, dont tous les critères sont remplis.
    pub levels_met: Vec<LevelView>,
    /// Le niveau attribué, une fois le label attribué.
    pub awarded_level: Option<LevelView>,
    /// Motif de la décision du pôle.
    pub decision_reason: Option<String>,
    /// Motif du dernier renvoi de la candidature à l'établissement.
    pub return_reason: Option<String>,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

/// The school's deployment of the application's year, with its compliance on `day` (at
/// the latest the year's last day): what the criteria's suggestions come from.
struct YearFacts {
    id: Uuid,
    deployment: DeploymentState,
    judged: Judged,
    day: NaiveDate,
}

impl YearFacts {
    /// Where the fact answering a criterion comes from, worded by its outcome: the
    /// school's deployment, or for an école's team and coordinator its circonscription's.
    fn source(&self, fact: &LabelFact, year: SchoolYear) -> SuggestionSource {
        let flags = &self.judged.flags;
        let of_circonscription = matches!(fact.flag, "trained_team" | "coordinator_named");
        let (deployment_id, description) = match &self.judged.ecole {
            Some(side) if of_circonscription => {
                let own = self.deployment.fact_wording(fact.flag, flags, self.day);
                match (&side.circonscription, &side.deployment) {
                    (Some(name), Some((id, circonscription))) => (
                        *id,
                        format!(
                            "Déploiement pHARe {year} de la circonscription {name} : {}",
                            circonscription.fact_wording(fact.flag, flags, self.day)
                        ),
                    ),
                    (Some(name), None) => (
                        self.id,
                        format!(
                            "Déploiement pHARe {year} : {own} (la circonscription {name} n'a pas \
                             encore de déploiement cette année, et c'est le sien qui compte)"
                        ),
                    ),
                    (None, _) => (
                        self.id,
                        format!(
                            "Déploiement pHARe {year} : {own} (l'école n'est rattachée à aucune \
                             circonscription dans le répertoire, et c'est le déploiement de sa \
                             circonscription qui compte)"
                        ),
                    ),
                }
            }
            _ => (
                self.id,
                format!(
                    "Déploiement pHARe {year} : {}",
                    self.deployment.fact_wording(fact.flag, flags, self.day)
                ),
            ),
        };
        SuggestionSource {
            deployment_id,
            flag: fact.flag.to_owned(),
            description,
        }
    }
}

/// `None` when the school has no deployment that year.
async fn deployment_facts(
    state: &TargetState,
    application: &Application,
) -> Result<Option<YearFacts>, Problem> {
    let owner = DeploymentOwner::School {
        uai: application.school_uai.clone(),
        department: application.department.clone(),
    };
    let year = application.school_year;
    let id = deployment_id(&owner, year);
    let (deployment, _) = load::<Deployment>(&state.app.store, &deployment_stream(id)?).await?;
    if deployment.owner.is_none() {
        return Ok(None);
    }
    let day = pharos_domain::today_in_france(state.clock.now()).min(year.last_day());
    let judged = compliance_of(state, &owner, year, &deployment, day).await?;
    Ok(Some(YearFacts {
        id,
        deployment,
        judged,
        day,
    }))
}

/// The criteria of `application` a recorded fact meets: contest participation, once the
/// school submitted an entry to that year's edition.
fn recorded(participation: &Participation, application: &Application) -> BTreeSet<String> {
    let entries =
        participation.read(|p| p.entries(&application.school_uai, application.school_year));
    if entries > 0 {
        BTreeSet::from([crate::contest::CRITERION.to_owned()])
    } else {
        BTreeSet::new()
    }
}

/// `GET /api/v1/phare/labels/{id}`
#[utoipa::path(get, path = "/api/v1/phare/labels/{id}", tag = "phare",
    operation_id = "phare_get_label",
    summary = "Lire une candidature au label",
    description = "Chaque critère auquel répond un fait enregistré du déploiement pHARe de \
                   l'établissement pour la même année porte une réponse suggérée (suggested) et \
                   sa source (suggested_from) ; la réponse de l'établissement (met) reste celle \
                   qui compte. La participation au concours est remplie dès qu'une production de \
                   l'établissement est déposée au concours de l'année ; sans cela, le pôle la coche.",
    params(("id" = Uuid, Path, description = "Identifiant de la candidature")),
    responses(
        (status = 200, description = "La candidature", body = LabelView),
        (status = 404, description = "Candidature inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    Extension(participation): Extension<Participation>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (_, label, version) = reachable(&state, &actor, id).await?;
    let Some(application) = &label.application else {
        return Err(Problem::not_found());
    };
    let recorded = recorded(&participation, application);
    let facts = deployment_facts(&state, application).await?;
    let suggested = facts
        .as_ref()
        .map(|facts| suggestions(application, &facts.judged.flags))
        .unwrap_or_default();
    let criteria = application
        .checklist(application.target_level)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let answer = label.answers.get(&c.key);
            // A recorded fact (contest participation) meets it whatever the tick.
            let fact = recorded.contains(&c.key).then(|| {
                format!(
                    "Participation déposée au concours « Non au harcèlement » {}.",
                    application.school_year
                )
            });
            CriterionView {
                key: c.key.clone(),
                label: c.label.clone(),
                answered_by: c.answered_by,
                met: if fact.is_some() {
                    Some(true)
                } else {
                    answer.map(|a| a.met)
                },
                evidence: fact.or_else(|| answer.and_then(|a| a.evidence.clone())),
                suggested: suggested.get(&c.key).map(|met| {
                    if *met {
                        Suggested::Met
                    } else {
                        Suggested::NotMet
                    }
                }),
                suggested_from: suggested
                    .contains_key(&c.key)
                    .then(|| LabelFact::for_criterion(&c.key))
                    .flatten()
                    .zip(facts.as_ref())
                    .map(|(fact, facts)| facts.source(fact, application.school_year)),
            }
        })
        .collect();
    let levels_met = application
        .checklists
        .iter()
        .filter(|c| label.unmet(c.level, &recorded).is_empty())
        .map(|c| LevelView::from(c.level))
        .collect();
    Ok(axum::Json(LabelView {
        id,
        school_uai: application.school_uai.clone(),
        department: application.department.clone(),
        school_year: application.school_year,
        target_level: application.target_level.into(),
        status: label.status.into(),
        criteria,
        levels_met,
        awarded_level: label.awarded_level.map(LevelView::from),
        decision_reason: label.decision_reason.clone(),
        return_reason: label.return_reason.clone(),
        version,
    }))
}
