//! The national day's routes: read a year's edition (every account), set it (the pole),
//! and the controlled vocabularies of actions.

use axum::extract::State;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use pharos_access::{Action, Actor, IfMatch, Subject, TargetState};
use pharos_decider::{execute, load};
use pharos_events::national_day::{
    ActionType, AudienceLevel, Campaign, NATIONAL_DAY_CATEGORY, national_day_stream_id,
};
use pharos_events::phare::SchoolYear;
use pharos_eventstore::{EventStore, StreamId};
use pharos_web::{Json, Path, Problem, Versioned};
use serde::{Deserialize, Serialize};

use super::decider::{Edition, NationalDay, NationalDayCommand, Overrides};
use crate::{NAME, check_school_year, input};

pub fn stream(year: SchoolYear) -> Result<StreamId, Problem> {
    Ok(StreamId::new(
        NATIONAL_DAY_CATEGORY,
        national_day_stream_id(year),
    )?)
}

/// The edition of `year` as it applies (what the pole set, else computed), and the
/// version of its stream.
pub async fn edition(store: &EventStore, year: SchoolYear) -> Result<(Edition, i64), Problem> {
    let (state, version) = load::<NationalDay>(store, &stream(year)?).await?;
    Ok((Edition::of(year, &state.overrides)?, version))
}

/// The school year in a path, within the national day's years.
pub fn school_year_in_path(text: &str, today: NaiveDate) -> Result<SchoolYear, Problem> {
    let year = input::school_year(text)?;
    check_school_year(year, today)?;
    Ok(year)
}

/// La Journée nationale « Non au harcèlement » d'une année scolaire.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NationalDayView {
    /// Année scolaire.
    #[schema(value_type = String, example = "2025-2026")]
    pub school_year: SchoolYear,
    /// Date de la Journée nationale (fixée par le pôle, sinon calculée).
    #[schema(example = "2025-11-06")]
    pub date: NaiveDate,
    /// Date calculée : le premier jeudi à partir de la reprise des cours après les
    /// vacances de la Toussaint (le jeudi suivant si c'est le 11 novembre) ; absente pour
    /// une année que le fichier des reprises ne couvre pas.
    #[schema(example = "2025-11-06")]
    pub computed: Option<NaiveDate>,
    /// Premier jour de la fenêtre des actions de la Journée nationale.
    #[schema(example = "2025-10-07")]
    pub window_start: NaiveDate,
    /// Dernier jour de la fenêtre.
    #[schema(example = "2025-12-06")]
    pub window_end: NaiveDate,
    /// Jours de la fenêtre avant la date (30 par défaut).
    pub window_days_before: u32,
    /// Jours de la fenêtre après la date (30 par défaut).
    pub window_days_after: u32,
    /// Date limite des bilans des établissements (trois semaines après la date par
    /// défaut).
    #[schema(example = "2025-11-27")]
    pub report_deadline: NaiveDate,
    /// Le pôle a modifié au moins une valeur calculée.
    pub overridden: bool,
    /// Version du flux de l'année (0 sans modification du pôle), pour If-Match.
    pub version: i64,
}

impl NationalDayView {
    fn of(edition: Edition, version: i64) -> Self {
        Self {
            school_year: edition.school_year,
            date: edition.date,
            computed: edition.computed,
            window_start: edition.window_start,
            window_end: edition.window_end,
            window_days_before: edition.window_days_before,
            window_days_after: edition.window_days_after,
            report_deadline: edition.report_deadline,
            overridden: edition.overridden,
            version,
        }
    }
}

/// `GET /api/v1/national-days/{school_year}`
#[utoipa::path(get, path = "/api/v1/national-days/{school_year}", tag = "national-day",
    operation_id = "national_day_get",
    summary = "Lire la Journée nationale d'une année",
    description = "La date (calculée, ou fixée par le pôle), la fenêtre des actions et la date \
                   limite des bilans. La date calculée est le premier jeudi à partir de la \
                   reprise des cours après les vacances de la Toussaint ; si c'est le 11 \
                   novembre, le jeudi suivant.",
    params(("school_year" = String, Path, description = "Année scolaire (ex. 2025-2026)")),
    responses(
        (status = 200, description = "La Journée nationale de l'année", body = NationalDayView),
        (status = 422, description = "Année scolaire mal écrite ou antérieure à 2015-2016, ou date non calculable (année au-delà du fichier des reprises, sans date fixée par le pôle)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<TargetState>,
    _actor: Actor,
    Path(school_year): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    // Any year from the first national day may be read, ahead too (to plan); beyond
    // the shipped return days, the refusal names the file to extend.
    let year = input::school_year(&school_year)?;
    if year.start_year() < crate::FIRST_YEAR {
        check_school_year(year, pharos_domain::today_in_france(state.clock.now()))?;
    }
    let (edition, version) = edition(&state.app.store, year).await?;
    Ok(axum::Json(NationalDayView::of(edition, version)))
}

/// Ce que le pôle fixe pour l'année ; chaque valeur absente reprend la valeur calculée.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NationalDayInput {
    /// Date de la Journée nationale, dans l'année scolaire.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2025-11-13")]
    pub date: Option<String>,
    /// Jours de la fenêtre avant la date (120 au plus ; 30 par défaut).
    #[serde(default)]
    #[schema(maximum = 120, example = 30)]
    pub window_days_before: Option<u32>,
    /// Jours de la fenêtre après la date (120 au plus ; 30 par défaut).
    #[serde(default)]
    #[schema(maximum = 120, example = 30)]
    pub window_days_after: Option<u32>,
    /// Date limite des bilans, au plus tôt la date de la Journée, dans l'année scolaire
    /// (trois semaines après la date par défaut).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2025-12-04")]
    pub report_deadline: Option<String>,
}

