//! Whole ESP32-family flash images, as `esptool read-flash` dumps them and as `esptool merge-bin`
//! writes the factory image: the second-stage bootloader (at 0x1000 on ESP32 and ESP32-S2, 0x0 on
//! the C3, S3, C6, H2 and later, 0x2000 on the P4 and C5), the ESP-IDF partition table (at 0x8000
//! unless `CONFIG_PARTITION_TABLE_OFFSET` moves it) and the partitions it lists.
//!
//! The table is 0xC00 bytes of 32-byte rows: an entry is magic `0x50 0xAA`, type, subtype, offset
//! and size (u32 little-endian), a 16-byte NUL-padded label and u32 flags; an optional MD5 row
//! (`0xEB 0xEB`, 14 bytes of `0xFF`, then the MD5 of the entries before it) and a row of `0xFF`
//! end it. At most 95 entries fit. Partitions are given by their absolute flash offsets, so the
//! image is read from the start of an input only (a row without a magic, like `esp-image`): the
//! probe looks for the table at every 4 KiB boundary of the first MiB and checks it as ESP-IDF's
//! `gen_esp32part.py` and bootloader do (every row an entry, app partitions 64 KiB aligned and
//! the others 4 KiB aligned, none before the table's sector ends, none overlapping another).
//!
//! Each partition becomes a file named by its label, read again as a new input: an app partition
//! by the `esp-image` reader, a data partition by whatever filesystem it holds. The bootloader
//! region before the table is a file too, when an ESP image starts there. What ESP-IDF says of a
//! partition (type, subtype, offset, size) is in the container's description. An image that ends
//! before a partition does (a `merge-bin` image ends with the last file written) is no damage:
//! each partition gets what the image holds of it, and a note says what is not there.

use std::fmt::Write as _;

use bytes::Bytes;
use consign_model::{Diagnostic, Severity};
use md5::Digest as _;

use super::{esp, file, human_size};
use crate::Budget;
use crate::binary::u32le;
use crate::fs::{FsListing, Probe};

/// One row of the table.
const ROW: usize = 32;
/// The table's rows, entries and the MD5 row; its flash sector is 0x1000.
const TABLE_ROWS: usize = 0xC00 / ROW;
/// ESP-IDF's `ESP_PARTITION_TABLE_MAX_ENTRIES`.
const MAX_ENTRIES: usize = 95;
const SECTOR: usize = 0x1000;
/// App partitions are mapped into the cache's 64 KiB pages.
const APP_ALIGN: u32 = 0x10000;
/// The farthest the table is looked for: bootloaders with secure boot push it to 0x10000 or so.
const SEARCH_END: usize = 1 << 20;
/// Where the second-stage bootloader sits, by chip family.
const BOOTLOADER_OFFSETS: [usize; 3] = [0x0, 0x1000, 0x2000];

const TYPE_APP: u8 = 0;
const TYPE_DATA: u8 = 1;
/// ESP-IDF 5.3 and later can list the bootloader and the table themselves (to update them).
const TYPE_BOOTLOADER: u8 = 2;
const TYPE_PARTITION_TABLE: u8 = 3;

/// One entry of the table.
#[derive(Debug)]
struct Partition {
    kind: u8,
    subtype: u8,
    offset: u32,
    size: u32,
    /// Bit 0: encrypted with the flash encryption key; bit 1: read-only.
    flags: u32,
    /// The label's bytes up to the first NUL (all 16 when it has none).
    label: Vec<u8>,
}

