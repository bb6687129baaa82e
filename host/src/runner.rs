//! Running a provider's plugin: the one place that finds the plugin of a
//! provider, checks its options, decides its grants
//! ([`crate::capability::policy`]) and makes an instance with them in force.
//!
//! Both the [`crate::Host`] facade (login, logout, check) and the token
//! path ([`crate::token`], through [`Resolver`]) run plugins through a
//! [`Runner`]; neither calls back into the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::capability::policy;
use crate::config::{Config, PluginConfig};
use crate::error::Error;
use crate::events::{Event, Events};
use crate::plugins::{
    Plugin, PluginSource, Plugins, credential_from_wit, credential_to_wit, provider_error,
};
use crate::provider::Provider;
use crate::runtime::Reason;
use crate::store::Store;
use crate::store::credential::Credential;
use crate::token::{Abilities, Resolver};

/// The configuration, the plugin registry, and what this run granted.
pub(crate) struct Runner {
    /// `config.toml` as read at open.
    pub config: Config,
    /// The file `config` came from, for errors that name it.
    pub config_file: PathBuf,
    /// Built-in and folder plugins.
    pub plugins: Plugins,
    /// The credential store, for the names a did-you-mean considers.
    pub store: Arc<dyn Store>,
    /// Warnings logged so far, so that none is printed twice.
    pub warned: std::sync::Mutex<BTreeSet<String>>,
    /// Grants the user gave during this run (at `login`'s question), by
    /// plugin id: already written to `config.toml`, and in force at once.
    pub granted_now: std::sync::Mutex<BTreeMap<String, PluginConfig>>,
    /// The embedding program's event hook.
    pub events: Events,
}

impl Runner {
    /// The configuration with the grants given during this run.
    pub(crate) fn config_now(&self) -> std::borrow::Cow<'_, Config> {
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

    /// Provider `name`, resolved against the configuration.
    pub(crate) fn provider<'a>(&'a self, name: &'a str) -> Provider<'a> {
        Provider::resolve(name, &self.config)
    }

    /// A fresh instance of `plugin` for `provider`, with its grants in
    /// force.
    pub(crate) async fn instance(
        &self,
        plugin: &Plugin,
        provider: &Provider<'_>,
    ) -> Result<crate::runtime::Instance, Error> {
        self.check_options(provider, plugin)?;
        let decision = decide(plugin, provider, &self.config_now());
        if !decision.invalid.is_empty() {
            return Err(Error::Config {
                path: self.config_file.clone(),
                message: decision.invalid.join("; "),
            });
        }
        if let Some(reason) = &decision.suspended {
            self.warn_once(reason);
        }
        let mut instance = self
            .plugins
            .instance(plugin, provider.name(), provider.options_json())
            .await?;
        instance.grant(decision.granter(&plugin.metadata.id));
        Ok(instance)
    }

    /// Logs `warning` unless this host has logged it already (a command
    /// that runs a plugin twice, e.g. `status --check`, says it once).
    pub(crate) fn warn_once(&self, warning: &str) {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if warned.insert(warning.to_owned()) {
            tracing::warn!("{warning}");
        }
    }

    /// Refuses keys of `[providers.NAME]` that the provider's plugin does
    /// not read (when its metadata says which it reads): a typo such as
    /// `comand` is named with the table and the file before the plugin runs.
    pub(crate) fn check_options(
        &self,
        provider: &Provider<'_>,
        plugin: &Plugin,
    ) -> Result<(), Error> {
        let (Some(table), Some(known)) = (
            self.config.providers.get(provider.name()),
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
            path: self.config_file.clone(),
            message: format!(
                "[providers.{provider}] has an unknown key `{}`{hint} (plugin `{}` reads {reads})",
                shown(unknown),
                plugin.metadata.id
            ),
        })
    }

    /// The plugin implementing `provider`. A generic plugin's id
    /// (`api-key`) is no provider unless a table configures it.
    pub(crate) async fn plugin_for(&self, provider: &Provider<'_>) -> Result<Arc<Plugin>, Error> {
        if !provider.is_configured() && crate::plugins::is_generic(provider.name()) {
            return Err(Error::NotAProvider {
                name: provider.name().to_owned(),
            });
        }
        match self.plugins.get(provider.plugin()).await? {
            Some(plugin) => Ok(plugin),
            None if provider.is_configured() => Err(Error::UnknownPlugin {
                provider: provider.name().to_owned(),
                plugin: provider.plugin().to_owned(),
            }),
            None => Err(self.unknown_provider(provider.name()).await),
        }
    }

    /// The error for a provider name authhost does not know, with the
    /// closest known name when one is close (a typo).
    pub(crate) async fn unknown_provider(&self, provider: &str) -> Error {
        let known = self.provider_names().await;
        Error::UnknownProvider {
            provider: crate::sanitize::short(provider),
            suggestion: closest(provider, &known),
        }
    }

    /// Every name that is a provider: configured, in the catalog, stored,
    /// or a plugin that is itself a provider (not a generic one).
    pub(crate) async fn provider_names(&self) -> BTreeSet<String> {
        let mut known: BTreeSet<String> = self.config.providers.keys().cloned().collect();
        known.extend(crate::catalog::entries().iter().map(|e| e.id.clone()));
        known.extend(
            crate::plugins::INTERNAL_PLUGINS
                .iter()
                .map(|b| b.id.to_owned())
                .filter(|id| !crate::plugins::is_generic(id)),
        );
        known.extend(
            self.store
                .listing()
                .await
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
        known
    }

    /// What stands in the way of running provider `name`, found without
    /// running anything: an unknown name (with the closest known one), a
    /// generic plugin's id, a missing plugin, or a problem in its
    /// `[providers.NAME]` table. `None` when there is none.
    pub(crate) async fn problem(&self, name: &str) -> Option<Error> {
        let provider = self.provider(name);
        let plugin = match self.plugin_for(&provider).await {
            Ok(plugin) => plugin,
            Err(error) => return Some(error),
        };
        if let Err(error) = self.check_options(&provider, &plugin) {
            return Some(error);
        }
        let decision = decide(&plugin, &provider, &self.config);
        if !decision.invalid.is_empty() {
            return Some(Error::Config {
                path: self.config_file.clone(),
                message: decision.invalid.join("; "),
            });
        }
        None
    }
}

