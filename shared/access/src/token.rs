//! Signed session tokens (JWT, HS256). The signing key is derived from the vault's
//! master key, which every target already holds: any target verifies a token locally,
//! without calling `directory`.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pharos_privacy::MasterKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const PURPOSE: &str = "pharos session tokens v1";
const ISSUER: &str = "pharos";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
}

/// Issues and verifies session tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A token that does not verify: forged, altered, expired or malformed.
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(#[from] jsonwebtoken::errors::Error);

impl TokenKeys {
    pub fn new(master: &MasterKey, ttl: Duration) -> Self {
        let secret = master.derive(PURPOSE);
        Self {
            encoding: EncodingKey::from_secret(&*secret),
            decoding: DecodingKey::from_secret(&*secret),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user`, valid from now for the configured lifetime. Real time, not the
    /// domain's clock: [`TokenKeys::verify`] checks expiry against the system clock.
    pub fn issue(&self, user: Uuid) -> (String, DateTime<Utc>) {
        self.issue_at(user, Utc::now())
    }

    fn issue_at(&self, user: Uuid, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            // HS256 over a serialisable struct cannot fail.
            .unwrap_or_default();
        (token, expires_at)
    }

    /// The account a token was issued to, if it verifies and has not expired.
    pub fn verify(&self, token: &str) -> Result<Uuid, InvalidToken> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        Ok(
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)?
                .claims
                .sub,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_until_it_expires_and_only_with_its_key() {
        let master = MasterKey::generate();
        let keys = TokenKeys::new(&master, Duration::hours(8));
        let user = Uuid::now_v7();
        let (token, expires_at) = keys.issue(user);
        assert!(expires_at > Utc::now());
        assert_eq!(keys.verify(&token).unwrap(), user);

        let (old, _) = keys.issue_at(user, Utc::now() - Duration::hours(9));
        assert!(keys.verify(&old).is_err());

        let other = TokenKeys::new(&MasterKey::generate(), Duration::hours(8));
        assert!(other.verify(&token).is_err());
        assert!(keys.verify("not.a.token").is_err());
    }
}
