//! A file written beside its destination and renamed over it only when
//! complete: an interrupted or failed emit (a full disk, a write error)
//! never leaves a file that looks finished, nor replaces a good one.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::EmitError;

/// A file created next to its final path and renamed over it when
/// complete; removed if dropped before.
pub(crate) struct TempFile {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    committed: bool,
    /// Written in place: the destination is a device, a FIFO or a socket
    /// (`/dev/null`, `/dev/stdout`), which a rename would replace by a
    /// regular file.
    direct: bool,
}

impl TempFile {
    pub(crate) fn create(dest: &Path) -> Result<TempFile, EmitError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        dest.file_name().ok_or_else(|| EmitError::Destination {
            path: dest.to_path_buf(),
            problem: "names no file".into(),
        })?;
        // Not the file's own name: one near NAME_MAX would make the
        // temporary name too long.
        if fs::metadata(dest).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(dest)
                .map_err(EmitError::io(dest))?;
            return Ok(TempFile {
                path: dest.to_path_buf(),
                file,
                committed: false,
                direct: true,
            });
        }
        let mut tmp = OsString::from(".ldslim");
        tmp.push(format!(
            ".{}.{}.tmp",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let path = dest.with_file_name(tmp);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .map_err(EmitError::io(&path))?;
        Ok(TempFile {
            path,
            file,
            committed: false,
            direct: false,
        })
    }

    pub(crate) fn commit(mut self, dest: &Path) -> Result<(), EmitError> {
        self.committed = true;
        if self.direct {
            return Ok(());
        }
        self.committed = false;
        self.file.sync_all().map_err(EmitError::io(&self.path))?;
        fs::rename(&self.path, dest).map_err(EmitError::io(dest))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed && !self.direct {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Write `path` whole with `body`, or not at all: the text goes to a
/// temporary file beside it, renamed over `path` once written and synced.
pub fn write_file(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), EmitError> {
    let tmp = TempFile::create(path)?;
    let mut w = BufWriter::new(&tmp.file);
    body(&mut w)
        .and_then(|()| w.flush())
        .map_err(EmitError::io(&tmp.path))?;
    drop(w);
    tmp.commit(path)
}
