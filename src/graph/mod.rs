//! Load order: what glibc maps for one entry object, in order, and why.
//!
//! `elf/dl-deps.c: _dl_map_object_deps` walks DT_NEEDED breadth-first;
//! each name goes through `_dl_map_object`: reuse of a loaded object by
//! name or soname, else a search (`ldso`), else — in trace mode, which is
//! what `ldd` runs — a "not found" placeholder that is never reused, so a
//! missing library is reported once per requester.
//!
//! The order reported is glibc's list of mapped objects: creation order,
//! placeholders included, except that the loader itself (mapped first) is
//! moved to just after the object preceding it in the breadth-first search
//! list, which placeholders are not part of (`elf/rtld.c: dl_main`;
//! measured against glibc 2.36's trace output).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use crate::elf::ElfFacts;
use crate::findings::Warning;
use crate::ldso::abi::Abi;
use crate::ldso::cpu::Cpu;
use crate::ldso::{Fatal, How, Loader, Lookup, Options, Requester, Searched, Step};
use crate::misses::{self, Misses};
use crate::objects::Objects;
use crate::rootfs::Tree;
use crate::rootfs::{FileId, Kind, Root};

mod order;
mod standalone;
pub mod variants;

pub use order::{CpuDependence, CpuOutcome, Edge, EntryError, LoadOrder, LoadedObject};
pub use standalone::Standalone;

/// A run over one root: shared caches and one loader per ABI.
pub struct Session {
    /// The host directory, when the tree is one (walking needs it).
    host: Option<Arc<Root>>,
    objects: Arc<Objects>,
    opts: Options,
    /// One loader per ABI and CPU (loads for other kinds of CPU are asked
    /// for when a load depends on the CPU).
    /// Each with the paths its making did not find, which every load
    /// using it depends on (see [`crate::misses`]).
    loaders: Mutex<HashMap<(&'static str, Cpu), MadeLoader>>,
    /// The preload names simulated, how many distinct ones the file lists,
    /// and the paths reading it did not find.
    preload: OnceLock<((Vec<String>, usize), Misses)>,
    /// Whether loads search again for the libtree-style warnings
    /// ([`LoadOrder::warnings`]).
    warnings: bool,
}

/// A loader, and the paths its making did not find.
type MadeLoader = (Arc<Loader>, Misses);

/// The file glibc reads for objects to load into every program.
const PRELOAD: &str = "/etc/ld.so.preload";

/// Real preload lists name a handful of objects; every name costs a search
/// per entry, so a hostile list is cut here (with a warning).
const MAX_PRELOAD: usize = 1024;

/// An object mapped during one load (glibc's `struct link_map`, reduced).
struct Node {
    names: Vec<String>,
    path: String,
    id: Option<FileId>,
    real: Option<String>,
    facts: Option<Arc<ElfFacts>>,
    soname: Option<String>,
    loaded_by: Option<usize>,
    how: How,
    needs: Vec<Edge>,
    searched: Vec<Step>,
}

impl Node {
    fn faked(&self) -> bool {
        self.id.is_none()
    }
}

impl Session {
    /// A run over a host directory seen as a root.
    pub fn new(root: Root, opts: Options) -> Session {
        let root = Arc::new(root);
        let mut s = Session::over(root.clone(), opts);
        s.host = Some(root);
        s
    }

    /// A run over any tree (an embedded base image, a simulated final image).
    pub fn over(tree: Arc<dyn Tree>, opts: Options) -> Session {
        Session::with_objects(Arc::new(Objects::new(tree)), opts)
    }

    /// A session over the tree of `objects`, with what they know already.
    pub fn with_objects(objects: Arc<Objects>, opts: Options) -> Session {
        Session {
            host: None,
            objects,
            opts,
            loaders: Mutex::new(HashMap::new()),
            preload: OnceLock::new(),
            warnings: true,
        }
    }

    /// The same session, whose loads leave [`LoadOrder::warnings`] empty:
    /// for loads whose warnings nobody reads (the plan's rounds in the
    /// final image), since finding them searches for every edge again (a
    /// fifth of a load's time).
    pub fn without_warnings(mut self) -> Session {
        self.warnings = false;
        self
    }

    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    /// The shared object memo, for trees layered over this one.
    pub fn objects_shared(&self) -> Arc<Objects> {
        self.objects.clone()
    }

