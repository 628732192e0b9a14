//! `--prune`: Python files of the layer that the application does not need,
//! left out by category, each by a rule a reader can check, never a file
//! some import in scope names.
//!
//! The evidence is what the scope's code imports, read from its source
//! (`python::imports`: every `import` statement, wherever it is, and
//! `import_module` calls with a literal name), and what traces saw opened.
//! A name computed at run time cannot be read: such imports are counted in
//! the report, and the categories that depend on imports say so.
//!
//! - `tests`: directories named `test` or `tests` below a site directory or
//!   the standard library, and `conftest.py` files — unless code outside
//!   the directory imports a module in it.
//! - `sources`: C, C++, Cython and Fortran sources and headers in site
//!   directories (`.c .h .cc .cpp .cxx .hh .hpp .pyx .pxd .pxi .f .f90
//!   .f95 .for`): no import system loads them; they serve builds.
//! - `stubs`: type stubs (`.pyi`) and `py.typed` markers: read by type
//!   checkers, never by an import.
//! - `build-tools`: pip, setuptools (with `pkg_resources` and
//!   `_distutils_hack`), wheel — their packages, `.dist-info`,
//!   `distutils-precedence.pth` and a venv's `bin/pip*`/`bin/wheel` — and
//!   the standard library's `ensurepip`; a distribution some code outside
//!   it imports (`import pkg_resources`) is kept.
//! - `unused-stdlib`: standard-library modules (and `lib-dynload`
//!   extensions) that no code in scope reaches by its imports, starting
//!   from every module outside the standard library, from what
//!   interpreter start-up imports (`site`, `sitecustomize`, `runpy`,
//!   `encodings` whole: codecs are imported by name), and from what the
//!   traces opened. Refused when the layer holds no code outside the
//!   standard library and no trace was given: there is then no evidence.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::layer::PythonLayer;
use crate::copyset::CopyKind;
use crate::python::Inventory;
use crate::python::imports::{Imports, imports};
use crate::rootfs::{Root, Tree};

/// One category of files `--prune` may leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Prune {
    Tests,
    Sources,
    Stubs,
    BuildTools,
    UnusedStdlib,
}

impl Prune {
    pub const ALL: [Prune; 5] = [
        Prune::Tests,
        Prune::Sources,
        Prune::Stubs,
        Prune::BuildTools,
        Prune::UnusedStdlib,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Prune::Tests => "tests",
            Prune::Sources => "sources",
            Prune::Stubs => "stubs",
            Prune::BuildTools => "build-tools",
            Prune::UnusedStdlib => "unused-stdlib",
        }
    }
}

/// What one category left out, and what it kept because an import needs it.
#[derive(Clone, Debug, Serialize)]
pub struct Pruned {
    pub category: Prune,
    pub files: usize,
    pub links: usize,
    pub bytes: u64,
    /// Candidates kept, each with the import that needs it (sorted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Kept>,
    /// Why the category did nothing at all, when it did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Kept {
    /// The directory or module kept.
    pub what: String,
    /// A file whose import needs it.
    pub imported_by: String,
}

/// The evidence the categories used.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Evidence {
    /// Python files whose imports were read.
    pub python_files: usize,
    /// Traces whose opened files count as used.
    pub traces: usize,
    /// Imports by a name computed at run time, which no rule can see.
    pub dynamic_imports: usize,
    /// Standard-library modules reached (with `unused-stdlib`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdlib_modules_reached: Option<usize>,
}

/// Leave out of `layer` what `categories` name; the paths left out.
pub fn prune(
    layer: &mut PythonLayer,
    categories: &[Prune],
    builder: &Root,
    python: Option<&Inventory>,
    traces: &[crate::trace::Trace],
) -> (Vec<Pruned>, Evidence, BTreeSet<String>) {
    let bases = Bases::of(python, layer);
    let files: Vec<(String, CopyKind)> = layer
        .parts
        .iter()
        .flat_map(|p| p.items.iter().map(|i| (i.path.clone(), i.kind.clone())))
        .collect();
    let mut index = Index::new(builder, &bases, &files);
    let mut evidence = Evidence {
        traces: traces.len(),
        ..Evidence::default()
    };
    let mut out = Vec::new();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    let mut categories: Vec<Prune> = categories.to_vec();
    categories.sort();
    categories.dedup();
    for c in categories {
        let (chosen, kept, refused) = match c {
            Prune::Tests => index.tests(),
            Prune::Sources => (index.by_suffix(SOURCES, false), Vec::new(), None),
            Prune::Stubs => (index.stubs(), Vec::new(), None),
            Prune::BuildTools => index.build_tools(),
            Prune::UnusedStdlib => index.unused_stdlib(traces, &mut evidence),
        };
        let chosen: BTreeSet<String> = chosen.into_iter().filter(|p| !gone.contains(p)).collect();
        let (mut files_n, mut links, mut bytes) = (0, 0, 0);
        for (path, kind) in &files {
            if !chosen.contains(path) {
                continue;
            }
            match kind {
                CopyKind::File { size, .. } | CopyKind::Generated { size, .. } => {
                    files_n += 1;
                    bytes += size;
                }
                CopyKind::Symlink { .. } => links += 1,
            }
        }
        gone.extend(chosen);
        out.push(Pruned {
            category: c,
            files: files_n,
            links,
            bytes,
            kept,
            refused,
        });
    }
    evidence.python_files = index.parsed.len();
    evidence.dynamic_imports = index.parsed.values().map(|i| i.dynamic).sum();
    layer.remove(&gone);
    (out, evidence, gone)
}

