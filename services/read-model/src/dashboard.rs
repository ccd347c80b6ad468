//! `dashboard(schoolYear, department, asOf)`: the indicators of DOMAIN.md §Indicators,
//! read from the indicator projections ([`crate::indicators`]) as they stood at `asOf`
//! (the fact rows valid at that instant), aggregated in SQL — no replay per request.
//!
//! Dimensions come from the schools of the lists projection's live generation, joined
//! at query time: a school's department, circonscription and kind are today's, and a
//! school counts in a denominator when it was open on `asOf`'s day (not closed by then).
//! Each ratio is computed down to (department, circonscription, kind) cells in one
//! statement; its total and breakdowns add the cells up.
//!
//! Group 8 (overdue) reads groups 1, 5 and 6's tables (and the national day's dates from
//! its stream); only its reminders have a projection of their own. The contest's trend reads the same
//! tables for the previous year, a year before `asOf`.
//!
//! Scope, as the lists ([`crate::scope`]): the pole sees the academy (or the department
//! it asks); a referent sees its department — asking another answers empty figures, not
//! an error; a school sees its own school's figures (its trainings: its department's
//! sessions); any other caller sees empty figures.

use std::collections::BTreeMap;

use async_graphql::{
    Context, Error, InputValueResult, Object, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::{DateTime, Months, NaiveDate, SecondsFormat, Utc};
use pharos_access::TargetState;
use pharos_domain::compliance::{LEARNING_HOURS_REQUIRED, TRAINED_MEMBERS_REQUIRED};
use pharos_events::national_day::ActionType;
use pharos_events::phare::{LabelLevel, SchoolYear};
use pharos_eventstore::{Db, EventStore};

use crate::indicators::{self, instant};
use crate::scope::Visibility;
use crate::sql::{Filter, rows};
use crate::tables::{Descriptor, Generation, live_of};

/// Collèges and lycées: groups 1 and 2.
const SECONDARY: &str = "('college', 'lycee_gt', 'lycee_pro', 'lycee_poly')";
/// Schools pHARe applies to: écoles, collèges, lycées (groups 3, 4).
const PHARE: &str = "('ecole', 'college', 'lycee_gt', 'lycee_pro', 'lycee_poly')";
/// Pupil ambassadors of a collège or lycée.
const AMBASSADORS_REQUIRED: i64 = 10;

/// Un instant, au format RFC 3339 (`2026-11-05T09:00:00+01:00`).
pub struct Instant(pub String);

#[Scalar(name = "DateTime")]
impl ScalarType for Instant {
    fn parse(value: Value) -> InputValueResult<Self> {
        // Read as text here, checked by the resolver: its refusal is French.
        match value {
            Value::String(text) => Ok(Self(text)),
            other => Err(async_graphql::InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// The root of the dashboard queries, merged into the schema's query root.
#[derive(Default)]
pub struct DashboardQuery;

#[Object]
impl DashboardQuery {
    /// Les indicateurs du pôle pour une année scolaire, tels qu'ils étaient à l'instant
    /// `asOf` (maintenant par défaut), limités au périmètre de l'appelant : un référent
    /// voit son département (un autre département demandé donne des indicateurs vides),
    /// un établissement ses propres chiffres, le pôle toute l'académie ou le département
    /// demandé. Les attributs des établissements (département, circonscription, type)
    /// sont ceux d'aujourd'hui.
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "L'année scolaire, par exemple « 2026-2027 ».")] school_year: String,
        #[graphql(desc = "Un département (« 31 ») : ses seuls indicateurs.")] department: Option<
            String,
        >,
        #[graphql(
            desc = "L'instant auquel lire les indicateurs (RFC 3339) ; maintenant par défaut."
        )]
        as_of: Option<Instant>,
    ) -> Result<Dashboard, Error> {
        let year = SchoolYear::parse(&school_year)
            .map_err(|e| Error::new(format!("« schoolYear » : {}.", e.0)))?;
        let at = match as_of {
            None => Utc::now(),
            Some(Instant(text)) => DateTime::parse_from_rfc3339(&text)
                .map_err(|_| {
                    Error::new(format!(
                        "« asOf » : « {text} » n'est pas un instant RFC 3339 \
                         (par exemple 2026-11-05T09:00:00+01:00)."
                    ))
                })?
                .with_timezone(&Utc),
        };
        let state = ctx.data::<TargetState>()?;
        let seen = ctx.data::<Visibility>()?.clone();
        let lists = *ctx.data::<Generation>()?;
        let db = state.app.store.db();
        // Every projection's live generation in one statement; one not created yet (the
        // projector has not started) is created empty.
        let found: Vec<(String, i64, i64)> = pharos_eventstore::on_db!(&db, |pool| {
            sqlx::query_as("SELECT projection, live, definition FROM rm_generations")
                .fetch_all(pool)
                .await
        })
        .map_err(internal)?;
        let mut live = BTreeMap::new();
        for descriptor in indicators::DESCRIPTORS {
            let known = found
                .iter()
                .find(|(name, _, _)| name == descriptor.name)
                .map(|(_, generation, definition)| (Generation(*generation), *definition));
            let known = match known {
                Some(known) => known,
                None => (
                    live_of(&db, descriptor).await.map_err(internal)?,
                    descriptor.definition,
                ),
            };
            live.insert(descriptor.name, known);
        }
        Ok(Dashboard {
            year,
            department,
            at,
            day: at.with_timezone(&chrono_tz::Europe::Paris).date_naive(),
            seen,
            lists,
            live,
            db,
            store: state.app.store.clone(),
        })
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "dashboard query failed");
    Error::new("Le modèle de lecture ne répond pas ; réessayez dans un instant.")
}

/// The dashboard of one request: what it asks, who asks, which tables it reads.
pub struct Dashboard {
    year: SchoolYear,
    department: Option<String>,
    at: DateTime<Utc>,
    /// `at`'s day in the academy (Europe/Paris): dated facts (a charter's term, a
    /// protocol's presentation) count from their day.
    day: NaiveDate,
    seen: Visibility,
    lists: Generation,
    /// Each indicator projection's live generation and the definition it was built with.
    live: BTreeMap<&'static str, (Generation, i64)>,
    db: Db,
    /// The log, for the national day's dates (group 8).
    store: EventStore,
}

/// Une part : `count` sur `of`, et `value` = `count / of` (nulle quand `of` vaut 0).
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct IndicatorRatio {
    /// `count / of`, entre 0 et 1 ; nulle quand `of` vaut 0.
    value: Option<f64>,
    /// Le numérateur.
    count: i64,
    /// Le dénominateur.
    of: i64,
}

impl IndicatorRatio {
    fn new(count: i64, of: i64) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let value = (of > 0).then(|| count as f64 / of as f64);
        Self { value, count, of }
    }
}

