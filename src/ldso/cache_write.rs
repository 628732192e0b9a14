//! Writing an `/etc/ld.so.cache` for an image that has none.
//!
//! `ctypes.util.find_library` runs `/sbin/ldconfig -p`, which prints the
//! cache; a distroless image has neither, so the plan adds both when the
//! program needs `find_library`. The file is glibc's new format
//! (`glibc-ld.so.cache1.1`, what `ldconfig` writes by default since glibc
//! 2.32), laid out as `elf/cache.c: save_cache` lays it out: a 48-byte
//! header, 24-byte entries sorted as ld.so's binary search expects, then
//! the strings, their offsets counted from the start of the file.

use super::cache::parse::{
    FLAGS_ENDIAN_BIG, FLAGS_ENDIAN_LITTLE, NEW_ENTRY, NEW_EXTENSION_AT, NEW_FLAGS_AT, NEW_HEADER,
    NEW_MAGIC, NEW_NLIBS_AT,
};
use super::cache::{self, ByteOrder};

/// One entry: `name` (a soname, what `ldconfig -p` prints first and what
/// the loader looks up) is the file `path`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct CacheRecord {
    pub name: String,
    pub path: String,
    /// `FLAG_ELF_LIBC6 | FLAG_<ARCH>` (`cache::default_flags_id`).
    pub flags: u32,
}

const HEADER: usize = NEW_HEADER as usize;
const ENTRY: usize = NEW_ENTRY as usize;

/// The cache file for `records`, in `order` (the image's byte order).
/// Duplicate names keep the first record, as ld.so would find it.
pub fn new_format(records: &[CacheRecord], order: ByteOrder) -> Vec<u8> {
    let mut rs: Vec<&CacheRecord> = Vec::new();
    for r in records {
        if !rs.iter().any(|x| x.name == r.name && x.flags == r.flags) {
            rs.push(r);
        }
    }
    // `elf/cache.c: compare`: names in descending `_dl_cache_libcmp`
    // order, then flags descending; the loader's binary search relies on it.
    rs.sort_by(|a, b| {
        cache::libcmp_for_sort(b.name.as_bytes(), a.name.as_bytes()).then(b.flags.cmp(&a.flags))
    });
    let n = rs.len();
    let table_end = HEADER + ENTRY * n;
    let mut strings: Vec<u8> = Vec::new();
    let mut offsets = Vec::with_capacity(n);
    for r in &rs {
        let key = table_end + strings.len();
        strings.extend_from_slice(r.name.as_bytes());
        strings.push(0);
        let value = table_end + strings.len();
        strings.extend_from_slice(r.path.as_bytes());
        strings.push(0);
        offsets.push((key, value));
    }
    let mut out = Vec::with_capacity(table_end + strings.len());
    out.extend_from_slice(NEW_MAGIC);
    debug_assert_eq!(out.len() as u64, NEW_NLIBS_AT);
    out.extend_from_slice(&order.u32_bytes(n as u32));
    out.extend_from_slice(&order.u32_bytes(strings.len() as u32));
    debug_assert_eq!(out.len() as u64, NEW_FLAGS_AT);
    out.push(match order {
        ByteOrder::Little => FLAGS_ENDIAN_LITTLE,
        ByteOrder::Big => FLAGS_ENDIAN_BIG,
    });
    out.extend_from_slice(&[0; 3]);
    // No extension section (no generator string, no glibc-hwcaps).
    debug_assert_eq!(out.len() as u64, NEW_EXTENSION_AT);
    out.extend_from_slice(&order.u32_bytes(0));
    out.extend_from_slice(&[0; 12]);
    debug_assert_eq!(out.len(), HEADER);
    for (r, (key, value)) in rs.iter().zip(offsets) {
        out.extend_from_slice(&order.u32_bytes(r.flags));
        out.extend_from_slice(&order.u32_bytes(key as u32));
        out.extend_from_slice(&order.u32_bytes(value as u32));
        // osversion: 0, no ABI tag note required.
        out.extend_from_slice(&order.u32_bytes(0));
        out.extend_from_slice(&order.u64_bytes(0));
    }
    out.extend_from_slice(&strings);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldso::cache::LdCache;

    const X86_64: u32 = 0x0303;

    fn rec(name: &str, path: &str) -> CacheRecord {
        CacheRecord {
            name: name.into(),
            path: path.into(),
            flags: X86_64,
        }
    }

    #[test]
    fn reads_back_with_our_reader_in_both_byte_orders() {
        let records = vec![
            rec("libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1"),
            rec("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
            rec("libfoo.so.10", "/opt/libfoo.so.10"),
            rec("libfoo.so.9", "/opt/libfoo.so.9"),
            rec("libpq.so.5", "/usr/lib/x86_64-linux-gnu/libpq.so.5"),
        ];
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let bytes = new_format(&records, order);
            let c = LdCache::parse(&bytes).unwrap();
            assert_eq!(c.validate(), Ok(()));
            assert_eq!(c.len(), records.len());
            for r in &records {
                assert_eq!(
                    c.lookup(&r.name, X86_64, &[]),
                    Some(r.path.as_str()),
                    "{order:?} {}",
                    r.name
                );
            }
            assert_eq!(c.lookup("libabsent.so.1", X86_64, &[]), None);
            // Entries in ldconfig's order: descending, numbers as numbers.
            let names: Vec<String> = c.entries().map(|e| e.name_lossy().into_owned()).collect();
            assert_eq!(
                names,
                [
                    "libz.so.1",
                    "libpq.so.5",
                    "libfoo.so.10",
                    "libfoo.so.9",
                    "libc.so.6"
                ]
            );
        }
        // Nothing to list: a bare header, which ld.so ignores (it wants
        // more than the header): never worth writing.
        assert!(LdCache::parse(&new_format(&[], ByteOrder::Little)).is_err());
    }
}
