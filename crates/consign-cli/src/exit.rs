//! The exit codes, the same for every command.

use std::process::ExitCode;

/// How a command ended. Documented in `consign --help` and README.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// 0: success; the input was accepted or is valid.
    Success,
    /// 1: the check ran and found a problem (shipment rejected, SBOM invalid, signature bad).
    Failure,
    /// 2: usage error, or an input that cannot be read at all.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        })
    }
}
