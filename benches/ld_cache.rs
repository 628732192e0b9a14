//! `/etc/ld.so.cache`: parsing a cache `ldconfig` wrote for a root with
//! 2,000 libraries (plus libc), and looking names up in it (first, middle
//! and last of the table, and a name it lacks) the way the loader does:
//! `elf/dl-cache.c`'s binary search.

mod support;

use std::sync::LazyLock;

use divan::Bencher;
use ldslim::ldso::cache::{CacheAbi, LdCache, cache_abi};
use support::SonameTemplate;

const LIBS: usize = 2000;
const EM_X86_64: u16 = 62;

struct Inputs {
    bytes: Vec<u8>,
    cache: LdCache,
    abi: CacheAbi,
}

static INPUTS: LazyLock<Inputs> = LazyLock::new(|| {
    let root = support::Root::new();
    let t = SonameTemplate::new(&root);
    for i in 0..LIBS {
        let name = SonameTemplate::name(i);
        t.write(&root, i, &format!("/usr/lib/bench/{name}"));
    }
    root.ldconfig(&["/usr/lib/bench", support::MULTIARCH]);
    let bytes = std::fs::read(root.host("/etc/ld.so.cache")).unwrap();
    let cache = LdCache::parse(&bytes).unwrap();
    assert!(cache.len() > LIBS, "{} entries", cache.len());
    let abi = cache_abi(EM_X86_64, true, 0).unwrap();
    Inputs { bytes, cache, abi }
});

fn main() {
    eprintln!(
        "ld.so.cache: {} bytes, {} entries",
        INPUTS.bytes.len(),
        INPUTS.cache.len()
    );
    divan::main();
}

#[divan::bench]
fn parse(b: Bencher) {
    let bytes = INPUTS.bytes.as_slice();
    b.bench(|| LdCache::parse(bytes).unwrap());
}

#[divan::bench(args = ["libb000000.so.1", "libb001000.so.1", "libb001999.so.1", "libc.so.6", "libmissing.so.9"])]
fn lookup(b: Bencher, name: &str) {
    let i = &*INPUTS;
    let found = i.cache.lookup(name, i.abi, &[]).is_some();
    assert_eq!(found, name != "libmissing.so.9", "{name}");
    b.bench(|| i.cache.lookup(divan::black_box(name), i.abi, &[]));
}
