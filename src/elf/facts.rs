//! Putting the pieces together: header, program headers, PT_INTERP,
//! PT_DYNAMIC, then the strings and version chains it points at.

use goblin::elf::header::{ELFMAG, SELFMAG};

use super::blocks::BlockReader;
use super::dynamic::{DynamicInfo, read_dynamic};
use super::header::{read_header, read_ident_cached};
use super::phdr::{FileRange, Segments, read_program_headers};
use super::read::{ReadAt, read_full};
use super::strings::StringTable;
use super::version::{Walk, read_verdef, read_verneed};
use super::{ElfError, ElfFacts};

/// Linux PATH_MAX: the kernel's load_elf_binary refuses a longer PT_INTERP.
const PATH_MAX: u64 = 4096;

/// Cheap check: the first 4 bytes are `\x7fELF` (reads 4 bytes only).
pub fn has_elf_magic<R: ReadAt + ?Sized>(r: &R) -> std::io::Result<bool> {
    let mut magic = [0u8; SELFMAG];
    let got = read_full(r, &mut magic, 0)?;
    Ok(got == SELFMAG && magic == *ELFMAG)
}

/// Read the facts of one ELF file.
///
/// Reads only the ELF header, the program headers, PT_INTERP, PT_DYNAMIC
/// and the strings and version records PT_DYNAMIC refers to, in 4 KiB
/// blocks. A non-ELF file costs one read of at most one block.
pub fn read_facts<R: ReadAt + ?Sized>(r: &R) -> Result<ElfFacts, ElfError> {
    let mut rd = BlockReader::new(r);
    let ident = read_ident_cached(&mut rd)?;
    let layout = ident.layout;
    let hdr = read_header(&mut rd, layout)?;
    let segs = read_program_headers(&mut rd, layout, &hdr)?;
    let interp = match segs.interp {
        Some(seg) => Some(read_interp(&mut rd, seg)?),
        None => None,
    };
    let mut facts = ElfFacts {
        class: layout.class,
        data: layout.data,
        osabi: ident.osabi,
        abi_version: ident.abi_version,
        e_type: hdr.e_type,
        machine: hdr.machine,
        phentsize: hdr.phentsize,
        interp,
        dynamic: false,
        needed: Vec::new(),
        soname: None,
        rpath: None,
        runpath: None,
        flags_1: 0,
        verneed: Vec::new(),
        verdef: Vec::new(),
        dlopen_notes: Vec::new(),
    };
    facts.dlopen_notes = super::notes::dlopen_notes(&mut rd, layout, &segs.notes)?;
    let Some(dyn_seg) = segs.dynamic else {
        return Ok(facts);
    };
    facts.dynamic = true;
    let info = read_dynamic(&mut rd, layout, dyn_seg)?;
    facts.flags_1 = info.flags_1;
    let Some(mut strings) = string_table(&segs, &info)? else {
        return Ok(facts);
    };

    for &off in &info.needed {
        facts.needed.push(strings.get(&mut rd, off, "DT_NEEDED")?);
    }
    let mut get =
        |off: Option<u64>, what| off.map(|off| strings.get(&mut rd, off, what)).transpose();
    facts.soname = get(info.soname, "DT_SONAME")?;
    facts.rpath = get(info.rpath, "DT_RPATH")?;
    facts.runpath = get(info.runpath, "DT_RUNPATH")?;

    let mut walk = Walk {
        rd: &mut rd,
        layout,
        strings: &mut strings,
    };
    if let Some(addr) = info.verneed {
        let start = segs.file_offset(addr, "DT_VERNEED")?;
        facts.verneed = read_verneed(&mut walk, start, info.verneednum)?;
    }
    if let Some(addr) = info.verdef {
        let start = segs.file_offset(addr, "DT_VERDEF")?;
        facts.verdef = read_verdef(&mut walk, start, info.verdefnum)?;
    }
    Ok(facts)
}

/// The dynamic string table, or `None` when no entry refers to it (then a
/// missing or unmapped DT_STRTAB is harmless).
fn string_table(segs: &Segments, info: &DynamicInfo) -> Result<Option<StringTable>, ElfError> {
    let Some(user) = info.first_string_user() else {
        return Ok(None);
    };
    let Some(addr) = info.strtab else {
        return Err(ElfError::MissingStrtab { what: user });
    };
    let base = segs.file_offset(addr, "DT_STRTAB")?;
    Ok(Some(StringTable::new(base, info.strsz)))
}

/// PT_INTERP up to its first NUL. The kernel takes it as a C string and
/// refuses one that is not NUL-terminated within PATH_MAX bytes.
fn read_interp<R: ReadAt + ?Sized>(
    rd: &mut BlockReader<'_, R>,
    seg: FileRange,
) -> Result<String, ElfError> {
    if seg
        .offset
        .checked_add(seg.size)
        .is_none_or(|end| end > rd.len())
    {
        return Err(ElfError::InterpOutOfFile {
            offset: seg.offset,
            size: seg.size,
            len: rd.len(),
        });
    }
    let scan_end = seg.offset.saturating_add(seg.size.min(PATH_MAX));
    match rd.read_cstr(seg.offset, scan_end, "PT_INTERP")? {
        Some(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        None if seg.size > PATH_MAX => Err(ElfError::StringTooLong {
            what: "PT_INTERP",
            offset: seg.offset,
            limit: PATH_MAX,
        }),
        None => Err(ElfError::UnterminatedString {
            what: "PT_INTERP",
            offset: seg.offset,
        }),
    }
}
