//! `config.toml`: provider instances, grants for folder plugins, and limits.
//! Reading it is here; editing it (`authhost plugins grant`) is in
//! [`grants`].
//!
//! ```toml
//! [providers.anthropic]        # a provider instance named "anthropic"
//! plugin = "shell-helper"      # default: the plugin whose id is the name
//! env = "ANTHROPIC_API_KEY"   # optional: this variable, when set, is the key
//! command = "op read ..."      # everything else goes to the plugin
//!
//! [plugins.acme]
//! grant = ["browser", "http:https://api.acme.example"]
//!
//! [limits]
//! memory_mib = 64
//!
//! [store]
//! backend = "keyring"          # secrets in the OS keyring (default "file")
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use std::borrow::Cow;

use serde::Deserialize;

use crate::Error;
use crate::capability::Capability;
use crate::catalog;
use crate::names::check_name;

mod grants;
mod store_setting;
mod trust;
#[cfg(fuzzing)]
pub use grants::edit_grants;
pub(crate) use grants::{add_grants, remove_grants, remove_plugin_table};
pub(crate) use store_setting::set_store_backend;

/// The parsed configuration.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// Provider instances by name.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Settings of plugins by plugin id.
    pub plugins: BTreeMap<String, PluginConfig>,
    /// Resource limits for every plugin call.
    pub limits: Limits,
    /// How credentials are kept alive.
    pub credentials: CredentialSettings,
    /// The disk cache.
    pub cache: CacheSettings,
    /// Where credentials are stored.
    pub store: StoreSettings,
}

/// `[cache]`: the disk cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// The most compiled components `cache/components/` keeps, in MiB; the
    /// least recently used are removed beyond it.
    pub components_mib: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            components_mib: 512,
        }
    }
}

pub use crate::store::StoreSettings;

/// `[credentials]`: how credentials are kept alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialSettings {
    /// An OAuth access token this close to its expiry, in seconds, is
    /// refreshed before it is used.
    pub refresh_margin_s: u64,
}

impl Default for CredentialSettings {
    fn default() -> Self {
        CredentialSettings {
            refresh_margin_s: 60,
        }
    }
}

/// One `[providers.NAME]` table.
#[derive(Clone, Default)]
pub struct ProviderConfig {
    /// The plugin that implements it; `None` means the plugin named like the
    /// provider.
    pub plugin: Option<String>,
    /// `env`: the environment variable that holds the provider's key. When
    /// it is set (not empty) in authhost's environment it is the
    /// credential, ahead of the store and the plugin; `authhost exec` puts
    /// the key in this variable. A host key: never handed to the plugin.
    pub env: Option<String>,
    /// `git_hosts`, `git_username`, `git_store`: what `authhost
    /// git-credential` does for this provider. Host keys too.
    pub git: GitSettings,
    /// The remaining keys, handed to the plugin as a JSON object.
    pub options: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for ProviderConfig {
    // Options can hold secrets (a helper command): show only their names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("plugin", &self.plugin)
            .field("env", &self.env)
            .field("git", &self.git)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The git keys of a `[providers.NAME]` table.
#[derive(Debug, Clone, Default)]
pub struct GitSettings {
    /// `git_hosts`: the hosts (and path prefixes) whose git credentials
    /// are this provider's key.
    pub hosts: Vec<crate::git::GitHost>,
    /// `git_username`: the user name sent with the key.
    pub username: Option<String>,
    /// `git_store`: `git-credential store` and `erase` may change the
    /// provider's stored key.
    pub store: bool,
}

/// One `[plugins.ID]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Capabilities the user grants the plugin.
    #[serde(default, deserialize_with = "deserialize_grants")]
    pub grant: Vec<Capability>,
    /// The SHA-256 (hex) of the component the grants were made for, recorded
    /// by `authhost plugins grant`: the grants apply to that file only, and
    /// are suspended when the plugin's file changes. Without it (a grant
    /// written by hand) they apply to whichever single file has the id.
    #[serde(default)]
    pub sha256: Option<String>,
}

pub use crate::runtime::Limits;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    providers: BTreeMap<String, toml::Table>,
    #[serde(default)]
    plugins: BTreeMap<String, PluginConfig>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    credentials: CredentialSettings,
    #[serde(default)]
    cache: CacheSettings,
    #[serde(default)]
    store: StoreSettings,
}

fn deserialize_grants<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Capability>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    raw.iter()
        .map(|g| g.parse().map_err(serde::de::Error::custom))
        .collect()
}

impl Config {
    /// Reads `path`; a missing file is an empty configuration. A file that
    /// another user owns or may write, or that sits in such a folder, is
    /// refused before anything in it is used, as ssh refuses such a
    /// `~/.ssh/config` (see `config/trust.rs`).
    #[cfg(test)]
    pub fn load(path: &Path) -> Result<Config, Error> {
        match Config::read(path)? {
            Some(text) => Config::parse(&text, path),
            None => Ok(Config::default()),
        }
    }

