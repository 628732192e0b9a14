//! The search for installations: interpreter names gathered from the venv
//! walk and the usual `bin` directories, grouped by the file they lead to,
//! each group's version, prefix and directories filled in, every problem
//! met on the way kept.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::elf::consts::{ET_DYN, ET_EXEC};
use crate::elf::{self, ReadAt};
use crate::findings::{Problem, strip_path};
use crate::rootfs;
use crate::rootfs::{FileId, Kind, Resolved, Root, RootError};

use super::names::{libpython_version, python_name};
use super::{Installation, Inventory, Venv, join, parent, utf8};

/// `pyvenv.cfg` and `.pth` files are a few lines; anything bigger is not
/// one, or is hostile, and only its beginning is read.
pub(super) const MAX_SMALL_FILE: usize = 64 * 1024;
/// `/etc/passwd` of an image with many users is still far below this.
const MAX_PASSWD: usize = 1024 * 1024;

/// The parts of a pyvenv.cfg that matter.
pub(super) struct VenvCfg {
    pub(super) home: Option<String>,
    pub(super) version: Option<String>,
    pub(super) system_site: bool,
}

/// What one interpreter file is known by while discovery runs.
#[derive(Default)]
pub(super) struct Group {
    /// Canonical paths (more than one only for hard links).
    files: BTreeSet<String>,
    names: BTreeSet<String>,
    links: BTreeSet<String>,
    needed: Vec<String>,
}

/// One search of a root, and what it met that it could not use.
pub(super) struct Discovery<'a> {
    pub(super) root: &'a Root,
    problems: Vec<Problem>,
    /// Canonical path -> DT_NEEDED when it is an ELF executable.
    elf_cache: BTreeMap<String, Option<Vec<String>>>,
}

impl<'a> Discovery<'a> {
    pub(super) fn new(root: &'a Root) -> Self {
        Discovery {
            root,
            problems: Vec::new(),
            elf_cache: BTreeMap::new(),
        }
    }

    pub(super) fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(super) fn run(&mut self) -> Inventory {
        let walked = self.walk();
        let mut name_candidates: BTreeSet<String> = walked.bin_names.into_iter().collect();
        for dir in ["/usr/bin", "/usr/local/bin"] {
            for n in self.list_dir(dir) {
                if python_name(&n).is_some() {
                    name_candidates.insert(join(dir, &n));
                }
            }
        }

        // Venvs first: their bin/ names join the candidates.
        let mut venv_cfgs: Vec<(String, VenvCfg)> = Vec::new();
        for cfg_path in walked.cfgs {
            let Some(venv_root) = parent(&cfg_path) else {
                continue;
            };
            let cfg = self.read_venv_cfg(&cfg_path);
            let bin = join(&venv_root, "bin");
            for n in self.list_dir(&bin) {
                if python_name(&n).is_some() {
                    name_candidates.insert(join(&bin, &n));
                }
            }
            venv_cfgs.push((venv_root, cfg));
        }

        let mut groups: BTreeMap<FileId, Group> = BTreeMap::new();
        for name in &name_candidates {
            self.add_name(&mut groups, name, true);
        }

        // Which group each venv runs, by its bin/ names or else its home.
        let venv_ids: Vec<Option<FileId>> = venv_cfgs
            .iter()
            .map(|(venv_root, cfg)| {
                self.venv_interpreter(&mut groups, &name_candidates, venv_root, cfg)
            })
            .collect();

        let homes = self.user_homes();
        let mut installations = Vec::new();
        let mut canonical_of: BTreeMap<FileId, String> = BTreeMap::new();
        for (id, g) in &groups {
            canonical_of.insert(*id, pick_canonical(&g.files));
        }
        let mut venvs: Vec<Venv> = Vec::new();
        for ((venv_root, cfg), id) in venv_cfgs.iter().zip(&venv_ids) {
            let interpreter = id.and_then(|id| canonical_of.get(&id).cloned());
            let version = cfg.version.clone().or_else(|| {
                id.and_then(|id| groups.get(&id))
                    .and_then(|g| self.version_of(g, &[]))
            });
            let site_packages = self.venv_site_packages(venv_root, version.as_deref());
            venvs.push(Venv {
                root: venv_root.clone(),
                home: cfg.home.clone(),
                version,
                site_packages,
                interpreter,
                system_site_packages: cfg.system_site,
            });
        }

        for (id, g) in &groups {
            let interpreter = canonical_of.get(id).cloned().unwrap_or_default();
            let mine: Vec<&Venv> = venvs
                .iter()
                .zip(&venv_ids)
                .filter(|(_, vid)| **vid == Some(*id))
                .map(|(v, _)| v)
                .collect();
            let cfg_versions: Vec<String> = mine.iter().filter_map(|v| v.version.clone()).collect();
            let prefix = self.prefix_of(&interpreter, &venvs, &venv_cfgs);
            let version = self
                .version_of(g, &cfg_versions)
                .or_else(|| self.version_from_stdlib(&prefix))
                .unwrap_or_default();
            if version.is_empty() {
                self.problem(
                    interpreter.clone(),
                    "Python version unknown: no python3.X name, pyvenv.cfg version, libpython or stdlib tells it",
                );
            }
            let mut links: BTreeSet<String> = g.links.clone();
            links.extend(g.files.iter().filter(|f| **f != interpreter).cloned());
            let mut inst = Installation {
                interpreter,
                names: g.names.iter().cloned().collect(),
                version,
                prefix,
                libpython: Vec::new(),
                stdlib: None,
                lib_dynload: None,
                site_dirs: Vec::new(),
                links: Vec::new(),
            };
            if !inst.version.is_empty() {
                self.fill_dirs(&mut inst, &mine, &homes, &mut links);
            }
            inst.links = links.into_iter().collect();
            installations.push(inst);
        }
        installations.sort_by(|a, b| a.interpreter.cmp(&b.interpreter));
        venvs.sort_by(|a, b| a.root.cmp(&b.root));
        let mut problems = std::mem::take(&mut self.problems);
        problems.sort();
        problems.dedup();
        Inventory {
            installations,
            venvs,
            problems,
        }
    }

