//! The renewal lock of the shared store: a lease row per (namespace,
//! provider) in `authhost_leases`, so that of every process on every
//! machine one refreshes a login at a time.
//!
//! - A process takes the lease when nobody holds it or the holder's lease
//!   has run out, by the database's clock (`now()`: machines' clocks
//!   differ), for the plugin call's timeout plus a margin: a live holder
//!   always finishes first, and one killed with `kill -9` loses the lease
//!   when it runs out. Each taking increments the row's epoch.
//! - While it holds the lease, the process's writes of the provider's
//!   entry are fenced: they succeed only if the lease is still its own and
//!   the entry is still the version it read under the lease (see
//!   `write::Columns::fenced`), so a holder that lost its lease never overwrites
//!   a newer credential, and a rotated refresh token is presented once.
//! - Giving the lease up records how the renewal ended (a failure, for
//!   the processes that waited, as the lock files' failure record does)
//!   and sends `NOTIFY authhost_lease`; waiters `LISTEN` and try again
//!   when notified, or when the holder's lease runs out, looking again at
//!   least every 2 s as a safety net for a lost notification.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::types::{ToSql, Type};

use super::{Fence, Inner};
use crate::Error;
use crate::store::Lease;

/// The channel of lease notifications.
const CHANNEL: &str = "authhost_lease";
/// The longest a waiter waits for a notification before it looks at the
/// lease again: a safety net for a notification that never comes (a
/// connection lost and made again meanwhile), not the way waiters learn.
const SAFETY_NET: Duration = Duration::from_secs(2);
/// The longest message kept in a failure record, in characters.
const MAX_MESSAGE: usize = 600;

/// A held lease.
pub(crate) struct Held {
    inner: Arc<Inner>,
    provider: String,
    holder: String,
    /// The failure another holder recorded while this process waited.
    failure: Option<(bool, String)>,
    waited: bool,
    /// How the renewal ended, once [`Lease::record`]ed: `Some(None)` a
    /// success, `Some(Some(..))` a failure (needs a login, message).
    outcome: Mutex<Option<Option<(bool, String)>>>,
    released: bool,
}

/// The payload of a notification about `provider`'s lease.
fn payload(namespace: &str, provider: &str) -> String {
    serde_json::json!([namespace, provider]).to_string()
}

