//! `e_ident` and the ELF header.

use goblin::elf::header::{
    EI_ABIVERSION, EI_CLASS, EI_DATA, EI_OSABI, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB,
    ELFMAG, SELFMAG, SIZEOF_IDENT,
};

use super::blocks::BlockReader;
use super::fields::Layout;
use super::read::{ReadAt, read_full};
use super::{Class, Data, ElfError};

pub(crate) struct Ident {
    pub layout: Layout,
    pub osabi: u8,
    pub abi_version: u8,
}

/// Reads `e_ident` with one read of at most 16 bytes (for callers that
/// only ask whether a file is ELF, and tests).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn read_ident<R: ReadAt + ?Sized>(r: &R) -> Result<Ident, ElfError> {
    let mut ident = [0u8; SIZEOF_IDENT];
    let want = usize::try_from(r.size()).map_or(SIZEOF_IDENT, |n| n.min(SIZEOF_IDENT));
    let got = read_full(r, ident.get_mut(..want).unwrap_or_default(), 0)?;
    parse_ident(ident.get(..got).unwrap_or_default(), r.size())
}

/// `e_ident` through the block cache: the first block holds the ELF header
/// and usually the program headers too, so an ELF file's facts cost one
/// read fewer; a non-ELF file costs one read of at most a block.
pub(crate) fn read_ident_cached<R: ReadAt + ?Sized>(
    rd: &mut BlockReader<'_, R>,
) -> Result<Ident, ElfError> {
    let len = rd.len();
    parse_ident(rd.head(SIZEOF_IDENT)?, len)
}

/// `bytes`: the first (at most 16) bytes of a file of `len` bytes.
fn parse_ident(bytes: &[u8], len: u64) -> Result<Ident, ElfError> {
    if bytes.get(..SELFMAG) != ELFMAG.get(..SELFMAG) {
        return Err(ElfError::NotElf);
    }
    let Ok(ident) = <[u8; SIZEOF_IDENT]>::try_from(bytes) else {
        return Err(ElfError::Truncated {
            what: "e_ident",
            start: 0,
            end: SIZEOF_IDENT as u64,
            len,
        });
    };
    let class = match ident[EI_CLASS] {
        ELFCLASS32 => Class::Elf32,
        ELFCLASS64 => Class::Elf64,
        other => return Err(ElfError::BadClass(other)),
    };
    let data = match ident[EI_DATA] {
        ELFDATA2LSB => Data::Little,
        ELFDATA2MSB => Data::Big,
        other => return Err(ElfError::BadData(other)),
    };
    Ok(Ident {
        layout: Layout { class, data },
        osabi: ident[EI_OSABI],
        abi_version: ident[EI_ABIVERSION],
    })
}

/// The ELF header fields the loader acts on.
pub(crate) struct Header {
    pub e_type: u16,
    pub machine: u16,
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
    /// The section header table, for the few readers that want a section
    /// ([`super::section_range`]); the loader never looks at it.
    pub shoff: u64,
    pub shentsize: u16,
    pub shnum: u16,
    pub shstrndx: u16,
}

pub(crate) fn read_header<R: ReadAt + ?Sized>(
    rd: &mut BlockReader<'_, R>,
    layout: Layout,
) -> Result<Header, ElfError> {
    let rec = rd.read_record(0, layout.ehdr_size(), "ELF header")?;
    let mut f = rec.fields(layout);
    f.skip(SIZEOF_IDENT);
    let e_type = f.u16();
    let machine = f.u16();
    let _e_version = f.u32();
    let _e_entry = f.word();
    let phoff = f.word();
    let shoff = f.word();
    let _e_flags = f.u32();
    let _e_ehsize = f.u16();
    let phentsize = f.u16();
    let phnum = f.u16();
    let shentsize = f.u16();
    let shnum = f.u16();
    let shstrndx = f.u16();
    Ok(Header {
        e_type,
        machine,
        phoff,
        phentsize,
        phnum,
        shoff,
        shentsize,
        shnum,
        shstrndx,
    })
}
