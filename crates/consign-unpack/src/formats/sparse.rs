//! Android sparse images (`img2simg`): a header and chunks (raw, fill, don't care, CRC) that expand
//! to the full partition image. The expanded size is checked against the limits before anything
//! is allocated.

use bytes::Bytes;
use consign_model::Diagnostic;

use crate::Budget;
use crate::binary::{u16le, u32le};
use crate::fs::{FsListing, Probe};

use super::{file, human_size};

const MAGIC: u32 = 0xed26_ff3a;

/// Magic, version 1, the standard header sizes and a block size that is a multiple of 4.
pub(crate) fn probe(data: &[u8]) -> Option<Probe> {
    let ok = u32le(data, 0)? == MAGIC
        && u16le(data, 4)? == 1
        && u16le(data, 8)? >= 28
        && u16le(data, 10)? >= 12
        && u32le(data, 12)? % 4 == 0
        && u32le(data, 12)? != 0;
    if !ok {
        return None;
    }
    let out = u64::from(u32le(data, 12)?) * u64::from(u32le(data, 16)?);
    Some(Probe {
        format: "android-sparse",
        size: None,
        description: format!(
            "Android sparse image, {} chunks, expands to {}",
            u32le(data, 20)?,
            human_size(out)
        ),
    })
}

/// Expands the image into one entry, `image.raw`.
pub(crate) fn extract(data: &Bytes, budget: &Budget) -> FsListing {
    let mut listing = FsListing::default();
    let (Some(header_len), Some(chunk_header_len), Some(block), Some(blocks), Some(chunks)) = (
        u16le(data, 8),
        u16le(data, 10),
        u32le(data, 12),
        u32le(data, 16),
        u32le(data, 20),
    ) else {
        return listing;
    };
    let out_len = u64::from(block) * u64::from(blocks);
    let (bound, bound_limit) = budget.bound(data.len() as u64);
    let reservation = if out_len > bound {
        Err(bound_limit)
    } else {
        budget.reserve(out_len)
    };
    let (reservation, Ok(out_len)) = (
        match reservation {
            Ok(reservation) => reservation,
            Err(limit) => {
                listing.cut(
                    Diagnostic::warning(
                        "",
                        format!(
                            "sparse image would expand to {out_len} bytes; not unpacked: {limit}"
                        ),
                    )
                    .at(12)
                    .with_hint(limit.hint()),
                    format!("the expanded image ({out_len} bytes)"),
                    limit.into(),
                );
                return listing;
            }
        },
        usize::try_from(out_len),
    ) else {
        return listing;
    };
    let mut out = vec![0u8; out_len];
    let mut pos = usize::from(header_len);
    let mut written = 0usize;
    for index in 0..chunks {
        let (Some(kind), Some(chunk_blocks), Some(total)) =
            (u16le(data, pos), u32le(data, pos + 4), u32le(data, pos + 8))
        else {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("sparse image ends before chunk {index} of {chunks}"),
                )
                .at(pos as u64),
            );
            break;
        };
        let body = pos + usize::from(chunk_header_len);
        let Some(span) = (chunk_blocks as usize).checked_mul(block as usize) else {
            break;
        };
        let Some(out_end) = written.checked_add(span).filter(|end| *end <= out_len) else {
            listing.diagnostics.push(
                Diagnostic::warning(
                    "",
                    format!("sparse chunk {index} writes past the stated image size"),
                )
                .at(pos as u64),
            );
            break;
        };
        let target = out.get_mut(written..out_end).unwrap_or_default();
        match kind {
            0xcac1 => {
                let Some(raw) = data.get(body..body.saturating_add(span)) else {
                    listing.diagnostics.push(
                        Diagnostic::warning("", format!("sparse raw chunk {index} is truncated"))
                            .at(pos as u64),
                    );
                    break;
                };
                target.copy_from_slice(raw);
            }
            0xcac2 => {
                let Some(fill) = data.get(body..body + 4) else {
                    break;
                };
                for (i, byte) in target.iter_mut().enumerate() {
                    *byte = fill.get(i % 4).copied().unwrap_or(0);
                }
            }
            0xcac3 | 0xcac4 => {}
            other => {
                listing.diagnostics.push(
                    Diagnostic::warning(
                        "",
                        format!("sparse chunk {index} has unknown type {other:#x}"),
                    )
                    .at(pos as u64),
                );
                break;
            }
        }
        if kind != 0xcac4 {
            written = out_end;
        }
        let Some(next) = pos.checked_add(total as usize).filter(|n| *n > pos) else {
            break;
        };
        pos = next;
    }
    listing.size = Some(pos.min(data.len()) as u64);
    reservation.commit(out.len() as u64);
    listing
        .entries
        .push(file("image.raw", Bytes::from(out), None));
    listing
}
