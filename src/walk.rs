//! A parallel walk of a directory tree by directory descriptors.
//!
//! Each directory is opened relative to its parent's descriptor
//! (`openat(parent, name, O_DIRECTORY | O_NOFOLLOW)`) and listed with
//! `getdents64`, whose `d_type` tells files from directories without a
//! `stat`; the caller opens files relative to the same descriptor. So the
//! kernel never walks a long host path again, and nothing that became a
//! symlink since it was listed is followed. Directories are listed, and
//! their files visited, on every core (rayon), yet the results come back in
//! the order of a serial depth-first walk in directory order (what
//! `walkdir` gives), whatever the thread scheduling.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// One regular file met by the walk.
pub struct Entry<'a> {
    /// The directory holding it, open.
    pub dir_fd: BorrowedFd<'a>,
    /// That directory's path inside the root.
    pub dir: &'a Path,
    /// The file's name in it.
    pub name: &'a CStr,
}

impl Entry<'_> {
    /// The file's path inside the root.
    pub fn path(&self) -> PathBuf {
        self.dir.join(OsStr::from_bytes(self.name.to_bytes()))
    }

    /// `openat` of the file relative to its directory, read-only, never
    /// following a symlink, never blocking on a FIFO, never becoming a
    /// controlling terminal.
    pub fn open(&self) -> io::Result<File> {
        openat(
            self.dir_fd,
            self.name,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
        )
        .map(File::from)
    }
}

/// What the walk asks of its caller.
pub trait Visit: Sync {
    type Out: Send;
    /// Whether to enter the directory `path` (inside the root); `depth` 0 is
    /// a start.
    fn enter(&self, _path: &Path, _depth: usize) -> bool {
        true
    }
    /// A regular file (by `d_type`, or `lstat` when the file system does not
    /// fill it in).
    fn file(&self, entry: &Entry<'_>) -> Option<Self::Out>;
    /// Anything else that is not a directory: a symlink, a FIFO, a socket,
    /// a device (`d_type` says which, `DT_UNKNOWN` when even `lstat` could
    /// not tell).
    fn other(&self, _entry: &Entry<'_>, _d_type: u8) -> Option<Self::Out> {
        None
    }
    /// A directory that could not be opened or listed.
    fn error(&self, path: &Path, error: io::Error) -> Option<Self::Out>;
}

/// Walk `start` (a canonical, symlink-free path inside the root at
/// `host_root`): a directory is walked, a regular file is visited, anything
/// else is ignored.
pub fn walk<V: Visit>(host_root: &Path, start: &Path, visit: &V) -> Vec<V::Out> {
    let rel = start.strip_prefix("/").unwrap_or(start);
    let host = if rel.as_os_str().is_empty() {
        host_root.to_path_buf()
    } else {
        host_root.join(rel)
    };
    let meta = match std::fs::symlink_metadata(&host) {
        Ok(m) => m,
        Err(e) => return visit.error(start, e).into_iter().collect(),
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        if !visit.enter(start, 0) {
            return Vec::new();
        }
        let fd = match open_path(&host, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) => return visit.error(start, e).into_iter().collect(),
        };
        walk_dir(fd, start.to_path_buf(), 0, visit)
    } else if ft.is_file() {
        let (Some(parent_host), Some(name), Some(parent)) =
            (host.parent(), host.file_name(), start.parent())
        else {
            return Vec::new();
        };
        let Ok(name) = CString::new(name.as_bytes()) else {
            return Vec::new();
        };
        let fd = match open_path(
            parent_host,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        ) {
            Ok(fd) => fd,
            Err(e) => return visit.error(start, e).into_iter().collect(),
        };
        let entry = Entry {
            dir_fd: fd.as_fd(),
            dir: parent,
            name: &name,
        };
        visit.file(&entry).into_iter().collect()
    } else {
        Vec::new()
    }
}

/// Walk the open directory `fd` whose path inside the root is `path`.
fn walk_dir<V: Visit>(fd: OwnedFd, path: PathBuf, depth: usize, visit: &V) -> Vec<V::Out> {
    let listing = match list(fd.as_fd()) {
        Ok(l) => l,
        Err(e) => return visit.error(&path, e).into_iter().collect(),
    };
    let path = path.as_path();
    let dir_fd = fd.as_fd();
    listing
        .entries
        .par_iter()
        .flat_map_iter(|&(start, kind)| {
            let Some(name) = listing
                .names
                .get(start..)
                .and_then(|b| CStr::from_bytes_until_nul(b).ok())
            else {
                return Vec::new();
            };
            let kind = match kind {
                libc::DT_UNKNOWN => lstat_kind(dir_fd, name),
                k => k,
            };
            match kind {
                libc::DT_REG => {
                    let entry = Entry {
                        dir_fd,
                        dir: path,
                        name,
                    };
                    visit.file(&entry).into_iter().collect()
                }
                libc::DT_DIR => {
                    let child = path.join(OsStr::from_bytes(name.to_bytes()));
                    if !visit.enter(&child, depth + 1) {
                        return Vec::new();
                    }
                    match openat(
                        dir_fd,
                        name,
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                    ) {
                        Ok(child_fd) => walk_dir(child_fd, child, depth + 1, visit),
                        Err(e) => visit.error(&child, e).into_iter().collect(),
                    }
                }
                other => {
                    let entry = Entry {
                        dir_fd,
                        dir: path,
                        name,
                    };
                    visit.other(&entry, other).into_iter().collect()
                }
            }
        })
        .collect()
}

