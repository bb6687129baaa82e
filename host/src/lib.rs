//! authhost: one host for the credentials of AI tools and APIs, with every
//! authentication provider a sandboxed WebAssembly component.
//!
//! Providers implement the WIT world `authhost:provider/plugin` (see
//! `wit/`, one folder per released version). The built-in ones are
//! registered in one list, `INTERNAL_PLUGINS`; `*.wasm` files in the plugins
//! folder join them. Each plugin gets only the capabilities it requested and
//! was granted ([`Capability`]), and every call runs under a timeout, a CPU
//! budget and a memory cap.
//!
//! # Embedding
//!
//! ```no_run
//! # async fn demo() -> Result<(), authhost::Error> {
//! use authhost::{Host, HostOptions, TokenOptions};
//!
//! let host = Host::open(HostOptions::from_env()?)?;
//! let token = host.token("openrouter", TokenOptions::default()).await?;
//! let header = format!("Bearer {}", token.expose_secret());
//! # let _ = header;
//! # Ok(())
//! # }
//! ```
//!
//! A service configures its host in code with [`Host::builder`]
//! ([`HostBuilder`]): providers, grants, limits, the store, extra plugins
//! from bytes, an event hook; with no paths it touches no file at all.
//!
//! [`Host::token`] returns a stored key without compiling any WebAssembly;
//! helper providers run their plugin, once for any number of concurrent
//! callers, and their credentials are cached as the plugin allows. Errors
//! are typed ([`Error`]); a failure shared by concurrent callers reaches
//! each of them as the same variant.
//!
//! # Cargo features
//!
//! - `cli` (default): the `authhost` binary and what only it needs (clap,
//!   clap_complete, clap_mangen, tracing-subscriber, anyhow). The library
//!   never uses them.
//! - `keyring` (default): `[store] backend = "keyring"`, through the
//!   `keyring` crate. Without it that backend fails with
//!   [`Error::Keyring`], naming the feature; `auth.json` works as always.
//!
//! - `interactive-login` (default; implied by `cli`): logins in the user's
//!   browser, i.e. the loopback HTTP server that receives an OAuth redirect
//!   and the browser opener. Without it a plugin's `loopback` and `browser`
//!   imports fail with an error naming the feature.
//!
//! A service that only resolves keys depends on
//! `authhost = { version = "…", default-features = false }` (adding
//! `features = ["keyring"]` if it reads secrets from the OS keyring).
//!
//! The built-in providers are WebAssembly components compiled into the
//! library. A published package carries them prebuilt; built from a
//! checkout as a path or git dependency, `build.rs` compiles the guest
//! crates of `plugins/` for `wasm32-wasip2` into the dependent build's
//! `OUT_DIR`, writing nothing into the checkout and never calling rustup
//! (a toolchain without the target gets an error naming the command that
//! adds it).
//!
//! Plugin HTTP honours `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`
//! (and their lowercase names) and trusts `SSL_CERT_FILE` besides the
//! bundled Mozilla roots; a proxy never widens a plugin's grants.

mod api;
mod browser;
// What only the `authhost` command line uses is public for it alone (and
// hidden from the documentation): the capability grammar's printing, the
// catalog, the git credential protocol.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod capability;
#[cfg(not(feature = "cli"))]
mod capability;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod catalog;
#[cfg(not(feature = "cli"))]
mod catalog;
mod component_file;
mod config;
mod error;
mod events;
mod files;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod git;
#[cfg(not(feature = "cli"))]
mod git;
pub mod interact;
mod loopback;
#[cfg(test)]
mod module_graph;
mod names;
mod paths;
mod plugins;
mod process;
mod provider;
mod runner;
mod runtime;
mod sanitize;
mod store;
mod token;

pub use api::{
    Host, HostBuilder, HostOptions, Inspection, Installed, LoginOptions, LoginOutcome,
    LogoutOutcome, PluginInfo, ProviderSettings, ProviderStatus, Removed, Saved, TokenOptions,
};
pub use capability::Capability;
pub use error::{Error, PluginFailure, ProviderError, error_chain};
pub use events::{Event, EventHook, Source};
pub use paths::Paths;
pub use plugins::{API_KEY_METHOD, AccountInfo, AuthMethod, MethodKind, PluginMetadata};
pub use provider::Provider;
pub use runtime::{Limits, SUPPORTED_WIT_VERSIONS, WIT_VERSION};
pub use store::credential::{self, Credential, CredentialKind, Extra, Token};
pub use store::{Migration, StoreBackend, StoreSettings};
