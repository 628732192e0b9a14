//! Run-time loads in the plan: every way a load works in the builder
//! (`dlopen` of a name or a path, `ctypes.util.find_library`) must work in
//! the final image too. Its library is copied like a DT_NEEDED one (with
//! its symlinks, relocated when the image's loader would not find it where
//! the builder's did) and checked like an object of the scope (its own
//! DT_NEEDED closure). A load through `find_library` also needs what that
//! function runs, which a distroless image lacks: `/sbin/ldconfig` (copied
//! from the builder) and an `/etc/ld.so.cache` that lists the library
//! (written by ldslim, `ldso::cache_write`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::groups::Cause;
use super::{CacheRecord, CopyItem, CopyKind, Generated, MissingEdge, Planner};
use crate::graph::Session;
use crate::image::FinalImage;
use crate::ldso::LD_SO_CACHE;
use crate::ldso::cache::{LdCache, default_flags_id};
use crate::runtime::resolve::{LDCONFIG, Resolver};
use crate::runtime::{CallSite, Outcome, RuntimeLoad, Way};

/// What one run-time load gives in the final image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RuntimeCheck {
    pub package: String,
    pub library: String,
    /// Every way that works in the builder, and what it gives in the image.
    pub ways: Vec<ImageWay>,
    /// Accepted with `--allow-runtime`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

impl RuntimeCheck {
    /// Whether every way that works in the builder works in the image.
    pub fn loads(&self) -> bool {
        self.ways.iter().all(|w| w.image.found().is_some())
    }
}

/// A way, as it went in the builder and goes in the image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ImageWay {
    pub way: Way,
    pub builder: Outcome,
    pub image: Outcome,
}

/// What the plan adds so that `ctypes.util.find_library` works in the
/// image, and for which calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindLibrarySupport {
    /// Whether it is added (`false` with `--no-find-library`: those
    /// calls return `None` in the image).
    pub added: bool,
    /// The builder's `ldconfig`, at its path in the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ldconfig: Option<String>,
    /// The generated cache, at its path in the image, and what it lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    pub entries: Vec<CacheRecord>,
    /// The calls that need it (`find_library("pq")`), sorted.
    pub needed_by: Vec<String>,
    /// Why it could not be added, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Who asks for a load.
#[derive(Clone, Debug)]
pub(super) enum Origin {
    /// The scope's Python code: an index into `PlanInput::runtime`.
    Python(usize),
    /// A `.note.dlopen` entry (reported by `native`).
    Declared,
}

/// One way that works in the builder, to make work in the image.
#[derive(Clone, Debug)]
pub(super) struct Need {
    pub(super) origin: Origin,
    /// The object that calls `dlopen` itself (a path in the image), for a
    /// declared load; Python's calls go through `Callers`.
    pub(super) caller: Option<String>,
    pub(super) way: Way,
    pub(super) builder: Outcome,
    /// The name `dlopen` gets: the way's own, or what `find_library`
    /// returned.
    pub(super) name: String,
    /// Where it is called, for reports (`file:line`).
    pub(super) site: Option<CallSite>,
}

/// The run-time part of a plan as it is worked out.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) needs: Vec<Need>,
    /// Image paths of run-time libraries (and `ldconfig`) to load as
    /// entries, so that their own DT_NEEDED closure is checked.
    pub(super) entries: BTreeSet<String>,
    /// Why each of `entries` is one: what the copy groups name as needing
    /// its closure.
    pub(super) causes: BTreeMap<String, BTreeSet<Cause>>,
    /// Image paths the run-time ways use (links and files), and what
    /// `--include` adds.
    pub(super) used: BTreeSet<String>,
    records: BTreeMap<String, CacheRecord>,
    ldconfig: Option<String>,
    cache: Option<String>,
    problem: Option<String>,
    attempts: BTreeMap<usize, u32>,
}

impl State {
    pub(super) fn new(loads: &[RuntimeLoad]) -> State {
        let mut needs = Vec::new();
        for (i, l) in loads.iter().enumerate() {
            for t in &l.tried {
                let Outcome::Found { soname, .. } = &t.builder else {
                    continue;
                };
                needs.push(Need {
                    origin: Origin::Python(i),
                    caller: None,
                    way: t.way.clone(),
                    builder: t.builder.clone(),
                    name: soname.clone().unwrap_or_else(|| t.way.name().to_string()),
                    site: l.calls.first().cloned(),
                });
            }
        }
        State {
            needs,
            ..State::default()
        }
    }
}

