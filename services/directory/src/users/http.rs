//! Accounts over HTTP: creating one (also for the bootstrap and the command line),
//! reading one, changing its role or its additional grants, deactivating it.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pharos_access::{Action, Actor, IfMatch, Subject};
use pharos_decider::{Rejection, execute, execute_attached, execute_with, load};
use pharos_events::user::Grant;
use pharos_events::{Email, Role, Uai};
use pharos_eventstore::Metadata;
use pharos_privacy::{PersonId, Personal, Sealed};
use pharos_web::{Json, Path, Problem, Versioned};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::decider::{GrantPart, MAX_GRANTS, grant_field, too_many_grants};
use super::password::{check_password, generate_password, hash_password};
use super::{Account, AccountCommand, AccountState, Created, stream};
use crate::labels::{parse_role, sentence};
use crate::{Directory, NAME};

/// The role's scope, checked: a department of the academy for a department referent,
/// a registered school for a school account, nothing for the other roles. A refusal
/// names `field` (`scope`, or a grant's `grants[1].scope`).
async fn check_scope(
    directory: &Directory,
    role: Role,
    scope: Option<&str>,
    field: &'static str,
) -> Result<Option<String>, Problem> {
    let scope = scope.map(str::trim).filter(|s| !s.is_empty());
    match (role, scope) {
        (Role::DepartmentReferent, Some(s)) => directory
            .target
            .access
            .academy
            .department(s)
            .map(|d| Some(d.to_string()))
            .map_err(|e| Problem::from(Rejection::invalid("invalid-scope", field, sentence(&e.0)))),
        (Role::School, Some(s)) => {
            let uai = Uai::parse(s).map_err(|e| {
                Problem::from(Rejection::invalid("invalid-scope", field, sentence(&e.0)))
            })?;
            match directory.target.access.reference.school(&uai).await? {
                Some(school) if !school.closed => Ok(Some(uai.to_string())),
                Some(_) => Err(Problem::from(Rejection::invalid(
                    "school-closed",
                    field,
                    format!("L'établissement {uai} est fermé."),
                ))),
                None => Err(Problem::from(Rejection::invalid(
                    "school-unknown",
                    field,
                    format!("L'établissement {uai} n'est pas enregistré : importez-le d'abord."),
                ))),
            }
        }
        (Role::DepartmentReferent | Role::School, None) => Err(Problem::from(Rejection::invalid(
            "scope-required",
            field,
            format!(
                "Le rôle {} demande un périmètre : {}.",
                role.label(),
                if role == Role::School {
                    "l'UAI de l'établissement"
                } else {
                    "le code du département (ex. 31)"
                }
            ),
        ))),
        (_, Some(_)) => Err(Problem::from(Rejection::invalid(
            "scope-not-allowed",
            field,
            format!("Le rôle {} ne prend pas de périmètre.", role.label()),
        ))),
        (_, None) => Ok(None),
    }
}

/// Un nouveau compte.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    #[schema(example = "prenom.nom@ac-toulouse.fr")]
    pub email: String,
    pub display_name: String,
    /// Rôle : `admin`, `pole_manager`, `department_referent`, `school`, `juror`, `trainer`.
    #[schema(example = "department_referent")]
    pub role: String,
    /// Périmètre : code de département pour un référent, UAI pour un établissement,
    /// absent pour les autres rôles.
    #[serde(default)]
    #[schema(example = "31")]
    pub scope: Option<String>,
    /// Mot de passe initial (12 à 256 caractères) ; absent, il est généré et rendu une
    /// seule fois dans la réponse.
    #[serde(default)]
    pub password: Option<String>,
}

/// Compte créé.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedAccount {
    id: Uuid,
    version: i64,
    /// Le mot de passe généré, quand aucun n'était fourni : montré cette fois seulement,
    /// jamais conservé en clair.
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_password: Option<String>,
}

/// Un compte, avec son adresse et son nom (lecture nominative consignée).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    id: Uuid,
    email: String,
    display_name: String,
    /// Rôle principal.
    role: Role,
    /// Périmètre du rôle : code de département (référent) ou UAI (établissement).
    scope: Option<String>,
    /// Attributions supplémentaires : autres rôles détenus, chacun avec son périmètre.
    grants: Vec<GrantView>,
    active: bool,
    version: i64,
}

