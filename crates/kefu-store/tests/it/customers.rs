//! Customers: encryption at rest, lookups by phone and ID number, erase, bulk insert, paging,
//! assets, notes and custom fields, on SQLite and PostgreSQL.

use crate::{T0, db, user};
use kefu_core::service::calendar::Date;
use kefu_core::service::customer::{AssetKind, FieldDef, FieldKind, Gender, IdCardNumber, PhoneNumber};
use kefu_core::{CustomerId, Timestamp};
use kefu_store::testing::TestDb;
use kefu_store::{
    AssetPatch, CustomerFieldPatch, CustomerFilter, CustomerPatch, CustomerSort, CustomerTier, FieldKey, NewAsset,
    NewCustomer, NewPhone, PageRequest, Store, StoreError,
};
use serde_json::{Map, Value, json};
use sqlx::Row;

const MOBILE: &str = "13812345678";
const ID_CARD: &str = "11010519491231002X";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn person(name: &str, phones: &[&str]) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        phones: phones.iter().map(|p| NewPhone::new(*p)).collect(),
        ..NewCustomer::default()
    }
}

/// Every row of `table`, each column as text (NULL as empty), straight from the database.
async fn raw_rows(t: &TestDb, table: &str, cols: &[&str]) -> Vec<Vec<String>> {
    sqlx::any::install_default_drivers();
    let url = t
        .options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", t.options.data_dir.join("kefu.db").display()));
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let select = cols.iter().map(|c| format!("CAST({c} AS TEXT) AS {c}")).collect::<Vec<_>>().join(", ");
    let rows = sqlx::query(&format!("SELECT {select} FROM {table}")).fetch_all(&pool).await.unwrap();
    let out = rows
        .iter()
        .map(|r| cols.iter().map(|c| r.try_get::<Option<String>, _>(*c).unwrap().unwrap_or_default()).collect())
        .collect();
    pool.close().await;
    out
}

#[tokio::test]
async fn personal_numbers_are_encrypted_at_rest_and_decrypt_back() {
    let t = db().await;
    let s = &t.store;
    let mut new = person("Zhang San 张三", &["+86 138-1234-5678", "010-87654321"]);
    new.id_card = Some(ID_CARD.into());
    new.email = Some("zhang@Example.com".into());
    let c = s.create_customer(&new, T0).await.unwrap();
    let asset = NewAsset {
        kind: AssetKind::Account,
        name: "储蓄卡".into(),
        number: Some("6222 0212 3456 7890".into()),
        fields: Map::new(),
    };
    s.add_customer_asset(c.id, &asset, T0).await.unwrap();

    let secrets = ["13812345678", "38123456", "87654321", "0519491231", ID_CARD, "6222021234567890", "6222 0212"];
    let tables: [(&str, &[&str]); 3] = [
        (
            "customers",
            &[
                "id",
                "name",
                "tier",
                "email",
                "id_card_enc",
                "id_card_idx",
                "birthday",
                "gender",
                "tags",
                "custom",
                "created_by",
            ],
        ),
        ("customer_phones", &["id", "customer_id", "phone_idx", "phone_enc", "label"]),
        ("customer_assets", &["id", "customer_id", "kind", "name", "number_enc", "number_idx", "fields"]),
    ];
    for (table, cols) in tables {
        let rows = raw_rows(&t, table, cols).await;
        assert!(!rows.is_empty(), "{table} has rows");
        for row in rows {
            for (col, value) in cols.iter().zip(&row) {
                for secret in secrets {
                    assert!(!value.contains(secret), "{table}.{col} holds `{secret}` in clear: {value}");
                }
            }
        }
    }
    let phones = raw_rows(&t, "customer_phones", &["phone_enc", "phone_idx"]).await;
    assert!(phones.iter().all(|r| r[0].starts_with("v1:") && r[1].len() == 64));

    let back = s.customer(c.id).await.unwrap();
    let numbers: Vec<&str> = back.phones.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(numbers, [MOBILE, "01087654321"]);
    assert_eq!(back.id_card.as_ref().map(IdCardNumber::as_str), Some(ID_CARD));
    assert_eq!(back.birthday, Date::new(1949, 12, 31));
    assert_eq!(back.gender, Some(Gender::Female));
    assert_eq!(back.email.as_deref(), Some("zhang@example.com"));
    let assets = s.customer_assets(c.id).await.unwrap();
    assert_eq!(assets[0].number.as_deref(), Some("6222 0212 3456 7890"));
    t.cleanup().await;
}

