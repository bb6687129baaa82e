//! Lock files: exclusive advisory locks (`flock`, through `File::lock`)
//! that let authhost processes take turns: on a provider
//! (`cache/locks/<provider>.lock`), on a JSON store (`auth.json.lock`,
//! `cache/credentials.json.lock`) and on the component cache's index
//! (`cache/components/.index.lock`).
//!
//! Another local user who could create or replace a lock file could hold
//! it forever (every `token` that needs the lock would hang), or plant a
//! symbolic link there so that authhost creates a file where it points. So
//! before a lock file is used:
//!
//! - its folder is opened (and created, mode 0700, when missing) and must be
//!   the user's alone ([`trusted_owner_and_mode`]): owned by the user
//!   authhost runs as and not writable by group or others. The file is then
//!   opened *in that open folder* (`openat`), so the folder checked is the
//!   folder used, even if its path is changed meanwhile;
//! - the file is opened with `O_NOFOLLOW` (a symbolic link is refused and
//!   nothing is created where it points), created with mode 0600, and must
//!   be a regular file of the user's that nobody else may write
//!   ([`trusted_file`]).
//!
//! A failed check is an error that names the file or folder, says what is
//! wrong and how to fix it.
//!
//! Every wait is bounded: callers pass the longest they wait (for locks
//! held around plugin calls, the call timeout plus [`MARGIN`], see
//! [`longest_wait`]); the error then names the lock file and how to find
//! its holder. The operating system releases a lock when its process ends,
//! however it ends, so a crashed holder never blocks the next one. Lock
//! files are never deleted: deleting one while another process waits on it
//! would let two processes in at once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[cfg(unix)]
use super::{trusted_file, trusted_owner_and_mode};
use crate::Error;

/// What a holder may spend beyond its plugin call: reading and writing the
/// store, starting and stopping the plugin. (The message of
/// [`Error::LockTimeout`] names it.)
pub(crate) const MARGIN: Duration = Duration::from_secs(5);

/// The first pause between two attempts to take a busy lock; it doubles up
/// to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(5);
/// The longest pause between two attempts: a waiter gets a released lock
/// within this.
const MAX_POLL: Duration = Duration::from_millis(50);

/// The longest wait for a lock whose holders run plugin calls of at most
/// `call_timeout_ms` (`[limits] call_timeout_ms`).
pub(crate) fn longest_wait(call_timeout_ms: u64) -> Duration {
    Duration::from_millis(call_timeout_ms).saturating_add(MARGIN)
}

