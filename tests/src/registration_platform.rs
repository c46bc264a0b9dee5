//! A platform's side of LTI Dynamic Registration 1.0 on loopback, shaped like Moodle's: an
//! OpenID configuration at `/mod/lti/openid-configuration.php` (issuer = this server's origin)
//! and a registration endpoint that checks the bearer registration token and the tool's
//! registration body, then answers with a client id and a deployment id. The token is single
//! use, as on real platforms; [`RegistrationPlatform::renew_token`] issues the next one (an
//! administrator starting the registration again, e.g. Moodle's re-registration). Every
//! registration call is recorded for the tests to inspect.
//!
//! For the browser tests it also serves the administrator's page that starts a registration
//! ([`RegistrationPlatform::admin_page_url`]): it opens the tool's registration URL in an iframe
//! or a window, records every `postMessage` it receives, and closes the frame or window on
//! `{subject: "org.imsglobal.lti.close"}` (LTI DR 1.0 §3.6).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Path of the OpenID configuration.
pub const CONFIGURATION_PATH: &str = "/mod/lti/openid-configuration.php";
/// The tool configuration claim.
pub const TOOL_CONFIGURATION: &str = "https://purl.imsglobal.org/spec/lti-tool-configuration";
/// Path of the administrator's page that starts a registration (browser tests).
pub const ADMIN_PAGE_PATH: &str = "/admin/tool/register.php";

/// The administrator's page: opens `registration` in an iframe or (on a click) a window, keeps
/// every message it receives in `window.received` (shown in `#received`), and closes the
/// frame or window on the close message, noting it in `#closed`.
fn admin_page(registration: &str, opener: Opener) -> String {
    // A JSON string is a JavaScript string literal; `<` escaped so it cannot end the script.
    let url = Value::from(registration)
        .to_string()
        .replace('<', "\\u003c");
    let opener_html = match opener {
        Opener::Iframe => format!(
            r#"<iframe id="tool" title="Tool registration" width="1000" height="640" src="{}"></iframe>"#,
            registration
                .replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
        ),
        Opener::Window => {
            r#"<button type="button" id="open">Register the tool</button>"#.to_owned()
        }
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Platform: register a tool</title></head>
<body>
<h1>Register an LTI Advantage tool</h1>
<p>Received: <span id="received">[]</span></p>
<p>Closed: <span id="closed">no</span></p>
{opener_html}
<script>
var registration = {url};
var frame = document.getElementById("tool");
var popup = null;
window.received = [];
window.addEventListener("message", function (event) {{
  var data = event.data;
  var from = "other";
  if (frame && event.source === frame.contentWindow) {{ from = "iframe"; }}
  if (popup && event.source === popup) {{ from = "window"; }}
  window.received.push({{
    subject: data && typeof data === "object" ? data.subject || null : null,
    origin: event.origin,
    from: from
  }});
  document.getElementById("received").textContent = JSON.stringify(window.received);
  if (data && data.subject === "org.imsglobal.lti.close") {{
    if (from === "window") {{ popup.close(); }}
    if (from === "iframe") {{ frame.remove(); frame = null; }}
    document.getElementById("closed").textContent = "yes";
  }}
}});
// Not `var open`: a global of that name would replace window.open.
var openButton = document.getElementById("open");
if (openButton) {{
  openButton.addEventListener("click", function () {{
    popup = window.open(registration, "tool-registration", "width=900,height=700");
  }});
}}
</script>
</body></html>
"#
    )
}

/// How the registration endpoint answers a well-formed registration with the right token.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this client id and, when given, this deployment id.
    Registered {
        /// `client_id`.
        client_id: String,
        /// `deployment_id` in the tool configuration of the answer.
        deployment_id: Option<String>,
    },
    /// This status with an OpenID DCR error body.
    Status(u16),
}

