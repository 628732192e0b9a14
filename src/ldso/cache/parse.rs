//! Recognising the file and reading the table ld.so searches: the old
//! `ld.so-1.7.0` table, the new `glibc-ld.so.cache1.1` one, or the new one
//! inside a compat file (`_dl_load_cache_lookup`).

use super::extensions::load_extensions;
use super::{ByteOrder, CacheError, CacheFormat, Layout, LdCache, RawEntry, bytes_at};

pub(super) const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
/// `CACHEMAGIC_NEW CACHE_VERSION`: ld.so compares both at once.
pub(in crate::ldso) const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// `sizeof (struct cache_file)`: 11 magic bytes, padded to 12, then nlibs.
const OLD_HEADER: u64 = 16;
const OLD_NLIBS_AT: u64 = 12;
const OLD_ENTRY: u64 = 12;
/// `sizeof (struct cache_file_new)`, asserted to be 48 in dl-cache.h.
/// The new layout's sizes, offsets and flags are the writer's too
/// (`cache_write`).
pub(in crate::ldso) const NEW_HEADER: u64 = 48;
pub(in crate::ldso) const NEW_ENTRY: u64 = 24;
pub(in crate::ldso) const NEW_NLIBS_AT: u64 = 20;
pub(in crate::ldso) const NEW_FLAGS_AT: u64 = 28;
pub(in crate::ldso) const NEW_EXTENSION_AT: u64 = 32;
/// `cache_file_new_flags_endian_*`: the low two bits of the header's
/// `flags` byte (glibc ≥ 2.33; 0 before, 1 is invalid).
const FLAGS_ENDIAN_MASK: u8 = 3;
pub(in crate::ldso) const FLAGS_ENDIAN_LITTLE: u8 = 2;
pub(in crate::ldso) const FLAGS_ENDIAN_BIG: u8 = 3;

/// Pick the byte order under which a table without a byte-order mark
/// makes sense: `nlibs` must fit in `room` bytes (ld.so's corruption
/// check); if both orders fit, the one whose string offsets all fall
/// inside the file, little-endian on a tie.
fn guess_order(
    data: &[u8],
    nlibs_at: u64,
    entries_at: u64,
    entry_size: u64,
    strings_at: impl Fn(u32) -> u64,
) -> Option<(ByteOrder, u32)> {
    let len = data.len() as u64;
    let raw = bytes_at::<4>(data, nlibs_at)?;
    let room = len.checked_sub(entries_at)?;
    let fits = |n: u32| {
        room.checked_div(entry_size)
            .is_some_and(|most| u64::from(n) <= most)
    };
    // Offsets are sums of u32s and small constants: saturating never
    // changes an in-range one, and past the end nothing is read anyway.
    let plausible = |order: ByteOrder, n: u32| {
        (0..u64::from(n)).all(|i| {
            let at = entries_at.saturating_add(i.saturating_mul(entry_size));
            let ok = |off: u64| {
                order.u32_at(data, off).is_some_and(|v| {
                    strings_at(n)
                        .checked_add(u64::from(v))
                        .is_some_and(|o| o < len)
                })
            };
            ok(at.saturating_add(4)) && ok(at.saturating_add(8))
        })
    };
    let le = ByteOrder::Little.u32(raw);
    let be = ByteOrder::Big.u32(raw);
    match (fits(le), fits(be)) {
        (true, false) => Some((ByteOrder::Little, le)),
        (false, true) => Some((ByteOrder::Big, be)),
        (false, false) => None,
        (true, true) => {
            if !plausible(ByteOrder::Little, le) && plausible(ByteOrder::Big, be) {
                Some((ByteOrder::Big, be))
            } else {
                Some((ByteOrder::Little, le))
            }
        }
    }
}

fn too_many(data: &[u8], format: &'static str, at: u64, header: u64, entry: u64) -> CacheError {
    let len = data.len() as u64;
    let nlibs_at = at.saturating_add(if header == OLD_HEADER {
        OLD_NLIBS_AT
    } else {
        NEW_NLIBS_AT
    });
    let raw = bytes_at::<4>(data, nlibs_at).unwrap_or_default();
    CacheError::TooManyEntries {
        format,
        at,
        nlibs: u32::from_le_bytes(raw),
        nlibs_swapped: u32::from_be_bytes(raw),
        fits: len
            .saturating_sub(at.saturating_add(header))
            .checked_div(entry)
            .unwrap_or(0),
        len,
    }
}

/// Byte order of the new-format header at `at`, and its `nlibs`, checked
/// to fit in the file (`cache_file_new_matches_endian`, then the corruption
/// check of `_dl_load_cache_lookup`).
fn new_header(data: &[u8], at: u64) -> Result<(ByteOrder, u32), CacheError> {
    let len = data.len() as u64;
    let flags = bytes_at::<1>(data, at.saturating_add(NEW_FLAGS_AT)).map_or(0, |[b]| b);
    let entries_at = at.saturating_add(NEW_HEADER);
    let room = len.saturating_sub(entries_at) / NEW_ENTRY;
    let nlibs_at = at.saturating_add(NEW_NLIBS_AT);
    let order = match flags {
        // Written before glibc 2.33: native order of the writer. The
        // string offsets are relative to the header, bounded by the file.
        0 => match guess_order(data, nlibs_at, entries_at, NEW_ENTRY, |_| at) {
            Some((order, _)) => order,
            None => return Err(too_many(data, "new-format", at, NEW_HEADER, NEW_ENTRY)),
        },
        f if f & FLAGS_ENDIAN_MASK == FLAGS_ENDIAN_LITTLE => ByteOrder::Little,
        f if f & FLAGS_ENDIAN_MASK == FLAGS_ENDIAN_BIG => ByteOrder::Big,
        f => return Err(CacheError::BadByteOrder { at, flags: f }),
    };
    let nlibs = order.u32_at(data, nlibs_at).unwrap_or(u32::MAX);
    if u64::from(nlibs) > room {
        return Err(too_many(data, "new-format", at, NEW_HEADER, NEW_ENTRY));
    }
    Ok((order, nlibs))
}

