//! [`Host::git_credential`]: the provider behind a git host, for `authhost
//! git-credential`.

use secrecy::ExposeSecret;

use super::{Host, TokenOptions};
use crate::Error;
use crate::credential::Credential;
use crate::credentials::Stored;
use crate::git::{Answer, DEFAULT_USERNAME, Operation, Request};

impl Host {
    /// The provider whose `git_hosts` matches `request` best (the longest
    /// path prefix; the first provider by name among equals), if any.
    pub fn git_provider(&self, request: &Request) -> Option<&str> {
        let mut best: Option<(usize, &str)> = None;
        for (name, provider) in &self.config.providers {
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
    /// has `git_store = true`: then `store` keeps a new password as the
    /// provider's API key (only over an API key or nothing), and `erase`
    /// removes the stored API key when it is the rejected password. They
    /// return `None`.
    pub async fn git_credential(
        &self,
        operation: Operation,
        request: &Request,
    ) -> Result<Option<Answer>, Error> {
        let Some(provider) = self.git_provider(request) else {
            return Ok(None);
        };
        let settings = &self.config.providers[provider].git;
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
                let Some(password) = &request.password else {
                    return Ok(None);
                };
                match self.credentials.stored_entry(provider)? {
                    Some(Stored {
                        credential: Credential::Api { key, .. },
                        resolve: false,
                    }) if key.expose_secret() == password.expose_secret() => {}
                    None
                    | Some(Stored {
                        credential: Credential::Api { .. },
                        resolve: false,
                    }) => {
                        self.credentials
                            .store_key(provider, password.clone())
                            .await?;
                        tracing::debug!(provider, "stored the password git used");
                    }
                    Some(_) => {
                        tracing::debug!(provider, "not replacing a login with a git password");
                    }
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
                }) = self.credentials.stored_entry(provider)?
                    && key.expose_secret() == password.expose_secret()
                {
                    self.credentials.remove(provider).await?;
                    tracing::debug!(provider, "removed the key git reported rejected");
                }
                Ok(None)
            }
        }
    }
}
