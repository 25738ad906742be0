//! API tokens: 64 random hex digits behind Sentry's user-token prefix, stored only as a SHA-256 hash.
//! A fast hash is enough here (unlike passwords): the token has 256 bits of entropy, so nothing can be
//! guessed from its hash, and every API request must check one.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Sentry's prefix for user auth tokens; sentry-cli recognizes it and then sends the token as is.
const PREFIX: &str = "sntryu_";

/// A freshly generated token: shown once, then only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub plaintext: String,
    pub hash: String,
}

impl ApiToken {
    pub fn generate() -> ApiToken {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let plaintext = format!("{PREFIX}{}", hex::encode(bytes));
        let hash = hash_token(&plaintext);
        ApiToken { plaintext, hash }
    }

    /// The last characters, enough to tell tokens apart in a listing.
    pub fn hint(&self) -> String {
        self.plaintext[self.plaintext.len() - 4..].to_owned()
    }
}

/// The stored form of a presented token.
pub fn hash_token(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.trim().as_bytes()))
}
