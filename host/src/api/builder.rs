//! [`HostBuilder`]: a [`Host`] configured in code. `config.toml` is one
//! source the builder can read, not the only one: providers, grants,
//! limits, the store, the interaction and extra plugins can all be given
//! in code, and a host built with no paths at all touches no file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::config::{Config, Limits};
use crate::error::Error;
use crate::events::{Event, EventHook, Events};
use crate::interact::{Interaction, Silent};
use crate::paths::Paths;
use crate::plugins::Plugins;
use crate::runner::Runner;
use crate::store::json_file::JsonStore;
use crate::store::{StoreBackend, StoreSettings};
use crate::token::{Credentials, EnvSources};

use super::{Host, HostOptions};

/// What errors in configuration given in code are attributed to.
const IN_CODE: &str = "(configuration given in code)";

/// Builds a [`Host`] from configuration given in code, in the spirit of
/// wasmtime's `Config` and Extism's `PluginBuilder`: every setting is a
/// plain value, and nothing is read until [`HostBuilder::build`].
///
/// [`Host::builder`] starts with **no files at all**: an in-memory store,
/// no `config.toml`, no plugins folder, no cache on disk, and a
/// [`Silent`] interaction (a library never reads the terminal unless told
/// to). [`HostBuilder::home`] or [`HostBuilder::paths`] gives it the files
/// of an authhost installation, with `config.toml` as the first source of
/// configuration; what is set in code is laid over it.
///
/// ```
/// # async fn demo() -> Result<(), authhost::Error> {
/// use authhost::{Host, ProviderSettings, TokenOptions};
///
/// let host = Host::builder()
///     .provider("groq", ProviderSettings::new().env("GROQ_API_KEY"))
///     .provider(
///         "vault",
///         ProviderSettings::new()
///             .plugin("shell-helper")
///             .option("command", "printf sk-from-vault"),
///     )
///     .grant("shell-helper", ["process:printf"])
///     .build()?;
/// host.store_key("openai", "sk-in-memory".into()).await?;
/// let key = host.token("openai", TokenOptions::default()).await?;
/// assert_eq!(key.expose_secret(), "sk-in-memory");
/// # Ok(())
/// # }
/// ```
///
/// **Reloading.** A host reads its configuration once, when it is built.
/// To apply a changed configuration, build a new host and swap it in (an
/// `RwLock<Arc<Host>>` or the `arc-swap` crate): building reads at most one
/// small file and compiles nothing, and calls in flight finish on the host
/// they started on. Stored credentials are shared through the store, not
/// the host, so nothing is lost by the swap (except, with the in-memory
/// store, everything: keep that host).
#[must_use]
pub struct HostBuilder {
    paths: Option<Paths>,
    /// `None`: `config.toml` of `paths`; `Some(None)`: no file;
    /// `Some(Some(path))`: that file.
    config_file: Option<Option<PathBuf>>,
    config_texts: Vec<String>,
    providers: Vec<(String, ProviderSettings)>,
    grants: Vec<(String, Vec<String>)>,
    limits: Option<Limits>,
    refresh_margin: Option<Duration>,
    store: Option<StoreBackend>,
    store_settings: Option<StoreSettings>,
    store_url: Option<SecretString>,
    store_key: Option<SecretString>,
    interaction: Arc<dyn Interaction>,
    embedded: Vec<Arc<[u8]>>,
    instance_pool: bool,
    environment: Option<BTreeMap<String, String>>,
    compile_notices: bool,
    on_event: Option<EventHook>,
}

impl Default for HostBuilder {
    fn default() -> Self {
        HostBuilder::new()
    }
}

impl std::fmt::Debug for HostBuilder {
    // Provider options can hold secrets (a helper command): names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostBuilder")
            .field("paths", &self.paths)
            .field("config_file", &self.config_file)
            .field(
                "providers",
                &self.providers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("store", &self.store)
            .field("embedded_plugins", &self.embedded.len())
            .finish_non_exhaustive()
    }
}

impl HostBuilder {
    /// A builder with no files, no configuration and a silent interaction
    /// (see [`HostBuilder`]).
    pub fn new() -> HostBuilder {
        HostBuilder {
            paths: None,
            config_file: None,
            config_texts: Vec::new(),
            providers: Vec::new(),
            grants: Vec::new(),
            limits: None,
            refresh_margin: None,
            store: None,
            store_settings: None,
            store_url: None,
            store_key: None,
            interaction: Arc::new(Silent),
            embedded: Vec::new(),
            instance_pool: false,
            environment: None,
            compile_notices: false,
            on_event: None,
        }
    }

