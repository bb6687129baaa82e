//! The WIT versions this host speaks, and the one dispatch type over them.
//!
//! Each released version of `authhost:provider` (a folder under `wit/`) has
//! one module here: its `bindgen!` bindings, the conversion of its exports'
//! types to the version-neutral types below, and its import traits
//! implemented by calling the shared implementations in
//! [`super::imports`]. Adding a version is adding a module and a variant to
//! [`ProviderPre`] and [`Provider`]; nothing outside this folder changes.

/// What every version module starts with: the `bindgen!` of the version's
/// `plugin` world (`$path` under the crate, the same settings for every
/// version), the names the shared implementations use, `VERSION`, and
/// `add_to_linker`.
macro_rules! provider_bindings {
    ($path:literal, $version:literal) => {
        wasmtime::component::bindgen!({
            world: "plugin",
            path: $path,
            imports: {
                // Resource handles come from wasmtime; a bad one is a host
                // bug, so the listener's functions may trap instead of
                // inventing an error.
                "authhost:provider/loopback": async | trappable,
                default: async,
            },
            exports: { default: async },
            with: {
                "authhost:provider/loopback.listener": crate::loopback::Listener,
            },
        });

        use wasmtime::Store;
        use wasmtime::component::{HasSelf, Linker, Resource};

        use super::MethodKind;
        use super::{AccountInfo, Credential, Metadata, Method, Reason, Resolved, Secret, WitError};
        use crate::loopback::Listener;
        use crate::runtime::imports::{self, Event, RunCommand, RunRequest};
        use crate::runtime::state::PluginState;

        /// The version this module implements.
        pub const VERSION: &str = $version;

        pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
            Plugin::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |state| state)
        }
    };
}

#[macro_use]
mod export_impls;
#[macro_use]
mod import_impls;
pub(super) mod v0_1;
pub(super) mod v0_2;
pub(super) mod v0_3;

use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker};

use super::state::PluginState;
use crate::error::PluginFailure;

/// The versions of `authhost:provider` this host implements, oldest first.
pub const SUPPORTED: &[&str] = &[v0_1::VERSION, v0_2::VERSION, v0_3::VERSION];

/// The newest version: what `authhost plugins list` reports as current and
/// what new plugins should target.
pub const WIT_VERSION: &str = v0_3::VERSION;

/// The export every provider has, without its version.
pub(super) const PROVIDER_EXPORT: &str = "authhost:provider/provider";

/// Adds the imports of `version` (one of [`SUPPORTED`]) to `linker`.
pub(super) fn add_to_linker(
    linker: &mut Linker<PluginState>,
    version: &str,
) -> wasmtime::Result<()> {
    match version {
        v0_1::VERSION => v0_1::add_to_linker(linker),
        v0_2::VERSION => v0_2::add_to_linker(linker),
        v0_3::VERSION => v0_3::add_to_linker(linker),
        other => Err(wasmtime::format_err!("unsupported WIT version {other}")),
    }
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
            supported: SUPPORTED
                .iter()
                .map(|v| format!("authhost:provider@{v}"))
                .collect::<Vec<_>>()
                .join(", "),
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
    V0_2(v0_2::PluginPre<PluginState>),
    V0_3(v0_3::PluginPre<PluginState>),
}

impl ProviderPre {
    /// Wraps `pre` in the bindings of `version` (one of [`SUPPORTED`]).
    pub(super) fn new(
        version: &str,
        pre: InstancePre<PluginState>,
    ) -> wasmtime::Result<ProviderPre> {
        match version {
            v0_1::VERSION => Ok(ProviderPre::V0_1(v0_1::PluginPre::new(pre)?)),
            v0_2::VERSION => Ok(ProviderPre::V0_2(v0_2::PluginPre::new(pre)?)),
            v0_3::VERSION => Ok(ProviderPre::V0_3(v0_3::PluginPre::new(pre)?)),
            other => Err(wasmtime::format_err!("unsupported WIT version {other}")),
        }
    }

