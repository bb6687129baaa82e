//! JSON files holding secrets: `auth.json` and the helper cache.
//!
//! A file is a JSON object keyed by provider. Reads take no lock (writers
//! replace the file atomically, so a reader sees the old or the new version).
//! Writers take an exclusive lock on a sidecar `.lock` file (checked and
//! waited for within a bound, see [`crate::files::lock`]), re-read, change
//! one entry, write a temporary file (mode 0600) in the same directory, sync
//! it and rename it over the old one, so concurrent authhost processes lose
//! no update and a crash never leaves a half-written file. Entries authhost
//! does not understand are kept as they are. A file that is not valid JSON is
//! reported with its path and never overwritten.
//!
//! A host without files keeps the same object in memory instead
//! ([`JsonStore::memory`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Error;
use crate::files::{self, Access};

/// A JSON object file of secrets, keyed by provider.
#[derive(Clone)]
pub struct JsonStore {
    path: PathBuf,
    /// The longest wait for the lock of a write.
    lock_wait: Duration,
    /// The entries, for a store kept in memory (`path` is then only a name
    /// for messages).
    memory: Option<Arc<Mutex<Map<String, Value>>>>,
}

impl std::fmt::Debug for JsonStore {
    // The entries hold secrets: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonStore")
            .field("path", &self.path)
            .field("in_memory", &self.memory.is_some())
            .finish()
    }
}

impl JsonStore {
    /// The store at `path` (created on first write), its writes waiting at
    /// most `lock_wait` for the lock (the call timeout plus a margin: the
    /// longest any authhost process may hold it, see
    /// [`crate::files::lock::longest_wait`]).
    pub fn new(path: impl Into<PathBuf>, lock_wait: Duration) -> JsonStore {
        JsonStore {
            path: path.into(),
            lock_wait,
            memory: None,
        }
    }

    /// A store in this process's memory, named `name` in messages.
    pub fn memory(name: &str) -> JsonStore {
        JsonStore {
            path: PathBuf::from(name),
            lock_wait: Duration::ZERO,
            memory: Some(Arc::default()),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every entry; a missing file has none.
    pub fn read(&self) -> Result<Map<String, Value>, Error> {
        if let Some(memory) = &self.memory {
            return Ok(memory.lock().unwrap_or_else(|e| e.into_inner()).clone());
        }
        let bytes = match read_private(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => return Err(Error::io("cannot read", &self.path, e)),
        };
        parse(&bytes).map_err(|message| self.corrupt(message))
    }

    /// Reads the entry for `key` as `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.read()?.remove(key) {
            None => Ok(None),
            Some(value) => self.decode(key, value).map(Some),
        }
    }

    /// The entry `value` stored under `key` as `T`; the error names the entry
    /// and what is wrong with it, never the values it holds.
    pub fn decode<T: DeserializeOwned>(&self, key: &str, value: Value) -> Result<T, Error> {
        serde_json::from_value(value)
            .map_err(|e| self.corrupt(format!("entry `{key}`: {}", redact_serde(&e))))
    }

    /// Sets (`Some`) or removes (`None`) the entry for `key` under the lock;
    /// returns whether an entry was there before.
    pub fn put<T: Serialize>(&self, key: &str, value: Option<&T>) -> Result<bool, Error> {
        let value = value.map(serde_json::to_value).transpose().map_err(|e| {
            self.corrupt(format!("cannot encode entry `{key}`: {}", redact_serde(&e)))
        })?;
        self.update(|map| match value {
            Some(v) => map.insert(key.to_owned(), v).is_some(),
            None => map.remove(key).is_some(),
        })
    }

    /// Runs `change` on the entries under the lock and writes the result.
    pub fn update<R>(&self, change: impl FnOnce(&mut Map<String, Value>) -> R) -> Result<R, Error> {
        if let Some(memory) = &self.memory {
            return Ok(change(
                &mut memory.lock().unwrap_or_else(|e| e.into_inner()),
            ));
        }
        // Creates the folder when missing.
        let _lock = self.lock()?;
        let mut map = self.read()?;
        let result = change(&mut map);
        self.write(&map)?;
        Ok(result)
    }

