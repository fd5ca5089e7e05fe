//! in-toto v0.9 layouts and links, for teams that use in-toto today.
//!
//! - [`canonical`]: OLPC canonical JSON exactly as securesystemslib writes it.
//! - [`key`]: securesystemslib key dicts and keyids ([`IntotoKey`]).
//! - [`metadata`]: signed Metablocks and DSSE envelopes ([`Metadata`]).
//! - [`layout`] and [`link`]: the typed views of the signed JSON.
//! - [`rules`]: artifact rules (`MATCH`, `CREATE`, `DELETE`, `MODIFY`, `ALLOW`, `DISALLOW`, `REQUIRE`).
//! - [`verify`]: the in-toto verification algorithm (signatures, expiry, thresholds, rules,
//!   inspections).
//! - [`record`]: building a link for a step from hashed artifacts and a command's byproducts.
//! - [`fs`]: the edge that touches the file system (hashing artifacts, reading a link directory,
//!   running a command); everything else works on bytes and values.
//!
//! What is deliberately not supported: sublayouts (a link file that holds a layout), GPG keys and
//! signatures, RSA keys, and layout parameter substitution. Each is refused with an error that
//! names it, never silently skipped.

pub mod canonical;
pub mod fs;
pub mod key;
pub mod layout;
pub mod link;
pub mod metadata;
pub mod record;
pub mod rules;
pub mod verify;

pub use key::IntotoKey;
pub use layout::{Inspection, Layout, Step};
pub use link::Link;
pub use metadata::{Metadata, MetadataKind, Wrapping};
pub use verify::{InspectionRunner, RefuseInspections, VerifyOptions, VerifySummary, verify};
