//! HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760): challenges,
//! `Authorization` values, verification on the server and responses on the client.
//!
//! Sans-IO: nothing here reads a clock or makes random numbers. Nonces come from the caller
//! — [`NonceKey`] makes stateless ones from a secret and a timestamp — and so do client
//! nonces (`cnonce`). Supported: MD5, MD5-sess, SHA-256, SHA-256-sess; `qop=auth` and no qop
//! (RFC 2069 style, still common in SIP). Not supported: `qop=auth-int`, `userhash`, and
//! `username*` (RFC 8187 encoded user names).

mod nonce;
mod params;

use md5::Md5;
use sha2::{Digest as _, Sha256};

pub use nonce::{NonceKey, NonceStatus};

/// Why a Digest header was refused or a response did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The scheme is not `Digest`.
    #[error("not a Digest header")]
    NotDigest,
    /// The parameter list cannot be parsed.
    #[error("malformed Digest header at byte {at}: {reason}")]
    Malformed {
        /// Byte offset in the header value.
        at: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// A parameter appeared twice.
    #[error("duplicate parameter `{0}`")]
    DuplicateParameter(String),
    /// A required parameter is missing.
    #[error("missing parameter `{0}`")]
    MissingParameter(&'static str),
    /// A parameter has a bad value (e.g. `nc` not 8 hex digits).
    #[error("invalid parameter `{0}`")]
    InvalidParameter(&'static str),
    /// An algorithm we do not implement.
    #[error("unsupported algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// A qop we do not implement (`auth-int`, or an unknown token).
    #[error("unsupported qop `{0}`")]
    UnsupportedQop(String),
    /// The credentials are for another realm.
    #[error("credentials for another realm")]
    RealmMismatch,
    /// The `uri` parameter is not the request URI.
    #[error("digest uri does not match the request uri")]
    UriMismatch,
    /// A stored HA1 is for another algorithm than the client used.
    #[error("stored HA1 is for another algorithm")]
    AlgorithmMismatch,
    /// The nonce was not issued by us.
    #[error("unknown nonce")]
    InvalidNonce,
    /// The response does not match: wrong password (or method, nonce, cnonce…).
    #[error("wrong response")]
    WrongResponse,
}

/// Digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// `MD5` (the default when `algorithm` is absent).
    #[default]
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 8760 for SIP).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The token used in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Parses a token (case-insensitive).
    pub fn parse(token: &str) -> Result<Self, DigestError> {
        [Algorithm::Md5, Algorithm::Md5Sess, Algorithm::Sha256, Algorithm::Sha256Sess]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(token))
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(token.to_owned()))
    }

    /// The algorithm without `-sess` (what a stored HA1 is computed with).
    pub fn base(self) -> Self {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => Algorithm::Md5,
            Algorithm::Sha256 | Algorithm::Sha256Sess => Algorithm::Sha256,
        }
    }

    fn is_session(self) -> bool {
        self != self.base()
    }

    /// Lower-case hex hash of `data`.
    pub fn hash(self, data: &str) -> String {
        match self.base() {
            Algorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
            _ => to_hex(&Md5::digest(data.as_bytes())),
        }
    }

    fn strength(self) -> u8 {
        match self.base() {
            Algorithm::Sha256 => 2,
            _ => 1,
        }
    }
}

/// Quality of protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// `auth`: the response also covers `nc` and `cnonce`.
    Auth,
    /// `auth-int`: also the body (parsed, not supported).
    AuthInt,
}

impl Qop {
    fn as_str(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }

    fn parse(token: &str) -> Option<Self> {
        if token.eq_ignore_ascii_case("auth") {
            Some(Qop::Auth)
        } else if token.eq_ignore_ascii_case("auth-int") {
            Some(Qop::AuthInt)
        } else {
            None
        }
    }
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection realm (kefu uses its SIP domain).
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value the client echoes back.
    pub opaque: Option<String>,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Offered qop values (empty: none, RFC 2069 style).
    pub qop: Vec<Qop>,
    /// The previous nonce was stale but the response was right: retry without asking the user.
    pub stale: bool,
}

impl Challenge {
    /// A challenge offering `qop="auth"`, no opaque, not stale.
    pub fn new(realm: &str, nonce: &str, algorithm: Algorithm) -> Self {
        Challenge {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: None,
            algorithm,
            qop: vec![Qop::Auth],
            stale: false,
        }
    }

    /// The header value, e.g. `Digest realm="kefu", nonce="…", algorithm=SHA-256, qop="auth"`.
    pub fn to_header_value(&self) -> String {
        let mut out = format!("Digest realm={}, nonce={}", params::quote(&self.realm), params::quote(&self.nonce));
        if let Some(opaque) = &self.opaque {
            out.push_str(", opaque=");
            out.push_str(&params::quote(opaque));
        }
        out.push_str(", algorithm=");
        out.push_str(self.algorithm.as_str());
        if !self.qop.is_empty() {
            let list: Vec<&str> = self.qop.iter().map(|q| q.as_str()).collect();
            out.push_str(", qop=");
            out.push_str(&params::quote(&list.join(",")));
        }
        if self.stale {
            out.push_str(", stale=true");
        }
        out
    }

