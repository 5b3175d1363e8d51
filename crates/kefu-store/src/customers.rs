//! Customers (CRM-1): profiles with phone numbers, ID card, tier, tags and custom values. Phone
//! and ID numbers are stored only encrypted, found through blind indexes (SEC-2); values come
//! back in clear and the server masks them by role. Checks and inserts are in
//! `customer_write.rs`; assets, notes and field definitions in `customer_parts.rs`.

use crate::crypto::{FieldCipher, IndexKind};
use crate::customer_write::{check_new, encrypt, insert_phones, insert_prepared, insert_tags, invalid, merge_custom};
use crate::events::{Arg, Args};
use crate::page::{Page, PageRequest};
use crate::rows::{json, parse, parse_opt, to_json, ts};
use crate::{Backend, Result, Store, StoreError, new_uuid};
use kefu_core::service::calendar::Date;
use kefu_core::service::customer::{Gender, IdCardNumber, PhoneNumber, check_custom};
use kefu_core::{CustomerId, Timestamp, UserId};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::Write as _;

pub use kefu_core::service::customer::CustomerTier;

/// Longest customer name, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// Most phone numbers one customer may have.
pub const MAX_PHONES: usize = 10;
/// Most tags one customer may have.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 50;
/// Longest phone label, in characters.
pub const PHONE_LABEL_MAX_CHARS: usize = 30;
/// The name an erased customer keeps.
pub const ERASED_NAME: &str = "(erased)";

/// One of a customer's phone numbers, in clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerPhone {
    /// The normalised number.
    pub number: PhoneNumber,
    /// What it is (`mobile`, `home`, `office`, …; may be empty).
    pub label: String,
}

/// A customer as stored, with personal values in clear. Deliberately not `Serialize`: the
/// server builds its own view, masked by role.
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    /// Unique id; kept when the customer is erased so work orders still point at it.
    pub id: CustomerId,
    /// Name (`(erased)` once erased).
    pub name: String,
    /// Tier.
    pub tier: CustomerTier,
    /// Phone numbers, in the order given.
    pub phones: Vec<CustomerPhone>,
    /// E-mail address.
    pub email: Option<String>,
    /// PRC resident ID number.
    pub id_card: Option<IdCardNumber>,
    /// Birthday, from the ID card or given.
    pub birthday: Option<Date>,
    /// Sex, from the ID card or given.
    pub gender: Option<Gender>,
    /// Tags.
    pub tags: Vec<String>,
    /// Values of the admin-defined custom fields, by key.
    pub custom: Map<String, Value>,
    /// Who created the customer.
    pub created_by: Option<UserId>,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
    /// When de-identified on request, if it was.
    pub erased_at: Option<Timestamp>,
}

/// A phone number as given (any accepted form), with its label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewPhone {
    /// The number as typed or as carried in a caller id.
    pub number: String,
    /// What it is (may be empty).
    pub label: String,
}

impl NewPhone {
    /// A number without a label.
    pub fn new(number: impl Into<String>) -> Self {
        NewPhone { number: number.into(), label: String::new() }
    }
}

/// A customer to create; values are as given and checked by the store.
#[derive(Clone, Debug, Default)]
pub struct NewCustomer {
    /// Name (required, at most 100 characters).
    pub name: String,
    /// Tier (default regular).
    pub tier: CustomerTier,
    /// Phone numbers (normalised; repeats dropped).
    pub phones: Vec<NewPhone>,
    /// E-mail address.
    pub email: Option<String>,
    /// PRC resident ID number; gives the birthday and gender.
    pub id_card: Option<String>,
    /// Birthday `YYYY-MM-DD` (must agree with the ID card if both are given).
    pub birthday: Option<String>,
    /// Sex (must agree with the ID card if both are given).
    pub gender: Option<Gender>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom values, checked against the current field definitions.
    pub custom: Map<String, Value>,
    /// Who creates it.
    pub created_by: Option<UserId>,
}

/// Changes to a customer; `None` leaves a value as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct CustomerPatch {
    /// New name.
    pub name: Option<String>,
    /// New tier.
    pub tier: Option<CustomerTier>,
    /// Replaces every phone number.
    pub phones: Option<Vec<NewPhone>>,
    /// New or cleared e-mail.
    pub email: Option<Option<String>>,
    /// New or cleared ID number (clearing it keeps birthday and gender).
    pub id_card: Option<Option<String>>,
    /// New or cleared birthday.
    pub birthday: Option<Option<String>>,
    /// New or cleared sex.
    pub gender: Option<Option<Gender>>,
    /// Replaces the tags.
    pub tags: Option<Vec<String>>,
    /// Custom values merged into the current ones (`null` removes a key).
    pub custom: Option<Map<String, Value>>,
}

