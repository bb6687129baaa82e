//! What a plugin may do: the one place that decides.
//!
//! A plugin's effective capabilities for a provider instance are the
//! intersection of
//!
//! - what it **requests** in its metadata (described once per component),
//!   with `http:{OPTION}` requests expanded from that instance's
//!   `[providers.NAME]` options, and
//! - what it is **granted**: a built-in, whose code ships with authhost, is
//!   granted what it requests; a folder plugin what the user wrote in
//!   `[plugins.ID] grant`, and only while the component is the one the
//!   grant was made for (`sha256`, recorded by `authhost plugins grant`).
//!
//! The result is a [`Granter`], the check every import goes through.
//!
//! The inputs are plain data ([`Subject`], the provider's options, the
//! [`UserGrant`]): this module knows neither how plugins are loaded nor how
//! `config.toml` is read, so nothing below it depends back on it.

use serde_json::{Map, Value};

use super::{Capability, Granter, Request, effective, origin_of_url};

/// The options of a provider instance (`[providers.NAME]` less its own
/// keys).
pub(crate) type Options = Map<String, Value>;

/// The plugin a decision is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    /// Its id.
    pub id: &'a str,
    /// What its metadata requests.
    pub requested: &'a [Request],
    /// A built-in (granted what it requests) rather than a folder plugin.
    pub builtin: bool,
    /// The SHA-256 (hex) of its component.
    pub digest: &'a str,
}

/// What the user granted a folder plugin (`[plugins.ID]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserGrant<'a> {
    /// The capabilities granted.
    pub grant: &'a [Capability],
    /// The component the grant was made for, when recorded.
    pub sha256: Option<&'a str>,
}

/// What a plugin may do for one provider instance, and why.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    /// Requested and granted: what the granter allows.
    pub effective: Vec<Capability>,
    /// Requested, and no grant covers or narrows it.
    pub missing: Vec<Capability>,
    /// Why the user's grants are not in force, when they are not.
    pub suspended: Option<String>,
    /// Requests that cannot be expanded for this instance: an option an
    /// `http:{OPTION}` request names is set to something that is not an
    /// http(s) URL. The plugin is not run for the instance until the
    /// option is fixed.
    pub invalid: Vec<String>,
}

impl Decision {
    /// The granter for calls under this decision.
    pub fn granter(&self, plugin: &str) -> Granter {
        Granter::allowing(plugin, self.effective.clone())
    }
}

/// Decides what `plugin` may do as provider `name` (its options, when
/// configured), under what the user granted it.
pub(crate) fn decide(
    plugin: Subject<'_>,
    name: &str,
    options: Option<&Options>,
    user: Option<UserGrant<'_>>,
) -> Decision {
    let (requested, invalid) = expand(plugin.requested, name, options);
    let (granted, suspended) = if plugin.builtin {
        (requested.clone(), None)
    } else {
        folder_grants(plugin, user)
    };
    let effective = effective(&requested, &granted);
    let missing = requested
        .iter()
        .filter(|r| !granted.iter().any(|g| g.covers(r) || r.covers(g)))
        .cloned()
        .collect();
    Decision {
        effective,
        missing,
        suspended,
        invalid,
    }
}

/// The user's grants for a folder plugin, unless they were made for
/// another component than this one.
fn folder_grants(
    plugin: Subject<'_>,
    user: Option<UserGrant<'_>>,
) -> (Vec<Capability>, Option<String>) {
    let Some(settings) = user else {
        return (Vec::new(), None);
    };
    match settings.sha256 {
        Some(granted_for) if !granted_for.eq_ignore_ascii_case(plugin.digest) => (
            Vec::new(),
            Some(format!(
                "the grants in [plugins.{}] were made for another build of this plugin \
                 (sha256 {}…, this file is {}…); review it and grant again with \
                 `authhost plugins grant {}`",
                plugin.id,
                &granted_for[..granted_for.len().min(12)],
                &plugin.digest[..plugin.digest.len().min(12)],
                plugin.id,
            )),
        ),
        _ => (settings.grant.to_vec(), None),
    }
}

/// `requests` for provider instance `name` (with options `options`):
///
/// - a fixed capability stays as it is;
/// - `http:{OPTION}` becomes the origin (`scheme://host[:port]`) of the
///   http or https URL in `[providers.NAME] OPTION`, whatever its path;
/// - when the option is not set, `http:{OPTION=DEFAULT}` becomes the
///   default's origin and `http:{OPTION}` asks for nothing (the plugin can
///   reach nothing for an endpoint the user did not configure);
/// - an option set to anything but an http(s) URL is an error naming the
///   provider and the option (second list), never a silent "nothing".
pub(crate) fn expand(
    requests: &[Request],
    name: &str,
    options: Option<&Options>,
) -> (Vec<Capability>, Vec<String>) {
    let mut out: Vec<Capability> = Vec::new();
    let mut invalid = Vec::new();
    for request in requests {
        let capability = match request {
            Request::Fixed(c) => Some(c.clone()),
            Request::HttpFromOption { option, default } => {
                match options.and_then(|o| o.get(option)) {
                    Some(value) => match value.as_str().and_then(origin_of_url) {
                        Some(origin) => Some(Capability::Http(origin)),
                        None => {
                            invalid.push(format!(
                                "[providers.{name}] {option} must be an http or https URL \
                                 (its plugin may send HTTP to that URL's origin: `{request}`)"
                            ));
                            None
                        }
                    },
                    None => default.clone().map(Capability::Http),
                }
            }
        };
        if let Some(c) = capability
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    (out, invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests(texts: &[&str]) -> Vec<Request> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    fn strings(caps: &[Capability]) -> Vec<String> {
        caps.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn option_requests_expand_per_instance() {
        let reqs = requests(&[
            "prompt",
            "http:{base_url=https://openrouter.ai}",
            "http:{extra}",
        ]);
        let expand = |reqs: &[Request], p: Option<&Options>| {
            let (caps, invalid) = expand(reqs, "x", p);
            assert!(invalid.is_empty(), "{invalid:?}");
            caps
        };
        assert_eq!(
            strings(&expand(&reqs, None)),
            ["prompt", "http:https://openrouter.ai"]
        );
        let mut local = Options::default();
        local.insert("base_url".into(), "http://127.0.0.1:4567/api".into());
        local.insert("extra".into(), "https://x.example/y".into());
        assert_eq!(
            strings(&expand(&reqs, Some(&local))),
            [
                "prompt",
                "http:http://127.0.0.1:4567",
                "http:https://x.example"
            ]
        );
        for value in [
            serde_json::json!("file:///etc"),
            serde_json::json!("openrouter.ai"),
            serde_json::json!(42),
        ] {
            let mut bad = Options::default();
            bad.insert("base_url".into(), value);
            let (caps, invalid) = super::expand(&reqs, "work", Some(&bad));
            assert_eq!(strings(&caps), ["prompt"]);
            assert_eq!(invalid.len(), 1);
            assert!(
                invalid[0].starts_with("[providers.work] base_url must be an http or https URL"),
                "{invalid:?}"
            );
        }
    }
}