/// A lock file, opened and checked, not locked yet.
#[derive(Debug)]
pub(crate) struct LockFile {
    file: File,
    path: PathBuf,
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Held {
    _file: File,
}

/// Opens the lock file `path` (see [`LockFile::open`]) and waits at most
/// `longest` for its lock.
pub(crate) fn lock(path: &Path, longest: Duration) -> Result<Held, Error> {
    LockFile::open(path)?.wait(longest)
}

impl LockFile {
    /// Opens the lock file `path`, creating it (mode 0600) and its folder
    /// (mode 0700) when missing, after the checks of the module
    /// documentation.
    pub fn open(path: &Path) -> Result<LockFile, Error> {
        let file = open_checked(path)?;
        Ok(LockFile {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock, if no other process holds it; otherwise the file back.
    pub fn try_lock(self) -> Result<Result<Held, LockFile>, Error> {
        match self.file.try_lock() {
            Ok(()) => Ok(Ok(Held { _file: self.file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(Err(self)),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("cannot lock", &self.path, e)),
        }
    }

    /// Waits at most `longest` for the lock, blocking the calling thread.
    ///
    /// The lock is polled (`try_lock`, then a pause of 5 ms doubling up to
    /// 50 ms) rather than waited for with a blocking `flock`: a blocked
    /// `flock` cannot be given up, so a lock held forever would keep a
    /// thread blocked forever (in a long-running program, one per attempt).
    /// One system call every 50 ms costs no measurable CPU, and a released
    /// lock is taken within 50 ms.
    pub fn wait(self, longest: Duration) -> Result<Held, Error> {
        let started = Instant::now();
        let mut pause = FIRST_POLL;
        let mut file = self;
        loop {
            file = match file.try_lock()? {
                Ok(held) => return Ok(held),
                Err(file) => file,
            };
            let waited = started.elapsed();
            if waited >= longest {
                return Err(Error::LockTimeout {
                    path: file.path,
                    waited_s: waited.as_secs(),
                });
            }
            std::thread::sleep(pause.min(longest - waited));
            pause = (pause * 2).min(MAX_POLL);
        }
    }
}

/// How to fix a lock folder that is not the user's alone.
#[cfg(unix)]
const FIX_FOLDER: &str = "authhost keeps lock files only in a folder no other user can change: \
     make it yours and writable by you alone (`chown`, `chmod 700`), or remove it";
/// How to fix a lock file that is not the user's alone.
#[cfg(unix)]
const FIX_FILE: &str = "remove it (authhost creates it again, mode 600)";

/// The lock file at `path`, opened as the module documentation says.
#[cfg(unix)]
fn open_checked(path: &Path) -> Result<File, Error> {
    use rustix::fs::{Mode, OFlags};

    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            "cannot open lock file",
            path,
            std::io::ErrorKind::InvalidInput.into(),
        )
    })?;
    let open_dir = || {
        rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    };
    let folder = match open_dir() {
        Err(rustix::io::Errno::NOENT) => {
            super::create_private_dir(dir)?;
            open_dir()
        }
        opened => opened,
    }
    .map(File::from)
    .map_err(|e| Error::io("cannot open the folder of lock files", dir, e.into()))?;
    let meta = folder
        .metadata()
        .map_err(|e| Error::io("cannot inspect", dir, e))?;
    trusted_owner_and_mode(&meta).map_err(|reason| untrusted(dir, reason, FIX_FOLDER))?;
    let fd = rustix::fs::openat(
        &folder,
        name,
        OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| match e {
        rustix::io::Errno::LOOP => untrusted(
            path,
            "is a symbolic link, which authhost does not follow for a lock file".into(),
            FIX_FILE,
        ),
        e => Error::io("cannot open lock file", path, e.into()),
    })?;
    let file = File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| Error::io("cannot inspect", path, e))?;
    trusted_file(&meta).map_err(|reason| untrusted(path, reason, FIX_FILE))?;
    Ok(file)
}

/// Without Unix owners and modes, the lock file is opened in its private
/// folder (an owner-only ACL on Windows, see [`super::create_private_dir`]).
#[cfg(not(unix))]
fn open_checked(path: &Path) -> Result<File, Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    super::create_private_dir(dir)?;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io("cannot open lock file", path, e))
}

#[cfg(unix)]
fn untrusted(path: &Path, reason: String, fix: &str) -> Error {
    Error::Untrusted {
        path: path.to_path_buf(),
        reason,
        fix: fix.to_owned(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_waited_for_within_a_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks").join("p.lock");
        let held = lock(&path, Duration::ZERO).unwrap();
        let err = lock(&path, Duration::from_millis(120)).unwrap_err();
        assert!(
            matches!(&err, Error::LockTimeout { path: p, .. } if *p == path),
            "{err}"
        );
        assert!(err.to_string().contains("p.lock"), "{err}");
        let waiter = std::thread::spawn(move || lock(&path, Duration::from_secs(30)).map(drop));
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn symbolic_links_and_open_folders_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("p.lock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = LockFile::open(&link).unwrap_err().to_string();
        assert!(err.contains("p.lock is a symbolic link"), "{err}");
        assert!(!target.exists());
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = LockFile::open(&open.join("q.lock"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is writable by other users (mode 777)"),
            "{err}"
        );
        assert!(!open.join("q.lock").exists());
    }
}
