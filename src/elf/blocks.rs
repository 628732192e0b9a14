//! A tiny block cache over [`ReadAt`]: ELF headers, program headers, the
//! dynamic section, `.dynstr` and the version records of one file are
//! usually within a few pages of each other, so fetching aligned 4 KiB
//! blocks and keeping the last few turns dozens of small field reads into
//! two or three `pread`s, whatever the file's size.

use super::ElfError;
use super::fields::{MAX_RECORD, Record};
use super::read::{ReadAt, read_full};

const BLOCK_SIZE: u64 = 4096;
const SLOTS: usize = 4;

#[derive(Default)]
struct Slot {
    start: u64,
    /// How many bytes of `buf` hold the block; 0 means the slot holds
    /// nothing.
    len: usize,
    /// A block-sized buffer once used (see [`SPARE`]); beyond `len` it
    /// holds stale bytes, never read.
    buf: Vec<u8>,
}

impl Slot {
    fn holds(&self, start: u64) -> bool {
        self.start == start && self.len > 0
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

thread_local! {
    /// Block buffers of finished readers, reused by the next reader on the
    /// thread: a scan reads thousands of objects, and allocating, zeroing
    /// and freeing four blocks for each one kept the allocator growing and
    /// trimming its heap (a tenth of an `ldd` run's time).
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

pub(crate) struct BlockReader<'a, R: ReadAt + ?Sized> {
    src: &'a R,
    len: u64,
    /// Oldest first. FIFO is enough: the access pattern is a forward walk
    /// with a few jumps back to the string table, which four slots absorb.
    slots: [Slot; SLOTS],
}

impl<R: ReadAt + ?Sized> Drop for BlockReader<'_, R> {
    fn drop(&mut self) {
        let _ = SPARE.try_with(|s| {
            let mut spare = s.borrow_mut();
            for slot in &mut self.slots {
                if spare.len() < 2 * SLOTS && slot.buf.len() == BLOCK_SIZE as usize {
                    spare.push(std::mem::take(&mut slot.buf));
                }
            }
        });
    }
}

impl<'a, R: ReadAt + ?Sized> BlockReader<'a, R> {
    pub(crate) fn new(src: &'a R) -> Self {
        Self {
            src,
            len: src.size(),
            slots: std::array::from_fn(|_| Slot {
                buf: SPARE
                    .try_with(|s| s.borrow_mut().pop())
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                ..Slot::default()
            }),
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Up to `n` bytes from the start of the file: fewer when the file is
    /// shorter (or shrank below the size we were given).
    pub(crate) fn head(&mut self, n: usize) -> Result<&[u8], ElfError> {
        if self.len == 0 {
            return Ok(&[]);
        }
        match self.chunk_at(0, "e_ident") {
            Ok(chunk) => Ok(chunk.get(..n.min(chunk.len())).unwrap_or_default()),
            Err(ElfError::Truncated { .. }) => Ok(&[]),
            Err(e) => Err(e),
        }
    }

    /// Fills `out` with the bytes at `offset`, or says which structure
    /// (`what`) runs past the end of the file.
    pub(crate) fn read_exact(
        &mut self,
        offset: u64,
        out: &mut [u8],
        what: &'static str,
    ) -> Result<(), ElfError> {
        let want = out.len() as u64;
        let truncated = ElfError::Truncated {
            what,
            start: offset,
            end: offset.saturating_add(want),
            len: self.len,
        };
        if offset.checked_add(want).is_none_or(|end| end > self.len) {
            return Err(truncated);
        }
        let mut done = 0usize;
        while let Some(dst) = out.get_mut(done..).filter(|d| !d.is_empty()) {
            let chunk = self.chunk_at(offset.saturating_add(done as u64), what)?;
            let n = dst.iter_mut().zip(chunk).map(|(d, s)| *d = *s).count();
            if n == 0 {
                return Err(truncated);
            }
            done = done.saturating_add(n);
        }
        Ok(())
    }

    pub(crate) fn read_array<const N: usize>(
        &mut self,
        offset: u64,
        what: &'static str,
    ) -> Result<[u8; N], ElfError> {
        let mut buf = [0; N];
        self.read_exact(offset, &mut buf, what)?;
        Ok(buf)
    }

    /// A record whose size depends on the class (`layout.*_size()`).
    pub(crate) fn read_record(
        &mut self,
        offset: u64,
        size: u16,
        what: &'static str,
    ) -> Result<Record, ElfError> {
        let len = usize::from(size).min(MAX_RECORD);
        debug_assert_eq!(len, usize::from(size), "record larger than MAX_RECORD");
        let mut rec = Record {
            buf: [0; MAX_RECORD],
            len,
        };
        self.read_exact(offset, rec.buf.get_mut(..len).unwrap_or_default(), what)?;
        Ok(rec)
    }

    /// The bytes from `start` up to the first NUL before `end` (clamped to
    /// the file), or `None` when that range holds no NUL. The caller bounds
    /// `end - start`, which bounds the allocation.
    pub(crate) fn read_cstr(
        &mut self,
        start: u64,
        end: u64,
        what: &'static str,
    ) -> Result<Option<Vec<u8>>, ElfError> {
        let end = end.min(self.len);
        let mut out = Vec::new();
        let mut pos = start;
        while pos < end {
            let chunk = self.chunk_at(pos, what)?;
            let room = usize::try_from(end.saturating_sub(pos)).unwrap_or(usize::MAX);
            let chunk = chunk.get(..room.min(chunk.len())).unwrap_or_default();
            if let Some(nul) = chunk.iter().position(|&b| b == 0) {
                out.extend_from_slice(chunk.get(..nul).unwrap_or_default());
                return Ok(Some(out));
            }
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(chunk);
            pos = pos.saturating_add(chunk.len() as u64);
        }
        Ok(None)
    }

    /// The cached bytes from `pos` to the end of its block; never empty.
    fn chunk_at(&mut self, pos: u64, what: &'static str) -> Result<&[u8], ElfError> {
        let within = pos % BLOCK_SIZE;
        let start = pos.saturating_sub(within);
        if !self.slots.iter().any(|s| s.holds(start)) {
            self.load(start)?;
        }
        self.slots
            .iter()
            .find(|s| s.holds(start))
            .and_then(|s| s.bytes().get(usize::try_from(within).ok()?..))
            .filter(|chunk| !chunk.is_empty())
            // The file is shorter than the size we were given (it shrank, or
            // the reader lied): same as a truncated file.
            .ok_or(ElfError::Truncated {
                what,
                start: pos,
                end: pos.saturating_add(1),
                len: self.len,
            })
    }

    fn load(&mut self, start: u64) -> Result<(), ElfError> {
        let want = usize::try_from(self.len.saturating_sub(start).min(BLOCK_SIZE)).unwrap_or(0);
        self.slots.rotate_left(1);
        let [.., newest] = &mut self.slots;
        newest.start = start;
        newest.len = 0;
        if newest.buf.len() < want {
            newest.buf.resize(BLOCK_SIZE as usize, 0);
        }
        let Some(dst) = newest.buf.get_mut(..want) else {
            return Ok(());
        };
        newest.len = read_full(self.src, dst, start)?;
        Ok(())
    }
}
