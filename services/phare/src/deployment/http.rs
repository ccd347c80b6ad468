//! The deployment routes: request and answer shapes (documented in French for the
//! OpenAPI document), authorisation on the deployment's owner, and the handlers that
//! run the decider's commands.

use std::borrow::Cow;
use std::collections::HashSet;

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime};
use pharos_access::{Action, Actor, IfMatch, Scope, Subject, TargetState};
use pharos_decider::{Decider, Rejection, execute_attached, load, sentence};
use pharos_domain::compliance;
use pharos_events::cohort::CohortKind;
use pharos_events::phare::{
    DEPLOYMENT_CATEGORY, DeploymentEvent, DeploymentOwner, ProtocolBody, SchoolYear, TeamFunction,
    TeamMember,
};
use pharos_events::{Academy, DepartmentCode, Role, Uai};
use pharos_eventstore::{Companions, StreamId};
use pharos_privacy::{PersonId, Sealed};
use pharos_web::{Created, Json, Path, Problem, Query, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::decider::{
    CarryOver, Deployment, DeploymentCommand, DeploymentState, LearningHours, MemberChanges,
    Protocol, Workshop, check_function, deployment_id,
};
use crate::NAME;
use crate::ambassadors::{Ambassadors, AmbassadorsFlag};
use crate::answer::{Failed, OwnerFilter, existing, page};
use crate::evidence::{Attended, Evidence};
use crate::index::Index;
use crate::input::{self, PersonInput};
use crate::places;

pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(DEPLOYMENT_CATEGORY, id)?)
}

/// What a deployment is about, for the scope table.
fn subject(owner: &DeploymentOwner) -> Subject<'_> {
    match owner {
        DeploymentOwner::School { uai, department } => Subject::School { uai, department },
        DeploymentOwner::Circonscription { department, .. } => Subject::Department(department),
    }
}

/// Un nouveau déploiement : soit un établissement (`school_uai`), soit une circonscription
/// (`circonscription` et `department`) pour l'équipe ressource des écoles ; l'un des deux,
/// pas les deux.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewDeployment {
    /// Année scolaire, de pHARe (2019-2020) à l'année suivant l'année en cours.
    #[schema(example = "2026-2027")]
    pub school_year: String,
    /// UAI de l'établissement, ouvert et enregistré dans le répertoire.
    #[serde(default)]
    #[schema(example = "0310001H")]
    pub school_uai: Option<String>,
    /// Circonscription, telle que l'écrit le répertoire des établissements (casse et
    /// espaces indifférents).
    #[serde(default)]
    #[schema(example = "Toulouse Nord")]
    pub circonscription: Option<String>,
    /// Département de la circonscription ; ignoré pour un établissement.
    #[serde(default)]
    #[schema(example = "31")]
    pub department: Option<String>,
    /// Reprendre de l'année précédente (même établissement ou circonscription) l'équipe
    /// ressource, le coordonnateur et le protocole, à confirmer : oui par défaut.
    #[serde(default)]
    pub carry_over: Option<bool>,
}

/// Whose deployment a request names, before looking it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerChoice {
    School(Uai),
    Circonscription {
        name: String,
        department: DepartmentCode,
    },
}

