//! [`Host`]: the operations of the CLI as an async library API.

mod convert;
mod types;

pub use types::*;

use convert::{
    credential_from_wit, failed_info, metadata_from_wit, parse_capabilities, plugin_has_method,
    provider_error,
};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::capability::{Capability, Granter, effective};
use crate::config::{Config, ProviderConfig};
use crate::credential::{Credential, CredentialKind, Token, now_ms};
use crate::error::{Error, PluginFailure, ProviderError};
use crate::interact::Interaction;
use crate::paths::Paths;
use crate::registry::{BuiltinPlugin, INTERNAL_PLUGINS, builtin, folder_files};
use crate::runtime::{CallContext, Instance, LoadedComponent, Reason, Runtime};
use crate::store::JsonStore;

/// The largest plugin file authhost reads.
const MAX_PLUGIN_FILE: u64 = 64 << 20;
/// An OAuth token this close to expiry counts as expired.
const EXPIRY_MARGIN_MS: u64 = 30_000;
/// How long a credential read from `auth.json` is reused in memory before the
/// file is read again (so a `logout` in another process takes effect within
/// this time in a long-running embedding program).
const STORE_RECHECK: Duration = Duration::from_secs(1);
/// The login method every provider has unless it defines its own.
pub const API_KEY_METHOD: &str = "api-key";

/// A loaded plugin.
struct Plugin {
    source: PluginSource,
    component: LoadedComponent,
    metadata: PluginMetadata,
}

enum PluginSource {
    Builtin(&'static BuiltinPlugin),
    Folder(PathBuf),
}

impl PluginSource {
    fn describe(&self) -> String {
        match self {
            PluginSource::Builtin(_) => "built-in".into(),
            PluginSource::Folder(path) => path.display().to_string(),
        }
    }
}

/// The plugins folder after a scan.
#[derive(Default)]
struct Folder {
    plugins: Vec<Arc<Plugin>>,
    failures: Vec<(PathBuf, PluginFailure)>,
}

/// A helper credential in the cache file.
#[derive(Serialize, Deserialize)]
struct CachedCredential {
    credential: Credential,
    until: u64,
}

type Flight = Arc<OnceCell<Result<Credential, Arc<Error>>>>;

/// A secret kept in memory for repeated [`Host::token`] calls.
struct Memo {
    secret: SecretString,
    fresh_until: Instant,
}

/// The authhost host: configuration, credential store and plugins.
///
/// `Host` is `Send + Sync`; share it in an [`Arc`]. Nothing touches
/// WebAssembly until a plugin must run: reading a stored key compiles
/// nothing.
pub struct Host {
    paths: Paths,
    config: Config,
    store: JsonStore,
    cache: JsonStore,
    interaction: Arc<dyn Interaction>,
    instance_pool: bool,
    runtime: OnceLock<Result<Arc<Runtime>, String>>,
    builtins: Vec<OnceCell<Result<Arc<Plugin>, PluginFailure>>>,
    folder: OnceCell<Folder>,
    inflight: Mutex<HashMap<String, Flight>>,
    memo: RwLock<HashMap<String, Memo>>,
    /// Providers found with neither a stored nor a cached credential, and
    /// when: trusted for [`STORE_RECHECK`], so that a provider whose plugin
    /// runs on every call does not read both files every time.
    absent: Mutex<HashMap<String, Instant>>,
    granters: Mutex<HashMap<String, Granter>>,
}

impl Host {
    /// Opens the host: reads `config.toml` (an invalid one is an error).
    pub fn open(options: HostOptions) -> Result<Host, Error> {
        let config = Config::load(&options.paths.config_file)?;
        Ok(Host {
            store: JsonStore::new(&options.paths.store_file),
            cache: JsonStore::new(options.paths.resolved_cache_file()),
            config,
            paths: options.paths,
            interaction: options.interaction,
            instance_pool: options.instance_pool,
            runtime: OnceLock::new(),
            builtins: INTERNAL_PLUGINS.iter().map(|_| OnceCell::new()).collect(),
            folder: OnceCell::new(),
            inflight: Mutex::new(HashMap::new()),
            memo: RwLock::new(HashMap::new()),
            absent: Mutex::new(HashMap::new()),
            granters: Mutex::new(HashMap::new()),
        })
    }

