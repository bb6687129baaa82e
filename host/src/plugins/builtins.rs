//! The providers compiled into authhost: [`INTERNAL_PLUGINS`].
//!
//! Each is a component built from `plugins/` by the build script and
//! embedded in the binary, with its machine code precompiled for the
//! runtime's engine. Built-ins are granted what they request (see
//! `crate::capability::policy`): their code ships with authhost.

pub use crate::runtime::BuiltinPlugin;

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

/// The built-ins that are a kind of provider rather than one: each is a
/// provider only through a `[providers.NAME]` table that uses it (or a
/// catalog entry), never under its own id. The others (`openrouter`) are
/// themselves ready providers.
pub const GENERIC_PLUGINS: &[&str] = &["api-key", "oauth2", "shell-helper"];

/// Whether `id` is one of the [`GENERIC_PLUGINS`].
pub fn is_generic(id: &str) -> bool {
    GENERIC_PLUGINS.contains(&id)
}

/// The built-in with id `id`.
pub fn builtin(id: &str) -> Option<&'static BuiltinPlugin> {
    INTERNAL_PLUGINS.iter().find(|b| b.id == id)
}

#[cfg(test)]
mod tests {
    use crate::runtime::ComponentBytes;

    #[test]
    fn a_builtin_digest_from_the_build_matches_its_bytes() {
        for builtin in super::INTERNAL_PLUGINS {
            if builtin.component.is_empty() {
                continue;
            }
            assert_eq!(
                ComponentBytes::builtin(builtin).sha256(),
                ComponentBytes::hash(builtin.component).sha256(),
                "{}",
                builtin.id
            );
        }
    }
}