impl NewDeployment {
    pub fn check(&self, academy: &Academy) -> Result<(SchoolYear, OwnerChoice), Rejection> {
        let school_year = input::school_year(&self.school_year)?;
        let school = input::trimmed(self.school_uai.as_deref());
        let circonscription = input::trimmed(self.circonscription.as_deref());
        let choice = match (school, circonscription) {
            (Some(uai), None) => OwnerChoice::School(input::uai("school_uai", &uai)?),
            (None, Some(name)) => {
                let department = input::trimmed(self.department.as_deref()).ok_or_else(|| {
                    Rejection::invalid(
                        "department-missing",
                        "department",
                        "Le déploiement d'une circonscription indique son département (ex. 31).",
                    )
                })?;
                let department = academy.department(&department).map_err(|e| {
                    Rejection::invalid("invalid-department", "department", sentence(&e.0))
                })?;
                OwnerChoice::Circonscription { name, department }
            }
            (None, None) => {
                return Err(Rejection::invalid(
                    "deployment-owner",
                    "school_uai",
                    "Un déploiement concerne un établissement (son UAI) ou une circonscription \
                     (son nom et son département) : aucun des deux n'est indiqué.",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(Rejection::invalid(
                    "deployment-owner",
                    "school_uai",
                    "Un déploiement concerne soit un établissement (son UAI), soit une \
                     circonscription (son nom et son département) : l'un des deux, pas les deux.",
                ));
            }
        };
        Ok((school_year, choice))
    }
}

/// `POST /api/v1/phare/deployments`
#[utoipa::path(post, path = "/api/v1/phare/deployments", tag = "phare",
    operation_id = "phare_create_deployment",
    summary = "Créer un déploiement pHARe",
    description = "Un déploiement par établissement (ou circonscription) et par année scolaire. \
                   Sauf carry_over: false, il reprend de l'année précédente l'équipe ressource, \
                   le coordonnateur et le protocole, marqués « à confirmer ».",
    request_body = NewDeployment,
    responses(
        (status = 201, description = "Déploiement créé", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre (l'établissement, les référents de son département, le pôle)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Un déploiement existe déjà pour ce propriétaire et cette année : son identifiant dans existing_id, son adresse dans Location", body = pharos_web::Problem, content_type = "application/problem+json",
            headers(("Location" = String, description = "Adresse du déploiement existant"))),
        (status = 422, description = "Valeur refusée (année hors période, UAI invalide, établissement inconnu ou fermé, circonscription inconnue, propriétaire ambigu)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Json(body): Json<NewDeployment>,
) -> Result<Response, Problem> {
    let (school_year, choice) = body.check(&state.access.academy)?;
    let mut school_name = None;
    let owner = match choice {
        OwnerChoice::School(uai) => {
            let found = places::school(&state.access, &uai).await?;
            let school = places::open_school("school_uai", &uai, found)?;
            school_name = Some(school.name);
            DeploymentOwner::School {
                uai,
                department: school.department,
            }
        }
        OwnerChoice::Circonscription { name, department } => {
            // Scope first: an unknown circonscription makes the lookup wait for the
            // school projection, which only an actor of that department should cause.
            actor.may(Action::ManageDeployment, Subject::Department(&department))?;
            let schools =
                places::schools_for_circonscription(&state.access, &name, &department).await?;
            DeploymentOwner::Circonscription {
                circonscription: places::circonscription(&name, &department, &schools)?,
                department,
            }
        }
    };
    actor.may(Action::ManageDeployment, subject(&owner))?;
    let id = deployment_id(&owner, school_year);
    // What the same owner's deployment of the year before offers, copied to confirm.
    let carry_over = if body.carry_over == Some(false) {
        None
    } else {
        let previous = deployment_id(&owner, school_year.previous());
        let (previous, _) = load::<Deployment>(&state.app.store, &stream(previous)?).await?;
        (previous.owner.is_some() && previous.school_year == Some(school_year.previous()))
            .then(|| CarryOver::of(&previous))
    };
    let command = DeploymentCommand::Create {
        owner,
        school_year,
        carry_over,
        school_name,
    };
    let done = match execute_attached::<Deployment, Failed>(
        &state.app.store,
        &stream(id)?,
        state.clock.now(),
        None,
        &actor.metadata(NAME),
        |deployment| {
            let holds = staff_holds(&state, id, deployment, &command, Vec::new())?;
            Ok((Cow::Borrowed(&command), holds))
        },
    )
    .await
    {
        Ok(done) => done,
        Err(Failed::Rejected(rejection)) if rejection.rule == "deployment-exists" => {
            return Err(existing(rejection, id, &format!("{PATH}/{id}")));
        }
        Err(failed) => return Err(failed.into()),
    };
    // Written through, so that this process lists it at once.
    index.update(|index| {
        for event in &done.events {
            index.note_deployment(id, event);
        }
    });
    Ok(Created {
        id,
        version: done.version,
    }
    .into_response())
}

/// Où les déploiements se lisent.
const PATH: &str = "/api/v1/phare/deployments";

/// Un déploiement dans une liste : de quoi l'ouvrir, son état et sa conformité à la date
/// du jour (sans les élèves ambassadeurs ni les noms, à lire sur le déploiement).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeploymentSummary {
    /// Identifiant du déploiement.
    pub id: Uuid,
    /// Année scolaire du déploiement.
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// UAI de l'établissement ; absent pour une circonscription.
    #[schema(value_type = Option<String>, example = "0310001H")]
    pub school_uai: Option<Uai>,
    /// Circonscription ; absente pour un établissement.
    pub circonscription: Option<String>,
    /// Département de l'établissement ou de la circonscription.
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    /// État du déploiement à la date du jour.
    pub status: DeploymentStatusView,
    /// Quelque chose de repris de l'année précédente reste à confirmer.
    pub carry_over_to_confirm: bool,
    /// Conformité au cahier des charges à la date du jour, comme sur le déploiement
    /// (une école jugée sur l'équipe ressource et le coordonnateur de sa circonscription).
    pub compliance: compliance::Compliance,
}

impl DeploymentSummary {
    fn of(
        id: Uuid,
        owner: &DeploymentOwner,
        school_year: SchoolYear,
        deployment: &DeploymentState,
        flags: compliance::Compliance,
        today: NaiveDate,
    ) -> Self {
        let (school_uai, circonscription) = match owner {
            DeploymentOwner::School { uai, .. } => (Some(uai.clone()), None),
            DeploymentOwner::Circonscription {
                circonscription, ..
            } => (None, Some(circonscription.clone())),
        };
        Self {
            id,
            school_year,
            school_uai,
            circonscription,
            department: owner.department().clone(),
            status: deployment.status(today).into(),
            carry_over_to_confirm: deployment.carry_over_to_confirm(),
            compliance: flags,
        }
    }
}

/// The list item of deployment `id` on `today`, read from its stream; `None` when there
/// is no such deployment.
async fn summarise(
    state: &TargetState,
    id: Uuid,
    today: NaiveDate,
) -> Result<Option<DeploymentSummary>, Problem> {
    let (deployment, _) = load::<Deployment>(&state.app.store, &stream(id)?).await?;
    let (Some(owner), Some(year)) = (&deployment.owner, deployment.school_year) else {
        return Ok(None);
    };
    let judged = compliance_of(state, owner, year, &deployment, today).await?;
    Ok(Some(DeploymentSummary::of(
        id,
        owner,
        year,
        &deployment,
        judged.flags,
        today,
    )))
}

/// Une page de déploiements : l'année la plus récente d'abord, puis par département et
/// établissement (ou circonscription).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeploymentList {
    /// Les déploiements de la page.
    pub items: Vec<DeploymentSummary>,
    /// Nombre de déploiements répondant au filtre, toutes pages confondues.
    pub total: usize,
}

/// Whose lists an actor may ask for at all: the roles of `action`, each within its
/// scope (the items are then filtered by scope one by one).
pub(crate) fn may_list(actor: &Actor, action: Action) -> Result<(), Problem> {
    // Allowed when one role held (primary or grant) may; else the primary's refusal.
    let allowed = |role: Role, scope: &Scope| match scope {
        Scope::Department(department) => actor.may(action, Subject::Department(department)),
        Scope::School(_) if role == Role::School => Ok(()),
        _ => actor.may(action, Subject::Academy),
    };
    if actor
        .held()
        .any(|(role, scope)| allowed(role, scope).is_ok())
    {
        return Ok(());
    }
    allowed(actor.role, &actor.scope)?;
    Ok(())
}

/// Every school year a deployment or label may concern on `today`, the latest first.
pub(crate) fn every_year(today: NaiveDate) -> Vec<SchoolYear> {
    let mut year = SchoolYear::containing(today).next();
    let mut years = Vec::new();
    while year.start_year() >= crate::FIRST_PHARE_YEAR {
        years.push(year);
        if year.previous() == year {
            break;
        }
        year = year.previous();
    }
    years
}

/// `GET /api/v1/phare/deployments?school_uai=&circonscription=&department=&school_year=`
#[utoipa::path(get, path = "/api/v1/phare/deployments", tag = "phare",
    operation_id = "phare_list_deployments",
    summary = "Trouver ses déploiements pHARe",
    description = "Les déploiements d'un établissement, d'une circonscription ou d'un \
                   département, d'une année ou de toutes, dans le périmètre de l'utilisateur \
                   (l'établissement : le sien, et pour une école celui de sa circonscription, \
                   en lecture ; le référent : son département ; le pôle : tous), avec l'état et \
                   la conformité de chacun à la date du jour. Paginée : 100 par page par \
                   défaut, 500 au plus (limit, offset).",
    params(OwnerFilter),
    responses(
        (status = 200, description = "Les déploiements", body = DeploymentList),
        (status = 403, description = "Hors du périmètre (établissement, circonscription ou département d'un autre)", body = pharos_web::Problem, content_type = "application/problem+json"),
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
    let owner = match (
        input::trimmed(filter.school_uai.as_deref()),
        input::trimmed(filter.circonscription.as_deref()),
    ) {
        (Some(_), Some(_)) => {
            return Err(Rejection::invalid(
                "deployment-owner",
                "school_uai",
                "Cherchez soit un établissement (son UAI), soit une circonscription (son nom \
                 et son département) : l'un des deux, pas les deux.",
            )
            .into());
        }
        (Some(text), None) => {
            let uai = input::uai("school_uai", &text)?;
            let found = places::school(&state.access, &uai).await?;
            let school = places::registered_school("school_uai", &uai, found)?;
            Some(DeploymentOwner::School {
                uai,
                department: school.department,
            })
        }
        (None, Some(name)) => {
            let department = department.clone().ok_or_else(|| {
                Rejection::invalid(
                    "department-missing",
                    "department",
                    "Une circonscription se cherche avec son département (ex. 31).",
                )
            })?;
            Some(DeploymentOwner::Circonscription {
                circonscription: name,
                department,
            })
        }
        (None, None) => None,
    };
    let today = pharos_domain::today_in_france(state.clock.now());
    // Found first (by owner and year), then each item of the page read from its stream.
    let mut found: Vec<(Uuid, DeploymentOwner, SchoolYear)> = Vec::new();
    let by_owner = owner.is_some();
    if let Some(owner) = owner {
        // The owner's streams themselves: what was just created is there. Its écoles
        // read a circonscription's.
        may_read(&state, &actor, &owner).await?;
        let years = year.map_or_else(|| every_year(today), |y| vec![y]);
        for year in years {
            found.push((deployment_id(&owner, year), owner.clone(), year));
        }
    } else {
        match &department {
            Some(department) => {
                actor.may(Action::ManageDeployment, Subject::Department(department))?;
            }
            None => may_list(&actor, Action::ManageDeployment)?,
        }
        let circonscriptions = if actor.holds(Role::School) {
            ecole_circonscriptions(&state, &actor).await?
        } else {
            Vec::new()
        };
        found = index.read(|index| {
            index
                .deployments
                .iter()
                .filter(|(_, d)| year.is_none_or(|y| d.school_year == y))
                .filter(|(_, d)| {
                    department
                        .as_ref()
                        .is_none_or(|x| d.owner.department() == x)
                })
                .filter(|(_, d)| {
                    actor
                        .may(Action::ManageDeployment, subject(&d.owner))
                        .is_ok()
                        || among(&circonscriptions, &d.owner)
                })
                .map(|(id, d)| (*id, d.owner.clone(), d.school_year))
                .collect()
        });
    }
    let key = |(_, owner, year): &(Uuid, DeploymentOwner, SchoolYear)| {
        let (uai, circonscription) = match owner {
            DeploymentOwner::School { uai, .. } => (Some(uai.clone()), None),
            DeploymentOwner::Circonscription {
                circonscription, ..
            } => (None, Some(circonscription.clone())),
        };
        (
            std::cmp::Reverse(*year),
            owner.department().clone(),
            uai,
            circonscription,
        )
    };
    found.sort_by_key(key);
    let mut items = Vec::new();
    let total = if by_owner {
        // The owner's years: only those that exist count.
        for (id, _, _) in &found {
            if let Some(item) = summarise(&state, *id, today).await? {
                items.push(item);
            }
        }
        let total = items.len();
        items = page(items, filter.limit, filter.offset).0;
        total
    } else {
        let (found, total) = page(found, filter.limit, filter.offset);
        for (id, _, _) in found {
            if let Some(item) = summarise(&state, id, today).await? {
                items.push(item);
            }
        }
        total
    };
    Ok(axum::Json(DeploymentList { items, total }))
}

/// The circonscriptions (department, name as the directory writes it) of the écoles
/// whose accounts the actor holds: their deployments are the actor's to read.
async fn ecole_circonscriptions(
    state: &TargetState,
    actor: &Actor,
) -> Result<Vec<(DepartmentCode, String)>, Problem> {
    let mut found = Vec::new();
    for (role, scope) in actor.held() {
        let (Role::School, Scope::School(uai)) = (role, scope) else {
            continue;
        };
        if let Some(school) = state.access.reference.school(uai).await?
            && school.kind.is_primary()
            && let Some(name) = school.circonscription
        {
            found.push((school.department, name));
        }
    }
    Ok(found)
}

/// Whether `owner` is one of `circonscriptions`.
fn among(circonscriptions: &[(DepartmentCode, String)], owner: &DeploymentOwner) -> bool {
    match owner {
        DeploymentOwner::Circonscription {
            circonscription,
            department,
        } => circonscriptions
            .iter()
            .any(|(d, c)| d == department && places::same_circonscription(c, circonscription)),
        DeploymentOwner::School { .. } => false,
    }
}

/// Whether the actor may read `owner`'s deployment: whoever manages it, and for a
/// circonscription the accounts of its écoles too (their resource team and coordinator
/// are its; they read it, they do not change it).
async fn may_read(
    state: &TargetState,
    actor: &Actor,
    owner: &DeploymentOwner,
) -> Result<(), Problem> {
    let Err(denied) = actor.may(Action::ManageDeployment, subject(owner)) else {
        return Ok(());
    };
    let DeploymentOwner::Circonscription {
        circonscription,
        department,
    } = owner
    else {
        return Err(denied.into());
    };
    if !actor.holds(Role::School) {
        return Err(denied.into());
    }
    if among(&ecole_circonscriptions(state, actor).await?, owner) {
        return Ok(());
    }
    Err(Problem::new(
        axum::http::StatusCode::FORBIDDEN,
        "forbidden",
        "Action non autorisée",
        format!(
            "Le déploiement de la circonscription {circonscription} ({department}) est hors de \
             votre périmètre : seuls le pôle, les référents du département {department} et les \
             écoles de cette circonscription le consultent."
        ),
    ))
}

/// The deployment behind a path id, once the actor is known to read it (its écoles read
/// a circonscription's).
async fn readable(
    state: &TargetState,
    actor: &Actor,
    id: Uuid,
) -> Result<(DeploymentState, i64), Problem> {
    let (deployment, version) = load::<Deployment>(&state.app.store, &stream(id)?).await?;
    let Some(owner) = &deployment.owner else {
        return Err(Problem::not_found());
    };
    may_read(state, actor, owner).await?;
    Ok((deployment, version))
}

/// The deployment behind a path id, once the actor is known to reach it.
async fn reachable(
    state: &TargetState,
    actor: &Actor,
    id: Uuid,
) -> Result<(StreamId, DeploymentState, i64), Problem> {
    let stream = stream(id)?;
    let (deployment, version) = load::<Deployment>(&state.app.store, &stream).await?;
    let Some(owner) = &deployment.owner else {
        return Err(Problem::not_found());
    };
    actor.may(Action::ManageDeployment, subject(owner))?;
    Ok((stream, deployment, version))
}

/// Runs a command on the deployment behind a path id, deciding on one load: 404 when
/// there is none, 403 when the actor does not reach its owner.
async fn run(
    state: &TargetState,
    actor: &Actor,
    id: Uuid,
    command: DeploymentCommand,
    new_people: Companions,
    if_match: IfMatch,
) -> Result<Versioned, Problem> {
    let done = execute_attached::<Deployment, Problem>(
        &state.app.store,
        &stream(id)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |deployment| {
            let owner = deployment.owner.as_ref().ok_or_else(Problem::not_found)?;
            actor.may(Action::ManageDeployment, subject(owner))?;
            let holds = staff_holds(state, id, deployment, &command, new_people.clone())?;
            Ok((Cow::Borrowed(&command), holds))
        },
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// `new_people` and the holds of the team members and coordinator that `command`'s
/// events name on `deployment`, to store in their commit. A deployment holds its staff's
/// names and addresses: the `phare_team_member` retention runs from its school year
/// (from now, when later), and each deployment naming them again holds them anew (a
/// carried-over team is held by the new year's).
fn staff_holds(
    state: &TargetState,
    id: Uuid,
    deployment: &DeploymentState,
    command: &DeploymentCommand,
    mut new_people: Companions,
) -> Result<Companions, Problem> {
    let now = state.clock.now();
    // The events the command is about to be decided into; a refusal is the executor's.
    let Ok(events) = Deployment::decide(command, deployment, now) else {
        return Ok(new_people);
    };
    let people: Vec<PersonId> = events
        .iter()
        .filter_map(|event| match event {
            DeploymentEvent::TeamMemberAdded(member) => Some(member.person.email.person),
            DeploymentEvent::CoordinatorNamed { person, .. } => Some(person.email.person),
            _ => None,
        })
        .collect();
    if people.is_empty() {
        return Ok(new_people);
    }
    let school_year = events
        .iter()
        .fold(deployment.school_year, |year, event| match event {
            DeploymentEvent::DeploymentCreated { school_year, .. } => Some(*school_year),
            _ => year,
        });
    let reference = school_year.map_or(now, |year| {
        now.max(year.first_day().and_time(NaiveTime::MIN).and_utc())
    });
    let subject = format!("phare_deployment-{id}");
    for person in people {
        let hold = state
            .vault
            .hold_in_commit(person, &subject, "phare_team_member", Some(reference))
            .map_err(Problem::from)?;
        new_people.push(hold);
    }
    Ok(new_people)
}

/// La charte d'engagement signée ; une signature ultérieure (renouvellement, correction)
/// la remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CharterInput {
    /// Date de signature : pas dans le futur, dans l'année scolaire du déploiement ou la
    /// précédente (une charte court deux années).
    pub signed_on: NaiveDate,
}

/// `POST /api/v1/phare/deployments/{id}/charter`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/charter", tag = "phare",
    operation_id = "phare_sign_charter",
    summary = "Enregistrer la charte signée",
    description = "Une signature ultérieure (renouvellement, correction) remplace la précédente.",
    request_body = CharterInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Charte enregistrée", body = pharos_web::Versioned),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Date refusée (future, ou hors des deux années que couvre la charte)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn sign_charter(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<CharterInput>,
) -> Result<impl IntoResponse, Problem> {
    let command = DeploymentCommand::SignCharter {
        signed_on: body.signed_on,
    };
    run(&state, &actor, id, command, Vec::new(), if_match).await
}

const FUNCTIONS: &[(&str, TeamFunction)] = &[
    ("enseignant", TeamFunction::Enseignant),
    ("cpe", TeamFunction::Cpe),
    ("aed", TeamFunction::Aed),
    ("infirmier", TeamFunction::Infirmier),
    ("assistant_social", TeamFunction::AssistantSocial),
    ("psyen", TeamFunction::Psyen),
    ("direction", TeamFunction::Direction),
    (
        "conseiller_pedagogique",
        TeamFunction::ConseillerPedagogique,
    ),
    ("ien", TeamFunction::Ien),
    ("medecin_scolaire", TeamFunction::MedecinScolaire),
    ("aesh", TeamFunction::Aesh),
    ("autre", TeamFunction::Autre),
];

/// Un nouveau membre de l'équipe ressource.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewTeamMember {
    /// Nom et adresse professionnelle du membre.
    pub person: PersonInput,
    /// Fonction dans l'établissement.
    #[schema(value_type = TeamFunction)]
    pub function: String,
    /// Nom de la fonction, pour la fonction « autre » seulement (100 caractères au plus).
    #[serde(default)]
    #[schema(example = "Éducateur spécialisé")]
    pub function_label: Option<String>,
    /// Formé à pHARe.
    pub trained: bool,
    /// Durée de formation, en minutes.
    #[serde(default)]
    pub training_minutes: u32,
    /// Formé à la méthode de la préoccupation partagée.
    #[serde(default)]
    pub mpp_trained: bool,
    /// UAI de l'établissement du membre : pour un établissement, lui-même (par défaut) ;
    /// pour une circonscription, l'une de ses écoles (absent pour les personnels de la
    /// circonscription).
    #[serde(default)]
    #[schema(example = "0310001H")]
    pub school_uai: Option<String>,
}

/// `POST /api/v1/phare/deployments/{id}/team-members`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/team-members", tag = "phare",
    operation_id = "phare_add_team_member",
    summary = "Ajouter un membre à l'équipe ressource",
    request_body = NewTeamMember,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 201, description = "Membre ajouté : id est l'identifiant du membre", body = pharos_web::Created),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Personne déjà dans l'équipe (même adresse), ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (fonction, nom, adresse, UAI, établissement hors du déploiement)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<NewTeamMember>,
) -> Result<impl IntoResponse, Problem> {
    // Authorised before anyone is registered in the vault.
    let (stream, _, _) = reachable(&state, &actor, id).await?;
    let function = input::choice("invalid-function", "function", &body.function, FUNCTIONS)?;
    let function_label = check_function(function, body.function_label.as_deref())?;
    body.person.check()?;
    let (school_uai, school) = match input::trimmed(body.school_uai.as_deref()) {
        None => (None, None),
        Some(text) => {
            let uai = input::uai("school_uai", &text)?;
            let found = places::school(&state.access, &uai).await?;
            let school = places::registered_school("school_uai", &uai, found)?;
            (Some(uai), Some(school))
        }
    };
    let (person, new_people) = body.person.seal(&state.vault).await?;
    let member = TeamMember {
        member_id: Uuid::now_v7(),
        person,
        function,
        trained: body.trained,
        training_minutes: body.training_minutes,
        mpp_trained: body.mpp_trained,
        school_uai,
        function_label,
        carried_over: false,
    };
    let member_id = member.member_id;
    let command = DeploymentCommand::AddMember { member, school };
    let done = execute_attached::<Deployment, Problem>(
        &state.app.store,
        &stream,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |deployment| {
            let holds = staff_holds(&state, id, deployment, &command, new_people.clone())?;
            Ok((Cow::Borrowed(&command), holds))
        },
    )
    .await?;
    Ok(Created {
        id: member_id,
        version: done.version,
    })
}

