//! What an object's bytes suggest about the libraries it loads at run time
//! without declaring them: which loader functions its dynamic string table
//! names (an object that imports `dlopen` calls it), and which strings of
//! its `.rodata` the caller cares about (sonames, paths). Evidence only:
//! nothing here says a load happens.

use super::blocks::BlockReader;
use super::dynamic::read_dynamic;
use super::header::{read_header, read_ident_cached};
use super::phdr::read_program_headers;
use super::read::{ReadAt, read_full};
use super::strings::STRING_BUDGET;
use super::{ElfError, section_range};

/// `.rodata` bytes read at most (a real library's is a few MiB at most; a
/// hostile one may claim the whole file).
const MAX_RODATA: u64 = 64 << 20;
/// Longer strings are not names.
const MAX_NAME: usize = 4096;
const CHUNK: usize = 1 << 20;

/// Evidence of run-time loads in one object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadHints {
    /// The functions of `calls` its dynamic string table names.
    pub calls: Vec<&'static str>,
    /// The strings of `.rodata` that `keep` accepted, sorted, once each
    /// (read only when `calls` is not empty).
    pub names: Vec<String>,
}

/// Reads the dynamic string table whole (bounded), then `.rodata` when one
/// of `calls` is named there.
pub fn read_load_hints<R: ReadAt + ?Sized>(
    r: &R,
    calls: &[&'static str],
    keep: &dyn Fn(&str) -> bool,
) -> Result<LoadHints, ElfError> {
    let mut rd = BlockReader::new(r);
    let layout = read_ident_cached(&mut rd)?.layout;
    let hdr = read_header(&mut rd, layout)?;
    let segs = read_program_headers(&mut rd, layout, &hdr)?;
    let Some(dyn_seg) = segs.dynamic else {
        return Ok(LoadHints::default());
    };
    let info = read_dynamic(&mut rd, layout, dyn_seg)?;
    let (Some(addr), Some(size)) = (info.strtab, info.strsz) else {
        return Ok(LoadHints::default());
    };
    let start = segs.file_offset(addr, "DT_STRTAB")?;
    let size = size.min(STRING_BUDGET).min(rd.len().saturating_sub(start));
    let mut table = vec![0u8; usize::try_from(size).unwrap_or(0)];
    let got = read_full(r, &mut table, start)?;
    table.truncate(got);
    // Linkers merge a string into the tail of a longer one (`dlopen` is
    // the end of `snd_dlopen` in libasound's table), so a name counts
    // wherever it ends a string.
    let mut found: Vec<&'static str> = table
        .split(|&b| b == 0)
        .flat_map(|s| {
            calls
                .iter()
                .filter(move |c| s.ends_with(c.as_bytes()))
                .copied()
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    let mut hints = LoadHints {
        calls: found,
        names: Vec::new(),
    };
    if hints.calls.is_empty() {
        return Ok(hints);
    }
    if let Some((offset, size)) = section_range(r, b".rodata")? {
        hints.names = rodata_names(r, offset, size.min(MAX_RODATA), keep)?;
    }
    Ok(hints)
}

/// NUL-terminated printable strings of `[offset, offset + size)` that
/// `keep` accepts.
fn rodata_names<R: ReadAt + ?Sized>(
    r: &R,
    offset: u64,
    size: u64,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, ElfError> {
    let mut names = std::collections::BTreeSet::new();
    let mut current: Vec<u8> = Vec::new();
    let mut overlong = false;
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < size {
        let want = usize::try_from(size.saturating_sub(done).min(CHUNK as u64)).unwrap_or(CHUNK);
        let Some(dst) = buf.get_mut(..want) else {
            break;
        };
        let got = read_full(r, dst, offset.saturating_add(done))?;
        if got == 0 {
            break;
        }
        for &b in buf.get(..got).unwrap_or_default() {
            match b {
                0 => {
                    if !overlong
                        && let Ok(s) = std::str::from_utf8(&current)
                        && keep(s)
                    {
                        names.insert(s.to_string());
                    }
                    current.clear();
                    overlong = false;
                }
                0x20..=0x7e if !overlong => {
                    current.push(b);
                    if current.len() > MAX_NAME {
                        current.clear();
                        overlong = true;
                    }
                }
                0x20..=0x7e => {}
                _ => {
                    // Not text: whatever came before was not a name, and a
                    // name may start right after (as `strings` reads).
                    current.clear();
                    overlong = false;
                }
            }
        }
        done = done.saturating_add(got as u64);
    }
    Ok(names.into_iter().collect())
}
