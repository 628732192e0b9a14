//! The plan: which builder files the final image needs on top of its base,
//! where they go, and whether the result will load.

pub use crate::copyset::{CopyItem, CopyKind, CopyPlan, Generated};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod check;
mod groups;
mod include;
mod layer;
mod native;
mod outcome;
mod package_data;
mod prune;
mod python;
mod runtime;
mod simulate;
mod traced;

pub use crate::ldso::cache_write::CacheRecord;
pub use check::targets_defining;
pub use groups::{CopyGroup, Needer};
pub use layer::{Layer, LayerItem, LayerPart, PythonLayer, merged};
pub use native::{DeclaredCheck, Unverified};
pub use outcome::{
    Conflict, FinalMissing, Fix, PlanInput, PlanReport, Refused, Verdict, VersionProblem,
};
pub use package_data::PackageData;
pub use prune::{Evidence, Kept, Prune, Pruned};
pub use runtime::{FindLibrarySupport, RuntimeCheck};
pub use traced::{LeftOut, ListedDirectory, Rule, TraceReport, TracedKind, TracedPath};

use crate::graph::{CpuDependence, variants};
use crate::graph::{EntryError, LoadOrder};
use crate::image::{BuilderStats, FinalImage};
use crate::ldso::Options;
use crate::ldso::abi::{ABIS, SystemDirs};
use crate::ldso::cpu::Cpu;
use crate::locks::lock;
use crate::objects::Objects;
use crate::rootfs::Kind;
use crate::rootfs::{self, Node, Tree};
use check::{MissingEdge, Orders, missing_edges, missing_loaders, used_paths, version_problems};

