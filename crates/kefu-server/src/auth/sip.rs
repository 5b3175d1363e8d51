//! SIP digest credentials. A phone registers as its user's extension with the user's
//! password; kefu keeps only HA1 = H(extension ":" realm ":" password) for MD5 and SHA-256
//! (RFC 8760), made wherever a password is set: the users API, a user's own password change,
//! `kefu user add` / `kefu user passwd`, and the demo seed.

use kefu_sip::digest::{Algorithm, ha1};
use kefu_store::SipCredentials;

/// The credentials for `extension` with `password` in `realm` (the `sip_realm` setting).
pub fn credentials(realm: &str, extension: &str, password: &str) -> SipCredentials {
    SipCredentials {
        realm: realm.to_owned(),
        ha1_md5: ha1(Algorithm::Md5, extension, realm, password),
        ha1_sha256: ha1(Algorithm::Sha256, extension, realm, password),
    }
}

/// The credentials for a user who has an extension; `None` for one without a phone.
pub fn for_user(realm: &str, extension: Option<&str>, password: &str) -> Option<SipCredentials> {
    extension.map(|e| credentials(realm, e, password))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ha1_is_extension_realm_password() {
        // RFC 2617 §3.5's example: HA1 of "Mufasa:testrealm@host.com:Circle Of Life"
        let c = super::credentials("testrealm@host.com", "Mufasa", "Circle Of Life");
        assert_eq!(c.ha1_md5, "939e7578ed9e3c518a452acee763bce9");
        assert_eq!(c.ha1_sha256.len(), 64);
        assert_eq!(c.realm, "testrealm@host.com");
        assert!(super::for_user("kefu", None, "pw").is_none());
    }
}
