//! The PT_DYNAMIC entries the loader acts on, as raw values: string offsets
//! and virtual addresses are resolved later, once DT_STRTAB is known (it
//! usually comes after the DT_NEEDED entries that refer to it).

use goblin::elf::dynamic::{
    DT_FLAGS_1, DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB,
    DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM,
};

use super::ElfError;
use super::blocks::BlockReader;
use super::fields::Layout;
use super::phdr::FileRange;
use super::read::ReadAt;

/// Real dynamic sections are a few hundred bytes; this only bounds the walk
/// over a hostile one without a DT_NULL.
pub(crate) const MAX_DYNAMIC_BYTES: u64 = 16 << 20;

/// Real objects need a few dozen libraries, the largest a few hundred.
/// Each DT_NEEDED costs a search for every program that loads the object,
/// so a hostile file with hundreds of thousands of them (which fit in the
/// bounds above) is refused rather than simulated.
pub(crate) const MAX_NEEDED: usize = 4096;

/// Singletons keep the last occurrence, as glibc's `elf_get_dynamic_info`
/// does by overwriting `l_info[tag]`.
#[derive(Default, Debug)]
pub(crate) struct DynamicInfo {
    pub needed: Vec<u64>,
    pub soname: Option<u64>,
    pub rpath: Option<u64>,
    pub runpath: Option<u64>,
    pub strtab: Option<u64>,
    pub strsz: Option<u64>,
    pub flags_1: u64,
    pub verneed: Option<u64>,
    pub verneednum: Option<u64>,
    pub verdef: Option<u64>,
    pub verdefnum: Option<u64>,
}

impl DynamicInfo {
    /// The first entry that needs DT_STRTAB, to name it when DT_STRTAB is
    /// missing; `None` when no string is needed at all.
    pub(crate) fn first_string_user(&self) -> Option<&'static str> {
        [
            (!self.needed.is_empty(), "DT_NEEDED"),
            (self.soname.is_some(), "DT_SONAME"),
            (self.rpath.is_some(), "DT_RPATH"),
            (self.runpath.is_some(), "DT_RUNPATH"),
            (self.verneed.is_some(), "DT_VERNEED"),
            (self.verdef.is_some(), "DT_VERDEF"),
        ]
        .into_iter()
        .find_map(|(present, tag)| present.then_some(tag))
    }
}

pub(crate) fn read_dynamic<R: ReadAt + ?Sized>(
    rd: &mut BlockReader<'_, R>,
    layout: Layout,
    seg: FileRange,
) -> Result<DynamicInfo, ElfError> {
    if seg
        .offset
        .checked_add(seg.size)
        .is_none_or(|end| end > rd.len())
    {
        return Err(ElfError::DynamicOutOfFile {
            offset: seg.offset,
            size: seg.size,
            len: rd.len(),
        });
    }
    let entsize = layout.dyn_size();
    let count = seg
        .size
        .min(MAX_DYNAMIC_BYTES)
        .checked_div(u64::from(entsize))
        .unwrap_or(0);
    let mut info = DynamicInfo::default();
    let mut off = seg.offset;
    for _ in 0..count {
        let rec = rd.read_record(off, entsize, "dynamic entry")?;
        // Stays within the segment, which lies within the file.
        off = off.saturating_add(u64::from(entsize));
        let mut f = rec.fields(layout);
        let tag = f.word();
        let val = f.word();
        match tag {
            DT_NULL => return Ok(info),
            DT_NEEDED if info.needed.len() >= MAX_NEEDED => {
                return Err(ElfError::TooManyNeeded { limit: MAX_NEEDED });
            }
            DT_NEEDED => info.needed.push(val),
            DT_SONAME => info.soname = Some(val),
            DT_RPATH => info.rpath = Some(val),
            DT_RUNPATH => info.runpath = Some(val),
            DT_STRTAB => info.strtab = Some(val),
            DT_STRSZ => info.strsz = Some(val),
            DT_FLAGS_1 => info.flags_1 = val,
            DT_VERNEED => info.verneed = Some(val),
            DT_VERNEEDNUM => info.verneednum = Some(val),
            DT_VERDEF => info.verdef = Some(val),
            DT_VERDEFNUM => info.verdefnum = Some(val),
            _ => {}
        }
    }
    // No DT_NULL within p_filesz: the segment's end ends the list, as for
    // readelf. Only our own cap is an error, since entries beyond it would
    // be silently lost.
    if seg.size > MAX_DYNAMIC_BYTES {
        return Err(ElfError::DynamicTooLarge {
            size: seg.size,
            limit: MAX_DYNAMIC_BYTES,
        });
    }
    Ok(info)
}
