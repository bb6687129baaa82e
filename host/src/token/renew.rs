//! Renewing a credential under its provider's lock: refresh an expiring
//! login, run a helper, or report why neither can run (see the module docs
//! of [`super`] for when this runs).

use super::{Abilities, Credentials, Resolver};
use crate::error::{Error, PluginFailure};
use crate::events::{Event, Source};
use crate::files::blocking;
use crate::runtime::Reason;
use crate::store::credential::{Credential, Token, clamp_expiry, now_ms};
use crate::store::{PluginRef, Stored};

impl Credentials {
    /// Refreshes or resolves the credential of `provider` while holding its
    /// lock (`forced`: even when the files hold a fresh one), and says
    /// where the credential came from: the plugin, or the files when
    /// another process or host put a usable one there meanwhile.
    pub(super) async fn renew(
        &self,
        provider: &str,
        forced: bool,
        resolver: &impl Resolver,
    ) -> Result<(Credential, Source), Error> {
        let abilities = resolver.abilities(provider).await?;
        let held = self.store.lock(provider).await?;
        // Another process may have done the work while this one waited.
        self.memo.changed(provider);
        let stored = match self.store.get(provider).await {
            Ok(stored) => stored,
            Err(error) => {
                let _ = held.release().await;
                return Err(error);
            }
        };
        if let Some(stored) = &stored
            && let Err(error) = stored.check_made_by(provider, &abilities.plugin)
        {
            let _ = held.release().await;
            return Err(error);
        }
        let plugin_id = abilities.plugin.id.as_str();
        if !forced && let Some((_, source)) = self.usable(provider, stored.as_ref(), plugin_id) {
            // Not necessarily a renewal: a login or a key stored by another
            // process or host is found the same way.
            let found = match source {
                Source::HelperCache => "a fresh helper credential in the helper cache",
                _ => "a usable credential in the store",
            };
            if held.waited() {
                tracing::debug!(
                    provider,
                    "found {found} after waiting for the lock: the process that held it renewed or stored it"
                );
            } else {
                tracing::debug!(
                    provider,
                    "found {found}: another process or host stored it since this one last looked (a login, or a renewal that had finished)"
                );
            }
            let current = self.current(provider).await;
            let _ = held.release().await;
            return Ok((current?, source));
        }
        // Or tried and failed: trying again at once would only take as long.
        if let Some(failure) = held.failure_while_waiting(provider) {
            let _ = held.release().await;
            return Err(failure);
        }
        let renewed = self
            .renew_held(provider, stored, forced, abilities, resolver)
            .await;
        held.record(renewed.as_ref().map(|_| ()));
        if let Err(error) = held.release().await {
            tracing::debug!(provider, "cannot give the renewal lock up at once: {error}");
        }
        renewed
    }

    /// [`Credentials::renew`] once the lock is held and `stored` is what
    /// the store holds for `provider`.
    async fn renew_held(
        &self,
        provider: &str,
        stored: Option<Stored>,
        forced: bool,
        abilities: Abilities,
        resolver: &impl Resolver,
    ) -> Result<(Credential, Source), Error> {
        self.drop_stale_cache(provider).await?;
        let reason = if forced {
            Reason::Refresh
        } else {
            Reason::Token
        };
        match stored {
            Some(entry @ Stored { resolve: false, .. }) => {
                let margin = entry.margin_ms(self.margin_ms);
                self.renew_stored(
                    provider,
                    entry.credential,
                    margin,
                    forced,
                    abilities,
                    resolver,
                )
                .await
            }
            Some(Stored {
                credential,
                resolve: true,
                ..
            }) => self
                .run_resolve(provider, reason, Some(&credential), resolver)
                .await
                .map(|c| (c, Source::Plugin)),
            None if abilities.resolves => self
                .run_resolve(provider, reason, None, resolver)
                .await
                .map(|c| (c, Source::Plugin)),
            None => Err(Error::NoCredential(provider.to_owned())),
        }
    }

