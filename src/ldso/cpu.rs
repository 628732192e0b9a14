//! What the CPU tells glibc's loader, and so which files it loads.
//!
//! Three things a loader reads off the CPU change where a library is
//! found (all three from `sysdeps/x86/cpu-features.c: init_cpu_features`
//! in glibc 2.36, which `dl_platform_init` runs before any search):
//! - the x86-64 ISA level (`get_isa_level`), which picks the
//!   `glibc-hwcaps/x86-64-vN/` subdirectories tried first (glibc ≥ 2.33);
//! - the platform, `GLRO(dl_platform)`: the kernel's AT_PLATFORM
//!   (`x86_64`), except on Intel CPUs, where glibc replaces it with
//!   `haswell` (AVX2, FMA, BMI1, BMI2, LZCNT, MOVBE and POPCNT usable) or
//!   `xeon_phi` (AVX512CD, AVX512ER and AVX512PF usable). It is what
//!   `$PLATFORM` expands to, in every glibc version, and before 2.37 it
//!   names a legacy subdirectory tried in every search directory;
//! - the legacy HWCAP bits (`GLRO(dl_hwcap)`, before 2.37): `x86_64` always,
//!   plus `avx512_1` on Intel CPUs that have AVX512CD, BW, DQ and VL but
//!   not AVX512ER.
//!
//! An image runs on CPUs nobody chose, so a resolution that depends on any
//! of these is checked against every kind of CPU in [`Cpu::kinds`].
//! Loaders of other architectures get their ABI's fixed AT_PLATFORM and no
//! hwcap bits: their CPU-dependent rules are not modelled.

use std::sync::OnceLock;

use serde::Serialize;

use super::abi::Abi;

/// The platform name glibc uses on an x86 CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// The kernel's AT_PLATFORM, kept: every CPU that is not an Intel one
    /// glibc renames (AMD, Intel before Haswell, other vendors).
    Kernel,
    /// Intel with the Haswell feature set.
    Haswell,
    /// Intel Xeon Phi (AVX512ER and AVX512PF).
    XeonPhi,
}

impl Platform {
    /// `GLRO(dl_platform)` for the x86_64 (and x32) loader.
    pub fn x86_64_name(self) -> &'static str {
        match self {
            Platform::Kernel => "x86_64",
            Platform::Haswell => "haswell",
            Platform::XeonPhi => "xeon_phi",
        }
    }

    /// Parse a name as `ld.so --help` prints it.
    pub fn from_name(name: &str) -> Option<Platform> {
        match name {
            "x86_64" => Some(Platform::Kernel),
            "haswell" => Some(Platform::Haswell),
            "xeon_phi" => Some(Platform::XeonPhi),
            _ => None,
        }
    }
}

/// A CPU, as glibc's x86 loaders see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cpu {
    /// The x86-64 ISA level: 1 (baseline) to 4.
    pub level: u8,
    pub platform: Platform,
}

/// How one loader sees a [`Cpu`]: what glibc derives from it for that ABI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoaderCpu {
    /// `$PLATFORM`, and the platform element of the legacy subdirectories.
    pub platform: String,
    /// Legacy HWCAP names, in bit order (`_dl_hwcap_string`).
    pub hwcap_names: Vec<&'static str>,
    /// `glibc-hwcaps/` subdirectory names, best first.
    pub glibc_hwcaps: Vec<String>,
    /// The `avx512_1` HWCAP bit is set (for the cache's legacy entries).
    pub avx512_1: bool,
}

impl Cpu {
    /// The x86-64 baseline with the kernel's platform: what every x86-64
    /// CPU has, and the CPU an image is planned for first.
    pub const BASELINE: Cpu = Cpu {
        level: 1,
        platform: Platform::Kernel,
    };

