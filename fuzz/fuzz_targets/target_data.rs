//! Text → `ldslim::target::parse`. A parsed target must render and parse
//! back to the same data, and resolving paths in it (directly and through
//! the tree the loader sees) must end, whatever its symlinks.
#![no_main]

use std::path::Path;

use ldslim::image::TargetTree;
use ldslim::target::{parse, render};
use ldslim::rootfs::{resolve, symlink_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let data = match parse(text) {
        Ok(d) => d,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let again = parse(&render(&data)).expect("a rendered target parses");
    assert_eq!(again, data, "render/parse round trip");
    let mut probes: Vec<String> = data.entries.keys().take(16).cloned().collect();
    probes.extend(["/", "/lib/x86_64-linux-gnu/libc.so.6", "/../..", "/a/../b"].map(String::from));
    probes.push(data.info.interp.clone());
    for p in &probes {
        let _ = data.resolve(p);
    }
    let _ = data.elf_objects().count();
    let tree = TargetTree::new(data);
    for p in &probes {
        let _ = resolve(&tree, Path::new(p));
        let _ = symlink_chain(&tree, Path::new(p));
    }
});
