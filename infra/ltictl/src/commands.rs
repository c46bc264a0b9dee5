//! `platform`, `consumer` and `keys`.

use std::collections::BTreeSet;
use std::io::Read as _;

use clap::{Subcommand, ValueEnum};
use lti_shared::domain::ids::{ClientId, ConsumerKey, DeploymentId, IdError, Issuer, KeyId};
use lti_shared::domain::keys::{KeyError, KeySet, KeyStatus};
use lti_shared::domain::model::{Consumer, PlatformOptions, Registration, Status};
use lti_shared::domain::secret::ConsumerSecret;
use lti_shared::domain::text::{escape_controls, strip_controls};
use lti_shared::ports::StoreError;
use serde::Serialize;
use time::OffsetDateTime;
use url::Url;

use crate::CliError;
use crate::backend::Backend;
use crate::output::Output;

/// `ltictl platform …`
#[derive(Debug, Subcommand)]
pub enum PlatformCommand {
    /// Register an LTI 1.3 platform (from the values its administrator gives you).
    Add {
        /// The platform's issuer, exactly as it sends it (e.g. https://canvas.instructure.com).
        #[arg(long)]
        issuer: String,
        /// The client id the platform assigned to the tool.
        #[arg(long)]
        client_id: String,
        /// A deployment id allowed to launch (repeat for several).
        #[arg(long = "deployment-id", required = true)]
        deployment_ids: Vec<String>,
        /// The platform's OIDC authorization endpoint.
        #[arg(long)]
        auth_url: String,
        /// The platform's OAuth 2 token endpoint.
        #[arg(long)]
        token_url: String,
        /// The platform's public key set URL.
        #[arg(long)]
        jwks_url: String,
        /// A name for operators.
        #[arg(long)]
        name: Option<String>,
        /// Allowed clock skew for this platform's tokens, in seconds.
        #[arg(long, value_name = "SECONDS")]
        clock_leeway: Option<u32>,
        /// The `aud` of the tool's client assertions when the platform declares one other than
        /// its token URL (Brightspace: https://api.brightspace.com/auth/token).
        #[arg(long, value_name = "AUDIENCE")]
        token_audience: Option<String>,
    },
    /// Change a registration.
    Update {
        /// The registration's issuer.
        #[arg(long)]
        issuer: String,
        /// The registration's client id.
        #[arg(long)]
        client_id: String,
        /// Allow another deployment id (repeatable).
        #[arg(long = "add-deployment-id")]
        add_deployment_ids: Vec<String>,
        /// Stop allowing a deployment id (repeatable).
        #[arg(long = "remove-deployment-id")]
        remove_deployment_ids: Vec<String>,
        /// New authorization endpoint.
        #[arg(long)]
        auth_url: Option<String>,
        /// New token endpoint.
        #[arg(long)]
        token_url: Option<String>,
        /// New key set URL.
        #[arg(long)]
        jwks_url: Option<String>,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// Accept or refuse launches; `active` also approves a registration that LTI Dynamic
        /// Registration left pending.
        #[arg(long)]
        status: Option<StatusArg>,
        /// Allowed clock skew, in seconds.
        #[arg(long, value_name = "SECONDS")]
        clock_leeway: Option<u32>,
        /// Read a role the platform sends as another role, e.g.
        /// `--role-map 'Teaching Assistant=TeachingAssistant'` or `--role-map 'maintain=Instructor'`;
        /// an empty target (`--role-map 'Guest='`) ignores that role. Repeatable.
        #[arg(long = "role-map", value_name = "FROM=TO")]
        role_map: Vec<String>,
        /// Stop mapping a role (repeatable).
        #[arg(long = "remove-role-map", value_name = "FROM")]
        remove_role_map: Vec<String>,
        /// Accept launches without a user id (anonymous launches, LTI Core 1.3 §5.3.6.1).
        #[arg(long, value_name = "true|false")]
        allow_anonymous: Option<bool>,
        /// Client assertion audience other than the token URL; an empty value removes it.
        #[arg(long, value_name = "AUDIENCE")]
        token_audience: Option<String>,
    },
    /// List registrations.
    List,
    /// Show one registration.
    Show {
        /// The registration's issuer.
        #[arg(long)]
        issuer: String,
        /// The registration's client id (may be left out when the issuer has only one).
        #[arg(long)]
        client_id: Option<String>,
    },
    /// Remove a registration. Records of past launches are kept.
    Remove {
        /// The registration's issuer.
        #[arg(long)]
        issuer: String,
        /// The registration's client id.
        #[arg(long)]
        client_id: String,
    },
}

