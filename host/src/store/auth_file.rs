//! The local store: `auth.json`, with each credential's secrets either in
//! the file itself (`[store] backend = "file"`, the default) or in the OS
//! keyring (`backend = "keyring"`, see [`super::keyring`]), and the renewal
//! locks as lock files in `cache/locks/` ([`super::lock`]).
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
//! - [`Store::migrate`] moves one credential at a time in the same order,
//!   and replaces an entry only if it is still the one it read.
//!
//! A crash between the steps can leave an item nothing refers to (harmless,
//! and named `authhost` in the keyring), never an entry without its secret.

use serde_json::{Map, Value};

use super::json_file::JsonStore;
use super::keyring::{self, OsKeyring};
use super::lock::Locks;
use super::{Lease, Migration, Store, StoreBackend, StoreFuture, Stored};
use crate::Error;
use crate::files::blocking;

/// `auth.json`, the OS keyring for the keyring backend, and the lock files.
#[derive(Debug, Clone)]
pub(crate) struct AuthFile {
    file: JsonStore,
    backend: StoreBackend,
    keyring: OsKeyring,
    locks: Locks,
}

impl AuthFile {
    /// The store whose entries are in `file`, whose new secrets go to
    /// `backend`, and whose renewal locks are `locks`.
    pub fn new(file: JsonStore, backend: StoreBackend, locks: Locks) -> AuthFile {
        AuthFile {
            file,
            backend,
            keyring: OsKeyring,
            locks,
        }
    }

    /// The entry of `provider` as JSON, its secrets fetched from the keyring
    /// when they are there.
    fn entry(&self, provider: &str, entry: Value) -> Result<Value, Error> {
        self.keyring
            .fill_in_secrets(provider, entry, |message| self.corrupt(message))
    }

    fn corrupt(&self, message: String) -> Error {
        Error::CorruptStore {
            path: self.file.path().to_path_buf(),
            message,
        }
    }
}

impl AuthFile {
    fn get_now(&self, provider: &str) -> Result<Option<Stored>, Error> {
        let Some(entry) = self.file.read()?.remove(provider) else {
            return Ok(None);
        };
        let entry = self.entry(provider, entry)?;
        serde_json::from_value(entry)
            .map(Some)
            .map_err(|e| Error::CorruptEntry {
                path: self.file.path().to_path_buf(),
                provider: crate::sanitize::short(provider),
                message: crate::sanitize::plugin_text(&super::json_file::redact_serde(&e), 300),
            })
    }

    fn listing_now(&self) -> Result<Map<String, Value>, Error> {
        let mut entries = self.file.read()?;
        entries.values_mut().for_each(keyring::without_reference);
        Ok(entries)
    }

    fn location_now(&self, provider: &str) -> Result<Option<StoreBackend>, Error> {
        Ok(self.file.read()?.get(provider).map(|entry| {
            if keyring::reference_of(entry).is_some() {
                StoreBackend::Keyring
            } else {
                StoreBackend::File
            }
        }))
    }

    fn put_now(&self, provider: &str, value: Option<&Stored>) -> Result<bool, Error> {
        let value = value
            .map(serde_json::to_value)
            .transpose()
            .map_err(|_| self.corrupt(format!("cannot encode the entry `{provider}`")))?;
        let old = match (self.backend, value) {
            (StoreBackend::Keyring, Some(value)) => {
                let (entry, account) = self.keyring.move_secrets_out(provider, value)?;
                let replaced = self
                    .file
                    .update(|map| map.insert(provider.to_owned(), entry));
                if replaced.is_err()
                    && let Some(account) = account
                {
                    self.keyring.delete_unused(&account);
                }
                replaced?
            }
            (_, Some(value)) => self
                .file
                .update(|map| map.insert(provider.to_owned(), value))?,
            (_, None) => self.file.update(|map| map.remove(provider))?,
        };
        if let Some(reference) = old.as_ref().and_then(keyring::reference_of) {
            self.keyring.delete_unused(&reference.account);
        }
        Ok(old.is_some())
    }
}

/// Reads of `auth.json` are small local reads without a lock and run
/// inline (a keyring read included, as before); writes take the file's
/// lock and run on tokio's blocking pool.
impl Store for AuthFile {
    fn backend(&self) -> StoreBackend {
        self.backend
    }

    fn get<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Option<Stored>> {
        Box::pin(async move { self.get_now(provider) })
    }

    fn listing(&self) -> StoreFuture<'_, Map<String, Value>> {
        Box::pin(async move { self.listing_now() })
    }

    fn location_of<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Option<StoreBackend>> {
        Box::pin(async move { self.location_now(provider) })
    }

    fn put<'a>(&'a self, provider: &'a str, entry: Option<&'a Stored>) -> StoreFuture<'a, bool> {
        let (this, name, entry) = (self.clone(), provider.to_owned(), entry.cloned());
        Box::pin(async move { blocking(move || this.put_now(&name, entry.as_ref())).await })
    }

    fn refused_renewal(&self, provider: &str) -> Option<u64> {
        self.locks.refused_since(provider)
    }

    fn lock<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Box<dyn Lease>> {
        Box::pin(async move {
            let held = self.locks.acquire(provider).await?;
            Ok(Box::new(held) as Box<dyn Lease>)
        })
    }

    fn migrate(
        &self,
        to: StoreBackend,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Migration, Error> {
        let mut migration = Migration::default();
        for (provider, entry) in self.file.read()? {
            let reference = keyring::reference_of(&entry);
            let (new_entry, new_account, old_account) = match (to, reference) {
                (StoreBackend::Keyring, None) if keyring::has_secrets(&entry) => {
                    let (new_entry, account) =
                        self.keyring.move_secrets_out(&provider, entry.clone())?;
                    (new_entry, account, None)
                }
                (StoreBackend::File, Some(reference)) => {
                    let full = self.entry(&provider, entry.clone())?;
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
                        self.keyring.delete_unused(account);
                    }
                    return Err(e);
                }
            };
            if swapped {
                if let Some(account) = old_account {
                    self.keyring.delete_unused(&account);
                }
                progress(&provider);
                migration.moved.push(provider);
            } else {
                if let Some(account) = &new_account {
                    self.keyring.delete_unused(account);
                }
                migration.changed.push(provider);
            }
        }
        Ok(migration)
    }
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
        let locks = Locks::new(dir.path().join("locks"), std::time::Duration::from_secs(1));
        let store = AuthFile::new(
            JsonStore::new(&path, std::time::Duration::from_secs(1)),
            StoreBackend::File,
            locks,
        );
        let listing = store.listing_now().unwrap();
        let a: Stored = serde_json::from_value(listing["a"].clone()).unwrap();
        assert!(a.credential.has_refresh_token());
        assert_eq!(a.credential.expires(), Some(5));
        assert_eq!(
            a.credential.extra().pairs().collect::<Vec<_>>(),
            [("accountId", "x")]
        );
        assert_eq!(listing["b"]["key"], "sk-b");
        assert_eq!(
            store.location_now("a").unwrap(),
            Some(StoreBackend::Keyring)
        );
        assert_eq!(store.location_now("b").unwrap(), Some(StoreBackend::File));
        assert_eq!(store.location_now("c").unwrap(), None);
        assert_eq!("keyring".parse(), Ok(StoreBackend::Keyring));
        assert!("vault".parse::<StoreBackend>().is_err());
    }
}
