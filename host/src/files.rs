//! Writing files safely: private directories, the one atomic write every
//! file authhost replaces goes through, the owner and mode checks of files
//! only the user may change, and lock files ([`lock`]).

use std::fs::{File, Metadata};
use std::io::Write;
use std::path::Path;

use crate::Error;

mod acl;
pub(crate) mod lock;

/// Who may read a file written by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The owner only (mode 0600; on Windows the owner-only ACL the file
    /// inherits from its private folder): secrets and compiled code.
    Private,
    /// As the file being replaced was (or 0600 when it is new), e.g. the
    /// user's `config.toml`.
    KeepExisting,
}

/// Runs blocking file work (locks, writes, syncs) off the async executor;
/// a panic in it is resumed in the caller.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Replaces `path` with `bytes` atomically: a reader sees the old or the new
/// contents, never a mix, and after a crash the file is whole. The bytes go
/// to a temporary file in the same directory, which is synced and renamed
/// over `path`; the directory is then synced so the rename is durable.
/// Temporary files are named `.NAME-XXXX.tmp` (see [`remove_leftovers`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], access: Access) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |what, e| Error::io(what, path, e);
    // tempfile creates the file with mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot create a temporary file in", dir, e))?;
    if access == Access::KeepExisting
        && let Ok(meta) = std::fs::metadata(path)
    {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(|e| fail("cannot set the permissions of", e))?;
    }
    tmp.write_all(bytes).map_err(|e| fail("cannot write", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| fail("cannot sync", e))?;
    tmp.persist(path)
        .map_err(|e| fail("cannot replace", e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The prefix of the temporary files that replace `path`: `.auth.json-`.
fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}-",
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// Removes temporary files left beside `path` by writers that were killed
/// mid-write. Call it only while holding the lock that writers of `path`
/// take, so no live writer owns one.
pub(crate) fn remove_leftovers(path: &Path) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let prefix = temp_prefix(path);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Creates `dir` and its parents if missing: mode 0700 on Unix; on Windows
/// `dir` gets an owner-only ACL ([`acl`]) whether it is new or not.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        if dir.exists() && !dir.is_dir() {
            let cause = std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "is not a directory but a file: move the file away, \
                 or set AUTHHOST_HOME to another directory",
            );
            return Error::io("cannot use the folder", dir, cause);
        }
        Error::io("cannot create directory", dir, e)
    })?;
    #[cfg(windows)]
    acl::restrict_to_owner(dir)
        .map_err(|e| Error::io("cannot restrict access to the owner of", dir, e))?;
    Ok(())
}

/// Whether a file may be trusted as far as its metadata tells: a regular
/// file of the user's that nobody else may write. The error completes a
/// sentence that starts with the file's name.
pub(crate) fn trusted_file(meta: &Metadata) -> Result<(), String> {
    if !meta.file_type().is_file() {
        return Err("is not a regular file".into());
    }
    trusted_owner_and_mode(meta)
}

/// Whether a file or folder is the user's alone: owned by the user authhost
/// runs as and not writable by group or others, so that no other user can
/// change it (or, for a folder, add, replace or rename anything in it). The
/// error completes a sentence that starts with its name.
#[cfg(unix)]
pub(crate) fn trusted_owner_and_mode(meta: &Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "is owned by user {}, not by the user authhost runs as ({me})",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!("is writable by other users (mode {mode:o})"));
    }
    Ok(())
}

/// Without Unix owners and modes nothing proves who wrote a file.
#[cfg(not(unix))]
pub(crate) fn trusted_owner_and_mode(_meta: &Metadata) -> Result<(), String> {
    Err("cannot be checked for its owner on this platform".into())
}

/// The contents of the file at `path`, at most `max` bytes (`None` when it
/// does not exist), if it and its folder are the user's alone and it is a
/// regular file, not reached through a symbolic link; otherwise why not,
/// completing a sentence that starts with its name.
pub(crate) fn read_trusted(path: &Path, max: u64) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be opened ({e})")),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    trusted_file(&meta)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
        trusted_owner_and_mode(&meta).map_err(|reason| format!("is in a folder that {reason}"))?;
    }
    let mut bytes = Vec::new();
    file.take(max)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({e})"))?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_with_the_requested_access() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            write_atomic(&path, b"new", Access::KeepExisting).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
            write_atomic(&path, b"newer", Access::Private).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        #[cfg(not(unix))]
        write_atomic(&path, b"newer", Access::Private).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "newer");
        std::fs::write(dir.path().join(".config.toml-abc.tmp"), "x").unwrap();
        remove_leftovers(&path);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