/// Waits until this process holds `provider`'s lease, at most the store's
/// wait.
pub(super) async fn acquire(inner: Arc<Inner>, provider: &str) -> Result<Held, Error> {
    let started = Instant::now();
    let mut holder_bytes = [0u8; 16];
    getrandom::fill(&mut holder_bytes).expect("the OS's random source works");
    let holder = hex::encode(holder_bytes);
    let mut notes = inner.conn.notifications();
    let mut listening = false;
    let mut since_ms: Option<i64> = None;
    let expected = payload(&inner.namespace, provider);
    loop {
        let (left_ms, now_ms) = match try_take(&inner, provider, &holder, since_ms).await? {
            Take::Busy { left_ms, now_ms } => (left_ms, now_ms),
            Take::Taken(failure) => {
                inner
                    .fences
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(
                        provider.to_owned(),
                        Fence {
                            holder: holder.clone(),
                            version: None,
                        },
                    );
                return Ok(Held {
                    inner,
                    provider: provider.to_owned(),
                    holder,
                    failure,
                    waited: since_ms.is_some(),
                    outcome: Mutex::new(None),
                    released: false,
                });
            }
        };
        if !listening {
            // Listen, then try again: a release between the try and the
            // LISTEN would otherwise be missed.
            inner
                .conn
                .run("cannot listen", |c| async move {
                    c.batch_execute(&format!("LISTEN {CHANNEL}")).await
                })
                .await?;
            listening = true;
            continue;
        }
        if let Some(now_ms) = now_ms {
            since_ms.get_or_insert(now_ms);
        }
        let waited = started.elapsed();
        if waited >= inner.wait {
            return Err(Error::LockTimeout {
                path: format!("{} lease of {provider}", inner.conn.target().described()).into(),
                waited_s: waited.as_secs(),
            });
        }
        tracing::debug!(
            provider,
            left_ms,
            "waiting for the provider's lease: another process is renewing its credential"
        );
        let until_expiry = Duration::from_millis(left_ms.max(0) as u64 + 50);
        let wait = until_expiry.min(SAFETY_NET).min(inner.wait - waited);
        let _ = tokio::time::timeout(wait, async {
            loop {
                match notes.recv().await {
                    Ok(note) if note == expected => break,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                    // The connection went away: try again (reconnecting).
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        })
        .await;
        // After a reconnection the new session must listen again.
        listening = false;
    }
}

/// What [`try_take`] found.
enum Take {
    /// The lease is this process's now, with the failure another holder
    /// recorded while it waited, if any.
    Taken(Option<(bool, String)>),
    /// Another process holds it for `left_ms` more; the database's time,
    /// when known.
    Busy { left_ms: i64, now_ms: Option<i64> },
}

/// Takes the lease if it is free or ran out, in one statement that also
/// says, when another holds it, how long that lease has left. Taken, it
/// brings the failure recorded since `since_ms` (the database's clock when
/// this process started waiting), at most 10 s ago (as the lock files'
/// records).
async fn try_take(
    inner: &Inner,
    provider: &str,
    holder: &str,
    since_ms: Option<i64>,
) -> Result<Take, Error> {
    let ns = inner.namespace.as_str();
    let lease_ms = inner.lease_ms as i64;
    let since = since_ms.unwrap_or(i64::MAX);
    let rows = inner
        .conn
        .run("cannot take the renewal lease", |c| async move {
            let params: [(&(dyn ToSql + Sync), Type); 5] = [
                (&ns, Type::TEXT),
                (&provider, Type::TEXT),
                (&holder, Type::TEXT),
                (&lease_ms, Type::INT8),
                (&since, Type::INT8),
            ];
            // The second SELECT sees the row as it was before the INSERT:
            // when nothing was taken, the holder's lease.
            c.query_typed(
                "WITH taken AS (
                   INSERT INTO authhost_leases AS l (namespace, provider, holder, epoch, expires_at)
                   VALUES ($1, $2, $3, 1, now() + $4::int8 * interval '1 millisecond')
                   ON CONFLICT (namespace, provider) DO UPDATE SET
                     holder = EXCLUDED.holder, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at
                   WHERE l.holder IS NULL OR l.expires_at <= now()
                   RETURNING l.failure_login, l.failure_message,
                     (l.failed_at IS NOT NULL
                      AND (extract(epoch FROM l.failed_at) * 1000)::int8 >= $5::int8
                      AND l.failed_at > now() - interval '10 seconds') AS fresh)
                 SELECT true, failure_login, failure_message, fresh, NULL::int8,
                        (extract(epoch FROM now()) * 1000)::int8
                 FROM taken
                 UNION ALL
                 SELECT false, NULL, NULL, NULL,
                        (extract(epoch FROM l.expires_at - now()) * 1000)::int8,
                        (extract(epoch FROM now()) * 1000)::int8
                 FROM authhost_leases l
                 WHERE l.namespace = $1 AND l.provider = $2 AND NOT EXISTS (SELECT 1 FROM taken)",
                &params,
            )
            .await
        })
        .await?;
    let Some(row) = rows.first() else {
        // Taken by another process between this statement's snapshot and
        // its insert: busy, for an unknown while.
        return Ok(Take::Busy {
            left_ms: 0,
            now_ms: None,
        });
    };
    if !row.get::<_, bool>(0) {
        return Ok(Take::Busy {
            left_ms: row.get::<_, Option<i64>>(4).unwrap_or(0),
            now_ms: Some(row.get(5)),
        });
    }
    let fresh: Option<bool> = row.get(3);
    let failure = match (fresh, row.get::<_, Option<bool>>(1), row.get(2)) {
        (Some(true), Some(login), Some(message)) => Some((login, message)),
        _ => None,
    };
    Ok(Take::Taken(failure))
}

impl Held {
    /// Gives the lease up, with the recorded outcome, and wakes the
    /// waiters.
    async fn give_up(
        inner: Arc<Inner>,
        provider: String,
        holder: String,
        outcome: Option<Option<(bool, String)>>,
    ) -> Result<(), Error> {
        {
            let mut fences = inner.fences.lock().unwrap_or_else(|e| e.into_inner());
            if fences.get(&provider).is_some_and(|f| f.holder == holder) {
                fences.remove(&provider);
            }
        }
        // 0: keep the record, 1: clear it, 2: record a failure.
        let (what, login, message): (i32, Option<bool>, Option<String>) = match outcome {
            None => (0, None, None),
            Some(None) => (1, None, None),
            Some(Some((login, message))) => (2, Some(login), Some(message)),
        };
        let ns = inner.namespace.as_str();
        let note = payload(ns, &provider);
        let (provider, holder) = (provider.as_str(), holder.as_str());
        inner
            .conn
            .run("cannot give the renewal lease up", |c| {
                let (login, message, note) = (login, message.clone(), note.clone());
                async move {
                    let params: [(&(dyn ToSql + Sync), Type); 7] = [
                        (&ns, Type::TEXT),
                        (&provider, Type::TEXT),
                        (&holder, Type::TEXT),
                        (&what, Type::INT4),
                        (&login, Type::BOOL),
                        (&message, Type::TEXT),
                        (&note, Type::TEXT),
                    ];
                    c.query_typed(
                        "WITH r AS (
                           UPDATE authhost_leases SET holder = NULL, expires_at = now(),
                             failed_at = CASE $4::int4 WHEN 0 THEN failed_at WHEN 1 THEN NULL ELSE now() END,
                             failure_login = CASE $4::int4 WHEN 0 THEN failure_login WHEN 1 THEN NULL ELSE $5 END,
                             failure_message = CASE $4::int4 WHEN 0 THEN failure_message WHEN 1 THEN NULL ELSE $6 END
                           WHERE namespace = $1 AND provider = $2 AND holder = $3
                           RETURNING 1)
                         SELECT pg_notify('authhost_lease', $7) FROM r",
                        &params,
                    )
                    .await
                }
            })
            .await?;
        Ok(())
    }
}

