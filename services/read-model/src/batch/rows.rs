//! Rows updated in memory within a batch. An `UPDATE t SET c = … WHERE key = $1` on a
//! table of one-column key, whose values are binds, literals or `c + n`, reads its row
//! once per batch and changes it in memory; the rows changed go out as multi-row upserts
//! of every column when the batch ends, or before another statement naming their table,
//! or before a row of the same key is queued. A session's status changes, say, then cost
//! no round trip each.
//!
//! The effect is the UPDATE's: a key without a row is left without one, `NULL + n` stays
//! `NULL`, and no other statement sees the table before the rows are written.

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

/// A table's columns, its key's index among them.
#[derive(Debug)]
struct Shape {
    columns: Vec<(String, Type)>,
    key: usize,
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
                Some((*name, Arc::new(Shape { columns, key })))
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

    /// Reads the row of `table` with `key` into memory (or notes that there is none).
    async fn load_row(&mut self, table: &'static str, key: &str) -> Result<(), ProjectionError> {
        let Some(shape) = self.rows.shapes.get(table).cloned() else {
            return Ok(());
        };
        let renamed = match self.rows.held.get(table) {
            Some(held) => held.renamed.clone(),
            None => (self.rename)(table),
        };
        let names: Vec<&str> = shape.columns.iter().map(|(c, _)| c.as_str()).collect();
        let select = format!(
            "SELECT {} FROM {renamed} WHERE {} = $1",
            names.join(", "),
            names[shape.key]
        );
        let types: Vec<Type> = shape.columns.iter().map(|(_, t)| *t).collect();
        // What is queued for the table first; facts held of it too (none are: a list
        // table is no fact table, but the rule is the batch's).
        for fact in self.facts.named(&renamed) {
            self.emit_facts(fact).await?;
        }
        self.send_named(&renamed).await?;
        self.sent += 1;
        let row = match &mut *self.tx {
            ProjectionTx::Postgres(c) => sqlx::query(sqlx::AssertSqlSafe(select))
                .bind(key)
                .fetch_optional(&mut **c)
                .await?
                .map(|row| decode_values(&row, &types, 0))
                .transpose()?,
            ProjectionTx::Sqlite(c) => sqlx::query(sqlx::AssertSqlSafe(select))
                .bind(key)
                .fetch_optional(&mut **c)
                .await?
                .map(|row| decode_values(&row, &types, 0))
                .transpose()?,
        };
        self.rows
            .held
            .entry(table)
            .or_insert_with(|| Held {
                renamed,
                shape,
                rows: HashMap::new(),
            })
            .rows
            .insert(
                key.to_owned(),
                row.map(|values| Row {
                    values,
                    changed: false,
                }),
            );
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
}
