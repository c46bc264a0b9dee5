//! Ready-made tool configurations for each LMS, built from the tool's one public origin: the
//! Canvas developer-key JSON (served at `/config/canvas.json` and printed by
//! `ltictl config canvas`) and, for Moodle, Sakai, Blackboard and Brightspace, the values an
//! administrator types into that LMS's tool registration form, field by field.
//!
//! Everything here is a pure function of [`ToolUrls`] and a [`ToolProfile`], so the same values
//! reach the LMS whichever way an administrator registers the tool (by hand, by JSON, or by
//! LTI Dynamic Registration, which asks for the same scopes and claims).

use serde_json::{Value, json};

use crate::domain::tool::ToolUrls;

/// AGS 2.0 scopes the tool asks for (AGS 2.0 §3.1): line items (create and read), results,
/// and scores.
pub const AGS_SCOPES: [&str; 4] = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
];

/// The NRPS 2.0 scope (NRPS 2.0 §3.6.1.1): read the course roster.
pub const NRPS_SCOPE: &str =
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly";

/// Every scope the tool asks for, AGS first.
pub fn requested_scopes() -> Vec<&'static str> {
    let mut scopes = AGS_SCOPES.to_vec();
    scopes.push(NRPS_SCOPE);
    scopes
}

/// Custom parameters every registration asks for. Both are LTI Core variables (LTI Core 1.3
/// Appendix "Variable substitution") with no personal data: they let the tool follow a course
/// or a link across an LMS course copy.
pub const CUSTOM_PARAMETERS: [(&str, &str); 2] = [
    ("context_id_history", "$Context.id.history"),
    ("resource_link_id_history", "$ResourceLink.id.history"),
];

/// How much personal data a platform sends (Canvas's privacy levels, `seeds/003`; other LMSs
/// have the same choices as "share name" / "share e-mail" switches).
///
/// The default is [`PrivacyLevel::Anonymous`], the least the product needs: launches,
/// attempts, grade passback, deep linking and the roster (NRPS) all work on platform user ids.
/// What more buys:
/// - **names** ([`PrivacyLevel::NameOnly`] or [`PrivacyLevel::Public`]): people's names in the
///   instructor's attempts view, its CSV download and the roster; without them these show the
///   platform's opaque user id;
/// - **e-mail** ([`PrivacyLevel::EmailOnly`]): nothing; the tool never stores e-mail addresses;
/// - **public** additionally sends SIS ids (`lis.person_sourcedid`), which exports include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrivacyLevel {
    /// No name, e-mail or SIS id (Canvas shows it as "Private").
    #[default]
    Anonymous,
    /// Names only.
    NameOnly,
    /// E-mail only.
    EmailOnly,
    /// Everything, including SIS ids and pictures.
    Public,
}

