//! Tests of the ELF facts reader: hand-built images for all four
//! class/byte-order layouts and for corrupt input, files compiled at test
//! time, the host's own libraries (compared with `readelf`), and I/O cost.

mod compiled;
mod host;
mod hostile;
mod image;
mod io;
mod readelf;
mod synthetic;

use std::cell::Cell;
use std::io as stdio;

use super::ReadAt;

/// Counts what is asked of the underlying reader.
pub struct Counting<R> {
    pub inner: R,
    /// Bytes requested (buffer lengths), the cost that matters for a large
    /// file whatever the reader returns.
    pub requested: Cell<u64>,
    pub calls: Cell<u64>,
    /// Highest `offset + buf.len()` requested.
    pub max_end: Cell<u64>,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            requested: Cell::new(0),
            calls: Cell::new(0),
            max_end: Cell::new(0),
        }
    }
}

impl<R: ReadAt> ReadAt for Counting<R> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> stdio::Result<usize> {
        self.requested.set(self.requested.get() + buf.len() as u64);
        self.calls.set(self.calls.get() + 1);
        self.max_end
            .set(self.max_end.get().max(offset + buf.len() as u64));
        self.inner.read_at(buf, offset)
    }

    fn size(&self) -> u64 {
        self.inner.size()
    }
}

/// Deterministic xorshift64*, so that fuzz failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Values that tend to break parsers: boundaries and sign flips.
pub fn nasty_value(rng: &mut Rng) -> u8 {
    const NASTY: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x10, 0x40];
    if rng.next().is_multiple_of(2) {
        NASTY[rng.below(NASTY.len())]
    } else {
        rng.next() as u8
    }
}
