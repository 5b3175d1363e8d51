//! What hangs off a customer: assets (products, orders, accounts, their numbers encrypted at
//! rest), notes, and the admin-defined custom field definitions.

use crate::crypto::IndexKind;
use crate::error::constraint_error;
use crate::page::{Page, PageRequest};
use crate::rows::{json, parse, parse_opt, to_json, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::service::customer::{AssetKind, FieldDef, FieldError, FieldKind, asset_number_key, check_asset_number};
use kefu_core::{AssetId, CustomerId, FieldDefId, NoteId, Timestamp, UserId};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Longest asset name, in characters.
pub const ASSET_NAME_MAX_CHARS: usize = 200;
/// Longest note, in characters.
pub const NOTE_MAX_CHARS: usize = 4000;
/// Most custom fields that may be defined.
pub const MAX_CUSTOM_FIELDS: usize = 100;

fn invalid(e: FieldError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

// ----------------------------------------------------------------------------------------------
// assets

/// A product, order or account of a customer, its number in clear. Not `Serialize`: the
/// server masks the number by role.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerAsset {
    /// Unique id.
    pub id: AssetId,
    /// Whose it is.
    pub customer_id: CustomerId,
    /// Product, order or account.
    pub kind: AssetKind,
    /// What it is (`冰箱 BCD-470`, `年卡会员`, …).
    pub name: String,
    /// Serial, order or account number.
    pub number: Option<String>,
    /// Its own fields (model, purchase date, …).
    pub fields: Map<String, Value>,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

/// An asset to add.
#[derive(Clone, Debug)]
pub struct NewAsset {
    /// Product, order or account.
    pub kind: AssetKind,
    /// What it is (required).
    pub name: String,
    /// Serial, order or account number.
    pub number: Option<String>,
    /// Its own fields.
    pub fields: Map<String, Value>,
}

/// Changes to an asset; `None` leaves a value as it is.
#[derive(Clone, Debug, Default)]
pub struct AssetPatch {
    /// New kind.
    pub kind: Option<AssetKind>,
    /// New name.
    pub name: Option<String>,
    /// New or cleared number.
    pub number: Option<Option<String>>,
    /// Replaces the fields.
    pub fields: Option<Map<String, Value>>,
}

fn check_asset_name(name: &str) -> Result<String> {
    let n = name.trim();
    let count = n.chars().count();
    if count == 0 || count > ASSET_NAME_MAX_CHARS {
        return Err(invalid(FieldError::new("name", format!("must have 1 to {ASSET_NAME_MAX_CHARS} characters"))));
    }
    Ok(n.to_owned())
}

fn check_asset_fields(fields: &Map<String, Value>) -> Result<String> {
    let text = to_json(fields)?;
    if text.len() > 16 * 1024 {
        return Err(invalid(FieldError::new("fields", "are larger than 16 KiB")));
    }
    Ok(text)
}

const ASSET_COLS: &str = "id, customer_id, kind, name, number_enc, fields, created_at, updated_at";

fn asset_from_row(store: &Store, r: &AnyRow) -> Result<CustomerAsset> {
    let number = match r.try_get::<Option<String>, _>("number_enc")? {
        Some(enc) => Some(store.cipher()?.decrypt(&enc)?),
        None => None,
    };
    Ok(CustomerAsset {
        id: parse(r, "id")?,
        customer_id: parse(r, "customer_id")?,
        kind: parse(r, "kind")?,
        name: r.try_get("name")?,
        number,
        fields: json(r, "fields")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

// ----------------------------------------------------------------------------------------------
// notes

/// A free-text note an agent left on a customer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomerNote {
    /// Unique id.
    pub id: NoteId,
    /// On whom.
    pub customer_id: CustomerId,
    /// Who wrote it.
    pub author_id: Option<UserId>,
    /// The text.
    pub body: String,
    /// When (epoch ms).
    pub created_at: Timestamp,
}

fn note_from_row(r: &AnyRow) -> Result<CustomerNote> {
    Ok(CustomerNote {
        id: parse(r, "id")?,
        customer_id: parse(r, "customer_id")?,
        author_id: parse_opt(r, "author_id")?,
        body: r.try_get("body")?,
        created_at: ts(r, "created_at")?,
    })
}

fn decode_note_cursor(text: &str) -> Result<(i64, NoteId)> {
    let bad = || StoreError::Invalid(format!("malformed note cursor `{}`", text.chars().take(80).collect::<String>()));
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

// ----------------------------------------------------------------------------------------------
// field definitions

/// A stored custom field definition.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomerField {
    /// Unique id.
    pub id: FieldDefId,
    /// The definition.
    #[serde(flatten)]
    pub def: FieldDef,
    /// Where it is shown among the fields (ascending).
    pub position: i64,
    /// When created (epoch ms).
    pub created_at: Timestamp,
}

/// Changes to a field definition; its key and kind cannot change (stored values depend on
/// them).
#[derive(Clone, Debug, Default)]
pub struct CustomerFieldPatch {
    /// New label.
    pub label: Option<String>,
    /// New options (choice fields).
    pub options: Option<Vec<String>>,
    /// Whether a value is required.
    pub required: Option<bool>,
    /// New position.
    pub position: Option<i64>,
}

fn field_from_row(r: &AnyRow) -> Result<CustomerField> {
    Ok(CustomerField {
        id: parse(r, "id")?,
        def: FieldDef {
            key: r.try_get("key")?,
            label: r.try_get("label")?,
            kind: parse::<FieldKind>(r, "kind")?,
            options: json(r, "options")?,
            required: r.try_get::<i64, _>("required")? != 0,
        },
        position: r.try_get("position")?,
        created_at: ts(r, "created_at")?,
    })
}

const FIELD_COLS: &str = "id, key, label, kind, options, required, position, created_at";

impl Store {
    // ------------------------------------------------------------------------------------------
    // assets

    /// Adds an asset to a customer; its number is encrypted and indexed.
    pub async fn add_customer_asset(
        &self,
        customer: CustomerId,
        new: &NewAsset,
        now: Timestamp,
    ) -> Result<CustomerAsset> {
        let cipher = self.cipher()?;
        let name = check_asset_name(&new.name)?;
        let fields = check_asset_fields(&new.fields)?;
        let number = new.number.as_deref().filter(|n| !n.trim().is_empty()).map(check_asset_number).transpose();
        let number = number.map_err(invalid)?;
        let (enc, idx) = match &number {
            Some(n) => {
                (Some(cipher.encrypt(n)?), Some(cipher.blind_index(IndexKind::AssetNumber, &asset_number_key(n))))
            }
            None => (None, None),
        };
        self.refuse_erased(customer).await?;
        let id = AssetId::from_uuid(new_uuid());
        sqlx::query(
            "INSERT INTO customer_assets (id, customer_id, kind, name, number_enc, number_idx, fields, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(customer.to_string())
        .bind(new.kind.as_str())
        .bind(&name)
        .bind(enc)
        .bind(idx)
        .bind(&fields)
        .bind(now.as_millis())
        .bind(now.as_millis())
        .execute(self.pool())
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |c| StoreError::Conflict(format!("asset already exists ({c})")),
                |_| StoreError::NotFound { what: "customer", id: customer.to_string() },
            )
        })?;
        self.customer_asset(customer, id).await
    }

    /// One asset of a customer (not found if it belongs to someone else).
    pub async fn customer_asset(&self, customer: CustomerId, id: AssetId) -> Result<CustomerAsset> {
        let row = sqlx::query(&format!("SELECT {ASSET_COLS} FROM customer_assets WHERE id = $1 AND customer_id = $2"))
            .bind(id.to_string())
            .bind(customer.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "asset", id: id.to_string() })?;
        asset_from_row(self, &row)
    }

    /// A customer's assets, oldest first (not found for an unknown customer).
    pub async fn customer_assets(&self, customer: CustomerId) -> Result<Vec<CustomerAsset>> {
        if !self.customer_exists(customer).await? {
            return Err(StoreError::NotFound { what: "customer", id: customer.to_string() });
        }
        let rows = sqlx::query(&format!(
            "SELECT {ASSET_COLS} FROM customer_assets WHERE customer_id = $1 ORDER BY created_at, id"
        ))
        .bind(customer.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| asset_from_row(self, r)).collect()
    }

    /// Assets with this number (spaces, `-` and case ignored), e.g. to find the customer of an
    /// order number.
    pub async fn assets_by_number(&self, number: &str) -> Result<Vec<CustomerAsset>> {
        let cipher = self.cipher()?;
        let number = check_asset_number(number).map_err(invalid)?;
        let rows = sqlx::query(&format!(
            "SELECT {ASSET_COLS} FROM customer_assets WHERE number_idx = $1 ORDER BY created_at, id"
        ))
        .bind(cipher.blind_index(IndexKind::AssetNumber, &asset_number_key(&number)))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| asset_from_row(self, r)).collect()
    }

    /// Changes an asset of a customer.
    pub async fn update_customer_asset(
        &self,
        customer: CustomerId,
        id: AssetId,
        patch: &AssetPatch,
        now: Timestamp,
    ) -> Result<CustomerAsset> {
        let cipher = self.cipher()?;
        let current = self.customer_asset(customer, id).await?;
        self.refuse_erased(customer).await?;
        let name = check_asset_name(patch.name.as_deref().unwrap_or(&current.name))?;
        let fields = check_asset_fields(patch.fields.as_ref().unwrap_or(&current.fields))?;
        let number = match &patch.number {
            Some(n) => n.as_deref().filter(|n| !n.trim().is_empty()).map(check_asset_number).transpose(),
            None => Ok(current.number.clone()),
        };
        let number = number.map_err(invalid)?;
        let (enc, idx) = match &number {
            Some(n) => {
                (Some(cipher.encrypt(n)?), Some(cipher.blind_index(IndexKind::AssetNumber, &asset_number_key(n))))
            }
            None => (None, None),
        };
        sqlx::query(
            "UPDATE customer_assets SET kind = $1, name = $2, number_enc = $3, number_idx = $4, fields = $5, \
             updated_at = $6 WHERE id = $7 AND customer_id = $8",
        )
        .bind(patch.kind.unwrap_or(current.kind).as_str())
        .bind(&name)
        .bind(enc)
        .bind(idx)
        .bind(&fields)
        .bind(now.as_millis())
        .bind(id.to_string())
        .bind(customer.to_string())
        .execute(self.pool())
        .await?;
        self.customer_asset(customer, id).await
    }

    /// Removes an asset of a customer.
    pub async fn delete_customer_asset(&self, customer: CustomerId, id: AssetId) -> Result<()> {
        let n = sqlx::query("DELETE FROM customer_assets WHERE id = $1 AND customer_id = $2")
            .bind(id.to_string())
            .bind(customer.to_string())
            .execute(self.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "asset", id: id.to_string() });
        }
        Ok(())
    }

    /// Not found for an unknown customer, conflict for an erased one.
    async fn refuse_erased(&self, customer: CustomerId) -> Result<()> {
        let row = sqlx::query("SELECT erased_at FROM customers WHERE id = $1")
            .bind(customer.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "customer", id: customer.to_string() })?;
        if row.try_get::<Option<i64>, _>("erased_at")?.is_some() {
            return Err(StoreError::Conflict(format!("customer `{customer}` was erased and cannot be changed")));
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------------
    // notes

    /// Adds a note to a customer.
    pub async fn add_customer_note(
        &self,
        customer: CustomerId,
        author: Option<UserId>,
        body: &str,
        now: Timestamp,
    ) -> Result<CustomerNote> {
        let body = body.trim();
        let n = body.chars().count();
        if n == 0 || n > NOTE_MAX_CHARS {
            return Err(invalid(FieldError::new("body", format!("must have 1 to {NOTE_MAX_CHARS} characters"))));
        }
        self.refuse_erased(customer).await?;
        let note = CustomerNote {
            id: NoteId::from_uuid(new_uuid()),
            customer_id: customer,
            author_id: author,
            body: body.to_owned(),
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO customer_notes (id, customer_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(note.id.to_string())
        .bind(customer.to_string())
        .bind(author.map(|a| a.to_string()))
        .bind(&note.body)
        .bind(now.as_millis())
        .execute(self.pool())
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |c| StoreError::Conflict(format!("note already exists ({c})")),
                |_| StoreError::Invalid("author: the user does not exist".into()),
            )
        })?;
        Ok(note)
    }

    /// A customer's notes, newest first, one keyset page at a time (cursor
    /// `<created_at>_<id>`). Not found for an unknown customer.
    pub async fn list_customer_notes(&self, customer: CustomerId, page: &PageRequest) -> Result<Page<CustomerNote>> {
        if !self.customer_exists(customer).await? {
            return Err(StoreError::NotFound { what: "customer", id: customer.to_string() });
        }
        let limit = page.limit();
        let (at, id) = match page.cursor.as_deref() {
            Some(c) => {
                let (at, id) = decode_note_cursor(c)?;
                (at, id.to_string())
            }
            None => (i64::MAX, String::new()),
        };
        let rows = sqlx::query(
            "SELECT id, customer_id, author_id, body, created_at FROM customer_notes WHERE customer_id = $1 \
             AND (created_at < $2 OR (created_at = $3 AND id < $4)) \
             ORDER BY created_at DESC, id DESC LIMIT $5",
        )
        .bind(customer.to_string())
        .bind(at)
        .bind(at)
        .bind(&id)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await?;
        let items = rows.iter().map(note_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |n| format!("{}_{}", n.created_at.as_millis(), n.id)))
    }

    /// A customer's newest `limit` notes, newest first (for the timeline).
    pub async fn customer_notes(&self, customer: CustomerId, limit: u32) -> Result<Vec<CustomerNote>> {
        let page = PageRequest { limit: Some(limit), cursor: None };
        Ok(self.list_customer_notes(customer, &page).await?.items)
    }

    // ------------------------------------------------------------------------------------------
    // field definitions

    /// Defines a custom field (its key must be new). Without a position it goes last.
    pub async fn create_customer_field(
        &self,
        def: &FieldDef,
        position: Option<i64>,
        now: Timestamp,
    ) -> Result<CustomerField> {
        def.validate().map_err(invalid)?;
        let existing = self.customer_fields().await?;
        if existing.len() >= MAX_CUSTOM_FIELDS {
            return Err(StoreError::Invalid(format!("at most {MAX_CUSTOM_FIELDS} custom fields can be defined")));
        }
        let position = position.unwrap_or_else(|| existing.iter().map(|f| f.position + 1).max().unwrap_or(0));
        let id = FieldDefId::from_uuid(new_uuid());
        sqlx::query(&format!("INSERT INTO customer_fields ({FIELD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(id.to_string())
            .bind(&def.key)
            .bind(def.label.trim())
            .bind(def.kind.as_str())
            .bind(to_json(&def.options)?)
            .bind(i64::from(def.required))
            .bind(position)
            .bind(now.as_millis())
            .execute(self.pool())
            .await
            .map_err(|e| {
                constraint_error(
                    e,
                    |_| StoreError::Conflict(format!("a customer field with key `{}` already exists", def.key)),
                    |c| StoreError::Invalid(c.to_owned()),
                )
            })?;
        self.customer_field(id).await
    }

    /// A field definition by id.
    pub async fn customer_field(&self, id: FieldDefId) -> Result<CustomerField> {
        let row = sqlx::query(&format!("SELECT {FIELD_COLS} FROM customer_fields WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "customer field", id: id.to_string() })?;
        field_from_row(&row)
    }

    /// Every field definition, by position then key.
    pub async fn customer_fields(&self) -> Result<Vec<CustomerField>> {
        let rows = sqlx::query(&format!("SELECT {FIELD_COLS} FROM customer_fields ORDER BY position, key"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(field_from_row).collect()
    }

    /// The definitions alone, for checking values.
    pub(crate) async fn field_defs(&self) -> Result<Vec<FieldDef>> {
        Ok(self.customer_fields().await?.into_iter().map(|f| f.def).collect())
    }

    /// Changes a field definition (label, options, required, position). Values customers
    /// already have are kept; they are checked again when next changed.
    pub async fn update_customer_field(&self, id: FieldDefId, patch: &CustomerFieldPatch) -> Result<CustomerField> {
        let current = self.customer_field(id).await?;
        let def = FieldDef {
            key: current.def.key.clone(),
            label: patch.label.clone().unwrap_or(current.def.label),
            kind: current.def.kind,
            options: patch.options.clone().unwrap_or(current.def.options),
            required: patch.required.unwrap_or(current.def.required),
        };
        def.validate().map_err(invalid)?;
        sqlx::query("UPDATE customer_fields SET label = $1, options = $2, required = $3, position = $4 WHERE id = $5")
            .bind(def.label.trim())
            .bind(to_json(&def.options)?)
            .bind(i64::from(def.required))
            .bind(patch.position.unwrap_or(current.position))
            .bind(id.to_string())
            .execute(self.pool())
            .await?;
        self.customer_field(id).await
    }

    /// Removes a field definition; customers' stored values for it are dropped on their next
    /// change.
    pub async fn delete_customer_field(&self, id: FieldDefId) -> Result<()> {
        let n = sqlx::query("DELETE FROM customer_fields WHERE id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "customer field", id: id.to_string() });
        }
        Ok(())
    }
}
