//! The HTTP edge: request parsing and responses, browser binding of a launch, LTI 1.1
//! Content-Item selection ([`content_item`]), the HTML pages,
//! the one error mapping ([`error`]), the route table ([`routes`]) and the Lambda serve wrapper
//! ([`serve`]). The only layer that knows `lambda_http`.

pub mod binding;
pub mod content_item;
pub mod error;
pub mod http;
pub mod pages;
pub mod picker;
pub mod routes;
pub mod serve;
