//! Scanning a tree: find every ELF object under some paths of a root, in
//! parallel, resolve each as an entry, and gather what does not load.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;

use serde::Serialize;

use crate::findings::Warning;
use crate::graph::CpuDependence;
use crate::graph::{Session, Standalone};
use crate::ldso::{Fatal, Step};
use crate::rootfs::RootError;

mod listing;
mod walker;

pub use listing::{Listed, Listing};
use walker::{Outcome, Walker};

/// Which files of the root are scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every Python installation of the root (see `python::discover`).
    Python,
    /// Every file of the root.
    All,
    /// The paths the user gave.
    Paths,
}

/// A DT_NEEDED that does not resolve.
#[derive(Clone, Debug, Serialize)]
pub struct Unresolved {
    /// The name searched for.
    pub name: String,
    /// The object whose DT_NEEDED it is.
    pub needed_by: String,
    /// Entry objects whose load hits this (sorted; at most 20 listed).
    pub entries: Vec<String>,
    /// How many entry objects hit it in all.
    pub entry_count: usize,
    /// The numbered places searched, for the first entry.
    pub searched: Vec<Step>,
}

/// A load that glibc would abort.
#[derive(Clone, Debug, Serialize)]
pub struct FatalLoad {
    pub entry: String,
    #[serde(flatten)]
    pub fatal: Fatal,
}

pub use crate::findings::{Problem, SkipReason, Skipped};

/// The outcome of a scan.
#[derive(Clone, Debug, Serialize)]
pub struct ScanReport {
    pub root: String,
    /// The paths scanned inside the root (`/` for all of it).
    pub paths: Vec<String>,
    pub scope: Scope,
    /// Regular files examined.
    pub files: usize,
    /// ELF objects among them.
    pub objects: usize,
    /// Dynamic objects resolved as entries.
    pub resolved: usize,
    /// ELF objects not resolved because there is nothing to resolve
    /// (static, relocatable, the loader itself).
    pub skipped: Vec<Skipped>,
    /// ELF objects the root has no loader for: built for another
    /// architecture than the root's, or for musl libc. Findings: in the
    /// image they would not load either.
    pub mismatched: Vec<Problem>,
    pub unresolved: Vec<Unresolved>,
    pub fatal: Vec<FatalLoad>,
    pub warnings: Vec<Warning>,
    /// DT_NEEDED edges that kinds of CPU resolve differently: the scan
    /// resolved on one CPU, an image runs on any (a library not found on
    /// some kind of CPU is a finding).
    pub cpu_dependent: Vec<CpuDependence>,
    /// Libraries the scope's Python code loads at run time (ctypes,
    /// cffi), as found in its source and resolved in the builder.
    pub runtime: crate::runtime::Found,
    /// Files that are malformed or unreadable.
    pub errors: Vec<Problem>,
    /// The Python installations found (with `--scope python`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<crate::python::Inventory>,
    /// The Python installations of the root when the scope is PATHs or
    /// all of it: what the plan checks in the final image.
    #[serde(skip)]
    discovered: Option<crate::python::Inventory>,
    /// The entries resolved (sorted): what a plan checks in the final image.
    #[serde(skip)]
    pub entries: Vec<String>,
    /// Python sources that may load libraries at run time (path, text),
    /// until they are read into `runtime`.
    #[serde(skip)]
    sources: Vec<(String, String)>,
    /// Every file and symlink of the scope, when the scan was asked to
    /// list them ([`Reads::listing`]).
    #[serde(skip)]
    listing: Option<Listing>,
}

impl ScanReport {
    /// Every file and symlink the walk met, when it listed them.
    pub fn listing(&self) -> Option<&Listing> {
        self.listing.as_ref()
    }

    /// The Python installations of the root, whatever the scope.
    pub fn inventory(&self) -> Option<&crate::python::Inventory> {
        self.python.as_ref().or(self.discovered.as_ref())
    }

    /// The Python scope found no installation (no PATH was given).
    pub fn found_no_python(&self) -> bool {
        self.python
            .as_ref()
            .is_some_and(|inv| inv.installations.is_empty())
    }

