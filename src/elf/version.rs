//! The symbol-versioning chains: DT_VERNEED (versions required from each
//! dependency) and DT_VERDEF (versions this file provides), laid out as in
//! the LSB "Symbol Versioning" chapter and walked as glibc's
//! `elf/dl-version.c` does: by `vn_next`/`vna_next`/`vd_next` until 0.
//!
//! The next-offsets are unsigned and added to a 64-bit file offset, so a
//! chain only moves forward and cannot loop; the file size and
//! [`MAX_VERSION_RECORDS`] bound it.

use goblin::elf::symver::{VER_FLG_BASE, VER_FLG_WEAK};

use super::blocks::BlockReader;
use super::fields::Layout;
use super::read::ReadAt;
use super::strings::StringTable;
use super::{ElfError, VerneedFile, VersionDef, VersionNeed};

/// Real files have a few dozen records; glibc 2.36's libc.so.6 defines 39
/// versions.
pub(crate) const MAX_VERSION_RECORDS: usize = 4096;

/// The only revision that exists; glibc refuses others ("unsupported
/// version %s of Verneed record"). It checks only the first Verneed; every
/// record is checked here, as a later one of another revision would be
/// misread just the same.
const VER_NEED_CURRENT: u16 = 1;
const VER_DEF_CURRENT: u16 = 1;

// Same layout in ELFCLASS32 and ELFCLASS64.
const VERNEED_SIZE: usize = 16;
const VERNAUX_SIZE: usize = 16;
const VERDEF_SIZE: usize = 20;
const VERDAUX_SIZE: usize = 8;

/// Everything the walks share.
pub(crate) struct Walk<'w, 'a, R: ReadAt + ?Sized> {
    pub rd: &'w mut BlockReader<'a, R>,
    pub layout: Layout,
    pub strings: &'w mut StringTable,
}

/// `base + delta`, where a result past `u64::MAX` can only be a corrupt
/// offset: reported as a record beyond the end of the file.
fn advance(base: u64, delta: u32, what: &'static str, len: u64) -> Result<u64, ElfError> {
    base.checked_add(u64::from(delta))
        .ok_or(ElfError::Truncated {
            what,
            start: u64::MAX,
            end: u64::MAX,
            len,
        })
}

/// Walks DT_VERNEED from file offset `start`. `count` is DT_VERNEEDNUM:
/// it may shorten the walk (as in readelf; glibc ignores it) but is not
/// trusted to lengthen it. Likewise `vn_cnt` for each Vernaux chain.
pub(crate) fn read_verneed<R: ReadAt + ?Sized>(
    w: &mut Walk<'_, '_, R>,
    start: u64,
    count: Option<u64>,
) -> Result<Vec<VerneedFile>, ElfError> {
    let len = w.rd.len();
    let mut files = Vec::new();
    let mut aux_total = 0usize;
    let mut off = start;
    while count.is_none_or(|c| (files.len() as u64) < c) {
        if files.len() >= MAX_VERSION_RECORDS {
            return Err(ElfError::TooManyVersionRecords {
                what: "Verneed",
                limit: MAX_VERSION_RECORDS,
            });
        }
        let rec: [u8; VERNEED_SIZE] = w.rd.read_array(off, "Verneed entry")?;
        let mut f = w.layout.fields(&rec);
        let vn_version = f.u16();
        let vn_cnt = f.u16();
        let vn_file = f.u32();
        let vn_aux = f.u32();
        let vn_next = f.u32();
        if vn_version != VER_NEED_CURRENT {
            return Err(ElfError::BadVersionRecord {
                what: "Verneed",
                version: vn_version,
            });
        }
        let file = w.strings.get(w.rd, vn_file.into(), "vn_file")?;

        let mut versions = Vec::new();
        let mut aux_off = advance(off, vn_aux, "Vernaux entry", len)?;
        for _ in 0..vn_cnt {
            aux_total = aux_total.saturating_add(1);
            if aux_total > MAX_VERSION_RECORDS {
                return Err(ElfError::TooManyVersionRecords {
                    what: "Vernaux",
                    limit: MAX_VERSION_RECORDS,
                });
            }
            let rec: [u8; VERNAUX_SIZE] = w.rd.read_array(aux_off, "Vernaux entry")?;
            let mut f = w.layout.fields(&rec);
            let vna_hash = f.u32();
            let vna_flags = f.u16();
            let _vna_other = f.u16();
            let vna_name = f.u32();
            let vna_next = f.u32();
            versions.push(VersionNeed {
                name: w.strings.get(w.rd, vna_name.into(), "vna_name")?,
                hash: vna_hash,
                weak: vna_flags & VER_FLG_WEAK != 0,
            });
            if vna_next == 0 {
                break;
            }
            aux_off = advance(aux_off, vna_next, "Vernaux entry", len)?;
        }
        files.push(VerneedFile { file, versions });

        if vn_next == 0 {
            break;
        }
        off = advance(off, vn_next, "Verneed entry", len)?;
    }
    Ok(files)
}

/// Walks DT_VERDEF from file offset `start`, taking each entry's first
/// Verdaux name (the later ones name parents, which the loader ignores).
/// `count` is DT_VERDEFNUM: it may shorten the walk but is not trusted to
/// lengthen it.
pub(crate) fn read_verdef<R: ReadAt + ?Sized>(
    w: &mut Walk<'_, '_, R>,
    start: u64,
    count: Option<u64>,
) -> Result<Vec<VersionDef>, ElfError> {
    let len = w.rd.len();
    let mut defs = Vec::new();
    let mut off = start;
    while count.is_none_or(|c| (defs.len() as u64) < c) {
        if defs.len() >= MAX_VERSION_RECORDS {
            return Err(ElfError::TooManyVersionRecords {
                what: "Verdef",
                limit: MAX_VERSION_RECORDS,
            });
        }
        let rec: [u8; VERDEF_SIZE] = w.rd.read_array(off, "Verdef entry")?;
        let mut f = w.layout.fields(&rec);
        let vd_version = f.u16();
        let vd_flags = f.u16();
        let _vd_ndx = f.u16();
        let _vd_cnt = f.u16();
        let vd_hash = f.u32();
        let vd_aux = f.u32();
        let vd_next = f.u32();
        if vd_version != VER_DEF_CURRENT {
            return Err(ElfError::BadVersionRecord {
                what: "Verdef",
                version: vd_version,
            });
        }
        // Read even when vd_cnt is 0, as glibc's match_symbol does.
        let aux_off = advance(off, vd_aux, "Verdaux entry", len)?;
        let rec: [u8; VERDAUX_SIZE] = w.rd.read_array(aux_off, "Verdaux entry")?;
        let vda_name = w.layout.fields(&rec).u32();
        defs.push(VersionDef {
            name: w.strings.get(w.rd, vda_name.into(), "vda_name")?,
            hash: vd_hash,
            base: vd_flags & VER_FLG_BASE != 0,
        });

        if vd_next == 0 {
            break;
        }
        off = advance(off, vd_next, "Verdef entry", len)?;
    }
    Ok(defs)
}
