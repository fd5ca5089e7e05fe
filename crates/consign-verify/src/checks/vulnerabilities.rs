//! Known vulnerabilities (group 7): every match of the policy's severity in a local, dated
//! vulnerability database, and every KEV-listed one, covered by a trusted signed VEX statement.
//!
//! Not built yet: the `consign-vuln` crate (the database and its matcher) is under way. Until it
//! is, the database is never available, so this check is *unavailable* and, by the verdict rule
//! of [`super`], a failure under any policy that requires it, never a silent pass. The matching
//! goes into [`known`]; whether a database was given goes into [`database_missing`].

use super::prelude::*;

/// The check. Runs only once [`database_missing`] says a database is there.
pub(super) fn known(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    // Reached only when a database is available, which no build has yet; fail closed anyway.
    let _ = (evidence, config);
    unavailable(NO_DATABASE, NO_DATABASE_FIX)
}

const NO_DATABASE: &str =
    "no vulnerability database, so the components cannot be matched against known vulnerabilities";
const NO_DATABASE_FIX: &str = "build a local vulnerability database with `consign vuln db import ...` and verify again, or set `when-unavailable` for `vulnerabilities.known` in the policy";

/// Why the check cannot run for want of a vulnerability database, or `None` when one is there.
// Always `Some` until consign-vuln hands the verifier a database; the signature is the seam.
#[allow(clippy::unnecessary_wraps)]
pub(super) fn database_missing(evidence: &Evidence<'_>) -> Option<Outcome> {
    let _ = evidence;
    Some(unavailable(NO_DATABASE, NO_DATABASE_FIX))
}
