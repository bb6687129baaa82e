//! What a plugin says about itself, checked, and the other answers of a
//! plugin turned into the host's types.
//!
//! Every text a plugin returns is bounded and sanitised here, once, where
//! it enters the host (see `crate::sanitize`); ids must follow the WIT's
//! rule so that look-alikes cannot stand beside each other.

use serde::Serialize;

use crate::capability::Request;
use crate::error::{Error, PluginFailure, ProviderError};
use crate::names::check_id;
use crate::runtime::{self, Denials, WitCredential, WitError, WitSecret};
use crate::sanitize;
use crate::store::credential::{Credential, Extra, clamp_expiry};

/// The login method every provider has unless it defines its own.
pub const API_KEY_METHOD: &str = "api-key";

pub use crate::runtime::MethodKind;

/// One login method of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuthMethod {
    /// The id, as given to `--method`.
    pub id: String,
    /// A label for people (sanitised).
    pub label: String,
    /// How it works.
    pub kind: MethodKind,
}

/// What a plugin says about itself (sanitised and bounded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PluginMetadata {
    /// The plugin id.
    pub id: String,
    /// Its name for people.
    pub display_name: String,
    /// What it is for.
    pub description: String,
    /// Login methods, preferred first, including the host's `api-key`.
    pub methods: Vec<AuthMethod>,
    /// Capabilities it asks for, as written (with `http:{OPTION}`
    /// templates).
    pub requested: Vec<Request>,
    /// Whether it produces credentials at run time (`resolve`).
    pub resolves: bool,
    /// Whether it renews expiring OAuth tokens (`refresh`, WIT 0.2.0 on).
    pub refreshes: bool,
    /// Whether it can check a credential with its service (`check`).
    pub checks: bool,
    /// Whether it revokes credentials at logout (`revoke`).
    pub revokes: bool,
    /// Whether `resolve` is handed the stored credential (WIT 0.2.0 on).
    #[serde(skip)]
    pub(crate) resolves_from_stored: bool,
    /// The options it reads from its `[providers.NAME]` table, when it
    /// says; the host refuses other keys there.
    pub options: Option<Vec<String>>,
}

impl PluginMetadata {
    /// Whether the plugin itself implements method `id` (the host's
    /// `api-key` paste does not count).
    pub(crate) fn implements(&self, id: &str) -> bool {
        self.methods
            .iter()
            .any(|m| m.id == id && m.kind != MethodKind::ApiKey)
    }
}

/// Bounds on what `describe` may return.
const MAX_METHODS: usize = 32;
const MAX_CAPABILITIES: usize = 64;
const MAX_OPTIONS: usize = 128;
const MAX_METADATA_TEXT: usize = 1024;
/// The longest secret a plugin may return.
const MAX_SECRET: usize = 64 << 10;

/// Checks and converts what `describe` returned.
pub(crate) fn from_wit(m: runtime::Metadata) -> Result<PluginMetadata, PluginFailure> {
    let invalid = PluginFailure::Invalid;
    check_id(&m.id).map_err(|e| invalid(format!("reports id {e}")))?;
    let too_long = [&m.display_name, &m.description]
        .into_iter()
        .chain(
            m.methods
                .iter()
                .flat_map(|method| [&method.id, &method.label]),
        )
        .chain(&m.capabilities)
        .chain(m.options.iter().flatten())
        .any(|text| text.len() > MAX_METADATA_TEXT);
    let too_many_options = m.options.as_ref().is_some_and(|o| o.len() > MAX_OPTIONS);
    if m.methods.len() > MAX_METHODS
        || m.capabilities.len() > MAX_CAPABILITIES
        || too_many_options
        || too_long
    {
        return Err(invalid(format!(
            "metadata over the limits ({MAX_METHODS} methods, {MAX_CAPABILITIES} capabilities, {MAX_METADATA_TEXT} bytes a text)"
        )));
    }
    let mut methods = Vec::with_capacity(m.methods.len() + 1);
    for method in m.methods {
        check_id(&method.id).map_err(|e| invalid(format!("has a method whose id {e}")))?;
        if methods
            .iter()
            .any(|known: &AuthMethod| known.id == method.id)
        {
            return Err(invalid(format!("lists method `{}` twice", method.id)));
        }
        methods.push(AuthMethod {
            id: method.id,
            label: sanitize::plugin_text(&method.label, MAX_METADATA_TEXT),
            kind: method.kind,
        });
    }
    if !methods.iter().any(|method| method.id == API_KEY_METHOD) {
        methods.push(AuthMethod {
            id: API_KEY_METHOD.into(),
            label: "Paste an API key".into(),
            kind: MethodKind::ApiKey,
        });
    }
    let requested = m
        .capabilities
        .iter()
        .map(|text| requested_capability(text).map_err(invalid))
        .collect::<Result<_, _>>()?;
    Ok(PluginMetadata {
        id: m.id,
        display_name: sanitize::plugin_text(&m.display_name, MAX_METADATA_TEXT),
        description: sanitize::plugin_text(&m.description, MAX_METADATA_TEXT),
        methods,
        requested,
        resolves: m.resolves,
        refreshes: m.refreshes,
        checks: m.checks,
        revokes: m.revokes,
        resolves_from_stored: m.resolves_from_stored,
        options: m.options,
    })
}

