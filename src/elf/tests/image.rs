//! Minimal ELF images built byte by byte, for the layouts the host compiler
//! cannot produce (big-endian, and 32-bit without multilib) and for
//! corrupting precisely one field at a time.
//!
//! Layout: ELF header, program headers (PT_LOAD covering the whole image,
//! then PT_INTERP and PT_DYNAMIC when present), interpreter, `.dynstr`,
//! Verneed chain, Verdef chain, dynamic section last. Everything in the image
//! is needed, so cutting any byte must make `read_facts` fail.

use goblin::elf::dynamic::{
    DT_FLAGS_1, DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB,
    DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM,
};
use goblin::elf::header::{ET_DYN, EV_CURRENT};
use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP, PT_LOAD};

use crate::elf::{Class, Data, ElfFacts, VerneedFile, VersionDef, VersionNeed};

/// Where the image claims to be loaded; nonzero so that a reader confusing
/// addresses with offsets fails.
pub const VBASE: u64 = 0x40_0000;

/// A machine number no real tool uses, to prove it is passed through.
pub const MACHINE: u16 = 0x1234;

#[derive(Clone, Debug)]
pub struct Spec {
    pub class: Class,
    pub data: Data,
    pub interp: Option<String>,
    pub dynamic: bool,
    pub needed: Vec<String>,
    pub soname: Option<String>,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    pub flags_1: u64,
    /// (file, [(version, flags)])
    pub verneed: Vec<(String, Vec<(String, u16)>)>,
    /// (version, flags)
    pub verdef: Vec<(String, u16)>,
    /// Emit DT_VERNEEDNUM / DT_VERDEFNUM.
    pub counts: bool,
}

impl Spec {
    /// A file with a bit of everything.
    pub fn full(class: Class, data: Data) -> Self {
        let s = |x: &str| x.to_string();
        Self {
            class,
            data,
            interp: Some(s("/lib/ld-test.so.1")),
            dynamic: true,
            needed: vec![s("liba.so.1"), s("libb.so.2"), s("libc.so.6")],
            soname: Some(s("libtest.so.1")),
            rpath: Some(s("$ORIGIN/../lib:/opt/x")),
            runpath: Some(s("/run/path")),
            flags_1: 0x800,
            verneed: vec![
                (s("liba.so.1"), vec![(s("A_1.0"), 0), (s("A_2.0"), 2)]),
                (s("libc.so.6"), vec![(s("GLIBC_2.2.5"), 0)]),
            ],
            verdef: vec![(s("libtest.so.1"), 1), (s("T_1.0"), 0), (s("T_2.0"), 0)],
            counts: true,
        }
    }

    pub fn expected(&self) -> ElfFacts {
        ElfFacts {
            class: self.class,
            data: self.data,
            osabi: 0,
            abi_version: 0,
            e_type: ET_DYN,
            machine: MACHINE,
            phentsize: phdr_size(self.class) as u16,
            interp: self.interp.clone(),
            dynamic: self.dynamic,
            needed: if self.dynamic {
                self.needed.clone()
            } else {
                vec![]
            },
            soname: self.soname.clone().filter(|_| self.dynamic),
            rpath: self.rpath.clone().filter(|_| self.dynamic),
            runpath: self.runpath.clone().filter(|_| self.dynamic),
            flags_1: if self.dynamic { self.flags_1 } else { 0 },
            verneed: if !self.dynamic {
                vec![]
            } else {
                self.verneed
                    .iter()
                    .map(|(file, vers)| VerneedFile {
                        file: file.clone(),
                        versions: vers
                            .iter()
                            .map(|(name, flags)| VersionNeed {
                                name: name.clone(),
                                hash: elf_hash(name.as_bytes()),
                                weak: flags & 2 != 0,
                            })
                            .collect(),
                    })
                    .collect()
            },
            verdef: if !self.dynamic {
                vec![]
            } else {
                self.verdef
                    .iter()
                    .map(|(name, flags)| VersionDef {
                        name: name.clone(),
                        hash: elf_hash(name.as_bytes()),
                        base: flags & 1 != 0,
                    })
                    .collect()
            },
            dlopen_notes: vec![],
        }
    }
}

/// The SysV ELF hash, as ld stores in vna_hash / vd_hash.
pub fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

pub fn ehdr_size(class: Class) -> usize {
    match class {
        Class::Elf32 => 52,
        Class::Elf64 => 64,
    }
}

pub fn phdr_size(class: Class) -> usize {
    match class {
        Class::Elf32 => 32,
        Class::Elf64 => 56,
    }
}

