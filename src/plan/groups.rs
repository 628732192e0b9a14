//! The copy set by what needs it: each path of the plan in one group, the
//! group named by the imports (or programs, includes, traces) whose loads
//! in the final image use it. A path several of them use is in the group
//! of exactly those, so a group holds what would go away if what it names
//! were left out, and the groups add up to the copy set.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use super::check::Orders;
use super::{CopyItem, CopyKind, Generated, PackageData, Planner};
use crate::graph::LoadOrder;
use crate::image::FinalImage;
use crate::python::module::import_of;

/// What needs a group's paths.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Needer {
    /// A Python interpreter (its canonical path): what it needs is copied
    /// whatever the application imports.
    Interpreter(String),
    /// What the application imports (`tkinter`, `numpy`): an extension
    /// module's import, or the package whose Python code loads a library
    /// at run time.
    Import(String),
    /// Anything else: a program or library of the scope (its path), the
    /// Python file of a run-time load outside every site directory,
    /// `--include PATH`, a trace, `--rewrite-shebangs`.
    Other(String),
}

/// Paths of the copy set that the same needers need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CopyGroup {
    /// One needer when only it needs the paths; several when each of them
    /// does (leaving out one of them leaves the paths in). What an
    /// interpreter needs is its alone; an import needed by its parent's
    /// (`curses.panel`, `curses`) is counted as the parent's.
    pub needed_by: Vec<Needer>,
    /// The DT_NEEDED names among the paths (sorted).
    pub libraries: Vec<String>,
    /// The paths in the image (`dest` of the copy items, sorted).
    pub paths: Vec<String>,
    /// Bytes of the files among them.
    pub bytes: u64,
}

impl CopyGroup {
    /// Biggest first; then the one with more libraries, then by name.
    pub fn sort(groups: &mut [CopyGroup]) {
        groups.sort_by(|a, b| {
            b.bytes
                .cmp(&a.bytes)
                .then_with(|| b.libraries.len().cmp(&a.libraries.len()))
                .then_with(|| a.needed_by.cmp(&b.needed_by))
        });
    }
}

/// Why a run-time entry of the plan is one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cause {
    /// A load of the scope's Python code: an index into
    /// `PlanInput::runtime`.
    Python(usize),
    /// A `.note.dlopen` entry of this object (its path in the image).
    Declared(String),
    /// `/sbin/ldconfig`, which `ctypes.util.find_library` runs.
    FindLibrary,
    /// `--include PATH` or a trace, as the copy item's chain says it.
    Reason(String),
}

type Roots = BTreeSet<Needer>;

/// The bytes a copy item adds.
fn size(item: &CopyItem) -> u64 {
    match item.kind {
        CopyKind::File { size, .. } | CopyKind::Generated { size, .. } => size,
        CopyKind::Symlink { .. } => 0,
    }
}

/// A DT_NEEDED name, not a path that `--include`, a trace or a rule adds.
fn is_library(needed_as: &str) -> bool {
    !needed_as.starts_with('/')
}

/// Who needs each copied path, from the loads of the final image.
struct Accumulated<'a> {
    image: &'a FinalImage,
    items: &'a BTreeMap<String, CopyItem>,
    /// Entries another entry loads.
    inner: HashSet<&'a str>,
    /// By the loads of entries nothing else loads.
    outer_roots: HashMap<String, Roots>,
    /// By the loads of the others.
    inner_roots: HashMap<String, Roots>,
    /// The symlinks met on the way from each path a loader opened.
    links: HashMap<&'a str, Vec<String>>,
}

impl<'a> Accumulated<'a> {
    /// Every copied path the load `o` of `entry` uses is needed by `roots`.
    fn add(&mut self, o: &'a LoadOrder, entry: &str, roots: &Roots) {
        let to = if self.inner.contains(entry) {
            &mut self.inner_roots
        } else {
            &mut self.outer_roots
        };
        for obj in &o.objects {
            let mut paths: Vec<&str> = obj.real.iter().map(String::as_str).collect();
            let image = self.image;
            if let Some(p) = &obj.path {
                let links = self.links.entry(p.as_str()).or_insert_with(|| {
                    crate::rootfs::symlink_chain(image, Path::new(p))
                        .map(|l| {
                            l.into_iter()
                                .map(|(l, _)| l.display().to_string())
                                .collect()
                        })
                        .unwrap_or_default()
                });
                paths.extend(links.iter().map(String::as_str));
            }
            for p in paths.into_iter().filter(|p| self.items.contains_key(*p)) {
                to.entry(p.to_string())
                    .or_default()
                    .extend(roots.iter().cloned());
            }
        }
    }

    /// Who needs `path`: the outermost loads that use it.
    fn roots(&self, path: &str) -> Roots {
        match self.outer_roots.get(path).filter(|r| !r.is_empty()) {
            Some(r) => r.clone(),
            None => self.inner_roots.get(path).cloned().unwrap_or_default(),
        }
    }
}

