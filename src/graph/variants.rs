//! Loads that depend on the CPU: what differs between the loads of one
//! entry on every kind of CPU an image may meet (`ldso::cpu::Cpu::kinds`;
//! the loads themselves come from `Session::loads_on_every_cpu`).
//!
//! Only loads whose searches consulted something CPU-dependent are loaded
//! again (`LoadOrder::cpu_sensitive`); the others are the same everywhere.

use std::collections::BTreeMap;

use super::order::{CpuDependence, CpuOutcome, LoadOrder};
use crate::ldso::cpu::Cpu;

/// The edges that differ between the loads of one entry on groups of
/// kinds of CPU (see `Session::loads_on_every_cpu`).
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
pub(super) fn same_load(a: &LoadOrder, b: &LoadOrder) -> bool {
    a.fatal == b.fatal
        && a.objects.len() == b.objects.len()
        && a.objects
            .iter()
            .zip(&b.objects)
            .all(|(x, y)| x.name == y.name && x.path == y.path && x.real == y.real)
}
