//! The disk cache of compiled components (`cache/components/`).
//!
//! Loading machine code is `unsafe`: wasmtime does not validate it, so a
//! planted file would run as native code with the plugin's grants. A cached
//! artefact is therefore loaded only when all of this holds:
//!
//! - the cache directory and its parent (the cache root authhost owns) are
//!   owned by the user authhost runs as and not writable by group or
//!   others, so no other user can add, replace or rename anything in it;
//! - the file is a regular file (not a symbolic link), owned by that user
//!   and not writable by group or others;
//! - the index file `index` (also ours, not writable by others) records the
//!   file's identity as authhost left it after writing it: device, inode,
//!   size and change time (ctime). A replaced file has another inode; a file
//!   rewritten in place, renamed, linked, chmod-ed or chown-ed has a new
//!   ctime, which nobody but root can set back. So only the file authhost
//!   wrote for this exact name (the SHA-256 of the component and the
//!   engine's compatibility hash, or the built-in's fingerprint) matches,
//!   without reading it.
//!
//! Anything else is not loaded: a warning says why (once per process for
//! the directory), the component is compiled (or taken from the binary)
//! instead, and, when the directory is trustworthy, the cache copy and its
//! index entry are written again. wasmtime then still checks that the code
//! fits the engine.
//!
//! Writers of the index take `.index.lock`, a lock file checked and waited
//! for as [`crate::files::lock`] says.
//!
//! The cache does not grow forever: an artefact whose source is gone (a
//! plugin file removed or replaced, an older authhost's built-in) is
//! removed when the plugins folder changes ([`ComponentCache::evict`]), and
//! after each write the least recently used artefacts are removed until the
//! directory holds at most `[cache] components_mib` (512 MiB by default).
//!
//! On Windows nothing here proves who wrote a file (no owners and modes to
//! check as above), so the cache is not used, silently: a third-party
//! component is compiled at each start (about 30 ms for a small one), and
//! the built-ins use the machine code embedded in the binary.

use std::fs::{Metadata, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::BuiltinPlugin;
use crate::files::{trusted_file, trusted_owner_and_mode};

/// Whether the cache is used on this platform: only where Unix owners and
/// modes can prove who wrote a file (see the module documentation).
const USED: bool = cfg!(unix);

/// The index of the artefacts authhost wrote, in the cache directory.
const INDEX_FILE: &str = "index";
/// Its first line, naming the format.
const INDEX_HEADER: &str = "authhost component cache index v1";
/// The largest index read (a few dozen bytes per artefact).
const MAX_INDEX: u64 = 1 << 20;
/// The longest wait for the lock of the index.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The cache directory of compiled components.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// No cache at all (a host without files): nothing is read or written.
    off: bool,
    /// The most bytes of artefacts kept (see [`ComponentCache::store`]).
    max_bytes: u64,
    /// Whether the warning about an untrustworthy directory was given.
    warned_dir: AtomicBool,
}

impl ComponentCache {
    /// The cache in `dir` (created, mode 0700, on the first write). `dir`'s
    /// parent is the cache root and must be trustworthy too.
    /// Artefacts beyond `max_bytes` in all are removed, least recently used
    /// first. Without a `dir` nothing is cached.
    pub(crate) fn new(dir: Option<PathBuf>, max_bytes: u64) -> ComponentCache {
        ComponentCache {
            off: dir.is_none(),
            dir: dir.unwrap_or_default(),
            max_bytes,
            warned_dir: AtomicBool::new(false),
        }
    }

    /// The name of the compiled form for `engine` of the component whose
    /// SHA-256 is `sha256` (lowercase hex).
    pub(crate) fn compiled_name(engine: &Engine, sha256: &str) -> String {
        use std::hash::{Hash, Hasher};
        let mut engine_hash = std::hash::DefaultHasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        format!("{sha256}-{:016x}.cwasm", engine_hash.finish())
    }

    /// The name of the copy of `builtin`'s build-time machine code.
    pub(crate) fn builtin_name(builtin: &BuiltinPlugin) -> String {
        format!("{}-{}.cwasm", builtin.id, builtin.precompiled_id)
    }

