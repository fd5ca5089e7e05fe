//! TP-Link firmware headers.
//!
//! - Version 1 and 2, as written by `OpenWrt`'s `mktplinkfw`: a 512-byte big-endian header naming
//!   the vendor and the offsets of the kernel and the root filesystem.
//! - `IMG0`, on the `VxWorks` devices of TP-Link: a 4-byte word and an MD5 digest, then `IMG0` at 0x14, the
//!   length from there to the end (big-endian, at 0x18), and the payload's length at 0x58, the
//!   payload starting at 0x94. No published specification; the layout is read from the real sample
//!   `fact-tpl_wr.fw` (FACT's test data), whose two lengths both end exactly at the end of the file.
//!   The MD5 is not checked: what it covers (salted, as in TP-Link's other formats) is not known.
//!   The payload (boot code and LZMA-compressed `VxWorks` images) is left to the carver.

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::Budget;
use crate::binary::{c_string, u32be};
use crate::fs::{FsListing, Probe};

use super::file;

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

/// Where the `IMG0` payload starts, and the offsets of the two lengths.
const IMG0_MAGIC_AT: usize = 0x14;
const IMG0_PAYLOAD: usize = 0x94;
const IMG0_PAYLOAD_LEN_AT: usize = 0x58;

/// `IMG0` at 0x14, with the two lengths agreeing: the payload ends where the image does.
pub(crate) fn probe_img0(data: &[u8]) -> Option<Probe> {
    if data.get(IMG0_MAGIC_AT..IMG0_MAGIC_AT + 4)? != b"IMG0" {
        return None;
    }
    let length = u32be(data, 0x18)? as usize;
    let payload = u32be(data, IMG0_PAYLOAD_LEN_AT)? as usize;
    if payload == 0 || IMG0_PAYLOAD.checked_add(payload)? != IMG0_MAGIC_AT.checked_add(length)? {
        return None;
    }
    Some(Probe {
        format: "tplink-img0",
        size: Some((IMG0_MAGIC_AT + length).min(data.len()) as u64),
        description: format!(
            "TP-Link IMG0 firmware (VxWorks devices), {} payload, MD5 not checked",
            super::human_size(payload as u64)
        ),
    })
}

/// The `IMG0` payload as one file, for the carver to search.
pub(crate) fn extract_img0(data: &Bytes, _budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(payload) = u32be(data, IMG0_PAYLOAD_LEN_AT) else {
        return listing;
    };
    let end = IMG0_PAYLOAD.saturating_add(payload as usize);
    if end > data.len() {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "TP-Link IMG0 header says the payload ends at {end:#x} but the image has {} bytes",
                    data.len()
                ),
            )
            .at(IMG0_PAYLOAD_LEN_AT as u64),
        );
    }
    let end = end.min(data.len());
    listing.size = Some(end as u64);
    if IMG0_PAYLOAD < end {
        listing
            .entries
            .push(file("payload", data.slice(IMG0_PAYLOAD..end), None));
    }
    listing
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    fn img0(payload: &[u8]) -> Vec<u8> {
        let mut data = vec![0u8; IMG0_PAYLOAD];
        data[IMG0_MAGIC_AT..IMG0_MAGIC_AT + 4].copy_from_slice(b"IMG0");
        let length = (IMG0_PAYLOAD - IMG0_MAGIC_AT + payload.len()) as u32;
        data[0x18..0x1c].copy_from_slice(&length.to_be_bytes());
        data[IMG0_PAYLOAD_LEN_AT..IMG0_PAYLOAD_LEN_AT + 4]
            .copy_from_slice(&(payload.len() as u32).to_be_bytes());
        data.extend_from_slice(payload);
        data
    }

    #[test]
    fn img0_payload_and_lengths() {
        let data = img0(b"boot code and lzma streams");
        let probe = probe_img0(&data).unwrap();
        assert_eq!(probe.size, Some(data.len() as u64));
        let listing = extract_img0(&Bytes::from(data.clone()), &Budget::new(Limits::default()));
        assert_eq!(listing.entries.len(), 1);
        assert_eq!(listing.entries[0].path, "payload");
        assert!(listing.diagnostics.is_empty());

        // The two lengths must agree; a truncated image is read as far as it goes.
        let mut wrong = data.clone();
        wrong[0x1b] ^= 1;
        assert!(probe_img0(&wrong).is_none());
        let cut = Bytes::from(data[..data.len() - 4].to_vec());
        let listing = extract_img0(&cut, &Budget::new(Limits::default()));
        assert_eq!(listing.entries.len(), 1);
        assert_eq!(listing.diagnostics.len(), 1);
        assert!(probe_img0(&data[..0x40]).is_none());
    }
}
