//! The text that asks the user for a grant: built in one place, only from
//! sanitised text, so what the user reads is what is granted.

use super::Capability;

/// `capabilities` one a line, each with what it allows, the dangerous ones
/// marked `!` (and a line saying what `!` means): built only from
/// sanitised text, for a question or a listing.
pub fn capability_lines(capabilities: &[Capability]) -> String {
    let shown: Vec<String> = capabilities.iter().map(ToString::to_string).collect();
    let width = shown.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for (capability, name) in capabilities.iter().zip(&shown) {
        let mark = if capability.is_dangerous() { '!' } else { ' ' };
        let meaning = capability.meaning();
        text.push_str(&format!("  {mark} {name:<width$}  {meaning}\n"));
    }
    if capabilities.iter().any(Capability::is_dangerous) {
        text.push_str(
            "  (! gives the plugin your own rights on this computer: grant it only to code you trust)\n",
        );
    }
    text
}

/// The yes/no question asked before plugin `plugin` is granted
/// `capabilities` (to log in to `provider`, when the grant is asked for at
/// a login): [`capability_lines`] under a line naming the plugin, then the
/// question. Built only from sanitised text, so what the user reads is
/// what is granted; the answer prompt (`[y/N]`) is the caller's.
pub fn grant_question(plugin: &str, provider: Option<&str>, capabilities: &[Capability]) -> String {
    use crate::sanitize::plugin_text;
    let plugin = plugin_text(plugin, 64);
    let mut text = match provider {
        Some(provider) => format!(
            "Plugin {plugin} asks for these capabilities to log in to {}:\n",
            plugin_text(provider, 64)
        ),
        None => format!("Plugin {plugin} asks for these capabilities:\n"),
    };
    text.push_str(&capability_lines(capabilities));
    let count = match capabilities.len() {
        1 => "it".to_owned(),
        n => format!("all {n}"),
    };
    text.push_str(&format!("Grant {count} to {plugin}?"));
    text
}