impl Partition {
    fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.size)
    }

    /// `app/factory`, `data/littlefs`, `0x40/0x01`.
    fn kind_name(&self) -> String {
        let kind = match self.kind {
            TYPE_APP => "app".to_owned(),
            TYPE_DATA => "data".to_owned(),
            TYPE_BOOTLOADER => "bootloader".to_owned(),
            TYPE_PARTITION_TABLE => "partition_table".to_owned(),
            other => format!("{other:#04x}"),
        };
        let subtype = match (self.kind, self.subtype) {
            (TYPE_APP, 0x00) => "factory".to_owned(),
            (TYPE_APP, ota @ 0x10..=0x1f) => format!("ota_{}", ota - 0x10),
            (TYPE_APP, 0x20) => "test".to_owned(),
            (TYPE_DATA, 0x00) | (TYPE_BOOTLOADER | TYPE_PARTITION_TABLE, 0x01) => "ota".to_owned(),
            (TYPE_DATA, 0x01) => "phy".to_owned(),
            (TYPE_DATA, 0x02) => "nvs".to_owned(),
            (TYPE_DATA, 0x03) => "coredump".to_owned(),
            (TYPE_DATA, 0x04) => "nvs_keys".to_owned(),
            (TYPE_DATA, 0x05) => "efuse".to_owned(),
            (TYPE_DATA, 0x06) => "undefined".to_owned(),
            (TYPE_DATA, 0x80) => "esphttpd".to_owned(),
            (TYPE_DATA, 0x81) => "fat".to_owned(),
            (TYPE_DATA, 0x82) => "spiffs".to_owned(),
            (TYPE_DATA, 0x83) => "littlefs".to_owned(),
            (TYPE_BOOTLOADER | TYPE_PARTITION_TABLE, 0x00) => "primary".to_owned(),
            (TYPE_BOOTLOADER, 0x02) => "recovery".to_owned(),
            (_, other) => format!("{other:#04x}"),
        };
        format!("{kind}/{subtype}")
    }
}

/// What the MD5 row says of the entries before it.
#[derive(Debug, PartialEq, Eq)]
enum Md5Row {
    /// No MD5 row (`CONFIG_PARTITION_TABLE_MD5` off).
    Absent,
    Matches,
    /// The row at this input offset states another digest than the entries give.
    Differs(usize),
}

/// A table that passed every check.
#[derive(Debug)]
struct Table {
    /// Its offset in the flash (and the input).
    at: usize,
    /// In table order.
    partitions: Vec<Partition>,
    md5: Md5Row,
    /// The 95 entries that fit were followed by yet another entry instead of the end.
    overfull: bool,
}

/// Reads and checks the table at `at`; the error says which row or partition is wrong.
fn table_at(data: &[u8], at: usize) -> Result<Table, String> {
    let mut partitions: Vec<Partition> = Vec::new();
    let mut md5 = Md5Row::Absent;
    let mut overfull = false;
    for index in 0..TABLE_ROWS {
        let row_at = at + index * ROW;
        let row = data
            .get(row_at..row_at + ROW)
            .ok_or_else(|| format!("the table is cut by the end of the input at row {index}"))?;
        match row {
            [0x50, 0xaa, ..] => {
                if partitions.len() == MAX_ENTRIES {
                    overfull = true;
                    break;
                }
                partitions.push(entry(row, at, index)?);
            }
            [0xeb, 0xeb, ..] => {
                let entries = data.get(at..row_at).unwrap_or_default();
                md5 = if md5::Md5::digest(entries).as_slice() == row.get(16..).unwrap_or_default() {
                    Md5Row::Matches
                } else {
                    Md5Row::Differs(row_at)
                };
                break;
            }
            _ if row.iter().all(|&byte| byte == 0xff) => break,
            _ => {
                return Err(format!(
                    "row {index} at {row_at:#x} is neither an entry, the MD5 row nor the end"
                ));
            }
        }
    }
    if partitions.is_empty() {
        return Err("the table lists no partition".to_owned());
    }
    let mut by_offset: Vec<&Partition> = partitions.iter().collect();
    by_offset.sort_by_key(|partition| partition.offset);
    for pair in by_offset.windows(2) {
        if let [first, second] = pair
            && first.end() > u64::from(second.offset)
        {
            return Err(format!(
                "partitions `{}` ({:#x}..{:#x}) and `{}` (from {:#x}) overlap",
                String::from_utf8_lossy(&first.label),
                first.offset,
                first.end(),
                String::from_utf8_lossy(&second.label),
                second.offset
            ));
        }
    }
    Ok(Table {
        at,
        partitions,
        md5,
        overfull,
    })
}

