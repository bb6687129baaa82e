//! The in-memory store: entries in this process's memory, nothing on disk
//! (`StoreBackend::Memory`). For tests and for stateless services that are
//! given their keys in code ([`crate::Host::store_key`]) or resolve them
//! through helpers; everything is gone when the host is dropped.
//!
//! The renewal lock is a per-provider async mutex: single-flight among the
//! tasks of this host, which is all there is to share with. A renewal that
//! failed is recorded for the tasks that waited for it, as the lock files
//! of the file store record it for other processes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{Lease, Migration, Store, StoreBackend, StoreFuture, Stored};
use crate::Error;

/// How long after it was made a failure record is used, at most (as the
/// file store's lock records).
const FAILURE_LIFETIME: Duration = Duration::from_secs(10);

/// Entries in memory.
#[derive(Default)]
pub(crate) struct Memory {
    entries: Mutex<Map<String, Value>>,
    locks: Mutex<BTreeMap<String, Arc<ProviderLock>>>,
}

/// The renewal lock of one provider and the failure of its last renewal.
#[derive(Default)]
struct ProviderLock {
    turn: Arc<tokio::sync::Mutex<()>>,
    failure: Mutex<Option<Failure>>,
}

impl std::fmt::Debug for Memory {
    // Entries hold secrets: only their names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("Memory")
            .field("providers", &entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Memory {
    fn entries(&self) -> std::sync::MutexGuard<'_, Map<String, Value>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for Memory {
    fn backend(&self) -> StoreBackend {
        StoreBackend::Memory
    }

    fn get<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Option<Stored>> {
        let entry = self.entries().get(provider).cloned();
        Box::pin(async move {
            let Some(entry) = entry else {
                return Ok(None);
            };
            serde_json::from_value(entry).map(Some).map_err(|_| {
                // Only this process writes entries, from a `Stored`.
                Error::CorruptStore {
                    path: "memory".into(),
                    message: format!("entry `{provider}` does not decode"),
                }
            })
        })
    }

    fn listing(&self) -> StoreFuture<'_, Map<String, Value>> {
        let entries = self.entries().clone();
        Box::pin(async move { Ok(entries) })
    }

    fn location_of<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Option<StoreBackend>> {
        let found = self.entries().contains_key(provider);
        Box::pin(async move { Ok(found.then_some(StoreBackend::Memory)) })
    }

    fn put<'a>(&'a self, provider: &'a str, entry: Option<&'a Stored>) -> StoreFuture<'a, bool> {
        let result = (|| {
            let mut entries = self.entries();
            Ok(match entry {
                Some(stored) => {
                    let value = serde_json::to_value(stored).map_err(|_| Error::CorruptStore {
                        path: "memory".into(),
                        message: format!("cannot encode the entry `{provider}`"),
                    })?;
                    entries.insert(provider.to_owned(), value).is_some()
                }
                None => entries.remove(provider).is_some(),
            })
        })();
        Box::pin(async move { result })
    }

    fn refused_renewal(&self, provider: &str) -> Option<u64> {
        let locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        let failure = locks
            .get(provider)?
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        failure.as_ref().filter(|f| f.needs_login).map(|f| f.at_ms)
    }

    fn lock<'a>(&'a self, provider: &'a str) -> StoreFuture<'a, Box<dyn Lease>> {
        Box::pin(async move {
            let lock = self
                .locks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(provider.to_owned())
                .or_default()
                .clone();
            let since = Instant::now();
            let (guard, waited_since) = match lock.turn.clone().try_lock_owned() {
                Ok(guard) => (guard, None),
                Err(_) => (lock.turn.clone().lock_owned().await, Some(since)),
            };
            Ok(Box::new(Held {
                lock,
                _guard: guard,
                waited_since,
            }) as Box<dyn Lease>)
        })
    }

    fn migrate(
        &self,
        to: StoreBackend,
        _progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Migration, Error> {
        Err(Error::Config {
            path: "memory".into(),
            message: format!(
                "an in-memory store cannot be moved to {}: it has no files",
                to.place()
            ),
        })
    }
}

/// A renewal that failed: when, its message, whether it needs a login.
struct Failure {
    at: Instant,
    /// `at` in ms since the Unix epoch.
    at_ms: u64,
    message: String,
    needs_login: bool,
}

/// A held renewal lock of the in-memory store.
struct Held {
    lock: Arc<ProviderLock>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
    waited_since: Option<Instant>,
}

impl Lease for Held {
    fn failure_while_waiting(&self, provider: &str) -> Option<Error> {
        let since = self.waited_since?;
        let failure = self.lock.failure.lock().unwrap_or_else(|e| e.into_inner());
        let failure = failure.as_ref()?;
        (failure.at >= since && failure.at.elapsed() <= FAILURE_LIFETIME).then(|| {
            tracing::debug!(provider, "the renewal this task waited for failed");
            Error::RenewalFailed {
                provider: provider.to_owned(),
                message: failure.message.clone(),
                needs_login: failure.needs_login,
            }
        })
    }

    fn waited(&self) -> bool {
        self.waited_since.is_some()
    }

    fn release(self: Box<Self>) -> StoreFuture<'static, ()> {
        drop(self);
        Box::pin(async { Ok(()) })
    }

    fn record(&self, outcome: Result<(), &Error>) {
        let mut failure = self.lock.failure.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Err(Error::NoCredential(_) | Error::Expired(_)) => {}
            Ok(()) => *failure = None,
            Err(error) => {
                *failure = Some(Failure {
                    at: Instant::now(),
                    at_ms: super::credential::now_ms(),
                    message: crate::error_chain(error),
                    needs_login: error.needs_login(),
                })
            }
        }
    }
}
