//! Customers' personal values as pure rules: phone numbers normalised so a caller id finds the
//! customer, e-mail addresses, PRC resident ID numbers (checksum, birthday, gender), masking for
//! roles that may not see them, tiers, and admin-defined custom fields.

use super::calendar::Date;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A value that failed validation; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field (`phone`, `id_card`, `custom.plan`, …).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError { field: field.into(), reason: reason.into() }
    }

    /// The same error reported against another field name (e.g. `phones[2]`).
    #[must_use]
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

/// Whether a value looks like the output of a `mask` function (contains `*`): such values
/// are never accepted back as input.
pub fn is_masked(value: &str) -> bool {
    value.contains('*')
}

fn masked_error(field: &str) -> FieldError {
    FieldError::new(field, "is a masked value (contains `*`); send the full value")
}

// ----------------------------------------------------------------------------------------------
// phone numbers

/// Fewest digits a phone number may have.
pub const PHONE_MIN_DIGITS: usize = 5;
/// Most digits a phone number may have.
pub const PHONE_MAX_DIGITS: usize = 20;

/// A normalised phone number: a Chinese number in national form (`13812345678`,
/// `01012345678`), or another country's number as `+CC…`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

fn is_cn_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit)
}

/// The user part of a SIP/tel URI or a name-addr (`"Zhang" <sip:+86138…@host;user=phone>`).
fn uri_user_part(text: &str) -> &str {
    let mut s = text.trim();
    if let (Some(open), Some(close)) = (s.find('<'), s.rfind('>'))
        && open < close
    {
        s = &s[open + 1..close];
    }
    let lower = s.get(..5).map(str::to_ascii_lowercase).unwrap_or_default();
    let had_scheme = if lower.starts_with("sips:") {
        s = &s[5..];
        true
    } else if lower.starts_with("sip:") || lower.starts_with("tel:") {
        s = &s[4..];
        true
    } else {
        false
    };
    if had_scheme {
        if let Some(at) = s.find('@') {
            s = &s[..at];
        }
        if let Some(semi) = s.find(';') {
            s = &s[..semi];
        }
    }
    s
}

impl PhoneNumber {
    /// Parses and normalises a number as typed by a person or carried in a caller id: strips
    /// spaces, `-`, `.`, `(`, `)`; takes the user part of `sip:`/`tel:` URIs; turns `+86`,
    /// `0086` or `86` before a mobile number, and `+86` before a landline, into the national
    /// form; keeps other international numbers as `+CC…`.
    pub fn parse(text: &str) -> Result<PhoneNumber, FieldError> {
        const F: &str = "phone";
        if is_masked(text) {
            return Err(masked_error(F));
        }
        let user = uri_user_part(text);
        let cleaned: String = user.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\t')).collect();
        if cleaned.is_empty() {
            return Err(FieldError::new(F, "is empty"));
        }
        let (plus, digits) = match cleaned.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_digit()) {
            return Err(FieldError::new(
                F,
                format!("`{bad}` is not allowed (digits, an optional leading `+`, spaces, `-`, `.`, brackets)"),
            ));
        }
        // Everything international becomes (country code + rest) without prefix.
        let international = if plus { Some(digits) } else { digits.strip_prefix("00") };
        let normalised = match international {
            Some(intl) => match intl.strip_prefix("86") {
                Some(national) if is_cn_mobile(national) => national.to_owned(),
                // +86 10 1234 5678: the trunk prefix 0 is dropped abroad; put it back.
                Some(national) if !national.is_empty() && !national.starts_with('0') => format!("0{national}"),
                Some(_) => return Err(FieldError::new(F, "is not a valid Chinese number after +86")),
                None if intl.is_empty() => return Err(FieldError::new(F, "has no digits after the `+`")),
                None if intl.starts_with('0') => {
                    return Err(FieldError::new(F, "a country code cannot start with 0"));
                }
                None => format!("+{intl}"),
            },
            None => match digits {
                d if d.len() == 13 && d.starts_with("86") && is_cn_mobile(&d[2..]) => d[2..].to_owned(),
                // a mobile number with a trunk 0 (dialled from a landline in another city)
                d if d.len() == 12 && d.starts_with('0') && is_cn_mobile(&d[1..]) => d[1..].to_owned(),
                d => d.to_owned(),
            },
        };
        let count = normalised.bytes().filter(u8::is_ascii_digit).count();
        if count < PHONE_MIN_DIGITS {
            return Err(FieldError::new(F, format!("is too short ({count} digits; at least {PHONE_MIN_DIGITS})")));
        }
        if count > PHONE_MAX_DIGITS {
            return Err(FieldError::new(F, format!("is too long ({count} digits; at most {PHONE_MAX_DIGITS})")));
        }
        if normalised.len() == 11 && normalised.starts_with('1') && !is_cn_mobile(&normalised) {
            return Err(FieldError::new(F, "is not a valid Chinese mobile number (1[3-9] and 9 more digits)"));
        }
        Ok(PhoneNumber(normalised))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a Chinese mobile number.
    pub fn is_mobile(&self) -> bool {
        is_cn_mobile(&self.0)
    }

