//! The course views' HTML pages (askama, auto-escaped, no external resources; they work
//! inside an LMS iframe). Every action is a form POST carrying the launch session, so the
//! views need no cookie.

use askama::Template;

/// One attempt, formatted for a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Display name or neutral label.
    pub learner: String,
    /// The SIS id, or empty.
    pub sis_id: String,
    /// The attempt id.
    pub attempt: String,
    /// When it started.
    pub started: String,
    /// Last activity.
    pub last_activity: String,
    /// "7 / 10", or empty.
    pub score: String,
    /// The latest grade delivery's status, or empty.
    pub status: String,
    /// When it was delivered, or the last error.
    pub status_detail: String,
    /// The delivery id, when a resend is possible.
    pub resend: Option<String>,
}

/// Class statistics, formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Attempts counted.
    pub attempts: usize,
    /// Learners counted.
    pub learners: usize,
    /// Completed attempts.
    pub completed: usize,
    /// Mean score, e.g. "72.5%", or "–".
    pub mean: String,
    /// Median score, or "–".
    pub median: String,
}

/// The instructor's view of a resource's attempts.
#[derive(Template)]
#[template(path = "views_staff.html")]
pub struct StaffView<'a> {
    /// The resource link's title.
    pub resource: &'a str,
    /// The course.
    pub course: &'a str,
    /// The launch session, posted back with every action.
    pub session: &'a str,
    /// A message about the last action.
    pub notice: Option<&'a str>,
    /// Class statistics.
    pub stats: Stats,
    /// Attempts that count.
    pub rows: Vec<Row>,
    /// Transient and TestUser attempts.
    pub flagged: Vec<Row>,
    /// Whether the platform granted the course roster.
    pub roster: bool,
    /// Whether any grade can be resent.
    pub any_failed: bool,
}

/// A learner's own attempts.
#[derive(Template)]
#[template(path = "views_learner.html")]
pub struct LearnerView<'a> {
    /// The resource link's title.
    pub resource: &'a str,
    /// The course.
    pub course: &'a str,
    /// Their attempts.
    pub rows: Vec<Row>,
}

/// One member of the roster who has not launched yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// Name or neutral label.
    pub name: String,
    /// SIS id, or empty.
    pub sis_id: String,
}

/// The learners who have not launched the resource yet.
#[derive(Template)]
#[template(path = "views_roster.html")]
pub struct RosterView<'a> {
    /// The resource link's title.
    pub resource: &'a str,
    /// The course.
    pub course: &'a str,
    /// The launch session.
    pub session: &'a str,
    /// Learners who have not launched.
    pub members: Vec<RosterRow>,
    /// Learners on the roster.
    pub total: usize,
    /// When the roster was fetched.
    pub fetched_at: &'a str,
}
