//! Configuration read once, at cold start, from the environment.
//!
//! `main` of each function calls these and fails fast with a message naming the variable;
//! handlers never read the environment themselves.

use std::time::Duration;

use url::Url;

use crate::app::lifecycle::Retention;
use crate::domain::secret::OriginSecret;
use crate::lti13::lms_config::PrivacyLevel;

/// The secret holding the key document (name or ARN).
pub const SECRET_ID_VAR: &str = "LTI_SECRET_ID";
/// The DynamoDB table.
pub const TABLE_VAR: &str = "LTI_TABLE";
/// The public origin platforms and browsers use, e.g. `https://lti.example.edu`.
pub const PUBLIC_URL_VAR: &str = "PUBLIC_URL";
/// The URL of the SQS queue grade retries wait in (outcomes function, `ltictl --aws`).
pub const QUEUE_URL_VAR: &str = "LTI_QUEUE_URL";
/// The URL of the dead-letter queue for grades that could not be delivered.
pub const DEAD_LETTER_QUEUE_URL_VAR: &str = "LTI_DEAD_LETTER_QUEUE_URL";
/// `true` makes the register function store dynamic registrations as active at once instead
/// of pending an operator's review.
pub const AUTO_ACTIVATE_VAR: &str = "LTI_AUTO_ACTIVATE_REGISTRATIONS";
/// How long a function keeps the key document in memory, in seconds.
pub const SECRET_CACHE_SECONDS_VAR: &str = "LTI_SECRET_CACHE_SECONDS";
/// How many days attempts and personal data are kept after their last activity (`0`: keep
/// forever; default [`crate::app::lifecycle::DEFAULT_RETENTION_DAYS`]).
pub const RETENTION_DAYS_VAR: &str = "LTI_RETENTION_DAYS";

/// The value CloudFront sends in [`crate::web::http::ORIGIN_VERIFY_HEADER`]; a function with it set
/// refuses requests that do not carry it (direct calls to its function URL). Unset locally.
pub const ORIGIN_VERIFY_VAR: &str = "LTI_ORIGIN_VERIFY";

/// `true` lets the functions' outbound requests reach platforms on loopback over plain http
/// ([`crate::adapters::http_client::OutboundPolicy::local`]). For the local Lambda emulator
/// (`infra/lambda-local.sh`) only: the template never sets it, and on Lambda loopback is the
/// Runtime API. Unset, every outbound request follows the strict policy.
pub const OUTBOUND_LOCAL_VAR: &str = "LTI_OUTBOUND_LOCAL";

/// The operator's privacy level for Dynamic Registration and `/config/canvas.json`
/// (`anonymous`, `name_only`, `email_only`, `public`; the stack's `PrivacyLevel` parameter).
pub const PRIVACY_LEVEL_VAR: &str = "LTI_PRIVACY_LEVEL";

/// `true` opens Dynamic Registration to anyone who can reach `/register`, with no invitation
/// (the stack's `OpenRegistration` parameter). Unset, empty or `false`: by invitation only.
pub const OPEN_REGISTRATION_VAR: &str = "LTI_OPEN_REGISTRATION";

/// The default in-memory lifetime of the key document. Next keys are published a rotation
/// ahead, so a few minutes of staleness never breaks a signature.
pub const DEFAULT_SECRET_CACHE: Duration = Duration::from_secs(300);

/// A configuration value that is missing or unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// A boolean variable's value: `true` or `false` (any case); empty means `false`.
fn parse_bool(name: &'static str, text: &str) -> Result<bool, ConfigError> {
    parse_flag(text).ok_or_else(|| ConfigError::Invalid {
        name,
        reason: format!("{text:?} is not true or false"),
    })
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" | "" => Some(false),
        _ => None,
    }
}

/// The value of [`SECRET_CACHE_SECONDS_VAR`]: whole seconds.
fn parse_cache_seconds(text: &str) -> Result<Duration, ConfigError> {
    text.trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| ConfigError::Invalid {
            name: SECRET_CACHE_SECONDS_VAR,
            reason: format!("{text:?} is not a whole number of seconds"),
        })
}

