//! Cross-process single-flight: one lock file per provider, so that of any
//! number of authhost processes only one refreshes a provider's login or
//! runs its helper at a time; the others wait, then find its result.
//!
//! The locks are the lock files of [`crate::files::lock`], in
//! `cache/locks/`: the folder and the files are checked to be the user's
//! alone, no symbolic link is followed, and a wait lasts at most the call
//! timeout plus a margin (the longest a holder's plugin call may take).
//!
//! A failed renewal (its plugin call failed or timed out) is recorded beside
//! the lock, in `<provider>.failed`, while the lock is still held: when it
//! failed, whether it asked for a new login, and its message, sanitised
//! (errors never hold a secret). The record is written atomically, mode
//! 0600, and read only from a regular file of the user's, never through a
//! symbolic link. A process that had to wait for the lock and finds a
//! record made since it started waiting reports that failure at once
//! ([`Error::RenewalFailed`]) instead of running the plugin again: of N
//! processes that ask while a refresh hangs, the first waits out the call
//! timeout and the others fail right after it, not one timeout after
//! another. A record is used for [`FAILURE_LIFETIME_MS`] at most, and only
//! by a process that waited: a later call, or one that did not wait, tries
//! again. A successful renewal removes the record.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Lease;
use super::credential::now_ms;
use crate::error::Error;
use crate::files::lock::{self, LockFile};
use crate::files::{self, Access};

/// How long after it was made a failure record is used, at most.
const FAILURE_LIFETIME_MS: u64 = 10_000;
/// The largest failure record read.
const MAX_RECORD: u64 = 4096;
/// The longest message kept in a failure record, in characters.
const MAX_MESSAGE: usize = 600;

/// The folder of lock files.
#[derive(Debug, Clone)]
pub(crate) struct Locks {
    dir: PathBuf,
    /// The longest wait for a lock.
    wait: Duration,
}

/// A held lock; dropping it releases the lock.
pub(crate) struct Held {
    _lock: lock::Held,
    /// The failure record of the provider.
    record: PathBuf,
    /// When this process started waiting for the lock (ms since the epoch),
    /// if it had to.
    waited_since: Option<u64>,
}

impl Locks {
    /// The lock files in `dir`, waited for at most `wait` each.
    pub fn new(dir: PathBuf, wait: Duration) -> Locks {
        Locks { dir, wait }
    }

    /// Waits until this process holds the lock of `provider`, at most the
    /// wait this was made with. An uncontended lock (the usual case) is
    /// taken at once on the calling thread; only a lock another process
    /// holds is waited for, on tokio's blocking pool.
    pub async fn acquire(&self, provider: &str) -> Result<Held, Error> {
        let stem = file_stem(provider);
        let path = self.dir.join(format!("{stem}.lock"));
        let file = LockFile::open(&path)?;
        let since = now_ms();
        let (lock, waited_since) = match file.try_lock()? {
            Ok(held) => (held, None),
            Err(file) => {
                tracing::debug!(
                    provider,
                    path = %path.display(),
                    "waiting for the provider's lock: another process is renewing its credential"
                );
                let wait = self.wait;
                (
                    crate::files::blocking(move || file.wait(wait)).await?,
                    Some(since),
                )
            }
        };
        Ok(Held {
            _lock: lock,
            record: self.dir.join(format!("{stem}.failed")),
            waited_since,
        })
    }
}

impl Locks {
    /// When the last renewal of `provider` failed asking for a new login,
    /// as its failure record says (however old: a successful renewal
    /// removes the record).
    pub fn refused_since(&self, provider: &str) -> Option<u64> {
        let stem = file_stem(provider);
        let record = read_record(&self.dir.join(format!("{stem}.failed")))?;
        (record.kind == Kind::LoginNeeded).then_some(record.at_ms)
    }
}

