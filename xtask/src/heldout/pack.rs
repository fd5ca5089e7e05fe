//! Staging a root file system from unpacked packages and packing it the way firmware is packed,
//! with Debian's own tools: `mksquashfs`, `mkfs.jffs2`, `mke2fs -d`, `cpio` + `gzip`, `mkimage`,
//! `tar`, `mkfs.erofs` (+ `img2simg` for Android's sparse format), `makefs -t ffs` and
//! `xorriso -as mkisofs`. Every output is reproducible: file times are the recipe's epoch, owners
//! are root, entries are sorted, and each tool's time stamp and UUID are fixed (where a tool
//! leaves something to chance, as makefs does, the bytes are set after it: [`settle_ufs2`]).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::recipe::{Format, Target};

/// Debian packages the packing runs: (package, a file that shows it is installed).
pub(crate) const TOOLS: &[(&str, &str)] = &[
    ("squashfs-tools", "/usr/bin/mksquashfs"),
    ("mtd-utils", "/usr/sbin/mkfs.jffs2"),
    ("e2fsprogs", "/usr/sbin/mke2fs"),
    ("cpio", "/usr/bin/cpio"),
    ("u-boot-tools", "/usr/bin/mkimage"),
    ("xz-utils", "/usr/bin/xz"),
    ("erofs-utils", "/usr/bin/mkfs.erofs"),
    ("android-sdk-libsparse-utils", "/usr/bin/img2simg"),
    ("makefs", "/usr/sbin/makefs"),
    ("xorriso", "/usr/bin/xorriso"),
];

/// The hint for a packing tool that is not there: the Debian package that installs it.
fn install_hint(program: &str) -> Option<String> {
    TOOLS
        .iter()
        .find(|(_, witness)| Path::new(witness).file_name().is_some_and(|name| name == program))
        .map(|(package, _)| {
            format!(
                "\n\nhint: `{program}` comes with Debian's `{package}`: `apt-get update && apt-get install -y {package}` (`cargo xtask heldout` installs it itself when run as root)"
            )
        })
}

/// One entry of a tree, relative to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    Dir(String),
    File(String),
    Symlink(String, PathBuf),
}

impl Entry {
    pub(crate) fn path(&self) -> &str {
        match self {
            Self::Dir(path) | Self::File(path) | Self::Symlink(path, _) => path,
        }
    }
}

/// Every entry under `root`, sorted by path, links not followed.
pub(crate) fn walk(root: &Path) -> Result<Vec<Entry>, String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<Entry>) -> Result<(), String> {
        let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|err| format!("reading {}: {err}", dir.display()))?
            .flatten()
            .map(|entry| entry.path())
            .collect();
        children.sort();
        for path in children {
            let relative = path
                .strip_prefix(root)
                .map_err(|err| format!("{}: {err}", path.display()))?
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path)
                .map_err(|err| format!("reading {}: {err}", path.display()))?;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path)
                    .map_err(|err| format!("reading the link {}: {err}", path.display()))?;
                out.push(Entry::Symlink(relative, target));
            } else if meta.is_dir() {
                out.push(Entry::Dir(relative));
                go(root, &path, out)?;
            } else if meta.is_file() {
                out.push(Entry::File(relative));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(root, root, &mut out)?;
    Ok(out)
}

