//! A component's bytes together with their SHA-256, the name of the
//! component everywhere authhost records one: the compiled-code cache, the
//! plugins index and the grants.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::BuiltinPlugin;

/// A component's bytes and their SHA-256 (lowercase hex). Made only by
/// hashing the bytes, or for a built-in from the digest its build computed,
/// so the two always agree, and a component is hashed once however many
/// records it is looked up in.
pub struct ComponentBytes<'a> {
    bytes: Cow<'a, [u8]>,
    sha256: Cow<'a, str>,
}

impl<'a> ComponentBytes<'a> {
    /// `bytes` (borrowed or owned), hashed now.
    pub fn hash(bytes: impl Into<Cow<'a, [u8]>>) -> ComponentBytes<'a> {
        let bytes = bytes.into();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        ComponentBytes {
            bytes,
            sha256: sha256.into(),
        }
    }

    /// A built-in component, with the digest `build.rs` computed.
    pub fn builtin(builtin: &BuiltinPlugin) -> ComponentBytes<'static> {
        ComponentBytes {
            bytes: builtin.component.into(),
            sha256: builtin.sha256.into(),
        }
    }

    /// The component's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The SHA-256 of the bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_the_lowercase_hex_sha256_of_the_bytes() {
        assert_eq!(
            ComponentBytes::hash(&b"abc"[..]).sha256(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
