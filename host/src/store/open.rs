//! [`open`]: the one place that builds the store engine a
//! [`StoreSettings`] asks for, used by [`crate::Host`] (and by any other way
//! of opening a host).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::json_file::JsonStore;
use super::lock::Locks;
use super::{AuthFile, Store, StoreBackend};
use crate::Error;
use crate::paths::Paths;

/// `[store]` of `config.toml`: where credentials are stored. A plain
/// value: a program embedding authhost may build one in code.
///
/// ```toml
/// [store]
/// backend = "postgres"                 # "file" (default), "keyring", "postgres"
/// url = "postgres://authhost:PASSWORD@db.internal:5432/authhost?sslmode=verify-full"
/// namespace = "prod"                   # default "default"
/// key_file = "/etc/authhost/store.key" # base64 of 32 bytes
/// ```
///
/// Its `Debug` shows neither the URL (it may hold a password) nor the key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// Where the secrets of new credentials go: `file` (auth.json),
    /// `keyring` (the OS keyring; auth.json keeps what is not secret) or
    /// `postgres` (a database shared by several machines). `AUTHHOST_STORE`
    /// overrides it.
    pub backend: StoreBackend,
    /// The PostgreSQL connection URL (`postgres://USER:PASSWORD@HOST:PORT/DB`
    /// with `sslmode=disable|prefer|require|verify-full` and optionally
    /// `connect_timeout` in seconds, default 5). `AUTHHOST_STORE_URL`
    /// overrides it.
    pub url: Option<SecretString>,
    /// The part of the database this store uses; several teams or
    /// environments share one database by using different ones. Default
    /// `default`.
    pub namespace: Option<String>,
    /// A file holding the store key (base64 of 32 bytes, as `authhost store
    /// keygen` prints it).
    pub key_file: Option<PathBuf>,
    /// The store key itself (base64 of 32 bytes), ahead of `key_file`:
    /// `AUTHHOST_STORE_KEY`, or given in code. Never read from config.toml.
    #[serde(skip)]
    pub key: Option<SecretString>,
}

impl PartialEq for StoreSettings {
    // Secrets are compared without timing concerns: settings are not
    // compared against anything an attacker controls.
    fn eq(&self, other: &StoreSettings) -> bool {
        use secrecy::ExposeSecret;
        let url = |s: &StoreSettings| s.url.as_ref().map(|u| u.expose_secret().to_owned());
        let key = |s: &StoreSettings| s.key.as_ref().map(|k| k.expose_secret().to_owned());
        self.backend == other.backend
            && url(self) == url(other)
            && self.namespace == other.namespace
            && self.key_file == other.key_file
            && key(self) == key(other)
    }
}

impl StoreSettings {
    /// Settings for `backend` with nothing else set.
    pub fn new(backend: StoreBackend) -> StoreSettings {
        StoreSettings {
            backend,
            ..StoreSettings::default()
        }
    }

    /// A new store key for `key_file` or `AUTHHOST_STORE_KEY`: 32 random
    /// bytes, base64 (what `authhost store keygen` prints).
    pub fn generate_key() -> SecretString {
        new_store_key()
    }

    /// The namespace, `default` when none is set.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// The store `settings` ask for: `auth.json` in `paths` (its secrets there
/// or in the OS keyring), the PostgreSQL store, or the host's memory.
/// Waits for a renewal lock last at most `lock_wait`; a shared store's
/// lease outlasts a plugin call of `call_timeout_ms`. Nothing is connected
/// yet: a database is reached on first use. `auth.json` needs `paths`.
pub(crate) fn open(
    settings: &StoreSettings,
    paths: Option<&Paths>,
    lock_wait: Duration,
    call_timeout_ms: u64,
) -> Result<Arc<dyn Store>, Error> {
    match (settings.backend, paths) {
        (StoreBackend::Postgres, _) => super::postgres::open(settings, lock_wait, call_timeout_ms),
        (StoreBackend::Memory, _) => Ok(Arc::new(super::Memory::default())),
        (local, Some(paths)) => Ok(Arc::new(local_store(paths, local, lock_wait))),
        (local, None) => Err(Error::NoFiles {
            what: format!(
                "auth.json for the `{local}` store (give it paths, or keep the in-memory store)"
            ),
        }),
    }
}

/// `auth.json` in `paths`, new secrets going to `backend` (the file or the
/// keyring).
pub(crate) fn local_store(paths: &Paths, backend: StoreBackend, lock_wait: Duration) -> AuthFile {
    AuthFile::new(
        JsonStore::new(&paths.store_file, lock_wait),
        backend,
        Locks::new(paths.locks_dir(), lock_wait),
    )
}

/// A new store key: 32 random bytes, base64.
pub(crate) fn new_store_key() -> secrecy::SecretString {
    use base64::Engine;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the OS's random source works");
    let text = base64::engine::general_purpose::STANDARD.encode(key);
    key.fill(0);
    text.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_the_url_nor_the_key() {
        let settings = StoreSettings {
            backend: StoreBackend::Postgres,
            url: Some("postgres://u:hunter2-pw@db:5432/a".to_owned().into()),
            key: Some("a2V5LWtleS1rZXk=".to_owned().into()),
            ..StoreSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2-pw"), "{shown}");
        assert!(!shown.contains("a2V5LWtleS1rZXk"), "{shown}");
        assert_eq!(settings.namespace(), "default");
        let parsed: StoreSettings = toml::from_str(
            "backend = \"postgres\"\nurl = \"postgres://db/a\"\nnamespace = \"prod\"\nkey_file = \"/k\"",
        )
        .unwrap();
        assert_eq!(parsed.namespace(), "prod");
        assert!(
            toml::from_str::<StoreSettings>("key = \"x\"").is_err(),
            "no key in config.toml"
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn an_error_about_the_store_names_it_without_the_password() {
        let settings = StoreSettings {
            backend: StoreBackend::Postgres,
            url: Some(
                "postgres://u:hunter2-pw@db.internal:6543/creds?sslmode=bogus"
                    .to_owned()
                    .into(),
            ),
            ..StoreSettings::default()
        };
        let paths = Paths::in_home("/nonexistent");
        let error = open(&settings, Some(&paths), Duration::from_secs(1), 1000)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("postgres://db.internal:6543/creds"),
            "{error}"
        );
        assert!(error.contains("sslmode"), "{error}");
        assert!(!error.contains("hunter2-pw"), "{error}");
        let ok = StoreSettings {
            url: Some(
                "postgres://u:hunter2-pw@db.internal/creds"
                    .to_owned()
                    .into(),
            ),
            ..settings
        };
        let store = open(&ok, Some(&paths), Duration::from_secs(1), 1000).unwrap();
        let shown = format!("{store:?}");
        assert!(
            shown.contains("postgres://db.internal:5432/creds"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2-pw"), "{shown}");
    }
}
