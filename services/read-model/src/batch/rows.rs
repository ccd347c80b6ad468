//! Rows updated in memory within a batch. An `UPDATE t SET c = … WHERE key = $1` on a
//! table of one-column key, whose values are binds, literals or `c + n`, reads its row
//! once per batch and changes it in memory; the rows changed go out as multi-row upserts
//! of every column when the batch ends, or before another statement naming their table,
//! or before a row of the same key is queued. A session's status changes, say, then cost
//! no round trip each.
//!
//! The effect is the UPDATE's: a key without a row is left without one, `NULL + n` stays
//! `NULL`, and no other statement sees the table before the rows are written.
//!
//! A batch may read the rows of many keys at once ([`Batch::preload`]: the projector reads
//! those of its events' streams in one statement per table). An insert of a key whose
//! row (or whose absence) memory holds is then made in memory too ([`Insert`]), and a
//! stream created and changed within one batch costs no round trip at all.

use std::collections::HashMap;
use std::sync::Arc;

use pharos_eventstore::{ProjectionError, ProjectionTx};

use super::facts::{Type, columns_of, decode_values};
use super::{Batch, Value, split_top};

/// What an assignment gives its column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Given {
    /// The statement's `values[n]`.
    Bind(usize),
    Literal(Value),
    /// The column plus the statement's `values[n]`.
    AddBind(usize),
    /// The column plus a number.
    Add(i64),
}

/// An `UPDATE t SET … WHERE key = $1` taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Update {
    /// The table as given (not renamed).
    table: &'static str,
    /// (column index, value) of each assignment.
    sets: Vec<(usize, Given)>,
    /// (column index, value) the row must hold besides its key (`AND c = …`).
    only_if: Vec<(usize, Given)>,
    /// How many values the statement binds.
    values: usize,
}

/// An `INSERT INTO t (…) VALUES (…) ON CONFLICT (key) DO NOTHING` (or `DO UPDATE SET
/// c = excluded.c, …`) of a held table, taken apart: what it gives each column.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Insert {
    table: &'static str,
    /// Each column's value, in the table's order (a column not named: its NULL).
    row: Vec<Given>,
    /// The columns a conflict sets to the new row's (none: `DO NOTHING`).
    on_conflict: Vec<usize>,
    /// How many values the statement binds.
    values: usize,
}

impl Insert {
    /// How many values the statement binds.
    pub(super) fn values(&self) -> usize {
        self.values
    }
}

/// A table's columns, its key's index among them, which columns may be NULL.
#[derive(Debug)]
struct Shape {
    columns: Vec<(String, Type)>,
    key: usize,
    nullable: Vec<bool>,
}

/// Whether `value` can be held in a column of `kind`, as [`decode_values`] reads one back.
fn fits(value: &Value, kind: Type) -> bool {
    matches!(
        (value, kind),
        (Value::Text(_), Type::Text)
            | (Value::Int(_), Type::Int)
            | (Value::Bool(_) | Value::NullableBool(_), Type::Bool)
    )
}

/// `value` as a column of `kind` reads it back: a boolean given is never a nullable one.
fn as_read(value: &Value) -> Value {
    match value {
        Value::NullableBool(Some(b)) => Value::Bool(*b),
        other => other.clone(),
    }
}

/// A column of `kind`'s NULL, as [`decode_values`] reads it back.
pub(super) fn null(kind: Type) -> Value {
    match kind {
        Type::Text => Value::Text(None),
        Type::Int => Value::Int(None),
        Type::Bool => Value::NullableBool(None),
    }
}

/// A literal's value: `TRUE`, `FALSE`, an integer, a text without quotes inside.
fn literal(value: &str) -> Option<Value> {
    if value == "TRUE" || value == "FALSE" {
        return Some(Value::Bool(value == "TRUE"));
    }
    if let Ok(n) = value.parse::<i64>() {
        return Some(Value::Int(Some(n)));
    }
    let text = value.strip_prefix('\'')?.strip_suffix('\'')?;
    (!text.contains('\'')).then(|| Value::text(text))
}

impl Update {
    /// How many values the statement binds.
    pub(super) fn values(&self) -> usize {
        self.values
    }
}