pub fn dyn_size(class: Class) -> usize {
    match class {
        Class::Elf32 => 8,
        Class::Elf64 => 16,
    }
}

/// A built image and where its parts are, for targeted corruption.
#[derive(Clone, Debug)]
pub struct Image {
    pub bytes: Vec<u8>,
    pub class: Class,
    pub data: Data,
    pub phoff: usize,
    /// Index of PT_DYNAMIC among the program headers.
    pub dyn_phdr: Option<usize>,
    pub interp_phdr: Option<usize>,
    pub dynstr_off: usize,
    pub dynstr_len: usize,
    pub verneed_off: usize,
    pub verdef_off: usize,
    pub dyn_off: usize,
    /// (tag, file offset of the entry) for each dynamic entry, in order.
    pub dyn_entries: Vec<(u64, usize)>,
}

impl Image {
    pub fn word_size(&self) -> usize {
        match self.class {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }

    pub fn put_u16(&mut self, at: usize, v: u16) {
        let b = match self.data {
            Data::Little => v.to_le_bytes(),
            Data::Big => v.to_be_bytes(),
        };
        self.bytes[at..at + 2].copy_from_slice(&b);
    }

    pub fn put_u32(&mut self, at: usize, v: u32) {
        let b = match self.data {
            Data::Little => v.to_le_bytes(),
            Data::Big => v.to_be_bytes(),
        };
        self.bytes[at..at + 4].copy_from_slice(&b);
    }

    pub fn put_u64(&mut self, at: usize, v: u64) {
        let b = match self.data {
            Data::Little => v.to_le_bytes(),
            Data::Big => v.to_be_bytes(),
        };
        self.bytes[at..at + 8].copy_from_slice(&b);
    }

    /// A class-sized field (truncating `v` for ELFCLASS32).
    pub fn put_word(&mut self, at: usize, v: u64) {
        match self.class {
            Class::Elf32 => self.put_u32(at, v as u32),
            Class::Elf64 => self.put_u64(at, v),
        }
    }

    pub fn set_phnum(&mut self, n: u16) {
        let at = match self.class {
            Class::Elf32 => 44,
            Class::Elf64 => 56,
        };
        self.put_u16(at, n);
    }

    pub fn set_phentsize(&mut self, n: u16) {
        let at = match self.class {
            Class::Elf32 => 42,
            Class::Elf64 => 54,
        };
        self.put_u16(at, n);
    }

    pub fn set_phoff(&mut self, v: u64) {
        let at = match self.class {
            Class::Elf32 => 28,
            Class::Elf64 => 32,
        };
        self.put_word(at, v);
    }

    /// Offset of p_offset / p_vaddr / p_filesz within program header `i`.
    fn phdr_field(&self, i: usize, field: &str) -> usize {
        let base = self.phoff + i * phdr_size(self.class);
        let rel = match (self.class, field) {
            (Class::Elf32, "offset") => 4,
            (Class::Elf32, "vaddr") => 8,
            (Class::Elf32, "filesz") => 16,
            (Class::Elf64, "offset") => 8,
            (Class::Elf64, "vaddr") => 16,
            (Class::Elf64, "filesz") => 32,
            _ => unreachable!("{field}"),
        };
        base + rel
    }

    pub fn set_phdr(&mut self, i: usize, field: &str, v: u64) {
        let at = self.phdr_field(i, field);
        self.put_word(at, v);
    }

    /// Offset of the first dynamic entry with `tag`.
    pub fn dyn_entry(&self, tag: u64) -> usize {
        self.dyn_entries
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|&(_, at)| at)
            .unwrap_or_else(|| panic!("no dynamic tag {tag:#x}"))
    }

    pub fn set_dyn_val(&mut self, tag: u64, v: u64) {
        let at = self.dyn_entry(tag) + self.word_size();
        self.put_word(at, v);
    }

    pub fn set_dyn_tag(&mut self, tag: u64, new_tag: u64) {
        let at = self.dyn_entry(tag);
        self.put_word(at, new_tag);
    }
}