#[tokio::test]
async fn a_caller_id_in_any_form_finds_the_customer() {
    let t = db().await;
    let s = &t.store;
    let c = s.create_customer(&person("Li Si", &[MOBILE]), T0).await.unwrap();
    s.create_customer(&person("Someone else", &["13900000000"]), T0).await.unwrap();
    for form in [
        "13812345678",
        "+8613812345678",
        "008613812345678",
        "8613812345678",
        "138 1234 5678",
        "sip:+8613812345678@192.0.2.1",
        "tel:+86-138-1234-5678",
    ] {
        let found = s.customers_by_phone(&PhoneNumber::parse(form).unwrap()).await.unwrap();
        assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [c.id], "{form}");
        assert_eq!(found[0].phones[0].number.as_str(), MOBILE);
    }
    let filter = CustomerFilter { phone: Some(PhoneNumber::parse("+86 138 1234 5678").unwrap()), ..Default::default() };
    let page = s.list_customers(&filter, &PageRequest::default()).await.unwrap();
    assert_eq!(page.items.iter().map(|c| c.id).collect::<Vec<_>>(), [c.id]);
    assert!(s.customers_by_phone(&PhoneNumber::parse("13812345679").unwrap()).await.unwrap().is_empty());
    t.cleanup().await;
}

#[tokio::test]
async fn a_shared_landline_finds_every_customer_with_all_their_numbers() {
    let t = db().await;
    let s = &t.store;
    let a = s.create_customer(&person("Wang Father", &["010-12345678", "13911112222"]), at(0)).await.unwrap();
    let b = s.create_customer(&person("Wang Daughter", &["+86 10 1234 5678"]), at(1)).await.unwrap();
    let found = s.customers_by_phone(&PhoneNumber::parse("(010) 1234-5678").unwrap()).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [a.id, b.id], "both, oldest first");
    assert_eq!(found[0].phones.len(), 2, "each with all its numbers");
    assert_eq!(found[0].phones[1].number.as_str(), "13911112222");
    // the same number twice on one customer is kept once
    let c = s.create_customer(&person("Twice", &["13700001111", "+86 137 0000 1111"]), at(2)).await.unwrap();
    assert_eq!(c.phones.len(), 1);
    t.cleanup().await;
}

#[tokio::test]
async fn a_different_or_missing_field_key_is_refused() {
    let t = db().await;
    let c = t.store.create_customer(&person("Zhao", &[MOBILE]), T0).await.unwrap();

    let mut other = t.options.clone();
    other.field_key = Some(FieldKey::generate());
    let wrong = Store::open(&other).await.unwrap();
    let err = wrong.migrate().await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("field key differs")), "{err}");
    // without the start-up check, reading fails cleanly instead of returning garbage
    let err = wrong.customer(c.id).await.unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("wrong field key")), "{err}");
    assert!(wrong.customers_by_phone(&PhoneNumber::parse(MOBILE).unwrap()).await.unwrap().is_empty());
    wrong.close().await;

    let mut none = t.options.clone();
    none.field_key = None;
    let keyless = Store::open(&none).await.unwrap();
    keyless.migrate().await.unwrap();
    let err = keyless.create_customer(&person("X", &[]), T0).await.unwrap_err();
    assert_eq!(err.to_string(), "no field encryption key configured");
    keyless.close().await;

    // the right key still works after all that
    let same = Store::open(&t.options).await.unwrap();
    same.migrate().await.unwrap();
    assert_eq!(same.customer(c.id).await.unwrap().phones[0].number.as_str(), MOBILE);
    same.close().await;
    t.cleanup().await;
}

