//! `contest(id)` and `nationalDay(schoolYear)`: one edition of the contest, one year's
//! Journée nationale. No table holds them (a handful of events each, read rarely): each
//! request folds the edition's or the year's own stream, a few events long.
//!
//! - An edition's dates, categories, prizes and rules come from its `edition_created`
//!   event (read as JSON, field by field, so that a field added to the event later does
//!   not break this reading); the counts of its entries by status come from
//!   `rm_entries`, limited to the caller's scope like `entries`.
//! - A national day's dates are those `national-day` answers: the pole's last
//!   `national_day_set`, each absent value computed by the shared rule
//!   ([`pharos_domain::national_day`]).

use async_graphql::{Context, Error, SimpleObject};
use pharos_domain::national_day::{NationalDayDates, Overrides};
use pharos_events::contest::{ContestCategory, EDITION_CATEGORY};
use pharos_events::national_day::{NATIONAL_DAY_CATEGORY, national_day_stream_id};
use pharos_events::phare::SchoolYear;
use pharos_eventstore::StreamId;
use serde_json::Value;

use crate::graphql::{HistoryEntry, history, internal, school_owned, state, tables, visibility};
use crate::sql::rows;

/// Une catégorie ou un prix spécial d'une édition.
#[derive(SimpleObject)]
pub struct Keyed {
    /// Sa clé (`college_video`, `cyberharcelement`…).
    key: String,
    /// Son intitulé.
    label: String,
}

/// Les règles d'une édition.
#[derive(SimpleObject)]
pub struct ContestRules {
    /// Supports admis (`video`, `affiche`…).
    media: Vec<String>,
    max_video_seconds: i64,
    max_file_bytes: i64,
    /// Types de fichiers admis.
    file_types: Vec<String>,
    max_entries_per_group: i64,
    nominees_per_category: i64,
}

/// Combien de participations ont un statut.
#[derive(SimpleObject, sqlx::FromRow)]
pub struct StatusCount {
    /// `draft`, `submitted`, `withdrawn`, `admissible` ou `inadmissible`.
    status: String,
    count: i64,
}

/// Une édition du concours « Non au harcèlement ».
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Contest {
    id: String,
    school_year: String,
    /// Numéro de l'édition.
    edition: i64,
    /// Ouverture des dépôts (UTC, RFC 3339).
    opens_at: String,
    /// Date limite de dépôt (UTC, RFC 3339).
    submission_deadline: String,
    /// Jury académique.
    jury_on: Option<String>,
    categories: Vec<Keyed>,
    special_prizes: Vec<Keyed>,
    rules: Option<ContestRules>,
    /// Dérogations de délai accordées à des établissements.
    deadline_extensions: i64,
    /// Palmarès publié.
    results_published: bool,
    /// Campagne close (participations archivées).
    campaign_closed: bool,
    /// Participations que l'appelant voit, par statut.
    entries_by_status: Vec<StatusCount>,
}

#[async_graphql::ComplexObject]
impl Contest {
    /// Son historique, du plus ancien au plus récent.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryEntry>, Error> {
        history(ctx, EDITION_CATEGORY, &self.id).await
    }
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn texts(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(text).collect())
        .unwrap_or_default()
}