/// Une part pour une valeur d'une dimension.
#[derive(SimpleObject, Debug, Clone)]
pub struct IndicatorRatioPart {
    /// Le département, la circonscription ou le type d'établissement.
    key: String,
    /// `count / of` ; nulle quand `of` vaut 0.
    value: Option<f64>,
    /// Le numérateur.
    count: i64,
    /// Le dénominateur.
    of: i64,
}

/// Un indicateur en part d'établissements (ou de circonscriptions), avec sa
/// ventilation par département, circonscription et type d'établissement.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct IndicatorShare {
    /// `count / of` ; nulle quand `of` vaut 0.
    value: Option<f64>,
    /// Le numérateur.
    count: i64,
    /// Le dénominateur.
    of: i64,
    /// Par département.
    by_department: Vec<IndicatorRatioPart>,
    /// Par circonscription (écoles seulement : les collèges et lycées n'en ont pas).
    by_circonscription: Vec<IndicatorRatioPart>,
    /// Par type d'établissement (`ecole`, `college`, `lycee_gt`…).
    by_kind: Vec<IndicatorRatioPart>,
}

/// Un total pour une valeur d'une dimension.
#[derive(SimpleObject, Debug, Clone)]
pub struct IndicatorTotalPart {
    /// Le département, la circonscription ou le type d'établissement.
    key: String,
    /// Le total.
    total: i64,
}

/// Un total, avec sa ventilation par département, circonscription et type
/// d'établissement.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct IndicatorTotal {
    /// Le total.
    total: i64,
    /// Par département.
    by_department: Vec<IndicatorTotalPart>,
    /// Par circonscription (écoles seulement).
    by_circonscription: Vec<IndicatorTotalPart>,
    /// Par type d'établissement.
    by_kind: Vec<IndicatorTotalPart>,
}

/// One cell: department, circonscription (empty when none), kind, numerator,
/// denominator (a total: the numerator alone).
type Cell = (String, String, String, i64, i64);

fn share(cells: &[Cell]) -> IndicatorShare {
    let parts = |key: fn(&Cell) -> &str| {
        let mut sums: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for cell in cells {
            let k = key(cell);
            if k.is_empty() {
                continue;
            }
            let sum = sums.entry(k.to_owned()).or_default();
            sum.0 += cell.3;
            sum.1 += cell.4;
        }
        sums.into_iter()
            .map(|(key, (count, of))| {
                let IndicatorRatio { value, count, of } = IndicatorRatio::new(count, of);
                IndicatorRatioPart {
                    key,
                    value,
                    count,
                    of,
                }
            })
            .collect()
    };
    let IndicatorRatio { value, count, of } = IndicatorRatio::new(
        cells.iter().map(|c| c.3).sum(),
        cells.iter().map(|c| c.4).sum(),
    );
    IndicatorShare {
        value,
        count,
        of,
        by_department: parts(|c| &c.0),
        by_circonscription: parts(|c| &c.1),
        by_kind: parts(|c| &c.2),
    }
}

fn total(cells: &[Cell]) -> IndicatorTotal {
    let parts = |key: fn(&Cell) -> &str| {
        let mut sums: BTreeMap<String, i64> = BTreeMap::new();
        for cell in cells {
            if !key(cell).is_empty() {
                *sums.entry(key(cell).to_owned()).or_default() += cell.3;
            }
        }
        sums.into_iter()
            .map(|(key, total)| IndicatorTotalPart { key, total })
            .collect()
    };
    IndicatorTotal {
        total: cells.iter().map(|c| c.3).sum(),
        by_department: parts(|c| &c.0),
        by_circonscription: parts(|c| &c.1),
        by_kind: parts(|c| &c.2),
    }
}

/// A fact row of table `t` valid at the instant bound as `at`.
fn valid(t: &str, at: &str) -> String {
    format!("{t}.valid_from <= {at} AND ({t}.valid_to IS NULL OR {t}.valid_to > {at})")
}

impl Dashboard {
    /// `table` of the indicator projection `descriptor`, in its live generation.
    fn table(&self, descriptor: &Descriptor, table: &str) -> String {
        let (generation, _) = self
            .live
            .get(descriptor.name)
            .copied()
            .unwrap_or((Generation(1), descriptor.definition));
        generation.table(table)
    }

    fn version(&self, descriptor: &Descriptor) -> i64 {
        self.live
            .get(descriptor.name)
            .map_or(descriptor.definition, |(_, definition)| *definition)
    }

    /// The schools `s` in the caller's scope (and the department asked).
    fn school_scope(&self, filter: &mut Filter) {
        if !self.seen.all {
            filter.any_of(&[
                ("s.department", &self.seen.departments),
                ("s.uai", &self.seen.schools),
            ]);
        }
        filter.eq("s.department", self.department.clone());
    }

    /// The schools `s` open on the day asked (its placeholder).
    fn open(filter: &mut Filter, day: &str) {
        filter.raw(&format!("(s.closed_on IS NULL OR s.closed_on > {day})"));
    }

    /// Rows of `sql` (the lists' tables unsuffixed, the indicators' named).
    async fn cells(&self, sql: &str, filter: &Filter) -> Result<Vec<Cell>, Error> {
        rows::<Cell>(&self.db, self.lists, sql, &filter.binds)
            .await
            .map_err(internal)
    }

    /// Of the open schools of `kinds` in scope, those `flagged` names (a query of one
    /// `uai` column, given the placeholders of the year, the instant and the day).
    async fn school_share(
        &self,
        kinds: &str,
        flagged: impl FnOnce(&str, &str, &str) -> String,
    ) -> Result<IndicatorShare, Error> {
        let mut filter = Filter::default();
        let year = filter.bind(self.year.to_string());
        let at = filter.bind(instant(self.at));
        let day = filter.bind(self.day.to_string());
        let flagged = flagged(&year, &at, &day);
        filter.raw(&format!("s.kind IN {kinds}"));
        Self::open(&mut filter, &day);
        self.school_scope(&mut filter);
        let sql = format!(
            "SELECT s.department, COALESCE(s.circonscription, ''), s.kind, \
             CAST(SUM(CASE WHEN f.uai IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) \
             FROM rm_schools s LEFT JOIN (SELECT DISTINCT uai FROM ({flagged}) x) f \
             ON f.uai = s.uai{} \
             GROUP BY s.department, COALESCE(s.circonscription, ''), s.kind",
            filter.sql()
        );
        Ok(share(&self.cells(&sql, &filter).await?))
    }

