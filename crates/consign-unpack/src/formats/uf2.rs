//! UF2, Microsoft's format for flashing microcontrollers over USB mass storage (Raspberry Pi
//! RP2040/RP2350, Adafruit and Arduino boards, nRF52, ESP32-S2/S3, SAMD): 512-byte blocks, each
//! `UF2\n` and a second magic, flags, the flash address and size of its payload (at most 476
//! bytes), its number and the count of blocks, a family id, the payload, and an end magic.
//! Following the format's description (<https://github.com/microsoft/uf2>, "File format").
//!
//! Blocks flagged "not main flash" (comments, debug data) are skipped. The payloads become flash
//! regions ([`super::flashmap`]), one folder per family when a file holds several (RP2350 images
//! carry an Arm and a RISC-V build). File containers (flag `0x1000`: files with names instead of
//! flash addresses) are not read and are reported as a cut. Reading stops at the first block that
//! is not UF2.

use bytes::Bytes;
use consign_model::{CutReason, Diagnostic};

use super::flashmap::Records;
use crate::Budget;
use crate::binary::u32le;
use crate::fs::{FsListing, Probe};

const BLOCK: usize = 512;
const MAGIC_START0: u32 = 0x0a32_4655;
const MAGIC_START1: u32 = 0x9e5d_5157;
const MAGIC_END: u32 = 0x0ab1_6f30;
const NOT_MAIN_FLASH: u32 = 0x0000_0001;
const FILE_CONTAINER: u32 = 0x0000_1000;
const FAMILY_ID_PRESENT: u32 = 0x0000_2000;
const MAX_PAYLOAD: u32 = 476;

/// A block's header fields, if `block` is a whole UF2 block.
struct Block<'a> {
    flags: u32,
    address: u32,
    payload: &'a [u8],
    number: u32,
    count: u32,
    family: Option<u32>,
}

fn block(data: &[u8], at: usize) -> Option<Block<'_>> {
    let block = data.get(at..at.checked_add(BLOCK)?)?;
    if u32le(block, 0)? != MAGIC_START0
        || u32le(block, 4)? != MAGIC_START1
        || u32le(block, 508)? != MAGIC_END
    {
        return None;
    }
    let flags = u32le(block, 8)?;
    let size = u32le(block, 16)?;
    if size > MAX_PAYLOAD {
        return None;
    }
    Some(Block {
        flags,
        address: u32le(block, 12)?,
        payload: block.get(32..32 + size as usize)?,
        number: u32le(block, 20)?,
        count: u32le(block, 24)?,
        family: (flags & FAMILY_ID_PRESENT != 0)
            .then(|| u32le(block, 28))
            .flatten(),
    })
}

/// The boards' families whose ids are in the format's list, for reports.
fn family_name(id: u32) -> Option<&'static str> {
    Some(match id {
        0xe48b_ff56 => "RP2040",
        0x68ed_2b88 => "SAMD21",
        0x5511_4460 => "SAMD51",
        0xada5_2840 => "nRF52840",
        0x5775_5a57 => "STM32F4",
        0xbfdd_4eee => "ESP32-S2",
        _ => return None,
    })
}

/// A first block with both start magics, the end magic and a payload size within the block.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let first = block(data, 0)?;
    let family = first.family.map_or_else(String::new, |id| {
        family_name(id).map_or_else(
            || format!(", family {id:#010x}"),
            |name| format!(", {name}"),
        )
    });
    Some(Probe {
        format: "uf2",
        size: None,
        description: format!("UF2, {} blocks{family}", first.count),
    })
}