const SOURCES: &[&str] = &[
    ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".pyx", ".pxd", ".pxi", ".f", ".f90", ".f95",
    ".for",
];
const BUILD_TOOLS: &[&str] = &["pip", "setuptools", "wheel"];
/// The modules of each build tool besides its own name.
const BUILD_TOOL_MODULES: &[(&str, &[&str])] = &[
    ("pip", &["pip"]),
    (
        "setuptools",
        &["setuptools", "pkg_resources", "_distutils_hack"],
    ),
    ("wheel", &["wheel"]),
];
/// What interpreter start-up and `python -m` import, beside the modules
/// their own imports reach (CPython 3.11 `Python/pylifecycle.c` imports
/// `encodings` and `site`; `site` imports `sitecustomize`/`usercustomize`
/// when present; `-m` runs `runpy`).
const STARTUP: &[&str] = &[
    "site",
    "sitecustomize",
    "usercustomize",
    "runpy",
    "encodings",
];

/// Where module names start: the standard library (and `lib-dynload`),
/// site directories, and other directories of the layer (an application's
/// own code, given as a PATH).
struct Bases {
    /// (directory, is the standard library), deepest first.
    dirs: Vec<(String, bool)>,
}

impl Bases {
    fn of(python: Option<&Inventory>, layer: &PythonLayer) -> Bases {
        let mut dirs: BTreeSet<(String, bool)> = BTreeSet::new();
        for i in python.iter().flat_map(|inv| &inv.installations) {
            dirs.extend(i.stdlib.iter().map(|d| (d.clone(), true)));
            dirs.extend(i.lib_dynload.iter().map(|d| (d.clone(), true)));
            dirs.extend(i.site_dirs.iter().map(|s| (s.path.clone(), false)));
        }
        for v in python.iter().flat_map(|inv| &inv.venvs) {
            dirs.extend(v.site_packages.iter().map(|d| (d.clone(), false)));
        }
        for t in &layer.trees {
            if !dirs.iter().any(|(d, _)| Path::new(t).starts_with(d)) {
                dirs.insert((t.clone(), false));
            }
        }
        let mut dirs: Vec<(String, bool)> = dirs.into_iter().collect();
        dirs.sort_by_key(|(d, _)| std::cmp::Reverse(Path::new(d).components().count()));
        Bases { dirs }
    }

    /// The base `path` is below (deepest), and the path relative to it.
    fn of_path<'p>(&self, path: &'p str) -> Option<(&str, bool, &'p str)> {
        self.dirs.iter().find_map(|(d, stdlib)| {
            let rest = path.strip_prefix(d.as_str())?.strip_prefix('/')?;
            Some((d.as_str(), *stdlib, rest))
        })
    }
}

/// The layer's files by module, and the imports read so far.
struct Index<'a> {
    builder: &'a Root,
    /// Every file: (path, base, is stdlib, relative path, module name).
    files: Vec<FileInfo>,
    parsed: HashMap<String, Imports>,
}

struct FileInfo {
    path: String,
    stdlib: bool,
    rel: String,
    base: String,
    /// The module the file is (or belongs to: a data file, its package).
    module: Option<String>,
    /// A `.py` source (whose imports can be read).
    source: bool,
}