    /// Resolve `name` and, when it leads to an ELF executable, record it
    /// in the group of that file. `quiet` keeps a dangling name (a venv
    /// built elsewhere, a broken alternative) out of the problems: the
    /// venv check reports what matters.
    pub(super) fn add_name(
        &mut self,
        groups: &mut BTreeMap<FileId, Group>,
        name: &str,
        quiet: bool,
    ) -> Option<FileId> {
        let r = match self.root.resolve(Path::new(name)) {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => {
                if !quiet || matches!(e, RootError::Loop { .. }) {
                    self.problem(name, strip_path(&e.to_string(), name));
                }
                return None;
            }
        };
        let path = utf8(&r.path)?;
        let needed = self.elf_executable(&r, &path)?;
        let links = match rootfs::symlink_chain(self.root, Path::new(name)) {
            Ok(chain) => chain
                .into_iter()
                .filter_map(|(l, _)| l.to_str().map(str::to_string))
                .collect(),
            Err(_) => Vec::new(),
        };
        let g = groups.entry(r.id).or_default();
        g.files.insert(path);
        g.names.insert(name.to_string());
        g.links.extend(links);
        if g.needed.is_empty() {
            g.needed = needed;
        }
        Some(r.id)
    }

    /// The group a name already found leads to.
    pub(super) fn interpreter_id(
        &self,
        groups: &BTreeMap<FileId, Group>,
        name: &str,
    ) -> Option<FileId> {
        groups
            .iter()
            .find(|(_, g)| g.names.contains(name))
            .map(|(id, _)| *id)
    }

    /// DT_NEEDED of `r` when it is an ELF executable (or PIE), else None.
    fn elf_executable(&mut self, r: &Resolved, path: &str) -> Option<Vec<String>> {
        if let Some(known) = self.elf_cache.get(path) {
            return known.clone();
        }
        let got = if r.kind == Kind::Regular {
            self.root.open(r).ok().and_then(|f| {
                if !elf::has_elf_magic(&f).unwrap_or(false) {
                    return None;
                }
                match elf::read_facts(&f) {
                    // A PIE interpreter is ET_DYN.
                    Ok(facts) if facts.e_type == ET_EXEC || facts.e_type == ET_DYN => {
                        Some(facts.needed)
                    }
                    Ok(_) => None,
                    Err(e) => {
                        self.problem(path, format!("looks like an interpreter but: {e}"));
                        None
                    }
                }
            })
        } else {
            None
        };
        self.elf_cache.insert(path.to_string(), got.clone());
        got
    }

