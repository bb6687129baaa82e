//! `auth.json` as `authhost token` and `authhost list` read it.
//!
//! Checks: nothing panics; a file that does not parse, or an entry that is
//! not a credential, is an error that never repeats a value from the file
//! (a key in a malformed entry must not reach the terminal; the entry's
//! name, a provider, may); `Debug` of a
//! credential never shows its secret. Names in the file (the provider's,
//! and the field names of an entry, which `Debug` lists) are shown on
//! purpose, so a secret-like string that also occurs inside a name is not
//! counted as leaked.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Strings in the file that look like secrets: long runs of key-like
/// characters (too long and too specific to occur in a message template).
fn secret_like(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if s.len() >= 12
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                out.push(s.clone());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| secret_like(v, out)),
        Value::Object(map) => map.values().for_each(|v| secret_like(v, out)),
        _ => {}
    }
}

/// Every object key in the value, at any depth.
fn names(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| names(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            names(v, out);
        }),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let entries = match authhost::fuzzing::store_entries(data) {
        Ok(entries) => entries,
        Err(message) => {
            assert!(!message.contains('"'), "{message}");
            return;
        }
    };
    for (key, value, decoded) in entries {
        let shown = match decoded {
            Ok(credential) => format!("{credential:?}"),
            Err(error) => format!("{error} {error:?}"),
        };
        let mut secrets = Vec::new();
        secret_like(&value, &mut secrets);
        let mut shown_names = vec![key];
        names(&value, &mut shown_names);
        let named = |secret: &str| shown_names.iter().any(|name| name.contains(secret));
        for secret in secrets.iter().filter(|s| !named(s.as_str())) {
            assert!(!shown.contains(secret.as_str()), "{secret} in {shown}");
        }
    }
});
