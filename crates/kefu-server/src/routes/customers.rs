//! Customers (CRM-1): the list (by any form of a phone number, name prefix, tier, tag), create,
//! read, change, erase on request, and the CSV export. Phone, ID-card and account numbers are
//! masked (`138****5678`) for roles without `pii_read`; every response that shows them in
//! clear is written to the audit log (`customer.pii_read`, SEC-2/SEC-3), and masked values are
//! never accepted back. Assets, notes and custom field definitions are in `customer_parts.rs`.

use super::{ClientIp, audit_change, double_option};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kefu_core::service::customer::{CustomerTier, Gender, PhoneNumber};
use kefu_core::{CustomerId, Permission, Timestamp, UserId};
use kefu_store::{
    Customer, CustomerFilter, CustomerPatch, CustomerSort, NewCustomer, NewPhone, PageRequest, StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most rows one CSV export holds.
pub const MAX_EXPORT_ROWS: usize = 100_000;

/// Whether the caller sees personal numbers masked.
pub(crate) fn masked_for(p: &Principal) -> bool {
    !p.role.allows(Permission::PiiRead)
}

/// Writes the one audit entry of a request that showed personal values in clear: which
/// customers and which fields, never the values.
pub(crate) async fn audit_pii_read(
    state: &AppState,
    p: &Principal,
    ip: &str,
    target: String,
    customers: &[CustomerId],
    fields: &[&str],
) {
    if customers.is_empty() || fields.is_empty() {
        return;
    }
    let detail = serde_json::json!({ "customers": customers, "fields": fields });
    audit_change(state, p, ip, "customer.pii_read", target, detail).await;
}

/// One phone number as shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PhoneView {
    /// The normalised number (`13812345678`), or masked (`138****5678`).
    pub number: String,
    /// What it is (`mobile`, `home`, …; may be empty).
    pub label: String,
}

/// A customer as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    /// Unique id.
    pub id: CustomerId,
    /// Name (`(erased)` once erased).
    pub name: String,
    /// Tier.
    pub tier: CustomerTier,
    /// Phone numbers.
    pub phones: Vec<PhoneView>,
    /// E-mail address.
    pub email: Option<String>,
    /// PRC resident ID number, or masked (`110105********002X`).
    pub id_card: Option<String>,
    /// Birthday `YYYY-MM-DD`; masked as `--MM-DD` (month and day, for greetings).
    pub birthday: Option<String>,
    /// Sex.
    pub gender: Option<Gender>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom field values by key.
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
    /// When erased on request, if it was.
    pub erased_at: Option<Timestamp>,
    /// Whether phone, ID and birthday are masked for the caller.
    pub masked: bool,
}

impl CustomerView {
    /// The view of `c`, masked or not.
    pub fn new(c: &Customer, masked: bool) -> Self {
        CustomerView {
            id: c.id,
            name: c.name.clone(),
            tier: c.tier,
            phones: c
                .phones
                .iter()
                .map(|ph| PhoneView {
                    number: if masked { ph.number.mask() } else { ph.number.as_str().to_owned() },
                    label: ph.label.clone(),
                })
                .collect(),
            email: c.email.clone(),
            id_card: c.id_card.as_ref().map(|id| if masked { id.mask() } else { id.as_str().to_owned() }),
            birthday: c.birthday.map(|d| if masked { format!("--{:02}-{:02}", d.month, d.day) } else { d.to_string() }),
            gender: c.gender,
            tags: c.tags.clone(),
            custom: c.custom.clone(),
            created_by: c.created_by,
            created_at: c.created_at,
            updated_at: c.updated_at,
            erased_at: c.erased_at,
            masked,
        }
    }
}

/// Which personal fields `c` has (what a clear view of it reveals).
fn revealed_fields(c: &Customer, fields: &mut Vec<&'static str>) {
    for (has, name) in
        [(!c.phones.is_empty(), "phones"), (c.id_card.is_some(), "id_card"), (c.birthday.is_some(), "birthday")]
    {
        if has && !fields.contains(&name) {
            fields.push(name);
        }
    }
}

