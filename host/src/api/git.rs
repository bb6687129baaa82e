//! [`Host::git_credential`]: the provider behind a git host, for `authhost
//! git-credential`.

use secrecy::{ExposeSecret, SecretString};

use super::{Host, TokenOptions};
use crate::error::{Error, ProviderError};
use crate::git::{Answer, DEFAULT_USERNAME, Operation, Request};
use crate::store::Stored;
use crate::store::credential::Credential;

impl Host {
    /// The provider whose `git_hosts` matches `request` best (the longest
    /// path prefix; the first provider by name among equals), if any.
    pub fn git_provider(&self, request: &Request) -> Option<&str> {
        let mut best: Option<(usize, &str)> = None;
        for (name, provider) in &self.runner.config.providers {
            let rank = provider
                .git
                .hosts
                .iter()
                .filter_map(|h| h.rank(request))
                .max();
            if let Some(rank) = rank
                && best.is_none_or(|(b, _)| rank > b)
            {
                best = Some((rank, name));
            }
        }
        best.map(|(_, name)| name)
    }

    /// Answers git's credential helper protocol. `get`: the key of the
    /// provider serving the host, with its user name (`git_username`, else
    /// the URL's, else [`DEFAULT_USERNAME`]); `None` when no provider
    /// serves it. `store` and `erase` change nothing unless the provider
    /// has `git_store = true`: then `store` keeps the password as the
    /// provider's API key (never over a login; over a different API key
    /// only when the user agrees at a terminal, else an error), and
    /// `erase` removes the stored API key when it is the rejected
    /// password. They return `None`.
    pub async fn git_credential(
        &self,
        operation: Operation,
        request: &Request,
    ) -> Result<Option<Answer>, Error> {
        let Some(provider) = self.git_provider(request) else {
            return Ok(None);
        };
        let settings = &self.runner.config.providers[provider].git;
        match operation {
            Operation::Get => {
                let token = self.token(provider, TokenOptions::default()).await?;
                let username = settings
                    .username
                    .clone()
                    .or_else(|| request.username.clone())
                    .unwrap_or_else(|| DEFAULT_USERNAME.to_owned());
                Ok(Some(Answer {
                    username,
                    password: secrecy::SecretString::from(token.expose_secret().to_owned()),
                    expiry_utc: token.expires().map(|ms| ms / 1000),
                }))
            }
            Operation::Store | Operation::Erase if !settings.store => Ok(None),
            Operation::Store => {
                if let Some(password) = &request.password {
                    self.git_store(provider, request, password.clone()).await?;
                }
                Ok(None)
            }
            Operation::Erase => {
                let Some(password) = &request.password else {
                    return Ok(None);
                };
                if let Some(Stored {
                    credential: Credential::Api { key, .. },
                    resolve: false,
                    ..
                }) = self.credentials.stored_entry(provider).await?
                    && key.expose_secret() == password.expose_secret()
                {
                    self.credentials.remove(provider).await?;
                    tracing::debug!(provider, "removed the key git reported rejected");
                }
                Ok(None)
            }
        }
    }

    /// git's `store` with `git_store = true`: `password` worked for the
    /// host in `request`. It becomes `provider`'s API key when nothing is
    /// stored; it is a no-op when it is the stored key; a different stored
    /// API key is replaced only when the user says yes at a terminal, since
    /// git reports a password from a remote or submodule URL
    /// (`https://user:TOKEN@host/…`) too, which may be someone else's.
    /// Nobody to ask: refused, the stored key kept, and the error says how
    /// to replace it. A login or a helper's key is never replaced. The
    /// password is checked as a pasted key is (no control characters or
    /// spaces), but not trimmed: what is stored is what git used.
    async fn git_store(
        &self,
        provider: &str,
        request: &Request,
        password: SecretString,
    ) -> Result<(), Error> {
        let resolved = self.runner.provider(provider);
        let password = super::login::check_key(provider, password, "the password git reported")?;
        match self.credentials.stored_entry(provider).await? {
            None => {}
            Some(Stored {
                credential: Credential::Api { key, .. },
                resolve: false,
                ..
            }) => {
                if key.expose_secret() == password.expose_secret() {
                    return Ok(());
                }
                let host = crate::sanitize::short(request.host.as_deref().unwrap_or("?"));
                let question = format!(
                    "git used a password for {host} that is not the API key stored for \
                     {provider}. Replace the stored key with it?"
                );
                match self.interaction.confirm(&question).await {
                    Some(true) => {}
                    Some(false) => {
                        self.interaction
                            .message(&format!("Kept the stored key of {provider}"));
                        return Ok(());
                    }
                    None => {
                        return Err(Error::Provider {
                            provider: provider.to_owned(),
                            error: ProviderError::Other(format!(
                                "git used a password for {host} that is not the stored API key; \
                                 the stored key was kept (to replace it: \
                                 `authhost login {provider} --force`)"
                            )),
                        });
                    }
                }
            }
            Some(_) => {
                tracing::debug!(provider, "not replacing a login with a git password");
                return Ok(());
            }
        }
        let plugin = self.runner.plugin_for(&resolved).await?.reference();
        self.credentials
            .store_key(provider, password, &plugin)
            .await?;
        tracing::debug!(provider, "stored the password git used");
        Ok(())
    }
}