impl<'a> Index<'a> {
    fn new(builder: &'a Root, bases: &Bases, files: &[(String, CopyKind)]) -> Index<'a> {
        let files = files
            .iter()
            .map(|(path, _)| match bases.of_path(path) {
                Some((base, stdlib, rel)) => FileInfo {
                    path: path.clone(),
                    stdlib,
                    rel: rel.to_string(),
                    base: base.to_string(),
                    module: module_name(rel),
                    source: path.ends_with(".py"),
                },
                None => FileInfo {
                    path: path.clone(),
                    stdlib: false,
                    rel: path.clone(),
                    base: String::new(),
                    module: None,
                    source: path.ends_with(".py"),
                },
            })
            .collect();
        Index {
            builder,
            files,
            parsed: HashMap::new(),
        }
    }

    /// Read the imports of these files (in parallel), once each.
    fn parse(&mut self, which: &[usize]) {
        let todo: Vec<usize> = which
            .iter()
            .copied()
            .filter(|&i| self.files[i].source && !self.parsed.contains_key(&self.files[i].path))
            .collect();
        let builder = self.builder;
        let files = &self.files;
        let read: Vec<(String, Imports)> = todo
            .par_iter()
            .map(|&i| {
                let f = &files[i];
                let text = read_source(builder, &f.path).unwrap_or_default();
                let (name, package) = match &f.module {
                    Some(m) => (m.clone(), f.rel.ends_with("__init__.py")),
                    None => (String::new(), false),
                };
                (f.path.clone(), imports(&text, &name, package))
            })
            .collect();
        self.parsed.extend(read);
    }

    /// Files of this index whose bytes hold one of `words` (the only ones
    /// that can import a module of that name), outside `skip`.
    fn importers_of(&mut self, words: &[&str], skip: &dyn Fn(&FileInfo) -> bool) -> Vec<usize> {
        let builder = self.builder;
        let candidates: Vec<usize> = (0..self.files.len())
            .filter(|&i| self.files[i].source && !skip(&self.files[i]))
            .collect();
        let files = &self.files;
        let hits: Vec<usize> = candidates
            .into_par_iter()
            .filter(|&i| {
                read_source(builder, &files[i].path)
                    .is_some_and(|t| words.iter().any(|w| t.contains(w)))
            })
            .collect();
        self.parse(&hits);
        hits
    }

    fn by_suffix(&self, suffixes: &[&str], stdlib_too: bool) -> Vec<String> {
        self.files
            .iter()
            .filter(|f| (stdlib_too || !f.stdlib) && !f.base.is_empty())
            .filter(|f| suffixes.iter().any(|s| f.path.ends_with(s)))
            .map(|f| f.path.clone())
            .collect()
    }

    fn stubs(&self) -> Vec<String> {
        self.files
            .iter()
            .filter(|f| !f.base.is_empty())
            .filter(|f| f.path.ends_with(".pyi") || f.path.ends_with("/py.typed"))
            .map(|f| f.path.clone())
            .collect()
    }

    fn tests(&mut self) -> (Vec<String>, Vec<Kept>, Option<String>) {
        // Each test directory: (its path, its module prefix).
        let mut dirs: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut singles = Vec::new();
        for f in &self.files {
            if f.base.is_empty() {
                continue;
            }
            let comps: Vec<&str> = f.rel.split('/').collect();
            if let Some(at) = comps
                .iter()
                .take(comps.len().saturating_sub(1))
                .position(|c| *c == "test" || *c == "tests")
            {
                let dir = format!("{}/{}", f.base, comps[..=at].join("/"));
                let module = comps[..=at]
                    .iter()
                    .all(|c| is_identifier(c))
                    .then(|| comps[..=at].join("."));
                dirs.entry(dir).or_insert(module);
            } else if !f.stdlib && f.rel.ends_with("conftest.py") {
                singles.push(f.path.clone());
            }
        }
        // Outermost only.
        let outer: Vec<(String, Option<String>)> = dirs
            .iter()
            .filter(|(d, _)| {
                !dirs
                    .keys()
                    .any(|o| o != *d && Path::new(d.as_str()).starts_with(o))
            })
            .map(|(d, m)| (d.clone(), m.clone()))
            .collect();
        let importers = self.importers_of(&["test"], &|_| false);
        // A test directory is needed when code that runs imports it: code
        // outside every candidate, or in a candidate found needed (until
        // nothing changes). A test importing another test proves nothing.
        let candidate = |p: &str| {
            outer.iter().any(|(d, _)| Path::new(p).starts_with(d)) || singles.iter().any(|s| s == p)
        };
        let mut needed: BTreeMap<String, String> = BTreeMap::new();
        loop {
            let before = needed.len();
            for (dir, module) in &outer {
                let Some(m) = module else { continue };
                if needed.contains_key(dir) {
                    continue;
                }
                let by = importers.iter().find_map(|&i| {
                    let f = &self.files[i];
                    if Path::new(&f.path).starts_with(dir) {
                        return None;
                    }
                    let runs = !candidate(&f.path)
                        || needed.keys().any(|n| Path::new(&f.path).starts_with(n));
                    let imports = self.parsed.get(&f.path)?;
                    (runs
                        && imports
                            .modules
                            .iter()
                            .any(|n| n == m || n.starts_with(&format!("{m}."))))
                    .then(|| f.path.clone())
                });
                if let Some(by) = by {
                    needed.insert(dir.clone(), by);
                }
            }
            if needed.len() == before {
                break;
            }
        }
        let mut chosen = singles.clone();
        for (dir, _) in &outer {
            if !needed.contains_key(dir) {
                chosen.extend(
                    self.files
                        .iter()
                        .filter(|f| Path::new(&f.path).starts_with(dir))
                        .map(|f| f.path.clone()),
                );
            }
        }
        let mut kept: Vec<Kept> = needed
            .into_iter()
            .map(|(what, imported_by)| Kept { what, imported_by })
            .collect();
        kept.sort();
        (chosen, kept, None)
    }

    fn build_tools(&mut self) -> (Vec<String>, Vec<Kept>, Option<String>) {
        let words: Vec<&str> = BUILD_TOOL_MODULES
            .iter()
            .flat_map(|(_, m)| m.iter().copied())
            .chain(["ensurepip"])
            .collect();
        // Which tool (or ensurepip) a file belongs to.
        let tool_of = |f: &FileInfo| -> Option<&'static str> {
            let first = f.rel.split('/').next().unwrap_or("");
            if f.stdlib {
                return (first == "ensurepip").then_some("ensurepip");
            }
            if f.base.is_empty() {
                // A venv's bin/pip, bin/pip3.11, bin/wheel.
                let name = f.path.rsplit('/').next().unwrap_or("");
                let in_bin = f.path.rsplit('/').nth(1) == Some("bin");
                return (in_bin && (name.starts_with("pip") || name == "wheel"))
                    .then(|| if name == "wheel" { "wheel" } else { "pip" });
            }
            for (tool, modules) in BUILD_TOOL_MODULES {
                if modules.contains(&first)
                    || first
                        .strip_suffix(".dist-info")
                        .and_then(|d| d.split('-').next())
                        .is_some_and(|n| n.eq_ignore_ascii_case(tool))
                    || (*tool == "setuptools" && first == "distutils-precedence.pth")
                {
                    return Some(tool);
                }
            }
            None
        };
        let importers = self.importers_of(&words, &|f| tool_of(f).is_some());
        let mut kept = Vec::new();
        let mut needed: BTreeSet<&str> = BTreeSet::new();
        for tool in BUILD_TOOLS.iter().copied().chain(["ensurepip"]) {
            let modules: &[&str] = BUILD_TOOL_MODULES
                .iter()
                .find(|(t, _)| *t == tool)
                .map_or(&["ensurepip"], |(_, m)| m);
            let by = importers.iter().find_map(|&i| {
                let f = &self.files[i];
                let imports = self.parsed.get(&f.path)?;
                imports
                    .modules
                    .iter()
                    .any(|n| {
                        modules
                            .iter()
                            .any(|m| n == m || n.starts_with(&format!("{m}.")))
                    })
                    .then(|| f.path.clone())
            });
            if let Some(by) = by {
                needed.insert(tool);
                kept.push(Kept {
                    what: tool.to_string(),
                    imported_by: by,
                });
            }
        }
        let chosen = self
            .files
            .iter()
            .filter(|f| tool_of(f).is_some_and(|t| !needed.contains(t)))
            .map(|f| f.path.clone())
            .collect();
        (chosen, kept, None)
    }

