//! The personal-data vault. Every personal field an event carries (a
//! name, an e-mail, free text that may name someone) is sealed with a data key of the
//! person it belongs to; data keys are stored wrapped by the master key. Erasing a
//! person deletes their key: every field sealed with it, in every event, becomes
//! unreadable ("crypto-shredding"), while the event log itself is never rewritten.
//!
//! Domain code handles [`Sealed`] values in events and [`Personal`] values once
//! unsealed; it never touches keys or ciphers.
//!
//! Each process keeps the data keys it unwrapped for at most [`KEY_CACHE_AGE`] (5 s):
//! an erasure holds at once in the process that erased, and in every other process
//! within that bound.

mod in_commit;
mod master;
mod retention;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use pharos_eventstore::{
    AppendResult, Companion, Companions, Db, EventStore, ExpectedVersion, GlobalPosition, Metadata,
    NewEvent, ProjectionTx, StoreError, StreamId, on_db,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

pub use master::MasterKey;
pub use retention::{PURPOSES, RetentionRule, RetentionRules, Rule};

/// What users see in place of an erased person's data.
pub const ERASED_LABEL: &str = "donnée effacée";
/// The event category of erasures and purges.
pub const CATEGORY: &str = "person";
/// The event recording an erasure on request.
pub const PERSON_ERASED: &str = "person_erased";
/// The event recording an erasure by a retention rule.
pub const PERSONAL_DATA_PURGED: &str = "personal_data_purged";

/// How long a process uses a data key it read without reading it again: the bound
/// within which an erasure in another process holds in this one.
pub const KEY_CACHE_AGE: Duration = Duration::from_secs(5);
/// Most data keys a process keeps (32 bytes each, plus the map's own).
const KEY_CACHE_CAPACITY: usize = 50_000;

const NONCE_LEN: usize = 24;
const KEY_CHECK: &[u8] = b"pharos personal-data vault";

/// Someone whose personal data the vault holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(pub Uuid);

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A personal field as events store it: whose it is, and the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub person: PersonId,
    /// base64 of nonce ‖ ciphertext.
    pub sealed: String,
}

/// A personal field once unsealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Personal<T> {
    Known(T),
    /// The person was erased: shown as « donnée effacée ».
    Erased,
}