/// The parameters of a team member's address, by name: a malformed one is named in the
/// problem.
#[derive(Debug, Deserialize)]
pub struct MemberPath {
    id: Uuid,
    member_id: Uuid,
}

/// `DELETE /api/v1/phare/deployments/{id}/team-members/{member_id}`
#[utoipa::path(delete, path = "/api/v1/phare/deployments/{id}/team-members/{member_id}", tag = "phare",
    operation_id = "phare_remove_team_member",
    summary = "Retirer un membre de l'équipe ressource",
    params(
        ("id" = Uuid, Path, description = "Identifiant du déploiement"),
        ("member_id" = Uuid, Path, description = "Identifiant du membre"),
    ),
    responses(
        (status = 200, description = "Membre retiré", body = pharos_web::Versioned),
        (status = 404, description = "Déploiement inconnu, ou membre absent de l'équipe", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(state): State<TargetState>,
    actor: Actor,
    Path(MemberPath { id, member_id }): Path<MemberPath>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    let command = DeploymentCommand::RemoveMember { member_id };
    run(&state, &actor, id, command, Vec::new(), if_match).await
}

/// Ce qui change d'un membre de l'équipe en cours d'année : chaque champ donné remplace
/// la valeur du membre, les autres restent. La personne ne change pas (sinon, retirez-la
/// et ajoutez la nouvelle).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MemberUpdate {
    /// Fonction dans l'établissement.
    #[serde(default)]
    #[schema(value_type = Option<TeamFunction>)]
    pub function: Option<String>,
    /// Nom de la fonction « autre » (100 caractères au plus) ; sans lui, le nom reste
    /// tant que la fonction ne change pas.
    #[serde(default)]
    #[schema(example = "Éducateur spécialisé")]
    pub function_label: Option<String>,
    /// Formé à pHARe.
    #[serde(default)]
    pub trained: Option<bool>,
    /// Durée de formation, en minutes.
    #[serde(default)]
    pub training_minutes: Option<u32>,
    /// Formé à la méthode de la préoccupation partagée.
    #[serde(default)]
    pub mpp_trained: Option<bool>,
}

