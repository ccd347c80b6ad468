//! The cohort routes: request and answer shapes (documented in French for the OpenAPI
//! document), authorisation on the cohort's school, and the handlers that run the
//! decider's commands. Personal data is sealed before it is recorded and only once the
//! request is known to be accepted (the command is decided once beforehand), so that a
//! refused request registers nobody in the vault.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime};
use pharos_access::{Action, Actor, IfMatch, Scope, Subject, TargetState};
use pharos_decider::{Decider, Executed, Rejection, execute_attached, load, sentence};
use pharos_events::cohort::{CATEGORY, ClassLevel, CohortEvent, CohortKind, PupilName, Referent};
use pharos_events::phare::SchoolYear;
use pharos_events::{DepartmentCode, Role, Uai};
use pharos_eventstore::{Companions, StoreError, StreamId};
use pharos_privacy::{PersonId, Sealed};
use pharos_web::{Created, Json, Path, Problem, Query, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::NAME;
use crate::decider::{
    Cohort, CohortCommand, CohortIdentity, CohortSchool, CohortState, CohortStatus, Pupil,
    TrainingInput, cohort_id,
};
use crate::index::Index;
use crate::input::{self, ReferentInput};
use crate::sessions::{self, Sessions};

/// Où les cohortes se lisent.
const PATH: &str = "/api/v1/cohorts";
/// Lists answer at most this many items per page.
const PAGE_MAX: usize = 500;
/// Items per page unless `limit` says otherwise.
const PAGE_DEFAULT: usize = 100;

pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(CATEGORY, id)?)
}

/// What a cohort is about, for the scope table.
fn subject(identity: &CohortIdentity) -> Subject<'_> {
    Subject::School {
        uai: &identity.school_uai,
        department: &identity.department,
    }
}

/// A command's failure: a rule's refusal kept as such (to answer more than a problem),
/// or any other problem.
#[derive(Debug)]
enum Failed {
    Rejected(Rejection),
    Problem(Problem),
}

impl From<Rejection> for Failed {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(rejection)
    }
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Self {
        Self::Problem(error.into())
    }
}

/// A refusal of a creation: a cohort that exists answers its id and address.
fn refused(rejection: Rejection, id: Uuid) -> Problem {
    if rejection.rule == "cohort-exists" {
        Problem::from(rejection).with_existing(id, format!("{PATH}/{id}"))
    } else {
        rejection.into()
    }
}

/// A sealed value standing in for one not sealed yet, to decide a command before
/// anyone is registered in the vault.
fn not_sealed_yet() -> Sealed {
    Sealed {
        person: PersonId(Uuid::nil()),
        sealed: String::new(),
    }
}

/// The first instant of a school year, which the retention rules of a cohort's data
/// run from.
fn start_of(year: SchoolYear) -> chrono::DateTime<chrono::Utc> {
    year.first_day().and_time(NaiveTime::MIN).and_utc()
}

/// Une nouvelle cohorte d'ambassadeurs, en brouillon.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCohort {
    /// UAI de l'établissement, enregistré dans le répertoire et ouvert.
    #[schema(example = "0310001H")]
    pub school_uai: String,
    /// Année scolaire, de 2019-2020 à l'année suivant l'année en cours.
    #[schema(example = "2026-2027")]
    pub school_year: String,
    /// Type de cohorte, selon l'établissement : petits_ambassadeurs (école),
    /// eleves_college (collège, EREA), eleves_lycee (lycée, EREA), parents (tout
    /// établissement).
    #[schema(value_type = CohortKind, example = "eleves_college")]
    pub kind: String,
    /// L'adulte référent de la cohorte.
    pub referent: ReferentInput,
    /// Nombre d'ambassadeurs par niveau de classe, pour les niveaux du type de cohorte
    /// seulement (ex. {"6e": 3, "5e": 4}) ; peut rester vide jusqu'à la déclaration.
    #[serde(default)]
    #[schema(example = json!({"6e": 3, "5e": 4}))]
    pub counts: BTreeMap<String, u32>,
}

