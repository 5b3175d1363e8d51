//! Digest authentication of requests from phones (REGISTER: 401, INVITE: 407), against the
//! HA1s the store keeps, with stateless nonces (ADR 0007).

use rsipstack::sip::{Header, HeadersExt, StatusCode};
use rsipstack::transaction::Transaction;
use tracing::{debug, info};

use super::{Inner, SipSecret};
use crate::digest::{Algorithm, AuthOutcome, Challenge, Credentials, Expected, Secret};

/// Seconds a nonce stays fresh.
const NONCE_MAX_AGE: u64 = 300;

/// Which challenge a request gets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Realm {
    /// REGISTER and other requests to the registrar: 401 / WWW-Authenticate.
    Registrar,
    /// INVITE: 407 / Proxy-Authenticate.
    Proxy,
}

/// An authenticated extension.
pub(super) struct Authenticated {
    pub extension: String,
}

fn now_secs() -> u64 {
    u64::try_from(super::now_ms() / 1000).unwrap_or(0)
}

impl Inner {
    /// Checks the request's credentials. Answers the transaction itself (challenge or 403) and
    /// returns `None` when the request may not go on.
    pub(super) async fn authenticate(&self, tx: &mut Transaction, realm: Realm) -> Option<Authenticated> {
        let header = match realm {
            Realm::Registrar => "Authorization",
            Realm::Proxy => "Proxy-Authorization",
        };
        let Some(value) = tx.original.header_value(header) else {
            self.challenge(tx, realm, false).await;
            return None;
        };
        let credentials = match Credentials::parse(&value) {
            Ok(c) => c,
            Err(e) => {
                debug!(error = %e, "unreadable credentials");
                tx.reply_with(StatusCode::BadRequest, vec![], None).await.ok();
                return None;
            }
        };
        // The URI must name this request's Request-URI; compare structurally so that a client
        // writing the same URI with different spelling is not refused.
        let uri_matches = rsipstack::sip::Uri::try_from(credentials.uri.as_str())
            .map(|u| u == tx.original.uri || u.to_string() == tx.original.uri.to_string())
            .unwrap_or(false);
        if !uri_matches {
            info!(user = %credentials.username, "digest uri does not match the request");
            tx.reply(StatusCode::Forbidden).await.ok();
            return None;
        }
        let Some(secret) = self.directory.sip_secret(&credentials.username).await else {
            info!(user = %credentials.username, "SIP authentication for an unknown extension");
            tx.reply(StatusCode::Forbidden).await.ok();
            return None;
        };
        if !secret.enabled {
            info!(user = %credentials.username, "SIP authentication for a disabled user");
            tx.reply(StatusCode::Forbidden).await.ok();
            return None;
        }
        if secret.realm != self.cfg.realm {
            info!(user = %credentials.username, "SIP credentials were made for another realm; set the password again");
            tx.reply(StatusCode::Forbidden).await.ok();
            return None;
        }
        if !self.cfg.digest_algorithms.contains(&credentials.algorithm.base()) {
            info!(user = %credentials.username, algorithm = credentials.algorithm.as_str(), "digest algorithm not offered");
            tx.reply(StatusCode::Forbidden).await.ok();
            return None;
        }
        let method = tx.original.method.to_string();
        let expected = Expected { method: &method, request_uri: &credentials.uri, realm: &self.cfg.realm };
        match self.nonce.authenticate(
            &credentials,
            &expected,
            &ha1_of(&secret, credentials.algorithm),
            now_secs(),
            NONCE_MAX_AGE,
        ) {
            AuthOutcome::Authorized => Some(Authenticated { extension: credentials.username }),
            AuthOutcome::Stale => {
                self.challenge(tx, realm, true).await;
                None
            }
            AuthOutcome::Rejected(e) => {
                info!(user = %credentials.username, reason = %e, "SIP authentication failed");
                tx.reply(StatusCode::Forbidden).await.ok();
                None
            }
        }
    }

    async fn challenge(&self, tx: &mut Transaction, realm: Realm, stale: bool) {
        let nonce = self.nonce.issue(&self.cfg.realm, now_secs());
        // One header per configured algorithm, in the configured order (ADR 0009).
        let headers = self
            .cfg
            .digest_algorithms
            .iter()
            .map(|&algorithm| {
                let mut c = Challenge::new(&self.cfg.realm, &nonce, algorithm);
                c.stale = stale;
                let value = c.to_header_value();
                match realm {
                    Realm::Registrar => Header::WwwAuthenticate(value.into()),
                    Realm::Proxy => Header::ProxyAuthenticate(value.into()),
                }
            })
            .collect();
        let status = match realm {
            Realm::Registrar => StatusCode::Unauthorized,
            Realm::Proxy => StatusCode::ProxyAuthenticationRequired,
        };
        tx.reply_with(status, headers, None).await.ok();
    }
}

fn ha1_of(secret: &SipSecret, algorithm: Algorithm) -> Secret<'_> {
    match algorithm.base() {
        Algorithm::Sha256 => Secret::Ha1 { algorithm: Algorithm::Sha256, hex: &secret.ha1_sha256 },
        _ => Secret::Ha1 { algorithm: Algorithm::Md5, hex: &secret.ha1_md5 },
    }
}
