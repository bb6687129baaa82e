//! The WebAssembly side: one engine, the linker with every import, a disk
//! cache of compiled components, and plugin calls under limits.

mod builtin;
mod cache;
mod component_bytes;
mod engine_config;
mod guest_output;
mod imports;
mod limits;
mod linking;
mod outbound;
mod state;
mod wit;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{
    Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline,
};

pub use builtin::BuiltinPlugin;
pub(crate) use cache::ComponentCache;
pub(crate) use component_bytes::ComponentBytes;
pub use limits::Limits;
pub(crate) use state::CallContext;
pub use state::Denials;
#[cfg(test)]
pub(crate) use wit::Method;
pub(crate) use wit::{
    AccountInfo, Credential as WitCredential, Metadata, Reason, Resolved, Secret as WitSecret,
    WitError,
};
pub use wit::{MethodKind, SUPPORTED as SUPPORTED_WIT_VERSIONS, WIT_VERSION};

use crate::capability::Granter;
use crate::error::PluginFailure;
use limits::{CpuBudget, Stop, TICK};
use linking::Needs;
use state::PluginState;
use wit::{Provider, ProviderPre};

/// The engine, the linker and the component cache. Created on first use:
/// commands that run no plugin never pay for it.
pub struct Runtime {
    engine: Engine,
    /// Linkers made on first use, one for each set of optional WASI
    /// interfaces components import (see [`linking`]).
    linkers: [OnceLock<Linker<PluginState>>; Needs::COUNT],
    cache: ComponentCache,
    /// Whether compiling a component shows a notice on stderr.
    notices: bool,
}

/// Where compiled components are cached, and how compiling shows.
#[derive(Debug, Clone)]
pub(crate) struct CacheSetup {
    /// The cache directory (`cache/components/`); `None`: no cache, every
    /// component is compiled in memory (built-ins use their build-time
    /// code).
    pub dir: Option<PathBuf>,
    /// The most bytes of compiled components kept there.
    pub max_bytes: u64,
    /// Show a one-line notice on stderr while a component that is not
    /// cached is compiled (the CLI, when stderr is a terminal).
    pub notices: bool,
}

/// A compiled, linked component, ready to instantiate.
pub struct LoadedComponent {
    pre: ProviderPre,
    /// The `authhost:provider` version it was built against.
    pub wit_version: String,
}

