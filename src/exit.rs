//! Process exit codes: the one place that maps outcomes to numbers (README table).

use std::process::ExitCode;

/// How a run ended, as the caller sees it through the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The turn completed (`turn.completed`), or stdout was closed by the reader.
    Success,
    /// The turn failed, or startup failed (config, prompt, git check, schema, ...).
    Failure,
    /// Interrupted by SIGINT.
    Interrupted,
    /// Terminated by SIGTERM.
    Terminated,
}

impl ExitStatus {
    /// Numeric code: 0, 1, 130 or 143 (clap usage errors exit 2 before we get here).
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Interrupted => 130,
            ExitStatus::Terminated => 143,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}
