//! Android A/B OTA payloads (`payload.bin`, the update engine's `CrAU` format): the partition
//! images (system, vendor, boot, ...) of an over-the-air update, as the update engine would
//! write them.
//!
//! Layout: `CrAU`, a big-endian major version (2 since Android 7; 1 is Chrome OS's older form),
//! the manifest's length, in version 2 the metadata signature's length, then the manifest (a
//! protobuf `DeltaArchiveManifest`), the signature, and the data blobs the operations point into.
//! Each partition lists install operations, each writing its output to extents (block ranges) of
//! the new partition: `REPLACE` (raw), `REPLACE_BZ`, `REPLACE_XZ`, `ZSTD`, `ZERO` and `DISCARD` in a
//! full OTA. An incremental OTA's operations (`SOURCE_COPY`, the `*DIFF` kinds) patch the partition
//! as it was before the update, which the payload does not hold: such a partition is not built
//! and the cut says why.
//!
//! Each partition becomes one file, `<name>.img`, built in one buffer reserved from the budget
//! before it is allocated; operations decode straight into their extents, on every core (the
//! extents are checked to be disjoint first). A partition whose operation cannot be applied whole
//! is left out with a diagnostic naming the operation: a partly written image must not pass for
//! the partition. The manifest's SHA-256 of each partition is checked when it states one.

use bytes::Bytes;
use consign_model::binary::{u32be, u64be};
use consign_model::{CutReason, Diagnostic};
use rayon::prelude::*;
use sha2::Digest as _;

use crate::Budget;
use crate::decompress::{Codec, decode_with};
use crate::fs::{FsListing, Probe};

use super::{file, human_size};

const MAGIC: &[u8; 4] = b"CrAU";
/// More partitions than any device has; a manifest listing more is refused.
const MAX_PARTITIONS: usize = 256;
/// Manifests of real payloads are kilobytes to a few megabytes; a length past this is not one.
const MAX_MANIFEST: usize = 256 << 20;
/// The update engine's block sizes are 4 KiB; anything from 512 B to 64 KiB is accepted.
const BLOCK_SIZES: std::ops::RangeInclusive<u64> = 512..=(64 << 10);

/// The fixed header: where the manifest and the data blobs are.
struct Header {
    version: u64,
    manifest: std::ops::Range<usize>,
    blobs_at: usize,
}

fn header(data: &[u8]) -> Option<Header> {
    if data.get(..4)? != MAGIC {
        return None;
    }
    let version = u64be(data, 4)?;
    let manifest_len = usize::try_from(u64be(data, 12)?).ok()?;
    let (manifest_at, signature_len) = match version {
        1 => (20usize, 0),
        2 => (24, usize::try_from(u32be(data, 20)?).ok()?),
        _ => return None,
    };
    let manifest_end = manifest_at.checked_add(manifest_len)?;
    let blobs_at = manifest_end.checked_add(signature_len)?;
    (manifest_len > 0 && manifest_len <= MAX_MANIFEST && signature_len <= MAX_MANIFEST).then_some(
        Header {
            version,
            manifest: manifest_at..manifest_end,
            blobs_at,
        },
    )
}

/// Magic, a known major version, and manifest and signature lengths a payload can have (a payload
/// cut inside them is still recognised, so that the cut is reported).
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let header = header(data)?;
    Some(Probe {
        format: "android-ota-payload",
        size: None,
        description: format!(
            "Android OTA payload, major version {}, manifest {}",
            header.version,
            human_size(header.manifest.len() as u64)
        ),
    })
}

/// What an install operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Replace,
    Decode(Codec),
    Zero,
    /// Needs the partition as it was before the update (or is unknown): the type's number.
    Other(u64),
}

impl Kind {
    fn of(number: u64) -> Self {
        match number {
            0 => Self::Replace,
            1 => Self::Decode(Codec::Bzip2),
            8 => Self::Decode(Codec::Xz),
            14 => Self::Decode(Codec::Zstd),
            6 | 7 => Self::Zero,
            other => Self::Other(other),
        }
    }
}