    /// Parses a challenge header value (client side). Unknown qop tokens and parameters are
    /// ignored; an unknown algorithm is an error.
    pub fn parse(value: &str) -> Result<Self, DigestError> {
        let mut realm = None;
        let mut nonce = None;
        let mut challenge = Challenge::new("", "", Algorithm::Md5);
        challenge.qop.clear();
        for (name, value) in params::parse(value)? {
            match name.as_str() {
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "opaque" => challenge.opaque = Some(value),
                "algorithm" => challenge.algorithm = Algorithm::parse(&value)?,
                "qop" => challenge.qop = value.split(',').filter_map(|t| Qop::parse(t.trim())).collect(),
                "stale" => challenge.stale = value.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        challenge.realm = realm.ok_or(DigestError::MissingParameter("realm"))?;
        challenge.nonce = nonce.ok_or(DigestError::MissingParameter("nonce"))?;
        Ok(challenge)
    }

    /// The challenge a client should answer among several (RFC 8760: prefer SHA-256).
    pub fn strongest(challenges: &[Challenge]) -> Option<&Challenge> {
        challenges.iter().rev().max_by_key(|c| c.algorithm.strength())
    }

    /// Client side: credentials answering this challenge for a request. `cnonce` must be
    /// fresh and unpredictable (the caller makes it); `nc` counts requests with this nonce,
    /// from 1. Uses `qop=auth` when offered, no qop when none is offered.
    pub fn respond(
        &self,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> Result<Credentials, DigestError> {
        let qop = match self.qop.as_slice() {
            [] => None,
            offered if offered.contains(&Qop::Auth) => Some(Qop::Auth),
            _ => return Err(DigestError::UnsupportedQop(Qop::AuthInt.as_str().to_owned())),
        };
        let uses_cnonce = qop.is_some() || self.algorithm.is_session();
        let mut credentials = Credentials {
            username: username.to_owned(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: uri.to_owned(),
            response: String::new(),
            algorithm: self.algorithm,
            cnonce: uses_cnonce.then(|| cnonce.to_owned()),
            opaque: self.opaque.clone(),
            qop,
            nc: qop.map(|_| nc),
        };
        let ha1 = self.algorithm.hash(&format!("{username}:{}:{password}", self.realm));
        credentials.response = credentials.expected_response(&ha1, method)?;
        Ok(credentials)
    }
}

/// The parameters of an `Authorization` / `Proxy-Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name (the agent's extension, e.g. `1001`).
    pub username: String,
    /// Realm from the challenge.
    pub realm: String,
    /// Nonce from the challenge.
    pub nonce: String,
    /// The request URI as the client hashed it.
    pub uri: String,
    /// The response hash (hex).
    pub response: String,
    /// Hash algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// Client nonce (required with qop and with `-sess`).
    pub cnonce: Option<String>,
    /// Opaque value echoed from the challenge.
    pub opaque: Option<String>,
    /// Quality of protection, `None` for RFC 2069 style.
    pub qop: Option<Qop>,
    /// Nonce count (required with qop).
    pub nc: Option<u32>,
}

impl Credentials {
    /// Parses a header value (server side). Parameter names are case-insensitive and may come
    /// in any order; unknown parameters are ignored.
    pub fn parse(value: &str) -> Result<Self, DigestError> {
        let mut username = None;
        let mut realm = None;
        let mut nonce = None;
        let mut uri = None;
        let mut response = None;
        let mut algorithm = Algorithm::Md5;
        let mut cnonce = None;
        let mut opaque = None;
        let mut qop = None;
        let mut nc = None;
        for (name, value) in params::parse(value)? {
            match name.as_str() {
                "username" => username = Some(value),
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "uri" => uri = Some(value),
                "response" => response = Some(value),
                "algorithm" => algorithm = Algorithm::parse(&value)?,
                "cnonce" => cnonce = Some(value),
                "opaque" => opaque = Some(value),
                "qop" => qop = Some(Qop::parse(&value).ok_or(DigestError::UnsupportedQop(value))?),
                "nc" => nc = Some(parse_nc(&value).ok_or(DigestError::InvalidParameter("nc"))?),
                _ => {}
            }
        }
        if qop.is_some() {
            if cnonce.is_none() {
                return Err(DigestError::MissingParameter("cnonce"));
            }
            if nc.is_none() {
                return Err(DigestError::MissingParameter("nc"));
            }
        }
        Ok(Credentials {
            username: username.ok_or(DigestError::MissingParameter("username"))?,
            realm: realm.ok_or(DigestError::MissingParameter("realm"))?,
            nonce: nonce.ok_or(DigestError::MissingParameter("nonce"))?,
            uri: uri.ok_or(DigestError::MissingParameter("uri"))?,
            response: response.ok_or(DigestError::MissingParameter("response"))?,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
        })
    }

    /// The header value (client side).
    pub fn to_header_value(&self) -> String {
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            params::quote(&self.username),
            params::quote(&self.realm),
            params::quote(&self.nonce),
            params::quote(&self.uri),
            params::quote(&self.response),
            self.algorithm.as_str()
        );
        if let Some(cnonce) = &self.cnonce {
            out.push_str(", cnonce=");
            out.push_str(&params::quote(cnonce));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(", opaque=");
            out.push_str(&params::quote(opaque));
        }
        if let Some(qop) = self.qop {
            out.push_str(", qop=");
            out.push_str(qop.as_str());
        }
        if let Some(nc) = self.nc {
            out.push_str(&format!(", nc={nc:08x}"));
        }
        out
    }

    /// The response these credentials should carry, given HA1 = H(username:realm:password)
    /// for the base algorithm.
    fn expected_response(&self, ha1: &str, method: &str) -> Result<String, DigestError> {
        let h = |data: String| self.algorithm.hash(&data);
        let ha1 = if self.algorithm.is_session() {
            let cnonce = self.cnonce.as_deref().ok_or(DigestError::MissingParameter("cnonce"))?;
            h(format!("{ha1}:{}:{cnonce}", self.nonce))
        } else {
            ha1.to_owned()
        };
        let ha2 = h(format!("{method}:{}", self.uri));
        match self.qop {
            None => Ok(h(format!("{ha1}:{}:{ha2}", self.nonce))),
            Some(Qop::Auth) => {
                let cnonce = self.cnonce.as_deref().ok_or(DigestError::MissingParameter("cnonce"))?;
                let nc = self.nc.ok_or(DigestError::MissingParameter("nc"))?;
                Ok(h(format!("{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}", self.nonce)))
            }
            Some(Qop::AuthInt) => Err(DigestError::UnsupportedQop(Qop::AuthInt.as_str().to_owned())),
        }
    }
}

/// `nc`: exactly 8 hex digits (lower case, per RFC 7616's 8LHEX).
fn parse_nc(text: &str) -> Option<u32> {
    let valid = text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if valid { u32::from_str_radix(text, 16).ok() } else { None }
}

/// What the server knows about the user.
#[derive(Debug, Clone, Copy)]
pub enum Secret<'a> {
    /// The plain password.
    Password(&'a str),
    /// A stored HA1 = H(username:realm:password), hex, for `algorithm` (its `-sess` variant
    /// works too).
    Ha1 {
        /// Algorithm the HA1 was computed with.
        algorithm: Algorithm,
        /// Hex HA1.
        hex: &'a str,
    },
}

/// HA1 = H(username:realm:password), to store instead of the password.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&format!("{username}:{realm}:{password}"))
}

/// The request being authenticated, as the server sees it.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// SIP method (`REGISTER`, `INVITE`, …).
    pub method: &'a str,
    /// Request-URI, compared byte for byte with the `uri` parameter.
    pub request_uri: &'a str,
    /// Our realm.
    pub realm: &'a str,
}

