//! Known vulnerabilities, offline.
pub mod cpe;
pub mod cvss;
pub mod db;
pub mod document;
pub mod epss;
mod error;
pub mod import;
pub mod kev;
pub mod matching;
pub mod nvd;
pub mod osv;
pub mod purl;
pub mod record;
pub mod version;

pub use error::VulnError;

#[cfg(test)]
mod test_support;