    /// The artefact `name`, if authhost wrote it (see the module
    /// documentation) and it fits `engine`.
    pub(crate) fn load(&self, engine: &Engine, name: &str) -> Option<Component> {
        if !USED || self.off {
            return None;
        }
        let path = self.dir.join(name);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if let Err(reason) = self.trusted_dir() {
            self.warn_dir(&reason);
            return None;
        }
        if let Err(reason) = trusted_file(&meta) {
            tracing::warn!(
                path = %path.display(),
                "not loading a cached component: it {reason}; compiling it again"
            );
            return None;
        }
        match self.read_index().identity(name) {
            None => {
                tracing::debug!(
                    path = %path.display(),
                    "not loading a cached component authhost has no record of writing"
                );
                return None;
            }
            Some(recorded) if recorded != Identity::of(&meta) => {
                tracing::warn!(
                    path = %path.display(),
                    "not loading a cached component: it is not the file authhost wrote \
                     (replaced or changed since); compiling it again"
                );
                return None;
            }
            Some(_) => {}
        }
        // SAFETY: deserializing runs no validation, so only machine code
        // authhost wrote may be loaded. The checks above prove this one is:
        // nobody but this user (or root) can change the directory or the
        // file, and the file still has the identity (inode, size, ctime)
        // recorded in our index right after authhost wrote it, under a name
        // that is the hash of exactly this input. wasmtime checks that it
        // was made for this engine's version and configuration.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::debug!(path = %path.display(), "ignoring cached component: {e}");
                None
            }
        }
    }

    /// Writes the artefact `name` (atomically: readers see the whole file or
    /// none) and records it in the index. Failures only cost a compile
    /// later, so they are logged, not returned.
    pub(crate) fn store(&self, name: &str, code: &[u8]) {
        if !USED || self.off {
            return;
        }
        if let Err(e) = self.try_store(name, code) {
            tracing::debug!(
                path = %self.dir.join(name).display(),
                "cannot cache compiled component: {e}"
            );
        }
    }

    fn try_store(&self, name: &str, code: &[u8]) -> std::io::Result<()> {
        crate::files::create_private_dir(&self.dir).map_err(std::io::Error::other)?;
        if let Err(reason) = self.trusted_dir() {
            self.warn_dir(&reason);
            return Err(std::io::Error::other(reason));
        }
        let _lock = self.lock().map_err(std::io::Error::other)?;
        self.remove_leftovers();
        // tempfile creates the file with mode 0600 on Unix.
        let mut tmp = tempfile::Builder::new()
            .prefix(".artefact-")
            .tempfile_in(&self.dir)?;
        tmp.write_all(code)?;
        // On disk before it is named: a crash must not leave a recorded
        // artefact with missing contents.
        tmp.as_file().sync_all()?;
        let file = tmp.persist(self.dir.join(name)).map_err(|e| e.error)?;
        // After the rename, which changes the ctime.
        let identity = Identity::of(&file.metadata()?);
        self.remove_beyond_cap(name);
        let mut index = self.read_index();
        index.entries.retain(|(entry, _)| {
            entry != name && std::fs::symlink_metadata(self.dir.join(entry)).is_ok()
        });
        index.entries.push((name.to_owned(), identity));
        self.write_index(&index)
    }

    /// Removes every artefact for which `live` is false (its source is
    /// gone), and their index entries. Failures only leave files behind.
    pub(crate) fn evict(&self, live: impl Fn(&str) -> bool) {
        if self.off {
            return;
        }
        if std::fs::symlink_metadata(&self.dir).is_err() || self.trusted_dir().is_err() {
            return;
        }
        let Ok(_lock) = self.lock() else {
            return;
        };
        let mut removed = 0;
        for (name, _) in self.artefacts() {
            if !live(&name) && std::fs::remove_file(self.dir.join(&name)).is_ok() {
                tracing::debug!(artefact = %name, "removed a cached component whose source is gone");
                removed += 1;
            }
        }
        if removed > 0 {
            self.prune_index();
        }
    }

    /// Removes the artefacts compiled from the component whose SHA-256 is
    /// `sha256` (hex), for `authhost plugins remove`.
    pub(crate) fn remove_compiled(&self, sha256: &str) {
        let prefix = format!("{sha256}-");
        self.evict(|name| !name.starts_with(&prefix));
    }

    /// Removes the least recently used artefacts (by access time, as the
    /// file system keeps it, else modification time) until the rest fit in
    /// `max_bytes`; `keep`, just written, stays. Called under the lock.
    fn remove_beyond_cap(&self, keep: &str) {
        let mut artefacts = self.artefacts();
        let mut total: u64 = artefacts.iter().map(|(_, meta)| meta.len()).sum();
        if total <= self.max_bytes {
            return;
        }
        let used = |meta: &Metadata| {
            let modified = meta.modified().ok();
            meta.accessed().ok().max(modified)
        };
        artefacts.sort_by_key(|(_, meta)| used(meta));
        for (name, meta) in artefacts {
            if total <= self.max_bytes {
                break;
            }
            if name != keep && std::fs::remove_file(self.dir.join(&name)).is_ok() {
                tracing::debug!(
                    artefact = %name,
                    "removed a cached component: the cache is over its size limit"
                );
                total = total.saturating_sub(meta.len());
            }
        }
    }

    /// The artefacts in the directory (regular `*.cwasm` files named as
    /// this module names them), with their metadata.
    fn artefacts(&self) -> Vec<(String, Metadata)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let meta = entry.metadata().ok()?;
                (valid_name(&name) && meta.is_file()).then_some((name, meta))
            })
            .collect()
    }

    /// Drops index entries whose file is gone. Called under the lock.
    fn prune_index(&self) {
        let mut index = self.read_index();
        let before = index.entries.len();
        index
            .entries
            .retain(|(entry, _)| std::fs::symlink_metadata(self.dir.join(entry)).is_ok());
        if index.entries.len() != before
            && let Err(e) = self.write_index(&index)
        {
            tracing::debug!("cannot rewrite the component cache index: {e}");
        }
    }

    /// Serialises writers of the index (other authhost processes). Its
    /// holders only write one artefact and the index, so the wait is short:
    /// a cache write given up costs a compile later, a longer wait would
    /// hold up the command.
    fn lock(&self) -> Result<crate::files::lock::Held, crate::Error> {
        crate::files::lock::lock(&self.dir.join(".index.lock"), LOCK_WAIT)
    }

    /// Removes temporary files left by writers killed mid-write. Called
    /// under the lock, so no live writer owns one.
    fn remove_leftovers(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".artefact-") || name.starts_with(".index-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The index; empty when it is missing, unreadable or not ours alone.
    fn read_index(&self) -> Index {
        let path = self.dir.join(INDEX_FILE);
        let file = match private_options().read(true).open(&path) {
            Ok(file) => file,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::debug!(path = %path.display(), "cannot read the cache index: {e}");
                }
                return Index::default();
            }
        };
        let trusted = file
            .metadata()
            .map_err(|e| e.to_string())
            .and_then(|meta| trusted_file(&meta));
        if let Err(reason) = trusted {
            tracing::warn!(
                path = %path.display(),
                "ignoring the component cache index: it {reason}"
            );
            return Index::default();
        }
        let mut text = String::new();
        if let Err(e) = file.take(MAX_INDEX).read_to_string(&mut text) {
            tracing::debug!(path = %path.display(), "cannot read the cache index: {e}");
            return Index::default();
        }
        Index::parse(&text)
    }

    fn write_index(&self, index: &Index) -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".index-")
            .tempfile_in(&self.dir)?;
        tmp.write_all(index.to_text().as_bytes())?;
        tmp.persist(self.dir.join(INDEX_FILE))
            .map_err(|e| e.error)?;
        Ok(())
    }

    /// Whether the cache directory and the cache root above it are ours
    /// alone; the error says which is not, and why.
    fn trusted_dir(&self) -> Result<(), String> {
        let root = self.dir.parent().filter(|p| !p.as_os_str().is_empty());
        for dir in std::iter::once(self.dir.as_path()).chain(root) {
            let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            trusted_owner_and_mode(&meta)
                .map_err(|reason| format!("{} {reason}", dir.display()))?;
        }
        Ok(())
    }

    fn warn_dir(&self, reason: &str) {
        if !self.warned_dir.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "not using the component cache: {reason}; compiling instead \
                 (make it owned by you and not writable by others, or remove it)"
            );
        }
    }
}

