//! The school registry (category `school`): the decider, the input checks shared by
//! the HTTP form and the import, and the handlers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use pharos_access::{Action, Actor, IfMatch, Subject};
use pharos_decider::{Decider, execute};
use pharos_events::school::{CATEGORY, SchoolEvent, SchoolRecord};
use pharos_events::{Academy, PriorityEducation, SchoolKind, Sector, Uai};
use pharos_eventstore::StreamId;
use pharos_web::{Json, Path, Problem, Versioned};
use pharos_decider::Rejection;
use serde::{Deserialize, Serialize};

use crate::{Directory, NAME};

/// Un établissement tel que saisi dans le formulaire ou lu dans une ligne CSV, avant
/// contrôle.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SchoolInput {
    #[schema(example = "0310001H")]
    pub uai: String,
    pub name: String,
    /// `ecole`, `college`, `lycee_gt`, `lycee_pro`, `lycee_poly`, `erea`, `periscolaire`.
    #[schema(example = "college")]
    pub kind: String,
    /// `public` ou `prive_sous_contrat`.
    #[schema(example = "public")]
    pub sector: String,
    /// Département de l'académie (`31` ou `031`).
    #[schema(example = "31")]
    pub department: String,
    pub commune: String,
    /// Circonscription de l'IEN : obligatoire pour une école (1er degré).
    #[serde(default)]
    pub circonscription: Option<String>,
    /// `none` (par défaut), `rep` ou `rep_plus`.
    #[serde(default)]
    pub priority_education: Option<String>,
}

