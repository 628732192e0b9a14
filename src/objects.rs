//! Files of one root, each resolved and parsed at most once per run.
//!
//! Every lookup the loader simulation makes goes through here, from any
//! number of threads: path resolutions and ELF facts are memoised, so the
//! thousandth object needing `libc.so.6` costs a hash lookup.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::elf::{self, ElfError, ElfFacts};
use crate::root::{FileId, Resolved, Root, RootError};

/// Why a file's facts could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error(transparent)]
    Root(#[from] RootError),
    #[error("{path}: {source}")]
    Elf { path: String, source: ElfError },
}

pub type Facts = Arc<Result<ElfFacts, FactsError>>;

/// A memoised path resolution: missing is `Ok(None)`.
pub type Resolution = Result<Option<Resolved>, Arc<RootError>>;

/// Shared, memoised view of the files of one root.
pub struct Objects {
    root: Root,
    paths: RwLock<HashMap<PathBuf, Resolution>>,
    facts: RwLock<HashMap<FileId, Facts>>,
}

impl Objects {
    pub fn new(root: Root) -> Objects {
        Objects {
            root,
            paths: RwLock::new(HashMap::new()),
            facts: RwLock::new(HashMap::new()),
        }
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    /// Resolve a path inside the root (memoised).
    pub fn resolve(&self, path: &Path) -> Resolution {
        if let Some(hit) = read(&self.paths).get(path) {
            return hit.clone();
        }
        let got = self.root.resolve(path).map_err(Arc::new);
        write(&self.paths).insert(path.to_path_buf(), got.clone());
        got
    }

    /// ELF facts of a resolved regular file (memoised by file identity, so
    /// a library reached through five symlinks is parsed once).
    pub fn facts(&self, file: &Resolved) -> Facts {
        if let Some(hit) = read(&self.facts).get(&file.id) {
            return hit.clone();
        }
        let parsed = Arc::new(self.parse(file));
        write(&self.facts)
            .entry(file.id)
            .or_insert_with(|| parsed.clone())
            .clone()
    }

    fn parse(&self, file: &Resolved) -> Result<ElfFacts, FactsError> {
        let f = self.root.open(file)?;
        elf::read_facts(&f).map_err(|source| FactsError::Elf {
            path: file.path.display().to_string(),
            source,
        })
    }

    /// Facts of a file found by walking the root, whose path is already
    /// canonical; shares the memo with [`Objects::facts`].
    pub fn facts_walked(&self, path: &Path) -> Result<(FileId, Facts), RootError> {
        let (file, id) = self.root.open_walked(path)?;
        if let Some(hit) = read(&self.facts).get(&id) {
            return Ok((id, hit.clone()));
        }
        let parsed = elf::read_facts(&file).map_err(|source| FactsError::Elf {
            path: path.display().to_string(),
            source,
        });
        let parsed = Arc::new(parsed);
        let got = write(&self.facts).entry(id).or_insert(parsed).clone();
        Ok((id, got))
    }
}

// A panic while holding the lock cannot leave a half-written HashMap entry
// (insert is the only mutation), so a poisoned lock is still usable.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
