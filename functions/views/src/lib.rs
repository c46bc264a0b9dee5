//! The `views` function: what people in a course see of the tool's records.
//!
//! - **Course staff** (instructors, TAs, administrators) land here from a launch: the resource
//!   link's attempts with each learner's name (or a neutral label when the platform sent
//!   none), score and grade delivery status; class statistics that leave out Transient and
//!   TestUser attempts (shown apart); a CSV download; resending one or every failed grade
//!   through the outcomes pipeline; and, when the launch granted Names and Roles, the learners
//!   of the course who have not launched yet.
//! - **Learners** see their own attempts on the resource and nothing about anyone else.
//!
//! Every request is a form POST carrying the `lti_session` the launch issued, and everything
//! shown is bound to that session's platform, resource link and context: no request names
//! another course, resource or learner, so none can reach one. (A resend names a delivery,
//! which must belong to the session's resource link.)

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::adapters::ags_client::AgsClient;
use lti_shared::app::delivery::Deliverer;
use lti_shared::app::views::{AttemptLine, class_stats, neutral_label, not_launched};
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::Clock;
use lti_shared::domain::ids::DeliveryId;
use lti_shared::domain::outbox::DeliveryStatus;
use lti_shared::domain::roles::RoleMap;
use lti_shared::domain::tool::{ToolUrls, VIEWS_PATH};
use lti_shared::lti13::ags::Member;
use lti_shared::lti13::session::{self, SessionClaims, SessionError};
use lti_shared::ports::{
    CourseRecords, DataLifecycle, ExpiringItems, ItemKind, KeyStore, PlatformRegistry, StoreError,
};
use lti_shared::web::error::{Flow, PageRefusal, Surface, WebError, respond};
use lti_shared::web::http::{html_response, param, params, request_id, response};
use lti_shared::web::pages::render;
use lti_shared::web::pages::views::{LearnerView, RosterRow, RosterView, Row, StaffView, Stats};
use time::OffsetDateTime;

/// How long a fetched roster is shown before it is fetched again.
pub const ROSTER_CACHE: time::Duration = time::Duration::minutes(10);

/// The handler, holding the ports it uses.
pub struct Views {
    records: Arc<dyn CourseRecords>,
    items: Arc<dyn ExpiringItems>,
    registry: Arc<dyn PlatformRegistry>,
    lifecycle: Arc<dyn DataLifecycle>,
    keys: Arc<dyn KeyStore>,
    deliverer: Arc<Deliverer>,
    ags: Arc<AgsClient>,
    clock: Arc<dyn Clock>,
    tool: ToolUrls,
}

/// A refusal of the course views, answered by the one error edge.
fn page(refusal: PageRefusal, id: &str) -> Response<Body> {
    respond(&WebError::Page(refusal), id, Surface::Page)
}

/// A storage or key failure on a course view, answered by the one error edge.
fn unavailable(id: &str, error: &dyn std::fmt::Display) -> Response<Body> {
    respond(
        &WebError::unavailable(Flow::Views, "views: storage failure", error),
        id,
        Surface::Page,
    )
}

fn staff_only(id: &str) -> Response<Body> {
    page(PageRefusal::StaffOnly, id)
}

fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}%"))
}

/// A line as a table row.
fn row(line: &AttemptLine) -> Row {
    let (status, detail, resend) = match &line.delivery {
        None => (String::new(), String::new(), None),
        Some(d) => {
            let detail = match d.status {
                DeliveryStatus::Delivered => d.delivered_at.map(when).unwrap_or_default(),
                _ => d.last_error.clone().unwrap_or_default(),
            };
            let resend = (d.status != DeliveryStatus::Delivered).then(|| d.id.to_string());
            (d.status.as_str().to_owned(), detail, resend)
        }
    };
    Row {
        learner: line.learner.clone(),
        sis_id: line.sis_id.clone().unwrap_or_default(),
        attempt: line.attempt.key.attempt_id.to_string(),
        started: when(line.attempt.started_at),
        last_activity: when(line.attempt.last_activity_at),
        score: line
            .attempt
            .score
            .as_ref()
            .map(|s| format!("{} / {}", number(s.given), number(s.maximum)))
            .unwrap_or_default(),
        status,
        status_detail: detail,
        resend,
    }
}

/// The ports the course views use (their union is the views function's IAM policy).
pub struct ViewsParts {
    /// Links, attempts, users, contexts and grade deliveries.
    pub records: Arc<dyn CourseRecords>,
    /// The roster cache.
    pub items: Arc<dyn ExpiringItems>,
    /// Registrations (the roster is read with the platform's credentials).
    pub registry: Arc<dyn PlatformRegistry>,
    /// The CSV export's reads across a course (links of a context, deliveries of an attempt).
    pub lifecycle: Arc<dyn DataLifecycle>,
    /// The signing keys (session check, client assertions).
    pub keys: Arc<dyn KeyStore>,
    /// Resends go through the grade deliverer.
    pub deliverer: Arc<Deliverer>,
    /// The roster is read with the AGS/NRPS client (and its token cache).
    pub ags: Arc<AgsClient>,
    /// Now.
    pub clock: Arc<dyn Clock>,
}

