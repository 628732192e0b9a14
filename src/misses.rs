//! The paths a computation looked for and did not find.
//!
//! The plan simulates every entry's load in the final image, adds what is
//! missing, and simulates again, a few rounds; each round's image only
//! gains paths. A load's answer depends on the paths it found (still there,
//! unchanged: the caller vouches for that, [`crate::objects::Objects::after`])
//! and on the paths it did not find. If every path it did not find is still
//! missing in the next image, the load is the same there and need not be
//! made again: the few loads a round's copies change are.
//!
//! Misses are recorded per thread, in frames ([`record`]): one load runs
//! on one thread from start to end (the loader simulation starts no
//! parallel work). A memo that answers for an earlier computation replays
//! that computation's misses ([`replay`]): otherwise the load answered from
//! the memo would not know what its answer depends on. Every memo on the
//! way from a load to the tree does so (the loader's search memo, its
//! subdirectory probe, the session's loaders and preload list); the path
//! memo of [`crate::objects::Objects`] notes each miss it answers.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

/// One path looked for and not found: missing, or failed to resolve (a
/// symlink loop), which a later tree must answer the same way.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Miss {
    pub path: Box<[u8]>,
    pub failed: bool,
}

/// What one computation did not find: its own misses, and the sets of the
/// computations whose answers it reused, shared rather than copied (a load
/// reuses the memoised search for `libc.so.6` once per object needing it:
/// copying that search's misses each time was most of what recording cost).
#[derive(Debug, Default)]
pub struct MissSet {
    own: Vec<Miss>,
    parts: Vec<Misses>,
}

/// A shared [`MissSet`].
pub type Misses = Arc<MissSet>;

impl MissSet {
    /// Every miss, each once, in path order.
    pub fn iter(&self) -> impl Iterator<Item = &Miss> {
        let mut out: Vec<&Miss> = walk([self]).into_iter().collect();
        out.sort_unstable();
        out.into_iter()
    }

    /// Whether any miss of the set satisfies `changed`, asking each shared
    /// part once across calls (`verdicts`, by part).
    pub fn any(
        self: &Arc<Self>,
        changed: &dyn Fn(&Miss) -> bool,
        verdicts: &mut std::collections::HashMap<*const MissSet, bool>,
    ) -> bool {
        if let Some(&v) = verdicts.get(&Arc::as_ptr(self)) {
            return v;
        }
        let v = self.own.iter().any(changed) || self.parts.iter().any(|p| p.any(changed, verdicts));
        verdicts.insert(Arc::as_ptr(self), v);
        v
    }
}

/// Every miss of `sets`, each once (shared parts walked once).
pub fn all_of<'a>(sets: impl IntoIterator<Item = &'a Misses>) -> HashSet<&'a Miss> {
    walk(sets.into_iter().map(|s| &**s))
}

fn walk<'a>(sets: impl IntoIterator<Item = &'a MissSet>) -> HashSet<&'a Miss> {
    let mut seen_sets: HashSet<*const MissSet> = HashSet::new();
    let mut out = HashSet::new();
    let mut stack: Vec<&MissSet> = Vec::new();
    for set in sets {
        if seen_sets.insert(std::ptr::from_ref(set)) {
            stack.push(set);
        }
        while let Some(set) = stack.pop() {
            out.extend(set.own.iter());
            for part in &set.parts {
                if seen_sets.insert(Arc::as_ptr(part)) {
                    stack.push(part);
                }
            }
        }
    }
    out
}

/// One open frame: its own misses and the shared sets replayed into it.
#[derive(Default)]
struct Frame {
    own: Vec<Miss>,
    parts: Vec<Misses>,
}

thread_local! {
    /// The open frames of this thread, innermost last.
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Note that `path` was not found (`failed`: it could not be resolved),
/// in the innermost open frame of this thread, if any.
pub fn note(path: &[u8], failed: bool) {
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            top.own.push(Miss {
                path: path.into(),
                failed,
            });
        }
    });
}

/// Note every miss of an earlier computation whose answer is reused.
pub fn replay(misses: &Misses) {
    if misses.own.is_empty() && misses.parts.is_empty() {
        return;
    }
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            // The same memo answers many times in one load: once is enough.
            if !top.parts.iter().any(|p| Arc::ptr_eq(p, misses)) {
                top.parts.push(misses.clone());
            }
        }
    });
}

/// Run `f` in a frame of its own: its result, and the paths it did not
/// find. An enclosing frame notes them too, so a memo filled inside a load
/// still counts for that load.
pub fn record<T>(f: impl FnOnce() -> T) -> (T, Misses) {
    /// Closes the frame even when `f` unwinds.
    struct Open;
    impl Drop for Open {
        fn drop(&mut self) {
            FRAMES.with(|f| {
                let mut frames = f.borrow_mut();
                if let Some(mine) = frames.pop()
                    && let Some(outer) = frames.last_mut()
                {
                    outer.own.extend(mine.own);
                    outer.parts.extend(mine.parts);
                }
            });
        }
    }
    FRAMES.with(|f| f.borrow_mut().push(Frame::default()));
    let guard = Open;
    let value = f();
    let mut mine = FRAMES.with(|f| {
        f.borrow_mut()
            .last_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    });
    // The frame, now empty, is closed before the outer one gets the set.
    drop(guard);
    mine.own.sort_unstable();
    mine.own.dedup();
    let misses = Arc::new(MissSet {
        own: mine.own,
        parts: mine.parts,
    });
    replay(&misses);
    (value, misses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(m: &Misses) -> Vec<&[u8]> {
        m.iter().map(|m| &*m.path).collect()
    }

    #[test]
    fn a_frame_keeps_its_misses_once_and_passes_them_out() {
        note(b"/outside", false);
        // What a memo would keep: another computation's misses.
        let ((), memo) = record(|| note(b"/c", true));
        let ((_, inner), outer) = record(|| {
            note(b"/b", false);
            record(|| {
                note(b"/a", false);
                note(b"/a", false);
                replay(&memo);
                replay(&memo);
            })
        });
        assert_eq!(paths(&inner), [b"/a".as_slice(), b"/c"]);
        assert!(inner.iter().nth(1).is_some_and(|m| m.failed));
        assert_eq!(paths(&outer), [b"/a".as_slice(), b"/b", b"/c"]);
        // Shared, not copied.
        assert_eq!(inner.parts.len(), 1);
        assert!(Arc::ptr_eq(&inner.parts[0], &memo));
        // Asked once per part.
        let mut verdicts = std::collections::HashMap::new();
        let c = |m: &Miss| &*m.path == b"/c";
        assert!(outer.any(&c, &mut verdicts));
        assert_eq!(verdicts.get(&Arc::as_ptr(&memo)), Some(&true));
        let nothing = |_: &Miss| false;
        assert!(!outer.any(&nothing, &mut std::collections::HashMap::new()));
        // Nothing is left open.
        assert_eq!(FRAMES.with(|f| f.borrow().len()), 0);
    }

    #[test]
    fn a_frame_closes_when_its_work_panics() {
        let got = std::panic::catch_unwind(|| {
            record(|| {
                note(b"/x", false);
                panic!("boom")
            })
        });
        assert!(got.is_err());
        assert_eq!(FRAMES.with(|f| f.borrow().len()), 0);
    }
}
