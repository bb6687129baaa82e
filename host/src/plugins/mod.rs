//! The plugins job: the built-ins ([`INTERNAL_PLUGINS`]) and the `*.wasm`
//! files of the plugins folder in one registry, each component compiled (or
//! loaded from the cache), described once, and instantiated fresh for every
//! call.
//!
//! A component is described once per content, by an instance that has no
//! grants and whose imports give nothing; that answer, kept in the index
//! (`cache/plugins.json`), is what `plugins list` shows, what the user
//! grants against, and what the granter enforces. The built-ins' answers
//! are kept there too, under content hashes computed at build time, so that
//! listing providers runs no plugin at all. A plugin's code is mapped (or
//! compiled) only when one of its providers is used, and a folder provider
//! whose file the index knows loads that file alone: the rest of the folder
//! is not read.

mod builtins;
mod embedded;
mod folder;
mod index;
mod install;
mod metadata;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::OnceCell;

pub(crate) use builtins::{INTERNAL_PLUGINS, builtin, is_generic};
pub(crate) use folder::Folder;
use index::{Described, Identity, Index};
pub use metadata::AccountInfo;
pub use metadata::{API_KEY_METHOD, AuthMethod, MethodKind, PluginMetadata};
pub(crate) use metadata::{
    account_from_wit, credential_from_wit, credential_to_wit, provider_error,
};

use crate::config::Limits;
use crate::error::{Error, PluginFailure};
use crate::interact::Interaction;
use crate::runtime::{
    CacheSetup, CallContext, ComponentBytes, ComponentCache, Instance, LoadedComponent, Runtime,
};

/// What describing a component gave: its WIT version and metadata.
type DescribeOutcome = Result<(String, crate::runtime::Metadata), PluginFailure>;
/// A compiled component kept for its plugin's first call.
type LoadOutcome = Result<LoadedComponent, PluginFailure>;

/// The largest plugin file authhost reads.
pub(crate) const MAX_PLUGIN_FILE: u64 = 64 << 20;

/// What [`Plugins::install`] did.
pub(crate) struct Installed {
    /// The plugin, as installed.
    pub plugin: Plugin,
    /// Its file in the plugins folder.
    pub file: PathBuf,
    /// Files of other builds (or another plugin in its file name) that it
    /// replaced.
    pub replaced: Vec<PathBuf>,
    /// Whether the same component was already installed there.
    pub unchanged: bool,
}

/// A described plugin.
pub(crate) struct Plugin {
    pub source: PluginSource,
    pub metadata: PluginMetadata,
    /// The `authhost:provider` version it was built against.
    pub wit_version: String,
    /// SHA-256 of the component, hex: what a grant is bound to (empty for
    /// built-ins).
    pub digest: String,
    /// A folder plugin's file as it was when `digest` was taken from it.
    /// While the file keeps this identity, the compiled code of `digest`
    /// is used from the cache without reading the file again.
    identity: Option<Identity>,
    /// The compiled, linked component: loaded with the description, or on
    /// first use when the description came from the index.
    component: OnceCell<Result<LoadedComponent, PluginFailure>>,
}

impl Plugin {
    /// The plugin as a stored credential records it (see
    /// [`crate::store::Stored`]): its id, and the SHA-256 of its
    /// component for a folder plugin (a built-in by its id alone, so that a
    /// new build of authhost keeps every login).
    pub fn reference(&self) -> crate::store::PluginRef {
        crate::store::PluginRef {
            id: self.metadata.id.clone(),
            sha256: match self.source {
                PluginSource::Builtin => None,
                PluginSource::Folder(_) | PluginSource::Embedded(_) => Some(self.digest.clone()),
            },
        }
    }
}

/// Where a plugin comes from.
pub(crate) enum PluginSource {
    Builtin,
    Folder(PathBuf),
    /// A component the embedding program handed over as bytes
    /// ([`crate::HostBuilder::plugin`]), by its label (`embedded #1`).
    Embedded(String),
}

