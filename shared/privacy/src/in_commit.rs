//! The vault's writes as companions of an append ([`pharos_eventstore::Companion`]): a
//! new person's key and e-mail index, a retention hold, stored in the commit of the
//! event that needs them.

use std::fmt;

use chrono::{DateTime, Utc};
use pharos_eventstore::{Companion, CompanionWrite, InStatement, ProjectionTx, StoreError, on_tx};
use uuid::Uuid;

use crate::PersonId;

/// A new person: their wrapped data key and their e-mail's index row, stored together.
pub(crate) struct NewPerson {
    pub person: PersonId,
    pub mac: Vec<u8>,
    pub wrapped: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for NewPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPerson")
            .field("person", &self.person)
            .finish_non_exhaustive()
    }
}

impl NewPerson {
    /// Refused when the e-mail names someone else by now (another request registered it
    /// meanwhile): the caller's fields were sealed with a key that will not be stored.
    fn indexed(&self, holder: Option<Uuid>) -> Result<(), StoreError> {
        match holder {
            Some(holder) if holder == self.person.0 => Ok(()),
            _ => Err(StoreError::CompanionRefused {
                reason: "Cette adresse électronique vient d'être enregistrée par une autre \
                         demande ; réessayez dans un instant."
                    .into(),
            }),
        }
    }
}

const INDEX_THEN_KEY_PG: &str = "WITH indexed AS (INSERT INTO person_index (email_mac, person_id) \
       VALUES ($1, $2) ON CONFLICT (email_mac) DO NOTHING RETURNING person_id) \
     INSERT INTO person_keys (person_id, wrapped_key, created_at) \
     SELECT person_id, $3, $4 FROM indexed";
const INDEX: &str = "INSERT INTO person_index (email_mac, person_id) VALUES ($1, $2) \
     ON CONFLICT (email_mac) DO NOTHING";
const KEY: &str =
    "INSERT INTO person_keys (person_id, wrapped_key, created_at) VALUES ($1, $2, $3)";
const HOLDER: &str = "SELECT person_id FROM person_index WHERE email_mac = $1";

impl Companion for NewPerson {
    fn write<'c>(&'c self, tx: ProjectionTx<'c>) -> CompanionWrite<'c> {
        Box::pin(async move {
            let inserted = match tx {
                // One statement: the key is inserted only with the index row.
                ProjectionTx::Postgres(conn) => {
                    let inserted = sqlx::query(INDEX_THEN_KEY_PG)
                        .bind(&self.mac)
                        .bind(self.person.0)
                        .bind(&self.wrapped)
                        .bind(self.created_at)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    if inserted == 1 {
                        return Ok(());
                    }
                    // A statement of its own, so that it sees the row it conflicted with.
                    sqlx::query_scalar(HOLDER)
                        .bind(&self.mac)
                        .fetch_optional(&mut *conn)
                        .await?
                }
                // The only writer of its file: no row appears between the statements.
                ProjectionTx::Sqlite(conn) => {
                    let inserted = sqlx::query(INDEX)
                        .bind(&self.mac)
                        .bind(self.person.0)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    if inserted == 1 {
                        sqlx::query(KEY)
                            .bind(self.person.0)
                            .bind(&self.wrapped)
                            .bind(self.created_at)
                            .execute(&mut *conn)
                            .await?;
                        return Ok(());
                    }
                    sqlx::query_scalar(HOLDER)
                        .bind(&self.mac)
                        .fetch_optional(&mut *conn)
                        .await?
                }
            };
            self.indexed(inserted)
        })
    }

    /// Both rows, with no `ON CONFLICT`: an e-mail already indexed (someone else's, or
    /// this very person's on a retry) fails the statement, and `write` then decides.
    fn in_statement(&self, statement: &mut InStatement) -> Result<bool, StoreError> {
        let mac = statement.bind(&self.mac)?;
        let person = statement.bind(self.person.0)?;
        let wrapped = statement.bind(&self.wrapped)?;
        let created_at = statement.bind(self.created_at)?;
        statement.write(format!(
            "INSERT INTO person_index (email_mac, person_id) VALUES ({mac}, {person})"
        ));
        statement.write(format!(
            "INSERT INTO person_keys (person_id, wrapped_key, created_at) \
             VALUES ({person}, {wrapped}, {created_at})"
        ));
        Ok(true)
    }
}

/// Why `person`'s data is held, and until when (`None`: while `subject` needs it). A
/// later hold of the same subject replaces the earlier one.
#[derive(Debug)]
pub(crate) struct Holding {
    pub person: PersonId,
    pub subject: String,
    pub purpose: String,
    pub retain_until: Option<DateTime<Utc>>,
}

const HOLD: &str = "INSERT INTO person_holds (person_id, subject, purpose, retain_until) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (person_id, subject) \
     DO UPDATE SET purpose = excluded.purpose, retain_until = excluded.retain_until";

impl Companion for Holding {
    fn write<'c>(&'c self, mut tx: ProjectionTx<'c>) -> CompanionWrite<'c> {
        Box::pin(async move {
            on_tx!(&mut tx, |conn| sqlx::query(HOLD)
                .bind(self.person.0)
                .bind(&self.subject)
                .bind(&self.purpose)
                .bind(self.retain_until)
                .execute(conn))?;
            Ok(())
        })
    }

    fn in_statement(&self, statement: &mut InStatement) -> Result<bool, StoreError> {
        let person = statement.bind(self.person.0)?;
        let subject = statement.bind(&self.subject)?;
        let purpose = statement.bind(&self.purpose)?;
        let retain_until = statement.bind(self.retain_until)?;
        statement.write(format!(
            "INSERT INTO person_holds (person_id, subject, purpose, retain_until) \
             VALUES ({person}, {subject}, {purpose}, {retain_until}) \
             ON CONFLICT (person_id, subject) \
             DO UPDATE SET purpose = excluded.purpose, retain_until = excluded.retain_until"
        ));
        Ok(true)
    }
}
