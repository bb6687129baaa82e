//! [`Host`]: the operations of the CLI as an async library API, a thin
//! facade over the two jobs it coordinates, the plugin registry
//! (`crate::plugins`) and the credentials (`crate::credentials`).

mod git;
mod options;
mod reports;

pub use options::{HostOptions, LoginOptions, TokenOptions};
pub use reports::{
    Inspection, Installed, LoginOutcome, LogoutOutcome, PluginInfo, ProviderStatus, Removed, Saved,
};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::capability::Capability;
use crate::config::{Config, PluginConfig};
use crate::credential::{Credential, CredentialKind, Token};
use crate::credential_store::{CredentialStore, Migration, StoreBackend};
use crate::credentials::{Abilities, Ask, Credentials, EnvSources, PluginRef, Resolver, Stored};
use crate::error::{Error, PluginFailure, ProviderError};
use crate::interact::Interaction;
use crate::paths::Paths;
use crate::plugins::{
    API_KEY_METHOD, AccountInfo, MethodKind, Plugin, Plugins, account_from_wit, builtin,
    credential_from_wit, credential_to_wit, provider_error,
};
use crate::policy;
use crate::runtime::Reason;
use crate::store::JsonStore;

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
    config: Config,
    interaction: Arc<dyn Interaction>,
    plugins: Plugins,
    credentials: Credentials,
    /// Warnings logged so far, so that none is printed twice.
    warned: std::sync::Mutex<BTreeSet<String>>,
    /// Grants the user gave during this run (at `login`'s question), by
    /// plugin id: already written to `config.toml`, and in force at once.
    granted_now: std::sync::Mutex<BTreeMap<String, PluginConfig>>,
}