impl<T: fmt::Display> fmt::Display for Personal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(value) => value.fmt(f),
            Self::Erased => f.write_str(ERASED_LABEL),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(
        "the master key does not open this vault: it is not the key the vault was created with"
    )]
    WrongMasterKey,
    #[error("invalid master key: {0}")]
    InvalidMasterKey(&'static str),
    #[error("master key file {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("person {0} has no key: erased, or never registered")]
    NoKey(PersonId),
    #[error("a sealed value is malformed or was altered")]
    Tampered,
    #[error("no retention rule for purpose {0:?}")]
    UnknownPurpose(String),
    #[error("invalid retention rules: {0}")]
    InvalidRules(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Seals and unseals personal fields; erases people.
///
/// Unwrapped data keys are kept in memory for [`KEY_CACHE_AGE`] from the moment the
/// database was asked for them (a new person's from its creation): a registration
/// seals without reading the key it just created, a list unseals without a query per
/// page. An erasure drops the key here at once; another process, whose copy it cannot
/// reach, stops using it within that bound. Never cached: absent keys, and the e-mail
/// index (`find_person`, `person` always ask the database).
pub struct Vault {
    db: Db,
    master: MasterKey,
    index_key: Zeroizing<[u8; 32]>,
    rules: RetentionRules,
    keys: Mutex<KeyCache>,
}

/// Data keys unwrapped by this process, with when the database was asked for each.
#[derive(Default)]
struct KeyCache {
    keys: HashMap<Uuid, (Zeroizing<Vec<u8>>, Instant)>,
    /// Bumped by every erasure here: keys read before it are returned, not kept.
    generation: u64,
}

impl KeyCache {
    fn fresh(&self, person: &Uuid, now: Instant) -> Option<&Zeroizing<Vec<u8>>> {
        self.keys
            .get(person)
            .filter(|(_, asked)| now.saturating_duration_since(*asked) < KEY_CACHE_AGE)
            .map(|(key, _)| key)
    }

    fn keep(&mut self, person: Uuid, key: Zeroizing<Vec<u8>>, asked: Instant) {
        if self.keys.len() >= KEY_CACHE_CAPACITY && !self.keys.contains_key(&person) {
            let now = Instant::now();
            self.keys
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < KEY_CACHE_AGE);
            if self.keys.len() >= KEY_CACHE_CAPACITY {
                self.keys.clear();
            }
        }
        self.keys.insert(person, (key, asked));
    }

    fn forget(&mut self, person: Uuid) {
        self.generation = self.generation.wrapping_add(1);
        self.keys.remove(&person);
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens the vault of the store's database with `master`. The first opening records
    /// a check value; later openings with another key fail with `WrongMasterKey` instead
    /// of producing garbage.
    pub async fn open(store: &EventStore, master: MasterKey) -> Result<Self, PrivacyError> {
        let db = store.db();
        let check = seal_bytes(master.key(), KEY_CHECK, b"key_check");
        on_db!(&db, |pool| {
            sqlx::query(
            "INSERT INTO vault_meta (name, value) VALUES ('key_check', $1) ON CONFLICT (name) DO NOTHING"
        )
        .bind(&check)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        let stored: Vec<u8> = on_db!(&db, |pool| sqlx::query_scalar(
            "SELECT value FROM vault_meta WHERE name = 'key_check'"
        )
        .fetch_one(pool)
        .await)?;
        match open_bytes(master.key(), &stored, b"key_check") {
            Some(plain) if plain == KEY_CHECK => {}
            _ => return Err(PrivacyError::WrongMasterKey),
        }
        let index_key = master.derive("pharos e-mail index");
        Ok(Self {
            db,
            master,
            index_key,
            rules: RetentionRules::shipped()?,
            keys: Mutex::new(KeyCache::default()),
        })
    }

    /// The vault with `rules` in force instead of the shipped ones.
    pub fn with_rules(mut self, rules: RetentionRules) -> Self {
        self.rules = rules;
        self
    }

    /// The retention rules in force.
    pub fn rules(&self) -> &RetentionRules {
        &self.rules
    }

    /// The key cache; a panic while it was held left nothing half-written in it.
    fn key_cache(&self) -> MutexGuard<'_, KeyCache> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a vault was already created in this database (with some master key).
    pub async fn exists(store: &EventStore) -> Result<bool, PrivacyError> {
        let found: Option<i32> = on_db!(&store.db(), |pool| sqlx::query_scalar(
            "SELECT 1 FROM vault_meta WHERE name = 'key_check'"
        )
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    fn email_mac(&self, email: &str) -> Vec<u8> {
        let normalised = email.trim().to_lowercase();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&*self.index_key)
            .expect("HMAC takes keys of any length");
        mac.update(normalised.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The person known by this e-mail (case and surrounding spaces ignored), if any.
    pub async fn find_person(&self, email: &str) -> Result<Option<PersonId>, PrivacyError> {
        let mac = self.email_mac(email);
        let found: Option<Uuid> = on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT person_id FROM person_index WHERE email_mac = $1"
        )
        .bind(&mac)
        .fetch_optional(pool)
        .await)?;
        Ok(found.map(PersonId))
    }

    /// The person known by this e-mail, registered with a fresh data key if new.
    pub async fn person(&self, email: &str) -> Result<PersonId, PrivacyError> {
        let (person, new) = self.person_in_commit(email).await?;
        let Some(new) = new.first() else {
            return Ok(person);
        };
        match self.write_alone(new.as_ref()).await {
            Ok(()) => Ok(person),
            // Another request registered this e-mail meanwhile: keep theirs.
            Err(StoreError::CompanionRefused { .. }) => self
                .find_person(email)
                .await?
                .ok_or(PrivacyError::NoKey(person)),
            Err(e) => Err(e.into()),
        }
    }

    /// The person known by this e-mail; if new, their id and the companion that stores
    /// their key and e-mail index in the commit of the first append naming them
    /// ([`EventStore::append_with`]), so that a refused command leaves no key behind.
    /// The new key seals at once. The companion refuses, undoing the append, if another
    /// request registered the e-mail meanwhile: the command is to be tried again.
    pub async fn person_in_commit(
        &self,
        email: &str,
    ) -> Result<(PersonId, Companions), PrivacyError> {
        if let Some(person) = self.find_person(email).await? {
            return Ok((person, Vec::new()));
        }
        let person = PersonId(Uuid::now_v7());
        let data_key = Zeroizing::new(XChaCha20Poly1305::generate_key(&mut OsRng).to_vec());
        let new = in_commit::NewPerson {
            person,
            mac: self.email_mac(email),
            wrapped: seal_bytes(self.master.key(), &data_key, person.0.as_bytes()),
            created_at: Utc::now(),
        };
        // Its fields are sealed next: with this key, without reading it back. Should
        // the key never be stored, nothing was sealed with it either.
        self.key_cache().keep(person.0, data_key, Instant::now());
        Ok((person, vec![Arc::new(new)]))
    }

    /// `companion` in a commit of its own.
    async fn write_alone(&self, companion: &dyn Companion) -> Result<(), StoreError> {
        match &self.db {
            // Each companion's statements are atomic on their own here.
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                companion.write(ProjectionTx::Postgres(&mut conn)).await
            }
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                companion.write(ProjectionTx::Sqlite(&mut tx)).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// Seals `plaintext` as a field of `person`.
    pub async fn seal(&self, person: PersonId, plaintext: &str) -> Result<Sealed, PrivacyError> {
        let mut sealed = self.seal_all(&[(person, plaintext)]).await?;
        sealed.pop().ok_or(PrivacyError::NoKey(person))
    }

    /// The field's value, or `Erased` once its person's key is gone.
    pub async fn unseal(&self, sealed: &Sealed) -> Result<Personal<String>, PrivacyError> {
        let mut values = self.unseal_all(&[sealed]).await?;
        values.pop().ok_or(PrivacyError::Tampered)
    }

    /// The data keys of these people (absent: erased): those this process read less
    /// than [`KEY_CACHE_AGE`] ago, the others in one query.
    async fn keys_of(
        &self,
        people: impl IntoIterator<Item = PersonId>,
    ) -> Result<HashMap<Uuid, Zeroizing<Vec<u8>>>, PrivacyError> {
        let people: HashSet<Uuid> = people.into_iter().map(|p| p.0).collect();
        let asked = Instant::now();
        let mut keys = HashMap::with_capacity(people.len());
        let mut missing = Vec::new();
        let generation = {
            let cache = self.key_cache();
            for person in people {
                match cache.fresh(&person, asked) {
                    Some(key) => {
                        keys.insert(person, key.clone());
                    }
                    None => missing.push(person),
                }
            }
            cache.generation
        };
        if missing.is_empty() {
            return Ok(keys);
        }
        let people = missing;
        let wrapped: Vec<(Uuid, Vec<u8>)> = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT person_id, wrapped_key FROM person_keys WHERE person_id = ANY($1)",
                )
                .bind(&people)
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => {
                let hex: Vec<String> = people.iter().map(|p| p.simple().to_string()).collect();
                sqlx::query_as(
                    "SELECT person_id, wrapped_key FROM person_keys \
                     WHERE person_id IN (SELECT unhex(value) FROM json_each($1))",
                )
                .bind(serde_json::to_string(&hex).unwrap_or_default())
                .fetch_all(pool)
                .await?
            }
        };
        let mut read = Vec::with_capacity(wrapped.len());
        for (person, wrapped) in wrapped {
            let key = open_bytes(self.master.key(), &wrapped, person.as_bytes())
                .ok_or(PrivacyError::Tampered)?;
            read.push((person, Zeroizing::new(key)));
        }
        let mut cache = self.key_cache();
        // An erasure here since the query: its key may be among these, so none is kept.
        let keep = cache.generation == generation;
        for (person, key) in read {
            if keep {
                cache.keep(person, key.clone(), asked);
            }
            keys.insert(person, key);
        }
        Ok(keys)
    }

    /// Seals several fields (of one or more people) with one key lookup.
    pub async fn seal_all(&self, fields: &[(PersonId, &str)]) -> Result<Vec<Sealed>, PrivacyError> {
        let keys = self.keys_of(fields.iter().map(|(p, _)| *p)).await?;
        fields
            .iter()
            .map(|&(person, plaintext)| {
                let key = keys.get(&person.0).ok_or(PrivacyError::NoKey(person))?;
                Ok(Sealed {
                    person,
                    sealed: BASE64.encode(seal_bytes(
                        key,
                        plaintext.as_bytes(),
                        person.0.as_bytes(),
                    )),
                })
            })
            .collect()
    }

    /// Unseals many fields with one key lookup for all their people (replays, lists).
    pub async fn unseal_all(
        &self,
        sealed: &[&Sealed],
    ) -> Result<Vec<Personal<String>>, PrivacyError> {
        let keys = self.keys_of(sealed.iter().map(|s| s.person)).await?;
        sealed
            .iter()
            .map(|s| match keys.get(&s.person.0) {
                None => Ok(Personal::Erased),
                Some(key) => {
                    let bytes = BASE64
                        .decode(&s.sealed)
                        .map_err(|_| PrivacyError::Tampered)?;
                    let plain = open_bytes(key, &bytes, s.person.0.as_bytes())
                        .ok_or(PrivacyError::Tampered)?;
                    String::from_utf8(plain)
                        .map(Personal::Known)
                        .map_err(|_| PrivacyError::Tampered)
                }
            })
            .collect()
    }

    /// Erases a person: deletes their key and e-mail index, then records
    /// `person_erased` (who asked is in `metadata`, why in `reason`). The database space
    /// the key used is scrubbed too (SQLite `secure_delete` and a WAL checkpoint,
    /// PostgreSQL VACUUM). Erasing an erased person records nothing more.
    pub async fn erase(
        &self,
        store: &EventStore,
        person: PersonId,
        reason: &str,
        metadata: &Metadata,
    ) -> Result<Option<AppendResult>, PrivacyError> {
        self.shred(person).await?;
        scrub(&self.db).await?;
        // The key went first: a failure now leaves an erasure to record again, never a
        // recorded erasure of data still readable.
        self.record(
            store,
            person,
            NewEvent::new(PERSON_ERASED, json!({ "person": person, "reason": reason })),
            metadata,
        )
        .await
    }

    /// Records that `subject` (the record needing the data: `account`,
    /// `training_session-<id>`, …) holds `person`'s data for `purpose`. `reference`:
    /// the date the purpose's retention rule runs from, or `None` while the subject still
    /// needs the data. A later hold of the same subject replaces the earlier one.
    pub async fn hold(
        &self,
        person: PersonId,
        subject: &str,
        purpose: &str,
        reference: Option<DateTime<Utc>>,
    ) -> Result<(), PrivacyError> {
        let hold = self.hold_in_commit(person, subject, purpose, reference)?;
        Ok(self.write_alone(hold.as_ref()).await?)
    }

    /// [`hold`](Self::hold) as the companion of an append: stored in the commit of the
    /// event that makes `subject` need the data ([`EventStore::append_with`]).
    pub fn hold_in_commit(
        &self,
        person: PersonId,
        subject: &str,
        purpose: &str,
        reference: Option<DateTime<Utc>>,
    ) -> Result<Arc<dyn Companion>, PrivacyError> {
        let retain_until = match reference {
            Some(date) => self.rules.retain_until(purpose, date)?,
            None => {
                // The purpose must exist even when no deadline runs yet.
                self.rules.rule(purpose)?;
                None
            }
        };
        Ok(Arc::new(in_commit::Holding {
            person,
            subject: subject.to_owned(),
            purpose: purpose.to_owned(),
            retain_until,
        }))
    }

    /// Why `person`'s data is held, by subject.
    pub async fn holds(&self, person: PersonId) -> Result<Vec<Hold>, PrivacyError> {
        let rows: Vec<(String, String, Option<DateTime<Utc>>)> =
            on_db!(&self.db, |pool| sqlx::query_as(
                "SELECT subject, purpose, retain_until FROM person_holds \
                 WHERE person_id = $1 ORDER BY subject"
            )
            .bind(person.0)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(subject, purpose, retain_until)| Hold {
                subject,
                purpose,
                retain_until,
            })
            .collect())
    }

    /// The retention job: erases every person whose holds all have a deadline, the
    /// latest at or before `now`, and records for each `personal_data_purged` with the
    /// purpose and deadline of that latest hold. A person with no hold is kept: nothing
    /// says why, so nothing says until when.
    pub async fn purge(
        &self,
        store: &EventStore,
        now: DateTime<Utc>,
        metadata: &Metadata,
    ) -> Result<Vec<Purged>, PrivacyError> {
        let rows: Vec<(Uuid, String, DateTime<Utc>)> = on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT person_id, purpose, retain_until FROM person_holds WHERE person_id IN \
               (SELECT person_id FROM person_holds GROUP BY person_id \
                HAVING COUNT(*) = COUNT(retain_until) AND MAX(retain_until) <= $1) \
             ORDER BY retain_until"
        )
        .bind(now)
        .fetch_all(pool)
        .await)?;
        // Rows come by deadline: the last row of a person is their latest hold.
        let mut latest: HashMap<Uuid, (String, DateTime<Utc>)> = HashMap::new();
        for (person, purpose, retain_until) in rows {
            latest.insert(person, (purpose, retain_until));
        }
        let mut due: Vec<_> = latest.into_iter().collect();
        due.sort_by_key(|(person, (_, until))| (*until, *person));
        for (person, _) in &due {
            self.shred(PersonId(*person)).await?;
        }
        if !due.is_empty() {
            scrub(&self.db).await?;
        }
        let mut purged = Vec::with_capacity(due.len());
        for (person, (purpose, retain_until)) in due {
            let person = PersonId(person);
            let event = NewEvent::new(
                PERSONAL_DATA_PURGED,
                json!({ "person": person, "purpose": purpose, "retain_until": retain_until }),
            );
            self.record(store, person, event, metadata).await?;
            purged.push(Purged {
                person,
                purpose,
                retain_until,
            });
        }
        Ok(purged)
    }

    async fn shred(&self, person: PersonId) -> Result<(), PrivacyError> {
        self.key_cache().forget(person.0);
        for statement in [
            "DELETE FROM person_index WHERE person_id = $1",
            "DELETE FROM person_holds WHERE person_id = $1",
        ] {
            on_db!(&self.db, |pool| sqlx::query(statement)
                .bind(person.0)
                .execute(pool)
                .await
                .map(|_| ()))?;
        }
        let deleted = on_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM person_keys WHERE person_id = $1"
        )
        .bind(person.0)
        .execute(pool)
        .await
        .map(|_| ()));
        // Again once the key is gone: a read that found it meanwhile was not kept (the
        // generation moved), or is dropped now.
        self.key_cache().forget(person.0);
        deleted?;
        Ok(())
    }

    /// Appends `event` to the person's stream unless an erasure is recorded there already.
    async fn record(
        &self,
        store: &EventStore,
        person: PersonId,
        event: NewEvent,
        metadata: &Metadata,
    ) -> Result<Option<AppendResult>, PrivacyError> {
        let stream = StreamId::new(CATEGORY, person)?;
        let recorded = store
            .read_stream(&stream, 1)
            .await?
            .iter()
            .any(|e| e.event_type == PERSON_ERASED || e.event_type == PERSONAL_DATA_PURGED);
        if recorded {
            return Ok(None);
        }
        Ok(Some(
            store
                .append(&stream, ExpectedVersion::Any, vec![event], metadata)
                .await?,
        ))
    }

    /// Records that `actor` read `person`'s data through `route`, for `purpose`.
    pub async fn log_read(
        &self,
        actor: &Metadata,
        person: PersonId,
        route: &str,
        purpose: &str,
    ) -> Result<(), PrivacyError> {
        on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO read_log (read_at, actor_id, actor_role, person_id, route, purpose) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(Utc::now())
        .bind(actor.actor_id.as_deref())
        .bind(actor.actor_role.as_deref())
        .bind(person.0)
        .bind(route)
        .bind(purpose)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records that `actor` read each of `people`'s data through `route`, for `purpose`,
    /// in one statement (a list showing many people).
    pub async fn log_reads(
        &self,
        actor: &Metadata,
        people: &[PersonId],
        route: &str,
        purpose: &str,
    ) -> Result<(), PrivacyError> {
        // Six parameters a row; both backends take far more than 1,000 rows a statement.
        for chunk in people.chunks(1_000) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let at = i * 6;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${})",
                        at + 1,
                        at + 2,
                        at + 3,
                        at + 4,
                        at + 5,
                        at + 6
                    )
                })
                .collect();
            let statement = format!(
                "INSERT INTO read_log (read_at, actor_id, actor_role, person_id, route, purpose) \
                 VALUES {}",
                rows.join(", ")
            );
            let now = Utc::now();
            on_db!(&self.db, |pool| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.clone()));
                for person in chunk {
                    query = query
                        .bind(now)
                        .bind(actor.actor_id.as_deref())
                        .bind(actor.actor_role.as_deref())
                        .bind(person.0)
                        .bind(route)
                        .bind(purpose);
                }
                query.execute(pool).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Who read this person's data, oldest first.
    pub async fn reads_of(&self, person: PersonId) -> Result<Vec<ReadLogEntry>, PrivacyError> {
        Ok(on_db!(&self.db, |pool| sqlx::query_as(
            "SELECT read_at, actor_id, actor_role, route, purpose FROM read_log \
             WHERE person_id = $1 ORDER BY read_at, id"
        )
        .bind(person.0)
        .fetch_all(pool)
        .await)?)
    }

    /// Everything held about the person with this e-mail, decrypted (right of access):
    /// each sealed field of theirs in the log, with where and when it was recorded, and
    /// who read their data. `None` when no such person is held (never, or erased).
    pub async fn export(
        &self,
        store: &EventStore,
        email: &str,
    ) -> Result<Option<serde_json::Value>, PrivacyError> {
        let Some(person) = self.find_person(email).await? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        let mut pages = store.read_ahead(GlobalPosition::START, 1000, Vec::new());
        while let Some(page) = pages.recv().await {
            for event in page? {
                let mut found = Vec::new();
                sealed_fields(&event.data, String::new(), person, &mut found);
                for (path, sealed) in found {
                    fields.push(json!({
                        "stream": event.stream_id,
                        "event_type": event.event_type,
                        "recorded_at": event.recorded_at,
                        "field": path,
                        "value": self.unseal(&sealed).await?.to_string(),
                    }));
                }
            }
        }
        let reads = self.reads_of(person).await?;
        Ok(Some(json!({
            "person": person,
            "email": email.trim().to_lowercase(),
            "fields": fields,
            "reads": reads,
        })))
    }
}

