//! The user's roles in a launch, for LTI 1.3 and LTI 1.1 alike.
//!
//! Platforms describe roles in many spellings: LIS v2 URIs (LTI Core 1.3 §5.3.7 and
//! appendix A.2), the deprecated short names of context roles (A.2.3), context sub-roles
//! (A.2.3.1), the LTI `TestUser` marker (A.2.4), and LTI 1.1's comma-separated list of
//! `urn:lti:{role,instrole,sysrole}:ims/lis/...` URNs, abbreviated context roles and the
//! `urn:lti:role:ims/lti/Transient` marker. This module reads all of them into one [`Roles`]
//! value of normalized [`Role`]s, so the rest of the tool asks questions such as
//! [`Roles::is_instructor`] and never compares role strings itself.
//!
//! Rules that hold throughout:
//!
//! - **Unknown roles are ignored.** A role outside the vocabularies (a platform's own URI, a
//!   misspelling, a sub-role the vocabulary does not list) is dropped without error: LTI Core
//!   1.3 §5.3.7 lets platforms send roles from other vocabularies, and tools are expected to
//!   skip what they do not recognise. When a platform's own role matters, an operator adds a
//!   per-platform override ([`RoleMap`]) instead.
//! - **Case.** LIS v2 and LTI URIs (`http://purl.imsglobal.org/vocab/...`) are matched exactly,
//!   as URIs are case-sensitive and LTI 1.3 platforms copy them from the specification. Short
//!   names (`Instructor`, `instructor`) and LTI 1.1 URNs are matched ignoring ASCII case: the
//!   `urn:` scheme and namespace are case-insensitive (RFC 8141 §3.1), LTI 1.1 consumers are
//!   known to send lower-case short names (Sakai's legacy role map lists `learner` and
//!   `instructor` for that reason), and no two vocabulary terms differ only in case, so the
//!   leniency cannot confuse one role with another.
//! - **Context roles decide what a user may do in the course.** Institution and system roles
//!   describe the person at the institution, not in this course: a faculty member enrolled as a
//!   learner in a staff-training course is a learner there. Only *administrator* institution
//!   and system roles grant anything (they are treated as instructors, as Sakai does by sending
//!   both roles to its super users). A platform that sends only institution roles for course
//!   staff (Open edX sends `institution/person#Instructor`) needs an override mapping that URI
//!   to `Instructor`.
//! - **Nothing personal.** A [`Roles`] value holds only vocabulary terms, so it may go into a
//!   session token and into logs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Per-platform role overrides: a role string exactly as the platform sends it, mapped to the
/// role string the tool should read instead (any form [`parse_role`] accepts), or to an empty
/// string to drop that role.
///
/// This is the idea behind Sakai's `lti.inbound.role.map`: a platform with its own role names
/// (Sakai's `maintain`/`access`, `Teaching Assistant` with a space) or a non-standard role URI
/// can be made to work without code changes. It is stored per registration in
/// [`PlatformOptions::role_map`](crate::domain::model::PlatformOptions::role_map).
///
/// Overrides apply to the whole role string before it is interpreted, once (a target is not
/// looked up in the map again), and may also replace a standard role, for example to drop an
/// `Administrator` role a platform hands out too freely. Keys are compared with the role string
/// after surrounding whitespace is trimmed, exactly (case-sensitively).
pub type RoleMap = BTreeMap<String, String>;

/// Where a [`Role`] comes from in the LIS v2 / LTI role vocabularies (LTI Core 1.3 A.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleScope {
    /// A role in the launch's context (course): A.2.3, including sub-roles (A.2.3.1).
    Context,
    /// A role the person holds at the institution: A.2.2.
    Institution,
    /// A role the person holds in the platform as a system: A.2.1.
    System,
    /// A marker saying something about the user rather than granting anything: the LTI
    /// `TestUser` role (A.2.4) and LTI 1.1's `Transient` role.
    Marker,
}

/// One normalized role.
///
/// Context sub-roles (LTI Core 1.3 A.2.3.1) are folded into their principal role, because by
/// best practice a platform sends the principal role alongside them and the tool decides by
/// principal role. The exception is the teaching assistant, which the tool tells apart:
/// `membership/Instructor#TeachingAssistant` (and its `TeachingAssistant…` siblings) become
/// [`Role::TeachingAssistant`], which counts as an instructor. A sub-role belongs to the
/// principal role named in its path, whatever the sub-role is called:
/// `membership/Learner#Instructor` is a learner.
///
/// [`Role::as_str`] gives a stable name (`Instructor`, `institution/Faculty`,
/// `system/SysAdmin`, `TestUser`…) that is also the serde form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Context `Administrator` (A.2.3), or one of its sub-roles.
    Administrator,
    /// Context `ContentDeveloper` (A.2.3), or one of its sub-roles.
    ContentDeveloper,
    /// Context `Instructor` (A.2.3), or one of its sub-roles other than the teaching assistants.
    Instructor,
    /// A teaching assistant: the `Instructor#TeachingAssistant…` sub-roles (A.2.3.1), or LTI
    /// 1.1's `TeachingAssistant` context role, which LIS v2 later made an Instructor sub-role.
    TeachingAssistant,
    /// Context `Learner` (A.2.3), or one of its sub-roles (including `Learner#Instructor`).
    Learner,
    /// Context `Mentor` (A.2.3), or one of its sub-roles.
    Mentor,
    /// Context `Manager` (A.2.3, non-core), or one of its sub-roles.
    Manager,
    /// Context `Member` (A.2.3, non-core).
    Member,
    /// Context `Officer` (A.2.3, non-core), or one of its sub-roles.
    Officer,
    /// Institution `Administrator` (A.2.2).
    InstitutionAdministrator,
    /// Institution `Faculty` (A.2.2).
    InstitutionFaculty,
    /// Institution `Guest` (A.2.2).
    InstitutionGuest,
    /// Institution `None` (A.2.2).
    InstitutionNone,
    /// Institution `Other` (A.2.2).
    InstitutionOther,
    /// Institution `Staff` (A.2.2).
    InstitutionStaff,
    /// Institution `Student` (A.2.2).
    InstitutionStudent,
    /// Institution `Alumni` (A.2.2, non-core).
    InstitutionAlumni,
    /// Institution `Instructor` (A.2.2, non-core).
    InstitutionInstructor,
    /// Institution `Learner` (A.2.2, non-core).
    InstitutionLearner,
    /// Institution `Member` (A.2.2, non-core).
    InstitutionMember,
    /// Institution `Mentor` (A.2.2, non-core).
    InstitutionMentor,
    /// Institution `Observer` (A.2.2, non-core).
    InstitutionObserver,
    /// Institution `ProspectiveStudent` (A.2.2, non-core).
    InstitutionProspectiveStudent,
    /// System `Administrator` (A.2.1).
    SystemAdministrator,
    /// System `None` (A.2.1).
    SystemNone,
    /// System `AccountAdmin` (A.2.1, non-core).
    SystemAccountAdmin,
    /// System `Creator` (A.2.1, non-core).
    SystemCreator,
    /// System `SysAdmin` (A.2.1, non-core).
    SystemSysAdmin,
    /// System `SysSupport` (A.2.1, non-core).
    SystemSysSupport,
    /// System `User` (A.2.1, non-core).
    SystemUser,
    /// LTI's `http://purl.imsglobal.org/vocab/lti/system/person#TestUser` marker (A.2.4): a
    /// user the platform made for testing, typically an instructor's student-preview account.
    TestUser,
    /// LTI 1.1's `urn:lti:role:ims/lti/Transient` marker: at least one of the user's other
    /// roles is held only for this session (a teacher previewing as a student, an
    /// administrator visiting a course they are not enrolled in).
    Transient,
}