/// `POST /api/v1/cohorts`
#[utoipa::path(post, path = "/api/v1/cohorts", tag = "cohorts",
    operation_id = "cohorts_create",
    summary = "Créer une cohorte d'ambassadeurs",
    description = "Une cohorte par établissement, année scolaire et type (élèves de collège, \
                   élèves de lycée, petits ambassadeurs de CM1-CM2, parents), en brouillon. Le \
                   type doit convenir à l'établissement ; les effectifs se comptent par niveau \
                   de classe de ce type.",
    request_body = NewCohort,
    responses(
        (status = 201, description = "Cohorte créée", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre (l'établissement, les référents de son département, le pôle)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Une cohorte de ce type existe déjà pour cet établissement et cette année : son identifiant dans existing_id, son adresse dans Location", body = pharos_web::Problem, content_type = "application/problem+json",
            headers(("Location" = String, description = "Adresse de la cohorte existante"))),
        (status = 422, description = "Valeur refusée (année hors période, UAI invalide, établissement inconnu ou fermé, type ne convenant pas à l'établissement, niveau ou effectif refusé, référent incomplet)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Json(body): Json<NewCohort>,
) -> Result<Response, Problem> {
    let school_year = input::school_year(&body.school_year)?;
    let uai = input::uai("school_uai", &body.school_uai)?;
    let kind = input::kind(&body.kind)?;
    let counts = input::counts(&body.counts)?;
    body.referent.check()?;
    let found = state.access.reference.school(&uai).await?;
    let Some(found) = found else {
        return Err(Rejection::invalid(
            "school-unknown",
            "school_uai",
            format!(
                "L'établissement {uai} n'est pas enregistré dans le répertoire des établissements."
            ),
        )
        .into());
    };
    actor.may(
        Action::ManageCohorts,
        Subject::School {
            uai: &found.uai,
            department: &found.department,
        },
    )?;
    let school = CohortSchool {
        uai,
        department: found.department,
        kind: found.kind,
        closed: found.closed,
    };
    let id = cohort_id(&school.uai, school_year, kind);
    let stream = stream(id)?;
    let now = state.clock.now();
    let command = |referent: Referent| CohortCommand::Create {
        school: school.clone(),
        school_year,
        kind,
        referent,
        counts: counts.clone(),
    };
    // Decided once before the vault is asked.
    let (current, _) = load::<Cohort>(&state.app.store, &stream).await?;
    let unsealed = Referent {
        display_name: not_sealed_yet(),
        email: not_sealed_yet(),
    };
    if let Err(rejection) = Cohort::decide(&command(unsealed), &current, now) {
        return Err(refused(rejection, id));
    }
    let (referent, mut companions) = body.referent.seal(&state.vault).await?;
    let person = referent.email.person;
    // The referent is held from the cohort's school year (from now, when later), in the
    // cohort's commit: no recorded cohort whose referent nothing holds (kept forever).
    companions.push(
        state
            .vault
            .hold_in_commit(
                person,
                &format!("{CATEGORY}-{id}"),
                "cohort_referent",
                Some(now.max(start_of(school_year))),
            )
            .map_err(Problem::from)?,
    );
    let command = command(referent);
    let done = match execute_attached::<Cohort, Failed>(
        &state.app.store,
        &stream,
        now,
        None,
        &actor.metadata(NAME),
        |_| Ok((Cow::Borrowed(&command), companions.clone())),
    )
    .await
    {
        Ok(done) => done,
        Err(Failed::Rejected(rejection)) => return Err(refused(rejection, id)),
        Err(Failed::Problem(problem)) => return Err(problem),
    };
    index.update(|index| index.note_all(id, done.version, &done.events));
    Ok(Created {
        id,
        version: done.version,
    }
    .into_response())
}

/// Quelles cohortes lister : celles d'un établissement (`school_uai`), d'un département
/// (`department`), d'une année, d'un type ; sans filtre, toutes celles du périmètre de
/// l'utilisateur. Un filtre hors du périmètre est refusé (403).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CohortFilter {
    /// UAI de l'établissement.
    #[param(example = "0310001H")]
    pub school_uai: Option<String>,
    /// Année scolaire ; toutes par défaut.
    #[param(example = "2026-2027")]
    pub school_year: Option<String>,
    /// Département.
    #[param(example = "31")]
    pub department: Option<String>,
    /// Type de cohorte (eleves_college, eleves_lycee, petits_ambassadeurs, parents).
    #[param(example = "eleves_college")]
    pub kind: Option<String>,
    /// Nombre d'éléments par page : 100 par défaut, 500 au plus.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Nombre d'éléments à sauter (pagination).
    pub offset: Option<u32>,
}

/// Une cohorte dans une liste : de quoi l'ouvrir, sans aucun nom.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CohortSummary {
    /// Identifiant de la cohorte.
    pub id: Uuid,
    /// UAI de l'établissement.
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    /// Département de l'établissement.
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    /// Année scolaire.
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// Type de cohorte.
    pub kind: CohortKind,
    /// État de la cohorte.
    pub state: CohortStatus,
    /// Nombre d'ambassadeurs, tous niveaux confondus.
    pub total: u32,
    /// Cohorte d'élèves de collège ou de lycée de moins de 10 ambassadeurs.
    pub below_ten_ambassadors: bool,
}

