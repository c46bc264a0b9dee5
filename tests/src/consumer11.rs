//! A loopback LTI 1.1 tool consumer (an LMS reduced to Content-Item selection), for the browser
//! test of Content-Item Message 1.0 (`tests/content_item_browser.rs`).
//!
//! [`FakeConsumer::start`] binds `127.0.0.1:0` and serves:
//!
//! - `GET /course?selection=ID` ([`FakeConsumer::prepare_selection`]): a course page with an
//!   `<iframe id="tool" name="tool">` and a hidden form that posts the signed
//!   `ContentItemSelectionRequest` into it once the page has loaded, as Moodle's "Select
//!   content" dialog does: a cross-site form POST into the frame when the tool is served from
//!   another site;
//! - `POST /content-item-return?course=5&sesskey=…` ([`FakeConsumer::return_url`], a query like
//!   Moodle's, which the tool must sign): records what arrived ([`FakeConsumer::returns`]: the URL
//!   with its query, the raw form body and its fields) without verifying it (the tests verify
//!   it independently with oauthlib), and answers with a page saying how many items the
//!   `content_items` `@graph` held (`#received`, `0` when there was none) and the `lti_msg` or
//!   `lti_errormsg` (`#message`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request};
use tokio::net::TcpListener;

use crate::server::{Handler, Hangup, HttpResponse, Server, respond};

/// Where the consumer receives `ContentItemSelection` messages.
pub const RETURN_PATH: &str = "/content-item-return";
/// The query of the return URL.
pub const RETURN_QUERY: &str = "course=5&sesskey=k+1";

/// The largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// One `ContentItemSelection` the consumer received.
#[derive(Debug, Clone)]
pub struct ReturnedSelection {
    /// The URL it was posted to, as the consumer's public URL plus the request's path and query.
    pub url: String,
    /// The raw form body.
    pub body: String,
    /// The decoded form fields, in order.
    pub fields: Vec<(String, String)>,
}

impl ReturnedSelection {
    /// The first value of field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request to send into the course page's frame.
#[derive(Clone)]
struct Selection {
    tool_url: String,
    fields: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    selections: HashMap<String, Selection>,
    returns: Vec<ReturnedSelection>,
}

struct Shared {
    origin: String,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The running consumer. Dropping it stops the server.
pub struct FakeConsumer {
    shared: Arc<Shared>,
    server: Server<Shared>,
}

impl FakeConsumer {
    /// Binds `127.0.0.1:0` and serves.
    pub async fn start() -> FakeConsumer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port binds");
        let addr = listener.local_addr().expect("a bound address");
        let shared = Arc::new(Shared {
            origin: format!("http://{addr}"),
            state: Mutex::new(State::default()),
        });
        let server = Server::start(listener, Arc::clone(&shared));
        FakeConsumer { shared, server }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// The `content_item_return_url` to put in requests.
    pub fn return_url(&self) -> String {
        format!("{}{RETURN_PATH}?{RETURN_QUERY}", self.shared.origin)
    }

    /// Registers `fields` (a signed `ContentItemSelectionRequest`) to be posted to `tool_url`
    /// from a course page, and returns that page's URL.
    pub fn prepare_selection(&self, tool_url: &str, fields: Vec<(String, String)>) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.shared.lock().selections.insert(
            id.clone(),
            Selection {
                tool_url: tool_url.to_owned(),
                fields,
            },
        );
        format!("{}/course?selection={id}", self.shared.origin)
    }

    /// Every `ContentItemSelection` received, oldest first.
    pub fn returns(&self) -> Vec<ReturnedSelection> {
        self.shared.lock().returns.clone()
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn html(body: String) -> HttpResponse {
    respond(200, "text/html; charset=utf-8", body)
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

impl Shared {
    /// `GET /course?selection=ID`.
    fn course_page(&self, query: Option<&str>) -> HttpResponse {
        let id = query_pairs(query)
            .into_iter()
            .find(|(n, _)| n == "selection")
            .map(|(_, v)| v);
        let Some(selection) = id.and_then(|id| self.lock().selections.get(&id).cloned()) else {
            return respond(404, "text/plain", "no such selection");
        };
        let mut form = format!(
            "<form id=\"request\" method=\"post\" action=\"{}\" target=\"tool\" hidden>\n",
            escape_html(&selection.tool_url)
        );
        for (name, value) in &selection.fields {
            form.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape_html(name),
                escape_html(value)
            ));
        }
        form.push_str("</form>\n");
        html(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Fake LTI 1.1 consumer</title></head>\n<body>\
             <h1>Select content</h1>\n{form}\
             <iframe id=\"tool\" name=\"tool\" title=\"Tool\" \
             style=\"width:100%;height:600px\"></iframe>\n\
             <script>document.getElementById(\"request\").submit();</script>\n\
             </body></html>\n"
        ))
    }

    /// `POST /content-item-return`.
    fn receive(&self, path_and_query: &str, body: &[u8]) -> HttpResponse {
        let body = String::from_utf8_lossy(body).into_owned();
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let returned = ReturnedSelection {
            url: format!("{}{path_and_query}", self.origin),
            body,
            fields,
        };
        let items = returned
            .field("content_items")
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .and_then(|items| items["@graph"].as_array().map(Vec::len))
            .unwrap_or(0);
        let message = returned
            .field("lti_errormsg")
            .or_else(|| returned.field("lti_msg"))
            .unwrap_or_default()
            .to_owned();
        self.lock().returns.push(returned);
        html(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Content added</title></head>\n<body>\
             <h1 id=\"heading\">Content-Item selection received</h1>\
             <p id=\"received\">{items}</p><p id=\"message\">{}</p></body></html>\n",
            escape_html(&message)
        ))
    }
}

impl Handler for Shared {
    async fn handle(&self, request: Request<Incoming>) -> Result<HttpResponse, Hangup> {
        let (parts, body) = request.into_parts();
        let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
            return Ok(respond(400, "text/plain", "unreadable request body"));
        };
        let body = body.to_bytes();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        Ok(match (&parts.method, parts.uri.path()) {
            (&Method::GET, "/course") => self.course_page(parts.uri.query()),
            (&Method::POST, RETURN_PATH) => self.receive(&path_and_query, &body),
            _ => respond(404, "text/plain", "not found"),
        })
    }
}