impl PluginSource {
    /// `built-in` or the file's path, safe to print.
    pub fn describe(&self) -> String {
        match self {
            PluginSource::Builtin => "built-in".into(),
            PluginSource::Folder(path) => crate::sanitize::short(&path.display().to_string()),
            PluginSource::Embedded(label) => label.clone(),
        }
    }
}

/// The plugin registry.
pub(crate) struct Plugins {
    /// The plugins folder; `None` for a host without files.
    plugins_dir: Option<PathBuf>,
    /// The folder's index (see [`index`]); `None` for a host without files.
    index_file: Option<PathBuf>,
    /// Components handed over as bytes, described with the folder's.
    embedded: Vec<Arc<[u8]>>,
    component_cache: CacheSetup,
    limits: Limits,
    instance_pool: bool,
    interaction: Arc<dyn Interaction>,
    runtime: OnceLock<Result<Arc<Runtime>, String>>,
    builtins: Vec<OnceCell<Result<Arc<Plugin>, PluginFailure>>>,
    folder: OnceCell<Folder>,
    /// The index as it was on disk when first needed (read once).
    index: OnceLock<Index>,
    /// Folder plugins found through the index alone, by id.
    indexed: Mutex<BTreeMap<String, Arc<Plugin>>>,
}

impl Plugins {
    /// A registry of the built-ins, the files in `plugins_dir` and the
    /// `embedded` components; nothing is loaded until asked for.
    pub fn new(
        plugins_dir: Option<PathBuf>,
        index_file: Option<PathBuf>,
        embedded: Vec<Arc<[u8]>>,
        component_cache: CacheSetup,
        limits: Limits,
        instance_pool: bool,
        interaction: Arc<dyn Interaction>,
    ) -> Plugins {
        Plugins {
            plugins_dir,
            index_file,
            embedded,
            component_cache,
            limits,
            instance_pool,
            interaction,
            runtime: OnceLock::new(),
            builtins: INTERNAL_PLUGINS.iter().map(|_| OnceCell::new()).collect(),
            folder: OnceCell::new(),
            index: OnceLock::new(),
            indexed: Mutex::default(),
        }
    }

    /// The plugin with id `id`: a built-in (loading only that one) or one
    /// from the plugins folder. A folder plugin the index knows, in a file
    /// that has not changed since, is found without reading the folder;
    /// otherwise the folder is scanned.
    pub async fn get(&self, id: &str) -> Result<Option<Arc<Plugin>>, Error> {
        if let Some(i) = INTERNAL_PLUGINS.iter().position(|b| b.id == id) {
            return self
                .builtin(i)
                .await
                .map(Some)
                .map_err(|f| Error::plugin(id, f));
        }
        if let Some(folder) = self.folder.get() {
            return Ok(folder.get(id));
        }
        if let Some(plugin) = self.indexed(id) {
            return Ok(Some(plugin));
        }
        Ok(self.folder().await.get(id))
    }

    /// The folder plugin `id` as the index records it, when exactly one
    /// file of the folder is recorded as answering `id` and that file is
    /// unchanged. No other file is looked at: one added since the index was
    /// written (which might claim the same id) is described by the next
    /// command that scans the folder (`list`, `plugins list`, `status`).
    fn indexed(&self, id: &str) -> Option<Arc<Plugin>> {
        let mut found = self.indexed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(plugin) = found.get(id) {
            return Some(plugin.clone());
        }
        let index = self.index();
        let (path, recorded, digest, described) =
            index.sole_claimant(self.plugins_dir.as_deref()?, id)?;
        if Identity::of(&path).ok()? != recorded {
            return None;
        }
        let (wit_version, raw) = described.outcome().ok()?;
        let plugin = Arc::new(Plugin {
            source: PluginSource::Folder(path),
            metadata: metadata::from_wit(raw).ok()?,
            wit_version,
            digest: digest.to_owned(),
            identity: Some(recorded),
            component: OnceCell::new(),
        });
        found.insert(id.to_owned(), plugin.clone());
        Some(plugin)
    }

