//! PKCE (RFC 7636) for OAuth logins, and random nonces.

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    challenge: PkceCodeChallenge,
    verifier: PkceCodeVerifier,
}

impl Pkce {
    /// A fresh random verifier (32 random bytes, 43 base64url characters)
    /// and its challenge, `base64url(sha256(verifier))`.
    pub fn new() -> Pkce {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Pkce {
            challenge,
            verifier,
        }
    }

    /// The pair for a verifier made before (43 to 128 characters of
    /// `A-Z a-z 0-9 - . _ ~`), e.g. one kept across two calls.
    pub fn from_verifier(verifier: impl Into<String>) -> Pkce {
        let verifier = PkceCodeVerifier::new(verifier.into());
        Pkce {
            challenge: PkceCodeChallenge::from_code_verifier_sha256(&verifier),
            verifier,
        }
    }

    /// The challenge, for the authorization URL (`code_challenge`).
    pub fn challenge(&self) -> &str {
        self.challenge.as_str()
    }

    /// The challenge method: always `S256`.
    pub fn method(&self) -> &str {
        self.challenge.method().as_str()
    }

    /// The verifier, for the token request (`code_verifier`). A secret.
    pub fn verifier(&self) -> &str {
        self.verifier.secret()
    }
}

impl Default for Pkce {
    fn default() -> Pkce {
        Pkce::new()
    }
}

/// Shows the challenge only: the verifier is a secret.
impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge())
            .finish_non_exhaustive()
    }
}

/// 16 random bytes in base64url (22 characters, 128 bits): an unguessable
/// `state`, or a nonce for a callback path.
pub fn nonce() -> String {
    CsrfToken::new_random().secret().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base64url(text: &str) -> bool {
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn the_challenge_is_the_s256_of_the_verifier() {
        let pkce = Pkce::new();
        assert_eq!(pkce.method(), "S256");
        assert_eq!(pkce.verifier().len(), 43);
        assert_eq!(pkce.challenge().len(), 43);
        assert!(base64url(pkce.verifier()) && base64url(pkce.challenge()));
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pkce.verifier().to_owned(),
        ));
        assert_eq!(pkce.challenge(), expected.as_str());
        assert_ne!(Pkce::new().verifier(), pkce.verifier());
        assert!(!format!("{pkce:?}").contains(pkce.verifier()));
    }

    #[test]
    fn the_challenge_of_rfc_7636_appendix_b() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            pkce.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(pkce.method(), "S256");
        assert_eq!(
            pkce.verifier(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    #[test]
    fn nonces_are_random_base64url() {
        let (a, b) = (nonce(), nonce());
        assert_eq!(a.len(), 22);
        assert!(base64url(&a));
        assert_ne!(a, b);
    }
}