    /// Takes the lock of writers: `NAME.lock` beside the file.
    fn lock(&self) -> Result<files::lock::Held, Error> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        files::lock::lock(&self.path.with_file_name(name), self.lock_wait)
    }

    fn write(&self, map: &Map<String, Value>) -> Result<(), Error> {
        files::remove_leftovers(&self.path);
        let mut bytes = serde_json::to_vec_pretty(map).expect("a JSON map always encodes");
        bytes.push(b'\n');
        files::write_atomic(&self.path, &bytes, Access::Private)
    }

    fn corrupt(&self, message: String) -> Error {
        Error::CorruptStore {
            path: self.path.clone(),
            message,
        }
    }
}

/// The entries of a store file's contents; blank contents have none. The
/// error says what is wrong and where, never what the file holds.
pub(crate) fn parse(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the top level is not a JSON object".into()),
        // serde_json's syntax errors name a position, never the content.
        Err(e) => Err(e.to_string()),
    }
}

/// serde's messages may quote a value ("invalid type: string \"sk-...\""):
/// keep only the part before the first double quote. Field and variant
/// names, which serde puts in backquotes (missing field `key`), are kept:
/// they are not secret, and they say what to fix.
pub(crate) fn redact_serde(e: &serde_json::Error) -> String {
    let mut text = e.to_string();
    if let Some(i) = text.find('"') {
        text = format!("{}…", text[..i].trim_end());
    }
    // Serde quotes values in backquotes too: the value of a field that is
    // not a name (`unknown variant` and the entry's `type`) and an
    // unexpected number or character (`invalid type: integer` and the
    // number). Those are dropped; field names and what serde expected are
    // kept.
    for marker in [
        "unknown variant `",
        "integer `",
        "floating point `",
        "boolean `",
        "character `",
    ] {
        while let Some(start) = text.find(marker)
            && let Some(len) = text[start + marker.len()..].find('`')
        {
            // From the space before the backquote to the closing one.
            let end = start + marker.len() + len + 1;
            text.replace_range(start + marker.len() - 2..end, "");
        }
    }
    text
}

/// Reads a secrets file, refusing symbolic links and tightening a mode that
/// lets other users read it.
fn read_private(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Err(std::io::Error::other(
            "it is a symbolic link; authhost keeps secrets only in regular files",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "mode was {mode:o}, readable by other users; changing it to 600"
            );
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    std::fs::read(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_variant_is_named_without_its_value() {
        let e = serde_json::from_str::<crate::store::credential::Credential>(
            r#"{"type": "sk-secret-123"}"#,
        )
        .unwrap_err();
        let text = redact_serde(&e);
        assert!(!text.contains("sk-secret"), "{text}");
        assert!(text.contains("unknown variant"), "{text}");
        assert!(text.contains("`api`"), "{text}");
        let e = serde_json::from_str::<crate::store::credential::Credential>(
            r#"{"type": "api", "key": 98765432}"#,
        )
        .unwrap_err();
        let text = redact_serde(&e);
        assert!(!text.contains("98765432"), "{text}");
        assert!(text.contains("invalid type: integer"), "{text}");
    }

    #[test]
    fn keeps_unknown_entries_and_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(&path, r#"{"other": {"type": "future", "x": [1]}}"#).unwrap();
        let store = JsonStore::new(&path, Duration::from_secs(5));
        store
            .put("a", Some(&serde_json::json!({"type": "api", "key": "k"})))
            .unwrap();
        let map = store.read().unwrap();
        assert_eq!(map["other"]["x"][0], 1);
        assert_eq!(map["a"]["key"], "k");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(store.put::<Value>("a", None).unwrap());
        assert!(!store.read().unwrap().contains_key("a"));
    }

    #[test]
    fn corrupt_files_are_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(&path, r#"{"a": {"type": "api", "key": "sk-secret"#).unwrap();
        let store = JsonStore::new(&path, Duration::from_secs(5));
        let err = store.read().unwrap_err().to_string();
        assert!(
            err.contains("auth.json") && err.contains("corrupt"),
            "{err}"
        );
        assert!(!err.contains("sk-secret"));
        assert!(store.put("b", Some(&1)).is_err());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .ends_with("sk-secret")
        );
    }

    #[test]
    fn wrong_entry_types_do_not_leak_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(
            &path,
            r#"{"a": {"type": "api", "key": 7, "x": "sk-secret"}, "b": "sk-secret"}"#,
        )
        .unwrap();
        let store = JsonStore::new(&path, Duration::from_secs(5));
        for key in ["a", "b"] {
            let err = store.get::<crate::Credential>(key).unwrap_err().to_string();
            assert!(!err.contains("sk-secret"), "{err}");
        }
    }
}
