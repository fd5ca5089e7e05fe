//! Every file a command reads or writes goes through here, so every command gets the same rules.
//!
//! Inputs (firmware, SBOMs, envelopes, keys, claims, policies, trust stores):
//! - Only a regular file is read. Its metadata is checked before it is opened, so a FIFO with no
//!   writer never blocks and a device is never opened; it is opened with `O_NONBLOCK | O_NOCTTY`
//!   and checked again on the opened descriptor, in case the path changed in between. A symlink
//!   the user names is followed: only what it leads to must be a regular file.
//! - At most a bound is read ([`Bound`]): a file over it is refused before a byte is read, and a
//!   file that grows while read is cut at the bound and refused.
//! - Each input read is remembered (device and inode) for the rest of the command, on the
//!   thread that runs it.
//!
//! Outputs (`-o`, `--out`, `--report`, keys, links, bundles):
//! - An output that is one of the command's inputs (same device and inode, so also through a
//!   symlink or a hard link), or lies inside an input folder, is refused: `scan IMAGE -o IMAGE`
//!   must not replace the firmware with its SBOM.
//! - An output is written to a new temporary file beside its destination, flushed to disk, then
//!   renamed over it, and the folder is flushed too: a reader sees the old file or the new one,
//!   never a half-written one, and a command that fails leaves the old file as it was. An
//!   existing file is never truncated in place.
//! - A symlink named as the output is followed, so the file it leads to is replaced and the link
//!   stays. Anything that is not a regular file (a folder, `/dev/null`, a FIFO) is refused: a
//!   rename would replace it whole.
//! - A replaced file keeps its permission bits; a new one gets `0666` less the umask, a private
//!   key `0600`.

use std::cell::RefCell;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// How much of one input may be read, and what to say when a file is larger.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound {
    /// The largest size read.
    pub(crate) limit: u64,
    /// What the user can do about a larger file.
    pub(crate) hint: &'static str,
}

impl Bound {
    /// A firmware image to unpack: bounded by `--max-total-bytes`, since the image is held in
    /// memory beside what is unpacked from it.
    pub(crate) fn firmware(limits: &consign_unpack::Limits) -> Self {
        Self {
            limit: limits.max_total_bytes,
            hint: "raise `--max-total-bytes` if the image is genuine and the memory is there",
        }
    }
}

/// Documents: SBOMs, VEX, envelopes, bundles, layouts, links, claims, policies, trust stores.
/// The same bound as the SBOM and in-toto readers' own.
pub(crate) const DOCUMENT: Bound = Bound {
    limit: 64 << 20,
    hint: "a document this large is not one consign reads; check that the path is the right file",
};

/// Key and password files.
pub(crate) const KEY: Bound = Bound {
    limit: 1 << 20,
    hint: "key and password files are a few kilobytes; check that the path is the right file",
};

/// Artifacts that are digested and signed (firmware, components, materials), read whole.
pub(crate) const ARTIFACT: Bound = Bound {
    limit: 4 << 30,
    hint: "artifacts over 4 GiB are not supported yet",
};