/// Views of `customers` for the caller; audits a clear read of any personal field.
async fn views(
    state: &AppState,
    p: &Principal,
    ip: &str,
    target: String,
    customers: &[Customer],
) -> (Vec<CustomerView>, bool) {
    let masked = masked_for(p);
    if !masked {
        let mut fields = Vec::new();
        for c in customers {
            revealed_fields(c, &mut fields);
        }
        let ids: Vec<CustomerId> = customers
            .iter()
            .filter(|c| !c.phones.is_empty() || c.id_card.is_some() || c.birthday.is_some())
            .map(|c| c.id)
            .collect();
        audit_pii_read(state, p, ip, target, &ids, &fields).await;
    }
    (customers.iter().map(|c| CustomerView::new(c, masked)).collect(), masked)
}

async fn view(state: &AppState, p: &Principal, ip: &str, c: &Customer) -> CustomerView {
    let (mut v, _) = views(state, p, ip, c.id.to_string(), std::slice::from_ref(c)).await;
    v.remove(0)
}

/// A page of customers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CustomerPage {
    /// The customers.
    pub items: Vec<CustomerView>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Whether personal numbers are masked for the caller.
    pub masked: bool,
}

/// The order of the customer list.
#[derive(Clone, Copy, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortParam {
    /// Newest first.
    #[default]
    Newest,
    /// By name.
    Name,
}

/// Filters, sort and page of the customer list (and the CSV export).
#[derive(Deserialize, utoipa::IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    /// Customers with this phone number, in any accepted form (`+86 138…`, `sip:…`, `010-…`).
    pub phone: Option<String>,
    /// Name starts with this text.
    pub q: Option<String>,
    /// Of this tier.
    pub tier: Option<CustomerTier>,
    /// With this tag.
    pub tag: Option<String>,
    /// `newest` (default) or `name`.
    pub sort: Option<SortParam>,
    /// Customers per page, 1–500 (default 50); for the export, most rows (default and most 100,000).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl CustomersQuery {
    fn filter(&self) -> Result<CustomerFilter, ApiError> {
        let phone = match self.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => Some(PhoneNumber::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?),
            None => None,
        };
        let text = |v: &Option<String>, what: &str| -> Result<Option<String>, ApiError> {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(t) if t.chars().count() > 100 => Err(ApiError::bad_request(format!("`{what}` is too long"))),
                other => Ok(other.map(str::to_owned)),
            }
        };
        Ok(CustomerFilter {
            name_prefix: text(&self.q, "q")?,
            tier: self.tier,
            tag: text(&self.tag, "tag")?,
            phone,
            sort: match self.sort.unwrap_or_default() {
                SortParam::Newest => CustomerSort::Newest,
                SortParam::Name => CustomerSort::Name,
            },
        })
    }
}

fn list_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    }
}

/// Lists customers; `?phone=` finds every customer with that number (the screen pop).
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", security(("bearer" = [])), params(CustomersQuery),
    responses((status = 200, body = CustomerPage), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Query(q): Query<CustomersQuery>,
) -> ApiResult<Json<CustomerPage>> {
    let filter = q.filter()?;
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    let found = state.store.list_customers(&filter, &page).await.map_err(list_error)?;
    let (items, masked) = views(&state, &p, &ip, "list".to_owned(), &found.items).await;
    Ok(Json(CustomerPage { items, next_cursor: found.next_cursor, masked }))
}

/// A phone number as given: a string, or a number with a label.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PhoneInput {
    /// Just the number, in any accepted form.
    Number(String),
    /// The number and what it is.
    Labelled {
        /// The number, in any accepted form.
        number: String,
        /// What it is (`mobile`, `home`, …).
        #[serde(default)]
        label: String,
    },
}

