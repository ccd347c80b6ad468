//! School accounts in bulk (`POST /api/v1/users/schools`): one `school` account per
//! registered open school, at an address built from a pattern (`ce.{uai}@ac-toulouse.fr`).
//! Idempotent: a school whose address already has its account is counted, not refused.
//! No password is set, so nothing secret is generated, shown or stored: the account cannot
//! log in until the pole issues it a reset link (`POST /api/v1/users/{id}/password-reset`,
//! or `pharos users reset-password`) and the school sets its password with it
//! (`POST /api/v1/password-reset`). `GET /api/v1/users?role=school` lists these accounts,
//! `has_password: false` until then.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::IntoResponse;
use pharos_access::{Action, Actor, Subject};
use pharos_decider::{Decider, Rejection, execute_attached, load};
use pharos_events::school::{CATEGORY as SCHOOL_CATEGORY, SchoolEvent};
use pharos_events::{Email, Role, Uai};
use pharos_eventstore::{GlobalPosition, Metadata};
use pharos_privacy::Sealed;
use pharos_web::{Json, Problem};
use serde::{Deserialize, Serialize};

use super::{Account, AccountCommand, Created, stream};
use crate::schools::{School, SchoolState};
use crate::{Directory, NAME};

/// The address pattern when none is given.
pub const DEFAULT_ADDRESS_PATTERN: &str = "ce.{uai}@ac-toulouse.fr";

/// Création des comptes des établissements.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SchoolAccountsRequest {
    /// Modèle de l'adresse de chaque compte ; `{uai}` y est remplacé par l'UAI en
    /// minuscules. Par défaut : `ce.{uai}@ac-toulouse.fr`.
    #[serde(default)]
    #[schema(example = "ce.{uai}@ac-toulouse.fr")]
    address_pattern: Option<String>,
}

/// Un établissement pour lequel aucun compte n'a été créé, et pourquoi.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SchoolAccountRefused {
    #[schema(example = "0310001H")]
    pub uai: String,
    /// Motif, en français.
    pub reason: String,
}

/// Ce que la création des comptes des établissements a fait.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SchoolAccountsReport {
    /// Comptes créés, sans mot de passe : chacun attend un lien de réinitialisation
    /// (`POST /api/v1/users/{id}/password-reset`) ; `GET /api/v1/users?role=school` les
    /// liste, avec `has_password` à faux.
    pub created: usize,
    /// Établissements qui avaient déjà leur compte à cette adresse : rien n'est ajouté.
    pub existing: usize,
    /// Établissements sans compte créé, par UAI.
    pub refused: Vec<SchoolAccountRefused>,
}

/// The address of `uai`'s account under `pattern`, or the French reason.
pub fn address(pattern: &str, uai: &Uai) -> Result<Email, String> {
    let text = pattern
        .trim()
        .replace("{uai}", &uai.as_str().to_lowercase());
    Email::parse(&text).map_err(|_| format!("« {text} » n'est pas une adresse électronique valide"))
}

/// The pattern, checked on a sample UAI: it must hold `{uai}` once and give addresses.
fn check_pattern(pattern: &str) -> Result<(), Rejection> {
    let refused =
        |message: String| Rejection::invalid("invalid-address-pattern", "address_pattern", message);
    if pattern.matches("{uai}").count() != 1 {
        return Err(refused(format!(
            "Le modèle d'adresse « {pattern} » doit contenir une fois {{uai}}, remplacé par l'UAI \
             de chaque établissement (ex. ce.{{uai}}@ac-toulouse.fr)."
        )));
    }
    let sample = Uai::parse("0310001H").map_err(|e| refused(e.0))?;
    address(pattern, &sample).map_err(|reason| {
        refused(format!(
            "Le modèle d'adresse « {pattern} » ne donne pas une adresse électronique valide \
             (pour 0310001H : {reason})."
        ))
    })?;
    Ok(())
}

/// Every school of the registry, read from the log (not a projection that may lag).
async fn registry(directory: &Directory) -> Result<BTreeMap<String, SchoolState>, Problem> {
    let store = &directory.target.app.store;
    let categories = [SCHOOL_CATEGORY.to_owned()];
    let mut schools: BTreeMap<String, SchoolState> = BTreeMap::new();
    // What was acknowledged before this request is read (PostgreSQL may withhold it a
    // moment while an older transaction of the cluster is open).
    store.settle(crate::SETTLE).await?;
    let mut after = GlobalPosition::START;
    loop {
        let page = store.read_all(after, 1000, &categories).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            let Some(uai) = event.stream_id.get(SCHOOL_CATEGORY.len() + 1..) else {
                continue;
            };
            if let Some(e) = pharos_events::decode::<SchoolEvent>(event) {
                let state = schools.remove(uai).unwrap_or_default();
                schools.insert(uai.to_owned(), School::evolve(state, &e));
            }
        }
    }
    Ok(schools)
}

/// What happened to one school.
enum Outcome {
    Created(GlobalPosition),
    Existing,
    Refused(String),
}

