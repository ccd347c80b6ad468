//! How a command runs against an aggregate: load the stream, fold it, `decide`, append
//! with the version it was decided on; on a concurrent write, decide again on the new
//! state (a bounded number of times), then give up with the store's version conflict.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pharos_eventstore::{
    AppendResult, Companions, EventStore, ExpectedVersion, Metadata, StoreError, StreamAppend,
    StreamId,
};

use crate::{Rejection, held};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// Decisions retried after a concurrent write from another process. Commands of this
/// process on one stream queue up instead (see [`stream_lock`]) and never conflict.
const ATTEMPTS: usize = 10;

/// One lock per stream with a command running in this process: commands on a busy
/// stream (50 registrations for one session) wait their turn instead of failing their
/// optimistic check one after another. Entries go when their last user drops them.
fn stream_lock(stream: &StreamId) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: LazyLock<Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let mut locks = LOCKS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(lock) = locks.get(stream.as_str()).and_then(Weak::upgrade) {
        return lock;
    }
    if locks.len() > 1024 {
        locks.retain(|_, weak| weak.strong_count() > 0);
    }
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    locks.insert(stream.as_str().to_owned(), Arc::downgrade(&lock));
    lock
}

/// An aggregate as pure functions.
pub trait Decider: 'static {
    /// Cloned from the state this process holds for a stream ([`crate::held`]).
    type State: Default + Clone + Send + Sync + 'static;
    type Command: Clone + 'static;
    type Event: Serialize + DeserializeOwned;

    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;

    fn decide(
        command: &Self::Command,
        state: &Self::State,
        now: DateTime<Utc>,
    ) -> Result<Vec<Self::Event>, Rejection>;
}

/// The state of a stream and its version (0 when absent).
pub async fn load<D: Decider>(
    store: &EventStore,
    stream: &StreamId,
) -> Result<(D::State, i64), StoreError> {
    let events = store.read_stream(stream, 1).await?;
    let version = events.last().map_or(0, |e| e.version);
    let state = events
        .iter()
        .filter_map(pharos_events::decode::<D::Event>)
        .fold(D::State::default(), |s, e| D::evolve(s, &e));
    Ok((state, version))
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed<E> {
    /// The stream's version after the command (unchanged when nothing was appended).
    pub version: i64,
    pub events: Vec<E>,
    /// Set when something was appended.
    pub appended: Option<AppendResult>,
}

/// Runs `command` on `stream`. `if_match` is the client's `If-Match` version: when
/// given, a stream at another version answers 409 instead of deciding again.
pub async fn execute<D: Decider, E: From<Rejection> + From<StoreError>>(
    store: &EventStore,
    stream: &StreamId,
    command: &D::Command,
    now: DateTime<Utc>,
    if_match: Option<i64>,
    metadata: &Metadata,
) -> Result<Executed<D::Event>, E> {
    execute_with::<D, E>(store, stream, now, if_match, metadata, |_| {
        Ok(Cow::Borrowed(command))
    })
    .await
}

/// Like [`execute`], with the command made from the state just loaded, under the
/// stream's lock: a handler authorises against the aggregate and decides on the same
/// read (one load instead of two), and an answer depending on the state (who may act
/// on this session) cannot go stale between the check and the append.
pub async fn execute_with<'c, D, E>(
    store: &EventStore,
    stream: &StreamId,
    now: DateTime<Utc>,
    if_match: Option<i64>,
    metadata: &Metadata,
    mut command_for: impl FnMut(&D::State) -> Result<Cow<'c, D::Command>, E>,
) -> Result<Executed<D::Event>, E>
where
    D: Decider,
    E: From<Rejection> + From<StoreError>,
{
    execute_attached::<D, E>(store, stream, now, if_match, metadata, |state| {
        Ok((command_for(state)?, Vec::new()))
    })
    .await
}

