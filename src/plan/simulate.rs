//! The final image's loads, round after round of the plan: every entry
//! loaded in the image of the copies planned so far, the loads of the last
//! round kept where the round's copies cannot change them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::check::{Orders, Run};
use super::{CopyItem, Planner};
use crate::graph::Session;
use crate::image::FinalImage;
use crate::ldso::Options;
use crate::locks::lock;
use crate::misses::{self, Miss, Misses};
use crate::objects::Objects;

/// The last simulation: its copies, its image, what its loads resolved
/// there, and what each entry's loads did not find.
pub(super) struct Simulated {
    pub(super) items: BTreeMap<String, CopyItem>,
    image: Arc<FinalImage>,
    objects: Arc<Objects>,
    opts: Options,
    /// The paths each entry's loads did not find.
    misses: HashMap<String, Misses>,
}

/// An entry's runs of the last simulation, and the paths they did not find.
type Earlier = (Vec<Run>, Misses);

impl Planner<'_> {
    /// Whether the image of the current copies only adds paths to the last
    /// simulated one: every earlier copy unchanged (the ld.so.cache the
    /// run-time loads make is made again with more entries: a change), and
    /// every new one at a path that image did not have (a copy is looked up
    /// before the scope, so it could hide a file). Then what the last
    /// simulation resolved holds in the new image.
    fn only_adds(&self, last: &Simulated) -> bool {
        last.items
            .iter()
            .all(|(dest, item)| self.items.get(dest) == Some(item))
            && self
                .items
                .keys()
                .filter(|dest| !last.items.contains_key(*dest))
                .all(|dest| !last.image.has(Path::new(dest)))
    }

    /// The final image, and every entry's load in it. `earlier`: the loads
    /// of the last simulation, whose image this one may only add paths to;
    /// a load is kept when every path it did not find there is still
    /// missing (see [`crate::misses`]), and made again otherwise.
    pub(super) fn simulate(&self, earlier: Option<Orders>) -> (Arc<FinalImage>, Orders) {
        let image = self.image();
        let opts = self.options();
        let mut last = lock(&self.last);
        let carried = last
            .as_ref()
            .filter(|l| l.opts == opts && self.only_adds(l));
        let objects = match carried {
            Some(l) => Objects::after(image.clone(), l.objects.clone()),
            None => Objects::new(image.clone()),
        };
        let mut kept: HashMap<String, Earlier> = HashMap::new();
        if let (Some(l), Some(orders)) = (carried, earlier) {
            for run in orders {
                if let Some(missed) = l.misses.get(&run.entry) {
                    kept.entry(run.entry.clone())
                        .or_insert_with(|| (Vec::new(), missed.clone()))
                        .0
                        .push(run);
                }
            }
        }
        // Nothing of the plan reads the loads' warnings (the scan reports
        // the builder's).
        let session = Session::with_objects(Arc::new(objects), opts.clone()).without_warnings();
        // Each path a kept load did not find is looked up once (most are
        // shared: every load searches for libc's neighbours in the same
        // directories), when its resolution stopped at one of the new
        // paths; a load is made again when one of its paths is now found,
        // or failing differently.
        let added = match carried {
            Some(l) => misses::Added::of(
                self.items
                    .keys()
                    .filter(|dest| !l.items.contains_key(*dest))
                    .map(|dest| dest.as_bytes()),
            ),
            None => misses::Added::default(),
        };
        let changed: HashSet<Miss> = misses::all_of(kept.values().map(|(_, m)| m))
            .into_par_iter()
            .filter(|m| m.may_change(&added) && !still_missing(session.objects(), m))
            .cloned()
            .collect();
        if !changed.is_empty() {
            let mut verdicts = HashMap::new();
            kept.retain(|_, (_, m)| !m.any(&|x| changed.contains(x), &mut verdicts));
        }
        // Libraries loaded at run time are entries too.
        let entries: Vec<(String, Option<Earlier>)> = self
            .input
            .entries
            .iter()
            .chain(self.runtime.entries.iter())
            .filter(|e| !self.pruned.contains(*e))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|e| {
                let before = kept.remove(&e);
                (e, before)
            })
            .collect();
        let loads: Vec<(String, Vec<Run>, Misses)> = entries
            .into_par_iter()
            .map(|(entry, before)| {
                if let Some((runs, missed)) = before {
                    return (entry, runs, missed);
                }
                let (runs, missed) = misses::record(|| runs_of(&session, &entry));
                (entry, runs, missed)
            })
            .collect();
        let mut misses = HashMap::with_capacity(loads.len());
        let mut orders = Vec::with_capacity(loads.len());
        for (entry, runs, missed) in loads {
            orders.extend(runs);
            misses.insert(entry, missed);
        }
        *last = Some(Simulated {
            items: self.items.clone(),
            image: image.clone(),
            objects: session.objects_shared(),
            opts,
            misses,
        });
        (image, orders)
    }
}

/// `entry` loaded in the image of `session`: one run, or, when the load
/// depends on the CPU, one per group of kinds of CPU that load the same.
fn runs_of(session: &Session, entry: &str) -> Vec<Run> {
    match session.load_on(entry, session.cpu()) {
        Ok(o) if o.cpu_sensitive => session
            .loads_on_every_cpu(&o)
            .into_iter()
            .map(|(cpus, order)| Run {
                entry: entry.to_string(),
                cpus,
                order: Ok(order),
            })
            .collect(),
        order => vec![Run {
            entry: entry.to_string(),
            cpus: Vec::new(),
            order,
        }],
    }
}

/// Whether the path of `m` is still not found in `objects`, the same way
/// (missing, or failing to resolve).
fn still_missing(objects: &Objects, m: &Miss) -> bool {
    match objects.resolve(Path::new(OsStr::from_bytes(&m.path))) {
        Ok(Some(_)) => false,
        Ok(None) => !m.failed,
        Err(_) => m.failed,
    }
}
