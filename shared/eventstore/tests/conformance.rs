//! The event store's conformance suite (the guarantees of its README): every scenario tries to break one
//! guarantee, and runs on SQLite always and on PostgreSQL when `DATABASE_URL` is set,
//! each test on a database of its own. With `CI` set, a missing `DATABASE_URL` fails the
//! PostgreSQL half instead of skipping it: CI must prove both backends ran.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pharos_eventstore::{
    AppendResult, Companion, CompanionWrite, Db, EventStore, ExpectedVersion, GlobalPosition,
    InStatement, Lookout, MAX_EVENT_DATA_BYTES, Metadata, NewEvent, Projection, ProjectionError,
    ProjectionTx, RecordedEvent, StoreError, StoreOptions, StreamAppend, StreamId, Subscription,
    Upcasters, on_db, on_tx,
};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::Barrier;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use ExpectedVersion::{Any, Exact, NoStream, StreamExists};

const START: GlobalPosition = GlobalPosition::START;
/// How long a test waits for something that should take milliseconds; generous, since
/// PostgreSQL readers also wait for other databases' open transactions.
const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

/// Generates, for every scenario, one test on SQLite and one on PostgreSQL.
macro_rules! conformance {
    (both: [$($both:ident),* $(,)?], sqlite_only: [$($lite:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $both() {
                    let db = super::TestDb::sqlite();
                    let store = db.store().await;
                    super::$both(store, &db).await;
                    db.finish().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $lite() {
                    let db = super::TestDb::sqlite();
                    let store = db.store().await;
                    super::$lite(store, &db).await;
                    db.finish().await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $both() {
                    let Some(db) = super::TestDb::postgres().await else {
                        return;
                    };
                    let store = db.store().await;
                    super::$both(store, &db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

conformance! {
    both: [
        concurrent_exact_appends_have_exactly_one_winner_per_version,
        concurrent_appends_with_any_version_all_land_contiguously,
        expected_version_mismatches_are_refused_and_write_nothing,
        re_appending_the_same_events_returns_the_original_result,
        reusing_event_ids_in_another_stream_or_beside_new_ones_is_a_conflict,
        identical_appends_sent_at_once_are_stored_once,
        a_batch_refused_midway_writes_nothing,
        a_refused_batch_leaves_concurrent_appends_intact,
        companions_are_stored_with_their_append_or_not_at_all,
        a_linked_append_stores_every_stream_s_part_or_none,
        a_subscriber_never_skips_an_event_that_commits_late_with_a_lower_position,
        a_subscriber_gets_its_categories_history_then_live_events,
        an_idle_subscriber_moves_past_other_categories_never_past_a_late_commit,
        a_projection_killed_mid_run_resumes_from_its_checkpoint,
        a_batch_cancelled_anywhere_leaves_no_transaction_behind,
        an_idle_projection_moves_past_other_categories_never_past_a_late_commit,
        a_projection_runner_reads_other_categories_once_never_past_a_late_commit,
        a_failing_projection_batch_applies_nothing_and_succeeds_on_retry,
        two_runners_of_one_projection_never_apply_an_event_twice,
        old_schema_versions_are_upcast_on_read_and_never_rewritten,
        a_lease_has_one_holder_and_is_free_once_dropped,
        an_abandoned_lease_passes_to_the_standby,
        a_leader_that_loses_its_lock_is_told_and_the_standby_takes_over,
        reads_page_through_every_event_once_in_order,
        the_event_log_refuses_updates_and_deletes,
        migrating_again_is_harmless,
        wait_readable_tells_when_an_append_can_be_read,
        head_is_the_last_committed_event_and_settle_waits_for_it,
    ],
    sqlite_only: [
        the_database_runs_in_wal_mode_with_full_sync_and_a_busy_timeout,
    ],
}

/// A database of the test's own, dropped when the test succeeds (kept for a look when
/// it fails).
struct TestDb {
    kind: Kind,
    url: String,
}

enum Kind {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    fn sqlite() -> Self {
        // A directory of its own: once it is removed, a straggling connection of a
        // dropped store cannot create the file again.
        let dir = std::env::temp_dir().join(format!("pharos-test-{}", Uuid::now_v7().simple()));
        let url = format!("sqlite://{}", dir.join("events.db").display());
        Self {
            kind: Kind::Sqlite { dir },
            url,
        }
    }

    /// A fresh database on the server at `DATABASE_URL`; `None` (skipped) without one.
    async fn postgres() -> Option<Self> {
        let admin_url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but DATABASE_URL is not: the PostgreSQL conformance tests must run in CI"
                );
                println!("skipped on PostgreSQL: DATABASE_URL is not set");
                return None;
            }
        };
        let name = format!("pharos_test_{}", Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        // Identifiers cannot be bound; the name is ours, made of hex digits.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = with_database(&admin_url, &name);
        Some(Self {
            kind: Kind::Postgres { admin_url, name },
            url,
        })
    }

    fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// Short polls keep the tests quick where they rely on the safety net.
    fn options() -> StoreOptions {
        StoreOptions {
            poll_interval: Duration::from_millis(100),
            ..StoreOptions::default()
        }
    }

    /// A new handle on the database, as another process would open.
    async fn store(&self) -> EventStore {
        self.store_with(Self::options()).await
    }

    async fn store_with(&self, options: StoreOptions) -> EventStore {
        let store = EventStore::connect(&self.url, options).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    async fn finish(self) {
        match self.kind {
            Kind::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Kind::Postgres { admin_url, name } => {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .unwrap();
                admin.close().await.unwrap();
            }
        }
    }
}

/// `url` with its database name replaced by `name`, query string kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

fn stream(category: &str) -> StreamId {
    StreamId::new(category, Uuid::now_v7()).unwrap()
}

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::new("thing_happened", json!({ "n": i })))
        .collect()
}

fn meta() -> Metadata {
    Metadata {
        actor_id: Some("tester".into()),
        actor_role: Some("admin".into()),
        correlation_id: Some(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)),
        causation_id: None,
        request_id: Some("req-1".into()),
        source_target: Some("conformance".into()),
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|&v| v.to_owned()).collect()
}

fn ids(events: &[RecordedEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

fn new_ids(events: &[NewEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

/// Waits until every committed event is readable. PostgreSQL readers stop below the
/// oldest transaction still running anywhere on the server (other tests' included), so
/// a read right after a commit may lag behind it; SQLite readers never do.
async fn settle(store: &EventStore) {
    const SETTLED: &str = "SELECT coalesce(max(commit_id), 0) \
         < pg_snapshot_xmin(pg_current_snapshot())::text::bigint FROM events";
    let Db::Postgres(pool) = store.db() else {
        return;
    };
    eventually("every committed event is readable", || async {
        sqlx::query_scalar(SETTLED).fetch_one(&pool).await.unwrap()
    })
    .await;
}

/// Everything `read_all` returns once settled, page by page: a write that should not
/// have happened cannot hide behind the readers' lag.
async fn read_everything(
    store: &EventStore,
    limit: usize,
    categories: &[&str],
) -> Vec<RecordedEvent> {
    settle(store).await;
    let categories = strings(categories);
    let mut after = START;
    let mut all = Vec::new();
    loop {
        let page = store.read_all(after, limit, &categories).await.unwrap();
        assert!(
            page.len() <= limit,
            "a page of {} over the limit {limit}",
            page.len()
        );
        let Some(last) = page.last() else {
            return all;
        };
        after = last.position;
        all.extend(page);
    }
}

fn assert_once_in_order(events: &[RecordedEvent]) {
    let mut seen = HashSet::new();
    for event in events {
        assert!(
            seen.insert(event.event_id),
            "event {} delivered twice",
            event.event_id
        );
    }
    for pair in events.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "positions out of order: {:?} then {:?}",
            pair[0].position,
            pair[1].position
        );
    }
}

fn assert_wrong_version(
    result: Result<AppendResult, StoreError>,
    expected: ExpectedVersion,
    actual: i64,
) {
    match result {
        Err(StoreError::WrongExpectedVersion {
            expected: e,
            actual: a,
            ..
        }) => {
            assert_eq!(e, expected);
            assert_eq!(a, actual, "the actual version reported for {expected}");
        }
        other => panic!("expected WrongExpectedVersion for {expected}, got {other:?}"),
    }
}

fn assert_conflict(result: Result<AppendResult, StoreError>, among: &[Uuid]) {
    match result {
        Err(StoreError::IdempotencyConflict { event_id }) => {
            assert!(
                among.contains(&event_id),
                "conflict reported on {event_id}, not a reused id"
            );
        }
        other => panic!("expected IdempotencyConflict, got {other:?}"),
    }
}

/// Polls `check` until it holds; panics with `what` after [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        sleep(Duration::from_millis(20)).await;
    }
}

/// Reads `subscription` until every id of `expected` arrived, then a little longer to
/// catch a late duplicate.
async fn collect(mut subscription: Subscription, expected: HashSet<Uuid>) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    let mut seen = HashSet::new();
    while !expected.is_subset(&seen) {
        let event = match tokio::time::timeout_at(deadline, subscription.next()).await {
            Ok(event) => event.unwrap(),
            Err(_) => panic!(
                "the subscriber got {} of the {} expected events",
                expected.intersection(&seen).count(),
                expected.len()
            ),
        };
        seen.insert(event.event_id);
        got.push(event);
    }
    if let Ok(extra) = timeout(Duration::from_millis(500), subscription.next()).await {
        panic!("an event arrived after all expected ones: {extra:?}");
    }
    got
}

// ---------------------------------------------------------------------------------------
// 1. Optimistic concurrency
// ---------------------------------------------------------------------------------------

async fn concurrent_exact_appends_have_exactly_one_winner_per_version(
    store: EventStore,
    _db: &TestDb,
) {
    const RACERS: usize = 16;
    const ROUNDS: i64 = 20;
    let stream = stream("race");
    let mut winners = Vec::new();
    for round in 0..ROUNDS {
        let expected = if round == 0 { NoStream } else { Exact(round) };
        let barrier = Arc::new(Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|racer| {
                let (store, stream, barrier) = (store.clone(), stream.clone(), barrier.clone());
                tokio::spawn(async move {
                    let event = NewEvent::new("raced", json!({ "round": round, "racer": racer }));
                    let id = event.event_id;
                    barrier.wait().await;
                    (
                        id,
                        store.append(&stream, expected, vec![event], &meta()).await,
                    )
                })
            })
            .collect();
        let mut won = Vec::new();
        for racer in racers {
            let (id, result) = racer.await.unwrap();
            match result {
                Ok(r) => {
                    assert!(r.appended);
                    assert_eq!(r.version, round + 1);
                    won.push(id);
                }
                lost => assert_wrong_version(lost, expected, round + 1),
            }
        }
        assert_eq!(won.len(), 1, "round {round} had {} winners", won.len());
        winners.push(won[0]);
    }
    let stored = store.read_stream(&stream, 1).await.unwrap();
    assert_eq!(
        stored.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=ROUNDS).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&stored),
        winners,
        "the stream holds exactly the winners"
    );
    assert_eq!(store.stream_version(&stream).await.unwrap(), ROUNDS);
    assert_eq!(
        read_everything(&store, 100, &[]).await.len(),
        ROUNDS as usize
    );
}

async fn concurrent_appends_with_any_version_all_land_contiguously(
    store: EventStore,
    _db: &TestDb,
) {
    const TASKS: usize = 16;
    const APPENDS: usize = 5;
    let stream = stream("tally");
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (store, stream, barrier) = (store.clone(), stream.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut landed = Vec::new();
                for _ in 0..APPENDS {
                    let batch = events(2);
                    let ids = new_ids(&batch);
                    let r = store.append(&stream, Any, batch, &meta()).await.unwrap();
                    assert!(r.appended);
                    landed.push((ids, r.version));
                }
                landed
            })
        })
        .collect();
    let mut landed = Vec::new();
    for task in tasks {
        landed.extend(task.await.unwrap());
    }
    let stored = store.read_stream(&stream, 1).await.unwrap();
    let total = (TASKS * APPENDS * 2) as i64;
    assert_eq!(
        stored.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    for (batch, version) in landed {
        let at = usize::try_from(version).unwrap();
        assert_eq!(
            ids(&stored[at - 2..at]),
            batch,
            "a batch's events are adjacent and end at the version it was told"
        );
    }
}