/// A capability as `describe` requested it. It must parse strictly and be
/// written the way authhost prints it (`http:https://api.example.com`, not
/// `http:https://API.example.com:443/`), so that the text a user is asked
/// about and the request are one and the same; only the default URL of an
/// option template (`http:{base_url=https://example.com/api}`) may be any
/// URL, since its origin is what is shown.
fn requested_capability(text: &str) -> Result<Request, String> {
    let refuse = |reason: String| {
        format!(
            "requests an invalid capability `{}`: {reason}",
            sanitize::plugin_text(text, 200)
        )
    };
    if sanitize::has_unsafe(text) {
        return Err(refuse("it holds control or reordering characters".into()));
    }
    let request = text
        .parse::<Request>()
        .map_err(|e| format!("requests {}", sanitize::short(&e.to_string())))?;
    let printed = request.to_string();
    let canonical = match &request {
        Request::Fixed(_) => printed == text,
        Request::HttpFromOption { option, .. } => text
            .strip_prefix("http:{")
            .and_then(|rest| rest.strip_prefix(option.as_str()))
            .is_some_and(|rest| rest == "}" || rest.starts_with('=')),
    };
    if !canonical {
        return Err(refuse(format!(
            "it is not written as authhost writes it (`{}`)",
            sanitize::short(&printed)
        )));
    }
    Ok(request)
}

/// Most extra facts a credential may carry.
const MAX_EXTRA: usize = 32;
/// Longest value of an extra fact, in bytes.
const MAX_EXTRA_VALUE: usize = 1024;
/// Names an extra fact may not have: the keys of the stored credential
/// itself, and the host's own keys (see `store::entry`).
const RESERVED_EXTRA: &[&str] = crate::store::credential::CREDENTIAL_KEYS;

/// Checks a credential a plugin returned.
pub(crate) fn credential_from_wit(
    plugin: &str,
    credential: WitCredential,
) -> Result<Credential, Error> {
    let invalid = |what: &str| Error::plugin(plugin, PluginFailure::Invalid(what.to_owned()));
    let secret = credential.secret;
    let longest = match &secret {
        WitSecret::ApiKey(key) => key.len(),
        WitSecret::OAuth {
            access, refresh, ..
        } => access.len().max(refresh.as_ref().map_or(0, String::len)),
    };
    if longest > MAX_SECRET {
        return Err(invalid(&format!(
            "a secret of {longest} bytes (at most {MAX_SECRET} are accepted)"
        )));
    }
    let controls = match &secret {
        WitSecret::ApiKey(key) => has_control(key),
        WitSecret::OAuth {
            access, refresh, ..
        } => has_control(access) || refresh.as_deref().is_some_and(has_control),
    };
    if controls {
        // A line break or an escape sequence would corrupt `authhost token`
        // output, a terminal, or the header the secret goes into.
        return Err(invalid("a secret with control characters"));
    }
    let extra = check_extra(credential.extra).map_err(|e| invalid(&e))?;
    match secret {
        WitSecret::ApiKey(key) if key.trim().is_empty() => Err(invalid("an empty API key")),
        WitSecret::ApiKey(key) => Ok(Credential::Api {
            key: key.into(),
            extra,
        }),
        WitSecret::OAuth { access, .. } if access.is_empty() => {
            Err(invalid("an empty access token"))
        }
        WitSecret::OAuth {
            access,
            refresh,
            expires,
        } => Ok(Credential::OAuth {
            access: access.into(),
            refresh: refresh.map(Into::into),
            expires: expires.map(clamp_expiry),
            extra,
        }),
    }
}

