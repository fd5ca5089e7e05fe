//! Flattened device tree blobs and the U-Boot FIT images built on them.
//!
//! A small structure-block parser (devicetree specification, chapter 5) turns the blob into a flat
//! list of nodes and properties. A FIT image is a device tree with an `/images` node; each child's
//! `data` property (or `data-offset`/`data-position` for external data) becomes an entry, inflated
//! when its `compression` property names a supported codec.

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::Budget;
use crate::binary::{align_up, c_string, u32be};
use crate::decompress::Codec;
use crate::fs::{FsListing, Probe};

use super::{file, inflate};

const MAGIC: u32 = 0xd00d_feed;
const MAX_DEPTH: usize = 64;

/// One node: its parent and where its name lies in the blob. Paths are never built: a long name
/// repeated in every descendant's path, or every property's, would multiply the blob's size.
struct Node {
    parent: Option<usize>,
    name: std::ops::Range<usize>,
}

/// One property: its node, where its name (in the strings block) and its value lie in the blob.
struct Property {
    node: usize,
    name: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

/// The structure block, walked once.
struct Tree {
    nodes: Vec<Node>,
    props: Vec<Property>,
}

impl Tree {
    fn node_name<'a>(&self, data: &'a [u8], node: usize) -> &'a [u8] {
        self.nodes
            .get(node)
            .and_then(|n| data.get(n.name.clone()))
            .unwrap_or_default()
    }

    /// Depth of `node`: 0 for the root.
    fn depth(&self, node: usize) -> usize {
        let mut depth = 0;
        let mut at = self.nodes.get(node).and_then(|n| n.parent);
        while let Some(parent) = at {
            depth += 1;
            at = self.nodes.get(parent).and_then(|n| n.parent);
        }
        depth
    }

    /// True for `/images`, the child of the root that holds a FIT image's images.
    fn is_images(&self, data: &[u8], node: usize) -> bool {
        self.nodes.get(node).is_some_and(|n| {
            n.parent
                .is_some_and(|p| self.nodes.get(p).is_some_and(|p| p.parent.is_none()))
        }) && self.node_name(data, node) == b"images"
    }

    /// True for a child of `/images`: one image of a FIT.
    fn is_image(&self, data: &[u8], node: usize) -> bool {
        self.nodes
            .get(node)
            .and_then(|n| n.parent)
            .is_some_and(|p| self.is_images(data, p))
    }

    /// The property `name` of `node` (the root is node 0).
    fn find(&self, data: &[u8], node: usize, name: &str) -> Option<&Property> {
        self.props
            .iter()
            .find(|p| p.node == node && data.get(p.name.clone()) == Some(name.as_bytes()))
    }
}

/// The header fields a parse needs.
struct Header {
    total: usize,
    structure: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
}

fn header(data: &[u8]) -> Option<Header> {
    if u32be(data, 0)? != MAGIC {
        return None;
    }
    let total = u32be(data, 4)? as usize;
    let off_struct = u32be(data, 8)? as usize;
    let off_strings = u32be(data, 12)? as usize;
    let version = u32be(data, 20)?;
    let last_compatible = u32be(data, 24)?;
    let size_strings = u32be(data, 32)? as usize;
    let size_struct = if version >= 17 {
        u32be(data, 36)? as usize
    } else {
        total.checked_sub(off_struct)?
    };
    let structure = off_struct..off_struct.checked_add(size_struct)?;
    let strings = off_strings..off_strings.checked_add(size_strings)?;
    let sane = total >= 40
        && (1..=17).contains(&last_compatible)
        && version >= 16
        && structure.end <= total
        && strings.end <= total;
    sane.then_some(Header {
        total,
        structure,
        strings,
    })
}

