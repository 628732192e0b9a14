//! Reader for glibc's `/etc/ld.so.cache`.
//!
//! The layouts come from glibc 2.36 `sysdeps/generic/dl-cache.h` (what
//! Debian 12 ships); the lookup mirrors `elf/dl-cache.c:
//! _dl_load_cache_lookup` and `search_cache` of the same release, and the
//! writer's conventions are those of `elf/cache.c: save_cache`.
//!
//! Three files can come out of `ldconfig -c old|new|compat`:
//!
//! ```text
//! old:    "ld.so-1.7.0" pad nlibs  file_entry[nlibs]      strings...
//!         (16-byte header, 12-byte entries, offsets relative to the first
//!          byte after the entries)
//! new:    "glibc-ld.so.cache" "1.1" nlibs len_strings flags pad
//!         extension_offset unused[3]  file_entry_new[nlibs]  strings...
//!         extension directory
//!         (48-byte header, 24-byte entries, string offsets relative to the
//!          start of this header, extension offsets relative to the file)
//! compat: an old table, padding to ALIGN_CACHE, then a whole new-format
//!         cache; every string lives after the new table, so the old
//!         table's offsets (relative to its end) skip over the new header
//!         and entries.
//! ```
//!
//! The old format has no byte-order mark: it is in the writer's native
//! order, so we pick the order under which `nlibs` fits the file. The new
//! format records its order in the header's `flags` byte (glibc ≥ 2.33;
//! zero from older writers, which we treat like the old format).
//!
//! [`LdCache::parse`] refuses a file only where ld.so would ignore the whole
//! cache; damage inside entries is kept and handled the way `search_cache`
//! handles it (a bad key aborts the search, a bad value skips the entry), so
//! lookups answer what ld.so would. [`LdCache::validate`] reports such damage
//! for diagnostics.
//!
//! Where glibc itself has bugs we follow ld.so, not the documentation:
//! * compat caches: ld.so (and `ldconfig -p`) resolve the glibc-hwcaps
//!   name indices relative to the *file* start, while `ldconfig` writes them
//!   relative to the *new header*; so in a compat file no hwcaps name ever
//!   matches and glibc-hwcaps entries are never chosen.
//! * the old table keeps glibc-hwcaps entries as plain entries (only legacy
//!   hwcap entries are dropped), sorted before the plain ones, so old-format
//!   lookups return the glibc-hwcaps path whatever the CPU.
//!
//! Both were checked against the real glibc 2.36 `ld.so` in the tests.
//!
//! The parts: `parse` recognises the file and reads its table,
//! `extensions` its extension directory, `flags` says which entries a
//! loader accepts, `lookup` what ld.so answers for a name.

// File bytes are hostile: nothing here may panic or overflow on them, and
// the compiler checks it.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::borrow::Cow;

mod extensions;
mod flags;
mod lookup;
pub(super) mod parse;

pub use flags::*;
pub use lookup::{DL_CACHE_HWCAP_EXTENSION, HWCAP_TLS, LegacyHwcaps, Query, libcmp_for_sort};
use lookup::{is_hwcap_extension, libcmp};

/// Why a cache cannot be used at all, or (from [`LdCache::validate`]) what
/// is damaged inside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error("not an ld.so cache: neither \"ld.so-1.7.0\" nor \"glibc-ld.so.cache1.1\" at offset 0")]
    BadMagic,
    #[error("truncated: the {what} needs more than {needed} bytes, the file has {len}")]
    Truncated {
        what: &'static str,
        needed: u64,
        len: u64,
    },
    #[error(
        "{format} table at offset {at} claims {nlibs} entries (read little-endian; \
         {nlibs_swapped} big-endian) but at most {fits} fit in the {len}-byte file"
    )]
    TooManyEntries {
        format: &'static str,
        at: u64,
        nlibs: u32,
        nlibs_swapped: u32,
        fits: u64,
        len: u64,
    },
    #[error(
        "new-format header at offset {at} has flags {flags:#04x}: byte order marked invalid \
         (glibc ignores such a cache)"
    )]
    BadByteOrder { at: u64, flags: u8 },
    #[error(
        "entry {entry}: {field} string offset {offset:#x} is outside the {limit}-byte string table"
    )]
    StringOutOfRange {
        entry: usize,
        field: &'static str,
        offset: u32,
        limit: u64,
    },
    #[error(
        "entry {entry}: {field} string at offset {offset:#x} runs to the end of the file without a NUL"
    )]
    UnterminatedString {
        entry: usize,
        field: &'static str,
        offset: u32,
    },
    #[error("malformed extension directory at file offset {offset:#x}: {reason}")]
    BadExtension { offset: u32, reason: &'static str },
    #[error(
        "entry {entry}: glibc-hwcaps index {index}, but the cache lists {count} glibc-hwcaps names"
    )]
    HwcapsIndexOutOfRange {
        entry: usize,
        index: u32,
        count: usize,
    },
    #[error(
        "glibc-hwcaps name {index}: string offset {offset:#x} (from the file start, as ld.so reads it) \
         is outside the {len}-byte file or unterminated"
    )]
    HwcapsNameOutOfRange { index: usize, offset: u32, len: u64 },
    #[error(
        "entry {entry} sorts before entry {prev} by _dl_cache_libcmp; ld.so's binary search may miss names"
    )]
    Unsorted { prev: usize, entry: usize },
}

