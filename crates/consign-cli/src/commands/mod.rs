//! One module per command: each turns its arguments into library calls and renders the result.

pub(crate) mod attest;
pub(crate) mod demo;
pub(crate) mod intoto;
pub(crate) mod key;
pub(crate) mod ledger;
pub(crate) mod sbom;
pub(crate) mod scan;
pub(crate) mod shipment;
pub(crate) mod unpack;
pub(crate) mod verify;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

/// Runs one command; what it reads and writes goes through [`crate::files`], which keeps its list
/// of inputs for this command alone.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    crate::files::for_one_command(|| run_command(cli))
}

fn run_command(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Scan(args) => scan::run(&args),
        Command::Unpack(args) => unpack::run(&args),
        Command::Sbom(command) => sbom::run(&command),
        Command::Key(command) => key::run(&command),
        Command::Attest(command) => attest::run(&command),
        Command::VerifyAttestation(args) => attest::verify(&args),
        Command::Intoto(command) => intoto::run(&command),
        Command::Shipment(args) => shipment::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Ledger(args) => ledger::run(&args),
    }
}