/// Walks the structure block. Returns the tree and, on damage, where and why it stopped.
fn properties(data: &[u8], header: &Header) -> (Tree, Option<(usize, &'static str)>) {
    let mut tree = Tree {
        nodes: Vec::new(),
        props: Vec::new(),
    };
    let mut open: Vec<usize> = Vec::new();
    let mut pos = header.structure.start;
    let strings = header.strings.clone();
    loop {
        if pos >= header.structure.end {
            return (
                tree,
                Some((pos, "structure block ends without an end token")),
            );
        }
        let Some(token) = u32be(data, pos) else {
            return (tree, Some((pos, "structure block is truncated")));
        };
        pos += 4;
        match token {
            1 => {
                let rest = data.get(pos..header.structure.end).unwrap_or_default();
                let Some(len) = rest.iter().position(|&b| b == 0) else {
                    return (tree, Some((pos, "node name is not terminated")));
                };
                if open.len() >= MAX_DEPTH {
                    return (tree, Some((pos, "nodes are nested more than 64 deep")));
                }
                tree.nodes.push(Node {
                    parent: open.last().copied(),
                    name: pos..pos + len,
                });
                open.push(tree.nodes.len() - 1);
                pos = align_up(pos + len + 1, 4).unwrap_or(usize::MAX);
            }
            2 => {
                if open.pop().is_none() {
                    return (tree, Some((pos - 4, "end of a node that was never begun")));
                }
            }
            3 => {
                let (Some(len), Some(name_offset)) = (u32be(data, pos), u32be(data, pos + 4))
                else {
                    return (tree, Some((pos, "property header is truncated")));
                };
                let start = pos + 8;
                let Some(end) = start
                    .checked_add(len as usize)
                    .filter(|end| *end <= header.structure.end)
                else {
                    return (
                        tree,
                        Some((pos, "property value runs past the structure block")),
                    );
                };
                let Some(&node) = open.last() else {
                    return (tree, Some((pos - 4, "property outside any node")));
                };
                let name_start = strings.start.saturating_add(name_offset as usize);
                let name = data
                    .get(name_start..strings.end.min(data.len()))
                    .and_then(|rest| rest.iter().position(|&b| b == 0))
                    .map_or(0..0, |len| name_start..name_start + len);
                tree.props.push(Property {
                    node,
                    name,
                    value: start..end,
                });
                pos = align_up(end, 4).unwrap_or(usize::MAX);
            }
            4 => {}
            9 => return (tree, None),
            _ => return (tree, Some((pos - 4, "unknown structure token"))),
        }
    }
}

fn string_value(data: &[u8], tree: &Tree, node: usize, name: &str) -> Option<String> {
    let prop = tree.find(data, node, name)?;
    Some(c_string(data.get(prop.value.clone())?))
}

/// True when `node` is `/images` or below it.
fn under_images(tree: &Tree, data: &[u8], node: usize) -> bool {
    let mut at = Some(node);
    while let Some(node) = at {
        if tree.is_images(data, node) {
            return true;
        }
        at = tree.nodes.get(node).and_then(|n| n.parent);
    }
    false
}

/// The properties of one FIT image that say where its data is and how it is compressed.
#[derive(Default)]
struct Image {
    data: Option<std::ops::Range<usize>>,
    size: Option<u32>,
    position: Option<u32>,
    offset: Option<u32>,
    compression: Option<String>,
}

/// A valid header; FIT when it has an `/images` node.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let header = header(data)?;
    if header.total > data.len() {
        return None;
    }
    let (tree, _) = properties(data, &header);
    let is_fit = tree
        .props
        .iter()
        .any(|p| tree.depth(p.node) >= 2 && under_images(&tree, data, p.node));
    let description = if is_fit {
        let images = tree
            .props
            .iter()
            .filter(|p| {
                tree.is_image(data, p.node) && data.get(p.name.clone()) == Some(b"type".as_slice())
            })
            .count();
        let text = string_value(data, &tree, 0, "description").unwrap_or_default();
        format!("U-Boot FIT image `{text}`, {images} images")
    } else {
        let model = string_value(data, &tree, 0, "model")
            .or_else(|| string_value(data, &tree, 0, "compatible"))
            .unwrap_or_default();
        format!("device tree blob `{model}`")
    };
    Some(Probe {
        format: if is_fit { "fit" } else { "dtb" },
        size: Some(header.total as u64),
        description,
    })
}

