//! `[providers.NAME]` options, checked before anything is sent.

use std::collections::BTreeMap;

use authhost_sdk::config;
use authhost_sdk::types::Error;
use serde::Deserialize;

/// The redirect path unless `redirect_path` says otherwise.
pub const DEFAULT_REDIRECT_PATH: &str = "/callback";

/// Parameters of the authorization request that this provider sets itself:
/// `extra_params` may not name them.
const MANAGED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "client_secret",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "audience",
    "grant_type",
    "code",
    "code_verifier",
    "device_code",
    "refresh_token",
];

/// The URL options, in the order they are checked and listed.
pub const URL_OPTIONS: &[&str] = &[
    "issuer",
    "authorization_url",
    "token_url",
    "device_authorization_url",
    "revocation_url",
    "userinfo_url",
];

/// The provider's options (the keys of `[providers.NAME]` besides
/// `plugin`). An unknown key is an error naming it.
/// The keys of `[providers.NAME]` this provider reads (declared in its
/// metadata, so the host names a typo before the plugin runs).
pub const KEYS: [&str; 14] = [
    "issuer",
    "authorization_url",
    "token_url",
    "device_authorization_url",
    "revocation_url",
    "userinfo_url",
    "client_id",
    "client_secret",
    "scopes",
    "audience",
    "extra_params",
    "callback_port",
    "redirect_path",
    "token",
];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The OpenID Connect issuer, whose discovery document names the
    /// endpoints.
    pub issuer: Option<String>,
    /// The authorization endpoint (browser logins).
    pub authorization_url: Option<String>,
    /// The token endpoint.
    pub token_url: Option<String>,
    /// The device authorization endpoint (device logins).
    pub device_authorization_url: Option<String>,
    /// The revocation endpoint (RFC 7009), used at logout.
    pub revocation_url: Option<String>,
    /// The userinfo endpoint, used by `status --check`.
    pub userinfo_url: Option<String>,
    /// The client id registered at the IdP.
    pub client_id: String,
    /// The client secret, for IdPs that give installed apps one.
    pub client_secret: Option<String>,
    /// The scopes to ask for.
    pub scopes: Option<Vec<String>>,
    /// The `audience` parameter some IdPs want.
    pub audience: Option<String>,
    /// More parameters for the authorization and device authorization
    /// requests.
    #[serde(default)]
    pub extra_params: BTreeMap<String, String>,
    /// The loopback port of the redirect URI; any free port when unset.
    pub callback_port: Option<u16>,
    /// The path of the redirect URI.
    pub redirect_path: Option<String>,
    /// What `authhost token` prints.
    #[serde(default)]
    pub token: TokenKind,
}

/// Which token `authhost token` prints.
#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// The access token.
    #[default]
    Access,
    /// The OpenID Connect ID token.
    Id,
}

impl std::fmt::Debug for Options {
    /// Leaves the client secret out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// Whether the device endpoint is the only login endpoint there is: no
    /// issuer to discover an authorization endpoint from, and none set.
    pub fn device_only(&self) -> bool {
        self.issuer.is_none()
            && self.authorization_url.is_none()
            && self.device_authorization_url.is_some()
    }

    /// The options from the host, checked.
    pub fn load() -> Result<Options, Error> {
        let options: Options = config::options()?;
        options.check().map_err(|e| {
            Error::Other(format!(
                "invalid [providers.{}] options: {e}",
                config::provider_name()
            ))
        })?;
        Ok(options)
    }

