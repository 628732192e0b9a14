//! The checks of the final image, once the copy set is settled: edges
//! still not found, loaders it lacks, symbol versions it does not define,
//! and which of its paths some load uses.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::VersionProblem;
use crate::graph::{EntryError, LoadOrder, Standalone};
use crate::image::FinalImage;
use crate::ldso::Step;
use crate::ldso::cpu::Cpu;
use crate::rootfs;

/// One entry loaded in the final image.
pub(super) struct Run {
    pub entry: String,
    /// The kinds of CPU this load is for; empty: every CPU (the load does
    /// not depend on it).
    pub cpus: Vec<Cpu>,
    pub order: Result<LoadOrder, EntryError>,
}

pub(super) type Orders = Vec<Run>;

/// One unresolved edge in the final image.
pub(super) struct MissingEdge {
    pub entry: String,
    /// The kinds of CPU whose load misses it; empty: every CPU.
    pub cpus: Vec<Cpu>,
    /// The requester's canonical path in the image.
    pub requester: String,
    pub needed: String,
    pub name: String,
    pub chain: Vec<String>,
    pub searched: Vec<Step>,
}

/// Every DT_NEEDED edge that ends in "not found", with its entry and the
/// chain of objects from the entry to the requester; failures excused by
/// the standalone rule (`graph::standalone`: a wheel's vendored library
/// reached through the RPATH of the extension module that loads it) left
/// out.
pub(super) fn missing_edges(orders: &Orders) -> Vec<MissingEdge> {
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
pub(super) fn missing_loaders(orders: &Orders) -> BTreeSet<String> {
    orders
        .iter()
        .filter_map(|run| match &run.order {
            Err(EntryError::NoLoader { interp, .. }) => Some(interp.clone()),
            _ => None,
        })
        .collect()
}

/// Canonical paths from the entry down to object `i`, following `loaded_by`.
pub(super) fn chain_to(o: &LoadOrder, i: usize) -> Vec<String> {
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
pub(super) fn used_paths(image: &FinalImage, orders: &Orders) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    // Most loads share their libraries: each path's chain is followed once.
    let mut followed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for run in orders {
        let Ok(o) = &run.order else { continue };
        for obj in &o.objects {
            if let Some(r) = &obj.real {
                used.insert(r.clone());
            }
            if let Some(p) = &obj.path
                && followed.insert(p.as_str())
                && let Ok(links) = rootfs::symlink_chain(image, Path::new(p))
            {
                used.extend(links.into_iter().map(|(l, _)| l.display().to_string()));
            }
        }
    }
    used
}

/// Symbol versions each object of the image requires from what it loads
/// there (`elf/dl-version.c`: a missing non-weak version is fatal).
pub(super) fn version_problems(image: &FinalImage, orders: &Orders) -> Vec<VersionProblem> {
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
