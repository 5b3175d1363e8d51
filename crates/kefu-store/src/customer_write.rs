//! Writing customers: the checks every new or changed customer passes, encryption of its
//! numbers, and the multi-row inserts that `create_customer` and the bulk import share.

use crate::crypto::{FieldCipher, IndexKind};
use crate::customers::{
    MAX_PHONES, MAX_TAGS, NAME_MAX_CHARS, NewCustomer, NewPhone, PHONE_LABEL_MAX_CHARS, TAG_MAX_CHARS,
};
use crate::error::constraint_error;
use crate::rows::to_json;
use crate::{Backend, Result, Store, StoreError, new_uuid};
use kefu_core::service::calendar::Date;
use kefu_core::service::customer::{
    CustomerTier, FieldDef, FieldError, Gender, IdCardNumber, PhoneNumber, check_custom, check_email, parse_date,
};
use kefu_core::{CustomerId, Timestamp, UserId};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The SQLite page cache of a connection doing a bulk import (256 MiB).
const BULK_CACHE_PRAGMA: &str = "PRAGMA cache_size = -262144";
/// SQLite's default page cache (2 MiB).
const DEFAULT_CACHE_PRAGMA: &str = "PRAGMA cache_size = -2000";

/// A bulk insert at least this large refreshes PostgreSQL's planner statistics.
const ANALYZE_AFTER_ROWS: usize = 10_000;

/// Parameters per multi-row INSERT on SQLite, which resolves `$N` by a linear scan of the
/// statement's parameter names (binding cost grows with the square of the count; see
/// `events.rs`).
const SQLITE_PARAMS_PER_STATEMENT: usize = 260;
/// Parameters per multi-row INSERT on PostgreSQL, where each statement is a round trip.
const POSTGRES_PARAMS_PER_STATEMENT: usize = 5_200;

/// Rows of `columns` columns per multi-row INSERT on `backend`.
fn rows_per_statement(backend: Backend, columns: usize) -> usize {
    let params = match backend {
        Backend::Sqlite => SQLITE_PARAMS_PER_STATEMENT,
        Backend::Postgres => POSTGRES_PARAMS_PER_STATEMENT,
    };
    (params / columns).max(1)
}

pub(crate) fn invalid(e: FieldError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

/// A customer's values checked, normalised and encrypted, ready to write.
pub(crate) struct Prepared {
    pub(crate) id: CustomerId,
    pub(crate) name: String,
    pub(crate) tier: CustomerTier,
    pub(crate) email: Option<String>,
    pub(crate) id_card_enc: Option<String>,
    pub(crate) id_card_idx: Option<String>,
    pub(crate) birthday: Option<Date>,
    pub(crate) gender: Option<Gender>,
    pub(crate) tags: Vec<String>,
    pub(crate) custom: String,
    /// (blind index, ciphertext, label)
    pub(crate) phones: Vec<(String, String, String)>,
    pub(crate) created_by: Option<UserId>,
}

/// The checked values of a customer before encryption (shared by create and update).
pub(crate) struct Checked {
    pub(crate) name: String,
    pub(crate) tier: CustomerTier,
    pub(crate) phones: Vec<(PhoneNumber, String)>,
    pub(crate) email: Option<String>,
    pub(crate) id_card: Option<IdCardNumber>,
    pub(crate) birthday: Option<Date>,
    pub(crate) gender: Option<Gender>,
    pub(crate) tags: Vec<String>,
}

fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(invalid(FieldError::new("name", "is required")));
    }
    if n.chars().count() > NAME_MAX_CHARS {
        return Err(invalid(FieldError::new("name", format!("is longer than {NAME_MAX_CHARS} characters"))));
    }
    Ok(n.to_owned())
}

fn check_phones(phones: &[NewPhone]) -> Result<Vec<(PhoneNumber, String)>> {
    if phones.len() > MAX_PHONES {
        return Err(invalid(FieldError::new("phones", format!("at most {MAX_PHONES} numbers"))));
    }
    let mut out: Vec<(PhoneNumber, String)> = Vec::with_capacity(phones.len());
    for (i, p) in phones.iter().enumerate() {
        let number = PhoneNumber::parse(&p.number).map_err(|e| invalid(e.in_field(format!("phones[{i}]"))))?;
        let label = p.label.trim();
        if label.chars().count() > PHONE_LABEL_MAX_CHARS {
            return Err(invalid(FieldError::new(
                format!("phones[{i}].label"),
                format!("is longer than {PHONE_LABEL_MAX_CHARS} characters"),
            )));
        }
        if !out.iter().any(|(n, _)| *n == number) {
            out.push((number, label.to_owned()));
        }
    }
    Ok(out)
}