    /// The builder [`Host::open`] uses for `options`.
    pub(crate) fn from_options(options: HostOptions) -> HostBuilder {
        HostBuilder {
            paths: Some(options.paths),
            store: options.store,
            store_settings: options.store_settings,
            store_url: options.store_url,
            store_key: options.store_key,
            interaction: options.interaction,
            instance_pool: options.instance_pool,
            environment: options.environment,
            compile_notices: options.compile_notices,
            on_event: options.on_event,
            ..HostBuilder::new()
        }
    }

    /// Uses the files of an installation under `home` (the `AUTHHOST_HOME`
    /// layout): its `config.toml`, `auth.json`, plugins folder and cache.
    pub fn home(self, home: impl AsRef<Path>) -> HostBuilder {
        self.paths(Paths::in_home(home))
    }

    /// Uses the files at `paths` (see [`HostBuilder::home`]).
    pub fn paths(mut self, paths: Paths) -> HostBuilder {
        self.paths = Some(paths);
        self
    }

    /// Reads the configuration from the `config.toml` at `path` instead of
    /// the one of the paths (refused as authhost refuses a config file
    /// another user may write). A missing file is an empty configuration.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> HostBuilder {
        self.config_file = Some(Some(path.into()));
        self
    }

    /// Reads no `config.toml`, even with paths: the configuration is what
    /// is given in code.
    pub fn without_config_file(mut self) -> HostBuilder {
        self.config_file = Some(None);
        self
    }

    /// Adds configuration in the format of `config.toml`, laid over the
    /// file (and over earlier texts): tables merge key by key, other values
    /// replace. Checked as the file is, when the host is built.
    pub fn config_toml(mut self, text: impl Into<String>) -> HostBuilder {
        self.config_texts.push(text.into());
        self
    }

    /// Sets provider `name` (replacing its `[providers.NAME]` table, if the
    /// file has one).
    pub fn provider(mut self, name: impl Into<String>, settings: ProviderSettings) -> HostBuilder {
        self.providers.push((name.into(), settings));
        self
    }

    /// Grants plugin `plugin` the `capabilities` (as `config.toml` writes
    /// them: `process:op`, `http:https://api.example.com`, `browser`…), in
    /// addition to what the file grants. Checked when the host is built.
    pub fn grant(
        mut self,
        plugin: impl Into<String>,
        capabilities: impl IntoIterator<Item = impl Into<String>>,
    ) -> HostBuilder {
        self.grants.push((
            plugin.into(),
            capabilities.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// The resource limits of every plugin call, over `[limits]`.
    pub fn limits(mut self, limits: Limits) -> HostBuilder {
        self.limits = Some(limits);
        self
    }

    /// How close to its expiry an OAuth access token is refreshed before
    /// use, over `[credentials] refresh_margin_s`.
    pub fn refresh_margin(mut self, margin: Duration) -> HostBuilder {
        self.refresh_margin = Some(margin);
        self
    }

    /// Where credentials are stored, over `[store] backend` and
    /// `AUTHHOST_STORE`. [`StoreBackend::Memory`] keeps them in the host
    /// (the store of a host without paths, unless another is set).
    pub fn store(mut self, backend: StoreBackend) -> HostBuilder {
        self.store = Some(backend);
        self
    }

    /// The whole store, over `[store]` of `config.toml`: e.g. the
    /// PostgreSQL store a fleet shares, with its URL, namespace and key
    /// given in code (a host without paths can use it too).
    ///
    /// ```no_run
    /// use authhost::{Host, StoreBackend, StoreSettings};
    ///
    /// # fn demo() -> Result<(), authhost::Error> {
    /// let host = Host::builder()
    ///     .store_settings(StoreSettings {
    ///         url: Some("postgres://authhost:pw@db.internal/authhost?sslmode=verify-full".into()),
    ///         namespace: Some("prod".into()),
    ///         key: Some(std::env::var("STORE_KEY").unwrap_or_default().into()),
    ///         ..StoreSettings::new(StoreBackend::Postgres)
    ///     })
    ///     .build()?;
    /// # let _ = host;
    /// # Ok(())
    /// # }
    /// ```
    pub fn store_settings(mut self, settings: StoreSettings) -> HostBuilder {
        self.store_settings = Some(settings);
        self
    }

    /// How the host talks to the user; [`Silent`] unless set (a login that
    /// needs the user then fails instead of waiting for a terminal).
    pub fn interaction(mut self, interaction: impl Interaction + 'static) -> HostBuilder {
        self.interaction = Arc::new(interaction);
        self
    }

    /// Adds a provider plugin from the bytes of its component, as if it
    /// were a file of the plugins folder: sandboxed, granted only what
    /// [`HostBuilder::grant`] (or the file) grants its id, and refused if
    /// its id is a built-in's or another plugin's. It is compiled and
    /// described when a provider first needs a plugin that is not built in.
    pub fn plugin(mut self, component: impl Into<Vec<u8>>) -> HostBuilder {
        self.embedded.push(Arc::from(component.into()));
        self
    }

    /// Uses wasmtime's pooling allocator (see
    /// [`HostOptions::instance_pool`]).
    pub fn instance_pool(mut self, on: bool) -> HostBuilder {
        self.instance_pool = on;
        self
    }

    /// Looks up `[providers.X] env` variables in `vars` instead of the
    /// process's environment (see [`HostOptions::environment`]).
    pub fn environment(mut self, vars: impl IntoIterator<Item = (String, String)>) -> HostBuilder {
        self.environment = Some(vars.into_iter().collect());
        self
    }

    /// Calls `hook` with each [`Event`] (see [`HostOptions::on_event`]).
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> HostBuilder {
        self.on_event = Some(Arc::new(hook));
        self
    }

    /// Shows a notice on stderr while a plugin is compiled (see
    /// [`HostOptions::compile_notices`]).
    pub fn compile_notices(mut self, on: bool) -> HostBuilder {
        self.compile_notices = on;
        self
    }

    /// Reads the configuration and makes the host. Nothing is compiled and
    /// no plugin runs; an invalid configuration (in the file or in code) is
    /// an error that names where it came from.
    pub fn build(self) -> Result<Host, Error> {
        let config = self.config()?;
        let store_settings = self.effective_store(&config.store, self.paths.is_some());
        let paths = self.paths;
        // Lock holders give a lock up within their plugin call's timeout.
        let call_timeout = config.limits.call_timeout_ms;
        let lock_wait = crate::files::lock::longest_wait(call_timeout);
        let store = crate::store::open(&store_settings, paths.as_ref(), lock_wait, call_timeout)?;
        // Helper results stay on this machine, in memory without files.
        let helper_cache = match &paths {
            Some(paths) => JsonStore::new(paths.resolved_cache_file(), lock_wait),
            None => JsonStore::memory("helper cache"),
        };
        let plugins = Plugins::new(
            paths.as_ref().map(|p| p.plugins_dir.clone()),
            paths.as_ref().map(Paths::plugin_index_file),
            self.embedded,
            crate::runtime::CacheSetup {
                dir: paths.as_ref().map(Paths::component_cache_dir),
                max_bytes: config.cache.components_mib.saturating_mul(1 << 20),
                notices: self.compile_notices,
            },
            config.limits,
            self.instance_pool,
            self.interaction.clone(),
        );
        let events = Events::new(self.on_event);
        let credentials = Credentials::new(
            store.clone(),
            helper_cache,
            config.credentials.refresh_margin_s.saturating_mul(1000),
            EnvSources {
                vars: config
                    .providers
                    .iter()
                    .filter_map(|(name, p)| Some((name.clone(), p.env.clone()?)))
                    .collect(),
                environment: self.environment,
            },
            events.clone(),
        );
        let config_file = match (&self.config_file, &paths) {
            (Some(Some(file)), _) => file.clone(),
            (None, Some(paths)) => paths.config_file.clone(),
            _ => PathBuf::from(IN_CODE),
        };
        Ok(Host {
            runner: Runner {
                config,
                config_file,
                plugins,
                store,
                warned: Default::default(),
                granted_now: Default::default(),
                events,
            },
            credentials,
            interaction: self.interaction,
            paths,
            store_settings,
        })
    }

    /// The store in force: the settings given in code or `config`'s, with
    /// the backend, URL and key given here over them; a host without files
    /// keeps credentials in memory unless a store is named.
    fn effective_store(&self, config: &StoreSettings, has_files: bool) -> StoreSettings {
        let mut settings = self
            .store_settings
            .clone()
            .unwrap_or_else(|| config.clone());
        if !has_files && self.store_settings.is_none() {
            settings.backend = StoreBackend::Memory;
        }
        if let Some(backend) = self.store {
            settings.backend = backend;
        }
        if let Some(url) = &self.store_url {
            settings.url = Some(url.clone());
        }
        if let Some(key) = &self.store_key {
            settings.key = Some(key.clone());
        }
        settings
    }

    /// The configuration: the file, the texts, then what was set in code.
    fn config(&self) -> Result<Config, Error> {
        let file = match (&self.config_file, &self.paths) {
            (Some(file), _) => file.clone(),
            (None, paths) => paths.as_ref().map(|p| p.config_file.clone()),
        };
        let in_code = Path::new(IN_CODE);
        let text = match &file {
            Some(file) => Config::read(file)?,
            None => None,
        };
        let only_the_file =
            self.config_texts.is_empty() && self.providers.is_empty() && self.grants.is_empty();
        if only_the_file {
            // What `authhost token` does: the file parsed once.
            let mut config = match (&file, &text) {
                (Some(file), Some(text)) => Config::parse(text, file)?,
                _ => Config::default(),
            };
            self.apply_typed(&mut config);
            return Ok(config);
        }
        let mut table = toml::Table::new();
        // The file's text is parsed as a whole first, so that its errors
        // carry its line numbers.
        if let (Some(file), Some(text)) = (&file, &text) {
            Config::parse(text, file)?;
            table = toml::from_str(text).map_err(|e| invalid(file, &e))?;
        }
        for text in &self.config_texts {
            Config::parse(text, in_code)?;
            merge(
                &mut table,
                toml::from_str(text).map_err(|e| invalid(in_code, &e))?,
            );
        }
        for (name, settings) in &self.providers {
            section(&mut table, "providers").insert(name.clone(), settings.table.clone().into());
        }
        for (plugin, capabilities) in &self.grants {
            let plugin = section(&mut table, "plugins")
                .entry(plugin.clone())
                .or_insert_with(|| toml::Table::new().into());
            let Some(plugin) = plugin.as_table_mut() else {
                continue;
            };
            let grant = plugin
                .entry("grant")
                .or_insert_with(|| toml::Value::Array(Vec::new()));
            if let Some(grant) = grant.as_array_mut() {
                grant.extend(capabilities.iter().cloned().map(toml::Value::from));
            }
        }
        let mut config = Config::from_table(table, in_code)?;
        self.apply_typed(&mut config);
        Ok(config)
    }

    /// The settings given as typed values.
    fn apply_typed(&self, config: &mut Config) {
        if let Some(limits) = self.limits {
            config.limits = limits;
        }
        if let Some(margin) = self.refresh_margin {
            config.credentials.refresh_margin_s = margin.as_secs();
        }
    }
}

/// The table `name` of `table`, made when missing (a value of another
/// type is replaced: the checks that follow would refuse it anyway).
fn section<'t>(table: &'t mut toml::Table, name: &str) -> &'t mut toml::Table {
    let entry = table
        .entry(name)
        .or_insert_with(|| toml::Table::new().into());
    if !entry.is_table() {
        *entry = toml::Table::new().into();
    }
    entry.as_table_mut().expect("made a table above")
}

