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
//! (decided in `policy`).

//!
//! Homes: parsing and printing here and in `origin` and `request`; the
//! question that asks for a grant in `question`; the one check every
//! host call goes through in `granter`; what a plugin's effective set is
//! for a provider in `policy`; the grants written in `config.toml` in
//! `crate::config::grants`.

mod granter;
mod origin;
pub(crate) mod policy;
mod question;
mod request;

use std::fmt;
use std::str::FromStr;

pub(crate) use granter::{Denied, Granter, Use, effective};
pub use origin::Origin;
pub(crate) use origin::origin_of_url;
#[cfg(feature = "cli")]
pub use question::capability_lines;
pub use question::grant_question;
pub use request::Request;

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

#[cfg(test)]
mod tests;
