//! The shared store: credentials in a PostgreSQL database that several
//! machines use (`[store] backend = "postgres"`), so that a login made on
//! one is a token on all, and an expiring login is refreshed once for the
//! whole fleet.
//!
//! - [`connection`]: the URL, TLS, the connect timeout, one connection per
//!   process, made again after the database restarted;
//! - [`schema`]: authhost's tables and their version;
//! - [`seal`]: every entry sealed with the store key before it is sent;
//!   what the database sees in clear is the provider, the kind, the
//!   expiry, the plugin and when it was written;
//! - [`lease`]: the renewal lock, a lease row timed by the database's
//!   clock, and the fence that keeps a process that lost its lease from
//!   overwriting a newer credential;
//! - [`write`]: the statements that write an entry, fenced or not.
//!
//! Writes are single statements, so a credential is always readable from
//! the database, before or after the write; moves from and to the local
//! store are [`super::transfer`]'s.

mod connection;
mod lease;
mod schema;
mod seal;
mod write;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio_postgres::types::{ToSql, Type};

use super::{Lease, Migration, Store, StoreBackend, StoreFuture, StoreSettings, Stored};
use crate::Error;
use connection::{Connection, Target};
use seal::{KeySource, StoreKey};
use write::Columns;

/// How much longer than a plugin call's timeout a renewal lease lasts: a
/// live holder finishes (loads its plugin, calls it, writes) well before.
const LEASE_MARGIN_MS: u64 = 10_000;
/// The longest a write under the renewal lease waits for a database that
/// cannot be reached (see [`connection::Connection::run_patiently`]).
const WRITE_PATIENCE: Duration = Duration::from_secs(30);
/// The fields of an entry that are secret (blanked in the clear copy).
const SECRET_FIELDS: &[&str] = &["key", "access", "refresh"];
/// The fields of an entry kept in clear: what a listing shows.
const PUBLIC_FIELDS: &[&str] = &["type", "expires", "resolve", "plugin", "plugin_sha256"];

/// The store of `settings` (backend `postgres`); connects on first use.
pub(crate) fn open(
    settings: &StoreSettings,
    lock_wait: Duration,
    call_timeout_ms: u64,
) -> Result<Arc<dyn Store>, Error> {
    let url = settings
        .url
        .as_ref()
        .ok_or_else(|| Error::StoreUnavailable {
            store: "postgres".to_owned(),
            reason: "no URL: set `url` in [store] of config.toml, or AUTHHOST_STORE_URL".to_owned(),
        })?;
    let target = Target::parse(url)?;
    let key_source = match (&settings.key, &settings.key_file) {
        (Some(key), _) => KeySource::Value(key.clone()),
        (None, Some(file)) => KeySource::File(file.clone()),
        (None, None) => KeySource::Missing,
    };
    let lease_ms = call_timeout_ms.saturating_add(LEASE_MARGIN_MS);
    let checked = target.clone();
    let conn = Connection::new(target, move |mut client| {
        let target = checked.clone();
        Box::pin(async move {
            schema::ensure(&mut client, &target).await?;
            Ok(client)
        })
    });
    Ok(Arc::new(Postgres {
        inner: Arc::new(Inner {
            conn,
            namespace: settings.namespace().to_owned(),
            key_source,
            key: Mutex::new(None),
            key_checked: AtomicBool::new(false),
            lease_ms,
            // A waiter outlasts a holder that died: its lease runs out.
            wait: lock_wait.max(Duration::from_millis(lease_ms + 5_000)),
            fences: Mutex::new(HashMap::new()),
        }),
    }))
}

/// The PostgreSQL store.
#[derive(Debug)]
pub(crate) struct Postgres {
    inner: Arc<Inner>,
}