/// `--status` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    /// Accept launches.
    Active,
    /// Refuse launches.
    Disabled,
}

/// `ltictl consumer …`
#[derive(Debug, Subcommand)]
pub enum ConsumerCommand {
    /// Add an LTI 1.1 consumer. The secret is read from standard input, never from the
    /// command line (which other users can see and shells keep in history).
    Add {
        /// The OAuth consumer key the platform will sign with.
        #[arg(long)]
        key: String,
        /// A name for operators.
        #[arg(long)]
        name: Option<String>,
    },
    /// List consumers (never their secrets).
    List,
    /// Remove a consumer and its secret.
    Remove {
        /// The consumer key.
        #[arg(long)]
        key: String,
    },
}

/// `ltictl keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create the current and next signing keys, if there are none.
    Init,
    /// Promote the next key to current, retire the old current key, make a new next key.
    Rotate,
    /// List the signing keys (public facts only).
    List,
    /// Retire a key that is not current.
    Retire {
        /// The key's kid. Kids are base64url and may start with `-`, so such values are taken
        /// as the kid, not as an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

pub(crate) fn usage(error: IdError) -> CliError {
    CliError::Usage(error.to_string())
}

/// Parses an endpoint URL: https, or http on a loopback host for local platforms.
fn endpoint(text: &str, flag: &str) -> Result<Url, CliError> {
    let url = Url::parse(text)
        .map_err(|e| CliError::Usage(format!("{flag} {text:?} is not an absolute URL ({e})")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(CliError::Usage(format!(
            "{flag} {text:?} must be an https:// URL (http:// is accepted for localhost only)"
        ))),
    }
}

/// Parses an issuer. It is checked as a URL but kept exactly as typed, because launches
/// compare `iss` as an exact, case-sensitive string (Security Framework §5.1.2).
pub(crate) fn issuer(text: &str) -> Result<Issuer, CliError> {
    let url = endpoint(text, "--issuer")?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(CliError::Usage(format!(
            "--issuer {text:?} must not have a query or fragment"
        )));
    }
    Issuer::parse(text).map_err(usage)
}

/// Parses `FROM=TO`, refusing a target that is not a role the tool knows.
fn role_mapping(pair: &str) -> Result<(String, String), CliError> {
    let (from, to) = pair
        .split_once('=')
        .ok_or_else(|| CliError::Usage(format!("--role-map {pair:?} must look like FROM=TO")))?;
    if from.trim().is_empty() {
        return Err(CliError::Usage(format!(
            "--role-map {pair:?} has no role to map"
        )));
    }
    if lti_shared::domain::roles::parse_override(to).is_none() {
        return Err(CliError::Usage(format!(
            "--role-map target {to:?} is not a role the tool knows; use a short name such as \
             Instructor, Learner, TeachingAssistant, ContentDeveloper, Administrator, or a LIS \
             role URI"
        )));
    }
    Ok((from.trim().to_owned(), to.trim().to_owned()))
}

fn deployments(list: &[String]) -> Result<BTreeSet<DeploymentId>, CliError> {
    list.iter()
        .map(|d| DeploymentId::parse(d.as_str()).map_err(usage))
        .collect()
}

/// A platform's name as stored: control characters and terminal escape sequences removed
/// (see [`strip_controls`]); an empty result is no name.
fn clean_name(name: Option<String>) -> Option<String> {
    name.map(|n| strip_controls(&n).trim().to_owned())
        .filter(|n| !n.is_empty())
}

/// Table cells as printed: any control character left in a stored value (a record written
/// before names were cleaned) is shown escaped, so it cannot drive the operator's terminal.
fn printable(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|row| row.iter().map(|cell| escape_controls(cell)).collect())
        .collect()
}

