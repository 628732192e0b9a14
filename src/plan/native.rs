//! Native run-time loads in the plan (`runtime::native`): what objects of
//! the image declare in `.note.dlopen` is made to load like a Python
//! run-time load (copied with its closure, checked); what their bytes only
//! suggest is compared between the builder and the image, and whatever
//! the builder has and the image lacks leaves the image unverified.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::runtime::{Need, Origin};
use super::{Orders, Planner};
use crate::graph::Session;
use crate::image::FinalImage;
use crate::objects::Objects;
use crate::rootfs::Tree;
use crate::runtime::native::{self, Declared, Named};
use crate::runtime::resolve::Resolver;
use crate::runtime::{Caller, Outcome, Way};

/// A `.note.dlopen` entry of an object of the image, and what it gives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DeclaredCheck {
    /// The object that declares it (its path in the image).
    pub object: String,
    #[serde(flatten)]
    pub declared: Declared,
    /// The first of its sonames the builder's `dlopen` from the object
    /// finds (or why none).
    pub builder: Outcome,
    pub image: Outcome,
    /// Accepted with `--allow-runtime`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

impl DeclaredCheck {
    /// A load the plan had to make work and the image still lacks.
    pub fn fails(&self) -> bool {
        self.declared.priority.is_copied()
            && !self.allowed
            && self.builder.found().is_some()
            && self.image.found().is_none()
    }
}

/// Something an object of the image may load at run time that the builder
/// has and the image lacks: the image cannot be said to load.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unverified {
    /// The object (its path in the image).
    pub object: String,
    /// Its DT_SONAME, the name `--allow-runtime` takes best.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soname: Option<String>,
    /// The loader functions it imports.
    pub calls: Vec<String>,
    pub named: Named,
    /// What the builder has for it (the file `dlopen` finds there, or the
    /// path).
    pub builder: String,
    /// Accepted with `--allow-runtime`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
    /// A `--trace` saw the path (or something under it) opened: the
    /// traced run's use of it is in the plan.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub traced: bool,
}

/// A declared load as found: who declares it, where the builder finds it.
#[derive(Clone, Debug)]
struct Found {
    object: String,
    soname: Option<String>,
    declared: Declared,
    builder: Outcome,
}

#[derive(Debug, Default)]
pub(super) struct State {
    /// Objects whose notes were read.
    seen: BTreeSet<String>,
    found: Vec<Found>,
    /// Notes that are not what the specification says, by object.
    pub(super) problems: BTreeMap<String, Vec<String>>,
}

/// Whether one `--allow-runtime` value names a possible load: the name it
/// names (or its file name), or the object (its path, file name or
/// soname).
pub(super) fn allow_names(allow: &str, object: &str, soname: Option<&str>, named: &str) -> bool {
    let file = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    allow == named
        || allow == file(named)
        || allow == object
        || allow == file(object)
        || Some(allow) == soname
}

fn allows(allow: &[String], object: &str, soname: Option<&str>, named: &str) -> bool {
    allow.iter().any(|a| allow_names(a, object, soname, named))
}

