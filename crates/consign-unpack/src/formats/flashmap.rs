//! Memory images from address-tagged records, for the formats microcontroller firmware is shipped
//! in (Intel HEX, Motorola S-records, UF2): each record puts some bytes at a flash address, and the
//! firmware is what they make together.
//!
//! Records are sorted by address and joined into regions where they touch or leave a gap of at
//! most [`MAX_GAP`] bytes, which is filled with `0xff`, the value of erased flash (sections are
//! aligned, so a linker leaves such gaps between them). A farther record starts a new region. Each
//! region is one file named by its start address (`0x08000000.bin`), so a string the firmware
//! keeps is found where it would be in flash. A region's size comes from the data the records
//! carry, never from their addresses alone, and is reserved from the [`Budget`] before it is
//! allocated; so is the working copy of the records' bytes, as they are read. Where records overlap, the one at the lower address (then the earlier) wins and a
//! diagnostic says where the rest was dropped.

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::budget::Reservation;
use crate::fs::FsListing;
use crate::{Budget, Limit};

use super::file;

/// The widest gap between two records that still joins them into one region.
pub(crate) const MAX_GAP: u64 = 4096;

/// The records of one file, as they were read.
pub(crate) struct Records<'a> {
    /// Every record's bytes, one after the other.
    payload: Vec<u8>,
    /// (flash address, where its bytes start in `payload`, how many, byte offset in the file).
    entries: Vec<(u64, usize, usize, u64)>,
    /// The budget's account of `payload` and `entries`.
    held: Reservation<'a>,
}

/// What one record's entry in [`Records::entries`] costs besides its bytes.
const RECORD_COST: u64 = 32;

impl<'a> Records<'a> {
    pub(crate) fn new(budget: &'a Budget) -> Self {
        Self {
            payload: Vec::new(),
            entries: Vec::new(),
            held: budget.working_memory(),
        }
    }

