//! The deep-linking picker (Deep Linking 2.0 §2.2, and LTI 1.1 Content-Item selection):
//! server-rendered, no script, so it works in the LMS's iframe under the tool's CSP. Its form
//! posts back to the deep-linking URL with the id of the request kept server-side (under
//! [`REQUEST_FIELD`] for LTI 1.3, [`CONTENT_ITEM_REQUEST_FIELD`] for LTI 1.1), the picked item
//! ids, and the button pressed.

use askama::Template;

/// The form field carrying the id of the stored LTI 1.3 deep-linking request.
pub const REQUEST_FIELD: &str = "dl_request";
/// The form field carrying the id of the stored LTI 1.1 Content-Item selection request.
pub const CONTENT_ITEM_REQUEST_FIELD: &str = "ci_request";
/// The form field carrying a picked item id (repeated for several).
pub const ITEM_FIELD: &str = "item";
/// The form field naming the button pressed: [`ACTION_SELECT`], [`ACTION_CANCEL`] or
/// [`ACTION_RETURN`].
pub const ACTION_FIELD: &str = "dl_action";
/// Return the picked items.
pub const ACTION_SELECT: &str = "select";
/// Return nothing: the user cancelled.
pub const ACTION_CANCEL: &str = "cancel";
/// Return to the platform from a picker that could offer nothing.
pub const ACTION_RETURN: &str = "return";

/// One catalog item as the picker shows it.
#[derive(Debug, Clone)]
pub struct PickerItem<'a> {
    /// The item id (the checkbox or radio value).
    pub id: &'a str,
    /// The title.
    pub title: &'a str,
    /// The description, if any.
    pub description: Option<&'a str>,
    /// "Graded out of N", for gradable items.
    pub grading: Option<String>,
}

/// The picker, or (with no items) the page that explains why there is nothing to pick.
#[derive(Template)]
#[template(path = "deep_link_picker.html")]
pub struct Picker<'a> {
    /// The headline.
    pub heading: &'a str,
    /// Why nothing can be picked (shown when `items` is empty).
    pub notice: &'a str,
    /// The deep-linking URL the form posts to.
    pub action: &'a str,
    /// The form field that carries the id: [`REQUEST_FIELD`] or
    /// [`CONTENT_ITEM_REQUEST_FIELD`].
    pub request_field: &'a str,
    /// The id of the stored request.
    pub request_key: &'a str,
    /// The items to pick from.
    pub items: Vec<PickerItem<'a>>,
    /// Checkboxes (several) or radio buttons (one).
    pub multiple: bool,
}
