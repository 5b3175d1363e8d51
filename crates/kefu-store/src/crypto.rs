//! Encryption of personal values at rest (SEC-2): AES-256-GCM with a random 96-bit nonce per
//! value, stored as `v1:<base64(nonce || ciphertext)>`, and blind indexes (hex HMAC-SHA256 of
//! the normalised value) so an encrypted column can still be looked up by equality. Both keys
//! are derived from one 32-byte master key, the *field key*.

use crate::{Result, StoreError};
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of every encrypted value written by this version.
const V1: &str = "v1:";
/// Length of an AES-GCM nonce in bytes.
const NONCE_LEN: usize = 12;

/// The 32-byte master key from which the encryption and blind-index keys are derived.
/// Its `Debug` form never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct FieldKey([u8; 32]);

impl FieldKey {
    /// Parses 64 hexadecimal characters (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<FieldKey> {
        let t = text.trim();
        if t.len() != 64 {
            return Err(StoreError::Invalid(format!(
                "a field key is 64 hexadecimal characters (32 bytes), got {} characters",
                t.chars().count()
            )));
        }
        let mut key = [0u8; 32];
        for (i, pair) in t.as_bytes().chunks_exact(2).enumerate() {
            let (Some(hi), Some(lo)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(StoreError::Invalid("a field key may contain only hexadecimal digits 0-9, a-f".into()));
            };
            key[i] = (hi << 4) | lo;
        }
        Ok(FieldKey(key))
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> FieldKey {
        FieldKey(Aes256Gcm::generate_key(OsRng).into())
    }

    /// The key as 64 lower-case hexadecimal characters (to write a key file; never log it).
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }
}

impl fmt::Debug for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldKey(***)")
    }
}

impl FromStr for FieldKey {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        FieldKey::from_hex(s)
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// HMAC-SHA256 of `data` under `key`.
fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so new_from_slice cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// What a blind index is computed over; each kind has its own domain so equal text in two
/// kinds of column never matches.
#[derive(Clone, Copy, Debug)]
pub(crate) enum IndexKind {
    /// A normalised phone number.
    Phone,
    /// A PRC resident ID number.
    IdCard,
    /// An asset's account / order / serial number.
    AssetNumber,
    /// The fixed text whose index fingerprints the key (see [`FieldCipher::fingerprint`]).
    KeyCheck,
}

impl IndexKind {
    fn domain(self) -> &'static [u8] {
        match self {
            IndexKind::Phone => b"phone",
            IndexKind::IdCard => b"id_card",
            IndexKind::AssetNumber => b"asset_number",
            IndexKind::KeyCheck => b"key_check",
        }
    }
}

/// The keys derived from a [`FieldKey`], ready to encrypt, decrypt and index.
#[derive(Clone)]
pub(crate) struct FieldCipher {
    aead: Aes256Gcm,
    index: HmacSha256,
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldCipher(***)")
    }
}

impl FieldCipher {
    /// Derives the encryption key HMAC(master, "kefu enc v1") and the index key
    /// HMAC(master, "kefu idx v1").
    pub(crate) fn new(key: &FieldKey) -> FieldCipher {
        let enc = hmac(&key.0, b"kefu enc v1");
        let idx = hmac(&key.0, b"kefu idx v1");
        FieldCipher {
            aead: Aes256Gcm::new(&enc.into()),
            // as above: any key length is accepted
            index: <HmacSha256 as Mac>::new_from_slice(&idx).unwrap_or_else(|_| unreachable!("HMAC accepts any key")),
        }
    }

