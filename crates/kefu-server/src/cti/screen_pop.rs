//! The screen-pop (AG-3): what the desktop shows when a call rings — the customers the caller's
//! number belongs to (profile masked by role exactly as the customer API does, tier, tags),
//! their assets, their last five interactions (the customer timeline), their open work orders
//! with category paths. Built once per call, by indexed lookups only (the number's blind
//! index, then per-customer indexes), in a masked and a clear form; each viewer gets one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use kefu_core::service::customer::PhoneNumber;
use kefu_core::service::ticket::TicketStatus;
use kefu_core::{CategoryId, CustomerId};
use kefu_store::{Customer, PageRequest, SortOrder, TicketFilter, TicketSort};
use serde_json::{Value, json};
use tracing::warn;

use crate::extract::{PathId, Query};
use crate::routes::customer_parts::AssetView;
use crate::routes::customers::CustomerView;
use crate::routes::timeline::{TimelineQuery, timeline};
use crate::state::AppState;

/// Interactions from the timeline a screen-pop shows.
pub const RECENT: u32 = 5;
/// Open work orders a screen-pop lists at most (newest first).
pub const OPEN_ORDERS: u32 = 10;
/// How long category paths are reused before they are read again.
const CATEGORY_TTL: Duration = Duration::from_secs(30);

/// What the screen-pop knows about a caller, in both forms.
#[derive(Debug, Clone)]
pub struct CallerCard {
    /// `customer` and `also_matched` for viewers without `pii_read`.
    pub masked: Value,
    /// The same in clear.
    pub clear: Value,
    /// The customers shown (a clear view of them is audited).
    pub customers: Vec<CustomerId>,
}

impl CallerCard {
    /// The card of an unknown caller (or of a number that is not a phone number).
    pub fn unknown() -> CallerCard {
        let v = json!({ "customer": null, "also_matched": [] });
        CallerCard { masked: v.clone(), clear: v, customers: Vec::new() }
    }
}

/// Category paths (`投诉/产品质量/鲜花不新鲜`) by id, read at most every [`CATEGORY_TTL`]: the
/// tree is small and changes rarely, and a screen-pop should not read it per call.
#[derive(Default)]
pub struct CategoryPaths(Mutex<Option<(Instant, Paths)>>);

/// Category paths by id.
type Paths = Arc<HashMap<CategoryId, String>>;

impl CategoryPaths {
    async fn get(&self, state: &AppState) -> Paths {
        if let Ok(guard) = self.0.lock()
            && let Some((at, paths)) = guard.as_ref()
            && at.elapsed() < CATEGORY_TTL
        {
            return paths.clone();
        }
        let paths: Paths = match state.store.category_tree().await {
            Ok(tree) => Arc::new(tree.into_iter().map(|c| (c.id, c.path)).collect()),
            Err(e) => {
                warn!(error = %e, "category paths for a screen-pop could not be read");
                return Arc::default();
            }
        };
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some((Instant::now(), paths.clone()));
        }
        paths
    }
}

/// Looks the caller up and builds their card. A failed lookup is logged and shows the caller
/// as unknown: the call still rings.
pub async fn caller_card(state: &AppState, categories: &CategoryPaths, caller: Option<&str>) -> CallerCard {
    let Some(phone) = caller.and_then(|c| PhoneNumber::parse(c).ok()) else { return CallerCard::unknown() };
    let found = match state.store.customers_by_phone(&phone).await {
        Ok(found) => found,
        Err(e) => {
            warn!(error = %e, "screen-pop customer lookup failed");
            return CallerCard::unknown();
        }
    };
    let Some(first) = found.first() else { return CallerCard::unknown() };
    let (masked, clear) = match customer_detail(state, categories, first).await {
        Ok(detail) => detail,
        Err(e) => {
            warn!(error = %e.message, customer = %first.id, "screen-pop details could not be read");
            (json!(CustomerView::new(first, true)), json!(CustomerView::new(first, false)))
        }
    };
    let others: Vec<Value> =
        found.iter().skip(1).map(|c| json!({ "id": c.id, "name": c.name, "tier": c.tier, "tags": c.tags })).collect();
    CallerCard {
        masked: json!({ "customer": masked, "also_matched": others }),
        clear: json!({ "customer": clear, "also_matched": others }),
        customers: found.iter().map(|c| c.id).collect(),
    }
}

/// The first matched customer in full: profile, assets, recent interactions, open orders.
async fn customer_detail(
    state: &AppState,
    categories: &CategoryPaths,
    c: &Customer,
) -> Result<(Value, Value), crate::error::ApiError> {
    let assets = state.store.customer_assets(c.id).await?;
    let crate::extract::Json(recent) =
        timeline(State(state.clone()), PathId(c.id), Query(TimelineQuery { limit: Some(RECENT) })).await?;
    let filter = TicketFilter {
        customer: Some(c.id),
        statuses: vec![TicketStatus::New, TicketStatus::Assigned, TicketStatus::InProgress, TicketStatus::Pending],
        ..TicketFilter::default()
    };
    let page = PageRequest { limit: Some(OPEN_ORDERS), cursor: None };
    let orders = state.store.list_tickets(&filter, TicketSort::CreatedAt, SortOrder::Desc, &page).await?.items;
    let paths = if orders.is_empty() { Arc::default() } else { categories.get(state).await };
    let open: Vec<Value> = orders
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "number": t.number,
                "status": t.status,
                "priority": t.priority,
                "type": t.ticket_type,
                "summary": t.summary,
                "category": paths.get(&t.category_id),
                "created_at": t.created_at,
            })
        })
        .collect();
    let view = |masked: bool| {
        let mut v = json!(CustomerView::new(c, masked));
        if let Some(obj) = v.as_object_mut() {
            obj.insert("assets".into(), json!(assets.iter().map(|a| AssetView::new(a, masked)).collect::<Vec<_>>()));
            obj.insert("recent".into(), json!(recent.entries));
            obj.insert("open_orders".into(), json!(open));
        }
        v
    };
    Ok((view(true), view(false)))
}