impl Role {
    /// Every role, in their sort order.
    pub const ALL: [Role; 32] = [
        Role::Administrator,
        Role::ContentDeveloper,
        Role::Instructor,
        Role::TeachingAssistant,
        Role::Learner,
        Role::Mentor,
        Role::Manager,
        Role::Member,
        Role::Officer,
        Role::InstitutionAdministrator,
        Role::InstitutionFaculty,
        Role::InstitutionGuest,
        Role::InstitutionNone,
        Role::InstitutionOther,
        Role::InstitutionStaff,
        Role::InstitutionStudent,
        Role::InstitutionAlumni,
        Role::InstitutionInstructor,
        Role::InstitutionLearner,
        Role::InstitutionMember,
        Role::InstitutionMentor,
        Role::InstitutionObserver,
        Role::InstitutionProspectiveStudent,
        Role::SystemAdministrator,
        Role::SystemNone,
        Role::SystemAccountAdmin,
        Role::SystemCreator,
        Role::SystemSysAdmin,
        Role::SystemSysSupport,
        Role::SystemUser,
        Role::TestUser,
        Role::Transient,
    ];

    /// The stable name used in session tokens, logs and JSON: the vocabulary term, prefixed
    /// with `institution/` or `system/` outside the context vocabulary.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::ContentDeveloper => "ContentDeveloper",
            Role::Instructor => "Instructor",
            Role::TeachingAssistant => "TeachingAssistant",
            Role::Learner => "Learner",
            Role::Mentor => "Mentor",
            Role::Manager => "Manager",
            Role::Member => "Member",
            Role::Officer => "Officer",
            Role::InstitutionAdministrator => "institution/Administrator",
            Role::InstitutionFaculty => "institution/Faculty",
            Role::InstitutionGuest => "institution/Guest",
            Role::InstitutionNone => "institution/None",
            Role::InstitutionOther => "institution/Other",
            Role::InstitutionStaff => "institution/Staff",
            Role::InstitutionStudent => "institution/Student",
            Role::InstitutionAlumni => "institution/Alumni",
            Role::InstitutionInstructor => "institution/Instructor",
            Role::InstitutionLearner => "institution/Learner",
            Role::InstitutionMember => "institution/Member",
            Role::InstitutionMentor => "institution/Mentor",
            Role::InstitutionObserver => "institution/Observer",
            Role::InstitutionProspectiveStudent => "institution/ProspectiveStudent",
            Role::SystemAdministrator => "system/Administrator",
            Role::SystemNone => "system/None",
            Role::SystemAccountAdmin => "system/AccountAdmin",
            Role::SystemCreator => "system/Creator",
            Role::SystemSysAdmin => "system/SysAdmin",
            Role::SystemSysSupport => "system/SysSupport",
            Role::SystemUser => "system/User",
            Role::TestUser => "TestUser",
            Role::Transient => "Transient",
        }
    }

    /// The role whose [`Role::as_str`] is exactly `name`.
    ///
    /// This reads the tool's own stable names back (from a session token); it is not a parser
    /// for what platforms send, which is [`parse_role`].
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Which vocabulary the role belongs to.
    pub fn scope(self) -> RoleScope {
        match self {
            Role::Administrator
            | Role::ContentDeveloper
            | Role::Instructor
            | Role::TeachingAssistant
            | Role::Learner
            | Role::Mentor
            | Role::Manager
            | Role::Member
            | Role::Officer => RoleScope::Context,
            Role::InstitutionAdministrator
            | Role::InstitutionFaculty
            | Role::InstitutionGuest
            | Role::InstitutionNone
            | Role::InstitutionOther
            | Role::InstitutionStaff
            | Role::InstitutionStudent
            | Role::InstitutionAlumni
            | Role::InstitutionInstructor
            | Role::InstitutionLearner
            | Role::InstitutionMember
            | Role::InstitutionMentor
            | Role::InstitutionObserver
            | Role::InstitutionProspectiveStudent => RoleScope::Institution,
            Role::SystemAdministrator
            | Role::SystemNone
            | Role::SystemAccountAdmin
            | Role::SystemCreator
            | Role::SystemSysAdmin
            | Role::SystemSysSupport
            | Role::SystemUser => RoleScope::System,
            Role::TestUser | Role::Transient => RoleScope::Marker,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable role name that [`Role::from_name`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a role name")]
pub struct UnknownRoleName(String);

impl FromStr for Role {
    type Err = UnknownRoleName;

    /// Reads a stable name ([`Role::as_str`]); see [`Role::from_name`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::from_name(s).ok_or_else(|| UnknownRoleName(s.to_owned()))
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    /// Strict: a session token is written by this tool, so an unknown name is an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Role::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown role name `{name}`")))
    }
}

/// What an override in a [`RoleMap`] turns a platform's role string into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleOverride {
    /// The target is empty (or only whitespace): the platform's role is dropped.
    Drop,
    /// The target is a recognised role: the platform's role is read as this one.
    Replace(Role),
}

/// Parses the target side of a [`RoleMap`] entry.
///
/// An empty target means "drop this role" ([`RoleOverride::Drop`]); anything else must be a
/// role [`parse_role`] recognises. `None` means the target is neither, which `ltictl` should
/// refuse when the override is configured; at launch time such an entry makes the role be
/// ignored, like any unknown role.
pub fn parse_override(target: &str) -> Option<RoleOverride> {
    let target = target.trim();
    if target.is_empty() {
        Some(RoleOverride::Drop)
    } else {
        parse_role(target).map(RoleOverride::Replace)
    }
}

/// Reads one role string in any form a platform may send, or `None` if it is not a role of
/// the LIS v2 / LTI vocabularies (surrounding whitespace is ignored).
///
/// Accepted forms (see the module documentation for the case rules):
///
/// - LIS v2 context roles `http://purl.imsglobal.org/vocab/lis/v2/membership#{Role}` and
///   sub-roles `…/membership/{Role}#{SubRole}` (LTI Core 1.3 A.2.3, A.2.3.1). Sakai's
///   `…/membership#{Role}#{SubRole}` spelling of a sub-role is read as the sub-role.
///   `…/membership#TeachingAssistant` is not in the v2 vocabulary but is read as a teaching
///   assistant, since it cannot mean anything else.
/// - Institution roles `…/lis/v2/institution/person#{Role}` (A.2.2) and system roles
///   `…/lis/v2/system/person#{Role}` (A.2.1); the deprecated `…/lis/v2/person#{Role}` is read
///   as an institution role, or a system role for the names only that vocabulary has.
/// - The LTI `TestUser` marker `http://purl.imsglobal.org/vocab/lti/system/person#TestUser`
///   (A.2.4).
/// - Short context role names such as `Instructor` or `TeachingAssistant` (A.2.3, deprecated
///   in 1.3 but the norm in LTI 1.1), and short sub-roles such as `Instructor/Lecturer`.
/// - LTI 1.1 URNs (LTI 1.1 Implementation Guide, the `roles` launch parameter and its LIS
///   role vocabularies): `urn:lti:role:ims/lis/{Role}[/{SubRole}]`,
///   `urn:lti:instrole:ims/lis/{Role}`, `urn:lti:sysrole:ims/lis/{Role}`, and the
///   `urn:lti:role:ims/lti/Transient` marker.
///
/// `ltictl` uses this (through [`parse_override`]) to refuse an override whose target is not
/// a recognised role.
pub fn parse_role(s: &str) -> Option<Role> {
    let s = s.trim();
    if s == LTI_TEST_USER {
        return Some(Role::TestUser);
    }
    if let Some(rest) = s.strip_prefix(LIS_MEMBERSHIP) {
        return match rest.split_once('#') {
            None => context_principal(rest, Case::Sensitive),
            Some((principal, sub)) => context_sub_role(principal, sub, Case::Sensitive),
        };
    }
    if let Some(rest) = s.strip_prefix(LIS_MEMBERSHIP_SUB_ROLE) {
        let (principal, sub) = rest.split_once('#')?;
        return context_sub_role(principal, sub, Case::Sensitive);
    }
    if let Some(name) = s.strip_prefix(LIS_INSTITUTION) {
        return lookup(INSTITUTION_ROLES, name, Case::Sensitive);
    }
    if let Some(name) = s.strip_prefix(LIS_SYSTEM) {
        return lookup(SYSTEM_ROLES, name, Case::Sensitive);
    }
    if let Some(name) = s.strip_prefix(LIS_DEPRECATED_PERSON) {
        return lookup(INSTITUTION_ROLES, name, Case::Sensitive)
            .or_else(|| lookup(SYSTEM_ROLES, name, Case::Sensitive));
    }
    if s.eq_ignore_ascii_case(URN_TRANSIENT) {
        return Some(Role::Transient);
    }
    if let Some(path) = strip_prefix_ignore_case(s, URN_CONTEXT) {
        return context_path(path);
    }
    if let Some(name) = strip_prefix_ignore_case(s, URN_INSTITUTION) {
        return lookup(INSTITUTION_ROLES, name, Case::Insensitive);
    }
    if let Some(name) = strip_prefix_ignore_case(s, URN_SYSTEM) {
        return lookup(SYSTEM_ROLES, name, Case::Insensitive);
    }
    if s.contains(':') {
        // Some other URI or URN: a vocabulary the tool does not know.
        return None;
    }
    context_path(s)
}

/// The roles a user has in a launch, normalized, without duplicates, in [`Role`] order.
///
/// Build it with [`Roles::from_claim`] (LTI 1.3) or [`Roles::from_lti11`] (LTI 1.1). It
/// serializes as a list of stable role names (`["Instructor","institution/Administrator"]`),
/// which is safe for session tokens and logs. An empty value is normal: LTI Core 1.3 §5.3.7.1
/// allows an empty roles claim, and it then answers `false` to every question.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Roles(BTreeSet<Role>);

impl Roles {
    /// Reads the LTI 1.3 roles claim (`https://purl.imsglobal.org/spec/lti/claim/roles`, LTI
    /// Core 1.3 §5.3.7), applying the platform's `overrides` to each value first.
    ///
    /// Each array element is one role; unknown roles are ignored.
    pub fn from_claim(values: &[String], overrides: &RoleMap) -> Self {
        values
            .iter()
            .filter_map(|value| read_one(value, overrides))
            .collect()
    }

    /// Reads LTI 1.1's `roles` launch parameter, a comma-separated list such as
    /// `Instructor, urn:lti:instrole:ims/lis/Administrator` (whitespace around items is
    /// ignored, empty items are skipped), applying the platform's `overrides` to each item
    /// first. Unknown roles are ignored.
    pub fn from_lti11(list: &str, overrides: &RoleMap) -> Self {
        list.split(',')
            .filter_map(|item| read_one(item, overrides))
            .collect()
    }

    /// The normalized roles, in [`Role`] order.
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    /// Whether the user has exactly this normalized role.
    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// Whether no role was recognised.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the user teaches this course: a context instructor, a teaching assistant, or
    /// any administrator (see [`Roles::is_administrator`]).
    ///
    /// Administrators count as instructors so that a tool view which only knows "teacher or
    /// student" works for them, as Sakai intends by sending both roles to its administrators;
    /// a view that must tell them apart asks [`Roles::is_administrator`].
    ///
    /// Content developers are **not** instructors. They build course material (Canvas maps its
    /// "Designer" course role to `ContentDeveloper`) but do not teach: instructor views show
    /// learners' attempts and grades, which a designer has no need to see. Where content
    /// developers belong with instructors, such as picking content in a deep-linking request,
    /// ask [`Roles::can_edit_content`].
    pub fn is_instructor(&self) -> bool {
        self.contains(Role::Instructor) || self.is_teaching_assistant() || self.is_administrator()
    }

    /// Whether the user is a teaching assistant (`membership/Instructor#TeachingAssistant…`
    /// in LTI 1.3, `TeachingAssistant` in LTI 1.1). Teaching assistants are also instructors.
    pub fn is_teaching_assistant(&self) -> bool {
        self.contains(Role::TeachingAssistant)
    }

    /// Whether the user is an administrator of the course, the institution or the system:
    /// context `Administrator`, institution `Administrator`, system `Administrator` or system
    /// `SysAdmin` (LTI Core 1.3 A.2.1–A.2.3). Other system roles (`AccountAdmin`,
    /// `SysSupport`, `Creator`) do not count.
    pub fn is_administrator(&self) -> bool {
        self.contains(Role::Administrator)
            || self.contains(Role::InstitutionAdministrator)
            || self.contains(Role::SystemAdministrator)
            || self.contains(Role::SystemSysAdmin)
    }

    /// Whether the user has the context `ContentDeveloper` role (or one of its sub-roles).
    pub fn is_content_developer(&self) -> bool {
        self.contains(Role::ContentDeveloper)
    }

    /// Whether the user may author the course's use of the tool: pick content in a
    /// deep-linking request, edit an activity's settings. True for instructors (so also
    /// teaching assistants and administrators) and content developers.
    pub fn can_edit_content(&self) -> bool {
        self.is_instructor() || self.is_content_developer()
    }

    /// Whether the user has the context `Learner` role (or one of its sub-roles, including
    /// `Learner#Instructor`). A user may be both a learner and an instructor.
    pub fn is_learner(&self) -> bool {
        self.contains(Role::Learner)
    }

    /// Whether the user has the context `Mentor` role (or one of its sub-roles).
    pub fn is_mentor(&self) -> bool {
        self.contains(Role::Mentor)
    }

    /// Whether the launch carries LTI 1.1's `Transient` marker: some of the user's roles are
    /// for this session only.
    pub fn is_transient(&self) -> bool {
        self.contains(Role::Transient)
    }

    /// Whether the launch carries LTI's `TestUser` marker (LTI Core 1.3 A.2.4), as in a
    /// teacher's student-preview mode.
    pub fn is_test_user(&self) -> bool {
        self.contains(Role::TestUser)
    }

    /// Whether this user's attempts are kept but left out of class statistics and learner
    /// lists: a transient or test user. Their other roles still apply, so a previewing
    /// teacher is still a learner who can take the activity.
    pub fn excluded_from_statistics(&self) -> bool {
        self.is_transient() || self.is_test_user()
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        Roles(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Roles {
    type Item = Role;
    type IntoIter = std::iter::Copied<std::collections::btree_set::Iter<'a, Role>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().copied()
    }
}

impl fmt::Display for Roles {
    /// The stable names, comma-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, role) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(role.as_str())?;
        }
        Ok(())
    }
}

/// Applies the override map to one raw role string, then parses it.
fn read_one(raw: &str, overrides: &RoleMap) -> Option<Role> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match overrides.get(raw) {
        Some(target) => match parse_override(target)? {
            RoleOverride::Drop => None,
            RoleOverride::Replace(role) => Some(role),
        },
        None => parse_role(raw),
    }
}

