//! `why`: every chain of DT_NEEDED edges, from the objects in scope, that
//! loads a given library, with the reason for each edge; the calls of the
//! scope's Python code that load it at run time (or load a library that
//! needs it); and where the builder has it, by name, even when nothing in
//! scope loads it.

use std::collections::BTreeSet;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::graph::{LoadOrder, Session};
use crate::ldso::How;
use crate::runtime::resolve::{Callers, Resolver};
use crate::runtime::{CallSite, Caller, Outcome, RuntimeLoad, Way};

/// One edge of a chain.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Link {
    /// The object whose DT_NEEDED this is (canonical path).
    pub from: String,
    /// The DT_NEEDED string.
    pub needed: String,
    /// Where it was found, as the loader built the path.
    pub path: String,
    pub how: How,
}

/// One way the library gets loaded.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Chain {
    /// The object of the scope at the start of the chain, or the library
    /// a run-time load opens.
    pub entry: String,
    /// For a chain that starts at a library loaded at run time: the call
    /// that loads it (`file:line (CDLL(find_library("pq")))`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    pub links: Vec<Link>,
}

/// A run-time load of the scope's Python code that opens the library.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LoadedBy {
    /// The package whose code loads it.
    pub package: String,
    /// The ways its calls try that open it in the builder.
    pub ways: Vec<Way>,
    /// The file they open in the builder (canonical).
    pub file: String,
    pub calls: Vec<CallSite>,
}

/// The answer to `why LIB`.
#[derive(Clone, Debug, Serialize)]
pub struct WhyReport {
    pub library: String,
    /// The files that matched (canonical paths).
    pub files: Vec<String>,
    /// Every distinct chain, shortest first.
    pub chains: Vec<Chain>,
    /// Run-time loads of the scope's Python code that open it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime: Vec<LoadedBy>,
    /// Where the builder has it by name, as `dlopen` from the interpreter
    /// finds it (`None` for a path, or with no interpreter in scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<Outcome>,
}

impl WhyReport {
    /// Whether anything in scope loads it.
    pub fn is_loaded(&self) -> bool {
        !self.chains.is_empty() || !self.runtime.is_empty()
    }

    /// The builder's files for it: those loads reach, else the one found
    /// by name.
    pub fn builder_files(&self) -> Vec<String> {
        if !self.files.is_empty() {
            return self.files.clone();
        }
        match &self.builder {
            Some(Outcome::Found { real, .. }) => vec![real.clone()],
            _ => Vec::new(),
        }
    }
}

/// Does `obj` of `order` stand for `lib` (a soname, a name, or a path)?
fn matches(order: &LoadOrder, i: usize, lib: &str, lib_real: Option<&str>) -> bool {
    let obj = &order.objects[i];
    if obj.path.is_none() {
        return obj.name == lib;
    }
    if let Some(real) = lib_real {
        return obj.real.as_deref() == Some(real);
    }
    obj.name == lib
        || obj.facts.as_ref().and_then(|f| f.soname.as_deref()) == Some(lib)
        || obj
            .path
            .as_deref()
            .and_then(|p| Path::new(p).file_name())
            .is_some_and(|n| n == lib)
}

/// The edges from the entry down to object `i`, following `loaded_by`.
fn path_to(order: &LoadOrder, i: usize) -> Option<Vec<Link>> {
    let mut links = Vec::new();
    let mut cur = i;
    while let Some(parent) = order.objects[cur].loaded_by {
        if links.len() > order.objects.len() {
            return None;
        }
        let p = &order.objects[parent];
        let e = p.needs.iter().find(|e| e.object == cur)?;
        links.push(link(order, parent, e));
        cur = parent;
    }
    links.reverse();
    Some(links)
}

fn link(order: &LoadOrder, from: usize, e: &crate::graph::Edge) -> Link {
    let f = &order.objects[from];
    let t = &order.objects[e.object];
    Link {
        from: f
            .real
            .clone()
            .or_else(|| f.path.clone())
            .unwrap_or_default(),
        needed: e.needed.clone(),
        path: t.path.clone().unwrap_or_else(|| "not found".into()),
        how: e.how.clone(),
    }
}

