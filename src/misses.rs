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
use std::sync::Arc;

/// One path looked for and not found: missing, or failed to resolve (a
/// symlink loop), which a later tree must answer the same way.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Miss {
    pub path: Box<[u8]>,
    pub failed: bool,
}

/// What one computation did not find, shared by the memos that replay it.
pub type Misses = Arc<[Miss]>;

thread_local! {
    /// The open frames of this thread, innermost last.
    static FRAMES: RefCell<Vec<Vec<Miss>>> = const { RefCell::new(Vec::new()) };
}

/// Note that `path` was not found (`failed`: it could not be resolved),
/// in the innermost open frame of this thread, if any.
pub fn note(path: &[u8], failed: bool) {
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            top.push(Miss {
                path: path.into(),
                failed,
            });
        }
    });
}

/// Note every miss of an earlier computation whose answer is reused.
pub fn replay(misses: &[Miss]) {
    if misses.is_empty() {
        return;
    }
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            top.extend_from_slice(misses);
        }
    });
}

/// Run `f` in a frame of its own: its result, and the paths it did not
/// find (each once). An enclosing frame notes them too, so a memo filled
/// inside a load still counts for that load.
pub fn record<T>(f: impl FnOnce() -> T) -> (T, Misses) {
    /// Closes the frame even when `f` unwinds.
    struct Frame;
    impl Drop for Frame {
        fn drop(&mut self) {
            FRAMES.with(|f| {
                let mut frames = f.borrow_mut();
                if let Some(mine) = frames.pop()
                    && let Some(outer) = frames.last_mut()
                {
                    outer.extend(mine);
                }
            });
        }
    }
    FRAMES.with(|f| f.borrow_mut().push(Vec::new()));
    let guard = Frame;
    let value = f();
    let mut mine = FRAMES.with(|f| {
        f.borrow_mut()
            .last_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    });
    // The frame, now empty, is closed before the outer one gets the list.
    drop(guard);
    mine.sort_unstable_by(|a, b| a.path.cmp(&b.path).then(a.failed.cmp(&b.failed)));
    mine.dedup();
    let misses: Misses = mine.into();
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
        let ((_, inner), outer) = record(|| {
            note(b"/b", false);
            record(|| {
                note(b"/a", false);
                note(b"/a", false);
                replay(&[Miss {
                    path: b"/c".as_slice().into(),
                    failed: true,
                }]);
            })
        });
        assert_eq!(paths(&inner), [b"/a".as_slice(), b"/c"]);
        assert!(inner[1].failed);
        assert_eq!(paths(&outer), [b"/a".as_slice(), b"/b", b"/c"]);
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
