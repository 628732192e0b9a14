//! Files produced by the host toolchain at test time (sources under
//! `testdata/elf/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use goblin::elf::dynamic::DF_1_NODEFLIB;
use goblin::elf::header::{EM_386, EM_X86_64, ET_DYN, ET_EXEC};
use tempfile::TempDir;

use super::image::elf_hash;
use super::readelf;
use crate::elf::blocks::BlockReader;
use crate::elf::header::{read_header, read_ident};
use crate::elf::phdr::read_program_headers;
use crate::elf::{Class, Data, ElfError, ElfFacts, SizedFile, read_facts};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/elf")
        .join(name)
}

/// Runs `cc` in `dir`; `None` (with the reason on stderr) if it fails, for
/// the toolchain variants a host may lack.
fn try_cc(dir: &Path, args: &[&str]) -> Option<()> {
    let out = Command::new("cc")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("cc must be installed to run these tests");
    if out.status.success() {
        Some(())
    } else {
        eprintln!(
            "cc {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        None
    }
}

fn cc(dir: &Path, args: &[&str]) {
    try_cc(dir, args).expect("cc failed");
}

fn facts(path: &Path) -> ElfFacts {
    read_facts(&SizedFile::open(path).unwrap()).unwrap()
}

/// `libx.so` with soname, `$ORIGIN` rpath (DT_RPATH or DT_RUNPATH),
/// DF_1_NODEFLIB and three versions.
fn build_libx(dir: &Path, new_dtags: bool, extra: &[&str]) -> PathBuf {
    let src = testdata("libx.c");
    let map = format!("-Wl,--version-script={}", testdata("libx.map").display());
    let dtags = if new_dtags {
        "-Wl,--enable-new-dtags"
    } else {
        "-Wl,--disable-new-dtags"
    };
    let mut args = vec![
        "-shared",
        "-fPIC",
        "-o",
        "libx.so",
        src.to_str().unwrap(),
        "-Wl,-soname,libx.so.1",
        "-Wl,-rpath,$ORIGIN/../lib",
        dtags,
        // GNU ld spells it nodefaultlib; "-z nodeflib" is ignored with a
        // warning.
        "-Wl,-z,nodefaultlib",
        &map,
    ];
    args.extend_from_slice(extra);
    cc(dir, &args);
    dir.join("libx.so")
}

fn assert_libx_versions(f: &ElfFacts) {
    let names: Vec<_> = f.verdef.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["libx.so.1", "LIBX_1.0", "LIBX_2.0", "LIBX_3.0"]);
    let bases: Vec<_> = f.verdef.iter().map(|d| d.base).collect();
    assert_eq!(bases, [true, false, false, false]);
    for d in &f.verdef {
        assert_eq!(d.hash, elf_hash(d.name.as_bytes()), "{}", d.name);
    }
}

#[test]
fn shared_library_with_rpath() {
    let dir = TempDir::new().unwrap();
    let lib = build_libx(dir.path(), false, &[]);
    let f = facts(&lib);
    assert_eq!((f.class, f.data), (Class::Elf64, Data::Little));
    assert_eq!((f.e_type, f.machine, f.phentsize), (ET_DYN, EM_X86_64, 56));
    assert!(f.dynamic);
    assert_eq!(f.interp, None);
    assert_eq!(f.soname.as_deref(), Some("libx.so.1"));
    assert_eq!(f.rpath.as_deref(), Some("$ORIGIN/../lib"));
    assert_eq!(f.runpath, None);
    assert_ne!(f.flags_1 & DF_1_NODEFLIB, 0);
    assert!(f.verneed.iter().all(|n| n.file != "libx.so.1"));
    assert_libx_versions(&f);
    if readelf::available() {
        readelf::assert_agrees(&lib);
    }
}

#[test]
fn shared_library_with_runpath() {
    let dir = TempDir::new().unwrap();
    let lib = build_libx(dir.path(), true, &[]);
    let f = facts(&lib);
    assert_eq!(f.rpath, None);
    assert_eq!(f.runpath.as_deref(), Some("$ORIGIN/../lib"));
    assert_libx_versions(&f);
    if readelf::available() {
        readelf::assert_agrees(&lib);
    }
}

#[test]
fn consumer_needs_the_versions() {
    let dir = TempDir::new().unwrap();
    build_libx(dir.path(), true, &[]);
    let src = testdata("consumer.c");
    cc(
        dir.path(),
        &["-o", "consumer", src.to_str().unwrap(), "-L.", "-lx"],
    );
    let exe = dir.path().join("consumer");
    let f = facts(&exe);
    assert_eq!(f.needed.first().map(String::as_str), Some("libx.so.1"));
    assert!(f.needed.iter().any(|n| n == "libc.so.6"));
    let interp = f.interp.as_deref().unwrap();
    assert!(
        interp.starts_with('/') && interp.contains("ld-linux"),
        "{interp}"
    );
    let libx = f.verneed.iter().find(|n| n.file == "libx.so.1").unwrap();
    let mut names: Vec<_> = libx.versions.iter().map(|v| v.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["LIBX_1.0", "LIBX_2.0", "LIBX_3.0"]);
    for v in &libx.versions {
        assert_eq!(v.hash, elf_hash(v.name.as_bytes()));
    }
    let libc = f.verneed.iter().find(|n| n.file == "libc.so.6").unwrap();
    assert!(libc.versions.iter().all(|v| v.name.starts_with("GLIBC_")));
    if readelf::available() {
        readelf::assert_agrees(&exe);
    }
}

