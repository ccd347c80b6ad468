//! The expected reports of the national day: every open school of a department is
//! expected to report at least one national-day action of the year; a school has
//! reported when one of them (naming it among its schools) is submitted, validated or
//! published. A returned action is back with the school until it submits it again.

use std::collections::BTreeSet;

use axum::Extension;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use pharos_access::{Action as Act, Actor, SchoolRef, Subject, TargetState};
use pharos_decider::{Rejection, sentence};
use pharos_events::national_day::Campaign;
use pharos_events::phare::SchoolYear;
use pharos_events::{DepartmentCode, SchoolKind, Uai};
use pharos_web::{Path, Problem, Query};
use serde::{Deserialize, Serialize};

use crate::day::http::{edition, school_year_in_path};
use crate::index::Index;
use crate::input;

/// Quel département, et quelle page des établissements sans action.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportFilter {
    /// Département ; sans lui, tous ceux du périmètre de l'utilisateur.
    #[param(example = "31")]
    pub department: Option<String>,
    /// Nombre d'établissements sans action par page : 100 par défaut, 500 au plus.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Nombre d'établissements sans action à sauter (pagination).
    pub offset: Option<u32>,
}

/// Un établissement attendu qui n'a encore déposé aucune action de la Journée nationale.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = NationalDayMissingSchool)]
pub struct MissingSchoolView {
    /// UAI.
    #[schema(value_type = String, example = "0310001H")]
    pub uai: Uai,
    /// Nom.
    pub name: String,
    /// Type d'établissement.
    pub kind: SchoolKind,
    /// Département.
    #[schema(value_type = String, example = "31")]
    pub department: DepartmentCode,
}

/// Les bilans attendus et reçus de la Journée nationale d'une année.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = NationalDayReport)]
pub struct ReportView {
    /// Année scolaire.
    #[schema(value_type = String, example = "2025-2026")]
    pub school_year: SchoolYear,
    /// Département ; absent pour tout le périmètre de l'utilisateur.
    #[schema(value_type = Option<String>, example = "31")]
    pub department: Option<DepartmentCode>,
    /// Date de la Journée nationale.
    pub date: NaiveDate,
    /// Date limite des bilans.
    pub report_deadline: NaiveDate,
    /// Établissements ouverts attendus.
    pub expected: usize,
    /// Établissements attendus ayant au moins une action de la Journée nationale déposée,
    /// validée ou publiée.
    pub received: usize,
    /// Les établissements attendus sans action reçue, par UAI (une page).
    pub schools_without_action: Vec<MissingSchoolView>,
    /// Nombre d'établissements sans action reçue, toutes pages confondues.
    pub schools_without_action_total: usize,
}

/// `GET /api/v1/national-days/{school_year}/reports?department=`
#[utoipa::path(get, path = "/api/v1/national-days/{school_year}/reports", tag = "national-day",
    operation_id = "national_day_reports",
    summary = "Suivre les bilans attendus d'un département",
    description = "Chaque établissement ouvert du département est attendu ; il a rendu son \
                   bilan quand une action de la Journée nationale de l'année qui le nomme est \
                   déposée, validée ou publiée (une action renvoyée ne compte plus jusqu'à son \
                   nouveau dépôt). Le référent voit son département, le pôle tous.",
    params(
        ("school_year" = String, Path, description = "Année scolaire (ex. 2025-2026)"),
        ReportFilter,
    ),
    responses(
        (status = 200, description = "Bilans attendus et reçus", body = ReportView),
        (status = 403, description = "Réservé aux référents (leur département) et au pôle", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (année, département, date non calculable)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn reports(
    State(state): State<TargetState>,
    Extension(index): Extension<Index>,
    actor: Actor,
    Path(school_year): Path<String>,
    Query(filter): Query<ReportFilter>,
) -> Result<impl IntoResponse, Problem> {
    let year = school_year_in_path(
        &school_year,
        pharos_domain::today_in_france(state.clock.now()),
    )?;
    let department =
        input::trimmed(filter.department.as_deref())
            .map(|text| {
                state.access.academy.department(&text).map_err(|e| {
                    Rejection::invalid("invalid-department", "department", sentence(&e.0))
                })
            })
            .transpose()?;
    match &department {
        Some(department) => {
            actor.may(
                Act::ValidateAwarenessAction,
                Subject::Department(department),
            )?;
        }
        None => {
            let side = [
                pharos_events::Role::PoleManager,
                pharos_events::Role::DepartmentReferent,
            ];
            if !actor.held().any(|(role, _)| side.contains(&role)) {
                actor.may(Act::ValidateAwarenessAction, Subject::Academy)?;
            }
        }
    }
    let (edition, _) = edition(&state.app.store, year).await?;
    // Every school, a moment-old registration included, in the order of their UAI (the
    // page of schools without an action is the same from any process).
    let expected: Vec<SchoolRef> = state
        .access
        .reference
        .schools_now()
        .await?
        .into_iter()
        .filter(|s| !s.closed)
        .filter(|s| department.as_ref().is_none_or(|d| &s.department == d))
        .filter(|s| state.access.academy.contains(&s.department))
        .filter(|s| {
            actor
                .may(
                    Act::ValidateAwarenessAction,
                    Subject::School {
                        uai: &s.uai,
                        department: &s.department,
                    },
                )
                .is_ok()
        })
        .collect();
    let reported: BTreeSet<Uai> = index.read(|index| {
        index
            .actions
            .values()
            .map(|entry| &entry.state)
            .filter(|a| a.school_year == Some(year) && a.campaign == Campaign::NationalDay)
            .filter(|a| a.status.received())
            .filter_map(|a| a.details.as_ref())
            .flat_map(|d| d.schools.iter().map(|s| s.uai.clone()))
            .collect()
    });
    let total = expected.len();
    let missing: Vec<MissingSchoolView> = expected
        .into_iter()
        .filter(|s| !reported.contains(&s.uai))
        .map(|s| MissingSchoolView {
            uai: s.uai,
            name: s.name,
            kind: s.kind,
            department: s.department,
        })
        .collect();
    let received = total - missing.len();
    let (schools_without_action, missing_total) = input::page(missing, filter.limit, filter.offset);
    Ok(axum::Json(ReportView {
        school_year: year,
        department,
        date: edition.date,
        report_deadline: edition.report_deadline,
        expected: total,
        received,
        schools_without_action,
        schools_without_action_total: missing_total,
    }))
}
