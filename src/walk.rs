//! A parallel walk of a directory tree by directory descriptors.
//!
//! Each directory is opened relative to its parent's descriptor
//! (`openat(parent, name, O_DIRECTORY | O_NOFOLLOW)`) and listed with
//! `getdents64`, whose `d_type` tells files from directories without a
//! `stat`; the caller opens files relative to the same descriptor. So the
//! kernel never walks a long host path again, and nothing that became a
//! symlink since it was listed is followed. The results come back in the
//! order of a serial depth-first walk in directory order (what `walkdir`
//! gives), whatever the thread scheduling.
//!
//! Opening files is most of a scan's cost, and on Linux every open and close
//! of a multi-threaded process takes the lock of the descriptor table it
//! shares, and every `pread` takes a reference on the file. So the walk runs
//! on its own threads, each with a private descriptor table
//! (`unshare(CLONE_FILES)`): measured on the builder root of the tests,
//! opening and reading 18k files on two threads takes 16 % less time. A
//! descriptor is then only good on the thread that opened it, so a task
//! that runs elsewhere than where its directory was listed opens the
//! directory again, from the root and beneath it (`openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, or one component at a time).

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

/// Top-level directories that hold pseudo filesystems on a live system
/// (and device nodes in an image): never objects, never walked — not by a
/// scan, not by the search for Python installations.
pub const PSEUDO_TOP: &[&str] = &["proc", "sys", "dev"];

