//! The proxy settings of the environment, read as curl and git read them:
//! `https_proxy`/`HTTPS_PROXY` for `https://` requests, `http_proxy`/
//! `HTTP_PROXY` for `http://` ones (`all_proxy`/`ALL_PROXY` for both when
//! those are unset; the lowercase name wins), and `no_proxy`/`NO_PROXY`: a
//! comma-separated list of hosts, each matching itself and its subdomains
//! (`example.com`, `.example.com` and `*.example.com` are the same entry),
//! optionally with a port (`example.com:8443`, `[::1]:8080`), or `*` for
//! every host.
//!
//! A proxy is `http://[user:password@]host[:port]` (no scheme means
//! `http://`, no port means 1080, as in curl). Its credentials become a
//! `Proxy-Authorization: Basic` header; they are kept in a [`SecretString`]
//! and appear in no log, error or `Debug` output. A proxy of another
//! scheme (`https://`, `socks5://`) is not supported and is ignored, with
//! a warning that names only the variable.

use std::fmt;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// The default port of a proxy URL without one (curl's).
const DEFAULT_PROXY_PORT: u16 = 1080;

/// A proxy to send requests through.
pub(crate) struct Proxy {
    /// `host:port` of the proxy (an IPv6 host in brackets).
    pub(crate) address: String,
    /// The `Proxy-Authorization` value, when the URL has credentials.
    pub(crate) authorization: Option<SecretString>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("address", &self.address)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl Proxy {
    /// Parses a proxy URL; `None` (with a warning naming `variable`) when it
    /// is not an `http://` proxy authority.
    fn parse(variable: &str, text: &str) -> Option<Proxy> {
        let text = text.trim();
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let Ok(url) = url::Url::parse(&with_scheme) else {
            tracing::warn!("ignoring {variable}: not a proxy URL");
            return None;
        };
        if url.scheme() != "http" {
            tracing::warn!(
                "ignoring {variable}: only http:// proxies are supported, not {}://",
                url.scheme()
            );
            return None;
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            Some(host) => host.to_string(),
            None => {
                tracing::warn!("ignoring {variable}: the proxy URL names no host");
                return None;
            }
        };
        let port = url.port().unwrap_or(DEFAULT_PROXY_PORT);
        let authorization = (!url.username().is_empty()).then(|| {
            let user = decode(url.username());
            let password = decode(url.password().unwrap_or(""));
            let pair = format!("{user}:{password}");
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
            SecretString::from(format!("Basic {encoded}"))
        });
        Some(Proxy {
            address: format!("{host}:{port}"),
            authorization,
        })
    }

    /// The `Proxy-Authorization` header value, if any.
    pub(crate) fn authorization(&self) -> Option<&str> {
        self.authorization.as_ref().map(|a| a.expose_secret())
    }
}

/// Percent-decodes a URL's user or password.
fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The proxies of the environment and the hosts that bypass them.
#[derive(Debug, Default)]
pub(crate) struct Proxies {
    https: Option<Proxy>,
    http: Option<Proxy>,
    no_proxy: NoProxy,
}

impl Proxies {
    /// Reads the environment variables named in the module docs.
    pub(crate) fn from_env() -> Proxies {
        Proxies::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (the environment, or a test's).
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Proxies {
        let first = |names: &[&'static str]| -> Option<(&'static str, String)> {
            names.iter().find_map(|name| {
                lookup(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (*name, v))
            })
        };
        let proxy =
            |names: &[&'static str]| first(names).and_then(|(name, v)| Proxy::parse(name, &v));
        Proxies {
            https: proxy(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
            http: proxy(&["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]),
            no_proxy: NoProxy::parse(
                &first(&["no_proxy", "NO_PROXY"]).map_or(String::new(), |v| v.1),
            ),
        }
    }

    /// The proxy for a request to `host:port` (`https` when it is TLS), or
    /// `None` to connect directly.
    pub(crate) fn for_destination(&self, https: bool, host: &str, port: u16) -> Option<&Proxy> {
        let proxy = if https { &self.https } else { &self.http };
        let proxy = proxy.as_ref()?;
        (!self.no_proxy.bypasses(host, port)).then_some(proxy)
    }
}

/// The `NO_PROXY` list.
#[derive(Debug, Default)]
struct NoProxy {
    everything: bool,
    /// Lowercase hosts without brackets or leading dots, each with the port
    /// it is limited to, if any.
    entries: Vec<(String, Option<u16>)>,
}

impl NoProxy {
    fn parse(text: &str) -> NoProxy {
        let mut list = NoProxy::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                list.everything = true;
                continue;
            }
            let entry = entry.to_ascii_lowercase();
            let (host, port) = split_port(&entry);
            let host = host.trim_start_matches("*.").trim_start_matches('.');
            if !host.is_empty() {
                list.entries.push((host.to_owned(), port));
            }
        }
        list
    }

    fn bypasses(&self, host: &str, port: u16) -> bool {
        if self.everything {
            return true;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|(entry, entry_port)| {
            let host_matches = host == *entry
                || (host.len() > entry.len()
                    && host.ends_with(entry.as_str())
                    && host.as_bytes()[host.len() - entry.len() - 1] == b'.');
            host_matches && entry_port.is_none_or(|p| p == port)
        })
    }
}

/// `host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address or a host.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (rest, None),
        };
    }
    match entry.rsplit_once(':') {
        // One colon: a port. More: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') => (host, port.parse().ok()),
        _ => (entry, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Proxies::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn via(p: &Proxies, https: bool, host: &str, port: u16) -> Option<String> {
        p.for_destination(https, host, port)
            .map(|p| p.address.clone())
    }

    #[test]
    fn each_scheme_has_its_variable_and_lowercase_wins() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "lower:3128"),
            ("HTTP_PROXY", "http://plain.example"),
        ]);
        assert_eq!(via(&p, true, "a.example", 443).unwrap(), "lower:3128");
        assert_eq!(
            via(&p, false, "a.example", 80).unwrap(),
            "plain.example:1080"
        );
        let p = proxies(&[("ALL_PROXY", "http://all:8080"), ("http_proxy", "")]);
        assert_eq!(via(&p, false, "a.example", 80).unwrap(), "all:8080");
        assert!(via(&proxies(&[]), true, "a.example", 443).is_none());
    }