    /// The number for roles that may not see it: `138****5678` for a mobile number, every
    /// character but the last four replaced by `*` otherwise.
    pub fn mask(&self) -> String {
        if self.is_mobile() { format!("{}****{}", &self.0[..3], &self.0[7..]) } else { mask_keep_last(&self.0, 4) }
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::parse(s)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PhoneNumber::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn mask_keep_last(text: &str, keep: usize) -> String {
    let n = text.chars().count();
    if n <= keep {
        return "*".repeat(n);
    }
    text.chars().enumerate().map(|(i, c)| if i < n - keep { '*' } else { c }).collect()
}

/// A number as it came off the line (`+8613800138000`, `sip:+86 138-0013-8000@carrier`,
/// `anonymous`) as a viewer may see it: normalised (`13800138000`), or masked like
/// [`PhoneNumber::mask`] (`138****8000`) when `masked`; text that is not a phone number keeps
/// only its last four characters when masked.
pub fn show_number(raw: &str, masked: bool) -> String {
    match PhoneNumber::parse(raw) {
        Ok(p) if masked => p.mask(),
        Ok(p) => p.as_str().to_owned(),
        Err(_) if masked => mask_account(raw),
        Err(_) => raw.to_owned(),
    }
}

/// An account, order or card number for roles that may not see it: the last four characters
/// kept, the rest `*` (a value of four characters or fewer is masked entirely).
pub fn mask_account(text: &str) -> String {
    mask_keep_last(text, 4)
}

// ----------------------------------------------------------------------------------------------
// e-mail

/// Longest e-mail address accepted (RFC 5321 path limit).
pub const EMAIL_MAX_LEN: usize = 254;

/// Checks an e-mail address and returns it trimmed with its domain in lower case.
pub fn check_email(text: &str) -> Result<String, FieldError> {
    const F: &str = "email";
    let t = text.trim();
    if t.is_empty() {
        return Err(FieldError::new(F, "is empty"));
    }
    if t.chars().count() > EMAIL_MAX_LEN {
        return Err(FieldError::new(F, format!("is longer than {EMAIL_MAX_LEN} characters")));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(F, "contains white space"));
    }
    let mut parts = t.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(FieldError::new(F, "must contain exactly one `@`"));
    };
    if local.is_empty() || local.len() > 64 {
        return Err(FieldError::new(F, "the part before `@` must have 1 to 64 characters"));
    }
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Err(FieldError::new(F, format!("`{domain}` is not a valid domain (it needs a dot, e.g. example.com)")));
    }
    if domain.chars().any(|c| !(c.is_alphanumeric() || c == '.' || c == '-')) {
        return Err(FieldError::new(F, format!("`{domain}` is not a valid domain")));
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

// ----------------------------------------------------------------------------------------------
// dates

/// Parses a calendar date `YYYY-MM-DD` that exists, naming `field` in the error.
pub fn parse_date(field: &str, text: &str) -> Result<Date, FieldError> {
    text.trim().parse::<Date>().map_err(|e| FieldError::new(field, e.to_string()))
}

fn digits_to_date(y: &str, m: &str, d: &str) -> Option<Date> {
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

// ----------------------------------------------------------------------------------------------
// PRC resident ID numbers

/// A customer's sex, as recorded on an ID card or given.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Male.
    Male,
    /// Female.
    Female,
}

impl Gender {
    /// The stored name (`male`, `female`).
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

impl FromStr for Gender {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "male" => Ok(Gender::Male),
            "female" => Ok(Gender::Female),
            other => Err(FieldError::new("gender", format!("`{other}` is not one of male, female"))),
        }
    }
}

/// ISO 7064 MOD 11-2 weights of the first 17 digits (GB 11643-1999).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each weighted sum modulo 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// A PRC resident identity card number (GB 11643-1999), checked: 17 digits, a valid check
/// character, and a real birthday.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IdCardNumber(String);