    /// The files in use.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A usable secret for `provider`: a stored credential, else a fresh
    /// cached helper credential, else one from the provider's plugin
    /// (`resolve`). Concurrent calls for one provider run the plugin once.
    ///
    /// Repeated calls are answered from memory: a stored credential for up
    /// to one second, a helper credential for as long as it may be cached.
    /// A provider found with no stored or cached credential is not looked up
    /// in the files again for one second either, so a credential another
    /// process stores takes effect within a second (one this host stores, at
    /// once).
    pub async fn token(&self, provider: &str, options: TokenOptions) -> Result<Token, Error> {
        if !options.refresh
            && let Some(secret) = self.memo_get(provider)
        {
            return Ok(Token::new(secret));
        }
        let now = now_ms();
        let known_absent = self.known_absent(provider);
        let stored = if known_absent {
            None
        } else {
            self.store.get::<Credential>(provider)?
        };
        let found_stored = stored.is_some();
        if let Some(credential) = stored {
            if !credential.is_expired(now, EXPIRY_MARGIN_MS) {
                let until = match &credential {
                    Credential::OAuth {
                        expires: Some(expires),
                        ..
                    } => expires.saturating_sub(EXPIRY_MARGIN_MS),
                    _ => u64::MAX,
                };
                self.memo_put(
                    provider,
                    credential.secret(),
                    until.min(now + STORE_RECHECK.as_millis() as u64),
                );
                return Ok(Token::new(credential.secret().clone()));
            }
            if !self.plugin_for(provider).await?.metadata.resolves {
                return Err(Error::Expired(provider.to_owned()));
            }
        }
        let cached = if known_absent {
            None
        } else {
            self.cached(provider)
        };
        if !found_stored && cached.is_none() && !known_absent {
            self.absent().insert(provider.to_owned(), Instant::now());
        }
        if !options.refresh
            && let Some(entry) = &cached
            && entry.until > now
        {
            self.memo_put(provider, entry.credential.secret(), entry.until);
            return Ok(Token::new(entry.credential.secret().clone()));
        }
        let reason = if options.refresh {
            Reason::Refresh
        } else {
            Reason::Token
        };
        match self.resolve_once(provider, reason).await {
            Ok(credential) => Ok(Token::new(credential.secret().clone())),
            Err(error) => match cached {
                Some(entry) if options.stale_on_error => {
                    tracing::warn!("{provider}: using the last cached credential: {error}");
                    Ok(Token::new(entry.credential.secret().clone()))
                }
                _ => Err(error),
            },
        }
    }

    /// True when `provider` was found without credentials less than
    /// [`STORE_RECHECK`] ago.
    fn known_absent(&self, provider: &str) -> bool {
        self.absent()
            .get(provider)
            .is_some_and(|seen| seen.elapsed() < STORE_RECHECK)
    }

    fn absent(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.absent.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn memo_get(&self, provider: &str) -> Option<SecretString> {
        let memo = self.memo.read().unwrap_or_else(|e| e.into_inner());
        memo.get(provider)
            .filter(|m| m.fresh_until > Instant::now())
            .map(|m| m.secret.clone())
    }

    /// Remembers `secret` until `until_ms` (wall clock, ms since the epoch).
    fn memo_put(&self, provider: &str, secret: &SecretString, until_ms: u64) {
        let left = Duration::from_millis(until_ms.saturating_sub(now_ms()));
        self.absent().remove(provider);
        let Some(fresh_until) = Instant::now().checked_add(left) else {
            return;
        };
        let mut memo = self.memo.write().unwrap_or_else(|e| e.into_inner());
        memo.insert(
            provider.to_owned(),
            Memo {
                secret: secret.clone(),
                fresh_until,
            },
        );
    }

    fn memo_forget(&self, provider: &str) {
        self.memo
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(provider);
    }

    /// Forgets what is remembered about `provider`'s credentials after this
    /// host changed them.
    fn credentials_changed(&self, provider: &str) {
        self.memo_forget(provider);
        self.absent().remove(provider);
    }

    fn cached(&self, provider: &str) -> Option<CachedCredential> {
        match self.cache.get::<CachedCredential>(provider) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::warn!("ignoring the helper cache: {e}");
                None
            }
        }
    }

