//! The plugins folder: every `*.wasm` file, loaded and described, with a
//! reason for each file that cannot be used.
//!
//! Ids are unique: a file whose id is a built-in's is refused, and when two
//! files report the same id both are refused, so that neither can take the
//! other's grants and options (the user removes the one they do not want).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::index::Index;
use super::{Plugin, Plugins, builtin};
use crate::error::PluginFailure;

/// The plugins folder after a scan.
#[derive(Default)]
pub(crate) struct Folder {
    /// Plugins that loaded, in file-name order.
    pub plugins: Vec<Arc<Plugin>>,
    /// Files that did not, with why.
    pub failures: Vec<(PathBuf, PluginFailure)>,
    /// Every file that described itself, loaded or refused (a clash of
    /// ids): its id, path and SHA-256.
    pub claims: Vec<(String, PathBuf, String)>,
}

impl Folder {
    /// Describes every component file in `files` and every `embedded`
    /// component (from `index` where it can). An embedded component is
    /// named `embedded #N` (from 1) where a file would be named by its path.
    pub(super) async fn scan(
        plugins: &Plugins,
        files: &[PathBuf],
        embedded: &[Arc<[u8]>],
        index: &mut Index,
    ) -> Folder {
        let mut folder = Folder::default();
        let mut by_id: BTreeMap<String, Vec<(PathBuf, Plugin)>> = BTreeMap::new();
        let sources = files.iter().map(|path| (path.clone(), None)).chain(
            embedded
                .iter()
                .enumerate()
                .map(|(i, bytes)| (PathBuf::from(format!("embedded #{}", i + 1)), Some(bytes))),
        );
        for (path, bytes) in sources {
            let loaded = match bytes {
                None => plugins.load_file(&path, index).await,
                Some(bytes) => {
                    let label = path.display().to_string();
                    plugins.load_bytes(&label, bytes, index).await
                }
            };
            match loaded {
                Ok(plugin) => {
                    folder.claims.push((
                        plugin.metadata.id.clone(),
                        path.clone(),
                        plugin.digest.clone(),
                    ));
                    by_id
                        .entry(plugin.metadata.id.clone())
                        .or_default()
                        .push((path, plugin));
                }
                Err(failure) => {
                    tracing::warn!(
                        path = %crate::sanitize::short(&path.display().to_string()),
                        "skipping plugin: {failure}"
                    );
                    folder.failures.push((path, failure));
                }
            }
        }
        for (id, mut claims) in by_id {
            if builtin(&id).is_some() {
                for (path, _) in claims {
                    let reason = format!("its id `{id}` clashes with a built-in plugin");
                    folder.failures.push((path, PluginFailure::Load(reason)));
                }
            } else if claims.len() > 1 {
                // Refuse every claimant: neither may take the other's grants
                // and options.
                let files: Vec<String> = claims
                    .iter()
                    .map(|(path, _)| crate::sanitize::short(&path.display().to_string()))
                    .collect();
                let reason = format!(
                    "id `{id}` is claimed by {}; none of them is loaded until only one is left",
                    files.join(" and ")
                );
                for (path, _) in claims {
                    folder
                        .failures
                        .push((path, PluginFailure::Load(reason.clone())));
                }
            } else if let Some((_, plugin)) = claims.pop() {
                folder.plugins.push(Arc::new(plugin));
            }
        }
        folder.failures.sort_by(|a, b| a.0.cmp(&b.0));
        folder
    }

    /// The plugin with id `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Plugin>> {
        self.plugins.iter().find(|p| p.metadata.id == id).cloned()
    }
}

/// The `*.wasm` regular files in `dir` (symbolic links followed), sorted;
/// none when it does not exist. Anything else named `*.wasm` (a FIFO, a
/// device, a directory) is skipped with a warning; nothing is opened here.
pub(crate) fn component_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            Path::new(&e.file_name())
                .extension()
                .is_some_and(|x| x == "wasm")
        })
        .filter(|e| {
            // The entry's own type needs no system call; a link's target
            // is looked up with `stat`, which never blocks on a FIFO.
            let is_file = match e.file_type() {
                Ok(t) if t.is_symlink() => std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()),
                Ok(t) => t.is_file(),
                Err(_) => false,
            };
            if !is_file {
                tracing::warn!(
                    path = %crate::sanitize::short(&e.path().display().to_string()),
                    "skipping: not a regular file"
                );
            }
            is_file
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}
