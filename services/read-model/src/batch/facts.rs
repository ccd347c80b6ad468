//! Fact rows changed in memory within a batch (the indicator tables' validity periods,
//! see `crate::indicators`). A subject's open row is read once per batch; each change
//! closes the period in memory and opens its successor; the periods changed go out as
//! multi-row upserts when the batch ends, or before any statement naming their table.
//! A change then costs no round trip, where the SQL change costs one per event.
//!
//! The rows written are those the SQL change writes: the period open before the change
//! gets `valid_to`, the successor starts at the change's instant with the old values and
//! the new ones; a change at or before the open period's start changes it in place.

use std::collections::HashMap;

use pharos_eventstore::{ProjectionError, ProjectionTx};
use sqlx::Row;

use super::{Batch, Value, split_top};

/// How a fact column is read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    Text,
    Int,
    Bool,
}

/// One period of a subject's facts: its values, after `subject, valid_from, valid_to`.
#[derive(Debug, Clone)]
struct Period {
    valid_from: String,
    valid_to: Option<String>,
    values: Vec<Value>,
    changed: bool,
}

/// A fact table's periods held in memory.
struct Table {
    /// Its name in this generation.
    renamed: String,
    /// Its columns after `subject, valid_from, valid_to`.
    columns: Vec<(String, Type)>,
    /// Whether each of `columns` may be NULL.
    nullable: Vec<bool>,
    /// The subjects read or changed in this batch: their periods, the open one last;
    /// none when the subject has no open row.
    subjects: HashMap<String, Vec<Period>>,
}

/// The fact tables a batch holds in memory.
#[derive(Default)]
pub(super) struct Facts {
    tables: HashMap<&'static str, Table>,
}

impl Facts {
    /// The cached tables `statement` (renamed) names.
    pub(super) fn named(&self, statement: &str) -> Vec<&'static str> {
        self.tables
            .iter()
            .filter(|(_, t)| super::names(statement, &t.renamed))
            .map(|(name, _)| *name)
            .collect()
    }

    pub(super) fn tables(&self) -> Vec<&'static str> {
        self.tables.keys().copied().collect()
    }
}

/// A period's values, set by column name.
pub struct FactRow<'a> {
    columns: &'a [(String, Type)],
    values: &'a mut [Value],
}

impl FactRow<'_> {
    /// Sets `column` (a column of the table's definition, after its validity) to `value`.
    pub fn set(&mut self, column: &str, value: Value) {
        let at = self.columns.iter().position(|(name, _)| name == column);
        debug_assert!(at.is_some(), "no fact column {column}");
        if let Some(at) = at {
            self.values[at] = value;
        }
    }
}

/// The typed columns of a table's `definition`.
pub(super) fn columns_of(definition: &str) -> Vec<(String, Type)> {
    split_top(definition)
        .into_iter()
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let name = words.next()?;
            let kind = match words.next()? {
                "BIGINT" | "INTEGER" => Type::Int,
                "BOOLEAN" => Type::Bool,
                "TEXT" => Type::Text,
                _ => return None,
            };
            Some((name.to_owned(), kind))
        })
        .collect()
}

/// Whether `column` of the table's `definition` may be NULL.
fn nullable(definition: &str, column: &str) -> bool {
    split_top(definition).into_iter().any(|part| {
        let mut words = part.split_whitespace();
        words.next() == Some(column) && !part.contains("NOT NULL") && !part.contains("PRIMARY KEY")
    })
}

/// The columns of a fact table's `definition` after `subject, valid_from, valid_to`.
fn columns(definition: &str) -> Vec<(String, Type)> {
    columns_of(definition)
        .into_iter()
        .filter(|(name, _)| !["subject", "valid_from", "valid_to"].contains(&name.as_str()))
        .collect()
}

impl Batch<'_, '_> {
    fn fact_table(&mut self, table: &'static str, definition: &str) -> &mut Table {
        let rename = &self.rename;
        self.facts.tables.entry(table).or_insert_with(|| {
            let columns = columns(definition);
            Table {
                renamed: rename(table),
                nullable: columns
                    .iter()
                    .map(|(name, _)| nullable(definition, name))
                    .collect(),
                columns,
                subjects: HashMap::new(),
            }
        })
    }