/// What `plugin` may do as `provider`, under the grants of `config` (see
/// [`policy::decide`]).
pub(crate) fn decide(
    plugin: &Plugin,
    provider: &Provider<'_>,
    config: &Config,
) -> policy::Decision {
    let subject = policy::Subject {
        id: &plugin.metadata.id,
        requested: &plugin.metadata.requested,
        builtin: matches!(plugin.source, PluginSource::Builtin),
        digest: &plugin.digest,
    };
    let user = config
        .plugins
        .get(&plugin.metadata.id)
        .map(|settings| policy::UserGrant {
            grant: &settings.grant,
            sha256: settings.sha256.as_deref(),
        });
    policy::decide(subject, provider.name(), provider.options(), user)
}

/// The plugin side of [`crate::token::Credentials::token`].
impl Resolver for Runner {
    fn plugin_id<'a>(&'a self, provider: &'a str) -> &'a str {
        self.config.plugin_of(provider)
    }

    async fn abilities(&self, provider: &str) -> Result<Abilities, Error> {
        let plugin = self.plugin_for(&self.provider(provider)).await?;
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
        let run = self.resolve_now(provider, reason, stored);
        self.observed(provider, "resolve", run).await
    }

    async fn refresh(&self, provider: &str, stored: &Credential) -> Result<Credential, Error> {
        let run = self.refresh_now(provider, stored);
        self.observed(provider, "refresh", run).await
    }
}

impl Runner {
    /// Runs `call`, the plugin `export` for `provider` (`login`, `resolve`,
    /// `refresh`, `check`, `revoke`), in a tracing span
    /// (`plugin`: provider, plugin, export; on close its outcome, an error
    /// code, and its latency in microseconds), and reports it to the
    /// event hook.
    pub(crate) async fn observed<T>(
        &self,
        provider: &str,
        export: &'static str,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        use tracing::Instrument;
        let plugin = self.plugin_id(provider);
        let started = std::time::Instant::now();
        let span = tracing::debug_span!(
            "plugin",
            provider,
            plugin,
            export,
            outcome = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        );
        let result = call.instrument(span.clone()).await;
        let elapsed = started.elapsed();
        span.record(
            "outcome",
            result.as_ref().map_or_else(Error::code, |_| "ok"),
        );
        span.record("elapsed_us", elapsed.as_micros() as u64);
        self.events.emit(|| Event::PluginRun {
            provider,
            plugin,
            export,
            elapsed,
            ok: result.is_ok(),
        });
        result
    }

    async fn resolve_now(
        &self,
        provider: &str,
        reason: Reason,
        stored: Option<&Credential>,
    ) -> Result<(Credential, Option<u64>), Error> {
        let resolved = self.provider(provider);
        let plugin = self.plugin_for(&resolved).await?;
        let id = &plugin.metadata.id;
        let mut instance = self.instance(&plugin, &resolved).await?;
        let stored = stored.map(credential_to_wit);
        let resolved = instance
            .resolve(reason, stored.as_ref())
            .await
            .map_err(|f| Error::plugin_call(provider, id, f))?
            .map_err(|e| provider_error(provider, e, &instance.denied()))?;
        let credential = credential_from_wit(id, resolved.credential)?;
        Ok((credential, resolved.cache_until))
    }

    async fn refresh_now(&self, provider: &str, stored: &Credential) -> Result<Credential, Error> {
        let resolved = self.provider(provider);
        let plugin = self.plugin_for(&resolved).await?;
        let id = &plugin.metadata.id;
        let mut instance = self.instance(&plugin, &resolved).await?;
        let renewed = instance
            .refresh(&credential_to_wit(stored))
            .await
            .map_err(|f| Error::plugin_call(provider, id, f))?
            .map_err(|e| provider_error(provider, e, &instance.denied()))?;
        credential_from_wit(id, renewed)
    }
}

/// The name in `known` closest to `name`, when it is close enough to be a
/// typo of it.
pub(crate) fn closest(name: &str, known: &BTreeSet<String>) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(name, k), k))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}
