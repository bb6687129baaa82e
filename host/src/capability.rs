//! Capabilities a plugin may be granted, and the one granter every host call
//! that reaches outside the sandbox goes through.
//!
//! A capability is written the same way in a plugin's metadata (requested)
//! and in the user's `[plugins.ID] grant` (granted):
//!
//! | text                         | allows                                          |
//! |------------------------------|-------------------------------------------------|
//! | `process` / `process:NAME`   | run any program / only `NAME` from the user's `PATH` |
//! | `process:/ABS/PATH`          | run only that file                              |
//! | `loopback` / `loopback:PORT` | listen on 127.0.0.1, any port / only `PORT`     |
//! | `browser`                    | open a URL in the user's browser                |
//! | `prompt`                     | ask the user for input at the terminal          |
//! | `http:SCHEME://HOST[:PORT]`  | outbound HTTP to that origin (`*.HOST` for subdomains) |
//!
//! A plugin may also request `http:{OPTION}` (or `http:{OPTION=DEFAULT}`):
//! the origin of the URL in its provider's option `OPTION` ([`Request`]).
//!
//! The effective set of a plugin is what it requested AND the user granted
//! (decided in `crate::policy`).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// One capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Run programs: any (`None`), the one named (found on the user's
    /// `PATH`), or the file at an absolute path.
    Process(Option<String>),
    /// Listen on 127.0.0.1: any port (`None`) or the one given.
    Loopback(Option<u16>),
    /// Open URLs in the browser.
    Browser,
    /// Prompt the user.
    Prompt,
    /// Outbound HTTP to an origin.
    Http(Origin),
}

/// An HTTP origin pattern: `scheme://host[:port]`, where the host may be
/// `*.example.com` (any subdomain, not `example.com` itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: HostPattern,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HostPattern {
    Exact(String),
    /// `*.suffix`: stores `.suffix`.
    Subdomains(String),
}

/// Why a capability string is invalid. Its text is sanitised: a
/// capability comes from a plugin or a hand-edited file, and the error is
/// shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid capability `{text}`: {reason}")]
pub struct ParseError {
    text: String,
    reason: String,
}

impl ParseError {
    fn new(text: &str, reason: &str) -> ParseError {
        ParseError {
            text: crate::sanitize::plugin_text(text, 200),
            reason: reason.to_owned(),
        }
    }
}

impl FromStr for Capability {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| ParseError::new(text, reason);
        let (kind, arg) = match text.split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (text, None),
        };
        match (kind, arg) {
            ("process", None) => Ok(Capability::Process(None)),
            ("process", Some(name)) if valid_program(name) => {
                Ok(Capability::Process(Some(name.to_owned())))
            }
            ("process", Some(_)) => Err(fail(
                "expected a program name like `process:op` or an absolute path like `process:/usr/bin/op`",
            )),
            ("loopback", None) => Ok(Capability::Loopback(None)),
            ("loopback", Some(port)) => match port.parse::<u16>() {
                Ok(port) if port != 0 => Ok(Capability::Loopback(Some(port))),
                _ => Err(fail("expected a port number 1-65535 like `loopback:3000`")),
            },
            ("browser", None) => Ok(Capability::Browser),
            ("prompt", None) => Ok(Capability::Prompt),
            ("http", Some(origin)) => origin
                .parse()
                .map(Capability::Http)
                .map_err(|r: String| fail(&r)),
            ("http", None) => Err(fail(
                "expected an origin like `http:https://api.example.com`",
            )),
            _ => Err(fail(
                "expected one of process[:NAME], loopback[:PORT], browser, prompt, http:ORIGIN",
            )),
        }
    }
}

/// A bare program name (`op`), or an absolute path without `.`/`..`
/// components (`/usr/bin/op`); no wildcards, whitespace or control
/// characters either way.
fn valid_program(name: &str) -> bool {
    use std::path::{Component, Path};
    let plain = !name.is_empty()
        && !name.contains('*')
        && !name
            .chars()
            .any(|c| c.is_whitespace() || crate::sanitize::is_unsafe(c));
    let bare = !name.contains(['/', '\\']) && !matches!(name, "." | "..");
    let absolute = Path::new(name).is_absolute()
        && Path::new(name).components().all(|c| {
            matches!(
                c,
                Component::RootDir | Component::Prefix(_) | Component::Normal(_)
            )
        });
    plain && (bare || absolute)
}

impl FromStr for Origin {
    type Err = String;

