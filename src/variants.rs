//! Loads that depend on the CPU: the same entry loaded for every kind of
//! CPU an image may meet (`ldso::cpu::Cpu::kinds`), and what differs.
//!
//! Only loads whose searches consulted something CPU-dependent are loaded
//! again (`LoadOrder::cpu_sensitive`); the others are the same everywhere.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::graph::{LoadOrder, Session};
use crate::ldso::cpu::Cpu;

/// One DT_NEEDED edge that kinds of CPU resolve differently.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CpuDependence {
    /// The object whose DT_NEEDED it is (its canonical path).
    pub object: String,
    pub needed: String,
    /// What each kind of CPU loads for it: one entry per distinct file.
    pub outcomes: Vec<CpuOutcome>,
}

impl CpuDependence {
    /// Whether some kind of CPU does not find the library at all.
    pub fn fails_somewhere(&self) -> bool {
        self.outcomes.iter().any(|o| o.path.is_none())
    }
}

/// What some kinds of CPU load for one edge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CpuOutcome {
    /// The kinds of CPU, by name (`haswell/x86-64-v3`), in the order of
    /// `Cpu::kinds`.
    pub cpus: Vec<String>,
    /// The path the loader opens; `None`: not found.
    pub path: Option<String>,
}

/// `entry` loaded on every kind of CPU, grouped: each group of CPUs that
/// load exactly the same objects from the same files, with that load.
/// `this` is the load on the session's own CPU, reused for the kind that
/// equals it. Loads that fail outright are left out.
pub fn loads(session: &Session, this: &LoadOrder) -> Vec<(Vec<Cpu>, LoadOrder)> {
    let mut cpus: Vec<Cpu> = Cpu::kinds().to_vec();
    if !cpus.contains(&session.cpu()) {
        cpus.push(session.cpu());
    }
    let mut groups: Vec<(Vec<Cpu>, LoadOrder)> = Vec::new();
    for cpu in cpus {
        let order = if cpu == session.cpu() {
            this.clone()
        } else {
            match session.load_on(&this.entry, cpu) {
                Ok(o) => o,
                Err(_) => continue,
            }
        };
        match groups.iter_mut().find(|(_, o)| same_load(o, &order)) {
            Some((list, _)) => list.push(cpu),
            None => groups.push((vec![cpu], order)),
        }
    }
    groups
}

/// The edges of `this` (a load on the session's CPU) that another kind of
/// CPU resolves to another file, or not at all. Edges whose requester is
/// not loaded on every kind of CPU are consequences of an earlier
/// difference and left out.
pub fn differences(session: &Session, this: &LoadOrder) -> Vec<CpuDependence> {
    compare(&loads(session, this))
}

/// The edges that differ between the loads of one entry on groups of
/// kinds of CPU (see [`loads`] and [`differences`]).
pub fn compare(groups: &[(Vec<Cpu>, LoadOrder)]) -> Vec<CpuDependence> {
    if groups.len() < 2 {
        return Vec::new();
    }
    let edge_maps: Vec<BTreeMap<(String, String), Target>> =
        groups.iter().map(|(_, o)| edges(o)).collect();
    let mut out = Vec::new();
    for key in edge_maps[0].keys() {
        let per_group: Option<Vec<&Target>> = edge_maps.iter().map(|m| m.get(key)).collect();
        let Some(per_group) = per_group else {
            continue;
        };
        if per_group.iter().all(|t| t.real == per_group[0].real) {
            continue;
        }
        let mut outcomes: Vec<(Option<String>, Option<String>, Vec<Cpu>)> = Vec::new();
        for (t, (cpus, _)) in per_group.iter().zip(groups) {
            match outcomes.iter_mut().find(|(real, _, _)| *real == t.real) {
                Some((_, _, list)) => list.extend(cpus),
                None => outcomes.push((t.real.clone(), t.path.clone(), cpus.clone())),
            }
        }
        let rank = |c: &Cpu| {
            Cpu::kinds()
                .iter()
                .position(|k| k == c)
                .unwrap_or(usize::MAX)
        };
        let mut outcomes: Vec<CpuOutcome> = outcomes
            .into_iter()
            .map(|(_, path, mut cpus)| {
                cpus.sort_by_key(rank);
                CpuOutcome {
                    cpus: cpus.iter().map(Cpu::name).collect(),
                    path,
                }
            })
            .collect();
        outcomes.sort_by_key(|o| {
            o.cpus
                .first()
                .and_then(|n| Cpu::kinds().iter().position(|k| k.name() == *n))
        });
        out.push(CpuDependence {
            object: key.0.clone(),
            needed: key.1.clone(),
            outcomes,
        });
    }
    out.sort();
    out
}

/// Where one edge leads.
struct Target {
    /// Canonical path; `None`: not found.
    real: Option<String>,
    /// As the loader built it.
    path: Option<String>,
}

/// Every edge of a load: (requester's canonical path, DT_NEEDED) to its
/// target.
fn edges(order: &LoadOrder) -> BTreeMap<(String, String), Target> {
    let mut out = BTreeMap::new();
    for obj in &order.objects {
        let Some(from) = obj.real.clone() else {
            continue;
        };
        for e in &obj.needs {
            let t = &order.objects[e.object];
            out.entry((from.clone(), e.needed.clone()))
                .or_insert_with(|| Target {
                    real: t.real.clone(),
                    path: t.path.clone(),
                });
        }
    }
    out
}

/// Whether two loads of one entry map the same files, in the same order,
/// under the same names.
fn same_load(a: &LoadOrder, b: &LoadOrder) -> bool {
    a.fatal == b.fatal
        && a.objects.len() == b.objects.len()
        && a.objects
            .iter()
            .zip(&b.objects)
            .all(|(x, y)| x.name == y.name && x.path == y.path && x.real == y.real)
}
