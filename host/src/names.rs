//! The names authhost checks: plugin and method ids (the WIT's rule) and
//! provider names (the keys of `[providers.NAME]` and of the store). One
//! place, used by the configuration, the plugin loader and the catalog.

use crate::sanitize;

/// Plugin ids and method ids follow the WIT's rule: 1-64 lowercase ASCII
/// letters, digits and `-`, starting with a letter.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid id (use lowercase letters, digits and `-`, starting with a letter)",
            sanitize::plugin_text(id, 64)
        ))
    }
}

/// Provider names and plugin ids: ASCII letters, digits, `-` and `_`.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid name (use 1-64 ASCII letters, digits, `-` or `_`)"
        ))
    }
}
