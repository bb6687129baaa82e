//! What a [`super::Credentials`] remembers between calls: secrets for as
//! long as they may be reused, and providers recently found to have none.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::store::credential::{Token, now_ms};

/// How long a credential read from `auth.json` is reused in memory before
/// the file is read again (so a `logout` in another process takes effect
/// within this time in a long-running embedding program), and how long a
/// provider found with no credential is not looked up again.
pub(super) const RECHECK: Duration = Duration::from_secs(1);

/// Remembered secrets and absences, by provider.
#[derive(Default)]
pub(super) struct Memo {
    secrets: RwLock<HashMap<String, Remembered>>,
    /// Providers found with neither a stored nor a cached credential, and
    /// when: trusted for [`RECHECK`], so that a provider whose plugin runs
    /// on every call does not read both files every time.
    absent: Mutex<HashMap<String, Instant>>,
    /// The last credential a plugin produced for each provider, for
    /// `stale_on_error`: kept in this process's memory only, never written.
    last: Mutex<HashMap<String, Token>>,
    /// The last credential read from the files for each provider, for
    /// `stale_on_error` when the files cannot be read: in memory only.
    last_read: Mutex<HashMap<String, Token>>,
}

struct Remembered {
    token: Token,
    fresh_until: Instant,
}

impl Memo {
    /// The remembered secret of `provider`, while it is fresh.
    pub fn get(&self, provider: &str) -> Option<Token> {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        secrets
            .get(provider)
            .filter(|m| m.fresh_until > Instant::now())
            .map(|m| m.token.clone())
    }

    /// Remembers `token` until `until_ms` (wall clock, ms since the epoch).
    pub fn put(&self, provider: &str, token: &Token, until_ms: u64) {
        let left = Duration::from_millis(until_ms.saturating_sub(now_ms()));
        self.absent().remove(provider);
        let Some(fresh_until) = Instant::now().checked_add(left) else {
            return;
        };
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        secrets.insert(
            provider.to_owned(),
            Remembered {
                token: token.clone(),
                fresh_until,
            },
        );
    }

    /// Forgets the secret of `provider`.
    pub fn forget(&self, provider: &str) {
        self.secrets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(provider);
    }

    /// Forgets everything about `provider` after its credentials changed.
    pub fn changed(&self, provider: &str) {
        self.forget(provider);
        self.absent().remove(provider);
    }

    /// True when `provider` was found without credentials less than
    /// [`RECHECK`] ago.
    pub fn known_absent(&self, provider: &str) -> bool {
        self.absent()
            .get(provider)
            .is_some_and(|seen| seen.elapsed() < RECHECK)
    }

    /// Notes that `provider` has neither a stored nor a cached credential.
    pub fn mark_absent(&self, provider: &str) {
        self.absent().insert(provider.to_owned(), Instant::now());
    }

    /// Keeps `token` as the last credential obtained for `provider`.
    pub fn remember_last(&self, provider: &str, token: &Token) {
        self.last_map().insert(provider.to_owned(), token.clone());
    }

    /// The last credential obtained for `provider`, however old.
    pub fn last(&self, provider: &str) -> Option<Token> {
        self.last_map().get(provider).cloned()
    }

    /// Forgets the last credential of `provider` (after a logout).
    pub fn forget_last(&self, provider: &str) {
        self.last_map().remove(provider);
        self.last_read_map().remove(provider);
    }

    /// Keeps `token` as the last credential read from the files for
    /// `provider`.
    pub fn remember_read(&self, provider: &str, token: &Token) {
        self.last_read_map()
            .insert(provider.to_owned(), token.clone());
    }

    /// The last credential read from the files for `provider`, however
    /// old.
    pub fn last_read(&self, provider: &str) -> Option<Token> {
        self.last_read_map().get(provider).cloned()
    }

    fn last_read_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Token>> {
        self.last_read.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn last_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Token>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn absent(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.absent.lock().unwrap_or_else(|e| e.into_inner())
    }
}
