//! An entry of `auth.json`: a credential, whether it is the credential
//! itself or what the provider's plugin derives its tokens from, and the
//! plugin that made it.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::store::credential::Credential;

/// A stored credential as `auth.json` holds it: the credential's own keys
/// (see [`Credential`]), `"resolve": true` when `authhost token` does not
/// print it but hands it to the plugin's `resolve`, which derives a
/// short-lived credential from it (a long-lived account token exchanged for
/// an API token), and the plugin that made it:
///
/// ```json
/// {"type": "oauth", "access": "…", "refresh": "…", "expires": 1730000000000,
///  "plugin": "acme", "plugin_sha256": "9f86d081…"}
/// ```
///
/// A credential is handed only to the plugin that made it (see
/// [`Stored::check_made_by`]). Entries written before authhost recorded the
/// plugin have neither key: they are taken as made by the provider's
/// current plugin, and gain the keys when they are next written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    #[serde(flatten, serialize_with = "crate::store::credential::write")]
    pub credential: Credential,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resolve: bool,
    /// The id of the plugin that made the credential; `None` in entries
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The SHA-256 (hex) of the component that made the credential, for a
    /// plugin from the plugins folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_sha256: Option<String>,
    /// When an OAuth access token with an expiry was stored (ms since the
    /// Unix epoch): `expires - issued` is the lifetime it was issued with,
    /// which bounds its refresh margin (see [`Stored::margin_ms`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<u64>,
}

/// A plugin as a stored credential records it: its id, and for a plugin
/// from the plugins folder the SHA-256 of its component. A built-in is
/// recorded by its id alone: it ships with authhost, and a new build of
/// authhost must not log everybody out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PluginRef {
    /// The plugin id.
    pub id: String,
    /// The component's SHA-256 (hex), for a folder plugin.
    pub sha256: Option<String>,
}

impl PluginRef {
    /// The plugin in words, for messages: "plugin `acme`", with the start
    /// of its SHA-256 for a folder plugin. Either part may come from
    /// `auth.json`: both are sanitised.
    pub fn describe(id: &str, sha256: Option<&str>) -> String {
        let id = crate::sanitize::plugin_text(id, 64);
        match sha256 {
            Some(sha256) => {
                let start: String = sha256.chars().take(12).collect();
                format!(
                    "plugin `{id}` (component sha256 {}…)",
                    crate::sanitize::plugin_text(&start, 12)
                )
            }
            None => format!("plugin `{id}`"),
        }
    }
}

impl Stored {
    /// A credential used as it is, made by `plugin`.
    pub fn plain(credential: Credential, plugin: &PluginRef) -> Stored {
        let issued = match &credential {
            Credential::OAuth {
                expires: Some(_), ..
            } => Some(crate::store::credential::now_ms()),
            _ => None,
        };
        Stored {
            credential,
            resolve: false,
            plugin: None,
            plugin_sha256: None,
            issued,
        }
        .made_by(plugin)
    }

    /// How long before its expiry this entry's access token is renewed:
    /// `configured_ms`, but at most a quarter of the lifetime the token was
    /// issued with, so that a token that lives shorter than the configured
    /// margin (30 s tokens under the default 60 s) is not renewed at every
    /// use. An entry that does not record when it was issued (written by an
    /// older authhost, or another tool) gets `configured_ms` until its next
    /// renewal records it.
    pub fn margin_ms(&self, configured_ms: u64) -> u64 {
        match (self.issued, self.credential.expires()) {
            (Some(issued), Some(expires)) if expires > issued => {
                configured_ms.min((expires - issued) / 4)
            }
            _ => configured_ms,
        }
    }

    /// This entry, recorded as made by `plugin`.
    pub fn made_by(self, plugin: &PluginRef) -> Stored {
        Stored {
            plugin: Some(plugin.id.clone()),
            plugin_sha256: plugin.sha256.clone(),
            ..self
        }
    }

    /// Why this credential may not be handed to `current` (the plugin the
    /// provider uses now), in words: it was made by another plugin, or by
    /// another build of a folder plugin. `None` when it may: it was made by
    /// `current`, or the entry predates the record.
    pub fn made_by_another(&self, current: &PluginRef) -> Option<String> {
        let id = self.plugin.as_deref()?;
        if id == current.id && self.plugin_sha256 == current.sha256 {
            return None;
        }
        let made_by = PluginRef::describe(id, self.plugin_sha256.as_deref());
        let now = PluginRef::describe(&current.id, current.sha256.as_deref());
        Some(if id == current.id {
            format!("{made_by}, another build than the one it uses now, {now}")
        } else {
            format!("{made_by}, not by the {now} it uses now")
        })
    }