/// What identifies a file whatever path leads to it.
#[cfg(unix)]
type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(_path: &Path, meta: &fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

/// Elsewhere, the canonical path: hard links are not recognised.
#[cfg(not(unix))]
type FileId = PathBuf;

#[cfg(not(unix))]
fn file_id(path: &Path, _meta: &fs::Metadata) -> FileId {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// An input of the running command.
#[derive(Clone, Debug)]
struct Input {
    path: PathBuf,
    id: FileId,
    /// For a folder: its canonical path, to refuse outputs inside it.
    folder: Option<PathBuf>,
}

thread_local! {
    /// The inputs of the command running on this thread (see [`for_one_command`]). A command
    /// reads its inputs through [`read`] on the thread that runs it, never from worker threads.
    static INPUTS: RefCell<Vec<Input>> = const { RefCell::new(Vec::new()) };
}

fn remember(input: Input) {
    INPUTS.with_borrow_mut(|inputs| inputs.push(input));
}

/// The input `matches` finds among the running command's, if any.
fn find_input(matches: impl Fn(&Input) -> bool) -> Option<Input> {
    INPUTS.with_borrow(|inputs| inputs.iter().find(|input| matches(input)).cloned())
}

/// Runs one command with its own list of inputs: a command run inside another (the demo runs
/// each step so) neither sees the outer one's inputs nor leaves its own behind.
pub(crate) fn for_one_command<T>(command: impl FnOnce() -> T) -> T {
    let outer = INPUTS.take();
    let out = command();
    INPUTS.set(outer);
    out
}

/// What a file type is, for messages.
fn describe(file_type: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a symlink"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

fn not_regular(path: &Path, file_type: fs::FileType) -> anyhow::Error {
    anyhow::anyhow!(
        "`{}` is {}, not a regular file\n\nhint: give the path of a file; to read a pipe or a device, save what it holds to a file first (for a flash partition: `dd if=/dev/mtd0 of=flash.bin`)",
        path.display(),
        describe(file_type)
    )
}

fn too_large(path: &Path, size: Option<u64>, bound: Bound) -> anyhow::Error {
    let size = size.map_or_else(|| "larger".to_owned(), |size| format!("{size} bytes"));
    anyhow::anyhow!(
        "`{}` is {size}, over the {} bytes read from this input\n\nhint: {}",
        path.display(),
        bound.limit,
        bound.hint
    )
}

/// Opens a regular file to read, without blocking on a FIFO or a device's open, and checks the
/// opened descriptor again.
fn open_regular(path: &Path) -> anyhow::Result<(fs::File, fs::Metadata)> {
    let before = fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if !before.is_file() {
        return Err(not_regular(path, before.file_type()));
    }
    let file =
        open_nonblocking(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if !meta.is_file() {
        return Err(not_regular(path, meta.file_type()));
    }
    Ok((file, meta))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    use rustix::fs::{Mode, OFlags};
    // O_NONBLOCK: should the path have become a FIFO since it was checked, opening it does not
    // wait for a writer (and reading a regular file ignores the flag).
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    Ok(fs::File::from(rustix::fs::open(
        path,
        flags,
        Mode::empty(),
    )?))
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    fs::File::open(path)
}

/// Reads a whole input: a regular file of at most `bound.limit` bytes.
pub(crate) fn read(path: &Path, bound: Bound) -> anyhow::Result<Vec<u8>> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > bound.limit {
        return Err(too_large(path, Some(meta.len()), bound));
    }
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or_default());
    file.take(bound.limit.saturating_add(1))
        .read_to_end(&mut data)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if data.len() as u64 > bound.limit {
        return Err(too_large(path, None, bound));
    }
    remember(Input {
        path: path.to_path_buf(),
        id: file_id(path, &meta),
        folder: None,
    });
    Ok(data)
}

/// Reads a whole input as UTF-8 text.
pub(crate) fn read_to_string(path: &Path, bound: Bound) -> anyhow::Result<String> {
    String::from_utf8(read(path, bound)?)
        .map_err(|err| anyhow::anyhow!("`{}` is not UTF-8 text: {err}", path.display()))
}

/// Checks a path a library will open itself (a shipment): a regular file or a folder, so that
/// a FIFO does not block the library's open and a device is not read. A path that cannot be
/// looked at is left to the library, which says why.
pub(crate) fn check_file_or_folder(path: &Path) -> anyhow::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => Err(not_regular(path, meta.file_type())),
        _ => Ok(()),
    }
}

/// Remembers paths a library reads itself (shipments, images read later) as inputs, so that no
/// output replaces them, or lands inside them when they are folders. A path that cannot be
/// looked at is left to the reader, which says why.
pub(crate) fn note_inputs<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) {
    for path in paths {
        let Ok(meta) = fs::metadata(path) else {
            continue;
        };
        let id = file_id(path, &meta);
        let folder = if meta.is_dir() {
            fs::canonicalize(path).ok()
        } else {
            None
        };
        remember(Input {
            path: path.clone(),
            id,
            folder,
        });
    }
}

/// Whether two paths lead to the same file (through symlinks and hard links). A path that
/// cannot be looked at is nobody's twin.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(meta_a), Ok(meta_b)) => file_id(a, &meta_a) == file_id(b, &meta_b),
        _ => false,
    }
}

/// How an output may be written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output {
    /// Replace an existing file (else refuse it, atomically).
    pub(crate) overwrite: bool,
    /// Permission bits `0600`, whatever the file had (private keys).
    pub(crate) private: bool,
    /// The output may be an input: the command rewrites that file on purpose (`layout sign`
    /// without `--out`).
    pub(crate) may_replace_input: bool,
}

