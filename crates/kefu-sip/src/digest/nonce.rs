//! Stateless nonces: `hex(timestamp) ":" hex(HMAC-SHA256(secret, timestamp ‖ realm))`.
//!
//! The registrar keeps no table of issued nonces. A nonce carries the time it was issued (the
//! caller's clock, in seconds) and a MAC over that time and the realm under a server secret,
//! so a nonce is accepted only if this server issued it for this realm, and is *stale* once it
//! is older than the allowed age — the UA then gets a new challenge with `stale=true` and
//! retries without asking its user. The timestamp is 16 lower-case hex digits; the MAC is
//! HMAC-SHA256 (RFC 2104) over the timestamp as 8 big-endian bytes followed by the realm.
//!
//! Limit: being stateless, a captured request can be replayed until its nonce goes stale;
//! keep the age short (minutes) and, where that matters, track `(nonce, nc)` pairs on top.

use sha2::{Digest as _, Sha256};

use super::{constant_time_eq, to_hex};

/// Verdict on a nonce presented by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    /// Issued by us for this realm, and recent enough.
    Fresh,
    /// Issued by us for this realm, but too old (or too far in the future): challenge again
    /// with `stale=true`.
    Stale,
    /// Not one of ours (wrong format, wrong MAC, other realm or secret).
    Invalid,
}

/// The server secret nonces are made with. Its `Debug` does not show the secret.
#[derive(Clone)]
pub struct NonceKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

impl NonceKey {
    /// A key from a secret (random, at least 32 bytes, kept across restarts if nonces should
    /// survive them).
    pub fn new(secret: &[u8]) -> Self {
        NonceKey { secret: secret.to_vec() }
    }

    /// A nonce for `realm` issued at `timestamp` (seconds, any epoch the caller keeps using).
    pub fn issue(&self, realm: &str, timestamp: u64) -> String {
        format!("{timestamp:016x}:{}", to_hex(&self.mac(realm, timestamp)))
    }

    /// Checks a nonce at time `now`: fresh if issued by this key for `realm` at most
    /// `max_age` seconds from `now` (either way), stale if issued by us but older, else invalid.
    pub fn check(&self, nonce: &str, realm: &str, now: u64, max_age: u64) -> NonceStatus {
        let Some((stamp, mac)) = nonce.split_once(':') else {
            return NonceStatus::Invalid;
        };
        if stamp.is_empty() || stamp.len() > 16 || !stamp.bytes().all(|b| b.is_ascii_hexdigit()) {
            return NonceStatus::Invalid;
        }
        let Ok(timestamp) = u64::from_str_radix(stamp, 16) else {
            return NonceStatus::Invalid;
        };
        let expected = to_hex(&self.mac(realm, timestamp));
        if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return NonceStatus::Invalid;
        }
        if now.abs_diff(timestamp) > max_age { NonceStatus::Stale } else { NonceStatus::Fresh }
    }

    fn mac(&self, realm: &str, timestamp: u64) -> [u8; 32] {
        hmac_sha256(&self.secret, &[&timestamp.to_be_bytes(), realm.as_bytes()])
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`.
pub(super) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let hashed = Sha256::digest(key);
        for (slot, byte) in block.iter_mut().zip(hashed.iter()) {
            *slot = *byte;
        }
    } else {
        for (slot, byte) in block.iter_mut().zip(key) {
            *slot = *byte;
        }
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1, 2 and 6 (key longer than the block).
        assert_eq!(
            to_hex(&hmac_sha256(&[0x0b; 20], &[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            to_hex(&hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            to_hex(&hmac_sha256(&[0xaa; 131], &[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn fresh_then_stale_with_time() {
        let key = NonceKey::new(b"0123456789abcdef0123456789abcdef");
        let nonce = key.issue("kefu.local", 1_700_000_000);
        assert!(nonce.starts_with("000000006553f100:") && nonce.len() == 17 + 64, "{nonce}");
        assert_eq!(key.check(&nonce, "kefu.local", 1_700_000_000, 300), NonceStatus::Fresh);
        assert_eq!(key.check(&nonce, "kefu.local", 1_700_000_300, 300), NonceStatus::Fresh);
        assert_eq!(key.check(&nonce, "kefu.local", 1_700_000_301, 300), NonceStatus::Stale);
        assert_eq!(key.check(&nonce, "kefu.local", 1_699_999_000, 300), NonceStatus::Stale);
    }

    #[test]
    fn forged_or_foreign_nonces_are_invalid() {
        let key = NonceKey::new(b"secret one");
        let nonce = key.issue("kefu.local", 1000);
        assert_eq!(key.check(&nonce, "other.realm", 1000, 60), NonceStatus::Invalid);
        assert_eq!(NonceKey::new(b"secret two").check(&nonce, "kefu.local", 1000, 60), NonceStatus::Invalid);
        // Moving the timestamp to look fresh breaks the MAC.
        let (_, mac) = nonce.split_once(':').unwrap();
        let moved = format!("{:016x}:{mac}", 5000);
        assert_eq!(key.check(&moved, "kefu.local", 5000, 60), NonceStatus::Invalid);
        for bad in ["", ":", "zz:00", "+1:00", "00000000000003e8", "00000000000000003e8:00", "3e8:"] {
            assert_eq!(key.check(bad, "kefu.local", 1000, 60), NonceStatus::Invalid, "{bad:?}");
        }
        assert!(!format!("{key:?}").contains("secret"));
    }
}
