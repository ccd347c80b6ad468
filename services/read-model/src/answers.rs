//! The dashboard's statement answers, shared across requests while the read model has
//! not changed.
//!
//! A dashboard statement reads only the projections' tables, which change only when a
//! projector commits a batch — and that commit moves its checkpoint in the same
//! transaction. So the answer of a statement (its SQL and binds) is fixed by the
//! checkpoints of the projections it reads, as the request's snapshot sees them
//! ([`State`]): two requests at the same state asking the same statement get the same
//! rows, and the second reuses the first's. A commit gives a new state, so the next
//! request computes again: a change shows at once. Concurrent requests at one state
//! compute each statement once (the others wait for it), which is what sixteen pages
//! reloading on the same live notice need.
//!
//! "Now" (no `asOf`) is an instant that moves with the clock, so that no two requests
//! would share a bind. It is read once per state and kept for [`NOW_REUSE`] at most
//! ([`AnswerCache::now`]): within that bound the data asked is the same (same state),
//! and only what the clock alone changes (a deadline passing, the day turning over)
//! shows up to [`NOW_REUSE`] late.
//!
//! A dashboard kept warm ([`crate::warm`]) is computed at the next "now" before the
//! current one ages out ([`AnswerCache::now_ahead`]), and requests move to it once it is
//! computed ([`AnswerCache::adopt_ahead`]).
//!
//! Bounded by rows ([`MAX_ROWS`]), least recently used first out: a state no request
//! asks any more ages out.

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lru::LruCache;

/// How long "now" is reused at one state: what a change the clock alone makes may lag.
/// Those are of a day's grain (a deadline passed, a charter's term begun, a school closed):
/// a minute late is nothing to a dashboard, and a request every few seconds no longer
/// computes the whole dashboard again for an unchanged read model.
pub const NOW_REUSE: Duration = Duration::from_secs(60);

/// Rows kept, all statements together (a department's dashboard holds a few hundred, the
/// whole academy's at national scale some tens of thousands).
pub const MAX_ROWS: usize = 400_000;

/// What the projections read by a dashboard held in one snapshot: each one's live
/// generation, definition and checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State(Arc<str>);

impl State {
    /// From `(checkpoint name, definition, commit id, position)` of every projection read.
    pub fn of(parts: &[(String, i64, i64, i64)]) -> Self {
        let mut text = String::new();
        for (name, definition, commit, position) in parts {
            text.push_str(&format!("{name}/{definition}@{commit}.{position};"));
        }
        Self(text.into())
    }
}

/// Who asks a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    Request,
    Warmer,
}

impl Asker {
    fn label(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Warmer => "warmer",
        }
    }
}

type Key = (State, TypeId, String, Vec<String>);
type Rows = (Arc<dyn Any + Send + Sync>, usize);

struct Entry {
    rows: tokio::sync::OnceCell<Rows>,
    /// Whether its rows are in the cache's weight (changed under the cache's lock only).
    counted: AtomicBool,
}

/// A "now" taken at a state: the instant, and when it was read.
type Taken = (State, DateTime<Utc>, std::time::Instant);

struct Inner {
    entries: LruCache<Key, Arc<Entry>>,
    rows: usize,
    /// The requests' "now".
    now: Option<Taken>,
    /// The next one, while the warmer computes at it.
    ahead: Option<Taken>,
}

/// The answers of one process (held by the GraphQL schema).
pub struct AnswerCache(std::sync::Mutex<Inner>);

impl Default for AnswerCache {
    fn default() -> Self {
        Self(std::sync::Mutex::new(Inner {
            entries: LruCache::unbounded(),
            rows: 0,
            now: None,
            ahead: None,
        }))
    }
}

