//! The one error type of consign-attest: every way keys, envelopes, statements, predicates,
//! claims files and bundles can be rejected, each naming the field and what was expected.

/// Why a key, an envelope, a statement, a predicate, a claims file or a bundle was rejected,
/// or why signing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttestError {
    /// A PEM document could not be read: wrong label, broken armour or bad base64 inside.
    #[error("cannot read the PEM {what}: {reason}")]
    Pem {
        /// What the PEM should hold, e.g. "public key (SPKI `PUBLIC KEY`)".
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A DER structure (SPKI, PKCS#8, SEC1, an ECDSA signature) is malformed.
    #[error("malformed DER in the {what}: {reason}")]
    Der {
        /// Which structure, e.g. "SPKI public key".
        what: &'static str,
        /// What the decoder reported.
        reason: String,
    },
    /// The key uses an algorithm consign does not sign or verify with.
    #[error(
        "unsupported key algorithm `{algorithm}`\n\nhint: consign supports Ed25519 and ECDSA P-256 (prime256v1) keys"
    )]
    UnsupportedAlgorithm {
        /// The algorithm (OID or name) found in the key.
        algorithm: String,
    },
    /// The key material is the right shape but not a valid key (e.g. a point not on the curve).
    #[error("invalid {algorithm} key: {reason}")]
    InvalidKey {
        /// "Ed25519" or "ECDSA P-256".
        algorithm: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("cannot get randomness from the operating system for key generation")]
    Random {
        /// The cause.
        #[source]
        source: rand_core::Error,
    },
    /// A signer failed to produce a signature (e.g. a hardware token refused).
    #[error("signing failed: {reason}")]
    Signing {
        /// What the signer reported.
        reason: String,
    },
    /// The signature does not verify with this key over this message.
    #[error("the {algorithm} signature does not verify with key {keyid}")]
    BadSignature {
        /// "Ed25519" or "ECDSA P-256".
        algorithm: &'static str,
        /// The key's id (hex SHA-256 of its SPKI DER).
        keyid: String,
    },
    /// A signature's bytes have the wrong size or encoding for the key's algorithm.
    #[error("malformed {algorithm} signature ({len} bytes): {expected}")]
    MalformedSignature {
        /// "Ed25519" or "ECDSA P-256".
        algorithm: &'static str,
        /// How many bytes the signature has.
        len: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// A cosign encrypted private key could not be imported.
    #[error("cannot import the cosign key: field `{field}`: {reason}")]
    CosignKey {
        /// The field of the cosign key JSON that is wrong.
        field: &'static str,
        /// What is wrong or expected.
        reason: String,
    },
    /// Decrypting a cosign key failed: almost always the wrong password.
    #[error(
        "cannot decrypt the cosign key: wrong password or damaged file\n\nhint: set the password in `COSIGN_PASSWORD` or pass `--password-file`"
    )]
    CosignDecrypt,
    /// A JSON document (envelope, statement, predicate, bundle) is not valid JSON or not the
    /// expected shape.
    #[error("malformed {what} JSON")]
    Json {
        /// Which document, e.g. "DSSE envelope".
        what: &'static str,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A document was refused by the strict JSON reader ([`consign_model::json`]): not JSON, a
    /// key repeated at any depth (named by its JSON pointer), too large or too deep, or not of
    /// the expected shape.
    #[error("malformed {what} JSON")]
    Document {
        /// Which document, e.g. "DSSE envelope".
        what: &'static str,
        /// What the reader found, with its JSON pointer or offset.
        #[source]
        source: consign_model::json::JsonError,
    },
    /// A base64 field could not be decoded.
    #[error("field `{field}` is not valid base64 (standard or URL-safe, padded or not): {reason}")]
    Base64 {
        /// The field, e.g. `signatures[1].sig`.
        field: String,
        /// What the decoder reported.
        reason: String,
    },
    /// An input is larger than consign accepts for its kind.
    #[error("{what} is {len} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Which input.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A field has a value consign does not accept.
    #[error("{document}: field `{field}`: expected {expected}")]
    Field {
        /// The document the field is in, e.g. "DSSE envelope", "in-toto statement".
        document: &'static str,
        /// The field, as a JSON path-like name.
        field: String,
        /// What was expected, and what was found where useful.
        expected: String,
    },
    /// A verification threshold was not met.
    #[error(
        "only {valid} of the required {threshold} distinct trusted keys signed this envelope ({signatures} signatures, {keys} trusted keys)"
    )]
    ThresholdNotMet {
        /// The number of distinct keys that must have signed.
        threshold: usize,
        /// The number of distinct trusted keys whose signature verified.
        valid: usize,
        /// The number of signatures in the envelope.
        signatures: usize,
        /// The number of trusted keys given.
        keys: usize,
    },
    /// A threshold that can never be meaningful was asked for.
    #[error("a verification threshold must be at least 1, got {threshold}")]
    ZeroThreshold {
        /// The threshold given.
        threshold: usize,
    },
    /// No subject of the statement has a digest matching the artifact.
    #[error(
        "no subject of the statement matches the artifact (sha256 {sha256}); the statement is about: {subjects}"
    )]
    SubjectMismatch {
        /// The artifact's SHA-256.
        sha256: String,
        /// The statement's subjects, as `name (digest)` list.
        subjects: String,
    },
    /// The predicate type (or its version) is not one consign knows: fail closed.
    #[error(
        "unknown predicate type `{predicate_type}`\n\nhint: consign reads {known}; a newer version needs a newer consign"
    )]
    UnknownPredicate {
        /// The predicate type found.
        predicate_type: String,
        /// The types consign reads.
        known: String,
    },
    /// A claims file (TOML written by the signer) is not valid TOML or not the expected shape.
    #[error("cannot read the claims file")]
    ClaimsToml {
        /// The TOML parser's error, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// A claim is missing or has a value that cannot be signed.
    #[error("claims: field `{field}`: expected {expected}")]
    Claim {
        /// The field, as a dotted path.
        field: String,
        /// What was expected.
        expected: String,
    },
    /// A value cannot be written as OLPC canonical JSON (in-toto v0.9 signs that form).
    #[error("cannot encode canonical JSON at `{path}`: {reason}")]
    CanonicalJson {
        /// The JSON path of the value, e.g. `$.signed.materials`.
        path: String,
        /// Why, e.g. a floating-point number.
        reason: String,
    },
    /// The in-toto layout expired before the check date.
    #[error(
        "the in-toto layout expired at {expires}, before the check date {at}\n\nhint: ask the project owner for a renewed layout, or pass `--at` with the date to check at"
    )]
    IntotoLayoutExpired {
        /// The layout's `expires` field.
        expires: String,
        /// The check date given by the caller.
        at: String,
    },
    /// A layout key given by the verifier did not sign the in-toto layout validly.
    #[error("the in-toto layout is not validly signed by layout key {keyid}: {reason}")]
    IntotoLayoutSignature {
        /// The layout key's securesystemslib keyid.
        keyid: String,
        /// No signature by that key, or one that does not verify.
        reason: String,
    },
    /// Fewer link files than the step's threshold were found.
    #[error(
        "step `{step}` requires {threshold} link file(s), found {found} (looked for {looked_for})\n\nhint: link files are named `<step>.<first 8 hex digits of the keyid>.link`"
    )]
    IntotoLinksMissing {
        /// The step name.
        step: String,
        /// The step's threshold.
        threshold: usize,
        /// How many link files were found.
        found: usize,
        /// The file names looked for.
        looked_for: String,
    },
    /// Fewer distinct authorized functionaries than the threshold validly signed a step's links.
    #[error(
        "step `{step}` requires links validly signed by {threshold} different authorized functionaries, found {valid}{detail}"
    )]
    IntotoThreshold {
        /// The step name.
        step: String,
        /// The step's threshold.
        threshold: usize,
        /// How many distinct authorized keys signed a valid link.
        valid: usize,
        /// Why the other links were not counted (starts with `: ` when present).
        detail: String,
    },
    /// The links of one step (threshold above 1) report different materials or products.
    #[error(
        "step `{step}`: the link signed by {keyid} reports different {artifacts} than the link signed by {reference}"
    )]
    IntotoLinksDisagree {
        /// The step name.
        step: String,
        /// `materials` or `products`.
        artifacts: &'static str,
        /// The keyid of the disagreeing link.
        keyid: String,
        /// The keyid of the reference link.
        reference: String,
    },
    /// An artifact rule of a step or inspection failed.
    #[error("{item}: {artifacts} rule `{rule}` failed for artifact `{artifact}`: {reason}")]
    IntotoRule {
        /// `step `name`` or `inspection `name``.
        item: String,
        /// `materials` or `products`.
        artifacts: &'static str,
        /// The rule, as written in the layout.
        rule: String,
        /// The artifact path.
        artifact: String,
        /// Why.
        reason: String,
    },
    /// An inspection was not run because the caller did not allow running commands.
    #[error(
        "inspection `{inspection}` was not run: consign does not run the layout's commands (`{command}`) unless asked\n\nhint: review the command, then pass `--run-inspections`"
    )]
    IntotoInspectionNotRun {
        /// The inspection name.
        inspection: String,
        /// Its command.
        command: String,
    },
    /// An in-toto feature consign does not support.
    #[error("{what} is not supported by consign's in-toto verifier")]
    IntotoUnsupported {
        /// The feature, e.g. "a sublayout for step `build`".
        what: String,
    },
    /// A PKCS#11 `pkcs11:` URI is malformed or lacks what consign needs.
    #[error("pkcs11 URI: {what}: expected {expected}")]
    Pkcs11Uri {
        /// The attribute or part of the URI.
        what: String,
        /// What was expected.
        expected: String,
    },
    /// A PKCS#11 operation failed in the module or token.
    #[error("pkcs11: {operation} failed: {reason}")]
    Pkcs11 {
        /// The operation, e.g. "logging in to the token".
        operation: String,
        /// What the module reported.
        reason: String,
    },
    /// Reading or hashing a file for in-toto (artifacts, link files) or running a step's command failed.
    #[error("cannot {action} `{path}`")]
    IntotoIo {
        /// What consign was doing, e.g. "hash the artifact".
        action: &'static str,
        /// The path (or command) involved.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl AttestError {
    /// Shorthand for [`AttestError::Field`].
    pub(crate) fn field(
        document: &'static str,
        field: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self::Field {
            document,
            field: field.into(),
            expected: expected.into(),
        }
    }

    /// Shorthand for [`AttestError::Claim`].
    pub(crate) fn claim(field: impl Into<String>, expected: impl Into<String>) -> Self {
        Self::Claim {
            field: field.into(),
            expected: expected.into(),
        }
    }
}
