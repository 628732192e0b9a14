//! The Python installations of the scope, checked in the final image:
//! what makes Python fail in a distroless image although every library
//! loads. Each finding names the file, what is wrong and the fix.
//!
//! - a venv's `bin/python*` links lead to a file the image has, its
//!   `pyvenv.cfg` `home` holds a Python, and the Python it runs there is
//!   the venv's version;
//! - every executable script with a `#!` line in a venv's `bin/` (and in
//!   the `bin/` that `pip install --target` puts in a site directory)
//!   names an interpreter the image has (through `env` and the image's
//!   `PATH`, and through pip's `/bin/sh` launcher for long paths);
//! - every directory a `.pth` file of a site directory adds, that the
//!   builder has, the image has too;
//! - every interpreter finds its standard library and `lib-dynload` in
//!   the image, by CPython's own search (`getpath.rs`).
//!
//! Only what the image gets from the builder is judged (a venv whose
//! `pyvenv.cfg`, a script or a `.pth` file that is copied; an interpreter
//! that is copied): the base's own files are the base's business. What
//! fails in the builder alike (a script naming the interpreter of the
//! machine that ran `pip install --target`) is reported with the same
//! fix, marked `in_builder_too`: it is no failure of the image.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::image::FinalImage;
use crate::rootfs::{self, Kind, Node, Root, Tree};

use super::getpath::{Found, Landmarks};
use super::names::python_name;
use super::shebang::{self, Launch};
use super::{Installation, Inventory, SiteKind, Venv, is_within, join, list_dir, parent};

/// The `PATH` of distroless images: where `#!/usr/bin/env NAME` finds NAME.
pub const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The start of a script that is read: its `#!` line and a launcher's
/// second line.
const HEAD: usize = 4096;

/// Which check a finding comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A venv's `bin/python*` leads to no file of the image.
    VenvInterpreter,
    /// A venv's `pyvenv.cfg` `home` holds no Python in the image.
    VenvHome,
    /// The Python a venv runs in the image is not the venv's version.
    VenvVersion,
    /// A script's `#!` names an interpreter the image lacks.
    Shebang,
    /// A `.pth` file adds a directory the builder has and the image lacks.
    Pth,
    /// An interpreter does not find its standard library or
    /// `lib-dynload` in the image.
    Prefix,
}

impl Check {
    /// The stable name of the check in CI annotations.
    pub fn name(self) -> &'static str {
        match self {
            Check::VenvInterpreter => "python-venv-interpreter",
            Check::VenvHome => "python-venv-home",
            Check::VenvVersion => "python-venv-version",
            Check::Shebang => "python-shebang",
            Check::Pth => "python-pth",
            Check::Prefix => "python-prefix",
        }
    }

    /// What fails, in a few words.
    pub fn title(self) -> &'static str {
        match self {
            Check::VenvInterpreter => "the venv's interpreter is missing",
            Check::VenvHome => "the venv's home holds no Python",
            Check::VenvVersion => "the venv runs another Python version",
            Check::Shebang => "the script's interpreter is missing",
            Check::Pth => "a directory a .pth file adds is missing",
            Check::Prefix => "the standard library is not found",
        }
    }
}

/// One way the final image breaks a Python installation of the scope.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PythonFinding {
    /// The file of the image that is wrong: a venv's `bin/python`, its
    /// `pyvenv.cfg`, a script, a `.pth` file, an interpreter.
    pub path: String,
    pub check: Check,
    /// What is wrong, and what Python does about it.
    pub problem: String,
    /// How to fix it, as a sentence.
    pub fix: String,
    /// The builder has the same problem (a script whose interpreter it
    /// lacks too, a venv made elsewhere): reported, but no failure of the
    /// image.
    pub in_builder_too: bool,
    /// For a script: the interpreter of the image that
    /// `--rewrite-shebangs` writes into its `#!` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<String>,
}

/// Every finding of `inv`'s installations in `image`, sorted; `builder`
/// is the root they come from.
pub fn check(inv: &Inventory, image: &FinalImage, builder: &Root) -> Vec<PythonFinding> {
    let mut c = Checker {
        inv,
        image,
        builder,
        out: Vec::new(),
        broken_venvs: BTreeSet::new(),
        searched: BTreeSet::new(),
    };
    for v in &inv.venvs {
        c.venv(v);
    }
    c.installations();
    c.scripts();
    c.pth_files();
    c.out.sort();
    c.out.dedup();
    c.out
}