/// Whether a copied data file has the name of something a load searched
/// for or mapped (then the loads must be simulated again).
fn package_data_meets_loads(data: &[PackageData], orders: &Orders) -> bool {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for run in orders {
        let Ok(o) = &run.order else { continue };
        for obj in &o.objects {
            names.insert(file_name(&obj.name));
            names.extend(obj.needs.iter().map(|e| file_name(&e.needed)));
            names.extend(obj.path.iter().chain(&obj.real).map(|p| file_name(p)));
        }
    }
    data.iter()
        .flat_map(|d| &d.files)
        .any(|f| names.contains(file_name(f)))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Rounds of "resolve in the image, copy what is missing": each round
/// reaches one level deeper in dependency chains; 32 is far beyond any
/// real chain and bounds the work on a hostile tree.
const MAX_ROUNDS: usize = 32;

/// Plans the copy set by fixpoint: simulate the final image, find what
/// does not resolve, take the file the builder's loader would load for the
/// same edge (with its symlink chain), add it, and go again; then drop
/// anything no load uses, and check symbol versions.
pub fn plan(input: &PlanInput<'_>) -> PlanReport {
    // The Python files first: what `--prune` leaves out of them is no entry
    // of the image, and what only it loaded is not copied. Listing them
    // keeps one core busy; the other reads what the scope's objects hint
    // at loading, which the last check needs.
    let ((layer, pruned_paths), early_hints) = rayon::join(
        || python_layer(input),
        || {
            if input.runtime_checked {
                native::early_hints(input.builder.objects(), &input.entries)
            } else {
                HashMap::new()
            }
        },
    );
    let mut planner = Planner {
        pruned: pruned_paths,
        early_hints,
        input,
        items: BTreeMap::new(),
        attempts: HashMap::new(),
        env_dirs: BTreeSet::new(),
        conflicts: BTreeSet::new(),
        unfixable: BTreeMap::new(),
        builder_orders: Mutex::new(HashMap::new()),
        runtime: runtime::State::new(&input.runtime),
        native: native::State::default(),
        builder_stats: Default::default(),
        last: Mutex::new(None),
    };
    let include_problems = planner.add_includes();
    let trace = planner.add_traces();
    let mut rounds = 0;
    let mut earlier = None;
    let (image, orders) = loop {
        let (image, orders) = planner.simulate(earlier.take());
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
        earlier = Some(orders);
    };
    // Minimality: keep only what some load in the final image uses.
    let mut used = used_paths(&image, &orders);
    used.extend(planner.runtime_used());
    let before = planner.items.len();
    planner.items.retain(|dest, _| used.contains(dest));
    let (image, orders) = if planner.items.len() != before {
        planner.simulate(None)
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
    // What the image now has decides which possible loads it lacks. A
    // load changes only if a data file has a name it searches for (a
    // non-ELF file found by a search ends it with "invalid ELF header",
    // `open_verify` in elf/dl-load.c): otherwise the loads are kept and
    // only the image is made again.
    let (image, orders) = if package_data.is_empty() {
        (image, orders)
    } else if package_data_meets_loads(&package_data, &orders) {
        planner.simulate(Some(orders))
    } else {
        (planner.image(), orders)
    };
    // Python's own consistency last: it reads the image, changes no load.
    let python_checks = planner.python_checks(&image);
    // Two readings of the final image that change nothing, one per core:
    // what needs each copy, and the run-time loads the image may lack.
    let (groups, unverified) = rayon::join(
        || planner.groups(&image, &orders, &package_data),
        || planner.unverified(&image, &orders),
    );
    let mut report = planner.report(&image, &orders, unverified);
    report.groups = groups;
    report.python_checks = python_checks;
    report.include_problems = include_problems;
    report.trace = trace;
    report.package_data = package_data;
    report.layer = layer;
    report
}

/// The layer of Python files (`--layer full`, but for a scope of the whole
/// root, which the image holds entirely), with what `--prune` left out of
/// it.
fn python_layer(input: &PlanInput<'_>) -> (Option<PythonLayer>, BTreeSet<String>) {
    let whole_root = input.scope.iter().any(|p| p == Path::new("/"));
    let (Layer::Full, Some(builder), false) = (input.layer, input.builder.host_root(), whole_root)
    else {
        return (None, BTreeSet::new());
    };
    let mut l = PythonLayer::list(
        builder,
        &input.scope,
        input.installations,
        input.listing,
        input.target.as_ref(),
    );
    let mut pruned_paths = BTreeSet::new();
    if !input.prune.is_empty() {
        let (pruned, evidence, gone) = prune::prune(
            &mut l,
            &input.prune,
            builder,
            input.installations,
            &input.traces,
        );
        l.pruned = pruned;
        l.evidence = Some(evidence);
        pruned_paths = gone;
    }
    (Some(l), pruned_paths)
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    /// What the scope's objects hint at loading at run time, read early.
    early_hints: HashMap<PathBuf, native::Hint>,
    /// Files `--prune` left out of the layer: no entries of the image.
    pruned: BTreeSet<String>,
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
    /// The builder's `lstat` answers, for every image of the plan.
    builder_stats: BuilderStats,
    /// The last simulation: its copies, its image and what its loads
    /// resolved there, which the next image takes over when it only adds
    /// paths (each round of the fixpoint adds a few libraries to the same
    /// image: the hundreds of paths every load resolves again are the same).
    last: Mutex<Option<simulate::Simulated>>,
}

type EdgeKey = (String, String, Vec<Cpu>);
type BuilderOrders = HashMap<(String, Option<Cpu>), Arc<Result<LoadOrder, EntryError>>>;

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
    /// The final image with the copies planned so far.
    fn image(&self) -> Arc<FinalImage> {
        let items: Vec<CopyItem> = self.items.values().cloned().collect();
        Arc::new(FinalImage::new(
            self.input.builder.objects_shared(),
            self.input.target.clone(),
            self.input.target_name.clone(),
            self.input.scope.clone(),
            &items,
            self.builder_stats.clone(),
        ))
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

    fn report(
        self,
        image: &Arc<FinalImage>,
        orders: &Orders,
        unverified: Vec<Unverified>,
    ) -> PlanReport {
        let (runtime_checks, find_library) = self.runtime_report(image);
        let declared = self.declared_report(image);
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
                Err(e) => refused.push(Refused {
                    entry: run.entry.clone(),
                    reason: e.to_string(),
                }),
                Ok(o) => {
                    if let Some(f) = &o.fatal {
                        refused.push(Refused {
                            entry: run.entry.clone(),
                            reason: f.to_string(),
                        });
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
                trees: Vec::new(),
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
            layer: None,
            python_checks: Vec::new(),
            groups: Vec::new(),
        }
    }
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