/// The value of [`ORIGIN_VERIFY_VAR`]: refused when too short to be a secret.
fn parse_origin_secret(text: String) -> Result<OriginSecret, ConfigError> {
    OriginSecret::new(text).ok_or(ConfigError::Invalid {
        name: ORIGIN_VERIFY_VAR,
        reason: format!(
            "shorter than {} characters (the value is not shown)",
            OriginSecret::MIN_LEN
        ),
    })
}

/// The privacy level a value of [`PRIVACY_LEVEL_VAR`] names: unset or empty is the most
/// private ([`PrivacyLevel::Anonymous`]); anything else must name a level.
pub fn parse_privacy_level(value: Option<&str>) -> Result<PrivacyLevel, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(PrivacyLevel::Anonymous),
        Some(text) => PrivacyLevel::parse(text).ok_or_else(|| {
            format!(
                "{PRIVACY_LEVEL_VAR}={text:?} is not a privacy level; use anonymous, name_only, \
                 email_only or public"
            )
        }),
    }
}

/// Whether a value of [`OPEN_REGISTRATION_VAR`] opens registration: unset or empty is closed;
/// anything else must be `true` or `false` (a typo never opens it).
pub fn parse_open_registration(value: Option<&str>) -> Result<bool, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(false),
        Some(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Some(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        Some(text) => Err(format!(
            "{OPEN_REGISTRATION_VAR}={text:?} must be true or false (unset: registration by \
             invitation only)"
        )),
    }
}

/// A variable of the process environment, `None` when unset or blank.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The secret cache lifetime from [`SECRET_CACHE_SECONDS_VAR`], or the default (for `ltictl`,
/// which reads only this part of the configuration).
pub fn secret_cache_ttl() -> Result<Duration, ConfigError> {
    env_var(SECRET_CACHE_SECONDS_VAR)
        .map_or(Ok(DEFAULT_SECRET_CACHE), |text| parse_cache_seconds(&text))
}

/// The retention period from [`RETENTION_DAYS_VAR`], or the default (400 days; for
/// `ltictl`, which reads only this part of the configuration).
pub fn retention() -> Result<Retention, ConfigError> {
    env_var(RETENTION_DAYS_VAR).map_or(Ok(Retention::default()), |text| parse_retention_days(&text))
}

/// Parses a retention period in whole days (`0`: forever), as [`RETENTION_DAYS_VAR`] holds it.
pub fn parse_retention_days(text: &str) -> Result<Retention, ConfigError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|days| *days <= MAX_RETENTION_DAYS)
        .map(Retention::from_days)
        .ok_or_else(|| ConfigError::Invalid {
            name: RETENTION_DAYS_VAR,
            reason: format!(
                "{text:?} is not a whole number of days from 0 (keep forever) to \
                 {MAX_RETENTION_DAYS}"
            ),
        })
}

/// The longest retention accepted, in days (100 years): anything longer is a typo; use `0`
/// to keep forever.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Parses a public origin: an absolute `http`/`https` URL with no query or fragment, which
/// every URL the tool publishes is built from. A trailing slash is dropped.
pub fn parse_public_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim_end_matches('/'))
        .map_err(|e| format!("{text:?} is not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "{text:?} must start with https:// (or http:// locally)"
        ));
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} must be an origin such as https://lti.example.edu"
        ));
    }
    Ok(url)
}

/// The AWS SDK configuration from the standard environment (region, credentials,
/// `AWS_ENDPOINT_URL` for local servers).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await
}

/// The two queue URLs of grade delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    /// Where grade retries wait ([`QUEUE_URL_VAR`]).
    pub retries: String,
    /// Where grades that could not be delivered go ([`DEAD_LETTER_QUEUE_URL_VAR`]).
    pub dead_letters: String,
}

