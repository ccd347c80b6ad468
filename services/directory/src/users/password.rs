//! Passwords: the length rule, argon2id hashing and checking (off the async threads),
//! and generated initial passwords.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use pharos_decider::Rejection;
use pharos_web::Problem;

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 256;

/// Hashes a password with argon2id (OWASP parameters) off the async threads.
pub async fn hash_password(password: String) -> Result<String, Problem> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing task failed");
        Problem::internal()
    })?
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        Problem::internal()
    })
}

/// Whether `password` matches the PHC `hash` (argon2, off the async threads). With no
/// hash, a dummy one is checked so that an unknown account costs as much time as a
/// wrong password.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4nR3XHVJKCLaJiV5cZ6ooHmzuJ5n1Hjx6y5ZuUtpR0Q";
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
        && known
}

/// A random password of 20 characters, without look-alikes (0/O, 1/l/I).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The length rule, on the field `password` (callers with another field name change it).
pub fn check_password(password: &str) -> Result<(), Rejection> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Rejection::invalid(
            "password-too-short",
            "password",
            format!("Le mot de passe doit compter au moins {MIN_PASSWORD_CHARS} caractères."),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(Rejection::invalid(
            "password-too-long",
            "password",
            format!("Le mot de passe ne peut dépasser {MAX_PASSWORD_CHARS} caractères."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_enough_and_differ() {
        let a = generate_password();
        assert!(a.chars().count() >= MIN_PASSWORD_CHARS);
        assert_ne!(a, generate_password());
    }
}