    /// Parses `SCHEME://HOST[:PORT][/]` strictly: the scheme is http or
    /// https, and the host is a DNS name (IDNA, stored punycoded and in
    /// lower case), an IPv4 address or a bracketed IPv6 address, as the
    /// `url` crate's host parser (the WHATWG URL standard) reads it, or
    /// `*.` followed by a DNS name of at least two labels. Anything else
    /// (control characters, spaces, a user name, a path) is refused, so the
    /// text of an origin is always safe to show.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("expected SCHEME://HOST[:PORT]")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err("the scheme must be http or https".into()),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@', '\\']) {
            return Err("an origin has no path, query or user name".into());
        }
        let (host, port) = split_port(rest)?;
        let port = port.unwrap_or(default_port);
        let host = if host == "*" || host.is_empty() {
            return Err("`*` alone is too broad to be a grant; name the host (`*.example.com` covers its subdomains)".into());
        } else if let Some(suffix) = host.strip_prefix("*.") {
            let suffix = match parse_host(suffix)? {
                url::Host::Domain(domain) => domain,
                _ => {
                    return Err(
                        "a wildcard covers the subdomains of a DNS name, not of an IP address"
                            .into(),
                    );
                }
            };
            if suffix.contains('*') || !suffix.contains('.') {
                return Err("a wildcard must cover a domain with at least two labels, like `*.example.com` (too broad otherwise)".into());
            }
            HostPattern::Subdomains(format!(".{suffix}"))
        } else if host.contains('*') {
            return Err("`*` is allowed only as the first label (`*.example.com`)".into());
        } else {
            HostPattern::Exact(parse_host(host)?.to_string())
        };
        Ok(Origin { scheme, host, port })
    }
}

/// A host as a URL would have it: a DNS name (punycoded, lower case), an
/// IPv4 address or a bracketed IPv6 address.
fn parse_host(host: &str) -> Result<url::Host, String> {
    let parsed = url::Host::parse(host).map_err(|e| {
        format!(
            "`{}` is not a DNS name or an IP address ({e})",
            crate::sanitize::plugin_text(host, 100)
        )
    })?;
    // `Host::parse` decodes percent escapes; what it gives back must still
    // be a plain host (no `*` or `%` smuggled in as `%2A`, `%25`).
    match &parsed {
        url::Host::Domain(domain)
            if domain.is_empty()
                || !domain
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'%' | b'*')) =>
        {
            Err(format!(
                "`{}` is not a DNS name or an IP address",
                crate::sanitize::plugin_text(host, 100)
            ))
        }
        _ => Ok(parsed),
    }
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    // Bracketed IPv6 literal.
    if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or("unterminated IPv6 address")?;
        let port = match &rest[end + 1..] {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or("bad port")?
                    .parse()
                    .map_err(|_| "bad port")?,
            ),
        };
        return Ok((&authority[..end + 2], port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(port.parse().map_err(|_| "bad port")?))),
        None => Ok((authority, None)),
    }
}

impl Origin {
    /// Whether a request to `scheme://host:port` falls under this origin.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        self.scheme.eq_ignore_ascii_case(scheme)
            && self.port == port
            && match &self.host {
                HostPattern::Exact(h) => h == host,
                HostPattern::Subdomains(suffix) => {
                    host.len() > suffix.len() && host.ends_with(suffix.as_str())
                }
            }
    }

    /// Whether every request this origin allows is also allowed by `self`.
    fn covers(&self, other: &Origin) -> bool {
        if self.scheme != other.scheme || self.port != other.port {
            return false;
        }
        match (&self.host, &other.host) {
            (HostPattern::Exact(a), HostPattern::Exact(b)) => a == b,
            (HostPattern::Subdomains(s), HostPattern::Exact(h)) => {
                h.len() > s.len() && h.ends_with(s.as_str())
            }
            (HostPattern::Subdomains(a), HostPattern::Subdomains(b)) => b.ends_with(a.as_str()),
            (HostPattern::Exact(_), HostPattern::Subdomains(_)) => false,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = if self.scheme == "https" { 443 } else { 80 };
        match &self.host {
            HostPattern::Exact(h) => write!(f, "{}://{h}", self.scheme)?,
            HostPattern::Subdomains(s) => write!(f, "{}://*{s}", self.scheme)?,
        }
        if self.port != default {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Process(None) => f.write_str("process"),
            // The parser admits no character the sanitiser would change;
            // showing it through the sanitiser all the same keeps that true
            // whatever a later parser admits.
            Capability::Process(Some(p)) => {
                write!(f, "process:{}", crate::sanitize::plugin_text(p, 200))
            }
            Capability::Loopback(None) => f.write_str("loopback"),
            Capability::Loopback(Some(p)) => write!(f, "loopback:{p}"),
            Capability::Browser => f.write_str("browser"),
            Capability::Prompt => f.write_str("prompt"),
            Capability::Http(o) => write!(f, "http:{o}"),
        }
    }
}