/// The update engine's name of an operation type, for messages.
fn kind_name(number: u64) -> String {
    match number {
        0 => "REPLACE".into(),
        1 => "REPLACE_BZ".into(),
        2 => "MOVE".into(),
        3 => "BSDIFF".into(),
        4 => "SOURCE_COPY".into(),
        5 => "SOURCE_BSDIFF".into(),
        6 => "ZERO".into(),
        7 => "DISCARD".into(),
        8 => "REPLACE_XZ".into(),
        9 => "PUFFDIFF".into(),
        10 => "BROTLI_BSDIFF".into(),
        11 => "ZUCCHINI".into(),
        12 => "LZ4DIFF_BSDIFF".into(),
        13 => "LZ4DIFF_PUFFDIFF".into(),
        14 => "ZSTD".into(),
        other => format!("type {other}"),
    }
}

/// One install operation, as the manifest states it.
struct Operation {
    kind: u64,
    data_offset: u64,
    data_length: u64,
    /// (first block, block count) of each destination extent, in output order.
    extents: Vec<(u64, u64)>,
}

/// One partition of the manifest.
struct Partition {
    name: String,
    size: Option<u64>,
    hash: Option<Vec<u8>>,
    operations: Vec<Operation>,
}

struct Manifest {
    block_size: u64,
    partitions: Vec<Partition>,
}

/// A manifest that could not be read, with the offset (inside the manifest) where it broke.
type ManifestError = (usize, String);

fn read_manifest(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let mut block_size = 4096;
    let mut partitions = Vec::new();
    for field in wire::fields(bytes) {
        let (number, value, at) = field?;
        match (number, value) {
            (3, wire::Value::Varint(size)) => block_size = size,
            (13, wire::Value::Bytes(message)) => {
                if partitions.len() == MAX_PARTITIONS {
                    return Err((at, format!("more than {MAX_PARTITIONS} partitions")));
                }
                partitions.push(read_partition(message).map_err(|(inner, why)| (at + inner, why))?);
            }
            _ => {}
        }
    }
    if !BLOCK_SIZES.contains(&block_size) || !block_size.is_power_of_two() {
        return Err((
            0,
            format!("block size {block_size} is not a power of two from 512 B to 64 KiB"),
        ));
    }
    Ok(Manifest {
        block_size,
        partitions,
    })
}

fn read_partition(bytes: &[u8]) -> Result<Partition, ManifestError> {
    let mut partition = Partition {
        name: String::new(),
        size: None,
        hash: None,
        operations: Vec::new(),
    };
    for field in wire::fields(bytes) {
        let (number, value, at) = field?;
        match (number, value) {
            (1, wire::Value::Bytes(name)) => {
                partition.name = String::from_utf8_lossy(name).into_owned();
            }
            (7, wire::Value::Bytes(info)) => {
                for field in wire::fields(info) {
                    match field.map_err(|(inner, why)| (at + inner, why))? {
                        (1, wire::Value::Varint(size), _) => partition.size = Some(size),
                        (2, wire::Value::Bytes(hash), _) => partition.hash = Some(hash.to_vec()),
                        _ => {}
                    }
                }
            }
            (8, wire::Value::Bytes(operation)) => partition
                .operations
                .push(read_operation(operation).map_err(|(inner, why)| (at + inner, why))?),
            _ => {}
        }
    }
    Ok(partition)
}

fn read_operation(bytes: &[u8]) -> Result<Operation, ManifestError> {
    let mut operation = Operation {
        kind: u64::MAX,
        data_offset: 0,
        data_length: 0,
        extents: Vec::new(),
    };
    for field in wire::fields(bytes) {
        let (number, value, at) = field?;
        match (number, value) {
            (1, wire::Value::Varint(kind)) => operation.kind = kind,
            (2, wire::Value::Varint(offset)) => operation.data_offset = offset,
            (3, wire::Value::Varint(length)) => operation.data_length = length,
            (6, wire::Value::Bytes(extent)) => {
                let (mut start, mut count) = (0, 0);
                for field in wire::fields(extent) {
                    match field.map_err(|(inner, why)| (at + inner, why))? {
                        (1, wire::Value::Varint(value), _) => start = value,
                        (2, wire::Value::Varint(value), _) => count = value,
                        _ => {}
                    }
                }
                operation.extents.push((start, count));
            }
            _ => {}
        }
    }
    if operation.kind == u64::MAX {
        return Err((0, "an install operation has no type".into()));
    }
    Ok(operation)
}

