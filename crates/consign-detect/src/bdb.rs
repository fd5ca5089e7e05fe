//! A read-only reader of the records of a Berkeley DB hash database, for rpm's `Packages` before
//! rpm 4.16 (`CentOS` 7, Yocto up to 3.x, older SUSE).
//!
//! From the on-disk format of Berkeley DB 4 and 5 (`dbinc/db_page.h`): a metadata page (page 0:
//! magic `0x061561`, page size, last page), hash pages (type 2 or 13) whose index array holds
//! offsets of items in key, data order, and overflow pages (type 7) that hold, in a chain, an item
//! too large for its page. A file written on a big-endian machine says so by its magic's byte
//! order, and every number in it follows.
//!
//! Limits: only hash databases (not btree or queue ones), no encrypted or checksummed pages (they are
//! refused), no off-page duplicates (skipped). The input is hostile: page numbers are checked
//! against the file, an overflow chain that reaches a page twice stops, and nothing is allocated
//! beyond the file's size.

use consign_model::binary::Endian;

use crate::Damaged;

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

/// Whether `data` starts with a Berkeley DB hash metadata page.
pub(crate) fn is_hash_database(data: &[u8]) -> bool {
    data.get(12..16)
        .is_some_and(|magic| magic == HASH_MAGIC.to_le_bytes() || magic == HASH_MAGIC.to_be_bytes())
}

/// What [`records`] calls for each record: the data item's byte offset, the key, the data.
pub(crate) type Visit<'v> = dyn FnMut(u64, &[u8], &[u8]) + 'v;

/// Calls `each` with every (key, data) record of the hash database in `data`, in page order, with
/// the byte offset of the data item. A damaged page stops the walk with an error after the records
/// before it.
pub(crate) fn records(data: &[u8], each: &mut Visit<'_>) -> Result<(), Damaged> {
    let damaged = |offset: usize, message: String| Damaged {
        offset: offset as u64,
        message,
    };
    let meta = data.get(..PAGE_HEADER + 8).ok_or_else(|| {
        damaged(
            0,
            "berkeley db file shorter than its metadata page".to_owned(),
        )
    })?;
    // The magic's byte order is the file's.
    let order = if meta[12..16] == HASH_MAGIC.to_be_bytes() {
        Endian::Big
    } else if meta[12..16] == HASH_MAGIC.to_le_bytes() {
        Endian::Little
    } else {
        return Err(damaged(
            12,
            "no berkeley db hash magic (0x061561)".to_owned(),
        ));
    };
    // In range: `meta` holds the whole page header.
    let page_size = order.u32(meta, 20).unwrap_or_default() as usize;
    if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
        return Err(damaged(
            20,
            format!("berkeley db page size {page_size} is not a power of two from 512 to 65536"),
        ));
    }
    if meta[24] != 0 {
        return Err(damaged(
            24,
            "berkeley db file is encrypted; its records cannot be read".to_owned(),
        ));
    }
    let pages = data.len() / page_size;
    // Overflow pages read so far, across all records: a page belongs to one item's chain, so a
    // chain reached again (from another record, or from itself) is refused, and the walk's work
    // stays linear in the file even if every record points at the same long chain.
    let mut overflow_seen = vec![false; pages];
    let page = |number: usize| data.get(number * page_size..(number + 1) * page_size);
    for number in 1..pages {
        let Some(bytes) = page(number) else { break };
        let kind = bytes[25];
        if kind != P_HASH && kind != P_HASH_UNSORTED {
            continue;
        }
        let base = number * page_size;
        let entries = usize::from(order.u16(bytes, 20).unwrap_or_default());
        let offsets: Vec<usize> = (0..entries)
            .map_while(|index| order.u16(bytes, PAGE_HEADER + 2 * index))
            .map(usize::from)
            .collect();
        if offsets.len() < entries {
            return Err(damaged(
                base + PAGE_HEADER,
                format!("berkeley db page {number}'s index runs past the page"),
            ));
        }
        // An item runs from its offset to the previous item's (the first to the page's end).
        let item = |index: usize| -> Option<&[u8]> {
            let start = offsets[index];
            let end = if index == 0 {
                page_size
            } else {
                offsets[index - 1]
            };
            bytes.get(start..end).filter(|item| !item.is_empty())
        };
        for pair in (0..entries / 2).map(|pair| 2 * pair) {
            let (Some(key), Some(value)) = (item(pair), item(pair + 1)) else {
                return Err(damaged(
                    base + PAGE_HEADER + 2 * pair,
                    format!("berkeley db page {number} has an item outside it"),
                ));
            };
            let key: &[u8] = match key[0] {
                H_KEYDATA => &key[1..],
                _ => continue,
            };
            let value_offset = (base + offsets[pair + 1]) as u64;
            match value[0] {
                H_KEYDATA => each(value_offset, key, &value[1..]),
                H_OFFPAGE if value.len() >= 12 => {
                    let first = order.u32(value, 4).unwrap_or_default() as usize;
                    let length = order.u32(value, 8).unwrap_or_default() as usize;
                    let whole = overflow(data, page_size, first, length, order, &mut overflow_seen)
                        .map_err(|message| Damaged {
                            offset: value_offset,
                            message,
                        })?;
                    each(value_offset, key, &whole);
                }
                // Duplicates (sorted sets of values) are not how rpm stores headers.
                _ => {}
            }
        }
    }
    Ok(())
}

