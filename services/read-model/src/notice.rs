//! "The read model changed": a notice after each commit of any projection (the lists
//! and every indicator group: [`crate::tables::Runner`] publishes it in the batch's
//! transaction), for live consumers (the `dashboardChanged` subscription). A notice says
//! which school years and departments the batch touched, as far as its events say
//! (`school_year`, `department`); an event that does not name one touches every one, so
//! a subscriber is told too often rather than too rarely.
//!
//! How notices travel depends on the backend:
//!
//! - PostgreSQL: the projector runs `pg_notify` inside the batch's transaction
//!   ([`publish`]), which PostgreSQL delivers at commit, and only then; every API process
//!   LISTENs ([`listen`]). The projector may run in another replica than the API.
//! - SQLite: one process, and no notification channel in the database. A notice sent
//!   from inside the projection would arrive before the commit (a client re-reading at
//!   once would see the old tables), and an in-process channel from the projector to the
//!   API would have to be global (several applications share a process in the tests). So
//!   the API polls every projection's checkpoint (one row each, every [`POLL`]) and, when
//!   they move, reads the events they moved over from the log to say what they touched.
//!
//! One event is applied by several projections (a deployment's, by the lists and two
//! indicator groups), each committing on its own: notices that arrive together are
//! merged into one (on PostgreSQL those already buffered by the listener, on SQLite
//! those of one poll), so a subscriber hears of the last commit without a burst.

use std::collections::HashMap;
use std::time::Duration;

use pharos_eventstore::{
    Db, EventStore, GlobalPosition, ProjectionError, ProjectionTx, RecordedEvent,
};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::tables::{Descriptor, Generation};

/// The PostgreSQL channel.
pub const CHANNEL: &str = "pharos_read_model";
/// How often the API reads the checkpoint on SQLite.
pub const POLL: Duration = Duration::from_millis(200);
/// Beyond this many (year, department) pairs, a notice touches everything (PostgreSQL
/// caps a notification's payload at 8,000 bytes).
const MAX_SCOPES: usize = 64;
/// Events read back per poll on SQLite; beyond, the notice touches everything.
const MAX_READ: usize = 1_000;

/// What one commit touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The global position of the batch's last event.
    pub position: i64,
    /// The (school year, department) pairs touched; `None` for any. Empty: nothing
    /// touched; `[(None, None)]`: everything.
    pub scopes: Vec<(Option<String>, Option<String>)>,
}

impl Notice {
    /// The notice of a batch.
    pub fn of(events: &[RecordedEvent]) -> Self {
        let mut scopes: Vec<(Option<String>, Option<String>)> = events
            .iter()
            .map(|e| {
                let text = |field: &str| e.data[field].as_str().map(str::to_owned);
                (text("school_year"), text("department"))
            })
            .collect();
        scopes.sort();
        scopes.dedup();
        if scopes.len() > MAX_SCOPES || scopes.contains(&(None, None)) {
            scopes = vec![(None, None)];
        }
        Self {
            position: events.last().map_or(0, |e| e.position.position),
            scopes,
        }
    }

    /// Adds what `other` touched to this notice; its position is the later one.
    pub fn merge(&mut self, other: Self) {
        self.position = self.position.max(other.position);
        self.scopes.extend(other.scopes);
        self.scopes.sort();
        self.scopes.dedup();
        if self.scopes.len() > MAX_SCOPES || self.scopes.contains(&(None, None)) {
            self.scopes = vec![(None, None)];
        }
    }

    /// Whether a subscriber to `year` and `department` (every department when `None`)
    /// should hear of it.
    pub fn touches(&self, year: &str, department: Option<&str>) -> bool {
        self.scopes.iter().any(|(y, d)| {
            y.as_deref().is_none_or(|y| y == year)
                && (department.is_none() || d.is_none() || d.as_deref() == department)
        })
    }
}

