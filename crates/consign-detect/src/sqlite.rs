//! A read-only reader of the rows of the tables of an SQLite database file, for the package
//! databases that are kept in SQLite (rpm's `rpmdb.sqlite`, FreeBSD pkg's `local.sqlite`), with
//! each table's column names read from its `CREATE TABLE` statement in the schema table.
//!
//! It follows the file format document (<https://www.sqlite.org/fileformat.html>): the 100-byte
//! header, table b-trees (interior pages 0x05, leaf pages 0x0d), cell payloads that spill into
//! chains of overflow pages, and records (a header of serial types, then the values). Only what
//! reading a rowid table needs is here: no index b-trees, no write-ahead log (rows still only in a
//! `-wal` file beside the database are not seen), no free-list.
//!
//! The input is hostile: every page number is checked against the file, a b-tree or an overflow
//! chain that visits a page twice is cut there, and nothing is allocated beyond the file's size.

use consign_model::binary;

use crate::Damaged;

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Deeper table b-trees than this do not exist below terabytes of rows.
const MAX_DEPTH: usize = 40;

/// One column value of a row, as far as callers here need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Null,
    Integer(i64),
    /// A float, kept as its bits: nothing here reads floats.
    Float(u64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// One row of a table.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    /// Byte offset of the row's cell in the file.
    pub(crate) offset: u64,
    /// The row's key. A column declared `INTEGER PRIMARY KEY` is this rowid: its value in the
    /// record is `NULL`.
    pub(crate) rowid: i64,
    pub(crate) values: Vec<Value<'a>>,
}

/// A table as the schema table records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub(crate) root: u32,
    /// Column names in record order, from the table's `CREATE TABLE` statement (which `ALTER
    /// TABLE ... ADD COLUMN` extends at its end, as it adds the value at the end of new records).
    pub(crate) columns: Vec<String>,
}

impl Table {
    /// Where the column `name` is in the table's records.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|column| column.eq_ignore_ascii_case(name))
    }
}

/// The column names of a `CREATE TABLE name (column type ..., ..., table constraint)` statement:
/// the first word of each part between the outer parentheses, unquoted, table constraints left
/// out. A statement this cannot read gives no columns.
fn column_names(sql: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (sql.find('('), sql.rfind(')')) else {
        return Vec::new();
    };
    let Some(body) = sql.get(open + 1..close) else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    let (mut depth, mut start, mut quote) = (0usize, 0usize, None);
    for (at, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '[') => quote = Some(']'),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                parts.push(&body[start..at]);
                start = at + 1;
            }
            // Inside quotes, and every other character.
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
        .into_iter()
        .filter_map(|part| {
            let part = part.trim_start();
            let name = match part.chars().next()? {
                q @ ('"' | '`' | '[') => {
                    let end = if q == '[' { ']' } else { q };
                    part[1..].split(end).next()?
                }
                _ => part.split(|c: char| c.is_whitespace() || c == '(').next()?,
            };
            let constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
                .iter()
                .any(|word| name.eq_ignore_ascii_case(word));
            (!name.is_empty() && !constraint).then(|| name.to_owned())
        })
        .collect()
}

/// A database file.
pub(crate) struct Database<'a> {
    data: &'a [u8],
    page_size: usize,
    /// Page size less the bytes each page reserves at its end.
    usable: usize,
    pages: usize,
}