    /// Every kind of x86-64 CPU that makes glibc's loader behave
    /// differently, oldest first. An image whose loads depend on the CPU
    /// is checked on each.
    pub fn kinds() -> &'static [Cpu] {
        const fn k(level: u8, platform: Platform) -> Cpu {
            Cpu { level, platform }
        }
        const KINDS: &[Cpu] = &[
            k(1, Platform::Kernel),
            k(2, Platform::Kernel),
            k(3, Platform::Kernel),
            k(4, Platform::Kernel),
            k(3, Platform::Haswell),
            k(4, Platform::Haswell),
            k(3, Platform::XeonPhi),
        ];
        KINDS
    }

    /// Short name: the platform and the level, in glibc's words
    /// (`haswell/x86-64-v3`, `x86_64/baseline`).
    pub fn name(&self) -> String {
        let level = match self.level {
            0 | 1 => "baseline".to_string(),
            l => format!("x86-64-v{l}"),
        };
        format!("{}/{level}", self.platform.x86_64_name())
    }

    /// On Intel, `avx512_1` is set exactly when the CPU has AVX512CD, BW, DQ
    /// and VL without AVX512ER: on real Intel CPUs, level 4 without being a
    /// Xeon Phi.
    fn avx512_1(&self) -> bool {
        self.platform == Platform::Haswell && self.level >= 4
    }

    /// What the loader of `abi` derives from this CPU.
    pub fn for_abi(&self, abi: &Abi) -> LoaderCpu {
        match abi.name {
            // `__x86_64__` code in cpu-features.c (x32 included): the
            // renamed platform, HWCAP_X86_64 (+ AVX512_1) under the mask
            // HWCAP_IMPORTANT, glibc-hwcaps by ISA level
            // (`sysdeps/x86_64/dl-hwcaps-subdirs.c`).
            "x86_64" | "x32" => {
                let mut hwcap_names = vec!["x86_64"];
                if self.avx512_1() {
                    hwcap_names.push("avx512_1");
                }
                LoaderCpu {
                    platform: self.platform.x86_64_name().to_string(),
                    hwcap_names,
                    glibc_hwcaps: (2..=self.level.min(4))
                        .rev()
                        .map(|l| format!("x86-64-v{l}"))
                        .collect(),
                    avx512_1: self.avx512_1(),
                }
            }
            // i386: `i686` whenever CMOV is usable (every x86-64 CPU), the
            // SSE2 bit under HWCAP_IMPORTANT, no glibc-hwcaps names.
            "i386" => LoaderCpu {
                platform: "i686".to_string(),
                hwcap_names: vec!["sse2"],
                glibc_hwcaps: Vec::new(),
                avx512_1: false,
            },
            _ => LoaderCpu {
                platform: abi.platform.to_string(),
                hwcap_names: Vec::new(),
                glibc_hwcaps: Vec::new(),
                avx512_1: false,
            },
        }
    }

    /// Whether the loader of `abi` can behave differently on different
    /// CPUs (as far as modelled).
    pub fn varies_for(abi: &Abi) -> bool {
        matches!(abi.name, "x86_64" | "x32")
    }

    /// The CPU ldslim runs on, read the way glibc reads it (CPUID and
    /// XGETBV); read once. On a machine that is not x86-64, the baseline.
    pub fn host() -> Cpu {
        static HOST: OnceLock<Cpu> = OnceLock::new();
        *HOST.get_or_init(detect::host)
    }
}

/// The subdirectories ld.so tries inside every search directory, best
/// first, ending with "" for the directory itself.
///
/// `elf/dl-hwcaps.c: _dl_important_hwcaps`: first `glibc-hwcaps/NAME/`
/// for each usable name; then, before glibc 2.37, the legacy ones — every
/// subset of (the HWCAP names in bit order, the platform, `tls`), largest
/// first, each written from the last element to the first. Measured with
/// LD_DEBUG=libs on glibc 2.36 for x86_64 (`tls/x86_64/x86_64, tls/x86_64,
/// tls/x86_64, tls, x86_64/x86_64, x86_64, x86_64`, and with the haswell
/// platform `tls/haswell/x86_64, tls/haswell, tls/x86_64, tls,
/// haswell/x86_64, haswell, x86_64`).
pub fn subdirs(cpu: &LoaderCpu, glibc_minor: Option<u32>) -> Vec<String> {
    let mut out: Vec<String> = cpu
        .glibc_hwcaps
        .iter()
        .map(|n| format!("glibc-hwcaps/{n}/"))
        .collect();
    if glibc_minor.is_none_or(|m| m < 37) {
        let mut names: Vec<&str> = cpu.hwcap_names.clone();
        names.push(&cpu.platform);
        names.push("tls");
        let count = names.len();
        for mask in (1..1u32 << count).rev() {
            let mut s = String::new();
            for (n, name) in names.iter().enumerate().rev() {
                if mask & (1 << n) != 0 {
                    s.push_str(name);
                    s.push('/');
                }
            }
            out.push(s);
        }
    }
    out.push(String::new());
    out
}

