//! `auth.json` as `authhost token` and `authhost list` read it.
//!
//! Checks: nothing panics; a file that does not parse, or an entry that is
//! not a credential, is an error that never repeats a value from the file
//! (a key in a malformed entry must not reach the terminal; the entry's
//! name, a provider, may); `Debug` of a
//! credential never shows its secret.

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
        // The entry's name (the provider) is shown on purpose.
        for secret in secrets.iter().filter(|s| !key.contains(s.as_str())) {
            assert!(!shown.contains(secret.as_str()), "{secret} in {shown}");
        }
    }
});
