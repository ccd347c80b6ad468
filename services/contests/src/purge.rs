//! Deleting entries' files, the one way it is done: each entry records `FilesDeleted`
//! with the purpose, then the content no entry holds any more leaves the store (content
//! is stored once for every entry that sent it). Two causes: the close of a campaign
//! (entries without an award, retention rule `contest_file_non_laureate`), and the
//! erasure of the responsible adult ([`follow_erasures`]: their entries' files go with
//! them, awards or not, since a production may show or voice them).

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pharos_decider::{Clock, Rejection, execute, load};
use pharos_events::contest::ENTRY_CATEGORY;
use pharos_eventstore::{
    EventStore, Metadata, Projection, ProjectionError, ProjectionTx, RecordedEvent, StoreError,
    StreamId,
};
use pharos_privacy::{PERSON_ERASED, PersonId};
use pharos_web::Problem;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::entry::{Entry, EntryCommand};
use crate::files::FileStore;
use crate::index::{self, Index};

/// The close of a campaign: files of entries without an award (a retention rule).
pub const NON_LAUREATE: &str = "contest_file_non_laureate";
/// The erasure of the entry's responsible adult.
pub const RESPONSIBLE_ERASED: &str = "person_erased";
/// The erasure follower's checkpoint, and the lease the one replica running it holds.
pub const ERASURE_FOLLOWER: &str = "contests-erasures";

/// Why files could not be deleted.
#[derive(Debug)]
pub enum PurgeError {
    Store(StoreError),
    Rejected(Rejection),
    Files(std::io::Error),
}

impl fmt::Display for PurgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(e) => write!(f, "event store: {e}"),
            Self::Rejected(e) => write!(f, "refused: {e}"),
            Self::Files(e) => write!(f, "file store: {e}"),
        }
    }
}

impl std::error::Error for PurgeError {}

impl From<StoreError> for PurgeError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<Rejection> for PurgeError {
    fn from(e: Rejection) -> Self {
        Self::Rejected(e)
    }
}

impl From<PurgeError> for Problem {
    fn from(e: PurgeError) -> Self {
        match e {
            PurgeError::Store(e) => e.into(),
            PurgeError::Rejected(e) => e.into(),
            PurgeError::Files(e) => {
                tracing::error!(error = %e, "contest file store: delete failed");
                Problem::internal()
            }
        }
    }
}

/// What a deletion did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Entries that had files and recorded their deletion.
    pub entries: usize,
    /// Contents removed from the store.
    pub files: usize,
}

/// Deletes the files of `entries` for `purpose`, recorded on each entry (an entry without
/// files records nothing, so running it again changes nothing), then removes from the
/// store the content no entry holds any more — every content the entries ever had deleted,
/// so that a run interrupted between the two steps is completed by the next one.
pub async fn delete_files(
    store: &EventStore,
    index: &Index,
    files: &dyn FileStore,
    entries: &[Uuid],
    purpose: &str,
    now: DateTime<Utc>,
    metadata: &Metadata,
) -> Result<Purged, PurgeError> {
    let mut purged = Purged::default();
    let mut hashes = Vec::new();
    for id in entries {
        let stream = StreamId::new(ENTRY_CATEGORY, id)?;
        let done = execute::<Entry, PurgeError>(
            store,
            &stream,
            &EntryCommand::DeleteFiles {
                purpose: purpose.to_owned(),
            },
            now,
            None,
            metadata,
        )
        .await?;
        let (after, version) = load::<Entry>(store, &stream).await?;
        hashes.extend(after.deleted_contents.iter().cloned());
        if done.appended.is_some() {
            purged.entries += 1;
        }
        // Whoever recorded the deletion, this run or an interrupted one: the index may
        // not have followed that event yet, and would keep the content as still held.
        index.update(|i| i.note(*id, after, version));
    }
    hashes.sort();
    hashes.dedup();
    for sha256 in hashes {
        if !index.read(|i| i.holds(&sha256))
            && files.delete(&sha256).await.map_err(PurgeError::Files)?
        {
            purged.files += 1;
        }
    }
    Ok(purged)
}