const LIS_MEMBERSHIP: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#";
const LIS_MEMBERSHIP_SUB_ROLE: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership/";
const LIS_INSTITUTION: &str = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#";
const LIS_SYSTEM: &str = "http://purl.imsglobal.org/vocab/lis/v2/system/person#";
const LIS_DEPRECATED_PERSON: &str = "http://purl.imsglobal.org/vocab/lis/v2/person#";
const LTI_TEST_USER: &str = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser";
const URN_CONTEXT: &str = "urn:lti:role:ims/lis/";
const URN_INSTITUTION: &str = "urn:lti:instrole:ims/lis/";
const URN_SYSTEM: &str = "urn:lti:sysrole:ims/lis/";
const URN_TRANSIENT: &str = "urn:lti:role:ims/lti/Transient";

/// Principal context roles (A.2.3), plus LTI 1.1's `TeachingAssistant`.
const CONTEXT_ROLES: &[(&str, Role)] = &[
    ("Administrator", Role::Administrator),
    ("ContentDeveloper", Role::ContentDeveloper),
    ("Instructor", Role::Instructor),
    ("Learner", Role::Learner),
    ("Mentor", Role::Mentor),
    ("Manager", Role::Manager),
    ("Member", Role::Member),
    ("Officer", Role::Officer),
    ("TeachingAssistant", Role::TeachingAssistant),
];

