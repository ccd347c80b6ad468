//! The read model's tables, by generation: `rm_<table>_<n>`. The API reads the live
//! generation (`rm_generations.live`); a rebuild fills the next one from the start of the
//! log, then makes it live in one statement, so that readers never see a half-built
//! table. Identifiers, dates and instants are text (instants in UTC, RFC 3339, so that
//! text order is time order): the definitions are the same on both backends.

//!
//! Projections are plural: each [`Descriptor`] (the lists of [`LISTS`], each indicator
//! group of [`crate::indicators`]) has its own row in `rm_generations` (its live
//! generation, the definition it was built with, the one being built), its own tables
//! and its own checkpoint, so a changed definition rebuilds that projection only.

use pharos_eventstore::{Db, on_db};

use crate::indicators;

/// The lists projection's name in `rm_generations`, and the prefix of its checkpoints.
pub const PROJECTION: &str = "read-model";

/// The version of the definitions below and of what the projector writes in them: a
/// change of either (a new table, a column, what counts) takes a new number, and the
/// projector then rebuilds into a new generation before serving it.
pub const DEFINITION: i64 = 4;

/// The tables of one generation: name and columns.
const TABLES: [(&str, &str); 16] = [
    (
        "rm_schools",
        "uai TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, sector TEXT NOT NULL, \
         department TEXT NOT NULL, commune TEXT NOT NULL, circonscription TEXT, \
         priority_education TEXT NOT NULL, closed_on TEXT, successor_uai TEXT, \
         search TEXT NOT NULL",
    ),
    (
        "rm_trainings",
        "id TEXT PRIMARY KEY, title TEXT NOT NULL, topic TEXT NOT NULL, audience TEXT NOT NULL, \
         department TEXT, search TEXT NOT NULL",
    ),
    (
        "rm_sessions",
        "id TEXT PRIMARY KEY, training_id TEXT NOT NULL, department TEXT, \
         starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, status TEXT NOT NULL, \
         capacity BIGINT NOT NULL, planned_minutes BIGINT NOT NULL, location TEXT, \
         recorded_after_the_fact BOOLEAN NOT NULL",
    ),
    (
        "rm_registrations",
        "id TEXT PRIMARY KEY, session_id TEXT NOT NULL, status TEXT NOT NULL, school_uai TEXT",
    ),
    (
        "rm_deployments",
        "id TEXT PRIMARY KEY, school_year TEXT NOT NULL, school_uai TEXT, circonscription TEXT, \
         department TEXT NOT NULL, charter_signed_on TEXT, coordinator BOOLEAN NOT NULL, \
         protocol_presented_on TEXT, learning_hours BIGINT, parent_workshops BIGINT NOT NULL",
    ),
    (
        "rm_team_members",
        "id TEXT PRIMARY KEY, deployment_id TEXT NOT NULL, trained BOOLEAN NOT NULL, \
         mpp_trained BOOLEAN NOT NULL",
    ),
    (
        "rm_labels",
        "id TEXT PRIMARY KEY, school_uai TEXT NOT NULL, department TEXT NOT NULL, \
         school_year TEXT NOT NULL, target_level TEXT NOT NULL, status TEXT NOT NULL, \
         awarded_level TEXT",
    ),
    (
        "rm_partners",
        "id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL, \
         department TEXT, commune TEXT, archived BOOLEAN NOT NULL, search TEXT NOT NULL",
    ),
    (
        "rm_cohorts",
        "id TEXT PRIMARY KEY, school_uai TEXT NOT NULL, department TEXT NOT NULL, \
         school_year TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, \
         pupils BIGINT NOT NULL, parents BIGINT NOT NULL, trainings BIGINT NOT NULL",
    ),
    (
        "rm_actions",
        "id TEXT PRIMARY KEY, school_year TEXT NOT NULL, campaign TEXT NOT NULL, \
         school_uai TEXT NOT NULL, department TEXT NOT NULL, held_on TEXT NOT NULL, \
         types TEXT NOT NULL, pupils_reached BIGINT NOT NULL, adults_reached BIGINT NOT NULL, \
         held BOOLEAN NOT NULL, status TEXT NOT NULL",
    ),
    (
        "rm_entries",
        "id TEXT PRIMARY KEY, contest_id TEXT NOT NULL, school_uai TEXT NOT NULL, \
         department TEXT NOT NULL, category TEXT NOT NULL, title TEXT NOT NULL, \
         pupil_count BIGINT NOT NULL, adult_count BIGINT NOT NULL, files BIGINT NOT NULL, \
         status TEXT NOT NULL, own_status TEXT NOT NULL, awards TEXT NOT NULL, national BOOLEAN",
    ),
    (
        "rm_contests",
        "id TEXT PRIMARY KEY, published BOOLEAN NOT NULL, closed BOOLEAN NOT NULL",
    ),
    (
        "rm_action_schools",
        "action_id TEXT NOT NULL, uai TEXT NOT NULL, department TEXT NOT NULL, \
         PRIMARY KEY (action_id, uai)",
    ),
    // People named in the records, their fields sealed as the events carry them
    // (unsealed when read: see `crate::people`).
    (
        "rm_people",
        "kind TEXT NOT NULL, subject TEXT NOT NULL, owner TEXT NOT NULL, \
         person_id TEXT NOT NULL, display_name TEXT NOT NULL, email TEXT NOT NULL, detail TEXT, \
         PRIMARY KEY (kind, subject)",
    ),
    (
        "rm_accounts",
        "id TEXT PRIMARY KEY, role TEXT NOT NULL, scope TEXT, department TEXT, \
         active BOOLEAN NOT NULL",
    ),
    (
        "rm_reminders",
        "id TEXT PRIMARY KEY, rule TEXT NOT NULL, recipient TEXT NOT NULL, target TEXT NOT NULL, \
         occurrence TEXT NOT NULL, due_at TEXT NOT NULL, why TEXT NOT NULL, status TEXT NOT NULL, \
         reason TEXT NOT NULL, attempts BIGINT NOT NULL, retry_at TEXT, scheduled_at TEXT NOT NULL, \
         updated_at TEXT NOT NULL, school_uai TEXT, session_id TEXT, department TEXT",
    ),
];