/// Removes every file and link under `root` whose relative path matches one of `globs`, then the
/// directories left empty by that.
pub(crate) fn prune(root: &Path, globs: &[String]) -> Result<(), String> {
    let entries = walk(root)?;
    let mut touched_dirs = Vec::new();
    for entry in &entries {
        if matches!(entry, Entry::Dir(_)) {
            continue;
        }
        if globs
            .iter()
            .any(|glob| super::recipe::path_match(glob, entry.path()))
        {
            let path = root.join(entry.path());
            std::fs::remove_file(&path)
                .map_err(|err| format!("removing {}: {err}", path.display()))?;
            touched_dirs.push(entry.path().to_owned());
        }
    }
    // Deepest first: a directory emptied by the pruning goes, one that was empty in the package stays.
    let mut dirs: Vec<&str> = entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Dir(path)
                if touched_dirs
                    .iter()
                    .any(|t| t.starts_with(&format!("{path}/"))) =>
            {
                Some(path.as_str())
            }
            _ => None,
        })
        .collect();
    dirs.sort_by_key(|path| std::cmp::Reverse(path.len()));
    for dir in dirs {
        let path = root.join(dir);
        if std::fs::read_dir(&path).is_ok_and(|mut children| children.next().is_none()) {
            std::fs::remove_dir(&path)
                .map_err(|err| format!("removing {}: {err}", path.display()))?;
        }
    }
    Ok(())
}

/// Copies the tree `from` into `into` (files hard-linked where possible); an entry that already
/// exists in `into` is kept (the first package to ship a path wins).
pub(crate) fn merge(from: &Path, into: &Path) -> Result<(), String> {
    for entry in walk(from)? {
        let dest = into.join(entry.path());
        match &entry {
            Entry::Dir(_) => {
                if std::fs::symlink_metadata(&dest).is_err() {
                    std::fs::create_dir_all(&dest)
                        .map_err(|err| format!("creating {}: {err}", dest.display()))?;
                }
            }
            Entry::File(path) => {
                if std::fs::symlink_metadata(&dest).is_err() {
                    let source = from.join(path);
                    if std::fs::hard_link(&source, &dest).is_err() {
                        std::fs::copy(&source, &dest).map_err(|err| {
                            format!("copying {} to {}: {err}", source.display(), dest.display())
                        })?;
                    }
                }
            }
            Entry::Symlink(_, target) => {
                if std::fs::symlink_metadata(&dest).is_err() {
                    std::os::unix::fs::symlink(target, &dest)
                        .map_err(|err| format!("linking {}: {err}", dest.display()))?;
                }
            }
        }
    }
    Ok(())
}

/// Links `/bin`, `/sbin` and `/lib` to their `/usr` directories when only those exist, as a
/// merged-/usr system has them (program interpreters are `/lib/ld-linux...`).
pub(crate) fn merged_usr_links(root: &Path) -> Result<(), String> {
    for dir in ["bin", "sbin", "lib"] {
        let top = root.join(dir);
        if std::fs::symlink_metadata(&top).is_err() && root.join("usr").join(dir).is_dir() {
            std::os::unix::fs::symlink(format!("usr/{dir}"), &top)
                .map_err(|err| format!("linking {}: {err}", top.display()))?;
        }
    }
    Ok(())
}

/// Sets every entry's modification time under `root` (links themselves, not their targets).
pub(crate) fn set_times(root: &Path, epoch: u64) -> Result<(), String> {
    let mut command = Command::new("find");
    command
        .arg(root)
        .args(["-exec", "touch", "--no-dereference", "--date"])
        .arg(format!("@{epoch}"))
        .args(["{}", "+"]);
    run(&mut command, "setting file times")
}

/// Runs a command, capturing its output for the error message.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command.stdin(Stdio::null()).output().map_err(|err| {
        let program = command.get_program().to_string_lossy().into_owned();
        format!(
            "{what}: could not start {program}: {err}{}",
            install_hint(&program).unwrap_or_default()
        )
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: `{}` failed ({}):\n{}{}",
            describe(command),
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What goes into one image.
pub(crate) struct Inputs<'a> {
    pub(crate) name: &'a str,
    pub(crate) format: Format,
    pub(crate) target: &'a Target,
    pub(crate) rootfs: &'a Path,
    pub(crate) kernel: Option<&'a Path>,
    /// A scratch folder for intermediate files.
    pub(crate) scratch: &'a Path,
    pub(crate) epoch: u64,
}

