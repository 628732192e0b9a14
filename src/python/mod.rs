//! Every Python installation of a root, found without running anything:
//! interpreters, their `libpython`, standard library, `lib-dynload` and
//! site directories (system, Debian's local, user sites, virtual
//! environments, directories added by `.pth` files). Together they are the
//! default scope of a scan: what a Python application copied into a
//! distroless image brings along.
//!
//! Where CPython decides something (which site directories exist, how a
//! `.pth` line becomes a path, how a venv is recognised), the rule followed
//! is that of CPython 3.11's `Lib/site.py` and `Modules/getpath.py`, with
//! Debian's changes to `site.py` (`dist-packages`).
//!
//! [`discover`] finds them (`discovery` drives the search, `venv` walks
//! the root for virtual environments, `site` applies CPython's path
//! rules); [`module::module_of`] tells which Python module an extension
//! file is. [`image_checks::check`] holds the installations against the
//! final image (venv links, scripts' `#!`, `.pth` directories, the
//! standard library where CPython's `getpath` looks for it); [`shebang`]
//! reads and rewrites a script's `#!`.

pub mod abi;
mod discovery;
mod getpath;
pub mod image_checks;
pub mod imports;
pub mod module;
mod mountinfo;
mod names;
pub mod shebang;
mod site;
mod venv;

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::findings::Problem;
use crate::rootfs::Root;

/// Every Python installation and virtual environment of a root.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Inventory {
    /// One per interpreter file (sorted by its path).
    pub installations: Vec<Installation>,
    /// Every directory with a `pyvenv.cfg` (sorted by root).
    pub venvs: Vec<Venv>,
    /// What could not be used, and why; discovery went on without it.
    pub problems: Vec<Problem>,
}

/// One interpreter file and everything it loads from.
#[derive(Clone, Debug, Serialize)]
pub struct Installation {
    /// Canonical path of the interpreter in the root.
    pub interpreter: String,
    /// Every path found that leads to it, itself included: `/usr/bin/python3`,
    /// a venv's `bin/python`… (sorted).
    pub names: Vec<String>,
    /// `"3.11"`; empty when nothing tells.
    pub version: String,
    /// `sys.base_prefix`: `/usr` for `/usr/bin/python3.11`, or the parent
    /// of a venv's `home` for an interpreter copied into a venv.
    pub prefix: String,
    /// `libpython3.X*.so*` of the prefix: the directory entries (symlinks
    /// included) and the files they lead to (sorted).
    pub libpython: Vec<String>,
    pub stdlib: Option<String>,
    pub lib_dynload: Option<String>,
    /// Existing site directories, canonical (sorted by path).
    pub site_dirs: Vec<SiteDir>,
    /// Other paths the final image needs for the names and directories to
    /// work as they do in the root: the symlinks met on the way to them
    /// (`/usr/bin/python3 -> python3.11`) and hard links of the interpreter
    /// (sorted).
    pub links: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SiteDir {
    pub path: String,
    #[serde(flatten)]
    pub kind: SiteKind,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SiteKind {
    /// A site directory of the interpreter's own prefix
    /// (`/usr/lib/python3/dist-packages`, `PREFIX/lib/python3.X/site-packages`).
    System,
    /// Debian's `/usr/local/lib/python3.X/dist-packages` (where `pip` installs).
    Local,
    /// `~/.local/lib/python3.X/site-packages` of a user.
    User { user: String },
    /// The site directory of the virtual environment at `root`.
    Venv { root: String },
    /// A directory named by the `.pth` file `from`.
    Pth { from: String },
}

/// A directory with a `pyvenv.cfg`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Venv {
    pub root: String,
    /// `home` as written in `pyvenv.cfg`.
    pub home: Option<String>,
    /// `"3.11"`, from `version` / `version_info`, else from the interpreter.
    pub version: Option<String>,
    pub site_packages: Option<String>,
    /// Canonical interpreter its `bin/python` (or `home`) leads to.
    pub interpreter: Option<String>,
    /// `include-system-site-packages = true`.
    pub system_site_packages: bool,
}

impl Inventory {
    /// Paths to scan and to copy (canonical, except the symlinks and hard
    /// links that lead to them, which a copy with symlinks needs too):
    /// deduplicated, none inside another, sorted. A venv is taken whole —
    /// without its `pyvenv.cfg` and `bin/` it is no venv.
    pub fn scope(&self) -> Vec<String> {
        let mut all: BTreeSet<String> = BTreeSet::new();
        for i in &self.installations {
            all.insert(i.interpreter.clone());
            all.extend(i.names.iter().cloned());
            all.extend(i.links.iter().cloned());
            all.extend(i.libpython.iter().cloned());
            all.extend(i.stdlib.iter().cloned());
            all.extend(i.lib_dynload.iter().cloned());
            all.extend(i.site_dirs.iter().map(|s| s.path.clone()));
        }
        for v in &self.venvs {
            if v.root == "/" {
                // A venv at `/` would swallow the whole root.
                all.extend(v.site_packages.iter().cloned());
                all.insert("/pyvenv.cfg".to_string());
            } else {
                all.insert(v.root.clone());
            }
        }
        outermost(all)
    }
}

/// Keep only paths not below another one of the set.
fn outermost(all: BTreeSet<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Sorted order puts `/a` before `/a/b`, but also `/a-b` between them,
    // so every kept path is checked, not just the last.
    for p in all {
        if !out.iter().any(|o| is_within(&p, o)) {
            out.push(p);
        }
    }
    out
}

/// Whether `path` is `dir` or below it, by components.
fn is_within(path: &str, dir: &str) -> bool {
    Path::new(path).starts_with(Path::new(dir))
}

/// Find every Python installation and venv of `root`.
pub fn discover(root: &Root) -> Inventory {
    discovery::Discovery::new(root).run()
}

/// Names in a directory of the root (symlinks to directories followed
/// inside the root), sorted; UTF-8 names only.
fn list_dir(root: &Root, dir: &str) -> Vec<String> {
    let Ok(Some(r)) = root.resolve(Path::new(dir)) else {
        return Vec::new();
    };
    if r.kind != crate::rootfs::Kind::Directory {
        return Vec::new();
    }
    let Ok(rd) = std::fs::read_dir(root.host_path(&r.path)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

fn join(dir: &str, name: &str) -> String {
    Path::new(dir).join(name).to_string_lossy().into_owned()
}

fn parent(path: &str) -> Option<String> {
    Path::new(path)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
}

fn utf8(p: &Path) -> Option<String> {
    p.to_str().map(str::to_string)
}

#[cfg(test)]
mod tests;
