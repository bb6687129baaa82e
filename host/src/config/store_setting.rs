//! Editing `[store] backend` in `config.toml` for `authhost store migrate`:
//! the rest of the file (comments, order, formatting) stays as it is.

use std::path::Path;

use crate::Error;
use crate::files::{self, Access};
use crate::store::StoreBackend;

/// Sets `[store] backend` in the file at `path`; returns whether the file
/// changed.
pub(crate) fn set_store_backend(path: &Path, backend: StoreBackend) -> Result<bool, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let edited = edit(&text, path, backend)?;
    if edited == text {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        // Never writable by group or others, whatever the umask: such a
        // folder is refused (see `super::trust`).
        files::create_private_dir(dir)?;
    }
    files::write_atomic(path, edited.as_bytes(), Access::KeepExisting)?;
    Ok(true)
}

fn edit(text: &str, path: &Path, backend: StoreBackend) -> Result<String, Error> {
    let mut doc = super::grants::document(text, path)?;
    let store = doc
        .entry("store")
        .or_insert(toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| Error::Config {
            path: path.to_path_buf(),
            message: "`store` is not a table".into(),
        })?;
    if store.get("backend").and_then(|v| v.as_str()) != Some(backend.name()) {
        store.insert("backend", toml_edit::value(backend.name()));
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_set_and_the_rest_kept() {
        let path = Path::new("/x/config.toml");
        let text = "# mine\n[limits]\nmemory_mib = 32 # small\n";
        let edited = edit(text, path, StoreBackend::Keyring).unwrap();
        assert!(edited.starts_with(text), "{edited}");
        let config = crate::config::Config::parse(&edited, path).unwrap();
        assert_eq!(config.store.backend, StoreBackend::Keyring);
        let back = edit(&edited, path, StoreBackend::File).unwrap();
        assert!(back.contains("backend = \"file\""), "{back}");
        assert_eq!(edit(&back, path, StoreBackend::File).unwrap(), back);
    }
}
