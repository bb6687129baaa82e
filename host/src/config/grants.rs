//! Editing `config.toml` for `authhost plugins grant`: the rest of the file
//! (comments, order, formatting) stays as it is.

use std::path::Path;

use crate::Error;
use crate::capability::Capability;
use crate::files::{self, Access};

use super::Config;

/// Adds `grants` to `[plugins.ID] grant` in the file at `path`, keeping the
/// rest of the file (comments, order, formatting) as it is. Returns the
/// grants that were not there yet.
pub(crate) fn add_grants(
    path: &Path,
    id: &str,
    grants: &[Capability],
    sha256: Option<&str>,
) -> Result<Vec<Capability>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let (edited, added) = edit_grants(&text, path, id, grants, sha256)?;
    if edited != text {
        if let Some(dir) = path.parent() {
            // Never writable by group or others, whatever the umask:
            // such a folder is refused (see `super::trust`).
            files::create_private_dir(dir)?;
        }
        files::write_atomic(path, edited.as_bytes(), Access::KeepExisting)?;
    }
    Ok(added)
}

/// [`add_grants`] on the text of the file at `path` (named in errors):
/// returns the new text and the grants that were not there yet. With
/// `sha256`, the grants are bound to that component (see
/// [`super::PluginConfig::sha256`]).
pub fn edit_grants(
    text: &str,
    path: &Path,
    id: &str,
    grants: &[Capability],
    sha256: Option<&str>,
) -> Result<(String, Vec<Capability>), Error> {
    use toml_edit::{Array, Item, Table, value};

    crate::names::check_id(id).map_err(|message| Error::Config {
        path: path.to_path_buf(),
        message,
    })?;
    let mut doc = document(text, path)?;
    let not_a_table = |what: &str| Error::Config {
        path: path.to_path_buf(),
        message: format!("{what} is not a table"),
    };
    let plugins = doc
        .entry("plugins")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or_else(|| not_a_table("`plugins`"))?;
    let plugin = plugins
        .entry(id)
        .or_insert(Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| not_a_table(&format!("`plugins.{id}`")))?;
    let array = plugin
        .entry("grant")
        .or_insert(value(Array::new()))
        .as_array_mut()
        .ok_or_else(|| Error::Config {
            path: path.to_path_buf(),
            message: format!("`plugins.{id}.grant` is not an array"),
        })?;
    let present: Vec<Capability> = array
        .iter()
        .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()))
        .collect();
    let mut added = Vec::new();
    for grant in grants {
        if !present.contains(grant) && !added.contains(grant) {
            array.push(grant.to_string());
            added.push(grant.clone());
        }
    }
    if let Some(sha256) = sha256 {
        plugin.insert("sha256", value(sha256));
    }
    Ok((doc.to_string(), added))
}

/// Removes `grants` from `[plugins.ID] grant` in the file at `path`,
/// keeping the rest of the file as it is. Returns the grants that were
/// there.
pub(crate) fn remove_grants(
    path: &Path,
    id: &str,
    grants: &[Capability],
) -> Result<Vec<Capability>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let mut doc = document(&text, path)?;
    let Some(array) = doc
        .get_mut("plugins")
        .and_then(|p| p.get_mut(id))
        .and_then(|p| p.get_mut("grant"))
        .and_then(|g| g.as_array_mut())
    else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    array.retain(|v| {
        let capability: Option<Capability> = v.as_str().and_then(|s| s.parse().ok());
        match capability {
            Some(c) if grants.contains(&c) => {
                if !removed.contains(&c) {
                    removed.push(c);
                }
                false
            }
            _ => true,
        }
    });
    let edited = doc.to_string();
    if edited != text {
        files::write_atomic(path, edited.as_bytes(), Access::KeepExisting)?;
    }
    Ok(removed)
}

/// Removes the whole `[plugins.ID]` table (its grants and `sha256`) from
/// the file at `path`, keeping the rest of the file as it is. Returns
/// whether there was one.
pub(crate) fn remove_plugin_table(path: &Path, id: &str) -> Result<bool, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let mut doc = document(&text, path)?;
    let Some(plugins) = doc.get_mut("plugins").and_then(|p| p.as_table_like_mut()) else {
        return Ok(false);
    };
    if plugins.remove(id).is_none() {
        return Ok(false);
    }
    files::write_atomic(path, doc.to_string().as_bytes(), Access::KeepExisting)?;
    Ok(true)
}

/// The editable document of `text` (the file at `path`). A file that does
/// not load is refused: the user should see its error, not have it edited.
pub(super) fn document(text: &str, path: &Path) -> Result<toml_edit::DocumentMut, Error> {
    Config::parse(text, path)?;
    text.parse()
        .map_err(|e: toml_edit::TomlError| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_keep_comments_and_formatting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = "# my providers\n[providers.openrouter]\nbase_url = \"https://openrouter.ai\"  # prod\n\n[plugins.acme]\ngrant = [\"browser\"] # ok\n";
        std::fs::write(&path, original).unwrap();
        let caps: Vec<Capability> = ["browser", "prompt", "http:https://api.acme.example"]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        let added = add_grants(&path, "acme", &caps, None).unwrap();
        assert_eq!(added.len(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my providers\n"), "{text}");
        assert!(
            text.contains("base_url = \"https://openrouter.ai\"  # prod"),
            "{text}"
        );
        let config = Config::load(&path).unwrap();
        assert_eq!(config.plugins["acme"].grant, caps);
        assert!(add_grants(&path, "acme", &caps, None).unwrap().is_empty());
        add_grants(&path, "other", &caps[..1], Some(&"ab".repeat(32))).unwrap();
        assert_eq!(
            Config::load(&path).unwrap().plugins["other"].grant,
            caps[..1]
        );
        let removed = remove_grants(&path, "acme", &caps[1..]).unwrap();
        assert_eq!(removed, caps[1..]);
        assert_eq!(
            Config::load(&path).unwrap().plugins["acme"].grant,
            caps[..1]
        );
        assert!(remove_grants(&path, "nobody", &caps).unwrap().is_empty());
        assert!(remove_plugin_table(&path, "other").unwrap());
        assert!(!remove_plugin_table(&path, "other").unwrap());
        assert!(!Config::load(&path).unwrap().plugins.contains_key("other"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my providers\n"), "{text}");
    }
}