/// Institution roles (A.2.2; the same names as LTI 1.1's `urn:lti:instrole:ims/lis/`).
const INSTITUTION_ROLES: &[(&str, Role)] = &[
    ("Administrator", Role::InstitutionAdministrator),
    ("Faculty", Role::InstitutionFaculty),
    ("Guest", Role::InstitutionGuest),
    ("None", Role::InstitutionNone),
    ("Other", Role::InstitutionOther),
    ("Staff", Role::InstitutionStaff),
    ("Student", Role::InstitutionStudent),
    ("Alumni", Role::InstitutionAlumni),
    ("Instructor", Role::InstitutionInstructor),
    ("Learner", Role::InstitutionLearner),
    ("Member", Role::InstitutionMember),
    ("Mentor", Role::InstitutionMentor),
    ("Observer", Role::InstitutionObserver),
    ("ProspectiveStudent", Role::InstitutionProspectiveStudent),
];

/// System roles (A.2.1; the same names as LTI 1.1's `urn:lti:sysrole:ims/lis/`).
const SYSTEM_ROLES: &[(&str, Role)] = &[
    ("Administrator", Role::SystemAdministrator),
    ("None", Role::SystemNone),
    ("AccountAdmin", Role::SystemAccountAdmin),
    ("Creator", Role::SystemCreator),
    ("SysAdmin", Role::SystemSysAdmin),
    ("SysSupport", Role::SystemSysSupport),
    ("User", Role::SystemUser),
];