    /// Whether the scan found anything wrong (exit code 1).
    pub fn has_findings(&self) -> bool {
        !self.unresolved.is_empty()
            || !self.fatal.is_empty()
            || !self.errors.is_empty()
            || !self.mismatched.is_empty()
            || self.cpu_dependent.iter().any(|d| d.fails_somewhere())
            || {
                let (loads, calls) = self.runtime.unresolved();
                !loads.is_empty() || !calls.is_empty()
            }
    }
}

/// Progress callbacks, so the library does not draw on a terminal itself.
pub trait Progress: Sync {
    /// `n` more files were read (reported in batches).
    fn files(&self, _n: usize) {}
    fn object(&self, _path: &str) {}
}

/// No progress reporting.
pub struct Quiet;
impl Progress for Quiet {}

/// What a scan reads besides the ELF files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reads {
    /// The scope's Python sources, for run-time loads (`--no-runtime`:
    /// `runtime.checked` is false and no `.py` is read).
    pub runtime: bool,
    /// Every file's permission bits and size and every symlink's text, for
    /// the full layer ([`ScanReport::listing`]).
    pub listing: bool,
}

/// Scan `paths` (inside the root; empty = the whole root), with its
/// run-time loads and no listing.
pub fn scan(
    session: &Session,
    paths: &[String],
    scope: Scope,
    progress: &dyn Progress,
) -> Result<ScanReport, RootError> {
    let reads = Reads {
        runtime: true,
        listing: false,
    };
    scan_with(session, paths, scope, reads, progress)
}

/// [`scan`], reading what `reads` says.
pub fn scan_with(
    session: &Session,
    paths: &[String],
    scope: Scope,
    reads: Reads,
    progress: &dyn Progress,
) -> Result<ScanReport, RootError> {
    let runtime = reads.runtime;
    let Some(root) = session.host_root() else {
        return Err(RootError::NotADirectory(PathBuf::from(
            "(not a host directory)",
        )));
    };
    let mut starts: Vec<PathBuf> = Vec::new();
    let mut errors: Vec<Problem> = Vec::new();
    let mut python = None;
    let mut scope = scope;
    let found;
    let paths: &[String] = if !paths.is_empty() {
        scope = Scope::Paths;
        paths
    } else if scope == Scope::Python {
        let inv = crate::python::discover(root);
        found = inv.scope();
        errors.extend(inv.problems.iter().cloned());
        python = Some(inv);
        &found
    } else {
        starts.push(PathBuf::from("/"));
        &[]
    };
    for p in paths {
        match root.resolve(Path::new(p))? {
            Some(r) => starts.push(r.path),
            None => errors.push(Problem {
                path: p.clone(),
                message: "no such file or directory in the root".into(),
            }),
        }
    }
    starts.sort();
    starts.dedup();

    // The walk opens each regular file relative to its directory and reads
    // four bytes; the few ELF files are parsed through the same descriptor
    // and resolved right away. All of it on every core, with the outcomes
    // in the order of a serial walk.
    let walker = Walker {
        session,
        files: AtomicUsize::new(0),
        progress,
        runtime,
        list: reads.listing,
    };
    let visited = crate::walk::walk(root.host_dir(), &starts, &walker);
    let paths: Vec<String> = starts.iter().map(|p| p.display().to_string()).collect();
    let mut outcomes = Vec::with_capacity(visited.len());
    let mut listed = Vec::new();
    let mut unlisted = Vec::new();
    for v in visited {
        match v.listed {
            Some(Ok(l)) => listed.push(l),
            Some(Err(p)) => unlisted.push(p),
            None => {}
        }
        outcomes.extend(v.outcome);
    }
    let listing = reads
        .listing
        .then(|| Listing::new(paths.clone(), listed, unlisted));
    let mut report = gather(
        root.host_dir().display().to_string(),
        paths,
        scope,
        walker.files.into_inner(),
        outcomes,
        errors,
    );
    report.listing = listing;
    if python.is_none() {
        let inv = crate::python::discover(root);
        if scope == Scope::Paths {
            report
                .warnings
                .extend(venvs_leaving_the_scope(&inv, &starts));
            report.warnings.sort();
        }
        report.discovered = Some(inv);
    }
    if let Some(inv) = &python {
        report
            .mismatched
            .extend(crate::python::abi::foreign_extensions(inv, &report.entries));
        report.mismatched.sort();
    }
    report.python = python;
    report.runtime = if runtime {
        runtime_loads(session, &mut report)
    } else {
        crate::runtime::Found::default()
    };
    Ok(report)
}