    /// The index as it was on disk when first asked for.
    fn index(&self) -> &Index {
        self.index.get_or_init(|| self.load_index())
    }

    /// The index on disk now (empty without files).
    fn load_index(&self) -> Index {
        self.index_file
            .as_deref()
            .map(Index::load)
            .unwrap_or_default()
    }

    /// Writes `index` (see [`Index::save`]); nothing without files.
    fn save_index(&self, index: Index, present: Option<&[&Path]>) -> bool {
        match &self.index_file {
            Some(file) => index.save(file, present),
            None => false,
        }
    }

    /// The component files of the plugins folder (none without files).
    fn folder_files(&self) -> Vec<PathBuf> {
        self.plugins_dir
            .as_deref()
            .map(folder::component_files)
            .unwrap_or_default()
    }

    /// The plugins folder, for changing it: an error for a host without
    /// files.
    fn folder_dir(&self) -> Result<&Path, Error> {
        self.plugins_dir.as_deref().ok_or_else(|| Error::NoFiles {
            what: "a plugins folder".into(),
        })
    }

    /// Every built-in, loaded, in registry order.
    pub async fn builtins(&self) -> Vec<(&'static str, Result<Arc<Plugin>, PluginFailure>)> {
        let mut out = Vec::with_capacity(INTERNAL_PLUGINS.len());
        for (i, b) in INTERNAL_PLUGINS.iter().enumerate() {
            out.push((b.id, self.builtin(i).await));
        }
        out
    }

    async fn builtin(&self, index: usize) -> Result<Arc<Plugin>, PluginFailure> {
        let b = &INTERNAL_PLUGINS[index];
        self.builtins[index]
            .get_or_init(|| async {
                let mut component = None;
                let (wit_version, raw) = match self.index().described(b.sha256) {
                    Some(described) => described.outcome()?,
                    None => {
                        let runtime = self.runtime()?;
                        let loaded = runtime.load_builtin(b)?;
                        let raw = self
                            .describe(&runtime, &loaded, PluginSource::Builtin.describe())
                            .await?;
                        let outcome: Result<_, PluginFailure> =
                            Ok((loaded.wit_version.clone(), raw));
                        self.record(b.sha256, &outcome);
                        component = Some(Ok(loaded));
                        outcome?
                    }
                };
                let metadata = metadata::from_wit(raw)?;
                if metadata.id != b.id {
                    return Err(PluginFailure::Invalid(format!(
                        "reports id `{}`",
                        metadata.id
                    )));
                }
                Ok(Arc::new(Plugin {
                    source: PluginSource::Builtin,
                    metadata,
                    wit_version,
                    digest: String::new(),
                    identity: None,
                    component: OnceCell::new_with(component),
                }))
            })
            .await
            .clone()
    }

    /// Records in the index on disk what the component with contents
    /// `sha256` answered (when that depends on its contents alone).
    fn record(
        &self,
        sha256: &str,
        outcome: &Result<(String, crate::runtime::Metadata), PluginFailure>,
    ) {
        if let Some(described) = Described::of(outcome) {
            let mut index = self.load_index();
            index.set_described(sha256, described);
            self.save_index(index, None);
        }
    }

    /// The plugins folder, scanned once.
    pub async fn folder(&self) -> &Folder {
        self.folder
            .get_or_init(|| async {
                let mut index = self.load_index();
                let files = self.folder_files();
                let folder = Folder::scan(self, &files, &self.embedded, &mut index).await;
                let present: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
                let contents = index.contents(&present);
                if self.save_index(index, Some(&present)) {
                    self.evict_compiled(&contents);
                }
                folder
            })
            .await
    }