/// How the platform's administrator page opens the tool's registration URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener {
    /// In an iframe (`id="tool"`) on the page, as Canvas and Moodle do.
    Iframe,
    /// In a window the page opens with `window.open` (button `id="open"`).
    Window,
}

/// One call to the registration endpoint.
#[derive(Debug, Clone)]
pub struct RecordedRegistration {
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The JSON body.
    pub body: Value,
}

struct State {
    base: String,
    token: Mutex<String>,
    token_used: Mutex<bool>,
    configuration: Mutex<Option<Value>>,
    answer: Mutex<Answer>,
    registrations: Mutex<Vec<RecordedRegistration>>,
    configuration_fetches: Mutex<Vec<Option<String>>>,
}

/// The running platform. Dropping it stops the server.
pub struct RegistrationPlatform {
    /// `http://127.0.0.1:PORT`, also the issuer.
    pub base: String,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl Drop for RegistrationPlatform {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RegistrationPlatform {
    /// Starts a platform whose registration token is `token`, answering registrations with
    /// client id `client-1` and deployment `deployment-1`.
    pub async fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            base: base.clone(),
            token: Mutex::new(token.to_owned()),
            token_used: Mutex::new(false),
            configuration: Mutex::new(None),
            answer: Mutex::new(Answer::Registered {
                client_id: "client-1".into(),
                deployment_id: Some("deployment-1".into()),
            }),
            registrations: Mutex::new(Vec::new()),
            configuration_fetches: Mutex::new(Vec::new()),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&state)));
        Self {
            base,
            state,
            server,
        }
    }

    /// The `openid_configuration` URL to give the tool.
    pub fn configuration_url(&self) -> String {
        format!("{}{CONFIGURATION_PATH}", self.base)
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.base
    }

    /// The configuration document served unless replaced.
    pub fn default_configuration(&self) -> Value {
        default_configuration(&self.base)
    }

    /// Serves `document` as the OpenID configuration from now on.
    pub fn set_configuration(&self, document: Value) {
        *self.state.configuration.lock().unwrap() = Some(document);
    }

    /// Answers registrations this way from now on.
    pub fn answer_with(&self, answer: Answer) {
        *self.state.answer.lock().unwrap() = answer;
    }

    /// Issues a fresh single-use registration token: what the platform does each time an
    /// administrator starts a registration.
    pub fn renew_token(&self, token: &str) {
        *self.state.token.lock().unwrap() = token.to_owned();
        *self.state.token_used.lock().unwrap() = false;
    }

    /// The administrator's page that opens `register_url` (the tool's registration URL) with
    /// this platform's `openid_configuration` and current registration token, by `opener`.
    pub fn admin_page_url(&self, register_url: &str, opener: Opener) -> String {
        let mode = match opener {
            Opener::Iframe => "iframe",
            Opener::Window => "window",
        };
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("register", register_url)
            .append_pair("mode", mode)
            .finish();
        format!("{}{ADMIN_PAGE_PATH}?{query}", self.base)
    }

    /// Every registration call so far.
    pub fn registrations(&self) -> Vec<RecordedRegistration> {
        self.state.registrations.lock().unwrap().clone()
    }

    /// The `Authorization` header of every configuration fetch so far.
    pub fn configuration_fetches(&self) -> Vec<Option<String>> {
        self.state.configuration_fetches.lock().unwrap().clone()
    }
}