/// Une attribution : un rôle détenu en plus du rôle principal, avec son périmètre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GrantView {
    /// Rôle attribué.
    role: Role,
    /// Code de département (référent) ou UAI (établissement) ; absent pour les autres rôles.
    #[schema(example = "82")]
    scope: Option<String>,
}

impl GrantView {
    /// The grants as the API shows them.
    pub fn all(grants: &[Grant]) -> Vec<Self> {
        grants
            .iter()
            .map(|g| Self {
                role: g.role,
                scope: g.scope.clone(),
            })
            .collect()
    }
}

/// Whether `actor` manages `account`: every role it holds (the primary one and its
/// grants) must be one the actor manages, so that a pole manager does not act on an
/// account that also holds the administrator's role.
pub(crate) fn may_manage(actor: &Actor, account: &AccountState) -> Result<(), Problem> {
    for role in account.roles() {
        actor.may(Action::ManageUsers, Subject::Account(role))?;
    }
    Ok(())
}

/// What creating an account gave.
#[derive(Debug)]
pub struct CreatedUser {
    pub id: Uuid,
    pub version: i64,
    /// Set when no password was given: shown once, never stored in clear.
    pub generated_password: Option<String>,
}

/// Creates an account for `by` (`None`: the platform itself, at bootstrap or from the
/// command line). Shared by the HTTP handler, `pharos users create` and the bootstrap.
pub async fn create(
    directory: &Directory,
    by: Option<&Actor>,
    input: NewUser,
    metadata: &Metadata,
) -> Result<CreatedUser, Problem> {
    let email = Email::parse(&input.email)
        .map_err(|e| Problem::from(Rejection::invalid("invalid-email", "email", sentence(&e.0))))?;
    let display_name = input.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        return Err(Problem::from(Rejection::invalid(
            "invalid-display-name",
            "display_name",
            "Le nom affiché est obligatoire (200 caractères au plus).",
        )));
    }
    let role = parse_role(&input.role)
        .map_err(|m| Problem::from(Rejection::invalid("invalid-role", "role", m)))?;
    let scope = check_scope(directory, role, input.scope.as_deref(), "scope").await?;
    if let Some(password) = &input.password {
        check_password(password)?;
    }
    if let Some(actor) = by {
        actor.may(Action::ManageUsers, Subject::Account(role))?;
    }
    let vault = &directory.target.vault;
    let (person, mut companions) = vault
        .person_in_commit(email.as_str())
        .await
        .map_err(Problem::from)?;
    let stream = stream(person.0)?;
    // Checked before hashing: a duplicate should not cost a hash.
    if directory.target.app.store.stream_version(&stream).await? > 0 {
        return Err(Problem::from(Rejection::conflict(
            "user-exists",
            "Un compte existe déjà pour cette adresse électronique.",
        )));
    }
    // The account holds its person's data while it is active (see `deactivate`), from
    // its creation's commit on.
    companions.push(
        vault
            .hold_in_commit(person, "account", "staff", None)
            .map_err(Problem::from)?,
    );
    let generated_password = input.password.is_none().then(generate_password);
    let password = input
        .password
        .or_else(|| generated_password.clone())
        .unwrap_or_default();
    let hash = hash_password(password).await?;
    let sealed = vault
        .seal_all(&[
            (person, email.as_str()),
            (person, display_name.as_str()),
            (person, hash.as_str()),
        ])
        .await
        .map_err(Problem::from)?;
    let [email_sealed, name_sealed, hash_sealed] =
        <[Sealed; 3]>::try_from(sealed).map_err(|_| Problem::internal())?;
    let command = AccountCommand::Create(Created {
        email: email_sealed,
        display_name: name_sealed,
        role,
        scope,
        password_hash: Some(hash_sealed),
    });
    let done = execute_attached::<Account, Problem>(
        &directory.target.app.store,
        &stream,
        directory.target.clock.now(),
        None,
        metadata,
        |_| Ok((Cow::Borrowed(&command), companions.clone())),
    )
    .await?;
    if let Some(appended) = done.appended {
        directory.settle(appended.position).await;
    }
    Ok(CreatedUser {
        id: person.0,
        version: done.version,
        generated_password,
    })
}

