//! Finding one section by name, for the few callers that need bytes the
//! loader itself never looks at (the default directories compiled into
//! `ld.so`'s `.rodata`). Section headers are optional; `None` sends the
//! caller back to reading the whole file.

use super::blocks::BlockReader;
use super::fields::Layout;
use super::header::{Header, read_header, read_ident_cached};
use super::read::ReadAt;
use super::{Class, ElfError};

/// More sections than any loader has; a header claiming more is not
/// believed.
const MAX_SECTIONS: u16 = 1024;

/// `Elf32_Shdr` / `Elf64_Shdr`.
fn shdr_size(layout: Layout) -> u16 {
    match layout.class {
        Class::Elf32 => 40,
        Class::Elf64 => 64,
    }
}

/// One section header's fields that matter here.
struct Shdr {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
}

fn read_shdr<R: ReadAt + ?Sized>(
    rd: &mut BlockReader<'_, R>,
    layout: Layout,
    at: u64,
) -> Result<Shdr, ElfError> {
    let rec = rd.read_record(at, shdr_size(layout), "section header")?;
    let mut f = rec.fields(layout);
    let name = f.u32();
    let kind = f.u32();
    let _flags = f.word();
    let _addr = f.word();
    let offset = f.word();
    let size = f.word();
    Ok(Shdr {
        name,
        kind,
        offset,
        size,
    })
}

/// `(offset, size)` of the first section called `name` that has bytes in
/// the file, `None` when there is no such section or no usable section
/// header table.
pub fn section_range<R: ReadAt + ?Sized>(
    r: &R,
    name: &[u8],
) -> Result<Option<(u64, u64)>, ElfError> {
    const SHT_NOBITS: u32 = 8;
    let mut rd = BlockReader::new(r);
    let layout = read_ident_cached(&mut rd)?.layout;
    let Header {
        shoff,
        shentsize,
        shnum,
        shstrndx,
        ..
    } = read_header(&mut rd, layout)?;
    // shnum 0 with a nonzero shoff means "more than 0xff00, see section 0":
    // not a loader; and a table we cannot walk is no table.
    if shoff == 0 || shnum == 0 || shnum > MAX_SECTIONS || shentsize < shdr_size(layout) {
        return Ok(None);
    }
    if shstrndx >= shnum {
        return Ok(None);
    }
    let len = rd.len();
    let at = |i: u16| {
        shoff
            .checked_add(u64::from(i).checked_mul(u64::from(shentsize))?)
            .filter(|start| *start < len)
    };
    let Some(strtab_at) = at(shstrndx) else {
        return Ok(None);
    };
    let strtab = read_shdr(&mut rd, layout, strtab_at)?;
    for i in 0..shnum {
        let Some(pos) = at(i) else {
            return Ok(None);
        };
        let sh = read_shdr(&mut rd, layout, pos)?;
        if sh.kind == SHT_NOBITS || sh.name == 0 || u64::from(sh.name) >= strtab.size {
            continue;
        }
        let Some(start) = strtab.offset.checked_add(u64::from(sh.name)) else {
            continue;
        };
        let end = strtab.offset.saturating_add(strtab.size);
        let Some(found) = rd.read_cstr(start, end, "section name")? else {
            continue;
        };
        if found == name {
            let fits = sh.offset.checked_add(sh.size).is_some_and(|end| end <= len);
            return Ok(fits.then_some((sh.offset, sh.size)));
        }
    }
    Ok(None)
}
