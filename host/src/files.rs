//! Writing files safely: private directories, and the one atomic write
//! every file authhost replaces goes through.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::Error;

mod acl;

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
    builder
        .create(dir)
        .map_err(|e| Error::io("cannot create directory", dir, e))?;
    #[cfg(windows)]
    acl::restrict_to_owner(dir)
        .map_err(|e| Error::io("cannot restrict access to the owner of", dir, e))?;
    Ok(())
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