    /// The host directory of the root, if the tree is a host directory.
    pub fn host_root(&self) -> Option<&Root> {
        self.host.as_deref()
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The root's loader for `abi` on the session's CPU, built on first use.
    pub fn loader(&self, abi: Abi) -> Arc<Loader> {
        self.loader_on(abi, self.opts.cpu)
    }

    /// The root's loader for `abi` on `cpu`.
    fn loader_on(&self, abi: Abi, cpu: Cpu) -> Arc<Loader> {
        let mut map = crate::locks::lock(&self.loaders);
        let (loader, missed) = map.entry((abi.name, cpu)).or_insert_with(|| {
            let opts = Options {
                cpu,
                ..self.opts.clone()
            };
            misses::record(|| Arc::new(Loader::new(&self.objects, abi, &opts)))
        });
        misses::replay(missed);
        loader.clone()
    }

    fn entry_facts(&self, entry: &str) -> Result<(FileId, String, Arc<ElfFacts>), EntryError> {
        let resolved = match self.objects.resolve(Path::new(entry)) {
            Ok(Some(r)) => r,
            Ok(None) => return Err(EntryError::Missing(entry.into())),
            Err(e) => return Err(EntryError::Unreadable(e.to_string())),
        };
        if resolved.kind != Kind::Regular {
            return Err(EntryError::NotRegular(entry.into()));
        }
        let facts = self.objects.facts(&resolved);
        match facts.as_ref() {
            Ok(f) => Ok((
                resolved.id,
                resolved.path.display().to_string(),
                Arc::clone(f),
            )),
            Err(e) => Err(EntryError::Unreadable(e.to_string())),
        }
    }

    /// What `dlopen(name)` called from the object `caller` finds in a
    /// program whose main object is `main` (paths inside the root):
    /// `elf/dl-open.c` maps it with the caller as its loader, so the
    /// caller's RPATH or RUNPATH, the program's RPATH, LD_LIBRARY_PATH, the
    /// cache and the default directories are searched as for a DT_NEEDED
    /// of the caller (a name with a `/` is a path).
    pub fn dlopen_from(&self, caller: &str, main: &str, name: &str) -> Result<Searched, String> {
        let (_, caller_real, caller_facts) = self.entry_facts(caller).map_err(|e| e.to_string())?;
        let (_, _, main_facts) = self.entry_facts(main).map_err(|e| e.to_string())?;
        let abi = Abi::for_object(&main_facts)
            .ok_or_else(|| format!("{main}: no known glibc loader for it"))?;
        let loader = self.loader(abi);
        let requester = Requester {
            path: &caller_real,
            facts: &caller_facts,
            is_main: false,
        };
        let main_req = Requester {
            path: main,
            facts: &main_facts,
            is_main: true,
        };
        loader
            .search(&self.objects, name, &[requester], main_req)
            .map_err(|f| f.to_string())
    }

    /// What glibc would load for `entry` (a path inside the root), as
    /// `ld.so --list entry` computes it on the session's CPU; when that
    /// depends on the CPU, with what other kinds of CPU load instead.
    pub fn load(&self, entry: &str) -> Result<LoadOrder, EntryError> {
        let mut order = self.load_on(entry, self.opts.cpu)?;
        if order.cpu_sensitive {
            order.cpu_dependent = variants::compare(&self.loads_on_every_cpu(&order));
        }
        Ok(order)
    }

    /// `entry` loaded on every kind of CPU, grouped: each group of CPUs that
    /// load exactly the same objects from the same files, with that load.
    /// `this` is the load on the session's own CPU, reused for the kind that
    /// equals it. Loads that fail outright are left out.
    pub fn loads_on_every_cpu(&self, this: &LoadOrder) -> Vec<(Vec<Cpu>, LoadOrder)> {
        let mut cpus: Vec<Cpu> = Cpu::kinds().to_vec();
        if !cpus.contains(&self.cpu()) {
            cpus.push(self.cpu());
        }
        let mut groups: Vec<(Vec<Cpu>, LoadOrder)> = Vec::new();
        for cpu in cpus {
            let order = if cpu == self.cpu() {
                this.clone()
            } else {
                match self.load_on(&this.entry, cpu) {
                    Ok(o) => o,
                    Err(_) => continue,
                }
            };
            match groups
                .iter_mut()
                .find(|(_, o)| variants::same_load(o, &order))
            {
                Some((list, _)) => list.push(cpu),
                None => groups.push((vec![cpu], order)),
            }
        }
        groups
    }

    /// The CPU of the session's options.
    pub fn cpu(&self) -> Cpu {
        self.opts.cpu
    }

    /// What glibc would load for `entry` on `cpu`.
    pub fn load_on(&self, entry: &str, cpu: Cpu) -> Result<LoadOrder, EntryError> {
        let (id, real, facts) = self.entry_facts(entry)?;
        let abi = Abi::for_object(&facts).ok_or_else(|| EntryError::NoAbi {
            path: entry.into(),
            class: facts.class.to_string(),
            machine: facts.machine,
        })?;
        let loader = self.loader_on(abi, cpu);
        let mut sensitive = false;
        // The main object goes through open_verify too; for it a wrong
        // class is fatal ("wrong ELF class").
        match loader.verdict(&facts) {
            crate::ldso::Verdict::Accept => {}
            crate::ldso::Verdict::Skip(m) | crate::ldso::Verdict::Fatal(m) => {
                return Err(EntryError::Refused {
                    path: entry.into(),
                    message: m,
                });
            }
        }
        if !facts.dynamic {
            return Err(EntryError::NotDynamic(entry.into()));
        }
        // The loader is mapped before anything else, under the name the
        // program's PT_INTERP gives it (rtld.c), or its install path when
        // run directly on a shared object.
        let interp_name = facts
            .interp
            .clone()
            .unwrap_or_else(|| abi.interp.to_string());
        let (rtld_id, rtld_real, rtld_facts) = match self.entry_facts(&interp_name) {
            Ok(x) => x,
            Err(EntryError::Missing(_)) => {
                return Err(EntryError::NoLoader {
                    path: entry.into(),
                    interp: interp_name,
                });
            }
            // Something is there but the kernel could not run it (a FIFO,
            // a symlink loop, a damaged file): a defect, not a root
            // without this loader.
            Err(e) => {
                return Err(EntryError::Refused {
                    path: entry.into(),
                    message: format!("its loader is unusable: {e}"),
                });
            }
        };
        if rtld_id == id {
            return Err(EntryError::IsLoader(entry.into()));
        }
        let mut nodes = vec![
            Node {
                names: vec![entry.to_string()],
                path: entry.to_string(),
                id: Some(id),
                real: Some(real),
                soname: facts.soname.clone(),
                facts: Some(facts),
                loaded_by: None,
                how: How::Entry,
                needs: vec![],
                searched: vec![],
            },
            Node {
                names: vec![interp_name.clone()],
                path: interp_name,
                id: Some(rtld_id),
                real: Some(rtld_real),
                soname: rtld_facts.soname.clone(),
                facts: Some(rtld_facts),
                loaded_by: None,
                how: How::AlreadyLoaded,
                needs: vec![],
                searched: vec![],
            },
        ];
        let mut order: Vec<usize> = vec![0];
        let mut fatal = None;
        let mut warnings = Vec::new();
        // rtld.c: /etc/ld.so.preload objects are mapped right after the
        // program, as if it needed them (`do_preload` with the main map as
        // loader), and enter the search list before its dependencies. One
        // that cannot be found is reported and ignored.
        let (preload, listed) = self.preloads();
        if listed > preload.len() {
            warnings.push(Warning {
                object: PRELOAD.to_string(),
                needed: String::new(),
                message: format!(
                    "lists {listed} different names: only the first {MAX_PRELOAD} are simulated"
                ),
            });
        }
        for name in preload {
            match self.map_object(&loader, &mut nodes, 0, &name, &mut sensitive) {
                Err(f) => {
                    fatal = Some(f);
                    break;
                }
                Ok((target, _)) if nodes[target].faked() => {
                    nodes.pop();
                    warnings.push(Warning {
                        object: PRELOAD.to_string(),
                        needed: name.clone(),
                        message: "cannot be preloaded (not found): ignored".into(),
                    });
                }
                Ok((target, _)) => {
                    if !order.contains(&target) {
                        order.push(target);
                    }
                }
            }
        }
        let mut i = 0;
        'bfs: while fatal.is_none() && i < order.len() {
            let n = order[i];
            i += 1;
            let Some(facts) = nodes[n].facts.clone() else {
                continue;
            };
            for needed in &facts.needed {
                sensitive |= loader.platform_dependent(needed);
                let Some(name) = loader.expand_needed(needed, &nodes[n].path) else {
                    fatal = Some(Fatal {
                        path: nodes[n].path.clone(),
                        message: format!("cannot expand dynamic string tokens in {needed}"),
                    });
                    break 'bfs;
                };
                let (target, how) =
                    match self.map_object(&loader, &mut nodes, n, &name, &mut sensitive) {
                        Ok(x) => x,
                        Err(f) => {
                            fatal = Some(f);
                            break 'bfs;
                        }
                    };
                // Placeholders never enter the search list (dl-deps.c).
                if !nodes[target].faked() && !order.contains(&target) {
                    order.push(target);
                }
                nodes[n].needs.push(Edge {
                    needed: needed.clone(),
                    object: target,
                    how,
                });
            }
        }
        if self.warnings {
            warnings.extend(self.order_warnings(&loader, &nodes));
        }
        let listed = list_order(&order, nodes.len());
        let mut done = finish(abi, entry, nodes, &listed, fatal, warnings);
        done.cpu_sensitive = sensitive;
        Ok(done)
    }

