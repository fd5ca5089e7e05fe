//! UFS1 and UFS2, the Berkeley Fast File System: the root filesystems of FreeBSD-based appliances
//! (`pfSense` and `OPNsense` images, Junos, `NetScaler`, NAS and firewall boxes).
//!
//! Layout (FreeBSD's `sys/ufs/ffs/fs.h` and `sys/ufs/ufs/dinode.h`; `McKusick`, Joy, Leffler and
//! Fabry, "A Fast File System for UNIX", 1984): a superblock (`struct fs`, 1376 bytes, its magic
//! `fs_magic` at 1372) at 8192 (UFS1, and UFS2 as NetBSD's makefs writes it) or 65536 (UFS2 as
//! FreeBSD's newfs writes it), in the byte order of the machine that made it; then cylinder
//! groups of `fs_fpg` fragments each, every one holding a copy of the superblock, its own header
//! and `fs_ipg` inodes from `fs_iblkno`. Addresses count fragments of `fs_fsize` bytes; a block is
//! `fs_frag` fragments. An inode (128 bytes in UFS1, 256 in UFS2, with 32- or 64-bit block
//! addresses) lists 12 direct blocks and a single, double and triple indirect block; the last
//! block of a file of fewer than 12 blocks may be a run of fragments. Directories are records of
//! `d_ino`, `d_reclen`, type and name length, in 512-byte chunks no record crosses.
//!
//! Supported: UFS1 and UFS2, little- and big-endian, block sizes of 4 to 64 KiB, fragments of a
//! block to an eighth of it, the 4.2BSD directory format of UFS1 images older than 4.4BSD (a 16-bit
//! name length, no type), short symlinks kept in the inode (`fs_maxsymlinklen`), holes (as zeros,
//! counted against the expansion ratio), hard links (an inode reached again is a
//! [`NodeKind::Hardlink`] naming its first path), fifos, devices and sockets (listed, as
//! [`NodeKind::Special`]). Soft updates and their journal (SU+J) change nothing on disk the
//! reader needs: an image is read as it stands, the journal not replayed.
//!
//! Not read: UFS2 extended attributes (`di_extb`: ACLs, MAC labels), the cylinder groups' maps
//! (free blocks, used inodes: entries name inodes directly), snapshots' contents (files under
//! `.snap` whose block pointers mark blocks not copied; listed without contents, as a cut), the
//! dirhash and check hashes. Not taken for UFS: a superblock whose sizes do not agree with each
//! other (each refusal names the field), a UFS2 superblock whose `fs_sblockloc` is not where it
//! was found, a UFS1 superblock anywhere but 8192.
//!
//! Hostile images are bounded: every read is checked against the image; every fragment a file,
//! directory or indirect block uses is claimed in a bitset sized by the image, so an indirect
//! block that names itself or an ancestor (a loop) or a block another file holds (cross-linked)
//! is refused there, as the FAT reader refuses cross-linked chains, with a cut naming what was not
//! read; a directory reached twice is not entered again; a file's bytes are reserved from the
//! [`Budget`] before they are allocated, its holes counted against the expansion ratio.

use std::collections::HashMap;

use bytes::Bytes;
use consign_model::{CutReason, Diagnostic, NodeKind};

use super::{Claimed, FsEntry, FsListing, Probe};
use crate::Budget;
use crate::binary::{u16be, u16le, u32be, u32le, u64be, u64le};

/// Where the superblock sits from the filesystem's start: UFS1 (and UFS2 by NetBSD's makefs).
pub(crate) const SBLOCK_UFS1: usize = 8192;
/// Where FreeBSD's newfs puts a UFS2 superblock.
pub(crate) const SBLOCK_UFS2: usize = 65536;
/// Bytes of `struct fs` that hold fields.
const SB_BYTES: usize = 1376;
/// Where `fs_magic` sits inside the superblock.
pub(crate) const MAGIC_AT: usize = 1372;
const UFS1_MAGIC: u32 = 0x0001_1954;
const UFS2_MAGIC: u32 = 0x1954_0119;
/// `cg_magic` of a cylinder group header.
const CG_MAGIC: u32 = 0x0009_0255;
/// The most a superblock may take (`SBLOCKSIZE`).
const SBLOCKSIZE: i32 = 8192;
/// `fs_old_flags`: the flags and sizes have moved to their 64-bit fields.
const FS_FLAGS_UPDATED: u8 = 0x80;
/// `fs_flags` bits named in the description.
const FS_DOSOFTDEP: u32 = 0x02;
const FS_SUJ: u32 = 0x08;
const FS_GJOURNAL: u32 = 0x40;
/// `fs_old_inodefmt` of 4.4BSD and later: directory entries have a type byte, short symlinks
/// live in the inode.
const FS_44INODEFMT: i32 = 2;
const ROOT_INODE: u32 = 2;
/// Direct block pointers in an inode.
const NDADDR: u64 = 12;
/// Directory records never cross a chunk of this size.
const DIRBLKSIZ: usize = 512;
/// `d_type` of a whiteout (a union mount's hidden name), never a file.
const DT_WHT: u8 = 14;
/// `SF_SNAPSHOT` of `di_flags`: a snapshot, whose pointers mark blocks not copied.
const SF_SNAPSHOT: u32 = 0x0020_0000;
/// How deep directories may nest before the walk stops.
const MAX_DEPTH: usize = 512;
/// A symlink target longer than this is damage (`PATH_MAX` is 1024).
const MAX_SYMLINK: u64 = 4096;