/// Like [`execute_with`], the command coming with the companions its events need in
/// the same commit (a new person's key, a retention hold: `pharos-privacy`). They are
/// stored only if the events are.
pub async fn execute_attached<'c, D, E>(
    store: &EventStore,
    stream: &StreamId,
    now: DateTime<Utc>,
    if_match: Option<i64>,
    metadata: &Metadata,
    mut command_for: impl FnMut(&D::State) -> Result<(Cow<'c, D::Command>, Companions), E>,
) -> Result<Executed<D::Event>, E>
where
    D: Decider,
    E: From<Rejection> + From<StoreError>,
{
    let lock = stream_lock(stream);
    let _turn = lock.lock().await;
    let mut attempt = 0;
    // Whether the state held may be decided on: once per command, then the stream is
    // read ([`crate::held`]).
    let mut may_hold = true;
    loop {
        let (state, version, from_held) =
            match may_hold.then(|| held::held::<D>(store, stream)).flatten() {
                Some((state, version)) => (state, version, true),
                None => {
                    let (state, version) = load::<D>(store, stream).await?;
                    held::hold::<D>(store, stream, state.clone(), version);
                    (state, version, false)
                }
            };
        may_hold = false;
        if !from_held {
            attempt += 1;
        }
        if let Some(expected) = if_match.filter(|expected| *expected != version) {
            if from_held {
                continue;
            }
            return Err(StoreError::WrongExpectedVersion {
                stream_id: stream.to_string(),
                expected: ExpectedVersion::Exact(expected),
                actual: version,
            }
            .into());
        }
        // A refusal or a decision to append nothing is answered from the stream as read.
        let decided = match command_for(&state) {
            Ok((command, companions)) => D::decide(&command, &state, now)
                .map(|events| (events, companions))
                .map_err(E::from),
            Err(e) => Err(e),
        };
        let (events, companions) = match decided {
            Ok((events, _)) if from_held && events.is_empty() => continue,
            Err(_) if from_held => continue,
            Ok(decided) => decided,
            Err(e) => return Err(e),
        };
        if events.is_empty() {
            return Ok(Executed {
                version,
                events,
                appended: None,
            });
        }
        let expected = expecting(version);
        let batch = events.iter().map(pharos_events::encode).collect();
        match store
            .append_with(stream, expected, batch, metadata, &companions)
            .await
        {
            Ok(result) => {
                keep_after::<D>(store, stream, state, &events, &result);
                return Ok(Executed {
                    version: result.version,
                    events,
                    appended: Some(result),
                });
            }
            Err(StoreError::WrongExpectedVersion { .. }) if from_held => {
                // The state held was not the stream's: read it and decide again.
                held::forget::<D>(store, stream);
            }
            Err(StoreError::WrongExpectedVersion { .. })
                if if_match.is_none() && attempt < ATTEMPTS =>
            {
                // Another process wrote meanwhile: decide again on its result.
                pause(attempt).await;
            }
            Err(e) => {
                held::forget::<D>(store, stream);
                return Err(e.into());
            }
        }
    }
}

/// Holds `stream`'s state after an append of `events` on `state`, when they were stored
/// now (an append found already stored says nothing of the state decided on).
fn keep_after<D: Decider>(
    store: &EventStore,
    stream: &StreamId,
    state: D::State,
    events: &[D::Event],
    result: &AppendResult,
) {
    match held::after::<D>(state, events).filter(|_| result.appended) {
        Some(state) => held::hold::<D>(store, stream, state, result.version),
        None => held::forget::<D>(store, stream),
    }
}

/// Before deciding again after a lost race: a pause that grows with the attempts and
/// differs between contenders.
async fn pause(attempt: usize) {
    let jitter = u64::from(Uuid::now_v7().as_bytes()[15] % 8);
    tokio::time::sleep(Duration::from_millis(attempt as u64 * 2 + jitter)).await;
}

/// The expectation an append decided on a stream at `version` carries.
fn expecting(version: i64) -> ExpectedVersion {
    if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exact(version)
    }
}

