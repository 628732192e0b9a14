//! What differs between the loaders of each architecture: which objects
//! they accept, where their default directories are, what `$LIB` and
//! `$PLATFORM` expand to and which subdirectories they try first.

// The loader's bytes are the root's, so hostile: nothing here may panic
// or overflow on them, and the compiler checks it.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use crate::elf::consts::{EM_386, EM_AARCH64, EM_ARM, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64};
use crate::elf::{Class, Data, ElfFacts};
use crate::objects::Objects;
use crate::rootfs::Kind;
use std::path::Path;

/// One glibc loader ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Abi {
    pub name: &'static str,
    pub class: Class,
    pub data: Data,
    pub machine: u16,
    /// The interpreter path glibc installs for this ABI (PT_INTERP).
    pub interp: &'static str,
    /// Debian's multiarch triplet.
    pub triplet: &'static str,
    /// AT_PLATFORM as the kernel reports it (glibc may rename it on some
    /// CPUs: see `cpu`).
    pub platform: &'static str,
}

/// Known ABIs. The interpreter paths and triplets are Debian's; `platform`
/// values other than x86_64's were not measured here.
pub const ABIS: &[Abi] = &[
    Abi {
        name: "x86_64",
        class: Class::Elf64,
        data: Data::Little,
        machine: EM_X86_64,
        interp: "/lib64/ld-linux-x86-64.so.2",
        triplet: "x86_64-linux-gnu",
        platform: "x86_64",
    },
    Abi {
        name: "i386",
        class: Class::Elf32,
        data: Data::Little,
        machine: EM_386,
        interp: "/lib/ld-linux.so.2",
        triplet: "i386-linux-gnu",
        platform: "i686",
    },
    Abi {
        name: "x32",
        class: Class::Elf32,
        data: Data::Little,
        machine: EM_X86_64,
        interp: "/libx32/ld-linux-x32.so.2",
        triplet: "x86_64-linux-gnux32",
        platform: "x86_64",
    },
    Abi {
        name: "aarch64",
        class: Class::Elf64,
        data: Data::Little,
        machine: EM_AARCH64,
        interp: "/lib/ld-linux-aarch64.so.1",
        triplet: "aarch64-linux-gnu",
        platform: "aarch64",
    },
    Abi {
        name: "armhf",
        class: Class::Elf32,
        data: Data::Little,
        machine: EM_ARM,
        interp: "/lib/ld-linux-armhf.so.3",
        triplet: "arm-linux-gnueabihf",
        platform: "v7l",
    },
    Abi {
        name: "ppc64el",
        class: Class::Elf64,
        data: Data::Little,
        machine: EM_PPC64,
        interp: "/lib64/ld64.so.2",
        triplet: "powerpc64le-linux-gnu",
        platform: "power8",
    },
    Abi {
        name: "s390x",
        class: Class::Elf64,
        data: Data::Big,
        machine: EM_S390,
        interp: "/lib/ld64.so.1",
        triplet: "s390x-linux-gnu",
        platform: "z13",
    },
    Abi {
        name: "riscv64",
        class: Class::Elf64,
        data: Data::Little,
        machine: EM_RISCV,
        interp: "/lib/ld-linux-riscv64-lp64d.so.1",
        triplet: "riscv64-linux-gnu",
        platform: "riscv64",
    },
];

impl Abi {
    /// The loader that would run `facts` as its main object: the one named
    /// by its PT_INTERP if known, else the one matching class and machine
    /// (what Debian's `ldd` does by trying each loader in turn).
    pub fn for_object(facts: &ElfFacts) -> Option<Abi> {
        let fits =
            |a: &&Abi| a.class == facts.class && a.data == facts.data && a.machine == facts.machine;
        if let Some(interp) = &facts.interp
            && let Some(a) = ABIS.iter().filter(fits).find(|a| a.interp == interp)
        {
            return Some(*a);
        }
        ABIS.iter().find(fits).copied()
    }

