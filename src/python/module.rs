//! Which Python module an extension file is, and what an application
//! imports to load it, by the directory of `sys.path` it is in.

use std::path::Path;

use serde::Serialize;

use super::{Inventory, is_within};

/// The Python module an extension file is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Module {
    /// Dotted name: `_bz2`, `numpy.core._multiarray_umath`.
    pub name: String,
    /// What the user imports to load it: `bz2`, `numpy`.
    pub import: String,
}

/// CPython 3.11's shared-library stdlib modules (`Modules/Setup*`,
/// `setup.py`) and the public module that imports each, from `Lib/`: what
/// an application imports to load it. A module not listed is imported
/// under its own name (`mmap`, `readline`, `_testcapi`).
const STDLIB_IMPORTERS: &[(&str, &str)] = &[
    ("_asyncio", "asyncio"),
    ("_bisect", "bisect"),
    ("_blake2", "hashlib"),
    ("_bz2", "bz2"),
    // encodings.gb2312, .big5hkscs, .iso2022_jp, .shift_jis, .euc_kr, .big5
    ("_codecs_cn", "encodings"),
    ("_codecs_hk", "encodings"),
    ("_codecs_iso2022", "encodings"),
    ("_codecs_jp", "encodings"),
    ("_codecs_kr", "encodings"),
    ("_codecs_tw", "encodings"),
    ("_contextvars", "contextvars"),
    ("_crypt", "crypt"),
    ("_csv", "csv"),
    ("_ctypes", "ctypes"),
    ("_ctypes_test", "ctypes.test"),
    ("_curses", "curses"),
    ("_curses_panel", "curses.panel"),
    ("_datetime", "datetime"),
    // dbm/ndbm.py: `from _dbm import *`; dbm/gnu.py: `from _gdbm import *`.
    ("_dbm", "dbm.ndbm"),
    ("_decimal", "decimal"),
    ("_elementtree", "xml.etree.ElementTree"),
    ("_gdbm", "dbm.gnu"),
    ("_hashlib", "hashlib"),
    ("_heapq", "heapq"),
    ("_json", "json"),
    ("_lsprof", "cProfile"),
    ("_lzma", "lzma"),
    ("_md5", "hashlib"),
    ("_multibytecodec", "encodings"),
    ("_multiprocessing", "multiprocessing"),
    ("_opcode", "opcode"),
    ("_pickle", "pickle"),
    ("_posixshmem", "multiprocessing.shared_memory"),
    ("_posixsubprocess", "subprocess"),
    ("_queue", "queue"),
    ("_random", "random"),
    ("_sha1", "hashlib"),
    ("_sha256", "hashlib"),
    ("_sha3", "hashlib"),
    ("_sha512", "hashlib"),
    ("_socket", "socket"),
    ("_sqlite3", "sqlite3"),
    ("_ssl", "ssl"),
    ("_statistics", "statistics"),
    ("_struct", "struct"),
    ("_tkinter", "tkinter"),
    ("_typing", "typing"),
    ("_uuid", "uuid"),
    ("_zoneinfo", "zoneinfo"),
    ("pyexpat", "xml.parsers.expat"),
];

/// Which module the extension file `path` (canonical, in the root) is, by
/// the site directory, `lib-dynload` or stdlib it is in. None for files
/// outside every one of them, for files that are not extension modules
/// (`numpy.libs/libgfortran-….so.5`), and for names Python cannot import.
pub fn module_of(path: &str, inv: &Inventory) -> Option<Module> {
    let (comps, stdlib) = below_base(path, inv)?;
    let (file, dirs) = comps.split_last()?;
    // The module name is the file name up to its first dot; the rest must
    // be one of the suffixes the import system tries
    // (`importlib.machinery.EXTENSION_SUFFIXES`: `.cpython-311-x86_64-linux-gnu.so`,
    // `.abi3.so`, `.so`; PyPy's `.pypy310-pp73-x86_64-linux-gnu.so`).
    let (stem, suffix) = file.split_once('.')?;
    let tag = suffix.strip_suffix("so")?;
    let tag_ok = tag.is_empty()
        || tag.strip_suffix('.').is_some_and(|t| {
            !t.contains('.') && (t == "abi3" || t.starts_with("cpython-") || t.starts_with("pypy"))
        });
    if !tag_ok {
        return None;
    }
    let name = dotted_name(dirs, stem)?.name;
    let import = if stdlib {
        STDLIB_IMPORTERS
            .iter()
            .find(|(m, _)| *m == name)
            .map(|(_, i)| (*i).to_string())
            .unwrap_or_else(|| name.clone())
    } else {
        name.split('.').next().unwrap_or_default().to_string()
    };
    Some(Module { name, import })
}