impl Output {
    /// A file that replaces what is at the path, never an input.
    pub(crate) const FILE: Self = Self {
        overwrite: true,
        private: false,
        may_replace_input: false,
    };

    /// Refuses an output path before the command does its work: what [`Output::write`] would
    /// refuse (an input, a folder, a device, an existing file it may not replace).
    pub(crate) fn check(self, path: &Path) -> anyhow::Result<()> {
        self.destination(path).map(drop)
    }

    /// Where the bytes go (a symlink followed) and the permission bits of the file replaced.
    fn destination(self, path: &Path) -> anyhow::Result<(PathBuf, Option<u32>)> {
        let shown = path.display();
        let (target, existing) = match fs::symlink_metadata(path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => (path.to_path_buf(), None),
            Err(err) => return Err(err).with_context(|| format!("cannot write `{shown}`")),
            Ok(meta) if meta.file_type().is_symlink() => {
                // The user's link: the file it leads to is replaced, the link stays.
                let target = fs::canonicalize(path).with_context(|| {
                    format!("`{shown}` is a symlink that leads nowhere\n\nhint: remove it, or give the path it should lead to")
                })?;
                let meta = fs::metadata(&target)
                    .with_context(|| format!("cannot write `{}`", target.display()))?;
                (target, Some(meta))
            }
            Ok(meta) => (path.to_path_buf(), Some(meta)),
        };
        let mut mode = None;
        if let Some(meta) = &existing {
            if !meta.is_file() {
                bail!(
                    "`{shown}` is {}, not a regular file: an output replaces a file whole\n\nhint: give the path of a file; to write to stdout, leave out the output option",
                    describe(meta.file_type())
                );
            }
            let id = file_id(&target, meta);
            if !self.may_replace_input
                && let Some(input) = find_input(|input| input.id == id)
            {
                bail!(
                    "the output `{shown}` is the input `{}`: writing it would destroy the input\n\nhint: choose another output path",
                    input.path.display()
                );
            }
            if !self.overwrite {
                bail!(
                    "{shown} already exists\n\nhint: choose another path, or pass `--force` to overwrite it"
                );
            }
            mode = Some(permissions(meta));
        }
        let folder = parent(&target);
        if !self.may_replace_input
            && let Ok(folder) = fs::canonicalize(folder)
            && let Some(input) = find_input(|input| {
                input
                    .folder
                    .as_ref()
                    .is_some_and(|inside| folder.starts_with(inside))
            })
        {
            bail!(
                "the output `{shown}` is inside the input folder `{}`: writing it would change that input\n\nhint: choose a path outside it",
                input.path.display()
            );
        }
        Ok((target, mode))
    }

    /// Writes `data` to `path` atomically: a temporary file beside it, flushed, renamed over it.
    pub(crate) fn write(self, path: &Path, data: &[u8]) -> anyhow::Result<()> {
        let (target, existing_mode) = self.destination(path)?;
        let folder = parent(&target);
        let name = target.file_name().map_or_else(
            || "output".into(),
            |name| name.to_string_lossy().into_owned(),
        );
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            // The umask applies to a new file's bits, as for any file a program creates.
            let mode = if self.private { 0o600 } else { 0o666 };
            builder.permissions(fs::Permissions::from_mode(mode));
        }
        let mut temporary = builder.tempfile_in(folder).with_context(|| {
            format!(
                "cannot create a temporary file in `{}` to write `{}`",
                folder.display(),
                path.display()
            )
        })?;
        let written = temporary.write_all(data).and_then(|()| {
            set_mode(temporary.as_file(), self.private, existing_mode)?;
            temporary.as_file().sync_all()
        });
        written.with_context(|| format!("cannot write `{}`", path.display()))?;
        if self.overwrite {
            temporary
                .persist(&target)
                .map_err(|err| err.error)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        } else {
            temporary.persist_noclobber(&target).map_err(|err| {
                if err.error.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!(
                        "{} already exists\n\nhint: choose another path, or pass `--force` to overwrite it",
                        path.display()
                    )
                } else {
                    anyhow::Error::new(err.error).context(format!("cannot write `{}`", path.display()))
                }
            })?;
        }
        sync_folder(folder).with_context(|| {
            format!(
                "wrote `{}`, but cannot flush its folder to disk",
                path.display()
            )
        })
    }
}

