//! The `consign` binary: parse the arguments, run the command, exit with its status.

mod cli;
mod commands;
mod example_firmware;
mod exit;
mod files;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help and version to stdout with exit 0, usage errors to stderr with 2.
            let _ = err.print();
            return if err.use_stderr() {
                exit::ExitStatus::Error.into()
            } else {
                exit::ExitStatus::Success.into()
            };
        }
    };
    output::init(cli.global.quiet, cli.global.verbose);
    let status = match commands::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            output::error(&err);
            exit::ExitStatus::Error.into()
        }
    };
    // For tests and benchmarks that measure memory: the process's own high-water mark.
    if std::env::var_os("CONSIGN_REPORT_PEAK_RSS").is_some() {
        output::peak_rss();
    }
    status
}