async fn expected_version_mismatches_are_refused_and_write_nothing(
    store: EventStore,
    _db: &TestDb,
) {
    let s = stream("order");
    assert_wrong_version(
        store.append(&s, StreamExists, events(1), &meta()).await,
        StreamExists,
        0,
    );
    assert_wrong_version(
        store.append(&s, Exact(1), events(1), &meta()).await,
        Exact(1),
        0,
    );
    assert_wrong_version(
        store.append(&s, Exact(3), events(2), &meta()).await,
        Exact(3),
        0,
    );
    assert_eq!(store.stream_version(&s).await.unwrap(), 0);
    assert!(store.read_stream(&s, 1).await.unwrap().is_empty());
    assert!(read_everything(&store, 100, &[]).await.is_empty());

    let created = store
        .append(&s, NoStream, events(2), &meta())
        .await
        .unwrap();
    assert_eq!((created.version, created.appended), (2, true));

    assert_wrong_version(
        store.append(&s, NoStream, events(1), &meta()).await,
        NoStream,
        2,
    );
    assert_wrong_version(
        store.append(&s, Exact(1), events(1), &meta()).await,
        Exact(1),
        2,
    );
    assert_wrong_version(
        store.append(&s, Exact(3), events(3), &meta()).await,
        Exact(3),
        2,
    );
    // A single event ahead of the stream (version 2 is known to this process): no gap.
    assert_wrong_version(
        store.append(&s, Exact(5), events(1), &meta()).await,
        Exact(5),
        2,
    );
    assert_wrong_version(
        store.append(&s, Exact(0), events(1), &meta()).await,
        Exact(0),
        2,
    );
    assert_eq!(store.stream_version(&s).await.unwrap(), 2);
    assert_eq!(
        read_everything(&store, 100, &[]).await.len(),
        2,
        "refused appends wrote nothing"
    );

    let r = store
        .append(&s, StreamExists, events(1), &meta())
        .await
        .unwrap();
    assert_eq!(r.version, 3);
    let r = store
        .append(&s, Exact(3), events(2), &meta())
        .await
        .unwrap();
    assert_eq!(r.version, 5);
    let r = store.append(&s, Any, events(1), &meta()).await.unwrap();
    assert_eq!(r.version, 6);
    let other = stream("order");
    let r = store.append(&other, Any, events(1), &meta()).await.unwrap();
    assert_eq!(r.version, 1, "Any creates a stream");
    let versions: Vec<_> = store
        .read_stream(&s, 1)
        .await
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, (1..=6).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------
// 2. Idempotency
// ---------------------------------------------------------------------------------------

async fn re_appending_the_same_events_returns_the_original_result(store: EventStore, _db: &TestDb) {
    let s = stream("order");
    let batch = events(3);
    let first = store
        .append(&s, NoStream, batch.clone(), &meta())
        .await
        .unwrap();
    assert!(first.appended);
    assert_eq!(first.version, 3);

    // A retry carries the expectation of the original request.
    let retry = store
        .append(&s, NoStream, batch.clone(), &meta())
        .await
        .unwrap();
    assert_eq!(
        retry,
        AppendResult {
            appended: false,
            ..first
        }
    );

    // A late retry, after the stream moved on, still answers with the original result.
    store.append(&s, Any, events(2), &meta()).await.unwrap();
    let late = store
        .append(&s, Exact(0), batch.clone(), &meta())
        .await
        .unwrap();
    assert_eq!(
        late,
        AppendResult {
            appended: false,
            ..first
        }
    );
    let late = store.append(&s, Any, batch.clone(), &meta()).await.unwrap();
    assert_eq!(
        late,
        AppendResult {
            appended: false,
            ..first
        }
    );

    // Part of an earlier batch is also a retry: it writes nothing.
    let part = store
        .append(&s, Any, batch[..2].to_vec(), &meta())
        .await
        .unwrap();
    assert!(!part.appended);
    assert_eq!(part.version, 2);

    let stored = store.read_stream(&s, 1).await.unwrap();
    assert_eq!(stored.len(), 5, "no duplicate rows");
    assert_eq!(ids(&stored[..3]), new_ids(&batch));
    let all = read_everything(&store, 100, &[]).await;
    assert_eq!(all.len(), 5);
    assert_eq!(all[2].position, first.position);
    assert_once_in_order(&all);
}

async fn reusing_event_ids_in_another_stream_or_beside_new_ones_is_a_conflict(
    store: EventStore,
    _db: &TestDb,
) {
    let (a, b) = (stream("order"), stream("order"));
    let batch = events(3);
    let old = new_ids(&batch);
    store
        .append(&a, NoStream, batch.clone(), &meta())
        .await
        .unwrap();
    let before = read_everything(&store, 100, &[]).await;

    assert_conflict(store.append(&b, Any, batch.clone(), &meta()).await, &old);
    assert_conflict(
        store
            .append(&b, NoStream, vec![batch[1].clone()], &meta())
            .await,
        &old,
    );

    let mut old_then_new = batch.clone();
    old_then_new.push(NewEvent::new("thing_happened", json!({})));
    assert_conflict(
        store.append(&a, Any, old_then_new.clone(), &meta()).await,
        &old,
    );
    assert_conflict(store.append(&b, Any, old_then_new, &meta()).await, &old);

    let mut new_then_old = events(2);
    new_then_old.push(batch[2].clone());
    assert_conflict(
        store
            .append(&a, Exact(3), new_then_old.clone(), &meta())
            .await,
        &old,
    );
    assert_conflict(
        store.append(&b, NoStream, new_then_old, &meta()).await,
        &old,
    );

    assert_eq!(
        read_everything(&store, 100, &[]).await,
        before,
        "conflicts wrote nothing"
    );
    assert_eq!(store.stream_version(&a).await.unwrap(), 3);
    assert_eq!(store.stream_version(&b).await.unwrap(), 0);
}

async fn identical_appends_sent_at_once_are_stored_once(store: EventStore, _db: &TestDb) {
    const SENDERS: usize = 8;
    const ROUNDS: usize = 10;
    for round in 0..ROUNDS {
        let s = stream("order");
        let expected = if round % 2 == 0 { Any } else { NoStream };
        let batch = events(3);
        let barrier = Arc::new(Barrier::new(SENDERS));
        let senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                let (store, s, batch, barrier) =
                    (store.clone(), s.clone(), batch.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.append(&s, expected, batch, &meta()).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for sender in senders {
            let result = sender.await.unwrap();
            results.push(result.unwrap_or_else(|e| panic!("round {round} ({expected}): {e}")));
        }
        assert_eq!(
            results.iter().filter(|r| r.appended).count(),
            1,
            "round {round}"
        );
        let original = *results.iter().find(|r| r.appended).unwrap();
        for r in &results {
            assert_eq!(
                *r,
                AppendResult {
                    appended: r.appended,
                    ..original
                }
            );
        }
        let stored = store.read_stream(&s, 1).await.unwrap();
        assert_eq!(
            ids(&stored),
            new_ids(&batch),
            "round {round}: exactly one copy"
        );
    }
    let all = read_everything(&store, 1000, &[]).await;
    assert_eq!(all.len(), ROUNDS * 3);
    assert_once_in_order(&all);
}

// ---------------------------------------------------------------------------------------
// 3. Atomic batches
// ---------------------------------------------------------------------------------------

async fn a_batch_refused_midway_writes_nothing(store: EventStore, _db: &TestDb) {
    let elsewhere = NewEvent::new("thing_happened", json!({}));
    store
        .append(&stream("order"), NoStream, vec![elsewhere.clone()], &meta())
        .await
        .unwrap();
    let s = stream("order");
    store
        .append(&s, NoStream, events(2), &meta())
        .await
        .unwrap();
    let before = read_everything(&store, 100, &[]).await;

    // The third event's id is already stored in another stream.
    let mut batch = events(5);
    batch[2].event_id = elsewhere.event_id;
    assert_conflict(
        store.append(&s, Exact(2), batch.clone(), &meta()).await,
        &[elsewhere.event_id],
    );
    assert_conflict(
        store
            .append(&stream("order"), NoStream, batch, &meta())
            .await,
        &[elsewhere.event_id],
    );

    // The same id twice in one batch.
    let mut batch = events(4);
    batch[3].event_id = batch[1].event_id;
    assert_conflict(
        store.append(&s, Any, batch.clone(), &meta()).await,
        &[batch[1].event_id],
    );

    // The third event is over the size limit.
    let mut batch = events(4);
    batch[2].data = json!({ "blob": "x".repeat(MAX_EVENT_DATA_BYTES) });
    match store.append(&s, Any, batch.clone(), &meta()).await {
        Err(StoreError::EventTooLarge {
            event_id,
            bytes,
            limit,
        }) => {
            assert_eq!(event_id, batch[2].event_id);
            assert_eq!(limit, MAX_EVENT_DATA_BYTES);
            assert!(bytes > limit);
        }
        other => panic!("expected EventTooLarge, got {other:?}"),
    }

    assert!(matches!(
        store.append(&s, Any, Vec::new(), &meta()).await,
        Err(StoreError::EmptyBatch)
    ));

    let mut batch = events(3);
    batch[2].schema_version = 0;
    assert!(matches!(
        store.append(&s, Any, batch, &meta()).await,
        Err(StoreError::InvalidSchemaVersion {
            schema_version: 0,
            ..
        })
    ));
    let mut batch = events(3);
    batch[1].event_type = String::new();
    assert!(matches!(
        store.append(&s, Any, batch, &meta()).await,
        Err(StoreError::InvalidEventType { .. })
    ));

    let too_long = format!("order-{}", "a".repeat(195));
    for bad in [
        "",
        "order",
        "Order-1",
        "order-",
        "-1",
        "1order-x",
        "ord er-1",
        "order-a b",
        "order-é",
        "order-a/b",
        &too_long,
    ] {
        assert!(
            matches!(
                StreamId::parse(bad),
                Err(StoreError::InvalidStreamId { .. })
            ),
            "{bad:?} was accepted as a stream id"
        );
    }
    assert!(matches!(
        StreamId::new("Order", 1),
        Err(StoreError::InvalidStreamId { .. })
    ));
    let good = StreamId::parse("order_line-2024:a.b-c_d").unwrap();
    assert_eq!((good.category(), good.id()), ("order_line", "2024:a.b-c_d"));
    assert!(StreamId::parse(format!("order-{}", "a".repeat(194))).is_ok());

    assert_eq!(
        read_everything(&store, 100, &[]).await,
        before,
        "refused batches wrote nothing"
    );
    assert_eq!(store.stream_version(&s).await.unwrap(), 2);

    // Exactly at the limit is accepted, and read back whole.
    let overhead = json!({ "blob": "" }).to_string().len();
    let at_limit = NewEvent::new(
        "big",
        json!({ "blob": "y".repeat(MAX_EVENT_DATA_BYTES - overhead) }),
    );
    store
        .append(&s, Exact(2), vec![at_limit.clone()], &meta())
        .await
        .unwrap();
    let stored = store.read_stream(&s, 3).await.unwrap();
    assert_eq!(stored[0].data, at_limit.data);
}

async fn a_refused_batch_leaves_concurrent_appends_intact(store: EventStore, _db: &TestDb) {
    const TASKS: usize = 24;
    let taken = NewEvent::new("thing_happened", json!({}));
    store
        .append(&stream("order"), NoStream, vec![taken.clone()], &meta())
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let (store, taken, barrier) = (store.clone(), taken.event_id, barrier.clone());
            tokio::spawn(async move {
                let s = stream("order");
                let mut batch = events(3);
                let expected = match i % 3 {
                    0 => {
                        batch[2].event_id = taken;
                        NoStream
                    }
                    1 => NoStream,
                    _ => Exact(5),
                };
                barrier.wait().await;
                let result = store.append(&s, expected, batch.clone(), &meta()).await;
                (i, s, batch, result)
            })
        })
        .collect();
    let mut expected_total = 1;
    for task in tasks {
        let (i, s, batch, result) = task.await.unwrap();
        match i % 3 {
            0 => assert_conflict(result, &[taken.event_id]),
            1 => {
                assert_eq!(result.unwrap().version, 3);
                expected_total += 3;
            }
            _ => assert_wrong_version(result, Exact(5), 0),
        }
        let stored = store.read_stream(&s, 1).await.unwrap();
        if i % 3 == 1 {
            assert_eq!(ids(&stored), new_ids(&batch));
        } else {
            assert!(
                stored.is_empty(),
                "a refused batch left {} events",
                stored.len()
            );
        }
    }
    let all = read_everything(&store, 1000, &[]).await;
    assert_eq!(all.len(), expected_total);
    assert_once_in_order(&all);
}

