//! `consign demo`: the whole chain on a generated example, run as the same `consign` commands a
//! user would type, in process, each printed before it runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Parser as _};

use crate::cli::Cli;
use crate::example_firmware;
use crate::exit::ExitStatus;
use crate::{files, output};

/// Arguments of `consign demo`.
#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  consign demo --dir consign-demo

The firmware it scans is a generated example (a uImage kernel and a cpio root filesystem in a raw
flash layout, holding small ELF files with the real version strings of BusyBox, Dropbear, OpenSSL,
zlib and Linux), not a real product. Every step is an ordinary consign command, printed before it
runs, so you can repeat any of them by hand in the folder.")]
pub(crate) struct DemoArgs {
    /// The folder to create the example in (must not exist yet, or be empty).
    #[arg(long, default_value = "consign-demo")]
    pub(crate) dir: PathBuf,
}

const PRODUCT: &str = r#"# The manufacturer's product file: facts no binary can tell. It feeds both the SBOM and the
# manufacturer's signed claims, so the two cannot disagree.
[manufacturer]
name = "Example Devices GmbH"
email = "info@devices.example"
url = "https://devices.example"

[product]
name = "Smart Plug"
model = "SP-200"
hardware-revision = "B"
firmware-version = "2.4.1"
firmware-license = "LicenseRef-Example-Devices-EULA AND GPL-2.0-only"
cra-class = "default"

[support]
start = "2026-01-01"
end = "2034-12-31"

[vulnerability-disclosure]
contact = "security@devices.example"
policy-url = "https://devices.example/cvd"

[security]
password-scheme = "unique-per-device"
device-keys = "per-device"
exposed-services = ["ssh"]

[conformity]
ce-marking = true
declaration-sha256 = "@DECLARATION@"
"#;

const COMPONENT: &str = r#"# The supplier's claims about the part it delivers.
[supplier]
name = "Acme Crypto Ltd"
contact = "psirt@acme.example"

[component]
name = "openssl"
version = "3.0.13"

[support]
end = "2035-12-31"

[vulnerability-disclosure]
contact = "psirt@acme.example"

[known-vulnerabilities]
statement = "none-known"
"#;

const LOT: &str = r#"# The distributor's record of the lot it carried.
[distributor]
name = "Carrier Logistics"
contact = "ops@carrier.example"

[lot]
id = "LOT-42"

[received]
party = "Example Devices GmbH"
date = "2026-11-01"
"#;

const DECLARATION: &[u8] = b"EU declaration of conformity: Smart Plug SP-200 (generated example)\n";

