//! Each case is a load written the way a real package writes it.

use std::collections::HashMap;

use super::*;

fn calls(src: &str) -> Vec<LoadCall> {
    load_calls("/site/pkg/mod.py", src, &NoSources)
}

fn names(c: &LoadCall) -> Vec<String> {
    c.candidates
        .iter()
        .map(|c| match c {
            Candidate::Name(n) => n.clone(),
            Candidate::FoundBy(n) => format!("find_library({n})"),
            Candidate::Program => "None".into(),
        })
        .collect()
}

fn only(src: &str) -> (Via, Vec<String>, Option<String>) {
    let c = calls(src);
    assert_eq!(c.len(), 1, "{c:#?}");
    (c[0].via, names(&c[0]), c[0].unknown.clone())
}

#[test]
fn literal_sonames_through_every_ctypes_spelling() {
    for (src, via) in [
        (
            "import ctypes\nlib = ctypes.CDLL('libmagic.so.1')\n",
            Via::Ctypes,
        ),
        (
            "import ctypes\nlib = ctypes.cdll.LoadLibrary('libmagic.so.1')\n",
            Via::Ctypes,
        ),
        (
            "from ctypes import CDLL\nlib = CDLL('libmagic.so.1')\n",
            Via::Ctypes,
        ),
        (
            "from ctypes import cdll\nlib = cdll.LoadLibrary('libmagic.so.1')\n",
            Via::Ctypes,
        ),
        (
            "import ctypes as C\nlib = C.PyDLL('libmagic.so.1')\n",
            Via::Ctypes,
        ),
        (
            "import ctypes.util\np = ctypes.util.find_library('libmagic.so.1')\n",
            Via::FindLibrary,
        ),
    ] {
        assert_eq!(
            only(src),
            (via, vec!["libmagic.so.1".into()], None),
            "{src}"
        );
    }
}

#[test]
fn find_library_result_fed_to_cdll() {
    // opuslib: from ctypes.util import find_library; CDLL(find_library('opus'))
    let c = calls(
        "import ctypes\nfrom ctypes.util import find_library\n\
         lib_location = find_library('opus')\n\
         if lib_location is None:\n    raise Exception('Could not find Opus library')\n\
         libopus = ctypes.CDLL(lib_location)\n",
    );
    assert_eq!(c.len(), 2, "{c:#?}");
    assert_eq!((c[0].line, c[0].via), (3, Via::FindLibrary));
    assert_eq!(names(&c[0]), ["opus"]);
    assert_eq!((c[1].line, c[1].via), (6, Via::Ctypes));
    assert_eq!(names(&c[1]), ["find_library(opus)"]);
    assert_eq!(c[1].text, "ctypes.CDLL(lib_location)");
}

#[test]
fn either_find_library_result() {
    // pysodium
    let c = calls(
        "import ctypes, ctypes.util\n\
         sodium = ctypes.cdll.LoadLibrary(ctypes.util.find_library('sodium') or ctypes.util.find_library('libsodium'))\n",
    );
    let finds: Vec<Vec<String>> = c
        .iter()
        .filter(|c| c.via == Via::FindLibrary)
        .map(names)
        .collect();
    assert_eq!(
        finds,
        [vec!["libsodium".to_string()], vec!["sodium".to_string()]]
    );
    let load = c.iter().find(|c| c.via == Via::Ctypes).unwrap();
    assert_eq!(
        names(load),
        ["find_library(libsodium)", "find_library(sodium)"]
    );
}