impl SchoolInput {
    /// The checked record, or every field at fault with its French reason.
    pub fn check(&self, academy: &Academy) -> Result<SchoolRecord, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let uai = Uai::parse(&self.uai)
            .map_err(|e| errors.push(("uai", e.0)))
            .ok();
        let name = self.name.trim();
        if name.is_empty() {
            errors.push(("name", "le nom de l'établissement est vide".to_owned()));
        }
        let kind = SchoolKind::parse(&self.kind)
            .map_err(|e| errors.push(("kind", e.0)))
            .ok();
        let sector = Sector::parse(&self.sector)
            .map_err(|e| errors.push(("sector", e.0)))
            .ok();
        let department = academy
            .department(&self.department)
            .map_err(|e| errors.push(("department", e.0)))
            .ok();
        let commune = self.commune.trim();
        if commune.is_empty() {
            errors.push(("commune", "la commune est vide".to_owned()));
        }
        let circonscription = self
            .circonscription
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if kind.is_some_and(SchoolKind::is_primary) && circonscription.is_none() {
            errors.push((
                "circonscription",
                "une école (1er degré) doit appartenir à une circonscription".to_owned(),
            ));
        }
        let priority_education = match self.priority_education.as_deref().map(str::trim) {
            None | Some("") => Some(PriorityEducation::None),
            Some(p) => PriorityEducation::parse(p)
                .map_err(|e| errors.push(("priority_education", e.0)))
                .ok(),
        };
        match (uai, kind, sector, department, priority_education) {
            (Some(uai), Some(kind), Some(sector), Some(department), Some(priority_education))
                if errors.is_empty() =>
            {
                Ok(SchoolRecord {
                    uai,
                    name: name.to_owned(),
                    kind,
                    sector,
                    department,
                    commune: commune.to_owned(),
                    circonscription,
                    priority_education,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A school's stream: `school-<UAI>`.
pub fn stream(uai: &Uai) -> Result<StreamId, Problem> {
    Ok(StreamId::new(CATEGORY, uai)?)
}

#[derive(Debug, Clone, Default)]
pub struct School {
    pub record: Option<SchoolRecord>,
    pub closed_on: Option<NaiveDate>,
    pub successor_uai: Option<Uai>,
}

#[derive(Debug, Clone)]
pub enum SchoolCommand {
    /// A new school; an existing one is a conflict.
    Register(SchoolRecord),
    /// A line of an import: registers, updates, or changes nothing.
    Import(SchoolRecord),
    Close {
        closed_on: NaiveDate,
        successor_uai: Option<Uai>,
    },
}

/// The registry's decider.
#[derive(Debug)]
pub struct Registry;

impl Decider for Registry {
    type State = School;
    type Command = SchoolCommand;
    type Event = SchoolEvent;

    fn evolve(mut state: School, event: &SchoolEvent) -> School {
        match event {
            SchoolEvent::SchoolRegistered(record) | SchoolEvent::SchoolUpdated(record) => {
                state.record = Some(record.clone());
            }
            SchoolEvent::SchoolClosed {
                closed_on,
                successor_uai,
            } => {
                state.closed_on = Some(*closed_on);
                state.successor_uai.clone_from(successor_uai);
            }
        }
        state
    }

    fn decide(
        command: &SchoolCommand,
        state: &School,
        _now: DateTime<Utc>,
    ) -> Result<Vec<SchoolEvent>, Rejection> {
        match (command, &state.record) {
            (SchoolCommand::Register(record), None) => {
                Ok(vec![SchoolEvent::SchoolRegistered(record.clone())])
            }
            (SchoolCommand::Register(record), Some(_)) => Err(Rejection::conflict(
                "school-exists",
                format!("L'établissement {} est déjà enregistré.", record.uai),
            )),
            (SchoolCommand::Import(record), None) => {
                Ok(vec![SchoolEvent::SchoolRegistered(record.clone())])
            }
            (SchoolCommand::Import(_), Some(_)) if state.closed_on.is_some() => {
                Err(Rejection::conflict(
                    "school-closed",
                    format!(
                        "établissement fermé le {} : la ligne n'est pas appliquée",
                        state.closed_on.unwrap_or_default().format("%d/%m/%Y")
                    ),
                ))
            }
            (SchoolCommand::Import(record), Some(current)) if record == current => Ok(vec![]),
            (SchoolCommand::Import(record), Some(_)) => {
                Ok(vec![SchoolEvent::SchoolUpdated(record.clone())])
            }
            (SchoolCommand::Close { .. }, None) => Err(Rejection::not_found(
                "school-unknown",
                "Cet établissement n'est pas enregistré.",
            )),
            (SchoolCommand::Close { .. }, Some(_)) if state.closed_on.is_some() => {
                Err(Rejection::conflict(
                    "school-already-closed",
                    format!(
                        "L'établissement est déjà fermé depuis le {}.",
                        state.closed_on.unwrap_or_default().format("%d/%m/%Y")
                    ),
                ))
            }
            (
                SchoolCommand::Close {
                    closed_on,
                    successor_uai,
                },
                Some(record),
            ) => {
                if successor_uai.as_ref() == Some(&record.uai) {
                    return Err(Rejection::invalid(
                        "successor-is-itself",
                        "successor_uai",
                        "Un établissement ne peut pas se succéder à lui-même.",
                    ));
                }
                Ok(vec![SchoolEvent::SchoolClosed {
                    closed_on: *closed_on,
                    successor_uai: successor_uai.clone(),
                }])
            }
        }
    }
}

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
    let done = execute::<Registry, Problem>(
        &directory.target.app.store,
        &stream,
        &SchoolCommand::Register(record),
        directory.target.clock.now(),
        None,
        &actor.metadata(NAME),
    )
    .await?;
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
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-uai",
                    "UAI invalide",
                    e.0.clone(),
                )
                .with_field("successor_uai", e.0)
            })?;
            if reference.school(&successor).await?.is_none() {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "successor-unknown",
                    "Successeur inconnu",
                    format!("L'établissement successeur {successor} n'est pas enregistré."),
                )
                .with_field("successor_uai", "établissement non enregistré"));
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
    let done = execute::<Registry, Problem>(
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
    Ok(axum::Json(Versioned {
        version: done.version,
    }))
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
    let (school, version) =
        pharos_decider::load::<Registry>(&directory.target.app.store, &stream(&uai)?).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> SchoolRecord {
        SchoolInput {
            uai: "0310001H".into(),
            name: name.into(),
            kind: "college".into(),
            sector: "public".into(),
            department: "31".into(),
            commune: "Toulouse".into(),
            circonscription: None,
            priority_education: Some("rep".into()),
        }
        .check(&Academy::toulouse())
        .unwrap()
    }

    fn given(events: &[SchoolEvent]) -> School {
        events.iter().fold(School::default(), Registry::evolve)
    }

    #[test]
    fn an_import_registers_then_changes_nothing_then_updates() {
        let now = Utc::now();
        let first = Registry::decide(
            &SchoolCommand::Import(record("Collège A")),
            &given(&[]),
            now,
        )
        .unwrap();
        assert!(matches!(first[..], [SchoolEvent::SchoolRegistered(_)]));
        let same = Registry::decide(
            &SchoolCommand::Import(record("Collège A")),
            &given(&first),
            now,
        )
        .unwrap();
        assert!(same.is_empty());
        let changed = Registry::decide(
            &SchoolCommand::Import(record("Collège B")),
            &given(&first),
            now,
        )
        .unwrap();
        assert!(matches!(&changed[..], [SchoolEvent::SchoolUpdated(r)] if r.name == "Collège B"));
    }

    #[test]
    fn rejects_registering_a_school_twice_and_closing_it_twice() {
        let now = Utc::now();
        let registered = [SchoolEvent::SchoolRegistered(record("Collège A"))];
        let error = Registry::decide(
            &SchoolCommand::Register(record("Collège A")),
            &given(&registered),
            now,
        )
        .unwrap_err();
        assert_eq!(error.rule, "school-exists");
        let close = SchoolCommand::Close {
            closed_on: NaiveDate::from_ymd_opt(2026, 8, 31).unwrap(),
            successor_uai: None,
        };
        let closed = Registry::decide(&close, &given(&registered), now).unwrap();
        let mut history = registered.to_vec();
        history.extend(closed);
        assert_eq!(
            Registry::decide(&close, &given(&history), now)
                .unwrap_err()
                .rule,
            "school-already-closed"
        );
        assert_eq!(
            Registry::decide(&SchoolCommand::Import(record("X")), &given(&history), now)
                .unwrap_err()
                .rule,
            "school-closed"
        );
    }

    #[test]
    fn a_school_cannot_succeed_itself() {
        let registered = [SchoolEvent::SchoolRegistered(record("Collège A"))];
        let close = SchoolCommand::Close {
            closed_on: NaiveDate::from_ymd_opt(2026, 8, 31).unwrap(),
            successor_uai: Some(Uai::parse("0310001H").unwrap()),
        };
        let error = Registry::decide(&close, &given(&registered), Utc::now()).unwrap_err();
        assert_eq!(
            (error.rule, error.field),
            ("successor-is-itself", Some("successor_uai"))
        );
    }

    #[test]
    fn a_primary_school_needs_a_circonscription_and_a_department_of_the_academy() {
        let input = SchoolInput {
            uai: "0310001H".into(),
            name: "École Jean Jaurès".into(),
            kind: "ecole".into(),
            sector: "public".into(),
            department: "33".into(),
            commune: "Toulouse".into(),
            circonscription: Some("  ".into()),
            priority_education: None,
        };
        let errors = input.check(&Academy::toulouse()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["department", "circonscription"]);
    }
}
