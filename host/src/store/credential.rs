//! Credentials and their on-disk shape.
//!
//! The store uses the shape opencode's `auth.json` uses, so users recognise
//! it: `{"type": "api", "key": "..."}` or
//! `{"type": "oauth", "access": "...", "refresh": "...", "expires": 1730000000000}`,
//! with any non-secret facts about the credential (`"accountId": "..."`)
//! beside those keys. Secrets are [`SecretString`]s: their `Debug` output
//! is redacted.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A credential for one provider.
///
/// It reads the `auth.json` shape (`Deserialize`) but has no `Serialize`:
/// what an embedder encodes, logs or sends (`Debug` included) never holds
/// the secret; [`Credential::secret`] is the one way to the secret, and the
/// store writes it through a private form of its own.
///
/// ```compile_fail
/// let credential = authhost::Credential::api_key("sk-1");
/// serde_json::to_string(&credential).unwrap(); // no `Serialize`
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum Credential {
    /// A long-lived API key.
    #[serde(rename = "api")]
    Api {
        /// The key.
        key: SecretString,
        /// Facts about the key that are not secret.
        #[serde(flatten)]
        extra: Extra,
    },
    /// OAuth tokens.
    #[serde(rename = "oauth")]
    OAuth {
        /// The access token.
        access: SecretString,
        /// The refresh token, if any.
        #[serde(default)]
        refresh: Option<SecretString>,
        /// Expiry of `access`, in milliseconds since the Unix epoch (read
        /// clamped to [`LATEST_EXPIRY_MS`]).
        #[serde(default, deserialize_with = "clamped_expiry")]
        expires: Option<u64>,
        /// Facts about the login that are not secret.
        #[serde(flatten)]
        extra: Extra,
    },
}

/// Facts about a credential that are not secret (an account id, an e-mail
/// address, an enterprise URL), kept beside the secret in `auth.json`.
/// Values other tools wrote that are not strings are kept as they are.
///
/// A hand-edited file may hold anything beside a credential (a token under
/// the wrong credential type's key), so `Debug` shows only the names, and
/// [`Extra::pairs`] leaves out names that are a credential's own keys.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Extra(BTreeMap<String, Value>);

/// Keys of stored credentials (and the host's own keys of an `auth.json`
/// entry: the `resolve` marker, the plugin that made the credential and
/// when its tokens were issued), never shown as extra facts, and refused
/// as names of extra facts a plugin returns (a fact named like one would
/// write the key twice and make the entry unreadable).
pub(crate) const CREDENTIAL_KEYS: &[&str] = &[
    "type",
    "key",
    "access",
    "refresh",
    "expires",
    "resolve",
    "plugin",
    "plugin_sha256",
    "issued",
];

impl std::fmt::Debug for Extra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Extra {
    /// Extra facts from name/value pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Extra {
        Extra(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    }

    /// The facts whose values are strings, by name (names that are a
    /// credential's own keys left out).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .filter(|(k, _)| !CREDENTIAL_KEYS.contains(&k.as_str()))
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The kind of a credential, safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CredentialKind {
    /// An API key.
    Api,
    /// OAuth tokens.
    OAuth,
}

impl std::fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CredentialKind::Api => "api key",
            CredentialKind::OAuth => "oauth tokens",
        })
    }
}

impl Credential {
    /// An API key credential.
    pub fn api_key(key: impl Into<String>) -> Credential {
        Credential::Api {
            key: SecretString::from(key.into()),
            extra: Extra::default(),
        }
    }

    /// The non-secret facts kept with the credential.
    pub fn extra(&self) -> &Extra {
        match self {
            Credential::Api { extra, .. } | Credential::OAuth { extra, .. } => extra,
        }
    }

    /// When the access token expires (ms since the epoch), for OAuth tokens
    /// that say; never later than [`LATEST_EXPIRY_MS`].
    pub fn expires(&self) -> Option<u64> {
        match self {
            Credential::OAuth { expires, .. } => expires.map(clamp_expiry),
            Credential::Api { .. } => None,
        }
    }

    /// Whether the credential holds a refresh token.
    pub fn has_refresh_token(&self) -> bool {
        matches!(
            self,
            Credential::OAuth {
                refresh: Some(_),
                ..
            }
        )
    }

    /// What kind of credential this is.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credential::Api { .. } => CredentialKind::Api,
            Credential::OAuth { .. } => CredentialKind::OAuth,
        }
    }

    /// The secret sent with requests: the key, or the access token.
    pub fn secret(&self) -> &SecretString {
        match self {
            Credential::Api { key, .. } => key,
            Credential::OAuth { access, .. } => access,
        }
    }

    /// True when this is an OAuth token whose expiry (less `margin_ms`) has
    /// passed at `now_ms`.
    pub fn is_expired(&self, now_ms: u64, margin_ms: u64) -> bool {
        match self {
            Credential::OAuth {
                expires: Some(expires),
                ..
            } => clamp_expiry(*expires).saturating_sub(margin_ms) <= now_ms,
            _ => false,
        }
    }
}

