//! Intel HEX and Motorola S-record files: the text formats microcontroller firmware is shipped and
//! flashed in (`objcopy -O ihex` / `-O srec`; Nordic, ST, Microchip and Arduino toolchains). Their
//! strings are written as hexadecimal digits, so nothing in them can be recognised until they are
//! decoded into the flash image they describe ([`super::flashmap`]).
//!
//! Intel HEX (Intel's "Hexadecimal Object File Format Specification", revision A): lines
//! `:LLAAAATT<data>CC`; record types 00 data, 01 end of file, 02 extended segment address, 03 start
//! segment address, 04 extended linear address, 05 start linear address; the checksum makes the
//! bytes of the record sum to zero. S-records: lines `S<type><count><address><data><checksum>`; S1,
//! S2, S3 carry data at 16, 24 and 32-bit addresses, S0 a header (a module name), S5/S6 a record
//! count, S7, S8, S9 the start address that ends the file; the checksum is the ones' complement of
//! the sum of the count, address and data bytes.
//!
//! Both are probed at the start of a file only (a record is no magic worth searching for). A
//! record whose checksum is wrong is skipped with a diagnostic; a line that is not a record ends
//! the file there (its size is where the records end).

use bytes::Bytes;
use consign_model::{Diagnostic, Severity};

use crate::Limit;

use super::flashmap::Records;
use crate::Budget;
use crate::fs::{FsListing, Probe};

/// Which of the two formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    IntelHex,
    SRecord,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::IntelHex => "ihex",
            Self::SRecord => "srec",
        }
    }
}

/// One decoded record.
#[derive(Debug, PartialEq, Eq)]
struct Record {
    /// The record type (Intel HEX `TT`, or the S-record digit).
    kind: u8,
    address: u32,
    data: Vec<u8>,
    checksum_ok: bool,
}

/// The value of one hexadecimal digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The bytes that hexadecimal `digits` (an even number of them) spell.
fn hex_bytes(digits: &[u8]) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// The longest record line either format allows: Intel HEX's `:` and 5 + 255 bytes in hex.
const MAX_RECORD_CHARS: usize = 1 + 2 * (5 + 255);

/// Reads one line as a record of `kind`; `None` if it is not one (a line longer than any record
/// is not decoded at all).
fn record(kind: Kind, line: &[u8]) -> Option<Record> {
    if line.len() > MAX_RECORD_CHARS {
        return None;
    }
    match kind {
        Kind::IntelHex => {
            let bytes = hex_bytes(line.strip_prefix(b":")?)?;
            let (&len, rest) = bytes.split_first()?;
            if rest.len() != usize::from(len) + 4 {
                return None;
            }
            let sum = bytes.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte));
            Some(Record {
                kind: rest[2],
                address: u32::from(u16::from_be_bytes([rest[0], rest[1]])),
                data: rest[3..3 + usize::from(len)].to_vec(),
                checksum_ok: sum == 0,
            })
        }
        Kind::SRecord => {
            let (&b'S', rest) = line.split_first()? else {
                return None;
            };
            let (&digit, rest) = rest.split_first()?;
            let address_len = match digit {
                b'0' | b'1' | b'5' | b'9' => 2,
                b'2' | b'6' | b'8' => 3,
                b'3' | b'7' => 4,
                _ => return None,
            };
            let bytes = hex_bytes(rest)?;
            let (&count, body) = bytes.split_first()?;
            if body.len() != usize::from(count) || body.len() < address_len + 1 {
                return None;
            }
            let (address, data) = body[..body.len() - 1].split_at(address_len);
            let sum = bytes[..bytes.len() - 1]
                .iter()
                .fold(0u8, |sum, byte| sum.wrapping_add(*byte));
            Some(Record {
                kind: digit - b'0',
                address: address
                    .iter()
                    .fold(0u32, |value, byte| value << 8 | u32::from(*byte)),
                data: data.to_vec(),
                checksum_ok: !sum == body[body.len() - 1],
            })
        }
    }
}

/// The lines of `data` with their byte offsets, line endings and trailing blanks removed.
fn lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= data.len() {
            return None;
        }
        let rest = &data[at..];
        let len = memchr::memchr(b'\n', rest).map_or(rest.len(), |end| end + 1);
        let line = rest[..len].trim_ascii_end();
        let start = at;
        at += len;
        Some((start, line))
    })
}

/// Which format the first line of `data` is a valid record of.
fn kind_of(data: &[u8]) -> Option<Kind> {
    let kind = match data.first()? {
        b':' => Kind::IntelHex,
        b'S' => Kind::SRecord,
        _ => return None,
    };
    let (_, line) = lines(data).next()?;
    record(kind, line)
        .filter(|record| record.checksum_ok)
        .map(|_| kind)
}

/// A file whose first line is a record with a right checksum.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let kind = kind_of(data)?;
    Some(Probe {
        format: kind.name(),
        size: None,
        description: match kind {
            Kind::IntelHex => "Intel HEX".to_owned(),
            Kind::SRecord => "Motorola S-record".to_owned(),
        },
    })
}

