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
mod tests;