/// Creates `uai`'s account at `email` unless it has one; named after the school.
async fn account_for(
    directory: &Directory,
    uai: &Uai,
    school_name: &str,
    email: &Email,
    metadata: &Metadata,
) -> Result<Outcome, Problem> {
    let vault = &directory.target.vault;
    let store = &directory.target.app.store;
    if let Some(person) = vault
        .find_person(email.as_str())
        .await
        .map_err(Problem::from)?
    {
        let (account, _) = load::<Account>(store, &stream(person.0)?).await?;
        if let Some(created) = &account.created {
            return Ok(
                if created.role == Role::School && created.scope.as_deref() == Some(uai.as_str()) {
                    if account.deactivated {
                        Outcome::Refused(format!(
                            "le compte {email} de l'établissement est désactivé"
                        ))
                    } else {
                        Outcome::Existing
                    }
                } else {
                    Outcome::Refused(format!(
                        "l'adresse {email} est déjà celle d'un autre compte (rôle {})",
                        created.role.label()
                    ))
                },
            );
        }
    }
    let (person, mut companions) = vault
        .person_in_commit(email.as_str())
        .await
        .map_err(Problem::from)?;
    companions.push(
        vault
            .hold_in_commit(person, "account", "staff", None)
            .map_err(Problem::from)?,
    );
    let sealed = vault
        .seal_all(&[(person, email.as_str()), (person, school_name)])
        .await
        .map_err(Problem::from)?;
    let [email_sealed, name_sealed] =
        <[Sealed; 2]>::try_from(sealed).map_err(|_| Problem::internal())?;
    let command = AccountCommand::Create(Created {
        email: email_sealed,
        display_name: name_sealed,
        role: Role::School,
        scope: Some(uai.to_string()),
        // No password: the account waits for a reset link (see the module).
        password_hash: None,
    });
    let done = execute_attached::<Account, Problem>(
        store,
        &stream(person.0)?,
        directory.target.clock.now(),
        None,
        metadata,
        |_| Ok((Cow::Borrowed(&command), companions.clone())),
    )
    .await;
    match done {
        Ok(done) => Ok(done
            .appended
            .map_or(Outcome::Existing, |a| Outcome::Created(a.position))),
        // Created meanwhile by a concurrent run (the account, or its person first).
        Err(p)
            if p.type_uri.ends_with("/user-exists")
                || p.type_uri.ends_with("/concurrent-change") =>
        {
            Ok(Outcome::Existing)
        }
        Err(p) if p.status().is_server_error() => Err(p),
        Err(p) => Ok(Outcome::Refused(p.detail)),
    }
}

/// `POST /api/v1/users/schools`
#[utoipa::path(operation_id = "directory_users_create_school_accounts", post, path = "/api/v1/users/schools", tag = "directory",
    summary = "Créer les comptes de tous les établissements ouverts",
    description = "Un compte de rôle établissement pour chaque établissement enregistré et ouvert, à l'adresse donnée \
        par le modèle (`ce.{uai}@ac-toulouse.fr` par défaut, l'UAI en minuscules), nommé comme l'établissement. \
        Peut être relancé : un établissement qui a déjà son compte est compté dans `existing`, sans erreur. \
        Aucun mot de passe n'est défini ni rendu : pour se connecter, chaque compte attend un lien de \
        réinitialisation émis par `POST /api/v1/users/{id}/password-reset` (ou `pharos users reset-password`), \
        avec lequel l'établissement choisit son mot de passe (`POST /api/v1/password-reset`). \
        `GET /api/v1/users?role=school` liste ces comptes et leurs identifiants ; `has_password` y reste à faux \
        jusque-là. Le corps est facultatif.",
    request_body(content = Option<SchoolAccountsRequest>, description = "Modèle d'adresse, facultatif"),
    responses(
        (status = 200, description = "Compte rendu : comptes créés, déjà existants, établissements refusés avec leur motif", body = SchoolAccountsReport),
        (status = 403, description = "Réservé à qui gère les comptes des établissements (pôle académique, administrateur)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Modèle d'adresse refusé (`invalid-address-pattern`) : rien n'est créé", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_school_accounts(
    State(directory): State<Directory>,
    actor: Actor,
    body: Option<Json<SchoolAccountsRequest>>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManageUsers, Subject::Account(Role::School))?;
    let pattern = body
        .and_then(|Json(b)| b.address_pattern)
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_ADDRESS_PATTERN.to_owned());
    let report = create_all(&directory, &pattern, &actor.metadata(NAME)).await?;
    Ok(axum::Json(report))
}

/// Creates the account of every open registered school that has none, under
/// `pattern` (`{uai}` replaced by the UAI in lower case); an existing account is
/// counted, never an error. The HTTP route and `pharos users create-schools` run it.
pub async fn create_all(
    directory: &Directory,
    pattern: &str,
    metadata: &Metadata,
) -> Result<SchoolAccountsReport, Problem> {
    check_pattern(pattern)?;
    let mut report = SchoolAccountsReport::default();
    let mut last = None;
    for (uai, school) in registry(directory).await? {
        let Some(record) = school.record else {
            continue;
        };
        if school.closed_on.is_some() {
            continue;
        }
        let outcome = match address(pattern, &record.uai) {
            Ok(email) => {
                account_for(directory, &record.uai, &record.name, &email, metadata).await?
            }
            Err(reason) => Outcome::Refused(reason),
        };
        match outcome {
            Outcome::Created(position) => {
                report.created += 1;
                last = Some(position);
            }
            Outcome::Existing => report.existing += 1,
            Outcome::Refused(reason) => report.refused.push(SchoolAccountRefused { uai, reason }),
        }
    }
    if let Some(position) = last {
        directory.settle(position).await;
    }
    tracing::info!(
        created = report.created,
        existing = report.existing,
        refused = report.refused.len(),
        "school accounts"
    );
    Ok(report)
}