/// Everything a function reads from its environment, read and checked once at cold start
/// ([`Config::from_env`]). Each function's template entry sets only the variables its IAM
/// policy lets it use, so the resources are optional here and a builder that needs one asks
/// for it ([`Config::table`], [`Config::secret_id`], [`Config::queues`]), failing at cold
/// start with the variable's name.
#[derive(Debug, Clone)]
pub struct Config {
    /// The public origin ([`PUBLIC_URL_VAR`]); `None` for functions with no public URLs.
    pub public_url: Option<Url>,
    /// CloudFront's origin secret ([`ORIGIN_VERIFY_VAR`]); `None` locally.
    pub origin: Option<OriginSecret>,
    /// The DynamoDB table ([`TABLE_VAR`]).
    pub table: Option<String>,
    /// The key document's secret ([`SECRET_ID_VAR`]).
    pub secret_id: Option<String>,
    /// How long the key document stays in memory ([`SECRET_CACHE_SECONDS_VAR`]).
    pub secret_cache_ttl: Duration,
    /// The grade queues ([`QUEUE_URL_VAR`] and [`DEAD_LETTER_QUEUE_URL_VAR`], both or none).
    pub queues: Option<QueueUrls>,
    /// Dynamic registrations are active at once ([`AUTO_ACTIVATE_VAR`]).
    pub auto_activate: bool,
    /// How long attempts and personal data are kept ([`RETENTION_DAYS_VAR`]).
    pub retention: Retention,
    /// Outbound requests may reach loopback over http ([`OUTBOUND_LOCAL_VAR`]; local
    /// emulation only).
    pub outbound_local: bool,
    /// How much personal data registration asks platforms for ([`PRIVACY_LEVEL_VAR`]).
    pub privacy: PrivacyLevel,
    /// Dynamic Registration without an invitation ([`OPEN_REGISTRATION_VAR`]).
    pub open_registration: bool,
}

