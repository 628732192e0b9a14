//! The main job as a library call: a [`ScanRequest`] goes through
//! scan → plan → owners and comes back as a [`ScanOutcome`] that says
//! whether there are findings. The binary, the tests and the benches all
//! call this; `main.rs` only parses flags, renders and maps the outcome to
//! an exit code.
//!
//! What happens along the way (files read, each stage done) is told to an
//! [`Observer`], so a terminal can show progress and `--verbose` its stage
//! lines without the pipeline knowing about either.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::graph::Session;
use crate::ldso::Options;
use crate::ldso::cpu::Cpu;
use crate::plan::{self, Fix, Layer, PlanInput, PlanReport, Prune, Verdict};
use crate::rootfs::{Root, Tree};
use crate::scan::{self, Progress, ScanReport, Scope};

mod error;
mod target;

pub use error::Error;
pub use target::{OpenTarget, ScopeArch, TargetChoice, open as open_target, scope_arch};

/// What a user chose for a plan beyond the target (`scan`'s flags; the
/// defaults for `why` and `explain`).
#[derive(Clone, Debug)]
pub struct Choices {
    pub fix: Fix,
    /// Give the image `ldconfig` and a cache for `ctypes.util.find_library`.
    pub find_library: bool,
    /// `--allow-runtime`: run-time loads accepted without verification.
    pub allow: Vec<String>,
    /// `--include`: builder paths copied as they are.
    pub include: Vec<String>,
    /// `--trace`: trace files to merge.
    pub traces: Vec<PathBuf>,
    /// Copy the data files of the copied libraries' Debian packages.
    pub package_data: bool,
    /// Whether the emitters write the Python files of the scope too.
    pub layer: Layer,
    /// `--prune`: categories of Python files left out of the layer.
    pub prune: Vec<Prune>,
    /// Copy scripts whose `#!` interpreter the image lacks rewritten to
    /// the Python it has.
    pub rewrite_shebangs: bool,
}

impl Default for Choices {
    fn default() -> Choices {
        Choices {
            fix: Fix::Relocate,
            find_library: true,
            allow: Vec::new(),
            include: Vec::new(),
            traces: Vec::new(),
            package_data: true,
            layer: Layer::Full,
            prune: Vec::new(),
            rewrite_shebangs: false,
        }
    }
}

/// One run of the main job.
#[derive(Clone, Debug)]
pub struct ScanRequest {
    /// The builder root (a directory).
    pub root: PathBuf,
    /// Paths inside the root to scan instead of the scope.
    pub paths: Vec<String>,
    pub scope: Scope,
    /// Look for libraries loaded at run time (ctypes, cffi, `.note.dlopen`).
    pub runtime: bool,
    /// The loader's options for the builder (CPU, `LD_LIBRARY_PATH`).
    pub loader: Options,
    pub target: TargetChoice,
    pub choices: Choices,
    /// Name the package or wheel that owns each copied file.
    pub owners: bool,
}

/// What the main job found.
pub struct ScanOutcome {
    pub session: Session,
    pub report: ScanReport,
    /// `None` with `--target none`, or when no Python was found.
    pub plan: Option<PlanReport>,
    /// The Python scope found no installation (and no PATH was given):
    /// nothing was planned, and the caller has a usage error to report.
    pub no_python: bool,
    /// `--allow-runtime` names that match no run-time load of the scope.
    pub unused_allow: Vec<String>,
    /// The base image the plan is for (`None` when there is no plan).
    pub target: Option<Arc<dyn Tree>>,
}

/// What the dpkg records of the emitted plan are there for, as their group
/// names it.
pub const STATUS_D_GROUP: &str =
    "the dpkg records of the copied files' packages, for image scanners";

