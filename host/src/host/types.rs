//! The public data types of the [`Host`](super::Host) API.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::Error;
use crate::capability::Capability;
use crate::credential::CredentialKind;
use crate::interact::{Interaction, Terminal};
use crate::paths::Paths;

/// How to open a [`Host`].
#[derive(Clone)]
pub struct HostOptions {
    /// Where the files are.
    pub paths: Paths,
    /// How to talk to the user.
    pub interaction: Arc<dyn Interaction>,
    /// Use wasmtime's pooling allocator: each plugin call gets a fresh
    /// instance faster, but setting the pool up costs a few milliseconds.
    /// Worth it in long-running programs that call plugins often; off by
    /// default (and in the CLI).
    pub instance_pool: bool,
}

impl HostOptions {
    /// `AUTHHOST_HOME` or the platform directories, talking to the terminal.
    pub fn from_env() -> Result<HostOptions, Error> {
        Ok(HostOptions {
            paths: Paths::from_env()?,
            interaction: Arc::new(Terminal),
            instance_pool: false,
        })
    }

    /// Every file under `home` (the `AUTHHOST_HOME` layout), talking to the
    /// terminal.
    pub fn with_home(home: impl Into<PathBuf>) -> HostOptions {
        HostOptions {
            paths: Paths::in_home(home.into()),
            interaction: Arc::new(Terminal),
            instance_pool: false,
        }
    }

    /// Turns the pooling allocator on or off (see
    /// [`HostOptions::instance_pool`]).
    pub fn instance_pool(mut self, on: bool) -> HostOptions {
        self.instance_pool = on;
        self
    }

    /// Replaces how the host talks to the user.
    pub fn interaction(mut self, interaction: Arc<dyn Interaction>) -> HostOptions {
        self.interaction = interaction;
        self
    }
}

/// Options of [`Host::login`].
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    /// The method id; the provider's first method when `None`.
    pub method: Option<String>,
    /// Print the URL instead of opening a browser.
    pub no_browser: bool,
}

/// Options of [`Host::token`].
#[derive(Debug, Clone, Default)]
pub struct TokenOptions {
    /// Ask a helper provider for a fresh credential even if one is cached.
    pub refresh: bool,
    /// When asking a helper fails, return its last cached credential even if
    /// it is past its cache lifetime (with a warning in the log). Off by
    /// default: a failing helper is an error.
    pub stale_on_error: bool,
}

/// What [`Host::login`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginOutcome {
    /// The kind of credential obtained.
    pub kind: CredentialKind,
    /// `Stored` in the credential store, or `Cached` (helper providers).
    pub saved: Saved,
}

/// Where a login put its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Saved {
    /// In `auth.json`.
    Stored,
    /// In the helper cache until the given time (ms since the epoch).
    Cached(Option<u64>),
}

/// How a login method works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodKind {
    /// The user pastes a key.
    ApiKey,
    /// A browser OAuth flow.
    OAuth,
    /// A helper run at token time.
    Helper,
}

/// One login method of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthMethod {
    /// The id, as given to `--method`.
    pub id: String,
    /// A label for people.
    pub label: String,
    /// How it works.
    pub kind: MethodKind,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginMetadata {
    /// The plugin id.
    pub id: String,
    /// Its name for people.
    pub display_name: String,
    /// What it is for.
    pub description: String,
    /// Login methods, preferred first, including the host's `api-key`.
    pub methods: Vec<AuthMethod>,
    /// Capabilities it asks for.
    pub requested: Vec<Capability>,
    /// Whether it produces credentials at run time (`resolve`).
    pub resolves: bool,
}

/// A plugin in `authhost plugins list`.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    /// Its id, or for a file that did not load, the file name.
    pub id: String,
    /// `built-in`, or the file's path.
    pub source: String,
    /// The `authhost:provider` version it was built against.
    pub wit_version: Option<String>,
    /// What it says about itself, when it loaded.
    pub metadata: Option<PluginMetadata>,
    /// Requested and granted (default provider configuration).
    pub granted: Vec<Capability>,
    /// Requested but not granted.
    pub missing: Vec<Capability>,
    /// Why it did not load.
    pub error: Option<String>,
}

/// What `authhost plugins inspect` finds in a file.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The file's size in bytes.
    pub size: u64,
    /// Whether it would load from the plugins folder.
    pub would_load: bool,
    /// What it is, or why it does not load.
    #[serde(flatten)]
    pub info: PluginInfo,
}

/// A provider in `authhost list`. Never contains a secret or a helper's
/// command.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderStatus {
    /// The provider name.
    pub provider: String,
    /// The plugin implementing it.
    pub plugin: String,
    /// Whether `config.toml` has a `[providers.NAME]` table for it.
    pub configured: bool,
    /// The kind of stored credential, if any.
    pub credential: Option<CredentialKind>,
    /// Whether the plugin produces credentials at run time.
    pub helper: bool,
    /// Whether a helper credential is cached and still fresh.
    pub cached: bool,
    /// Why the provider is unusable (missing plugin, unreadable entry).
    pub error: Option<String>,
}
