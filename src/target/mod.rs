//! Targets: what a distroless base image already provides, so that a plan
//! copies only what the image lacks and checks the rest against the image's
//! own libraries.
//!
//! A target is a listing of every directory, file and symlink of the image
//! (modes, sizes, link texts, and the ELF facts of every ELF file), plus the
//! facts of its loader. The listings are generated from real Debian packages
//! by `scripts/make-targets.sh` (see docs/targets.md), stored as JSON Lines
//! ([`render`], [`parse`]) and embedded in the binary ([`embedded`]).

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use walkdir::WalkDir;

use crate::elf::{self, ElfError, ElfFacts};
use crate::ldso::abi::{self, ABIS, Abi};
use crate::rootfs::{Kind, Root, RootError};

mod embedded;
mod format;
mod list;
mod parse;
#[cfg(test)]
mod tests;

pub use embedded::{DEFAULT_ARCH, default_for_builder, default_target, embedded, embedded_names};
pub use format::{FORMAT, render};
pub use list::{list_json, list_text};
pub use parse::{parse, parse_packages};

/// Which image a target is, and what its loader does.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TargetInfo {
    /// The image, e.g. `distroless/cc-debian12` (the architecture is
    /// [`TargetInfo::arch`], not part of the name).
    pub name: String,
    /// Debian suite, e.g. `bookworm`.
    pub suite: String,
    /// Debian architecture, e.g. `amd64`.
    pub arch: String,
    /// Every Debian package the image was built from, `(name, version)`,
    /// in the order they were unpacked.
    pub packages: Vec<(String, String)>,
    /// The PT_INTERP of a program built for this architecture, e.g.
    /// `/lib64/ld-linux-x86-64.so.2`; absent from a `static` image.
    pub interp: String,
    /// The loader's default directories, each with a trailing slash, as
    /// compiled into the image's own ld.so; empty without a loader.
    pub dirs: Vec<String>,
    /// The newest `GLIBC_2.N` version the image's libc.so.6 defines
    /// (e.g. `2.36`); `None` without a libc.
    pub glibc: Option<String>,
}

/// What a path of the image is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    /// A symbolic link, with its text as written (e.g. `usr/lib`).
    Symlink(String),
}

/// One path of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetEntry {
    /// Absolute path inside the image, no trailing slash (`/` for the root).
    pub path: String,
    /// Permission bits, including setuid/setgid/sticky (e.g. `0o1777`).
    pub mode: u32,
    pub kind: EntryKind,
    /// Bytes of a regular file; 0 for directories and symlinks.
    pub size: u64,
    /// The facts of an ELF file.
    pub elf: Option<ElfFacts>,
}

/// A whole image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetData {
    pub info: TargetInfo,
    /// Keyed by [`TargetEntry::path`].
    pub entries: BTreeMap<String, TargetEntry>,
    /// Directories whose contents are not listed (every prefix of
    /// [`OMITTED`]), each with the number of files and symlinks under it
    /// (possibly 0). The directory itself is listed when it exists.
    pub omitted: Vec<(String, usize)>,
}

impl TargetData {
    /// The entries that are ELF files, with their facts.
    pub fn elf_objects(&self) -> impl Iterator<Item = (&TargetEntry, &ElfFacts)> {
        self.entries
            .values()
            .filter_map(|e| e.elf.as_ref().map(|f| (e, f)))
    }

    /// The entry at `path` as written (symlinks are not followed).
    pub fn get(&self, path: &str) -> Option<&TargetEntry> {
        self.entries.get(path)
    }

    /// The entry `path` names in the image, every symlink followed (the
    /// last one too) as the kernel would: `None` when some component does
    /// not exist, is not a directory, lies under an omitted prefix, or
    /// after more than 40 symlinks.
    pub fn resolve(&self, path: &str) -> Option<&TargetEntry> {
        const MAX_SYMLINKS: usize = 40;
        let mut links = 0;
        let mut done: Vec<&str> = Vec::new();
        let mut todo: std::collections::VecDeque<&str> = components(path).collect();
        while let Some(c) = todo.pop_front() {
            if c == ".." {
                done.pop();
                continue;
            }
            done.push(c);
            let entry = self.entries.get(&join(&done))?;
            match &entry.kind {
                EntryKind::Dir => {}
                EntryKind::File if todo.is_empty() => {}
                EntryKind::File => return None,
                EntryKind::Symlink(target) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return None;
                    }
                    done.pop();
                    if target.starts_with('/') {
                        done.clear();
                    }
                    for t in components(target).rev() {
                        todo.push_front(t);
                    }
                }
            }
        }
        self.entries.get(&join(&done))
    }
}