/// What an application imports that reaches the file `path` (canonical, in
/// the root) of a site directory, the standard library or `lib-dynload`:
/// an extension module's import ([`module_of`]), else the top-level name
/// the file lies under (`psycopg` for `psycopg/pq/_pq_ctypes.py`, `uuid`
/// for the standard library's `uuid.py`). None outside them, and for a
/// top-level name Python cannot import (`numpy.libs`: what loads a
/// vendored library is what imports it).
pub fn import_of(path: &str, inv: &Inventory) -> Option<String> {
    if let Some(m) = module_of(path, inv) {
        return Some(m.import);
    }
    let (comps, _) = below_base(path, inv)?;
    let first = *comps.first()?;
    let name = if comps.len() == 1 {
        first.strip_suffix(".py")?
    } else {
        first
    };
    is_identifier(name).then(|| name.to_string())
}

/// The components of `path` below the deepest `sys.path` base holding it
/// (a site directory, the standard library, `lib-dynload`), and whether
/// that base is the standard library's. The deepest wins, so lib-dynload
/// beats the stdlib it is in, a venv's site-packages beats the venv.
fn below_base<'p>(path: &'p str, inv: &Inventory) -> Option<(Vec<&'p str>, bool)> {
    let mut bases: Vec<(&str, bool)> = Vec::new();
    for i in &inv.installations {
        bases.extend(i.lib_dynload.as_deref().map(|d| (d, true)));
        bases.extend(i.stdlib.as_deref().map(|d| (d, true)));
        bases.extend(i.site_dirs.iter().map(|s| (s.path.as_str(), false)));
    }
    bases.extend(
        inv.venvs
            .iter()
            .filter_map(|v| v.site_packages.as_deref().map(|d| (d, false))),
    );
    let (base, stdlib) = bases
        .into_iter()
        .filter(|(b, _)| is_within(path, b) && path.len() > b.len())
        .max_by_key(|(b, _)| Path::new(b).components().count())?;
    let rel = Path::new(path).strip_prefix(base).ok()?;
    let comps = rel
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()?;
    Some((comps, stdlib))
}

/// A module's name, from where its file lies below a `sys.path` entry.
pub(crate) struct DottedName {
    /// `numpy.core._multiarray_umath`, `pkg.sub`.
    pub name: String,
    /// The file is the package's `__init__`.
    pub is_package: bool,
}

/// The module in the file `stem` (its name up to the suffix) inside the
/// package directories `dirs`, relative to a `sys.path` entry. None when
/// a part is no identifier Python can import.
pub(crate) fn dotted_name(dirs: &[&str], stem: &str) -> Option<DottedName> {
    if !dirs.iter().chain([&stem]).all(|p| is_identifier(p)) {
        return None;
    }
    // A package's `__init__` is the package itself.
    let is_package = stem == "__init__" && !dirs.is_empty();
    let mut parts = dirs.to_vec();
    if !is_package {
        parts.push(stem);
    }
    Some(DottedName {
        name: parts.join("."),
        is_package,
    })
}