    /// The same dashboard for the year before, read a year before `asOf` (the same
    /// moment of that year's calendar): what a trend compares with.
    fn a_year_before(&self) -> Self {
        let at = self
            .at
            .checked_sub_months(Months::new(12))
            .unwrap_or(self.at);
        Self {
            year: self.year.previous(),
            department: self.department.clone(),
            at,
            day: at.with_timezone(&chrono_tz::Europe::Paris).date_naive(),
            seen: self.seen.clone(),
            lists: self.lists,
            live: self.live.clone(),
            db: self.db.clone(),
            store: self.store.clone(),
        }
    }

    /// Of the circonscriptions of the open écoles in scope, those with a deployment of
    /// the year meeting `condition` (on the row `t` of group 1's teams).
    async fn circonscription_share(&self, condition: &str) -> Result<IndicatorShare, Error> {
        let teams = self.table(&indicators::TRAINED_TEAMS, "rm_ind_teams");
        let mut filter = Filter::default();
        let year = filter.bind(self.year.to_string());
        let at = filter.bind(instant(self.at));
        let day = filter.bind(self.day.to_string());
        filter.raw("s.kind = 'ecole' AND s.circonscription IS NOT NULL");
        Self::open(&mut filter, &day);
        self.school_scope(&mut filter);
        let sql = format!(
            "SELECT c.department, c.circonscription, 'ecole', \
             CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM {teams} t \
                 WHERE t.circonscription = c.circonscription AND t.department = c.department \
                 AND t.school_year = {year} AND {} AND {condition}) \
             THEN 1 ELSE 0 END) AS BIGINT), CAST(COUNT(*) AS BIGINT) \
             FROM (SELECT DISTINCT s.department, s.circonscription FROM rm_schools s{}) c \
             GROUP BY c.department, c.circonscription",
            valid("t", &at),
            filter.sql()
        );
        Ok(share(&self.cells(&sql, &filter).await?))
    }

    /// A sum over fact rows `f` joined to their school `s`, in scope, by cell.
    async fn school_total(
        &self,
        sum: &str,
        from: impl FnOnce(&str, &str) -> (String, String),
    ) -> Result<IndicatorTotal, Error> {
        let mut filter = Filter::default();
        let year = filter.bind(self.year.to_string());
        let at = filter.bind(instant(self.at));
        let (table, condition) = from(&year, &at);
        filter.raw(&condition);
        self.school_scope(&mut filter);
        let sql = format!(
            "SELECT s.department, COALESCE(s.circonscription, ''), s.kind, \
             CAST(COALESCE(SUM({sum}), 0) AS BIGINT), CAST(0 AS BIGINT) \
             FROM {table} f JOIN rm_schools s ON s.uai = f.school_uai{} \
             GROUP BY s.department, COALESCE(s.circonscription, ''), s.kind",
            filter.sql()
        );
        Ok(total(&self.cells(&sql, &filter).await?))
    }
}

#[Object]
impl Dashboard {
    /// L'année scolaire des indicateurs.
    async fn school_year(&self) -> String {
        self.year.to_string()
    }

    /// Le département demandé, s'il y en a un.
    async fn department(&self) -> Option<&str> {
        self.department.as_deref()
    }

    /// L'instant auquel les indicateurs sont lus (UTC).
    async fn as_of(&self) -> Instant {
        Instant(self.at.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    /// 1. Équipes ressources d'au moins 5 membres formés.
    async fn trained_teams(&self) -> TrainedTeamsIndicators<'_> {
        TrainedTeamsIndicators(self)
    }

    /// 2. Élèves et parents ambassadeurs.
    async fn ambassadors(&self) -> AmbassadorsIndicators<'_> {
        AmbassadorsIndicators(self)
    }

    /// 3. LabelsIndicators pHARe par niveau, et leur évolution sur un an.
    async fn labels(&self) -> LabelsIndicators<'_> {
        LabelsIndicators(self)
    }

    /// 4. Étapes pHARe : charte en vigueur, protocole présenté, 10 heures planifiées,
    /// atelier parents tenu.
    async fn phare_steps(&self) -> PhareStepsIndicators<'_> {
        PhareStepsIndicators(self)
    }

    /// 5. Journée nationale « Non au harcèlement » : établissements ayant mené une
    /// action, actions par type, élèves touchés, bilans reçus.
    async fn national_day(&self) -> NationalDayIndicators<'_> {
        NationalDayIndicators(self)
    }

    /// 6. Concours « Non au harcèlement » : participations déposées, taux de
    /// participation, participations irrecevables et leurs motifs, lauréats, évolution
    /// sur un an.
    async fn contest(&self) -> ContestIndicators<'_> {
        ContestIndicators(self)
    }

    /// 8. Retards : bilans de la Journée nationale manquants après l'échéance, équipes
    /// ressources non déclarées, participations au concours restées en brouillon après la
    /// date limite.
    async fn overdue(&self) -> OverdueIndicators<'_> {
        OverdueIndicators(self)
    }

    /// 7. Formations : sessions, heures délivrées, assiduité, personnes formées à la
    /// méthode de la préoccupation partagée, couverture des établissements.
    async fn trainings(&self) -> TrainingsIndicators<'_> {
        TrainingsIndicators(self, tokio::sync::OnceCell::new())
    }
}

/// 1. Équipes ressources d'au moins 5 membres formés (définition versionnée).
pub struct TrainedTeamsIndicators<'a>(&'a Dashboard);

#[Object]
impl TrainedTeamsIndicators<'_> {
    /// La version de la définition dont les chiffres sont issus.
    async fn definition_version(&self) -> i64 {
        self.0.version(&indicators::TRAINED_TEAMS)
    }

    /// Part des collèges et lycées ouverts dont l'équipe ressource de l'année compte au
    /// moins 5 membres formés.
    async fn schools(&self) -> Result<IndicatorShare, Error> {
        let d = self.0;
        let teams = d.table(&indicators::TRAINED_TEAMS, "rm_ind_teams");
        d.school_share(SECONDARY, |year, at, _| {
            format!(
                "SELECT t.school_uai AS uai FROM {teams} t WHERE t.school_year = {year} \
                 AND {} AND t.trained >= {TRAINED_MEMBERS_REQUIRED}",
                valid("t", at)
            )
        })
        .await
    }

    /// Part des circonscriptions (celles des écoles ouvertes du périmètre) dont l'équipe
    /// ressource de l'année compte au moins 5 membres formés.
    async fn circonscriptions(&self) -> Result<IndicatorShare, Error> {
        self.0
            .circonscription_share(&format!("t.trained >= {TRAINED_MEMBERS_REQUIRED}"))
            .await
    }
}

/// 2. Ambassadeurs (définition versionnée).
pub struct AmbassadorsIndicators<'a>(&'a Dashboard);