/// The image's file name, and how truth names a location in it: the prefix of a root-file-system
/// path (`rootfs:`), and the name of the kernel part.
pub(crate) fn layout(format: Format) -> (&'static str, &'static str) {
    match format {
        Format::UimageSquashfs => ("flash.bin", "rootfs:"),
        Format::UimageInitramfs => ("flash.bin", "initramfs:"),
        Format::Jffs2 => ("rootfs.jffs2", ""),
        Format::Ext4 => ("rootfs.ext4", ""),
        Format::SquashfsGzip => ("rootfs.squashfs", ""),
        Format::BundleTgz => ("firmware_update.tar.gz", "rootfs.squashfs:"),
        Format::Erofs => ("rootfs.erofs", ""),
        Format::ErofsSparse => ("system.img", ""),
        Format::Ufs2 => ("rootfs.ufs", ""),
        Format::Iso9660 => ("rootfs.iso", ""),
    }
}

/// Packs `inputs` into `out`.
pub(crate) fn pack(inputs: &Inputs<'_>, out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(inputs.scratch)
        .map_err(|err| format!("creating {}: {err}", inputs.scratch.display()))?;
    let kernel = || {
        inputs
            .kernel
            .ok_or_else(|| format!("image `{}` needs a kernel and has none", inputs.name))
    };
    match inputs.format {
        Format::UimageSquashfs => {
            let uimage = inputs.scratch.join("kernel.uimage");
            mkimage_kernel(inputs, kernel()?, &uimage)?;
            let squashfs = inputs.scratch.join("rootfs.squashfs");
            mksquashfs(inputs.rootfs, &squashfs, "xz", 262_144, inputs.epoch)?;
            flash(&[&uimage, &squashfs], 0x1_0000, out)
        }
        Format::UimageInitramfs => {
            let uimage = inputs.scratch.join("kernel.uimage");
            mkimage_kernel(inputs, kernel()?, &uimage)?;
            let cpio_gz = inputs.scratch.join("initramfs.cpio.gz");
            cpio_gzip(inputs.rootfs, &cpio_gz)?;
            let ramdisk = inputs.scratch.join("ramdisk.uimage");
            let mut command = Command::new("mkimage");
            command
                .args(["-A", inputs.target.uimage_arch.as_deref().unwrap_or("arm")])
                .args([
                    "-O",
                    "linux",
                    "-T",
                    "ramdisk",
                    "-C",
                    "gzip",
                    "-n",
                    "initramfs",
                    "-d",
                ])
                .arg(&cpio_gz)
                .arg(&ramdisk)
                .env("SOURCE_DATE_EPOCH", inputs.epoch.to_string());
            run(&mut command, "making the ramdisk uImage")?;
            flash(&[&uimage, &ramdisk], 0x2_0000, out)
        }
        Format::Jffs2 => {
            let mut command = Command::new("mkfs.jffs2");
            command
                .arg("--root")
                .arg(inputs.rootfs)
                .arg("--output")
                .arg(out)
                .args([
                    "--little-endian",
                    "--eraseblock=0x20000",
                    "--no-cleanmarkers",
                    "--squash-uids",
                ]);
            run(&mut command, "making the JFFS2 image")
        }
        Format::Ext4 => mke2fs(inputs, out),
        Format::SquashfsGzip => mksquashfs(inputs.rootfs, out, "gzip", 131_072, inputs.epoch),
        Format::BundleTgz => {
            let bundle = inputs.scratch.join("bundle");
            let _ = std::fs::remove_dir_all(&bundle);
            std::fs::create_dir_all(&bundle)
                .map_err(|err| format!("creating {}: {err}", bundle.display()))?;
            mksquashfs(
                inputs.rootfs,
                &bundle.join("rootfs.squashfs"),
                "xz",
                262_144,
                inputs.epoch,
            )?;
            let manifest = format!("image={}\nformat=1\nrootfs=rootfs.squashfs\n", inputs.name);
            std::fs::write(bundle.join("manifest.txt"), manifest)
                .map_err(|err| format!("writing the bundle manifest: {err}"))?;
            set_times(&bundle, inputs.epoch)?;
            let tar = inputs.scratch.join("bundle.tar");
            let mut command = Command::new("tar");
            command
                .arg("--create")
                .arg("--file")
                .arg(&tar)
                .arg("--directory")
                .arg(&bundle)
                .args([
                    "--sort=name",
                    "--owner=0",
                    "--group=0",
                    "--numeric-owner",
                    "--format=gnu",
                ])
                .arg(format!("--mtime=@{}", inputs.epoch))
                .args(["manifest.txt", "rootfs.squashfs"]);
            run(&mut command, "making the bundle tar")?;
            gzip(&tar, out)
        }
        Format::Erofs => mkfs_erofs(inputs.rootfs, out, inputs.epoch),
        Format::ErofsSparse => {
            let raw = inputs.scratch.join("system.erofs");
            mkfs_erofs(inputs.rootfs, &raw, inputs.epoch)?;
            // `img2simg` reads the image block by block (holes in the file play no part): a
            // block of one repeated word becomes a fill chunk, the rest raw chunks.
            let _ = std::fs::remove_file(out);
            let mut command = Command::new("img2simg");
            command.arg(&raw).arg(out);
            run(&mut command, "making the Android sparse image")
        }
        Format::Ufs2 => makefs_ufs2(inputs.rootfs, out, inputs.epoch),
        Format::Iso9660 => {
            let _ = std::fs::remove_file(out);
            let mut command = Command::new("xorriso");
            command
                .args([
                    "-as", "mkisofs", "-quiet", "-R", "-J", "-uid", "0", "-gid", "0",
                ])
                .args(["-V", "ROOTFS", "-o"])
                .arg(out)
                .arg(inputs.rootfs)
                // Fixes the volume's dates and UUID and every file's times in it.
                .env("SOURCE_DATE_EPOCH", inputs.epoch.to_string());
            run(&mut command, "making the ISO 9660 image")
        }
    }
}