impl ScanOutcome {
    /// The plan as every `--emit` writes it: with the dpkg records of the
    /// copied files' packages that image scanners read
    /// ([`crate::emit::with_status_d`]; docs/sbom.md), their bytes counted.
    pub fn emitted_plan(&self) -> Option<PlanReport> {
        let plan = self.plan.as_ref()?;
        let (Some(target), Some(builder)) = (&self.target, self.session.host_root()) else {
            return Some(plan.clone());
        };
        // The records of every copied file's package, the Python layer's
        // included; kept with the libraries, which the emitters merge with
        // the layer (`PlanReport::emitted`).
        let all = crate::emit::with_status_d(&plan.emitted(), builder, target.as_ref());
        let records: Vec<plan::CopyItem> = all
            .items
            .into_iter()
            .filter(crate::emit::is_status_d)
            .collect();
        let added: u64 = records
            .iter()
            .map(|i| match i.kind {
                plan::CopyKind::Generated { size, .. } => size,
                _ => 0,
            })
            .sum();
        // The groups keep adding up to the copy set: the records are a
        // group of their own.
        let mut groups = plan.groups.clone();
        if !records.is_empty() {
            groups.push(plan::CopyGroup {
                needed_by: vec![plan::Needer::Other(STATUS_D_GROUP.to_string())],
                libraries: Vec::new(),
                paths: records.iter().map(|i| i.dest.clone()).collect(),
                bytes: added,
            });
            plan::CopyGroup::sort(&mut groups);
        }
        let mut copy = plan.copy.clone();
        copy.items.extend(records);
        copy.items.sort_by(|a, b| a.dest.cmp(&b.dest));
        Some(PlanReport {
            bytes: plan.bytes + added,
            copy,
            groups,
            ..plan.clone()
        })
    }

    /// Findings of the builder's scan, or a final image that does not
    /// (provably) load: exit status 1.
    pub fn has_findings(&self) -> bool {
        self.report.has_findings()
            || self
                .plan
                .as_ref()
                .is_some_and(|p| p.verdict() != Verdict::Loads)
    }
}

/// Told what the pipeline does, as it does it.
pub trait Observer: Progress {
    /// The scope was scanned.
    fn scanned(&self, _report: &ScanReport) {}
    /// The plan was made (`None`: `--target none`); `unused_allow` are the
    /// `--allow-runtime` names nothing matched.
    fn planned(&self, _plan: Option<&PlanReport>, _unused_allow: &[String]) {}
    /// The owners of `_named` copied files were found.
    fn owners(&self, _named: usize) {}
}

/// No one listening.
pub struct Silent;
impl Progress for Silent {}
impl Observer for Silent {}

/// Open `path` as the builder root, with what a user who gave something
/// else (a file, an image archive) should do instead.
pub fn open_root(path: &Path) -> Result<Root, Error> {
    Root::new(path).map_err(|source| Error::Root {
        archive: path.is_file() && path.to_string_lossy().contains(".tar"),
        path: path.to_path_buf(),
        source,
    })
}

/// Scan, plan and name owners as `req` asks.
pub fn run(req: &ScanRequest, observer: &dyn Observer) -> Result<ScanOutcome, Error> {
    let session = Session::new(open_root(&req.root)?, req.loader.clone());
    // The full layer copies every file of the scope: the walk lists them
    // as it goes (not for `--scope all`, which has no layer).
    let whole_root = req.scope == Scope::All || req.paths.iter().any(|p| p == "/");
    let reads = scan::Reads {
        runtime: req.runtime,
        listing: req.choices.layer == Layer::Full
            && !whole_root
            && !matches!(req.target, TargetChoice::None),
    };
    let mut report =
        scan::scan_with(&session, &req.paths, req.scope, reads, observer).map_err(Error::Scan)?;
    let mut unused_allow = report.runtime.allow(&req.choices.allow);
    observer.scanned(&report);
    let no_python = report.found_no_python();
    if no_python {
        return Ok(ScanOutcome {
            session,
            report,
            plan: None,
            no_python,
            unused_allow: Vec::new(),
            target: None,
        });
    }
    let target = open_for_scope(&session, &report, &req.target)?;
    let target_tree = target.as_ref().map(|(_, tree)| tree.clone());
    let mut plan = plan_for(&session, &report, target, &req.loader, &req.choices)?;
    unused_allow.retain(|name| !plan.as_ref().is_some_and(|p| p.uses_allow(name)));
    observer.planned(plan.as_ref(), &unused_allow);
    if let (true, Some(p), Some(builder)) = (req.owners, plan.as_mut(), session.host_root()) {
        let owners = crate::owners::Owners::load(builder, &site_dirs(&report));
        for item in &p.copy.items {
            if let Some(o) = owners.owner(&item.src) {
                p.owners.insert(item.src.clone(), o);
            }
        }
        observer.owners(p.owners.len());
    }
    Ok(ScanOutcome {
        session,
        report,
        plan,
        no_python,
        unused_allow,
        target: target_tree,
    })
}

