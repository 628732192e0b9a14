//! What a plan says: the copy set with its reasons, what the final image
//! still lacks, and the verdict. Plain data for every renderer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::{
    DeclaredCheck, FindLibrarySupport, PackageData, RuntimeCheck, TraceReport, Unverified,
};
use crate::copyset::CopyPlan;
use crate::graph::{CpuDependence, Session};
use crate::ldso::{Options, Step};
use crate::rootfs::Tree;

/// How to make a library load that the final image's loader would not find
/// where the builder had it (typically a library the builder found only
/// through its `/etc/ld.so.cache`, which distroless images do not have).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fix {
    /// Copy it into a default directory of the target's loader.
    Relocate,
    /// Keep it where it is and add its directory to `LD_LIBRARY_PATH`.
    Env,
}

/// What to plan.
pub struct PlanInput<'a> {
    /// The builder root, with its own loader configuration.
    pub builder: &'a Session,
    /// The base image.
    pub target: Arc<dyn Tree>,
    pub target_name: String,
    /// What the user copies into the image themselves: canonical builder
    /// paths, whole subtrees.
    pub scope: Vec<PathBuf>,
    /// The ELF objects of the scope to check, as paths inside the image.
    pub entries: Vec<String>,
    /// The image's own loader settings (its `LD_LIBRARY_PATH`, the CPU).
    pub opts: Options,
    pub fix: Fix,
    /// Libraries the scope's code loads at run time (from the scan).
    pub runtime: Vec<crate::runtime::RuntimeLoad>,
    /// The interpreter and the extension modules that call `dlopen`.
    pub callers: crate::runtime::resolve::Callers,
    /// Add what `ctypes.util.find_library` needs when a load uses it.
    pub find_library: bool,
    /// Whether run-time loads are looked for (the scope's source, and
    /// what native objects declare or suggest).
    pub runtime_checked: bool,
    /// `--allow-runtime`: names of run-time loads accepted as they are.
    pub allow: Vec<String>,
    /// `--include`: builder paths copied as they are, their ELF objects
    /// planned and checked.
    pub include: Vec<String>,
    /// `--trace`: what traced runs of the application opened.
    pub traces: Vec<crate::trace::Trace>,
    /// Copy the data files of the copied libraries' Debian packages
    /// (`package_data`); off with `--no-package-data`.
    pub package_data: bool,
    /// Whether the Python files of the scope join the layer.
    pub layer: super::Layer,
    /// `--prune`: categories of Python files left out of the layer.
    pub prune: Vec<super::Prune>,
    /// Every Python installation of the builder, whatever the scope:
    /// what the final image's Python checks judge (venvs, scripts, `.pth`
    /// files, prefixes) where the image gets it from the builder; what
    /// names the layer's parts, and where pruning's module names start.
    pub installations: Option<&'a crate::python::Inventory>,
    /// Every file and symlink of the scope, as the scan's walk listed them
    /// (the full layer lists again what it does not cover).
    pub listing: Option<&'a crate::scan::Listing>,
    /// `--rewrite-shebangs`: copy a script whose `#!` interpreter the
    /// image lacks rewritten to name the one it has.
    pub rewrite_shebangs: bool,
}

/// An entry the final image cannot load at all (no loader, a fatal defect
/// of its load), and why. In JSON a pair `[entry, reason]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "(String, String)")]
pub struct Refused {
    pub entry: String,
    pub reason: String,
}

impl From<Refused> for (String, String) {
    fn from(r: Refused) -> (String, String) {
        (r.entry, r.reason)
    }
}

/// A DT_NEEDED the final image still cannot satisfy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FinalMissing {
    pub name: String,
    pub needed_by: String,
    /// One entry whose load hits it.
    pub entry: String,
    pub reason: String,
    /// The places the final image's loader searched.
    pub searched: Vec<Step>,
    /// The kinds of CPU it fails on (`Cpu::name`); empty: every CPU.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<String>,
}

/// A version an object requires that what it loads does not define: glibc
/// refuses to start the program (`elf/dl-version.c: match_symbol`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VersionProblem {
    /// The object requiring the version.
    pub object: String,
    pub version: String,
    /// The DT_NEEDED name it requires it from (e.g. `libc.so.6`).
    pub from: String,
    /// The file that would be loaded for it in the image.
    pub provider: String,
    /// Whether that file is the target's own (not copied).
    pub provider_in_target: bool,
    /// The newest versions of the same family the provider defines.
    pub provider_has: Vec<String>,
    /// Embedded targets whose own copy of `from` defines the version.
    pub targets_with_it: Vec<String>,
}

/// A builder file that would replace a different file of the target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Conflict {
    pub dest: String,
    pub src: String,
    pub needed_as: String,
}