    pub fn is_64(&self) -> bool {
        self.class == Class::Elf64
    }
}

/// Where a root's loader looks by default, and what it calls `$LIB`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemDirs {
    /// Each with a trailing slash, as glibc stores them (`system_dirs`).
    pub dirs: Vec<String>,
    pub lib: String,
    /// Where the list came from, for reports.
    pub source: DirsSource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirsSource {
    /// Read from the root's own ld.so.
    Loader,
    /// Guessed from the root's layout (no readable loader).
    Layout,
}

/// The most of a loader binary read to find its directory list.
const MAX_LOADER: u64 = 16 << 20;

impl SystemDirs {
    /// The default directories compiled into the root's own loader.
    ///
    /// `elf/dl-load.c` keeps them as one constant, `system_dirs`: the
    /// directories NUL-separated, each ending in `/` (generated from the
    /// build's slibdir/libdir, so Debian's multiarch x86_64 loader has
    /// `/lib/x86_64-linux-gnu/`, `/usr/lib/x86_64-linux-gnu/`, `/lib/`,
    /// `/usr/lib/`, and Debian's biarch i386 loader `/lib32/`, `/usr/lib32/`).
    /// We find that run of strings in the loader's bytes. `$LIB` is the
    /// first of them without its slashes (measured on Debian 12:
    /// `lib/x86_64-linux-gnu`). Without a readable loader, the layout of
    /// the root decides.
    pub fn detect(objects: &Objects, abi: &Abi, interp: &str) -> SystemDirs {
        let known = objects.tree().loader_dirs(interp);
        let read = || {
            rodata_dirs(objects, interp).or_else(|| {
                let bytes = objects.read_small(interp, MAX_LOADER).ok()??;
                find_dir_list(&bytes)
            })
        };
        if let Some(dirs) = known.or_else(read).filter(|d| !d.is_empty()) {
            return SystemDirs {
                lib: lib_of(&dirs),
                dirs,
                source: DirsSource::Loader,
            };
        }
        let t = abi.triplet;
        let has = |p: String| matches!(objects.resolve(Path::new(&p)), Ok(Some(r)) if r.kind == Kind::Directory);
        let dirs: Vec<String> = if has(format!("/usr/lib/{t}")) || has(format!("/lib/{t}")) {
            vec![
                format!("/lib/{t}/"),
                format!("/usr/lib/{t}/"),
                "/lib/".into(),
                "/usr/lib/".into(),
            ]
        } else if abi.is_64() {
            vec!["/lib64/".into(), "/usr/lib64/".into()]
        } else {
            vec!["/lib/".into(), "/usr/lib/".into()]
        };
        SystemDirs {
            lib: lib_of(&dirs),
            dirs,
            source: DirsSource::Layout,
        }
    }
}

/// `$LIB`: the first default directory without its slashes.
fn lib_of(dirs: &[String]) -> String {
    dirs.first()
        .map(|d| d.trim_matches('/').to_string())
        .unwrap_or_default()
}

/// The directory list from the loader's `.rodata` alone (where
/// `system_dirs`, a `const char[]`, lives): ~24 KiB read instead of the
/// whole ~215 KiB loader, which was a tenth of a one-object `ldd`.
fn rodata_dirs(objects: &Objects, interp: &str) -> Option<Vec<String>> {
    let file = objects.resolve(Path::new(interp)).ok()??;
    if file.kind != Kind::Regular {
        return None;
    }
    let r = objects.tree().reader(&file).ok()??;
    let (offset, size) = crate::elf::section_range(&*r, b".rodata").ok()??;
    let mut bytes = vec![0u8; usize::try_from(size.min(MAX_LOADER)).ok()?];
    let got = crate::elf::read_full(&*r, &mut bytes, offset).ok()?;
    find_dir_list(bytes.get(..got)?)
}

