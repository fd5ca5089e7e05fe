//! Hostile inputs, built in the tests themselves from a few parameters (no fixture files): zip
//! bombs of three kinds, gigabytes of zeros in a few megabytes, nests deeper than any stack, a
//! folder chain thousands deep, probe traps, a zip64 archive of 100,000 entries and a squashfs
//! made of sparse blocks.
#![allow(clippy::unwrap_used, dead_code)] // Test scaffolding; each test file uses some of it.

use std::io::Write as _;

/// gzip of `data` at the best compression.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// gzip of `data` in stored blocks (fast to build, a few bytes larger than its input).
pub(crate) fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Raw deflate of `data`.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

const MIB: usize = 1 << 20;

/// The CRC-32 of `len` zero bytes, by doubling.
fn crc_of_zeros(len: u64) -> crc32fast::Hasher {
    let mut out = crc32fast::Hasher::new();
    let mut power = crc32fast::Hasher::new();
    power.update(&[0]);
    let mut left = len;
    while left > 0 {
        if left & 1 == 1 {
            out.combine(&power);
        }
        let copy = power.clone();
        power.combine(&copy);
        left >>= 1;
    }
    out
}

/// Raw deflate of `len` zero bytes (a multiple of 1 MiB), without ever holding them: one MiB
/// compressed with a full flush (byte-aligned, history reset) and repeated, then an empty final
/// block. About 1 KiB per MiB, as a real compressor gives.
pub(crate) fn deflate_zeros(len: u64) -> Vec<u8> {
    assert_eq!(len % MIB as u64, 0);
    let mut compress = flate2::Compress::new(flate2::Compression::best(), false);
    let mut unit = Vec::with_capacity(MIB);
    compress
        .compress_vec(&vec![0u8; MIB], &mut unit, flate2::FlushCompress::Full)
        .unwrap();
    let count = (len / MIB as u64) as usize;
    let mut out = Vec::with_capacity(unit.len() * count + 2);
    for _ in 0..count {
        out.extend_from_slice(&unit);
    }
    // A final fixed-Huffman block holding only its end-of-block code.
    out.extend_from_slice(&[0x03, 0x00]);
    out
}

/// A gzip member of `len` zero bytes (a multiple of 1 MiB): 10 GiB in about 10 MiB.
pub(crate) fn gzip_of_zeros(len: u64) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3];
    out.extend(deflate_zeros(len));
    out.extend(crc_of_zeros(len).finalize().to_le_bytes());
    out.extend((len as u32).to_le_bytes());
    out
}

/// One member of a zip being built: its name, method (0 stored, 8 deflate) and stored bytes.
#[derive(Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) method: u16,
    pub(crate) data: Vec<u8>,
    pub(crate) crc: u32,
    pub(crate) size: u64,
}

/// A stored member.
pub(crate) fn stored(name: &str, body: &[u8]) -> Member {
    Member {
        name: name.to_owned(),
        method: 0,
        data: body.to_vec(),
        crc: crc32fast::hash(body),
        size: body.len() as u64,
    }
}

/// A deflated member.
pub(crate) fn deflated(name: &str, body: &[u8]) -> Member {
    Member {
        name: name.to_owned(),
        method: 8,
        data: deflate(body),
        crc: crc32fast::hash(body),
        size: body.len() as u64,
    }
}

/// A deflated member of `len` zero bytes (a multiple of 1 MiB).
pub(crate) fn zeros_member(name: &str, len: u64) -> Member {
    Member {
        name: name.to_owned(),
        method: 8,
        data: deflate_zeros(len),
        crc: crc_of_zeros(len).finalize(),
        size: len,
    }
}

