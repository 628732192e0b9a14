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

/// Names of loader functions, looked for in every object's dynamic string
/// table in one pass: built once for all the objects of a plan (building
/// the searcher per object, or searching once per name, cost as much as
/// reading the tables).
pub struct LoaderCalls {
    names: &'static [&'static str],
    /// `None` when the CPU has no SIMD for it: then one search per name.
    any: Option<aho_corasick::packed::Searcher>,
}

impl LoaderCalls {
    pub fn new(names: &'static [&'static str]) -> LoaderCalls {
        LoaderCalls {
            names,
            any: aho_corasick::packed::Searcher::new(names.iter()),
        }
    }

    /// Whether `table` holds one of the names anywhere.
    fn named_in(&self, table: &[u8]) -> bool {
        match &self.any {
            Some(s) => s.find(table).is_some(),
            None => self
                .names
                .iter()
                .any(|c| memchr::memmem::find(table, c.as_bytes()).is_some()),
        }
    }
}

/// Reads the dynamic string table whole (bounded), then `.rodata` when one
/// of `calls` is named there, for the strings holding one of `marks` that
/// `keep` accepts.
pub fn read_load_hints<R: ReadAt + ?Sized>(
    r: &R,
    calls: &LoaderCalls,
    marks: &[&str],
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
    let found = calls_in_table(r, start, size, calls)?;
    let mut hints = LoadHints {
        calls: found,
        names: Vec::new(),
    };
    if hints.calls.is_empty() {
        return Ok(hints);
    }
    if let Some((offset, size)) = section_range(r, b".rodata")? {
        hints.names = rodata_names(r, offset, size.min(MAX_RODATA), marks, keep)?;
    }
    Ok(hints)
}

/// The names of `calls` that end a string of the table at `[start,
/// start + size)` (what the file holds of it).
fn calls_in_table<R: ReadAt + ?Sized>(
    r: &R,
    start: u64,
    size: u64,
    calls: &LoaderCalls,
) -> Result<Vec<&'static str>, ElfError> {
    // Every object of a plan has its table read: into a buffer the thread
    // keeps (zeroed only when it grows), not a new one each time. Only what
    // this read filled is looked at.
    thread_local! {
        static TABLE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    TABLE.with_borrow_mut(|buf| {
        let want = usize::try_from(size).unwrap_or(0);
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let dst = buf.get_mut(..want).unwrap_or_default();
        let got = read_full(r, dst, start)?;
        let table = dst.get(..got).unwrap_or_default();
        // Most objects name no loader function at all: one search for all
        // the names tells them apart before the table is split.
        if !calls.named_in(table) {
            return Ok(Vec::new());
        }
        // Linkers merge a string into the tail of a longer one (`dlopen` is
        // the end of `snd_dlopen` in libasound's table), so a name counts
        // wherever it ends a string.
        let mut found: Vec<&'static str> = table
            .split(|&b| b == 0)
            .flat_map(|s| {
                calls
                    .names
                    .iter()
                    .filter(move |c| s.ends_with(c.as_bytes()))
                    .copied()
            })
            .collect();
        found.sort_unstable();
        found.dedup();
        Ok(found)
    })
}