fn phones(input: Vec<PhoneInput>) -> Vec<NewPhone> {
    input
        .into_iter()
        .map(|p| match p {
            PhoneInput::Number(number) => NewPhone { number, label: String::new() },
            PhoneInput::Labelled { number, label } => NewPhone { number, label },
        })
        .collect()
}

/// A customer to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    /// Name (required).
    pub name: String,
    /// Tier (default `regular`).
    #[serde(default)]
    pub tier: CustomerTier,
    /// Phone numbers in any accepted form; stored normalised.
    #[serde(default)]
    pub phones: Vec<PhoneInput>,
    /// E-mail address.
    pub email: Option<String>,
    /// PRC resident ID number (checked; gives birthday and gender).
    pub id_card: Option<String>,
    /// Birthday `YYYY-MM-DD` (when there is no ID number).
    pub birthday: Option<String>,
    /// Sex (when there is no ID number).
    pub gender: Option<Gender>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Values of the defined custom fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
}

/// Creates a customer.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", security(("bearer" = [])), request_body = CreateCustomer,
    responses((status = 201, body = CustomerView), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(b): Json<CreateCustomer>,
) -> ApiResult<(StatusCode, Json<CustomerView>)> {
    let new = NewCustomer {
        name: b.name,
        tier: b.tier,
        phones: phones(b.phones),
        email: b.email,
        id_card: b.id_card,
        birthday: b.birthday,
        gender: b.gender,
        tags: b.tags,
        custom: b.custom,
        created_by: Some(p.id),
    };
    let c = state.store.create_customer(&new, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &p, &ip, &c).await)))
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id")),
    responses((status = 200, body = CustomerView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<CustomerId>,
) -> ApiResult<Json<CustomerView>> {
    let c = state.store.customer(id).await?;
    Ok(Json(view(&state, &p, &ip, &c).await))
}

/// Changes to a customer: absent fields stay, `null` clears.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    /// New name.
    pub name: Option<String>,
    /// New tier.
    pub tier: Option<CustomerTier>,
    /// Replaces every phone number.
    pub phones: Option<Vec<PhoneInput>>,
    /// New e-mail, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// New ID number, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub id_card: Option<Option<String>>,
    /// New birthday, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub birthday: Option<Option<String>>,
    /// New sex, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Gender>)]
    pub gender: Option<Option<Gender>>,
    /// Replaces the tags.
    pub tags: Option<Vec<String>>,
    /// Custom values merged into the current ones (`null` removes one).
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Map<String, Value>>,
}

