//! The writes of one batch of events ([`Batch`]), sent in as few statements as keep their
//! effects those of the statements run one by one, in the events' order.
//!
//! - An upsert (`INSERT INTO t (…) VALUES (…) ON CONFLICT (key) …`, one row) is queued.
//!   The rows queued for one table by the same statement go out as one multi-row INSERT,
//!   within the backend's bind-parameter limit (on PostgreSQL their values bound as
//!   arrays: [`Upsert::unnest`]). A key the same statement has queued
//!   already is folded into its row when the conflict action allows (`DO NOTHING`, or
//!   `DO UPDATE SET c = excluded.c, …`: [`Fold`]). A second statement on that table, or
//!   a key queued that cannot be folded (PostgreSQL refuses to affect a row twice in one
//!   statement, and the order of the two matters), sends what is queued for the table
//!   first.
//! - Any other statement (an UPDATE, a DELETE, a read) first sends what is queued for the
//!   tables it names, then runs. Rows queued for other tables wait: statements on
//!   different tables commute (the read model has no trigger, no foreign key, no view),
//!   and a statement reads no table it does not name.
//! - [`Batch::flush`] sends everything: the projection calls it at the end of its batch,
//!   before the checkpoint's transaction commits.
//!
//! Statements are given with the unsuffixed table names (`rm_schools`); the batch renames
//! them to the generation's tables once per statement text.

use std::collections::HashMap;
use std::sync::Arc;

use pharos_eventstore::{ProjectionError, ProjectionTx};

mod facts;
mod rows;

pub use facts::FactRow;

/// PostgreSQL's limit on a statement's bind parameters (a 16-bit count on the wire).
pub const POSTGRES_PARAMETERS: usize = 65_535;
/// SQLite's (`SQLITE_MAX_VARIABLE_NUMBER`, 32,766 since SQLite 3.32).
pub const SQLITE_PARAMETERS: usize = 32_766;

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    /// A boolean column's NULL (read back from a nullable column).
    NullableBool(Option<bool>),
}

