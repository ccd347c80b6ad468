//! HS256, the one JWT algorithm Pharos signs and accepts, as `jsonwebtoken`'s crypto
//! provider. Its `rust_crypto` backend would compile RSA, P-256, P-384 and Ed25519 with
//! it (about 25 crates, minutes of a cold release build on 2 cores) for tokens that are
//! only ever HMAC-SHA256; the `hmac` and `sha2` crates here are those the vault uses.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use sha2::Sha256;

struct Hs256(Hmac<Sha256>);

impl Hs256 {
    /// Anything but HS256 with an HMAC secret is refused: no other algorithm is offered.
    fn new(algorithm: &Algorithm, family: AlgorithmFamily, secret: &[u8]) -> Result<Self, Error> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        Hmac::<Sha256>::new_from_slice(secret)
            .map(Self)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }
}

impl signature::Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl signature::Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        // Constant-time comparison.
        mac.verify_slice(tag).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key| {
        Ok(Box::new(Hs256::new(
            algorithm,
            key.family(),
            key.as_bytes(),
        )?))
    },
    verifier_factory: |algorithm, key| {
        Ok(Box::new(Hs256::new(
            algorithm,
            key.family(),
            key.try_get_as_bytes()?,
        )?))
    },
    // No JWK is ever read or written.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes HS256 the process's provider; later calls find it installed and do nothing.
pub(crate) fn install() {
    let _already_installed = PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, crypto};
    use serde_json::{Value, json};

    use super::*;

    /// RFC 7515, appendix A.1: the HS256 example's key, signing input and signature.
    const RFC_KEY: &str =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ+EstJQLr/T+1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow==";
    const RFC_INPUT: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    const RFC_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn gives_the_rfc_7515_signature() {
        install();
        let key = EncodingKey::from_base64_secret(RFC_KEY).expect("the RFC's key");
        let signature = crypto::sign(RFC_INPUT.as_bytes(), &key, Algorithm::HS256).expect("signs");
        assert_eq!(signature, RFC_SIGNATURE);
        let key = DecodingKey::from_base64_secret(RFC_KEY).expect("the RFC's key");
        assert!(
            crypto::verify(RFC_SIGNATURE, RFC_INPUT.as_bytes(), &key, Algorithm::HS256)
                .expect("verifies")
        );
        // One character of the signed claims changed.
        let altered = format!("{}R", &RFC_INPUT[..RFC_INPUT.len() - 1]);
        assert!(
            !crypto::verify(RFC_SIGNATURE, altered.as_bytes(), &key, Algorithm::HS256)
                .expect("verifies")
        );
    }

    #[test]
    fn round_trips_and_refuses_a_wrong_key_or_another_algorithm() {
        install();
        let key = EncodingKey::from_secret(b"secret");
        let claims = json!({"exp": 4_000_000_000_u64});
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
            .expect("HS256 signs");
        let validation = Validation::new(Algorithm::HS256);
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &DecodingKey::from_secret(b"secret"),
            &validation,
        )
        .expect("its own token verifies");
        assert_eq!(decoded.claims, claims);
        assert!(
            jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_secret(b"other"), &validation)
                .is_err()
        );
        assert!(jsonwebtoken::encode(&Header::new(Algorithm::HS384), &claims, &key).is_err());
    }
}
