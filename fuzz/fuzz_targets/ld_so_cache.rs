//! Bytes → `ldslim::ldso::cache::LdCache::parse`, then everything a caller
//! can ask: entries, lookups of a few names (some taken from the file) with
//! several flag ids and glibc-hwcaps lists, and `validate()`. Nothing may
//! panic, and a lookup may only answer a path some entry has.
#![no_main]

use ldslim::ldso::cache::{LdCache, LegacyHwcaps, Query};
use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;

const FLAG_IDS: &[u32] = &[0x303, 3, 0x803, 0xa03, 0x903, 0x503, 0x1003, 0x1203, 1, 0];
const HWCAPS: &[&[&str]] = &[
    &[],
    &["x86-64-v2"],
    &["x86-64-v4", "x86-64-v3", "x86-64-v2"],
    &["power10", "power9"],
    &["z", "", "x86-64-v2", "x86-64-v2"],
];
const NAMES: &[&[u8]] = &[
    b"libc.so.6",
    b"libz.so.1",
    b"",
    b"lib\xff.so",
    b"libfoo.so.10\0tail",
];

fuzz_target!(|bytes: &[u8]| {
    let cache = match LdCache::parse(bytes) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (
        cache.format(),
        cache.byte_order(),
        cache.len(),
        cache.is_empty(),
    );
    let _ = cache.generator();
    let _ = cache.hwcaps_subdirs().count();
    if let Err(e) = cache.validate() {
        let _ = e.to_string();
    }
    let mut names: Vec<Vec<u8>> = NAMES.iter().map(|n| n.to_vec()).collect();
    let mut paths: HashSet<&[u8]> = HashSet::new();
    for (i, e) in cache.entries().enumerate() {
        let _ = (
            e.name_lossy(),
            e.path_lossy(),
            e.flags_description(),
            e.is_glibc_hwcaps(),
        );
        paths.insert(e.path);
        if i < 4 {
            names.push(e.name.to_vec());
        }
    }
    for name in &names {
        for &id in FLAG_IDS {
            for hw in HWCAPS {
                for legacy in [
                    LegacyHwcaps::TLS_ONLY,
                    LegacyHwcaps::NONE,
                    LegacyHwcaps::x86_64_glibc_2_36(true, Some("haswell")),
                ] {
                    let mut q = Query::new(id, hw);
                    q.legacy = legacy;
                    if let Some(p) = cache.lookup_with(name, &q) {
                        assert!(paths.contains(&p), "lookup answered a path no entry has");
                    }
                }
                if let Ok(s) = std::str::from_utf8(name) {
                    let _ = cache.lookup(s, id, hw);
                }
            }
        }
    }
});
