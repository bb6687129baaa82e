//! The `keyring` crate behind [`super::OsKeyring`], and the errors that say
//! why a keyring cannot be used.

use secrecy::{ExposeSecret, SecretString};

use super::OR_USE_THE_FILE;
use crate::Error;

/// The secret stored under `account`; `None` when there is none.
pub(super) fn get(account: &str) -> Result<Option<SecretString>, Error> {
    match entry(account)?.get_password() {
        Ok(secret) => Ok(Some(SecretString::from(secret))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(unusable(e)),
    }
}

/// Stores `secret` under `account`, replacing what was there.
pub(super) fn set(account: &str, secret: &SecretString) -> Result<(), Error> {
    entry(account)?
        .set_password(secret.expose_secret())
        .map_err(unusable)
}

/// Deletes the item `account`; false when there was none.
pub(super) fn delete(account: &str) -> Result<bool, Error> {
    match entry(account)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(unusable(e)),
    }
}

fn entry(account: &str) -> Result<keyring::Entry, Error> {
    keyring::Entry::new(super::SERVICE, account).map_err(unusable)
}

/// The error for a keyring that cannot be used, naming the fix.
fn unusable(error: keyring::Error) -> Error {
    let (reason, fix) = match &error {
        keyring::Error::NoDefaultStore => {
            let cause = match keyring::Entry::store_status() {
                Err(e) => e.to_string(),
                Ok(()) => error.to_string(),
            };
            no_store(&cause)
        }
        keyring::Error::NoStorageAccess(cause) => (
            format!("the keyring is locked and could not be unlocked ({cause})"),
            "unlock it (log in to the desktop session, or run `gnome-keyring-daemon --unlock` and type its password), ",
        ),
        keyring::Error::PlatformFailure(cause) if names_missing_service(&cause.to_string()) => {
            no_store(&cause.to_string())
        }
        keyring::Error::PlatformFailure(cause) => (
            format!("the keyring failed ({cause})"),
            "check that the keyring service is running and unlocked, ",
        ),
        // The other variants may carry an item's bytes: never shown.
        _ => (
            "the keyring returned an item authhost cannot read".to_owned(),
            "remove authhost's items from the keyring (service `authhost`) and log in again, ",
        ),
    };
    Error::Keyring {
        reason: crate::sanitize::short(&reason),
        fix: format!("{fix}{OR_USE_THE_FILE}"),
    }
}

/// The reason and the fix when no keyring service could be reached.
fn no_store(cause: &str) -> (String, &'static str) {
    if cfg!(all(unix, not(target_os = "macos"))) {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty())
            && !names_missing_service(cause)
        {
            return (
                format!("no D-Bus session bus to reach the Secret Service ({cause})"),
                "run authhost in a desktop session, or start one with `dbus-run-session -- $SHELL` and `gnome-keyring-daemon --start --components=secrets`, ",
            );
        }
        if names_missing_service(cause) {
            return (
                format!("no Secret Service is running on the D-Bus session bus ({cause})"),
                "start one (`gnome-keyring-daemon --start --components=secrets`, KWallet or KeePassXC with its Secret Service integration), ",
            );
        }
    }
    (
        format!("no keyring service is reachable ({cause})"),
        "start the platform's keyring service, ",
    )
}

fn names_missing_service(text: &str) -> bool {
    text.contains("ServiceUnknown")
        || text.contains("org.freedesktop.secrets")
        || text.contains("not provided by any .service files")
}