impl Planner<'_> {
    /// The copy set by what needs it, biggest first.
    pub(super) fn groups(
        &self,
        image: &FinalImage,
        orders: &Orders,
        package_data: &[PackageData],
    ) -> Vec<CopyGroup> {
        // An entry another entry loads (a wheel's vendored library, the
        // interpreter's libpython) is counted as what loads it.
        let mut inner: HashSet<&str> = HashSet::new();
        for run in orders {
            let Ok(o) = &run.order else { continue };
            inner.extend(
                o.objects
                    .iter()
                    .skip(1)
                    .filter_map(|obj| obj.real.as_deref()),
            );
        }
        let mut acc = Accumulated {
            image,
            items: &self.items,
            inner,
            outer_roots: HashMap::new(),
            inner_roots: HashMap::new(),
            links: HashMap::new(),
        };
        // Declared loads are counted as what loads the object declaring
        // them, once that is known.
        let mut deferred: Vec<(&LoadOrder, &str, Vec<&str>)> = Vec::new();
        let mut by_entry: HashMap<&str, Roots> = HashMap::new();
        let scope: HashSet<&str> = self.input.entries.iter().map(String::as_str).collect();
        for run in orders {
            let Ok(o) = &run.order else { continue };
            let entry = run.entry.as_str();
            let roots = by_entry
                .entry(entry)
                .or_insert_with(|| self.entry_roots(entry, &scope))
                .clone();
            let callers: Vec<&str> = self
                .runtime
                .causes
                .get(entry)
                .into_iter()
                .flatten()
                .filter_map(|c| match c {
                    Cause::Declared(obj) => Some(obj.as_str()),
                    _ => None,
                })
                .collect();
            if callers.is_empty() {
                acc.add(o, entry, &roots);
            } else {
                deferred.push((o, entry, callers));
            }
        }
        // A declared load's object may itself be loaded through a
        // declaration: as many rounds as there are such loads.
        let mut left = deferred;
        while !left.is_empty() {
            let before = left.len();
            let mut wait = Vec::new();
            for (o, entry, callers) in left {
                let mut roots = by_entry.get(entry).cloned().unwrap_or_default();
                for c in &callers {
                    roots.extend(acc.roots(c));
                    roots.extend(by_entry.get(c).cloned().unwrap_or_default());
                }
                if roots.is_empty() {
                    wait.push((o, entry, callers));
                } else {
                    acc.add(o, entry, &roots);
                }
            }
            if wait.len() == before {
                for (o, entry, callers) in wait {
                    let roots = callers
                        .iter()
                        .map(|c| Needer::Other(c.to_string()))
                        .collect();
                    acc.add(o, entry, &roots);
                }
                break;
            }
            left = wait;
        }
        let path_roots = |p: &str| acc.roots(p);

        // Each item's needers: of its path in some load, else of what it
        // is there for; a library's links and file go together.
        let data_of: HashMap<&str, &str> = package_data
            .iter()
            .flat_map(|d| d.files.iter().map(|f| (f.as_str(), d.library.as_str())))
            .collect();
        let find_library = self.find_library_roots();
        let mut first: Vec<(&CopyItem, Roots)> = Vec::new();
        let mut by_library: HashMap<&str, Roots> = HashMap::new();
        for item in self.items.values() {
            let mut roots = path_roots(&item.dest);
            if roots.is_empty() && item.needed_as == crate::ldso::LD_SO_CACHE {
                roots = find_library.clone();
            }
            if roots.is_empty()
                && let Some(lib) = data_of.get(item.dest.as_str())
            {
                roots = path_roots(lib);
            }
            if is_library(&item.needed_as) {
                by_library
                    .entry(&item.needed_as)
                    .or_default()
                    .extend(roots.iter().cloned());
            }
            first.push((item, roots));
        }
        let mut groups: BTreeMap<Vec<Needer>, CopyGroup> = BTreeMap::new();
        for (item, roots) in first {
            let mut roots = match by_library.get(item.needed_as.as_str()) {
                Some(r) if is_library(&item.needed_as) => r.clone(),
                _ => roots,
            };
            if roots.is_empty() {
                roots.insert(Needer::Other(match &item.kind {
                    CopyKind::Generated {
                        content: Generated::Script { .. },
                        ..
                    } => "--rewrite-shebangs".to_string(),
                    _ => item
                        .chain
                        .first()
                        .cloned()
                        .unwrap_or_else(|| item.needed_as.clone()),
                }));
            }
            let key = reduce(roots);
            let g = groups.entry(key.clone()).or_insert_with(|| CopyGroup {
                needed_by: key,
                libraries: Vec::new(),
                paths: Vec::new(),
                bytes: 0,
            });
            if is_library(&item.needed_as) && !g.libraries.contains(&item.needed_as) {
                g.libraries.push(item.needed_as.clone());
            }
            g.paths.push(item.dest.clone());
            g.bytes += size(item);
        }
        let mut groups: Vec<CopyGroup> = groups
            .into_values()
            .map(|mut g| {
                g.libraries.sort();
                g.paths.sort();
                g
            })
            .collect();
        CopyGroup::sort(&mut groups);
        groups
    }

    /// What an entry of the image is there for (`scope`: the entries of
    /// the scope).
    fn entry_roots(&self, entry: &str, scope: &HashSet<&str>) -> Roots {
        let mut roots = Roots::new();
        let causes = self.runtime.causes.get(entry);
        for c in causes.into_iter().flatten() {
            match c {
                Cause::Python(load) => roots.extend(self.python_roots(*load)),
                Cause::FindLibrary => roots.extend(self.find_library_roots()),
                Cause::Reason(r) => {
                    roots.insert(Needer::Other(r.clone()));
                }
                Cause::Declared(_) => {}
            }
        }
        if causes.is_none() || scope.contains(entry) {
            roots.insert(self.by_path(entry));
        }
        roots
    }

    /// An object of the scope, by what it is: an interpreter, what an
    /// import loads, else its path.
    fn by_path(&self, path: &str) -> Needer {
        let Some(inv) = self.input.installations else {
            return Needer::Other(path.to_string());
        };
        if inv.installations.iter().any(|i| i.interpreter == path) {
            return Needer::Interpreter(path.to_string());
        }
        match import_of(path, inv) {
            Some(i) => Needer::Import(i),
            None => Needer::Other(path.to_string()),
        }
    }

    /// The imports whose Python code makes run-time load `load`.
    fn python_roots(&self, load: usize) -> Roots {
        let Some(l) = self.input.runtime.get(load) else {
            return Roots::new();
        };
        let mut roots: Roots = l
            .calls
            .iter()
            .map(|c| {
                self.input
                    .installations
                    .and_then(|inv| import_of(&c.file, inv))
                    .map(Needer::Import)
                    .unwrap_or_else(|| Needer::Other(c.file.clone()))
            })
            .collect();
        if roots.is_empty() {
            roots.insert(Needer::Other(l.package.clone()));
        }
        roots
    }

    /// The imports whose loads go through `ctypes.util.find_library`.
    fn find_library_roots(&self) -> Roots {
        self.runtime
            .needs
            .iter()
            .filter(|n| n.way.uses_find_library())
            .filter_map(|n| match n.origin {
                super::runtime::Origin::Python(l) => Some(self.python_roots(l)),
                super::runtime::Origin::Declared => None,
            })
            .flatten()
            .collect()
    }
}

