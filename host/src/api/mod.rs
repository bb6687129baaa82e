//! [`Host`]: the operations of the CLI as an async library API, a thin
//! facade over the two jobs it coordinates: running plugins
//! ([`crate::runner`]) and keeping credentials ([`crate::token`] over a
//! [`crate::store`]). One file per group of operations: [`login`]
//! (login, logout), [`status`] (list, status, check), [`plugins`]
//! (install, grant, inspect, remove), `git` (the credential helper).

mod builder;
mod git;
mod login;
mod options;
mod plugins;
mod reports;
mod status;

pub use builder::{HostBuilder, ProviderSettings};
pub use options::{HostOptions, LoginOptions, TokenOptions};
pub use reports::{
    Inspection, Installed, LoginOutcome, LogoutOutcome, PluginInfo, ProviderStatus, Removed, Saved,
};

use std::sync::Arc;

use crate::error::Error;
use crate::interact::Interaction;
use crate::paths::Paths;
use crate::provider::Provider;
use crate::runner::Runner;
use crate::store::credential::Token;
use crate::store::{Migration, StoreBackend, StoreSettings};
use crate::token::{Ask, Credentials};

/// The authhost host: configuration, credential store and plugins.
///
/// `Host` is `Send + Sync`; share it in an [`Arc`]. Nothing touches
/// WebAssembly until a plugin must run: reading a stored key compiles
/// nothing.
///
/// The async methods never block their executor on another process: file
/// locks and writes run on tokio's blocking pool (so they need a tokio
/// runtime). Reading `auth.json` and the helper cache, which are small
/// local files read without a lock, is done inline.
pub struct Host {
    paths: Option<Paths>,
    interaction: Arc<dyn Interaction>,
    runner: Runner,
    credentials: Credentials,
    /// The store in use, as configured.
    store_settings: StoreSettings,
}

impl Host {
    /// Opens the host: reads `config.toml` (an invalid one is an error).
    pub fn open(options: HostOptions) -> Result<Host, Error> {
        HostBuilder::from_options(options).build()
    }

    /// A builder for a host configured in code, with no files unless
    /// given some (see [`HostBuilder`]).
    pub fn builder() -> HostBuilder {
        HostBuilder::new()
    }

    /// The files in use; `None` for a host built without files.
    pub fn paths(&self) -> Option<&Paths> {
        self.paths.as_ref()
    }

    /// The files of the host, for an operation that changes `what`: an
    /// error for a host without files.
    fn files(&self, what: &str) -> Result<&Paths, Error> {
        self.paths
            .as_ref()
            .ok_or_else(|| Error::NoFiles { what: what.into() })
    }

    /// Where the secrets of new credentials go (`[store] backend`, or
    /// [`HostOptions::store`]).
    pub fn store_backend(&self) -> StoreBackend {
        self.credentials.backend()
    }

    /// Where the credentials are, in words and without a secret: `auth.json`,
    /// the OS keyring, memory, or for the PostgreSQL store its
    /// `postgres://HOST:PORT/DATABASE` (no user, no password), namespace
    /// and key source (`the key file PATH`, `AUTHHOST_STORE_KEY`). Opens no
    /// connection.
    pub fn store_place(&self) -> String {
        self.credentials.store_place()
    }

    /// Moves every stored credential to `to`: its secrets between
    /// auth.json and the OS keyring, or the credentials themselves to or
    /// from the PostgreSQL store (its `url` and key set in `[store]`), one
    /// credential at a time, so that each stays readable throughout (the
    /// new copy is written before the old one is removed); a rerun after an
    /// interruption moves the rest. `progress` is called with each provider
    /// moved. Once every credential is moved, `[store] backend` in
    /// config.toml is set to `to`, so that new credentials (a refreshed
    /// login included) go there too.
    pub async fn migrate_store(
        &self,
        to: StoreBackend,
        progress: impl FnMut(&str) + Send + 'static,
    ) -> Result<Migration, Error> {
        let paths = self.files("config.toml")?;
        let config_file = paths.config_file.clone();
        let from = self.store_settings.backend;
        let migration = if (from == StoreBackend::Postgres) != (to == StoreBackend::Postgres) {
            let mut settings = self.store_settings.clone();
            settings.backend = to;
            let timeout = self.runner.config.limits.call_timeout_ms;
            let wait = crate::files::lock::longest_wait(timeout);
            let target = crate::store::open(&settings, Some(paths), wait, timeout)?;
            self.credentials.transfer(target.as_ref(), progress).await?
        } else if to == StoreBackend::Postgres {
            Migration::default()
        } else {
            self.credentials.migrate(to, progress).await?
        };
        if migration.changed.is_empty() {
            crate::config::set_store_backend(&config_file, to)?;
        }
        Ok(migration)
    }