    /// Removes the compiled components whose source is gone: neither a
    /// component in the folder (`contents`, SHA-256s) nor a built-in of
    /// this authhost. Runs when the folder changed, so that a removed or
    /// replaced plugin's machine code does not stay in the cache.
    fn evict_compiled(&self, contents: &[String]) {
        let builtin_names: Vec<String> = INTERNAL_PLUGINS
            .iter()
            .map(ComponentCache::builtin_name)
            .collect();
        // Built-ins compiled from source (when their build-time code does
        // not fit the engine) are named by their SHA-256 like folder files.
        let builtin_shas: Vec<String> = INTERNAL_PLUGINS
            .iter()
            .map(|b| b.sha256.to_owned())
            .collect();
        self.component_cache().evict(|name| {
            builtin_names.iter().any(|n| n == name)
                || contents
                    .iter()
                    .chain(&builtin_shas)
                    .any(|sha| name.starts_with(sha.as_str()) && name[sha.len()..].starts_with('-'))
        });
    }

    /// The component cache, without the engine (for removing artefacts).
    fn component_cache(&self) -> ComponentCache {
        ComponentCache::new(
            self.component_cache.dir.clone(),
            self.component_cache.max_bytes,
        )
    }

    /// Describes the component file at `path` as the plugins folder would
    /// (from the index when its contents were described before), and
    /// records the answer.
    pub async fn inspect_file(&self, path: &Path) -> Result<Plugin, PluginFailure> {
        let mut index = self.load_index();
        let result = self.load_file(path, &mut index).await;
        let mut present = self.folder_files();
        present.push(path.to_path_buf());
        let present: Vec<&Path> = present.iter().map(PathBuf::as_path).collect();
        self.save_index(index, Some(&present));
        result
    }

    /// The plugin in the file at `path`: its description from `index` when
    /// the same contents were described before, otherwise loaded and
    /// described now (and recorded in `index`).
    async fn load_file(&self, path: &Path, index: &mut Index) -> Result<Plugin, PluginFailure> {
        let identity =
            Identity::of(path).map_err(|e| PluginFailure::Load(format!("cannot read: {e}")))?;
        let known = index.sha256_of(path, identity).map(str::to_owned);
        let mut bytes = None;
        let digest = match known {
            Some(digest) if index.described(&digest).is_some() => digest,
            _ => {
                let read = ComponentBytes::hash(read_component_file(path)?);
                let digest = read.sha256().to_owned();
                bytes = Some(read);
                digest
            }
        };
        index.set_file(path, identity, &digest);
        let mut component = None;
        let outcome = match (index.described(&digest), bytes) {
            (Some(described), _) => described.outcome(),
            (None, Some(bytes)) => {
                let label = path.file_name().unwrap_or_default().to_string_lossy();
                let source = PluginSource::Folder(path.into()).describe();
                let (result, loaded) = self.describe_new(&bytes, &label, source, index).await?;
                component = loaded;
                result
            }
            (None, None) => unreachable!("an undescribed component is read above"),
        };
        let (wit_version, raw) = outcome?;
        Ok(Plugin {
            source: PluginSource::Folder(path.to_path_buf()),
            metadata: metadata::from_wit(raw)?,
            wit_version,
            digest,
            identity: Some(identity),
            component: OnceCell::new_with(component),
        })
    }

    /// Compiles `component` (labelled `label` in notices) and describes it
    /// as `source`, recording the answer in `index` when it depends on the
    /// contents alone. Returns the description and, when it compiled, the
    /// loaded component to keep.
    async fn describe_new(
        &self,
        component: &ComponentBytes<'_>,
        label: &str,
        source: String,
        index: &mut Index,
    ) -> Result<(DescribeOutcome, Option<LoadOutcome>), PluginFailure> {
        let runtime = self.runtime()?;
        let mut kept = None;
        let result = match runtime.load(component, label) {
            Ok(loaded) => {
                let described = self.describe(&runtime, &loaded, source).await;
                let version = loaded.wit_version.clone();
                kept = Some(Ok(loaded));
                described.map(|m| (version, m))
            }
            Err(failure) => Err(failure),
        };
        if let Some(described) = Described::of(&result) {
            index.set_described(component.sha256(), described);
        }
        Ok((result, kept))
    }