impl PrivacyLevel {
    /// The Canvas value (`https://canvas.instructure.com/lti/privacy_level`).
    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyLevel::Anonymous => "anonymous",
            PrivacyLevel::NameOnly => "name_only",
            PrivacyLevel::EmailOnly => "email_only",
            PrivacyLevel::Public => "public",
        }
    }

    /// Every level, most private first.
    pub const ALL: [PrivacyLevel; 4] = [
        PrivacyLevel::Anonymous,
        PrivacyLevel::NameOnly,
        PrivacyLevel::EmailOnly,
        PrivacyLevel::Public,
    ];

    /// Reads a level as [`PrivacyLevel::as_str`] writes it, or with `-` for `_` (as
    /// `ltictl --privacy` takes it): `anonymous`, `name_only`, `email_only`, `public`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(&text))
    }

    /// What a platform sends the tool at this level, in plain words for the administrator who
    /// registers it (the dynamic registration confirmation page shows it).
    pub fn personal_data(self) -> &'static str {
        match self {
            PrivacyLevel::Anonymous => {
                "No names, e-mail addresses or student (SIS) ids. Your LMS sends only each \
                 person's platform user id (an opaque number or code) and their course roles, \
                 so the instructor's views show learners by that id, not by name."
            }
            PrivacyLevel::NameOnly => {
                "Each person's name (full name, given name and family name), with their \
                 platform user id and course roles. Names appear in the instructor's attempts \
                 view, its CSV download and the roster. No e-mail addresses or student (SIS) \
                 ids."
            }
            PrivacyLevel::EmailOnly => {
                "Each person's e-mail address, with their platform user id and course roles. \
                 The tool does not store e-mail addresses and shows no names. No student (SIS) \
                 ids."
            }
            PrivacyLevel::Public => {
                "Each person's name (full name, given name and family name), e-mail address \
                 and, where your LMS sends it, student (SIS) id, with their platform user id \
                 and course roles. Names and SIS ids appear in the instructor's views and \
                 exports; e-mail addresses are not stored."
            }
        }
    }

    /// Whether names are sent.
    pub fn sends_names(self) -> bool {
        matches!(self, PrivacyLevel::NameOnly | PrivacyLevel::Public)
    }

    /// The id_token claims to ask for in a dynamic registration (LTI DR 1.0 tool configuration
    /// `claims`; Moodle turns name claims into "share name: always").
    pub fn claims(self) -> Vec<&'static str> {
        let mut claims = vec!["iss", "sub"];
        if self.sends_names() {
            claims.extend(["name", "given_name", "family_name"]);
        }
        if matches!(self, PrivacyLevel::EmailOnly | PrivacyLevel::Public) {
            claims.push("email");
        }
        claims
    }
}

/// What the tool calls itself in an LMS, and how much personal data it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolProfile {
    /// The name administrators and users see.
    pub title: String,
    /// One sentence about the tool.
    pub description: String,
    /// How much personal data to ask for.
    pub privacy: PrivacyLevel,
}

impl Default for ToolProfile {
    fn default() -> Self {
        Self {
            title: "Serverless LTI tool".into(),
            description: "Activities launched from the course, with attempts recorded and \
                          grades sent back to the gradebook."
                .into(),
            privacy: PrivacyLevel::Anonymous,
        }
    }
}

/// The Canvas value of `extensions[].platform`.
pub const CANVAS_PLATFORM: &str = "canvas.instructure.com";

/// The Canvas LTI 1.3 developer-key JSON ("Paste JSON" / "Enter URL" in Admin → Developer
/// Keys → + LTI Key), with the fields Canvas documents (`lti_dev_key_config`): `title`,
/// `description`, `oidc_initiation_url`, `target_link_uri`, `public_jwk_url`, `scopes`,
/// `extensions` (one, for `canvas.instructure.com`, with `privacy_level` and placements) and
/// `custom_fields`.
///
/// Placements: course navigation opens the tool (a resource-link launch, visible to
/// instructors and administrators); assignment selection and link selection send a deep-linking
/// request to the deep-link URL, where the instructor picks the activity.
pub fn canvas_developer_key(tool: &ToolUrls, profile: &ToolProfile) -> Value {
    let launch = tool.launch().to_string();
    let deep_link = tool.deep_link().to_string();
    let custom: serde_json::Map<String, Value> = CUSTOM_PARAMETERS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    json!({
        "title": profile.title,
        "description": profile.description,
        "oidc_initiation_url": tool.login().to_string(),
        "target_link_uri": launch,
        "public_jwk_url": tool.jwks().to_string(),
        "scopes": requested_scopes(),
        "extensions": [{
            "platform": CANVAS_PLATFORM,
            "domain": tool.domain(),
            "privacy_level": profile.privacy.as_str(),
            "settings": {
                "text": profile.title,
                "placements": [
                    {
                        "placement": "course_navigation",
                        "message_type": "LtiResourceLinkRequest",
                        "target_link_uri": launch,
                        "text": profile.title,
                        "visibility": "admins",
                        "default": "disabled",
                    },
                    {
                        "placement": "assignment_selection",
                        "message_type": "LtiDeepLinkingRequest",
                        "target_link_uri": deep_link,
                        "text": profile.title,
                    },
                    {
                        "placement": "link_selection",
                        "message_type": "LtiDeepLinkingRequest",
                        "target_link_uri": deep_link,
                        "text": profile.title,
                    },
                ],
            },
        }],
        "custom_fields": custom,
    })
}

