//! The extension directory of a new-format cache (glibc ≥ 2.32): the
//! generator string and the glibc-hwcaps subdirectory names
//! (`sysdeps/generic/dl-cache.h: cache_extension_*`).

use super::{ByteOrder, CacheError};

/// `cache_extension_magic`, `(uint32_t) -358342284`.
pub(super) const EXTENSION_MAGIC: u32 = 0xeaa4_2174;
const EXT_HEADER: u64 = 8;
const EXT_SECTION: u64 = 16;
pub(super) const EXT_TAG_GENERATOR: u32 = 0;
pub(super) const EXT_TAG_GLIBC_HWCAPS: u32 = 1;

/// What the directory holds, or why ld.so would not use it.
pub(super) struct Extensions {
    /// glibc-hwcaps section: string offsets from the file start.
    pub(super) hwcaps: Vec<u32>,
    /// The generator section's `(offset, size)` in the file.
    pub(super) generator: Option<(u64, u64)>,
    pub(super) problem: Option<CacheError>,
}

/// `cache_extension_load` + `cache_extension_verify` (dl-cache.h). A
/// failure is not fatal to ld.so: it just never finds hwcaps priorities
/// (`glibc_hwcaps_priorities_init` returns early), so every glibc-hwcaps
/// entry gets priority 0 and is skipped.
pub(super) fn load_extensions(data: &[u8], ext_off: u32, order: ByteOrder) -> Extensions {
    let mut out = Extensions {
        hwcaps: Vec::new(),
        generator: None,
        problem: None,
    };
    if ext_off == 0 {
        return out;
    }
    let fail = |reason| Extensions {
        hwcaps: Vec::new(),
        generator: None,
        problem: Some(CacheError::BadExtension {
            offset: ext_off,
            reason,
        }),
    };
    let len = data.len() as u64;
    let base = u64::from(ext_off);
    if !ext_off.is_multiple_of(4) {
        return fail("offset not a multiple of 4");
    }
    // Every offset here is a u32 from the file, so no sum of them can
    // overflow a u64; saturating keeps the comparisons exact regardless.
    if base.saturating_add(EXT_HEADER) > len {
        return fail("directory header extends beyond the end of the file");
    }
    if order.u32_at(data, base) != Some(EXTENSION_MAGIC) {
        return fail("bad magic");
    }
    let count = order
        .u32_at(data, base.saturating_add(4))
        .unwrap_or(u32::MAX);
    let sections = u64::from(count).saturating_mul(EXT_SECTION);
    if base.saturating_add(EXT_HEADER).saturating_add(sections) > len {
        return fail("section array extends beyond the end of the file");
    }
    // Later sections with the same tag replace earlier ones, as in glibc.
    let mut loaded: [Option<(u64, u64)>; 2] = [None, None];
    for i in 0..u64::from(count) {
        let at = base
            .saturating_add(EXT_HEADER)
            .saturating_add(i.saturating_mul(EXT_SECTION));
        let field = |n: u64| {
            order
                .u32_at(data, at.saturating_add(n.saturating_mul(4)))
                .unwrap_or(u32::MAX)
        };
        let (tag, offset, size) = (field(0), u64::from(field(2)), u64::from(field(3)));
        if offset.saturating_add(size) > len {
            return fail("section data extends beyond the end of the file");
        }
        if let Some(slot) = usize::try_from(tag).ok().and_then(|t| loaded.get_mut(t)) {
            *slot = Some((offset, size));
        }
    }
    let section = |tag: u32| {
        let slot = usize::try_from(tag).ok().and_then(|t| loaded.get(t));
        slot.copied().flatten()
    };
    out.generator = section(EXT_TAG_GENERATOR);
    if let Some((offset, size)) = section(EXT_TAG_GLIBC_HWCAPS) {
        // The address test of `cache_extension_verify` is an offset test:
        // the mapping is page-aligned.
        if size != 0 && offset.is_multiple_of(4) && size.is_multiple_of(4) {
            out.hwcaps = (0..size / 4)
                .map(|i| {
                    order
                        .u32_at(data, offset.saturating_add(i.saturating_mul(4)))
                        .unwrap_or(u32::MAX)
                })
                .collect();
        }
    }
    out
}
