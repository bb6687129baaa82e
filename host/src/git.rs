//! git's credential-helper protocol, for `authhost git-credential`.
//!
//! git writes `key=value` lines (`protocol`, `host`, `path`, `username`,
//! `password`, `url`) until a blank line or the end of input; a helper's
//! `get` answers with `username=` and `password=` lines, or with nothing so
//! that git asks its next helper. A provider serves the hosts its
//! `[providers.X] git_hosts` lists ([`GitHost`]); see
//! [`Host::git_credential`](crate::Host::git_credential).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// What git asks of a helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A credential for the request.
    Get,
    /// The credential in the request worked.
    Store,
    /// The credential in the request was rejected.
    Erase,
}

/// A request from git.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Request {
    /// `https`, `http`, …
    pub protocol: Option<String>,
    /// The host, with `:PORT` when the URL has one.
    pub host: Option<String>,
    /// The path in the repository URL (git sends it only with
    /// `credential.useHttpPath`).
    pub path: Option<String>,
    /// The user name, from the URL or an earlier helper.
    pub username: Option<String>,
    /// The password (`store` and `erase` only).
    pub password: Option<SecretString>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("protocol", &self.protocol)
            .field("host", &self.host)
            .field("path", &self.path)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Request {
    /// Parses what git wrote: lines up to a blank line or the end; keys
    /// authhost does not use (`capability[]`, `wwwauth[]`, …) are skipped.
    pub fn parse(text: &str) -> Result<Request, Error> {
        let mut request = Request::default();
        for line in text.lines() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                break;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(Error::GitRequest(format!(
                    "a line without `=` ({} characters)",
                    line.chars().count()
                )));
            };
            let value = value.to_owned();
            match key {
                "protocol" => request.protocol = Some(value),
                "host" => request.host = Some(value),
                "path" => request.path = Some(value),
                "username" => request.username = Some(value),
                "password" => request.password = Some(SecretString::from(value)),
                "url" => request.take_url(&value)?,
                _ => {}
            }
        }
        Ok(request)
    }

    /// `url=`: its parts, as git would send them separately.
    fn take_url(&mut self, text: &str) -> Result<(), Error> {
        let url = url::Url::parse(text)
            .map_err(|e| Error::GitRequest(format!("`url` is not a URL ({e})")))?;
        self.protocol = Some(url.scheme().to_owned());
        if let Some(host) = url.host_str() {
            self.host = Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            });
        }
        let path = url.path().trim_start_matches('/');
        if !path.is_empty() {
            self.path = Some(path.to_owned());
        }
        if !url.username().is_empty() {
            self.username = Some(url.username().to_owned());
        }
        Ok(())
    }
}

/// An entry of `git_hosts`: `[SCHEME://]HOST[:PORT][/PATH-PREFIX]`.
///
/// Without a scheme it matches `https` only: a key is sent over plain HTTP
/// only to a host written `http://HOST`. Host names compare without regard
/// to case; a path prefix matches whole segments (`org` matches `org/repo`,
/// not `organisation/repo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHost {
    scheme: String,
    host: String,
    path: Option<String>,
}

impl std::str::FromStr for GitHost {
    type Err = String;

    fn from_str(text: &str) -> Result<GitHost, String> {
        let invalid =
            |why: &str| format!("`{}` is not a git host pattern: {why}", text.escape_debug());
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_owned(), text),
        };
        if !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            || scheme.is_empty()
        {
            return Err(invalid("the scheme is not valid"));
        }
        let (host, path) = match rest.split_once('/') {
            Some((host, path)) => (host, Some(path.trim_matches('/'))),
            None => (rest, None),
        };
        if host.is_empty()
            || host.contains(['@', '*', ' ', '?', '#'])
            || host.chars().any(char::is_control)
        {
            return Err(invalid(
                "write a host name, e.g. `github.com` or `127.0.0.1:3000`",
            ));
        }
        Ok(GitHost {
            scheme,
            host: host.to_ascii_lowercase(),
            path: path.filter(|p| !p.is_empty()).map(str::to_owned),
        })
    }
}

impl fmt::Display for GitHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(path) = &self.path {
            write!(f, "/{path}")?;
        }
        Ok(())
    }
}

