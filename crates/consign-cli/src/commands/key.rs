//! `consign key ...`: generate, import and show signing keys; load a signer from a `--key` value.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use consign_attest::{KeyAlgorithm, PrivateKey, PublicKey, Signer};

use crate::exit::ExitStatus;
use crate::files::{self, KEY, Output};
use crate::output;

/// Subcommands of `consign key`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a key pair (PKCS#8 PEM private key, SPKI PEM public key).
    #[command(
        after_help = "Example:\n  consign key generate --algorithm ed25519 --out mfr\n\n\
        Writes mfr.key (private, mode 0600) and mfr.pub (public). OpenSSL and Python `cryptography` read both."
    )]
    Generate(GenerateArgs),
    /// Import a cosign encrypted private key (`ENCRYPTED COSIGN PRIVATE KEY`).
    #[command(
        after_help = "Example:\n  COSIGN_PASSWORD=secret consign key import-cosign cosign.key --out mfr\n\n\
        The password comes from `--password-file`, else from the `COSIGN_PASSWORD` environment variable."
    )]
    ImportCosign(ImportCosignArgs),
    /// Print the public key (SPKI PEM) of a private or public key file, and its key id on stderr.
    #[command(after_help = "Example:\n  consign key public mfr.key > mfr.pub")]
    Public(PublicArgs),
}

/// The key algorithms on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AlgorithmArg {
    /// Ed25519 (RFC 8032).
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256.
    P256,
}

/// Arguments of `consign key generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// The key algorithm.
    #[arg(long, value_enum, default_value = "ed25519")]
    pub(crate) algorithm: AlgorithmArg,
    /// Path prefix: writes PREFIX.key and PREFIX.pub.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub(crate) force: bool,
    /// Generate the key pair inside this PKCS#11 token (`pkcs11:` URI naming the new key's
    /// `object`/`id`); only PREFIX.pub is written, the private key never leaves the token.
    #[arg(long, value_name = "URI")]
    pub(crate) pkcs11: Option<String>,
}

/// Arguments of `consign key import-cosign`.
#[derive(Debug, Args)]
pub(crate) struct ImportCosignArgs {
    /// The cosign private key file.
    pub(crate) file: PathBuf,
    /// Path prefix: writes PREFIX.key (PKCS#8, unencrypted, mode 0600) and PREFIX.pub.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Read the password from this file (its first line) instead of `COSIGN_PASSWORD`.
    #[arg(long)]
    pub(crate) password_file: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(long)]
    pub(crate) force: bool,
}

/// Arguments of `consign key public`.
#[derive(Debug, Args)]
pub(crate) struct PublicArgs {
    /// A private key (PKCS#8 PEM) or public key (SPKI PEM) file.
    pub(crate) key: PathBuf,
    /// Write the public key here instead of stdout.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
}

pub(crate) fn run(command: &KeyCommand) -> anyhow::Result<ExitStatus> {
    match command {
        KeyCommand::Generate(args) => {
            let algorithm = match args.algorithm {
                AlgorithmArg::Ed25519 => KeyAlgorithm::Ed25519,
                AlgorithmArg::P256 => KeyAlgorithm::EcdsaP256Sha256,
            };
            if let Some(uri) = &args.pkcs11 {
                return generate_in_token(uri, algorithm, &args.out, args.force);
            }
            let key = PrivateKey::generate(algorithm)?;
            write_key_pair(&key, &args.out, args.force)?;
            Ok(ExitStatus::Success)
        }
        KeyCommand::ImportCosign(args) => {
            let pem = files::read_to_string(&args.file, KEY)?;
            let password = match &args.password_file {
                Some(path) => {
                    let text = files::read_to_string(path, KEY)?;
                    text.lines().next().unwrap_or_default().to_owned()
                }
                None => std::env::var("COSIGN_PASSWORD").context(
                    "no password: set `COSIGN_PASSWORD` or pass `--password-file FILE` (an empty password is `COSIGN_PASSWORD=`)",
                )?,
            };
            let key = consign_attest::cosign::import_cosign_key(&pem, password.as_bytes())
                .with_context(|| format!("importing {}", args.file.display()))?;
            write_key_pair(&key, &args.out, args.force)?;
            Ok(ExitStatus::Success)
        }
        KeyCommand::Public(args) => {
            let public = match args.key.to_str() {
                Some(spec) if spec.starts_with("pkcs11:") => load_signer(spec)?.public_key(),
                _ => load_public_key_or_private(&args.key)?,
            };
            output::status(&format!(
                "{} key, keyid {}",
                public.algorithm(),
                public.keyid()
            ));
            write_data(args.output.as_deref(), &public.to_pem())?;
            Ok(ExitStatus::Success)
        }
    }
}