/// The components of a path that name something (no empty ones, no `.`).
fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

fn join(components: &[&str]) -> String {
    format!("/{}", components.join("/"))
}

/// Contents left out of a listing: data files no program loads, and the bulk
/// of every listing otherwise (zoneinfo alone is ~1800 files in debian13).
pub const OMITTED: &[&str] = &[
    "/usr/share/common-licenses/",
    "/usr/share/doc/",
    "/usr/share/lintian/",
    "/usr/share/locale/",
    "/usr/share/man/",
    "/usr/share/zoneinfo/",
];

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("empty target data: no header line")]
    Empty,
    #[error("unknown target {name:?}; known targets: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
    #[error("embedded target {name}: {source}")]
    Embedded {
        name: String,
        source: Box<TargetError>,
    },
    #[error("architecture {0:?} has no known glibc loader ABI")]
    UnknownArch(String),
    #[error("{path}: {message}")]
    Walk { path: String, message: String },
    #[error(transparent)]
    Root(#[from] RootError),
    #[error("{path}: {source}")]
    Elf { path: String, source: ElfError },
    #[error("{path}: the loader has no list of default directories")]
    NoLoaderDirs { path: String },
}

impl TargetError {
    fn walk(path: impl Into<String>, message: impl Into<String>) -> TargetError {
        TargetError::Walk {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Debian's architecture names for the loader ABIs of [`ABIS`].
const DEBIAN_ARCHES: &[(&str, &str)] = &[
    ("amd64", "x86_64"),
    ("arm64", "aarch64"),
    ("armhf", "armhf"),
    ("i386", "i386"),
    ("ppc64el", "ppc64el"),
    ("riscv64", "riscv64"),
    ("s390x", "s390x"),
];

/// The Debian architecture of a loader ABI (`x86_64` → `amd64`).
pub fn arch_for_abi(abi: &str) -> Option<&'static str> {
    DEBIAN_ARCHES
        .iter()
        .find(|(_, a)| *a == abi)
        .map(|(d, _)| *d)
}

/// The loader ABI of a Debian architecture.
pub fn abi_for_arch(arch: &str) -> Option<&'static Abi> {
    let name = DEBIAN_ARCHES.iter().find(|(a, _)| *a == arch)?.1;
    ABIS.iter().find(|abi| abi.name == name)
}

/// The most of a loader read to find its directory list (as `ldso::abi`).
const MAX_LOADER: u64 = 16 << 20;

/// List an extracted image.
///
/// `info`'s name, suite, arch and packages are taken as given; `interp`,
/// when empty, becomes the standard one of `info.arch`; `dirs` and `glibc`
/// are always read from the root: the directory list compiled into the
/// root's own loader (at `interp`), and the newest `GLIBC_2.N` defined by
/// the libc.so.6 that loader finds first in those directories.
///
/// Symlinks are listed, never followed; a FIFO, socket or device is an
/// error, as is a path that is not UTF-8 or an ELF file that cannot be read.
pub fn from_root(root: &Root, mut info: TargetInfo) -> Result<TargetData, TargetError> {
    if info.interp.is_empty() {
        info.interp = abi_for_arch(&info.arch)
            .ok_or_else(|| TargetError::UnknownArch(info.arch.clone()))?
            .interp
            .to_string();
    }
    let mut entries = BTreeMap::new();
    // Every omitted prefix is reported, with 0 when the image has nothing
    // there, so that a reader knows which paths the listing cannot answer for.
    let mut omitted: BTreeMap<&'static str, usize> = OMITTED.iter().map(|p| (*p, 0)).collect();
    let host = root.host_dir();
    // Sorted so that a walk error is always the same one.
    for item in WalkDir::new(host).follow_links(false).sort_by_file_name() {
        let item = item.map_err(|e| {
            let path = e
                .path()
                .map(|p| inside(host, p).unwrap_or_else(|| p.display().to_string()))
                .unwrap_or_default();
            TargetError::walk(path, e.to_string())
        })?;
        let path = inside(host, item.path())
            .ok_or_else(|| TargetError::walk(item.path().display().to_string(), "not UTF-8"))?;
        let ft = item.file_type();
        if let Some(prefix) = OMITTED.iter().find(|p| path.starts_with(**p)) {
            if !ft.is_dir() {
                *omitted.entry(prefix).or_default() += 1;
            }
            continue;
        }
        let meta = item
            .metadata()
            .map_err(|e| TargetError::walk(&path, e.to_string()))?;
        let mode = meta.mode() & 0o7777;
        let (kind, size, elf) = if ft.is_dir() {
            (EntryKind::Dir, 0, None)
        } else if ft.is_symlink() {
            let text = std::fs::read_link(item.path())
                .map_err(|e| TargetError::walk(&path, e.to_string()))?;
            let text = text
                .to_str()
                .ok_or_else(|| TargetError::walk(&path, "symlink text is not UTF-8"))?;
            (EntryKind::Symlink(text.to_string()), 0, None)
        } else if ft.is_file() {
            (EntryKind::File, meta.len(), elf_facts(root, &path)?)
        } else {
            return Err(TargetError::walk(
                &path,
                "not a directory, regular file or symlink",
            ));
        };
        entries.insert(
            path.clone(),
            TargetEntry {
                path,
                mode,
                kind,
                size,
                elf,
            },
        );
    }
    info.dirs = loader_dirs(root, &info.interp)?;
    info.glibc = glibc_version(root, &info.dirs, &entries);
    Ok(TargetData {
        info,
        entries,
        omitted: omitted
            .into_iter()
            .map(|(p, n)| (p.to_string(), n))
            .collect(),
    })
}

/// The path inside the root of a host path under it, `/` for the root.
fn inside(host: &Path, p: &Path) -> Option<String> {
    let rel = p.strip_prefix(host).ok()?;
    let rel = std::str::from_utf8(rel.as_os_str().as_bytes()).ok()?;
    Some(format!("/{rel}"))
}

fn elf_facts(root: &Root, path: &str) -> Result<Option<ElfFacts>, TargetError> {
    let (file, _) = root.open_walked(Path::new(path))?;
    let elf_err = |source| TargetError::Elf {
        path: path.to_string(),
        source,
    };
    if !elf::has_elf_magic(&file).map_err(|e| elf_err(e.into()))? {
        return Ok(None);
    }
    elf::read_facts(&file).map(Some).map_err(elf_err)
}

/// The default directories of the root's loader; none when the root has no
/// loader at `interp` (a `static` image).
fn loader_dirs(root: &Root, interp: &str) -> Result<Vec<String>, TargetError> {
    let Some(file) = root.resolve(Path::new(interp))? else {
        return Ok(Vec::new());
    };
    if file.kind != Kind::Regular {
        return Ok(Vec::new());
    }
    let opened = root.open(&file)?;
    let no_dirs = || TargetError::NoLoaderDirs {
        path: file.path.display().to_string(),
    };
    if opened.size > MAX_LOADER {
        return Err(no_dirs());
    }
    let len = usize::try_from(opened.size).map_err(|_| no_dirs())?;
    let mut bytes = vec![0u8; len];
    std::os::unix::fs::FileExt::read_exact_at(&opened.file, &mut bytes, 0).map_err(|source| {
        RootError::Io {
            path: file.path.clone(),
            source,
        }
    })?;
    abi::find_dir_list(&bytes).ok_or_else(no_dirs)
}

/// The newest `GLIBC_2.N` version defined by the first libc.so.6 in `dirs`.
fn glibc_version(
    root: &Root,
    dirs: &[String],
    entries: &BTreeMap<String, TargetEntry>,
) -> Option<String> {
    let libc = dirs.iter().find_map(|d| {
        let r = root.resolve(Path::new(&format!("{d}libc.so.6"))).ok()??;
        let path = r.path.to_str()?;
        entries.get(path)?.elf.as_ref()
    })?;
    libc.verdef
        .iter()
        .filter_map(|v| {
            let version = v.name.strip_prefix("GLIBC_")?;
            let parts: Option<Vec<u32>> = version.split('.').map(|p| p.parse().ok()).collect();
            Some((parts?, version))
        })
        .max()
        .map(|(_, v)| v.to_string())
}
