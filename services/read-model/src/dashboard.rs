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
//! Figures about schools are broken down by department, circonscription, kind, sector and
//! priority education, and filtered by department, sector and priority education (the
//! facts carry the UAI; the schools' attributes are joined). Figures about sessions
//! concern no school: they are neither broken down nor filtered by a school's attributes.
//!
//! One snapshot per request ([`Snapshot`]): every statement of a dashboard — all its
//! groups, the previous year's figures, the projections' live generations — runs in one
//! read transaction (`REPEATABLE READ` on PostgreSQL; on SQLite, WAL, one deferred
//! transaction whose snapshot is taken by its first read), so that a projector's commit
//! in the middle of a request cannot make two groups disagree. The statements of one
//! request take turns on its one connection.
//!
//! Group 8 (overdue) reads groups 1, 5 and 6's tables (and the national day's dates from
//! its stream); only its reminders have a projection of their own.
//!
//! Year on year, one rule ([`a_year_before`]): every trend (labels by level, the
//! contest's) reads the previous school year a year before `asOf` in Paris time — the
//! same point of its calendar — a 29 February becoming the 28th.
//!
//! Scope, as the lists ([`crate::scope`]): the pole sees the academy (or the department
//! it asks); a referent sees its department — asking another answers empty figures, not
//! an error; a school sees its own school's figures (its trainings: its department's
//! sessions); any other caller sees empty figures.

use std::collections::{BTreeMap, HashMap};

use async_graphql::{
    Context, Error, InputValueResult, Object, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::{DateTime, Months, NaiveDate, SecondsFormat, TimeDelta, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use pharos_access::TargetState;
use pharos_domain::compliance::{LEARNING_HOURS_REQUIRED, TRAINED_MEMBERS_REQUIRED};
use pharos_events::national_day::ActionType;
use pharos_events::phare::{LabelLevel, SchoolYear};
use pharos_events::{PriorityEducation, Sector};
use pharos_eventstore::{Db, EventStore};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::answers::{AnswerCache, Asker, State};
use crate::indicators::{self, instant};
use crate::scope::Visibility;
use crate::sql::Filter;
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
    /// demandé. Les attributs des établissements (département, circonscription, type,
    /// secteur, éducation prioritaire) sont ceux d'aujourd'hui. Tous les groupes d'une
    /// même requête sont lus dans un seul instantané de la base : ils concordent entre eux.
    /// Les évolutions sur un an lisent toutes l'année scolaire précédente un an avant
    /// `asOf` (même moment de son calendrier, heure de Paris ; un 29 février devient le 28).
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
        #[graphql(
            desc = "Un secteur (`public`, `prive_sous_contrat`) : les seuls chiffres de ses \
                    établissements. Les chiffres des sessions de formation (prévues, tenues, \
                    heures, assiduité, personnes formées à la MPP) et les rappels qui ne portent \
                    sur aucun établissement ne relèvent d'aucun secteur : ils ne sont pas filtrés."
        )]
        sector: Option<String>,
        #[graphql(
            desc = "Un classement d'éducation prioritaire (`none`, `rep`, `rep_plus`) : les seuls \
                    chiffres de ses établissements (les chiffres des sessions ne sont pas filtrés, \
                    comme pour `sector`)."
        )]
        priority_education: Option<String>,
    ) -> Result<Dashboard, Error> {
        let year = SchoolYear::parse(&school_year)
            .map_err(|e| Error::new(format!("« schoolYear » : {}.", e.0)))?;
        let as_of = as_of
            .map(|Instant(text)| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        Error::new(format!(
                            "« asOf » : « {text} » n'est pas un instant RFC 3339 \
                             (par exemple 2026-11-05T09:00:00+01:00)."
                        ))
                    })
            })
            .transpose()?;
        let sector = sector
            .filter(|s| !s.trim().is_empty())
            .map(|s| Sector::parse(&s).map_err(|e| Error::new(format!("« sector » : {}", e.0))))
            .transpose()?;
        let priority = priority_education
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                PriorityEducation::parse(&s)
                    .map_err(|e| Error::new(format!("« priorityEducation » : {}", e.0)))
            })
            .transpose()?;
        let state = ctx.data::<TargetState>()?;
        let seen = ctx.data::<Visibility>()?.clone();
        let db = state.app.store.db();
        // A projection not created yet (the projector has not started) is created empty,
        // before the snapshot: on SQLite a table created after it would not be in it.
        let known: Vec<String> = pharos_eventstore::on_db!(&db, |pool| {
            sqlx::query_scalar("SELECT projection FROM rm_generations")
                .fetch_all(pool)
                .await
        })
        .map_err(internal)?;
        for descriptor in indicators::DESCRIPTORS {
            if !known.iter().any(|name| name == descriptor.name) {
                live_of(&db, descriptor).await.map_err(internal)?;
            }
        }
        // Every projection's live generation, read in the snapshot the figures are read in.
        let slot = ctx
            .data::<SnapshotSlots>()?
            .0
            .clone()
            .acquire_owned()
            .await
            .map_err(internal)?;
        let snapshot = Snapshot::begin(&db, slot, narrow(department.as_ref(), &seen))
            .await
            .map_err(internal)?;
        let found: Vec<(String, i64, i64)> = snapshot
            .rows(
                "SELECT projection, live, definition FROM rm_generations",
                &[],
            )
            .await
            .map_err(internal)?;
        let current = Live::of(&found, *ctx.data::<Generation>()?);
        // The checkpoints of those generations, in the same snapshot: what the answers
        // of this request's statements depend on.
        let checkpoints: Vec<(String, i64, i64)> = snapshot
            .rows("SELECT name, commit_id, position FROM checkpoints", &[])
            .await
            .map_err(internal)?;
        let tables_state = State::of(
            &current
                .checkpoints()
                .into_iter()
                .map(|(name, definition)| {
                    let (commit, position) = checkpoints
                        .iter()
                        .find(|(found, _, _)| *found == name)
                        .map_or((0, 0), |(_, commit, position)| (*commit, *position));
                    (name, definition, commit, position)
                })
                .collect::<Vec<_>>(),
        );
        let Live { lists, live } = current;
        let answers = ctx.data::<std::sync::Arc<AnswerCache>>()?.clone();
        let by = if ctx.data_opt::<crate::warm::Warming>().is_some() {
            Asker::Warmer
        } else {
            Asker::Request
        };
        let (tables_state, at, previous) = match as_of {
            Some(at) => (tables_state, at, None),
            None => {
                if let Some(asked) = ctx.data_opt::<crate::warm::NowAsked>() {
                    asked.mark();
                }
                match (by, ctx.data_opt::<crate::warm::Warming>()) {
                    (Asker::Warmer, warming) => {
                        let at = answers.now_ahead(&tables_state);
                        if let Some(warming) = warming {
                            warming.record(&tables_state, at);
                        }
                        (tables_state, at, None)
                    }
                    (Asker::Request, _) => {
                        // At the warmer's last state while it computes this one, where
                        // the request may be asked again ([`crate::answers`]).
                        let may = ctx.data_opt::<crate::warm::MayAnswerPrevious>();
                        match may.and_then(|may| {
                            answers
                                .previous_for(&tables_state)
                                .map(|(state, at)| (state, at, may.missed()))
                        }) {
                            Some((state, at, missed)) => (state, at, Some(missed)),
                            None => {
                                let at = answers.now(&tables_state);
                                (tables_state, at, None)
                            }
                        }
                    }
                }
            }
        };
        let mut dashboard = Dashboard {
            year,
            department,
            sector,
            priority,
            at,
            day: at.with_timezone(&Paris).date_naive(),
            seen,
            lists,
            live,
            snapshot: std::sync::Arc::new(snapshot),
            store: state.app.store.clone(),
            answers,
            by,
            state: tables_state,
            previous,
            uai_range: None,
            breakdowns: Breakdowns::asked(ctx.field()),
        };
        dashboard.uai_range = dashboard.uai_range().await?;
        Ok(dashboard)
    }
}

/// The live generations a dashboard reads: the lists' and each indicator group's (with
/// its definition version), from `rm_generations`' `(projection, live, definition)` rows;
/// a projection not listed is at its first generation.
struct Live {
    lists: Generation,
    live: BTreeMap<&'static str, (Generation, i64)>,
}

impl Live {
    fn of(found: &[(String, i64, i64)], lists: Generation) -> Self {
        let lists = found
            .iter()
            .find(|(name, _, _)| name == crate::tables::LISTS.name)
            .map_or(lists, |(_, generation, _)| Generation(*generation));
        let live = indicators::DESCRIPTORS
            .iter()
            .map(|descriptor| {
                let known = found
                    .iter()
                    .find(|(name, _, _)| name == descriptor.name)
                    .map_or(
                        (Generation(1), descriptor.definition),
                        |(_, generation, definition)| (Generation(*generation), *definition),
                    );
                (descriptor.name, known)
            })
            .collect();
        Self { lists, live }
    }

    /// The checkpoint of each projection read, with its definition version: what the
    /// answers of a dashboard's statements depend on.
    fn checkpoints(&self) -> Vec<(String, i64)> {
        std::iter::once((self.lists.checkpoint(), 0))
            .chain(indicators::DESCRIPTORS.iter().map(|descriptor| {
                let (generation, definition) = self.live[descriptor.name];
                (descriptor.checkpoint(generation), definition)
            }))
            .collect()
    }
}

/// `rm_generations`' `(projection, live, definition)` rows and the checkpoints'
/// `(name, position)`.
type Read = (Vec<(String, i64, i64)>, Vec<(String, i64)>);

/// The last position of the log that the projections a dashboard reads have taken in,
/// now: what a dashboard asked at once would read ([`Dashboard`]'s `position`).
pub(crate) async fn read_position(db: &Db) -> Result<i64, sqlx::Error> {
    let (found, checkpoints): Read = pharos_eventstore::on_db!(db, |pool| (
        sqlx::query_as("SELECT projection, live, definition FROM rm_generations")
            .fetch_all(pool)
            .await?,
        sqlx::query_as("SELECT name, position FROM checkpoints")
            .fetch_all(pool)
            .await?,
    ));
    // The lists not listed yet: at the generation they start at ([`live_of`]).
    let read = Live::of(&found, Generation(1)).checkpoints();
    Ok(checkpoints
        .iter()
        .filter(|(name, _)| read.iter().any(|(r, _)| r == name))
        .map(|(_, position)| *position)
        .max()
        .unwrap_or(0))
}

/// The instant the previous school year is read at, for every trend: a year before `at`
/// in the academy's time (Europe/Paris), the same point of that year's calendar; a 29
/// February becomes the 28th, and a local time that did not exist that day (the spring
/// change of hour) the first one after it.
pub fn a_year_before(at: DateTime<Utc>) -> DateTime<Utc> {
    let local = at.with_timezone(&Paris).naive_local();
    let Some(then) = local.checked_sub_months(Months::new(12)) else {
        return at;
    };
    Paris
        .from_local_datetime(&then)
        .earliest()
        .or_else(|| {
            Paris
                .from_local_datetime(&(then + TimeDelta::hours(1)))
                .earliest()
        })
        .map_or(at, |t| t.with_timezone(&Utc))
}

