//! A file tree the loader can look at: a host directory seen as a root, an
//! embedded base image, or the final image (a base with files copied on
//! top). The loader rules only ever `lstat` paths, read ELF facts and read
//! a few small files, so that is all a tree has to offer; path resolution
//! (symlinks followed inside the tree, physical `..`, loop detection) is
//! written once, here, for every kind of tree.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use crate::elf::{ElfFacts, ReadAt};
use crate::objects::FactsError;
use crate::root::{FileId, Kind, Resolved, RootError};

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

/// Resolve `path` inside `tree` like the kernel after `chroot`: `Ok(None)`
/// when some component does not exist (or a non-directory is used as a
/// directory); an error naming the chain for symlink loops.
pub fn resolve(tree: &dyn Tree, path: &Path) -> Result<Option<Resolved>, RootError> {
    resolve_from(tree, PathBuf::from("/"), None, path)
}

/// Resolve `rel` starting in the directory `start` (canonical, symlink-free,
/// with its stat when known): what the loader's lookups of many names in
/// one directory share, so the directory is resolved once.
pub fn resolve_from(
    tree: &dyn Tree,
    start: PathBuf,
    start_stat: Option<Stat>,
    rel: &Path,
) -> Result<Option<Resolved>, RootError> {
    let path = rel;
    let mut pending: VecDeque<OsString> = components(rel.as_os_str()).collect();
    let mut cur = start;
    let mut cur_stat: Option<Stat> = start_stat;
    let mut chain: Vec<PathBuf> = Vec::new();
    while let Some(comp) = pending.pop_front() {
        if comp == ".." {
            // Physical `..`: `cur` is symlink-free, so popping it is what
            // the kernel does; at `/` it stays at `/`.
            cur.pop();
            cur_stat = None;
            continue;
        }
        if let Some(st) = &cur_stat
            && st.node != Node::Directory
        {
            return Ok(None);
        }
        let next = cur.join(&comp);
        let Some(st) = tree.lstat(&next)? else {
            return Ok(None);
        };
        if let Node::Symlink(target) = &st.node {
            chain.push(next.clone());
            if chain.len() > MAX_SYMLINKS {
                return Err(RootError::Loop {
                    path: path.to_path_buf(),
                    chain,
                });
            }
            if target.is_absolute() {
                cur = PathBuf::from("/");
                cur_stat = None;
            }
            for c in components(target.as_os_str()).rev() {
                pending.push_front(c);
            }
            continue;
        }
        cur = next;
        cur_stat = Some(st);
    }
    let st = match cur_stat {
        Some(st) => st,
        None => match tree.lstat(&cur)? {
            Some(st) => st,
            // Only `/` can get here without a stat; a tree without one is
            // empty.
            None => return Ok(None),
        },
    };
    let kind = match st.node {
        Node::Regular => Kind::Regular,
        Node::Directory => Kind::Directory,
        Node::Symlink(_) | Node::Special => Kind::Special,
    };
    Ok(Some(Resolved {
        path: cur,
        kind,
        id: st.id,
        size: st.size,
    }))
}

/// The symlinks met while resolving `path`, in order, each with its link
/// text: what must be copied along with the file for the same path to
/// work elsewhere.
pub fn symlink_chain(tree: &dyn Tree, path: &Path) -> Result<Vec<(PathBuf, PathBuf)>, RootError> {
    let mut pending: VecDeque<OsString> = components(path.as_os_str()).collect();
    let mut cur = PathBuf::from("/");
    let mut links = Vec::new();
    while let Some(comp) = pending.pop_front() {
        if comp == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&comp);
        let Some(st) = tree.lstat(&next)? else {
            break;
        };
        if let Node::Symlink(target) = st.node {
            if links.len() >= MAX_SYMLINKS {
                return Err(RootError::Loop {
                    path: path.to_path_buf(),
                    chain: links.into_iter().map(|(l, _)| l).collect(),
                });
            }
            links.push((next, target.clone()));
            if target.is_absolute() {
                cur = PathBuf::from("/");
            }
            for c in components(target.as_os_str()).rev() {
                pending.push_front(c);
            }
            continue;
        }
        cur = next;
    }
    Ok(links)
}

/// Normal components of a path, keeping `..` (resolved physically by the
/// caller) and dropping `/` and `.`.
fn components(path: &OsStr) -> impl DoubleEndedIterator<Item = OsString> + '_ {
    Path::new(path).components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}
