//! The built-in `oauth2` provider: a login at any OAuth 2.0 / OpenID
//! Connect identity provider (IdP), kept alive with its refresh token.
//!
//! The protocol is the `oauth2` crate's (PKCE, `state`, token requests and
//! responses, the device flow, revocation); its requests go through
//! `authhost_sdk::http`, so the host's grants apply to every one of them.
//!
//! - `login --method browser` (the default): authorization code with PKCE
//!   S256 and `state`, redirected to a listener on 127.0.0.1, or the
//!   redirect URL pasted at the terminal (see [`code`]). `iss` in the
//!   redirect is checked (RFC 9207).
//! - `login --method device`: the device authorization grant (RFC 8628; see
//!   [`device`]); also the default when the only login endpoint configured
//!   is `device_authorization_url` (no `issuer`, no `authorization_url`).
//! - `refresh`: the refresh token for new tokens; a rotated refresh token
//!   is stored in place of the old one. `invalid_grant` is `denied`: the
//!   user must log in again.
//! - `check`: the userinfo endpoint, when there is one (see [`account`]).
//! - `revoke`: the refresh token (else the access token) at the revocation
//!   endpoint, at logout.
//!
//! The endpoints come from the options or the issuer's discovery document;
//! those a login used are recorded beside the credential so that refresh,
//! check and revoke need no discovery. The host lets this provider reach
//! only the origins of its URL options (`http:{issuer}`, `http:{token_url}`,
//! ...), so an endpoint on another origin needs its option set.
//!
//! ```toml
//! [providers.corp]
//! plugin = "oauth2"
//! issuer = "https://login.example.com"
//! client_id = "authhost-cli"
//! scopes = ["openid", "offline_access"]
//! ```

// Natively (unit tests) nothing calls the provider: its export exists only
// in WebAssembly.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

mod account;
mod client;
mod code;
mod device;
mod endpoints;
mod options;
mod redirect;
mod tokens;

use authhost_sdk::prelude::*;
use oauth2::{RefreshToken, RevocationUrl, StandardRevocableToken, TokenUrl};

use client::Http;
use endpoints::{Endpoint, Endpoints};
use options::Options;

/// The URL options, each granted as `http:{OPTION}` (the origin of its
/// value; none when unset).
const URL_CAPABILITIES: [&str; 6] = [
    "http:{issuer}",
    "http:{authorization_url}",
    "http:{token_url}",
    "http:{device_authorization_url}",
    "http:{revocation_url}",
    "http:{userinfo_url}",
];

struct OAuth2;

impl Provider for OAuth2 {
    fn describe() -> Description {
        Description::new(
            "oauth2",
            "OAuth 2.0 / OpenID Connect",
            "A login at any OAuth 2.0 or OpenID Connect identity provider \
             (browser with PKCE, or device code), renewed with its refresh token",
        )
        .method(
            "browser",
            "Log in with your browser (authorization code with PKCE)",
            MethodKind::Oauth,
        )
        .method(
            "device",
            "Log in on any device with a code (device authorization)",
            MethodKind::Device,
        )
        .capabilities(["loopback", "browser", "prompt"])
        .capabilities(URL_CAPABILITIES)
        .options(options::KEYS)
    }

    fn login(method: String, flags: Vec<(String, String)>) -> Result<Credential, Error> {
        let no_browser = flags.iter().any(|(k, v)| k == "no-browser" && v == "true");
        let options = Options::load()?;
        let (response, endpoints) = match method.as_str() {
            // The default method: with only a device endpoint configured
            // (GitHub), the device flow is the login there is.
            "browser" if options.device_only() => device::login(&options, no_browser)?,
            "browser" => code::login(&options, no_browser)?,
            "device" => device::login(&options, no_browser)?,
            other => return Err(Error::Other(format!("unknown login method `{other}`"))),
        };
        tokens::credential(&response, options.token, &endpoints, &[])
    }
}

impl Refresh for OAuth2 {
    fn refresh(stored: Credential) -> Result<Credential, Error> {
        let options = Options::load()?;
        let Some(refresh) = stored.refresh_token() else {
            return Err(Error::Denied(
                "the IdP issued no refresh token at login (ask for `offline_access` in \
                 `scopes` if the IdP wants it)"
                    .into(),
            ));
        };
        let endpoints = Endpoints::find(&options, Some(&stored), &[Endpoint::Token], false)?;
        let token = endpoints.require(Endpoint::Token)?;
        let http = Http::new();
        let refresh = RefreshToken::new(refresh.to_owned());
        let response = client::new(&options)
            .set_token_uri(TokenUrl::from_url(token))
            .exchange_refresh_token(&refresh)
            .request(&http)
            .map_err(|e| client::error(e, "the token endpoint", &http))?;
        tokens::credential(&response, options.token, &endpoints, &stored.extra)
    }
}

impl Check for OAuth2 {
    fn check(credential: Credential) -> Result<AccountInfo, Error> {
        account::check(&Options::load()?, &credential)
    }
}

impl Revoke for OAuth2 {
    fn revoke(stored: Credential) -> Result<(), Error> {
        let options = Options::load()?;
        let token = match stored.refresh_token() {
            // Revoking the refresh token ends the whole grant (RFC 7009).
            Some(refresh) => {
                StandardRevocableToken::RefreshToken(RefreshToken::new(refresh.into()))
            }
            None if options.token == options::TokenKind::Id => {
                return Err(Error::Other(
                    "only an ID token is stored, and ID tokens cannot be revoked".into(),
                ));
            }
            None => StandardRevocableToken::AccessToken(oauth2::AccessToken::new(
                stored.secret_text().to_owned(),
            )),
        };
        let endpoints = Endpoints::find(&options, Some(&stored), &[Endpoint::Revocation], false)?;
        if endpoints.is_missing(Endpoint::Revocation) {
            return Err(Error::Other(format!(
                "the IdP has no revocation endpoint authhost knows of (set `revocation_url` in \
                 [providers.{}] if it has one), so the tokens were not revoked",
                config::provider_name()
            )));
        }
        let url = endpoints.require(Endpoint::Revocation)?;
        // The crate sends revocations to https URLs only (RFC 7009 section
        // 2); an IdP on a loopback address, which the options allow over
        // http, gets the same request at its http URL.
        let (crate_url, http) = match url.scheme() {
            "http" => {
                let mut https = url.clone();
                https
                    .set_scheme("https")
                    .map_err(|()| Error::Other(format!("invalid revocation URL {url}")))?;
                (https, Http::new().sending_to(url))
            }
            _ => (url, Http::new()),
        };
        client::new(&options)
            .set_revocation_url(RevocationUrl::from_url(crate_url))
            .revoke_token(token)
            .map_err(|e| Error::Other(format!("cannot revoke: {e}")))?
            .request(&http)
            .map_err(|e| client::error(e, "the revocation endpoint", &http))
    }
}

// Component exports exist only in WebAssembly; natively (unit tests) this
// crate is a library.
#[cfg(target_family = "wasm")]
authhost_sdk::export!(OAuth2);