/// The order of a customer list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CustomerSort {
    /// Newest first (creation time, then id, descending).
    #[default]
    Newest,
    /// By name, then id, ascending.
    Name,
}

/// Which customers to list; every set field must match. Erased customers are left out.
#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    /// The name starts with this text.
    pub name_prefix: Option<String>,
    /// Of this tier.
    pub tier: Option<CustomerTier>,
    /// Has this tag.
    pub tag: Option<String>,
    /// Has this phone number.
    pub phone: Option<PhoneNumber>,
    /// The order.
    pub sort: CustomerSort,
}

/// The columns read back, prefixed with the customers table's alias `c`.
const SELECT_COLS: &str = "c.id, c.name, c.tier, c.email, c.id_card_enc, c.birthday, c.gender, c.tags, c.custom, \
                           c.created_by, c.created_at, c.updated_at, c.erased_at";

fn customer_from_row(r: &AnyRow, cipher: &FieldCipher) -> Result<Customer> {
    let id_card = match r.try_get::<Option<String>, _>("id_card_enc")? {
        Some(enc) => Some(
            IdCardNumber::parse(&cipher.decrypt(&enc)?)
                .map_err(|e| StoreError::Corrupt(format!("column id_card_enc: {e}")))?,
        ),
        None => None,
    };
    Ok(Customer {
        id: parse(r, "id")?,
        name: r.try_get("name")?,
        tier: parse(r, "tier")?,
        phones: Vec::new(),
        email: r.try_get("email")?,
        id_card,
        birthday: parse_opt(r, "birthday")?,
        gender: parse_opt(r, "gender")?,
        tags: json(r, "tags")?,
        custom: json(r, "custom")?,
        created_by: parse_opt(r, "created_by")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
        erased_at: r.try_get::<Option<i64>, _>("erased_at")?.map(Timestamp::from_millis),
    })
}

fn phone_from(cipher: &FieldCipher, enc: &str, label: String) -> Result<CustomerPhone> {
    let number =
        PhoneNumber::parse(&cipher.decrypt(enc)?).map_err(|e| StoreError::Corrupt(format!("column phone_enc: {e}")))?;
    Ok(CustomerPhone { number, label })
}

/// The cursor of a customer page, by sort order.
fn encode_cursor(sort: CustomerSort, c: &Customer) -> String {
    match sort {
        CustomerSort::Newest => format!("{}_{}", c.created_at.as_millis(), c.id),
        CustomerSort::Name => format!("{}_{}", c.name, c.id),
    }
}

fn decode_cursor(text: &str) -> Result<(String, CustomerId)> {
    let bad =
        || StoreError::Invalid(format!("malformed customer cursor `{}`", text.chars().take(80).collect::<String>()));
    let (key, id) = text.rsplit_once('_').ok_or_else(bad)?;
    Ok((key.to_owned(), id.parse().map_err(|_| bad())?))
}