/// The byte order of an image, which is the byte order of the machine that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, data: &[u8], at: usize) -> Option<u16> {
        match self {
            Endian::Little => u16le(data, at),
            Endian::Big => u16be(data, at),
        }
    }

    fn u32(self, data: &[u8], at: usize) -> Option<u32> {
        match self {
            Endian::Little => u32le(data, at),
            Endian::Big => u32be(data, at),
        }
    }

    fn u64(self, data: &[u8], at: usize) -> Option<u64> {
        match self {
            Endian::Little => u64le(data, at),
            Endian::Big => u64be(data, at),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        }
    }
}

/// The checked geometry of a filesystem, from its superblock. Addresses count fragments.
#[derive(Debug)]
struct Superblock {
    ufs2: bool,
    endian: Endian,
    /// Where the superblock was found.
    location: usize,
    /// `fs_cblkno`: the cylinder group header, from each group's start.
    cblkno: u64,
    /// `fs_iblkno`: the inodes, from each group's start.
    iblkno: u64,
    /// UFS1's `fs_old_cgoffset` and `fs_old_cgmask`: how far each group's metadata is staggered.
    old_cgoffset: u64,
    old_cgmask: u32,
    ncg: u32,
    bsize: u64,
    fsize: u64,
    frag: u64,
    ipg: u32,
    fpg: u64,
    inopb: u64,
    nindir: u64,
    /// Fragments in the filesystem.
    size: u64,
    maxsymlinklen: u64,
    /// UFS1 before 4.4BSD: directory records with a 16-bit name length and no type.
    old_dirs: bool,
    flags: u32,
    volume: String,
}

impl Superblock {
    fn inode_size(&self) -> u64 {
        if self.ufs2 { 256 } else { 128 }
    }

    /// Bytes of one block pointer.
    fn pointer_size(&self) -> usize {
        if self.ufs2 { 8 } else { 4 }
    }

    /// Where cylinder group `cg` starts (`cgstart`): UFS1 may stagger it by `fs_old_cgoffset`.
    fn cg_start(&self, cg: u64) -> u64 {
        let base = cg.saturating_mul(self.fpg);
        if self.ufs2 {
            base
        } else {
            base.saturating_add(
                self.old_cgoffset
                    .saturating_mul(cg & u64::from(!self.old_cgmask)),
            )
        }
    }
}

/// Why a superblock was not taken.
#[derive(Debug, PartialEq, Eq)]
enum NotUfs {
    /// No UFS magic there.
    NoMagic,
    /// A magic, but fields that do not add up.
    Invalid(String),
}

/// `Err` naming `field` and its `value` unless `ok`.
fn require(ok: bool, field: &str, value: impl std::fmt::Display, rule: &str) -> Result<(), NotUfs> {
    if ok {
        Ok(())
    } else {
        Err(NotUfs::Invalid(format!("`{field}` {value} {rule}")))
    }
}

/// A field checked to be positive (or zero), widened.
fn wide(value: i32) -> u64 {
    u64::from(value.cast_unsigned())
}

