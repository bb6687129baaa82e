//! [`Error::code`]: a stable, machine-readable name for each kind of
//! failure, for programs that act on errors (retry, ask for a login,
//! alert) without parsing messages.

use super::{Error, PluginFailure, ProviderError};

impl Error {
    /// A stable, machine-readable code for this kind of failure, in
    /// kebab-case. Codes never change once released; a new kind of failure
    /// gets a new code. The table in [`Error`]'s documentation lists them
    /// with the exit code of the `authhost` command line.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownProvider { .. } => "unknown-provider",
            Error::NotAProvider { .. } => "not-a-provider",
            Error::UnknownPlugin { .. } => "unknown-plugin",
            Error::NoCredential(_) => "no-credential",
            Error::Expired(_) => "login-expired",
            Error::LoginRevoked { .. } => "login-revoked",
            Error::MadeByAnotherPlugin { .. } => "made-by-another-plugin",
            Error::UnknownMethod { .. } => "unknown-method",
            Error::Config { .. } => "config-invalid",
            Error::UntrustedConfig { .. } => "config-untrusted",
            Error::CorruptStore { .. } => "store-corrupt",
            Error::CorruptEntry { .. } => "store-entry-corrupt",
            Error::Untrusted { .. } => "file-untrusted",
            Error::LockTimeout { .. } => "lock-timeout",
            Error::RenewalFailed { .. } => "renewal-failed",
            Error::Io { .. } => "io",
            Error::Plugin { failure, .. } => failure.code(),
            Error::Provider { error, .. } => error.code(),
            Error::PluginRefused { .. } => "plugin-refused",
            Error::Cancelled => "cancelled",
            Error::Declined(_) => "declined",
            Error::GitRequest(_) => "git-request",
            Error::Keyring { .. } => "keyring",
            Error::NoKeyGiven(_) => "no-key-given",
            Error::NoFiles { .. } => "no-files",
            Error::StoreUnavailable { .. } => "store-unavailable",
            Error::StoreKey { .. } => "store-key",
        }
    }
}

impl PluginFailure {
    /// The code of [`Error::Plugin`] with this failure (see
    /// [`Error::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            PluginFailure::Load(_) => "plugin-load",
            PluginFailure::Incompatible { .. } => "plugin-incompatible",
            PluginFailure::Trap(_) => "plugin-crashed",
            PluginFailure::CpuLimit { .. } => "plugin-cpu-limit",
            PluginFailure::MemoryLimit { .. } => "plugin-memory-limit",
            PluginFailure::HostResources { .. } => "plugin-host-resources",
            PluginFailure::HttpFields { .. } => "plugin-http-fields",
            PluginFailure::HttpInDescribe => "plugin-http-in-describe",
            PluginFailure::Timeout { .. } => "plugin-timeout",
            PluginFailure::Invalid(_) => "plugin-invalid-answer",
        }
    }
}

impl ProviderError {
    /// The code of [`Error::Provider`] with this error (see
    /// [`Error::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::Cancelled => "provider-cancelled",
            ProviderError::Denied(_) => "provider-denied",
            ProviderError::Timeout(_) => "provider-timeout",
            ProviderError::Network(_) => "provider-network",
            ProviderError::InvalidResponse(_) => "provider-invalid-response",
            ProviderError::CapabilityDenied { .. } => "capability-denied",
            ProviderError::ClaimedDenied(_) => "capability-claimed-denied",
            ProviderError::Other(_) => "provider-error",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    /// One error of each kind (each variant, and each plugin failure and
    /// provider error inside theirs).
    fn one_of_each() -> Vec<Error> {
        let s = String::new;
        let path = PathBuf::new;
        let failures = [
            PluginFailure::Load(s()),
            PluginFailure::Incompatible {
                found: s(),
                supported: s(),
            },
            PluginFailure::Trap(s()),
            PluginFailure::CpuLimit { ms: 1 },
            PluginFailure::MemoryLimit { mib: 1 },
            PluginFailure::HostResources { max: 1, mib: 1 },
            PluginFailure::HttpFields { kib: 1 },
            PluginFailure::HttpInDescribe,
            PluginFailure::Timeout { ms: 1, limit: "" },
            PluginFailure::Invalid(s()),
        ];
        let provider_errors = [
            ProviderError::Cancelled,
            ProviderError::Denied(s()),
            ProviderError::Timeout(s()),
            ProviderError::Network(s()),
            ProviderError::InvalidResponse(s()),
            ProviderError::CapabilityDenied {
                capabilities: s(),
                grant: s(),
            },
            ProviderError::ClaimedDenied(s()),
            ProviderError::Other(s()),
        ];
        let mut errors = vec![
            Error::UnknownProvider {
                provider: s(),
                suggestion: None,
            },
            Error::UnknownPlugin {
                provider: s(),
                plugin: s(),
            },
            Error::NoCredential(s()),
            Error::Expired(s()),
            Error::LoginRevoked {
                provider: s(),
                reason: s(),
            },
            Error::MadeByAnotherPlugin {
                provider: s(),
                why: s(),
            },
            Error::UnknownMethod {
                provider: s(),
                method: s(),
                available: s(),
            },
            Error::Config {
                path: path(),
                message: s(),
            },
            Error::UntrustedConfig {
                path: path(),
                reason: s(),
                fix: s(),
            },
            Error::CorruptStore {
                path: path(),
                message: s(),
            },
            Error::Untrusted {
                path: path(),
                reason: s(),
                fix: s(),
            },
            Error::LockTimeout {
                path: path(),
                waited_s: 1,
            },
            Error::RenewalFailed {
                provider: s(),
                message: s(),
                needs_login: false,
            },
            Error::io("cannot read", path(), std::io::ErrorKind::Other.into()),
            Error::PluginRefused {
                id: s(),
                reason: s(),
            },
            Error::Cancelled,
            Error::Declined(s()),
            Error::NotAProvider { name: s() },
            Error::CorruptEntry {
                path: path(),
                provider: s(),
                message: s(),
            },
            Error::GitRequest(s()),
            Error::Keyring {
                reason: s(),
                fix: s(),
            },
            Error::NoKeyGiven(s()),
            Error::NoFiles { what: s() },
            Error::StoreUnavailable {
                store: s(),
                reason: s(),
            },
            Error::StoreKey {
                provider: s(),
                key_source: s(),
                reason: s(),
            },
        ];
        errors.extend(failures.into_iter().map(|f| Error::plugin("p", f)));
        errors.extend(provider_errors.into_iter().map(|error| Error::Provider {
            provider: s(),
            error,
        }));
        errors
    }

    #[test]
    fn every_kind_of_error_has_its_own_kebab_case_code() {
        let errors = one_of_each();
        let mut seen = BTreeMap::new();
        for error in &errors {
            let code = error.code();
            assert!(
                !code.is_empty()
                    && code
                        .split('-')
                        .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
                "{code} is not kebab-case"
            );
            if let Some(other) = seen.insert(code, format!("{error:?}")) {
                panic!("{code} is the code of both {other} and {error:?}");
            }
            // A copy handed to a waiting caller keeps the code.
            assert_eq!(error.duplicate().code(), code);
        }
        // 25 variants besides `Plugin` and `Provider`, 10 plugin failures,
        // 8 provider errors.
        assert_eq!(seen.len(), 25 + 10 + 8);
    }

    #[test]
    fn the_documented_table_lists_every_code() {
        let doc = include_str!("../error.rs");
        for error in one_of_each() {
            let cell = format!("| `{}` |", error.code());
            assert!(doc.contains(&cell), "{cell} is not in the table of `Error`");
        }
    }
}