impl CohortSummary {
    fn of(id: Uuid, cohort: &CohortState) -> Option<Self> {
        let identity = cohort.identity.as_ref()?;
        Some(Self {
            id,
            school_uai: identity.school_uai.clone(),
            department: identity.department.clone(),
            school_year: identity.school_year,
            kind: identity.kind,
            state: cohort.status,
            total: cohort.total(),
            below_ten_ambassadors: cohort.below_ten(),
        })
    }
}

/// Une page de cohortes : l'année la plus récente d'abord, puis par département,
/// établissement et type.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CohortList {
    /// Les cohortes de la page.
    pub items: Vec<CohortSummary>,
    /// Nombre de cohortes répondant au filtre, toutes pages confondues.
    pub total: usize,
}

/// Whose lists an actor may ask for at all: the roles of `ManageCohorts`, each within
/// its scope (the items are then filtered by scope one by one).
fn may_list(actor: &Actor) -> Result<(), Problem> {
    match &actor.scope {
        Scope::Department(department) => {
            actor.may(Action::ManageCohorts, Subject::Department(department))?;
        }
        Scope::School(_) if actor.role == Role::School => {}
        _ => actor.may(Action::ManageCohorts, Subject::Academy)?,
    }
    Ok(())
}

/// `GET /api/v1/cohorts?school_uai=&school_year=&department=&kind=`
#[utoipa::path(get, path = "/api/v1/cohorts", tag = "cohorts",
    operation_id = "cohorts_list",
    summary = "Trouver des cohortes d'ambassadeurs",
    description = "Les cohortes d'un établissement, d'un département, d'une année ou d'un type, \
                   dans le périmètre de l'utilisateur (l'établissement : les siennes ; le \
                   référent : son département ; le pôle : toutes), sans aucun nom. Paginée : 100 \
                   par page par défaut, 500 au plus (limit, offset).",
    params(CohortFilter),
    responses(
        (status = 200, description = "Les cohortes", body = CohortList),
        (status = 403, description = "Filtre hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (année, UAI, établissement inconnu, département, type)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Query(filter): Query<CohortFilter>,
) -> Result<impl IntoResponse, Problem> {
    let year = input::trimmed(filter.school_year.as_deref())
        .map(|text| input::school_year(&text))
        .transpose()?;
    let kind = input::trimmed(filter.kind.as_deref())
        .map(|text| input::kind(&text))
        .transpose()?;
    let department =
        input::trimmed(filter.department.as_deref())
            .map(|text| {
                state.access.academy.department(&text).map_err(|e| {
                    Rejection::invalid("invalid-department", "department", sentence(&e.0))
                })
            })
            .transpose()?;
    let school = match input::trimmed(filter.school_uai.as_deref()) {
        Some(text) => {
            let uai = input::uai("school_uai", &text)?;
            let found = state.access.reference.school(&uai).await?.ok_or_else(|| {
                Rejection::invalid(
                    "school-unknown",
                    "school_uai",
                    format!(
                        "L'établissement {uai} n'est pas enregistré dans le répertoire des \
                         établissements."
                    ),
                )
            })?;
            actor.may(
                Action::ManageCohorts,
                Subject::School {
                    uai: &found.uai,
                    department: &found.department,
                },
            )?;
            Some(found.uai)
        }
        None => {
            match &department {
                Some(department) => {
                    actor.may(Action::ManageCohorts, Subject::Department(department))?;
                }
                None => may_list(&actor)?,
            }
            None
        }
    };
    let mut items: Vec<CohortSummary> = index.read(|index| {
        index
            .cohorts
            .iter()
            .filter_map(|(id, (_, cohort))| CohortSummary::of(*id, cohort))
            .filter(|c| year.is_none_or(|y| c.school_year == y))
            .filter(|c| kind.is_none_or(|k| c.kind == k))
            .filter(|c| school.as_ref().is_none_or(|u| &c.school_uai == u))
            .filter(|c| department.as_ref().is_none_or(|d| &c.department == d))
            .filter(|c| {
                actor
                    .may(
                        Action::ManageCohorts,
                        Subject::School {
                            uai: &c.school_uai,
                            department: &c.department,
                        },
                    )
                    .is_ok()
            })
            .collect()
    });
    items.sort_by(|a, b| {
        (b.school_year, &a.department, &a.school_uai, a.kind).cmp(&(
            a.school_year,
            &b.department,
            &b.school_uai,
            b.kind,
        ))
    });
    let total = items.len();
    let limit = filter
        .limit
        .map_or(PAGE_DEFAULT, |l| (l as usize).clamp(1, PAGE_MAX));
    let offset = filter.offset.map_or(0, |o| o as usize);
    let items = items.into_iter().skip(offset).take(limit).collect();
    Ok(axum::Json(CohortList { items, total }))
}

/// The cohort behind a path id, once the actor is known to reach it.
async fn reachable(
    state: &TargetState,
    actor: &Actor,
    id: Uuid,
) -> Result<(StreamId, CohortState, i64), Problem> {
    let stream = stream(id)?;
    let (cohort, version) = load::<Cohort>(&state.app.store, &stream).await?;
    let Some(identity) = &cohort.identity else {
        return Err(Problem::not_found());
    };
    actor.may(Action::ManageCohorts, subject(identity))?;
    Ok((stream, cohort, version))
}

/// Runs `command` on the cohort behind a path id, deciding on one load: 404 when there
/// is none, 403 when the actor does not reach its school. `replaced` receives the
/// persons of the nominal list the command was decided on.
async fn run(
    state: &TargetState,
    index: &Index,
    actor: &Actor,
    id: Uuid,
    command: CohortCommand,
    if_match: IfMatch,
    replaced: &mut Vec<PersonId>,
) -> Result<Executed<CohortEvent>, Problem> {
    let none = Vec::new();
    run_attached(state, index, actor, id, command, &none, if_match, replaced).await
}

/// [`run`], with `companions` stored in the command's commit.
#[allow(clippy::too_many_arguments)]
async fn run_attached(
    state: &TargetState,
    index: &Index,
    actor: &Actor,
    id: Uuid,
    command: CohortCommand,
    companions: &Companions,
    if_match: IfMatch,
    replaced: &mut Vec<PersonId>,
) -> Result<Executed<CohortEvent>, Problem> {
    let done = execute_attached::<Cohort, Problem>(
        &state.app.store,
        &stream(id)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |cohort| {
            let identity = cohort.identity.as_ref().ok_or_else(Problem::not_found)?;
            actor.may(Action::ManageCohorts, subject(identity))?;
            replaced.clear();
            replaced.extend(cohort.pupils.iter().map(|p| p.first_name.person));
            Ok((Cow::Borrowed(&command), companions.clone()))
        },
    )
    .await?;
    index.update(|index| index.note_all(id, done.version, &done.events));
    Ok(done)
}

/// Erases the persons of pupil names no longer needed (a list replaced, a cohort
/// closed): their names read « donnée effacée » everywhere from now on.
async fn erase_pupils(
    state: &TargetState,
    actor: &Actor,
    people: impl IntoIterator<Item = PersonId>,
    reason: &str,
) -> Result<(), Problem> {
    let mut seen = HashSet::new();
    for person in people.into_iter().filter(|p| seen.insert(*p)) {
        state
            .vault
            .erase(&state.app.store, person, reason, &actor.metadata(NAME))
            .await
            .map_err(Problem::from)?;
    }
    Ok(())
}

/// Les effectifs d'ambassadeurs par niveau de classe ; ils remplacent les précédents.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CohortCountsInput {
    /// Nombre d'ambassadeurs par niveau, pour les niveaux du type de cohorte seulement :
    /// cm1, cm2 (petits ambassadeurs) ; 6e, 5e, 4e, 3e (collège) ; 2nde, 1re, tle
    /// (lycée) ; parents (cohorte de parents).
    #[schema(example = json!({"6e": 3, "5e": 4, "4e": 2, "3e": 1}))]
    pub counts: BTreeMap<String, u32>,
}

