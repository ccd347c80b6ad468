//! The routes: request and answer shapes (documented in French for the OpenAPI
//! document), who may use them, and the handlers running the deciders' commands.
//!
//! - [`editions`]: editions, deadline extensions, jurors, publication, palmarès, close;
//! - [`entries`]: entries, their files, attestations, submission, admissibility, the
//!   jury's assignments and scores, awards (granted, revoked before publication), the
//!   national round's results.

pub mod editions;
pub mod entries;

use std::sync::Arc;

use pharos_access::{Action, Actor, Scope, Subject, TargetState};
use pharos_decider::{Rejection, load, sentence};
use pharos_events::contest::{EDITION_CATEGORY, ENTRY_CATEGORY};
use pharos_events::{Email, Role, Uai};
use pharos_eventstore::StreamId;
use pharos_web::Problem;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::edition::{Edition, EditionState};
use crate::files::FileStore;

/// The file store as the handlers hold it (an axum extension).
pub type Files = Arc<dyn FileStore>;

pub fn edition_stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(EDITION_CATEGORY, id)?)
}

pub fn entry_stream(id: Uuid) -> Result<StreamId, Problem> {
    Ok(StreamId::new(ENTRY_CATEGORY, id)?)
}

/// The edition behind an id: 404 when there is none.
pub async fn edition(state: &TargetState, id: Uuid) -> Result<(EditionState, i64), Problem> {
    let (edition, version) = load::<Edition>(&state.app.store, &edition_stream(id)?).await?;
    if !edition.exists() {
        return Err(Problem::not_found());
    }
    Ok((edition, version))
}

pub fn uai(field: &'static str, text: &str) -> Result<Uai, Rejection> {
    Uai::parse(text).map_err(|e| Rejection::invalid("invalid-uai", field, sentence(&e.0)))
}

/// Whether the actor may ask for a list at all: a role of `action` within its scope
/// (the items are then filtered one by one).
pub fn may_list(actor: &Actor, action: Action) -> Result<(), Problem> {
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

/// Lists answer at most this many items per page.
pub const PAGE_MAX: usize = 500;
/// Items per page unless `limit` says otherwise.
pub const PAGE_DEFAULT: usize = 100;

/// The page of `items` from `offset`, `limit` long, with the number of items in all.
pub fn page<T>(items: Vec<T>, limit: Option<u32>, offset: Option<u32>) -> (Vec<T>, usize) {
    let total = items.len();
    let limit = limit.map_or(PAGE_DEFAULT, |l| (l as usize).clamp(1, PAGE_MAX));
    let offset = offset.map_or(0, |o| o as usize);
    (items.into_iter().skip(offset).take(limit).collect(), total)
}

/// Une personne nommée, telle que saisie : nom et adresse électronique (chiffrés à
/// l'enregistrement, avec la clé de la personne).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = ContestPersonInput)]
pub struct PersonInput {
    /// Nom affiché (200 caractères au plus).
    #[schema(example = "Camille Martin")]
    pub display_name: String,
    /// Adresse électronique.
    #[schema(example = "camille.martin@ac-toulouse.fr")]
    pub email: String,
}

/// Une personne nommée, en clair (« donnée effacée » une fois ses données effacées).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ContestPersonView)]
pub struct PersonView {
    /// Nom affiché.
    pub display_name: String,
    /// Adresse électronique.
    pub email: String,
}

impl PersonInput {
    pub fn check(&self) -> Result<(String, Email), Rejection> {
        let name = self.display_name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Rejection::invalid(
                "invalid-display-name",
                "responsible.display_name",
                "Le nom de l'adulte responsable est obligatoire (200 caractères au plus).",
            ));
        }
        let email = Email::parse(&self.email).map_err(|e| {
            Rejection::invalid("invalid-email", "responsible.email", sentence(&e.0))
        })?;
        Ok((name.to_owned(), email))
    }

    /// Sealed with the person's key; if they are new, with the companion that stores
    /// the key in the commit of the append naming them.
    pub async fn seal(
        &self,
        vault: &pharos_privacy::Vault,
    ) -> Result<
        (
            pharos_events::contest::Responsible,
            pharos_eventstore::Companions,
        ),
        Problem,
    > {
        let (name, email) = self.check()?;
        let (person, new) = vault
            .person_in_commit(email.as_str())
            .await
            .map_err(Problem::from)?;
        let sealed = vault
            .seal_all(&[(person, name.as_str()), (person, email.as_str())])
            .await
            .map_err(Problem::from)?;
        let mut sealed = sealed.into_iter();
        let (Some(display_name), Some(email)) = (sealed.next(), sealed.next()) else {
            return Err(Problem::internal());
        };
        Ok((
            pharos_events::contest::Responsible {
                display_name,
                email,
            },
            new,
        ))
    }
}