/// What a path is in a tree.
enum Presence {
    /// A regular file, at this canonical path.
    File(String),
    Dir,
    Absent,
    /// Not known (an embedded target's omitted prefix, a loop).
    Unknown,
}

fn presence(tree: &dyn Tree, path: &str) -> Presence {
    match rootfs::resolve(tree, Path::new(path)) {
        Ok(Some(r)) => match r.kind {
            Kind::Regular => Presence::File(r.path.to_string_lossy().into_owned()),
            Kind::Directory => Presence::Dir,
            Kind::Special => Presence::Absent,
        },
        Ok(None) => Presence::Absent,
        Err(_) => Presence::Unknown,
    }
}

/// At most `max` bytes from the start of the regular file at `path`.
fn read_head(tree: &dyn Tree, path: &str, max: usize) -> Option<Vec<u8>> {
    let r = rootfs::resolve(tree, Path::new(path)).ok()??;
    if r.kind != Kind::Regular {
        return None;
    }
    let reader = tree.reader(&r).ok()??;
    let want = usize::try_from(reader.size())
        .unwrap_or(usize::MAX)
        .min(max);
    let mut buf = vec![0u8; want];
    let mut got = 0;
    while got < want {
        match reader.read_at(buf.get_mut(got..)?, got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    buf.truncate(got);
    Some(buf)
}

struct Checker<'a> {
    inv: &'a Inventory,
    image: &'a FinalImage,
    builder: &'a Root,
    out: Vec<PythonFinding>,
    /// Venvs whose `bin/python*` lead nowhere: their scripts' `#!` need
    /// no finding of their own.
    broken_venvs: BTreeSet<String>,
    /// (start directory, version) of every prefix search done.
    searched: BTreeSet<(String, String)>,
}

impl<'a> Checker<'a> {
    fn push(&mut self, path: &str, check: Check, words: (String, String), in_builder_too: bool) {
        let (problem, fix) = words;
        self.out.push(PythonFinding {
            path: path.to_string(),
            check,
            problem,
            fix,
            in_builder_too,
            rewrite: None,
        });
    }

    /// Whether the image has `path` from the builder (the scope or a copy).
    fn copied(&self, path: &str) -> bool {
        self.image.is_from_builder(Path::new(path))
    }

    fn installation(&self, interpreter: &str) -> Option<&'a Installation> {
        let inv: &'a Inventory = self.inv;
        inv.installations
            .iter()
            .find(|i| i.interpreter == interpreter)
    }

    /// The Python version of the file at `real` in the image: its
    /// installation's when it comes from the builder, else its name's.
    fn version_in_image(&self, real: &str) -> Option<String> {
        let by_name = |p: &str| {
            Path::new(p)
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(python_name)
                .flatten()
        };
        match self.image.builder_source(Path::new(real)) {
            Some(src) => {
                let src = src.to_string_lossy();
                self.installation(&src)
                    .map(|i| i.version.clone())
                    .filter(|v| !v.is_empty())
                    .or_else(|| by_name(&src))
            }
            None => by_name(real),
        }
    }

    /// A venv whose `pyvenv.cfg` the image gets: its interpreter links,
    /// version, `home` and prefixes.
    fn venv(&mut self, v: &Venv) {
        let cfg = join(&v.root, "pyvenv.cfg");
        if !self.copied(&cfg) {
            return;
        }
        let bin = join(&v.root, "bin");
        let names: Vec<String> = list_dir(self.builder, &bin)
            .into_iter()
            .filter(|n| python_name(n).is_some())
            .map(|n| join(&bin, &n))
            .filter(|p| matches!(self.image.lstat(Path::new(p)), Ok(Some(_))))
            .collect();
        let mut good: Option<String> = None;
        let mut dangling: Vec<&str> = Vec::new();
        for p in &names {
            match presence(self.image, p) {
                Presence::File(real) => {
                    good.get_or_insert(real);
                }
                Presence::Dir | Presence::Absent => dangling.push(p),
                Presence::Unknown => {}
            }
        }
        if let Some(first) = dangling.first() {
            self.broken_venvs.insert(v.root.clone());
            let words = self.dangling_words(v, first, &dangling);
            let in_builder_too = !matches!(presence(self.builder, first), Presence::File(_));
            self.push(first, Check::VenvInterpreter, words, in_builder_too);
        }
        let Some(real) = good else {
            return;
        };
        if let (Some(want), Some(got)) = (&v.version, self.version_in_image(&real))
            && *want != got
        {
            // The builder's own bin/python runs the same file: as wrong there.
            let in_builder_too = names.iter().any(|n| {
                matches!(presence(self.builder, n), Presence::File(b)
                    if self.image.builder_source(Path::new(&real)).is_some_and(|s| s == Path::new(&b)))
            });
            self.push(
                &cfg,
                Check::VenvVersion,
                (format!(
                    "the venv is for Python {want}, but its bin/python runs {real} in the image, a Python {got}: its site-packages (lib/python{want}) are not on that Python's sys.path and its extension modules are built for another CPython"
                ),
                format!(
                    "recreate the venv in the builder with the Python {got} the image has, or give the image the Python {want} the venv was made with"
                )),
                in_builder_too,
            );
        }
        if dangling.is_empty() {
            self.home(v, &cfg, &real);
        }
        let inst = v.interpreter.as_deref().and_then(|i| self.installation(i));
        // The interpreter searches with its own version, whatever the
        // venv says.
        let version = self
            .version_in_image(&real)
            .or_else(|| v.version.clone())
            .unwrap_or_default();
        // getpath.py starts at `home` when pyvenv.cfg has one.
        let start = v.home.clone().or_else(|| parent(&real)).unwrap_or_default();
        let invoked = names.first().cloned().unwrap_or(real);
        self.prefix(&invoked, &start, &version, inst);
    }

    /// The problem and the fix of a venv whose `dangling` names lead
    /// nowhere in the image.
    fn dangling_words(&self, v: &Venv, first: &str, dangling: &[&str]) -> (String, String) {
        let shown: Vec<&str> = dangling
            .iter()
            .map(|p| {
                p.strip_prefix(v.root.as_str())
                    .unwrap_or(p)
                    .trim_start_matches('/')
            })
            .collect();
        let verb = if dangling.len() == 1 { "leads" } else { "lead" };
        let bin = join(&v.root, "bin");
        let fails = format!(
            "the venv's Python and the scripts of {bin} fail with \"no such file or directory\""
        );
        match presence(self.builder, first) {
            Presence::File(real) => {
                // The first link or file on the builder's way that the
                // image lacks: what to copy.
                let chain =
                    rootfs::symlink_chain(self.builder, Path::new(first)).unwrap_or_default();
                let lacks = |p: &Path| matches!(self.image.lstat(p), Ok(None));
                let link = chain.iter().find(|(l, _)| lacks(l));
                let (via, copy) = match link {
                    Some((l, text)) => (
                        format!(" through the link {} -> {}", l.display(), text.display()),
                        l.display().to_string(),
                    ),
                    None => (String::new(), real.clone()),
                };
                let with_stdlib = if copy == real {
                    " and its standard library".to_string()
                } else if lacks(Path::new(&real)) {
                    format!(" (and {real} with its standard library)")
                } else {
                    String::new()
                };
                (
                    format!(
                        "{} {verb} to {real} in the builder{via}, which the image does not have: {fails}",
                        shown.join(", ")
                    ),
                    format!(
                        "copy {copy}{with_stdlib} into the image too: scan without PATHs (the default Python scope takes a venv's interpreter along), or add {copy} to the PATHs (or --include {copy})"
                    ),
                )
            }
            _ => {
                let text = match self.builder.lstat(Path::new(first)) {
                    Ok(Some(st)) => match st.node {
                        Node::Symlink(t) => t.to_string_lossy().into_owned(),
                        _ => first.to_string(),
                    },
                    _ => first.to_string(),
                };
                (
                    format!(
                        "{} {verb} to {text}, which neither the builder nor the image has: the venv was made by a Python that is not there",
                        shown.join(", ")
                    ),
                    format!(
                        "recreate the venv in the builder with the Python the image gets (python3 -m venv {})",
                        v.root
                    ),
                )
            }
        }
    }

    /// `home` of a venv whose interpreter is `real` in the image.
    fn home(&mut self, v: &Venv, cfg: &str, real: &str) {
        let Some(home) = &v.home else {
            return;
        };
        let mut names: Vec<String> = Vec::new();
        if let Some(ver) = &v.version {
            names.push(format!("python{ver}"));
        }
        names.extend(["python3".to_string(), "python".to_string()]);
        let candidates: Vec<String> = names.iter().map(|n| join(home, n)).collect();
        let mut unknown = false;
        for c in &candidates {
            match presence(self.image, c) {
                Presence::File(_) => return,
                Presence::Unknown => unknown = true,
                Presence::Dir | Presence::Absent => {}
            }
        }
        if unknown {
            return;
        }
        let in_builder = candidates
            .iter()
            .find_map(|c| match presence(self.builder, c) {
                Presence::File(_) => Some(c.clone()),
                _ => None,
            });
        let in_builder_too = in_builder.is_none();
        let fix = match in_builder {
            Some(c) => format!(
                "copy {c} into the image too (the default Python scope does, or --include {c})"
            ),
            None => format!(
                "set home in {cfg} to the directory of the Python the image has ({}), or recreate the venv with it",
                parent(real).unwrap_or_default()
            ),
        };
        self.push(
            cfg,
            Check::VenvHome,
            (format!(
                "home = {home}, where the image has no Python ({}): CPython looks for its standard library from there (Modules/getpath.py) and sys._base_executable names it",
                names.join(", ")
            ),
            fix),
            in_builder_too,
        );
    }

    /// Each copied interpreter outside a venv: its prefixes.
    fn installations(&mut self) {
        let inv = self.inv;
        for i in &inv.installations {
            if i.version.is_empty() || !self.copied(&i.interpreter) {
                continue;
            }
            // One copied into a venv starts at the venv's home: the venv's
            // check searches from there.
            if inv
                .venvs
                .iter()
                .any(|v| v.root != "/" && is_within(&i.interpreter, &v.root))
            {
                continue;
            }
            let Presence::File(real) = presence(self.image, &i.interpreter) else {
                continue;
            };
            let start = parent(&real).unwrap_or_default();
            self.prefix(&i.interpreter, &start, &i.version, Some(i));
        }
    }

    /// CPython's prefix search for `path`, from `start`, in the image.
    fn prefix(&mut self, path: &str, start: &str, version: &str, inst: Option<&Installation>) {
        if version.is_empty()
            || start.is_empty()
            || !self
                .searched
                .insert((start.to_string(), version.to_string()))
        {
            return;
        }
        // PLATLIBDIR is compiled in: where the builder's installation has
        // its stdlib tells it (Fedora's lib64, everyone else's lib).
        let lib64 = inst.is_some_and(|i| {
            i.stdlib
                .iter()
                .chain(&i.lib_dynload)
                .any(|d| d.contains("/lib64/python"))
        });
        let l = Landmarks::new(version, if lib64 { "lib64" } else { "lib" });
        let fallback = inst.map_or("/usr", |i| i.prefix.as_str());
        let no_prefix = l.prefix(self.image, start, fallback) == Found::Missing;
        let no_exec = l.exec_prefix(self.image, start, fallback) == Found::Missing;
        if !no_prefix && !no_exec {
            return;
        }
        let stdlib_dir = |p: &str| join(p, l.stdlib[0].trim_end_matches("/os.py"));
        let mut copy: Vec<String> = Vec::new();
        if no_prefix && let Found::At(p) = l.prefix(self.builder, start, fallback) {
            copy.push(stdlib_dir(&p));
        }
        if no_exec && let Found::At(p) = l.exec_prefix(self.builder, start, fallback) {
            let dynload = join(&p, &l.dynload);
            if !copy.iter().any(|c| is_within(&dynload, c)) {
                copy.push(dynload);
            }
        }
        let mut said = Vec::new();
        if no_prefix {
            said.push(format!(
                "no {} or {} (\"Could not find platform independent libraries <prefix>\", then \"No module named 'encodings'\": Python does not start)",
                l.stdlib[0], l.zip
            ));
        }
        if no_exec {
            said.push(format!(
                "no {} (\"Could not find platform dependent libraries <exec_prefix>\": the standard library's extension modules do not import)",
                l.dynload
            ));
        }
        let fix = if copy.is_empty() {
            format!(
                "the builder has none there either: copy this Python's standard library to {}/{} in the image",
                parent(start).unwrap_or_default(),
                l.stdlib[0].trim_end_matches("/os.py")
            )
        } else {
            format!(
                "copy {} into the image too: scan without PATHs (the default Python scope takes an interpreter's standard library along), or add {} to the PATHs (or --include {})",
                copy.join(" and "),
                if copy.len() == 1 { "it" } else { "them" },
                copy.join(" --include ")
            )
        };
        let in_builder_too = copy.is_empty();
        self.push(
            path,
            Check::Prefix,
            (format!(
                "CPython {version} looks for its standard library from {start} upwards (Modules/getpath.py), and the image has {}",
                said.join(", and ")
            ),
            fix),
            in_builder_too,
        );
    }

    /// The `bin/` directories whose scripts the image gets: each venv's,
    /// and those `pip install --target` makes in a site directory, with
    /// the interpreter of the image that could run their scripts.
    fn scripts(&mut self) {
        let mut dirs: BTreeMap<String, Option<String>> = BTreeMap::new();
        for v in &self.inv.venvs {
            if !self.copied(&join(&v.root, "pyvenv.cfg")) {
                continue;
            }
            let bin = join(&v.root, "bin");
            let mut names = vec!["python".to_string(), "python3".to_string()];
            names.extend(v.version.iter().map(|ver| format!("python{ver}")));
            let runner = names
                .iter()
                .map(|n| join(&bin, n))
                .find(|p| matches!(presence(self.image, p), Presence::File(_)));
            dirs.insert(bin, runner);
        }
        let mut sites: BTreeMap<&str, Vec<&Installation>> = BTreeMap::new();
        for i in &self.inv.installations {
            for s in &i.site_dirs {
                sites.entry(s.path.as_str()).or_default().push(i);
            }
        }
        for (site, insts) in sites {
            let bin = join(site, "bin");
            if dirs.contains_key(&bin) || !matches!(presence(self.builder, &bin), Presence::Dir) {
                continue;
            }
            let runner = insts
                .iter()
                .map(|i| i.interpreter.clone())
                .find(|p| matches!(presence(self.image, p), Presence::File(_)));
            dirs.insert(bin, runner);
        }
        for (dir, runner) in dirs {
            for n in list_dir(self.builder, &dir) {
                self.script(&join(&dir, &n), runner.as_deref());
            }
        }
    }

    /// One file of a `bin/`: if the image gets it and it is an executable
    /// script, what its `#!` needs.
    fn script(&mut self, path: &str, runner: Option<&str>) {
        match self.builder.lstat(Path::new(path)) {
            Ok(Some(st)) if st.node == Node::Regular && st.mode & 0o111 != 0 => {}
            _ => return,
        }
        if !self.copied(path) {
            return;
        }
        let Some(head) = read_head(self.builder, path, HEAD) else {
            return;
        };
        let Some(launch) = shebang::parse(&head) else {
            return;
        };
        if let Launch::Direct { interpreter, .. } = &launch
            && self
                .broken_venvs
                .iter()
                .any(|root| parent(interpreter).as_deref() == Some(join(root, "bin").as_str()))
        {
            return;
        }
        let Some((missing, problem)) = launch_problem(self.image, path, &launch) else {
            return;
        };
        let in_builder_too = launch_problem(self.builder, path, &launch).is_some();
        // Only a Python script may be given a Python.
        let rewrite = runner.filter(|_| runs_python(&launch)).map(str::to_string);
        let fix = match (&rewrite, presence(self.builder, &missing)) {
            (Some(r), _) => format!(
                "rewrite its #! to {r}, the Python the image has (--rewrite-shebangs does that), or reinstall the package with that Python"
            ),
            (None, Presence::File(_)) if missing.starts_with('/') => format!(
                "copy {missing} into the image too (--include {missing})"
            ),
            _ => "reinstall the package with the Python the image has: pip writes the path of the interpreter that installs a package into each of its scripts".to_string(),
        };
        self.out.push(PythonFinding {
            path: path.to_string(),
            check: Check::Shebang,
            problem,
            fix,
            in_builder_too,
            rewrite,
        });
    }

    /// The `.pth` files the image gets from the site directories: each
    /// directory they add that the builder has and the image lacks.
    fn pth_files(&mut self) {
        let sites: BTreeSet<&str> = self
            .inv
            .installations
            .iter()
            .flat_map(|i| &i.site_dirs)
            .filter(|s| !matches!(s.kind, SiteKind::Pth { .. }))
            .map(|s| s.path.as_str())
            .collect();
        for site in sites {
            for n in list_dir(self.builder, site) {
                if !n.ends_with(".pth") {
                    continue;
                }
                let pth = join(site, &n);
                if !self.copied(&pth) {
                    continue;
                }
                let Some(bytes) = read_head(self.builder, &pth, super::discovery::MAX_SMALL_FILE)
                else {
                    continue;
                };
                for dir in super::site::pth_dirs(site, &bytes) {
                    if matches!(presence(self.builder, &dir), Presence::Dir)
                        && matches!(
                            presence(self.image, &dir),
                            Presence::Absent | Presence::File(_)
                        )
                    {
                        self.push(
                            &pth,
                            Check::Pth,
                            (format!(
                                "it adds {dir} to sys.path, which the builder has and the image does not: site.py skips a missing directory without a word, so what is installed there does not import"
                            ),
                            format!(
                                "copy {dir} into the image too: scan without PATHs (the default Python scope takes what .pth files add), or add it to the PATHs (or --include {dir})"
                            )),
                            false,
                        );
                    }
                }
            }
        }
    }
}