    /// `_dl_map_object` for node `n` needing `name`: an object already
    /// loaded under that name or soname, else a search, which may find a
    /// file already loaded under another path, a new object, or nothing (a
    /// placeholder node is then added). Returns the node and why.
    fn map_object(
        &self,
        loader: &Loader,
        nodes: &mut Vec<Node>,
        n: usize,
        name: &str,
        sensitive: &mut bool,
    ) -> Result<(usize, How), Fatal> {
        if let Some(m) = find_loaded(nodes, name) {
            return Ok((m, How::AlreadyLoaded));
        }
        let searched = self.search_for(loader, nodes, n, name)?;
        *sensitive |= searched.cpu_sensitive;
        match searched.lookup {
            Lookup::Found(found) => {
                if let Some(m) = nodes.iter().position(|x| x.id == Some(found.file.id)) {
                    nodes[m].names.push(name.to_string());
                    return Ok((m, How::SameFile));
                }
                let facts = match self.objects.facts(&found.file).as_ref() {
                    Ok(f) => Arc::clone(f),
                    Err(e) => {
                        return Err(Fatal {
                            path: found.path.clone(),
                            message: e.to_string(),
                        });
                    }
                };
                nodes.push(Node {
                    names: vec![name.to_string()],
                    path: found.path,
                    id: Some(found.file.id),
                    real: Some(found.file.path.display().to_string()),
                    soname: facts.soname.clone(),
                    facts: Some(facts),
                    loaded_by: Some(n),
                    how: found.how.clone(),
                    needs: vec![],
                    searched: vec![],
                });
                Ok((nodes.len() - 1, found.how))
            }
            Lookup::NotFound(steps) => {
                nodes.push(Node {
                    names: vec![name.to_string()],
                    path: name.to_string(),
                    id: None,
                    real: None,
                    facts: None,
                    soname: None,
                    loaded_by: Some(n),
                    how: How::Entry,
                    needs: vec![],
                    searched: steps,
                });
                Ok((nodes.len() - 1, How::Entry))
            }
        }
    }