impl serde::Serialize for Capability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Capability {
    /// Whether granting `self` allows everything `requested` asks for.
    pub fn covers(&self, requested: &Capability) -> bool {
        use Capability::*;
        match (self, requested) {
            (Process(None), Process(_)) | (Loopback(None), Loopback(_)) => true,
            (Process(Some(a)), Process(Some(b))) => a == b,
            (Loopback(Some(a)), Loopback(Some(b))) => a == b,
            (Browser, Browser) | (Prompt, Prompt) => true,
            (Http(a), Http(b)) => a.covers(b),
            _ => false,
        }
    }
}

impl Capability {
    /// What granting it allows, in plain words, for a question or a
    /// listing: `process` is "run any program on this computer as you".
    pub fn meaning(&self) -> String {
        match self {
            Capability::Process(None) => "run any program on this computer as you".into(),
            Capability::Process(Some(p)) => format!(
                "run the program {} on this computer as you",
                crate::sanitize::plugin_text(p, 200)
            ),
            Capability::Loopback(None) => {
                "listen for connections on this computer (127.0.0.1, any port)".into()
            }
            Capability::Loopback(Some(port)) => {
                format!("listen for connections on this computer (127.0.0.1, port {port})")
            }
            Capability::Browser => "open web pages in your browser".into(),
            Capability::Prompt => "ask you questions at this terminal".into(),
            Capability::Http(origin) => format!("send HTTP requests to {origin}"),
        }
    }

    /// Whether granting it hands the plugin the user's own rights on this
    /// computer (running programs): questions make such a grant stand out.
    pub fn is_dangerous(&self) -> bool {
        matches!(self, Capability::Process(_))
    }
}

/// `capabilities` one a line, each with what it allows, the dangerous ones
/// marked `!` (and a line saying what `!` means): built only from
/// sanitised text, for a question or a listing.
pub fn capability_lines(capabilities: &[Capability]) -> String {
    let shown: Vec<String> = capabilities.iter().map(ToString::to_string).collect();
    let width = shown.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for (capability, name) in capabilities.iter().zip(&shown) {
        let mark = if capability.is_dangerous() { '!' } else { ' ' };
        let meaning = capability.meaning();
        text.push_str(&format!("  {mark} {name:<width$}  {meaning}\n"));
    }
    if capabilities.iter().any(Capability::is_dangerous) {
        text.push_str(
            "  (! gives the plugin your own rights on this computer: grant it only to code you trust)\n",
        );
    }
    text
}

/// The yes/no question asked before plugin `plugin` is granted
/// `capabilities` (to log in to `provider`, when the grant is asked for at
/// a login): [`capability_lines`] under a line naming the plugin, then the
/// question. Built only from sanitised text, so what the user reads is
/// what is granted; the answer prompt (`[y/N]`) is the caller's.
pub fn grant_question(plugin: &str, provider: Option<&str>, capabilities: &[Capability]) -> String {
    use crate::sanitize::plugin_text;
    let plugin = plugin_text(plugin, 64);
    let mut text = match provider {
        Some(provider) => format!(
            "Plugin {plugin} asks for these capabilities to log in to {}:\n",
            plugin_text(provider, 64)
        ),
        None => format!("Plugin {plugin} asks for these capabilities:\n"),
    };
    text.push_str(&capability_lines(capabilities));
    let count = match capabilities.len() {
        1 => "it".to_owned(),
        n => format!("all {n}"),
    };
    text.push_str(&format!("Grant {count} to {plugin}?"));
    text
}

/// A capability as a plugin requests it: a [`Capability`], or an HTTP
/// origin taken from one of the provider's options, written
/// `http:{OPTION}` or `http:{OPTION=DEFAULT-URL}` (e.g.
/// `http:{base_url=https://openrouter.ai}`). The host expands it for each
/// provider instance from `[providers.NAME] OPTION` (see
/// `crate::policy`), so a plugin's metadata stays the same for every
/// instance while each instance gets exactly the origin it is configured
/// for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Request {
    /// A fixed capability.
    Fixed(Capability),
    /// The origin of the URL in a provider option.
    HttpFromOption {
        /// The option's name.
        option: String,
        /// The origin used when the option is not set.
        default: Option<Origin>,
    },
}