/// Indexes of one generation: table and columns.
const INDEXES: [(&str, &str); 14] = [
    ("rm_schools", "department, name"),
    ("rm_sessions", "training_id, starts_at"),
    ("rm_registrations", "session_id, status"),
    ("rm_deployments", "school_year, department"),
    ("rm_team_members", "deployment_id"),
    ("rm_labels", "school_year, department"),
    ("rm_cohorts", "school_year, department"),
    ("rm_actions", "school_year, department"),
    ("rm_action_schools", "uai"),
    ("rm_entries", "contest_id, department"),
    ("rm_people", "owner"),
    ("rm_accounts", "department, role"),
    ("rm_reminders", "department, updated_at"),
    // A department's schools with every column a dashboard statement reads of them (its
    // cells' dimensions, whether open): found in the index alone, where its 600 rows lie
    // on some 450 pages of the table. Each of a department's dashboard statements starts
    // from them: one department's labelled share at 60,000 schools, 3.8 ms → 1.9 ms.
    (
        "rm_schools",
        "department, kind, closed_on, uai, sector, priority_education, circonscription",
    ),
];

/// The lists projection: schools, trainings, deployments… as the GraphQL lists read them.
pub static LISTS: Descriptor = Descriptor {
    name: PROJECTION,
    definition: DEFINITION,
    tables: &TABLES,
    indexes: &INDEXES,
    // An edition's entries, restood when it is published or closed.
    applying: &[("rm_entries", "contest_id, department")],
    categories: &crate::projector::CATEGORIES,
    kind: Kind::Lists,
};

/// What fills a projection's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`crate::projector::ReadModel`].
    Lists,
    /// One indicator group ([`crate::indicators::Indicators`]).
    Indicator(indicators::Group),
}

/// One projection: its name in `rm_generations` (and its checkpoints' prefix), the
/// version of its definitions (a new number rebuilds its tables, and only its), its
/// tables and indexes (unsuffixed names: `rm_<table>`; an index given as `USING …` is
/// made on PostgreSQL only), the categories it reads.
#[derive(Debug)]
pub struct Descriptor {
    pub name: &'static str,
    pub definition: i64,
    pub tables: &'static [(&'static str, &'static str)],
    pub indexes: &'static [(&'static str, &'static str)],
    /// Those of `indexes` the projection's own statements read through as they apply
    /// events (a fact's rows by a column other than its subject, say): a rebuild makes
    /// them with its tables, and the others once it has filled them ([`start_filling`]).
    pub applying: &'static [(&'static str, &'static str)],
    pub categories: &'static [&'static str],
    pub kind: Kind,
}

