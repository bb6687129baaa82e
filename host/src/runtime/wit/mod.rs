//! The WIT versions this host speaks, and the one dispatch type over them.
//!
//! Each released version of `authhost:provider` (a folder under `wit/`) has
//! one module here: its `bindgen!` bindings, the conversion of its exports'
//! types to the version-neutral types below, and its import traits
//! implemented by calling the shared implementations in
//! [`super::imports`]. Adding a version is adding a module and a variant to
//! [`ProviderPre`] and [`Provider`]; nothing outside this folder changes.

pub(super) mod v0_1;

use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker};

use super::state::PluginState;
use crate::error::PluginFailure;
use crate::plugins::MethodKind;

/// The versions of `authhost:provider` this host implements, oldest first.
pub const SUPPORTED: &[&str] = &[v0_1::VERSION];

/// The newest version: what `authhost plugins list` reports as current and
/// what new plugins should target.
pub const WIT_VERSION: &str = v0_1::VERSION;

/// The export every provider has, without its version.
pub(super) const PROVIDER_EXPORT: &str = "authhost:provider/provider";

/// Adds the imports of every supported version to `linker`.
pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1::add_to_linker(linker)
}

/// The supported version a component exporting `found` is served by:
/// semver-compatible as the component model applies it (same major, and for
/// 0.x the same minor).
pub(super) fn version_for(found: &str) -> Result<&'static str, PluginFailure> {
    SUPPORTED
        .iter()
        .copied()
        .find(|supported| compatible(found, supported))
        .ok_or_else(|| PluginFailure::Incompatible {
            found: found.to_owned(),
            supported: SUPPORTED.join(", "),
        })
}

fn compatible(found: &str, supported: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split(['.', '-', '+']);
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parts(found), parts(supported)) {
        (Some((0, a)), Some((0, b))) => a == b,
        (Some((a, _)), Some((b, _))) => a == b,
        _ => false,
    }
}

/// A linked component of some supported version, ready to instantiate.
pub(super) enum ProviderPre {
    V0_1(v0_1::PluginPre<PluginState>),
}

impl ProviderPre {
    /// Wraps `pre` in the bindings of `version` (one of [`SUPPORTED`]).
    pub(super) fn new(
        version: &str,
        pre: InstancePre<PluginState>,
    ) -> wasmtime::Result<ProviderPre> {
        match version {
            v0_1::VERSION => Ok(ProviderPre::V0_1(v0_1::PluginPre::new(pre)?)),
            other => Err(wasmtime::format_err!("unsupported WIT version {other}")),
        }
    }

    pub(super) async fn instantiate(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<Provider> {
        match self {
            ProviderPre::V0_1(pre) => Ok(Provider::V0_1(pre.instantiate_async(store).await?)),
        }
    }
}

/// An instantiated provider of some supported version.
pub(super) enum Provider {
    V0_1(v0_1::Plugin),
}

impl Provider {
    pub(super) async fn describe(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<Metadata> {
        match self {
            Provider::V0_1(p) => v0_1::describe(p, store).await,
        }
    }

    pub(super) async fn login(
        &self,
        store: &mut Store<PluginState>,
        method: &str,
        options: &[(String, String)],
    ) -> wasmtime::Result<Result<Credential, WitError>> {
        match self {
            Provider::V0_1(p) => v0_1::login(p, store, method, options).await,
        }
    }

    pub(super) async fn resolve(
        &self,
        store: &mut Store<PluginState>,
        reason: Reason,
    ) -> wasmtime::Result<Result<Resolved, WitError>> {
        match self {
            Provider::V0_1(p) => v0_1::resolve(p, store, reason).await,
        }
    }
}

// Version-neutral forms of the contract's types. Each version module
// converts its own types to and from these.

/// What `describe` returned, unchecked (kept as is in the plugins index).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Metadata {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub methods: Vec<Method>,
    pub capabilities: Vec<String>,
    pub resolves: bool,
}

/// One login method as the plugin described it, unchecked.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Method {
    pub id: String,
    pub label: String,
    pub kind: MethodKind,
}

/// Why the host asks `resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Login,
    Token,
    Refresh,
}

/// A credential as a plugin returned it, unchecked.
pub enum Credential {
    ApiKey(String),
    OAuth {
        access: String,
        refresh: Option<String>,
        expires: Option<u64>,
    },
}

/// What `resolve` returned.
pub struct Resolved {
    pub credential: Credential,
    pub cache_until: Option<u64>,
}

/// The contract's `error` variant; also what the shared import
/// implementations return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitError {
    Cancelled,
    Denied(String),
    Timeout(String),
    Network(String),
    InvalidResponse(String),
    CapabilityDenied(String),
    Other(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_compatibility() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.0.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("x", "0.1.0"));
        assert_eq!(version_for("0.1.7").unwrap(), "0.1.0");
        assert!(matches!(
            version_for("0.9.0"),
            Err(PluginFailure::Incompatible { .. })
        ));
    }
}
