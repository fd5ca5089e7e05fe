//! Android dynamic partitions: the `super` partition (Android 10 and later) holding `system`,
//! `vendor`, `product`, ... as logical partitions, each a list of extents of the super device,
//! described by liblp's metadata.
//!
//! Layout: 4 KiB reserved, the geometry (magic `gDla`, its own SHA-256, the metadata's slot count
//! and maximum size) at 4096 and its backup at 8192, then the metadata slots from 12288, primary
//! ones then their backups. A slot is a header (magic `0PLA`, version 10.0 to 10.2, the SHA-256 of
//! the header and of the tables) and four tables: partitions (name, attributes, first extent, extent
//! count), extents (sectors of 512 bytes; linear at a sector of a block device, or zeros), groups
//! and block devices.
//!
//! Each partition of slot 0 becomes `NAME.img`: a view into the input when it is one linear extent
//! (the usual case in factory images), else its extents joined in one buffer reserved from the
//! budget. A partition with extents on another block device (a super split across several) or
//! past the input's end is left out with a diagnostic; a partition without extents (the other A/B
//! slot's, in a factory image) is no file. Damaged primary metadata falls back to its backup.

use bytes::Bytes;
use consign_model::binary::{u16le, u32le, u64le};
use consign_model::{CutReason, Diagnostic};
use sha2::Digest as _;

use crate::Budget;
use crate::fs::{FsListing, Probe};

use super::file;

const GEOMETRY_AT: usize = 4096;
const GEOMETRY_SIZE: usize = 4096;
const GEOMETRY_STRUCT: usize = 52;
const GEOMETRY_MAGIC: u32 = 0x616c_4467;
const HEADER_MAGIC: u32 = 0x414c_5030;
const SECTOR: u64 = 512;
/// Metadata of real devices is 64 KiB a slot; liblp allows up to this.
const MAX_METADATA: u32 = 1 << 20;
const MAX_PARTITIONS: u32 = 1024;

/// (size of one metadata slot, number of slots).
fn geometry(data: &[u8]) -> Option<(usize, usize)> {
    let at = GEOMETRY_AT;
    if u32le(data, at)? != GEOMETRY_MAGIC || u32le(data, at + 4)? as usize != GEOMETRY_STRUCT {
        return None;
    }
    let geometry = data.get(at..at + GEOMETRY_STRUCT)?;
    let mut zeroed = geometry.to_vec();
    zeroed[8..40].fill(0);
    if sha2::Sha256::digest(&zeroed).as_slice() != &geometry[8..40] {
        return None;
    }
    let (max_size, slots, block) = (
        u32le(data, at + 40)?,
        u32le(data, at + 44)?,
        u32le(data, at + 48)?,
    );
    let valid = max_size > 0
        && max_size <= MAX_METADATA
        && max_size % SECTOR as u32 == 0
        && (1..=4).contains(&slots)
        && block >= SECTOR as u32
        && block % SECTOR as u32 == 0;
    valid.then_some((max_size as usize, slots as usize))
}

/// The geometry at 4096 (or its copy at 8192), checked by its SHA-256.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let (max_size, slots) = geometry(data).or_else(|| geometry(data.get(GEOMETRY_SIZE..)?))?;
    Some(Probe {
        format: "android-super",
        size: None,
        description: format!(
            "Android super partition (dynamic partitions), {slots} metadata slots of {max_size} bytes"
        ),
    })
}

/// One table of a metadata slot: where it is in the tables, how many entries, each how long.
struct Table {
    offset: usize,
    count: usize,
    entry: usize,
}

/// A metadata slot's tables, checked against the header's SHA-256 of them.
struct Metadata<'a> {
    tables: &'a [u8],
    partitions: Table,
    extents: Table,
}

impl Metadata<'_> {
    fn entry(&self, table: &Table, index: usize) -> Option<&[u8]> {
        let at = table.offset.checked_add(index.checked_mul(table.entry)?)?;
        self.tables.get(at..at.checked_add(table.entry)?)
    }
}