/// Reads and checks the superblock at `location` of `data`.
fn read_superblock(data: &[u8], location: usize) -> Result<Superblock, NotUfs> {
    let sb = data
        .get(location..location + SB_BYTES)
        .ok_or(NotUfs::NoMagic)?;
    let (endian, ufs2) = [Endian::Little, Endian::Big]
        .into_iter()
        .find_map(|endian| match endian.u32(sb, MAGIC_AT)? {
            UFS1_MAGIC => Some((endian, false)),
            UFS2_MAGIC => Some((endian, true)),
            _ => None,
        })
        .ok_or(NotUfs::NoMagic)?;
    // Every field lies inside the 1376 bytes just taken.
    let int = |at: usize| endian.u32(sb, at).unwrap_or_default().cast_signed();
    let long = |at: usize| endian.u64(sb, at).unwrap_or_default().cast_signed();
    let version = if ufs2 { "UFS2" } else { "UFS1" };
    if !ufs2 && location != SBLOCK_UFS1 {
        return Err(NotUfs::Invalid(format!(
            "a UFS1 superblock at {location:#x}: UFS1 keeps it at {SBLOCK_UFS1:#x}"
        )));
    }
    // Older UFS1 superblocks predate the field and leave it zero.
    let sblockloc = long(1000);
    require(
        i64::try_from(location).is_ok_and(|location| sblockloc == location)
            || (!ufs2 && sblockloc == 0),
        "fs_sblockloc",
        sblockloc,
        &format!("is not where the superblock is ({location})"),
    )?;
    let bsize = int(48);
    require(
        (4096..=65536).contains(&bsize) && bsize.count_ones() == 1,
        "fs_bsize",
        bsize,
        "is not a power of two from 4096 to 65536",
    )?;
    let fsize = int(52);
    require(
        (512..=bsize).contains(&fsize) && fsize.count_ones() == 1 && bsize / fsize <= 8,
        "fs_fsize",
        fsize,
        &format!("is not a power of two from 512 and an eighth of `fs_bsize` {bsize} to it"),
    )?;
    let frag = int(56);
    require(
        frag == bsize / fsize,
        "fs_frag",
        frag,
        &format!("is not `fs_bsize` {bsize} over `fs_fsize` {fsize}"),
    )?;
    for (field, at, value) in [
        ("fs_bshift", 80, bsize),
        ("fs_fshift", 84, fsize),
        ("fs_fragshift", 96, frag),
    ] {
        let shift = int(at);
        require(
            u32::try_from(shift).is_ok_and(|shift| shift == value.trailing_zeros()),
            field,
            shift,
            &format!("is not the shift of {value}"),
        )?;
    }
    let sbsize = int(104);
    require(
        (1376..=SBLOCKSIZE).contains(&sbsize),
        "fs_sbsize",
        sbsize,
        "is not from 1376 to 8192",
    )?;
    // Each of them positive, checked above.
    let [bsize, fsize, frag] = [bsize, fsize, frag].map(wide);
    let inode_size = if ufs2 { 256 } else { 128 };
    let inopb = endian.u32(sb, 120).unwrap_or_default();
    require(
        u64::from(inopb) == bsize / inode_size,
        "fs_inopb",
        inopb,
        &format!("is not `fs_bsize` {bsize} over the {inode_size} bytes of a {version} inode"),
    )?;
    let pointer = if ufs2 { 8 } else { 4 };
    let nindir = int(116);
    require(
        u64::try_from(nindir).is_ok_and(|nindir| nindir == bsize / pointer),
        "fs_nindir",
        nindir,
        &format!("is not `fs_bsize` {bsize} over the {pointer} bytes of a {version} block address"),
    )?;
    let ncg = endian.u32(sb, 44).unwrap_or_default();
    require(ncg >= 1, "fs_ncg", ncg, "is zero")?;
    let fpg = int(188);
    require(
        fpg > 0 && wide(fpg).is_multiple_of(frag),
        "fs_fpg",
        fpg,
        &format!("is not a positive multiple of `fs_frag` {frag}"),
    )?;
    let fpg = wide(fpg);
    let ipg = endian.u32(sb, 184).unwrap_or_default();
    require(
        ipg > 0
            && u64::from(ipg).is_multiple_of(u64::from(inopb))
            && ipg.checked_mul(ncg).is_some(),
        "fs_ipg",
        ipg,
        &format!(
            "is not a positive multiple of `fs_inopb` {inopb} that numbers `fs_ncg` {ncg} groups of inodes in 32 bits"
        ),
    )?;
    let cgsize = int(160);
    require(
        cgsize > 0 && wide(cgsize) <= bsize,
        "fs_cgsize",
        cgsize,
        &format!("is not from 1 to `fs_bsize` {bsize}"),
    )?;
    let [sblkno, cblkno, iblkno, dblkno] = [8, 12, 16, 20].map(int);
    require(
        0 < sblkno && sblkno < cblkno && cblkno < iblkno && iblkno < dblkno,
        "fs_sblkno, fs_cblkno, fs_iblkno, fs_dblkno",
        format!("{sblkno}, {cblkno}, {iblkno}, {dblkno}"),
        "are not in increasing order",
    )?;
    let inode_frags = u64::from(ipg / inopb) * frag;
    require(
        wide(iblkno) + inode_frags <= wide(dblkno) && wide(dblkno) < fpg,
        "fs_dblkno",
        dblkno,
        &format!(
            "leaves no room for the {inode_frags} fragments of inodes after `fs_iblkno` {iblkno} or is not inside `fs_fpg` {fpg}"
        ),
    )?;
    let old_flags = *sb.get(211).unwrap_or(&0);
    let updated = ufs2 || old_flags & FS_FLAGS_UPDATED != 0;
    let size = if updated {
        long(1080)
    } else {
        i64::from(int(36))
    };
    let size_field = if updated { "fs_size" } else { "fs_old_size" };
    require(
        size > 0
            && size.cast_unsigned().div_ceil(fpg) == u64::from(ncg)
            && size.cast_unsigned().checked_mul(fsize).is_some(),
        size_field,
        size,
        &format!("does not fill `fs_ncg` {ncg} groups of `fs_fpg` {fpg} fragments"),
    )?;
    let (old_cgoffset, old_cgmask) = if ufs2 {
        (0, 0)
    } else {
        let offset = int(24);
        require(offset >= 0, "fs_old_cgoffset", offset, "is negative")?;
        (wide(offset), int(28).cast_unsigned())
    };
    let old_dirs = !ufs2 && int(1324) < FS_44INODEFMT;
    let maxsymlinklen = if old_dirs { 0 } else { int(1320) };
    let inline = if ufs2 { 120 } else { 60 };
    require(
        (0..=inline).contains(&maxsymlinklen),
        "fs_maxsymlinklen",
        maxsymlinklen,
        &format!("is not from 0 to the {inline} bytes of a {version} inode's block pointers"),
    )?;
    let flags = if updated {
        int(1312).cast_unsigned()
    } else {
        u32::from(old_flags)
    };
    let volume = consign_model::binary::c_string(sb.get(680..712).unwrap_or_default());
    Ok(Superblock {
        ufs2,
        endian,
        location,
        cblkno: wide(cblkno),
        iblkno: wide(iblkno),
        old_cgoffset,
        old_cgmask,
        ncg,
        bsize,
        fsize,
        frag,
        ipg,
        fpg,
        inopb: u64::from(inopb),
        nindir: wide(nindir),
        size: size.cast_unsigned(),
        maxsymlinklen: wide(maxsymlinklen),
        old_dirs,
        flags,
        volume,
    })
}

