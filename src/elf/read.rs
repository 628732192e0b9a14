//! Positional reads: the only way this module touches file bytes.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Positional reads from a file or a byte slice.
pub trait ReadAt {
    /// Like `pread(2)`: fills a prefix of `buf` with the bytes at `offset` and
    /// returns how many it filled; 0 means there is nothing at `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Size in bytes. Readers trust it to bound every offset, so it must not
    /// change while facts are being read.
    fn size(&self) -> u64;
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let Some(src) = usize::try_from(offset).ok().and_then(|o| self.get(o..)) else {
            return Ok(0);
        };
        Ok(buf.iter_mut().zip(src).map(|(d, s)| *d = *s).count())
    }

    fn size(&self) -> u64 {
        self.len() as u64
    }
}

/// So that wrappers can hold a borrowed reader.
impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        (**self).read_at(buf, offset)
    }

    fn size(&self) -> u64 {
        (**self).size()
    }
}

/// So that `read_facts(&vec)` works without reslicing.
impl ReadAt for Vec<u8> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.as_slice().read_at(buf, offset)
    }

    fn size(&self) -> u64 {
        self.len() as u64
    }
}

/// A file with its size known (from fstat); read_at via
/// [`std::os::unix::fs::FileExt`].
#[derive(Debug)]
pub struct SizedFile {
    pub file: File,
    pub size: u64,
}

impl SizedFile {
    /// Takes the size from one `fstat`, so the file is not stat'ed per read.
    pub fn new(file: File) -> io::Result<Self> {
        let size = file.metadata()?.len();
        Ok(Self { file, size })
    }

    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::new(File::open(path)?)
    }
}

impl ReadAt for SizedFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(&self.file, buf, offset)
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// Reads until `buf` is full or the source has nothing more, retrying
/// interrupted reads; returns how many bytes were filled.
pub(crate) fn read_full<R: ReadAt + ?Sized>(
    r: &R,
    buf: &mut [u8],
    offset: u64,
) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        let Some(at) = offset.checked_add(filled as u64) else {
            break;
        };
        match r.read_at(rest, at) {
            Ok(0) => break,
            // A reader claiming more than it was given must not push us past
            // the buffer.
            Ok(n) => filled = filled.saturating_add(n).min(buf.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