/// Lists a FIT image's images (plain device trees have no entries).
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let Some(header) = header(data) else {
        return listing;
    };
    let (tree, damage) = properties(data, &header);
    if let Some((offset, why)) = damage {
        listing
            .diagnostics
            .push(Diagnostic::warning("", format!("device tree: {why}")).at(offset as u64));
    }
    let mut end = header.total;
    // External data starts after the blob, aligned to 4.
    let external_base = align_up(header.total, 4).unwrap_or(usize::MAX);
    // One pass over the properties, each image's in one place: lookups are not per image.
    let mut images: Vec<(usize, Image)> = Vec::new();
    let mut index: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for prop in &tree.props {
        if !tree.is_image(data, prop.node) {
            continue;
        }
        let slot = *index.entry(prop.node).or_insert_with(|| {
            images.push((prop.node, Image::default()));
            images.len() - 1
        });
        let Some((_, image)) = images.get_mut(slot) else {
            continue;
        };
        let value = || u32be(data, prop.value.start);
        match data.get(prop.name.clone()).unwrap_or_default() {
            b"data" => image.data = image.data.take().or(Some(prop.value.clone())),
            b"data-size" => image.size = image.size.or_else(value),
            b"data-position" => image.position = image.position.or_else(value),
            b"data-offset" => image.offset = image.offset.or_else(value),
            b"compression" => {
                image.compression = image
                    .compression
                    .take()
                    .or_else(|| data.get(prop.value.clone()).map(c_string));
            }
            _ => {}
        }
    }
    for (node, image) in images {
        let name = format!(
            "images/{}",
            String::from_utf8_lossy(tree.node_name(data, node))
        );
        let range = if let Some(range) = image.data {
            Some(range)
        } else if let Some(size) = image.size {
            let start = image.position.map(|p| p as usize).or_else(|| {
                image
                    .offset
                    .and_then(|o| external_base.checked_add(o as usize))
            });
            start.and_then(|s| Some(s..s.checked_add(size as usize)?))
        } else {
            None
        };
        let Some(range) = range else {
            listing.diagnostics.push(Diagnostic::warning(
                "",
                format!("FIT image `{name}` has no data"),
            ));
            continue;
        };
        if range.end > data.len() {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("FIT image `{name}` data runs past the end of the input"),
                )
                .at(range.start as u64),
            );
            continue;
        }
        end = end.max(range.end);
        let raw = data.slice(range.clone());
        let compression = image.compression.unwrap_or_else(|| "none".into());
        let codec = match compression.as_str() {
            "none" => None,
            "gzip" => Some(Codec::Gzip),
            "bzip2" => Some(Codec::Bzip2),
            "lzma" => Some(Codec::LzmaAlone),
            "lz4" => Some(Codec::Lz4Frame),
            "zstd" => Some(Codec::Zstd),
            other => {
                listing.diagnostics.push(Diagnostic::warning(
                    "",
                    format!("FIT image `{name}` uses compression `{other}`, which is not supported; kept compressed"),
                ));
                None
            }
        };
        let contents = match codec {
            Some(codec) => {
                let inflated = inflate(
                    codec,
                    &raw,
                    budget,
                    (&format!("FIT image `{name}`"), range.start as u64),
                    &mut listing,
                );
                inflated.data.unwrap_or(raw)
            }
            None => raw,
        };
        listing.entries.push(file(name, contents, None));
    }
    listing.size = Some(end as u64);
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn truncated_header_is_rejected() {
        let mut data = vec![0u8; 40];
        data[..4].copy_from_slice(&MAGIC.to_be_bytes());
        data[4..8].copy_from_slice(&1000u32.to_be_bytes());
        assert!(probe(&data).is_none());
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert!(listing.entries.is_empty());
    }

    /// A blob of `structure` tokens with `strings`, version 17.
    fn blob(structure: &[u8], strings: &[u8]) -> Vec<u8> {
        let off_struct = 40u32;
        let off_strings = off_struct + structure.len() as u32;
        let total = off_strings + strings.len() as u32;
        let mut out = Vec::new();
        for field in [
            MAGIC,
            total,
            off_struct,
            off_strings,
            40,
            17,
            16,
            0,
            strings.len() as u32,
            structure.len() as u32,
        ] {
            out.extend(field.to_be_bytes());
        }
        out.extend_from_slice(structure);
        out.extend_from_slice(strings);
        out
    }

    fn begin(out: &mut Vec<u8>, name: &[u8]) {
        out.extend(1u32.to_be_bytes());
        out.extend_from_slice(name);
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
    }

    fn prop(out: &mut Vec<u8>, name_offset: u32, value: &[u8]) {
        out.extend(3u32.to_be_bytes());
        out.extend((value.len() as u32).to_be_bytes());
        out.extend(name_offset.to_be_bytes());
        out.extend_from_slice(value);
        out.resize(out.len().next_multiple_of(4), 0);
    }

    /// Images of a FIT come out with their data, each property looked at once.
    #[test]
    fn fit_images_come_out() {
        let strings = b"description\0data\0compression\0type\0";
        let mut s = Vec::new();
        begin(&mut s, b"");
        prop(&mut s, 0, b"two images\0");
        begin(&mut s, b"images");
        for (name, body) in [(&b"kernel-1"[..], &b"KERNEL"[..]), (b"fdt-1", b"FDT!")] {
            begin(&mut s, name);
            prop(&mut s, 29, b"kernel\0");
            prop(&mut s, 17, b"none\0");
            prop(&mut s, 12, body);
            s.extend(2u32.to_be_bytes());
        }
        s.extend(2u32.to_be_bytes());
        s.extend(2u32.to_be_bytes());
        s.extend(9u32.to_be_bytes());
        let data = blob(&s, strings);
        let probed = probe(&data).unwrap();
        assert_eq!(probed.format, "fit");
        assert_eq!(
            probed.description,
            "U-Boot FIT image `two images`, 2 images"
        );
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        assert_eq!(listing.diagnostics, Vec::new());
        let files: Vec<_> = listing
            .entries
            .iter()
            .map(|e| (e.path.as_str(), e.kind.clone()))
            .collect();
        assert_eq!(
            files,
            [
                (
                    "images/kernel-1",
                    consign_model::NodeKind::File {
                        data: Bytes::from_static(b"KERNEL")
                    }
                ),
                (
                    "images/fdt-1",
                    consign_model::NodeKind::File {
                        data: Bytes::from_static(b"FDT!")
                    }
                ),
            ]
        );
    }

    /// A 512 KiB node name and 100,000 properties under it: a path per property was 50 GB, and a
    /// lookup per image over every property quadratic. Nothing is copied per property now.
    #[test]
    fn long_names_and_many_properties_cost_nothing_per_property() {
        let strings = b"x\0";
        let mut s = Vec::new();
        begin(&mut s, b"");
        begin(&mut s, b"images");
        begin(&mut s, &vec![b'n'; 512 << 10]);
        for _ in 0..100_000 {
            prop(&mut s, 0, b"");
        }
        s.extend(2u32.to_be_bytes());
        for i in 0..20_000 {
            begin(&mut s, format!("i{i}").as_bytes());
            prop(&mut s, 0, b"");
            s.extend(2u32.to_be_bytes());
        }
        s.extend(2u32.to_be_bytes());
        s.extend(2u32.to_be_bytes());
        s.extend(9u32.to_be_bytes());
        let data = blob(&s, strings);
        assert_eq!(probe(&data).unwrap().format, "fit");
        let listing = extract(&Bytes::from(data), &Budget::new(Limits::default()));
        // Every image lacks data, and says so.
        assert_eq!(listing.diagnostics.len(), 20_001);
    }
}
