//! The credentials job: where the secret for a provider comes from, and how
//! a login is kept alive.
//!
//! [`Credentials::token`] is the one place that decides, in this order:
//!
//! 0. the provider's environment variable (`[providers.X] env = "VAR"`),
//!    when it is set and not empty in authhost's environment: a variable
//!    the user sets for one run wins, as in most tools;
//! 1. a secret remembered in memory (a stored key for up to a second, a
//!    helper's for as long as it may be cached);
//! 2. a stored credential in `auth.json` (its secrets there or in the OS
//!    keyring, see [`crate::store`]) that is not within the refresh
//!    margin of its expiry and was made by the provider's plugin (the fast
//!    path: no plugin runs);
//! 3. a fresh credential in the helper cache;
//! 4. the provider's plugin: `refresh` for expiring OAuth tokens, `resolve`
//!    for helpers and for credentials derived from a stored one.
//!
//! A stored credential is handed only to the plugin that made it (see
//! [`Stored::check_made_by`]): when the provider's plugin has changed since,
//! the user is told to log in again, and no plugin sees it. The fast path
//! compares plugin ids only (from `config.toml`, without loading the
//! plugin); a folder plugin's build is compared whenever the plugin is
//! about to run.
//!
//! Step 4 runs once for any number of callers: concurrent callers in this
//! process share one run ([`flight`]), and processes take turns on the
//! provider's renewal lock ([`Store::lock`]), waiting at most the call timeout plus a
//! margin. Whoever gets the lock reads the files again first, so a process
//! that waited while another refreshed uses that result instead of
//! presenting the same (possibly rotated) refresh token a second time; and
//! one that waited while another failed reports that failure at once
//! instead of trying again (see [`crate::store::lock`]).
//!
//! Every store call is async (see [`crate::store::Store`]); reads of the
//! helper cache are small local reads without a lock and run inline, its
//! writes run on tokio's blocking pool, so the async API never blocks its
//! executor on another process or a database.

mod flight;
mod helper_cache;
mod memo;
mod renew;

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::events::{Event, Events, Source};
use crate::files::blocking;
use crate::runtime::Reason;
use crate::store::credential::{Credential, Token, now_ms};
use crate::store::json_file::JsonStore;
use crate::store::{Migration, PluginRef, Store, StoreBackend, Stored};
use flight::Flights;
use helper_cache::HelperCache;
use memo::{Memo, RECHECK};

/// Which plugin a provider uses and what it can do, as far as keeping its
/// credentials is concerned.
#[derive(Debug, Clone, Default)]
pub(crate) struct Abilities {
    /// The plugin: what a credential it stores records, and what a stored
    /// credential must record to be handed to it.
    pub plugin: PluginRef,
    /// It produces credentials at run time (`resolve`).
    pub resolves: bool,
    /// It renews expiring OAuth tokens (`refresh`).
    pub refreshes: bool,
    /// Its `resolve` is handed the stored credential.
    pub resolves_from_stored: bool,
}

/// Runs a provider's plugin; implemented by [`crate::runner::Runner`].
pub(crate) trait Resolver {
    /// The id of the provider's plugin, as configured (loads nothing).
    fn plugin_id<'a>(&'a self, provider: &'a str) -> &'a str;

    /// Which plugin the provider uses and what it can do.
    async fn abilities(&self, provider: &str) -> Result<Abilities, Error>;

    /// A credential from the provider's plugin (`resolve`), with how long it
    /// may be reused (ms since the epoch).
    async fn resolve(
        &self,
        provider: &str,
        reason: Reason,
        stored: Option<&Credential>,
    ) -> Result<(Credential, Option<u64>), Error>;

    /// Renewed OAuth tokens from the provider's plugin (`refresh`).
    async fn refresh(&self, provider: &str, stored: &Credential) -> Result<Credential, Error>;
}

/// Options of one [`Credentials::token`] call.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ask {
    /// Refresh or resolve even if the credential is still fresh.
    pub refresh: bool,
    /// Fall back to the last credential this host obtained for the provider
    /// when the plugin fails.
    pub stale_on_error: bool,
}

/// The providers whose credential may come from an environment variable
/// (`[providers.X] env = "VAR"`), and the environment to read.
#[derive(Debug, Default)]
pub(crate) struct EnvSources {
    /// The variable of each provider that has one.
    pub vars: BTreeMap<String, String>,
    /// The environment; `None`: the process's own, read at each call.
    pub environment: Option<BTreeMap<String, String>>,
}