/// Why a person's data is held: by which record, for what, until when (`None`: while
/// that record needs it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub subject: String,
    pub purpose: String,
    pub retain_until: Option<DateTime<Utc>>,
}

/// One erasure by a retention rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub person: PersonId,
    pub purpose: String,
    pub retain_until: DateTime<Utc>,
}

/// One read of someone's nominative data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReadLogEntry {
    pub read_at: DateTime<Utc>,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub route: String,
    pub purpose: String,
}

/// Collects the sealed fields of `person` in `value`, with their JSON paths.
fn sealed_fields(
    value: &serde_json::Value,
    path: String,
    person: PersonId,
    out: &mut Vec<(String, Sealed)>,
) {
    match value {
        serde_json::Value::Object(map)
            if map.len() == 2 && map.contains_key("person") && map.contains_key("sealed") =>
        {
            if let Ok(sealed) = serde_json::from_value::<Sealed>(value.clone())
                && sealed.person == person
            {
                out.push((path, sealed));
            }
        }
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                sealed_fields(child, child_path, person, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                sealed_fields(child, format!("{path}[{i}]"), person, out);
            }
        }
        _ => {}
    }
}

/// Overwrites what deletions left in the database files.
async fn scrub(db: &Db) -> Result<(), PrivacyError> {
    match db {
        Db::Postgres(pool) => {
            sqlx::query("VACUUM person_keys").execute(pool).await?;
            sqlx::query("VACUUM person_index").execute(pool).await?;
        }
        // secure_delete (set on every connection) zeroes the freed cells; the checkpoint
        // moves the zeroed pages into the database file and empties the WAL.
        Db::Sqlite(pool) => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

fn seal_bytes(key: &[u8], plain: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let mut out = nonce.to_vec();
    // Encryption into a Vec cannot fail for inputs this small.
    if let Ok(ciphertext) = cipher.encrypt(&nonce, Payload { msg: plain, aad }) {
        out.extend(ciphertext);
    }
    out
}

fn open_bytes(key: &[u8], sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() <= NONCE_LEN || key.len() != 32 {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    XChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
}
