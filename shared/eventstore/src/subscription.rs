use std::collections::VecDeque;

use tokio::sync::watch;

use crate::{EventStore, GlobalPosition, RecordedEvent, StoreError};

const BATCH: usize = 500;

/// Catch-up-then-live reader of the global order, by category set. Wakes on local
/// appends and PostgreSQL notifications, and polls as the safety net.
pub struct Subscription {
    store: EventStore,
    categories: Vec<String>,
    /// Last event handed out.
    delivered: GlobalPosition,
    /// Last event read from the store (the buffer holds those in between).
    read: GlobalPosition,
    buffer: VecDeque<RecordedEvent>,
    wakeups: watch::Receiver<u64>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("categories", &self.categories)
            .field("delivered", &self.delivered)
            .finish()
    }
}

impl Subscription {
    pub(crate) fn new(store: EventStore, after: GlobalPosition, categories: Vec<String>) -> Self {
        let wakeups = store.wakeups();
        Self {
            store,
            categories,
            delivered: after,
            read: after,
            buffer: VecDeque::new(),
            wakeups,
        }
    }

    /// The next event, waiting for one to commit if need be.
    pub async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.delivered = event.position;
                return Ok(event);
            }
            self.fill_or_wait().await?;
        }
    }

    /// Every event available now (at least one, waiting if there is none yet).
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, StoreError> {
        while self.buffer.is_empty() {
            self.fill_or_wait().await?;
        }
        let batch: Vec<_> = self.buffer.drain(..).collect();
        if let Some(last) = batch.last() {
            self.delivered = last.position;
        }
        Ok(batch)
    }

    /// Where a resumed subscription should start.
    pub fn position(&self) -> GlobalPosition {
        self.delivered
    }

    /// How far it has looked: every event of its categories up to here is delivered or
    /// buffered. Past [`Self::position`] when only other categories' events came after.
    pub fn scanned(&self) -> GlobalPosition {
        self.read
    }

    async fn fill_or_wait(&mut self) -> Result<(), StoreError> {
        // Marking the wake-ups seen before reading means an append that commits after
        // the read still wakes us.
        self.wakeups.borrow_and_update();
        let events = self
            .store
            .read_all(self.read, BATCH, &self.categories)
            .await?;
        if let Some(last) = events.last() {
            self.read = last.position;
            self.buffer.extend(events);
            return Ok(());
        }
        // Nothing of ours: move past the other categories' events just read, or every
        // wake-up would read them all again, from our last event to the head: a scan that
        // grows with the log, at each append of any process (in `bench registrations`,
        // the targets' references of accounts and schools made PostgreSQL's costliest
        // statement). Never past an event still to commit: the horizon is below the
        // oldest running transaction, found in the same statement as its check.
        if !self.categories.is_empty()
            && let Some(horizon) = self.store.idle_horizon(self.read, &self.categories).await?
            && horizon > self.read
        {
            self.read = horizon;
        }
        let poll = self.store.options().poll_interval;
        tokio::select! {
            changed = self.wakeups.changed() => {
                if changed.is_err() {
                    // The store is gone; keep polling rather than spin.
                    tokio::time::sleep(poll).await;
                }
            }
            () = tokio::time::sleep(poll) => {}
        }
        Ok(())
    }
}