/// The entries of one directory, `.` and `..` left out: names back to back,
/// each NUL-terminated, and per entry the offset of its name and its
/// `d_type`.
struct Listing {
    names: Vec<u8>,
    entries: Vec<(usize, u8)>,
}

thread_local! {
    /// The `getdents64` buffer, one per thread: directories are many.
    static DENTS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `getdents64` until the end of the directory.
fn list(fd: BorrowedFd<'_>) -> io::Result<Listing> {
    DENTS.with_borrow_mut(|buf| {
        if buf.is_empty() {
            buf.resize(32 * 1024, 0);
        }
        list_into(fd, buf)
    })
}

fn list_into(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Listing> {
    // Offsets in a `struct linux_dirent64`.
    const RECLEN: usize = 16;
    const TYPE: usize = 18;
    const NAME: usize = 19;
    let mut out = Listing {
        names: Vec::new(),
        entries: Vec::new(),
    };
    loop {
        // SAFETY: the buffer is valid for writes of its length; the kernel
        // writes at most that many bytes and returns how many.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let Some(filled) = usize::try_from(n).ok().and_then(|n| buf.get(..n)) else {
            return Err(io::Error::other("getdents64 overran its buffer"));
        };
        if filled.is_empty() {
            return Ok(out);
        }
        let mut at = 0usize;
        while let Some(rec) = filled.get(at..) {
            let (Some(&[lo, hi]), Some(&kind)) = (rec.get(RECLEN..RECLEN + 2), rec.get(TYPE))
            else {
                break;
            };
            let reclen = usize::from(u16::from_ne_bytes([lo, hi]));
            let Some(name) = rec.get(NAME..reclen.max(NAME)) else {
                break;
            };
            if reclen == 0 {
                break;
            }
            at += reclen;
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            if name.is_empty() || name == b"." || name == b".." {
                continue;
            }
            out.entries.push((out.names.len(), kind));
            out.names.extend_from_slice(name);
            out.names.push(0);
        }
    }
}

/// `d_type` from `fstatat(AT_SYMLINK_NOFOLLOW)`, for file systems whose
/// `getdents64` leaves it `DT_UNKNOWN`.
fn lstat_kind(dir: BorrowedFd<'_>, name: &CStr) -> u8 {
    // SAFETY: an all-zero `stat` is a valid value for the kernel to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `st` is a valid out pointer.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return libc::DT_UNKNOWN;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFSOCK => libc::DT_SOCK,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        _ => libc::DT_UNKNOWN,
    }
}

fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    loop {
        // SAFETY: `name` is NUL-terminated; the flags open nothing that
        // needs a mode.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
        if fd >= 0 {
            // SAFETY: a fresh descriptor owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn open_path(path: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // AT_FDCWD is ignored for an absolute path; the host root is absolute.
    // SAFETY: AT_FDCWD is always a valid "directory" for openat.
    openat(unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) }, &c, flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::sync::Mutex;

    struct Collect(Mutex<usize>);
    impl Visit for Collect {
        type Out = String;
        fn enter(&self, path: &Path, depth: usize) -> bool {
            !(depth == 1 && path == Path::new("/skip"))
        }
        fn file(&self, e: &Entry<'_>) -> Option<String> {
            *self.0.lock().unwrap() += 1;
            e.open().unwrap();
            Some(e.path().display().to_string())
        }
        fn error(&self, path: &Path, error: io::Error) -> Option<String> {
            Some(format!("error {}: {error}", path.display()))
        }
    }

    fn walkdir_order(root: &Path, start: &Path) -> Vec<String> {
        walkdir::WalkDir::new(root.join(start.strip_prefix("/").unwrap()))
            .into_iter()
            .filter_entry(|e| e.path() != root.join("skip"))
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                format!(
                    "/{}",
                    e.path().strip_prefix(root).unwrap().to_str().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn same_files_in_the_same_order_as_a_serial_walk() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for d in 0..30 {
            let sub = r.join(format!("d{d}/e{}", d % 4));
            fs::create_dir_all(&sub).unwrap();
            for f in 0..(d * 3) {
                fs::write(sub.join(format!("f{f}")), b"x").unwrap();
                fs::write(r.join(format!("d{d}/g{f}")), b"x").unwrap();
            }
        }
        fs::create_dir_all(r.join("skip")).unwrap();
        fs::write(r.join("skip/hidden"), b"x").unwrap();
        fs::write(r.join("top"), b"x").unwrap();
        symlink("d1", r.join("link-to-dir")).unwrap();
        symlink("top", r.join("link-to-file")).unwrap();
        let v = Collect(Mutex::new(0));
        let got = walk(r, Path::new("/"), &v);
        let want = walkdir_order(r, Path::new("/"));
        assert_eq!(got, want);
        assert_eq!(*v.0.lock().unwrap(), want.len());
        assert!(!got.iter().any(|p| p.contains("skip") || p.contains("link")));
        // A start below the root, and a start that is a file.
        assert_eq!(
            walk(r, Path::new("/d7"), &v),
            walkdir_order(r, Path::new("/d7"))
        );
        assert_eq!(walk(r, Path::new("/top"), &v), vec!["/top".to_string()]);
        assert!(walk(r, Path::new("/link-to-dir"), &v).is_empty());
    }

    #[test]
    fn unreadable_directory_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        // A directory turned into something else between listing and
        // opening behaves like a missing start here.
        let got = walk(r, Path::new("/missing"), &Collect(Mutex::new(0)));
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("error /missing"), "{got:?}");
    }
}