/// The tables a batch may hold rows of in memory, and the rows it holds.
#[derive(Default)]
pub(super) struct Rows {
    shapes: HashMap<&'static str, Arc<Shape>>,
    /// Table as given → key → its row (`None`: no row has that key).
    held: HashMap<&'static str, Held>,
}

struct Held {
    renamed: String,
    shape: Arc<Shape>,
    rows: HashMap<String, Option<Row>>,
}

struct Row {
    values: Vec<Value>,
    changed: bool,
}

impl Rows {
    /// Rows of `tables` (name, definition) may be held; those with a one-column key only.
    pub(super) fn new(tables: &'static [(&'static str, &'static str)]) -> Self {
        let shapes = tables
            .iter()
            .filter_map(|(name, definition)| {
                let columns = columns_of(definition);
                let keyed: Vec<usize> = split_top(definition)
                    .iter()
                    .enumerate()
                    .filter(|(_, part)| part.contains("PRIMARY KEY"))
                    .map(|(at, _)| at)
                    .collect();
                // `c TEXT PRIMARY KEY`, not `PRIMARY KEY (a, b)`.
                let [key] = keyed[..] else { return None };
                let word = split_top(definition)[key].split_whitespace().next()?;
                let key = columns.iter().position(|(name, _)| name == word)?;
                let nullable = columns
                    .iter()
                    .map(|(name, _)| {
                        split_top(definition).iter().any(|part| {
                            part.split_whitespace().next() == Some(name.as_str())
                                && !part.contains("NOT NULL")
                                && !part.contains("PRIMARY KEY")
                        })
                    })
                    .collect();
                Some((
                    *name,
                    Arc::new(Shape {
                        columns,
                        key,
                        nullable,
                    }),
                ))
            })
            .collect();
        Self {
            shapes,
            held: HashMap::new(),
        }
    }

    /// `statement` taken apart, if it is an UPDATE these rows can take.
    pub(super) fn parse(&self, statement: &str) -> Option<Update> {
        let rest = statement.strip_prefix("UPDATE ")?;
        let (table, rest) = rest.split_once(" SET ")?;
        let (&table, shape) = self.shapes.get_key_value(table.trim())?;
        let (sets, filter) = rest.rsplit_once(" WHERE ")?;
        let mut filter = filter.split(" AND ");
        let (column, bind) = filter.next()?.split_once('=')?;
        if column.trim() != shape.columns[shape.key].0 || bind.trim() != "$1" {
            return None;
        }
        let bind = |text: &str| -> Option<usize> {
            let n: usize = text.strip_prefix('$')?.parse().ok()?;
            (n >= 2).then_some(n - 1)
        };
        let mut highest = 1;
        let mut only_if = Vec::new();
        for condition in filter {
            let (name, value) = condition.split_once('=')?;
            let at = shape.columns.iter().position(|(c, _)| c == name.trim())?;
            let given = match literal(value.trim()) {
                Some(value) => Given::Literal(value),
                None => Given::Bind(bind(value.trim())?),
            };
            if let Given::Bind(n) = given {
                highest = highest.max(n + 1);
            }
            only_if.push((at, given));
        }
        let mut parsed = Vec::new();
        for part in split_top(sets) {
            let (name, value) = part.split_once('=')?;
            let (name, value) = (name.trim(), value.trim());
            let at = shape.columns.iter().position(|(c, _)| c == name)?;
            let given = if let Some(n) = bind(value) {
                Given::Bind(n)
            } else if let Some(added) = value
                .strip_prefix(name)
                .and_then(|v| v.trim_start().strip_prefix('+'))
            {
                let added = added.trim();
                match bind(added) {
                    Some(n) => Given::AddBind(n),
                    None => Given::Add(added.parse().ok()?),
                }
            } else {
                Given::Literal(literal(value)?)
            };
            if let Given::Bind(n) | Given::AddBind(n) = given {
                highest = highest.max(n + 1);
            }
            parsed.push((at, given));
        }
        Some(Update {
            table,
            only_if,
            sets: parsed,
            values: highest,
        })
    }