/// What `tree` lacks to start a script (the path, or the name `env`
/// looks for) and the problem in words; `None` when it has it all.
fn launch_problem(tree: &dyn Tree, path: &str, launch: &Launch) -> Option<(String, String)> {
    let lacks = |p: &str| {
        p.starts_with('/') && matches!(presence(tree, p), Presence::Absent | Presence::Dir)
    };
    let fails = format!("running it fails with \"exec {path}: no such file or directory\"");
    match launch {
        Launch::Direct { interpreter, .. } => lacks(interpreter).then(|| {
            (
                interpreter.clone(),
                format!("its #! names {interpreter}, which the image does not have: {fails}"),
            )
        }),
        Launch::Env { env, program } => {
            if lacks(env) {
                return Some((
                    env.clone(),
                    format!("its #! runs {env}, which the image does not have: {fails}"),
                ));
            }
            let p = program.as_deref()?;
            if p.contains('/') {
                return lacks(p).then(|| {
                    (
                        p.to_string(),
                        format!("its #! runs env {p}, which the image does not have"),
                    )
                });
            }
            let mut unknown = false;
            for dir in IMAGE_PATH.split(':') {
                match presence(tree, &join(dir, p)) {
                    Presence::File(_) => return None,
                    Presence::Unknown => unknown = true,
                    Presence::Dir | Presence::Absent => {}
                }
            }
            (!unknown).then(|| {
                (
                    p.to_string(),
                    format!(
                        "its #! runs env {p}, and the image has no {p} on its PATH ({IMAGE_PATH}): \"env: '{p}': No such file or directory\""
                    ),
                )
            })
        }
        Launch::Trampoline { shell, python } => {
            if lacks(shell) {
                return Some((
                    shell.clone(),
                    format!(
                        "pip's launcher for a long interpreter path: its #! runs {shell}, which the image does not have (distroless images have no shell): {fails}"
                    ),
                ));
            }
            let p = python.as_deref()?;
            lacks(p).then(|| {
                (
                    p.to_string(),
                    format!("pip's launcher runs {p}, which the image does not have"),
                )
            })
        }
    }
}

/// Whether `launch` starts a Python: an interpreter or an `env` program
/// named `python*`, or pip's launcher.
fn runs_python(launch: &Launch) -> bool {
    let named = |p: &str| python_name(p.rsplit('/').next().unwrap_or(p)).is_some();
    match launch {
        Launch::Direct { interpreter, .. } => named(interpreter),
        Launch::Env { program, .. } => program.as_deref().is_some_and(named),
        Launch::Trampoline { .. } => true,
    }
}
