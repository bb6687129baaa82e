//! Who may have written `config.toml`.
//!
//! The configuration is the one file that names commands authhost runs as
//! you (helper commands) and the capabilities plugins are granted. So, as
//! ssh does with `~/.ssh/config` ("Bad owner or permissions on …"),
//! authhost refuses a `config.toml` that another user owns or that group
//! or others may write, and one in a folder another user owns or may write
//! (where anyone could put their own `config.toml`), before anything in it
//! is used. The checks are those of the component cache
//! ([`crate::files::trusted_owner_and_mode`]), with one addition taken
//! from ssh: a file or folder root owns is trusted too (root can change any
//! file anyway), so a read-only configuration a system or Nix store
//! provides works.
//!
//! `config.toml` may be a symbolic link: like ssh, authhost checks the file
//! it opens, the link's target; the folder checked is the one holding the
//! name `config.toml` (its target, when that folder is itself a link). A
//! missing `config.toml` is no configuration at all: nothing to check.
//!
//! On Windows there are no Unix owners and modes to check: nothing is
//! checked (the folder authhost creates gets an owner-only ACL).

use std::fs::File;
use std::path::Path;

use crate::Error;

/// Refuses the opened `config.toml` at `path`, or the folder holding it,
/// when a user other than the one authhost runs as (or root) owns it or
/// when group or others may write it.
#[cfg(unix)]
pub(super) fn check(path: &Path, file: &File) -> Result<(), Error> {
    let meta = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?;
    check_metadata(path, &meta, "")?;
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let meta =
        std::fs::metadata(folder).map_err(|e| Error::io("cannot read the folder", folder, e))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    check_metadata(folder, &meta, &format!("holds {name} and "))
}

/// Nothing to check without Unix owners and modes (see the module
/// documentation).
#[cfg(not(unix))]
pub(super) fn check(_path: &Path, _file: &File) -> Result<(), Error> {
    Ok(())
}

/// [`check`] for one file or folder: `what` starts the reason ("holds
/// config.toml and ").
#[cfg(unix)]
fn check_metadata(path: &Path, meta: &std::fs::Metadata, what: &str) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let writable = meta.mode() & 0o022 != 0;
    let reason = match crate::files::trusted_owner_and_mode(meta) {
        Ok(()) => return Ok(()),
        Err(_) if meta.uid() == 0 && !writable => return Ok(()),
        Err(_) if meta.uid() == 0 => {
            format!(
                "is writable by other users (mode {:o})",
                meta.mode() & 0o7777
            )
        }
        Err(reason) => reason,
    };
    let me = rustix::process::geteuid().as_raw();
    let mut fixes = Vec::new();
    if meta.uid() != me && meta.uid() != 0 {
        fixes.push(format!(
            "check what it holds, then as root `chown {me} {}`, or remove it",
            path.display()
        ));
    }
    if writable {
        fixes.push(format!("`chmod go-w {}`", path.display()));
    }
    Err(Error::UntrustedConfig {
        path: path.to_path_buf(),
        reason: format!("{what}{reason}"),
        fix: fixes.join("; "),
    })
}
