//! Individual strings of the dynamic string table, read one at a time by
//! scanning for the NUL, so a large `.dynstr` is never read whole.

use super::ElfError;
use super::blocks::BlockReader;
use super::read::ReadAt;

/// Far above any real soname, path list or version name; bounds the scan of
/// an unterminated string in a large file.
pub(crate) const MAX_STRING_LEN: u64 = 1 << 20;

/// Bounds the total work and memory when hostile dynamic entries point many
/// times at the same long string.
pub(crate) const STRING_BUDGET: u64 = 16 << 20;

/// Charged per string on top of its length, so that millions of empty
/// strings exhaust the budget too.
const PER_STRING_COST: u64 = 64;

pub(crate) struct StringTable {
    /// File offset of DT_STRTAB.
    base: u64,
    /// DT_STRSZ, when present. glibc never consults it (it trusts the
    /// offsets), but a string outside it is certainly corrupt.
    size: Option<u64>,
    spent: u64,
}

impl StringTable {
    pub(crate) fn new(base: u64, size: Option<u64>) -> Self {
        Self {
            base,
            size,
            spent: 0,
        }
    }

    /// The string at `offset` in the table; `what` names the field that
    /// holds the offset. Invalid UTF-8 is replaced rather than refused: the
    /// loader compares bytes and never decodes them.
    pub(crate) fn get<R: ReadAt + ?Sized>(
        &mut self,
        rd: &mut BlockReader<'_, R>,
        offset: u64,
        what: &'static str,
    ) -> Result<String, ElfError> {
        if let Some(strsz) = self.size
            && offset >= strsz
        {
            return Err(ElfError::StringOutOfRange {
                what,
                offset,
                strsz,
            });
        }
        let len = rd.len();
        let Some(start) = self.base.checked_add(offset).filter(|&s| s < len) else {
            return Err(ElfError::Truncated {
                what,
                start: self.base.saturating_add(offset),
                end: self.base.saturating_add(offset).saturating_add(1),
                len,
            });
        };
        let table_end = self.size.map_or(len, |s| self.base.saturating_add(s));
        // +1: the terminating NUL of a string of exactly MAX_STRING_LEN bytes.
        let cap_end = start.saturating_add(MAX_STRING_LEN + 1);
        let bytes = match rd.read_cstr(start, table_end.min(cap_end), what)? {
            Some(bytes) => bytes,
            None if cap_end < table_end && cap_end <= len => {
                return Err(ElfError::StringTooLong {
                    what,
                    offset,
                    limit: MAX_STRING_LEN,
                });
            }
            None if table_end > len => {
                return Err(ElfError::Truncated {
                    what,
                    start,
                    end: table_end,
                    len,
                });
            }
            None => return Err(ElfError::UnterminatedString { what, offset }),
        };
        self.spent = self
            .spent
            .saturating_add(bytes.len() as u64)
            .saturating_add(PER_STRING_COST);
        if self.spent > STRING_BUDGET {
            return Err(ElfError::StringBudgetExceeded {
                limit: STRING_BUDGET,
            });
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}