#[test]
fn other_systems_branches_are_left_out() {
    // psycopg's find_libpq_full_path, and a Windows-only load.
    let c = calls(
        "import sys, ctypes, ctypes.util\n\
         def find_libpq_full_path():\n\
         \x20   if sys.platform == 'win32':\n\
         \x20       libname = ctypes.util.find_library('libpq.dll')\n\
         \x20   elif sys.platform == 'darwin':\n\
         \x20       libname = ctypes.util.find_library('libpq.dylib')\n\
         \x20   else:\n\
         \x20       libname = ctypes.util.find_library('pq')\n\
         \x20   return libname\n\
         if not (libname := find_libpq_full_path()):\n\
         \x20   raise ImportError('libpq library not found')\n\
         pq = ctypes.cdll.LoadLibrary(libname)\n\
         if sys.platform.startswith('win'):\n\
         \x20   k = ctypes.CDLL('kernel32.dll')\n",
    );
    let seen: Vec<(u32, Via, Vec<String>)> = c.iter().map(|c| (c.line, c.via, names(c))).collect();
    assert_eq!(
        seen,
        [
            (8, Via::FindLibrary, vec!["pq".to_string()]),
            (12, Via::Ctypes, vec!["find_library(pq)".to_string()]),
        ]
    );
}

#[test]
fn candidates_in_a_tuple_and_a_loop() {
    // sounddevice: for name in (…): name = find_library(name); ffi.dlopen(name)
    let c = calls(
        "from ctypes.util import find_library as _find_library\n\
         from _sounddevice import ffi as _ffi\n\
         for _libname in ('portaudio', 'bin\\\\libportaudio-2.dll', 'lib/libportaudio.dylib'):\n\
         \x20   _libname = _find_library(_libname)\n\
         \x20   if _libname is not None:\n\
         \x20       break\n\
         else:\n\
         \x20   raise OSError('PortAudio library not found')\n\
         _lib = _ffi.dlopen(_libname)\n",
    );
    let find = c.iter().find(|c| c.via == Via::FindLibrary).unwrap();
    assert_eq!(
        names(find),
        [
            "bin\\libportaudio-2.dll",
            "lib/libportaudio.dylib",
            "portaudio"
        ]
    );
    let open = c.iter().find(|c| c.via == Via::Cffi).unwrap();
    assert!(
        names(open).contains(&"find_library(portaudio)".to_string()),
        "{open:?}"
    );
}

#[test]
fn helper_function_builds_the_name() {
    // pyvips: ffi.dlopen(library_name('vips', 42)) with platform branches.
    let (via, n, unknown) = only(
        "import os, sys\nfrom cffi import FFI\n\
         def library_name(name, abi_number, lib_prefix='lib'):\n\
         \x20   is_windows = os.name == 'nt'\n\
         \x20   is_mac = sys.platform == 'darwin'\n\
         \x20   if is_windows:\n\
         \x20       return f'{lib_prefix}{name}-{abi_number}.dll'\n\
         \x20   elif is_mac:\n\
         \x20       return f'{lib_prefix}{name}.{abi_number}.dylib'\n\
         \x20   else:\n\
         \x20       return f'{lib_prefix}{name}.so.{abi_number}'\n\
         ffi = FFI()\n\
         vips_lib = ffi.dlopen(library_name('vips', 42))\n",
    );
    assert_eq!(via, Via::Cffi);
    assert_eq!(unknown, None);
    // The locals of the helper are not followed into the branches it
    // takes (is_windows is a local), so every return is a candidate;
    // the Linux one among them.
    assert!(n.contains(&"libvips.so.42".to_string()), "{n:?}");
}

#[test]
fn helper_with_a_tuple_of_candidates() {
    // cairocffi: dlopen(ffi, ('cairo-2', 'cairo', 'libcairo-2'), ('libcairo.so.2', …))
    let c = calls(
        "from ctypes.util import find_library\nfrom cffi import FFI\nffi = FFI()\n\
         def dlopen(ffi, library_names, filenames):\n\
         \x20   exceptions = []\n\
         \x20   for library_name in library_names:\n\
         \x20       library_filename = find_library(library_name)\n\
         \x20       if library_filename:\n\
         \x20           filenames = (library_filename,) + filenames\n\
         \x20   for filename in filenames:\n\
         \x20       try:\n\
         \x20           return ffi.dlopen(filename)\n\
         \x20       except OSError as exception:\n\
         \x20           exceptions.append(exception)\n\
         cairo = dlopen(ffi, ('cairo-2', 'cairo', 'libcairo-2'),\n\
         \x20             ('libcairo.so.2', 'libcairo.2.dylib', 'libcairo-2.dll'))\n",
    );
    let find = c.iter().find(|c| c.via == Via::FindLibrary).unwrap();
    assert_eq!(names(find), ["cairo", "cairo-2", "libcairo-2"]);
    let open = c.iter().find(|c| c.via == Via::Cffi).unwrap();
    assert!(
        names(open).contains(&"libcairo.so.2".to_string()),
        "{open:?}"
    );
}

