//! Unpacks firmware images into a [`consign_model::Vfs`], in process, with bounded resources.
//!
//! - [`Limits`] bounds depth, entry count, output bytes and expansion ratio; [`Budget`] is the
//!   running account of one unpacking job against them, shared by parallel workers.
//! - [`decompress`] inflates every stream codec firmware uses, never past a given bound.
//! - [`fs`] holds the filesystem parsers, each `&[u8] -> FsListing`.
//!
//! Nothing here touches the file system except the confined writer, which puts an unpacked tree
//! into a folder without ever writing outside it.

mod budget;
pub mod decompress;
pub mod fs;
mod limits;

pub use budget::Budget;
pub use limits::{Limit, Limits};
