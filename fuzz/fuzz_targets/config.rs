//! `config.toml`: parsing, and adding grants with `authhost plugins grant`.
//!
//! Checks: nothing panics; adding grants to a file that loads gives a file
//! that still loads, with the grants added and every provider, other plugin
//! and limit unchanged; adding them again changes nothing.

#![no_main]

use std::path::Path;

use authhost::fuzzing::{Capability, Config, edit_grants};
use libfuzzer_sys::fuzz_target;

fn summary(config: &Config) -> String {
    let providers: Vec<_> = config
        .providers
        .iter()
        .map(|(name, p)| {
            (
                name,
                &p.plugin,
                serde_json::Value::Object(p.options.clone()),
            )
        })
        .collect();
    let plugins: Vec<_> = config
        .plugins
        .iter()
        .filter(|(id, _)| id.as_str() != "fuzz")
        .map(|(id, p)| {
            (
                id,
                p.grant.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
        })
        .collect();
    format!("{providers:?} {plugins:?} {:?}", config.limits)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/fuzz/config.toml");
    let Ok(before) = Config::parse(text, path) else {
        return;
    };
    let grants: Vec<Capability> = ["browser", "http:https://api.example.com"]
        .iter()
        .map(|g| g.parse().unwrap())
        .collect();
    let Ok((edited, added)) = edit_grants(text, path, "fuzz", &grants, None) else {
        // `plugins` or `plugins.fuzz` is not a table, or `grant` not an
        // array: reported, nothing written.
        return;
    };
    let after = Config::parse(&edited, path)
        .unwrap_or_else(|e| panic!("edited config does not load: {e}\n---\n{edited}"));
    assert_eq!(summary(&before), summary(&after), "\n---\n{edited}");
    let granted = &after.plugins["fuzz"].grant;
    for grant in &grants {
        assert!(granted.contains(grant), "{grant} missing\n---\n{edited}");
    }
    let had = before
        .plugins
        .get("fuzz")
        .map(|p| p.grant.clone())
        .unwrap_or_default();
    for grant in &added {
        assert!(!had.contains(grant));
    }
    let (again, added_again) = edit_grants(&edited, path, "fuzz", &grants, None).unwrap();
    assert!(added_again.is_empty());
    assert_eq!(again, edited);
});