impl Descriptor {
    /// The checkpoint of the projector filling `generation` of this projection.
    pub fn checkpoint(&self, generation: Generation) -> String {
        format!("{}-g{}", self.name, generation.0)
    }

    /// `statement` on this projection's tables of `generation`: each of its table names
    /// suffixed, in one pass over the text (no table name is a part of another's, a test
    /// checks it, so a plain replacement is exact). A replacement per table, one after the
    /// other, read each statement sixteen times for the lists: 9 % of this process's CPU
    /// under 16 clients asking departments' dashboards, each some twenty statements.
    pub fn rename(&self, generation: Generation, statement: &str) -> String {
        let mut text = String::with_capacity(statement.len() + 64);
        self.finder()
            .replace_all_with(statement, &mut text, |_, name, text| {
                text.push_str(&generation.table(name));
                true
            });
        text
    }

    /// The automaton that finds this projection's table names, made once per projection.
    fn finder(&self) -> &'static aho_corasick::AhoCorasick {
        static FINDERS: std::sync::LazyLock<Vec<(&'static str, aho_corasick::AhoCorasick)>> =
            std::sync::LazyLock::new(|| {
                all()
                    .into_iter()
                    .map(|projection| {
                        let names = projection.tables.iter().map(|(name, _)| *name);
                        let finder = aho_corasick::AhoCorasick::builder()
                            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                            .build(names)
                            .expect("a few table names make an automaton");
                        (projection.name, finder)
                    })
                    .collect()
            });
        FINDERS
            .iter()
            .find(|(name, _)| *name == self.name)
            .map(|(_, finder)| finder)
            .expect("every projection is among all()")
    }

    /// The projection filling `generation`.
    pub fn projection(&'static self, generation: Generation) -> Runner {
        match self.kind {
            Kind::Lists => Runner::Lists(crate::projector::ReadModel::new(generation)),
            Kind::Indicator(group) => {
                Runner::Indicator(indicators::Indicators::new(self, group, generation))
            }
        }
    }
}

/// Every projection: the lists, then each indicator group.
pub fn all() -> Vec<&'static Descriptor> {
    let mut all = vec![&LISTS];
    all.extend(indicators::DESCRIPTORS.iter().copied());
    all
}

/// The projection named `name`.
pub fn find(name: &str) -> Option<&'static Descriptor> {
    all().into_iter().find(|d| d.name == name)
}

/// A projection of either kind, as the event store runs it.
pub enum Runner {
    Lists(crate::projector::ReadModel),
    Indicator(indicators::Indicators),
}

impl pharos_eventstore::Projection for Runner {
    fn name(&self) -> &str {
        match self {
            Self::Lists(p) => p.name(),
            Self::Indicator(p) => p.name(),
        }
    }

    fn categories(&self) -> &[String] {
        match self {
            Self::Lists(p) => p.categories(),
            Self::Indicator(p) => p.categories(),
        }
    }

    async fn apply(
        &self,
        tx: &mut pharos_eventstore::ProjectionTx<'_>,
        events: &[pharos_eventstore::RecordedEvent],
    ) -> Result<(), pharos_eventstore::ProjectionError> {
        match self {
            Self::Lists(p) => p.apply(tx, events).await?,
            Self::Indicator(p) => p.apply(tx, events).await?,
        }
        // Every projection's commit tells the subscribers, in its own transaction: an
        // indicator's tables may move after the lists' (and some, the contest's editions,
        // alone).
        crate::notice::publish(tx, events).await
    }
}

/// The names of one generation's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(pub i64);

impl Generation {
    /// `rm_<table>_<n>`.
    pub fn table(self, name: &str) -> String {
        format!("{name}_{}", self.0)
    }

    /// The checkpoint of the lists projector filling this generation.
    pub fn checkpoint(self) -> String {
        LISTS.checkpoint(self)
    }
}

/// `statement` on the lists' tables of `generation` ([`Descriptor::rename`]).
pub fn rename(generation: Generation, statement: &str) -> String {
    LISTS.rename(generation, statement)
}

/// The live generation of the lists and the one being built, if any.
pub async fn generations(db: &Db) -> Result<Option<(Generation, Option<Generation>)>, sqlx::Error> {
    Ok(state(db).await?.map(|(live, _, building)| (live, building)))
}

