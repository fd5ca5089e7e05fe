//! Just enough DER (ITU-T X.690) to read what a key or certificate is: tag-length-value items,
//! integers' bit lengths, object identifiers and times. Every length is checked against the bytes
//! that remain; indefinite lengths and lengths over four bytes are refused.

/// One DER item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Item<'a> {
    /// The identifier octet (`0x30` for a SEQUENCE).
    pub(crate) tag: u8,
    /// The contents.
    pub(crate) body: &'a [u8],
}

pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;

/// Reads one item from the front of `data`: the item and what follows it.
pub(crate) fn read(data: &[u8]) -> Option<(Item<'_>, &[u8])> {
    let (&tag, rest) = data.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers never occur in keys and certificates
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (length, &rest[count..])
    };
    if rest.len() < length {
        return None;
    }
    Some((
        Item {
            tag,
            body: &rest[..length],
        },
        &rest[length..],
    ))
}

/// Reads one item that must have `tag`.
pub(crate) fn expect(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (item, rest) = read(data)?;
    (item.tag == tag).then_some((item.body, rest))
}

/// The items of a constructed body, at most `max`.
pub(crate) fn items(mut body: &[u8], max: usize) -> Option<Vec<Item<'_>>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        if out.len() == max {
            return None;
        }
        let (item, rest) = read(body)?;
        out.push(item);
        body = rest;
    }
    Some(out)
}

/// The bit length of an unsigned big-endian integer (leading zero bytes ignored).
pub(crate) fn bit_length(integer: &[u8]) -> usize {
    let mut bytes = integer;
    while let Some((&0, rest)) = bytes.split_first() {
        bytes = rest;
    }
    match bytes.first() {
        None => 0,
        Some(&top) => (bytes.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

/// A small INTEGER's value.
pub(crate) fn small_integer(body: &[u8]) -> Option<u64> {
    if body.is_empty() || body.len() > 8 {
        return None;
    }
    Some(body.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

/// An object identifier in dotted form (`1.2.840.113549.1.1.1`).
pub(crate) fn oid(body: &[u8]) -> Option<String> {
    let (&first, rest) = body.split_first()?;
    let mut out = format!(
        "{}.{}",
        (first / 40).min(2),
        first - 40 * (first / 40).min(2)
    );
    let mut value: u64 = 0;
    for &b in rest {
        value = value.checked_mul(128)? | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            out.push('.');
            out.push_str(&value.to_string());
            value = 0;
        }
    }
    Some(out)
}

/// A `UTCTime` or `GeneralizedTime` as `(year, month, day)`.
pub(crate) fn date(item: Item<'_>) -> Option<(u16, u8, u8)> {
    let text = std::str::from_utf8(item.body).ok()?;
    let digits = |s: &str| -> Option<u16> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, rest) = match item.tag {
        UTC_TIME => {
            let two = digits(text.get(..2)?)?;
            (
                if two >= 50 { 1900 + two } else { 2000 + two },
                text.get(2..)?,
            )
        }
        GENERALIZED_TIME => (digits(text.get(..4)?)?, text.get(4..)?),
        _ => return None,
    };
    let month = digits(rest.get(..2)?)?;
    let day = digits(rest.get(2..4)?)?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some((year, month as u8, day as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_lengths_and_oids() {
        let (item, rest) = read(&[0x30, 0x03, 0x02, 0x01, 0x05, 0xff]).unwrap();
        assert_eq!(
            (item.tag, item.body, rest),
            (SEQUENCE, &[2u8, 1, 5][..], &[0xffu8][..])
        );
        assert_eq!(
            oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]).unwrap(),
            "1.2.840.113549.1.1.1"
        );
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01]), 1);
        assert!(read(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(read(&[0x30, 0x82, 0xff, 0xff]).is_none());
        assert!(read(&[0x30, 0x80]).is_none());
        let time = Item {
            tag: UTC_TIME,
            body: b"491231235959Z",
        };
        assert_eq!(date(time), Some((2049, 12, 31)));
        let time = Item {
            tag: GENERALIZED_TIME,
            body: b"99991231235959Z",
        };
        assert_eq!(date(time), Some((9999, 12, 31)));
    }
}
