//! Version ordering for the release styles firmware carries.
//!
//! Vulnerability records state ranges (`versionEndExcluding: 0.9.8h`, `fixed: 2.87`), and the
//! releases found in firmware come in many shapes: OpenSSL's letter releases (`0.9.8g` < `0.9.8h`
//! < `0.9.8za`), Dropbear's dates (`2022.83`), flavours (`1.0.2k-fips`), four-part kernels
//! (`2.6.33.2`), pre-releases (`5.0-beta1`, `2.87test9`, `1.6b9`, `2.4.2b3`, `3.0.0-rc1`) and
//! `git describe` output (`v5.0-beta1-427-g1d2e3f4`). [`Version`] reads all of them into one
//! ordering.
//!
//! # How a version is read
//!
//! - A leading `v` before a digit is dropped, an `N:` prefix is a Debian-style epoch compared
//!   first, and everything after `+` is build metadata (ignored, as semver does).
//! - A trailing `-N-g<hex>` (and `-dirty`) is `git describe` output: N commits after the tag,
//!   newer than the tag and older than whatever follows it; the hash is kept for OSV's GIT ranges.
//! - Flavour words that name a build, not a release (`fips`, `lts`, `stable`, `release`,
//!   `final`, `ga`), are dropped, so `1.0.2k-fips` orders as `1.0.2k`.
//! - The rest is split into runs of digits and runs of letters; separators (`.`, `-`, `_`, `~`)
//!   only split. Words that mark a pre-release (`dev`, `snapshot`, `alpha`, `beta`, `test`,
//!   `pre`, `preview`, `rc`; and `a` or `b` when a number follows, as in `1.6b9`) sort before the
//!   release they lead to; any other word (`g` in `0.9.8g`, `p` in `7.4p1`) is a later patch
//!   level and sorts after it. Missing trailing zeros do not count (`1.0` == `1.0.0`).
//!
//! Text without a single digit (`unknown`, `*`, `-`) is not a version: [`Version::parse`] gives
//! `None`, and matching treats the component as of unknown version.

use std::cmp::Ordering;
use std::fmt;

/// One piece of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// A run of digits, leading zeros removed (compared by length, then text: no overflow).
    Num(String),
    /// A pre-release word, by rank: dev < alpha < beta < test < pre < rc.
    Pre(u8),
    /// Any other word: a patch level after the release (`g` in `0.9.8g`).
    Suffix(String),
}

/// A parsed version, ordered as described in the module documentation.
#[derive(Clone, Debug)]
pub struct Version {
    text: String,
    epoch: u64,
    tokens: Vec<Token>,
    post_commits: u64,
    commit: Option<String>,
}

/// Words that name a build flavour rather than a release.
const FLAVOURS: &[&str] = &["fips", "lts", "stable", "release", "final", "ga", "dirty"];

fn pre_rank(word: &str, number_follows: bool) -> Option<u8> {
    Some(match word {
        "dev" | "snapshot" | "nightly" => 0,
        "alpha" => 1,
        "a" if number_follows => 1,
        "beta" => 2,
        "b" if number_follows => 2,
        "test" => 3,
        "pre" | "preview" => 4,
        "rc" | "cr" => 5,
        _ => return None,
    })
}

