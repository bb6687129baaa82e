//! How to open a [`Host`](super::Host) and how to ask it for things.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::Error;
use crate::events::{Event, EventHook};
use crate::interact::{Interaction, Terminal};
use crate::paths::Paths;
use secrecy::SecretString;

use crate::store::{StoreBackend, StoreSettings};

/// How to open a [`Host`](super::Host).
#[derive(Clone)]
#[non_exhaustive]
pub struct HostOptions {
    /// Where the files are.
    pub paths: Paths,
    /// How to talk to the user.
    pub interaction: Arc<dyn Interaction>,
    /// Use wasmtime's pooling allocator: each plugin call gets a fresh
    /// instance faster, but setting the pool up costs a few milliseconds.
    /// Worth it in long-running programs that call plugins often; off by
    /// default (and in the CLI).
    pub instance_pool: bool,
    /// The environment in which `[providers.X] env = "VAR"` variables are
    /// looked up; `None` (the default): the process's own, read at each
    /// [`Host::token`](super::Host::token) call.
    pub environment: Option<BTreeMap<String, String>>,
    /// Show a one-line notice on stderr while a plugin that is not in the
    /// cache yet is compiled (which can take seconds for a large one). Off
    /// by default; the CLI turns it on when stderr is a terminal.
    pub compile_notices: bool,
    /// Where the secrets of new credentials go, over `[store] backend` in
    /// config.toml; `None`: as config.toml says. [`HostOptions::from_env`]
    /// takes it from `AUTHHOST_STORE` (`file` or `keyring`).
    pub store: Option<StoreBackend>,
    /// The whole store, chosen in code, in place of `[store]` of
    /// config.toml (its backend still under [`HostOptions::store`] when
    /// that is set); `None`: as config.toml says.
    pub store_settings: Option<StoreSettings>,
    /// The shared store's URL over `[store] url` (`AUTHHOST_STORE_URL` in
    /// [`HostOptions::from_env`]).
    pub store_url: Option<SecretString>,
    /// The shared store's key (base64 of 32 bytes) over `[store] key_file`
    /// (`AUTHHOST_STORE_KEY` in [`HostOptions::from_env`]).
    pub store_key: Option<SecretString>,
    /// Called with each [`Event`] (a secret served, a plugin run, a
    /// failure), on the calling task: keep it quick (count, record a
    /// latency), and never block in it. `None` (the default): nothing is
    /// built or called.
    pub on_event: Option<EventHook>,
}

/// The environment variable that chooses the store backend.
pub const STORE_ENV: &str = "AUTHHOST_STORE";
/// The environment variable with the shared store's URL.
pub const STORE_URL_ENV: &str = "AUTHHOST_STORE_URL";
/// The environment variable with the shared store's key.
pub const STORE_KEY_ENV: &str = "AUTHHOST_STORE_KEY";