/// `PATCH /api/v1/phare/deployments/{id}/team-members/{member_id}`
#[utoipa::path(patch, path = "/api/v1/phare/deployments/{id}/team-members/{member_id}", tag = "phare",
    operation_id = "phare_update_team_member",
    summary = "Modifier un membre de l'équipe ressource",
    description = "Formé en cours d'année, durée de formation, méthode de la préoccupation \
                   partagée, fonction : sans retirer ni ajouter le membre. Modifier un membre \
                   repris de l'année précédente le confirme.",
    request_body = MemberUpdate,
    params(
        ("id" = Uuid, Path, description = "Identifiant du déploiement"),
        ("member_id" = Uuid, Path, description = "Identifiant du membre"),
    ),
    responses(
        (status = 200, description = "Membre modifié (ou inchangé)", body = pharos_web::Versioned),
        (status = 404, description = "Déploiement inconnu, ou membre absent de l'équipe", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (fonction, libellé de fonction manquant, inattendu ou trop long)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update_member(
    State(state): State<TargetState>,
    actor: Actor,
    Path(MemberPath { id, member_id }): Path<MemberPath>,
    if_match: IfMatch,
    Json(body): Json<MemberUpdate>,
) -> Result<impl IntoResponse, Problem> {
    let function = input::trimmed(body.function.as_deref())
        .map(|text| input::choice("invalid-function", "function", &text, FUNCTIONS))
        .transpose()?;
    let changes = MemberChanges {
        function,
        function_label: input::trimmed(body.function_label.as_deref()),
        trained: body.trained,
        training_minutes: body.training_minutes,
        mpp_trained: body.mpp_trained,
    };
    let command = DeploymentCommand::UpdateMember { member_id, changes };
    run(&state, &actor, id, command, Vec::new(), if_match).await
}

/// `POST /api/v1/phare/deployments/{id}/carry-over/confirm`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/carry-over/confirm", tag = "phare",
    operation_id = "phare_confirm_carry_over",
    summary = "Confirmer la reprise de l'année précédente",
    description = "L'équipe ressource, le coordonnateur et le protocole repris de l'année \
                   précédente sont confirmés tels qu'ils sont maintenant (retirez ou modifiez \
                   d'abord ce qui a changé).",
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Reprise confirmée", body = pharos_web::Versioned),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Rien à confirmer, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn confirm_carry_over(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
) -> Result<impl IntoResponse, Problem> {
    run(
        &state,
        &actor,
        id,
        DeploymentCommand::ConfirmCarryOver,
        Vec::new(),
        if_match,
    )
    .await
}

/// Le coordonnateur (référent harcèlement) ; une désignation ultérieure le remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CoordinatorInput {
    /// Nom et adresse professionnelle du coordonnateur.
    pub person: PersonInput,
}