#[Object]
impl AmbassadorsIndicators<'_> {
    /// La version de la définition dont les chiffres sont issus.
    async fn definition_version(&self) -> i64 {
        self.0.version(&indicators::AMBASSADORS)
    }

    /// Part des collèges et lycées ouverts dont les cohortes d'élèves déclarées de
    /// l'année comptent au moins 10 ambassadeurs.
    async fn schools(&self) -> Result<IndicatorShare, Error> {
        let d = self.0;
        let cohorts = d.table(&indicators::AMBASSADORS, "rm_ind_cohorts");
        d.school_share(SECONDARY, |year, at, _| {
            format!(
                "SELECT c.school_uai AS uai FROM {cohorts} c WHERE c.school_year = {year} \
                 AND {} AND c.declared AND c.kind IN ('eleves_college', 'eleves_lycee') \
                 GROUP BY c.school_uai HAVING SUM(c.pupils) >= {AMBASSADORS_REQUIRED}",
                valid("c", at)
            )
        })
        .await
    }

    /// Élèves ambassadeurs des cohortes déclarées de l'année (tous types de cohortes).
    async fn pupils(&self) -> Result<IndicatorTotal, Error> {
        self.sum("f.pupils").await
    }

    /// Parents ambassadeurs des cohortes déclarées de l'année.
    async fn parents(&self) -> Result<IndicatorTotal, Error> {
        self.sum("f.parents").await
    }
}

impl AmbassadorsIndicators<'_> {
    async fn sum(&self, column: &str) -> Result<IndicatorTotal, Error> {
        let cohorts = self.0.table(&indicators::AMBASSADORS, "rm_ind_cohorts");
        self.0
            .school_total(column, |year, at| {
                (
                    cohorts.clone(),
                    format!(
                        "f.school_year = {year} AND {} AND f.declared",
                        valid("f", at)
                    ),
                )
            })
            .await
    }
}

/// 3. LabelsIndicators (définition versionnée).
pub struct LabelsIndicators<'a>(&'a Dashboard);

/// Les labels décernés à un niveau.
#[derive(SimpleObject, Debug, Clone)]
pub struct LabelLevelCount {
    /// `engagement`, `approfondissement` ou `expertise`.
    level: String,
    /// Le niveau en chiffre : 1, 2 ou 3.
    number: i32,
    /// LabelsIndicators décernés à ce niveau pour l'année.
    count: i64,
    /// LabelsIndicators décernés à ce niveau l'année précédente (lus au même instant).
    previous_year: i64,
    /// `count - previousYear`.
    change: i64,
}

#[Object]
impl LabelsIndicators<'_> {
    /// La version de la définition dont les chiffres sont issus.
    async fn definition_version(&self) -> i64 {
        self.0.version(&indicators::LABELS)
    }

    /// LabelsIndicators décernés par niveau, et l'évolution depuis l'année précédente.
    async fn by_level(&self) -> Result<Vec<LabelLevelCount>, Error> {
        let current = self.awarded(self.0.year).await?;
        let previous = self.awarded(self.0.year.previous()).await?;
        Ok(LabelLevel::ALL
            .iter()
            .map(|level| {
                let name = level.as_str().to_owned();
                let count = current.get(&name).copied().unwrap_or(0);
                let previous_year = previous.get(&name).copied().unwrap_or(0);
                LabelLevelCount {
                    number: i32::from(level.number()),
                    level: name,
                    count,
                    previous_year,
                    change: count - previous_year,
                }
            })
            .collect())
    }

    /// Part des écoles, collèges et lycées ouverts ayant obtenu un label (tout niveau)
    /// pour l'année.
    async fn labelled(&self) -> Result<IndicatorShare, Error> {
        let labels = self.0.table(&indicators::LABELS, "rm_ind_labels");
        self.0
            .school_share(PHARE, |year, at, _| {
                format!(
                    "SELECT l.school_uai AS uai FROM {labels} l WHERE l.school_year = {year} \
                     AND {} AND l.status = 'awarded'",
                    valid("l", at)
                )
            })
            .await
    }
}

impl LabelsIndicators<'_> {
    /// LabelsIndicators awarded in `year`, by level, at the dashboard's instant.
    async fn awarded(&self, year: SchoolYear) -> Result<BTreeMap<String, i64>, Error> {
        let d = self.0;
        let labels = d.table(&indicators::LABELS, "rm_ind_labels");
        let mut filter = Filter::default();
        let year = filter.bind(year.to_string());
        let at = filter.bind(instant(d.at));
        filter.raw(&format!(
            "f.school_year = {year} AND {} AND f.status = 'awarded'",
            valid("f", &at)
        ));
        d.school_scope(&mut filter);
        let sql = format!(
            "SELECT COALESCE(f.awarded_level, ''), CAST(COUNT(*) AS BIGINT) \
             FROM {labels} f JOIN rm_schools s ON s.uai = f.school_uai{} \
             GROUP BY COALESCE(f.awarded_level, '')",
            filter.sql()
        );
        let found: Vec<(String, i64)> = rows(&d.db, d.lists, &sql, &filter.binds)
            .await
            .map_err(internal)?;
        Ok(found.into_iter().collect())
    }
}

/// 4. Étapes pHARe (définition versionnée).
pub struct PhareStepsIndicators<'a>(&'a Dashboard);

impl PhareStepsIndicators<'_> {
    /// Of the open écoles, collèges and lycées in scope, those whose deployment of the
    /// year meets `condition` (on the row `t`, given the day's placeholder).
    async fn step(&self, condition: impl FnOnce(&str) -> String) -> Result<IndicatorShare, Error> {
        let steps = self.0.table(&indicators::PHARE_STEPS, "rm_ind_steps");
        self.0
            .school_share(PHARE, |year, at, day| {
                format!(
                    "SELECT t.school_uai AS uai FROM {steps} t WHERE t.school_year = {year} \
                     AND {} AND t.school_uai IS NOT NULL AND {}",
                    valid("t", at),
                    condition(day)
                )
            })
            .await
    }
}

#[Object]
impl PhareStepsIndicators<'_> {
    /// La version de la définition dont les chiffres sont issus.
    async fn definition_version(&self) -> i64 {
        self.0.version(&indicators::PHARE_STEPS)
    }

    /// Part des écoles, collèges et lycées ouverts dont la charte d'engagement est en
    /// vigueur le jour demandé (signée, et dans ses deux années scolaires).
    async fn charter_in_force(&self) -> Result<IndicatorShare, Error> {
        self.step(|day| format!("t.charter_signed_on <= {day} AND t.charter_ends_on >= {day}"))
            .await
    }

    /// Part de ceux dont le protocole de traitement a été présenté (à la date demandée).
    async fn protocol_presented(&self) -> Result<IndicatorShare, Error> {
        self.step(|day| format!("t.protocol_presented_on <= {day}"))
            .await
    }

    /// Part de ceux dont les 10 heures d'apprentissage sont planifiées.
    async fn learning_hours_planned(&self) -> Result<IndicatorShare, Error> {
        self.step(|_| format!("t.learning_hours >= {LEARNING_HOURS_REQUIRED}"))
            .await
    }

    /// Part de ceux qui ont tenu au moins un atelier parents (à la date demandée).
    async fn parent_workshop_held(&self) -> Result<IndicatorShare, Error> {
        self.step(|day| format!("t.first_workshop_on <= {day}"))
            .await
    }
}