/// A usable secret returned by [`crate::Host::token`], with what is known
/// about it: its kind and, for OAuth access tokens that say, its expiry.
/// `Debug` is redacted.
#[derive(Debug, Clone)]
pub struct Token {
    secret: SecretString,
    kind: CredentialKind,
    expires: Option<u64>,
}

impl Token {
    /// An API key (or a secret of unknown lifetime).
    pub(crate) fn new(secret: SecretString) -> Token {
        Token {
            secret,
            kind: CredentialKind::Api,
            expires: None,
        }
    }

    /// The secret of `credential` (its key or access token), with its kind
    /// and expiry.
    pub(crate) fn of(credential: &Credential) -> Token {
        Token {
            secret: credential.secret().clone(),
            kind: credential.kind(),
            expires: credential.expires(),
        }
    }

    pub(crate) fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The secret itself. Do not log it.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// Whether it is an API key or an OAuth access token.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// When it expires, in milliseconds since the Unix epoch: known for
    /// OAuth access tokens that say; `None` for API keys.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }
}

/// The latest expiry authhost keeps or shows: 9999-12-31T23:59:59Z, in
/// milliseconds since the Unix epoch. A plugin, a service or `auth.json`
/// may say later (`u64::MAX` for "never"), but RFC 3339 timestamps have
/// four-digit years, and kubectl and other parsers refuse anything later.
pub const LATEST_EXPIRY_MS: u64 = 253_402_300_799_000;

/// `ms` (an expiry, ms since the Unix epoch), no later than
/// [`LATEST_EXPIRY_MS`].
pub fn clamp_expiry(ms: u64) -> u64 {
    ms.min(LATEST_EXPIRY_MS)
}

/// `ms` (milliseconds since the Unix epoch) as an RFC 3339 UTC timestamp
/// to the second, e.g. `2030-01-01T00:00:00Z` (the milliseconds are
/// dropped, so the time never lies after `ms`; a time after
/// [`LATEST_EXPIRY_MS`] is shown as that).
#[doc(hidden)]
pub fn rfc3339(ms: u64) -> String {
    // `time` rather than `jiff`: jiff's timestamps end 26 hours before year
    // 9999 does.
    let seconds = (clamp_expiry(ms) / 1000) as i64;
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .expect("every time up to LATEST_EXPIRY_MS is in `time`'s range")
}

/// Milliseconds since the Unix epoch.
#[doc(hidden)]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Reads an expiry clamped to [`LATEST_EXPIRY_MS`].
fn clamped_expiry<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.map(clamp_expiry))
}

/// A credential as the store writes it, secrets in the clear: the one
/// place a [`Credential`] is encoded (`auth.json`, the helper cache, the
/// sealed rows of the shared store). Private to the crate.
#[derive(Serialize)]
#[serde(tag = "type")]
pub(crate) enum Wire<'a> {
    #[serde(rename = "api")]
    Api {
        key: &'a str,
        #[serde(flatten)]
        extra: &'a Extra,
    },
    #[serde(rename = "oauth")]
    OAuth {
        access: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires: Option<u64>,
        #[serde(flatten)]
        extra: &'a Extra,
    },
}

impl<'a> From<&'a Credential> for Wire<'a> {
    fn from(credential: &'a Credential) -> Wire<'a> {
        match credential {
            Credential::Api { key, extra } => Wire::Api {
                key: key.expose_secret(),
                extra,
            },
            Credential::OAuth {
                access,
                refresh,
                expires,
                extra,
            } => Wire::OAuth {
                access: access.expose_secret(),
                refresh: refresh.as_ref().map(|r| r.expose_secret()),
                expires: *expires,
                extra,
            },
        }
    }
}

