//! Text from outside (a remote service, a program) made safe to show: one
//! line, no control characters (no terminal escapes), cut short, and with
//! secrets blanked out.

/// What [`redact`] and [`redact_secret_like`] put in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// `text` on one line: control characters (newlines, escapes) become spaces,
/// the ends are trimmed, and at most `max_chars` characters are kept.
pub fn one_line(text: &str, max_chars: usize) -> String {
    let line: String = printable(text).take(max_chars).collect();
    line.trim_end().to_owned()
}

/// As [`one_line`], with `…` at the end when something was cut.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut line = one_line(text, max_chars);
    let rest = printable(text).skip(max_chars);
    if rest.into_iter().any(|c| !c.is_whitespace()) {
        line.push('…');
    }
    line
}

/// The characters of `text` with control characters as spaces, from the
/// first that is not white space.
fn printable(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .skip_while(|c| c.is_whitespace())
}

/// `text` with every occurrence of each non-empty `secrets` replaced by
/// [`REDACTED`].
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if !secret.is_empty() {
            text = text.replace(secret, REDACTED);
        }
    }
    text
}

/// `text` with every word that looks like a secret (an API key, a token, a
/// password hash) replaced by [`REDACTED`]; see [`looks_secret`].
pub fn redact_secret_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars() {
        if is_token_char(c) {
            word.push(c);
            continue;
        }
        flush(&mut out, &mut word);
        out.push(c);
    }
    flush(&mut out, &mut word);
    out
}

fn flush(out: &mut String, word: &mut String) {
    if looks_secret(word) {
        out.push_str(REDACTED);
    } else {
        out.push_str(word);
    }
    word.clear();
}

/// Characters of keys and tokens: letters, digits and `-_.+/~` (`=`
/// separates `name=value`; base64 padding stays behind, harmlessly).
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.+/~".contains(c)
}

/// Whether `word` (a run of letters, digits and `-_.+/~`) looks like a
/// secret: at least 16 characters with letters and digits and no spaces
/// (`sk-ant-api03-…`, `ghp_…`, base64), or 32 and more of anything of that
/// alphabet. Paths (`/usr/local/bin`) and plain words are not secrets.
pub fn looks_secret(word: &str) -> bool {
    let count = word.chars().count();
    if count < 16 || !word.chars().all(is_token_char) {
        return false;
    }
    // A path or a URL path: its parts are judged on their own.
    if word.starts_with('/') || word.starts_with("./") || word.contains("//") {
        return word
            .split('/')
            .any(|part| part.chars().count() >= 16 && looks_secret(part));
    }
    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
    let digits = word.chars().filter(char::is_ascii_digit).count();
    (letters > 0 && digits > 0) || count >= 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_is_printable_trimmed_and_capped() {
        assert_eq!(one_line("  a\nb\x1b[31m  ", 100), "a b [31m");
        assert_eq!(one_line("ééé", 2), "éé");
        assert_eq!(excerpt("ééé", 2), "éé…");
        assert_eq!(excerpt("éé", 2), "éé");
    }

    #[test]
    fn secrets_are_blanked() {
        assert_eq!(
            redact("code c0de and v3r and c0de", &["c0de", "", "v3r"]),
            "code [redacted] and [redacted] and [redacted]"
        );
    }

    #[test]
    fn secret_looking_words_are_blanked() {
        let text = "error: sk-ant-api03-AbCdEf0123456789xyz rejected (token=ghp_16C7e42F292c6912E7710c838347Ae178B4a)";
        assert_eq!(
            redact_secret_like(text),
            "error: [redacted] rejected (token=[redacted])"
        );
        let plain = "vault: locked; see /usr/local/share/doc/vault/README.md or run `op signin`";
        assert_eq!(redact_secret_like(plain), plain);
        assert_eq!(
            redact_secret_like("internationalization-is-a-long-word"),
            "[redacted]"
        );
        assert!(!looks_secret("internationalization"));
        assert!(!looks_secret("2030-01-31T12:00"));
        assert!(looks_secret("/tmp/AbCdEf0123456789xyz0"));
    }
}
