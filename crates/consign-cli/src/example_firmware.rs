//! The generated firmware image that `consign demo` (and the end-to-end tests) scan.
//!
//! It is an example, not a real product, and the demo says so. It is built like a small router's
//! NOR flash: a U-Boot legacy uImage holding a gzip-compressed kernel, then, on the next erase
//! block, a gzip-compressed cpio root filesystem, then erased flash (`0xff`). The files inside are
//! small ELF binaries that this module writes: each carries the version strings that the real
//! component prints (the same text a real build holds), a `.comment` naming the compiler, and for
//! shared objects a `DT_SONAME` and `DT_NEEDED` entries, so detection has real structure to read.

use std::io::Write as _;

/// Erase block size of the simulated flash.
const ERASE_BLOCK: usize = 0x1_0000;
/// Where the root filesystem starts.
const ROOTFS_OFFSET: usize = 4 * ERASE_BLOCK;
/// Total flash size.
const FLASH_SIZE: usize = 16 * ERASE_BLOCK;
/// Fixed time stamp (2024-01-01T00:00:00Z) so the image is byte-for-byte reproducible.
const MTIME: u32 = 1_704_067_200;

/// Builds the whole flash image. Deterministic: the same bytes every time.
pub(crate) fn build() -> Vec<u8> {
    let kernel = uimage(&gzip(&kernel_image()), "consign example kernel");
    let rootfs = gzip(&rootfs_cpio());
    let mut flash = vec![0xff; FLASH_SIZE];
    assert!(kernel.len() <= ROOTFS_OFFSET && ROOTFS_OFFSET + rootfs.len() <= FLASH_SIZE);
    flash[..kernel.len()].copy_from_slice(&kernel);
    flash[ROOTFS_OFFSET..ROOTFS_OFFSET + rootfs.len()].copy_from_slice(&rootfs);
    flash
}

/// The "kernel": an uncompressed payload whose banner is the one Linux prints at boot.
fn kernel_image() -> Vec<u8> {
    let mut image = vec![0u8; 4096];
    image.extend_from_slice(
        b"Linux version 6.1.55 (builder@consign-example) (arm-linux-gnueabihf-gcc (GCC) 12.2.0, \
GNU ld (GNU Binutils) 2.40) #1 SMP Mon Jan  1 00:00:00 UTC 2024\n\0",
    );
    image.extend_from_slice(b"\0Booting Linux on physical CPU 0x%lx\n\0");
    image.resize(32 * 1024, 0);
    image
}

/// The OpenSSL library inside the example: the part the demo's supplier attests.
pub(crate) fn supplier_part() -> Vec<u8> {
    // Laid out as libcrypto's `crypto/cversion.c` is: the version text, then the bare version.
    elf(&ElfSpec {
        soname: Some("libcrypto.so.3"),
        needed: &["libc.so.6"],
        rodata: &[
            "crypto/evp/digest.c",
            "OpenSSL 3.0.13 30 Jan 2024",
            "3.0.13",
            "built on: Mon Jan  1 00:00:00 2024 UTC",
        ],
    })
}

/// The root filesystem as a cpio "newc" archive.
fn rootfs_cpio() -> Vec<u8> {
    let busybox = elf(&ElfSpec {
        soname: None,
        needed: &["libc.so.6"],
        rodata: &[
            "BusyBox v1.36.1 (2024-01-01 00:00:00 UTC) multi-call binary.",
            "BusyBox is copyrighted by many authors between 1998-2015.",
            "Usage: busybox [function [arguments]...]",
        ],
    });
    let dropbear = elf(&ElfSpec {
        soname: None,
        needed: &["libz.so.1", "libcrypto.so.3", "libc.so.6"],
        rodata: &[
            "SSH-2.0-dropbear_2022.83",
            "Dropbear SSH server v2022.83 https://matt.ucc.asn.au/dropbear/dropbear.html",
            "Usage: %s [options]",
        ],
    });
    let libcrypto = supplier_part();
    let libz = elf(&ElfSpec {
        soname: Some("libz.so.1"),
        needed: &["libc.so.6"],
        rodata: &[
            " deflate 1.3 Copyright 1995-2023 Jean-loup Gailly and Mark Adler ",
            " inflate 1.3 Copyright 1995-2023 Mark Adler ",
            "1.3",
        ],
    });
    let mut cpio = Cpio::default();
    for dir in ["bin", "etc", "lib", "usr", "usr/sbin", "dev", "proc", "tmp"] {
        cpio.dir(dir);
    }
    cpio.file("bin/busybox", 0o755, &busybox);
    cpio.symlink("bin/sh", "busybox");
    cpio.symlink("bin/ls", "busybox");
    cpio.file("usr/sbin/dropbear", 0o755, &dropbear);
    cpio.file("lib/libcrypto.so.3", 0o755, &libcrypto);
    cpio.file("lib/libz.so.1", 0o755, &libz);
    cpio.file(
        "etc/os-release",
        0o644,
        b"NAME=\"consign example firmware\"\nVERSION=\"2.4.1\"\nID=consign-example\n",
    );
    cpio.file(
        "etc/banner",
        0o644,
        b"This is a generated example firmware made by `consign demo`; it is not a real product.\n",
    );
    cpio.finish()
}