    /// Checks what serde cannot: URLs, the redirect path, the parameters.
    pub fn check(&self) -> Result<(), String> {
        if self.client_id.trim().is_empty() {
            return Err("`client_id` is empty".into());
        }
        for name in URL_OPTIONS {
            if let Some(value) = self.url_option(name) {
                check_url(name, value)?;
            }
        }
        if let Some(issuer) = &self.issuer {
            let url = url::Url::parse(issuer).map_err(|e| format!("`issuer`: {e}"))?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err("`issuer` must not have a query or a fragment".into());
            }
        }
        if self.issuer.is_none() && self.token_url.is_none() {
            return Err(
                "set `issuer` (for OpenID Connect discovery) or the endpoints \
                        (`authorization_url` or `device_authorization_url`, and `token_url`)"
                    .into(),
            );
        }
        let path = self.redirect_path();
        let valid_path = path.starts_with('/')
            && !path.starts_with("//")
            && path
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'%' | b'\\'));
        if !valid_path {
            return Err(format!(
                "`redirect_path` must be a path such as `/callback`, not `{path}`"
            ));
        }
        if let Some(name) = self
            .extra_params
            .keys()
            .find(|k| MANAGED_PARAMS.contains(&k.as_str()))
        {
            let hint = match name.as_str() {
                "scope" => " (use `scopes`)",
                "audience" => " (use `audience`)",
                _ => "",
            };
            return Err(format!(
                "`extra_params` may not set `{name}`: authhost sets it{hint}"
            ));
        }
        if let Some(scope) = self
            .scopes
            .iter()
            .flatten()
            .find(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(format!(
                "each of `scopes` is one scope without spaces, not `{scope}`"
            ));
        }
        Ok(())
    }

    /// The value of URL option `name`.
    pub fn url_option(&self, name: &str) -> Option<&str> {
        match name {
            "issuer" => self.issuer.as_deref(),
            "authorization_url" => self.authorization_url.as_deref(),
            "token_url" => self.token_url.as_deref(),
            "device_authorization_url" => self.device_authorization_url.as_deref(),
            "revocation_url" => self.revocation_url.as_deref(),
            "userinfo_url" => self.userinfo_url.as_deref(),
            _ => None,
        }
    }

    /// The scopes to ask for: `scopes`, or `openid` with an `issuer` (an
    /// OpenID Connect login), or none (the IdP's default).
    pub fn scopes(&self) -> Vec<String> {
        match (&self.scopes, &self.issuer) {
            (Some(scopes), _) => scopes.clone(),
            (None, Some(_)) => vec!["openid".into()],
            (None, None) => Vec::new(),
        }
    }

    /// The path of the redirect URI.
    pub fn redirect_path(&self) -> &str {
        self.redirect_path
            .as_deref()
            .unwrap_or(DEFAULT_REDIRECT_PATH)
    }

    /// Whether this provider may send requests to `url`: the host grants
    /// the origins of the URL options, and nothing else.
    pub fn may_reach(&self, url: &url::Url) -> bool {
        let origin = url.origin().ascii_serialization();
        URL_OPTIONS.iter().any(|name| {
            self.url_option(name)
                .and_then(|v| url::Url::parse(v).ok())
                .is_some_and(|u| u.origin().ascii_serialization() == origin)
        })
    }

    /// The extra parameters of the authorization and device authorization
    /// requests: `audience`, then `extra_params`.
    pub fn extra_params(&self) -> Vec<(String, String)> {
        self.audience
            .iter()
            .map(|a| ("audience".to_owned(), a.clone()))
            .chain(
                self.extra_params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            )
            .collect()
    }
}

/// Checks that `value` (option `name`) is an https URL, or an http one on
/// a loopback address: tokens never travel in clear text over a network.
pub fn check_url(name: &str, value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|e| format!("`{name}` is not a URL ({e})"))?;
    if url.fragment().is_some() {
        return Err(format!("`{name}` must not have a fragment"));
    }
    if is_secure(&url) {
        Ok(url)
    } else {
        Err(format!(
            "`{name}` must be an https URL (http only on 127.0.0.1, ::1 or localhost), not `{value}`"
        ))
    }
}

