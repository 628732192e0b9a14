//! The host's own files, read only as inputs. A missing file is skipped: the
//! point is real-world layouts, not this particular host.

use std::path::Path;

use super::{Counting, readelf};
use crate::elf::{ElfFacts, SizedFile, read_facts};

const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";

fn host_facts(path: &str) -> Option<ElfFacts> {
    let Ok(file) = SizedFile::open(path) else {
        crate::cannot_run(&format!("{path} is not on this machine"));
        return None;
    };
    Some(read_facts(&file).unwrap())
}

#[test]
fn libc_defines_glibc_versions() {
    let Some(f) = host_facts(LIBC) else { return };
    assert_eq!(f.soname.as_deref(), Some("libc.so.6"));
    let base = f.verdef.iter().find(|d| d.base).unwrap();
    assert_eq!(base.name, "libc.so.6");
    let v = f.verdef.iter().find(|d| d.name == "GLIBC_2.2.5").unwrap();
    assert_eq!(v.hash, super::image::elf_hash(b"GLIBC_2.2.5"));
    assert!(!v.base);
}

#[test]
fn ls_needs_glibc_versions() {
    let Some(f) = host_facts("/bin/ls") else {
        return;
    };
    assert!(f.needed.iter().any(|n| n == "libc.so.6"));
    let libc = f.verneed.iter().find(|n| n.file == "libc.so.6").unwrap();
    assert!(!libc.versions.is_empty());
    assert!(libc.versions.iter().all(|v| v.name.starts_with("GLIBC_")));
}

#[test]
fn libc_costs_a_few_blocks() {
    let Ok(file) = SizedFile::open(LIBC) else {
        return;
    };
    let big = file.size;
    let counting = Counting::new(file);
    read_facts(&counting).unwrap();
    let requested = counting.requested.get();
    assert!(requested < 64 << 10, "{requested} bytes requested of {big}");
}

#[test]
fn host_files_agree_with_readelf() {
    if !readelf::available() {
        crate::cannot_run("no readelf (binutils)");
        return;
    }
    let candidates = [
        LIBC,
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/lib64/ld-linux-x86-64.so.2",
        "/bin/ls",
        "/bin/bash",
        "/usr/bin/readelf",
        "/usr/bin/gcc",
    ];
    let mut checked = 0;
    for path in candidates.iter().map(Path::new).filter(|p| p.exists()) {
        readelf::assert_agrees(path);
        checked += 1;
    }
    assert!(checked > 0, "no host file to compare");
}

#[test]
fn sections_agree_with_goblin() {
    use crate::elf::section_range;
    let candidates = [
        LIBC,
        "/lib64/ld-linux-x86-64.so.2",
        "/lib/ld-linux.so.2",
        "/bin/ls",
        "/usr/bin/gcc",
    ];
    let mut checked = 0;
    for path in candidates.iter().filter(|p| Path::new(p).exists()) {
        let bytes = std::fs::read(path).unwrap();
        let elf = goblin::elf::Elf::parse(&bytes).unwrap();
        for want in [".rodata", ".dynstr", ".text", ".gnu.version_r", ".no-such"] {
            let expected = elf
                .section_headers
                .iter()
                .find(|s| {
                    elf.shdr_strtab.get_at(s.sh_name) == Some(want)
                        && s.sh_type != goblin::elf::section_header::SHT_NOBITS
                })
                .map(|s| (s.sh_offset, s.sh_size));
            let file = SizedFile::open(path).unwrap();
            let got = section_range(&file, want.as_bytes()).unwrap();
            assert_eq!(got, expected, "{path} {want}");
            checked += 1;
        }
        // Every truncation either finds the same section or nothing (a
        // table cut off is no table); never a panic, never a wrong range.
        let rodata = section_range(&bytes, b".rodata").unwrap();
        for cut in (0..bytes.len()).step_by(bytes.len() / 257 + 1) {
            let short = &bytes[..cut];
            if let Ok(Some(r)) = section_range(short, b".rodata") {
                assert_eq!(Some(r), rodata, "{path} cut at {cut}");
            }
        }
    }
    assert!(checked > 0, "no host file to compare");
}