/// What the store and its leases share.
pub(crate) struct Inner {
    conn: Connection,
    namespace: String,
    key_source: KeySource,
    key: Mutex<Option<Arc<StoreKey>>>,
    /// The key was found to be the namespace's.
    key_checked: AtomicBool,
    /// How long a renewal lease lasts.
    lease_ms: u64,
    /// The longest wait for a lease.
    wait: Duration,
    /// The leases this process holds, by provider, with the version of the
    /// entry read under each (`None`: there was none).
    fences: Mutex<HashMap<String, Fence>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("store", &self.conn.target().described())
            .field("namespace", &self.namespace)
            .field("key", &self.key_source.describe())
            .finish_non_exhaustive()
    }
}

/// A lease this process holds.
#[derive(Debug, Clone)]
struct Fence {
    holder: String,
    /// The version of the entry read under the lease.
    version: Option<i64>,
}

impl Inner {
    /// The store key, loaded once.
    fn key(&self, provider: &str) -> Result<Arc<StoreKey>, Error> {
        let mut key = self.key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = &*key {
            return Ok(key.clone());
        }
        let loaded = Arc::new(self.key_source.load(provider)?);
        *key = Some(loaded.clone());
        Ok(loaded)
    }

    fn key_error(&self, provider: &str, reason: &str) -> Error {
        Error::StoreKey {
            provider: provider.to_owned(),
            key_source: self.key_source.describe(),
            reason: reason.to_owned(),
        }
    }

    /// Checks the key against the namespace's key check `check` (read
    /// with the entry), making the check when the namespace has none yet.
    async fn check_key(
        &self,
        provider: &str,
        key: &StoreKey,
        check: Option<Vec<u8>>,
    ) -> Result<(), Error> {
        if self.key_checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        let check = match check {
            Some(check) => check,
            None => {
                let made = key.key_check(&self.namespace);
                let ns = self.namespace.as_str();
                self.conn
                    .run("cannot record the key check", |c| {
                        let made = made.clone();
                        async move {
                            let params: [(&(dyn ToSql + Sync), Type); 2] =
                                [(&ns, Type::TEXT), (&made, Type::BYTEA)];
                            c.query_typed(
                                "INSERT INTO authhost_namespaces (namespace, key_check) VALUES ($1, $2)
                                 ON CONFLICT (namespace) DO UPDATE SET namespace = EXCLUDED.namespace
                                 RETURNING key_check",
                                &params,
                            )
                            .await
                            .map(|rows| rows[0].get::<_, Vec<u8>>(0))
                        }
                    })
                    .await?
            }
        };
        if !key.matches(&self.namespace, &check) {
            return Err(self.key_error(
                provider,
                &format!(
                    "the store key is not the one the namespace `{}` is sealed with; nothing was read or written",
                    crate::sanitize::plugin_text(&self.namespace, 100)
                ),
            ));
        }
        self.key_checked.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn get(&self, provider: &str) -> Result<Option<Stored>, Error> {
        let ns = self.namespace.as_str();
        let row = self
            .conn
            .run("cannot read", |c| async move {
                let params: [(&(dyn ToSql + Sync), Type); 2] =
                    [(&ns, Type::TEXT), (&provider, Type::TEXT)];
                c.query_typed_one(
                    "SELECT n.key_check, c.sealed, c.version
                     FROM (SELECT $1::text AS namespace) q
                     LEFT JOIN authhost_namespaces n ON n.namespace = q.namespace
                     LEFT JOIN authhost_credentials c
                       ON c.namespace = q.namespace AND c.provider = $2::text",
                    &params,
                )
                .await
            })
            .await?;
        let check: Option<Vec<u8>> = row.get(0);
        let sealed: Option<Vec<u8>> = row.get(1);
        let version: Option<i64> = row.get(2);
        let key = self.key(provider)?;
        self.check_key(provider, &key, check).await?;
        if let Some(fence) = self
            .fences
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(provider)
        {
            fence.version = version;
        }
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let tampered = || {
            self.key_error(
                provider,
                "its stored entry does not open with the store key: it was changed in the database by someone without the key (or copied from another provider); log in again to replace it",
            )
        };
        let plain = key
            .open(&self.namespace, provider, &sealed)
            .ok_or_else(tampered)?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|_| tampered())
    }

