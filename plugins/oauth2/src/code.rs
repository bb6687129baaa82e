//! The browser login: authorization code with PKCE (S256) and `state`,
//! redirected to a loopback listener (RFC 8252), or pasted at the terminal
//! when the browser runs elsewhere.
//!
//! 1. The endpoints (discovery when `issuer` is set) and a listener on
//!    127.0.0.1 (`callback_port`, or any free port); the redirect URI is
//!    `http://127.0.0.1:PORT/callback`.
//! 2. The `oauth2` crate makes the authorization URL with a fresh PKCE
//!    challenge and `state`; the URL is printed and opened in the browser.
//! 3. The wait ends with the redirect (its `state` and `iss` checked), a
//!    pasted redirect URL, an error from the IdP, or the timeout. Other
//!    requests get 404 and the wait goes on.
//! 4. The `oauth2` crate exchanges the code (with the PKCE verifier) at the
//!    token endpoint; only then does the browser get its page, success or
//!    error.

use authhost_sdk::login::{self, page};
use authhost_sdk::loopback::{Event, Listener};
use authhost_sdk::prelude::*;
use oauth2::{AuthUrl, AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use oauth2::{RedirectUrl, Scope, TokenUrl};

use crate::client::{self, Http, TokenResponse};
use crate::endpoints::{Endpoint, Endpoints};
use crate::options::Options;
use crate::redirect::{self, Expected, Response};

const PASTE_LABEL: &str = "Waiting for the browser… or paste the redirect URL here:";

/// Logs in with the browser; the token response and the endpoints used.
pub fn login(options: &Options, no_browser: bool) -> Result<(TokenResponse, Endpoints), Error> {
    let endpoints = Endpoints::find(
        options,
        None,
        &[Endpoint::Authorization, Endpoint::Token],
        true,
    )?;
    if endpoints.is_missing(Endpoint::Authorization) {
        // Perhaps the IdP logs in with a device code only: say which method.
        let provider = authhost_sdk::config::provider_name();
        let device = if endpoints.is_missing(Endpoint::Device) {
            "with `device_authorization_url` set"
        } else {
            "(this IdP has a device authorization endpoint)"
        };
        return Err(Error::Other(format!(
            "there is no authorization endpoint for a browser login: log in with \
             `--method device` {device}, or set `authorization_url` in [providers.{provider}]"
        )));
    }
    let authorization = endpoints.require(Endpoint::Authorization)?;
    let token = endpoints.require(Endpoint::Token)?;
    let listener = bind(options.callback_port)?;
    let redirect_uri = format!(
        "http://127.0.0.1:{}{}",
        listener.port(),
        options.redirect_path()
    );
    let client = client::new(options)
        .set_auth_uri(AuthUrl::from_url(authorization))
        .set_token_uri(TokenUrl::from_url(token))
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri)
                .map_err(|e| Error::Other(format!("invalid redirect URI: {e}")))?,
        );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_scopes(options.scopes().into_iter().map(Scope::new));
    for (name, value) in options.extra_params() {
        request = request.add_extra_param(name, value);
    }
    let (url, state) = request.url();

    let provider = config::provider_name();
    login::show_url(
        &format!("Log in to {provider} in your browser"),
        url.as_str(),
        no_browser,
        "the redirect URL it ends on",
    );
    let expected = Expected {
        path: options.redirect_path(),
        state: state.secret(),
        issuer: endpoints.issuer.as_deref(),
        iss_required: endpoints.iss_required,
    };
    let exchange = |code: String, verifier: PkceCodeVerifier| {
        let http = Http::new();
        client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request(&http)
            .map_err(|e| client::error(e, "the token endpoint", &http))
    };
    let tokens = match wait(&listener, &expected)? {
        Outcome::Pasted(code) => exchange(code, verifier)?,
        Outcome::Redirect { ticket, code } => {
            log::debug("redirect received; exchanging the code");
            let result = exchange(code, verifier);
            let answer = match &result {
                Ok(_) => page::success(
                    &format!("Logged in to {provider}"),
                    "authhost received your tokens. You can close this tab.",
                ),
                Err(e) => failure_page(&provider, e),
            };
            listener.respond(ticket, &answer);
            result?
        }
    };
    Ok((tokens, endpoints))
}

/// How the wait ended.
enum Outcome {
    /// The redirect with a code; answer `ticket` after the exchange.
    Redirect { ticket: u64, code: String },
    /// A code from a pasted redirect URL.
    Pasted(String),
}

/// Waits for the redirect or a pasted redirect URL.
fn wait(listener: &Listener, expected: &Expected) -> Result<Outcome, Error> {
    let provider = config::provider_name();
    login::wait(
        listener,
        login::DEFAULT_WAIT,
        Some(PASTE_LABEL),
        |event| match event {
            Event::Request((ticket, request)) => match redirect::from_request(&request, expected) {
                Response::Code(code) => Ok(Some(Outcome::Redirect { ticket, code })),
                Response::Ignore(why) => {
                    log::debug(&why);
                    listener.respond(ticket, &page::not_found());
                    Ok(None)
                }
                Response::Incomplete(why) => {
                    listener.respond(ticket, &page::bad_request(&format!("{why}.")));
                    Ok(None)
                }
                Response::Refused(why) => {
                    let error = refused(&why);
                    listener.respond(ticket, &failure_page(&provider, &error));
                    Err(error)
                }
                Response::Rejected(why) => {
                    let error = Error::Denied(why);
                    listener.respond(ticket, &failure_page(&provider, &error));
                    Err(error)
                }
            },
            Event::Pasted(line) => match redirect::from_pasted(&line, expected) {
                Ok(Response::Code(code)) => Ok(Some(Outcome::Pasted(code))),
                Ok(Response::Refused(why)) => Err(refused(&why)),
                Ok(Response::Rejected(why)) => Err(Error::Denied(why)),
                Ok(Response::Incomplete(why) | Response::Ignore(why)) | Err(why) => {
                    interact::message(&why);
                    Ok(None)
                }
            },
        },
    )
}

fn refused(why: &str) -> Error {
    Error::Denied(format!("{why}; the login was refused in the browser"))
}

fn failure_page(provider: &str, error: &Error) -> authhost_sdk::loopback::Response {
    page::failure(
        &format!("{provider} login failed"),
        &authhost_sdk::describe(error),
    )
}

/// Listens on `port` (busy: an error naming `callback_port`), or on any
/// free port.
fn bind(port: Option<u16>) -> Result<Listener, Error> {
    let port = port.filter(|p| *p != 0);
    match Listener::bind(port) {
        Err(Error::Other(message)) if message.contains("in use") => Err(Error::Other(format!(
            "port {} (`callback_port` of [providers.{}]) is in use; free it, or leave \
             `callback_port` out to use any free port when the IdP allows it",
            port.unwrap_or_default(),
            config::provider_name()
        ))),
        other => other,
    }
}