fn read_slot(slot: &[u8]) -> Result<Metadata<'_>, String> {
    if u32le(slot, 0) != Some(HEADER_MAGIC) {
        return Err("no metadata header magic".into());
    }
    let (major, minor) = (u16le(slot, 4).unwrap_or(0), u16le(slot, 6).unwrap_or(0));
    if major != 10 || minor > 2 {
        return Err(format!(
            "metadata version {major}.{minor} is not 10.0 to 10.2"
        ));
    }
    let header_size = u32le(slot, 8).unwrap_or(0) as usize;
    let expected = if minor >= 2 { 256 } else { 128 };
    if header_size != expected {
        return Err(format!(
            "a version 10.{minor} header of {header_size} bytes, not {expected}"
        ));
    }
    let header = slot.get(..header_size).ok_or("the header is cut short")?;
    let mut zeroed = header.to_vec();
    zeroed[12..44].fill(0);
    if sha2::Sha256::digest(&zeroed).as_slice() != &header[12..44] {
        return Err("the header's SHA-256 does not match".into());
    }
    let tables_size = u32le(slot, 44).unwrap_or(0) as usize;
    let tables = slot
        .get(header_size..header_size.saturating_add(tables_size))
        .ok_or("the tables run past the metadata slot")?;
    if sha2::Sha256::digest(tables).as_slice() != &header[48..80] {
        return Err("the tables' SHA-256 does not match".into());
    }
    let table = |at: usize, smallest: usize, what: &str| -> Result<Table, String> {
        let (offset, count, entry) = (
            u32le(header, at).unwrap_or(0) as usize,
            u32le(header, at + 4).unwrap_or(0) as usize,
            u32le(header, at + 8).unwrap_or(0) as usize,
        );
        let end = count
            .checked_mul(entry)
            .and_then(|len| len.checked_add(offset))
            .filter(|end| *end <= tables.len());
        if entry < smallest || end.is_none() || count > MAX_PARTITIONS as usize * 16 {
            return Err(format!("the {what} table does not fit the tables"));
        }
        Ok(Table {
            offset,
            count,
            entry,
        })
    };
    Ok(Metadata {
        tables,
        partitions: table(80, 52, "partition")?,
        extents: table(92, 24, "extent")?,
    })
}

/// Each logical partition of slot 0, as `NAME.img`.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some((max_size, slots)) = geometry(data).or_else(|| geometry(data.get(GEOMETRY_SIZE..)?))
    else {
        return listing;
    };
    let primary = GEOMETRY_AT + 2 * GEOMETRY_SIZE;
    let backup = primary + slots * max_size;
    let slot_at = |at: usize| data.get(at..at + max_size);
    let metadata = match slot_at(primary).map(read_slot) {
        Some(Ok(metadata)) => metadata,
        primary_result => {
            let why = match primary_result {
                Some(Err(why)) => why,
                _ => "the input ends before it".to_owned(),
            };
            let Some(Ok(metadata)) = slot_at(backup).map(read_slot) else {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        "",
                        format!(
                            "the dynamic partitions' metadata is damaged ({why}), and so is its \
                             backup; no partition is read"
                        ),
                    )
                    .at(primary as u64)
                    .with_hint("check that the super image is whole"),
                );
                // The metadata is claimed, so that the damage is reported; what follows it is
                // searched as any bytes are.
                listing.size = Some(backup.saturating_add(slots * max_size).min(data.len()) as u64);
                return listing;
            };
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("the primary metadata is damaged ({why}); its backup is read"),
                )
                .at(primary as u64),
            );
            metadata
        }
    };
    let mut end = backup + slots * max_size;
    for index in 0..metadata.partitions.count.min(MAX_PARTITIONS as usize) {
        let Some(entry) = metadata.entry(&metadata.partitions, index) else {
            break;
        };
        let name_bytes = &entry[..36];
        let name_len = name_bytes.iter().position(|&b| b == 0).unwrap_or(36);
        let name = String::from_utf8_lossy(&name_bytes[..name_len]).into_owned();
        let (first, count) = (
            u32le(entry, 40).unwrap_or(0) as usize,
            u32le(entry, 44).unwrap_or(0) as usize,
        );
        if count == 0 {
            continue;
        }
        let image_name = if name.is_empty() || name.contains('/') {
            format!("partition-{index}.img")
        } else {
            format!("{name}.img")
        };
        match partition(data, &metadata, first, count) {
            Ok(pieces) => {
                if let Some(last) = pieces
                    .iter()
                    .filter_map(|piece| piece.linear)
                    .map(|(_, to)| to)
                    .max()
                {
                    end = end.max(last);
                }
                if let Some(image) = join(&pieces, data, budget, &image_name, &mut listing) {
                    listing.entries.push(file(image_name, image, None));
                }
            }
            Err(why) => listing.cut(
                Diagnostic::warning(&image_name, format!("partition `{name}` not read: {why}")),
                format!("partition `{name}`"),
                CutReason::Unsupported,
            ),
        }
    }
    listing.size = Some(end.min(data.len()) as u64);
    listing
}