fn keyed(value: &Value) -> Vec<Keyed> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some(Keyed {
                        key: text(&item["key"])?,
                        label: text(&item["label"])?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One edition, or `None` when no edition has this id.
pub async fn contest(ctx: &Context<'_>, id: &str) -> Result<Option<Contest>, Error> {
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| {
        Error::new("« id » : l'identifiant d'une édition est un UUID (ex. 0190…-…).")
    })?;
    let stream = StreamId::new(EDITION_CATEGORY, id).map_err(internal)?;
    let events = state(ctx)?
        .app
        .store
        .read_stream(&stream, 1)
        .await
        .map_err(internal)?;
    let Some(created) = events.iter().find(|e| e.event_type == "edition_created") else {
        return Ok(None);
    };
    let data = &created.data;
    let categories = serde_json::from_value::<Vec<ContestCategory>>(data["categories"].clone())
        .map(|all| {
            all.iter()
                .map(|c| Keyed {
                    key: c.key(),
                    label: c.label.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let number = |v: &Value| v.as_i64().unwrap_or_default();
    let rules = &data["rules"];
    let rules = rules.is_object().then(|| ContestRules {
        media: texts(&rules["media"]),
        max_video_seconds: number(&rules["max_video_seconds"]),
        max_file_bytes: number(&rules["max_file_bytes"]),
        file_types: texts(&rules["file_types"]),
        max_entries_per_group: number(&rules["max_entries_per_group"]),
        nominees_per_category: number(&rules["nominees_per_category"]),
    });
    let id = id.to_string();
    let mut filter = school_owned(visibility(ctx)?, None, None, None)?;
    filter.eq("contest_id", Some(id.clone()));
    let (state, g) = tables(ctx)?;
    let entries_by_status: Vec<StatusCount> = rows(
        &state.app.store.db(),
        g,
        &format!(
            "SELECT status, COUNT(*) AS count FROM rm_entries{} GROUP BY status ORDER BY status",
            filter.sql()
        ),
        &filter.binds,
    )
    .await
    .map_err(internal)?;
    let happened = |kind: &str| events.iter().any(|e| e.event_type == kind);
    Ok(Some(Contest {
        school_year: text(&data["school_year"]).unwrap_or_default(),
        edition: number(&data["edition"]),
        opens_at: text(&data["opens_at"]).unwrap_or_default(),
        submission_deadline: text(&data["submission_deadline"]).unwrap_or_default(),
        jury_on: text(&data["dates"]["jury_on"]).or_else(|| text(&data["jury_on"])),
        categories,
        special_prizes: keyed(&data["special_prizes"]),
        rules,
        deadline_extensions: events
            .iter()
            .filter(|e| e.event_type == "deadline_extended")
            .count() as i64,
        results_published: happened("results_published"),
        campaign_closed: happened("campaign_closed"),
        entries_by_status,
        id,
    }))
}

/// La Journée nationale « Non au harcèlement » d'une année scolaire.
#[derive(SimpleObject)]
pub struct NationalDay {
    school_year: String,
    /// La date qui s'applique.
    date: String,
    /// La date que donne la règle (premier jeudi après la rentrée de la Toussaint) ;
    /// absente au-delà des années connues.
    computed: Option<String>,
    /// Début de la fenêtre de campagne.
    window_start: String,
    /// Fin de la fenêtre de campagne.
    window_end: String,
    /// Date limite des comptes rendus des établissements.
    report_deadline: String,
    /// Le pôle a modifié la date, la fenêtre ou l'échéance.
    overridden: bool,
}

/// The national day of `year`, `None` when its date can be neither computed nor taken
/// from what the pole set.
pub async fn national_day(ctx: &Context<'_>, year: &str) -> Result<Option<NationalDay>, Error> {
    let year =
        SchoolYear::parse(year).map_err(|e| Error::new(format!("« schoolYear » : {}.", e.0)))?;
    let dates = national_day_dates(&state(ctx)?.app.store, year, None)
        .await
        .map_err(internal)?;
    Ok(dates.map(|d| NationalDay {
        school_year: year.to_string(),
        date: d.date.to_string(),
        computed: d.computed.map(|c| c.to_string()),
        window_start: d.window_start.to_string(),
        window_end: d.window_end.to_string(),
        report_deadline: d.report_deadline.to_string(),
        overridden: d.overridden,
    }))
}

/// The national day of `year` as it applies (the pole's last `national_day_set` recorded
/// by `until`, when given: the dates as they stood then), `None` when its date can be
/// neither computed nor taken from what the pole set.
pub(crate) async fn national_day_dates(
    store: &pharos_eventstore::EventStore,
    year: SchoolYear,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<NationalDayDates>, pharos_eventstore::StoreError> {
    let stream = StreamId::new(NATIONAL_DAY_CATEGORY, national_day_stream_id(year))?;
    let events = store.read_stream(&stream, 1).await?;
    // Each record is whole: the last one is what applies.
    let overrides = events
        .iter()
        .rev()
        .filter(|e| until.is_none_or(|until| e.recorded_at <= until))
        .find(|e| e.event_type == "national_day_set")
        .map(|e| {
            let day = |v: &Value| v.as_str().and_then(|t| t.parse().ok());
            let days = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
            Overrides {
                date: day(&e.data["date"]),
                window_days_before: days(&e.data["window_days_before"]),
                window_days_after: days(&e.data["window_days_after"]),
                report_deadline: day(&e.data["report_deadline"]),
            }
        })
        .unwrap_or_default();
    Ok(NationalDayDates::of(year, &overrides))
}
