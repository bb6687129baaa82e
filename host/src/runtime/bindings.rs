//! Rust bindings of `wit/provider.wit` for the host side.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "wit/0.1.0",
    imports: {
        // Resource handles come from wasmtime; a bad one is a host bug, so
        // the listener's functions may trap instead of inventing an error.
        "authhost:provider/loopback": async | trappable,
        default: async,
    },
    exports: { default: async },
    with: {
        "authhost:provider/loopback.listener": crate::loopback::Listener,
    },
});

pub use self::authhost::provider::types::{Credential as WitCredential, Error as WitError};
pub use self::exports::authhost::provider::provider::{Metadata, MethodKind, Reason, Resolved};

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = "0.1.0";

/// The export every provider must have, without its version.
pub const PROVIDER_EXPORT: &str = "authhost:provider/provider";
