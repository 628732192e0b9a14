//! Well-formed hand-built images in all four layouts.

use goblin::elf::dynamic::{DT_NULL, DT_STRTAB, DT_VERDEFNUM, DT_VERNEEDNUM};

use super::image::{Spec, VBASE, all_layouts, build};
use crate::elf::{Class, Data, ElfError, read_facts};

#[test]
fn every_layout_round_trips() {
    for (class, data) in all_layouts() {
        let spec = Spec::full(class, data);
        let img = build(&spec);
        let facts = read_facts(&img.bytes).unwrap();
        assert_eq!(facts, spec.expected(), "{class} {data}");
        assert_eq!(facts.class, class);
        assert_eq!(facts.data, data);
        // The same through a slice.
        assert_eq!(read_facts(img.bytes.as_slice()).unwrap(), facts);
    }
}

#[test]
fn chains_are_walked_without_counts() {
    // DT_VERNEEDNUM / DT_VERDEFNUM are optional: the chains end at next == 0.
    for (class, data) in all_layouts() {
        let spec = Spec {
            counts: false,
            ..Spec::full(class, data)
        };
        let img = build(&spec);
        assert_eq!(read_facts(&img.bytes).unwrap(), spec.expected());
    }
}

#[test]
fn counts_shorten_the_walk() {
    for (class, data) in all_layouts() {
        let spec = Spec::full(class, data);
        let mut img = build(&spec);
        img.set_dyn_val(DT_VERNEEDNUM, 1);
        img.set_dyn_val(DT_VERDEFNUM, 2);
        let facts = read_facts(&img.bytes).unwrap();
        let expected = spec.expected();
        assert_eq!(facts.verneed, expected.verneed[..1]);
        assert_eq!(facts.verdef, expected.verdef[..2]);
    }
}

#[test]
fn counts_do_not_lengthen_the_walk() {
    // A count larger than the chain must not make us read past vn_next == 0.
    for (class, data) in all_layouts() {
        let spec = Spec::full(class, data);
        let mut img = build(&spec);
        img.set_dyn_val(DT_VERNEEDNUM, 1000);
        img.set_dyn_val(DT_VERDEFNUM, 1000);
        assert_eq!(read_facts(&img.bytes).unwrap(), spec.expected());
    }
}

#[test]
fn no_pt_dynamic_means_static() {
    for (class, data) in all_layouts() {
        let spec = Spec {
            dynamic: false,
            ..Spec::full(class, data)
        };
        let img = build(&spec);
        let facts = read_facts(&img.bytes).unwrap();
        assert!(!facts.dynamic);
        assert!(facts.needed.is_empty() && facts.verneed.is_empty() && facts.verdef.is_empty());
        assert_eq!(facts, spec.expected());
    }
}

#[test]
fn no_program_headers_at_all() {
    let spec = Spec {
        dynamic: false,
        interp: None,
        ..Spec::full(Class::Elf64, Data::Little)
    };
    let mut img = build(&spec);
    img.set_phnum(0);
    // e_phentsize is irrelevant without program headers.
    img.set_phentsize(0);
    let facts = read_facts(&img.bytes).unwrap();
    assert!(!facts.dynamic);
    assert_eq!(facts.interp, None);
}

#[test]
fn dynamic_without_strings_needs_no_strtab() {
    for (class, data) in all_layouts() {
        let spec = Spec {
            interp: None,
            needed: vec![],
            soname: None,
            rpath: None,
            runpath: None,
            flags_1: 0,
            verneed: vec![],
            verdef: vec![],
            ..Spec::full(class, data)
        };
        let mut img = build(&spec);
        // Nothing refers to the string table, so where it points is moot.
        img.set_dyn_val(DT_STRTAB, 0x7777_0000);
        let facts = read_facts(&img.bytes).unwrap();
        assert!(facts.dynamic);
        assert_eq!(facts, spec.expected());
    }
}

#[test]
fn dynamic_ends_at_filesz_without_dt_null() {
    for (class, data) in all_layouts() {
        let spec = Spec::full(class, data);
        let mut img = build(&spec);
        // Turn DT_NULL into an unknown tag: the walk ends with the segment.
        img.set_dyn_tag(DT_NULL, 0x6fff_f000);
        assert_eq!(read_facts(&img.bytes).unwrap(), spec.expected());
    }
}

#[test]
fn invalid_utf8_is_replaced_not_refused() {
    for (class, data) in all_layouts() {
        let spec = Spec::full(class, data);
        let mut img = build(&spec);
        // "liba.so.1" is the first string after the leading NUL; it is both a
        // DT_NEEDED and a vn_file.
        img.bytes[img.dynstr_off + 1] = 0xff;
        let facts = read_facts(&img.bytes).unwrap();
        assert_eq!(facts.needed[0], "\u{fffd}iba.so.1");
        assert_eq!(facts.verneed[0].file, "\u{fffd}iba.so.1");
    }
}

#[test]
fn strtab_address_is_translated_not_used_as_offset() {
    for (class, data) in all_layouts() {
        let spec = Spec::full(class, data);
        let mut img = build(&spec);
        // Point DT_STRTAB at the raw file offset: that address is below the
        // PT_LOAD and maps nowhere.
        let off = img.dynstr_off as u64;
        img.set_dyn_val(DT_STRTAB, off);
        match read_facts(&img.bytes) {
            Err(ElfError::AddressNotMapped { what, addr }) => {
                assert_eq!((what, addr), ("DT_STRTAB", off));
            }
            other => panic!("{other:?}"),
        }
        // And one mapped elsewhere in the segment reads other bytes.
        img.set_dyn_val(DT_STRTAB, VBASE + off + 1);
        assert_ne!(read_facts(&img.bytes).ok(), Some(spec.expected()));
    }
}

#[test]
fn e_ident_is_checked_first() {
    let img = build(&Spec::full(Class::Elf64, Data::Little));
    let mut bad = img.bytes.clone();
    bad[4] = 3;
    assert!(matches!(read_facts(&bad), Err(ElfError::BadClass(3))));
    let mut bad = img.bytes.clone();
    bad[5] = 0;
    assert!(matches!(read_facts(&bad), Err(ElfError::BadData(0))));
    let mut bad = img.bytes.clone();
    bad[0] = b'#';
    assert!(matches!(read_facts(&bad), Err(ElfError::NotElf)));
    assert!(matches!(read_facts(&b""[..]), Err(ElfError::NotElf)));
    assert!(matches!(
        read_facts(&img.bytes[..10]),
        Err(ElfError::Truncated {
            what: "e_ident",
            ..
        })
    ));
}

#[test]
fn every_truncation_of_an_image_fails() {
    // Every byte of these images is needed, so every cut must be an error:
    // an Ok here would be facts silently missing something.
    for (class, data) in all_layouts() {
        for counts in [true, false] {
            let spec = Spec {
                counts,
                ..Spec::full(class, data)
            };
            let img = build(&spec);
            for len in 0..img.bytes.len() {
                match read_facts(&img.bytes[..len]) {
                    Err(ElfError::NotElf) => assert!(len < 4, "{len}"),
                    Err(_) => {}
                    Ok(f) => panic!("{class} {data}: cut at {len} gave {f:?}"),
                }
            }
        }
    }
}

#[test]
fn errors_describe_the_defect() {
    let img = build(&Spec::full(Class::Elf32, Data::Big));
    let err = read_facts(&img.bytes[..img.bytes.len() - 1]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("PT_DYNAMIC") && msg.contains("past the end"),
        "{msg}"
    );
}
