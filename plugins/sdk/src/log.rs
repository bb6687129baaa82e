//! Lines for the host's log, shown with `authhost -v`. Never log a secret.

pub use crate::bindings::authhost::provider::log::{Level, write};

/// Logs `message` at `trace`.
pub fn trace(message: &str) {
    write(Level::Trace, message);
}

/// Logs `message` at `debug`.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Logs `message` at `info`.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs `message` at `warn`.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Logs `message` at `error`.
pub fn error(message: &str) {
    write(Level::Error, message);
}