/// The answer: what to copy, and whether the final image loads.
#[derive(Clone, Debug, Serialize)]
pub struct PlanReport {
    pub target: String,
    pub copy: CopyPlan,
    /// Bytes of the regular files copied.
    pub bytes: u64,
    /// Entries checked in the final image.
    pub checked: usize,
    pub missing: Vec<FinalMissing>,
    pub versions: Vec<VersionProblem>,
    pub conflicts: Vec<Conflict>,
    /// Entries the final image cannot load at all (and why).
    pub refused: Vec<Refused>,
    /// Who installed each copied file in the builder (`src` -> owner),
    /// filled on request (`--owners`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub owners: BTreeMap<String, crate::owners::Owner>,
    /// Edges of the final image that kinds of CPU resolve differently;
    /// each kind was checked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpu_dependent: Vec<CpuDependence>,
    /// Each run-time load of the scope, checked in the final image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime: Vec<RuntimeCheck>,
    /// What makes `ctypes.util.find_library` work in the image, when a
    /// load uses it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub find_library: Option<FindLibrarySupport>,
    /// Whether run-time loads were looked for (not with `--no-runtime`):
    /// when false, `loads` speaks of DT_NEEDED only.
    pub runtime_checked: bool,
    /// What objects of the image declare they load at run time
    /// (`.note.dlopen`), checked in the image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub declared: Vec<DeclaredCheck>,
    /// `.note.dlopen` notes that are not what the specification says.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub declared_problems: BTreeMap<String, Vec<String>>,
    /// What objects of the image may load at run time, by the evidence of
    /// their bytes, that the builder has and the image lacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<Unverified>,
    /// `--include` paths that could not be included (fully), and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include_problems: Vec<String>,
    /// What `--trace` files added, and what they showed that the plan
    /// leaves out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceReport>,
    /// Data files of the copied libraries' Debian packages, copied by the
    /// package-data rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub package_data: Vec<PackageData>,
    /// With `--layer full`: the Python files of the scope, copied with the
    /// libraries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<super::PythonLayer>,
    /// What breaks the scope's Python installations in the image although
    /// their libraries load (a venv's interpreter, a script's `#!`, a
    /// `.pth` directory, the standard library): each with its fix. Those
    /// `in_builder_too` fail in the builder alike and do not fail the
    /// image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub python_checks: Vec<crate::python::image_checks::PythonFinding>,
    /// Every path of `copy` in one group, by what needs it (the imports,
    /// the interpreter, a program, an include…), biggest first: what
    /// leaving an import out would save. Absent when nothing is copied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<super::CopyGroup>,
}

impl PlanReport {
    /// Whether everything in scope would load in the final image, as far
    /// as ldslim can resolve it (DT_NEEDED, the Python code's run-time
    /// loads, declared loads), and its Python installations hold together
    /// there (`python_checks`).
    pub fn loads(&self) -> bool {
        self.python_failures().next().is_none() && self.libraries_load()
    }

    /// What fails in the image, counted, as a sentence: `the final image
    /// (T) would not load: 2 missing, 0 version errors`, and `, 1 Python
    /// problem` when there is one.
    pub fn would_not_load(&self) -> String {
        let python = match self.python_failures().count() {
            0 => String::new(),
            1 => ", 1 Python problem".to_string(),
            n => format!(", {n} Python problems"),
        };
        format!(
            "the final image ({}) would not load: {} missing, {} version errors{python}",
            self.target,
            self.missing.len(),
            self.versions.len()
        )
    }

    /// The Python checks that fail in the image (not those that fail in
    /// the builder alike).
    pub fn python_failures(
        &self,
    ) -> impl Iterator<Item = &crate::python::image_checks::PythonFinding> {
        self.python_checks.iter().filter(|f| !f.in_builder_too)
    }

    /// Whether everything in scope would load in the final image (all
    /// of [`Self::loads`] but the Python checks).
    pub fn libraries_load(&self) -> bool {
        self.missing.is_empty()
            && self.versions.is_empty()
            && self.refused.is_empty()
            && self.runtime_failures().next().is_none()
            && !self.declared.iter().any(DeclaredCheck::fails)
    }

    /// Run-time loads that do not work in the image as in the builder,
    /// and nobody accepted.
    pub fn runtime_failures(&self) -> impl Iterator<Item = &RuntimeCheck> {
        self.runtime.iter().filter(|c| !c.allowed && !c.loads())
    }

    /// Possible run-time loads nobody accepted, no trace saw used, that the
    /// image lacks.
    pub fn unverified_loads(&self) -> impl Iterator<Item = &Unverified> {
        self.unverified.iter().filter(|u| !u.allowed && !u.traced)
    }

    /// What the emitters write: the libraries, and with `--layer full` the
    /// Python files too.
    pub fn emitted(&self) -> std::borrow::Cow<'_, CopyPlan> {
        match &self.layer {
            Some(layer) => std::borrow::Cow::Owned(super::merged(&self.copy, layer)),
            None => std::borrow::Cow::Borrowed(&self.copy),
        }
    }

    /// [`PlanReport::emitted`] without the items of directories copied
    /// whole (`trees`), which COPY lines do not name one by one: what the
    /// report's Dockerfile lines are made from, without copying the items
    /// of a 16k-file layer to leave them out again. The emitters check the
    /// whole plan.
    pub fn emitted_beside_trees(&self) -> std::borrow::Cow<'_, CopyPlan> {
        match &self.layer {
            Some(layer) => {
                std::borrow::Cow::Owned(super::layer::merged_beside_trees(&self.copy, layer))
            }
            None => std::borrow::Cow::Borrowed(&self.copy),
        }
    }

    /// The verdict on the final image.
    pub fn verdict(&self) -> Verdict {
        if !self.loads() {
            Verdict::Fails
        } else if self.unverified_loads().next().is_some() {
            Verdict::Unverified
        } else {
            Verdict::Loads
        }
    }

    /// Whether some part of the plan (a declared load or a possible one)
    /// is accepted by `allow` (one `--allow-runtime` value).
    pub fn uses_allow(&self, allow: &str) -> bool {
        self.unverified.iter().any(|u| {
            super::native::allow_names(allow, &u.object, u.soname.as_deref(), u.named.name())
        }) || self.declared.iter().any(|d| {
            d.declared
                .sonames
                .iter()
                .any(|s| super::native::allow_names(allow, &d.object, None, s))
        })
    }
}

/// What ldslim can say of the final image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything ldslim found loads.
    Loads,
    /// Everything ldslim could resolve loads, but some object may load at
    /// run time what the builder has and the image lacks.
    Unverified,
    /// Something does not load.
    Fails,
}