    fn unused_stdlib(
        &mut self,
        traces: &[crate::trace::Trace],
        evidence: &mut Evidence,
    ) -> (Vec<String>, Vec<Kept>, Option<String>) {
        let outside: Vec<usize> = (0..self.files.len())
            .filter(|&i| !self.files[i].stdlib && self.files[i].source)
            .collect();
        if outside.is_empty() && traces.is_empty() {
            return (
                Vec::new(),
                Vec::new(),
                Some(
                    "no evidence: the layer holds no Python code outside the standard library \
                     and no --trace was given (add the application's code as a PATH, or trace it)"
                        .into(),
                ),
            );
        }
        // The standard library's modules: name -> its files.
        let mut by_module: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, f) in self.files.iter().enumerate() {
            if let (true, Some(m)) = (f.stdlib, &f.module) {
                by_module.entry(m.clone()).or_default().push(i);
            }
        }
        let mut reached: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = STARTUP.iter().map(|s| s.to_string()).collect();
        // Codecs are imported by name (`encodings.search_function`), and
        // `sysconfig` imports its `_sysconfigdata_*` module by a computed
        // name: kept whole.
        todo.extend(
            by_module
                .keys()
                .filter(|m| m.starts_with("encodings.") || m.starts_with("_sysconfigdata"))
                .cloned(),
        );
        self.parse(&outside);
        for &i in &outside {
            if let Some(imp) = self.parsed.get(&self.files[i].path) {
                todo.extend(imp.modules.iter().cloned());
            }
        }
        for t in traces {
            for o in t.objects.iter().chain(&t.files) {
                if let Some(i) = self.files.iter().position(|f| f.path == o.path)
                    && let (true, Some(m)) = (self.files[i].stdlib, &self.files[i].module)
                {
                    todo.push(m.clone());
                }
            }
        }
        while !todo.is_empty() {
            let mut next_files = Vec::new();
            for m in std::mem::take(&mut todo) {
                // A module's packages are imported before it.
                let mut name = m.as_str();
                loop {
                    if by_module.contains_key(name) && reached.insert(name.to_string()) {
                        next_files.extend(by_module[name].iter().copied());
                    }
                    match name.rsplit_once('.') {
                        Some((parent, _)) => name = parent,
                        None => break,
                    }
                }
            }
            self.parse(&next_files);
            for i in next_files {
                if let Some(imp) = self.parsed.get(&self.files[i].path) {
                    todo.extend(imp.modules.iter().cloned());
                }
            }
        }
        evidence.stdlib_modules_reached = Some(reached.len());
        let chosen = self
            .files
            .iter()
            .filter(|f| f.stdlib)
            .filter(|f| f.module.as_ref().is_some_and(|m| !reached.contains(m)))
            .map(|f| f.path.clone())
            .collect();
        (chosen, Vec::new(), None)
    }
}