/// Builds each partition the payload fully describes into `<name>.img`.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(header) = header(data) else {
        return listing;
    };
    if header.blobs_at > data.len() {
        listing.diagnostics.push(
            Diagnostic::warning(
                "",
                format!(
                    "OTA payload ends at {} bytes, inside its manifest and signature ({} bytes \
                     from offset {})",
                    data.len(),
                    header.blobs_at - header.manifest.start,
                    header.manifest.start
                ),
            )
            .at(data.len() as u64)
            .with_hint("the file is cut short; unpack the whole payload"),
        );
        // Claimed whole, so that the cut is reported rather than the bytes searched as any.
        listing.size = Some(data.len() as u64);
        return listing;
    }
    let manifest = match read_manifest(&data[header.manifest.clone()]) {
        Ok(manifest) => manifest,
        Err((at, why)) => {
            listing.diagnostics.push(
                Diagnostic::warning("", format!("OTA payload manifest is damaged: {why}"))
                    .at((header.manifest.start + at) as u64)
                    .with_hint("the payload cannot be unpacked; check that the file is whole"),
            );
            listing.size = Some(header.blobs_at as u64);
            return listing;
        }
    };
    if manifest.partitions.is_empty() {
        listing.cut(
            Diagnostic::warning(
                "",
                "OTA payload manifest lists no partitions (a Chrome OS major version 1 payload keeps \
                 its operations elsewhere); not unpacked",
            )
            .at(header.manifest.start as u64),
            "the payload's operations",
            CutReason::Unsupported,
        );
        return listing;
    }
    let blobs = data.slice(header.blobs_at..);
    let mut end = header.blobs_at as u64;
    let mut names = std::collections::BTreeSet::new();
    for partition in &manifest.partitions {
        if let Some(blob_end) = partition
            .operations
            .iter()
            .map(|operation| operation.data_offset.saturating_add(operation.data_length))
            .max()
        {
            end = end.max((header.blobs_at as u64).saturating_add(blob_end));
        }
        if !names.insert(partition.name.as_str()) {
            listing.diagnostics.push(Diagnostic::warning(
                "",
                format!(
                    "OTA payload lists partition `{}` twice; the second is left out",
                    partition.name
                ),
            ));
            continue;
        }
        if let Some(image) = build(partition, manifest.block_size, &blobs, budget, &mut listing) {
            let name = if partition.name.is_empty() {
                "unnamed.img".to_owned()
            } else {
                format!("{}.img", partition.name)
            };
            listing.entries.push(file(name, image, None));
        }
    }
    listing.size = Some(end.min(data.len() as u64));
    listing
}