    /// Reads into memory the open rows of fact `table` whose `column` is `value`, for the
    /// subjects not already there; with `column` = `subject`, notes a subject without one.
    pub async fn load_facts(
        &mut self,
        table: &'static str,
        definition: &str,
        column: &str,
        value: &str,
    ) -> Result<(), ProjectionError> {
        self.load_facts_of(table, definition, column, &[value.to_owned()])
            .await
    }

    /// [`Batch::load_facts`] of every value of `values`, in one statement.
    pub async fn load_facts_of(
        &mut self,
        table: &'static str,
        definition: &str,
        column: &str,
        values: &[String],
    ) -> Result<(), ProjectionError> {
        if values.is_empty() {
            return Ok(());
        }
        let t = self.fact_table(table, definition);
        let renamed = t.renamed.clone();
        let types: Vec<Type> = t.columns.iter().map(|(_, kind)| *kind).collect();
        let select = format!(
            "SELECT subject, valid_from, {} FROM {renamed} WHERE {column} = ANY($1) \
             AND valid_to IS NULL ORDER BY subject, valid_from",
            t.columns
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        // The rows queued for the table go first; the periods in memory are of other
        // subjects and may wait.
        self.send_named(&renamed).await?;
        self.sent += 1;
        let read: Vec<(String, Period)> = match &mut *self.tx {
            ProjectionTx::Postgres(c) => super::any_pg(&select, values)
                .fetch_all(&mut **c)
                .await?
                .iter()
                .map(|row| period(row, &types))
                .collect::<Result<_, sqlx::Error>>()?,
            ProjectionTx::Sqlite(c) => {
                let (select, list) = super::any_sqlite(&select, values)?;
                sqlx::query(sqlx::AssertSqlSafe(select))
                    .bind(list)
                    .fetch_all(&mut **c)
                    .await?
                    .iter()
                    .map(|row| period(row, &types))
                    .collect::<Result<_, sqlx::Error>>()?
            }
        };
        let subjects = &mut self.fact_table(table, definition).subjects;
        // Several open rows of one subject (none is ever made): the latest holds.
        let read: HashMap<String, Period> = read.into_iter().collect();
        if column == "subject" {
            for value in values {
                if !read.contains_key(value) {
                    subjects.entry(value.clone()).or_default();
                }
            }
        }
        for (subject, open) in read {
            subjects.entry(subject).or_insert_with(|| vec![open]);
        }
        Ok(())
    }

    /// Notes that `subject` has no row in fact `table`, where the caller knows it (a
    /// subject new to the log), so that its first period opens in memory
    /// ([`Batch::open_fact`]). A subject already held is left as it is.
    pub fn note_no_facts(&mut self, table: &'static str, definition: &str, subject: &str) {
        self.fact_table(table, definition)
            .subjects
            .entry(subject.to_owned())
            .or_default();
    }

    /// Opens `subject`'s first period in `table` at `at`, in memory, when memory knows
    /// the subject has no open row: `columns` name columns after the validity, and
    /// `values` are theirs, of the columns' types. Answers whether it did; if not, nothing
    /// changed and the caller writes the row with SQL.
    ///
    /// A column `columns` leaves out opens NULL, as the insert leaves it, where the table
    /// allows NULL (not otherwise: the SQL insert then fails as it should).
    ///
    /// The SQL open is `INSERT … ON CONFLICT (subject, valid_from) DO NOTHING`; a subject
    /// without an open row has no row at all (a period is only ever closed by opening
    /// its successor), so that insert would insert, as this does.
    pub fn open_fact(
        &mut self,
        table: &'static str,
        definition: &str,
        subject: &str,
        at: &str,
        columns: &[&str],
        values: &[Value],
    ) -> bool {
        let t = self.fact_table(table, definition);
        let known = |column: &&str| t.columns.iter().any(|(name, _)| name == column);
        if values.len() != columns.len() || !columns.iter().all(known) {
            return false;
        }
        let Some(periods) = t.subjects.get(subject) else {
            return false;
        };
        if !periods.is_empty() {
            return false;
        }
        let mut row = Vec::with_capacity(t.columns.len());
        let null = super::rows::null;
        for ((name, kind), nullable) in t.columns.iter().zip(&t.nullable) {
            let value = match columns.iter().position(|column| column == name) {
                Some(at) => values[at].clone(),
                // A column the insert leaves out is NULL, where the table allows it.
                None if *nullable => null(*kind),
                None => return false,
            };
            let typed = matches!(
                (kind, &value),
                (Type::Text, Value::Text(_))
                    | (Type::Int, Value::Int(_))
                    | (Type::Bool, Value::Bool(_) | Value::NullableBool(_))
            );
            if !typed {
                return false;
            }
            row.push(value);
        }
        t.subjects.insert(
            subject.to_owned(),
            vec![Period {
                valid_from: at.to_owned(),
                valid_to: None,
                values: row,
                changed: true,
            }],
        );
        true
    }

    /// Fact `table` (of `definition`) with `subject`'s open row in memory, read there
    /// first if it is not yet.
    async fn held(
        &mut self,
        table: &'static str,
        definition: &str,
        subject: &str,
    ) -> Result<&mut Table, ProjectionError> {
        if !self
            .fact_table(table, definition)
            .subjects
            .contains_key(subject)
        {
            self.load_facts(table, definition, "subject", subject)
                .await?;
        }
        Ok(self.fact_table(table, definition))
    }

    /// Changes `subject`'s facts in `table` (of `definition`) from the instant `at`:
    /// in memory, its open row read first if it is not there yet. `set` gives the new
    /// values; a subject without an open row is left alone, as the SQL change leaves it.
    pub async fn change_fact(
        &mut self,
        table: &'static str,
        definition: &str,
        subject: &str,
        at: &str,
        set: impl FnOnce(&mut FactRow<'_>),
    ) -> Result<(), ProjectionError> {
        let t = self.held(table, definition, subject).await?;
        let Some(periods) = t.subjects.get_mut(subject) else {
            return Ok(());
        };
        let Some(open) = periods.last_mut() else {
            return Ok(());
        };
        if open.valid_from.as_str() < at {
            open.valid_to = Some(at.to_owned());
            open.changed = true;
            let mut next = Period {
                valid_from: at.to_owned(),
                valid_to: None,
                values: open.values.clone(),
                changed: true,
            };
            set(&mut FactRow {
                columns: &t.columns,
                values: &mut next.values,
            });
            periods.push(next);
        } else {
            open.changed = true;
            set(&mut FactRow {
                columns: &t.columns,
                values: &mut open.values,
            });
        }
        Ok(())
    }

    /// `column` of `subject`'s open period in fact `table` (of `definition`), from memory,
    /// read there first if it is not yet: `None` when the subject has no open row. A
    /// read in SQL would write the table's periods held in memory first, and the next
    /// change of each would read it back.
    pub async fn fact_value(
        &mut self,
        table: &'static str,
        definition: &str,
        subject: &str,
        column: &str,
    ) -> Result<Option<Value>, ProjectionError> {
        Ok(self
            .fact_values(table, definition, subject, &[column])
            .await?
            .and_then(|values| values.into_iter().next()))
    }

    /// [`Batch::fact_value`] of several `columns` at once, in their order.
    pub async fn fact_values(
        &mut self,
        table: &'static str,
        definition: &str,
        subject: &str,
        columns: &[&str],
    ) -> Result<Option<Vec<Value>>, ProjectionError> {
        let t = self.held(table, definition, subject).await?;
        let at = columns
            .iter()
            .map(|column| {
                t.columns
                    .iter()
                    .position(|(name, _)| name == column)
                    .ok_or_else(|| format!("no fact column {column} in {table}").into())
            })
            .collect::<Result<Vec<usize>, ProjectionError>>()?;
        Ok(t.subjects
            .get(subject)
            .and_then(|periods| periods.last())
            .map(|open| at.iter().map(|&n| open.values[n].clone()).collect()))
    }

    /// Before a statement writes `subject`'s rows of `table` itself: its periods in
    /// memory are queued and forgotten (read again at its next change).
    pub async fn forget_fact(&mut self, table: &str, subject: &str) -> Result<(), ProjectionError> {
        let Some((name, t)) = self
            .facts
            .tables
            .iter_mut()
            .find(|(name, _)| **name == table)
        else {
            return Ok(());
        };
        let Some(periods) = t.subjects.remove(subject) else {
            return Ok(());
        };
        let (name, columns) = (*name, t.columns.clone());
        self.queue_periods(name, &columns, subject, periods).await
    }

    /// Queues the periods changed of every subject of `table` in memory, and forgets them.
    pub(super) async fn emit_facts(&mut self, table: &'static str) -> Result<(), ProjectionError> {
        let Some(t) = self.facts.tables.remove(table) else {
            return Ok(());
        };
        for (subject, periods) in t.subjects {
            self.queue_periods(table, &t.columns, &subject, periods)
                .await?;
        }
        Ok(())
    }

    async fn queue_periods(
        &mut self,
        table: &'static str,
        columns: &[(String, Type)],
        subject: &str,
        periods: Vec<Period>,
    ) -> Result<(), ProjectionError> {
        let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
        let statement = format!(
            "INSERT INTO {table} (subject, valid_from, valid_to, {}) VALUES ({}) \
             ON CONFLICT (subject, valid_from) DO UPDATE SET valid_to = excluded.valid_to, {}",
            names.join(", "),
            (1..=names.len() + 3)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", "),
            names
                .iter()
                .map(|name| format!("{name} = excluded.{name}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let (text, upsert) = self.know(&statement);
        let upsert = upsert.ok_or_else(|| format!("not an upsert: {statement}"))?;
        for period in periods.into_iter().filter(|p| p.changed) {
            let mut values = Vec::with_capacity(period.values.len() + 3);
            values.push(Value::text(subject));
            values.push(Value::Text(Some(period.valid_from)));
            values.push(Value::Text(period.valid_to));
            values.extend(period.values);
            self.enqueue(text.clone(), upsert.clone(), values).await?;
        }
        Ok(())
    }
}

/// A row of `SELECT subject, valid_from, <columns>` as a subject and its open period.
fn period<R: Row>(row: &R, types: &[Type]) -> Result<(String, Period), sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok((
        row.try_get(0)?,
        Period {
            valid_from: row.try_get(1)?,
            valid_to: None,
            values: decode_values(row, types, 2)?,
            changed: false,
        },
    ))
}

/// The columns of `row` from `from` on, of `types`.
pub(super) fn decode_values<R: Row>(
    row: &R,
    types: &[Type],
    from: usize,
) -> Result<Vec<Value>, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    types
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            Ok(match kind {
                Type::Text => Value::Text(row.try_get(i + from)?),
                Type::Int => Value::Int(row.try_get(i + from)?),
                Type::Bool => match row.try_get::<Option<bool>, _>(i + from)? {
                    Some(value) => Value::Bool(value),
                    None => Value::NullableBool(None),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_is_nullable_unless_declared_not_null_or_a_key() {
        let definition = "subject TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT, \
                          school_year TEXT NOT NULL, held BOOLEAN, n BIGINT, \
                          PRIMARY KEY (subject, valid_from)";
        let nullable_ones: Vec<&str> = ["subject", "valid_to", "school_year", "held", "n", "x"]
            .into_iter()
            .filter(|column| nullable(definition, column))
            .collect();
        assert_eq!(nullable_ones, ["valid_to", "held", "n"]);
    }

    #[test]
    fn a_fact_definition_gives_its_columns_after_the_validity() {
        assert_eq!(
            columns(
                "subject TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT, \
                 school_year TEXT NOT NULL, planned_minutes BIGINT NOT NULL, held BOOLEAN, \
                 PRIMARY KEY (subject, valid_from)"
            ),
            vec![
                ("school_year".to_owned(), Type::Text),
                ("planned_minutes".to_owned(), Type::Int),
                ("held".to_owned(), Type::Bool),
            ]
        );
    }
}