/// Server side: checks credentials for a request against the user's secret. Does not judge
/// the nonce (see [`NonceKey::authenticate`]); a response without qop is accepted even when
/// the challenge offered one (many SIP UAs do that) — check `credentials.qop` to refuse it.
pub fn verify(credentials: &Credentials, expected: &Expected<'_>, secret: &Secret<'_>) -> Result<(), DigestError> {
    if credentials.realm != expected.realm {
        return Err(DigestError::RealmMismatch);
    }
    if credentials.uri != expected.request_uri {
        return Err(DigestError::UriMismatch);
    }
    let ha1 = match secret {
        Secret::Password(password) => {
            ha1(credentials.algorithm.base(), &credentials.username, expected.realm, password)
        }
        Secret::Ha1 { algorithm, hex } => {
            if algorithm.base() != credentials.algorithm.base() {
                return Err(DigestError::AlgorithmMismatch);
            }
            hex.to_ascii_lowercase()
        }
    };
    let wanted = credentials.expected_response(&ha1, expected.method)?;
    let given = credentials.response.to_ascii_lowercase();
    if constant_time_eq(wanted.as_bytes(), given.as_bytes()) { Ok(()) } else { Err(DigestError::WrongResponse) }
}

/// The server's verdict on a request with credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Right response on a fresh nonce.
    Authorized,
    /// Right response on a stale nonce: send a new challenge with `stale=true`.
    Stale,
    /// Refused: send a new challenge (401/407), or 403 after repeated failures.
    Rejected(DigestError),
}

impl NonceKey {
    /// Checks the nonce (issued by this key for the realm, at most `max_age` seconds from
    /// `now`) and then the response.
    pub fn authenticate(
        &self,
        credentials: &Credentials,
        expected: &Expected<'_>,
        secret: &Secret<'_>,
        now: u64,
        max_age: u64,
    ) -> AuthOutcome {
        let status = self.check(&credentials.nonce, expected.realm, now, max_age);
        if status == NonceStatus::Invalid {
            return AuthOutcome::Rejected(DigestError::InvalidNonce);
        }
        match verify(credentials, expected, secret) {
            Err(e) => AuthOutcome::Rejected(e),
            Ok(()) if status == NonceStatus::Stale => AuthOutcome::Stale,
            Ok(()) => AuthOutcome::Authorized,
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lower-case hex.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests;
