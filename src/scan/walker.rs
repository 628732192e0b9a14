//! The visit of each file by a scan's walk: which files are opened, how
//! much of each is read, and what an ELF file turns into (an entry resolved
//! on the spot, a skipped or mismatched object, a bad file).

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::listing::Listed;
use super::{Problem, Progress, SkipReason, Skipped};
use crate::copyset::CopyKind;
use crate::elf::consts::{ET_DYN, ET_EXEC};
use crate::elf::{ElfError, ElfFacts, SizedFile};
use crate::findings::strip_path;
use crate::graph::{EntryError, LoadOrder, Session};
use crate::objects::Facts;
use crate::rootfs::{FactsError, FileId};

/// What happened to one walked file.
pub(super) enum Outcome {
    NotElf,
    /// Python source that may load a library at run time.
    Python(String, String),
    Skipped(Skipped),
    Mismatched(Problem),
    Error(Problem),
    Loaded(Box<LoadOrder>),
}

/// One walked path: what it is for the layer (when the scan lists), and
/// what it is for the loader.
pub(super) struct Visited {
    /// The file or symlink as the layer copies it, or why it could not be
    /// listed.
    pub listed: Option<Result<Listed, Problem>>,
    pub outcome: Option<Outcome>,
}

/// The walk of a scan: every regular file is counted; most are opened
/// through a descriptor of their directory and their first four bytes read
/// (most files are not ELF and cost nothing more); the Python files no
/// loader maps are not opened at all (`never_mapped`).
pub(super) struct Walker<'a> {
    pub session: &'a Session,
    pub files: AtomicUsize,
    pub progress: &'a dyn Progress,
    /// Whether `.py` files are read for run-time loads.
    pub runtime: bool,
    /// Whether every file and symlink is listed for the layer (with its
    /// permission bits and size, or its link text).
    pub list: bool,
}

impl crate::walk::Visit for Walker<'_> {
    type Out = Visited;

    fn enter(&self, path: &Path, _depth: usize) -> bool {
        !is_pseudo(path)
    }

    fn visited(&self, files: usize) {
        self.files.fetch_add(files, Ordering::Relaxed);
        self.progress.files(files);
    }

    fn file(&self, entry: &crate::walk::Entry<'_>) -> Option<Visited> {
        let problem = |message: String| Problem {
            path: entry.path().to_string_lossy().into_owned(),
            message,
        };
        let source = self.runtime
            && entry.name.to_bytes().ends_with(b".py")
            && !in_tests_or_examples(entry.dir);
        if never_mapped(entry.dir, entry.name.to_bytes()) && !source {
            if !self.list {
                return None;
            }
            let listed = match entry.lstat() {
                Ok(st) => Ok(listed_file(entry, st.st_mode, st.st_size as u64)),
                Err(e) => Err(problem(e.to_string())),
            };
            return Some(Visited {
                listed: Some(listed),
                outcome: None,
            });
        }
        let file = match entry.open() {
            Ok(f) => f,
            Err(e) => {
                let p = problem(e.to_string());
                return Some(Visited {
                    listed: self.list.then(|| Err(p.clone())),
                    outcome: Some(Outcome::Error(p)),
                });
            }
        };
        // The listing's size and mode come from the open descriptor (no
        // second path lookup); so does an ELF file's identity.
        let meta = if self.list {
            match file.metadata() {
                Ok(m) => Some(m),
                Err(e) => {
                    let p = problem(e.to_string());
                    return Some(Visited {
                        listed: Some(Err(p.clone())),
                        outcome: Some(Outcome::Error(p)),
                    });
                }
            }
        } else {
            None
        };
        let listed = meta
            .as_ref()
            .map(|m| Ok(listed_file(entry, m.mode(), m.len())));
        let outcome = self.outcome(entry, file, meta, source);
        Some(Visited { listed, outcome })
    }

    fn other(&self, entry: &crate::walk::Entry<'_>, d_type: u8) -> Option<Visited> {
        if !self.list || d_type != libc::DT_LNK {
            return None;
        }
        let listed = match entry.read_link() {
            Ok(text) => Ok(Listed {
                path: entry.path().display().to_string(),
                kind: CopyKind::Symlink {
                    target: text.display().to_string(),
                },
            }),
            Err(e) => Err(Problem {
                path: entry.path().to_string_lossy().into_owned(),
                message: e.to_string(),
            }),
        };
        Some(Visited {
            listed: Some(listed),
            outcome: None,
        })
    }

    fn error(&self, path: &Path, error: std::io::Error) -> Option<Visited> {
        let p = Problem {
            path: path.to_string_lossy().into_owned(),
            message: error.to_string(),
        };
        Some(Visited {
            listed: self.list.then(|| Err(p.clone())),
            outcome: Some(Outcome::Error(p)),
        })
    }
}