impl Lease for Held {
    fn release(self: Box<Self>) -> super::StoreFuture<'static, ()> {
        drop(self);
        Box::pin(async { Ok(()) })
    }

    fn waited(&self) -> bool {
        self.waited_since.is_some()
    }

    /// The failure of `provider`'s renewal that another process recorded
    /// while this one waited for the lock, if there is one.
    fn failure_while_waiting(&self, provider: &str) -> Option<Error> {
        let since = self.waited_since?;
        let record = read_record(&self.record)?;
        let fresh = now_ms().saturating_sub(record.at_ms) <= FAILURE_LIFETIME_MS;
        if record.at_ms < since || !fresh {
            return None;
        }
        tracing::debug!(
            provider,
            "another process's renewal failed while this one waited"
        );
        Some(Error::RenewalFailed {
            provider: provider.to_owned(),
            message: crate::sanitize::plugin_text(&record.message, MAX_MESSAGE),
            needs_login: record.kind == Kind::LoginNeeded,
        })
    }

    /// Records how the renewal made under this lock ended: a failure for
    /// the processes waiting, a success by removing any record. A record
    /// that cannot be written only costs the waiters a try of their own,
    /// so it is logged, not returned.
    fn record(&self, outcome: Result<(), &Error>) {
        let result = match outcome {
            // Found without running the plugin: as quick to find again.
            Err(Error::NoCredential(_) | Error::Expired(_)) => return,
            Ok(_) => match std::fs::remove_file(&self.record) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                removed => removed.map_err(|e| Error::io("cannot remove", &self.record, e)),
            },
            Err(error) => {
                let record = Record {
                    at_ms: now_ms(),
                    kind: if error.needs_login() {
                        Kind::LoginNeeded
                    } else {
                        Kind::Failed
                    },
                    message: crate::sanitize::plugin_text(&crate::error_chain(error), MAX_MESSAGE),
                };
                let bytes = serde_json::to_vec(&record).expect("a record always encodes");
                files::remove_leftovers(&self.record);
                files::write_atomic(&self.record, &bytes, Access::Private)
            }
        };
        if let Err(e) = result {
            tracing::debug!("cannot record the outcome of a renewal: {e}");
        }
    }
}

/// A failed renewal, as recorded beside the provider's lock.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// When it failed, in ms since the epoch.
    at_ms: u64,
    kind: Kind,
    /// The error, sanitised.
    message: String,
}

/// What kind of failure a [`Record`] holds.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    /// The user must log in again.
    LoginNeeded,
    /// Anything else.
    Failed,
}

/// The record at `path`, if there is one, it is a regular file of the
/// user's in a folder of the user's (not reached through a symbolic link),
/// and it can be understood.
fn read_record(path: &Path) -> Option<Record> {
    let bytes = files::read_trusted(path, MAX_RECORD)
        .inspect_err(|reason| {
            tracing::debug!(path = %path.display(), "ignoring a failure record: it {reason}");
        })
        .ok()??;
    serde_json::from_slice(&bytes)
        .inspect_err(|e| tracing::debug!(path = %path.display(), "ignoring a failure record: {e}"))
        .ok()
}

/// The name of `provider`'s lock file without its extension: the name when
/// that is a safe file name, else a digest of it.
fn file_stem(provider: &str) -> String {
    let safe = !provider.is_empty()
        && provider.len() <= 64
        && !provider.starts_with('.')
        && provider
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if safe {
        provider.to_owned()
    } else {
        let digest = Sha256::digest(provider.as_bytes());
        hex::encode(&digest[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_names_are_safe() {
        assert_eq!(file_stem("openrouter"), "openrouter");
        for odd in ["../x", "a/b", "", ".hidden", "ä"] {
            let stem = file_stem(odd);
            assert!(
                stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit()),
                "{odd}: {stem}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let wait = Duration::from_secs(30);
        let locks = Locks::new(dir.path().join("locks"), wait);
        let held = locks.acquire("p").await.unwrap();
        assert!(held.waited_since.is_none());
        let other = Locks::new(dir.path().join("locks"), wait);
        let waiter = tokio::spawn(async move { other.acquire("p").await.map(|h| h.waited_since) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished());
        drop(held);
        let waited = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(waited.is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_gets_the_failure_recorded_while_it_waited() {
        let dir = tempfile::tempdir().unwrap();
        let locks = Locks::new(dir.path().join("locks"), Duration::from_secs(30));
        let held = locks.acquire("p").await.unwrap();
        let other = locks.clone();
        let waiter = tokio::spawn(async move {
            let held = other.acquire("p").await.unwrap();
            held.failure_while_waiting("p").map(|e| e.to_string())
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let failed: Result<(), Error> = Err(Error::LoginRevoked {
            provider: "p".into(),
            reason: "gone\u{1b}[2J".into(),
        });
        held.record(failed.as_ref().map(|_| ()));
        drop(held);
        let reported = waiter.await.unwrap().unwrap();
        assert!(
            reported.starts_with("p: another authhost process tried just now and failed: "),
            "{reported}"
        );
        assert!(
            reported.contains("gone\\u{1b}[2J"),
            "not sanitised: {reported}"
        );
        // A call that did not wait tries again; a success clears the record.
        let held = locks.acquire("p").await.unwrap();
        assert!(held.failure_while_waiting("p").is_none());
        held.record(Ok(()));
        assert!(!dir.path().join("locks/p.failed").exists());
    }
}