    /// At most [`MAX_SMALL_FILE`] bytes of a file in the root (a problem is
    /// noted when there was more); None when it cannot be read.
    pub(super) fn read_head(&mut self, path: &str) -> Option<Vec<u8>> {
        let r = match self.root.resolve(Path::new(path)) {
            Ok(Some(r)) if r.kind == Kind::Regular => r,
            Ok(_) => return None,
            Err(e) => {
                self.problem(path, strip_path(&e.to_string(), path));
                return None;
            }
        };
        match read_prefix(self.root, &r, MAX_SMALL_FILE) {
            Ok((bytes, truncated)) => {
                if truncated {
                    self.problem(
                        path,
                        format!("larger than {MAX_SMALL_FILE} bytes; only its beginning was read"),
                    );
                }
                Some(bytes)
            }
            Err(e) => {
                self.problem(path, strip_path(&e.to_string(), path));
                None
            }
        }
    }

    /// Names in a directory of the root, sorted ([`super::list_dir`]).
    pub(super) fn list_dir(&self, dir: &str) -> Vec<String> {
        super::list_dir(self.root, dir)
    }

    /// Canonical path of `path` when it is a directory of the root.
    pub(super) fn dir(&self, path: &str) -> Option<String> {
        match self.root.resolve(Path::new(path)) {
            Ok(Some(r)) if r.kind == Kind::Directory => utf8(&r.path),
            _ => None,
        }
    }

    /// Like [`Self::dir`], recording the symlinks on the way in `links`.
    pub(super) fn dir_linked(&self, path: &str, links: &mut BTreeSet<String>) -> Option<String> {
        let found = self.dir(path)?;
        if found != path
            && let Ok(chain) = rootfs::symlink_chain(self.root, Path::new(path))
        {
            links.extend(
                chain
                    .into_iter()
                    .filter_map(|(l, _)| l.to_str().map(str::to_string)),
            );
        }
        Some(found)
    }

    /// Users and their home directories: /etc/passwd, /root, /home/*.
    fn user_homes(&mut self) -> BTreeMap<String, String> {
        let mut homes: BTreeMap<String, String> = BTreeMap::new();
        let passwd = match self.root.resolve(Path::new("/etc/passwd")) {
            Ok(Some(r)) if r.kind == Kind::Regular => read_prefix(self.root, &r, MAX_PASSWD)
                .map(|(b, _)| b)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for line in String::from_utf8_lossy(&passwd).lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if let (Some(user), Some(home)) = (fields.first(), fields.get(5))
                && home.starts_with('/')
                && *home != "/"
                && !user.is_empty()
            {
                homes
                    .entry((*home).to_string())
                    .or_insert_with(|| (*user).to_string());
            }
        }
        homes
            .entry("/root".to_string())
            .or_insert_with(|| "root".to_string());
        for n in self.list_dir("/home") {
            homes.entry(join("/home", &n)).or_insert(n);
        }
        homes
    }

    /// Version of an interpreter: from its file names, then from what its
    /// venvs say, then from the libpython it links.
    fn version_of(&self, g: &Group, cfg_versions: &[String]) -> Option<String> {
        let by_name = |p: &String| {
            Path::new(p)
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(python_name)
                .flatten()
        };
        g.files
            .iter()
            .find_map(by_name)
            .or_else(|| g.names.iter().find_map(by_name))
            .or_else(|| cfg_versions.first().cloned())
            .or_else(|| g.needed.iter().find_map(|n| libpython_version(n)))
    }

    pub(super) fn is_file(&self, path: &str) -> bool {
        matches!(self.root.resolve(Path::new(path)), Ok(Some(r)) if r.kind == Kind::Regular)
    }
}

/// Among hard links of one file, the path named like `python3.11`, else
/// the shortest, else the first.
fn pick_canonical(files: &BTreeSet<String>) -> String {
    let versioned = |p: &&String| {
        Path::new(p.as_str())
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(python_name)
            .flatten()
            .is_some()
    };
    files
        .iter()
        .filter(versioned)
        .min_by_key(|p| (p.len(), p.as_str()))
        .or_else(|| files.iter().min_by_key(|p| (p.len(), p.as_str())))
        .cloned()
        .unwrap_or_default()
}

/// At most `max` bytes from the start of a resolved regular file, and
/// whether there was more.
fn read_prefix(root: &Root, r: &Resolved, max: usize) -> Result<(Vec<u8>, bool), RootError> {
    let f = root.open(r)?;
    let want = usize::try_from(f.size).unwrap_or(usize::MAX).min(max);
    let mut buf = vec![0u8; want];
    let mut got = 0;
    while got < want {
        let n = f
            .read_at(&mut buf[got..], got as u64)
            .map_err(|source| RootError::Io {
                path: r.path.clone(),
                source,
            })?;
        if n == 0 {
            break;
        }
        got += n;
    }
    buf.truncate(got);
    Ok((buf, f.size > max as u64))
}