/// The one read transaction every statement of a request's dashboard runs in, and the
/// slot it holds while it lives.
pub struct Snapshot(
    tokio::sync::Mutex<Tx>,
    bool,
    #[allow(dead_code)] // held, not read: dropped with the snapshot
    tokio::sync::OwnedSemaphorePermit,
);

/// How many dashboards may hold a snapshot at once: `at_once` (the
/// `dashboards_at_once` setting), by default twice this machine's cores, and at most half
/// the pool.
///
/// A dashboard is some twenty statements run one after the other, CPU work in the
/// database and here: a few at a time keep the cores busy, more only share them. At
/// national scale on 2 cores with 16 clients, one department's dashboard (p50 / p99,
/// alternating, ms): 20 at once 408 / 699 and 345 / 571; 4 at once 320 / 436 and
/// 366 / 469; 2 at once 439 / 546 and 378 / 500. The others wait their turn in order
/// instead of slowing every one down, so the slowest answers come sooner.
///
/// At most half the pool: a snapshot keeps one connection for the whole request while
/// its resolvers take others from the same pool (the log, the caller's scope); as many
/// dashboards as connections would each hold one and wait for a second until the pool's
/// timeout.
pub struct SnapshotSlots(pub std::sync::Arc<tokio::sync::Semaphore>);

impl SnapshotSlots {
    pub fn for_db(db: &Db, at_once: Option<usize>) -> Self {
        let size = match db {
            Db::Postgres(pool) => pool.options().get_max_connections(),
            Db::Sqlite(pool) => pool.options().get_max_connections(),
        };
        Self(std::sync::Arc::new(tokio::sync::Semaphore::new(
            dashboards_at_once(size as usize, at_once),
        )))
    }
}

/// How many dashboards a pool of `pool_size` connections computes at once, given the
/// `dashboards_at_once` setting ([`SnapshotSlots`]).
pub fn dashboards_at_once(pool_size: usize, setting: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    setting.unwrap_or(2 * cores).min(pool_size / 2).max(1)
}

enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl Snapshot {
    /// Whether it runs on PostgreSQL (for the few statements whose SQL differs).
    pub fn is_postgres(&self) -> bool {
        self.1
    }

    /// Begins it: on PostgreSQL `REPEATABLE READ` (the snapshot of the first statement
    /// holds to the end), read only; on SQLite a deferred transaction, whose first read
    /// takes the snapshot (WAL) that its later reads see.
    ///
    /// `narrow` (a department's or a caller's few schools): on PostgreSQL, no parallel
    /// workers. Its statements read a few hundred rows each, and starting workers cost
    /// more than they saved: one department's contest cells at 60,000 schools took
    /// 11 ms in two processes against 5 ms in one, and each dashboard runs some twenty
    /// such statements while other requests wait for the same cores. And index lookups
    /// priced as what they are here (`random_page_cost` 1.1, not the spinning disk's 4):
    /// the read model's tables are small and hot, and at the default the planner read
    /// every label of the year (a sequential scan) to keep one department's, 11 ms,
    /// where looking up its 594 schools' labels by school took 2.7 ms. And the plan
    /// kept with each prepared statement (`force_generic_plan`): PostgreSQL planned
    /// most of them again at each call (a custom plan, the parameters' values known),
    /// 0.3 to 1.5 ms a statement, some 3 ms of the 20 to 25 a department's dashboard
    /// costs PostgreSQL, for the same plan: whatever the department, its statements look
    /// its few hundred schools' facts up by school year and UAI range in the same indexes
    /// (at 60,000 schools, a department's national day: 6.4 ms a statement with the plan
    /// kept, against 7.4 ms planned each time, over three alternating runs of each).
    pub async fn begin(
        db: &Db,
        slot: tokio::sync::OwnedSemaphorePermit,
        narrow: bool,
    ) -> Result<Self, sqlx::Error> {
        let tx = match db {
            Db::Postgres(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
                if narrow {
                    // `SET LOCAL` each, in one round trip.
                    sqlx::query(
                        "SELECT set_config('max_parallel_workers_per_gather', '0', true), \
                         set_config('random_page_cost', '1.1', true), \
                         set_config('plan_cache_mode', 'force_generic_plan', true)",
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                Tx::Postgres(tx)
            }
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
        };
        let postgres = matches!(tx, Tx::Postgres(_));
        Ok(Self(tokio::sync::Mutex::new(tx), postgres, slot))
    }

    /// Rows of `sql` (tables named as they are), with `binds`.
    pub async fn rows<R>(&self, sql: &str, binds: &[String]) -> Result<Vec<R>, sqlx::Error>
    where
        R: for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
    {
        let mut tx = self.0.lock().await;
        macro_rules! fetch {
            ($tx:expr) => {{
                let mut query = sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql.to_owned()));
                for value in binds {
                    query = query.bind(value.clone());
                }
                query.fetch_all(&mut **$tx).await
            }};
        }
        match &mut *tx {
            Tx::Postgres(tx) => fetch!(tx),
            Tx::Sqlite(tx) => fetch!(tx),
        }
    }
}

/// Whether the schools in scope are a department's or a caller's few, not the whole
/// academy's.
fn narrow(department: Option<&String>, seen: &Visibility) -> bool {
    department.is_some() || !seen.all
}

fn internal(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "dashboard query failed");
    Error::new("Le modèle de lecture ne répond pas ; réessayez dans un instant.")
}

/// What a reading of facts binds first: the placeholders of the year, the instant and the
/// day, and, for a department's or a caller's few schools, the condition keeping the facts
/// of their schools (` AND column IN (…)`; nothing for the academy).
struct Reading {
    filter: Filter,
    year: String,
    at: String,
    day: String,
    narrowed: String,
}

/// A row a dashboard statement answers: read from either backend, kept in the
/// [`AnswerCache`] across requests.
trait AnswerRow:
    for<'r> sqlx::FromRow<'r, PgRow>
    + for<'r> sqlx::FromRow<'r, SqliteRow>
    + Clone
    + Send
    + Sync
    + Unpin
    + 'static
{
}

impl<R> AnswerRow for R where
    R: for<'r> sqlx::FromRow<'r, PgRow>
        + for<'r> sqlx::FromRow<'r, SqliteRow>
        + Clone
        + Send
        + Sync
        + Unpin
        + 'static
{
}

/// The dashboard of one request: what it asks, who asks, which tables it reads.
pub struct Dashboard {
    year: SchoolYear,
    department: Option<String>,
    sector: Option<Sector>,
    priority: Option<PriorityEducation>,
    at: DateTime<Utc>,
    /// `at`'s day in the academy (Europe/Paris): dated facts (a charter's term, a
    /// protocol's presentation) count from their day.
    day: NaiveDate,
    seen: Visibility,
    lists: Generation,
    /// Each indicator projection's live generation and the definition it was built with.
    live: BTreeMap<&'static str, (Generation, i64)>,
    /// Where every statement runs, shared with the previous year's dashboard.
    snapshot: std::sync::Arc<Snapshot>,
    /// The log, for the national day's dates (group 8).
    store: EventStore,
    /// Statements' answers, reused at the same state: by this request's fields that show
    /// the same figures (a trend and its change, group 8's complements of groups 1 and
    /// 5), and by other requests.
    answers: std::sync::Arc<AnswerCache>,
    /// A request's, or the warmer's ([`crate::warm`]).
    by: Asker,
    /// The state of the projections this request's snapshot reads, or the previous one
    /// the warmer computed ([`Self::previous`]).
    state: State,
    /// Answered at the previous state: every statement read from the answers computed at
    /// it, a missing one flagged here (the request is then asked again at its own state).
    previous: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// For a department's or a caller's few schools: the range of UAIs their facts are
    /// read in ([`Self::facts_in_scope`]); `None` for the academy, or when none is in scope.
    uai_range: Option<UaiRange>,
    /// The breakdowns its query asks for: the others are not summed.
    breakdowns: Breakdowns,
}

/// A range of UAIs holding every school in scope ([`Dashboard::facts_in_scope`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct UaiRange {
    from: String,
    to: UaiBound,
}

/// The upper end of a range of UAIs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UaiBound {
    /// Every UAI below it.
    Before(String),
    /// Every UAI up to it, included.
    UpTo(String),
}

impl UaiRange {
    /// From the `least` to the `greatest` UAI in scope, widened to whole department codes
    /// (the UAI's first three digits): from the least one's code to the code after the
    /// greatest one's. PostgreSQL estimates the rows of such a range from its statistics
    /// (some 800 facts for a department's 594 schools), where it took the exact span of
    /// 594 UAIs, whose digits it spreads over letters too, for a handful — and looked up
    /// the school of each of the 1,700 facts found, one by one. The exact span when a
    /// code is not three digits (or is 999, which has no next).
    fn spanning(least: String, greatest: String) -> Self {
        let code = |uai: &str| {
            uai.get(..3)
                .filter(|code| code.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|code| code.parse::<u16>().ok())
        };
        match (code(&least), code(&greatest)) {
            (Some(first), Some(last)) if last < 999 => Self {
                from: format!("{first:03}"),
                to: UaiBound::Before(format!("{:03}", last + 1)),
            },
            _ => Self {
                from: least,
                to: UaiBound::UpTo(greatest),
            },
        }
    }

    /// `column` in the range, its bounds bound in `filter`.
    fn condition(&self, filter: &mut Filter, column: &str) -> String {
        let from = filter.bind(self.from.clone());
        let to = match &self.to {
            UaiBound::Before(to) => format!("< {}", filter.bind(to.clone())),
            UaiBound::UpTo(to) => format!("<= {}", filter.bind(to.clone())),
        };
        format!("{column} >= {from} AND {column} {to}")
    }
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
    /// Le département, la circonscription, le type d'établissement, le secteur ou le
    /// classement d'éducation prioritaire.
    key: String,
    /// `count / of` ; nulle quand `of` vaut 0.
    value: Option<f64>,
    /// Le numérateur.
    count: i64,
    /// Le dénominateur.
    of: i64,
}

/// Un indicateur en part d'établissements (ou de circonscriptions), avec sa
/// ventilation par département, circonscription, type d'établissement, secteur et
/// éducation prioritaire.
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
    /// Par secteur (`public`, `prive_sous_contrat`) ; vide pour les circonscriptions.
    by_sector: Vec<IndicatorRatioPart>,
    /// Par classement d'éducation prioritaire (`none`, `rep`, `rep_plus`) ; vide pour les
    /// circonscriptions.
    by_priority_education: Vec<IndicatorRatioPart>,
}

/// Un total pour une valeur d'une dimension.
#[derive(SimpleObject, Debug, Clone)]
pub struct IndicatorTotalPart {
    /// Le département, la circonscription, le type d'établissement, le secteur, le
    /// classement d'éducation prioritaire ou le type d'action.
    key: String,
    /// Le total.
    total: i64,
}

/// Un total, avec sa ventilation par département, circonscription, type
/// d'établissement, secteur et éducation prioritaire.
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
    /// Par secteur.
    by_sector: Vec<IndicatorTotalPart>,
    /// Par classement d'éducation prioritaire.
    by_priority_education: Vec<IndicatorTotalPart>,
}