fn describe(sb: &Superblock) -> Probe {
    let mut description = format!(
        "{}, {}, volume {:?}, {} cylinder group{}, {}-byte blocks of {}-byte fragments",
        if sb.ufs2 { "UFS2" } else { "UFS1" },
        sb.endian.name(),
        sb.volume,
        sb.ncg,
        if sb.ncg == 1 { "" } else { "s" },
        sb.bsize,
        sb.fsize
    );
    for (bit, what) in [
        (FS_DOSOFTDEP, ", soft updates"),
        (FS_SUJ, ", soft updates journal"),
        (FS_GJOURNAL, ", gjournal"),
    ] {
        if sb.flags & bit != 0 {
            description.push_str(what);
        }
    }
    if sb.location != SBLOCK_UFS2 && sb.ufs2 {
        description.push_str(", superblock at 8192");
    }
    Probe {
        format: "ufs",
        size: Some(sb.size * sb.fsize),
        description,
    }
}

/// Checks for a UFS1 or UFS2 superblock at 8192 of `data` (the registry's `ufs` row).
pub fn probe(data: &[u8]) -> Option<Probe> {
    read_superblock(data, SBLOCK_UFS1)
        .ok()
        .map(|sb| describe(&sb))
}

/// Checks for a UFS2 superblock at 65536 of `data` (the registry's `ufs2` row).
pub fn probe_ufs2(data: &[u8]) -> Option<Probe> {
    read_superblock(data, SBLOCK_UFS2)
        .ok()
        .map(|sb| describe(&sb))
}

/// One inode's fields the reader needs.
struct Inode {
    /// Where the inode lies in the image.
    offset: u64,
    mode: u16,
    size: u64,
    mtime: i64,
    flags: u32,
    direct: [u64; 12],
    indirect: [u64; 3],
    /// The block pointers' bytes as stored: a short symlink's target.
    inline: Vec<u8>,
    /// Where the pointers start, from the inode's start.
    pointers_at: usize,
}

/// What stopped a block map before the file's end.
#[derive(Debug)]
struct MapProblem {
    why: String,
    /// The offset of the pointer that named the refused block (or of the inode).
    at: u64,
    reason: CutReason,
}

/// Where a file's bytes are.
struct BlockMap {
    /// (logical block, first fragment, bytes of the file it holds), in logical order; holes are
    /// absent.
    blocks: Vec<(u64, u64, u64)>,
    /// Bytes of the file the map covers: its size, or less when a problem stopped the map.
    len: u64,
    /// Bytes of the image the blocks hold.
    stored: u64,
    problem: Option<MapProblem>,
}

/// A block map being built.
struct Walk {
    map: BlockMap,
    /// Blocks in the file.
    n_blocks: u64,
    size: u64,
    /// The fragment runs this file claimed, to tell a loop from a cross-link.
    own: Vec<(u64, u64)>,
}

impl Walk {
    fn stopped(&self) -> bool {
        self.map.problem.is_some()
    }

    /// Stops the map at logical block `lbn`: the file is read up to it.
    fn stop(&mut self, lbn: u64, bsize: u64, why: String, at: u64, reason: CutReason) {
        self.map.len = self.map.len.min(lbn.saturating_mul(bsize));
        self.map.problem = Some(MapProblem { why, at, reason });
    }
}

struct Reader<'a> {
    data: &'a [u8],
    sb: Superblock,
}