    /// Names listed in the root's /etc/ld.so.preload, separated by white
    /// space or colons (rtld.c), read once per run: each name once (a
    /// repeated name loads nothing more), at most [`MAX_PRELOAD`] of them,
    /// with the number of distinct names listed.
    fn preloads(&self) -> (Vec<String>, usize) {
        let (list, missed) = self.preload.get_or_init(|| {
            misses::record(|| {
                // glibc maps the file whole; a preload list is tiny, so a
                // huge one is treated as absent rather than read.
                let Ok(Some(bytes)) = self.objects.read_small(PRELOAD, 1 << 20) else {
                    return (Vec::new(), 0);
                };
                let text = String::from_utf8_lossy(&bytes);
                let mut seen = std::collections::HashSet::new();
                let names: Vec<String> = text
                    .split(|c: char| c == ':' || c.is_ascii_whitespace())
                    .filter(|s| !s.is_empty() && seen.insert(*s))
                    .map(str::to_string)
                    .collect();
                let listed = names.len();
                (names.into_iter().take(MAX_PRELOAD).collect(), listed)
            })
        });
        misses::replay(missed);
        list.clone()
    }

    /// Search for `name` on behalf of node `n` with its loader chain.
    fn search_for(
        &self,
        loader: &Loader,
        nodes: &[Node],
        n: usize,
        name: &str,
    ) -> Result<Searched, Fatal> {
        let mut chain = Vec::new();
        let mut cur = Some(n);
        // l_loader links only point to earlier nodes, so this ends; the
        // bound guards against a bug turning it into a hang.
        while let Some(c) = cur {
            if chain.len() > nodes.len() {
                break;
            }
            if let Some(f) = &nodes[c].facts {
                chain.push(Requester {
                    path: &nodes[c].path,
                    facts: f,
                    is_main: c == 0,
                });
            }
            cur = nodes[c].loaded_by;
        }
        // The entry node is made from its facts; a node without them here
        // would be a bug, reported as the entry's defect, not a panic.
        let Some(main_facts) = nodes[0].facts.as_deref() else {
            return Err(Fatal {
                path: nodes[0].path.clone(),
                message: "internal error: the entry has no ELF facts".into(),
            });
        };
        let main = Requester {
            path: &nodes[0].path,
            facts: main_facts,
            is_main: true,
        };
        loader.search(&self.objects, name, &chain, main)
    }

