//! Signed session tokens (JWT, HS256). The signing key is derived from the vault's
//! master key, which every target already holds: any target verifies a token locally,
//! without calling `directory`.
//!
//! Password-reset tokens are signed too, with another key derived for another purpose and
//! with an audience of their own: a session token is never a reset token, nor the reverse.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pharos_privacy::MasterKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const PURPOSE: &str = "pharos session tokens v1";
const ISSUER: &str = "pharos";
/// The derivation purpose and the audience of password-reset tokens.
const RESET_PURPOSE: &str = "pharos password reset tokens v1";
const RESET_AUDIENCE: &str = "pharos-password-reset";

/// How long a password-reset link stays good.
pub const RESET_TOKEN_TTL: Duration = Duration::hours(72);

/// The path of the page a reset link opens, the token in its fragment (never sent to a
/// server, so never in an access log): the page posts it to `POST /api/v1/password-reset`.
pub const RESET_PAGE: &str = "/reinitialiser-mot-de-passe#jeton=";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
}

/// What a password-reset token says: the account, the version of its stream when the
/// token was issued (the token is good only while the account is still at that
/// version), and when it expires.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResetClaims {
    sub: Uuid,
    /// The account stream's version at issuance.
    ver: i64,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// A verified password-reset token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetToken {
    pub user: Uuid,
    /// The account stream's version when the token was issued.
    pub version: i64,
    pub expires_at: DateTime<Utc>,
}

/// Why a password-reset token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidResetToken {
    /// Forged, altered, malformed, or not a reset token (a session token).
    #[error("invalid reset token")]
    Invalid,
    /// Genuine, but past its expiry.
    #[error("expired reset token")]
    Expired,
}

/// Issues and verifies session tokens and password-reset tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    reset_encoding: EncodingKey,
    reset_decoding: DecodingKey,
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
        crate::hs256::install();
        let secret = master.derive(PURPOSE);
        let reset = master.derive(RESET_PURPOSE);
        Self {
            encoding: EncodingKey::from_secret(&*secret),
            decoding: DecodingKey::from_secret(&*secret),
            reset_encoding: EncodingKey::from_secret(&*reset),
            reset_decoding: DecodingKey::from_secret(&*reset),
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

impl TokenKeys {
    /// A password-reset token for `user`, whose account stream is at `version`, issued at
    /// `now` (the domain's clock) and valid for `ttl`.
    pub fn issue_reset(
        &self,
        user: Uuid,
        version: i64,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> (String, DateTime<Utc>) {
        let expires_at = now + ttl;
        let claims = ResetClaims {
            sub: user,
            ver: version,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.into(),
            aud: RESET_AUDIENCE.into(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.reset_encoding,
        )
        // HS256 over a serialisable struct cannot fail.
        .unwrap_or_default();
        (token, expires_at)
    }

    /// The reset token's account and version, if it is a genuine reset token that has not
    /// expired at `now` (the domain's clock). The signature is checked first: only a
    /// genuine token is told expired.
    pub fn verify_reset(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ResetToken, InvalidResetToken> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // Expiry is checked below against the domain's clock, not the system's.
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[RESET_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let claims =
            jsonwebtoken::decode::<ResetClaims>(token.trim(), &self.reset_decoding, &validation)
                .map_err(|_| InvalidResetToken::Invalid)?
                .claims;
        if claims.exp <= now.timestamp() {
            return Err(InvalidResetToken::Expired);
        }
        Ok(ResetToken {
            user: claims.sub,
            version: claims.ver,
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(now),
        })
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

    #[test]
    fn reset_tokens_and_session_tokens_are_not_interchangeable() {
        let master = MasterKey::generate();
        let keys = TokenKeys::new(&master, Duration::hours(8));
        let user = Uuid::now_v7();
        let now = Utc::now();
        let (reset, expires_at) = keys.issue_reset(user, 3, now, Duration::hours(72));
        assert_eq!(expires_at, now + Duration::hours(72));
        let verified = keys.verify_reset(&reset, now).unwrap();
        assert_eq!((verified.user, verified.version), (user, 3));
        // Neither kind passes for the other.
        assert!(keys.verify(&reset).is_err());
        let (session, _) = keys.issue(user);
        assert_eq!(
            keys.verify_reset(&session, now),
            Err(InvalidResetToken::Invalid)
        );
        // Expired against the clock given, genuine or not.
        assert_eq!(
            keys.verify_reset(&reset, now + Duration::hours(72)),
            Err(InvalidResetToken::Expired)
        );
        // Another key, or an altered token, is invalid (never « expired »).
        let other = TokenKeys::new(&MasterKey::generate(), Duration::hours(8));
        assert_eq!(
            other.verify_reset(&reset, now + Duration::hours(100)),
            Err(InvalidResetToken::Invalid)
        );
        let mut altered = reset.clone();
        altered.push('x');
        assert_eq!(
            keys.verify_reset(&altered, now),
            Err(InvalidResetToken::Invalid)
        );
    }
}