    /// Runs the provider's `resolve`, sharing one run among concurrent
    /// callers.
    async fn resolve_once(&self, provider: &str, reason: Reason) -> Result<Credential, Error> {
        let flight = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            inflight.entry(provider.to_owned()).or_default().clone()
        };
        let result = flight
            .get_or_init(|| async { self.resolve(provider, reason).await.map_err(Arc::new) })
            .await
            .clone();
        {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            if inflight
                .get(provider)
                .is_some_and(|f| Arc::ptr_eq(f, &flight))
            {
                inflight.remove(provider);
            }
        }
        result.map_err(Error::Shared)
    }

    /// Asks the plugin for a credential and caches it as it says.
    async fn resolve(&self, provider: &str, reason: Reason) -> Result<Credential, Error> {
        let plugin = self.plugin_for(provider).await?;
        if !plugin.metadata.resolves {
            return Err(Error::NoCredential(provider.to_owned()));
        }
        let mut instance = self.instance(&plugin, provider).await?;
        let resolved = instance
            .resolve(reason)
            .await
            .map_err(|f| Error::plugin(&plugin.metadata.id, f))?
            .map_err(|e| provider_error(provider, e))?;
        let credential = credential_from_wit(&plugin.metadata.id, resolved.credential)?;
        if let Some(until) = resolved.cache_until.filter(|until| *until > now_ms()) {
            let entry = CachedCredential {
                credential: credential.clone(),
                until,
            };
            self.cache.put(provider, Some(&entry))?;
            self.memo_put(provider, credential.secret(), until);
        } else {
            self.memo_forget(provider);
        }
        tracing::debug!(provider, "resolved a credential");
        Ok(credential)
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
                        method: id.clone(),
                        available: methods
                            .iter()
                            .map(|m| m.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?
            }
        };
        if method.id == API_KEY_METHOD && !plugin_has_method(&plugin, API_KEY_METHOD) {
            return self.login_with_pasted_key(provider).await;
        }
        if method.kind == MethodKind::Helper {
            self.resolve(provider, Reason::Login).await?;
            let until = self.cached(provider).map(|c| c.until);
            return Ok(LoginOutcome {
                kind: CredentialKind::Api,
                saved: Saved::Cached(until),
            });
        }
        let mut instance = self.instance(&plugin, provider).await?;
        let mut plugin_options = Vec::new();
        if options.no_browser {
            plugin_options.push(("no-browser".to_owned(), "true".to_owned()));
        }
        let credential = instance
            .login(&method.id, &plugin_options)
            .await
            .map_err(|f| Error::plugin(&plugin.metadata.id, f))?
            .map_err(|e| provider_error(provider, e))?;
        let credential = credential_from_wit(&plugin.metadata.id, credential)?;
        self.store.put(provider, Some(&credential))?;
        self.credentials_changed(provider);
        Ok(LoginOutcome {
            kind: credential.kind(),
            saved: Saved::Stored,
        })
    }

    async fn login_with_pasted_key(&self, provider: &str) -> Result<LoginOutcome, Error> {
        let label = format!("API key for {provider}: ");
        let key = self
            .interaction
            .prompt(&label, true)
            .await
            .ok_or(Error::Cancelled)?;
        let key = SecretString::from(key.trim().to_owned());
        if key.expose_secret().is_empty() {
            return Err(Error::Provider {
                provider: provider.to_owned(),
                error: ProviderError::Other("the API key is empty".into()),
            });
        }
        self.store.put(provider, Some(&Credential::Api { key }))?;
        self.credentials_changed(provider);
        Ok(LoginOutcome {
            kind: CredentialKind::Api,
            saved: Saved::Stored,
        })
    }

    /// Removes the stored and cached credentials of `provider`; false when
    /// there were none.
    pub async fn logout(&self, provider: &str) -> Result<bool, Error> {
        let stored = self.store.put::<Credential>(provider, None)?;
        let cached = self.cache.read()?.contains_key(provider)
            && self.cache.put::<Credential>(provider, None)?;
        self.credentials_changed(provider);
        Ok(stored || cached)
    }

    /// Every known provider: configured ones, one per plugin, and any with
    /// a stored credential. Runs no helper.
    pub async fn list(&self) -> Result<Vec<ProviderStatus>, Error> {
        let stored = self.store.read()?;
        let cached = self.cache.read().unwrap_or_default();
        let mut plugins: BTreeMap<String, Arc<Plugin>> = BTreeMap::new();
        for (i, b) in INTERNAL_PLUGINS.iter().enumerate() {
            if let Ok(plugin) = self.builtin_plugin(i, b).await {
                plugins.insert(b.id.to_owned(), plugin);
            }
        }
        for plugin in &self.folder().await?.plugins {
            plugins.insert(plugin.metadata.id.clone(), plugin.clone());
        }
        let names: BTreeSet<String> = self
            .config
            .providers
            .keys()
            .chain(plugins.keys())
            .chain(stored.keys())
            .cloned()
            .collect();
        let now = now_ms();
        Ok(names
            .into_iter()
            .map(|name| {
                let plugin_id = self.config.plugin_of(&name).to_owned();
                let plugin = plugins.get(&plugin_id);
                let (credential, entry_error) = match stored.get(&name) {
                    None => (None, None),
                    Some(value) => match serde_json::from_value::<Credential>(value.clone()) {
                        Ok(c) => (Some(c.kind()), None),
                        Err(_) => (
                            None,
                            Some("its entry in the credential store is not readable".to_owned()),
                        ),
                    },
                };
                let fresh = cached
                    .get(&name)
                    .and_then(|v| serde_json::from_value::<CachedCredential>(v.clone()).ok())
                    .is_some_and(|c| c.until > now);
                let error = match plugin {
                    None => Some(format!("plugin `{plugin_id}` is not installed")),
                    Some(_) => entry_error,
                };
                ProviderStatus {
                    configured: self.config.providers.contains_key(&name),
                    helper: plugin.is_some_and(|p| p.metadata.resolves),
                    cached: fresh,
                    provider: name,
                    plugin: plugin_id,
                    credential,
                    error,
                }
            })
            .collect())
    }

    /// Every plugin, built-in first, with its grants and load errors.
    pub async fn plugins(&self) -> Result<Vec<PluginInfo>, Error> {
        let mut infos = Vec::new();
        for (i, b) in INTERNAL_PLUGINS.iter().enumerate() {
            infos.push(match self.builtin_plugin(i, b).await {
                Ok(plugin) => self.info(&plugin),
                Err(failure) => failed_info(b.id, "built-in".into(), &failure),
            });
        }
        let folder = self.folder().await?;
        infos.extend(folder.plugins.iter().map(|p| self.info(p)));
        for (path, failure) in &folder.failures {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            infos.push(failed_info(&name, path.display().to_string(), failure));
        }
        Ok(infos)
    }

    /// Examines a component file as the plugins folder would: validates,
    /// compiles and links it, and calls only its `describe` export, with no
    /// capability granted. Never runs `login` or `resolve`.
    pub async fn inspect(&self, path: &std::path::Path) -> Inspection {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut info = match self.load_file(path).await {
            Ok(plugin) => self.info(&plugin),
            Err(failure) => {
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                failed_info(&name, path.display().to_string(), &failure)
            }
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

    fn info(&self, plugin: &Plugin) -> PluginInfo {
        let requested = &plugin.metadata.requested;
        let grants = self.granted(plugin, None);
        let granted = effective(requested, &grants);
        // Requested, and no grant covers or narrows it.
        let missing = requested
            .iter()
            .filter(|r| !grants.iter().any(|g| g.covers(r) || r.covers(g)))
            .cloned()
            .collect();
        PluginInfo {
            id: plugin.metadata.id.clone(),
            source: plugin.source.describe(),
            wit_version: Some(plugin.component.wit_version.clone()),
            metadata: Some(plugin.metadata.clone()),
            granted,
            missing,
            error: None,
        }
    }

    /// What the user (or the built-in table) grants `plugin`.
    fn granted(&self, plugin: &Plugin, provider: Option<&ProviderConfig>) -> Vec<Capability> {
        match &plugin.source {
            PluginSource::Builtin(b) => b.granted(provider),
            PluginSource::Folder(_) => self
                .config
                .plugins
                .get(&plugin.metadata.id)
                .map(|p| p.grant.clone())
                .unwrap_or_default(),
        }
    }

    /// A fresh instance of `plugin` for `provider`, described with the
    /// provider's configuration and with its grants in force.
    async fn instance(&self, plugin: &Plugin, provider: &str) -> Result<Instance, Error> {
        let id = &plugin.metadata.id;
        let provider_config = self.config.providers.get(provider);
        let config_json = provider_config
            .map(|p| serde_json::Value::Object(p.options.clone()).to_string())
            .unwrap_or_else(|| "{}".into());
        let call = Arc::new(CallContext {
            plugin: id.clone(),
            provider: provider.to_owned(),
            config_json,
            interaction: self.interaction.clone(),
        });
        let mut instance = self
            .runtime()?
            .instantiate(&plugin.component, call, &self.config.limits)
            .await
            .map_err(|f| Error::plugin(id, f))?;
        let known = self
            .granters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(provider)
            .cloned();
        let granter = match known {
            Some(granter) => granter,
            None => {
                // What the plugin requests may depend on the provider's
                // options (e.g. the origin of a base URL): ask this instance,
                // which can use no capability yet. The answer is kept for the
                // life of the host, whose configuration does not change.
                let metadata = instance
                    .describe()
                    .await
                    .map_err(|f| Error::plugin(id, f))?;
                let requested =
                    parse_capabilities(&metadata.capabilities).map_err(|f| Error::plugin(id, f))?;
                let granter = Granter::new(id, &requested, &self.granted(plugin, provider_config));
                self.granters
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(provider.to_owned(), granter.clone());
                granter
            }
        };
        instance.grant(granter);
        Ok(instance)
    }

    /// The plugin implementing `provider`.
    async fn plugin_for(&self, provider: &str) -> Result<Arc<Plugin>, Error> {
        let plugin_id = self.config.plugin_of(provider);
        match self.plugin(plugin_id).await? {
            Some(plugin) => Ok(plugin),
            None if self.config.providers.contains_key(provider) => Err(Error::UnknownPlugin {
                provider: provider.to_owned(),
                plugin: plugin_id.to_owned(),
            }),
            None => Err(Error::UnknownProvider(provider.to_owned())),
        }
    }

    /// The plugin with id `id`: a built-in (loading only that one) or one
    /// from the plugins folder.
    async fn plugin(&self, id: &str) -> Result<Option<Arc<Plugin>>, Error> {
        if let Some(i) = INTERNAL_PLUGINS.iter().position(|b| b.id == id) {
            return self
                .builtin_plugin(i, &INTERNAL_PLUGINS[i])
                .await
                .map(Some)
                .map_err(|f| Error::plugin(id, f));
        }
        Ok(self
            .folder()
            .await?
            .plugins
            .iter()
            .find(|p| p.metadata.id == id)
            .cloned())
    }

    async fn builtin_plugin(
        &self,
        index: usize,
        b: &'static BuiltinPlugin,
    ) -> Result<Arc<Plugin>, PluginFailure> {
        self.builtins[index]
            .get_or_init(|| async {
                let plugin = self.load(PluginSource::Builtin(b), b.component).await?;
                if plugin.metadata.id != b.id {
                    return Err(PluginFailure::Invalid(format!(
                        "reports id `{}`",
                        plugin.metadata.id
                    )));
                }
                Ok(Arc::new(plugin))
            })
            .await
            .clone()
    }

    /// Scans the plugins folder once.
    async fn folder(&self) -> Result<&Folder, Error> {
        self.folder
            .get_or_try_init(|| async {
                let mut folder = Folder::default();
                for path in folder_files(&self.paths.plugins_dir) {
                    match self.load_file(&path).await {
                        Ok(plugin) => {
                            let id = plugin.metadata.id.clone();
                            if builtin(&id).is_some() {
                                let reason =
                                    format!("its id `{id}` clashes with a built-in plugin");
                                folder.failures.push((path, PluginFailure::Load(reason)));
                            } else if let Some(first) =
                                folder.plugins.iter().find(|p| p.metadata.id == id)
                            {
                                let reason = format!(
                                    "id `{id}` is already provided by {}",
                                    first.source.describe()
                                );
                                folder.failures.push((path, PluginFailure::Load(reason)));
                            } else {
                                folder.plugins.push(Arc::new(plugin));
                            }
                        }
                        Err(failure) => {
                            tracing::warn!(path = %path.display(), "skipping plugin: {failure}");
                            folder.failures.push((path, failure));
                        }
                    }
                }
                Ok::<_, Error>(folder)
            })
            .await
    }

    async fn load_file(&self, path: &std::path::Path) -> Result<Plugin, PluginFailure> {
        let bytes = crate::component_file::read(path, MAX_PLUGIN_FILE)?;
        self.load(PluginSource::Folder(path.to_path_buf()), &bytes)
            .await
    }

    /// Compiles (or loads from the cache) and describes a component.
    async fn load(&self, source: PluginSource, bytes: &[u8]) -> Result<Plugin, PluginFailure> {
        let runtime = self
            .runtime()
            .map_err(|e| PluginFailure::Load(e.to_string()))?;
        let component = match &source {
            PluginSource::Builtin(b) => runtime.load_builtin(b)?,
            PluginSource::Folder(_) => runtime.load(bytes)?,
        };
        let call = Arc::new(CallContext {
            plugin: source.describe(),
            provider: String::new(),
            config_json: "{}".into(),
            interaction: self.interaction.clone(),
        });
        let mut instance = runtime
            .instantiate(&component, call, &self.config.limits)
            .await?;
        let metadata = metadata_from_wit(instance.describe().await?)?;
        Ok(Plugin {
            source,
            component,
            metadata,
        })
    }

    fn runtime(&self) -> Result<Arc<Runtime>, Error> {
        self.runtime
            .get_or_init(|| {
                Runtime::new(
                    self.paths.component_cache_dir(),
                    &self.config.limits,
                    self.instance_pool,
                )
                .map(Arc::new)
                .map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(|e| Error::plugin("runtime", PluginFailure::Load(e)))
    }
}