impl Host {
    /// Opens the host: reads `config.toml` (an invalid one is an error).
    pub fn open(options: HostOptions) -> Result<Host, Error> {
        let config = Config::load(&options.paths.config_file)?;
        let paths = options.paths;
        // Lock holders give a lock up within their plugin call's timeout.
        let lock_wait = crate::files::lock::longest_wait(config.limits.call_timeout_ms);
        Ok(Host {
            plugins: Plugins::new(
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
            ),
            credentials: Credentials::new(
                CredentialStore::new(
                    JsonStore::new(&paths.store_file).lock_wait(lock_wait),
                    options.store.unwrap_or(config.store.backend),
                ),
                JsonStore::new(paths.resolved_cache_file()).lock_wait(lock_wait),
                paths.locks_dir(),
                lock_wait,
                config.credentials.refresh_margin_s.saturating_mul(1000),
                EnvSources {
                    vars: config
                        .providers
                        .iter()
                        .filter_map(|(name, p)| Some((name.clone(), p.env.clone()?)))
                        .collect(),
                    environment: options.environment,
                },
            ),
            interaction: options.interaction,
            config,
            paths,
            warned: Default::default(),
            granted_now: Default::default(),
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
        self.credentials.token(provider, ask, self).await
    }

    /// The environment variable for `provider`'s key in other tools (what
    /// `authhost exec` sets): its `[providers.X] env`, else the catalog's
    /// (`ANTHROPIC_API_KEY`, …); `None` when neither names one.
    pub fn env_var(&self, provider: &str) -> Option<String> {
        self.config
            .providers
            .get(provider)
            .and_then(|p| p.env.clone())
            .or_else(|| crate::catalog::get(provider).and_then(|e| e.env.clone()))
    }

    /// Logs in to `provider` and stores (or, for helpers, caches) the
    /// credential. Nothing is stored when the login fails.
    pub async fn login(
        &self,
        provider: &str,
        options: LoginOptions,
    ) -> Result<LoginOutcome, Error> {
        let plugin = self.plugin_for(provider).await?;
        let methods = &plugin.metadata.methods;
        let method = match &options.method {
            None => methods
                .first()
                .expect("every plugin has the api-key method"),
            Some(id) => {
                methods
                    .iter()
                    .find(|m| &m.id == id)
                    .ok_or_else(|| Error::UnknownMethod {
                        provider: provider.to_owned(),
                        method: crate::sanitize::plugin_text(id, 64),
                        available: methods
                            .iter()
                            .map(|m| m.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?
            }
        };
        if method.id == API_KEY_METHOD && !plugin.metadata.implements(API_KEY_METHOD) {
            return self
                .login_with_pasted_key(provider, &plugin.reference(), options.force)
                .await;
        }
        self.offer_grants(&plugin, provider).await?;
        if method.kind == MethodKind::Helper {
            self.credentials.resolve_at_login(provider, self).await?;
            return Ok(LoginOutcome {
                kind: CredentialKind::Api,
                saved: Saved::Cached(self.credentials.cached_until(provider)),
                replaced: false,
                warnings: Vec::new(),
            });
        }
        let mut instance = self.instance(&plugin, provider).await?;
        let mut plugin_options = Vec::new();
        if options.no_browser {
            plugin_options.push(("no-browser".to_owned(), "true".to_owned()));
        }
        let id = &plugin.metadata.id;
        let credential = instance
            .login(&method.id, &plugin_options)
            .await
            .map_err(|f| Error::plugin_call(provider, id, f))?
            .map_err(|e| provider_error(provider, e, &instance.denied()))?;
        let credential = credential_from_wit(id, credential)?;
        let kind = credential.kind();
        let replaced = self.credentials.stored_entry(provider)?.is_some();
        // A plugin that resolves derives its tokens from what its login
        // returned (WIT 0.2.0 on): that is kept, not printed by `token`.
        let resolve = plugin.metadata.resolves && plugin.metadata.resolves_from_stored;
        self.credentials
            .store(
                provider,
                Stored {
                    resolve,
                    ..Stored::plain(credential, &plugin.reference())
                },
            )
            .await?;
        Ok(LoginOutcome {
            kind,
            saved: Saved::Stored,
            replaced,
            warnings: Vec::new(),
        })
    }

    /// Before a folder plugin logs in: when it lacks capabilities it
    /// requests for `provider` (with `http:{OPTION}` filled in from this
    /// provider's options), asks the user at a terminal whether to grant
    /// exactly those; a yes records them in `config.toml` (bound to the
    /// plugin's file) and puts them in force for this run. Without a
    /// terminal nothing is asked: a call that needs them is denied, naming
    /// the grant.
    async fn offer_grants(&self, plugin: &Plugin, provider: &str) -> Result<(), Error> {
        let config = self.config_now();
        let decision = policy::decide(
            plugin,
            provider,
            config.provider(provider).as_deref(),
            &config,
        );
        if decision.missing.is_empty() || !decision.invalid.is_empty() {
            return Ok(());
        }
        let id = &plugin.metadata.id;
        let question = crate::capability::grant_question(id, Some(provider), &decision.missing);
        if self.interaction.confirm(&question).await != Some(true) {
            return Ok(());
        }
        crate::config::add_grants(
            &self.paths.config_file,
            id,
            &decision.missing,
            Some(&plugin.digest),
        )?;
        let mut granted = self.granted_now.lock().unwrap_or_else(|e| e.into_inner());
        let entry = granted.entry(id.clone()).or_insert_with(|| {
            let mut settings = config.plugins.get(id).cloned().unwrap_or_default();
            if settings.sha256.as_deref() != Some(plugin.digest.as_str()) {
                // The old grants were for another build: `add_grants`
                // rebinds the table to this one.
                settings.sha256 = Some(plugin.digest.clone());
            }
            settings
        });
        entry.grant.extend(decision.missing);
        Ok(())
    }

    /// The configuration with the grants given during this run.
    fn config_now(&self) -> std::borrow::Cow<'_, Config> {
        let granted = self.granted_now.lock().unwrap_or_else(|e| e.into_inner());
        if granted.is_empty() {
            return std::borrow::Cow::Borrowed(&self.config);
        }
        let mut config = self.config.clone();
        for (id, settings) in granted.iter() {
            config.plugins.insert(id.clone(), settings.clone());
        }
        std::borrow::Cow::Owned(config)
    }

    /// Reads a key the user pastes (or pipes), checks it, and stores it,
    /// recorded as made by `plugin` (the provider's). A stored credential
    /// is replaced only with `force`, or when the user confirms at a
    /// terminal, or when nobody can be asked (a script).
    async fn login_with_pasted_key(
        &self,
        provider: &str,
        plugin: &PluginRef,
        force: bool,
    ) -> Result<LoginOutcome, Error> {
        let entry = crate::catalog::get(provider);
        let label = match entry {
            Some(entry) => format!("API key for {}: ", entry.name),
            None => format!("API key for {provider}: "),
        };
        let replaced = match self.credentials.stored_entry(provider)? {
            Some(stored) if !force => {
                let question = format!(
                    "{provider} already has a stored {}. Replace it?",
                    stored.credential.kind()
                );
                if self.interaction.confirm(&question).await == Some(false) {
                    return Err(Error::Cancelled);
                }
                true
            }
            Some(_) => true,
            None => false,
        };
        let Some(key) = self.interaction.prompt(&label, true).await else {
            return Err(Error::NoKeyGiven(provider.to_owned()));
        };
        let key = check_pasted_key(provider, key)?;
        let warnings = entry
            .and_then(|e| e.prefix_warning(key.expose_secret()))
            .into_iter()
            .collect();
        self.credentials.store_key(provider, key, plugin).await?;
        Ok(LoginOutcome {
            kind: CredentialKind::Api,
            saved: Saved::Stored,
            replaced,
            warnings,
        })
    }

    /// Logs out of `provider`: revokes the stored credential at the service
    /// when its plugin can (`revoke`), then removes the stored and cached
    /// credentials. They are removed even when revoking fails; the outcome
    /// says so. A credential another plugin made is not handed to the
    /// provider's plugin to revoke: it is only removed, and the outcome
    /// says why it was not revoked.
    pub async fn logout(&self, provider: &str) -> Result<LogoutOutcome, Error> {
        let stored = self.credentials.stored_entry(provider)?;
        let mut outcome = LogoutOutcome::default();
        let plugin = match self.plugin_for(provider).await {
            Ok(plugin) => Some(plugin),
            // A credential stored for a provider whose plugin is gone can
            // still be removed.
            Err(Error::UnknownProvider { .. } | Error::UnknownPlugin { .. })
                if stored.is_some() =>
            {
                None
            }
            Err(error) => return Err(error),
        };
        let made_by_another = match (&plugin, &stored) {
            (Some(plugin), Some(stored)) => stored.made_by_another(&plugin.reference()),
            _ => None,
        };
        if let Some(why) = made_by_another {
            outcome.revoke_skipped = Some(format!(
                "the credential was made by {why}; authhost hands no plugin another plugin's credential"
            ));
        } else if let (Some(plugin), Some(stored)) = (&plugin, &stored)
            && plugin.metadata.revokes
        {
            match self
                .revoke_at_service(plugin, provider, &stored.credential)
                .await
            {
                Ok(()) => outcome.revoked = true,
                Err(error) => outcome.revoke_error = Some(error.to_string()),
            }
        }
        outcome.removed = self.credentials.remove(provider).await?;
        Ok(outcome)
    }

    async fn revoke_at_service(
        &self,
        plugin: &Plugin,
        provider: &str,
        credential: &Credential,
    ) -> Result<(), Error> {
        let id = &plugin.metadata.id;
        let mut instance = self.instance(plugin, provider).await?;
        instance
            .revoke(&credential_to_wit(credential))
            .await
            .map_err(|f| Error::plugin_call(provider, id, f))?
            .map_err(|e| provider_error(provider, e, &instance.denied()))
    }

    /// Every known provider: configured ones, one per plugin, and any with
    /// a stored credential. Reads local state only: runs no plugin.
    pub async fn list(&self) -> Result<Vec<ProviderStatus>, Error> {
        let stored = self.credentials.stored()?;
        let cached = self.credentials.fresh_cached();
        let plugins = self.loaded_plugins().await;
        let names: BTreeSet<&String> = self
            .config
            .providers
            .keys()
            .chain(plugins.keys())
            .chain(stored.keys())
            .collect();
        Ok(names
            .into_iter()
            .map(|name| self.status_of(name, stored.get(name), cached.get(name), &plugins))
            .collect())
    }

    /// The state of one provider, from local files only (runs no plugin).
    pub async fn status(&self, provider: &str) -> Result<ProviderStatus, Error> {
        let stored = self.credentials.stored()?;
        let cached = self.credentials.fresh_cached();
        let known = self.config.providers.contains_key(provider) || stored.contains_key(provider);
        let plugins = self.loaded_plugins().await;
        if !known && !plugins.contains_key(self.config.plugin_of(provider)) {
            return Err(self.unknown_provider(provider).await);
        }
        Ok(self.status_of(
            provider,
            stored.get(provider),
            cached.get(provider),
            &plugins,
        ))
    }

    /// Asks the provider's service about its credential (the plugin's
    /// `check`): whom it belongs to, when it expires, limits or usage.
    /// Obtains a usable credential first, as [`Host::token`] does (a helper
    /// is run afresh, an expiring login refreshed). `None` when the plugin
    /// cannot check credentials.
    pub async fn check(&self, provider: &str) -> Result<Option<AccountInfo>, Error> {
        let plugin = self.plugin_for(provider).await?;
        if !plugin.metadata.checks {
            return Ok(None);
        }
        let plain_stored = |s: &Option<Stored>| s.as_ref().is_some_and(|s| !s.resolve);
        let helper =
            plugin.metadata.resolves && !plain_stored(&self.credentials.stored_entry(provider)?);
        let token = self
            .token(provider, TokenOptions::default().refresh(helper))
            .await?;
        let credential = match self.credentials.stored_entry(provider)? {
            Some(stored) if !stored.resolve => {
                stored.check_made_by(provider, &plugin.reference())?;
                stored.credential
            }
            _ => self
                .credentials
                .cached(provider)
                .unwrap_or_else(|| Credential::Api {
                    key: token.secret().clone(),
                    extra: Default::default(),
                }),
        };
        let id = &plugin.metadata.id;
        let mut instance = self.instance(&plugin, provider).await?;
        let info = instance
            .check(&credential_to_wit(&credential))
            .await
            .map_err(|f| Error::plugin_call(provider, id, f))?
            .map_err(|e| provider_error(provider, e, &instance.denied()))?;
        Ok(Some(account_from_wit(info)))
    }

    /// The plugins that loaded, by id.
    async fn loaded_plugins(&self) -> BTreeMap<String, Arc<Plugin>> {
        let mut plugins = BTreeMap::new();
        for (id, plugin) in self.plugins.builtins().await {
            if let Ok(plugin) = plugin {
                plugins.insert(id.to_owned(), plugin);
            }
        }
        for plugin in &self.plugins.folder().await.plugins {
            plugins.insert(plugin.metadata.id.clone(), plugin.clone());
        }
        plugins
    }

    fn status_of(
        &self,
        name: &str,
        stored: Option<&serde_json::Value>,
        cached: Option<&serde_json::Value>,
        plugins: &BTreeMap<String, Arc<Plugin>>,
    ) -> ProviderStatus {
        let plugin_id = self.config.plugin_of(name).to_owned();
        let plugin = plugins.get(&plugin_id);
        let metadata = plugin.map(|p| &p.metadata);
        // Names come from auth.json too, which other tools write: shown
        // only through the sanitiser (a valid name is left as it is).
        let mut status = ProviderStatus {
            provider: crate::sanitize::plugin_text(name, 200),
            plugin: crate::sanitize::plugin_text(&plugin_id, 200),
            wit_version: plugin.map(|p| p.wit_version.clone()),
            configured: self.config.providers.contains_key(name),
            credential: None,
            stored_in: None,
            derived: false,
            expires: None,
            refreshable: false,
            extra: BTreeMap::new(),
            helper: metadata.is_some_and(|m| m.resolves),
            from_env: self.credentials.env_source(name).map(str::to_owned),
            env: self.env_var(name),
            cached: cached.is_some(),
            cached_until: cached
                .and_then(|c| c.get("until"))
                .and_then(|u| u.as_u64())
                .map(crate::credential::clamp_expiry),
            needs_login: false,
            made_by_another: None,
            granted: Vec::new(),
            missing: Vec::new(),
            error: None,
        };
        match stored.map(|v| serde_json::from_value::<Stored>(v.clone())) {
            None => {}
            Some(Ok(entry)) => {
                status.made_by_another =
                    plugin.and_then(|plugin| entry.made_by_another(&plugin.reference()));
                let c = &entry.credential;
                status.credential = Some(c.kind());
                status.stored_in = self.credentials.stored_in(name).ok().flatten();
                status.derived = entry.resolve;
                status.expires = c.expires();
                status.refreshable = c.has_refresh_token() && metadata.is_some_and(|m| m.refreshes);
                status.extra = c
                    .extra()
                    .pairs()
                    .map(|(k, v)| {
                        (
                            crate::sanitize::plugin_text(k, 64),
                            crate::sanitize::plugin_text(v, 200),
                        )
                    })
                    .collect();
            }
            Some(Err(_)) => {
                status.error = Some("its entry in the credential store is not readable".into());
            }
        }
        match plugin {
            None => status.error = Some(format!("plugin `{}` is not installed", status.plugin)),
            Some(plugin) => {
                let decision = policy::decide(
                    plugin,
                    name,
                    self.config.provider(name).as_deref(),
                    &self.config,
                );
                if let Err(error) = self.check_options(name, plugin) {
                    status.error = Some(match error {
                        Error::Config { message, .. } => message,
                        other => other.to_string(),
                    });
                } else if !decision.invalid.is_empty() {
                    status.error = Some(decision.invalid.join("; "));
                }
                status.granted = decision.effective;
                status.missing = decision.missing;
            }
        }
        let expired = status
            .expires
            .is_some_and(|e| e <= crate::credential::now_ms());
        if status.made_by_another.is_some() {
            status.refreshable = false;
        }
        status.needs_login = status.error.is_none()
            && status.from_env.is_none()
            && match status.credential {
                None => !status.helper,
                Some(_) if status.made_by_another.is_some() => true,
                Some(_) => expired && !status.refreshable && !status.derived,
            };
        status
    }

    /// Creates the plugins folder (mode 0700) when it is missing, so that
    /// the user sees where to put a plugin.
    pub fn create_plugins_dir(&self) -> Result<(), Error> {
        crate::store::create_private_dir(&self.paths.plugins_dir)
    }

    /// Every plugin, built-in first, with its grants and load errors.
    pub async fn plugins(&self) -> Result<Vec<PluginInfo>, Error> {
        let mut infos = Vec::new();
        for (id, plugin) in self.plugins.builtins().await {
            infos.push(match plugin {
                Ok(plugin) => self.info(&plugin),
                Err(failure) => failed_info(id, "built-in".into(), &failure),
            });
        }
        let folder = self.plugins.folder().await;
        infos.extend(folder.plugins.iter().map(|p| self.info(p)));
        for (path, failure) in &folder.failures {
            infos.push(failed_info(&file_name(path), display(path), failure));
        }
        Ok(infos)
    }

    /// Examines a component file as the plugins folder would: validates,
    /// compiles and links it, and calls only its `describe` export, with no
    /// capability granted. Never runs `login` or `resolve`.
    pub async fn inspect(&self, path: &Path) -> Inspection {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut info = match self.plugins.inspect_file(path).await {
            Ok(plugin) => self.info(&plugin),
            Err(failure) => failed_info(&file_name(path), display(path), &failure),
        };
        if info.error.is_none() && builtin(&info.id).is_some() {
            info.error = Some(format!(
                "its id `{}` clashes with a built-in plugin",
                info.id
            ));
        }
        Inspection {
            size,
            would_load: info.error.is_none(),
            info,
        }
    }

    /// Grants `capabilities` to the folder plugin `id` in `config.toml`
    /// (keeping the file's comments and formatting), bound to the plugin's
    /// current file: the grants are suspended when the file changes.
    /// Returns the capabilities that were not granted yet.
    pub async fn grant(
        &self,
        id: &str,
        capabilities: &[Capability],
    ) -> Result<Vec<Capability>, Error> {
        if builtin(id).is_some() {
            return Err(Error::Config {
                path: self.paths.config_file.clone(),
                message: format!(
                    "`{id}` is a built-in plugin; its capabilities are fixed in authhost"
                ),
            });
        }
        let digest = self.plugins.get(id).await?.map(|p| p.digest.clone());
        crate::config::add_grants(&self.paths.config_file, id, capabilities, digest.as_deref())
    }

    /// Takes `capabilities` back from the folder plugin `id` in
    /// `config.toml`; returns those it had.
    pub async fn revoke(
        &self,
        id: &str,
        capabilities: &[Capability],
    ) -> Result<Vec<Capability>, Error> {
        crate::config::remove_grants(&self.paths.config_file, id, capabilities)
    }

    /// What the folder plugin `id` requests, with `http:{OPTION}` requests
    /// expanded for `provider`, or, without one, for every provider
    /// instance that uses the plugin (the provider named like it when none
    /// does): the exact capabilities to grant. An option that is not an
    /// http(s) URL is an error naming the provider and the option.
    pub async fn requested(
        &self,
        id: &str,
        provider: Option<&str>,
    ) -> Result<Vec<Capability>, Error> {
        let Some(plugin) = self.plugins.get(id).await? else {
            return Err(Error::UnknownPlugin {
                provider: provider.unwrap_or(id).to_owned(),
                plugin: id.to_owned(),
            });
        };
        self.requests_of(&plugin, provider)
    }

    /// [`Host::requested`] for a described plugin.
    fn requests_of(
        &self,
        plugin: &Plugin,
        provider: Option<&str>,
    ) -> Result<Vec<Capability>, Error> {
        let id = plugin.metadata.id.as_str();
        let names: Vec<&str> = match provider {
            Some(name) if self.config.plugin_of(name) != id => {
                return Err(Error::Config {
                    path: self.paths.config_file.clone(),
                    message: format!(
                        "provider `{name}` uses plugin `{}`, not `{id}`",
                        self.config.plugin_of(name)
                    ),
                });
            }
            Some(name) => vec![name],
            None => self.providers_of(id),
        };
        let mut requested: Vec<Capability> = Vec::new();
        for name in names {
            let (caps, invalid) = policy::expand(
                &plugin.metadata.requested,
                name,
                self.config.provider(name).as_deref(),
            );
            if !invalid.is_empty() {
                return Err(Error::Config {
                    path: self.paths.config_file.clone(),
                    message: invalid.join("; "),
                });
            }
            for cap in caps {
                if !requested.contains(&cap) {
                    requested.push(cap);
                }
            }
        }
        Ok(requested)
    }

    /// The configured provider instances that use plugin `id`, or the
    /// provider named like it when none does.
    fn providers_of<'a>(&'a self, id: &'a str) -> Vec<&'a str> {
        let names: Vec<&str> = self
            .config
            .providers
            .keys()
            .map(String::as_str)
            .filter(|name| self.config.plugin_of(name) == id)
            .collect();
        if names.is_empty() { vec![id] } else { names }
    }

    /// Installs the component file at `path` in the plugins folder (see
    /// `authhost plugins install`): it must load and describe itself; it
    /// is copied atomically, owner-only, as `ID.wasm`, and compiled once.
    /// A different plugin with the same id, or in that file, is replaced
    /// only with `force`. Grants nothing: see [`Host::grant_installed`].
    pub async fn install(&self, path: &Path, force: bool) -> Result<Installed, Error> {
        let installed = self.plugins.install(path, force).await?;
        let requested = self.requests_of(&installed.plugin, None)?;
        let info = self.info(&installed.plugin);
        let templates = installed
            .plugin
            .metadata
            .requested
            .iter()
            .filter(|r| matches!(r, crate::capability::Request::HttpFromOption { .. }))
            .cloned()
            .collect();
        Ok(Installed {
            info,
            file: installed.file,
            replaced: installed.replaced,
            unchanged: installed.unchanged,
            requested,
            templates,
            digest: installed.plugin.digest.clone(),
        })
    }

    /// Grants an installed plugin everything it requests
    /// ([`Installed::requested`]), bound to the installed file. Returns
    /// the capabilities that were not granted yet.
    pub fn grant_installed(&self, installed: &Installed) -> Result<Vec<Capability>, Error> {
        crate::config::add_grants(
            &self.paths.config_file,
            &installed.info.id,
            &installed.requested,
            Some(&installed.digest),
        )
    }

    /// Removes the folder plugin `id` (see `authhost plugins remove`): its
    /// file (every file that reports the id), its compiled code, its
    /// entries in the plugins index and its `[plugins.ID]` grants. A
    /// built-in is refused. Credentials stored for its providers are kept.
    pub async fn remove_plugin(&self, id: &str) -> Result<Removed, Error> {
        let files = self.plugins.remove(id).await?;
        let grants_removed = crate::config::remove_plugin_table(&self.paths.config_file, id)?;
        if files.is_empty() && !grants_removed {
            return Err(Error::UnknownPlugin {
                provider: id.to_owned(),
                plugin: crate::sanitize::short(id),
            });
        }
        Ok(Removed {
            files: files.into_iter().map(|(file, _)| file).collect(),
            grants_removed,
        })
    }

    fn info(&self, plugin: &Plugin) -> PluginInfo {
        let id = &plugin.metadata.id;
        let decision = policy::decide(
            plugin,
            id,
            self.config.provider(id).as_deref(),
            &self.config,
        );
        PluginInfo {
            id: id.clone(),
            source: plugin.source.describe(),
            wit_version: Some(plugin.wit_version.clone()),
            metadata: Some(plugin.metadata.clone()),
            programs: programs(decision.effective.iter().chain(&decision.missing)),
            granted: decision.effective,
            missing: decision.missing,
            grants_suspended: decision.suspended,
            error: None,
        }
    }

    /// A fresh instance of `plugin` for `provider`, with its grants in
    /// force.
    async fn instance(
        &self,
        plugin: &Plugin,
        provider: &str,
    ) -> Result<crate::runtime::Instance, Error> {
        self.check_options(provider, plugin)?;
        let provider_config = self.config.provider(provider);
        let provider_config = provider_config.as_deref();
        let config_json = provider_config
            .map(|p| serde_json::Value::Object(p.options.clone()).to_string())
            .unwrap_or_else(|| "{}".into());
        let decision = policy::decide(plugin, provider, provider_config, &self.config_now());
        if !decision.invalid.is_empty() {
            return Err(Error::Config {
                path: self.paths.config_file.clone(),
                message: decision.invalid.join("; "),
            });
        }
        if let Some(reason) = &decision.suspended {
            self.warn_once(reason);
        }
        let mut instance = self.plugins.instance(plugin, provider, config_json).await?;
        instance.grant(decision.granter(&plugin.metadata.id));
        Ok(instance)
    }

    /// Logs `warning` unless this host has logged it already (a command
    /// that runs a plugin twice, e.g. `status --check`, says it once).
    fn warn_once(&self, warning: &str) {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if warned.insert(warning.to_owned()) {
            tracing::warn!("{warning}");
        }
    }

    /// Refuses keys of `[providers.NAME]` that the provider's plugin does
    /// not read (when its metadata says which it reads): a typo such as
    /// `comand` is named with the table and the file before the plugin runs.
    fn check_options(&self, provider: &str, plugin: &Plugin) -> Result<(), Error> {
        let (Some(table), Some(known)) = (
            self.config.providers.get(provider),
            &plugin.metadata.options,
        ) else {
            return Ok(());
        };
        let Some(unknown) = table.options.keys().find(|k| !known.contains(k)) else {
            return Ok(());
        };
        let shown = |k: &str| crate::sanitize::plugin_text(k, 64);
        let known_set: BTreeSet<String> = known.iter().cloned().collect();
        let hint = match closest(unknown, &known_set) {
            Some(near) => format!("; did you mean `{}`?", shown(&near)),
            None => String::new(),
        };
        let reads = match known.as_slice() {
            [] => "no options".to_owned(),
            keys => keys
                .iter()
                .map(|k| format!("`{}`", shown(k)))
                .collect::<Vec<_>>()
                .join(", "),
        };
        Err(Error::Config {
            path: self.paths.config_file.clone(),
            message: format!(
                "[providers.{provider}] has an unknown key `{}`{hint} (plugin `{}` reads {reads})",
                shown(unknown),
                plugin.metadata.id
            ),
        })
    }

    /// The plugin implementing `provider`.
    async fn plugin_for(&self, provider: &str) -> Result<Arc<Plugin>, Error> {
        let plugin_id = self.config.plugin_of(provider);
        match self.plugins.get(plugin_id).await? {
            Some(plugin) => Ok(plugin),
            None if self.config.providers.contains_key(provider) => Err(Error::UnknownPlugin {
                provider: provider.to_owned(),
                plugin: plugin_id.to_owned(),
            }),
            None => Err(self.unknown_provider(provider).await),
        }
    }

    /// The error for a provider name authhost does not know, with the
    /// closest known name when one is close (a typo).
    async fn unknown_provider(&self, provider: &str) -> Error {
        let mut known: BTreeSet<String> = self.config.providers.keys().cloned().collect();
        known.extend(crate::catalog::entries().iter().map(|e| e.id.clone()));
        known.extend(
            crate::plugins::INTERNAL_PLUGINS
                .iter()
                .map(|b| b.id.to_owned()),
        );
        known.extend(
            self.credentials
                .stored()
                .unwrap_or_default()
                .keys()
                .cloned(),
        );
        known.extend(
            self.plugins
                .folder()
                .await
                .plugins
                .iter()
                .map(|p| p.metadata.id.clone()),
        );
        Error::UnknownProvider {
            provider: crate::sanitize::short(provider),
            suggestion: closest(provider, &known),
        }
    }
}

/// A pasted key, trimmed; refused with a reason (never the key itself)
/// when it is empty or has spaces or control characters inside.
fn check_pasted_key(provider: &str, key: String) -> Result<SecretString, Error> {
    let key = SecretString::from(key.trim().to_owned());
    if key.expose_secret().is_empty() {
        return Err(Error::NoKeyGiven(provider.to_owned()));
    }
    check_key(provider, key, "the pasted key")
}

/// `key`, to be stored as `provider`'s API key, as it is (not trimmed);
/// refused with a reason (never the key itself) when it is empty or has a
/// space or a control character anywhere. `what` names where it came
/// from in the message: "the pasted key".
fn check_key(provider: &str, key: SecretString, what: &str) -> Result<SecretString, Error> {
    let refuse = |why: &str| Error::Provider {
        provider: provider.to_owned(),
        error: ProviderError::Other(format!("{what} {why}; nothing was stored")),
    };
    let text = key.expose_secret();
    if text.is_empty() {
        return Err(refuse("is empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(refuse(
            "contains a control character (a terminal escape or a tab?)",
        ));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(refuse("contains a space or a line break"));
    }
    Ok(key)
}

/// The name in `known` closest to `name`, when it is close enough to be a
/// typo of it.
fn closest(name: &str, known: &BTreeSet<String>) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(name, k), k))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

/// The plugin side of [`Credentials::token`].
impl Resolver for Host {
    fn plugin_id<'a>(&'a self, provider: &'a str) -> &'a str {
        self.config.plugin_of(provider)
    }

    async fn abilities(&self, provider: &str) -> Result<Abilities, Error> {
        let plugin = self.plugin_for(provider).await?;
        let metadata = &plugin.metadata;
        Ok(Abilities {
            plugin: plugin.reference(),
            resolves: metadata.resolves,
            refreshes: metadata.refreshes,
            resolves_from_stored: metadata.resolves_from_stored,
        })
    }

    async fn resolve(
        &self,
        provider: &str,
        reason: Reason,
        stored: Option<&Credential>,
    ) -> Result<(Credential, Option<u64>), Error> {
        let plugin = self.plugin_for(provider).await?;
        let id = &plugin.metadata.id;
        let mut instance = self.instance(&plugin, provider).await?;
        let stored = stored.map(credential_to_wit);
        let resolved = instance
            .resolve(reason, stored.as_ref())
            .await
            .map_err(|f| Error::plugin_call(provider, id, f))?
            .map_err(|e| provider_error(provider, e, &instance.denied()))?;
        let credential = credential_from_wit(id, resolved.credential)?;
        Ok((credential, resolved.cache_until))
    }

    async fn refresh(&self, provider: &str, stored: &Credential) -> Result<Credential, Error> {
        let plugin = self.plugin_for(provider).await?;
        let id = &plugin.metadata.id;
        let mut instance = self.instance(&plugin, provider).await?;
        let renewed = instance
            .refresh(&credential_to_wit(stored))
            .await
            .map_err(|f| Error::plugin_call(provider, id, f))?
            .map_err(|e| provider_error(provider, e, &instance.denied()))?;
        credential_from_wit(id, renewed)
    }
}

fn failed_info(id: &str, source: String, failure: &PluginFailure) -> PluginInfo {
    PluginInfo {
        id: id.to_owned(),
        source,
        wit_version: None,
        metadata: None,
        granted: Vec::new(),
        missing: Vec::new(),
        grants_suspended: None,
        programs: Vec::new(),
        error: Some(crate::sanitize::short(&failure.to_string())),
    }
}

/// The file each `process:NAME` capability in `capabilities` runs.
fn programs<'a>(
    capabilities: impl Iterator<Item = &'a Capability>,
) -> Vec<(String, Option<std::path::PathBuf>)> {
    let mut out: Vec<(String, Option<std::path::PathBuf>)> = Vec::new();
    for capability in capabilities {
        if let Capability::Process(Some(name)) = capability
            && !out.iter().any(|(known, _)| known == name)
        {
            out.push((name.clone(), crate::process::resolve_program(name)));
        }
    }
    out
}

/// A file's name, safe to print.
fn file_name(path: &Path) -> String {
    crate::sanitize::short(&path.file_name().unwrap_or_default().to_string_lossy())
}

/// A path, safe to print.
fn display(path: &Path) -> String {
    crate::sanitize::short(&path.display().to_string())
}