    /// The text of the file at `path` (`None` when there is none), refused
    /// as authhost refuses a config file another user may write.
    pub fn read(path: &Path) -> Result<Option<String>, Error> {
        use std::io::Read;
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read", path, e)),
        };
        trust::check(path, &file)?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| Error::io("cannot read", path, e))?;
        Ok(Some(text))
    }

    /// Parses the text of `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
        let invalid = |message: String| Error::Config {
            path: PathBuf::from(path),
            message,
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_owned()))?;
        Config::from_raw(raw, path)
    }

    /// The configuration in `table` (the contents of a `config.toml`, or
    /// what a [`crate::HostBuilder`] made of it); errors name `origin`.
    pub fn from_table(table: toml::Table, origin: &Path) -> Result<Config, Error> {
        let raw: RawConfig =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| Error::Config {
                    path: PathBuf::from(origin),
                    message: e.message().trim_end().to_owned(),
                })?;
        Config::from_raw(raw, origin)
    }

    fn from_raw(raw: RawConfig, path: &Path) -> Result<Config, Error> {
        let invalid = |message: String| Error::Config {
            path: PathBuf::from(path),
            message,
        };
        let mut providers = BTreeMap::new();
        for (name, mut table) in raw.providers {
            check_name(&name).map_err(|m| invalid(format!("[providers.{name}]: {m}")))?;
            let plugin = match table.remove("plugin") {
                None => None,
                Some(toml::Value::String(id)) => Some(id),
                Some(other) => {
                    return Err(invalid(format!(
                        "[providers.{name}] plugin must be a string (a plugin id), not a {}",
                        other.type_str()
                    )));
                }
            };
            // `env = "VAR"` (a string) is authhost's own: the variable the
            // credential may come from. Any other `env` (a table, a list) is
            // left to the plugin, as earlier releases did, so plugins that
            // take an `env` option of their own keep working.
            let env = match table.get("env") {
                Some(toml::Value::String(_)) => match table.remove("env") {
                    Some(toml::Value::String(var)) => {
                        check_env_name(&var)
                            .map_err(|m| invalid(format!("[providers.{name}] env: {m}")))?;
                        Some(var)
                    }
                    _ => None,
                },
                _ => None,
            };
            let git = take_git_settings(&mut table)
                .map_err(|m| invalid(format!("[providers.{name}] {m}")))?;
            let options = match serde_json::to_value(&table) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => {
                    return Err(invalid(format!(
                        "[providers.{name}] cannot be represented as JSON"
                    )));
                }
            };
            providers.insert(
                name,
                ProviderConfig {
                    plugin,
                    env,
                    git,
                    options,
                },
            );
        }
        for (id, settings) in &raw.plugins {
            // Lenient like earlier releases: a table for an id no plugin can
            // have (plugin ids are lowercase) simply never applies.
            check_name(id).map_err(|m| invalid(format!("[plugins.{id}]: {m}")))?;
            if let Some(digest) = &settings.sha256
                && (digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()))
            {
                return Err(invalid(format!(
                    "[plugins.{id}] sha256 must be 64 hexadecimal digits"
                )));
            }
        }
        Ok(Config {
            providers,
            plugins: raw.plugins,
            limits: raw.limits,
            credentials: raw.credentials,
            cache: raw.cache,
            store: raw.store,
        })
    }

    /// The plugin that implements provider `name`: the one its table names,
    /// else the catalog's (for a well-known provider without a table), else
    /// the plugin named like the provider.
    pub fn plugin_of<'a>(&'a self, name: &'a str) -> &'a str {
        let from_catalog = || catalog::get(name).map_or(name, |entry| entry.plugin.as_str());
        match self.providers.get(name).and_then(|t| t.plugin.as_deref()) {
            Some(plugin) => plugin,
            None => from_catalog(),
        }
    }

    /// The options of provider `name`: its `[providers.NAME]` table, laid
    /// over the catalog entry's options when both use the same plugin (see
    /// `crate::catalog`). `None` when neither has any.
    pub fn provider(&self, name: &str) -> Option<Cow<'_, ProviderConfig>> {
        let table = self.providers.get(name);
        let entry = catalog::get(name).filter(|e| e.plugin == self.plugin_of(name));
        match (table, entry) {
            (Some(table), None) => Some(Cow::Borrowed(table)),
            (None, None) => None,
            (table, Some(entry)) => {
                let mut merged = ProviderConfig {
                    plugin: Some(entry.plugin.clone()),
                    env: None,
                    git: GitSettings::default(),
                    options: entry.options.clone(),
                };
                if let Some(table) = table {
                    merged.plugin.clone_from(&table.plugin);
                    merged.env.clone_from(&table.env);
                    merged.git.clone_from(&table.git);
                    merged.options.extend(table.options.clone());
                }
                Some(Cow::Owned(merged))
            }
        }
    }
}

