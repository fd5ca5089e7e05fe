//! The one set of byte-reading helpers every parser of untrusted bytes uses (unpacking, package
//! databases, ELF notes, signature fields, key blobs): fixed-width integers in either byte order at
//! an offset, NUL-padded strings and alignment. Each returns `None` instead of panicking when the
//! field runs past the end of the data or the offset overflows.

/// The byte order of a format's integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// Reads a `u16` at `at`.
    pub fn u16(self, data: &[u8], at: usize) -> Option<u16> {
        let bytes = array(data, at)?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        })
    }

    /// Reads a `u32` at `at`.
    pub fn u32(self, data: &[u8], at: usize) -> Option<u32> {
        let bytes = array(data, at)?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(bytes),
            Endian::Big => u32::from_be_bytes(bytes),
        })
    }

    /// Reads a `u64` at `at`.
    pub fn u64(self, data: &[u8], at: usize) -> Option<u64> {
        let bytes = array(data, at)?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(bytes),
            Endian::Big => u64::from_be_bytes(bytes),
        })
    }

    /// `little-endian` or `big-endian`, for descriptions.
    pub fn name(self) -> &'static str {
        match self {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        }
    }
}

/// The `N` bytes at `at`.
pub fn array<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Reads a little-endian `u16` at `at`.
pub fn u16le(data: &[u8], at: usize) -> Option<u16> {
    Endian::Little.u16(data, at)
}

/// Reads a little-endian `u32` at `at`.
pub fn u32le(data: &[u8], at: usize) -> Option<u32> {
    Endian::Little.u32(data, at)
}

/// Reads a little-endian `u64` at `at`.
pub fn u64le(data: &[u8], at: usize) -> Option<u64> {
    Endian::Little.u64(data, at)
}

/// Reads a big-endian `u16` at `at`.
pub fn u16be(data: &[u8], at: usize) -> Option<u16> {
    Endian::Big.u16(data, at)
}

/// Reads a big-endian `u32` at `at`.
pub fn u32be(data: &[u8], at: usize) -> Option<u32> {
    Endian::Big.u32(data, at)
}

/// Reads a big-endian `u64` at `at`.
pub fn u64be(data: &[u8], at: usize) -> Option<u64> {
    Endian::Big.u64(data, at)
}

/// The text of a NUL-padded field, up to the first NUL, with invalid UTF-8 replaced.
pub fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
}

/// `value` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
pub fn align_up(value: usize, align: usize) -> Option<usize> {
    Some(value.checked_add(align - 1)? & !(align - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_never_panic_past_the_end() {
        let data = [1u8, 2, 3];
        assert_eq!(u16le(&data, 1), Some(0x0302));
        assert_eq!(u16be(&data, 1), Some(0x0203));
        assert_eq!(u32le(&data, 0), None);
        assert_eq!(u32be(&data, usize::MAX), None);
        assert_eq!(u64le(&data, usize::MAX - 2), None);
        assert_eq!(Endian::Big.u64(&[0, 0, 0, 0, 0, 0, 1, 2], 0), Some(0x102));
        assert_eq!(u64be(&[0, 0, 0, 0, 0, 0, 1, 2, 3], 1), Some(0x10203));
        assert_eq!(c_string(b"abc\0def"), "abc");
        assert_eq!(c_string(b"abc"), "abc");
        assert_eq!(align_up(5, 4), Some(8));
        assert_eq!(align_up(usize::MAX, 4), None);
    }
}