/// The needers a group is named by: an interpreter's needs are its own
/// (they are copied whatever is imported); an import under another of
/// the set (`curses.panel` under `curses`) is the other's.
fn reduce(roots: Roots) -> Vec<Needer> {
    let interpreters: Vec<Needer> = roots
        .iter()
        .filter(|n| matches!(n, Needer::Interpreter(_)))
        .cloned()
        .collect();
    if !interpreters.is_empty() {
        return interpreters;
    }
    let imports: Vec<&str> = roots
        .iter()
        .filter_map(|n| match n {
            Needer::Import(i) => Some(i.as_str()),
            _ => None,
        })
        .collect();
    roots
        .iter()
        .filter(|n| match n {
            Needer::Import(i) => !imports
                .iter()
                .any(|p| i.strip_prefix(p).is_some_and(|rest| rest.starts_with('.'))),
            _ => true,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(s: &str) -> Needer {
        Needer::Import(s.into())
    }

    #[test]
    fn reduce_keeps_the_interpreter_and_parent_imports() {
        let set = |v: &[Needer]| v.iter().cloned().collect::<Roots>();
        let py = Needer::Interpreter("/usr/bin/python3.11".into());
        assert_eq!(
            reduce(set(&[import("zlib"), py.clone(), import("binascii")])),
            vec![py]
        );
        assert_eq!(
            reduce(set(&[import("curses"), import("curses.panel")])),
            vec![import("curses")]
        );
        assert_eq!(
            reduce(set(&[import("ctypes"), import("ctypesx.y")])),
            vec![import("ctypes"), import("ctypesx.y")]
        );
        assert_eq!(
            reduce(set(&[import("curses"), import("readline")])),
            vec![import("curses"), import("readline")]
        );
    }

    #[test]
    fn groups_sort_biggest_first() {
        let g = |name: &str, bytes: u64, libs: usize| CopyGroup {
            needed_by: vec![import(name)],
            libraries: (0..libs).map(|i| format!("lib{i}.so")).collect(),
            paths: Vec::new(),
            bytes,
        };
        let mut v = vec![g("a", 10, 1), g("b", 30, 1), g("c", 10, 2), g("d", 10, 1)];
        CopyGroup::sort(&mut v);
        let names: Vec<&Needer> = v.iter().map(|g| &g.needed_by[0]).collect();
        assert_eq!(
            names,
            vec![&import("b"), &import("c"), &import("a"), &import("d")]
        );
    }
}
