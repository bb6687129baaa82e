//! HTTP origins as capabilities name them: `scheme://host[:port]`, the
//! host a DNS name (punycoded), an IP address or `*.` and a DNS name.

use std::fmt;
use std::str::FromStr;

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
    pub(super) fn covers(&self, other: &Origin) -> bool {
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
