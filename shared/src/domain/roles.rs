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
mod tests;
