//! [`Host`]: the operations of the CLI as an async library API, a thin
//! facade over the two jobs it coordinates: running plugins
//! ([`crate::runner`]) and keeping credentials ([`crate::token`] over a
//! [`crate::store`]). One file per group of operations: [`login`]
//! (login, logout), [`status`] (list, status, check), [`plugins`]
//! (install, grant, inspect, remove), `git` (the credential helper).

mod git;
mod login;
mod options;
mod plugins;
mod reports;
mod status;

pub use options::{HostOptions, LoginOptions, TokenOptions};
pub use reports::{
    Inspection, Installed, LoginOutcome, LogoutOutcome, PluginInfo, ProviderStatus, Removed, Saved,
};

use std::sync::Arc;

use crate::config::Config;
use crate::error::Error;
use crate::interact::Interaction;
use crate::paths::Paths;
use crate::plugins::Plugins;
use crate::provider::Provider;
use crate::runner::Runner;
use crate::store::credential::Token;
use crate::store::json_file::JsonStore;
use crate::store::lock::Locks;
use crate::store::{AuthFile, Migration, Store, StoreBackend};
use crate::token::{Ask, Credentials, EnvSources};

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
    paths: Paths,
    interaction: Arc<dyn Interaction>,
    runner: Runner,
    credentials: Credentials,
}

impl Host {
    /// Opens the host: reads `config.toml` (an invalid one is an error).
    pub fn open(options: HostOptions) -> Result<Host, Error> {
        let config = Config::load(&options.paths.config_file)?;
        let paths = options.paths;
        // Lock holders give a lock up within their plugin call's timeout.
        let lock_wait = crate::files::lock::longest_wait(config.limits.call_timeout_ms);
        let store: Arc<dyn Store> = Arc::new(AuthFile::new(
            JsonStore::new(&paths.store_file, lock_wait),
            options.store.unwrap_or(config.store.backend),
            Locks::new(paths.locks_dir(), lock_wait),
        ));
        let plugins = Plugins::new(
            paths.plugins_dir.clone(),
            paths.plugin_index_file(),
            crate::runtime::CacheSetup {
                dir: paths.component_cache_dir(),
                max_bytes: config.cache.components_mib.saturating_mul(1 << 20),
                notices: options.compile_notices,
            },
            config.limits,
            options.instance_pool,
            options.interaction.clone(),
        );
        let events = crate::events::Events::new(options.on_event.clone());
        let credentials = Credentials::new(
            store.clone(),
            JsonStore::new(paths.resolved_cache_file(), lock_wait),
            config.credentials.refresh_margin_s.saturating_mul(1000),
            EnvSources {
                vars: config
                    .providers
                    .iter()
                    .filter_map(|(name, p)| Some((name.clone(), p.env.clone()?)))
                    .collect(),
                environment: options.environment,
            },
            events.clone(),
        );
        Ok(Host {
            runner: Runner {
                config,
                config_file: paths.config_file.clone(),
                plugins,
                store,
                warned: Default::default(),
                granted_now: Default::default(),
                events,
            },
            credentials,
            interaction: options.interaction,
            paths,
        })
    }

    /// The files in use.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// Where the secrets of new credentials go (`[store] backend`, or
    /// [`HostOptions::store`]).
    pub fn store_backend(&self) -> StoreBackend {
        self.credentials.backend()
    }

    /// Moves the secrets of every stored credential to `to` (the OS keyring
    /// or auth.json), one credential at a time, so that each stays readable
    /// throughout; a rerun after an interruption moves the rest. `progress`
    /// is called with each provider moved. Once every credential is moved,
    /// `[store] backend` in config.toml is set to `to`, so that new
    /// credentials (a refreshed login included) go there too.
    pub async fn migrate_store(
        &self,
        to: StoreBackend,
        progress: impl FnMut(&str) + Send + 'static,
    ) -> Result<Migration, Error> {
        let migration = self.credentials.migrate(to, progress).await?;
        if migration.changed.is_empty() {
            crate::config::set_store_backend(&self.paths.config_file, to)?;
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
                match self.credentials.stored() {
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