    /// `statement` taken apart, if it is an insert these rows can take: its conflict
    /// target the table's key, given as a bind; each value a bind or a literal; every
    /// column not named nullable; on a conflict nothing, or columns set to the new row's.
    pub(super) fn parse_insert(&self, statement: &str) -> Option<Insert> {
        let rest = statement.strip_prefix("INSERT INTO ")?;
        let (table, _) = rest.split_once(" (")?;
        let (&table, shape) = self.shapes.get_key_value(table.trim())?;
        let at = statement.find(" VALUES (")? + " VALUES ".len();
        let names: Vec<&str> = super::inside(&statement[..at])?
            .split(',')
            .map(str::trim)
            .collect();
        let after = &statement[at..];
        let end = super::closing(after)?;
        let expressions = split_top(&after[1..end]);
        let (target, action) = after[end + 1..]
            .trim()
            .strip_prefix("ON CONFLICT (")?
            .split_once(')')?;
        if target.trim() != shape.columns[shape.key].0 || names.len() != expressions.len() {
            return None;
        }
        let column = |name: &str| shape.columns.iter().position(|(c, _)| c == name);
        let action = action.trim();
        let on_conflict = if action == "DO NOTHING" {
            Vec::new()
        } else {
            split_top(action.strip_prefix("DO UPDATE SET ")?)
                .into_iter()
                .map(|part| {
                    let (name, value) = part.split_once('=')?;
                    let name = name.trim();
                    (value.trim().strip_prefix("excluded.")? == name).then_some(())?;
                    column(name).filter(|at| *at != shape.key)
                })
                .collect::<Option<Vec<_>>>()?
        };
        let mut row: Vec<Option<Given>> = vec![None; shape.columns.len()];
        let mut values = 0;
        for (name, expression) in names.iter().zip(&expressions) {
            let at = column(name)?;
            let expression = expression.trim();
            let given = match expression.strip_prefix('$') {
                Some(n) => {
                    let n: usize = n.parse().ok()?;
                    values = values.max(n);
                    Given::Bind(n.checked_sub(1)?)
                }
                None => {
                    let value = literal(expression)?;
                    fits(&value, shape.columns[at].1).then_some(Given::Literal(value))?
                }
            };
            if row[at].replace(given).is_some() {
                return None;
            }
        }
        let row = row
            .into_iter()
            .enumerate()
            .map(|(at, given)| {
                given.or_else(|| {
                    shape.nullable[at].then(|| Given::Literal(null(shape.columns[at].1)))
                })
            })
            .collect::<Option<Vec<_>>>()?;
        matches!(row[shape.key], Given::Bind(_)).then_some(())?;
        Some(Insert {
            table,
            row,
            on_conflict,
            values,
        })
    }

    /// The held tables `statement` (renamed) names.
    pub(super) fn named(&self, statement: &str) -> Vec<&'static str> {
        self.held
            .iter()
            .filter(|(_, h)| super::names(statement, &h.renamed))
            .map(|(name, _)| *name)
            .collect()
    }

    pub(super) fn tables(&self) -> Vec<&'static str> {
        self.held.keys().copied().collect()
    }

    /// Whether a row of `table` (renamed) with `key` is held.
    pub(super) fn holds(&self, renamed: &str, key: &Value) -> Option<(&'static str, String)> {
        let Value::Text(Some(key)) = key else {
            return None;
        };
        self.held
            .iter()
            .find(|(_, h)| h.renamed == renamed && h.rows.contains_key(key))
            .map(|(name, _)| (*name, key.clone()))
    }
}