mod detect {
    use super::{Cpu, Platform};

    #[cfg(target_arch = "x86_64")]
    pub fn host() -> Cpu {
        use std::arch::x86_64::{__cpuid, __cpuid_count};
        let bit = |reg: u32, n: u32| reg & (1 << n) != 0;
        // Leaves beyond the maximum the CPU reports are never asked.
        let leaf0 = __cpuid(0);
        let max = leaf0.eax;
        let intel = (leaf0.ebx, leaf0.edx, leaf0.ecx) == (0x756e_6547, 0x4965_6e69, 0x6c65_746e);
        let l1 = __cpuid(1);
        let l7 = if max >= 7 { __cpuid_count(7, 0) } else { NONE };
        let ext_max = __cpuid(0x8000_0000).eax;
        let e1 = if ext_max >= 0x8000_0001 {
            __cpuid(0x8000_0001)
        } else {
            NONE
        };
        // `update_active`: AVX-class features are usable only when the OS
        // saves their state (XCR0), which needs OSXSAVE.
        let xcr0 = if bit(l1.ecx, 27) { xgetbv0() } else { 0 };
        let ymm = xcr0 & 0b110 == 0b110;
        let zmm = ymm && xcr0 & 0b1110_0000 == 0b1110_0000;
        let avx = ymm && bit(l1.ecx, 28);
        let avx2 = avx && bit(l7.ebx, 5);
        let fma = avx && bit(l1.ecx, 12);
        let f16c = avx && bit(l1.ecx, 29);
        let avx512f = zmm && bit(l7.ebx, 16);
        let avx512 = |n: u32| avx512f && bit(l7.ebx, n);
        let (bw, cd, dq, vl, er, pf) = (
            avx512(30),
            avx512(28),
            avx512(17),
            avx512(31),
            avx512(27),
            avx512(26),
        );
        let bmi1 = bit(l7.ebx, 3);
        let bmi2 = bit(l7.ebx, 8);
        let lzcnt = bit(e1.ecx, 5);
        let movbe = bit(l1.ecx, 22);
        let popcnt = bit(l1.ecx, 23);
        // `get_isa_level` (sysdeps/x86/get-isa-level.h).
        let v2 = bit(l1.ecx, 13) // CMPXCHG16B
            && bit(e1.ecx, 0) // LAHF64_SAHF64
            && popcnt
            && bit(l1.ecx, 0) // SSE3
            && bit(l1.ecx, 9) // SSSE3
            && bit(l1.ecx, 19) // SSE4_1
            && bit(l1.ecx, 20); // SSE4_2
        let v3 = v2 && avx && avx2 && f16c && fma && lzcnt && movbe;
        let v4 = v3 && avx512f && bw && cd && dq && vl;
        let level = if v4 {
            4
        } else if v3 {
            3
        } else if v2 {
            2
        } else {
            1
        };
        // `init_cpu_features`, `#ifdef __x86_64__`, `arch_kind_intel` only.
        let mut platform = Platform::Kernel;
        if intel {
            if cd && er && pf {
                platform = Platform::XeonPhi;
            } else if avx2 && fma && bmi1 && bmi2 && lzcnt && movbe && popcnt {
                platform = Platform::Haswell;
            }
        }
        Cpu { level, platform }
    }

    #[cfg(target_arch = "x86_64")]
    fn xgetbv0() -> u64 {
        #[target_feature(enable = "xsave")]
        unsafe fn read() -> u64 {
            // SAFETY: the caller checked OSXSAVE, so XGETBV is enabled.
            unsafe { std::arch::x86_64::_xgetbv(0) }
        }
        // SAFETY: only called when CPUID says OSXSAVE, which implies XSAVE.
        unsafe { read() }
    }

    /// A leaf the CPU does not have: no feature bits.
    #[cfg(target_arch = "x86_64")]
    const NONE: std::arch::x86_64::CpuidResult = std::arch::x86_64::CpuidResult {
        eax: 0,
        ebx: 0,
        ecx: 0,
        edx: 0,
    };