/// One entry row, checked as `gen_esp32part.py` checks what it writes.
fn entry(row: &[u8], table_at: usize, index: usize) -> Result<Partition, String> {
    let (Some(&kind), Some(&subtype), Some(offset), Some(size), Some(label), Some(flags)) = (
        row.get(2),
        row.get(3),
        u32le(row, 4),
        u32le(row, 8),
        row.get(12..28),
        u32le(row, 28),
    ) else {
        return Err(format!("row {index} is short"));
    };
    let label_end = label.iter().position(|&b| b == 0).unwrap_or(label.len());
    let partition = Partition {
        kind,
        subtype,
        offset,
        size,
        flags,
        label: label.get(..label_end).unwrap_or_default().to_vec(),
    };
    let name = String::from_utf8_lossy(&partition.label);
    // Types 0x04 to 0x3f are reserved; 0xff means "any" to the API and is no type.
    if (0x04..0x40).contains(&kind) || kind == 0xff {
        return Err(format!(
            "partition `{name}` (row {index}) has the reserved type {kind:#04x}"
        ));
    }
    let align = if kind == TYPE_APP { APP_ALIGN } else { 0x1000 };
    if offset % align != 0 {
        return Err(format!(
            "partition `{name}` (row {index}) starts at {offset:#x}, not a multiple of {align:#x}"
        ));
    }
    if size == 0 {
        return Err(format!("partition `{name}` (row {index}) is empty"));
    }
    if partition.end() > u64::from(u32::MAX) + 1 {
        return Err(format!(
            "partition `{name}` (row {index}) ends past 4 GiB ({offset:#x} + {size:#x})"
        ));
    }
    // Only the bootloader and table entries of ESP-IDF 5.3 name the regions before the table's end.
    let table_end = (table_at + SECTOR) as u64;
    if !matches!(kind, TYPE_BOOTLOADER | TYPE_PARTITION_TABLE) && u64::from(offset) < table_end {
        return Err(format!(
            "partition `{name}` (row {index}) starts at {offset:#x}, before the table's sector ends \
             at {table_end:#x}"
        ));
    }
    Ok(partition)
}

/// The first table at a 4 KiB boundary of the input's first MiB.
fn find_table(data: &[u8]) -> Option<Table> {
    (0..data.len().min(SEARCH_END))
        .step_by(SECTOR)
        .filter(|&at| data.get(at..at + 2) == Some(&[0x50, 0xaa]))
        .find_map(|at| table_at(data, at).ok())
}

/// Where the bootloader starts: the first of its offsets, before the table, holding an ESP image.
fn bootloader(data: &[u8], table: &Table) -> Option<usize> {
    BOOTLOADER_OFFSETS.into_iter().find(|&at| {
        at < table.at
            && data
                .get(at..table.at)
                .is_some_and(|region| esp::probe(region).is_some())
    })
}

/// Where the image ends: past the table and every partition it holds, within the input.
fn image_end(data: &[u8], table: &Table) -> usize {
    let partitions = table
        .partitions
        .iter()
        .map(|partition| usize::try_from(partition.end()).unwrap_or(usize::MAX))
        .max()
        .unwrap_or(0);
    partitions.max(table.at + SECTOR).min(data.len())
}

/// A flash image's partition table that passes every check.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let table = find_table(data)?;
    let mut description = String::from("ESP-IDF flash image: ");
    if let Some(at) = bootloader(data, &table) {
        let _ = write!(description, "bootloader at {at:#x}, ");
    }
    let _ = write!(
        description,
        "partition table at {:#x}{}, {} partitions:",
        table.at,
        if table.md5 == Md5Row::Absent {
            ""
        } else {
            " with MD5"
        },
        table.partitions.len()
    );
    for (index, partition) in table.partitions.iter().enumerate() {
        let _ = write!(
            description,
            "{} {} ({}, {} at {:#x}{})",
            if index == 0 { "" } else { "," },
            String::from_utf8_lossy(&partition.label),
            partition.kind_name(),
            human_size(u64::from(partition.size)),
            partition.offset,
            if partition.flags & 1 == 0 {
                ""
            } else {
                ", encrypted"
            }
        );
    }
    Some(Probe {
        format: "esp-flash",
        size: Some(image_end(data, &table) as u64),
        description,
    })
}