struct Writer {
    bytes: Vec<u8>,
    class: Class,
    data: Data,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    fn u16(&mut self, v: u16) {
        match self.data {
            Data::Little => self.bytes.extend(v.to_le_bytes()),
            Data::Big => self.bytes.extend(v.to_be_bytes()),
        }
    }
    fn u32(&mut self, v: u32) {
        match self.data {
            Data::Little => self.bytes.extend(v.to_le_bytes()),
            Data::Big => self.bytes.extend(v.to_be_bytes()),
        }
    }
    fn u64(&mut self, v: u64) {
        match self.data {
            Data::Little => self.bytes.extend(v.to_le_bytes()),
            Data::Big => self.bytes.extend(v.to_be_bytes()),
        }
    }
    fn word(&mut self, v: u64) {
        match self.class {
            Class::Elf32 => self.u32(u32::try_from(v).expect("fits ELFCLASS32")),
            Class::Elf64 => self.u64(v),
        }
    }
    fn align(&mut self, to: usize) {
        while !self.bytes.len().is_multiple_of(to) {
            self.bytes.push(0);
        }
    }
}

/// `.dynstr` with each distinct string once, like ld's string merging.
struct Dynstr {
    bytes: Vec<u8>,
    offsets: Vec<(String, u32)>,
}

impl Dynstr {
    fn new() -> Self {
        Self {
            bytes: vec![0],
            offsets: vec![],
        }
    }
    fn add(&mut self, s: &str) -> u32 {
        if let Some(&(_, off)) = self.offsets.iter().find(|(x, _)| x == s) {
            return off;
        }
        let off = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        self.offsets.push((s.to_string(), off));
        off
    }
}

/// (name offset, hash, flags) of one Vernaux or Verdef.
type VersionRec = (u32, u32, u16);