/// The lists' live generation, the definition it was built with, and the one being built.
pub async fn state(db: &Db) -> Result<Option<(Generation, i64, Option<Generation>)>, sqlx::Error> {
    state_of(db, &LISTS).await
}

/// A projection's live generation, the definition it was built with, and the one being
/// built.
pub async fn state_of(
    db: &Db,
    projection: &Descriptor,
) -> Result<Option<(Generation, i64, Option<Generation>)>, sqlx::Error> {
    let found: Option<(i64, i64, Option<i64>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT live, definition, building FROM rm_generations WHERE projection = $1"
    )
    .bind(projection.name)
    .fetch_optional(pool)
    .await)?;
    Ok(found.map(|(live, definition, building)| {
        (Generation(live), definition, building.map(Generation))
    }))
}

/// The lists' live generation, created (generation 1, empty) on first use.
pub async fn live(db: &Db) -> Result<Generation, sqlx::Error> {
    live_of(db, &LISTS).await
}

/// A projection's live generation, created (generation 1, empty) on first use. Safe
/// when several processes start together.
pub async fn live_of(db: &Db, projection: &Descriptor) -> Result<Generation, sqlx::Error> {
    if let Some((live, _, _)) = state_of(db, projection).await? {
        return Ok(live);
    }
    create_of(db, projection, Generation(1)).await?;
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO rm_generations (projection, live, definition) VALUES ($1, 1, $2) \
         ON CONFLICT (projection) DO NOTHING",
        )
        .bind(projection.name)
        .bind(projection.definition)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(state_of(db, projection)
        .await?
        .map_or(Generation(1), |(live, _, _)| live))
}

/// Creates the lists' tables of `generation` (those missing).
pub async fn create(db: &Db, generation: Generation) -> Result<(), sqlx::Error> {
    create_of(db, &LISTS, generation).await
}

/// Creates a projection's tables of `generation` (those missing), and its indexes: those
/// missing, and those an earlier release made on other columns (dropped and made again:
/// an index changes no row, so no rebuild is needed for it).
pub async fn create_of(
    db: &Db,
    projection: &Descriptor,
    generation: Generation,
) -> Result<(), sqlx::Error> {
    make(db, projection, generation, false).await
}

/// Creates a projection's tables of `generation` for a rebuild to fill: with only the
/// indexes its statements read through as they apply events (`applying`), the others
/// made by [`finish_filling`] in one pass over the filled tables, where kept up to date
/// they cost an insertion in each at every row written (and the rebuild's rows are
/// mostly written more than once: a fact's period opened, then closed). On PostgreSQL
/// the tables are `UNLOGGED` until then: their rows go to no write-ahead log. A crash
/// empties such tables, which costs nothing: a rebuild that stopped half-way starts
/// its tables afresh whatever they hold, and none is live before [`finish_filling`].
pub async fn start_filling(
    db: &Db,
    projection: &Descriptor,
    generation: Generation,
) -> Result<(), sqlx::Error> {
    make(db, projection, generation, true).await
}

/// Tables [`finish_filling`] logs, then analyses, at once (the cores of the machine it
/// was measured on).
const FINISHING_AT_ONCE: usize = 2;

/// What [`start_filling`] left out, once a rebuild has filled the tables: logged again
/// (PostgreSQL writes each table to its log once, as a copy), the other indexes made,
/// then the planner's statistics and the visibility map made (filled in one go, the
/// tables have neither yet, nor would the autovacuum make them before the dashboard's
/// first requests, whose plans need the statistics and whose index-only scans need the
/// map: without it each index entry found is checked in the table's scattered rows).
pub async fn finish_filling(
    db: &Db,
    projection: &Descriptor,
    generation: Generation,
) -> Result<(), sqlx::Error> {
    let pool = match db {
        Db::Postgres(pool) => pool,
        Db::Sqlite(pool) => {
            create_of(db, projection, generation).await?;
            let tables: Vec<String> = projection
                .tables
                .iter()
                .map(|(name, _)| generation.table(name))
                .collect();
            return analyze_sqlite(pool, &tables).await;
        }
    };
    // `command` on each table, on FINISHING_AT_ONCE connections at a time: one after
    // the other, each rewrite and each scan kept one core busy while the other idled at
    // the end of the longest rebuild (the lists' tables at a million events: 3.6 s of
    // statements, its last seconds).
    let each_table = async |command: &str| {
        use futures::{StreamExt as _, TryStreamExt as _};
        // Owned statements and pool: a future borrowing them would not be `Send` for
        // every lifetime, as the rebuild's task needs.
        let statements: Vec<String> = projection
            .tables
            .iter()
            .map(|(name, _)| command.replace("{table}", &generation.table(name)))
            .collect();
        futures::stream::iter(statements)
            .map(|statement| {
                let pool = pool.clone();
                async move {
                    sqlx::query(sqlx::AssertSqlSafe(statement))
                        .execute(&pool)
                        .await
                        .map(|_| ())
                }
            })
            .buffer_unordered(FINISHING_AT_ONCE)
            .try_collect::<()>()
            .await
    };
    each_table("ALTER TABLE {table} SET LOGGED").await?;
    create_of(db, projection, generation).await?;
    each_table("VACUUM (ANALYZE) {table}").await
}

