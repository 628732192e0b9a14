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

use std::borrow::Cow;
use std::cmp::Ordering;

/// `FLAG_*` values of `sysdeps/generic/ldconfig.h`, as stored in each
/// entry's `flags`.
pub const FLAG_ELF: u32 = 0x0001;
pub const FLAG_ELF_LIBC5: u32 = 0x0002;
pub const FLAG_ELF_LIBC6: u32 = 0x0003;
pub const FLAG_TYPE_MASK: u32 = 0x00ff;
pub const FLAG_REQUIRED_MASK: u32 = 0xff00;
pub const FLAG_SPARC_LIB64: u32 = 0x0100;
pub const FLAG_IA64_LIB64: u32 = 0x0200;
pub const FLAG_X8664_LIB64: u32 = 0x0300;
pub const FLAG_S390_LIB64: u32 = 0x0400;
pub const FLAG_POWERPC_LIB64: u32 = 0x0500;
pub const FLAG_MIPS64_LIBN32: u32 = 0x0600;
pub const FLAG_MIPS64_LIBN64: u32 = 0x0700;
pub const FLAG_X8664_LIBX32: u32 = 0x0800;
pub const FLAG_ARM_LIBHF: u32 = 0x0900;
pub const FLAG_AARCH64_LIB64: u32 = 0x0a00;
pub const FLAG_ARM_LIBSF: u32 = 0x0b00;
pub const FLAG_MIPS_LIB32_NAN2008: u32 = 0x0c00;
pub const FLAG_MIPS64_LIBN32_NAN2008: u32 = 0x0d00;
pub const FLAG_MIPS64_LIBN64_NAN2008: u32 = 0x0e00;
pub const FLAG_RISCV_FLOAT_ABI_SOFT: u32 = 0x0f00;
pub const FLAG_RISCV_FLOAT_ABI_DOUBLE: u32 = 0x1000;
/// LoongArch ids exist from glibc 2.38; earlier LoongArch ldconfigs used
/// the generic `FLAG_ELF_LIBC6`.
pub const FLAG_LARCH_FLOAT_ABI_SOFT: u32 = 0x1100;
pub const FLAG_LARCH_FLOAT_ABI_DOUBLE: u32 = 0x1200;

/// `DL_CACHE_HWCAP_EXTENSION`: the entry's low 32 hwcap bits index the
/// glibc-hwcaps extension section.
pub const DL_CACHE_HWCAP_EXTENSION: u64 = 1 << 62;
/// `DL_CACHE_HWCAP_ISA_LEVEL_MASK`, applied to `hwcap >> 32`.
const ISA_LEVEL_MASK: u64 = (1 << 10) - 1;
/// `_DL_HWCAP_TLS_MASK` / ldconfig's `TLS_HWCAP_BIT`: the legacy `tls`
/// subdirectory.
pub const HWCAP_TLS: u64 = 1 << 63;

const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
/// `CACHEMAGIC_NEW CACHE_VERSION`: ld.so compares both at once.
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// `sizeof (struct cache_file)`: 11 magic bytes, padded to 12, then nlibs.
const OLD_HEADER: u64 = 16;
const OLD_NLIBS_AT: u64 = 12;
const OLD_ENTRY: u64 = 12;
/// `sizeof (struct cache_file_new)`, asserted to be 48 in dl-cache.h.
const NEW_HEADER: u64 = 48;
const NEW_ENTRY: u64 = 24;
const NEW_NLIBS_AT: u64 = 20;
const NEW_FLAGS_AT: u64 = 28;
const NEW_EXTENSION_AT: u64 = 32;
/// `cache_extension_magic`, `(uint32_t) -358342284`.
const EXTENSION_MAGIC: u32 = 0xeaa4_2174;
const EXT_HEADER: u64 = 8;
const EXT_SECTION: u64 = 16;
const EXT_TAG_GENERATOR: u32 = 0;
const EXT_TAG_GLIBC_HWCAPS: u32 = 1;

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

impl ByteOrder {
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
}

/// What `_dl_cache_check_flags` and `_DL_CACHE_DEFAULT_ID` are for one
/// loader, plus the two loader properties that change how entries compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheAbi {
    /// `_DL_CACHE_DEFAULT_ID`: an acceptable plain entry with exactly these
    /// flags ends the scan (`search_cache`).
    pub default_id: u32,
    /// The other flags value `_dl_cache_check_flags` accepts: `FLAG_ELF`
    /// for the generic check (`sysdeps/generic/dl-cache.h`), the hard- or
    /// soft-float id on ARM (`sysdeps/unix/sysv/linux/arm/dl-cache.h`),
    /// none where the check is `flags == _DL_CACHE_DEFAULT_ID`.
    pub also_accepts: Option<u32>,
    /// `_dl_cache_libcmp` subtracts plain `char`s, so bytes ≥ 0x80 order
    /// differently where `char` is unsigned (ARM, AArch64, POWER, s390,
    /// RISC-V).
    pub signed_char: bool,
    /// x86 loaders also check a glibc-hwcaps entry's ISA level
    /// (`sysdeps/x86/dl-isa-level.h`); elsewhere that check is `true`.
    pub x86_isa_check: bool,
}

impl CacheAbi {
    /// Whether `_dl_cache_check_flags (flags)` holds.
    pub fn accepts(&self, flags: u32) -> bool {
        flags == self.default_id || self.also_accepts == Some(flags)
    }
}

impl From<u32> for CacheAbi {
    /// The loader whose `_DL_CACHE_DEFAULT_ID` is `id`. Id 3 is taken to be
    /// the generic check (`flags == 1 || flags == 3`, i386 and friends);
    /// ARM, which also uses id 3 but accepts 0x903 or 0xb03 instead of 1,
    /// needs [`cache_abi`].
    fn from(id: u32) -> CacheAbi {
        let generic = id == FLAG_ELF_LIBC6;
        let unsigned_char = matches!(
            id & FLAG_REQUIRED_MASK,
            FLAG_S390_LIB64
                | FLAG_POWERPC_LIB64
                | FLAG_ARM_LIBHF
                | FLAG_AARCH64_LIB64
                | FLAG_ARM_LIBSF
                | FLAG_RISCV_FLOAT_ABI_SOFT
                | FLAG_RISCV_FLOAT_ABI_DOUBLE
        );
        CacheAbi {
            default_id: id,
            also_accepts: generic.then_some(FLAG_ELF),
            signed_char: !unsigned_char,
            x86_isa_check: generic || id == 0x303 || id == 0x803,
        }
    }
}

const EM_SPARC: u16 = 2;
const EM_386: u16 = 3;
const EM_68K: u16 = 4;
const EM_MIPS: u16 = 8;
const EM_PARISC: u16 = 15;
const EM_SPARC32PLUS: u16 = 18;
const EM_PPC: u16 = 20;
const EM_PPC64: u16 = 21;
const EM_S390: u16 = 22;
const EM_ARM: u16 = 40;
const EM_SH: u16 = 42;
const EM_SPARCV9: u16 = 43;
const EM_IA_64: u16 = 50;
const EM_X86_64: u16 = 62;
const EM_OPENRISC: u16 = 92;
const EM_ALTERA_NIOS2: u16 = 113;
const EM_AARCH64: u16 = 183;
const EM_MICROBLAZE: u16 = 189;
const EM_ARCV2: u16 = 195;
const EM_RISCV: u16 = 243;
const EM_CSKY: u16 = 252;
const EM_LOONGARCH: u16 = 258;
const EM_ALPHA: u16 = 0x9026;

const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;
const EF_MIPS_ABI2: u32 = 0x20;
const EF_MIPS_NAN2008: u32 = 0x400;
const EF_RISCV_FLOAT_ABI: u32 = 0x6;
const EF_RISCV_FLOAT_ABI_SOFT: u32 = 0x0;
const EF_RISCV_FLOAT_ABI_DOUBLE: u32 = 0x4;
const EF_LARCH_ABI_MODIFIER_MASK: u32 = 0x7;
const EF_LARCH_ABI_DOUBLE_FLOAT: u32 = 0x3;

