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
    /// Where the resolution of a missing path stopped: the path that was
    /// not there (the missing path itself, its missing directory, or the
    /// missing target of a symlink on the way), or that was no directory
    /// but had to be one. `None` when not known.
    pub stop: Option<Arc<[u8]>>,
}

impl Miss {
    /// Whether the path may resolve otherwise in a tree that has every
    /// path of the tree it was missed in, unchanged, and the paths of
    /// `added` besides. Every path the resolution looked at before it
    /// stopped was there and is unchanged, so it goes the same way up to
    /// the stop; it can only go on if the stop is one of the new paths.
    /// A failed resolution, or one whose stop is not known, may always
    /// change.
    pub fn may_change(&self, added: &Added) -> bool {
        match (&self.stop, self.failed) {
            (Some(stop), false) => added.0.contains(&**stop),
            _ => true,
        }
    }
}

/// The paths a tree gained: each new path and every directory above it
/// (a new file can make its directories appear too).
#[derive(Debug, Default)]
pub struct Added(HashSet<Box<[u8]>>);

impl Added {
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a [u8]>) -> Added {
        let mut set = HashSet::new();
        for p in paths {
            let mut at = p;
            // `/a/b/c`, `/a/b`, `/a` (not `/`: it is always there).
            while !at.is_empty() && at != b"/" {
                if !set.insert(Box::from(at)) {
                    break;
                }
                at = match at.iter().rposition(|&b| b == b'/') {
                    Some(0) | None => break,
                    Some(i) => at.get(..i).unwrap_or_default(),
                };
            }
        }
        Added(set)
    }
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

/// Note that `path` was not found (`failed`: it could not be resolved;
/// `stop`: [`Miss::stop`]), in the innermost open frame of this thread, if
/// any.
pub fn note(path: &[u8], failed: bool, stop: Option<Arc<[u8]>>) {
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            top.own.push(Miss {
                path: path.into(),
                failed,
                stop,
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
        note(b"/outside", false, None);
        // What a memo would keep: another computation's misses.
        let ((), memo) = record(|| note(b"/c", true, None));
        let ((_, inner), outer) = record(|| {
            note(b"/b", false, None);
            record(|| {
                note(b"/a", false, None);
                note(b"/a", false, None);
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
    fn a_miss_may_change_only_where_its_resolution_stopped() {
        let added = Added::of([b"/usr/lib/x/libq.so.1".as_slice(), b"/opt/new/libn.so"]);
        let miss = |stop: Option<&[u8]>, failed| Miss {
            path: Box::from(b"/usr/lib/libq.so.1".as_slice()),
            failed,
            stop: stop.map(Arc::from),
        };
        // The new file, and each directory above it.
        for stop in [
            &b"/usr/lib/x/libq.so.1"[..],
            b"/usr/lib/x",
            b"/opt",
            b"/opt/new",
        ] {
            assert!(miss(Some(stop), false).may_change(&added), "{stop:?}");
        }
        // Another path of the same directory, a sibling name, the root.
        for stop in [
            &b"/usr/lib/x/libq.so.2"[..],
            b"/usr/lib/xx",
            b"/usr/lib/x/libq.so",
            b"/",
        ] {
            assert!(!miss(Some(stop), false).may_change(&added), "{stop:?}");
        }
        // Not known, or a failure: always asked again.
        assert!(miss(None, false).may_change(&added));
        assert!(miss(Some(b"/elsewhere"), true).may_change(&added));
        assert!(!miss(Some(b"/usr"), false).may_change(&Added::default()));
    }

    #[test]
    fn a_frame_closes_when_its_work_panics() {
        let got = std::panic::catch_unwind(|| {
            record(|| {
                note(b"/x", false, None);
                panic!("boom")
            })
        });
        assert!(got.is_err());
        assert_eq!(FRAMES.with(|f| f.borrow().len()), 0);
    }
}