/// Decodes the records into flash regions, one file each.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(kind) = kind_of(data) else {
        return listing;
    };
    let mut records = Records::new(budget);
    let mut refused: Option<(Limit, usize)> = None;
    // Intel HEX's upper address bits, from its last type 02 or 04 record.
    let mut base = 0u64;
    let mut bad_checksums = 0usize;
    let mut end = data.len();
    let mut header = None;
    for (offset, line) in lines(data) {
        if line.is_empty() {
            continue;
        }
        let Some(record) = record(kind, line) else {
            end = offset;
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("not a {} record; reading stops here", kind.name()),
                )
                .at(offset as u64),
            );
            break;
        };
        if !record.checksum_ok {
            bad_checksums += 1;
            if bad_checksums == 1 {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        "",
                        "record checksum does not match; the record is skipped",
                    )
                    .at(offset as u64),
                );
            }
            continue;
        }
        let at = offset as u64;
        let pushed = match (kind, record.kind) {
            (Kind::IntelHex, 0) => records.push(base + u64::from(record.address), &record.data, at),
            (Kind::SRecord, 1..=3) => records.push(u64::from(record.address), &record.data, at),
            _ => Ok(()),
        };
        if let Err(limit) = pushed {
            refused = Some((limit, offset));
            break;
        }
        let finished = match (kind, record.kind) {
            (Kind::IntelHex, 1) | (Kind::SRecord, 7..=9) => true,
            (Kind::IntelHex, 2) if record.data.len() == 2 => {
                base = u64::from(u16::from_be_bytes([record.data[0], record.data[1]])) << 4;
                false
            }
            (Kind::IntelHex, 4) if record.data.len() == 2 => {
                base = u64::from(u16::from_be_bytes([record.data[0], record.data[1]])) << 16;
                false
            }
            (Kind::SRecord, 0) => {
                header.get_or_insert_with(|| {
                    String::from_utf8_lossy(&record.data)
                        .trim_matches(char::from(0))
                        .trim()
                        .to_owned()
                });
                false
            }
            // Start addresses and record counts carry nothing to keep.
            _ => false,
        };
        if finished {
            end = offset + line.len();
            break;
        }
    }
    if bad_checksums > 1 {
        listing.diagnostics.push(Diagnostic::warning(
            "",
            format!("{bad_checksums} records have a wrong checksum and were skipped"),
        ));
    }
    if let Some((limit, offset)) = refused {
        listing.cut(
            Diagnostic::warning("", format!("records from here on are not read: {limit}"))
                .at(offset as u64)
                .with_hint(limit.hint()),
            "the records from this one to the end",
            limit.into(),
        );
    }
    listing.size = Some(end as u64);
    let empty = records.is_empty();
    records.into_regions("", &mut listing, budget);
    if empty {
        listing
            .diagnostics
            .push(Diagnostic::warning("", "no data records").severity(Severity::Info));
    }
    if let Some(header) = header.filter(|header| !header.is_empty()) {
        listing.diagnostics.push(
            Diagnostic::warning("", format!("S-record header `{header}`")).severity(Severity::Info),
        );
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::test_support;

    fn files(data: &[u8]) -> Vec<(String, Vec<u8>)> {
        test_support::files(&extract(
            &Bytes::copy_from_slice(data),
            &Budget::new(Limits::default()),
        ))
    }

    // "Hello, consign 1.2.3\0" at 0x08000000, as GNU objcopy 2.40 writes it (`objcopy -I binary
    // -O ihex --change-addresses 0x08000000`).
    const IHEX: &[u8] = b":020000040800F2\n:1000000048656C6C6F2C20636F6E7369676E20316E\n:050010002E322E33002A\n:0400000508000000EF\n:00000001FF\n";

    #[test]
    fn intel_hex_decodes_to_its_flash_region() {
        let probe = probe(IHEX).unwrap();
        assert_eq!(probe.format, "ihex");
        assert_eq!(
            files(IHEX),
            [(
                "0x08000000.bin".to_owned(),
                b"Hello, consign 1.2.3\0".to_vec()
            )]
        );
        let listing = extract(&Bytes::from_static(IHEX), &Budget::new(Limits::default()));
        assert_eq!(listing.size, Some(IHEX.len() as u64 - 1));
        assert!(listing.diagnostics.is_empty(), "{:?}", listing.diagnostics);
    }

    // The same bytes as S-records, as objcopy writes them (`-O srec`): a header naming the file
    // (`hello.srec`), S3 data at 32-bit addresses, S7 end, CRLF line ends.
    const SREC: &[u8] = b"S00D000068656C6C6F2E7372656303\r\nS3150800000048656C6C6F2C20636F6E7369676E203160\r\nS30A080000102E322E33001C\r\nS70508000000F2\r\n";

    #[test]
    fn s_records_decode_to_their_flash_region() {
        assert_eq!(probe(SREC).unwrap().format, "srec");
        assert_eq!(
            files(SREC),
            [(
                "0x08000000.bin".to_owned(),
                b"Hello, consign 1.2.3\0".to_vec()
            )]
        );
        let listing = extract(&Bytes::from_static(SREC), &Budget::new(Limits::default()));
        assert!(
            listing
                .diagnostics
                .iter()
                .any(|diagnostic| diagnostic.message.contains("`hello.srec`")),
            "{:?}",
            listing.diagnostics
        );
    }

    /// Excerpts of real firmware from Debian, each beside GNU objcopy's decoding of it (recipe:
    /// `fixtures/unpack/mcu/recipe.sh`).
    fn fixture(name: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/unpack/mcu/");
        std::fs::read(format!("{path}{name}")).unwrap()
    }

    #[test]
    fn real_firmware_decodes_as_objcopy_decodes_it() {
        // snek 1.12 for the Arduino Uno (avr-objcopy's Intel HEX), and brickOS for the LEGO RCX
        // (S1 records at 16-bit addresses).
        for (input, expected, address) in [
            ("snek-uno.hex", "snek-uno.bin", "0x00000a70.bin"),
            ("brickos.srec", "brickos.bin", "0x00008000.bin"),
        ] {
            let decoded = files(&fixture(input));
            assert_eq!(decoded.len(), 1, "{input}");
            assert_eq!(decoded[0].0, address, "{input}");
            assert!(
                decoded[0].1 == fixture(expected),
                "{input} differs from objcopy's decoding"
            );
        }
        assert_eq!(probe(&fixture("brickos.srec")).unwrap().format, "srec");
        let listing = extract(
            &Bytes::from(fixture("brickos.srec")),
            &Budget::new(Limits::default()),
        );
        assert!(
            listing
                .diagnostics
                .iter()
                .any(|diagnostic| diagnostic.message.contains("`brickOS.srec`"))
        );
    }

    #[test]
    fn segment_addresses_and_s1_records() {
        // Extended segment address 0x1000 (base 0x10000), then data at 0x0020.
        let ihex = b":020000021000EC\n:0300200041424317\n:00000001FF\n";
        assert_eq!(
            files(ihex),
            [("0x00010020.bin".to_owned(), b"ABC".to_vec())]
        );
        let srec = b"S106002041424313\nS9030000FC\n";
        assert_eq!(
            files(srec),
            [("0x00000020.bin".to_owned(), b"ABC".to_vec())]
        );
    }

    #[test]
    fn bad_checksums_are_skipped_and_junk_ends_the_file() {
        // A first record with a bad checksum (off by one) is no file of ours.
        assert!(probe(b":0300200041424318\n:030023004445460B\n").is_none());
        // A good record, one off by one (skipped), then a line that ends the reading.
        let data = b":030023004445460B\n:0300200041424318\nnot a record\n:03002600474849FF\n";
        let listing = extract(
            &Bytes::copy_from_slice(data),
            &Budget::new(Limits::default()),
        );
        assert_eq!(listing.entries.len(), 1);
        assert_eq!(listing.size, Some(36));
        assert_eq!(listing.diagnostics.len(), 2, "{:?}", listing.diagnostics);
    }

    #[test]
    fn long_lines_and_small_budgets_are_bounded() {
        // A line longer than any record is not decoded: not a record.
        let mut long = b":10000000".to_vec();
        long.extend(std::iter::repeat_n(b'0', 10_000));
        assert!(probe(&long).is_none());
        // Records past what the budget holds are cut, not kept.
        let budget = Budget::new(Limits {
            max_total_bytes: 64,
            ..Limits::default()
        });
        let listing = extract(&Bytes::from_static(IHEX), &budget);
        assert_eq!(listing.cuts.len(), 1, "{:?}", listing.diagnostics);
    }

    #[test]
    fn what_is_not_a_record_is_not_probed() {
        for data in [
            &b""[..],
            b":",
            b":zz",
            b"Some text\n",
            b"S",
            b"SELECT * FROM t;\n",
            b":10000000\n",
            b"S4030000FC\n",
            b"\x7fELF",
        ] {
            assert!(probe(data).is_none(), "{data:?}");
        }
    }

    #[test]
    fn every_truncation_and_flipped_byte_is_survived() {
        for data in [IHEX, SREC] {
            for end in 0..data.len() {
                let _ = extract(
                    &Bytes::copy_from_slice(&data[..end]),
                    &Budget::new(Limits::default()),
                );
            }
            let mut copy = data.to_vec();
            for at in 0..copy.len() {
                copy[at] ^= 0x41;
                let _ = probe(&copy);
                let _ = extract(
                    &Bytes::copy_from_slice(&copy),
                    &Budget::new(Limits::default()),
                );
                copy[at] ^= 0x41;
            }
        }
    }
}
