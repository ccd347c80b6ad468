//! The erasure follower on its own, over the real store on SQLite and on PostgreSQL: an
//! erasure recorded while no `contests` process ran is caught up from the checkpoint when
//! one starts; started again, it does not do it twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pharos_access::Projected;
use pharos_contests::files::{DiskStore, FileStore};
use pharos_contests::index::{Entries, Index};
use pharos_contests::purge::{
    ERASURE_FOLLOWER, Purged, RESPONSIBLE_ERASED, delete_files, follow_erasures,
};
use pharos_decider::SystemClock;
use pharos_events::contest::{
    ClassLevel, ENTRY_CATEGORY, EntryDetails, EntryEvent, EntryFile, FileType, Group, Responsible,
};
use pharos_events::{DepartmentCode, Uai};
use pharos_eventstore::{
    EventStore, ExpectedVersion, GlobalPosition, Metadata, NewEvent, StoreOptions, StreamId,
};
use pharos_privacy::{PERSON_ERASED, PersonId, Sealed};
use pharos_test_support::TestDb;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// An entry of `person`'s with one file of content `bytes`, stored.
async fn entry_with_file(
    store: &EventStore,
    files: &DiskStore,
    person: PersonId,
    bytes: &[u8],
) -> (StreamId, String) {
    let sha256 = format!("{:x}", Sha256::digest(bytes));
    let spooled = files.spool().join(Uuid::now_v7().simple().to_string());
    std::fs::write(&spooled, bytes).unwrap();
    assert!(files.put(&spooled, &sha256).await.unwrap());
    let sealed = Sealed {
        person,
        sealed: "scellé".into(),
    };
    let events = [
        EntryEvent::EntryCreated {
            contest_id: Uuid::now_v7(),
            school_uai: Uai::parse("0310001H").unwrap(),
            department: DepartmentCode::parse("31").unwrap(),
            details: EntryDetails {
                category: "college_affiche".into(),
                special_prizes: vec![],
                title: "Briser le silence".into(),
                group: Group {
                    label: "5e B".into(),
                    levels: vec![ClassLevel::Cinquieme],
                    pupil_count: 24,
                    adult_count: 2,
                },
                project_sheet: String::new(),
            },
            responsible: Responsible {
                display_name: sealed.clone(),
                email: sealed,
            },
        },
        EntryEvent::FileAttached(EntryFile {
            file_id: Uuid::now_v7(),
            sha256: sha256.clone(),
            bytes: bytes.len() as u64,
            file_type: FileType::Png,
            duration_seconds: None,
        }),
    ];
    let stream = StreamId::new(ENTRY_CATEGORY, Uuid::now_v7()).unwrap();
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            events.iter().map(pharos_events::encode).collect(),
            &Metadata::default(),
        )
        .await
        .unwrap();
    (stream, sha256)
}

/// Records the vault's erasure of `person`, as `Vault::erase` does; its position.
async fn erase(store: &EventStore, person: PersonId) -> GlobalPosition {
    store
        .append(
            &StreamId::new(pharos_privacy::CATEGORY, person).unwrap(),
            ExpectedVersion::Any,
            vec![NewEvent::new(
                PERSON_ERASED,
                json!({"person": person, "reason": "Demande de l'intéressée"}),
            )],
            &Metadata {
                actor_id: Some("pole".into()),
                ..Metadata::default()
            },
        )
        .await
        .unwrap()
        .position
}

/// A `contests` process's index and erasure follower, until the token is cancelled.
async fn start(
    store: &EventStore,
    files: &Arc<DiskStore>,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let index: Index = Projected::start(store, &[ENTRY_CATEGORY], Entries::apply, shutdown.clone())
        .await
        .unwrap();
    let follower = tokio::spawn(follow_erasures(
        store.clone(),
        index,
        files.clone(),
        Arc::new(SystemClock),
        shutdown.clone(),
    ));
    (shutdown, follower)
}

/// The store on the test's database, migrated, and a file store in a directory of its own.
async fn store_and_files(db: &TestDb) -> (EventStore, std::path::PathBuf, Arc<DiskStore>) {
    let store = EventStore::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let dir = std::env::temp_dir().join(format!(
        "pharos-contests-erasure-{}",
        Uuid::now_v7().simple()
    ));
    let files = Arc::new(DiskStore::open(&dir).unwrap());
    (store, dir, files)
}

/// `FilesDeleted` of the entry's one file, for an erasure, recorded as a run that stopped
/// before removing the content would have left it (the entry at version 2).
async fn record_deletion(store: &EventStore, entry: &StreamId) {
    let file_id = store.read_stream(entry, 1).await.unwrap()[1].data["file_id"]
        .as_str()
        .map(|id| Uuid::parse_str(id).unwrap())
        .unwrap();
    store
        .append(
            entry,
            ExpectedVersion::Exact(2),
            vec![pharos_events::encode(&EntryEvent::FilesDeleted {
                file_ids: vec![file_id],
                purpose: RESPONSIBLE_ERASED.into(),
            })],
            &Metadata::default(),
        )
        .await
        .unwrap();
}