/// Options that create files with mode 0600 and never follow a symbolic
/// link in the last component.
fn private_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options
}

/// What identifies one version of a file: any replacement or change of it
/// gives another value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    ctime: i64,
    ctime_nsec: i64,
}

impl Identity {
    #[cfg(unix)]
    fn of(meta: &Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            ctime: meta.ctime(),
            ctime_nsec: meta.ctime_nsec(),
        }
    }

    #[cfg(not(unix))]
    fn of(meta: &Metadata) -> Identity {
        Identity {
            dev: 0,
            ino: 0,
            size: meta.len(),
            ctime: 0,
            ctime_nsec: 0,
        }
    }
}

/// The index file: one line per artefact, `NAME DEV INO SIZE CTIME NSEC`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Index {
    entries: Vec<(String, Identity)>,
}

impl Index {
    fn identity(&self, name: &str) -> Option<Identity> {
        self.entries
            .iter()
            .find(|(entry, _)| entry == name)
            .map(|(_, identity)| *identity)
    }

    /// The entries of `text`; a file of another format has none, and
    /// malformed lines are skipped.
    fn parse(text: &str) -> Index {
        let mut lines = text.lines();
        if lines.next() != Some(INDEX_HEADER) {
            return Index::default();
        }
        let entries = lines
            .filter_map(|line| {
                let mut fields = line.split(' ');
                let name = fields.next()?.to_owned();
                let mut number = || fields.next()?.parse::<i128>().ok();
                let identity = Identity {
                    dev: number()?.try_into().ok()?,
                    ino: number()?.try_into().ok()?,
                    size: number()?.try_into().ok()?,
                    ctime: number()?.try_into().ok()?,
                    ctime_nsec: number()?.try_into().ok()?,
                };
                (fields.next().is_none() && valid_name(&name)).then_some((name, identity))
            })
            .collect();
        Index { entries }
    }