/// The UUID of every EROFS image (each is made from the recipe alone, so one fixed value does).
const EROFS_UUID: &str = "2f1d3e5c-4b6a-4c8d-9e0f-0e4f5a1b2c3d";

/// EROFS as Android 13 and later pack `system` and `vendor`: LZ4HC, 4 KiB blocks, the last
/// piece of each file inline beside its inode (tail packing), no extended attributes.
fn mkfs_erofs(root: &Path, out: &Path, epoch: u64) -> Result<(), String> {
    let _ = std::fs::remove_file(out);
    let mut command = Command::new("mkfs.erofs");
    command
        .args(["-zlz4hc", "-Eztailpacking", "-x-1", "--all-root", "--quiet"])
        .arg(format!("-T{epoch}"))
        .arg(format!("-U{EROFS_UUID}"))
        .arg(out)
        .arg(root);
    run(&mut command, "making the EROFS image")
}

/// UFS2 made by NetBSD's makefs as FreeBSD's release tools make appliance images: 32 KiB blocks
/// of 4 KiB fragments, little-endian, a tenth of the blocks left free (without it, makefs sizes
/// the image too small for trees of many small files), then [`settle_ufs2`].
fn makefs_ufs2(root: &Path, out: &Path, epoch: u64) -> Result<(), String> {
    let _ = std::fs::remove_file(out);
    let mut command = Command::new("makefs");
    command
        .args(["-t", "ffs", "-B", "le", "-T"])
        .arg(epoch.to_string())
        .args(["-o", "version=2,bsize=32768,fsize=4096", "-b", "10%"])
        .arg(out)
        .arg(root);
    run(&mut command, "making the UFS2 image")?;
    let mut image =
        std::fs::read(out).map_err(|err| format!("reading {}: {err}", out.display()))?;
    settle_ufs2(&mut image, epoch).map_err(|err| format!("{}: {err}", out.display()))?;
    std::fs::write(out, image).map_err(|err| format!("writing {}: {err}", out.display()))
}