    /// Adds the bytes one record puts at `address`; `offset` is the record's place in the file.
    /// Refused, with nothing added, when the budget cannot hold them.
    pub(crate) fn push(&mut self, address: u64, bytes: &[u8], offset: u64) -> Result<(), Limit> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.held.grow(bytes.len() as u64 + RECORD_COST)?;
        self.entries
            .push((address, self.payload.len(), bytes.len(), offset));
        self.payload.extend_from_slice(bytes);
        Ok(())
    }

    /// True when no record carried data.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Joins the records into regions and adds one file per region to `listing`, each path
    /// prefixed with `folder` (empty for none).
    pub(crate) fn into_regions(mut self, folder: &str, listing: &mut FsListing, budget: &Budget) {
        // Regions are reserved one by one below; the records' copy stays held until they are
        // written.
        self.entries
            .sort_by_key(|&(address, _, _, offset)| (address, offset));
        let mut region: Vec<(u64, usize, usize, u64)> = Vec::new();
        let mut end = 0u64;
        let mut overlaps = 0usize;
        let mut regions = Vec::new();
        for record in self.entries.drain(..) {
            let (address, start, len, offset) = record;
            let record_end = address.saturating_add(len as u64);
            if region.is_empty() || address > end.saturating_add(MAX_GAP) {
                if !region.is_empty() {
                    regions.push(std::mem::take(&mut region));
                }
                region.push(record);
                end = record_end;
                continue;
            }
            if address < end {
                // Keep only what lies past the region's end.
                overlaps += 1;
                if overlaps == 1 {
                    listing.diagnostics.push(
                        Diagnostic::warning(
                            "",
                            format!(
                                "records overlap at flash address {address:#x}: the bytes already \
                                 placed there are kept"
                            ),
                        )
                        .at(offset),
                    );
                }
                if record_end <= end {
                    continue;
                }
                let skip = usize::try_from(end - address).unwrap_or(len);
                region.push((end, start + skip, len - skip, offset));
            } else {
                region.push(record);
            }
            end = end.max(record_end);
        }
        if !region.is_empty() {
            regions.push(region);
        }
        if overlaps > 1 {
            listing.diagnostics.push(Diagnostic::warning(
                "",
                format!("{overlaps} records overlap others in all; only the first bytes at each address are kept"),
            ));
        }
        for region in regions {
            self.write_region(&region, folder, listing, budget);
        }
    }

    fn write_region(
        &self,
        region: &[(u64, usize, usize, u64)],
        folder: &str,
        listing: &mut FsListing,
        budget: &Budget,
    ) {
        let (Some(&(first, ..)), Some(&(last, _, last_len, _))) = (region.first(), region.last())
        else {
            return;
        };
        // Records are sorted and gaps bounded, so the span is at most the data plus one gap
        // per record.
        let span = last.saturating_add(last_len as u64).saturating_sub(first);
        let name = if folder.is_empty() {
            format!("{first:#010x}.bin")
        } else {
            format!("{folder}/{first:#010x}.bin")
        };
        let reservation = match budget.reserve(span) {
            Ok(reservation) => reservation,
            Err(limit) => {
                listing.cut(
                    Diagnostic::warning(
                        name.clone(),
                        format!(
                            "the flash region at {first:#x} ({span} bytes) is not kept: {limit}"
                        ),
                    )
                    .at(region[0].3)
                    .with_hint(limit.hint()),
                    format!("the flash region at {first:#x}"),
                    limit.into(),
                );
                return;
            }
        };
        let Ok(span_len) = usize::try_from(span) else {
            return;
        };
        let mut image = vec![0xffu8; span_len];
        for &(address, start, len, _) in region {
            let at = usize::try_from(address.saturating_sub(first)).unwrap_or(usize::MAX);
            if let (Some(target), Some(bytes)) = (
                image.get_mut(at..at.saturating_add(len)),
                self.payload.get(start..start + len),
            ) {
                target.copy_from_slice(bytes);
            }
        }
        reservation.commit(span);
        listing
            .entries
            .push(file(name, Bytes::from(image), Some(0o644)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::test_support::files;

    fn regions(records: Records<'_>) -> FsListing {
        let mut listing = FsListing::default();
        records.into_regions("", &mut listing, &Budget::new(Limits::default()));
        listing
    }

    #[test]
    fn records_join_into_regions_by_address() {
        let budget = Budget::new(Limits::default());
        let mut records = Records::new(&budget);
        // Out of order, touching, a small gap, then a far one.
        records.push(0x0800_0004, b"EFGH", 1).unwrap();
        records.push(0x0800_0000, b"ABCD", 0).unwrap();
        records.push(0x0800_000a, b"K", 2).unwrap();
        records.push(0x2000_0000, b"far", 3).unwrap();
        let listing = regions(records);
        assert_eq!(
            files(&listing),
            [
                ("0x08000000.bin".to_owned(), b"ABCDEFGH\xff\xffK".to_vec()),
                ("0x20000000.bin".to_owned(), b"far".to_vec())
            ]
        );
        assert!(listing.diagnostics.is_empty());
    }

    #[test]
    fn overlapping_records_keep_the_first_bytes() {
        let budget = Budget::new(Limits::default());
        let mut records = Records::new(&budget);
        records.push(0x100, b"ABCD", 0).unwrap();
        records.push(0x102, b"xyZW", 1).unwrap();
        records.push(0x100, b"no", 2).unwrap();
        let listing = regions(records);
        assert_eq!(
            files(&listing),
            [("0x00000100.bin".to_owned(), b"ABCDZW".to_vec())]
        );
        assert_eq!(listing.diagnostics.len(), 2, "{:?}", listing.diagnostics);
    }

    #[test]
    fn addresses_never_size_a_region() {
        // Two bytes four gigabytes apart are two files of one byte each.
        let budget = Budget::new(Limits::default());
        let mut records = Records::new(&budget);
        records.push(0, b"a", 0).unwrap();
        records.push(u64::from(u32::MAX), b"b", 1).unwrap();
        let listing = regions(records);
        assert_eq!(
            files(&listing),
            [
                ("0x00000000.bin".to_owned(), b"a".to_vec()),
                ("0xffffffff.bin".to_owned(), b"b".to_vec())
            ]
        );
    }

    #[test]
    fn a_region_over_the_limits_is_cut() {
        let budget = Budget::new(Limits::default());
        let mut records = Records::new(&budget);
        records.push(0, &[1u8; 64], 0).unwrap();
        let mut listing = FsListing::default();
        let budget = Budget::new(Limits {
            max_file_bytes: 16,
            ..Limits::default()
        });
        records.into_regions("", &mut listing, &budget);
        assert!(listing.entries.is_empty());
        assert_eq!(listing.cuts.len(), 1);
    }

    #[test]
    fn the_records_copy_is_drawn_from_the_budget() {
        let budget = Budget::new(Limits {
            max_total_bytes: 100,
            ..Limits::default()
        });
        let mut records = Records::new(&budget);
        records.push(0, &[1u8; 60], 0).unwrap();
        assert!(records.push(60, &[2u8; 60], 1).is_err());
        drop(records);
        assert_eq!(budget.bytes_used(), 0, "released when dropped");
    }
}