impl EnvSources {
    /// The variable of `provider` and its value, when it is set and not
    /// empty.
    fn lookup(&self, provider: &str) -> Option<(&str, SecretString)> {
        let var = self.vars.get(provider)?;
        let value = match &self.environment {
            Some(environment) => environment.get(var).cloned(),
            // A value that is not Unicode cannot be a key.
            None => std::env::var(var).ok(),
        };
        value
            .filter(|v| !v.is_empty())
            .map(|v| (var.as_str(), SecretString::from(v)))
    }
}

/// The credential store, the helper cache, and what is remembered.
pub(crate) struct Credentials {
    env: EnvSources,
    store: Arc<dyn Store>,
    cache: HelperCache,
    memo: Memo,
    flights: Flights,
    /// OAuth access tokens this close to expiry are refreshed first.
    margin_ms: u64,
    /// The embedding program's event hook.
    events: Events,
}

impl Credentials {
    /// Credentials stored in `store` (which also holds the renewal locks),
    /// helper credentials in `cache`; OAuth tokens are refreshed
    /// `margin_ms` before they expire; `env` says which providers read an
    /// environment variable first.
    pub fn new(
        store: Arc<dyn Store>,
        cache: JsonStore,
        margin_ms: u64,
        env: EnvSources,
        events: Events,
    ) -> Credentials {
        Credentials {
            env,
            store,
            cache: HelperCache::new(cache),
            memo: Memo::default(),
            flights: Flights::default(),
            margin_ms,
            events,
        }
    }

    /// A usable secret for `provider` (see the module docs for the order),
    /// in a tracing span (`token`: the provider; on close where the secret
    /// came from, the outcome, and the latency in microseconds), reported
    /// to the event hook.
    pub async fn token(
        &self,
        provider: &str,
        ask: Ask,
        resolver: &impl Resolver,
    ) -> Result<Token, Error> {
        use tracing::Instrument;
        let started = std::time::Instant::now();
        let span = tracing::debug_span!(
            "token",
            provider,
            source = tracing::field::Empty,
            outcome = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        );
        let served = self
            .serve(provider, ask, resolver, started)
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed();
        match &served {
            Ok((_, source)) => {
                span.record("source", source.as_str());
                span.record("outcome", "ok");
                self.events.emit(|| Event::TokenServed {
                    provider,
                    source: *source,
                    elapsed,
                });
            }
            Err(error) => {
                span.record("outcome", error.code());
                self.events.emit(|| Event::Failed {
                    provider,
                    code: error.code(),
                    elapsed,
                });
            }
        }
        span.record("elapsed_us", elapsed.as_micros() as u64);
        served.map(|(token, _)| token)
    }

    /// [`Credentials::token`]'s work: the secret and where it came from.
    async fn serve(
        &self,
        provider: &str,
        ask: Ask,
        resolver: &impl Resolver,
        started: std::time::Instant,
    ) -> Result<(Token, Source), Error> {
        // Even with `refresh`: the variable is the credential, there is
        // nothing to renew.
        if let Some((var, secret)) = self.env.lookup(provider) {
            tracing::debug!(provider, "key from ${var}");
            return Ok((Token::new(secret), Source::Env));
        }
        if !ask.refresh {
            if let Some(token) = self.memo.get(provider) {
                tracing::trace!(provider, "key from memory");
                return Ok((token, Source::Memory));
            }
            match self.local(provider, resolver.plugin_id(provider)).await {
                Ok(Some((token, source))) => {
                    tracing::debug!(provider, elapsed = ?started.elapsed(), "key from the {}", source.as_str());
                    return Ok((token, source));
                }
                Ok(None) => {}
                Err(error) => return self.stale_or(provider, ask, error),
            }
        }
        // Boxed: the renewal (a plugin call) is a large future, and keeping
        // it out of this one keeps every call that returns above cheap to
        // start (`block_on` moves the whole future).
        let renew = Box::pin(self.renew(provider, ask.refresh, resolver));
        let renewed = self.flights.share(provider, renew).await;
        match renewed {
            Ok((credential, Source::Plugin)) => {
                tracing::debug!(provider, elapsed = ?started.elapsed(), "key from the provider's plugin");
                Ok((Token::of(&credential), Source::Plugin))
            }
            Ok((credential, source)) => {
                tracing::debug!(provider, elapsed = ?started.elapsed(), "key from the {}", source.as_str());
                Ok((Token::of(&credential), source))
            }
            Err(error) => self.stale_or(provider, ask, error),
        }
    }

