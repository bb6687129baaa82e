//! Typed errors of the library. Messages never contain a secret: no key,
//! token, helper command or helper output.

mod code;
mod duplicate;

use std::path::PathBuf;

/// Everything that can go wrong in authhost.
///
/// Concurrent callers that share one resolution each get the same variant,
/// so `matches!(e, Error::NoCredential(_))` holds for all of them.
///
/// The messages say what is wrong; what to do about it (which command to
/// run) is the caller's to add. A program acts on [`Error::code`], a
/// stable machine-readable code, on [`Error::needs_login`] and on
/// [`Error::is_transient`] (worth retrying later), as a gateway maps them
/// to HTTP answers:
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use authhost::{Error, Host, TokenOptions};
///
/// fn http_status(error: &Error) -> u16 {
///     match error {
///         e if e.needs_login() => 401,  // someone must log in first
///         e if e.is_transient() => 503, // retry later, with a backoff
///         Error::UnknownProvider { .. } | Error::NotAProvider { .. } => 404,
///         _ => 500,
///     }
/// }
///
/// let host = Host::builder().build()?;
/// let error = host.token("openai", TokenOptions::default()).await.unwrap_err();
/// assert_eq!((error.code(), http_status(&error)), ("no-credential", 401));
/// let error = host.token("opneai", TokenOptions::default()).await.unwrap_err();
/// assert_eq!((error.code(), http_status(&error)), ("unknown-provider", 404));
/// assert!(error.to_string().contains("did you mean `openai`?"));
/// # Ok::<(), authhost::Error>(())
/// # }).unwrap();
/// ```
///
/// The codes, and the exit code of the `authhost` command line for each:
///
/// | Code | Variant | Exit |
/// |---|---|---|
/// | `unknown-provider` | [`Error::UnknownProvider`] | 2 |
/// | `not-a-provider` | [`Error::NotAProvider`] | 2 |
/// | `unknown-plugin` | [`Error::UnknownPlugin`] | 1 |
/// | `no-credential` | [`Error::NoCredential`] | 4 |
/// | `login-expired` | [`Error::Expired`] | 4 |
/// | `login-revoked` | [`Error::LoginRevoked`] | 4 |
/// | `made-by-another-plugin` | [`Error::MadeByAnotherPlugin`] | 4 |
/// | `unknown-method` | [`Error::UnknownMethod`] | 1 |
/// | `config-invalid` | [`Error::Config`] | 1 |
/// | `config-untrusted` | [`Error::UntrustedConfig`] | 1 |
/// | `store-corrupt` | [`Error::CorruptStore`] | 1 |
/// | `store-entry-corrupt` | [`Error::CorruptEntry`] | 1 |
/// | `file-untrusted` | [`Error::Untrusted`] | 1 |
/// | `lock-timeout` | [`Error::LockTimeout`] | 1 |
/// | `renewal-failed` | [`Error::RenewalFailed`] | 4 when it asks for a login, else 1 |
/// | `io` | [`Error::Io`] | 1 |
/// | `plugin-load` | [`Error::Plugin`], [`PluginFailure::Load`] | 1 |
/// | `plugin-incompatible` | [`Error::Plugin`], [`PluginFailure::Incompatible`] | 1 |
/// | `plugin-crashed` | [`Error::Plugin`], [`PluginFailure::Trap`] | 1 |
/// | `plugin-cpu-limit` | [`Error::Plugin`], [`PluginFailure::CpuLimit`] | 1 |
/// | `plugin-memory-limit` | [`Error::Plugin`], [`PluginFailure::MemoryLimit`] | 1 |
/// | `plugin-host-resources` | [`Error::Plugin`], [`PluginFailure::HostResources`] | 1 |
/// | `plugin-http-fields` | [`Error::Plugin`], [`PluginFailure::HttpFields`] | 1 |
/// | `plugin-http-in-describe` | [`Error::Plugin`], [`PluginFailure::HttpInDescribe`] | 1 |
/// | `plugin-timeout` | [`Error::Plugin`], [`PluginFailure::Timeout`] (transient) | 1 |
/// | `plugin-invalid-answer` | [`Error::Plugin`], [`PluginFailure::Invalid`] | 1 |
/// | `provider-cancelled` | [`Error::Provider`], [`ProviderError::Cancelled`] | 1 |
/// | `provider-denied` | [`Error::Provider`], [`ProviderError::Denied`] | 1 |
/// | `provider-timeout` | [`Error::Provider`], [`ProviderError::Timeout`] (transient) | 1 |
/// | `provider-network` | [`Error::Provider`], [`ProviderError::Network`] (transient) | 1 |
/// | `provider-invalid-response` | [`Error::Provider`], [`ProviderError::InvalidResponse`] | 1 |
/// | `capability-denied` | [`Error::Provider`], [`ProviderError::CapabilityDenied`] | 1 |
/// | `capability-claimed-denied` | [`Error::Provider`], [`ProviderError::ClaimedDenied`] | 1 |
/// | `provider-error` | [`Error::Provider`], [`ProviderError::Other`] | 1 |
/// | `plugin-refused` | [`Error::PluginRefused`] | 1 |
/// | `cancelled` | [`Error::Cancelled`] | 130 |
/// | `declined` | [`Error::Declined`] | 1 |
/// | `git-request` | [`Error::GitRequest`] | 1 |
/// | `keyring` | [`Error::Keyring`] | 1 |
/// | `no-key-given` | [`Error::NoKeyGiven`] | 1 |
/// | `no-files` | [`Error::NoFiles`] | 1 |
/// | `store-unavailable` | [`Error::StoreUnavailable`] | 1 |
/// | `store-key` | [`Error::StoreKey`] | 1 |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No provider of that name is configured, in the catalog, or stored,
    /// and no plugin has that id.
    #[error("unknown provider `{provider}`{}", did_you_mean(suggestion))]
    UnknownProvider {
        /// The name asked for.
        provider: String,
        /// The known name closest to it, if one is close.
        suggestion: Option<String>,
    },

    /// The name is that of a generic plugin (`api-key`, `oauth2`,
    /// `shell-helper`), which is a provider only through a
    /// `[providers.NAME]` table that uses it.
    #[error("`{name}` is a plugin, not a provider")]
    NotAProvider {
        /// The plugin's id, as given.
        name: String,
    },

    /// The provider is configured to use a plugin that is not installed.
    #[error("provider `{provider}` uses plugin `{plugin}`, which is not installed")]
    UnknownPlugin {
        /// The provider.
        provider: String,
        /// The missing plugin.
        plugin: String,
    },

    /// Nothing is stored for the provider and it cannot produce a credential.
    #[error("no credential for `{0}`")]
    NoCredential(String),

    /// The stored OAuth access token has expired and the provider's plugin
    /// cannot renew it.
    #[error("the login for `{0}` has expired")]
    Expired(String),

    /// The service refused to renew the login (the refresh token expired or
    /// was revoked). The stored credential is kept.
    #[error("the login for `{provider}` has expired or was revoked ({reason})")]
    LoginRevoked {
        /// The provider.
        provider: String,
        /// What the service said, sanitised.
        reason: String,
    },

    /// The stored credential was made by another plugin than the one the
    /// provider uses now (its `plugin` changed in `config.toml`, or the
    /// folder plugin's component changed): it is handed to no plugin, and
    /// not printed. The stored credential is kept until a new login
    /// replaces it (or `logout` removes it).
    #[error(
        "the credential stored for `{provider}` was made by {why}; authhost does not hand it to another plugin"
    )]
    MadeByAnotherPlugin {
        /// The provider.
        provider: String,
        /// Which plugin made it and which one the provider uses now,
        /// sanitised.
        why: String,
    },

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

    /// `config.toml`, or the folder that holds it, is owned by another user
    /// or writable by group or others: another user could make authhost
    /// run commands as you. Nothing in it was used.
    #[error(
        "bad owner or permissions on {}: it {reason}, so another user could change authhost's configuration (which names commands to run as you); nothing in it is used. Fix: {fix}",
        path.display()
    )]
    UntrustedConfig {
        /// The file or folder.
        path: PathBuf,
        /// Who owns it or who may write it.
        reason: String,
        /// The commands that make it trustworthy.
        fix: String,
    },

    /// One entry of the credential store cannot be read (a field missing,
    /// of another type); the other entries are read as usual, and a new
    /// login or a logout replaces just this one.
    #[error("the entry `{provider}` in credential store {} is not readable: {message}", path.display())]
    CorruptEntry {
        /// The file.
        path: PathBuf,
        /// The provider whose entry it is.
        provider: String,
        /// What is wrong: field names and types, never a value.
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

    /// A file or folder authhost relies on is not what authhost made or
    /// may be changed by another user (owned by someone else, writable by
    /// group or others, a symbolic link): it is not used.
    #[error("{} {reason}; {fix}", path.display())]
    Untrusted {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong, completing a sentence that starts with its name.
        reason: String,
        /// What to do about it.
        fix: String,
    },

    /// Another process held a lock file longer than authhost waits for it
    /// (for the locks held around plugin calls, `[limits] call_timeout_ms`
    /// plus 5 s).
    #[error(
        "gave up after {waited_s} s waiting for the lock file {}: another process holds it (an authhost process gives it up within `call_timeout_ms` plus 5 s); `fuser -v {}` shows which",
        path.display(),
        path.display()
    )]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long authhost waited, in seconds.
        waited_s: u64,
    },

    /// Another authhost process renewed the provider's credential (ran its
    /// `refresh` or helper) while this one waited for the provider's lock,
    /// and failed; this one reports that failure instead of trying again at
    /// once, so that a crowd of waiters takes one timeout, not one each.
    #[error("{provider}: another authhost process tried just now and failed: {message}")]
    RenewalFailed {
        /// The provider.
        provider: String,
        /// The other process's error, sanitised.
        message: String,
        /// Whether that error asked for a new login.
        needs_login: bool,
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
    #[error("{}plugin `{plugin}`: {failure}", provider_part(provider.as_deref(), plugin))]
    Plugin {
        /// The plugin id (or file name for a plugin that did not load).
        plugin: String,
        /// The provider it was running for, when it ran for one.
        provider: Option<String>,
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

    /// `authhost plugins install` or `plugins remove` refused to act.
    #[error("plugin `{id}`: {reason}")]
    PluginRefused {
        /// The plugin id (sanitised).
        id: String,
        /// Why, and what to do instead.
        reason: String,
    },

    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,

    /// The user answered "no" to a question (replace a stored credential,
    /// remove a plugin): nothing was changed. Not an interruption.
    #[error("{0}")]
    Declined(String),

    /// What git wrote to `authhost git-credential` cannot be understood, or
    /// the answer cannot be written in git's protocol.
    #[error("git credential request: {0}")]
    GitRequest(String),

    /// The OS keyring (`[store] backend = "keyring"`) cannot be used: no
    /// D-Bus session, no Secret Service, a locked keyring.
    #[error("the OS keyring cannot be used: {reason}; {fix}")]
    Keyring {
        /// Why, with the keyring's own message.
        reason: String,
        /// What to do about it.
        fix: String,
    },

    /// `login --method api-key` read no key: stdin was empty or closed.
    #[error("no API key was given for `{0}`")]
    NoKeyGiven(String),
    /// The operation changes a file (`config.toml`, the plugins folder)
    /// of a host built without files ([`crate::HostBuilder`] with no
    /// paths).
    #[error("this host has no files, so it has no {what}")]
    NoFiles {
        /// What the operation needed: `a plugins folder`, `config.toml`.
        what: String,
    },
    /// A shared credential store (`[store] backend = "postgres"`) cannot be
    /// used: the database cannot be reached, refused the login, or holds a
    /// schema this build does not know. Names the store (host, port and
    /// database), never its password.
    #[error("the credential store {store} cannot be used: {reason}")]
    StoreUnavailable {
        /// The store: `postgres://HOST:PORT/DATABASE`.
        store: String,
        /// Why, and what to do.
        reason: String,
    },

    /// The key that encrypts a shared store's secrets is missing or wrong,
    /// or a stored entry was changed by someone without the key: nothing
    /// is read or written for the provider.
    #[error("{provider}: {reason} (store key from {key_source})")]
    StoreKey {
        /// The provider whose entry could not be sealed or opened.
        provider: String,
        /// Where the key came from: `AUTHHOST_STORE_KEY`, a key file.
        key_source: String,
        /// What is wrong, and what to do.
        reason: String,
    },
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
            provider: None,
            failure,
        }
    }

    /// A failure of `plugin` while it ran for `provider` (the name the user
    /// typed).
    pub(crate) fn plugin_call(provider: &str, plugin: &str, failure: PluginFailure) -> Error {
        Error::Plugin {
            plugin: plugin.to_owned(),
            provider: Some(provider.to_owned()),
            failure,
        }
    }

    /// True when the user must log in (again) to get a credential: none is
    /// stored, or the login expired or was revoked. The CLI exits with code
    /// 4 for these.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            Error::NoCredential(_)
                | Error::Expired(_)
                | Error::LoginRevoked { .. }
                | Error::RenewalFailed {
                    needs_login: true,
                    ..
                }
                | Error::MadeByAnotherPlugin { .. }
        )
    }

    /// True when the provider refused the request (`error::denied`).
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::Provider {
                error: ProviderError::Denied(_),
                ..
            }
        )
    }

    /// True for failures that may pass, so that trying again later may
    /// succeed: the provider reported a network error or a timeout, or the
    /// plugin did not answer within its wall-clock timeout. A program that
    /// retries should retry only these (with a backoff); every other error
    /// needs something to change first (a login, the configuration, a
    /// file).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Provider {
                error: ProviderError::Network(_) | ProviderError::Timeout(_),
                ..
            } | Error::Plugin {
                failure: PluginFailure::Timeout { .. },
                ..
            }
        )
    }
}

