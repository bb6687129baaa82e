//! Recognising the OAuth callback among the requests and pasted lines.

use authhost_sdk::loopback::Request;

/// What a request or pasted line means for the login.
#[derive(Debug, PartialEq, Eq)]
pub enum Callback {
    /// The callback with this code (empty when the query had none).
    Code(String),
    /// OpenRouter reported an error (the user refused).
    Denied(String),
    /// Not the callback (wrong path or nonce, favicon, other noise).
    Ignore(String),
}

/// Classifies a request to the loopback listener. Only `GET
/// /callback/<nonce>` exactly (no normalisation of the path) is the
/// callback.
pub fn from_request(request: &Request, nonce: &str) -> Callback {
    let (path, query) = authhost_sdk::login::path_and_query(request);
    if request.method != "GET" || path != format!("/callback/{nonce}") {
        return Callback::Ignore(format!("not the callback: {} {path}", request.method));
    }
    from_query(query)
}

/// Interprets a pasted line: the full redirect URL (its nonce must match),
/// its query (`code=…`), or just the code. `Err` explains a line that is
/// none of these.
pub fn from_pasted(line: &str, nonce: &str) -> Result<Callback, String> {
    let line = line.trim();
    let callback = if line.contains('/') {
        from_pasted_url(line, nonce)?
    } else if line.contains('=') {
        from_query(line.trim_start_matches('?'))
    } else if !line.is_empty() && !line.contains(char::is_whitespace) {
        Callback::Code(line.to_owned())
    } else {
        return Err(NOT_UNDERSTOOD.into());
    };
    match callback {
        Callback::Code(code) if code.is_empty() => Err("That has no code; still waiting.".into()),
        other => Ok(other),
    }
}

const NOT_UNDERSTOOD: &str =
    "That is neither the redirect URL nor a code; paste the whole address from the browser.";

fn from_pasted_url(line: &str, nonce: &str) -> Result<Callback, String> {
    let with_scheme = if line.contains("://") {
        line.to_owned()
    } else {
        format!("http://{line}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|_| NOT_UNDERSTOOD.to_owned())?;
    if url.path() != format!("/callback/{nonce}") {
        return Err(
            "That URL is not the redirect of this login (its path or nonce differs); still waiting."
                .into(),
        );
    }
    Ok(from_query(url.query().unwrap_or("")))
}

fn from_query(query: &str) -> Callback {
    let mut code = None;
    let mut error = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "code" if code.is_none() => code = Some(value.into_owned()),
            "error" if error.is_none() => error = Some(value.into_owned()),
            _ => {}
        }
    }
    match (error, code) {
        (Some(error), _) => Callback::Denied(printable(&error)),
        (None, code) => Callback::Code(code.unwrap_or_default()),
    }
}

/// At most 100 characters of `text`, without control characters: it comes
/// from the URL and ends up on the terminal.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Request {
        Request::get(path)
    }

    #[test]
    fn only_the_exact_callback_path_counts() {
        assert_eq!(
            from_request(&get("/callback/n1?code=abc"), "n1"),
            Callback::Code("abc".into())
        );
        assert_eq!(
            from_request(&get("/callback/n1?x=1"), "n1"),
            Callback::Code(String::new())
        );
        assert_eq!(
            from_request(&get("/callback/n1?error=access_denied"), "n1"),
            Callback::Denied("access_denied".into())
        );
        assert_eq!(
            from_request(&get("/callback/n1?error=a%1B%5B31mb"), "n1"),
            Callback::Denied("a[31mb".into())
        );
        for path in [
            "/favicon.ico",
            "/callback/n2?code=abc",
            "/callback/n1/?code=a",
            "/callback/x/../n1?code=a",
            "/callback/%6E1?code=a",
        ] {
            assert!(
                matches!(from_request(&get(path), "n1"), Callback::Ignore(_)),
                "{path}"
            );
        }
        let mut post = get("/callback/n1?code=abc");
        post.method = "POST".into();
        assert!(matches!(from_request(&post, "n1"), Callback::Ignore(_)));
    }

    #[test]
    fn pasted_lines() {
        assert_eq!(
            from_pasted("abc123", "n1").unwrap(),
            Callback::Code("abc123".into())
        );
        assert_eq!(
            from_pasted("http://localhost:3000/callback/n1?code=xyz", "n1").unwrap(),
            Callback::Code("xyz".into())
        );
        assert_eq!(
            from_pasted("localhost:3000/callback/n1?code=xyz", "n1").unwrap(),
            Callback::Code("xyz".into())
        );
        assert!(from_pasted("http://localhost:3000/callback/n2?code=xyz", "n1").is_err());
        assert_eq!(
            from_pasted("code=xyz&x=1", "n1").unwrap(),
            Callback::Code("xyz".into())
        );
        assert_eq!(
            from_pasted("?code=xyz", "n1").unwrap(),
            Callback::Code("xyz".into())
        );
        assert_eq!(
            from_pasted(
                "http://localhost:3000/callback/n1?error=access_denied",
                "n1"
            )
            .unwrap(),
            Callback::Denied("access_denied".into())
        );
        assert!(from_pasted("http://localhost:3000/callback/n1", "n1").is_err());
        assert!(from_pasted("not a url at all", "n1").is_err());
        assert!(from_pasted("", "n1").is_err());
    }
}