    #[test]
    fn other_proxy_schemes_are_ignored() {
        let p = proxies(&[("https_proxy", "socks5://proxy:1080")]);
        assert!(via(&p, true, "a.example", 443).is_none());
    }

    #[test]
    fn no_proxy_matches_hosts_suffixes_ports_and_star() {
        let p = proxies(&[
            ("https_proxy", "http://proxy:3128"),
            (
                "NO_PROXY",
                " .corp.example, *.wild.example,exact.example:8443,127.0.0.1,[::1]:9,Mixed.Example",
            ),
        ]);
        let direct = |host: &str, port: u16| via(&p, true, host, port).is_none();
        assert!(direct("corp.example", 443));
        assert!(direct("api.corp.example", 443));
        assert!(!direct("notcorp.example", 443));
        assert!(direct("a.wild.example", 443));
        assert!(direct("exact.example", 8443));
        assert!(!direct("exact.example", 443));
        assert!(direct("127.0.0.1", 1));
        assert!(direct("[::1]", 9));
        assert!(!direct("[::1]", 10));
        assert!(direct("mixed.example", 443));
        assert!(!direct("elsewhere.example", 443));
        let star = proxies(&[("https_proxy", "proxy:1"), ("no_proxy", "*")]);
        assert!(via(&star, true, "anything.example", 443).is_none());
    }

    #[test]
    fn credentials_become_a_header_and_stay_out_of_debug() {
        let p = proxies(&[("https_proxy", "http://us%40er:p%3Ass@proxy:3128")]);
        let proxy = p.for_destination(true, "a.example", 443).unwrap();
        assert_eq!(proxy.address, "proxy:3128");
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
        assert_eq!(proxy.authorization().unwrap(), format!("Basic {expected}"));
        let debug = format!("{p:?}");
        assert!(
            !debug.contains("p%3Ass") && !debug.contains(&expected),
            "{debug}"
        );
    }
}
