//! The built-in `openrouter` provider: OpenRouter's OAuth PKCE login.
//!
//! 1. A PKCE verifier and its S256 challenge, and an unguessable nonce for
//!    the callback path (OpenRouter echoes no `state`).
//! 2. A loopback listener on `callback_port` (default 3000; a free port when
//!    that one is busy), callback `http://127.0.0.1:PORT/callback/NONCE`
//!    (the address the listener is bound to: with `localhost`, a browser
//!    trying `::1` first could reach another program on that port).
//! 3. The browser opens `BASE/auth?callback_url=…&code_challenge=…&
//!    code_challenge_method=S256`; the URL is always printed too.
//! 4. The wait ends with the real callback, a pasted redirect URL or code,
//!    `?error=…` from OpenRouter, or the timeout. Other requests (wrong path
//!    or nonce, favicon) get 404 and the wait goes on.
//! 5. `POST BASE/api/v1/auth/keys` exchanges the code for a permanent key
//!    (and the user id, stored beside it as `userId` when OpenRouter sends
//!    one).
//! 6. Only then does the browser get its page, success or error.
//!
//! `authhost status --check` asks `GET BASE/api/v1/key` about the stored
//! key: its label, credit limit, usage and expiry.
//!
//! ```toml
//! [providers.openrouter]
//! base_url = "https://openrouter.ai"
//! callback_port = 3000
//! timeout_ms = 300000
//! ```

// Natively (unit tests, the fuzz targets) nothing calls the provider: its
// export exists only in WebAssembly.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

#[doc(hidden)]
pub mod callback;
mod exchange;
mod key_info;
mod page;

use std::time::Duration;

use authhost_sdk::loopback::{Event, Listener, Request};
use authhost_sdk::pkce::{self, Pkce};
use authhost_sdk::prelude::*;
use serde::Deserialize;

use callback::Callback;

/// The WIT bindings, at the path the fuzz targets use.
#[doc(hidden)]
pub use authhost_sdk::bindings::authhost;

const DEFAULT_BASE_URL: &str = "https://openrouter.ai";
const DEFAULT_PORT: u16 = 3000;
const DEFAULT_TIMEOUT_MS: u64 = login::DEFAULT_WAIT.as_millis() as u64;
const PASTE_LABEL: &str =
    "Waiting for the browser… or paste the redirect URL (or just the code) here:";

/// `[providers.NAME]` options.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    base_url: Option<String>,
    callback_port: Option<u16>,
    timeout_ms: Option<u64>,
}

impl Options {
    /// The options from the host; unknown keys and a base URL that is not
    /// http(s) are errors.
    fn load() -> Result<Options, Error> {
        let options: Options = config::options()?;
        options.origin().map_err(|e| {
            Error::Other(format!(
                "invalid [providers.{}] options: {e}",
                config::provider_name()
            ))
        })?;
        Ok(options)
    }

    /// The base URL without a trailing `/`.
    fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
    }

    /// `SCHEME://HOST[:PORT]` of the base URL.
    fn origin(&self) -> Result<String, String> {
        match url::Url::parse(self.base_url()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                Ok(url.origin().ascii_serialization())
            }
            _ => Err(format!(
                "`base_url` must be an http or https URL, not `{}`",
                self.base_url()
            )),
        }
    }

    /// The wait for the callback, at most a day (the host's own login
    /// timeout is shorter anyway).
    fn timeout(&self) -> Duration {
        const DAY_MS: u64 = 86_400_000;
        Duration::from_millis(self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS).min(DAY_MS))
    }
}

struct OpenRouter;

impl Provider for OpenRouter {
    fn describe() -> Description {
        Description::new(
            "openrouter",
            "OpenRouter",
            "An OpenRouter API key, obtained through OpenRouter's OAuth PKCE login",
        )
        .method(
            "oauth",
            "Log in with your browser (OAuth PKCE)",
            MethodKind::Oauth,
        )
        .capabilities(["loopback", "browser", "prompt"])
        // The host fills in the origin of `[providers.NAME] base_url`.
        .capability(format!("http:{{base_url={DEFAULT_BASE_URL}}}"))
        .options(["base_url", "callback_port", "timeout_ms"])
    }

    fn login(method: String, options: Vec<(String, String)>) -> Result<Credential, Error> {
        if method != "oauth" {
            return Err(Error::Other(format!("unknown login method `{method}`")));
        }
        let no_browser = options
            .iter()
            .any(|(k, v)| k == "no-browser" && v == "true");
        let exchanged = Login::start(Options::load()?)?.run(no_browser)?;
        let credential = Credential::api_key(exchanged.key);
        Ok(match exchanged.user_id {
            Some(user) => credential.with_extra("userId", user),
            None => credential,
        })
    }
}

// OpenRouter keys are permanent (nothing to refresh) and are revoked on
// OpenRouter's site: `check` is the one optional export.
impl Check for OpenRouter {
    fn check(credential: Credential) -> Result<AccountInfo, Error> {
        key_info::check(Options::load()?.base_url(), credential.secret_text())
    }
}