/// The run-time loads of the Python sources the walk kept, resolved in
/// the builder.
fn runtime_loads(session: &Session, report: &mut ScanReport) -> crate::runtime::Found {
    use crate::runtime::{self, pysource::Sources, resolve};
    let files = std::mem::take(&mut report.sources);
    if files.is_empty() {
        return runtime::Found {
            checked: true,
            ..Default::default()
        };
    }
    // Packages are the top directories of the site directories (and of
    // the standard library); elsewhere, a file's own directory.
    let mut roots: Vec<String> = Vec::new();
    let mut interpreter = None;
    if let Some(inv) = &report.python {
        for i in &inv.installations {
            interpreter.get_or_insert_with(|| i.interpreter.clone());
            roots.extend(i.site_dirs.iter().map(|d| d.path.clone()));
            roots.extend(i.stdlib.iter().cloned());
        }
    }
    roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
    let package_of = move |path: &str| -> String {
        for r in &roots {
            if let Some(rest) = path
                .strip_prefix(r.as_str())
                .and_then(|p| p.strip_prefix('/'))
            {
                let first = rest.split('/').next().unwrap_or(rest);
                let first = first.strip_suffix(".py").unwrap_or(first);
                return format!("{r}/{first}");
            }
        }
        path.rsplit_once('/').map_or("/", |(d, _)| d).to_string()
    };
    struct RootSources<'a>(&'a Session);
    impl Sources for RootSources<'_> {
        fn read(&self, path: &str) -> Option<String> {
            let bytes = self.0.objects().read_small(path, 8 << 20).ok()??;
            String::from_utf8(bytes).ok()
        }
    }
    let callers = resolve::Callers::from_entries(&report.entries, interpreter.as_deref());
    let resolver = resolve::Resolver::new(session, callers);
    runtime::discover(files, &package_of, &RootSources(session), &resolver)
}

/// A virtual environment given as a path runs an interpreter that usually
/// lives elsewhere (`bin/python -> /usr/bin/python3.11`): if that is not
/// scanned too, nothing checks that it will load in the image.
fn venvs_leaving_the_scope(inv: &crate::python::Inventory, starts: &[PathBuf]) -> Vec<Warning> {
    let inside = |p: &str| starts.iter().any(|s| Path::new(p).starts_with(s));
    inv.venvs
        .iter()
        .filter(|v| inside(&v.root))
        .filter_map(|v| {
            let interp = v.interpreter.as_deref()?;
            (!inside(interp)).then(|| Warning {
                object: v.root.clone(),
                needed: interp.to_string(),
                message: format!(
                    "this virtual environment runs {interp}, which is outside what was scanned: copy it into the image too and scan it (the default Python scope includes it)"
                ),
            })
        })
        .collect()
}

/// Loads that miss one (name, needed_by): every entry concerned, and the
/// search of the smallest entry (so the report does not depend on thread
/// scheduling).
struct Miss {
    /// The entries whose loads miss it, each with whether the requester
    /// was that entry itself (see `graph::standalone`).
    entries: Vec<(String, bool)>,
    first: String,
    searched: Vec<Step>,
}