/// A row of the test's own table, written with an append; `refuse` refuses it after
/// writing, so that the refusal must undo the write too.
#[derive(Debug)]
struct Row {
    tag: String,
    refuse: bool,
}

const ROW: &str = "INSERT INTO companion_rows (tag) VALUES ($1) ON CONFLICT (tag) DO NOTHING";

impl Row {
    fn outcome(&self) -> Result<(), StoreError> {
        if self.refuse {
            return Err(StoreError::CompanionRefused {
                reason: format!("{} refusé", self.tag),
            });
        }
        Ok(())
    }
}

impl Companion for Row {
    fn write<'c>(&'c self, mut tx: ProjectionTx<'c>) -> CompanionWrite<'c> {
        Box::pin(async move {
            on_tx!(&mut tx, |c| sqlx::query(ROW).bind(&self.tag).execute(c))?;
            self.outcome()
        })
    }

    /// A refusal is `write`'s to say: in the one statement, a refusing row goes in twice,
    /// which fails the statement and sends the append to the transaction path.
    fn in_statement(&self, statement: &mut InStatement) -> Result<bool, StoreError> {
        let tag = statement.bind(&self.tag)?;
        statement.write(if self.refuse {
            format!("INSERT INTO companion_rows (tag) VALUES ({tag}), ({tag})")
        } else {
            format!("INSERT INTO companion_rows (tag) VALUES ({tag}) ON CONFLICT (tag) DO NOTHING")
        });
        Ok(true)
    }
}

/// On PostgreSQL, the appends stored in one statement are exactly `stored` (SQLite's
/// writer has no such path).
fn assert_in_one_statement(store: &EventStore, stored: usize) {
    let expected = if store.backend_name() == "postgres" {
        stored as u64
    } else {
        0
    };
    assert_eq!(
        store.appends_in_one_statement(),
        expected,
        "appends stored in one statement"
    );
}