impl Version {
    /// Reads `text` as a version; `None` when it holds no digit at all.
    pub fn parse(text: &str) -> Option<Self> {
        let original = text.trim();
        if !original.bytes().any(|b| b.is_ascii_digit()) || original.len() > 256 {
            return None;
        }
        let mut rest = original.to_ascii_lowercase();
        // Build metadata.
        if let Some(idx) = rest.find('+') {
            rest.truncate(idx);
        }
        // Epoch.
        let mut epoch = 0;
        if let Some((head, tail)) = rest.split_once(':')
            && !head.is_empty()
            && head.len() <= 9
            && head.bytes().all(|b| b.is_ascii_digit())
        {
            epoch = head.parse().unwrap_or(0);
            rest = tail.to_owned();
        }
        // `git describe`: `-N-g<hex>`, maybe `-dirty`.
        let mut post_commits = 0;
        let mut commit = None;
        let trimmed = rest.strip_suffix("-dirty").unwrap_or(&rest).to_owned();
        let parts: Vec<&str> = trimmed.rsplitn(3, '-').collect();
        if let [hash, count, base] = parts.as_slice()
            && let Some(hex) = hash.strip_prefix('g')
            && (4..=40).contains(&hex.len())
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && !count.is_empty()
            && count.len() <= 9
            && count.bytes().all(|b| b.is_ascii_digit())
            && base.bytes().any(|b| b.is_ascii_digit())
        {
            post_commits = count.parse().unwrap_or(0);
            commit = Some(hex.to_owned());
            (*base).clone_into(&mut rest);
        }
        let body = rest
            .strip_prefix('v')
            .filter(|tail| tail.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(&rest);
        let tokens = tokenize(body);
        if !tokens.iter().any(|token| matches!(token, Token::Num(_))) {
            return None;
        }
        Some(Self {
            text: original.to_owned(),
            epoch,
            tokens,
            post_commits,
            commit,
        })
    }

    /// The text it was read from, trimmed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The abbreviated commit of a `git describe` version (`1d2e3f4` in `v5.0-beta1-427-g1d2e3f4`).
    pub fn commit(&self) -> Option<&str> {
        self.commit.as_deref()
    }

    /// True when this is a pre-release (`5.0-beta1`, `2.87rc1`).
    pub fn is_prerelease(&self) -> bool {
        self.tokens
            .iter()
            .any(|token| matches!(token, Token::Pre(_)))
    }
}

fn tokenize(body: &str) -> Vec<Token> {
    // First the raw runs, then classify words with a look at what follows them.
    #[derive(PartialEq)]
    enum Run<'a> {
        Digits(&'a str),
        Letters(&'a str),
    }
    let bytes = body.as_bytes();
    let mut runs = Vec::new();
    let mut idx = 0;
    while idx < bytes.len() {
        let start = idx;
        if bytes[idx].is_ascii_digit() {
            while idx < bytes.len() && bytes[idx].is_ascii_digit() {
                idx += 1;
            }
            runs.push(Run::Digits(&body[start..idx]));
        } else if bytes[idx].is_ascii_alphabetic() {
            while idx < bytes.len() && bytes[idx].is_ascii_alphabetic() {
                idx += 1;
            }
            runs.push(Run::Letters(&body[start..idx]));
        } else {
            idx += 1;
        }
    }
    let mut tokens = Vec::with_capacity(runs.len());
    for (pos, run) in runs.iter().enumerate() {
        match run {
            Run::Digits(digits) => {
                let trimmed = digits.trim_start_matches('0');
                tokens.push(Token::Num(if trimmed.is_empty() {
                    "0".to_owned()
                } else {
                    trimmed.to_owned()
                }));
            }
            Run::Letters(word) => {
                if FLAVOURS.contains(word) {
                    continue;
                }
                let number_follows = matches!(runs.get(pos + 1), Some(Run::Digits(_)))
                    // `1.6b9`: the word touches the digits before and after it.
                    && pos > 0;
                match pre_rank(word, number_follows) {
                    Some(rank) => tokens.push(Token::Pre(rank)),
                    None => tokens.push(Token::Suffix((*word).to_owned())),
                }
            }
        }
    }
    tokens
}

fn cmp_num(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn cmp_token(a: &Token, b: &Token) -> Ordering {
    match (a, b) {
        (Token::Num(x), Token::Num(y)) => cmp_num(x, y),
        (Token::Pre(x), Token::Pre(y)) => x.cmp(y),
        (Token::Suffix(x), Token::Suffix(y)) => x.cmp(y),
        // A pre-release word is older than anything at the same place, and a letter patch
        // level comes before the next numbered component.
        (Token::Pre(_), _) | (Token::Suffix(_), Token::Num(_)) => Ordering::Less,
        (_, Token::Pre(_)) | (Token::Num(_), Token::Suffix(_)) => Ordering::Greater,
    }
}

/// How the remaining tokens of the longer version compare with nothing.
fn cmp_rest(rest: &[Token]) -> Ordering {
    for token in rest {
        match token {
            Token::Num(digits) if digits == "0" => {}
            Token::Pre(_) => return Ordering::Less,
            _ => return Ordering::Greater,
        }
    }
    Ordering::Equal
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| {
                for (a, b) in self.tokens.iter().zip(&other.tokens) {
                    let ord = cmp_token(a, b);
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                let common = self.tokens.len().min(other.tokens.len());
                match self.tokens.len().cmp(&other.tokens.len()) {
                    Ordering::Equal => Ordering::Equal,
                    Ordering::Greater => cmp_rest(&self.tokens[common..]),
                    Ordering::Less => cmp_rest(&other.tokens[common..]).reverse(),
                }
            })
            .then_with(|| self.post_commits.cmp(&other.post_commits))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Compares two version texts; `None` when either is not a version.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(Version::parse(a)?.cmp(&Version::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn less(a: &str, b: &str) {
        assert_eq!(compare(a, b), Some(Ordering::Less), "{a} < {b}");
        assert_eq!(compare(b, a), Some(Ordering::Greater), "{b} > {a}");
    }

    #[track_caller]
    fn same(a: &str, b: &str) {
        assert_eq!(compare(a, b), Some(Ordering::Equal), "{a} == {b}");
    }

    #[test]
    fn openssl_letter_releases() {
        // CVE-2008-5077 (versionEndIncluding 0.9.8i), CVE-2014-0160 (1.0.1 to 1.0.1f),
        // CVE-2016-2108 (versionEndIncluding 1.0.1n).
        less("0.9.8", "0.9.8a");
        less("0.9.8g", "0.9.8h");
        less("0.9.8g", "0.9.8i");
        less("0.9.8z", "0.9.8za");
        less("0.9.8za", "0.9.8zh");
        less("0.9.8zh", "0.9.9");
        less("0.9.8zh", "1.0.0");
        less("1.0.1f", "1.0.1g");
        less("1.0.1", "1.0.1a");
        less("1.0.1n", "1.0.2");
        less("0.9.7f", "0.9.8");
        less("1.0.2k", "1.0.2l");
    }

    #[test]
    fn flavours_are_not_releases() {
        same("1.0.2k-fips", "1.0.2k");
        less("1.0.2k-fips", "1.0.2l");
        less("1.0.2j", "1.0.2k-fips");
        same("2.6.32-lts", "2.6.32");
    }

    #[test]
    fn dates_and_long_numbers() {
        // Dropbear: CVE-2016-7406 versionEndIncluding 2016.73.
        less("2016.73", "2016.74");
        less("2020.81", "2022.83");
        less("0.52", "2011.54");
        less("2022.83", "2022.083.1");
        less("99999999999999999999", "100000000000000000000");
    }

    #[test]
    fn kernels_and_four_parts() {
        less("2.6.33", "2.6.33.2");
        less("2.6.33.2", "2.6.33.3");
        less("2.6.33.2", "2.6.34");
        less("2.6.33-rc1", "2.6.33");
        less("2.6.33-rc8", "2.6.33.2");
        less("2.6.9", "2.6.33.2");
        less("3.0", "3.0.1");
        same("3.0", "3.0.0");
        less("4.19", "5.4.72");
    }

    #[test]
    fn prereleases() {
        less("5.0-alpha1", "5.0-beta1");
        less("5.0-beta1", "5.0-beta2");
        less("5.0-beta2", "5.0-rc1");
        less("5.0-rc1", "5.0");
        less("5.0-dev", "5.0-alpha1");
        less("4.3-dev", "4.3");
        less("1.0.2-beta3", "1.0.2");
        less("1.0.2-pre1", "1.0.2-rc1");
        // dnsmasq: test releases, then release candidates (OSV-2022-312 lists v2.87test9, v2.87rc1).
        less("2.87test9", "2.87rc1");
        less("2.87rc1", "2.87");
        less("2.86", "2.87test1");
        // mathopd 1.6b9 and ppp 2.4.2b3 are betas.
        less("1.6b9", "1.6");
        less("1.5p6", "1.6b9");
        less("2.4.2b3", "2.4.2");
        less("2.4.1", "2.4.2b3");
        assert!(Version::parse("5.0-beta1").unwrap().is_prerelease());
        assert!(!Version::parse("0.9.8b").unwrap().is_prerelease());
    }

    #[test]
    fn patch_levels_after_release() {
        // OpenSSH portable: CVE-2016-6515 versionEndIncluding 7.2p2.
        less("7.2", "7.2p1");
        less("7.2p1", "7.2p2");
        less("7.2p2", "7.3");
        less("7.3p1", "7.4");
    }

    #[test]
    fn git_describe() {
        let v = Version::parse("v5.0-beta1-427-g1d2e3f4").unwrap();
        assert_eq!(v.commit(), Some("1d2e3f4"));
        less("5.0-beta1", "v5.0-beta1-427-g1d2e3f4");
        less("v5.0-beta1-427-g1d2e3f4", "5.0-beta2");
        less("v5.0-beta1-427-g1d2e3f4", "5.0");
        less("v5.0-beta1-2-gabcdef0", "v5.0-beta1-427-g1d2e3f4");
        same("v4.4.2-1-g0aa1b2c-dirty", "4.4.2-1-gffffff0");
    }

    #[test]
    fn prefixes_epochs_and_metadata() {
        same("v1.2.3", "1.2.3");
        same("1.2.3+build.7", "1.2.3");
        less("2.0", "1:0.9");
        assert!(compare("2:1.0", "1:9.9").unwrap().is_gt());
        same("1.14.1", "1.14.01");
    }

    #[test]
    fn not_versions() {
        for text in ["", "unknown", "*", "-", "latest", &"9".repeat(300)] {
            assert!(Version::parse(text).is_none(), "{text}");
        }
        assert!(Version::parse("r1234").is_some());
    }
}