/// `POST /api/v1/phare/deployments/{id}/coordinator`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/coordinator", tag = "phare",
    operation_id = "phare_name_coordinator",
    summary = "Désigner le coordonnateur",
    request_body = CoordinatorInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Coordonnateur désigné", body = pharos_web::Versioned),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nom ou adresse refusés", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn name_coordinator(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<CoordinatorInput>,
) -> Result<impl IntoResponse, Problem> {
    // Authorised before anyone is registered in the vault; checked again on the
    // deployment as it is decided on.
    reachable(&state, &actor, id).await?;
    let (person, new_people) = body.person.seal(&state.vault).await?;
    let command = DeploymentCommand::NameCoordinator { person };
    run(&state, &actor, id, command, new_people, if_match).await
}

const BODIES: &[(&str, ProtocolBody)] = &[
    (
        "conseil_administration",
        ProtocolBody::ConseilAdministration,
    ),
    ("conseil_ecole", ProtocolBody::ConseilEcole),
];

/// Le protocole de traitement ; un enregistrement ultérieur le remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProtocolInput {
    /// Date de formalisation (pas dans le futur).
    pub formalised_on: NaiveDate,
    /// Date de présentation (pas dans le futur, ni avant la formalisation).
    #[serde(default)]
    pub presented_on: Option<NaiveDate>,
    /// Instance devant laquelle le protocole est (ou sera) présenté : conseil
    /// d'administration pour un collège ou un lycée, conseil d'école pour une école ou
    /// une circonscription.
    #[schema(value_type = ProtocolBody)]
    pub presented_to: String,
}

/// `POST /api/v1/phare/deployments/{id}/protocol`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/protocol", tag = "phare",
    operation_id = "phare_record_protocol",
    summary = "Enregistrer le protocole de traitement",
    request_body = ProtocolInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Protocole enregistré", body = pharos_web::Versioned),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (date future, présentation avant formalisation, instance inconnue ou d'un autre degré : conseil d'administration pour un collège ou un lycée, conseil d'école pour une école ou une circonscription)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn record_protocol(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<ProtocolInput>,
) -> Result<impl IntoResponse, Problem> {
    let presented_to = input::choice(
        "invalid-protocol-body",
        "presented_to",
        &body.presented_to,
        BODIES,
    )?;
    // The school's kind tells the body its protocol goes to (checked by the decider).
    let (_, deployment, _) = reachable(&state, &actor, id).await?;
    let school_kind = match &deployment.owner {
        Some(DeploymentOwner::School { uai, .. }) => state
            .access
            .reference
            .school(uai)
            .await?
            .map(|school| school.kind),
        _ => None,
    };
    let command = DeploymentCommand::RecordProtocol {
        protocol: Protocol {
            formalised_on: body.formalised_on,
            presented_on: body.presented_on,
            presented_to,
        },
        school_kind,
    };
    run(&state, &actor, id, command, Vec::new(), if_match).await
}