    /// The credential [`Credentials::local`] just found, whole.
    async fn current(&self, provider: &str) -> Result<Credential, Error> {
        if let Some(stored) = self.store.get(provider).await?
            && !stored.resolve
        {
            return Ok(stored.credential);
        }
        self.cache
            .get(provider)
            .map(|entry| entry.credential)
            .ok_or_else(|| Error::NoCredential(provider.to_owned()))
    }

    /// Renews a stored credential that is used as it is.
    async fn renew_stored(
        &self,
        provider: &str,
        credential: Credential,
        margin_ms: u64,
        forced: bool,
        abilities: Abilities,
        resolver: &impl Resolver,
    ) -> Result<(Credential, Source), Error> {
        let expiring = credential.is_expired(now_ms(), margin_ms);
        let oauth = matches!(credential, Credential::OAuth { .. });
        if oauth && abilities.refreshes && (expiring || forced) {
            return self
                .refresh(provider, credential, &abilities.plugin, resolver)
                .await;
        }
        if !expiring {
            // An API key, or tokens the plugin cannot renew: nothing to do.
            return Ok((credential, Source::Store));
        }
        if abilities.resolves {
            let stored = abilities.resolves_from_stored.then_some(&credential);
            return self
                .run_resolve(provider, Reason::Token, stored, resolver)
                .await
                .map(|c| (c, Source::Plugin));
        }
        Err(Error::Expired(provider.to_owned()))
    }

    /// Calls the plugin's `refresh` (of `plugin`) and stores the result in
    /// place of `stored`. An answer that is not OAuth tokens is an error of
    /// the plugin, and the stored login is kept. A refresh that fails for a
    /// while (a network error, a timeout) leaves the current access token
    /// in use while it is valid: its source is then the store.
    async fn refresh(
        &self,
        provider: &str,
        stored: Credential,
        plugin: &PluginRef,
        resolver: &impl Resolver,
    ) -> Result<(Credential, Source), Error> {
        tracing::debug!(provider, "refreshing the login");
        let renewed = match resolver.refresh(provider, &stored).await {
            Ok(renewed) => renewed,
            Err(error) if error.is_refusal() => {
                return Err(Error::LoginRevoked {
                    provider: provider.to_owned(),
                    reason: error.to_string(),
                });
            }
            Err(error) if error.is_transient() && !stored.is_expired(now_ms(), 0) => {
                let left = stored.expires().unwrap_or(0).saturating_sub(now_ms()) / 1000;
                tracing::warn!(
                    "{provider}: could not refresh the login ({error}); using the current access token, valid for {left} s more"
                );
                return Ok((stored, Source::Store));
            }
            Err(error) => return Err(error),
        };
        let Some(renewed) = keep_what_was_not_renewed(stored, renewed) else {
            return Err(Error::plugin_call(
                provider,
                &plugin.id,
                PluginFailure::Invalid(
                    "an API key from `refresh`, which must return OAuth tokens; the stored login was kept"
                        .into(),
                ),
            ));
        };
        self.put_stored(provider, Stored::plain(renewed.clone(), plugin))
            .await?;
        tracing::debug!(provider, "stored the refreshed login");
        self.events.emit(|| Event::Refreshed { provider });
        Ok((renewed, Source::Plugin))
    }

    /// Asks the plugin for a credential and caches it as it says.
    async fn run_resolve(
        &self,
        provider: &str,
        reason: Reason,
        stored: Option<&Credential>,
        resolver: &impl Resolver,
    ) -> Result<Credential, Error> {
        let (credential, cache_until) = resolver.resolve(provider, reason, stored).await?;
        let cache_until = cache_until.map(clamp_expiry);
        match cache_until.filter(|until| *until > now_ms()) {
            Some(until) => {
                let (cache, name, entry) =
                    (self.cache.clone(), provider.to_owned(), credential.clone());
                blocking(move || cache.put(&name, &entry, until)).await?;
                self.memo.put(provider, &Token::of(&credential), until);
            }
            None => self.memo.forget(provider),
        }
        self.memo.remember_last(provider, &Token::of(&credential));
        tracing::debug!(provider, "resolved a credential");
        Ok(credential)
    }