    /// Encrypts `plain` under a fresh random nonce.
    pub(crate) fn encrypt(&self, plain: &str) -> Result<String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .aead
            .encrypt(&nonce, plain.as_bytes())
            .map_err(|_| StoreError::Invalid("cannot encrypt a value (too long?)".into()))?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Ok(format!("{V1}{}", BASE64.encode(bytes)))
    }

    /// Decrypts a value written by [`FieldCipher::encrypt`]; a value written under another key,
    /// or damaged, is [`StoreError::Corrupt`].
    pub(crate) fn decrypt(&self, text: &str) -> Result<String> {
        let body = text.strip_prefix(V1).ok_or_else(|| {
            StoreError::Corrupt("an encrypted value has an unknown format (expected `v1:` prefix)".into())
        })?;
        let bytes =
            BASE64.decode(body).map_err(|_| StoreError::Corrupt("an encrypted value is not valid base64".into()))?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(StoreError::Corrupt("an encrypted value is too short".into()));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self.aead.decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| {
            StoreError::Corrupt("an encrypted value does not decrypt: wrong field key or damaged data".into())
        })?;
        String::from_utf8(plain).map_err(|_| StoreError::Corrupt("a decrypted value is not UTF-8".into()))
    }

    /// The blind index of a normalised value of `kind`: hex HMAC-SHA256 under the index key.
    pub(crate) fn blind_index(&self, kind: IndexKind, normalised: &str) -> String {
        let mut mac = self.index.clone();
        mac.update(kind.domain());
        mac.update(&[0]);
        mac.update(normalised.as_bytes());
        to_hex(&mac.finalize().into_bytes())
    }

    /// A value that identifies the key without revealing it, stored once so that starting
    /// with a different key is caught before it writes anything.
    pub(crate) fn fingerprint(&self) -> String {
        self.blind_index(IndexKind::KeyCheck, "kefu field key check")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> FieldKey {
        FieldKey([byte; 32])
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let c = FieldCipher::new(&key(7));
        let a = c.encrypt("13812345678").unwrap();
        let b = c.encrypt("13812345678").unwrap();
        assert!(a.starts_with("v1:"));
        assert_ne!(a, b, "each value gets its own nonce");
        assert!(!a.contains("13812345678") && !a.contains("5678"));
        assert_eq!(c.decrypt(&a).unwrap(), "13812345678");
        assert_eq!(c.decrypt(&b).unwrap(), "13812345678");
        assert_eq!(c.decrypt(&c.encrypt("").unwrap()).unwrap(), "");
    }

    #[test]
    fn another_key_or_damage_does_not_decrypt() {
        let a = FieldCipher::new(&key(1));
        let b = FieldCipher::new(&key(2));
        let sealed = a.encrypt("110105194912310021").unwrap();
        assert!(matches!(b.decrypt(&sealed), Err(StoreError::Corrupt(m)) if m.contains("wrong field key")));
        let mut bytes = BASE64.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("v1:{}", BASE64.encode(bytes));
        assert!(a.decrypt(&tampered).is_err());
        assert!(a.decrypt("13812345678").is_err());
        assert!(a.decrypt("v1:!!").is_err());
        assert!(a.decrypt("v1:AAAA").is_err());
    }

    #[test]
    fn blind_indexes_are_stable_keyed_and_domain_separated() {
        let a = FieldCipher::new(&key(1));
        let a2 = FieldCipher::new(&key(1));
        let b = FieldCipher::new(&key(2));
        let i = a.blind_index(IndexKind::Phone, "13812345678");
        assert_eq!(i.len(), 64);
        assert_eq!(i, a2.blind_index(IndexKind::Phone, "13812345678"));
        assert_ne!(i, b.blind_index(IndexKind::Phone, "13812345678"));
        assert_ne!(i, a.blind_index(IndexKind::AssetNumber, "13812345678"));
        assert_ne!(i, a.blind_index(IndexKind::Phone, "13812345679"));
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn keys_parse_from_hex_and_never_print() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let k = FieldKey::from_hex(hex).unwrap();
        assert_eq!(k.to_hex(), hex.to_lowercase());
        assert_eq!(format!("{k:?}"), "FieldKey(***)");
        assert_eq!(format!("{:?}", FieldCipher::new(&k)), "FieldCipher(***)");
        assert!(FieldKey::from_hex(&hex[..62]).unwrap_err().to_string().contains("64 hexadecimal"));
        assert!(FieldKey::from_hex(&format!("{}zz", &hex[..62])).unwrap_err().to_string().contains("hexadecimal"));
        let g = FieldKey::generate();
        assert_ne!(g, FieldKey::generate());
        assert_eq!(FieldKey::from_hex(&g.to_hex()).unwrap(), g);
    }
}