fn default_configuration(base: &str) -> Value {
    json!({
        "issuer": base,
        "token_endpoint": format!("{base}/mod/lti/token.php"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "jwks_uri": format!("{base}/mod/lti/certs.php"),
        "authorization_endpoint": format!("{base}/mod/lti/auth.php"),
        "registration_endpoint": format!("{base}/mod/lti/openid-registration.php"),
        "scopes_supported": [
            "https://purl.imsglobal.org/spec/lti-bo/scope/basicoutcome",
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
            "openid"
        ],
        "response_types_supported": ["id_token"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "moodle",
            "version": "4.5 (Build: 20250101)",
            "messages_supported": ["LtiResourceLink", "LtiDeepLinkingRequest"],
        }
    })
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(route(&state, request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn json_answer(status: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// What a registration body must carry (LTI DR 1.0 §3.5.2); the first missing member.
fn missing_member(body: &Value) -> Option<&'static str> {
    let tool = &body[TOOL_CONFIGURATION];
    [
        ("client_name", body["client_name"].is_string()),
        ("initiate_login_uri", body["initiate_login_uri"].is_string()),
        ("redirect_uris", body["redirect_uris"].is_array()),
        ("jwks_uri", body["jwks_uri"].is_string()),
        (
            "token_endpoint_auth_method",
            body["token_endpoint_auth_method"] == "private_key_jwt",
        ),
        (
            "response_types",
            body["response_types"] == json!(["id_token"]),
        ),
        ("domain", tool["domain"].is_string()),
        ("target_link_uri", tool["target_link_uri"].is_string()),
        ("messages", tool["messages"].is_array()),
    ]
    .into_iter()
    .find(|(_, ok)| !ok)
    .map(|(name, _)| name)
}

async fn route(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(body) = Limited::new(request.into_body(), 1024 * 1024)
        .collect()
        .await
    else {
        return json_answer(400, &json!({"error": "invalid_request"}));
    };
    let body = body.to_bytes();
    match (method, path.as_str()) {
        (Method::GET, CONFIGURATION_PATH) => {
            state
                .configuration_fetches
                .lock()
                .unwrap()
                .push(authorization);
            let document = state
                .configuration
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| default_configuration(&state.base));
            json_answer(200, &document)
        }
        (Method::POST, "/mod/lti/openid-registration.php") => {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            state
                .registrations
                .lock()
                .unwrap()
                .push(RecordedRegistration {
                    authorization: authorization.clone(),
                    body: body.clone(),
                });
            let mut used = state.token_used.lock().unwrap();
            let token = state.token.lock().unwrap().clone();
            if authorization.as_deref() != Some(&format!("Bearer {token}")) || *used {
                return json_answer(401, &json!({"error": "invalid_token"}));
            }
            if let Some(member) = missing_member(&body) {
                return json_answer(
                    400,
                    &json!({"error": "invalid_client_metadata", "error_description": member}),
                );
            }
            match state.answer.lock().unwrap().clone() {
                Answer::Registered {
                    client_id,
                    deployment_id,
                } => {
                    *used = true;
                    let mut answer = body.clone();
                    answer["client_id"] = client_id.into();
                    if let Some(deployment) = deployment_id {
                        answer[TOOL_CONFIGURATION]["deployment_id"] = deployment.into();
                    }
                    json_answer(200, &answer)
                }
                Answer::Status(status) => json_answer(status, &json!({"error": "server_error"})),
            }
        }
        (Method::GET, ADMIN_PAGE_PATH) => {
            let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            let (Some(register), Some(mode)) = (param("register"), param("mode")) else {
                return json_answer(400, &json!({"error": "register and mode are required"}));
            };
            let opener = if mode == "window" {
                Opener::Window
            } else {
                Opener::Iframe
            };
            let mut registration = match url::Url::parse(&register) {
                Ok(url) => url,
                Err(_) => return json_answer(400, &json!({"error": "register is not a URL"})),
            };
            let token = state.token.lock().unwrap().clone();
            registration
                .query_pairs_mut()
                .append_pair(
                    "openid_configuration",
                    &format!("{}{CONFIGURATION_PATH}", state.base),
                )
                .append_pair("registration_token", &token);
            Response::builder()
                .header(hyper::header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Full::new(Bytes::from(admin_page(
                    registration.as_str(),
                    opener,
                ))))
                .unwrap()
        }
        _ => json_answer(404, &json!({"error": "not_found"})),
    }
}
