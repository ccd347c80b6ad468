//! Accounts (category `user`): the decider, password hashing, and the handlers that
//! create, change and deactivate accounts.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use pharos_access::{Action, Actor, IfMatch, Subject};
use pharos_decider::{Decider, execute, load};
use pharos_events::user::{CATEGORY, UserEvent};
use pharos_events::{Email, Role, Uai};
use pharos_eventstore::{Metadata, StreamId};
use pharos_privacy::{PersonId, Personal, Sealed};
use pharos_web::{Json, Path, Problem, Versioned};
use pharos_decider::Rejection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Directory, NAME};

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 256;

/// An account's stream: `user-<person id>`.
pub fn stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(CATEGORY, id)?)
}

#[derive(Debug, Clone, Default)]
pub struct Account {
    pub created: Option<Created>,
    pub deactivated: bool,
}

#[derive(Debug, Clone)]
pub struct Created {
    pub email: Sealed,
    pub display_name: Sealed,
    pub role: Role,
    pub scope: Option<String>,
    pub password_hash: Option<Sealed>,
}

#[derive(Debug, Clone)]
pub enum UserCommand {
    Create(Created),
    ChangeRole { role: Role, scope: Option<String> },
    SetPassword { password_hash: Sealed },
    Deactivate { reason: Option<String> },
}

#[derive(Debug)]
pub struct Accounts;

impl Decider for Accounts {
    type State = Account;
    type Command = UserCommand;
    type Event = UserEvent;

    fn evolve(mut state: Account, event: &UserEvent) -> Account {
        match event {
            UserEvent::UserCreated {
                email,
                display_name,
                role,
                scope,
                password_hash,
            } => {
                state.created = Some(Created {
                    email: email.clone(),
                    display_name: display_name.clone(),
                    role: *role,
                    scope: scope.clone(),
                    password_hash: password_hash.clone(),
                });
            }
            UserEvent::UserRoleChanged { role, scope } => {
                if let Some(c) = &mut state.created {
                    c.role = *role;
                    c.scope.clone_from(scope);
                }
            }
            UserEvent::UserPasswordSet { password_hash } => {
                if let Some(c) = &mut state.created {
                    c.password_hash = Some(password_hash.clone());
                }
            }
            UserEvent::UserDeactivated { .. } => state.deactivated = true,
        }
        state
    }

    fn decide(
        command: &UserCommand,
        state: &Account,
        _now: DateTime<Utc>,
    ) -> Result<Vec<UserEvent>, Rejection> {
        let Some(current) = &state.created else {
            return match command {
                UserCommand::Create(c) => Ok(vec![UserEvent::UserCreated {
                    email: c.email.clone(),
                    display_name: c.display_name.clone(),
                    role: c.role,
                    scope: c.scope.clone(),
                    password_hash: c.password_hash.clone(),
                }]),
                _ => Err(Rejection::not_found(
                    "user-unknown",
                    "Ce compte n'existe pas.",
                )),
            };
        };
        match command {
            UserCommand::Create(_) => Err(Rejection::conflict(
                "user-exists",
                "Un compte existe déjà pour cette adresse électronique.",
            )),
            _ if state.deactivated => Err(Rejection::conflict(
                "user-deactivated",
                "Ce compte est désactivé : il ne peut plus être modifié.",
            )),
            UserCommand::ChangeRole { role, scope } => {
                if current.role == *role && current.scope == *scope {
                    Ok(vec![])
                } else {
                    Ok(vec![UserEvent::UserRoleChanged {
                        role: *role,
                        scope: scope.clone(),
                    }])
                }
            }
            UserCommand::SetPassword { password_hash } => Ok(vec![UserEvent::UserPasswordSet {
                password_hash: password_hash.clone(),
            }]),
            UserCommand::Deactivate { reason } => Ok(vec![UserEvent::UserDeactivated {
                reason: reason.clone(),
            }]),
        }
    }
}

/// Hashes a password with argon2id (OWASP parameters) off the async threads.
pub async fn hash_password(password: String) -> Result<String, Problem> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing task failed");
        Problem::internal()
    })?
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        Problem::internal()
    })
}

/// Whether `password` matches the PHC `hash` (argon2, off the async threads). With no
/// hash, a dummy one is checked so that an unknown account costs as much time as a
/// wrong password.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4nR3XHVJKCLaJiV5cZ6ooHmzuJ5n1Hjx6y5ZuUtpR0Q";
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
        && known
}

