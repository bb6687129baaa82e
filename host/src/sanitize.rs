//! The one sanitiser for text that comes from a plugin.
//!
//! Everything a plugin returns is hostile input: its name, description,
//! method labels, error messages, log lines, prompts and messages. Before any
//! of it reaches a terminal or a log it goes through [`plugin_text`], which
//!
//! - shows control characters escaped (`\n`, `\u{1b}`): C0, DEL, C1, the
//!   line and paragraph separators, and the bidirectional overrides and
//!   isolates that reorder what a terminal displays, so a plugin can neither
//!   send escape sequences nor start a line that looks like authhost's own;
//! - caps the length, ending a cut text with `…`.
//!
//! Attribution is the caller's part: messages and prompts of folder plugins
//! are prefixed with the plugin id ([`attributed`]; a message of several
//! lines is shown line by line, each prefixed), errors name the provider,
//! log lines carry the plugin as a field.

use std::fmt::Write;

/// The longest plugin text shown, in characters, unless a caller asks for
/// less: one screen line or two.
pub const MAX_TEXT: usize = 1000;

/// `text` made safe to print: control and reordering characters escaped,
/// at most `max_chars` characters (then `…`).
pub fn plugin_text(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    for (shown, c) in text.chars().enumerate() {
        if shown >= max_chars {
            out.push('…');
            break;
        }
        if is_unsafe(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                _ => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// [`plugin_text`] with the default cap.
pub fn short(text: &str) -> String {
    plugin_text(text, MAX_TEXT)
}

/// A line from plugin `plugin`, sanitised and prefixed with its id, so it
/// cannot pass as authhost's own words: `[acme] text`.
pub fn attributed(plugin: &str, text: &str, max_chars: usize) -> String {
    format!(
        "[{}] {}",
        plugin_text(plugin, 64),
        plugin_text(text, max_chars)
    )
}

/// Characters that must not reach a terminal raw.
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            // Line and paragraph separators.
            '\u{2028}' | '\u{2029}'
            // Bidirectional embeddings, overrides and isolates.
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            // Directional marks.
            | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
}

/// True when `text` would be changed by [`plugin_text`] (other than by
/// length).
pub fn has_unsafe(text: &str) -> bool {
    text.chars().any(is_unsafe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_control_and_reordering_character() {
        let hostile = "ok\u{1b}[2J\u{7}\r\nerror: \u{9b}x\u{7f}\u{202e}evil\u{2066}\u{2028}";
        let clean = short(hostile);
        assert!(!has_unsafe(&clean), "{clean:?}");
        assert_eq!(
            clean,
            "ok\\u{1b}[2J\\u{7}\\r\\nerror: \\u{9b}x\\u{7f}\\u{202e}evil\\u{2066}\\u{2028}"
        );
        assert_eq!(short("plain text, ünïcode ✓"), "plain text, ünïcode ✓");
    }

    #[test]
    fn caps_the_length_with_an_ellipsis() {
        let long = "x".repeat(32 << 20);
        let clean = plugin_text(&long, 10);
        assert_eq!(clean, format!("{}…", "x".repeat(10)));
        assert_eq!(plugin_text("exactly10!", 10), "exactly10!");
    }

    #[test]
    fn attribution_names_the_plugin() {
        assert_eq!(attributed("acme", "hello\r\n", 10), "[acme] hello\\r\\n");
    }
}
