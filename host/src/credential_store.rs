//! The credential store: `auth.json`, with each credential's secrets either
//! in the file itself (`[store] backend = "file"`, the default) or in the OS
//! keyring (`backend = "keyring"`, see [`crate::os_keyring`]).
//!
//! With the keyring, an entry of `auth.json` keeps what is not secret (the
//! kind, the expiry, account facts, the `resolve` marker) and a reference
//! to its keyring item, which holds the secret fields (`key`, `access`,
//! `refresh`) as a JSON object:
//!
//! ```json
//! {"work": {"type": "oauth", "expires": 1730000000000,
//!           "keyring": {"account": "work/8c1f…", "fields": ["access", "refresh"]}}}
//! ```
//!
//! Each entry says where its secrets are, so reading works the same under
//! either backend; the backend decides where writes go. Every write orders
//! its steps so that a credential is readable from at least one place at
//! every moment, whatever step a crash interrupts:
//!
//! - storing in the keyring writes a new item under a fresh account name
//!   first, then replaces the entry of `auth.json` (atomically), then
//!   deletes the item the old entry referred to;
//! - storing in the file replaces the entry first, then deletes the old
//!   item;
//! - [`CredentialStore::migrate`] moves one credential at a time in the same
//!   order, and replaces an entry only if it is still the one it read.
//!
//! A crash between the steps can leave an item nothing refers to (harmless,
//! and named `authhost` in the keyring), never an entry without its secret.

use std::sync::atomic::{AtomicU64, Ordering};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Digest;

use crate::Error;
use crate::os_keyring::{OsKeyring, SERVICE};
use crate::store::JsonStore;

/// Where the secrets of new credentials go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// In `auth.json` (mode 0600), beside the rest of the credential.
    #[default]
    File,
    /// In the OS keyring; `auth.json` keeps only what is not secret.
    Keyring,
}

impl StoreBackend {
    /// The name used in `config.toml` and `AUTHHOST_STORE`.
    pub fn name(self) -> &'static str {
        match self {
            StoreBackend::File => "file",
            StoreBackend::Keyring => "keyring",
        }
    }
}

impl std::fmt::Display for StoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StoreBackend {
    type Err = String;

    fn from_str(text: &str) -> Result<StoreBackend, String> {
        match text {
            "file" => Ok(StoreBackend::File),
            "keyring" => Ok(StoreBackend::Keyring),
            other => Err(format!(
                "`{}` is not a store backend (use `file` or `keyring`)",
                other.escape_debug()
            )),
        }
    }
}

/// What [`CredentialStore::migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Migration {
    /// The providers whose secrets were moved.
    pub moved: Vec<String>,
    /// The providers whose secrets were already there.
    pub already: Vec<String>,
    /// Providers whose entry changed while it was being moved (another
    /// authhost process stored a credential): left for the next run.
    pub changed: Vec<String>,
}

/// The key of an entry that refers to a keyring item.
const REFERENCE: &str = "keyring";
/// The fields of a credential that are secret.
const SECRET_FIELDS: &[&str] = &["key", "access", "refresh"];

/// An entry's reference to its keyring item.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reference {
    /// The item's account name (its service is [`SERVICE`]).
    account: String,
    /// The secret fields the item holds.
    fields: Vec<String>,
}

/// `auth.json` and, for the keyring backend, the OS keyring.
#[derive(Debug, Clone)]
pub(crate) struct CredentialStore {
    file: JsonStore,
    backend: StoreBackend,
    keyring: OsKeyring,
}

impl CredentialStore {
    /// The store whose entries are in `file` and whose new secrets go to
    /// `backend`.
    pub fn new(file: JsonStore, backend: StoreBackend) -> CredentialStore {
        CredentialStore {
            file,
            backend,
            keyring: OsKeyring,
        }
    }

    /// Where new secrets go.
    pub fn backend(&self) -> StoreBackend {
        self.backend
    }

