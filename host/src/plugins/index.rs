//! The index of the plugins folder, `cache/plugins.json` (mode 0600): for
//! each component file, its identity on disk and the SHA-256 of its
//! contents; for each content hash, what that component said in `describe`
//! (or why it could not be used).
//!
//! It makes a component's first answer the one every later command
//! enforces: a component is described once per content, so a plugin cannot
//! show the user one set of requests and use another. And it lets ordinary
//! commands know every folder plugin without reading, compiling or running
//! any: a file whose identity (device, inode, size, modification and change
//! times) is unchanged is not read again. Before a component is run, its
//! contents are hashed again and must match (see `Plugin::component`).
//!
//! The built-ins' answers are kept here too, under the content hash the
//! build script computed for each, so that listing providers instantiates
//! nothing. Like the compiled components in the cache, the index is used
//! only when it is a regular file of this user's that nobody else may
//! write, in a folder nobody else may write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::PluginFailure;
use crate::runtime;

/// The index file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Index {
    #[serde(default)]
    files: BTreeMap<String, FileEntry>,
    #[serde(default)]
    components: BTreeMap<String, Described>,
    #[serde(skip)]
    changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileEntry {
    identity: Identity,
    sha256: String,
}

/// What identifies a file's contents without reading it: any write,
/// replacement or rename changes one of these (the change time cannot be
/// set back by an unprivileged user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl Identity {
    /// The identity of the file `path` names (following symbolic links).
    pub fn of(path: &Path) -> std::io::Result<Identity> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(Identity {
                dev: meta.dev(),
                ino: meta.ino(),
                size: meta.size(),
                mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
            })
        }
        #[cfg(not(unix))]
        {
            let nanos = |t: std::io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as i64)
            };
            Ok(Identity {
                dev: 0,
                ino: 0,
                size: meta.len(),
                mtime_ns: nanos(meta.modified()),
                ctime_ns: nanos(meta.created()),
            })
        }
    }
}

/// What a component said in `describe`, as it said it (checked again on
/// every use), or why it cannot be used.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Described {
    Metadata {
        wit_version: String,
        metadata: runtime::Metadata,
    },
    Failed {
        reason: StoredFailure,
        /// The WIT versions of the host that recorded the failure
        /// ([`host_versions`]); `None` from hosts that did not say. A
        /// failure another host recorded is not trusted: a component for a
        /// WIT version that host did not know loads in this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
}

/// This host's WIT versions, as failures in the index record them.
fn host_versions() -> String {
    runtime::SUPPORTED_WIT_VERSIONS.join(",")
}

/// A failure that depends only on the component's contents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum StoredFailure {
    Load(String),
    Incompatible { found: String, supported: String },
    Trap(String),
    Invalid(String),
}

impl Described {
    /// What to remember of a load-and-describe; `None` when the outcome
    /// may differ next time (a limit that depends on the machine's load or
    /// the user's settings).
    pub fn of(result: &Result<(String, runtime::Metadata), PluginFailure>) -> Option<Described> {
        Some(match result {
            Ok((wit_version, metadata)) => Described::Metadata {
                wit_version: wit_version.clone(),
                metadata: metadata.clone(),
            },
            Err(PluginFailure::Load(reason)) => Described::Failed {
                reason: StoredFailure::Load(reason.clone()),
                host: Some(host_versions()),
            },
            Err(PluginFailure::Incompatible { found, supported }) => Described::Failed {
                reason: StoredFailure::Incompatible {
                    found: found.clone(),
                    supported: supported.clone(),
                },
                host: Some(host_versions()),
            },
            Err(PluginFailure::Trap(m)) => Described::Failed {
                reason: StoredFailure::Trap(m.clone()),
                host: Some(host_versions()),
            },
            Err(PluginFailure::Invalid(m)) => Described::Failed {
                reason: StoredFailure::Invalid(m.clone()),
                host: Some(host_versions()),
            },
            Err(_) => return None,
        })
    }

    /// The remembered outcome.
    pub fn outcome(&self) -> Result<(String, runtime::Metadata), PluginFailure> {
        match self {
            Described::Metadata {
                wit_version,
                metadata,
            } => Ok((wit_version.clone(), metadata.clone())),
            Described::Failed { reason, .. } => Err(match reason.clone() {
                StoredFailure::Load(r) => PluginFailure::Load(r),
                StoredFailure::Incompatible { found, supported } => {
                    PluginFailure::Incompatible { found, supported }
                }
                StoredFailure::Trap(m) => PluginFailure::Trap(m),
                StoredFailure::Invalid(m) => PluginFailure::Invalid(m),
            }),
        }
    }
}