/// What goes into one generated ELF file.
struct ElfSpec<'a> {
    soname: Option<&'a str>,
    needed: &'a [&'a str],
    rodata: &'a [&'a str],
}

/// Writes a small, well-formed 32-bit little-endian ARM ELF: a load segment, a dynamic segment with
/// `DT_NEEDED`/`DT_SONAME`, and `.dynstr`, `.dynamic`, `.rodata`, `.comment`, `.shstrtab` sections.
fn elf(spec: &ElfSpec<'_>) -> Vec<u8> {
    const EHDR: usize = 52;
    const PHDR: usize = 32;
    const SHDR: usize = 40;
    let mut dynstr = vec![0u8];
    let mut add_str = |text: &str| {
        let offset = dynstr.len() as u32;
        dynstr.extend_from_slice(text.as_bytes());
        dynstr.push(0);
        offset
    };
    let needed: Vec<u32> = spec.needed.iter().map(|name| add_str(name)).collect();
    let soname = spec.soname.map(&mut add_str);

    let mut rodata = Vec::new();
    for text in spec.rodata {
        rodata.extend_from_slice(text.as_bytes());
        rodata.push(0);
    }
    let comment = b"GCC: (consign example toolchain) 12.2.0\0".to_vec();
    let shstrtab = b"\0.dynstr\0.dynamic\0.rodata\0.comment\0.shstrtab\0".to_vec();
    let name_offsets = [0u32, 1, 9, 18, 26, 35];

    let dynstr_off = EHDR + 2 * PHDR;
    let dynamic_off = align(dynstr_off + dynstr.len(), 4);
    let mut dynamic = Vec::new();
    let mut push_dyn = |tag: u32, value: u32| {
        dynamic.extend_from_slice(&tag.to_le_bytes());
        dynamic.extend_from_slice(&value.to_le_bytes());
    };
    for offset in &needed {
        push_dyn(1, *offset); // DT_NEEDED
    }
    if let Some(offset) = soname {
        push_dyn(14, offset); // DT_SONAME
    }
    push_dyn(5, dynstr_off as u32); // DT_STRTAB (virtual address == file offset here)
    push_dyn(10, dynstr.len() as u32); // DT_STRSZ
    push_dyn(0, 0); // DT_NULL
    let rodata_off = dynamic_off + dynamic.len();
    let comment_off = rodata_off + rodata.len();
    let shstrtab_off = comment_off + comment.len();
    let shdr_off = align(shstrtab_off + shstrtab.len(), 4);
    let total = shdr_off + 6 * SHDR;

    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0");
    let is_lib = spec.soname.is_some();
    put16(&mut out, if is_lib { 3 } else { 2 }); // e_type: ET_DYN or ET_EXEC
    put16(&mut out, 40); // e_machine: EM_ARM
    put32(&mut out, 1); // e_version
    put32(&mut out, 0); // e_entry
    put32(&mut out, EHDR as u32); // e_phoff
    put32(&mut out, shdr_off as u32); // e_shoff
    put32(&mut out, 0x0500_0000); // e_flags: EABI5
    put16(&mut out, EHDR as u16);
    put16(&mut out, PHDR as u16);
    put16(&mut out, 2);
    put16(&mut out, SHDR as u16);
    put16(&mut out, 6);
    put16(&mut out, 5); // e_shstrndx
    // PT_LOAD over the whole file, PT_DYNAMIC over .dynamic.
    for (p_type, offset, size, flags) in [
        (1u32, 0usize, total, 5u32),
        (2, dynamic_off, dynamic.len(), 6),
    ] {
        put32(&mut out, p_type);
        put32(&mut out, offset as u32);
        put32(&mut out, offset as u32); // p_vaddr
        put32(&mut out, offset as u32); // p_paddr
        put32(&mut out, size as u32);
        put32(&mut out, size as u32);
        put32(&mut out, flags);
        put32(&mut out, 4);
    }
    out.extend_from_slice(&dynstr);
    out.resize(dynamic_off, 0);
    out.extend_from_slice(&dynamic);
    out.extend_from_slice(&rodata);
    out.extend_from_slice(&comment);
    out.extend_from_slice(&shstrtab);
    out.resize(shdr_off, 0);
    // Section headers: null, .dynstr, .dynamic, .rodata, .comment, .shstrtab.
    let sections: [(u32, u32, u32, usize, usize, u32, u32); 6] = [
        (0, 0, 0, 0, 0, 0, 0),
        (name_offsets[1], 3, 2, dynstr_off, dynstr.len(), 0, 0),
        (name_offsets[2], 6, 3, dynamic_off, dynamic.len(), 1, 8),
        (name_offsets[3], 1, 2, rodata_off, rodata.len(), 0, 0),
        (name_offsets[4], 1, 0x30, comment_off, comment.len(), 0, 1),
        (name_offsets[5], 3, 0, shstrtab_off, shstrtab.len(), 0, 0),
    ];
    for (name, sh_type, flags, offset, size, link, entsize) in sections {
        put32(&mut out, name);
        put32(&mut out, sh_type);
        put32(&mut out, flags);
        put32(&mut out, if flags & 2 != 0 { offset as u32 } else { 0 }); // sh_addr
        put32(&mut out, offset as u32);
        put32(&mut out, size as u32);
        put32(&mut out, link);
        put32(&mut out, 0); // sh_info
        put32(&mut out, 1); // sh_addralign
        put32(&mut out, entsize);
    }
    out
}

