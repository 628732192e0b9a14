//! `why`: every chain of DT_NEEDED edges, from the objects in scope, that
//! loads a given library, with the reason for each edge.

use std::collections::BTreeSet;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::graph::{LoadOrder, Session};
use crate::ldso::How;

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
    /// The object of the scope at the start of the chain.
    pub entry: String,
    pub links: Vec<Link>,
}

/// The answer to `why LIB`.
#[derive(Clone, Debug, Serialize)]
pub struct WhyReport {
    pub library: String,
    /// The files that matched (canonical paths).
    pub files: Vec<String>,
    /// Every distinct chain, shortest first.
    pub chains: Vec<Chain>,
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

/// Every chain from `entries` to `lib`.
pub fn why(session: &Session, entries: &[String], lib: &str) -> WhyReport {
    let lib_real = lib
        .contains('/')
        .then(|| match session.objects().resolve(Path::new(lib)) {
            Ok(Some(r)) => r.path.display().to_string(),
            _ => lib.to_string(),
        });
    let found: Vec<(BTreeSet<String>, BTreeSet<Chain>)> = entries
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
    WhyReport {
        library: lib.to_string(),
        files: files.into_iter().collect(),
        chains,
    }
}
