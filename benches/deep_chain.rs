//! Resolution of a deep chain: `/app/main` needs `libchain0.so`, which
//! needs `libchain1.so`, … down to `libchain49.so`, each found through the
//! root's `ld.so.cache`, as glibc would load them (breadth-first, each name
//! searched once).
//!
//! `cold`: a fresh session per load, so every file is resolved and parsed
//! (what the first entry of a scan pays). `warm`: one session, so every
//! lookup is a memo hit (what every later entry pays).

mod support;

use std::sync::LazyLock;

use divan::Bencher;
use ldslim::graph::Session;
use ldslim::ldso::Options;
use ldslim::rootfs::Root;

const DEPTH: usize = 50;

static ROOT: LazyLock<support::Root> = LazyLock::new(|| {
    let root = support::Root::new();
    let dir = "/usr/lib/chain";
    for i in (0..DEPTH).rev() {
        let needs: Vec<String> = if i + 1 < DEPTH {
            vec![format!("{dir}/libchain{}.so", i + 1)]
        } else {
            vec![]
        };
        let needs: Vec<&str> = needs.iter().map(String::as_str).collect();
        root.lib(
            &format!("{dir}/libchain{i}.so"),
            &format!("libchain{i}.so"),
            &needs,
            &[],
        );
    }
    root.exe("/app/main", &[&format!("{dir}/libchain0.so")], &[]);
    root.ldconfig(&[dir, support::MULTIARCH]);
    root
});

fn session() -> Session {
    Session::new(Root::new(&ROOT.dir).unwrap(), Options::default())
}

fn main() {
    let order = session().load("/app/main").unwrap();
    // main, the 50 libraries, libc, the loader.
    assert!(order.is_complete());
    assert_eq!(order.objects.len(), DEPTH + 3, "{:#?}", order.objects);
    divan::main();
}

#[divan::bench]
fn cold(b: Bencher) {
    b.bench(|| session().load("/app/main").unwrap());
}

#[divan::bench]
fn warm(b: Bencher) {
    let s = session();
    s.load("/app/main").unwrap();
    b.bench(|| s.load("/app/main").unwrap());
}