/// A random password of 20 characters, without look-alikes (0/O, 1/l/I).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn invalid(field: &'static str, rule: &'static str, message: impl Into<String>) -> Problem {
    let message = message.into();
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        rule,
        "Valeur refusée",
        message.clone(),
    )
    .with_field(field, message)
}

pub fn check_password(password: &str) -> Result<(), Problem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(invalid(
            "password",
            "password-too-short",
            format!("Le mot de passe doit compter au moins {MIN_PASSWORD_CHARS} caractères."),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(invalid(
            "password",
            "password-too-long",
            format!("Le mot de passe ne peut dépasser {MAX_PASSWORD_CHARS} caractères."),
        ));
    }
    Ok(())
}

/// The role's scope, checked: a department of the academy for a department referent,
/// a registered school for a school account, nothing for the other roles.
async fn check_scope(
    directory: &Directory,
    role: Role,
    scope: Option<&str>,
) -> Result<Option<String>, Problem> {
    let scope = scope.map(str::trim).filter(|s| !s.is_empty());
    match (role, scope) {
        (Role::DepartmentReferent, Some(s)) => directory
            .target
            .access
            .academy
            .department(s)
            .map(|d| Some(d.to_string()))
            .map_err(|e| invalid("scope", "invalid-scope", e.0)),
        (Role::School, Some(s)) => {
            let uai = Uai::parse(s).map_err(|e| invalid("scope", "invalid-scope", e.0))?;
            match directory.target.access.reference.school(&uai).await? {
                Some(school) if !school.closed => Ok(Some(uai.to_string())),
                Some(_) => Err(invalid(
                    "scope",
                    "school-closed",
                    format!("L'établissement {uai} est fermé."),
                )),
                None => Err(invalid(
                    "scope",
                    "school-unknown",
                    format!("L'établissement {uai} n'est pas enregistré : importez-le d'abord."),
                )),
            }
        }
        (Role::DepartmentReferent | Role::School, None) => Err(invalid(
            "scope",
            "scope-required",
            format!(
                "Le rôle {role} demande un périmètre : {}.",
                if role == Role::School {
                    "l'UAI de l'établissement"
                } else {
                    "le code du département (ex. 31)"
                }
            ),
        )),
        (_, Some(_)) => Err(invalid(
            "scope",
            "scope-not-allowed",
            format!("Le rôle {role} ne prend pas de périmètre."),
        )),
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
    role: Role,
    /// Périmètre du rôle : code de département (référent) ou UAI (établissement).
    scope: Option<String>,
    active: bool,
    version: i64,
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
    let email = Email::parse(&input.email).map_err(|e| invalid("email", "invalid-email", e.0))?;
    let display_name = input.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        return Err(invalid(
            "display_name",
            "invalid-display-name",
            "Le nom affiché est obligatoire (200 caractères au plus).",
        ));
    }
    let role = Role::parse(&input.role).map_err(|e| invalid("role", "invalid-role", e.0))?;
    let scope = check_scope(directory, role, input.scope.as_deref()).await?;
    if let Some(password) = &input.password {
        check_password(password)?;
    }
    if let Some(actor) = by {
        actor.may(Action::ManageUsers, Subject::Account(role))?;
    }
    let vault = &directory.target.vault;
    let person = vault
        .person(email.as_str())
        .await
        .map_err(Problem::from)?;
    let stream = stream(person.0)?;
    // Checked before hashing: a duplicate should not cost a hash.
    if directory.target.app.store.stream_version(&stream).await? > 0 {
        return Err(Rejection::conflict(
            "user-exists",
            "Un compte existe déjà pour cette adresse électronique.",
        )
        .into());
    }
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
    let done = execute::<Accounts, Problem>(
        &directory.target.app.store,
        &stream,
        &UserCommand::Create(Created {
            email: email_sealed,
            display_name: name_sealed,
            role,
            scope,
            password_hash: Some(hash_sealed),
        }),
        directory.target.clock.now(),
        None,
        metadata,
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
async fn existing(directory: &Directory, id: Uuid) -> Result<(Account, i64), Problem> {
    let (account, version) = load::<Accounts>(&directory.target.app.store, &stream(id)?).await?;
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
        (status = 409, description = "Compte désactivé, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
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
    let role = Role::parse(&input.role).map_err(|e| invalid("role", "invalid-role", e.0))?;
    let scope = check_scope(&directory, role, input.scope.as_deref()).await?;
    let (account, _) = existing(&directory, id).await?;
    let current = account.created.as_ref().map_or(role, |c| c.role);
    actor.may(Action::ManageUsers, Subject::Account(current))?;
    actor.may(Action::ManageUsers, Subject::Account(role))?;
    let done = execute::<Accounts, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        &UserCommand::ChangeRole { role, scope },
        directory.target.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
    if let Some(appended) = done.appended {
        directory.settle(appended.position).await;
    }
    Ok(axum::Json(Versioned {
        version: done.version,
    }))
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
    let role = account.created.as_ref().map_or(Role::Admin, |c| c.role);
    actor.may(Action::ManageUsers, Subject::Account(role))?;
    if actor.user_id == id {
        return Err(Rejection::conflict(
            "self-deactivation",
            "Vous ne pouvez pas désactiver votre propre compte.",
        )
        .into());
    }
    let reason = body
        .and_then(|Json(b)| b.reason)
        .filter(|r| !r.trim().is_empty());
    let now = directory.target.clock.now();
    let done = execute::<Accounts, Problem>(
        &directory.target.app.store,
        &stream(id)?,
        &UserCommand::Deactivate { reason },
        now,
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
    let retain_until = pharos_privacy::RetentionRules::shipped()
        .ok()
        .and_then(|rules| {
            rules
                .retain_until("deactivated_account", now)
                .ok()
                .flatten()
        });
    directory
        .target
        .vault
        .set_retention(PersonId(id), "deactivated_account", retain_until)
        .await
        .map_err(Problem::from)?;
    if let Some(appended) = done.appended {
        directory.settle(appended.position).await;
    }
    Ok(axum::Json(Versioned {
        version: done.version,
    }))
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
    let Some(created) = account.created else {
        return Err(Problem::not_found());
    };
    if actor.user_id != id {
        actor.may(Action::ManageUsers, Subject::Account(created.role))?;
    }
    let (email, display_name) =
        unseal_identity(&directory, &actor, &created, "/api/v1/users/{id}").await?;
    Ok(axum::Json(AccountView {
        id,
        email: email.to_string(),
        display_name: display_name.to_string(),
        role: created.role,
        scope: created.scope,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(s: &str) -> Sealed {
        Sealed {
            person: PersonId(Uuid::nil()),
            sealed: s.into(),
        }
    }

    fn created() -> Created {
        Created {
            email: sealed("e"),
            display_name: sealed("n"),
            role: Role::School,
            scope: Some("0310001H".into()),
            password_hash: Some(sealed("h")),
        }
    }

    fn given(events: &[UserEvent]) -> Account {
        events.iter().fold(Account::default(), Accounts::evolve)
    }

    #[test]
    fn one_account_per_person() {
        let now = Utc::now();
        let events = Accounts::decide(&UserCommand::Create(created()), &given(&[]), now).unwrap();
        let error =
            Accounts::decide(&UserCommand::Create(created()), &given(&events), now).unwrap_err();
        assert_eq!(error.rule, "user-exists");
    }

    #[test]
    fn a_deactivated_account_cannot_change() {
        let now = Utc::now();
        let mut history =
            Accounts::decide(&UserCommand::Create(created()), &given(&[]), now).unwrap();
        history.extend(
            Accounts::decide(
                &UserCommand::Deactivate { reason: None },
                &given(&history),
                now,
            )
            .unwrap(),
        );
        for command in [
            UserCommand::Deactivate { reason: None },
            UserCommand::ChangeRole {
                role: Role::Trainer,
                scope: None,
            },
        ] {
            assert_eq!(
                Accounts::decide(&command, &given(&history), now)
                    .unwrap_err()
                    .rule,
                "user-deactivated"
            );
        }
    }

    #[test]
    fn the_same_role_changes_nothing() {
        let now = Utc::now();
        let history = Accounts::decide(&UserCommand::Create(created()), &given(&[]), now).unwrap();
        let same = UserCommand::ChangeRole {
            role: Role::School,
            scope: Some("0310001H".into()),
        };
        assert!(
            Accounts::decide(&same, &given(&history), now)
                .unwrap()
                .is_empty()
        );
        let unknown = Accounts::decide(&same, &given(&[]), now).unwrap_err();
        assert_eq!(unknown.rule, "user-unknown");
    }

    #[test]
    fn generated_passwords_are_long_enough_and_differ() {
        let a = generate_password();
        assert!(a.chars().count() >= MIN_PASSWORD_CHARS);
        assert_ne!(a, generate_password());
    }
}