    /// A usable secret for `provider`: the value of its `env` variable
    /// (`[providers.X] env = "VAR"`) when that is set, else a stored
    /// credential, else a fresh cached helper credential, else one from the
    /// provider's plugin (`resolve`). Concurrent calls for one provider run
    /// the plugin once. The [`Token`] says its kind and, for OAuth access
    /// tokens, its expiry.
    ///
    /// Repeated calls are answered from memory: a stored credential for up
    /// to one second, a helper credential for as long as it may be cached.
    /// A provider found with no stored or cached credential is not looked up
    /// in the files again for one second either, so a credential another
    /// process stores takes effect within a second (one this host stores, at
    /// once).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use authhost::{CredentialKind, Host, TokenOptions};
    ///
    /// let host = Host::builder().build()?; // no files: keys in memory
    /// host.store_key("openai", "sk-in-memory".into()).await?;
    /// let token = host.token("openai", TokenOptions::default()).await?;
    /// assert_eq!(token.kind(), CredentialKind::Api);
    /// assert_eq!(token.expose_secret(), "sk-in-memory");
    /// assert!(!format!("{token:?}").contains("sk-in-memory"));
    /// # Ok::<(), authhost::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn token(&self, provider: &str, options: TokenOptions) -> Result<Token, Error> {
        let ask = Ask {
            refresh: options.refresh,
            stale_on_error: options.stale_on_error,
        };
        match self.credentials.token(provider, ask, &self.runner).await {
            // Nothing to print: when the name or its configuration is
            // wrong, that is what to fix, not a missing login.
            Err(error) if error.needs_login() => {
                // Boxed: the token future stays small (see token's tests).
                let problem = Box::pin(self.runner.problem(provider)).await;
                Err(problem.unwrap_or(error))
            }
            other => other,
        }
    }

    /// Whether `name` is a provider: configured, in the catalog, stored, or
    /// a plugin that is itself one. Otherwise [`Error::UnknownProvider`]
    /// (with the closest known name, for a typo) or
    /// [`Error::NotAProvider`] (a generic plugin's id, such as `api-key`).
    /// Loads the provider's plugin, runs nothing.
    pub async fn known_provider(&self, name: &str) -> Result<(), Error> {
        match self.runner.plugin_for(&self.runner.provider(name)).await {
            Err(error @ (Error::UnknownProvider { .. } | Error::NotAProvider { .. })) => {
                match self.credentials.stored().await {
                    Ok(stored) if stored.contains_key(name) => Ok(()),
                    _ => Err(error),
                }
            }
            _ => Ok(()),
        }
    }

    /// Every provider name this host knows, sorted: configured, in the
    /// catalog, stored, and the plugins that are themselves providers
    /// (what a shell completes).
    pub async fn provider_names(&self) -> Vec<String> {
        self.runner.provider_names().await.into_iter().collect()
    }

    /// Provider `name` as this host resolves it: the plugin that
    /// implements it and whether `config.toml` configures it. Resolving
    /// loads no plugin; a name nothing knows still resolves (to the plugin
    /// named like it), and the calls that need its plugin say it is unknown.
    ///
    /// ```
    /// use authhost::{Host, ProviderSettings};
    ///
    /// let host = Host::builder()
    ///     .provider("work", ProviderSettings::new().plugin("shell-helper"))
    ///     .build()?;
    /// let work = host.provider("work");
    /// assert_eq!((work.plugin(), work.is_configured()), ("shell-helper", true));
    /// // A well-known provider comes from the catalog, with its variable.
    /// assert_eq!(host.provider("anthropic").env_var().as_deref(), Some("ANTHROPIC_API_KEY"));
    /// # Ok::<(), authhost::Error>(())
    /// ```
    pub fn provider<'a>(&'a self, name: &'a str) -> Provider<'a> {
        self.runner.provider(name)
    }

    /// The environment variable for `provider`'s key in other tools (what
    /// `authhost exec` sets): its `[providers.X] env`, else the catalog's
    /// (`ANTHROPIC_API_KEY`, …); `None` when neither names one.
    pub fn env_var(&self, provider: &str) -> Option<String> {
        self.provider(provider).env_var()
    }
}
