//! Where stored credentials live: one [`Store`] trait, one file per engine.
//!
//! A store keeps one [`Stored`] entry per provider (a [`Credential`], the plugin
//! that made it, whether its plugin derives tokens from it) and the lock
//! that makes a renewal single-flight across processes ([`Store::lock`]).
//! The decision of *which* secret a caller gets (environment, memory, the
//! store, the helper cache, the plugin) is not the store's: it is
//! [`crate::token`]'s.
//!
//! Engines:
//! - [`auth_file`]: `auth.json` in the state folder, its secrets in the file
//!   itself (`[store] backend = "file"`, the default) or in the OS keyring
//!   (`backend = "keyring"`, see [`keyring`]); locks are lock files in
//!   `cache/locks/` ([`lock`]).
//!
//! - [`postgres`]: a PostgreSQL database shared by several machines
//!   (`backend = "postgres"`), each secret sealed with the store key
//!   before it leaves the machine; renewal locks are lease rows.
//!
//! [`open`] builds the engine a [`StoreSettings`] asks for; [`transfer`]
//! moves every credential from one engine to another.
//!
//! Building blocks: [`json_file`] (a JSON object file written atomically
//! under a lock, also used by the helper cache), [`credential`] (the
//! credential types and their JSON shape), [`entry`] (an entry of a store).
//!
//! Every engine orders its writes so that a credential is readable from at
//! least one place at every moment, whatever step a crash interrupts; each
//! engine's module says how.

pub mod credential;
pub(crate) mod entry;
pub(crate) mod json_file;
pub(crate) mod keyring;
pub(crate) mod lock;

mod auth_file;
mod memory;
mod open;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(not(feature = "postgres"))]
pub(crate) mod postgres {
    //! Without the `postgres` feature the PostgreSQL store fails, naming it.

    use std::sync::Arc;
    use std::time::Duration;

    use super::{Store, StoreSettings};
    use crate::Error;

    /// Always an error naming the feature.
    pub(crate) fn open(
        _settings: &StoreSettings,
        _lock_wait: Duration,
        _call_timeout_ms: u64,
    ) -> Result<Arc<dyn Store>, Error> {
        Err(Error::StoreUnavailable {
            store: "postgres".to_owned(),
            reason: "this build of authhost has no PostgreSQL support (the `postgres` feature is off); build authhost with the `postgres` feature, or keep credentials in auth.json: `[store] backend = \"file\"`".to_owned(),
        })
    }
}
pub(crate) mod transfer;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;
pub(crate) use auth_file::AuthFile;
pub(crate) use entry::{PluginRef, Stored};
pub(crate) use memory::Memory;
pub use open::StoreSettings;
pub(crate) use open::open;

/// A future a [`Store`] returns (the trait is used as `dyn Store`).
pub(crate) type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A credential store engine. Every call is async: a local engine does
/// its small file work inline or on tokio's blocking pool, a network
/// engine talks to its server, and neither blocks the executor.
pub(crate) trait Store: Send + Sync + std::fmt::Debug {
    /// Where the secrets of new credentials go.
    fn backend(&self) -> StoreBackend;

    /// Where the credentials are, in words for people and never with a
    /// secret: the backend's place, and for a database its address,
    /// namespace and where its key comes from.
    fn place(&self) -> String {
        self.backend().place().to_owned()
    }

    /// The entry of `provider`, its secrets included.
    fn get<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Option<Stored>>;

    /// Every entry, undecoded, without fetching a secret kept apart from
    /// the entry (a keyring item, a sealed column): such secret fields are
    /// empty strings, so an entry still decodes as the credential it is
    /// (kind, expiry).
    fn listing(&self) -> StoreFuture<'_, Map<String, Value>>;

    /// Where the secrets of `provider`'s entry are, if there is an entry.
    fn location_of<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Option<StoreBackend>>;

    /// Sets (`Some`) or removes (`None`) the entry of `provider`; returns
    /// whether there was one before. Under this process's renewal lock of
    /// `provider` ([`Store::lock`]) a shared engine writes only if the
    /// entry is still the one read under the lock.
    fn put<'a>(&'a self, provider: &'a str, entry: Option<&'a Stored>) -> StoreFuture<'a, bool>;

    /// Waits until this process holds the renewal lock of `provider` (at
    /// most the wait the store was opened with): of any number of
    /// processes, one refreshes a login or runs a helper at a time.
    fn lock<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Box<dyn Lease>>;

    /// When the last renewal of `provider` failed asking for a new login
    /// (ms since the Unix epoch), if no renewal has succeeded since: what
    /// `status` reports instead of "renewed automatically". `None` when the
    /// engine keeps no such record.
    fn refused_renewal(&self, provider: &str) -> Option<u64> {
        let _ = provider;
        None
    }

    /// Moves the secrets of every entry to `to` within this engine (the
    /// file and the keyring), one credential at a time, calling `progress`
    /// after each; a rerun after an interruption moves what is left. Moves
    /// between engines are [`transfer`]'s.
    fn migrate(
        &self,
        to: StoreBackend,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Migration, Error>;
}

/// A held renewal lock ([`Store::lock`]); dropping it releases the lock.
pub(crate) trait Lease: Send {
    /// The failure of `provider`'s renewal that another process recorded
    /// while this one waited for the lock, if there is one: reported at
    /// once instead of running the plugin again.
    fn failure_while_waiting(&self, provider: &str) -> Option<Error>;

    /// Whether this process had to wait for the lock: another held it.
    fn waited(&self) -> bool;

    /// Records how the renewal made under this lock ended, for the
    /// processes waiting for it.
    fn record(&self, outcome: Result<(), &Error>);

    /// Gives the lock up now, with the outcome [`Lease::record`] noted
    /// (dropping it does the same, later for a shared engine).
    fn release(self: Box<Self>) -> StoreFuture<'static, ()>;
}

/// Where the secrets of new credentials go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StoreBackend {
    /// In `auth.json` (mode 0600), beside the rest of the credential.
    #[default]
    File,
    /// In the OS keyring; `auth.json` keeps only what is not secret.
    Keyring,
    /// In the host's memory only: nothing is written anywhere, and every
    /// credential is gone when the host is dropped. Not a `config.toml`
    /// setting: chosen in code ([`crate::HostBuilder::store`]), and the
    /// store of a host built without files.
    #[serde(skip)]
    Memory,
    /// In a PostgreSQL database shared by several machines, encrypted with
    /// the store key (`[store] url`, `key_file`; see [`StoreSettings`] and `store/postgres`).
    Postgres,
}

impl StoreBackend {
    /// The name used in `config.toml` and `AUTHHOST_STORE`.
    pub fn name(self) -> &'static str {
        match self {
            StoreBackend::File => "file",
            StoreBackend::Keyring => "keyring",
            StoreBackend::Memory => "memory",
            StoreBackend::Postgres => "postgres",
        }
    }

    /// Where this backend keeps secrets, in words: `auth.json`, `the OS
    /// keyring`.
    pub fn place(self) -> &'static str {
        match self {
            StoreBackend::File => "auth.json",
            StoreBackend::Keyring => "the OS keyring",
            StoreBackend::Memory => "memory",
            StoreBackend::Postgres => "the PostgreSQL store",
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
            "postgres" => Ok(StoreBackend::Postgres),
            other => Err(format!(
                "`{}` is not a store backend (use `file`, `keyring` or `postgres`)",
                other.escape_debug()
            )),
        }
    }
}

/// What [`crate::Host::migrate_store`] did.
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
