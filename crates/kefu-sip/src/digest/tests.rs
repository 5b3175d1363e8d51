//! Tests for Digest authentication: published vectors, SIP cases, parsing edge cases.

use proptest::prelude::*;

use super::*;

/// RFC 2617 §3.5, as printed (line breaks and indentation included).
const RFC2617_AUTHORIZATION: &str = r#"Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

const RFC2617_CHALLENGE: &str = r#"Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

fn get(uri: &'static str, realm: &'static str) -> Expected<'static> {
    Expected { method: "GET", request_uri: uri, realm }
}

#[test]
fn rfc2617_example_verifies_on_the_server() {
    let creds = Credentials::parse(RFC2617_AUTHORIZATION).unwrap();
    assert_eq!(creds.username, "Mufasa");
    assert_eq!((creds.qop, creds.nc, creds.cnonce.as_deref()), (Some(Qop::Auth), Some(1), Some("0a4f113b")));
    assert_eq!(creds.algorithm, Algorithm::Md5);
    let expected = get("/dir/index.html", "testrealm@host.com");
    assert_eq!(verify(&creds, &expected, &Secret::Password("Circle Of Life")), Ok(()));
    let stored = ha1(Algorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
    assert_eq!(verify(&creds, &expected, &Secret::Ha1 { algorithm: Algorithm::Md5, hex: &stored }), Ok(()));
    assert_eq!(verify(&creds, &expected, &Secret::Password("Circle of Life")), Err(DigestError::WrongResponse));
}

#[test]
fn rfc2617_example_computed_by_the_client() {
    let challenge = Challenge::parse(RFC2617_CHALLENGE).unwrap();
    assert_eq!(challenge.qop, [Qop::Auth, Qop::AuthInt]);
    let creds = challenge.respond("Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b", 1).unwrap();
    assert_eq!(creds.response, "6629fae49393a05397450978507c4ef1");
    assert_eq!(creds.opaque.as_deref(), Some("5ccc069c403ebaf9f0171e9517f40e41"));
    assert_eq!(Credentials::parse(&creds.to_header_value()).unwrap(), creds);
    assert_eq!(Credentials::parse(RFC2617_AUTHORIZATION).unwrap(), creds);
}

#[test]
fn rfc7616_sha256_and_md5_vectors() {
    let challenge = |algorithm: &str| {
        Challenge::parse(&format!(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm},
               nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
               opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        ))
        .unwrap()
    };
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    let sha = challenge("SHA-256").respond("Mufasa", "Circle of Life", "GET", "/dir/index.html", cnonce, 1).unwrap();
    assert_eq!(sha.response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    let md5 = challenge("MD5").respond("Mufasa", "Circle of Life", "GET", "/dir/index.html", cnonce, 1).unwrap();
    assert_eq!(md5.response, "8ca523f5e9506fed4657c9700eebdbec");

    // And the server side of the SHA-256 one, from the header text in the RFC.
    let header = r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html",
        algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001,
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth,
        response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    let creds = Credentials::parse(header).unwrap();
    assert_eq!(creds, sha);
    let expected = get("/dir/index.html", "http-auth@example.org");
    assert_eq!(verify(&creds, &expected, &Secret::Password("Circle of Life")), Ok(()));
    // A stored MD5 HA1 cannot check a SHA-256 response.
    let md5_ha1 = ha1(Algorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of Life");
    assert_eq!(
        verify(&creds, &expected, &Secret::Ha1 { algorithm: Algorithm::Md5, hex: &md5_ha1 }),
        Err(DigestError::AlgorithmMismatch)
    );
}

// SIP vectors below were computed independently with Python's hashlib.

#[test]
fn sip_register_without_qop() {
    // As a softphone sends it: no spaces after commas, algorithm last.
    let header = r#"Digest username="1001",realm="kefu.local",nonce="5f2b1c0a:abcdef",uri="sip:kefu.local",response="F7C92BA666C4B2BBBFC30073FFCACB27",algorithm=MD5"#;
    let creds = Credentials::parse(header).unwrap();
    assert_eq!((creds.qop, creds.nc, creds.cnonce.as_deref()), (None, None, None));
    let register = Expected { method: "REGISTER", request_uri: "sip:kefu.local", realm: "kefu.local" };
    assert_eq!(verify(&creds, &register, &Secret::Password("s3cret")), Ok(()));
    let stored = ha1(Algorithm::Md5, "1001", "kefu.local", "s3cret");
    assert_eq!(verify(&creds, &register, &Secret::Ha1 { algorithm: Algorithm::Md5, hex: &stored }), Ok(()));
    assert_eq!(verify(&creds, &register, &Secret::Password("s3cre")), Err(DigestError::WrongResponse));

    let challenge = Challenge { qop: Vec::new(), ..Challenge::new("kefu.local", "5f2b1c0a:abcdef", Algorithm::Md5) };
    let ours = challenge.respond("1001", "s3cret", "REGISTER", "sip:kefu.local", "unused", 1).unwrap();
    assert_eq!(ours.response, "f7c92ba666c4b2bbbfc30073ffcacb27");
    assert_eq!((ours.cnonce, ours.nc, ours.qop), (None, None, None));
}

#[test]
fn sip_invite_sha256_without_qop_and_md5_sess_with_qop() {
    let challenge = Challenge { qop: Vec::new(), ..Challenge::new("kefu.local", "nonce123", Algorithm::Sha256) };
    let creds = challenge.respond("1001", "s3cret", "INVITE", "sip:1002@kefu.local", "x", 1).unwrap();
    assert_eq!(creds.response, "963dd97d06a059e856a6d02afdf49d3b7e79d1992c3dfb8d6f64f8e28498b07d");
    let invite = Expected { method: "INVITE", request_uri: "sip:1002@kefu.local", realm: "kefu.local" };
    assert_eq!(verify(&creds, &invite, &Secret::Password("s3cret")), Ok(()));

    let challenge = Challenge::new("kefu.local", "nonce123", Algorithm::Md5Sess);
    let creds = challenge.respond("1001", "s3cret", "REGISTER", "sip:kefu.local", "cn0123", 10).unwrap();
    assert_eq!(creds.response, "cd73cc3095ba17c2d60e05de7a0d6820");
    assert!(creds.to_header_value().contains("algorithm=MD5-sess, cnonce=\"cn0123\", qop=auth, nc=0000000a"));
    let register = Expected { method: "REGISTER", request_uri: "sip:kefu.local", realm: "kefu.local" };
    let stored = ha1(Algorithm::Md5, "1001", "kefu.local", "s3cret");
    assert_eq!(verify(&creds, &register, &Secret::Ha1 { algorithm: Algorithm::Md5Sess, hex: &stored }), Ok(()));
}

#[test]
fn wrong_method_uri_realm_or_counters_fail() {
    let challenge = Challenge::new("kefu.local", "n", Algorithm::Sha256);
    let creds = challenge.respond("1001", "pw", "REGISTER", "sip:kefu.local", "c", 1).unwrap();
    let ok = Expected { method: "REGISTER", request_uri: "sip:kefu.local", realm: "kefu.local" };
    let pw = Secret::Password("pw");
    assert_eq!(verify(&creds, &ok, &pw), Ok(()));
    assert_eq!(verify(&creds, &Expected { method: "INVITE", ..ok }, &pw), Err(DigestError::WrongResponse));
    assert_eq!(verify(&creds, &Expected { request_uri: "sip:evil", ..ok }, &pw), Err(DigestError::UriMismatch));
    assert_eq!(verify(&creds, &Expected { realm: "other", ..ok }, &pw), Err(DigestError::RealmMismatch));
    assert_eq!(verify(&creds, &ok, &Secret::Password("PW")), Err(DigestError::WrongResponse));
    for tamper in [
        |c: &mut Credentials| c.nc = Some(2),
        |c: &mut Credentials| c.cnonce = Some("d".into()),
        |c: &mut Credentials| c.nonce = "m".into(),
        |c: &mut Credentials| c.username = "1002".into(),
        |c: &mut Credentials| c.qop = None,
        |c: &mut Credentials| c.response.truncate(10),
    ] {
        let mut bad = creds.clone();
        tamper(&mut bad);
        assert_eq!(verify(&bad, &ok, &pw), Err(DigestError::WrongResponse));
    }
}

#[test]
fn parse_edge_cases() {
    let creds = Credentials::parse(
        r#"digest  NC = 000000ff , Response="AB" ,qop="auth", URI = "sip:a@b;transport=tcp, x", username="Say \"hi\", \\o/",cnonce=x,realm="r,r",nonce="n""#,
    )
    .unwrap();
    assert_eq!(creds.username, r#"Say "hi", \o/"#);
    assert_eq!(creds.uri, "sip:a@b;transport=tcp, x");
    assert_eq!(creds.realm, "r,r");
    assert_eq!((creds.nc, creds.qop, creds.response.as_str()), (Some(255), Some(Qop::Auth), "AB"));
    assert_eq!(Credentials::parse(&creds.to_header_value()).unwrap(), creds);

    let base = r#"Digest username="u", realm="r", nonce="n", uri="sip:r", response="x""#;
    assert!(Credentials::parse(base).is_ok());
    let err = |extra: &str| Credentials::parse(&format!("{base}{extra}")).unwrap_err();
    assert_eq!(err(", qop=auth, nc=00000001"), DigestError::MissingParameter("cnonce"));
    assert_eq!(err(", qop=auth, cnonce=c"), DigestError::MissingParameter("nc"));
    assert_eq!(err(", nc=1"), DigestError::InvalidParameter("nc"));
    assert_eq!(err(", nc=0000000A"), DigestError::InvalidParameter("nc"));
    // auth-int parses, but cannot be verified (we do not hash bodies).
    let int = Credentials::parse(&format!("{base}, qop=auth-int, cnonce=c, nc=00000001")).unwrap();
    let expected = Expected { method: "REGISTER", request_uri: "sip:r", realm: "r" };
    let result = verify(&int, &expected, &Secret::Password("p"));
    assert_eq!(result.unwrap_err().to_string(), "unsupported qop `auth-int`");
    assert_eq!(err(", qop=bogus"), DigestError::UnsupportedQop("bogus".into()));
    assert_eq!(err(", algorithm=SHA-512-256"), DigestError::UnsupportedAlgorithm("SHA-512-256".into()));
    assert_eq!(err(", Username=\"v\""), DigestError::DuplicateParameter("username".into()));
    assert!(Credentials::parse(&format!("{base}, algorithm=\"sha-256\", future=\"ok\"")).is_ok());
    assert_eq!(
        Credentials::parse(r#"Digest realm="r", nonce="n", uri="u", response="x""#),
        Err(DigestError::MissingParameter("username"))
    );
    assert_eq!(Credentials::parse(r#"Basic dXNlcjpwYXNz"#), Err(DigestError::NotDigest));
    assert_eq!(Credentials::parse(""), Err(DigestError::NotDigest));
}

#[test]
fn challenge_header_value_and_round_trip() {
    let mut challenge = Challenge::new("kefu.local", "0000000065:ab", Algorithm::Sha256);
    challenge.opaque = Some("o\"1".into());
    assert_eq!(
        challenge.to_header_value(),
        r#"Digest realm="kefu.local", nonce="0000000065:ab", opaque="o\"1", algorithm=SHA-256, qop="auth""#
    );
    challenge.stale = true;
    assert!(challenge.to_header_value().ends_with(", stale=true"));
    assert_eq!(Challenge::parse(&challenge.to_header_value()).unwrap(), challenge);
    assert_eq!(Challenge::parse(r#"Digest nonce="n""#), Err(DigestError::MissingParameter("realm")));
    assert!(Challenge::parse(r#"Digest realm="r", nonce="n", stale=TRUE"#).unwrap().stale);
    // A client cannot answer a challenge that offers only auth-int.
    let int_only = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#).unwrap();
    assert_eq!(
        int_only.respond("u", "p", "REGISTER", "sip:r", "c", 1),
        Err(DigestError::UnsupportedQop("auth-int".into()))
    );
}

#[test]
fn strongest_challenge_prefers_sha256() {
    let md5 = Challenge::new("r", "n1", Algorithm::Md5);
    let sha = Challenge::new("r", "n2", Algorithm::Sha256);
    assert_eq!(Challenge::strongest(&[md5.clone(), sha.clone()]), Some(&sha));
    assert_eq!(Challenge::strongest(&[sha.clone(), md5.clone()]), Some(&sha));
    let md5b = Challenge::new("r", "n3", Algorithm::Md5);
    assert_eq!(Challenge::strongest(&[md5.clone(), md5b]), Some(&md5));
    assert_eq!(Challenge::strongest(&[]), None);
}

#[test]
fn stateless_nonce_flow_with_stale_detection() {
    let key = NonceKey::new(b"registrar secret, 32 bytes long!");
    let realm = "kefu.local";
    let register = Expected { method: "REGISTER", request_uri: "sip:kefu.local", realm };
    let secret = Secret::Password("s3cret");
    let issued_at = 1_000_000;
    let challenge = Challenge::new(realm, &key.issue(realm, issued_at), Algorithm::Sha256);
    let creds = Credentials::parse(
        &challenge.respond("1001", "s3cret", "REGISTER", "sip:kefu.local", "abc", 1).unwrap().to_header_value(),
    )
    .unwrap();

    assert_eq!(key.authenticate(&creds, &register, &secret, issued_at + 10, 300), AuthOutcome::Authorized);
    assert_eq!(key.authenticate(&creds, &register, &secret, issued_at + 301, 300), AuthOutcome::Stale);
    assert_eq!(
        key.authenticate(&creds, &register, &Secret::Password("nope"), issued_at + 301, 300),
        AuthOutcome::Rejected(DigestError::WrongResponse)
    );
    let mut forged = creds.clone();
    forged.nonce = format!("{:016x}:{}", issued_at + 500, &creds.nonce[17..]);
    assert_eq!(
        key.authenticate(&forged, &register, &secret, issued_at + 500, 300),
        AuthOutcome::Rejected(DigestError::InvalidNonce)
    );
    // The stale answer to send back.
    let retry =
        Challenge { stale: true, ..Challenge::new(realm, &key.issue(realm, issued_at + 301), Algorithm::Sha256) };
    assert!(retry.to_header_value().contains("stale=true"));
}

#[test]
fn constant_time_eq_compares_exactly() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(constant_time_eq(b"", b""));
}

/// Printable text including the characters that need quoting.
fn text() -> impl Strategy<Value = String> {
    "[ -~é\t]{0,24}"
}

proptest! {
    #[test]
    fn parsing_arbitrary_strings_never_panics(value in "\\PC{0,160}") {
        let _ = Credentials::parse(&value);
        let _ = Challenge::parse(&value);
        let _ = Credentials::parse(&format!("Digest {value}"));
    }

    #[test]
    fn parsing_header_like_strings_never_panics(parts in prop::collection::vec(r#"[a-z]{1,6}|=|,| |"|\\|[a-z0-9"\\, =]{1,8}"#, 0..24)) {
        let value = format!("Digest {}", parts.concat());
        let _ = Credentials::parse(&value);
        let _ = Challenge::parse(&value);
    }

    #[test]
    fn credentials_round_trip_through_the_header(
        username in text(), realm in text(), nonce in text(), uri in text(), cnonce in text(), nc in any::<u32>(),
    ) {
        let challenge = Challenge::new(&realm, &nonce, Algorithm::Sha256Sess);
        let creds = challenge.respond(&username, "pw", "REGISTER", &uri, &cnonce, nc).unwrap();
        prop_assert_eq!(Credentials::parse(&creds.to_header_value()), Ok(creds.clone()));
        let expected = Expected { method: "REGISTER", request_uri: &uri, realm: &realm };
        prop_assert_eq!(verify(&creds, &expected, &Secret::Password("pw")), Ok(()));
        prop_assert_eq!(verify(&creds, &expected, &Secret::Password("pw2")), Err(DigestError::WrongResponse));
    }
}
