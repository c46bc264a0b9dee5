//! `ltictl`'s errors and exit codes.

use lti_shared::ports::StoreError;

/// A failed command, with the message shown to the operator.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line was wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The command could not be carried out (exit code 1).
    #[error("{0}")]
    Failure(String),
}

impl CliError {
    /// The process exit code: 2 for usage errors, 1 for failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failure(_) => 1,
        }
    }
}

impl From<StoreError> for CliError {
    fn from(error: StoreError) -> Self {
        CliError::Failure(error.to_string())
    }
}
