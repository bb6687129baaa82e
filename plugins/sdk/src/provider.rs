//! What a provider implements: [`Provider`] (what it is and how it logs
//! in), and one trait for each optional export of the WIT `provider`
//! interface: [`Resolve`], [`Refresh`], [`Check`], [`Revoke`].
//!
//! The optional exports a type implements are what the plugin advertises:
//! [`export!`](crate::export) finds them and answers `describe` with the
//! matching `features`, so the list can never disagree with the code. The
//! host never calls an optional export its plugin does not list; should
//! another host do so, the export answers `other("this provider does not
//! implement `…`")` ([`Error::unsupported`]).
//!
//! ```no_run
//! use authhost_sdk::prelude::*;
//!
//! struct Acme;
//!
//! impl Provider for Acme {
//!     fn describe() -> Description {
//!         Description::new("acme", "Acme", "Logs in to Acme")
//!             .method("password", "Log in with your Acme account", MethodKind::Oauth)
//!             .capability("prompt")
//!             .capability("http:{base_url=https://api.acme.example}")
//!             .options(["base_url"])
//!     }
//!
//!     fn login(method: String, _flags: Vec<(String, String)>) -> Result<Credential, Error> {
//!         # let _ = method;
//!         // …
//!         # unimplemented!()
//!     }
//! }
//!
//! // `features` is `refresh`: the one optional trait implemented.
//! impl Refresh for Acme {
//!     fn refresh(stored: Credential) -> Result<Credential, Error> {
//!         # let _ = stored;
//!         // …
//!         # unimplemented!()
//!     }
//! }
//!
//! authhost_sdk::export!(Acme);
//! ```

use crate::types::{AccountInfo, AuthMethod, Credential, Error, Features, Metadata, MethodKind};
use crate::types::{Reason, Resolved};

/// What every provider implements: its description and its login.
pub trait Provider {
    /// What the plugin is: static facts, the same for every provider
    /// instance. The host calls it once per component (by SHA-256), with no
    /// configuration and nothing granted, and keeps the answer: so nothing
    /// here may depend on the options (an origin that does is the template
    /// `http:{OPTION}`). The WIT answer's `features` is not written here:
    /// it lists the optional traits the type implements.
    fn describe() -> Description;

    /// Runs login method `method` (one of the description's methods) and
    /// returns the credential the host stores. `flags` are the user's
    /// flags, e.g. `("no-browser", "true")`.
    ///
    /// The default answers ``other("unknown login method `METHOD`")``: what
    /// a provider needs whose logins are only the host's own `api-key`
    /// paste, or methods of kind `helper` (the host runs those through
    /// [`Resolve::resolve`] with `Reason::Login`).
    fn login(method: String, flags: Vec<(String, String)>) -> Result<Credential, Error> {
        let _ = flags;
        Err(Error::Other(format!("unknown login method `{method}`")))
    }
}

/// The optional export `resolve` (`features.resolve`): a credential made at
/// run time, e.g. by a password manager's command, or derived from the
/// stored login; the host caches it until `cache_until`.
pub trait Resolve: Provider {
    /// Produces a credential. `stored` is the credential stored for this
    /// provider, if any. Called when no fresh one is cached (reason
    /// `token`), for a `helper` method at login (`login`) and on `token
    /// --refresh` (`refresh`).
    fn resolve(reason: Reason, stored: Option<Credential>) -> Result<Resolved, Error>;
}

/// The optional export `refresh` (`features.refresh`): expiring OAuth
/// tokens are renewed.
pub trait Refresh: Provider {
    /// Renews stored OAuth tokens, usually with their refresh token
    /// ([`Credential::refresh_token`]). Called for OAuth tokens only, also
    /// when they hold no refresh token: answer `Error::Denied` then, and
    /// when the service refuses the refresh token (`invalid_grant`), so
    /// that the user is told to log in again. An answer without a refresh
    /// token keeps the stored one.
    fn refresh(stored: Credential) -> Result<Credential, Error>;
}

/// The optional export `check` (`features.check`): `authhost status
/// --check` asks the service about a credential.
pub trait Check: Provider {
    /// Whom `credential` belongs to, when it expires, its usage or limits.
    fn check(credential: Credential) -> Result<AccountInfo, Error>;
}