/// One cell: department, circonscription (empty when none), kind, sector, priority
/// education (empty for a circonscription), numerator, denominator (a total: the
/// numerator alone).
type Cell = (String, String, String, String, String, i64, i64);

/// The dimensions of a cell, in its order: what `SELECT` and `GROUP BY` name.
const DIMENSIONS: &str = "s.department, COALESCE(s.circonscription, ''), s.kind, s.sector, \
                          s.priority_education";

/// A cell's dimensions (in [`Cell`]'s order) borrowed from the row that carries them, its
/// numerator and its denominator: what the aggregations below read, so that no row's text
/// is copied to be summed.
type CellRef<'a> = ([&'a str; 5], i64, i64);

/// A row's cell as a statement's closure picks it out of the row (see [`share_of`]).
type Picked<'a> = (
    &'a String,
    &'a String,
    &'a String,
    &'a String,
    &'a String,
    &'a i64,
    &'a i64,
);

fn picked((a, b, c, e, f, count, of): Picked<'_>) -> CellRef<'_> {
    ([a, b, c, e, f], *count, *of)
}

fn cell_ref(cell: &Cell) -> CellRef<'_> {
    let (a, b, c, e, f, count, of) = cell;
    ([a, b, c, e, f], *count, *of)
}

/// The breakdowns a request's query asks for, in [`Cell`]'s order of dimensions:
/// `byDepartment`, `byCirconscription`, `byKind`, `bySector`, `byPriorityEducation`
/// anywhere under its `dashboard` field, whatever the alias or fragment they are asked
/// through. Those not asked are not summed: the academy's circonscriptions alone are over
/// a thousand parts per share, read by no page but the exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Breakdowns([bool; 5]);

impl Breakdowns {
    const FIELDS: [&'static str; 5] = [
        "byDepartment",
        "byCirconscription",
        "byKind",
        "bySector",
        "byPriorityEducation",
    ];

    /// Those asked under `field` (the `dashboard` field being resolved).
    fn asked(field: async_graphql::SelectionField<'_>) -> Self {
        fn walk(field: async_graphql::SelectionField<'_>, asked: &mut [bool; 5]) {
            for child in field.selection_set() {
                if let Some(i) = Breakdowns::FIELDS.iter().position(|f| *f == child.name()) {
                    asked[i] = true;
                }
                walk(child, asked);
            }
        }
        let mut asked = [false; 5];
        walk(field, &mut asked);
        Self(asked)
    }
}

/// The cells' numerators and denominators summed: in all, and for each value of each
/// dimension (a cell with no value for a dimension, an empty one, counts in none of its
/// parts), the values in order; only for the breakdowns asked ([`Breakdowns`]).
///
/// Hashed while summing, then ordered once: the academy's statements give a few thousand
/// cells each, and five ordered maps of text per share (a comparison of keys per level
/// of each, and each row copied first) cost 20 ms of this process's CPU per page of the
/// academy's dashboard, its answers already computed.
struct Sums<'a> {
    count: i64,
    of: i64,
    parts: [Vec<(&'a str, i64, i64)>; 5],
}

fn sums<'a>(cells: impl IntoIterator<Item = CellRef<'a>>, asked: Breakdowns) -> Sums<'a> {
    type Parts<'a> = HashMap<&'a str, (i64, i64), foldhash::fast::RandomState>;
    let mut maps: [Parts<'a>; 5] = Default::default();
    let (mut count, mut of) = (0, 0);
    for (keys, n, d) in cells {
        count += n;
        of += d;
        for ((map, key), asked) in maps.iter_mut().zip(keys).zip(asked.0) {
            if asked && !key.is_empty() {
                let sum = map.entry(key).or_default();
                sum.0 += n;
                sum.1 += d;
            }
        }
    }
    let parts = maps.map(|map| {
        let mut part: Vec<_> = map.into_iter().map(|(key, (n, d))| (key, n, d)).collect();
        part.sort_unstable_by_key(|(key, _, _)| *key);
        part
    });
    Sums { count, of, parts }
}

fn share(cells: &[Cell], asked: Breakdowns) -> IndicatorShare {
    share_from(cells.iter().map(cell_ref), asked)
}

fn share_from<'a>(
    cells: impl IntoIterator<Item = CellRef<'a>>,
    asked: Breakdowns,
) -> IndicatorShare {
    let Sums { count, of, parts } = sums(cells, asked);
    let [
        by_department,
        by_circonscription,
        by_kind,
        by_sector,
        by_priority_education,
    ] = parts.map(|part| {
        part.into_iter()
            .map(|(key, count, of)| {
                let IndicatorRatio { value, count, of } = IndicatorRatio::new(count, of);
                IndicatorRatioPart {
                    key: key.to_owned(),
                    value,
                    count,
                    of,
                }
            })
            .collect()
    });
    let IndicatorRatio { value, count, of } = IndicatorRatio::new(count, of);
    IndicatorShare {
        value,
        count,
        of,
        by_department,
        by_circonscription,
        by_kind,
        by_sector,
        by_priority_education,
    }
}

/// The share of one of the counts of rows that carry several (one statement for several
/// shares): `cell` picks out of a row its dimensions, that count and the denominator.
fn share_of<'a, R>(
    rows: &'a [R],
    asked: Breakdowns,
    cell: impl Fn(&'a R) -> Picked<'a>,
) -> IndicatorShare {
    share_from(rows.iter().map(|row| picked(cell(row))), asked)
}

/// [`share_of`] over the rows that `cell` keeps, and of those only the cells counting a
/// school: a statement reading a department's schools of every kind and state gives a cell
/// of none where the schools counted alone are read, and such a cell is no part.
fn counted_share_of<'a, R>(
    rows: &'a [R],
    asked: Breakdowns,
    cell: impl Fn(&'a R) -> Option<Picked<'a>>,
) -> IndicatorShare {
    share_from(
        rows.iter()
            .filter_map(|row| cell(row).map(picked))
            .filter(|(_, _, of)| *of > 0),
        asked,
    )
}

/// The total of the first (0) or the second (1) of two sums a statement gives by cell
/// (its numerator and denominator places).
fn total_of(cells: &[Cell], which: usize, asked: Breakdowns) -> IndicatorTotal {
    total_from(
        cells.iter().map(|cell| {
            let (keys, first, second) = cell_ref(cell);
            (keys, if which == 0 { first } else { second }, 0)
        }),
        asked,
    )
}