fn platform_rows(list: &[Registration]) -> Vec<Vec<String>> {
    printable(platform_rows_raw(list))
}

fn platform_rows_raw(list: &[Registration]) -> Vec<Vec<String>> {
    list.iter()
        .map(|r| {
            vec![
                r.issuer.to_string(),
                r.client_id.to_string(),
                r.deployment_ids
                    .iter()
                    .map(DeploymentId::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                r.name.clone().unwrap_or_default(),
                r.status.as_str().to_owned(),
            ]
        })
        .collect()
}

const PLATFORM_HEADER: [&str; 5] = ["issuer", "client id", "deployments", "name", "status"];

fn platform_details(r: &Registration) -> Vec<Vec<String>> {
    let mut rows = vec![
        vec!["issuer".into(), r.issuer.to_string()],
        vec!["client id".into(), r.client_id.to_string()],
        vec![
            "deployments".into(),
            r.deployment_ids
                .iter()
                .map(DeploymentId::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ],
        vec!["auth url".into(), r.auth_url.to_string()],
        vec!["token url".into(), r.token_url.to_string()],
        vec!["jwks url".into(), r.jwks_url.to_string()],
        vec!["name".into(), r.name.clone().unwrap_or_default()],
        vec!["status".into(), r.status.as_str().into()],
        vec!["created".into(), timestamp(r.created_at)],
    ];
    if let Some(leeway) = r.options.clock_leeway_secs {
        rows.push(vec!["clock leeway".into(), format!("{leeway} s")]);
    }
    if r.options.allow_anonymous {
        rows.push(vec!["anonymous launches".into(), "allowed".into()]);
    }
    if let Some(audience) = &r.options.token_audience {
        rows.push(vec!["token audience".into(), audience.clone()]);
    }
    for (from, to) in &r.options.role_map {
        rows.push(vec!["role map".into(), format!("{from} → {to}")]);
    }
    rows
}

/// `--token-audience`: `None` when not given, `Some(None)` when given empty (remove it),
/// `Some(Some(value))` otherwise. Control characters and over-long values are refused.
fn audience(value: Option<String>) -> Result<Option<Option<String>>, CliError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let value = value.trim().to_owned();
    if value.chars().any(char::is_control) || value.chars().count() > 2048 {
        return Err(CliError::Usage(
            "--token-audience must be one line of at most 2048 characters, e.g. \
             https://api.brightspace.com/auth/token"
                .into(),
        ));
    }
    Ok(Some((!value.is_empty()).then_some(value)))
}

pub(crate) fn timestamp(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn update_hint(issuer: &Issuer, client_id: &ClientId) -> String {
    format!(
        "platform {issuer} with client id {client_id} is already registered; change it with \
         `ltictl platform update --issuer {issuer} --client-id {client_id} …` (see --help), or \
         remove it first with `ltictl platform remove`"
    )
}

fn not_registered(issuer: &Issuer, client_id: &ClientId) -> CliError {
    CliError::Failure(format!(
        "no platform {issuer} with client id {client_id} is registered; \
         `ltictl platform list` shows the registered ones"
    ))
}

pub(crate) async fn platform(
    backend: &Backend,
    out: &Output,
    command: PlatformCommand,
) -> Result<(), CliError> {
    let store = &backend.store;
    match command {
        PlatformCommand::Add {
            issuer: iss,
            client_id,
            deployment_ids,
            auth_url,
            token_url,
            jwks_url,
            name,
            clock_leeway,
            token_audience,
        } => {
            let token_audience = audience(token_audience)?.flatten();
            let registration = Registration {
                issuer: issuer(&iss)?,
                client_id: ClientId::parse(client_id).map_err(usage)?,
                deployment_ids: deployments(&deployment_ids)?,
                auth_url: endpoint(&auth_url, "--auth-url")?,
                token_url: endpoint(&token_url, "--token-url")?,
                jwks_url: endpoint(&jwks_url, "--jwks-url")?,
                name: clean_name(name),
                status: Status::Active,
                options: PlatformOptions {
                    clock_leeway_secs: clock_leeway,
                    token_audience,
                    ..PlatformOptions::default()
                },
                created_at: OffsetDateTime::now_utc(),
            };
            match store.add_platform(&registration).await {
                Ok(()) => out.done(
                    &registration,
                    &format!(
                        "Registered {} with client id {} in the {}.",
                        registration.issuer, registration.client_id, backend.description
                    ),
                ),
                Err(StoreError::AlreadyExists(_)) => Err(CliError::Failure(update_hint(
                    &registration.issuer,
                    &registration.client_id,
                ))),
                Err(e) => Err(e.into()),
            }
        }
        PlatformCommand::Update {
            issuer: iss,
            client_id,
            add_deployment_ids,
            remove_deployment_ids,
            auth_url,
            token_url,
            jwks_url,
            name,
            status,
            clock_leeway,
            role_map,
            remove_role_map,
            allow_anonymous,
            token_audience,
        } => {
            let iss = Issuer::parse(iss).map_err(usage)?;
            let token_audience = audience(token_audience)?;
            let role_map = role_map
                .iter()
                .map(|pair| role_mapping(pair))
                .collect::<Result<Vec<_>, _>>()?;
            let client_id = ClientId::parse(client_id).map_err(usage)?;
            // Parse everything before reading, so a typo changes nothing.
            let added = deployments(&add_deployment_ids)?;
            let removed = deployments(&remove_deployment_ids)?;
            let auth_url = auth_url.map(|u| endpoint(&u, "--auth-url")).transpose()?;
            let token_url = token_url.map(|u| endpoint(&u, "--token-url")).transpose()?;
            let jwks_url = jwks_url.map(|u| endpoint(&u, "--jwks-url")).transpose()?;
            let mut registration = store
                .platform(&iss, &client_id)
                .await?
                .ok_or_else(|| not_registered(&iss, &client_id))?;
            registration.deployment_ids.extend(added);
            let before = registration.deployment_ids.len();
            registration.deployment_ids.retain(|d| !removed.contains(d));
            let removed_any = registration.deployment_ids.len() < before;
            // A dynamic registration may arrive without a deployment (Canvas deploys later):
            // refuse only an update that removes the last one.
            if registration.deployment_ids.is_empty() && removed_any {
                return Err(CliError::Usage(
                    "a registration needs at least one deployment id; remove the platform \
                     instead, or disable it with --status disabled"
                        .into(),
                ));
            }
            registration.auth_url = auth_url.unwrap_or(registration.auth_url);
            registration.token_url = token_url.unwrap_or(registration.token_url);
            registration.jwks_url = jwks_url.unwrap_or(registration.jwks_url);
            registration.name = clean_name(name).or(registration.name);
            if let Some(status) = status {
                registration.status = match status {
                    StatusArg::Active => Status::Active,
                    StatusArg::Disabled => Status::Disabled,
                };
            }
            if clock_leeway.is_some() {
                registration.options.clock_leeway_secs = clock_leeway;
            }
            for from in &remove_role_map {
                registration.options.role_map.remove(from);
            }
            registration.options.role_map.extend(role_map);
            if let Some(allow) = allow_anonymous {
                registration.options.allow_anonymous = allow;
            }
            if let Some(audience) = token_audience {
                registration.options.token_audience = audience;
            }
            match store.update_platform(&registration).await {
                Ok(()) => out.done(
                    &registration,
                    &format!("Updated {iss} with client id {client_id}."),
                ),
                Err(StoreError::NotFound(_)) => Err(not_registered(&iss, &client_id)),
                Err(e) => Err(e.into()),
            }
        }
        PlatformCommand::List => {
            let list = store.platforms().await?;
            out.table(&list, &PLATFORM_HEADER, platform_rows(&list))?;
            let pending = list.iter().filter(|r| r.status == Status::Pending).count();
            if pending > 0 && !out.is_json() {
                println!(
                    "{pending} registration(s) made by LTI Dynamic Registration await approval: \
                     check them with `ltictl platform show`, then approve with \
                     `ltictl platform update --issuer ISSUER --client-id CLIENT_ID --status active` \
                     (add --add-deployment-id when the platform reported none)."
                );
            }
            Ok(())
        }
        PlatformCommand::Show {
            issuer: iss,
            client_id,
        } => {
            let iss = Issuer::parse(iss).map_err(usage)?;
            let registration = match client_id {
                Some(client_id) => {
                    let client_id = ClientId::parse(client_id).map_err(usage)?;
                    store
                        .platform(&iss, &client_id)
                        .await?
                        .ok_or_else(|| not_registered(&iss, &client_id))?
                }
                None => {
                    let mut list = store.platforms_of_issuer(&iss).await?;
                    match list.len() {
                        0 => {
                            return Err(CliError::Failure(format!(
                                "no platform with issuer {iss} is registered; \
                                 `ltictl platform list` shows the registered ones"
                            )));
                        }
                        1 => list.remove(0),
                        n => {
                            return Err(CliError::Usage(format!(
                                "issuer {iss} has {n} registrations; pass --client-id"
                            )));
                        }
                    }
                }
            };
            out.table(
                &registration,
                &["field", "value"],
                printable(platform_details(&registration)),
            )
        }
        PlatformCommand::Remove {
            issuer: iss,
            client_id,
        } => {
            let iss = Issuer::parse(iss).map_err(usage)?;
            let client_id = ClientId::parse(client_id).map_err(usage)?;
            match store.remove_platform(&iss, &client_id).await {
                Ok(()) => out.done(
                    &serde_json::json!({"removed": {"issuer": iss, "client_id": client_id}}),
                    &format!("Removed {iss} with client id {client_id}."),
                ),
                Err(StoreError::NotFound(_)) => Err(not_registered(&iss, &client_id)),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Reads a consumer secret from standard input: the first line, without its line ending.
fn secret_from_stdin() -> Result<ConsumerSecret, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| {
            CliError::Failure(format!("cannot read the secret from standard input: {e}"))
        })?;
    let secret = text.lines().next().unwrap_or_default().trim();
    if secret.is_empty() {
        return Err(CliError::Usage(
            "pipe the consumer secret on standard input, e.g. \
             `openssl rand -hex 32 | tee secret.txt | ltictl consumer add --key KEY`"
                .into(),
        ));
    }
    if secret.len() < ConsumerSecret::MIN_LEN {
        eprintln!(
            "warning: the secret is shorter than {} characters; use a long random secret \
             unless a platform forces this one",
            ConsumerSecret::MIN_LEN
        );
    }
    Ok(ConsumerSecret::new(secret))
}

pub(crate) async fn consumer(
    backend: &Backend,
    out: &Output,
    command: ConsumerCommand,
) -> Result<(), CliError> {
    match command {
        ConsumerCommand::Add { key, name } => {
            let key = ConsumerKey::parse(key).map_err(usage)?;
            if backend.store.consumer(&key).await?.is_some() {
                return Err(CliError::Failure(format!(
                    "consumer {key} already exists; remove it first with \
                     `ltictl consumer remove --key {key}` to replace its secret"
                )));
            }
            let secret = secret_from_stdin()?;
            let consumer = Consumer {
                key: key.clone(),
                name: clean_name(name),
                status: Status::Active,
                created_at: OffsetDateTime::now_utc(),
            };
            // Secret first: a secret without a consumer record is never used, while a record
            // without a secret would be. Undo the secret if the record cannot be written.
            backend.keys.put_consumer_secret(&key, &secret).await?;
            if let Err(error) = backend.store.add_consumer(&consumer).await {
                if let Err(undo) = backend.keys.remove_consumer_secret(&key).await {
                    tracing::error!(%undo, "could not remove the secret of a consumer that was not added");
                }
                return Err(match error {
                    StoreError::AlreadyExists(_) => {
                        CliError::Failure(format!("consumer {key} already exists"))
                    }
                    other => other.into(),
                });
            }
            out.done(
                &consumer,
                &format!(
                    "Added consumer {key} in the {}. Give the platform this key and the \
                     secret you piped in.",
                    backend.description
                ),
            )
        }
        ConsumerCommand::List => {
            let list = backend.store.consumers().await?;
            let rows = list
                .iter()
                .map(|c| {
                    vec![
                        c.key.to_string(),
                        c.name.clone().unwrap_or_default(),
                        c.status.as_str().to_owned(),
                        timestamp(c.created_at),
                    ]
                })
                .collect();
            out.table(
                &list,
                &["key", "name", "status", "created"],
                printable(rows),
            )
        }
        ConsumerCommand::Remove { key } => {
            let key = ConsumerKey::parse(key).map_err(usage)?;
            match backend.store.remove_consumer(&key).await {
                Ok(()) => {}
                Err(StoreError::NotFound(_)) => {
                    return Err(CliError::Failure(format!(
                        "no consumer {key}; `ltictl consumer list` shows the existing ones"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            match backend.keys.remove_consumer_secret(&key).await {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
            out.done(
                &serde_json::json!({"removed": key}),
                &format!("Removed consumer {key} and its secret."),
            )
        }
    }
}

/// One row of `keys list`: public facts only.
#[derive(Serialize)]
struct KeyRow {
    kid: KeyId,
    status: KeyStatus,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    retired_at: Option<OffsetDateTime>,
    published: bool,
}

fn key_rows(set: &KeySet, now: OffsetDateTime) -> (Vec<KeyRow>, Vec<Vec<String>>) {
    let published = set.public_jwks(now);
    let mut keys: Vec<KeyRow> = set
        .keys
        .iter()
        .map(|k| KeyRow {
            kid: k.kid.clone(),
            status: k.status,
            created_at: k.created_at,
            retired_at: k.retired_at,
            published: published.keys.iter().any(|p| p.kid == k.kid),
        })
        .collect();
    keys.sort_by_key(|k| (k.status as u8, std::cmp::Reverse(k.created_at)));
    let rows = keys
        .iter()
        .map(|k| {
            vec![
                k.kid.to_string(),
                k.status.as_str().to_owned(),
                timestamp(k.created_at),
                k.retired_at.map(timestamp).unwrap_or_default(),
                if k.published { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    (keys, rows)
}

fn key_error(error: KeyError) -> CliError {
    match error {
        KeyError::UnknownKey(_) => CliError::Failure(format!(
            "{error}; `ltictl keys list` shows the existing keys"
        )),
        other => CliError::Failure(other.to_string()),
    }
}

/// Creates the keys when there are none; used by `keys init` and on `serve`'s first start.
pub(crate) async fn ensure_keys(backend: &Backend) -> Result<(KeySet, bool), CliError> {
    let mut set = backend.keys.signing_keys().await?;
    let created = set.init(OffsetDateTime::now_utc()).map_err(key_error)?;
    if created {
        backend.keys.save_signing_keys(&set).await?;
    }
    Ok((set, created))
}

pub(crate) async fn keys(
    backend: &Backend,
    out: &Output,
    command: KeysCommand,
) -> Result<(), CliError> {
    let now = OffsetDateTime::now_utc();
    let set = match command {
        KeysCommand::Init => {
            let (set, created) = ensure_keys(backend).await?;
            if !out.is_json() {
                println!(
                    "{}",
                    if created {
                        "Created the current and next signing keys."
                    } else {
                        "Signing keys already exist; nothing changed (use `ltictl keys rotate`)."
                    }
                );
            }
            set
        }
        KeysCommand::Rotate => {
            let mut set = backend.keys.signing_keys().await?;
            set.current().map_err(key_error)?;
            set.rotate(now).map_err(key_error)?;
            backend.keys.save_signing_keys(&set).await?;
            if !out.is_json() {
                println!("Rotated: the next key now signs; a new next key is published.");
            }
            set
        }
        KeysCommand::List => backend.keys.signing_keys().await?,
        KeysCommand::Retire { kid } => {
            let kid = KeyId::parse(kid).map_err(usage)?;
            let mut set = backend.keys.signing_keys().await?;
            set.retire(&kid, now).map_err(key_error)?;
            backend.keys.save_signing_keys(&set).await?;
            if !out.is_json() {
                println!("Retired {kid}.");
            }
            set
        }
    };
    let (keys, rows) = key_rows(&set, now);
    out.table(
        &keys,
        &["kid", "status", "created", "retired", "published"],
        rows,
    )
}
