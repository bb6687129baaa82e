//! The Rust SDK for authhost provider plugins.
//!
//! A provider is a WebAssembly component (`wasm32-wasip2`) that implements
//! the world `authhost:provider/plugin` of authhost's
//! `wit/0.3.0/provider.wit`. This crate holds the bindings of that world
//! (the WIT travels with it, in `wit/`) and the helpers every provider
//! needs, so a provider is a trait impl and one macro call:
//!
//! ```no_run
//! use authhost_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Provider for Hello {
//!     fn describe() -> Description {
//!         Description::new("hello", "Hello", "Asks for a key and stores it")
//!             .method("ask", "Type the key", MethodKind::ApiKey)
//!             .capability("prompt")
//!     }
//!
//!     fn login(_method: String, _flags: Vec<(String, String)>) -> Result<Credential, Error> {
//!         let key = interact::prompt("Hello key: ", true)?;
//!         Ok(Credential::api_key(key))
//!     }
//! }
//!
//! authhost_sdk::export!(Hello);
//! ```
//!
//! The optional exports (`resolve`, `refresh`, `check`, `revoke`) are one
//! trait each ([`Resolve`], [`Refresh`], [`Check`], [`Revoke`]): those the
//! type implements are the `features` its `describe` answers with, and the
//! others answer "not implemented" (see [`provider`]).
//!
//! What is here:
//!
//! - [`prelude`]: the traits, the WIT types and the helper modules.
//! - [`config`]: the provider's name and its typed options
//!   ([`config::options`]).
//! - [`http`]: JSON, form and plain requests over `wasi:http` with a
//!   response size cap, timeouts, a `content-length` on every body, and
//!   errors in words.
//! - [`oauth`]: token requests with form bodies, token and error
//!   responses, revocation, and the device authorization flow (RFC 8628).
//! - [`pkce`]: a PKCE verifier with its S256 challenge, and random nonces.
//! - [`login`]: the parts of a browser login: show and open the URL, wait
//!   for the loopback callback or a pasted line, answer with a small page.
//! - [`clock`], [`log`], [`text`]: the time and waiting, log lines, and
//!   text safe to show.
//! - [`process`], [`loopback`], [`browser`], [`interact`]: the host
//!   capabilities, as generated from the WIT.
//!
//! The crate also builds for the native target (for unit tests, lints and
//! fuzzing); calling an import there panics.

pub mod clock;
pub mod config;
pub mod http;
pub mod log;
pub mod login;
pub mod oauth;
pub mod pkce;
pub mod provider;
pub mod text;

#[doc(hidden)]
#[path = "exports.rs"]
pub mod __export;

/// The bindings generated from `wit/0.3.0` (world `plugin`), for what the
/// rest of this crate does not cover.
pub mod bindings {
    wit_bindgen::generate!({
        // A symbolic link to the repository's `wit/0.3.0`, which `cargo
        // package` follows: the package carries the files.
        path: "wit",
        world: "plugin",
        pub_export_macro: true,
        default_bindings_module: "authhost_sdk::bindings",
    });
}

pub use bindings::authhost::provider::{browser, interact, loopback, process};
pub use provider::{Check, Description, Provider, Refresh, Resolve, Revoke};

/// The version of `authhost:provider` these bindings implement.
pub const WIT_VERSION: &str = "0.3.0";

/// The types of the WIT contract, at one path.
pub mod types {
    pub use crate::bindings::authhost::provider::common::{Credential, Error, OauthTokens, Secret};
    pub use crate::bindings::exports::authhost::provider::provider::{
        AccountInfo, AuthMethod, Features, Metadata, MethodKind, Reason, Resolved,
    };
}

impl types::Credential {
    /// An API key with no extra facts.
    pub fn api_key(key: impl Into<String>) -> types::Credential {
        types::Credential {
            secret: types::Secret::ApiKey(key.into()),
            extra: Vec::new(),
        }
    }

    /// OAuth tokens with no extra facts.
    pub fn oauth(tokens: types::OauthTokens) -> types::Credential {
        types::Credential {
            secret: types::Secret::Oauth(tokens),
            extra: Vec::new(),
        }
    }

    /// The same credential with the non-secret fact `name` = `value` (an
    /// account id, an e-mail address), which the host stores beside it.
    pub fn with_extra(mut self, name: &str, value: impl Into<String>) -> types::Credential {
        self.extra.push((name.to_owned(), value.into()));
        self
    }

    /// The value of the extra fact `name`, if there is one.
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The refresh token of OAuth tokens, when there is a non-empty one.
    pub fn refresh_token(&self) -> Option<&str> {
        match &self.secret {
            types::Secret::Oauth(tokens) => tokens.refresh.as_deref().filter(|r| !r.is_empty()),
            types::Secret::ApiKey(_) => None,
        }
    }

    /// When the OAuth access token expires (ms since the Unix epoch), if
    /// it says.
    pub fn expires(&self) -> Option<u64> {
        match &self.secret {
            types::Secret::Oauth(tokens) => tokens.expires,
            types::Secret::ApiKey(_) => None,
        }
    }

    /// The API key, or the OAuth access token.
    pub fn secret_text(&self) -> &str {
        match &self.secret {
            types::Secret::ApiKey(key) => key,
            types::Secret::Oauth(tokens) => &tokens.access,
        }
    }
}

impl types::Error {
    /// The answer of an optional export the plugin does not implement (the
    /// host does not call exports `Metadata::features` leaves out; see
    /// [`export!`](crate::export)).
    pub fn unsupported(export: &str) -> types::Error {
        types::Error::Other(format!("this provider does not implement `{export}`"))
    }
}

/// Everything a provider usually needs: `use authhost_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::types::{
        AccountInfo, AuthMethod, Credential, Error, Features, Metadata, MethodKind, OauthTokens,
        Reason, Resolved, Secret,
    };
    pub use crate::{Check, Description, Provider, Refresh, Resolve, Revoke, export};
    pub use crate::{
        browser, clock, config, http, interact, log, login, loopback, oauth, pkce, process, text,
    };
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
