//! `ltictl`: the operations and local-run tool of the serverless LTI tool.
//!
//! It works on one of two backends: the embedded one (a data folder with a SQLite store and
//! a key file; the default, `.lti` in the working folder) or the deployed one on AWS
//! (`--aws`: a DynamoDB table and a Secrets Manager secret). The same commands, the same
//! records, through the same ports the Lambda functions use.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod backend;
mod catalog;
mod commands;
pub mod error;
mod lifecycle_cmd;
mod lms;
mod migrate_cmd;
mod outcomes_cmd;
mod output;
mod registration_cmd;
pub mod serve;

pub use error::CliError;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "ltictl",
    version,
    about = "Run the LTI tool locally and manage its platforms, consumers, keys and catalog",
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error."
)]
pub struct Cli {
    /// Where to keep data.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Print JSON instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Backend selection: the embedded data folder, or AWS.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Embedded backend: the data folder (created owner-only if missing).
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "aws")]
    pub data_dir: Option<PathBuf>,
    /// Use the deployed DynamoDB table and Secrets Manager secret. Region, credentials and
    /// endpoint come from the standard AWS environment (AWS_PROFILE, AWS_REGION,
    /// AWS_ENDPOINT_URL, ...).
    #[arg(long, global = true)]
    pub aws: bool,
    /// The DynamoDB table (with --aws).
    #[arg(long, global = true, env = "LTI_TABLE", value_name = "NAME")]
    pub table: Option<String>,
    /// The Secrets Manager secret name or ARN (with --aws).
    #[arg(long, global = true, env = "LTI_SECRET_ID", value_name = "ID")]
    pub secret_id: Option<String>,
    /// The SQS queue grade retries wait in (with --aws; `ltictl outcomes replay` re-queues).
    #[arg(long, global = true, env = "LTI_QUEUE_URL", value_name = "URL")]
    pub queue_url: Option<String>,
    /// The dead-letter queue of grades that could not be delivered (with --aws).
    #[arg(
        long,
        global = true,
        env = "LTI_DEAD_LETTER_QUEUE_URL",
        value_name = "URL"
    )]
    pub dead_letter_queue_url: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing buys nothing
pub enum Command {
    /// Run every function's handler on one local port.
    Serve(serve::ServeArgs),
    /// Manage LTI 1.3 platform registrations.
    #[command(subcommand)]
    Platform(commands::PlatformCommand),
    /// Invitations for LTI Dynamic Registration: create, list, revoke.
    #[command(subcommand)]
    Registration(registration_cmd::RegistrationCommand),
    /// Manage LTI 1.1 consumers.
    #[command(subcommand)]
    Consumer(commands::ConsumerCommand),
    /// Manage the tool's signing keys.
    #[command(subcommand)]
    Keys(commands::KeysCommand),
    /// Inspect and replay grade deliveries.
    #[command(subcommand)]
    Outcomes(outcomes_cmd::OutcomesCommand),
    /// Show and set a resource link's grading settings (passback policy, extra credit).
    #[command(subcommand)]
    Resource(outcomes_cmd::ResourceCommand),
    /// Print what an LMS administrator enters to register the tool (Canvas JSON, or the
    /// Moodle, Sakai, Blackboard and Brightspace form values).
    Config(lms::ConfigArgs),
    /// Manage the activities offered for deep linking.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Export or erase everything held on one person.
    #[command(subcommand)]
    User(lifecycle_cmd::UserCommand),
    /// Erase a course (context) with its resource links and attempts.
    #[command(subcommand)]
    Context(lifecycle_cmd::ContextCommand),
    /// Export the attempts of a resource link or a context (CSV or JSON).
    #[command(subcommand)]
    Attempts(lifecycle_cmd::AttemptsCommand),
    /// Remove attempts and personal data past the retention period.
    #[command(subcommand)]
    Retention(lifecycle_cmd::RetentionCommand),
    /// Show the audit log of erasures and purges.
    #[command(subcommand)]
    Audit(lifecycle_cmd::AuditCommand),
    /// Move stored records to a newer key layout (after an upgrade).
    #[command(subcommand)]
    Migrate(migrate_cmd::MigrateCommand),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    // Needs no data: do not create a data folder or reach AWS for it.
    if let Command::Config(args) = &cli.command {
        return lms::run(args, cli.json);
    }
    let backend = backend::Backend::open(&cli.backend).await?;
    let out = output::Output::new(cli.json);
    match cli.command {
        Command::Serve(args) => serve::run_from_cli(backend, args).await,
        Command::Platform(command) => commands::platform(&backend, &out, command).await,
        Command::Registration(command) => {
            registration_cmd::registration(&backend, cli.backend.aws, &out, command).await
        }
        Command::Consumer(command) => commands::consumer(&backend, &out, command).await,
        Command::Keys(command) => commands::keys(&backend, &out, command).await,
        Command::Outcomes(command) => outcomes_cmd::outcomes(&backend, &out, command).await,
        Command::Resource(command) => outcomes_cmd::resource(&backend, &out, command).await,
        Command::Config(args) => lms::run(&args, cli.json),
        Command::Catalog(command) => catalog::catalog(&backend, &out, command).await,
        Command::User(command) => lifecycle_cmd::user(&backend, &out, command).await,
        Command::Context(command) => lifecycle_cmd::context(&backend, &out, command).await,
        Command::Attempts(command) => lifecycle_cmd::attempts(&backend, &out, command).await,
        Command::Retention(command) => lifecycle_cmd::retention_cmd(&backend, &out, command).await,
        Command::Audit(command) => lifecycle_cmd::audit(&backend, &out, command).await,
        Command::Migrate(command) => migrate_cmd::migrate(&backend, &out, command).await,
    }
}
