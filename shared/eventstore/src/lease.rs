//! Leader leases for singleton workers (projector, reminder scheduler): at most one
//! holder per name; a standby takes over when the holder dies.
//!
//! PostgreSQL: a session advisory lock on a connection of its own; the server releases
//! it when that connection ends, however the holder died. SQLite: a row renewed every
//! third of its time to live; a holder that stops renewing loses it when it expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use sqlx::{ConnectOptions, Connection, SqlitePool};
use tokio_util::sync::CancellationToken;

use crate::{Backend, EventStore, StoreError};

/// Namespace of Pharos's advisory locks (the first key of the two-key form).
const ADVISORY_NAMESPACE: i32 = 0x7068;
const PG_KEEPALIVE: Duration = Duration::from_secs(1);

/// Proof of leadership; released when dropped.
pub struct Lease {
    name: String,
    lost: CancellationToken,
    release: CancellationToken,
    abandon: Arc<AtomicBool>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("name", &self.name)
            .field("held", &self.is_held())
            .finish()
    }
}

impl Lease {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// False once leadership is lost (connection gone, renewal failed).
    pub fn is_held(&self) -> bool {
        !self.lost.is_cancelled()
    }

    /// Resolves when leadership is lost: the worker must stop.
    pub async fn lost(&self) {
        self.lost.cancelled().await;
    }

    /// Stops holding without releasing, as a crashed process would: on PostgreSQL the
    /// connection just closes, on SQLite the lease is left to expire.
    pub fn abandon(self) {
        self.abandon.store(true, Ordering::SeqCst);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.release.cancel();
    }
}

impl EventStore {
    /// Takes the named lease if nobody holds it.
    pub async fn try_lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        let lease = Lease {
            name: name.to_owned(),
            lost: CancellationToken::new(),
            release: CancellationToken::new(),
            abandon: Arc::new(AtomicBool::new(false)),
        };
        let acquired = match &self.inner.backend {
            Backend::Postgres(b) => {
                let mut conn = b.connect_options.connect().await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
                    .bind(ADVISORY_NAMESPACE)
                    .bind(name)
                    .fetch_one(&mut conn)
                    .await?;
                if got {
                    self.spawn(keep_pg(conn, name.to_owned(), lease_signals(&lease)));
                } else {
                    let _ = conn.close().await;
                }
                got
            }
            Backend::Sqlite(b) => {
                let holder = uuid::Uuid::now_v7().to_string();
                let ttl = self.options().lease_ttl;
                if take_sqlite(&b.pool, name, &holder, ttl).await? {
                    self.spawn(keep_sqlite(
                        b.pool.clone(),
                        name.to_owned(),
                        holder,
                        ttl,
                        lease_signals(&lease),
                    ));
                    true
                } else {
                    false
                }
            }
        };
        Ok(acquired.then_some(lease))
    }

    /// Waits until the named lease is ours, or `shutdown` (then `None`).
    pub async fn lease(
        &self,
        name: &str,
        shutdown: &CancellationToken,
    ) -> Result<Option<Lease>, StoreError> {
        let retry = self.options().poll_interval;
        loop {
            if let Some(lease) = self.try_lease(name).await? {
                return Ok(Some(lease));
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(None),
                () = tokio::time::sleep(retry) => {}
            }
        }
    }
}

struct Signals {
    lost: CancellationToken,
    release: CancellationToken,
    abandon: Arc<AtomicBool>,
}

fn lease_signals(lease: &Lease) -> Signals {
    Signals {
        lost: lease.lost.clone(),
        release: lease.release.clone(),
        abandon: lease.abandon.clone(),
    }
}

async fn keep_pg(mut conn: sqlx::PgConnection, name: String, signals: Signals) {
    loop {
        tokio::select! {
            () = signals.release.cancelled() => break,
            () = tokio::time::sleep(PG_KEEPALIVE) => {
                if let Err(e) = sqlx::query("SELECT 1").execute(&mut conn).await {
                    tracing::warn!(lease = %name, error = %e, "lease connection lost");
                    signals.lost.cancel();
                    return;
                }
            }
        }
    }
    signals.lost.cancel();
    if !signals.abandon.load(Ordering::SeqCst) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
            .bind(ADVISORY_NAMESPACE)
            .bind(&name)
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

async fn take_sqlite(
    pool: &SqlitePool,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool, StoreError> {
    let now = Utc::now().timestamp_millis();
    let taken = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE leases.expires_at < $4",
    )
    .bind(name)
    .bind(holder)
    .bind(now + millis(ttl))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(taken.rows_affected() == 1)
}

async fn keep_sqlite(
    pool: SqlitePool,
    name: String,
    holder: String,
    ttl: Duration,
    signals: Signals,
) {
    // The holder counts itself lost at its own expiry time unless a renewal succeeded
    // first: a standby may take the lease from that instant on.
    let mut expires_at = Utc::now().timestamp_millis() + millis(ttl);
    let until_expiry = |expires_at: i64| {
        let left = expires_at - Utc::now().timestamp_millis();
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    };
    loop {
        tokio::select! {
            () = signals.release.cancelled() => break,
            () = tokio::time::sleep((ttl / 3).min(until_expiry(expires_at))) => {}
        }
        let now = Utc::now().timestamp_millis();
        let renewal = sqlx::query(
            "UPDATE leases SET expires_at = $3 WHERE name = $1 AND holder = $2 AND expires_at >= $4",
        )
        .bind(&name)
        .bind(&holder)
        .bind(now + millis(ttl))
        .bind(now)
        .execute(&pool);
        let renewed = tokio::select! {
            () = signals.release.cancelled() => break,
            () = tokio::time::sleep(until_expiry(expires_at)) => {
                tracing::warn!(lease = %name, "lease expired before its renewal answered");
                signals.lost.cancel();
                return;
            }
            renewed = renewal => renewed,
        };
        match renewed {
            Ok(r) if r.rows_affected() == 1 => expires_at = now + millis(ttl),
            Ok(_) => {
                tracing::warn!(lease = %name, "lease expired before renewal");
                signals.lost.cancel();
                return;
            }
            // A busy database may delay renewal; the lease holds until it expires.
            Err(e) => tracing::debug!(lease = %name, error = %e, "lease renewal delayed"),
        }
    }
    signals.lost.cancel();
    if !signals.abandon.load(Ordering::SeqCst) {
        let _ = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(&name)
            .bind(&holder)
            .execute(&pool)
            .await;
    }
}
