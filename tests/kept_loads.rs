//! What a load depends on besides the files it found: the paths it looked
//! for and did not find. The plan keeps a load from one round to the next
//! when its image only gained paths and none of those appeared; these
//! tests hold the record to being complete, memoised searches included.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use common::World;
use ldslim::graph::{LoadOrder, Session};
use ldslim::ldso::Options;
use ldslim::misses::{self, Miss, Misses};
use ldslim::objects::Objects;
use ldslim::rootfs::{Root, Tree};

const EARLIER_DIR: &str = "/usr/lib/x86_64-linux-gnu/libx.so.1";

fn found(order: &LoadOrder, name: &str) -> String {
    order
        .objects
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| o.path.clone())
        .unwrap_or_else(|| panic!("{name} not in the load of {}", order.entry))
}

fn asked(missed: &Misses, path: &str) -> bool {
    missed.iter().any(|m| &*m.path == path.as_bytes())
}

/// libx is only in /usr/lib, the last default directory: each load looked
/// for it in the earlier ones first. The second load's search is answered
/// by the loader's memo, yet it knows those paths too; a file appearing at
/// one of them is seen as a change, and a new load finds it there.
#[test]
fn a_load_knows_what_it_did_not_find_even_through_a_memo() {
    let w = World::new();
    w.lib("/usr/lib/libx.so.1", "libx.so.1", &[], &[]);
    w.exe("/usr/bin/a", &["/usr/lib/libx.so.1"], &[]);
    w.exe("/usr/bin/b", &["/usr/lib/libx.so.1"], &[]);
    let tree: Arc<dyn Tree> = Arc::new(Root::new(&w.root).unwrap());
    let session = Session::with_objects(Arc::new(Objects::new(tree.clone())), Options::default());
    let (a, missed_a) = misses::record(|| session.load("/usr/bin/a").unwrap());
    let (b, missed_b) = misses::record(|| session.load("/usr/bin/b").unwrap());
    assert_eq!(found(&a, "libx.so.1"), "/usr/lib/libx.so.1");
    assert_eq!(found(&b, "libx.so.1"), "/usr/lib/libx.so.1");
    for (who, missed) in [("a", &missed_a), ("b (memoised)", &missed_b)] {
        assert!(
            asked(missed, EARLIER_DIR),
            "{who}: {EARLIER_DIR} not among {:?}",
            missed
                .iter()
                .map(|m| String::from_utf8_lossy(&m.path).into_owned())
                .collect::<Vec<_>>()
        );
        // What it found is no miss; libc, found in the first directory, has
        // no earlier place to appear at.
        assert!(!asked(missed, "/usr/lib/libx.so.1"));
        assert!(!asked(missed, "/usr/lib/x86_64-linux-gnu/libc.so.6"));
    }

    // A copy lands in the earlier directory.
    w.lib(EARLIER_DIR, "libx.so.1", &[], &[]);
    let later = Arc::new(Objects::after(tree, session.objects_shared()));
    let appeared: Vec<&Miss> = missed_b
        .iter()
        .filter(|m| {
            matches!(
                later.resolve(Path::new(OsStr::from_bytes(&m.path))),
                Ok(Some(_))
            )
        })
        .collect();
    assert_eq!(appeared.len(), 1, "exactly the new file appeared");
    assert_eq!(&*appeared[0].path, EARLIER_DIR.as_bytes());
    let again = Session::with_objects(later, Options::default())
        .load("/usr/bin/b")
        .unwrap();
    assert_eq!(found(&again, "libx.so.1"), EARLIER_DIR);
}

/// A library that is nowhere: every place of the search is a miss, and
/// the second requester's memoised search names the same places.
#[test]
fn a_library_not_found_is_missed_in_every_place_searched() {
    let w = World::new();
    let stub = w.stub("libnowhere.so.7");
    w.exe("/usr/bin/a", &[&stub], &[]);
    w.exe("/usr/bin/b", &[&stub], &[]);
    let session = Session::new(Root::new(&w.root).unwrap(), Options::default());
    let (_, missed_a) = misses::record(|| session.load("/usr/bin/a").unwrap());
    let (_, missed_b) = misses::record(|| session.load("/usr/bin/b").unwrap());
    for dir in [
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/lib",
        "/usr/lib",
    ] {
        let path = format!("{dir}/libnowhere.so.7");
        assert!(asked(&missed_a, &path), "a: {path}");
        assert!(asked(&missed_b, &path), "b: {path}");
    }
    // The root has no ld.so.cache: whether one appears matters to both.
    assert!(asked(&missed_a, "/etc/ld.so.cache"));
    assert!(asked(&missed_b, "/etc/ld.so.cache"));
}