/// 7. Formations (définition versionnée).
pub struct TrainingsIndicators<'a>(&'a Dashboard, tokio::sync::OnceCell<SessionFigures>);

/// The sessions' figures by state.
#[derive(Debug, Default)]
struct SessionFigures {
    planned: i64,
    held: i64,
    cancelled: i64,
    registered_held: i64,
    attendees_held: i64,
    minutes: i64,
}

impl TrainingsIndicators<'_> {
    /// Sessions `se` in scope: the departments the caller sees (its own for a
    /// referent, its school's for a school); academy-wide sessions count only in the
    /// whole academy's dashboard.
    fn session_scope(&self, filter: &mut Filter) {
        let d = self.0;
        if !d.seen.all {
            let departments = d.seen.planning_departments();
            filter.any_of(&[("se.department", &departments)]);
        }
        filter.eq("se.department", d.department.clone());
    }

    /// The sessions' figures, read once for all the fields that show them (one
    /// statement: they agree with each other while the projector moves on).
    async fn figures(&self) -> Result<&SessionFigures, Error> {
        self.1.get_or_try_init(|| self.read_figures()).await
    }

    async fn read_figures(&self) -> Result<SessionFigures, Error> {
        let d = self.0;
        let sessions = d.table(&indicators::TRAININGS, "rm_ind_sessions");
        let mut filter = Filter::default();
        let year = filter.bind(d.year.to_string());
        let at = filter.bind(instant(d.at));
        filter.raw(&format!("se.school_year = {year} AND {}", valid("se", &at)));
        self.session_scope(&mut filter);
        let sql = format!(
            "SELECT se.status, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(se.registered), 0) AS BIGINT), \
             CAST(COALESCE(SUM(se.attendees), 0) AS BIGINT), CAST(COALESCE(SUM(se.minutes), 0) AS BIGINT) \
             FROM {sessions} se{} GROUP BY se.status",
            filter.sql()
        );
        let found: Vec<(String, i64, i64, i64, i64)> = rows(&d.db, d.lists, &sql, &filter.binds)
            .await
            .map_err(internal)?;
        let mut figures = SessionFigures::default();
        for (status, n, registered, attendees, minutes) in found {
            match status.as_str() {
                "cancelled" => figures.cancelled += n,
                "held" | "attendance_locked" | "archived" => {
                    figures.held += n;
                    figures.registered_held += registered;
                    figures.attendees_held += attendees;
                }
                _ => figures.planned += n,
            }
            figures.minutes += minutes;
        }
        Ok(figures)
    }
}

#[Object]
impl TrainingsIndicators<'_> {
    /// La version de la définition dont les chiffres sont issus.
    async fn definition_version(&self) -> i64 {
        self.0.version(&indicators::TRAININGS)
    }

    /// Sessions de l'année prévues, pas encore tenues (ni annulées).
    async fn sessions_planned(&self) -> Result<i64, Error> {
        Ok(self.figures().await?.planned)
    }

    /// Sessions de l'année tenues.
    async fn sessions_held(&self) -> Result<i64, Error> {
        Ok(self.figures().await?.held)
    }

    /// Sessions de l'année annulées.
    async fn sessions_cancelled(&self) -> Result<i64, Error> {
        Ok(self.figures().await?.cancelled)
    }

    /// Minutes de formation délivrées : la somme des minutes créditées à chaque
    /// participant présent (minutes × participants).
    async fn minutes_delivered(&self) -> Result<i64, Error> {
        Ok(self.figures().await?.minutes)
    }

    /// Heures de formation délivrées (les minutes délivrées, en heures).
    async fn hours_delivered(&self) -> Result<f64, Error> {
        let minutes = self.figures().await?.minutes;
        Ok(pharos_domain::hours::hours(
            u32::try_from(minutes).unwrap_or(u32::MAX),
        ))
    }

    /// Assiduité des sessions tenues : inscrits confirmés présents à au moins un
    /// créneau, sur les inscrits confirmés.
    async fn attendance_rate(&self) -> Result<IndicatorRatio, Error> {
        let figures = self.figures().await?;
        Ok(IndicatorRatio::new(
            figures.attendees_held,
            figures.registered_held,
        ))
    }

    /// Personnes formées à la méthode de la préoccupation partagée (cumul de toutes les
    /// années jusqu'à l'instant demandé) : présentes à au moins un créneau d'une
    /// session de thème `mpp` non annulée, comptées une fois.
    async fn mpp_trained(&self) -> Result<i64, Error> {
        let d = self.0;
        let sessions = d.table(&indicators::TRAININGS, "rm_ind_sessions");
        let attendees = d.table(&indicators::TRAININGS, "rm_ind_attendees");
        let mut filter = Filter::default();
        let at = filter.bind(instant(d.at));
        filter.raw(&format!(
            "{} AND {} AND a.minutes > 0 AND se.topic = 'mpp' AND se.status <> 'cancelled'",
            valid("a", &at),
            valid("se", &at)
        ));
        self.session_scope(&mut filter);
        let sql = format!(
            "SELECT CAST(COUNT(DISTINCT a.person) AS BIGINT) FROM {attendees} a \
             JOIN {sessions} se ON se.subject = a.session_id{}",
            filter.sql()
        );
        crate::sql::count(&d.db, d.lists, &sql, &filter.binds)
            .await
            .map_err(internal)
    }

    /// Couverture : part des établissements ouverts du périmètre dont au moins une
    /// personne a suivi (présente à un créneau) une session de l'année.
    async fn school_coverage(&self) -> Result<IndicatorShare, Error> {
        let d = self.0;
        let sessions = d.table(&indicators::TRAININGS, "rm_ind_sessions");
        let attendees = d.table(&indicators::TRAININGS, "rm_ind_attendees");
        d.school_share(
            "('ecole', 'college', 'lycee_gt', 'lycee_pro', 'lycee_poly', 'erea', 'periscolaire')",
            |year, at, _| {
                format!(
                    "SELECT a.school_uai AS uai FROM {attendees} a \
                     JOIN {sessions} se ON se.subject = a.session_id \
                     WHERE se.school_year = {year} AND {} AND {} AND a.minutes > 0 \
                     AND se.status <> 'cancelled' AND a.school_uai IS NOT NULL",
                    valid("a", at),
                    valid("se", at)
                )
            },
        )
        .await
    }
}

