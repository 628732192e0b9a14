//! The tree walk of a scan, on a generated tree of 10,000 regular files
//! (100 directories of 100 files, 2 % of them ELF shared objects needing
//! libc, the rest text), in four variants that separate the costs:
//!
//! - `list_only`: the walk, no file opened (what `find -type f` does);
//! - `open_magic`: the walk, each file opened by its directory's descriptor
//!   and four bytes read (what the scan's walk does);
//! - `walkdir_open_magic`: the same with `walkdir` and full-path opens, one
//!   thread (how the scan walked before);
//! - `scan_all`: `ldslim scan --scope all` as a library call: walk, ELF
//!   facts, resolution of every object, the report.

mod support;

use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use divan::Bencher;
use ldslim::graph::Session;
use ldslim::ldso::Options;
use ldslim::scan::{self, Quiet, Scope};
use ldslim::walk::{self, Entry, Visit};

const DIRS: usize = 100;
const FILES_PER_DIR: usize = 100;
const ELF_PER_DIR: usize = 2;

static ROOT: LazyLock<support::Root> = LazyLock::new(|| {
    let root = support::Root::new();
    root.lib("/tmp/lib.so", "libbench.so", &[], &[]);
    let elf = std::fs::read(root.host("/tmp/lib.so")).unwrap();
    std::fs::remove_file(root.host("/tmp/lib.so")).unwrap();
    let text = b"import os\nprint(os.name)\n".repeat(40);
    for d in 0..DIRS {
        for f in 0..FILES_PER_DIR {
            let (name, bytes): (String, &[u8]) = if f < ELF_PER_DIR {
                (format!("mod{f}.cpython-311-x86_64-linux-gnu.so"), &elf)
            } else {
                (format!("module{f}.py"), &text)
            };
            root.write(&format!("/srv/pkg{d:03}/sub/{name}"), bytes);
        }
    }
    root
});

/// Counts regular files; opens them and reads their magic when asked.
struct Count {
    open: bool,
    files: AtomicUsize,
    elf: AtomicUsize,
}

impl Visit for Count {
    type Out = ();
    fn file(&self, e: &Entry<'_>) -> Option<()> {
        self.files.fetch_add(1, Ordering::Relaxed);
        if self.open {
            let f = e.open().ok()?;
            let mut magic = [0u8; 4];
            if f.read_at(&mut magic, 0).ok()? == 4 && &magic == b"\x7fELF" {
                self.elf.fetch_add(1, Ordering::Relaxed);
            }
        }
        None
    }
    fn error(&self, _: &Path, _: io::Error) -> Option<()> {
        None
    }
}

fn count(open: bool) -> (usize, usize) {
    let c = Count {
        open,
        files: AtomicUsize::new(0),
        elf: AtomicUsize::new(0),
    };
    walk::walk(&ROOT.dir, &[std::path::PathBuf::from("/")], &c);
    (c.files.into_inner(), c.elf.into_inner())
}

fn walkdir_open_magic_once() -> (usize, usize) {
    let (mut files, mut elf) = (0, 0);
    for e in walkdir::WalkDir::new(&ROOT.dir) {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        files += 1;
        let f = std::fs::File::open(e.path()).unwrap();
        let mut magic = [0u8; 4];
        if f.read_at(&mut magic, 0).unwrap() == 4 && &magic == b"\x7fELF" {
            elf += 1;
        }
    }
    (files, elf)
}

fn scan_all_once() -> scan::ScanReport {
    let session = Session::new(
        ldslim::rootfs::Root::new(&ROOT.dir).unwrap(),
        Options::default(),
    );
    scan::scan(&session, &[], Scope::All, &Quiet).unwrap()
}

fn main() {
    let files = DIRS * FILES_PER_DIR + 2;
    let elf = DIRS * ELF_PER_DIR + 2;
    assert_eq!(count(false).0, files);
    assert_eq!(count(true), (files, elf));
    assert_eq!(walkdir_open_magic_once(), (files, elf));
    let r = scan_all_once();
    assert_eq!((r.files, r.objects), (files, elf));
    assert!(!r.has_findings(), "{:?}", r.errors);
    divan::main();
}

#[divan::bench]
fn list_only(b: Bencher) {
    b.bench(|| count(false));
}

#[divan::bench]
fn open_magic(b: Bencher) {
    b.bench(|| count(true));
}

#[divan::bench]
fn walkdir_open_magic(b: Bencher) {
    b.bench(walkdir_open_magic_once);
}

#[divan::bench]
fn scan_all(b: Bencher) {
    b.bench(scan_all_once);
}