impl Walker<'_> {
    /// What an open regular file is to the loader: its first bytes (or, for
    /// a `.py` read for run-time loads, all of them) say ELF or not.
    fn outcome(
        &self,
        entry: &crate::walk::Entry<'_>,
        file: File,
        meta: Option<std::fs::Metadata>,
        source: bool,
    ) -> Option<Outcome> {
        let problem = |message: String| {
            Some(Outcome::Error(Problem {
                path: entry.path().to_string_lossy().into_owned(),
                message,
            }))
        };
        if entry.dir.to_str().is_none() || entry.name.to_str().is_err() {
            // `path` is lossy; the message gives the exact bytes.
            return problem(format!(
                "file name is not valid UTF-8 ({:?}); not examined",
                entry.path().as_os_str()
            ));
        }
        if source {
            // Read whole, once, for its run-time loads; its first bytes say
            // ELF or not as well, which matters only in `bin`
            // (`never_mapped`).
            match python_source(&file, meta.as_ref().map(|m| m.len())) {
                Ok(Source::Python(text)) => {
                    return Some(Outcome::Python(
                        entry.path().to_string_lossy().into_owned(),
                        text,
                    ));
                }
                Ok(Source::Elf) if !never_mapped(entry.dir, entry.name.to_bytes()) => {}
                Ok(_) => return None,
                Err(e) => return problem(e.to_string()),
            }
        } else {
            let mut magic = [0u8; 4];
            match file.read_at(&mut magic, 0) {
                Ok(4) if magic == *b"\x7fELF" => {}
                Ok(_) => return None,
                Err(e) => return problem(e.to_string()),
            }
        }
        // Only ELF files pay for their identity, which memoises their facts.
        let meta = match meta.map_or_else(|| file.metadata(), Ok) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return None,
            Err(e) => return problem(e.to_string()),
        };
        let id = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        let inside = entry.path();
        let path = inside.to_string_lossy().into_owned();
        self.session
            .objects()
            .known_regular(&inside, id, meta.len());
        let facts = self.session.objects().facts_with(id, || {
            let file = SizedFile {
                file,
                size: meta.len(),
            };
            crate::elf::read_facts(&file).map_err(|source| FactsError::Elf {
                path: path.clone(),
                source,
            })
        });
        Some(examine(self.session, &path, &facts, self.progress))
    }
}

/// A regular file as the layer lists it.
fn listed_file(entry: &crate::walk::Entry<'_>, mode: u32, size: u64) -> Listed {
    Listed {
        path: entry.path().display().to_string(),
        kind: CopyKind::File {
            mode: mode & 0o7777,
            size,
        },
    }
}

/// Whether a file is one no loader maps and Python's import system never
/// maps, by its name alone, so that the walk need not open it
/// (docs/how-it-works.md, "Files never opened"): Python source, bytecode
/// and stub files (`.py`, `.pyc`, `.pyo`, `.pyi`) outside a `bin` or
/// `sbin` directory.
///
/// - CPython maps a file as an extension module only if its name ends in
///   one of `importlib.machinery.EXTENSION_SUFFIXES` (`.cpython-311-x86_64-
///   linux-gnu.so`, `.abi3.so`, `.so`); a `.py` is read as source, a `.pyc`
///   as bytecode (Python/import.c, Lib/importlib/_bootstrap_external.py).
/// - glibc maps a file at start-up or by `dlopen` only as the program
///   (`execve`) or under a name that a `DT_NEEDED`, `LD_PRELOAD` or
///   `dlopen` argument gives (elf/dl-load.c `_dl_map_object`); those names
///   are resolved by the loader rules, which open the file whatever its
///   name, and `dlopen("x.py")` by ctypes is a run-time load the scan reads
///   in the source that makes it.
/// - Programs are executed from `bin` and `sbin` directories (`PATH`, a
///   venv's `bin/`): there every file is opened, whatever its name.
fn never_mapped(dir: &Path, name: &[u8]) -> bool {
    const PYTHON: [&[u8]; 4] = [b".py", b".pyc", b".pyo", b".pyi"];
    PYTHON.iter().any(|s| name.ends_with(s))
        && !matches!(
            dir.file_name().and_then(|n| n.to_str()),
            Some("bin" | "sbin")
        )
}

/// Whether a directory is a package's tests, examples or documentation:
/// code an application does not import, so its run-time loads are not
/// the application's (numpy's `random/_examples` dlopen a relative path).
fn in_tests_or_examples(dir: &Path) -> bool {
    const NOT_RUN: &[&str] = &[
        "tests",
        "test",
        "testing",
        "examples",
        "_examples",
        "docs",
        "benchmarks",
    ];
    dir.components()
        .any(|c| NOT_RUN.iter().any(|n| c.as_os_str() == *n))
}

