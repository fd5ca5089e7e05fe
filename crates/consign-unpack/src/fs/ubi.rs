//! UBI (unsorted block images): the volume manager under UBIFS on raw NAND.
//!
//! A UBI image is a run of physical erase blocks (PEBs), each starting with an erase-counter
//! header (`UBI#`) and, when mapped, a volume-id header (`UBI!`) naming the volume and logical
//! erase block (LEB) it holds. The parser finds the headers, guesses the PEB size from their
//! spacing, reads the volume table from the layout volume, and assembles each volume's LEBs in
//! order (the copy with the highest sequence number wins). Each volume becomes one file entry
//! named after the volume, so the recursive unpacker then finds UBIFS or squashfs inside.
//!
//! Unmapped LEBs of a dynamic volume read as erased flash (0xFF), as the kernel returns them;
//! trailing unmapped LEBs are left out. Fastmap and the update marker are ignored (a volume
//! interrupted mid-update is still returned, with a diagnostic).

use std::collections::{BTreeMap, HashMap};

use consign_model::{Diagnostic, NodeKind, Severity};

use super::jffs2::{Diags, crc32_raw};
use super::{FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::{u16be, u32be, u64be};

const EC_MAGIC: &[u8; 4] = b"UBI#";
const VID_MAGIC: &[u8; 4] = b"UBI!";
const HEADER_LEN: usize = 64;
const LAYOUT_VOLUME_ID: u32 = 0x7fff_efff;
const VTBL_RECORD_LEN: usize = 172;
const MAX_VOLUMES: usize = 128;
/// Where erase-counter headers are looked for: every PEB size is a multiple of this.
const SCAN_STEP: usize = 512;

/// A valid erase-counter header at `at`.
#[derive(Clone, Copy, Debug)]
struct EcHeader {
    vid_hdr_offset: u32,
    data_offset: u32,
    image_seq: u32,
}

fn ec_header(data: &[u8], at: usize) -> Option<EcHeader> {
    let head = data.get(at..at + HEADER_LEN)?;
    if &head[..4] != EC_MAGIC || head[4] != 1 || crc32_raw(!0, &head[..60]) != u32be(head, 60)? {
        return None;
    }
    Some(EcHeader {
        vid_hdr_offset: u32be(head, 16)?,
        data_offset: u32be(head, 20)?,
        image_seq: u32be(head, 24)?,
    })
}

/// Accepts data that starts with a valid UBI erase-counter header.
pub fn probe(data: &[u8]) -> Option<Probe> {
    let ec = ec_header(data, 0)?;
    if (ec.vid_hdr_offset as usize) < HEADER_LEN || ec.data_offset <= ec.vid_hdr_offset {
        return None;
    }
    Some(Probe {
        format: "ubi",
        size: None,
        description: format!(
            "ubi, data offset {}, image sequence {:#x}",
            ec.data_offset, ec.image_seq
        ),
    })
}

/// One mapped LEB.
#[derive(Clone, Copy, Debug)]
struct Leb {
    peb: usize,
    sqnum: u64,
    data_size: u32,
    data_crc: u32,
    static_volume: bool,
    copy_flag: bool,
    used_ebs: u32,
    data_pad: u32,
}

/// A volume-table record with a valid CRC and reserved blocks.
#[derive(Clone, Debug)]
struct VolumeRecord {
    name: String,
    reserved_pebs: u32,
    static_volume: bool,
    upd_marker: bool,
}

/// The most common distance between consecutive headers: the PEB size.
fn guess_peb_size(positions: &[usize]) -> Option<usize> {
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for pair in positions.windows(2) {
        *counts.entry(pair[1] - pair[0]).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(size, count)| (count, size))
        .map(|(size, _)| size)
}

fn read_vtbl(leb: &[u8], diags: &mut Diags, at: usize) -> Option<BTreeMap<u32, VolumeRecord>> {
    let mut volumes = BTreeMap::new();
    let mut bad = 0;
    for idx in 0..MAX_VOLUMES.min(leb.len() / VTBL_RECORD_LEN) {
        let record = leb.get(idx * VTBL_RECORD_LEN..(idx + 1) * VTBL_RECORD_LEN)?;
        if crc32_raw(!0, &record[..168]) != u32be(record, 168)? {
            bad += 1;
            continue;
        }
        let reserved_pebs = u32be(record, 0)?;
        if reserved_pebs == 0 {
            continue;
        }
        let name_len = usize::from(u16be(record, 14)?);
        let name = record.get(16..16 + name_len.min(127))?;
        volumes.insert(
            idx as u32,
            VolumeRecord {
                name: String::from_utf8_lossy(name).into_owned(),
                reserved_pebs,
                static_volume: record[12] == 2,
                upd_marker: record[13] != 0,
            },
        );
    }
    if bad > 0 {
        diags.push(
            Diagnostic::warning(
                "",
                format!("{bad} ubi volume table records have a bad crc and were ignored"),
            )
            .at(at as u64),
        );
        if volumes.is_empty() {
            return None;
        }
    }
    Some(volumes)
}

/// Parses a whole UBI image into one file per volume.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut diags = Diags::default();
    let mut positions = Vec::new();
    let mut first: Option<EcHeader> = None;
    for at in (0..data.len()).step_by(SCAN_STEP) {
        if data.get(at..at + 4) != Some(EC_MAGIC) {
            continue;
        }
        if let Some(ec) = ec_header(data, at) {
            // A second UBI image glued after the first has another image sequence number.
            let first = *first.get_or_insert(ec);
            if first.image_seq != 0 && ec.image_seq != 0 && ec.image_seq != first.image_seq {
                break;
            }
            positions.push(at);
        }
    }
    let (Some(first), Some(&start)) = (first, positions.first()) else {
        diags.push(
            Diagnostic::warning("", "no valid ubi erase-counter header found")
                .severity(Severity::Error),
        );
        return FsListing {
            diagnostics: diags.finish(),
            ..FsListing::default()
        };
    };
    let vid_offset = first.vid_hdr_offset as usize;
    let data_offset = first.data_offset as usize;
    let peb_size = guess_peb_size(&positions)
        .unwrap_or_else(|| (data.len() - start).next_multiple_of(SCAN_STEP));
    if vid_offset < HEADER_LEN || data_offset <= vid_offset || data_offset >= peb_size {
        diags.push(
            Diagnostic::warning(
                "",
                format!(
                    "ubi headers give data offset {data_offset} and volume header offset {vid_offset}, which do not fit the erase block size {peb_size} guessed from header spacing"
                ),
            )
            .severity(Severity::Error)
            .at(start as u64),
        );
        return FsListing {
            diagnostics: diags.finish(),
            ..FsListing::default()
        };
    }
    let leb_size = peb_size - data_offset;
    let peb_count = (positions.last().map_or(start, |&last| last) - start) / peb_size + 1;

    // Every mapped LEB, by volume then LEB number; the newest copy wins.
    let mut volumes: BTreeMap<u32, BTreeMap<u32, Leb>> = BTreeMap::new();
    for peb in 0..peb_count {
        let base = start + peb * peb_size;
        if ec_header(data, base).is_none()
            && data
                .get(base..base + 4)
                .is_some_and(|magic| magic != [0xff; 4])
        {
            diags.push(
                Diagnostic::warning("", "ubi erase-counter header is damaged").at(base as u64),
            );
        }
        let at = base + vid_offset;
        let Some(head) = data.get(at..at + HEADER_LEN) else {
            continue;
        };
        if &head[..4] != VID_MAGIC {
            continue;
        }
        if crc32_raw(!0, &head[..60]) != u32be(head, 60).unwrap_or(0) {
            diags.push(
                Diagnostic::warning(
                    "",
                    "ubi volume-id header has a bad crc; erase block skipped",
                )
                .at(at as u64),
            );
            continue;
        }
        let vol_id = u32be(head, 8).unwrap_or(0);
        let lnum = u32be(head, 12).unwrap_or(0);
        let leb = Leb {
            peb,
            sqnum: u64be(head, 40).unwrap_or(0),
            data_size: u32be(head, 20).unwrap_or(0),
            data_crc: u32be(head, 32).unwrap_or(0),
            static_volume: head[5] == 2,
            copy_flag: head[6] != 0,
            used_ebs: u32be(head, 24).unwrap_or(0),
            data_pad: u32be(head, 28).unwrap_or(0),
        };
        // No volume has more LEBs than the device has PEBs; a larger number is damage and would
        // otherwise make us pad gigabytes of 0xFF.
        if lnum as usize >= peb_count.max(1) * 2 {
            diags.push(
                Diagnostic::warning(
                    "",
                    format!("ubi volume {vol_id} claims logical block {lnum} on a device of {peb_count} blocks; skipped"),
                )
                .at(at as u64),
            );
            continue;
        }
        let slot = volumes.entry(vol_id).or_default();
        match slot.get(&lnum) {
            Some(old) if old.sqnum >= leb.sqnum => {}
            _ => {
                slot.insert(lnum, leb);
            }
        }
    }

    let leb_bytes = |leb: &Leb| -> &[u8] {
        let at = start + leb.peb * peb_size + data_offset;
        let usable = leb_size.saturating_sub(leb.data_pad as usize);
        data.get(at..(at + usable).min(data.len()))
            .unwrap_or_default()
    };

    let mut table: BTreeMap<u32, VolumeRecord> = BTreeMap::new();
    if let Some(layout) = volumes.remove(&LAYOUT_VOLUME_ID) {
        let copies: Vec<&Leb> = layout.values().collect();
        let parsed = copies.iter().find_map(|leb| {
            let at = start + leb.peb * peb_size + data_offset;
            read_vtbl(leb_bytes(leb), &mut diags, at)
        });
        match parsed {
            Some(records) => table = records,
            None => diags.push(Diagnostic::warning(
                "",
                "ubi volume table is unreadable; volumes are named by their id",
            )),
        }
    } else {
        diags.push(Diagnostic::warning(
            "",
            "ubi image has no layout volume; volumes are named by their id",
        ));
    }

    let mut listing = FsListing::default();
    let mut used_names: HashMap<String, u32> = HashMap::new();
    for (vol_id, lebs) in &volumes {
        if *vol_id >= LAYOUT_VOLUME_ID {
            continue;
        }
        let record = table.get(vol_id);
        let mut name = record.map_or_else(|| format!("volume_{vol_id}"), |r| r.name.clone());
        if name.is_empty() || used_names.contains_key(&name) {
            name = format!("volume_{vol_id}");
        }
        used_names.insert(name.clone(), *vol_id);
        if let Some(record) = record
            && record.upd_marker
        {
            diags.push(Diagnostic::warning(
                &name,
                "ubi volume was being updated when the image was taken; its contents may be incomplete",
            ));
        }
        let static_volume = record.map_or_else(
            || lebs.values().next().is_some_and(|leb| leb.static_volume),
            |r| r.static_volume,
        );
        let last = lebs.keys().next_back().copied().unwrap_or(0);
        if let Some(record) = record
            && last >= record.reserved_pebs
        {
            diags.push(Diagnostic::warning(
                &name,
                format!(
                    "ubi volume has logical block {last} but reserves only {} blocks",
                    record.reserved_pebs
                ),
            ));
        }
        // Unmapped blocks read as erased (0xff): they take no space, so they count against the
        // expansion ratio like holes.
        let estimate = (last as u64 + 1) * leb_size as u64;
        let stored = lebs.len() as u64 * leb_size as u64;
        let reservation = match budget
            .take_entry()
            .and_then(|()| budget.reserve_expansion(estimate, stored))
        {
            Ok(reservation) => reservation,
            Err(limit) => {
                diags.cut(
                    Diagnostic::warning(&name, format!("ubi volume not unpacked: {limit}"))
                        .with_hint(limit.hint()),
                    "the volume",
                    limit.into(),
                );
                continue;
            }
        };
        let mut contents: Vec<u8> = Vec::with_capacity(estimate as usize);
        for lnum in 0..=last {
            match lebs.get(&lnum) {
                Some(leb) => {
                    let bytes = leb_bytes(leb);
                    let at = start + leb.peb * peb_size + data_offset;
                    if static_volume {
                        let Some(used) = bytes.get(..leb.data_size as usize) else {
                            diags.push(
                                Diagnostic::warning(
                                    &name,
                                    format!(
                                        "ubi static volume block {lnum} claims {} bytes, more than the erase block holds",
                                        leb.data_size
                                    ),
                                )
                                .at(at as u64),
                            );
                            break;
                        };
                        if crc32_raw(!0, used) != leb.data_crc {
                            diags.push(
                                Diagnostic::warning(
                                    &name,
                                    format!("ubi static volume block {lnum} has a bad data crc"),
                                )
                                .at(at as u64),
                            );
                        }
                        contents.extend_from_slice(used);
                        if lnum + 1 >= leb.used_ebs {
                            break;
                        }
                    } else {
                        if leb.copy_flag
                            && leb.data_size as usize <= bytes.len()
                            && crc32_raw(!0, &bytes[..leb.data_size as usize]) != leb.data_crc
                        {
                            diags.push(
                                Diagnostic::warning(
                                    &name,
                                    format!("ubi block {lnum} is a copy with a bad data crc"),
                                )
                                .at(at as u64),
                            );
                        }
                        contents.extend_from_slice(bytes);
                        // A truncated image ends inside this block: keep the offsets right.
                        let usable = leb_size.saturating_sub(leb.data_pad as usize);
                        if bytes.len() < usable {
                            diags.push(
                                Diagnostic::warning(
                                    &name,
                                    format!(
                                        "ubi block {lnum} is cut short by the end of the image"
                                    ),
                                )
                                .at(at as u64),
                            );
                            contents.resize(contents.len() + usable - bytes.len(), 0xff);
                        }
                    }
                }
                None if static_volume => {
                    diags.push(Diagnostic::warning(
                        &name,
                        format!("ubi static volume is missing block {lnum}; contents end there"),
                    ));
                    break;
                }
                None => {
                    let usable = lebs.values().next().map_or(leb_size, |leb| {
                        leb_size.saturating_sub(leb.data_pad as usize)
                    });
                    contents.resize(contents.len() + usable, 0xff);
                }
            }
        }
        contents.truncate(estimate as usize);
        reservation.commit(contents.len() as u64);
        listing.entries.push(FsEntry {
            path: name,
            kind: NodeKind::File {
                data: contents.into(),
            },
            mode: None,
            mtime: None,
        });
    }
    for (vol_id, record) in &table {
        if !volumes.contains_key(vol_id) {
            diags.push(
                Diagnostic::warning(
                    &record.name,
                    "ubi volume is in the volume table but has no mapped blocks",
                )
                .severity(Severity::Info),
            );
        }
    }
    listing.size = Some((start + peb_count * peb_size).min(data.len()) as u64);
    diags.finish_into(&mut listing);
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::jffs2::tests::{check_hostile, fixture, render, shared};

    fn volume<'a>(listing: &'a FsListing, name: &str) -> &'a [u8] {
        super::super::jffs2::tests::file(listing, name)
    }

    #[test]
    fn two_volumes_fixture() {
        let data = fixture("ubi/two-volumes.ubi");
        assert_eq!(
            probe(&data).unwrap().description,
            "ubi, data offset 1024, image sequence 0x12345678"
        );
        let listing = parse(&data, &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(render(&listing), "rootfs file 199680\nblob file 3000\n");
        // The dynamic volume is the UBIFS image byte for byte; the static one is its data.
        assert_eq!(volume(&listing, "rootfs"), fixture("ubi/zlib.ubifs"));
        let pages = super::super::jffs2::tests::pages_txt();
        assert_eq!(volume(&listing, "blob"), &pages[..3000]);
        assert_eq!(listing.size, Some(data.len() as u64));
    }

    #[test]
    fn samples_have_one_ubifs_volume() {
        for (image, size) in [
            ("samples/fact-ubi_ubi.img", 1_703_936),
            ("corpus/images/gateway-arm64-ubi/rootfs.ubi", 13_586_432),
        ] {
            let data = shared(image);
            let listing = parse(&data, &Budget::new(Limits::default()));
            assert_eq!(listing.diagnostics, Vec::new(), "{image}");
            assert_eq!(render(&listing), format!("rootfs file {size}\n"), "{image}");
            assert!(crate::fs::ubifs::probe(volume(&listing, "rootfs")).is_some());
        }
    }

    #[test]
    fn damaged_copies() {
        check_hostile(&fixture("ubi/two-volumes.ubi"), parse);
        check_hostile(&shared("samples/fact-ubi_ubi.img"), parse);
    }

    /// Rewrites the header CRC of the 64-byte header at `at`.
    fn reseal(data: &mut [u8], at: usize) {
        let crc = crc32_raw(!0, &data[at..at + 60]);
        data[at + 60..at + 64].copy_from_slice(&crc.to_be_bytes());
    }

    #[test]
    fn absurd_numbers_are_bounded() {
        let mut data = fixture("ubi/two-volumes.ubi");
        // PEB 2 (after the two layout-volume copies) holds rootfs LEB 0: make it claim LEB 2^31.
        let vid = 2 * 16384 + 512;
        assert_eq!(&data[vid..vid + 4], VID_MAGIC);
        data[vid + 12..vid + 16].copy_from_slice(&0x8000_0000u32.to_be_bytes());
        reseal(&mut data, vid);
        // Every volume table record claims the maximum of everything.
        let table = 1024;
        for idx in 0..4 {
            let record = table + idx * VTBL_RECORD_LEN;
            data[record..record + 4].copy_from_slice(&u32::MAX.to_be_bytes());
            data[record + 14..record + 16].copy_from_slice(&u16::MAX.to_be_bytes());
        }
        let listing = parse(&data, &Budget::new(Limits::default()));
        let text: Vec<String> = listing
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            text.iter()
                .any(|t| t.contains("claims logical block 2147483648")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("bad crc")), "{text:?}");
        let total: usize = listing
            .entries
            .iter()
            .filter_map(|entry| match &entry.kind {
                NodeKind::File { data } => Some(data.len()),
                _ => None,
            })
            .sum();
        assert!(total < 4 * data.len());
    }

    #[test]
    fn peb_size_from_spacing() {
        assert_eq!(guess_peb_size(&[0, 100, 200, 300, 350]), Some(100));
        assert_eq!(guess_peb_size(&[0]), None);
        assert_eq!(probe(b"UBI#"), None);
        assert!(
            parse(b"", &Budget::new(Limits::default())).diagnostics[0]
                .message
                .contains("no valid ubi")
        );
    }
}