/// Every chain from `entries`, and from the libraries `runtime` loads,
/// to `lib`; the run-time loads that open it; the builder's file for it.
pub fn why(
    session: &Session,
    entries: &[String],
    runtime: &[RuntimeLoad],
    callers: &Callers,
    lib: &str,
) -> WhyReport {
    let lib_real = lib
        .contains('/')
        .then(|| match session.objects().resolve(Path::new(lib)) {
            Ok(Some(r)) => r.path.display().to_string(),
            _ => lib.to_string(),
        });
    // Libraries loaded at run time start chains of their own.
    let mut started: std::collections::BTreeMap<String, String> = Default::default();
    let mut loaded_by = Vec::new();
    for l in runtime {
        for t in &l.tried {
            let Outcome::Found { path, real, soname } = &t.builder else {
                continue;
            };
            let site = l
                .calls
                .first()
                .map(|c| format!("{} ({})", c.place(), t.way.describe()))
                .unwrap_or_else(|| t.way.describe());
            started.entry(real.clone()).or_insert(site);
            let file_name = Path::new(path).file_name().map(|n| n.to_string_lossy());
            let soname_of_real = session
                .objects()
                .resolve(Path::new(real))
                .ok()
                .flatten()
                .and_then(|r| {
                    session
                        .objects()
                        .facts(&r)
                        .as_ref()
                        .as_ref()
                        .ok()?
                        .soname
                        .clone()
                });
            let opens_it = match &lib_real {
                Some(r) => r == real,
                None => {
                    t.way.name() == lib
                        || soname.as_deref() == Some(lib)
                        || file_name.as_deref() == Some(lib)
                        || soname_of_real.as_deref() == Some(lib)
                }
            };
            if opens_it {
                match loaded_by
                    .iter_mut()
                    .find(|b: &&mut LoadedBy| b.package == l.package && b.file == *real)
                {
                    Some(b) => b.ways.push(t.way.clone()),
                    None => loaded_by.push(LoadedBy {
                        package: l.package.clone(),
                        ways: vec![t.way.clone()],
                        file: real.clone(),
                        calls: l.calls.clone(),
                    }),
                }
            }
        }
    }
    let starts: Vec<String> = entries
        .iter()
        .cloned()
        .chain(started.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found: Vec<(BTreeSet<String>, BTreeSet<Chain>)> = starts
        .par_iter()
        .filter_map(|entry| session.load(entry).ok())
        .map(|order| {
            let mut files = BTreeSet::new();
            let mut chains = BTreeSet::new();
            for t in 1..order.objects.len() {
                if !matches(&order, t, lib, lib_real.as_deref()) {
                    continue;
                }
                if let Some(r) = &order.objects[t].real {
                    files.insert(r.clone());
                }
                for (i, obj) in order.objects.iter().enumerate() {
                    for e in obj.needs.iter().filter(|e| e.object == t) {
                        let Some(mut links) = path_to(&order, i) else {
                            continue;
                        };
                        links.push(link(&order, i, e));
                        chains.insert(Chain {
                            entry: order.entry.clone(),
                            runtime: started.get(&order.entry).cloned(),
                            links,
                        });
                    }
                }
            }
            (files, chains)
        })
        .collect();
    let mut files = BTreeSet::new();
    let mut chains = BTreeSet::new();
    for (f, c) in found {
        files.extend(f);
        chains.extend(c);
    }
    // A chain that is the tail of a longer one adds nothing (an entry that
    // other entries also load): keep the longer one only.
    let all: Vec<Chain> = chains.into_iter().collect();
    let mut chains: Vec<Chain> = all
        .iter()
        .filter(|c| {
            !all.iter()
                .any(|d| d.links.len() > c.links.len() && d.links.ends_with(&c.links))
        })
        .cloned()
        .collect();
    // Chains that end in "not found" only matter when nothing finds it:
    // otherwise they are a vendored library loaded on its own, whose
    // dependencies come through the RPATH of whoever really loads it.
    let resolved = |c: &Chain| c.links.last().is_some_and(|l| l.path != "not found");
    if chains.iter().any(resolved) {
        chains.retain(resolved);
    }
    chains.sort_by(|a, b| a.links.len().cmp(&b.links.len()).then_with(|| a.cmp(b)));
    loaded_by.sort();
    loaded_by.dedup();
    for l in &loaded_by {
        files.insert(l.file.clone());
    }
    let builder = (!lib.contains('/') && callers.interpreter.is_some())
        .then(|| Resolver::new(session, callers.clone()).dlopen(Caller::Ctypes, lib));
    WhyReport {
        library: lib.to_string(),
        files: files.into_iter().collect(),
        chains,
        runtime: loaded_by,
        builder,
    }
}

/// Where a base image has `lib` (a soname or a path): the first of its
/// loader's default directories holding that name (how a distroless image,
/// which has no `ld.so.cache`, finds a library), or the path itself.
/// `interp` is the loader the image's programs use.
pub fn in_tree(
    tree: std::sync::Arc<dyn crate::rootfs::Tree>,
    interp: &str,
    lib: &str,
) -> Option<String> {
    let exists = |p: &str| {
        matches!(
            crate::rootfs::resolve(tree.as_ref(), Path::new(p)),
            Ok(Some(_))
        )
    };
    if lib.contains('/') {
        return exists(lib).then(|| lib.to_string());
    }
    let abi = crate::ldso::abi::ABIS
        .iter()
        .find(|a| a.interp == interp)
        .unwrap_or(&crate::ldso::abi::ABIS[0]);
    let objects = crate::objects::Objects::new(tree.clone());
    let system = crate::ldso::abi::SystemDirs::detect(&objects, abi, interp);
    system
        .dirs
        .iter()
        .map(|d| format!("{}/{lib}", d.trim_end_matches('/')))
        .find(|p| exists(p))
}