impl Config {
    /// Reads and checks every variable: an unusable value (a public URL that is not an
    /// origin, a short origin secret, a queue without its dead-letter queue…) is an error now,
    /// not on the first request.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] over any source of variables (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let public_url = set(PUBLIC_URL_VAR)
            .map(|text| {
                parse_public_url(&text).map_err(|reason| ConfigError::Invalid {
                    name: PUBLIC_URL_VAR,
                    reason,
                })
            })
            .transpose()?;
        let origin = set(ORIGIN_VERIFY_VAR)
            .map(parse_origin_secret)
            .transpose()?;
        let secret_cache_ttl = set(SECRET_CACHE_SECONDS_VAR)
            .map_or(Ok(DEFAULT_SECRET_CACHE), |text| parse_cache_seconds(&text))?;
        let queues = match (set(QUEUE_URL_VAR), set(DEAD_LETTER_QUEUE_URL_VAR)) {
            (None, None) => None,
            (Some(retries), Some(dead_letters)) => Some(QueueUrls {
                retries,
                dead_letters,
            }),
            (Some(_), None) => return Err(ConfigError::Missing(DEAD_LETTER_QUEUE_URL_VAR)),
            (None, Some(_)) => return Err(ConfigError::Missing(QUEUE_URL_VAR)),
        };
        let auto_activate = set(AUTO_ACTIVATE_VAR)
            .map_or(Ok(false), |text| parse_bool(AUTO_ACTIVATE_VAR, &text))?;
        let outbound_local = set(OUTBOUND_LOCAL_VAR)
            .map_or(Ok(false), |text| parse_bool(OUTBOUND_LOCAL_VAR, &text))?;
        let retention = set(RETENTION_DAYS_VAR)
            .map_or(Ok(Retention::default()), |text| parse_retention_days(&text))?;
        let invalid =
            |name: &'static str| move |reason: String| ConfigError::Invalid { name, reason };
        let privacy = parse_privacy_level(set(PRIVACY_LEVEL_VAR).as_deref())
            .map_err(invalid(PRIVACY_LEVEL_VAR))?;
        let open_registration = parse_open_registration(set(OPEN_REGISTRATION_VAR).as_deref())
            .map_err(invalid(OPEN_REGISTRATION_VAR))?;
        Ok(Self {
            public_url,
            origin,
            table: set(TABLE_VAR),
            secret_id: set(SECRET_ID_VAR),
            secret_cache_ttl,
            queues,
            auto_activate,
            retention,
            outbound_local,
            privacy,
            open_registration,
        })
    }

    /// The public origin, required by every function that publishes URLs.
    pub fn public_url(&self) -> Result<&Url, ConfigError> {
        self.public_url
            .as_ref()
            .ok_or(ConfigError::Missing(PUBLIC_URL_VAR))
    }

    /// The table, required by every function that reads or writes records.
    pub fn table(&self) -> Result<&str, ConfigError> {
        self.table.as_deref().ok_or(ConfigError::Missing(TABLE_VAR))
    }

    /// The key document's secret, required by every function that signs or reads secrets.
    pub fn secret_id(&self) -> Result<&str, ConfigError> {
        self.secret_id
            .as_deref()
            .ok_or(ConfigError::Missing(SECRET_ID_VAR))
    }

    /// The grade queues, required by the functions that deliver grades.
    pub fn queues(&self) -> Result<&QueueUrls, ConfigError> {
        self.queues
            .as_ref()
            .ok_or(ConfigError::Missing(QUEUE_URL_VAR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn config_from_lookup_reads_every_variable() {
        let config = config(&[
            (PUBLIC_URL_VAR, "https://lti.example.edu"),
            (TABLE_VAR, "t"),
            (SECRET_ID_VAR, "s"),
            (QUEUE_URL_VAR, "q"),
            (DEAD_LETTER_QUEUE_URL_VAR, "d"),
            (SECRET_CACHE_SECONDS_VAR, "60"),
            (AUTO_ACTIVATE_VAR, "true"),
            (RETENTION_DAYS_VAR, "30"),
        ])
        .unwrap();
        assert_eq!(config.table().unwrap(), "t");
        assert_eq!(config.secret_id().unwrap(), "s");
        assert_eq!(config.queues().unwrap().dead_letters, "d");
        assert_eq!(config.secret_cache_ttl, Duration::from_secs(60));
        assert!(config.auto_activate);
        assert_eq!(config.retention, Retention::Days(30));
        assert!(config.origin.is_none());
        assert!(!config.outbound_local, "strict unless asked");
    }

    #[test]
    fn config_missing_resource_is_named_when_asked_for() {
        let config = config(&[(PUBLIC_URL_VAR, "https://lti.example.edu")]).unwrap();
        assert_eq!(config.table(), Err(ConfigError::Missing(TABLE_VAR)));
        assert_eq!(config.secret_id(), Err(ConfigError::Missing(SECRET_ID_VAR)));
        assert!(matches!(
            config.queues(),
            Err(ConfigError::Missing(QUEUE_URL_VAR))
        ));
    }

    #[test]
    fn config_bad_values_fail_at_once() {
        let bad = [
            (PUBLIC_URL_VAR, "lti.example.edu"),
            (SECRET_CACHE_SECONDS_VAR, "soon"),
            (AUTO_ACTIVATE_VAR, "yes"),
            (RETENTION_DAYS_VAR, "-1"),
            (ORIGIN_VERIFY_VAR, "short"),
            (OUTBOUND_LOCAL_VAR, "yes"),
        ];
        for (name, value) in bad {
            assert!(
                matches!(config(&[(name, value)]), Err(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={value} was accepted"
            );
        }
        assert_eq!(
            config(&[(QUEUE_URL_VAR, "q")]).unwrap_err(),
            ConfigError::Missing(DEAD_LETTER_QUEUE_URL_VAR)
        );
    }

    #[test]
    fn parse_retention_days_values_and_errors() {
        assert_eq!(parse_retention_days("0"), Ok(Retention::Forever));
        assert_eq!(parse_retention_days(" 30 "), Ok(Retention::Days(30)));
        assert_eq!(parse_retention_days("400"), Ok(Retention::Days(400)));
        for bad in ["-1", "1.5", "ten", "", "36501"] {
            assert!(
                matches!(
                    parse_retention_days(bad),
                    Err(ConfigError::Invalid {
                        name: RETENTION_DAYS_VAR,
                        ..
                    })
                ),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn parse_public_url_origin_is_accepted() {
        let url = parse_public_url("https://lti.example.edu/").unwrap();
        assert_eq!(url.as_str(), "https://lti.example.edu/");
        assert!(parse_public_url("https://example.edu/lti").is_ok());
    }

    #[test]
    fn parse_flag_accepts_true_false_only() {
        assert_eq!(parse_flag("true"), Some(true));
        assert_eq!(parse_flag("TRUE"), Some(true));
        assert_eq!(parse_flag("false"), Some(false));
        assert_eq!(parse_flag(""), Some(false));
        assert_eq!(parse_flag("yes"), None);
    }

    #[test]
    fn parse_public_url_bad_values_are_refused() {
        assert!(parse_public_url("lti.example.edu").is_err());
        assert!(parse_public_url("ftp://lti.example.edu").is_err());
        assert!(parse_public_url("https://lti.example.edu/?a=b").is_err());
        assert!(parse_public_url("https://lti.example.edu/#x").is_err());
    }
}