/// A Python identifier (`str.isidentifier`, close enough: Unicode letters
/// and digits, `_`, not starting with a digit).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::{Installation, SiteDir, SiteKind};

    fn inv_for_modules() -> Inventory {
        let site = |path: &str, kind: SiteKind| SiteDir {
            path: path.into(),
            kind,
        };
        Inventory {
            installations: vec![Installation {
                interpreter: "/usr/bin/python3.11".into(),
                names: vec![],
                version: "3.11".into(),
                prefix: "/usr".into(),
                libpython: vec![],
                stdlib: Some("/usr/lib/python3.11".into()),
                lib_dynload: Some("/usr/lib/python3.11/lib-dynload".into()),
                site_dirs: vec![
                    site("/usr/local/lib/python3.11/dist-packages", SiteKind::Local),
                    site(
                        "/app/.venv/lib/python3.11/site-packages",
                        SiteKind::Venv {
                            root: "/app/.venv".into(),
                        },
                    ),
                    site(
                        "/opt/extra",
                        SiteKind::Pth {
                            from: "/x.pth".into(),
                        },
                    ),
                ],
                links: vec![],
            }],
            venvs: vec![],
            problems: vec![],
        }
    }

    #[test]
    fn module_names() {
        let inv = inv_for_modules();
        let m = |p: &str| module_of(p, &inv).map(|m| (m.name, m.import));
        let some = |n: &str, i: &str| Some((n.to_string(), i.to_string()));
        let dynload = "/usr/lib/python3.11/lib-dynload";
        for (file, name, import) in [
            ("_bz2", "_bz2", "bz2"),
            ("_curses_panel", "_curses_panel", "curses.panel"),
            ("pyexpat", "pyexpat", "xml.parsers.expat"),
            (
                "_posixshmem",
                "_posixshmem",
                "multiprocessing.shared_memory",
            ),
            ("_gdbm", "_gdbm", "dbm.gnu"),
            ("readline", "readline", "readline"),
            ("zlib", "zlib", "zlib"),
        ] {
            assert_eq!(
                m(&format!("{dynload}/{file}.cpython-311-x86_64-linux-gnu.so")),
                some(name, import)
            );
        }
        let dp = "/usr/local/lib/python3.11/dist-packages";
        assert_eq!(
            m(&format!(
                "{dp}/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"
            )),
            some("numpy.core._multiarray_umath", "numpy")
        );
        assert_eq!(
            m(&format!("{dp}/cryptography/hazmat/bindings/_rust.abi3.so")),
            some("cryptography.hazmat.bindings._rust", "cryptography")
        );
        assert_eq!(
            m(&format!("{dp}/_cffi_backend.so")),
            some("_cffi_backend", "_cffi_backend")
        );
        assert_eq!(
            m(&format!(
                "{dp}/pkg/sub/__init__.cpython-311-x86_64-linux-gnu.so"
            )),
            some("pkg.sub", "pkg")
        );
        // A site module named like a private stdlib one is not the stdlib's.
        assert_eq!(m(&format!("{dp}/_bz2.so")), some("_bz2", "_bz2"));
        assert_eq!(
            m("/app/.venv/lib/python3.11/site-packages/yaml/_yaml.cpython-311-x86_64-linux-gnu.so"),
            some("yaml._yaml", "yaml")
        );
        assert_eq!(m("/opt/extra/fast.so"), some("fast", "fast"));
        // Vendored libraries, non-modules, outsiders.
        assert_eq!(
            m(&format!(
                "{dp}/numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so"
            )),
            None
        );
        assert_eq!(
            m(&format!("{dp}/numpy.libs/libgfortran-040039e1.so.5.0.0")),
            None
        );
        assert_eq!(m(&format!("{dp}/PIL/../x.so")), None);
        assert_eq!(m(&format!("{dp}/pkg-1.0/x.so")), None);
        assert_eq!(m(&format!("{dp}/pkg/mod.py")), None);
        assert_eq!(m(&format!("{dp}/pkg/.so")), None);
        assert_eq!(m(&format!("{dp}/pkg/x.so.1")), None);
        assert_eq!(m(&format!("{dp}/pkg/x.foo.so")), None);
        assert_eq!(m(&format!("{dp}/pkg/x.cpython-311.x86.so")), None);
        assert_eq!(m(&format!("{dp}/pkg/x.py.so")), None);
        assert_eq!(
            m(&format!("{dp}/pkg/x.pypy310-pp73-x86_64-linux-gnu.so")),
            some("pkg.x", "pkg")
        );
        assert_eq!(m(dp), None);
        assert_eq!(m("/usr/lib/x86_64-linux-gnu/libz.so"), None);
        assert_eq!(m("/usr/local/lib/python3.11/dist-packagesX/a.so"), None);
    }

    /// What is imported to reach any file: an extension module's import,
    /// else the top-level name it lies under.
    #[test]
    fn imports_of_files() {
        let inv = inv_for_modules();
        let i = |p: &str| import_of(p, &inv);
        let some = |s: &str| Some(s.to_string());
        let dp = "/usr/local/lib/python3.11/dist-packages";
        assert_eq!(
            i("/usr/lib/python3.11/lib-dynload/_tkinter.cpython-311-x86_64-linux-gnu.so"),
            some("tkinter")
        );
        assert_eq!(
            i(&format!("{dp}/psycopg/pq/_pq_ctypes.py")),
            some("psycopg")
        );
        assert_eq!(i(&format!("{dp}/six.py")), some("six"));
        assert_eq!(i("/usr/lib/python3.11/uuid.py"), some("uuid"));
        assert_eq!(i("/usr/lib/python3.11/ctypes/util.py"), some("ctypes"));
        assert_eq!(
            i("/app/.venv/lib/python3.11/site-packages/yaml/__init__.py"),
            some("yaml")
        );
        // A vendored library is reached by what loads it; not a name.
        assert_eq!(
            i(&format!("{dp}/numpy.libs/libgfortran-040039e1.so.5.0.0")),
            None
        );
        assert_eq!(i(&format!("{dp}/pkg-1.0.dist-info/RECORD")), None);
        assert_eq!(i("/usr/bin/python3.11"), None);
    }
}
