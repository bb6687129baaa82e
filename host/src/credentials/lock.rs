//! Cross-process single-flight: one lock file per provider, so that of any
//! number of authhost processes only one refreshes a provider's login or
//! runs its helper at a time; the others wait, then find its result.
//!
//! The locks are the lock files of [`crate::files::lock`], in
//! `cache/locks/`: the folder and the files are checked to be the user's
//! alone, no symbolic link is followed, and a wait lasts at most the call
//! timeout plus a margin (the longest a holder's plugin call may take).

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::files::lock::{self, LockFile};

/// The folder of lock files.
#[derive(Debug, Clone)]
pub(super) struct Locks {
    dir: PathBuf,
    /// The longest wait for a lock.
    wait: Duration,
}

/// A held lock; dropping it releases the lock.
pub(super) struct Held {
    _lock: lock::Held,
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
        let lock = match file.try_lock()? {
            Ok(held) => held,
            Err(file) => {
                tracing::debug!(
                    provider,
                    path = %path.display(),
                    "waiting for the provider's lock: another process is renewing its credential"
                );
                let wait = self.wait;
                super::blocking(move || file.wait(wait)).await?
            }
        };
        Ok(Held { _lock: lock })
    }
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
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
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
        let other = Locks::new(dir.path().join("locks"), wait);
        let waiter = tokio::spawn(async move { other.acquire("p").await.map(drop) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished());
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
