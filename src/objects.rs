//! Files of one tree, each resolved and parsed at most once per run.
//!
//! Every lookup the loader simulation makes goes through here, from any
//! number of threads: path resolutions and ELF facts are memoised, so the
//! thousandth object needing `libc.so.6` costs a hash lookup.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::elf::ElfFacts;
use crate::locks::{read, write};
use crate::misses;
use crate::rootfs::{self, FactsError, FileId, Kind, Resolved, RootError, Tree};

/// The facts are behind their own `Arc` so that every load order mapping
/// the file shares them instead of cloning them (libc's alone are dozens of
/// version strings).
pub type Facts = Arc<Result<Arc<ElfFacts>, FactsError>>;

/// A memoised path resolution: missing is `Ok(None)`.
pub type Resolution = Result<Option<Resolved>, Arc<RootError>>;

/// A path's memoised resolution, and, when it is missing, where its
/// resolution stopped ([`misses::Miss::stop`]).
type Memo = (Resolution, Option<Arc<[u8]>>);

/// Shared, memoised view of the files of one tree.
pub struct Objects {
    tree: Arc<dyn Tree>,
    /// Keyed by the path's bytes: one hash pass per lookup, where `Path`'s
    /// own `Hash` feeds the hasher component by component. (Two spellings
    /// of one path, `/a//b` and `/a/b`, are then two entries with the same
    /// resolution: only the memo is affected.)
    paths: RwLock<HashMap<Vec<u8>, Memo>>,
    facts: RwLock<HashMap<FileId, Facts>>,
    /// A view of an earlier state of the tree with only fewer paths
    /// ([`Objects::after`]).
    earlier: Option<Arc<Objects>>,
}

impl Objects {
    pub fn new(tree: Arc<dyn Tree>) -> Objects {
        Objects {
            tree,
            paths: RwLock::new(HashMap::new()),
            facts: RwLock::new(HashMap::new()),
            earlier: None,
        }
    }

    pub fn tree(&self) -> &dyn Tree {
        self.tree.as_ref()
    }

    /// Resolve a path inside the tree (memoised).
    pub fn resolve(&self, path: &Path) -> Resolution {
        self.resolve_or_stop(path).0
    }

    /// [`Objects::resolve`], with where the resolution stopped when the
    /// path is missing; the miss is noted ([`misses::note`]).
    fn resolve_or_stop(&self, path: &Path) -> Memo {
        let (got, stop) = self.resolve_memo(path);
        let key = path.as_os_str().as_bytes();
        match &got {
            Ok(Some(_)) => {}
            Ok(None) => misses::note(key, false, stop.clone()),
            Err(_) => misses::note(key, true, None),
        }
        (got, stop)
    }

