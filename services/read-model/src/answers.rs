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
//! While the warmer computes a new state of the academy's dashboard, a request at that
//! state may be answered at the last state it computed ([`AnswerCache::previous_for`]):
//! where computing it is a wait (`dashboards_previous_above_ms`, 200 ms: a second or
//! more at national scale), the figures of a few seconds before are worth more than that
//! wait, and the warmer then tells the subscribers to read again ([`crate::warm`]).
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

/// How old the warmer's last pass over the academy's dashboard may be for a request to
/// be answered at the state it computed: past that, the warmer is failing or stopped,
/// and requests compute their own state.
pub const PREVIOUS_AT_MOST: Duration = Duration::from_secs(30);

/// Rows kept, all statements together (a department's dashboard holds a few hundred, the
/// whole academy's at national scale some tens of thousands).
pub const MAX_ROWS: usize = 400_000;

/// What the projections read by a dashboard held in one snapshot: each one's live
/// generation, definition and checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    key: Arc<str>,
    /// The last position of the log taken in by the projections read.
    position: i64,
}

impl State {
    /// From `(checkpoint name, definition, commit id, position)` of every projection read.
    pub fn of(parts: &[(String, i64, i64, i64)]) -> Self {
        let mut text = String::new();
        for (name, definition, commit, position) in parts {
            text.push_str(&format!("{name}/{definition}@{commit}.{position};"));
        }
        Self {
            key: text.into(),
            position: parts.iter().map(|part| part.3).max().unwrap_or(0),
        }
    }