/// SQLite's planner statistics (`sqlite_stat1`) of `tables`, or of every read-model table
/// (`rm_…`) when `tables` is empty: not the event store's, whose statements were planned
/// without them. SQLite gathers none by itself (PostgreSQL's autovacuum does):
/// without them it scanned a whole materialised list of schools for each school where a
/// look-up in an index of its own was due (1M-event set, whole academy: the coverage share
/// 3.2 s, the contest's 2.1 s, the circonscriptions' 1.2 s; each 0.01-0.02 s with them).
/// `analysis_limit` bounds the rows read per index (approximate statistics): the whole
/// 1 GB database of that set in 0.15 s.
pub async fn analyze_sqlite(pool: &sqlx::SqlitePool, tables: &[String]) -> Result<(), sqlx::Error> {
    let mut connection = pool.acquire().await?;
    sqlx::query("PRAGMA analysis_limit = 1000")
        .execute(&mut *connection)
        .await?;
    let tables: Vec<String> = if tables.is_empty() {
        sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rm\\_%' ESCAPE '\\'",
        )
        .fetch_all(&mut *connection)
        .await?
    } else {
        tables.to_vec()
    };
    for table in &tables {
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// [`create_of`], or [`start_filling`] when `filling`.
async fn make(
    db: &Db,
    projection: &Descriptor,
    generation: Generation,
    filling: bool,
) -> Result<(), sqlx::Error> {
    let unlogged = if filling && matches!(db, Db::Postgres(_)) {
        "UNLOGGED "
    } else {
        ""
    };
    let mut tables = Vec::new();
    for (name, columns) in projection.tables {
        tables.push(format!(
            "CREATE {unlogged}TABLE IF NOT EXISTS {} ({columns})",
            generation.table(name)
        ));
    }
    // (name, columns when a plain list, statement)
    let mut indexes = Vec::new();
    for (i, (name, columns)) in projection.indexes.iter().enumerate() {
        // An index of PostgreSQL's own kinds (`USING gin (…)`): SQLite goes without it.
        let method = columns.starts_with("USING ");
        if method && !matches!(db, Db::Postgres(_)) {
            continue;
        }
        if filling && !projection.applying.contains(&(*name, *columns)) {
            continue;
        }
        let table = generation.table(name);
        // A table's first index keeps the name it always had; the others are numbered
        // by their place in the list, so that each gets made (`IF NOT EXISTS` by name).
        let first = projection.indexes.iter().position(|(n, _)| n == name) == Some(i);
        let index = if first {
            format!("{table}_idx")
        } else {
            format!("{table}_idx{i}")
        };
        let create = if method {
            format!("CREATE INDEX IF NOT EXISTS {index} ON {table} {columns}")
        } else {
            format!("CREATE INDEX IF NOT EXISTS {index} ON {table} ({columns})")
        };
        indexes.push((index, (!method).then_some(*columns), create));
    }
    // The tables, then each index: dropped first when made on other columns (`catalogue`:
    // the statement that describes an index by name), then made when missing.
    macro_rules! apply {
        ($conn:expr, $catalogue:expr) => {{
            for sql in tables {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *$conn)
                    .await?;
            }
            for (index, columns, create) in indexes {
                let made: Option<String> = sqlx::query_scalar($catalogue)
                    .bind(&index)
                    .fetch_optional(&mut *$conn)
                    .await?;
                if stale(made.as_deref(), columns) {
                    tracing::info!(index, "index made on other columns: made again");
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {index}")))
                        .execute(&mut *$conn)
                        .await?;
                }
                sqlx::query(sqlx::AssertSqlSafe(create))
                    .execute(&mut *$conn)
                    .await?;
            }
        }};
    }
    match db {
        // Two replicas starting at once on a new database: PostgreSQL's `IF NOT EXISTS`
        // does not make concurrent creations of one name safe (a duplicate key in its
        // catalogue), so they take turns on a transaction-scoped advisory lock.
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('pharos-read-model-ddl'))")
                .execute(&mut *tx)
                .await?;
            apply!(
                tx,
                "SELECT indexdef FROM pg_indexes \
                 WHERE schemaname = current_schema() AND indexname = $1"
            );
            tx.commit().await
        }
        // SQLite runs one write at a time: `IF NOT EXISTS` is enough. One connection for
        // all: another, its schema read before the drop, would refuse the index again as
        // one that exists.
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            apply!(
                conn,
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1"
            );
            Ok(())
        }
    }
}

