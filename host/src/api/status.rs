//! [`Host::list`], [`Host::status`] and [`Host::check`]: what is configured
//! and stored, and whether a credential works.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{Host, ProviderStatus, TokenOptions};
use crate::error::Error;
use crate::plugins::{AccountInfo, Plugin, account_from_wit, credential_to_wit, provider_error};
use crate::runner;
use crate::store::Stored;
use crate::store::credential::Credential;

impl Host {
    /// The providers in use: configured ones, any with a stored
    /// credential, and the plugins that are themselves a provider
    /// (`openrouter`; not the generic `api-key`, `oauth2` and
    /// `shell-helper`, which a `[providers.NAME]` table puts to use).
    /// Reads local state only: runs no plugin.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use authhost::{CredentialKind, Host};
    ///
    /// let host = Host::builder().build()?;
    /// host.store_key("groq", "gsk-1".into()).await?;
    /// let listed = host.list().await?;
    /// let groq = listed.iter().find(|p| p.provider == "groq").unwrap();
    /// assert_eq!(groq.credential, Some(CredentialKind::Api));
    /// assert!(!groq.needs_login);
    /// # Ok::<(), authhost::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn list(&self) -> Result<Vec<ProviderStatus>, Error> {
        self.list_providers(false).await
    }

    /// As [`Host::list`], with every provider of the catalog too
    /// (`authhost list --all`): those one can log in to without any
    /// configuration.
    pub async fn list_all(&self) -> Result<Vec<ProviderStatus>, Error> {
        self.list_providers(true).await
    }

    async fn list_providers(&self, catalog: bool) -> Result<Vec<ProviderStatus>, Error> {
        let stored = self.credentials.stored().await?;
        let cached = self.credentials.fresh_cached();
        let plugins = self.loaded_plugins().await;
        let ready_plugins = plugins.keys().filter(|id| !crate::plugins::is_generic(id));
        let catalog_ids = crate::catalog::entries()
            .iter()
            .map(|e| &e.id)
            .filter(|_| catalog);
        let names: BTreeSet<&String> = self
            .runner
            .config
            .providers
            .keys()
            .chain(ready_plugins)
            .chain(stored.keys())
            .chain(catalog_ids)
            .collect();
        let mut statuses = Vec::with_capacity(names.len());
        for name in names {
            statuses.push(
                self.status_of(name, stored.get(name), cached.get(name), &plugins)
                    .await,
            );
        }
        Ok(statuses)
    }

    /// The state of one provider, from local files only (runs no plugin).
    pub async fn status(&self, provider: &str) -> Result<ProviderStatus, Error> {
        let stored = self.credentials.stored().await?;
        let cached = self.credentials.fresh_cached();
        let known =
            self.runner.config.providers.contains_key(provider) || stored.contains_key(provider);
        let plugins = self.loaded_plugins().await;
        if !known && crate::plugins::is_generic(provider) {
            return Err(Error::NotAProvider {
                name: provider.to_owned(),
            });
        }
        if !known && !plugins.contains_key(self.runner.config.plugin_of(provider)) {
            return Err(self.runner.unknown_provider(provider).await);
        }
        Ok(self
            .status_of(
                provider,
                stored.get(provider),
                cached.get(provider),
                &plugins,
            )
            .await)
    }

    /// Asks the provider's service about its credential (the plugin's
    /// `check`): whom it belongs to, when it expires, limits or usage.
    /// Obtains a usable credential first, as [`Host::token`] does (a helper
    /// is run afresh, an expiring login refreshed, a key in the provider's
    /// `env` variable taken as it is, as an API key), and checks that one.
    /// `None` when the plugin cannot check credentials.
    pub async fn check(&self, provider: &str) -> Result<Option<AccountInfo>, Error> {
        let resolved = self.runner.provider(provider);
        let plugin = self.runner.plugin_for(&resolved).await?;
        if !plugin.metadata.checks {
            return Ok(None);
        }
        let plain_stored = |s: &Option<Stored>| s.as_ref().is_some_and(|s| !s.resolve);
        let helper = plugin.metadata.resolves
            && !plain_stored(&self.credentials.stored_entry(provider).await?);
        let token = self
            .token(provider, TokenOptions::default().refresh(helper))
            .await?;
        // The credential `token` serves is the one checked: a key from the
        // provider's variable comes before anything stored.
        let from_env = self.credentials.env_source(provider).is_some();
        let credential = match self.credentials.stored_entry(provider).await? {
            _ if from_env => Credential::Api {
                key: token.secret().clone(),
                extra: Default::default(),
            },
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
        let run = async {
            let mut instance = self.runner.instance(&plugin, &resolved).await?;
            instance
                .check(&credential_to_wit(&credential))
                .await
                .map_err(|f| Error::plugin_call(provider, id, f))?
                .map_err(|e| provider_error(provider, e, &instance.denied()))
        };
        let info = self.runner.observed(provider, "check", run).await?;
        Ok(Some(account_from_wit(info)))
    }

    /// The plugins that loaded, by id.
    async fn loaded_plugins(&self) -> BTreeMap<String, Arc<Plugin>> {
        let mut plugins = BTreeMap::new();
        for (id, plugin) in self.runner.plugins.builtins().await {
            if let Ok(plugin) = plugin {
                plugins.insert(id.to_owned(), plugin);
            }
        }
        for plugin in &self.runner.plugins.folder().await.plugins {
            plugins.insert(plugin.metadata.id.clone(), plugin.clone());
        }
        plugins
    }

    async fn status_of(
        &self,
        name: &str,
        stored: Option<&serde_json::Value>,
        cached: Option<&serde_json::Value>,
        plugins: &BTreeMap<String, Arc<Plugin>>,
    ) -> ProviderStatus {
        let plugin_id = self.runner.config.plugin_of(name).to_owned();
        let plugin = plugins.get(&plugin_id);
        let metadata = plugin.map(|p| &p.metadata);
        // Names come from auth.json too, which other tools write: shown
        // only through the sanitiser (a valid name is left as it is).
        let mut status = ProviderStatus {
            provider: crate::sanitize::plugin_text(name, 200),
            plugin: crate::sanitize::plugin_text(&plugin_id, 200),
            wit_version: plugin.map(|p| p.wit_version.clone()),
            configured: self.runner.config.providers.contains_key(name),
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
                .map(crate::store::credential::clamp_expiry),
            needs_login: false,
            refresh_refused: None,
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
                status.stored_in = self.credentials.stored_in(name).await.ok().flatten();
                status.derived = entry.resolve;
                status.expires = c.expires();
                status.refreshable = c.has_refresh_token() && metadata.is_some_and(|m| m.refreshes);
                // A refusal recorded before this login was stored is about
                // an older one.
                status.refresh_refused = self
                    .credentials
                    .refused_renewal(name)
                    .filter(|at| entry.issued.is_none_or(|issued| issued <= *at));
                if status.refresh_refused.is_some() {
                    status.refreshable = false;
                }
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
            Some(Err(e)) => {
                let why = crate::store::json_file::redact_serde(&e);
                status.error = Some(format!(
                    "its entry in the credential store is not readable ({}): \
                     `authhost login {} --force` replaces it",
                    crate::sanitize::plugin_text(&why, 300),
                    status.provider
                ));
            }
        }
        match plugin {
            None => status.error = Some(format!("plugin `{}` is not installed", status.plugin)),
            Some(plugin) => {
                let decision =
                    runner::decide(plugin, &self.runner.provider(name), &self.runner.config);
                if let Err(error) = self
                    .runner
                    .check_options(&self.runner.provider(name), plugin)
                {
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
            .is_some_and(|e| e <= crate::store::credential::now_ms());
        if status.made_by_another.is_some() {
            status.refreshable = false;
        }
        status.needs_login = status.error.is_none()
            && status.from_env.is_none()
            && match status.credential {
                None => !status.helper,
                Some(_) if status.made_by_another.is_some() => true,
                Some(_) if status.refresh_refused.is_some() => true,
                Some(_) => expired && !status.refreshable && !status.derived,
            };
        status
    }
}