    /// The last position of the log taken in by the projections read.
    pub fn position(&self) -> i64 {
        self.position
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

/// The state and instant the warmer last computed the academy's dashboard at.
struct Computed {
    state: State,
    at: DateTime<Utc>,
    /// When a pass of the warmer last answered it.
    confirmed: std::time::Instant,
    /// What computing it took.
    cost: Duration,
}

struct Inner {
    entries: LruCache<Key, Arc<Entry>>,
    rows: usize,
    /// The requests' "now".
    now: Option<Taken>,
    /// The next one, while the warmer computes at it.
    ahead: Option<Taken>,
    computed: Option<Computed>,
    /// Whether a request was answered at `computed` since it last changed.
    answered_previous: bool,
}

/// The answers of one process (held by the GraphQL schema).
pub struct AnswerCache {
    inner: std::sync::Mutex<Inner>,
    /// The cost from which a request may be answered at the previous state.
    previous_above: Duration,
    /// Told when a request was answered at the previous state: someone waits for the new
    /// one, and the warmer computes it without resting first ([`Self::wanted`]).
    wanted: tokio::sync::Notify,
}

impl Default for AnswerCache {
    /// With the server's default `dashboards_previous_above_ms`.
    fn default() -> Self {
        Self::new(Duration::from_millis(
            pharos_web::HttpSettings::default().dashboards_previous_above_ms,
        ))
    }
}

impl AnswerCache {
    /// Answering at the previous state where computing the academy's dashboard took
    /// `previous_above` or more ([`Self::previous_for`]).
    pub fn new(previous_above: Duration) -> Self {
        Self {
            inner: std::sync::Mutex::new(Inner {
                entries: LruCache::unbounded(),
                rows: 0,
                now: None,
                ahead: None,
                computed: None,
                answered_previous: false,
            }),
            previous_above,
            wanted: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding it leaves plain data: still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The warmer computed the academy's dashboard at `state` and `at`, in `took`. True
    /// when that is another state or instant than before: the next requests are
    /// answered at it.
    pub fn computed_at(&self, state: &State, at: DateTime<Utc>, took: Duration) -> bool {
        let mut inner = self.lock();
        let confirmed = std::time::Instant::now();
        if let Some(computed) = inner.computed.as_mut()
            && computed.state == *state
            && computed.at == at
        {
            computed.confirmed = confirmed;
            return false;
        }
        inner.computed = Some(Computed {
            state: state.clone(),
            at,
            confirmed,
            cost: took,
        });
        true
    }

    /// For a request asking a dashboard "now" at `state`: the state and instant it is
    /// answered at instead, the last the warmer computed the academy's dashboard at, when
    /// `state` is another (a newer one the warmer has yet to compute), computing it took
    /// `previous_above` or more, the warmer confirmed it within [`PREVIOUS_AT_MOST`], and
    /// its instant is younger than [`NOW_REUSE`]. Its statements are then read with
    /// [`Self::cached`], and the request is asked again at its own state if one is missing.
    pub fn previous_for(&self, state: &State) -> Option<(State, DateTime<Utc>)> {
        let mut inner = self.lock();
        let computed = inner.computed.as_ref()?;
        let young = (Utc::now() - computed.at)
            .to_std()
            .is_ok_and(|age| age < NOW_REUSE);
        if computed.state == *state
            || computed.cost < self.previous_above
            || computed.confirmed.elapsed() > PREVIOUS_AT_MOST
            || !young
        {
            return None;
        }
        let previous = (computed.state.clone(), computed.at);
        inner.answered_previous = true;
        drop(inner);
        self.wanted.notify_one();
        Some(previous)
    }

    /// Until a request is answered at the previous state ([`Self::previous_for`]), or at
    /// once if one was since the last call: the reader of that request waits for the new
    /// state, which is what the warmer computes next.
    pub async fn wanted(&self) {
        self.wanted.notified().await;
    }

    /// Whether a request was answered at the previous state since the last call.
    pub fn take_answered_previous(&self) -> bool {
        std::mem::take(&mut self.lock().answered_previous)
    }

    /// The rows of `sql` with `binds` at `state` if they were computed, without computing
    /// them. Counted in `pharos_dashboard_statements_total` as `answer="previous"`.
    pub fn cached<R: Send + Sync + 'static>(
        &self,
        state: &State,
        sql: &str,
        binds: &[String],
    ) -> Option<Arc<Vec<R>>> {
        let key: Key = (
            state.clone(),
            TypeId::of::<R>(),
            sql.to_owned(),
            binds.to_vec(),
        );
        let entry = self.lock().entries.get(&key).cloned()?;
        let (rows, _) = entry.rows.get()?.clone();
        let rows = rows.downcast::<Vec<R>>().ok()?;
        metrics::counter!("pharos_dashboard_statements_total", "answer" => "previous", "by" => "request")
            .increment(1);
        Some(rows)
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
    fn a_newer_state_is_answered_at_the_previous_one_where_computing_it_is_a_wait() {
        let cache = AnswerCache::new(Duration::from_millis(100));
        assert_eq!(cache.previous_for(&state(2)), None, "nothing computed yet");
        let at = Utc::now();
        assert!(cache.computed_at(&state(1), at, Duration::from_millis(150)));
        assert!(
            !cache.computed_at(&state(1), at, Duration::from_millis(1)),
            "the same state and instant again"
        );
        assert_eq!(cache.previous_for(&state(1)), None, "at its own state");
        assert!(!cache.take_answered_previous());
        assert_eq!(cache.previous_for(&state(2)), Some((state(1), at)));
        assert!(cache.take_answered_previous());
        assert!(!cache.take_answered_previous(), "told once");

        let cheap = AnswerCache::new(Duration::from_millis(100));
        cheap.computed_at(&state(1), at, Duration::from_millis(50));
        assert_eq!(cheap.previous_for(&state(2)), None, "no wait to hide");

        let old = Utc::now() - chrono::TimeDelta::seconds(61);
        cache.computed_at(&state(3), old, Duration::from_secs(1));
        assert_eq!(
            cache.previous_for(&state(4)),
            None,
            "an instant past its minute"
        );

        cache.computed_at(&state(5), Utc::now(), Duration::from_secs(1));
        assert!(cache.previous_for(&state(6)).is_some());
        cache.lock().computed.as_mut().unwrap().confirmed = std::time::Instant::now()
            .checked_sub(PREVIOUS_AT_MOST + Duration::from_secs(1))
            .unwrap();
        assert_eq!(cache.previous_for(&state(6)), None, "a warmer that stopped");
    }

    #[tokio::test]
    async fn cached_reads_only_what_was_computed() {
        let cache = AnswerCache::default();
        let _: Arc<Vec<(i64,)>> = cache
            .rows(&state(1), "SELECT 1", &[], Asker::Warmer, async {
                Ok::<_, ()>(vec![(1,)])
            })
            .await
            .unwrap();
        assert_eq!(
            cache
                .cached::<(i64,)>(&state(1), "SELECT 1", &[])
                .as_deref(),
            Some(&vec![(1,)])
        );
        assert!(cache.cached::<(i64,)>(&state(2), "SELECT 1", &[]).is_none());
        assert!(cache.cached::<(i64,)>(&state(1), "SELECT 2", &[]).is_none());
        assert!(
            cache
                .cached::<(String,)>(&state(1), "SELECT 1", &[])
                .is_none()
        );
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