/// The scope (PATHs, else the Python installations) of a builder root,
/// scanned with the default scope: what `why` and `explain` start from.
pub fn scan_scope(
    root: &Path,
    loader: &Options,
    paths: &[String],
) -> Result<(Session, ScanReport), Error> {
    let session = Session::new(open_root(root)?, loader.clone());
    let report = scan::scan(&session, paths, Scope::Python, &scan::Quiet).map_err(Error::Scan)?;
    Ok((session, report))
}

/// The target `choice` names, opened for `report`'s scope (refused when
/// its architecture is not the scope's); `None` for `--target none`.
/// Opened once and handed to [`plan_for`] and [`target_lookup`].
pub fn open_for_scope(
    session: &Session,
    report: &ScanReport,
    choice: &TargetChoice,
) -> Result<Option<OpenTarget>, Error> {
    let arch = scope_arch(session, report);
    open_target(choice, session, arch.as_ref())
}

/// The plan of `report`'s scope against `target` (`None` for `--target
/// none`: no plan).
pub fn plan_for(
    session: &Session,
    report: &ScanReport,
    target: Option<OpenTarget>,
    loader: &Options,
    choices: &Choices,
) -> Result<Option<PlanReport>, Error> {
    let Some((name, tree)) = target else {
        return Ok(None);
    };
    let traces = choices
        .traces
        .iter()
        .map(|f| {
            crate::trace::read(f).map_err(|source| Error::Trace {
                path: f.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let input = PlanInput {
        builder: session,
        target: tree,
        target_name: name,
        scope: copied_scope(report),
        entries: report.entries.clone(),
        opts: Options {
            // The image's CPU is unknown: planned for the baseline, and
            // checked on every kind of CPU where a load depends on it.
            cpu: Cpu::BASELINE,
            ..loader.clone()
        },
        fix: choices.fix,
        runtime: report.runtime.loads.clone(),
        callers: report.runtime.callers.clone(),
        find_library: choices.find_library,
        runtime_checked: report.runtime.checked,
        allow: choices.allow.clone(),
        include: choices.include.clone(),
        traces,
        package_data: choices.package_data,
        layer: choices.layer,
        prune: choices.prune.clone(),
        installations: report.inventory(),
        listing: report.listing(),
        rewrite_shebangs: choices.rewrite_shebangs,
    };
    Ok(Some(plan::plan(&input)))
}

/// What the user copies into the image: the paths scanned, and with the
/// Python scope the symlinks that lead to them (`/usr/bin/python3 ->
/// python3.11`, which a venv's `bin/python3` may name), which the scan
/// resolved away.
fn copied_scope(report: &ScanReport) -> Vec<PathBuf> {
    let mut paths: std::collections::BTreeSet<String> = report.paths.iter().cloned().collect();
    if let Some(inv) = &report.python {
        paths.extend(inv.scope());
    }
    paths.into_iter().map(PathBuf::from).collect()
}

/// Where the chosen target has a library (by soname, in its loader's
/// default directories, or by path); always `None` with `--target none`.
pub type TargetHas = Box<dyn Fn(&str) -> Option<String>>;

/// [`TargetHas`] for `report`'s scope and `target`.
pub fn target_lookup(
    session: &Session,
    report: &ScanReport,
    target: Option<&OpenTarget>,
) -> TargetHas {
    let Some((_, tree)) = target else {
        return Box::new(|_: &str| None);
    };
    let tree = tree.clone();
    // The loader the image's programs use: the interpreter's.
    let interp = report
        .runtime
        .callers
        .interpreter
        .as_deref()
        .and_then(|i| {
            let objects = session.objects();
            let f = objects.resolve(Path::new(i)).ok()??;
            objects.facts(&f).as_ref().as_ref().ok()?.interp.clone()
        })
        .unwrap_or_else(|| crate::ldso::abi::ABIS[0].interp.to_string());
    Box::new(move |lib: &str| crate::why::in_tree(tree.clone(), &interp, lib))
}

/// The site directories the Python scope found (where wheels' RECORDs are).
pub fn site_dirs(report: &ScanReport) -> Vec<String> {
    report
        .python
        .iter()
        .flat_map(|inv| inv.installations.iter())
        .flat_map(|i| i.site_dirs.iter().map(|d| d.path.clone()))
        .collect()
}