    pub(super) async fn instantiate(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<Provider> {
        match self {
            ProviderPre::V0_1(pre) => Ok(Provider::V0_1(pre.instantiate_async(store).await?)),
            ProviderPre::V0_2(pre) => Ok(Provider::V0_2(pre.instantiate_async(store).await?)),
            ProviderPre::V0_3(pre) => Ok(Provider::V0_3(pre.instantiate_async(store).await?)),
        }
    }
}

/// An instantiated provider of some supported version.
pub(super) enum Provider {
    V0_1(v0_1::Plugin),
    V0_2(v0_2::Plugin),
    V0_3(v0_3::Plugin),
}

/// Calls the export `$f` of whichever version `$self` is.
macro_rules! dispatch {
    ($self:ident, $f:ident($($arg:expr),*)) => {
        match $self {
            Provider::V0_1(p) => v0_1::$f(p, $($arg),*).await,
            Provider::V0_2(p) => v0_2::$f(p, $($arg),*).await,
            Provider::V0_3(p) => v0_3::$f(p, $($arg),*).await,
        }
    };
}

impl Provider {
    pub(super) async fn describe(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<Metadata> {
        dispatch!(self, describe(store))
    }

    pub(super) async fn login(
        &self,
        store: &mut Store<PluginState>,
        method: &str,
        options: &[(String, String)],
    ) -> wasmtime::Result<Result<Credential, WitError>> {
        dispatch!(self, login(store, method, options))
    }

    pub(super) async fn resolve(
        &self,
        store: &mut Store<PluginState>,
        reason: Reason,
        stored: Option<&Credential>,
    ) -> wasmtime::Result<Result<Resolved, WitError>> {
        dispatch!(self, resolve(store, reason, stored))
    }

    pub(super) async fn refresh(
        &self,
        store: &mut Store<PluginState>,
        stored: &Credential,
    ) -> wasmtime::Result<Result<Credential, WitError>> {
        dispatch!(self, refresh(store, stored))
    }

    pub(super) async fn check(
        &self,
        store: &mut Store<PluginState>,
        credential: &Credential,
    ) -> wasmtime::Result<Result<AccountInfo, WitError>> {
        dispatch!(self, check(store, credential))
    }

    pub(super) async fn revoke(
        &self,
        store: &mut Store<PluginState>,
        stored: &Credential,
    ) -> wasmtime::Result<Result<(), WitError>> {
        dispatch!(self, revoke(store, stored))
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
    /// The optional exports it implements (0.1.0 has only `resolve`).
    pub resolves: bool,
    #[serde(default)]
    pub refreshes: bool,
    #[serde(default)]
    pub checks: bool,
    #[serde(default)]
    pub revokes: bool,
    /// Whether `resolve` receives the stored credential (0.2.0 on).
    #[serde(default)]
    pub resolves_from_stored: bool,
    /// The option names the plugin reads, when it says (0.2.0 on).
    #[serde(default)]
    pub options: Option<Vec<String>>,
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

/// The secret of a credential as a plugin returned it, unchecked.
#[derive(Clone)]
pub enum Secret {
    ApiKey(String),
    OAuth {
        access: String,
        refresh: Option<String>,
        expires: Option<u64>,
    },
}

/// A credential as a plugin returned it (unchecked), or as the host hands
/// it to a plugin.
#[derive(Clone)]
pub struct Credential {
    pub secret: Secret,
    pub extra: Vec<(String, String)>,
}

/// What `resolve` returned.
pub struct Resolved {
    pub credential: Credential,
    pub cache_until: Option<u64>,
}

/// What `check` returned, unchecked.
pub struct AccountInfo {
    pub account: Option<String>,
    pub expires: Option<u64>,
    pub details: Vec<(String, String)>,
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

/// How a login method works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MethodKind {
    /// The user pastes a key.
    ApiKey,
    /// A browser OAuth flow. Written `oauth`, the contract's name (indexes
    /// written by earlier versions say `o-auth`).
    #[serde(rename = "oauth", alias = "o-auth")]
    OAuth,
    /// A helper run at token time.
    Helper,
    /// An OAuth device authorization grant (RFC 8628): a code the user
    /// enters on any device (WIT 0.3.0 on).
    Device,
}

impl MethodKind {
    /// The contract's name for the kind (`api-key`, `oauth`, `helper`,
    /// `device`).
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::ApiKey => "api-key",
            MethodKind::OAuth => "oauth",
            MethodKind::Helper => "helper",
            MethodKind::Device => "device",
        }
    }
}

impl std::fmt::Display for MethodKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_compatibility() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("0.3.0", "0.2.0"));
        assert_eq!(version_for("0.3.0").unwrap(), "0.3.0");
        assert_eq!(version_for("0.2.3").unwrap(), "0.2.0");
        assert!(!compatible("1.0.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("x", "0.1.0"));
        assert_eq!(version_for("0.1.7").unwrap(), "0.1.0");
        assert!(matches!(
            version_for("0.9.0"),
            Err(PluginFailure::Incompatible { .. })
        ));
    }

    #[test]
    fn method_kinds_are_written_as_the_contract_names_them() {
        let written = |kind: MethodKind| serde_json::to_string(&kind).unwrap();
        for kind in [
            MethodKind::ApiKey,
            MethodKind::OAuth,
            MethodKind::Helper,
            MethodKind::Device,
        ] {
            assert_eq!(written(kind), format!("\"{kind}\""));
        }
        assert_eq!(written(MethodKind::OAuth), "\"oauth\"");
        // What plugin indexes of earlier versions hold still reads.
        let read = |text| serde_json::from_str::<MethodKind>(text).unwrap();
        assert_eq!(read("\"o-auth\""), MethodKind::OAuth);
    }
}
