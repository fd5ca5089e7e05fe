//! Shared types of consign, used by every other crate.
//!
//! - [`Vfs`] is what unpacking produces and detection consumes: a flat list of [`VfsNode`]s (files,
//!   directories, links), each with the chain of containers it came from ([`Provenance`]).
//! - [`Component`] is one identified piece of software with its [`Occurrence`]s (the evidence).
//! - [`Digests`] holds the SHA-256 and SHA-512 of some bytes, the two hashes every output carries.
//! - [`ProductFile`] holds the facts about a product that only its manufacturer can give.
//! - [`Diagnostic`] is a problem found in the input that did not stop the work; a [`Cut`] is a part
//!   of the input that was not read (a limit, an unsupported feature), so a result is incomplete.
//! - [`binary`] holds the byte readers every parser of untrusted bytes uses.
//! - [`json`] is the one strict JSON reader (no duplicate keys, bounded size and depth) for every
//!   document that is signed or verified.
//!
//! This crate does no I/O and holds no policy: only data and the few pure functions that belong to it.

pub mod android;
pub mod binary;
mod component;
mod cut;
mod diagnostic;
mod digest;
pub mod json;
mod product;
mod vfs;

pub use component::{Component, ComponentKind, Confidence, Method, Occurrence, Upstream};
pub use cut::{Cut, CutReason};
pub use diagnostic::{Diagnostic, Severity};
pub use digest::{Digests, HexDigestError, Sha256, Sha512};
pub use product::{
    Conformity, CraClass, Date, DateError, DeclaredFinding, DeviceKeys, Identifier, Labels,
    Manufacturer, PRODUCT_FILE_MAX_BYTES, PasswordScheme, Product, ProductFile, ProductFileError,
    ProductGap, SecurityProperties, SupportPeriod, UkStatementOfCompliance, UpdateMechanism,
    VulnerabilityDisclosure, gtin_is_valid,
};
pub use vfs::{NodeKind, Provenance, Vfs, VfsNode};