impl Runtime {
    /// Creates the engine (epoch interruption on, a ticker thread advancing
    /// it, the pooling allocator when `pooled`) and links every import.
    /// Compiled components are cached as `cache` says.
    pub(crate) fn new(
        cache: CacheSetup,
        limits: &Limits,
        pooled: bool,
    ) -> wasmtime::Result<Runtime> {
        let mut config = engine_config::on_demand();
        if !pooled {
            let engine = Engine::new(&config)?;
            return Runtime::with_engine(engine, cache);
        }
        // Pooling: instance memory is reserved once and reused, which makes a
        // fresh instance per call cheaper; setting the pool up costs a few
        // milliseconds, so it pays off only in a long-running process. The
        // memory settings that shape compiled code (reservation, guard) stay
        // those of the on-demand engine, so the built-ins' build-time machine
        // code fits this engine too (a smaller reservation made every pooled
        // host compile them again: ~390 ms at the first call instead of
        // ~8 ms). The pool caps each memory at what a plugin may use; the
        // reservation is address space only (64 memories of 4 GiB here).
        // Where the pool cannot be reserved, allocate on demand.
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(limits)));
        let engine = Engine::new(&config).or_else(|e| {
            tracing::debug!("pooling allocator unavailable ({e}); allocating on demand");
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)
        })?;
        Runtime::with_engine(engine, cache)
    }

    fn with_engine(engine: Engine, cache: CacheSetup) -> wasmtime::Result<Runtime> {
        start_epoch_ticker(&engine);
        Ok(Runtime {
            engine,
            linkers: std::array::from_fn(|_| OnceLock::new()),
            cache: ComponentCache::new(cache.dir, cache.max_bytes),
            notices: cache.notices,
        })
    }

    /// A linker with the imports `needs` asks for (made on first use).
    fn linker(&self, needs: Needs) -> Result<&Linker<PluginState>, PluginFailure> {
        let cell = &self.linkers[needs.index()];
        if let Some(linker) = cell.get() {
            return Ok(linker);
        }
        let linker = linking::linker(&self.engine, needs)
            .map_err(|e| PluginFailure::Load(root_cause(&e)))?;
        Ok(cell.get_or_init(|| linker))
    }

    /// Validates, compiles (or loads from the cache) and links `bytes`;
    /// `label` names it in the compile notice (a file name, safe to print).
    pub fn load(
        &self,
        component: &ComponentBytes,
        label: &str,
    ) -> Result<LoadedComponent, PluginFailure> {
        check_header(component.bytes())?;
        let component = self.compile(component, label)?;
        self.link(component)
    }

    /// The component whose SHA-256 is `sha256`, from the machine code the
    /// cache holds for it; `None` when it holds none (or none it trusts)
    /// for this engine, or the code does not link.
    pub fn load_compiled(&self, sha256: &str) -> Option<LoadedComponent> {
        let name = ComponentCache::compiled_name(&self.engine, sha256);
        let component = self.cache.load(&self.engine, &name)?;
        self.link(component).ok()
    }

    /// Loads a built-in component from the machine code the build script
    /// made for it, falling back to [`Runtime::load`] when that code does
    /// not fit this engine (e.g. the pooling allocator's).
    pub fn load_builtin(&self, builtin: &BuiltinPlugin) -> Result<LoadedComponent, PluginFailure> {
        match self.builtin_code(builtin) {
            Some(component) => self.link(component),
            None => self.load(&ComponentBytes::builtin(builtin), builtin.id),
        }
    }

    /// The build-time machine code of `builtin`. It is mapped from its copy
    /// in the cache, so that only the pages in use are read; the first time
    /// (or when that copy cannot be trusted), it is copied out of the binary
    /// and the cache copy is written.
    fn builtin_code(&self, builtin: &BuiltinPlugin) -> Option<Component> {
        if builtin.precompiled.is_empty() {
            return None;
        }
        let name = ComponentCache::builtin_name(builtin);
        if let Some(component) = self.cache.load(&self.engine, &name) {
            return Some(component);
        }
        // SAFETY: `precompiled` was produced by `Engine::precompile_component`
        // in authhost's own build script and is embedded in this binary;
        // wasmtime checks that it matches this engine's version and
        // configuration before using it.
        match unsafe { Component::deserialize(&self.engine, builtin.precompiled) } {
            Ok(component) => {
                self.cache.store(&name, builtin.precompiled);
                Some(component)
            }
            Err(e) => {
                tracing::debug!("compiling a built-in instead of using its build-time code: {e}");
                None
            }
        }
    }

    fn link(&self, component: Component) -> Result<LoadedComponent, PluginFailure> {
        let (wit_version, served_by) = provider_export_version(&self.engine, &component)?;
        let needs = Needs::of(&self.engine, &component, served_by);
        let pre = self
            .linker(needs)?
            .instantiate_pre(&component)
            .map_err(|e| {
                PluginFailure::Load(format!(
                    "it needs an import this host does not provide: {}",
                    root_cause(&e)
                ))
            })?;
        let pre =
            ProviderPre::new(served_by, pre).map_err(|e| PluginFailure::Load(root_cause(&e)))?;
        Ok(LoadedComponent { pre, wit_version })
    }

    fn compile(&self, component: &ComponentBytes, label: &str) -> Result<Component, PluginFailure> {
        let bytes = component.bytes();
        let name = ComponentCache::compiled_name(&self.engine, component.sha256());
        if let Some(component) = self.cache.load(&self.engine, &name) {
            return Ok(component);
        }
        let notice = self
            .notices
            .then(|| CompileNotice::start(label, bytes.len()));
        let compiled = Component::new(&self.engine, bytes);
        if let Some(notice) = notice {
            notice.finish(compiled.is_ok());
        }
        let component = compiled
            .map_err(|e| PluginFailure::Load(format!("invalid component: {}", root_cause(&e))))?;
        match component.serialize() {
            Ok(code) => self.cache.store(&name, &code),
            Err(e) => tracing::debug!("cannot serialize a compiled component: {e}"),
        }
        Ok(component)
    }

    /// A fresh instance of `component` for one call.
    pub async fn instantiate(
        &self,
        component: &LoadedComponent,
        call: Arc<CallContext>,
        limits: &Limits,
    ) -> Result<Instance, PluginFailure> {
        let max_memory =
            usize::try_from(limits.memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        let state = PluginState::new(call, max_memory, CpuBudget::new(limits.cpu_ms));
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut cx| {
            if cx.data_mut().cpu.spend_tick() {
                // Yield so a wall-clock timeout around the call can fire.
                Ok(UpdateDeadline::Yield(1))
            } else {
                Err(wasmtime::Error::new(Stop::Cpu))
            }
        });
        let limits = *limits;
        let provider = guard(&limits, limits.call_timeout_ms, "call_timeout_ms", async {
            component.pre.instantiate(&mut store).await
        })
        .await?;
        Ok(Instance {
            store,
            provider,
            limits,
        })
    }
}

