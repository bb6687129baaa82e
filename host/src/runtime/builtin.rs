//! A component compiled into authhost, with its precompiled machine code
//! (the list of built-ins is `crate::plugins::INTERNAL_PLUGINS`).

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

impl std::fmt::Debug for BuiltinPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinPlugin")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