/// The optional export `revoke` (`features.revoke`): `authhost logout`
/// revokes the credential at the service.
pub trait Revoke: Provider {
    /// Revokes `stored` at the service. The host forgets the credential
    /// even when this fails, and says so.
    fn revoke(stored: Credential) -> Result<(), Error>;
}

/// What a plugin is ([`Provider::describe`]): the WIT `metadata` without
/// `features`, which [`export!`](crate::export) fills in from the optional
/// traits the provider implements.
///
/// Write it as a struct, or build it:
/// `Description::new(id, name, sentence).method(…).capability(…).options([…])`.
#[derive(Debug, Clone)]
pub struct Description {
    /// The plugin id: lowercase letters, digits and `-`; the default
    /// provider name.
    pub id: String,
    /// The name shown to users.
    pub display_name: String,
    /// One sentence about what the provider is for.
    pub description: String,
    /// The login methods, preferred first. The host adds its own `api-key`
    /// (paste a key) to every provider that does not list one.
    pub methods: Vec<AuthMethod>,
    /// The capabilities the plugin asks for (`prompt`, `loopback`,
    /// `http:https://api.example.com`, `http:{base_url=https://…}`, …).
    pub capabilities: Vec<String>,
    /// The option names the plugin reads from its `[providers.NAME]`
    /// table; the host refuses any other key there. `None` accepts any.
    pub options: Option<Vec<String>>,
}

impl Description {
    /// A plugin with no login method of its own, asking for nothing, and
    /// reading no option (`options` is `Some([])`: the host refuses every
    /// key in its table; see [`Description::any_options`]).
    pub fn new(
        id: impl Into<String>,
        display_name: impl Into<String>,
        description: impl Into<String>,
    ) -> Description {
        Description {
            id: id.into(),
            display_name: display_name.into(),
            description: description.into(),
            methods: Vec::new(),
            capabilities: Vec::new(),
            options: Some(Vec::new()),
        }
    }

    /// Adds a login method (`authhost login NAME --method ID`).
    pub fn method(mut self, id: &str, label: &str, kind: MethodKind) -> Description {
        self.methods.push(AuthMethod {
            id: id.to_owned(),
            label: label.to_owned(),
            kind,
        });
        self
    }

    /// Asks for one more capability.
    pub fn capability(mut self, capability: impl Into<String>) -> Description {
        self.capabilities.push(capability.into());
        self
    }

    /// Asks for these capabilities too.
    pub fn capabilities<S: Into<String>>(
        mut self,
        capabilities: impl IntoIterator<Item = S>,
    ) -> Description {
        self.capabilities
            .extend(capabilities.into_iter().map(Into::into));
        self
    }

    /// The option names the plugin reads; the host refuses others.
    pub fn options<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Description {
        self.options = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts any key in the provider's table (`options: none`).
    pub fn any_options(mut self) -> Description {
        self.options = None;
        self
    }

    /// The WIT `metadata`: this description with `features`.
    pub fn metadata(self, features: Features) -> Metadata {
        Metadata {
            id: self.id,
            display_name: self.display_name,
            description: self.description,
            methods: self.methods,
            capabilities: self.capabilities,
            features,
            options: self.options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_description_is_the_literal_one() {
        let built = Description::new("acme", "Acme", "Logs in")
            .method("password", "Password", MethodKind::Oauth)
            .capability("prompt")
            .capabilities(["browser", "http:{base_url}"])
            .options(["base_url"])
            .metadata(Features::CHECK);
        assert_eq!(built.id, "acme");
        assert_eq!(built.display_name, "Acme");
        assert_eq!(built.description, "Logs in");
        assert_eq!(built.methods.len(), 1);
        assert_eq!(built.methods[0].id, "password");
        assert_eq!(built.methods[0].label, "Password");
        assert!(matches!(built.methods[0].kind, MethodKind::Oauth));
        assert_eq!(built.capabilities, ["prompt", "browser", "http:{base_url}"]);
        assert_eq!(built.options, Some(vec!["base_url".to_owned()]));
        assert_eq!(built.features, Features::CHECK);

        let bare = Description::new("a", "A", "a").metadata(Features::empty());
        assert!(bare.methods.is_empty() && bare.capabilities.is_empty());
        assert_eq!(bare.options, Some(vec![]), "reads no option unless told");
        let any = Description::new("a", "A", "a").any_options();
        assert_eq!(any.options, None);
    }
}
