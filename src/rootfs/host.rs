//! A host directory seen as a root: every path ldslim handles is a path
//! *inside* a root filesystem, resolved the way the kernel would resolve it
//! after `chroot(ROOT)`. Symlinks, absolute or relative, are followed inside
//! the root; `..` never climbs above it; nothing of the host's `/` is
//! reached.
//!
//! Opening is done with `O_NOFOLLOW | O_NONBLOCK` on a path whose every
//! component was checked not to be a symlink, and only after `lstat` said it
//! is a regular file, so a FIFO named `libc.so.6` can never block a scan.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{FactsError, FileId, Kind, Node, Resolved, RootError, Stat, Tree};
use crate::elf::{self, ElfFacts, ReadAt, SizedFile};

/// A directory on the host, seen as the `/` of another system.
#[derive(Debug)]
pub struct Root {
    host: PathBuf,
}

impl Root {
    /// Open `dir` as a root. It must be a directory; it is canonicalised once
    /// so that later host paths never depend on the process's cwd.
    pub fn new(dir: &Path) -> Result<Root, RootError> {
        let host = fs::canonicalize(dir).map_err(|source| RootError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let meta = fs::metadata(&host).map_err(|source| RootError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(RootError::NotADirectory(dir.to_path_buf()));
        }
        Ok(Root { host })
    }

    /// The root's directory on the host.
    pub fn host_dir(&self) -> &Path {
        &self.host
    }

    /// True when the root is the running system itself.
    pub fn is_live(&self) -> bool {
        self.host == Path::new("/")
    }

    /// Host path of a path inside the root. Only meaningful for paths that
    /// came out of [`Root::resolve`] (or a walk of the root): it does no
    /// resolution of its own.
    pub fn host_path(&self, inside: &Path) -> PathBuf {
        let rel = inside.strip_prefix("/").unwrap_or(inside);
        if rel.as_os_str().is_empty() {
            self.host.clone()
        } else {
            self.host.join(rel)
        }
    }

    /// Resolve `path` inside the root like the kernel after `chroot`:
    /// `Ok(None)` when some component does not exist (or a non-directory is
    /// used as a directory), an error for loops and I/O failures.
    pub fn resolve(&self, path: &Path) -> Result<Option<Resolved>, RootError> {
        super::resolve(self, path)
    }

    /// Open a resolved regular file for reading without ever blocking or
    /// following a symlink swapped in since it was resolved.
    pub fn open(&self, resolved: &Resolved) -> Result<SizedFile, RootError> {
        if resolved.kind != Kind::Regular {
            return Err(RootError::NotRegular(resolved.path.clone()));
        }
        self.open_regular(&resolved.path).map(|(file, _)| file)
    }

    /// Open an already-canonical path found by walking the root.
    pub fn open_walked(&self, inside: &Path) -> Result<(SizedFile, FileId), RootError> {
        self.open_regular(inside)
    }

    /// `O_NOFOLLOW | O_NONBLOCK` open of a symlink-free path, then `fstat`:
    /// only a regular file is handed out, so nothing can block later reads.
    fn open_regular(&self, inside: &Path) -> Result<(SizedFile, FileId), RootError> {
        let file = self.open_raw(inside)?;
        self.stat_regular(inside, file)
    }

    fn open_raw(&self, inside: &Path) -> Result<File, RootError> {
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(self.host_path(inside))
            .map_err(|source| RootError::Io {
                path: inside.to_path_buf(),
                source,
            })
    }

    /// `fstat` an open file: only a regular file is handed out.
    fn stat_regular(&self, inside: &Path, file: File) -> Result<(SizedFile, FileId), RootError> {
        let io_err = |source| RootError::Io {
            path: inside.to_path_buf(),
            source,
        };
        let meta = file.metadata().map_err(io_err)?;
        if !meta.is_file() {
            return Err(RootError::NotRegular(inside.to_path_buf()));
        }
        let id = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        Ok((
            SizedFile {
                file,
                size: meta.len(),
            },
            id,
        ))
    }
}

impl Tree for Root {
    fn lstat(&self, path: &Path) -> Result<Option<Stat>, RootError> {
        let host = self.host_path(path);
        let meta = match fs::symlink_metadata(&host) {
            Ok(m) => m,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(source) => {
                return Err(RootError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let ft = meta.file_type();
        let node = if ft.is_symlink() {
            let target = fs::read_link(&host).map_err(|source| RootError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            Node::Symlink(target)
        } else if ft.is_file() {
            Node::Regular
        } else if ft.is_dir() {
            Node::Directory
        } else {
            Node::Special
        };
        Ok(Some(Stat {
            node,
            id: FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            },
            size: meta.len(),
            mode: meta.mode() & 0o7777,
        }))
    }

    fn facts(&self, file: &Resolved) -> Result<ElfFacts, FactsError> {
        let f = self.open(file)?;
        elf::read_facts(&f).map_err(|source| FactsError::Elf {
            path: file.path.display().to_string(),
            source,
        })
    }

    fn read(&self, file: &Resolved, max: u64) -> Result<Option<Vec<u8>>, RootError> {
        let f = self.open(file)?;
        if f.size > max {
            return Ok(None);
        }
        let len = usize::try_from(f.size).map_err(|_| RootError::NotRegular(file.path.clone()))?;
        let mut bytes = vec![0u8; len];
        f.file
            .read_exact_at(&mut bytes, 0)
            .map_err(|source| RootError::Io {
                path: file.path.clone(),
                source,
            })?;
        Ok(Some(bytes))
    }

    fn reader(&self, file: &Resolved) -> Result<Option<Box<dyn ReadAt + '_>>, RootError> {
        Ok(Some(Box::new(self.open(file)?)))
    }

    fn describe(&self) -> String {
        self.host.display().to_string()
    }
}

/// ENOENT and ENOTDIR both mean "no such file" to a path lookup.
fn is_absent(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR))
        || e.kind() == io::ErrorKind::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;