    /// The entry of `provider` as `T`, its secrets fetched from the keyring
    /// when they are there.
    pub fn get<T: DeserializeOwned>(&self, provider: &str) -> Result<Option<T>, Error> {
        let Some(entry) = self.file.read()?.remove(provider) else {
            return Ok(None);
        };
        let entry = self.with_secrets(provider, entry)?;
        self.file.decode(provider, entry).map(Some)
    }

    /// Every entry without fetching a secret: an entry whose secrets are in
    /// the keyring has each of them as an empty string, so it decodes as
    /// the credential it is (kind, expiry, facts) with no secret in it.
    pub fn listing(&self) -> Result<Map<String, Value>, Error> {
        let mut entries = self.file.read()?;
        for entry in entries.values_mut() {
            if let Some(reference) = reference_of(entry)
                && let Value::Object(map) = entry
            {
                map.remove(REFERENCE);
                for field in reference.fields {
                    map.insert(field, Value::String(String::new()));
                }
            }
        }
        Ok(entries)
    }

    /// Where the secrets of `entry` (an entry of [`CredentialStore::listing`]
    /// or of `auth.json`) are.
    pub fn location_of(&self, provider: &str) -> Result<Option<StoreBackend>, Error> {
        Ok(self.file.read()?.get(provider).map(|entry| {
            if reference_of(entry).is_some() {
                StoreBackend::Keyring
            } else {
                StoreBackend::File
            }
        }))
    }

    /// Sets (`Some`) or removes (`None`) the entry of `provider`, its
    /// secrets going to the backend; returns whether there was one before.
    pub fn put<T: Serialize>(&self, provider: &str, value: Option<&T>) -> Result<bool, Error> {
        let value = value
            .map(serde_json::to_value)
            .transpose()
            .map_err(|_| self.corrupt(format!("cannot encode the entry `{provider}`")))?;
        let old = match (self.backend, value) {
            (StoreBackend::Keyring, Some(value)) => {
                let (entry, account) = self.to_keyring(provider, value)?;
                let replaced = self
                    .file
                    .update(|map| map.insert(provider.to_owned(), entry));
                if replaced.is_err()
                    && let Some(account) = account
                {
                    self.delete_item(&account);
                }
                replaced?
            }
            (StoreBackend::File, Some(value)) => self
                .file
                .update(|map| map.insert(provider.to_owned(), value))?,
            (_, None) => self.file.update(|map| map.remove(provider))?,
        };
        if let Some(reference) = old.as_ref().and_then(reference_of) {
            self.delete_item(&reference.account);
        }
        Ok(old.is_some())
    }

    /// Moves the secrets of every entry to `to`, one credential at a time
    /// (see the module docs for the order of the writes); `progress` is
    /// called after each move. A rerun after an interruption moves what is
    /// left.
    pub fn migrate(
        &self,
        to: StoreBackend,
        mut progress: impl FnMut(&str),
    ) -> Result<Migration, Error> {
        let mut migration = Migration::default();
        for (provider, entry) in self.file.read()? {
            let reference = reference_of(&entry);
            let (new_entry, new_account, old_account) = match (to, reference) {
                (StoreBackend::Keyring, None) if has_secrets(&entry) => {
                    let (new_entry, account) = self.to_keyring(&provider, entry.clone())?;
                    (new_entry, account, None)
                }
                (StoreBackend::File, Some(reference)) => {
                    let full = self.with_secrets(&provider, entry.clone())?;
                    (full, None, Some(reference.account))
                }
                _ => {
                    migration.already.push(provider);
                    continue;
                }
            };
            let swapped = self.file.update(|map| {
                let unchanged = map.get(&provider) == Some(&entry);
                if unchanged {
                    map.insert(provider.clone(), new_entry);
                }
                unchanged
            });
            let swapped = match swapped {
                Ok(swapped) => swapped,
                Err(e) => {
                    if let Some(account) = &new_account {
                        self.delete_item(account);
                    }
                    return Err(e);
                }
            };
            if swapped {
                if let Some(account) = old_account {
                    self.delete_item(&account);
                }
                progress(&provider);
                migration.moved.push(provider);
            } else {
                if let Some(account) = &new_account {
                    self.delete_item(account);
                }
                migration.changed.push(provider);
            }
        }
        Ok(migration)
    }

