//! Understanding what the loader and CPython printed: [`parse`] finds every
//! shared-library failure in arbitrary text — one message, a traceback, or a
//! whole container log with timestamps, ANSI colours and CRLF line ends.
//!
//! What glibc 2.36 and CPython 3.11 really print (captured in
//! `testdata/explain/` by `scripts/capture-messages.sh`):
//!
//! - the interpreter does not start: `PROG: error while loading shared
//!   libraries: libz.so.1: cannot open shared object file: No such file or
//!   directory` (PROG is `argv[0]` as exec'd, e.g. `/usr/bin/python3` or
//!   `python3.11`; the object that needs the library is not named);
//! - a version the image's library lacks, at startup one line per missing
//!   version: ``PROG: /lib/x86_64-linux-gnu/libc.so.6: version
//!   `GLIBC_2.38' not found (required by /usr/bin/python3.13)``; through
//!   `dlopen` the same without `PROG: `; newer glibc quotes `'…'`;
//! - `dlopen` errors as CPython re-raises them (`ImportError: …` for an
//!   extension module, `OSError: …` for `ctypes.CDLL`): `NAME: cannot open
//!   shared object file: …` names only the library that was not found —
//!   neither the extension module that needed it nor its path;
//!   `OBJ: undefined symbol: SYM`, `OBJ: wrong ELF class: ELFCLASS32`, and
//!   the other `OBJ: MESSAGE` errors of `elf/dl-load.c`;
//! - CPython 3.11 adds no "(from module X)" hint: the module being imported
//!   is told only by the traceback — `File ".../numpy/core/overrides.py",
//!   line 8, in <module>` frames and their code lines (`from
//!   numpy.core._multiarray_umath import (`), or Cython's `in init
//!   scipy._lib._ccallback_c`;
//! - re-raises: numpy's "IMPORTANT: PLEASE READ THIS…" and then "you should
//!   not try to import numpy from its source directory", scipy's "The
//!   `scipy` install you are using seems to be broken" — the real cause is
//!   the first exception of the chain; [`Finding::final_error`] links it to
//!   the exception the chain ended with.
//!
//! Also recognised: musl's `Error loading shared library NAME: … (needed by
//! OBJ)` and `Error relocating OBJ: SYM: symbol not found`, `ldd`'s
//! `NAME => not found`, glibc's `symbol SYM version V not defined in file
//! LIB with link time reference`, and `ModuleNotFoundError`/`ImportError`
//! chains without any loader message (as [`Failure::Other`]).
//!
//! Paths are taken as printed, up to the previous `": "` and the last
//! whitespace (a path with a space in it is cut there). Lines longer than
//! 16 KiB are read up to that length.
//!
//! `lines` cleans each line (ANSI escapes, CR, container-log prefixes),
//! `traceback` reads tracebacks and their chains, `loader` and `packages`
//! recognise the messages of the loader and of packages, `imports` tells
//! the module a traceback was importing, and `answer` turns what was read
//! into findings.

mod answer;
mod imports;
mod lines;
mod loader;
mod packages;
mod traceback;

use serde::Serialize;

use lines::Line;

/// One failure the text tells about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub failure: Failure,
    /// The file that failed to load, as printed: the program for a library
    /// it cannot find at startup, the object whose symbol or version is
    /// missing, the file of the wrong class. `None` when the text does not
    /// name it (a `dlopen` error names only the missing library).
    pub object: Option<String>,
    /// The Python module being imported, when the text tells it (traceback
    /// frames and their import statements, `No module named 'X'`).
    pub module: Option<String>,
    /// 1-based line of the message in the text.
    pub line: usize,
    /// That line, without ANSI escapes and CR (at most 2 KiB).
    pub text: String,
    /// The exception the traceback chain ended with, when it is not this
    /// line: numpy's or scipy's re-raise that hides this cause.
    pub final_error: Option<FinalError>,
}

/// The last exception of a traceback chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FinalError {
    /// 1-based line of the exception.
    pub line: usize,
    /// The exception line (followed by its first message line when the
    /// exception line itself has no message, as numpy's `ImportError: `).
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Failure {
    /// A library the loader could not find (or open).
    MissingLibrary {
        library: String,
    },
    /// `library` (the path printed) lacks `version`, which `required_by` needs.
    MissingVersion {
        version: String,
        library: String,
        required_by: String,
    },
    UndefinedSymbol {
        symbol: String,
    },
    /// `ELFCLASS32` or `ELFCLASS64`.
    WrongClass {
        class: String,
    },
    /// A package looked for a library by name and found none, in its own
    /// words (`libpq library not found`, `Unable to find zbar shared
    /// library`, `failed to find libmagic`): most often
    /// `ctypes.util.find_library` returning `None`, which it always does in
    /// a distroless image (no `/sbin/ldconfig`). `library` is the name as
    /// `find_library` takes it (`pq`, `zbar`, `magic`).
    LibraryNotFound {
        library: String,
    },
    /// Any other loader error (`cannot enable executable stack …`, `invalid
    /// ELF header`, …) or an import failure without a loader message
    /// (`ModuleNotFoundError: No module named 'yaml'`).
    Other {
        message: String,
    },
}

/// Every loader or import failure in `text`, in order of first appearance,
/// each failure once.
pub fn parse(text: &str) -> Vec<Finding> {
    let lines: Vec<Line> = text.split('\n').map(Line::new).collect();
    let read = traceback::read(&lines);
    answer::findings(&lines, read)
}

#[cfg(test)]
mod tests;