#[test]
fn a_generator_of_candidates() {
    // python-magic: for lib in _lib_candidates(): CDLL(lib)
    let c = calls(
        "import ctypes, sys\nfrom ctypes.util import find_library\n\
         def _lib_candidates():\n\
         \x20   yield find_library('magic')\n\
         \x20   if sys.platform == 'darwin':\n\
         \x20       yield '/usr/local/lib/libmagic.dylib'\n\
         \x20   elif sys.platform == 'linux':\n\
         \x20       yield 'libmagic.so.1'\n\
         def load_lib():\n\
         \x20   for lib in _lib_candidates():\n\
         \x20       if lib is None:\n\
         \x20           continue\n\
         \x20       return ctypes.CDLL(lib)\n",
    );
    let load = c.iter().find(|c| c.via == Via::Ctypes).unwrap();
    assert_eq!(names(load), ["libmagic.so.1", "find_library(magic)"]);
    assert_eq!(load.unknown, None);
}

#[test]
fn an_ffi_passed_to_a_helper() {
    // cairocffi: def dlopen(ffi, names, filenames): … ffi.dlopen(filename)
    let files = Files(HashMap::from([
        ("/site/cairocffi/__init__.py", ""),
        (
            "/site/cairocffi/_generated/ffi.py",
            "import _cffi_backend\nffi = _cffi_backend.FFI('x')\n",
        ),
    ]));
    let src = "from ctypes.util import find_library\nfrom ._generated.ffi import ffi\n\
               def dlopen(ffi, library_names, filenames):\n\
               \x20   for library_name in library_names:\n\
               \x20       library_filename = find_library(library_name)\n\
               \x20       if library_filename:\n\
               \x20           filenames = (library_filename, *filenames)\n\
               \x20   for filename in filenames:\n\
               \x20       return ffi.dlopen(filename)\n\
               cairo = dlopen(ffi, ('cairo-2', 'cairo'), ('libcairo.so.2', 'libcairo.2.dylib'))\n";
    let c = load_calls("/site/cairocffi/__init__.py", src, &files);
    let open = c
        .iter()
        .find(|c| c.via == Via::Cffi)
        .expect("ffi.dlopen found");
    assert_eq!(
        names(open),
        [
            "libcairo.2.dylib",
            "libcairo.so.2",
            "find_library(cairo)",
            "find_library(cairo-2)"
        ]
    );
}

#[test]
fn names_built_with_format_percent_and_concatenation() {
    let c = calls(
        "import ctypes\nV = 23\nBASE = 'libsodium'\n\
         a = ctypes.CDLL('libfoo.so.{}'.format(V))\n\
         b = ctypes.CDLL('libbar.so.%d' % V)\n\
         c = ctypes.CDLL(BASE + '.so.' + str(V))\n",
    );
    let all: Vec<Vec<String>> = c.iter().map(names).collect();
    assert_eq!(
        all,
        [
            vec!["libfoo.so.23".to_string()],
            vec!["libbar.so.23".to_string()],
            vec!["libsodium.so.23".to_string()],
        ]
    );
}

#[test]
fn a_path_next_to_the_module() {
    let (_, n, unknown) = only(
        "import os, ctypes\n\
         here = os.path.dirname(__file__)\n\
         lib = ctypes.CDLL(os.path.join(here, 'libvendored.so'))\n",
    );
    assert_eq!(n, ["/site/pkg/libvendored.so"]);
    assert_eq!(unknown, None);
}

