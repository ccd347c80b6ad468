//! The read model's tables, by generation: `rm_<table>_<n>`. The API reads the live
//! generation (`rm_generations.live`); a rebuild fills the next one from the start of the
//! log, then makes it live in one statement, so that readers never see a half-built
//! table. Identifiers, dates and instants are text (instants in UTC, RFC 3339, so that
//! text order is time order): the definitions are the same on both backends.

use pharos_eventstore::{Db, on_db};

/// The projection's name in `rm_generations`, and the prefix of its checkpoints.
pub const PROJECTION: &str = "read-model";

/// The version of the definitions below and of what the projector writes in them: a
/// change of either (a new table, a column, what counts) takes a new number, and the
/// projector then rebuilds into a new generation before serving it.
pub const DEFINITION: i64 = 2;

/// The tables of one generation: name and columns.
const TABLES: [(&str, &str); 12] = [
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
         status TEXT NOT NULL",
    ),
    (
        "rm_action_schools",
        "action_id TEXT NOT NULL, uai TEXT NOT NULL, department TEXT NOT NULL, \
         PRIMARY KEY (action_id, uai)",
    ),
];

/// Indexes of one generation: table and columns.
const INDEXES: [(&str, &str); 10] = [
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
];

/// The names of one generation's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(pub i64);

impl Generation {
    /// `rm_<table>_<n>`.
    pub fn table(self, name: &str) -> String {
        format!("{name}_{}", self.0)
    }

    /// The checkpoint of the projector filling this generation.
    pub fn checkpoint(self) -> String {
        format!("{PROJECTION}-g{}", self.0)
    }

    /// Every table of the generation, by its unsuffixed name.
    pub fn tables() -> impl Iterator<Item = &'static str> {
        TABLES.iter().map(|(name, _)| *name)
    }
}

/// `statement` on the tables of `generation` (no table name is a part of another's, so a
/// plain replacement is exact).
pub fn rename(generation: Generation, statement: &str) -> String {
    let mut text = statement.to_owned();
    for table in Generation::tables() {
        text = text.replace(table, &generation.table(table));
    }
    text
}

/// The live generation and the one being built, if any.
pub async fn generations(db: &Db) -> Result<Option<(Generation, Option<Generation>)>, sqlx::Error> {
    Ok(state(db).await?.map(|(live, _, building)| (live, building)))
}

/// The live generation, the definition it was built with, and the one being built.
pub async fn state(db: &Db) -> Result<Option<(Generation, i64, Option<Generation>)>, sqlx::Error> {
    let found: Option<(i64, i64, Option<i64>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT live, definition, building FROM rm_generations WHERE projection = $1"
    )
    .bind(PROJECTION)
    .fetch_optional(pool)
    .await)?;
    Ok(found.map(|(live, definition, building)| {
        (Generation(live), definition, building.map(Generation))
    }))
}

/// The live generation, created (generation 1, empty) on first use. Safe when several
/// processes start together.
pub async fn live(db: &Db) -> Result<Generation, sqlx::Error> {
    if let Some((live, _)) = generations(db).await? {
        return Ok(live);
    }
    create(db, Generation(1)).await?;
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO rm_generations (projection, live, definition) VALUES ($1, 1, $2) \
         ON CONFLICT (projection) DO NOTHING",
        )
        .bind(PROJECTION)
        .bind(DEFINITION)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(generations(db)
        .await?
        .map_or(Generation(1), |(live, _)| live))
}

/// Creates the tables of `generation` (those missing).
pub async fn create(db: &Db, generation: Generation) -> Result<(), sqlx::Error> {
    for (name, columns) in TABLES {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} ({columns})",
            generation.table(name)
        );
        on_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(pool)
            .await
            .map(|_| ()))?;
    }
    for (name, columns) in INDEXES {
        let table = generation.table(name);
        let sql = format!("CREATE INDEX IF NOT EXISTS {table}_idx ON {table} ({columns})");
        on_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(pool)
            .await
            .map(|_| ()))?;
    }
    Ok(())
}

/// Drops the tables of `generation` and its checkpoint.
pub async fn drop(db: &Db, generation: Generation) -> Result<(), sqlx::Error> {
    for name in Generation::tables() {
        let sql = format!("DROP TABLE IF EXISTS {}", generation.table(name));
        on_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(pool)
            .await
            .map(|_| ()))?;
    }
    on_db!(db, |pool| sqlx::query(
        "DELETE FROM checkpoints WHERE name = $1"
    )
    .bind(generation.checkpoint())
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// A checksum of each table of `generation`: its rows, every column as text, in key
/// order. Two generations built from the same log have the same checksums.
pub async fn checksums(
    db: &Db,
    generation: Generation,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    use sha2::{Digest, Sha256};
    let mut sums = Vec::new();
    for (name, columns) in TABLES {
        let names: Vec<&str> = columns
            .split(',')
            .filter_map(|c| c.split_whitespace().next())
            .filter(|c| *c != "PRIMARY" && !c.ends_with(')'))
            .collect();
        let text = names
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