impl Views {
    /// A handler over its ports, publishing URLs under `tool`.
    pub fn new(parts: ViewsParts, tool: ToolUrls) -> Self {
        Self {
            records: parts.records,
            items: parts.items,
            registry: parts.registry,
            lifecycle: parts.lifecycle,
            keys: parts.keys,
            deliverer: parts.deliverer,
            ags: parts.ags,
            clock: parts.clock,
            tool,
        }
    }

    /// Answers one request. Never fails: every outcome is a response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let id = request_id(&req);
        if req.method() != http::Method::POST {
            return page(PageRefusal::ViewsNotPosted, &id);
        }
        let form = params(&req);
        let token = param(&form, "lti_session").unwrap_or_default();
        let claims = match self.session(token).await {
            Ok(claims) => claims,
            Err(Some(error)) => {
                let refusal = match error {
                    SessionError::Expired | SessionError::NoDeployment => {
                        PageRefusal::ViewsSessionExpired
                    }
                    other => PageRefusal::ViewsSessionInvalid(other.to_string()),
                };
                return page(refusal, &id);
            }
            Err(None) => return unavailable(&id, &"the signing keys cannot be read"),
        };
        let staff = claims.roles.is_instructor();
        let path = req.uri().path();
        match path.strip_prefix(VIEWS_PATH) {
            Some("" | "/") if staff => self.staff(token, &claims, None, &id).await,
            Some("" | "/") => self.learner(&claims, &id).await,
            Some("/csv") if staff => self.csv(&claims, &id).await,
            Some("/resend") if staff => self.resend(token, &claims, &form, &id).await,
            Some("/roster") if staff => {
                let refresh = param(&form, "refresh") == Some("1");
                self.roster(token, &claims, refresh, &id).await
            }
            Some("/csv" | "/resend" | "/roster") => staff_only(&id),
            _ => page(PageRefusal::ViewNotFound, &id),
        }
    }

    /// The session, or `Err(Some(reason))` when it is refused, `Err(None)` when the keys
    /// cannot be read.
    async fn session(&self, token: &str) -> Result<SessionClaims, Option<SessionError>> {
        let keys = self.keys.signing_keys().await.map_err(|_| None)?;
        session::verify_for_tool(token, &keys, &self.tool.origin_string(), self.clock.now())
            .map_err(Some)
    }

    /// The resource's and course's titles.
    async fn titles(&self, claims: &SessionClaims) -> Result<(String, String), StoreError> {
        let link = self
            .records
            .resource_link(&claims.platform, &claims.resource_link_id)
            .await?;
        let resource = link
            .and_then(|l| l.title)
            .unwrap_or_else(|| claims.resource_link_id.to_string());
        let course = match &claims.context_id {
            Some(context) => self
                .records
                .context(&claims.platform, context)
                .await?
                .and_then(|c| c.title.or(c.label))
                .unwrap_or_else(|| context.to_string()),
            None => String::new(),
        };
        Ok((resource, course))
    }

    async fn staff(
        &self,
        token: &str,
        claims: &SessionClaims,
        notice: Option<&str>,
        id: &str,
    ) -> Response<Body> {
        let lines = match lti_shared::app::views::resource_lines(
            self.records.as_ref(),
            &claims.platform,
            &claims.resource_link_id,
        )
        .await
        {
            Ok(lines) => lines,
            Err(error) => return unavailable(id, &error),
        };
        let (resource, course) = match self.titles(claims).await {
            Ok(titles) => titles,
            Err(error) => return unavailable(id, &error),
        };
        let roster = match (&claims.context_id, claims.deployment_id.is_some()) {
            (Some(context), true) => self
                .records
                .context(&claims.platform, context)
                .await
                .ok()
                .flatten()
                .and_then(|c| c.memberships_url)
                .is_some(),
            _ => false,
        };
        let stats = class_stats(&lines);
        let any_failed = lines.iter().any(|l| {
            l.delivery
                .as_ref()
                .is_some_and(|d| matches!(d.status, DeliveryStatus::Failed | DeliveryStatus::Dead))
        });
        let (flagged, counted): (Vec<&AttemptLine>, Vec<&AttemptLine>) =
            lines.iter().partition(|l| l.excluded);
        html_response(
            200,
            render(&StaffView {
                resource: &resource,
                course: &course,
                session: token,
                notice,
                stats: Stats {
                    attempts: stats.attempts,
                    learners: stats.learners,
                    completed: stats.completed,
                    mean: percent(stats.mean),
                    median: percent(stats.median),
                },
                rows: counted.into_iter().map(row).collect(),
                flagged: flagged.into_iter().map(row).collect(),
                roster,
                any_failed,
            }),
        )
    }

    async fn learner(&self, claims: &SessionClaims, id: &str) -> Response<Body> {
        let Some(user) = &claims.user_id else {
            return page(PageRefusal::AnonymousLaunch, id);
        };
        let lines = match lti_shared::app::views::learner_lines(
            self.records.as_ref(),
            &claims.platform,
            &claims.resource_link_id,
            user,
        )
        .await
        {
            Ok(lines) => lines,
            Err(error) => return unavailable(id, &error),
        };
        let (resource, course) = match self.titles(claims).await {
            Ok(titles) => titles,
            Err(error) => return unavailable(id, &error),
        };
        html_response(
            200,
            render(&LearnerView {
                resource: &resource,
                course: &course,
                rows: lines.iter().map(row).collect(),
            }),
        )
    }

    async fn csv(&self, claims: &SessionClaims, id: &str) -> Response<Body> {
        let selection =
            lti_shared::app::export::Selection::ResourceLink(claims.resource_link_id.clone());
        let rows = match lti_shared::app::export::attempt_rows(
            self.records.as_ref(),
            self.lifecycle.as_ref(),
            &claims.platform,
            &selection,
        )
        .await
        {
            Ok(rows) => rows,
            Err(error) => return unavailable(id, &error),
        };
        tracing::info!(request_id = id, rows = rows.len(), "views: CSV downloaded");
        let mut out = response(
            200,
            "text/csv; charset=utf-8",
            "no-store",
            Body::Text(lti_shared::app::export::attempts_csv(&rows)),
        );
        let name = format!(
            "attempts-{}.csv",
            claims
                .resource_link_id
                .as_str()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .take(40)
                .collect::<String>()
        );
        if let Ok(value) = http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        {
            out.headers_mut()
                .insert(http::header::CONTENT_DISPOSITION, value);
        }
        out
    }

    async fn resend(
        &self,
        token: &str,
        claims: &SessionClaims,
        form: &[(String, String)],
        id: &str,
    ) -> Response<Body> {
        let lines = match lti_shared::app::views::resource_lines(
            self.records.as_ref(),
            &claims.platform,
            &claims.resource_link_id,
        )
        .await
        {
            Ok(lines) => lines,
            Err(error) => return unavailable(id, &error),
        };
        // Only deliveries of this resource link can be named.
        let ours: Vec<&lti_shared::domain::outbox::Delivery> =
            lines.iter().filter_map(|l| l.delivery.as_ref()).collect();
        let targets: Vec<DeliveryId> = if param(form, "all_failed") == Some("1") {
            ours.iter()
                .filter(|d| matches!(d.status, DeliveryStatus::Failed | DeliveryStatus::Dead))
                .map(|d| d.id.clone())
                .collect()
        } else {
            let named = param(form, "delivery").unwrap_or_default();
            match ours.iter().find(|d| d.id.as_str() == named) {
                Some(d) => vec![d.id.clone()],
                None => {
                    return page(PageRefusal::GradeNotFound, id);
                }
            }
        };
        let mut delivered = 0;
        for target in &targets {
            let result = match ours.iter().find(|d| &d.id == target).map(|d| d.status) {
                Some(DeliveryStatus::Pending) => self.deliverer.deliver(target).await.map(|_| ()),
                _ => self.deliverer.replay(target).await.map(|_| ()),
            };
            if let Err(error) = result {
                return unavailable(id, &error);
            }
            if let Ok(Some(d)) = self.records.delivery(target).await
                && d.status == DeliveryStatus::Delivered
            {
                delivered += 1;
            }
        }
        tracing::info!(
            request_id = id,
            resent = targets.len(),
            delivered,
            "views: grades resent"
        );
        let notice = format!(
            "Resent {} grade(s): {delivered} delivered, {} still waiting or refused (see the list).",
            targets.len(),
            targets.len() - delivered
        );
        self.staff(token, claims, Some(&notice), id).await
    }

    async fn roster(
        &self,
        token: &str,
        claims: &SessionClaims,
        refresh: bool,
        id: &str,
    ) -> Response<Body> {
        let no_roster = || page(PageRefusal::NoRoster, id);
        let Some(context) = &claims.context_id else {
            return no_roster();
        };
        let memberships_url = match self.records.context(&claims.platform, context).await {
            Ok(Some(c)) => match c.memberships_url {
                Some(url) => url,
                None => return no_roster(),
            },
            Ok(None) => return no_roster(),
            Err(error) => return unavailable(id, &error),
        };
        let cache_key = format!(
            "{}#{}",
            lti_shared::domain::record_key::scope_key(&claims.platform),
            lti_shared::domain::record_key::key_part(context.as_str())
        );
        let now = self.clock.now();
        let cached = if refresh {
            None
        } else {
            self.items
                .item(ItemKind::Roster, &cache_key, now)
                .await
                .ok()
                .flatten()
                .and_then(|text| serde_json::from_str::<(i64, Vec<Member>)>(&text).ok())
        };
        let (fetched, members) = match cached {
            Some((at, members)) => (
                OffsetDateTime::from_unix_timestamp(at).unwrap_or(now),
                members,
            ),
            None => match self.fetch_roster(claims, &memberships_url).await {
                Ok(members) => {
                    if let Ok(text) = serde_json::to_string(&(now.unix_timestamp(), &members))
                        && let Err(error) = self
                            .items
                            .put_item(ItemKind::Roster, &cache_key, &text, now + ROSTER_CACHE)
                            .await
                    {
                        tracing::warn!(request_id = id, %error, "views: roster not cached");
                    }
                    (now, members)
                }
                Err(message) => {
                    return page(PageRefusal::RosterUnavailable(message.to_string()), id);
                }
            },
        };
        let lines = match lti_shared::app::views::resource_lines(
            self.records.as_ref(),
            &claims.platform,
            &claims.resource_link_id,
        )
        .await
        {
            Ok(lines) => lines,
            Err(error) => return unavailable(id, &error),
        };
        let role_map = match &claims.platform {
            lti_shared::domain::model::PlatformScope::Lti13 {
                issuer, client_id, ..
            } => self
                .registry
                .platform(issuer, client_id)
                .await
                .ok()
                .flatten()
                .map(|r| r.options.role_map)
                .unwrap_or_default(),
            lti_shared::domain::model::PlatformScope::Lti11 { .. } => RoleMap::new(),
        };
        let learners = members
            .iter()
            .filter(|m| m.status.as_deref().is_none_or(|s| s == "Active"))
            .filter(|m| {
                let roles = lti_shared::domain::roles::Roles::from_claim(&m.roles, &role_map);
                roles.is_learner() && !roles.is_instructor() && !roles.excluded_from_statistics()
            })
            .count();
        let missing: Vec<RosterRow> = not_launched(&members, &lines, &role_map)
            .into_iter()
            .map(|m| RosterRow {
                name: m
                    .name
                    .clone()
                    .or_else(|| match (&m.given_name, &m.family_name) {
                        (Some(g), Some(f)) => Some(format!("{g} {f}")),
                        (g, f) => g.clone().or_else(|| f.clone()),
                    })
                    .unwrap_or_else(|| {
                        lti_shared::domain::ids::UserId::parse(m.user_id.clone())
                            .map(|u| neutral_label(&u))
                            .unwrap_or_else(|_| "Learner".to_owned())
                    }),
                sis_id: m.lis_person_sourcedid.clone().unwrap_or_default(),
            })
            .collect();
        let (resource, course) = match self.titles(claims).await {
            Ok(titles) => titles,
            Err(error) => return unavailable(id, &error),
        };
        html_response(
            200,
            render(&RosterView {
                resource: &resource,
                course: &course,
                session: token,
                members: missing,
                total: learners,
                fetched_at: &when(fetched),
            }),
        )
    }

    async fn fetch_roster(&self, claims: &SessionClaims, url: &str) -> Result<Vec<Member>, String> {
        let lti_shared::domain::model::PlatformScope::Lti13 {
            issuer, client_id, ..
        } = &claims.platform
        else {
            return Err("LTI 1.1 launches carry no roster service".into());
        };
        let registration = self
            .registry
            .platform(issuer, client_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the platform is no longer registered")?;
        let keys = self.keys.signing_keys().await.map_err(|e| e.to_string())?;
        self.ags
            .memberships(&registration, &keys, url)
            .await
            .map_err(|e| e.to_string())
    }
}

#[async_trait::async_trait]
impl lti_shared::web::serve::Handler for Views {
    async fn handle(&self, req: Request) -> Response<Body> {
        Views::handle(self, req).await
    }
}

impl Views {
    /// The handler as every deployment wires it: `deliverer` and `ags` (built by
    /// [`Ports::deliverer`] and [`Ports::ags_client`], sharing one token cache) and the
    /// records, roster cache, registry, lifecycle reads, keys and clock from `ports`.
    pub fn from_ports(
        ports: &Ports,
        deliverer: Arc<Deliverer>,
        ags: Arc<AgsClient>,
        tool: ToolUrls,
    ) -> Self {
        Self::new(
            ViewsParts {
                records: ports.store.clone(),
                items: ports.store.clone(),
                registry: ports.store.clone(),
                lifecycle: ports.store.clone(),
                keys: ports.keys.clone(),
                deliverer,
                ags,
                clock: ports.clock.clone(),
            },
            tool,
        )
    }
}
