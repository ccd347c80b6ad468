//! Batched lookups, one set per request (async-graphql's `DataLoader`): a page of
//! trainings asks its sessions in one query, and a page of any records asks their
//! histories in one query, instead of one query per row.
//!
//! The loaders are built with the request's [`Visibility`] and tables generation (a
//! loader cannot read the request's context), so they belong to that request only.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use chrono::{DateTime, Utc};
use pharos_eventstore::{Db, on_db};

use crate::graphql::{HistoryEntry, SESSION_COLUMNS, Session, event_label};
use crate::scope::Visibility;
use crate::sql::{Filter, rows};
use crate::tables::Generation;

/// The largest batch: far below either backend's limit on bound values.
const MAX_BATCH: usize = 500;

/// One page of one training's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionsKey {
    pub training_id: String,
    pub offset: usize,
    pub first: usize,
    /// Only the sessions with registrants of this school (UAI).
    pub registered_from: Option<String>,
}

/// The sessions of a page of trainings the caller sees, by training.
pub struct SessionsLoader {
    db: Db,
    generation: Generation,
    seen: Visibility,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    session: Session,
    training_total: i64,
}

impl Loader<SessionsKey> for SessionsLoader {
    /// The page's sessions (one more than asked when a next page exists) and the
    /// training's total.
    type Value = (Vec<Session>, i64);
    type Error = Arc<sqlx::Error>;

    async fn load(
        &self,
        keys: &[SessionsKey],
    ) -> Result<HashMap<SessionsKey, Self::Value>, Self::Error> {
        let mut found = HashMap::new();
        // Keys of one page of trainings share their window; one query per window.
        type Window<'k> = (usize, usize, Option<&'k str>);
        let mut windows: HashMap<Window<'_>, Vec<&SessionsKey>> = HashMap::new();
        for key in keys {
            windows
                .entry((key.offset, key.first, key.registered_from.as_deref()))
                .or_default()
                .push(key);
        }
        for ((offset, first, registered_from), keys) in windows {
            let mut filter = self.scope(registered_from);
            let ids: Vec<String> = keys.iter().map(|k| k.training_id.clone()).collect();
            filter.any_of(&[("training_id", &ids)]);
            let sql = format!(
                "SELECT * FROM (SELECT {SESSION_COLUMNS}, \
                 ROW_NUMBER() OVER (PARTITION BY training_id ORDER BY starts_at, id) AS training_rank, \
                 COUNT(*) OVER (PARTITION BY training_id) AS training_total \
                 FROM rm_sessions{}) ranked \
                 WHERE training_rank > {offset} AND training_rank <= {} \
                 ORDER BY training_id, training_rank",
                filter.sql(),
                offset + first + 1
            );
            let all: Vec<SessionRow> = rows(&self.db, self.generation, &sql, &filter.binds)
                .await
                .map_err(Arc::new)?;
            for key in keys {
                found.insert(key.clone(), (Vec::new(), 0));
            }
            for row in all {
                let key = SessionsKey {
                    training_id: row.session.training_id.clone(),
                    offset,
                    first,
                    registered_from: registered_from.map(str::to_owned),
                };
                if let Some((sessions, total)) = found.get_mut(&key) {
                    *total = row.training_total;
                    sessions.push(row.session);
                }
            }
            // A training with no session on this page still has its total.
            let missing: Vec<String> = found
                .iter()
                .filter(|(k, (sessions, _))| {
                    k.offset == offset
                        && k.first == first
                        && k.registered_from.as_deref() == registered_from
                        && sessions.is_empty()
                        && offset > 0
                })
                .map(|(k, _)| k.training_id.clone())
                .collect();
            for id in missing {
                let total = self.count(&id, registered_from).await?;
                if let Some(entry) = found.get_mut(&SessionsKey {
                    training_id: id,
                    offset,
                    first,
                    registered_from: registered_from.map(str::to_owned),
                }) {
                    entry.1 = total;
                }
            }
        }
        Ok(found)
    }
}

impl SessionsLoader {
    /// The sessions the caller sees, with registrants of `registered_from` when given.
    fn scope(&self, registered_from: Option<&str>) -> Filter {
        let mut filter = Filter::default();
        if !self.seen.all {
            filter.null_or_in("department", &self.seen.planning_departments());
        }
        if let Some(uai) = registered_from {
            let clause =
                crate::graphql::registrants_from(&mut filter, &self.seen, uai, "rm_sessions.id");
            filter.raw(&clause);
        }
        filter
    }

    /// The sessions of one training the caller sees (a page past the last one).
    async fn count(
        &self,
        training_id: &str,
        registered_from: Option<&str>,
    ) -> Result<i64, Arc<sqlx::Error>> {
        let mut filter = self.scope(registered_from);
        filter.eq("training_id", Some(training_id.to_owned()));
        crate::sql::count(
            &self.db,
            self.generation,
            &format!("SELECT COUNT(*) FROM rm_sessions{}", filter.sql()),
            &filter.binds,
        )
        .await
        .map_err(Arc::new)
    }
}

/// The histories of records, by stream id (`school-0310001H`), from the log.
pub struct HistoryLoader {
    db: Db,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    stream_id: String,
    version: i64,
    event_type: String,
    metadata: String,
    recorded_at: DateTime<Utc>,
}

impl Loader<String> for HistoryLoader {
    type Value = Vec<HistoryEntry>;
    type Error = Arc<sqlx::Error>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT stream_id, version, event_type, CAST(metadata AS TEXT) AS metadata, \
             recorded_at FROM events WHERE stream_id IN ({}) ORDER BY stream_id, version",
            placeholders.join(", ")
        );
        let found: Vec<HistoryRow> = on_db!(&self.db, |pool| {
            let mut query = sqlx::query_as::<_, HistoryRow>(sqlx::AssertSqlSafe(sql.clone()));
            for key in keys {
                query = query.bind(key);
            }
            query.fetch_all(pool).await
        })
        .map_err(Arc::new)?;
        let mut histories: HashMap<String, Vec<HistoryEntry>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for row in found {
            let metadata: pharos_eventstore::Metadata =
                serde_json::from_str(&row.metadata).unwrap_or_default();
            if let Some(history) = histories.get_mut(&row.stream_id) {
                history.push(HistoryEntry {
                    version: row.version,
                    at: row
                        .recorded_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    label: event_label(&row.event_type),
                    event_type: row.event_type,
                    actor_role: metadata.actor_role,
                });
            }
        }
        Ok(histories)
    }
}

/// The loaders of one request.
pub fn for_request(
    db: &Db,
    generation: Generation,
    seen: &Visibility,
) -> (DataLoader<SessionsLoader>, DataLoader<HistoryLoader>) {
    (
        DataLoader::new(
            SessionsLoader {
                db: db.clone(),
                generation,
                seen: seen.clone(),
            },
            tokio::spawn,
        )
        .max_batch_size(MAX_BATCH),
        DataLoader::new(HistoryLoader { db: db.clone() }, tokio::spawn).max_batch_size(MAX_BATCH),
    )
}