/// Which tables the file holds. ld.so uses the new table whenever there is
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheFormat {
    Old,
    New,
    Compat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    Little,
    Big,
}

/// The `N` bytes at `off` of `data`, `None` past its end.
pub(super) fn bytes_at<const N: usize>(data: &[u8], off: u64) -> Option<[u8; N]> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(N)?;
    data.get(start..end)?.try_into().ok()
}

impl ByteOrder {
    /// The `u32` at `off` of `data`, `None` past its end.
    pub(super) fn u32_at(self, data: &[u8], off: u64) -> Option<u32> {
        bytes_at::<4>(data, off).map(|b| self.u32(b))
    }

    /// The `u64` at `off` of `data`, `None` past its end.
    pub(super) fn u64_at(self, data: &[u8], off: u64) -> Option<u64> {
        bytes_at::<8>(data, off).map(|b| self.u64(b))
    }

    fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        }
    }
    fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            ByteOrder::Little => u64::from_le_bytes(b),
            ByteOrder::Big => u64::from_be_bytes(b),
        }
    }
    pub(super) fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
    pub(super) fn u64_bytes(self, v: u64) -> [u8; 8] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
}

/// One entry as stored, for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheEntry<'a> {
    /// The key: a soname. Empty when the offset is out of range.
    pub name: &'a [u8],
    /// The value: the path ld.so opens.
    pub path: &'a [u8],
    /// `flags` (an `int32_t` in glibc), e.g. 0x303 for libc6,x86-64.
    pub flags: u32,
    /// `hwcap` of the new format; 0 in the old format.
    pub hwcap: u64,
    /// The glibc-hwcaps subdirectory name, resolved as ld.so and
    /// `ldconfig -p` do (see the module docs for compat files).
    pub hwcaps_subdir: Option<&'a [u8]>,
}

impl CacheEntry<'_> {
    pub fn name_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.name)
    }
    pub fn path_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.path)
    }
    /// Whether `hwcap` marks a glibc-hwcaps entry (`dl_cache_hwcap_extension`).
    pub fn is_glibc_hwcaps(&self) -> bool {
        is_hwcap_extension(self.hwcap)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RawEntry {
    flags: u32,
    key: u32,
    value: u32,
    hwcap: u64,
}

/// Which entry layout ld.so searches; decides whether the hwcap rules run
/// (`search_cache` tests `entry_size >= sizeof (struct file_entry_new)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Old,
    New,
}

/// A parsed cache: the file's bytes plus the table ld.so would search.
#[derive(Clone, Debug)]
pub struct LdCache {
    data: Vec<u8>,
    format: CacheFormat,
    order: ByteOrder,
    layout: Layout,
    entries: Vec<RawEntry>,
    /// File offset the entries' string indices are relative to.
    strings: u64,
    /// The bound `_dl_cache_verify_ptr` checks indices against: the rest
    /// of the file for the old table, the whole file size for the new one
    /// (`_dl_load_cache_lookup` passes `cachesize`, "not exact" in compat).
    limit: u64,
    /// glibc-hwcaps section: string offsets from the file start.
    hwcaps: Vec<u32>,
    generator: Option<(u64, u64)>,
    extension_problem: Option<CacheError>,
}

/// The NUL-terminated string at `off`; the end of the file terminates it
/// too (ld.so would read the zero fill of the mapping's last page).
fn cstr_at(data: &[u8], off: u64) -> &[u8] {
    let Some(rest) = usize::try_from(off).ok().and_then(|o| data.get(o..)) else {
        return &[];
    };
    rest.split(|&b| b == 0).next().unwrap_or(rest)
}

impl LdCache {
    /// Which tables the file holds.
    pub fn format(&self) -> CacheFormat {
        self.format
    }

