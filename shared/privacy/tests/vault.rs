//! The vault on SQLite and (when DATABASE_URL is set) PostgreSQL: sealed data never
//! lies in clear in the database, erasure leaves nothing readable nor any key behind,
//! the log keeps every event, and a wrong master key is refused.
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use pharos_eventstore::{
    Db, EventStore, ExpectedVersion, GlobalPosition, Metadata, NewEvent, StoreOptions, StreamId,
};
use pharos_privacy::{
    ERASED_LABEL, KEY_CACHE_AGE, MasterKey, PERSON_ERASED, PERSONAL_DATA_PURGED, Personal,
    PrivacyError, Vault,
};
use pharos_test_support::TestDb;
use serde_json::json;

async fn store(db: &TestDb) -> EventStore {
    let store = EventStore::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// Every byte the database keeps: the SQLite file and its WAL; or a pg_dump plus the key
/// table's own file, where deleted rows linger until overwritten (when the server runs on
/// this machine; pg_dump shows live rows only).
async fn all_bytes(db: &TestDb, store: &EventStore) -> Vec<u8> {
    match (db.sqlite_path(), store.db()) {
        (Some(path), Db::Sqlite(pool)) => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&pool)
                .await
                .unwrap();
            let mut bytes = std::fs::read(path).unwrap();
            let mut wal = path.to_path_buf().into_os_string();
            wal.push("-wal");
            bytes.extend(std::fs::read(wal).unwrap_or_default());
            bytes
        }
        (_, Db::Postgres(pool)) => {
            let out = std::process::Command::new("pg_dump")
                .arg(&db.url)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut bytes = out.stdout;
            sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
            let file: String = sqlx::query_scalar(
                "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('person_keys')",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            match std::fs::read(&file) {
                Ok(heap) => bytes.extend(heap),
                Err(e) => eprintln!("{file} not readable here ({e}): pg_dump only"),
            }
            bytes
        }
        _ => unreachable!("the store is on the test database"),
    }
}