/// A file name for a label: its printable ASCII kept, `/`, `\` and the rest replaced, and the
/// offset added where the label is empty, a dot name or already taken.
fn file_name(partition: &Partition, taken: &[String]) -> String {
    let name: String = partition
        .label
        .iter()
        .map(|&byte| match byte {
            b'/' | b'\\' => '_',
            0x21..=0x7e => char::from(byte),
            _ => '_',
        })
        .collect();
    if name.is_empty() || name == "." || name == ".." {
        format!("partition@{:#x}", partition.offset)
    } else if taken.contains(&name) {
        format!("{name}@{:#x}", partition.offset)
    } else {
        name
    }
}

/// The bootloader region and one file per partition the image holds, in offset order.
pub(crate) fn extract(data: &Bytes, _budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(table) = find_table(data) else {
        return listing;
    };
    listing.size = Some(image_end(data, &table) as u64);
    let mut taken = Vec::new();
    if let Some(at) = bootloader(data, &table) {
        listing
            .entries
            .push(file("bootloader", data.slice(at..table.at), None));
        taken.push("bootloader".to_owned());
    }
    if let Md5Row::Differs(row_at) = table.md5 {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                "the partition table's MD5 row does not match its entries; the bootloader refuses \
                 such a table",
            )
            .at(row_at as u64),
        );
    }
    if table.overfull {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "the partition table holds more than {MAX_ENTRIES} entries; the rows from \
                     {:#x} on are not read, as the bootloader does not read them",
                    table.at + MAX_ENTRIES * ROW
                ),
            )
            .at((table.at + MAX_ENTRIES * ROW) as u64),
        );
    }
    let mut order: Vec<&Partition> = table.partitions.iter().collect();
    order.sort_by_key(|partition| partition.offset);
    let mut absent = Vec::new();
    for partition in order {
        let name = file_name(partition, &taken);
        let start = partition.offset as usize;
        let end = usize::try_from(partition.end()).unwrap_or(usize::MAX);
        if start >= data.len() {
            absent.push(name);
            continue;
        }
        if end > data.len() {
            listing.diagnostics.push(
                Diagnostic::warning(
                    name.as_str(),
                    format!(
                        "the image ends {:#x} bytes into partition `{name}` ({}), whose table entry \
                         gives {:#x}; the rest is not in the image",
                        data.len() - start,
                        partition.kind_name(),
                        partition.size
                    ),
                )
                .at(start as u64)
                .severity(Severity::Info),
            );
        }
        listing.entries.push(file(
            name.as_str(),
            data.slice(start..end.min(data.len())),
            None,
        ));
        taken.push(name);
    }
    if !absent.is_empty() {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "the image ends at {:#x}; partitions that start past it are not in it: {}",
                    data.len(),
                    absent
                        .iter()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .severity(Severity::Info),
        );
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{files, render};

    /// A one-segment ESP image for `chip` (an ESP-IDF chip id) as esptool lays it out: header,
    /// extended header, segment, checksum in the last byte of a 16-byte block.
    fn esp_image(chip: u16, segment: &[u8]) -> Vec<u8> {
        let mut image = vec![0xe9, 1, 2, 0x20];
        image.extend(0x4008_0000u32.to_le_bytes());
        image.extend([0xee, 0, 0, 0]);
        image.extend(chip.to_le_bytes());
        image.extend([0u8; 10]);
        image.extend(0x3fff_0000u32.to_le_bytes());
        image.extend((segment.len() as u32).to_le_bytes());
        image.extend(segment);
        let checksum = segment.iter().fold(0xefu8, |sum, byte| sum ^ byte);
        image.resize((image.len() + 1).div_ceil(16) * 16, 0);
        *image.last_mut().unwrap() = checksum;
        image
    }

    fn row(label: &[u8], kind: u8, subtype: u8, offset: u32, size: u32) -> Vec<u8> {
        flagged(label, kind, subtype, offset, size, 0)
    }

    fn flagged(label: &[u8], kind: u8, subtype: u8, offset: u32, size: u32, flags: u32) -> Vec<u8> {
        let mut row = vec![0x50, 0xaa, kind, subtype];
        row.extend(offset.to_le_bytes());
        row.extend(size.to_le_bytes());
        let mut name = label.to_vec();
        name.resize(16, 0);
        row.extend(name);
        row.extend(flags.to_le_bytes());
        row
    }

    /// The table's 0xC00 bytes: the rows, the MD5 row when asked, the end, `0xff` after.
    fn table(rows: &[Vec<u8>], with_md5: bool) -> Vec<u8> {
        let mut table: Vec<u8> = rows.concat();
        if with_md5 {
            let digest = md5::Md5::digest(&table);
            table.extend([0xeb, 0xeb]);
            table.extend([0xff; 14]);
            table.extend(digest);
        }
        table.resize(0xc00, 0xff);
        table
    }

    /// `table` at `at` in an erased flash of `len` bytes, with `parts` written at their offsets.
    fn flash(len: usize, at: usize, table: &[u8], parts: &[(usize, &[u8])]) -> Vec<u8> {
        let mut flash = vec![0xff; len];
        flash[at..at + table.len()].copy_from_slice(table);
        for (offset, part) in parts {
            flash[*offset..offset + part.len()].copy_from_slice(part);
        }
        flash
    }

    fn listing(data: &[u8]) -> FsListing {
        extract(
            &Bytes::copy_from_slice(data),
            &Budget::new(Limits::default()),
        )
    }

    fn standard_rows() -> Vec<Vec<u8>> {
        vec![
            row(b"nvs", 1, 2, 0x9000, 0x6000),
            row(b"phy_init", 1, 1, 0xf000, 0x1000),
            row(b"factory", 0, 0, 0x10000, 0x10000),
            row(b"storage", 1, 0x83, 0x20000, 0x2000),
        ]
    }

    /// An ESP32 layout: bootloader at 0x1000, the table at 0x8000 with its MD5, an app and data.
    #[test]
    fn an_esp32_flash_gives_its_bootloader_and_partitions() {
        let bootloader = esp_image(0, b"bootloader code");
        let app = esp_image(0, b"application code");
        let image = flash(
            0x22000,
            0x8000,
            &table(&standard_rows(), true),
            &[
                (0x1000, &bootloader),
                (0x10000, &app),
                (0x20000, b"littlefs"),
            ],
        );
        let probe = probe(&image).unwrap();
        assert_eq!(probe.format, "esp-flash");
        assert_eq!(probe.size, Some(0x22000));
        assert_eq!(
            probe.description,
            "ESP-IDF flash image: bootloader at 0x1000, partition table at 0x8000 with MD5, 4 \
             partitions: nvs (data/nvs, 24.0 KiB at 0x9000), phy_init (data/phy, 4.0 KiB at \
             0xf000), factory (app/factory, 64.0 KiB at 0x10000), storage (data/littlefs, 8.0 \
             KiB at 0x20000)"
        );
        let listing = listing(&image);
        assert_eq!(listing.diagnostics, Vec::new());
        assert_eq!(
            render(&listing),
            "bootloader  file 28672\nnvs  file 24576\nphy_init  file 4096\nfactory  file 65536\n\
             storage  file 8192\n"
        );
        let found = files(&listing);
        assert!(found[0].1.starts_with(&bootloader));
        assert!(found[3].1.starts_with(&app));
        assert!(
            esp::probe(&found[3].1).is_some(),
            "the app partition is an ESP image"
        );
    }

    /// Flash encryption leaves ciphertext in the partitions the table flags: the description says
    /// which, since nothing inside them can be read.
    #[test]
    fn encrypted_partitions_are_named() {
        let rows = [
            flagged(b"factory", 0, 0, 0x10000, 0x10000, 1),
            flagged(b"nvs", 1, 2, 0x9000, 0x1000, 2),
        ];
        let image = flash(0x20000, 0x8000, &table(&rows, true), &[]);
        assert!(
            probe(&image).unwrap().description.ends_with(
                "2 partitions: factory (app/factory, 64.0 KiB at 0x10000, encrypted), nvs \
                 (data/nvs, 4.0 KiB at 0x9000)"
            ),
            "{}",
            probe(&image).unwrap().description
        );
    }

    /// A C3 keeps its bootloader at 0x0; a table moved to 0x10000 is found there.
    #[test]
    fn a_moved_table_and_a_bootloader_at_zero() {
        let bootloader = esp_image(5, b"c3 bootloader");
        let rows = [row(b"app", 0, 0x10, 0x20000, 0x10000)];
        let image = flash(0x30000, 0x10000, &table(&rows, false), &[(0, &bootloader)]);
        let probe = probe(&image).unwrap();
        assert!(
            probe
                .description
                .starts_with("ESP-IDF flash image: bootloader at 0x0, partition table at 0x10000, 1 partitions: app (app/ota_0"),
            "{}",
            probe.description
        );
        assert_eq!(
            render(&listing(&image)),
            "bootloader  file 65536\napp  file 65536\n"
        );
    }

    #[test]
    fn a_wrong_md5_is_reported_and_the_partitions_still_read() {
        let mut table = table(&standard_rows(), true);
        table[4 * 32 + 20] ^= 1;
        let image = flash(0x22000, 0x8000, &table, &[]);
        assert!(probe(&image).is_some());
        let listing = listing(&image);
        assert_eq!(listing.entries.len(), 4);
        assert_eq!(listing.diagnostics.len(), 1);
        assert_eq!(listing.diagnostics[0].offset, Some(0x8080));
        assert!(listing.diagnostics[0].message.contains("MD5"));
    }

    /// Partitions the image holds in part, and ones past its end (a `merge-bin` image ends with
    /// the last file written).
    #[test]
    fn partitions_past_the_end_are_noted_not_invented() {
        let image = flash(0x18000, 0x8000, &table(&standard_rows(), false), &[]);
        let listing = listing(&image);
        assert_eq!(
            render(&listing),
            "nvs  file 24576\nphy_init  file 4096\nfactory  file 32768\n"
        );
        let messages: Vec<_> = listing
            .diagnostics
            .iter()
            .map(|d| (d.severity, d.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    Severity::Info,
                    "the image ends 0x8000 bytes into partition `factory` (app/factory), whose \
                     table entry gives 0x10000; the rest is not in the image"
                ),
                (
                    Severity::Info,
                    "the image ends at 0x18000; partitions that start past it are not in it: \
                     `storage`"
                )
            ]
        );
        assert_eq!(probe(&image).unwrap().size, Some(0x18000));
    }

    /// A table alone (a build's `partition-table.bin`) lists its partitions and holds none.
    #[test]
    fn a_table_alone() {
        let image = table(&standard_rows(), true);
        assert_eq!(probe(&image).unwrap().size, Some(0xc00));
        let listing = listing(&image);
        assert!(listing.entries.is_empty());
        assert_eq!(listing.diagnostics.len(), 1);
    }

    #[track_caller]
    fn refused(rows: &[Vec<u8>], why: &str) {
        let image = flash(0x40000, 0x8000, &table(rows, false), &[]);
        assert_eq!(table_at(&image, 0x8000).unwrap_err(), why);
        assert_eq!(probe(&image), None);
        assert!(listing(&image).entries.is_empty());
    }

    #[test]
    fn tables_gen_esp32part_would_not_write_are_refused() {
        refused(
            &[
                row(b"nvs", 1, 2, 0x9000, 0x6000),
                row(b"phy", 1, 1, 0xe000, 0x2000),
            ],
            "partitions `nvs` (0x9000..0xf000) and `phy` (from 0xe000) overlap",
        );
        refused(
            &[row(b"app", 0, 0, 0x18000, 0x10000)],
            "partition `app` (row 0) starts at 0x18000, not a multiple of 0x10000",
        );
        refused(
            &[row(b"nvs", 1, 2, 0x8000, 0x1000)],
            "partition `nvs` (row 0) starts at 0x8000, before the table's sector ends at 0x9000",
        );
        refused(
            &[row(b"x", 0x10, 0, 0x9000, 0x1000)],
            "partition `x` (row 0) has the reserved type 0x10",
        );
        refused(
            &[row(b"x", 1, 0, 0x9000, 0)],
            "partition `x` (row 0) is empty",
        );
        refused(
            &[row(b"x", 1, 0, 0xffff_f000, 0x2000)],
            "partition `x` (row 0) ends past 4 GiB (0xfffff000 + 0x2000)",
        );
        refused(&[], "the table lists no partition");
        let mut garbage = row(b"nvs", 1, 2, 0x9000, 0x6000);
        garbage.extend([0u8; 32]);
        refused(
            &[garbage],
            "row 1 at 0x8020 is neither an entry, the MD5 row nor the end",
        );
    }

    /// The bootloader and table entries of ESP-IDF 5.3 name regions before the table's end.
    #[test]
    fn bootloader_and_table_entries_may_name_their_own_regions() {
        let rows = [
            row(b"bootloader", 2, 0, 0x1000, 0x7000),
            row(b"table", 3, 0, 0x8000, 0x1000),
            row(b"factory", 0, 0, 0x10000, 0x10000),
        ];
        let image = flash(0x20000, 0x8000, &table(&rows, true), &[]);
        assert!(probe(&image).is_some());
        assert_eq!(
            render(&listing(&image)),
            "bootloader  file 28672\ntable  file 4096\nfactory  file 65536\n"
        );
    }

    #[test]
    fn an_erased_table_is_no_table() {
        assert_eq!(probe(&vec![0xff; 0x20000]), None);
        let mut image = vec![0xff; 0x20000];
        image[0x8000] = 0x50;
        image[0x8001] = 0xaa;
        assert_eq!(probe(&image), None);
    }

    /// Labels are untrusted: no path separators, no dot names, none twice; a 16-byte label has
    /// no NUL.
    #[test]
    fn labels_become_safe_distinct_names() {
        let rows = [
            row(b"../../etc/passwd", 1, 0x81, 0x9000, 0x1000),
            row(b"", 1, 0x82, 0xa000, 0x1000),
            row(b"..", 1, 0x82, 0xb000, 0x1000),
            row(b"data", 1, 0x82, 0xc000, 0x1000),
            row(b"data", 1, 0x82, 0xd000, 0x1000),
            row(b"sixteen_bytes_xy", 1, 0x82, 0xe000, 0x1000),
            row(b"tab\there\xff", 1, 0x82, 0xf000, 0x1000),
        ];
        let image = flash(0x10000, 0x8000, &table(&rows, true), &[]);
        assert_eq!(
            render(&listing(&image)),
            ".._.._etc_passwd  file 4096\npartition@0xa000  file 4096\npartition@0xb000  file \
             4096\ndata  file 4096\ndata@0xd000  file 4096\nsixteen_bytes_xy  file 4096\n\
             tab_here_  file 4096\n"
        );
    }

    /// 95 entries fill the table; a 96th where the end belongs is not read, and said so.
    #[test]
    fn more_than_95_entries() {
        let rows: Vec<Vec<u8>> = (0..96u32)
            .map(|i| {
                row(
                    format!("p{i}").as_bytes(),
                    1,
                    0x82,
                    0x9000 + i * 0x1000,
                    0x1000,
                )
            })
            .collect();
        let mut table = rows.concat();
        table.truncate(0xc00);
        let image = flash(0x9000 + 96 * 0x1000, 0x8000, &table, &[]);
        let probe = probe(&image).unwrap();
        assert!(probe.description.contains(", 95 partitions:"));
        let listing = listing(&image);
        assert_eq!(listing.entries.len(), 95);
        assert_eq!(listing.diagnostics.len(), 1);
        assert_eq!(listing.diagnostics[0].offset, Some(0x8be0));
        // 95 entries and no room for the end marker is what ESP-IDF reads too.
        let mut full = image.clone();
        full[0x8be0..0x8c00].fill(0xff);
        assert!(listing_ok(&full));
    }

    fn listing_ok(image: &[u8]) -> bool {
        let listing = listing(image);
        listing
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Info)
            && !listing.entries.is_empty()
    }

    /// Every truncation and a spread of bit flips: never a panic; a cut table is no table.
    #[test]
    fn damage_is_survived() {
        let bootloader = esp_image(0, b"bootloader code");
        let image = flash(
            0x22000,
            0x8000,
            &table(&standard_rows(), true),
            &[(0x1000, &bootloader)],
        );
        for cut in (0..image.len()).step_by(97).chain(0x8000..0x8100) {
            let found = probe(&image[..cut]);
            if cut < 0x80a0 {
                assert_eq!(found, None, "cut at {cut:#x}");
            }
            let _ = listing(&image[..cut]);
        }
        let mut seed = 0x9e37_79b9_u32;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let mut copy = image.clone();
            let at = 0x8000 + seed as usize % 0xc0;
            copy[at] ^= 1 << (seed >> 29);
            let _ = probe(&copy);
            let _ = listing(&copy);
        }
    }
}
