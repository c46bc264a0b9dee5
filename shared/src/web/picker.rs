//! The activity picker's form post, shared by LTI 1.3 deep linking and LTI 1.1 Content-Item
//! selection: the same-site check, the pending request taken once, the chosen items and the
//! catalog they are looked up in.

use lambda_http::Request;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::domain::catalog::CatalogItem;
use crate::ports::{Catalog, ExpiringItems, ItemKind};
use crate::web::error::{Flow, PageRefusal, WebError};
use crate::web::http::{is_same_origin_post, param};
use crate::web::pages::deep_link::{ACTION_FIELD, ACTION_SELECT, ITEM_FIELD};

/// What the picker's form posted, once its pending request was taken.
#[derive(Debug)]
pub struct PickerPost<'a, R> {
    /// The pending request the picker was shown for (taken: it cannot be answered twice).
    pub request: R,
    /// The button pressed (`select` or `cancel`).
    pub action: &'a str,
    /// The ids of the items chosen.
    pub picked: Vec<&'a str>,
    /// The catalog, read only when items were chosen.
    pub catalog: Vec<CatalogItem>,
}

/// Reads the picker's post: refused unless it came from the tool's own page (`origin`), its
/// pending request (named by the form field `request_field`, stored as `kind`) is taken once.
#[allow(clippy::too_many_arguments)]
pub async fn take_picker_post<'a, R: DeserializeOwned>(
    req: &Request,
    origin: &str,
    params: &'a [(String, String)],
    request_field: &str,
    kind: ItemKind,
    items: &dyn ExpiringItems,
    catalog: &dyn Catalog,
    now: OffsetDateTime,
) -> Result<PickerPost<'a, R>, WebError> {
    // Only the tool's own picker page may submit a selection: a form from another site must
    // not be able to return content in someone's name.
    if !is_same_origin_post(req, origin) {
        return Err(PageRefusal::CrossSiteSelection.into());
    }
    let key = param(params, request_field).unwrap_or_default();
    let stored = items
        .take_item(kind, key, now)
        .await
        .map_err(|error| WebError::unavailable(Flow::DeepLink, "cannot read the request", &error))?
        .ok_or(PageRefusal::SelectionExpired)?;
    let request: R = serde_json::from_str(&stored).map_err(|error| {
        WebError::unavailable(Flow::DeepLink, "cannot read the stored request", &error)
    })?;
    let action = param(params, ACTION_FIELD).unwrap_or_default();
    let picked: Vec<&str> = params
        .iter()
        .filter(|(name, _)| name == ITEM_FIELD)
        .map(|(_, value)| value.as_str())
        .collect();
    let catalog = if action == ACTION_SELECT && !picked.is_empty() {
        catalog.catalog_items().await.map_err(|error| {
            WebError::unavailable(Flow::DeepLink, "cannot read the catalog", &error)
        })?
    } else {
        Vec::new()
    };
    Ok(PickerPost {
        request,
        action,
        picked,
        catalog,
    })
}