    /// Runs a helper at login (method kind `helper`), under the provider's
    /// lock, and caches its credential as it says. A stored credential
    /// another plugin made is not handed to it, and is removed once the
    /// helper has succeeded: this login replaces it.
    pub async fn resolve_at_login(
        &self,
        provider: &str,
        resolver: &impl Resolver,
    ) -> Result<Credential, Error> {
        let held = self.store.lock(provider).await?;
        let resolved = self.resolve_at_login_held(provider, resolver).await;
        if let Err(error) = held.release().await {
            tracing::debug!(provider, "cannot give the renewal lock up at once: {error}");
        }
        resolved
    }

    /// [`Credentials::resolve_at_login`] once the lock is held.
    async fn resolve_at_login_held(
        &self,
        provider: &str,
        resolver: &impl Resolver,
    ) -> Result<Credential, Error> {
        let stored = self.store.get(provider).await?;
        let abilities = resolver.abilities(provider).await?;
        let (stored, replaced) = match stored {
            Some(s) if s.made_by_another(&abilities.plugin).is_some() => (None, true),
            stored => (stored, false),
        };
        let stored = stored
            .filter(|_| abilities.resolves_from_stored)
            .map(|s| s.credential);
        let credential = self
            .run_resolve(provider, Reason::Login, stored.as_ref(), resolver)
            .await?;
        if replaced {
            self.store.put(provider, None).await?;
            self.memo.changed(provider);
        }
        Ok(credential)
    }

    /// Deletes the helper cache entry of `provider` once its lifetime is
    /// over: an expired key is not kept on disk.
    async fn drop_stale_cache(&self, provider: &str) -> Result<(), Error> {
        if self
            .cache
            .get(provider)
            .is_some_and(|entry| !entry.fresh(now_ms()))
        {
            let (cache, name) = (self.cache.clone(), provider.to_owned());
            blocking(move || cache.remove(&name)).await?;
        }
        Ok(())
    }
}

/// A refreshed login, completed from the one it replaces: an answer
/// without a refresh token keeps the old one (RFC 6749 section 6: the
/// server may keep the refresh token unchanged), and one without extra
/// facts keeps the old facts. `None` when the answer is not OAuth tokens:
/// a refresh never turns a login into another kind of credential (an API
/// key that never expires, its refresh token dropped).
fn keep_what_was_not_renewed(old: Credential, new: Credential) -> Option<Credential> {
    let Credential::OAuth {
        access,
        refresh,
        expires,
        extra,
    } = new
    else {
        return None;
    };
    let old_extra = old.extra().clone();
    let old_refresh = match old {
        Credential::OAuth { refresh, .. } => refresh,
        Credential::Api { .. } => None,
    };
    Some(Credential::OAuth {
        access,
        refresh: refresh.or(old_refresh),
        expires,
        extra: if extra.is_empty() { old_extra } else { extra },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
        let old: Credential = serde_json::from_value(serde_json::json!({
            "type": "oauth", "access": "a-1", "refresh": "r-1", "expires": 1, "accountId": "x"
        }))
        .unwrap();
        let new: Credential = serde_json::from_value(
            serde_json::json!({"type": "oauth", "access": "a-2", "expires": 9}),
        )
        .unwrap();
        let kept = keep_what_was_not_renewed(old.clone(), new).unwrap();
        let Credential::OAuth {
            access, refresh, ..
        } = &kept
        else {
            panic!()
        };
        assert_eq!(access.expose_secret(), "a-2");
        assert_eq!(refresh.as_ref().unwrap().expose_secret(), "r-1");
        assert_eq!(kept.extra().pairs().next(), Some(("accountId", "x")));
        let rotated: Credential = serde_json::from_value(
            serde_json::json!({"type": "oauth", "access": "a-3", "refresh": "r-3"}),
        )
        .unwrap();
        let Some(Credential::OAuth { refresh, .. }) =
            keep_what_was_not_renewed(old.clone(), rotated)
        else {
            panic!()
        };
        assert_eq!(refresh.unwrap().expose_secret(), "r-3");
        // An API key is no renewed login.
        assert!(keep_what_was_not_renewed(old, Credential::api_key("sk-1")).is_none());
    }
}
