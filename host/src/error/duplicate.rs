//! [`Error::duplicate`]: one failure handed to every caller that waited
//! on it.

use super::Error;

impl Error {
    /// The same error again, variant and message kept: for handing one
    /// failure to every caller that waited on it. An I/O cause keeps its
    /// kind and message.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::UnknownProvider {
                provider,
                suggestion,
            } => Error::UnknownProvider {
                provider: provider.clone(),
                suggestion: suggestion.clone(),
            },
            Error::UnknownPlugin { provider, plugin } => Error::UnknownPlugin {
                provider: provider.clone(),
                plugin: plugin.clone(),
            },
            Error::NoCredential(p) => Error::NoCredential(p.clone()),
            Error::Expired(p) => Error::Expired(p.clone()),
            Error::LoginRevoked { provider, reason } => Error::LoginRevoked {
                provider: provider.clone(),
                reason: reason.clone(),
            },
            Error::MadeByAnotherPlugin { provider, why } => Error::MadeByAnotherPlugin {
                provider: provider.clone(),
                why: why.clone(),
            },
            Error::UnknownMethod {
                provider,
                method,
                available,
            } => Error::UnknownMethod {
                provider: provider.clone(),
                method: method.clone(),
                available: available.clone(),
            },
            Error::Config { path, message } => Error::Config {
                path: path.clone(),
                message: message.clone(),
            },
            Error::UntrustedConfig { path, reason, fix } => Error::UntrustedConfig {
                path: path.clone(),
                reason: reason.clone(),
                fix: fix.clone(),
            },
            Error::CorruptStore { path, message } => Error::CorruptStore {
                path: path.clone(),
                message: message.clone(),
            },
            Error::Untrusted { path, reason, fix } => Error::Untrusted {
                path: path.clone(),
                reason: reason.clone(),
                fix: fix.clone(),
            },
            Error::LockTimeout { path, waited_s } => Error::LockTimeout {
                path: path.clone(),
                waited_s: *waited_s,
            },
            Error::RenewalFailed {
                provider,
                message,
                needs_login,
            } => Error::RenewalFailed {
                provider: provider.clone(),
                message: message.clone(),
                needs_login: *needs_login,
            },
            Error::Io { what, path, source } => Error::Io {
                what,
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Error::Plugin {
                plugin,
                provider,
                failure,
            } => Error::Plugin {
                plugin: plugin.clone(),
                provider: provider.clone(),
                failure: failure.clone(),
            },
            Error::Provider { provider, error } => Error::Provider {
                provider: provider.clone(),
                error: error.clone(),
            },
            Error::PluginRefused { id, reason } => Error::PluginRefused {
                id: id.clone(),
                reason: reason.clone(),
            },
            Error::Cancelled => Error::Cancelled,
            Error::Declined(m) => Error::Declined(m.clone()),
            Error::NotAProvider { name } => Error::NotAProvider { name: name.clone() },
            Error::CorruptEntry {
                path,
                provider,
                message,
            } => Error::CorruptEntry {
                path: path.clone(),
                provider: provider.clone(),
                message: message.clone(),
            },
            Error::GitRequest(m) => Error::GitRequest(m.clone()),
            Error::Keyring { reason, fix } => Error::Keyring {
                reason: reason.clone(),
                fix: fix.clone(),
            },
            Error::NoKeyGiven(p) => Error::NoKeyGiven(p.clone()),
            Error::NoFiles { what } => Error::NoFiles { what: what.clone() },
            Error::StoreUnavailable { store, reason } => Error::StoreUnavailable {
                store: store.clone(),
                reason: reason.clone(),
            },
            Error::StoreKey {
                provider,
                key_source,
                reason,
            } => Error::StoreKey {
                provider: provider.clone(),
                key_source: key_source.clone(),
                reason: reason.clone(),
            },
        }
    }
}