/// The table the companions of these scenarios write to, and an event stored in a stream
/// of its own (its id, reused, makes an append conflict).
async fn companion_table_and_a_taken_id(store: &EventStore) -> NewEvent {
    on_db!(&store.db(), |pool| sqlx::query(
        "CREATE TABLE companion_rows (tag TEXT PRIMARY KEY)"
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    let taken = NewEvent::new("thing_happened", json!({}));
    store
        .append(&stream("order"), NoStream, vec![taken.clone()], &meta())
        .await
        .unwrap();
    taken
}

/// The companion rows stored, sorted.
async fn companion_tags(store: &EventStore) -> Vec<String> {
    let mut rows: Vec<String> = on_db!(&store.db(), |pool| sqlx::query_scalar(
        "SELECT tag FROM companion_rows"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    rows.sort();
    rows
}

/// Appends sent at once (one SQLite group), each with two companion rows: the rows are
/// stored exactly for the appends stored; an append refused by the log (version, event
/// id) or by a companion leaves neither events nor rows, and its neighbours whole; a
/// retry answered with the original result adds nothing. The second round has no
/// refusal from the log, so that a companion's refusal is the only one in its group.
async fn companions_are_stored_with_their_append_or_not_at_all(store: EventStore, _db: &TestDb) {
    const TASKS: usize = 32;
    let taken = companion_table_and_a_taken_id(&store).await;
    let mut stored_rows = Vec::new();
    for round in 0..2 {
        // 0: refused on its version, 1: on an event id, 2: by a companion, 3: stored.
        let case = move |i: usize| if round == 0 { i % 4 } else { 2 + i % 2 };
        let barrier = Arc::new(Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let (store, taken, barrier) = (store.clone(), taken.event_id, barrier.clone());
                tokio::spawn(async move {
                    let s = stream("order");
                    let mut batch = events(1 + i % 3);
                    let expected = match case(i) {
                        0 => Exact(3),
                        1 => {
                            batch[0].event_id = taken;
                            NoStream
                        }
                        _ => NoStream,
                    };
                    let rows: Vec<Arc<dyn Companion>> = (0..2)
                        .map(|n| {
                            Arc::new(Row {
                                tag: format!("{round}-{i}-{n}"),
                                refuse: case(i) == 2 && n == 1,
                            }) as Arc<dyn Companion>
                        })
                        .collect();
                    barrier.wait().await;
                    let result = store
                        .append_with(&s, expected, batch.clone(), &meta(), &rows)
                        .await;
                    if case(i) == 3 {
                        let again = store
                            .append_with(&s, expected, batch.clone(), &meta(), &rows)
                            .await
                            .unwrap();
                        assert!(!again.appended, "a retry is answered, not stored");
                    }
                    (i, s, batch, result)
                })
            })
            .collect();
        for task in tasks {
            let (i, s, batch, result) = task.await.unwrap();
            match case(i) {
                0 => assert_wrong_version(result, Exact(3), 0),
                1 => assert_conflict(result, &[taken.event_id]),
                2 => assert!(
                    matches!(&result, Err(StoreError::CompanionRefused { reason })
                        if *reason == format!("{round}-{i}-1 refusé")),
                    "{result:?}"
                ),
                _ => {
                    assert!(result.unwrap().appended);
                    stored_rows.extend([format!("{round}-{i}-0"), format!("{round}-{i}-1")]);
                }
            }
            let stored = store.read_stream(&s, 1).await.unwrap();
            if case(i) == 3 {
                assert_eq!(ids(&stored), new_ids(&batch));
            } else {
                assert!(
                    stored.is_empty(),
                    "a refused append left {} events",
                    stored.len()
                );
            }
        }
    }
    let rows = companion_tags(&store).await;
    stored_rows.sort();
    assert_eq!(
        rows, stored_rows,
        "companion rows of exactly the stored appends"
    );
    // Each stored append took one statement; every refusal, and every retry answered with
    // an earlier append's results, took the transaction path that decides.
    assert_in_one_statement(&store, stored_rows.len() / 2);
    let all = read_everything(&store, 1000, &[]).await;
    assert_once_in_order(&all);
}

/// Linked appends (one person's schedule and the session each registers them in) race on
/// a shared stream: each round, exactly one wins the shared stream's next version, and a
/// loser's own stream stays empty until its retry (decided again on the new version)
/// lands, both parts in one commit. Appends refused on their own stream's version, on an
/// event id, or by a companion store nothing of any part; a retry of a stored linked
/// append is answered with its results.
async fn a_linked_append_stores_every_stream_s_part_or_none(store: EventStore, _db: &TestDb) {
    const TASKS: usize = 24;
    let taken = companion_table_and_a_taken_id(&store).await;
    let shared = stream("schedule");
    let barrier = Arc::new(Barrier::new(TASKS));
    // 0: refused on its own stream's version, 1: on an event id, 2: by a companion,
    // 3 and 4: stored (after as many rounds as it takes).
    let case = |i: usize| i % 5;
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let (store, shared, barrier) = (store.clone(), shared.clone(), barrier.clone());
            let taken = taken.event_id;
            tokio::spawn(async move {
                let own = stream("session");
                let mut mine = events(1 + i % 2);
                if case(i) == 1 {
                    mine[0].event_id = taken;
                }
                let own_expected = if case(i) == 0 { Exact(3) } else { NoStream };
                let rows: Vec<Arc<dyn Companion>> = vec![Arc::new(Row {
                    tag: format!("linked-{i}"),
                    refuse: case(i) == 2,
                })];
                barrier.wait().await;
                let mut rounds = 0;
                loop {
                    rounds += 1;
                    let version = store.stream_version(&shared).await.unwrap();
                    let claim = events(1);
                    let parts = vec![
                        StreamAppend {
                            stream: own.clone(),
                            expected: own_expected,
                            events: mine.clone(),
                        },
                        StreamAppend {
                            stream: shared.clone(),
                            expected: Exact(version),
                            events: claim.clone(),
                        },
                    ];
                    let result = store.append_linked(parts.clone(), &meta(), &rows).await;
                    match result {
                        Err(StoreError::WrongExpectedVersion { ref stream_id, .. })
                            if *stream_id == shared.to_string() && rounds < 200 =>
                        {
                            // Lost the shared stream: nothing of its own part is there.
                            assert!(
                                store.read_stream(&own, 1).await.unwrap().is_empty(),
                                "a refused linked append left its other part"
                            );
                            tokio::task::yield_now().await;
                        }
                        Ok(results) => {
                            assert_eq!(
                                results[1].version,
                                version + 1,
                                "stored only on the version it expected"
                            );
                            let again = store.append_linked(parts, &meta(), &rows).await.unwrap();
                            assert_eq!(
                                again
                                    .iter()
                                    .map(|r| (r.version, r.position))
                                    .collect::<Vec<_>>(),
                                results
                                    .iter()
                                    .map(|r| (r.version, r.position))
                                    .collect::<Vec<_>>(),
                                "a retry is answered with the original results"
                            );
                            assert!(again.iter().all(|r| !r.appended), "a retry stores nothing");
                            return (i, own, mine, claim, Ok(results));
                        }
                        other => return (i, own, mine, claim, other),
                    }
                }
            })
        })
        .collect();
    let mut claims = Vec::new();
    for task in tasks {
        let (i, own, mine, claim, result) = task.await.unwrap();
        let stored = store.read_stream(&own, 1).await.unwrap();
        match case(i) {
            0 => match &result {
                Err(StoreError::WrongExpectedVersion { stream_id, .. }) => {
                    assert_eq!(*stream_id, own.to_string(), "the refusal names its stream");
                }
                other => panic!("expected WrongExpectedVersion, got {other:?}"),
            },
            1 => assert!(
                matches!(&result, Err(StoreError::IdempotencyConflict { event_id }) if *event_id == taken.event_id),
                "{result:?}"
            ),
            2 => assert!(
                matches!(&result, Err(StoreError::CompanionRefused { .. })),
                "{result:?}"
            ),
            _ => {
                let results = result.unwrap();
                assert_eq!(results.len(), 2);
                assert_eq!(results[0].version, mine.len() as i64);
                assert_eq!(ids(&stored), new_ids(&mine));
                assert_eq!(
                    stored.last().unwrap().position.commit_id,
                    results[1].position.commit_id,
                    "both parts in one commit"
                );
                claims.push((claim[0].event_id, results[1].version));
                continue;
            }
        }
        assert!(
            stored.is_empty(),
            "a refused linked append left {} events",
            stored.len()
        );
    }
    // The shared stream holds the winners' claims, one per version, none of the refused.
    let schedule = store.read_stream(&shared, 1).await.unwrap();
    assert_eq!(
        schedule.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=claims.len() as i64).collect::<Vec<_>>()
    );
    claims.sort_by_key(|(_, version)| *version);
    assert_eq!(
        ids(&schedule),
        claims.iter().map(|(id, _)| *id).collect::<Vec<_>>()
    );
    let rows = companion_tags(&store).await;
    let mut expected: Vec<String> = (0..TASKS)
        .filter(|i| case(*i) >= 3)
        .map(|i| format!("linked-{i}"))
        .collect();
    expected.sort();
    assert_eq!(
        rows, expected,
        "companion rows of exactly the stored appends"
    );
    // Parts expecting a version never seen here (case 0) take the transaction path.
    assert_in_one_statement(&store, claims.len());
    // A stream named twice, or nothing at all, is refused before anything is written.
    let twice = StreamAppend {
        stream: shared.clone(),
        expected: Any,
        events: events(1),
    };
    assert!(matches!(
        store
            .append_linked(vec![twice.clone(), twice], &meta(), &[])
            .await,
        Err(StoreError::InvalidStreamId { .. })
    ));
    assert!(matches!(
        store.append_linked(vec![], &meta(), &[]).await,
        Err(StoreError::EmptyBatch)
    ));
    assert_eq!(
        store.stream_version(&shared).await.unwrap(),
        claims.len() as i64
    );
    let all = read_everything(&store, 1000, &[]).await;
    assert_once_in_order(&all);
}

// ---------------------------------------------------------------------------------------
// 4. Subscriptions: no skip, catch-up then live
// ---------------------------------------------------------------------------------------

/// An append held open in a transaction of its own, committed when the test says so.
enum HeldAppend {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl HeldAppend {
    /// Appends `event` as version 1 of `stream` without committing; returns its position.
    async fn begin(
        store: &EventStore,
        db: &TestDb,
        stream: &StreamId,
        event: &NewEvent,
    ) -> (Self, GlobalPosition) {
        match store.db() {
            Db::Postgres(_) => {
                // The statement the store runs, on a connection of its own, like another process.
                const APPEND: &str = "INSERT INTO events (stream_id, category, version, event_id, \
                     event_type, schema_version, data, metadata) \
                     VALUES ($1, $2, 1, $3, $4, $5, $6::json, $7::json) RETURNING commit_id, position";
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&db.url)
                    .await
                    .unwrap();
                let mut tx = pool.begin().await.unwrap();
                let (commit_id, position): (i64, i64) = sqlx::query_as(APPEND)
                    .bind(stream.as_str())
                    .bind(stream.category())
                    .bind(event.event_id)
                    .bind(&event.event_type)
                    .bind(event.schema_version)
                    .bind(event.data.to_string())
                    .bind(serde_json::to_string(&meta()).unwrap())
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                (
                    Self::Postgres(tx),
                    GlobalPosition {
                        commit_id,
                        position,
                    },
                )
            }
            Db::Sqlite(pool) => {
                // SQLite has one writer: hold the write lock, as a slow group commit would.
                const INSERT: &str = "INSERT INTO events (stream_id, category, version, event_id, \
                     event_type, schema_version, data, metadata, recorded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING position";
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
                let position: i64 = sqlx::query_scalar(INSERT)
                    .bind(stream.as_str())
                    .bind(stream.category())
                    .bind(1_i64)
                    .bind(event.event_id)
                    .bind(&event.event_type)
                    .bind(event.schema_version)
                    .bind(event.data.to_string())
                    .bind(serde_json::to_string(&meta()).unwrap())
                    .bind(chrono::Utc::now())
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                (
                    Self::Sqlite(tx),
                    GlobalPosition {
                        commit_id: 0,
                        position,
                    },
                )
            }
        }
    }

    async fn commit(self) {
        match self {
            Self::Postgres(tx) => tx.commit().await.unwrap(),
            Self::Sqlite(tx) => tx.commit().await.unwrap(),
        }
    }
}

async fn head_is_the_last_committed_event_and_settle_waits_for_it(store: EventStore, _db: &TestDb) {
    assert_eq!(store.head().await.unwrap(), None);
    assert!(store.settle(Duration::from_millis(1)).await.unwrap());
    let mut last = None;
    for name in ["order", "invoice"] {
        let appended = store
            .append(&stream(name), ExpectedVersion::NoStream, events(3), &meta())
            .await
            .unwrap();
        last = Some(appended.position);
        assert_eq!(store.head().await.unwrap(), last);
    }
    // The head is committed, but on PostgreSQL another database's open transaction may
    // still withhold it from readers of the log: `settle` waits for it.
    assert!(store.settle(Duration::from_secs(10)).await.unwrap());
    let all = store
        .read_all(GlobalPosition::START, 100, &[])
        .await
        .unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all.last().map(|e| e.position), last);
}

async fn wait_readable_tells_when_an_append_can_be_read(store: EventStore, db: &TestDb) {
    let short = Duration::from_millis(300);
    let first = store
        .append(
            &stream("order"),
            ExpectedVersion::NoStream,
            events(1),
            &meta(),
        )
        .await
        .unwrap();
    assert!(
        store
            .wait_readable(first.position, Duration::from_secs(10))
            .await
            .unwrap()
    );
    if let Db::Postgres(_) = store.db() {
        // An older transaction still open holds later appends back, then releases them.
        let (held, _) = HeldAppend::begin(&store, db, &stream("order"), &events(1).remove(0)).await;
        let later = store
            .append(
                &stream("order"),
                ExpectedVersion::NoStream,
                events(1),
                &meta(),
            )
            .await
            .unwrap();
        assert!(!store.wait_readable(later.position, short).await.unwrap());
        held.commit().await;
        assert!(
            store
                .wait_readable(later.position, Duration::from_secs(10))
                .await
                .unwrap()
        );
    }
}

