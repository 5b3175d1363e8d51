//! Unit tests of `customer.rs`: phone forms, e-mail, ID numbers (checksum, Feb 29), masking,
//! tiers, assets and custom fields.

use super::*;
use serde_json::json;

fn phone(s: &str) -> String {
    match PhoneNumber::parse(s) {
        Ok(p) => p.as_str().to_owned(),
        Err(e) => panic!("{s}: {e}"),
    }
}

#[test]
fn mobile_numbers_in_every_form_normalise_alike() {
    for s in [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "(138) 1234.5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "008613812345678",
        "8613812345678",
        "013812345678",
        "sip:+8613812345678@10.0.0.1",
        "sip:13812345678@pbx.example.com;transport=udp",
        "SIPS:8613812345678@host",
        "tel:+86-138-1234-5678",
        "\"Zhang San\" <sip:+8613812345678@host;user=phone>",
    ] {
        assert_eq!(phone(s), "13812345678", "{s}");
    }
}

#[test]
fn landlines_keep_the_area_code() {
    assert_eq!(phone("010-12345678"), "01012345678");
    assert_eq!(phone("(0571) 8765 4321"), "057187654321");
    assert_eq!(phone("+86 10 1234 5678"), "01012345678");
    assert_eq!(phone("0086 571 87654321"), "057187654321");
    assert_eq!(phone("95555"), "95555");
}

#[test]
fn other_countries_stay_international() {
    assert_eq!(phone("+1 (415) 555-0123"), "+14155550123");
    assert_eq!(phone("0044 20 7946 0958"), "+442079460958");
    assert_eq!(phone("tel:+852-2123-4567"), "+85221234567");
}

#[test]
fn bad_numbers_are_refused_with_the_field_named() {
    for s in [
        "",
        "   ",
        "1234",
        "138123456789012345678901",
        "138abc45678",
        "12812345678",
        "+",
        "+0123456",
        "+86",
        "138****5678",
        "1+3812345678",
    ] {
        let e = PhoneNumber::parse(s).err().unwrap_or_else(|| panic!("{s} accepted"));
        assert_eq!(e.field, "phone");
        assert!(e.to_string().starts_with("phone: "), "{e}");
    }
    assert!(PhoneNumber::parse("138****5678").unwrap_err().reason.contains("masked"));
}

#[test]
fn phones_mask_as_specified() {
    assert_eq!(PhoneNumber::parse("+8613812345678").unwrap().mask(), "138****5678");
    assert_eq!(PhoneNumber::parse("010-12345678").unwrap().mask(), "*******5678");
    assert_eq!(PhoneNumber::parse("+14155550123").unwrap().mask(), "********0123");
    assert!(is_masked(&PhoneNumber::parse("13812345678").unwrap().mask()));
}

#[test]
fn phone_deserialises_through_parse() {
    let p: PhoneNumber = serde_json::from_str("\"+86 138 1234 5678\"").unwrap();
    assert_eq!(p.as_str(), "13812345678");
    assert!(serde_json::from_str::<PhoneNumber>("\"12\"").is_err());
}