    /// With `stale_on_error`, the last credential this host obtained for
    /// `provider` in place of `error`: the last one its plugin produced,
    /// or, when the files cannot be read (`auth.json` corrupt, unreadable
    /// or untrusted), the last one read from them. Otherwise `error`.
    fn stale_or(&self, provider: &str, ask: Ask, error: Error) -> Result<(Token, Source), Error> {
        if !ask.stale_on_error {
            return Err(error);
        }
        let unreadable = matches!(
            error,
            Error::CorruptStore { .. }
                | Error::CorruptEntry { .. }
                | Error::Io { .. }
                | Error::Untrusted { .. }
        );
        let last = self
            .memo
            .last(provider)
            .or_else(|| unreadable.then(|| self.memo.last_read(provider)).flatten());
        match last {
            Some(token) => {
                tracing::warn!("{provider}: using the last credential obtained: {error}");
                Ok((token, Source::Stale))
            }
            None => Err(error),
        }
    }

    /// The variable `provider`'s credential comes from, when it is set (not
    /// empty): it is used ahead of anything stored.
    pub fn env_source(&self, provider: &str) -> Option<&str> {
        self.env.lookup(provider).map(|(var, _)| var)
    }

    /// The secret the files hold for `provider` (whose plugin is
    /// `plugin_id`) that needs no plugin, if any; remembers it for as long
    /// as it may be used.
    async fn local(
        &self,
        provider: &str,
        plugin_id: &str,
    ) -> Result<Option<(Token, Source)>, Error> {
        if self.memo.known_absent(provider) {
            return Ok(None);
        }
        let stored = self.store.get(provider).await?;
        Ok(self.usable(provider, stored.as_ref(), plugin_id))
    }

    /// [`Credentials::local`] with the store's entry for `provider` already
    /// read (`stored`): the secret that needs no plugin, remembered. None
    /// when the stored credential was made by another plugin than
    /// `plugin_id`: the renewal says why.
    fn usable(
        &self,
        provider: &str,
        stored: Option<&Stored>,
        plugin_id: &str,
    ) -> Option<(Token, Source)> {
        let now = now_ms();
        if stored.is_some_and(|s| s.plugin.as_deref().is_some_and(|id| id != plugin_id)) {
            return None;
        }
        if let Some(
            entry @ Stored {
                credential,
                resolve: false,
                ..
            },
        ) = stored
        {
            let margin = entry.margin_ms(self.margin_ms);
            if credential.is_expired(now, margin) {
                return None;
            }
            let until = credential
                .expires()
                .map_or(u64::MAX, |e| e.saturating_sub(margin));
            let recheck = now + RECHECK.as_millis() as u64;
            let token = Token::of(credential);
            self.memo.put(provider, &token, until.min(recheck));
            self.memo.remember_read(provider, &token);
            return Some((token, Source::Store));
        }
        match self.cache.get(provider) {
            Some(entry) if entry.fresh(now) => {
                let token = Token::of(&entry.credential);
                self.memo.put(provider, &token, entry.until);
                self.memo.remember_read(provider, &token);
                Some((token, Source::HelperCache))
            }
            Some(_) => None,
            None => {
                if stored.is_none() {
                    self.memo.mark_absent(provider);
                }
                None
            }
        }
    }

    /// Until when the helper credential of `provider` is cached.
    pub fn cached_until(&self, provider: &str) -> Option<u64> {
        self.cache
            .get(provider)
            .filter(|entry| entry.fresh(now_ms()))
            .map(|entry| entry.until)
    }

    /// The fresh helper credential of `provider`, if any.
    pub fn cached(&self, provider: &str) -> Option<Credential> {
        self.cache
            .get(provider)
            .filter(|entry| entry.fresh(now_ms()))
            .map(|entry| entry.credential)
    }

    /// Stores `stored` for `provider` in `auth.json`.
    pub async fn store(&self, provider: &str, stored: Stored) -> Result<(), Error> {
        let (cache, name) = (self.cache.clone(), provider.to_owned());
        // A new login replaces whatever a helper derived from the old one.
        blocking(move || cache.remove(&name)).await?;
        self.put_stored(provider, stored).await
    }

    async fn put_stored(&self, provider: &str, stored: Stored) -> Result<(), Error> {
        self.store.put(provider, Some(&stored)).await?;
        self.memo.changed(provider);
        Ok(())
    }

    /// Stores a key the user typed or pasted for `provider`, whose plugin
    /// is `plugin`.
    pub async fn store_key(
        &self,
        provider: &str,
        key: SecretString,
        plugin: &PluginRef,
    ) -> Result<(), Error> {
        let key = Credential::Api {
            key,
            extra: Default::default(),
        };
        self.store(provider, Stored::plain(key, plugin)).await
    }

