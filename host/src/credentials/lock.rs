//! Cross-process single-flight: one lock file per provider, so that of any
//! number of authhost processes only one refreshes a provider's login or
//! runs its helper at a time; the others wait, then find its result.
//!
//! The locks are advisory `flock`-style locks (`File::lock`) on files in
//! `cache/locks/`. The operating system releases a lock when its process
//! ends, however it ends (a `kill -9` included), so a crashed refresh never
//! blocks the next one. Lock files are never deleted: deleting one while
//! another process waits on it would let two processes in at once.

use std::fs::{File, TryLockError};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::files::create_private_dir;

/// The folder of lock files.
#[derive(Debug, Clone)]
pub(super) struct Locks {
    dir: PathBuf,
}

/// A held lock; dropping it releases the lock.
pub(super) struct Held {
    _file: File,
}

impl Locks {
    pub fn new(dir: PathBuf) -> Locks {
        Locks { dir }
    }

    /// Waits until this process holds the lock of `provider`. An
    /// uncontended lock (the usual case) is taken at once on the calling
    /// thread; only a lock another process holds is waited for, on tokio's
    /// blocking pool.
    pub async fn acquire(&self, provider: &str) -> Result<Held, Error> {
        let path = self.dir.join(file_name(provider));
        // The folder exists but for the first lock a home ever takes.
        let file = match private_lock_file(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_private_dir(&self.dir)?;
                private_lock_file(&path)
            }
            opened => opened,
        }
        .map_err(|e| Error::io("cannot open lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => return Ok(Held { _file: file }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(Error::io("cannot lock", &path, e)),
        }
        super::blocking(move || {
            file.lock()
                .map_err(|e| Error::io("cannot lock", &path, e))?;
            Ok(Held { _file: file })
        })
        .await
    }
}

fn private_lock_file(path: &std::path::Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The lock file of `provider`: its name when that is a safe file name,
/// else a digest of it.
fn file_name(provider: &str) -> String {
    let safe = !provider.is_empty()
        && provider.len() <= 64
        && !provider.starts_with('.')
        && provider
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if safe {
        format!("{provider}.lock")
    } else {
        let digest = Sha256::digest(provider.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("{hex}.lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_names_are_safe() {
        assert_eq!(file_name("openrouter"), "openrouter.lock");
        for odd in ["../x", "a/b", "", ".hidden", "ä"] {
            let name = file_name(odd);
            assert!(name.len() == 37 && name.ends_with(".lock"), "{odd}: {name}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let locks = Locks::new(dir.path().join("locks"));
        let held = locks.acquire("p").await.unwrap();
        let other = Locks::new(dir.path().join("locks"));
        let waiter = tokio::spawn(async move { other.acquire("p").await.map(drop) });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!waiter.is_finished());
        drop(held);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
