//! The final image, simulated: a base (target) with the user's own files
//! (the scope) and the planned copies laid on top, as `COPY` lines or a
//! layer would lay them. Nothing is materialised: lookups go to whichever
//! layer provides a path, and ELF facts of builder files come from the
//! builder's memo, so every round of planning reuses what was parsed.

use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::copyset::{CopyItem, CopyKind};
use crate::elf::{ElfFacts, ReadAt};
use crate::objects::Objects;
use crate::rootfs::FactsError;
use crate::rootfs::{FileId, Resolved, RootError};
use crate::rootfs::{Node, Stat, Tree};

/// Synthetic device number for directories that exist only because
/// something was copied below them.
const IMPLIED_DEV: u64 = u64::MAX - 2;

/// The inode of generated files (the ld.so.cache, rewritten scripts):
/// shared, as none of them is an ELF object a load could compare.
const GENERATED_INO: u64 = 2;

/// Which layer serves a path.
enum Layer<'a> {
    /// A planned copy (its builder source).
    Copy(&'a CopyItem),
    /// A file of the scope, at the same path as in the builder.
    Scope,
    Target,
    /// A directory implied by something copied below it.
    Implied,
}

/// Base + scope + copies.
pub struct FinalImage {
    builder: Arc<Objects>,
    target: Arc<dyn Tree>,
    target_name: String,
    /// Canonical builder paths the user copies (whole subtrees).
    scope: Vec<PathBuf>,
    copies: HashMap<PathBuf, CopyItem>,
    implied: HashSet<PathBuf>,
    /// The builder's `lstat` answers for paths of the scope and sources
    /// of copies: a plan's loads ask for the same few hundred paths over
    /// and over, each a host `lstat`. Shared by every image of one plan
    /// (the builder does not change while a plan is made).
    builder_stats: BuilderStats,
}

/// The builder's `lstat` answers, by path.
pub type BuilderStats = Arc<std::sync::RwLock<HashMap<PathBuf, Option<Stat>>>>;

impl FinalImage {
    pub fn new(
        builder: Arc<Objects>,
        target: Arc<dyn Tree>,
        target_name: String,
        scope: Vec<PathBuf>,
        copies: &[CopyItem],
        builder_stats: BuilderStats,
    ) -> FinalImage {
        let copies: HashMap<PathBuf, CopyItem> = copies
            .iter()
            .map(|c| (PathBuf::from(&c.dest), c.clone()))
            .collect();
        let mut implied = HashSet::new();
        for p in scope.iter().chain(copies.keys()) {
            let mut a = p.as_path();
            while let Some(parent) = a.parent() {
                implied.insert(parent.to_path_buf());
                a = parent;
            }
        }
        FinalImage {
            builder,
            target,
            target_name,
            scope,
            copies,
            implied,
            builder_stats,
        }
    }

    /// Whether `path` is a scope path or below one (by bytes: the paths are
    /// canonical, and this is asked for every path a load looks at).
    fn in_scope(&self, path: &Path) -> bool {
        let p = path.as_os_str().as_bytes();
        self.scope.iter().any(|s| {
            let s = s.as_os_str().as_bytes();
            p.strip_prefix(s)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/") || s == b"/")
        })
    }

    /// The builder's `lstat` of `path`, once per path.
    fn builder_lstat(&self, path: &Path) -> Result<Option<Stat>, RootError> {
        if let Some(st) = crate::locks::read(&self.builder_stats).get(path) {
            return Ok(st.clone());
        }
        let st = self.builder.tree().lstat(path)?;
        crate::locks::write(&self.builder_stats).insert(path.to_path_buf(), st.clone());
        Ok(st)
    }

    fn layer(&self, path: &Path) -> Result<Option<(Layer<'_>, Option<Stat>)>, RootError> {
        if let Some(item) = self.copies.get(path) {
            return Ok(Some((Layer::Copy(item), None)));
        }
        if self.in_scope(path)
            && let Some(st) = self.builder_lstat(path)?
        {
            return Ok(Some((Layer::Scope, Some(st))));
        }
        if let Some(st) = self.target.lstat(path)? {
            return Ok(Some((Layer::Target, Some(st))));
        }
        if self.implied.contains(path) {
            return Ok(Some((Layer::Implied, None)));
        }
        Ok(None)
    }

    /// Whether `path` is in the image at all (any layer).
    pub fn has(&self, path: &Path) -> bool {
        !matches!(self.layer(path), Ok(None))
    }

    /// Whether `path` (canonical in the image) comes from the builder: a
    /// planned copy or a file of the scope.
    pub fn is_from_builder(&self, path: &Path) -> bool {
        matches!(
            self.layer(path),
            Ok(Some((Layer::Copy(_) | Layer::Scope, _)))
        )
    }