/// Every school kind: groups 5 and 7 count every school.
const EVERY_KIND: &str =
    "('ecole', 'college', 'lycee_gt', 'lycee_pro', 'lycee_poly', 'erea', 'periscolaire')";
/// A report received: the action was submitted (and maybe validated, published since).
const REPORTED: &str = "('submitted', 'validated', 'published')";

/// 5. Journée nationale (définition versionnée).
pub struct NationalDayIndicators<'a>(&'a Dashboard);

impl NationalDayIndicators<'_> {
    /// Of the open schools in scope, those named by a national-day action of the year
    /// meeting `condition` (on the row `a`).
    async fn schools(&self, condition: &str) -> Result<IndicatorShare, Error> {
        let actions = self.0.table(&indicators::NATIONAL_DAY, "rm_ind_actions");
        self.0
            .school_share(EVERY_KIND, |year, at, _| {
                format!(
                    "SELECT s2.uai AS uai FROM rm_schools s2 JOIN {actions} a \
                     ON a.schools LIKE '%,' || s2.uai || ',%' \
                     WHERE a.school_year = {year} AND {} AND a.campaign = 'national_day' \
                     AND {condition}",
                    valid("a", at)
                )
            })
            .await
    }

    /// The reported national-day actions of the year at the instant, one of whose
    /// schools is in scope: the `FROM … WHERE` of a statement on them (`a`), its filter.
    fn reported(&self) -> (String, Filter) {
        let d = self.0;
        let actions = d.table(&indicators::NATIONAL_DAY, "rm_ind_actions");
        let mut filter = Filter::default();
        let year = filter.bind(d.year.to_string());
        let at = filter.bind(instant(d.at));
        let mut scope = Filter::default();
        // The schools' scope, its placeholders numbered after the year's and the instant's.
        scope.binds = filter.binds.clone();
        d.school_scope(&mut scope);
        let schools = scope.sql();
        let sql = format!(
            "FROM {actions} a WHERE a.school_year = {year} AND {} \
             AND a.campaign = 'national_day' AND a.status IN {REPORTED} \
             AND EXISTS (SELECT 1 FROM rm_schools s{}{} a.schools LIKE '%,' || s.uai || ',%')",
            valid("a", &at),
            schools,
            if schools.is_empty() { " WHERE" } else { " AND" },
        );
        (sql, scope)
    }
}

#[Object]
impl NationalDayIndicators<'_> {
    /// La version de la définition dont les chiffres sont issus.
    async fn definition_version(&self) -> i64 {
        self.0.version(&indicators::NATIONAL_DAY)
    }

    /// Part des établissements ouverts du périmètre ayant mené au moins une action de la
    /// Journée nationale (tenue, et dont le bilan a été transmis).
    async fn schools_with_action(&self) -> Result<IndicatorShare, Error> {
        self.schools(&format!("a.held AND a.status IN {REPORTED}"))
            .await
    }

    /// Bilans reçus sur bilans attendus : établissements ouverts du périmètre ayant
    /// transmis au moins une action (tenue ou prévue), sur tous ceux du périmètre.
    async fn reports(&self) -> Result<IndicatorShare, Error> {
        self.schools(&format!("a.status IN {REPORTED}")).await
    }

    /// Actions transmises de l'année dont un établissement est dans le périmètre.
    async fn actions(&self) -> Result<i64, Error> {
        let (from, filter) = self.reported();
        let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) {from}");
        crate::sql::count(&self.0.db, self.0.lists, &sql, &filter.binds)
            .await
            .map_err(internal)
    }

    /// Élèves touchés par ces actions.
    async fn pupils_reached(&self) -> Result<i64, Error> {
        let (from, filter) = self.reported();
        let sql = format!("SELECT CAST(COALESCE(SUM(a.pupils_reached), 0) AS BIGINT) {from}");
        crate::sql::count(&self.0.db, self.0.lists, &sql, &filter.binds)
            .await
            .map_err(internal)
    }

    /// Ces actions par type (une action de plusieurs types compte dans chacun).
    async fn actions_by_type(&self) -> Result<Vec<IndicatorTotalPart>, Error> {
        let (from, filter) = self.reported();
        let sql = ActionType::ALL
            .iter()
            .map(|t| {
                let t = t.as_str();
                format!("SELECT '{t}', CAST(COUNT(*) AS BIGINT) {from} AND a.types LIKE '%,{t},%'")
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let found: Vec<(String, i64)> = rows(&self.0.db, self.0.lists, &sql, &filter.binds)
            .await
            .map_err(internal)?;
        Ok(found
            .into_iter()
            .map(|(key, total)| IndicatorTotalPart { key, total })
            .collect())
    }
}

/// An entry submitted (and not withdrawn): submitted, then judged admissible or not.
const SUBMITTED: &str = "('submitted', 'admissible', 'inadmissible')";
/// Members a declared resource team has at least (the threshold of trained ones: a
/// team smaller than that cannot comply).
const TEAM_MEMBERS_REQUIRED: usize = TRAINED_MEMBERS_REQUIRED;
/// Reasons listed at most.
const MAX_REASONS: i32 = 50;

/// 6. Concours (définition versionnée).
pub struct ContestIndicators<'a>(&'a Dashboard);

/// Un motif d'irrecevabilité et le nombre de participations refusées pour lui.
#[derive(SimpleObject, Debug, Clone)]
pub struct ContestReasonCount {
    /// Le motif, tel que le pôle l'a écrit (les motifs identiques sont regroupés).
    reason: String,
    /// Participations irrecevables pour ce motif.
    count: i64,
}

impl Dashboard {
    /// Sum of `sum` over the contest entries of the year valid at the instant and meeting
    /// `condition` (on the row `f`, given the instant's placeholder), by school cell.
    async fn contest_total(
        &self,
        sum: &str,
        condition: impl FnOnce(&str) -> String,
    ) -> Result<IndicatorTotal, Error> {
        let entries = self.table(&indicators::CONTEST, "rm_ind_entries");
        self.school_total(sum, |year, at| {
            (
                entries,
                format!(
                    "f.school_year = {year} AND {} AND {}",
                    valid("f", at),
                    condition(at)
                ),
            )
        })
        .await
    }

    /// Entries submitted (not withdrawn) of the year.
    async fn contest_entries(&self) -> Result<IndicatorTotal, Error> {
        self.contest_total("1", |_| format!("f.status IN {SUBMITTED}"))
            .await
    }