impl AnswerCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding it leaves plain data: still usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// "Now" for a request at `state`: the instant an earlier request at the same state
    /// took, if within [`NOW_REUSE`]; else the clock's, kept for the next ones.
    pub fn now(&self, state: &State) -> DateTime<Utc> {
        let mut inner = self.lock();
        if let Some((seen, at, taken)) = &inner.now
            && seen == state
            && taken.elapsed() < NOW_REUSE
        {
            return *at;
        }
        let at = Utc::now();
        inner.now = Some((state.clone(), at, std::time::Instant::now()));
        inner.ahead = None;
        at
    }

    /// "Now" for the warmer ([`crate::warm`]) at `state`: the requests' one while it has
    /// more than [`crate::warm::AHEAD`] to live at this state; past that, the next one,
    /// read once and not given to requests until [`Self::adopt_ahead`], so that the
    /// warmer computes at it while requests keep theirs. At another state, as [`Self::now`].
    pub fn now_ahead(&self, state: &State) -> DateTime<Utc> {
        let mut inner = self.lock();
        if let Some((seen, at, taken)) = &inner.now
            && seen == state
            && taken.elapsed() < NOW_REUSE
        {
            if taken.elapsed() + crate::warm::AHEAD < NOW_REUSE {
                return *at;
            }
            if let Some((ahead_of, at, _)) = &inner.ahead
                && ahead_of == state
            {
                return *at;
            }
            let at = Utc::now();
            inner.ahead = Some((state.clone(), at, std::time::Instant::now()));
            return at;
        }
        drop(inner);
        self.now(state)
    }

    /// Gives requests the "now" the warmer computed at ([`Self::now_ahead`]), if theirs is
    /// still of the same state (else it is no use: a new state has its own).
    pub fn adopt_ahead(&self) {
        let mut inner = self.lock();
        if let Some(ahead) = inner.ahead.take()
            && inner
                .now
                .as_ref()
                .is_some_and(|(seen, _, _)| *seen == ahead.0)
        {
            inner.now = Some(ahead);
        }
    }

    /// The rows of `sql` with `binds` at `state`: reused if a request at that state
    /// asked them, else `compute`d once (concurrent askers wait for that one). Counted in
    /// `pharos_dashboard_statements_total`, by answer (computed or reused) and asker
    /// (`by`: a request, or the warmer of [`crate::warm`]).
    pub async fn rows<R, F, E>(
        &self,
        state: &State,
        sql: &str,
        binds: &[String],
        by: Asker,
        compute: F,
    ) -> Result<Arc<Vec<R>>, E>
    where
        R: Send + Sync + 'static,
        F: Future<Output = Result<Vec<R>, E>>,
    {
        let key: Key = (
            state.clone(),
            TypeId::of::<R>(),
            sql.to_owned(),
            binds.to_vec(),
        );
        let entry = {
            let mut inner = self.lock();
            inner
                .entries
                .get_or_insert(key.clone(), || {
                    Arc::new(Entry {
                        rows: tokio::sync::OnceCell::new(),
                        counted: AtomicBool::new(false),
                    })
                })
                .clone()
        };
        let computed = AtomicBool::new(false);
        let (rows, n) = entry
            .rows
            .get_or_try_init(|| async {
                computed.store(true, Ordering::Relaxed);
                let rows = compute.await?;
                let n = rows.len().max(1);
                Ok::<Rows, E>((Arc::new(rows) as Arc<dyn Any + Send + Sync>, n))
            })
            .await?
            .clone();
        let answer = if computed.load(Ordering::Relaxed) {
            "computed"
        } else {
            "reused"
        };
        metrics::counter!("pharos_dashboard_statements_total", "answer" => answer, "by" => by.label())
            .increment(1);
        self.count(&key, &entry, n);
        // The key names `R`'s type: the downcast cannot miss.
        Ok(rows.downcast::<Vec<R>>().unwrap_or_default())
    }

    /// Adds `entry`'s rows to the weight if it is still the cache's and not counted yet,
    /// then sends the least recently used entries out until under [`MAX_ROWS`].
    fn count(&self, key: &Key, entry: &Arc<Entry>, n: usize) {
        let mut inner = self.lock();
        let present = inner
            .entries
            .peek(key)
            .is_some_and(|held| Arc::ptr_eq(held, entry));
        if present && !entry.counted.swap(true, Ordering::Relaxed) {
            inner.rows += n;
        }
        while inner.rows > MAX_ROWS {
            let Some((_, out)) = inner.entries.pop_lru() else {
                break;
            };
            if out.counted.load(Ordering::Relaxed) {
                let weight = out.rows.get().map_or(0, |(_, n)| *n);
                inner.rows = inner.rows.saturating_sub(weight);
            }
        }
    }

    /// How many rows it holds, and in how many statements' answers.
    pub fn held(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.rows, inner.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn state(position: i64) -> State {
        State::of(&[("lists-g1".into(), 1, 1, position)])
    }

    #[tokio::test]
    async fn a_statement_is_computed_once_per_state() {
        let cache = AnswerCache::default();
        let computed = AtomicUsize::new(0);
        let ask = |s: State| {
            let computed = &computed;
            let cache = &cache;
            async move {
                cache
                    .rows(&s, "SELECT 1", &["a".into()], Asker::Request, async {
                        computed.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, ()>(vec![(1_i64, "un".to_owned())])
                    })
                    .await
            }
        };
        let (a, b) = tokio::join!(ask(state(1)), ask(state(1)));
        assert_eq!(a, b);
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        assert_eq!(*ask(state(1)).await.unwrap(), vec![(1, "un".to_owned())]);
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        ask(state(2)).await.unwrap();
        assert_eq!(
            computed.load(Ordering::SeqCst),
            2,
            "a new state computes again"
        );
    }

    #[tokio::test]
    async fn other_binds_or_row_types_are_other_answers() {
        let cache = AnswerCache::default();
        let s = state(1);
        let one: Arc<Vec<(i64,)>> = cache
            .rows(&s, "SELECT 1", &["a".into()], Asker::Request, async {
                Ok::<_, ()>(vec![(1,)])
            })
            .await
            .unwrap();
        let other: Arc<Vec<(i64,)>> = cache
            .rows(&s, "SELECT 1", &["b".into()], Asker::Request, async {
                Ok::<_, ()>(vec![(2,)])
            })
            .await
            .unwrap();
        let typed: Arc<Vec<(String,)>> = cache
            .rows(&s, "SELECT 1", &["a".into()], Asker::Request, async {
                Ok::<_, ()>(vec![("x".to_owned(),)])
            })
            .await
            .unwrap();
        assert_eq!(*one, vec![(1,)]);
        assert_eq!(*other, vec![(2,)]);
        assert_eq!(*typed, vec![("x".to_owned(),)]);
    }

    #[tokio::test]
    async fn a_failure_is_not_kept() {
        let cache = AnswerCache::default();
        let s = state(1);
        let failed: Result<Arc<Vec<(i64,)>>, &str> = cache
            .rows(&s, "SELECT 1", &[], Asker::Request, async { Err("down") })
            .await;
        assert_eq!(failed.err(), Some("down"));
        let again: Result<Arc<Vec<(i64,)>>, &str> = cache
            .rows(&s, "SELECT 1", &[], Asker::Request, async {
                Ok(vec![(1,)])
            })
            .await;
        assert_eq!(*again.unwrap(), vec![(1,)]);
    }

    #[tokio::test]
    async fn it_stays_under_its_bound() {
        let cache = AnswerCache::default();
        let s = state(1);
        let big = MAX_ROWS / 3 + 1;
        for n in 0..5 {
            let _: Arc<Vec<i64>> = cache
                .rows(&s, "SELECT n", &[n.to_string()], Asker::Request, async {
                    Ok::<_, ()>(vec![0; big])
                })
                .await
                .unwrap();
            let (rows, _) = cache.held();
            assert!(rows <= MAX_ROWS, "{rows} rows held after {n}");
        }
        let (rows, statements) = cache.held();
        assert_eq!((rows, statements), (2 * big, 2), "the two most recent stay");
    }

    #[test]
    fn the_next_now_is_read_ahead_and_given_to_requests_once_adopted() {
        let cache = AnswerCache::default();
        let current = cache.now(&state(1));
        assert_eq!(
            cache.now_ahead(&state(1)),
            current,
            "a young now is the warmer's too"
        );
        // The current now has less than AHEAD to live.
        let old = std::time::Instant::now()
            .checked_sub(NOW_REUSE - crate::warm::AHEAD / 2)
            .unwrap();
        cache.lock().now = Some((state(1), current, old));
        std::thread::sleep(Duration::from_millis(2));
        let next = cache.now_ahead(&state(1));
        assert!(next > current, "the warmer reads the next now");
        assert_eq!(cache.now_ahead(&state(1)), next, "once");
        assert_eq!(cache.now(&state(1)), current, "requests keep theirs");
        cache.adopt_ahead();
        assert_eq!(cache.now(&state(1)), next, "until it is adopted");
        // Read ahead at one state, adopted after another: no use.
        cache.lock().now = Some((state(1), next, old));
        let ahead = cache.now_ahead(&state(1));
        let fresh = cache.now(&state(2));
        cache.adopt_ahead();
        assert_eq!(cache.now(&state(2)), fresh);
        assert_ne!(cache.now(&state(2)), ahead);
    }

    #[test]
    fn now_is_kept_at_one_state_only() {
        let cache = AnswerCache::default();
        let first = cache.now(&state(1));
        assert_eq!(cache.now(&state(1)), first);
        std::thread::sleep(Duration::from_millis(2));
        assert!(
            cache.now(&state(2)) > first,
            "a new state reads the clock again"
        );
    }
}