impl Planner<'_> {
    /// The program `dlopen` runs in: the interpreter when the scope has one,
    /// else the object itself.
    fn main_for<'a>(&'a self, object: &'a str) -> &'a str {
        self.input.callers.interpreter.as_deref().unwrap_or(object)
    }

    /// Read the `.note.dlopen` entries of the image's objects not read yet;
    /// each entry the plan must honour and the builder resolves becomes a
    /// run-time need.
    pub(super) fn discover_declared(&mut self, image: &Arc<FinalImage>, orders: &Orders) {
        if !self.input.runtime_checked {
            return;
        }
        let mut objects: BTreeMap<String, Arc<crate::elf::ElfFacts>> = BTreeMap::new();
        for run in orders {
            let Ok(order) = &run.order else { continue };
            for o in &order.objects {
                if let (Some(real), Some(facts)) = (&o.real, &o.facts)
                    && !facts.dlopen_notes.is_empty()
                    && !self.native.seen.contains(real)
                {
                    objects.insert(real.clone(), facts.clone());
                }
            }
        }
        for (object, facts) in objects {
            self.native.seen.insert(object.clone());
            let (entries, problems) = native::declared(&facts.dlopen_notes);
            if !problems.is_empty() {
                self.native.problems.insert(object.clone(), problems);
            }
            let source = image
                .builder_source(Path::new(&object))
                .unwrap_or_else(|| PathBuf::from(&object))
                .display()
                .to_string();
            for declared in entries {
                let builder = self.builder_dlopen(&source, &declared.sonames);
                if declared.priority.is_copied()
                    && let Outcome::Found { path, .. } = &builder
                {
                    let soname = declared
                        .sonames
                        .iter()
                        .find(|s| path.ends_with(&format!("/{s}")))
                        .unwrap_or(&declared.sonames[0])
                        .clone();
                    self.runtime.needs.push(Need {
                        origin: Origin::Declared,
                        caller: Some(object.clone()),
                        way: Way::Dlopen {
                            name: soname.clone(),
                            from: Caller::Native,
                        },
                        builder: builder.clone(),
                        name: soname,
                        site: None,
                    });
                }
                self.native.found.push(Found {
                    object: object.clone(),
                    soname: facts.soname.clone(),
                    declared,
                    builder,
                });
            }
        }
    }

    /// The first of `sonames` the builder's `dlopen` from `object` finds.
    fn builder_dlopen(&self, object: &str, sonames: &[String]) -> Outcome {
        let resolver = Resolver::new(self.input.builder, self.input.callers.clone());
        let main = self.main_for(object);
        let mut why = Vec::new();
        for s in sonames {
            match resolver.dlopen_by(object, main, s) {
                found @ Outcome::Found { .. } => return found,
                Outcome::NotFound { why: w } => why.push(w),
            }
        }
        Outcome::NotFound {
            why: why.join("; "),
        }
    }

    /// Every declared load, as it goes in the final `image`.
    pub(super) fn declared_report(&self, image: &Arc<FinalImage>) -> Vec<DeclaredCheck> {
        if self.native.found.is_empty() {
            return Vec::new();
        }
        let session = Session::over(image.clone(), self.options());
        let resolver = Resolver::new(&session, self.input.callers.clone());
        let mut out: Vec<DeclaredCheck> = self
            .native
            .found
            .iter()
            .map(|f| {
                let main = self.main_for(&f.object);
                let mut why = Vec::new();
                let mut image_outcome = None;
                for s in &f.declared.sonames {
                    match resolver.dlopen_by(&f.object, main, s) {
                        found @ Outcome::Found { .. } => {
                            image_outcome = Some(found);
                            break;
                        }
                        Outcome::NotFound { why: w } => why.push(w),
                    }
                }
                let allowed = f
                    .declared
                    .sonames
                    .iter()
                    .any(|s| allows(&self.input.allow, &f.object, f.soname.as_deref(), s));
                DeclaredCheck {
                    object: f.object.clone(),
                    declared: f.declared.clone(),
                    builder: f.builder.clone(),
                    image: image_outcome.unwrap_or(Outcome::NotFound {
                        why: why.join("; "),
                    }),
                    allowed,
                }
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// What objects of the image that come from the builder may load at
    /// run time, by the evidence of their bytes, that the builder has and
    /// the image lacks.
    pub(super) fn unverified(&self, image: &Arc<FinalImage>, orders: &Orders) -> Vec<Unverified> {
        if !self.input.runtime_checked {
            return Vec::new();
        }
        let mut objects: BTreeMap<String, PathBuf> = BTreeMap::new();
        for run in orders {
            let Ok(order) = &run.order else { continue };
            for o in &order.objects {
                if let Some(real) = &o.real
                    && !objects.contains_key(real)
                    && let Some(src) = image.builder_source(Path::new(real))
                {
                    objects.insert(real.clone(), src);
                }
            }
        }
        let builder = self.input.builder.objects();
        type Hinted = (String, PathBuf, Option<String>, crate::elf::LoadHints);
        let hints: Vec<Hinted> = objects
            .into_par_iter()
            .filter_map(|(object, src)| {
                let (soname, h) = match self.early_hints.get(&src) {
                    Some(read) => read.clone()?,
                    None => hints_of(builder, &src)?,
                };
                Some((object, src, soname, h))
            })
            .collect();
        if hints.is_empty() {
            return Vec::new();
        }
        let session = Session::over(image.clone(), self.options());
        let in_image = Resolver::new(&session, self.input.callers.clone());
        let in_builder = Resolver::new(self.input.builder, self.input.callers.clone());
        let mut plugin_dirs = PluginDirs::default();
        let mut out = BTreeSet::new();
        for (object, src, soname, h) in hints {
            let src_path = src.display().to_string();
            let own: BTreeSet<&str> = [
                Some(file_name(&object)),
                Some(file_name(&src_path)),
                soname.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            let calls: Vec<String> = h.calls.iter().map(|c| c.to_string()).collect();
            let mut push = |named: Named, builder: String| {
                let allowed = allows(&self.input.allow, &object, soname.as_deref(), named.name());
                let traced = super::traced::seen(&self.input.traces, &builder);
                out.insert(Unverified {
                    object: object.clone(),
                    soname: soname.clone(),
                    calls: calls.clone(),
                    named,
                    builder,
                    allowed,
                    traced,
                });
            };
            for name in &h.names {
                if native::is_library_name(name) {
                    if own.contains(name.as_str()) {
                        continue;
                    }
                    let b = in_builder.dlopen_by(&src_path, self.main_for(&src_path), name);
                    let Outcome::Found { path, .. } = b else {
                        continue;
                    };
                    let i = in_image.dlopen_by(&object, self.main_for(&object), name);
                    if i.found().is_none() {
                        push(Named::Library(name.clone()), path);
                    }
                } else if !native::is_host_data(name) && !exists(image.as_ref(), name) {
                    let named = match (
                        builder.resolve(Path::new(name)),
                        self.input.builder.host_root(),
                    ) {
                        (Ok(Some(f)), _) if f.kind == crate::rootfs::Kind::Regular => {
                            match builder.facts(&f).as_ref() {
                                Ok(_) => Named::Object(name.clone()),
                                Err(_) => Named::Data(name.clone()),
                            }
                        }
                        (Ok(Some(f)), Some(host)) if f.kind == crate::rootfs::Kind::Directory => {
                            match dir_content(host, &f.path) {
                                Content::Empty => continue,
                                Content::Elf => Named::PluginDir(name.clone()),
                                Content::Data => Named::Data(name.clone()),
                            }
                        }
                        _ => continue,
                    };
                    push(named, name.clone());
                }
            }
            if let Some(host) = self.input.builder.host_root() {
                for dir in plugin_dirs.next_to(host, &src_path) {
                    // A directory the object names (or one inside it) is
                    // reported under that name.
                    let named = h.names.iter().any(|n| {
                        *n == dir || n.strip_prefix(&dir).is_some_and(|r| r.starts_with('/'))
                    });
                    if !named && !exists(image.as_ref(), &dir) {
                        push(Named::PluginDir(dir.clone()), dir);
                    }
                }
            }
        }
        out.into_iter().collect()
    }
}

/// What the bytes of a builder object suggest it loads at run time: its
/// soname and its hints; `None` when it names no loader function, or when
/// it cannot be opened or read as ELF (then no evidence is taken from it).
pub(super) type Hint = Option<(Option<String>, crate::elf::LoadHints)>;

/// The [`Hint`] of the builder's file at `src`.
pub(super) fn hints_of(builder: &Objects, src: &Path) -> Hint {
    let file = builder.resolve(src).ok()??;
    let soname = builder.facts(&file).as_ref().as_ref().ok()?.soname.clone();
    let reader = builder.tree().reader(&file).ok()??;
    static CALLS: std::sync::LazyLock<crate::elf::LoaderCalls> =
        std::sync::LazyLock::new(|| crate::elf::LoaderCalls::new(native::LOADER_CALLS));
    let h = crate::elf::read_load_hints(
        &*reader,
        &CALLS,
        native::NAMED_LOAD_MARKS,
        &native::is_named_load,
    )
    .ok()?;
    (!h.calls.is_empty()).then_some((soname, h))
}

/// The hints of the scope's objects, read before the plan needs them (on
/// the cores the listing of the layer leaves idle): the image loads them
/// whatever is copied.
pub(super) fn early_hints(builder: &Objects, entries: &[String]) -> HashMap<PathBuf, Hint> {
    entries
        .par_iter()
        .map(|e| {
            let src = PathBuf::from(e);
            let hint = hints_of(builder, &src);
            (src, hint)
        })
        .collect()
}

fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Whether `path` resolves to something in `tree` (symlinks followed).
fn exists(tree: &dyn Tree, path: &str) -> bool {
    matches!(crate::rootfs::resolve(tree, Path::new(path)), Ok(Some(_)))
}

/// Directories of ELF objects next to a library and named after it, by
/// library directory (listed once).
#[derive(Default)]
struct PluginDirs {
    listed: BTreeMap<PathBuf, Vec<PathBuf>>,
}

impl PluginDirs {
    /// The plugin directories next to the builder's `library`.
    fn next_to(&mut self, host: &crate::rootfs::Root, library: &str) -> Vec<String> {
        let path = Path::new(library);
        let (Some(dir), Some(file)) = (path.parent(), path.file_name()) else {
            return Vec::new();
        };
        let Some(stem) = native::plugin_stem(&file.to_string_lossy()) else {
            return Vec::new();
        };
        let subdirs = self
            .listed
            .entry(dir.to_path_buf())
            .or_insert_with(|| plugin_candidates(host, dir));
        subdirs
            .iter()
            .filter(|d| {
                d.file_name()
                    .is_some_and(|n| native::dir_matches_stem(&n.to_string_lossy(), &stem))
            })
            .filter(|d| dir_content(host, d) == Content::Elf)
            .map(|d| d.display().to_string())
            .collect()
    }
}

/// The subdirectories of `dir` (a canonical directory of the root).
fn plugin_candidates(host: &crate::rootfs::Root, dir: &Path) -> Vec<PathBuf> {
    struct Dirs(std::sync::Mutex<Vec<PathBuf>>);
    impl crate::walk::Visit for Dirs {
        type Out = ();
        fn enter(&self, path: &Path, depth: usize) -> bool {
            if depth == 1 {
                crate::locks::lock(&self.0).push(path.to_path_buf());
            }
            depth == 0
        }
        fn file(&self, _: &crate::walk::Entry<'_>) -> Option<()> {
            None
        }
        fn error(&self, _: &Path, _: std::io::Error) -> Option<()> {
            None
        }
    }
    let dirs = Dirs(std::sync::Mutex::new(Vec::new()));
    crate::walk::walk_small(host.host_dir(), &[dir.to_path_buf()], &dirs);
    let mut v = crate::locks::into_inner(dirs.0);
    v.sort();
    v
}

/// What a directory holds, within three levels (plugins sit in `dir/`,
/// `dir/plugins/` or `dir/2.10.0/loaders/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    /// No regular file at all.
    Empty,
    /// At least one ELF object.
    Elf,
    /// Regular files, none of them ELF.
    Data,
}

fn dir_content(host: &crate::rootfs::Root, dir: &Path) -> Content {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    /// Files opened at most: a data tree of any size costs no more.
    const MAX_OPENED: usize = 2000;
    struct Seen {
        files: AtomicBool,
        elf: AtomicBool,
        opened: AtomicUsize,
    }
    impl crate::walk::Visit for Seen {
        type Out = ();
        fn enter(&self, _: &Path, depth: usize) -> bool {
            depth <= 3 && !self.elf.load(Relaxed) && self.opened.load(Relaxed) < MAX_OPENED
        }
        fn file(&self, entry: &crate::walk::Entry<'_>) -> Option<()> {
            self.files.store(true, Relaxed);
            if self.elf.load(Relaxed) || self.opened.fetch_add(1, Relaxed) >= MAX_OPENED {
                return None;
            }
            if let Ok(f) = entry.open()
                && let Ok(sized) = crate::elf::SizedFile::new(f)
                && crate::elf::has_elf_magic(&sized).unwrap_or(false)
            {
                self.elf.store(true, Relaxed);
            }
            None
        }
        fn error(&self, _: &Path, _: std::io::Error) -> Option<()> {
            None
        }
    }
    let seen = Seen {
        files: AtomicBool::new(false),
        elf: AtomicBool::new(false),
        opened: AtomicUsize::new(0),
    };
    crate::walk::walk_small(host.host_dir(), &[dir.to_path_buf()], &seen);
    match (seen.files.into_inner(), seen.elf.into_inner()) {
        (_, true) => Content::Elf,
        (true, false) => Content::Data,
        (false, false) => Content::Empty,
    }
}