/// What a `.py` file turned out to be.
enum Source {
    /// A Python source that names `ctypes`, `cffi` or `dlopen`.
    Python(String),
    /// An ELF file with a `.py` name.
    Elf,
    /// Anything else (no such name, too large, not UTF-8).
    Other,
}

/// A `.py` file read whole (up to 8 MiB: no real module is larger) into a
/// buffer the thread keeps, so the thousands of sources of a scope cost
/// one `pread` each when their size is known (`size`: then a read that
/// reaches it ends there) and no allocation.
fn python_source(file: &File, size: Option<u64>) -> std::io::Result<Source> {
    const MAX_SOURCE: usize = 8 << 20;
    const FIRST: usize = 64 << 10;
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let size = size.map(|s| usize::try_from(s).unwrap_or(usize::MAX));
    if size.is_some_and(|s| s > MAX_SOURCE) {
        return Ok(Source::Other);
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        if let Some(s) = size
            && buf.len() <= s
        {
            // One byte more than the size: a file that grew is still read
            // to its end.
            buf.resize(s + 1, 0);
        }
        let mut got = 0;
        loop {
            if got == buf.len() {
                if buf.len() > MAX_SOURCE {
                    return Ok(Source::Other);
                }
                let bigger = buf.len() + buf.len().max(FIRST);
                buf.resize(bigger, 0);
            }
            match file.read_at(&mut buf[got..], got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if size == Some(got) {
                break;
            }
        }
        let bytes = &buf[..got];
        if bytes.starts_with(b"\x7fELF") {
            return Ok(Source::Elf);
        }
        if !crate::runtime::pysource::may_load(bytes) {
            return Ok(Source::Other);
        }
        Ok(std::str::from_utf8(bytes)
            .map(|t| Source::Python(t.to_string()))
            .unwrap_or(Source::Other))
    })
}

/// `/proc`, `/sys` and `/dev` of the root.
fn is_pseudo(inside: &Path) -> bool {
    let mut c = inside.components();
    matches!(
        (c.next(), c.next(), c.next()),
        (Some(std::path::Component::RootDir), Some(first), None)
            if crate::walk::PSEUDO_TOP.iter().any(|x| first.as_os_str() == *x)
    )
}

fn examine(session: &Session, path: &str, facts: &Facts, progress: &dyn Progress) -> Outcome {
    let problem = |message: String| Problem {
        path: path.to_string(),
        message,
    };
    let facts: &ElfFacts = match facts.as_ref() {
        Ok(f) => f,
        Err(FactsError::Elf {
            source: ElfError::NotElf,
            ..
        }) => return Outcome::NotElf,
        Err(e) => return Outcome::Error(problem(strip_path(&e.to_string(), path))),
    };
    let skipped = |reason| {
        Outcome::Skipped(Skipped {
            path: path.to_string(),
            reason,
        })
    };
    // The type first: an object file (`.o`) has no dynamic section either,
    // but calling it a static program would mislead.
    if facts.e_type != ET_EXEC && facts.e_type != ET_DYN {
        return skipped(SkipReason::NotLoadable(facts.e_type));
    }
    if !facts.dynamic {
        return skipped(SkipReason::Static);
    }
    progress.object(path);
    match session.load(path) {
        Ok(order) => Outcome::Loaded(Box::new(order)),
        Err(EntryError::IsLoader(_)) => skipped(SkipReason::Loader),
        Err(EntryError::NoLoader { interp, .. }) => {
            Outcome::Mismatched(problem(no_loader(facts, &interp)))
        }
        Err(e @ EntryError::NoAbi { .. }) => Outcome::Mismatched(problem(format!(
            "{}: no glibc system can load it",
            strip_path(&e.to_string(), path)
        ))),
        Err(e) => Outcome::Error(problem(strip_path(&e.to_string(), path))),
    }
}

/// Why an object whose loader the root lacks cannot load there, in words
/// that name the mismatch.
fn no_loader(facts: &ElfFacts, interp: &str) -> String {
    if interp.contains("ld-musl") {
        return format!(
            "built for musl libc (its loader {interp} is not in the root): a glibc system cannot load it; install the glibc build of its package (a manylinux wheel, not a musllinux one)"
        );
    }
    match crate::ldso::abi::Abi::for_object(facts) {
        Some(abi) => format!(
            "built for {}, and the root has no {} loader ({interp}): a file for another architecture than the root's (a wheel or package for another platform?)",
            abi.name, abi.name
        ),
        None => format!("the root has no loader {interp}"),
    }
}