#[test]
fn what_cannot_be_followed_is_said() {
    let (via, n, unknown) = only("import ctypes, os\nlib = ctypes.CDLL(os.environ['MYLIB'])\n");
    assert_eq!((via, n), (Via::Ctypes, vec![]));
    assert_eq!(unknown.as_deref(), Some("os.environ['MYLIB']"));
    // An environment variable with a default: the default, and unknown.
    let (_, n, unknown) = only(
        "import ctypes, os\nfrom ctypes.util import find_library\n\
         p = os.environ.get('LIBARCHIVE') or find_library('archive')\n",
    );
    let _ = (n, unknown);
    let c = calls(
        "import ctypes, os\nfrom ctypes.util import find_library\n\
         p = os.environ.get('LIBARCHIVE') or find_library('archive')\n\
         lib = ctypes.cdll.LoadLibrary(p)\n",
    );
    let load = c.iter().find(|c| c.via == Via::Ctypes).unwrap();
    assert_eq!(names(load), ["find_library(archive)"]);
    assert_eq!(load.unknown.as_deref(), Some("p"));
}

#[test]
fn cdll_of_none_is_the_program() {
    let (_, n, _) = only("import ctypes\nlibc = ctypes.CDLL(None)\n");
    assert_eq!(n, ["None"]);
}

#[test]
fn methods_of_a_class() {
    // pymediainfo: cls._get_library_paths(os_is_nt), lib_type(path)
    let c = calls(
        "import ctypes, os, sys\n\
         class MediaInfo:\n\
         \x20   @staticmethod\n\
         \x20   def _get_library_paths(os_is_nt):\n\
         \x20       if os_is_nt:\n\
         \x20           library_paths = ('MediaInfo.dll',)\n\
         \x20       elif sys.platform == 'darwin':\n\
         \x20           library_paths = ('libmediainfo.0.dylib', 'libmediainfo.dylib')\n\
         \x20       else:\n\
         \x20           library_paths = ('libmediainfo.so.0',)\n\
         \x20       return library_paths\n\
         \x20   @classmethod\n\
         \x20   def _get_library(cls, library_file=None):\n\
         \x20       os_is_nt = os.name in ('nt', 'dos', 'os2', 'ce')\n\
         \x20       lib_type = ctypes.WinDLL if os_is_nt else ctypes.CDLL\n\
         \x20       if library_file is None:\n\
         \x20           library_paths = cls._get_library_paths(os_is_nt)\n\
         \x20       else:\n\
         \x20           library_paths = (library_file,)\n\
         \x20       for library_path in library_paths:\n\
         \x20           lib = lib_type(library_path)\n",
    );
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(c[0].via, Via::Ctypes);
    assert!(
        names(&c[0]).contains(&"libmediainfo.so.0".to_string()),
        "{:?}",
        c[0]
    );
}

/// Other modules of the package, read through `Sources`.
struct Files(HashMap<&'static str, &'static str>);
impl Sources for Files {
    fn read(&self, path: &str) -> Option<String> {
        self.0.get(path).map(|s| s.to_string())
    }
}

#[test]
fn a_function_of_another_module_of_the_package() {
    let files = Files(HashMap::from([
        (
            "/site/psycopg/pq/misc.py",
            "import sys, ctypes.util\n\
             def find_libpq_full_path():\n\
             \x20   if sys.platform == 'win32':\n\
             \x20       return ctypes.util.find_library('libpq.dll')\n\
             \x20   return ctypes.util.find_library('pq')\n",
        ),
        ("/site/psycopg/pq/__init__.py", ""),
        ("/site/psycopg/__init__.py", ""),
    ]));
    let src = "import ctypes\nfrom .misc import find_libpq_full_path\n\
               libname = find_libpq_full_path()\npq = ctypes.cdll.LoadLibrary(libname)\n";
    let c = load_calls("/site/psycopg/pq/_pq_ctypes.py", src, &files);
    assert_eq!(c.len(), 1, "{c:#?}");
    // The Windows branch of the other module is left out too.
    assert_eq!(names(&c[0]), ["find_library(pq)"]);
    // The same by absolute import within the package.
    let src = "import ctypes\nfrom psycopg.pq.misc import find_libpq_full_path\n\
               pq = ctypes.cdll.LoadLibrary(find_libpq_full_path())\n";
    let c = load_calls("/site/psycopg/pq/_pq_ctypes.py", src, &files);
    assert!(
        names(&c[0]).contains(&"find_library(pq)".to_string()),
        "{c:?}"
    );
}