fn check_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let t = t.trim();
        let n = t.chars().count();
        if n == 0 || n > TAG_MAX_CHARS {
            return Err(invalid(FieldError::new(
                format!("tags[{i}]"),
                format!("must have 1 to {TAG_MAX_CHARS} characters"),
            )));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(invalid(FieldError::new("tags", format!("at most {MAX_TAGS} tags"))));
    }
    Ok(out)
}

/// Birthday and gender from the ID card, the given ones, or both (which must agree).
fn derive_person(
    id_card: Option<&IdCardNumber>,
    birthday: Option<&str>,
    gender: Option<Gender>,
) -> Result<(Option<Date>, Option<Gender>)> {
    let given_birthday =
        birthday.filter(|b| !b.trim().is_empty()).map(|b| parse_date("birthday", b)).transpose().map_err(invalid)?;
    let Some(card) = id_card else {
        return Ok((given_birthday, gender));
    };
    let derived = card.birthday();
    if given_birthday.is_some_and(|b| b != derived) {
        return Err(invalid(FieldError::new("birthday", format!("differs from the ID card's ({derived})"))));
    }
    if gender.is_some_and(|g| g != card.gender()) {
        return Err(invalid(FieldError::new("gender", "differs from the ID card's")));
    }
    Ok((Some(derived), Some(card.gender())))
}

pub(crate) fn check_new(new: &NewCustomer) -> Result<Checked> {
    let id_card = new
        .id_card
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(IdCardNumber::parse)
        .transpose()
        .map_err(invalid)?;
    let (birthday, gender) = derive_person(id_card.as_ref(), new.birthday.as_deref(), new.gender)?;
    Ok(Checked {
        name: check_name(&new.name)?,
        tier: new.tier,
        phones: check_phones(&new.phones)?,
        email: new.email.as_deref().filter(|s| !s.trim().is_empty()).map(check_email).transpose().map_err(invalid)?,
        id_card,
        birthday,
        gender,
        tags: check_tags(&new.tags)?,
    })
}

