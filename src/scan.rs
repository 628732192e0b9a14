//! Scanning a tree: find every ELF object under some paths of a root, in
//! parallel, resolve each as an entry, and gather what does not load.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::elf::consts::{ET_DYN, ET_EXEC};
use crate::elf::{ElfError, ElfFacts, SizedFile};
use crate::findings::Warning;
use crate::graph::CpuDependence;
use crate::graph::{EntryError, LoadOrder, Session, Standalone};
use crate::ldso::{Fatal, Step};
use crate::objects::Facts;
use crate::rootfs::FactsError;
use crate::rootfs::{FileId, RootError};

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

use crate::findings::strip_path;
pub use crate::findings::{Problem, SkipReason, Skipped};

/// The finding of a Python scope that found no Python installation (in
/// `ScanReport::errors`, so that JSON readers see why the exit code is 1).
pub fn no_python() -> Problem {
    Problem {
        path: "/".into(),
        message: "no Python installation found; give PATHs to scan, or --scope all".into(),
    }
}

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
}

impl ScanReport {
    /// The Python installations of the root, whatever the scope.
    pub fn inventory(&self) -> Option<&crate::python::Inventory> {
        self.python.as_ref().or(self.discovered.as_ref())
    }

    /// Whether the scan found anything wrong (exit code 1).
    /// The Python scope found no installation (no PATH was given).
    pub fn found_no_python(&self) -> bool {
        self.python
            .as_ref()
            .is_some_and(|inv| inv.installations.is_empty())
    }

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

/// What happened to one walked file.
enum Outcome {
    NotElf,
    /// Python source that may load a library at run time.
    Python(String, String),
    Skipped(Skipped),
    Mismatched(Problem),
    Error(Problem),
    Loaded(Box<LoadOrder>),
}

/// Scan `paths` (inside the root; empty = the whole root).
pub fn scan(
    session: &Session,
    paths: &[String],
    scope: Scope,
    progress: &dyn Progress,
) -> Result<ScanReport, RootError> {
    scan_with(session, paths, scope, true, progress)
}

/// [`scan`], reading the scope's Python sources for run-time loads or not
/// (`--no-runtime`: then `runtime.checked` is false and no `.py` is read).
pub fn scan_with(
    session: &Session,
    paths: &[String],
    scope: Scope,
    runtime: bool,
    progress: &dyn Progress,
) -> Result<ScanReport, RootError> {
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
        if found.is_empty() {
            errors.push(no_python());
        }
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
    };
    let outcomes = crate::walk::walk(root.host_dir(), &starts, &walker);
    let mut report = gather(
        root.host_dir().display().to_string(),
        starts.iter().map(|p| p.display().to_string()).collect(),
        scope,
        walker.files.into_inner(),
        outcomes,
        errors,
    );
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

/// The walk of a scan: every regular file is counted and its first four
/// bytes read through a descriptor of its directory; most files are not
/// ELF and cost nothing more.
struct Walker<'a> {
    session: &'a Session,
    files: AtomicUsize,
    progress: &'a dyn Progress,
    /// Whether `.py` files are read for run-time loads.
    runtime: bool,
}

impl crate::walk::Visit for Walker<'_> {
    type Out = Outcome;

    fn enter(&self, path: &Path, _depth: usize) -> bool {
        !is_pseudo(path)
    }

    fn visited(&self, files: usize) {
        self.files.fetch_add(files, Ordering::Relaxed);
        self.progress.files(files);
    }

    fn file(&self, entry: &crate::walk::Entry<'_>) -> Option<Outcome> {
        let problem = |message: String| {
            Some(Outcome::Error(Problem {
                path: entry.path().to_string_lossy().into_owned(),
                message,
            }))
        };
        if entry.dir.to_str().is_none() || entry.name.to_str().is_err() {
            // `path` is lossy; the message gives the exact bytes.
            return problem(format!(
                "file name is not valid UTF-8 ({:?}); not examined",
                entry.path().as_os_str()
            ));
        }
        let file = match entry.open() {
            Ok(f) => f,
            Err(e) => return problem(e.to_string()),
        };
        if self.runtime
            && entry.name.to_bytes().ends_with(b".py")
            && !in_tests_or_examples(entry.dir)
        {
            // Read whole, once: its first bytes say ELF or not as well.
            match python_source(&file) {
                Ok(Source::Python(text)) => {
                    return Some(Outcome::Python(
                        entry.path().to_string_lossy().into_owned(),
                        text,
                    ));
                }
                Ok(Source::Elf) => {}
                Ok(Source::Other) => return None,
                Err(e) => return problem(e.to_string()),
            }
        } else {
            let mut magic = [0u8; 4];
            match file.read_at(&mut magic, 0) {
                Ok(4) if magic == *b"\x7fELF" => {}
                Ok(_) => return None,
                Err(e) => return problem(e.to_string()),
            }
        }
        // Only ELF files pay for their identity, which memoises their facts.
        let meta = match file.metadata() {
            Ok(m) if m.is_file() => m,
            Ok(_) => return None,
            Err(e) => return problem(e.to_string()),
        };
        let id = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        let inside = entry.path();
        let path = inside.to_string_lossy().into_owned();
        self.session
            .objects()
            .known_regular(&inside, id, meta.len());
        let facts = self.session.objects().facts_with(id, || {
            let file = SizedFile {
                file,
                size: meta.len(),
            };
            crate::elf::read_facts(&file).map_err(|source| FactsError::Elf {
                path: path.clone(),
                source,
            })
        });
        Some(examine(self.session, &path, &facts, self.progress))
    }

    fn error(&self, path: &Path, error: std::io::Error) -> Option<Outcome> {
        Some(Outcome::Error(Problem {
            path: path.to_string_lossy().into_owned(),
            message: error.to_string(),
        }))
    }
}