    /// Refuses to hand this credential of `provider` to `current` when
    /// another plugin made it (see [`Stored::made_by_another`]): the user
    /// logs in again.
    pub fn check_made_by(&self, provider: &str, current: &PluginRef) -> Result<(), Error> {
        match self.made_by_another(current) {
            None => Ok(()),
            Some(why) => Err(Error::MadeByAnotherPlugin {
                provider: provider.to_owned(),
                why,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn acme(sha256: Option<&str>) -> PluginRef {
        PluginRef {
            id: "acme".into(),
            sha256: sha256.map(str::to_owned),
        }
    }

    #[test]
    fn the_marker_is_not_an_extra_fact() {
        let entry = json!({"type": "api", "key": "gh-1", "resolve": true, "login": "octo"});
        let stored: Stored = serde_json::from_value(entry.clone()).unwrap();
        assert!(stored.resolve);
        let extra: Vec<_> = stored.credential.extra().pairs().collect();
        assert_eq!(extra, [("login", "octo")]);
        assert_eq!(serde_json::to_value(&stored).unwrap(), entry);
        let plain: Stored =
            serde_json::from_value(json!({"type": "oauth", "access": "a"})).unwrap();
        assert!(!plain.resolve);
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            json!({"type": "oauth", "access": "a"})
        );
        assert!(serde_json::from_value::<Stored>(Value::String("x".into())).is_err());
    }

    #[test]
    fn the_plugin_is_recorded_beside_the_credential_and_is_no_extra_fact() {
        let entry = json!({
            "type": "oauth", "access": "a", "refresh": "r", "expires": 5,
            "accountId": "x", "plugin": "acme", "plugin_sha256": "ab12"
        });
        let stored: Stored = serde_json::from_value(entry.clone()).unwrap();
        assert_eq!(stored.plugin.as_deref(), Some("acme"));
        assert_eq!(stored.plugin_sha256.as_deref(), Some("ab12"));
        let extra: Vec<_> = stored.credential.extra().pairs().collect();
        assert_eq!(extra, [("accountId", "x")]);
        assert_eq!(serde_json::to_value(&stored).unwrap(), entry);
        // A built-in is recorded by its id alone.
        let builtin = PluginRef {
            id: "openrouter".into(),
            sha256: None,
        };
        let key = crate::store::credential::Credential::api_key("k");
        assert_eq!(
            serde_json::to_value(Stored::plain(key, &builtin)).unwrap(),
            json!({"type": "api", "key": "k", "plugin": "openrouter"})
        );
    }

    #[test]
    fn an_entry_without_the_record_reads_as_before_and_gains_it_when_written() {
        let old = json!({"type": "oauth", "access": "a", "refresh": "r", "accountId": "x"});
        let stored: Stored = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(
            (stored.plugin.as_deref(), stored.plugin_sha256.as_deref()),
            (None, None)
        );
        assert_eq!(serde_json::to_value(&stored).unwrap(), old);
        assert_eq!(stored.made_by_another(&acme(Some("cd34"))), None);
        let written = serde_json::to_value(stored.made_by(&acme(Some("cd34")))).unwrap();
        assert_eq!(written["plugin"], "acme");
        assert_eq!(written["plugin_sha256"], "cd34");
        assert_eq!(written["accountId"], "x");
    }

    #[test]
    fn a_credential_is_for_the_plugin_and_build_that_made_it() {
        let stored = Stored::plain(
            crate::store::credential::Credential::api_key("k"),
            &acme(Some("ab12")),
        );
        assert_eq!(stored.made_by_another(&acme(Some("ab12"))), None);
        let rebuilt = stored.made_by_another(&acme(Some("cd34"))).unwrap();
        assert!(rebuilt.contains("another build"), "{rebuilt}");
        assert!(
            rebuilt.contains("ab12") && rebuilt.contains("cd34"),
            "{rebuilt}"
        );
        let other = PluginRef {
            id: "other".into(),
            sha256: None,
        };
        let why = stored.made_by_another(&other).unwrap();
        assert!(why.contains("`acme`") && why.contains("`other`"), "{why}");
        let error = stored.check_made_by("work", &other).unwrap_err();
        assert!(error.needs_login());
        assert_eq!(error.code(), "made-by-another-plugin");
        assert!(error.to_string().contains("`work`"), "{error}");
        // What `auth.json` says is shown sanitised.
        let mut hostile = stored.clone();
        hostile.plugin = Some("x\u{1b}]0;title\u{7}".into());
        let why = hostile.made_by_another(&other).unwrap();
        assert!(!why.contains('\u{1b}') && !why.contains('\u{7}'), "{why:?}");
    }
}