/// Le plan des 10 heures d'apprentissage ; un plan ultérieur le remplace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LearningHoursInput {
    /// Heures planifiées.
    pub planned: bool,
    /// Nombre d'heures : au moins 1 si planifiées, 0 sinon ; 200 au plus.
    #[schema(example = 10)]
    pub hours: u32,
}

/// `POST /api/v1/phare/deployments/{id}/learning-hours`
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/learning-hours", tag = "phare",
    operation_id = "phare_plan_learning_hours",
    summary = "Planifier les heures d'apprentissage",
    request_body = LearningHoursInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Plan enregistré", body = pharos_web::Versioned),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nombre d'heures incohérent avec le plan, ou invraisemblable", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn plan_learning_hours(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<LearningHoursInput>,
) -> Result<impl IntoResponse, Problem> {
    let command = DeploymentCommand::PlanLearningHours(LearningHours {
        planned: body.planned,
        hours: body.hours,
    });
    run(&state, &actor, id, command, Vec::new(), if_match).await
}

/// Un atelier parents : daté à venir, il est programmé, et compte une fois son jour venu.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct WorkshopInput {
    /// Date, dans l'année scolaire du déploiement.
    pub held_on: NaiveDate,
    /// Nombre de participants, s'il est connu.
    #[serde(default)]
    pub participants: Option<u32>,
}

/// `POST /api/v1/phare/deployments/{id}/parent-workshops`: a workshop dated ahead is
/// scheduled, and counts once its day has come.
#[utoipa::path(post, path = "/api/v1/phare/deployments/{id}/parent-workshops", tag = "phare",
    operation_id = "phare_record_parent_workshop",
    summary = "Enregistrer un atelier parents",
    description = "Daté à venir, l'atelier est programmé : il compte pour la conformité une fois son jour venu.",
    request_body = WorkshopInput,
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 201, description = "Atelier enregistré : id est l'identifiant de l'atelier", body = pharos_web::Created),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Date hors de l'année scolaire du déploiement", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn record_parent_workshop(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<WorkshopInput>,
) -> Result<impl IntoResponse, Problem> {
    let workshop_id = Uuid::now_v7();
    let command = DeploymentCommand::RecordParentWorkshop(Workshop {
        workshop_id,
        held_on: body.held_on,
        participants: body.participants,
    });
    let Versioned { version } = run(&state, &actor, id, command, Vec::new(), if_match).await?;
    Ok(Created {
        id: workshop_id,
        version,
    })
}

/// État du déploiement, calculé à la date du jour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    as = DeploymentStatus,
    description = "État du déploiement, calculé à la date du jour : not_started (pas de charte), \
                   enrolled (charte signée, année scolaire pas encore commencée), active, \
                   renewal_due (dans les 60 jours avant la fin de la charte), expired (charte \
                   échue)."
)]
pub enum DeploymentStatusView {
    NotStarted,
    Enrolled,
    Active,
    RenewalDue,
    Expired,
}

impl From<compliance::DeploymentStatus> for DeploymentStatusView {
    fn from(status: compliance::DeploymentStatus) -> Self {
        use compliance::DeploymentStatus as S;
        match status {
            S::NotStarted => Self::NotStarted,
            S::Enrolled => Self::Enrolled,
            S::Active => Self::Active,
            S::RenewalDue => Self::RenewalDue,
            S::Expired => Self::Expired,
        }
    }
}

/// La charte d'engagement : elle court deux années scolaires entières à partir de celle où
/// elle prend effet (signée en juin pour l'année qui vient, elle prend effet en septembre),
/// et se renouvelle à partir de 60 jours avant sa fin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = CharterTerm)]
pub struct CharterTermView {
    /// Date de signature.
    pub signed_on: NaiveDate,
    /// Date de prise d'effet : la signature, ou le 1er septembre de l'année qui vient pour
    /// une charte signée à l'avance.
    pub takes_effect_on: NaiveDate,
    /// Fin de la charte : le 31 août de l'année scolaire suivant celle de sa prise d'effet.
    pub ends_on: NaiveDate,
    /// Date à partir de laquelle le renouvellement est attendu (60 jours avant la fin).
    pub renewal_due_from: NaiveDate,
}

impl From<compliance::CharterTerm> for CharterTermView {
    fn from(term: compliance::CharterTerm) -> Self {
        Self {
            signed_on: term.signed_on,
            takes_effect_on: term.takes_effect_on,
            ends_on: term.ends_on,
            renewal_due_from: term.renewal_due_from,
        }
    }
}

/// Le protocole de traitement des situations de harcèlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Protocol)]
pub struct ProtocolView {
    /// Date de formalisation.
    pub formalised_on: NaiveDate,
    /// Date de présentation à l'instance, si elle a eu lieu.
    pub presented_on: Option<NaiveDate>,
    /// Instance devant laquelle le protocole est (ou sera) présenté.
    pub presented_to: ProtocolBody,
}

impl From<Protocol> for ProtocolView {
    fn from(protocol: Protocol) -> Self {
        Self {
            formalised_on: protocol.formalised_on,
            presented_on: protocol.presented_on,
            presented_to: protocol.presented_to,
        }
    }
}

/// Les 10 heures d'apprentissage par élève et par année.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = LearningHours)]
pub struct LearningHoursView {
    /// Heures planifiées.
    pub planned: bool,
    /// Nombre d'heures planifiées (10 attendues).
    pub hours: u32,
}

impl From<LearningHours> for LearningHoursView {
    fn from(plan: LearningHours) -> Self {
        Self {
            planned: plan.planned,
            hours: plan.hours,
        }
    }
}

/// Un atelier parents, tenu ou (daté à venir) programmé.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Workshop)]
pub struct WorkshopView {
    /// Identifiant de l'atelier.
    pub workshop_id: Uuid,
    /// Date de l'atelier.
    pub held_on: NaiveDate,
    /// Nombre de participants, s'il est connu.
    pub participants: Option<u32>,
}

impl From<&Workshop> for WorkshopView {
    fn from(workshop: &Workshop) -> Self {
        Self {
            workshop_id: workshop.workshop_id,
            held_on: workshop.held_on,
            participants: workshop.participants,
        }
    }
}

/// Une personne nommée, en clair (« donnée effacée » une fois ses données effacées).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = StaffPersonView)]
pub struct PersonView {
    /// Nom affiché.
    #[schema(example = "Camille Martin")]
    pub display_name: String,
    /// Adresse électronique professionnelle.
    #[schema(example = "camille.martin@ac-toulouse.fr")]
    pub email: String,
}

/// Un membre de l'équipe ressource.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// Identifiant du membre dans l'équipe.
    pub member_id: Uuid,
    /// Nom et adresse du membre.
    pub person: PersonView,
    /// Fonction dans l'établissement.
    pub function: TeamFunction,
    /// Nom de la fonction « autre ».
    pub function_label: Option<String>,
    /// Formé à pHARe.
    pub trained: bool,
    /// Durée de formation, en minutes.
    pub training_minutes: u32,
    /// Formé à la méthode de la préoccupation partagée.
    pub mpp_trained: bool,
    /// UAI de l'établissement du membre, quand il est indiqué.
    #[schema(value_type = Option<String>, example = "0310001H")]
    pub school_uai: Option<Uai>,
    /// Repris de l'année précédente, à confirmer.
    pub carried_over: bool,
    /// Les formations pHARe auxquelles le membre a assisté, d'après les présences
    /// enregistrées : à rapprocher de « formé » (déclaré par l'établissement).
    pub training_evidence: TrainingEvidenceView,
}

