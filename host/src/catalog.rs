//! The catalog of well-known providers (`host/catalog.toml`, a data file
//! that `build.rs` checks and compiles into a table): the API-key providers
//! AI tools use, each working with no configuration.
//!
//! A catalog provider that `config.toml` does not configure is implemented
//! by the entry's plugin (the built-in `api-key`, which stores a pasted key,
//! unless the entry names another) with the entry's options (its `check`
//! endpoint). A `[providers.ID]` table overrides the entry: with the same
//! plugin its options are laid over the entry's; with another plugin the
//! entry's options are not used.

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Map, Value};

/// The plugin that stores a pasted key for a catalog provider.
pub const API_KEY_PLUGIN: &str = "api-key";

/// One well-known provider.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Entry {
    /// The provider name, e.g. `anthropic`.
    pub id: String,
    /// Its name for people, e.g. `Anthropic`.
    pub name: String,
    /// The environment variable tools read its key from.
    pub env: Option<String>,
    /// How its keys start, when the vendor documents it.
    pub key_prefix: Vec<String>,
    /// The plugin that implements it.
    pub plugin: String,
    /// Where to get a key.
    pub docs: Option<String>,
    /// The options handed to the plugin (the `check` endpoint).
    #[serde(skip)]
    pub(crate) options: Map<String, Value>,
}

impl Entry {
    /// A warning when `key` does not start the way this vendor's keys do
    /// (never a refusal: vendors change formats). Never contains the key.
    pub fn prefix_warning(&self, key: &str) -> Option<String> {
        if self.key_prefix.is_empty() || self.key_prefix.iter().any(|p| key.starts_with(p)) {
            return None;
        }
        Some(format!(
            "this does not look like an API key from {} (theirs start with {}); it was stored all the same",
            self.name,
            self.key_prefix
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    }
}

/// A catalog entry as `build.rs` writes it from `catalog.toml`.
struct Raw {
    id: &'static str,
    name: &'static str,
    env: Option<&'static str>,
    key_prefix: &'static [&'static str],
    plugin: Option<&'static str>,
    check_url: Option<&'static str>,
    check_auth: Option<&'static str>,
    check_headers: &'static [(&'static str, &'static str)],
    docs: Option<&'static str>,
}

// `const CATALOG: &[Raw]`, sorted by id.
include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// Every catalog entry, sorted by id.
pub fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| CATALOG.iter().map(Raw::entry).collect())
}

/// The entry of provider `id`. A name that is not in the catalog (most
/// configured providers) is answered from the static table alone.
pub fn get(id: &str) -> Option<&'static Entry> {
    let index = CATALOG.binary_search_by(|raw| raw.id.cmp(id)).ok()?;
    entries().get(index)
}

impl Raw {
    fn entry(&self) -> Entry {
        let mut options = Map::new();
        if let Some(url) = self.check_url {
            options.insert("check_url".into(), url.into());
        }
        if let Some(auth) = self.check_auth {
            options.insert("check_auth".into(), auth.into());
        }
        if !self.check_headers.is_empty() {
            let headers = self
                .check_headers
                .iter()
                .map(|&(k, v)| (k.to_owned(), Value::from(v)))
                .collect();
            options.insert("check_headers".into(), Value::Object(headers));
        }
        Entry {
            id: self.id.to_owned(),
            name: self.name.to_owned(),
            env: self.env.map(str::to_owned),
            key_prefix: self.key_prefix.iter().map(|&p| p.to_owned()).collect(),
            plugin: self.plugin.unwrap_or(API_KEY_PLUGIN).to_owned(),
            docs: self.docs.map(str::to_owned),
            options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_so_that_lookups_find_every_entry() {
        assert!(CATALOG.windows(2).all(|w| w[0].id < w[1].id));
        for entry in entries() {
            assert_eq!(get(&entry.id).unwrap().id, entry.id);
        }
        assert!(get("not-in-the-catalog").is_none());
    }

    #[test]
    fn the_catalog_is_complete_and_well_formed() {
        let ids: Vec<&str> = entries().iter().map(|e| e.id.as_str()).collect();
        for id in [
            "anthropic",
            "openai",
            "gemini",
            "mistral",
            "groq",
            "deepseek",
            "xai",
            "together",
            "fireworks",
            "cerebras",
            "perplexity",
            "huggingface",
            "github-models",
            "openrouter",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
        for entry in entries() {
            crate::names::check_id(&entry.id).unwrap();
            assert!(
                entry.env.as_deref().is_some_and(|e| !e.is_empty()),
                "{}",
                entry.id
            );
            if let Some(Value::String(url)) = entry.options.get("check_url") {
                assert!(url.starts_with("https://"), "{url}");
            }
        }
        assert_eq!(get("openrouter").unwrap().plugin, "openrouter");
        assert_eq!(get("anthropic").unwrap().plugin, API_KEY_PLUGIN);
    }

    #[test]
    fn a_key_with_the_wrong_prefix_gets_a_warning_that_does_not_repeat_it() {
        let anthropic = get("anthropic").unwrap();
        assert!(anthropic.prefix_warning("sk-ant-api03-abc").is_none());
        let warning = anthropic.prefix_warning("sk-or-v1-secret").unwrap();
        assert!(
            warning.contains("sk-ant-") && !warning.contains("secret"),
            "{warning}"
        );
        assert!(get("mistral").unwrap().prefix_warning("anything").is_none());
    }
}
