//! Where authhost keeps its files.

use std::path::{Path, PathBuf};

use crate::Error;

/// The environment variable that puts every file under one directory.
pub const HOME_ENV: &str = "AUTHHOST_HOME";

/// The files and folders authhost uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `config.toml`: providers, plugin grants, limits.
    pub config_file: PathBuf,
    /// `auth.json`: stored credentials (mode 0600).
    pub store_file: PathBuf,
    /// Folder scanned for third-party `*.wasm` providers.
    pub plugins_dir: PathBuf,
    /// Compiled components and cached helper credentials.
    pub cache_dir: PathBuf,
}

impl Paths {
    /// Everything under `home`, the layout used for `AUTHHOST_HOME`.
    ///
    /// ```
    /// use authhost::{Host, Paths};
    ///
    /// let home = std::env::temp_dir().join("authhost-doc-paths");
    /// let paths = Paths::in_home(&home);
    /// assert_eq!(paths.store_file, home.join("auth.json"));
    /// let host = Host::builder().paths(paths).build()?; // creates nothing yet
    /// assert_eq!(host.paths().unwrap().plugins_dir, home.join("plugins"));
    /// # Ok::<(), authhost::Error>(())
    /// ```
    pub fn in_home(home: impl AsRef<Path>) -> Paths {
        let home = home.as_ref();
        Paths {
            config_file: home.join("config.toml"),
            store_file: home.join("auth.json"),
            plugins_dir: home.join("plugins"),
            cache_dir: home.join("cache"),
        }
    }

    /// `AUTHHOST_HOME` when set (a relative path is made absolute against
    /// the working directory), otherwise the platform's standard
    /// directories: on Linux `~/.config/authhost/config.toml`,
    /// `~/.local/share/authhost/{auth.json,plugins}`, `~/.cache/authhost`;
    /// on macOS `~/Library/Application Support/authhost/` (config and data)
    /// and `~/Library/Caches/authhost`; on Windows
    /// `%APPDATA%\authhost\config`, `%APPDATA%\authhost\data` and
    /// `%LOCALAPPDATA%\authhost\cache`.
    pub fn from_env() -> Result<Paths, Error> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
            // A relative home is taken from the working directory now, so
            // that the files stay put when a plugin or a child moves.
            let home = std::path::absolute(&home).map_err(|e| Error::Config {
                path: PathBuf::from(format!("${HOME_ENV}")),
                message: format!(
                    "cannot make the relative directory {} absolute ({e}); give an absolute path",
                    Path::new(&home).display()
                ),
            })?;
            return Ok(Paths::in_home(home));
        }
        let dirs =
            directories::ProjectDirs::from("", "", "authhost").ok_or_else(|| Error::Config {
                path: PathBuf::from("$HOME"),
                message: format!("cannot determine the home directory; set {HOME_ENV}"),
            })?;
        Ok(Paths {
            config_file: dirs.config_dir().join("config.toml"),
            store_file: dirs.data_dir().join("auth.json"),
            plugins_dir: dirs.data_dir().join("plugins"),
            cache_dir: dirs.cache_dir().to_path_buf(),
        })
    }

    /// The cached credentials of helper providers.
    pub fn resolved_cache_file(&self) -> PathBuf {
        self.cache_dir.join("credentials.json")
    }

    /// The index of the plugins folder: what each component said in
    /// `describe`.
    pub fn plugin_index_file(&self) -> PathBuf {
        self.cache_dir.join("plugins.json")
    }

    /// The lock files that let one process at a time refresh a provider's
    /// login or run its helper.
    pub fn locks_dir(&self) -> PathBuf {
        self.cache_dir.join("locks")
    }

    /// Compiled components.
    pub fn component_cache_dir(&self) -> PathBuf {
        self.cache_dir.join("components")
    }
}
