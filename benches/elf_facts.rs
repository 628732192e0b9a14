//! ELF facts: what one object costs to read, small or 1 GiB.
//!
//! `read_facts` reads only the header, the program headers, PT_INTERP,
//! PT_DYNAMIC and the strings and version records it points at, in 4 KiB
//! blocks: a 1 GiB sparse file and a real 100 MiB object cost what the small
//! object they were made from costs. Before the timings, the bytes each one
//! made `read_facts` read are printed.

mod support;

use std::fs;
use std::io;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use divan::Bencher;
use ldslim::elf::{ReadAt, SizedFile, read_facts};

struct Inputs {
    _root: support::Root,
    small: std::path::PathBuf,
    sparse: std::path::PathBuf,
    padded: std::path::PathBuf,
    libc: std::path::PathBuf,
    small_bytes: Vec<u8>,
}

static INPUTS: LazyLock<Inputs> = LazyLock::new(|| {
    let root = support::Root::new();
    root.lib("/lib/libsmall.so", "libsmall.so", &[], &[]);
    let small = root.host("/lib/libsmall.so");
    let small_bytes = fs::read(&small).unwrap();
    // The same object followed by a 1 GiB hole: the headers and dynamic
    // section are where they were, the size is 1 GiB.
    let sparse = root.host("/lib/libsparse.so");
    fs::write(&sparse, &small_bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(&sparse)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    // A real 100 MiB object: 100 MiB of initialised data in its file.
    let src = root.host("/tmp/padded.c");
    root.write(
        "/tmp/padded.c",
        b"char ldslim_pad[100 << 20] = {1};\nint ldslim_padded(void) { return ldslim_pad[7]; }\n",
    );
    let padded = root.host("/lib/libpadded.so");
    let o = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-Wl,-soname,libpadded.so", "-o"])
        .arg(&padded)
        .arg(&src)
        .output()
        .expect("cc runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Inputs {
        small,
        sparse,
        padded,
        libc: root.host(&format!("{}/libc.so.6", support::MULTIARCH)),
        small_bytes,
        _root: root,
    }
});

/// A reader that counts the bytes it hands out.
struct Counting<'a> {
    inner: &'a SizedFile,
    read: AtomicU64,
}

impl ReadAt for Counting<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let n = self.inner.read_at(buf, offset)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn size(&self) -> u64 {
        self.inner.size()
    }
}

fn bytes_read(path: &std::path::Path) -> (u64, u64) {
    let f = SizedFile::open(path).unwrap();
    let c = Counting {
        inner: &f,
        read: AtomicU64::new(0),
    };
    read_facts(&c).unwrap();
    (f.size, c.read.into_inner())
}

fn main() {
    let i = &*INPUTS;
    for (what, p) in [
        ("small", &i.small),
        ("sparse 1 GiB", &i.sparse),
        ("padded 100 MiB", &i.padded),
        ("host libc.so.6", &i.libc),
    ] {
        let (size, read) = bytes_read(p);
        eprintln!("read_facts({what}): file {size} bytes, read {read} bytes");
    }
    divan::main();
}

/// Open, `fstat`, read the facts, close: what the scan pays per ELF file.
fn open_and_read(b: Bencher, path: &std::path::Path) {
    b.bench(|| {
        let f = SizedFile::open(path).unwrap();
        read_facts(&f).unwrap()
    });
}

#[divan::bench]
fn small_file(b: Bencher) {
    open_and_read(b, &INPUTS.small);
}

#[divan::bench]
fn sparse_1gib_file(b: Bencher) {
    open_and_read(b, &INPUTS.sparse);
}

#[divan::bench]
fn padded_100mib_file(b: Bencher) {
    open_and_read(b, &INPUTS.padded);
}

/// A real library with ~40 version definitions.
#[divan::bench]
fn host_libc_file(b: Bencher) {
    open_and_read(b, &INPUTS.libc);
}

/// Parsing alone, from memory.
#[divan::bench]
fn small_in_memory(b: Bencher) {
    let bytes = INPUTS.small_bytes.as_slice();
    b.bench(|| read_facts(bytes).unwrap());
}
