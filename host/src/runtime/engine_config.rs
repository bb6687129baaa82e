//! The engine configuration, shared by the runtime and the build script
//! (which precompiles the built-in components for exactly this
//! configuration).

/// The configuration of an engine that allocates instances on demand.
pub fn on_demand() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    config
}