impl Index {
    /// Reads the index at `path`; a missing, unreadable or untrusted one
    /// is empty (it only saves work).
    pub fn load(path: &Path) -> Index {
        match crate::files::read_trusted(path, MAX_INDEX) {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::debug!(path = %path.display(), "ignoring the plugins index: {e}");
                Index::default()
            }),
            Ok(None) => Index::default(),
            Err(reason) => {
                tracing::warn!(
                    path = %path.display(),
                    "ignoring the plugins index: it {reason}; describing the plugins again"
                );
                Index::default()
            }
        }
    }

    /// The one component file in `dir` recorded as answering id `id`, with
    /// the identity and content hash recorded for it and its answer; `None`
    /// when no file or several do. Says nothing of files added or changed
    /// since the index was written.
    pub fn sole_claimant(
        &self,
        dir: &Path,
        id: &str,
    ) -> Option<(PathBuf, Identity, &str, &Described)> {
        let mut claims = self.files.iter().filter_map(|(file, entry)| {
            let path = Path::new(file);
            if path.parent() != Some(dir) {
                return None;
            }
            match self.components.get(&entry.sha256)? {
                described @ Described::Metadata { metadata, .. } if metadata.id == id => Some((
                    path.to_path_buf(),
                    entry.identity,
                    entry.sha256.as_str(),
                    described,
                )),
                _ => None,
            }
        });
        let first = claims.next()?;
        claims.next().is_none().then_some(first)
    }

    /// The content hash recorded for the file at `path` when it still has
    /// `identity`.
    pub fn sha256_of(&self, path: &Path, identity: Identity) -> Option<&str> {
        self.files
            .get(&key(path))
            .filter(|e| e.identity == identity)
            .map(|e| e.sha256.as_str())
    }

    /// Records that the file at `path`, with `identity`, has contents
    /// `sha256`.
    pub fn set_file(&mut self, path: &Path, identity: Identity, sha256: &str) {
        let entry = FileEntry {
            identity,
            sha256: sha256.to_owned(),
        };
        if self.files.get(&key(path)) != Some(&entry) {
            self.files.insert(key(path), entry);
            self.changed = true;
        }
    }

    /// What the component with contents `sha256` said.
    pub fn described(&self, sha256: &str) -> Option<&Described> {
        self.components
            .get(sha256)
            .filter(|described| match described {
                Described::Metadata { .. } => true,
                Described::Failed { host, .. } => host.as_deref() == Some(&host_versions()),
            })
    }

    /// Records what the component with contents `sha256` said.
    pub fn set_described(&mut self, sha256: &str, described: Described) {
        self.components.insert(sha256.to_owned(), described);
        self.changed = true;
    }

    /// The content hashes recorded for the files `present`.
    pub fn contents(&self, present: &[&Path]) -> Vec<String> {
        present
            .iter()
            .filter_map(|p| self.files.get(&key(p)).map(|e| e.sha256.clone()))
            .collect()
    }

    /// Forgets files that are gone (those not in `present`, when given) and
    /// components neither a file nor a built-in has, then writes the index
    /// if anything changed; returns whether it did. Failing to write only
    /// costs work next time.
    pub fn save(mut self, path: &Path, present: Option<&[&Path]>) -> bool {
        let before = self.files.len();
        if let Some(present) = present {
            let keep: Vec<String> = present.iter().map(|p| key(p)).collect();
            self.files.retain(|k, _| keep.contains(k));
        }
        let shas: Vec<&str> = self
            .files
            .values()
            .map(|e| e.sha256.as_str())
            .chain(super::INTERNAL_PLUGINS.iter().map(|b| b.sha256))
            .collect();
        let components = self.components.len();
        self.components
            .retain(|sha, _| shas.contains(&sha.as_str()));
        if !self.changed && self.files.len() == before && self.components.len() == components {
            return false;
        }
        let written = path
            .parent()
            .map_or(Ok(()), crate::files::create_private_dir)
            .and_then(|()| {
                let bytes = serde_json::to_vec(&self).expect("the index always encodes");
                crate::files::write_atomic(path, &bytes, crate::files::Access::Private)
            });
        if let Err(e) = written {
            tracing::debug!("cannot write the plugins index: {e}");
        }
        true
    }
}

fn key(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The largest index read (far more than any folder of plugins needs).
const MAX_INDEX: u64 = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_recorded_by_a_host_of_other_wit_versions_is_described_again() {
        let mut index = Index::default();
        let incompatible = Err(PluginFailure::Incompatible {
            found: "0.9.0".into(),
            supported: "authhost:provider@0.1.0".into(),
        });
        index.set_described("aa", Described::of(&incompatible).unwrap());
        assert!(index.described("aa").is_some(), "this host's own record");
        // As a host that knew only 0.1.0 and 0.2.0 wrote it: a component
        // built against 0.3.0 was incompatible there, not here.
        let old = r#"{"components": {"bb": {"failed": {"reason": {"incompatible":
            {"found": "0.3.0", "supported": "authhost:provider@0.1.0, authhost:provider@0.2.0"}}}}}}"#;
        let mut index: Index = serde_json::from_str(old).unwrap();
        assert!(index.described("bb").is_none());
        index.set_described("bb", Described::of(&incompatible).unwrap());
        let written = serde_json::to_string(&index).unwrap();
        let read: Index = serde_json::from_str(&written).unwrap();
        assert!(read.described("bb").is_some(), "{written}");
    }
}