async fn a_subscriber_never_skips_an_event_that_commits_late_with_a_lower_position(
    store: EventStore,
    db: &TestDb,
) {
    const WRITERS: usize = 4;
    const APPENDS_PER_WRITER: usize = 25;
    const CATEGORIES: [&str; 3] = ["order", "invoice", "noise"];
    let subscribed = strings(&["order", "invoice"]);

    let mut history = HashSet::new();
    let mut history_end = START;
    for i in 0..6 {
        let batch = events(2);
        if CATEGORIES[i % 3] != "noise" {
            history.extend(new_ids(&batch));
        }
        history_end = store
            .append(&stream(CATEGORIES[i % 3]), NoStream, batch, &meta())
            .await
            .unwrap()
            .position;
    }

    // Every write is planned up front, so the subscribers know what they must receive.
    let held_stream = stream("invoice");
    let held_event = NewEvent::new("invoice_held", json!({ "held": true }));
    let mut live = HashSet::from([held_event.event_id]);
    let plan: Vec<Vec<(StreamId, Vec<NewEvent>)>> = (0..WRITERS)
        .map(|w| {
            let streams: Vec<_> = CATEGORIES.iter().map(|c| stream(c)).collect();
            (0..APPENDS_PER_WRITER)
                .map(|i| {
                    let k = (w + i) % 3;
                    let batch = events(2);
                    if CATEGORIES[k] != "noise" {
                        live.extend(new_ids(&batch));
                    }
                    (streams[k].clone(), batch)
                })
                .collect()
        })
        .collect();
    let everything: HashSet<_> = history.union(&live).copied().collect();
    // A reader of one category takes another path (its own index on PostgreSQL and SQLite).
    let invoices: HashSet<_> = plan
        .iter()
        .flatten()
        .filter(|(s, _)| s.category() == "invoice")
        .flat_map(|(_, batch)| new_ids(batch))
        .chain([held_event.event_id])
        .collect();

    let from_start = tokio::spawn(collect(
        store.subscribe(START, subscribed.clone()),
        everything,
    ));
    let (held, held_position) = HeldAppend::begin(&store, db, &held_stream, &held_event).await;
    let invoices_only = tokio::spawn(collect(
        store.subscribe(history_end, strings(&["invoice"])),
        invoices,
    ));
    let resumed = tokio::spawn(collect(
        store.subscribe(history_end, subscribed.clone()),
        live.clone(),
    ));

    let writers: Vec<_> = plan
        .into_iter()
        .map(|appends| {
            let store = store.clone();
            tokio::spawn(async move {
                for (s, batch) in appends {
                    store.append(&s, Any, batch, &meta()).await.unwrap();
                }
            })
        })
        .collect();
    let mut writers = Some(writers);
    if db.is_postgres() {
        // PostgreSQL writers do not wait for the held transaction: they commit higher
        // positions first.
        for writer in writers.take().unwrap() {
            writer.await.unwrap();
        }
    }
    sleep(Duration::from_secs(1)).await;
    held.commit().await;
    for writer in writers.into_iter().flatten() {
        writer.await.unwrap();
    }

    let stored = read_everything(&store, 1000, &["order", "invoice"]).await;
    let held_stored = stored
        .iter()
        .find(|e| e.event_id == held_event.event_id)
        .unwrap();
    assert_eq!(held_stored.position, held_position);
    for event in stored
        .iter()
        .filter(|e| live.contains(&e.event_id) && e.event_id != held_event.event_id)
    {
        assert!(
            event.position.position > held_position.position,
            "the held append should have taken a lower position than every later writer"
        );
    }

    let from_start = from_start.await.unwrap();
    assert_once_in_order(&from_start);
    assert_eq!(
        ids(&from_start),
        ids(&stored),
        "the subscriber saw what read_all sees, in order"
    );
    let resumed = resumed.await.unwrap();
    assert_once_in_order(&resumed);
    let after_history: Vec<_> = stored
        .iter()
        .filter(|e| e.position > history_end)
        .cloned()
        .collect();
    assert_eq!(ids(&resumed), ids(&after_history));
    assert!(from_start.iter().all(|e| e.category != "noise"));
    let invoices_only = invoices_only.await.unwrap();
    assert_once_in_order(&invoices_only);
    assert_eq!(
        ids(&invoices_only),
        ids(&after_history
            .iter()
            .filter(|e| e.category == "invoice")
            .cloned()
            .collect::<Vec<_>>()),
        "a subscriber of one category saw its events, the late one too, in order"
    );
}

/// `appends` appends of `each` events to new streams of the `noise` category.
async fn append_noise(store: &EventStore, appends: usize, each: usize) {
    for _ in 0..appends {
        store
            .append(&stream("noise"), NoStream, events(each), &meta())
            .await
            .unwrap();
    }
}

/// Appends one event to a new stream of the `rare` category, adding its id to `own`.
async fn append_rare(store: &EventStore, own: &mut Vec<Uuid>) -> GlobalPosition {
    let event = events(1);
    own.extend(new_ids(&event));
    store
        .append(&stream("rare"), NoStream, event, &meta())
        .await
        .unwrap()
        .position
}

/// An event of `category` held open ([`HeldAppend`]), then noise committed after it at
/// higher positions: its append, its position and its id.
async fn held_under_noise(
    store: &EventStore,
    db: &TestDb,
    category: &str,
) -> (HeldAppend, GlobalPosition, Uuid) {
    let late = events(1).remove(0);
    let (held, position) = HeldAppend::begin(store, db, &stream(category), &late).await;
    append_noise(store, 3, 2).await;
    (held, position, late.event_id)
}

/// A subscriber with nothing to deliver looks past the other categories' events it read,
/// so that the next wake-up does not read them all again; never past an event of its own
/// still to commit.
async fn an_idle_subscriber_moves_past_other_categories_never_past_a_late_commit(
    store: EventStore,
    db: &TestDb,
) {
    let mut own = Vec::new();
    append_rare(&store, &mut own).await;
    let mut subscription = store.subscribe(START, strings(&["rare"]));
    let delivered = subscription.next().await.unwrap();
    let mut got = vec![delivered.event_id];
    append_noise(&store, 5, 3).await;
    let head = store.head().await.unwrap().unwrap();
    // Waiting for a next event runs the reads; other tests' transactions on the server
    // may hold the readable line back a while.
    let deadline = Instant::now() + PATIENCE;
    while subscription.scanned() != head {
        assert!(
            Instant::now() < deadline,
            "the subscriber looked up to {:?}, not to the head {head:?}",
            subscription.scanned()
        );
        assert!(
            timeout(Duration::from_millis(50), subscription.next())
                .await
                .is_err(),
            "only noise was appended"
        );
    }
    assert_eq!(subscription.position(), delivered.position);

    if db.is_postgres() {
        // The noise wakes the subscriber.
        let (held, held_position, late) = held_under_noise(&store, db, "rare").await;
        own.push(late);
        assert!(
            timeout(Duration::from_millis(300), subscription.next())
                .await
                .is_err()
        );
        assert!(
            subscription.scanned() < held_position,
            "the subscriber looked up to {:?}, past its event still to commit at {held_position:?}",
            subscription.scanned()
        );
        held.commit().await;
        got.push(subscription.next().await.unwrap().event_id);
    }

    append_rare(&store, &mut own).await;
    got.push(subscription.next().await.unwrap().event_id);
    assert_eq!(got, own, "each of its events once, in order");
}