impl Reader<'_> {
    /// The bytes of `len` at fragment `fragment`, when the image holds them.
    fn bytes(&self, fragment: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(fragment.checked_mul(self.sb.fsize)?).ok()?;
        self.data
            .get(start..start.checked_add(usize::try_from(len).ok()?)?)
    }

    fn inode(&self, number: u32) -> Result<Inode, String> {
        let count = u64::from(self.sb.ipg) * u64::from(self.sb.ncg);
        if number < ROOT_INODE || u64::from(number) >= count {
            return Err(format!(
                "inode {number} is not one of the filesystem's (2 to {})",
                count.saturating_sub(1)
            ));
        }
        let sb = &self.sb;
        let cg = u64::from(number / sb.ipg);
        let index = u64::from(number % sb.ipg);
        let start = sb.cg_start(cg);
        if sb.ufs2 {
            // UFS2 initialises inode blocks lazily: those past `cg_initediblk` hold whatever
            // was on the disk before.
            let header = start.saturating_add(sb.cblkno);
            if let Some(cg_header) = self.bytes(header, 128)
                && sb.endian.u32(cg_header, 4) == Some(CG_MAGIC)
            {
                let inited = sb.endian.u32(cg_header, 120).unwrap_or_default();
                if index >= u64::from(inited) {
                    return Err(format!(
                        "inode {number} lies past the {inited} inodes cylinder group {cg} has initialised (`cg_initediblk` at {:#x})",
                        header * sb.fsize + 120
                    ));
                }
            }
        }
        let fragment = start
            .saturating_add(sb.iblkno)
            .saturating_add((index / sb.inopb) * sb.frag);
        let offset = fragment
            .saturating_mul(sb.fsize)
            .saturating_add((index % sb.inopb) * sb.inode_size());
        let raw = usize::try_from(offset)
            .ok()
            .and_then(|at| self.data.get(at..at.checked_add(sb.inode_size() as usize)?))
            .ok_or_else(|| {
                format!("inode {number} at {offset:#x} lies past the end of the image")
            })?;
        let e = sb.endian;
        let (size_at, mtime, flags_at, pointers_at) = if sb.ufs2 {
            (
                16,
                e.u64(raw, 40).unwrap_or_default().cast_signed(),
                88,
                112,
            )
        } else {
            (
                8,
                i64::from(e.u32(raw, 24).unwrap_or_default().cast_signed()),
                100,
                40,
            )
        };
        let width = sb.pointer_size();
        let pointer = |slot: usize| {
            let at = pointers_at + slot * width;
            if sb.ufs2 {
                e.u64(raw, at).unwrap_or_default()
            } else {
                u64::from(e.u32(raw, at).unwrap_or_default())
            }
        };
        Ok(Inode {
            offset,
            mode: e.u16(raw, 0).unwrap_or_default(),
            size: e.u64(raw, size_at).unwrap_or_default(),
            mtime,
            flags: e.u32(raw, flags_at).unwrap_or_default(),
            direct: std::array::from_fn(pointer),
            indirect: std::array::from_fn(|slot| pointer(12 + slot)),
            inline: raw
                .get(pointers_at..pointers_at + 15 * width)
                .unwrap_or_default()
                .to_vec(),
            pointers_at,
        })
    }

    /// A bitset with a bit for each fragment the image holds.
    fn claimed(&self) -> Claimed {
        let fragments = (self.data.len() as u64).div_ceil(self.sb.fsize);
        Claimed::new(fragments)
    }

    /// Claims `count` fragments from `first` for the file being walked, or says why not.
    fn claim(
        &self,
        walk: &mut Walk,
        claimed: &mut Claimed,
        first: u64,
        count: u64,
    ) -> Result<(), (String, CutReason)> {
        let end = first.saturating_add(count);
        if end > self.sb.size {
            return Err((
                format!(
                    "fragments {first} to {} lie past the filesystem's {} fragments",
                    end - 1,
                    self.sb.size
                ),
                CutReason::Truncated,
            ));
        }
        if let Some(taken) = (first..end).find(|&fragment| claimed.has(fragment)) {
            let own = walk
                .own
                .iter()
                .any(|&(start, len)| (start..start + len).contains(&taken));
            return Err(if own {
                (
                    format!("fragment {taken} is named twice in the file's block tree (a loop)"),
                    CutReason::Truncated,
                )
            } else {
                (
                    format!(
                        "fragment {taken} is held by another file or directory (cross-linked blocks are refused)"
                    ),
                    CutReason::Refused,
                )
            });
        }
        for fragment in first..end {
            claimed.set(fragment);
        }
        walk.own.push((first, count));
        Ok(())
    }

    /// Where the bytes of `inode` are, claiming every fragment on the way.
    fn block_map(&self, inode: &Inode, claimed: &mut Claimed) -> BlockMap {
        let bsize = self.sb.bsize;
        let n_blocks = inode.size.div_ceil(bsize);
        let mut walk = Walk {
            map: BlockMap {
                blocks: Vec::new(),
                len: inode.size,
                stored: 0,
                problem: None,
            },
            n_blocks,
            size: inode.size,
            own: Vec::new(),
        };
        let nindir = self.sb.nindir;
        let addressable = NDADDR
            .saturating_add(nindir)
            .saturating_add(nindir.saturating_pow(2))
            .saturating_add(nindir.saturating_pow(3));
        walk.n_blocks = n_blocks.min(addressable);
        let width = self.sb.pointer_size() as u64;
        let pointers = inode.offset + inode.pointers_at as u64;
        for (lbn, &fragment) in (0..walk.n_blocks.min(NDADDR)).zip(&inode.direct) {
            if walk.stopped() {
                return walk.map;
            }
            self.data_block(&mut walk, claimed, lbn, fragment, pointers + lbn * width);
        }
        let mut base = NDADDR;
        for (level, &pointer) in (1..=3u32).zip(&inode.indirect) {
            if walk.stopped() || base >= walk.n_blocks {
                break;
            }
            if pointer != 0 {
                let at = pointers + (NDADDR + u64::from(level) - 1) * width;
                self.indirect(&mut walk, claimed, pointer, level, base, at);
            }
            base = base.saturating_add(nindir.saturating_pow(level));
        }
        if n_blocks > addressable && !walk.stopped() {
            walk.stop(
                addressable,
                bsize,
                format!(
                    "the file's size {} needs more than the {addressable} blocks an inode addresses",
                    inode.size
                ),
                inode.offset,
                CutReason::Truncated,
            );
        }
        walk.map
    }

    /// Adds logical block `lbn` at `fragment` (0: a hole), named by the pointer at `at`.
    fn data_block(&self, walk: &mut Walk, claimed: &mut Claimed, lbn: u64, fragment: u64, at: u64) {
        if fragment == 0 {
            return;
        }
        let bsize = self.sb.bsize;
        let want = bsize.min(walk.size - lbn * bsize);
        // The last block of a file of fewer than 12 blocks may be a run of fragments.
        let count = if lbn < NDADDR {
            want.div_ceil(self.sb.fsize)
        } else {
            self.sb.frag
        };
        match self.claim(walk, claimed, fragment, count) {
            Ok(()) => {
                walk.map.blocks.push((lbn, fragment, want));
                walk.map.stored += want;
            }
            Err((why, reason)) => walk.stop(lbn, bsize, format!("block {lbn}: {why}"), at, reason),
        }
    }

    /// Adds the blocks an indirect block of `level` (1 to 3) at `pointer` maps from `base`.
    fn indirect(
        &self,
        walk: &mut Walk,
        claimed: &mut Claimed,
        pointer: u64,
        level: u32,
        base: u64,
        at: u64,
    ) {
        let bsize = self.sb.bsize;
        if let Err((why, reason)) = self.claim(walk, claimed, pointer, self.sb.frag) {
            walk.stop(
                base,
                bsize,
                format!("the indirect block of block {base}: {why}"),
                at,
                reason,
            );
            return;
        }
        let Some(block) = self.bytes(pointer, bsize) else {
            walk.stop(
                base,
                bsize,
                format!(
                    "the indirect block of block {base} at {:#x} lies past the end of the image",
                    pointer.saturating_mul(self.sb.fsize)
                ),
                at,
                CutReason::Truncated,
            );
            return;
        };
        let block_at = pointer * self.sb.fsize;
        let span = self.sb.nindir.saturating_pow(level - 1);
        let width = self.sb.pointer_size();
        for (slot, entry) in block.chunks_exact(width).enumerate() {
            let child = base.saturating_add((slot as u64).saturating_mul(span));
            if child >= walk.n_blocks || walk.stopped() {
                return;
            }
            let value = if self.sb.ufs2 {
                self.sb.endian.u64(entry, 0).unwrap_or_default()
            } else {
                u64::from(self.sb.endian.u32(entry, 0).unwrap_or_default())
            };
            if value == 0 {
                continue;
            }
            let entry_at = block_at + (slot * width) as u64;
            if level == 1 {
                self.data_block(walk, claimed, child, value, entry_at);
            } else {
                self.indirect(walk, claimed, value, level - 1, child, entry_at);
            }
        }
    }

    /// The bytes `map` covers, holes as zeros; the caller has reserved `map.len`. Blocks past the
    /// image's end are zero-filled and named in the error.
    fn contents(&self, map: &BlockMap) -> (Vec<u8>, Option<(String, u64)>) {
        let len = map.len as usize;
        let mut out = vec![0; len];
        let mut first_err = None;
        for &(lbn, fragment, want) in &map.blocks {
            let Some(dest) = usize::try_from(lbn * self.sb.bsize)
                .ok()
                .filter(|&dest| dest < len)
            else {
                break;
            };
            let n = (want as usize).min(len - dest);
            let start = fragment * self.sb.fsize;
            let available = (self.data.len() as u64).saturating_sub(start).min(n as u64) as usize;
            if let Some(bytes) = self.bytes(fragment, available as u64) {
                out[dest..dest + available].copy_from_slice(bytes);
            }
            if available < n {
                first_err.get_or_insert_with(|| {
                    (
                        format!(
                            "block {lbn} at {start:#x} lies past the end of the image; what was not read is zero-filled"
                        ),
                        start,
                    )
                });
            }
        }
        (out, first_err)
    }
}

