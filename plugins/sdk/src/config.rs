//! The provider's configuration: its `[providers.NAME]` table from the
//! user's `config.toml`.
//!
//! ```no_run
//! #[derive(serde::Deserialize, Default)]
//! #[serde(deny_unknown_fields)]
//! struct Options {
//!     base_url: Option<String>,
//! }
//!
//! # fn demo() -> Result<(), authhost_sdk::types::Error> {
//! let options: Options = authhost_sdk::config::options()?;
//! # Ok(()) }
//! ```

use serde::de::DeserializeOwned;

use crate::bindings::authhost::provider::config as wit;
use crate::types::Error;

/// The name of the provider instance being run (`[providers.NAME]`).
pub fn provider_name() -> String {
    wit::provider_name()
}

/// The provider's table as a JSON object (`{}` when the user configured
/// nothing; the `plugin` key removed).
pub fn json() -> String {
    wit::get()
}

/// The provider's options as `T`. An error names the provider and, when
/// it can, the option: ``invalid [providers.acme] option `base_url`:
/// invalid type: integer `5`, expected a string``. With
/// `#[serde(deny_unknown_fields)]` an unknown key is named too.
pub fn options<T: DeserializeOwned>() -> Result<T, Error> {
    parse(&json(), &provider_name())
}

/// As [`options`], from `json` for `provider` (for tests).
pub fn parse<T: DeserializeOwned>(json: &str, provider: &str) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let reason = without_position(&e.into_inner());
        // An unknown key's error names it already.
        let named = reason.starts_with("unknown field");
        Error::Other(if path == "." || (named && !path.contains('.')) {
            format!("invalid [providers.{provider}] options: {reason}")
        } else {
            format!("invalid [providers.{provider}] option `{path}`: {reason}")
        })
    })
}

/// A serde_json error without its ` at line L column C`: the position is in
/// JSON the host made or a service sent, which means nothing to the user.
pub(crate) fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rsplit_once(" at line ") {
        Some((reason, _)) => reason.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Options {
        base_url: Option<String>,
        port: Option<u16>,
        nested: Option<Nested>,
    }

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        depth: u8,
    }

    fn error(json: &str) -> String {
        match parse::<Options>(json, "acme").unwrap_err() {
            Error::Other(text) => text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_are_typed() {
        let options: Options = parse(r#"{"base_url": "http://x", "port": 8}"#, "acme").unwrap();
        assert_eq!(options.base_url.as_deref(), Some("http://x"));
        assert_eq!(options.port, Some(8));
        assert!(parse::<Options>("{}", "acme").is_ok());
    }

    #[test]
    fn errors_name_the_provider_and_the_option() {
        let typed = error(r#"{"port": "eighty"}"#);
        assert!(
            typed.starts_with("invalid [providers.acme] option `port`: invalid type"),
            "{typed}"
        );
        assert!(!typed.contains("line 1"), "{typed}");
        let unknown = error(r#"{"callback": 3}"#);
        assert!(
            unknown.starts_with("invalid [providers.acme]")
                && unknown.contains("unknown field `callback`"),
            "{unknown}"
        );
        let nested = error(r#"{"nested": {"depth": 300}}"#);
        assert!(nested.contains("option `nested.depth`"), "{nested}");
        let not_object = error("5");
        assert!(
            not_object.starts_with("invalid [providers.acme] options: invalid type"),
            "{not_object}"
        );
    }
}
