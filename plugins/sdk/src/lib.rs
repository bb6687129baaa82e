//! The Rust SDK for authhost provider plugins.
//!
//! A provider is a WebAssembly component (`wasm32-wasip2`) that implements
//! the world `authhost:provider/plugin` of authhost's
//! `wit/0.1.0/provider.wit`. This crate holds the bindings of that world and
//! the helpers every provider needs, so a provider is one trait impl and one
//! macro call:
//!
//! ```no_run
//! use authhost_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Provider for Hello {
//!     fn describe() -> Metadata {
//!         Metadata {
//!             id: "hello".into(),
//!             display_name: "Hello".into(),
//!             description: "Asks for a key and stores it".into(),
//!             methods: vec![AuthMethod {
//!                 id: "ask".into(),
//!                 label: "Type the key".into(),
//!                 kind: MethodKind::ApiKey,
//!             }],
//!             capabilities: vec!["prompt".into()],
//!             resolves: false,
//!         }
//!     }
//!
//!     fn login(_method: String, _options: Vec<(String, String)>) -> Result<Credential, Error> {
//!         let key = interact::prompt("Hello key: ", true)?;
//!         Ok(Credential::ApiKey(key))
//!     }
//!
//!     fn resolve(_reason: Reason) -> Result<Resolved, Error> {
//!         Err(Error::Other("hello stores its key at login".into()))
//!     }
//! }
//!
//! authhost_sdk::export!(Hello);
//! ```
//!
//! What is here:
//!
//! - [`prelude`]: the trait, the WIT types and the helper modules.
//! - [`config`]: the provider's name and its typed options
//!   ([`config::options`]).
//! - [`http`]: JSON and plain requests over `wasi:http` with a response size
//!   cap, timeouts, a `content-length` on every body, and errors in words.
//! - [`pkce`]: a PKCE verifier with its S256 challenge, and random nonces.
//! - [`clock`], [`log`], [`text`]: the time, log lines, and text safe to show.
//! - [`process`], [`loopback`], [`browser`], [`interact`]: the host
//!   capabilities, as generated from the WIT.
//!
//! The crate also builds for the native target (for unit tests, lints and
//! fuzzing); calling an import there panics.

pub mod clock;
pub mod config;
pub mod http;
pub mod log;
pub mod pkce;
pub mod text;

/// The bindings generated from `wit/0.1.0` (world `plugin`), for what the
/// rest of this crate does not cover.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/0.1.0",
        world: "plugin",
        pub_export_macro: true,
        default_bindings_module: "authhost_sdk::bindings",
    });
}

pub use bindings::authhost::provider::{browser, interact, loopback, process};
pub use bindings::export;

/// What a provider implements: `describe`, `login` and `resolve` (the WIT
/// `provider` interface). Export the implementing type with
/// [`export!`](crate::export).
pub use bindings::exports::authhost::provider::provider::Guest as Provider;

/// The types of the WIT contract, at one path.
pub mod types {
    pub use crate::bindings::authhost::provider::types::{Credential, Error, OauthTokens};
    pub use crate::bindings::exports::authhost::provider::provider::{
        AuthMethod, Metadata, MethodKind, Reason, Resolved,
    };
}

/// Everything a provider usually needs: `use authhost_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::types::{
        AuthMethod, Credential, Error, Metadata, MethodKind, OauthTokens, Reason, Resolved,
    };
    pub use crate::{Provider, export};
    pub use crate::{browser, clock, config, http, interact, log, loopback, pkce, process, text};
}

/// An error as a sentence for the user (a browser page, a message): the
/// kind in words, then its text.
pub fn describe(error: &types::Error) -> String {
    use types::Error;
    match error {
        Error::Cancelled => "cancelled".into(),
        Error::Denied(m) => format!("denied: {m}"),
        Error::Timeout(m) => format!("timed out: {m}"),
        Error::Network(m) => format!("network error: {m}"),
        Error::InvalidResponse(m) => format!("invalid response: {m}"),
        Error::CapabilityDenied(m) => format!("capability `{m}` not granted"),
        Error::Other(m) => m.clone(),
    }
}

/// The `wasip2` crate: raw bindings of the standard WASI interfaces
/// (sockets, HTTP, I/O), for what the helpers here do not cover.
pub use wasip2 as wasi;
