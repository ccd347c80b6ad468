//! The deployment routes: request and answer shapes (documented in French for the
//! OpenAPI document), authorisation on the deployment's owner, and the handlers that
//! run the decider's commands.

use std::borrow::Cow;
use std::collections::HashSet;

use axum::extract::State;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use pharos_access::{Action, Actor, IfMatch, Subject, TargetState};
use pharos_decider::{Rejection, execute, execute_with, load};
use pharos_domain::compliance;
use pharos_events::phare::{
    DEPLOYMENT_CATEGORY, DeploymentOwner, ProtocolBody, SchoolYear, TeamFunction, TeamMember,
};
use pharos_events::{Academy, DepartmentCode, Uai};
use pharos_eventstore::StreamId;
use pharos_privacy::{PersonId, Sealed};
use pharos_web::{Created, Json, Path, Problem, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::decider::{
    Deployment, DeploymentCommand, DeploymentState, LearningHours, Protocol, Workshop,
    deployment_id,
};
use crate::NAME;
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
                let department = academy
                    .department(&department)
                    .map_err(|e| Rejection::invalid("invalid-department", "department", e.0))?;
                OwnerChoice::Circonscription { name, department }
            }
            _ => {
                return Err(Rejection::invalid(
                    "deployment-owner",
                    "school_uai",
                    "Un déploiement concerne soit un établissement (school_uai), soit une \
                     circonscription (circonscription et department) : l'un des deux, pas les deux.",
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
    description = "Un déploiement par établissement (ou circonscription) et par année scolaire.",
    request_body = NewDeployment,
    responses(
        (status = 201, description = "Déploiement créé", body = pharos_web::Created),
        (status = 403, description = "Hors du périmètre (l'établissement, les référents de son département, le pôle)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Un déploiement existe déjà pour ce propriétaire et cette année", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (année hors période, UAI invalide, établissement inconnu ou fermé, circonscription inconnue, propriétaire ambigu)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<TargetState>,
    actor: Actor,
    Json(body): Json<NewDeployment>,
) -> Result<impl IntoResponse, Problem> {
    let (school_year, choice) = body.check(&state.access.academy)?;
    let owner = match choice {
        OwnerChoice::School(uai) => {
            let found = places::school(&state.access, &uai).await?;
            let school = places::open_school("school_uai", &uai, found)?;
            DeploymentOwner::School {
                uai,
                department: school.department,
            }
        }
        OwnerChoice::Circonscription { name, department } => {
            // Scope first: looking a circonscription up may read the whole school
            // registry, which only an actor of that department should cause.
            actor.may(Action::ManageDeployment, Subject::Department(&department))?;
            let schools = places::schools_for_circonscription(
                &state.access,
                &state.app.store,
                &name,
                &department,
            )
            .await?;
            DeploymentOwner::Circonscription {
                circonscription: places::circonscription(&name, &department, &schools)?,
                department,
            }
        }
    };
    actor.may(Action::ManageDeployment, subject(&owner))?;
    let id = deployment_id(&owner, school_year);
    let done = execute::<Deployment, Problem>(
        &state.app.store,
        &stream(id)?,
        &DeploymentCommand::Create { owner, school_year },
        state.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Created {
        id,
        version: done.version,
    })
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
    if_match: IfMatch,
) -> Result<Versioned, Problem> {
    let done = execute_with::<Deployment, Problem>(
        &state.app.store,
        &stream(id)?,
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |deployment| {
            let owner = deployment.owner.as_ref().ok_or_else(Problem::not_found)?;
            actor.may(Action::ManageDeployment, subject(owner))?;
            Ok(Cow::Borrowed(&command))
        },
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
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
    run(&state, &actor, id, command, if_match).await
}

const FUNCTIONS: &[(&str, TeamFunction)] = &[
    ("enseignant", TeamFunction::Enseignant),
    ("cpe", TeamFunction::Cpe),
    ("aed", TeamFunction::Aed),
    ("infirmier", TeamFunction::Infirmier),
    ("assistant_social", TeamFunction::AssistantSocial),
    ("psyen", TeamFunction::Psyen),
    ("direction", TeamFunction::Direction),
];

/// Un nouveau membre de l'équipe ressource.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewTeamMember {
    /// Nom et adresse professionnelle du membre.
    pub person: PersonInput,
    /// Fonction dans l'établissement.
    #[schema(value_type = TeamFunction)]
    pub function: String,
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
    let member = TeamMember {
        member_id: Uuid::now_v7(),
        person: body.person.seal(&state.vault).await?,
        function,
        trained: body.trained,
        training_minutes: body.training_minutes,
        mpp_trained: body.mpp_trained,
        school_uai,
    };
    let member_id = member.member_id;
    let done = execute::<Deployment, Problem>(
        &state.app.store,
        &stream,
        &DeploymentCommand::AddMember { member, school },
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
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
    run(&state, &actor, id, command, if_match).await
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
    let person = body.person.seal(&state.vault).await?;
    let command = DeploymentCommand::NameCoordinator { person };
    run(&state, &actor, id, command, if_match).await
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
    /// Instance devant laquelle le protocole est (ou sera) présenté.
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
        (status = 422, description = "Valeur refusée (date future, présentation avant formalisation, instance inconnue)", body = pharos_web::Problem, content_type = "application/problem+json"),
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
    let command = DeploymentCommand::RecordProtocol(Protocol {
        formalised_on: body.formalised_on,
        presented_on: body.presented_on,
        presented_to,
    });
    run(&state, &actor, id, command, if_match).await
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
    run(&state, &actor, id, command, if_match).await
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
    let Versioned { version } = run(&state, &actor, id, command, if_match).await?;
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

/// La charte d'engagement : elle court l'année scolaire de sa signature et la suivante, et
/// se renouvelle à partir de 60 jours avant sa fin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = CharterTerm)]
pub struct CharterTermView {
    /// Date de signature.
    pub signed_on: NaiveDate,
    /// Fin de la charte : le 31 août de l'année scolaire suivant sa signature.
    pub ends_on: NaiveDate,
    /// Date à partir de laquelle le renouvellement est attendu (60 jours avant la fin).
    pub renewal_due_from: NaiveDate,
}

impl From<compliance::CharterTerm> for CharterTermView {
    fn from(term: compliance::CharterTerm) -> Self {
        Self {
            signed_on: term.signed_on,
            ends_on: term.ends_on,
            renewal_due_from: term.renewal_due_from,
        }
    }
}

/// Conformité du déploiement au cahier des charges pHARe, calculée à la date du jour : une
/// indication, jamais un motif de refus d'enregistrement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Compliance)]
pub struct ComplianceView {
    /// Nombre de membres formés de l'équipe ressource.
    pub trained_members: usize,
    /// Au moins 5 membres formés.
    pub trained_team: bool,
    /// Un coordonnateur (référent harcèlement) est désigné.
    pub coordinator_named: bool,
    /// Le protocole est formalisé et a été présenté (à ce jour).
    pub protocol_presented: bool,
    /// Les 10 heures d'apprentissage sont planifiées.
    pub learning_hours_planned: bool,
    /// Au moins un atelier parents a eu lieu (à ce jour).
    pub parent_workshop_held: bool,
    /// La charte est en vigueur.
    pub charter_in_force: bool,
    /// Tous les indicateurs ci-dessus.
    pub compliant: bool,
}

impl From<compliance::Compliance> for ComplianceView {
    fn from(flags: compliance::Compliance) -> Self {
        Self {
            trained_members: flags.trained_members,
            trained_team: flags.trained_team,
            coordinator_named: flags.coordinator_named,
            protocol_presented: flags.protocol_presented,
            learning_hours_planned: flags.learning_hours_planned,
            parent_workshop_held: flags.parent_workshop_held,
            charter_in_force: flags.charter_in_force,
            compliant: flags.compliant,
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
    /// Formé à pHARe.
    pub trained: bool,
    /// Durée de formation, en minutes.
    pub training_minutes: u32,
    /// Formé à la méthode de la préoccupation partagée.
    pub mpp_trained: bool,
    /// UAI de l'établissement du membre, quand il est indiqué.
    #[schema(value_type = Option<String>, example = "0310001H")]
    pub school_uai: Option<Uai>,
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
    /// Le protocole de traitement, une fois enregistré.
    pub protocol: Option<ProtocolView>,
    /// Le plan des heures d'apprentissage, une fois enregistré.
    pub learning_hours: Option<LearningHoursView>,
    /// Les ateliers parents, tenus ou programmés.
    pub parent_workshops: Vec<WorkshopView>,
    /// Conformité au cahier des charges à la date du jour.
    pub compliance: ComplianceView,
    /// Version du flux, pour If-Match.
    pub version: i64,
}

/// `GET /api/v1/phare/deployments/{id}`: the deployment with its team's names, a
/// nominative read logged for each person shown.
#[utoipa::path(get, path = "/api/v1/phare/deployments/{id}", tag = "phare",
    operation_id = "phare_get_deployment",
    summary = "Lire un déploiement",
    description = "Le déploiement, son état et sa conformité à la date du jour, avec les noms \
                   de son équipe : chaque personne affichée fait l'objet d'une lecture nominative \
                   consignée.",
    params(("id" = Uuid, Path, description = "Identifiant du déploiement")),
    responses(
        (status = 200, description = "Le déploiement", body = DeploymentView),
        (status = 404, description = "Déploiement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (_, deployment, version) = reachable(&state, &actor, id).await?;
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
            trained: m.trained,
            training_minutes: m.training_minutes,
            mpp_trained: m.mpp_trained,
            school_uai: m.school_uai.clone(),
        })
        .collect();
    let coordinator = deployment.coordinator.as_ref().map(|_| next_person());
    let today = state.clock.now().date_naive();
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
        protocol: deployment.protocol.map(Into::into),
        learning_hours: deployment.learning_hours.map(Into::into),
        parent_workshops: deployment.workshops.iter().map(Into::into).collect(),
        compliance: deployment.compliance(today).into(),
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