/// The cache rules of the glibc loader for an ELF `machine`, class and
/// `e_flags` (of the loader or of the main program, which must agree), from
/// `sysdeps/unix/sysv/linux/*/dl-cache.h`. `None`: not a glibc Linux
/// target, or a float ABI glibc has no loader for.
pub fn cache_abi(machine: u16, is_64: bool, e_flags: u32) -> Option<CacheAbi> {
    let strict = |id: u32, signed_char: bool| CacheAbi {
        default_id: id,
        also_accepts: None,
        signed_char,
        x86_isa_check: false,
    };
    let generic = |signed_char: bool| CacheAbi {
        default_id: FLAG_ELF_LIBC6,
        also_accepts: Some(FLAG_ELF),
        signed_char,
        x86_isa_check: false,
    };
    let libc6 = FLAG_ELF_LIBC6;
    let abi = match (machine, is_64) {
        (EM_X86_64, true) => CacheAbi {
            x86_isa_check: true,
            ..strict(FLAG_X8664_LIB64 | libc6, true)
        },
        // x32: `x86_64/x32/dl-cache.h` redefines the id; the strict check
        // of x86_64's dl-cache.h then compares against it.
        (EM_X86_64, false) => CacheAbi {
            x86_isa_check: true,
            ..strict(FLAG_X8664_LIBX32 | libc6, true)
        },
        (EM_386, false) => CacheAbi {
            x86_isa_check: true,
            ..generic(true)
        },
        (EM_AARCH64, true) => strict(FLAG_AARCH64_LIB64 | libc6, false),
        // ARM keeps the generic default id but its check accepts the
        // float-ABI id or plain libc6 (`arm/dl-cache.h`).
        (EM_ARM, false) => {
            let float = if e_flags & EF_ARM_ABI_FLOAT_HARD != 0 {
                FLAG_ARM_LIBHF
            } else {
                FLAG_ARM_LIBSF
            };
            CacheAbi {
                default_id: libc6,
                also_accepts: Some(float | libc6),
                signed_char: false,
                x86_isa_check: false,
            }
        }
        (EM_PPC64, true) => strict(FLAG_POWERPC_LIB64 | libc6, false),
        (EM_PPC, false) => generic(false),
        (EM_S390, true) => strict(FLAG_S390_LIB64 | libc6, false),
        (EM_S390, false) => generic(false),
        (EM_SPARCV9, true) => strict(FLAG_SPARC_LIB64 | libc6, true),
        (EM_SPARC | EM_SPARC32PLUS, false) => generic(true),
        (EM_IA_64, true) => strict(FLAG_IA64_LIB64 | libc6, true),
        (EM_MIPS, _) => {
            let nan2008 = e_flags & EF_MIPS_NAN2008 != 0;
            let n32 = !is_64 && e_flags & EF_MIPS_ABI2 != 0;
            match (is_64, n32, nan2008) {
                (true, _, false) => strict(FLAG_MIPS64_LIBN64 | libc6, true),
                (true, _, true) => strict(FLAG_MIPS64_LIBN64_NAN2008 | libc6, true),
                (false, true, false) => strict(FLAG_MIPS64_LIBN32 | libc6, true),
                (false, true, true) => strict(FLAG_MIPS64_LIBN32_NAN2008 | libc6, true),
                (false, false, true) => strict(FLAG_MIPS_LIB32_NAN2008 | libc6, true),
                // Legacy-NaN o32 keeps the generic check (`mips/dl-cache.h`).
                (false, false, false) => generic(true),
            }
        }
        (EM_RISCV, _) => match e_flags & EF_RISCV_FLOAT_ABI {
            EF_RISCV_FLOAT_ABI_DOUBLE => strict(FLAG_RISCV_FLOAT_ABI_DOUBLE | libc6, false),
            EF_RISCV_FLOAT_ABI_SOFT => strict(FLAG_RISCV_FLOAT_ABI_SOFT | libc6, false),
            _ => return None,
        },
        (EM_LOONGARCH, true) => {
            if e_flags & EF_LARCH_ABI_MODIFIER_MASK == EF_LARCH_ABI_DOUBLE_FLOAT {
                strict(FLAG_LARCH_FLOAT_ABI_DOUBLE | libc6, true)
            } else {
                strict(FLAG_LARCH_FLOAT_ABI_SOFT | libc6, true)
            }
        }
        (EM_68K | EM_SH | EM_PARISC | EM_MICROBLAZE | EM_ALTERA_NIOS2 | EM_OPENRISC, false) => {
            generic(true)
        }
        (EM_ARCV2 | EM_CSKY, false) => generic(false),
        (EM_ALPHA, true) => generic(true),
        _ => return None,
    };
    Some(abi)
}

/// `_DL_CACHE_DEFAULT_ID` of the loader for `machine` and class, assuming
/// the float/NaN ABI every current distribution uses (ARM hard-float,
/// RISC-V and LoongArch double-float, MIPS legacy NaN, o32 for 32-bit
/// MIPS). E.g. x86_64 → 0x303, i386 → 3, x32 → 0x803, AArch64 → 0xa03.
/// ARM's id is the generic 3; use [`cache_abi`] to get its check right.
pub fn default_flags_id(machine: u16, is_64: bool) -> Option<u32> {
    let e_flags = match machine {
        EM_ARM => EF_ARM_ABI_FLOAT_HARD,
        EM_RISCV => EF_RISCV_FLOAT_ABI_DOUBLE,
        EM_LOONGARCH => EF_LARCH_ABI_DOUBLE_FLOAT,
        _ => 0,
    };
    cache_abi(machine, is_64, e_flags).map(|a| a.default_id)
}

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
        (1u32 << level) - 1
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
    /// The flags as `ldconfig -p` prints them (`elf/cache.c: print_entry`,
    /// glibc 2.36 wording plus the later LoongArch ids), e.g. "libc6,x86-64".
    pub fn flags_description(&self) -> String {
        let flags = self.flags;
        let mut s = String::from(match flags & FLAG_TYPE_MASK {
            0 => "libc4",
            FLAG_ELF => "ELF",
            FLAG_ELF_LIBC5 => "libc5",
            FLAG_ELF_LIBC6 => "libc6",
            _ => "unknown",
        });
        let required = match flags & FLAG_REQUIRED_MASK {
            0 => "",
            FLAG_SPARC_LIB64 | FLAG_S390_LIB64 | FLAG_POWERPC_LIB64 | FLAG_MIPS64_LIBN64 => {
                ",64bit"
            }
            FLAG_IA64_LIB64 => ",IA-64",
            FLAG_X8664_LIB64 => ",x86-64",
            FLAG_MIPS64_LIBN32 => ",N32",
            FLAG_X8664_LIBX32 => ",x32",
            FLAG_ARM_LIBHF => ",hard-float",
            FLAG_AARCH64_LIB64 => ",AArch64",
            FLAG_ARM_LIBSF | FLAG_RISCV_FLOAT_ABI_SOFT | FLAG_LARCH_FLOAT_ABI_SOFT => ",soft-float",
            FLAG_MIPS_LIB32_NAN2008 => ",nan2008",
            FLAG_MIPS64_LIBN32_NAN2008 => ",N32,nan2008",
            FLAG_MIPS64_LIBN64_NAN2008 => ",64bit,nan2008",
            FLAG_RISCV_FLOAT_ABI_DOUBLE | FLAG_LARCH_FLOAT_ABI_DOUBLE => ",double-float",
            other => {
                s.push_str(&format!(",{other}"));
                ""
            }
        };
        s.push_str(required);
        s
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

fn bytes_at<const N: usize>(data: &[u8], off: u64) -> Option<[u8; N]> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(N)?;
    data.get(start..end)?.try_into().ok()
}

fn u32_at(data: &[u8], off: u64, order: ByteOrder) -> Option<u32> {
    bytes_at::<4>(data, off).map(|b| order.u32(b))
}

fn u64_at(data: &[u8], off: u64, order: ByteOrder) -> Option<u64> {
    bytes_at::<8>(data, off).map(|b| order.u64(b))
}

/// The NUL-terminated string at `off`; the end of the file terminates it
/// too (ld.so would read the zero fill of the mapping's last page).
fn cstr_at(data: &[u8], off: u64) -> &[u8] {
    let Some(rest) = usize::try_from(off).ok().and_then(|o| data.get(o..)) else {
        return &[];
    };
    match rest.iter().position(|&b| b == 0) {
        Some(n) => &rest[..n],
        None => rest,
    }
}