#[tokio::test]
async fn bad_values_are_refused_with_the_field_named() {
    let t = db().await;
    let s = &t.store;
    s.create_customer_field(
        &FieldDef {
            key: "plan".into(),
            label: "Plan".into(),
            kind: FieldKind::Choice,
            options: vec!["basic".into(), "pro".into()],
            required: false,
        },
        None,
        T0,
    )
    .await
    .unwrap();
    let cases: Vec<(NewCustomer, &str)> = vec![
        (person("  ", &[]), "name: is required"),
        (person("A", &["1234"]), "phones[0]: is too short"),
        (person("A", &[MOBILE, "138****5678"]), "phones[1]: is a masked value"),
        (NewCustomer { id_card: Some("110105194912310021".into()), ..person("A", &[]) }, "id_card: check digit"),
        (NewCustomer { email: Some("a@b".into()), ..person("A", &[]) }, "email:"),
        (NewCustomer { birthday: Some("1990-02-30".into()), ..person("A", &[]) }, "birthday:"),
        (
            NewCustomer { id_card: Some(ID_CARD.into()), gender: Some(Gender::Male), ..person("A", &[]) },
            "gender: differs",
        ),
        (NewCustomer { custom: obj(json!({"shoe": 42})), ..person("A", &[]) }, "custom.shoe: is not a defined"),
        (NewCustomer { custom: obj(json!({"plan": "gold"})), ..person("A", &[]) }, "custom.plan: `gold` is not one of"),
        (NewCustomer { tags: vec![String::new()], ..person("A", &[]) }, "tags[0]"),
    ];
    for (new, expected) in cases {
        let err = s.create_customer(&new, T0).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(m) if m.contains(expected)), "{expected}: {err}");
    }
    assert_eq!(s.count_customers().await.unwrap(), 0);

    let first = s.create_customer(&NewCustomer { id_card: Some(ID_CARD.into()), ..person("A", &[]) }, T0).await;
    let first = first.unwrap();
    let err = s.create_customer(&NewCustomer { id_card: Some(ID_CARD.into()), ..person("B", &[]) }, T0).await;
    assert!(matches!(&err, Err(StoreError::Conflict(m)) if m.contains(&first.id.to_string())), "{err:?}");
    let by_card = s.customer_by_id_card(&IdCardNumber::parse(ID_CARD).unwrap()).await.unwrap();
    assert_eq!(by_card.map(|c| c.id), Some(first.id));
    let unknown = CustomerId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(s.customer(unknown).await, Err(StoreError::NotFound { what: "customer", .. })));
    t.cleanup().await;
}

#[tokio::test]
async fn updates_replace_numbers_merge_custom_values_and_derive_from_the_id_card() {
    let t = db().await;
    let s = &t.store;
    let f = |key: &str, kind, required| FieldDef {
        key: key.into(),
        label: key.into(),
        kind,
        options: if kind == FieldKind::Choice { vec!["basic".into(), "pro".into()] } else { vec![] },
        required,
    };
    s.create_customer_field(&f("plan", FieldKind::Choice, true), None, T0).await.unwrap();
    s.create_customer_field(&f("since", FieldKind::Date, false), None, T0).await.unwrap();
    let new = NewCustomer {
        custom: obj(json!({"plan": "basic", "since": "2020-01-31"})),
        tags: vec!["vip-candidate".into()],
        ..person("Qian", &[MOBILE])
    };
    let c = s.create_customer(&new, T0).await.unwrap();
    let err = s.create_customer(&person("No plan", &[]), T0).await.unwrap_err();
    assert!(err.to_string().contains("custom.plan: is required"), "{err}");

    let patch = CustomerPatch {
        tier: Some(CustomerTier::Gold),
        phones: Some(vec![NewPhone { number: "13988887777".into(), label: "work".into() }]),
        id_card: Some(Some(ID_CARD.into())),
        custom: Some(obj(json!({"plan": "pro", "since": null}))),
        tags: Some(vec!["complained".into()]),
        ..Default::default()
    };
    let u = s.update_customer(c.id, &patch, at(5)).await.unwrap();
    assert_eq!(u.tier, CustomerTier::Gold);
    assert_eq!(u.phones.len(), 1);
    assert_eq!((u.phones[0].number.as_str(), u.phones[0].label.as_str()), ("13988887777", "work"));
    assert_eq!(u.birthday, Date::new(1949, 12, 31));
    assert_eq!(u.gender, Some(Gender::Female));
    assert_eq!(Value::Object(u.custom.clone()), json!({"plan": "pro"}));
    assert_eq!(u.tags, ["complained"]);
    assert_eq!(u.name, "Qian", "untouched");
    assert_eq!(u.updated_at, at(5));
    assert!(s.customers_by_phone(&PhoneNumber::parse(MOBILE).unwrap()).await.unwrap().is_empty(), "old number gone");
    let tag = CustomerFilter { tag: Some("vip-candidate".into()), ..Default::default() };
    assert!(s.list_customers(&tag, &PageRequest::default()).await.unwrap().items.is_empty(), "old tag gone");

    let err = s
        .update_customer(c.id, &CustomerPatch { custom: Some(obj(json!({"plan": null}))), ..Default::default() }, at(6))
        .await;
    assert!(err.unwrap_err().to_string().contains("custom.plan: is required"));
    let err = s
        .update_customer(
            c.id,
            &CustomerPatch { phones: Some(vec![NewPhone::new("138****7777")]), ..Default::default() },
            at(6),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("masked"), "{err}");
    t.cleanup().await;
}