    /// Calls `describe` on a fresh instance of `component` that has no
    /// grants.
    async fn describe(
        &self,
        runtime: &Runtime,
        component: &LoadedComponent,
        source: String,
    ) -> Result<crate::runtime::Metadata, PluginFailure> {
        let call = CallContext {
            plugin: source,
            builtin: false,
            provider: String::new(),
            config_json: "{}".into(),
            interaction: self.interaction.clone(),
        };
        let mut instance = runtime
            .instantiate(component, Arc::new(call), &self.limits)
            .await?;
        instance.describe().await
    }

    /// The compiled component of `plugin`, loaded on first use. A folder
    /// plugin's file must still hold the contents that were described: an
    /// unchanged file (the identity its digest was recorded with) runs the
    /// cached machine code of that digest, without being read; otherwise it
    /// is read and hashed again, and must match.
    async fn component<'p>(
        &self,
        plugin: &'p Plugin,
    ) -> Result<&'p LoadedComponent, PluginFailure> {
        plugin
            .component
            .get_or_init(|| async {
                let path = match &plugin.source {
                    PluginSource::Builtin => {
                        let b = builtin(&plugin.metadata.id)
                            .expect("a built-in plugin has a built-in's id");
                        return self.runtime()?.load_builtin(b);
                    }
                    PluginSource::Embedded(label) => {
                        let bytes = self
                            .embedded
                            .iter()
                            .find(|b| ComponentBytes::hash(&b[..]).sha256() == plugin.digest)
                            .ok_or_else(|| {
                                PluginFailure::Load("no such embedded component".into())
                            })?;
                        return self
                            .runtime()?
                            .load(&ComponentBytes::hash(&bytes[..]), label);
                    }
                    PluginSource::Folder(path) => path,
                };
                if let Some(recorded) = plugin.identity
                    && Identity::of(path).is_ok_and(|now| now == recorded)
                    && let Some(loaded) = self.runtime()?.load_compiled(&plugin.digest)
                {
                    return Ok(loaded);
                }
                let bytes = read_component_file(path)?;
                let component = ComponentBytes::hash(&bytes);
                if component.sha256() != plugin.digest {
                    return Err(PluginFailure::Load(
                        "the file changed since it was described; run the command again".into(),
                    ));
                }
                let label = path.file_name().unwrap_or_default().to_string_lossy();
                self.runtime()?.load(&component, &label)
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A fresh instance of `plugin` for one call, with no grants yet.
    pub async fn instance(
        &self,
        plugin: &Plugin,
        provider: &str,
        config_json: String,
    ) -> Result<Instance, Error> {
        let id = &plugin.metadata.id;
        let call = CallContext {
            plugin: id.clone(),
            builtin: matches!(plugin.source, PluginSource::Builtin),
            provider: provider.to_owned(),
            config_json,
            interaction: self.interaction.clone(),
        };
        let component = self
            .component(plugin)
            .await
            .map_err(|f| Error::plugin(id, f))?;
        self.runtime()
            .map_err(|f| Error::plugin(id, f))?
            .instantiate(component, Arc::new(call), &self.limits)
            .await
            .map_err(|f| Error::plugin(id, f))
    }

    /// The engine, made on first use.
    fn runtime(&self) -> Result<Arc<Runtime>, PluginFailure> {
        self.runtime
            .get_or_init(|| {
                Runtime::new(
                    self.component_cache.clone(),
                    &self.limits,
                    self.instance_pool,
                )
                .map(Arc::new)
                .map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(PluginFailure::Load)
    }
}

/// Reads a component file, refusing what is not a regular file or is larger
/// than [`MAX_PLUGIN_FILE`].
fn read_component_file(path: &Path) -> Result<Vec<u8>, PluginFailure> {
    crate::component_file::read(path, MAX_PLUGIN_FILE)
}
