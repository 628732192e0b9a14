//! Which entries a loader accepts: ldconfig's `FLAG_*` values as stored in
//! each entry, and each architecture's `_dl_cache_check_flags` and
//! `_DL_CACHE_DEFAULT_ID` (`sysdeps/unix/sysv/linux/*/dl-cache.h`).

use super::CacheEntry;
use crate::elf::consts::{
    EM_68K, EM_386, EM_AARCH64, EM_ALTERA_NIOS2, EM_ARCV2, EM_ARM, EM_CSKY, EM_IA_64, EM_LOONGARCH,
    EM_MICROBLAZE, EM_MIPS, EM_OPENRISC, EM_PARISC, EM_PPC, EM_PPC64, EM_RISCV, EM_S390, EM_SH,
    EM_SPARC, EM_SPARC32PLUS, EM_SPARCV9, EM_X86_64,
};

/// `FLAG_*` values of `sysdeps/generic/ldconfig.h`, as stored in each
/// entry's `flags`.
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

/// Linux's number for Alpha, which glibc's cache flags use (elf.h's
/// `EM_ALPHA`, 41, was never used by Linux binaries).
const EM_ALPHA: u16 = 0x9026;

const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;
pub(super) const EF_MIPS_ABI2: u32 = 0x20;
pub(super) const EF_MIPS_NAN2008: u32 = 0x400;
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

impl CacheEntry<'_> {
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
