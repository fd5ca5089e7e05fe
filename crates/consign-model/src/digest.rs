//! SHA-256 and SHA-512 digests, printed and parsed as lower-case hex.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

/// A hex string that is not a digest of the expected length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexDigestError {
    /// How many bytes the digest should have.
    pub expected_len: usize,
    /// The rejected text, cut to 80 characters.
    pub text: String,
}

impl fmt::Display for HexDigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a {}-character lower- or upper-case hex digest",
            self.text,
            self.expected_len * 2
        )
    }
}

impl std::error::Error for HexDigestError {}

macro_rules! digest_type {
    ($name:ident, $len:expr, $hasher:ty, $doc:expr) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Hashes `data`.
            pub fn of(data: &[u8]) -> Self {
                Self(<$hasher>::digest(data).into())
            }

            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = HexDigestError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(text, &mut out).map_err(|_| HexDigestError {
                    expected_len: $len,
                    text: text.chars().take(80).collect(),
                })?;
                Ok(Self(out))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_type!(Sha256, 32, sha2::Sha256, "A SHA-256 digest.");
digest_type!(Sha512, 64, sha2::Sha512, "A SHA-512 digest.");

/// The SHA-256 and SHA-512 of the same bytes: SBOMs and attestations carry both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Digests {
    /// SHA-256.
    pub sha256: Sha256,
    /// SHA-512.
    pub sha512: Sha512,
}

impl Digests {
    /// Hashes `data` with both algorithms.
    pub fn of(data: &[u8]) -> Self {
        Self {
            sha256: Sha256::of(data),
            sha512: Sha512::of(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let digests = Digests::of(b"abc");
        assert_eq!(
            digests.sha256.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(digests.sha512.to_hex().starts_with("ddaf35a193617aba"));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let digest = Sha256::of(b"x");
        assert_eq!(digest.to_hex().parse::<Sha256>().unwrap(), digest);
        let err = "abc".parse::<Sha256>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`abc` is not a 64-character lower- or upper-case hex digest"
        );
    }
}