/// Writes `credential` in its [`Wire`] form: for `#[serde(serialize_with)]`
/// on the store's own records.
pub(crate) fn write<S: Serializer>(credential: &Credential, s: S) -> Result<S::Ok, S::Error> {
    Wire::from(credential).serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_opencode_shape() {
        let json = r#"{"type":"oauth","access":"a-1","refresh":"r-1","expires":5}"#;
        let c: Credential = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&Wire::from(&c)).unwrap(), json);
        let api = Credential::api_key("sk-1");
        assert_eq!(
            serde_json::to_string(&Wire::from(&api)).unwrap(),
            r#"{"type":"api","key":"sk-1"}"#
        );
    }

    #[test]
    fn extra_facts_sit_beside_the_secret() {
        let json = r#"{"type":"oauth","access":"a-1","refresh":"r-1","expires":5,"accountId":"acct-9","n":3}"#;
        let c: Credential = serde_json::from_str(json).unwrap();
        let pairs: Vec<_> = c.extra().pairs().collect();
        assert_eq!(pairs, [("accountId", "acct-9")]);
        let back: Value = serde_json::to_value(Wire::from(&c)).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(json).unwrap());
        let api: Credential =
            serde_json::from_str(r#"{"type":"api","key":"k","baseUrl":"https://x"}"#).unwrap();
        assert_eq!(api.extra().pairs().next(), Some(("baseUrl", "https://x")));
    }

    #[test]
    fn debug_is_redacted() {
        let misplaced: Credential = serde_json::from_str(
            r#"{"type":"api","key":"k","access":"at-canary-456","login":"octo"}"#,
        )
        .unwrap();
        let shown = format!("{misplaced:?}");
        assert!(
            !shown.contains("canary") && !shown.contains("octo"),
            "{shown}"
        );
        assert_eq!(
            misplaced.extra().pairs().collect::<Vec<_>>(),
            [("login", "octo")]
        );
        let c = Credential::api_key("sk-canary-123");
        assert!(!format!("{c:?}").contains("canary"));
        let t = Token::new(SecretString::from("sk-canary-123"));
        assert!(!format!("{t:?}").contains("canary"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(999), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_164_799_000), "2024-02-28T23:59:59Z");
        assert_eq!(rfc3339(1_730_000_000_123), "2024-10-27T03:33:20Z");
        assert_eq!(rfc3339(1_893_456_000_000), "2030-01-01T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799_000), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(LATEST_EXPIRY_MS + 999), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59Z");
    }

    /// Every timestamp `rfc3339` prints, up to the clamp, is what a strict
    /// RFC 3339 formatter and parser make of it.
    #[test]
    fn timestamps_agree_with_a_strict_rfc3339_parser() {
        let mut ms = 0u64;
        let step = 37 * 86_400_000 + 3_723_456;
        while ms <= u64::MAX - step {
            let text = rfc3339(ms);
            let parsed = humantime::parse_rfc3339(&text)
                .unwrap_or_else(|e| panic!("{ms}: `{text}` does not parse: {e}"));
            let seconds = parsed.duration_since(std::time::UNIX_EPOCH).unwrap();
            assert_eq!(seconds.as_secs(), clamp_expiry(ms) / 1000, "{text}");
            if ms <= LATEST_EXPIRY_MS {
                let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(ms / 1000);
                assert_eq!(humantime::format_rfc3339_seconds(time).to_string(), text);
            }
            ms = if ms > LATEST_EXPIRY_MS {
                ms.saturating_mul(2)
            } else {
                ms + step
            };
        }
    }

    #[test]
    fn expiries_past_year_9999_are_clamped() {
        let json = format!(r#"{{"type":"oauth","access":"a","expires":{}}}"#, u64::MAX);
        let c: Credential = serde_json::from_str(&json).unwrap();
        assert_eq!(c.expires(), Some(LATEST_EXPIRY_MS));
        assert_eq!(
            serde_json::to_value(Wire::from(&c)).unwrap()["expires"],
            LATEST_EXPIRY_MS
        );
        let built = Credential::OAuth {
            access: SecretString::from("a"),
            refresh: None,
            expires: Some(u64::MAX),
            extra: Extra::default(),
        };
        assert_eq!(built.expires(), Some(LATEST_EXPIRY_MS));
        assert_eq!(Token::of(&built).expires(), Some(LATEST_EXPIRY_MS));
        assert!(!built.is_expired(LATEST_EXPIRY_MS - 1, 0));
    }

    #[test]
    fn tokens_carry_kind_and_expiry() {
        let c: Credential =
            serde_json::from_str(r#"{"type":"oauth","access":"at-canary","expires":7}"#).unwrap();
        let t = Token::of(&c);
        assert_eq!((t.kind(), t.expires()), (CredentialKind::OAuth, Some(7)));
        assert!(!format!("{t:?}").contains("canary"));
        let t = Token::of(&Credential::api_key("k"));
        assert_eq!((t.kind(), t.expires()), (CredentialKind::Api, None));
    }

    #[test]
    fn expiry() {
        let c: Credential =
            serde_json::from_str(r#"{"type":"oauth","access":"a","expires":1000}"#).unwrap();
        assert!(c.is_expired(1000, 0));
        assert!(c.is_expired(900, 200));
        assert!(!c.is_expired(500, 0));
        assert!(!Credential::api_key("k").is_expired(u64::MAX, 0));
    }
}