/// The parties of the chain: (key file prefix, name in the trust store, role, algorithm).
const PARTIES: &[(&str, &str, &str, &str)] = &[
    ("supplier", "Acme Crypto Ltd", "supplier", "ed25519"),
    (
        "manufacturer",
        "Example Devices GmbH",
        "manufacturer",
        "p256",
    ),
    ("distributor", "Carrier Logistics", "distributor", "ed25519"),
    ("importer", "Import Co", "importer", "ed25519"),
];

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitStatus> {
    prepare_dir(&args.dir)?;
    std::env::set_current_dir(&args.dir)
        .with_context(|| format!("entering {}", args.dir.display()))?;
    output::status(&format!(
        "consign demo: the whole supply chain on a generated example, in {}\n\
         note: the firmware is a generated example made by consign, not a real product\n",
        args.dir.display()
    ));

    step("The manufacturer's firmware (a raw flash image: uImage kernel + cpio root filesystem)");
    write("firmware.bin", &example_firmware::build())?;
    write("libcrypto.so.3", &example_firmware::supplier_part())?;
    write("eu-declaration.txt", DECLARATION)?;
    let declaration = consign_model::Sha256::of(DECLARATION).to_hex();
    write(
        "product.toml",
        PRODUCT.replace("@DECLARATION@", &declaration).as_bytes(),
    )?;
    write("component.toml", COMPONENT.as_bytes())?;
    write("lot.toml", LOT.as_bytes())?;
    write("import-policy.toml", IMPORT_POLICY.as_bytes())?;
    output::status(
        "wrote firmware.bin, libcrypto.so.3, product.toml, component.toml, lot.toml, eu-declaration.txt",
    );

    step("Each party makes its signing key");
    for (prefix, _, _, algorithm) in PARTIES {
        consign(&["key", "generate", "--algorithm", algorithm, "--out", prefix])?;
    }
    write_trust_store()?;
    output::status("wrote trust.toml: the importer's list of parties, their roles and keys");

    step("Manufacturer: scan the firmware and write the SBOM");
    consign(&[
        "scan",
        "firmware.bin",
        "--product",
        "product.toml",
        "-o",
        "firmware.cdx.json",
    ])?;
    consign(&["scan", "firmware.bin", "--format", "table"])?;
    let validity = consign(&[
        "sbom",
        "validate",
        "firmware.cdx.json",
        "--profile",
        "bsi-tr-03183-2",
    ])?;
    if validity != ExitStatus::Success {
        // Exit 1 here is expected: say why, so a first-time reader does not take it for a fault.
        output::status(
            "(the SBOM is valid CycloneDX; what the BSI profile still misses are facts no binary \
             carries and consign's knowledge base does not hold, which only the suppliers can give. \
             The import policy below reports them as a warning, not a rejection.)",
        );
    }

    step("Supplier: attest the OpenSSL library it delivered");
    consign(&[
        "attest",
        "component",
        "--key",
        "supplier.key",
        "libcrypto.so.3",
        "--claims",
        "component.toml",
        "-o",
        "supplier.intoto.jsonl",
    ])?;

    step("Manufacturer: attest the release (product claims, SBOM, provenance, supplier materials)");
    consign(&[
        "attest",
        "release",
        "--key",
        "manufacturer.key",
        "firmware.bin",
        "--sbom",
        "firmware.cdx.json",
        "--claims",
        "product.toml",
        "--materials",
        "supplier.intoto.jsonl",
        "-o",
        "release.intoto.jsonl",
    ])?;

    step("Distributor: attest custody of the lot");
    consign(&[
        "attest",
        "custody",
        "--key",
        "distributor.key",
        "--lot",
        "lot.toml",
        "--upstream",
        "release.intoto.jsonl",
        "-o",
        "custody.intoto.jsonl",
    ])?;

    step("Assemble the shipment the importer receives");
    assemble("shipment", "firmware.bin")?;

    step("Importer: verify the shipment against the EU CRA import policy, and sign the verdict");
    output::status(
        "(`import-policy.toml` is `eu-cra-import` with one line more: this machine has no \
         vulnerability database yet, and the importer says so explicitly, so the known \
         vulnerabilities check warns instead of rejecting; under `eu-cra-import` itself it fails.)",
    );
    let accepted = consign(&[
        "verify",
        "shipment",
        "--policy",
        "import-policy.toml",
        "--trust",
        "trust.toml",
        "--ledger",
        "ledger.sqlite",
        "--sign-with",
        "importer.key",
    ])?;

    step("Someone changes one byte of the firmware on the way: the importer must reject it");
    let mut tampered = files::read(Path::new("firmware.bin"), files::ARTIFACT)?;
    let offset = tampered.len() / 3;
    tampered[offset] ^= 0x01;
    write("firmware-tampered.bin", &tampered)?;
    output::status(&format!(
        "flipped one bit of the byte at offset {offset:#x}"
    ));
    assemble("shipment-tampered", "firmware-tampered.bin")?;
    let rejected = consign(&[
        "verify",
        "shipment-tampered",
        "--policy",
        "import-policy.toml",
        "--trust",
        "trust.toml",
        "--ledger",
        "ledger.sqlite",
    ])?;

    step("Summary");
    let good = accepted == ExitStatus::Success && rejected == ExitStatus::Failure;
    output::status(&format!(
        "original shipment: {}; tampered shipment: {}\n\
         everything the demo made is in {}; `consign ledger list --db ledger.sqlite` there shows the recorded verdicts",
        describe(accepted, "accepted"),
        describe(rejected, "rejected"),
        args.dir.display()
    ));
    if good {
        Ok(ExitStatus::Success)
    } else {
        bail!(
            "the demo did not end as expected (original shipment should be accepted, tampered one rejected)"
        )
    }
}

