//! Broadcom TRX firmware headers (`HDR0`): length, CRC-32 and up to three (v1) or four (v2)
//! partition offsets (typically loader, kernel, root filesystem).

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::Budget;
use crate::binary::u32le;
use crate::fs::{FsListing, Probe};

use super::{file, human_size};

/// Magic, a version of 1 or 2, a length that fits, and ordered partition offsets.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    if data.get(..4)? != b"HDR0" {
        return None;
    }
    let len = u32le(data, 4)? as usize;
    let version = u32le(data, 12)? >> 16;
    if !(1..=2).contains(&version) || len < 28 || len > data.len() {
        return None;
    }
    let offsets = offsets(data, version)?;
    if offsets.iter().any(|&o| o >= len) || offsets.windows(2).any(|w| w[0] >= w[1]) {
        return None;
    }
    Some(Probe {
        format: "trx",
        size: Some(len as u64),
        description: format!(
            "TRX v{version} firmware, {} partitions, {}",
            offsets.len(),
            human_size(len as u64)
        ),
    })
}

/// The non-zero partition offsets.
fn offsets(data: &[u8], version: u32) -> Option<Vec<usize>> {
    let count = if version == 2 { 4 } else { 3 };
    let mut out = Vec::new();
    for index in 0..count {
        let offset = u32le(data, 16 + 4 * index)? as usize;
        if offset != 0 {
            out.push(offset);
        }
    }
    Some(out)
}

/// Lists the partitions and checks the CRC.
pub(crate) fn extract(data: &Bytes, _budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let (Some(len), Some(crc), Some(flags)) = (u32le(data, 4), u32le(data, 8), u32le(data, 12))
    else {
        return listing;
    };
    let len = (len as usize).min(data.len());
    listing.size = Some(len as u64);
    let covered = data.get(12..len).unwrap_or_default();
    // TRX stores the CRC-32 register without the final inversion.
    if !crc32fast::hash(covered) != crc {
        listing
            .diagnostics
            .push(Diagnostic::warning("", "TRX CRC-32 does not match the header").at(8));
    }
    let offsets = offsets(data, flags >> 16).unwrap_or_default();
    for (index, &start) in offsets.iter().enumerate() {
        let end = offsets.get(index + 1).copied().unwrap_or(len).min(len);
        if start < end {
            listing
                .entries
                .push(file(format!("part{index}"), data.slice(start..end), None));
        }
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn partitions_and_crc() {
        let mut data = b"HDR0".to_vec();
        data.extend(48u32.to_le_bytes());
        data.extend(0u32.to_le_bytes());
        data.extend((1u32 << 16).to_le_bytes());
        data.extend(28u32.to_le_bytes());
        data.extend(36u32.to_le_bytes());
        data.extend(0u32.to_le_bytes());
        data.extend(b"kernel..rootfs-rootfs..");
        data.truncate(48);
        let crc = !crc32fast::hash(&data[12..48]);
        data[8..12].copy_from_slice(&crc.to_le_bytes());
        assert!(probe(&data).is_some());
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert!(listing.diagnostics.is_empty());
        assert_eq!(listing.entries.len(), 2);
        assert_eq!(listing.entries[1].path, "part1");
    }
}