impl LdCache {
    /// Parse a whole cache file. Errors are the cases where ld.so ignores
    /// the cache entirely (`_dl_load_cache_lookup`), plus a compat new
    /// table running past the end of the file (which ld.so would read out
    /// of bounds).
    pub fn parse(bytes: &[u8]) -> Result<LdCache, CacheError> {
        let data = bytes.to_vec();
        let len = data.len() as u64;
        // `_dl_load_cache_lookup` tries the new format first, and requires
        // the file to be strictly larger than the header.
        if data.starts_with(NEW_MAGIC) {
            if len <= NEW_HEADER {
                return Err(CacheError::Truncated {
                    what: "new-format header",
                    needed: NEW_HEADER,
                    len,
                });
            }
            let (order, nlibs) = new_header(&data, 0)?;
            return Ok(LdCache::with_new_table(
                data,
                CacheFormat::New,
                0,
                order,
                nlibs,
            ));
        }
        if !data.starts_with(OLD_MAGIC) {
            return Err(CacheError::BadMagic);
        }
        if len <= OLD_HEADER {
            return Err(CacheError::Truncated {
                what: "old-format header",
                needed: OLD_HEADER,
                len,
            });
        }
        // The old table's end: 16 + 12 × a u32, far from overflowing.
        let table_end = |n: u32| OLD_HEADER.saturating_add(u64::from(n).saturating_mul(OLD_ENTRY));
        let Some((order, nlibs)) =
            guess_order(&data, OLD_NLIBS_AT, OLD_HEADER, OLD_ENTRY, table_end)
        else {
            return Err(too_many(&data, "old-format", 0, OLD_HEADER, OLD_ENTRY));
        };
        let old_end = table_end(nlibs);
        // `ALIGN_CACHE` uses `__alignof__ (struct cache_file_new)`: 8 on
        // most targets, 4 on i386. ldconfig pads the old table to an even
        // count so both agree; accept a header at either.
        for align in [8u64, 4] {
            let at = old_end.div_ceil(align).saturating_mul(align);
            let magic = usize::try_from(at)
                .ok()
                .and_then(|a| data.get(a..a.checked_add(NEW_MAGIC.len())?));
            if at.saturating_add(NEW_HEADER) <= len && magic == Some(NEW_MAGIC) {
                let (order, nlibs) = new_header(&data, at)?;
                return Ok(LdCache::with_new_table(
                    data,
                    CacheFormat::Compat,
                    at,
                    order,
                    nlibs,
                ));
            }
        }
        let entries = (0..u64::from(nlibs))
            .map(|i| {
                let at = OLD_HEADER.saturating_add(i.saturating_mul(OLD_ENTRY));
                let field = |n: u64| {
                    order
                        .u32_at(&data, at.saturating_add(n.saturating_mul(4)))
                        .unwrap_or(u32::MAX)
                };
                RawEntry {
                    flags: field(0),
                    key: field(1),
                    value: field(2),
                    hwcap: 0,
                }
            })
            .collect();
        Ok(LdCache {
            // `guess_order` made the table fit: `old_end <= len`.
            limit: len.saturating_sub(old_end),
            data,
            format: CacheFormat::Old,
            order,
            layout: Layout::Old,
            entries,
            strings: old_end,
            hwcaps: Vec::new(),
            generator: None,
            extension_problem: None,
        })
    }

    fn with_new_table(
        data: Vec<u8>,
        format: CacheFormat,
        at: u64,
        order: ByteOrder,
        nlibs: u32,
    ) -> LdCache {
        let entries = (0..u64::from(nlibs))
            .map(|i| {
                let e = at
                    .saturating_add(NEW_HEADER)
                    .saturating_add(i.saturating_mul(NEW_ENTRY));
                let field = |n: u64| {
                    order
                        .u32_at(&data, e.saturating_add(n.saturating_mul(4)))
                        .unwrap_or(u32::MAX)
                };
                RawEntry {
                    flags: field(0),
                    key: field(1),
                    value: field(2),
                    hwcap: order.u64_at(&data, e.saturating_add(16)).unwrap_or(0),
                }
            })
            .collect();
        let ext_off = order
            .u32_at(&data, at.saturating_add(NEW_EXTENSION_AT))
            .unwrap_or(0);
        // Extension offsets are file offsets (`cache_extension_load` is
        // given the file base), even in a compat file.
        let ext = load_extensions(&data, ext_off, order);
        LdCache {
            limit: data.len() as u64,
            data,
            format,
            order,
            layout: Layout::New,
            entries,
            strings: at,
            hwcaps: ext.hwcaps,
            generator: ext.generator,
            extension_problem: ext.problem,
        }
    }
}