/// Files of one directory visited by one task: enough that opening the
/// directory again, when the task is stolen by another thread, costs little
/// per file, small enough that a large directory still spreads over cores.
const CHUNK: usize = 64;

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
    /// controlling terminal, and without updating its access time where the
    /// kernel lets us (the root is input: reading it changes nothing).
    pub fn open(&self) -> io::Result<File> {
        openat(
            self.dir_fd,
            self.name,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
        )
        .map(File::from)
    }

    /// `fstatat` of the entry itself (a symlink is not followed): its
    /// permission bits and size, without opening it.
    pub fn lstat(&self) -> io::Result<libc::stat> {
        lstat(self.dir_fd, self.name)
    }

    /// The text of the entry when it is a symlink (`readlinkat`).
    pub fn read_link(&self) -> io::Result<PathBuf> {
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: `name` is NUL-terminated; `buf` is valid for its length.
        let n = unsafe {
            libc::readlinkat(
                self.dir_fd.as_raw_fd(),
                self.name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        buf.truncate(n);
        Ok(PathBuf::from(OsStr::from_bytes(&buf)))
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
    /// `files` more regular files were visited (called once per batch, so
    /// counting costs nothing per file).
    fn visited(&self, _files: usize) {}
    /// A directory that could not be opened or listed.
    fn error(&self, path: &Path, error: io::Error) -> Option<Self::Out>;
}

/// Walk each of `starts` (canonical, symlink-free paths inside the root at
/// `host_root`) in turn: a directory is walked, a regular file is visited,
/// anything else is ignored. The outcomes of all starts, in order.
pub fn walk<V: Visit>(host_root: &Path, starts: &[PathBuf], visit: &V) -> Vec<V::Out> {
    walk_on(Threads::Own, host_root, starts, visit)
}

/// [`walk`] on the caller's threads (the pool it runs on), sharing their
/// descriptor table: for walks of a few directories, where starting the
/// walk's own threads costs more than their private tables save. On two
/// busy cores, two new threads waited up to 8 ms for a turn to walk one
/// empty directory.
pub fn walk_small<V: Visit>(host_root: &Path, starts: &[PathBuf], visit: &V) -> Vec<V::Out> {
    walk_on(Threads::Caller, host_root, starts, visit)
}

enum Threads {
    /// A pool of the walk's own, each thread with a private descriptor
    /// table.
    Own,
    /// Whatever pool the caller is on.
    Caller,
}

fn walk_on<V: Visit>(
    threads: Threads,
    host_root: &Path,
    starts: &[PathBuf],
    visit: &V,
) -> Vec<V::Out> {
    let root = match open_path(host_root, DIR_FLAGS) {
        Ok(fd) => fd,
        Err(e) => {
            return starts
                .iter()
                .filter_map(|s| visit.error(s, io::Error::new(e.kind(), e.to_string())))
                .collect();
        }
    };
    let walk = Walk {
        root: root.as_fd(),
        visit,
    };
    // The pool's threads copy the descriptor table as it is now (the root
    // open) and keep their own from then on. If the pool cannot be built,
    // the walk runs on whatever pool the caller is on, sharing its table:
    // slower, not wrong.
    let run = || -> Vec<V::Out> { starts.iter().flat_map(|s| walk.start(s)).collect() };
    if let Threads::Caller = threads {
        return run();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("ldslim-walk-{i}"))
        .start_handler(|_| private_descriptor_table())
        .build();
    match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}

/// Give the calling thread its own copy of the descriptor table. A failure
/// (a seccomp filter, say) leaves the table shared, which is only slower.
fn private_descriptor_table() {
    // SAFETY: unshare takes no pointers; CLONE_FILES only copies the
    // calling thread's descriptor table.
    let _ = unsafe { libc::unshare(libc::CLONE_FILES) };
}

const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;

struct Walk<'a, V> {
    /// The root, open (on every walk thread: opened before they started).
    root: BorrowedFd<'a>,
    visit: &'a V,
}

/// A run of a directory's listing given to one task.
enum Item {
    /// Non-directories, by index in the listing.
    Files(Range<usize>),
    /// A subdirectory, by index in the listing.
    Dir(usize),
}

impl<V: Visit> Walk<'_, V> {
    fn start(&self, start: &Path) -> Vec<V::Out> {
        let visit = self.visit;
        let rel = start.strip_prefix("/").unwrap_or(start);
        let rel_bytes = rel.as_os_str().as_bytes();
        let meta = match lstat_beneath(self.root, rel_bytes) {
            Ok(m) => m,
            Err(e) => return visit.error(start, e).into_iter().collect(),
        };
        match meta {
            libc::DT_DIR => {
                if !visit.enter(start, 0) {
                    return Vec::new();
                }
                match open_beneath(self.root, rel_bytes) {
                    Ok(fd) => self.dir(fd, start.to_path_buf(), rel_bytes.to_vec(), 0),
                    Err(e) => visit.error(start, e).into_iter().collect(),
                }
            }
            libc::DT_REG => {
                let (Some(name), Some(parent)) = (rel.file_name(), start.parent()) else {
                    return Vec::new();
                };
                let Ok(name) = CString::new(name.as_bytes()) else {
                    return Vec::new();
                };
                let parent_rel = parent.strip_prefix("/").unwrap_or(parent);
                let fd = match open_beneath(self.root, parent_rel.as_os_str().as_bytes()) {
                    Ok(fd) => fd,
                    Err(e) => return visit.error(start, e).into_iter().collect(),
                };
                let entry = Entry {
                    dir_fd: fd.as_fd(),
                    dir: parent,
                    name: &name,
                };
                let out = visit.file(&entry);
                visit.visited(1);
                out.into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// Walk the directory open as `fd` (on this thread), whose path inside
    /// the root is `path` and relative to the root's descriptor `rel`.
    fn dir(&self, fd: OwnedFd, path: PathBuf, rel: Vec<u8>, depth: usize) -> Vec<V::Out> {
        let visit = self.visit;
        let listing = match list(fd.as_fd()) {
            Ok(l) => l,
            Err(e) => return visit.error(&path, e).into_iter().collect(),
        };
        let owner = rayon::current_thread_index();
        let items = listing.items();
        let path = path.as_path();
        items
            .par_iter()
            .flat_map_iter(|item| {
                // The listing's descriptor is good on the thread that opened
                // it; a task stolen by another thread opens its own.
                let reopened;
                let dir_fd = if rayon::current_thread_index() == owner {
                    fd.as_fd()
                } else {
                    match open_beneath(self.root, &rel) {
                        Ok(f) => {
                            reopened = f;
                            reopened.as_fd()
                        }
                        Err(e) => return visit.error(path, e).into_iter().collect(),
                    }
                };
                match *item {
                    Item::Files(ref range) => self.files(&listing, range.clone(), dir_fd, path),
                    Item::Dir(i) => self.subdir(&listing, i, dir_fd, path, &rel, depth),
                }
            })
            .collect()
    }

    fn files(
        &self,
        listing: &Listing,
        range: Range<usize>,
        dir_fd: BorrowedFd<'_>,
        path: &Path,
    ) -> Vec<V::Out> {
        let mut out = Vec::new();
        let mut regular = 0usize;
        for (name, kind) in range.filter_map(|i| listing.entry(i)) {
            // `list` already asked `lstat` for what `getdents64` left
            // unknown; what is still unknown could not be told.
            let entry = Entry {
                dir_fd,
                dir: path,
                name,
            };
            let got = if kind == libc::DT_REG {
                regular += 1;
                self.visit.file(&entry)
            } else {
                self.visit.other(&entry, kind)
            };
            out.extend(got);
        }
        self.visit.visited(regular);
        out
    }

    fn subdir(
        &self,
        listing: &Listing,
        i: usize,
        dir_fd: BorrowedFd<'_>,
        path: &Path,
        rel: &[u8],
        depth: usize,
    ) -> Vec<V::Out> {
        let visit = self.visit;
        let Some((name, _)) = listing.entry(i) else {
            return Vec::new();
        };
        let child = path.join(OsStr::from_bytes(name.to_bytes()));
        if !visit.enter(&child, depth + 1) {
            return Vec::new();
        }
        match openat(dir_fd, name, DIR_FLAGS) {
            Ok(child_fd) => {
                let mut child_rel = Vec::with_capacity(rel.len() + 1 + name.to_bytes().len());
                child_rel.extend_from_slice(rel);
                if !rel.is_empty() {
                    child_rel.push(b'/');
                }
                child_rel.extend_from_slice(name.to_bytes());
                self.dir(child_fd, child, child_rel, depth + 1)
            }
            Err(e) => visit.error(&child, e).into_iter().collect(),
        }
    }
}

/// The entries of one directory, `.` and `..` left out: names back to back,
/// each NUL-terminated, and per entry the offset of its name and its
/// `d_type` (asked of `lstat` where the file system leaves it
/// `DT_UNKNOWN`; still `DT_UNKNOWN` when even that failed).
struct Listing {
    names: Vec<u8>,
    entries: Vec<(usize, u8)>,
}

impl Listing {
    fn entry(&self, i: usize) -> Option<(&CStr, u8)> {
        let &(start, kind) = self.entries.get(i)?;
        let name = CStr::from_bytes_until_nul(self.names.get(start..)?).ok()?;
        Some((name, kind))
    }

    /// The listing cut into tasks, in directory order: each subdirectory
    /// alone, the other entries in runs of at most [`CHUNK`].
    fn items(&self) -> Vec<Item> {
        let mut items = Vec::new();
        let mut run: Option<Range<usize>> = None;
        for (i, &(_, kind)) in self.entries.iter().enumerate() {
            if kind == libc::DT_DIR {
                items.extend(run.take().map(Item::Files));
                items.push(Item::Dir(i));
                continue;
            }
            match &mut run {
                Some(r) if r.len() < CHUNK => r.end = i + 1,
                _ => {
                    items.extend(run.take().map(Item::Files));
                    run = Some(i..i + 1);
                }
            }
        }
        items.extend(run.map(Item::Files));
        items
    }
}

thread_local! {
    /// The `getdents64` buffer, one per thread: directories are many.
    static DENTS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `getdents64` until the end of the directory; entries whose type the file
/// system leaves `DT_UNKNOWN` are asked with `lstat`.
fn list(fd: BorrowedFd<'_>) -> io::Result<Listing> {
    let mut listing = DENTS.with_borrow_mut(|buf| {
        if buf.is_empty() {
            buf.resize(32 * 1024, 0);
        }
        list_into(fd, buf)
    })?;
    for i in 0..listing.entries.len() {
        if listing.entries[i].1 == libc::DT_UNKNOWN {
            let kind = listing
                .entry(i)
                .map_or(libc::DT_UNKNOWN, |(name, _)| lstat_kind(fd, name));
            listing.entries[i].1 = kind;
        }
    }
    Ok(listing)
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
    lstat_type(dir, name).unwrap_or(libc::DT_UNKNOWN)
}

fn lstat_type(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<u8> {
    let st = lstat(dir, name)?;
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFSOCK => libc::DT_SOCK,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        _ => libc::DT_UNKNOWN,
    })
}

fn lstat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
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
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// The type of `rel` (relative to the root's descriptor, no symlink
/// followed on the way nor at the end).
fn lstat_beneath(root: BorrowedFd<'_>, rel: &[u8]) -> io::Result<u8> {
    let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
        None if rel.is_empty() => return Ok(libc::DT_DIR),
        None => (&b""[..], rel),
        Some(i) => (&rel[..i], &rel[i + 1..]),
    };
    let dir = open_beneath(root, parent)?;
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    lstat_type(dir.as_fd(), &name)
}

/// Whether `openat2` is there to use (not on kernels before 5.6, nor under
/// some seccomp filters).
static OPENAT2: AtomicBool = AtomicBool::new(true);

/// Open the directory `rel` (relative to the root's descriptor, no `..`)
/// without following any symlink and without leaving the root: one
/// `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, or one `openat` per
/// component where that is not available or the path is too long for it.
fn open_beneath(root: BorrowedFd<'_>, rel: &[u8]) -> io::Result<OwnedFd> {
    if rel.is_empty() {
        return openat(root, c".", DIR_FLAGS);
    }
    // Paths here come from listings: a `..` is never one, and would make
    // the result depend on more than the names given.
    if rel.split(|&b| b == b'/').any(|p| p == b"..") {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    if OPENAT2.load(Ordering::Relaxed) && rel.len() < libc::PATH_MAX as usize {
        let c = CString::new(rel).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: an all-zero `open_how` is valid; the fields are set below.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (DIR_FLAGS | libc::O_CLOEXEC) as u64;
        how.resolve =
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
        loop {
            // SAFETY: `c` is NUL-terminated, `how` lives across the call and
            // its size is passed.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    root.as_raw_fd(),
                    c.as_ptr(),
                    &how as *const libc::open_how,
                    std::mem::size_of::<libc::open_how>(),
                )
            };
            if fd >= 0 {
                let fd = libc::c_int::try_from(fd)
                    .map_err(|_| io::Error::other("openat2 returned no descriptor"))?;
                // SAFETY: a fresh descriptor owned by nobody else.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOSYS | libc::EPERM | libc::EINVAL) => {
                    OPENAT2.store(false, Ordering::Relaxed);
                    break;
                }
                Some(libc::ENAMETOOLONG) => break,
                _ => return Err(e),
            }
        }
    }
    let mut dir: Option<OwnedFd> = None;
    for part in rel.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
        let name = CString::new(part).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let at = dir.as_ref().map_or(root, |d| d.as_fd());
        dir = Some(openat(at, &name, DIR_FLAGS)?);
    }
    match dir {
        Some(d) => Ok(d),
        None => openat(root, c".", DIR_FLAGS),
    }
}