/// Whether an index as the database describes it (`made`: its `CREATE INDEX` statement)
/// is on other columns than `columns` (a plain list; an index of another kind is kept).
fn stale(made: Option<&str>, columns: Option<&str>) -> bool {
    // The list between the statement's first `(` and its last `)`, without spaces or
    // quotes: PostgreSQL describes `a, b` as `USING btree (a, b)`, SQLite as written.
    fn list(text: &str) -> String {
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '"')
            .collect()
    }
    let (Some(made), Some(columns)) = (made, columns) else {
        return false;
    };
    let (Some(open), Some(close)) = (made.find('('), made.rfind(')')) else {
        return false;
    };
    made.get(open + 1..close)
        .is_some_and(|found| list(found) != list(columns))
}

/// Drops the lists' tables of `generation` and its checkpoint.
pub async fn drop(db: &Db, generation: Generation) -> Result<(), sqlx::Error> {
    drop_of(db, &LISTS, generation).await
}

/// Drops a projection's tables of `generation` and its checkpoint.
pub async fn drop_of(
    db: &Db,
    projection: &Descriptor,
    generation: Generation,
) -> Result<(), sqlx::Error> {
    for (name, _) in projection.tables {
        let sql = format!("DROP TABLE IF EXISTS {}", generation.table(name));
        on_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(pool)
            .await
            .map(|_| ()))?;
    }
    on_db!(db, |pool| sqlx::query(
        "DELETE FROM checkpoints WHERE name = $1"
    )
    .bind(projection.checkpoint(generation))
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The column names of a table definition (`name TYPE …, PRIMARY KEY (…)`).
pub fn columns(definition: &str) -> Vec<&str> {
    definition
        .split(',')
        .filter_map(|c| c.split_whitespace().next())
        .filter(|c| *c != "PRIMARY" && !c.ends_with(')'))
        .collect()
}

/// A checksum of each of the lists' tables of `generation`: its rows, every column as
/// text, in key order. Two generations built from the same log have the same checksums.
pub async fn checksums(
    db: &Db,
    generation: Generation,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    checksums_of(db, &LISTS, generation).await
}

/// [`checksums`] of any projection's tables.
pub async fn checksums_of(
    db: &Db,
    projection: &Descriptor,
    generation: Generation,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    use sha2::{Digest, Sha256};
    let mut sums = Vec::new();
    for (name, definition) in projection.tables {
        let text = columns(definition)
            .iter()
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), '∅')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT {text} FROM {} ORDER BY 1", generation.table(name));
        let rows: Vec<String> = on_db!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .fetch_all(pool)
        .await)?;
        let mut hash = Sha256::new();
        for row in &rows {
            hash.update(row.as_bytes());
            hash.update(b"\n");
        }
        sums.push((
            format!("{name} ({} lignes)", rows.len()),
            format!("{:x}", hash.finalize()),
        ));
    }
    Ok(sums)
}