    /// Byte order of the table ld.so reads. A loader of the other order
    /// ignores the cache (new format) or fails its corruption check (old).
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }

    /// Number of entries in the table ld.so searches.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The "generator" extension: which ldconfig wrote the file.
    pub fn generator(&self) -> Option<&[u8]> {
        let (offset, size) = self.generator?;
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        self.data.get(start..end)
    }

    /// The glibc-hwcaps names in section order, resolved as ld.so does.
    pub fn hwcaps_subdirs(&self) -> impl Iterator<Item = &[u8]> {
        self.hwcaps.iter().map(|&off| self.hwcaps_name(off))
    }

    fn hwcaps_name(&self, off: u32) -> &[u8] {
        // `glibc_hwcaps_compare` / `glibc_hwcaps_string`: relative to the
        // file start and checked against the file size.
        cstr_at(&self.data, u64::from(off))
    }

    fn string(&self, index: u32) -> &[u8] {
        // Past the end (or saturated there) it is empty, like any
        // offset outside the file.
        cstr_at(&self.data, self.strings.saturating_add(u64::from(index)))
    }

    /// `_dl_cache_verify_ptr`.
    fn verify(&self, index: u32) -> bool {
        u64::from(index) < self.limit
    }

    /// The searched table's entries in file order (ldconfig writes them in
    /// descending `_dl_cache_libcmp` order of their names).
    pub fn entries(&self) -> impl Iterator<Item = CacheEntry<'_>> {
        self.entries.iter().map(move |e| CacheEntry {
            name: if self.verify(e.key) {
                self.string(e.key)
            } else {
                &[]
            },
            path: if self.verify(e.value) {
                self.string(e.value)
            } else {
                &[]
            },
            flags: e.flags,
            hwcap: e.hwcap,
            hwcaps_subdir: self.subdir_of(e),
        })
    }

    fn subdir_of(&self, e: &RawEntry) -> Option<&[u8]> {
        if self.layout != Layout::New || !is_hwcap_extension(e.hwcap) {
            return None;
        }
        let index = usize::try_from(e.hwcap as u32).ok()?;
        let off = *self.hwcaps.get(index)?;
        (u64::from(off) < self.data.len() as u64).then(|| self.hwcaps_name(off))
    }

    /// Strict checks for diagnostics: everything ld.so tolerates or
    /// silently works around. The first problem found is returned.
    pub fn validate(&self) -> Result<(), CacheError> {
        if let Some(p) = &self.extension_problem {
            return Err(p.clone());
        }
        let len = self.data.len() as u64;
        let room = len.saturating_sub(self.strings);
        for (i, &off) in self.hwcaps.iter().enumerate() {
            let terminated = usize::try_from(off)
                .ok()
                .and_then(|o| self.data.get(o..))
                .is_some_and(|rest| rest.contains(&0));
            if !terminated {
                return Err(CacheError::HwcapsNameOutOfRange {
                    index: i,
                    offset: off,
                    len,
                });
            }
        }
        for (i, e) in self.entries.iter().enumerate() {
            for (field, index) in [("name", e.key), ("path", e.value)] {
                if u64::from(index) >= room {
                    return Err(CacheError::StringOutOfRange {
                        entry: i,
                        field,
                        offset: index,
                        limit: room,
                    });
                }
                // Below `room`, so inside the file.
                let start = self.strings.saturating_add(u64::from(index));
                let terminated = usize::try_from(start)
                    .ok()
                    .and_then(|s| self.data.get(s..))
                    .is_some_and(|rest| rest.contains(&0));
                if !terminated {
                    return Err(CacheError::UnterminatedString {
                        entry: i,
                        field,
                        offset: index,
                    });
                }
            }
            if self.layout == Layout::New && is_hwcap_extension(e.hwcap) {
                let index = e.hwcap as u32;
                let in_range = usize::try_from(index).is_ok_and(|x| x < self.hwcaps.len());
                if !in_range {
                    return Err(CacheError::HwcapsIndexOutOfRange {
                        entry: i,
                        index,
                        count: self.hwcaps.len(),
                    });
                }
            }
            if let Some(before) = i.checked_sub(1)
                && let Some(b) = self.entries.get(before)
            {
                let prev = self.string(b.key);
                let cur = self.string(e.key);
                // The writer's `char` signedness is unknown: complain only
                // if the order is wrong under both.
                if libcmp(prev, cur, true).is_lt() && libcmp(prev, cur, false).is_lt() {
                    return Err(CacheError::Unsorted {
                        prev: before,
                        entry: i,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests;
