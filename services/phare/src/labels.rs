//! pHARe labels (category `phare_label`): one application per school and school year,
//! `draft → submitted → under_review → awarded(level) | not_awarded`.
//!
//! The pole either starts the review explicitly (`POST /labels/{id}/review`, so the
//! school sees its application is being examined) or decides a submitted application
//! straight away: the decision then records the review's start and the decision in one
//! batch, so `under_review` is always in the history.
//!
//! Criteria answered by the school may change while the application is a draft; the
//! criteria the pole answers (contest participation) may change until the decision.
//! Submitting needs every school criterion of the target level answered; awarding a level
//! needs every criterion of that level met.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use pharos_access::{Action, Actor, IfMatch, Subject, TargetState};
use pharos_decider::{Decider, execute, execute_with, load};
use pharos_events::phare::{
    CriterionAuthority, CriterionSpec, LABEL_CATEGORY, LabelEvent, LabelLevel, LevelChecklist,
    SchoolYear,
};
use pharos_events::{DepartmentCode, Uai};
use pharos_eventstore::{EventStore, StreamId};
use pharos_web::{Created, Json, Path, Problem, Versioned};
use pharos_decider::Rejection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::criteria::CriteriaConfig;
use crate::input;
use crate::places;
use crate::{FIRST_PHARE_YEAR, NAME, check_school_year};

/// Longest evidence text kept with an answer.
pub const MAX_EVIDENCE_CHARS: usize = 2000;

/// Label streams' ids are derived from school and year: one application per school and
/// year, and earlier years' applications are found without a scan.
const NAMESPACE: Uuid = Uuid::from_u128(0x7068_6172_655f_6c61_6265_6c73_5f76_3100);

pub fn label_id(uai: &Uai, year: SchoolYear) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("label:{uai}:{year}").as_bytes())
}

pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(LABEL_CATEGORY, id)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "État de la candidature : draft (brouillon), submitted (déposée), under_review \
                   (en cours d'examen par le pôle), awarded (label attribué), not_awarded (label \
                   non attribué)."
)]
pub enum LabelStatus {
    #[default]
    Draft,
    Submitted,
    UnderReview,
    Awarded,
    NotAwarded,
}

impl LabelStatus {
    fn decided(self) -> bool {
        matches!(self, Self::Awarded | Self::NotAwarded)
    }
}

/// What was applied for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub school_uai: Uai,
    pub department: DepartmentCode,
    pub school_year: SchoolYear,
    pub target_level: LabelLevel,
    pub checklists: Vec<LevelChecklist>,
}

impl Application {
    pub fn checklist(&self, level: LabelLevel) -> Option<&[CriterionSpec]> {
        self.checklists
            .iter()
            .find(|c| c.level == level)
            .map(|c| c.criteria.as_slice())
    }