/// The cells' numerators summed, in all and by dimension (their denominators unread).
fn total_from<'a>(
    cells: impl IntoIterator<Item = CellRef<'a>>,
    asked: Breakdowns,
) -> IndicatorTotal {
    let Sums { count, parts, .. } = sums(cells, asked);
    let [
        by_department,
        by_circonscription,
        by_kind,
        by_sector,
        by_priority_education,
    ] = parts.map(|part| {
        part.into_iter()
            .map(|(key, total, _)| IndicatorTotalPart {
                key: key.to_owned(),
                total,
            })
            .collect()
    });
    IndicatorTotal {
        total: count,
        by_department,
        by_circonscription,
        by_kind,
        by_sector,
        by_priority_education,
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

    /// The schools `s` in the caller's scope (and the department asked), of the sector
    /// and priority education asked.
    fn school_scope(&self, filter: &mut Filter) {
        if !self.seen.all {
            filter.any_of(&[
                ("s.department", &self.seen.departments),
                ("s.uai", &self.seen.schools),
            ]);
        }
        filter.eq("s.department", self.department.clone());
        self.school_attributes(filter);
    }

    /// The schools `s` of the sector and priority education asked.
    fn school_attributes(&self, filter: &mut Filter) {
        filter.eq("s.sector", self.sector.map(|s| s.as_str().to_owned()));
        filter.eq(
            "s.priority_education",
            self.priority.map(|p| p.as_str().to_owned()),
        );
    }

    /// For a department's or a caller's few schools: the UAIs of the schools in scope, as
    /// a subquery (its binds added to `filter`), for a statement to look their facts up
    /// by school rather than read every fact of the year to keep a few.
    fn schools_in_scope(&self, filter: &mut Filter) -> Option<String> {
        if !self.narrow() {
            return None;
        }
        let mut scope = Filter::default();
        scope.binds = std::mem::take(&mut filter.binds);
        self.school_scope(&mut scope);
        filter.binds = std::mem::take(&mut scope.binds);
        Some(format!("(SELECT s.uai FROM rm_schools s{})", scope.sql()))
    }

    /// For a department's or a caller's few schools: keeps the facts whose school
    /// (`column`) is in scope, so that they are looked up by school rather than every
    /// fact of the year read and joined to keep a few (one department's labels by level:
    /// 9 ms → 2.2 ms at 60,000 schools). The join to `s` still filters: this only lets
    /// the planner start from the department's schools.
    ///
    /// And within the range of their UAIs ([`Self::uai_range`], [`UaiRange::spanning`]): a UAI
    /// begins with its department's code, so a department's schools are neighbours in a
    /// UAI-ordered index, and PostgreSQL may read their facts in one range of it where
    /// each school took a lookup of its own (some 600 per statement for a department at
    /// 60,000 schools); it still looks them up where its estimates say that is cheaper.
    /// The range is only a bound: a school whose UAI lies apart (one moved from another
    /// department) widens it and is still read; the `IN` keeps the schools in scope alone.
    fn facts_in_scope(&self, filter: &mut Filter, column: &str) {
        if let Some(condition) = self.in_scope(filter, column) {
            filter.raw(&condition);
        }
    }

    /// [`Self::facts_in_scope`] for a subquery of its own, whose condition is written
    /// out rather than added to `filter` (which gets its binds): ` AND column IN (…)`,
    /// or nothing for the whole academy.
    fn and_in_scope(&self, filter: &mut Filter, column: &str) -> String {
        self.in_scope(filter, column)
            .map(|condition| format!(" AND {condition}"))
            .unwrap_or_default()
    }

    /// The condition of [`Self::facts_in_scope`], its binds added to `filter`.
    fn in_scope(&self, filter: &mut Filter, column: &str) -> Option<String> {
        let schools = self.schools_in_scope(filter)?;
        Some(match &self.uai_range {
            Some(range) => format!(
                "{} AND {column} IN {schools}",
                range.condition(filter, column)
            ),
            None => format!("{column} IN {schools}"),
        })
    }

    /// The range of the UAIs of the schools in scope ([`UaiRange::spanning`]), for a
    /// department or a caller's few schools (read in the request's snapshot); `None` for
    /// the academy, or when no school is in scope.
    async fn uai_range(&self) -> Result<Option<UaiRange>, Error> {
        if !self.narrow() {
            return Ok(None);
        }
        let mut filter = Filter::default();
        self.school_scope(&mut filter);
        // `|| ''`: PostgreSQL would otherwise walk the UAIs' index from each end until a
        // school in scope (some 20 ms for a department in the middle of 60,000), where
        // reading the scope's few hundred is 0.2 ms.
        let found: Vec<(Option<String>, Option<String>)> = self
            .rows(
                &format!(
                    "SELECT MIN(s.uai || ''), MAX(s.uai || '') FROM rm_schools s{}",
                    filter.sql()
                ),
                &filter.binds,
            )
            .await?;
        Ok(found
            .into_iter()
            .next()
            .and_then(|(least, greatest)| least.zip(greatest))
            .map(|(least, greatest)| UaiRange::spanning(least, greatest)))
    }

    /// What a reading of facts binds first ([`Reading`]), its facts' school in `column`.
    fn reading(&self, column: &str) -> Reading {
        let mut filter = Filter::default();
        let year = filter.bind(self.year.to_string());
        let at = filter.bind(instant(self.at));
        let day = filter.bind(self.day.to_string());
        let narrowed = self.and_in_scope(&mut filter, column);
        Reading {
            filter,
            year,
            at,
            day,
            narrowed,
        }
    }

    /// The schools `s` open on the day asked (its placeholder).
    fn open(filter: &mut Filter, day: &str) {
        filter.raw(&format!("(s.closed_on IS NULL OR s.closed_on > {day})"));
    }

    /// Rows of `sql` (the lists' tables unsuffixed, the indicators' named), in the
    /// request's snapshot: a copy, for the statements of a few rows.
    async fn rows<R>(&self, sql: &str, binds: &[String]) -> Result<Vec<R>, Error>
    where
        R: AnswerRow,
    {
        Ok(self.shared_rows(sql, binds).await?.as_ref().clone())
    }

    /// [`Self::rows`], shared with the other requests that ask them (not copied).
    async fn shared_rows<R>(
        &self,
        sql: &str,
        binds: &[String],
    ) -> Result<std::sync::Arc<Vec<R>>, Error>
    where
        R: AnswerRow,
    {
        let sql = crate::tables::rename(self.lists, sql);
        if let Some(missed) = &self.previous {
            return self
                .answers
                .cached(&self.state, &sql, binds)
                .ok_or_else(|| {
                    missed.store(true, std::sync::atomic::Ordering::Relaxed);
                    Error::new("Réponse de l'état précédent incomplète : la requête est reprise.")
                });
        }
        self.answers
            .rows(
                &self.state,
                &sql,
                binds,
                self.by,
                self.snapshot.rows(&sql, binds),
            )
            .await
            .map_err(internal)
    }

    /// The one number `sql` answers (a `COUNT(*)` or a `SUM`).
    async fn count(&self, sql: &str, binds: &[String]) -> Result<i64, Error> {
        let found: Vec<(i64,)> = self.rows(sql, binds).await?;
        Ok(found.first().map_or(0, |(n,)| *n))
    }

    async fn cells(&self, sql: &str, filter: &Filter) -> Result<std::sync::Arc<Vec<Cell>>, Error> {
        self.shared_rows::<Cell>(sql, &filter.binds).await
    }

    fn narrow(&self) -> bool {
        narrow(self.department.as_ref(), &self.seen)
    }

    /// Of the open schools of `kinds` in scope, those `flagged` names (a query of one
    /// `uai` column, given the placeholders of the year, the instant and the day, whose
    /// facts an index on their school finds).
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
        let sql = if let Some(range) = &self.uai_range {
            // A department's schools' facts, read in the range of their UAIs (see
            // `facts_in_scope`) rather than every fact of the year read to keep a few.
            let within = range.condition(&mut filter, "x.uai");
            format!(
                "SELECT {DIMENSIONS}, \
                 CAST(SUM(CASE WHEN f.uai IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
                 CAST(COUNT(*) AS BIGINT) \
                 FROM rm_schools s LEFT JOIN (SELECT DISTINCT uai FROM ({flagged}) x \
                 WHERE {within}) f \
                 ON f.uai = s.uai{} \
                 GROUP BY {DIMENSIONS}",
                filter.sql()
            )
        } else if self.narrow() {
            // No school in scope: nothing to look up.
            format!(
                "SELECT {DIMENSIONS}, \
                 CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM ({flagged}) x WHERE x.uai = s.uai) \
                 THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(COUNT(*) AS BIGINT) \
                 FROM rm_schools s{} \
                 GROUP BY {DIMENSIONS}",
                filter.sql()
            )
        } else {
            format!(
                "SELECT {DIMENSIONS}, \
                 CAST(SUM(CASE WHEN f.uai IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
                 CAST(COUNT(*) AS BIGINT) \
                 FROM rm_schools s LEFT JOIN (SELECT DISTINCT uai FROM ({flagged}) x) f \
                 ON f.uai = s.uai{} \
                 GROUP BY {DIMENSIONS}",
                filter.sql()
            )
        };
        Ok(share(&self.cells(&sql, &filter).await?, self.breakdowns))
    }

    /// The same dashboard for the year before, read at [`a_year_before`] `asOf` (the
    /// same moment of that year's calendar), in the same snapshot: what every trend
    /// compares with.
    fn a_year_before(&self) -> Self {
        let at = a_year_before(self.at);
        Self {
            year: self.year.previous(),
            department: self.department.clone(),
            sector: self.sector,
            priority: self.priority,
            at,
            day: at.with_timezone(&Paris).date_naive(),
            seen: self.seen.clone(),
            lists: self.lists,
            live: self.live.clone(),
            snapshot: self.snapshot.clone(),
            store: self.store.clone(),
            answers: self.answers.clone(),
            by: self.by,
            state: self.state.clone(),
            previous: self.previous.clone(),
            uai_range: self.uai_range.clone(),
            breakdowns: self.breakdowns,
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
            "SELECT c.department, c.circonscription, 'ecole', '', '', \
             CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM {teams} t \
                 WHERE t.circonscription = c.circonscription AND t.department = c.department \
                 AND t.school_year = {year} AND {} AND {condition}) \
             THEN 1 ELSE 0 END) AS BIGINT), CAST(COUNT(*) AS BIGINT) \
             FROM (SELECT DISTINCT s.department, s.circonscription FROM rm_schools s{}) c \
             GROUP BY c.department, c.circonscription",
            valid("t", &at),
            filter.sql()
        );
        Ok(share(&self.cells(&sql, &filter).await?, self.breakdowns))
    }

    /// Sums over fact rows `f` joined to their school `s`, in scope, by cell: the one of
    /// `sums` at `which`. The others are summed in the same statement, which the request's
    /// answers compute once for the fields that show them.
    async fn school_total(
        &self,
        sums: [&str; 2],
        which: usize,
        from: impl FnOnce(&str, &str) -> (String, String),
    ) -> Result<IndicatorTotal, Error> {
        let mut filter = Filter::default();
        let year = filter.bind(self.year.to_string());
        let at = filter.bind(instant(self.at));
        let (table, condition) = from(&year, &at);
        filter.raw(&condition);
        self.facts_in_scope(&mut filter, "f.school_uai");
        self.school_scope(&mut filter);
        let sql = format!(
            "SELECT {DIMENSIONS}, \
             CAST(COALESCE(SUM({}), 0) AS BIGINT), CAST(COALESCE(SUM({}), 0) AS BIGINT) \
             FROM {table} f JOIN rm_schools s ON s.uai = f.school_uai{} \
             GROUP BY {DIMENSIONS}",
            sums[0],
            sums[1],
            filter.sql()
        );
        let rows = self.cells(&sql, &filter).await?;
        Ok(total_of(&rows, which, self.breakdowns))
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

    /// Le secteur demandé, s'il y en a un.
    async fn sector(&self) -> Option<&str> {
        self.sector.map(Sector::as_str)
    }

    /// Le classement d'éducation prioritaire demandé, s'il y en a un.
    async fn priority_education(&self) -> Option<&str> {
        self.priority.map(PriorityEducation::as_str)
    }

    /// La position dans le journal du dernier événement que ces indicateurs prennent en
    /// compte. Passée à `dashboardChanged(after:)`, elle fait annoncer aussitôt ce qui a
    /// changé depuis cette lecture, avant même l'abonnement.
    async fn position(&self) -> i64 {
        self.state.position()
    }

    /// L'instant auquel toutes les évolutions sur un an (labels par niveau, concours)
    /// lisent l'année scolaire précédente : un an avant `asOf`, au même moment de son
    /// calendrier (heure de Paris ; un 29 février devient le 28) (UTC).
    async fn previous_as_of(&self) -> Instant {
        Instant(a_year_before(self.at).to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    /// 1. Équipes ressources d'au moins 5 membres formés.
    async fn trained_teams(&self) -> TrainedTeamsIndicators<'_> {
        TrainedTeamsIndicators(self)
    }

    /// 2. Élèves et parents ambassadeurs.
    async fn ambassadors(&self) -> AmbassadorsIndicators<'_> {
        AmbassadorsIndicators(self)
    }

    /// 3. Labels pHARe par niveau, et leur évolution sur un an.
    async fn labels(&self) -> LabelsIndicators<'_> {
        LabelsIndicators(self)
    }

    /// 4. Étapes pHARe : charte en vigueur, protocole présenté, 10 heures planifiées,
    /// atelier parents tenu.
    async fn phare_steps(&self) -> PhareStepsIndicators<'_> {
        PhareStepsIndicators(self, tokio::sync::OnceCell::new())
    }

    /// 5. Journée nationale « Non au harcèlement » : établissements ayant mené une
    /// action, actions par type, élèves touchés, bilans reçus.
    async fn national_day(&self) -> NationalDayIndicators<'_> {
        NationalDayIndicators::new(self)
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
        if let Some(rows) = d.teams_narrow().await? {
            return Ok(share_of(
                &rows,
                d.breakdowns,
                |(a, b, c, e, f, n, _, of)| (a, b, c, e, f, n, of),
            ));
        }
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

/// A row of [`Dashboard::teams_narrow`]: a cell's dimensions, then its open collèges and
/// lycées whose team has 5 trained members, those whose team has 5 members, those schools.
type TeamRow = (String, String, String, String, String, i64, i64, i64);

impl Dashboard {
    /// For a department's or a caller's few schools, from one reading of their schools'
    /// teams of the year at the instant, in one statement by school cell: the schools
    /// with 5 trained members (group 1) and with 5 members (group 8's undeclared teams,
    /// their complement), where two statements read the same teams twice.
    async fn teams_narrow(&self) -> Result<Option<std::sync::Arc<Vec<TeamRow>>>, Error> {
        if !self.narrow() {
            return Ok(None);
        }
        let teams = self.table(&indicators::TRAINED_TEAMS, "rm_ind_teams");
        let Reading {
            mut filter,
            year,
            at,
            day,
            narrowed,
        } = self.reading("t.school_uai");
        let flag = |condition: String| format!("MAX(CASE WHEN {condition} THEN 1 ELSE 0 END)");
        let met = format!(
            "SELECT t.school_uai AS uai, {} AS trained, {} AS declared \
             FROM {teams} t WHERE t.school_year = {year} AND {} \
             AND t.school_uai IS NOT NULL{narrowed} GROUP BY t.school_uai",
            flag(format!("t.trained >= {TRAINED_MEMBERS_REQUIRED}")),
            flag(format!("t.members >= {TEAM_MEMBERS_REQUIRED}")),
            valid("t", &at)
        );
        filter.raw(&format!("s.kind IN {SECONDARY}"));
        Self::open(&mut filter, &day);
        self.school_scope(&mut filter);
        let sql = format!(
            "SELECT {DIMENSIONS}, \
             CAST(SUM(COALESCE(f.trained, 0)) AS BIGINT), \
             CAST(SUM(COALESCE(f.declared, 0)) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) \
             FROM rm_schools s LEFT JOIN ({met}) f ON f.uai = s.uai{} \
             GROUP BY {DIMENSIONS}",
            filter.sql()
        );
        Ok(Some(
            self.shared_rows::<TeamRow>(&sql, &filter.binds).await?,
        ))
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
        if let Some(rows) = self.narrow_reading().await? {
            return Ok(counted_share_of(
                &rows,
                d.breakdowns,
                |(a, b, c, e, f, _, _, n, of, _)| Some((a, b, c, e, f, n, of)),
            ));
        }
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
        self.sum(0).await
    }