    /// Every entry's clear copy, with its account facts opened from the
    /// sealed copy when this machine has the key (without it, or for a row
    /// that does not open, the entry is listed without facts).
    async fn listing(&self) -> Result<Map<String, Value>, Error> {
        let ns = self.namespace.as_str();
        let rows = self
            .conn
            .run("cannot list", |c| async move {
                let params: [(&(dyn ToSql + Sync), Type); 1] = [(&ns, Type::TEXT)];
                c.query_typed(
                    "SELECT provider, public::text, sealed FROM authhost_credentials WHERE namespace = $1 ORDER BY provider",
                    &params,
                )
                .await
            })
            .await?;
        let key = self.key("").ok();
        Ok(rows
            .iter()
            .filter_map(|row| {
                let provider: String = row.get(0);
                let public: String = row.get(1);
                let sealed: Vec<u8> = row.get(2);
                let mut entry: Map<String, Value> = serde_json::from_str(&public).ok()?;
                let facts = key
                    .as_ref()
                    .and_then(|key| key.open(&self.namespace, &provider, &sealed))
                    .and_then(|plain| serde_json::from_slice::<Map<String, Value>>(&plain).ok());
                for (name, value) in facts.into_iter().flatten() {
                    if !SECRET_FIELDS.contains(&name.as_str()) {
                        entry.entry(name).or_insert(value);
                    }
                }
                Some((provider, Value::Object(entry)))
            })
            .collect())
    }

    async fn put(&self, provider: &str, entry: Option<&Stored>) -> Result<bool, Error> {
        let Some(entry) = entry else {
            return self.remove(provider).await;
        };
        let key = self.key(provider)?;
        if !self.key_checked.load(Ordering::Relaxed) {
            // Reads the namespace's check (and makes it when it is new).
            self.get(provider).await?;
        }
        let value = serde_json::to_value(entry).map_err(|_| {
            self.conn
                .target()
                .unavailable(format!("cannot encode the entry `{provider}`"))
        })?;
        let sealed = key.seal(&self.namespace, provider, value.to_string().as_bytes());
        let public = public_entry(&value).to_string();
        let kind = value["type"].as_str().unwrap_or("").to_owned();
        let expires = value["expires"].as_i64();
        let plugin = value["plugin"].as_str().map(str::to_owned);
        let fence = self
            .fences
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(provider)
            .cloned();
        let ns = self.namespace.as_str();
        let columns = Columns {
            ns,
            provider,
            kind: &kind,
            expires,
            plugin: plugin.as_deref(),
            public: &public,
            sealed: &sealed,
        };
        match fence {
            None => self.conn.run("cannot write", |c| columns.upsert(c)).await,
            Some(fence) => {
                // Written under the lease: a renewal's new tokens, which the
                // service may have rotated already. A database that is
                // restarting is waited for, within the lease (the fence
                // refuses the write once it ran out).
                let patience = Duration::from_millis(self.lease_ms).min(WRITE_PATIENCE);
                let mut written = self
                    .conn
                    .run_patiently("cannot write", patience, |c| columns.fenced(c, &fence))
                    .await?;
                if written.is_none() {
                    // A write that landed while its answer was lost (the
                    // database went away then) is refused when tried again:
                    // the row holding these very sealed bytes says it landed.
                    written = self.version_holding(provider, &sealed).await?;
                }
                match written {
                    Some(version) => {
                        if let Some(held) = self
                            .fences
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_mut(provider)
                        {
                            held.version = Some(version);
                        }
                        Ok(fence.version.is_some())
                    }
                    None => Err(self.conn.target().unavailable(format!(
                        "{provider}: this process's renewal lease ran out and another process wrote the entry since; nothing was written"
                    ))),
                }
            }
        }
    }

    /// The version of `provider`'s entry when it holds exactly `sealed`
    /// (unique to one write: each has its own nonce).
    async fn version_holding(&self, provider: &str, sealed: &[u8]) -> Result<Option<i64>, Error> {
        let ns = self.namespace.as_str();
        let rows = self
            .conn
            .run("cannot read", |c| async move {
                let params: [(&(dyn ToSql + Sync), Type); 3] = [
                    (&ns, Type::TEXT),
                    (&provider, Type::TEXT),
                    (&sealed, Type::BYTEA),
                ];
                c.query_typed(
                    "SELECT version FROM authhost_credentials
                     WHERE namespace = $1 AND provider = $2 AND sealed = $3",
                    &params,
                )
                .await
            })
            .await?;
        Ok(rows.first().map(|row| row.get(0)))
    }