/// Inside the projector's transaction: on PostgreSQL, a notification delivered at commit.
/// On SQLite, nothing (the API polls).
pub async fn publish(
    tx: &mut ProjectionTx<'_>,
    events: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    if let ProjectionTx::Postgres(conn) = tx {
        let payload = serde_json::to_string(&Notice::of(events))?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

/// Forwards every notice to `sender` until `shutdown`: LISTEN on PostgreSQL, polling the
/// checkpoint on SQLite.
pub async fn listen(
    store: EventStore,
    sender: broadcast::Sender<Notice>,
    shutdown: CancellationToken,
) {
    match store.db() {
        Db::Postgres(pool) => {
            while !shutdown.is_cancelled() {
                if let Err(e) = listen_postgres(&pool, &sender, &shutdown).await {
                    tracing::warn!(error = %e, "read-model notices: LISTEN failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        Db::Sqlite(_) => poll(&store, &sender, &shutdown).await,
    }
}

async fn listen_postgres(
    pool: &sqlx::PgPool,
    sender: &broadcast::Sender<Notice>,
    shutdown: &CancellationToken,
) -> Result<(), sqlx::Error> {
    let mut listener = pharos_eventstore::listen(pool, CHANNEL).await?;
    loop {
        let notification = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            n = listener.recv() => n?,
        };
        let mut merged: Option<Notice> = None;
        // This one and those already buffered behind it: one notice.
        let mut next = Some(notification);
        while let Some(notification) = next {
            match serde_json::from_str::<Notice>(notification.payload()) {
                Ok(notice) => match merged.as_mut() {
                    Some(merged) => merged.merge(notice),
                    None => merged = Some(notice),
                },
                Err(e) => tracing::warn!(error = %e, "read-model notices: unreadable payload"),
            }
            next = listener.next_buffered();
        }
        if let Some(notice) = merged {
            // No subscriber is not an error.
            drop(sender.send(notice));
        }
    }
}

async fn poll(
    store: &EventStore,
    sender: &broadcast::Sender<Notice>,
    shutdown: &CancellationToken,
) {
    let db = store.db();
    // Each projection's live generation and checkpoint at the last poll.
    let mut seen: HashMap<&'static str, (Generation, GlobalPosition)> = HashMap::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
        let mut merged: Option<Notice> = None;
        for projection in crate::tables::all() {
            let Ok(generation) = crate::tables::live_of(&db, projection).await else {
                continue;
            };
            let Ok(now) = store.checkpoint(&projection.checkpoint(generation)).await else {
                continue;
            };
            let Some((was, before)) = seen.insert(projection.name, (generation, now)) else {
                continue;
            };
            let notice = if was != generation {
                // A rebuild made another generation live: anything may have changed.
                Notice {
                    position: now.position,
                    scopes: vec![(None, None)],
                }
            } else if now > before {
                moved(store, projection, before, now).await
            } else {
                continue;
            };
            match merged.as_mut() {
                Some(merged) => merged.merge(notice),
                None => merged = Some(notice),
            }
        }
        if let Some(notice) = merged {
            drop(sender.send(notice));
        }
    }
}

/// The notice of `projection`'s checkpoint moving from `before` to `now`: from the events
/// of its categories in between, or touching everything when they are too many to read.
async fn moved(
    store: &EventStore,
    projection: &Descriptor,
    before: GlobalPosition,
    now: GlobalPosition,
) -> Notice {
    let categories: Vec<String> = projection
        .categories
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    let span = usize::try_from(now.position - before.position).unwrap_or(usize::MAX);
    match store
        .read_all(before, span.min(MAX_READ), &categories)
        .await
    {
        // A short read reached the end of the log: every event of the categories up to
        // `now` is in it (a checkpoint moved over other categories' events reads none).
        Ok(events) if span <= MAX_READ || events.len() < MAX_READ => Notice {
            position: now.position,
            ..Notice::of(
                &events
                    .into_iter()
                    .filter(|e| e.position <= now)
                    .collect::<Vec<_>>(),
            )
        },
        _ => Notice {
            position: now.position,
            scopes: vec![(None, None)],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(scopes: &[(Option<&str>, Option<&str>)]) -> Notice {
        Notice {
            position: 1,
            scopes: scopes
                .iter()
                .map(|(y, d)| (y.map(str::to_owned), d.map(str::to_owned)))
                .collect(),
        }
    }

    #[test]
    fn a_notice_touches_its_years_and_departments_and_unnamed_ones_touch_all() {
        let precise = notice(&[(Some("2026-2027"), Some("31"))]);
        assert!(precise.touches("2026-2027", Some("31")));
        assert!(precise.touches("2026-2027", None));
        assert!(!precise.touches("2026-2027", Some("32")));
        assert!(!precise.touches("2025-2026", Some("31")));
        let any_department = notice(&[(Some("2026-2027"), None)]);
        assert!(any_department.touches("2026-2027", Some("32")));
        assert!(!any_department.touches("2025-2026", Some("32")));
        assert!(notice(&[(None, None)]).touches("2030-2031", Some("09")));
        assert!(!notice(&[]).touches("2026-2027", None));
    }

    #[test]
    fn merged_notices_touch_what_either_touched_at_the_later_position() {
        let mut merged = notice(&[(Some("2026-2027"), Some("31"))]);
        merged.merge(Notice {
            position: 9,
            ..notice(&[(Some("2025-2026"), Some("32"))])
        });
        assert_eq!(merged.position, 9);
        assert!(merged.touches("2026-2027", Some("31")));
        assert!(merged.touches("2025-2026", Some("32")));
        assert!(!merged.touches("2026-2027", Some("32")));
        merged.merge(notice(&[(None, None)]));
        assert_eq!(merged.position, 9);
        assert!(merged.touches("2030-2031", Some("09")));
    }
}
