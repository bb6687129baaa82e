//! Credentials of helper providers, cached in `cache/credentials.json`
//! (mode 0600) for as long as their plugin allows, shared by every authhost
//! process. An entry whose lifetime is over is deleted, not kept: by the
//! next write to the file, or when its provider is next asked for a key.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::store::credential::{Credential, clamp_expiry, now_ms};
use crate::store::json_file::JsonStore;

/// A helper credential in the cache file.
#[derive(Serialize, Deserialize)]
pub(super) struct Cached {
    #[serde(serialize_with = "crate::store::credential::write")]
    pub credential: Credential,
    /// Reusable until then (ms since the epoch; read no later than
    /// [`crate::store::credential::LATEST_EXPIRY_MS`]).
    #[serde(deserialize_with = "clamped")]
    pub until: u64,
}

fn clamped<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    u64::deserialize(d).map(clamp_expiry)
}

impl Cached {
    /// Whether it may still be used at `now` (ms since the epoch).
    pub fn fresh(&self, now: u64) -> bool {
        self.until > now
    }
}

/// The cache file.
#[derive(Clone)]
pub(super) struct HelperCache {
    file: JsonStore,
}

impl HelperCache {
    pub fn new(file: JsonStore) -> HelperCache {
        HelperCache { file }
    }

    /// The entry of `provider`, fresh or not; a cache that cannot be read
    /// is ignored with a warning (it only saves work).
    pub fn get(&self, provider: &str) -> Option<Cached> {
        match self.file.get::<Cached>(provider) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::warn!("ignoring the helper cache: {e}");
                None
            }
        }
    }

    /// Caches `credential` for `provider` until `until` (blocking: takes
    /// the file's lock).
    pub fn put(&self, provider: &str, credential: &Credential, until: u64) -> Result<(), Error> {
        let entry = serde_json::to_value(Cached {
            credential: credential.clone(),
            until,
        })
        .expect("a cache entry always encodes");
        let now = now_ms();
        self.file.update(|entries| {
            entries.retain(|_, v| !is_stale(v, now));
            entries.insert(provider.to_owned(), entry);
        })
    }

    /// Removes the entry of `provider`; whether there was one (blocking).
    pub fn remove(&self, provider: &str) -> Result<bool, Error> {
        if !self.file.read()?.contains_key(provider) {
            return Ok(false);
        }
        self.file.put::<Value>(provider, None)
    }

    /// The providers with a fresh entry.
    pub fn fresh(&self) -> Map<String, Value> {
        let now = now_ms();
        let mut entries = self.file.read().unwrap_or_default();
        entries
            .retain(|_, v| serde_json::from_value::<Cached>(v.clone()).is_ok_and(|c| c.fresh(now)));
        entries
    }
}

/// Whether `entry` is a cache entry whose lifetime is over (entries the
/// host does not understand are kept).
fn is_stale(entry: &Value, now: u64) -> bool {
    entry
        .get("until")
        .and_then(Value::as_u64)
        .is_some_and(|until| until <= now)
}