/// The first run of at least two NUL-terminated absolute directory names
/// ending in `/`, starting right after a NUL or at the first byte (the
/// aarch64 loader's `.rodata` begins with its `system_dirs`).
pub fn find_dir_list(bytes: &[u8]) -> Option<Vec<String>> {
    let is_dir = |s: &[u8]| {
        s.len() >= 2
            && s.starts_with(b"/")
            && s.ends_with(b"/")
            && s.iter().all(|&c| c.is_ascii_graphic())
    };
    let mut start = 0;
    while let Some(rest) = bytes.get(start..) {
        let Some(rel) = rest.iter().position(|&b| b == b'/') else {
            break;
        };
        // Inside `bytes`, so neither sum can overflow.
        let at = start.saturating_add(rel);
        let after_nul = match at.checked_sub(1) {
            None => true,
            Some(before) => bytes.get(before) == Some(&0),
        };
        if after_nul {
            let mut dirs = Vec::new();
            // Only NUL-terminated strings count: the last piece may lack it.
            for piece in rest
                .get(rel..)
                .unwrap_or_default()
                .split_inclusive(|&b| b == 0)
            {
                let Some(s) = piece.strip_suffix(&[0]) else {
                    break;
                };
                if !is_dir(s) {
                    break;
                }
                dirs.push(String::from_utf8_lossy(s).into_owned());
            }
            if dirs.len() >= 2 && dirs.iter().any(|d| d.contains("lib")) {
                return Some(dirs);
            }
        }
        start = at.saturating_add(1);
    }
    None
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn a_list_at_the_first_byte_keeps_its_first_directory() {
        // As in Debian 12's aarch64 ld.so, whose .rodata starts with it.
        let bytes = b"/lib/aarch64-linux-gnu/\0/usr/lib/aarch64-linux-gnu/\0/lib/\0/usr/lib/\0\0x";
        assert_eq!(
            find_dir_list(bytes).unwrap(),
            [
                "/lib/aarch64-linux-gnu/",
                "/usr/lib/aarch64-linux-gnu/",
                "/lib/",
                "/usr/lib/"
            ]
        );
        // Not after another string's tail.
        let bytes = b"x/lib/a/\0/usr/lib/a/\0/lib/\0/usr/lib/\0";
        assert_eq!(find_dir_list(bytes).unwrap()[0], "/usr/lib/a/");
    }

    #[test]
    fn finds_the_directory_list_of_the_hosts_loader() {
        let bytes = std::fs::read("/lib64/ld-linux-x86-64.so.2").expect("host loader");
        let dirs = find_dir_list(&bytes).expect("a directory list");
        assert!(
            dirs.iter().all(|d| d.starts_with('/') && d.ends_with('/')),
            "{dirs:?}"
        );
        assert!(
            dirs.contains(&"/usr/lib/".to_string()) || dirs.contains(&"/usr/lib64/".to_string()),
            "{dirs:?}"
        );
    }

    #[test]
    fn rodata_alone_gives_the_whole_files_directory_list() {
        for interp in ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux.so.2"] {
            let Ok(bytes) = std::fs::read(interp) else {
                continue;
            };
            let root = crate::rootfs::Root::new(Path::new("/")).unwrap();
            let objects = Objects::new(std::sync::Arc::new(root));
            assert_eq!(
                rodata_dirs(&objects, interp),
                find_dir_list(&bytes),
                "{interp}"
            );
        }
    }

    #[test]
    fn directory_list_needs_two_dirs_after_a_nul() {
        assert_eq!(find_dir_list(b"x/a/\0/b/\0"), None);
        assert_eq!(
            find_dir_list(b"\0/etc/ld.so.cache\0\0/lib32/\0/usr/lib32/\0\0").unwrap(),
            vec!["/lib32/", "/usr/lib32/"]
        );
        assert_eq!(find_dir_list(b"\0/lib/\0"), None);
    }
}