/// NUL-terminated printable strings of `[offset, offset + size)` that
/// hold one of `marks` and that `keep` accepts (`keep` must reject every
/// string without a mark: only those are offered to it). A string is what
/// `strings` reads: a run of printable bytes, cut short by any other byte,
/// and here ended by a NUL.
fn rodata_names<R: ReadAt + ?Sized>(
    r: &R,
    offset: u64,
    size: u64,
    marks: &[&str],
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, ElfError> {
    // The marks are found by one SIMD search for all of them and each
    // string is bounded around its hit: a byte-at-a-time reading of every
    // string was most of a plan's time on libraries with megabytes of
    // `.rodata`, and a search per mark six passes over them. A mark is
    // printable, so a match lies within one string: matches that do not
    // overlap still reach every string holding a mark.
    let is_text = |b: &u8| (0x20..=0x7e).contains(b);
    // (Building the automaton fails only for patterns far beyond a few
    // short marks: then one search per mark.)
    let finder = aho_corasick::AhoCorasick::new(marks).ok();
    let finders: Vec<memchr::memmem::Finder<'_>> = match finder {
        Some(_) => Vec::new(),
        None => marks
            .iter()
            .map(|m| memchr::memmem::Finder::new(m.as_bytes()))
            .collect(),
    };
    let mut names = std::collections::BTreeSet::new();
    let mut buf = vec![0u8; CHUNK];
    let mut hits: Vec<usize> = Vec::new();
    let mut done = 0u64;
    // The read starts inside a run longer than any name: its tail is none.
    let mut in_overlong = false;
    while done < size {
        let want = usize::try_from(size.saturating_sub(done).min(CHUNK as u64)).unwrap_or(CHUNK);
        let Some(dst) = buf.get_mut(..want) else {
            break;
        };
        let got = read_full(r, dst, offset.saturating_add(done))?;
        if got == 0 {
            break;
        }
        let data = buf.get(..got).unwrap_or_default();
        let last = done.saturating_add(got as u64) >= size;
        // Only strings ended in this read are read now; a run still open
        // at its end is read again at the start of the next one.
        let whole = if last {
            got
        } else {
            data.iter()
                .rposition(|b| !is_text(b))
                .map_or(0, |t| t.saturating_add(1))
        };
        let region = data.get(..whole).unwrap_or_default();
        hits.clear();
        match &finder {
            Some(ac) => hits.extend(ac.find_iter(region).map(|m| m.start())),
            None => {
                for f in &finders {
                    hits.extend(f.find_iter(region));
                }
                hits.sort_unstable();
            }
        }
        let mut next = 0;
        for &h in &hits {
            if h < next {
                continue;
            }
            let before = region.get(..h).unwrap_or_default();
            let start = before
                .iter()
                .rposition(|b| !is_text(b))
                .map_or(0, |i| i.saturating_add(1));
            let after = region.get(h..).unwrap_or_default();
            let Some(len) = after.iter().position(|b| !is_text(b)) else {
                break;
            };
            let end = h.saturating_add(len);
            next = end.saturating_add(1);
            if region.get(end) != Some(&0) || (start == 0 && in_overlong) {
                continue;
            }
            let text = region.get(start..end).unwrap_or_default();
            if text.len() <= MAX_NAME
                && let Ok(s) = std::str::from_utf8(text)
                && keep(s)
            {
                names.insert(s.to_string());
            }
        }
        if last {
            break;
        }
        // A read with no end of a string in it is inside one run longer
        // than any name (CHUNK > MAX_NAME): skip it.
        in_overlong = whole == 0;
        let advance = if whole == 0 { got } else { whole };
        done = done.saturating_add(advance as u64);
    }
    Ok(names.into_iter().collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(bytes: &[u8]) -> Vec<String> {
        rodata_names(&bytes, 0, bytes.len() as u64, &["lib"], &|s: &str| {
            s.starts_with("lib")
        })
        .unwrap()
    }

    #[test]
    fn loader_calls_end_strings_and_nothing_of_an_earlier_table_is_seen() {
        let calls = LoaderCalls::new(&["dlopen", "g_module_open"]);
        let found = |bytes: &[u8], size: u64| calls_in_table(&bytes, 0, size, &calls).unwrap();
        // Tail-merged, and a longer name holding a shorter one.
        assert_eq!(
            found(b"\0snd_dlopen\0g_module_open\0", 27),
            ["dlopen", "g_module_open"]
        );
        assert!(found(b"\0dlopen_x\0", 10).is_empty());
        // The thread's buffer still holds the table above: a shorter one, or
        // one the file ends inside of, is only what was read now.
        assert!(found(b"\0libc", 5).is_empty());
        assert!(found(b"\0libc", 27).is_empty());
        // The searcher and the search per name agree.
        let slow = LoaderCalls {
            names: calls.names,
            any: None,
        };
        for t in [&b"x\0dlopen\0"[..], b"g_module_ope", b""] {
            assert_eq!(slow.named_in(t), calls.named_in(t), "{t:?}");
        }
    }

    #[test]
    fn rodata_strings_are_read_as_strings_reads_them() {
        // NUL-ended printable runs; a non-printable byte starts afresh.
        assert_eq!(
            names(b"libz.so.1\0xx\x01libm.so.6\0libcut\x02\0lib a~\0liblast"),
            ["lib a~", "libm.so.6", "libz.so.1"]
        );
        // A run longer than MAX_NAME is no name, even its tail; one of
        // exactly MAX_NAME is.
        let mut long = b"lib".repeat(MAX_NAME / 3 + 1);
        long.extend_from_slice(b"\0");
        assert!(names(&long).is_empty());
        let mut exact = b"lib".to_vec();
        exact.resize(MAX_NAME, b'a');
        exact.push(0);
        assert_eq!(names(&exact).len(), 1);
        // A string across the boundary of two reads is one string.
        let mut across = vec![0u8; CHUNK - 4];
        across.extend_from_slice(b"libacross.so.2\0");
        assert_eq!(names(&across), ["libacross.so.2"]);
    }
}