/// Sets what makefs leaves to chance in a little-endian UFS2 image (as the UFS fixture's recipe
/// does): the two in-memory pointers it leaves in the padding of the superblock and of every
/// cylinder group's copy of it (`fs_ocsp`, 128 bytes at 728) are zeroed; in each inode in use the
/// access and change times, which it may take from the clock or the staging tree, become `epoch`;
/// in each inode not in use the random generation number (`di_gen`) becomes 0.
pub(crate) fn settle_ufs2(image: &mut [u8], epoch: u64) -> Result<(), String> {
    const MAGIC: u32 = 0x1954_0119;
    const INODE_SIZE: usize = 256;
    let int = |image: &[u8], at: usize| -> Option<u32> {
        let bytes = image.get(at..at + 4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    };
    let superblock = [65_536usize, 8_192]
        .into_iter()
        .find(|&at| int(image, at + 1372) == Some(MAGIC))
        .ok_or("no little-endian UFS2 superblock at 64 KiB or 8 KiB")?;
    let field = |at: usize| {
        int(image, superblock + at)
            .map(|value| value as usize)
            .ok_or_else(|| format!("the superblock ends before its field at {at}"))
    };
    let (sblkno, iblkno, ncg, fsize, ipg, fpg) = (
        field(8)?,
        field(16)?,
        field(44)?,
        field(52)?,
        field(184)?,
        field(188)?,
    );
    let out_of_range = |what: &str, at: usize| format!("{what} at {at} lies past the image's end");
    let mut copies = vec![superblock];
    copies.extend((0..ncg).map(|cg| (cg * fpg + sblkno) * fsize));
    for at in copies {
        image
            .get_mut(at + 728..at + 856)
            .ok_or_else(|| out_of_range("a superblock copy", at))?
            .fill(0);
    }
    let epoch = i64::try_from(epoch).map_err(|_| format!("epoch {epoch} is too large"))?;
    for cg in 0..ncg {
        for index in 0..ipg {
            let at = (cg * fpg + iblkno) * fsize + index * INODE_SIZE;
            let inode = image
                .get_mut(at..at + INODE_SIZE)
                .ok_or_else(|| out_of_range("an inode", at))?;
            if inode[..2] == [0, 0] {
                inode[80..84].fill(0);
            } else {
                inode[32..40].copy_from_slice(&epoch.to_le_bytes());
                inode[48..56].copy_from_slice(&epoch.to_le_bytes());
            }
        }
    }
    Ok(())
}

fn mksquashfs(root: &Path, out: &Path, comp: &str, block: u32, epoch: u64) -> Result<(), String> {
    let _ = std::fs::remove_file(out);
    let mut command = Command::new("mksquashfs");
    command
        .arg(root)
        .arg(out)
        .args(["-noappend", "-comp", comp, "-b"])
        .arg(block.to_string())
        .args([
            "-all-root",
            "-no-xattrs",
            "-quiet",
            "-no-progress",
            "-mkfs-time",
        ])
        .arg(epoch.to_string())
        .arg("-all-time")
        .arg(epoch.to_string());
    run(&mut command, "making the squashfs image")
}

fn mkimage_kernel(inputs: &Inputs<'_>, kernel: &Path, out: &Path) -> Result<(), String> {
    let load = inputs
        .target
        .load_address
        .as_deref()
        .unwrap_or("0x80008000");
    let mut command = Command::new("mkimage");
    command
        .args(["-A", inputs.target.uimage_arch.as_deref().unwrap_or("arm")])
        .args([
            "-O", "linux", "-T", "kernel", "-C", "none", "-a", load, "-e", load, "-n",
        ])
        .arg(format!(
            "Linux {} {}",
            inputs.target.suite, inputs.target.arch
        ))
        .arg("-d")
        .arg(kernel)
        .arg(out)
        .env("SOURCE_DATE_EPOCH", inputs.epoch.to_string());
    run(&mut command, "making the kernel uImage")
}

/// `cpio -o -H newc` of every entry under `root`, sorted, owned by root, then `gzip -n`.
fn cpio_gzip(root: &Path, out: &Path) -> Result<(), String> {
    let mut list = String::new();
    for entry in walk(root)? {
        list.push_str(entry.path());
        list.push('\n');
    }
    let cpio = out.with_extension("");
    let file = std::fs::File::create(&cpio)
        .map_err(|err| format!("creating {}: {err}", cpio.display()))?;
    let mut child = Command::new("cpio")
        .args([
            "--create",
            "--format=newc",
            "--owner=0:0",
            "--reproducible",
            "--quiet",
        ])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(file)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("could not start cpio: {err}"))?;
    child
        .stdin
        .take()
        .ok_or("cpio has no standard input")?
        .write_all(list.as_bytes())
        .map_err(|err| format!("writing cpio's file list: {err}"))?;
    let output = child
        .wait_with_output()
        .map_err(|err| format!("waiting for cpio: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "cpio failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    gzip(&cpio, out)
}

/// `gzip -9 -n` (no name, no time stamp) of `input` into `out`.
fn gzip(input: &Path, out: &Path) -> Result<(), String> {
    let file =
        std::fs::File::create(out).map_err(|err| format!("creating {}: {err}", out.display()))?;
    let mut command = Command::new("gzip");
    command.args(["-9", "-n", "-c"]).arg(input).stdout(file);
    let status = command
        .status()
        .map_err(|err| format!("could not start gzip: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`gzip -9 -n -c {}` failed ({status})",
            input.display()
        ))
    }
}

/// ext4 made from the tree with `mke2fs -d`, sized to fit, with a fixed UUID, hash seed and time.
fn mke2fs(inputs: &Inputs<'_>, out: &Path) -> Result<(), String> {
    let bytes: u64 = walk(inputs.rootfs)?
        .iter()
        .filter_map(|entry| match entry {
            Entry::File(path) => std::fs::metadata(inputs.rootfs.join(path))
                .ok()
                .map(|m| m.len()),
            _ => None,
        })
        .sum();
    // Room for metadata, the journal and every small file's block: half again, plus 16 MiB.
    let size_kib = (bytes / 1024) * 3 / 2 + 16 * 1024;
    let _ = std::fs::remove_file(out);
    let uuid = "a5e1d0c4-3c61-4f43-9b1e-0c0451900d11";
    let mut command = Command::new("mke2fs");
    command
        .args([
            "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "rootfs", "-U", uuid, "-E",
        ])
        .arg(format!("root_owner=0:0,hash_seed={uuid}"))
        .arg("-d")
        .arg(inputs.rootfs)
        .arg(out)
        .arg(format!("{size_kib}k"))
        .env("E2FSPROGS_FAKE_TIME", inputs.epoch.to_string());
    run(&mut command, "making the ext4 image")?;
    // `mke2fs -d` copies each file's change time, which no one can set, and its access time,
    // which reading the staging tree moves: set both to the epoch, as every other time in the
    // image is, so the image is reproducible.
    let mut script = String::new();
    let paths = ["/".to_owned(), "/lost+found".to_owned()]
        .into_iter()
        .chain(
            walk(inputs.rootfs)?
                .into_iter()
                .map(|entry| format!("/{}", entry.path())),
        );
    for path in paths {
        for field in ["ctime", "atime"] {
            let _ = writeln!(script, "sif \"{path}\" {field} @{}", inputs.epoch);
        }
    }
    let script_path = inputs.scratch.join("ctime.debugfs");
    std::fs::write(&script_path, script)
        .map_err(|err| format!("writing {}: {err}", script_path.display()))?;
    let mut command = Command::new("debugfs");
    command
        .arg("-w")
        .arg("-f")
        .arg(&script_path)
        .arg(out)
        .env("E2FSPROGS_FAKE_TIME", inputs.epoch.to_string());
    run(&mut command, "setting change times in the ext4 image")
}

/// Concatenates `parts`, each padded with 0xff to a multiple of `erase_block`, as a raw flash dump.
fn flash(parts: &[&Path], erase_block: usize, out: &Path) -> Result<(), String> {
    let mut image = Vec::new();
    for part in parts {
        let bytes =
            std::fs::read(part).map_err(|err| format!("reading {}: {err}", part.display()))?;
        image.extend_from_slice(&bytes);
        let padded = image.len().div_ceil(erase_block) * erase_block;
        image.resize(padded, 0xff);
    }
    std::fs::write(out, image).map_err(|err| format!("writing {}: {err}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = crate::util::root().join("target/xtask-tests").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn pruning_removes_matches_and_the_folders_they_emptied() {
        let root = scratch("prune");
        for file in ["usr/share/doc/a/copyright", "usr/bin/a", "usr/share/a/data"] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        std::fs::create_dir_all(root.join("var/empty")).unwrap();
        prune(&root, &["usr/share/doc/**".to_owned()]).unwrap();
        let left: Vec<String> = walk(&root)
            .unwrap()
            .iter()
            .map(|e| e.path().to_owned())
            .collect();
        assert_eq!(
            left,
            [
                "usr",
                "usr/bin",
                "usr/bin/a",
                "usr/share",
                "usr/share/a",
                "usr/share/a/data",
                "var",
                "var/empty"
            ]
        );
    }

    #[test]
    fn merging_keeps_the_first_package_and_links() {
        let root = scratch("merge");
        let (a, b, into) = (root.join("a"), root.join("b"), root.join("into"));
        std::fs::create_dir_all(a.join("usr/lib")).unwrap();
        std::fs::create_dir_all(b.join("usr/lib")).unwrap();
        std::fs::create_dir_all(&into).unwrap();
        std::fs::write(a.join("usr/lib/x"), b"first").unwrap();
        std::fs::write(b.join("usr/lib/x"), b"second").unwrap();
        std::os::unix::fs::symlink("x", b.join("usr/lib/y")).unwrap();
        merge(&a, &into).unwrap();
        merge(&b, &into).unwrap();
        merged_usr_links(&into).unwrap();
        assert_eq!(std::fs::read(into.join("usr/lib/x")).unwrap(), b"first");
        assert_eq!(
            std::fs::read_link(into.join("usr/lib/y")).unwrap(),
            Path::new("x")
        );
        assert_eq!(
            std::fs::read_link(into.join("lib")).unwrap(),
            Path::new("usr/lib")
        );
        assert!(std::fs::symlink_metadata(into.join("bin")).is_err());
    }

    #[test]
    fn each_packing_has_its_file_name_and_its_tools() {
        let mut names = std::collections::BTreeSet::new();
        for format in Format::ALL {
            let (file, _) = layout(format);
            assert!(!file.is_empty() && !file.contains('/'), "{file}");
            names.insert(file);
        }
        let layouts: Vec<(&str, &str)> = [
            Format::Erofs,
            Format::ErofsSparse,
            Format::Ufs2,
            Format::Iso9660,
        ]
        .into_iter()
        .map(layout)
        .collect();
        assert_eq!(
            layouts,
            [
                ("rootfs.erofs", ""),
                ("system.img", ""),
                ("rootfs.ufs", ""),
                ("rootfs.iso", "")
            ]
        );
        // Every program a packing runs is installed by the heldout xtask from this list.
        let witnesses: Vec<&str> = TOOLS
            .iter()
            .filter_map(|(_, witness)| Path::new(witness).file_name()?.to_str())
            .collect();
        for program in [
            "mksquashfs",
            "mkfs.jffs2",
            "mke2fs",
            "cpio",
            "mkimage",
            "mkfs.erofs",
            "img2simg",
            "makefs",
            "xorriso",
        ] {
            assert!(witnesses.contains(&program), "{program} is not in TOOLS");
        }
        let hint = install_hint("makefs").unwrap();
        assert!(
            hint.contains("apt-get update && apt-get install -y makefs"),
            "{hint}"
        );
        assert_eq!(
            install_hint("img2simg").map(|hint| hint.contains("android-sdk-libsparse-utils")),
            Some(true)
        );
        assert!(install_hint("mkfs.ubifs").is_none());
    }

    #[test]
    fn a_ufs2_image_is_settled() {
        // One cylinder group of 64 1-KiB fragments: the superblock at 8 KiB, its group copy at
        // fragment 16, four inodes from fragment 20.
        let mut image = vec![0u8; 65_536];
        let put = |image: &mut [u8], at: usize, value: u32| {
            image[at..at + 4].copy_from_slice(&value.to_le_bytes());
        };
        let (sb, sblkno, iblkno, fsize) = (8192, 16, 20, 1024);
        for (at, value) in [
            (8, sblkno),
            (16, iblkno),
            (44, 1),
            (52, fsize),
            (184, 4),
            (188, 64),
        ] {
            put(&mut image, sb + at, value);
        }
        put(&mut image, sb + 1372, 0x1954_0119);
        let copy = sblkno as usize * fsize as usize;
        image[sb + 728..sb + 856].fill(0xaa);
        image[copy + 728..copy + 856].fill(0xbb);
        let inodes = iblkno as usize * fsize as usize;
        image[inodes..inodes + 2].copy_from_slice(&0o100_644u16.to_le_bytes());
        image[inodes + 32..inodes + 40].copy_from_slice(&5i64.to_le_bytes());
        image[inodes + 48..inodes + 56].copy_from_slice(&6i64.to_le_bytes());
        image[inodes + 80..inodes + 84].fill(0x11);
        image[inodes + 256 + 80..inodes + 256 + 84].fill(0x22);
        settle_ufs2(&mut image, 1_700_000_000).unwrap();
        assert!(image[sb + 728..sb + 856].iter().all(|&b| b == 0));
        assert!(image[copy + 728..copy + 856].iter().all(|&b| b == 0));
        let epoch = 1_700_000_000i64.to_le_bytes();
        assert_eq!(image[inodes + 32..inodes + 40], epoch, "access time");
        assert_eq!(image[inodes + 48..inodes + 56], epoch, "change time");
        assert_eq!(image[inodes + 80..inodes + 84], [0x11; 4], "in use: kept");
        assert_eq!(image[inodes + 256 + 80..inodes + 256 + 84], [0; 4], "free");

        assert!(
            settle_ufs2(&mut vec![0u8; 70_000], 0)
                .unwrap_err()
                .contains("no little-endian UFS2 superblock")
        );
        let mut cut = image[..inodes + 300].to_vec();
        assert!(
            settle_ufs2(&mut cut, 0)
                .unwrap_err()
                .contains("past the image's end")
        );
    }

    #[test]
    fn flash_parts_are_erase_block_aligned() {
        let root = scratch("flash");
        std::fs::write(root.join("a"), [1u8; 5]).unwrap();
        std::fs::write(root.join("b"), [2u8; 17]).unwrap();
        flash(&[&root.join("a"), &root.join("b")], 16, &root.join("out")).unwrap();
        let out = std::fs::read(root.join("out")).unwrap();
        assert_eq!(out.len(), 48);
        assert_eq!(&out[..6], &[1, 1, 1, 1, 1, 0xff]);
        assert_eq!(&out[16..18], &[2, 2]);
        assert_eq!(out[33], 0xff);
    }
}
