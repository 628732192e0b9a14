//! Corrupt and hostile images: each defect is a typed error, never a panic,
//! an unbounded loop or an allocation sized by the file.

use goblin::elf::dynamic::{
    DT_NEEDED, DT_NULL, DT_STRSZ, DT_STRTAB, DT_VERDEF, DT_VERDEFNUM, DT_VERNEED,
};

use super::image::{Image, Spec, all_layouts, build, dyn_size, phdr_size};
use super::{Rng, nasty_value};
use crate::elf::{Class, Data, ElfError, read_facts};

fn full(class: Class, data: Data) -> Image {
    build(&Spec::full(class, data))
}

fn err(img: &Image) -> ElfError {
    match read_facts(&img.bytes) {
        Err(e) => e,
        Ok(f) => panic!("expected an error, got {f:?}"),
    }
}

#[test]
fn pn_xnum_is_refused() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        img.set_phnum(0xffff);
        assert!(matches!(err(&img), ElfError::ExtendedPhnum));
    }
}

#[test]
fn huge_phnum_is_out_of_file() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        img.set_phnum(0xfffe);
        match err(&img) {
            ElfError::ProgramHeadersOutOfFile { size, .. } => {
                assert_eq!(size, 0xfffe * phdr_size(class) as u64)
            }
            e => panic!("{e}"),
        }
    }
}

#[test]
fn bad_phentsize() {
    for (class, data) in all_layouts() {
        for bad in [0, 1, phdr_size(class) as u16 - 1] {
            let mut img = full(class, data);
            img.set_phentsize(bad);
            match err(&img) {
                ElfError::BadPhentsize { phentsize, min } => {
                    assert_eq!((phentsize, usize::from(min)), (bad, phdr_size(class)))
                }
                e => panic!("{e}"),
            }
        }
        let mut img = full(class, data);
        img.set_phentsize(0xffff);
        assert!(matches!(
            err(&img),
            ElfError::ProgramHeadersOutOfFile { .. }
        ));
    }
}

#[test]
fn phoff_overflow_is_out_of_file() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        img.set_phoff(u64::MAX - 3);
        assert!(matches!(
            err(&img),
            ElfError::ProgramHeadersOutOfFile { .. }
        ));
    }
}

#[test]
fn dynamic_outside_the_file() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        let i = img.dyn_phdr.unwrap();
        let len = img.bytes.len() as u64;
        img.set_phdr(i, "offset", len + 100);
        assert!(matches!(err(&img), ElfError::DynamicOutOfFile { .. }));

        let mut img = full(class, data);
        img.set_phdr(i, "filesz", 0xffff_fff0);
        assert!(matches!(err(&img), ElfError::DynamicOutOfFile { .. }));

        let mut img = full(class, data);
        img.set_phdr(i, "offset", u64::MAX - 7);
        assert!(matches!(err(&img), ElfError::DynamicOutOfFile { .. }));

        let mut img = full(class, data);
        img.set_phdr(i, "filesz", 0);
        assert!(matches!(err(&img), ElfError::EmptyDynamic));
    }
}

#[test]
fn dynamic_without_dt_null_beyond_the_cap() {
    // 16 MiB of entries none of which is DT_NULL: a bounded walk, then an
    // error rather than facts silently cut at the cap.
    let spec = Spec::full(Class::Elf64, Data::Little);
    let mut img = build(&spec);
    let i = img.dyn_phdr.unwrap();
    let filler_start = img.bytes.len();
    let entries = (17 << 20) / 16;
    for _ in 0..entries {
        img.bytes.extend_from_slice(&0x6fff_f000u64.to_le_bytes());
        img.bytes.extend_from_slice(&0u64.to_le_bytes());
    }
    img.set_dyn_tag(DT_NULL, 0x6fff_f000);
    let size = (img.bytes.len() - img.dyn_off) as u64;
    img.set_phdr(i, "filesz", size);
    assert!(filler_start > img.dyn_off);
    match err(&img) {
        ElfError::DynamicTooLarge { size: s, .. } => assert_eq!(s, size),
        e => panic!("{e}"),
    }
}

#[test]
fn interp_defects() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        let i = img.interp_phdr.unwrap();
        img.set_phdr(i, "filesz", 0xffff_fff0);
        assert!(matches!(err(&img), ElfError::InterpOutOfFile { .. }));

        // Shorten PT_INTERP so it excludes its NUL.
        let mut img = full(class, data);
        img.set_phdr(i, "filesz", "/lib/ld-test.so.1".len() as u64);
        assert!(matches!(
            err(&img),
            ElfError::UnterminatedString {
                what: "PT_INTERP",
                ..
            }
        ));
    }
}

