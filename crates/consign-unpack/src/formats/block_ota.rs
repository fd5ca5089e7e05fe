//! Android block-based OTA packages (Android 5 to 10 devices without A/B partitions, and many
//! Android TV boxes and tablets since): a partition travels as `NAME.new.dat` (brotli-compressed
//! as `NAME.new.dat.br` since Android 8) with `NAME.transfer.list`, the commands that write it.
//!
//! The transfer list is text: its format version (1 to 4), the number of blocks it writes, in
//! version 2 and later two stash figures, then one command a line. `new RANGES` writes the next
//! blocks of the data file to the ranges, `zero RANGES` and `erase RANGES` leave zeros; the others
//! (`move`, `bsdiff`, `imgdiff`, `stash`, `free`) belong to an incremental package, which patches
//! the partition as it was before the update and so cannot be rebuilt from the package alone.
//! `RANGES` is `N,a0,b0,a1,b1,...`: N numbers, pairs of block numbers, each `[a, b)`, 4 KiB blocks.
//!
//! The two files are siblings inside one container (the OTA zip), so the image is derived where
//! a container's files are listed ([`derive`]), not by a format probe: it becomes the file
//! `NAME.img` beside them, under `NAME.new.dat[.br]/android-block-ota@0x0/`, and the data file is
//! not searched again on its own (its blocks are that image's).

use bytes::Bytes;
use consign_model::{Cut, CutReason, Diagnostic, NodeKind, Provenance, VfsNode};

use crate::decompress::Codec;
use crate::fs::FsListing;
use crate::{Budget, Limit};

const BLOCK: u64 = 4096;
/// Real transfer lists are kilobytes; a longer "list" is not one.
const MAX_LIST: usize = 16 << 20;

/// Images derived from the files of one container.
#[derive(Default)]
pub(crate) struct Derived {
    /// The images, as new nodes of the container.
    pub(crate) nodes: Vec<VfsNode>,
    /// Indices (into the container's nodes) of the data files the images were made from.
    pub(crate) consumed: Vec<usize>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) cuts: Vec<Cut>,
}

/// Finds each `NAME.transfer.list` among `nodes` with its `NAME.new.dat` or `NAME.new.dat.br`
/// beside it, and rebuilds the partition image they describe.
pub(crate) fn derive(nodes: &[VfsNode], budget: &Budget) -> Derived {
    let mut derived = Derived::default();
    for list in nodes {
        let Some(prefix) = list.path.strip_suffix(".transfer.list") else {
            continue;
        };
        let Some(list_data) = list.data() else {
            continue;
        };
        let data_file = nodes.iter().enumerate().find(|(_, node)| {
            node.data().is_some()
                && (node.path.strip_prefix(prefix) == Some(".new.dat")
                    || node.path.strip_prefix(prefix) == Some(".new.dat.br"))
        });
        let Some((index, data_node)) = data_file else {
            continue;
        };
        let name = prefix.rsplit('/').next().unwrap_or(prefix);
        let image_name = format!("{name}.img");
        let location = format!("{}/android-block-ota@0x0", data_node.path);
        let mut listing = FsListing::default();
        let data = data_node.data().cloned().unwrap_or_default();
        let image = build(
            list_data,
            data,
            data_node.path.strip_prefix(prefix) == Some(".new.dat.br"),
            budget,
            &mut listing,
        );
        for mut diagnostic in listing.diagnostics {
            diagnostic.location = if diagnostic.location.is_empty() {
                location.clone()
            } else {
                format!("{location}/{}", diagnostic.location)
            };
            derived.diagnostics.push(diagnostic);
        }
        for mut cut in listing.cuts {
            cut.location.clone_from(&location);
            derived.cuts.push(cut);
        }
        let Some(image) = image else {
            continue;
        };
        let mut provenance = data_node.provenance.clone();
        provenance.push(Provenance {
            format: "android-block-ota".to_owned(),
            offset: 0,
            path: Some(image_name.clone()),
        });
        derived.nodes.push(VfsNode {
            path: format!("{location}/{image_name}"),
            provenance,
            kind: NodeKind::File { data: image },
            mode: None,
            mtime: data_node.mtime,
        });
        derived.consumed.push(index);
    }
    derived
}

/// The partition `transfer_list` and `new_data` describe, as a listing of one file `image.img`
/// (none, with the reason, when it cannot be rebuilt): what [`derive`] does for each pair, for
/// tests and fuzz targets.
pub(crate) fn extract(
    transfer_list: &[u8],
    new_data: Bytes,
    brotli: bool,
    budget: &Budget,
) -> FsListing {
    let mut listing = FsListing::default();
    if let Some(image) = build(transfer_list, new_data, brotli, budget, &mut listing) {
        listing.entries.push(super::file("image.img", image, None));
    }
    listing
}