fn is_hwcap_extension(hwcap: u64) -> bool {
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
fn libcmp(p1: &[u8], p2: &[u8], signed_char: bool) -> Ordering {
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
            v = v.wrapping_mul(10).wrapping_add(i32::from(at(s, *i) - b'0'));
            *i += 1;
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
            return (ch(c1) - ch(c2)).cmp(&0);
        } else {
            i += 1;
            j += 1;
        }
    }
    (-ch(at(p2, j))).cmp(&0)
}

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
    let fits = |n: u32| u64::from(n) <= room / entry_size;
    let plausible = |order: ByteOrder, n: u32| {
        (0..u64::from(n)).all(|i| {
            let at = entries_at + i * entry_size;
            let ok = |off: u64| {
                u32_at(data, off, order).is_some_and(|v| {
                    strings_at(n)
                        .checked_add(u64::from(v))
                        .is_some_and(|o| o < len)
                })
            };
            ok(at + 4) && ok(at + 8)
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
    let nlibs_at = at
        + if header == OLD_HEADER {
            OLD_NLIBS_AT
        } else {
            NEW_NLIBS_AT
        };
    let raw = bytes_at::<4>(data, nlibs_at).unwrap_or_default();
    CacheError::TooManyEntries {
        format,
        at,
        nlibs: u32::from_le_bytes(raw),
        nlibs_swapped: u32::from_be_bytes(raw),
        fits: len.saturating_sub(at + header) / entry,
        len,
    }
}

/// Byte order of the new-format header at `at`, and its `nlibs`, checked
/// to fit in the file (`cache_file_new_matches_endian`, then the corruption
/// check of `_dl_load_cache_lookup`).
fn new_header(data: &[u8], at: u64) -> Result<(ByteOrder, u32), CacheError> {
    let len = data.len() as u64;
    let flags = bytes_at::<1>(data, at + NEW_FLAGS_AT).map_or(0, |b| b[0]);
    let entries_at = at + NEW_HEADER;
    let room = len.saturating_sub(entries_at) / NEW_ENTRY;
    let order = match flags {
        // Written before glibc 2.33: native order of the writer. The
        // string offsets are relative to the header, bounded by the file.
        0 => match guess_order(data, at + NEW_NLIBS_AT, entries_at, NEW_ENTRY, |_| at) {
            Some((order, _)) => order,
            None => return Err(too_many(data, "new-format", at, NEW_HEADER, NEW_ENTRY)),
        },
        f if f & 3 == 2 => ByteOrder::Little,
        f if f & 3 == 3 => ByteOrder::Big,
        f => return Err(CacheError::BadByteOrder { at, flags: f }),
    };
    let nlibs = u32_at(data, at + NEW_NLIBS_AT, order).unwrap_or(u32::MAX);
    if u64::from(nlibs) > room {
        return Err(too_many(data, "new-format", at, NEW_HEADER, NEW_ENTRY));
    }
    Ok((order, nlibs))
}

struct Extensions {
    hwcaps: Vec<u32>,
    generator: Option<(u64, u64)>,
    problem: Option<CacheError>,
}

/// `cache_extension_load` + `cache_extension_verify` (dl-cache.h). A
/// failure is not fatal to ld.so: it just never finds hwcaps priorities
/// (`glibc_hwcaps_priorities_init` returns early), so every glibc-hwcaps
/// entry gets priority 0 and is skipped.
fn load_extensions(data: &[u8], ext_off: u32, order: ByteOrder) -> Extensions {
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
    if base + EXT_HEADER > len {
        return fail("directory header extends beyond the end of the file");
    }
    if u32_at(data, base, order) != Some(EXTENSION_MAGIC) {
        return fail("bad magic");
    }
    let count = u32_at(data, base + 4, order).unwrap_or(u32::MAX);
    if base + EXT_HEADER + u64::from(count) * EXT_SECTION > len {
        return fail("section array extends beyond the end of the file");
    }
    // Later sections with the same tag replace earlier ones, as in glibc.
    let mut loaded: [Option<(u64, u64)>; 2] = [None, None];
    for i in 0..u64::from(count) {
        let at = base + EXT_HEADER + i * EXT_SECTION;
        let field = |n: u64| u32_at(data, at + 4 * n, order).unwrap_or(u32::MAX);
        let (tag, offset, size) = (field(0), u64::from(field(2)), u64::from(field(3)));
        if offset + size > len {
            return fail("section data extends beyond the end of the file");
        }
        if let Some(slot) = usize::try_from(tag).ok().and_then(|t| loaded.get_mut(t)) {
            *slot = Some((offset, size));
        }
    }
    out.generator = loaded[EXT_TAG_GENERATOR as usize];
    if let Some((offset, size)) = loaded[EXT_TAG_GLIBC_HWCAPS as usize] {
        // The address test of `cache_extension_verify` is an offset test:
        // the mapping is page-aligned.
        if size != 0 && offset.is_multiple_of(4) && size.is_multiple_of(4) {
            out.hwcaps = (0..size / 4)
                .map(|i| u32_at(data, offset + 4 * i, order).unwrap_or(u32::MAX))
                .collect();
        }
    }
    out
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
        let Some((order, nlibs)) = guess_order(&data, OLD_NLIBS_AT, OLD_HEADER, OLD_ENTRY, |n| {
            OLD_HEADER + u64::from(n) * OLD_ENTRY
        }) else {
            return Err(too_many(&data, "old-format", 0, OLD_HEADER, OLD_ENTRY));
        };
        let old_end = OLD_HEADER + u64::from(nlibs) * OLD_ENTRY;
        // `ALIGN_CACHE` uses `__alignof__ (struct cache_file_new)`: 8 on
        // most targets, 4 on i386. ldconfig pads the old table to an even
        // count so both agree; accept a header at either.
        for align in [8u64, 4] {
            let at = old_end.div_ceil(align) * align;
            let magic = usize::try_from(at)
                .ok()
                .and_then(|a| data.get(a..a.checked_add(NEW_MAGIC.len())?));
            if at + NEW_HEADER <= len && magic == Some(NEW_MAGIC) {
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
                let at = OLD_HEADER + i * OLD_ENTRY;
                let field = |n: u64| u32_at(&data, at + 4 * n, order).unwrap_or(u32::MAX);
                RawEntry {
                    flags: field(0),
                    key: field(1),
                    value: field(2),
                    hwcap: 0,
                }
            })
            .collect();
        Ok(LdCache {
            limit: len - old_end,
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
                let e = at + NEW_HEADER + i * NEW_ENTRY;
                let field = |n: u64| u32_at(&data, e + 4 * n, order).unwrap_or(u32::MAX);
                RawEntry {
                    flags: field(0),
                    key: field(1),
                    value: field(2),
                    hwcap: u64_at(&data, e + 16, order).unwrap_or(0),
                }
            })
            .collect();
        let ext_off = u32_at(&data, at + NEW_EXTENSION_AT, order).unwrap_or(0);
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
        cstr_at(&self.data, self.strings + u64::from(index))
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

    /// What ld.so gets from this cache for DT_NEEDED `name`: the loader's
    /// flags id (`_DL_CACHE_DEFAULT_ID`, see [`default_flags_id`], or a
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
        let mut right: i64 = i64::try_from(self.entries.len()).ok()? - 1;
        while left <= right {
            let mut middle = (left + right) / 2;
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
                    match entry(middle - 1) {
                        Some(prev) if matches(prev) => middle -= 1,
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
                    middle += 1;
                    if middle > right {
                        break;
                    }
                }
                return best;
            }
            if cmp.is_lt() {
                left = middle + 1;
            } else {
                right = middle - 1;
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
            .map(|(i, h)| (h.as_bytes(), u32::try_from(i + 1).unwrap_or(u32::MAX)))
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
                let start = self.strings + u64::from(index);
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
            if i > 0 {
                let prev = self.string(self.entries[i - 1].key);
                let cur = self.string(e.key);
                // The writer's `char` signedness is unknown: complain only
                // if the order is wrong under both.
                if libcmp(prev, cur, true).is_lt() && libcmp(prev, cur, false).is_lt() {
                    return Err(CacheError::Unsorted {
                        prev: i - 1,
                        entry: i,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    const LDCONFIG: &str = "/sbin/ldconfig";
    const X86_64: u32 = 0x303;
    const I386: u32 = 3;
    const X32: u32 = 0x803;
    const HOST_LDSO: &str = "/lib64/ld-linux-x86-64.so.2";
    const HOST_LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";
    const V3: &[&str] = &["x86-64-v3", "x86-64-v2"];
    const V2: &[&str] = &["x86-64-v2"];

    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/ldcache")
    }

    fn ok(cmd: &mut Command) -> bool {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn stdout(cmd: &mut Command) -> String {
        let out = cmd.output().expect("spawn");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Fails the test, saying what is missing, unless ldconfig can run.
    fn need_tools() {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        assert!(root, "needs root: ldconfig -r chroots");
        assert!(Path::new(LDCONFIG).exists(), "needs {LDCONFIG}");
        assert!(ok(Command::new("cc").arg("--version")), "needs cc");
    }

    /// x86-64 libraries: (soname, directory under the root).
    const LIBS64: &[(&str, &str)] = &[
        ("libfoo.so.1", "usr/lib/x86_64-linux-gnu"),
        (
            "libfoo.so.1",
            "usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3",
        ),
        ("libbar.so.2", "lib"),
        ("libbaz.so.3", "opt/x/lib"),
        ("libdup.so.7", "opt/x/lib"),
        ("libdup.so.7", "usr/lib/x86_64-linux-gnu"),
        ("libnum.so.9", "lib"),
        ("libnum.so.10", "lib"),
        ("libi.so.1", "usr/lib/x86_64-linux-gnu"),
    ];

    /// Libraries in legacy hwcaps subdirectories (glibc ≤ 2.36 ldconfig
    /// gives them hwcap bits), each shadowing a plain one in /lib.
    const LEGACY: &[(&str, &str)] = &[
        ("libtl.so.1", "lib/tls"),
        ("libxx.so.1", "lib/x86_64"),
        ("libhw.so.1", "lib/haswell"),
    ];

    /// A tiny root filesystem with libraries, built at test time.
    struct Fixture {
        /// Holds the temporary directory alive.
        _dir: tempfile::TempDir,
        root: PathBuf,
        /// Scratch space outside the root.
        build: PathBuf,
        /// i386 and x32 libraries could be built (binutils only).
        has_32: bool,
        /// The host's x86-64 libc and ld.so were copied in.
        has_libc: bool,
    }

    impl Fixture {
        /// The standard root: [`LIBS64`], i386/x32 libraries and the host's
        /// libc and ld.so, plus the [`LEGACY`] libraries if asked.
        fn build(legacy: bool) -> Fixture {
            let mut libs: Vec<(&str, &str)> = LIBS64.to_vec();
            if legacy {
                for &(soname, dir) in LEGACY {
                    libs.push((soname, dir));
                    libs.push((soname, "lib"));
                }
            }
            Fixture::build_from(&libs, true)
        }

        fn build_from(libs: &[(&str, &str)], extras: bool) -> Fixture {
            need_tools();
            let dir = tempfile::tempdir().unwrap();
            // Build artefacts stay out of the root.
            let root = dir.path().join("root");
            let build = dir.path().join("build");
            fs::create_dir_all(&build).unwrap();
            fs::create_dir_all(root.join("etc")).unwrap();
            fs::write(root.join("etc/ld.so.conf"), "/opt/x/lib\n/lib\n").unwrap();
            let src = testdata().join("lib.c");
            for &(soname, dir) in libs {
                fs::create_dir_all(root.join(dir)).unwrap();
                let out = root.join(dir).join(soname);
                let status = Command::new("cc")
                    .args(["-shared", "-fPIC", "-o"])
                    .arg(&out)
                    .arg(format!("-Wl,-soname,{soname}"))
                    .arg(&src)
                    .status()
                    .unwrap();
                assert!(status.success(), "cc for {soname}");
            }
            let has_32 = extras && Fixture::build_32(&root, &build);
            let mut has_libc = false;
            if extras && Path::new(HOST_LIBC).exists() && Path::new(HOST_LDSO).exists() {
                fs::create_dir_all(root.join("lib/x86_64-linux-gnu")).unwrap();
                fs::create_dir_all(root.join("lib64")).unwrap();
                fs::copy(HOST_LIBC, root.join("lib/x86_64-linux-gnu/libc.so.6")).unwrap();
                fs::copy(HOST_LDSO, root.join("lib64/ld-linux-x86-64.so.2")).unwrap();
                has_libc = true;
            }
            Fixture {
                _dir: dir,
                root,
                build,
                has_32,
                has_libc,
            }
        }

        /// i386 and x32 libraries from `empty.s` with binutils alone: a
        /// 32-bit `libc.so.6` stub, `libi.so.1` twice without a libc
        /// dependency (ldconfig 2.36 flags those plain "ELF", 1),
        /// `libj.so.1` needing libc.so.6 ("libc6", 3), and x32 `libx.so.1`.
        fn build_32(root: &Path, build: &Path) -> bool {
            let asm = testdata().join("empty.s");
            let o32 = build.join("e32.o");
            let ox32 = build.join("ex32.o");
            if !ok(Command::new("as").arg("--32").arg("-o").arg(&o32).arg(&asm))
                || !ok(Command::new("as")
                    .arg("--x32")
                    .arg("-o")
                    .arg(&ox32)
                    .arg(&asm))
            {
                crate::cannot_run("no `as --32`/`--x32`: no i386 and x32 libraries");
                return false;
            }
            let link = |emul: &str, soname: &str, out: &Path, extra: &[&Path]| {
                let obj = if emul == "elf_i386" { &o32 } else { &ox32 };
                ok(Command::new("ld")
                    .args(["-m", emul, "-shared", "-soname", soname, "-o"])
                    .arg(out)
                    .arg(obj)
                    .args(extra))
            };
            fs::create_dir_all(root.join("lib")).unwrap();
            fs::create_dir_all(root.join("opt/x/lib")).unwrap();
            let libc32 = root.join("lib/libc.so.6");
            link("elf_i386", "libc.so.6", &libc32, &[])
                && link("elf_i386", "libi.so.1", &root.join("lib/libi.so.1"), &[])
                && link(
                    "elf_i386",
                    "libi.so.1",
                    &root.join("opt/x/lib/libi.so.1"),
                    &[],
                )
                && link(
                    "elf_i386",
                    "libj.so.1",
                    &root.join("lib/libj.so.1"),
                    &[&libc32],
                )
                && link(
                    "elf32_x86_64",
                    "libx.so.1",
                    &root.join("lib/libx.so.1"),
                    &[],
                )
        }

        fn root(&self) -> &Path {
            &self.root
        }

        /// Path inside the root (for ldconfig, which chroots) and outside.
        fn cache_path(&self, format: &str) -> (String, PathBuf) {
            let inner = format!("/etc/ld.so.cache.{format}");
            let outer = self.root().join(&inner[1..]);
            (inner, outer)
        }

        /// Run `ldconfig -r ROOT -c FORMAT`; `-C` and `-f` are looked up
        /// inside the root because ldconfig chroots into it first.
        fn cache(&self, format: &str) -> Vec<u8> {
            self.try_cache(format)
                .unwrap_or_else(|| panic!("ldconfig -c {format} failed"))
        }

        fn try_cache(&self, format: &str) -> Option<Vec<u8>> {
            let (inner, outer) = self.cache_path(format);
            let _ = fs::remove_file(&outer);
            let status = Command::new(LDCONFIG)
                .arg("-r")
                .arg(self.root())
                .args([
                    "-X",
                    "-i",
                    "-C",
                    &inner,
                    "-f",
                    "/etc/ld.so.conf",
                    "-c",
                    format,
                ])
                .status()
                .unwrap();
            if !status.success() {
                return None;
            }
            fs::read(outer).ok()
        }
    }

    fn path<'a>(
        c: &'a LdCache,
        name: &str,
        abi: impl Into<CacheAbi>,
        hwcaps: &[&str],
    ) -> Option<&'a str> {
        c.lookup(name, abi, hwcaps)
    }

    const FOO: &str = "/usr/lib/x86_64-linux-gnu/libfoo.so.1";
    const FOO_V3: &str = "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.1";

    /// Answers that do not depend on the format.
    fn check_common(c: &LdCache, fx: &Fixture) {
        for hw in [V3, V2, &[][..]] {
            assert_eq!(path(c, "libbar.so.2", X86_64, hw), Some("/lib/libbar.so.2"));
            assert_eq!(
                path(c, "libbaz.so.3", X86_64, hw),
                Some("/opt/x/lib/libbaz.so.3")
            );
            // Same flags in two directories: the first directory ldconfig
            // scanned (ld.so.conf order) is stored first and wins.
            assert_eq!(
                path(c, "libdup.so.7", X86_64, hw),
                Some("/opt/x/lib/libdup.so.7")
            );
            assert_eq!(path(c, "libnum.so.9", X86_64, hw), Some("/lib/libnum.so.9"));
            assert_eq!(
                path(c, "libnum.so.10", X86_64, hw),
                Some("/lib/libnum.so.10")
            );
            // _dl_cache_libcmp compares digit runs as numbers.
            assert_eq!(
                path(c, "libnum.so.010", X86_64, hw),
                Some("/lib/libnum.so.10")
            );
            assert_eq!(
                path(c, "libi.so.1", X86_64, hw),
                Some("/usr/lib/x86_64-linux-gnu/libi.so.1")
            );
            assert_eq!(path(c, "libnope.so.1", X86_64, hw), None);
            assert_eq!(path(c, "libfoo.so", X86_64, hw), None);
            assert_eq!(path(c, "", X86_64, hw), None);
            // Wrong flags: AArch64 entries do not exist here.
            assert_eq!(path(c, "libbar.so.2", 0xa03, hw), None);
        }
        if fx.has_libc {
            assert_eq!(
                path(c, "libc.so.6", X86_64, V3),
                Some("/lib/x86_64-linux-gnu/libc.so.6")
            );
        }
        if fx.has_32 {
            assert_eq!(path(c, "libj.so.1", I386, &[]), Some("/lib/libj.so.1"));
            assert_eq!(path(c, "libj.so.1", X86_64, &[]), None);
            assert_eq!(path(c, "libx.so.1", X32, &[]), Some("/lib/libx.so.1"));
            assert_eq!(path(c, "libx.so.1", X86_64, &[]), None);
            assert_eq!(path(c, "libx.so.1", I386, &[]), None);
            assert_eq!(path(c, "libc.so.6", I386, &[]), Some("/lib/libc.so.6"));
            assert_eq!(path(c, "libbar.so.2", I386, &[]), None);
        }
    }

    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn ldconfig_new_format() {
        let fx = Fixture::build(false);
        let c = LdCache::parse(&fx.cache("new")).unwrap();
        assert_eq!(c.format(), CacheFormat::New);
        assert_eq!(c.byte_order(), ByteOrder::Little);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            c.hwcaps_subdirs().collect::<Vec<_>>(),
            vec![&b"x86-64-v3"[..]]
        );
        assert!(c.generator().is_some_and(|g| g.starts_with(b"ldconfig")));
        check_common(&c, &fx);
        // search_cache: a glibc-hwcaps entry the CPU supports beats the
        // plain one; unsupported, it is skipped.
        assert_eq!(path(&c, "libfoo.so.1", X86_64, V3), Some(FOO_V3));
        assert_eq!(path(&c, "libfoo.so.1", X86_64, V2), Some(FOO));
        assert_eq!(path(&c, "libfoo.so.1", X86_64, &[]), Some(FOO));
        assert_eq!(path(&c, "libfoo.so.01", X86_64, V3), Some(FOO_V3));
        if fx.has_32 {
            // i386 accepts flags 1 and 3 and stops only at 3. In the new
            // format the first plain entry after an acceptable one ends
            // the scan, so the first "ELF" entry wins.
            assert_eq!(
                path(&c, "libi.so.1", I386, &[]),
                Some("/opt/x/lib/libi.so.1")
            );
        }
    }

    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn ldconfig_old_format() {
        let fx = Fixture::build(false);
        let c = LdCache::parse(&fx.cache("old")).unwrap();
        assert_eq!(c.format(), CacheFormat::Old);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.generator(), None);
        assert_eq!(c.hwcaps_subdirs().count(), 0);
        check_common(&c, &fx);
        // The old table has the glibc-hwcaps entry as a plain entry sorted
        // first: ld.so returns it whatever the CPU (confirmed against the
        // real ld.so in `real_ld_so_agrees`).
        assert_eq!(path(&c, "libfoo.so.1", X86_64, V3), Some(FOO_V3));
        assert_eq!(path(&c, "libfoo.so.1", X86_64, &[]), Some(FOO_V3));
        if fx.has_32 {
            // Old layout: no early stop, each acceptable non-exact entry
            // replaces the previous one, so the *last* "ELF" entry wins.
            assert_eq!(path(&c, "libi.so.1", I386, &[]), Some("/lib/libi.so.1"));
        }
    }

    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn ldconfig_compat_format() {
        let fx = Fixture::build(false);
        let bytes = fx.cache("compat");
        let c = LdCache::parse(&bytes).unwrap();
        assert_eq!(c.format(), CacheFormat::Compat);
        check_common(&c, &fx);
        // The hwcaps name index is header-relative but read file-relative:
        // it names garbage, so the glibc-hwcaps entry is never chosen.
        assert_ne!(c.hwcaps_subdirs().next(), Some(&b"x86-64-v3"[..]));
        assert_eq!(path(&c, "libfoo.so.1", X86_64, V3), Some(FOO));
        assert_eq!(path(&c, "libfoo.so.1", X86_64, &[]), Some(FOO));
        if fx.has_32 {
            assert_eq!(
                path(&c, "libi.so.1", I386, &[]),
                Some("/opt/x/lib/libi.so.1")
            );
        }
        // The new table is the one searched: same entries as `-c new`.
        let new = LdCache::parse(&fx.cache("new")).unwrap();
        let strip = |c: &LdCache| -> Vec<(Vec<u8>, Vec<u8>, u32, u64)> {
            c.entries()
                .map(|e| (e.name.to_vec(), e.path.to_vec(), e.flags, e.hwcap))
                .collect()
        };
        assert_eq!(strip(&c), strip(&new));
    }

    /// One line of `ldconfig -p` for an entry (`elf/cache.c: print_entry`).
    fn print_line(e: &CacheEntry<'_>) -> String {
        let hw = match e.hwcaps_subdir {
            Some(s) => format!(", hwcap: \"{}\"", String::from_utf8_lossy(s)),
            None if e.hwcap != 0 => format!(", hwcap: {:#018x}", e.hwcap),
            None => String::new(),
        };
        format!(
            "\t{} ({}{hw}) => {}",
            e.name_lossy(),
            e.flags_description(),
            e.path_lossy()
        )
    }

    /// Compare every entry with `ldconfig -p -C file`.
    fn cross_check_print(file: &Path, c: &LdCache) {
        let printed = stdout(Command::new(LDCONFIG).arg("-p").arg("-C").arg(file));
        let mut lines = printed.lines();
        let header = lines.next().unwrap();
        assert!(
            header.starts_with(&format!("{} libs found in cache", c.len())),
            "{header}"
        );
        let rest: Vec<&str> = lines.collect();
        let ours: Vec<String> = c.entries().map(|e| print_line(&e)).collect();
        assert_eq!(&rest[..ours.len()], &ours[..]);
        match c.generator() {
            Some(g) => assert_eq!(
                rest.get(ours.len()).copied(),
                Some(format!("Cache generated by: {}", String::from_utf8_lossy(g)).as_str())
            ),
            None => assert_eq!(rest.len(), ours.len()),
        }
    }

    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn entries_match_ldconfig_print() {
        let fx = Fixture::build(false);
        for format in ["new", "old", "compat"] {
            fx.cache(format);
            let (_, outer) = fx.cache_path(format);
            let c = LdCache::parse(&fs::read(&outer).unwrap()).unwrap();
            cross_check_print(&outer, &c);
        }
    }

    #[test]
    #[ignore = "reads this machine's /etc/ld.so.cache with its ldconfig; run scripts/test.sh"]
    fn host_cache_matches_ldconfig_print() {
        let host = Path::new("/etc/ld.so.cache");
        assert!(host.exists(), "needs this machine's /etc/ld.so.cache");
        assert!(Path::new(LDCONFIG).exists(), "needs {LDCONFIG}");
        let c = LdCache::parse(&fs::read(host).unwrap()).unwrap();
        assert!(!c.is_empty());
        assert_eq!(c.validate(), Ok(()));
        cross_check_print(host, &c);
        // Every entry is found again by its own name (the first entry of
        // each name with the host's flags and no hwcaps is the answer).
        let mut firsts: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
        for e in c.entries() {
            if e.flags == X86_64 && e.hwcap == 0 {
                firsts.entry(e.name).or_insert(e.path);
            }
        }
        let q = Query::new(X86_64, &[]);
        for (name, p) in firsts {
            assert_eq!(
                c.lookup_with(name, &q),
                Some(p),
                "{}",
                String::from_utf8_lossy(name)
            );
        }
    }

    fn chroot_ld_so(root: &Path, opts: &[&str]) -> Command {
        let mut cmd = Command::new("chroot");
        cmd.arg(root)
            .arg("/lib64/ld-linux-x86-64.so.2")
            .args(opts)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    }

    /// What the real ld.so got from the cache for each name it searched
    /// while loading /prog: with LD_DEBUG=libs, "search cache=" is followed
    /// by "trying file=PATH" (the cache's answer) or by the next search
    /// step when the cache had nothing. The log starts with chroot's own
    /// startup, which ends at "transferring control".
    fn cache_answers(root: &Path, opts: &[&str]) -> BTreeMap<String, Option<String>> {
        let out = chroot_ld_so(root, opts)
            .args(["--list", "/prog"])
            .env("LD_DEBUG", "libs")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        let mut answers = BTreeMap::new();
        let mut current: Option<String> = None;
        let mut in_cache = false;
        for line in log
            .lines()
            .skip_while(|l| !l.contains("transferring control:"))
        {
            let msg = line.split_once(':').map_or("", |(_, m)| m.trim());
            if let Some(rest) = msg.strip_prefix("find library=") {
                current = rest.split(" [").next().map(str::to_string);
                in_cache = false;
            } else if msg.starts_with("search cache=") {
                in_cache = true;
            } else if in_cache {
                in_cache = false;
                if let Some(name) = current.take() {
                    let hit = msg.strip_prefix("trying file=").map(str::to_string);
                    answers.insert(name, hit);
                }
            }
        }
        answers
    }

    /// The glibc-hwcaps subdirectories ld.so searches, in priority order.
    fn active_hwcaps(help: &str) -> Vec<String> {
        help.lines()
            .skip_while(|l| !l.starts_with("Subdirectories of glibc-hwcaps"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter(|l| l.contains("searched"))
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    }

    /// Fails the test unless the host's ld.so runs chrooted in the fixture.
    fn need_chroot(fx: &Fixture) {
        assert!(fx.has_libc, "needs the host's x86-64 libc and ld.so");
        assert!(
            ok(&mut chroot_ld_so(fx.root(), &["--help"])),
            "cannot run the host ld.so in a chroot of the fixture"
        );
    }

    fn link_prog(fx: &Fixture, libs: &[&str]) {
        let root = fx.root();
        let mut cmd = Command::new("cc");
        cmd.arg("-o")
            .arg(root.join("prog"))
            .arg(testdata().join("main.c"));
        cmd.arg("-Wl,--no-as-needed");
        for l in libs {
            if l.starts_with('-') {
                cmd.arg(l);
            } else {
                cmd.arg(root.join(l));
            }
        }
        assert!(cmd.status().unwrap().success(), "linking prog");
    }

    /// The glibc-hwcaps list of `ld.so --help` under `opts`.
    fn active_for(fx: &Fixture, opts: &[&str]) -> Vec<String> {
        active_hwcaps(&stdout(chroot_ld_so(fx.root(), opts).arg("--help")))
    }

    /// The ground truth: the host's glibc 2.36 ld.so, chrooted into the
    /// fixture, looking up a program's DT_NEEDED names in each cache
    /// format, under several glibc-hwcaps settings.
    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn real_ld_so_agrees() {
        let fx = Fixture::build(false);
        need_chroot(&fx);
        // A library the cache does not know, to see ld.so's "no answer".
        let missing = fx.build.join("libmissing.so.1");
        assert!(
            Command::new("cc")
                .args(["-shared", "-fPIC", "-Wl,-soname,libmissing.so.1", "-o"])
                .arg(&missing)
                .arg(testdata().join("lib.c"))
                .status()
                .unwrap()
                .success()
        );
        link_prog(
            &fx,
            &[
                "usr/lib/x86_64-linux-gnu/libfoo.so.1",
                "lib/libbar.so.2",
                "opt/x/lib/libbaz.so.3",
                "opt/x/lib/libdup.so.7",
                "lib/libnum.so.9",
                "lib/libnum.so.10",
                "usr/lib/x86_64-linux-gnu/libi.so.1",
                // libc before the missing library, which stops the load.
                "-lc",
                missing.to_str().unwrap(),
            ],
        );
        let variants: &[&[&str]] = &[
            &[],
            &["--glibc-hwcaps-mask", "x86-64-v2"],
            &["--glibc-hwcaps-mask", "none"],
            &[
                "--glibc-hwcaps-mask",
                "none",
                "--glibc-hwcaps-prepend",
                "x86-64-v3",
            ],
            &["--glibc-hwcaps-prepend", "other:x86-64-v2"],
        ];
        let mut compared = 0;
        for format in ["new", "old", "compat"] {
            let bytes = fx.cache(format);
            fs::write(fx.root().join("etc/ld.so.cache"), &bytes).unwrap();
            let c = LdCache::parse(&bytes).unwrap();
            for opts in variants {
                let active = active_for(&fx, opts);
                let active: Vec<&str> = active.iter().map(String::as_str).collect();
                let got = cache_answers(fx.root(), opts);
                assert_eq!(got.len(), 9, "{got:?}");
                assert_eq!(got.get("libmissing.so.1"), Some(&None));
                for (name, want) in &got {
                    assert_eq!(
                        path(&c, name, X86_64, &active),
                        want.as_deref(),
                        "{format} {opts:?} {name}"
                    );
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 3 * 5 * 9);
    }

    /// Legacy hwcaps subdirectories, new format, against the real ld.so.
    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn legacy_hwcaps_like_ld_so() {
        let fx = Fixture::build(true);
        let bytes = fx.cache("new");
        let c = LdCache::parse(&bytes).unwrap();
        let hw = |name: &str| {
            c.entries()
                .find(|e| e.name == name.as_bytes() && e.hwcap != 0)
                .map(|e| e.hwcap)
        };
        assert_eq!(hw("libtl.so.1"), Some(HWCAP_TLS));
        assert_eq!(hw("libxx.so.1"), Some(1 << 1));
        assert_eq!(hw("libhw.so.1"), Some(1 << 50));
        // glibc ≥ 2.40 ignores them all; 2.36 always takes `tls`.
        let plain = |n: &str| format!("/lib/{n}");
        for n in ["libtl.so.1", "libxx.so.1", "libhw.so.1"] {
            let mut q = Query::new(X86_64, &[]);
            q.legacy = LegacyHwcaps::NONE;
            assert_eq!(c.lookup_with(n.as_bytes(), &q), Some(plain(n).as_bytes()));
        }
        assert_eq!(
            path(&c, "libtl.so.1", X86_64, &[]),
            Some("/lib/tls/libtl.so.1")
        );
        assert_eq!(path(&c, "libxx.so.1", X86_64, &[]), Some("/lib/libxx.so.1"));
        let mut q = Query::new(X86_64, &[]);
        q.legacy = LegacyHwcaps::x86_64_glibc_2_36(false, Some("haswell"));
        assert_eq!(
            c.lookup_with(b"libhw.so.1", &q),
            Some(&b"/lib/haswell/libhw.so.1"[..])
        );
        assert_eq!(
            c.lookup_with(b"libxx.so.1", &q),
            Some(&b"/lib/x86_64/libxx.so.1"[..])
        );

        need_chroot(&fx);
        link_prog(&fx, &["lib/libtl.so.1", "lib/libxx.so.1", "lib/libhw.so.1"]);
        fs::write(fx.root().join("etc/ld.so.cache"), &bytes).unwrap();
        let help = stdout(chroot_ld_so(fx.root(), &[]).arg("--help"));
        let legacy: Vec<&str> = help
            .lines()
            .skip_while(|l| !l.starts_with("Legacy HWCAP"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        let platform = legacy
            .iter()
            .find(|l| l.contains("AT_PLATFORM"))
            .and_then(|l| l.split_whitespace().next());
        let avx512 = legacy.iter().any(|l| l.contains("avx512_1 (supported"));
        let mut q = Query::new(X86_64, &[]);
        q.legacy = LegacyHwcaps::x86_64_glibc_2_36(avx512, platform);
        let got = cache_answers(fx.root(), &[]);
        for n in ["libtl.so.1", "libxx.so.1", "libhw.so.1"] {
            let want = got.get(n).unwrap();
            let ours = c
                .lookup_with(n.as_bytes(), &q)
                .map(|p| String::from_utf8_lossy(p).into_owned());
            assert_eq!(&ours, want, "{n} (platform {platform:?})");
        }
    }

    /// glibc 2.36's writer drops legacy-hwcap entries from the old table
    /// but fills the slots with two different indices (`save_cache`:
    /// `libs[idx_old].key = str_offset + pad`, then key and value written
    /// to `libs[idx_new]`): every old key ends up pointing at the padding,
    /// one value is never written, and the last write lands past the
    /// array. ldconfig may die of it and `ldconfig -p` crashes reading the
    /// result; we only have to survive it.
    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn old_table_from_buggy_writer_is_survivable() {
        let mut libs: Vec<(&str, &str)> = vec![("libbar.so.2", "lib")];
        for &(soname, dir) in LEGACY {
            libs.push((soname, dir));
            libs.push((soname, "lib"));
        }
        let fx = Fixture::build_from(&libs, false);
        let names: Vec<&str> = libs.iter().map(|l| l.0).collect();
        for format in ["old", "compat"] {
            let Some(bytes) = fx.try_cache(format) else {
                eprintln!("note: ldconfig -c {format} died on legacy hwcaps dirs");
                continue;
            };
            let Ok(c) = LdCache::parse(&bytes) else {
                continue;
            };
            exercise(&c, &names);
            if format == "old" {
                let first = c.entries().next().map(|e| e.name);
                assert!(c.entries().all(|e| Some(e.name) == first));
                assert_ne!(
                    path(&c, "libbar.so.2", X86_64, &[]),
                    Some("/lib/libbar.so.2")
                );
            }
        }
    }

    // ----- hand-made caches -------------------------------------------

    struct Spec<'a> {
        name: &'a str,
        path: &'a str,
        flags: u32,
        hwcap: u64,
    }

    fn spec<'a>(name: &'a str, path: &'a str, flags: u32, hwcap: u64) -> Spec<'a> {
        Spec {
            name,
            path,
            flags,
            hwcap,
        }
    }

    fn named(index: u32, isa_level: u64) -> u64 {
        DL_CACHE_HWCAP_EXTENSION | (isa_level << 32) | u64::from(index)
    }

    /// Lay out a cache exactly as `elf/cache.c: save_cache` does (compat:
    /// old table padded to an even count, strings after the new table,
    /// hwcaps name offsets relative to the new header).
    fn build(
        format: CacheFormat,
        order: ByteOrder,
        entries: &[Spec<'_>],
        hwcaps: &[&str],
    ) -> Vec<u8> {
        let w32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&match order {
                ByteOrder::Little => x.to_le_bytes(),
                ByteOrder::Big => x.to_be_bytes(),
            })
        };
        let w64 = |v: &mut Vec<u8>, x: u64| {
            v.extend_from_slice(&match order {
                ByteOrder::Little => x.to_le_bytes(),
                ByteOrder::Big => x.to_be_bytes(),
            })
        };
        let mut strtab = Vec::new();
        let mut intern = |s: &str| {
            let off = strtab.len() as u32;
            strtab.extend_from_slice(s.as_bytes());
            strtab.push(0);
            off
        };
        let idx: Vec<(u32, u32)> = entries
            .iter()
            .map(|e| (intern(e.name), intern(e.path)))
            .collect();
        let hw: Vec<u32> = hwcaps.iter().map(|h| intern(h)).collect();
        let n = entries.len() as u32;
        let new_size = 48 + 24 * n;
        let mut out = Vec::new();
        if format != CacheFormat::New {
            let old_n = if format == CacheFormat::Compat {
                (n + 1) & !1
            } else {
                n
            };
            let shift = if format == CacheFormat::Compat {
                new_size
            } else {
                0
            };
            out.extend_from_slice(b"ld.so-1.7.0\0");
            w32(&mut out, old_n);
            for i in 0..old_n {
                let j = i.min(n.saturating_sub(1)) as usize;
                w32(&mut out, entries[j].flags);
                w32(&mut out, shift + idx[j].0);
                w32(&mut out, shift + idx[j].1);
            }
        }
        let hdr = out.len();
        if format != CacheFormat::Old {
            out.extend_from_slice(b"glibc-ld.so.cache1.1");
            w32(&mut out, n);
            w32(&mut out, strtab.len() as u32);
            out.push(match order {
                ByteOrder::Little => 2,
                ByteOrder::Big => 3,
            });
            out.extend_from_slice(&[0; 3]);
            w32(&mut out, 0); // extension offset, patched below
            out.extend_from_slice(&[0; 12]);
            for (e, &(k, v)) in entries.iter().zip(&idx) {
                w32(&mut out, e.flags);
                w32(&mut out, new_size + k);
                w32(&mut out, new_size + v);
                w32(&mut out, 0);
                w64(&mut out, e.hwcap);
            }
        }
        out.extend_from_slice(&strtab);
        if format != CacheFormat::Old {
            while out.len() % 4 != 0 {
                out.push(0);
            }
            let ext = out.len() as u32;
            let mut patch = Vec::new();
            w32(&mut patch, ext);
            out[hdr + 32..hdr + 36].copy_from_slice(&patch);
            let gen_text = b"hand-made";
            w32(&mut out, EXTENSION_MAGIC);
            w32(&mut out, 2);
            let data = ext + 8 + 2 * 16;
            w32(&mut out, EXT_TAG_GLIBC_HWCAPS);
            w32(&mut out, 0);
            w32(&mut out, data);
            w32(&mut out, 4 * hw.len() as u32);
            w32(&mut out, EXT_TAG_GENERATOR);
            w32(&mut out, 0);
            w32(&mut out, data + 4 * hw.len() as u32);
            w32(&mut out, gen_text.len() as u32);
            for h in &hw {
                w32(&mut out, new_size + h);
            }
            out.extend_from_slice(gen_text);
        }
        out
    }

    /// Three glibc-hwcaps variants and a plain entry, as ldconfig sorts
    /// them (extension entries first, by name), for two names.
    fn hwcaps_specs() -> Vec<Spec<'static>> {
        vec![
            spec("libp.so.1", "/v2/libp.so.1", X86_64, named(0, 0)),
            spec("libp.so.1", "/v3/libp.so.1", X86_64, named(1, 0)),
            spec("libp.so.1", "/v4/libp.so.1", X86_64, named(2, 3)),
            spec("libp.so.1", "/plain/libp.so.1", X86_64, 0),
            spec("liba.so.1", "/v3/liba.so.1", X86_64, named(1, 0)),
            spec("liba.so.1", "/plain/liba.so.1", X86_64, 0),
        ]
    }
    const HWCAPS_NAMES: &[&str] = &["x86-64-v2", "x86-64-v3", "x86-64-v4"];

    #[test]
    fn hwcaps_priority_and_isa_level() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let bytes = build(CacheFormat::New, order, &hwcaps_specs(), HWCAPS_NAMES);
            let c = LdCache::parse(&bytes).unwrap();
            assert_eq!(c.byte_order(), order);
            assert_eq!(c.validate(), Ok(()));
            assert_eq!(c.generator(), Some(&b"hand-made"[..]));
            let all = &["x86-64-v4", "x86-64-v3", "x86-64-v2"];
            assert_eq!(path(&c, "libp.so.1", X86_64, all), Some("/v4/libp.so.1"));
            assert_eq!(path(&c, "libp.so.1", X86_64, V3), Some("/v3/libp.so.1"));
            assert_eq!(path(&c, "libp.so.1", X86_64, V2), Some("/v2/libp.so.1"));
            assert_eq!(path(&c, "libp.so.1", X86_64, &[]), Some("/plain/libp.so.1"));
            assert_eq!(
                path(&c, "libp.so.1", X86_64, &["other"]),
                Some("/plain/libp.so.1")
            );
            // Priority is the position in the loader's list, not the name.
            assert_eq!(
                path(&c, "libp.so.1", X86_64, &["x86-64-v2", "x86-64-v3"]),
                Some("/v2/libp.so.1")
            );
            assert_eq!(path(&c, "liba.so.1", X86_64, all), Some("/v3/liba.so.1"));
            assert_eq!(path(&c, "liba.so.1", X86_64, V2), Some("/plain/liba.so.1"));
            // The v4 entry needs ISA level 3 (bit 8): a CPU reporting only
            // up to v3 cannot use it even if "x86-64-v4" is prepended.
            let mut q = Query::new(X86_64, all);
            q.x86_isa = Some(0b0111);
            assert_eq!(c.lookup_with(b"libp.so.1", &q), Some(&b"/v3/libp.so.1"[..]));
            // Non-x86 loaders skip the ISA check.
            let arm64: Vec<Spec<'_>> = hwcaps_specs()
                .into_iter()
                .map(|s| Spec { flags: 0xa03, ..s })
                .collect();
            let c = LdCache::parse(&build(CacheFormat::New, order, &arm64, HWCAPS_NAMES)).unwrap();
            let mut q = Query::new(0xa03, all);
            q.x86_isa = Some(0b0001);
            assert_eq!(c.lookup_with(b"libp.so.1", &q), Some(&b"/v4/libp.so.1"[..]));
        }
    }

    /// Big-endian caches written byte by byte from the documented layout
    /// answer exactly like their little-endian twins, in every format.
    #[test]
    fn handmade_big_endian_matches_little_endian() {
        let specs = vec![
            spec("libz.so.1", "/lib/libz.so.1", X86_64, 0),
            spec("libm.so.6", "/lib64/libm.so.6", X86_64, 0),
            spec("libm.so.6", "/lib/libm.so.6", I386, 0),
            spec("libm.so.6", "/old/libm.so.6", FLAG_ELF, 0),
            spec("libc.so.6", "/lib/libc.so.6", X86_64, 0),
        ];
        for format in [CacheFormat::Old, CacheFormat::New, CacheFormat::Compat] {
            let le = LdCache::parse(&build(format, ByteOrder::Little, &specs, &[])).unwrap();
            let be = LdCache::parse(&build(format, ByteOrder::Big, &specs, &[])).unwrap();
            assert_eq!(le.format(), format);
            assert_eq!(be.format(), format);
            assert_eq!(be.byte_order(), ByteOrder::Big);
            assert_eq!(be.validate(), Ok(()));
            assert_eq!(
                le.entries().collect::<Vec<_>>(),
                be.entries().collect::<Vec<_>>()
            );
            for c in [&le, &be] {
                assert_eq!(path(c, "libm.so.6", X86_64, &[]), Some("/lib64/libm.so.6"));
                assert_eq!(path(c, "libm.so.6", I386, &[]), Some("/lib/libm.so.6"));
                assert_eq!(path(c, "libz.so.1", X86_64, &[]), Some("/lib/libz.so.1"));
                assert_eq!(path(c, "libc.so.6", X86_64, &[]), Some("/lib/libc.so.6"));
                assert_eq!(path(c, "libz.so.1", I386, &[]), None);
            }
        }
    }

    fn swap4(b: &mut [u8], at: usize) -> u32 {
        let v = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        b[at..at + 4].reverse();
        v
    }

    /// Byte-swap a little-endian cache written by ldconfig: the old table
    /// (if any), the new header, entries, extension directory and hwcaps
    /// array; strings and the generator text stay as they are.
    fn byte_swap(le: &[u8]) -> Vec<u8> {
        let mut b = le.to_vec();
        let mut hdr = 0;
        if b.starts_with(OLD_MAGIC) {
            let n = swap4(&mut b, 12) as usize;
            for i in 0..n {
                for f in 0..3 {
                    swap4(&mut b, 16 + 12 * i + 4 * f);
                }
            }
            hdr = (16 + 12 * n).div_ceil(8) * 8;
            if !b[hdr..].starts_with(NEW_MAGIC) {
                return b;
            }
        }
        let n = swap4(&mut b, hdr + 20) as usize;
        swap4(&mut b, hdr + 24);
        assert_eq!(b[hdr + 28], 2);
        b[hdr + 28] = 3;
        let ext = swap4(&mut b, hdr + 32) as usize;
        for i in 0..n {
            let e = hdr + 48 + 24 * i;
            for f in 0..4 {
                swap4(&mut b, e + 4 * f);
            }
            b[e + 16..e + 24].reverse();
        }
        if ext != 0 {
            swap4(&mut b, ext);
            let count = swap4(&mut b, ext + 4) as usize;
            for s in 0..count {
                let at = ext + 8 + 16 * s;
                let tag = swap4(&mut b, at);
                swap4(&mut b, at + 4);
                let offset = swap4(&mut b, at + 8) as usize;
                let size = swap4(&mut b, at + 12) as usize;
                if tag == EXT_TAG_GLIBC_HWCAPS {
                    for k in 0..size / 4 {
                        swap4(&mut b, offset + 4 * k);
                    }
                }
            }
        }
        b
    }

    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn byte_swapped_ldconfig_caches_parse_identically() {
        let fx = Fixture::build(false);
        for format in ["new", "compat", "old"] {
            let le_bytes = fx.cache(format);
            let be_bytes = byte_swap(&le_bytes);
            assert_ne!(le_bytes, be_bytes);
            let le = LdCache::parse(&le_bytes).unwrap();
            let be = LdCache::parse(&be_bytes).unwrap();
            assert_eq!(be.byte_order(), ByteOrder::Big, "{format}");
            assert_eq!(le.format(), be.format());
            assert_eq!(
                le.entries().collect::<Vec<_>>(),
                be.entries().collect::<Vec<_>>()
            );
            assert_eq!(le.generator(), be.generator());
            for (name, _) in LIBS64 {
                for hw in [V3, V2, &[][..]] {
                    assert_eq!(le.lookup(name, X86_64, hw), be.lookup(name, X86_64, hw));
                }
                assert_eq!(le.lookup(name, I386, &[]), be.lookup(name, I386, &[]));
            }
        }
    }

    #[test]
    fn pre_2_33_new_format_without_byte_order_flag() {
        let specs = hwcaps_specs();
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut bytes = build(CacheFormat::New, order, &specs, HWCAPS_NAMES);
            bytes[28] = 0;
            let c = LdCache::parse(&bytes).unwrap();
            assert_eq!(c.byte_order(), order);
            assert_eq!(path(&c, "libp.so.1", X86_64, V3), Some("/v3/libp.so.1"));
        }
    }

    // ----- hostile input ----------------------------------------------

    fn exercise(c: &LdCache, names: &[&str]) {
        let _ = c.validate();
        let _ = c.format();
        let _ = c.generator();
        let _ = c.hwcaps_subdirs().count();
        for e in c.entries() {
            let _ = print_line(&e);
        }
        for name in names {
            for abi in [X86_64, I386, X32] {
                let _ = c.lookup(name, abi, V3);
                let _ = c.lookup(name, abi, &["x86-64-v4", "x86-64-v3", "x86-64-v2", "x"]);
            }
        }
    }

    #[test]
    fn truncation_at_every_length() {
        let files: Vec<Vec<u8>> = vec![
            build(
                CacheFormat::New,
                ByteOrder::Little,
                &hwcaps_specs(),
                HWCAPS_NAMES,
            ),
            build(
                CacheFormat::Compat,
                ByteOrder::Big,
                &hwcaps_specs(),
                HWCAPS_NAMES,
            ),
            build(CacheFormat::Old, ByteOrder::Little, &hwcaps_specs(), &[]),
        ];
        truncations(&files);
    }

    /// The same on caches the real ldconfig wrote, in every format.
    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn truncation_of_ldconfig_caches() {
        let fx = Fixture::build(false);
        truncations(&["new", "old", "compat"].map(|f| fx.cache(f)));
    }

    /// Every prefix of each cache parses or is refused, never panics, and
    /// answers only paths (or prefixes of paths) the whole cache has.
    fn truncations(files: &[Vec<u8>]) {
        let mut names: Vec<&str> = LIBS64.iter().map(|l| l.0).collect();
        names.extend(["libp.so.1", "liba.so.1", "libc.so.6", "libi.so.1"]);
        for full in files {
            let whole = LdCache::parse(full).unwrap();
            let all_paths: Vec<Vec<u8>> = whole.entries().map(|e| e.path.to_vec()).collect();
            for cut in 0..full.len() {
                let Ok(c) = LdCache::parse(&full[..cut]) else {
                    continue;
                };
                exercise(&c, &names);
                // Whatever survives is a prefix of what was there.
                for name in &names {
                    if let Some(p) = c.lookup_with(name.as_bytes(), &Query::new(X86_64, V3)) {
                        assert!(all_paths.iter().any(|a| a.starts_with(p)), "{cut}: {p:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let files = vec![
            build(
                CacheFormat::New,
                ByteOrder::Little,
                &hwcaps_specs(),
                HWCAPS_NAMES,
            ),
            build(
                CacheFormat::Compat,
                ByteOrder::Little,
                &hwcaps_specs(),
                HWCAPS_NAMES,
            ),
            build(CacheFormat::Old, ByteOrder::Big, &hwcaps_specs(), &[]),
        ];
        corruptions(&files);
    }

    #[test]
    #[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
    fn corrupted_ldconfig_cache_never_panics() {
        let fx = Fixture::build(false);
        corruptions(&[fx.cache("new")]);
    }

    /// Every byte of each cache set to a few telling values: parsed or
    /// refused, never a panic.
    fn corruptions(files: &[Vec<u8>]) {
        let names = ["libp.so.1", "liba.so.1", "libfoo.so.1", "libbar.so.2"];
        for full in files {
            for at in 0..full.len() {
                for v in [0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0xff] {
                    let mut b = full.clone();
                    b[at] = v;
                    if let Ok(c) = LdCache::parse(&b) {
                        exercise(&c, &names);
                    }
                }
            }
        }
    }

    #[test]
    fn errors_are_precise() {
        let good = build(
            CacheFormat::New,
            ByteOrder::Little,
            &hwcaps_specs(),
            HWCAPS_NAMES,
        );
        assert_eq!(LdCache::parse(b"").unwrap_err(), CacheError::BadMagic);
        assert_eq!(
            LdCache::parse(b"\x7fELF....").unwrap_err(),
            CacheError::BadMagic
        );
        assert_eq!(
            LdCache::parse(&good[..48]).unwrap_err(),
            CacheError::Truncated {
                what: "new-format header",
                needed: 48,
                len: 48
            }
        );
        assert_eq!(
            LdCache::parse(b"ld.so-1.7.0\0\0\0\0\0")
                .unwrap_err()
                .to_string(),
            "truncated: the old-format header needs more than 16 bytes, the file has 16"
        );
        let mut b = good.clone();
        b[20..24].copy_from_slice(&1000u32.to_le_bytes());
        let e = LdCache::parse(&b).unwrap_err();
        assert!(
            matches!(e, CacheError::TooManyEntries { nlibs: 1000, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("claims 1000 entries"), "{e}");
        // Flags byte 1 is "invalid" and 4 has no valid order bits: glibc
        // ignores the cache in both cases.
        for flags in [1u8, 4] {
            let mut b = good.clone();
            b[28] = flags;
            assert_eq!(
                LdCache::parse(&b).unwrap_err(),
                CacheError::BadByteOrder { at: 0, flags }
            );
        }
        // A cache with no entries is fine.
        let empty = LdCache::parse(&build(CacheFormat::New, ByteOrder::Little, &[], &[])).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.lookup("libc.so.6", X86_64, &[]), None);
        // ...but an old-format one is exactly its 16-byte header, and
        // `_dl_load_cache_lookup` wants more than that: ignored.
        let empty_old = build(CacheFormat::Old, ByteOrder::Little, &[], &[]);
        assert!(matches!(
            LdCache::parse(&empty_old),
            Err(CacheError::Truncated {
                needed: 16,
                len: 16,
                ..
            })
        ));
    }

    /// Damage ld.so tolerates: the cache still parses and lookups follow
    /// `search_cache`; `validate` names the problem.
    #[test]
    fn damage_inside_entries() {
        let specs = vec![
            spec("libz.so.1", "/lib/libz.so.1", X86_64, 0),
            spec("libm.so.6", "/lib/libm.so.6", X86_64, 0),
            spec("libc.so.6", "/lib/libc.so.6", X86_64, 0),
        ];
        let good = build(CacheFormat::New, ByteOrder::Little, &specs, &[]);
        let entry = |i: usize| 48 + 24 * i;

        // A bad *value*: the entry is skipped, the name is not found.
        let mut b = good.clone();
        b[entry(1) + 8..entry(1) + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let c = LdCache::parse(&b).unwrap();
        assert_eq!(c.lookup("libm.so.6", X86_64, &[]), None);
        assert_eq!(c.lookup("libz.so.1", X86_64, &[]), Some("/lib/libz.so.1"));
        let e = c.validate().unwrap_err();
        assert_eq!(
            e,
            CacheError::StringOutOfRange {
                entry: 1,
                field: "path",
                offset: u32::MAX,
                limit: b.len() as u64
            }
        );
        assert!(
            e.to_string()
                .starts_with("entry 1: path string offset 0xffffffff is outside")
        );

        // A bad *key* met by the binary search ends the whole lookup, even
        // for names that are present elsewhere.
        let mut b = good.clone();
        b[entry(1) + 4..entry(1) + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let c = LdCache::parse(&b).unwrap();
        assert_eq!(c.lookup("libz.so.1", X86_64, &[]), None);
        assert_eq!(c.lookup("libc.so.6", X86_64, &[]), None);

        // A broken extension directory only disables glibc-hwcaps.
        let mut b = build(
            CacheFormat::New,
            ByteOrder::Little,
            &hwcaps_specs(),
            HWCAPS_NAMES,
        );
        let ext = u32::from_le_bytes(b[32..36].try_into().unwrap()) as usize;
        b[ext] ^= 0xff;
        let c = LdCache::parse(&b).unwrap();
        assert_eq!(c.lookup("libp.so.1", X86_64, V3), Some("/plain/libp.so.1"));
        assert!(matches!(
            c.validate(),
            Err(CacheError::BadExtension {
                reason: "bad magic",
                ..
            })
        ));

        // Entries out of order.
        let unsorted = vec![
            spec("liba.so.1", "/a", X86_64, 0),
            spec("libz.so.1", "/z", X86_64, 0),
        ];
        let c =
            LdCache::parse(&build(CacheFormat::New, ByteOrder::Little, &unsorted, &[])).unwrap();
        assert_eq!(
            c.validate(),
            Err(CacheError::Unsorted { prev: 0, entry: 1 })
        );

        // A hwcaps index past the section.
        let bad = vec![spec("libq.so.1", "/q", X86_64, named(7, 0))];
        let c = LdCache::parse(&build(
            CacheFormat::New,
            ByteOrder::Little,
            &bad,
            HWCAPS_NAMES,
        ))
        .unwrap();
        assert_eq!(
            c.validate(),
            Err(CacheError::HwcapsIndexOutOfRange {
                entry: 0,
                index: 7,
                count: 3
            })
        );
        assert_eq!(c.lookup("libq.so.1", X86_64, V3), None);
    }

    /// `search_cache` flag rules on hand-made tables.
    #[test]
    fn flags_rules() {
        // Generic loader (i386): accepts 1 and 3, stops at 3.
        let specs = vec![
            spec("libk.so.1", "/x86_64/libk.so.1", X86_64, 0),
            spec("libk.so.1", "/elf1/libk.so.1", FLAG_ELF, 0),
            spec("libk.so.1", "/elf2/libk.so.1", FLAG_ELF, 0),
        ];
        let with_libc6 = {
            let mut s = vec![spec("libk.so.1", "/x86_64/libk.so.1", X86_64, 0)];
            s.push(spec("libk.so.1", "/libc6/libk.so.1", I386, 0));
            s.push(spec("libk.so.1", "/elf1/libk.so.1", FLAG_ELF, 0));
            s
        };
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let new = LdCache::parse(&build(CacheFormat::New, order, &specs, &[])).unwrap();
            let old = LdCache::parse(&build(CacheFormat::Old, order, &specs, &[])).unwrap();
            assert_eq!(path(&new, "libk.so.1", I386, &[]), Some("/elf1/libk.so.1"));
            assert_eq!(path(&old, "libk.so.1", I386, &[]), Some("/elf2/libk.so.1"));
            assert_eq!(
                path(&new, "libk.so.1", X86_64, &[]),
                Some("/x86_64/libk.so.1")
            );
            for f in [CacheFormat::New, CacheFormat::Old] {
                let c = LdCache::parse(&build(f, order, &with_libc6, &[])).unwrap();
                assert_eq!(path(&c, "libk.so.1", I386, &[]), Some("/libc6/libk.so.1"));
            }
        }
        // ARM hard-float: default id 3, also 0x903; never plain "ELF".
        let arm = cache_abi(40, false, 0x0500_0400).unwrap();
        assert_eq!(arm.default_id, 3);
        assert!(arm.accepts(0x903) && arm.accepts(3) && !arm.accepts(1) && !arm.accepts(0xb03));
        let specs = vec![
            spec("libk.so.1", "/hf/libk.so.1", FLAG_ARM_LIBHF | 3, 0),
            spec("libk.so.1", "/sf/libk.so.1", FLAG_ARM_LIBSF | 3, 0),
            spec("libk.so.1", "/elf/libk.so.1", FLAG_ELF, 0),
        ];
        let c = LdCache::parse(&build(CacheFormat::New, ByteOrder::Little, &specs, &[])).unwrap();
        assert_eq!(path(&c, "libk.so.1", arm, &[]), Some("/hf/libk.so.1"));
        let soft = cache_abi(40, false, 0x0500_0200).unwrap();
        assert_eq!(path(&c, "libk.so.1", soft, &[]), Some("/sf/libk.so.1"));
    }

    #[test]
    fn libcmp_like_glibc() {
        use Ordering::*;
        let cmp = |a: &str, b: &str| libcmp(a.as_bytes(), b.as_bytes(), true);
        assert_eq!(cmp("libc.so.6", "libc.so.6"), Equal);
        assert_eq!(cmp("libfoo.so.10", "libfoo.so.9"), Greater);
        assert_eq!(cmp("libfoo.so.9", "libfoo.so.10"), Less);
        assert_eq!(cmp("libfoo.so.01", "libfoo.so.1"), Equal);
        // A digit sorts after any other character, "." included.
        assert_eq!(cmp("lib1", "liba"), Greater);
        assert_eq!(cmp("liba", "lib1"), Less);
        assert_eq!(cmp("libz3.so", "libz.so"), Greater);
        assert_eq!(cmp("libc.so", "libc.so.6"), Less);
        assert_eq!(cmp("libc.so.6", "libc.so"), Greater);
        assert_eq!(cmp("", "a"), Less);
        // Bytes >= 0x80 depend on the loader's char signedness.
        assert_eq!(libcmp(b"\xe9", b"a", true), Less);
        assert_eq!(libcmp(b"\xe9", b"a", false), Greater);
        assert_eq!(libcmp(b"a", b"a\xe9", true), Greater);
        // Long digit runs wrap like C int arithmetic instead of panicking.
        assert_eq!(cmp("99999999999999999999", "99999999999999999999"), Equal);
        let _ = cmp("4294967296", "0");
    }

    #[test]
    fn flags_ids_per_machine() {
        assert_eq!(default_flags_id(62, true), Some(0x303));
        assert_eq!(default_flags_id(62, false), Some(0x803));
        assert_eq!(default_flags_id(3, false), Some(3));
        assert_eq!(default_flags_id(183, true), Some(0xa03));
        assert_eq!(default_flags_id(40, false), Some(3));
        assert_eq!(default_flags_id(21, true), Some(0x503));
        assert_eq!(default_flags_id(22, true), Some(0x403));
        assert_eq!(default_flags_id(22, false), Some(3));
        assert_eq!(default_flags_id(243, true), Some(0x1003));
        assert_eq!(default_flags_id(43, true), Some(0x103));
        assert_eq!(default_flags_id(8, true), Some(0x703));
        assert_eq!(default_flags_id(258, true), Some(0x1203));
        assert_eq!(
            default_flags_id(62, true)
                .map(CacheAbi::from)
                .map(|a| a.also_accepts),
            Some(None)
        );
        assert_eq!(CacheAbi::from(3).also_accepts, Some(FLAG_ELF));
        assert!(!CacheAbi::from(0xa03).signed_char);
        assert_eq!(
            cache_abi(8, false, EF_MIPS_ABI2 | EF_MIPS_NAN2008).map(|a| a.default_id),
            Some(0xd03)
        );
        assert_eq!(cache_abi(243, true, 0x2), None);
        assert_eq!(cache_abi(243, true, 0x0).map(|a| a.default_id), Some(0xf03));
        assert_eq!(default_flags_id(0xffff, true), None);
        assert_eq!(default_flags_id(183, false), None);
    }

    #[test]
    fn flags_descriptions() {
        let d = |flags| {
            CacheEntry {
                name: b"",
                path: b"",
                flags,
                hwcap: 0,
                hwcaps_subdir: None,
            }
            .flags_description()
        };
        assert_eq!(d(0x303), "libc6,x86-64");
        assert_eq!(d(3), "libc6");
        assert_eq!(d(1), "ELF");
        assert_eq!(d(0x803), "libc6,x32");
        assert_eq!(d(0xa03), "libc6,AArch64");
        assert_eq!(d(0x903), "libc6,hard-float");
        assert_eq!(d(0x1003), "libc6,double-float");
        assert_eq!(d(0x7f03), "libc6,32512");
        assert_eq!(d(0x42), "unknown");
    }
}