/// One extent: bytes of the input (`linear`) or `zeros` of them.
struct Piece {
    linear: Option<(usize, usize)>,
    zeros: usize,
}

fn partition(
    data: &[u8],
    metadata: &Metadata<'_>,
    first: usize,
    count: usize,
) -> Result<Vec<Piece>, String> {
    if first
        .checked_add(count)
        .is_none_or(|end| end > metadata.extents.count)
    {
        return Err("its extents are not in the extent table".into());
    }
    (first..first + count)
        .map(|index| {
            let extent = metadata
                .entry(&metadata.extents, index)
                .ok_or("an extent past the table")?;
            let (sectors, kind, target, source) = (
                u64le(extent, 0).unwrap_or(0),
                u32le(extent, 8).unwrap_or(u32::MAX),
                u64le(extent, 12).unwrap_or(0),
                u32le(extent, 20).unwrap_or(u32::MAX),
            );
            let len = sectors
                .checked_mul(SECTOR)
                .and_then(|len| usize::try_from(len).ok())
                .ok_or("an extent of more sectors than any device")?;
            match kind {
                0 if source != 0 => Err(format!(
                    "an extent lies on block device {source}, another part of a split super"
                )),
                0 => {
                    let from = target
                        .checked_mul(SECTOR)
                        .and_then(|at| usize::try_from(at).ok())
                        .ok_or("an extent past any device")?;
                    let to = from.checked_add(len).ok_or("an extent past any device")?;
                    if to > data.len() {
                        return Err(format!(
                            "an extent ends at byte {to}, past the image's {} (a sparse or cut image?)",
                            data.len()
                        ));
                    }
                    Ok(Piece {
                        linear: Some((from, to)),
                        zeros: 0,
                    })
                }
                1 => Ok(Piece {
                    linear: None,
                    zeros: len,
                }),
                other => Err(format!("an extent of unknown type {other}")),
            }
        })
        .collect()
}