    /// Parents ambassadeurs des cohortes déclarées de l'année.
    async fn parents(&self) -> Result<IndicatorTotal, Error> {
        self.sum(1).await
    }
}

/// A row of [`AmbassadorsIndicators::narrow_reading`]: a cell's dimensions, then its
/// pupils and parents, its open collèges and lycées with 10 pupil ambassadors, those
/// schools, its schools with a cohort declared.
type CohortRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
);

impl AmbassadorsIndicators<'_> {
    /// For a department's or a caller's few schools, from one reading of their schools'
    /// cohorts declared in the year at the instant, in one statement by school cell: the
    /// share of schools and the pupils' and parents' totals, where two statements read
    /// the same cohorts twice.
    async fn narrow_reading(&self) -> Result<Option<std::sync::Arc<Vec<CohortRow>>>, Error> {
        let d = self.0;
        if !d.narrow() {
            return Ok(None);
        }
        let cohorts = d.table(&indicators::AMBASSADORS, "rm_ind_cohorts");
        let Reading {
            mut filter,
            year,
            at,
            day,
            narrowed,
        } = d.reading("c.school_uai");
        d.school_scope(&mut filter);
        // The share counts the open collèges and lycées; the totals, every school's cohorts.
        let counted =
            format!("s.kind IN {SECONDARY} AND (s.closed_on IS NULL OR s.closed_on > {day})");
        let sql = format!(
            "SELECT {DIMENSIONS}, \
             CAST(COALESCE(SUM(g.pupils), 0) AS BIGINT), \
             CAST(COALESCE(SUM(g.parents), 0) AS BIGINT), \
             CAST(SUM(CASE WHEN {counted} AND g.ambassadors >= {AMBASSADORS_REQUIRED} \
             THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN {counted} THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(COUNT(g.uai) AS BIGINT) \
             FROM rm_schools s LEFT JOIN (SELECT c.school_uai AS uai, SUM(c.pupils) AS pupils, \
             SUM(c.parents) AS parents, \
             SUM(CASE WHEN c.kind IN ('eleves_college', 'eleves_lycee') THEN c.pupils ELSE 0 END) \
             AS ambassadors \
             FROM {cohorts} c WHERE c.school_year = {year} AND {} AND c.declared{narrowed} \
             GROUP BY c.school_uai) g ON g.uai = s.uai{} \
             GROUP BY {DIMENSIONS}",
            valid("c", &at),
            filter.sql()
        );
        Ok(Some(d.shared_rows::<CohortRow>(&sql, &filter.binds).await?))
    }

    /// Pupils (0) or parents (1) of the cohorts declared, summed together.
    async fn sum(&self, which: usize) -> Result<IndicatorTotal, Error> {
        if let Some(rows) = self.narrow_reading().await? {
            // The cells of the schools with a cohort declared, as where the cohorts are
            // joined to their schools.
            return Ok(total_from(
                rows.iter().filter(|row| row.9 > 0).map(
                    |(a, b, c, e, f, pupils, parents, _, _, _)| {
                        let n = if which == 0 { *pupils } else { *parents };
                        ([a.as_str(), b, c, e, f], n, 0)
                    },
                ),
                self.0.breakdowns,
            ));
        }
        let cohorts = self.0.table(&indicators::AMBASSADORS, "rm_ind_cohorts");
        self.0
            .school_total(["f.pupils", "f.parents"], which, |year, at| {
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

/// 3. Labels (définition versionnée).
pub struct LabelsIndicators<'a>(&'a Dashboard);

/// Les labels décernés à un niveau.
#[derive(SimpleObject, Debug, Clone)]
pub struct LabelLevelCount {
    /// `engagement`, `approfondissement` ou `expertise`.
    level: String,
    /// Le niveau en chiffre : 1, 2 ou 3.
    number: i32,
    /// Labels décernés à ce niveau pour l'année.
    count: i64,
    /// Labels décernés à ce niveau l'année précédente, lus un an avant l'instant demandé
    /// (`previousAsOf` du tableau de bord : la règle de toutes les évolutions).
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

    /// Labels décernés par niveau, et l'évolution depuis l'année précédente (lue un an
    /// avant l'instant demandé, comme toutes les évolutions).
    async fn by_level(&self) -> Result<Vec<LabelLevelCount>, Error> {
        let current = Self::awarded(self.0).await?;
        let previous = Self::awarded(&self.0.a_year_before()).await?;
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
        if let Some(rows) = self.0.labels_narrow().await? {
            return Ok(counted_share_of(
                &rows,
                self.0.breakdowns,
                |(tag, a, b, c, e, f, n, of, _)| (tag == "cell").then_some((a, b, c, e, f, n, of)),
            ));
        }
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
    /// Labels awarded in `d`'s year, by level, at its instant.
    async fn awarded(d: &Dashboard) -> Result<BTreeMap<String, i64>, Error> {
        if let Some(rows) = d.labels_narrow().await? {
            return Ok(rows
                .iter()
                .filter(|row| row.0 == "level")
                .map(|row| (row.1.clone(), row.6))
                .collect());
        }
        let labels = d.table(&indicators::LABELS, "rm_ind_labels");
        let mut filter = Filter::default();
        let year = filter.bind(d.year.to_string());
        let at = filter.bind(instant(d.at));
        filter.raw(&format!(
            "f.school_year = {year} AND {} AND f.status = 'awarded'",
            valid("f", &at)
        ));
        d.facts_in_scope(&mut filter, "f.school_uai");
        d.school_scope(&mut filter);
        let sql = format!(
            "SELECT COALESCE(f.awarded_level, ''), CAST(COUNT(*) AS BIGINT) \
             FROM {labels} f JOIN rm_schools s ON s.uai = f.school_uai{} \
             GROUP BY COALESCE(f.awarded_level, '')",
            filter.sql()
        );
        let found: Vec<(String, i64)> = d.rows(&sql, &filter.binds).await?;
        Ok(found.into_iter().collect())
    }
}

impl Dashboard {
    /// For a department's or a caller's few schools, from one reading of their schools'
    /// labels awarded in the year at the instant, in one statement: by school cell (rows
    /// tagged `cell`: dimensions, the open écoles, collèges and lycées with a label, those
    /// schools) and the labels by level (rows tagged `level`: the level, its count). Two
    /// statements read the same labels twice (the share, the levels).
    async fn labels_narrow(&self) -> Result<Option<std::sync::Arc<Vec<Tagged>>>, Error> {
        if !self.narrow() {
            return Ok(None);
        }
        let labels = self.table(&indicators::LABELS, "rm_ind_labels");
        let Reading {
            mut filter,
            year,
            at,
            day,
            narrowed,
        } = self.reading("l.school_uai");
        self.school_scope(&mut filter);
        // The share counts the open schools pHARe applies to; the levels, every school's
        // labels.
        let counted = format!("s.kind IN {PHARE} AND (s.closed_on IS NULL OR s.closed_on > {day})");
        let sql = format!(
            "WITH c AS (SELECT l.school_uai, l.awarded_level FROM {labels} l \
             WHERE l.school_year = {year} AND {} AND l.status = 'awarded'{narrowed}) \
             SELECT 'cell', {DIMENSIONS}, \
             CAST(SUM(CASE WHEN {counted} AND g.uai IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN {counted} THEN 1 ELSE 0 END) AS BIGINT), CAST(0 AS BIGINT) \
             FROM rm_schools s LEFT JOIN (SELECT DISTINCT c.school_uai AS uai FROM c) g \
             ON g.uai = s.uai{} \
             GROUP BY {DIMENSIONS} \
             UNION ALL \
             SELECT 'level', COALESCE(c.awarded_level, ''), '', '', '', '', \
             CAST(COUNT(*) AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
             FROM c GROUP BY COALESCE(c.awarded_level, '')",
            valid("l", &at),
            filter.sql()
        );
        Ok(Some(self.shared_rows::<Tagged>(&sql, &filter.binds).await?))
    }
}

/// 4. Étapes pHARe (définition versionnée).
pub struct PhareStepsIndicators<'a>(&'a Dashboard, tokio::sync::OnceCell<Steps>);

/// The four steps' shares, read in one statement for the fields that show them.
#[derive(Debug)]
struct Steps {
    charter: IndicatorShare,
    protocol: IndicatorShare,
    hours: IndicatorShare,
    workshop: IndicatorShare,
}

impl PhareStepsIndicators<'_> {
    async fn steps(&self) -> Result<&Steps, Error> {
        self.1.get_or_try_init(|| self.read_steps()).await
    }

    /// Of the open écoles, collèges and lycées in scope, those whose deployment of the
    /// year meets each step: one reading of the deployments for the four (a department's
    /// looked up by school), where a statement each read them four times.
    async fn read_steps(&self) -> Result<Steps, Error> {
        let d = self.0;
        let steps = d.table(&indicators::PHARE_STEPS, "rm_ind_steps");
        let Reading {
            mut filter,
            year,
            at,
            day,
            narrowed,
        } = d.reading("t.school_uai");
        let flag = |condition: String| format!("MAX(CASE WHEN {condition} THEN 1 ELSE 0 END)");
        let met = format!(
            "SELECT t.school_uai AS uai, {} AS charter, {} AS protocol, {} AS hours, \
             {} AS workshop \
             FROM {steps} t WHERE t.school_year = {year} AND {} \
             AND t.school_uai IS NOT NULL{narrowed} GROUP BY t.school_uai",
            // The charter in force on the day: signed, and within its two school years.
            flag(format!(
                "t.charter_signed_on <= {day} AND t.charter_ends_on >= {day}"
            )),
            flag(format!("t.protocol_presented_on <= {day}")),
            flag(format!("t.learning_hours >= {LEARNING_HOURS_REQUIRED}")),
            flag(format!("t.first_workshop_on <= {day}")),
            valid("t", &at)
        );
        filter.raw(&format!("s.kind IN {PHARE}"));
        Dashboard::open(&mut filter, &day);
        d.school_scope(&mut filter);
        let sql = format!(
            "SELECT {DIMENSIONS}, \
             CAST(SUM(COALESCE(f.charter, 0)) AS BIGINT), \
             CAST(SUM(COALESCE(f.protocol, 0)) AS BIGINT), \
             CAST(SUM(COALESCE(f.hours, 0)) AS BIGINT), \
             CAST(SUM(COALESCE(f.workshop, 0)) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) \
             FROM rm_schools s LEFT JOIN ({met}) f ON f.uai = s.uai{} \
             GROUP BY {DIMENSIONS}",
            filter.sql()
        );
        type Row = (
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
            i64,
        );
        let rows = d.shared_rows::<Row>(&sql, &filter.binds).await?;
        Ok(Steps {
            charter: share_of(&rows, d.breakdowns, |(a, b, c, e, f, n, _, _, _, of)| {
                (a, b, c, e, f, n, of)
            }),
            protocol: share_of(&rows, d.breakdowns, |(a, b, c, e, f, _, n, _, _, of)| {
                (a, b, c, e, f, n, of)
            }),
            hours: share_of(&rows, d.breakdowns, |(a, b, c, e, f, _, _, n, _, of)| {
                (a, b, c, e, f, n, of)
            }),
            workshop: share_of(&rows, d.breakdowns, |(a, b, c, e, f, _, _, _, n, of)| {
                (a, b, c, e, f, n, of)
            }),
        })
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
        Ok(self.steps().await?.charter.clone())
    }

    /// Part de ceux dont le protocole de traitement a été présenté (à la date demandée).
    async fn protocol_presented(&self) -> Result<IndicatorShare, Error> {
        Ok(self.steps().await?.protocol.clone())
    }

    /// Part de ceux dont les 10 heures d'apprentissage sont planifiées.
    async fn learning_hours_planned(&self) -> Result<IndicatorShare, Error> {
        Ok(self.steps().await?.hours.clone())
    }

    /// Part de ceux qui ont tenu au moins un atelier parents (à la date demandée).
    async fn parent_workshop_held(&self) -> Result<IndicatorShare, Error> {
        Ok(self.steps().await?.workshop.clone())
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
        self.department_scope(filter, "se.department");
    }

    /// [`Self::session_scope`] on the session's department in `column`.
    fn department_scope(&self, filter: &mut Filter, column: &str) {
        let d = self.0;
        if !d.seen.all {
            let departments = d.seen.planning_departments();
            filter.any_of(&[(column, &departments)]);
        }
        filter.eq(column, d.department.clone());
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
        let found: Vec<(String, i64, i64, i64, i64)> = d.rows(&sql, &filter.binds).await?;
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
        if d.version(&indicators::TRAININGS) >= 3 {
            // Each person's periods of being trained in a department (v3).
            let trained = d.table(&indicators::TRAININGS, "rm_ind_mpp_trained");
            let mut filter = Filter::default();
            let at = filter.bind(instant(d.at));
            filter.raw(&format!("{} AND m.trained", valid("m", &at)));
            self.department_scope(&mut filter, "m.department");
            let sql = format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT DISTINCT m.person \
                 FROM {trained} m{}) p",
                filter.sql()
            );
            return d.count(&sql, &filter.binds).await;
        }
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
        // The people found once each (hashed) before they are counted: `COUNT(DISTINCT …)`
        // sorted them, one department's 3,000 at 60,000 schools in 2.4-2.9 ms against
        // 1.4-1.6 ms.
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT DISTINCT a.person FROM {attendees} a \
             JOIN {sessions} se ON se.subject = a.session_id{}) p",
            filter.sql()
        );
        d.count(&sql, &filter.binds).await
    }

    /// Couverture : part des établissements ouverts du périmètre dont au moins une
    /// personne a suivi (présente à un créneau) une session de l'année.
    async fn school_coverage(&self) -> Result<IndicatorShare, Error> {
        let d = self.0;
        let sessions = d.table(&indicators::TRAININGS, "rm_ind_sessions");
        let attendees = d.table(&indicators::TRAININGS, "rm_ind_attendees");
        let coverage = d.table(&indicators::TRAININGS, "rm_ind_coverage");
        // Tables built with v1 (live while a new release rebuilds them) have no session
        // year nor cancellation on their attendees: each attendee's session is looked up.
        // Those of v2 have no coverage of their own: the attendees are read.
        let version = d.version(&indicators::TRAININGS);
        let v1 = version < 2;
        let v2 = version == 2;
        d.school_share(
            "('ecole', 'college', 'lycee_gt', 'lycee_pro', 'lycee_poly', 'erea', 'periscolaire')",
            |year, at, _| {
                if v1 {
                    return format!(
                        "SELECT a.school_uai AS uai FROM {attendees} a \
                         JOIN {sessions} se ON se.subject = a.session_id \
                         WHERE se.school_year = {year} AND {} AND {} AND a.minutes > 0 \
                         AND se.status <> 'cancelled' AND a.school_uai IS NOT NULL",
                        valid("a", at),
                        valid("se", at)
                    );
                }
                if v2 {
                    // An attendee's period carries its session's year and cancellation.
                    return format!(
                        "SELECT a.school_uai AS uai FROM {attendees} a \
                         WHERE a.school_uai IS NOT NULL AND a.school_year = {year} AND {} \
                         AND a.minutes > 0 AND NOT a.cancelled",
                        valid("a", at)
                    );
                }
                // A school's coverage of the year, one period of it valid at the instant.
                format!(
                    "SELECT c.school_uai AS uai FROM {coverage} c \
                     WHERE c.school_year = {year} AND {} AND c.covered",
                    valid("c", at)
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
pub struct NationalDayIndicators<'a>(
    &'a Dashboard,
    tokio::sync::OnceCell<Reported>,
    tokio::sync::OnceCell<Schools>,
);

/// A row of [`NationalDayIndicators::narrow_reading`]: its tag, five texts, three counts.
type Tagged = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
);

/// The schools' shares, read in one statement for the fields that show them.
#[derive(Debug)]
struct Schools {
    /// With an action held and reported.
    with_action: IndicatorShare,
    /// With an action reported (held or planned).
    reported: IndicatorShare,
}

/// The reported actions' figures, read in one statement for the fields that show them.
#[derive(Debug, Default)]
struct Reported {
    actions: i64,
    pupils: i64,
    by_type: Vec<IndicatorTotalPart>,
}

impl NationalDayIndicators<'_> {
    fn new(d: &Dashboard) -> NationalDayIndicators<'_> {
        NationalDayIndicators(
            d,
            tokio::sync::OnceCell::new(),
            tokio::sync::OnceCell::new(),
        )
    }

    async fn schools(&self) -> Result<&Schools, Error> {
        self.2.get_or_try_init(|| self.read_schools()).await
    }

    /// Of the open schools in scope, those named by a reported national-day action of the
    /// year (reports received), and those one of whose reported actions was held (schools
    /// with an action): both from one reading of the actions' schools.
    async fn read_schools(&self) -> Result<Schools, Error> {
        let d = self.0;
        if let Some(rows) = self.narrow_reading().await? {
            let cells: Vec<&Tagged> = rows.iter().filter(|row| row.0 == "cell").collect();
            return Ok(Schools {
                with_action: share_of(&cells, d.breakdowns, |(_, a, b, c, e, f, n, _, of)| {
                    (a, b, c, e, f, n, of)
                }),
                reported: share_of(&cells, d.breakdowns, |(_, a, b, c, e, f, _, n, of)| {
                    (a, b, c, e, f, n, of)
                }),
            });
        }
        let named = d.table(&indicators::NATIONAL_DAY, "rm_ind_action_schools");
        // A department's share: its schools' rows only, found by school in the index.
        let Reading {
            mut filter,
            year,
            at,
            day,
            narrowed,
        } = d.reading("c.school_uai");
        let reported = format!(
            "SELECT c.school_uai AS uai, MAX(CASE WHEN c.held THEN 1 ELSE 0 END) AS held \
             FROM {named} c WHERE c.school_year = {year} AND {} \
             AND c.campaign = 'national_day' AND c.status IN {REPORTED}{narrowed} \
             GROUP BY c.school_uai",
            valid("c", &at)
        );
        filter.raw(&format!("s.kind IN {EVERY_KIND}"));
        Dashboard::open(&mut filter, &day);
        d.school_scope(&mut filter);
        let sql = format!(
            "SELECT {DIMENSIONS}, \
             CAST(SUM(COALESCE(f.held, 0)) AS BIGINT), \
             CAST(SUM(CASE WHEN f.uai IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) \
             FROM rm_schools s LEFT JOIN ({reported}) f ON f.uai = s.uai{} \
             GROUP BY {DIMENSIONS}",
            filter.sql()
        );
        type Row = (String, String, String, String, String, i64, i64, i64);
        let rows = d.shared_rows::<Row>(&sql, &filter.binds).await?;
        Ok(Schools {
            with_action: share_of(&rows, d.breakdowns, |(a, b, c, e, f, n, _, of)| {
                (a, b, c, e, f, n, of)
            }),
            reported: share_of(&rows, d.breakdowns, |(a, b, c, e, f, _, n, of)| {
                (a, b, c, e, f, n, of)
            }),
        })
    }

    /// For a department's or a caller's few schools, from one reading of their schools'
    /// rows of the reported actions (`c`), in one statement: the schools' shares by cell
    /// (rows tagged `cell`: dimensions, with a held action, with a report, schools) and
    /// the actions by set of types, an action naming two of the schools once (rows
    /// tagged `types`: the set, actions, pupils reached). Two statements read the same
    /// rows twice: one department's national day at 60,000 schools, 5.0 + 2.5 ms.
    async fn narrow_reading(&self) -> Result<Option<std::sync::Arc<Vec<Tagged>>>, Error> {
        let d = self.0;
        if !d.narrow() {
            return Ok(None);
        }
        let named = d.table(&indicators::NATIONAL_DAY, "rm_ind_action_schools");
        let Reading {
            mut filter,
            year,
            at,
            day,
            narrowed,
        } = d.reading("c.school_uai");
        let named_rows = format!(
            "SELECT c.school_uai, c.subject, c.types, c.pupils_reached, c.held FROM {named} c \
             WHERE c.school_year = {year} AND {} AND c.campaign = 'national_day' \
             AND c.status IN {REPORTED}{narrowed}",
            valid("c", &at)
        );
        filter.raw(&format!("s.kind IN {EVERY_KIND}"));
        Dashboard::open(&mut filter, &day);
        d.school_scope(&mut filter);
        let sql = format!(
            "WITH c AS ({named_rows}) \
             SELECT 'cell', {DIMENSIONS}, \
             CAST(SUM(COALESCE(f.held, 0)) AS BIGINT), \
             CAST(SUM(CASE WHEN f.uai IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) \
             FROM rm_schools s LEFT JOIN (SELECT c.school_uai AS uai, \
             MAX(CASE WHEN c.held THEN 1 ELSE 0 END) AS held FROM c GROUP BY c.school_uai) f \
             ON f.uai = s.uai{} \
             GROUP BY {DIMENSIONS} \
             UNION ALL \
             SELECT 'types', a.types, '', '', '', '', CAST(COUNT(*) AS BIGINT), \
             CAST(COALESCE(SUM(a.pupils_reached), 0) AS BIGINT), CAST(0 AS BIGINT) \
             FROM (SELECT DISTINCT c.subject, c.types, c.pupils_reached FROM c) a \
             GROUP BY a.types",
            filter.sql()
        );
        Ok(Some(d.shared_rows::<Tagged>(&sql, &filter.binds).await?))
    }

    /// The reported national-day actions of the year at the instant, one of whose
    /// schools is in scope, each once, for the whole academy (a department's are read
    /// with its schools' shares, [`Self::narrow_reading`]): the `FROM …` of a statement
    /// on their types and pupils (`a`), its filter.
    fn reported(&self) -> (String, Filter) {
        let d = self.0;
        let actions = d.table(&indicators::NATIONAL_DAY, "rm_ind_actions");
        let named = d.table(&indicators::NATIONAL_DAY, "rm_ind_action_schools");
        let mut filter = Filter::default();
        let year = filter.bind(d.year.to_string());
        let at = filter.bind(instant(d.at));
        let mut scope = Filter::default();
        // The schools' scope, its placeholders numbered after the year's and the instant's.
        scope.binds = std::mem::take(&mut filter.binds);
        d.school_scope(&mut scope);
        let in_scope = if scope.is_empty() {
            // Every school of the directory is in scope, and an action names only
            // schools of the directory (the national-day target checks them).
            String::new()
        } else {
            // The action's period's schools, by its key.
            scope.raw("c.subject = a.subject AND c.valid_from = a.valid_from");
            format!(
                " AND EXISTS (SELECT 1 FROM {named} c JOIN rm_schools s ON s.uai = c.school_uai{})",
                scope.sql()
            )
        };
        filter.binds = scope.binds;
        let sql = format!(
            "FROM {actions} a WHERE a.school_year = {year} AND {} \
             AND a.campaign = 'national_day' AND a.status IN {REPORTED}{in_scope}",
            valid("a", &at),
        );
        (sql, filter)
    }

    async fn figures(&self) -> Result<&Reported, Error> {
        self.1.get_or_try_init(|| self.read_reported()).await
    }

    /// How many reported actions, their pupils, and how many of each type (an action of
    /// several types counts in each), from one reading of the actions: counted by their
    /// set of types (a few hundred sets at most), each set's types counted here, where a
    /// pass over the actions per type matched each type's name in every action's.
    async fn read_reported(&self) -> Result<Reported, Error> {
        let sets: Vec<(String, i64, i64)> = if let Some(rows) = self.narrow_reading().await? {
            rows.iter()
                .filter(|row| row.0 == "types")
                .map(|row| (row.1.clone(), row.6, row.7))
                .collect()
        } else {
            let (from, filter) = self.reported();
            let sql = format!(
                "SELECT a.types, CAST(COUNT(*) AS BIGINT), \
                 CAST(COALESCE(SUM(a.pupils_reached), 0) AS BIGINT) {from} GROUP BY a.types"
            );
            self.0
                .shared_rows::<(String, i64, i64)>(&sql, &filter.binds)
                .await?
                .as_ref()
                .clone()
        };
        let mut figures = Reported {
            by_type: ActionType::ALL
                .iter()
                .map(|t| IndicatorTotalPart {
                    key: t.as_str().to_owned(),
                    total: 0,
                })
                .collect(),
            ..Reported::default()
        };
        for (types, actions, pupils) in sets.iter() {
            figures.actions += actions;
            figures.pupils += pupils;
            // Stored `,a,b,`: each name between commas, as `LIKE '%,a,%'` found it.
            for name in types.split(',').filter(|name| !name.is_empty()) {
                if let Some(part) = figures.by_type.iter_mut().find(|p| p.key == name) {
                    part.total += actions;
                }
            }
        }
        Ok(figures)
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
        Ok(self.schools().await?.with_action.clone())
    }

    /// Bilans reçus sur bilans attendus : établissements ouverts du périmètre ayant
    /// transmis au moins une action (tenue ou prévue), sur tous ceux du périmètre.
    async fn reports(&self) -> Result<IndicatorShare, Error> {
        Ok(self.schools().await?.reported.clone())
    }

    /// Actions transmises de l'année dont un établissement est dans le périmètre.
    async fn actions(&self) -> Result<i64, Error> {
        Ok(self.figures().await?.actions)
    }

    /// Élèves touchés par ces actions.
    async fn pupils_reached(&self) -> Result<i64, Error> {
        Ok(self.figures().await?.pupils)
    }

    /// Ces actions par type (une action de plusieurs types compte dans chacun).
    async fn actions_by_type(&self) -> Result<Vec<IndicatorTotalPart>, Error> {
        Ok(self.figures().await?.by_type.clone())
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

/// The contest's totals by school cell, each a column of one statement.
#[derive(Clone, Copy)]
enum ContestTotal {
    /// Entries submitted (not withdrawn).
    Entries,
    /// Entries judged inadmissible.
    Inadmissible,
    /// Entries holding the laureate award, once their edition's results are published.
    Laureates,
    /// Entries still drafts after the deadline (or their school's extension), while the
    /// campaign is not closed.
    Unfinished,
}

/// A row of [`Dashboard::contest_narrow`]: its tag, five texts, six counts.
type ContestRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
);

impl Dashboard {
    /// The four counts of an entry of `f` (in this order: submitted, inadmissible,
    /// laureate, unfinished), as `SUM` columns, given the instant's placeholder.
    fn contest_counts(&self, at: &str) -> [String; 4] {
        let editions = self.table(&indicators::CONTEST, "rm_ind_editions");
        let extensions = self.table(&indicators::CONTEST, "rm_ind_extensions");
        let count = |condition: String| {
            format!("CAST(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS BIGINT)")
        };
        [
            count(format!("f.status IN {SUBMITTED}")),
            count("f.status = 'inadmissible'".to_owned()),
            count(format!(
                "f.laureate AND EXISTS (SELECT 1 FROM {editions} ed \
                 WHERE ed.subject = f.contest_id AND {} AND ed.published)",
                valid("ed", at)
            )),
            count(format!(
                "f.status = 'draft' AND EXISTS (SELECT 1 FROM {editions} ed \
                 WHERE ed.subject = f.contest_id AND {} AND NOT ed.closed \
                 AND ed.submission_deadline < {at} AND NOT EXISTS (SELECT 1 FROM {extensions} x \
                 WHERE x.edition_id = ed.subject AND x.school_uai = f.school_uai \
                 AND x.granted_at <= {at} AND x.until >= {at}))",
                valid("ed", at)
            )),
        ]
    }

    /// For a department's or a caller's few schools, from one reading of their schools'
    /// entries of the year valid at the instant, in one statement: by school cell (rows
    /// tagged `cell`: dimensions, then the entries submitted, inadmissible, laureate and
    /// unfinished, the open schools with an entry submitted, the open schools), and the
    /// inadmissible entries by reason (rows tagged `reason`: the reason, its count).
    /// Three statements read the same entries three times (totals, participation,
    /// reasons): one department's at 60,000 schools, 2.0 + 0.8 + 2.1 ms.
    async fn contest_narrow(&self) -> Result<Option<std::sync::Arc<Vec<ContestRow>>>, Error> {
        if !self.narrow() {
            return Ok(None);
        }
        let entries = self.table(&indicators::CONTEST, "rm_ind_entries");
        let Reading {
            mut filter,
            year,
            at,
            day,
            narrowed,
        } = self.reading("f.school_uai");
        let [submitted, inadmissible, laureate, unfinished] = self.contest_counts(&at);
        let by_school = format!(
            "SELECT f.school_uai AS uai, {submitted} AS submitted, \
             {inadmissible} AS inadmissible, {laureate} AS laureate, \
             {unfinished} AS unfinished \
             FROM c f GROUP BY f.school_uai"
        );
        self.school_scope(&mut filter);
        // Participation counts the open schools of every kind; the totals, every school's
        // entries.
        let counted =
            format!("s.kind IN {EVERY_KIND} AND (s.closed_on IS NULL OR s.closed_on > {day})");
        let sql = format!(
            "WITH c AS (SELECT f.school_uai, f.contest_id, f.status, f.laureate, f.reason \
             FROM {entries} f WHERE f.school_year = {year} AND {}{narrowed}) \
             SELECT 'cell', {DIMENSIONS}, \
             CAST(COALESCE(SUM(g.submitted), 0) AS BIGINT), \
             CAST(COALESCE(SUM(g.inadmissible), 0) AS BIGINT), \
             CAST(COALESCE(SUM(g.laureate), 0) AS BIGINT), \
             CAST(COALESCE(SUM(g.unfinished), 0) AS BIGINT), \
             CAST(SUM(CASE WHEN {counted} AND g.submitted > 0 THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN {counted} THEN 1 ELSE 0 END) AS BIGINT) \
             FROM rm_schools s LEFT JOIN ({by_school}) g ON g.uai = s.uai{} \
             GROUP BY {DIMENSIONS} \
             UNION ALL \
             SELECT 'reason', COALESCE(c.reason, ''), '', '', '', '', CAST(COUNT(*) AS BIGINT), \
             CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
             CAST(0 AS BIGINT) \
             FROM c WHERE c.status = 'inadmissible' GROUP BY COALESCE(c.reason, '')",
            valid("f", &at),
            filter.sql()
        );
        Ok(Some(
            self.shared_rows::<ContestRow>(&sql, &filter.binds).await?,
        ))
    }

    /// One of the contest's totals over the entries of the year valid at the instant, by
    /// school cell. The four are counted in one reading of the entries (a department's
    /// with its participation and reasons, [`Self::contest_narrow`]): each asks the same
    /// statement, which the request's answers compute once for all of them (one
    /// statement per year, where a statement each read the same entries four times).
    async fn contest_total(&self, which: ContestTotal) -> Result<IndicatorTotal, Error> {
        let pick = |entries, inadmissible, laureates, unfinished| match which {
            ContestTotal::Entries => entries,
            ContestTotal::Inadmissible => inadmissible,
            ContestTotal::Laureates => laureates,
            ContestTotal::Unfinished => unfinished,
        };
        // A cell counts where one of its entries does (a cell of none is no part).
        if let Some(rows) = self.contest_narrow().await? {
            return Ok(total_from(
                rows.iter()
                    .filter(|row| row.0 == "cell")
                    .map(
                        |(_, a, b, c, e, f, entries, inadmissible, laureates, unfinished, _, _)| {
                            let n = pick(*entries, *inadmissible, *laureates, *unfinished);
                            ([a.as_str(), b, c, e, f], n, 0)
                        },
                    )
                    .filter(|(_, n, _)| *n > 0),
                self.breakdowns,
            ));
        }
        let entries = self.table(&indicators::CONTEST, "rm_ind_entries");
        let mut filter = Filter::default();
        let year = filter.bind(self.year.to_string());
        let at = filter.bind(instant(self.at));
        filter.raw(&format!("f.school_year = {year} AND {}", valid("f", &at)));
        self.school_scope(&mut filter);
        let [submitted, inadmissible, laureate, unfinished] = self.contest_counts(&at);
        let sql = format!(
            "SELECT {DIMENSIONS}, {submitted}, {inadmissible}, {laureate}, {unfinished} \
             FROM {entries} f JOIN rm_schools s ON s.uai = f.school_uai{} \
             GROUP BY {DIMENSIONS}",
            filter.sql()
        );
        type Row = (String, String, String, String, String, i64, i64, i64, i64);
        let rows = self.shared_rows::<Row>(&sql, &filter.binds).await?;
        Ok(total_from(
            rows.iter()
                .map(
                    |(a, b, c, e, f, entries, inadmissible, laureates, unfinished)| {
                        let n = pick(*entries, *inadmissible, *laureates, *unfinished);
                        ([a.as_str(), b, c, e, f], n, 0)
                    },
                )
                .filter(|(_, n, _)| *n > 0),
            self.breakdowns,
        ))
    }

    /// Entries submitted (not withdrawn) of the year.
    async fn contest_entries(&self) -> Result<IndicatorTotal, Error> {
        self.contest_total(ContestTotal::Entries).await
    }

    /// Open schools in scope with at least one entry submitted (not withdrawn).
    async fn contest_participation(&self) -> Result<IndicatorShare, Error> {
        if let Some(rows) = self.contest_narrow().await? {
            return Ok(counted_share_of(
                &rows,
                self.breakdowns,
                |(tag, a, b, c, e, f, _, _, _, _, n, of)| {
                    (tag == "cell").then_some((a, b, c, e, f, n, of))
                },
            ));
        }
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
        self.contest_total(ContestTotal::Inadmissible).await
    }

    /// Entries holding the laureate award, once their edition's results are published.
    async fn contest_laureates(&self) -> Result<IndicatorTotal, Error> {
        self.contest_total(ContestTotal::Laureates).await
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
        let mut found: Vec<(String, i64)> = if let Some(rows) = d.contest_narrow().await? {
            rows.iter()
                .filter(|row| row.0 == "reason")
                .map(|row| (row.1.clone(), row.6))
                .collect()
        } else {
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
                 GROUP BY COALESCE(f.reason, '')",
                filter.sql()
            );
            d.rows(&sql, &filter.binds).await?
        };
        // Most frequent first; equal counts in the reasons' byte order, whatever the
        // database's collation (the same order for a department as for the academy).
        found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        found.truncate(usize::try_from(first).unwrap_or(0));
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
    /// l'instant demandé (au même moment de sa campagne ; `previousAsOf` du tableau de
    /// bord, la règle de toutes les évolutions).
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

    /// L'instant auquel elle est lue : un an avant celui du tableau de bord, au même
    /// moment de son calendrier (`previousAsOf` du tableau de bord) (UTC).
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
        by_sector: share.by_sector.into_iter().map(part).collect(),
        by_priority_education: share.by_priority_education.into_iter().map(part).collect(),
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
        by_sector: share.by_sector.into_iter().map(part).collect(),
        by_priority_education: share.by_priority_education.into_iter().map(part).collect(),
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
        // A reminder about a school counts when its school is of the sector and priority
        // education asked; the others concern no school, and are not filtered by them.
        let mut attributes = Filter::default();
        attributes.binds = std::mem::take(&mut filter.binds);
        d.school_attributes(&mut attributes);
        let attributes_sql = attributes.sql();
        filter.binds = attributes.binds;
        if let Some(clause) = attributes_sql.strip_prefix(" WHERE ") {
            filter.raw(&format!("(s.uai IS NULL OR ({clause}))"));
        }
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {reminders} r \
             LEFT JOIN rm_schools s ON s.uai = r.school_uai \
             LEFT JOIN rm_sessions se ON se.id = r.session_id{}",
            filter.sql()
        );
        d.count(&sql, &filter.binds).await
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
        let received = NationalDayIndicators::new(self.0)
            .schools()
            .await?
            .reported
            .clone();
        Ok(match self.deadline().await? {
            Some(deadline) if self.0.day > deadline => complement(received),
            _ => none_of(received),
        })
    }

    /// Équipes ressources non déclarées : collèges et lycées ouverts du périmètre sans
    /// déploiement pHARe de l'année, ou dont l'équipe compte moins de 5 membres.
    async fn undeclared_teams(&self) -> Result<IndicatorShare, Error> {
        let d = self.0;
        if let Some(rows) = d.teams_narrow().await? {
            return Ok(complement(share_of(
                &rows,
                d.breakdowns,
                |(a, b, c, e, f, _, n, of)| (a, b, c, e, f, n, of),
            )));
        }
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
        self.0.contest_total(ContestTotal::Unfinished).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(dims: [&str; 5], count: i64, of: i64) -> Cell {
        let [a, b, c, e, f] = dims.map(str::to_owned);
        (a, b, c, e, f, count, of)
    }

    #[test]
    fn cells_are_summed_for_each_value_of_each_dimension_in_the_values_order() {
        let cells = [
            cell(["32", "Auch", "ecole", "public", "none"], 1, 2),
            cell(["31", "", "college", "public", "rep"], 3, 4),
            cell(
                ["31", "Toulouse Sud", "ecole", "prive_sous_contrat", "none"],
                0,
                5,
            ),
            cell(["31", "Toulouse Nord", "ecole", "public", ""], 2, 2),
            cell(["31", "Toulouse Sud", "ecole", "public", "none"], 1, 1),
        ];
        let all = Breakdowns([true; 5]);
        let share = share(&cells, all);
        assert_eq!((share.count, share.of, share.value), (7, 14, Some(0.5)));
        let parts = |parts: &[IndicatorRatioPart]| {
            parts
                .iter()
                .map(|p| (p.key.clone(), p.count, p.of))
                .collect::<Vec<_>>()
        };
        let part = |key: &str, count, of| (key.to_owned(), count, of);
        assert_eq!(
            parts(&share.by_department),
            [part("31", 6, 12), part("32", 1, 2)]
        );
        // An empty value (a collège's circonscription) is no part.
        assert_eq!(
            parts(&share.by_circonscription),
            [
                part("Auch", 1, 2),
                part("Toulouse Nord", 2, 2),
                part("Toulouse Sud", 1, 6)
            ]
        );
        assert_eq!(
            parts(&share.by_kind),
            [part("college", 3, 4), part("ecole", 4, 10)]
        );
        assert_eq!(
            parts(&share.by_sector),
            [part("prive_sous_contrat", 0, 5), part("public", 7, 9)]
        );
        assert_eq!(
            parts(&share.by_priority_education),
            [part("none", 2, 8), part("rep", 3, 4)]
        );
        assert_eq!(share.by_sector[0].value, Some(0.0));

        // A total: the numerator (or the second count) alone.
        let totals = |total: &IndicatorTotal| {
            (
                total.total,
                total
                    .by_department
                    .iter()
                    .map(|p| (p.key.clone(), p.total))
                    .collect::<Vec<_>>(),
                total.by_circonscription.len(),
            )
        };
        let of = |key: &str, n| (key.to_owned(), n);
        assert_eq!(
            totals(&total_of(&cells, 0, all)),
            (7, vec![of("31", 6), of("32", 1)], 3)
        );
        assert_eq!(
            totals(&total_of(&cells, 1, all)),
            (14, vec![of("31", 12), of("32", 2)], 3)
        );

        // Only the cells counting a school, of the rows kept.
        let counted = counted_share_of(&cells, all, |(a, b, c, e, f, n, of)| {
            (a != "32").then_some((a, b, c, e, f, n, of))
        });
        assert_eq!((counted.count, counted.of), (6, 12));
        let none = counted_share_of(
            &[cell(["31", "", "college", "public", "rep"], 0, 0)],
            all,
            |(a, b, c, e, f, n, of)| Some((a, b, c, e, f, n, of)),
        );
        assert!(none.by_department.is_empty() && none.value.is_none());

        // The breakdowns a query does not ask are not summed; the others are the same.
        let asked = super::share(&cells, Breakdowns([false, false, true, false, true]));
        assert_eq!((asked.count, asked.of), (share.count, share.of));
        assert!(asked.by_department.is_empty() && asked.by_circonscription.is_empty());
        assert!(asked.by_sector.is_empty());
        assert_eq!(parts(&asked.by_kind), parts(&share.by_kind));
        assert_eq!(
            parts(&asked.by_priority_education),
            parts(&share.by_priority_education)
        );
    }

    #[test]
    fn a_range_of_uais_widens_to_whole_department_codes() {
        let range =
            |least: &str, greatest: &str| UaiRange::spanning(least.to_owned(), greatest.to_owned());
        let codes = |from: &str, to: &str| UaiRange {
            from: from.to_owned(),
            to: UaiBound::Before(to.to_owned()),
        };
        // One department; one whose schools lie apart; the codes' carry.
        assert_eq!(range("0310000G", "0310593B"), codes("031", "032"));
        assert_eq!(range("0310050A", "0320001C"), codes("031", "033"));
        assert_eq!(range("0090001A", "0099999Z"), codes("009", "010"));
        assert_eq!(range("9710001A", "9760002B"), codes("971", "977"));
        // No next code, or not a code: the exact span.
        for (least, greatest) in [("0310001H", "9990001A"), ("02A0001A", "0310001H")] {
            assert_eq!(
                range(least, greatest),
                UaiRange {
                    from: least.to_owned(),
                    to: UaiBound::UpTo(greatest.to_owned()),
                }
            );
        }
        // Every UAI of the span stays in the widened range.
        let widened = range("0310000G", "0310593B");
        for uai in ["0310000G", "0310593B", "0319999Z"] {
            assert!(widened.from.as_str() <= uai);
            assert!(matches!(&widened.to, UaiBound::Before(to) if uai < to.as_str()));
        }
        // Its condition, as a statement binds it.
        let mut filter = Filter::default();
        assert_eq!(
            widened.condition(&mut filter, "f.school_uai"),
            "f.school_uai >= $1 AND f.school_uai < $2"
        );
        assert_eq!(filter.binds, ["031", "032"]);
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn dashboards_at_once_is_the_setting_or_twice_the_cores_and_at_most_half_the_pool() {
        let pool = |size| {
            Db::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(size)
                    .connect_lazy("postgres://nobody@127.0.0.1:1/none")
                    .expect("a lazy pool connects to nothing"),
            )
        };
        let slots = |db: &Db, at_once| SnapshotSlots::for_db(db, at_once).0.available_permits();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(slots(&pool(100), None), 2 * cores);
        assert_eq!(slots(&pool(100), Some(3)), 3);
        assert_eq!(slots(&pool(10), Some(40)), 5);
        assert_eq!(slots(&pool(1), Some(3)), 1);
    }

    #[test]
    fn a_year_before_is_the_same_paris_moment_of_the_year_before() {
        // The same Paris time, summer then winter.
        assert_eq!(
            a_year_before(utc("2027-03-28T10:00:00+02:00")),
            utc("2026-03-28T10:00:00+01:00")
        );
        // 29 February: the 28th.
        assert_eq!(
            a_year_before(utc("2028-02-29T23:30:00+01:00")),
            utc("2027-02-28T23:30:00+01:00")
        );
        // A Paris hour that did not exist a year before (the spring change): the first
        // one after it.
        assert_eq!(
            a_year_before(utc("2027-03-29T02:30:00+02:00")),
            utc("2026-03-29T03:30:00+02:00")
        );
        // An hour that came twice (the autumn change): the first of them.
        assert_eq!(
            a_year_before(utc("2027-10-25T02:30:00+02:00")),
            utc("2026-10-25T02:30:00+02:00")
        );
        // New Year's Day in Paris (still the 31 December in UTC): the 1 January before.
        assert_eq!(
            a_year_before(utc("2026-12-31T23:30:00Z")),
            utc("2025-12-31T23:30:00Z")
        );
    }
}
