//! Reading the `rm_*` tables on either backend: a `WHERE` clause built from optional
//! filters, every value bound (never spliced into the text).

use pharos_eventstore::{Db, on_db};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::tables::{Generation, rename};

/// Filters joined by `AND`, their values bound as `$1, $2…`.
#[derive(Debug, Default)]
pub struct Filter {
    clauses: Vec<String>,
    pub binds: Vec<String>,
}

impl Filter {
    /// Binds `value`: its placeholder, for a clause given to [`Filter::raw`].
    pub fn bind(&mut self, value: String) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    /// `column = value`, when a value is given.
    pub fn eq(&mut self, column: &str, value: Option<String>) {
        if let Some(value) = value {
            let at = self.bind(value);
            self.clauses.push(format!("{column} = {at}"));
        }
    }

    /// `column` holds `text` (already folded), when given.
    pub fn contains(&mut self, column: &str, text: Option<String>) {
        // `%` and `_` would be patterns: searched text never needs them.
        if let Some(text) = text
            .map(|t| t.replace(['%', '_', '\\'], " ").trim().to_owned())
            .filter(|t| !t.is_empty())
        {
            let at = self.bind(text);
            self.clauses
                .push(format!("{column} LIKE '%' || {at} || '%'"));
        }
    }

    /// A clause with no value.
    pub fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    /// `column` between `from` (included) and `to` (excluded).
    pub fn between(&mut self, column: &str, from: String, to: String) {
        let from = self.bind(from);
        let to = self.bind(to);
        self.clauses
            .push(format!("{column} >= {from} AND {column} < {to}"));
    }

    /// One of the alternatives, each `column IN (values)` (a column with `NULL` in the
    /// values list matches `NULL` too); none at all matches nothing.
    pub fn any_of(&mut self, alternatives: &[(&str, &[String])]) {
        let mut parts = Vec::new();
        for (column, values) in alternatives {
            if values.is_empty() {
                continue;
            }
            let placeholders: Vec<String> = values.iter().map(|v| self.bind(v.clone())).collect();
            parts.push(format!("{column} IN ({})", placeholders.join(", ")));
        }
        if parts.is_empty() {
            self.clauses.push("1 = 0".to_owned());
        } else {
            self.clauses.push(format!("({})", parts.join(" OR ")));
        }
    }

    /// `column IS NULL OR column IN (values)`: rows of no department (academy-wide)
    /// and of the given ones.
    pub fn null_or_in(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            self.clauses.push(format!("{column} IS NULL"));
        } else {
            let placeholders: Vec<String> = values.iter().map(|v| self.bind(v.clone())).collect();
            self.clauses.push(format!(
                "({column} IS NULL OR {column} IN ({}))",
                placeholders.join(", ")
            ));
        }
    }

    /// Whether no clause was added.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// ` WHERE …`, or nothing.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Rows of `sql`, on the tables of generation `g`, with `binds`.
pub async fn rows<R>(
    db: &Db,
    g: Generation,
    sql: &str,
    binds: &[String],
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
{
    let sql = rename(g, sql);
    on_db!(db, |pool| {
        let mut query = sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql.clone()));
        for value in binds {
            query = query.bind(value.clone());
        }
        query.fetch_all(pool).await
    })
}

/// The one number `sql` answers (a `COUNT(*)`), on the tables of generation `g`.
pub async fn count(
    db: &Db,
    g: Generation,
    sql: &str,
    binds: &[String],
) -> Result<i64, sqlx::Error> {
    let sql = rename(g, sql);
    on_db!(db, |pool| {
        let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.clone()));
        for value in binds {
            query = query.bind(value.clone());
        }
        query.fetch_one(pool).await
    })
}