/// Takes the git keys (host keys, never handed to the plugin) out of a
/// provider table.
fn take_git_settings(table: &mut toml::Table) -> Result<GitSettings, String> {
    let mut git = GitSettings::default();
    match table.remove("git_hosts") {
        None => {}
        Some(toml::Value::Array(items)) => {
            for item in items {
                let toml::Value::String(text) = item else {
                    return Err("git_hosts must be a list of strings".into());
                };
                git.hosts.push(text.parse()?);
            }
        }
        Some(_) => return Err("git_hosts must be a list of strings, e.g. [\"github.com\"]".into()),
    }
    match table.remove("git_username") {
        None => {}
        Some(toml::Value::String(name))
            if !name.is_empty() && !name.contains(['\n', '\r', '\0']) =>
        {
            git.username = Some(name)
        }
        Some(_) => return Err("git_username must be a user name on one line".into()),
    }
    match table.remove("git_store") {
        None => {}
        Some(toml::Value::Boolean(on)) => git.store = on,
        Some(_) => return Err("git_store must be true or false".into()),
    }
    Ok(git)
}

/// A name for an environment variable: not empty, without `=` or NUL.
pub fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        Err(format!(
            "`{}` is not a valid environment variable name",
            name.escape_debug()
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Error> {
        Config::parse(text, Path::new("/x/config.toml"))
    }

    #[test]
    fn providers_keep_their_options() {
        let config = parse(
            r#"
            [providers.anthropic]
            plugin = "shell-helper"
            command = ["op-canary", "read", "x"]
            ttl_ms = 5
            "#,
        )
        .unwrap();
        let p = &config.providers["anthropic"];
        assert_eq!(p.plugin.as_deref(), Some("shell-helper"));
        assert_eq!(p.options["ttl_ms"], 5);
        assert_eq!(p.options["command"][2], "x");
        assert!(
            !format!("{p:?}").contains("op-canary"),
            "Debug shows option values"
        );
        assert_eq!(config.plugin_of("anthropic"), "shell-helper");
        assert_eq!(config.plugin_of("openrouter"), "openrouter");
    }

    #[test]
    fn env_is_a_host_key_not_a_plugin_option() {
        let config = parse("[providers.work]\nenv = \"WORK_KEY\"\nttl_ms = 5").unwrap();
        let p = &config.providers["work"];
        assert_eq!(p.env.as_deref(), Some("WORK_KEY"));
        assert!(!p.options.contains_key("env"));
        assert_eq!(p.options["ttl_ms"], 5);
        let merged = config.provider("work").unwrap();
        assert_eq!(merged.env.as_deref(), Some("WORK_KEY"));
        let config = parse("[providers.anthropic]\nenv = \"A\"").unwrap();
        assert_eq!(
            config.provider("anthropic").unwrap().env.as_deref(),
            Some("A")
        );
        // Any other `env` is the plugin's own option, as in earlier releases.
        let table = parse("[providers.x]\nenv = { AUTHHOST_X = \"1\" }").unwrap();
        assert!(table.providers["x"].env.is_none());
        assert!(table.providers["x"].options["env"].is_object());
        assert!(parse("[providers.x]\nenv = \"A=B\"").is_err());
        assert!(parse("[providers.x]\nenv = \"\"").is_err());
    }

    #[test]
    fn git_keys_are_host_keys_and_checked() {
        let config = parse(
            "[providers.gh]\ngit_hosts = [\"github.com/org\"]\ngit_username = \"bot\"\ngit_store = true\nttl_ms = 5\n[store]\nbackend = \"keyring\"",
        )
        .unwrap();
        let p = &config.providers["gh"];
        assert_eq!(p.git.hosts[0].to_string(), "https://github.com/org");
        assert_eq!(p.git.username.as_deref(), Some("bot"));
        assert!(p.git.store);
        assert_eq!(p.options.keys().collect::<Vec<_>>(), ["ttl_ms"]);
        assert_eq!(config.store.backend, crate::StoreBackend::Keyring);
        for bad in [
            "git_hosts = \"github.com\"",
            "git_hosts = [\"*.github.com\"]",
            "git_username = \"\"",
            "git_store = \"yes\"",
        ] {
            let err = parse(&format!("[providers.gh]\n{bad}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("[providers.gh]"), "{err}");
        }
        assert!(parse("[store]\nbackend = \"vault\"").is_err());
    }

    #[test]
    fn unknown_keys_are_named_with_the_file() {
        for (text, key) in [
            ("colour = 1", "colour"),
            ("[plugins.acme]\ngrants = []", "grants"),
            ("[limits]\nmemory = 3", "memory"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
            assert!(err.contains("/x/config.toml"), "{err}");
        }
    }

    #[test]
    fn bad_grants_and_names_are_errors() {
        let err = parse("[plugins.acme]\ngrant = [\"http:https://*\"]").unwrap_err();
        assert!(err.to_string().contains("too broad"), "{err}");
        assert!(parse("[providers.\"a b\"]").is_err());
        assert!(parse("[providers.x]\nplugin = 3").is_err());
    }
}