    /// libtree-style warnings: an edge that resolves only because of what
    /// was loaded before it, or only through an RPATH inherited from the
    /// object that happened to load the requester.
    fn order_warnings(&self, loader: &Loader, nodes: &[Node]) -> Vec<Warning> {
        let mut out = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            for e in &node.needs {
                let target = &nodes[e.object];
                let warn = |message: String| Warning {
                    object: node.real.clone().unwrap_or_else(|| node.path.clone()),
                    needed: e.needed.clone(),
                    message,
                };
                match &e.how {
                    // Every libc.so.6 reaches the loader by its soname (it is
                    // mapped first, node 1): that is by design, not by order.
                    How::AlreadyLoaded | How::SameFile if e.object != RTLD => {
                        let Some(name) = loader.expand_needed(&e.needed, &node.path) else {
                            continue;
                        };
                        match self.search_for(loader, nodes, n, &name).map(|s| s.lookup) {
                            Ok(Lookup::NotFound(_)) => out.push(warn(format!(
                                "resolves only because {} was loaded earlier; searched on its own it is not found",
                                target.path
                            ))),
                            Ok(Lookup::Found(f)) if Some(f.file.id) != target.id => {
                                out.push(warn(format!(
                                    "uses {} because it was loaded earlier; on its own it would load {}",
                                    target.path, f.path
                                )))
                            }
                            _ => {}
                        }
                    }
                    How::Rpath { owner } if *owner != node.path => {
                        let owner = nodes
                            .iter()
                            .find(|x| x.path == *owner)
                            .and_then(|x| x.real.clone())
                            .unwrap_or_else(|| owner.clone());
                        out.push(warn(format!(
                            "found only through the RPATH of {owner}, inherited from the object that loaded it"
                        )))
                    }
                    _ => {}
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// `_dl_map_object`'s first loop: a loaded object whose path or one of
/// whose names equals `name`, else whose DT_SONAME does (and the soname
/// then becomes one of its names). Not-found placeholders never match.
fn find_loaded(nodes: &mut [Node], name: &str) -> Option<usize> {
    for (i, n) in nodes.iter_mut().enumerate() {
        if n.faked() {
            continue;
        }
        if n.path == name || n.names.iter().any(|x| x == name) {
            return Some(i);
        }
        if n.soname.as_deref() == Some(name) {
            n.names.push(name.to_string());
            return Some(i);
        }
    }
    None
}

/// glibc's object list from the search list: nodes in creation order, with
/// the loader (node 1) placed after its predecessor in the search list, or
/// left out when nothing needed it.
fn list_order(search: &[usize], count: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..count).filter(|&n| n != RTLD).collect();
    if let Some(pos) = search.iter().position(|&n| n == RTLD) {
        let pred = search[pos.saturating_sub(1)];
        let at = out
            .iter()
            .position(|&n| n == pred)
            .map_or(out.len(), |p| p + 1);
        out.insert(at, RTLD);
    }
    out
}

/// Node index of the loader itself (mapped right after the entry).
const RTLD: usize = 1;

/// Renumber nodes into load order for the public result.
fn finish(
    abi: Abi,
    entry: &str,
    nodes: Vec<Node>,
    order: &[usize],
    fatal: Option<Fatal>,
    warnings: Vec<Warning>,
) -> LoadOrder {
    let mut index = vec![usize::MAX; nodes.len()];
    for (pos, &n) in order.iter().enumerate() {
        index[n] = pos;
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    let objects = order
        .iter()
        .filter_map(|&n| slots[n].take())
        .map(|node| {
            let path = (!node.faked()).then(|| node.path.clone());
            LoadedObject {
                name: node.names.first().cloned().unwrap_or_default(),
                path,
                real: node.real,
                how: node.how,
                loaded_by: node.loaded_by.map(|l| index[l]),
                needs: node
                    .needs
                    .into_iter()
                    .map(|e| Edge {
                        object: index[e.object],
                        ..e
                    })
                    .collect(),
                searched: node.searched,
                facts: node.facts,
            }
        })
        .collect();
    LoadOrder {
        entry: entry.to_string(),
        abi: abi.name,
        objects,
        fatal,
        warnings,
        cpu_sensitive: false,
        cpu_dependent: Vec::new(),
    }
}