impl FromStr for Request {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some(template) = text
            .strip_prefix("http:{")
            .and_then(|rest| rest.strip_suffix('}'))
        else {
            return text.parse().map(Request::Fixed);
        };
        let fail = |reason: &str| ParseError::new(text, reason);
        let (option, default) = match template.split_once('=') {
            Some((option, default)) => (option, Some(default)),
            None => (template, None),
        };
        let valid_option = !option.is_empty()
            && option.len() <= 64
            && option
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid_option {
            return Err(fail(
                "expected an option name like `http:{base_url}` (lowercase letters, digits, `_`, `-`)",
            ));
        }
        let default = match default {
            None => None,
            Some(url) => Some(
                origin_of_url(url)
                    .ok_or_else(|| fail("the default must be an http or https URL"))?,
            ),
        };
        Ok(Request::HttpFromOption {
            option: option.to_owned(),
            default,
        })
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Fixed(c) => c.fmt(f),
            Request::HttpFromOption {
                option,
                default: None,
            } => write!(f, "http:{{{option}}}"),
            Request::HttpFromOption {
                option,
                default: Some(origin),
            } => write!(f, "http:{{{option}={origin}}}"),
        }
    }
}

impl serde::Serialize for Request {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The origin (`scheme://host[:port]`) of an http or https URL such as
/// `https://openrouter.ai/api`; `None` for anything else.
pub(crate) fn origin_of_url(url: &str) -> Option<Origin> {
    let url = url::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let origin = url.origin();
    if !origin.is_tuple() {
        return None;
    }
    origin.ascii_serialization().parse().ok()
}

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
    /// what was requested and granted; see `crate::policy`).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(s: &str) -> Capability {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_canonically() {
        for s in [
            "process",
            "process:op",
            "process:/usr/bin/op",
            "loopback",
            "loopback:3000",
            "browser",
            "prompt",
            "http:https://api.acme.example",
            "http:http://127.0.0.1:8080",
            "http:https://*.acme.example",
        ] {
            assert_eq!(cap(s).to_string(), s);
        }
        assert_eq!(
            cap("http:https://API.acme.example:443/").to_string(),
            "http:https://api.acme.example"
        );
    }

    #[test]
    fn rejects_broad_or_malformed_grants() {
        for s in [
            "http:*",
            "http:https://*",
            "http:https://*.com",
            "http:https://a.*.com",
            "http:ftp://x.example",
            "http:https://x.example/path",
            "loopback:0",
            "process:bin/sh",
            "process:./op",
            "process:/usr/../bin/sh",
            "process:/usr/bin/o p",
            "process:..",
            "process:",
            "network",
            "browser:x",
        ] {
            assert!(s.parse::<Capability>().is_err(), "{s} parsed");
        }
        let err = "http:https://*"
            .parse::<Capability>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("too broad"), "{err}");
    }

    #[test]
    fn hosts_are_dns_names_or_ip_addresses() {
        for (text, canonical) in [
            (
                "http:https://Bücher.example",
                "http:https://xn--bcher-kva.example",
            ),
            ("http:http://[::1]:8080", "http:http://[::1]:8080"),
            ("http:http://127.1", "http:http://127.0.0.1"),
            (
                "http:https://*.Bücher.example",
                "http:https://*.xn--bcher-kva.example",
            ),
        ] {
            assert_eq!(cap(text).to_string(), canonical, "{text}");
        }
        for bad in [
            "http:https://\u{1b}]0;title\u{7}.example",
            "http:https://a.example\r\u{1b}[2Kprompt",
            "http:https://a b.example",
            "http:https://a\u{8}.example",
            "http:https://a%2A.example",
            "http:https://a%00.example",
            "http:https://*.127.0.0.1",
            "http:https://a\u{202e}.example",
            "process:op\u{202e}",
            "process:\u{2066}op",
        ] {
            let err = bad.parse::<Capability>().unwrap_err().to_string();
            assert!(!crate::sanitize::has_unsafe(&err), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn the_grant_question_lists_each_capability_with_its_meaning() {
        let question = grant_question(
            "acme",
            Some("work"),
            &[
                cap("process"),
                cap("prompt"),
                cap("http:https://api.acme.example"),
            ],
        );
        assert_eq!(
            question,
            "Plugin acme asks for these capabilities to log in to work:\n\
             \x20 ! process                        run any program on this computer as you\n\
             \x20   prompt                         ask you questions at this terminal\n\
             \x20   http:https://api.acme.example  send HTTP requests to https://api.acme.example\n\
             \x20 (! gives the plugin your own rights on this computer: grant it only to code you trust)\n\
             Grant all 3 to acme?"
        );
        let one = grant_question("x\u{1b}[2J", None, &[cap("browser")]);
        assert!(
            one.lines().all(|line| !crate::sanitize::has_unsafe(line)),
            "{one:?}"
        );
        assert!(one.ends_with("Grant it to x\\u{1b}[2J?"), "{one}");
    }

    #[test]
    fn option_templates_parse_and_print() {
        for s in [
            "http:{base_url}",
            "http:{base_url=https://openrouter.ai}",
            "prompt",
        ] {
            assert_eq!(s.parse::<Request>().unwrap().to_string(), s);
        }
        assert_eq!(
            "http:{issuer=https://login.example.com/tenant/x}"
                .parse::<Request>()
                .unwrap()
                .to_string(),
            "http:{issuer=https://login.example.com}"
        );
        for bad in [
            "http:{}",
            "http:{Base}",
            "http:{a b}",
            "http:{x=ftp://a.example}",
            "http:{x=nope}",
        ] {
            assert!(bad.parse::<Request>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn effective_is_requested_and_granted() {
        let requested = [
            cap("browser"),
            cap("process:op"),
            cap("http:https://api.acme.example"),
            cap("prompt"),
        ];
        let granted = [
            cap("process"),
            cap("http:https://*.acme.example"),
            cap("prompt"),
        ];
        assert_eq!(
            effective(&requested, &granted),
            vec![
                cap("process:op"),
                cap("http:https://api.acme.example"),
                cap("prompt")
            ]
        );
        // A grant narrower than the request narrows it.
        assert_eq!(
            effective(
                &[
                    cap("loopback"),
                    cap("process"),
                    cap("http:https://*.acme.example")
                ],
                &[
                    cap("loopback:3000"),
                    cap("process:op"),
                    cap("http:https://api.acme.example")
                ]
            ),
            vec![
                cap("loopback:3000"),
                cap("process:op"),
                cap("http:https://api.acme.example")
            ]
        );
    }

    #[test]
    fn granter_checks_each_use() {
        let g = Granter::new(
            "acme",
            &[
                cap("process:op"),
                cap("loopback:3000"),
                cap("http:https://*.acme.example"),
            ],
            &[
                cap("process:op"),
                cap("loopback"),
                cap("http:https://*.acme.example"),
            ],
        );
        assert!(g.check(Use::Process { program: "op" }).is_ok());
        let denied = g.check(Use::Process { program: "sh" }).unwrap_err();
        assert_eq!(denied.capability, "process:sh");
        // A path is not the name: `process:op` does not run another `op`.
        for decoy in ["/tmp/x/op", "./op", "bin/op"] {
            let denied = g.check(Use::Process { program: decoy }).unwrap_err();
            assert_eq!(denied.capability, format!("process:{decoy}"));
        }
        let exact = Granter::new("acme", &[cap("process")], &[cap("process:/opt/op/op")]);
        assert!(
            exact
                .check(Use::Process {
                    program: "/opt/op/op"
                })
                .is_ok()
        );
        assert!(exact.check(Use::Process { program: "op" }).is_err());
        assert!(
            exact
                .check(Use::Process {
                    program: "/opt/op/op2"
                })
                .is_err()
        );
        assert!(g.check(Use::Loopback { port: Some(3000) }).is_ok());
        assert!(g.check(Use::Loopback { port: None }).is_err());
        assert!(g.check(Use::Browser).is_err());
        let http = |scheme, host, port| Use::Http { scheme, host, port };
        assert!(g.check(http("https", "api.acme.example", 443)).is_ok());
        assert!(g.check(http("https", "API.ACME.EXAMPLE.", 443)).is_ok());
        assert!(g.check(http("https", "acme.example", 443)).is_err());
        assert!(g.check(http("http", "api.acme.example", 80)).is_err());
        assert!(g.check(http("https", "api.acme.example", 8443)).is_err());
        assert!(g.check(http("https", "evilacme.example", 443)).is_err());
        let sock = |a: &str, bind| Use::Socket {
            addr: a.parse().unwrap(),
            bind,
        };
        assert!(g.check(sock("127.0.0.1:3000", true)).is_ok());
        assert!(g.check(sock("0.0.0.0:3000", true)).is_err());
        assert!(g.check(sock("127.0.0.1:3001", true)).is_err());
        assert!(g.check(sock("127.0.0.1:3000", false)).is_err());
        assert!(Granter::deny_all("x").check(Use::Prompt).is_err());
    }
}