    /// The builder path behind a final-image path that comes from the
    /// builder as a file (a copy or the scope).
    pub fn builder_source(&self, path: &Path) -> Option<PathBuf> {
        match self.layer(path).ok()?? {
            (Layer::Copy(item), _) if matches!(item.kind, CopyKind::File { .. }) => {
                Some(PathBuf::from(&item.src))
            }
            (Layer::Scope, _) => Some(path.to_path_buf()),
            _ => None,
        }
    }

    /// The builder file behind a final-image path that comes from the
    /// builder (a copy or the scope).
    fn builder_file(&self, file: &Resolved) -> Option<Resolved> {
        let src = match self.layer(&file.path).ok()?? {
            (Layer::Copy(item), _) if matches!(item.kind, CopyKind::Generated { .. }) => {
                return None;
            }
            (Layer::Copy(item), _) => PathBuf::from(&item.src),
            (Layer::Scope, _) => file.path.clone(),
            (Layer::Target | Layer::Implied, _) => return None,
        };
        Some(Resolved {
            path: src,
            ..file.clone()
        })
    }
}

impl FinalImage {
    /// The bytes of a file the plan generates, if `file` is one.
    fn generated(&self, file: &Resolved) -> Option<Vec<u8>> {
        match self.layer(&file.path).ok()?? {
            (
                Layer::Copy(CopyItem {
                    kind: CopyKind::Generated { content, .. },
                    ..
                }),
                _,
            ) => Some(content.bytes()),
            _ => None,
        }
    }
}

impl Tree for FinalImage {
    fn lstat(&self, path: &Path) -> Result<Option<Stat>, RootError> {
        Ok(match self.layer(path)? {
            None => None,
            Some((Layer::Copy(item), _)) => match &item.kind {
                CopyKind::Symlink { target } => Some(Stat {
                    node: Node::Symlink(PathBuf::from(target)),
                    id: FileId {
                        dev: IMPLIED_DEV,
                        ino: 0,
                    },
                    size: 0,
                    mode: 0o777,
                }),
                CopyKind::File { .. } => self.builder_lstat(Path::new(&item.src))?,
                CopyKind::Generated { mode, size, .. } => Some(Stat {
                    node: Node::Regular,
                    id: FileId {
                        dev: IMPLIED_DEV,
                        ino: GENERATED_INO,
                    },
                    size: *size,
                    mode: *mode,
                }),
            },
            Some((Layer::Scope | Layer::Target, st)) => st,
            Some((Layer::Implied, _)) => Some(Stat {
                node: Node::Directory,
                id: FileId {
                    dev: IMPLIED_DEV,
                    ino: 1,
                },
                size: 0,
                mode: 0o755,
            }),
        })
    }

    fn facts(&self, file: &Resolved) -> Result<ElfFacts, FactsError> {
        if self.generated(file).is_some() {
            return Err(FactsError::Elf {
                path: file.path.display().to_string(),
                source: crate::elf::ElfError::NotElf,
            });
        }
        match self.builder_file(file) {
            Some(src) => match self.builder.facts(&src).as_ref() {
                Ok(f) => Ok(ElfFacts::clone(f)),
                Err(e) => Err(FactsError::Root(RootError::Io {
                    path: file.path.clone(),
                    source: std::io::Error::other(e.to_string()),
                })),
            },
            None => self.target.facts(file),
        }
    }

    fn read(&self, file: &Resolved, max: u64) -> Result<Option<Vec<u8>>, RootError> {
        if let Some(bytes) = self.generated(file) {
            return Ok((bytes.len() as u64 <= max).then_some(bytes));
        }
        match self.builder_file(file) {
            Some(src) => self.builder.tree().read(&src, max),
            None => self.target.read(file, max),
        }
    }

    fn reader(&self, file: &Resolved) -> Result<Option<Box<dyn ReadAt + '_>>, RootError> {
        if let Some(bytes) = self.generated(file) {
            return Ok(Some(Box::new(bytes)));
        }
        match self.builder_file(file) {
            Some(src) => self.builder.tree().reader(&src),
            None => self.target.reader(file),
        }
    }

    fn loader_dirs(&self, interp: &str) -> Option<Vec<String>> {
        self.target.loader_dirs(interp)
    }

    fn describe(&self) -> String {
        format!("final image ({} + copies)", self.target_name)
    }
}

/// Device number of files of an embedded target (their inode is their
/// index in the listing).
const EMBEDDED_DEV: u64 = u64::MAX - 1;

