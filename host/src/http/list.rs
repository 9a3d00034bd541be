//! Cursor-paginated lists: the `?cursor=&limit=` every list takes, and the page of items
//! with the cursor of the next one.

use serde::{Deserialize, Serialize};

use super::error;

/// `?cursor=&limit=` of list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page (empty: the first page).
    pub cursor: Option<String>,
    /// Items per page (default 50; values outside 1 to 500 are taken as the nearest).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A page of a list searched by name.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NamedPageQuery {
    /// The `next_cursor` of the previous page (empty: the first page).
    pub cursor: Option<String>,
    /// Items per page (default 50; values outside 1 to 500 are taken as the nearest).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only items whose name holds this text (any case).
    #[param(max_length = 200)]
    pub q: Option<String>,
}

impl NamedPageQuery {
    /// The page asked for.
    pub fn page(&self) -> PageQuery {
        PageQuery {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
    }

    /// The text names must hold, trimmed; none when empty.
    pub fn name(&self) -> Result<Option<&str>, error::ApiError> {
        let name = self.q.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.chars().count() > 200 || n.contains('\0')) {
            return Err(error::ApiError::new(
                error::ErrorCode::InvalidQuery,
                "q is at most 200 characters, none of them U+0000",
            ));
        }
        Ok(name)
    }
}

impl PageQuery {
    /// The limit, clamped.
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(50).clamp(1, crate::db::MAX_PAGE)
    }

    /// The cursor as a typed id.
    pub fn cursor<T: std::str::FromStr>(&self) -> Result<Option<T>, error::ApiError> {
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| {
                c.parse().map_err(|_| {
                    error::ApiError::new(
                        error::ErrorCode::InvalidCursor,
                        "the cursor is not one this API gave",
                    )
                })
            })
            .transpose()
    }
}

/// A page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Build a page; `cursor_of` gives the cursor of the last item when the page is full.
    pub fn new(items: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if items.len() as i64 == limit {
            items.last().map(cursor_of)
        } else {
            None
        };
        Self { items, next_cursor }
    }
}
