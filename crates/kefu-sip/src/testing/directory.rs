//! A fixed in-memory [`Directory`] for tests that start a SIP server without a store.

use std::collections::HashMap;

use crate::digest::{Algorithm, ha1};
use crate::server::{BoxFuture, Directory, SipSecret};

/// Extensions and their credentials, held in memory.
#[derive(Debug, Clone, Default)]
pub struct StaticDirectory(pub HashMap<String, SipSecret>);

impl StaticDirectory {
    /// Every extension in `extensions` with `password`, in `realm`, enabled.
    pub fn with_password(extensions: &[&str], password: &str, realm: &str) -> Self {
        StaticDirectory(extensions.iter().map(|e| (e.to_string(), secret(e, password, realm))).collect())
    }
}

/// The credentials a store would hold for `extension` with `password` in `realm`.
pub fn secret(extension: &str, password: &str, realm: &str) -> SipSecret {
    SipSecret {
        ha1_md5: ha1(Algorithm::Md5, extension, realm, password),
        ha1_sha256: ha1(Algorithm::Sha256, extension, realm, password),
        realm: realm.to_owned(),
        enabled: true,
    }
}

impl Directory for StaticDirectory {
    fn sip_secret<'a>(&'a self, extension: &'a str) -> BoxFuture<'a, Option<SipSecret>> {
        Box::pin(async move { self.0.get(extension).cloned() })
    }
}
