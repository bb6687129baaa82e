//! The providers compiled into authhost: [`INTERNAL_PLUGINS`].
//!
//! Each is a component built from `plugins/` by the build script and
//! embedded in the binary, with its machine code precompiled for the
//! runtime's engine. Built-ins are granted what they request (see
//! `crate::policy`): their code ships with authhost.

/// A provider compiled into authhost.
pub struct BuiltinPlugin {
    /// The plugin id (also the id its component reports).
    pub id: &'static str,
    /// The component, built from `plugins/` by the build script.
    pub component: &'static [u8],
    /// Its machine code for the default engine configuration, made by the
    /// build script (empty if it could not be made).
    pub precompiled: &'static [u8],
    /// A fingerprint of `precompiled`, naming its copy in the cache.
    pub precompiled_id: &'static str,
    /// SHA-256 of `component` (hex), computed by the build script: the key
    /// of its `describe` answer in the plugins index.
    pub sha256: &'static str,
}

/// The built-in providers. Folder plugins join them in the same registry;
/// one whose id clashes with a built-in is refused.
pub static INTERNAL_PLUGINS: &[BuiltinPlugin] = &[
    BuiltinPlugin {
        id: "shell-helper",
        component: include_bytes!(concat!(env!("OUT_DIR"), "/shell_helper.wasm")),
        precompiled: include_bytes!(concat!(env!("OUT_DIR"), "/shell_helper.cwasm")),
        precompiled_id: include_str!(concat!(env!("OUT_DIR"), "/shell_helper.cwasm.id")),
        sha256: include_str!(concat!(env!("OUT_DIR"), "/shell_helper.wasm.sha256")),
    },
    BuiltinPlugin {
        id: "openrouter",
        component: include_bytes!(concat!(env!("OUT_DIR"), "/openrouter.wasm")),
        precompiled: include_bytes!(concat!(env!("OUT_DIR"), "/openrouter.cwasm")),
        precompiled_id: include_str!(concat!(env!("OUT_DIR"), "/openrouter.cwasm.id")),
        sha256: include_str!(concat!(env!("OUT_DIR"), "/openrouter.wasm.sha256")),
    },
    BuiltinPlugin {
        id: "oauth2",
        component: include_bytes!(concat!(env!("OUT_DIR"), "/oauth2.wasm")),
        precompiled: include_bytes!(concat!(env!("OUT_DIR"), "/oauth2.cwasm")),
        precompiled_id: include_str!(concat!(env!("OUT_DIR"), "/oauth2.cwasm.id")),
        sha256: include_str!(concat!(env!("OUT_DIR"), "/oauth2.wasm.sha256")),
    },
    BuiltinPlugin {
        id: "api-key",
        component: include_bytes!(concat!(env!("OUT_DIR"), "/api_key.wasm")),
        precompiled: include_bytes!(concat!(env!("OUT_DIR"), "/api_key.cwasm")),
        precompiled_id: include_str!(concat!(env!("OUT_DIR"), "/api_key.cwasm.id")),
        sha256: include_str!(concat!(env!("OUT_DIR"), "/api_key.wasm.sha256")),
    },
];

/// The built-in with id `id`.
pub fn builtin(id: &str) -> Option<&'static BuiltinPlugin> {
    INTERNAL_PLUGINS.iter().find(|b| b.id == id)
}

impl std::fmt::Debug for BuiltinPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinPlugin")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
