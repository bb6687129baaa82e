//! The credentials job: where the secret for a provider comes from.
//!
//! [`Credentials::token`] is the one place that decides, in this order:
//!
//! 1. a secret remembered in memory (a stored key for up to a second, a
//!    helper's for as long as it may be cached);
//! 2. a stored credential in `auth.json` that has not expired;
//! 3. a fresh helper credential in the cache file;
//! 4. the provider's plugin (`resolve`), run once for any number of
//!    concurrent callers.
//!
//! Reads of `auth.json` and the cache file are small local reads without a
//! lock and run inline; writes take a file lock and run on tokio's blocking
//! pool, so the async API never blocks its executor on another process.

mod flight;
mod helper_cache;
mod memo;

use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::credential::{Credential, Token, now_ms};
use crate::error::Error;
use crate::runtime::Reason;
use crate::store::JsonStore;
use flight::Flights;
use helper_cache::HelperCache;
use memo::{Memo, RECHECK};

/// An OAuth token this close to expiry counts as expired.
const EXPIRY_MARGIN_MS: u64 = 30_000;

/// Asks a provider's plugin for a credential; implemented over the plugin
/// registry by the [`crate::Host`] facade.
pub(crate) trait Resolver {
    /// Whether the provider's plugin produces credentials at run time.
    async fn resolves(&self, provider: &str) -> Result<bool, Error>;

    /// A credential from the provider's plugin, with how long it may be
    /// reused (ms since the epoch).
    async fn resolve(
        &self,
        provider: &str,
        reason: Reason,
    ) -> Result<(Credential, Option<u64>), Error>;
}

/// Options of one [`Credentials::token`] call.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ask {
    /// Ask the plugin even if a credential is cached.
    pub refresh: bool,
    /// Fall back to the last cached credential when the plugin fails.
    pub stale_on_error: bool,
}

/// The credential store, the helper cache, and what is remembered.
pub(crate) struct Credentials {
    store: JsonStore,
    cache: HelperCache,
    memo: Memo,
    flights: Flights,
}

impl Credentials {
    /// Credentials stored in `store` (`auth.json`), helper credentials in
    /// `cache`.
    pub fn new(store: JsonStore, cache: JsonStore) -> Credentials {
        Credentials {
            store,
            cache: HelperCache::new(cache),
            memo: Memo::default(),
            flights: Flights::default(),
        }
    }

    /// A usable secret for `provider` (see the module docs for the order).
    pub async fn token(
        &self,
        provider: &str,
        ask: Ask,
        resolver: &impl Resolver,
    ) -> Result<Token, Error> {
        if !ask.refresh
            && let Some(secret) = self.memo.get(provider)
        {
            return Ok(Token::new(secret));
        }
        let now = now_ms();
        let known_absent = self.memo.known_absent(provider);
        let stored = if known_absent {
            None
        } else {
            self.store.get::<Credential>(provider)?
        };
        let found_stored = stored.is_some();
        if let Some(credential) = stored {
            if !credential.is_expired(now, EXPIRY_MARGIN_MS) {
                let until = match &credential {
                    Credential::OAuth {
                        expires: Some(expires),
                        ..
                    } => expires.saturating_sub(EXPIRY_MARGIN_MS),
                    _ => u64::MAX,
                };
                let recheck = now + RECHECK.as_millis() as u64;
                self.memo
                    .put(provider, credential.secret(), until.min(recheck));
                return Ok(Token::new(credential.secret().clone()));
            }
            if !resolver.resolves(provider).await? {
                return Err(Error::Expired(provider.to_owned()));
            }
        }
        let cached = if known_absent {
            None
        } else {
            self.cache.get(provider)
        };
        if !found_stored && cached.is_none() && !known_absent {
            self.memo.mark_absent(provider);
        }
        if !ask.refresh
            && let Some(entry) = &cached
            && entry.fresh(now)
        {
            self.memo
                .put(provider, entry.credential.secret(), entry.until);
            return Ok(Token::new(entry.credential.secret().clone()));
        }
        let reason = if ask.refresh {
            Reason::Refresh
        } else {
            Reason::Token
        };
        match self.resolve_once(provider, reason, resolver).await {
            Ok(credential) => Ok(Token::new(credential.secret().clone())),
            Err(error) => match cached {
                Some(entry) if ask.stale_on_error => {
                    tracing::warn!("{provider}: using the last cached credential: {error}");
                    Ok(Token::new(entry.credential.secret().clone()))
                }
                _ => Err(error),
            },
        }
    }

    /// Runs the provider's plugin once for all concurrent callers.
    async fn resolve_once(
        &self,
        provider: &str,
        reason: Reason,
        resolver: &impl Resolver,
    ) -> Result<Credential, Error> {
        self.flights
            .share(provider, self.resolve(provider, reason, resolver))
            .await
    }

    /// Asks the plugin for a credential and caches it as it says.
    pub async fn resolve(
        &self,
        provider: &str,
        reason: Reason,
        resolver: &impl Resolver,
    ) -> Result<Credential, Error> {
        if !resolver.resolves(provider).await? {
            return Err(Error::NoCredential(provider.to_owned()));
        }
        let (credential, cache_until) = resolver.resolve(provider, reason).await?;
        match cache_until.filter(|until| *until > now_ms()) {
            Some(until) => {
                let (cache, name, entry) =
                    (self.cache.clone(), provider.to_owned(), credential.clone());
                blocking(move || cache.put(&name, &entry, until)).await?;
                self.memo.put(provider, credential.secret(), until);
            }
            None => self.memo.forget(provider),
        }
        tracing::debug!(provider, "resolved a credential");
        Ok(credential)
    }

    /// Until when the helper credential of `provider` is cached.
    pub fn cached_until(&self, provider: &str) -> Option<u64> {
        self.cache.get(provider).map(|c| c.until)
    }

    /// Stores `credential` for `provider` in `auth.json`.
    pub async fn store(&self, provider: &str, credential: Credential) -> Result<(), Error> {
        let (store, name) = (self.store.clone(), provider.to_owned());
        blocking(move || store.put(&name, Some(&credential))).await?;
        self.memo.changed(provider);
        Ok(())
    }

    /// Stores a key the user typed or pasted.
    pub async fn store_key(&self, provider: &str, key: SecretString) -> Result<(), Error> {
        self.store(provider, Credential::Api { key }).await
    }

    /// Removes the stored and cached credentials of `provider`; false when
    /// there were none.
    pub async fn remove(&self, provider: &str) -> Result<bool, Error> {
        let (store, cache, name) = (self.store.clone(), self.cache.clone(), provider.to_owned());
        let removed = blocking(move || {
            let stored = store.put::<Value>(&name, None)?;
            let cached = cache.remove(&name)?;
            Ok::<_, Error>(stored || cached)
        })
        .await?;
        self.memo.changed(provider);
        Ok(removed)
    }

    /// Every entry of `auth.json`, undecoded.
    pub fn stored(&self) -> Result<Map<String, Value>, Error> {
        self.store.read()
    }

    /// The providers with a fresh helper credential.
    pub fn fresh_cached(&self) -> Map<String, Value> {
        self.cache.fresh()
    }
}

/// Runs blocking file work (locks, writes, syncs) off the async executor.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
