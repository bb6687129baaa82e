//! The one granter: every host call that reaches outside the sandbox asks
//! it, and what a plugin may do is the intersection of what it requested
//! and what was granted ([`effective`]).

use std::net::SocketAddr;

use super::Capability;

/// Something a plugin is about to do that needs a capability.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Use<'a> {
    /// Run `program` (`argv[0]` as given: a name or a path; `sh` / `cmd`
    /// for a shell line). A grant must name it identically.
    Process {
        /// The program as the plugin named it.
        program: &'a str,
    },
    /// Listen on 127.0.0.1, on `port` or any free port (`None`).
    Loopback {
        /// The port asked for.
        port: Option<u16>,
    },
    /// Open a URL in the browser.
    Browser,
    /// Prompt the user.
    Prompt,
    /// Send an HTTP request.
    Http {
        /// `http` or `https`.
        scheme: &'a str,
        /// The host as written in the request.
        host: &'a str,
        /// The port (the scheme's default when absent).
        port: u16,
    },
    /// A `wasi:sockets` operation on `addr`.
    Socket {
        /// The address.
        addr: SocketAddr,
        /// True for binding or listening, false for connecting or sending.
        bind: bool,
    },
}

/// The capability a use needs, as it would be written in a grant.
fn needed(use_: &Use<'_>) -> String {
    match use_ {
        // The program name comes from the plugin: it is shown and logged.
        Use::Process { program } => {
            format!("process:{}", crate::sanitize::plugin_text(program, 200))
        }
        Use::Loopback { port: Some(p) } => format!("loopback:{p}"),
        Use::Loopback { port: None } => "loopback".into(),
        Use::Browser => "browser".into(),
        Use::Prompt => "prompt".into(),
        Use::Http { scheme, host, port } => format!("http:{scheme}://{host}:{port}"),
        Use::Socket { addr, bind: true } => format!("loopback:{}", addr.port()),
        Use::Socket { addr, bind: false } => format!("socket connect to {addr}"),
    }
}

/// A use that the grants do not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` was not granted `{capability}`")]
pub(crate) struct Denied {
    /// The plugin.
    pub plugin: String,
    /// The capability it would need.
    pub capability: String,
}

/// The single place that decides whether a plugin may do something. Every
/// import that reaches a process, a socket, a URL or the user asks it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Granter {
    plugin: String,
    effective: Vec<Capability>,
}

impl Granter {
    /// A granter that allows nothing (used while a plugin describes itself).
    pub fn deny_all(plugin: impl Into<String>) -> Granter {
        Granter {
            plugin: plugin.into(),
            effective: Vec::new(),
        }
    }

    /// The effective set: each requested capability that some grant covers.
    #[cfg(test)]
    pub fn new(
        plugin: impl Into<String>,
        requested: &[Capability],
        granted: &[Capability],
    ) -> Granter {
        Granter {
            plugin: plugin.into(),
            effective: effective(requested, granted),
        }
    }

    /// A granter allowing exactly `effective` (already the intersection of
    /// what was requested and granted; see `crate::capability::policy`).
    pub fn allowing(plugin: impl Into<String>, effective: Vec<Capability>) -> Granter {
        Granter {
            plugin: plugin.into(),
            effective,
        }
    }

    /// Allows or denies `use_`; a denial is logged.
    pub fn check(&self, use_: Use<'_>) -> Result<(), Denied> {
        if self.allows(&use_) {
            tracing::debug!(plugin = %self.plugin, capability = %needed(&use_), "capability used");
            return Ok(());
        }
        let denied = self.denial(use_);
        tracing::warn!("{denied}");
        Err(denied)
    }

    /// The denial of `use_`, without checking or logging.
    pub fn denial(&self, use_: Use<'_>) -> Denied {
        Denied {
            plugin: self.plugin.clone(),
            capability: needed(&use_),
        }
    }

    fn allows(&self, use_: &Use<'_>) -> bool {
        self.effective.iter().any(|cap| match (cap, use_) {
            (Capability::Process(None), Use::Process { .. }) => true,
            (Capability::Process(Some(p)), Use::Process { program }) => p == program,
            (Capability::Loopback(None), Use::Loopback { .. }) => true,
            (Capability::Loopback(Some(p)), Use::Loopback { port }) => Some(*p) == *port,
            (Capability::Browser, Use::Browser) | (Capability::Prompt, Use::Prompt) => true,
            (Capability::Http(origin), Use::Http { scheme, host, port }) => {
                origin.matches(scheme, host, *port)
            }
            // wasi:sockets: only binding a loopback address, under a loopback grant.
            (Capability::Loopback(granted), Use::Socket { addr, bind: true }) => {
                addr.ip().is_loopback() && granted.is_none_or(|p| p == addr.port())
            }
            _ => false,
        })
    }
}

/// What a plugin may do: the intersection of what it requested and what was
/// granted. A request covered by a grant stays as requested; a grant
/// narrower than a request (`loopback:3000` for `loopback`, `process:op`
/// for `process`) gives the grant.
pub(crate) fn effective(requested: &[Capability], granted: &[Capability]) -> Vec<Capability> {
    let mut out: Vec<Capability> = Vec::new();
    for r in requested {
        for g in granted {
            let both = if g.covers(r) {
                Some(r)
            } else if r.covers(g) {
                Some(g)
            } else {
                None
            };
            if let Some(cap) = both
                && !out.contains(cap)
            {
                out.push(cap.clone());
            }
        }
    }
    out
}