    /// Writes the secret fields of `entry` to a new keyring item; returns
    /// the entry that refers to it (and the item's account name). An entry
    /// without secrets (or one authhost does not understand) stays as it
    /// is.
    fn to_keyring(&self, provider: &str, entry: Value) -> Result<(Value, Option<String>), Error> {
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
        self.keyring.set(&account, &secret)?;
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
    /// reference; an entry without a reference as it is.
    fn with_secrets(&self, provider: &str, entry: Value) -> Result<Value, Error> {
        let Some(reference) = reference_of(&entry) else {
            return Ok(entry);
        };
        let Value::Object(mut map) = entry else {
            return Ok(entry);
        };
        let secret = self.keyring.get(&reference.account)?.ok_or_else(|| {
            self.corrupt(format!(
                "the entry `{provider}` refers to the keyring item `{SERVICE}` / `{}`, which is not in the keyring; run `authhost login {provider}`",
                reference.account
            ))
        })?;
        let secrets = match serde_json::from_str::<Value>(secret.expose_secret()) {
            Ok(Value::Object(secrets)) => secrets,
            _ => {
                return Err(self.corrupt(format!(
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
    fn delete_item(&self, account: &str) {
        if let Err(error) = self.keyring.delete(account) {
            tracing::warn!(
                "could not delete the unused keyring item `{SERVICE}` / `{account}`: {error}"
            );
        }
    }

    fn corrupt(&self, message: String) -> Error {
        Error::CorruptStore {
            path: self.file.path().to_path_buf(),
            message,
        }
    }
}

/// The keyring reference of `entry`, if it has one.
fn reference_of(entry: &Value) -> Option<Reference> {
    serde_json::from_value(entry.get(REFERENCE)?.clone()).ok()
}

/// Whether `entry` holds a secret field itself.
fn has_secrets(entry: &Value) -> bool {
    SECRET_FIELDS
        .iter()
        .any(|field| entry.get(*field).is_some())
}

/// A fresh account name for a keyring item of `provider`: the provider and
/// a suffix unique to this write, so a new item never replaces the one the
/// current entry refers to.
fn new_account(provider: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut hash = sha2::Sha256::new();
    hash.update(provider.as_bytes());
    hash.update(std::process::id().to_le_bytes());
    hash.update(now.to_le_bytes());
    hash.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let digest = hash.finalize();
    let suffix: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{provider}/{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_has_no_secret_and_decodes_as_the_credential() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(
            &path,
            r#"{"a": {"type": "oauth", "expires": 5, "accountId": "x",
                      "keyring": {"account": "a/1", "fields": ["access", "refresh"]}},
                "b": {"type": "api", "key": "sk-b"}}"#,
        )
        .unwrap();
        let store = CredentialStore::new(JsonStore::new(&path), StoreBackend::File);
        let listing = store.listing().unwrap();
        let a: crate::credentials::Stored = serde_json::from_value(listing["a"].clone()).unwrap();
        assert!(a.credential.has_refresh_token());
        assert_eq!(a.credential.expires(), Some(5));
        assert_eq!(
            a.credential.extra().pairs().collect::<Vec<_>>(),
            [("accountId", "x")]
        );
        assert_eq!(listing["b"]["key"], "sk-b");
        assert_eq!(store.location_of("a").unwrap(), Some(StoreBackend::Keyring));
        assert_eq!(store.location_of("b").unwrap(), Some(StoreBackend::File));
        assert_eq!(store.location_of("c").unwrap(), None);
    }

    #[test]
    fn account_names_are_unique_per_write() {
        assert_ne!(new_account("a"), new_account("a"));
        assert!(new_account("work").starts_with("work/"));
        assert_eq!("keyring".parse(), Ok(StoreBackend::Keyring));
        assert!("vault".parse::<StoreBackend>().is_err());
    }
}
