//! The state this process last decided on, per stream: a command decides on it without
//! reading the stream first, and the append's version check says whether it was current.
//!
//! A command on a stream read its events and folded them before deciding: one round
//! trip per stream (two for a registration: the session and the person's schedule), and
//! a fold of the whole stream. The append already checks that the stream is at the
//! version the decision was made on. So a command of this process decides on the state
//! it holds ([`held`]) and appends at that version:
//!
//! - the append succeeds: the state held was the stream's, as a read would have given
//!   it; the state after the command is held in its place ([`hold`]);
//! - another process wrote meanwhile: the append fails its version check, nothing is
//!   stored, and the command reads the stream and decides again, as on any conflict;
//! - a decision that appends nothing (a rejection, a command already done) or a
//!   mismatched `If-Match` is never answered from a held state: nothing checks it, so the
//!   stream is read and the command decided again before answering.
//!
//! Whatever a held state gets wrong is therefore caught before it is stored or answered.
//! The state held after an append is folded from its events as the store gives them back
//! (each encoded and decoded), so that it is the state a read would give. States are
//! held per store ([`EventStore::instance`]: two databases of one process may name a
//! stream alike), per decider and per stream; [`HELD`] of them, least recently used out.

use std::any::{Any, TypeId};
use std::sync::{Arc, LazyLock, Mutex};

use lru::LruCache;
use pharos_eventstore::{EventStore, StreamId};

use crate::Decider;

/// Streams whose state is held, at most.
pub const HELD: usize = 10_000;

type Key = (u64, TypeId, String);
/// A state held, and the version it is at.
type Held = (i64, Arc<dyn Any + Send + Sync>);

static STATES: LazyLock<Mutex<LruCache<Key, Held>>> = LazyLock::new(|| {
    Mutex::new(LruCache::new(
        std::num::NonZeroUsize::new(HELD).unwrap_or(std::num::NonZeroUsize::MIN),
    ))
});

fn states() -> std::sync::MutexGuard<'static, LruCache<Key, Held>> {
    STATES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn key<D: Decider + 'static>(store: &EventStore, stream: &StreamId) -> Key {
    (
        store.instance(),
        TypeId::of::<D>(),
        stream.as_str().to_owned(),
    )
}

/// The state held for `stream` and its version, if any.
pub fn held<D>(store: &EventStore, stream: &StreamId) -> Option<(D::State, i64)>
where
    D: Decider + 'static,
    D::State: Clone + Send + Sync + 'static,
{
    let (version, state) = states().get(&key::<D>(store, stream))?.clone();
    let state = state.downcast_ref::<D::State>()?.clone();
    Some((state, version))
}

/// Holds `state` as `stream`'s at `version`.
pub fn hold<D>(store: &EventStore, stream: &StreamId, state: D::State, version: i64)
where
    D: Decider + 'static,
    D::State: Clone + Send + Sync + 'static,
{
    states().put(key::<D>(store, stream), (version, Arc::new(state)));
}

/// The version of the state held for `stream`, if any (what a command would decide on).
pub fn version<D: Decider + 'static>(store: &EventStore, stream: &StreamId) -> Option<i64> {
    states()
        .peek(&key::<D>(store, stream))
        .map(|(version, _)| *version)
}

/// Forgets `stream`'s state.
pub fn forget<D: Decider + 'static>(store: &EventStore, stream: &StreamId) {
    states().pop(&key::<D>(store, stream));
}

/// `state` after `events`, each as the store gives it back (encoded, then decoded); `None`
/// if one does not come back (the next command reads the stream).
pub fn after<D: Decider>(state: D::State, events: &[D::Event]) -> Option<D::State> {
    events.iter().try_fold(state, |state, event| {
        let stored = serde_json::to_value(event).ok()?;
        let back: D::Event = serde_json::from_value(stored).ok()?;
        Some(D::evolve(state, &back))
    })
}