/// The `length` bytes of an item stored in the chain of overflow pages from `first`; `seen`
/// marks the overflow pages already read in this walk.
fn overflow(
    data: &[u8],
    page_size: usize,
    first: usize,
    length: usize,
    order: Endian,
    seen: &mut [bool],
) -> Result<Vec<u8>, String> {
    if length > data.len() {
        return Err(format!(
            "berkeley db item claims {length} bytes, more than the file holds"
        ));
    }
    let pages = seen.len();
    let mut out = Vec::with_capacity(length);
    let mut number = first;
    while out.len() < length {
        if number == 0 || number >= pages {
            return Err(format!(
                "berkeley db overflow page {number} is outside the file's {pages} pages"
            ));
        }
        if std::mem::replace(&mut seen[number], true) {
            return Err(format!(
                "berkeley db overflow page {number} is reached twice (a loop, or a chain two items share)"
            ));
        }
        let bytes = &data[number * page_size..(number + 1) * page_size];
        if bytes[25] != P_OVERFLOW {
            return Err(format!("berkeley db page {number} is not an overflow page"));
        }
        let used = usize::from(order.u16(bytes, 22).unwrap_or_default());
        let chunk = bytes.get(PAGE_HEADER..PAGE_HEADER + used).ok_or_else(|| {
            format!("berkeley db overflow page {number} claims more bytes than it holds")
        })?;
        out.extend_from_slice(&chunk[..chunk.len().min(length - out.len())]);
        number = order.u32(bytes, 16).unwrap_or_default() as usize;
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const PAGE: usize = 512;

    fn page_header(number: u32, next: u32, entries: u16, offset: u16, kind: u8) -> Vec<u8> {
        let mut page = vec![0u8; PAGE];
        page[8..12].copy_from_slice(&number.to_le_bytes());
        page[16..20].copy_from_slice(&next.to_le_bytes());
        page[20..22].copy_from_slice(&entries.to_le_bytes());
        page[22..24].copy_from_slice(&offset.to_le_bytes());
        page[25] = kind;
        page
    }

    /// A little-endian hash database of 512-byte pages, laid out as Berkeley DB lays one out: one
    /// hash page of (key, value) pairs, values longer than 100 bytes on overflow pages.
    pub(crate) fn make_database(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut meta = vec![0u8; PAGE];
        meta[12..16].copy_from_slice(&HASH_MAGIC.to_le_bytes());
        meta[16..20].copy_from_slice(&9u32.to_le_bytes());
        meta[20..24].copy_from_slice(&(PAGE as u32).to_le_bytes());
        meta[25] = 8;
        let mut overflow_pages: Vec<Vec<u8>> = Vec::new();
        let mut items: Vec<Vec<u8>> = Vec::new();
        for (key, value) in records {
            let mut key_item = vec![H_KEYDATA];
            key_item.extend(key);
            items.push(key_item);
            if value.len() <= 100 {
                let mut item = vec![H_KEYDATA];
                item.extend(value);
                items.push(item);
            } else {
                let first = 2 + overflow_pages.len() as u32;
                let chunks: Vec<&[u8]> = value.chunks(PAGE - PAGE_HEADER).collect();
                for (index, chunk) in chunks.iter().enumerate() {
                    let number = first + index as u32;
                    let next = if index + 1 < chunks.len() {
                        number + 1
                    } else {
                        0
                    };
                    let mut page = page_header(number, next, 1, chunk.len() as u16, P_OVERFLOW);
                    page[PAGE_HEADER..PAGE_HEADER + chunk.len()].copy_from_slice(chunk);
                    overflow_pages.push(page);
                }
                let mut item = vec![H_OFFPAGE, 0, 0, 0];
                item.extend(first.to_le_bytes());
                item.extend((value.len() as u32).to_le_bytes());
                items.push(item);
            }
        }
        let mut hash = page_header(1, 0, items.len() as u16, 0, P_HASH);
        let mut end = PAGE;
        for (index, item) in items.iter().enumerate() {
            end -= item.len();
            hash[end..end + item.len()].copy_from_slice(item);
            hash[PAGE_HEADER + 2 * index..PAGE_HEADER + 2 * index + 2]
                .copy_from_slice(&(end as u16).to_le_bytes());
        }
        let mut out = meta;
        out.extend(hash);
        for page in overflow_pages {
            out.extend(page);
        }
        out
    }

    type Records = Vec<(Vec<u8>, Vec<u8>)>;

    fn all(data: &[u8]) -> Result<Records, Damaged> {
        let mut out = Vec::new();
        records(data, &mut |_, key, value| {
            out.push((key.to_vec(), value.to_vec()));
        })?;
        Ok(out)
    }

    #[test]
    fn reads_inline_and_overflow_records() {
        let large: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
        let records = vec![
            (1u32.to_le_bytes().to_vec(), b"small".to_vec()),
            (2u32.to_le_bytes().to_vec(), large),
        ];
        let data = make_database(&records);
        assert!(is_hash_database(&data));
        assert_eq!(all(&data).unwrap(), records);
    }

    #[test]
    fn hostile_files_are_refused_with_a_place() {
        let large: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
        let data = make_database(&[(vec![1, 0, 0, 0], large.clone())]);
        // Cut: the chain runs past the end.
        let cut = &data[..data.len() - PAGE];
        assert!(all(cut).unwrap_err().message.contains("outside the file"));
        // A chain that loops to its own first page.
        let mut looped = data.clone();
        looped[2 * PAGE + 16..2 * PAGE + 20].copy_from_slice(&2u32.to_le_bytes());
        assert!(all(&looped).unwrap_err().message.contains("twice"));
        // Two records that share one chain: it is read once, then refused.
        let mut shared =
            make_database(&[(vec![1, 0, 0, 0], large.clone()), (vec![2, 0, 0, 0], large)]);
        let second_value = usize::from(u16::from_le_bytes([shared[PAGE + 32], shared[PAGE + 33]]));
        shared[PAGE + second_value + 4..PAGE + second_value + 8]
            .copy_from_slice(&2u32.to_le_bytes());
        let mut read = Vec::new();
        let damaged = records(&shared, &mut |_, key, _| read.push(key.to_vec())).unwrap_err();
        assert_eq!(read, [vec![1, 0, 0, 0]]);
        assert!(damaged.message.contains("twice"), "{damaged:?}");
        // An overflow item that claims more than the file.
        let mut huge = data.clone();
        let item = usize::from(u16::from_le_bytes([huge[PAGE + 28], huge[PAGE + 29]]));
        huge[PAGE + item + 8..PAGE + item + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            all(&huge)
                .unwrap_err()
                .message
                .contains("more than the file")
        );
        // An index entry past the page, encryption, a bad page size, no magic.
        let mut wild = data.clone();
        wild[PAGE + 26..PAGE + 28].copy_from_slice(&600u16.to_le_bytes());
        assert!(all(&wild).is_err());
        let mut encrypted = data.clone();
        encrypted[24] = 1;
        assert_eq!(all(&encrypted).unwrap_err().offset, 24);
        let mut odd = data.clone();
        odd[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(all(&odd).unwrap_err().offset, 20);
        assert!(!is_hash_database(&data[..10]));
        assert!(all(&data[..10]).is_err());
    }
}
