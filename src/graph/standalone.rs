//! The one rule for libraries that fail only standalone.
//!
//! A wheel's vendored library (`numpy.libs/libscipy_openblas….so`) often
//! needs a sibling it finds only through the RUNPATH of the extension
//! module that loads it: loaded on its own, as an entry, its DT_NEEDED is
//! not found; loaded as a dependency, it is. That is how it is always
//! loaded, so such an edge is not broken and nothing is to be copied for
//! it. The rule is per edge: a failure of `needed` when `requester` is the
//! entry (object 0 of the load) is excused when some other load has
//! `requester` as a dependency and resolves `needed` there; failures of the
//! same edge in loads where `requester` is a dependency still count.
//! The builder's scan and the final image's check both apply it.

use std::collections::HashMap;

use super::LoadOrder;

/// The excused edges of a set of loads: (requester's canonical path,
/// DT_NEEDED name) → an entry whose load resolves it with the requester
/// as a dependency.
#[derive(Debug, Default)]
pub struct Standalone {
    via: HashMap<(String, String), String>,
}

impl Standalone {
    /// Look through `orders` for the edges `asked` (requester's canonical
    /// path → DT_NEEDED names that fail when it is the entry). Only these
    /// are looked up: they are few, and every edge of every load is many.
    pub fn find<'a>(
        orders: impl IntoIterator<Item = &'a LoadOrder>,
        asked: &HashMap<&str, Vec<&str>>,
    ) -> Standalone {
        let mut via = HashMap::new();
        if asked.is_empty() {
            return Standalone { via };
        }
        for order in orders {
            for obj in order.objects.iter().skip(1) {
                let Some(real) = obj.real.as_deref() else {
                    continue;
                };
                let Some(names) = asked.get(real) else {
                    continue;
                };
                for e in &obj.needs {
                    if names.contains(&e.needed.as_str()) && order.objects[e.object].path.is_some()
                    {
                        via.entry((real.to_string(), e.needed.clone()))
                            .or_insert_with(|| order.entry.clone());
                    }
                }
            }
        }
        Standalone { via }
    }

    /// The entry that shows `requester`'s `needed` resolves as a
    /// dependency, when its failure with `requester` as the entry is
    /// excused.
    pub fn excused(&self, requester: &str, needed: &str) -> Option<&str> {
        self.via
            .get(&(requester.to_string(), needed.to_string()))
            .map(String::as_str)
    }
}
