//! Bytes → `ldslim::elf::read_facts`, through the slice reader and through a
//! reader that hands out one byte per call (as a pipe or a short `pread`
//! would): both must give the same answer, never panic, and an `Ok` must
//! be bounded by the input.
#![no_main]

use ldslim::elf::{ElfFacts, ReadAt, read_facts};
use libfuzzer_sys::fuzz_target;

/// A reader that fills at most one byte per call.
struct Trickle<'a>(&'a [u8]);

impl ReadAt for Trickle<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let Some(src) = usize::try_from(offset).ok().and_then(|o| self.0.get(o..)) else {
            return Ok(0);
        };
        match (buf.first_mut(), src.first()) {
            (Some(d), Some(s)) => {
                *d = *s;
                Ok(1)
            }
            _ => Ok(0),
        }
    }

    fn size(&self) -> u64 {
        self.0.len() as u64
    }
}

/// Every string of the facts, for the size checks.
fn strings(f: &ElfFacts) -> Vec<&str> {
    let mut out: Vec<&str> = f.needed.iter().map(String::as_str).collect();
    out.extend(f.interp.as_deref());
    out.extend(f.soname.as_deref());
    out.extend(f.rpath.as_deref());
    out.extend(f.runpath.as_deref());
    for v in &f.verneed {
        out.push(&v.file);
        out.extend(v.versions.iter().map(|n| n.name.as_str()));
    }
    out.extend(f.verdef.iter().map(|d| d.name.as_str()));
    out
}

fuzz_target!(|bytes: &[u8]| {
    let got = read_facts(bytes);
    let again = read_facts(&Trickle(bytes));
    match (&got, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "slice and one-byte reader disagree"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("slice reader: {got:?}\none-byte reader: {again:?}"),
    }
    match got {
        Err(e) => {
            // Every error renders.
            let _ = e.to_string();
        }
        Ok(f) => {
            let len = bytes.len();
            // Each DT_NEEDED is a dynamic entry of at least 8 bytes inside
            // the file, each version record at least 8 bytes.
            assert!(
                f.needed.len().saturating_mul(8) <= len,
                "{} needed",
                f.needed.len()
            );
            let aux: usize = f.verneed.iter().map(|v| v.versions.len()).sum();
            assert!(f.verneed.len().saturating_mul(16) <= len);
            assert!(aux <= 4096 && f.verneed.len() <= 4096 && f.verdef.len() <= 4096);
            assert!(!f.dynamic || len >= 64, "a dynamic segment in {len} bytes");
            if let Some(i) = &f.interp {
                assert!(i.len() <= 3 * 4096, "PT_INTERP of {} bytes", i.len());
            }
            for s in strings(&f) {
                // Lossy UTF-8 may triple a byte (U+FFFD), nothing more; no
                // string keeps its NUL.
                assert!(s.len() <= 3 * (1 << 20) && !s.contains('\0'));
            }
            if !f.dynamic {
                assert!(f.needed.is_empty() && f.soname.is_none() && f.verneed.is_empty());
            }
        }
    }
});
