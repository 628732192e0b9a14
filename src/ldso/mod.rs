//! The loader rules: how glibc's `ld.so` turns one DT_NEEDED name into one
//! file. Every rule here cites the glibc 2.36 source it follows; the load
//! order (which object asks, and what is already loaded) is `graph`'s job.
//!
//! Search order for a name without a slash (`elf/dl-load.c:
//! _dl_map_object`):
//! 1. DT_RPATH of the requesting object, then of the object that loaded it,
//!    and so on up the `l_loader` chain, then of the main program — only
//!    while the requesting object has no DT_RUNPATH.
//! 2. LD_LIBRARY_PATH.
//! 3. DT_RUNPATH of the requesting object only.
//! 4. `/etc/ld.so.cache`, minus entries under the default directories when
//!    the requesting object has DF_1_NODEFLIB.
//! 5. The default directories, unless DF_1_NODEFLIB.
//!
//! Inside each directory the glibc-hwcaps (and, before 2.37, legacy)
//! subdirectories are tried first (`open_path`). A candidate of the wrong
//! class or machine is skipped; any other defect stops the load
//! (`open_verify`).

pub mod abi;
pub mod cache;
pub mod cache_write;
pub mod cpu;
pub mod dst;
mod subdir_probe;
mod verify;

pub use verify::{Candidate, Verdict};

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::elf::ElfFacts;
use crate::misses::{self, Misses};
use crate::objects::Objects;
use crate::rootfs::{Kind, Resolved};
use abi::{Abi, SystemDirs};
use cache::LdCache;
use cpu::{Cpu, LoaderCpu};
use dst::DstValues;
use subdir_probe::SubdirProbe;

/// DF_1_NODEFLIB from `elf.h`.
pub const DF_1_NODEFLIB: u64 = 0x800;
const ELFOSABI_SYSV: u8 = 0;
const ELFOSABI_GNU: u8 = 3;

/// Why an object was loaded from where it was: carried on every edge and
/// rendered in one place.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum How {
    /// The object the user asked about.
    Entry,
    /// A name or soname of an object already loaded
    /// (`_dl_map_object`: `_dl_name_match_p` and the DT_SONAME check).
    AlreadyLoaded,
    /// Found by search, but the same file (device and inode) as an object
    /// already loaded under another path (`_dl_map_object_from_fd`:
    /// `_dl_file_id_match_p`).
    SameFile,
    /// The name contains a slash and is opened as a path.
    DirectPath,
    /// DT_RPATH of `owner` (the requester itself or an object up its
    /// loader chain).
    Rpath {
        owner: String,
    },
    LdLibraryPath,
    Runpath,
    LdSoCache,
    DefaultDir,
}

impl How {
    /// Short label, as libtree prints it on each edge.
    pub fn label(&self) -> String {
        match self {
            How::Entry => "entry".into(),
            How::AlreadyLoaded => "already loaded".into(),
            How::SameFile => "same file as a loaded object".into(),
            How::DirectPath => "direct path".into(),
            How::Rpath { owner } => format!("rpath of {owner}"),
            How::LdLibraryPath => "LD_LIBRARY_PATH".into(),
            How::Runpath => "runpath".into(),
            How::LdSoCache => "ld.so.cache".into(),
            How::DefaultDir => "default path".into(),
        }
    }
}

/// One place the search looked, for "not found" explanations.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Step {
    /// Which rule produced this place.
    pub source: How,
    /// The directory (or, for the cache, the cache file) consulted.
    pub place: String,
    /// Candidates rejected there, or why the source was skipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A file the search settled on.
#[derive(Clone, Debug)]
pub struct Found {
    /// The path as glibc builds it (`l_name`): directory + subdirectory +
    /// name, not normalised.
    pub path: String,
    pub file: Resolved,
    pub how: How,
}