impl Batch<'_, '_> {
    /// Runs `update` on `values` in memory ([`Rows`]).
    pub(super) async fn update_row(
        &mut self,
        update: &Update,
        values: Vec<Value>,
    ) -> Result<(), ProjectionError> {
        // `execute` sends here the UPDATEs whose key is a text only.
        let Some(Value::Text(Some(key))) = values.first() else {
            return Err("an UPDATE held in memory needs a text key".into());
        };
        let key = key.clone();
        if !self
            .rows
            .held
            .get(update.table)
            .is_some_and(|h| h.rows.contains_key(&key))
        {
            self.load_row(update.table, &key).await?;
        }
        let Some(held) = self.rows.held.get_mut(update.table) else {
            return Ok(());
        };
        let Some(Some(row)) = held.rows.get_mut(&key) else {
            return Ok(());
        };
        // `c = x` holds when both are the same value, never for a NULL.
        let holds = update.only_if.iter().all(|(at, given)| {
            let wanted = match given {
                Given::Bind(n) => &values[*n],
                Given::Literal(value) => value,
                Given::Add(_) | Given::AddBind(_) => return false,
            };
            !matches!(
                wanted,
                Value::Text(None) | Value::Int(None) | Value::NullableBool(None)
            ) && row.values[*at] == *wanted
        });
        if !holds {
            return Ok(());
        }
        let add = |old: &Value, n: Option<i64>| match (old, n) {
            (Value::Int(Some(old)), Some(n)) => Value::Int(old.checked_add(n)),
            _ => Value::Int(None),
        };
        let mut next = row.values.clone();
        for (at, given) in &update.sets {
            // Every right-hand side reads the row as it was before the UPDATE.
            next[*at] = match given {
                Given::Bind(n) => values[*n].clone(),
                Given::Literal(value) => value.clone(),
                Given::Add(n) => add(&row.values[*at], Some(*n)),
                Given::AddBind(n) => match &values[*n] {
                    Value::Int(n) => add(&row.values[*at], *n),
                    _ => Value::Int(None),
                },
            };
        }
        row.values = next;
        row.changed = true;
        Ok(())
    }

    /// Makes `insert` in memory, if memory holds the row of its key or its absence
    /// (whether it was taken).
    pub(super) fn insert_row(&mut self, insert: &Insert, values: &[Value]) -> bool {
        let Some(held) = self.rows.held.get_mut(insert.table) else {
            return false;
        };
        let Given::Bind(key) = insert.row[held.shape.key] else {
            return false;
        };
        let Some(Value::Text(Some(key))) = values.get(key) else {
            return false;
        };
        let Some(slot) = held.rows.get_mut(key) else {
            return false;
        };
        let mut new = Vec::with_capacity(insert.row.len());
        for (given, (_, kind)) in insert.row.iter().zip(&held.shape.columns) {
            let value = match given {
                Given::Bind(n) => as_read(&values[*n]),
                Given::Literal(value) => value.clone(),
                Given::Add(_) | Given::AddBind(_) => return false,
            };
            if !fits(&value, *kind) {
                return false;
            }
            new.push(value);
        }
        match slot {
            None => {
                *slot = Some(Row {
                    values: new,
                    changed: true,
                });
            }
            Some(row) => {
                for at in &insert.on_conflict {
                    row.values[*at] = new[*at].clone();
                }
                row.changed |= !insert.on_conflict.is_empty();
            }
        }
        true
    }

    /// The `columns` of the row of `table` with `key` (`None`: no row has it), read into
    /// memory unless held.
    pub async fn row(
        &mut self,
        table: &'static str,
        key: &str,
        columns: &[&str],
    ) -> Result<Option<Vec<Value>>, ProjectionError> {
        if !self
            .rows
            .held
            .get(table)
            .is_some_and(|h| h.rows.contains_key(key))
        {
            self.load_row(table, key).await?;
        }
        let Some(held) = self.rows.held.get(table) else {
            return Err(format!("{table} is not a table whose rows are held").into());
        };
        let Some(Some(row)) = held.rows.get(key) else {
            return Ok(None);
        };
        columns
            .iter()
            .map(|name| {
                held.shape
                    .columns
                    .iter()
                    .position(|(c, _)| c == name)
                    .map(|at| row.values[at].clone())
                    .ok_or_else(|| format!("{table} has no column {name}").into())
            })
            .collect::<Result<Vec<_>, ProjectionError>>()
            .map(Some)
    }

    /// Reads the row of `table` with `key` into memory (or notes that there is none).
    async fn load_row(&mut self, table: &'static str, key: &str) -> Result<(), ProjectionError> {
        self.preload(table, [key.to_owned()]).await
    }