async fn finish(db: TestDb, store: EventStore) {
    store.close().await;
    db.finish().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn pole_manager() -> Metadata {
    Metadata {
        actor_id: Some("pole-manager-1".into()),
        actor_role: Some("pole_manager".into()),
        ..Metadata::default()
    }
}

async fn erasure_leaves_the_log_whole_and_the_person_unreadable(db: TestDb) {
    let store = store(&db).await;
    let vault = Vault::open(&store, MasterKey::generate()).await.unwrap();
    let name = "Zoé Vasquez-Lemaire";
    let email = "zoe.vasquez-lemaire@ac-toulouse.fr";
    let other_name = "Marius Delacroix-Bonnet";

    let zoe = vault.person(email).await.unwrap();
    assert_eq!(
        vault
            .person(" Zoe.Vasquez-Lemaire@AC-TOULOUSE.fr ")
            .await
            .unwrap(),
        zoe,
        "one person per e-mail"
    );
    let marius = vault.person("marius@ac-toulouse.fr").await.unwrap();
    let sealed_name = vault.seal(zoe, name).await.unwrap();
    let sealed_email = vault.seal(zoe, email).await.unwrap();
    let sealed_other = vault.seal(marius, other_name).await.unwrap();
    let stream = StreamId::new("training_session", uuid::Uuid::now_v7()).unwrap();
    let mut last = GlobalPosition::START;
    for (sealed_name, sealed_email) in [(&sealed_name, Some(&sealed_email)), (&sealed_other, None)]
    {
        last = store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![NewEvent::new(
                    "registration_confirmed",
                    json!({ "name": sealed_name, "email": sealed_email, "mode": "designated" }),
                )],
                &Metadata::default(),
            )
            .await
            .unwrap()
            .position;
    }
    let readable = std::time::Duration::from_secs(10);
    assert!(store.wait_readable(last, readable).await.unwrap());
    let before = store
        .read_all(GlobalPosition::START, 100, &[])
        .await
        .unwrap();
    assert_eq!(before.len(), 2);

    // Sealed at rest: the clear text is nowhere in the database.
    let bytes = all_bytes(&db, &store).await;
    for clear in [name, email, other_name] {
        assert!(
            !contains(&bytes, clear.as_bytes()),
            "{clear} stored in clear"
        );
    }
    assert_eq!(
        vault.unseal(&sealed_name).await.unwrap(),
        Personal::Known(name.to_owned())
    );

    let wrapped_key: Vec<u8> = pharos_eventstore::on_db!(&store.db(), |pool| sqlx::query_scalar(
        "SELECT wrapped_key FROM person_keys WHERE person_id = $1"
    )
    .bind(zoe.0)
    .fetch_one(pool)
    .await
    .unwrap());
    let erased = vault
        .erase(
            &store,
            zoe,
            "demande de l'intéressée (RGPD art. 17)",
            &pole_manager(),
        )
        .await
        .unwrap()
        .expect("an erasure is recorded");

    // Every field of hers reads as erased, in every event; others' fields still read.
    let stored: pharos_privacy::Sealed =
        serde_json::from_value(before[0].data["name"].clone()).unwrap();
    assert_eq!(vault.unseal(&stored).await.unwrap(), Personal::Erased);
    assert_eq!(
        vault.unseal(&sealed_email).await.unwrap().to_string(),
        ERASED_LABEL
    );
    assert_eq!(
        vault.unseal(&sealed_other).await.unwrap(),
        Personal::Known(other_name.to_owned())
    );
    assert!(vault.find_person(email).await.unwrap().is_none());
    assert_eq!(
        vault
            .unseal_all(&[&sealed_name, &sealed_other, &sealed_email])
            .await
            .unwrap(),
        [
            Personal::Erased,
            Personal::Known(other_name.to_owned()),
            Personal::Erased
        ]
    );
    assert!(matches!(
        vault.seal(zoe, "x").await,
        Err(PrivacyError::NoKey(_))
    ));

    // The key is gone from the database's bytes, not just from its tables.
    let bytes = all_bytes(&db, &store).await;
    assert!(
        !contains(&bytes, &wrapped_key),
        "the erased key survives in the database"
    );
    for clear in [name, email] {
        assert!(!contains(&bytes, clear.as_bytes()));
    }

    // The log: the same events in the same order, plus the erasure with who and why.
    assert!(
        store
            .wait_readable(erased.position, std::time::Duration::from_secs(10))
            .await
            .unwrap()
    );
    let after = store
        .read_all(GlobalPosition::START, 100, &[])
        .await
        .unwrap();
    assert_eq!(&after[..2], &before[..]);
    assert_eq!(after.len(), 3);
    assert_eq!(after[2].event_type, PERSON_ERASED);
    assert_eq!(
        after[2].data["reason"],
        "demande de l'intéressée (RGPD art. 17)"
    );
    assert_eq!(
        after[2].metadata.actor_role.as_deref(),
        Some("pole_manager")
    );

    // Erasing again records nothing more.
    assert!(
        vault
            .erase(&store, zoe, "encore", &pole_manager())
            .await
            .unwrap()
            .is_none()
    );
    finish(db, store).await;
}

async fn a_wrong_master_key_is_refused_and_never_decrypts(db: TestDb) {
    let store = store(&db).await;
    let right = MasterKey::generate();
    let vault = Vault::open(&store, right.clone()).await.unwrap();
    let person = vault.person("a@ac-toulouse.fr").await.unwrap();
    let sealed = vault.seal(person, "Anne Martin").await.unwrap();
    assert!(matches!(
        Vault::open(&store, MasterKey::generate()).await,
        Err(PrivacyError::WrongMasterKey)
    ));
    // The right key still opens it.
    let again = Vault::open(&store, right).await.unwrap();
    assert_eq!(
        again.unseal(&sealed).await.unwrap(),
        Personal::Known("Anne Martin".into())
    );
    // An altered ciphertext is refused, never decrypted to something else.
    let mut altered = sealed.clone();
    altered.sealed.replace_range(40..44, "AAAA");
    assert!(matches!(
        again.unseal(&altered).await,
        Err(PrivacyError::Tampered)
    ));
    finish(db, store).await;
}

