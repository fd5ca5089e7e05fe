//! Password hashes as `crypt(3)` writes them, and checking a candidate password against one.
//!
//! Tested schemes: DES (13 characters), MD5-crypt (`$1$`, and Apache's `$apr1$`), SHA-256-crypt
//! (`$5$`) and SHA-512-crypt (`$6$`, both through `RustCrypto`'s `sha-crypt`). Recognised but not
//! tested against candidates (too costly to try a list on, and never a default of the
//! toolchains that ship DES or MD5): bcrypt (`$2?$`), yescrypt (`$y$`), scrypt (`$7$`),
//! gost-yescrypt (`$gy$`), SHA-1-crypt (`$sha1$`), `BSDi` extended DES (`_`).

mod des;

use md5::{Digest as _, Md5};

/// What kind of hash a password field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Scheme {
    /// Traditional DES crypt: eight characters at most, 12-bit salt.
    Des,
    /// `BSDi` extended DES (`_`).
    BsdiDes,
    /// MD5-crypt (`$1$`) or Apache's variant (`$apr1$`).
    Md5,
    /// bcrypt (`$2a$`, `$2b$`, `$2y$`).
    Bcrypt,
    /// SHA-256-crypt (`$5$`).
    Sha256,
    /// SHA-512-crypt (`$6$`).
    Sha512,
    /// yescrypt, gost-yescrypt or scrypt (`$y$`, `$gy$`, `$7$`).
    Yescrypt,
    /// Something else that starts with `$`.
    Other,
}

impl Scheme {
    /// The name used in findings.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Des => "DES crypt",
            Self::BsdiDes => "BSDi extended DES crypt",
            Self::Md5 => "MD5-crypt",
            Self::Bcrypt => "bcrypt",
            Self::Sha256 => "SHA-256-crypt",
            Self::Sha512 => "SHA-512-crypt",
            Self::Yescrypt => "yescrypt",
            Self::Other => "an unknown scheme",
        }
    }

    /// DES and MD5 crypt: fast enough to brute-force on one graphics card, and DES only ever
    /// sees eight characters.
    pub(crate) fn is_weak(self) -> bool {
        matches!(self, Self::Des | Self::BsdiDes | Self::Md5)
    }
}

/// The scheme of a crypt hash, or `None` when `hash` is not one.
pub(crate) fn scheme(hash: &str) -> Option<Scheme> {
    if hash.len() == 13 && hash.bytes().all(|b| des::ALPHABET.contains(&b)) {
        return Some(Scheme::Des);
    }
    if hash.len() == 20 && hash.starts_with('_') {
        return Some(Scheme::BsdiDes);
    }
    let prefix = hash.strip_prefix('$')?.split('$').next()?;
    Some(match prefix {
        "1" | "apr1" => Scheme::Md5,
        "2" | "2a" | "2b" | "2x" | "2y" => Scheme::Bcrypt,
        "5" => Scheme::Sha256,
        "6" => Scheme::Sha512,
        "y" | "gy" | "7" => Scheme::Yescrypt,
        _ => Scheme::Other,
    })
}

/// What checking one password cost, so a hostile image cannot make the audit hash forever.
pub(crate) fn cost(hash: &str) -> u64 {
    match scheme(hash) {
        Some(Scheme::Des) => 1,
        Some(Scheme::Md5) => 2,
        Some(Scheme::Sha256 | Scheme::Sha512) => sha_rounds(hash).0 as u64 / 500,
        _ => 0,
    }
}

/// The rounds a SHA-crypt hash asks for (clamped as glibc clamps them) and the rest of the
/// setting after `rounds=N$`.
fn sha_rounds(hash: &str) -> (usize, &str) {
    let body = hash.get(3..).unwrap_or_default();
    if let Some(rest) = body.strip_prefix("rounds=")
        && let Some((number, rest)) = rest.split_once('$')
    {
        let rounds = number.parse::<usize>().unwrap_or(usize::MAX);
        return (rounds.clamp(1_000, 999_999_999), rest);
    }
    (5_000, body)
}

/// True when `password` hashes to `hash`. Schemes that are not tested never match.
pub(crate) fn matches(password: &str, hash: &str) -> bool {
    let computed = match scheme(hash) {
        Some(Scheme::Des) => {
            let salt = [hash.as_bytes()[0], hash.as_bytes()[1]];
            Some(des::crypt(password.as_bytes(), salt))
        }
        Some(Scheme::Md5) => md5_crypt(password, hash),
        Some(Scheme::Sha256 | Scheme::Sha512) => sha_crypt(password, hash),
        _ => None,
    };
    computed.is_some_and(|computed| computed == hash)
}

/// SHA-crypt: `$5$[rounds=N$]salt$hash` or `$6$…`.
fn sha_crypt(password: &str, hash: &str) -> Option<String> {
    let sha512 = hash.starts_with("$6$");
    let (rounds, rest) = sha_rounds(hash);
    let (salt, _) = rest.rsplit_once('$')?;
    // glibc reads at most 16 salt characters.
    let salt: String = salt.chars().take(16).collect();
    let encoded = if sha512 {
        let params = sha_crypt::Sha512Params::new(rounds).ok()?;
        sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params).ok()?
    } else {
        let params = sha_crypt::Sha256Params::new(rounds).ok()?;
        sha_crypt::sha256_crypt_b64(password.as_bytes(), salt.as_bytes(), &params).ok()?
    };
    let prefix = &hash[..hash.len() - hash.rsplit('$').next()?.len()];
    Some(format!("{prefix}{encoded}"))
}