/// Runs a decision that spans two aggregates (a session and the registered person's
/// schedule): both streams loaded, `decide` given both states (it returns each stream's
/// events and the companions), then one linked append ([`EventStore::append_linked`])
/// on the versions decided on. Both streams' events are stored in one commit, or none
/// are: a rule between them holds without compensation. A concurrent write to either
/// decides again, as [`execute_attached`] does. In this process, both streams' locks
/// are taken in the order of their names, so two such commands never wait on each other
/// in a cycle.
pub async fn execute_linked<A, B, E>(
    store: &EventStore,
    (first, second): (&StreamId, &StreamId),
    metadata: &Metadata,
    mut decide: impl FnMut(
        &A::State,
        &B::State,
    ) -> Result<(Vec<A::Event>, Vec<B::Event>, Companions), E>,
) -> Result<(Executed<A::Event>, Executed<B::Event>), E>
where
    A: Decider,
    B: Decider,
    E: From<Rejection> + From<StoreError>,
{
    if first == second {
        return Err(StoreError::InvalidStreamId {
            stream_id: first.to_string(),
            reason: "a linked command names two streams",
        }
        .into());
    }
    let (a, b) = (stream_lock(first), stream_lock(second));
    let (_a, _b) = if first.as_str() <= second.as_str() {
        let a = a.lock().await;
        (a, b.lock().await)
    } else {
        let b = b.lock().await;
        (a.lock().await, b)
    };
    let mut attempt = 0;
    // Which streams may be decided on their held state in this pass.
    let (mut hold_first, mut hold_second) = (true, true);
    loop {
        // Each stream's held state if any; the others read (concurrently when both are).
        let first_held = hold_first.then(|| held::held::<A>(store, first)).flatten();
        let second_held = hold_second
            .then(|| held::held::<B>(store, second))
            .flatten();
        (hold_first, hold_second) = (false, false);
        let (held_first, held_second) = (first_held.is_some(), second_held.is_some());
        let from_held = held_first || held_second;
        let ((first_state, first_version), (second_state, second_version)) =
            match (first_held, second_held) {
                (Some(a), Some(b)) => (a, b),
                (Some(a), None) => {
                    let b = load::<B>(store, second).await?;
                    held::hold::<B>(store, second, b.0.clone(), b.1);
                    (a, b)
                }
                (None, Some(b)) => {
                    let a = load::<A>(store, first).await?;
                    held::hold::<A>(store, first, a.0.clone(), a.1);
                    (a, b)
                }
                (None, None) => {
                    attempt += 1;
                    let (a, b) =
                        tokio::try_join!(load::<A>(store, first), load::<B>(store, second))?;
                    held::hold::<A>(store, first, a.0.clone(), a.1);
                    held::hold::<B>(store, second, b.0.clone(), b.1);
                    (a, b)
                }
            };
        let (first_events, second_events, companions) = match decide(&first_state, &second_state) {
            // The append checks the version of the streams it writes only: a decision
            // on a held state is stored only if it writes that state's stream. The held
            // stream it does not write is read; the one it writes stays held (its append
            // checks it), so that a person's schedule known empty costs no read when the
            // decision writes the session only (a waitlisted registration).
            Ok((a, b, _)) if (held_first && a.is_empty()) || (held_second && b.is_empty()) => {
                hold_first = held_first && !a.is_empty();
                hold_second = held_second && !b.is_empty();
                continue;
            }
            Err(_) if from_held => continue,
            Ok(decided) => decided,
            Err(e) => return Err(e),
        };
        let mut parts = Vec::with_capacity(2);
        if !first_events.is_empty() {
            parts.push(StreamAppend {
                stream: first.clone(),
                expected: expecting(first_version),
                events: first_events.iter().map(pharos_events::encode).collect(),
            });
        }
        if !second_events.is_empty() {
            parts.push(StreamAppend {
                stream: second.clone(),
                expected: expecting(second_version),
                events: second_events.iter().map(pharos_events::encode).collect(),
            });
        }
        if parts.is_empty() {
            return Ok((
                Executed {
                    version: first_version,
                    events: first_events,
                    appended: None,
                },
                Executed {
                    version: second_version,
                    events: second_events,
                    appended: None,
                },
            ));
        }
        match store.append_linked(parts, metadata, &companions).await {
            Ok(results) => {
                let mut stored = results.iter();
                if !first_events.is_empty()
                    && let Some(result) = stored.next()
                {
                    keep_after::<A>(store, first, first_state, &first_events, result);
                }
                if !second_events.is_empty()
                    && let Some(result) = stored.next()
                {
                    keep_after::<B>(store, second, second_state, &second_events, result);
                }
                let mut results = results.into_iter();
                let mut done = |version: i64, stored: bool| {
                    let appended = if stored { results.next() } else { None };
                    (appended.map_or(version, |r| r.version), appended)
                };
                let (version, appended) = done(first_version, !first_events.is_empty());
                let first = Executed {
                    version,
                    events: first_events,
                    appended,
                };
                let (version, appended) = done(second_version, !second_events.is_empty());
                return Ok((
                    first,
                    Executed {
                        version,
                        events: second_events,
                        appended,
                    },
                ));
            }
            Err(StoreError::WrongExpectedVersion { .. }) if from_held => {
                // A state held was not its stream's: read both and decide again.
                held::forget::<A>(store, first);
                held::forget::<B>(store, second);
            }
            Err(StoreError::WrongExpectedVersion { .. }) if attempt < ATTEMPTS => {
                pause(attempt).await;
            }
            Err(e) => {
                held::forget::<A>(store, first);
                held::forget::<B>(store, second);
                return Err(e.into());
            }
        }
    }
}
