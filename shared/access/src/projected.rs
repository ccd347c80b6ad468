//! A small projection held in memory and fed by a subscription: what a target keeps of
//! other streams to decide (accounts and schools for every target, a person's sessions
//! for `trainings`). It catches up before `start` returns, then follows the log.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use pharos_eventstore::{EventStore, GlobalPosition, RecordedEvent, StoreError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Events per page of the catch-up (millions of them at national scale).
const PAGE: usize = 5000;

/// State `S` built by `apply` from every event of some categories.
#[derive(Debug)]
pub struct Projected<S> {
    state: RwLock<S>,
    position: watch::Sender<GlobalPosition>,
    apply: fn(&mut S, &RecordedEvent),
}

impl<S: Default + Send + Sync + 'static> Projected<S> {
    /// Catches up with `categories`, then follows them in the background until
    /// `shutdown` (resuming after a failed subscription).
    pub async fn start(
        store: &EventStore,
        categories: &[&str],
        apply: fn(&mut S, &RecordedEvent),
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, StoreError> {
        let categories: Vec<String> = categories.iter().map(|c| (*c).to_owned()).collect();
        let projected = Arc::new(Self {
            state: RwLock::new(S::default()),
            position: watch::channel(GlobalPosition::START).0,
            apply,
        });
        // The next page is read while this one is applied.
        let mut after = GlobalPosition::START;
        let mut pages = store.read_ahead(after, PAGE, categories.clone());
        while let Some(page) = pages.recv().await {
            let page = page?;
            let Some(last) = page.last() else { break };
            after = last.position;
            projected.apply_all(&page);
        }
        let follower = projected.clone();
        let follow = store.clone();
        store.spawn(async move {
            let store = follow;
            let mut after = after;
            loop {
                let mut subscription = store.subscribe(after, categories.clone());
                loop {
                    let batch = tokio::select! {
                        () = shutdown.cancelled() => return,
                        batch = subscription.next_batch() => batch,
                    };
                    match batch {
                        Ok(events) => {
                            if let Some(last) = events.last() {
                                after = last.position;
                            }
                            follower.apply_all(&events);
                        }
                        Err(StoreError::Closed) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "in-memory projection: subscription failed; resuming");
                            break;
                        }
                    }
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        Ok(projected)
    }

    fn apply_all(&self, events: &[RecordedEvent]) {
        let Some(last) = events.last() else { return };
        {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            for event in events {
                (self.apply)(&mut state, event);
            }
        }
        self.position.send_replace(last.position);
    }

    /// Applies events read outside the subscription (a read-through on a miss). `apply`
    /// must ignore what it has seen already, since the subscription delivers them too.
    pub fn apply_read(&self, events: &[RecordedEvent]) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        for event in events {
            (self.apply)(&mut state, event);
        }
    }

    /// Changes the state directly: a handler writes its own appends through, so that its
    /// next request sees them without waiting for the subscription (which applies them
    /// again later; `apply` must then change nothing more).
    pub fn update(&self, f: impl FnOnce(&mut S)) {
        f(&mut self.state.write().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn read<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The position of the last event the subscription applied (events applied through
    /// [`Self::apply_read`] or [`Self::update`] may be further).
    pub fn position(&self) -> GlobalPosition {
        *self.position.borrow()
    }

    /// Waits (at most `timeout`) until `position` is applied: a handler whose append
    /// the next request of this process must see waits for it. False on timeout.
    pub async fn wait_for(&self, position: GlobalPosition, timeout: Duration) -> bool {
        let mut seen = self.position.subscribe();
        tokio::time::timeout(timeout, seen.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}
