//! Text helpers: lines of a file as found, clipping, redaction of secrets.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

/// True when `data` looks like text: no NUL in its first 4 KiB.
pub(crate) fn is_text(data: &[u8]) -> bool {
    !data.iter().take(4096).any(|&b| b == 0)
}

/// The lines of `data` with their numbers (from 1), lossily decoded, `\r` removed.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = (u32, String)> + '_ {
    data.split(|&b| b == b'\n')
        .enumerate()
        .map(|(index, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (
                u32::try_from(index + 1).unwrap_or(u32::MAX),
                String::from_utf8_lossy(line).into_owned(),
            )
        })
}

/// `text` cut to at most `max` characters, with `…` when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// How a secret is shown: never its value, only its length and a digest prefix.
pub(crate) fn redacted(secret: &str) -> String {
    format!("<redacted: {} characters>", secret.chars().count())
}

/// The first 16 hex digits of the SHA-256 of a secret: enough to tell two secrets apart and to
/// match a known one, too little to be the secret.
pub(crate) fn secret_digest(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    format!("sha256:{}", hex16(&digest))
}

fn hex16(bytes: &[u8]) -> String {
    hex(&bytes[..bytes.len().min(8)])
}

/// Full lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Replaces every occurrence of `secret` in `line` by its redaction.
pub(crate) fn redact_in(line: &str, secret: &str) -> String {
    if secret.is_empty() {
        return line.to_owned();
    }
    line.replace(secret, &redacted(secret))
}

/// The last component of a path (`telnetd` of `/usr/sbin/telnetd`).
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_from_one_without_carriage_returns() {
        let got: Vec<_> = lines(b"a\r\nb\n").collect();
        assert_eq!(
            got,
            [(1, "a".to_owned()), (2, "b".to_owned()), (3, String::new())]
        );
    }

    #[test]
    fn redaction_keeps_length_and_never_the_value() {
        assert_eq!(
            redact_in("telnetd -u admin:hunter2", "hunter2"),
            "telnetd -u admin:<redacted: 7 characters>"
        );
        assert_eq!(secret_digest(b"abc"), "sha256:ba7816bf8f01cfea");
    }
}
