//! An item's `src`, read from the builder root and checked against the
//! plan: a plan made from another state of the builder must fail loudly,
//! never emit a file of the wrong size or a link to somewhere else.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{EmitError, check};
use crate::copyset::CopyItem;
use crate::elf::SizedFile;
use crate::rootfs::{Kind, Root};

/// The builder's regular file at `item.src`, open, checked to have the
/// plan's `size`; with its host path for error messages.
pub(super) fn open_file(
    builder: &Root,
    item: &CopyItem,
    size: u64,
) -> Result<(SizedFile, PathBuf), EmitError> {
    let (inside, host, meta) = lookup(builder, item)?;
    if !meta.file_type().is_file() {
        return Err(mismatch(item, "a regular file".into(), describe(&meta)));
    }
    let (file, _) = builder
        .open_walked(&inside)
        .map_err(|source| EmitError::Root {
            root: builder.host_dir().to_path_buf(),
            source,
        })?;
    if file.size != size {
        return Err(mismatch(
            item,
            format!("{size} bytes"),
            format!("{} bytes", file.size),
        ));
    }
    Ok((file, host))
}

/// Check that the builder has a symlink at `item.src` whose text is
/// exactly `target`.
pub(super) fn check_link(builder: &Root, item: &CopyItem, target: &str) -> Result<(), EmitError> {
    let (_, host, meta) = lookup(builder, item)?;
    let expected = || format!("a symbolic link to {target}");
    if !meta.file_type().is_symlink() {
        return Err(mismatch(item, expected(), describe(&meta)));
    }
    let text = fs::read_link(&host).map_err(EmitError::io(&host))?;
    if text.as_os_str().as_bytes() != target.as_bytes() {
        return Err(mismatch(
            item,
            expected(),
            format!("a symbolic link to {}", text.display()),
        ));
    }
    Ok(())
}

/// Find `src` inside `builder`: its directories are resolved inside the
/// root (a symlinked directory is followed there, never out of it), its
/// last component is not followed, so a link is seen as a link. Gives the
/// canonical path inside the root, the host path and its `lstat`.
fn lookup(builder: &Root, item: &CopyItem) -> Result<(PathBuf, PathBuf, Metadata), EmitError> {
    let (parent, name) = check::split(&item.src);
    let missing = || EmitError::SourceMissing {
        path: item.src.clone(),
    };
    let dir = builder
        .resolve(Path::new(parent))
        .map_err(|source| EmitError::Root {
            root: builder.host_dir().to_path_buf(),
            source,
        })?
        .ok_or_else(missing)?;
    if dir.kind != Kind::Directory {
        return Err(missing());
    }
    let inside = dir.path.join(name);
    let host = builder.host_path(&inside);
    match fs::symlink_metadata(&host) {
        Ok(meta) => Ok((inside, host, meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(missing()),
        Err(source) => Err(EmitError::Io { path: host, source }),
    }
}

fn mismatch(item: &CopyItem, expected: String, found: String) -> EmitError {
    EmitError::SourceMismatch {
        path: item.src.clone(),
        expected,
        found,
    }
}

/// What an `lstat` found, in words for an error message.
pub(super) fn describe(meta: &Metadata) -> String {
    let ft = meta.file_type();
    if ft.is_symlink() {
        "a symbolic link".into()
    } else if ft.is_dir() {
        "a directory".into()
    } else if ft.is_file() {
        format!("a regular file of {} bytes", meta.len())
    } else {
        "a special file".into()
    }
}

/// Reads exactly the plan's size of a builder file. A file that shrank or
/// grew since it was checked would give a tar header whose size does not
/// match its data, or a copy other than the one checked; the reader fails
/// instead, and keeps the error naming the file in `failure` because its
/// consumer (`io::copy`, the tar builder) only passes an `io::Error` on.
pub(super) struct Exact<'a> {
    file: &'a File,
    left: u64,
    src: &'a str,
    host: &'a Path,
    pub failure: Option<EmitError>,
}

impl<'a> Exact<'a> {
    pub fn new(file: &'a SizedFile, host: &'a Path, src: &'a str) -> Exact<'a> {
        Exact {
            file: &file.file,
            left: file.size,
            src,
            host,
            failure: None,
        }
    }

    fn read_file(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf).inspect_err(|e| {
            self.failure = Some(EmitError::Io {
                path: self.host.to_path_buf(),
                source: io::Error::new(e.kind(), e.to_string()),
            });
        })
    }

    fn fail(&mut self, found: &str) -> io::Error {
        self.failure = Some(EmitError::SourceMismatch {
            path: self.src.to_string(),
            expected: "a file that does not change while it is read".into(),
            found: found.into(),
        });
        io::Error::other(format!("builder {} changed while being read", self.src))
    }
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.read_file(&mut probe)? {
                0 => Ok(0),
                _ => Err(self.fail("one that grew")),
            };
        }
        let want = usize::try_from(self.left).map_or(buf.len(), |l| l.min(buf.len()));
        let n = self.read_file(&mut buf[..want])?;
        if n == 0 {
            return Err(self.fail("one that shrank"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