/// One partition's image, or `None` (with a diagnostic) when it cannot be built whole.
fn build(
    partition: &Partition,
    block_size: u64,
    blobs: &Bytes,
    budget: &Budget,
    listing: &mut FsListing,
) -> Option<Bytes> {
    let name = &partition.name;
    let warn = |listing: &mut FsListing, message: String| {
        listing
            .diagnostics
            .push(Diagnostic::warning(format!("{name}.img"), message));
    };
    if let Some(operation) = partition
        .operations
        .iter()
        .find(|operation| matches!(Kind::of(operation.kind), Kind::Other(_)))
    {
        let count = partition
            .operations
            .iter()
            .filter(|other| other.kind == operation.kind)
            .count();
        listing.cut(
            Diagnostic::warning(
                format!("{name}.img"),
                format!(
                    "partition `{name}` has {count} {} operations, which patch the partition as it \
                     was before the update (an incremental OTA) or are unknown; not built",
                    kind_name(operation.kind)
                ),
            )
            .with_hint("unpack the full OTA of the release instead"),
            format!("partition `{name}`"),
            CutReason::Unsupported,
        );
        return None;
    }
    // Output spans in bytes, each checked against the stated size and the others.
    let mut spans: Vec<(u64, u64, usize)> = Vec::new();
    for (index, operation) in partition.operations.iter().enumerate() {
        for &(start, count) in &operation.extents {
            let (Some(from), Some(to)) = (
                start.checked_mul(block_size),
                start
                    .checked_add(count)
                    .and_then(|end| end.checked_mul(block_size)),
            ) else {
                warn(
                    listing,
                    format!("operation {index} of `{name}` has an extent past any size; not built"),
                );
                return None;
            };
            if to > from {
                spans.push((from, to, index));
            }
        }
    }
    let extent_end = spans.iter().map(|&(_, to, _)| to).max().unwrap_or(0);
    let size = partition.size.unwrap_or(extent_end);
    if extent_end > size {
        warn(
            listing,
            format!(
                "an operation of `{name}` writes past its stated size of {size} bytes; not built"
            ),
        );
        return None;
    }
    spans.sort_unstable();
    if let Some(pair) = spans.windows(2).find(|pair| pair[1].0 < pair[0].1) {
        listing.cut(
            Diagnostic::warning(
                format!("{name}.img"),
                format!(
                    "operations {} and {} of `{name}` write the same blocks; not built",
                    pair[0].2, pair[1].2
                ),
            ),
            format!("partition `{name}`"),
            CutReason::Refused,
        );
        return None;
    }
    let stored: u64 = partition
        .operations
        .iter()
        .map(|operation| operation.data_length)
        .sum();
    let (bound, bound_limit) = budget.bound(blobs.len() as u64);
    let reservation = if size > bound {
        Err(bound_limit)
    } else {
        budget.reserve_expansion(size, stored.max(1))
    };
    let (reservation, Ok(len)) = (
        match reservation {
            Ok(reservation) => reservation,
            Err(limit) => {
                listing.cut(
                    Diagnostic::warning(
                        format!("{name}.img"),
                        format!("partition `{name}` is {size} bytes; not built: {limit}"),
                    )
                    .with_hint(limit.hint()),
                    format!("partition `{name}` ({size} bytes)"),
                    limit.into(),
                );
                return None;
            }
        },
        usize::try_from(size),
    ) else {
        return None;
    };
    let mut image = vec![0u8; len];
    // Each operation's destination slices, in its extents' order: the image cut at the sorted
    // spans' bounds, so that the operations can fill them side by side.
    let mut targets: Vec<Vec<(u64, &mut [u8])>> =
        partition.operations.iter().map(|_| Vec::new()).collect();
    let mut rest: &mut [u8] = &mut image;
    let mut at = 0u64;
    for &(from, to, index) in &spans {
        let tail = std::mem::take(&mut rest);
        let (_, tail) = tail.split_at_mut((from - at) as usize);
        let (piece, tail) = tail.split_at_mut((to - from) as usize);
        rest = tail;
        at = to;
        targets[index].push((from, piece));
    }
    let failures: Vec<String> = partition
        .operations
        .par_iter()
        .zip(targets.into_par_iter())
        .enumerate()
        .filter_map(|(index, (operation, mut pieces))| {
            // The sort put the pieces in block order; the operation writes in its extents' order.
            let order: Vec<u64> = operation
                .extents
                .iter()
                .map(|&(start, _)| start * block_size)
                .collect();
            pieces.sort_by_key(|(from, _)| order.iter().position(|start| start == from));
            apply(operation, block_size, blobs, budget, &mut pieces)
                .err()
                .map(|why| format!("operation {index} ({}): {why}", kind_name(operation.kind)))
        })
        .collect();
    if let Some(first) = failures.first() {
        warn(
            listing,
            format!(
                "partition `{name}` not built: {first}{}",
                if failures.len() > 1 {
                    format!(" (and {} more operations)", failures.len() - 1)
                } else {
                    String::new()
                }
            ),
        );
        return None;
    }
    if let Some(stated) = &partition.hash {
        let digest = sha2::Sha256::digest(&image);
        if digest.as_slice() != stated.as_slice() {
            warn(
                listing,
                format!(
                    "partition `{name}` does not have the SHA-256 the manifest states; the payload \
                     is damaged or was altered"
                ),
            );
        }
    }
    reservation.commit(len as u64);
    Some(Bytes::from(image))
}