/// How each of a projection's tables of `generation` is kept, as lines to compare: on
/// PostgreSQL whether it is logged, and each of its indexes as the database describes it
/// (the generation's suffix taken out). A rebuilt generation has those of one made live.
pub async fn layout_of(
    db: &Db,
    projection: &Descriptor,
    generation: Generation,
) -> Result<Vec<String>, sqlx::Error> {
    let mut lines = Vec::new();
    for (name, _) in projection.tables {
        let table = generation.table(name);
        let (persistence, indexes): (Option<String>, Vec<String>) = match db {
            Db::Postgres(pool) => (
                sqlx::query_scalar(
                    "SELECT CAST(relpersistence AS TEXT) FROM pg_class \
                     WHERE oid = to_regclass($1)",
                )
                .bind(&table)
                .fetch_optional(pool)
                .await?,
                sqlx::query_scalar(
                    "SELECT indexdef FROM pg_indexes \
                     WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname",
                )
                .bind(&table)
                .fetch_all(pool)
                .await?,
            ),
            Db::Sqlite(pool) => (
                None,
                sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
                     AND sql IS NOT NULL ORDER BY name",
                )
                .bind(&table)
                .fetch_all(pool)
                .await?,
            ),
        };
        if let Some(persistence) = persistence {
            lines.push(format!("{name}: relpersistence {persistence}"));
        }
        lines.extend(indexes.iter().map(|made| made.replace(&table, name)));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_table_name_is_a_part_of_another_and_projection_names_are_unique() {
        let names: Vec<&str> = all()
            .iter()
            .flat_map(|d| d.tables.iter().map(|(name, _)| *name))
            .collect();
        for a in &names {
            for b in &names {
                assert!(a == b || !a.contains(b), "{a} contains {b}");
            }
        }
        let mut projections: Vec<&str> = all().iter().map(|d| d.name).collect();
        projections.sort_unstable();
        projections.dedup();
        assert_eq!(projections.len(), all().len());
    }

    /// Each projection's rename, in one pass, writes what a replacement per table name
    /// wrote, one after the other: every name of every projection, side by side, in
    /// identifiers, already suffixed and at the ends of the text; names of the other
    /// projections left as they are.
    #[test]
    fn a_rename_suffixes_each_of_its_tables_as_one_replacement_per_table_did() {
        let names: Vec<&str> = all()
            .iter()
            .flat_map(|d| d.tables.iter().map(|(name, _)| *name))
            .collect();
        let mut statement = String::from(names[0]);
        for name in &names {
            statement.push_str(&format!(
                " SELECT x.a FROM {name} x JOIN {name}_1 y ON {name}.uai = y.uai,{name}({name}) \
                 {name}{name} rm_ rm_{name};"
            ));
        }
        statement.push_str(names[names.len() - 1]);
        for projection in all() {
            for generation in [Generation(1), Generation(2), Generation(17)] {
                let mut expected = statement.clone();
                for (name, _) in projection.tables {
                    expected = expected.replace(name, &generation.table(name));
                }
                assert_eq!(
                    projection.rename(generation, &statement),
                    expected,
                    "{} at {generation:?}",
                    projection.name
                );
            }
            assert_ne!(projection.rename(Generation(2), &statement), statement);
        }
        assert_eq!(
            rename(Generation(3), &statement),
            LISTS.rename(Generation(3), &statement)
        );
    }

    #[test]
    fn the_indexes_a_rebuild_makes_first_are_indexes_of_its_projection() {
        for projection in all() {
            for index in projection.applying {
                assert!(
                    projection.indexes.contains(index),
                    "{}: {index:?} is not among its indexes: never made",
                    projection.name
                );
            }
        }
    }

    #[test]
    fn an_index_is_stale_on_other_columns_only() {
        let columns = Some("session_id, valid_from, person");
        // As PostgreSQL and SQLite describe the same list.
        for made in [
            "CREATE INDEX t_idx ON public.t USING btree (session_id, valid_from, person)",
            "CREATE INDEX IF NOT EXISTS t_idx ON t (session_id, valid_from, person)",
            "CREATE INDEX t_idx ON public.t USING btree (\"session_id\", valid_from,person)",
        ] {
            assert!(!stale(Some(made), columns), "{made}");
        }
        assert!(stale(
            Some("CREATE INDEX t_idx ON public.t USING btree (session_id, valid_from)"),
            columns
        ));
        // Not made yet, or of another kind: nothing to drop.
        assert!(!stale(None, columns));
        assert!(!stale(
            Some("CREATE INDEX t_idx ON t USING gin (search gin_trgm_ops)"),
            None
        ));
    }
}
