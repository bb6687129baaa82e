//! The pages the browser gets on the callback (see `authhost_sdk::login::page`).

use authhost_sdk::login::page;
pub use authhost_sdk::login::page::{bad_request, not_found};
use authhost_sdk::loopback::Response;

/// The login worked.
pub fn success() -> Response {
    page::success(
        "Logged in to OpenRouter",
        "authhost received your OpenRouter API key. You can close this tab.",
    )
}

/// The login failed, with why.
pub fn failure(reason: &str) -> Response {
    page::failure("OpenRouter login failed", reason)
}