async fn concurrent_registrations_of_one_email_make_one_person(db: TestDb) {
    let store = store(&db).await;
    let vault = std::sync::Arc::new(Vault::open(&store, MasterKey::generate()).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let vault = vault.clone();
            tokio::spawn(async move { vault.person("same@ac-toulouse.fr").await.unwrap() })
        })
        .collect();
    let mut people = Vec::new();
    for t in tasks {
        people.push(t.await.unwrap());
    }
    people.dedup();
    assert_eq!(people.len(), 1, "{people:?}");
    let keys: i64 = pharos_eventstore::on_db!(&store.db(), |pool| sqlx::query_scalar(
        "SELECT count(*) FROM person_keys"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(keys, 1, "losers' keys are removed");
    finish(db, store).await;
}

/// A new person and their hold go with the append that names them: a refused append
/// leaves no key, no index row and no hold; of two appends registering one new e-mail at
/// once, one is refused and the e-mail names one person, whose key is stored.
async fn a_new_person_and_their_hold_are_stored_with_the_append_or_not_at_all(db: TestDb) {
    let store = store(&db).await;
    let key = MasterKey::generate();
    let vault = Vault::open(&store, key.clone()).await.unwrap();
    let count = async |table: &str| -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        pharos_eventstore::on_db!(&store.db(), |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .fetch_one(pool)
        .await
        .unwrap())
    };
    let event = |person: &pharos_privacy::PersonId| {
        NewEvent::new("person_registered", json!({ "person": person }))
    };
    let companions = |new: Vec<_>, person| {
        let mut all: pharos_eventstore::Companions = new;
        all.push(
            vault
                .hold_in_commit(
                    person,
                    "training_session-1",
                    "session_registrant",
                    Some(Utc::now()),
                )
                .unwrap(),
        );
        all
    };

    // Refused by the log (the stream exists already): nothing of the person is stored.
    let taken = StreamId::new("registration", "taken").unwrap();
    store
        .append(
            &taken,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("opened", json!({}))],
            &pole_manager(),
        )
        .await
        .unwrap();
    let (person, new) = vault
        .person_in_commit("nouvelle@ac-toulouse.fr")
        .await
        .unwrap();
    assert_eq!(new.len(), 1, "a new e-mail comes with its key to store");
    let refused = store
        .append_with(
            &taken,
            ExpectedVersion::NoStream,
            vec![event(&person)],
            &pole_manager(),
            &companions(new, person),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(pharos_eventstore::StoreError::WrongExpectedVersion { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(
        vault.find_person("nouvelle@ac-toulouse.fr").await.unwrap(),
        None
    );
    assert_eq!(
        (count("person_keys").await, count("person_holds").await),
        (0, 0)
    );

    // Two registrations of one new e-mail at once: one stored, the other refused whole.
    let (first, first_new) = vault.person_in_commit("meme@ac-toulouse.fr").await.unwrap();
    let (second, second_new) = vault.person_in_commit("meme@ac-toulouse.fr").await.unwrap();
    assert_ne!(first, second);
    let append = |n: &str, person, new| {
        let stream = StreamId::new("registration", n).unwrap();
        let companions = companions(new, person);
        let store = store.clone();
        async move {
            let done = store
                .append_with(
                    &stream,
                    ExpectedVersion::NoStream,
                    vec![event(&person)],
                    &pole_manager(),
                    &companions,
                )
                .await;
            (done, store.read_stream(&stream, 1).await.unwrap().len())
        }
    };
    let ((a, a_events), (b, b_events)) = tokio::join!(
        append("a", first, first_new),
        append("b", second, second_new)
    );
    let (winner, events) = match (&a, &b) {
        (Ok(_), Err(pharos_eventstore::StoreError::CompanionRefused { reason })) => {
            assert!(reason.contains("réessayez"), "{reason}");
            (first, (a_events, b_events))
        }
        (Err(pharos_eventstore::StoreError::CompanionRefused { .. }), Ok(_)) => {
            (second, (b_events, a_events))
        }
        other => panic!("one stored, one refused: {other:?}"),
    };
    assert_eq!(events, (1, 0), "the refused registration wrote no event");
    assert_eq!(
        vault.find_person("meme@ac-toulouse.fr").await.unwrap(),
        Some(winner)
    );
    assert_eq!(vault.holds(winner).await.unwrap().len(), 1);
    assert_eq!(
        (count("person_keys").await, count("person_holds").await),
        (1, 1)
    );
    // The key sealed with before the commit is the stored one: another process reads it.
    let sealed = vault.seal(winner, "Camille Martin").await.unwrap();
    let elsewhere = Vault::open(&store, key).await.unwrap();
    assert_eq!(
        elsewhere.unseal(&sealed).await.unwrap(),
        Personal::Known("Camille Martin".to_owned())
    );
    finish(db, store).await;
}

#[test]
fn the_master_key_file_is_created_once_private_and_read_back() {
    let dir = std::env::temp_dir().join(format!("pharos-key-{}", uuid::Uuid::now_v7().simple()));
    let path = dir.join("data/master.key");
    let (created, was_created) = MasterKey::load_or_create(&path).unwrap();
    assert!(was_created);
    let (loaded, was_created) = MasterKey::load_or_create(&path).unwrap();
    assert!(!was_created);
    assert_eq!(created.to_hex(), loaded.to_hex());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(!format!("{created:?}").contains(&created.to_hex()[..8]));
    std::fs::write(&path, "pas une clé").unwrap();
    assert!(matches!(
        MasterKey::load_or_create(&path),
        Err(PrivacyError::InvalidMasterKey(_))
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

async fn retention_purges_erase_people_past_their_deadline_and_say_why(db: TestDb) {
    let store = store(&db).await;
    let vault = Vault::open(&store, MasterKey::generate()).await.unwrap();
    let registered = Utc
        .with_ymd_and_hms(2025, 11, 6, 10, 0, 0)
        .single()
        .unwrap();
    let lina = vault.person("lina.b@eleves.example").await.unwrap();
    let noe = vault.person("noe.c@eleves.example").await.unwrap();
    let staff = vault.person("cpe@ac-toulouse.fr").await.unwrap();
    vault
        .hold(lina, "cohort-a", "pupil_name", Some(registered))
        .await
        .unwrap();
    let later = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).single().unwrap();
    vault
        .hold(noe, "cohort-b", "pupil_name", Some(later))
        .await
        .unwrap();
    let lina_name = vault.seal(lina, "Lina B.").await.unwrap();
    let noe_name = vault.seal(noe, "Noé C.").await.unwrap();
    let staff_name = vault.seal(staff, "Claire Dupont").await.unwrap();

    let job = Metadata {
        actor_id: Some("retention-job".into()),
        ..Metadata::default()
    };
    let now = Utc.with_ymd_and_hms(2026, 9, 1, 0, 30, 0).single().unwrap();
    let purged = vault.purge(&store, now, &job).await.unwrap();
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0].person, lina);
    assert_eq!(purged[0].purpose, "pupil_name");
    assert_eq!(vault.unseal(&lina_name).await.unwrap(), Personal::Erased);
    assert_eq!(
        vault.unseal(&noe_name).await.unwrap(),
        Personal::Known("Noé C.".into())
    );
    assert_eq!(
        vault.unseal(&staff_name).await.unwrap(),
        Personal::Known("Claire Dupont".into())
    );

    let stream = StreamId::new(pharos_privacy::CATEGORY, lina).unwrap();
    let recorded = store.read_stream(&stream, 1).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].event_type, PERSONAL_DATA_PURGED);
    assert_eq!(recorded[0].data["purpose"], "pupil_name");
    assert_eq!(
        recorded[0].metadata.actor_id.as_deref(),
        Some("retention-job")
    );
    assert!(
        vault.purge(&store, now, &job).await.unwrap().is_empty(),
        "a purge runs once"
    );
    finish(db, store).await;
}