impl Value {
    pub fn text(value: impl Into<String>) -> Self {
        Self::Text(Some(value.into()))
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::Text(Some(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::text(value)
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Self::text(value.as_str())
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        Self::Text(value)
    }
}

impl From<&Option<String>> for Value {
    fn from(value: &Option<String>) -> Self {
        Self::Text(value.clone())
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        Self::Int(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// Binds `values` in order to a query of either backend.
macro_rules! bound {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                Value::Text(v) => query.bind(v.as_deref()),
                Value::Int(v) => query.bind(*v),
                Value::Bool(v) => query.bind(*v),
                Value::NullableBool(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// A part of an upsert's row: text, or the placeholder of one of its values (from 0).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(usize),
}

/// A one-row upsert, taken apart so that rows can be added to it.
#[derive(Debug, PartialEq, Eq)]
struct Upsert {
    /// The table written.
    table: String,
    /// `INSERT INTO t (…) VALUES `.
    head: String,
    /// `(…)`, its placeholders numbered from 0.
    row: Vec<Piece>,
    /// ` ON CONFLICT (…) …`.
    tail: String,
    /// How many values a row binds.
    values: usize,
    /// The values of the conflict key's columns (those that are placeholders).
    key: Vec<usize>,
    /// Each column given by a placeholder, and its value's index.
    binds: Vec<(String, usize)>,
    /// How a row of a key already queued by this statement folds into the queued row,
    /// when the conflict action allows it.
    fold: Option<Fold>,
}

/// What a second row of a key queued folds to, its effect being the two rows' in turn.
#[derive(Debug, PartialEq, Eq)]
enum Fold {
    /// `DO NOTHING`: the second row changes nothing (the first is inserted, or the row
    /// there is kept by both).
    KeepFirst,
    /// `DO UPDATE SET c = excluded.c, …`: the second row's values of these (value
    /// indexes) replace the first's. The row inserted is the first with the second's
    /// values set; a row there gets the second's values, as the two in turn would give.
    Overwrite(Vec<usize>),
}

impl Fold {
    /// The fold of the conflict `action` (after its target) of an upsert of `columns`
    /// given by `expressions`: none when a set column's value is an expression of the
    /// row's placeholders or of the row there, or when the action has a condition.
    fn parse(action: &str, columns: &[&str], expressions: &[&str]) -> Option<Self> {
        let action = action.trim();
        if action == "DO NOTHING" {
            return Some(Self::KeepFirst);
        }
        let mut overwritten = Vec::new();
        for part in split_top(action.strip_prefix("DO UPDATE SET ")?) {
            let (name, value) = part.split_once('=')?;
            let name = name.trim();
            if value.trim().strip_prefix("excluded.")? != name {
                return None;
            }
            let expression = expressions[columns.iter().position(|c| *c == name)?].trim();
            match expression.strip_prefix('$') {
                Some(n) => overwritten.push(n.parse::<usize>().ok()?.checked_sub(1)?),
                // The same constant in both rows.
                None if !expression.contains('$') => {}
                None => return None,
            }
        }
        Some(Self::Overwrite(overwritten))
    }
}

impl Upsert {
    /// `statement` taken apart, if it is a one-row `INSERT … VALUES (…) ON CONFLICT (…)`
    /// whose placeholders are `$1`…`$n`, each used once.
    fn parse(statement: &str) -> Option<Self> {
        let rest = statement.strip_prefix("INSERT INTO ")?;
        let table = rest
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()?
            .to_owned();
        let at = statement.find(" VALUES (")? + " VALUES ".len();
        let head = &statement[..at];
        let columns: Vec<&str> = inside(head)?.split(',').map(str::trim).collect();
        let after = &statement[at..];
        let end = closing(after)?;
        let row = &after[..=end];
        let tail = &after[end + 1..];
        let target: Vec<&str> = inside(tail.trim_start().strip_prefix("ON CONFLICT ")?)?
            .split(',')
            .map(str::trim)
            .collect();
        let expressions = split_top(&row[1..row.len() - 1]);
        if expressions.len() != columns.len() {
            return None;
        }
        let pieces = placeholders(row)?;
        let mut used: Vec<usize> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Value(n) => Some(*n),
                Piece::Text(_) => None,
            })
            .collect();
        let values = used.len();
        used.sort_unstable();
        used.dedup();
        if used.len() != values || used.last().is_some_and(|n| *n + 1 != values) {
            return None;
        }
        let binds = columns
            .iter()
            .zip(&expressions)
            .filter_map(|(column, expression)| {
                let n: usize = expression.trim().strip_prefix('$')?.parse().ok()?;
                Some(((*column).to_owned(), n.checked_sub(1)?))
            })
            .collect();
        let action = tail
            .trim_start()
            .strip_prefix("ON CONFLICT ")
            .and_then(|t| t.split_once(')'))
            .map(|(_, action)| action);
        let fold = action.and_then(|action| Fold::parse(action, &columns, &expressions));
        let key = target
            .iter()
            .map(|column| {
                let at = columns.iter().position(|c| c == column)?;
                Some(
                    expressions[at]
                        .trim()
                        .strip_prefix('$')
                        .and_then(|n| n.parse::<usize>().ok())
                        .map(|n| n - 1),
                )
            })
            .collect::<Option<Vec<Option<usize>>>>()?
            .into_iter()
            .flatten()
            .collect();
        Some(Self {
            table,
            head: head.to_owned(),
            row: pieces,
            tail: tail.to_owned(),
            values,
            key,
            binds,
            fold,
        })
    }

    /// The index in a row's values of `column`'s, when a placeholder gives it.
    fn bind_of(&self, column: &str) -> Option<usize> {
        self.binds
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, n)| *n)
    }

    /// The statement for the rows of `values` (`self.values` each) with anonymous
    /// placeholders (`?`), and its values in the order the placeholders come; none when
    /// the statement has a placeholder outside its row. For SQLite: binding a numbered
    /// placeholder looks its name up through every name of the statement, so a statement
    /// of n numbered values costs n² string comparisons (84 % of an indicators' rebuild
    /// on SQLite), where `?` costs none.
    fn anonymous(&self, values: &[Value]) -> Option<(String, Vec<Value>)> {
        if !self.whole_rows(values) {
            return None;
        }
        let mut ordered = Vec::with_capacity(values.len());
        // Whole rows, and a row's placeholders are below `self.values` (`parse`).
        let text = self.write(values.len() / self.values, |text, r, n| {
            text.push('?');
            ordered.push(values[r * self.values + n].clone());
        });
        Some((text, ordered))
    }

    /// Whether `values` are whole rows of this statement, and its placeholders all in
    /// its row: what a statement of other placeholders than `$1`… needs.
    fn whole_rows(&self, values: &[Value]) -> bool {
        !self.head.contains('$')
            && !self.tail.contains('$')
            && self.values > 0
            && values.len().is_multiple_of(self.values)
    }

    /// The statement for any number of rows on PostgreSQL, and its arrays: each value of
    /// the row bound as one array of every row's (moved there), the rows read back with
    /// `unnest` (`INSERT … SELECT u.v0, … FROM unnest($1::text[], …) AS u(v0, …) ON
    /// CONFLICT …`). One text for every batch, prepared once per connection: multi-row
    /// `VALUES` of thousands of placeholders were parsed, bound and planned at each
    /// statement, their text varying with the rows. The values back when the statement
    /// has a placeholder outside its row, or a value is not of the same kind in every row.
    fn unnest(&self, values: Vec<Value>) -> Result<(String, Vec<Column>), Vec<Value>> {
        if !self.whole_rows(&values) {
            return Err(values);
        }
        let mut columns: Vec<Column> = values[..self.values].iter().map(Column::of).collect();
        let alike = values
            .chunks(self.values)
            .all(|row| columns.iter().zip(row).all(|(c, v)| c.holds(v)));
        let Some(text) = alike.then(|| self.unnest_text(&columns)).flatten() else {
            return Err(values);
        };
        for (i, value) in values.into_iter().enumerate() {
            columns[i % self.values].push(value);
        }
        Ok((text, columns))
    }

    /// [`Upsert::unnest`]'s statement, for arrays of `columns`' kinds.
    fn unnest_text(&self, columns: &[Column]) -> Option<String> {
        let head = self.head.strip_suffix(" VALUES ")?;
        let mut text = String::with_capacity(self.head.len() + self.tail.len() + 32 * self.values);
        text.push_str(head);
        text.push_str(" SELECT ");
        let last = self.row.len().checked_sub(1)?;
        for (i, piece) in self.row.iter().enumerate() {
            match piece {
                Piece::Text(t) => {
                    // The row's own parentheses: a SELECT lists its values bare.
                    let t = if i == 0 { t.strip_prefix('(')? } else { t };
                    let t = if i == last { t.strip_suffix(')')? } else { t };
                    text.push_str(t);
                }
                Piece::Value(n) => text.push_str(&format!("u.v{n}")),
            }
        }
        let arrays: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(n, c)| format!("${}::{}[]", n + 1, c.kind()))
            .collect();
        let names: Vec<String> = (0..self.values).map(|n| format!("v{n}")).collect();
        text.push_str(&format!(
            " FROM unnest({}) AS u({})",
            arrays.join(", "),
            names.join(", ")
        ));
        text.push_str(&self.tail);
        Some(text)
    }

    /// The statement for `rows` rows.
    fn text(&self, rows: usize) -> String {
        self.write(rows, |text, r, n| {
            text.push('$');
            text.push_str(&(r * self.values + n + 1).to_string());
        })
    }

    /// The statement for `rows` rows, the placeholder of row `r`'s value `n` written by
    /// `placeholder(text, r, n)`.
    fn write(&self, rows: usize, mut placeholder: impl FnMut(&mut String, usize, usize)) -> String {
        let mut text = String::with_capacity(self.head.len() + self.tail.len() + rows * 64);
        text.push_str(&self.head);
        for r in 0..rows {
            if r > 0 {
                text.push_str(", ");
            }
            for piece in &self.row {
                match piece {
                    Piece::Text(t) => text.push_str(t),
                    Piece::Value(n) => placeholder(&mut text, r, *n),
                }
            }
        }
        text.push_str(&self.tail);
        text
    }
}

/// One value of a row, every row's, bound as a PostgreSQL array ([`Upsert::unnest`]).
#[derive(Debug, PartialEq, Eq)]
enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Column {
    /// An empty column of `value`'s kind.
    fn of(value: &Value) -> Self {
        match value {
            Value::Text(_) => Self::Text(Vec::new()),
            Value::Int(_) => Self::Int(Vec::new()),
            Value::Bool(_) | Value::NullableBool(_) => Self::Bool(Vec::new()),
        }
    }

    /// Whether `value` is of the column's kind.
    fn holds(&self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Self::Text(_), Value::Text(_))
                | (Self::Int(_), Value::Int(_))
                | (Self::Bool(_), Value::Bool(_) | Value::NullableBool(_))
        )
    }

    /// `value` added: of the column's kind ([`Column::holds`]).
    fn push(&mut self, value: Value) {
        match (self, value) {
            (Self::Text(c), Value::Text(v)) => c.push(v),
            (Self::Int(c), Value::Int(v)) => c.push(v),
            (Self::Bool(c), Value::Bool(v)) => c.push(Some(v)),
            (Self::Bool(c), Value::NullableBool(v)) => c.push(v),
            _ => unreachable!("a value pushed to a column of another kind"),
        }
    }

    /// The SQL type of its elements.
    fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Int(_) => "int8",
            Self::Bool(_) => "bool",
        }
    }
}

/// What is between the first `(` of `text` and its `)`.
fn inside(text: &str) -> Option<&str> {
    let open = text.find('(')?;
    let close = open + closing(&text[open..])?;
    Some(&text[open + 1..close])
}