#[test]
fn a_loader_function_and_its_callers_in_other_modules() {
    // The function loads whatever its caller names: a wrapper, no load of
    // its own.
    let c = calls(
        "import ctypes\nfrom ctypes.util import find_library\n\
         def load(name):\n\
         \x20   return ctypes.CDLL(find_library(name))\n",
    );
    let load = c.iter().find(|c| c.via == Via::Ctypes).unwrap();
    assert!(
        load.candidates.is_empty() && load.unknown.is_none(),
        "{load:?}"
    );
    let w = load.wrapper.clone().expect("a wrapper");
    assert_eq!(
        (w.function.as_str(), w.param.as_str(), w.index, w.finds),
        ("load", "name", 0, true)
    );
    // A module of the package that calls it, without naming ctypes.
    let files = Files(HashMap::from([
        ("/site/pkg/_loader.py", ""),
        ("/site/pkg/__init__.py", ""),
    ]));
    let w = Wrapper {
        path: "/site/pkg/_loader.py".into(),
        ..w
    };
    let c = load_calls_with(
        "/site/pkg/core.py",
        "from ._loader import load as _load\n_lib = _load('foo')\n",
        &files,
        &[w],
    );
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(
        (c[0].via, names(&c[0])),
        (Via::Ctypes, vec!["find_library(foo)".to_string()])
    );
}

#[test]
fn hostile_sources_never_panic_and_stay_bounded() {
    for src in [
        "",
        "import ctypes\nctypes.CDLL(",
        "import ctypes\ndef f(x): return f(x)\nctypes.CDLL(f('a'))\n",
        "import ctypes\nA = A + 'x'\nctypes.CDLL(A)\n",
        "import ctypes\ndef f(a): return g(a)\ndef g(b): return f(b)\nctypes.CDLL(f('x'))\n",
        "import ctypes\nX = ('a','b','c','d','e','f','g','h')\nY = [x + y for x in X for y in X]\nctypes.CDLL(f'{X[0]}{X[1]}')\n",
        "\u{feff}import ctypes\nctypes.CDLL(b'\\xff\\xfe')\n",
    ] {
        let _ = calls(src);
    }
    // A long chain of names stops at the depth bound.
    let mut src = String::from("import ctypes\nA0 = 'lib.so'\n");
    for i in 1..200 {
        src.push_str(&format!("A{i} = A{}\n", i - 1));
    }
    src.push_str("ctypes.CDLL(A199)\n");
    let c = calls(&src);
    assert_eq!(c.len(), 1);
    assert!(c[0].unknown.is_some());
    // Combinations are capped.
    let mut src = String::from("import ctypes\nP = (");
    for i in 0..50 {
        src.push_str(&format!("'p{i}',"));
    }
    src.push_str(")\nfor a in P:\n    for b in P:\n        ctypes.CDLL(a + b)\n");
    let c = calls(&src);
    assert!(c[0].candidates.len() <= MAX_ALTERNATIVES);
}

#[test]
fn marks_find_candidate_files() {
    assert!(may_load(b"import ctypes\n"));
    assert!(may_load(b"from _x import ffi\nlib = ffi.dlopen('x')"));
    assert!(may_load(b"import cffi"));
    assert!(!may_load(b"import os\nprint('hello')\n"));
}

#[test]
fn marks_are_found_as_python_reads_names() {
    // `ｃｔｙｐｅｓ` is `ctypes` to Python: the file is read, and its load
    // found.
    let src = "import ｃｔｙｐｅｓ\nlib = ｃｔｙｐｅｓ.CDLL('libz.so.1')\n";
    assert!(may_load(src.as_bytes()));
    assert_eq!(names(&calls(src)[0]), ["libz.so.1"]);
    // Half of a word written with compatibility characters.
    assert!(may_load("x = cｔypes".as_bytes()));
    // Non-ASCII text that normalises to no mark, and a mark NFKC would
    // only make of a character no identifier holds, split by ASCII.
    assert!(!may_load("# café, π ≥ 2\nimport os\n".as_bytes()));
    assert!(!may_load("c types = 'ｔｙｐｅ'\n".as_bytes()));
}