/// The follower's checkpoint. Its effects (entries' events, files deleted) happen before
/// the checkpoint moves, outside its transaction (SQLite has one writer); done again
/// after a crash they change nothing, so the batch itself writes nothing.
struct Checkpoint {
    categories: Vec<String>,
}

impl Projection for Checkpoint {
    fn name(&self) -> &str {
        ERASURE_FOLLOWER
    }

    fn categories(&self) -> &[String] {
        &self.categories
    }

    async fn apply(
        &self,
        _: &mut ProjectionTx<'_>,
        _: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        Ok(())
    }
}

/// Follows the vault's erasures (`person_erased`) from a checkpoint, while this process
/// holds the lease: the files of the entries whose responsible adult was erased are
/// deleted, recorded on each entry as `FilesDeleted { purpose: "person_erased" }`, caused
/// by the erasure (its id as causation, its actor as actor). Retention purges
/// (`personal_data_purged`) end the adult's name and address only: the productions keep
/// their own retention.
pub async fn follow_erasures(
    store: EventStore,
    index: Index,
    files: Arc<dyn FileStore>,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let pause = || async {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    };
    while !shutdown.is_cancelled() {
        let lease = match store.lease(ERASURE_FOLLOWER, &shutdown).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "contests: erasure lease unavailable; retrying");
                pause().await;
                continue;
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = lease.lost() => {
                tracing::warn!("contests: erasure lease lost; waiting to lead again");
            }
            result = follow(&store, &index, files.as_ref(), clock.as_ref()) => match result {
                Ok(never) => match never {},
                Err(PurgeError::Store(StoreError::Closed)) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "contests: erasure follower failed; resuming");
                    pause().await;
                }
            },
        }
    }
}

async fn follow(
    store: &EventStore,
    index: &Index,
    files: &dyn FileStore,
    clock: &dyn Clock,
) -> Result<Infallible, PurgeError> {
    let checkpoint = Checkpoint {
        categories: vec![pharos_privacy::CATEGORY.to_owned()],
    };
    let mut from = store.checkpoint(ERASURE_FOLLOWER).await?;
    let mut subscription = store.subscribe(from, checkpoint.categories.clone());
    loop {
        let events = subscription.next_batch().await?;
        for event in events.iter().filter(|e| e.event_type == PERSON_ERASED) {
            erased(store, index, files, clock, event).await?;
        }
        store.apply_batch(&checkpoint, from, &events).await?;
        if let Some(last) = events.last() {
            from = last.position;
        }
    }
}

/// The files of the erased person's entries.
async fn erased(
    store: &EventStore,
    index: &Index,
    files: &dyn FileStore,
    clock: &dyn Clock,
    erasure: &RecordedEvent,
) -> Result<(), PurgeError> {
    let Some(person) = erasure
        .data
        .get("person")
        .and_then(|p| p.as_str())
        .and_then(|p| Uuid::parse_str(p).ok())
    else {
        return Ok(());
    };
    index::catch_up(index, store).await?;
    let entries = index.read(|i| i.of_responsible(PersonId(person)));
    if entries.is_empty() {
        return Ok(());
    }
    let metadata = Metadata {
        actor_id: erasure.metadata.actor_id.clone(),
        actor_role: erasure.metadata.actor_role.clone(),
        correlation_id: erasure.metadata.correlation_id.or(Some(erasure.event_id)),
        causation_id: Some(erasure.event_id),
        request_id: erasure.metadata.request_id.clone(),
        source_target: Some(crate::NAME.to_owned()),
    };
    let purged = delete_files(
        store,
        index,
        files,
        &entries,
        RESPONSIBLE_ERASED,
        clock.now(),
        &metadata,
    )
    .await?;
    tracing::info!(
        entries = purged.entries,
        files = purged.files,
        "contests: a responsible adult was erased, their entries' files deleted"
    );
    Ok(())
}
