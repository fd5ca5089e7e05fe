//! Fuzz target: the name index reader (`consign_detect::NameIndex`), its lookups and its checks.
//! Every key a well-formed, sorted index holds is found again by its binary search.
#![no_main]

use consign_detect::NameIndex;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let index = NameIndex::parse(data);
    let problems = index.problems();
    let _ = index.projects().count();
    // Every line's first field is a key to look up, found or not (each once).
    let keys: std::collections::BTreeSet<&str> = data
        .split(|&byte| byte == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
        .map(|line| line.split('\t').next().unwrap_or_default())
        .collect();
    let mut found = 0;
    for key in &keys {
        found += usize::from(index.get(key).is_some());
    }
    if problems == 0 {
        // No malformed and no unsorted line: every name line resolves.
        assert_eq!(found, index.len(), "{} names, {found} found", index.len());
    }
});