    fn root() -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        let r = Root::new(dir.path()).unwrap();
        (dir, r)
    }

    #[test]
    fn absolute_symlink_to_slash_stays_inside() {
        let (dir, r) = root();
        fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        fs::write(dir.path().join("usr/lib/libx.so"), b"x").unwrap();
        symlink("/", dir.path().join("usr/lib/up")).unwrap();
        let got = r
            .resolve(Path::new("/usr/lib/up/usr/lib/libx.so"))
            .unwrap()
            .unwrap();
        assert_eq!(got.path, Path::new("/usr/lib/libx.so"));
        // The host's /etc/passwd exists, the root's does not.
        assert!(
            r.resolve(Path::new("/usr/lib/up/etc/passwd"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn dotdot_never_climbs_above_root() {
        let (dir, r) = root();
        fs::create_dir_all(dir.path().join("a")).unwrap();
        symlink("../../../../..", dir.path().join("a/esc")).unwrap();
        let got = r.resolve(Path::new("/a/esc")).unwrap().unwrap();
        assert_eq!(got.path, Path::new("/"));
        let got = r.resolve(Path::new("/../../a")).unwrap().unwrap();
        assert_eq!(got.path, Path::new("/a"));
    }

    #[test]
    fn relative_symlink_and_physical_dotdot() {
        let (dir, r) = root();
        fs::create_dir_all(dir.path().join("usr/lib/x86_64-linux-gnu")).unwrap();
        fs::create_dir_all(dir.path().join("opt/app/bin")).unwrap();
        fs::write(
            dir.path().join("usr/lib/x86_64-linux-gnu/libz.so.1.2"),
            b"z",
        )
        .unwrap();
        symlink(
            "libz.so.1.2",
            dir.path().join("usr/lib/x86_64-linux-gnu/libz.so.1"),
        )
        .unwrap();
        symlink("usr/lib", dir.path().join("lib")).unwrap();
        // /opt/app/link -> /usr/lib/x86_64-linux-gnu ; link/.. is /usr/lib, not /opt/app
        symlink("/usr/lib/x86_64-linux-gnu", dir.path().join("opt/app/link")).unwrap();
        let got = r
            .resolve(Path::new("/lib/x86_64-linux-gnu/libz.so.1"))
            .unwrap()
            .unwrap();
        assert_eq!(got.path, Path::new("/usr/lib/x86_64-linux-gnu/libz.so.1.2"));
        assert_eq!(got.kind, Kind::Regular);
        let got = r
            .resolve(Path::new("/opt/app/link/../x86_64-linux-gnu"))
            .unwrap()
            .unwrap();
        assert_eq!(got.path, Path::new("/usr/lib/x86_64-linux-gnu"));
    }

    #[test]
    fn loops_name_the_chain() {
        let (dir, r) = root();
        symlink("b", dir.path().join("a")).unwrap();
        symlink("a", dir.path().join("b")).unwrap();
        symlink("self", dir.path().join("self")).unwrap();
        let err = r.resolve(Path::new("/a")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("too many levels"), "{text}");
        assert!(text.contains("/a -> /b -> /a"), "{text}");
        assert!(r.resolve(Path::new("/self")).is_err());
    }

    #[test]
    fn missing_and_not_a_directory_are_none() {
        let (dir, r) = root();
        fs::write(dir.path().join("file"), b"").unwrap();
        assert!(r.resolve(Path::new("/nope/x")).unwrap().is_none());
        assert!(r.resolve(Path::new("/file/x")).unwrap().is_none());
    }

    #[test]
    fn fifo_is_special_and_never_opened() {
        let (dir, r) = root();
        let p = dir.path().join("libfifo.so");
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let got = r.resolve(Path::new("/libfifo.so")).unwrap().unwrap();
        assert_eq!(got.kind, Kind::Special);
        assert!(matches!(r.open(&got), Err(RootError::NotRegular(_))));
        // Even when the caller skips the kind check, the open must not block.
        assert!(r.open_walked(Path::new("/libfifo.so")).is_err());
    }
}