/// `PUT /api/v1/national-days/{school_year}`
#[utoipa::path(put, path = "/api/v1/national-days/{school_year}", tag = "national-day",
    operation_id = "national_day_set",
    summary = "Fixer la date, la fenêtre ou la date limite des bilans",
    description = "Le pôle remplace les valeurs de l'année : chaque valeur donnée remplace la \
                   valeur calculée, chaque valeur absente la reprend (un corps vide revient aux \
                   valeurs calculées). Les actions déjà déclarées gardent leur date ; une action \
                   modifiée ensuite doit tenir dans la nouvelle fenêtre.",
    request_body = NationalDayInput,
    params(("school_year" = String, Path, description = "Année scolaire (ex. 2025-2026)")),
    responses(
        (status = 200, description = "Valeurs enregistrées (ou inchangées)", body = pharos_web::Versioned),
        (status = 403, description = "Réservé au pôle académique", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version périmée (If-Match)", body = pharos_web::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valeur refusée (année, date hors de l'année scolaire, fenêtre de plus de 120 jours, date limite avant la Journée ou hors de l'année, date non calculable)", body = pharos_web::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set(
    State(state): State<TargetState>,
    actor: Actor,
    Path(school_year): Path<String>,
    if_match: IfMatch,
    Json(body): Json<NationalDayInput>,
) -> Result<impl IntoResponse, Problem> {
    actor.may(Action::SetNationalDay, Subject::Academy)?;
    let year = school_year_in_path(
        &school_year,
        pharos_domain::today_in_france(state.clock.now()),
    )?;
    let date = |field: &'static str, value: &Option<String>| {
        input::trimmed(value.as_deref())
            .map(|text| input::date(field, &text))
            .transpose()
    };
    let overrides = Overrides {
        date: date("date", &body.date)?,
        window_days_before: body.window_days_before,
        window_days_after: body.window_days_after,
        report_deadline: date("report_deadline", &body.report_deadline)?,
    };
    let done = execute::<NationalDay, Problem>(
        &state.app.store,
        &stream(year)?,
        &NationalDayCommand::Set {
            school_year: year,
            overrides,
        },
        state.clock.now(),
        if_match.0,
        &actor.metadata(NAME),
    )
    .await?;
    Ok(Versioned {
        version: done.version,
    })
}

/// Un terme d'un vocabulaire contrôlé : son code (dans les requêtes) et son libellé.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = NationalDayTerm)]
pub struct TermView {
    /// Code, tel que les requêtes l'emploient.
    #[schema(example = "projection_debat")]
    pub code: &'static str,
    /// Libellé, en français.
    #[schema(example = "Projection-débat")]
    pub label: &'static str,
}

/// Les vocabulaires contrôlés des actions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = NationalDayVocabulary)]
pub struct VocabularyView {
    /// Types d'action.
    pub types: Vec<TermView>,
    /// Publics : niveaux, parents, personnels.
    pub audience_levels: Vec<TermView>,
    /// Campagnes.
    pub campaigns: Vec<TermView>,
}

pub fn types_view(types: &[ActionType]) -> Vec<TermView> {
    types
        .iter()
        .map(|t| TermView {
            code: t.as_str(),
            label: t.label(),
        })
        .collect()
}

pub fn levels_view(levels: &[AudienceLevel]) -> Vec<TermView> {
    levels
        .iter()
        .map(|l| TermView {
            code: l.as_str(),
            label: l.label(),
        })
        .collect()
}

/// `GET /api/v1/national-days/vocabulary`
#[utoipa::path(get, path = "/api/v1/national-days/vocabulary", tag = "national-day",
    operation_id = "national_day_vocabulary",
    summary = "Lire les types d'action et les publics",
    description = "Les codes que les actions emploient (types, publics, campagnes), avec leur \
                   libellé.",
    responses(
        (status = 200, description = "Les vocabulaires", body = VocabularyView),
    ),
    security(("bearer" = [])))]
pub async fn vocabulary(_actor: Actor) -> impl IntoResponse {
    axum::Json(VocabularyView {
        types: types_view(ActionType::ALL),
        audience_levels: levels_view(AudienceLevel::ALL),
        campaigns: Campaign::ALL
            .iter()
            .map(|c| TermView {
                code: c.as_str(),
                label: c.label(),
            })
            .collect(),
    })
}