/// `$a, $b, …` for `values`, pushed onto `args`.
pub(crate) fn in_list(args: &mut Args, values: impl IntoIterator<Item = String>) -> String {
    values.into_iter().map(|v| args.push(Arg::Text(v))).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// Checks that the field key is the one the database's personal values were written
    /// with (a fingerprint is stored on first use). Called by [`Store::migrate`]; does nothing
    /// without a key.
    pub async fn check_field_key(&self) -> Result<()> {
        let Some(cipher) = self.cipher.as_deref() else {
            return Ok(());
        };
        let fingerprint = cipher.fingerprint();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        sqlx::query(
            "INSERT INTO field_key_check (id, fingerprint, created_at) VALUES ('field_key', $1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&fingerprint)
        .bind(now)
        .execute(self.pool())
        .await?;
        let stored: String = sqlx::query("SELECT fingerprint FROM field_key_check WHERE id = 'field_key'")
            .fetch_one(self.pool())
            .await?
            .try_get("fingerprint")?;
        if stored != fingerprint {
            return Err(StoreError::Invalid(
                "the field key differs from the one this database's customer data was encrypted with; \
                 set field_key (KEFU_FIELD_KEY) to the original key"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Creates a customer: the name is required, phone numbers are normalised (repeats
    /// dropped), the e-mail and ID number checked (the ID gives birthday and gender), custom
    /// values checked against the current field definitions. An ID number another customer
    /// already has is a conflict.
    pub async fn create_customer(&self, new: &NewCustomer, now: Timestamp) -> Result<Customer> {
        let cipher = self.cipher()?;
        let defs = self.field_defs().await?;
        let custom = check_custom(&defs, &new.custom).map_err(invalid)?;
        let checked = check_new(new)?;
        if let Some(card) = &checked.id_card {
            self.refuse_taken_id_card(cipher, card, None).await?;
        }
        let id = CustomerId::from_uuid(new_uuid());
        let prepared = encrypt(cipher, id, checked, &custom, new.created_by)?;
        let mut tx = self.pool().begin().await?;
        insert_prepared(&mut tx, self.backend(), std::slice::from_ref(&prepared), now).await?;
        tx.commit().await?;
        self.customer(id).await
    }

    /// A customer by id, values in clear (erased customers too).
    pub async fn customer(&self, id: CustomerId) -> Result<Customer> {
        let cipher = self.cipher()?;
        let row = sqlx::query(&format!("SELECT {SELECT_COLS} FROM customers c WHERE c.id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "customer", id: id.to_string() })?;
        let mut customers = vec![customer_from_row(&row, cipher)?];
        self.attach_phones(cipher, &mut customers).await?;
        Ok(customers.remove(0))
    }

    /// Whether a customer exists (erased ones included).
    pub async fn customer_exists(&self, id: CustomerId) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM customers WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .is_some())
    }

    /// Every customer with this phone number (a shared landline gives several), oldest
    /// first: the screen-pop path, one indexed query.
    pub async fn customers_by_phone(&self, phone: &PhoneNumber) -> Result<Vec<Customer>> {
        let cipher = self.cipher()?;
        let rows = sqlx::query(&format!(
            "SELECT {SELECT_COLS}, ph.phone_enc AS ph_enc, ph.label AS ph_label \
             FROM customer_phones p \
             JOIN customers c ON c.id = p.customer_id \
             JOIN customer_phones ph ON ph.customer_id = c.id \
             WHERE p.phone_idx = $1 \
             ORDER BY c.created_at, c.id, ph.position"
        ))
        .bind(cipher.blind_index(IndexKind::Phone, phone.as_str()))
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<Customer> = Vec::new();
        for r in &rows {
            let id: String = r.try_get("id")?;
            if out.last().is_none_or(|c| c.id.to_string() != id) {
                out.push(customer_from_row(r, cipher)?);
            }
            let phone = phone_from(cipher, &r.try_get::<String, _>("ph_enc")?, r.try_get("ph_label")?)?;
            if let Some(c) = out.last_mut() {
                c.phones.push(phone);
            }
        }
        Ok(out)
    }

    /// The customer with this ID number (the oldest, should an import have made several).
    pub async fn customer_by_id_card(&self, card: &IdCardNumber) -> Result<Option<Customer>> {
        let cipher = self.cipher()?;
        let Some(row) = sqlx::query(&format!(
            "SELECT {SELECT_COLS} FROM customers c WHERE c.id_card_idx = $1 ORDER BY c.created_at, c.id LIMIT 1"
        ))
        .bind(cipher.blind_index(IndexKind::IdCard, card.as_str()))
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let mut customers = vec![customer_from_row(&row, cipher)?];
        self.attach_phones(cipher, &mut customers).await?;
        Ok(customers.pop())
    }

    /// Customers matching `filter` (erased ones left out), one keyset page at a time.
    pub async fn list_customers(&self, filter: &CustomerFilter, page: &PageRequest) -> Result<Page<Customer>> {
        let cipher = self.cipher()?;
        let limit = page.limit();
        let mut sql = format!("SELECT {SELECT_COLS} FROM customers c WHERE c.erased_at IS NULL");
        let mut args = Args::default();
        if let Some(prefix) = filter.name_prefix.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            // the length is a number we computed, written inline: PostgreSQL has no
            // substr(text, int, bigint) for a bound parameter
            let n = prefix.chars().count();
            let p = args.push(Arg::Text(prefix.to_owned()));
            let _ = write!(sql, " AND substr(c.name, 1, {n}) = {p}");
            // A lower bound lets the (name, id) index start at the prefix: a text that starts
            // with the prefix never sorts before it. SQLite compares bytewise, so it also gets
            // the exact upper bound; PostgreSQL's collation may not be bytewise, so there the
            // substr test above ends the match.
            let lo = args.push(Arg::Text(prefix.to_owned()));
            let _ = write!(sql, " AND c.name >= {lo}");
            if self.backend() == Backend::Sqlite {
                let hi = args.push(Arg::Text(format!("{prefix}{}", char::MAX)));
                let _ = write!(sql, " AND c.name < {hi}");
            }
        }
        if let Some(tier) = filter.tier {
            let p = args.push(Arg::Text(tier.as_str().to_owned()));
            let _ = write!(sql, " AND c.tier = {p}");
        }
        if let Some(tag) = filter.tag.as_deref() {
            let p = args.push(Arg::Text(tag.trim().to_owned()));
            let _ = write!(sql, " AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = {p})");
        }
        if let Some(phone) = &filter.phone {
            let p = args.push(Arg::Text(cipher.blind_index(IndexKind::Phone, phone.as_str())));
            let _ = write!(sql, " AND c.id IN (SELECT customer_id FROM customer_phones WHERE phone_idx = {p})");
        }
        if let Some(cursor) = page.cursor.as_deref() {
            let (key, id) = decode_cursor(cursor)?;
            match filter.sort {
                CustomerSort::Newest => {
                    let at: i64 = key.parse().map_err(|_| {
                        StoreError::Invalid(format!(
                            "malformed customer cursor `{}`",
                            cursor.chars().take(80).collect::<String>()
                        ))
                    })?;
                    let (a, b, i) =
                        (args.push(Arg::Int(at)), args.push(Arg::Int(at)), args.push(Arg::Text(id.to_string())));
                    let _ = write!(sql, " AND (c.created_at < {a} OR (c.created_at = {b} AND c.id < {i}))");
                }
                CustomerSort::Name => {
                    let (a, b, i) = (
                        args.push(Arg::Text(key.clone())),
                        args.push(Arg::Text(key)),
                        args.push(Arg::Text(id.to_string())),
                    );
                    let _ = write!(sql, " AND (c.name > {a} OR (c.name = {b} AND c.id > {i}))");
                }
            }
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        match filter.sort {
            CustomerSort::Newest => {
                let _ = write!(sql, " ORDER BY c.created_at DESC, c.id DESC LIMIT {p}");
            }
            CustomerSort::Name => {
                let _ = write!(sql, " ORDER BY c.name, c.id LIMIT {p}");
            }
        }
        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let mut items = rows.iter().map(|r| customer_from_row(r, cipher)).collect::<Result<Vec<_>>>()?;
        // the extra row only signals a next page; do not decrypt its phones
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        self.attach_phones(cipher, &mut items).await?;
        let next_cursor = if more { items.last().map(|c| encode_cursor(filter.sort, c)) } else { None };
        Ok(Page { items, next_cursor })
    }

    /// Number of customers (erased ones included).
    pub async fn count_customers(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM customers").fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// Changes a customer. An erased customer cannot be changed (conflict).
    pub async fn update_customer(&self, id: CustomerId, patch: &CustomerPatch, now: Timestamp) -> Result<Customer> {
        let cipher = self.cipher()?;
        let current = self.customer(id).await?;
        if current.erased_at.is_some() {
            return Err(StoreError::Conflict(format!("customer `{id}` was erased and cannot be changed")));
        }
        let defs = self.field_defs().await?;
        let custom = merge_custom(&defs, &current.custom, patch.custom.as_ref())?;

        let id_card_text = match &patch.id_card {
            Some(v) => v.clone(),
            None => current.id_card.as_ref().map(|c| c.as_str().to_owned()),
        };
        let id_card_changed = patch.id_card.is_some();
        let new = NewCustomer {
            name: patch.name.clone().unwrap_or_else(|| current.name.clone()),
            tier: patch.tier.unwrap_or(current.tier),
            phones: match &patch.phones {
                Some(p) => p.clone(),
                None => current
                    .phones
                    .iter()
                    .map(|p| NewPhone { number: p.number.as_str().to_owned(), label: p.label.clone() })
                    .collect(),
            },
            email: patch.email.clone().unwrap_or_else(|| current.email.clone()),
            id_card: id_card_text,
            // a new ID number brings its own birthday and gender unless they are given too
            birthday: match &patch.birthday {
                Some(b) => b.clone(),
                None if id_card_changed => None,
                None => current.birthday.map(|d| d.to_string()),
            },
            gender: match patch.gender {
                Some(g) => g,
                None if id_card_changed => None,
                None => current.gender,
            },
            tags: patch.tags.clone().unwrap_or_else(|| current.tags.clone()),
            custom: Map::new(),
            created_by: current.created_by,
        };
        let checked = check_new(&new)?;
        if id_card_changed && let Some(card) = &checked.id_card {
            self.refuse_taken_id_card(cipher, card, Some(id)).await?;
        }
        let p = encrypt(cipher, id, checked, &custom, current.created_by)?;

        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE customers SET name = $1, tier = $2, email = $3, id_card_enc = $4, id_card_idx = $5, \
             birthday = $6, gender = $7, tags = $8, custom = $9, updated_at = $10 \
             WHERE id = $11 AND erased_at IS NULL",
        )
        .bind(&p.name)
        .bind(p.tier.as_str())
        .bind(p.email.clone())
        .bind(p.id_card_enc.clone())
        .bind(p.id_card_idx.clone())
        .bind(p.birthday.map(|d| d.to_string()))
        .bind(p.gender.map(|g| g.as_str()))
        .bind(to_json(&p.tags)?)
        .bind(&p.custom)
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if patch.phones.is_some() {
            sqlx::query("DELETE FROM customer_phones WHERE customer_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            insert_phones(&mut tx, self.backend(), std::slice::from_ref(&p)).await?;
        }
        if patch.tags.is_some() {
            sqlx::query("DELETE FROM customer_tags WHERE customer_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            insert_tags(&mut tx, self.backend(), std::slice::from_ref(&p)).await?;
        }
        tx.commit().await?;
        self.customer(id).await
    }

    /// De-identifies a customer on request: the name becomes `(erased)`; phone numbers, e-mail,
    /// ID number, birthday, gender, tags, custom values, notes and asset numbers and fields
    /// are removed; `erased_at` is set. The id stays so work orders keep their customer.
    /// Erasing twice changes nothing more.
    pub async fn erase_customer(&self, id: CustomerId, now: Timestamp) -> Result<Customer> {
        let key = id.to_string();
        let mut tx = self.pool().begin().await?;
        let found = sqlx::query(
            "UPDATE customers SET name = $1, email = NULL, id_card_enc = NULL, id_card_idx = NULL, \
             birthday = NULL, gender = NULL, tags = '[]', custom = '{}', updated_at = $2, \
             erased_at = COALESCE(erased_at, $3) WHERE id = $4",
        )
        .bind(ERASED_NAME)
        .bind(now.as_millis())
        .bind(now.as_millis())
        .bind(&key)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if found == 0 {
            return Err(StoreError::NotFound { what: "customer", id: key });
        }
        for sql in [
            "DELETE FROM customer_phones WHERE customer_id = $1",
            "DELETE FROM customer_tags WHERE customer_id = $1",
            "DELETE FROM customer_notes WHERE customer_id = $1",
            "UPDATE customer_assets SET number_enc = NULL, number_idx = NULL, fields = '{}' WHERE customer_id = $1",
        ] {
            sqlx::query(sql).bind(&key).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.customer(id).await
    }

    /// Refuses an ID number that another (not erased) customer already has.
    async fn refuse_taken_id_card(
        &self,
        cipher: &FieldCipher,
        card: &IdCardNumber,
        except: Option<CustomerId>,
    ) -> Result<()> {
        let row = sqlx::query("SELECT id FROM customers WHERE id_card_idx = $1 AND id <> $2 LIMIT 1")
            .bind(cipher.blind_index(IndexKind::IdCard, card.as_str()))
            .bind(except.map(|e| e.to_string()).unwrap_or_default())
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => Err(StoreError::Conflict(format!(
                "customer `{}` already has this ID number",
                r.try_get::<String, _>("id")?
            ))),
            None => Ok(()),
        }
    }

    /// Fills in the phone numbers of `customers` with one query.
    async fn attach_phones(&self, cipher: &FieldCipher, customers: &mut [Customer]) -> Result<()> {
        if customers.is_empty() {
            return Ok(());
        }
        let mut args = Args::default();
        let list = in_list(&mut args, customers.iter().map(|c| c.id.to_string()));
        let sql = format!(
            "SELECT customer_id, phone_enc, label FROM customer_phones WHERE customer_id IN ({list}) \
             ORDER BY customer_id, position"
        );
        for r in args.bind(&sql).fetch_all(self.pool()).await? {
            let owner: CustomerId = parse(&r, "customer_id")?;
            let phone = phone_from(cipher, &r.try_get::<String, _>("phone_enc")?, r.try_get("label")?)?;
            if let Some(c) = customers.iter_mut().find(|c| c.id == owner) {
                c.phones.push(phone);
            }
        }
        Ok(())
    }
}