    #[cfg(not(target_arch = "x86_64"))]
    pub fn host() -> Cpu {
        Cpu::BASELINE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldso::abi::ABIS;

    fn abi(name: &str) -> Abi {
        *ABIS.iter().find(|a| a.name == name).unwrap()
    }

    #[test]
    fn legacy_subdirectories_as_glibc_2_36_builds_them() {
        let amd = Cpu {
            level: 3,
            platform: Platform::Kernel,
        };
        assert_eq!(
            subdirs(&amd.for_abi(&abi("x86_64")), Some(36)),
            [
                "glibc-hwcaps/x86-64-v3/",
                "glibc-hwcaps/x86-64-v2/",
                "tls/x86_64/x86_64/",
                "tls/x86_64/",
                "tls/x86_64/",
                "tls/",
                "x86_64/x86_64/",
                "x86_64/",
                "x86_64/",
                "",
            ]
        );
        let intel = Cpu {
            level: 3,
            platform: Platform::Haswell,
        };
        assert_eq!(
            subdirs(&intel.for_abi(&abi("x86_64")), Some(36))[2..],
            [
                "tls/haswell/x86_64/",
                "tls/haswell/",
                "tls/x86_64/",
                "tls/",
                "haswell/x86_64/",
                "haswell/",
                "x86_64/",
                "",
            ]
        );
        // Four names: sixteen subsets, the largest first.
        let avx512 = Cpu {
            level: 4,
            platform: Platform::Haswell,
        };
        let s = subdirs(&avx512.for_abi(&abi("x86_64")), Some(36));
        assert_eq!(s.len(), 3 + 16);
        assert_eq!(s[3], "tls/haswell/avx512_1/x86_64/");
        assert_eq!(s[4], "tls/haswell/avx512_1/");
        assert_eq!(s[10], "tls/");
        assert_eq!(s[12], "haswell/avx512_1/");
        assert_eq!(s[18], "");
        // glibc 2.37 removed the legacy ones; the baseline has no
        // glibc-hwcaps names.
        assert_eq!(
            subdirs(&Cpu::BASELINE.for_abi(&abi("x86_64")), Some(41)),
            [""]
        );
        assert_eq!(
            subdirs(&Cpu::BASELINE.for_abi(&abi("i386")), Some(36)),
            [
                "tls/i686/sse2/",
                "tls/i686/",
                "tls/sse2/",
                "tls/",
                "i686/sse2/",
                "i686/",
                "sse2/",
                "",
            ]
        );
    }

    #[test]
    fn kinds_are_distinct_and_named() {
        let kinds = Cpu::kinds();
        let mut names: Vec<String> = kinds.iter().map(Cpu::name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), kinds.len());
        assert_eq!(Cpu::BASELINE.name(), "x86_64/baseline");
        assert_eq!(kinds[5].name(), "haswell/x86-64-v4");
        assert!(kinds.contains(&Cpu::BASELINE));
        // Only an Intel CPU with AVX-512 sets avx512_1.
        let x = abi("x86_64");
        assert!(kinds[5].for_abi(&x).avx512_1);
        assert!(!kinds[3].for_abi(&x).avx512_1);
        assert!(!kinds[6].for_abi(&x).avx512_1);
        assert_eq!(kinds[6].for_abi(&x).platform, "xeon_phi");
        // Other loaders do not vary with the CPU.
        assert!(!Cpu::varies_for(&abi("aarch64")));
        assert_eq!(kinds[5].for_abi(&abi("aarch64")).platform, "aarch64");
    }

    /// The host's CPU as glibc's own loader reports it (`ld.so --help`):
    /// its platform and the glibc-hwcaps levels it marks supported.
    #[test]
    fn host_cpu_is_what_the_hosts_loader_reports() {
        let ld = std::path::Path::new("/lib64/ld-linux-x86-64.so.2");
        assert!(ld.exists(), "this test reads the host's x86-64 loader");
        let out = std::process::Command::new(ld)
            .arg("--help")
            .env_clear()
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let host = Cpu::host();
        let platform = help
            .lines()
            .find(|l| l.contains("(AT_PLATFORM;"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(Platform::from_name);
        // glibc 2.37+ prints no legacy list; 2.36 (Debian 12) does.
        if let Some(p) = platform {
            assert_eq!(host.platform, p, "{help}");
        }
        let supported = help
            .lines()
            .filter(|l| l.trim_start().starts_with("x86-64-v") && l.contains("supported"))
            .count();
        assert_eq!(host.level, 1 + supported as u8, "{help}");
    }
}