/// `consign key generate --pkcs11 URI`: the key pair is generated inside the token, sensitive and
/// not extractable; the attributes are read back and reported, and PREFIX.pub is written.
fn generate_in_token(
    uri: &str,
    algorithm: KeyAlgorithm,
    prefix: &Path,
    force: bool,
) -> anyhow::Result<ExitStatus> {
    use consign_attest::pkcs11::{MODULE_ENV, PIN_ENV, Pkcs11Signer, Pkcs11Uri};
    let public_path = with_suffix(prefix, ".pub");
    if public_path.exists() && !force {
        anyhow::bail!(
            "{} already exists\n\nhint: choose another `--out` prefix, or pass `--force` to overwrite it",
            public_path.display()
        );
    }
    let parsed = Pkcs11Uri::parse(uri)?;
    let module = parsed.resolve_module(std::env::var(MODULE_ENV).ok())?;
    let pin = parsed.resolve_pin(std::env::var(PIN_ENV).ok())?;
    let signer = Pkcs11Signer::generate(&parsed, &module, &pin, algorithm)
        .context("generating the key in the PKCS#11 token")?;
    let protection = signer.protection()?;
    let public = signer.public_key();
    key_output(force).write(&public_path, public.to_pem().as_bytes())?;
    output::status(&format!(
        "generated a {} key in the token (CKA_EXTRACTABLE={}, CKA_SENSITIVE={}); wrote {} (public), keyid {}",
        public.algorithm(),
        protection.extractable,
        protection.sensitive,
        public_path.display(),
        public.keyid()
    ));
    Ok(ExitStatus::Success)
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn write_key_pair(key: &PrivateKey, prefix: &Path, force: bool) -> anyhow::Result<()> {
    let private_path = with_suffix(prefix, ".key");
    let public_path = with_suffix(prefix, ".pub");
    for path in [&private_path, &public_path] {
        if path.exists() && !force {
            anyhow::bail!(
                "{} already exists\n\nhint: choose another `--out` prefix, or pass `--force` to overwrite it",
                path.display()
            );
        }
    }
    let private = Output {
        private: true,
        ..key_output(force)
    };
    private.write(&private_path, key.to_pkcs8_pem().as_bytes())?;
    let public = key.public_key();
    key_output(force).write(&public_path, public.to_pem().as_bytes())?;
    output::status(&format!(
        "wrote {} (private) and {} (public): {} key, keyid {}",
        private_path.display(),
        public_path.display(),
        public.algorithm(),
        public.keyid()
    ));
    Ok(())
}

/// How a key file is written: never over an existing file unless `--force` (checked again when
/// the file is renamed into place, so a file that appears meanwhile is not replaced either).
fn key_output(force: bool) -> Output {
    Output {
        overwrite: force,
        ..Output::FILE
    }
}

/// Writes data to `path`, or to stdout when `None`.
pub(crate) fn write_data(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(path) => files::write(path, text)?,
        None => output::data(text),
    }
    Ok(())
}

/// Loads a signer from a `--key` value: a PEM file path (PKCS#8 private key).
///
/// The seam for hardware tokens: a `pkcs11:` URI (RFC 7512) is handled by the PKCS#11 module;
/// until it is wired here it is refused with a clear message.
pub(crate) fn load_signer(spec: &str) -> anyhow::Result<Box<dyn Signer>> {
    if spec.starts_with("pkcs11:") {
        // The URI may hold `pin-value`: never echo it in messages.
        use consign_attest::pkcs11::{MODULE_ENV, PIN_ENV, Pkcs11Signer, Pkcs11Uri};
        let uri = Pkcs11Uri::parse(spec)?;
        let module = uri.resolve_module(std::env::var(MODULE_ENV).ok())?;
        let pin = uri.resolve_pin(std::env::var(PIN_ENV).ok())?;
        let signer = Pkcs11Signer::open(&uri, &module, &pin).context("opening the PKCS#11 key")?;
        return Ok(Box::new(signer));
    }
    let pem = files::read_to_string(Path::new(spec), KEY)?;
    let key = PrivateKey::from_pkcs8_pem(&pem)
        .with_context(|| format!("reading the private key {spec}"))?;
    Ok(Box::new(key))
}

/// Loads a public key file (SPKI PEM).
pub(crate) fn load_public_key(path: &Path) -> anyhow::Result<PublicKey> {
    let pem = files::read_to_string(path, KEY)?;
    PublicKey::from_pem(&pem).with_context(|| format!("reading the public key {}", path.display()))
}

fn load_public_key_or_private(path: &Path) -> anyhow::Result<PublicKey> {
    let pem = files::read_to_string(path, KEY)?;
    if pem.contains("-----BEGIN PUBLIC KEY-----") {
        return PublicKey::from_pem(&pem).with_context(|| format!("reading {}", path.display()));
    }
    let key =
        PrivateKey::from_pkcs8_pem(&pem).with_context(|| format!("reading {}", path.display()))?;
    Ok(key.public_key())
}
