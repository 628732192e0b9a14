//! Virtual environments: the bounded walk of the root for `pyvenv.cfg`
//! files and `bin/python*` names, what a `pyvenv.cfg` says (as
//! `getpath.py` and `site.venv()` read it), which interpreter a venv runs
//! and where its `site-packages` is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::rootfs::FileId;

use super::discovery::{Discovery, Group, VenvCfg};
use super::mountinfo::pseudo_mounts;
use super::names::{major_minor, python_name};
use super::{join, parent};

/// Venvs and interpreters sit a few levels down (`/home/u/src/app/.venv`,
/// `/root/.pyenv/versions/3.11.7/bin`); deeper trees (node_modules,
/// source checkouts) are not worth the walk.
const MAX_DEPTH: usize = 12;
/// An image has some 10⁴–10⁵ entries; a live system with a big /home can
/// have far more, and the walk must end.
const MAX_ENTRIES: usize = 2_000_000;
/// A live system can deny thousands of directories; the first few say why.
const MAX_WALK_PROBLEMS: usize = 50;

/// What the walk found: every `pyvenv.cfg` and every `bin/python*` name.
pub(super) struct Walked {
    pub(super) cfgs: Vec<String>,
    pub(super) bin_names: Vec<String>,
}

/// What the venv walk finds.
enum Finding {
    Cfg(String),
    Python(String),
    NotUtf8(String),
    /// A directory that could not be listed, and why.
    Unreadable(String, String),
}

/// The venv walk: bounded in depth and in entries, never into pseudo
/// filesystems or site trees.
struct VenvFinder<'a> {
    host_root: &'a Path,
    pseudo_mounts: BTreeSet<PathBuf>,
    /// Entries met (the root is one); past [`MAX_ENTRIES`] the walk stops.
    entries: AtomicUsize,
}

impl VenvFinder<'_> {
    /// Counts one entry; false once past the bound.
    fn count(&self) -> bool {
        self.entries.fetch_add(1, Ordering::Relaxed) < MAX_ENTRIES
    }

    fn candidate(&self, entry: &crate::walk::Entry<'_>) -> Option<Finding> {
        if !self.count() {
            return None;
        }
        let name = entry.name.to_bytes();
        let is_cfg = name == b"pyvenv.cfg";
        let in_bin = entry.dir.file_name().is_some_and(|n| n == "bin");
        let is_python = in_bin
            && std::str::from_utf8(name)
                .ok()
                .and_then(python_name)
                .is_some();
        if !is_cfg && !is_python {
            return None;
        }
        let path = entry.path();
        let Some(text) = path.to_str() else {
            return Some(Finding::NotUtf8(path.to_string_lossy().into_owned()));
        };
        Some(if is_cfg {
            Finding::Cfg(text.to_string())
        } else {
            Finding::Python(text.to_string())
        })
    }
}

impl crate::walk::Visit for VenvFinder<'_> {
    type Out = Finding;

    fn enter(&self, path: &Path, depth: usize) -> bool {
        if depth == 0 {
            return true;
        }
        // A directory at MAX_DEPTH is an entry, but not entered.
        if !self.count() || depth >= MAX_DEPTH {
            return false;
        }
        let Some(name) = path.file_name() else {
            return true;
        };
        if depth == 1 && crate::walk::PSEUDO_TOP.iter().any(|p| name == *p) {
            return false;
        }
        // Site trees hold packages, not venvs; `.git` and `__pycache__`
        // hold neither.
        if name == "site-packages"
            || name == "dist-packages"
            || name == "__pycache__"
            || name == ".git"
        {
            return false;
        }
        self.pseudo_mounts.is_empty()
            || !self
                .pseudo_mounts
                .contains(&self.host_root.join(path.strip_prefix("/").unwrap_or(path)))
    }

    fn file(&self, entry: &crate::walk::Entry<'_>) -> Option<Finding> {
        self.candidate(entry)
    }

    fn other(&self, entry: &crate::walk::Entry<'_>, _d_type: u8) -> Option<Finding> {
        self.candidate(entry)
    }

    fn error(&self, path: &Path, error: std::io::Error) -> Option<Finding> {
        Some(Finding::Unreadable(
            path.to_string_lossy().into_owned(),
            error.to_string(),
        ))
    }
}