/// Checks a credential's extra facts: names of 1-64 ASCII letters, digits,
/// `_`, `-` and `.` starting with a letter, none of the credential's own
/// keys, no name twice, values without control characters.
fn check_extra(pairs: Vec<(String, String)>) -> Result<Extra, String> {
    if pairs.len() > MAX_EXTRA {
        return Err(format!("more than {MAX_EXTRA} extra facts"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in &pairs {
        let shown = || sanitize::plugin_text(name, 64);
        let well_formed = !name.is_empty()
            && name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !well_formed {
            return Err(format!("an extra fact named `{}`", shown()));
        }
        if RESERVED_EXTRA.contains(&name.as_str()) {
            return Err(format!(
                "an extra fact named `{name}`, a key of the credential itself"
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(format!("the extra fact `{name}` twice"));
        }
        if value.len() > MAX_EXTRA_VALUE || has_control(value) {
            return Err(format!(
                "an extra fact `{name}` over {MAX_EXTRA_VALUE} bytes or with control characters"
            ));
        }
    }
    Ok(Extra::from_pairs(pairs))
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// A stored credential as the contract hands it to a plugin.
pub(crate) fn credential_to_wit(credential: &Credential) -> WitCredential {
    use secrecy::ExposeSecret;
    let secret = match credential {
        Credential::Api { key, .. } => WitSecret::ApiKey(key.expose_secret().to_owned()),
        Credential::OAuth {
            access,
            refresh,
            expires,
            ..
        } => WitSecret::OAuth {
            access: access.expose_secret().to_owned(),
            refresh: refresh.as_ref().map(|r| r.expose_secret().to_owned()),
            expires: *expires,
        },
    };
    WitCredential {
        secret,
        extra: credential
            .extra()
            .pairs()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }
}

/// What `check` reported about a credential, sanitised and bounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AccountInfo {
    /// Whom the credential belongs to, when the service says.
    pub account: Option<String>,
    /// When the credential expires (ms since the epoch), when the service
    /// says.
    pub expires: Option<u64>,
    /// Further facts as label/value pairs, in the plugin's order.
    pub details: Vec<(String, String)>,
}

/// Most details of an account shown.
const MAX_DETAILS: usize = 32;
/// Longest account name or detail value shown, in characters.
const MAX_FACT: usize = 200;

/// Bounds and sanitises what `check` returned.
pub(crate) fn account_from_wit(info: runtime::AccountInfo) -> AccountInfo {
    AccountInfo {
        account: info.account.map(|a| sanitize::plugin_text(&a, MAX_FACT)),
        expires: info.expires.map(clamp_expiry),
        details: info
            .details
            .into_iter()
            .take(MAX_DETAILS)
            .map(|(label, value)| {
                (
                    sanitize::plugin_text(&label, 64),
                    sanitize::plugin_text(&value, MAX_FACT),
                )
            })
            .collect(),
    }
}

/// The error a provider returned, as the user sees it: its texts sanitised
/// and bounded. `denied` is what the host denied during the call; the error
/// names those capabilities, and the command that grants them, whatever the
/// plugin returned, and a plugin's claim that a capability was denied when
/// the host denied nothing is shown as its claim.
pub(crate) fn provider_error(provider: &str, error: WitError, denied: &Denials) -> Error {
    let text = |m: String| sanitize::short(&m);
    // What the host denied in this call, in its own words: the cause the
    // user can act on, whatever the plugin made of it (a JavaScript `fetch`
    // reports a denial as a failed connection).
    let note = |m: String| match denied.note() {
        None => text(m),
        Some(note) => format!("{} ({note})", text(m)),
    };
    let error = match error {
        WitError::Cancelled => return Error::Cancelled,
        WitError::CapabilityDenied(m) if denied.is_empty() => ProviderError::ClaimedDenied(text(m)),
        WitError::CapabilityDenied(_) => ProviderError::CapabilityDenied {
            capabilities: denied.capabilities.join("`, `"),
            grant: denied.grant_command(),
        },
        WitError::Denied(m) => ProviderError::Denied(note(m)),
        WitError::Timeout(m) => ProviderError::Timeout(note(m)),
        WitError::Network(m) => ProviderError::Network(note(m)),
        WitError::InvalidResponse(m) => ProviderError::InvalidResponse(note(m)),
        WitError::Other(m) => ProviderError::Other(note(m)),
    };
    Error::Provider {
        provider: provider.to_owned(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(id: &str) -> runtime::Metadata {
        runtime::Metadata {
            id: id.into(),
            display_name: "Acme\u{1b}[31m".into(),
            description: "line\r\nerror: forged".into(),
            methods: vec![runtime::Method {
                id: "password".into(),
                label: "Log in\u{7}".into(),
                kind: MethodKind::OAuth,
            }],
            capabilities: vec!["prompt".into(), "http:{base_url}".into()],
            resolves: false,
            refreshes: false,
            checks: false,
            revokes: false,
            resolves_from_stored: true,
            options: None,
        }
    }

    #[test]
    fn ids_follow_the_wit_rule() {
        for good in ["openrouter", "acme-2", "a"] {
            assert!(check_id(good).is_ok(), "{good}");
        }
        for bad in [
            "OpenRouter",
            "acme_2",
            "",
            "-x",
            "2x",
            "a b",
            "ａcme",
            &"a".repeat(65),
        ] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert!(from_wit(metadata("OpenRouter")).is_err());
    }

    #[test]
    fn texts_are_sanitised_on_the_way_in() {
        let m = from_wit(metadata("acme")).unwrap();
        assert_eq!(m.display_name, "Acme\\u{1b}[31m");
        assert_eq!(m.description, "line\\r\\nerror: forged");
        assert_eq!(m.methods[0].label, "Log in\\u{7}");
        assert_eq!(m.methods.last().unwrap().id, API_KEY_METHOD);
        let mut bad = metadata("acme");
        bad.capabilities = vec!["\u{1b}]0;owned\u{7}".into()];
        let err = from_wit(bad).unwrap_err().to_string();
        assert!(!crate::sanitize::has_unsafe(&err), "{err:?}");
    }

    #[test]
    fn requested_capabilities_are_strict_and_canonical() {
        for good in [
            "process",
            "prompt",
            "http:https://api.acme.example",
            "http:http://127.0.0.1:8080",
            "http:https://xn--bcher-kva.example",
            "http:{base_url}",
            "http:{base_url=https://api.acme.example/v1/}",
        ] {
            assert!(requested_capability(good).is_ok(), "{good}");
        }
        for bad in [
            // Not as authhost prints them.
            "http:https://API.acme.example",
            "http:https://api.acme.example:443",
            "http:https://api.acme.example/",
            "http:https://bücher.example",
            "http:http://127.1",
            // Terminal control in every place it could hide.
            "http:https://a.example\r\u{1b}[2KPlugin x asks for: prompt",
            "http:https://\u{1b}]0;title\u{7}a.example",
            "http:https://a\u{8}\u{8}prompt.example",
            "http:{base_url=https://a.example/\u{1b}[2J}",
            "process:op\u{202e}",
            "http:https://a%1b.example",
        ] {
            let err = requested_capability(bad).unwrap_err();
            assert!(!crate::sanitize::has_unsafe(&err), "{bad:?}: {err:?}");
        }
        assert!(
            requested_capability("http:https://API.acme.example")
                .unwrap_err()
                .contains("(`http:https://api.acme.example`)")
        );
    }

    #[test]
    fn credentials_from_plugins_are_clamped_and_cannot_claim_the_hosts_keys() {
        let oauth = |extra: Vec<(String, String)>| WitCredential {
            secret: WitSecret::OAuth {
                access: "a".into(),
                refresh: Some("r".into()),
                expires: Some(u64::MAX),
            },
            extra,
        };
        let credential = credential_from_wit("acme", oauth(Vec::new())).unwrap();
        assert_eq!(
            credential.expires(),
            Some(crate::store::credential::LATEST_EXPIRY_MS)
        );
        let Credential::OAuth { expires, .. } = credential else {
            panic!()
        };
        assert_eq!(expires, Some(crate::store::credential::LATEST_EXPIRY_MS));
        for name in ["plugin", "plugin_sha256", "resolve", "refresh", "issued"] {
            let forged = oauth(vec![(name.into(), "other".into())]);
            let error = credential_from_wit("acme", forged).unwrap_err().to_string();
            assert!(error.contains("a key of the credential itself"), "{error}");
        }
        let info = account_from_wit(runtime::AccountInfo {
            account: None,
            expires: Some(u64::MAX),
            details: Vec::new(),
        });
        assert_eq!(
            info.expires,
            Some(crate::store::credential::LATEST_EXPIRY_MS)
        );
    }

    #[test]
    fn a_claimed_denial_is_not_the_hosts_word() {
        let nothing = Denials {
            plugin: "acme".into(),
            capabilities: Vec::new(),
        };
        let claimed = provider_error(
            "acme",
            WitError::CapabilityDenied("process:op".into()),
            &nothing,
        );
        assert!(matches!(
            claimed,
            Error::Provider {
                error: ProviderError::ClaimedDenied(_),
                ..
            }
        ));
        let real = provider_error(
            "acme",
            WitError::CapabilityDenied("anything".into()),
            &Denials {
                plugin: "acme".into(),
                capabilities: vec!["prompt".into(), "http:https://api.acme.example".into()],
            },
        );
        assert_eq!(
            real.to_string(),
            "acme: capability denied: `prompt`, `http:https://api.acme.example` was not \
             granted; to allow it: `authhost plugins grant acme prompt http:https://api.acme.example`"
        );
        let network = provider_error(
            "acme",
            WitError::Network("TypeError: fetch failed".into()),
            &Denials {
                plugin: "acme".into(),
                capabilities: vec!["http:https://api.acme.example".into()],
            },
        );
        assert_eq!(
            network.to_string(),
            "acme: network error: TypeError: fetch failed (authhost denied \
             `http:https://api.acme.example` during this call; to allow it: \
             `authhost plugins grant acme http:https://api.acme.example`)"
        );
    }
}