/// Changes a customer. Masked values (`138****5678`) are refused with 422.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id")), request_body = UpdateCustomer,
    responses((status = 200, body = CustomerView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<CustomerId>,
    Json(b): Json<UpdateCustomer>,
) -> ApiResult<Json<CustomerView>> {
    let patch = CustomerPatch {
        name: b.name,
        tier: b.tier,
        phones: b.phones.map(phones),
        email: b.email,
        id_card: b.id_card,
        birthday: b.birthday,
        gender: b.gender,
        tags: b.tags,
        custom: b.custom,
    };
    let c = state.store.update_customer(id, &patch, state.clock.now()).await?;
    Ok(Json(view(&state, &p, &ip, &c).await))
}

/// De-identifies a customer on request (the right to erasure): name, numbers, e-mail, ID,
/// tags, custom values, notes and asset numbers are removed; the id stays so work orders
/// keep their customer. Needs `pii_read` and `customers_write`; audited (`customer.erase`).
#[utoipa::path(post, path = "/api/v1/customers/{id}/erase", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id")),
    responses((status = 200, body = CustomerView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn erase(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<CustomerId>,
) -> ApiResult<Json<CustomerView>> {
    p.require(Permission::CustomersWrite)?;
    let c = state.store.erase_customer(id, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "customer.erase", id.to_string(), serde_json::json!({})).await;
    Ok(Json(CustomerView::new(&c, masked_for(&p))))
}

/// The customers matching the list's filters as CSV (header row first), numbers masked unless
/// the caller holds `pii_read`. Written to the audit log (`customer.export`).
#[utoipa::path(get, path = "/api/v1/customers/export.csv", tag = "customers", security(("bearer" = [])), params(CustomersQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn export_csv(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Query(q): Query<CustomersQuery>,
) -> ApiResult<Response> {
    if q.cursor.is_some() {
        return Err(ApiError::bad_request("the export takes no cursor; it returns every matching customer"));
    }
    let filter = q.filter()?;
    let max = q.limit.map_or(MAX_EXPORT_ROWS, |l| (l as usize).clamp(1, MAX_EXPORT_ROWS));
    let masked = masked_for(&p);
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ApiError::internal(&e);
    w.write_record(["id", "name", "tier", "phones", "email", "id_card", "birthday", "gender", "tags", "created_at"])
        .map_err(csv_err)?;
    let mut rows = 0usize;
    let mut cursor = None;
    loop {
        let limit = u32::try_from((max - rows).min(PageRequest::MAX_LIMIT as usize)).unwrap_or(PageRequest::MAX_LIMIT);
        let page = state.store.list_customers(&filter, &PageRequest { limit: Some(limit), cursor }).await;
        let page = page.map_err(list_error)?;
        for c in &page.items {
            let v = CustomerView::new(c, masked);
            let phones: Vec<&str> = v.phones.iter().map(|ph| ph.number.as_str()).collect();
            w.write_record([
                v.id.to_string().as_str(),
                &v.name,
                v.tier.as_str(),
                &phones.join(";"),
                v.email.as_deref().unwrap_or(""),
                v.id_card.as_deref().unwrap_or(""),
                v.birthday.as_deref().unwrap_or(""),
                v.gender.map_or("", Gender::as_str),
                &v.tags.join(";"),
                &v.created_at.to_iso8601(),
            ])
            .map_err(csv_err)?;
        }
        rows += page.items.len();
        match page.next_cursor {
            Some(next) if rows < max => cursor = Some(next),
            _ => break,
        }
    }
    let body = w.into_inner().map_err(|e| ApiError::internal(&e))?;
    let detail = serde_json::json!({ "rows": rows, "masked": masked, "query": {
        "phone": q.phone.is_some(), "q": q.q, "tier": q.tier, "tag": q.tag,
    }});
    audit_change(&state, &p, &ip, "customer.export", format!("{rows} customers"), detail).await;
    Ok(super::csv_response("attachment; filename=\"customers.csv\"", body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::service::calendar::Date;
    use kefu_core::service::customer::IdCardNumber;
    use kefu_store::CustomerPhone;

    #[test]
    fn views_mask_every_personal_number() {
        let c = Customer {
            id: CustomerId::from_uuid(kefu_store::new_uuid()),
            name: "Zhang".into(),
            tier: CustomerTier::Vip,
            phones: vec![CustomerPhone { number: PhoneNumber::parse("13812345678").unwrap(), label: "m".into() }],
            email: None,
            id_card: Some(IdCardNumber::parse("11010519491231002X").unwrap()),
            birthday: Date::new(1949, 12, 31),
            gender: Some(Gender::Female),
            tags: vec![],
            custom: Map::new(),
            created_by: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            erased_at: None,
        };
        let m = CustomerView::new(&c, true);
        assert_eq!(m.phones[0].number, "138****5678");
        assert_eq!(m.id_card.as_deref(), Some("110105********002X"));
        assert_eq!(m.birthday.as_deref(), Some("--12-31"));
        assert!(m.masked);
        let clear = CustomerView::new(&c, false);
        assert_eq!(clear.phones[0].number, "13812345678");
        assert_eq!(clear.id_card.as_deref(), Some("11010519491231002X"));
        assert_eq!(clear.birthday.as_deref(), Some("1949-12-31"));
        assert!(!clear.masked);
        let mut fields = Vec::new();
        revealed_fields(&c, &mut fields);
        assert_eq!(fields, ["phones", "id_card", "birthday"]);
    }
}