/// Outcome of one search: found, or not found after these steps. A
/// not-found is a value; only defects that stop glibc's load are errors.
#[derive(Clone, Debug)]
pub enum Lookup {
    Found(Found),
    NotFound(Vec<Step>),
}

/// A search's outcome, and whether another kind of CPU could have given a
/// different one.
#[derive(Clone, Debug)]
pub struct Searched {
    pub lookup: Lookup,
    /// Something this search consulted depends on the CPU: a `$PLATFORM`
    /// in a search path, a hwcaps or legacy subdirectory that exists in a
    /// directory searched and that not every kind of CPU tries in the same
    /// order, or an `ld.so.cache` answer that differs between kinds of CPU.
    /// When false, every kind of CPU gets the same outcome.
    pub cpu_sensitive: bool,
}

/// A defect that makes glibc abort the whole load (`open_verify: lose`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Fatal {
    pub path: String,
    pub message: String,
}

/// An object taking part in a search: the requester and its loader chain.
#[derive(Clone, Copy, Debug)]
pub struct Requester<'a> {
    /// `l_name`: the path it was loaded from, as found.
    pub path: &'a str,
    pub facts: &'a ElfFacts,
    /// The main program (its RPATH is tried last, once).
    pub is_main: bool,
}

impl Requester<'_> {
    /// `elf/get-dynamic-info.h`: when DT_RUNPATH is present DT_RPATH is
    /// dropped entirely, for this object and for anyone inheriting from it.
    fn rpath(&self) -> Option<&str> {
        if self.facts.runpath.is_some() {
            None
        } else {
            self.facts.rpath.as_deref()
        }
    }
    fn nodeflib(&self) -> bool {
        self.facts.flags_1 & DF_1_NODEFLIB != 0
    }
}

/// Settings a user gives: what the image's environment and CPU will be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// LD_LIBRARY_PATH as the image sets it (never the host's).
    pub library_path: Option<String>,
    /// The CPU the loader runs on.
    pub cpu: Cpu,
}

impl Default for Options {
    /// This machine's CPU, no LD_LIBRARY_PATH: what glibc does here.
    fn default() -> Self {
        Options {
            library_path: None,
            cpu: Cpu::host(),
        }
    }
}

/// What a cache lookup depends on besides the name.
struct CacheQuery {
    hwcaps_names: Vec<String>,
    legacy: cache::LegacyHwcaps,
}

/// One root's loader for one ABI, with everything that does not depend on
/// the object being loaded: directories, subdirectories, the parsed cache.
pub struct Loader {
    pub abi: Abi,
    pub cpu: Cpu,
    /// What this loader derives from the CPU (`$PLATFORM`, hwcap names).
    view: LoaderCpu,
    pub system: SystemDirs,
    pub subdirs: Vec<String>,
    /// Which of every kind of CPU's subdirectories exist under each search
    /// directory.
    probe: SubdirProbe,
    /// This CPU's cache query, then each kind's.
    query: CacheQuery,
    kind_queries: Vec<CacheQuery>,
    pub cache: Option<Arc<LdCache>>,
    /// Why the root's `/etc/ld.so.cache` is not used, when it exists.
    pub cache_problem: Option<String>,
    cache_flags: Option<u32>,
    library_path: Option<String>,
    /// Searches that depend on the name alone (see [`Loader::search`]),
    /// with the paths each did not find (replayed on a hit: see
    /// [`crate::misses`]).
    plain: RwLock<HashMap<String, (Searched, Misses)>>,
}

/// The cache file every glibc reads (`LD_SO_CACHE`).
pub const LD_SO_CACHE: &str = "/etc/ld.so.cache";