/// A registrant who also holds an account keeps their data while the account is active,
/// however old their registrations; once every hold has run out, the latest decides.
async fn a_person_is_purged_only_when_every_hold_has_run_out(db: TestDb) {
    let store = store(&db).await;
    let vault = Vault::open(&store, MasterKey::generate()).await.unwrap();
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).single().unwrap();
    let job = Metadata::default();
    let trainer = vault.person("formatrice@ac-toulouse.fr").await.unwrap();
    let name = vault.seal(trainer, "Inès Formatrice").await.unwrap();
    vault
        .hold(
            trainer,
            "training_session-1",
            "session_registrant",
            Some(at(2022, 10, 3)),
        )
        .await
        .unwrap();
    vault
        .hold(
            trainer,
            "training_session-2",
            "session_registrant",
            Some(at(2025, 3, 3)),
        )
        .await
        .unwrap();
    vault.hold(trainer, "account", "staff", None).await.unwrap();
    let holds = vault.holds(trainer).await.unwrap();
    assert_eq!(holds.len(), 3);
    assert_eq!(holds[2].subject, "training_session-2");
    assert_eq!(
        holds[2].retain_until,
        Some(Utc.with_ymd_and_hms(2027, 9, 1, 0, 0, 0).single().unwrap()),
        "two school years after 2024-2025"
    );
    assert!(matches!(
        vault.hold(trainer, "x", "medical_record", None).await,
        Err(PrivacyError::UnknownPurpose(_))
    ));

    // Years after both sessions, the active account still holds the data.
    assert!(
        vault
            .purge(&store, at(2030, 1, 1), &job)
            .await
            .unwrap()
            .is_empty()
    );
    // Deactivated on 1 March 2027: the account's year outlasts the registrations' 1
    // September 2027, and decides.
    vault
        .hold(
            trainer,
            "account",
            "deactivated_account",
            Some(at(2027, 3, 1)),
        )
        .await
        .unwrap();
    assert!(
        vault
            .purge(&store, at(2027, 6, 1), &job)
            .await
            .unwrap()
            .is_empty()
    );
    let purged = vault.purge(&store, at(2028, 3, 2), &job).await.unwrap();
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0].person, trainer);
    assert_eq!(
        purged[0].purpose, "deactivated_account",
        "the latest hold says why"
    );
    assert_eq!(vault.unseal(&name).await.unwrap(), Personal::Erased);
    assert!(vault.holds(trainer).await.unwrap().is_empty());
    finish(db, store).await;
}