async fn a_subscriber_gets_its_categories_history_then_live_events(
    store: EventStore,
    _db: &TestDb,
) {
    let categories = ["order", "invoice", "noise"];
    for i in 0..12 {
        store
            .append(
                &stream(categories[i % 3]),
                NoStream,
                events(1 + i % 2),
                &meta(),
            )
            .await
            .unwrap();
    }
    let subscribed = strings(&["order", "invoice"]);
    let history = read_everything(&store, 100, &["order", "invoice"]).await;
    assert_eq!(
        history.len(),
        12,
        "4 orders and 4 invoices of 1 or 2 events"
    );

    let mut subscription = store.subscribe(START, subscribed.clone());
    let mut caught_up = Vec::new();
    for _ in 0..history.len() {
        caught_up.push(
            timeout(PATIENCE, subscription.next())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(caught_up, history);

    // Live: appended while the subscriber waits.
    let order = NewEvent::new("order_placed", json!({}));
    let invoice = NewEvent::new("invoice_sent", json!({}));
    let writer = {
        let (store, order, invoice) = (store.clone(), order.clone(), invoice.clone());
        tokio::spawn(async move {
            sleep(Duration::from_millis(200)).await;
            store
                .append(&stream("noise"), NoStream, events(1), &meta())
                .await
                .unwrap();
            store
                .append(&stream("order"), NoStream, vec![order], &meta())
                .await
                .unwrap();
            store
                .append(&stream("noise"), NoStream, events(1), &meta())
                .await
                .unwrap();
            store
                .append(&stream("invoice"), NoStream, vec![invoice], &meta())
                .await
                .unwrap();
        })
    };
    let first = timeout(PATIENCE, subscription.next())
        .await
        .unwrap()
        .unwrap();
    let second = timeout(PATIENCE, subscription.next())
        .await
        .unwrap()
        .unwrap();
    writer.await.unwrap();
    assert_eq!(
        (first.event_id, second.event_id),
        (order.event_id, invoice.event_id)
    );
    assert!(
        timeout(Duration::from_millis(300), subscription.next())
            .await
            .is_err(),
        "noise leaked"
    );

    // Resumed from its position, a new subscription starts after what was delivered.
    let resume_at = subscription.position();
    assert_eq!(resume_at, second.position);
    drop(subscription);
    let batch = events(3);
    store
        .append(&stream("invoice"), NoStream, batch.clone(), &meta())
        .await
        .unwrap();
    let mut resumed = store.subscribe(resume_at, subscribed);
    let mut got = Vec::new();
    while got.len() < batch.len() {
        got.extend(
            timeout(PATIENCE, resumed.next_batch())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(ids(&got), new_ids(&batch));
    assert_eq!(resumed.position(), got[2].position);

    // No category: everything, noise included.
    let mut all = store.subscribe(START, Vec::new());
    let mut every = Vec::new();
    let total = read_everything(&store, 100, &[]).await;
    while every.len() < total.len() {
        every.extend(timeout(PATIENCE, all.next_batch()).await.unwrap().unwrap());
    }
    assert_eq!(every, total);
}

// ---------------------------------------------------------------------------------------
// 5. Projections: exactly once across crashes
// ---------------------------------------------------------------------------------------

/// Records one row per event; the primary key makes a second apply of an event fail.
struct Recorder {
    name: String,
    categories: Vec<String>,
    /// Fails its batch after writing the row of this event.
    poison: Mutex<Option<Uuid>>,
    /// Per event, so a test can abort a runner inside a transaction.
    delay: Duration,
}

impl Recorder {
    fn new(name: &str, categories: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            categories: strings(categories),
            poison: Mutex::new(None),
            delay: Duration::ZERO,
        }
    }

    fn slow(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Projection for Recorder {
    fn name(&self) -> &str {
        &self.name
    }

    fn categories(&self) -> &[String] {
        &self.categories
    }

    async fn apply(
        &self,
        tx: &mut ProjectionTx<'_>,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        const INSERT: &str =
            "INSERT INTO conformance_applied (projection, event_id, position) VALUES ($1, $2, $3)";
        let poison = *self.poison.lock().unwrap();
        for event in events {
            on_tx!(tx, |c| sqlx::query(INSERT)
                .bind(&self.name)
                .bind(event.event_id.to_string())
                .bind(event.position.position)
                .execute(c))?;
            if poison == Some(event.event_id) {
                return Err("poisoned event".into());
            }
            if !self.delay.is_zero() {
                sleep(self.delay).await;
            }
        }
        Ok(())
    }
}

async fn create_applied_table(store: &EventStore) {
    const CREATE: &str = "CREATE TABLE conformance_applied (projection TEXT NOT NULL, \
         event_id TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (projection, event_id))";
    match store.db() {
        Db::Postgres(pool) => sqlx::query(CREATE).execute(&pool).await.map(|_| ()),
        Db::Sqlite(pool) => sqlx::query(CREATE).execute(&pool).await.map(|_| ()),
    }
    .unwrap();
}

/// The event ids the projection applied.
async fn applied(store: &EventStore, projection: &str) -> Vec<Uuid> {
    const SELECT: &str =
        "SELECT event_id FROM conformance_applied WHERE projection = $1 ORDER BY position";
    let rows: Vec<String> = match store.db() {
        Db::Postgres(pool) => {
            sqlx::query_scalar(SELECT)
                .bind(projection)
                .fetch_all(&pool)
                .await
        }
        Db::Sqlite(pool) => {
            sqlx::query_scalar(SELECT)
                .bind(projection)
                .fetch_all(&pool)
                .await
        }
    }
    .unwrap();
    rows.iter().map(|id| id.parse().unwrap()).collect()
}

/// An up-to-date projection of rare categories moves its checkpoint past the other
/// categories' events (its next reads no longer scan them), also when none of its events
/// exists yet; never past an event of its own that commits late; and it still applies
/// every event of its own, once.
async fn an_idle_projection_moves_past_other_categories_never_past_a_late_commit(
    store: EventStore,
    db: &TestDb,
) {
    create_applied_table(&store).await;
    // Far enough behind: 4 positions (10,000 by default).
    let skips = db
        .store_with(StoreOptions {
            idle_skip: 4,
            ..TestDb::options()
        })
        .await;
    let first = events(2);
    let mut own = new_ids(&first);
    store
        .append(&stream("order"), NoStream, first, &meta())
        .await
        .unwrap();
    append_noise(&store, 5, 3).await;
    settle(&store).await;
    let orders = Recorder::new("orders", &["order"]);
    let rare = Recorder::new("rare", &["rare"]);
    let head = store.head().await.unwrap().unwrap();
    // A store of default options leaves the checkpoint where its last event is.
    store.catch_up(&orders, 10).await.unwrap();
    let last_order = read_everything(&store, 100, &["order"])
        .await
        .last()
        .unwrap()
        .position;
    assert_eq!(store.checkpoint("orders").await.unwrap(), last_order);
    // Other tests' transactions on the server may hold the readable line back a while.
    eventually("both checkpoints are at the head", || async {
        skips.catch_up(&orders, 10).await.unwrap();
        skips.catch_up(&rare, 10).await.unwrap();
        store.checkpoint("orders").await.unwrap() == head
            && store.checkpoint("rare").await.unwrap() == head
    })
    .await;
    assert_eq!(applied(&store, "orders").await, own);

    if db.is_postgres() {
        let (held, held_position, late_id) = held_under_noise(&store, db, "order").await;
        skips.catch_up(&orders, 10).await.unwrap();
        let stands = store.checkpoint("orders").await.unwrap();
        assert!(
            stands < held_position,
            "the checkpoint moved to {stands:?}, past the order still to commit at {held_position:?}"
        );
        held.commit().await;
        own.push(late_id);
        eventually("the late order is applied", || async {
            skips.catch_up(&orders, 10).await.unwrap();
            applied(&store, "orders").await == own
        })
        .await;
    }

    let next = events(1);
    own.extend(new_ids(&next));
    store
        .append(&stream("order"), NoStream, next, &meta())
        .await
        .unwrap();
    eventually("the next order is applied", || async {
        skips.catch_up(&orders, 10).await.unwrap();
        applied(&store, "orders").await == own
    })
    .await;
    assert_eq!(
        applied(&store, "orders").await,
        own,
        "each order once, in order"
    );
}

/// A runner that catches up at every wake-up reads the other categories' events once:
/// the next catch-up starts where the last one looked up to, though the checkpoint stays
/// on the projection's last event (it moves only every `idle_skip` positions); never
/// past an event of its own still to commit.
async fn a_projection_runner_reads_other_categories_once_never_past_a_late_commit(
    store: EventStore,
    db: &TestDb,
) {
    create_applied_table(&store).await;
    let rare = Recorder::new("rare", &["rare"]);
    let mut lookout = Lookout::default();
    let mut own = Vec::new();
    let first_position = append_rare(&store, &mut own).await;
    append_noise(&store, 5, 3).await;
    let head = store.head().await.unwrap().unwrap();
    // Other tests' transactions on the server may hold the readable line back a while.
    let deadline = Instant::now() + PATIENCE;
    loop {
        store
            .catch_up_looking(&rare, 10, &mut lookout)
            .await
            .unwrap();
        if lookout.horizon() == Some(head) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the runner looked up to {:?}, not to the head {head:?}",
            lookout.horizon()
        );
        sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.checkpoint("rare").await.unwrap(), first_position);
    assert_eq!(applied(&store, "rare").await, own);

    if db.is_postgres() {
        let (held, held_position, late) = held_under_noise(&store, db, "rare").await;
        own.push(late);
        store
            .catch_up_looking(&rare, 10, &mut lookout)
            .await
            .unwrap();
        let looked = lookout.horizon().unwrap();
        assert!(
            looked < held_position,
            "the runner looked up to {looked:?}, past its event still to commit at {held_position:?}"
        );
        held.commit().await;
        applied_looking(&store, &rare, &mut lookout, &own).await;
    }

    append_rare(&store, &mut own).await;
    applied_looking(&store, &rare, &mut lookout, &own).await;
}

/// Catches `projection` up from `lookout` until it has applied `own`, each once in order.
async fn applied_looking(
    store: &EventStore,
    projection: &Recorder,
    lookout: &mut Lookout,
    own: &[Uuid],
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        store
            .catch_up_looking(projection, 10, lookout)
            .await
            .unwrap();
        let done = applied(store, &projection.name).await;
        if done == own {
            return;
        }
        assert!(
            Instant::now() < deadline && own.starts_with(&done),
            "applied {done:?}, expected {own:?}"
        );
        sleep(Duration::from_millis(20)).await;
    }
}

/// A batch cancelled at any point (its task aborted, a timeout, a shutdown) must not
/// leave its connection inside a transaction: the pool would hand that connection to the
/// next append, which would run inside the stale transaction, be acknowledged, and vanish
/// when the connection closes. sqlx 0.9.0 did this when BEGIN's answer had not come yet
/// (launchbadge/sqlx#4393); it cost this suite's killed-runner test 9 of its 90 orders.
/// Two connections (the live notices' listener may hold one), so the appends reuse the
/// cancelled batches'; cancelled after 0 to 3 ms, so some land inside BEGIN's round trip.
async fn a_batch_cancelled_anywhere_leaves_no_transaction_behind(store: EventStore, db: &TestDb) {
    create_applied_table(&store).await;
    store.close().await;
    let store = db
        .store_with(StoreOptions {
            max_connections: 2,
            ..TestDb::options()
        })
        .await;
    store
        .append(&stream("order"), NoStream, events(1), &meta())
        .await
        .unwrap();
    settle(&store).await;
    // 2 ms inside its transaction: a fast machine still has batches to cancel (a timer
    // of millisecond grain let it finish every one in time).
    let recorder = Recorder::new("orders", &["order"]).slow(Duration::from_millis(2));
    let batch = read_everything(&store, 10, &["order"]).await;
    let mut cancelled = 0;
    for step in 0..150u64 {
        let within = Duration::from_micros(step * 20);
        // Each time from the start: one commits, the others are refused as moved, all
        // of them open a transaction first.
        if timeout(within, store.apply_batch(&recorder, START, &batch))
            .await
            .is_err()
        {
            cancelled += 1;
        }
        store
            .append(&stream("order"), NoStream, events(1), &meta())
            .await
            .unwrap();
    }
    assert!(cancelled > 0, "no batch was cancelled");
    store.close().await;

    let store = db.store().await;
    assert_eq!(
        read_everything(&store, 1000, &["order"]).await.len(),
        151,
        "every acknowledged append is stored"
    );
    assert!(applied(&store, "orders").await.len() <= 1);
    store.close().await;
}

async fn a_projection_killed_mid_run_resumes_from_its_checkpoint(store: EventStore, db: &TestDb) {
    create_applied_table(&store).await;
    for i in 0..20 {
        store
            .append(&stream("order"), NoStream, events(3), &meta())
            .await
            .unwrap();
        if i % 4 == 0 {
            store
                .append(&stream("noise"), NoStream, events(1), &meta())
                .await
                .unwrap();
        }
    }
    let recorder = Recorder::new("orders", &["order"]);
    settle(&store).await;
    for _ in 0..3 {
        assert_eq!(store.project_batch(&recorder, 5).await.unwrap(), 5);
    }
    let orders = read_everything(&store, 100, &["order"]).await;
    assert_eq!(applied(&store, "orders").await, ids(&orders[..15]));
    assert_eq!(
        store.checkpoint("orders").await.unwrap(),
        orders[14].position
    );

    // A runner killed while it works, most likely inside a batch's transaction.
    let runner = {
        let store = store.clone();
        tokio::spawn(async move {
            let recorder = Recorder::new("orders", &["order"]).slow(Duration::from_millis(5));
            store
                .run_projection(&recorder, 5, CancellationToken::new())
                .await;
        })
    };
    eventually("the runner applied some batches", || async {
        applied(&store, "orders").await.len() >= 30
    })
    .await;
    runner.abort();
    assert!(runner.await.unwrap_err().is_cancelled());

    // Events keep coming while nobody projects; then the process is gone.
    for _ in 0..10 {
        store
            .append(&stream("order"), NoStream, events(3), &meta())
            .await
            .unwrap();
    }
    // A killed process's connections die with it, and the server rolls their
    // transactions back. Here the runner's task is gone but its connection is not: the
    // pool is closed, which waits for that connection to come back and rolls its batch
    // back. Merely dropped, it could keep the transaction open and hold PostgreSQL's
    // readers back (every snapshot's xmin) past the test's patience.
    store.close().await;

    let store = db.store().await;
    // Lag, not loss, if anything is still settling: wait for every order to be readable.
    // Timed out, it tells which: how many are readable, how many stored.
    let mut readable = 0;
    let waited = timeout(PATIENCE, async {
        while readable != 90 {
            readable = read_everything(&store, 100, &["order"]).await.len();
            sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if waited.is_err() {
        let stored: i64 = on_db!(&store.db(), |pool| {
            sqlx::query_scalar("SELECT count(*) FROM events WHERE category = 'order'")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        panic!("{readable} of the 90 orders readable after the restart, {stored} stored");
    }
    let orders = read_everything(&store, 100, &["order"]).await;
    assert_eq!(orders.len(), 90);
    let shutdown = CancellationToken::new();
    let runner = {
        let (store, shutdown) = (store.clone(), shutdown.clone());
        tokio::spawn(async move {
            let recorder = Recorder::new("orders", &["order"]);
            store.run_projection(&recorder, 7, shutdown).await;
        })
    };
    eventually("the restarted runner caught up", || async {
        store.checkpoint("orders").await.unwrap() == orders[89].position
    })
    .await;
    shutdown.cancel();
    timeout(PATIENCE, runner).await.unwrap().unwrap();

    assert_eq!(
        applied(&store, "orders").await,
        ids(&orders),
        "every event applied exactly once"
    );
    assert_eq!(
        store
            .project_batch(&Recorder::new("orders", &["order"]), 10)
            .await
            .unwrap(),
        0
    );
}

async fn a_failing_projection_batch_applies_nothing_and_succeeds_on_retry(
    store: EventStore,
    _db: &TestDb,
) {
    create_applied_table(&store).await;
    store
        .append(&stream("order"), NoStream, events(10), &meta())
        .await
        .unwrap();
    let stored = read_everything(&store, 100, &[]).await;
    let recorder = Recorder::new("orders", &[]);
    *recorder.poison.lock().unwrap() = Some(stored[6].event_id);

    assert_eq!(store.project_batch(&recorder, 4).await.unwrap(), 4);
    let before = store.checkpoint("orders").await.unwrap();
    assert_eq!(before, stored[3].position);
    for _ in 0..2 {
        match store.project_batch(&recorder, 4).await {
            Err(StoreError::Projection { name, .. }) => assert_eq!(name, "orders"),
            other => panic!("expected the projection's error, got {other:?}"),
        }
        assert_eq!(
            store.checkpoint("orders").await.unwrap(),
            before,
            "the checkpoint stayed"
        );
        assert_eq!(
            applied(&store, "orders").await,
            ids(&stored[..4]),
            "nothing of the batch stayed"
        );
    }

    *recorder.poison.lock().unwrap() = None;
    assert_eq!(store.project_batch(&recorder, 4).await.unwrap(), 4);
    assert_eq!(store.project_batch(&recorder, 4).await.unwrap(), 2);
    assert_eq!(store.project_batch(&recorder, 4).await.unwrap(), 0);
    assert_eq!(applied(&store, "orders").await, ids(&stored));
    assert_eq!(
        store.checkpoint("orders").await.unwrap(),
        stored[9].position
    );
}

async fn two_runners_of_one_projection_never_apply_an_event_twice(store: EventStore, db: &TestDb) {
    create_applied_table(&store).await;
    for _ in 0..20 {
        store
            .append(&stream("order"), NoStream, events(3), &meta())
            .await
            .unwrap();
    }
    let other = db.store().await;
    let stored = read_everything(&store, 100, &[]).await;

    // Two runners with the same batch from the same checkpoint: one applies it, the
    // other finds the checkpoint moved.
    let slow = Recorder::new("orders", &[]).slow(Duration::from_millis(40));
    let from = store.checkpoint("orders").await.unwrap();
    let batch = store.read_all(from, 5, &[]).await.unwrap();
    let (a, b) = tokio::join!(
        store.apply_batch(&slow, from, &batch),
        other.apply_batch(&slow, from, &batch)
    );
    let outcomes = [a, b];
    assert_eq!(
        outcomes.iter().filter(|r| r.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|r| matches!(r, Err(StoreError::CheckpointMoved { name }) if name == "orders")),
        "{outcomes:?}"
    );
    assert_eq!(applied(&store, "orders").await, ids(&stored[..5]));
    // A runner that lost may not come back with its stale batch either.
    assert!(matches!(
        store.apply_batch(&slow, from, &batch).await,
        Err(StoreError::CheckpointMoved { .. })
    ));

    // Free-running: four runners on two handles, small batches.
    let runners: Vec<_> = (0..4)
        .map(|i| {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                let recorder = Recorder::new("orders", &[]);
                let mut moved = 0;
                loop {
                    match store.project_batch(&recorder, 3).await {
                        Ok(0) => return moved,
                        Ok(_) => {}
                        Err(StoreError::CheckpointMoved { .. }) => moved += 1,
                        Err(e) => panic!("runner {i}: {e}"),
                    }
                }
            })
        })
        .collect();
    for runner in runners {
        timeout(PATIENCE, runner).await.unwrap().unwrap();
    }
    assert_eq!(
        applied(&store, "orders").await,
        ids(&stored),
        "each event applied exactly once"
    );
    assert_eq!(
        store.checkpoint("orders").await.unwrap(),
        stored[59].position
    );
}

// ---------------------------------------------------------------------------------------
// 6. Upcasting
// ---------------------------------------------------------------------------------------

/// The row as stored, bypassing the store's reads.
async fn stored_row(store: &EventStore, event_id: Uuid) -> (Value, i32) {
    const SELECT: &str = "SELECT data, schema_version FROM events WHERE event_id = $1";
    match store.db() {
        Db::Postgres(pool) => sqlx::query_as(SELECT)
            .bind(event_id)
            .fetch_one(&pool)
            .await
            .unwrap(),
        Db::Sqlite(pool) => {
            let (data, version): (String, i32) = sqlx::query_as(SELECT)
                .bind(event_id)
                .fetch_one(&pool)
                .await
                .unwrap();
            (serde_json::from_str(&data).unwrap(), version)
        }
    }
}

async fn old_schema_versions_are_upcast_on_read_and_never_rewritten(
    store: EventStore,
    db: &TestDb,
) {
    let s = stream("person");
    let v1 = NewEvent::new("person_registered", json!({ "name": "Ada Lovelace" }));
    let v2 = NewEvent::new(
        "person_registered",
        json!({ "first_name": "Alan", "last_name": "Turing" }),
    )
    .with_schema_version(2);
    let v3 = NewEvent::new(
        "person_registered",
        json!({ "first_name": "Grace", "last_name": "Hopper", "country": "US" }),
    )
    .with_schema_version(3);
    let other_type = NewEvent::new("person_moved", json!({ "to": "Paris" }));
    let written = vec![v1.clone(), v2.clone(), v3.clone(), other_type.clone()];
    store
        .append(&s, NoStream, written.clone(), &meta())
        .await
        .unwrap();

    let upcasters = Upcasters::new()
        .register("person_registered", 1, |data| {
            let name = data["name"].as_str().ok_or("name is not a string")?;
            let (first, last) = name.split_once(' ').ok_or("name has no space")?;
            Ok(json!({ "first_name": first, "last_name": last }))
        })
        .register("person_registered", 2, |mut data| {
            data["country"] = json!("GB");
            Ok(data)
        });
    let upcasting = db
        .store_with(StoreOptions {
            upcasters,
            ..TestDb::options()
        })
        .await;

    let expected = [
        (
            3,
            json!({ "first_name": "Ada", "last_name": "Lovelace", "country": "GB" }),
        ),
        (
            3,
            json!({ "first_name": "Alan", "last_name": "Turing", "country": "GB" }),
        ),
        (3, v3.data.clone()),
        (1, other_type.data.clone()),
    ];
    let shape = |events: &[RecordedEvent]| -> Vec<(i32, Value)> {
        events
            .iter()
            .map(|e| (e.schema_version, e.data.clone()))
            .collect()
    };
    settle(&store).await;
    assert_eq!(
        shape(&upcasting.read_stream(&s, 1).await.unwrap()),
        expected
    );
    assert_eq!(
        shape(&upcasting.read_all(START, 100, &[]).await.unwrap()),
        expected
    );
    let mut subscription = upcasting.subscribe(START, strings(&["person"]));
    let first = timeout(PATIENCE, subscription.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.schema_version, &first.data), (3, &expected[0].1));

    // Stored rows keep their original shape, and a store without upcasters reads them so.
    for event in &written {
        assert_eq!(
            stored_row(&store, event.event_id).await,
            (event.data.clone(), event.schema_version)
        );
    }
    let plain: Vec<_> = written
        .iter()
        .map(|e| (e.schema_version, e.data.clone()))
        .collect();
    assert_eq!(shape(&store.read_stream(&s, 1).await.unwrap()), plain);

    // A step that fails is an error, never the old shape passed off as the new one.
    let broken = stream("person");
    store
        .append(
            &broken,
            NoStream,
            vec![NewEvent::new("person_registered", json!({ "name": 42 }))],
            &meta(),
        )
        .await
        .unwrap();
    match upcasting.read_stream(&broken, 1).await {
        Err(StoreError::Upcast {
            event_type, from, ..
        }) => {
            assert_eq!((event_type.as_str(), from), ("person_registered", 1));
        }
        other => panic!("expected an upcast error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// 7. Leader leases
// ---------------------------------------------------------------------------------------

async fn a_lease_has_one_holder_and_is_free_once_dropped(store: EventStore, db: &TestDb) {
    let other = db.store().await;
    let lease = store
        .try_lease("projector")
        .await
        .unwrap()
        .expect("a free lease is granted");
    assert!(lease.is_held());
    assert_eq!(lease.name(), "projector");
    assert!(other.try_lease("projector").await.unwrap().is_none());
    assert!(
        store.try_lease("projector").await.unwrap().is_none(),
        "not twice to the same store"
    );
    let reminders = other.try_lease("reminders").await.unwrap();
    assert!(reminders.is_some(), "leases of other names are independent");

    drop(lease);
    // Well within the default time to live: the lease was released, not left to expire.
    let shutdown = CancellationToken::new();
    let taken = timeout(Duration::from_secs(5), other.lease("projector", &shutdown))
        .await
        .expect("a dropped lease is free at once")
        .unwrap()
        .unwrap();
    assert!(taken.is_held());
    assert!(store.try_lease("projector").await.unwrap().is_none());

    // Waiting for a held lease ends at shutdown.
    shutdown.cancel();
    assert!(store.lease("projector", &shutdown).await.unwrap().is_none());
}

fn short_lease() -> StoreOptions {
    StoreOptions {
        lease_ttl: Duration::from_millis(600),
        ..TestDb::options()
    }
}

async fn an_abandoned_lease_passes_to_the_standby(_store: EventStore, db: &TestDb) {
    let (leader, standby) = (
        db.store_with(short_lease()).await,
        db.store_with(short_lease()).await,
    );
    let lease = leader.try_lease("projector").await.unwrap().unwrap();
    sleep(Duration::from_millis(900)).await;
    assert!(lease.is_held(), "a renewed lease outlives its time to live");
    assert!(standby.try_lease("projector").await.unwrap().is_none());

    lease.abandon();
    if !db.is_postgres() {
        // Nobody released it: it stands until it expires.
        assert!(standby.try_lease("projector").await.unwrap().is_none());
    }
    let shutdown = CancellationToken::new();
    let taken = timeout(
        Duration::from_secs(5),
        standby.lease("projector", &shutdown),
    )
    .await
    .expect("the standby takes an abandoned lease")
    .unwrap()
    .unwrap();
    assert!(taken.is_held());
    assert!(leader.try_lease("projector").await.unwrap().is_none());
}

async fn a_leader_that_loses_its_lock_is_told_and_the_standby_takes_over(
    _store: EventStore,
    db: &TestDb,
) {
    let (leader, standby) = (
        db.store_with(short_lease()).await,
        db.store_with(short_lease()).await,
    );
    let lease = leader.try_lease("projector").await.unwrap().unwrap();
    match leader.db() {
        Db::Postgres(_) => {
            // Kill the session that holds the advisory lock, as a failover or an
            // operator would.
            const HOLDER: &str = "SELECT a.pid FROM pg_locks l \
                 JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted \
                   AND a.application_name = 'pharos' AND a.datname = current_database()";
            let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let pids: Vec<i32> = sqlx::query_scalar(HOLDER)
                .fetch_all(&mut admin)
                .await
                .unwrap();
            assert_eq!(pids.len(), 1, "one session holds the lease");
            let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(pids[0])
                .fetch_one(&mut admin)
                .await
                .unwrap();
            assert!(killed);
            admin.close().await.unwrap();
        }
        Db::Sqlite(pool) => {
            // The leader stalled past its expiry: the row says the lease is free.
            sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = $1")
                .bind("projector")
                .execute(&pool)
                .await
                .unwrap();
        }
    }
    let shutdown = CancellationToken::new();
    let taken = timeout(
        Duration::from_secs(5),
        standby.lease("projector", &shutdown),
    )
    .await
    .expect("the standby takes over")
    .unwrap()
    .unwrap();
    timeout(Duration::from_secs(5), lease.lost())
        .await
        .expect("the old leader is told it lost the lease");
    assert!(!lease.is_held());

    // The old leader letting go must not free the new leader's lease.
    drop(lease);
    sleep(Duration::from_millis(200)).await;
    assert!(taken.is_held());
    let third = db.store().await;
    assert!(third.try_lease("projector").await.unwrap().is_none());
}

// ---------------------------------------------------------------------------------------
// 8. Reading
// ---------------------------------------------------------------------------------------

async fn reads_page_through_every_event_once_in_order(store: EventStore, _db: &TestDb) {
    let streams = [stream("order"), stream("order"), stream("invoice")];
    let mut appended = Vec::new();
    let mut by_category: Vec<(String, Uuid)> = Vec::new();
    for _ in 0..10 {
        for s in &streams {
            let batch = events(2);
            for id in new_ids(&batch) {
                by_category.push((s.category().to_owned(), id));
            }
            appended.extend(new_ids(&batch));
            store.append(s, Any, batch, &meta()).await.unwrap();
        }
    }

    let whole = store.read_stream(&streams[0], 1).await.unwrap();
    assert_eq!(
        whole.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    assert!(
        whole
            .iter()
            .all(|e| e.stream_id == streams[0].as_str() && e.category == "order")
    );
    assert_eq!(whole[0].metadata, meta());
    assert_eq!(
        (whole[0].event_type.as_str(), whole[0].schema_version),
        ("thing_happened", 1)
    );
    assert_eq!(whole[1].data, json!({ "n": 1 }));
    let tail = store.read_stream(&streams[0], 15).await.unwrap();
    assert_eq!(tail, whole[14..].to_vec());
    assert_eq!(store.read_stream(&streams[0], 0).await.unwrap(), whole);
    assert!(store.read_stream(&streams[0], 21).await.unwrap().is_empty());
    assert!(
        store
            .read_stream(&stream("order"), 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.stream_version(&streams[0]).await.unwrap(), 20);
    assert_eq!(store.stream_version(&stream("order")).await.unwrap(), 0);

    settle(&store).await;
    let full = store.read_all(START, 10_000, &[]).await.unwrap();
    assert_eq!(
        ids(&full),
        appended,
        "the global order is the order of the appends"
    );
    assert_once_in_order(&full);
    for limit in [1, 7, 60, 1000] {
        assert_eq!(
            read_everything(&store, limit, &[]).await,
            full,
            "pages of {limit}"
        );
    }
    let orders: Vec<_> = by_category
        .iter()
        .filter(|(c, _)| c == "order")
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(ids(&read_everything(&store, 7, &["order"]).await), orders);
    assert_eq!(
        read_everything(&store, 9, &["order", "invoice"]).await,
        full
    );
    // Several categories are merged in the global order whatever their order, an
    // absent one or a repeated one (each event once).
    for categories in [
        &["invoice", "order"][..],
        &["order", "nothing", "invoice"],
        &["invoice", "order", "invoice"],
    ] {
        for limit in [1, 7, 1000] {
            assert_eq!(
                read_everything(&store, limit, categories).await,
                full,
                "{categories:?} in pages of {limit}"
            );
        }
    }
    assert_eq!(
        ids(&read_everything(&store, 4, &["nothing", "order"]).await),
        orders
    );
    let last_order = full.iter().rev().find(|e| e.category == "order").unwrap();
    assert_eq!(
        store.last_of("order").await.unwrap(),
        Some(last_order.position)
    );
    assert_eq!(
        store.last_of("invoice").await.unwrap(),
        Some(full[59].position)
    );
    assert_eq!(store.last_of("nothing").await.unwrap(), None);
    assert!(matches!(
        store.last_of("Order").await,
        Err(StoreError::InvalidCategory { .. })
    ));
    assert!(
        store
            .read_all(START, 100, &strings(&["nothing"]))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_all(full[59].position, 100, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.read_all(full[9].position, 3, &[]).await.unwrap(),
        full[10..13].to_vec()
    );

    for bad in ["", "Order", "order-1", "1order", "ord er", "ordér"] {
        match store.read_all(START, 10, &strings(&["order", bad])).await {
            Err(StoreError::InvalidCategory { category, .. }) => assert_eq!(category, bad),
            other => panic!("expected InvalidCategory for {bad:?}, got {other:?}"),
        }
    }
}

async fn the_event_log_refuses_updates_and_deletes(store: EventStore, _db: &TestDb) {
    let s = stream("order");
    store
        .append(&s, NoStream, events(2), &meta())
        .await
        .unwrap();
    let before = read_everything(&store, 100, &[]).await;
    const UPDATE: &str = "UPDATE events SET event_type = 'rewritten'";
    const DELETE: &str = "DELETE FROM events";
    match store.db() {
        Db::Postgres(pool) => {
            for sql in [UPDATE, DELETE, "TRUNCATE events"] {
                assert!(
                    sqlx::query(sql).execute(&pool).await.is_err(),
                    "{sql} went through"
                );
            }
        }
        Db::Sqlite(pool) => {
            for sql in [UPDATE, DELETE] {
                assert!(
                    sqlx::query(sql).execute(&pool).await.is_err(),
                    "{sql} went through"
                );
            }
        }
    }
    assert_eq!(read_everything(&store, 100, &[]).await, before);
}

async fn migrating_again_is_harmless(store: EventStore, db: &TestDb) {
    store
        .append(&stream("order"), NoStream, events(2), &meta())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.pending_migrations().await.unwrap(), 0);
    let again = db.store().await;
    assert_eq!(again.pending_migrations().await.unwrap(), 0);
    again.ping().await.unwrap();
    assert_eq!(
        again.backend_name(),
        if db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );
    assert_eq!(read_everything(&again, 100, &[]).await.len(), 2);
}

// ---------------------------------------------------------------------------------------
// SQLite durability
// ---------------------------------------------------------------------------------------

async fn the_database_runs_in_wal_mode_with_full_sync_and_a_busy_timeout(
    store: EventStore,
    _db: &TestDb,
) {
    let Db::Sqlite(pool) = store.db() else {
        panic!("an SQLite store");
    };
    // Several connections at once, so each one is checked, not the same one thrice.
    let mut connections = Vec::new();
    for _ in 0..3 {
        connections.push(pool.acquire().await.unwrap());
    }
    for conn in &mut connections {
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(synchronous, 2, "synchronous = FULL");
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert!(busy > 0, "a busy timeout is set");
    }
}