/// Writes `data` to `path` as [`Output::FILE`]: atomically, never over an input.
pub(crate) fn write(path: &Path, data: impl AsRef<[u8]>) -> anyhow::Result<()> {
    Output::FILE.write(path, data.as_ref())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn permissions(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permissions(_meta: &fs::Metadata) -> u32 {
    0
}

/// The permission bits of the new file: `0600` for a private one, else the replaced file's (a
/// new file keeps what it was created with: `0666` less the umask).
#[cfg(unix)]
fn set_mode(file: &fs::File, private: bool, existing: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = match (private, existing) {
        (true, _) => 0o600,
        (false, Some(mode)) => mode,
        (false, None) => return Ok(()),
    };
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &fs::File, _private: bool, _existing: Option<u32>) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_folder(folder: &Path) -> std::io::Result<()> {
    fs::File::open(folder)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_folder: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_within_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        fs::write(&path, b"12345").unwrap();
        let small = Bound {
            limit: 4,
            hint: "smaller",
        };
        let err = for_one_command(|| read(&path, small)).unwrap_err();
        assert!(format!("{err:#}").contains("over the 4 bytes"), "{err:#}");
        assert_eq!(for_one_command(|| read(&path, DOCUMENT)).unwrap(), b"12345");
        let err = for_one_command(|| read(dir.path(), DOCUMENT)).unwrap_err();
        assert!(format!("{err:#}").contains("is a folder"), "{err:#}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_and_fifos_without_blocking() {
        let err = read(Path::new("/dev/zero"), ARTIFACT).unwrap_err();
        assert!(
            format!("{err:#}").contains("is a character device"),
            "{err:#}"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600)).unwrap();
        let err = read(&fifo, DOCUMENT).unwrap_err();
        assert!(format!("{err:#}").contains("is a FIFO"), "{err:#}");
        let err = Output::FILE.check(Path::new("/dev/null")).unwrap_err();
        assert!(
            format!("{err:#}").contains("is a character device"),
            "{err:#}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_output_is_never_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("image.bin");
        fs::write(&image, b"firmware").unwrap();
        let hard = dir.path().join("hard.bin");
        fs::hard_link(&image, &hard).unwrap();
        let soft = dir.path().join("soft.bin");
        std::os::unix::fs::symlink("image.bin", &soft).unwrap();
        for_one_command(|| {
            read(&image, ARTIFACT).unwrap();
            for output in [&image, &hard, &soft] {
                let err = write(output, b"sbom").unwrap_err();
                assert!(format!("{err:#}").contains("is the input"), "{err:#}");
            }
            // `layout sign` rewrites its layout on purpose.
            let in_place = Output {
                may_replace_input: true,
                ..Output::FILE
            };
            in_place.write(&soft, b"signed").unwrap();
        });
        assert_eq!(fs::read(&image).unwrap(), b"signed");
        assert!(fs::symlink_metadata(&soft).unwrap().is_symlink());
        // The list of inputs belongs to one command.
        write(&image, b"later").unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn nothing_is_written_inside_an_input_folder() {
        let dir = tempfile::tempdir().unwrap();
        let shipment = dir.path().join("shipment");
        fs::create_dir(&shipment).unwrap();
        for_one_command(|| {
            note_inputs([&shipment]);
            let err = write(&shipment.join("report.html"), b"x").unwrap_err();
            assert!(
                format!("{err:#}").contains("inside the input folder"),
                "{err:#}"
            );
            write(&dir.path().join("report.html"), b"x").unwrap();
        });
    }

    #[cfg(unix)]
    #[test]
    fn replaces_whole_files_and_keeps_their_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let before = fs::File::open(&path).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // A new inode: an open reader of the old file still reads it whole.
        let mut old = String::new();
        { before }.read_to_string(&mut old).unwrap();
        assert_eq!(old, "old");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let key = dir.path().join("a.key");
        let private = Output {
            overwrite: false,
            private: true,
            ..Output::FILE
        };
        private.write(&key, b"secret").unwrap();
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let err = private.write(&key, b"again").unwrap_err();
        assert!(format!("{err:#}").contains("already exists"), "{err:#}");
        assert_eq!(fs::read(&key).unwrap(), b"secret");
        // Nothing is left beside the outputs.
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a.key", "out.json"]);
    }
}