#[test]
fn huge_strsz_is_harmless_when_strings_terminate() {
    for (class, data) in all_layouts() {
        let spec = Spec::full(class, data);
        let mut img = build(&spec);
        img.set_dyn_val(DT_STRSZ, 0xffff_ffff);
        assert_eq!(read_facts(&img.bytes).unwrap(), spec.expected());
    }
}

#[test]
fn string_offsets_out_of_range() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        let strsz = img.dynstr_len as u64;
        img.set_dyn_val(DT_NEEDED, strsz + 5);
        match err(&img) {
            ElfError::StringOutOfRange {
                what,
                offset,
                strsz: s,
            } => assert_eq!((what, offset, s), ("DT_NEEDED", strsz + 5, strsz)),
            e => panic!("{e}"),
        }

        // Without a usable DT_STRSZ, the file size still bounds the offset.
        let mut img = full(class, data);
        img.set_dyn_val(DT_STRSZ, 0xffff_ffff);
        img.set_dyn_val(DT_NEEDED, 0xffff_0000);
        assert!(matches!(
            err(&img),
            ElfError::Truncated {
                what: "DT_NEEDED",
                ..
            }
        ));
    }
}

#[test]
fn unterminated_string() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        // The last string of .dynstr ("T_2.0", a Verdef name) loses its NUL;
        // whatever follows the table must not be read as its tail.
        let last = img.dynstr_off + img.dynstr_len - 1;
        img.bytes[last] = b'x';
        match err(&img) {
            ElfError::UnterminatedString { what, .. } => assert_eq!(what, "vda_name"),
            e => panic!("{e}"),
        }
    }
}

#[test]
fn string_too_long_and_budget() {
    let long = "x".repeat((1 << 20) + 10);
    let spec = Spec {
        needed: vec![long],
        ..Spec::full(Class::Elf64, Data::Big)
    };
    let img = build(&spec);
    assert!(matches!(
        err(&img),
        ElfError::StringTooLong {
            what: "DT_NEEDED",
            ..
        }
    ));

    // 300 DT_NEEDED entries sharing one 64 KiB string: 19 MiB of strings
    // from a 70 KiB file.
    let spec = Spec {
        needed: vec!["y".repeat(64 << 10); 300],
        ..Spec::full(Class::Elf32, Data::Little)
    };
    let img = build(&spec);
    assert!(img.bytes.len() < 100 << 10);
    assert!(matches!(err(&img), ElfError::StringBudgetExceeded { .. }));
}

/// Each DT_NEEDED costs a search per program loading the object: a
/// dynamic section of 100 000 of them (1.6 MB, within every other bound)
/// is refused, 4096 are read.
#[test]
fn too_many_needed_entries() {
    let names = |n: usize| (0..n).map(|i| format!("l{i}")).collect::<Vec<_>>();
    let spec = Spec {
        needed: names(100_000),
        ..Spec::full(Class::Elf64, Data::Little)
    };
    assert!(matches!(
        err(&build(&spec)),
        ElfError::TooManyNeeded { limit: 4096 }
    ));
    let spec = Spec {
        needed: names(4096),
        ..Spec::full(Class::Elf32, Data::Big)
    };
    assert_eq!(read_facts(&build(&spec).bytes).unwrap().needed.len(), 4096);
}

#[test]
fn unmapped_addresses_are_named() {
    for (class, data) in all_layouts() {
        for (tag, name) in [
            (DT_STRTAB, "DT_STRTAB"),
            (DT_VERNEED, "DT_VERNEED"),
            (DT_VERDEF, "DT_VERDEF"),
        ] {
            let mut img = full(class, data);
            img.set_dyn_val(tag, 0x10);
            match err(&img) {
                ElfError::AddressNotMapped { what, addr } => assert_eq!((what, addr), (name, 0x10)),
                e => panic!("{e}"),
            }
        }
    }
}

#[test]
fn missing_strtab() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        // Retag DT_STRTAB as DT_VERSYM, which this reader ignores.
        img.set_dyn_tag(DT_STRTAB, 0x6fff_fff0);
        match err(&img) {
            ElfError::MissingStrtab { what } => assert_eq!(what, "DT_NEEDED"),
            e => panic!("{e}"),
        }
    }
}

