//! [`Host::login`] and [`Host::logout`]: storing and removing a credential,
//! with the plugin's flow, a pasted key, and revocation at the service.

use secrecy::{ExposeSecret, SecretString};

use super::{Host, LoginOptions, LoginOutcome, LogoutOutcome, Saved};
use crate::error::{Error, ProviderError};
use crate::plugins::{
    API_KEY_METHOD, MethodKind, Plugin, credential_from_wit, credential_to_wit, provider_error,
};
use crate::runner;
use crate::store::credential::{Credential, CredentialKind};
use crate::store::{PluginRef, Stored};

impl Host {
    /// Logs in to `provider` and stores (or, for helpers, caches) the
    /// credential. Nothing is stored when the login fails.
    pub async fn login(
        &self,
        provider: &str,
        options: LoginOptions,
    ) -> Result<LoginOutcome, Error> {
        let resolved = self.runner.provider(provider);
        let plugin = self.runner.plugin_for(&resolved).await?;
        let methods = &plugin.metadata.methods;
        let method = match &options.method {
            None => methods
                .first()
                .expect("every plugin has the api-key method"),
            Some(id) => {
                methods
                    .iter()
                    .find(|m| &m.id == id)
                    .ok_or_else(|| Error::UnknownMethod {
                        provider: provider.to_owned(),
                        method: crate::sanitize::plugin_text(id, 64),
                        available: methods
                            .iter()
                            .map(|m| m.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?
            }
        };
        if method.id == API_KEY_METHOD && !plugin.metadata.implements(API_KEY_METHOD) {
            return self
                .login_with_pasted_key(provider, &plugin.reference(), options.force)
                .await;
        }
        self.offer_grants(&plugin, provider).await?;
        if method.kind == MethodKind::Helper {
            self.credentials
                .resolve_at_login(provider, &self.runner)
                .await?;
            return Ok(LoginOutcome {
                kind: CredentialKind::Api,
                saved: Saved::Cached(self.credentials.cached_until(provider)),
                replaced: false,
                warnings: Vec::new(),
            });
        }
        let mut plugin_options = Vec::new();
        if options.no_browser {
            plugin_options.push(("no-browser".to_owned(), "true".to_owned()));
        }
        let id = &plugin.metadata.id;
        let run = async {
            let mut instance = self.runner.instance(&plugin, &resolved).await?;
            let credential = instance
                .login(&method.id, &plugin_options)
                .await
                .map_err(|f| Error::plugin_call(provider, id, f))?
                .map_err(|e| provider_error(provider, e, &instance.denied()))?;
            credential_from_wit(id, credential)
        };
        let credential = self.runner.observed(provider, "login", run).await?;
        let kind = credential.kind();
        let replaced = self.credentials.stored().await?.contains_key(provider);
        // A plugin that resolves derives its tokens from what its login
        // returned (WIT 0.2.0 on): that is kept, not printed by `token`.
        let resolve = plugin.metadata.resolves && plugin.metadata.resolves_from_stored;
        self.credentials
            .store(
                provider,
                Stored {
                    resolve,
                    ..Stored::plain(credential, &plugin.reference())
                },
            )
            .await?;
        Ok(LoginOutcome {
            kind,
            saved: Saved::Stored,
            replaced,
            warnings: Vec::new(),
        })
    }

    /// Before a folder plugin logs in: when it lacks capabilities it
    /// requests for `provider` (with `http:{OPTION}` filled in from this
    /// provider's options), asks the user at a terminal whether to grant
    /// exactly those; a yes records them in `config.toml` (bound to the
    /// plugin's file) and puts them in force for this run. Without a
    /// terminal nothing is asked: a call that needs them is denied, naming
    /// the grant.
    async fn offer_grants(&self, plugin: &Plugin, provider: &str) -> Result<(), Error> {
        let resolved = self.runner.provider(provider);
        let config = self.runner.config_now();
        let decision = runner::decide(plugin, &resolved, &config);
        if decision.missing.is_empty() || !decision.invalid.is_empty() {
            return Ok(());
        }
        let id = &plugin.metadata.id;
        let question = crate::capability::grant_question(id, Some(provider), &decision.missing);
        if self.interaction.confirm(&question).await != Some(true) {
            return Ok(());
        }
        // A host without files keeps the grants for its own lifetime.
        if let Some(paths) = &self.paths {
            crate::config::add_grants(
                &paths.config_file,
                id,
                &decision.missing,
                Some(&plugin.digest),
            )?;
        }
        let mut granted = self
            .runner
            .granted_now
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let entry = granted.entry(id.clone()).or_insert_with(|| {
            let mut settings = config.plugins.get(id).cloned().unwrap_or_default();
            if settings.sha256.as_deref() != Some(plugin.digest.as_str()) {
                // The old grants were for another build: `add_grants`
                // rebinds the table to this one.
                settings.sha256 = Some(plugin.digest.clone());
            }
            settings
        });
        entry.grant.extend(decision.missing);
        Ok(())
    }

    /// Reads a key the user pastes (or pipes), checks it, and stores it,
    /// recorded as made by `plugin` (the provider's). A stored credential
    /// is replaced only with `force`, or when the user confirms at a
    /// terminal, or when nobody can be asked (a script).
    async fn login_with_pasted_key(
        &self,
        provider: &str,
        plugin: &PluginRef,
        force: bool,
    ) -> Result<LoginOutcome, Error> {
        let entry = crate::catalog::get(provider);
        let label = match entry {
            Some(entry) => format!("API key for {}: ", entry.name),
            None => format!("API key for {provider}: "),
        };
        let replaced = match self.stored_or_broken(provider).await? {
            Some(stored) if !force => {
                let what = match &stored {
                    Ok(stored) => format!("stored {}", stored.credential.kind()),
                    Err(_) => "stored entry that is not readable".to_owned(),
                };
                let question = format!("{provider} already has a {what}. Replace it?");
                if self.interaction.confirm(&question).await == Some(false) {
                    return Err(Error::Declined(format!(
                        "kept the {what} of {provider}: nothing was changed \
                         (`--force` replaces it without asking)"
                    )));
                }
                true
            }
            Some(_) => true,
            None => false,
        };
        let Some(key) = self.interaction.prompt(&label, true).await else {
            return Err(Error::NoKeyGiven(provider.to_owned()));
        };
        let key = check_pasted_key(provider, key)?;
        let warnings = entry
            .and_then(|e| e.prefix_warning(key.expose_secret()))
            .into_iter()
            .collect();
        self.credentials.store_key(provider, key, plugin).await?;
        Ok(LoginOutcome {
            kind: CredentialKind::Api,
            saved: Saved::Stored,
            replaced,
            warnings,
        })
    }

    /// Stores `key` as `provider`'s API key, as `authhost login PROVIDER
    /// --method api-key` does with a pasted key, without asking anything:
    /// the key is trimmed and refused when it is empty
    /// ([`Error::NoKeyGiven`]) or has a space or a control character
    /// inside; it is recorded as made by the provider's plugin, and it
    /// replaces a stored credential (and a cached helper credential) at
    /// once. A key that does not look like the provider's (another prefix)
    /// is stored all the same, with a warning in the log.
    ///
    /// A provider whose plugin defines its own `api-key` login gets its
    /// keys through that ([`Host::login`]): this refuses them, storing
    /// nothing.
    ///
    /// ```
    /// # fn main() -> Result<(), authhost::Error> {
    /// use authhost::{Host, HostOptions, TokenOptions};
    /// use secrecy::{ExposeSecret, SecretString};
    ///
    /// # let home = tempfile::tempdir().unwrap();
    /// # let runtime = tokio::runtime::Runtime::new().unwrap();
    /// # runtime.block_on(async {
    /// let host = Host::open(HostOptions::with_home(home.path()))?;
    /// host.store_key("groq", SecretString::from("gsk_example")).await?;
    /// let token = host.token("groq", TokenOptions::default()).await?;
    /// assert_eq!(token.expose_secret(), "gsk_example");
    ///
    /// // Removed from the store, not revoked at the service.
    /// assert!(host.remove_credential("groq").await?);
    /// let error = host.token("groq", TokenOptions::default()).await.unwrap_err();
    /// assert_eq!(error.code(), "no-credential");
    /// assert!(!host.remove_credential("groq").await?);
    /// # Ok::<(), authhost::Error>(())
    /// # })
    /// # }
    /// ```
    pub async fn store_key(&self, provider: &str, key: SecretString) -> Result<(), Error> {
        let resolved = self.runner.provider(provider);
        let plugin = self.runner.plugin_for(&resolved).await?;
        if plugin.metadata.implements(API_KEY_METHOD) {
            return Err(Error::Provider {
                provider: provider.to_owned(),
                error: ProviderError::Other(format!(
                    "plugin `{}` defines its own `{API_KEY_METHOD}` login, which a key stored \
                     directly would bypass; nothing was stored",
                    plugin.metadata.id
                )),
            });
        }
        let key = SecretString::from(key.expose_secret().trim().to_owned());
        if key.expose_secret().is_empty() {
            return Err(Error::NoKeyGiven(provider.to_owned()));
        }
        let key = check_key(provider, key, "the key")?;
        if let Some(warning) =
            crate::catalog::get(provider).and_then(|e| e.prefix_warning(key.expose_secret()))
        {
            tracing::warn!("{provider}: {warning}");
        }
        self.credentials
            .store_key(provider, key, &plugin.reference())
            .await
    }

    /// Removes the credential stored for `provider` and any cached helper
    /// credential, as `authhost logout` does, but without revoking it at
    /// the service and without loading the provider's plugin; false when
    /// nothing was stored or cached. The next [`Host::token`] call of this
    /// host sees the removal at once.
    pub async fn remove_credential(&self, provider: &str) -> Result<bool, Error> {
        self.credentials.remove(provider).await
    }

    /// The stored entry of `provider`: `Some(Err)` when there is one but it
    /// cannot be read (a field missing), which a new login or a logout
    /// replaces; an unreadable store is an error.
    async fn stored_or_broken(
        &self,
        provider: &str,
    ) -> Result<Option<Result<Stored, Error>>, Error> {
        match self.credentials.stored_entry(provider).await {
            Ok(stored) => Ok(stored.map(Ok)),
            Err(error @ Error::CorruptEntry { .. }) => Ok(Some(Err(error))),
            Err(error) => Err(error),
        }
    }

    /// Logs out of `provider`: revokes the stored credential at the service
    /// when its plugin can (`revoke`), then removes the stored and cached
    /// credentials. They are removed even when revoking fails; the outcome
    /// says so. A credential another plugin made is not handed to the
    /// provider's plugin to revoke: it is only removed, and the outcome
    /// says why it was not revoked.
    pub async fn logout(&self, provider: &str) -> Result<LogoutOutcome, Error> {
        let resolved = self.runner.provider(provider);
        let mut outcome = LogoutOutcome::default();
        let stored = match self.stored_or_broken(provider).await? {
            Some(Err(error)) => {
                // Nothing to revoke with: just this entry goes.
                outcome.revoke_skipped = Some(format!("{error}"));
                outcome.removed = self.credentials.remove(provider).await?;
                return Ok(outcome);
            }
            Some(Ok(stored)) => Some(stored),
            None => None,
        };
        let plugin = match self.runner.plugin_for(&resolved).await {
            Ok(plugin) => Some(plugin),
            // A credential stored for a provider whose plugin is gone can
            // still be removed.
            Err(
                Error::UnknownProvider { .. }
                | Error::UnknownPlugin { .. }
                | Error::NotAProvider { .. },
            ) if stored.is_some() => None,
            Err(error) => return Err(error),
        };
        let made_by_another = match (&plugin, &stored) {
            (Some(plugin), Some(stored)) => stored.made_by_another(&plugin.reference()),
            _ => None,
        };
        if let Some(why) = made_by_another {
            outcome.revoke_skipped = Some(format!(
                "the credential was made by {why}; authhost hands no plugin another plugin's credential"
            ));
        } else if let (Some(plugin), Some(stored)) = (&plugin, &stored)
            && plugin.metadata.revokes
        {
            match self
                .revoke_at_service(plugin, provider, &stored.credential)
                .await
            {
                Ok(()) => outcome.revoked = true,
                Err(error) => outcome.revoke_error = Some(error.to_string()),
            }
        }
        outcome.removed = self.credentials.remove(provider).await?;
        Ok(outcome)
    }

    async fn revoke_at_service(
        &self,
        plugin: &Plugin,
        provider: &str,
        credential: &Credential,
    ) -> Result<(), Error> {
        let resolved = self.runner.provider(provider);
        let id = &plugin.metadata.id;
        let run = async {
            let mut instance = self.runner.instance(plugin, &resolved).await?;
            instance
                .revoke(&credential_to_wit(credential))
                .await
                .map_err(|f| Error::plugin_call(provider, id, f))?
                .map_err(|e| provider_error(provider, e, &instance.denied()))
        };
        self.runner.observed(provider, "revoke", run).await
    }
}

/// A pasted key, trimmed; refused with a reason (never the key itself)
/// when it is empty or has spaces or control characters inside.
fn check_pasted_key(provider: &str, key: String) -> Result<SecretString, Error> {
    let key = SecretString::from(key.trim().to_owned());
    if key.expose_secret().is_empty() {
        return Err(Error::NoKeyGiven(provider.to_owned()));
    }
    check_key(provider, key, "the pasted key")
}

/// `key`, to be stored as `provider`'s API key, as it is (not trimmed);
/// refused with a reason (never the key itself) when it is empty or has a
/// space or a control character anywhere. `what` names where it came
/// from in the message: "the pasted key".
pub(super) fn check_key(
    provider: &str,
    key: SecretString,
    what: &str,
) -> Result<SecretString, Error> {
    let refuse = |why: &str| Error::Provider {
        provider: provider.to_owned(),
        error: ProviderError::Other(format!("{what} {why}; nothing was stored")),
    };
    let text = key.expose_secret();
    if text.is_empty() {
        return Err(refuse("is empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(refuse(
            "contains a control character (a terminal escape or a tab?)",
        ));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(refuse("contains a space or a line break"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use crate::token::Resolver;
    use crate::{Host, HostOptions, TokenOptions};

    /// `store_key` checks a key as `login --method api-key` checks a pasted
    /// one, records the provider's plugin, and stores nothing it refuses.
    #[tokio::test]
    async fn a_key_stored_in_code_is_checked_like_a_pasted_one() {
        let home = tempfile::tempdir().unwrap();
        let host = Host::open(HostOptions::with_home(home.path())).unwrap();
        let key = |text: &str| SecretString::from(text.to_owned());
        host.store_key("groq", key(" gsk_first\n")).await.unwrap();
        let token = host.token("groq", TokenOptions::default()).await.unwrap();
        assert_eq!(token.expose_secret(), "gsk_first");
        let stored = host
            .credentials
            .stored_entry("groq")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.plugin.as_deref(),
            Some(host.runner.plugin_id("groq"))
        );

        for (bad, code) in [
            ("gsk second", "provider-error"),
            ("gsk_\u{1b}[2J", "provider-error"),
            ("  ", "no-key-given"),
        ] {
            let error = host.store_key("groq", key(bad)).await.unwrap_err();
            assert_eq!(error.code(), code, "{error}");
            assert!(!error.to_string().contains("gsk"), "{error}");
            let token = host.token("groq", TokenOptions::default()).await.unwrap();
            assert_eq!(token.expose_secret(), "gsk_first");
        }

        host.store_key("groq", key("gsk_second")).await.unwrap();
        let token = host.token("groq", TokenOptions::default()).await.unwrap();
        assert_eq!(token.expose_secret(), "gsk_second");

        let error = host.store_key("nosuch", key("k")).await.unwrap_err();
        assert_eq!(error.code(), "unknown-provider");

        assert!(host.remove_credential("groq").await.unwrap());
        assert!(!host.remove_credential("groq").await.unwrap());
        let error = host
            .token("groq", TokenOptions::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "no-credential");
    }
}