/// The line on stderr while a component is compiled:
/// `authhost: compiling plugin acme.wasm (12.3 MB), once… done in 9.8 s`.
struct CompileNotice {
    started: std::time::Instant,
}

impl CompileNotice {
    fn start(label: &str, size: usize) -> CompileNotice {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "authhost: compiling plugin {} ({:.1} MB), once… ",
            crate::sanitize::short(label),
            size as f64 / 1e6
        );
        let _ = err.flush();
        CompileNotice {
            started: std::time::Instant::now(),
        }
    }

    fn finish(self, ok: bool) {
        let seconds = self.started.elapsed().as_secs_f64();
        use std::io::Write;
        // A closed stderr drops the notice rather than panicking.
        let mut err = std::io::stderr().lock();
        let _ = if ok {
            writeln!(err, "done in {seconds:.1} s")
        } else {
            writeln!(err, "failed after {seconds:.1} s")
        };
    }
}

/// One instantiated plugin; dropped after the call it was made for.
pub struct Instance {
    store: Store<PluginState>,
    provider: Provider,
    limits: Limits,
}

impl Instance {
    /// Calls `describe` on an instance with no grants: its imports give
    /// nothing, and it must answer within `describe_timeout_ms`.
    pub async fn describe(&mut self) -> Result<Metadata, PluginFailure> {
        debug_assert!(self.store.data().describing());
        let ms = self.limits.describe_timeout_ms;
        let result = guard(
            &self.limits,
            ms,
            "describe_timeout_ms",
            self.provider.describe(&mut self.store),
        )
        .await;
        self.with_stderr(result)
    }

    /// A crash, with the last lines the guest wrote to stderr: its panic
    /// message, uncaught exception or traceback.
    fn with_stderr<T>(&self, result: Result<T, PluginFailure>) -> Result<T, PluginFailure> {
        match result {
            Err(PluginFailure::Trap(mut message)) => {
                let tail = self.store.data().stderr.tail();
                if !tail.is_empty() {
                    message = format!("{message}; its stderr ended with: {}", tail.join(" | "));
                }
                // A plugin that crashed after a denial (an uncaught `fetch`
                // error) most likely crashed because of it.
                if let Some(note) = self.denied().note() {
                    message = format!("{message} ({note})");
                }
                Err(PluginFailure::Trap(message))
            }
            other => other,
        }
    }

    /// Puts the plugin's grants in force for the calls that follow.
    pub fn grant(&mut self, granter: Granter) {
        self.store.data().grants.set(granter);
    }

    /// The capabilities the granter denied so far in this instance.
    pub fn denied(&self) -> Denials {
        self.store.data().grants.denied()
    }

    /// Calls `login`.
    pub async fn login(
        &mut self,
        method: &str,
        options: &[(String, String)],
    ) -> Result<Result<WitCredential, WitError>, PluginFailure> {
        let call = self.provider.login(&mut self.store, method, options);
        let result = guard(
            &self.limits,
            self.limits.login_timeout_ms,
            "login_timeout_ms",
            call,
        )
        .await;
        self.with_stderr(result)
    }

    /// Calls `resolve`, with the stored credential when there is one.
    pub async fn resolve(
        &mut self,
        reason: Reason,
        stored: Option<&WitCredential>,
    ) -> Result<Result<Resolved, WitError>, PluginFailure> {
        let call = self.provider.resolve(&mut self.store, reason, stored);
        let result = call_guard(&self.limits, call).await;
        self.with_stderr(result)
    }

    /// Calls `refresh`.
    pub async fn refresh(
        &mut self,
        stored: &WitCredential,
    ) -> Result<Result<WitCredential, WitError>, PluginFailure> {
        let call = self.provider.refresh(&mut self.store, stored);
        let result = call_guard(&self.limits, call).await;
        self.with_stderr(result)
    }

    /// Calls `check`.
    pub async fn check(
        &mut self,
        credential: &WitCredential,
    ) -> Result<Result<AccountInfo, WitError>, PluginFailure> {
        let call = self.provider.check(&mut self.store, credential);
        let result = call_guard(&self.limits, call).await;
        self.with_stderr(result)
    }

