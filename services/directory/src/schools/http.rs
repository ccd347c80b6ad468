//! Schools over HTTP: registering one, closing one, reading one. (Imports are in
//! `crate::import`.)

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use pharos_access::{Action, Actor, IfMatch, Subject};
use pharos_decider::{Rejection, execute, load};
use pharos_events::Uai;
use pharos_events::school::SchoolRecord;
use pharos_web::{Json, Path, Problem, Versioned};
use serde::{Deserialize, Serialize};

use super::{School, SchoolCommand, SchoolInput, stream};
use crate::{Directory, NAME};

fn field_errors(errors: Vec<(&'static str, String)>) -> Problem {
    let detail = errors
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join(" ; ");
    errors.into_iter().fold(
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-school",
            "Établissement refusé",
            format!("{detail}."),
        ),
        |p, (field, message)| p.with_field(field, message),
    )
}

/// Établissement enregistré : son UAI et la version de son flux.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedSchool {
    /// L'UAI de l'établissement.
    #[schema(example = "0310001H")]
    id: String,
    version: i64,
}

/// `POST /api/v1/schools`
#[utoipa::path(operation_id = "directory_schools_register", post, path = "/api/v1/schools", tag = "directory",
    summary = "Enregistrer un établissement",
    request_body = SchoolInput,
    responses(
        (status = 201, description = "Établissement enregistré ; son identifiant est son UAI", body = CreatedSchool),
        (status = 409, description = "Établissement déjà enregistré", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Établissement refusé : chaque champ en faute dans `errors`", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn register(
    State(directory): State<Directory>,
    actor: Actor,
    Json(input): Json<SchoolInput>,
) -> Result<impl IntoResponse, Problem> {
    let record = input
        .check(&directory.target.access.academy)
        .map_err(field_errors)?;
    actor.may(
        Action::ManageSchools,
        Subject::School {
            uai: &record.uai,
            department: &record.department,
        },
    )?;
    let stream = stream(&record.uai)?;
    let uai = record.uai.clone();
    let done = execute::<School, Problem>(
        &directory.target.app.store,
        &stream,
        &SchoolCommand::Register(record),
        directory.target.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
    if let Some(appended) = &done.appended {
        directory.readable(appended.position).await;
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedSchool {
            id: uai.to_string(),
            version: done.version,
        }),
    ))
}

/// Fermeture d'un établissement.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CloseInput {
    closed_on: NaiveDate,
    /// L'établissement qui lui succède (fusion), déjà enregistré.
    #[serde(default)]
    #[schema(example = "0310002J")]
    successor_uai: Option<String>,
}

/// `POST /api/v1/schools/{uai}/close`
#[utoipa::path(operation_id = "directory_schools_close", post, path = "/api/v1/schools/{uai}/close", tag = "directory",
    summary = "Fermer un établissement",
    request_body = CloseInput,
    params(("uai" = String, Path, description = "UAI de l'établissement", example = "0310001H")),
    responses(
        (status = 200, description = "Fait ; nouvelle version", body = pharos_web::Versioned),
        (status = 404, description = "Établissement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Établissement déjà fermé, ou version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Successeur refusé (UAI invalide, inconnu, ou l'établissement lui-même)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn close(
    State(directory): State<Directory>,
    actor: Actor,
    Path(uai): Path<String>,
    if_match: IfMatch,
    Json(input): Json<CloseInput>,
) -> Result<impl IntoResponse, Problem> {
    let reference = &directory.target.access.reference;
    let uai = Uai::parse(&uai).map_err(|_| Problem::not_found())?;
    let successor_uai = match input.successor_uai.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let successor = Uai::parse(s).map_err(|e| {
                Problem::from(Rejection::invalid(
                    "invalid-uai",
                    "successor_uai",
                    crate::labels::sentence(&e.0),
                ))
            })?;
            if reference.school(&successor).await?.is_none() {
                return Err(Problem::from(Rejection::invalid(
                    "successor-unknown",
                    "successor_uai",
                    format!("L'établissement successeur {successor} n'est pas enregistré."),
                )));
            }
            Some(successor)
        }
    };
    let Some(school) = reference.school(&uai).await? else {
        return Err(Problem::not_found());
    };
    actor.may(
        Action::ManageSchools,
        Subject::School {
            uai: &uai,
            department: &school.department,
        },
    )?;
    let done = execute::<School, Problem>(
        &directory.target.app.store,
        &stream(&uai)?,
        &SchoolCommand::Close {
            closed_on: input.closed_on,
            successor_uai,
        },
        directory.target.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
    if let Some(appended) = &done.appended {
        directory.readable(appended.position).await;
    }
    Ok(Versioned {
        version: done.version,
    })
}

/// Un établissement : sa fiche, sa fermeture éventuelle et la version de son flux.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SchoolView {
    #[serde(flatten)]
    record: SchoolRecord,
    closed_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, example = "0310002J")]
    successor_uai: Option<Uai>,
    version: i64,
}

/// `GET /api/v1/schools/{uai}`: any signed-in user (schools are public facts).
#[utoipa::path(operation_id = "directory_schools_get", get, path = "/api/v1/schools/{uai}", tag = "directory",
    summary = "Lire un établissement",
    description = "Ouvert à tout utilisateur connecté : les établissements sont des données publiques.",
    params(("uai" = String, Path, description = "UAI de l'établissement", example = "0310001H")),
    responses(
        (status = 200, description = "L'établissement", body = SchoolView),
        (status = 404, description = "Établissement inconnu", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(directory): State<Directory>,
    _actor: Actor,
    Path(uai): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let uai = Uai::parse(&uai).map_err(|_| Problem::not_found())?;
    let (school, version) = load::<School>(&directory.target.app.store, &stream(&uai)?).await?;
    let Some(record) = school.record else {
        return Err(Problem::not_found());
    };
    Ok(axum::Json(SchoolView {
        record,
        closed_on: school.closed_on,
        successor_uai: school.successor_uai,
        version,
    }))
}