/// Les formations pHARe suivies par une personne, d'après les présences enregistrées.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[schema(as = TrainingEvidence)]
pub struct TrainingEvidenceView {
    /// Minutes suivies de formations des équipes ressources.
    pub team_minutes: u32,
    /// Minutes suivies de formations à la méthode de la préoccupation partagée.
    pub mpp_minutes: u32,
}

impl From<Attended> for TrainingEvidenceView {
    fn from(attended: Attended) -> Self {
        Self {
            team_minutes: attended.team_minutes,
            mpp_minutes: attended.mpp_minutes,
        }
    }
}

/// Un déploiement pHARe, avec les noms de son équipe.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeploymentView {
    /// Identifiant du déploiement.
    pub id: Uuid,
    /// Année scolaire du déploiement.
    #[schema(value_type = String, example = "2026-2027")]
    pub school_year: SchoolYear,
    /// UAI de l'établissement ; absent pour une circonscription.
    #[schema(value_type = Option<String>, example = "0310001H")]
    pub school_uai: Option<Uai>,
    /// Circonscription ; absente pour un établissement.
    pub circonscription: Option<String>,
    /// Département de l'établissement ou de la circonscription.
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
    /// État du déploiement à la date du jour.
    pub status: DeploymentStatusView,
    /// La charte, une fois signée.
    pub charter: Option<CharterTermView>,
    /// L'équipe ressource.
    pub team: Vec<MemberView>,
    /// Le coordonnateur (référent harcèlement), une fois désigné.
    pub coordinator: Option<PersonView>,
    /// Le coordonnateur est repris de l'année précédente, à confirmer.
    pub coordinator_carried_over: bool,
    /// Le protocole de traitement, une fois enregistré.
    pub protocol: Option<ProtocolView>,
    /// Le protocole est repris de l'année précédente, à confirmer.
    pub protocol_carried_over: bool,
    /// Quelque chose de repris de l'année précédente reste à confirmer.
    pub carry_over_to_confirm: bool,
    /// Le plan des heures d'apprentissage, une fois enregistré.
    pub learning_hours: Option<LearningHoursView>,
    /// Les ateliers parents, tenus ou programmés.
    pub parent_workshops: Vec<WorkshopView>,
    /// Conformité au cahier des charges à la date du jour, et élèves ambassadeurs.
    pub compliance: DeploymentComplianceView,
    /// Avertissements en français, pour une école : sa circonscription sans déploiement
    /// cette année (son équipe ressource et son coordonnateur se lisent dans celui de sa
    /// circonscription), ses propres membres d'équipe ou coordonnateur, qui ne comptent
    /// pas dans sa conformité.
    pub warnings: Vec<String>,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

/// Conformité du déploiement au cahier des charges pHARe à la date du jour, et ses élèves
/// ambassadeurs d'après les cohortes déclarées de l'établissement (au moins 10 attendus
/// dans un collège ou un lycée) : des indications, jamais un motif de refus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = DeploymentCompliance)]
pub struct DeploymentComplianceView {
    #[serde(flatten)]
    pub flags: compliance::Compliance,
    #[serde(flatten)]
    pub ambassadors: AmbassadorsFlag,
}

/// The « 10 ambassadeurs » flag of a deployment: its school's pupil ambassadors of the
/// deployment's year, from the `cohorts` target's events (a circonscription has none).
pub(crate) async fn ambassadors_of(
    state: &TargetState,
    ambassadors: &Ambassadors,
    owner: &DeploymentOwner,
    year: SchoolYear,
) -> Result<AmbassadorsFlag, Problem> {
    let DeploymentOwner::School { uai, .. } = owner else {
        return Ok(AmbassadorsFlag::of(0, false));
    };
    let school = state.access.reference.school(uai).await?;
    let expected = school.is_some_and(|s| {
        CohortKind::for_school(s.kind)
            .iter()
            .any(|k| k.expects_ten())
    });
    Ok(AmbassadorsFlag::of(
        ambassadors.read(|a| a.of(uai, year)),
        expected,
    ))
}

/// What an école's deployment is judged by: its circonscription, as the directory names
/// it, and that circonscription's deployment of the same year when there is one.
#[derive(Debug, Clone)]
pub(crate) struct EcoleSide {
    pub circonscription: Option<String>,
    pub deployment: Option<(Uuid, DeploymentState)>,
}

/// A deployment's compliance flags, and for an école what they were judged by.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    pub flags: compliance::Compliance,
    pub ecole: Option<EcoleSide>,
}

/// For an école's deployment, its circonscription and that circonscription's deployment
/// of `year`; `None` for any other owner.
pub(crate) async fn ecole_side(
    state: &TargetState,
    owner: &DeploymentOwner,
    year: SchoolYear,
) -> Result<Option<EcoleSide>, Problem> {
    let DeploymentOwner::School { uai, department } = owner else {
        return Ok(None);
    };
    let school = state.access.reference.school(uai).await?;
    let Some(school) = school.filter(|s| s.kind.is_primary()) else {
        return Ok(None);
    };
    let deployment = match &school.circonscription {
        Some(name) => {
            let owner = DeploymentOwner::Circonscription {
                circonscription: name.clone(),
                department: department.clone(),
            };
            let id = deployment_id(&owner, year);
            let (found, _) = load::<Deployment>(&state.app.store, &stream(id)?).await?;
            found.owner.is_some().then_some((id, found))
        }
        None => None,
    };
    Ok(Some(EcoleSide {
        circonscription: school.circonscription,
        deployment,
    }))
}

/// A deployment's compliance on `today`: an école's team and coordinator are judged by
/// its circonscription's deployment of the same year, never by its own.
pub(crate) async fn compliance_of(
    state: &TargetState,
    owner: &DeploymentOwner,
    year: SchoolYear,
    deployment: &DeploymentState,
    today: NaiveDate,
) -> Result<Judged, Problem> {
    let ecole = ecole_side(state, owner, year).await?;
    let flags = match &ecole {
        Some(side) => {
            deployment.compliance_of_ecole(side.deployment.as_ref().map(|(_, d)| d), today)
        }
        None => deployment.compliance(today),
    };
    Ok(Judged { flags, ecole })
}

