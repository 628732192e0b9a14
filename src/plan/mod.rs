//! The plan: which builder files the final image needs on top of its base,
//! where they go, and whether the result will load.

use serde::Serialize;

pub use crate::copyset::{CopyItem, CopyKind, CopyPlan, Generated};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

mod include;
mod native;
mod package_data;
mod runtime;
mod traced;

pub use crate::ldso::cache_write::CacheRecord;
pub use native::{DeclaredCheck, Unverified};
pub use package_data::PackageData;
pub use runtime::{FindLibrarySupport, RuntimeCheck};
pub use traced::{LeftOut, ListedDirectory, Rule, TraceReport, TracedKind, TracedPath};

use crate::graph::{CpuDependence, variants};
use crate::graph::{EntryError, LoadOrder, Session, Standalone};
use crate::image::FinalImage;
use crate::ldso::abi::{ABIS, SystemDirs};
use crate::ldso::cpu::Cpu;
use crate::ldso::{Options, Step};
use crate::locks::lock;
use crate::objects::Objects;
use crate::rootfs::Kind;
use crate::rootfs::{self, Node, Tree};

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
    pub refused: Vec<(String, String)>,
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
}

impl PlanReport {
    /// Whether everything in scope would load in the final image, as far
    /// as ldslim can resolve it (DT_NEEDED, the Python code's run-time
    /// loads, declared loads).
    pub fn loads(&self) -> bool {
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
        self.unverified
            .iter()
            .any(|u| native::allow_names(allow, &u.object, u.soname.as_deref(), u.named.name()))
            || self.declared.iter().any(|d| {
                d.declared
                    .sonames
                    .iter()
                    .any(|s| native::allow_names(allow, &d.object, None, s))
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

/// Rounds of "resolve in the image, copy what is missing": each round
/// reaches one level deeper in dependency chains; 32 is far beyond any
/// real chain and bounds the work on a hostile tree.
const MAX_ROUNDS: usize = 32;

/// One unresolved edge in the final image.
struct MissingEdge {
    entry: String,
    /// The kinds of CPU whose load misses it; empty: every CPU.
    cpus: Vec<Cpu>,
    /// The requester's canonical path in the image.
    requester: String,
    needed: String,
    name: String,
    chain: Vec<String>,
    searched: Vec<Step>,
}

/// Plans the copy set by fixpoint: simulate the final image, find what
/// does not resolve, take the file the builder's loader would load for the
/// same edge (with its symlink chain), add it, and go again; then drop
/// anything no load uses, and check symbol versions.
pub fn plan(input: &PlanInput<'_>) -> PlanReport {
    let mut planner = Planner {
        input,
        items: BTreeMap::new(),
        attempts: HashMap::new(),
        env_dirs: BTreeSet::new(),
        conflicts: BTreeSet::new(),
        unfixable: BTreeMap::new(),
        builder_orders: Mutex::new(HashMap::new()),
        runtime: runtime::State::new(&input.runtime),
        native: native::State::default(),
    };
    let include_problems = planner.add_includes();
    let trace = planner.add_traces();
    let mut rounds = 0;
    let (image, orders) = loop {
        let (image, orders) = planner.simulate();
        rounds += 1;
        let missing = missing_edges(&orders);
        let loaders = missing_loaders(&orders);
        let runtime_added = planner.runtime_round(&image, &orders);
        if (missing.is_empty() && loaders.is_empty() && !runtime_added) || rounds >= MAX_ROUNDS {
            break (image, orders);
        }
        // All run: `|` not `||`.
        if !(planner.add_loaders(&loaders) | planner.add_for(&missing) | runtime_added) {
            break (image, orders);
        }
    };
    // Minimality: keep only what some load in the final image uses.
    let mut used = used_paths(&image, &orders);
    used.extend(planner.runtime_used());
    let before = planner.items.len();
    planner.items.retain(|dest, _| used.contains(dest));
    let (image, orders) = if planner.items.len() != before {
        planner.simulate()
    } else {
        (image, orders)
    };
    // Data files last: of the libraries the image really gets; they are
    // no ELF objects, so no load changes.
    let package_data = if input.package_data {
        planner.add_package_data()
    } else {
        Vec::new()
    };
    // What the image now has decides which possible loads it lacks.
    let (image, orders) = if package_data.is_empty() {
        (image, orders)
    } else {
        planner.simulate()
    };
    let mut report = planner.report(&image, &orders);
    report.include_problems = include_problems;
    report.trace = trace;
    report.package_data = package_data;
    report
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    items: BTreeMap<String, CopyItem>,
    /// How often an edge (requester's builder path, DT_NEEDED, kinds of
    /// CPU) was worked on.
    attempts: HashMap<EdgeKey, u32>,
    env_dirs: BTreeSet<String>,
    conflicts: BTreeSet<Conflict>,
    /// Edges that cannot be fixed from the builder, and why.
    unfixable: BTreeMap<EdgeKey, String>,
    /// The builder's loads, by entry and CPU (`None`: the builder's own).
    builder_orders: Mutex<BuilderOrders>,
    runtime: runtime::State,
    native: native::State,
}

type EdgeKey = (String, String, Vec<Cpu>);
type BuilderOrders = HashMap<(String, Option<Cpu>), Arc<Result<LoadOrder, EntryError>>>;

/// One entry loaded in the final image.
struct Run {
    entry: String,
    /// The kinds of CPU this load is for; empty: every CPU (the load does
    /// not depend on it).
    cpus: Vec<Cpu>,
    order: Result<LoadOrder, EntryError>,
}

type Orders = Vec<Run>;

impl Planner<'_> {
    fn options(&self) -> Options {
        let mut opts = self.input.opts.clone();
        if !self.env_dirs.is_empty() {
            let mut dirs: Vec<String> = opts.library_path.iter().cloned().collect();
            dirs.extend(self.env_dirs.iter().cloned());
            opts.library_path = Some(dirs.join(":"));
        }
        opts
    }

    /// Load every entry in the image as it would be with the current copies.
    fn simulate(&self) -> (Arc<FinalImage>, Orders) {
        let items: Vec<CopyItem> = self.items.values().cloned().collect();
        let image = Arc::new(FinalImage::new(
            self.input.builder.objects_shared(),
            self.input.target.clone(),
            self.input.target_name.clone(),
            self.input.scope.clone(),
            &items,
        ));
        let session = Session::over(image.clone(), self.options());
        // A load that depends on the CPU is checked on every kind of CPU,
        // one run per group of kinds that load the same. Libraries loaded
        // at run time are entries too.
        let entries: Vec<String> = self
            .input
            .entries
            .iter()
            .chain(self.runtime.entries.iter())
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let orders = entries
            .par_iter()
            .flat_map_iter(|e| {
                let cpu = session.cpu();
                match session.load_on(e, cpu) {
                    Ok(o) if o.cpu_sensitive => session
                        .loads_on_every_cpu(&o)
                        .into_iter()
                        .map(|(cpus, order)| Run {
                            entry: e.clone(),
                            cpus,
                            order: Ok(order),
                        })
                        .collect(),
                    order => vec![Run {
                        entry: e.clone(),
                        cpus: Vec::new(),
                        order,
                    }],
                }
            })
            .collect();
        (image, orders)
    }

    /// The builder's load of `entry`, on its own CPU or on `cpu`.
    fn builder_order(&self, entry: &str, cpu: Option<Cpu>) -> Arc<Result<LoadOrder, EntryError>> {
        let key = (entry.to_string(), cpu);
        if let Some(o) = lock(&self.builder_orders).get(&key) {
            return o.clone();
        }
        let o = Arc::new(match cpu {
            None => self.input.builder.load(entry),
            Some(c) => self.input.builder.load_on(entry, c),
        });
        lock(&self.builder_orders).insert(key, o.clone());
        o
    }

    /// The file the builder's loader loads for `needed` of `requester`
    /// (a builder path): as found, and its canonical path.
    fn builder_found(
        &self,
        entry: &str,
        requester: &str,
        needed: &str,
        cpu: Option<Cpu>,
    ) -> Option<(String, String)> {
        for start in [entry, requester] {
            let order = self.builder_order(start, cpu);
            let Ok(order) = order.as_ref() else { continue };
            for obj in &order.objects {
                if obj.real.as_deref() != Some(requester) {
                    continue;
                }
                for e in obj.needs.iter().filter(|e| e.needed == needed) {
                    let target = &order.objects[e.object];
                    if let (Some(p), Some(r)) = (&target.path, &target.real) {
                        return Some((p.clone(), r.clone()));
                    }
                }
            }
        }
        None
    }

    /// A base without a dynamic loader (distroless `static`): copy the
    /// builder's to the PT_INTERP path.
    fn add_loaders(&mut self, interps: &BTreeSet<String>) -> bool {
        let mut added = false;
        for interp in interps {
            let m = MissingEdge {
                entry: String::new(),
                cpus: Vec::new(),
                requester: String::new(),
                needed: interp.clone(),
                name: interp.clone(),
                chain: vec![],
                searched: vec![],
            };
            let builder = self.input.builder.objects();
            let Ok(Some(real)) = builder.resolve(Path::new(interp)) else {
                continue;
            };
            // The kernel opens PT_INTERP as written, so the file goes at
            // that path itself: the builder's own links to it (often via
            // a /lib64 -> usr/lib64 directory link) need not exist.
            added |= self.add_file(interp.clone(), real.path.display().to_string(), &m);
        }
        added
    }

    /// Work on the missing edges; false when nothing changed.
    fn add_for(&mut self, missing: &[MissingEdge]) -> bool {
        let mut changed = false;
        let mut seen = BTreeSet::new();
        for m in missing {
            if !seen.insert((m.requester.clone(), m.needed.clone(), m.cpus.clone())) {
                continue;
            }
            let requester = self
                .items
                .get(&m.requester)
                .map(|i| i.src.clone())
                .unwrap_or_else(|| m.requester.clone());
            let key = (requester.clone(), m.needed.clone(), m.cpus.clone());
            if self.unfixable.contains_key(&key) {
                continue;
            }
            // What the builder loads on the same CPU (any of the group:
            // they load the same in the image); its own CPU when the load
            // does not depend on it.
            let cpu = m.cpus.first().copied();
            let Some((found, real)) = self.builder_found(&m.entry, &requester, &m.needed, cpu)
            else {
                self.unfixable
                    .insert(key, "not found in the builder either".into());
                continue;
            };
            // A file of the scope is already in the image: if the image's
            // loader still misses it, the builder found it some other way
            // (typically python:3.x-slim's /usr/local/lib/libpython3.x.so
            // through its ld.so.cache), and only the fix can help.
            let in_scope = self
                .input
                .scope
                .iter()
                .any(|s| Path::new(&real).starts_with(s));
            let attempt = {
                let a = self.attempts.entry(key.clone()).or_insert(0);
                *a += 1;
                *a + u32::from(in_scope)
            };
            let added = match attempt {
                1 => self.add_in_place(m, &found, &real),
                2 => self.add_fix(m, &found, &real),
                _ => {
                    self.unfixable.insert(
                        key,
                        format!("found in the builder at {found}; still not found in the image after copying it"),
                    );
                    false
                }
            };
            // Round two must still try the fix after an in-place copy that
            // added nothing new.
            changed |= added || attempt == 1;
        }
        changed
    }

    /// Copy the builder file at its builder directory, with the symlinks
    /// that lead from the name the loader opens to the real file.
    fn add_in_place(&mut self, m: &MissingEdge, found: &str, real: &str) -> bool {
        let builder = self.input.builder.objects();
        let found = Path::new(found);
        let (Some(dir), Some(name)) = (found.parent(), found.file_name()) else {
            return false;
        };
        let Ok(Some(dir)) = builder.resolve(dir) else {
            return false;
        };
        let start = dir.path.join(name);
        let mut added = false;
        if let Ok(links) = rootfs::symlink_chain(builder.tree(), &start) {
            for (link, text) in links {
                added |= self.add_item(
                    link.display().to_string(),
                    link.display().to_string(),
                    CopyKind::Symlink {
                        target: text.display().to_string(),
                    },
                    m,
                );
            }
        }
        added |= self.add_file(real.to_string(), real.to_string(), m);
        added
    }

    /// The library is copied but the image's loader still does not find
    /// it where the builder's did: relocate it into a default directory,
    /// or add its directory to LD_LIBRARY_PATH.
    fn add_fix(&mut self, m: &MissingEdge, found: &str, real: &str) -> bool {
        match self.input.fix {
            Fix::Env => {
                let builder = self.input.builder.objects();
                let dir = Path::new(found)
                    .parent()
                    .and_then(|d| builder.resolve(d).ok().flatten());
                match dir {
                    Some(d) => self.env_dirs.insert(d.path.display().to_string()),
                    None => false,
                }
            }
            Fix::Relocate => {
                // A default directory of the loader for the library's own
                // ABI (aarch64's for an arm64 library).
                let builder = self.input.builder.objects();
                let abi = builder
                    .resolve(Path::new(real))
                    .ok()
                    .flatten()
                    .and_then(|f| {
                        let facts = builder.facts(&f);
                        facts
                            .as_ref()
                            .as_ref()
                            .ok()
                            .and_then(|e| crate::ldso::abi::Abi::for_object(e))
                    })
                    .unwrap_or(ABIS[0]);
                let Some(dir) = default_dir(&self.input.target, &abi) else {
                    return false;
                };
                // The loader opens the DT_NEEDED name itself, so the real
                // file goes there under that name: no link needed.
                self.add_file(format!("{dir}{}", m.name), real.to_string(), m)
            }
        }
    }

    fn add_file(&mut self, dest: String, src: String, m: &MissingEdge) -> bool {
        let builder = self.input.builder.objects();
        let Ok(Some(st)) = builder.tree().lstat(Path::new(&src)) else {
            return false;
        };
        if st.node != Node::Regular {
            return false;
        }
        self.add_item(
            dest,
            src,
            CopyKind::File {
                mode: st.mode,
                size: st.size,
            },
            m,
        )
    }

    fn add_item(&mut self, dest: String, src: String, kind: CopyKind, m: &MissingEdge) -> bool {
        // A scope file is copied by the user at its own path; a second copy
        // elsewhere (a relocation) is still an item.
        if dest == src
            && self
                .input
                .scope
                .iter()
                .any(|s| Path::new(&src).starts_with(s))
        {
            return false;
        }
        let dest = target_path(self.input.target.as_ref(), &dest);
        if self.items.contains_key(&dest) {
            return false;
        }
        if let Ok(Some(_)) = self.input.target.lstat(Path::new(&dest)) {
            self.conflicts.insert(Conflict {
                dest,
                src,
                needed_as: m.name.clone(),
            });
            return false;
        }
        self.items.insert(
            dest.clone(),
            CopyItem {
                dest,
                src,
                kind,
                needed_as: m.name.clone(),
                chain: m.chain.clone(),
            },
        );
        true
    }

    fn report(self, image: &Arc<FinalImage>, orders: &Orders) -> PlanReport {
        let (runtime_checks, find_library) = self.runtime_report(image);
        let declared = self.declared_report(image);
        let unverified = self.unverified(image, orders);
        let mut missing = BTreeSet::new();
        for m in missing_edges(orders) {
            let requester = self
                .items
                .get(&m.requester)
                .map(|i| i.src.clone())
                .unwrap_or_else(|| m.requester.clone());
            let reason = self
                .unfixable
                .get(&(requester, m.needed.clone(), m.cpus.clone()))
                .cloned()
                .unwrap_or_else(|| "not found in the image".into());
            missing.insert((
                FinalMissing {
                    name: m.name,
                    needed_by: m.requester,
                    entry: m.entry,
                    reason,
                    searched: m.searched,
                    cpus: Vec::new(),
                },
                m.cpus,
            ));
        }
        // One line per (name, needed_by): the smallest entry stands for
        // all, with every kind of CPU it fails on (none named when it
        // fails on all of them).
        let mut by_edge: BTreeMap<(String, String), (FinalMissing, BTreeSet<Cpu>, bool)> =
            BTreeMap::new();
        for (m, cpus) in missing {
            let slot = by_edge
                .entry((m.name.clone(), m.needed_by.clone()))
                .or_insert_with(|| (m, BTreeSet::new(), false));
            slot.2 |= cpus.is_empty();
            slot.1.extend(cpus);
        }
        let by_edge: Vec<FinalMissing> = by_edge
            .into_values()
            .map(|(mut m, cpus, everywhere)| {
                if !everywhere && !Cpu::kinds().iter().all(|k| cpus.contains(k)) {
                    let mut cpus: Vec<Cpu> = cpus.into_iter().collect();
                    cpus.sort_by_key(|c| Cpu::kinds().iter().position(|k| k == c));
                    m.cpus = cpus.iter().map(Cpu::name).collect();
                }
                m
            })
            .collect();
        let mut refused = Vec::new();
        for run in orders {
            match &run.order {
                Err(e) => refused.push((run.entry.clone(), e.to_string())),
                Ok(o) => {
                    if let Some(f) = &o.fatal {
                        refused.push((run.entry.clone(), f.to_string()));
                    }
                }
            }
        }
        refused.sort();
        refused.dedup();
        // What differs between kinds of CPU in the final image, from the
        // runs of each CPU-dependent entry.
        let mut by_entry: BTreeMap<&str, Vec<(Vec<Cpu>, LoadOrder)>> = BTreeMap::new();
        for run in orders.iter().filter(|r| !r.cpus.is_empty()) {
            if let Ok(o) = &run.order {
                by_entry
                    .entry(&run.entry)
                    .or_default()
                    .push((run.cpus.clone(), o.clone()));
            }
        }
        let cpu_dependent: BTreeSet<CpuDependence> = by_entry
            .values()
            .flat_map(|g| variants::compare(g))
            .collect();
        let mut versions = version_problems(image, orders);
        for v in versions.iter_mut().filter(|v| v.provider_in_target) {
            v.targets_with_it = targets_defining(&v.from, &v.version);
        }
        let bytes = self
            .items
            .values()
            .map(|i| match i.kind {
                CopyKind::File { size, .. } | CopyKind::Generated { size, .. } => size,
                CopyKind::Symlink { .. } => 0,
            })
            .sum();
        let mut env = Vec::new();
        if let Some(p) = self
            .options()
            .library_path
            .filter(|_| !self.env_dirs.is_empty())
        {
            env.push(("LD_LIBRARY_PATH".to_string(), p));
        }
        PlanReport {
            target: self.input.target_name.clone(),
            copy: CopyPlan {
                target: self.input.target_name.clone(),
                items: self.items.into_values().collect(),
                env,
            },
            bytes,
            checked: orders
                .iter()
                .map(|r| r.entry.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            missing: by_edge,
            versions,
            conflicts: self.conflicts.into_iter().collect(),
            refused,
            owners: BTreeMap::new(),
            cpu_dependent: cpu_dependent.into_iter().collect(),
            runtime: runtime_checks,
            find_library,
            runtime_checked: self.input.runtime_checked,
            declared,
            declared_problems: self.native.problems,
            unverified,
            include_problems: Vec::new(),
            trace: None,
            package_data: Vec::new(),
        }
    }
}

/// Every DT_NEEDED edge that ends in "not found", with its entry and the
/// chain of objects from the entry to the requester; failures excused by
/// the standalone rule (`graph::standalone`: a wheel's vendored library
/// reached through the RPATH of the extension module that loads it) left
/// out.
fn missing_edges(orders: &Orders) -> Vec<MissingEdge> {
    let loads = || orders.iter().filter_map(|run| run.order.as_ref().ok());
    let mut asked: HashMap<&str, Vec<&str>> = HashMap::new();
    for o in loads() {
        let Some(entry) = o.objects.first().and_then(|obj| obj.real.as_deref()) else {
            continue;
        };
        for e in &o.objects[0].needs {
            if o.objects[e.object].path.is_none() {
                asked.entry(entry).or_default().push(e.needed.as_str());
            }
        }
    }
    let standalone = Standalone::find(loads(), &asked);
    let mut out = Vec::new();
    for run in orders {
        let Ok(o) = &run.order else { continue };
        for (i, obj) in o.objects.iter().enumerate() {
            let Some(requester) = obj.real.clone() else {
                continue;
            };
            for e in &obj.needs {
                let target = &o.objects[e.object];
                if target.path.is_some() {
                    continue;
                }
                if i == 0 && standalone.excused(&requester, &e.needed).is_some() {
                    continue;
                }
                out.push(MissingEdge {
                    entry: run.entry.clone(),
                    cpus: run.cpus.clone(),
                    requester: requester.clone(),
                    needed: e.needed.clone(),
                    name: target.name.clone(),
                    chain: chain_to(o, i),
                    searched: target.searched.clone(),
                });
            }
        }
    }
    out
}

/// Loaders (PT_INTERP paths) the image lacks.
fn missing_loaders(orders: &Orders) -> BTreeSet<String> {
    orders
        .iter()
        .filter_map(|run| match &run.order {
            Err(EntryError::NoLoader { interp, .. }) => Some(interp.clone()),
            _ => None,
        })
        .collect()
}

/// Canonical paths from the entry down to object `i`, following `loaded_by`.
fn chain_to(o: &LoadOrder, i: usize) -> Vec<String> {
    let mut chain = Vec::new();
    let mut cur = Some(i);
    while let Some(c) = cur {
        if chain.len() > o.objects.len() {
            break;
        }
        if let Some(obj) = o.objects.get(c) {
            chain.push(
                obj.real
                    .clone()
                    .or_else(|| obj.path.clone())
                    .unwrap_or_default(),
            );
            cur = obj.loaded_by;
        } else {
            break;
        }
    }
    chain.reverse();
    chain
}

/// Image paths some load uses: each loaded object's real path and every
/// symlink met on the way from the path the loader opened.
fn used_paths(image: &FinalImage, orders: &Orders) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for run in orders {
        let Ok(o) = &run.order else { continue };
        for obj in &o.objects {
            if let Some(r) = &obj.real {
                used.insert(r.clone());
            }
            if let Some(p) = &obj.path
                && let Ok(links) = rootfs::symlink_chain(image, Path::new(p))
            {
                used.extend(links.into_iter().map(|(l, _)| l.display().to_string()));
            }
        }
    }
    used
}

/// `dest` with its directory resolved inside the target, so that a
/// target's `lib -> usr/lib` is honoured the way `COPY` honours it. When
/// the directory does not exist yet, its longest existing ancestor is
/// resolved and the rest appended (created as plain directories there):
/// a layer's `lib/` entry must never replace the target's `lib` link.
fn target_path(target: &dyn Tree, dest: &str) -> String {
    let p = Path::new(dest);
    let Some(name) = p.file_name() else {
        return dest.to_string();
    };
    let mut missing = vec![name];
    let mut dir = p.parent();
    while let Some(d) = dir {
        match rootfs::resolve(target, d) {
            Ok(Some(r)) if r.kind == Kind::Directory => {
                let mut out = r.path;
                out.extend(missing.iter().rev());
                return out.display().to_string();
            }
            Ok(None) => match d.file_name() {
                Some(n) => {
                    missing.push(n);
                    dir = d.parent();
                }
                None => break,
            },
            _ => break,
        }
    }
    dest.to_string()
}

/// The first default directory of the target's loader for `abi` that the
/// target has as a directory.
fn default_dir(target: &Arc<dyn Tree>, abi: &crate::ldso::abi::Abi) -> Option<String> {
    let objects = Objects::new(target.clone());
    SystemDirs::detect(&objects, abi, abi.interp)
        .dirs
        .into_iter()
        .find(|d| matches!(objects.resolve(Path::new(d)), Ok(Some(r)) if r.kind == Kind::Directory))
}

/// Symbol versions each object of the image requires from what it loads
/// there (`elf/dl-version.c`: a missing non-weak version is fatal).
fn version_problems(image: &FinalImage, orders: &Orders) -> Vec<VersionProblem> {
    let mut out = BTreeSet::new();
    for run in orders {
        let Ok(o) = &run.order else { continue };
        for obj in &o.objects {
            let (Some(facts), Some(real)) = (&obj.facts, &obj.real) else {
                continue;
            };
            for vn in &facts.verneed {
                let Some(edge) = obj.needs.iter().find(|e| e.needed == vn.file) else {
                    continue;
                };
                let provider = &o.objects[edge.object];
                let Some(pf) = &provider.facts else { continue };
                for v in vn.versions.iter().filter(|v| !v.weak) {
                    if pf.verdef.iter().any(|d| d.name == v.name) {
                        continue;
                    }
                    let family = v.name.rsplit_once('_').map_or(v.name.as_str(), |(f, _)| f);
                    let mut has: Vec<String> = pf
                        .verdef
                        .iter()
                        .filter(|d| !d.base && d.name.starts_with(family))
                        .map(|d| d.name.clone())
                        .collect();
                    has.sort_by_key(|v| version_key(v));
                    let newest: Vec<String> = has.into_iter().rev().take(3).collect();
                    let provider_path = provider.real.clone().unwrap_or_default();
                    let in_target = !image.is_from_builder(Path::new(&provider_path));
                    out.insert(VersionProblem {
                        object: real.clone(),
                        version: v.name.clone(),
                        from: vn.file.clone(),
                        provider: provider_path,
                        provider_in_target: in_target,
                        provider_has: newest,
                        targets_with_it: Vec::new(),
                    });
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Embedded targets (default architecture) whose object with soname
/// `soname` defines `version`: where a program that needs it can go.
pub fn targets_defining(soname: &str, version: &str) -> Vec<String> {
    crate::target::embedded_names()
        .into_iter()
        .filter(|n| !n.contains(':'))
        .filter(|n| {
            crate::target::embedded(n).is_ok_and(|t| {
                t.elf_objects().any(|(_, f)| {
                    f.soname.as_deref() == Some(soname)
                        && f.verdef.iter().any(|d| d.name == version)
                })
            })
        })
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Orders `GLIBC_2.9` before `GLIBC_2.10`.
fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}
