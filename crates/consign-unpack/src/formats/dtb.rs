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

/// One property: the full path of its node, its name, and where its value lies in the blob.
struct Property {
    node: String,
    name: String,
    value: std::ops::Range<usize>,
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

/// Walks the structure block. Returns the properties and, on damage, where and why it stopped.
fn properties(data: &[u8], header: &Header) -> (Vec<Property>, Option<(usize, &'static str)>) {
    let mut out = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut pos = header.structure.start;
    let strings = data.get(header.strings.clone()).unwrap_or_default();
    loop {
        if pos >= header.structure.end {
            return (
                out,
                Some((pos, "structure block ends without an end token")),
            );
        }
        let Some(token) = u32be(data, pos) else {
            return (out, Some((pos, "structure block is truncated")));
        };
        pos += 4;
        match token {
            1 => {
                let rest = data.get(pos..header.structure.end).unwrap_or_default();
                let Some(len) = rest.iter().position(|&b| b == 0) else {
                    return (out, Some((pos, "node name is not terminated")));
                };
                if path.len() >= MAX_DEPTH {
                    return (out, Some((pos, "nodes are nested more than 64 deep")));
                }
                path.push(c_string(rest.get(..=len).unwrap_or_default()));
                pos = align_up(pos + len + 1, 4).unwrap_or(usize::MAX);
            }
            2 => {
                if path.pop().is_none() {
                    return (out, Some((pos - 4, "end of a node that was never begun")));
                }
            }
            3 => {
                let (Some(len), Some(name_offset)) = (u32be(data, pos), u32be(data, pos + 4))
                else {
                    return (out, Some((pos, "property header is truncated")));
                };
                let start = pos + 8;
                let Some(end) = start
                    .checked_add(len as usize)
                    .filter(|end| *end <= header.structure.end)
                else {
                    return (
                        out,
                        Some((pos, "property value runs past the structure block")),
                    );
                };
                let name = strings
                    .get(name_offset as usize..)
                    .map(c_string)
                    .unwrap_or_default();
                out.push(Property {
                    node: path
                        .iter()
                        .skip(1)
                        .fold(String::new(), |acc, part| format!("{acc}/{part}")),
                    name,
                    value: start..end,
                });
                pos = align_up(end, 4).unwrap_or(usize::MAX);
            }
            4 => {}
            9 => return (out, None),
            _ => return (out, Some((pos - 4, "unknown structure token"))),
        }
    }
}

fn string_value(data: &[u8], props: &[Property], node: &str, name: &str) -> Option<String> {
    let prop = props.iter().find(|p| p.node == node && p.name == name)?;
    Some(c_string(data.get(prop.value.clone())?))
}

fn u32_value(data: &[u8], props: &[Property], node: &str, name: &str) -> Option<u32> {
    let prop = props.iter().find(|p| p.node == node && p.name == name)?;
    u32be(data, prop.value.start)
}

/// A valid header; FIT when it has an `/images` node.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let header = header(data)?;
    if header.total > data.len() {
        return None;
    }
    let (props, _) = properties(data, &header);
    let is_fit = props.iter().any(|p| p.node.starts_with("/images/"));
    let description = if is_fit {
        let images = props
            .iter()
            .filter(|p| {
                p.node.starts_with("/images/")
                    && p.node.matches('/').count() == 2
                    && p.name == "type"
            })
            .count();
        let text = string_value(data, &props, "", "description").unwrap_or_default();
        format!("U-Boot FIT image `{text}`, {images} images")
    } else {
        let model = string_value(data, &props, "", "model")
            .or_else(|| string_value(data, &props, "", "compatible"))
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
    let (props, damage) = properties(data, &header);
    if let Some((offset, why)) = damage {
        listing
            .diagnostics
            .push(Diagnostic::warning("", format!("device tree: {why}")).at(offset as u64));
    }
    let mut end = header.total;
    // External data starts after the blob, aligned to 4.
    let external_base = align_up(header.total, 4).unwrap_or(usize::MAX);
    let mut nodes: Vec<&str> = props
        .iter()
        .filter(|p| p.node.starts_with("/images/") && p.node.matches('/').count() == 2)
        .map(|p| p.node.as_str())
        .collect();
    nodes.dedup();
    for node in nodes {
        let name = node.trim_start_matches('/');
        let range = if let Some(prop) = props.iter().find(|p| p.node == node && p.name == "data") {
            Some(prop.value.clone())
        } else if let Some(size) = u32_value(data, &props, node, "data-size") {
            let start = u32_value(data, &props, node, "data-position")
                .map(|p| p as usize)
                .or_else(|| {
                    u32_value(data, &props, node, "data-offset")
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
        let compression =
            string_value(data, &props, node, "compression").unwrap_or_else(|| "none".into());
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
        listing.entries.push(file(name.to_owned(), contents, None));
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
}