    fn to_text(&self) -> String {
        let mut text = format!("{INDEX_HEADER}\n");
        for (name, id) in &self.entries {
            text.push_str(&format!(
                "{name} {} {} {} {} {}\n",
                id.dev, id.ino, id.size, id.ctime, id.ctime_nsec
            ));
        }
        text
    }
}

/// Artefact names are made by this module: no separators, no spaces.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.ends_with(".cwasm")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.starts_with('.')
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_index_round_trips_and_skips_malformed_lines() {
        let id = Identity {
            dev: 2049,
            ino: 77,
            size: 131072,
            ctime: 1_700_000_000,
            ctime_nsec: 123_456_789,
        };
        let index = Index {
            entries: vec![("shell-helper-0123.cwasm".into(), id)],
        };
        let text = index.to_text();
        assert_eq!(Index::parse(&text), index);
        let noisy =
            format!("{text}../x.cwasm 1 2 3 4 5\nbad\na.cwasm 1 2 3 4\nb.cwasm 1 2 3 4 5 6\n");
        assert_eq!(Index::parse(&noisy), index);
        assert_eq!(Index::parse("other format\n").entries, vec![]);
    }

    #[test]
    fn only_what_authhost_wrote_is_loaded() {
        let engine = Engine::default();
        let root = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(Some(root.path().join("components")), u64::MAX);
        // The smallest component: its header alone.
        let wasm = b"\0asm\x0d\0\x01\0";
        let code = Component::new(&engine, wasm).unwrap().serialize().unwrap();
        let name = ComponentCache::compiled_name(
            &engine,
            crate::runtime::ComponentBytes::hash(wasm).sha256(),
        );
        assert!(cache.load(&engine, &name).is_none(), "empty cache");
        cache.store(&name, &code);
        assert!(cache.load(&engine, &name).is_some());
        // The same bytes put in its place by anything but the cache: a new
        // file, so a new identity.
        let path = root.path().join("components").join(&name);
        let planted = root.path().join("components").join("planted");
        std::fs::write(&planted, &code).unwrap();
        std::fs::rename(&planted, &path).unwrap();
        assert!(cache.load(&engine, &name).is_none(), "replaced file loaded");
        cache.store(&name, &code);
        assert!(cache.load(&engine, &name).is_some(), "healed");
        // A cache root others may write to is not used.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(cache.load(&engine, &name).is_none(), "open root used");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(cache.load(&engine, &name).is_some());
    }
}