fn align(value: usize, to: usize) -> usize {
    value.div_ceil(to) * to
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A cpio "newc" archive writer (the format of Linux initramfs).
#[derive(Default)]
struct Cpio {
    out: Vec<u8>,
    next_ino: u32,
}

impl Cpio {
    fn dir(&mut self, path: &str) {
        self.entry(path, 0o040_755, b"");
    }

    fn file(&mut self, path: &str, mode: u32, data: &[u8]) {
        self.entry(path, 0o100_000 | mode, data);
    }

    fn symlink(&mut self, path: &str, target: &str) {
        self.entry(path, 0o120_777, target.as_bytes());
    }

    fn entry(&mut self, path: &str, mode: u32, data: &[u8]) {
        self.next_ino += 1;
        let name_len = path.len() + 1;
        let fields = [
            self.next_ino,
            mode,
            0,
            0,
            1,
            MTIME,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name_len as u32,
            0,
        ];
        self.out.extend_from_slice(b"070701");
        for field in fields {
            self.out
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.out.extend_from_slice(path.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        self.out.resize(align(self.out.len(), 4), 0);
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, b"");
        self.out.resize(align(self.out.len(), 512), 0);
        self.out
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    // A fixed header (no name, mtime 0) keeps the output reproducible.
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(data)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// Wraps `payload` in a U-Boot legacy image header (Linux, ARM, kernel, gzip).
fn uimage(payload: &[u8], name: &str) -> Vec<u8> {
    let mut header = Vec::with_capacity(64);
    header.extend_from_slice(&0x2705_1956u32.to_be_bytes()); // ih_magic
    header.extend_from_slice(&0u32.to_be_bytes()); // ih_hcrc, filled below
    header.extend_from_slice(&MTIME.to_be_bytes()); // ih_time
    header.extend_from_slice(&(payload.len() as u32).to_be_bytes()); // ih_size
    header.extend_from_slice(&0x8000_8000u32.to_be_bytes()); // ih_load
    header.extend_from_slice(&0x8000_8000u32.to_be_bytes()); // ih_ep
    header.extend_from_slice(&crc32(payload).to_be_bytes()); // ih_dcrc
    header.extend_from_slice(&[5, 2, 2, 1]); // ih_os linux, ih_arch arm, ih_type kernel, ih_comp gzip
    let mut name_field = [0u8; 32];
    let len = name.len().min(31);
    name_field[..len].copy_from_slice(&name.as_bytes()[..len]);
    header.extend_from_slice(&name_field);
    let header_crc = crc32(&header);
    header[4..8].copy_from_slice(&header_crc.to_be_bytes());
    header.extend_from_slice(payload);
    header
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_is_reproducible_and_laid_out_like_flash() {
        let image = build();
        assert_eq!(image, build());
        assert_eq!(image.len(), FLASH_SIZE);
        assert_eq!(&image[..4], &[0x27, 0x05, 0x19, 0x56]);
        assert_eq!(&image[ROOTFS_OFFSET..ROOTFS_OFFSET + 2], &[0x1f, 0x8b]);
        assert_eq!(image[FLASH_SIZE - 1], 0xff);
    }

    #[test]
    fn elf_is_well_formed() {
        let data = elf(&ElfSpec {
            soname: Some("libz.so.1"),
            needed: &["libc.so.6"],
            rodata: &["hello"],
        });
        assert_eq!(&data[..4], b"\x7fELF");
        let shoff = u32::from_le_bytes(data[32..36].try_into().unwrap()) as usize;
        assert_eq!(shoff + 6 * 40, data.len());
    }
}