/// "provider `work`, " before a plugin's name, unless the provider is named
/// like the plugin.
fn provider_part(provider: Option<&str>, plugin: &str) -> String {
    match provider {
        Some(provider) if provider != plugin => format!("provider `{provider}`, "),
        _ => String::new(),
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(name) => format!("; did you mean `{name}`?"),
        None => String::new(),
    }
}

/// `error` and its sources joined with `: `, for one-line messages.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How a plugin failed at the host level. Texts that quote the plugin are
/// sanitised (see the `sanitize` module) before they are put here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginFailure {
    /// The file is not a usable component.
    #[error("cannot load: {0}")]
    Load(String),
    /// The component targets a WIT version this host does not support.
    #[error("built for authhost:provider@{found}, but this host supports {supported}")]
    Incompatible {
        /// The version the component was built against.
        found: String,
        /// The versions the host implements, as package names
        /// (`authhost:provider@0.1.0, authhost:provider@0.2.0`).
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

/// An error a provider plugin returned (the WIT `error` variant). The texts
/// are the plugin's, sanitised and bounded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
    /// The plugin used a capability it was not granted; authhost itself
    /// denied it during the call.
    #[error("capability denied: `{capabilities}` was not granted; to allow it: `{grant}`")]
    CapabilityDenied {
        /// The capabilities denied, as granted (`http:ORIGIN`), joined so
        /// that the message quotes each.
        capabilities: String,
        /// The command that grants them (`authhost plugins grant ID ...`).
        grant: String,
    },
    /// The plugin says a capability was denied, but authhost denied nothing
    /// during the call: the claim is the plugin's alone.
    #[error(
        "the plugin reports that `{0}` was denied, but authhost denied it nothing in this call"
    )]
    ClaimedDenied(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}