impl Loader {
    pub fn new(objects: &Objects, abi: Abi, opts: &Options) -> Loader {
        let system = SystemDirs::detect(objects, &abi, abi.interp);
        let glibc_minor = glibc_minor(objects, &system);
        let view = opts.cpu.for_abi(&abi);
        let subdirs = cpu::subdirs(&view, glibc_minor);
        let query_for = |v: &LoaderCpu| CacheQuery {
            hwcaps_names: v.glibc_hwcaps.clone(),
            // glibc 2.36's x86_64 loader (Debian 12) filters legacy entries
            // by its HWCAP bits and platform; 2.37-2.39 keep only `tls`;
            // 2.40 drops them.
            legacy: match glibc_minor {
                Some(m) if m >= 40 => cache::LegacyHwcaps::NONE,
                Some(m) if m >= 37 => cache::LegacyHwcaps::TLS_ONLY,
                _ if matches!(abi.name, "x86_64" | "x32") => {
                    cache::LegacyHwcaps::x86_64_glibc_2_36(v.avx512_1, Some(&v.platform))
                }
                _ => cache::LegacyHwcaps::TLS_ONLY,
            },
        };
        let kind_views: Vec<LoaderCpu> = if Cpu::varies_for(&abi) {
            Cpu::kinds().iter().map(|k| k.for_abi(&abi)).collect()
        } else {
            Vec::new()
        };
        let kind_subdirs: Vec<Vec<String>> = kind_views
            .iter()
            .map(|v| cpu::subdirs(v, glibc_minor))
            .collect();
        let probe = SubdirProbe::new(&subdirs, &kind_subdirs);
        let (cache, cache_problem) = read_cache(objects);
        Loader {
            cache_flags: cache::default_flags_id(abi.machine, abi.is_64()),
            query: query_for(&view),
            kind_queries: kind_views.iter().map(query_for).collect(),
            abi,
            cpu: opts.cpu,
            view,
            system,
            subdirs,
            probe,
            cache,
            cache_problem,
            library_path: opts.library_path.clone(),
            plain: RwLock::new(HashMap::new()),
        }
    }

    fn dst_values<'a>(&'a self, origin: Option<&'a str>) -> DstValues<'a> {
        DstValues {
            origin,
            lib: &self.system.lib,
            platform: &self.view.platform,
        }
    }

    /// Whether this loader's answers can differ between kinds of CPU.
    fn varies(&self) -> bool {
        self.probe.varies()
    }

    /// Whether expanding `s` (a DT_NEEDED name or a search path) reads
    /// `$PLATFORM`, which differs between kinds of CPU.
    pub fn platform_dependent(&self, s: &str) -> bool {
        self.varies() && dst::uses_platform(s)
    }

    /// Expand DSTs in a DT_NEEDED name with the requester's origin
    /// (`elf/dl-deps.c: expand_dst`). `None`: a token had no value.
    pub fn expand_needed(&self, name: &str, requester_path: &str) -> Option<String> {
        let origin = dst::origin_of(requester_path);
        dst::expand(name, &self.dst_values(Some(&origin)))
    }

