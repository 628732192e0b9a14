//! What a scan's walk saw besides ELF objects: every regular file with its
//! permission bits and size, every symlink with its text. The full layer
//! (`plan::layer`) copies exactly those files of the scope; listing them
//! while the walk is there anyway spares it a second walk of the same
//! directories.

use crate::copyset::CopyKind;
use crate::findings::Problem;

/// One file or symlink met by the walk.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    /// Its path inside the root (its directories hold no symlinks: the
    /// walk never follows one).
    pub path: String,
    /// `File` (mode, size) or `Symlink` (text).
    pub kind: CopyKind,
}

/// Everything below the paths a scan walked.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// The walk's starts (canonical paths inside the root), sorted.
    walked: Vec<String>,
    /// Sorted by path, so that what is below a directory is one run.
    items: Vec<Listed>,
    /// What could not be listed, sorted by path.
    problems: Vec<Problem>,
}

impl Listing {
    pub(super) fn new(
        mut walked: Vec<String>,
        mut items: Vec<Listed>,
        mut problems: Vec<Problem>,
    ) -> Listing {
        walked.sort();
        walked.dedup();
        // Ten thousand paths and more, in the walk's order: sorted on every
        // core (whole items compare, so equal ones are the same item and an
        // unstable sort leaves what a stable one would).
        rayon::slice::ParallelSliceMut::par_sort_unstable(&mut items[..]);
        items.dedup_by(|a, b| a.path == b.path);
        problems.sort();
        problems.dedup();
        Listing {
            walked,
            items,
            problems,
        }
    }

    /// The files and symlinks at or below `path` (canonical, inside the
    /// root), in path order, with what could not be listed there; `None`
    /// when the walk did not cover `path` (it is neither a start nor below
    /// one).
    pub fn below(&self, path: &str) -> Option<(Vec<&Listed>, Vec<&Problem>)> {
        if !self.walked.iter().any(|w| is_at_or_below(path, w)) {
            return None;
        }
        let at = |p: &str| self.items.partition_point(|i| i.path.as_str() < p);
        // `path` itself, then the run of `path/…` (not contiguous with it:
        // `path-x` and `path.x` sort between them).
        let mut found: Vec<&Listed> = self
            .items
            .get(at(path))
            .filter(|i| i.path == path)
            .into_iter()
            .collect();
        let prefix = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        let start = at(&prefix);
        let len = self.items[start..].partition_point(|i| i.path.starts_with(&prefix));
        found.extend(&self.items[start..start + len]);
        let problems = self
            .problems
            .iter()
            .filter(|p| is_at_or_below(&p.path, path))
            .collect();
        Some((found, problems))
    }

    /// Every file and symlink listed.
    pub fn items(&self) -> &[Listed] {
        &self.items
    }
}

/// Whether `path` is `dir` or below it (by whole components).
fn is_at_or_below(path: &str, dir: &str) -> bool {
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || dir == "/",
        None => false,
    }
}