/// The module a file below a base is, or belongs to: `a/b.py` and
/// `a/__pycache__/b.cpython-311.pyc` are `a.b`, `a/__init__.py` is `a`,
/// `a/_c.cpython-311-x86_64-linux-gnu.so` is `a._c`, a data file `a/x.txt`
/// belongs to `a`. `None` at the top of the base for what is no module.
fn module_name(rel: &str) -> Option<String> {
    let mut comps: Vec<&str> = rel.split('/').collect();
    let file = comps.pop()?;
    if comps.last() == Some(&"__pycache__") {
        comps.pop();
    }
    let stem = match file.split_once('.') {
        Some((stem, rest))
            if rest == "py"
                || rest.ends_with("pyc")
                || (rest.ends_with("so") && !rest.contains('/')) =>
        {
            Some(stem)
        }
        _ => None,
    };
    match stem {
        Some("__init__") | None => {}
        Some(s) => comps.push(s),
    }
    if comps.is_empty() || !comps.iter().all(|c| is_identifier(c)) {
        return None;
    }
    Some(comps.join("."))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// A Python source of the builder, at most 4 MiB.
fn read_source(builder: &Root, path: &str) -> Option<String> {
    let r = builder.resolve(Path::new(path)).ok()??;
    let bytes = builder.read(&r, 4 << 20).ok()??;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

impl PythonLayer {
    /// Take `gone` out of the parts, their counts and the directories
    /// copied whole.
    fn remove(&mut self, gone: &BTreeSet<String>) {
        if gone.is_empty() {
            return;
        }
        for part in &mut self.parts {
            part.items.retain(|i| !gone.contains(&i.path));
            let (files, links, bytes) = super::layer::count(&part.items);
            part.files = files;
            part.links = links;
            part.bytes = bytes;
        }
        self.files = self.parts.iter().map(|p| p.files).sum();
        self.links = self.parts.iter().map(|p| p.links).sum();
        self.bytes = self.parts.iter().map(|p| p.bytes).sum();
        self.trees
            .retain(|t| !gone.iter().any(|g| Path::new(g).starts_with(t)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert_eq!(
            module_name("json/decoder.py").as_deref(),
            Some("json.decoder")
        );
        assert_eq!(module_name("json/__init__.py").as_deref(), Some("json"));
        assert_eq!(
            module_name("json/__pycache__/decoder.cpython-311.pyc").as_deref(),
            Some("json.decoder")
        );
        assert_eq!(
            module_name("nis.cpython-311-x86_64-linux-gnu.so").as_deref(),
            Some("nis")
        );
        assert_eq!(
            module_name("lib2to3/Grammar.txt").as_deref(),
            Some("lib2to3")
        );
        assert_eq!(module_name("LICENSE.txt"), None);
        assert_eq!(module_name("numpy-1.26.dist-info/RECORD"), None);
    }
}