    fn resolve_memo(&self, path: &Path) -> Memo {
        let key = path.as_os_str().as_bytes();
        if let Some(hit) = read(&self.paths).get(key) {
            return hit.clone();
        }
        if let Some(found) = self.found_earlier(key) {
            write(&self.paths).insert(key.to_vec(), (found.clone(), None));
            return (found, None);
        }
        let stopped = |at: PathBuf| -> Option<Arc<[u8]>> { Some(at.as_os_str().as_bytes().into()) };
        // The loader tries one name in many directories and many names in
        // one directory: resolve (and memoise) the directory first, then
        // only the last component. `..` last needs the full walk.
        let got = match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) if path.is_absolute() && parent != path => {
                match self.resolve_or_stop(parent) {
                    (Ok(Some(dir)), _) if dir.kind == Kind::Directory => {
                        let stat = rootfs::Stat {
                            node: rootfs::Node::Directory,
                            id: dir.id,
                            size: dir.size,
                            mode: 0o755,
                        };
                        rootfs::resolve_from_or_stop(
                            self.tree.as_ref(),
                            dir.path,
                            Some(stat),
                            Path::new(name),
                        )
                        .map(|r| r.map_err(stopped))
                    }
                    // A file used as a directory: it stays one.
                    (Ok(Some(file)), _) => Ok(Err(stopped(file.path))),
                    // A missing parent: where its resolution stopped.
                    (Ok(None), stop) => Ok(Err(stop)),
                    (Err(e), _) => return (Err(e), None),
                }
            }
            _ => rootfs::resolve_or_stop(self.tree.as_ref(), path).map(|r| r.map_err(stopped)),
        };
        let (got, stop) = match got {
            Ok(Ok(found)) => (Ok(Some(found)), None),
            Ok(Err(stop)) => (Ok(None), stop),
            Err(e) => (Err(Arc::new(e)), None),
        };
        write(&self.paths).insert(key.to_vec(), (got.clone(), stop.clone()));
        (got, stop)
    }

    /// A view of `tree` that takes over what `earlier` (a view of an
    /// earlier state of the same tree) found, for a tree that only gained
    /// paths since: every path that resolved there resolves the same way
    /// here (each component it went through is still there, unchanged), and
    /// every file keeps its facts. What was missing there, or failed, is
    /// asked again. The caller vouches that nothing changed or went away.
    pub fn after(tree: Arc<dyn Tree>, earlier: Arc<Objects>) -> Objects {
        Objects {
            earlier: Some(earlier),
            ..Objects::new(tree)
        }
    }

    /// The facts an earlier view read for `id`.
    fn earlier_facts(&self, id: FileId) -> Option<Facts> {
        let earlier = self.earlier.as_ref()?;
        let hit = read(&earlier.facts).get(&id).cloned();
        hit.or_else(|| earlier.earlier_facts(id))
    }

    /// What an earlier view resolved `key` to, if it found it.
    fn found_earlier(&self, key: &[u8]) -> Option<Resolution> {
        let earlier = self.earlier.as_ref()?;
        match read(&earlier.paths).get(key) {
            Some((r @ Ok(Some(_)), _)) => Some(r.clone()),
            _ => earlier.found_earlier(key),
        }
    }

    /// Record a regular file a walk of this tree reached by directory
    /// descriptors (so `path` is canonical: no symlink on the way), with the
    /// identity and size its open descriptor gave: resolving it later costs
    /// no `lstat`. A path already resolved keeps its resolution.
    pub fn known_regular(&self, path: &Path, id: FileId, size: u64) {
        let key = path.as_os_str().as_bytes();
        if read(&self.paths).contains_key(key) {
            return;
        }
        let resolved = Resolved {
            path: path.to_path_buf(),
            kind: Kind::Regular,
            id,
            size,
        };
        write(&self.paths)
            .entry(key.to_vec())
            .or_insert((Ok(Some(resolved)), None));
    }

    /// ELF facts of a resolved regular file (memoised by file identity, so
    /// a library reached through five symlinks is parsed once).
    pub fn facts(&self, file: &Resolved) -> Facts {
        if let Some(hit) = read(&self.facts).get(&file.id) {
            return hit.clone();
        }
        if let Some(hit) = self.earlier_facts(file.id) {
            return hit;
        }
        let parsed = Arc::new(self.tree.facts(file).map(Arc::new));
        write(&self.facts)
            .entry(file.id)
            .or_insert_with(|| parsed.clone())
            .clone()
    }

    /// Facts of a file the caller found and opened (a scan's walk), keyed
    /// by its identity: `parse` runs only when no file with that identity
    /// was parsed yet (a hard link, or a library a load reached first).
    pub fn facts_with(
        &self,
        id: FileId,
        parse: impl FnOnce() -> Result<ElfFacts, FactsError>,
    ) -> Facts {
        if let Some(hit) = read(&self.facts).get(&id) {
            return hit.clone();
        }
        let parsed = Arc::new(parse().map(Arc::new));
        write(&self.facts).entry(id).or_insert(parsed).clone()
    }

    /// The content of a small regular file, `None` when it is missing, not
    /// regular or larger than `max`; an error text when it cannot be read.
    pub fn read_small(&self, path: &str, max: u64) -> Result<Option<Vec<u8>>, String> {
        let file = match self.resolve(Path::new(path)) {
            Ok(Some(f)) if f.kind == Kind::Regular => f,
            Ok(_) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        self.tree.read(&file, max).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::Root;

    /// A view after an earlier one takes over what that one found, and
    /// asks again what it did not: the tree only gains paths.
    #[test]
    fn a_later_view_keeps_what_was_found_and_asks_again_for_what_was_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/a"), b"a").unwrap();
        let tree: Arc<dyn Tree> = Arc::new(Root::new(dir.path()).unwrap());
        let earlier = Arc::new(Objects::new(tree.clone()));
        let a = Path::new("/lib/a");
        let b = Path::new("/lib/b");
        assert!(matches!(earlier.resolve(a), Ok(Some(_))));
        assert!(matches!(earlier.resolve(b), Ok(None)));
        std::fs::write(dir.path().join("lib/b"), b"b").unwrap();
        // Removed behind the views' back: only a view that took over the
        // earlier answer still has it.
        std::fs::remove_file(dir.path().join("lib/a")).unwrap();
        let later = Objects::after(tree.clone(), earlier.clone());
        assert!(matches!(later.resolve(b), Ok(Some(_))), "asked again");
        assert!(matches!(later.resolve(a), Ok(Some(_))), "taken over");
        assert!(matches!(Objects::new(tree).resolve(a), Ok(None)));
        // And through a chain of views.
        let latest = Objects::after(Arc::new(Root::new(dir.path()).unwrap()), Arc::new(later));
        assert!(matches!(latest.resolve(a), Ok(Some(_))));
    }
}
