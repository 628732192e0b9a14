//! The file-access layer: a root filesystem as the loader sees it. A host
//! directory seen as a root ([`Root`]), an embedded base image and the
//! final image (a base with files copied on top) are all a [`Tree`]: the
//! loader rules only ever `lstat` paths, read ELF facts and read a few small
//! files, so that is all a tree has to offer. Path resolution (symlinks
//! followed inside the tree, physical `..`, loop detection) is written once,
//! in `rootfs/resolve.rs` ([`resolve`], [`symlink_chain`]), for every
//! kind of tree.
//!
//! Everything above this layer speaks in its types: a [`Resolved`] path
//! inside the root, its [`FileId`] and [`Kind`], and the errors of reading
//! it ([`RootError`], [`FactsError`]).

use std::io;
use std::path::{Path, PathBuf};

use crate::elf::{ElfError, ElfFacts, ReadAt};

mod host;
mod resolve;

pub use host::Root;
pub use resolve::{resolve, resolve_from, resolve_from_or_stop, resolve_or_stop, symlink_chain};

/// Identity of a file, as glibc compares loaded objects (`_dl_file_id_match_p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// What kind of file a resolved path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Regular,
    Directory,
    /// FIFOs, sockets, devices: never opened.
    Special,
}

/// A path inside the root with every symlink resolved.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Canonical path inside the root, always absolute (`/usr/lib/...`).
    pub path: PathBuf,
    pub kind: Kind,
    pub id: FileId,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{}: too many levels of symbolic links: {}", path.display(), chain_text(chain))]
    Loop { path: PathBuf, chain: Vec<PathBuf> },
    #[error("{}: not a regular file", .0.display())]
    NotRegular(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// A path that a description of a tree (an embedded target) does not
    /// list, under a directory it records only as a count: whether it
    /// exists cannot be told.
    #[error(
        "{}: not known: the target data records {prefix} only as a count ({files} files); plan against the extracted image (--target DIR) to see inside",
        path.display()
    )]
    Unlisted {
        path: PathBuf,
        prefix: String,
        files: usize,
    },
}

fn chain_text(chain: &[PathBuf]) -> String {
    let shown: Vec<String> = chain
        .iter()
        .take(8)
        .map(|p| p.display().to_string())
        .collect();
    let more = if chain.len() > 8 { " -> ..." } else { "" };
    format!("{}{more}", shown.join(" -> "))
}

/// Why a file's facts could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error(transparent)]
    Root(#[from] RootError),
    #[error("{path}: {source}")]
    Elf { path: String, source: ElfError },
}

/// Linux gives up after 40 symlinks in one resolution (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// What `lstat` tells about one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Regular,
    Directory,
    /// A symlink and its link text.
    Symlink(PathBuf),
    /// FIFOs, sockets, devices: never opened.
    Special,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub node: Node,
    pub id: FileId,
    pub size: u64,
    pub mode: u32,
}

/// A root filesystem as the loader sees it.
pub trait Tree: Send + Sync {
    /// `lstat` of `path`, whose directories are already symlink-free;
    /// `Ok(None)` when it does not exist.
    fn lstat(&self, path: &Path) -> Result<Option<Stat>, RootError>;

    /// ELF facts of a resolved regular file.
    fn facts(&self, file: &Resolved) -> Result<ElfFacts, FactsError>;

    /// The whole content of a resolved regular file of at most `max` bytes
    /// (`None` when it is larger). Used for `/etc/ld.so.cache`,
    /// `/etc/ld.so.preload` and the loader binary.
    fn read(&self, file: &Resolved, max: u64) -> Result<Option<Vec<u8>>, RootError>;

    /// A positional reader over a resolved regular file, for reading parts
    /// of a large file (the loader's `.rodata`) without reading it all;
    /// `None` when the tree has no file bytes (an embedded image).
    fn reader(&self, _file: &Resolved) -> Result<Option<Box<dyn ReadAt + '_>>, RootError> {
        Ok(None)
    }

    /// The default directories of the loader at `interp`, when the tree
    /// knows them without reading the loader (an embedded image does).
    fn loader_dirs(&self, _interp: &str) -> Option<Vec<String>> {
        None
    }

    /// A short description for reports ("/srv/rootfs", "distroless/cc-debian12").
    fn describe(&self) -> String;
}