impl IdCardNumber {
    /// Parses an 18-character ID number (a lower-case `x` check character is accepted).
    pub fn parse(text: &str) -> Result<IdCardNumber, FieldError> {
        const F: &str = "id_card";
        if is_masked(text) {
            return Err(masked_error(F));
        }
        let t: String = text.trim().chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
        if t.chars().count() != 18 {
            return Err(FieldError::new(F, format!("must have 18 characters, not {}", t.chars().count())));
        }
        let b = t.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(FieldError::new(F, "the first 17 characters must be digits"));
        }
        if !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(FieldError::new(F, "the last character must be a digit or X"));
        }
        let sum: u32 = b[..17].iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        let expected = ID_CHECK[(sum % 11) as usize];
        if b[17] != expected {
            return Err(FieldError::new(F, "check digit does not match (mistyped number?)"));
        }
        if digits_to_date(&t[6..10], &t[10..12], &t[12..14]).filter(|d| d.year >= 1800).is_none() {
            return Err(FieldError::new(F, format!("the birthday `{}` is not a real date", &t[6..14])));
        }
        Ok(IdCardNumber(t))
    }

    /// The number (upper-case `X`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birthday encoded in the number.
    pub fn birthday(&self) -> Date {
        // parse() checked these are digits forming a real date; the fallback is unreachable
        digits_to_date(&self.0[6..10], &self.0[10..12], &self.0[12..14]).unwrap_or(Date {
            year: 1800,
            month: 1,
            day: 1,
        })
    }

    /// Whether the holder is male (odd 17th digit).
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }

    /// The holder's sex.
    pub fn gender(&self) -> Gender {
        if self.is_male() { Gender::Male } else { Gender::Female }
    }

    /// The number for roles that may not see it: the region code (first 6) and the last 4
    /// kept, the 8 birthday digits as `*`.
    pub fn mask(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

impl fmt::Display for IdCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdCardNumber {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdCardNumber::parse(s)
    }
}

// ----------------------------------------------------------------------------------------------
// tiers

/// How valued a customer is; drives greetings, routing and escalation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerTier {
    /// Everyone, by default.
    #[default]
    Regular,
    /// Silver.
    Silver,
    /// Gold.
    Gold,
    /// VIP.
    Vip,
}

impl CustomerTier {
    /// Every tier, lowest first.
    pub const ALL: [CustomerTier; 4] =
        [CustomerTier::Regular, CustomerTier::Silver, CustomerTier::Gold, CustomerTier::Vip];

    /// The stored name (`regular`, `silver`, `gold`, `vip`).
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerTier::Regular => "regular",
            CustomerTier::Silver => "silver",
            CustomerTier::Gold => "gold",
            CustomerTier::Vip => "vip",
        }
    }
}

impl fmt::Display for CustomerTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CustomerTier {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CustomerTier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| FieldError::new("tier", format!("`{s}` is not one of regular, silver, gold, vip")))
    }
}

// ----------------------------------------------------------------------------------------------
// assets

/// What a customer asset is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// A product the customer owns (serial number as its number).
    Product,
    /// An order the customer placed (order number).
    Order,
    /// An account the customer holds (account or card number).
    Account,
}

impl AssetKind {
    /// The stored name (`product`, `order`, `account`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Product => "product",
            AssetKind::Order => "order",
            AssetKind::Account => "account",
        }
    }
}

impl FromStr for AssetKind {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [AssetKind::Product, AssetKind::Order, AssetKind::Account]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new("kind", format!("`{s}` is not one of product, order, account")))
    }
}

/// Longest asset number accepted, in characters.
pub const ASSET_NUMBER_MAX_CHARS: usize = 64;

/// Checks an account, order or serial number: 1–64 printable characters, not a masked value.
/// Returns it trimmed.
pub fn check_asset_number(text: &str) -> Result<String, FieldError> {
    const F: &str = "number";
    if is_masked(text) {
        return Err(masked_error(F));
    }
    let t = text.trim();
    let n = t.chars().count();
    if n == 0 || n > ASSET_NUMBER_MAX_CHARS {
        return Err(FieldError::new(F, format!("must have 1 to {ASSET_NUMBER_MAX_CHARS} characters, got {n}")));
    }
    if t.chars().any(char::is_control) {
        return Err(FieldError::new(F, "must not contain control characters"));
    }
    Ok(t.to_owned())
}

/// The form of an asset number its lookups compare: upper case, without spaces and `-`.
pub fn asset_number_key(number: &str) -> String {
    number.chars().filter(|c| !matches!(c, ' ' | '-')).flat_map(char::to_uppercase).collect()
}

// ----------------------------------------------------------------------------------------------
// custom fields

/// Longest text value of a custom field, in characters.
pub const TEXT_FIELD_MAX_CHARS: usize = 500;

