//! What a [`super::Credentials`] remembers between calls: secrets for as
//! long as they may be reused, and providers recently found to have none.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::credential::now_ms;

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
}

struct Remembered {
    secret: SecretString,
    fresh_until: Instant,
}

impl Memo {
    /// The remembered secret of `provider`, while it is fresh.
    pub fn get(&self, provider: &str) -> Option<SecretString> {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        secrets
            .get(provider)
            .filter(|m| m.fresh_until > Instant::now())
            .map(|m| m.secret.clone())
    }

    /// Remembers `secret` until `until_ms` (wall clock, ms since the epoch).
    pub fn put(&self, provider: &str, secret: &SecretString, until_ms: u64) {
        let left = Duration::from_millis(until_ms.saturating_sub(now_ms()));
        self.absent().remove(provider);
        let Some(fresh_until) = Instant::now().checked_add(left) else {
            return;
        };
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        secrets.insert(
            provider.to_owned(),
            Remembered {
                secret: secret.clone(),
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

    fn absent(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.absent.lock().unwrap_or_else(|e| e.into_inner())
    }
}