#[tokio::test]
async fn erasing_de_identifies_but_keeps_the_id() {
    let t = db().await;
    let s = &t.store;
    let agent = user(s, "1001").await;
    let new = NewCustomer {
        id_card: Some(ID_CARD.into()),
        email: Some("sun@example.com".into()),
        tags: vec!["vip".into()],
        created_by: Some(agent.id),
        ..person("Sun Wukong", &[MOBILE])
    };
    let c = s.create_customer(&new, T0).await.unwrap();
    s.add_customer_note(c.id, Some(agent.id), "called about the fridge", T0).await.unwrap();
    let asset = NewAsset {
        kind: AssetKind::Order,
        name: "order".into(),
        number: Some("GD-2026-0001".into()),
        fields: obj(json!({"address": "花果山"})),
    };
    let a = s.add_customer_asset(c.id, &asset, T0).await.unwrap();

    let e = s.erase_customer(c.id, at(9)).await.unwrap();
    assert_eq!(e.id, c.id);
    assert_eq!(e.name, "(erased)");
    assert!(e.phones.is_empty() && e.email.is_none() && e.id_card.is_none() && e.birthday.is_none());
    assert!(e.gender.is_none() && e.tags.is_empty() && e.custom.is_empty());
    assert_eq!(e.erased_at, Some(at(9)));
    assert!(s.customers_by_phone(&PhoneNumber::parse(MOBILE).unwrap()).await.unwrap().is_empty());
    assert!(s.customer_by_id_card(&IdCardNumber::parse(ID_CARD).unwrap()).await.unwrap().is_none());
    assert!(s.customer_notes(c.id, 10).await.unwrap().is_empty());
    let kept = s.customer_asset(c.id, a.id).await.unwrap();
    assert!(kept.number.is_none() && kept.fields.is_empty());
    assert!(s.assets_by_number("GD-2026-0001").await.unwrap().is_empty());
    let names = raw_rows(&t, "customers", &["name", "email"]).await;
    assert_eq!(names, [vec!["(erased)".to_owned(), String::new()]]);
    assert!(s.list_customers(&CustomerFilter::default(), &PageRequest::default()).await.unwrap().items.is_empty());

    let err = s.update_customer(c.id, &CustomerPatch { name: Some("Back".into()), ..Default::default() }, at(10)).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))));
    assert!(matches!(s.add_customer_note(c.id, None, "x", at(10)).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.erase_customer(c.id, at(11)).await.unwrap().erased_at, Some(at(9)), "erasing twice is harmless");
    let unknown = CustomerId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(s.erase_customer(unknown, at(11)).await, Err(StoreError::NotFound { .. })));
    t.cleanup().await;
}