pub fn build(spec: &Spec) -> Image {
    let class = spec.class;
    let mut w = Writer {
        bytes: vec![],
        class,
        data: spec.data,
    };
    let ehsize = ehdr_size(class);
    let phentsize = phdr_size(class);
    let mut phnum = 1;
    let interp_phdr = spec.interp.as_ref().map(|_| {
        phnum += 1;
        phnum - 1
    });
    let dyn_phdr = spec.dynamic.then(|| {
        phnum += 1;
        phnum - 1
    });

    // Strings first, so that every offset is known.
    let mut dynstr = Dynstr::new();
    let needed: Vec<u32> = spec.needed.iter().map(|s| dynstr.add(s)).collect();
    let soname = spec.soname.as_deref().map(|s| dynstr.add(s));
    let rpath = spec.rpath.as_deref().map(|s| dynstr.add(s));
    let runpath = spec.runpath.as_deref().map(|s| dynstr.add(s));
    let verneed: Vec<(u32, Vec<VersionRec>)> = spec
        .verneed
        .iter()
        .map(|(file, vers)| {
            let vers = vers
                .iter()
                .map(|(n, flags)| (dynstr.add(n), elf_hash(n.as_bytes()), *flags))
                .collect();
            (dynstr.add(file), vers)
        })
        .collect();
    let verdef: Vec<VersionRec> = spec
        .verdef
        .iter()
        .map(|(n, flags)| (dynstr.add(n), elf_hash(n.as_bytes()), *flags))
        .collect();

    // Header and program headers are patched once the layout is known.
    w.bytes.resize(ehsize + phnum * phentsize, 0);

    let interp_range = spec.interp.as_ref().map(|s| {
        let off = w.bytes.len();
        w.bytes.extend_from_slice(s.as_bytes());
        w.u8(0);
        (off, s.len() + 1)
    });

    let dynstr_off = w.bytes.len();
    w.bytes.extend_from_slice(&dynstr.bytes);

    w.align(4);
    let verneed_off = w.bytes.len();
    for (i, (file, vers)) in verneed.iter().enumerate() {
        let last = i + 1 == verneed.len();
        w.u16(1);
        w.u16(vers.len() as u16);
        w.u32(*file);
        w.u32(16);
        w.u32(if last { 0 } else { 16 + 16 * vers.len() as u32 });
        for (j, (name, hash, flags)) in vers.iter().enumerate() {
            w.u32(*hash);
            w.u16(*flags);
            w.u16((j + 2) as u16);
            w.u32(*name);
            w.u32(if j + 1 == vers.len() { 0 } else { 16 });
        }
    }

    w.align(4);
    let verdef_off = w.bytes.len();
    for (i, (name, hash, flags)) in verdef.iter().enumerate() {
        let last = i + 1 == verdef.len();
        w.u16(1);
        w.u16(*flags);
        w.u16((i + 1) as u16);
        w.u16(1);
        w.u32(*hash);
        w.u32(20);
        w.u32(if last { 0 } else { 28 });
        w.u32(*name);
        w.u32(0);
    }

    w.align(8);
    let dyn_off = w.bytes.len();
    let mut dyn_entries = vec![];
    if spec.dynamic {
        let mut entries: Vec<(u64, u64)> = vec![];
        // DT_NEEDED before DT_STRTAB, as ld emits them.
        entries.extend(needed.iter().map(|&o| (DT_NEEDED, u64::from(o))));
        entries.extend(soname.map(|o| (DT_SONAME, u64::from(o))));
        entries.extend(rpath.map(|o| (DT_RPATH, u64::from(o))));
        entries.extend(runpath.map(|o| (DT_RUNPATH, u64::from(o))));
        entries.push((DT_STRTAB, VBASE + dynstr_off as u64));
        entries.push((DT_STRSZ, dynstr.bytes.len() as u64));
        if spec.flags_1 != 0 {
            entries.push((DT_FLAGS_1, spec.flags_1));
        }
        if !verneed.is_empty() {
            entries.push((DT_VERNEED, VBASE + verneed_off as u64));
            if spec.counts {
                entries.push((DT_VERNEEDNUM, verneed.len() as u64));
            }
        }
        if !verdef.is_empty() {
            entries.push((DT_VERDEF, VBASE + verdef_off as u64));
            if spec.counts {
                entries.push((DT_VERDEFNUM, verdef.len() as u64));
            }
        }
        entries.push((DT_NULL, 0));
        for (tag, val) in entries {
            dyn_entries.push((tag, w.bytes.len()));
            w.word(tag);
            w.word(val);
        }
    }
    let dyn_len = w.bytes.len() - dyn_off;
    let total = w.bytes.len();

    // ELF header.
    let mut h = Writer {
        bytes: vec![],
        class,
        data: spec.data,
    };
    h.bytes.extend_from_slice(b"\x7fELF");
    h.u8(match class {
        Class::Elf32 => 1,
        Class::Elf64 => 2,
    });
    h.u8(match spec.data {
        Data::Little => 1,
        Data::Big => 2,
    });
    h.u8(EV_CURRENT);
    h.bytes.resize(16, 0);
    h.u16(ET_DYN);
    h.u16(MACHINE);
    h.u32(u32::from(EV_CURRENT));
    h.word(0); // e_entry
    h.word(ehsize as u64); // e_phoff
    h.word(0); // e_shoff: no section headers, as in a stripped file
    h.u32(0); // e_flags
    h.u16(ehsize as u16);
    h.u16(phentsize as u16);
    h.u16(phnum as u16);
    h.u16(0); // e_shentsize
    h.u16(0); // e_shnum
    h.u16(0); // e_shstrndx
    assert_eq!(h.bytes.len(), ehsize);

    let phdr = |h: &mut Writer, p_type: u32, offset: u64, vaddr: u64, size: u64| match class {
        Class::Elf32 => {
            h.u32(p_type);
            h.word(offset);
            h.word(vaddr);
            h.word(vaddr);
            h.word(size);
            h.word(size);
            h.u32(4); // p_flags
            h.word(if p_type == PT_LOAD { 0x1000 } else { 4 });
        }
        Class::Elf64 => {
            h.u32(p_type);
            h.u32(4);
            h.word(offset);
            h.word(vaddr);
            h.word(vaddr);
            h.word(size);
            h.word(size);
            h.word(if p_type == PT_LOAD { 0x1000 } else { 8 });
        }
    };
    phdr(&mut h, PT_LOAD, 0, VBASE, total as u64);
    if let Some((off, len)) = interp_range {
        phdr(
            &mut h,
            PT_INTERP,
            off as u64,
            VBASE + off as u64,
            len as u64,
        );
    }
    if spec.dynamic {
        phdr(
            &mut h,
            PT_DYNAMIC,
            dyn_off as u64,
            VBASE + dyn_off as u64,
            dyn_len as u64,
        );
    }
    assert_eq!(h.bytes.len(), ehsize + phnum * phentsize);
    w.bytes[..h.bytes.len()].copy_from_slice(&h.bytes);

    Image {
        bytes: w.bytes,
        class,
        data: spec.data,
        phoff: ehsize,
        dyn_phdr,
        interp_phdr,
        dynstr_off,
        dynstr_len: dynstr.bytes.len(),
        verneed_off,
        verdef_off,
        dyn_off,
        dyn_entries,
    }
}

pub fn all_layouts() -> [(Class, Data); 4] {
    [
        (Class::Elf32, Data::Little),
        (Class::Elf32, Data::Big),
        (Class::Elf64, Data::Little),
        (Class::Elf64, Data::Big),
    ]
}