/// The sub-roles of each principal context role (A.2.3.1). LTI 1.1 had `TeachingAssistant`
/// as a principal role with the `TeachingAssistant…` names and `Grader` below it.
fn sub_roles(principal: Role) -> &'static [&'static str] {
    match principal {
        Role::Administrator => &[
            "Administrator",
            "Developer",
            "ExternalDeveloper",
            "ExternalSupport",
            "ExternalSystemAdministrator",
            "Support",
            "SystemAdministrator",
        ],
        Role::ContentDeveloper => &[
            "ContentDeveloper",
            "ContentExpert",
            "ExternalContentExpert",
            "Librarian",
        ],
        Role::Instructor => &[
            "ExternalInstructor",
            "Grader",
            "GuestInstructor",
            "Lecturer",
            "PrimaryInstructor",
            "SecondaryInstructor",
            "TeachingAssistant",
            "TeachingAssistantGroup",
            "TeachingAssistantOffering",
            "TeachingAssistantSection",
            "TeachingAssistantSectionAssociation",
            "TeachingAssistantTemplate",
        ],
        Role::TeachingAssistant => &[
            "Grader",
            "TeachingAssistant",
            "TeachingAssistantGroup",
            "TeachingAssistantOffering",
            "TeachingAssistantSection",
            "TeachingAssistantSectionAssociation",
            "TeachingAssistantTemplate",
        ],
        Role::Learner => &[
            "ExternalLearner",
            "GuestLearner",
            "Instructor",
            "Learner",
            "NonCreditLearner",
        ],
        Role::Manager => &[
            "AreaManager",
            "CourseCoordinator",
            "ExternalObserver",
            "Manager",
            "Observer",
        ],
        Role::Member => &["Member"],
        Role::Mentor => &[
            "Advisor",
            "Auditor",
            "ExternalAdvisor",
            "ExternalAuditor",
            "ExternalLearningFacilitator",
            "ExternalMentor",
            "ExternalReviewer",
            "ExternalTutor",
            "LearningFacilitator",
            "Mentor",
            "Reviewer",
            "Tutor",
        ],
        Role::Officer => &[
            "Chair",
            "Communications",
            "Secretary",
            "Treasurer",
            "Vice-Chair",
        ],
        _ => &[],
    }
}

#[derive(Debug, Clone, Copy)]
enum Case {
    Sensitive,
    Insensitive,
}

impl Case {
    fn matches(self, a: &str, b: &str) -> bool {
        match self {
            Case::Sensitive => a == b,
            Case::Insensitive => a.eq_ignore_ascii_case(b),
        }
    }
}

fn lookup(table: &[(&str, Role)], name: &str, case: Case) -> Option<Role> {
    table
        .iter()
        .find(|(term, _)| case.matches(term, name))
        .map(|&(_, role)| role)
}

fn context_principal(name: &str, case: Case) -> Option<Role> {
    lookup(CONTEXT_ROLES, name, case)
}

/// A context sub-role: its principal role, except that the teaching-assistant sub-roles of
/// `Instructor` become [`Role::TeachingAssistant`]. Sub-roles the vocabulary does not list
/// for that principal are unknown.
fn context_sub_role(principal: &str, sub: &str, case: Case) -> Option<Role> {
    let principal = context_principal(principal, case)?;
    let sub = sub_roles(principal)
        .iter()
        .find(|term| case.matches(term, sub))?;
    if principal == Role::Instructor && sub.starts_with("TeachingAssistant") {
        Some(Role::TeachingAssistant)
    } else {
        Some(principal)
    }
}