/// Parses a UFS1 or UFS2 image at the start of `data`, its superblock looked for where FreeBSD
/// looks: at 65536, then at 8192.
pub fn parse(data: &[u8], budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let sb = match read_superblock(data, SBLOCK_UFS2) {
        Ok(sb) => sb,
        Err(at_ufs2) => {
            match (read_superblock(data, SBLOCK_UFS1), at_ufs2) {
                (Ok(sb), _) => sb,
                (Err(NotUfs::Invalid(why)), _) => {
                    listing.diagnostics.push(
                    Diagnostic::warning("", format!("not a UFS image: the superblock at {SBLOCK_UFS1:#x} is refused: {why}"))
                        .at(SBLOCK_UFS1 as u64),
                );
                    return listing;
                }
                (Err(NotUfs::NoMagic), NotUfs::Invalid(why)) => {
                    listing.diagnostics.push(
                    Diagnostic::warning("", format!("not a UFS image: the superblock at {SBLOCK_UFS2:#x} is refused: {why}"))
                        .at(SBLOCK_UFS2 as u64),
                );
                    return listing;
                }
                (Err(NotUfs::NoMagic), NotUfs::NoMagic) => {
                    listing.diagnostics.push(
                        Diagnostic::warning(
                            "",
                            "not a UFS image (no UFS1 or UFS2 `fs_magic` at 0x255c or 0x1055c)",
                        )
                        .at(0),
                    );
                    return listing;
                }
            }
        }
    };
    let size = sb.size * sb.fsize;
    listing.size = Some(size);
    listing.note_truncation(size, data.len());
    let reader = Reader { data, sb };
    let mut claimed = reader.claimed();
    read_tree(&reader, budget, &mut claimed, &mut listing);
    listing
}

