//! What reading facts costs, and odd-but-legal reader behaviour.

use std::cell::Cell;
use std::io::{self, Write};

use super::Counting;
use super::image::{Spec, build};
use crate::elf::{Class, Data, ElfError, ReadAt, SizedFile, has_elf_magic, read_facts};

const MB100: u64 = 100 << 20;

fn sparse_file(bytes: &[(u64, &[u8])], len: u64) -> (tempfile::NamedTempFile, SizedFile) {
    let mut tmp = tempfile::NamedTempFile::new().unwrap();
    for &(at, chunk) in bytes {
        use std::os::unix::fs::FileExt;
        tmp.as_file().write_all_at(chunk, at).unwrap();
    }
    tmp.as_file().set_len(len).unwrap();
    tmp.flush().unwrap();
    let file = SizedFile::open(tmp.path()).unwrap();
    assert_eq!(file.size, len);
    (tmp, file)
}

#[test]
fn a_100_mb_file_costs_what_a_small_one_does() {
    let spec = Spec::full(Class::Elf64, Data::Little);
    let img = build(&spec);
    let (_tmp, file) = sparse_file(&[(0, &img.bytes)], MB100);
    let counting = Counting::new(file);
    assert_eq!(read_facts(&counting).unwrap(), spec.expected());
    let requested = counting.requested.get();
    assert!(requested < 64 << 10, "{requested} bytes requested");
    // One block holds e_ident, the header, the program headers and (in
    // this small image) everything else.
    assert!(counting.calls.get() <= 2, "{} reads", counting.calls.get());
}

#[test]
fn dynamic_far_from_the_header_costs_a_block_or_two() {
    let spec = Spec::full(Class::Elf64, Data::Big);
    let mut img = build(&spec);
    let dynamic = img.bytes[img.dyn_off..].to_vec();
    // Straddle a block boundary near the end of a 100 MB file.
    let far = MB100 - 8192 - 24;
    let i = img.dyn_phdr.unwrap();
    img.set_phdr(i, "offset", far);
    let (_tmp, file) = sparse_file(&[(0, &img.bytes), (far, &dynamic)], MB100);
    let counting = Counting::new(file);
    assert_eq!(read_facts(&counting).unwrap(), spec.expected());
    assert!(counting.requested.get() < 64 << 10);
    assert!(counting.max_end.get() > far);
}

#[test]
fn non_elf_costs_one_block() {
    let text = vec![b'#'; 1 << 20];
    let counting = Counting::new(text.as_slice());
    assert!(matches!(read_facts(&counting), Err(ElfError::NotElf)));
    assert!(counting.requested.get() <= 4096);
    assert!(counting.max_end.get() <= 4096);

    let counting = Counting::new(text.as_slice());
    assert!(!has_elf_magic(&counting).unwrap());
    assert_eq!(counting.requested.get(), 4);
}

#[test]
fn has_elf_magic_cases() {
    let img = build(&Spec::full(Class::Elf32, Data::Big));
    assert!(has_elf_magic(&img.bytes).unwrap());
    assert!(has_elf_magic(&b"\x7fELF"[..]).unwrap());
    assert!(!has_elf_magic(&b"\x7fEL"[..]).unwrap());
    assert!(!has_elf_magic(&b""[..]).unwrap());
    assert!(!has_elf_magic(&b"#!/bin/sh\n"[..]).unwrap());
}

/// Returns one byte per call and fails every other call with EINTR: legal
/// for `pread`, and it must not change the result.
struct Stingy<'a> {
    bytes: &'a [u8],
    interrupt: Cell<bool>,
}

impl ReadAt for Stingy<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.interrupt.set(!self.interrupt.get());
        if self.interrupt.get() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(1);
        self.bytes.read_at(&mut buf[..n], offset)
    }
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

#[test]
fn short_and_interrupted_reads() {
    let spec = Spec::full(Class::Elf32, Data::Little);
    let img = build(&spec);
    let stingy = Stingy {
        bytes: &img.bytes,
        interrupt: Cell::new(false),
    };
    assert_eq!(read_facts(&stingy).unwrap(), spec.expected());
}

/// Claims a larger size than it has, as a file that shrank would.
struct Liar<'a>(&'a [u8]);

impl ReadAt for Liar<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }
    fn size(&self) -> u64 {
        self.0.len() as u64 * 2
    }
}

#[test]
fn a_file_shorter_than_its_size_is_truncated() {
    let img = build(&Spec::full(Class::Elf64, Data::Little));
    for len in [20, 64, 100, img.dyn_off + 3, img.bytes.len() - 1] {
        let r = read_facts(&Liar(&img.bytes[..len]));
        // The claimed size may already fail a range check; otherwise the
        // short read itself is reported.
        assert!(
            matches!(
                r,
                Err(ElfError::Truncated { .. } | ElfError::ProgramHeadersOutOfFile { .. })
            ),
            "{len}: {r:?}"
        );
    }
}

struct Broken;

impl ReadAt for Broken {
    fn read_at(&self, _: &mut [u8], _: u64) -> io::Result<usize> {
        Err(io::Error::other("disk on fire"))
    }
    fn size(&self) -> u64 {
        1 << 20
    }
}

#[test]
fn read_errors_are_io_errors() {
    assert!(matches!(read_facts(&Broken), Err(ElfError::Io(_))));
    assert!(has_elf_magic(&Broken).is_err());
}
