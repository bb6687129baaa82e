//! An entry of `auth.json`: a credential, and whether it is the credential
//! itself or what the provider's plugin derives its tokens from.

use serde::{Deserialize, Serialize};

use crate::credential::Credential;

/// A stored credential as `auth.json` holds it: the credential's own keys
/// (see [`Credential`]), and `"resolve": true` when `authhost token` does not
/// print it but hands it to the plugin's `resolve`, which derives a
/// short-lived credential from it (a long-lived account token exchanged for
/// an API token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    #[serde(flatten)]
    pub credential: Credential,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resolve: bool,
}

impl Stored {
    /// A credential used as it is.
    pub fn plain(credential: Credential) -> Stored {
        Stored {
            credential,
            resolve: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

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
}