/// The LMSs `ltictl config` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lms {
    /// Instructure Canvas.
    Canvas,
    /// Moodle 4.x.
    Moodle,
    /// Sakai 21+.
    Sakai,
    /// Anthology Blackboard Learn.
    Blackboard,
    /// D2L Brightspace.
    Brightspace,
}

/// One form field and the value to type into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's label in the LMS.
    pub name: &'static str,
    /// What to enter or choose.
    pub value: String,
}

/// Step-by-step registration values for one LMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LmsGuide {
    /// The LMS's name.
    pub lms: &'static str,
    /// Where the form is.
    pub location: &'static str,
    /// The fields, in the order the form shows them.
    pub fields: Vec<Field>,
    /// What to do after saving (which values to bring back to `ltictl platform add`).
    pub afterwards: Vec<String>,
}

fn field(name: &'static str, value: impl Into<String>) -> Field {
    Field {
        name,
        value: value.into(),
    }
}

fn custom_lines(separator: &str) -> String {
    CUSTOM_PARAMETERS
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(separator)
}

fn yes_no(yes: bool, when_yes: &str, when_no: &str) -> String {
    if yes { when_yes } else { when_no }.to_owned()
}

/// The `ltictl platform add` line to finish with. Each argument is a known URL, or the LMS's
/// own label for the value, shown as `<label>` for the administrator to fill in.
fn platform_add(
    issuer: &str,
    client: &str,
    deployment: &str,
    auth: &str,
    token: &str,
    jwks: &str,
) -> String {
    let arg = |value: &str| {
        if value.starts_with("https://") {
            value.to_owned()
        } else {
            format!("<{value}>")
        }
    };
    format!(
        "Register the platform with the tool: ltictl platform add --issuer '{}' \
         --client-id '{}' --deployment-id '{}' --auth-url '{}' --token-url '{}' \
         --jwks-url '{}' --name '<a name for operators>'",
        arg(issuer),
        arg(client),
        arg(deployment),
        arg(auth),
        arg(token),
        arg(jwks)
    )
}