/// Whether a directory is a package's tests, examples or documentation:
/// code an application does not import, so its run-time loads are not
/// the application's (numpy's `random/_examples` dlopen a relative path).
fn in_tests_or_examples(dir: &Path) -> bool {
    const NOT_RUN: &[&str] = &[
        "tests",
        "test",
        "testing",
        "examples",
        "_examples",
        "docs",
        "benchmarks",
    ];
    dir.components()
        .any(|c| NOT_RUN.iter().any(|n| c.as_os_str() == *n))
}

/// What a `.py` file turned out to be.
enum Source {
    /// A Python source that names `ctypes`, `cffi` or `dlopen`.
    Python(String),
    /// An ELF file with a `.py` name: examined as one.
    Elf,
    /// Anything else (no such name, too large, not UTF-8).
    Other,
}

/// A `.py` file read whole (up to 8 MiB: no real module is larger) into a
/// buffer the thread keeps, so the thousands of sources of a scope cost
/// one `pread` each (two past 64 KiB) and no allocation.
fn python_source(file: &std::fs::File) -> std::io::Result<Source> {
    const MAX_SOURCE: usize = 8 << 20;
    const FIRST: usize = 64 << 10;
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut got = 0;
        loop {
            if got == buf.len() {
                if buf.len() > MAX_SOURCE {
                    return Ok(Source::Other);
                }
                let bigger = buf.len() + buf.len().max(FIRST);
                buf.resize(bigger, 0);
            }
            match file.read_at(&mut buf[got..], got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let bytes = &buf[..got];
        if bytes.starts_with(b"\x7fELF") {
            return Ok(Source::Elf);
        }
        if !crate::runtime::pysource::may_load(bytes) {
            return Ok(Source::Other);
        }
        Ok(std::str::from_utf8(bytes)
            .map(|t| Source::Python(t.to_string()))
            .unwrap_or(Source::Other))
    })
}

/// `/proc`, `/sys` and `/dev` of the root.
fn is_pseudo(inside: &Path) -> bool {
    let mut c = inside.components();
    matches!(
        (c.next(), c.next(), c.next()),
        (Some(std::path::Component::RootDir), Some(first), None)
            if crate::walk::PSEUDO_TOP.iter().any(|x| first.as_os_str() == *x)
    )
}

fn examine(session: &Session, path: &str, facts: &Facts, progress: &dyn Progress) -> Outcome {
    let problem = |message: String| Problem {
        path: path.to_string(),
        message,
    };
    let facts: &ElfFacts = match facts.as_ref() {
        Ok(f) => f,
        Err(FactsError::Elf {
            source: ElfError::NotElf,
            ..
        }) => return Outcome::NotElf,
        Err(e) => return Outcome::Error(problem(strip_path(&e.to_string(), path))),
    };
    let skipped = |reason| {
        Outcome::Skipped(Skipped {
            path: path.to_string(),
            reason,
        })
    };
    if !facts.dynamic {
        return skipped(SkipReason::Static);
    }
    if facts.e_type != ET_EXEC && facts.e_type != ET_DYN {
        return skipped(SkipReason::NotLoadable(facts.e_type));
    }
    progress.object(path);
    match session.load(path) {
        Ok(order) => Outcome::Loaded(Box::new(order)),
        Err(EntryError::IsLoader(_)) => skipped(SkipReason::Loader),
        Err(EntryError::NoLoader { interp, .. }) => {
            Outcome::Mismatched(problem(no_loader(facts, &interp)))
        }
        Err(e @ EntryError::NoAbi { .. }) => Outcome::Mismatched(problem(format!(
            "{}: no glibc system can load it",
            strip_path(&e.to_string(), path)
        ))),
        Err(e) => Outcome::Error(problem(strip_path(&e.to_string(), path))),
    }
}

/// Why an object whose loader the root lacks cannot load there, in words
/// that name the mismatch.
fn no_loader(facts: &ElfFacts, interp: &str) -> String {
    if interp.contains("ld-musl") {
        return format!(
            "built for musl libc (its loader {interp} is not in the root): a glibc system cannot load it; install the glibc build of its package (a manylinux wheel, not a musllinux one)"
        );
    }
    match crate::ldso::abi::Abi::for_object(facts) {
        Some(abi) => format!(
            "built for {}, and the root has no {} loader ({interp}): a file for another architecture than the root's (a wheel or package for another platform?)",
            abi.name, abi.name
        ),
        None => format!("the root has no loader {interp}"),
    }
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
