//! ELF facts: the few things the dynamic loader looks at, read with targeted
//! positional reads (never the whole file), so a 100 MB library costs what a
//! 10 KB one does.
//!
//! The identity (class, byte order) comes from `e_ident` first; every later
//! field is read through that context. Counts and offsets from the file are
//! checked against the file size before anything is allocated.

// File bytes are hostile: nothing here may panic or overflow on them, and
// the compiler checks it.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;

mod blocks;
mod dynamic;
mod facts;
mod fields;
mod header;
mod hints;
mod notes;
mod phdr;
mod read;
mod sections;
mod strings;
#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests;
mod version;

pub use facts::{has_elf_magic, read_facts};
/// The numbers of `elf.h` the rest of ldslim compares facts with: goblin's,
/// so each is written once.
pub mod consts {
    /// glibc's `EM_ARCV2` is elf.h's `EM_ARC_COMPACT2`.
    pub use goblin::elf::header::EM_ARC_COMPACT2 as EM_ARCV2;
    pub use goblin::elf::header::{
        EM_68K, EM_386, EM_AARCH64, EM_ALTERA_NIOS2, EM_ARM, EM_CSKY, EM_IA_64, EM_LOONGARCH,
        EM_MICROBLAZE, EM_MIPS, EM_OPENRISC, EM_PARISC, EM_PPC, EM_PPC64, EM_RISCV, EM_S390, EM_SH,
        EM_SPARC, EM_SPARC32PLUS, EM_SPARCV9, EM_X86_64, ET_CORE, ET_DYN, ET_EXEC, ET_REL,
    };
}
pub use hints::{LoadHints, LoaderCalls, read_load_hints};
pub(crate) use read::read_full;
pub use read::{ReadAt, SizedFile};
pub use sections::section_range;

/// 32- or 64-bit, from `e_ident[EI_CLASS]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Class {
    Elf32,
    Elf64,
}

/// Byte order, from `e_ident[EI_DATA]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Data {
    Little,
    Big,
}

/// One version a file requires from one of its dependencies
/// (an entry of a `Vernaux` chain under DT_VERNEED).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VersionNeed {
    pub name: String,
    pub hash: u32,
    /// VER_FLG_WEAK: a missing weak version is not an error for glibc.
    pub weak: bool,
}

/// The versions a file requires from one dependency (a `Verneed` entry).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerneedFile {
    /// The dependency's name as written (usually its soname).
    pub file: String,
    pub versions: Vec<VersionNeed>,
}

/// One version a file defines (a `Verdef` entry, first `Verdaux` name).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VersionDef {
    pub name: String,
    pub hash: u32,
    /// VER_FLG_BASE: the entry naming the file itself, not a real version.
    pub base: bool,
}

/// What the loader needs to know about one ELF file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ElfFacts {
    pub class: Class,
    pub data: Data,
    /// `e_ident[EI_OSABI]` and `e_ident[EI_ABIVERSION]`.
    pub osabi: u8,
    pub abi_version: u8,
    /// `e_type` (ET_EXEC, ET_DYN, ...).
    pub e_type: u16,
    /// `e_machine` (EM_X86_64, EM_AARCH64, ...).
    pub machine: u16,
    /// `e_phentsize` as written: glibc refuses a mismatch.
    pub phentsize: u16,
    /// PT_INTERP, without its terminating NUL.
    pub interp: Option<String>,
    /// Whether the file has a PT_DYNAMIC segment at all (static files do not).
    pub dynamic: bool,
    /// DT_NEEDED, in file order.
    pub needed: Vec<String>,
    pub soname: Option<String>,
    /// DT_RPATH / DT_RUNPATH as written (colon-separated, DSTs unexpanded).
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    /// DT_FLAGS_1 (DF_1_NODEFLIB, ...), 0 when absent.
    pub flags_1: u64,
    /// DT_VERNEED walked from the dynamic section.
    pub verneed: Vec<VerneedFile>,
    /// DT_VERDEF walked from the dynamic section.
    pub verdef: Vec<VersionDef>,
    /// The JSON of each `.note.dlopen` note (libraries the object says it
    /// loads at run time), as written; `runtime::native` reads it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dlopen_notes: Vec<String>,
}

/// What is wrong with a file that is not a readable ELF object.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("not an ELF file (bad magic)")]
    NotElf,
    #[error("truncated: {what} needs bytes {start}..{end} but the file has {len}")]
    Truncated {
        what: &'static str,
        start: u64,
        end: u64,
        len: u64,
    },
    #[error("invalid ELF class {0}")]
    BadClass(u8),
    #[error("invalid ELF data encoding {0}")]
    BadData(u8),
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    #[error("e_phentsize {phentsize} is smaller than a program header ({min} bytes)")]
    BadPhentsize { phentsize: u16, min: u16 },
    /// ld.so and the kernel take `e_phnum` literally, so such a file cannot
    /// be loaded.
    #[error(
        "e_phnum is PN_XNUM (0xffff): the program header count is in section header 0, \
         which neither ld.so nor the kernel supports"
    )]
    ExtendedPhnum,
    #[error(
        "program header table at offset {offset} ({size} bytes) extends past the end of the \
         file ({len} bytes)"
    )]
    ProgramHeadersOutOfFile { offset: u64, size: u64, len: u64 },
    #[error(
        "PT_INTERP at offset {offset} ({size} bytes) extends past the end of the file ({len} bytes)"
    )]
    InterpOutOfFile { offset: u64, size: u64, len: u64 },
    #[error(
        "PT_DYNAMIC at offset {offset} ({size} bytes) extends past the end of the file ({len} bytes)"
    )]
    DynamicOutOfFile { offset: u64, size: u64, len: u64 },
    /// glibc refuses such a file (usually separate debuginfo): "object file
    /// has no dynamic section".
    #[error("a PT_DYNAMIC segment is empty (p_filesz 0)")]
    EmptyDynamic,
    #[error("PT_DYNAMIC of {size} bytes has no DT_NULL within its first {limit} bytes")]
    DynamicTooLarge { size: u64, limit: u64 },
    #[error("{what} address {addr:#x} is not in the file part of any PT_LOAD segment")]
    AddressNotMapped { what: &'static str, addr: u64 },
    #[error("{what} present but DT_STRTAB is missing")]
    MissingStrtab { what: &'static str },
    #[error("{what} string offset {offset} is outside the string table (DT_STRSZ {strsz})")]
    StringOutOfRange {
        what: &'static str,
        offset: u64,
        strsz: u64,
    },
    #[error("{what} string at offset {offset} has no terminating NUL within its table")]
    UnterminatedString { what: &'static str, offset: u64 },
    #[error("{what} string at offset {offset} is longer than {limit} bytes")]
    StringTooLong {
        what: &'static str,
        offset: u64,
        limit: u64,
    },
    #[error("the dynamic strings add up to more than {limit} bytes")]
    StringBudgetExceeded { limit: u64 },
    /// glibc's wording; it refuses anything but revision 1.
    #[error("unsupported version {version} of {what} record")]
    BadVersionRecord { what: &'static str, version: u16 },
    #[error("more than {limit} {what} records (corrupt or hostile chain)")]
    TooManyVersionRecords { what: &'static str, limit: usize },
    #[error("more than {limit} DT_NEEDED entries (corrupt or hostile dynamic section)")]
    TooManyNeeded { limit: usize },
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Elf32 => "ELFCLASS32",
            Class::Elf64 => "ELFCLASS64",
        })
    }
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Data::Little => "ELFDATA2LSB",
            Data::Big => "ELFDATA2MSB",
        })
    }
}