impl Planner<'_> {
    /// Check every run-time way in `image` and add what one lacks; true
    /// when something was added.
    pub(super) fn runtime_round(
        &mut self,
        image: &Arc<FinalImage>,
        orders: &super::Orders,
    ) -> bool {
        self.discover_declared(image, orders);
        if self.runtime.needs.is_empty() {
            return false;
        }
        let session = Session::over(image.clone(), self.options());
        let resolver = Resolver::new(&session, self.input.callers.clone());
        let mut changed = false;
        let entries_before = self.runtime.entries.len();
        let needs = self.runtime.needs.clone();
        for (i, need) in needs.iter().enumerate() {
            let finds = need.way.uses_find_library();
            if finds {
                if !self.input.find_library {
                    continue;
                }
                changed |= self.add_ldconfig();
            }
            let from = match &need.way {
                Way::Dlopen { from, .. } | Way::FindAndOpen { from, .. } => *from,
                Way::Find { .. } => crate::runtime::Caller::Ctypes,
            };
            let Some((b_path, b_real)) = need
                .builder
                .found()
                .map(|(p, r)| (p.to_string(), r.to_string()))
            else {
                continue;
            };
            let in_image = match (&need.caller, &self.input.callers.interpreter) {
                (Some(obj), main) => {
                    resolver.dlopen_by(obj, main.as_deref().unwrap_or(obj), &need.name)
                }
                (None, _) => resolver.dlopen(from, &need.name),
            };
            match in_image {
                Outcome::Found { path, real, .. } => {
                    let cause = match (&need.origin, &need.caller) {
                        (Origin::Python(l), _) => Cause::Python(*l),
                        (Origin::Declared, Some(obj)) => Cause::Declared(obj.clone()),
                        (Origin::Declared, None) => Cause::Reason(need.way.describe()),
                    };
                    self.runtime
                        .causes
                        .entry(real.clone())
                        .or_default()
                        .insert(cause);
                    self.runtime.entries.insert(real.clone());
                    self.runtime.used.insert(real);
                    if let Ok(links) =
                        crate::rootfs::symlink_chain(image.as_ref(), Path::new(&path))
                    {
                        self.runtime
                            .used
                            .extend(links.into_iter().map(|(l, _)| l.display().to_string()));
                    }
                    if finds && !self.runtime.records.contains_key(&need.name) {
                        self.add_record(&need.name, &path);
                        changed = true;
                    }
                }
                Outcome::NotFound { .. } => {
                    let attempt = {
                        let a = self.runtime.attempts.entry(i).or_insert(0);
                        *a += 1;
                        *a
                    };
                    let m = MissingEdge {
                        entry: String::new(),
                        cpus: Vec::new(),
                        requester: String::new(),
                        needed: need.name.clone(),
                        name: need.name.clone(),
                        chain: vec![match (&need.site, &need.caller) {
                            (Some(s), _) => {
                                format!("{} (at run time: {})", s.place(), need.way.describe())
                            }
                            (None, Some(obj)) => {
                                format!(
                                    "{obj} (at run time: {}, declared in its .note.dlopen)",
                                    need.way.describe()
                                )
                            }
                            (None, None) => format!("at run time: {}", need.way.describe()),
                        }],
                        searched: vec![],
                    };
                    let added = match attempt {
                        1 => {
                            let a = self.add_in_place(&m, &b_path, &b_real);
                            // The cache lists it where it is copied: the
                            // loader then finds it there, default directory
                            // or not.
                            if finds {
                                let dest = self.in_place_dest(&b_path);
                                self.add_record(&need.name, &dest);
                            }
                            a
                        }
                        // By name, not by path: relocate where the image's
                        // loader looks.
                        2 if !need.name.contains('/') => self.add_fix(&m, &b_path, &b_real),
                        _ => false,
                    };
                    changed |= added || attempt == 1;
                }
            }
        }
        if changed {
            self.write_cache();
        }
        // A library found now is an entry of the next round: its own
        // DT_NEEDED closure must load too.
        changed || self.runtime.entries.len() != entries_before
    }

    /// Where `add_in_place` puts the builder's `path` in the image: its
    /// directory resolved in the builder (a merged-/usr builder's `/lib/…`
    /// is `/usr/lib/…`), then in the target.
    fn in_place_dest(&self, path: &str) -> String {
        let p = Path::new(path);
        let builder = self.input.builder.objects();
        let canonical = match (p.parent(), p.file_name()) {
            (Some(dir), Some(name)) => match builder.resolve(dir) {
                Ok(Some(d)) => d.path.join(name).display().to_string(),
                _ => path.to_string(),
            },
            _ => path.to_string(),
        };
        super::target_path(self.input.target.as_ref(), &canonical)
    }

    /// The builder's `/sbin/ldconfig`, once; true when it was added now.
    fn add_ldconfig(&mut self) -> bool {
        if self.runtime.ldconfig.is_some() || self.runtime.problem.is_some() {
            return false;
        }
        let builder = self.input.builder.objects();
        let real = match builder.resolve(Path::new(LDCONFIG)) {
            Ok(Some(r)) => r.path.display().to_string(),
            _ => {
                self.runtime.problem = Some(format!(
                    "the builder has no {LDCONFIG} to copy, which ctypes.util.find_library runs"
                ));
                return false;
            }
        };
        let m = MissingEdge {
            entry: String::new(),
            cpus: Vec::new(),
            requester: String::new(),
            needed: LDCONFIG.into(),
            name: LDCONFIG.into(),
            chain: vec!["ctypes.util.find_library (runs /sbin/ldconfig -p)".into()],
            searched: vec![],
        };
        let dest = super::target_path(self.input.target.as_ref(), LDCONFIG);
        if self
            .input
            .target
            .lstat(Path::new(&dest))
            .ok()
            .flatten()
            .is_some()
        {
            // The base has one: it is used, as is.
            self.runtime.ldconfig = Some(dest);
            return false;
        }
        let added = self.add_file(LDCONFIG.to_string(), real, &m);
        self.runtime
            .causes
            .entry(dest.clone())
            .or_default()
            .insert(Cause::FindLibrary);
        self.runtime.entries.insert(dest.clone());
        self.runtime.used.insert(dest.clone());
        self.runtime.ldconfig = Some(dest);
        added
    }

    fn add_record(&mut self, soname: &str, path: &str) {
        let flags = default_flags_id(62, true).unwrap_or(0x0303);
        self.runtime.records.insert(
            soname.to_string(),
            CacheRecord {
                name: soname.to_string(),
                path: path.to_string(),
                flags,
            },
        );
    }

    /// The generated `/etc/ld.so.cache`: what the base's own cache lists
    /// (if it has one ldslim can read), and the records.
    fn write_cache(&mut self) {
        if self.runtime.records.is_empty() {
            return;
        }
        let dest = super::target_path(self.input.target.as_ref(), LD_SO_CACHE);
        let mut entries: Vec<CacheRecord> = Vec::new();
        let target = crate::objects::Objects::new(self.input.target.clone());
        if let Ok(Some(bytes)) = target.read_small(LD_SO_CACHE, 256 << 20)
            && let Ok(c) = LdCache::parse(&bytes)
        {
            for e in c.entries() {
                entries.push(CacheRecord {
                    name: e.name_lossy().into_owned(),
                    path: e.path_lossy().into_owned(),
                    flags: e.flags,
                });
            }
        }
        for r in self.runtime.records.values() {
            if !entries.iter().any(|e| e.name == r.name) {
                entries.push(r.clone());
            }
        }
        entries.sort();
        let kind = CopyKind::generated(Generated::LdSoCache { entries });
        self.items.insert(
            dest.clone(),
            CopyItem {
                dest: dest.clone(),
                src: dest.clone(),
                kind,
                needed_as: LD_SO_CACHE.into(),
                chain: vec![
                    "ctypes.util.find_library (runs /sbin/ldconfig -p, which reads it)".into(),
                ],
            },
        );
        self.runtime.used.insert(dest.clone());
        self.runtime.cache = Some(dest);
    }

    /// Image paths the run-time ways use, kept by the minimality pass.
    pub(super) fn runtime_used(&self) -> BTreeSet<String> {
        self.runtime.used.clone()
    }

    /// What each load gives in the final `image`, and what was added for
    /// `find_library`.
    pub(super) fn runtime_report(
        &self,
        image: &Arc<FinalImage>,
    ) -> (Vec<RuntimeCheck>, Option<FindLibrarySupport>) {
        let loads = &self.input.runtime;
        if loads.is_empty() {
            return (Vec::new(), None);
        }
        let session = Session::over(image.clone(), self.options());
        let resolver = Resolver::new(&session, self.input.callers.clone());
        let mut checks: Vec<RuntimeCheck> = loads
            .iter()
            .map(|l| RuntimeCheck {
                package: l.package.clone(),
                library: l.library.clone(),
                ways: Vec::new(),
                allowed: l.allowed,
            })
            .collect();
        let mut needed_by = BTreeSet::new();
        for need in &self.runtime.needs {
            if need.way.uses_find_library() {
                needed_by.insert(match &need.way {
                    Way::Find { name } | Way::FindAndOpen { name, .. } => {
                        format!("find_library({name:?})")
                    }
                    Way::Dlopen { .. } => continue,
                });
            }
            let super::runtime::Origin::Python(load) = need.origin else {
                continue;
            };
            checks[load].ways.push(ImageWay {
                way: need.way.clone(),
                builder: need.builder.clone(),
                image: resolver.resolve(&need.way),
            });
        }
        // A load that works in the builder in no way has nothing to check
        // here: the scan reports it.
        checks.retain(|c| !c.ways.is_empty());
        checks.sort();
        let support = (!needed_by.is_empty()).then(|| FindLibrarySupport {
            added: self.input.find_library && self.runtime.problem.is_none(),
            ldconfig: self.runtime.ldconfig.clone(),
            cache: self.runtime.cache.clone(),
            entries: self.runtime.records.values().cloned().collect(),
            needed_by: needed_by.into_iter().collect(),
            problem: self.runtime.problem.clone().or_else(|| {
                (!self.input.find_library).then(|| {
                    "not added (--no-find-library): these calls return None in the image"
                        .to_string()
                })
            }),
        });
        (checks, support)
    }
}