/// `POST /api/v1/users`
#[utoipa::path(operation_id = "directory_users_create_handler", post, path = "/api/v1/users", tag = "directory",
    summary = "Créer un compte",
    description = "Sans mot de passe fourni, un mot de passe initial est généré et rendu une seule fois.",
    request_body = NewUser,
    responses(
        (status = 201, description = "Compte créé", body = CreatedAccount),
        (status = 403, description = "Ce rôle n'est pas attribuable par l'acteur", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Un compte existe déjà pour cette adresse", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée : adresse, nom, rôle, périmètre (département hors académie, établissement inconnu ou fermé) ou mot de passe (règle nommée dans `type`, champ dans `errors`)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_handler(
    State(directory): State<Directory>,
    actor: Actor,
    Json(input): Json<NewUser>,
) -> Result<impl IntoResponse, Problem> {
    let created = create(&directory, Some(&actor), input, &actor.metadata(NAME)).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedAccount {
            id: created.id,
            version: created.version,
            initial_password: created.generated_password,
        }),
    ))
}

/// The account `id` and its state, or 404.
pub(crate) async fn existing(
    directory: &Directory,
    id: Uuid,
) -> Result<(AccountState, i64), Problem> {
    let (account, version) = load::<Account>(&directory.target.app.store, &stream(id)?).await?;
    if account.created.is_none() {
        return Err(Problem::not_found());
    }
    Ok((account, version))
}

/// Nouveau rôle d'un compte.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    /// Rôle : `admin`, `pole_manager`, `department_referent`, `school`, `juror`, `trainer`.
    #[schema(example = "school")]
    role: String,
    /// Périmètre : code de département pour un référent, UAI pour un établissement,
    /// absent pour les autres rôles.
    #[serde(default)]
    #[schema(example = "0310001H")]
    scope: Option<String>,
}

