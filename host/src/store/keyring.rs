//! The platform's keyring, through the `keyring` crate: the Secret Service
//! (GNOME Keyring, KWallet, KeePassXC) over D-Bus on Linux and the BSDs, the
//! Keychain on macOS, the Credential Manager on Windows.
//!
//! Each item is a password under the service [`SERVICE`] and an account
//! name that authhost picks. The calls block
//! until the keyring answers; on a desktop that may include an unlock
//! prompt. Errors say why the keyring cannot be used and how to fix it,
//! never what an item holds.

//!
//! With the keyring backend, an entry of `auth.json` keeps what is not
//! secret and a [`Reference`] to its item, which holds the secret fields
//! (`key`, `access`, `refresh`) as a JSON object; the second half of this
//! module moves those fields between an entry and an item (the order of
//! the writes is [`super::auth_file`]'s).

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// The service name of every item authhost keeps in the keyring.
pub(crate) const SERVICE: &str = "authhost";

/// What to do instead, in every error about an unusable keyring.
const OR_USE_THE_FILE: &str = "or keep secrets in auth.json: `[store] backend = \"file\"` in config.toml (or AUTHHOST_STORE=file)";

/// The platform keyring.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OsKeyring;

impl OsKeyring {
    /// The secret stored under `account`; `None` when there is none.
    pub fn get(&self, account: &str) -> Result<Option<SecretString>, Error> {
        platform::get(account)
    }

    /// Stores `secret` under `account`, replacing what was there.
    pub fn set(&self, account: &str, secret: &SecretString) -> Result<(), Error> {
        platform::set(account, secret)
    }

    /// Deletes the item `account`; false when there was none.
    pub fn delete(&self, account: &str) -> Result<bool, Error> {
        platform::delete(account)
    }
}

#[cfg(feature = "keyring")]
mod platform;

/// Without the `keyring` feature every keyring call fails, naming it.
#[cfg(not(feature = "keyring"))]
mod platform {
    use secrecy::SecretString;

    use super::OR_USE_THE_FILE;
    use crate::Error;

    fn not_built() -> Error {
        Error::Keyring {
            reason: "this build of authhost has no keyring support (the `keyring` feature is off)"
                .to_owned(),
            fix: format!("build authhost with the `keyring` feature, {OR_USE_THE_FILE}"),
        }
    }

    pub(super) fn get(_account: &str) -> Result<Option<SecretString>, Error> {
        Err(not_built())
    }

    pub(super) fn set(_account: &str, _secret: &SecretString) -> Result<(), Error> {
        Err(not_built())
    }

    pub(super) fn delete(_account: &str) -> Result<bool, Error> {
        Err(not_built())
    }
}

/// The key of an entry that refers to a keyring item.
const REFERENCE: &str = "keyring";
/// The fields of a credential that are secret.
const SECRET_FIELDS: &[&str] = &["key", "access", "refresh"];

/// An entry's reference to its keyring item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Reference {
    /// The item's account name (its service is [`SERVICE`]).
    pub account: String,
    /// The secret fields the item holds.
    pub fields: Vec<String>,
}

impl OsKeyring {
    /// Writes the secret fields of `entry` to a new keyring item; returns
    /// the entry that refers to it (and the item's account name). An entry
    /// without secrets (or one authhost does not understand) stays as it
    /// is.
    pub(super) fn move_secrets_out(
        &self,
        provider: &str,
        entry: Value,
    ) -> Result<(Value, Option<String>), Error> {
        let Value::Object(mut map) = entry else {
            return Ok((entry, None));
        };
        let mut secrets = Map::new();
        for field in SECRET_FIELDS {
            if let Some(value) = map.remove(*field) {
                secrets.insert((*field).to_owned(), value);
            }
        }
        if secrets.is_empty() {
            return Ok((Value::Object(map), None));
        }
        let account = new_account(provider);
        let fields = secrets.keys().cloned().collect();
        let secret = SecretString::from(Value::Object(secrets).to_string());
        self.set(&account, &secret)?;
        let reference = Reference {
            account: account.clone(),
            fields,
        };
        map.insert(
            REFERENCE.to_owned(),
            serde_json::to_value(reference).expect("a reference always encodes"),
        );
        Ok((Value::Object(map), Some(account)))
    }

    /// `entry` with the secrets its keyring item holds in place of its
    /// reference; an entry without a reference as it is. A missing or
    /// foreign item is reported through `corrupt`.
    pub(super) fn fill_in_secrets(
        &self,
        provider: &str,
        entry: Value,
        corrupt: impl Fn(String) -> Error,
    ) -> Result<Value, Error> {
        let Some(reference) = reference_of(&entry) else {
            return Ok(entry);
        };
        let Value::Object(mut map) = entry else {
            return Ok(entry);
        };
        let secret = self.get(&reference.account)?.ok_or_else(|| {
            corrupt(format!(
                "the entry `{provider}` refers to the keyring item `{SERVICE}` / `{}`, which is not in the keyring; run `authhost login {provider}`",
                reference.account
            ))
        })?;
        let secrets = match serde_json::from_str::<Value>(secret.expose_secret()) {
            Ok(Value::Object(secrets)) => secrets,
            _ => {
                return Err(corrupt(format!(
                    "the keyring item `{SERVICE}` / `{}` of `{provider}` is not one authhost wrote; run `authhost login {provider}`",
                    reference.account
                )));
            }
        };
        map.remove(REFERENCE);
        for (field, value) in secrets {
            if SECRET_FIELDS.contains(&field.as_str()) {
                map.insert(field, value);
            }
        }
        Ok(Value::Object(map))
    }

    /// Deletes a keyring item nothing refers to any more; a failure leaves
    /// it behind with a warning (the credential itself is safe).
    pub(super) fn delete_unused(&self, account: &str) {
        if let Err(error) = self.delete(account) {
            tracing::warn!(
                "could not delete the unused keyring item `{SERVICE}` / `{account}`: {error}"
            );
        }
    }
}

/// The keyring reference of `entry`, if it has one.
pub(super) fn reference_of(entry: &Value) -> Option<Reference> {
    serde_json::from_value(entry.get(REFERENCE)?.clone()).ok()
}

/// `entry` as a listing shows it: a reference to a keyring item replaced by
/// its secret fields, each an empty string.
pub(super) fn without_reference(entry: &mut Value) {
    if let Some(reference) = reference_of(entry)
        && let Value::Object(map) = entry
    {
        map.remove(REFERENCE);
        for field in reference.fields {
            map.insert(field, Value::String(String::new()));
        }
    }
}

/// Whether `entry` holds a secret field itself.
pub(super) fn has_secrets(entry: &Value) -> bool {
    SECRET_FIELDS
        .iter()
        .any(|field| entry.get(*field).is_some())
}

/// A fresh account name for a keyring item of `provider`: the provider and
/// 64 random bits, so a new item never replaces the one the current entry
/// refers to.
fn new_account(provider: &str) -> String {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).expect("the OS's random source works");
    format!("{provider}/{}", hex::encode(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_unique_per_write() {
        assert_ne!(new_account("a"), new_account("a"));
        assert!(new_account("work").starts_with("work/"));
        assert_eq!(new_account("work").len(), "work/".len() + 16);
    }
}