fn local_header(member: &Member, size32: u32, csize32: u32) -> Vec<u8> {
    let mut out = b"PK\x03\x04".to_vec();
    out.extend(20u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(member.method.to_le_bytes());
    out.extend([0, 0, 0x21, 0]); // 1980-01-01 00:00
    out.extend(member.crc.to_le_bytes());
    out.extend(csize32.to_le_bytes());
    out.extend(size32.to_le_bytes());
    out.extend((member.name.len() as u16).to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(member.name.as_bytes());
    out
}

/// One central directory entry; `zip64` moves the sizes and the offset into a ZIP64 extra field.
fn central_entry(member: &Member, offset: u64, zip64: bool) -> Vec<u8> {
    let csize = member.data.len() as u64;
    let (size32, csize32, offset32) = if zip64 {
        (u32::MAX, u32::MAX, u32::MAX)
    } else {
        (member.size as u32, csize as u32, offset as u32)
    };
    let mut extra = Vec::new();
    if zip64 {
        extra.extend(1u16.to_le_bytes());
        extra.extend(24u16.to_le_bytes());
        extra.extend(member.size.to_le_bytes());
        extra.extend(csize.to_le_bytes());
        extra.extend(offset.to_le_bytes());
    }
    let mut out = b"PK\x01\x02".to_vec();
    out.extend(0x031eu16.to_le_bytes());
    out.extend(if zip64 { 45u16 } else { 20u16 }.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(member.method.to_le_bytes());
    out.extend([0, 0, 0x21, 0]);
    out.extend(member.crc.to_le_bytes());
    out.extend(csize32.to_le_bytes());
    out.extend(size32.to_le_bytes());
    out.extend((member.name.len() as u16).to_le_bytes());
    out.extend((extra.len() as u16).to_le_bytes());
    out.extend([0u8; 6]); // comment length, disk, internal attributes
    out.extend((0o100_644u32 << 16).to_le_bytes());
    out.extend(offset32.to_le_bytes());
    out.extend(member.name.as_bytes());
    out.extend(extra);
    out
}

/// The end records: ZIP64 ones first when `zip64`, then the plain one (with its 16-bit count as
/// an old writer would leave it: wrapped, or saturated under ZIP64).
fn end_records(out: &mut Vec<u8>, entries: u64, cd_offset: u64, cd_size: u64, zip64: bool) {
    if zip64 {
        let record = out.len() as u64;
        out.extend(b"PK\x06\x06");
        out.extend(44u64.to_le_bytes());
        out.extend(45u16.to_le_bytes());
        out.extend(45u16.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(entries.to_le_bytes());
        out.extend(entries.to_le_bytes());
        out.extend(cd_size.to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend(b"PK\x06\x07");
        out.extend(0u32.to_le_bytes());
        out.extend(record.to_le_bytes());
        out.extend(1u32.to_le_bytes());
    }
    let count16 = if zip64 { u16::MAX } else { entries as u16 };
    out.extend(b"PK\x05\x06\0\0\0\0");
    out.extend(count16.to_le_bytes());
    out.extend(count16.to_le_bytes());
    out.extend(if zip64 { u32::MAX } else { cd_size as u32 }.to_le_bytes());
    out.extend(if zip64 { u32::MAX } else { cd_offset as u32 }.to_le_bytes());
    out.extend(0u16.to_le_bytes());
}

/// A zip of `members`, each with its own local header and data.
pub(crate) fn zip(members: &[Member], zip64: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for member in members {
        let offset = out.len() as u64;
        out.extend(local_header(
            member,
            member.size as u32,
            member.data.len() as u32,
        ));
        out.extend_from_slice(&member.data);
        central.extend(central_entry(member, offset, zip64));
    }
    let cd_offset = out.len() as u64;
    out.extend_from_slice(&central);
    end_records(
        &mut out,
        members.len() as u64,
        cd_offset,
        central.len() as u64,
        zip64,
    );
    out
}

/// A 42.zip-style nest: `levels` levels of zips, each holding `fanout` copies of the level
/// below, deflated; the bottom one holds `fanout` copies of `leaf` zero bytes.
pub(crate) fn nested_zip(levels: u32, fanout: usize, leaf: u64) -> Vec<u8> {
    let leaf = zeros_member("leaf.bin", leaf);
    let members: Vec<Member> = (0..fanout)
        .map(|i| Member {
            name: format!("{i}.bin"),
            ..leaf.clone()
        })
        .collect();
    let mut level = zip(&members, false);
    for _ in 1..levels {
        let inner = deflated("inner.zip", &level);
        let members: Vec<Member> = (0..fanout)
            .map(|i| Member {
                name: format!("{i}.zip"),
                ..inner.clone()
            })
            .collect();
        level = zip(&members, false);
    }
    level
}

/// A zip whose `entries` central directory entries all point at one local header and one
/// deflate stream of `zeros` zero bytes.
pub(crate) fn shared_stream_zip(entries: usize, zeros: u64) -> Vec<u8> {
    let member = zeros_member("0", zeros);
    let mut out = local_header(&member, member.size as u32, member.data.len() as u32);
    out.extend_from_slice(&member.data);
    let cd_offset = out.len() as u64;
    let mut central = Vec::new();
    for i in 0..entries {
        let named = Member {
            name: format!("{i}"),
            ..member.clone()
        };
        central.extend(central_entry(&named, 0, false));
    }
    out.extend_from_slice(&central);
    end_records(
        &mut out,
        entries as u64,
        cd_offset,
        central.len() as u64,
        false,
    );
    out
}

/// An overlapping zip (D. Fifield's "better zip bomb"): entry i's deflate data quotes, in stored
/// blocks, the local headers of the entries after it, then reaches the one shared kernel of
/// `kernel_zeros` zero bytes; every entry decompresses to nearly the whole kernel. CRCs and
/// sizes are right, so tools that read entries one by one accept it.
pub(crate) fn overlapping_zip(entries: usize, kernel_zeros: u64) -> Vec<u8> {
    let kernel = deflate_zeros(kernel_zeros);
    let name = |i: usize| format!("{i:08}");
    let header_len = 30 + name(0).len();
    let quote = 5;
    let kernel_start = (entries - 1) * (header_len + quote) + header_len;
    let end = kernel_start + kernel.len();
    // From the last entry back: each entry's CRC covers the headers after it and the kernel.
    let mut headers = vec![Vec::new(); entries];
    let mut suffix = crc_of_zeros(kernel_zeros);
    for i in (0..entries).rev() {
        let offset = i * (header_len + quote);
        let csize = end - (offset + header_len);
        let size = (entries - 1 - i) as u64 * header_len as u64 + kernel_zeros;
        let member = Member {
            name: name(i),
            method: 8,
            data: Vec::new(),
            crc: suffix.clone().finalize(),
            size,
        };
        headers[i] = local_header(&member, size as u32, csize as u32);
        let mut with_header = crc32fast::Hasher::new();
        with_header.update(&headers[i]);
        with_header.combine(&suffix);
        suffix = with_header;
    }
    let mut out = Vec::with_capacity(end);
    let mut central = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let offset = out.len() as u64;
        out.extend_from_slice(header);
        let csize = end - out.len();
        if i + 1 < entries {
            let len = headers[i + 1].len() as u16;
            out.push(0x00);
            out.extend(len.to_le_bytes());
            out.extend((!len).to_le_bytes());
        }
        let crc = u32::from_le_bytes(header[14..18].try_into().unwrap());
        let size = u64::from(u32::from_le_bytes(header[22..26].try_into().unwrap()));
        let member = Member {
            name: name(i),
            method: 8,
            data: vec![0; csize],
            crc,
            size,
        };
        central.extend(central_entry(&member, offset, false));
    }
    out.extend_from_slice(&kernel);
    let cd_offset = out.len() as u64;
    out.extend_from_slice(&central);
    end_records(
        &mut out,
        entries as u64,
        cd_offset,
        central.len() as u64,
        false,
    );
    out
}

/// `layers` gzip layers (stored blocks) around a small text file.
pub(crate) fn gzip_nest(layers: usize) -> Vec<u8> {
    let mut data = b"the innermost file of a very deep nest".repeat(4);
    for _ in 0..layers {
        data = gzip_stored(&data);
    }
    data
}

/// One ustar header block with its checksum.
fn tar_header(name: &str, typeflag: u8, size: usize) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    let stored = &name.as_bytes()[..name.len().min(100)];
    h[..stored.len()].copy_from_slice(stored);
    h[100..107].copy_from_slice(if typeflag == b'5' {
        b"0000755"
    } else {
        b"0000644"
    });
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"14000000000");
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// A member whose name needs a GNU long-name record when it does not fit in 100 bytes.
fn tar_member(out: &mut Vec<u8>, name: &str, typeflag: u8) {
    if name.len() > 100 {
        let mut long = name.as_bytes().to_vec();
        long.push(0);
        out.extend(tar_header("././@LongLink", b'L', long.len()));
        out.extend(&long);
        out.resize(out.len().next_multiple_of(512), 0);
    }
    out.extend(tar_header(name, typeflag, 0));
}

/// A tar of `depth` nested one-letter folders with `files` empty files at the bottom, every
/// folder listed; gzipped, about 30 KB for 1,900 levels and 2,000 files.
pub(crate) fn deep_tar(depth: usize, files: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut path = String::new();
    for _ in 0..depth {
        path.push_str("d/");
        tar_member(&mut out, &path, b'5');
    }
    for i in 0..files {
        tar_member(&mut out, &format!("{path}f{i}"), b'0');
    }
    out.extend([0u8; 1024]);
    gzip(&out)
}

/// `headers` zip local headers that lead nowhere, then `zeros` zero bytes, gzipped: every header
/// is a zip candidate whose end record would be searched for in everything after it.
pub(crate) fn probe_trap(headers: usize, zeros: usize) -> Vec<u8> {
    let member = stored("a", b"");
    let header = local_header(&member, 0, 0);
    let mut data = Vec::with_capacity(headers * header.len() + zeros);
    for _ in 0..headers {
        data.extend_from_slice(&header);
    }
    data.resize(data.len() + zeros, 0);
    gzip(&data)
}

/// A zip of `entries` one-byte stored files; with `zip64` its end records are ZIP64 ones, else
/// its 16-bit entry count wraps past 65,535 as old writers leave it.
pub(crate) fn many_entries_zip(entries: usize, zip64: bool) -> Vec<u8> {
    let members: Vec<Member> = (0..entries)
        .map(|i| stored(&format!("f{i:06}"), &[(i % 251) as u8]))
        .collect();
    zip(&members, zip64)
}

/// A squashfs 4.0 image (uncompressed metadata) whose root holds `files` files of `size` bytes
/// each, every block of them sparse: nothing stored, nothing to decompress.
pub(crate) fn sparse_squashfs(files: usize, size: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    const META: usize = 8192;
    let n_blocks = size.div_ceil(BLOCK) as usize;
    // The inode stream: the files, then the root directory.
    let mut inodes = Vec::new();
    let mut positions = Vec::new();
    for i in 0..files {
        positions.push(inodes.len());
        inodes.extend(9u16.to_le_bytes()); // extended file
        inodes.extend(0o644u16.to_le_bytes());
        inodes.extend([0u8; 4]);
        inodes.extend(0u32.to_le_bytes());
        inodes.extend((i as u32 + 2).to_le_bytes());
        inodes.extend(96u64.to_le_bytes()); // blocks start
        inodes.extend(size.to_le_bytes());
        inodes.extend(size.to_le_bytes()); // sparse bytes
        inodes.extend(1u32.to_le_bytes());
        inodes.extend(u32::MAX.to_le_bytes()); // no fragment
        inodes.extend(0u32.to_le_bytes());
        inodes.extend(u32::MAX.to_le_bytes()); // no xattr
        for _ in 0..n_blocks {
            inodes.extend(0u32.to_le_bytes()); // a sparse block
        }
    }
    // Inode references: the offset of the metadata block on disk (each full block is 8194
    // bytes with its header) and the offset inside it.
    let reference = |at: usize| (((at / META) * (META + 2)) as u64) << 16 | (at % META) as u64;
    // The directory listing: one header per metadata block its inodes start in.
    let mut listing = Vec::new();
    let mut i = 0;
    while i < files {
        let block = positions[i] / META;
        let run: Vec<usize> = (i..files)
            .take_while(|&j| positions[j] / META == block)
            .take(256)
            .collect();
        listing.extend((run.len() as u32 - 1).to_le_bytes());
        listing.extend(((block * (META + 2)) as u32).to_le_bytes());
        listing.extend(2u32.to_le_bytes());
        for &j in &run {
            let name = format!("sparse{j}");
            listing.extend(((positions[j] % META) as u16).to_le_bytes());
            listing.extend((j as u16).to_le_bytes()); // inode number - 2, a small delta
            listing.extend(2u16.to_le_bytes());
            listing.extend((name.len() as u16 - 1).to_le_bytes());
            listing.extend(name.as_bytes());
        }
        i += run.len();
    }
    let root_at = inodes.len();
    inodes.extend(1u16.to_le_bytes()); // basic directory
    inodes.extend(0o755u16.to_le_bytes());
    inodes.extend([0u8; 4]);
    inodes.extend(0u32.to_le_bytes());
    inodes.extend(1u32.to_le_bytes());
    inodes.extend(0u32.to_le_bytes()); // directory block
    inodes.extend(2u32.to_le_bytes()); // links
    inodes.extend((listing.len() as u16 + 3).to_le_bytes());
    inodes.extend(0u16.to_le_bytes()); // offset
    inodes.extend((files as u32 + 2).to_le_bytes()); // parent
    let metadata = |stream: &[u8]| {
        let mut out = Vec::new();
        for chunk in stream.chunks(META) {
            out.extend((chunk.len() as u16 | 0x8000).to_le_bytes());
            out.extend(chunk);
        }
        out
    };
    let inode_table = 96u64;
    let inode_blocks = metadata(&inodes);
    let dir_table = inode_table + inode_blocks.len() as u64;
    let dir_blocks = metadata(&listing);
    let end = dir_table + dir_blocks.len() as u64;
    let mut out = vec![0u8; 96];
    out[..4].copy_from_slice(b"hsqs");
    out[4..8].copy_from_slice(&(files as u32 + 1).to_le_bytes());
    out[12..16].copy_from_slice(&(BLOCK as u32).to_le_bytes());
    out[20..22].copy_from_slice(&1u16.to_le_bytes()); // gzip
    out[22..24].copy_from_slice(&17u16.to_le_bytes());
    out[24..26].copy_from_slice(&0x001bu16.to_le_bytes()); // uncompressed, no fragments
    out[26..28].copy_from_slice(&1u16.to_le_bytes());
    out[28..30].copy_from_slice(&4u16.to_le_bytes());
    out[32..40].copy_from_slice(&reference(root_at).to_le_bytes());
    out[40..48].copy_from_slice(&end.to_le_bytes());
    out[48..56].copy_from_slice(&end.to_le_bytes()); // id table (unused)
    out[56..64].copy_from_slice(&u64::MAX.to_le_bytes());
    out[64..72].copy_from_slice(&inode_table.to_le_bytes());
    out[72..80].copy_from_slice(&dir_table.to_le_bytes());
    out[80..88].copy_from_slice(&u64::MAX.to_le_bytes());
    out[88..96].copy_from_slice(&u64::MAX.to_le_bytes());
    out.extend(inode_blocks);
    out.extend(dir_blocks);
    out
}

/// An xz stream of `len` zero bytes (a multiple of 1 MiB), without ever holding them: one LZMA2
/// chunk of 1 MiB of zeros, then the same chunk again and again with only its state reset (the
/// dictionary is kept, and a chunk of zeros decodes the same after zeros as after nothing),
/// in one block with no check. About 220 bytes per MiB: 10 GiB in about 2.3 MB.
pub(crate) fn xz_of_zeros(len: u64) -> Vec<u8> {
    assert_eq!(len % MIB as u64, 0);
    let mut options = liblzma::stream::LzmaOptions::new_preset(6).unwrap();
    options.dict_size(MIB as u32);
    let mut filters = liblzma::stream::Filters::new();
    filters.lzma2(&options);
    let stream = liblzma::stream::Stream::new_raw_encoder(&filters).unwrap();
    let mut encoder = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    encoder.write_all(&vec![0u8; MIB]).unwrap();
    let raw = encoder.finish().unwrap();
    // One LZMA chunk (dictionary reset, new properties) and the end marker.
    assert_eq!(raw[0] & 0xe0, 0xe0, "{:02x?}", &raw[..8]);
    let unpacked =
        (usize::from(raw[0] & 0x1f) << 16 | usize::from(raw[1]) << 8 | usize::from(raw[2])) + 1;
    let packed = (usize::from(raw[3]) << 8 | usize::from(raw[4])) + 1;
    assert_eq!(unpacked, MIB);
    assert_eq!(raw.len(), 6 + packed + 1, "one chunk and the end marker");
    let body = &raw[6..6 + packed];
    let count = len / MIB as u64;
    let mut data = raw[..6 + packed].to_vec();
    for _ in 1..count {
        // A state reset without new properties (0xa0), the same sizes.
        data.extend_from_slice(&[0xa0 | raw[0] & 0x1f, raw[1], raw[2], raw[3], raw[4]]);
        data.extend_from_slice(body);
    }
    data.push(0);

    let crc = crc32fast::hash;
    let mut out = vec![0xfd, b'7', b'z', b'X', b'Z', 0, 0, 0];
    out.extend(crc(&[0, 0]).to_le_bytes());
    // Block header: 12 bytes, one filter (LZMA2, 1 MiB dictionary), no sizes.
    let mut header = vec![2u8, 0, 0x21, 1, 18, 0, 0, 0];
    header.extend(crc(&header).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&data);
    let unpadded = header.len() + data.len();
    out.resize(out.len().next_multiple_of(4), 0);
    // Index: one record.
    let varint = |out: &mut Vec<u8>, mut value: u64| {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    };
    let mut index = vec![0u8];
    varint(&mut index, 1);
    varint(&mut index, unpadded as u64);
    varint(&mut index, len);
    index.resize(index.len().next_multiple_of(4), 0);
    index.extend(crc(&index).to_le_bytes());
    out.extend_from_slice(&index);
    let mut footer = ((index.len() / 4 - 1) as u32).to_le_bytes().to_vec();
    footer.extend([0, 0]);
    out.extend(crc(&footer).to_le_bytes());
    out.extend_from_slice(&footer);
    out.extend_from_slice(b"YZ");
    out
}
