//! Program headers: where PT_INTERP and PT_DYNAMIC are, and the PT_LOAD
//! map that turns the dynamic section's virtual addresses into file
//! offsets. Section headers are never used: stripped files lack them and
//! ld.so never reads them.

use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_NOTE};

use super::ElfError;
use super::blocks::BlockReader;
use super::fields::Layout;
use super::header::Header;
use super::read::ReadAt;

/// gABI: `e_phnum == PN_XNUM` means the real count is in section header 0's
/// `sh_info`.
const PN_XNUM: u16 = 0xffff;

/// More PT_NOTE segments than a linker writes (one per alignment, a few
/// at most); the rest of a hostile table is not looked at.
const MAX_NOTE_SEGMENTS: usize = 16;

/// The file bytes of one segment, `[offset, offset + size)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileRange {
    pub offset: u64,
    pub size: u64,
}

#[derive(Clone, Copy, Debug)]
struct Load {
    vaddr: u64,
    offset: u64,
    filesz: u64,
}

#[derive(Default)]
pub(crate) struct Segments {
    loads: Vec<Load>,
    pub interp: Option<FileRange>,
    pub dynamic: Option<FileRange>,
    /// PT_NOTE segments and their alignment (4 or 8: the padding of the
    /// notes inside).
    pub notes: Vec<(FileRange, u64)>,
}

impl Segments {
    /// The file offset backing virtual address `addr`. Only the file part of
    /// a PT_LOAD counts: past `p_filesz` the loader maps zeroes, not file
    /// bytes.
    pub(crate) fn file_offset(&self, addr: u64, what: &'static str) -> Result<u64, ElfError> {
        self.loads
            .iter()
            .find_map(|l| {
                let delta = addr.checked_sub(l.vaddr)?;
                (delta < l.filesz).then(|| l.offset.checked_add(delta))?
            })
            .ok_or(ElfError::AddressNotMapped { what, addr })
    }
}

pub(crate) fn read_program_headers<R: ReadAt + ?Sized>(
    rd: &mut BlockReader<'_, R>,
    layout: Layout,
    hdr: &Header,
) -> Result<Segments, ElfError> {
    let mut segs = Segments::default();
    if hdr.phnum == 0 {
        return Ok(segs);
    }
    // Neither glibc (`_dl_map_object_from_fd` uses `e_phnum` as is) nor the
    // kernel (`elf_read_phdrs` caps the table at 64 KiB) follows PN_XNUM, so
    // such a file is not loadable and there is nothing to gain from reading
    // section header 0.
    if hdr.phnum == PN_XNUM {
        return Err(ElfError::ExtendedPhnum);
    }
    let entsize = layout.phdr_size();
    // glibc refuses any e_phentsize other than sizeof(ElfW(Phdr)); that
    // check is left to the caller (`ElfFacts::phentsize`). A larger stride
    // can still be decoded, a smaller one cannot.
    if hdr.phentsize < entsize {
        return Err(ElfError::BadPhentsize {
            phentsize: hdr.phentsize,
            min: entsize,
        });
    }
    let stride = u64::from(hdr.phentsize);
    // At most 0xfffe * 0xffff: never saturates.
    let table = u64::from(hdr.phnum).saturating_mul(stride);
    if hdr
        .phoff
        .checked_add(table)
        .is_none_or(|end| end > rd.len())
    {
        return Err(ElfError::ProgramHeadersOutOfFile {
            offset: hdr.phoff,
            size: table,
            len: rd.len(),
        });
    }

    let mut off = hdr.phoff;
    for _ in 0..hdr.phnum {
        let rec = rd.read_record(off, entsize, "program header")?;
        // Stays within the table checked above.
        off = off.saturating_add(stride);
        let mut f = rec.fields(layout);
        let p_type = f.u32();
        let (offset, vaddr, filesz, align) = match layout.class {
            super::Class::Elf32 => {
                let offset = f.word();
                let vaddr = f.word();
                let _paddr = f.word();
                let filesz = f.word();
                let _memsz = f.word();
                let _flags = f.u32();
                (offset, vaddr, filesz, f.word())
            }
            super::Class::Elf64 => {
                let _flags = f.u32();
                let offset = f.word();
                let vaddr = f.word();
                let _paddr = f.word();
                let filesz = f.word();
                let _memsz = f.word();
                (offset, vaddr, filesz, f.word())
            }
        };
        let range = FileRange {
            offset,
            size: filesz,
        };
        match p_type {
            PT_LOAD => segs.loads.push(Load {
                vaddr,
                offset,
                filesz,
            }),
            // The kernel's load_elf_binary stops at the first PT_INTERP.
            PT_INTERP if segs.interp.is_none() => segs.interp = Some(range),
            // glibc's _dl_map_object_from_fd flags any empty PT_DYNAMIC
            // (typically a separate debuginfo file) and then refuses the
            // object: "object file has no dynamic section".
            PT_DYNAMIC if filesz == 0 => return Err(ElfError::EmptyDynamic),
            // It assigns l_ld for every other PT_DYNAMIC: the last one wins.
            PT_DYNAMIC => segs.dynamic = Some(range),
            PT_NOTE if segs.notes.len() < MAX_NOTE_SEGMENTS => segs.notes.push((range, align)),
            _ => {}
        }
    }
    Ok(segs)
}