    /// Open schools in scope with at least one entry submitted (not withdrawn).
    async fn contest_participation(&self) -> Result<IndicatorShare, Error> {
        let entries = self.table(&indicators::CONTEST, "rm_ind_entries");
        self.school_share(EVERY_KIND, |year, at, _| {
            format!(
                "SELECT e.school_uai AS uai FROM {entries} e WHERE e.school_year = {year} \
                 AND {} AND e.status IN {SUBMITTED}",
                valid("e", at)
            )
        })
        .await
    }

    /// Entries judged inadmissible.
    async fn contest_inadmissible(&self) -> Result<IndicatorTotal, Error> {
        self.contest_total("1", |_| "f.status = 'inadmissible'".to_owned())
            .await
    }

    /// Entries holding the laureate award, once their edition's results are published.
    async fn contest_laureates(&self) -> Result<IndicatorTotal, Error> {
        let editions = self.table(&indicators::CONTEST, "rm_ind_editions");
        self.contest_total("1", |at| {
            format!(
                "f.laureate AND EXISTS (SELECT 1 FROM {editions} ed \
                 WHERE ed.subject = f.contest_id AND {} AND ed.published)",
                valid("ed", at)
            )
        })
        .await
    }
}

#[Object]
impl ContestIndicators<'_> {
    /// La version de la définition dont les chiffres sont issus.
    async fn definition_version(&self) -> i64 {
        self.0.version(&indicators::CONTEST)
    }

    /// Participations déposées (et non retirées) à l'édition de l'année, par
    /// établissement du périmètre.
    async fn entries(&self) -> Result<IndicatorTotal, Error> {
        self.0.contest_entries().await
    }

    /// Taux de participation : établissements ouverts du périmètre ayant déposé au moins
    /// une participation (non retirée), sur tous ceux du périmètre.
    async fn participation(&self) -> Result<IndicatorShare, Error> {
        self.0.contest_participation().await
    }

    /// Participations jugées irrecevables.
    async fn inadmissible(&self) -> Result<IndicatorTotal, Error> {
        self.0.contest_inadmissible().await
    }

    /// Les motifs d'irrecevabilité les plus fréquents (motifs identiques regroupés), du
    /// plus fréquent au moins fréquent.
    async fn inadmissible_reasons(
        &self,
        #[graphql(desc = "Le nombre de motifs, de 1 à 50.", default = 5)] first: i32,
    ) -> Result<Vec<ContestReasonCount>, Error> {
        if !(1..=MAX_REASONS).contains(&first) {
            return Err(Error::new(format!(
                "« first » : entre 1 et {MAX_REASONS} motifs ({first} demandés)."
            )));
        }
        let d = self.0;
        let entries = d.table(&indicators::CONTEST, "rm_ind_entries");
        let mut filter = Filter::default();
        let year = filter.bind(d.year.to_string());
        let at = filter.bind(instant(d.at));
        filter.raw(&format!(
            "f.school_year = {year} AND {} AND f.status = 'inadmissible'",
            valid("f", &at)
        ));
        d.school_scope(&mut filter);
        let sql = format!(
            "SELECT COALESCE(f.reason, ''), CAST(COUNT(*) AS BIGINT) \
             FROM {entries} f JOIN rm_schools s ON s.uai = f.school_uai{} \
             GROUP BY COALESCE(f.reason, '') ORDER BY 2 DESC, 1 LIMIT {first}",
            filter.sql()
        );
        let found: Vec<(String, i64)> = rows(&d.db, d.lists, &sql, &filter.binds)
            .await
            .map_err(internal)?;
        Ok(found
            .into_iter()
            .map(|(reason, count)| ContestReasonCount { reason, count })
            .collect())
    }

    /// Participations lauréates : celles qui détiennent le prix de lauréat une fois le
    /// palmarès publié (un prix retiré avant la publication ne compte pas).
    async fn laureates(&self) -> Result<IndicatorTotal, Error> {
        self.0.contest_laureates().await
    }

    /// L'évolution : les mêmes chiffres pour l'année précédente, lus un an avant
    /// l'instant demandé (au même moment de sa campagne).
    async fn trend(&self) -> ContestTrend<'_> {
        ContestTrend {
            current: self.0,
            previous: self.0.a_year_before(),
        }
    }
}

/// 6. Concours : l'année précédente au même moment, et l'écart.
pub struct ContestTrend<'a> {
    current: &'a Dashboard,
    previous: Dashboard,
}

#[Object]
impl ContestTrend<'_> {
    /// L'année précédente.
    async fn school_year(&self) -> String {
        self.previous.year.to_string()
    }

    /// L'instant auquel elle est lue : un an avant celui du tableau de bord (UTC).
    async fn as_of(&self) -> Instant {
        Instant(self.previous.at.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    /// Participations déposées l'année précédente.
    async fn entries(&self) -> Result<i64, Error> {
        Ok(self.previous.contest_entries().await?.total)
    }

    /// `entries` de l'année moins celles de l'année précédente.
    async fn entries_change(&self) -> Result<i64, Error> {
        Ok(self.current.contest_entries().await?.total
            - self.previous.contest_entries().await?.total)
    }

    /// Taux de participation de l'année précédente.
    async fn participation(&self) -> Result<IndicatorRatio, Error> {
        let share = self.previous.contest_participation().await?;
        Ok(IndicatorRatio::new(share.count, share.of))
    }

    /// Écart des taux de participation (année moins année précédente) ; nul quand l'un
    /// des deux n'a pas de dénominateur.
    async fn participation_change(&self) -> Result<Option<f64>, Error> {
        let now = self.current.contest_participation().await?.value;
        let then = self.previous.contest_participation().await?.value;
        Ok(now.zip(then).map(|(now, then)| now - then))
    }

    /// Participations irrecevables l'année précédente.
    async fn inadmissible(&self) -> Result<i64, Error> {
        Ok(self.previous.contest_inadmissible().await?.total)
    }

    /// Participations lauréates l'année précédente.
    async fn laureates(&self) -> Result<i64, Error> {
        Ok(self.previous.contest_laureates().await?.total)
    }

    /// `laureates` de l'année moins ceux de l'année précédente.
    async fn laureates_change(&self) -> Result<i64, Error> {
        Ok(self.current.contest_laureates().await?.total
            - self.previous.contest_laureates().await?.total)
    }
}

/// 8. Retards : bilans, équipes, participations (groupes 1, 5, 6), rappels.
pub struct OverdueIndicators<'a>(&'a Dashboard);