    /// Calls `revoke`.
    pub async fn revoke(
        &mut self,
        stored: &WitCredential,
    ) -> Result<Result<(), WitError>, PluginFailure> {
        let call = self.provider.revoke(&mut self.store, stored);
        let result = call_guard(&self.limits, call).await;
        self.with_stderr(result)
    }
}

/// [`guard`] with the timeout of non-interactive calls (`call_timeout_ms`).
async fn call_guard<T>(
    limits: &Limits,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> Result<T, PluginFailure> {
    guard(limits, limits.call_timeout_ms, "call_timeout_ms", call).await
}

/// Runs a guest call under the wall-clock timeout `ms` and turns traps and
/// limit hits into [`PluginFailure`]s.
async fn guard<T>(
    limits: &Limits,
    ms: u64,
    limit: &'static str,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> Result<T, PluginFailure> {
    match tokio::time::timeout(Duration::from_millis(ms), call).await {
        Err(_) => Err(PluginFailure::Timeout { ms, limit }),
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(match Stop::of(&e) {
            Some(stop) => stop.failure(limits),
            None => PluginFailure::Trap(trap_message(&e)),
        }),
    }
}

fn trap_message(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => root_cause(e),
    }
}

fn root_cause(e: &wasmtime::Error) -> String {
    e.chain().last().map(|c| c.to_string()).unwrap_or_default()
}

/// Clear reasons for files that are not components at all.
fn check_header(bytes: &[u8]) -> Result<(), PluginFailure> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
    if bytes.is_empty() {
        return Err(PluginFailure::Load("the file is empty".into()));
    }
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(PluginFailure::Load("not a WebAssembly file".into()));
    }
    if bytes[4..8] == CORE_VERSION {
        return Err(PluginFailure::Load(
            "a core WebAssembly module, not a component (build it for the wasm32-wasip2 target)"
                .into(),
        ));
    }
    Ok(())
}

/// The version of `authhost:provider/provider` the component exports, and
/// the supported version that serves it.
fn provider_export_version(
    engine: &Engine,
    component: &Component,
) -> Result<(String, &'static str), PluginFailure> {
    let prefix = format!("{}@", wit::PROVIDER_EXPORT);
    let version = component
        .component_type()
        .exports(engine)
        .find_map(|(name, _)| name.strip_prefix(&prefix).map(str::to_owned))
        .ok_or_else(|| {
            PluginFailure::Load(format!(
                "it does not export {}: not an authhost provider",
                wit::PROVIDER_EXPORT
            ))
        })?;
    let served_by = wit::version_for(&version)?;
    Ok((version, served_by))
}

/// Plugin instances that can be alive at once (each call uses one).
const POOLED_INSTANCES: u32 = 32;

fn pooling(limits: &Limits) -> PoolingAllocationConfig {
    let max_memory =
        usize::try_from(limits.memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOLED_INSTANCES)
        .total_core_instances(POOLED_INSTANCES * 4)
        .total_memories(POOLED_INSTANCES * 2)
        .total_tables(POOLED_INSTANCES * 4)
        .max_memories_per_module(2)
        .max_memory_size(max_memory)
        // Returning memory to the OS is one `madvise` per instance; batch
        // them (a tenth of the cost of a fresh-instance call).
        .decommit_batch_size(16);
    pool
}

/// Advances the engine's epoch every [`TICK`] until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("authhost-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .expect("spawning the epoch thread");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_explained() {
        let reason = |b: &[u8]| check_header(b).unwrap_err().to_string();
        assert!(reason(b"").contains("empty"));
        assert!(reason(b"hello world").contains("not a WebAssembly"));
        assert!(reason(b"\0asm\x01\0\0\0").contains("core WebAssembly module"));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    /// The built-ins' build-time machine code fits the pooled engine as
    /// well as the on-demand one: neither compiles them again.
    #[test]
    fn both_engines_use_the_build_time_code_of_the_built_ins() {
        for pooled in [false, true] {
            let cache = CacheSetup {
                dir: None,
                max_bytes: 0,
                notices: false,
            };
            let runtime = Runtime::new(cache, &Limits::default(), pooled).unwrap();
            for builtin in crate::plugins::INTERNAL_PLUGINS {
                assert!(
                    runtime.builtin_code(builtin).is_some(),
                    "{} is compiled again by the {} engine",
                    builtin.id,
                    if pooled { "pooled" } else { "on-demand" }
                );
            }
        }
    }
}