/// Where the parenthesis `text` starts with closes (quoted text skipped).
fn closing(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` split at its commas outside parentheses and quotes.
pub(crate) fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut from) = (0usize, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                parts.push(&text[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[from..]);
    parts
}

/// `text` as text and placeholders (`$n` outside quotes, numbered from 0).
fn placeholders(text: &str) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut plain = String::new();
    let mut quoted = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '$' || quoted {
            plain.push(c);
            continue;
        }
        let mut end = i + 1;
        while let Some((j, d)) = chars.peek().copied()
            && d.is_ascii_digit()
        {
            end = j + 1;
            chars.next();
        }
        let n: usize = text[i + 1..end].parse().ok()?;
        pieces.push(Piece::Text(std::mem::take(&mut plain)));
        pieces.push(Piece::Value(n.checked_sub(1)?));
    }
    pieces.push(Piece::Text(plain));
    pieces.retain(|p| *p != Piece::Text(String::new()));
    Some(pieces)
}

/// A read of the rows of `keys`, written with `= ANY($1)`, on PostgreSQL: one key
/// compares as `= $1` (an index scan: on a table a rebuild is filling, without planner
/// statistics, `= ANY` of one value was planned as a sequential scan, 6 ms a read
/// instead of 0.1), several bind an array.
fn any_pg<'q>(
    statement: &str,
    keys: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match keys {
        [one] => sqlx::query(sqlx::AssertSqlSafe(statement.replace("= ANY($1)", "= $1")))
            .bind(one.as_str()),
        _ => sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).bind(keys),
    }
}

/// [`any_pg`] on SQLite: one key compares as `= $1`, several are `IN` the values of
/// one JSON array; the statement and what it binds.
fn any_sqlite(statement: &str, keys: &[String]) -> Result<(String, String), ProjectionError> {
    if !statement.contains("= ANY($1)") {
        return Err(format!("no `= ANY($1)` to read a list with: {statement}").into());
    }
    Ok(match keys {
        [one] => (statement.replace("= ANY($1)", "= $1"), one.clone()),
        _ => (
            statement.replace("= ANY($1)", "IN (SELECT value FROM json_each($1))"),
            serde_json::to_string(keys)?,
        ),
    })
}

/// The table and column of `DELETE FROM t WHERE c = $1`, exactly that.
fn delete_by(statement: &str) -> Option<(&str, &str)> {
    let (table, filter) = statement
        .strip_prefix("DELETE FROM ")?
        .split_once(" WHERE ")?;
    let (column, bind) = filter.split_once('=')?;
    let (table, column) = (table.trim(), column.trim());
    let word = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (bind.trim() == "$1" && word(table) && word(column)).then_some((table, column))
}

/// Whether `statement` names `table` (as a whole identifier).
fn names(statement: &str, table: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    statement.match_indices(table).any(|(at, _)| {
        !statement[..at].chars().next_back().is_some_and(word)
            && !statement[at + table.len()..]
                .chars()
                .next()
                .is_some_and(word)
    })
}

/// The rows queued for one table by one upsert.
struct Queued {
    upsert: Arc<Upsert>,
    statement: Arc<str>,
    rows: Vec<Value>,
    /// The keys of the rows queued, and each one's row.
    keys: HashMap<Vec<Value>, usize>,
}

/// A statement as given, renamed to the generation's tables, and taken apart when it
/// is an upsert.
struct Known {
    text: Arc<str>,
    upsert: Option<Arc<Upsert>>,
    update: Option<Arc<rows::Update>>,
    insert: Option<Arc<rows::Insert>>,
}

/// The writes of one batch, inside its transaction.
pub struct Batch<'t, 'c> {
    tx: &'t mut ProjectionTx<'c>,
    rename: Box<dyn Fn(&str) -> String + Send + Sync>,
    limit: usize,
    known: HashMap<String, Known>,
    queued: Vec<Queued>,
    /// Fact periods changed in memory ([`Batch::change_fact`]).
    facts: facts::Facts,
    /// Rows updated in memory ([`Batch::with_rows`]).
    rows: rows::Rows,
    /// Statements sent, for the tests and the logs.
    sent: usize,
}

impl<'t, 'c> Batch<'t, 'c> {
    /// The writes of a batch in `tx`, on the tables `rename` gives for a statement.
    fn new(
        tx: &'t mut ProjectionTx<'c>,
        rename: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Self {
        let limit = match tx {
            ProjectionTx::Postgres(_) => POSTGRES_PARAMETERS,
            ProjectionTx::Sqlite(_) => SQLITE_PARAMETERS,
        };
        Self {
            tx,
            rename: Box::new(rename),
            limit,
            known: HashMap::new(),
            queued: Vec::new(),
            facts: facts::Facts::default(),
            rows: rows::Rows::default(),
            sent: 0,
        }
    }

    /// [`Batch::new`], its transaction first told (PostgreSQL) not to JIT-compile, and to
    /// scan no table whole where an index finds the rows.
    ///
    /// - JIT: the planner guesses high costs on the tables a rebuild fills (no statistics
    ///   yet), and compiling each small statement past `jit_above_cost` took tens of
    ///   milliseconds, a rebuild's batch minutes instead of seconds.
    /// - Sequential scans: a projection reads rows by key, or through an index made for
    ///   its own statements (`Descriptor::applying`), a few hundred at a time, in tables
    ///   that grow. A prepared statement keeps the plan chosen on its first reads, when a
    ///   rebuild's table held a few rows: a sequential scan, which stayed one as the table
    ///   grew, each read comparing every row with every key. The lists' rebuild read its
    ///   actions' rows (some 600 keys a batch, almost all new) in 17 ms at 6,000 rows and
    ///   74 ms at 40,000, a cost growing with the square of the log. Planned afresh, a
    ///   read still chose the scan, hashing the keys, at 5 ms per 50,000 rows, where the
    ///   index finds them in about one. A statement that no index serves still scans.
    pub async fn begin(
        tx: &'t mut ProjectionTx<'c>,
        rename: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Result<Self, ProjectionError> {
        if let ProjectionTx::Postgres(c) = tx {
            sqlx::query(
                "SELECT set_config('jit', 'off', true), set_config('enable_seqscan', 'off', true)",
            )
            .execute(&mut **c)
            .await?;
        }
        Ok(Self::new(tx, rename))
    }

    /// UPDATEs by key of `tables` (name, definition) run in memory, their rows written
    /// once per batch (see `rows`).
    pub fn with_rows(mut self, tables: &'static [(&'static str, &'static str)]) -> Self {
        self.rows = rows::Rows::new(tables);
        self
    }

    /// At most `limit` bind parameters per statement (the tests' smaller batches).
    #[cfg(test)]
    fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Whether the batch writes to PostgreSQL (for the few statements whose SQL differs).
    pub fn is_postgres(&self) -> bool {
        matches!(self.tx, ProjectionTx::Postgres(_))
    }

    /// How many statements went to the database.
    pub fn sent(&self) -> usize {
        self.sent
    }

    fn know(&mut self, statement: &str) -> (Arc<str>, Option<Arc<Upsert>>) {
        let known = self.known_of(statement);
        (known.text.clone(), known.upsert.clone())
    }

    fn known_of(&mut self, statement: &str) -> &Known {
        if !self.known.contains_key(statement) {
            let text: Arc<str> = (self.rename)(statement).into();
            let known = Known {
                upsert: Upsert::parse(&text).map(Arc::new),
                update: self.rows.parse(statement).map(Arc::new),
                insert: self.rows.parse_insert(statement).map(Arc::new),
                text,
            };
            self.known.insert(statement.to_owned(), known);
        }
        &self.known[statement]
    }

    /// Queues a one-row upsert (`INSERT INTO t (…) VALUES ($1, …) ON CONFLICT (…) …`);
    /// any other statement runs as [`Batch::execute`] does.
    pub async fn upsert(
        &mut self,
        statement: &str,
        values: Vec<Value>,
    ) -> Result<(), ProjectionError> {
        // An insert of a key whose row memory holds (or knows absent) is made there.
        if let Some(insert) = self.known_of(statement).insert.clone()
            && insert.values() == values.len()
            && self.insert_row(&insert, &values)
        {
            return Ok(());
        }
        let (text, upsert) = self.know(statement);
        let Some(upsert) = upsert.filter(|u| u.values == values.len() && u.values > 0) else {
            return self.execute(statement, values).await;
        };
        // A row of that key held in memory goes first.
        if let [key] = upsert.key[..]
            && let Some((table, key)) = self.rows.holds(&upsert.table, &values[key])
        {
            self.emit_rows(table, Some(&key)).await?;
        }
        self.enqueue(text, upsert, values).await
    }

    /// Queues a row of `upsert` (whose renamed text is `text`).
    async fn enqueue(
        &mut self,
        text: Arc<str>,
        upsert: Arc<Upsert>,
        values: Vec<Value>,
    ) -> Result<(), ProjectionError> {
        let key: Vec<Value> = upsert.key.iter().map(|n| values[*n].clone()).collect();
        if let Some(at) = self
            .queued
            .iter()
            .position(|q| q.upsert.table == upsert.table)
        {
            let queued = &mut self.queued[at];
            // A key queued by the same statement: folded into its row when the conflict
            // action allows, else its row goes out first.
            if queued.statement == text
                && let (Some(&row), Some(fold)) = (queued.keys.get(&key), &upsert.fold)
            {
                if let Fold::Overwrite(overwritten) = fold {
                    for &n in overwritten {
                        queued.rows[row * upsert.values + n] = values[n].clone();
                    }
                }
                return Ok(());
            }
            let full = queued.rows.len() + values.len() > self.limit;
            if queued.statement != text || queued.keys.contains_key(&key) || full {
                let queued = self.queued.remove(at);
                self.send(queued).await?;
            }
        }
        match self
            .queued
            .iter_mut()
            .find(|q| q.upsert.table == upsert.table)
        {
            Some(queued) => {
                let row = queued.rows.len() / upsert.values.max(1);
                queued.rows.extend(values);
                queued.keys.insert(key, row);
            }
            None => self.queued.push(Queued {
                upsert,
                statement: text,
                rows: values,
                keys: HashMap::from([(key, 0)]),
            }),
        }
        Ok(())
    }

    /// Runs `statement` after what is queued for the tables it names.
    pub async fn execute(
        &mut self,
        statement: &str,
        values: Vec<Value>,
    ) -> Result<(), ProjectionError> {
        if let Some(update) = self.known_of(statement).update.clone()
            && update.values() == values.len()
            && matches!(values.first(), Some(Value::Text(Some(_))))
        {
            return self.update_row(&update, values).await;
        }
        let text = self.prepare_with(statement, Some(&values)).await?;
        self.sent += 1;
        run(self.tx, text, &values, true).await?;
        Ok(())
    }

    /// Sends what is queued for the tables `statement` names, and gives the transaction
    /// to read with it (the statement renamed).
    pub async fn before_read(
        &mut self,
        statement: &str,
    ) -> Result<(&mut ProjectionTx<'c>, Arc<str>), ProjectionError> {
        let text = self.prepare(statement).await?;
        self.sent += 1;
        Ok((&mut *self.tx, text))
    }

    /// The one text `statement` answers for `bind` (its `$1`), if any, once what is
    /// queued for the tables it reads is written.
    pub async fn text(
        &mut self,
        statement: &str,
        bind: &str,
    ) -> Result<Option<String>, ProjectionError> {
        let (tx, text) = self.before_read(statement).await?;
        Ok(match tx {
            ProjectionTx::Postgres(c) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(text))
                    .bind(bind)
                    .fetch_optional(&mut **c)
                    .await?
            }
            ProjectionTx::Sqlite(c) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(text))
                    .bind(bind)
                    .fetch_optional(&mut **c)
                    .await?
            }
        })
    }

    /// The rows `statement` answers for the list `keys`, once what is queued or held for
    /// the tables it reads is written: `statement` compares with `= ANY($1)`, which
    /// SQLite reads as `IN` the keys sent as one JSON array ([`any_pg`], [`any_sqlite`]).
    pub async fn read_all_of<T>(
        &mut self,
        statement: &str,
        keys: &[String],
    ) -> Result<Vec<T>, ProjectionError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        let (tx, text) = self.before_read(statement).await?;
        Ok(match tx {
            ProjectionTx::Postgres(c) => any_pg(&text, keys)
                .fetch_all(&mut **c)
                .await?
                .iter()
                .map(T::from_row)
                .collect::<Result<_, _>>()?,
            ProjectionTx::Sqlite(c) => {
                let (text, keys) = any_sqlite(&text, keys)?;
                sqlx::query_as(sqlx::AssertSqlSafe(text))
                    .bind(keys)
                    .fetch_all(&mut **c)
                    .await?
            }
        })
    }

    /// `statement` renamed, once what is queued or held in memory for the tables it
    /// names is written.
    async fn prepare(&mut self, statement: &str) -> Result<Arc<str>, ProjectionError> {
        self.prepare_with(statement, None).await
    }

    /// [`Batch::prepare`] of a statement binding `values`: a `DELETE FROM t WHERE c = $1`
    /// leaves queued the rows of `t` whose `c` is another value (they commute with it).
    async fn prepare_with(
        &mut self,
        statement: &str,
        values: Option<&[Value]>,
    ) -> Result<Arc<str>, ProjectionError> {
        let (text, _) = self.know(statement);
        for table in self.facts.named(&text) {
            self.emit_facts(table).await?;
        }
        for table in self.rows.named(&text) {
            self.emit_rows(table, None).await?;
        }
        let by = delete_by(&text).zip(values.and_then(|v| v.first()));
        let mut at = 0;
        while at < self.queued.len() {
            let queued = &self.queued[at];
            let apart = by.as_ref().is_some_and(|((table, column), value)| {
                *table == queued.upsert.table
                    && queued.upsert.bind_of(column).is_some_and(|n| {
                        queued
                            .rows
                            .chunks(queued.upsert.values)
                            .all(|row| row[n] != **value)
                    })
            });
            if names(&text, &queued.upsert.table) && !apart {
                let queued = self.queued.remove(at);
                self.send(queued).await?;
            } else {
                at += 1;
            }
        }
        Ok(text)
    }

    /// Sends what is queued for the tables `statement` (renamed) names.
    async fn send_named(&mut self, statement: &str) -> Result<(), ProjectionError> {
        let mut at = 0;
        while at < self.queued.len() {
            if names(statement, &self.queued[at].upsert.table) {
                let queued = self.queued.remove(at);
                self.send(queued).await?;
            } else {
                at += 1;
            }
        }
        Ok(())
    }

    /// Sends everything queued or held in memory.
    pub async fn flush(&mut self) -> Result<(), ProjectionError> {
        for table in self.facts.tables() {
            self.emit_facts(table).await?;
        }
        for table in self.rows.tables() {
            self.emit_rows(table, None).await?;
        }
        for queued in std::mem::take(&mut self.queued) {
            self.send(queued).await?;
        }
        Ok(())
    }

    /// The rows of `queued` as few statements as the parameter limit allows.
    async fn send(&mut self, queued: Queued) -> Result<(), ProjectionError> {
        let width = queued.upsert.values;
        let per_statement = (self.limit / width).max(1) * width;
        let mut rest = queued.rows;
        while !rest.is_empty() {
            let after = rest.split_off(per_statement.min(rest.len()));
            let chunk = std::mem::replace(&mut rest, after);
            let rows = chunk.len() / width;
            // One-row statements are the common ones: prepared once per connection, as
            // PostgreSQL's multi-row ones are (one text for any number of rows). SQLite's
            // vary in length: not kept in the statement cache.
            self.sent += 1;
            if rows == 1 {
                run(self.tx, queued.statement.clone(), &chunk, true).await?;
                continue;
            }
            let chunk = match &mut *self.tx {
                ProjectionTx::Postgres(c) => match queued.upsert.unnest(chunk) {
                    Ok((text, columns)) => {
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
                        for column in columns {
                            query = match column {
                                Column::Text(v) => query.bind(v),
                                Column::Int(v) => query.bind(v),
                                Column::Bool(v) => query.bind(v),
                            };
                        }
                        query.execute(&mut **c).await?;
                        continue;
                    }
                    Err(chunk) => chunk,
                },
                ProjectionTx::Sqlite(_) => chunk,
            };
            // SQLite's anonymous placeholders; PostgreSQL's rows that `unnest` could not
            // take go as numbered `VALUES`.
            if !self.is_postgres()
                && let Some((text, ordered)) = queued.upsert.anonymous(&chunk)
            {
                run(self.tx, text.into(), &ordered, false).await?;
            } else {
                run(self.tx, queued.upsert.text(rows).into(), &chunk, false).await?;
            }
        }
        Ok(())
    }
}

async fn run(
    tx: &mut ProjectionTx<'_>,
    text: Arc<str>,
    values: &[Value],
    persistent: bool,
) -> Result<(), sqlx::Error> {
    // Which statements a batch sends, and how many values each: what bounds a rebuild.
    tracing::trace!(
        target: "pharos_read_model::statements",
        values = values.len(),
        statement = text.get(..72).unwrap_or(&text),
    );
    match tx {
        ProjectionTx::Postgres(c) => {
            let query = sqlx::query(sqlx::AssertSqlSafe(text)).persistent(persistent);
            bound!(query, values).execute(&mut **c).await?;
        }
        ProjectionTx::Sqlite(c) => {
            let query = sqlx::query(sqlx::AssertSqlSafe(text)).persistent(persistent);
            bound!(query, values).execute(&mut **c).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPSERT: &str = "INSERT INTO rm_things (id, name, size, kind) VALUES ($1, $2, $3, 'x') \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, size = excluded.size";

    #[test]
    fn an_upsert_reads_its_rows_from_arrays_on_postgres() {
        let upsert = Upsert::parse(UPSERT).unwrap();
        let rows = [
            thing("a", "one", 1),
            vec![Value::text("b"), Value::Text(None), Value::Int(None)],
        ]
        .concat();
        let (text, columns) = upsert.unnest(rows).unwrap();
        assert_eq!(
            text,
            "INSERT INTO rm_things (id, name, size, kind) SELECT u.v0, u.v1, u.v2, 'x' \
             FROM unnest($1::text[], $2::text[], $3::int8[]) AS u(v0, v1, v2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, size = excluded.size"
        );
        assert_eq!(
            columns,
            [
                Column::Text(vec![Some("a".into()), Some("b".into())]),
                Column::Text(vec![Some("one".into()), None]),
                Column::Int(vec![Some(1), None]),
            ]
        );
        // A value of another kind in a later row: the rows go as `VALUES`.
        let mixed = [
            thing("a", "one", 1),
            vec![Value::text("b"), Value::Int(Some(2)), Value::Int(None)],
        ]
        .concat();
        assert_eq!(upsert.unnest(mixed.clone()), Err(mixed));
        let outside = Upsert::parse(
            "INSERT INTO rm_n (id, n) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = rm_n.n + $3",
        );
        assert!(outside.is_none_or(|u| u.unnest(thing("a", "b", 1)).is_err()));
    }

    #[test]
    fn an_upsert_is_taken_apart_and_grows_rows() {
        let upsert = Upsert::parse(UPSERT).unwrap();
        assert_eq!(upsert.table, "rm_things");
        assert_eq!(upsert.values, 3);
        assert_eq!(upsert.key, vec![0]);
        assert_eq!(
            upsert.text(2),
            "INSERT INTO rm_things (id, name, size, kind) VALUES ($1, $2, $3, 'x'), \
             ($4, $5, $6, 'x') ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             size = excluded.size"
        );
        let two = Upsert::parse(
            "INSERT INTO rm_pairs (a, b, c) VALUES ($2, $1, 'it''s ($9)') \
             ON CONFLICT (a, b) DO NOTHING",
        )
        .unwrap();
        assert_eq!(two.key, vec![1, 0]);
        assert_eq!(
            two.text(2),
            "INSERT INTO rm_pairs (a, b, c) VALUES ($2, $1, 'it''s ($9)'), \
             ($4, $3, 'it''s ($9)') ON CONFLICT (a, b) DO NOTHING"
        );
        // With anonymous placeholders, the values in the order they come.
        let (text, ordered) = two
            .anonymous(&[
                Value::text("b1"),
                Value::text("a1"),
                Value::text("b2"),
                Value::text("a2"),
            ])
            .unwrap();
        assert_eq!(
            text,
            "INSERT INTO rm_pairs (a, b, c) VALUES (?, ?, 'it''s ($9)'), \
             (?, ?, 'it''s ($9)') ON CONFLICT (a, b) DO NOTHING"
        );
        assert_eq!(
            ordered,
            ["a1", "b1", "a2", "b2"].map(Value::text).to_vec(),
            "$2 first"
        );
        assert_eq!(upsert.fold, Some(Fold::Overwrite(vec![1, 2])));
        assert_eq!(two.fold, Some(Fold::KeepFirst));
        // A conflict action that reads the row there, or sets an expression of the row's
        // values, or has a condition: rows of one key are not folded.
        for unfolded in [
            "INSERT INTO rm_things (id, size) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET size = rm_things.size + excluded.size",
            "INSERT INTO rm_things (id, name) VALUES ($1, LOWER($2)) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            "INSERT INTO rm_things (id, name) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE rm_things.size > 0",
            "INSERT INTO rm_things (id, name) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET size = excluded.name",
        ] {
            assert_eq!(Upsert::parse(unfolded).unwrap().fold, None, "{unfolded}");
        }
        // Not upserts, or not of one row: run as they are.
        for other in [
            "UPDATE rm_things SET name = $2 WHERE id = $1",
            "INSERT INTO rm_things (id) VALUES ($1)",
            "INSERT INTO rm_things (id, name) SELECT id, $2 FROM rm_things WHERE id = $1 \
             ON CONFLICT (id) DO NOTHING",
            "INSERT INTO rm_things (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING",
            "INSERT INTO rm_things (id, name) VALUES ($1, $3) ON CONFLICT (id) DO NOTHING",
        ] {
            assert_eq!(Upsert::parse(other), None, "{other}");
        }
    }

    #[test]
    fn a_delete_by_one_column_is_known() {
        assert_eq!(
            delete_by("DELETE FROM rm_action_schools_3 WHERE action_id = $1"),
            Some(("rm_action_schools_3", "action_id"))
        );
        for other in [
            "DELETE FROM rm_things WHERE a = $1 AND b = $2",
            "DELETE FROM rm_things WHERE a = $2",
            "DELETE FROM rm_things WHERE a IN (SELECT a FROM rm_others WHERE b = $1)",
            "DELETE FROM rm_things",
        ] {
            assert_eq!(delete_by(other), None, "{other}");
        }
    }

    #[test]
    fn a_statement_names_whole_tables_only() {
        assert!(names("UPDATE rm_things_3 SET a = 1", "rm_things_3"));
        assert!(names("SELECT (SELECT 1 FROM rm_things_3)", "rm_things_3"));
        assert!(!names("UPDATE rm_things_31 SET a = 1", "rm_things_3"));
        assert!(!names("UPDATE rm_ind_things_3 SET a = 1", "rm_things_3"));
    }

    /// A connection to a scratch database of either backend, with a table.
    enum Conn {
        Postgres(sqlx::PgConnection),
        Sqlite(sqlx::SqliteConnection),
    }

    const FACT: &str = "subject TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT, \
         status TEXT NOT NULL, n BIGINT NOT NULL, done BOOLEAN NOT NULL, \
         PRIMARY KEY (subject, valid_from)";

    const TABLES: [&str; 3] = [
        "CREATE TABLE rm_facts (subject TEXT NOT NULL, valid_from TEXT NOT NULL, \
         valid_to TEXT, status TEXT NOT NULL, n BIGINT NOT NULL, done BOOLEAN NOT NULL, \
         PRIMARY KEY (subject, valid_from))",
        "CREATE TABLE rm_things (id TEXT PRIMARY KEY, name TEXT, size BIGINT, kind TEXT NOT NULL, \
         done BOOLEAN)",
        "CREATE TABLE rm_others (id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
    ];

    async fn connect(db: &pharos_test_support::TestDb) -> Conn {
        use sqlx::Connection;
        let mut conn = if db.url.starts_with("postgres") {
            Conn::Postgres(sqlx::PgConnection::connect(&db.url).await.unwrap())
        } else {
            let options: sqlx::sqlite::SqliteConnectOptions = db.url.parse().unwrap();
            Conn::Sqlite(
                sqlx::SqliteConnection::connect_with(&options.create_if_missing(true))
                    .await
                    .unwrap(),
            )
        };
        for table in TABLES {
            match &mut conn {
                Conn::Postgres(c) => sqlx::query(table).execute(c).await.map(|_| ()),
                Conn::Sqlite(c) => sqlx::query(table).execute(c).await.map(|_| ()),
            }
            .unwrap();
        }
        conn
    }

    async fn rows(conn: &mut Conn, table: &str) -> Vec<String> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id || '|' || COALESCE(CAST(name AS TEXT), '-') || '|' \
             || COALESCE(CAST(size AS TEXT), '-') FROM {table} ORDER BY id"
        ));
        texts(conn, sql).await
    }

    /// The one text column of every row `sql` reads.
    async fn texts(conn: &mut Conn, sql: impl sqlx::SqlSafeStr) -> Vec<String> {
        match conn {
            Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_all(c).await,
            Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_all(c).await,
        }
        .unwrap()
    }

    /// Runs `work` on a batch in a transaction of `conn`, commits, and returns how many
    /// statements the batch sent.
    macro_rules! in_batch {
        ($conn:expr, $limit:expr, |$batch:ident| $work:expr) => {
            in_batch!($conn, $limit, &[], |$batch| $work)
        };
        ($conn:expr, $limit:expr, $held:expr, |$batch:ident| $work:expr) => {{
            use sqlx::Connection;
            macro_rules! go {
                ($c:expr, $variant:ident) => {{
                    let mut t = $c.begin().await.unwrap();
                    let mut tx = ProjectionTx::$variant(&mut t);
                    let mut $batch = Batch::begin(&mut tx, |s: &str| s.to_owned())
                        .await
                        .unwrap()
                        .with_limit($limit)
                        .with_rows($held);
                    $work;
                    $batch.flush().await.unwrap();
                    let sent = $batch.sent();
                    t.commit().await.unwrap();
                    sent
                }};
            }
            match $conn {
                Conn::Postgres(c) => go!(c, Postgres),
                Conn::Sqlite(c) => go!(c, Sqlite),
            }
        }};
    }

    fn thing(id: &str, name: &str, size: i64) -> Vec<Value> {
        vec![Value::text(id), Value::text(name), Value::Int(Some(size))]
    }

    async fn rows_of_one_upsert_go_out_together(db: pharos_test_support::TestDb) {
        let mut conn = connect(&db).await;
        let limit = match conn {
            Conn::Postgres(_) => POSTGRES_PARAMETERS,
            Conn::Sqlite(_) => SQLITE_PARAMETERS,
        };
        // 1,000 rows, then 1,000 others interleaved with them on another table: one
        // statement per table.
        let sent = in_batch!(&mut conn, limit, |batch| {
            for n in 0..1_000 {
                batch
                    .upsert(UPSERT, thing(&format!("a{n:04}"), "A", n))
                    .await
                    .unwrap();
                batch
                    .upsert(
                        "INSERT INTO rm_others (id, n) VALUES ($1, $2) ON CONFLICT (id) \
                         DO UPDATE SET n = excluded.n",
                        vec![Value::text(format!("o{n:04}")), Value::Int(Some(n))],
                    )
                    .await
                    .unwrap();
            }
        });
        assert_eq!(sent, 2);
        let things = rows(&mut conn, "rm_things").await;
        assert_eq!(things.len(), 1_000);
        assert_eq!(things[999], "a0999|A|999");
        // More rows than one statement may bind: split at the backend's real limit.
        let many = limit / 3 + 10;
        let sent = in_batch!(&mut conn, limit, |batch| {
            for n in 0..many {
                let n = i64::try_from(n).unwrap();
                batch
                    .upsert(UPSERT, thing(&format!("b{n:05}"), "B", n))
                    .await
                    .unwrap();
            }
        });
        assert_eq!(sent, 2);
        assert_eq!(rows(&mut conn, "rm_things").await.len(), 1_000 + many);
        // And at a smaller one: 10 rows of 3 values, 9 values a statement.
        let sent = in_batch!(&mut conn, 9, |batch| {
            for n in 0..10 {
                batch
                    .upsert(UPSERT, thing(&format!("c{n}"), "C", n))
                    .await
                    .unwrap();
            }
        });
        assert_eq!(sent, 4);
        assert_eq!(rows(&mut conn, "rm_things").await.len(), 1_010 + many);
        db.finish().await;
    }

    async fn order_of_effects_is_the_statements_order(db: pharos_test_support::TestDb) {
        let mut conn = connect(&db).await;
        let ignore = "INSERT INTO rm_things (id, name, size, kind) VALUES ($1, $2, $3, 'y') \
             ON CONFLICT (id) DO NOTHING";
        let sent = in_batch!(&mut conn, 1_000, |batch| {
            // A key queued twice by one statement: the second row wins.
            batch.upsert(UPSERT, thing("k1", "first", 1)).await.unwrap();
            batch.upsert(UPSERT, thing("k2", "first", 2)).await.unwrap();
            batch
                .upsert(UPSERT, thing("k1", "second", 3))
                .await
                .unwrap();
            // DO NOTHING after it: the row stays as the upsert left it.
            batch
                .upsert(ignore, thing("k1", "ignored", 4))
                .await
                .unwrap();
            batch.upsert(ignore, thing("k3", "third", 5)).await.unwrap();
            // An UPDATE sees the rows queued before it, and the rows queued after it
            // come after it.
            batch
                .execute(
                    "UPDATE rm_things SET size = size * 10 WHERE id IN ($1, $2)",
                    vec![Value::text("k1"), Value::text("k3")],
                )
                .await
                .unwrap();
            batch
                .upsert(UPSERT, thing("k3", "fourth", 6))
                .await
                .unwrap();
            // A read sees what was queued for its table.
            let read = batch
                .text("SELECT name FROM rm_things WHERE id = $1", "k3")
                .await
                .unwrap();
            assert_eq!(read.as_deref(), Some("fourth"));
            batch.upsert(UPSERT, thing("k4", "fifth", 7)).await.unwrap();
            // An UPDATE of another table leaves the rows queued here waiting.
            batch
                .execute(
                    "UPDATE rm_others SET n = 0 WHERE id = $1",
                    vec![Value::text("k4")],
                )
                .await
                .unwrap();
            batch.upsert(UPSERT, thing("k5", "sixth", 8)).await.unwrap();
        });
        // [k1 k2] (the second k1 folded in) [k1 k3] UPDATE [k3] SELECT UPDATE(others) [k4 k5]
        assert_eq!(sent, 7);
        assert_eq!(
            rows(&mut conn, "rm_things").await,
            [
                "k1|second|30",
                "k2|first|2",
                "k3|fourth|6",
                "k4|fifth|7",
                "k5|sixth|8"
            ]
        );
        db.finish().await;
    }

    async fn fact_periods(conn: &mut Conn) -> Vec<String> {
        let sql = "SELECT subject || '|' || valid_from || '|' || COALESCE(valid_to, '-') \
             || '|' || status || '|' || CAST(n AS TEXT) || '|' \
             || CASE WHEN done THEN 'done' ELSE 'todo' END FROM rm_facts \
             ORDER BY subject, valid_from";
        texts(conn, sql).await
    }

    const OPEN: &str = "INSERT INTO rm_facts (subject, valid_from, status, n, done) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject, valid_from) DO NOTHING";

    fn opened(subject: &str, at: &str) -> Vec<Value> {
        vec![
            Value::text(subject),
            Value::text(at),
            Value::text("new"),
            Value::Int(Some(0)),
            Value::Bool(false),
        ]
    }

    /// Periods changed in memory are written as the SQL change writes them: the open one
    /// closed at the change, its successor opened with the new values; a change at the
    /// open period's instant (or before it) changes it in place; a subject without an
    /// open row is left alone; a read of the table sees what memory holds.
    async fn facts_changed_in_memory_are_written_as_periods(db: pharos_test_support::TestDb) {
        let mut conn = connect(&db).await;
        in_batch!(&mut conn, 1_000, |batch| {
            batch.upsert(OPEN, opened("a", "t1")).await.unwrap();
            batch.upsert(OPEN, opened("b", "t1")).await.unwrap();
        });
        let sent = in_batch!(&mut conn, 1_000, |batch| {
            for (at, n) in [("t2", 1), ("t3", 2), ("t3", 3)] {
                batch
                    .change_fact("rm_facts", FACT, "a", at, |row| {
                        row.set("n", Value::Int(Some(n)));
                    })
                    .await
                    .unwrap();
            }
            batch
                .change_fact("rm_facts", FACT, "b", "t2", |row| {
                    row.set("status", Value::text("open"));
                    row.set("done", Value::Bool(true));
                })
                .await
                .unwrap();
            batch
                .change_fact("rm_facts", FACT, "nobody", "t2", |row| {
                    row.set("n", Value::Int(Some(9)));
                })
                .await
                .unwrap();
            // A subject opened in this batch, then changed.
            batch.upsert(OPEN, opened("c", "t2")).await.unwrap();
            batch
                .change_fact("rm_facts", FACT, "c", "t4", |row| {
                    row.set("n", Value::Int(Some(4)));
                })
                .await
                .unwrap();
            let read = batch
                .text(
                    "SELECT CAST(n AS TEXT) FROM rm_facts WHERE subject = $1 \
                     AND valid_to IS NULL",
                    "a",
                )
                .await
                .unwrap();
            assert_eq!(read.as_deref(), Some("3"));
            // Changed again after the read: read back from the table, then changed.
            batch
                .change_fact("rm_facts", FACT, "a", "t5", |row| {
                    row.set("status", Value::text("done"));
                })
                .await
                .unwrap();
        });
        // Reads of a, b, nobody; c's open; c's read; the read's flush; the read; a's read;
        // the final flush.
        assert!(sent <= 10, "{sent} statements");
        assert_eq!(
            fact_periods(&mut conn).await,
            [
                "a|t1|t2|new|0|todo",
                "a|t2|t3|new|1|todo",
                "a|t3|t5|new|3|todo",
                "a|t5|-|done|3|todo",
                "b|t1|t2|new|0|todo",
                "b|t2|-|open|0|done",
                "c|t2|t4|new|0|todo",
                "c|t4|-|new|4|todo",
            ]
        );
        db.finish().await;
    }

    /// The tables of `rows_updated_in_memory_…`, as a projection declares them.
    static HELD: [(&str, &str); 1] = [(
        "rm_things",
        "id TEXT PRIMARY KEY, name TEXT, size BIGINT, kind TEXT NOT NULL, done BOOLEAN",
    )];

    /// UPDATEs by key held in memory end as they would have run one by one: a key
    /// without a row stays without, `NULL + 1` stays `NULL`, a NULL boolean stays NULL, a
    /// read sees them, an upsert of the same key comes after them.
    async fn rows_updated_in_memory_end_as_the_updates_would(db: pharos_test_support::TestDb) {
        let mut conn = connect(&db).await;
        in_batch!(&mut conn, 1_000, |batch| {
            batch.upsert(UPSERT, thing("r1", "one", 1)).await.unwrap();
            batch.upsert(UPSERT, thing("r2", "two", 2)).await.unwrap();
            batch
                .execute(
                    "UPDATE rm_things SET size = NULL WHERE id = $1",
                    vec![Value::text("r2")],
                )
                .await
                .unwrap();
        });
        let sent = in_batch!(&mut conn, 1_000, &HELD, |batch| {
            for (key, name) in [("r1", "uno"), ("r2", "dos"), ("r9", "none")] {
                batch
                    .execute(
                        "UPDATE rm_things SET name = $2, size = size + 1 WHERE id = $1",
                        vec![Value::text(key), Value::text(name)],
                    )
                    .await
                    .unwrap();
            }
            batch
                .execute(
                    "UPDATE rm_things SET kind = 'z', size = size + $2 WHERE id = $1",
                    vec![Value::text("r1"), Value::Int(Some(10))],
                )
                .await
                .unwrap();
            let read = batch
                .text("SELECT name FROM rm_things WHERE id = $1", "r1")
                .await
                .unwrap();
            assert_eq!(read.as_deref(), Some("uno"));
            batch
                .execute(
                    "UPDATE rm_things SET name = $2 WHERE id = $1",
                    vec![Value::text("r1"), Value::text("eins")],
                )
                .await
                .unwrap();
            // A condition besides the key: r1's kind is no longer 'x', r2's is.
            for key in ["r1", "r2"] {
                batch
                    .execute(
                        "UPDATE rm_things SET kind = 'y' WHERE id = $1 AND kind = 'x'",
                        vec![Value::text(key)],
                    )
                    .await
                    .unwrap();
            }
            // The same key upserted: after the UPDATE held.
            batch.upsert(UPSERT, thing("r1", "last", 7)).await.unwrap();
            batch
                .execute(
                    "UPDATE rm_things SET name = $2 WHERE id = $1",
                    vec![Value::text("r2"), Value::text("zwei")],
                )
                .await
                .unwrap();
        });
        assert!(sent <= 10, "{sent} statements");
        assert_eq!(
            rows(&mut conn, "rm_things").await,
            ["r1|last|7", "r2|zwei|-"]
        );
        let kinds = "SELECT id || '|' || kind || '|' || COALESCE(CAST(done AS TEXT), 'null') \
             FROM rm_things ORDER BY id";
        let kinds = texts(&mut conn, kinds).await;
        assert_eq!(kinds, ["r1|z|null", "r2|y|null"]);
        db.finish().await;
    }

    /// Inserts of keys whose rows a batch read at once ([`Batch::preload`]) are made in
    /// memory and end as they would have run: `DO NOTHING` keeps a row there was,
    /// `DO UPDATE` sets its columns only, a column not named is NULL; an insert of a key
    /// not read runs as before.
    async fn inserts_of_preloaded_keys_end_as_the_inserts_would(db: pharos_test_support::TestDb) {
        let mut conn = connect(&db).await;
        let keep = "INSERT INTO rm_things (id, name, size, kind) VALUES ($1, $2, $3, 'x') \
             ON CONFLICT (id) DO NOTHING";
        in_batch!(&mut conn, 1_000, |batch| {
            batch.upsert(UPSERT, thing("r1", "one", 1)).await.unwrap();
            batch.upsert(UPSERT, thing("r2", "two", 2)).await.unwrap();
        });
        let sent = in_batch!(&mut conn, 1_000, &HELD, |batch| {
            batch
                .preload("rm_things", ["r1", "r3", "r4", "r1"].map(String::from))
                .await
                .unwrap();
            assert_eq!(batch.sent(), 1, "one read for every key");
            batch.upsert(keep, thing("r1", "nope", 9)).await.unwrap();
            batch.upsert(keep, thing("r3", "three", 3)).await.unwrap();
            batch
                .execute(
                    "UPDATE rm_things SET size = size + 1 WHERE id = $1",
                    vec![Value::text("r3")],
                )
                .await
                .unwrap();
            batch.upsert(UPSERT, thing("r4", "four", 4)).await.unwrap();
            batch.upsert(UPSERT, thing("r4", "vier", 5)).await.unwrap();
            assert_eq!(batch.sent(), 1, "made in memory");
            assert_eq!(
                batch
                    .row("rm_things", "r3", &["name", "size", "kind", "done"])
                    .await
                    .unwrap(),
                Some(vec![
                    Value::text("three"),
                    Value::Int(Some(4)),
                    Value::text("x"),
                    Value::NullableBool(None)
                ])
            );
            // Not read: queued as an upsert, and a key without a row reads as none.
            batch.upsert(UPSERT, thing("r2", "deux", 2)).await.unwrap();
            assert_eq!(batch.row("rm_things", "r9", &["name"]).await.unwrap(), None);
        });
        // The read, r2's queued upsert sent before r9's read, r9's read, the rows held.
        assert_eq!(sent, 4);
        assert_eq!(
            rows(&mut conn, "rm_things").await,
            ["r1|one|1", "r2|deux|2", "r3|three|4", "r4|vier|5"]
        );
        db.finish().await;
    }

    /// A read of many keys stays a search of the key's index as a table grows: first
    /// read often while it held a few rows (where PostgreSQL's kept plan was a sequential
    /// scan, as it was in a rebuild), then after it grew to thousands.
    async fn a_read_of_many_keys_finds_them_by_index_as_the_table_grows(
        db: pharos_test_support::TestDb,
    ) {
        let mut conn = connect(&db).await;
        in_batch!(&mut conn, 1_000, |batch| {
            for n in 0..20 {
                batch
                    .upsert(UPSERT, thing(&format!("k{n:05}"), "small", n))
                    .await
                    .unwrap();
            }
        });
        if let Conn::Postgres(c) = &mut conn {
            sqlx::query("ANALYZE rm_things").execute(c).await.unwrap();
        }
        let wanted = |from: i64| (from..from + 300).map(|n| format!("k{n:05}"));
        for _ in 0..8 {
            in_batch!(&mut conn, 1_000, &HELD, |batch| {
                batch.preload("rm_things", wanted(10)).await.unwrap();
            });
        }
        in_batch!(&mut conn, SQLITE_PARAMETERS, |batch| {
            for n in 20..20_000 {
                batch
                    .upsert(UPSERT, thing(&format!("k{n:05}"), "grown", n))
                    .await
                    .unwrap();
            }
        });
        in_batch!(&mut conn, 1_000, &HELD, |batch| {
            // Keys past the table's end too: most keys a rebuild reads have no row yet.
            batch.preload("rm_things", wanted(19_900)).await.unwrap();
            let columns = ["name", "size"];
            assert_eq!(
                batch.row("rm_things", "k19999", &columns).await.unwrap(),
                Some(vec![Value::text("grown"), Value::Int(Some(19_999))])
            );
            assert_eq!(
                batch.row("rm_things", "k20000", &columns).await.unwrap(),
                None
            );
            assert_eq!(batch.sent(), 1, "the rows read at once");
            if batch.is_postgres() {
                // Rows read by sequential scans in this transaction: the table's 20,000
                // when the read went through it.
                let scanned = batch
                    .text(
                        "SELECT CAST(seq_tup_read AS TEXT) FROM pg_stat_xact_user_tables \
                         WHERE relname = $1",
                        "rm_things",
                    )
                    .await
                    .unwrap();
                assert_eq!(scanned.as_deref(), Some("0"), "rm_things scanned whole");
            }
        });
        db.finish().await;
    }

    /// A DELETE by one column waits for no queued row of another value of it, and
    /// follows those of its value.
    async fn a_delete_by_a_column_commutes_with_rows_of_other_values(
        db: pharos_test_support::TestDb,
    ) {
        let mut conn = connect(&db).await;
        let delete = "DELETE FROM rm_things WHERE id = $1";
        let sent = in_batch!(&mut conn, 1_000, |batch| {
            batch.upsert(UPSERT, thing("d1", "one", 1)).await.unwrap();
            batch.upsert(UPSERT, thing("d2", "two", 2)).await.unwrap();
            batch
                .execute(delete, vec![Value::text("d9")])
                .await
                .unwrap();
            assert_eq!(batch.sent(), 1, "the rows stay queued");
            batch.upsert(UPSERT, thing("d3", "three", 3)).await.unwrap();
            batch
                .execute(delete, vec![Value::text("d2")])
                .await
                .unwrap();
            assert_eq!(batch.sent(), 3, "the rows went first");
        });
        assert_eq!(sent, 3);
        assert_eq!(
            rows(&mut conn, "rm_things").await,
            ["d1|one|1", "d3|three|3"]
        );
        db.finish().await;
    }

    /// A row of a key its statement has queued is folded into the queued row, and the
    /// table ends as the two rows in turn would leave it: with a row there before and
    /// without, for `DO UPDATE` of every column or some, and `DO NOTHING`. An action that
    /// reads the row there is not folded.
    async fn a_key_queued_again_folds_into_its_row(db: pharos_test_support::TestDb) {
        let mut conn = connect(&db).await;
        let some = "INSERT INTO rm_things (id, name, size, kind) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET size = excluded.size";
        let keep = "INSERT INTO rm_things (id, name, size, kind) VALUES ($1, $2, $3, 'k') \
             ON CONFLICT (id) DO NOTHING";
        let add = "INSERT INTO rm_others (id, n) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET n = rm_others.n + excluded.n";
        let with_kind = |id: &str, name: &str, size: i64, kind: &str| {
            let mut values = thing(id, name, size);
            values.push(Value::text(kind));
            values
        };
        in_batch!(&mut conn, 1_000, |batch| {
            batch
                .upsert(UPSERT, thing("there", "old", 0))
                .await
                .unwrap();
            batch.upsert(keep, thing("kept", "old", 0)).await.unwrap();
            batch
                .upsert(some, with_kind("partly", "old", 0, "p"))
                .await
                .unwrap();
        });
        let sent = in_batch!(&mut conn, 1_000, |batch| {
            for (id, name, size) in [
                ("there", "first", 1),
                ("new", "first", 1),
                ("there", "second", 2),
                ("new", "second", 2),
            ] {
                batch.upsert(UPSERT, thing(id, name, size)).await.unwrap();
            }
            for (id, name, size, kind) in [
                ("partly", "first", 1, "a"),
                ("partial", "first", 1, "a"),
                ("partly", "second", 2, "b"),
                ("partial", "second", 2, "b"),
            ] {
                batch
                    .upsert(some, with_kind(id, name, size, kind))
                    .await
                    .unwrap();
            }
            for (id, name) in [
                ("kept", "first"),
                ("none", "first"),
                ("kept", "second"),
                ("none", "second"),
            ] {
                batch.upsert(keep, thing(id, name, 1)).await.unwrap();
            }
            for n in [1, 2] {
                batch
                    .upsert(add, vec![Value::text("sum"), Value::Int(Some(n))])
                    .await
                    .unwrap();
            }
        });
        // One statement per statement text, but the two additions to one key.
        assert_eq!(sent, 5);
        assert_eq!(
            rows(&mut conn, "rm_things").await,
            [
                "kept|old|0",
                "new|second|2",
                "none|first|1",
                "partial|first|2",
                "partly|old|2",
                "there|second|2",
            ]
        );
        let kinds = "SELECT id || '|' || kind FROM rm_things ORDER BY id";
        let kinds = texts(&mut conn, kinds).await;
        assert_eq!(
            kinds,
            [
                "kept|k",
                "new|x",
                "none|k",
                "partial|a",
                "partly|p",
                "there|x"
            ]
        );
        assert_eq!(
            texts(
                &mut conn,
                "SELECT id || '|' || CAST(n AS TEXT) FROM rm_others ORDER BY id"
            )
            .await,
            ["sum|3"]
        );
        db.finish().await;
    }

    pharos_test_support::on_both_backends!(
        "pharos-rm-batch";
        a_key_queued_again_folds_into_its_row,
        a_delete_by_a_column_commutes_with_rows_of_other_values,
        inserts_of_preloaded_keys_end_as_the_inserts_would,
        a_read_of_many_keys_finds_them_by_index_as_the_table_grows,
        rows_updated_in_memory_end_as_the_updates_would,
        rows_of_one_upsert_go_out_together,
        order_of_effects_is_the_statements_order,
        facts_changed_in_memory_are_written_as_periods,
    );
}