/// What an école's deployment view warns of: a circonscription without a deployment
/// that year (where its team and coordinator are read), and its own team members and
/// coordinator, which never count.
pub(crate) fn ecole_warnings(
    side: &EcoleSide,
    deployment: &DeploymentState,
    year: SchoolYear,
) -> Vec<String> {
    let mut warnings = Vec::new();
    match (&side.circonscription, &side.deployment) {
        (None, _) => warnings.push(
            "L'école n'est rattachée à aucune circonscription dans le répertoire des \
             établissements : son équipe ressource et son coordonnateur, qui se lisent dans le \
             déploiement de sa circonscription, ne peuvent pas être trouvés."
                .to_owned(),
        ),
        (Some(name), None) => warnings.push(format!(
            "La circonscription de {name} n'a pas encore de déploiement pHARe en {year} : \
             l'équipe ressource et le coordonnateur de l'école se lisent dans le sien."
        )),
        (Some(_), Some(_)) => {}
    }
    match deployment.team.len() {
        0 => {}
        1 => warnings.push(
            "Le membre de l'équipe enregistré par l'école ne compte pas dans sa conformité : \
             une école est jugée sur l'équipe ressource de sa circonscription."
                .to_owned(),
        ),
        n => warnings.push(format!(
            "Les {n} membres de l'équipe enregistrés par l'école ne comptent pas dans sa \
             conformité : une école est jugée sur l'équipe ressource de sa circonscription."
        )),
    }
    if deployment.coordinator.is_some() {
        warnings.push(
            "Le coordonnateur désigné par l'école ne compte pas dans sa conformité : c'est \
             celui de sa circonscription qui compte."
                .to_owned(),
        );
    }
    warnings
}

/// `GET /api/v1/phare/deployments/{id}`: the deployment with its team's names, a
/// nominative read logged for each person shown.
#[utoipa::path(get, path = "/api/v1/phare/deployments/{id}", tag = "phare",
    operation_id = "phare_get_deployment",
    summary = "Lire un déploiement",
    description = "Le déploiement, son état et sa conformité à la date du jour, avec les noms \
                   de son équipe et les formations pHARe que chacun a suivies (d'après les \
                   présences enregistrées) : chaque personne affichée fait l'objet d'une lecture \
                   nominative consignée. Une école est jugée sur l'équipe ressource formée et le \
                   coordonnateur de sa circonscription (warnings le signale) ; ses comptes lisent \
                   le déploiement de leur circonscription, sans le modifier. Les élèves ambassadeurs viennent des cohortes déclarées de \
                   l'établissement pour l'année (cible cohorts), jamais d'une saisie.",
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Le déploiement", body = DeploymentView),
        (status = 403, description = "Hors du périmètre (l'établissement, pour une circonscription ses écoles, les référents du département, le pôle)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    Extension(evidence): Extension<Evidence>,
    Extension(ambassadors): Extension<Ambassadors>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (deployment, version) = readable(&state, &actor, id).await?;
    let (Some(owner), Some(school_year)) = (&deployment.owner, deployment.school_year) else {
        return Err(Problem::not_found());
    };
    let mut sealed: Vec<&Sealed> = Vec::new();
    for person in deployment
        .team
        .iter()
        .map(|m| &m.person)
        .chain(deployment.coordinator.as_ref())
    {
        sealed.extend([&person.display_name, &person.email]);
    }
    let vault = &state.vault;
    let values = vault.unseal_all(&sealed).await.map_err(Problem::from)?;
    let mut seen = HashSet::new();
    let people: Vec<PersonId> = sealed
        .iter()
        .map(|s| s.person)
        .filter(|p| seen.insert(*p))
        .collect();
    // A member reading their own entry reads nobody else's data: not logged.
    for person in people.into_iter().filter(|p| p.0 != actor.user_id) {
        vault
            .log_read(
                &actor.metadata(NAME),
                person,
                "/api/v1/phare/deployments/{id}",
                "phare",
            )
            .await
            .map_err(Problem::from)?;
    }
    let mut values = values.into_iter().map(|v| v.to_string());
    let mut next_person = || PersonView {
        display_name: values.next().unwrap_or_default(),
        email: values.next().unwrap_or_default(),
    };
    let team = deployment
        .team
        .iter()
        .map(|m| MemberView {
            member_id: m.member_id,
            person: next_person(),
            function: m.function,
            function_label: m.function_label.clone(),
            trained: m.trained,
            training_minutes: m.training_minutes,
            mpp_trained: m.mpp_trained,
            school_uai: m.school_uai.clone(),
            carried_over: m.carried_over,
            training_evidence: evidence.read(|e| e.of(m.person.email.person)).into(),
        })
        .collect();
    let coordinator = deployment.coordinator.as_ref().map(|_| next_person());
    let today = pharos_domain::today_in_france(state.clock.now());
    let judged = compliance_of(&state, owner, school_year, &deployment, today).await?;
    let warnings = judged
        .ecole
        .as_ref()
        .map(|side| ecole_warnings(side, &deployment, school_year))
        .unwrap_or_default();
    let compliance = DeploymentComplianceView {
        flags: judged.flags,
        ambassadors: ambassadors_of(&state, &ambassadors, owner, school_year).await?,
    };
    let (school_uai, circonscription) = match owner {
        DeploymentOwner::School { uai, .. } => (Some(uai.clone()), None),
        DeploymentOwner::Circonscription {
            circonscription, ..
        } => (None, Some(circonscription.clone())),
    };
    Ok(axum::Json(DeploymentView {
        id,
        school_year,
        school_uai,
        circonscription,
        department: owner.department().clone(),
        status: deployment.status(today).into(),
        charter: deployment.charter().map(Into::into),
        team,
        coordinator,
        coordinator_carried_over: deployment.coordinator_carried_over,
        protocol: deployment.protocol.map(Into::into),
        protocol_carried_over: deployment.protocol_carried_over,
        carry_over_to_confirm: deployment.carry_over_to_confirm(),
        learning_hours: deployment.learning_hours.map(Into::into),
        parent_workshops: deployment.workshops.iter().map(Into::into).collect(),
        compliance,
        warnings,
        version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_request_naming_both_or_neither_owner() {
        let academy = Academy::toulouse();
        let request = |school: Option<&str>,
                       circonscription: Option<&str>,
                       department: Option<&str>| NewDeployment {
            school_year: "2026-2027".into(),
            school_uai: school.map(Into::into),
            circonscription: circonscription.map(Into::into),
            department: department.map(Into::into),
            carry_over: None,
        };
        for bad in [
            request(None, None, None),
            request(Some("0310001H"), Some("Auch"), Some("32")),
        ] {
            assert_eq!(bad.check(&academy).unwrap_err().rule, "deployment-owner");
        }
        assert_eq!(
            request(None, Some("Auch"), None)
                .check(&academy)
                .unwrap_err()
                .rule,
            "department-missing"
        );
        assert_eq!(
            request(None, Some("Bordeaux"), Some("33"))
                .check(&academy)
                .unwrap_err()
                .rule,
            "invalid-department"
        );
        assert_eq!(
            request(Some("0310001A"), None, None)
                .check(&academy)
                .unwrap_err()
                .rule,
            "invalid-uai"
        );
        let (_, choice) = request(Some("0310001H"), None, Some(""))
            .check(&academy)
            .unwrap();
        assert_eq!(choice, OwnerChoice::School(Uai::parse("0310001H").unwrap()));
    }
}