fn describe(status: ExitStatus, expected: &str) -> String {
    match status {
        ExitStatus::Success => "accepted (exit 0)".to_owned(),
        ExitStatus::Failure => "rejected (exit 1)".to_owned(),
        ExitStatus::Error => format!("could not be read (exit 2; expected {expected})"),
    }
}

fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let mut entries = fs_err::read_dir(dir)?;
        if entries.next().is_some() {
            bail!(
                "the folder {} exists and is not empty\n\nhint: remove it, or choose another with `consign demo --dir FOLDER`",
                dir.display()
            );
        }
    } else {
        fs_err::create_dir_all(dir)?;
    }
    Ok(())
}

fn step(title: &str) {
    output::status(&format!("\n== {title}"));
}

/// The importer's policy: `eu-cra-import`, and what to do without a vulnerability database.
const IMPORT_POLICY: &str =
    "# The EU CRA import checks, on a machine without a vulnerability database yet.
format = \"consign-policy/v1\"
id = \"demo-import\"
extends = \"eu-cra-import\"

# No database: say so explicitly (the default, `fail`, rejects the shipment).
[checks.\"vulnerabilities.known\"]
when-unavailable = \"warn\"
";

fn write(name: &str, data: &[u8]) -> anyhow::Result<()> {
    files::write(Path::new(name), data)
}

fn assemble(out: &str, firmware: &str) -> anyhow::Result<ExitStatus> {
    consign(&[
        "shipment",
        "assemble",
        "--out",
        out,
        "--name",
        "lot-42",
        "--firmware",
        firmware,
        "--sbom",
        "firmware.cdx.json",
        "--attestation",
        "supplier.intoto.jsonl",
        "--attestation",
        "release.intoto.jsonl",
        "--attestation",
        "custody.intoto.jsonl",
        "--document",
        "eu-declaration.txt",
    ])
}

fn write_trust_store() -> anyhow::Result<()> {
    let mut trust = String::from(
        "# The importer's trust store: who may sign what, with which key, when.\nformat = \"consign-trust/v1\"\n",
    );
    for (prefix, name, role, _) in PARTIES {
        let pem = files::read_to_string(Path::new(&format!("{prefix}.pub")), files::KEY)?;
        let _ = write!(
            trust,
            "\n[[party]]\nname = \"{name}\"\nroles = [\"{role}\"]\ncontact = \"contact@{prefix}.example\"\n[[party.key]]\npublic-key = \"\"\"\n{pem}\"\"\"\nvalid-from = 2025-01-01\nvalid-until = 2035-12-31\n"
        );
    }
    write("trust.toml", trust.as_bytes())
}

/// Runs one `consign` command in process, printing it first. Returns its exit status; an error
/// (exit 2) stops the demo.
fn consign(args: &[&str]) -> anyhow::Result<ExitStatus> {
    output::status(&format!("$ consign {}", args.join(" ")));
    let cli = Cli::try_parse_from(std::iter::once("consign").chain(args.iter().copied()))
        .with_context(|| {
            format!(
                "the demo's own command `consign {}` did not parse",
                args.join(" ")
            )
        })?;
    let status = super::run(cli).with_context(|| format!("`consign {}` failed", args.join(" ")))?;
    if status == ExitStatus::Error {
        bail!("`consign {}` could not read its input", args.join(" "));
    }
    Ok(status)
}
