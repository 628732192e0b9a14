//! Decoding fixed-layout ELF records once their bytes are in memory.

use super::{Class, Data};

/// How every field after `e_ident` is decoded: the gABI fixes class and
/// byte order for the whole file from `e_ident[EI_CLASS]`/`[EI_DATA]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub class: Class,
    pub data: Data,
}

impl Layout {
    /// `Elf32_Ehdr` / `Elf64_Ehdr`.
    pub(crate) fn ehdr_size(self) -> u16 {
        match self.class {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        }
    }

    /// `Elf32_Phdr` / `Elf64_Phdr`.
    pub(crate) fn phdr_size(self) -> u16 {
        match self.class {
            Class::Elf32 => 32,
            Class::Elf64 => 56,
        }
    }

    /// `Elf32_Dyn` / `Elf64_Dyn`.
    pub(crate) fn dyn_size(self) -> u16 {
        match self.class {
            Class::Elf32 => 8,
            Class::Elf64 => 16,
        }
    }

    pub(crate) fn fields(self, bytes: &[u8]) -> Fields<'_> {
        Fields {
            bytes,
            pos: 0,
            layout: self,
        }
    }
}

/// Room for the largest record read with [`Layout`]-dependent size
/// (`Elf64_Ehdr`).
pub(crate) const MAX_RECORD: usize = 64;

/// One record of a class-dependent size, read into a fixed buffer.
pub(crate) struct Record {
    pub(crate) buf: [u8; MAX_RECORD],
    pub(crate) len: usize,
}

impl Record {
    pub(crate) fn fields(&self, layout: Layout) -> Fields<'_> {
        layout.fields(self.buf.get(..self.len).unwrap_or_default())
    }
}

/// A cursor over one record. Records are read with the exact size of their
/// layout, so running off the end is a bug in this module, not in the file.
pub(crate) struct Fields<'b> {
    bytes: &'b [u8],
    pos: usize,
    layout: Layout,
}

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let end = self.pos.saturating_add(N);
        match self.bytes.get(self.pos..end) {
            Some(src) => out.copy_from_slice(src),
            None => debug_assert!(false, "record shorter than its layout"),
        }
        self.pos = end;
        out
    }

    pub(crate) fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n);
    }

    pub(crate) fn u16(&mut self) -> u16 {
        let b = self.take();
        match self.layout.data {
            Data::Little => u16::from_le_bytes(b),
            Data::Big => u16::from_be_bytes(b),
        }
    }

    pub(crate) fn u32(&mut self) -> u32 {
        let b = self.take();
        match self.layout.data {
            Data::Little => u32::from_le_bytes(b),
            Data::Big => u32::from_be_bytes(b),
        }
    }

    pub(crate) fn u64(&mut self) -> u64 {
        let b = self.take();
        match self.layout.data {
            Data::Little => u64::from_le_bytes(b),
            Data::Big => u64::from_be_bytes(b),
        }
    }

    /// A class-sized field (`Addr`, `Off`, `Xword`/`Word`, `Sxword`/`Sword`):
    /// 4 bytes in ELFCLASS32, 8 in ELFCLASS64. Signed tags are zero-extended;
    /// every tag this module compares against is positive.
    pub(crate) fn word(&mut self) -> u64 {
        match self.layout.class {
            Class::Elf32 => u64::from(self.u32()),
            Class::Elf64 => self.u64(),
        }
    }
}