#[test]
fn only_sources_naming_a_loader_as_python_reads_them_are_parsed() {
    use super::loads::may_call_loader;
    // Accented letters in a docstring name no loader: not parsed (every
    // non-ASCII source was).
    assert!(!may_call_loader(
        "import ctypes\ndef f():\n    \"\"\"Café, π ≥ 2.\"\"\"\n    return ctypes.sizeof(x)\n",
        &[]
    ));
    assert!(may_call_loader("from ctypes import ＣＤＬＬ\n", &[]));
    assert!(may_call_loader("lib = ctypes.ｃｄｌｌ\n", &[]));
    // A wrapper's name, written with a compatibility letter.
    let wrapper = Wrapper {
        path: "/site/pkg/_load.py".into(),
        function: "load_lib".into(),
        param: "name".into(),
        index: 0,
        via: Via::Ctypes,
        finds: false,
    };
    assert!(may_call_loader(
        "from pkg._load import load_lib\nx = load_ｌib('z')\n",
        std::slice::from_ref(&wrapper)
    ));
    assert!(!may_call_loader("# é\nx = load('z')\n", &[wrapper]));
}

/// [`Files`] that count how often each path is read.
struct Counted(Files, std::sync::Mutex<HashMap<String, usize>>);
impl Sources for Counted {
    fn read(&self, path: &str) -> Option<String> {
        *self.1.lock().unwrap().entry(path.to_string()).or_default() += 1;
        self.0.read(path)
    }
}

#[test]
fn files_of_a_scan_share_the_modules_they_import() {
    use rayon::prelude::*;
    let sources = || {
        Counted(
            Files(HashMap::from([
                (
                    "/site/pkg/misc.py",
                    "import sys, ctypes.util\n\
                     def libname():\n\
                     \x20   if sys.platform == 'win32':\n\
                     \x20       return 'foo.dll'\n\
                     \x20   return ctypes.util.find_library('foo')\n",
                ),
                ("/site/pkg/__init__.py", ""),
            ])),
            Default::default(),
        )
    };
    let files: Vec<(String, &str)> = (0..16)
        .map(|i| {
            (
                format!("/site/pkg/m{i}.py"),
                "import ctypes\nfrom .misc import libname\nlib = ctypes.CDLL(libname())\n",
            )
        })
        .collect();
    let expected = vec![vec!["find_library(foo)".to_string()]];
    let analyse = |cache: &Cache<'_>| {
        files.par_iter().for_each(|(path, src)| {
            let c = cache.load_calls(path, src, &[]);
            assert_eq!(c.iter().map(names).collect::<Vec<_>>(), expected, "{c:?}");
        });
    };
    // Read once for all files (in parallel), though each tests that it
    // exists and calls into it.
    let counted = sources();
    analyse(&Cache::new(&counted));
    assert_eq!(counted.1.lock().unwrap()["/site/pkg/misc.py"], 1);
    // Past the cache's budget: the same results, read again each time.
    let counted = sources();
    analyse(&Cache::with_budget(&counted, 0));
    assert_eq!(
        counted.1.lock().unwrap()["/site/pkg/misc.py"],
        2 * files.len()
    );
}

#[test]
fn a_loader_spelled_with_compatibility_characters_is_still_one() {
    // Python reads identifiers NFKC-normalised: `ＣＤＬＬ` is `CDLL`, and
    // no ASCII spelling of a loader is in the source.
    let (via, n, _) = only("from ctypes import ＣＤＬＬ\nlib = ＣＤＬＬ('libmagic.so.1')\n");
    assert_eq!((via, n), (Via::Ctypes, vec!["libmagic.so.1".to_string()]));
}
