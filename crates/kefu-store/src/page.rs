//! Keyset paging: `?limit=&cursor=` where the cursor is the last id of the previous page.

use serde::Serialize;

/// Which page of a list to read.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    /// At most this many items (clamped to 1–500; default 50).
    pub limit: Option<u32>,
    /// Start after this cursor (from the previous page's `next_cursor`).
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The largest page a caller may ask for.
    pub const MAX_LIMIT: u32 = 500;
    /// The page size when none is given.
    pub const DEFAULT_LIMIT: u32 = 50;

    /// The effective limit.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT).clamp(1, Self::MAX_LIMIT)
    }

    /// The cursor, or the empty string (which sorts before every id).
    pub fn after(&self) -> &str {
        self.cursor.as_deref().unwrap_or("")
    }
}

/// One page of results.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// Pass this as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only signals that
    /// another page exists.
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(cursor_of) } else { None };
        Page { items: rows, next_cursor }
    }
}