/// Whether opens still ask for `O_NOATIME`: the kernel refuses it (`EPERM`)
/// on files the caller does not own, without `CAP_FOWNER`; then every open
/// goes without it.
static NOATIME: AtomicBool = AtomicBool::new(true);

/// `f(extra_flags)` with `O_NOATIME` among the flags while the kernel allows
/// it, so that scanning never changes the root's access times.
pub(crate) fn without_atime<T>(f: impl Fn(libc::c_int) -> io::Result<T>) -> io::Result<T> {
    if NOATIME.load(Ordering::Relaxed) {
        match f(libc::O_NOATIME) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                NOATIME.store(false, Ordering::Relaxed);
            }
            got => return got,
        }
    }
    f(0)
}

fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    without_atime(|extra| {
        loop {
            // SAFETY: `name` is NUL-terminated; the flags open nothing that
            // needs a mode.
            let fd = unsafe {
                libc::openat(
                    dir.as_raw_fd(),
                    name.as_ptr(),
                    flags | extra | libc::O_CLOEXEC,
                )
            };
            if fd >= 0 {
                // SAFETY: a fresh descriptor owned by nobody else.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    })
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
    use std::os::unix::fs::{MetadataExt, symlink};
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
        let got = walk(r, &[PathBuf::from("/")], &v);
        let want = walkdir_order(r, Path::new("/"));
        assert_eq!(got, want);
        assert_eq!(*v.0.lock().unwrap(), want.len());
        assert!(!got.iter().any(|p| p.contains("skip") || p.contains("link")));
        // A start below the root, and a start that is a file.
        assert_eq!(
            walk(r, &[PathBuf::from("/d7")], &v),
            walkdir_order(r, Path::new("/d7"))
        );
        assert_eq!(
            walk(r, &[PathBuf::from("/top")], &v),
            vec!["/top".to_string()]
        );
        assert!(walk(r, &[PathBuf::from("/link-to-dir")], &v).is_empty());
    }

    #[test]
    fn unreadable_directory_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        // A directory turned into something else between listing and
        // opening behaves like a missing start here.
        let got = walk(r, &[PathBuf::from("/missing")], &Collect(Mutex::new(0)));
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("error /missing"), "{got:?}");
    }

    fn open_fds() -> usize {
        fs::read_dir("/proc/self/fd").unwrap().count()
    }

    /// Per walk thread, the fewest and most descriptors its own table held
    /// at any file visited (walk threads do not share the caller's table,
    /// so a descriptor leaked there is only seen there).
    struct CountFds(Mutex<std::collections::HashMap<std::thread::ThreadId, (usize, usize)>>);
    impl Visit for CountFds {
        type Out = ();
        fn file(&self, e: &Entry<'_>) -> Option<()> {
            // A visitor that opens each file and closes it, as a scan does.
            drop(e.open().unwrap());
            let n = fs::read_dir("/proc/thread-self/fd").unwrap().count();
            let mut seen = self.0.lock().unwrap();
            let m = seen.entry(std::thread::current().id()).or_insert((n, n));
            *m = (m.0.min(n), m.1.max(n));
            Some(())
        }
        fn error(&self, path: &Path, error: io::Error) -> Option<()> {
            panic!("{}: {error}", path.display())
        }
    }

    #[test]
    fn leaves_no_descriptor_open() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        // Many directories, so that leaking one descriptor per directory
        // shows as clearly as leaking one per file.
        for d in 0..200 {
            fs::create_dir_all(r.join(format!("d{d}/e"))).unwrap();
            for f in 0..15 {
                fs::write(r.join(format!("d{d}/e/f{f}")), b"x").unwrap();
            }
        }
        let before = open_fds();
        let v = CountFds(Mutex::new(Default::default()));
        let got = walk(r, &[PathBuf::from("/"), PathBuf::from("/d3")], &v);
        assert_eq!(got.len(), 200 * 15 + 15);
        // On each walk thread, only the directories being walked (a few
        // levels, plus those reopened by stolen tasks) are ever open.
        let seen = v.0.into_inner().unwrap();
        assert!(!seen.is_empty());
        for (thread, (least, most)) in &seen {
            assert!(
                most - least <= 16,
                "{thread:?} held {least} to {most} descriptors during the walk"
            );
        }
        // And the calling thread gets back every descriptor it lent.
        assert_eq!(open_fds(), before);
    }

    #[test]
    fn opening_beneath_the_root_never_follows_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("a/b/c")).unwrap();
        symlink("/", r.join("a/up")).unwrap();
        symlink("b", r.join("a/sideways")).unwrap();
        let root = open_path(r, DIR_FLAGS).unwrap();
        let root = root.as_fd();
        let same = |a: &OwnedFd, p: &Path| {
            let m = fs::metadata(format!("/proc/self/fd/{}", a.as_raw_fd())).unwrap();
            let n = fs::metadata(p).unwrap();
            (m.dev(), m.ino()) == (n.dev(), n.ino())
        };
        let check = || {
            assert!(same(
                &open_beneath(root, b"a/b/c").unwrap(),
                &r.join("a/b/c")
            ));
            assert!(same(&open_beneath(root, b"").unwrap(), r));
            for bad in [
                &b"a/up"[..],
                b"a/up/etc",
                b"a/sideways/c",
                b"a/../a",
                b"a/b/nope",
            ] {
                assert!(
                    open_beneath(root, bad).is_err(),
                    "{}",
                    String::from_utf8_lossy(bad)
                );
            }
        };
        check();
        // The same answers one component at a time, as without openat2.
        let had = OPENAT2.swap(false, Ordering::Relaxed);
        check();
        OPENAT2.store(had, Ordering::Relaxed);
    }

    #[test]
    fn a_directory_deeper_than_path_max_is_opened_by_components() {
        let dir = tempfile::tempdir().unwrap();
        let name = CString::new("d".repeat(200)).unwrap();
        let mut rel = Vec::new();
        // Made one level at a time, relative to the level above: the full
        // path is too long for mkdir.
        let mut at = open_path(dir.path(), DIR_FLAGS).unwrap();
        for _ in 0..30 {
            // SAFETY: a valid directory descriptor and a NUL-terminated name.
            assert_eq!(
                unsafe { libc::mkdirat(at.as_raw_fd(), name.as_ptr(), 0o755) },
                0
            );
            at = openat(at.as_fd(), &name, DIR_FLAGS).unwrap();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name.to_bytes());
        }
        assert!(rel.len() > libc::PATH_MAX as usize);
        let root = open_path(dir.path(), DIR_FLAGS).unwrap();
        let deep = open_beneath(root.as_fd(), &rel).unwrap();
        let (a, b) = (
            fs::metadata(format!("/proc/self/fd/{}", deep.as_raw_fd())).unwrap(),
            fs::metadata(format!("/proc/self/fd/{}", at.as_raw_fd())).unwrap(),
        );
        assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));
    }

    #[test]
    fn reading_a_file_leaves_its_access_time_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"\x7fELF and more").unwrap();
        // Two days old: under relatime a read would move it to now.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86400);
        let f = fs::File::options().write(true).open(&file).unwrap();
        f.set_times(fs::FileTimes::new().set_accessed(old).set_modified(old))
            .unwrap();
        drop(f);
        let v = Collect(Mutex::new(0));
        walk(dir.path(), &[PathBuf::from("/")], &v);
        let mut buf = [0u8; 4];
        let dirfd = open_path(dir.path(), DIR_FLAGS).unwrap();
        let e = Entry {
            dir_fd: dirfd.as_fd(),
            dir: Path::new("/"),
            name: c"f",
        };
        std::os::unix::fs::FileExt::read_at(&e.open().unwrap(), &mut buf, 0).unwrap();
        assert_eq!(fs::metadata(&file).unwrap().accessed().unwrap(), old);
    }
}
