//! Answering a name: `search_cache`'s binary search over the table, the
//! flags check, and the choice among glibc-hwcaps and legacy hwcap entries
//! (`elf/dl-cache.c`).

use std::cmp::Ordering;

use super::{CacheAbi, Layout, LdCache, RawEntry};

/// `DL_CACHE_HWCAP_EXTENSION`: the entry's low 32 hwcap bits index the
/// glibc-hwcaps extension section.
pub const DL_CACHE_HWCAP_EXTENSION: u64 = 1 << 62;
/// `DL_CACHE_HWCAP_ISA_LEVEL_MASK`, applied to `hwcap >> 32`.
const ISA_LEVEL_MASK: u64 = (1 << 10) - 1;
/// `_DL_HWCAP_TLS_MASK` / ldconfig's `TLS_HWCAP_BIT`: the legacy `tls`
/// subdirectory.
pub const HWCAP_TLS: u64 = 1 << 63;

/// How entries with legacy hwcap bits (the pre-glibc-hwcaps `tls/`,
/// `x86_64/`, `haswell/`... subdirectories) are treated: glibc ≤ 2.39's
/// `hwcap_exclude` and platform tests in `search_cache`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LegacyHwcaps {
    /// `(GLRO(dl_hwcap) & hwcap_mask) | _DL_HWCAP_PLATFORM |
    /// _DL_HWCAP_TLS_MASK`: a plain entry with any other bit is skipped.
    pub allowed: u64,
    /// `_DL_HWCAP_PLATFORM` where `_DL_PLATFORMS_COUNT` is non-zero, else 0
    /// (no platform test).
    pub platform_mask: u64,
    /// `1 << _dl_string_platform (GLRO(dl_platform))`, or `u64::MAX` when
    /// the platform is not one glibc knows (its -1).
    pub platform: u64,
}

impl LegacyHwcaps {
    /// glibc ≥ 2.40: a plain entry with any hwcap bit is skipped.
    pub const NONE: LegacyHwcaps = LegacyHwcaps {
        allowed: 0,
        platform_mask: 0,
        platform: u64::MAX,
    };
    /// glibc 2.36–2.39 on a CPU with no hwcap bits or platform we model:
    /// only `tls` entries pass. ldconfig ≥ 2.37 writes no legacy entries,
    /// so for caches it wrote this equals [`LegacyHwcaps::NONE`].
    pub const TLS_ONLY: LegacyHwcaps = LegacyHwcaps {
        allowed: HWCAP_TLS,
        platform_mask: 0,
        platform: u64::MAX,
    };

    /// glibc 2.36's x86_64 loader (`sysdeps/x86/cpu-features.c`,
    /// `dl-hwcap.h`, `dl-procinfo.h`): `dl_hwcap` is `HWCAP_X86_64` plus
    /// `HWCAP_X86_AVX512_1` on some Intel CPUs, the mask is
    /// `HWCAP_IMPORTANT`, and the platforms are `haswell` and `xeon_phi`
    /// (bits 50 and 51; Intel only, otherwise AT_PLATFORM "x86_64", unknown).
    pub fn x86_64_glibc_2_36(avx512_1: bool, platform: Option<&str>) -> LegacyHwcaps {
        const FIRST_PLATFORM: u32 = 48;
        let platform_mask = 0xf_u64 << FIRST_PLATFORM;
        let hwcap = (1 << 1) | if avx512_1 { 1 << 2 } else { 0 };
        let platform = match platform {
            Some("haswell") => 1 << (FIRST_PLATFORM + 2),
            Some("xeon_phi") => 1 << (FIRST_PLATFORM + 3),
            _ => u64::MAX,
        };
        LegacyHwcaps {
            allowed: hwcap | platform_mask | HWCAP_TLS,
            platform_mask,
            platform,
        }
    }
}

/// Everything a lookup depends on besides the name.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    pub abi: CacheAbi,
    /// glibc-hwcaps subdirectory names the loader searches, best first
    /// (`--glibc-hwcaps-prepend` names, then the active built-in ones).
    pub hwcaps: &'a [&'a str],
    /// The CPU's `GNU_PROPERTY_X86_ISA_1_*` bits (1 baseline, 2 v2, 4 v3,
    /// 8 v4) for the x86 ISA-level check; `None` derives them from the
    /// `x86-64-vN` names in `hwcaps` (exact unless a mask hid levels the
    /// CPU has).
    pub x86_isa: Option<u32>,
    /// [`LegacyHwcaps::TLS_ONLY`] from [`Query::new`]; see
    /// [`LegacyHwcaps::x86_64_glibc_2_36`] for an exact 2.36 x86_64 loader
    /// and [`LegacyHwcaps::NONE`] for glibc ≥ 2.40.
    pub legacy: LegacyHwcaps,
}

