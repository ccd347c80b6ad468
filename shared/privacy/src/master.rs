//! The master key: 32 bytes, given as 64 hexadecimal characters in the configuration, or
//! kept in a file created on first start in the embedded mode.

use std::fmt;
use std::io::Write;
use std::path::Path;

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{KeyInit, OsRng};
use zeroize::Zeroizing;

use crate::PrivacyError;

/// Wraps every person's data key. Lose it and every personal field is lost.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(&key);
        Self(Zeroizing::new(bytes))
    }

    /// 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, PrivacyError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(PrivacyError::InvalidMasterKey(
                "expected 64 hexadecimal characters (32 bytes)",
            ));
        }
        let mut bytes = Zeroizing::new([0; 32]);
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let digits = std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or(PrivacyError::InvalidMasterKey(
                    "expected 64 hexadecimal characters (32 bytes)",
                ))?;
            bytes[i] = digits;
        }
        Ok(Self(bytes))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Reads the key from `path`; `None` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, PrivacyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PrivacyError::KeyFile {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Reads the key from `path`, or creates the file (mode 0600) with a new key when it
    /// does not exist; tells whether it created it.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), PrivacyError> {
        if let Some(key) = Self::load(path)? {
            return Ok((key, false));
        }
        let file_error = |source| PrivacyError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        let key = Self::generate();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(file_error)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(file_error)?;
        file.write_all(key.to_hex().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(file_error)?;
        Ok((key, true))
    }

    pub(crate) fn key(&self) -> &[u8] {
        &*self.0
    }

    /// A 32-byte key for another purpose (the e-mail index, session tokens), derived
    /// with HMAC-SHA256 so that none of them reveals the master key or another.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.key())
            .expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}