    /// Reads into memory, in one statement, the rows of `table` with `keys` that it does
    /// not hold yet, and notes the keys that have none: the inserts and updates of those
    /// keys then cost no round trip until the batch writes them.
    pub async fn preload(
        &mut self,
        table: &'static str,
        keys: impl IntoIterator<Item = String>,
    ) -> Result<(), ProjectionError> {
        let Some(shape) = self.rows.shapes.get(table).cloned() else {
            return Ok(());
        };
        let held = self.rows.held.get(table);
        let mut keys: Vec<String> = keys
            .into_iter()
            .filter(|k| !held.is_some_and(|h| h.rows.contains_key(k)))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(());
        }
        let renamed = match held {
            Some(held) => held.renamed.clone(),
            None => (self.rename)(table),
        };
        let names: Vec<&str> = shape.columns.iter().map(|(c, _)| c.as_str()).collect();
        let key = names[shape.key];
        let types: Vec<Type> = shape.columns.iter().map(|(_, t)| *t).collect();
        // What is queued for the table first; facts held of it too (none are: a list
        // table is no fact table, but the rule is the batch's).
        for fact in self.facts.named(&renamed) {
            self.emit_facts(fact).await?;
        }
        self.send_named(&renamed).await?;
        self.sent += 1;
        let select = format!(
            "SELECT {} FROM {renamed} WHERE {key} = ANY($1)",
            names.join(", ")
        );
        let found = match &mut *self.tx {
            ProjectionTx::Postgres(c) => super::any_pg(&select, &keys)
                .fetch_all(&mut **c)
                .await?
                .iter()
                .map(|row| decode_values(row, &types, 0))
                .collect::<Result<Vec<_>, _>>()?,
            ProjectionTx::Sqlite(c) => {
                let (select, list) = super::any_sqlite(&select, &keys)?;
                sqlx::query(sqlx::AssertSqlSafe(select))
                    .bind(list)
                    .fetch_all(&mut **c)
                    .await?
                    .iter()
                    .map(|row| decode_values(row, &types, 0))
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let held = &mut self
            .rows
            .held
            .entry(table)
            .or_insert_with(|| Held {
                renamed,
                shape: shape.clone(),
                rows: HashMap::new(),
            })
            .rows;
        for key in keys {
            held.insert(key, None);
        }
        for values in found {
            if let Value::Text(Some(key)) = &values[shape.key] {
                held.insert(
                    key.clone(),
                    Some(Row {
                        values,
                        changed: false,
                    }),
                );
            }
        }
        Ok(())
    }

    /// Queues the rows of `table` changed in memory (those of `only` key, or all), and
    /// forgets them.
    pub(super) async fn emit_rows(
        &mut self,
        table: &'static str,
        only: Option<&str>,
    ) -> Result<(), ProjectionError> {
        let Some(held) = self.rows.held.get_mut(table) else {
            return Ok(());
        };
        let rows: Vec<Row> = match only {
            Some(key) => held.rows.remove(key).into_iter().flatten().collect(),
            None => std::mem::take(&mut held.rows)
                .into_values()
                .flatten()
                .collect(),
        };
        let shape = held.shape.clone();
        if held.rows.is_empty() {
            self.rows.held.remove(table);
        }
        let names: Vec<&str> = shape.columns.iter().map(|(c, _)| c.as_str()).collect();
        let statement = format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
            names.join(", "),
            (1..=names.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", "),
            names[shape.key],
            names
                .iter()
                .enumerate()
                .filter(|(at, _)| *at != shape.key)
                .map(|(_, c)| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let (text, upsert) = self.know(&statement);
        let upsert = upsert.ok_or_else(|| format!("not an upsert: {statement}"))?;
        for row in rows.into_iter().filter(|r| r.changed) {
            self.enqueue(text.clone(), upsert.clone(), row.values)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static TABLES: [(&str, &str); 2] = [
        (
            "rm_things",
            "id TEXT PRIMARY KEY, status TEXT NOT NULL, n BIGINT, done BOOLEAN NOT NULL",
        ),
        (
            "rm_pairs",
            "a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b)",
        ),
    ];

    #[test]
    fn updates_of_values_by_key_are_taken_and_others_left_to_sql() {
        let rows = Rows::new(&TABLES);
        assert_eq!(
            rows.parse("UPDATE rm_things SET status = $2, n = n + 1, done = TRUE WHERE id = $1"),
            Some(Update {
                table: "rm_things",
                only_if: vec![],
                sets: vec![
                    (1, Given::Bind(1)),
                    (2, Given::Add(1)),
                    (3, Given::Literal(Value::Bool(true))),
                ],
                values: 2,
            })
        );
        assert_eq!(
            rows.parse("UPDATE rm_things SET status = 'held', n = n + $3 WHERE id = $1")
                .map(|u| (u.sets, u.values)),
            Some((
                vec![
                    (1, Given::Literal(Value::text("held"))),
                    (2, Given::AddBind(2))
                ],
                3
            ))
        );
        assert_eq!(
            rows.parse("UPDATE rm_things SET status = 'held' WHERE id = $1 AND status = 'open'")
                .map(|u| (u.only_if, u.values)),
            Some((vec![(1, Given::Literal(Value::text("open")))], 1))
        );
        for other in [
            // Not by its key, or with a condition other than an equality.
            "UPDATE rm_things SET status = $2 WHERE status = $1",
            "UPDATE rm_things SET status = $2 WHERE id = $1 AND n > 3",
            "UPDATE rm_things SET status = $2 WHERE id = $1 OR status = 'open'",
            // Expressions.
            "UPDATE rm_things SET status = CASE WHEN n > 0 THEN 'a' ELSE 'b' END WHERE id = $1",
            "UPDATE rm_things SET n = COALESCE($2, n) WHERE id = $1",
            "UPDATE rm_things SET status = 'it''s' WHERE id = $1",
            "UPDATE rm_things SET n = done + 1 WHERE id = $1",
            // A table of two-column key, a table unknown.
            "UPDATE rm_pairs SET b = $2 WHERE a = $1",
            "UPDATE rm_others SET n = $2 WHERE id = $1",
        ] {
            assert_eq!(rows.parse(other), None, "{other}");
        }
    }

    #[test]
    fn inserts_of_binds_and_literals_by_key_are_taken_and_others_left_to_sql() {
        let rows = Rows::new(&TABLES);
        assert_eq!(
            rows.parse_insert(
                "INSERT INTO rm_things (id, status, done) VALUES ($1, 'open', $2) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            Some(Insert {
                table: "rm_things",
                row: vec![
                    Given::Bind(0),
                    Given::Literal(Value::text("open")),
                    Given::Literal(Value::Int(None)),
                    Given::Bind(1),
                ],
                on_conflict: vec![],
                values: 2,
            })
        );
        assert_eq!(
            rows.parse_insert(
                "INSERT INTO rm_things (id, status, n, done) VALUES ($1, $2, 0, FALSE) \
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, n = excluded.n"
            )
            .map(|i| (i.on_conflict, i.values)),
            Some((vec![1, 2], 2))
        );
        for other in [
            // A NOT NULL column not given, a literal of another type, an expression.
            "INSERT INTO rm_things (id, n) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING",
            "INSERT INTO rm_things (id, status, done) VALUES ($1, 3, TRUE) \
             ON CONFLICT (id) DO NOTHING",
            "INSERT INTO rm_things (id, status, done) VALUES ($1, lower($2), TRUE) \
             ON CONFLICT (id) DO NOTHING",
            // A key given as a literal, a conflict on another column, an update of
            // another kind, no conflict clause.
            "INSERT INTO rm_things (id, status, done) VALUES ('k', $1, TRUE) \
             ON CONFLICT (id) DO NOTHING",
            "INSERT INTO rm_things (id, status, done) VALUES ($1, $2, TRUE) \
             ON CONFLICT (status) DO NOTHING",
            "INSERT INTO rm_things (id, status, done) VALUES ($1, $2, TRUE) \
             ON CONFLICT (id) DO UPDATE SET n = rm_things.n + 1",
            "INSERT INTO rm_things (id, status, done) VALUES ($1, $2, TRUE)",
            // A table of two-column key.
            "INSERT INTO rm_pairs (a, b) VALUES ($1, $2) ON CONFLICT (a, b) DO NOTHING",
        ] {
            assert_eq!(rows.parse_insert(other), None, "{other}");
        }
    }
}
