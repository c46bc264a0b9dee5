//! `ltictl config <lms>`: the values an LMS administrator enters to register the tool, built
//! from its public origin by [`lti_shared::lti13::lms_config`]. Needs no backend.

use clap::ValueEnum;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::lms_config::{Lms, PrivacyLevel, ToolProfile, canvas_developer_key, guide};

use crate::CliError;

/// `ltictl config` options.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// The LMS. `canvas` prints the developer-key JSON (also served at /config/canvas.json);
    /// the others print the registration form's fields and the values to enter.
    #[arg(value_enum)]
    pub lms: LmsArg,
    /// The tool's public origin, e.g. https://lti.example.edu (the stack's PublicUrl).
    #[arg(long, env = "PUBLIC_URL", value_name = "URL")]
    pub public_url: String,
    /// How much personal data to ask the LMS for. `anonymous` is enough for every feature;
    /// `name-only` or `public` adds people's names to the instructor views and the roster.
    /// The deployed stack's setting is `LTI_PRIVACY_LEVEL` (its `PrivacyLevel` parameter).
    #[arg(long, value_enum, env = "LTI_PRIVACY_LEVEL", default_value_t = PrivacyArg::Anonymous)]
    pub privacy: PrivacyArg,
}

/// The LMSs.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LmsArg {
    /// Canvas LTI 1.3 developer-key JSON.
    Canvas,
    /// Moodle: Manage tools → configure a tool manually.
    Moodle,
    /// Sakai: External Tools → Install LTI 1.x Tool.
    Sakai,
    /// Blackboard Learn: Anthology Developer Portal, then LTI Tool Providers.
    Blackboard,
    /// Brightspace: Manage Extensibility → LTI Advantage → Register Tool.
    Brightspace,
}

/// `--privacy` values (Canvas's privacy levels; `LTI_PRIVACY_LEVEL` may also spell them with
/// `_`, as the stack's `PrivacyLevel` parameter does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrivacyArg {
    /// No names, e-mail or SIS ids.
    Anonymous,
    /// Names only.
    #[value(alias = "name_only")]
    NameOnly,
    /// E-mail only (the tool never stores it).
    #[value(alias = "email_only")]
    EmailOnly,
    /// Everything.
    Public,
}

impl From<PrivacyArg> for PrivacyLevel {
    fn from(arg: PrivacyArg) -> Self {
        match arg {
            PrivacyArg::Anonymous => PrivacyLevel::Anonymous,
            PrivacyArg::NameOnly => PrivacyLevel::NameOnly,
            PrivacyArg::EmailOnly => PrivacyLevel::EmailOnly,
            PrivacyArg::Public => PrivacyLevel::Public,
        }
    }
}

/// Prints the configuration for one LMS.
pub(crate) fn run(args: &ConfigArgs, json: bool) -> Result<(), CliError> {
    let origin = lti_shared::compose::config::parse_public_url(&args.public_url)
        .map_err(|e| CliError::Usage(format!("--public-url {e}")))?;
    let tool = ToolUrls::new(&origin);
    let profile = ToolProfile {
        privacy: args.privacy.into(),
        ..ToolProfile::default()
    };
    let lms = match args.lms {
        LmsArg::Canvas => {
            let config = canvas_developer_key(&tool, &profile);
            return print_json(&config);
        }
        LmsArg::Moodle => Lms::Moodle,
        LmsArg::Sakai => Lms::Sakai,
        LmsArg::Blackboard => Lms::Blackboard,
        LmsArg::Brightspace => Lms::Brightspace,
    };
    let guide = guide(lms, &tool, &profile);
    if json {
        let fields: Vec<_> = guide
            .fields
            .iter()
            .map(|f| serde_json::json!({"field": f.name, "value": f.value}))
            .collect();
        print_json(&serde_json::json!({
            "lms": guide.lms,
            "location": guide.location,
            "fields": fields,
            "afterwards": guide.afterwards,
        }))
    } else {
        print!("{}", guide.to_text());
        Ok(())
    }
}

fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Failure(format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