impl Lease for Held {
    fn failure_while_waiting(&self, provider: &str) -> Option<Error> {
        let (needs_login, message) = self.failure.as_ref()?;
        tracing::debug!(
            provider,
            "another process's renewal failed while this one waited"
        );
        Some(Error::RenewalFailed {
            provider: provider.to_owned(),
            message: crate::sanitize::plugin_text(message, MAX_MESSAGE),
            needs_login: *needs_login,
        })
    }

    fn waited(&self) -> bool {
        self.waited
    }

    fn record(&self, outcome: Result<(), &Error>) {
        let noted = match outcome {
            Err(Error::NoCredential(_) | Error::Expired(_)) => return,
            Ok(()) => None,
            Err(error) => Some((
                error.needs_login(),
                crate::sanitize::plugin_text(&crate::error_chain(error), MAX_MESSAGE),
            )),
        };
        *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(noted);
    }

    fn release(mut self: Box<Self>) -> crate::store::StoreFuture<'static, ()> {
        self.released = true;
        let outcome = self
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (inner, provider, holder) = (
            self.inner.clone(),
            self.provider.clone(),
            self.holder.clone(),
        );
        Box::pin(Held::give_up(inner, provider, holder, outcome))
    }
}

impl Drop for Held {
    /// A lease dropped without [`Lease::release`] (a cancelled call) is
    /// given up in the background when a runtime is there; otherwise it
    /// runs out.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let outcome = self
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (inner, provider, holder) = (
            self.inner.clone(),
            self.provider.clone(),
            self.holder.clone(),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = Held::give_up(inner, provider, holder, outcome).await;
            });
        }
    }
}