/// The values to enter in `lms`'s tool registration, for a tool at `tool`.
pub fn guide(lms: Lms, tool: &ToolUrls, profile: &ToolProfile) -> LmsGuide {
    let launch = tool.launch().to_string();
    let deep_link = tool.deep_link().to_string();
    let login = tool.login().to_string();
    let jwks = tool.jwks().to_string();
    let register = tool.register().to_string();
    let names = profile.privacy.sends_names();
    match lms {
        Lms::Canvas => LmsGuide {
            lms: "Canvas",
            location: "Admin → Developer Keys → + Developer Key → + LTI Key",
            fields: vec![
                field("Method", "Enter URL"),
                field("JSON URL", tool.canvas_config().to_string()),
                field("Redirect URIs", format!("{launch}\n{deep_link}")),
            ],
            afterwards: vec![
                "Save, switch the key ON, and note its Client ID (the number under Details)."
                    .into(),
                "Deploy it: Settings → Apps → View App Configurations → + App → By Client ID; \
                 then ⚙ → Deployment Id."
                    .into(),
                format!(
                    "Or use LTI Dynamic Registration instead (Developer Keys → + Developer Key → \
                     + LTI Registration) with the URL {register}."
                ),
                platform_add(
                    "https://canvas.instructure.com",
                    "Client ID",
                    "Deployment Id",
                    "https://sso.canvaslms.com/api/lti/authorize_redirect",
                    "https://sso.canvaslms.com/login/oauth2/token",
                    "https://sso.canvaslms.com/api/lti/security/jwks",
                ),
            ],
        },
        Lms::Moodle => LmsGuide {
            lms: "Moodle",
            location: "Site administration → Plugins → Activity modules → External tool → \
                       Manage tools → configure a tool manually",
            fields: vec![
                field("Tool name", profile.title.clone()),
                field("Tool URL", launch.clone()),
                field("Tool description", profile.description.clone()),
                field("LTI version", "LTI 1.3"),
                field("Public key type", "Keyset URL"),
                field("Public keyset", jwks),
                field("Initiate login URL", login),
                field("Redirection URI(s)", format!("{launch}\n{deep_link}")),
                field("Custom parameters", custom_lines("\n")),
                field(
                    "Tool configuration usage",
                    "Show in activity chooser and as a preconfigured tool",
                ),
                field("Supports Deep Linking (Content-Item Message)", "ticked"),
                field("Content Selection URL", deep_link),
                field(
                    "IMS LTI Assignment and Grade Services",
                    "Use this service for grade sync and column management",
                ),
                field(
                    "IMS LTI Names and Role Provisioning",
                    "Use this service to retrieve members' information as per privacy settings",
                ),
                field(
                    "Share launcher's name with tool",
                    yes_no(names, "Always", "Never"),
                ),
                field("Share launcher's email with tool", "Never"),
                field("Accept grades from the tool", "Always"),
            ],
            afterwards: vec![
                "Save changes, then open the tool's \"View configuration details\" (the list \
                 icon on its card)."
                    .into(),
                platform_add(
                    "Platform ID",
                    "Client ID",
                    "Deployment ID",
                    "Authentication request URL",
                    "Access token URL",
                    "Public keyset URL",
                ),
                format!(
                    "Or, instead of all of the above, paste {register} into \"Tool URL\" on the \
                     Manage tools page and press \"Add LTI Advantage\" (dynamic registration)."
                ),
            ],
        },
        Lms::Sakai => LmsGuide {
            lms: "Sakai",
            location: "Administration Workspace → External Tools → Install LTI 1.x Tool",
            fields: vec![
                field("Tool Title", profile.title.clone()),
                field("Button Text", profile.title.clone()),
                field("Description", profile.description.clone()),
                field("Launch URL", launch.clone()),
                field(
                    "Send User Names to External Tool",
                    yes_no(names, "ticked", "unticked"),
                ),
                field("Send Email Addresses to External Tool", "unticked"),
                field("Allow External Tool to return grades", "ticked"),
                field("Allow External Tool to create grade columns", "ticked"),
                field("Provide Roster to External Tool", "ticked"),
                field("Allow the tool to be launched as a link", "ticked"),
                field(
                    "Allow the tool to be used from the content item / Deep Linking placements",
                    "ticked (the tool answers deep-linking requests at the redirect endpoint below)",
                ),
                field("Custom Parameters", custom_lines("\n")),
                field("Tool Supports LTI 1.3", "ticked"),
                field("LTI 1.3 Tool OpenID Connect/Initialization Endpoint", login),
                field(
                    "LTI 1.3 Tool Redirect Endpoint(s)",
                    format!("{launch}\n{deep_link}"),
                ),
                field("LTI 1.3 Tool Keyset URL", jwks),
            ],
            afterwards: vec![
                "Save, then open the tool again to read the platform's values.".into(),
                platform_add(
                    "LTI 1.3 Issuer",
                    "LTI 1.3 Client ID",
                    "LTI 1.3 Deployment ID",
                    "LTI 1.3 Platform OIDC Authentication URL",
                    "LTI 1.3 Platform OAuth2 Bearer Token Retrieval URL",
                    "LTI 1.3 Platform OAuth2 Well-Known/KeySet URL",
                ),
                "Sakai's maintain/access roles are standard; map custom roles with \
                 `ltictl platform update --role-map 'FROM=TO'`."
                    .into(),
                format!("Sakai 23+ can also register by LTI Dynamic Registration with {register}."),
            ],
        },
        Lms::Blackboard => LmsGuide {
            lms: "Blackboard Learn",
            location: "Anthology Developer Portal (developer.anthology.com) → Register a REST or \
                       LTI application → \"My integration supports LTI 1.3\"",
            fields: vec![
                field("Application Name", profile.title.clone()),
                field("Description", profile.description.clone()),
                field("Domain(s)", tool.domain()),
                field("Login Initiation URL", login),
                field("Tool Redirect URL(s)", format!("{launch},{deep_link}")),
                field("Tool JWKS URL", jwks),
                field("Signing Algorithm", "RS256"),
                field("Custom Parameters", custom_lines("\n")),
            ],
            afterwards: vec![
                "Register; the portal shows Application ID, Issuer, Public keyset URL, Auth token \
                 endpoint and OIDC auth request endpoint."
                    .into(),
                "In Learn: Administrator Panel → Integrations → LTI Tool Providers → Register LTI \
                 1.3/Advantage Tool, Client ID = the Application ID; set Tool Status to Approved; \
                 User Fields to Send: Role in Course (add Name only if you want names in the \
                 instructor views); Allow grade service access: Yes; Allow Membership Service \
                 access: Yes. Note the Deployment ID."
                    .into(),
                format!(
                    "Manage Placements → Create Placement: Type \"Deep Linking content tool\", \
                     Target Link URI {deep_link}."
                ),
                platform_add(
                    "Issuer",
                    "Application ID",
                    "Deployment ID",
                    "OIDC auth request endpoint",
                    "Auth token endpoint",
                    "Public keyset URL",
                ),
            ],
        },
        Lms::Brightspace => LmsGuide {
            lms: "Brightspace",
            location: "Admin Tools → Manage Extensibility → LTI Advantage → Register Tool → \
                       Standard",
            fields: vec![
                field("Name", profile.title.clone()),
                field("Description", profile.description.clone()),
                field("Domain", tool.origin_string()),
                field("Redirect URLs", format!("{launch}\n{deep_link}")),
                field("OpenID Connect Login URL", login),
                field("Target Link URI", launch),
                field("Keyset URL", jwks),
                field(
                    "Extensions",
                    "Assignment and Grade Services, Deep Linking, Names and Role Provisioning \
                     Services",
                ),
                field("Roles", "Send Institution Role: ticked"),
            ],
            afterwards: vec![
                "Register; the page lists Client Id, Brightspace Keyset URL, Brightspace OAuth2 \
                 Access Token URL, OpenID Connect Authentication Endpoint and Issuer."
                    .into(),
                format!(
                    "View Deployments → New Deployment: tick the three extensions; under Security \
                     Settings {} and leave Email unticked; Add Org Units; note the Deployment Id.",
                    if names {
                        "tick Name"
                    } else {
                        "tick Org Unit Information only"
                    }
                ),
                platform_add(
                    "Issuer",
                    "Client Id",
                    "Deployment Id",
                    "OpenID Connect Authentication Endpoint",
                    "Brightspace OAuth2 Access Token URL",
                    "Brightspace Keyset URL",
                ),
                format!(
                    "Or choose Dynamic instead of Standard and enter {register} as the tool \
                     initiation registration endpoint."
                ),
            ],
        },
    }
}

