//! The traditional Unix `crypt(3)`: DES, 25 times over a zero block, keyed by the first eight
//! characters of the password (seven bits each), with the 12-bit salt swapping pairs of bits of
//! the expansion E. Written from FIPS 46-3 (the tables) and the Seventh Edition manual's
//! description of the salt; checked against glibc/libxcrypt in the tests.

/// Initial permutation (bit positions from 1, most significant first).
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// Final permutation, the inverse of [`IP`].
const FP: [u8; 64] = [
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30,
    37, 5, 45, 13, 53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
    34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];

/// Expansion of the 32-bit half block to 48 bits.
const E: [u8; 48] = [
    32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18,
    19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];

/// Permutation after the S-boxes.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];

/// Permuted choice 1: 56 key bits out of 64.
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2: 48 round-key bits out of 56.
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotations of the key halves per round.
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// The eight S-boxes, each four rows of sixteen.
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
        11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9,
        1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
        10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
        4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5,
        14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6,
        9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2,
        12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1,
        13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
        10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14,
        2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
        14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
        15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
        12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
        10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
        11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
        8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// The crypt alphabet: `.` is 0, `z` is 63.
pub(crate) const ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Picks the bits of `input` (`width` bits wide) named by `table`, most significant first.
fn permute(input: u64, width: u32, table: &[u8]) -> u64 {
    table.iter().fold(0, |out, &position| {
        (out << 1) | ((input >> (width - u32::from(position))) & 1)
    })
}

fn round_keys(key: u64) -> [u64; 16] {
    let permuted = permute(key, 64, &PC1);
    let mut c = (permuted >> 28) & 0x0fff_ffff;
    let mut d = permuted & 0x0fff_ffff;
    let mut keys = [0u64; 16];
    for (round, shift) in SHIFTS.iter().enumerate() {
        c = ((c << shift) | (c >> (28 - shift))) & 0x0fff_ffff;
        d = ((d << shift) | (d >> (28 - shift))) & 0x0fff_ffff;
        keys[round] = permute((c << 28) | d, 56, &PC2);
    }
    keys
}

/// One DES encryption with the expansion `e` (the standard E, or E with salt swaps).
fn encrypt(block: u64, keys: &[u64; 16], e: &[u8; 48]) -> u64 {
    let permuted = permute(block, 64, &IP);
    let mut left = permuted >> 32;
    let mut right = permuted & 0xffff_ffff;
    for key in keys {
        let expanded = permute(right, 32, e) ^ key;
        let mut substituted = 0u64;
        for (index, sbox) in S.iter().enumerate() {
            let six = (expanded >> (42 - 6 * index)) & 0x3f;
            let row = ((six & 0x20) >> 4) | (six & 1);
            let column = (six >> 1) & 0x0f;
            substituted = (substituted << 4) | u64::from(sbox[(row * 16 + column) as usize]);
        }
        let next = left ^ permute(substituted, 32, &P);
        left = right;
        right = next;
    }
    permute((right << 32) | left, 64, &FP)
}

/// The value of one crypt alphabet character (an unknown character counts as 0, as glibc does
/// for the salt).
fn value(c: u8) -> u8 {
    ALPHABET.iter().position(|&a| a == c).map_or(0, |v| v as u8)
}

/// `crypt(password, salt)` with a two-character salt: 13 characters, the salt first.
pub(crate) fn crypt(password: &[u8], salt: [u8; 2]) -> String {
    let mut key = 0u64;
    for index in 0..8 {
        let c = password.get(index).copied().unwrap_or(0);
        key = (key << 8) | (u64::from(c & 0x7f) << 1);
    }
    let mut e = E;
    let bits = u16::from(value(salt[0])) | (u16::from(value(salt[1])) << 6);
    for bit in 0..12 {
        if bits >> bit & 1 == 1 {
            e.swap(bit, bit + 24);
        }
    }
    let keys = round_keys(key);
    let mut block = 0u64;
    for _ in 0..25 {
        block = encrypt(block, &keys, &e);
    }
    let mut out = String::with_capacity(13);
    out.push(char::from(salt[0]));
    out.push(char::from(salt[1]));
    // 64 bits and two zero bits: eleven characters of six bits, most significant first.
    let wide = u128::from(block) << 2;
    for index in (0..11).rev() {
        out.push(char::from(
            ALPHABET[((wide >> (6 * index)) & 0x3f) as usize],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classic test vector of DES itself (key `133457799BBCDFF1`).
    #[test]
    fn des_matches_the_textbook_vector() {
        let keys = round_keys(0x1334_5779_9BBC_DFF1);
        assert_eq!(
            encrypt(0x0123_4567_89AB_CDEF, &keys, &E),
            0x85E8_1354_0F0A_B405
        );
    }

    /// Reference values from glibc/libxcrypt: `perl -e 'print crypt("test", "ab")'` and the same
    /// with the other pairs.
    #[test]
    fn crypt_matches_libxcrypt() {
        assert_eq!(crypt(b"test", *b"ab"), "abgOeLfPimXQo");
        assert_eq!(crypt(b"admin", *b"Zx"), "Zxhj4oWoF2.zQ");
        assert_eq!(crypt(b"root", *b"./"), "./qKynggNIogA");
        // Only the first eight characters count.
        assert_eq!(crypt(b"12345678longer", *b"9z"), "9zkR2aQutwZAE");
        assert_eq!(crypt(b"", *b"aa"), "aaQSqAReePlq6");
        assert_eq!(crypt(b"xc3511", *b"Ab"), "AbhYvW.JxRflk");
    }
}