/// The partition's bytes: a view when it is one linear extent, else one reserved buffer.
fn join(
    pieces: &[Piece],
    data: &Bytes,
    budget: &Budget,
    name: &str,
    listing: &mut FsListing,
) -> Option<Bytes> {
    if let [
        Piece {
            linear: Some((from, to)),
            ..
        },
    ] = pieces
    {
        return Some(data.slice(*from..*to));
    }
    let len: usize = pieces
        .iter()
        .map(|piece| piece.linear.map_or(piece.zeros, |(from, to)| to - from))
        .fold(0usize, usize::saturating_add);
    let stored: usize = pieces
        .iter()
        .filter_map(|piece| piece.linear.map(|(from, to)| to - from))
        .sum();
    let reservation = match budget.reserve_expansion(len as u64, stored.max(1) as u64) {
        Ok(reservation) => reservation,
        Err(limit) => {
            listing.cut(
                Diagnostic::warning(name, format!("{name} is {len} bytes; not read: {limit}"))
                    .with_hint(limit.hint()),
                name.to_owned(),
                limit.into(),
            );
            return None;
        }
    };
    let mut out = Vec::with_capacity(len);
    for piece in pieces {
        match piece.linear {
            Some((from, to)) => out.extend_from_slice(&data[from..to]),
            None => out.resize(out.len() + piece.zeros, 0),
        }
    }
    reservation.commit(out.len() as u64);
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{files, mangle};

    /// A partition's name and extents: (sectors, type, target sector) each.
    type Layout<'a> = (&'a str, &'a [(u64, u32, u64)]);

    /// A super image as liblp lays it out: one metadata slot of 64 KiB, the partitions' layouts,
    /// data after the metadata.
    fn image(partitions: &[Layout<'_>], data: &[(u64, &[u8])], size: usize) -> Vec<u8> {
        let max = 65536usize;
        let mut out = vec![0u8; size];
        let mut geometry = Vec::new();
        for value in [GEOMETRY_MAGIC, GEOMETRY_STRUCT as u32] {
            geometry.extend_from_slice(&value.to_le_bytes());
        }
        geometry.extend_from_slice(&[0; 32]);
        for value in [max as u32, 1, 4096] {
            geometry.extend_from_slice(&value.to_le_bytes());
        }
        let digest = sha2::Sha256::digest(&geometry);
        geometry[8..40].copy_from_slice(&digest);
        out[4096..4096 + 52].copy_from_slice(&geometry);
        out[8192..8192 + 52].copy_from_slice(&geometry);
        let mut table_partitions = Vec::new();
        let mut table_extents = Vec::new();
        let mut extent_count = 0u32;
        for (name, extents) in partitions {
            let mut entry = [0u8; 52];
            entry[..name.len()].copy_from_slice(name.as_bytes());
            entry[40..44].copy_from_slice(&extent_count.to_le_bytes());
            entry[44..48].copy_from_slice(&(extents.len() as u32).to_le_bytes());
            table_partitions.extend_from_slice(&entry);
            for &(sectors, kind, target) in *extents {
                table_extents.extend_from_slice(&sectors.to_le_bytes());
                table_extents.extend_from_slice(&kind.to_le_bytes());
                table_extents.extend_from_slice(&target.to_le_bytes());
                table_extents.extend_from_slice(&0u32.to_le_bytes());
                extent_count += 1;
            }
        }
        let tables = [table_partitions.clone(), table_extents.clone()].concat();
        let mut header = vec![0u8; 128];
        header[..4].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
        header[4..6].copy_from_slice(&10u16.to_le_bytes());
        header[8..12].copy_from_slice(&128u32.to_le_bytes());
        header[44..48].copy_from_slice(&(tables.len() as u32).to_le_bytes());
        header[48..80].copy_from_slice(&sha2::Sha256::digest(&tables));
        for (at, values) in [
            (80, [0, partitions.len() as u32, 52]),
            (92, [table_partitions.len() as u32, extent_count, 24]),
            (104, [tables.len() as u32, 0, 48]),
            (116, [tables.len() as u32, 0, 64]),
        ] {
            for (i, value) in values.iter().enumerate() {
                header[at + 4 * i..at + 4 * i + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
        let digest = sha2::Sha256::digest(&header);
        header[12..44].copy_from_slice(&digest);
        let slot = [header, tables].concat();
        out[12288..12288 + slot.len()].copy_from_slice(&slot);
        out[12288 + max..12288 + max + slot.len()].copy_from_slice(&slot);
        for &(sector, bytes) in data {
            let at = sector as usize * 512;
            out[at..at + bytes.len()].copy_from_slice(bytes);
        }
        out
    }

    fn unpack(data: Vec<u8>) -> FsListing {
        extract(&Bytes::from(data), &Budget::new(Limits::default()))
    }

    #[test]
    fn partitions_are_views_or_their_extents_joined() {
        let system = [b'S'; 1024];
        let vendor_tail = [b'v'; 512];
        let data = image(
            &[
                ("system_a", &[(2, 0, 300)]),
                ("vendor_a", &[(1, 0, 310), (1, 1, 0), (1, 0, 302)]),
                ("system_b", &[]),
            ],
            &[(300, &system), (302, &vendor_tail), (310, &[b'V'; 512])],
            320 * 512,
        );
        let probe = probe(&data).unwrap();
        assert_eq!(probe.format, "android-super");
        let listing = unpack(data);
        assert!(listing.diagnostics.is_empty(), "{:?}", listing.diagnostics);
        let expected_vendor = [vec![b'V'; 512], vec![0; 512], vec![b'v'; 512]].concat();
        assert_eq!(
            files(&listing),
            [
                ("system_a.img".to_owned(), system.to_vec()),
                ("vendor_a.img".to_owned(), expected_vendor)
            ]
        );
    }

    #[test]
    fn the_fixture_gives_the_partitions_lpunpack_extracts() {
        // fixtures/unpack/android-ota/make_payload.py lays it out with the liblp package's
        // structures; tests/interop/android_ota.rs compares with its lpunpack.
        let data = crate::fs::test_support::gunzip("fixtures/unpack/android-ota/super.img.gz");
        let listing = unpack(data);
        assert!(listing.diagnostics.is_empty(), "{:?}", listing.diagnostics);
        let images = files(&listing);
        let names: Vec<&str> = images.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["system_a.img", "vendor_a.img"]);
        assert_eq!(
            &images[0].1[1024 + 0x38..1024 + 0x3a],
            &[0x53, 0xef],
            "ext4 magic"
        );
        assert!(images[1].1.starts_with(b"vendor partition line 0000\n"));
    }

    #[test]
    fn damaged_primary_metadata_falls_back_to_its_backup() {
        let mut data = image(
            &[("system_a", &[(1, 0, 300)])],
            &[(300, &[7; 512])],
            301 * 512,
        );
        data[12288 + 200] ^= 1;
        let listing = unpack(data.clone());
        assert_eq!(listing.entries.len(), 1);
        assert!(
            listing.diagnostics[0]
                .message
                .contains("its backup is read")
        );
        data[12288 + 65536 + 200] ^= 1;
        let listing = unpack(data);
        assert!(listing.entries.is_empty());
        assert!(
            listing.diagnostics[0]
                .message
                .contains("and so is its backup")
        );
    }

    #[test]
    fn extents_that_cannot_be_read_cut_their_partition_only() {
        let data = image(
            &[
                ("past_end", &[(8, 0, 1000)]),
                ("zeros", &[(1 << 40, 1, 0), (1 << 40, 1, 0)]),
                ("good", &[(1, 0, 300)]),
            ],
            &[(300, b"good data")],
            301 * 512,
        );
        let listing = unpack(data);
        let names: Vec<String> = files(&listing).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["good.img"]);
        assert!(
            listing.diagnostics[0].message.contains("past the image's"),
            "{:?}",
            listing.diagnostics
        );
        assert_eq!(listing.cuts.len(), 2, "{:?}", listing.cuts);
    }

    #[test]
    fn damaged_images_never_panic() {
        let data = image(
            &[
                ("system_a", &[(2, 0, 300)]),
                ("vendor_a", &[(1, 0, 302), (1, 1, 0)]),
            ],
            &[(300, &[1; 1024]), (302, &[2; 512])],
            304 * 512,
        );
        let cuts: Vec<usize> = (4096 + 52..data.len()).step_by(4099).collect();
        mangle(
            &data,
            |data, budget| extract(&Bytes::copy_from_slice(data), budget),
            &cuts,
        );
        // A geometry whose SHA-256 does not match is no super image.
        let mut bad = data.clone();
        bad[4096 + 40] ^= 1;
        bad[8192 + 40] ^= 1;
        assert!(probe(&bad).is_none());
    }
}