#[test]
fn bad_version_record_revisions() {
    for (class, data) in all_layouts() {
        let mut img = full(class, data);
        let at = img.verneed_off;
        img.put_u16(at, 2);
        assert!(matches!(
            err(&img),
            ElfError::BadVersionRecord {
                what: "Verneed",
                version: 2
            }
        ));
        let mut img = full(class, data);
        let at = img.verdef_off;
        img.put_u16(at, 0);
        assert!(matches!(
            err(&img),
            ElfError::BadVersionRecord {
                what: "Verdef",
                version: 0
            }
        ));
    }
}

#[test]
fn version_offsets_out_of_file() {
    for (class, data) in all_layouts() {
        // vn_next
        let mut img = full(class, data);
        let at = img.verneed_off + 12;
        img.put_u32(at, 0xffff_fff0);
        assert!(matches!(
            err(&img),
            ElfError::Truncated {
                what: "Verneed entry",
                ..
            }
        ));
        // vn_aux
        let mut img = full(class, data);
        let at = img.verneed_off + 8;
        img.put_u32(at, 0x7fff_0000);
        assert!(matches!(
            err(&img),
            ElfError::Truncated {
                what: "Vernaux entry",
                ..
            }
        ));
        // vd_aux
        let mut img = full(class, data);
        let at = img.verdef_off + 12;
        img.put_u32(at, 0x7fff_0000);
        assert!(matches!(
            err(&img),
            ElfError::Truncated {
                what: "Verdaux entry",
                ..
            }
        ));
        // vd_next
        let mut img = full(class, data);
        let at = img.verdef_off + 16;
        img.put_u32(at, 0xffff_ffff);
        assert!(matches!(
            err(&img),
            ElfError::Truncated {
                what: "Verdef entry",
                ..
            }
        ));
    }
}

#[test]
fn overlapping_version_chains_terminate() {
    // vn_next / vd_next of 1 make each walk crawl forward byte by byte over
    // its own records: it must end (file end or cap), whatever it returns.
    for (class, data) in all_layouts() {
        for counts in [true, false] {
            let spec = Spec {
                counts,
                ..Spec::full(class, data)
            };
            let mut img = build(&spec);
            let at = img.verneed_off + 12;
            img.put_u32(at, 1);
            let _ = read_facts(&img.bytes);
            let mut img = build(&spec);
            let at = img.verdef_off + 16;
            img.put_u32(at, 1);
            let _ = read_facts(&img.bytes);
        }
    }
}

#[test]
fn version_chains_are_capped() {
    let many_defs: Vec<(String, u16)> = (0..5000).map(|i| (format!("V_{i}"), 0)).collect();
    for counts in [true, false] {
        let spec = Spec {
            verdef: many_defs.clone(),
            counts,
            ..Spec::full(Class::Elf64, Data::Little)
        };
        assert!(matches!(
            err(&build(&spec)),
            ElfError::TooManyVersionRecords { what: "Verdef", .. }
        ));
    }
    // A small DT_VERDEFNUM still stops the walk early.
    let spec = Spec {
        verdef: many_defs,
        ..Spec::full(Class::Elf64, Data::Little)
    };
    let mut img = build(&spec);
    img.set_dyn_val(DT_VERDEFNUM, 3);
    assert_eq!(read_facts(&img.bytes).unwrap().verdef.len(), 3);

    let spec = Spec {
        verneed: (0..5000).map(|i| (format!("l{i}.so"), vec![])).collect(),
        counts: false,
        ..Spec::full(Class::Elf32, Data::Big)
    };
    assert!(matches!(
        err(&build(&spec)),
        ElfError::TooManyVersionRecords {
            what: "Verneed",
            ..
        }
    ));

    let vers: Vec<(String, u16)> = (0..2100).map(|i| (format!("N_{i}"), 0)).collect();
    let spec = Spec {
        verneed: vec![("a.so".into(), vers.clone()), ("b.so".into(), vers)],
        ..Spec::full(Class::Elf32, Data::Little)
    };
    assert!(matches!(
        err(&build(&spec)),
        ElfError::TooManyVersionRecords {
            what: "Vernaux",
            ..
        }
    ));
}

#[test]
fn fuzzed_images_never_panic() {
    let mut rng = Rng::new(0x5eed);
    for (class, data) in all_layouts() {
        let img = full(class, data);
        // Bias mutations towards the structures, where they matter.
        let hot = img.dyn_off + img.dyn_entries.len() * dyn_size(class);
        for _ in 0..4000 {
            let mut bytes = img.bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(hot.min(bytes.len()));
                bytes[at] = nasty_value(&mut rng);
            }
            if rng.below(8) == 0 {
                bytes.truncate(rng.below(bytes.len()));
            }
            let _ = read_facts(&bytes);
        }
    }
}