/// `share` turned over: the count of those *not* flagged, of the same denominators.
fn complement(share: IndicatorShare) -> IndicatorShare {
    let part = |p: IndicatorRatioPart| {
        let IndicatorRatio { value, count, of } = IndicatorRatio::new(p.of - p.count, p.of);
        IndicatorRatioPart {
            key: p.key,
            value,
            count,
            of,
        }
    };
    let IndicatorRatio { value, count, of } = IndicatorRatio::new(share.of - share.count, share.of);
    IndicatorShare {
        value,
        count,
        of,
        by_department: share.by_department.into_iter().map(part).collect(),
        by_circonscription: share.by_circonscription.into_iter().map(part).collect(),
        by_kind: share.by_kind.into_iter().map(part).collect(),
    }
}

/// `share` with nothing counted (nothing overdue yet), of the same denominators.
fn none_of(share: IndicatorShare) -> IndicatorShare {
    let part = |p: IndicatorRatioPart| IndicatorRatioPart {
        value: IndicatorRatio::new(0, p.of).value,
        count: 0,
        ..p
    };
    IndicatorShare {
        value: IndicatorRatio::new(0, share.of).value,
        count: 0,
        by_department: share.by_department.into_iter().map(part).collect(),
        by_circonscription: share.by_circonscription.into_iter().map(part).collect(),
        by_kind: share.by_kind.into_iter().map(part).collect(),
        ..share
    }
}

impl OverdueIndicators<'_> {
    /// Reminders of the year in `state` at the instant, about a school (`s`) or a
    /// session (`se`) in scope; those about neither (an edition's jurors) the academy's.
    async fn reminders(&self, state: &str) -> Result<i64, Error> {
        let d = self.0;
        let reminders = d.table(&indicators::REMINDERS, "rm_ind_reminders");
        let mut filter = Filter::default();
        let year = filter.bind(d.year.to_string());
        let at = filter.bind(instant(d.at));
        let state = filter.bind(state.to_owned());
        filter.raw(&format!(
            "r.school_year = {year} AND {} AND r.state = {state}",
            valid("r", &at)
        ));
        if !d.seen.all {
            let planning = d.seen.planning_departments();
            filter.any_of(&[
                ("s.department", &d.seen.departments),
                ("s.uai", &d.seen.schools),
                ("se.department", &planning),
            ]);
        }
        if let Some(department) = d.department.clone() {
            let department = filter.bind(department);
            filter.raw(&format!(
                "(s.department = {department} OR se.department = {department})"
            ));
        }
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {reminders} r \
             LEFT JOIN rm_schools s ON s.uai = r.school_uai \
             LEFT JOIN rm_sessions se ON se.id = r.session_id{}",
            filter.sql()
        );
        crate::sql::count(&d.db, d.lists, &sql, &filter.binds)
            .await
            .map_err(internal)
    }

    /// The year's national-day reporting deadline, as it stood at the instant.
    async fn deadline(&self) -> Result<Option<NaiveDate>, Error> {
        let d = self.0;
        let dates = crate::editions::national_day_dates(&d.store, d.year, Some(d.at))
            .await
            .map_err(internal)?;
        Ok(dates.map(|dates| dates.report_deadline))
    }
}

#[Object]
impl OverdueIndicators<'_> {
    /// L'échéance des bilans de la Journée nationale de l'année (telle qu'elle était à
    /// l'instant demandé : fixée par le pôle, sinon J+21) ; absente quand la date de la
    /// Journée ne peut être ni calculée ni tirée de ce que le pôle a fixé.
    async fn report_deadline(&self) -> Result<Option<String>, Error> {
        Ok(self.deadline().await?.map(|d| d.to_string()))
    }

    /// Bilans de la Journée nationale manquants : une fois l'échéance passée, les
    /// établissements ouverts du périmètre sans aucune action transmise (les bilans reçus
    /// du groupe 5, retournés), sur tous ceux du périmètre ; aucun avant l'échéance.
    async fn missing_reports(&self) -> Result<IndicatorShare, Error> {
        let received = NationalDayIndicators(self.0)
            .schools(&format!("a.status IN {REPORTED}"))
            .await?;
        Ok(match self.deadline().await? {
            Some(deadline) if self.0.day > deadline => complement(received),
            _ => none_of(received),
        })
    }

    /// Équipes ressources non déclarées : collèges et lycées ouverts du périmètre sans
    /// déploiement pHARe de l'année, ou dont l'équipe compte moins de 5 membres.
    async fn undeclared_teams(&self) -> Result<IndicatorShare, Error> {
        let d = self.0;
        let teams = d.table(&indicators::TRAINED_TEAMS, "rm_ind_teams");
        let declared = d
            .school_share(SECONDARY, |year, at, _| {
                format!(
                    "SELECT t.school_uai AS uai FROM {teams} t WHERE t.school_year = {year} \
                     AND {} AND t.members >= {TEAM_MEMBERS_REQUIRED}",
                    valid("t", at)
                )
            })
            .await?;
        Ok(complement(declared))
    }

    /// Circonscriptions (celles des écoles ouvertes du périmètre) sans équipe ressource
    /// de l'année, ou dont l'équipe compte moins de 5 membres.
    async fn undeclared_circonscription_teams(&self) -> Result<IndicatorShare, Error> {
        let declared = self
            .0
            .circonscription_share(&format!("t.members >= {TEAM_MEMBERS_REQUIRED}"))
            .await?;
        Ok(complement(declared))
    }

    /// Rappels en attente : programmés et pas encore partis, ou en échec passager et à
    /// retenter (rappels de l'année de leur date de déclenchement, au sujet d'un
    /// établissement ou d'une session du périmètre ; ceux de toute l'académie, au pôle).
    async fn reminders_pending(&self) -> Result<i64, Error> {
        self.reminders("pending").await
    }

    /// Rappels en échec définitif (refusés par le serveur de messagerie, ou après le
    /// dernier essai).
    async fn reminders_failed(&self) -> Result<i64, Error> {
        self.reminders("failed").await
    }

    /// Participations au concours de l'année encore en brouillon après la date limite
    /// de dépôt (ou après le délai accordé à leur établissement), tant que la campagne
    /// n'est pas close.
    async fn unfinished_entries(&self) -> Result<IndicatorTotal, Error> {
        let d = self.0;
        let editions = d.table(&indicators::CONTEST, "rm_ind_editions");
        let extensions = d.table(&indicators::CONTEST, "rm_ind_extensions");
        d.contest_total("1", |at| {
            format!(
                "f.status = 'draft' AND EXISTS (SELECT 1 FROM {editions} ed \
                 WHERE ed.subject = f.contest_id AND {} AND NOT ed.closed \
                 AND ed.submission_deadline < {at} AND NOT EXISTS (SELECT 1 FROM {extensions} x \
                 WHERE x.edition_id = ed.subject AND x.school_uai = f.school_uai \
                 AND x.granted_at <= {at} AND x.until >= {at}))",
                valid("ed", at)
            )
        })
        .await
    }
}