/// Writes one operation's output into its destination pieces.
fn apply(
    operation: &Operation,
    block_size: u64,
    blobs: &Bytes,
    budget: &Budget,
    pieces: &mut [(u64, &mut [u8])],
) -> Result<(), String> {
    budget.check_time().map_err(|limit| limit.to_string())?;
    let out_len: u64 = pieces.iter().map(|(_, piece)| piece.len() as u64).sum();
    // The update engine pads an operation's data to whole blocks; output less than one block
    // short of them is taken as that padding, anything shorter as damage.
    let short = |written: u64| {
        (out_len.saturating_sub(written) >= block_size)
            .then(|| format!("its data gives {written} of its {out_len} bytes of blocks"))
    };
    let input = || {
        let from = usize::try_from(operation.data_offset).ok()?;
        let to = from.checked_add(usize::try_from(operation.data_length).ok()?)?;
        blobs.get(from..to)
    };
    match Kind::of(operation.kind) {
        Kind::Zero => Ok(()),
        Kind::Replace => {
            let mut data = input().ok_or("its data lies past the end of the payload")?;
            if data.len() as u64 > out_len {
                return Err(format!(
                    "{} bytes of data for {out_len} bytes of blocks",
                    data.len()
                ));
            }
            if let Some(why) = short(data.len() as u64) {
                return Err(why);
            }
            for (_, piece) in pieces.iter_mut() {
                let take = piece.len().min(data.len());
                piece[..take].copy_from_slice(&data[..take]);
                data = &data[take..];
            }
            Ok(())
        }
        Kind::Decode(codec) => {
            let data = input().ok_or("its data lies past the end of the payload")?;
            let (written, _) = decode_with(codec, data, out_len, |reader| {
                let mut written = 0u64;
                for (_, piece) in pieces.iter_mut() {
                    let mut filled = 0;
                    while filled < piece.len() {
                        match reader.read(&mut piece[filled..]) {
                            Ok(0) => return Ok(written),
                            Ok(n) => {
                                filled += n;
                                written += n as u64;
                            }
                            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(err) => return Err(err),
                        }
                    }
                }
                // Output past the blocks would be lost: refuse it rather than drop it.
                match reader.read(&mut [0u8; 1]) {
                    Ok(0) => Ok(written),
                    Ok(_) => Err(std::io::Error::other("it decodes to more than its blocks")),
                    Err(err) => Err(err),
                }
            })
            .map_err(|err| format!("{codec} data is damaged ({err})"))?;
            let written = written.map_err(|err| format!("{codec} data is damaged ({err})"))?;
            short(written).map_or(Ok(()), Err)
        }
        Kind::Other(_) => Err("needs the partition as it was before the update".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::fs::test_support::{files, mangle, repo};

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(repo().join("fixtures/unpack").join(name)).unwrap()
    }

    fn unpack(payload: &[u8]) -> FsListing {
        extract(
            &Bytes::copy_from_slice(payload),
            &Budget::new(Limits::default()),
        )
    }

    /// Protobuf fields, written the way the wire format lays them out.
    fn varint(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
    fn number(field: u64, value: u64, out: &mut Vec<u8>) {
        varint(field << 3, out);
        varint(value, out);
    }
    fn message(field: u64, body: &[u8], out: &mut Vec<u8>) {
        varint((field << 3) | 2, out);
        varint(body.len() as u64, out);
        out.extend_from_slice(body);
    }

    /// An operation of `kind` writing `extents` from `data` (appended to `blobs`).
    fn operation(kind: u64, extents: &[(u64, u64)], data: &[u8], blobs: &mut Vec<u8>) -> Vec<u8> {
        let mut op = Vec::new();
        number(1, kind, &mut op);
        if !data.is_empty() {
            number(2, blobs.len() as u64, &mut op);
            number(3, data.len() as u64, &mut op);
            blobs.extend_from_slice(data);
        }
        for &(start, count) in extents {
            let mut extent = Vec::new();
            number(1, start, &mut extent);
            number(2, count, &mut extent);
            message(6, &extent, &mut op);
        }
        op
    }

    /// A version 2 payload of one partition `name`, `size` bytes (4 KiB blocks), of `operations`.
    fn payload(
        name: &str,
        size: u64,
        hash: Option<&[u8]>,
        operations: &[Vec<u8>],
        blobs: &[u8],
    ) -> Vec<u8> {
        let mut partition = Vec::new();
        message(1, name.as_bytes(), &mut partition);
        let mut info = Vec::new();
        number(1, size, &mut info);
        if let Some(hash) = hash {
            message(2, hash, &mut info);
        }
        message(7, &info, &mut partition);
        for op in operations {
            message(8, op, &mut partition);
        }
        let mut manifest = Vec::new();
        number(3, 4096, &mut manifest);
        message(13, &partition, &mut manifest);
        let mut out = b"CrAU".to_vec();
        out.extend_from_slice(&2u64.to_be_bytes());
        out.extend_from_slice(&(manifest.len() as u64).to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&manifest);
        out.extend_from_slice(blobs);
        out
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = liblzma::write::XzEncoder::new(&mut out, 6);
        std::io::Write::write_all(&mut encoder, data).unwrap();
        encoder.finish().unwrap();
        out
    }

    fn block(byte: u8) -> Vec<u8> {
        vec![byte; 4096]
    }

    #[test]
    fn the_fixture_gives_the_partitions_the_manifest_hashes() {
        // Made by fixtures/unpack/android-ota/make_payload.py; android-payload-dumper extracts the
        // same bytes (tests/interop/android_ota.rs).
        let payload = fixture("android-ota/payload.bin");
        let probe = probe(&payload).unwrap();
        assert_eq!(probe.format, "android-ota-payload");
        let listing = unpack(&payload);
        assert!(listing.diagnostics.is_empty(), "{:?}", listing.diagnostics);
        let images = files(&listing);
        let names: Vec<&str> = images.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["boot.img", "system.img", "vendor.img"]);
        let mut boot = fixture("android/boot-v4.img");
        boot.resize(boot.len().div_ceil(4096) * 4096, 0);
        assert_eq!(images[0].1, boot);
        assert_eq!(
            &images[1].1[1024 + 0x38..1024 + 0x3a],
            &[0x53, 0xef],
            "ext4 magic"
        );
        assert!(images[2].1.starts_with(b"vendor partition line 0000\n"));
        assert_eq!(listing.size, Some(payload.len() as u64));
    }

    #[test]
    fn an_operation_fills_its_extents_in_its_own_order() {
        // Blocks 2 then 0 from one xz stream, block 1 from a ZSTD one, block 3 zero.
        let mut blobs = Vec::new();
        let first = operation(
            8,
            &[(2, 1), (0, 1)],
            &xz(&[block(b'c'), block(b'a')].concat()),
            &mut blobs,
        );
        let second = operation(
            14,
            &[(1, 1)],
            &zstd::encode_all(&block(b'b')[..], 3).unwrap(),
            &mut blobs,
        );
        let third = operation(6, &[(3, 1)], &[], &mut blobs);
        let expected = [block(b'a'), block(b'b'), block(b'c'), vec![0; 4096]].concat();
        let hash = sha2::Sha256::digest(&expected);
        let data = payload(
            "system",
            4 * 4096,
            Some(&hash),
            &[first, second, third],
            &blobs,
        );
        let listing = unpack(&data);
        assert!(listing.diagnostics.is_empty(), "{:?}", listing.diagnostics);
        assert_eq!(files(&listing), [("system.img".to_owned(), expected)]);
    }

    #[test]
    fn an_incremental_payload_is_cut_and_says_why() {
        let mut blobs = Vec::new();
        let copy = operation(4, &[(0, 1)], &[], &mut blobs);
        let listing = unpack(&payload("vendor", 4096, None, &[copy], &blobs));
        assert!(listing.entries.is_empty());
        assert_eq!(listing.cuts[0].reason, CutReason::Unsupported);
        assert!(
            listing.diagnostics[0]
                .message
                .contains("1 SOURCE_COPY operations"),
            "{:?}",
            listing.diagnostics
        );
    }

    #[test]
    fn a_partition_that_cannot_be_built_whole_is_left_out() {
        let mut blobs = Vec::new();
        let good = operation(0, &[(0, 1)], &block(b'x'), &mut blobs);
        // Overlapping extents.
        let again = operation(0, &[(0, 1)], &block(b'y'), &mut blobs);
        let listing = unpack(&payload("a", 4096, None, &[good.clone(), again], &blobs));
        assert!(listing.entries.is_empty());
        assert_eq!(listing.cuts[0].reason, CutReason::Refused);
        // Damaged xz data.
        let mut blobs = Vec::new();
        let mut stream = xz(&block(b'z'));
        let middle = stream.len() / 2;
        stream[middle] ^= 0x55;
        let broken = operation(8, &[(0, 1)], &stream, &mut blobs);
        let listing = unpack(&payload("b", 4096, None, &[broken], &blobs));
        assert!(listing.entries.is_empty());
        assert!(
            listing.diagnostics[0]
                .message
                .contains("operation 0 (REPLACE_XZ)"),
            "{:?}",
            listing.diagnostics
        );
        // Data that decodes to less than its blocks, or lies past the payload's end.
        let mut blobs = Vec::new();
        let short = operation(8, &[(0, 2)], &xz(&block(b's')), &mut blobs);
        assert!(
            unpack(&payload("c", 8192, None, &[short], &blobs))
                .entries
                .is_empty()
        );
        let mut blobs = Vec::new();
        let past = operation(0, &[(0, 1)], &block(b'p'), &mut blobs);
        blobs.truncate(100);
        assert!(
            unpack(&payload("d", 4096, None, &[past], &blobs))
                .entries
                .is_empty()
        );
        // Writing past the stated size.
        let mut blobs = Vec::new();
        let beyond = operation(0, &[(1, 1)], &block(b'q'), &mut blobs);
        assert!(
            unpack(&payload("e", 4096, None, &[beyond], &blobs))
                .entries
                .is_empty()
        );
    }

    #[test]
    fn a_wrong_partition_hash_is_reported() {
        let mut blobs = Vec::new();
        let op = operation(0, &[(0, 1)], &block(b'h'), &mut blobs);
        let listing = unpack(&payload("boot", 4096, Some(&[0u8; 32]), &[op], &blobs));
        assert_eq!(listing.entries.len(), 1);
        assert!(
            listing.diagnostics[0]
                .message
                .contains("does not have the SHA-256")
        );
    }

    #[test]
    fn a_partition_larger_than_the_limits_is_cut_before_it_is_allocated() {
        let mut blobs = Vec::new();
        let zero = operation(6, &[(0, 1 << 40)], &[], &mut blobs);
        let listing = unpack(&payload("huge", 4096 << 40, None, &[zero], &blobs));
        assert!(listing.entries.is_empty());
        assert_eq!(listing.cuts.len(), 1);
        // Zeros the payload does not store count against the expansion ratio too.
        let mut blobs = Vec::new();
        let zero = operation(6, &[(0, 1 << 14)], &[], &mut blobs);
        let listing = unpack(&payload("zeros", 4096 << 14, None, &[zero], &blobs));
        assert!(listing.entries.is_empty());
        assert_eq!(listing.cuts[0].reason, CutReason::RatioLimit);
    }

    #[test]
    fn damaged_payloads_never_panic() {
        let payload = fixture("android-ota/payload.bin");
        let cuts: Vec<usize> = (24..payload.len()).step_by(997).collect();
        mangle(
            &payload,
            |data, budget| extract(&Bytes::copy_from_slice(data), budget),
            &cuts,
        );
        // A manifest that breaks is named with its offset.
        let mut broken = payload.clone();
        broken[24] = 0x0b; // a group's wire type
        let listing = unpack(&broken);
        assert!(listing.entries.is_empty());
        assert_eq!(listing.diagnostics[0].offset, Some(24));
        assert!(probe(b"CrAU\0\0\0\0\0\0\0\x03").is_none());
        assert!(
            unpack(&payload[..30]).diagnostics[0]
                .message
                .contains("inside its manifest")
        );
    }
}

/// The protobuf wire format, as far as the manifest needs it: varints, length-delimited fields
/// and the fixed-width ones skipped. Groups (deprecated) are refused.
mod wire {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Value<'a> {
        Varint(u64),
        Bytes(&'a [u8]),
        Fixed,
    }

    /// Each field of one message: (field number, value, offset of the field in `data`), or where
    /// and why the message broke.
    pub(super) fn fields(
        data: &[u8],
    ) -> impl Iterator<Item = Result<(u64, Value<'_>, usize), (usize, String)>> {
        let mut at = 0usize;
        let mut broken = false;
        std::iter::from_fn(move || {
            if broken || at >= data.len() {
                return None;
            }
            let start = at;
            let result = field(data, &mut at).map(|(number, value)| (number, value, start));
            broken = result.is_err();
            Some(result.map_err(|why| (start, why)))
        })
    }

    fn field<'a>(data: &'a [u8], at: &mut usize) -> Result<(u64, Value<'a>), String> {
        let key = varint(data, at)?;
        let number = key >> 3;
        if number == 0 {
            return Err("a field numbered 0".into());
        }
        let value = match key & 7 {
            0 => Value::Varint(varint(data, at)?),
            1 | 5 => {
                let width = if key & 7 == 1 { 8 } else { 4 };
                *at = at
                    .checked_add(width)
                    .filter(|end| *end <= data.len())
                    .ok_or("a fixed-width field past the end")?;
                Value::Fixed
            }
            2 => {
                let len =
                    usize::try_from(varint(data, at)?).map_err(|_| "a length past any size")?;
                let end = at
                    .checked_add(len)
                    .filter(|end| *end <= data.len())
                    .ok_or("a length-delimited field past the end")?;
                let bytes = &data[*at..end];
                *at = end;
                Value::Bytes(bytes)
            }
            other => return Err(format!("wire type {other}")),
        };
        Ok((number, value))
    }

    fn varint(data: &[u8], at: &mut usize) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *data.get(*at).ok_or("a varint past the end")?;
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than 10 bytes".into())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_varints_and_skips_fixed_fields() {
            // field 1 varint 300, field 2 fixed64, field 3 bytes "ab", field 4 fixed32.
            let data = [
                0x08, 0xac, 0x02, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 2, b'a', b'b', 0x25, 1, 2, 3,
                4,
            ];
            let fields: Vec<_> = fields(&data).collect::<Result<_, _>>().unwrap();
            assert_eq!(fields[0], (1, Value::Varint(300), 0));
            assert_eq!(fields[1], (2, Value::Fixed, 3));
            assert_eq!(fields[2], (3, Value::Bytes(b"ab"), 12));
            assert_eq!(fields[3], (4, Value::Fixed, 16));
        }

        #[test]
        fn broken_messages_stop_with_the_offset() {
            for (data, at) in [
                (&[0x08, 0x80][..], 0),             // varint cut
                (&[0x08, 1, 0x1a, 5, b'a'][..], 2), // bytes past the end
                (&[0x0b][..], 0),                   // a group
                (&[0x00, 0x01][..], 0),             // field 0
                (
                    &[
                        0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                    ][..],
                    0,
                ),
            ] {
                let results: Vec<_> = fields(data).collect();
                let last = results.last().unwrap();
                assert_eq!(last.as_ref().unwrap_err().0, at, "{data:?}");
            }
        }
    }
}