#[tokio::test]
async fn bulk_insert_is_all_or_nothing_and_lookups_work_on_it() {
    let t = db().await;
    let s = &t.store;
    let n = 1_500;
    let batch: Vec<NewCustomer> = (0..n)
        .map(|i| NewCustomer {
            tier: CustomerTier::ALL[i % 4],
            tags: if i % 10 == 0 { vec!["tenth".into()] } else { vec![] },
            ..person(&format!("客户{i:05}"), &[&format!("139{i:08}"), &format!("0571{i:08}")])
        })
        .collect();
    let ids = s.insert_customers_bulk(&batch, T0).await.unwrap();
    assert_eq!(ids.len(), n);
    assert_eq!(s.count_customers().await.unwrap(), n as i64);
    // as an import does after a bulk load (ANALYZE on PostgreSQL), on either backend
    s.refresh_statistics().await.unwrap();
    let found = s.customers_by_phone(&PhoneNumber::parse("+86 139 0000 1234").unwrap()).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [ids[1234]]);
    assert_eq!(found[0].name, "客户01234");
    assert_eq!(found[0].phones.len(), 2);

    let tenth = CustomerFilter { tag: Some("tenth".into()), ..Default::default() };
    let page = s.list_customers(&tenth, &PageRequest { limit: Some(500), cursor: None }).await.unwrap();
    assert_eq!(page.items.len(), n / 10);

    let mut bad = vec![person("ok", &[]), person("ok too", &[]), person("bad", &["not a phone"])];
    bad.push(person("never", &[]));
    let err = s.insert_customers_bulk(&bad, T0).await.unwrap_err();
    assert!(err.to_string().starts_with("customer 2: phones[0]"), "{err}");
    assert_eq!(s.count_customers().await.unwrap(), n as i64, "nothing of the failed batch stored");
    t.cleanup().await;
}

#[tokio::test]
async fn lists_page_by_keyset_in_both_orders_and_filter() {
    let t = db().await;
    let s = &t.store;
    let names = ["Zhou", "Wu", "Zheng", "Wang", "Feng", "Chen", "Chu", "Wei", "Jiang", "Shen", "韩", "杨"];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let tier = if i % 3 == 0 { CustomerTier::Vip } else { CustomerTier::Regular };
        let c = s.create_customer(&NewCustomer { tier, ..person(name, &[]) }, at(i as i64 % 5)).await.unwrap();
        ids.push(c.id);
    }
    let walk = |filter: CustomerFilter, limit: u32| async move {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = s.list_customers(&filter, &PageRequest { limit: Some(limit), cursor }).await.unwrap();
            assert!(page.items.len() <= limit as usize);
            seen.extend(page.items.iter().map(|c| (c.name.clone(), c.created_at, c.id)));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break seen,
            }
        }
    };
    let newest = walk(CustomerFilter::default(), 5).await;
    assert_eq!(newest.len(), names.len());
    let mut expected = newest.clone();
    expected.sort_by_key(|r| std::cmp::Reverse((r.1, r.2)));
    assert_eq!(newest, expected, "newest first, ties by id, no repeats across pages");

    let by_name = walk(CustomerFilter { sort: CustomerSort::Name, ..Default::default() }, 4).await;
    let got: Vec<&str> = by_name.iter().map(|r| r.0.as_str()).collect();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(got, sorted);
    assert_eq!(got.len(), names.len());

    let zh = walk(CustomerFilter { name_prefix: Some("Zh".into()), sort: CustomerSort::Name, ..Default::default() }, 1);
    assert_eq!(zh.await.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["Zheng", "Zhou"]);
    let han = walk(CustomerFilter { name_prefix: Some("韩".into()), ..Default::default() }, 10).await;
    assert_eq!(han.len(), 1);
    let vip = walk(CustomerFilter { tier: Some(CustomerTier::Vip), ..Default::default() }, 2).await;
    assert_eq!(vip.len(), 4);
    let vip_w = CustomerFilter { tier: Some(CustomerTier::Vip), name_prefix: Some("W".into()), ..Default::default() };
    assert_eq!(walk(vip_w, 10).await.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["Wang"]);

    let bad =
        s.list_customers(&CustomerFilter::default(), &PageRequest { limit: None, cursor: Some("nope".into()) }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(m)) if m.contains("malformed customer cursor")));
    t.cleanup().await;
}