async fn deletions(store: &EventStore, stream: &StreamId) -> usize {
    store
        .read_stream(stream, 1)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event_type == "files_deleted")
        .count()
}

/// Polls the follower's checkpoint until it is at `position`, for at most 20 s.
async fn checkpoint_reaches(store: &EventStore, position: GlobalPosition) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.checkpoint(ERASURE_FOLLOWER).await.unwrap() < position {
        assert!(Instant::now() < deadline, "the checkpoint never moved");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_erasure_made_while_no_follower_ran_is_caught_up_once(db: TestDb) {
    let (store, dir, files) = store_and_files(&db).await;
    let camille = PersonId(Uuid::now_v7());
    let dominique = PersonId(Uuid::now_v7());
    let (erased_entry, erased_sha) =
        entry_with_file(&store, &files, camille, b"\x89PNG affiche de Camille").await;
    let (kept_entry, kept_sha) =
        entry_with_file(&store, &files, dominique, b"\x89PNG affiche de Dominique").await;
    let (interrupted, interrupted_sha) =
        entry_with_file(&store, &files, camille, b"\x89PNG affiche interrompue").await;
    // Camille is erased while no contests process runs; a follower then stopped after
    // recording the deletion of one of Camille's entries, before removing its content and
    // moving its checkpoint.
    let erased_at = erase(&store, camille).await;
    record_deletion(&store, &interrupted).await;

    let (shutdown, follower) = start(&store, &files).await;
    checkpoint_reaches(&store, erased_at).await;
    assert_eq!(deletions(&store, &erased_entry).await, 1);
    assert!(files.open(&erased_sha).await.unwrap().is_none());
    assert_eq!(deletions(&store, &interrupted).await, 1);
    assert!(files.open(&interrupted_sha).await.unwrap().is_none());
    assert_eq!(deletions(&store, &kept_entry).await, 0);
    assert!(files.open(&kept_sha).await.unwrap().is_some());
    shutdown.cancel();
    follower.await.unwrap();

    // The entry, still a draft, receives a new production afterwards.
    let later = b"\x89PNG nouvelle affiche";
    let later_sha = format!("{:x}", Sha256::digest(later));
    let spooled = files.spool().join("later");
    std::fs::write(&spooled, later).unwrap();
    assert!(files.put(&spooled, &later_sha).await.unwrap());
    store
        .append(
            &erased_entry,
            ExpectedVersion::Exact(3),
            vec![pharos_events::encode(&EntryEvent::FileAttached(
                EntryFile {
                    file_id: Uuid::now_v7(),
                    sha256: later_sha.clone(),
                    bytes: later.len() as u64,
                    file_type: FileType::Png,
                    duration_seconds: None,
                },
            ))],
            &Metadata::default(),
        )
        .await
        .unwrap();

    // Started again, the follower resumes after its checkpoint: another erasure (of
    // someone with no entry) goes by, Camille's is not done again.
    let (shutdown, follower) = start(&store, &files).await;
    let other = erase(&store, PersonId(Uuid::now_v7())).await;
    checkpoint_reaches(&store, other).await;
    assert_eq!(deletions(&store, &erased_entry).await, 1);
    assert!(files.open(&later_sha).await.unwrap().is_some());
    assert_eq!(deletions(&store, &kept_entry).await, 0);
    shutdown.cancel();
    follower.await.unwrap();
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
    db.finish().await;
}

/// A run that recorded an entry's `FilesDeleted` and stopped before removing the content,
/// then a run in a process whose index has not followed that event yet (on PostgreSQL a
/// reader stops below the oldest transaction still running in the cluster): the content
/// still goes, since the index is told the entry's state as the run loads it.
async fn content_a_lagging_index_still_holds_is_removed(db: TestDb) {
    let (store, dir, files) = store_and_files(&db).await;
    let (entry, sha) = entry_with_file(
        &store,
        &files,
        PersonId(Uuid::now_v7()),
        b"\x89PNG affiche en retard",
    )
    .await;
    // An index that caught up, then stopped following the log. Its catch-up stops below
    // the oldest transaction running in the cluster (other tests' on PostgreSQL): started
    // again until it reads the entry's file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let index: Index = loop {
        let stopped = CancellationToken::new();
        stopped.cancel();
        let index: Index = Projected::start(&store, &[ENTRY_CATEGORY], Entries::apply, stopped)
            .await
            .unwrap();
        if index.read(|i| i.holds(&sha)) {
            break index;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the index never read the entry's file"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    record_deletion(&store, &entry).await;

    let purged = delete_files(
        &store,
        &index,
        files.as_ref(),
        &[Uuid::parse_str(entry.id()).unwrap()],
        RESPONSIBLE_ERASED,
        chrono::Utc::now(),
        &Metadata::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        purged,
        Purged {
            entries: 0,
            files: 1
        },
        "nothing recorded again, the content removed"
    );
    assert!(files.open(&sha).await.unwrap().is_none());
    assert!(!index.read(|i| i.holds(&sha)));
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
    db.finish().await;
}

pharos_test_support::on_both_backends!(
    "pharos-contests-erasure";
    an_erasure_made_while_no_follower_ran_is_caught_up_once,
    content_a_lagging_index_still_holds_is_removed,
);