async fn export_returns_everything_held_then_nothing_after_erasure(db: TestDb) {
    let store = store(&db).await;
    let vault = Vault::open(&store, MasterKey::generate()).await.unwrap();
    let email = "referent.31@ac-toulouse.fr";
    let person = vault.person(email).await.unwrap();
    let someone_else = vault.person("autre@ac-toulouse.fr").await.unwrap();
    let stream = StreamId::new("training_session", uuid::Uuid::now_v7()).unwrap();
    let data = json!({
        "person": {
            "display_name": vault.seal(person, "Hugo Ferrand").await.unwrap(),
            "email": vault.seal(person, email).await.unwrap(),
        },
        "team": [vault.seal(someone_else, "Autre Personne").await.unwrap()],
    });
    let appended = store
        .append(
            &stream,
            ExpectedVersion::Any,
            vec![NewEvent::new("registered", data)],
            &Metadata::default(),
        )
        .await
        .unwrap();
    let reader = Metadata {
        actor_id: Some("pole-1".into()),
        actor_role: Some("pole_manager".into()),
        ..Metadata::default()
    };
    vault
        .log_read(
            &reader,
            person,
            "GET /api/v1/sessions/{id}/registrations",
            "liste d'émargement",
        )
        .await
        .unwrap();
    let reads = vault.reads_of(person).await.unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].actor_role.as_deref(), Some("pole_manager"));
    assert_eq!(reads[0].route, "GET /api/v1/sessions/{id}/registrations");

    assert!(
        store
            .wait_readable(appended.position, std::time::Duration::from_secs(10))
            .await
            .unwrap()
    );
    let export = vault
        .export(&store, " Referent.31@AC-Toulouse.fr")
        .await
        .unwrap()
        .unwrap();
    let fields = export["fields"].as_array().unwrap();
    let values: Vec<&str> = fields
        .iter()
        .map(|f| f["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["Hugo Ferrand", email], "{export}");
    assert_eq!(fields[0]["field"], "person.display_name");
    assert_eq!(export["reads"].as_array().unwrap().len(), 1);
    assert!(
        !export.to_string().contains("Autre Personne"),
        "only their own data"
    );

    vault
        .erase(&store, person, "demande", &reader)
        .await
        .unwrap();
    assert!(vault.export(&store, email).await.unwrap().is_none());
    finish(db, store).await;
}

/// Each process keeps the keys it read for at most `KEY_CACHE_AGE`: an erasure holds at
/// once in the process that erases, and within that bound in another one (its own store
/// and vault on the same database), which had the key in memory.
async fn an_erasure_holds_at_once_here_and_within_the_bound_in_another_process(db: TestDb) {
    let store = store(&db).await;
    let key = MasterKey::generate();
    let here = Vault::open(&store, key.clone()).await.unwrap();
    let other_store = EventStore::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    let there = Vault::open(&other_store, key).await.unwrap();
    let person = here.person("lea.fontaine@ac-toulouse.fr").await.unwrap();
    let name = here.seal(person, "Léa Fontaine").await.unwrap();
    let known = Personal::Known("Léa Fontaine".to_owned());
    // The other process reads the key now: the bound runs from this question.
    let asked = std::time::Instant::now();
    assert_eq!(there.unseal(&name).await.unwrap(), known);
    assert_eq!(here.unseal(&name).await.unwrap(), known);

    here.erase(&store, person, "demande", &pole_manager())
        .await
        .unwrap()
        .expect("an erasure is recorded");
    assert_eq!(here.unseal(&name).await.unwrap(), Personal::Erased);
    assert!(matches!(
        here.seal(person, "x").await,
        Err(PrivacyError::NoKey(_))
    ));

    // Polled: the margin covers one poll and one query on a loaded machine.
    let deadline = asked + KEY_CACHE_AGE + std::time::Duration::from_millis(500);
    while there.unseal(&name).await.unwrap() != Personal::Erased {
        assert!(
            std::time::Instant::now() < deadline,
            "readable in another process past the bound"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(matches!(
        there.seal(person, "x").await,
        Err(PrivacyError::NoKey(_))
    ));
    other_store.close().await;
    finish(db, store).await;
}

pharos_test_support::on_both_backends!(
    "pharos-vault";
    an_erasure_holds_at_once_here_and_within_the_bound_in_another_process,
    erasure_leaves_the_log_whole_and_the_person_unreadable,
    a_wrong_master_key_is_refused_and_never_decrypts,
    concurrent_registrations_of_one_email_make_one_person,
    a_new_person_and_their_hold_are_stored_with_the_append_or_not_at_all,
    retention_purges_erase_people_past_their_deadline_and_say_why,
    a_person_is_purged_only_when_every_hold_has_run_out,
    export_returns_everything_held_then_nothing_after_erasure,
);