impl HostOptions {
    /// `AUTHHOST_HOME` or the platform directories, talking to the
    /// terminal, with the store backend of `AUTHHOST_STORE` when it is set.
    pub fn from_env() -> Result<HostOptions, Error> {
        let mut options = HostOptions::with_paths(Paths::from_env()?);
        if let Some(value) = std::env::var_os(STORE_ENV).filter(|v| !v.is_empty()) {
            let backend = value
                .to_str()
                .unwrap_or_default()
                .parse()
                .map_err(|message| Error::Config {
                    path: PathBuf::from(format!("${STORE_ENV}")),
                    message,
                })?;
            options.store = Some(backend);
        }
        let secret = |var: &str| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from)
        };
        options.store_url = secret(STORE_URL_ENV);
        options.store_key = secret(STORE_KEY_ENV);
        Ok(options)
    }

    /// Puts the secrets of new credentials in `backend`, whatever
    /// config.toml says (see [`HostOptions::store`]).
    pub fn store(mut self, backend: StoreBackend) -> HostOptions {
        self.store = Some(backend);
        self
    }

    /// Every file under `home` (the `AUTHHOST_HOME` layout), talking to the
    /// terminal.
    pub fn with_home(home: impl Into<PathBuf>) -> HostOptions {
        HostOptions::with_paths(Paths::in_home(home.into()))
    }

    /// The files at `paths`, talking to the terminal.
    pub fn with_paths(paths: Paths) -> HostOptions {
        HostOptions {
            paths,
            interaction: Arc::new(Terminal),
            instance_pool: false,
            environment: None,
            compile_notices: false,
            store: None,
            store_settings: None,
            store_url: None,
            store_key: None,
            on_event: None,
        }
    }

    /// Calls `hook` with each [`Event`] of the host, e.g. to feed metrics
    /// (see [`HostOptions::on_event`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// use authhost::{Event, HostOptions, Source};
    ///
    /// let from_plugin = Arc::new(AtomicU64::new(0));
    /// let counter = from_plugin.clone();
    /// let options = HostOptions::with_home("/tmp/authhost-example").on_event(move |event| {
    ///     if let Event::TokenServed { source: Source::Plugin, .. } = event {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// });
    /// # let _ = options;
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> HostOptions {
        self.on_event = Some(std::sync::Arc::new(hook));
        self
    }

    /// Looks up `[providers.X] env = "VAR"` variables in `vars` instead of
    /// the process's environment (see [`HostOptions::environment`]).
    pub fn environment(mut self, vars: impl IntoIterator<Item = (String, String)>) -> HostOptions {
        self.environment = Some(vars.into_iter().collect());
        self
    }

    /// Turns the pooling allocator on or off (see
    /// [`HostOptions::instance_pool`]).
    pub fn instance_pool(mut self, on: bool) -> HostOptions {
        self.instance_pool = on;
        self
    }

    /// Turns the compile notice on or off (see
    /// [`HostOptions::compile_notices`]).
    pub fn compile_notices(mut self, on: bool) -> HostOptions {
        self.compile_notices = on;
        self
    }

    /// Replaces how the host talks to the user.
    pub fn interaction(mut self, interaction: Arc<dyn Interaction>) -> HostOptions {
        self.interaction = interaction;
        self
    }
}

/// Options of [`Host::login`](super::Host::login).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoginOptions {
    /// The method id; the provider's first method when `None`.
    pub method: Option<String>,
    /// Print the URL instead of opening a browser.
    pub no_browser: bool,
    /// Replace a stored credential without asking (a pasted key; at a
    /// terminal the user is asked otherwise).
    pub force: bool,
}

impl LoginOptions {
    /// Replaces a stored credential without asking (see
    /// [`LoginOptions::force`]).
    pub fn force(mut self, on: bool) -> LoginOptions {
        self.force = on;
        self
    }

    /// Uses login method `id`.
    pub fn method(mut self, id: impl Into<String>) -> LoginOptions {
        self.method = Some(id.into());
        self
    }

    /// Prints the URL instead of opening a browser.
    pub fn no_browser(mut self, on: bool) -> LoginOptions {
        self.no_browser = on;
        self
    }
}

/// Options of [`Host::token`](super::Host::token).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TokenOptions {
    /// Get a fresh credential even if the stored or cached one is still
    /// fresh: refresh an OAuth login, or run a helper again.
    pub refresh: bool,
    /// When the plugin fails (a helper, a refresh), return the last
    /// credential this `Host` obtained for the provider, even if it is past
    /// its cache lifetime (with a warning in the log). Likewise when the
    /// store cannot be read (`auth.json` corrupt, unreadable, or with bad
    /// permissions): the last credential this `Host` read from it or
    /// obtained from the plugin. It is kept in this process's memory only:
    /// expired keys are never kept on disk. Off by default: a failing
    /// plugin or store is an error.
    pub stale_on_error: bool,
}

impl TokenOptions {
    /// Asks for a fresh credential (see [`TokenOptions::refresh`]).
    pub fn refresh(mut self, on: bool) -> TokenOptions {
        self.refresh = on;
        self
    }

    /// Falls back to the last credential obtained when the plugin fails
    /// (see [`TokenOptions::stale_on_error`]).
    pub fn stale_on_error(mut self, on: bool) -> TokenOptions {
        self.stale_on_error = on;
        self
    }
}