fn gather(
    root: String,
    paths: Vec<String>,
    scope: Scope,
    files: usize,
    outcomes: Vec<Outcome>,
    mut errors: Vec<Problem>,
) -> ScanReport {
    let mut objects = 0;
    let mut resolved = 0;
    let mut skipped = Vec::new();
    let mut mismatched = Vec::new();
    let mut fatal = Vec::new();
    let mut warnings = Vec::new();
    let mut cpu_dependent = Vec::new();
    let mut entries = Vec::new();
    let mut missing: BTreeMap<(String, String), Miss> = BTreeMap::new();
    let mut orders = Vec::new();
    let mut sources = Vec::new();
    for o in outcomes {
        match o {
            Outcome::NotElf => {}
            Outcome::Python(path, text) => sources.push((path, text)),
            Outcome::Skipped(p) => {
                objects += 1;
                skipped.push(p);
            }
            Outcome::Mismatched(p) => {
                objects += 1;
                mismatched.push(p);
            }
            Outcome::Error(p) => errors.push(p),
            Outcome::Loaded(mut order) => {
                objects += 1;
                resolved += 1;
                entries.push(order.entry.clone());
                for m in order.missing() {
                    let needed_by = m
                        .loaded_by
                        .and_then(|i| order.objects.get(i))
                        .and_then(|o| o.real.clone().or_else(|| o.path.clone()))
                        .unwrap_or_default();
                    let slot = missing
                        .entry((m.name.clone(), needed_by))
                        .or_insert_with(|| Miss {
                            entries: Vec::new(),
                            first: order.entry.clone(),
                            searched: m.searched.clone(),
                        });
                    if order.entry < slot.first {
                        slot.first = order.entry.clone();
                        slot.searched = m.searched.clone();
                    }
                    slot.entries
                        .push((order.entry.clone(), m.loaded_by == Some(0)));
                }
                if let Some(f) = order.fatal.take() {
                    fatal.push(FatalLoad {
                        entry: order.entry.clone(),
                        fatal: f,
                    });
                }
                warnings.append(&mut order.warnings);
                cpu_dependent.append(&mut order.cpu_dependent);
                orders.push(order);
            }
        }
    }
    // Failures with the requester as the entry, excused when the requester
    // resolves the name as a dependency elsewhere (`graph::standalone`).
    let mut asked: HashMap<&str, Vec<&str>> = HashMap::new();
    for ((name, needed_by), miss) in &missing {
        if miss.entries.iter().any(|(_, alone)| *alone) {
            asked
                .entry(needed_by.as_str())
                .or_default()
                .push(name.as_str());
        }
    }
    let standalone = Standalone::find(orders.iter().map(|o| &**o), &asked);
    let missing: BTreeMap<_, _> = missing
        .into_iter()
        .filter_map(|((name, needed_by), mut miss)| {
            if let Some(via) = standalone.excused(&needed_by, &name) {
                miss.entries.retain(|(_, alone)| !alone);
                if miss.entries.is_empty() {
                    warnings.push(Warning {
                        object: needed_by.clone(),
                        needed: name.clone(),
                        message: format!(
                            "not found when loaded on its own; resolves when loaded as a dependency (e.g. of {via})"
                        ),
                    });
                    return None;
                }
            }
            Some(((name, needed_by), miss))
        })
        .collect();
    let unresolved = missing
        .into_iter()
        .map(|((name, needed_by), miss)| {
            let Miss {
                entries, searched, ..
            } = miss;
            let mut entries: Vec<String> = entries.into_iter().map(|(e, _)| e).collect();
            entries.sort();
            entries.dedup();
            let entry_count = entries.len();
            entries.truncate(20);
            Unresolved {
                name,
                needed_by,
                entries,
                entry_count,
                searched,
            }
        })
        .collect();
    skipped.sort();
    mismatched.sort();
    errors.sort();
    errors.dedup();
    fatal.sort_by(|a, b| a.entry.cmp(&b.entry));
    warnings.sort();
    warnings.dedup();
    cpu_dependent.sort();
    cpu_dependent.dedup();
    entries.sort();
    ScanReport {
        python: None,
        discovered: None,
        runtime: crate::runtime::Found::default(),
        sources,
        listing: None,
        entries,
        root,
        paths,
        scope,
        files,
        objects,
        resolved,
        skipped,
        mismatched,
        unresolved,
        fatal,
        warnings,
        cpu_dependent,
        errors,
    }
}