/// `POST /api/v1/users/{id}/role`
#[utoipa::path(operation_id = "directory_users_change_role", post, path = "/api/v1/users/{id}/role", tag = "directory",
    summary = "Changer le rôle d'un compte",
    request_body = RoleChange,
    params(("id" = Uuid, Path, description = "Identifiant du compte")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 403, description = "Le rôle actuel ou le nouveau n'est pas attribuable par l'acteur", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Compte inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Compte désactivé, changement de son propre rôle (`self-role-change`), ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rôle ou périmètre refusé (règle nommée dans `type`, champ dans `errors`)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn change_role(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<RoleChange>,
) -> Result<impl IntoResponse, Problem> {
    let role = parse_role(&input.role)
        .map_err(|m| Problem::from(Rejection::invalid("invalid-role", "role", m)))?;
    let scope = check_scope(&directory, role, input.scope.as_deref(), "scope").await?;
    let (account, _) = existing(&directory, id).await?;
    may_manage(&actor, &account)?;
    actor.may(Action::ManageUsers, Subject::Account(role))?;
    if actor.user_id == id {
        return Err(Problem::from(Rejection::conflict(
            "self-role-change",
            "Vous ne pouvez pas changer votre propre rôle : demandez-le à un autre membre du \
             pôle académique ou à un administrateur.",
        )));
    }
    let done = execute::<Account, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        &AccountCommand::ChangeRole { role, scope },
        directory.target.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
    if let Some(appended) = done.appended {
        directory.settle(appended.position).await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

/// Une attribution demandée : un rôle en plus du rôle principal, avec son périmètre.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GrantInput {
    /// Rôle : `admin`, `pole_manager`, `department_referent`, `school`, `juror`, `trainer`.
    #[schema(example = "trainer")]
    role: String,
    /// Périmètre : code de département pour un référent, UAI pour un établissement,
    /// absent (ou `null`) pour les autres rôles.
    #[serde(default)]
    #[schema(example = json!(null))]
    scope: Option<String>,
}

/// Les attributions supplémentaires d'un compte, toutes : la liste remplace la précédente
/// (une liste vide les retire toutes).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"grants": [{"role": "trainer", "scope": null}, {"role": "department_referent", "scope": "82"}]}))]
pub struct GrantsChange {
    grants: Vec<GrantInput>,
}

/// `PUT /api/v1/users/{id}/grants`: the account's additional grants, all of them.
#[utoipa::path(operation_id = "directory_users_set_grants", put, path = "/api/v1/users/{id}/grants", tag = "directory",
    summary = "Définir les attributions supplémentaires d'un compte",
    description = "Un compte garde son rôle principal et son périmètre, et peut détenir d'autres rôles, chacun avec \
        son périmètre (un référent départemental qui est aussi formateur, un référent de deux départements) : il \
        peut alors faire ce que l'un quelconque de ses rôles permet, chacun dans son périmètre. La liste envoyée \
        remplace les attributions précédentes ; une liste vide les retire toutes. Chaque attribution est vérifiée \
        comme un rôle principal (périmètre exigé pour un référent ou un établissement, département de l'académie, \
        établissement enregistré et ouvert) ; une attribution répétée, ou égale au rôle principal, est refusée ; \
        10 attributions au plus. Les jetons déjà émis suivent les nouvelles attributions dès la requête suivante. \
        Une liste identique à l'actuelle (dans n'importe quel ordre) ne change rien : même version.",
    request_body = GrantsChange,
    params(("id" = Uuid, Path, description = "Identifiant du compte")),
    responses(
        (status = 200, description = "Fait ; nouvelle version (inchangée si les attributions l'étaient)", body = pharos_web::Versioned),
        (status = 403, description = "Le compte, ou l'un des rôles attribués ou retirés, n'est pas géré par l'acteur", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Compte inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Compte désactivé, changement de ses propres attributions (`self-grants-change`), ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Attribution refusée : rôle, périmètre, attribution répétée (`duplicate-grant`), égale au rôle principal (`grant-is-primary-role`) ou trop nombreuses (`too-many-grants`) ; règle nommée dans `type`, champ dans `errors` (ex. `grants[1].scope`)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_grants(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    Json(input): Json<GrantsChange>,
) -> Result<impl IntoResponse, Problem> {
    if input.grants.len() > MAX_GRANTS {
        return Err(Problem::from(too_many_grants(input.grants.len())));
    }
    let mut grants = Vec::with_capacity(input.grants.len());
    for (i, grant) in input.grants.iter().enumerate() {
        let role = parse_role(&grant.role).map_err(|m| {
            Problem::from(Rejection::invalid(
                "invalid-role",
                grant_field(i, GrantPart::Role),
                m,
            ))
        })?;
        let scope = check_scope(
            &directory,
            role,
            grant.scope.as_deref(),
            grant_field(i, GrantPart::Scope),
        )
        .await?;
        grants.push(Grant { role, scope });
    }
    let command = AccountCommand::SetGrants {
        grants: grants.clone(),
    };
    // Authorised on the state the command is decided on: the grants removed are those
    // of the account as it is.
    let done = execute_with::<Account, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        directory.target.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
        |account| {
            if account.created.is_none() {
                return Err(Problem::not_found());
            }
            may_manage(&actor, account)?;
            for grant in &grants {
                actor.may(Action::ManageUsers, Subject::Account(grant.role))?;
            }
            if actor.user_id == id {
                return Err(Problem::from(Rejection::conflict(
                    "self-grants-change",
                    "Vous ne pouvez pas changer vos propres attributions : demandez-le à un autre \
                     membre du pôle académique ou à un administrateur.",
                )));
            }
            Ok(Cow::Borrowed(&command))
        },
    )
    .await?;
    if let Some(appended) = done.appended {
        directory.settle(appended.position).await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

/// Désactivation d'un compte.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Deactivation {
    /// Motif, consigné dans l'historique.
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/users/{id}/deactivate`: the account cannot log in any more and its
/// tokens stop working; its personal data is kept one year (retention rule
/// `deactivated_account`), then erased.
#[utoipa::path(operation_id = "directory_users_deactivate", post, path = "/api/v1/users/{id}/deactivate", tag = "directory",
    summary = "Désactiver un compte",
    description = "Le compte ne peut plus se connecter et ses jetons cessent de fonctionner ; ses données \
        personnelles sont conservées un an (règle `deactivated_account`), puis effacées. Le corps est facultatif.",
    request_body(content = Option<Deactivation>, description = "Motif, facultatif"),
    params(("id" = Uuid, Path, description = "Identifiant du compte")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 403, description = "Ce compte n'est pas géré par l'acteur", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Compte inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Compte déjà désactivé, désactivation de son propre compte, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Corps illisible", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn deactivate(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
    if_match: IfMatch,
    body: Option<Json<Deactivation>>,
) -> Result<impl IntoResponse, Problem> {
    let (account, _) = existing(&directory, id).await?;
    may_manage(&actor, &account)?;
    if actor.user_id == id {
        return Err(Problem::from(Rejection::conflict(
            "self-deactivation",
            "Vous ne pouvez pas désactiver votre propre compte.",
        )));
    }
    let reason = body
        .and_then(|Json(b)| b.reason)
        .filter(|r| !r.trim().is_empty());
    let now = directory.target.clock.now();
    // From the deactivation on, the account holds the data a year more (by the shipped
    // rules), stored in its commit.
    let hold = directory
        .target
        .vault
        .hold_in_commit(PersonId(id), "account", "deactivated_account", Some(now))
        .map_err(Problem::from)?;
    let command = AccountCommand::Deactivate { reason };
    let done = execute_attached::<Account, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        now,
        if_match.0,
        &actor.metadata(NAME),
        |_| Ok((Cow::Borrowed(&command), vec![hold.clone()])),
    )
    .await?;
    if let Some(appended) = done.appended {
        directory.settle(appended.position).await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

/// `GET /api/v1/users/{id}`: the account with its name and e-mail (a logged read).
#[utoipa::path(operation_id = "directory_users_get", get, path = "/api/v1/users/{id}", tag = "directory",
    summary = "Lire un compte",
    description = "Le compte avec son adresse et son nom : la lecture du compte d'un autre est consignée.",
    params(("id" = Uuid, Path, description = "Identifiant du compte")),
    responses(
        (status = 200, description = "Le compte", body = AccountView),
        (status = 403, description = "Ce compte n'est pas géré par l'acteur", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Compte inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(directory): State<Directory>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Result<impl IntoResponse, Problem> {
    let (account, version) = existing(&directory, id).await?;
    if actor.user_id != id {
        may_manage(&actor, &account)?;
    }
    let Some(created) = account.created else {
        return Err(Problem::not_found());
    };
    let (email, display_name) =
        unseal_identity(&directory, &actor, &created, "/api/v1/users/{id}").await?;
    Ok(axum::Json(AccountView {
        id,
        email: email.to_string(),
        display_name: display_name.to_string(),
        role: created.role,
        scope: created.scope,
        grants: GrantView::all(&account.grants),
        active: !account.deactivated,
        version,
    }))
}

/// The account's e-mail and name, unsealed; the read is logged.
pub async fn unseal_identity(
    directory: &Directory,
    actor: &Actor,
    created: &Created,
    route: &str,
) -> Result<(Personal<String>, Personal<String>), Problem> {
    let vault = &directory.target.vault;
    let values = vault
        .unseal_all(&[&created.email, &created.display_name])
        .await
        .map_err(Problem::from)?;
    // Reading one's own account is no access to someone else's data: not logged, so
    // that the log shows only what a person may want to know.
    if created.email.person.0 != actor.user_id {
        vault
            .log_read(
                &actor.metadata(NAME),
                created.email.person,
                route,
                "account",
            )
            .await
            .map_err(Problem::from)?;
    }
    let mut values = values.into_iter();
    Ok((
        values.next().unwrap_or(Personal::Erased),
        values.next().unwrap_or(Personal::Erased),
    ))
}