impl Discovery<'_> {
    /// One walk of the whole root for `pyvenv.cfg` files and `bin/python*`
    /// entries, bounded, without entering pseudo filesystems or site trees.
    /// Directories are listed on every core ([`crate::walk`]), the results
    /// come back in the order of a serial walk.
    pub(super) fn walk(&mut self) -> Walked {
        let host_root = self.root.host_dir().to_path_buf();
        let finder = VenvFinder {
            pseudo_mounts: pseudo_mounts(&host_root),
            host_root: &host_root,
            entries: AtomicUsize::new(1),
        };
        let found = crate::walk::walk(&host_root, &[PathBuf::from("/")], &finder);
        let mut out = Walked {
            cfgs: Vec::new(),
            bin_names: Vec::new(),
        };
        let mut walk_problems = 0usize;
        for f in found {
            match f {
                Finding::Cfg(path) => out.cfgs.push(path),
                Finding::Python(path) => out.bin_names.push(path),
                Finding::NotUtf8(path) => {
                    self.problem(path, "path is not valid UTF-8; not examined");
                }
                Finding::Unreadable(path, message) => {
                    walk_problems += 1;
                    if walk_problems <= MAX_WALK_PROBLEMS {
                        self.problem(path, format!("not searched for venvs: {message}"));
                    }
                }
            }
        }
        if finder.entries.into_inner() > MAX_ENTRIES {
            self.problem(
                "/",
                format!("stopped looking for venvs and interpreters after {MAX_ENTRIES} entries"),
            );
        }
        if walk_problems > MAX_WALK_PROBLEMS {
            self.problem(
                "/",
                format!(
                    "{} more directories could not be searched for venvs",
                    walk_problems - MAX_WALK_PROBLEMS
                ),
            );
        }
        out.cfgs.sort();
        out.bin_names.sort();
        out
    }

    /// Which interpreter group a venv runs: one its `bin/` names lead to,
    /// else one its `home` leads to.
    pub(super) fn venv_interpreter(
        &mut self,
        groups: &mut BTreeMap<FileId, Group>,
        name_candidates: &BTreeSet<String>,
        venv_root: &str,
        cfg: &VenvCfg,
    ) -> Option<FileId> {
        let bin = join(venv_root, "bin");
        let mut tried: Vec<String> = ["python", "python3"]
            .iter()
            .map(|n| join(&bin, n))
            .collect();
        if let Some(v) = &cfg.version {
            tried.push(join(&bin, &format!("python{v}")));
        }
        tried.extend(
            name_candidates
                .iter()
                .filter(|n| parent(n).as_deref() == Some(bin.as_str()))
                .cloned(),
        );
        let mut id = tried.iter().find_map(|n| self.interpreter_id(groups, n));
        if id.is_none()
            && let Some(home) = &cfg.home
        {
            let mut from_home: Vec<String> = Vec::new();
            if let Some(v) = &cfg.version {
                from_home.push(join(home, &format!("python{v}")));
            }
            from_home.push(join(home, "python3"));
            from_home.push(join(home, "python"));
            for n in from_home {
                if let Some(found) = self.add_name(groups, &n, false) {
                    id = Some(found);
                    break;
                }
            }
        }
        if id.is_none() {
            self.problem(
                venv_root,
                "no interpreter of this venv is in the root (bin/python and home lead nowhere)",
            );
        }
        id
    }

    pub(super) fn read_venv_cfg(&mut self, cfg_path: &str) -> VenvCfg {
        let mut cfg = VenvCfg {
            home: None,
            version: None,
            system_site: false,
        };
        let Some(bytes) = self.read_head(cfg_path) else {
            return cfg;
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut version_info = None;
        // getpath.py and site.venv(): `key = value`, key stripped and
        // lowercased, the last occurrence wins.
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "home" => cfg.home = Some(value.to_string()),
                "include-system-site-packages" => {
                    cfg.system_site = value.eq_ignore_ascii_case("true")
                }
                // venv writes `version`, virtualenv and uv `version_info`.
                "version" => cfg.version = major_minor(value),
                "version_info" => version_info = major_minor(value),
                _ => {}
            }
        }
        if cfg.version.is_none() {
            cfg.version = version_info;
        }
        cfg
    }

    pub(super) fn venv_site_packages(
        &self,
        venv_root: &str,
        version: Option<&str>,
    ) -> Option<String> {
        if let Some(v) = version {
            for lib in ["lib", "lib64"] {
                let p = join(venv_root, &format!("{lib}/python{v}/site-packages"));
                if let Some(d) = self.dir(&p) {
                    return Some(d);
                }
            }
        }
        // No version known: the one python*/site-packages there is.
        let lib = join(venv_root, "lib");
        self.list_dir(&lib)
            .into_iter()
            .filter(|n| n.starts_with("python"))
            .find_map(|n| self.dir(&join(&lib, &format!("{n}/site-packages"))))
    }
}
