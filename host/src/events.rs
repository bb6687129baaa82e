//! What a [`crate::Host`] reports to an embedding program as it works:
//! [`Event`]s handed to a hook ([`crate::HostOptions::on_event`]), for
//! metrics. An event never carries a secret.

use std::sync::Arc;
use std::time::Duration;

/// Where the secret [`crate::Host::token`] returned came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// The provider's environment variable (`[providers.X] env`).
    Env,
    /// Remembered in this host's memory from an earlier call.
    Memory,
    /// The credential store (`auth.json`, or the OS keyring).
    Store,
    /// The helper cache: a helper's credential another call or process
    /// obtained, still fresh.
    HelperCache,
    /// The provider's plugin, run for this call (`resolve` or `refresh`).
    Plugin,
    /// The last credential this host obtained, returned in place of an
    /// error because the call asked for it
    /// ([`crate::TokenOptions::stale_on_error`]).
    Stale,
}

impl Source {
    /// The source as a short stable word: `env`, `memory`, `store`,
    /// `helper-cache`, `plugin`, `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Env => "env",
            Source::Memory => "memory",
            Source::Store => "store",
            Source::HelperCache => "helper-cache",
            Source::Plugin => "plugin",
            Source::Stale => "stale",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a [`crate::Host`] did, as its event hook sees it. Names are
/// borrowed for the call of the hook: copy what you keep.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// [`crate::Host::token`] returned a secret.
    TokenServed {
        /// The provider asked for.
        provider: &'a str,
        /// Where the secret came from.
        source: Source,
        /// How long the call took.
        elapsed: Duration,
    },
    /// [`crate::Host::token`] failed.
    Failed {
        /// The provider asked for.
        provider: &'a str,
        /// The error's code ([`crate::Error::code`]).
        code: &'static str,
        /// How long the call took.
        elapsed: Duration,
    },
    /// A plugin export ran for a provider (whether it succeeded or not).
    PluginRun {
        /// The provider it ran for.
        provider: &'a str,
        /// The plugin's id.
        plugin: &'a str,
        /// The export: `login`, `resolve`, `refresh`, `check` or `revoke`.
        export: &'static str,
        /// How long the call took, loading the plugin included.
        elapsed: Duration,
        /// Whether it returned a usable credential.
        ok: bool,
    },
    /// A stored OAuth login was refreshed and the new tokens stored.
    Refreshed {
        /// The provider.
        provider: &'a str,
    },
}

/// The hook an embedding program gives to see [`Event`]s.
pub type EventHook = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// The hook of a host, if it has one.
#[derive(Clone, Default)]
pub(crate) struct Events(Option<EventHook>);

impl Events {
    /// Events go to `hook`, if given.
    pub fn new(hook: Option<EventHook>) -> Events {
        Events(hook)
    }

    /// Hands the event `make` builds to the hook; builds nothing without
    /// one.
    pub fn emit<'a>(&self, make: impl FnOnce() -> Event<'a>) {
        if let Some(hook) = &self.0 {
            hook(&make());
        }
    }
}
