//! The plugins authhost knows: the built-ins in [`INTERNAL_PLUGINS`] and
//! every `*.wasm` file in the plugins folder.

use std::path::{Path, PathBuf};

use crate::capability::{Capability, Origin};
use crate::config::ProviderConfig;

/// A provider compiled into authhost.
pub struct BuiltinPlugin {
    /// The plugin id (also the id its component reports).
    pub id: &'static str,
    /// The component, built from `plugins/` by the build script.
    pub component: &'static [u8],
    /// Its machine code for the default engine configuration, made by the
    /// build script (empty if it could not be made).
    pub precompiled: &'static [u8],
    /// A fingerprint of `precompiled`, naming its copy in the cache.
    pub precompiled_id: &'static str,
    /// The capabilities the host grants it.
    pub grants: &'static [&'static str],
    /// An option naming the origin it may send HTTP requests to, with its
    /// default: `(option, default origin)`.
    pub http_origin_option: Option<(&'static str, &'static str)>,
}

/// The built-in providers. Folder plugins join them in the same registry;
/// one whose id clashes with a built-in is refused.
pub static INTERNAL_PLUGINS: &[BuiltinPlugin] = &[
    BuiltinPlugin {
        id: "shell-helper",
        component: include_bytes!(concat!(env!("OUT_DIR"), "/shell_helper.wasm")),
        precompiled: include_bytes!(concat!(env!("OUT_DIR"), "/shell_helper.cwasm")),
        precompiled_id: include_str!(concat!(env!("OUT_DIR"), "/shell_helper.cwasm.id")),
        grants: &["process"],
        http_origin_option: None,
    },
    BuiltinPlugin {
        id: "openrouter",
        component: include_bytes!(concat!(env!("OUT_DIR"), "/openrouter.wasm")),
        precompiled: include_bytes!(concat!(env!("OUT_DIR"), "/openrouter.cwasm")),
        precompiled_id: include_str!(concat!(env!("OUT_DIR"), "/openrouter.cwasm.id")),
        grants: &["loopback", "browser", "prompt"],
        http_origin_option: Some(("base_url", "https://openrouter.ai")),
    },
];

/// The built-in with id `id`.
pub fn builtin(id: &str) -> Option<&'static BuiltinPlugin> {
    INTERNAL_PLUGINS.iter().find(|b| b.id == id)
}

impl BuiltinPlugin {
    /// The capabilities granted to an instance configured with `config`.
    pub fn granted(&self, config: Option<&ProviderConfig>) -> Vec<Capability> {
        let mut grants: Vec<Capability> = self
            .grants
            .iter()
            .map(|g| g.parse().expect("built-in grants are valid"))
            .collect();
        if let Some((option, default)) = self.http_origin_option {
            let configured = config
                .and_then(|c| c.options.get(option))
                .and_then(|v| v.as_str())
                .and_then(origin_of);
            let origin =
                configured.unwrap_or_else(|| default.parse().expect("valid default origin"));
            grants.push(Capability::Http(origin));
        }
        grants
    }
}

/// The origin of a URL such as `https://openrouter.ai/api`.
fn origin_of(url: &str) -> Option<Origin> {
    let url = url::Url::parse(url).ok()?;
    let origin = url.origin();
    if !origin.is_tuple() {
        return None;
    }
    origin.ascii_serialization().parse().ok()
}

/// Where a plugin comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// Compiled into authhost.
    Builtin(&'static BuiltinPlugin),
    /// A file in the plugins folder.
    Folder(&'a Path),
}

impl std::fmt::Debug for BuiltinPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinPlugin")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl PartialEq for BuiltinPlugin {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for BuiltinPlugin {}

/// The `*.wasm` regular files in `dir` (symbolic links followed), sorted;
/// none when it does not exist. Anything else named `*.wasm` (a FIFO, a
/// device, a directory) is skipped with a warning; nothing is opened here.
pub fn folder_files(dir: &Path) -> Vec<PathBuf> {
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
                tracing::warn!(path = %e.path().display(), "skipping: not a regular file");
            }
            is_file
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openrouter_may_reach_its_configured_origin() {
        let openrouter = builtin("openrouter").unwrap();
        let default: Vec<String> = openrouter
            .granted(None)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert!(
            default.contains(&"http:https://openrouter.ai".to_owned()),
            "{default:?}"
        );
        let mut config = ProviderConfig::default();
        config
            .options
            .insert("base_url".into(), "http://127.0.0.1:4567/".into());
        let local: Vec<String> = openrouter
            .granted(Some(&config))
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert!(
            local.contains(&"http:http://127.0.0.1:4567".to_owned()),
            "{local:?}"
        );
        assert!(!local.contains(&"http:https://openrouter.ai".to_owned()));
    }
}