/// The type of an admin-defined customer field.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text up to 500 characters.
    Text,
    /// A finite number.
    Number,
    /// A date `YYYY-MM-DD`.
    Date,
    /// One of the field's options.
    Choice,
}

impl FieldKind {
    /// The stored name (`text`, `number`, `date`, `choice`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
        }
    }
}

impl FromStr for FieldKind {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [FieldKind::Text, FieldKind::Number, FieldKind::Date, FieldKind::Choice]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new("kind", format!("`{s}` is not one of text, number, date, choice")))
    }
}

/// An admin-defined customer field: customers carry a value per key in `custom`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Stable key (`[a-z][a-z0-9_]*`, at most 64 characters).
    pub key: String,
    /// What people see.
    pub label: String,
    /// Type of the values.
    pub kind: FieldKind,
    /// Allowed values of a choice field (empty for other kinds).
    #[serde(default)]
    pub options: Vec<String>,
    /// Whether every customer must have a value.
    #[serde(default)]
    pub required: bool,
}

impl FieldDef {
    /// Checks the definition itself: key shape, a label, options only (and at least one,
    /// none repeated) for choice fields.
    pub fn validate(&self) -> Result<(), FieldError> {
        let key_ok = !self.key.is_empty()
            && self.key.len() <= 64
            && self.key.starts_with(|c: char| c.is_ascii_lowercase())
            && self.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(FieldError::new("key", "must be 1–64 of a-z, 0-9, `_`, starting with a letter"));
        }
        let label = self.label.trim();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(FieldError::new("label", "must have 1 to 100 characters"));
        }
        match self.kind {
            FieldKind::Choice => {
                if self.options.is_empty() {
                    return Err(FieldError::new("options", "a choice field needs at least one option"));
                }
                for (i, o) in self.options.iter().enumerate() {
                    if o.trim().is_empty() || o.chars().count() > 100 {
                        return Err(FieldError::new(format!("options[{i}]"), "must have 1 to 100 characters"));
                    }
                    if self.options[..i].contains(o) {
                        return Err(FieldError::new(format!("options[{i}]"), format!("`{o}` is repeated")));
                    }
                }
            }
            _ if !self.options.is_empty() => {
                return Err(FieldError::new("options", "only choice fields have options"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks one value of this field and returns it normalised (text trimmed, a numeric
    /// string turned into a number).
    pub fn check_value(&self, value: &serde_json::Value) -> Result<serde_json::Value, FieldError> {
        use serde_json::Value;
        let field = format!("custom.{}", self.key);
        let err = |reason: String| FieldError::new(field.clone(), reason);
        match (self.kind, value) {
            (FieldKind::Text, Value::String(s)) => {
                let s = s.trim();
                if s.chars().count() > TEXT_FIELD_MAX_CHARS {
                    return Err(err(format!("is longer than {TEXT_FIELD_MAX_CHARS} characters")));
                }
                Ok(Value::String(s.to_owned()))
            }
            (FieldKind::Number, Value::Number(n)) => Ok(Value::Number(n.clone())),
            (FieldKind::Number, Value::String(s)) => {
                let t = s.trim();
                if let Ok(i) = t.parse::<i64>() {
                    return Ok(Value::from(i));
                }
                t.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| err(format!("`{}` is not a number", t.chars().take(40).collect::<String>())))
            }
            (FieldKind::Date, Value::String(s)) => {
                let date = parse_date(&field, s)?;
                Ok(Value::String(date.to_string()))
            }
            (FieldKind::Choice, Value::String(s)) => {
                if self.options.iter().any(|o| o == s) {
                    Ok(Value::String(s.clone()))
                } else {
                    Err(err(format!(
                        "`{}` is not one of {}",
                        s.chars().take(40).collect::<String>(),
                        self.options.join(", ")
                    )))
                }
            }
            (kind, _) => Err(err(format!("expected a {} value", kind.as_str()))),
        }
    }
}

/// Checks a customer's custom values against the field definitions: every key must be
/// defined, every value valid, every required field present. A `null` value removes the key.
/// Returns the normalised values.
pub fn check_custom(
    defs: &[FieldDef],
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, FieldError> {
    let mut out = serde_json::Map::new();
    for (key, value) in values {
        let def = defs
            .iter()
            .find(|d| &d.key == key)
            .ok_or_else(|| FieldError::new(format!("custom.{key}"), "is not a defined customer field"))?;
        if value.is_null() {
            continue;
        }
        out.insert(key.clone(), def.check_value(value)?);
    }
    if let Some(missing) = defs.iter().find(|d| d.required && !out.contains_key(&d.key)) {
        return Err(FieldError::new(format!("custom.{}", missing.key), "is required"));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "customer_tests.rs"]
mod tests;