/// MD5-crypt as Poul-Henning Kamp defined it for FreeBSD (magic `$1$`), and Apache's variant
/// (magic `$apr1$`), from the algorithm's description.
fn md5_crypt(password: &str, hash: &str) -> Option<String> {
    let magic = if hash.starts_with("$apr1$") {
        "$apr1$"
    } else {
        "$1$"
    };
    let rest = hash.strip_prefix(magic)?;
    let salt = rest.split('$').next()?;
    let salt = salt.get(..salt.len().min(8))?;
    let pw = password.as_bytes();

    let alternate = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut context = Md5::new()
        .chain_update(pw)
        .chain_update(magic)
        .chain_update(salt);
    let mut left = pw.len();
    while left > 0 {
        context.update(&alternate[..left.min(16)]);
        left = left.saturating_sub(16);
    }
    let mut bits = pw.len();
    while bits != 0 {
        if bits & 1 == 1 {
            context.update([0u8]);
        } else {
            context.update(&pw[..1]);
        }
        bits >>= 1;
    }
    let mut digest = context.finalize();
    for round in 0..1000 {
        let mut next = Md5::new();
        if round & 1 == 1 {
            next.update(pw);
        } else {
            next.update(digest);
        }
        if round % 3 != 0 {
            next.update(salt);
        }
        if round % 7 != 0 {
            next.update(pw);
        }
        if round & 1 == 1 {
            next.update(digest);
        } else {
            next.update(pw);
        }
        digest = next.finalize();
    }
    let mut out = format!("{magic}{salt}$");
    let groups = [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)];
    for (a, b, c) in groups {
        let value =
            (u32::from(digest[a]) << 16) | (u32::from(digest[b]) << 8) | u32::from(digest[c]);
        push64(&mut out, value, 4);
    }
    push64(&mut out, u32::from(digest[11]), 2);
    Some(out)
}

/// `count` characters of `value`, least significant six bits first.
fn push64(out: &mut String, mut value: u32, count: usize) {
    for _ in 0..count {
        out.push(char::from(des::ALPHABET[(value & 0x3f) as usize]));
        value >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each hash was made by glibc/libxcrypt (`python3 -c 'import crypt; print(crypt.crypt(PW,
    /// SALT))'`) or, for `$apr1$`, by `openssl passwd -apr1`.
    #[test]
    fn every_tested_scheme_matches_libxcrypt_and_openssl() {
        let vectors = [
            ("admin", "$1$abcdefgh$l/LAqC8oJERu7Cmx6trtY/"),
            ("", "$1$xy$JSgu5Zv4igzK2ULm5nTM30"),
            (
                "a-much-longer-password-than-16",
                "$1$12345678$2YM0iiP2nCfom.Gb9kKWC0",
            ),
            ("password", "$apr1$r31....$kMmt8Ia8qcWk4vKKEhpgx1"),
            (
                "root",
                "$5$saltsalt$WLULcjGb361y/Bqz7vlF6palp.BldUHqPDoBcf37xmB",
            ),
            (
                "admin",
                "$5$rounds=1000$short$t5FmrZMM1agtXI55LWF2rSufCIZ5EhXga4al.QthMKB",
            ),
            (
                "admin",
                "$6$Qy9nlcJ3$EOXh.I9/77yC4LTOv3Tlj8H4g6jlBzMIy3qY8oJ1VWSKqUv8V/cA76UeG5LCghbciVhUlUFKWgpfs8M8DhjQU1",
            ),
            (
                "xc3511",
                "$6$rounds=10000$0123456789abcdef$ez9i2V3Q4qERwbctjbY9UP3sI9CPac2AKt3lYlO5xqUZyFPcwsAdHQqJZ0Cldq1AysG7tMlwKp8h3cTychkT3.",
            ),
            ("admin", "Zxhj4oWoF2.zQ"),
        ];
        for (password, hash) in vectors {
            assert!(matches(password, hash), "{password} should match {hash}");
            assert!(!matches("not-it", hash), "`not-it` must not match {hash}");
        }
    }

    #[test]
    fn schemes_are_recognised_and_junk_is_not_a_hash() {
        assert_eq!(scheme("Zxhj4oWoF2.zQ"), Some(Scheme::Des));
        assert_eq!(scheme("$1$x$y"), Some(Scheme::Md5));
        assert_eq!(scheme("$y$j9T$abc$def"), Some(Scheme::Yescrypt));
        assert_eq!(scheme("$2b$10$abc"), Some(Scheme::Bcrypt));
        assert_eq!(scheme("x"), None);
        assert_eq!(scheme("*"), None);
        assert!(!matches("admin", "$6$rounds=$"));
        assert!(!matches("admin", "$5$"));
        assert!(!matches("admin", "$1$"));
    }

    #[test]
    fn hostile_rounds_are_costed_before_they_are_run() {
        assert_eq!(cost("$6$salt$h"), 10);
        assert_eq!(cost("$6$rounds=999999999$salt$h"), 1_999_999);
        assert_eq!(cost("$6$rounds=99999999999999999999$s$h"), 1_999_999);
    }
}
