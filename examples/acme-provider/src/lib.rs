//! Acme: an example third-party authhost provider.
//!
//! It logs in with a user name and password: it asks the user for both
//! (the `prompt` capability), posts them to Acme's token endpoint (outbound
//! HTTP, which needs an `http:` grant for that origin) and returns the OAuth
//! tokens it gets, which authhost stores.

// The bindings of authhost's WIT world. A plugin outside the authhost
// repository copies authhost's `wit/` folder and points `path` at it.
wit_bindgen::generate!({ path: "../../wit/0.1.0", world: "plugin" });

use authhost::provider::types::{Credential, Error, OauthTokens};
use authhost::provider::{config, interact, log};
use exports::authhost::provider::provider::{AuthMethod, Guest, Metadata, MethodKind, Reason, Resolved};
use serde::Deserialize;
use wstd::http::{Body, Client, ErrorCode, Request};

/// Used when the user's `[providers.acme]` sets no `base_url`.
const DEFAULT_BASE_URL: &str = "https://api.acme.example";

/// `[providers.acme]` in the user's config.toml.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    base_url: Option<String>,
}

impl Options {
    fn load() -> Result<Options, Error> {
        serde_json::from_str(&config::get())
            .map_err(|e| Error::Other(format!("invalid [providers.{}] options: {e}", config::provider_name())))
    }

    fn base_url(&self) -> &str {
        self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/')
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

impl Guest for Acme {
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
            // provider instance: the host fills in the origin of each
            // instance's `base_url` option.
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
        let options = Options::load()?;
        let user = interact::prompt("Acme user name: ", false)?;
        let password = interact::prompt("Acme password: ", true)?;
        log::write(log::Level::Debug, &format!("requesting a token for {user}"));
        let tokens = wstd::runtime::block_on(request_token(options.base_url(), &user, &password))?;
        interact::message("Acme login complete");
        Ok(Credential::Oauth(tokens))
    }

    fn resolve(_reason: Reason) -> Result<Resolved, Error> {
        Err(Error::Other("acme stores its tokens at login; nothing to resolve".into()))
    }
}

async fn request_token(base_url: &str, user: &str, password: &str) -> Result<OauthTokens, Error> {
    let body = serde_json::json!({ "grant_type": "password", "username": user, "password": password });
    let request = Request::post(format!("{base_url}/oauth/token"))
        .header("content-type", "application/json")
        .body(Body::from_json(&body).map_err(|e| Error::Other(e.to_string()))?)
        .map_err(|e| Error::Other(e.to_string()))?;
    let mut response = Client::new().send(request).await.map_err(|e| http_error(base_url, e))?;
    let status = response.status();
    if status == 401 || status == 403 {
        return Err(Error::Denied("Acme rejected the user name or password".into()));
    }
    if !status.is_success() {
        return Err(Error::Network(format!("Acme answered HTTP {status}")));
    }
    let token: TokenResponse = response
        .body_mut()
        .json()
        .await
        .map_err(|e| Error::InvalidResponse(format!("unexpected token response: {e}")))?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Ok(OauthTokens {
        access: token.access_token,
        refresh: token.refresh_token,
        expires: token.expires_in.map(|s| now_ms + s * 1000),
    })
}

/// A request the host refused is a missing grant; tell the user which.
fn http_error(base_url: &str, e: wstd::http::Error) -> Error {
    match e.downcast_ref::<ErrorCode>() {
        Some(ErrorCode::HttpRequestDenied) => Error::CapabilityDenied(format!("http:{}", origin(base_url))),
        _ => Error::Network(format!("cannot reach Acme: {e}")),
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

export!(Acme);