impl<'a> Database<'a> {
    pub(crate) fn open(data: &'a [u8]) -> Result<Self, Damaged> {
        let header = data.get(..100).ok_or_else(|| Damaged {
            offset: 0,
            message: "sqlite file shorter than its 100-byte header".to_owned(),
        })?;
        if !header.starts_with(MAGIC) {
            return Err(Damaged {
                offset: 0,
                message: "no sqlite header (`SQLite format 3`)".to_owned(),
            });
        }
        let page_size = match binary::u16be(header, 16).unwrap_or_default() {
            1 => 65536,
            size => usize::from(size),
        };
        let reserved = usize::from(header[20]);
        if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
            return Err(Damaged {
                offset: 16,
                message: format!(
                    "sqlite page size {page_size} is not a power of two from 512 to 65536"
                ),
            });
        }
        let usable = page_size.saturating_sub(reserved);
        if usable < 480 {
            return Err(Damaged {
                offset: 20,
                message: format!(
                    "sqlite pages keep {reserved} of {page_size} bytes reserved, leaving fewer than 480"
                ),
            });
        }
        Ok(Self {
            data,
            page_size,
            usable,
            pages: data.len() / page_size,
        })
    }

    /// The root page of the table `name`, from the schema table.
    pub(crate) fn table_root(&self, name: &str) -> Result<Option<u32>, Damaged> {
        Ok(self.table(name)?.map(|table| table.root))
    }

    /// The table `name` as the schema table records it: its root page and its columns.
    pub(crate) fn table(&self, name: &str) -> Result<Option<Table>, Damaged> {
        let mut found = None;
        self.rows(1, &mut |row| {
            // type, name, tbl_name, rootpage, sql
            if let [
                Value::Text(b"table"),
                Value::Text(table),
                _,
                Value::Integer(page),
                rest @ ..,
            ] = row.values.as_slice()
                && *table == name.as_bytes()
                && let Ok(root) = u32::try_from(*page)
            {
                let sql = match rest.first() {
                    Some(Value::Text(sql)) => String::from_utf8_lossy(sql),
                    _ => "".into(),
                };
                found = Some(Table {
                    root,
                    columns: column_names(&sql),
                });
            }
        })?;
        Ok(found)
    }

    /// Calls `each` with every row of the table b-tree rooted at `root`, in rowid order. Rows
    /// whose record cannot be read are skipped; a damaged page stops the walk with an error after
    /// the rows before it.
    pub(crate) fn rows(&self, root: u32, each: &mut dyn FnMut(Row<'_>)) -> Result<(), Damaged> {
        let mut visited = vec![false; self.pages + 1];
        // Pages to read, last first; the depth guards against a b-tree that points back up.
        let mut stack = vec![(root, 0usize)];
        while let Some((number, depth)) = stack.pop() {
            let page = self.page(number, &mut visited)?;
            let base = if number == 1 { 100 } else { 0 };
            let at = |offset: usize| self.offset(number, offset);
            let header = page.get(base..base + 8).ok_or_else(|| Damaged {
                offset: at(base),
                message: "sqlite page ends inside its header".to_owned(),
            })?;
            let cells = usize::from(binary::u16be(header, 3).unwrap_or_default());
            match header[0] {
                0x0d => {
                    for index in 0..cells {
                        let cell = cell_offset(page, base + 8, index).ok_or_else(|| Damaged {
                            offset: at(base + 8 + 2 * index),
                            message: "sqlite cell pointer past the page".to_owned(),
                        })?;
                        let (rowid, payload) = self
                            .leaf_payload(page, cell, &mut visited)
                            .map_err(|message| Damaged {
                                offset: at(cell),
                                message,
                            })?;
                        if let Some(values) = record(&payload) {
                            each(Row {
                                offset: at(cell),
                                rowid,
                                values,
                            });
                        }
                    }
                }
                0x05 => {
                    if depth >= MAX_DEPTH {
                        return Err(Damaged {
                            offset: at(base),
                            message: format!("sqlite b-tree deeper than {MAX_DEPTH} pages"),
                        });
                    }
                    let right = binary::u32be(page, base + 8).ok_or_else(|| Damaged {
                        offset: at(base),
                        message: "sqlite page ends inside its header".to_owned(),
                    })?;
                    stack.push((right, depth + 1));
                    for index in (0..cells).rev() {
                        let child = cell_offset(page, base + 12, index)
                            .and_then(|cell| binary::u32be(page, cell))
                            .ok_or_else(|| Damaged {
                                offset: at(base + 12 + 2 * index),
                                message: "sqlite cell pointer past the page".to_owned(),
                            })?;
                        stack.push((child, depth + 1));
                    }
                }
                kind => {
                    return Err(Damaged {
                        offset: at(base),
                        message: format!(
                            "sqlite page of kind {kind:#04x} where a table b-tree page belongs"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    fn offset(&self, page: u32, within: usize) -> u64 {
        (u64::from(page).saturating_sub(1)) * self.page_size as u64 + within as u64
    }

    /// Page `number` (from 1), once: a page seen before means a loop.
    fn page(&self, number: u32, visited: &mut [bool]) -> Result<&'a [u8], Damaged> {
        let index = number as usize;
        if index == 0 || index > self.pages {
            return Err(Damaged {
                offset: 0,
                message: format!(
                    "sqlite page {number} is outside the file's {} pages",
                    self.pages
                ),
            });
        }
        if std::mem::replace(&mut visited[index], true) {
            return Err(Damaged {
                offset: self.offset(number, 0),
                message: format!("sqlite page {number} is reached twice (a loop)"),
            });
        }
        let start = (index - 1) * self.page_size;
        Ok(&self.data[start..start + self.usable])
    }

    /// The whole payload of the table-leaf cell at `cell`: its local part and its overflow chain.
    fn leaf_payload(
        &self,
        page: &[u8],
        cell: usize,
        visited: &mut [bool],
    ) -> Result<(i64, Vec<u8>), String> {
        let (size, used) = varint(page.get(cell..).unwrap_or_default())
            .ok_or("sqlite cell ends inside its size")?;
        let (rowid, used_rowid) = varint(page.get(cell + used..).unwrap_or_default())
            .ok_or("sqlite cell ends inside its rowid")?;
        let start = cell + used + used_rowid;
        let size = usize::try_from(size)
            .ok()
            .filter(|&size| size <= self.data.len())
            .ok_or("sqlite cell claims more payload than the file holds")?;
        let usable = self.usable;
        // The file format's rule for how much of a table-leaf payload stays on its page.
        let max_local = usable - 35;
        let local = if size <= max_local {
            size
        } else {
            let min_local = (usable - 12) * 32 / 255 - 23;
            let k = min_local + (size - min_local) % (usable - 4);
            if k <= max_local { k } else { min_local }
        };
        let mut payload = page
            .get(start..start + local)
            .ok_or("sqlite cell payload runs past its page")?
            .to_vec();
        let mut next = if local < size {
            binary::u32be(page, start + local)
                .ok_or("sqlite cell ends inside its overflow pointer")?
        } else {
            0
        };
        while payload.len() < size {
            if next == 0 {
                return Err("sqlite overflow chain ends before the payload does".to_owned());
            }
            let overflow = self
                .page(next, visited)
                .map_err(|damaged| damaged.message)?;
            next = binary::u32be(overflow, 0).unwrap_or_default();
            let take = (size - payload.len()).min(usable - 4);
            payload.extend_from_slice(&overflow[4..4 + take]);
        }
        Ok((rowid.cast_signed(), payload))
    }
}

fn cell_offset(page: &[u8], array: usize, index: usize) -> Option<usize> {
    let at = array + 2 * index;
    let offset = usize::from(binary::u16be(page, at)?);
    (offset < page.len()).then_some(offset)
}

/// A record's values; `None` if its header or values run past it.
fn record(payload: &[u8]) -> Option<Vec<Value<'_>>> {
    let (header_size, mut at) = varint(payload)?;
    let header_size = usize::try_from(header_size).ok()?;
    let header = payload.get(..header_size)?;
    let mut body = header_size;
    let mut values = Vec::new();
    while at < header.len() {
        let (serial, used) = varint(&header[at..])?;
        at += used;
        let (len, value): (usize, fn(&[u8]) -> Value<'_>) = match serial {
            0 => (0, |_| Value::Null),
            1..=6 => {
                let len = [1, 2, 3, 4, 6, 8][serial as usize - 1];
                (len, |bytes| {
                    let sign = if bytes[0] & 0x80 != 0 { -1i64 } else { 0 };
                    Value::Integer(bytes.iter().fold(sign, |acc, &b| (acc << 8) | i64::from(b)))
                })
            }
            7 => (8, |bytes| {
                Value::Float(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
            }),
            8 => (0, |_| Value::Integer(0)),
            9 => (0, |_| Value::Integer(1)),
            10 | 11 => return None,
            n if n % 2 == 0 => (usize::try_from((n - 12) / 2).ok()?, |bytes| {
                Value::Blob(bytes)
            }),
            n => (usize::try_from((n - 13) / 2).ok()?, |bytes| {
                Value::Text(bytes)
            }),
        };
        let bytes = payload.get(body..body.checked_add(len)?)?;
        body += len;
        values.push(value(bytes));
    }
    Some(values)
}

/// An SQLite varint (1 to 9 bytes, big-endian, the 9th byte whole) and its length.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().enumerate().take(9) {
        if index == 8 {
            return Some(((value << 8) | u64::from(byte), 9));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn put_varint(out: &mut Vec<u8>, value: u64) {
        assert!(value < 1 << 56, "test helper writes up to 8 bytes");
        let mut groups = vec![(value & 0x7f) as u8];
        let mut rest = value >> 7;
        while rest > 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        out.extend(groups.iter().rev());
    }

    /// A record of TEXT, INTEGER, BLOB and NULL values.
    fn make_record(values: &[Value<'_>]) -> Vec<u8> {
        let mut types = Vec::new();
        let mut body = Vec::new();
        for value in values {
            match value {
                Value::Null => put_varint(&mut types, 0),
                Value::Integer(n) => {
                    put_varint(&mut types, 6);
                    body.extend(n.to_be_bytes());
                }
                Value::Text(text) => {
                    put_varint(&mut types, 13 + 2 * text.len() as u64);
                    body.extend(*text);
                }
                Value::Blob(blob) => {
                    put_varint(&mut types, 12 + 2 * blob.len() as u64);
                    body.extend(*blob);
                }
                Value::Float(_) => unreachable!(),
            }
        }
        let mut out = Vec::new();
        put_varint(&mut out, types.len() as u64 + 1);
        out.extend(types);
        out.extend(body);
        out
    }

    /// A database of 512-byte pages: page 1 the schema (one table `name` rooted at page 2), page 2
    /// a leaf holding `rows`, whose payloads past the page's local limit go to overflow pages.
    pub(crate) fn make_database(name: &str, rows: &[Vec<u8>]) -> Vec<u8> {
        const PAGE: usize = 512;
        let leaf = |base: usize, cells: &[Vec<u8>]| {
            let mut page = vec![0u8; PAGE];
            page[base] = 0x0d;
            page[base + 3..base + 5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
            let mut end = PAGE;
            for (index, cell) in cells.iter().enumerate() {
                end -= cell.len();
                page[end..end + cell.len()].copy_from_slice(cell);
                let pointer = base + 8 + 2 * index;
                page[pointer..pointer + 2].copy_from_slice(&(end as u16).to_be_bytes());
            }
            page
        };
        let schema_row = make_record(&[
            Value::Text(b"table"),
            Value::Text(name.as_bytes()),
            Value::Text(name.as_bytes()),
            Value::Integer(2),
            Value::Text(b"CREATE TABLE ..."),
        ]);
        let mut schema_cell = Vec::new();
        put_varint(&mut schema_cell, schema_row.len() as u64);
        put_varint(&mut schema_cell, 1);
        schema_cell.extend(schema_row);
        let mut first = leaf(100, &[schema_cell]);
        first[..16].copy_from_slice(MAGIC);
        first[16..18].copy_from_slice(&(PAGE as u16).to_be_bytes());
        let usable = PAGE;
        let max_local = usable - 35;
        let min_local = (usable - 12) * 32 / 255 - 23;
        let mut overflow_pages: Vec<Vec<u8>> = Vec::new();
        let mut cells = Vec::new();
        for (rowid, payload) in rows.iter().enumerate() {
            let mut cell = Vec::new();
            put_varint(&mut cell, payload.len() as u64);
            put_varint(&mut cell, rowid as u64 + 1);
            if payload.len() <= max_local {
                cell.extend(payload);
            } else {
                let k = min_local + (payload.len() - min_local) % (usable - 4);
                let local = if k <= max_local { k } else { min_local };
                cell.extend(&payload[..local]);
                let first_overflow = 3 + overflow_pages.len() as u32;
                cell.extend(first_overflow.to_be_bytes());
                let chunks: Vec<&[u8]> = payload[local..].chunks(usable - 4).collect();
                for (index, chunk) in chunks.iter().enumerate() {
                    let mut page = vec![0u8; PAGE];
                    let next = if index + 1 < chunks.len() {
                        first_overflow + index as u32 + 1
                    } else {
                        0
                    };
                    page[..4].copy_from_slice(&next.to_be_bytes());
                    page[4..4 + chunk.len()].copy_from_slice(chunk);
                    overflow_pages.push(page);
                }
            }
            cells.push(cell);
        }
        let mut out = first;
        out.extend(leaf(0, &cells));
        for page in overflow_pages {
            out.extend(page);
        }
        out
    }

    pub(crate) fn blob_row(blob: &[u8]) -> Vec<u8> {
        make_record(&[Value::Null, Value::Blob(blob)])
    }

    fn blobs(data: &[u8]) -> Result<Vec<Vec<u8>>, Damaged> {
        let database = Database::open(data)?;
        let root = database.table_root("Packages")?.expect("table");
        let mut out = Vec::new();
        database.rows(root, &mut |row| {
            if let [Value::Null, Value::Blob(blob)] = row.values.as_slice() {
                out.push(blob.to_vec());
            }
        })?;
        Ok(out)
    }

    #[test]
    fn reads_rows_with_and_without_overflow() {
        let small = b"short blob".to_vec();
        let large: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let data = make_database("Packages", &[blob_row(&small), blob_row(&large)]);
        assert_eq!(blobs(&data).unwrap(), [small, large]);
        let database = Database::open(&data).unwrap();
        assert_eq!(database.table_root("Other").unwrap(), None);
    }

    #[test]
    fn column_names_from_create_table() {
        assert_eq!(
            column_names(
                "CREATE TABLE packages (id INTEGER PRIMARY KEY,origin TEXT NOT NULL, \"name\" TEXT, \
                 [version] TEXT, `desc` TEXT DEFAULT 'a, b', flags INTEGER CHECK (flags IN (1, 2)), \
                 UNIQUE(name), PRIMARY KEY (id), CONSTRAINT c FOREIGN KEY (origin) REFERENCES o(x), \
                 vital INTEGER NOT NULL DEFAULT 0)"
            ),
            ["id", "origin", "name", "version", "desc", "flags", "vital"]
        );
        assert!(column_names("CREATE TABLE broken").is_empty());
        assert!(column_names("").is_empty());
        assert!(column_names(")(").is_empty());
        assert_eq!(column_names("CREATE TABLE t (\"a"), Vec::<String>::new());
        let table = Table {
            root: 2,
            columns: column_names("CREATE TABLE t (Name TEXT, version TEXT)"),
        };
        assert_eq!(table.column("name"), Some(0));
        assert_eq!(table.column("VERSION"), Some(1));
        assert_eq!(table.column("origin"), None);
    }

    #[test]
    fn varints_and_records() {
        assert_eq!(varint(&[0x7f]), Some((0x7f, 1)));
        assert_eq!(varint(&[0x81, 0x00]), Some((0x80, 2)));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81]), None);
        assert_eq!(
            record(&[3, 1, 8, 0xfe]),
            Some(vec![Value::Integer(-2), Value::Integer(0)])
        );
        // A value past the record's end.
        assert_eq!(record(&[2, 0x1b, b'a']), None);
        // Reserved serial types.
        assert_eq!(record(&[2, 10]), None);
    }

    #[test]
    fn hostile_files_are_refused_with_a_place() {
        let large: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let data = make_database("Packages", &[blob_row(&large)]);
        // Truncated: the overflow chain points past the end.
        let cut = &data[..data.len() - 512];
        assert!(blobs(cut).unwrap_err().message.contains("outside the file"));
        // An overflow chain that loops back to its own first page.
        let mut looped = data.clone();
        looped[1024..1028].copy_from_slice(&3u32.to_be_bytes());
        assert!(blobs(&looped).unwrap_err().message.contains("twice"));
        // An interior page whose child is itself.
        let mut cycle = data.clone();
        cycle[512] = 0x05;
        cycle[512 + 3..512 + 5].copy_from_slice(&0u16.to_be_bytes());
        cycle[512 + 8..512 + 12].copy_from_slice(&2u32.to_be_bytes());
        let damaged = blobs(&cycle).unwrap_err();
        assert!(damaged.message.contains("twice"), "{damaged:?}");
        assert_eq!(damaged.offset, 512);
        // A page of another kind, a bad page size, a short file.
        let mut index_page = data.clone();
        index_page[512] = 0x0a;
        assert!(
            blobs(&index_page)
                .unwrap_err()
                .message
                .contains("kind 0x0a")
        );
        let mut odd_size = data.clone();
        odd_size[16..18].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(Database::open(&odd_size).err().unwrap().offset, 16);
        assert!(Database::open(&data[..50]).is_err());
        // A cell that claims more payload than the file holds.
        let mut huge = make_database("Packages", &[blob_row(b"x")]);
        let cell = usize::from(u16::from_be_bytes([huge[512 + 8], huge[512 + 9]]));
        huge[512 + cell..512 + cell + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
        assert!(blobs(&huge).unwrap_err().message.contains("more payload"));
    }
}
