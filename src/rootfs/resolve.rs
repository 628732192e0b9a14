//! Path resolution inside a tree, like the kernel's after `chroot`:
//! symlinks (absolute or relative) followed inside the tree, `..` physical
//! and never above `/`, loops stopped after [`MAX_SYMLINKS`] links. One
//! walk serves both questions the planner asks: where a path ends, and
//! which symlinks it went through on the way.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use super::{Kind, MAX_SYMLINKS, Node, Resolved, RootError, Stat, Tree};

/// Resolve `path` inside `tree` like the kernel after `chroot`: `Ok(None)`
/// when some component does not exist (or a non-directory is used as a
/// directory); an error naming the chain for symlink loops.
pub fn resolve(tree: &dyn Tree, path: &Path) -> Result<Option<Resolved>, RootError> {
    resolve_from(tree, PathBuf::from("/"), None, path)
}

/// [`resolve`], saying where the walk stopped ([`resolve_from_or_stop`]).
pub fn resolve_or_stop(
    tree: &dyn Tree,
    path: &Path,
) -> Result<Result<Resolved, PathBuf>, RootError> {
    resolve_from_or_stop(tree, PathBuf::from("/"), None, path)
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
    walk(tree, start, start_stat, rel, |_, _| {}).map(Result::ok)
}

/// [`resolve_from`], saying where the walk stopped when the path does not
/// resolve: the path that is not there (or is no directory but has to be
/// one). Every other path the walk looked at was there; in a tree that
/// only gains paths, only a new one there can change the answer.
pub fn resolve_from_or_stop(
    tree: &dyn Tree,
    start: PathBuf,
    start_stat: Option<Stat>,
    rel: &Path,
) -> Result<Result<Resolved, PathBuf>, RootError> {
    walk(tree, start, start_stat, rel, |_, _| {})
}

/// The symlinks met while resolving `path`, in order, each with its link
/// text: what must be copied along with the file for the same path to
/// work elsewhere. The walk stops where the path stops existing, so a
/// dangling path still gives the links up to the missing part.
pub fn symlink_chain(tree: &dyn Tree, path: &Path) -> Result<Vec<(PathBuf, PathBuf)>, RootError> {
    let mut links = Vec::new();
    // Only the links met matter, not where the walk ends.
    let _ = walk(tree, PathBuf::from("/"), None, path, |link, target| {
        links.push((link.to_path_buf(), target.to_path_buf()))
    })?;
    Ok(links)
}

/// The one resolver: component by component from `start`, each symlink
/// reported to `on_link` (its path and link text) and its text spliced in
/// front of the components left. `Ok(Err(at))` when the component at `at`
/// does not exist or is a non-directory used as a directory.
fn walk(
    tree: &dyn Tree,
    start: PathBuf,
    start_stat: Option<Stat>,
    rel: &Path,
    mut on_link: impl FnMut(&Path, &Path),
) -> Result<Result<Resolved, PathBuf>, RootError> {
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
            return Ok(Err(cur));
        }
        let next = cur.join(&comp);
        let Some(st) = tree.lstat(&next)? else {
            return Ok(Err(next));
        };
        if let Node::Symlink(target) = &st.node {
            if chain.len() >= MAX_SYMLINKS {
                chain.push(next);
                return Err(RootError::Loop {
                    path: rel.to_path_buf(),
                    chain,
                });
            }
            on_link(&next, target);
            chain.push(next);
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
            None => return Ok(Err(cur)),
        },
    };
    let kind = match st.node {
        Node::Regular => Kind::Regular,
        Node::Directory => Kind::Directory,
        Node::Symlink(_) | Node::Special => Kind::Special,
    };
    Ok(Ok(Resolved {
        path: cur,
        kind,
        id: st.id,
        size: st.size,
    }))
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
