//! The plan as a layer tarball: every item at its `dest`, symlinks kept as
//! links, parent directories as entries before their contents, owned by
//! root, with fixed mtimes and in sorted order, so that the same plan and
//! builder give the same bytes (and the same layer digest) every time.
//!
//! The layer is meant to be applied on top of the target image (`ADD
//! layer.tar /` in a Dockerfile, or as an OCI layer). Its directory
//! entries replace whatever the image has at those paths, so the plan's
//! `dest` directories must be real directories in the target (not, say,
//! `/lib` of a usr-merged image, which is a symlink there): the planner
//! gives canonical paths of the target.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};

use super::source::{self, Exact};
use super::temp::TempFile;
use super::{EmitError, check};
use crate::copyset::{CopyItem, CopyKind, CopyPlan};
use crate::rootfs::Root;

/// What [`tar()`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TarSummary {
    pub directories: usize,
    pub files: usize,
    pub symlinks: usize,
    /// Bytes of regular-file contents (not counting tar headers).
    pub bytes: u64,
}

/// Write the plan's files, read from `builder`, as a tarball at `path`,
/// with mtimes set to `SOURCE_DATE_EPOCH` when set, else 0. The archive is
/// written to a temporary file next to `path` and renamed over it only
/// when complete.
pub fn tar(path: &Path, plan: &CopyPlan, builder: &Root) -> Result<TarSummary, EmitError> {
    tar_with_mtime(path, plan, builder, source_date_epoch()?)
}

/// The reproducible-builds clamp: `SOURCE_DATE_EPOCH` as seconds, 0 when
/// unset or empty; a value that is not a number is an error rather than a
/// silently different archive.
pub fn source_date_epoch() -> Result<u64, EmitError> {
    parse_epoch(std::env::var_os("SOURCE_DATE_EPOCH"))
}

fn parse_epoch(value: Option<OsString>) -> Result<u64, EmitError> {
    let Some(value) = value else { return Ok(0) };
    if value.is_empty() {
        return Ok(0);
    }
    let text = value.to_string_lossy();
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EmitError::SourceDateEpoch {
            value: text.into_owned(),
        });
    }
    text.parse().map_err(|_| EmitError::SourceDateEpoch {
        value: text.into_owned(),
    })
}

/// [`tar()`] with an explicit mtime for every entry.
pub fn tar_with_mtime(
    path: &Path,
    plan: &CopyPlan,
    builder: &Root,
    mtime: u64,
) -> Result<TarSummary, EmitError> {
    check::plan(plan)?;
    // Keyed by path components, a parent sorts before everything in it.
    let mut entries: BTreeMap<PathBuf, Option<&CopyItem>> = BTreeMap::new();
    for item in &plan.items {
        for dir in check::ancestors(&item.dest) {
            entries.entry(relative(dir)).or_insert(None);
        }
        entries.insert(relative(&item.dest), Some(item));
    }

    let out = TempFile::create(path)?;
    let mut summary = TarSummary::default();
    let mut builder_tar = Builder::new(BufWriter::new(&out.file));
    for (rel, item) in &entries {
        let written = match item {
            None => {
                summary.directories += 1;
                let mut h = header(EntryType::Directory, 0o755, mtime);
                // Directories end in `/`, as docker and GNU tar write them.
                let mut name = rel.clone().into_os_string();
                name.push("/");
                builder_tar.append_data(&mut h, Path::new(&name), io::empty())
            }
            Some(item) => match &item.kind {
                CopyKind::File { mode, size } => {
                    let (file, host) = source::open_file(builder, item, *size)?;
                    summary.files += 1;
                    summary.bytes += size;
                    let mut h = header(EntryType::Regular, *mode, mtime);
                    h.set_size(*size);
                    let mut data = Exact::new(&file, &host, &item.src);
                    let r = builder_tar.append_data(&mut h, rel, &mut data);
                    if let Some(failure) = data.failure.take() {
                        return Err(failure);
                    }
                    r
                }
                CopyKind::Symlink { target } => {
                    source::check_link(builder, item, target)?;
                    summary.symlinks += 1;
                    append_symlink(&mut builder_tar, rel, target, mtime)
                }
                CopyKind::Generated { mode, content, .. } => {
                    let bytes = content.bytes();
                    summary.files += 1;
                    summary.bytes += bytes.len() as u64;
                    let mut h = header(EntryType::Regular, *mode, mtime);
                    h.set_size(bytes.len() as u64);
                    builder_tar.append_data(&mut h, rel, bytes.as_slice())
                }
            },
        };
        written.map_err(EmitError::io(&out.path))?;
    }
    let finish = |b: Builder<BufWriter<&File>>| -> io::Result<()> {
        let mut w = b.into_inner()?;
        w.flush()
    };
    finish(builder_tar).map_err(EmitError::io(&out.path))?;
    out.commit(path)?;
    Ok(summary)
}

fn relative(dest: &str) -> PathBuf {
    PathBuf::from(dest.trim_start_matches('/'))
}

/// A header with nothing of the host in it: GNU format (long names), uid
/// and gid 0, no user or group names, the given mtime.
fn header(kind: EntryType, mode: u32, mtime: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode & 0o7777);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_size(0);
    h
}

/// A symlink entry whose link text is the builder's, byte for byte. The
/// tar crate's `set_link_name` rebuilds the text from path components
/// (`a//b` becomes `a/b`), so the text is put in the header directly, with
/// a GNU `././@LongLink` (`K`) entry first when it is longer than the
/// header's 100 bytes, as GNU tar does.
fn append_symlink<W: Write>(
    b: &mut Builder<W>,
    rel: &Path,
    target: &str,
    mtime: u64,
) -> io::Result<()> {
    let bytes = target.as_bytes();
    let mut h = header(EntryType::Symlink, 0o777, mtime);
    let slot = &mut h.as_old_mut().linkname;
    if bytes.len() > slot.len() {
        let mut long = Header::new_gnu();
        let name = b"././@LongLink";
        long.as_old_mut().name[..name.len()].copy_from_slice(name);
        long.set_mode(0o644);
        long.set_uid(0);
        long.set_gid(0);
        long.set_mtime(0);
        long.set_entry_type(EntryType::GNULongLink);
        long.set_size(bytes.len() as u64 + 1);
        long.set_cksum();
        b.append(&long, bytes.chain(&[0u8][..]))?;
    }
    let n = bytes.len().min(slot.len());
    slot[..n].copy_from_slice(&bytes[..n]);
    b.append_data(&mut h, rel, io::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_is_seconds_or_an_error() {
        assert_eq!(parse_epoch(None).unwrap(), 0);
        assert_eq!(parse_epoch(Some("".into())).unwrap(), 0);
        assert_eq!(
            parse_epoch(Some("1700000000".into())).unwrap(),
            1_700_000_000
        );
        for bad in ["-1", "1.5", "yesterday", "99999999999999999999999"] {
            let e = parse_epoch(Some(bad.into())).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