/// An embedded base image as a tree: its listing and the ELF facts
/// recorded for it. Contents are not embedded, so `read` only answers
/// "not available"; the loader's directories come from the listing.
pub struct TargetTree {
    data: crate::target::TargetData,
    index: std::collections::HashMap<String, u64>,
}

impl TargetTree {
    pub fn new(data: crate::target::TargetData) -> TargetTree {
        let index = data
            .entries
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as u64))
            .collect();
        TargetTree { data, index }
    }

    pub fn data(&self) -> &crate::target::TargetData {
        &self.data
    }

    /// The omitted prefix (and its file count) `path` lies under.
    fn omitted(&self, path: &str) -> Option<&(String, usize)> {
        self.data
            .omitted
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
    }
}

impl Tree for TargetTree {
    fn lstat(&self, path: &Path) -> Result<Option<Stat>, RootError> {
        use crate::target::EntryKind;
        let key = path.display().to_string();
        let Some(e) = self.data.entries.get(&key) else {
            if key == "/" {
                return Ok(Some(Stat {
                    node: Node::Directory,
                    id: FileId {
                        dev: EMBEDDED_DEV,
                        ino: u64::MAX,
                    },
                    size: 0,
                    mode: 0o755,
                }));
            }
            // Under a prefix listed only as a count, the image may well
            // have the path: neither "absent" nor "present" would be true.
            if let Some((prefix, files)) = self.omitted(&key) {
                return Err(RootError::Unlisted {
                    path: path.to_path_buf(),
                    prefix: prefix.clone(),
                    files: *files,
                });
            }
            return Ok(None);
        };
        let node = match &e.kind {
            EntryKind::Dir => Node::Directory,
            EntryKind::File => Node::Regular,
            EntryKind::Symlink(t) => Node::Symlink(PathBuf::from(t)),
        };
        Ok(Some(Stat {
            node,
            id: FileId {
                dev: EMBEDDED_DEV,
                ino: self.index.get(&key).copied().unwrap_or(u64::MAX - 1),
            },
            size: e.size,
            mode: e.mode,
        }))
    }

    fn facts(&self, file: &Resolved) -> Result<ElfFacts, FactsError> {
        let key = file.path.display().to_string();
        match self.data.entries.get(&key).and_then(|e| e.elf.clone()) {
            Some(f) => Ok(f),
            None => Err(FactsError::Elf {
                path: key,
                source: crate::elf::ElfError::NotElf,
            }),
        }
    }

    fn read(&self, _file: &Resolved, _max: u64) -> Result<Option<Vec<u8>>, RootError> {
        Ok(None)
    }

    fn loader_dirs(&self, interp: &str) -> Option<Vec<String>> {
        (interp == self.data.info.interp && !self.data.info.dirs.is_empty())
            .then(|| self.data.info.dirs.clone())
    }

    fn describe(&self) -> String {
        format!("{} ({})", self.data.info.name, self.data.info.arch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Session;
    use crate::ldso::Options;

    fn cc_debian12() -> Arc<dyn Tree> {
        Arc::new(TargetTree::new(
            crate::target::embedded("distroless/cc-debian12").unwrap(),
        ))
    }

    /// Listed paths and paths outside every omitted prefix are answered;
    /// under an omitted prefix the answer is "not known", naming why.
    #[test]
    fn omitted_prefixes_are_unknown_not_absent() {
        let t = cc_debian12();
        let stat = |p: &str| t.lstat(Path::new(p));
        assert!(matches!(stat("/etc/passwd"), Ok(Some(_))));
        assert!(matches!(stat("/etc/nothing-here"), Ok(None)));
        assert!(matches!(stat("/usr/share/zoneinfo"), Ok(Some(_))));
        let e = stat("/usr/share/zoneinfo/Europe/Paris").unwrap_err();
        assert!(
            matches!(&e, RootError::Unlisted { prefix, files, .. }
                if prefix == "/usr/share/zoneinfo/" && *files > 500),
            "{e}"
        );
        assert!(e.to_string().starts_with(
            "/usr/share/zoneinfo/Europe/Paris: not known: the target data records /usr/share/zoneinfo/ only as a count"
        ));
    }

    /// A search through such a directory says it could not look there,
    /// instead of reporting a plain "not found".
    #[test]
    fn a_search_through_an_omitted_directory_says_so() {
        let session = Session::over(cc_debian12(), Options::default());
        let loader = session.loader(crate::ldso::abi::ABIS[0]);
        match loader.try_file(session.objects(), "/usr/share/doc/libfoo.so.1") {
            Ok(crate::ldso::Candidate::Skipped(why)) => {
                assert!(why.contains("not known"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            loader.try_file(session.objects(), "/usr/lib/libfoo.so.1"),
            Ok(crate::ldso::Candidate::Absent)
        ));
    }
}