    /// Removes the stored and cached credentials of `provider`; false when
    /// there were none.
    pub async fn remove(&self, provider: &str) -> Result<bool, Error> {
        let stored = self.store.put(provider, None).await?;
        let (cache, name) = (self.cache.clone(), provider.to_owned());
        let cached = blocking(move || cache.remove(&name)).await?;
        let removed = stored || cached;
        self.memo.changed(provider);
        self.memo.forget_last(provider);
        Ok(removed)
    }

    /// The stored entry of `provider`, if any.
    pub async fn stored_entry(&self, provider: &str) -> Result<Option<Stored>, Error> {
        self.store.get(provider).await
    }

    /// Every entry of `auth.json`, undecoded, without fetching a secret
    /// from the keyring (see [`Store::listing`]).
    pub async fn stored(&self) -> Result<Map<String, Value>, Error> {
        self.store.listing().await
    }

    /// When the last renewal of `provider` was refused (see
    /// [`Store::refused_renewal`]).
    pub fn refused_renewal(&self, provider: &str) -> Option<u64> {
        self.store.refused_renewal(provider)
    }

    /// Where the secrets of `provider`'s stored credential are, if one is
    /// stored.
    pub async fn stored_in(&self, provider: &str) -> Result<Option<StoreBackend>, Error> {
        self.store.location_of(provider).await
    }

    /// Where the secrets of new credentials go.
    pub fn backend(&self) -> StoreBackend {
        self.store.backend()
    }

    /// Where the credentials are (see [`crate::store::Store::place`]).
    pub fn store_place(&self) -> String {
        self.store.place()
    }

    /// Moves every stored credential's secrets to `to` (see
    /// [`Store::migrate`]), off the async executor.
    pub async fn migrate(
        &self,
        to: StoreBackend,
        progress: impl FnMut(&str) + Send + 'static,
    ) -> Result<Migration, Error> {
        let store = self.store.clone();
        let mut progress = progress;
        let migration = blocking(move || store.migrate(to, &mut progress)).await?;
        for provider in &migration.moved {
            self.memo.changed(provider);
        }
        Ok(migration)
    }

    /// Moves every stored credential to the store `to` (see
    /// [`crate::store::transfer`]).
    pub async fn transfer(
        &self,
        to: &dyn Store,
        progress: impl FnMut(&str) + Send + 'static,
    ) -> Result<Migration, Error> {
        let mut progress = progress;
        let migration =
            crate::store::transfer::transfer(self.store.as_ref(), to, &mut progress).await?;
        for provider in &migration.moved {
            self.memo.changed(provider);
        }
        Ok(migration)
    }

    /// The providers with a fresh helper credential.
    pub fn fresh_cached(&self) -> Map<String, Value> {
        self.cache.fresh()
    }
}

#[cfg(test)]
mod tests {
    /// `block_on(host.token(..))` moves the future it is given, so its
    /// size is a cost on every call, the remembered ones included: the
    /// renewal (a plugin call, tens of KB of state) must stay boxed.
    #[test]
    fn the_token_future_is_small() {
        let home = tempfile::tempdir().unwrap();
        let host = crate::Host::open(crate::HostOptions::with_home(home.path())).unwrap();
        let future = host.token("any", crate::TokenOptions::default());
        let size = std::mem::size_of_val(&future);
        assert!(size <= 2048, "the token future is {size} bytes");
    }

    /// `stale_on_error` also covers a store that cannot be read, with the
    /// key this host read from it before; without it, or without a key
    /// read before, the store's error is the answer.
    #[tokio::test]
    async fn a_corrupt_store_is_bridged_only_with_stale_on_error() {
        use std::os::unix::fs::OpenOptionsExt;
        let home = tempfile::tempdir().unwrap();
        let host = crate::Host::open(crate::HostOptions::with_home(home.path())).unwrap();
        let write = |text: &str| {
            let path = &host.paths().unwrap().store_file;
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)
                .unwrap();
            std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        };
        write(r#"{"p": {"type": "api", "key": "sk-read-before"}}"#);
        let plain = crate::TokenOptions::default();
        let stale = crate::TokenOptions::default().stale_on_error(true);
        let token = host.token("p", plain.clone()).await.unwrap();
        assert_eq!(token.expose_secret(), "sk-read-before");
        write("{ not json");
        // Past the second a stored key is answered from memory.
        tokio::time::sleep(super::RECHECK + std::time::Duration::from_millis(100)).await;
        let error = host.token("p", plain).await.unwrap_err();
        assert_eq!(error.code(), "store-corrupt");
        let token = host.token("p", stale.clone()).await.unwrap();
        assert_eq!(token.expose_secret(), "sk-read-before");
        // Nothing was read for `q` before.
        let error = host.token("q", stale).await.unwrap_err();
        assert_eq!(error.code(), "store-corrupt");
    }
}
