//! Acme: an example third-party authhost provider.
//!
//! It logs in with a user name and password: it asks the user for both
//! (the `prompt` capability), posts them to Acme's token endpoint (outbound
//! HTTP, which needs an `http:` grant for that origin) and returns the OAuth
//! tokens it gets, which authhost stores.

use std::time::Duration;

use authhost_sdk::prelude::*;
use serde::Deserialize;

/// Used when the user's `[providers.acme]` sets no `base_url`.
const DEFAULT_BASE_URL: &str = "https://api.acme.example";

/// `[providers.acme]` in the user's config.toml.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    base_url: Option<String>,
}

impl Options {
    fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
    }
}

/// What Acme's token endpoint answers.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    /// Lifetime of the access token in seconds.
    expires_in: Option<u64>,
}

struct Acme;

impl Provider for Acme {
    fn describe() -> Metadata {
        Metadata {
            id: "acme".into(),
            display_name: "Acme AI (example)".into(),
            description: "Example provider: logs in with an Acme user name and password".into(),
            methods: vec![AuthMethod {
                id: "password".into(),
                label: "Log in with your Acme account".into(),
                kind: MethodKind::Oauth,
            }],
            // Ask for exactly what `login` uses; the user grants these in
            // `[plugins.acme] grant = [...]`. Metadata is the same for every
            // provider instance (`describe` sees no configuration): the host
            // fills in the origin of each instance's `base_url` option.
            capabilities: vec![
                "prompt".into(),
                format!("http:{{base_url={DEFAULT_BASE_URL}}}"),
            ],
            resolves: false,
        }
    }

    fn login(method: String, _options: Vec<(String, String)>) -> Result<Credential, Error> {
        if method != "password" {
            return Err(Error::Other(format!("unknown method {method}")));
        }
        let options: Options = config::options()?;
        let user = interact::prompt("Acme user name: ", false)?;
        let password = interact::prompt("Acme password: ", true)?;
        log::debug(&format!("requesting a token for {user}"));
        let tokens = request_token(options.base_url(), &user, &password)?;
        interact::message("Acme login complete");
        Ok(Credential::Oauth(tokens))
    }

    fn resolve(_reason: Reason) -> Result<Resolved, Error> {
        Err(Error::Other(
            "acme stores its tokens at login; nothing to resolve".into(),
        ))
    }
}

/// Posts the user name and password; a request the host refuses comes back
/// as `capability-denied` naming the grant the user must add.
fn request_token(base_url: &str, user: &str, password: &str) -> Result<OauthTokens, Error> {
    let body =
        serde_json::json!({ "grant_type": "password", "username": user, "password": password });
    let response = http::Request::post(&format!("{base_url}/oauth/token"))
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()?;
    if response.status == 401 || response.status == 403 {
        return Err(Error::Denied(
            "Acme rejected the user name or password".into(),
        ));
    }
    if !response.is_success() {
        return Err(Error::Network(format!(
            "Acme answered HTTP {}",
            response.status
        )));
    }
    let token: TokenResponse = response.json()?;
    Ok(OauthTokens {
        access: token.access_token,
        refresh: token.refresh_token,
        expires: token
            .expires_in
            .map(|s| clock::after(Duration::from_secs(s))),
    })
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

authhost_sdk::export!(Acme);