impl<'a> Query<'a> {
    pub fn new(abi: impl Into<CacheAbi>, hwcaps: &'a [&'a str]) -> Query<'a> {
        Query {
            abi: abi.into(),
            hwcaps,
            x86_isa: None,
            legacy: LegacyHwcaps::TLS_ONLY,
        }
    }

    fn isa_bits(&self) -> u32 {
        if let Some(bits) = self.x86_isa {
            return bits;
        }
        // `sysdeps/x86_64/dl-hwcaps-subdirs.c` activates x86-64-vN exactly
        // when the CPU has ISA level N, and each level implies the lower.
        let level = self
            .hwcaps
            .iter()
            .filter_map(|h| match *h {
                "x86-64-v2" => Some(2),
                "x86-64-v3" => Some(3),
                "x86-64-v4" => Some(4),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        // Levels 1 to 4: bits 0 to level - 1.
        (1u32 << level).saturating_sub(1)
    }
}

pub(super) fn is_hwcap_extension(hwcap: u64) -> bool {
    // `dl_cache_hwcap_extension`: only bit 62 in the upper half, ignoring
    // the ISA level bits.
    ((hwcap >> 32) & !ISA_LEVEL_MASK) == (DL_CACHE_HWCAP_EXTENSION >> 32)
}

/// `_dl_cache_libcmp` with unsigned `char`s (x86 and Arm differ; both
/// agree on the ASCII names a cache holds), for writers that sort.
pub fn libcmp_for_sort(p1: &[u8], p2: &[u8]) -> Ordering {
    libcmp(p1, p2, false)
}

/// `_dl_cache_libcmp` (elf/dl-cache.c): runs of digits compare as numbers
/// (in C `int`, wrapping like the loader's arithmetic), a digit sorts after
/// any non-digit, everything else by `char` value.
pub(super) fn libcmp(p1: &[u8], p2: &[u8], signed_char: bool) -> Ordering {
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let ch = |b: u8| -> i32 {
        if signed_char {
            i32::from(b as i8)
        } else {
            i32::from(b)
        }
    };
    let number = |s: &[u8], i: &mut usize| -> i32 {
        let mut v: i32 = 0;
        while at(s, *i).is_ascii_digit() {
            let digit = at(s, *i).wrapping_sub(b'0');
            v = v.wrapping_mul(10).wrapping_add(i32::from(digit));
            // Bounded by the slice: past its end `at` gives NUL.
            *i = i.saturating_add(1);
        }
        v
    };
    let (mut i, mut j) = (0usize, 0usize);
    loop {
        let c1 = at(p1, i);
        if c1 == 0 {
            break;
        }
        let c2 = at(p2, j);
        if c1.is_ascii_digit() {
            if !c2.is_ascii_digit() {
                return Ordering::Greater;
            }
            let v1 = number(p1, &mut i);
            let v2 = number(p2, &mut j);
            let d = v1.wrapping_sub(v2);
            if d != 0 {
                return d.cmp(&0);
            }
        } else if c2.is_ascii_digit() {
            return Ordering::Less;
        } else if c1 != c2 {
            // The sign of `c1 - c2`, which cannot overflow an `int`.
            return ch(c1).cmp(&ch(c2));
        } else {
            i = i.saturating_add(1);
            j = j.saturating_add(1);
        }
    }
    // The sign of `-c2`.
    0.cmp(&ch(at(p2, j)))
}

impl LdCache {
    /// What ld.so gets from this cache for DT_NEEDED `name`: the loader's
    /// flags id (`_DL_CACHE_DEFAULT_ID`, see
    /// [`default_flags_id`](super::default_flags_id), or a
    /// [`CacheAbi`]) and the glibc-hwcaps subdirectories it searches, best
    /// first. A path that is not UTF-8 gives `None`; use [`Self::lookup_with`]
    /// for bytes.
    pub fn lookup(&self, name: &str, abi: impl Into<CacheAbi>, hwcaps: &[&str]) -> Option<&str> {
        let query = Query::new(abi, hwcaps);
        self.lookup_with(name.as_bytes(), &query)
            .and_then(|p| std::str::from_utf8(p).ok())
    }

    /// [`Self::lookup`] with every loader parameter explicit.
    pub fn lookup_with(&self, name: &[u8], query: &Query<'_>) -> Option<&[u8]> {
        // ld.so gets a C string.
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        let best = self.search(name, query)?;
        Some(self.string(best.value))
    }

    /// `elf/dl-cache.c: search_cache`, rule for rule.
    fn search(&self, name: &[u8], q: &Query<'_>) -> Option<&RawEntry> {
        let signed = q.abi.signed_char;
        let entry = |i: i64| usize::try_from(i).ok().and_then(|i| self.entries.get(i));
        // A key index failing `_dl_cache_verify_ptr` reads as "no match".
        let matches =
            |e: &RawEntry| self.verify(e.key) && libcmp(name, self.string(e.key), signed).is_eq();
        let mut priorities: Option<Vec<u32>> = None;
        let mut best: Option<&RawEntry> = None;
        let mut best_priority = 0u32;

        // Binary search over the descending table; `int` bounds in glibc.
        let mut left: i64 = 0;
        // Indices stay within -1..=len: nothing here can overflow, and if
        // it could, `None` (nothing found yet) would be the answer.
        let mut right: i64 = i64::try_from(self.entries.len()).ok()?.checked_sub(1)?;
        while left <= right {
            let mut middle = left.checked_add(right)? / 2;
            let e = entry(middle)?;
            // search_cache: a bogus key index ends the whole lookup.
            if !self.verify(e.key) {
                return None;
            }
            let cmp = libcmp(name, self.string(e.key), signed);
            if cmp.is_eq() {
                // search_cache: back up to the first entry with this name;
                // LEFT marks the last entry known to match.
                left = middle;
                while middle > 0 {
                    let before = middle.saturating_sub(1);
                    match entry(before) {
                        Some(prev) if matches(prev) => middle = before,
                        _ => break,
                    }
                }
                // search_cache: scan forward (up to RIGHT, not the table
                // end) over the equal names, choosing by flags and hwcaps.
                loop {
                    let lib = entry(middle)?;
                    if middle > left && !matches(lib) {
                        break;
                    }
                    let mut stop = false;
                    'entry: {
                        // _dl_cache_check_flags, and the value index must
                        // pass _dl_cache_verify_ptr.
                        if !q.abi.accepts(lib.flags) || !self.verify(lib.value) {
                            break 'entry;
                        }
                        let mut named = false;
                        if self.layout == Layout::New {
                            named = is_hwcap_extension(lib.hwcap);
                            // dl_cache_hwcap_isa_level_compatible (x86).
                            if named && q.abi.x86_isa_check {
                                let level = ((lib.hwcap >> 32) & ISA_LEVEL_MASK) as u32;
                                // C's `1 << level` on x86 shifts mod 32.
                                let bit = 1u32.wrapping_shl(level);
                                if bit & q.isa_bits() != bit {
                                    break 'entry;
                                }
                            }
                            // ldconfig sorts glibc-hwcaps entries first: the
                            // first plain entry after a match ends the scan.
                            if !named && best.is_some() {
                                stop = true;
                                break 'entry;
                            }
                            // Legacy hwcaps (`hwcap_exclude`), glibc ≤ 2.39.
                            if !named && lib.hwcap & !q.legacy.allowed != 0 {
                                break 'entry;
                            }
                            let platform = lib.hwcap & q.legacy.platform_mask;
                            if platform != 0 && platform != q.legacy.platform {
                                break 'entry;
                            }
                            // glibc_hwcaps_priority: 0 = unusable, lower wins;
                            // ties keep the earlier entry.
                            if named {
                                let prio =
                                    priorities.get_or_insert_with(|| self.priorities(q.hwcaps));
                                // The uint32_t parameter keeps the low half.
                                let index = usize::try_from(lib.hwcap as u32).ok();
                                let p = index.and_then(|i| prio.get(i).copied()).unwrap_or(0);
                                if p == 0 || (best.is_some() && p >= best_priority) {
                                    break 'entry;
                                }
                                best_priority = p;
                            }
                        }
                        best = Some(lib);
                        // An exact flags match of a plain entry cannot be
                        // beaten.
                        if !named && lib.flags == q.abi.default_id {
                            stop = true;
                        }
                    }
                    if stop {
                        break;
                    }
                    middle = middle.saturating_add(1);
                    if middle > right {
                        break;
                    }
                }
                return best;
            }
            if cmp.is_lt() {
                left = middle.checked_add(1)?;
            } else {
                right = middle.checked_sub(1)?;
            }
        }
        best
    }

    /// `glibc_hwcaps_priorities_init`: merge the cache's sorted name list
    /// with the loader's names sorted by name (`sort_priorities_by_name`, a
    /// stable sort), giving each cache name its priority (position in
    /// `hwcaps` + 1) or 0.
    fn priorities(&self, hwcaps: &[&str]) -> Vec<u32> {
        let mut wanted: Vec<(&[u8], u32)> = hwcaps
            .iter()
            .enumerate()
            .map(|(i, h)| {
                (
                    h.as_bytes(),
                    u32::try_from(i.saturating_add(1)).unwrap_or(u32::MAX),
                )
            })
            .collect();
        wanted.sort_by(|a, b| a.0.cmp(b.0));
        let len = self.data.len() as u64;
        let mut out = Vec::with_capacity(self.hwcaps.len());
        let mut right = wanted.iter().peekable();
        for &off in &self.hwcaps {
            let mut prio = 0;
            // glibc does not advance past an index >= cachesize (its loop
            // would never end); we give it 0 and move on.
            if u64::from(off) < len {
                let name = self.hwcaps_name(off);
                while let Some(&&(w, p)) = right.peek() {
                    match name.cmp(w) {
                        Ordering::Equal => {
                            prio = p;
                            right.next();
                            break;
                        }
                        Ordering::Less => break,
                        Ordering::Greater => {
                            right.next();
                        }
                    }
                }
            }
            out.push(prio);
        }
        out
    }
}