    /// Split a search path into directories with a trailing slash, after
    /// DST expansion with `origin_path`'s origin (`elf/dl-load.c:
    /// fillin_rpath`): unexpandable elements are dropped, trailing slashes
    /// collapsed, duplicates removed. An empty element is the working
    /// directory — glibc then tries the bare name (measured with
    /// LD_DEBUG=libs: `search path=…::/next`), which inside a chroot is
    /// relative to `/`.
    fn dirs(&self, list: &str, seps: &[char], origin_path: &str) -> Vec<String> {
        let origin = dst::origin_of(origin_path);
        let values = self.dst_values(Some(&origin));
        let mut out: Vec<String> = Vec::new();
        for elem in list.split(seps) {
            if elem.is_empty() {
                if !out.iter().any(String::is_empty) {
                    out.push(String::new());
                }
                continue;
            }
            let Some(mut d) = dst::expand(elem, &values) else {
                continue;
            };
            if d.is_empty() {
                continue;
            }
            while d.len() > 1 && d.ends_with('/') {
                d.pop();
            }
            if !d.ends_with('/') {
                d.push('/');
            }
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }

    /// Find `name` (already DST-expanded) for `chain[0]`, whose loader
    /// chain (`l_loader`, nearest first) is the rest of `chain`; `main` is
    /// the program.
    pub fn search(
        &self,
        objects: &Objects,
        name: &str,
        chain: &[Requester<'_>],
        main: Requester<'_>,
    ) -> Result<Searched, Fatal> {
        // `_dl_map_object`: a name with a slash is a path, no search.
        if name.contains('/') {
            let lookup = match self.try_file(objects, name)? {
                Candidate::Accepted(file) => Lookup::Found(Found {
                    path: name.to_string(),
                    file,
                    how: How::DirectPath,
                }),
                Candidate::Absent => Lookup::NotFound(vec![]),
                Candidate::Skipped(why) => Lookup::NotFound(vec![Step {
                    source: How::DirectPath,
                    place: name.to_string(),
                    notes: vec![why],
                }]),
            };
            return Ok(Searched {
                lookup,
                cpu_sensitive: false,
            });
        }
        let requester = chain.first().copied().unwrap_or(main);
        // Without an RPATH in the loader chain or on the program, a RUNPATH,
        // LD_LIBRARY_PATH or DF_1_NODEFLIB, only the cache and the default
        // directories are searched, and neither the result nor the steps
        // depend on the requester: most searches (every system library's,
        // and every search `order_warnings` repeats) are memoised by name.
        let plain = self.library_path.is_none()
            && requester.facts.runpath.is_none()
            && !requester.nodeflib()
            && main.rpath().is_none()
            && chain.iter().all(|r| r.rpath().is_none());
        if !plain {
            let mut sensitive = false;
            let lookup = self.search_rules(objects, name, chain, main, &mut sensitive)?;
            return Ok(Searched {
                lookup,
                cpu_sensitive: sensitive,
            });
        }
        if let Some((hit, missed)) = crate::locks::read(&self.plain).get(name) {
            misses::replay(missed);
            return Ok(hit.clone());
        }
        let mut sensitive = false;
        let (lookup, missed) =
            misses::record(|| self.search_rules(objects, name, chain, main, &mut sensitive));
        let got = Searched {
            lookup: lookup?,
            cpu_sensitive: sensitive,
        };
        crate::locks::write(&self.plain).insert(name.to_string(), (got.clone(), missed));
        Ok(got)
    }

    /// The search rules of `_dl_map_object`, in order. `sensitive` is set
    /// when anything consulted depends on the CPU (see [`Searched`]).
    fn search_rules(
        &self,
        objects: &Objects,
        name: &str,
        chain: &[Requester<'_>],
        main: Requester<'_>,
        sensitive: &mut bool,
    ) -> Result<Lookup, Fatal> {
        let mut steps = Vec::new();
        let requester = chain.first().copied().unwrap_or(main);

        // Rule 1: RPATHs up the loader chain, then the main program's —
        // skipped entirely when the requester has a RUNPATH.
        if requester.facts.runpath.is_none() {
            let mut did_main = false;
            for r in chain {
                did_main |= r.is_main;
                if let Some(rpath) = r.rpath() {
                    *sensitive |= self.platform_dependent(rpath);
                    let how = How::Rpath {
                        owner: r.path.to_string(),
                    };
                    let dirs = self.dirs(rpath, &[':'], r.path);
                    if let Some(f) =
                        self.in_dirs(objects, name, &dirs, &how, &mut steps, sensitive)?
                    {
                        return Ok(Lookup::Found(f));
                    }
                }
            }
            if !did_main && let Some(rpath) = main.rpath() {
                *sensitive |= self.platform_dependent(rpath);
                let how = How::Rpath {
                    owner: main.path.to_string(),
                };
                let dirs = self.dirs(rpath, &[':'], main.path);
                if let Some(f) = self.in_dirs(objects, name, &dirs, &how, &mut steps, sensitive)? {
                    return Ok(Lookup::Found(f));
                }
            }
        } else if chain.iter().any(|r| r.rpath().is_some()) || main.rpath().is_some() {
            steps.push(Step {
                source: How::Rpath {
                    owner: requester.path.to_string(),
                },
                place: String::new(),
                notes: vec![format!("rpaths skipped: {} has a runpath", requester.path)],
            });
        }

        // Rule 2: LD_LIBRARY_PATH, elements split on ':' and ';', DSTs
        // expanded against the main program (`_dl_init_paths`).
        if let Some(llp) = &self.library_path {
            *sensitive |= self.platform_dependent(llp);
            let dirs = self.dirs(llp, &[':', ';'], main.path);
            if let Some(f) = self.in_dirs(
                objects,
                name,
                &dirs,
                &How::LdLibraryPath,
                &mut steps,
                sensitive,
            )? {
                return Ok(Lookup::Found(f));
            }
        }

        // Rule 3: the requester's own RUNPATH; never inherited.
        if let Some(runpath) = &requester.facts.runpath {
            *sensitive |= self.platform_dependent(runpath);
            let dirs = self.dirs(runpath, &[':'], requester.path);
            if let Some(f) =
                self.in_dirs(objects, name, &dirs, &How::Runpath, &mut steps, sensitive)?
            {
                return Ok(Lookup::Found(f));
            }
        }

        // Rule 4: ld.so.cache. With DF_1_NODEFLIB on the requester, an
        // entry whose path starts with a default directory is ignored
        // (a plain prefix comparison, as in glibc).
        let nodeflib = requester.nodeflib();
        if let Some(cache) = &self.cache {
            let hit = self.cache_lookup(cache, name, &self.query);
            *sensitive |= self
                .kind_queries
                .iter()
                .any(|q| self.cache_lookup(cache, name, q) != hit);
            let mut step = Step {
                source: How::LdSoCache,
                place: LD_SO_CACHE.to_string(),
                notes: vec![],
            };
            if let Some(path) = hit {
                let in_system = self
                    .system
                    .dirs
                    .iter()
                    .any(|d| path.starts_with(d.as_str()));
                if nodeflib && in_system {
                    step.notes
                        .push(format!("{path} ignored: the requester has DF_1_NODEFLIB"));
                } else {
                    match self.try_file(objects, path)? {
                        Candidate::Accepted(file) => {
                            return Ok(Lookup::Found(Found {
                                path: path.to_string(),
                                file,
                                how: How::LdSoCache,
                            }));
                        }
                        Candidate::Absent => step.notes.push(format!("{path} listed but missing")),
                        Candidate::Skipped(why) => step.notes.push(why),
                    }
                }
            }
            steps.push(step);
        } else if let Some(problem) = &self.cache_problem {
            // A cache glibc would ignore: say so where it would have been
            // searched, so a "not found" does not hide a damaged cache.
            steps.push(Step {
                source: How::LdSoCache,
                place: LD_SO_CACHE.to_string(),
                notes: vec![problem.clone()],
            });
        }

        // Rule 5: the default directories, unless DF_1_NODEFLIB.
        if nodeflib {
            steps.push(Step {
                source: How::DefaultDir,
                place: String::new(),
                notes: vec![format!(
                    "default directories skipped: {} has DF_1_NODEFLIB",
                    requester.path
                )],
            });
        } else {
            let dirs = self.system.dirs.clone();
            if let Some(f) = self.in_dirs(
                objects,
                name,
                &dirs,
                &How::DefaultDir,
                &mut steps,
                sensitive,
            )? {
                return Ok(Lookup::Found(f));
            }
        }
        Ok(Lookup::NotFound(steps))
    }

    /// The cache's answer for `name` under `query`.
    fn cache_lookup<'c>(
        &self,
        cache: &'c LdCache,
        name: &str,
        query: &CacheQuery,
    ) -> Option<&'c str> {
        let flags = self.cache_flags?;
        let names: Vec<&str> = query.hwcaps_names.iter().map(String::as_str).collect();
        let mut q = cache::Query::new(flags, &names);
        q.legacy = query.legacy;
        let path = cache.lookup_with(name.as_bytes(), &q)?;
        std::str::from_utf8(path).ok()
    }

    /// `open_path`: every directory, every subdirectory, in order.
    fn in_dirs(
        &self,
        objects: &Objects,
        name: &str,
        dirs: &[String],
        how: &How,
        steps: &mut Vec<Step>,
        sensitive: &mut bool,
    ) -> Result<Option<Found>, Fatal> {
        for dir in dirs {
            let mut notes = Vec::new();
            let info = self.probe.dir_info(objects, dir);
            *sensitive |= info.varies;
            for (k, sub) in self.subdirs.iter().enumerate() {
                if self.probe.lacks(&info, k) {
                    continue;
                }
                // Sized once: `format!` would grow it several times, and
                // this runs for every candidate of every search.
                let mut path = String::with_capacity(dir.len() + sub.len() + name.len());
                path.push_str(dir);
                path.push_str(sub);
                path.push_str(name);
                match self.try_file(objects, &path)? {
                    Candidate::Accepted(file) => {
                        return Ok(Some(Found {
                            path,
                            file,
                            how: how.clone(),
                        }));
                    }
                    Candidate::Absent => {}
                    Candidate::Skipped(why) => notes.push(why),
                }
            }
            steps.push(Step {
                source: how.clone(),
                place: dir.clone(),
                notes,
            });
        }
        Ok(None)
    }
}

/// Parse the root's `/etc/ld.so.cache` once. A damaged cache makes glibc
/// ignore it (`_dl_load_cache_lookup` maps it and checks the magic), so we
/// do the same and say why.
fn read_cache(objects: &Objects) -> (Option<Arc<LdCache>>, Option<String>) {
    // Read whole, like glibc's mmap of it; capped so a hostile root cannot
    // make us allocate without bound.
    const MAX_CACHE: u64 = 256 << 20;
    match objects.read_small(LD_SO_CACHE, MAX_CACHE) {
        // Absent, not a regular file, or larger than any real cache.
        Ok(None) => match objects.resolve(Path::new(LD_SO_CACHE)) {
            Ok(Some(f)) if f.kind == Kind::Regular && f.size > MAX_CACHE => (
                None,
                Some(format!(
                    "{LD_SO_CACHE}: {} bytes, more than the 256 MiB read limit, ignored",
                    f.size
                )),
            ),
            Ok(Some(f)) if f.kind != Kind::Regular => (
                None,
                Some(format!("{LD_SO_CACHE}: not a regular file, ignored")),
            ),
            _ => (None, None),
        },
        Err(e) => (None, Some(format!("{e}, ignored"))),
        Ok(Some(bytes)) => match LdCache::parse(&bytes) {
            Ok(c) => (Some(Arc::new(c)), None),
            Err(e) => (None, Some(format!("{LD_SO_CACHE}: {e}, ignored"))),
        },
    }
}

/// glibc's minor version in the root, from the newest `GLIBC_2.N` that its
/// libc.so.6 defines (glibc adds a version node with each release that adds
/// symbols). Decides whether legacy hwcaps subdirectories exist (< 2.37).
fn glibc_minor(objects: &Objects, system: &SystemDirs) -> Option<u32> {
    for dir in &system.dirs {
        let path = format!("{dir}libc.so.6");
        let Ok(Some(file)) = objects.resolve(Path::new(&path)) else {
            continue;
        };
        if let Ok(facts) = objects.facts(&file).as_ref() {
            return facts
                .verdef
                .iter()
                .filter_map(|d| d.name.strip_prefix("GLIBC_2."))
                .filter_map(|v| v.split('.').next()?.parse::<u32>().ok())
                .max();
        }
    }
    None
}