/// The flash regions the blocks write, one folder per family when there are several.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    // (family, its records), in the order families first appear.
    let mut families: Vec<(Option<u32>, Records<'_>)> = Vec::new();
    let mut at = 0usize;
    let mut containers = 0usize;
    while let Some(block) = block(data, at) {
        let offset = at as u64;
        at += BLOCK;
        if block.flags & NOT_MAIN_FLASH != 0 {
            continue;
        }
        if block.flags & FILE_CONTAINER != 0 {
            containers += 1;
            if containers == 1 {
                listing.cut(
                    Diagnostic::warning(
                        "",
                        "UF2 file container blocks (files named instead of flash addresses) are not read",
                    )
                    .at(offset),
                    "the UF2 file container blocks",
                    CutReason::Unsupported,
                );
            }
            continue;
        }
        if block.number >= block.count && block.count != 0 {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!(
                        "UF2 block says it is number {} of {}",
                        block.number, block.count
                    ),
                )
                .at(offset),
            );
        }
        let index = families
            .iter()
            .position(|(family, _)| *family == block.family)
            .unwrap_or_else(|| {
                families.push((block.family, Records::new(budget)));
                families.len() - 1
            });
        if let Err(limit) = families[index]
            .1
            .push(u64::from(block.address), block.payload, offset)
        {
            listing.cut(
                Diagnostic::warning("", format!("UF2 blocks from here on are not read: {limit}"))
                    .at(offset)
                    .with_hint(limit.hint()),
                "the UF2 blocks from this one to the end",
                limit.into(),
            );
            break;
        }
    }
    listing.size = Some(at as u64);
    let several = families.len() > 1;
    for (family, records) in families {
        let folder = if several {
            family.map_or_else(
                || "no-family".to_owned(),
                |id| family_name(id).map_or_else(|| format!("{id:#010x}"), str::to_owned),
            )
        } else {
            String::new()
        };
        records.into_regions(&folder, &mut listing, budget);
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::test_support;

    /// One block as the format describes it.
    fn uf2_block(
        flags: u32,
        address: u32,
        payload: &[u8],
        number: u32,
        count: u32,
        family: u32,
    ) -> Vec<u8> {
        let mut block = vec![0u8; BLOCK];
        for (at, value) in [
            (0, MAGIC_START0),
            (4, MAGIC_START1),
            (8, flags),
            (12, address),
            (16, payload.len() as u32),
            (20, number),
            (24, count),
            (28, family),
            (508, MAGIC_END),
        ] {
            block[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        block[32..32 + payload.len()].copy_from_slice(payload);
        block
    }

    fn files(data: &[u8]) -> Vec<(String, Vec<u8>)> {
        test_support::files(&extract(
            &Bytes::copy_from_slice(data),
            &Budget::new(Limits::default()),
        ))
    }

    #[test]
    fn blocks_become_the_flash_they_write() {
        let rp2040 = 0xe48b_ff56;
        let mut data = uf2_block(FAMILY_ID_PRESENT, 0x1000_0100, b"world 1.5.1", 1, 3, rp2040);
        data.extend(uf2_block(
            FAMILY_ID_PRESENT,
            0x1000_0000,
            &[b'h'; 256],
            0,
            3,
            rp2040,
        ));
        data.extend(uf2_block(NOT_MAIN_FLASH, 0, b"a comment", 2, 3, 0));
        data.extend(b"trailing bytes that are not a block");
        let probe = probe(&data).unwrap();
        assert_eq!(probe.description, "UF2, 3 blocks, RP2040");
        let mut expected = vec![b'h'; 256];
        expected.extend(b"world 1.5.1");
        assert_eq!(files(&data), [("0x10000000.bin".to_owned(), expected)]);
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert_eq!(listing.size, Some(3 * BLOCK as u64));
    }

    #[test]
    fn real_firmware_decodes_to_what_its_elf_build_loads() {
        // Three blocks of snek 1.12's UF2 for a SAMD21 board, and the same flash addresses read
        // from the program headers of the ELF build in the same Debian package (recipe:
        // `fixtures/unpack/mcu/recipe.sh`).
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/unpack/mcu/");
        let uf2 = std::fs::read(format!("{path}snek-board.uf2")).unwrap();
        let expected = std::fs::read(format!("{path}snek-board.bin")).unwrap();
        assert_eq!(probe(&uf2).unwrap().description, "UF2, 269 blocks");
        let decoded = files(&uf2);
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].0, "0x00011200.bin");
        assert!(
            decoded[0].1 == expected,
            "the UF2 decodes to other bytes than the ELF loads"
        );
    }

    #[test]
    fn several_families_each_get_a_folder() {
        let mut data = uf2_block(FAMILY_ID_PRESENT, 0x1000_0000, b"arm", 0, 2, 0xe48b_ff59);
        data.extend(uf2_block(
            FAMILY_ID_PRESENT,
            0x1000_0000,
            b"riscv",
            1,
            2,
            0xe48b_ff5a,
        ));
        assert_eq!(
            files(&data),
            [
                ("0xe48bff59/0x10000000.bin".to_owned(), b"arm".to_vec()),
                ("0xe48bff5a/0x10000000.bin".to_owned(), b"riscv".to_vec())
            ]
        );
    }

    #[test]
    fn file_containers_are_cut_and_bad_blocks_end_the_file() {
        let mut data = uf2_block(FILE_CONTAINER, 0, b"file", 0, 2, 4);
        data.extend(uf2_block(0, 0x2000, b"flash", 1, 2, 0));
        let mut oversized = uf2_block(0, 0x3000, b"x", 2, 3, 0);
        oversized[16..20].copy_from_slice(&477u32.to_le_bytes());
        data.extend(oversized);
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert_eq!(listing.cuts.len(), 1);
        assert_eq!(listing.entries.len(), 1);
        assert_eq!(listing.size, Some(2 * BLOCK as u64));
    }

    #[test]
    fn what_is_not_uf2_is_not_probed() {
        let good = uf2_block(0, 0, b"x", 0, 1, 0);
        assert!(probe(&good).is_some());
        assert!(probe(&good[..511]).is_none());
        let mut bad_end = good.clone();
        bad_end[508] ^= 1;
        assert!(probe(&bad_end).is_none());
        assert!(probe(b"UF2\n").is_none());
        assert!(probe(&[0u8; 512]).is_none());
    }

    #[test]
    fn every_truncation_and_flipped_byte_is_survived() {
        let mut data = uf2_block(
            FAMILY_ID_PRESENT,
            0x1000_0000,
            &[7u8; 476],
            0,
            2,
            0xe48b_ff56,
        );
        data.extend(uf2_block(
            FAMILY_ID_PRESENT,
            0xffff_ff00,
            &[9u8; 476],
            1,
            2,
            0xe48b_ff56,
        ));
        for end in (0..data.len()).step_by(7) {
            let _ = extract(
                &Bytes::copy_from_slice(&data[..end]),
                &Budget::new(Limits::default()),
            );
        }
        for at in (0..data.len()).step_by(3) {
            let mut copy = data.clone();
            copy[at] ^= 0xa5;
            let _ = probe(&copy);
            let _ = extract(&Bytes::from(copy), &Budget::new(Limits::default()));
        }
    }
}