/// One login in progress.
struct Login {
    options: Options,
    pkce: Pkce,
    nonce: String,
    listener: Listener,
    auth_url: url::Url,
}

/// How the wait for the callback ended.
enum Outcome {
    /// A callback request with a code; answer `ticket` after the exchange.
    Callback { ticket: u64, code: String },
    /// A code the user pasted.
    Pasted(String),
}

impl Login {
    /// Creates the PKCE pair and the nonce, binds the listener and builds
    /// the authorization URL.
    fn start(options: Options) -> Result<Login, Error> {
        let pkce = Pkce::new();
        // 16 random bytes, base64url: 128 bits.
        let nonce = pkce::nonce();
        let listener = bind(options.callback_port.unwrap_or(DEFAULT_PORT))?;
        let callback_url = format!("http://127.0.0.1:{}/callback/{nonce}", listener.port());
        let auth_url = url::Url::parse_with_params(
            &format!("{}/auth", options.base_url()),
            [
                ("callback_url", callback_url.as_str()),
                ("code_challenge", pkce.challenge()),
                ("code_challenge_method", pkce.method()),
            ],
        )
        .map_err(|e| Error::Other(format!("invalid base_url: {e}")))?;
        Ok(Login {
            options,
            pkce,
            nonce,
            listener,
            auth_url,
        })
    }

    /// Sends the user to the browser, waits for the code and exchanges it.
    fn run(self, no_browser: bool) -> Result<exchange::Exchanged, Error> {
        self.show_url(no_browser);
        match self.wait()? {
            Outcome::Pasted(code) => self.exchange(&code),
            Outcome::Callback { ticket, code } => {
                log::debug("callback received; exchanging the code");
                let result = self.exchange(&code);
                let page = match &result {
                    Ok(_) => page::success(),
                    Err(e) => page::failure(&describe(e)),
                };
                self.listener.respond(ticket, &page);
                result
            }
        }
    }

    fn show_url(&self, no_browser: bool) {
        login::show_url(
            "Log in to OpenRouter in your browser",
            self.auth_url.as_str(),
            no_browser,
            "the redirect URL it ends on (or just its code)",
        );
    }

    /// Waits until the callback or a pasted code arrives, the user denies,
    /// or the timeout passes.
    fn wait(&self) -> Result<Outcome, Error> {
        login::wait(
            &self.listener,
            self.options.timeout(),
            Some(PASTE_LABEL),
            |event| match event {
                Event::Pasted(line) => self.on_pasted(&line),
                Event::Request((ticket, request)) => self.on_request(ticket, &request),
            },
        )
    }

    /// A pasted line: the code, a denial, or a message and more waiting.
    fn on_pasted(&self, line: &str) -> Result<Option<Outcome>, Error> {
        match callback::from_pasted(line, &self.nonce) {
            Ok(Callback::Code(code)) => Ok(Some(Outcome::Pasted(code))),
            Ok(Callback::Denied(reason)) => Err(denied(&reason)),
            Ok(Callback::Ignore(why)) | Err(why) => {
                interact::message(&why);
                Ok(None)
            }
        }
    }

    /// A request: the callback with its code, a denial, or noise answered
    /// at once (404, or 400 for a callback without a code).
    fn on_request(&self, ticket: u64, request: &Request) -> Result<Option<Outcome>, Error> {
        match callback::from_request(request, &self.nonce) {
            Callback::Ignore(why) => {
                log::debug(&why);
                self.listener.respond(ticket, &page::not_found());
                Ok(None)
            }
            Callback::Code(code) if code.is_empty() => {
                self.listener
                    .respond(ticket, &page::bad_request("The callback has no code."));
                Ok(None)
            }
            Callback::Code(code) => Ok(Some(Outcome::Callback { ticket, code })),
            Callback::Denied(reason) => {
                let error = denied(&reason);
                self.listener
                    .respond(ticket, &page::failure(&describe(&error)));
                Err(error)
            }
        }
    }

    fn exchange(&self, code: &str) -> Result<exchange::Exchanged, Error> {
        let grant = exchange::Grant {
            code,
            verifier: self.pkce.verifier(),
        };
        exchange::run(self.options.base_url(), &grant)
    }
}

/// Listens on `port`, or on a free port (saying so) when it is busy.
fn bind(port: u16) -> Result<Listener, Error> {
    match Listener::bind(Some(port)) {
        Ok(listener) => Ok(listener),
        Err(Error::Other(message)) if message.contains("in use") => {
            let listener = Listener::bind(None)?;
            interact::message(&format!(
                "Port {port} is in use; listening on port {} instead.",
                listener.port()
            ));
            Ok(listener)
        }
        Err(e) => Err(e),
    }
}

fn denied(reason: &str) -> Error {
    Error::Denied(format!("{reason} (the login was refused in the browser)"))
}

/// An error as a sentence for the browser page or a message.
fn describe(error: &Error) -> String {
    authhost_sdk::describe(error)
}

// Component exports exist only in WebAssembly; natively (unit tests, the
// fuzz targets) this crate is a library.
#[cfg(target_family = "wasm")]
authhost_sdk::export!(OpenRouter);