/// https, or http to a loopback address.
pub fn is_secure(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => url.has_host(),
        "http" => match url.host() {
            Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_keys_are_the_fields() {
        for key in KEYS {
            let json = match key {
                "client_id" => r#"{"client_id": "c"}"#.to_owned(),
                "scopes" => format!(r#"{{"client_id": "c", "{key}": []}}"#),
                "extra_params" => format!(r#"{{"client_id": "c", "{key}": {{}}}}"#),
                "callback_port" => format!(r#"{{"client_id": "c", "{key}": 1}}"#),
                "token" => format!(r#"{{"client_id": "c", "{key}": "access"}}"#),
                _ => format!(r#"{{"client_id": "c", "{key}": "https://x.example"}}"#),
            };
            let parsed: Result<Options, _> = serde_json::from_str(&json);
            assert!(
                parsed.is_ok(),
                "{key}: {:?}",
                parsed.err().map(|e| e.to_string())
            );
        }
    }

    fn parse(json: &str) -> Result<Options, String> {
        let options: Options = config::parse(json, "corp").map_err(|e| format!("{e:?}"))?;
        options.check()?;
        Ok(options)
    }

    #[test]
    fn a_minimal_configuration() {
        let options =
            parse(r#"{"issuer": "https://login.example.com", "client_id": "cli"}"#).unwrap();
        assert_eq!(options.scopes(), ["openid"]);
        assert_eq!(options.redirect_path(), "/callback");
        assert_eq!(options.token, TokenKind::Access);
        let explicit = parse(
            r#"{"token_url": "https://a.example/token", "client_id": "cli", "token": "id",
                "scopes": ["x"], "extra_params": {"prompt": "consent"}, "audience": "api"}"#,
        )
        .unwrap();
        assert_eq!(explicit.token, TokenKind::Id);
        assert_eq!(explicit.scopes(), ["x"]);
        assert_eq!(
            explicit.extra_params(),
            [
                ("audience".to_owned(), "api".to_owned()),
                ("prompt".to_owned(), "consent".to_owned())
            ]
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (json, expected) in [
            (
                r#"{"client_id": "c", "isuer": "x"}"#,
                "unknown field `isuer`",
            ),
            (
                r#"{"issuer": "https://a.example"}"#,
                "missing field `client_id`",
            ),
            (r#"{"client_id": "c"}"#, "set `issuer`"),
            (
                r#"{"client_id": "c", "issuer": "http://login.example.com"}"#,
                "`issuer` must be an https URL",
            ),
            (
                r#"{"client_id": "c", "issuer": "https://a.example", "token_url": "ftp://x"}"#,
                "`token_url` must be an https URL",
            ),
            (
                r#"{"client_id": "c", "issuer": "https://a.example", "redirect_path": "cb"}"#,
                "`redirect_path` must be a path",
            ),
            (
                r#"{"client_id": "c", "issuer": "https://a.example", "extra_params": {"state": "x"}}"#,
                "may not set `state`",
            ),
            (
                r#"{"client_id": "c", "issuer": "https://a.example", "extra_params": {"scope": "x"}}"#,
                "(use `scopes`)",
            ),
            (
                r#"{"client_id": "c", "issuer": "https://a.example", "token": "refresh"}"#,
                "unknown variant `refresh`",
            ),
            (
                r#"{"client_id": "c", "issuer": "https://a.example", "scopes": ["a b"]}"#,
                "one scope without spaces",
            ),
        ] {
            let error = parse(json).err().unwrap_or_default();
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    #[test]
    fn loopback_http_is_allowed_and_reach_follows_the_options() {
        let options = parse(
            r#"{"client_id": "c", "issuer": "http://127.0.0.1:8080",
                "token_url": "https://tokens.example/t"}"#,
        )
        .unwrap();
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert!(options.may_reach(&url("http://127.0.0.1:8080/token")));
        assert!(options.may_reach(&url("https://tokens.example/other")));
        assert!(!options.may_reach(&url("http://127.0.0.1:8081/token")));
        assert!(!options.may_reach(&url("https://evil.example/")));
        assert!(is_secure(&url("http://localhost:1/")));
        assert!(is_secure(&url("http://[::1]:1/")));
        assert!(!is_secure(&url("http://10.0.0.1/")));
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let options = parse(
            r#"{"issuer": "https://a.example", "client_id": "c", "client_secret": "s3cr3t"}"#,
        )
        .unwrap();
        assert!(!format!("{options:?}").contains("s3cr3t"));
    }
}