/// Reads the tree from the root directory.
fn read_tree(reader: &Reader<'_>, budget: &Budget, claimed: &mut Claimed, listing: &mut FsListing) {
    // Each directory read, by inode, with its path: one reached again is a loop.
    let mut dirs: HashMap<u32, String> = HashMap::from([(ROOT_INODE, String::new())]);
    // Each file read, by inode, with its first path: one reached again is a hard link.
    let mut files: HashMap<u32, String> = HashMap::new();
    let mut stack = vec![(String::new(), ROOT_INODE, 0usize)];
    while let Some((dir, number, depth)) = stack.pop() {
        let shown = if dir.is_empty() { "/" } else { dir.as_str() };
        let Some(entries) = read_dir(reader, number, budget, claimed, shown, listing) else {
            continue;
        };
        let mut subdirs = Vec::new();
        for (name, child, at) in entries {
            let path = format!("{dir}/{name}");
            let inode = match reader.inode(child) {
                Ok(inode) => inode,
                Err(why) => {
                    listing
                        .diagnostics
                        .push(Diagnostic::warning(path, format!("{why}; skipped")).at(at));
                    continue;
                }
            };
            if inode.mode == 0 {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        path,
                        format!(
                            "the entry names inode {child}, which is not in use (mode 0); skipped"
                        ),
                    )
                    .at(at),
                );
                continue;
            }
            if let Err(limit) = budget.take_entry_with(path.len() as u64) {
                listing.cut_rest(path, limit);
                return;
            }
            let mode = Some(u32::from(inode.mode & 0o7777));
            let kind = match inode.mode & 0o170_000 {
                0o040_000 => {
                    if let Some(first) = dirs.get(&child) {
                        let first = if first.is_empty() { "/" } else { first };
                        listing.cut_loop(
                            &path,
                            Some(at),
                            &format!("directory inode {child} was already read as `{first}`"),
                        );
                    } else if depth + 1 > MAX_DEPTH {
                        listing.cut_too_deep(&path, Some(at), MAX_DEPTH);
                    } else {
                        dirs.insert(child, path.clone());
                        subdirs.push((path.clone(), child, depth + 1));
                    }
                    NodeKind::Dir
                }
                0o100_000 => {
                    if let Some(first) = files.get(&child) {
                        NodeKind::Hardlink {
                            target: first.clone(),
                        }
                    } else {
                        files.insert(child, path.clone());
                        NodeKind::File {
                            data: read_file(reader, &path, &inode, budget, claimed, listing),
                        }
                    }
                }
                0o120_000 => NodeKind::Symlink {
                    target: read_symlink(reader, &path, &inode, budget, claimed, listing),
                },
                special @ (crate::fs::CHAR_DEVICE
                | crate::fs::BLOCK_DEVICE
                | crate::fs::FIFO
                | crate::fs::SOCKET) => crate::fs::special_node(special),
                other => {
                    listing.diagnostics.push(
                        Diagnostic::warning(
                            path,
                            format!(
                                "inode {child} has mode {other:#o}, not a known file type; skipped"
                            ),
                        )
                        .at(inode.offset),
                    );
                    continue;
                }
            };
            listing.entries.push(FsEntry {
                path,
                kind,
                mode,
                mtime: Some(inode.mtime),
            });
        }
        stack.extend(subdirs.into_iter().rev());
    }
}

/// Records a block map's problem, if any, as a cut of `what` at `path`.
fn cut_map(listing: &mut FsListing, path: &str, map: &BlockMap, size: u64, what: &str) {
    if let Some(problem) = &map.problem {
        listing.cut(
            Diagnostic::warning(
                path,
                format!("{}: {} of the {size} bytes read", problem.why, map.len),
            )
            .at(problem.at),
            what,
            problem.reason,
        );
    }
}

/// A regular file's contents, with a cut for any part not read.
fn read_file(
    reader: &Reader<'_>,
    path: &str,
    inode: &Inode,
    budget: &Budget,
    claimed: &mut Claimed,
    listing: &mut FsListing,
) -> Bytes {
    if inode.flags & SF_SNAPSHOT != 0 {
        listing.cut(
            Diagnostic::warning(
                path,
                "a snapshot (`SF_SNAPSHOT`): its block pointers mark blocks it did not copy; listed without contents",
            )
            .at(inode.offset),
            "the snapshot's contents",
            CutReason::Unsupported,
        );
        return Bytes::new();
    }
    let map = reader.block_map(inode, claimed);
    // Holes read as zeros and take no space: they count against the expansion ratio.
    let reservation = match budget.reserve_expansion(map.len, map.stored) {
        Ok(reservation) => reservation,
        Err(limit) => {
            listing.cut(
                Diagnostic::warning(
                    path,
                    format!(
                        "{limit}: the file has {} bytes, {} of them stored; listed without contents",
                        inode.size, map.stored
                    ),
                )
                .at(inode.offset)
                .with_hint(limit.hint()),
                "the file's contents",
                limit.into(),
            );
            return Bytes::new();
        }
    };
    let (bytes, problem) = reader.contents(&map);
    reservation.commit(bytes.len() as u64);
    if let Some((why, at)) = problem {
        listing.cut(
            Diagnostic::warning(path, why).at(at),
            "part of the file's contents",
            CutReason::Truncated,
        );
    }
    cut_map(listing, path, &map, inode.size, "the rest of the file");
    Bytes::from(bytes)
}

