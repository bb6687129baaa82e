//! What to do about an error: the command line's advice, printed on a
//! line of its own after the library's message (which says only what is
//! wrong).

use authhost::Error;

/// The advice for `error`, naming the command to run, if there is one.
pub fn hint(error: &Error) -> Option<String> {
    let login = |provider: &str| format!("run `authhost login {provider}`");
    Some(match error {
        Error::UnknownProvider { .. } => "see `authhost list --all` for the providers".to_owned(),
        Error::NotAProvider { name } => format!(
            "name a provider instead: a well-known one (`authhost login anthropic`; \
             see `authhost list --all`), or one you configure with \
             `[providers.NAME]` and `plugin = \"{name}\"` in config.toml"
        ),
        Error::UnknownPlugin { .. } => "see `authhost plugins list`".to_owned(),
        Error::CorruptEntry { provider, .. } => format!(
            "`authhost login {provider} --force` replaces just this entry and \
             `authhost logout {provider}` removes it; the other entries are kept"
        ),
        Error::NoCredential(provider) | Error::Expired(provider) => login(provider),
        Error::LoginRevoked { provider, .. } => login(provider),
        Error::RenewalFailed {
            provider,
            needs_login: true,
            ..
        } => login(provider),
        Error::MadeByAnotherPlugin { provider, .. } => {
            format!("{} to log in again", login(provider))
        }
        Error::NoKeyGiven(provider) => format!(
            "paste it at the prompt, or pipe it on stdin \
             (`printf %s \"$KEY\" | authhost login {provider} --method api-key`)"
        ),
        _ => return None,
    })
}

/// `error`'s hint after `text` (its message), separated as on one line.
pub fn with_hint(text: String, error: &Error) -> String {
    match hint(error) {
        Some(hint) => format!("{text}; {hint}"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_login_names_the_command_that_logs_in() {
        let error = Error::NoCredential("groq".into());
        assert_eq!(error.to_string(), "no credential for `groq`");
        assert_eq!(hint(&error).unwrap(), "run `authhost login groq`");
        assert_eq!(
            with_hint(error.to_string(), &error),
            "no credential for `groq`; run `authhost login groq`"
        );
    }

    #[test]
    fn an_error_nothing_can_be_done_about_here_has_no_hint() {
        assert_eq!(hint(&Error::Cancelled), None);
    }
}