#[tokio::test]
async fn assets_notes_and_field_definitions() {
    let t = db().await;
    let s = &t.store;
    let c = s.create_customer(&person("Zhu", &[]), T0).await.unwrap();
    let other = s.create_customer(&person("Sha", &[]), T0).await.unwrap();

    // assets
    let new = NewAsset {
        kind: AssetKind::Product,
        name: "冰箱 BCD-470".into(),
        number: Some("sn-001 a".into()),
        fields: obj(json!({"model": "BCD-470"})),
    };
    let a = s.add_customer_asset(c.id, &new, T0).await.unwrap();
    assert_eq!(a.number.as_deref(), Some("sn-001 a"));
    assert_eq!(s.assets_by_number("SN001A").await.unwrap().iter().map(|x| x.id).collect::<Vec<_>>(), [a.id]);
    let patch = AssetPatch { number: Some(None), name: Some("冰箱".into()), ..Default::default() };
    let a2 = s.update_customer_asset(c.id, a.id, &patch, at(1)).await.unwrap();
    assert!(a2.number.is_none());
    assert_eq!(a2.fields, a.fields, "untouched");
    assert!(matches!(s.customer_asset(other.id, a.id).await, Err(StoreError::NotFound { what: "asset", .. })));
    assert!(matches!(s.delete_customer_asset(other.id, a.id).await, Err(StoreError::NotFound { .. })));
    let masked = NewAsset { number: Some("****0001".into()), ..new.clone() };
    assert!(
        matches!(s.add_customer_asset(c.id, &masked, T0).await, Err(StoreError::Invalid(m)) if m.contains("masked"))
    );
    s.delete_customer_asset(c.id, a.id).await.unwrap();
    assert!(s.customer_assets(c.id).await.unwrap().is_empty());
    let unknown = CustomerId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(
        s.add_customer_asset(unknown, &new, T0).await,
        Err(StoreError::NotFound { what: "customer", .. })
    ));

    // notes, newest first, paged
    for i in 0..5 {
        s.add_customer_note(c.id, None, &format!("note {i}"), at(i)).await.unwrap();
    }
    assert!(matches!(s.add_customer_note(c.id, None, "  ", T0).await, Err(StoreError::Invalid(_))));
    let first = s.list_customer_notes(c.id, &PageRequest { limit: Some(3), cursor: None }).await.unwrap();
    assert_eq!(first.items.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(), ["note 4", "note 3", "note 2"]);
    let rest = s.list_customer_notes(c.id, &PageRequest { limit: Some(3), cursor: first.next_cursor }).await.unwrap();
    assert_eq!(rest.items.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(), ["note 1", "note 0"]);
    assert!(rest.next_cursor.is_none());
    assert_eq!(s.customer_notes(c.id, 1).await.unwrap()[0].body, "note 4");
    assert!(matches!(s.customer_notes(unknown, 5).await, Err(StoreError::NotFound { .. })));

    // field definitions
    let def = FieldDef {
        key: "level".into(),
        label: "Level".into(),
        kind: FieldKind::Number,
        options: vec![],
        required: false,
    };
    let f = s.create_customer_field(&def, None, T0).await.unwrap();
    let g = s.create_customer_field(&FieldDef { key: "born_in".into(), ..def.clone() }, None, T0).await.unwrap();
    assert_eq!((f.position, g.position), (0, 1));
    assert!(
        matches!(s.create_customer_field(&def, None, T0).await, Err(StoreError::Conflict(m)) if m.contains("`level`"))
    );
    let bad = FieldDef { key: "Bad Key".into(), ..def.clone() };
    assert!(
        matches!(s.create_customer_field(&bad, None, T0).await, Err(StoreError::Invalid(m)) if m.starts_with("key:"))
    );
    let moved = CustomerFieldPatch { position: Some(5), label: Some("等级".into()), ..Default::default() };
    assert_eq!(s.update_customer_field(f.id, &moved).await.unwrap().def.label, "等级");
    assert_eq!(
        s.customer_fields().await.unwrap().iter().map(|f| f.def.key.as_str()).collect::<Vec<_>>(),
        ["born_in", "level"]
    );
    let options_on_number = CustomerFieldPatch { options: Some(vec!["a".into()]), ..Default::default() };
    assert!(matches!(s.update_customer_field(f.id, &options_on_number).await, Err(StoreError::Invalid(_))));

    let with_level = s
        .update_customer(c.id, &CustomerPatch { custom: Some(obj(json!({"level": "3"}))), ..Default::default() }, at(9))
        .await;
    assert_eq!(Value::Object(with_level.unwrap().custom), json!({"level": 3}));
    s.delete_customer_field(f.id).await.unwrap();
    assert!(matches!(s.delete_customer_field(f.id).await, Err(StoreError::NotFound { .. })));
    let renamed =
        s.update_customer(c.id, &CustomerPatch { name: Some("Zhu Bajie".into()), ..Default::default() }, at(10)).await;
    assert!(renamed.unwrap().custom.is_empty(), "a deleted field's value is dropped on the next change");
    t.cleanup().await;
}
