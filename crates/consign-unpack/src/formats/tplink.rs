//! TP-Link firmware headers (version 1 and 2, as written by `OpenWrt`'s `mktplinkfw`): a 512-byte
//! big-endian header naming the vendor and the offsets of the kernel and the root filesystem.

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::Budget;
use crate::fs::{FsListing, Probe};

use super::{c_string, file, u32be};

const HEADER: usize = 0x200;

/// Version 1 or 2, a printable vendor name, and offsets that fit in the stated length.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    // `mktplinkfw` stores the version as 0x01000000 or 0x02000000.
    let word = u32be(data, 0)?;
    let version = word >> 24;
    if !(1..=2).contains(&version) || word & 0x00ff_ffff != 0 {
        return None;
    }
    let vendor = c_string(data.get(4..28)?);
    let firmware = c_string(data.get(28..64)?);
    if vendor.len() < 4
        || !vendor
            .bytes()
            .chain(firmware.bytes())
            .all(|b| (0x20..0x7f).contains(&b))
    {
        return None;
    }
    let length = u32be(data, 0x7c)? as usize;
    let kernel_offset = u32be(data, 0x80)? as usize;
    if length < HEADER || kernel_offset < HEADER || kernel_offset >= length {
        return None;
    }
    Some(Probe {
        format: "tplink",
        size: Some(length.min(data.len()) as u64),
        description: format!(
            "TP-Link firmware v{version}, `{vendor}` `{firmware}`, hardware {:#010x}",
            u32be(data, 0x40)?
        ),
    })
}

/// Lists the kernel and the root filesystem (which runs to the end of the firmware).
pub(crate) fn extract(data: &Bytes, _budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let (Some(length), Some(kernel_offset), Some(kernel_len), Some(rootfs_offset)) = (
        u32be(data, 0x7c),
        u32be(data, 0x80),
        u32be(data, 0x84),
        u32be(data, 0x88),
    ) else {
        return listing;
    };
    let length = length as usize;
    if length > data.len() {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "TP-Link header says {length} bytes but only {} remain",
                    data.len()
                ),
            )
            .at(0x7c),
        );
    }
    let end = length.min(data.len());
    listing.size = Some(end as u64);
    let kernel_offset = kernel_offset as usize;
    let kernel_end = kernel_offset.saturating_add(kernel_len as usize).min(end);
    if kernel_offset < kernel_end {
        listing
            .entries
            .push(file("kernel", data.slice(kernel_offset..kernel_end), None));
    }
    let rootfs_offset = rootfs_offset as usize;
    if rootfs_offset >= kernel_end && rootfs_offset < end {
        listing
            .entries
            .push(file("rootfs", data.slice(rootfs_offset..end), None));
    } else if rootfs_offset != 0 {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "TP-Link root filesystem offset {rootfs_offset:#x} is outside the firmware"
                ),
            )
            .at(0x88),
        );
    }
    listing
}
