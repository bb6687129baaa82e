//! A provider as the host resolves a name: the name, the plugin that
//! implements it, and its configuration, worked out once in one place.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use crate::config::{Config, ProviderConfig};

/// A provider: a name resolved against the configuration and the catalog.
///
/// The plugin is the one `[providers.NAME] plugin` names, else the
/// catalog's for a well-known provider, else the plugin named like the
/// provider; the configuration is the `[providers.NAME]` table laid over
/// the catalog entry's options. Get one with [`crate::Host::provider`].
#[derive(Clone)]
pub struct Provider<'a> {
    name: &'a str,
    plugin: &'a str,
    config: Option<Cow<'a, ProviderConfig>>,
    table: bool,
}

impl<'a> Provider<'a> {
    /// Provider `name` under `config`.
    pub(crate) fn resolve(name: &'a str, config: &'a Config) -> Provider<'a> {
        Provider {
            name,
            plugin: config.plugin_of(name),
            config: config.provider(name),
            table: config.providers.contains_key(name),
        }
    }

    /// The provider's name (the key of its table and of its stored
    /// credential).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The id of the plugin that implements it.
    pub fn plugin(&self) -> &'a str {
        self.plugin
    }

    /// Whether `config.toml` has a `[providers.NAME]` table for it.
    pub fn is_configured(&self) -> bool {
        self.table
    }

    /// The environment variable for its key in other tools (what `authhost
    /// exec` sets): `[providers.NAME] env`, else the catalog's; `None` when
    /// neither names one.
    pub fn env_var(&self) -> Option<String> {
        self.config
            .as_deref()
            .and_then(|c| c.env.clone())
            .or_else(|| crate::catalog::get(self.name).and_then(|e| e.env.clone()))
    }

    /// Its configuration (table over catalog entry), when it has any.
    pub(crate) fn config(&self) -> Option<&ProviderConfig> {
        self.config.as_deref()
    }

    /// The options its plugin reads, when it has any.
    pub(crate) fn options(&self) -> Option<&Map<String, Value>> {
        self.config().map(|c| &c.options)
    }

    /// Its options as the JSON object its plugin is given (`{}` when none).
    pub(crate) fn options_json(&self) -> String {
        self.options()
            .map(|o| Value::Object(o.clone()).to_string())
            .unwrap_or_else(|| "{}".into())
    }
}

impl fmt::Display for Provider<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Options may hold secrets (a client secret): never printed.
impl fmt::Debug for Provider<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("plugin", &self.plugin)
            .field("configured", &self.table)
            .finish_non_exhaustive()
    }
}
