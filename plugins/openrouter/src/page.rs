//! The small self-contained pages the browser gets on the callback.

use authhost_sdk::loopback::Response;

fn html(status: u16, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em}}</style>\
         </head><body><h1>{title}</h1><p>{text}</p></body></html>",
        title = escape(title),
        text = escape(text),
    );
    Response {
        status,
        headers: vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            (
                "content-security-policy".into(),
                "default-src 'none'; style-src 'unsafe-inline'".into(),
            ),
        ],
        body: body.into_bytes(),
    }
}

/// The login worked.
pub fn success() -> Response {
    html(
        200,
        "Logged in to OpenRouter",
        "authhost received your OpenRouter API key. You can close this tab.",
    )
}

/// The login failed, with why.
pub fn failure(reason: &str) -> Response {
    html(400, "OpenRouter login failed", reason)
}

/// A callback without a code.
pub fn bad_request(reason: &str) -> Response {
    html(400, "Bad request", reason)
}

/// Anything that is not the callback.
pub fn not_found() -> Response {
    html(
        404,
        "Not found",
        "This is not the page authhost is waiting for.",
    )
}

/// HTML-escapes text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped() {
        let page = super::failure("<script>alert('x')</script>");
        let body = String::from_utf8(page.body).unwrap();
        assert!(!body.contains("<script>"));
        assert!(body.contains("&lt;script&gt;"));
    }
}