/// A symlink's target: in the inode when shorter than `fs_maxsymlinklen`, else in its blocks.
fn read_symlink(
    reader: &Reader<'_>,
    path: &str,
    inode: &Inode,
    budget: &Budget,
    claimed: &mut Claimed,
    listing: &mut FsListing,
) -> String {
    if inode.size < reader.sb.maxsymlinklen {
        let len = inode.size as usize;
        return String::from_utf8_lossy(inode.inline.get(..len).unwrap_or_default()).into_owned();
    }
    if inode.size > MAX_SYMLINK {
        listing.diagnostics.push(
            Diagnostic::warning(
                path,
                format!(
                    "the symlink's target of {} bytes is longer than {MAX_SYMLINK}; not read",
                    inode.size
                ),
            )
            .at(inode.offset),
        );
        return String::new();
    }
    let map = reader.block_map(inode, claimed);
    let Ok(reservation) = budget.reserve(map.len) else {
        listing.diagnostics.push(
            Diagnostic::warning(
                path,
                "the symlink's target is not read: the budget is spent",
            )
            .at(inode.offset),
        );
        return String::new();
    };
    let (bytes, problem) = reader.contents(&map);
    reservation.commit(bytes.len() as u64);
    if let Some((why, at)) = problem {
        listing
            .diagnostics
            .push(Diagnostic::warning(path, format!("the symlink's target: {why}")).at(at));
    }
    cut_map(
        listing,
        path,
        &map,
        inode.size,
        "the rest of the symlink's target",
    );
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The entries of directory inode `number` as (name, inode, offset of the record), `.`, `..`,
/// free records and whiteouts left out. `None` when the directory cannot be read at all.
fn read_dir(
    reader: &Reader<'_>,
    number: u32,
    budget: &Budget,
    claimed: &mut Claimed,
    shown: &str,
    listing: &mut FsListing,
) -> Option<Vec<(String, u32, u64)>> {
    let inode = match reader.inode(number) {
        Ok(inode) => inode,
        Err(why) => {
            listing.diagnostics.push(Diagnostic::warning(
                shown,
                format!("the directory is not read: {why}"),
            ));
            return None;
        }
    };
    if inode.mode & 0o170_000 != 0o040_000 {
        listing.diagnostics.push(
            Diagnostic::warning(
                shown,
                format!(
                    "inode {number} has mode {:#o}, not a directory; not read",
                    inode.mode
                ),
            )
            .at(inode.offset),
        );
        return None;
    }
    let map = reader.block_map(&inode, claimed);
    // Directory bytes are working memory, drawn from the budget like any output (holes count
    // against the ratio) and released once read.
    let held = match budget.reserve_expansion(map.len, map.stored) {
        Ok(held) => held,
        Err(limit) => {
            listing.cut(
                Diagnostic::warning(shown, format!("directory inode {number} not read: {limit}"))
                    .at(inode.offset)
                    .with_hint(limit.hint()),
                "the directory and everything in it",
                limit.into(),
            );
            return None;
        }
    };
    let (bytes, problem) = reader.contents(&map);
    if let Some((why, at)) = problem {
        listing.cut(
            Diagnostic::warning(shown, why).at(at),
            "part of the directory's entries",
            CutReason::Truncated,
        );
    }
    cut_map(
        listing,
        shown,
        &map,
        inode.size,
        "the rest of the directory",
    );
    let mut entries = Vec::new();
    for (chunk_index, chunk) in bytes.chunks(DIRBLKSIZ).enumerate() {
        let chunk_at = (chunk_index * DIRBLKSIZ) as u64;
        // Where the chunk is in the image, for diagnostics.
        let image_at = |within: usize| {
            let logical = chunk_at + within as u64;
            let bsize = reader.sb.bsize;
            let after = map
                .blocks
                .partition_point(|&(lbn, _, _)| lbn * bsize <= logical);
            after
                .checked_sub(1)
                .and_then(|index| map.blocks.get(index))
                .filter(|&&(lbn, _, want)| logical < lbn * bsize + want)
                .map_or(inode.offset, |&(lbn, fragment, _)| {
                    fragment * reader.sb.fsize + (logical - lbn * bsize)
                })
        };
        let mut off = 0;
        while off + 8 <= chunk.len() {
            match dir_record(reader, chunk, off) {
                Ok((reclen, record)) => {
                    match record {
                        Record::Skip => {}
                        Record::Entry(name, child) => entries.push((name, child, image_at(off))),
                        Record::BadName(name) => listing.cut(
                            Diagnostic::warning(
                                shown,
                                format!("a record names {name:?}, with `/` or NUL in it; skipped"),
                            )
                            .at(image_at(off)),
                            "the entry",
                            CutReason::Refused,
                        ),
                    }
                    off += reclen;
                }
                Err(why) => {
                    listing.cut(
                        Diagnostic::warning(
                            shown,
                            format!("{why}; the rest of its 512-byte chunk is skipped"),
                        )
                        .at(image_at(off)),
                        "the rest of the 512-byte directory chunk",
                        CutReason::Truncated,
                    );
                    break;
                }
            }
        }
    }
    drop(held);
    Some(entries)
}

/// What one directory record holds.
enum Record {
    /// Free space, `.`, `..` or a whiteout.
    Skip,
    /// A name and its inode.
    Entry(String, u32),
    /// A name no path can hold.
    BadName(String),
}

/// The record at `off` of a 512-byte directory chunk, with its length; `Err` when its length or
/// its name's does not fit (the rest of the chunk cannot be trusted).
fn dir_record(reader: &Reader<'_>, chunk: &[u8], off: usize) -> Result<(usize, Record), String> {
    let e = reader.sb.endian;
    let child = e.u32(chunk, off).unwrap_or_default();
    let reclen = usize::from(e.u16(chunk, off + 4).unwrap_or_default());
    let (kind, namlen) = if reader.sb.old_dirs {
        (0, usize::from(e.u16(chunk, off + 6).unwrap_or_default()))
    } else {
        (
            chunk.get(off + 6).copied().unwrap_or_default(),
            usize::from(chunk.get(off + 7).copied().unwrap_or_default()),
        )
    };
    // A record holds its header, its name and a NUL, rounded to 4 bytes.
    let least = (8 + namlen + 1).next_multiple_of(4);
    if reclen < 8 || !reclen.is_multiple_of(4) || off + reclen > chunk.len() {
        return Err(format!(
            "directory record length `d_reclen` {reclen} at byte {off} of a chunk is not a multiple of 4 that fits in the chunk"
        ));
    }
    if child == 0 {
        return Ok((reclen, Record::Skip));
    }
    if namlen == 0 || namlen > 255 || least > reclen {
        return Err(format!(
            "directory record at byte {off} of a chunk has a name length `d_namlen` {namlen} that does not fit its length {reclen}"
        ));
    }
    let name = chunk.get(off + 8..off + 8 + namlen).unwrap_or_default();
    let text = String::from_utf8_lossy(name).into_owned();
    Ok((
        reclen,
        if kind == DT_WHT || name == b"." || name == b".." {
            Record::Skip
        } else if name.contains(&b'/') || name.contains(&0) {
            Record::BadName(text)
        } else {
            Record::Entry(text, child)
        },
    ))
}

#[cfg(test)]
mod tests;
