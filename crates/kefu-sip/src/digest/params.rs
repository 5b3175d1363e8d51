//! The `auth-param` list of a Digest header value (RFC 7235 §2.1): `Digest a=token, b="quoted
//! \"string\""`, names case-insensitive, any order, optional whitespace, empty list elements.

use super::DigestError;

/// Splits `Digest <params>` into lower-cased names and unquoted values, in order.
pub(super) fn parse(value: &str) -> Result<Vec<(String, String)>, DigestError> {
    let value = value.trim_start();
    let scheme_end = value.find(|c: char| c.is_ascii_whitespace()).unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(DigestError::NotDigest);
    }
    let mut params: Vec<(String, String)> = Vec::new();
    let mut chars = rest.char_indices().peekable();
    let offset = scheme_end;
    let malformed = |at: usize, reason: &'static str| DigestError::Malformed { at: offset + at, reason };
    loop {
        while chars.next_if(|(_, c)| c.is_ascii_whitespace() || *c == ',').is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut name = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| is_token_char(*c)) {
            name.push(c.to_ascii_lowercase());
        }
        if name.is_empty() {
            return Err(malformed(start, "expected a parameter name"));
        }
        while chars.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        match chars.next() {
            Some((_, '=')) => {}
            Some((at, _)) => return Err(malformed(at, "expected `=`")),
            None => return Err(malformed(rest.len(), "expected `=`")),
        }
        while chars.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        let mut text = String::new();
        if chars.next_if(|(_, c)| *c == '"').is_some() {
            loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) => text.push(c),
                        None => return Err(malformed(rest.len(), "unterminated quoted string")),
                    },
                    Some((_, c)) => text.push(c),
                    None => return Err(malformed(rest.len(), "unterminated quoted string")),
                }
            }
        } else {
            // Lenient: any run up to a comma or whitespace (some UAs leave URIs unquoted).
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_ascii_whitespace() && *c != ',' && *c != '"') {
                text.push(c);
            }
            if text.is_empty() {
                let at = chars.peek().map_or(rest.len(), |(at, _)| *at);
                return Err(malformed(at, "expected a value"));
            }
        }
        while chars.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        if let Some((at, c)) = chars.peek().copied()
            && c != ','
        {
            return Err(malformed(at, "expected `,` between parameters"));
        }
        if params.iter().any(|(n, _)| *n == name) {
            return Err(DigestError::DuplicateParameter(name));
        }
        params.push((name, text));
    }
    Ok(params)
}

/// RFC 7230 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// A quoted-string: `"` and `\` escaped; control characters (which could split the header)
/// dropped.
pub(super) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(value: &str) -> Vec<(String, String)> {
        parse(value).unwrap()
    }

    #[test]
    fn tokens_quoted_strings_and_case_insensitive_names() {
        assert_eq!(
            pairs(r#"DIGEST Realm="a, b", NONCE=xyz,algorithm = MD5 ,  qop="auth,auth-int""#),
            [
                ("realm".into(), "a, b".into()),
                ("nonce".into(), "xyz".into()),
                ("algorithm".into(), "MD5".into()),
                ("qop".into(), "auth,auth-int".into())
            ]
        );
    }

    #[test]
    fn escapes_and_empty_elements() {
        assert_eq!(
            pairs(r#"Digest  ,username="say \"hi\" \\o/", , realm="""#),
            [("username".into(), r#"say "hi" \o/"#.into()), ("realm".into(), String::new())]
        );
        assert_eq!(pairs("Digest"), []);
        assert_eq!(pairs("  digest\trealm=x"), [("realm".into(), "x".into())]);
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert_eq!(parse("Basic abc"), Err(DigestError::NotDigest));
        assert_eq!(parse("Digestrealm=x"), Err(DigestError::NotDigest));
        assert!(matches!(parse(r#"Digest realm="open"#), Err(DigestError::Malformed { .. })));
        assert!(matches!(parse(r#"Digest realm="x\"#), Err(DigestError::Malformed { .. })));
        assert!(matches!(parse("Digest realm"), Err(DigestError::Malformed { .. })));
        assert!(matches!(parse("Digest realm="), Err(DigestError::Malformed { .. })));
        assert!(matches!(parse("Digest =x"), Err(DigestError::Malformed { .. })));
        assert!(matches!(parse(r#"Digest realm="a" nonce="b""#), Err(DigestError::Malformed { .. })));
        assert_eq!(parse("Digest realm=a, REALM=b"), Err(DigestError::DuplicateParameter("realm".into())));
    }

    #[test]
    fn malformed_position_points_into_the_value() {
        let value = r#"Digest realm="a" nonce="b""#;
        let Err(DigestError::Malformed { at, .. }) = parse(value) else { panic!("not malformed") };
        assert_eq!(&value[at..at + 5], "nonce");
    }

    #[test]
    fn quote_escapes_and_drops_line_breaks() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote("a\r\nb\tc"), "\"ab\tc\"");
    }
}
