//! What the [`Host`](super::Host) API reports. None of it ever holds a
//! secret, and every text that came from a plugin is sanitised.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::capability::Capability;
use crate::plugins::PluginMetadata;
use crate::store::credential::CredentialKind;

/// What [`Host::login`](super::Host::login) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LoginOutcome {
    /// The kind of credential obtained.
    pub kind: CredentialKind,
    /// `Stored` in the credential store, or `Cached` (helper providers).
    pub saved: Saved,
    /// Whether it replaced a stored credential.
    pub replaced: bool,
    /// What the user should know about the credential (a pasted key that
    /// does not look like the vendor's keys), never the secret.
    pub warnings: Vec<String>,
}

/// Where a login put its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Saved {
    /// In `auth.json`.
    Stored,
    /// In the helper cache until the given time (ms since the epoch).
    Cached(Option<u64>),
}

/// A plugin in `authhost plugins list`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PluginInfo {
    /// Its id, or for a file that did not load, the file name.
    pub id: String,
    /// `built-in`, or the file's path.
    pub source: String,
    /// The `authhost:provider` version it was built against.
    pub wit_version: Option<String>,
    /// What it says about itself, when it loaded.
    pub metadata: Option<PluginMetadata>,
    /// Requested and granted (for the provider named like the plugin).
    pub granted: Vec<Capability>,
    /// Requested but not granted.
    pub missing: Vec<Capability>,
    /// Why the user's grants are not in force (the file changed since
    /// they were made), if so.
    pub grants_suspended: Option<String>,
    /// For each program a `process:NAME` capability (requested or granted)
    /// names: the file it runs, found on the user's `PATH` (`None` when no
    /// such program is found).
    pub programs: Vec<(String, Option<std::path::PathBuf>)>,
    /// Why it did not load.
    pub error: Option<String>,
}

/// What `authhost plugins inspect` finds in a file.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Inspection {
    /// The file's size in bytes.
    pub size: u64,
    /// Whether it would load from the plugins folder.
    pub would_load: bool,
    /// What it is, or why it does not load.
    #[serde(flatten)]
    pub info: PluginInfo,
}

/// What [`Host::install`](super::Host::install) did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Installed {
    /// The plugin as installed: id, metadata, what is granted and missing.
    pub info: PluginInfo,
    /// Its file in the plugins folder.
    pub file: std::path::PathBuf,
    /// Files it replaced (`--force`).
    pub replaced: Vec<std::path::PathBuf>,
    /// Whether the same component was installed there already.
    pub unchanged: bool,
    /// What it requests, with `http:{OPTION}` requests expanded for the
    /// providers that use it: what granting it all would grant.
    pub requested: Vec<Capability>,
    /// Its `http:{OPTION}` requests as written (granted per provider, once
    /// the option is set).
    pub templates: Vec<crate::capability::Request>,
    /// SHA-256 of the component, hex (grants are bound to it).
    pub digest: String,
}

/// What [`Host::remove_plugin`](super::Host::remove_plugin) removed.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Removed {
    /// The plugin files.
    pub files: Vec<std::path::PathBuf>,
    /// Whether `[plugins.ID]` (its grants) was removed from config.toml.
    pub grants_removed: bool,
}

/// A provider in `authhost list` and `authhost status`. Never contains a
/// secret or a helper's command.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProviderStatus {
    /// The provider name.
    pub provider: String,
    /// The plugin implementing it.
    pub plugin: String,
    /// The `authhost:provider` version of that plugin, when it loaded.
    pub wit_version: Option<String>,
    /// Whether `config.toml` has a `[providers.NAME]` table for it.
    pub configured: bool,
    /// The kind of stored credential, if any.
    pub credential: Option<CredentialKind>,
    /// Where the stored credential's secrets are: `file` (auth.json) or
    /// `keyring` (the OS keyring).
    pub stored_in: Option<crate::StoreBackend>,
    /// Whether the stored credential is what the plugin derives its tokens
    /// from (`resolve`), rather than the token itself.
    pub derived: bool,
    /// When the stored OAuth access token expires (ms since the epoch).
    pub expires: Option<u64>,
    /// Whether the stored login can be renewed without the user (a refresh
    /// token and a plugin that refreshes).
    pub refreshable: bool,
    /// Non-secret facts stored with the credential (account, e-mail,
    /// enterprise URL), sanitised.
    pub extra: BTreeMap<String, String>,
    /// The environment variable its credential comes from: its `env`
    /// in `config.toml`, when that variable is set (not empty). It is used
    /// ahead of anything stored.
    pub from_env: Option<String>,
    /// The variable `authhost exec` puts its key in: its `env` in
    /// `config.toml`, else the one the catalog names.
    pub env: Option<String>,
    /// Whether the plugin produces credentials at run time.
    pub helper: bool,
    /// Whether a helper credential is cached and still fresh.
    pub cached: bool,
    /// Until when it is cached (ms since the epoch).
    pub cached_until: Option<u64>,
    /// Whether `authhost login` is needed before `token` can succeed: no
    /// credential and no helper, or an expired login that cannot be
    /// renewed, or a credential another plugin made.
    pub needs_login: bool,
    /// When the last refresh of the stored login was refused by the
    /// service (ms since the Unix epoch): the login is over, though its
    /// access token may not have expired yet. `None` when no refresh was
    /// refused since the login was stored.
    pub refresh_refused: Option<u64>,
    /// When the stored credential was made by another plugin (or another
    /// build of the folder plugin) than the one the provider uses now:
    /// which made it, in words (sanitised). It is handed to no plugin and
    /// not printed by `token`; a new login replaces it.
    pub made_by_another: Option<String>,
    /// What its plugin may do for it: requested (with `http:{OPTION}`
    /// requests expanded from this provider's options) and granted.
    pub granted: Vec<Capability>,
    /// Requested for it and not granted.
    pub missing: Vec<Capability>,
    /// Why the provider is unusable (missing plugin, unreadable entry).
    pub error: Option<String>,
}

/// What [`Host::logout`](super::Host::logout) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogoutOutcome {
    /// Whether a stored or cached credential was removed.
    pub removed: bool,
    /// Whether the plugin revoked the credential at its service.
    pub revoked: bool,
    /// Why revoking failed (the credential was removed all the same).
    pub revoke_error: Option<String>,
    /// Why revoking was not tried: the stored credential was made by
    /// another plugin than the provider's, which is never handed it (the
    /// credential was removed all the same).
    pub revoke_skipped: Option<String>,
}