#[test]
fn emails() {
    assert_eq!(check_email("  Zhang.San@Example.COM ").unwrap(), "Zhang.San@example.com");
    assert_eq!(check_email("a@b.cn").unwrap(), "a@b.cn");
    for bad in ["", "a", "a@b", "@b.cn", "a@@b.cn", "a@b@c.cn", "a b@c.cn", "a@.cn", "a@b..cn", "a@b.cn."] {
        let e = check_email(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
        assert_eq!(e.field, "email");
    }
    let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
    assert!(check_email(&long).unwrap_err().reason.contains("254"));
}

/// Completes 17 digits with their check character.
fn with_check(first17: &str) -> String {
    let sum: u32 = first17.bytes().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    format!("{first17}{}", ID_CHECK[(sum % 11) as usize] as char)
}

#[test]
fn id_card_checksum_birthday_and_gender() {
    // the standard's own example
    let id = IdCardNumber::parse("11010519491231002X").unwrap();
    assert_eq!(id.birthday(), Date::new(1949, 12, 31).unwrap());
    assert_eq!(id.birthday().to_string(), "1949-12-31");
    assert!(!id.is_male());
    assert_eq!(id.gender(), Gender::Female);
    assert_eq!(id.mask(), "110105********002X");
    // lower-case x is accepted and normalised
    assert_eq!(IdCardNumber::parse("11010519491231002x").unwrap().as_str(), "11010519491231002X");
    let male = IdCardNumber::parse(&with_check("44052418800101001")).unwrap();
    assert!(male.is_male());
    assert_eq!(male.birthday(), Date::new(1880, 1, 1).unwrap());
}

#[test]
fn id_card_bad_checksum_is_refused() {
    let e = IdCardNumber::parse("110105194912310021").unwrap_err();
    assert_eq!(e.field, "id_card");
    assert!(e.reason.contains("check digit"), "{e}");
    // a single changed digit breaks the checksum
    assert!(IdCardNumber::parse("11010519491231003X").is_err());
}

#[test]
fn id_card_birthday_must_be_real() {
    // Feb 29 of a leap year is fine, of a common year is not; 2000 was leap, 1900 was not
    assert_eq!(
        IdCardNumber::parse(&with_check("11010520000229123")).unwrap().birthday(),
        Date::new(2000, 2, 29).unwrap()
    );
    assert_eq!(IdCardNumber::parse(&with_check("11010519880229123")).unwrap().birthday().to_string(), "1988-02-29");
    for bad in ["11010519000229123", "11010520230229123", "11010519901301123", "11010519900431123", "11010519900000123"]
    {
        let e = IdCardNumber::parse(&with_check(bad)).unwrap_err();
        assert!(e.reason.contains("birthday"), "{bad}: {e}");
    }
}

#[test]
fn id_card_shape_errors() {
    for bad in ["", "1101051949123100", "1101051949123100211", "1101051949123A002X", "11010519491231002Y"] {
        assert_eq!(IdCardNumber::parse(bad).unwrap_err().field, "id_card", "{bad}");
    }
    assert!(IdCardNumber::parse("110105********002X").unwrap_err().reason.contains("masked"));
}

#[test]
fn accounts_mask_all_but_the_last_four() {
    assert_eq!(mask_account("6222021234567890"), "************7890");
    assert_eq!(mask_account("1234"), "****");
    assert_eq!(mask_account("订单12345"), "***2345");
}

#[test]
fn asset_numbers() {
    assert_eq!(check_asset_number("  6222-0212 3456 ").unwrap(), "6222-0212 3456");
    assert_eq!(asset_number_key("ab-12 cd"), "AB12CD");
    assert_eq!(check_asset_number("").unwrap_err().field, "number");
    assert!(check_asset_number("****3456").unwrap_err().reason.contains("masked"));
    assert!(check_asset_number(&"9".repeat(65)).is_err());
    assert_eq!("order".parse::<AssetKind>().unwrap(), AssetKind::Order);
    assert!("car".parse::<AssetKind>().is_err());
}

#[test]
fn tiers_round_trip() {
    for t in CustomerTier::ALL {
        assert_eq!(t.as_str().parse::<CustomerTier>().unwrap(), t);
        assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
    }
    assert!("platinum".parse::<CustomerTier>().unwrap_err().to_string().starts_with("tier: "));
}

fn def(key: &str, kind: FieldKind, options: &[&str], required: bool) -> FieldDef {
    FieldDef {
        key: key.into(),
        label: key.to_uppercase(),
        kind,
        options: options.iter().map(|s| (*s).to_owned()).collect(),
        required,
    }
}

#[test]
fn field_values_are_checked_by_kind() {
    let text = def("note", FieldKind::Text, &[], false);
    assert_eq!(text.check_value(&json!("  hi ")).unwrap(), json!("hi"));
    assert!(text.check_value(&json!("x".repeat(501))).unwrap_err().reason.contains("500"));
    assert!(text.check_value(&json!(5)).is_err());

    let num = def("spend", FieldKind::Number, &[], false);
    assert_eq!(num.check_value(&json!(12.5)).unwrap(), json!(12.5));
    assert_eq!(num.check_value(&json!("42")).unwrap(), json!(42));
    assert!(num.check_value(&json!("forty")).is_err());
    assert!(num.check_value(&json!(true)).is_err());

    let date = def("since", FieldKind::Date, &[], false);
    assert_eq!(date.check_value(&json!("2024-02-29")).unwrap(), json!("2024-02-29"));
    assert!(date.check_value(&json!("2023-02-29")).is_err());
    assert!(date.check_value(&json!("2023/01/01")).is_err());

    let choice = def("plan", FieldKind::Choice, &["basic", "pro"], false);
    assert_eq!(choice.check_value(&json!("pro")).unwrap(), json!("pro"));
    let e = choice.check_value(&json!("gold")).unwrap_err();
    assert_eq!(e.field, "custom.plan");
    assert!(e.reason.contains("basic, pro"), "{e}");
}

#[test]
fn custom_maps_check_unknown_and_required_keys() {
    let defs = [def("plan", FieldKind::Choice, &["basic", "pro"], true), def("note", FieldKind::Text, &[], false)];
    let ok = json!({"plan": "pro", "note": " x "});
    let out = check_custom(&defs, ok.as_object().unwrap()).unwrap();
    assert_eq!(serde_json::Value::Object(out), json!({"plan": "pro", "note": "x"}));

    let unknown = json!({"plan": "pro", "shoe_size": 42});
    assert_eq!(check_custom(&defs, unknown.as_object().unwrap()).unwrap_err().field, "custom.shoe_size");
    let missing = json!({"note": "x"});
    let e = check_custom(&defs, missing.as_object().unwrap()).unwrap_err();
    assert_eq!((e.field.as_str(), e.reason.as_str()), ("custom.plan", "is required"));
    let nulled = json!({"plan": "basic", "note": null});
    assert_eq!(
        serde_json::Value::Object(check_custom(&defs, nulled.as_object().unwrap()).unwrap()),
        json!({"plan": "basic"})
    );
}

#[test]
fn field_definitions_are_validated() {
    assert!(def("plan", FieldKind::Choice, &["a"], false).validate().is_ok());
    assert_eq!(def("Plan", FieldKind::Text, &[], false).validate().unwrap_err().field, "key");
    assert_eq!(def("9x", FieldKind::Text, &[], false).validate().unwrap_err().field, "key");
    assert_eq!(def("plan", FieldKind::Choice, &[], false).validate().unwrap_err().field, "options");
    assert_eq!(def("plan", FieldKind::Choice, &["a", "a"], false).validate().unwrap_err().field, "options[1]");
    assert_eq!(def("note", FieldKind::Text, &["a"], false).validate().unwrap_err().field, "options");
    let mut no_label = def("x", FieldKind::Text, &[], false);
    no_label.label = " ".into();
    assert_eq!(no_label.validate().unwrap_err().field, "label");
}

#[test]
fn dates() {
    assert_eq!(parse_date("birthday", " 2024-02-29 ").unwrap(), Date::new(2024, 2, 29).unwrap());
    for bad in ["2023-02-29", "2024-13-01", "2024-1-01", "24-01-01", "2024-01-32", "abcd-ef-gh", ""] {
        assert_eq!(parse_date("birthday", bad).unwrap_err().field, "birthday", "{bad}");
    }
}

#[test]
fn numbers_off_the_line_are_masked_whatever_their_form() {
    assert_eq!(show_number("+8613800138000", true), "138****8000");
    assert_eq!(show_number("sip:+86 138-0013-8000@carrier", true), "138****8000");
    assert_eq!(show_number("+8613800138000", false), "13800138000");
    let odd = show_number("anonymous-4321", true);
    assert!(odd.ends_with("4321") && !odd.contains("anonymous"), "{odd}");
    assert_eq!(show_number("anonymous", false), "anonymous");
}