impl LmsGuide {
    /// The guide as plain text for a terminal: where to go, then one `field: value` per line
    /// (multi-line values indented), then the steps afterwards.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}: {}\n\n", self.lms, self.location);
        let width = self
            .fields
            .iter()
            .map(|f| f.name.chars().count())
            .max()
            .unwrap_or(0);
        for f in &self.fields {
            let mut lines = f.value.lines();
            let first = lines.next().unwrap_or_default();
            out.push_str(&format!("  {:<width$}  {first}\n", f.name));
            for line in lines {
                out.push_str(&format!("  {:<width$}  {line}\n", ""));
            }
        }
        out.push_str("\nThen:\n");
        for (i, step) in self.afterwards.iter().enumerate() {
            out.push_str(&format!("  {}. {step}\n", i + 1));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn tool() -> ToolUrls {
        ToolUrls::new(&Url::parse("https://lti.example.edu").unwrap())
    }

    /// Scopes Canvas accepts on a developer key (Canvas `lti_dev_key_config`, "scopes"; its
    /// OpenID configuration's `scopes_supported`).
    const CANVAS_SCOPES: [&str; 12] = [
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
        "https://canvas.instructure.com/lti/public_jwk/scope/update",
        "https://canvas.instructure.com/lti/account_lookup/scope/show",
        "https://canvas.instructure.com/lti-ags/progress/scope/show",
        "https://canvas.instructure.com/lti/data_services/scope/create",
        "https://canvas.instructure.com/lti/data_services/scope/show",
        "https://canvas.instructure.com/lti/feature_flags/scope/show",
        "https://canvas.instructure.com/lti/page_content/show",
    ];

    /// Placements that take a deep-linking request in Canvas (the others launch resource links).
    const CANVAS_DEEP_LINKING_PLACEMENTS: [&str; 8] = [
        "assignment_selection",
        "link_selection",
        "editor_button",
        "homework_submission",
        "migration_selection",
        "course_assignments_menu",
        "module_index_menu_modal",
        "submission_type_selection",
    ];

    const CANVAS_PLACEMENTS: [&str; 14] = [
        "account_navigation",
        "assignment_menu",
        "assignment_selection",
        "course_navigation",
        "course_settings_sub_navigation",
        "editor_button",
        "global_navigation",
        "homework_submission",
        "link_selection",
        "migration_selection",
        "module_menu",
        "user_navigation",
        "course_assignments_menu",
        "submission_type_selection",
    ];

    fn string<'a>(value: &'a Value, key: &str) -> &'a str {
        value[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} must be a string in {value}"))
    }

    fn absolute(value: &str) {
        let url = Url::parse(value).unwrap();
        assert!(matches!(url.scheme(), "https" | "http"), "{value}");
    }

    /// Checks a developer-key JSON against the fields Canvas documents; panics naming the
    /// first problem.
    fn validate_canvas(config: &Value) {
        let object = config.as_object().expect("an object");
        for key in [
            "title",
            "description",
            "oidc_initiation_url",
            "target_link_uri",
        ] {
            assert!(!string(config, key).is_empty(), "{key} is required");
        }
        absolute(string(config, "oidc_initiation_url"));
        absolute(string(config, "target_link_uri"));
        assert!(
            object.contains_key("public_jwk_url") || object.contains_key("public_jwk"),
            "public_jwk or public_jwk_url is required"
        );
        absolute(string(config, "public_jwk_url"));
        for scope in config["scopes"].as_array().expect("scopes is an array") {
            let scope = scope.as_str().expect("scopes are strings");
            assert!(
                CANVAS_SCOPES.contains(&scope),
                "unknown Canvas scope {scope}"
            );
        }
        let extensions = config["extensions"].as_array().expect("extensions array");
        assert_eq!(extensions.len(), 1);
        let canvas = &extensions[0];
        assert_eq!(string(canvas, "platform"), "canvas.instructure.com");
        assert!(
            ["anonymous", "name_only", "email_only", "public"]
                .contains(&string(canvas, "privacy_level"))
        );
        let placements = canvas["settings"]["placements"]
            .as_array()
            .expect("settings.placements array");
        for placement in placements {
            let name = string(placement, "placement");
            assert!(
                CANVAS_PLACEMENTS.contains(&name),
                "unknown placement {name}"
            );
            let message = string(placement, "message_type");
            match message {
                "LtiDeepLinkingRequest" => assert!(
                    CANVAS_DEEP_LINKING_PLACEMENTS.contains(&name),
                    "{name} does not take deep linking"
                ),
                "LtiResourceLinkRequest" => {}
                other => panic!("unknown message_type {other}"),
            }
            absolute(string(placement, "target_link_uri"));
        }
        for (key, value) in config["custom_fields"].as_object().expect("custom_fields") {
            assert!(value.is_string(), "custom field {key} must be a string");
        }
    }

    #[test]
    fn canvas_developer_key_has_the_fields_canvas_documents() {
        let config = canvas_developer_key(&tool(), &ToolProfile::default());
        validate_canvas(&config);
        assert_eq!(
            config["oidc_initiation_url"],
            "https://lti.example.edu/login"
        );
        assert_eq!(config["public_jwk_url"], "https://lti.example.edu/jwks");
        assert_eq!(config["extensions"][0]["privacy_level"], "anonymous");
        assert_eq!(config["extensions"][0]["domain"], "lti.example.edu");
        let placements = config["extensions"][0]["settings"]["placements"]
            .as_array()
            .unwrap();
        let deep: Vec<&str> = placements
            .iter()
            .filter(|p| p["message_type"] == "LtiDeepLinkingRequest")
            .map(|p| {
                assert_eq!(p["target_link_uri"], "https://lti.example.edu/deep-link");
                p["placement"].as_str().unwrap()
            })
            .collect();
        assert_eq!(deep, ["assignment_selection", "link_selection"]);
        assert_eq!(placements[0]["placement"], "course_navigation");
    }

    #[test]
    fn canvas_validator_refuses_a_broken_config() {
        // The validator must be able to fail: each mutation breaks one documented rule.
        let good = canvas_developer_key(&tool(), &ToolProfile::default());
        let mutations: [fn(&mut Value); 5] = [
            |c| {
                c.as_object_mut().unwrap().remove("oidc_initiation_url");
            },
            |c| c["scopes"][0] = "https://purl.imsglobal.org/spec/lti-ags/scope/everything".into(),
            |c| c["extensions"][0]["privacy_level"] = "secret".into(),
            |c| {
                c["extensions"][0]["settings"]["placements"][0]["message_type"] =
                    "LtiDeepLinkingRequest".into()
            },
            |c| c["custom_fields"]["x"] = 3.into(),
        ];
        for mutate in mutations {
            let mut config = good.clone();
            mutate(&mut config);
            let outcome = std::panic::catch_unwind(|| validate_canvas(&config));
            assert!(outcome.is_err(), "accepted {config}");
        }
    }

    #[test]
    fn privacy_level_parse_reads_every_level_and_refuses_others() {
        for level in PrivacyLevel::ALL {
            assert_eq!(PrivacyLevel::parse(level.as_str()), Some(level));
            assert_eq!(
                PrivacyLevel::parse(&level.as_str().replace('_', "-")),
                Some(level)
            );
        }
        for bad in ["", "names", "private", "name only", "anonymous,public"] {
            assert_eq!(PrivacyLevel::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn privacy_level_personal_data_names_what_is_sent() {
        let text = PrivacyLevel::Anonymous.personal_data();
        assert!(text.starts_with("No names, e-mail addresses or student (SIS) ids"));
        for level in [PrivacyLevel::NameOnly, PrivacyLevel::Public] {
            assert!(level.personal_data().contains("given name and family name"));
        }
        assert!(
            PrivacyLevel::EmailOnly
                .personal_data()
                .contains("e-mail address")
        );
        assert!(PrivacyLevel::Public.personal_data().contains("(SIS) id"));
    }

    #[test]
    fn privacy_level_names_add_name_claims_only() {
        assert_eq!(PrivacyLevel::default().claims(), ["iss", "sub"]);
        assert_eq!(
            PrivacyLevel::NameOnly.claims(),
            ["iss", "sub", "name", "given_name", "family_name"]
        );
        let public = canvas_developer_key(
            &tool(),
            &ToolProfile {
                privacy: PrivacyLevel::Public,
                ..ToolProfile::default()
            },
        );
        assert_eq!(public["extensions"][0]["privacy_level"], "public");
    }

    #[test]
    fn guides_carry_the_tool_urls_for_every_lms() {
        for lms in [
            Lms::Moodle,
            Lms::Sakai,
            Lms::Blackboard,
            Lms::Brightspace,
            Lms::Canvas,
        ] {
            let text = guide(lms, &tool(), &ToolProfile::default()).to_text();
            assert!(text.contains("https://lti.example.edu/launch"), "{text}");
            assert!(text.contains("https://lti.example.edu/deep-link"), "{text}");
            assert!(text.contains("ltictl platform add"), "{text}");
        }
        let moodle = guide(Lms::Moodle, &tool(), &ToolProfile::default());
        let field = |name: &str| {
            moodle
                .fields
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.value.clone())
        };
        assert_eq!(
            field("Initiate login URL").as_deref(),
            Some("https://lti.example.edu/login")
        );
        assert_eq!(
            field("Public keyset").as_deref(),
            Some("https://lti.example.edu/jwks")
        );
        assert_eq!(
            field("Share launcher's name with tool").as_deref(),
            Some("Never")
        );
    }
}