#[test]
fn static_executable_is_not_dynamic() {
    let dir = TempDir::new().unwrap();
    let src = testdata("static.c");
    cc(
        dir.path(),
        &["-static", "-o", "static", src.to_str().unwrap()],
    );
    let f = facts(&dir.path().join("static"));
    assert_eq!(f.e_type, ET_EXEC);
    assert!(!f.dynamic);
    assert_eq!(f.interp, None);
    assert!(f.needed.is_empty() && f.verneed.is_empty() && f.verdef.is_empty());
}

/// 32-bit objects that need no 32-bit libc: `-nostdlib -shared` links on
/// hosts without multilib.
#[test]
fn elf32_library_and_consumer() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let m32 = ["-m32", "-nostdlib", "-shared", "-fPIC"];
    let map = format!("-Wl,--version-script={}", testdata("libx.map").display());
    let libx = testdata("libx.c");
    let mut args = m32.to_vec();
    args.extend(["-o", "libx32.so", libx.to_str().unwrap()]);
    args.extend(["-Wl,-soname,libx32.so.1", "-Wl,-rpath,/opt/x32", &map]);
    if try_cc(d, &args).is_none() {
        crate::cannot_run("the host cannot link -m32 objects");
        return;
    }
    let consumer = testdata("consumer.c");
    let mut args = m32.to_vec();
    args.extend(["-o", "consumer32.so", consumer.to_str().unwrap()]);
    args.extend(["libx32.so"]);
    cc(d, &args);

    let lib = facts(&d.join("libx32.so"));
    assert_eq!((lib.class, lib.data), (Class::Elf32, Data::Little));
    assert_eq!((lib.machine, lib.phentsize), (EM_386, 32));
    assert_eq!(lib.soname.as_deref(), Some("libx32.so.1"));
    assert_eq!(lib.runpath.or(lib.rpath).as_deref(), Some("/opt/x32"));
    let names: Vec<_> = lib.verdef.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["libx32.so.1", "LIBX_1.0", "LIBX_2.0", "LIBX_3.0"]);

    let user = facts(&d.join("consumer32.so"));
    assert_eq!(user.class, Class::Elf32);
    assert_eq!(user.needed, ["libx32.so.1"]);
    assert_eq!(user.verneed.len(), 1);
    assert_eq!(user.verneed[0].file, "libx32.so.1");
    assert_eq!(user.verneed[0].versions.len(), 3);

    if readelf::available() {
        readelf::assert_agrees(&d.join("libx32.so"));
        readelf::assert_agrees(&d.join("consumer32.so"));
    }
    assert_every_truncation_is_sound(&d.join("libx32.so"));
}

/// End of the PT_DYNAMIC segment, per our own program header reader.
fn dynamic_end(bytes: &[u8]) -> u64 {
    let ident = read_ident(bytes).unwrap();
    let mut rd = BlockReader::new(bytes);
    let hdr = read_header(&mut rd, ident.layout).unwrap();
    let segs = read_program_headers(&mut rd, ident.layout, &hdr).unwrap();
    let d = segs.dynamic.unwrap();
    d.offset + d.size
}

/// Cut `path` at every length: each result is an error or the full facts,
/// never fewer libraries or versions; cuts inside PT_DYNAMIC are errors.
fn assert_every_truncation_is_sound(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let full = read_facts(bytes.as_slice()).unwrap();
    assert!(!full.needed.is_empty() || !full.verdef.is_empty());
    let dyn_end = dynamic_end(&bytes);
    let mut oks = 0;
    for len in 0..bytes.len() {
        match read_facts(&bytes[..len]) {
            Ok(f) => {
                assert_eq!(f, full, "cut at {len}");
                assert!(len as u64 >= dyn_end, "cut at {len} inside PT_DYNAMIC");
                oks += 1;
            }
            Err(ElfError::NotElf) => assert!(len < 4),
            Err(_) => {}
        }
    }
    // Section headers sit at the end of the file and are never read: cutting
    // them off changes nothing.
    assert!(oks > 0, "no truncation was readable");
}

#[test]
fn every_truncation_of_a_real_library() {
    let dir = TempDir::new().unwrap();
    let lib = build_libx(dir.path(), false, &["-s"]);
    assert_every_truncation_is_sound(&lib);
}

#[test]
fn separate_debuginfo_is_refused_like_glibc() {
    // objcopy --only-keep-debug keeps PT_DYNAMIC with p_filesz 0.
    let dir = TempDir::new().unwrap();
    let lib = build_libx(dir.path(), false, &[]);
    let debug = dir.path().join("libx.debug");
    let out = Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&lib)
        .arg(&debug)
        .output();
    if !out.is_ok_and(|o| o.status.success()) {
        crate::cannot_run("objcopy unavailable (binutils)");
        return;
    }
    let err = read_facts(&SizedFile::open(&debug).unwrap()).unwrap_err();
    assert!(matches!(err, ElfError::EmptyDynamic), "{err}");
}
