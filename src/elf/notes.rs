//! ELF notes the loader ignores but a packager reads: the `.note.dlopen`
//! metadata a library writes about the libraries it `dlopen`s
//! (<https://systemd.io/ELF_DLOPEN_METADATA/>: owner `FDO`, type
//! `0x407c0c0a`, a JSON array as descriptor). Notes sit in PT_NOTE
//! segments right after the program headers, in blocks the reader has
//! usually fetched already.

use super::ElfError;
use super::blocks::BlockReader;
use super::fields::Layout;
use super::phdr::FileRange;
use super::read::ReadAt;

/// `n_type` of a dlopen note.
pub const NT_FDO_DLOPEN_METADATA: u32 = 0x407c_0c0a;
const OWNER: &[u8] = b"FDO";

/// Bytes of notes read per segment; a note segment of a real object is a
/// few hundred bytes (build id, ABI tag, properties, dlopen metadata).
const MAX_SEGMENT: u64 = 64 << 10;

/// The descriptors of the dlopen notes in `segments`, as text (without
/// trailing NULs). Malformed note records end the walk of their segment:
/// the loader never reads them, so they do not make the file unusable.
pub(crate) fn dlopen_notes<R: ReadAt + ?Sized>(
    rd: &mut BlockReader<'_, R>,
    layout: Layout,
    segments: &[(FileRange, u64)],
) -> Result<Vec<String>, ElfError> {
    let mut out = Vec::new();
    for (seg, align) in segments {
        let size = seg.size.min(MAX_SEGMENT);
        if seg
            .offset
            .checked_add(size)
            .is_none_or(|end| end > rd.len())
        {
            continue;
        }
        let mut buf = vec![0u8; usize::try_from(size).unwrap_or(0)];
        rd.read_exact(seg.offset, &mut buf, "PT_NOTE")?;
        // gABI: 4-byte alignment; 8 only for segments aligned so (the
        // GNU property notes of 64-bit objects).
        let pad = if *align == 8 { 8 } else { 4 };
        walk(&buf, layout, pad, &mut out);
    }
    Ok(out)
}

/// Each note of one segment's bytes: `namesz, descsz, type`, the name and
/// the descriptor, each padded to `pad`.
fn walk(buf: &[u8], layout: Layout, pad: usize, out: &mut Vec<String>) {
    // `pad` is 4 or 8: the mask rounds up to a multiple of it.
    let mask = pad.saturating_sub(1);
    let round = |n: usize| n.checked_add(mask).map(|v| v & !mask);
    let word = |at: usize| -> Option<u32> {
        let b: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match layout.data {
            super::Data::Little => u32::from_le_bytes(b),
            super::Data::Big => u32::from_be_bytes(b),
        })
    };
    let mut at = 0usize;
    while let (Some(namesz), Some(descsz), Some(kind)) = (
        word(at),
        at.checked_add(4).and_then(word),
        at.checked_add(8).and_then(word),
    ) {
        let Some(name_at) = at.checked_add(12) else {
            return;
        };
        let Some(desc_at) = round(usize::try_from(namesz).unwrap_or(usize::MAX))
            .and_then(|n| name_at.checked_add(n))
        else {
            return;
        };
        let Some(next) = round(usize::try_from(descsz).unwrap_or(usize::MAX))
            .and_then(|n| desc_at.checked_add(n))
        else {
            return;
        };
        let name = name_at
            .checked_add(usize::try_from(namesz).unwrap_or(usize::MAX))
            .and_then(|end| buf.get(name_at..end));
        let desc = desc_at
            .checked_add(usize::try_from(descsz).unwrap_or(usize::MAX))
            .and_then(|end| buf.get(desc_at..end));
        let (Some(name), Some(desc)) = (name, desc) else {
            return;
        };
        let name = name.strip_suffix(&[0]).unwrap_or(name);
        if kind == NT_FDO_DLOPEN_METADATA && name == OWNER {
            let text = desc.split(|&b| b == 0).next().unwrap_or_default();
            out.push(String::from_utf8_lossy(text).into_owned());
        }
        if next <= at {
            return;
        }
        at = next;
    }
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]
mod tests {
    use super::*;
    use crate::elf::{Class, Data};

    fn note(name: &[u8], kind: u32, desc: &[u8], pad: usize) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(name.len() as u32).to_le_bytes());
        v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(name);
        while v.len() % pad != 0 {
            v.push(0);
        }
        v.extend_from_slice(desc);
        while v.len() % pad != 0 {
            v.push(0);
        }
        v
    }

    fn layout() -> Layout {
        Layout {
            class: Class::Elf64,
            data: Data::Little,
        }
    }

    #[test]
    fn finds_the_dlopen_note_among_others() {
        let json = br#"[{"soname":["libz.so.1"],"priority":"required"}]"#;
        let mut buf = note(b"GNU\0", 3, &[1, 2, 3, 4, 5, 6, 7, 8, 9], 4);
        buf.extend(note(
            b"FDO\0",
            NT_FDO_DLOPEN_METADATA,
            &[json.as_slice(), b"\0"].concat(),
            4,
        ));
        buf.extend(note(b"FDO\0", 0x1234, b"x", 4));
        let mut out = Vec::new();
        walk(&buf, layout(), 4, &mut out);
        assert_eq!(out, vec![String::from_utf8(json.to_vec()).unwrap()]);
    }

    #[test]
    fn hostile_sizes_end_the_walk() {
        let mut buf = note(b"FDO\0", NT_FDO_DLOPEN_METADATA, b"[]", 4);
        // A second record claiming 4 GiB of descriptor.
        buf.extend_from_slice(&4u32.to_le_bytes());
        buf.extend_from_slice(&u32::MAX.to_le_bytes());
        buf.extend_from_slice(&NT_FDO_DLOPEN_METADATA.to_le_bytes());
        buf.extend_from_slice(b"FDO\0");
        let mut out = Vec::new();
        walk(&buf, layout(), 4, &mut out);
        assert_eq!(out, vec!["[]".to_string()]);
        for cut in 0..buf.len() {
            walk(&buf[..cut], layout(), 8, &mut Vec::new());
        }
    }
}
