//! Password hashing with Argon2id (RustCrypto `argon2`, default parameters: 19 MiB, t=2).
//! Hashing is deliberately slow, so it runs on the blocking pool, never on the async runtime.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Why a password was refused or could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("password must be between {MIN_PASSWORD_LEN} and 256 characters")]
    Length,
    /// The hasher failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Checks the length rules.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_LEN..=256).contains(&n) { Err(PasswordError::Length) } else { Ok(()) }
}

/// Hashes a password into a PHC string (after checking the policy).
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_policy(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `stored`. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// [`hash`] on the blocking pool.
pub async fn hash_async(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash(&password)).await.map_err(|e| PasswordError::Hash(e.to_string()))?
}

/// [`verify`] on the blocking pool.
pub async fn verify_async(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &stored)).await.unwrap_or(false)
}

/// A random password of 14 characters from an alphabet without look-alikes (no 0/O, 1/l/I).
pub fn random_password() -> String {
    use argon2::password_hash::rand_core::RngCore;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(14);
    while out.len() < 14 {
        let mut b = [0u8; 1];
        OsRng.fill_bytes(&mut b);
        // rejection sampling keeps the choice uniform
        let i = usize::from(b[0]);
        if i < ALPHABET.len() * (256 / ALPHABET.len()) {
            out.push(ALPHABET[i % ALPHABET.len()] as char);
        }
    }
    out
}

/// A valid hash of a random password: verifying unknown usernames against it keeps a failed
/// login for a missing user as slow as one for a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&super::token::generate()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_is_salted() {
        let a = hash("correct horse").unwrap();
        let b = hash("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert!(!verify("correct horse", "not-a-phc-string"));
    }

    #[test]
    fn policy_rejects_short_passwords() {
        assert!(matches!(hash("short"), Err(PasswordError::Length)));
        assert!(check_policy("密码密码密码密码").is_ok(), "counted in characters");
    }
}
