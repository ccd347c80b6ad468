//! Requests on personal data (pole managers): right of access, erasure, read log.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pharos_access::{Action, Actor, Subject};
use pharos_events::Email;
use pharos_web::{Json, Problem};
use serde::Deserialize;
use serde_json::json;

use crate::users::privacy_problem;
use crate::{Directory, TARGET};

fn email(text: &str, field: &'static str) -> Result<Email, Problem> {
    Email::parse(text).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-email",
            "Adresse invalide",
            e.0.clone(),
        )
        .with_field(field, e.0)
    })
}

fn nobody() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "person-unknown",
        "Personne inconnue",
        "Aucune donnée personnelle n'est détenue pour cette adresse (jamais enregistrée, ou effacée).",
    )
}

#[derive(Debug, Deserialize)]
pub struct ByEmail {
    email: String,
}

/// `GET /api/v1/people/export?email=E`: everything held about the person, decrypted.
pub async fn export(
    State(directory): State<Directory>,
    actor: Actor,
    Query(query): Query<ByEmail>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManagePersonalData, Subject::Academy)?;
    let email = email(&query.email, "email")?;
    let vault = &directory.target.vault;
    let Some(export) = vault
        .export(&directory.target.app.store, email.as_str())
        .await
        .map_err(privacy_problem)?
    else {
        return Err(nobody());
    };
    if let Some(person) = vault
        .find_person(email.as_str())
        .await
        .map_err(privacy_problem)?
    {
        vault
            .log_read(
                &actor.metadata(TARGET),
                person,
                "/api/v1/people/export",
                "right_of_access",
            )
            .await
            .map_err(privacy_problem)?;
    }
    Ok(axum::Json(export))
}

#[derive(Debug, Deserialize)]
pub struct Erasure {
    email: String,
    reason: String,
}

/// `POST /api/v1/people/erase`: the person's key is destroyed; every field sealed with
/// it reads « donnée effacée » from now on, and their account stops working.
pub async fn erase(
    State(directory): State<Directory>,
    actor: Actor,
    Json(input): Json<Erasure>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManagePersonalData, Subject::Academy)?;
    let email = email(&input.email, "email")?;
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason-required",
            "Motif obligatoire",
            "Indiquez le motif de l'effacement : il est consigné.",
        )
        .with_field("reason", "obligatoire"));
    }
    let vault = &directory.target.vault;
    let Some(person) = vault
        .find_person(email.as_str())
        .await
        .map_err(privacy_problem)?
    else {
        return Err(nobody());
    };
    let recorded = vault
        .erase(
            &directory.target.app.store,
            person,
            reason,
            &actor.metadata(TARGET),
        )
        .await
        .map_err(privacy_problem)?;
    if let Some(appended) = recorded {
        directory.settle(appended.position).await;
    }
    Ok(axum::Json(json!({ "person": person, "erased": true })))
}

#[derive(Debug, Deserialize)]
pub struct ByPerson {
    person: String,
}

/// `GET /api/v1/read-log?person=E`: who read that person's data, when, and how.
pub async fn read_log(
    State(directory): State<Directory>,
    actor: Actor,
    Query(query): Query<ByPerson>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::ManagePersonalData, Subject::Academy)?;
    let email = email(&query.person, "person")?;
    let vault = &directory.target.vault;
    let Some(person) = vault
        .find_person(email.as_str())
        .await
        .map_err(privacy_problem)?
    else {
        return Err(nobody());
    };
    let reads = vault.reads_of(person).await.map_err(privacy_problem)?;
    Ok(axum::Json(json!({ "person": person, "reads": reads })))
}
