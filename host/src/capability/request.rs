//! Capabilities as a plugin requests them: fixed, or an HTTP origin taken
//! from a provider option.

use std::fmt;
use std::str::FromStr;

use super::{Capability, Origin, ParseError, origin_of_url};

/// A capability as a plugin requests it: a [`Capability`], or an HTTP
/// origin taken from one of the provider's options, written
/// `http:{OPTION}` or `http:{OPTION=DEFAULT-URL}` (e.g.
/// `http:{base_url=https://openrouter.ai}`). The host expands it for each
/// provider instance from `[providers.NAME] OPTION` (see
/// `crate::capability::policy`), so a plugin's metadata stays the same for every
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