/// One command of a transfer list.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Writes the next blocks of the data file to these ranges.
    New(Vec<(u64, u64)>),
    /// Leaves these ranges zero (`zero`, `erase`).
    Zero(Vec<(u64, u64)>),
}

/// Why a transfer list cannot be followed: the line (1-based) and what is wrong.
type ListError = (usize, String);

fn ranges(text: &str) -> Result<Vec<(u64, u64)>, String> {
    let mut numbers = text.split(',').map(|n| n.trim().parse::<u64>());
    let count = numbers
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| format!("`{text}` is not a range set"))?;
    let values: Vec<u64> = numbers
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{text}` is not a range set"))?;
    if values.len() as u64 != count || count % 2 != 0 {
        return Err(format!(
            "a range set says {count} numbers and has {}",
            values.len()
        ));
    }
    values
        .chunks_exact(2)
        .map(|pair| {
            (pair[0] < pair[1])
                .then_some((pair[0], pair[1]))
                .ok_or_else(|| format!("range {}-{} is empty or reversed", pair[0], pair[1]))
        })
        .collect()
}

fn parse(text: &str) -> Result<Vec<Command>, ListError> {
    let mut lines = text.lines().enumerate();
    let version: u64 = lines
        .next()
        .and_then(|(_, line)| line.trim().parse().ok())
        .filter(|version| (1..=4).contains(version))
        .ok_or((
            1,
            "the first line is not a transfer list version from 1 to 4".to_owned(),
        ))?;
    // The blocks written, and from version 2 on the stash entries and blocks.
    let header_lines = if version == 1 { 1 } else { 3 };
    for _ in 0..header_lines {
        let (at, line) = lines
            .next()
            .ok_or((1, "the header is cut short".to_owned()))?;
        line.trim()
            .parse::<u64>()
            .map_err(|_| (at + 1, format!("`{line}` is not a number")))?;
    }
    let mut commands = Vec::new();
    for (at, line) in lines {
        let mut words = line.split_whitespace();
        let Some(verb) = words.next() else {
            continue;
        };
        let argument = words.next().unwrap_or_default();
        let command = match verb {
            "new" => Command::New(ranges(argument).map_err(|why| (at + 1, why))?),
            "zero" | "erase" => Command::Zero(ranges(argument).map_err(|why| (at + 1, why))?),
            other => {
                return Err((
                    at + 1,
                    format!(
                        "`{other}` patches the partition as it was before the update (an \
                         incremental package)"
                    ),
                ));
            }
        };
        commands.push(command);
    }
    Ok(commands)
}

/// The image, or `None` with the reason in `listing`.
fn build(
    list: &[u8],
    data: Bytes,
    brotli: bool,
    budget: &Budget,
    listing: &mut FsListing,
) -> Option<Bytes> {
    let text = (list.len() <= MAX_LIST)
        .then(|| std::str::from_utf8(list).ok())
        .flatten();
    let Some(text) = text else {
        listing.diagnostics.push(Diagnostic::warning(
            "",
            "the transfer list is not text of at most 16 MiB; the partition is not rebuilt",
        ));
        return None;
    };
    let commands = match parse(text) {
        Ok(commands) => commands,
        Err((line, why)) => {
            listing.cut(
                Diagnostic::warning(
                    "",
                    format!("transfer list line {line}: {why}; the partition is not rebuilt"),
                )
                .with_hint("a full OTA package of the release holds the whole partition"),
                "the partition the transfer list writes",
                CutReason::Unsupported,
            );
            return None;
        }
    };
    let data = if brotli {
        super::inflate(Codec::Brotli, &data, budget, ("new data", 0), listing).data?
    } else {
        data
    };
    let end = commands
        .iter()
        .flat_map(|command| match command {
            Command::New(ranges) | Command::Zero(ranges) => ranges.iter(),
        })
        .map(|&(_, to)| to)
        .max()
        .unwrap_or(0);
    let Some(size) = end.checked_mul(BLOCK) else {
        listing.diagnostics.push(Diagnostic::warning(
            "",
            format!("the transfer list writes block {end}, past any partition"),
        ));
        return None;
    };
    let reservation = match usize::try_from(size)
        .map_err(|_| Limit::FileBytes)
        .and_then(|_| budget.reserve_expansion(size, data.len().max(1) as u64))
    {
        Ok(reservation) => reservation,
        Err(limit) => {
            listing.cut(
                Diagnostic::warning(
                    "",
                    format!("the partition is {size} bytes; not rebuilt: {limit}"),
                )
                .with_hint(limit.hint()),
                format!("the partition ({size} bytes)"),
                limit.into(),
            );
            return None;
        }
    };
    let mut image = vec![0u8; size as usize];
    let mut next = 0usize;
    for command in &commands {
        if let Command::New(ranges) = command {
            for &(from, to) in ranges {
                let (from, to) = ((from * BLOCK) as usize, (to * BLOCK) as usize);
                let Some(source) = data.get(next..next + (to - from)) else {
                    listing.diagnostics.push(Diagnostic::warning(
                        "",
                        format!(
                            "the new data ends at {} bytes, before the blocks the transfer list \
                             writes from it; the partition is not rebuilt",
                            data.len()
                        ),
                    ));
                    return None;
                };
                image[from..to].copy_from_slice(source);
                next += to - from;
            }
        }
    }
    if next != data.len() {
        listing.diagnostics.push(Diagnostic::warning(
            "",
            format!(
                "the transfer list writes {next} bytes of the new data's {}; the rest is not used",
                data.len()
            ),
        ));
    }
    reservation.commit(size);
    Some(Bytes::from(image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    fn node(path: &str, data: &[u8]) -> VfsNode {
        VfsNode {
            path: path.to_owned(),
            provenance: Vec::new(),
            kind: NodeKind::File {
                data: Bytes::copy_from_slice(data),
            },
            mode: None,
            mtime: None,
        }
    }

    fn blocks(fill: &[u8]) -> Vec<u8> {
        fill.iter().flat_map(|&b| [b; 4096]).collect()
    }

    #[test]
    fn new_data_fills_the_ranges_in_command_order() {
        let list = "4\n3\n0\n0\nerase 2,0,5\nnew 4,3,4,0,2\nzero 2,2,3\n";
        let nodes = [
            node("ota.zip/zip@0x0/system.transfer.list", list.as_bytes()),
            node("ota.zip/zip@0x0/system.new.dat", &blocks(b"dab")),
            node("ota.zip/zip@0x0/boot.img", b"other"),
        ];
        let derived = derive(&nodes, &Budget::new(Limits::default()));
        assert!(derived.diagnostics.is_empty(), "{:?}", derived.diagnostics);
        assert_eq!(derived.consumed, [1]);
        let image = &derived.nodes[0];
        assert_eq!(
            image.path,
            "ota.zip/zip@0x0/system.new.dat/android-block-ota@0x0/system.img"
        );
        assert_eq!(image.data().unwrap().as_ref(), blocks(b"ab\0d\0"));
        assert_eq!(image.provenance[0].format, "android-block-ota");
    }

    #[test]
    fn brotli_data_is_decoded_first() {
        // Four blocks of `b`, as Google's brotli 1.2 (its Python module) compresses them at quality 11.
        let compressed = [
            0x1b, 0xff, 0x3f, 0xf8, 0x25, 0xc4, 0xe2, 0xb1, 0x40, 0x20, 0xf7, 0x06, 0x00,
        ];
        let list = "1\n4\nnew 2,0,4\n";
        let nodes = [
            node("x/vendor.transfer.list", list.as_bytes()),
            node("x/vendor.new.dat.br", &compressed),
        ];
        let derived = derive(&nodes, &Budget::new(Limits::default()));
        if let Some(image) = derived.nodes.first() {
            assert_eq!(image.data().unwrap().as_ref(), blocks(b"bbbb"));
        } else {
            panic!("{:?}", derived.diagnostics);
        }
    }

    #[test]
    fn what_cannot_be_rebuilt_says_why() {
        let budget = Budget::new(Limits::default());
        let cases = [
            (
                "3\n1\n0\n0\nbsdiff 0 10 sha sha 2,0,1 1 2,0,1\n",
                "incremental package",
                1,
            ),
            ("9\n", "version from 1 to 4", 1),
            ("4\n1\n0\n0\nnew 3,0,1\n", "says 3 numbers", 1),
            ("4\n1\n0\n0\nnew 2,1,0\n", "empty or reversed", 1),
            ("4\n9\n0\n0\nnew 2,0,9\n", "the new data ends", 0),
            (
                "4\n1\n0\n0\nzero 2,0,18446744073709551615\n",
                "past any partition",
                0,
            ),
            ("4\n1\n0\n0\nzero 2,0,4000000000\n", "not rebuilt", 1),
        ];
        for (list, message, cuts) in cases {
            let nodes = [
                node("s.transfer.list", list.as_bytes()),
                node("s.new.dat", &blocks(b"a")),
            ];
            let derived = derive(&nodes, &budget);
            assert!(derived.nodes.is_empty(), "{list}");
            assert!(
                derived
                    .diagnostics
                    .iter()
                    .any(|d| d.message.contains(message)),
                "{list}: {:?}",
                derived.diagnostics
            );
            assert_eq!(derived.cuts.len(), cuts, "{list}");
        }
        // A list without its data file, or data without its list, is left alone.
        assert!(
            derive(&[node("s.transfer.list", b"4\n0\n0\n0\n")], &budget)
                .nodes
                .is_empty()
        );
        assert!(derive(&[node("s.new.dat", b"x")], &budget).nodes.is_empty());
    }
}