impl GitHost {
    /// How well this pattern matches `request`: `None` when it does not,
    /// else a rank that grows with the length of its path prefix.
    pub fn rank(&self, request: &Request) -> Option<usize> {
        let protocol = request.protocol.as_deref()?.to_ascii_lowercase();
        let host = request.host.as_deref()?.to_ascii_lowercase();
        if protocol != self.scheme || host != self.host {
            return None;
        }
        let Some(prefix) = &self.path else {
            return Some(0);
        };
        let path = request.path.as_deref()?.trim_start_matches('/');
        let rest = path.strip_prefix(prefix.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(1 + prefix.len())
    }
}

/// The answer to `get`.
#[non_exhaustive]
pub struct Answer {
    /// The user name to send.
    pub username: String,
    /// The key.
    pub password: SecretString,
    /// When the key expires, in seconds since the epoch.
    pub expiry_utc: Option<u64>,
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("username", &self.username)
            .field("expiry_utc", &self.expiry_utc)
            .finish_non_exhaustive()
    }
}

impl Answer {
    /// The lines git reads. A value with a line break or NUL would change
    /// the meaning of the answer: refused.
    pub fn to_protocol(&self) -> Result<SecretString, Error> {
        let bad = |v: &str| v.contains(['\n', '\r', '\0']);
        if bad(&self.username) {
            return Err(Error::GitRequest(
                "the user name has a line break; change `git_username`".into(),
            ));
        }
        if bad(self.password.expose_secret()) {
            return Err(Error::GitRequest(
                "the key has a line break or NUL, which git's protocol cannot carry".into(),
            ));
        }
        let mut text = format!(
            "username={}\npassword={}\n",
            self.username,
            self.password.expose_secret()
        );
        if let Some(expiry) = self.expiry_utc {
            text.push_str(&format!("password_expiry_utc={expiry}\n"));
        }
        Ok(SecretString::from(text))
    }
}

/// The user name sent when neither `git_username` nor the URL gives one:
/// what GitHub documents for tokens (any non-empty name works there).
pub const DEFAULT_USERNAME: &str = "x-access-token";

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> Request {
        Request::parse(text).unwrap()
    }

    #[test]
    fn requests_are_parsed_up_to_the_blank_line() {
        let r = request(
            "protocol=https\nhost=GitHub.com\npath=org/repo.git\ncapability[]=authtype\n\nhost=evil\n",
        );
        assert_eq!(r.host.as_deref(), Some("GitHub.com"));
        assert_eq!(r.path.as_deref(), Some("org/repo.git"));
        let r = request("url=http://me@127.0.0.1:8080/x/y.git\n");
        assert_eq!(r.protocol.as_deref(), Some("http"));
        assert_eq!(r.host.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(r.path.as_deref(), Some("x/y.git"));
        assert_eq!(r.username.as_deref(), Some("me"));
        let r = request("password=hunter2\n");
        assert!(!format!("{r:?}").contains("hunter2"));
        assert!(Request::parse("nonsense\n").is_err());
    }

    #[test]
    fn patterns_match_scheme_host_and_whole_path_segments() {
        let r = request("protocol=https\nhost=github.com\npath=org/repo.git\n");
        let p = |t: &str| t.parse::<GitHost>().unwrap();
        assert_eq!(p("github.com").rank(&r), Some(0));
        assert_eq!(p("GitHub.com/org").rank(&r), Some(4));
        assert_eq!(p("github.com/or").rank(&r), None);
        assert_eq!(p("http://github.com").rank(&r), None);
        assert_eq!(p("gitlab.com").rank(&r), None);
        let plain = request("protocol=http\nhost=github.com\n");
        assert_eq!(p("github.com").rank(&plain), None, "https only by default");
        assert_eq!(p("http://github.com").rank(&plain), Some(0));
        let no_path = request("protocol=https\nhost=github.com\n");
        assert_eq!(p("github.com/org").rank(&no_path), None);
        assert!("".parse::<GitHost>().is_err());
        assert!("user@host".parse::<GitHost>().is_err());
        assert!("*.example.com".parse::<GitHost>().is_err());
    }

    #[test]
    fn answers_refuse_line_breaks() {
        let answer = Answer {
            username: "x".into(),
            password: SecretString::from("a\nprotocol=http"),
            expiry_utc: None,
        };
        assert!(answer.to_protocol().is_err());
        let answer = Answer {
            username: "x".into(),
            password: SecretString::from("k"),
            expiry_utc: Some(7),
        };
        assert_eq!(
            answer.to_protocol().unwrap().expose_secret(),
            "username=x\npassword=k\npassword_expiry_utc=7\n"
        );
    }
}
