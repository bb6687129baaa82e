//! The platform's keyring, through the `keyring` crate: the Secret Service
//! (GNOME Keyring, KWallet, KeePassXC) over D-Bus on Linux and the BSDs, the
//! Keychain on macOS, the Credential Manager on Windows.
//!
//! Each item is a password under the service [`SERVICE`] and an account
//! name that authhost picks (see `crate::credential_store`). The calls block
//! until the keyring answers; on a desktop that may include an unlock
//! prompt. Errors say why the keyring cannot be used and how to fix it,
//! never what an item holds.

use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// The service name of every item authhost keeps in the keyring.
pub const SERVICE: &str = "authhost";

/// What to do instead, in every error about an unusable keyring.
const OR_USE_THE_FILE: &str = "or keep secrets in auth.json: `[store] backend = \"file\"` in config.toml (or AUTHHOST_STORE=file)";

/// The platform keyring.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsKeyring;

impl OsKeyring {
    /// The secret stored under `account`; `None` when there is none.
    pub fn get(&self, account: &str) -> Result<Option<SecretString>, Error> {
        match entry(account)?.get_password() {
            Ok(secret) => Ok(Some(SecretString::from(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unusable(e)),
        }
    }

    /// Stores `secret` under `account`, replacing what was there.
    pub fn set(&self, account: &str, secret: &SecretString) -> Result<(), Error> {
        entry(account)?
            .set_password(secret.expose_secret())
            .map_err(unusable)
    }

    /// Deletes the item `account`; false when there was none.
    pub fn delete(&self, account: &str) -> Result<bool, Error> {
        match entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(unusable(e)),
        }
    }
}

fn entry(account: &str) -> Result<keyring::Entry, Error> {
    keyring::Entry::new(SERVICE, account).map_err(unusable)
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
