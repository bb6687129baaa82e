//! Typed errors of the library. Messages never contain a secret: no key,
//! token, helper command or helper output.

use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in authhost.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No provider of that name is configured and no plugin has that id.
    #[error("unknown provider `{0}` (see `authhost list`)")]
    UnknownProvider(String),

    /// The provider is configured to use a plugin that is not installed.
    #[error(
        "provider `{provider}` uses plugin `{plugin}`, which is not installed (see `authhost plugins list`)"
    )]
    UnknownPlugin {
        /// The provider.
        provider: String,
        /// The missing plugin.
        plugin: String,
    },

    /// Nothing is stored for the provider and it cannot produce a credential.
    #[error("no credential for `{0}`; run `authhost login {0}`")]
    NoCredential(String),

    /// The stored OAuth access token has expired.
    #[error("the stored token for `{0}` has expired; run `authhost login {0}`")]
    Expired(String),

    /// The login method does not exist.
    #[error("provider `{provider}` has no login method `{method}` (available: {available})")]
    UnknownMethod {
        /// The provider.
        provider: String,
        /// The method asked for.
        method: String,
        /// The methods it has, comma-separated.
        available: String,
    },

    /// `config.toml` is invalid.
    #[error("invalid configuration in {}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column when known.
        message: String,
    },

    /// A store file cannot be parsed; it is left untouched.
    #[error("credential store {} is corrupt ({message}); fix or move it away, authhost will not overwrite it", path.display())]
    CorruptStore {
        /// The file.
        path: PathBuf,
        /// What is wrong (position only, never content).
        message: String,
    },

    /// A file operation failed.
    #[error("{what} {}", path.display())]
    Io {
        /// What was being done, e.g. "cannot read".
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A plugin could not be loaded or run.
    #[error("plugin `{plugin}`: {failure}")]
    Plugin {
        /// The plugin id (or file name for a plugin that did not load).
        plugin: String,
        /// What happened.
        failure: PluginFailure,
    },

    /// The provider reported an error.
    #[error("{provider}: {error}")]
    Provider {
        /// The provider.
        provider: String,
        /// The provider's error.
        error: ProviderError,
    },

    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,

    /// The same failure, shared with concurrent callers of one resolution.
    #[error(transparent)]
    Shared(Arc<Error>),
}

impl Error {
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn plugin(plugin: impl Into<String>, failure: PluginFailure) -> Error {
        Error::Plugin {
            plugin: plugin.into(),
            failure,
        }
    }
}

/// How a plugin failed at the host level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginFailure {
    /// The file is not a usable component.
    #[error("cannot load: {0}")]
    Load(String),
    /// The component targets a WIT version this host does not support.
    #[error(
        "built for authhost:provider@{found}, but this host supports authhost:provider@{supported}"
    )]
    Incompatible {
        /// The version the component was built against.
        found: String,
        /// The version the host implements.
        supported: String,
    },
    /// The guest trapped (a panic, an unreachable, a bad memory access).
    #[error("crashed: {0}")]
    Trap(String),
    /// The guest ran longer than its CPU budget (e.g. an endless loop).
    #[error("stopped after using more than {ms} ms of CPU time (limit `cpu_ms`)")]
    CpuLimit {
        /// The budget in milliseconds.
        ms: u64,
    },
    /// The guest tried to grow its memory past the cap.
    #[error("stopped for trying to use more than {mib} MiB of memory (limit `memory_mib`)")]
    MemoryLimit {
        /// The cap in MiB.
        mib: u64,
    },
    /// The guest made the host hold more resources at once (HTTP fields and
    /// bodies, streams, sockets, listeners) than its memory limit pays for.
    #[error(
        "stopped for holding more than {max} host resources at once (HTTP fields and bodies, streams, sockets; limit `memory_mib` = {mib} MiB)"
    )]
    HostResources {
        /// The most handles the call may hold.
        max: usize,
        /// The `memory_mib` the cap follows.
        mib: u64,
    },
    /// The guest put more into one set of HTTP header fields than the host
    /// holds.
    #[error(
        "stopped for putting more than {kib} KiB in one set of HTTP header fields (host limit)"
    )]
    HttpFields {
        /// The limit in KiB.
        kib: usize,
    },
    /// The guest used `wasi:http` in `describe`, which runs with nothing
    /// granted.
    #[error("stopped for using wasi:http in `describe`, which may use no capability")]
    HttpInDescribe,
    /// The call did not finish within its wall-clock timeout.
    #[error("did not answer within {ms} ms (limit `{limit}`)")]
    Timeout {
        /// The timeout in milliseconds.
        ms: u64,
        /// The name of the configuration key that sets it.
        limit: &'static str,
    },
    /// The plugin returned something the host cannot use.
    #[error("returned an invalid answer: {0}")]
    Invalid(String),
}

/// An error a provider plugin returned (the WIT `error` variant).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The user or the service refused.
    #[error("denied: {0}")]
    Denied(String),
    /// Something did not answer in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A connection or remote service failed.
    #[error("network error: {0}")]
    Network(String),
    /// An unusable answer from a service or program.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// The plugin used a capability it was not granted.
    #[error("capability denied: `{0}` was not granted (see `authhost plugins list`)")]
    CapabilityDenied(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}
