//! authhost: one host for the credentials of AI tools and APIs, with every
//! authentication provider a sandboxed WebAssembly component.
//!
//! Providers implement the WIT world `authhost:provider/plugin` (see
//! `wit/provider.wit`). The built-in ones are listed in
//! [`registry::INTERNAL_PLUGINS`]; `*.wasm` files in the plugins folder join
//! them. Each plugin gets only the capabilities it requested and was granted
//! ([`capability`]), and every call runs under a timeout, a CPU budget and a
//! memory cap.
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
//! [`Host::token`] returns a stored key without compiling any WebAssembly;
//! helper providers run their plugin, once for any number of concurrent
//! callers, and their credentials are cached as the plugin allows.

pub mod browser;
pub mod capability;
mod component_file;
pub mod config;
pub mod credential;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod host;
pub mod interact;
pub mod loopback;
pub mod paths;
pub mod process;
pub mod registry;
mod runtime;
pub mod store;

pub use credential::{Credential, CredentialKind, Token};
pub use error::{Error, PluginFailure, ProviderError};
pub use host::{
    API_KEY_METHOD, AuthMethod, Host, HostOptions, Inspection, LoginOptions, LoginOutcome,
    MethodKind, PluginInfo, PluginMetadata, ProviderStatus, Saved, TokenOptions,
};
pub use paths::Paths;
pub use runtime::WIT_VERSION;

/// `error` and its sources joined with `: `, for one-line messages.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