    /// Whether `provider` has an entry (nothing is opened).
    async fn has(&self, provider: &str) -> Result<bool, Error> {
        let ns = self.namespace.as_str();
        let rows = self
            .conn
            .run("cannot read", |c| async move {
                let params: [(&(dyn ToSql + Sync), Type); 2] =
                    [(&ns, Type::TEXT), (&provider, Type::TEXT)];
                c.query_typed(
                    "SELECT 1 FROM authhost_credentials WHERE namespace = $1 AND provider = $2",
                    &params,
                )
                .await
            })
            .await?;
        Ok(!rows.is_empty())
    }

    async fn remove(&self, provider: &str) -> Result<bool, Error> {
        let ns = self.namespace.as_str();
        let removed = self
            .conn
            .run("cannot remove", |c| async move {
                let params: [(&(dyn ToSql + Sync), Type); 2] =
                    [(&ns, Type::TEXT), (&provider, Type::TEXT)];
                c.query_typed(
                    "DELETE FROM authhost_credentials WHERE namespace = $1 AND provider = $2 RETURNING 1",
                    &params,
                )
                .await
            })
            .await?;
        Ok(!removed.is_empty())
    }
}

/// The clear copy of `entry`: its kind, expiry, plugin and whether it is
/// resolved, its secret fields blanked (so it decodes as the credential
/// it is), and nothing else (account facts stay sealed: the database never
/// sees them, and [`Inner::listing`] opens them on a machine with the key).
fn public_entry(entry: &Value) -> Value {
    let mut public = Map::new();
    for field in PUBLIC_FIELDS {
        if let Some(value) = entry.get(*field) {
            public.insert((*field).to_owned(), value.clone());
        }
    }
    for field in SECRET_FIELDS {
        if entry.get(*field).is_some() {
            public.insert((*field).to_owned(), Value::String(String::new()));
        }
    }
    Value::Object(public)
}

impl Store for Postgres {
    fn backend(&self) -> StoreBackend {
        StoreBackend::Postgres
    }

    fn place(&self) -> String {
        format!(
            "{}, namespace `{}`, key from {}",
            self.inner.conn.target().described(),
            crate::sanitize::plugin_text(&self.inner.namespace, 100),
            self.inner.key_source.describe()
        )
    }

    fn get<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Option<Stored>> {
        Box::pin(self.inner.get(provider))
    }

    fn listing(&self) -> StoreFuture<'_, Map<String, Value>> {
        Box::pin(self.inner.listing())
    }

    fn location_of<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Option<StoreBackend>> {
        Box::pin(async move {
            let stored = self.inner.has(provider).await?;
            Ok(stored.then_some(StoreBackend::Postgres))
        })
    }

    fn put<'a>(&'a self, provider: &'a str, entry: Option<&'a Stored>) -> StoreFuture<'a, bool> {
        Box::pin(self.inner.put(provider, entry))
    }

    fn lock<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Box<dyn Lease>> {
        Box::pin(async move {
            let lease = lease::acquire(self.inner.clone(), provider).await?;
            Ok(Box::new(lease) as Box<dyn Lease>)
        })
    }

    fn migrate(
        &self,
        _to: StoreBackend,
        _progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Migration, Error> {
        // Moves out of the database are between engines: `transfer`.
        Ok(Migration::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clear_copy_has_no_secret_and_no_facts() {
        let entry = serde_json::json!({"type": "oauth", "access": "a", "refresh": "r",
            "expires": 5, "accountId": "x", "plugin": "p"});
        let public = public_entry(&entry);
        assert_eq!(
            public,
            serde_json::json!({"type": "oauth", "access": "", "refresh": "",
                "expires": 5, "plugin": "p"})
        );
    }
}