pub(crate) fn encrypt(
    cipher: &FieldCipher,
    id: CustomerId,
    c: Checked,
    custom: &Map<String, Value>,
    created_by: Option<UserId>,
) -> Result<Prepared> {
    let (id_card_enc, id_card_idx) = match &c.id_card {
        Some(card) => {
            (Some(cipher.encrypt(card.as_str())?), Some(cipher.blind_index(IndexKind::IdCard, card.as_str())))
        }
        None => (None, None),
    };
    let phones = c
        .phones
        .iter()
        .map(|(n, label)| {
            Ok((cipher.blind_index(IndexKind::Phone, n.as_str()), cipher.encrypt(n.as_str())?, label.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Prepared {
        id,
        name: c.name,
        tier: c.tier,
        email: c.email,
        id_card_enc,
        id_card_idx,
        birthday: c.birthday,
        gender: c.gender,
        tags: c.tags,
        custom: to_json(custom)?,
        phones,
        created_by,
    })
}

const CUSTOMER_COLS: &str = "id, name, tier, email, id_card_enc, id_card_idx, birthday, gender, tags, custom, \
                             created_by, created_at, updated_at";

impl Store {
    /// Creates many customers in one transaction with multi-row inserts (imports, benchmarks).
    /// Each is checked like [`Store::create_customer`] except that ID numbers are not checked
    /// against existing customers. All or none are stored; the error names the failing row.
    /// On PostgreSQL a batch of 10,000 or more refreshes the tables' statistics.
    pub async fn insert_customers_bulk(&self, customers: &[NewCustomer], now: Timestamp) -> Result<Vec<CustomerId>> {
        let cipher = self.cipher()?;
        let defs = self.field_defs().await?;
        let mut prepared = Vec::with_capacity(customers.len());
        for (i, new) in customers.iter().enumerate() {
            let row_error = |e: StoreError| match e {
                StoreError::Invalid(m) => StoreError::Invalid(format!("customer {i}: {m}")),
                other => other,
            };
            let custom = check_custom(&defs, &new.custom).map_err(|e| row_error(invalid(e)))?;
            let checked = check_new(new).map_err(row_error)?;
            prepared.push(encrypt(cipher, CustomerId::from_uuid(new_uuid()), checked, &custom, new.created_by)?);
        }
        let sqlite = self.backend() == Backend::Sqlite;
        let mut conn = self.pool().acquire().await?;
        if sqlite {
            // the blind indexes are random, so a big import touches index pages all over the
            // file: a larger page cache for this connection while it imports
            sqlx::query(BULK_CACHE_PRAGMA).execute(&mut *conn).await?;
        }
        let result = async {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            // whole customers per slice, so each slice's phones and tags go with it
            for chunk in prepared.chunks(rows_per_statement(self.backend(), 13)) {
                insert_prepared(&mut tx, self.backend(), chunk, now).await?;
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        if sqlite {
            // back to the default for this pooled connection (a failure only costs memory)
            let _ = sqlx::query(DEFAULT_CACHE_PRAGMA).execute(&mut *conn).await;
        }
        result?;
        if !sqlite && prepared.len() >= ANALYZE_AFTER_ROWS {
            // fresh statistics, or PostgreSQL plans lookups on the grown tables as scans until
            // autovacuum gets to them
            sqlx::query("ANALYZE customers, customer_phones, customer_tags").execute(&mut *conn).await?;
        }
        Ok(prepared.iter().map(|p| p.id).collect())
    }
}

/// The current custom values (those whose field still exists) with `patch` merged in: keys
/// in the patch must be defined and valid, `null` removes a key, required fields must remain.
pub(crate) fn merge_custom(
    defs: &[FieldDef],
    current: &Map<String, Value>,
    patch: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>> {
    let mut out: Map<String, Value> = current
        .iter()
        .filter(|(k, _)| defs.iter().any(|d| &d.key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let Some(patch) = patch else {
        return Ok(out);
    };
    for (key, value) in patch {
        let def = defs
            .iter()
            .find(|d| &d.key == key)
            .ok_or_else(|| invalid(FieldError::new(format!("custom.{key}"), "is not a defined customer field")))?;
        if value.is_null() {
            out.remove(key);
        } else {
            out.insert(key.clone(), def.check_value(value).map_err(invalid)?);
        }
    }
    if let Some(missing) = defs.iter().find(|d| d.required && !out.contains_key(&d.key)) {
        return Err(invalid(FieldError::new(format!("custom.{}", missing.key), "is required")));
    }
    Ok(out)
}

/// Inserts customers with their phones and tags within `tx`, in multi-row statements.
pub(crate) async fn insert_prepared(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    rows: &[Prepared],
    now: Timestamp,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = format!("INSERT INTO customers ({CUSTOMER_COLS}) VALUES ");
    for i in 0..rows.len() {
        let b = i * 13;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for j in 1..=13 {
            let _ = write!(sql, "{}${}", if j > 1 { ", " } else { "" }, b + j);
        }
        sql.push(')');
    }
    let mut q = sqlx::query(&sql);
    for p in rows {
        q = q
            .bind(p.id.to_string())
            .bind(p.name.clone())
            .bind(p.tier.as_str())
            .bind(p.email.clone())
            .bind(p.id_card_enc.clone())
            .bind(p.id_card_idx.clone())
            .bind(p.birthday.map(|d| d.to_string()))
            .bind(p.gender.map(|g| g.as_str()))
            .bind(to_json(&p.tags)?)
            .bind(p.custom.clone())
            .bind(p.created_by.map(|u| u.to_string()))
            .bind(now.as_millis())
            .bind(now.as_millis());
    }
    q.execute(&mut **tx).await.map_err(|e| {
        constraint_error(
            e,
            |c| StoreError::Conflict(format!("customer already exists ({c})")),
            |_| StoreError::Invalid("created_by: the user does not exist".into()),
        )
    })?;
    insert_phones(tx, backend, rows).await?;
    insert_tags(tx, backend, rows).await
}

pub(crate) async fn insert_phones(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    rows: &[Prepared],
) -> Result<()> {
    let phones: Vec<(CustomerId, usize, &(String, String, String))> =
        rows.iter().flat_map(|p| p.phones.iter().enumerate().map(move |(i, ph)| (p.id, i, ph))).collect();
    for chunk in phones.chunks(rows_per_statement(backend, 6)) {
        let mut sql = String::from(
            "INSERT INTO customer_phones (id, customer_id, phone_idx, phone_enc, label, position) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 6;
            let sep = if i > 0 { ", " } else { "" };
            let _ = write!(sql, "{sep}(${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6);
        }
        let mut q = sqlx::query(&sql);
        for (customer, position, (idx, enc, label)) in chunk {
            q = q
                .bind(new_uuid().to_string())
                .bind(customer.to_string())
                .bind(idx.clone())
                .bind(enc.clone())
                .bind(label.clone())
                .bind(i64::try_from(*position).unwrap_or(i64::MAX));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) async fn insert_tags(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    rows: &[Prepared],
) -> Result<()> {
    let tags: Vec<(CustomerId, &String)> = rows.iter().flat_map(|p| p.tags.iter().map(move |t| (p.id, t))).collect();
    for chunk in tags.chunks(rows_per_statement(backend, 2)) {
        let mut sql = String::from("INSERT INTO customer_tags (customer_id, tag) VALUES ");
        for i in 0..chunk.len() {
            let sep = if i > 0 { ", " } else { "" };
            let _ = write!(sql, "{sep}(${}, ${})", i * 2 + 1, i * 2 + 2);
        }
        let mut q = sqlx::query(&sql);
        for (customer, tag) in chunk {
            q = q.bind(customer.to_string()).bind((*tag).clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