/// Every miss a round does not look up again (its resolution stopped away
/// from the new paths) is still missing in the tree that gained them.
fn assert_skipped_still_missing(missed: &Misses, later: &Objects, added: &misses::Added) -> usize {
    let mut skipped = 0;
    for m in missed.iter().filter(|m| !m.may_change(added)) {
        skipped += 1;
        assert!(
            matches!(
                later.resolve(Path::new(OsStr::from_bytes(&m.path))),
                Ok(None)
            ),
            "{} was not asked again, yet it resolves now",
            String::from_utf8_lossy(&m.path)
        );
    }
    skipped
}

/// A name found through a symlink whose target is missing: the miss
/// stopped at the target, so the target appearing is what makes the load
/// change, though the path looked for is the link's.
#[test]
fn a_miss_through_a_dangling_link_changes_when_its_target_appears() {
    let w = World::usr_merged();
    let stub = w.stub("libd.so.1");
    w.exe("/usr/bin/a", &[&stub], &[]);
    const LINK: &str = "/usr/lib/x86_64-linux-gnu/libd.so.1";
    const TARGET: &str = "/usr/lib/x86_64-linux-gnu/libd.so.1.0";
    w.symlink("libd.so.1.0", LINK);
    let tree: Arc<dyn Tree> = Arc::new(Root::new(&w.root).unwrap());
    let session = Session::with_objects(Arc::new(Objects::new(tree.clone())), Options::default());
    let (_, missed) = misses::record(|| session.load("/usr/bin/a").unwrap());
    let link = missed
        .iter()
        .find(|m| &*m.path == LINK.as_bytes())
        .expect("the link's path is a miss");
    assert_eq!(link.stop.as_deref(), Some(TARGET.as_bytes()));

    // The target appears.
    w.lib(TARGET, "libd.so.1", &[], &[]);
    let added = misses::Added::of([TARGET.as_bytes()]);
    assert!(link.may_change(&added));
    let later = Objects::after(tree, session.objects_shared());
    assert!(matches!(later.resolve(Path::new(LINK)), Ok(Some(_))));
    let skipped = assert_skipped_still_missing(&missed, &later, &added);
    assert!(skipped > 0, "the other directories' paths need no look-up");
}

/// A miss answered by the path memo stops where the first resolution
/// did: else the next round would look every memoised miss up again.
#[test]
fn a_memoised_miss_keeps_where_it_stopped() {
    let w = World::usr_merged();
    const LINK: &str = "/usr/lib/x86_64-linux-gnu/libd.so.1";
    const TARGET: &str = "/usr/lib/x86_64-linux-gnu/libd.so.1.0";
    w.symlink("libd.so.1.0", LINK);
    let objects = Objects::new(Arc::new(Root::new(&w.root).unwrap()));
    for _ in 0..2 {
        let (got, missed) = misses::record(|| objects.resolve(Path::new(LINK)));
        assert!(matches!(got, Ok(None)));
        let link = missed
            .iter()
            .find(|m| &*m.path == LINK.as_bytes())
            .expect("the link's path is a miss");
        assert_eq!(link.stop.as_deref(), Some(TARGET.as_bytes()));
    }
}

/// The first test's copy, checked the same way: what is skipped stays
/// missing, and the path that appeared is not skipped.
#[test]
fn a_round_skips_only_misses_that_stay_missing() {
    let w = World::new();
    w.lib("/usr/lib/libx.so.1", "libx.so.1", &[], &[]);
    w.exe("/usr/bin/a", &["/usr/lib/libx.so.1"], &[]);
    let tree: Arc<dyn Tree> = Arc::new(Root::new(&w.root).unwrap());
    let session = Session::with_objects(Arc::new(Objects::new(tree.clone())), Options::default());
    let (_, missed) = misses::record(|| session.load("/usr/bin/a").unwrap());
    w.lib(EARLIER_DIR, "libx.so.1", &[], &[]);
    let added = misses::Added::of([EARLIER_DIR.as_bytes()]);
    let later = Objects::after(tree, session.objects_shared());
    let skipped = assert_skipped_still_missing(&missed, &later, &added);
    assert!(skipped > 0);
    assert!(
        missed
            .iter()
            .any(|m| &*m.path == EARLIER_DIR.as_bytes() && m.may_change(&added))
    );
}
