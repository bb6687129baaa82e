//! Secrets sealed before they leave the machine: XChaCha20-Poly1305 with
//! the store key (32 bytes), a random 24-byte nonce per write, and the
//! namespace and provider bound as associated data, so a row copied to
//! another provider or namespace does not open. A sealed value is
//! `1 || nonce || ciphertext` (the 1 is the format).

use std::path::{Path, PathBuf};

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use crate::Error;

/// The format byte of a sealed value.
const FORMAT: u8 = 1;
/// The plaintext of a namespace's key check.
const KEY_CHECK: &[u8] = b"authhost store key check";

/// Where the store key comes from.
#[derive(Debug, Clone)]
pub(super) enum KeySource {
    /// `AUTHHOST_STORE_KEY`, or a key given in code.
    Value(SecretString),
    /// `[store] key_file`.
    File(PathBuf),
    /// Nowhere.
    Missing,
}

impl KeySource {
    /// The source in words, for errors.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Value(_) => "AUTHHOST_STORE_KEY".to_owned(),
            KeySource::File(path) => format!(
                "the key file {}",
                crate::sanitize::plugin_text(&path.display().to_string(), 300)
            ),
            KeySource::Missing => {
                "nowhere: neither AUTHHOST_STORE_KEY nor [store] key_file is set".to_owned()
            }
        }
    }

    /// The key, read and checked; `provider` names the entry in errors.
    pub fn load(&self, provider: &str) -> Result<StoreKey, Error> {
        let error = |reason: String| Error::StoreKey {
            provider: provider.to_owned(),
            key_source: self.describe(),
            reason,
        };
        let text = match self {
            KeySource::Value(text) => text.expose_secret().to_owned(),
            KeySource::File(path) => read_key_file(path).map_err(error)?,
            KeySource::Missing => {
                return Err(error(
                    "no store key to open the shared store's secrets; make one with `authhost store keygen` and give every machine the same one".to_owned(),
                ));
            }
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                error(
                    "the store key is not base64 of 32 bytes (as `authhost store keygen` prints)"
                        .to_owned(),
                )
            })?;
        Ok(StoreKey(SecretSlice::from(bytes)))
    }
}

/// Reads a key file. One that every user of the machine may change is
/// refused: whoever replaces the key chooses the key of a new namespace,
/// and so reads what is sealed with it. One that every user may read works
/// (as a Kubernetes secret volume's files, mode 0644, and Docker secrets,
/// 0444, are) but is warned about: on a machine shared by people it gives
/// every secret of the namespace away.
fn read_key_file(path: &Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read the store key: {e}");
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(cannot)?.permissions().mode() & 0o777;
        match exposure(mode, path) {
            Some(Exposure::Writable(why)) => return Err(why),
            Some(Exposure::Readable(why)) => tracing::warn!("{why}"),
            None => {}
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).map_err(cannot)?;
    Ok(text)
}

/// What a key file's `mode` lets every user of the machine do, in words.
#[cfg_attr(not(unix), allow(dead_code))]
enum Exposure {
    Writable(String),
    Readable(String),
}

#[cfg_attr(not(unix), allow(dead_code))]
fn exposure(mode: u32, path: &Path) -> Option<Exposure> {
    let path = crate::sanitize::plugin_text(&path.display().to_string(), 300);
    if mode & 0o002 != 0 {
        Some(Exposure::Writable(format!(
            "the key file {path} may be changed by every user of this machine (mode \
             {mode:04o}); make it private with `chmod o-rwx {path}`"
        )))
    } else if mode & 0o004 != 0 {
        Some(Exposure::Readable(format!(
            "the key file {path} may be read by every user of this machine (mode \
             {mode:04o}); unless only trusted users can log in here, make it private \
             with `chmod o-r {path}`"
        )))
    } else {
        None
    }
}

/// The store key.
pub(super) struct StoreKey(SecretSlice<u8>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(self.0.expose_secret()).expect("the key is 32 bytes")
    }

    /// `plaintext` sealed for `provider` of `namespace`.
    pub fn seal(&self, namespace: &str, provider: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).expect("the OS's random source works");
        let aad = associated_data(namespace, provider);
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("sealing cannot fail");
        let mut out = Vec::with_capacity(1 + nonce.len() + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The plaintext of `sealed` for `provider` of `namespace`; `None` when
    /// it does not open with this key (another key, another row, changed).
    pub fn open(&self, namespace: &str, provider: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (&format, rest) = sealed.split_first()?;
        if format != FORMAT || rest.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(24);
        let aad = associated_data(namespace, provider);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()
    }

    /// The key check of `namespace`: what `authhost_namespaces` keeps to
    /// tell the right key from a wrong one.
    pub fn key_check(&self, namespace: &str) -> Vec<u8> {
        self.seal(namespace, "", KEY_CHECK)
    }

    /// Whether `check` was made with this key for `namespace`.
    pub fn matches(&self, namespace: &str, check: &[u8]) -> bool {
        self.open(namespace, "", check).as_deref() == Some(KEY_CHECK)
    }
}

/// What a sealed value is bound to: the format, the namespace, the
/// provider (each length-prefixed, so no two pairs give the same bytes).
fn associated_data(namespace: &str, provider: &str) -> Vec<u8> {
    let mut aad = b"authhost-store-v1".to_vec();
    for part in [namespace, provider] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> StoreKey {
        let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        KeySource::Value(text.into()).load("p").unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_where_it_was_sealed() {
        let k = key(1);
        let sealed = k.seal("ns", "p", b"secret");
        assert_eq!(k.open("ns", "p", &sealed).unwrap(), b"secret");
        assert!(k.open("ns", "q", &sealed).is_none());
        assert!(k.open("other", "p", &sealed).is_none());
        assert!(key(2).open("ns", "p", &sealed).is_none());
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(k.open("ns", "p", &changed).is_none());
        assert_ne!(k.seal("ns", "p", b"secret"), sealed, "a nonce per write");
        assert!(k.matches("ns", &k.key_check("ns")));
        assert!(!key(2).matches("ns", &k.key_check("ns")));
    }

    #[test]
    fn a_bad_key_is_an_error_naming_its_source() {
        let error = KeySource::Value("c2hvcnQ=".to_owned().into())
            .load("work")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("work: the store key is not base64"),
            "{error}"
        );
        assert!(error.contains("AUTHHOST_STORE_KEY"), "{error}");
        let missing = KeySource::Missing.load("work").unwrap_err().to_string();
        assert!(missing.contains("authhost store keygen"), "{missing}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_every_user_may_change_is_refused_and_one_they_may_read_warned_of() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.key");
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        std::fs::write(&path, format!("{key}\n")).unwrap();
        let source = KeySource::File(path.clone());
        for mode in [0o666, 0o602, 0o622] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = source.load("work").map(|_| ()).unwrap_err().to_string();
            assert!(
                e.contains("changed by every user")
                    && e.contains("chmod o-rwx")
                    && e.contains(&format!("{mode:04o}")),
                "{e}"
            );
            assert!(!e.contains(&key), "{e}");
        }
        for mode in [0o644, 0o444, 0o640, 0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(source.load("work").is_ok(), "mode {mode:o} was refused");
            let warned = matches!(exposure(mode, &path), Some(Exposure::Readable(_)));
            assert_eq!(warned, mode & 0o004 != 0, "mode {mode:o}");
        }
    }
}