    /// A criterion of any level up to the target.
    pub fn criterion(&self, key: &str) -> Option<&CriterionSpec> {
        self.checklists
            .iter()
            .flat_map(|c| &c.criteria)
            .find(|c| c.key == key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub met: bool,
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Label {
    pub application: Option<Application>,
    pub answers: BTreeMap<String, Answer>,
    pub status: LabelStatus,
    pub awarded_level: Option<LabelLevel>,
    pub decision_reason: Option<String>,
}

impl Label {
    /// The criteria of `level` not (yet) met, in checklist order.
    fn unmet(&self, level: LabelLevel) -> Vec<&CriterionSpec> {
        self.application
            .as_ref()
            .and_then(|a| a.checklist(level))
            .unwrap_or_default()
            .iter()
            .filter(|c| !self.answers.get(&c.key).is_some_and(|a| a.met))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(
    as = LabelOutcome,
    rename_all = "snake_case",
    description = "Issue de la décision : awarded (label attribué) ou not_awarded (non attribué)."
)]
pub enum Outcome {
    Awarded,
    NotAwarded,
}

#[derive(Debug, Clone)]
pub enum LabelCommand {
    /// `earlier_best`: the highest level the school was awarded in an earlier year.
    Draft {
        application: Application,
        earlier_best: Option<LabelLevel>,
        progressive: bool,
    },
    Answer {
        criterion: String,
        met: bool,
        evidence: Option<String>,
    },
    Submit,
    Review,
    /// `level`: for an award, the level awarded (the target when absent).
    Decide {
        outcome: Outcome,
        level: Option<LabelLevel>,
        reason: String,
    },
}

fn list(criteria: &[&CriterionSpec]) -> String {
    criteria
        .iter()
        .map(|c| format!("« {} »", c.label))
        .collect::<Vec<_>>()
        .join(" ; ")
}

/// The label's decider.
#[derive(Debug)]
pub struct Labels;

impl Decider for Labels {
    type State = Label;
    type Command = LabelCommand;
    type Event = LabelEvent;

    fn evolve(mut state: Label, event: &LabelEvent) -> Label {
        match event {
            LabelEvent::LabelDrafted {
                school_uai,
                department,
                school_year,
                target_level,
                checklists,
            } => {
                state.application = Some(Application {
                    school_uai: school_uai.clone(),
                    department: department.clone(),
                    school_year: *school_year,
                    target_level: *target_level,
                    checklists: checklists.clone(),
                });
                state.status = LabelStatus::Draft;
            }
            LabelEvent::CriterionAnswered {
                criterion,
                met,
                evidence,
            } => {
                state.answers.insert(
                    criterion.clone(),
                    Answer {
                        met: *met,
                        evidence: evidence.clone(),
                    },
                );
            }
            LabelEvent::LabelSubmitted => state.status = LabelStatus::Submitted,
            LabelEvent::LabelReviewStarted => state.status = LabelStatus::UnderReview,
            LabelEvent::LabelAwarded { level, reason } => {
                state.status = LabelStatus::Awarded;
                state.awarded_level = Some(*level);
                state.decision_reason = Some(reason.clone());
            }
            LabelEvent::LabelNotAwarded { reason } => {
                state.status = LabelStatus::NotAwarded;
                state.decision_reason = Some(reason.clone());
            }
        }
        state
    }

    fn decide(
        command: &LabelCommand,
        state: &Label,
        now: DateTime<Utc>,
    ) -> Result<Vec<LabelEvent>, Rejection> {
        if let LabelCommand::Draft {
            application,
            earlier_best,
            progressive,
        } = command
        {
            return draft(state, application, *earlier_best, *progressive, now);
        }
        let Some(application) = &state.application else {
            return Err(Rejection::not_found(
                "label-unknown",
                "Cette candidature au label pHARe n'existe pas.",
            ));
        };
        let decided = || {
            Rejection::conflict(
                "label-decided",
                "Le pôle a déjà rendu sa décision sur cette candidature : elle ne change plus.",
            )
        };
        match command {
            // Decided above, before the application had to exist.
            LabelCommand::Draft { .. } => Ok(vec![]),
            LabelCommand::Answer {
                criterion,
                met,
                evidence,
            } => {
                let Some(spec) = application.criterion(criterion) else {
                    let keys: Vec<&str> = application
                        .checklists
                        .iter()
                        .flat_map(|c| &c.criteria)
                        .map(|c| c.key.as_str())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    return Err(Rejection::invalid(
                        "criterion-unknown",
                        "criterion",
                        format!(
                            "« {criterion} » n'est pas un critère du label {} pour {} ; critères : {}.",
                            application.target_level,
                            application.school_year,
                            keys.join(", ")
                        ),
                    ));
                };
                if evidence
                    .as_ref()
                    .is_some_and(|e| e.chars().count() > MAX_EVIDENCE_CHARS)
                {
                    return Err(Rejection::invalid(
                        "evidence-too-long",
                        "evidence",
                        format!(
                            "Le justificatif dépasse {MAX_EVIDENCE_CHARS} caractères : résumez-le."
                        ),
                    ));
                }
                match spec.answered_by {
                    CriterionAuthority::School if state.status != LabelStatus::Draft => {
                        return Err(Rejection::conflict(
                            "label-not-draft",
                            "La candidature est déposée : ses critères ne se modifient plus.",
                        ));
                    }
                    CriterionAuthority::Pole if state.status.decided() => return Err(decided()),
                    _ => {}
                }
                let answer = Answer {
                    met: *met,
                    evidence: evidence.clone(),
                };
                if state.answers.get(criterion) == Some(&answer) {
                    return Ok(vec![]);
                }
                Ok(vec![LabelEvent::CriterionAnswered {
                    criterion: criterion.clone(),
                    met: *met,
                    evidence: evidence.clone(),
                }])
            }
            LabelCommand::Submit => {
                if state.status != LabelStatus::Draft {
                    return Err(Rejection::conflict(
                        "label-not-draft",
                        "La candidature est déjà déposée.",
                    ));
                }
                let unanswered: Vec<&CriterionSpec> = application
                    .checklist(application.target_level)
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.answered_by == CriterionAuthority::School)
                    .filter(|c| !state.answers.contains_key(&c.key))
                    .collect();
                if !unanswered.is_empty() {
                    return Err(Rejection::conflict(
                        "criteria-unanswered",
                        format!(
                            "Avant de déposer la candidature au label {}, répondez à chaque critère ; \
                             sans réponse : {}.",
                            application.target_level,
                            list(&unanswered)
                        ),
                    ));
                }
                Ok(vec![LabelEvent::LabelSubmitted])
            }
            LabelCommand::Review => match state.status {
                LabelStatus::Submitted => Ok(vec![LabelEvent::LabelReviewStarted]),
                LabelStatus::UnderReview => Ok(vec![]),
                LabelStatus::Draft => Err(not_submitted()),
                LabelStatus::Awarded | LabelStatus::NotAwarded => Err(decided()),
            },
            LabelCommand::Decide {
                outcome,
                level,
                reason,
            } => {
                let mut events = match state.status {
                    LabelStatus::Draft => return Err(not_submitted()),
                    LabelStatus::Awarded | LabelStatus::NotAwarded => return Err(decided()),
                    LabelStatus::Submitted => vec![LabelEvent::LabelReviewStarted],
                    LabelStatus::UnderReview => vec![],
                };
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(Rejection::invalid(
                        "decision-reason-missing",
                        "reason",
                        "Motivez la décision (reason) : l'établissement la lira.",
                    ));
                }
                match outcome {
                    Outcome::NotAwarded if level.is_some() => Err(Rejection::invalid(
                        "level-without-award",
                        "level",
                        "Un niveau ne s'indique que pour un label attribué (outcome: awarded).",
                    )),
                    Outcome::NotAwarded => {
                        events.push(LabelEvent::LabelNotAwarded {
                            reason: reason.to_owned(),
                        });
                        Ok(events)
                    }
                    Outcome::Awarded => {
                        let level = level.unwrap_or(application.target_level);
                        if level > application.target_level {
                            return Err(Rejection::invalid(
                                "award-above-target",
                                "level",
                                format!(
                                    "La candidature porte sur le label {} : le {level} ne peut pas être attribué.",
                                    application.target_level
                                ),
                            ));
                        }
                        let unmet = state.unmet(level);
                        if !unmet.is_empty() {
                            return Err(Rejection::conflict(
                                "criteria-unmet",
                                format!(
                                    "Le label {level} ne peut pas être attribué : critères non remplis : {}.",
                                    list(&unmet)
                                ),
                            ));
                        }
                        events.push(LabelEvent::LabelAwarded {
                            level,
                            reason: reason.to_owned(),
                        });
                        Ok(events)
                    }
                }
            }
        }
    }
}

fn not_submitted() -> Rejection {
    Rejection::conflict(
        "label-not-submitted",
        "La candidature est encore un brouillon : l'établissement doit la déposer avant la décision du pôle.",
    )
}

fn draft(
    state: &Label,
    application: &Application,
    earlier_best: Option<LabelLevel>,
    progressive: bool,
    now: DateTime<Utc>,
) -> Result<Vec<LabelEvent>, Rejection> {
    if let Some(existing) = &state.application {
        return Err(Rejection::conflict(
            "label-exists",
            format!(
                "L'établissement {} a déjà une candidature au label pour {} : une par année scolaire.",
                existing.school_uai, existing.school_year
            ),
        ));
    }
    check_school_year(application.school_year, now.date_naive())?;
    if let Some(missing) = LabelLevel::ALL
        .into_iter()
        .filter(|l| *l <= application.target_level)
        .find(|l| application.checklist(*l).is_none())
    {
        return Err(Rejection::invalid(
            "criteria-not-configured",
            "target_level",
            format!(
                "Aucune liste de critères n'est configurée pour le label {missing} en {} : \
                 adressez-vous au pôle académique.",
                application.school_year
            ),
        ));
    }
    if let Some(below) = application.target_level.below().filter(|_| progressive)
        && earlier_best.is_none_or(|best| best < below)
    {
        return Err(Rejection::conflict(
            "previous-level-missing",
            format!(
                "Les niveaux du label sont progressifs : candidater au {} suppose le {below} \
                 obtenu une année précédente.",
                application.target_level
            ),
        ));
    }
    Ok(vec![LabelEvent::LabelDrafted {
        school_uai: application.school_uai.clone(),
        department: application.department.clone(),
        school_year: application.school_year,
        target_level: application.target_level,
        checklists: application.checklists.clone(),
    }])
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
        let (label, _) = load::<Labels>(store, &stream(label_id(uai, earlier))?).await?;
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
        (status = 409, description = "Une candidature existe déjà pour cet établissement et cette année, ou le niveau précédent n'a pas été obtenu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (UAI, année hors période, niveau, établissement inconnu ou fermé, critères non configurés)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    actor: Actor,
    Json(body): Json<NewLabel>,
) -> Result<impl IntoResponse, Problem> {
    let uai = input::uai("school_uai", &body.school_uai)?;
    let school_year = input::school_year(&body.school_year)?;
    let target_level = input::level("target_level", &body.target_level)?;
    let found = places::school(&state.access, &uai).await?;
    let school = places::open_school("school_uai", &uai, found)?;
    actor.may(
        Action::ManageDeployment,
        Subject::School {
            uai: &uai,
            department: &school.department,
        },
    )?;
    let config = CriteriaConfig::shipped()?;
    let store = &state.app.store;
    let command = LabelCommand::Draft {
        earlier_best: earlier_best(store, &uai, school_year).await?,
        progressive: config.progressive,
        application: Application {
            checklists: config.checklists_up_to(target_level, school_year),
            school_uai: uai.clone(),
            department: school.department,
            school_year,
            target_level,
        },
    };
    let id = label_id(&uai, school_year);
    let done = execute::<Labels, Problem>(
        store,
        &stream(id)?,
        &command,
        state.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Created {
            id,
            version: done.version,
        }),
    ))
}

/// The application behind a path id, once the actor is known to reach its school.
async fn reachable(
    state: &TargetState,
    actor: &Actor,
    id: &str,
) -> Result<(StreamId, Label, i64), Problem> {
    let id = input::id(id)?;
    let stream = stream(id)?;
    let (label, version) = load::<Labels>(&state.app.store, &stream).await?;
    let Some(application) = &label.application else {
        return Err(Problem::not_found());
    };
    actor.may(Action::ManageDeployment, subject(application))?;
    Ok((stream, label, version))
}

/// Runs the command `check` makes from the application behind a path id, deciding on
/// one load: 404 when there is none, 403 when the actor does not reach its school (or
/// when `check` refuses).
async fn run(
    state: &TargetState,
    actor: &Actor,
    id: &str,
    if_match: IfMatch,
    check: impl Fn(&Application) -> Result<LabelCommand, Problem>,
) -> Result<axum::Json<Versioned>, Problem> {
    let done = execute_with::<Labels, Problem>(
        &state.app.store,
        &stream(input::id(id)?)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |label| {
            let application = label.application.as_ref().ok_or_else(Problem::not_found)?;
            actor.may(Action::ManageDeployment, subject(application))?;
            check(application).map(Cow::Owned)
        },
    )
    .await?;
    Ok(axum::Json(Versioned {
        version: done.version,
    }))
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
    description = "L'établissement répond à ses critères tant que la candidature est un brouillon ; le pôle répond aux siens (participation au concours) jusqu'à sa décision.",
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
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<AnswerInput>,
) -> Result<impl IntoResponse, Problem> {
    let criterion = body.criterion.trim().to_owned();
    let evidence = input::trimmed(body.evidence.as_deref());
    run(&state, &actor, &id, if_match, |application| {
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
    params(("id" = Uuid, Path, description = "Identifiant de la candidature")),
    responses(
        (status = 200, description = "Candidature déposée", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre de la candidature", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Candidature inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Candidature déjà déposée, critères sans réponse, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &actor, &id, if_match, |_| Ok(LabelCommand::Submit)).await
}

/// `POST /api/v1/phare/labels/{id}/review`: the pole starts examining the application.
#[utoipa::path(post, path = "/api/v1/phare/labels/{id}/review", tag = "phare",
    operation_id = "phare_start_label_review",
    summary = "Commencer l'examen de la candidature",
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
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run(&state, &actor, &id, if_match, |application| {
        actor.may(Action::DecideLabel, subject(application))?;
        Ok(LabelCommand::Review)
    })
    .await
}

const OUTCOMES: &[(&str, Outcome)] = &[
    ("awarded", Outcome::Awarded),
    ("not_awarded", Outcome::NotAwarded),
];

/// La décision du pôle sur une candidature déposée.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    #[schema(value_type = Outcome)]
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
    actor: Actor,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<DecisionInput>,
) -> Result<impl IntoResponse, Problem> {
    let outcome = input::choice("invalid-outcome", "outcome", &body.outcome, OUTCOMES)?;
    let level = match &body.level {
        None | Some(Value::Null) => None,
        Some(value) => Some(input::level("level", value)?),
    };
    run(&state, &actor, &id, if_match, |application| {
        actor.may(Action::DecideLabel, subject(application))?;
        Ok(LabelCommand::Decide {
            outcome,
            level,
            reason: body.reason.clone(),
        })
    })
    .await
}

/// Un niveau de label, en chiffre et en toutes lettres.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct LevelView {
    #[schema(minimum = 1, maximum = 3, example = 1)]
    pub number: u8,
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
    #[schema(example = "charte_signee")]
    pub key: String,
    /// Libellé du critère.
    pub label: String,
    pub answered_by: CriterionAuthority,
    /// Critère rempli ; absent tant que personne n'a répondu.
    pub met: Option<bool>,
    /// Justificatif.
    pub evidence: Option<String>,
}

/// Une candidature au label pHARe.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LabelView {
    pub id: Uuid,
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    pub target_level: LevelView,
    pub status: LabelStatus,
    /// Les critères du niveau visé, avec leurs réponses.
    pub criteria: Vec<CriterionView>,
    /// Les niveaux, jusqu'au niveau visé, dont tous les critères sont remplis.
    pub levels_met: Vec<LevelView>,
    /// Le niveau attribué, une fois le label attribué.
    pub awarded_level: Option<LevelView>,
    /// Motif de la décision du pôle.
    pub decision_reason: Option<String>,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

/// `GET /api/v1/phare/labels/{id}`
#[utoipa::path(get, path = "/api/v1/phare/labels/{id}", tag = "phare",
    operation_id = "phare_get_label",
    summary = "Lire une candidature au label",
    params(("id" = Uuid, Path, description = "Identifiant de la candidature")),
    responses(
        (status = 200, description = "La candidature", body = LabelView),
        (status = 403, description = "Hors du périmètre de la candidature", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Candidature inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let (_, label, version) = reachable(&state, &actor, &id).await?;
    let Some(application) = &label.application else {
        return Err(Problem::not_found());
    };
    let criteria = application
        .checklist(application.target_level)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let answer = label.answers.get(&c.key);
            CriterionView {
                key: c.key.clone(),
                label: c.label.clone(),
                answered_by: c.answered_by,
                met: answer.map(|a| a.met),
                evidence: answer.and_then(|a| a.evidence.clone()),
            }
        })
        .collect();
    let levels_met = application
        .checklists
        .iter()
        .filter(|c| label.unmet(c.level).is_empty())
        .map(|c| LevelView::from(c.level))
        .collect();
    Ok(axum::Json(LabelView {
        id: input::id(&id)?,
        school_uai: application.school_uai.clone(),
        department: application.department.clone(),
        school_year: application.school_year,
        target_level: application.target_level.into(),
        status: label.status,
        criteria,
        levels_met,
        awarded_level: label.awarded_level.map(LevelView::from),
        decision_reason: label.decision_reason.clone(),
        version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-15T10:00:00Z";

    fn year() -> SchoolYear {
        SchoolYear::parse("2026-2027").unwrap()
    }

    fn application(target: LabelLevel) -> Application {
        let config = CriteriaConfig::shipped().unwrap();
        Application {
            school_uai: Uai::parse("0310001H").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
            school_year: year(),
            target_level: target,
            checklists: config.checklists_up_to(target, year()),
        }
    }

    fn drafted(target: LabelLevel) -> Vec<LabelEvent> {
        let a = application(target);
        vec![LabelEvent::LabelDrafted {
            school_uai: a.school_uai,
            department: a.department,
            school_year: a.school_year,
            target_level: a.target_level,
            checklists: a.checklists,
        }]
    }

    fn given(events: &[LabelEvent]) -> Label {
        events.iter().fold(Label::default(), Labels::evolve)
    }

    fn when(events: &[LabelEvent], command: LabelCommand) -> Result<Vec<LabelEvent>, Rejection> {
        Labels::decide(&command, &given(events), NOW.parse().unwrap())
    }

    fn draft_command(target: LabelLevel, earlier_best: Option<LabelLevel>) -> LabelCommand {
        LabelCommand::Draft {
            application: application(target),
            earlier_best,
            progressive: true,
        }
    }

    fn answered(key: &str, met: bool) -> LabelEvent {
        LabelEvent::CriterionAnswered {
            criterion: key.into(),
            met,
            evidence: None,
        }
    }

    /// Every criterion the school answers for `target` answered `met`, then submitted.
    fn submitted(target: LabelLevel, met: bool) -> Vec<LabelEvent> {
        let mut history = drafted(target);
        let a = application(target);
        for c in a.checklist(target).unwrap() {
            if c.answered_by == CriterionAuthority::School {
                history.push(answered(&c.key, met));
            }
        }
        history.push(LabelEvent::LabelSubmitted);
        history
    }

    fn decide(outcome: Outcome, level: Option<LabelLevel>, reason: &str) -> LabelCommand {
        LabelCommand::Decide {
            outcome,
            level,
            reason: reason.into(),
        }
    }

    #[test]
    fn rejects_a_second_application_for_the_same_school_and_year() {
        let error = when(
            &drafted(LabelLevel::Engagement),
            draft_command(LabelLevel::Engagement, None),
        )
        .unwrap_err();
        assert_eq!(error.rule, "label-exists");
        assert_ne!(
            label_id(&Uai::parse("0310001H").unwrap(), year()),
            label_id(&Uai::parse("0310001H").unwrap(), year().next())
        );
    }

    #[test]
    fn rejects_an_application_beyond_next_school_year() {
        let mut command = draft_command(LabelLevel::Engagement, None);
        if let LabelCommand::Draft { application, .. } = &mut command {
            application.school_year = SchoolYear::parse("2030-2031").unwrap();
        }
        assert_eq!(
            when(&[], command).unwrap_err().rule,
            "school-year-out-of-range"
        );
    }

    #[test]
    fn rejects_a_level_two_application_without_level_one_awarded_before() {
        let error = when(&[], draft_command(LabelLevel::Approfondissement, None)).unwrap_err();
        assert_eq!(error.rule, "previous-level-missing");
        assert!(
            error.message.contains("suppose le niveau 1 (engagement)"),
            "{}",
            error.message
        );
        assert!(
            when(
                &[],
                draft_command(LabelLevel::Approfondissement, Some(LabelLevel::Engagement))
            )
            .is_ok()
        );
        assert_eq!(
            when(
                &[],
                draft_command(LabelLevel::Expertise, Some(LabelLevel::Engagement))
            )
            .unwrap_err()
            .rule,
            "previous-level-missing"
        );
        let mut free = draft_command(LabelLevel::Expertise, None);
        if let LabelCommand::Draft { progressive, .. } = &mut free {
            *progressive = false;
        }
        assert!(
            when(&[], free).is_ok(),
            "levels are progressive only when configured so"
        );
    }

    #[test]
    fn rejects_an_application_for_a_level_without_configured_criteria() {
        let mut command = draft_command(LabelLevel::Engagement, None);
        if let LabelCommand::Draft { application, .. } = &mut command {
            application.checklists.clear();
        }
        assert_eq!(
            when(&[], command).unwrap_err().rule,
            "criteria-not-configured"
        );
    }

    #[test]
    fn rejects_commands_on_an_application_that_does_not_exist() {
        assert_eq!(
            when(&[], LabelCommand::Submit).unwrap_err().rule,
            "label-unknown"
        );
    }

    #[test]
    fn rejects_an_answer_to_a_criterion_not_in_the_checklist() {
        let error = when(
            &drafted(LabelLevel::Engagement),
            LabelCommand::Answer {
                criterion: "participation_concours".into(),
                met: true,
                evidence: None,
            },
        )
        .unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("criterion-unknown", Some("criterion"))
        );
        assert!(error.message.contains("charte_signee"), "{}", error.message);
    }

    #[test]
    fn rejects_an_overlong_evidence() {
        let error = when(
            &drafted(LabelLevel::Engagement),
            LabelCommand::Answer {
                criterion: "charte_signee".into(),
                met: true,
                evidence: Some("x".repeat(MAX_EVIDENCE_CHARS + 1)),
            },
        )
        .unwrap_err();
        assert_eq!(error.rule, "evidence-too-long");
    }

    #[test]
    fn rejects_changing_the_schools_answers_once_submitted() {
        let error = when(
            &submitted(LabelLevel::Engagement, true),
            LabelCommand::Answer {
                criterion: "charte_signee".into(),
                met: false,
                evidence: None,
            },
        )
        .unwrap_err();
        assert_eq!(error.rule, "label-not-draft");
        assert_eq!(
            when(
                &submitted(LabelLevel::Engagement, true),
                LabelCommand::Submit
            )
            .unwrap_err()
            .rule,
            "label-not-draft"
        );
    }

    #[test]
    fn the_pole_ticks_the_contest_until_its_decision_and_not_after() {
        let mut history = submitted(LabelLevel::Approfondissement, true);
        let tick = LabelCommand::Answer {
            criterion: "participation_concours".into(),
            met: true,
            evidence: Some("Affiche déposée au concours".into()),
        };
        history.extend(when(&history, tick.clone()).unwrap());
        history.extend(when(&history, decide(Outcome::Awarded, None, "Dossier complet")).unwrap());
        assert_eq!(when(&history, tick).unwrap_err().rule, "label-decided");
    }

    #[test]
    fn rejects_submitting_with_unanswered_criteria_and_lists_them() {
        let mut history = drafted(LabelLevel::Engagement);
        history.push(answered("charte_signee", true));
        let error = when(&history, LabelCommand::Submit).unwrap_err();
        assert_eq!(error.rule, "criteria-unanswered");
        assert!(
            error
                .message
                .contains("« Au moins un atelier parents organisé »"),
            "{}",
            error.message
        );
        assert!(!error.message.contains("Charte"), "{}", error.message);
        // An unmet criterion is an answer: the pole will judge.
        let mut history = drafted(LabelLevel::Approfondissement);
        for c in application(LabelLevel::Engagement)
            .checklist(LabelLevel::Engagement)
            .unwrap()
        {
            history.push(answered(&c.key, false));
        }
        assert_eq!(
            when(&history, LabelCommand::Submit).unwrap(),
            [LabelEvent::LabelSubmitted],
            "the criterion the pole ticks is not the school's to answer"
        );
    }

    #[test]
    fn rejects_a_review_or_decision_before_submission() {
        let history = drafted(LabelLevel::Engagement);
        assert_eq!(
            when(&history, LabelCommand::Review).unwrap_err().rule,
            "label-not-submitted"
        );
        assert_eq!(
            when(&history, decide(Outcome::NotAwarded, None, "Incomplet"))
                .unwrap_err()
                .rule,
            "label-not-submitted"
        );
    }

    #[test]
    fn a_decision_on_a_submitted_application_starts_the_review_in_the_same_batch() {
        let history = submitted(LabelLevel::Engagement, true);
        let events = when(
            &history,
            decide(Outcome::Awarded, None, "Dossier exemplaire"),
        )
        .unwrap();
        assert_eq!(
            events,
            [
                LabelEvent::LabelReviewStarted,
                LabelEvent::LabelAwarded {
                    level: LabelLevel::Engagement,
                    reason: "Dossier exemplaire".into()
                }
            ]
        );
        let mut reviewed = history.clone();
        reviewed.extend(when(&history, LabelCommand::Review).unwrap());
        assert_eq!(given(&reviewed).status, LabelStatus::UnderReview);
        let events = when(
            &reviewed,
            decide(Outcome::NotAwarded, None, "Protocole non présenté"),
        )
        .unwrap();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn rejects_a_second_decision() {
        let mut history = submitted(LabelLevel::Engagement, true);
        history.extend(when(&history, decide(Outcome::NotAwarded, None, "Non")).unwrap());
        let error = when(&history, decide(Outcome::Awarded, None, "Finalement oui")).unwrap_err();
        assert_eq!(error.rule, "label-decided");
        assert_eq!(
            when(&history, LabelCommand::Review).unwrap_err().rule,
            "label-decided"
        );
    }

    #[test]
    fn rejects_a_decision_without_a_reason() {
        let error = when(
            &submitted(LabelLevel::Engagement, true),
            decide(Outcome::Awarded, None, "  "),
        )
        .unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("decision-reason-missing", Some("reason"))
        );
    }

    #[test]
    fn rejects_a_level_on_a_refusal() {
        let error = when(
            &submitted(LabelLevel::Engagement, true),
            decide(Outcome::NotAwarded, Some(LabelLevel::Engagement), "Non"),
        )
        .unwrap_err();
        assert_eq!(error.rule, "level-without-award");
    }

    #[test]
    fn rejects_awarding_above_the_level_applied_for() {
        let error = when(
            &submitted(LabelLevel::Engagement, true),
            decide(
                Outcome::Awarded,
                Some(LabelLevel::Approfondissement),
                "Bravo",
            ),
        )
        .unwrap_err();
        assert_eq!(error.rule, "award-above-target");
    }

    #[test]
    fn rejects_awarding_a_level_whose_criteria_are_not_met_and_lists_them() {
        let mut history = submitted(LabelLevel::Engagement, true);
        history.insert(history.len() - 1, answered("atelier_parents", false));
        let error = when(&history, decide(Outcome::Awarded, None, "Bravo")).unwrap_err();
        assert_eq!(error.rule, "criteria-unmet");
        assert!(
            error
                .message
                .contains("critères non remplis : « Au moins un atelier parents organisé »"),
            "{}",
            error.message
        );
        // Applying for level 2 without the contest ticked: level 1 may still be awarded.
        let level2 = submitted(LabelLevel::Approfondissement, true);
        let error = when(&level2, decide(Outcome::Awarded, None, "Bravo")).unwrap_err();
        assert!(error.message.contains("concours"), "{}", error.message);
        let events = when(
            &level2,
            decide(Outcome::Awarded, Some(LabelLevel::Engagement), "Niveau 1"),
        )
        .unwrap();
        assert!(matches!(
            events.last(),
            Some(LabelEvent::LabelAwarded {
                level: LabelLevel::Engagement,
                ..
            })
        ));
    }
}