/// Lays `over` on `base`: tables merge key by key, other values replace.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(over)) => merge(base, over),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn invalid(path: &Path, e: &toml::de::Error) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        message: e.message().trim_end().to_owned(),
    }
}

/// A provider set in code: what a `[providers.NAME]` table of
/// `config.toml` says.
///
/// ```
/// use authhost::ProviderSettings;
///
/// let settings = ProviderSettings::new()
///     .plugin("shell-helper")
///     .env("ANTHROPIC_API_KEY")
///     .option("command", "op read op://vault/anthropic/key");
/// # let _ = settings;
/// ```
#[derive(Clone, Default)]
pub struct ProviderSettings {
    table: toml::Table,
}

impl ProviderSettings {
    /// A provider implemented by the plugin named like it (or the one the
    /// catalog names), with no options.
    pub fn new() -> ProviderSettings {
        ProviderSettings::default()
    }

    /// The plugin that implements the provider (`plugin = "…"`).
    pub fn plugin(self, id: impl Into<String>) -> ProviderSettings {
        self.option("plugin", id.into())
    }

    /// The environment variable that, when set, is the provider's key
    /// (`env = "…"`).
    pub fn env(self, var: impl Into<String>) -> ProviderSettings {
        self.option("env", var.into())
    }

    /// Any other key of the table: an option handed to the plugin
    /// (`command`, `base_url`, `scopes`…) or a host key (`git_hosts`).
    pub fn option(
        mut self,
        key: impl Into<String>,
        value: impl Into<toml::Value>,
    ) -> ProviderSettings {
        self.table.insert(key.into(), value.into());
        self
    }
}

impl std::fmt::Debug for ProviderSettings {
    // Options can hold secrets (a helper command): names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("keys", &self.table.keys().collect::<Vec<_>>())
            .finish()
    }
}