/// `PUT /api/v1/cohorts/{id}/counts`
#[utoipa::path(put, path = "/api/v1/cohorts/{id}/counts", tag = "cohorts",
    operation_id = "cohorts_set_counts",
    summary = "Enregistrer les effectifs de la cohorte",
    description = "Les effectifs par niveau remplacent les précédents, à tout moment avant la \
                   clôture. Moins de 10 élèves ambassadeurs dans un collège ou un lycée est \
                   signalé, jamais refusé.",
    request_body = CohortCountsInput,
    params(("id" = Uuid, Path, description = "Identifiant de la cohorte")),
    responses(
        (status = 200, description = "Effectifs enregistrés", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Cohorte inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cohorte close, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Niveau inconnu ou absent de ce type de cohorte, effectif négatif ou invraisemblable", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_counts(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<CohortCountsInput>,
) -> Result<impl IntoResponse, Problem> {
    let counts = input::counts(&body.counts)?;
    let command = CohortCommand::SetCounts(counts);
    let done = run(
        &state,
        &index,
        &actor,
        id,
        command,
        if_match,
        &mut Vec::new(),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// `POST /api/v1/cohorts/{id}/declare`
#[utoipa::path(post, path = "/api/v1/cohorts/{id}/declare", tag = "cohorts",
    operation_id = "cohorts_declare",
    summary = "Déclarer la cohorte au pôle",
    description = "La cohorte brouillon, avec ses effectifs, est déclarée : ses élèves \
                   ambassadeurs comptent dès lors pour pHARe. Avec une formation déjà \
                   enregistrée, elle est aussitôt formée.",
    params(("id" = Uuid, Path, description = "Identifiant de la cohorte")),
    responses(
        (status = 200, description = "Cohorte déclarée", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Cohorte inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cohorte déjà déclarée ou close, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Aucun ambassadeur compté", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn declare(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    let command = CohortCommand::Declare;
    let done = run(
        &state,
        &index,
        &actor,
        id,
        command,
        if_match,
        &mut Vec::new(),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// `POST /api/v1/cohorts/{id}/activate`
#[utoipa::path(post, path = "/api/v1/cohorts/{id}/activate", tag = "cohorts",
    operation_id = "cohorts_activate",
    summary = "Activer la cohorte formée",
    description = "Une cohorte devient active une fois déclarée et formée (une formation \
                   enregistrée).",
    params(("id" = Uuid, Path, description = "Identifiant de la cohorte")),
    responses(
        (status = 200, description = "Cohorte active", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Cohorte inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cohorte non déclarée, sans formation enregistrée (training-missing), déjà active ou close, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn activate(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    let command = CohortCommand::Activate;
    let done = run(
        &state,
        &index,
        &actor,
        id,
        command,
        if_match,
        &mut Vec::new(),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// `POST /api/v1/cohorts/{id}/close`
#[utoipa::path(post, path = "/api/v1/cohorts/{id}/close", tag = "cohorts",
    operation_id = "cohorts_close",
    summary = "Clore la cohorte",
    description = "La cohorte close ne change plus ; les prénoms de sa liste nominative sont \
                   effacés (« donnée effacée »).",
    params(("id" = Uuid, Path, description = "Identifiant de la cohorte")),
    responses(
        (status = 200, description = "Cohorte close", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Cohorte inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cohorte déjà close, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    let mut pupils = Vec::new();
    let command = CohortCommand::Close;
    let done = run(&state, &index, &actor, id, command, if_match, &mut pupils).await?;
    erase_pupils(
        &state,
        &actor,
        pupils,
        "Clôture de la cohorte d'ambassadeurs : prénoms des élèves effacés.",
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// Une formation suivie par le référent ou les ambassadeurs de la cohorte : soit une
/// session de formation enregistrée dans Pharos (`session_id`), soit une formation
/// donnée par ailleurs (`held_on`, `minutes` et `title`) ; l'un ou l'autre.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CohortTrainingInput {
    /// Identifiant d'une session de formation tenue (commencée) et non annulée.
    #[serde(default)]
    pub session_id: Option<Uuid>,
    /// Date de la formation, pas dans le futur.
    #[serde(default)]
    pub held_on: Option<NaiveDate>,
    /// Durée de la formation, en minutes.
    #[serde(default)]
    pub minutes: Option<u32>,
    /// Intitulé de la formation (200 caractères au plus).
    #[serde(default)]
    #[schema(example = "Formation des élèves ambassadeurs")]
    pub title: Option<String>,
}

impl CohortTrainingInput {
    /// The entry's fields, each required; `None` for a session.
    fn entry(&self) -> Result<Option<(NaiveDate, u32, String)>, Rejection> {
        let given = self.held_on.is_some() || self.minutes.is_some() || self.title.is_some();
        match (self.session_id, given) {
            (Some(_), true) | (None, false) => Err(Rejection::invalid(
                "training-source",
                "session_id",
                "Indiquez soit une session de formation (son identifiant), soit une formation \
                 donnée par ailleurs (sa date, sa durée et son intitulé) : l'une ou l'autre.",
            )),
            (Some(_), false) => Ok(None),
            (None, true) => {
                let missing = |field: &'static str, what: &str| {
                    Rejection::invalid(
                        "training-entry-incomplete",
                        field,
                        format!("Une formation donnée par ailleurs s'enregistre avec {what}."),
                    )
                };
                let held_on = self.held_on.ok_or_else(|| missing("held_on", "sa date"))?;
                let minutes = self
                    .minutes
                    .ok_or_else(|| missing("minutes", "sa durée en minutes"))?;
                let title = self
                    .title
                    .clone()
                    .ok_or_else(|| missing("title", "son intitulé"))?;
                Ok(Some((held_on, minutes, title)))
            }
        }
    }
}

/// `POST /api/v1/cohorts/{id}/trainings`
#[utoipa::path(post, path = "/api/v1/cohorts/{id}/trainings", tag = "cohorts",
    operation_id = "cohorts_record_training",
    summary = "Enregistrer une formation de la cohorte",
    description = "Une session de formation de Pharos (elle doit exister, ne pas être annulée \
                   et avoir commencé ; la présence du référent y est relevée), ou une formation \
                   donnée par ailleurs. Une cohorte déclarée devient ainsi formée.",
    request_body = CohortTrainingInput,
    params(("id" = Uuid, Path, description = "Identifiant de la cohorte")),
    responses(
        (status = 201, description = "Formation enregistrée : id est celui de l'entrée", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Cohorte inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Session déjà enregistrée, cohorte close, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Session inconnue, annulée ou pas encore tenue ; formation incomplète, future ou trop ancienne ; session et formation données ensemble", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn record_training(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    Extension(sessions): Extension<Sessions>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<CohortTrainingInput>,
) -> Result<impl IntoResponse, Problem> {
    let (_, cohort, _) = reachable(&state, &actor, id).await?;
    let training = match (body.entry()?, body.session_id) {
        (Some((held_on, minutes, title)), _) => TrainingInput::Entry {
            held_on,
            minutes,
            title,
        },
        (None, Some(session_id)) => {
            let referent = cohort
                .referent
                .as_ref()
                .map_or(PersonId(Uuid::nil()), |r| r.email.person);
            let facts = sessions::find(&sessions, &state.app.store, session_id, referent).await?;
            TrainingInput::Session { session_id, facts }
        }
        (None, None) => return Err(Problem::internal()),
    };
    let entry_id = Uuid::now_v7();
    let command = CohortCommand::RecordTraining { entry_id, training };
    let done = run(
        &state,
        &index,
        &actor,
        id,
        command,
        if_match,
        &mut Vec::new(),
    )
    .await?;
    Ok(Created {
        id: entry_id,
        version: done.version,
    })
}

/// Un élève de la liste nominative (pour les certificats d'ambassadeurs) : son prénom,
/// l'initiale de son nom et sa classe. Prénom et initiale sont chiffrés, et effacés à la
/// clôture de la cohorte ou au plus tard le 31 août de son année scolaire.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = CohortPupilInput)]
pub struct PupilInput {
    /// Prénom (50 caractères au plus).
    #[schema(example = "Lina")]
    pub first_name: String,
    /// Initiale du nom : une seule lettre.
    #[schema(example = "B")]
    pub initial: String,
    /// Niveau de classe, parmi ceux du type de cohorte.
    #[schema(value_type = ClassLevel, example = "6e")]
    pub class_level: String,
}

/// `PUT /api/v1/cohorts/{id}/names`
#[utoipa::path(put, path = "/api/v1/cohorts/{id}/names", tag = "cohorts",
    operation_id = "cohorts_set_names",
    summary = "Enregistrer la liste nominative des élèves ambassadeurs",
    description = "Facultative, pour les certificats d'ambassadeurs : prénom, initiale du nom et \
                   classe de chaque élève, une fois chacun. Elle remplace la précédente (dont les \
                   prénoms sont effacés) ; elle n'apparaît dans aucune liste et ses prénoms sont \
                   effacés à la clôture de la cohorte, au plus tard le 31 août de son année \
                   scolaire. Pas de liste nominative pour une cohorte de parents.",
    request_body = [PupilInput],
    params(("id" = Uuid, Path, description = "Identifiant de la cohorte")),
    responses(
        (status = 200, description = "Liste enregistrée", body = pharos_web::Versioned),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Cohorte inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cohorte close, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Élève en double, prénom ou initiale refusés, niveau absent de ce type de cohorte, cohorte de parents", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_names(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<Vec<PupilInput>>,
) -> Result<impl IntoResponse, Problem> {
    let (_, cohort, _) = reachable(&state, &actor, id).await?;
    let pupils = body
        .iter()
        .map(|p| Pupil::parse(&p.first_name, &p.initial, &p.class_level))
        .collect::<Result<Vec<_>, _>>()?;
    // Decided once before any pupil is registered in the vault.
    let unsealed = pupils
        .iter()
        .map(|p| {
            let name = PupilName {
                first_name: not_sealed_yet(),
                initial: not_sealed_yet(),
                class_level: p.class_level,
            };
            (p.clone(), name)
        })
        .collect();
    let now = state.clock.now();
    Cohort::decide(&CohortCommand::SetNames(unsealed), &cohort, now)?;
    let year = cohort.identity.as_ref().map_or_else(
        || SchoolYear::containing(pharos_domain::today_in_france(now)),
        |i| i.school_year,
    );
    // One person per pupil and list, held until the end of the cohort's school year,
    // stored in the list's commit.
    let subject = format!("{CATEGORY}-{id}");
    let mut sealed = Vec::with_capacity(pupils.len());
    let mut companions = Vec::with_capacity(2 * pupils.len());
    for pupil in pupils {
        let key = format!("eleve-{}@ambassadeurs.invalid", Uuid::now_v7());
        let vault = &state.vault;
        let (person, new) = vault.person_in_commit(&key).await.map_err(Problem::from)?;
        companions.extend(new);
        companions.push(
            vault
                .hold_in_commit(person, &subject, "pupil_name", Some(start_of(year)))
                .map_err(Problem::from)?,
        );
        let initial = pupil.initial.to_string();
        let mut fields = vault
            .seal_all(&[
                (person, pupil.first_name.as_str()),
                (person, initial.as_str()),
            ])
            .await
            .map_err(Problem::from)?
            .into_iter();
        let (Some(first_name), Some(initial)) = (fields.next(), fields.next()) else {
            return Err(Problem::internal());
        };
        let name = PupilName {
            first_name,
            initial,
            class_level: pupil.class_level,
        };
        sealed.push((pupil, name));
    }
    let mut replaced = Vec::new();
    let command = CohortCommand::SetNames(sealed);
    let done = run_attached(
        &state,
        &index,
        &actor,
        id,
        command,
        &companions,
        if_match,
        &mut replaced,
    )
    .await?;
    erase_pupils(
        &state,
        &actor,
        replaced,
        "Liste nominative des ambassadeurs remplacée : prénoms de l'ancienne liste effacés.",
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// Une personne nommée, en clair (« donnée effacée » une fois ses données effacées).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CohortReferentView)]
pub struct ReferentView {
    /// Nom affiché.
    #[schema(example = "Camille Martin")]
    pub display_name: String,
    /// Adresse électronique.
    #[schema(example = "camille.martin@ac-toulouse.fr")]
    pub email: String,
}

/// Un élève de la liste nominative, en clair (« donnée effacée » une fois effacé).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CohortPupilView)]
pub struct PupilView {
    /// Prénom.
    #[schema(example = "Lina")]
    pub first_name: String,
    /// Initiale du nom.
    #[schema(example = "B")]
    pub initial: String,
    /// Niveau de classe.
    pub class_level: ClassLevel,
}

/// Une formation suivie par la cohorte.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CohortTrainingView)]
pub struct TrainingView {
    /// Identifiant de l'entrée.
    pub id: Uuid,
    /// La session de formation de Pharos, le cas échéant.
    pub session_id: Option<Uuid>,
    /// Date de la formation (début de la session).
    pub held_on: NaiveDate,
    /// Durée de la formation, en minutes (prévue, pour une session).
    pub minutes: u32,
    /// Intitulé de la formation.
    pub title: String,
    /// Pour une session : minutes de présence relevées pour le référent de la cohorte.
    pub referent_minutes: Option<u32>,
}

/// Une cohorte d'ambassadeurs, avec son référent et sa liste nominative en clair.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CohortView {
    /// Identifiant de la cohorte.
    pub id: Uuid,
    /// UAI de l'établissement.
    #[schema(value_type = String, example = "0310001H")]
    pub school_uai: Uai,
    /// Département de l'établissement.
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    /// Année scolaire.
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// Type de cohorte.
    pub kind: CohortKind,
    /// État de la cohorte.
    pub state: CohortStatus,
    /// Nombre d'ambassadeurs par niveau de classe.
    #[schema(value_type = BTreeMap<String, u32>, example = json!({"6e": 3, "5e": 4}))]
    pub counts: BTreeMap<ClassLevel, u32>,
    /// Nombre d'ambassadeurs, tous niveaux confondus.
    pub total: u32,
    /// Cohorte d'élèves de collège ou de lycée de moins de 10 ambassadeurs : signalé,
    /// jamais refusé.
    pub below_ten_ambassadors: bool,
    /// Ce qui mérite attention, en clair.
    pub warnings: Vec<String>,
    /// L'adulte référent.
    pub referent: ReferentView,
    /// Les formations suivies.
    pub trainings: Vec<TrainingView>,
    /// La liste nominative (facultative).
    pub names: Vec<PupilView>,
    /// Date de déclaration au pôle.
    pub declared_on: Option<NaiveDate>,
    /// Date d'activation.
    pub activated_on: Option<NaiveDate>,
    /// Date de clôture.
    pub closed_on: Option<NaiveDate>,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

/// `GET /api/v1/cohorts/{id}`: the cohort with its referent's and pupils' names, a
/// nominative read logged for each person shown.
#[utoipa::path(get, path = "/api/v1/cohorts/{id}", tag = "cohorts",
    operation_id = "cohorts_get",
    summary = "Lire une cohorte d'ambassadeurs",
    description = "La cohorte, son état, ses effectifs et leur total, ce qui mérite attention \
                   (moins de 10 élèves ambassadeurs dans un collège ou un lycée), ses formations, \
                   son référent et sa liste nominative en clair : chaque personne affichée fait \
                   l'objet d'une lecture nominative consignée.",
    params(("id" = Uuid, Path, description = "Identifiant de la cohorte")),
    responses(
        (status = 200, description = "La cohorte", body = CohortView),
        (status = 403, description = "Hors du périmètre", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Cohorte inconnue", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (_, cohort, version) = reachable(&state, &actor, id).await?;
    let (Some(identity), Some(referent)) = (&cohort.identity, &cohort.referent) else {
        return Err(Problem::not_found());
    };
    let mut sealed: Vec<&Sealed> = vec![&referent.display_name, &referent.email];
    for pupil in &cohort.pupils {
        sealed.extend([&pupil.first_name, &pupil.initial]);
    }
    let vault = &state.vault;
    let values = vault.unseal_all(&sealed).await.map_err(Problem::from)?;
    let mut seen = HashSet::new();
    let people: Vec<PersonId> = sealed
        .iter()
        .map(|s| s.person)
        .filter(|p| seen.insert(*p))
        .collect();
    // A referent reading their own cohort reads nobody else's data through them.
    for person in people.into_iter().filter(|p| p.0 != actor.user_id) {
        vault
            .log_read(
                &actor.metadata(NAME),
                person,
                "/api/v1/cohorts/{id}",
                "cohorts",
            )
            .await
            .map_err(Problem::from)?;
    }
    let mut values = values.into_iter().map(|v| v.to_string());
    let mut next = || values.next().unwrap_or_default();
    let referent = ReferentView {
        display_name: next(),
        email: next(),
    };
    let names = cohort
        .pupils
        .iter()
        .map(|p| PupilView {
            first_name: next(),
            initial: next(),
            class_level: p.class_level,
        })
        .collect();
    Ok(axum::Json(CohortView {
        id,
        school_uai: identity.school_uai.clone(),
        department: identity.department.clone(),
        school_year: identity.school_year,
        kind: identity.kind,
        state: cohort.status,
        counts: cohort.counts.clone(),
        total: cohort.total(),
        below_ten_ambassadors: cohort.below_ten(),
        warnings: cohort.warnings(),
        referent,
        trainings: cohort
            .trainings
            .iter()
            .map(|t| TrainingView {
                id: t.entry_id,
                session_id: t.session_id,
                held_on: t.held_on,
                minutes: t.minutes,
                title: t.title.clone(),
                referent_minutes: t.referent_minutes,
            })
            .collect(),
        names,
        declared_on: cohort.declared_on,
        activated_on: cohort.activated_on,
        closed_on: cohort.closed_on,
        version,
    }))
}
