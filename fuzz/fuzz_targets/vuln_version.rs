//! Fuzz target: version ordering, CPE names and package URLs from untrusted records and SBOMs.
//! The ordering must be a total order (antisymmetric, reflexive) on whatever parses.
#![no_main]

use consign_vuln::cpe::Cpe;
use consign_vuln::purl::Purl;
use consign_vuln::version::Version;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Cpe::parse(text);
    let _ = Purl::parse(text);
    let _ = consign_vuln::matching::tag_release(text, "openssl");
    let (a, b) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i));
    if let (Some(x), Some(y)) = (Version::parse(a), Version::parse(b)) {
        assert_eq!(x.cmp(&y), y.cmp(&x).reverse(), "{a:?} vs {b:?}");
        assert_eq!(x.cmp(&x), std::cmp::Ordering::Equal);
    }
});
