//! Which environment variables a plugin may give the program it runs.
//!
//! The program inherits the user's environment; a plugin may add variables
//! only in a namespace that no shell, dynamic loader or interpreter reads:
//! names `AUTHHOST_` followed by upper-case letters, digits and `_`. The
//! names authhost itself reads ([`RESERVED`]) are refused too, so a plugin
//! cannot point a nested `authhost` at another configuration or hide its
//! processes from the end-of-call sweep. Everything else (`PATH`,
//! `BASH_ENV`, `BASH_FUNC_*%%`, `LD_PRELOAD`, `PYTHONSTARTUP`, ...) is
//! refused with an error that names the variable.

use super::RunError;

/// The prefix of every name a plugin may set.
pub const PREFIX: &str = "AUTHHOST_";

/// Names under [`PREFIX`] that authhost reads itself, so a plugin may not set
/// them. A new variable read by authhost belongs here.
pub const RESERVED: &[&str] = &["AUTHHOST_HOME", "AUTHHOST_LOG", super::tag::TAG_NAME];

/// Most variables one call may set.
pub const MAX_VARS: usize = 64;

/// Longest value, in bytes.
pub const MAX_VALUE: usize = 32 << 10;

/// Longest name, in bytes.
const MAX_NAME: usize = 128;

/// Checks the variables a plugin asked for; the error names the first one
/// refused (never its value).
pub fn check(env: &[(String, String)]) -> Result<(), RunError> {
    if env.len() > MAX_VARS {
        return Err(RunError::EnvInvalid {
            name: shown(&env[MAX_VARS].0),
            reason: format!("a plugin may set at most {MAX_VARS} variables"),
        });
    }
    for (name, value) in env {
        if !allowed_name(name) {
            return Err(RunError::EnvRefused { name: shown(name) });
        }
        if value.contains('\0') {
            return Err(RunError::EnvInvalid {
                name: shown(name),
                reason: "its value contains a NUL byte".into(),
            });
        }
        if value.len() > MAX_VALUE {
            return Err(RunError::EnvInvalid {
                name: shown(name),
                reason: format!("its value is longer than {MAX_VALUE} bytes"),
            });
        }
    }
    Ok(())
}

/// `AUTHHOST_` + `[A-Z0-9_]+`, not reserved. No `=`, no NUL, no lower case
/// (Windows compares names without case).
fn allowed_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    name.len() <= MAX_NAME
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !RESERVED.contains(&name)
}

/// A name from a plugin as it may be shown to the user: control characters
/// escaped, cut to 64 characters.
pub(super) fn shown(text: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = text
        .chars()
        .take(MAX)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn refused(name: &str) -> String {
        match check(&env(&[("AUTHHOST_OK", "1"), (name, "x")])) {
            Err(RunError::EnvRefused { name }) => name,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn only_unreserved_authhost_names_are_allowed() {
        assert!(
            check(&env(&[
                ("AUTHHOST_PROVIDER", "p"),
                ("AUTHHOST_REASON", "token"),
                ("AUTHHOST_X_2", "a=b c"),
                ("AUTHHOST_EMPTY", ""),
            ]))
            .is_ok()
        );
        for name in [
            "PATH",
            "BASH_ENV",
            "ENV",
            "BASH_FUNC_echo%%",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "PYTHONSTARTUP",
            "NODE_OPTIONS",
            "PERL5OPT",
            "IFS",
            "HOME",
            "AUTHHOST_",
            "AUTHHOST_lower",
            "AUTHHOST_A=B",
            "AUTHHOST_A\0B",
            "AUTHHOST_A B",
            "AUTHHOST_HOME",
            "AUTHHOST_LOG",
            "AUTHHOST_RUN_ID",
            "authhost_provider",
            "",
        ] {
            let shown_name = refused(name);
            assert!(!shown_name.contains('\0'), "{shown_name:?}");
        }
        assert_eq!(refused("BASH_FUNC_echo%%"), "BASH_FUNC_echo%%");
        assert_eq!(refused("AUTHHOST_A\0B"), "AUTHHOST_A\\u{0}B");
        let long = "A".repeat(MAX_NAME);
        assert!(refused(&format!("{PREFIX}{long}")).ends_with('…'));
    }

    #[test]
    fn values_are_checked_without_showing_them() {
        let err = check(&env(&[("AUTHHOST_K", "sk-secret\0")])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("AUTHHOST_K") && text.contains("NUL"),
            "{text}"
        );
        assert!(!text.contains("sk-secret"), "{text}");
        let big = "v".repeat(MAX_VALUE + 1);
        assert!(check(&env(&[("AUTHHOST_K", &big)])).is_err());
        let many: Vec<(String, String)> = (0..=MAX_VARS)
            .map(|i| (format!("AUTHHOST_V{i}"), String::new()))
            .collect();
        assert!(check(&many).is_err());
        assert!(check(&many[..MAX_VARS]).is_ok());
    }
}
