//! The built-in `api-key` provider: a key the user pastes, which the host
//! stores. It implements the well-known providers of authhost's catalog
//! (Anthropic, OpenAI, Gemini, …) and any provider configured with
//! `plugin = "api-key"`:
//!
//! ```toml
//! [providers.acme]
//! plugin = "api-key"
//! check_url = "https://api.acme.example/v1/models"   # GET answers 200 to a valid key
//! check_auth = "bearer"                               # or "header:x-api-key"
//! check_headers = { "acme-version" = "2024-01-01" }
//! ```
//!
//! The login is the host's own paste prompt (`api-key`), so the key never
//! passes through this component at login. `authhost status NAME --check`
//! sends the stored key to `check_url` and reports whether the service
//! accepts it.

#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

use std::collections::BTreeMap;
use std::time::Duration;

use authhost_sdk::prelude::*;
use serde::Deserialize;

/// `[providers.NAME]` options (the catalog supplies them for its entries).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    check_url: Option<String>,
    check_auth: Option<String>,
    #[serde(default)]
    check_headers: BTreeMap<String, String>,
}

/// How the key is sent to the check endpoint.
#[derive(Debug, PartialEq, Eq)]
enum Auth {
    /// `Authorization: Bearer KEY`.
    Bearer,
    /// `NAME: KEY`.
    Header(String),
}

impl Auth {
    fn parse(text: Option<&str>) -> Result<Auth, Error> {
        match text {
            None | Some("bearer") => Ok(Auth::Bearer),
            Some(other) => match other.strip_prefix("header:") {
                Some(name)
                    if !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
                {
                    Ok(Auth::Header(name.to_ascii_lowercase()))
                }
                _ => Err(Error::Other(format!(
                    "`check_auth` must be \"bearer\" or \"header:NAME\", not `{}`",
                    text::one_line(other, 60)
                ))),
            },
        }
    }
}

struct ApiKey;

impl Provider for ApiKey {
    fn describe() -> Description {
        Description::new(
            "api-key",
            "API key",
            "A key you paste, stored by authhost and checked with the service",
        )
        // No method of its own: the host's `api-key` (paste a key) is the
        // login.
        .capability("http:{check_url}")
        .options(["check_url", "check_auth", "check_headers"])
    }

    fn login(method: String, _options: Vec<(String, String)>) -> Result<Credential, Error> {
        Err(Error::Other(format!(
            "unknown login method `{method}`: paste the key with `--method api-key`"
        )))
    }
}

impl Check for ApiKey {
    fn check(credential: Credential) -> Result<AccountInfo, Error> {
        let options: Options = config::options()?;
        let Some(url) = options.check_url else {
            return Err(Error::Other(
                "this provider has no `check_url` to ask whether a key works".into(),
            ));
        };
        let key = credential.secret_text();
        let mut request = http::Request::get(&url)
            .timeout(Duration::from_secs(30))
            .max_response(1 << 20);
        request = match Auth::parse(options.check_auth.as_deref())? {
            Auth::Bearer => request.header("authorization", &format!("Bearer {key}")),
            Auth::Header(name) => request.header(&name, key),
        };
        for (name, value) in &options.check_headers {
            request = request.header(name, value);
        }
        let response = request.send()?;
        match response.status {
            200..=299 => Ok(AccountInfo {
                account: account_name(&response.body),
                expires: None,
                details: vec![("key".into(), "accepted by the service".into())],
            }),
            401 | 403 => Err(Error::Denied(format!(
                "the service refused the stored key ({}); it may have been revoked",
                response.status
            ))),
            429 => Err(Error::Network(
                "the service is rate-limiting this key (429); try again later".into(),
            )),
            500..=599 => Err(Error::Network(format!(
                "the service answered {}; try again later",
                response.status
            ))),
            status => Err(Error::InvalidResponse(format!(
                "the check endpoint answered with unexpected status {status}"
            ))),
        }
    }
}

/// Who the key belongs to, when the answer names it (`whoami`-style
/// endpoints: `{"name": …}` or `{"user": {"name": …}}`).
fn account_name(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["name", "email", "user", "login"]
        .iter()
        .find_map(|k| match &json[*k] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(o) => {
                o.get("name").and_then(|n| n.as_str()).map(str::to_owned)
            }
            _ => None,
        })
        .map(|name| text::one_line(&name, 100))
}

// Component exports exist only in WebAssembly; natively (unit tests) this
// crate is a library.
#[cfg(target_family = "wasm")]
authhost_sdk::export!(ApiKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_styles() {
        assert_eq!(Auth::parse(None).unwrap(), Auth::Bearer);
        assert_eq!(
            Auth::parse(Some("header:X-Api-Key")).unwrap(),
            Auth::Header("x-api-key".into())
        );
        assert!(Auth::parse(Some("header:")).is_err());
        assert!(Auth::parse(Some("basic")).is_err());
    }

    #[test]
    fn account_names_from_whoami_answers() {
        assert_eq!(
            account_name(br#"{"name":"alice"}"#).as_deref(),
            Some("alice")
        );
        assert_eq!(
            account_name(br#"{"user":{"name":"bob"}}"#).as_deref(),
            Some("bob")
        );
        assert_eq!(account_name(br#"{"data":[]}"#), None);
        assert_eq!(account_name(b"not json"), None);
    }
}
