//! Which of the loader's subdirectories (glibc-hwcaps, and before glibc
//! 2.37 the legacy hwcaps ones) exist under each search directory, for
//! this CPU and every other kind of CPU: one look per directory instead of
//! one per candidate, and the answer to whether another CPU would search
//! it differently.

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use crate::misses::{self, Misses};
use crate::objects::Objects;
use crate::rootfs::Kind;

/// What is known of one search directory's subdirectories.
#[derive(Clone, Copy, Debug)]
pub(super) struct DirInfo {
    /// Bit `i` set: `probe[i]` is missing under the directory.
    missing: u64,
    /// Not every kind of CPU tries the subdirectories that exist there in
    /// the same order.
    pub(super) varies: bool,
}

/// The subdirectories of one loader and of every kind of CPU, and what
/// exists under each search directory looked at.
pub(super) struct SubdirProbe {
    /// Every subdirectory some kind of CPU tries (this CPU's among them),
    /// so that one look at a directory tells whether its searches depend
    /// on the CPU.
    probe: Vec<String>,
    /// This CPU's subdirectories, in its order, as indices into `probe`.
    own: Vec<usize>,
    /// Each kind of CPU's subdirectories as indices into `probe` (empty
    /// when this loader does not vary with the CPU).
    kinds: Vec<Vec<usize>>,
    /// Per search directory, what exists under it (see
    /// [`SubdirProbe::dir_info`]).
    /// With the paths each probe did not find (see [`crate::misses`]).
    seen: RwLock<HashMap<String, (DirInfo, Misses)>>,
}

impl SubdirProbe {
    /// `own`: this CPU's subdirectories; `kinds`: each kind of CPU's (none
    /// when the loader does not vary with the CPU).
    pub(super) fn new(own: &[String], kinds: &[Vec<String>]) -> SubdirProbe {
        let mut probe: Vec<String> = Vec::new();
        let index = |s: &String, probe: &mut Vec<String>| match probe.iter().position(|p| p == s) {
            Some(i) => i,
            None => {
                probe.push(s.clone());
                probe.len() - 1
            }
        };
        let own = own.iter().map(|s| index(s, &mut probe)).collect();
        let kinds = kinds
            .iter()
            .map(|list| list.iter().map(|s| index(s, &mut probe)).collect())
            .collect();
        SubdirProbe {
            probe,
            own,
            kinds,
            seen: RwLock::new(HashMap::new()),
        }
    }

    /// Whether the loader's answers can differ between kinds of CPU.
    pub(super) fn varies(&self) -> bool {
        !self.kinds.is_empty()
    }

    /// Whether this CPU's `k`th subdirectory is missing under the
    /// directory `info` describes.
    pub(super) fn lacks(&self, info: &DirInfo, k: usize) -> bool {
        self.own
            .get(k)
            .is_some_and(|&i| i < 64 && info.missing & (1 << i) != 0)
    }

    /// Which subdirectories of the search directory `dir` are missing (see
    /// [`DirInfo`]): no name can be found there. glibc learns the same the
    /// first time a name is not found in a directory and never tries it
    /// again (`open_path` in `elf/dl-load.c`: a failed `stat` of the
    /// directory sets `r->status[cnt] = nonexisting`); here it is asked
    /// once per directory, for the subdirectories of every kind of CPU, so
    /// that a search does not build and resolve a candidate for each of the
    /// subdirectories a root rarely has, and knows whether another CPU
    /// would search differently. A subdirectory whose parent is missing is
    /// missing without a look; one that cannot be resolved (a symlink loop)
    /// is not missing: its candidates are tried and the error noted.
    pub(super) fn dir_info(&self, objects: &Objects, dir: &str) -> DirInfo {
        // Relative directories (an empty RUNPATH element) depend on the
        // working directory: always tried, and possibly different anywhere.
        if !dir.starts_with('/') || self.probe.len() > 64 {
            return DirInfo {
                missing: 0,
                varies: self.varies(),
            };
        }
        if let Some((info, missed)) = crate::locks::read(&self.seen).get(dir) {
            misses::replay(missed);
            return *info;
        }
        let (info, missed) = misses::record(|| self.probe_dir(objects, dir));
        crate::locks::write(&self.seen).insert(dir.to_string(), (info, missed));
        info
    }

    /// Which subdirectories exist under the absolute directory `dir`.
    fn probe_dir(&self, objects: &Objects, dir: &str) -> DirInfo {
        let mut absent: HashMap<&str, bool> = HashMap::new();
        let mut mask = 0u64;
        // Parents first: `a/b` is only looked at when `a` exists.
        let mut order: Vec<usize> = (0..self.probe.len()).collect();
        order.sort_by_key(|&i| self.probe[i].matches('/').count());
        for i in order {
            let sub = self.probe[i].trim_end_matches('/');
            if sub.is_empty() {
                continue;
            }
            let parent_absent = sub
                .rmatch_indices('/')
                .any(|(at, _)| absent.get(&sub[..at]).copied().unwrap_or(false));
            let gone = parent_absent || {
                let mut path = String::with_capacity(dir.len() + sub.len());
                path.push_str(dir);
                path.push_str(sub);
                match objects.resolve(Path::new(&path)) {
                    Ok(None) => true,
                    Ok(Some(r)) => r.kind != Kind::Directory,
                    Err(_) => false,
                }
            };
            absent.insert(sub, gone);
            if gone {
                mask |= 1 << i;
            }
        }
        let present = |list: &[usize]| -> Vec<usize> {
            list.iter()
                .copied()
                .filter(|&i| mask & (1 << i) == 0 && !self.probe[i].is_empty())
                .collect()
        };
        let mine = present(&self.own);
        let varies = self.kinds.iter().any(|k| present(k) != mine);
        DirInfo {
            missing: mask,
            varies,
        }
    }
}