/// The LTI 1.1 context-role path after `urn:lti:role:ims/lis/`, which is also the short
/// form: `{Role}` or `{Role}/{SubRole}`, ignoring case.
fn context_path(path: &str) -> Option<Role> {
    match path.split_once('/') {
        None => context_principal(path, Case::Insensitive),
        Some((principal, sub)) => context_sub_role(principal, sub, Case::Insensitive),
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_overrides() -> RoleMap {
        RoleMap::new()
    }

    fn claim(values: &[&str]) -> Roles {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        Roles::from_claim(&values, &no_overrides())
    }

    fn overrides(entries: &[(&str, &str)]) -> RoleMap {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    struct Row {
        input: &'static str,
        instructor: bool,
        learner: bool,
        ta: bool,
        admin: bool,
        transient: bool,
        test_user: bool,
    }

    const fn row(
        input: &'static str,
        instructor: bool,
        learner: bool,
        ta: bool,
        admin: bool,
        transient: bool,
        test_user: bool,
    ) -> Row {
        Row {
            input,
            instructor,
            learner,
            ta,
            admin,
            transient,
            test_user,
        }
    }

    const T: bool = true;
    const F: bool = false;

    #[rustfmt::skip]
    const TABLE: &[Row] = &[
        //   input                                                                            instr  learn  ta     admin  trans  test
        // LIS v2 context roles (A.2.3)
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",                    T,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",                       F,     T,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",                 T,     F,     F,     T,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",              F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor",                        F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#Manager",                       F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#Member",                        F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#Officer",                       F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant",             T,     F,     T,     F,     F,     F),
        // LIS v2 context sub-roles (A.2.3.1)
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",  T,     F,     T,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistantSection", T, F,  T,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#Grader",             T,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#PrimaryInstructor",  T,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#Instructor",            F,     T,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#NonCreditLearner",      F,     T,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Administrator#Support",         T,     F,     F,     T,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Mentor#Tutor",                  F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#Janitor",            F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor",                    F,     F,     F,     F,     F,     F),
        // Sakai's double-hash spelling of a sub-role
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor#TeachingAssistant",  T,     F,     T,     F,     F,     F),
        // Institution roles (A.2.2)
        row("http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",         T,     F,     F,     T,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",               F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",            F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",               F,     F,     F,     F,     F,     F),
        // System roles (A.2.1), including the deprecated path without `system`
        row("http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",              T,     F,     F,     T,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin",                   T,     F,     F,     T,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/system/person#AccountAdmin",               F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/system/person#User",                       F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lis/v2/person#Administrator",                     T,     F,     F,     T,     F,     F),
        // LTI TestUser marker (A.2.4)
        row("http://purl.imsglobal.org/vocab/lti/system/person#TestUser",                      F,     F,     F,     F,     F,     T),
        // URIs are case-sensitive
        row("http://purl.imsglobal.org/vocab/lis/v2/membership#instructor",                    F,     F,     F,     F,     F,     F),
        row("http://purl.imsglobal.org/vocab/lti/system/person#testuser",                      F,     F,     F,     F,     F,     F),
        // Short names, any case
        row("Instructor",                                                                      T,     F,     F,     F,     F,     F),
        row("instructor",                                                                      T,     F,     F,     F,     F,     F),
        row("Learner",                                                                         F,     T,     F,     F,     F,     F),
        row("LEARNER",                                                                         F,     T,     F,     F,     F,     F),
        row("TeachingAssistant",                                                               T,     F,     T,     F,     F,     F),
        row("Administrator",                                                                   T,     F,     F,     T,     F,     F),
        row("ContentDeveloper",                                                                F,     F,     F,     F,     F,     F),
        row("Mentor",                                                                          F,     F,     F,     F,     F,     F),
        row("Instructor/TeachingAssistant",                                                    T,     F,     T,     F,     F,     F),
        row("Learner/Instructor",                                                              F,     T,     F,     F,     F,     F),
        // LTI 1.1 URNs
        row("urn:lti:role:ims/lis/Instructor",                                                 T,     F,     F,     F,     F,     F),
        row("urn:lti:role:ims/lis/Learner",                                                    F,     T,     F,     F,     F,     F),
        row("urn:lti:role:ims/lis/TeachingAssistant",                                          T,     F,     T,     F,     F,     F),
        row("urn:lti:role:ims/lis/TeachingAssistant/TeachingAssistantOffering",                T,     F,     T,     F,     F,     F),
        row("urn:lti:role:ims/lis/Instructor/TeachingAssistant",                               T,     F,     T,     F,     F,     F),
        row("urn:lti:role:ims/lis/Instructor/Lecturer",                                        T,     F,     F,     F,     F,     F),
        row("urn:lti:role:ims/lis/Learner/Instructor",                                         F,     T,     F,     F,     F,     F),
        row("urn:lti:role:ims/lis/Administrator",                                              T,     F,     F,     T,     F,     F),
        row("URN:LTI:ROLE:IMS/LIS/instructor",                                                 T,     F,     F,     F,     F,     F),
        row("urn:lti:instrole:ims/lis/Administrator",                                          T,     F,     F,     T,     F,     F),
        row("urn:lti:instrole:ims/lis/Student",                                                F,     F,     F,     F,     F,     F),
        row("urn:lti:instrole:ims/lis/Faculty",                                                F,     F,     F,     F,     F,     F),
        row("urn:lti:sysrole:ims/lis/SysAdmin",                                                T,     F,     F,     T,     F,     F),
        row("urn:lti:sysrole:ims/lis/Administrator",                                           T,     F,     F,     T,     F,     F),
        row("urn:lti:sysrole:ims/lis/SysSupport",                                              F,     F,     F,     F,     F,     F),
        row("urn:lti:role:ims/lti/Transient",                                                  F,     F,     F,     F,     T,     F),
        row("urn:lti:role:ims/lti/transient",                                                  F,     F,     F,     F,     T,     F),
        // Unknown roles
        row("Student",                                                                         F,     F,     F,     F,     F,     F),
        row("Teaching Assistant",                                                              F,     F,     F,     F,     F,     F),
        row("maintain",                                                                        F,     F,     F,     F,     F,     F),
        row("https://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",                   F,     F,     F,     F,     F,     F),
        row("http://example.edu/roles#Instructor",                                             F,     F,     F,     F,     F,     F),
        row("urn:lti:role:ims/lis/Janitor",                                                    F,     F,     F,     F,     F,     F),
        row("urn:lti:instrole:ims/lis/SysAdmin",                                               F,     F,     F,     F,     F,     F),
        row("TestUser",                                                                        F,     F,     F,     F,     F,     F),
        row("",                                                                                F,     F,     F,     F,     F,     F),
    ];

    #[test]
    fn roles_table_of_role_strings_matches_expectations() {
        assert!(TABLE.len() >= 40);
        for row in TABLE {
            for roles in [
                claim(&[row.input]),
                Roles::from_lti11(row.input, &no_overrides()),
            ] {
                let got = (
                    roles.is_instructor(),
                    roles.is_learner(),
                    roles.is_teaching_assistant(),
                    roles.is_administrator(),
                    roles.is_transient(),
                    roles.is_test_user(),
                );
                let want = (
                    row.instructor,
                    row.learner,
                    row.ta,
                    row.admin,
                    row.transient,
                    row.test_user,
                );
                assert_eq!(got, want, "role string {:?}", row.input);
            }
        }
    }

    #[test]
    fn parse_role_each_vocabulary_gives_the_exact_role() {
        let cases = [
            (
                "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
                Role::ContentDeveloper,
            ),
            (
                "http://purl.imsglobal.org/vocab/lis/v2/membership/ContentDeveloper#Librarian",
                Role::ContentDeveloper,
            ),
            (
                "http://purl.imsglobal.org/vocab/lis/v2/membership/Officer#Vice-Chair",
                Role::Officer,
            ),
            (
                "http://purl.imsglobal.org/vocab/lis/v2/membership/Manager#Observer",
                Role::Manager,
            ),
            (
                "http://purl.imsglobal.org/vocab/lis/v2/membership/Member#Member",
                Role::Member,
            ),
            (
                "http://purl.imsglobal.org/vocab/lis/v2/institution/person#ProspectiveStudent",
                Role::InstitutionProspectiveStudent,
            ),
            (
                "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysSupport",
                Role::SystemSysSupport,
            ),
            (
                "http://purl.imsglobal.org/vocab/lis/v2/person#Creator",
                Role::SystemCreator,
            ),
            (
                "http://purl.imsglobal.org/vocab/lis/v2/person#Faculty",
                Role::InstitutionFaculty,
            ),
            (
                "urn:lti:instrole:ims/lis/Observer",
                Role::InstitutionObserver,
            ),
            (
                "urn:lti:sysrole:ims/lis/AccountAdmin",
                Role::SystemAccountAdmin,
            ),
            ("  Mentor  ", Role::Mentor),
        ];
        for (input, want) in cases {
            assert_eq!(parse_role(input), Some(want), "role string {input:?}");
        }
    }

    #[test]
    fn parse_role_unknown_string_is_none() {
        assert_eq!(parse_role("Librarian"), None);
        assert_eq!(parse_role("urn:lti:role:ims/lis/"), None);
        assert_eq!(
            parse_role("http://purl.imsglobal.org/vocab/lis/v2/membership#"),
            None
        );
        assert_eq!(parse_role("Instructor/"), None);
        assert_eq!(parse_role("  "), None);
    }

    #[test]
    fn sub_role_learner_instructor_is_not_instructor() {
        let roles =
            claim(&["http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#Instructor"]);
        assert!(!roles.is_instructor());
        assert!(!roles.can_edit_content());
        assert!(roles.is_learner());
        assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Learner]);
    }

    #[test]
    fn teaching_assistant_sub_role_is_both_ta_and_instructor() {
        let roles = claim(&[
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
        ]);
        assert!(roles.is_teaching_assistant());
        assert!(roles.is_instructor());
        assert!(!roles.is_administrator());
        assert_eq!(
            roles.iter().collect::<Vec<_>>(),
            vec![Role::Instructor, Role::TeachingAssistant]
        );
    }

    #[test]
    fn administrator_via_institution_role_is_admin_and_instructor() {
        let roles =
            claim(&["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]);
        assert!(roles.is_administrator());
        assert!(roles.is_instructor());
        assert!(!roles.is_teaching_assistant());
        assert!(!roles.is_learner());
    }

    #[test]
    fn administrator_via_system_role_is_admin_and_instructor() {
        for input in [
            "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
            "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin",
            "urn:lti:sysrole:ims/lis/SysAdmin",
        ] {
            let roles = claim(&[input]);
            assert!(roles.is_administrator(), "{input}");
            assert!(roles.is_instructor(), "{input}");
        }
    }

    #[test]
    fn institution_faculty_without_context_role_is_not_instructor() {
        let roles = claim(&[
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
        ]);
        assert!(!roles.is_instructor());
        assert!(roles.is_learner());
        assert!(roles.contains(Role::InstitutionFaculty));
    }

    #[test]
    fn content_developer_alone_can_edit_content_but_is_not_instructor() {
        let roles = claim(&["http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"]);
        assert!(roles.is_content_developer());
        assert!(roles.can_edit_content());
        assert!(!roles.is_instructor());
        assert!(!roles.is_learner());
    }

    #[test]
    fn can_edit_content_instructor_or_admin_is_true_learner_is_false() {
        assert!(claim(&["Instructor"]).can_edit_content());
        assert!(claim(&["urn:lti:instrole:ims/lis/Administrator"]).can_edit_content());
        assert!(!claim(&["Learner"]).can_edit_content());
        assert!(!claim(&["Mentor"]).can_edit_content());
    }

    #[test]
    fn mentor_sub_role_is_mentor_only() {
        let roles = claim(&["http://purl.imsglobal.org/vocab/lis/v2/membership/Mentor#Advisor"]);
        assert!(roles.is_mentor());
        assert!(!roles.is_learner());
        assert!(!roles.is_instructor());
    }

    #[test]
    fn unknown_roles_are_ignored_and_known_ones_kept() {
        let roles = claim(&[
            "http://example.edu/roles/Dean",
            "Learner",
            "urn:example:whatever",
            "Teaching Assistant",
        ]);
        assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Learner]);
    }

    #[test]
    fn unknown_roles_only_give_empty_roles() {
        let roles = claim(&["http://example.edu/roles/Dean", "Professor"]);
        assert!(roles.is_empty());
        assert!(!roles.is_instructor());
    }

    #[test]
    fn empty_claim_gives_empty_roles_answering_false() {
        let roles = Roles::from_claim(&[], &no_overrides());
        assert!(roles.is_empty());
        assert!(!roles.is_instructor());
        assert!(!roles.is_learner());
        assert!(!roles.is_administrator());
        assert!(!roles.excluded_from_statistics());
        assert_eq!(roles, Roles::default());
    }

    #[test]
    fn empty_lti11_list_gives_empty_roles() {
        assert!(Roles::from_lti11("", &no_overrides()).is_empty());
        assert!(Roles::from_lti11(" , ,, ", &no_overrides()).is_empty());
    }

    #[test]
    fn lti11_comma_list_with_spaces_reads_every_item() {
        let roles = Roles::from_lti11(
            " Instructor , urn:lti:instrole:ims/lis/Administrator,urn:lti:role:ims/lis/TeachingAssistant ,",
            &no_overrides(),
        );
        assert_eq!(
            roles.iter().collect::<Vec<_>>(),
            vec![
                Role::Instructor,
                Role::TeachingAssistant,
                Role::InstitutionAdministrator
            ]
        );
        assert!(roles.is_instructor());
        assert!(roles.is_administrator());
        assert!(roles.is_teaching_assistant());
    }

    #[test]
    fn lti11_reference_vector_roles_are_instructor_and_ta() {
        // The `roles` value of vector V-10 in lti11-reference.md.
        let roles = Roles::from_lti11(
            "Instructor,urn:lti:role:ims/lis/TeachingAssistant",
            &no_overrides(),
        );
        assert_eq!(
            roles.iter().collect::<Vec<_>>(),
            vec![Role::Instructor, Role::TeachingAssistant]
        );
    }

    #[test]
    fn duplicate_spellings_collapse_to_one_role() {
        let roles = Roles::from_lti11(
            "Instructor,urn:lti:role:ims/lis/Instructor,instructor",
            &no_overrides(),
        );
        assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Instructor]);
    }

    #[test]
    fn override_rename_replaces_the_platform_role() {
        let map = overrides(&[(
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        )]);
        let values =
            vec!["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor".to_owned()];
        let roles = Roles::from_claim(&values, &map);
        assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Instructor]);
        assert!(roles.is_instructor());
    }

    #[test]
    fn override_sakai_custom_roles_map_to_lti_roles() {
        let map = overrides(&[
            ("maintain", "Instructor"),
            ("access", "urn:lti:role:ims/lis/Learner"),
            (
                "Teaching Assistant",
                "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
            ),
        ]);
        let maintain = Roles::from_lti11("maintain", &map);
        assert!(maintain.is_instructor());
        let access = Roles::from_lti11("access", &map);
        assert!(access.is_learner());
        assert!(!access.is_instructor());
        let ta = Roles::from_lti11(" Teaching Assistant ", &map);
        assert!(ta.is_teaching_assistant());
        assert!(ta.is_instructor());
    }

    #[test]
    fn override_empty_target_drops_the_role() {
        let map = overrides(&[
            ("Administrator", ""),
            ("urn:lti:role:ims/lti/Transient", "  "),
        ]);
        let roles = Roles::from_lti11(
            "Instructor,Administrator,urn:lti:role:ims/lti/Transient",
            &map,
        );
        assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Instructor]);
        assert!(!roles.is_administrator());
        assert!(!roles.is_transient());
    }

    #[test]
    fn override_can_demote_a_standard_role() {
        let map = overrides(&[("Instructor", "Learner")]);
        let roles = Roles::from_lti11("Instructor", &map);
        assert!(!roles.is_instructor());
        assert!(roles.is_learner());
    }

    #[test]
    fn override_unknown_target_ignores_the_role() {
        let map = overrides(&[("maintain", "Boss")]);
        assert!(
            Roles::from_lti11("maintain,Learner", &map)
                .iter()
                .eq([Role::Learner])
        );
    }

    #[test]
    fn override_is_applied_once_not_chained() {
        let map = overrides(&[("maintain", "Instructor"), ("Instructor", "")]);
        let roles = Roles::from_lti11("maintain", &map);
        assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Instructor]);
    }

    #[test]
    fn override_key_is_case_sensitive() {
        let map = overrides(&[("maintain", "Instructor")]);
        assert!(Roles::from_lti11("Maintain", &map).is_empty());
    }

    #[test]
    fn parse_override_empty_is_drop_known_is_replace_unknown_is_none() {
        assert_eq!(parse_override(""), Some(RoleOverride::Drop));
        assert_eq!(parse_override("   "), Some(RoleOverride::Drop));
        assert_eq!(
            parse_override("urn:lti:role:ims/lis/Instructor/TeachingAssistant"),
            Some(RoleOverride::Replace(Role::TeachingAssistant))
        );
        assert_eq!(parse_override("Professor"), None);
    }

    #[test]
    fn transient_learner_is_excluded_from_statistics_and_still_learner() {
        let roles = Roles::from_lti11("Learner,urn:lti:role:ims/lti/Transient", &no_overrides());
        assert!(roles.excluded_from_statistics());
        assert!(roles.is_transient());
        assert!(roles.is_learner());
        assert!(!roles.is_test_user());
    }

    #[test]
    fn transient_sysadmin_is_excluded_and_keeps_admin_and_instructor() {
        // The example from the Transient role's announcement: an administrator visiting a
        // course they are not enrolled in.
        let roles = Roles::from_lti11(
            "Instructor,urn:lti:sysrole:ims/lis/SysAdmin,urn:lti:role:ims/lti/Transient",
            &no_overrides(),
        );
        assert!(roles.excluded_from_statistics());
        assert!(roles.is_instructor());
        assert!(roles.is_administrator());
    }

    #[test]
    fn test_user_learner_is_excluded_from_statistics_and_still_learner() {
        let roles = claim(&[
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            "http://purl.imsglobal.org/vocab/lti/system/person#TestUser",
        ]);
        assert!(roles.excluded_from_statistics());
        assert!(roles.is_test_user());
        assert!(roles.is_learner());
        assert!(!roles.is_transient());
    }

    #[test]
    fn plain_learner_is_not_excluded_from_statistics() {
        assert!(!claim(&["Learner"]).excluded_from_statistics());
    }

    #[test]
    fn role_names_round_trip_through_from_name() {
        for role in Role::ALL {
            assert_eq!(Role::from_name(role.as_str()), Some(role));
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
    }

    #[test]
    fn role_all_is_sorted_and_unique() {
        let set: BTreeSet<Role> = Role::ALL.into_iter().collect();
        assert_eq!(set.len(), Role::ALL.len());
        assert!(set.into_iter().eq(Role::ALL));
    }

    #[test]
    fn role_from_name_unknown_name_is_error() {
        assert_eq!(Role::from_name("instructor"), None);
        assert_eq!(
            "Boss".parse::<Role>(),
            Err(UnknownRoleName("Boss".to_owned()))
        );
    }

    #[test]
    fn role_scope_matches_vocabulary() {
        assert_eq!(Role::TeachingAssistant.scope(), RoleScope::Context);
        assert_eq!(Role::InstitutionFaculty.scope(), RoleScope::Institution);
        assert_eq!(Role::SystemSysAdmin.scope(), RoleScope::System);
        assert_eq!(Role::TestUser.scope(), RoleScope::Marker);
        assert_eq!(Role::Transient.scope(), RoleScope::Marker);
    }

    #[test]
    fn roles_serialize_as_stable_names_and_back() {
        let roles = Roles::from_lti11(
            "Learner,urn:lti:instrole:ims/lis/Faculty,urn:lti:role:ims/lti/Transient",
            &no_overrides(),
        );
        let json = serde_json::to_string(&roles).unwrap();
        assert_eq!(json, r#"["Learner","institution/Faculty","Transient"]"#);
        let back: Roles = serde_json::from_str(&json).unwrap();
        assert_eq!(back, roles);
        assert_eq!(roles.to_string(), "Learner,institution/Faculty,Transient");
    }

    #[test]
    fn roles_deserialize_unknown_name_is_error() {
        let err = serde_json::from_str::<Roles>(r#"["Learner","Boss"]"#);
        assert!(err.is_err());
    }
}
