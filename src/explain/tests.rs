//! Messages and tracebacks as glibc, musl, ldd, CPython and packages
//! print them, alone and inside logs.

use super::lines::MAX_TEXT;
use super::*;

fn one(text: &str) -> Finding {
    let f = parse(text);
    assert_eq!(f.len(), 1, "{f:#?}");
    f.into_iter().next().unwrap()
}

#[test]
fn startup_missing_library_names_the_program() {
    let f = one(
        "python3.11: error while loading shared libraries: libz.so.1: cannot open shared object file: No such file or directory\n",
    );
    assert_eq!(
        f.failure,
        Failure::MissingLibrary {
            library: "libz.so.1".into()
        }
    );
    assert_eq!(f.object.as_deref(), Some("python3.11"));
    assert_eq!(f.line, 1);
    assert_eq!(f.module, None);
}

#[test]
fn both_quote_styles_of_a_version_error() {
    for q in [("`", "'"), ("'", "'"), ("‘", "’")] {
        let text = format!(
            "ImportError: /lib/x86_64-linux-gnu/libc.so.6: version {}GLIBC_2.38{} not found (required by /opt/x.so)",
            q.0, q.1
        );
        let f = one(&text);
        assert_eq!(
            f.failure,
            Failure::MissingVersion {
                version: "GLIBC_2.38".into(),
                library: "/lib/x86_64-linux-gnu/libc.so.6".into(),
                required_by: "/opt/x.so".into()
            },
            "{text}"
        );
        assert_eq!(f.object.as_deref(), Some("/opt/x.so"));
    }
}

#[test]
fn object_name_form_and_crlf_and_ansi() {
    let text = "noise\r\n\u{1b}[31mERROR\u{1b}[0m /app/plugin.so: libfoo.so.2: cannot open shared object file: No such file or directory\r\n";
    let f = one(text);
    assert_eq!(
        f.failure,
        Failure::MissingLibrary {
            library: "libfoo.so.2".into()
        }
    );
    assert_eq!(f.object.as_deref(), Some("/app/plugin.so"));
    assert_eq!(f.line, 2);
    assert!(
        !f.text.contains('\r') && !f.text.contains('\u{1b}'),
        "{:?}",
        f.text
    );
}

#[test]
fn other_loader_errors_and_permission() {
    let f = one(
        "ImportError: /usr/lib/x/_m.so: cannot enable executable stack as shared object requires: Invalid argument",
    );
    assert_eq!(
        f.failure,
        Failure::Other {
            message: "cannot enable executable stack as shared object requires: Invalid argument"
                .into()
        }
    );
    assert_eq!(f.object.as_deref(), Some("/usr/lib/x/_m.so"));
    let f = one("OSError: /opt/lib.so: cannot open shared object file: Permission denied");
    assert_eq!(
        f.failure,
        Failure::Other {
            message: "cannot open shared object file: Permission denied".into()
        }
    );
    assert_eq!(f.object.as_deref(), Some("/opt/lib.so"));
    let f = one("ImportError: /usr/lib/libgomp.so.1: cannot allocate memory in static TLS block");
    assert_eq!(f.object.as_deref(), Some("/usr/lib/libgomp.so.1"));
}

#[test]
fn symbol_errors() {
    let f = one(
        "/usr/bin/app: symbol lookup error: /usr/lib/libx.so.1: undefined symbol: foo_v2, version X_2",
    );
    assert_eq!(
        f.failure,
        Failure::UndefinedSymbol {
            symbol: "foo_v2".into()
        }
    );
    assert_eq!(f.object.as_deref(), Some("/usr/lib/libx.so.1"));
    let f = one(
        "/usr/bin/app: relocation error: /usr/lib/liby.so: symbol memfd_create version GLIBC_2.27 not defined in file libc.so.6 with link time reference",
    );
    assert_eq!(
        f.failure,
        Failure::MissingVersion {
            version: "GLIBC_2.27".into(),
            library: "libc.so.6".into(),
            required_by: "/usr/lib/liby.so".into()
        }
    );
}

#[test]
fn musl_and_ldd() {
    let f = one(
        "Error loading shared library libz.so.1: No such file or directory (needed by /usr/bin/python3.11)",
    );
    assert_eq!(
        f.failure,
        Failure::MissingLibrary {
            library: "libz.so.1".into()
        }
    );
    assert_eq!(f.object.as_deref(), Some("/usr/bin/python3.11"));
    let f = one("Error relocating /usr/lib/x.so: PyFoo: symbol not found");
    assert_eq!(
        f.failure,
        Failure::UndefinedSymbol {
            symbol: "PyFoo".into()
        }
    );
    let found = parse(
        "/usr/bin/python3.11:\n\tlibz.so.1 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6\n",
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 2);
}

#[test]
fn module_not_found_is_other_with_the_module() {
    let f = one(
        "Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>\n    import yaml\nModuleNotFoundError: No module named 'yaml'\n",
    );
    assert_eq!(
        f.failure,
        Failure::Other {
            message: "ModuleNotFoundError: No module named 'yaml'".into()
        }
    );
    assert_eq!(f.module.as_deref(), Some("yaml"));
    assert_eq!(f.line, 4);
}

#[test]
fn unrelated_exceptions_are_not_findings() {
    assert!(
        parse("Traceback (most recent call last):\n  File \"/app/x.py\", line 3, in f\n    d[k]\nKeyError: 'k'\n")
            .is_empty()
    );
    assert!(parse("OSError: [Errno 98] Address already in use").is_empty());
    assert!(parse("").is_empty());
}

#[test]
fn packages_that_found_no_library_by_name() {
    // Each message as the package prints it (measured in the run-time
    // loads test's builder and image).
    for (text, name) in [
        (
            "- couldn't import psycopg 'python' implementation: libpq library not found",
            "pq",
        ),
        ("ImportError: no pq wrapper available.", "pq"),
        ("ImportError: Unable to find zbar shared library", "zbar"),
        ("ImportError: Unable to find dmtx shared library", "dmtx"),
        (
            "ImportError: failed to find libmagic.  Check your installation",
            "magic",
        ),
        (
            "Exception: Could not find Opus library. Make sure it is installed.",
            "opus",
        ),
        (
            "OSError: Could not locate nacl lib, searched for libsodium.so, libsodium.so.23, libsodium.so.18",
            "sodium",
        ),
        ("OSError: PortAudio library not found", "portaudio"),
        ("OSError: no library called \"cairo-2\" was found", "cairo"),
    ] {
        let f = one(text);
        assert_eq!(
            f.failure,
            Failure::LibraryNotFound {
                library: name.into()
            },
            "{text}"
        );
    }
    // A loader message on the line wins.
    let f = one("OSError: libpq.so.5: cannot open shared object file: No such file or directory");
    assert!(matches!(f.failure, Failure::MissingLibrary { .. }));
}

#[test]
fn cffi_names_no_other_object_and_other_systems_names_are_noise() {
    let f = one(
        "OSError: cannot load library 'libvips.so.42': libvips.so.42: cannot open shared object file: No such file or directory.  Additionally, ctypes.util.find_library() did not manage to locate a library called 'libvips.so.42'",
    );
    assert_eq!(
        f.failure,
        Failure::MissingLibrary {
            library: "libvips.so.42".into()
        }
    );
    assert_eq!(f.object, None, "no stray quote, no object");
    // cairocffi tries names in turn: the Linux soname is the finding.
    let text = "Traceback (most recent call last):\n  File \"/s/cairocffi/__init__.py\", line 48, in <module>\n    cairo = dlopen(\nOSError: no library called \"cairo-2\" was found\nno library called \"cairo\" was found\ncannot load library 'libcairo.so.2': libcairo.so.2: cannot open shared object file: No such file or directory\ncannot load library 'libcairo.2.dylib': libcairo.2.dylib: cannot open shared object file: No such file or directory\ncannot load library 'libcairo-2.dll': libcairo-2.dll: cannot open shared object file: No such file or directory\n";
    let f = one(text);
    assert_eq!(
        f.failure,
        Failure::MissingLibrary {
            library: "libcairo.so.2".into()
        }
    );
    // Alone, a name for another system is still reported.
    let f = one(
        "OSError: cannot load library 'libfoo.dylib': libfoo.dylib: cannot open shared object file: No such file or directory",
    );
    assert!(matches!(f.failure, Failure::MissingLibrary { .. }));
}

#[test]
fn modules_from_frames() {
    let text = "Traceback (most recent call last):\n  File \"/srv/app/main.py\", line 3, in <module>\n    import foo\n  File \"/venv/lib/python3.12/site-packages/foo/__init__.py\", line 5, in <module>\n    _lib = load()\n  File \"/venv/lib/python3.12/site-packages/foo/_loader.py\", line 9, in load\n    return ctypes.CDLL(path)\n  File \"/usr/lib/python3.12/ctypes/__init__.py\", line 379, in __init__\n    self._handle = _dlopen(self._name, mode)\nOSError: libbar.so.3: cannot open shared object file: No such file or directory\n";
    let f = one(text);
    assert_eq!(f.module.as_deref(), Some("foo"));
    let text = "Traceback (most recent call last):\n  File \"/x/dist-packages/pkg/sub/__init__.py\", line 1, in <module>\n    from .. import _core as core\nImportError: libq.so: cannot open shared object file: No such file or directory\n";
    assert_eq!(one(text).module.as_deref(), Some("pkg._core"));
    // Beyond the top-level package: the frame's own module.
    let text = "Traceback (most recent call last):\n  File \"/x/dist-packages/pkg/mod.py\", line 1, in <module>\n    from ..a import b\nImportError: libq.so: cannot open shared object file: No such file or directory\n";
    assert_eq!(one(text).module.as_deref(), Some("pkg.mod"));
}

#[test]
fn repeated_failure_is_one_finding() {
    let msg = "ImportError: libz.so.1: cannot open shared object file: No such file or directory\n";
    let text = msg.repeat(50);
    let f = parse(&text);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].line, 1);
}

#[test]
fn log_prefixes_are_stripped() {
    let text = "2025-05-14T09:31:00.1Z stderr F Traceback (most recent call last):\n2025-05-14T09:31:00.12Z stderr F   File \"/usr/lib/python3.11/bz2.py\", line 17, in <module>\n2025-05-14T09:31:00.123Z stderr F     from _bz2 import BZ2Compressor\n2025-05-14T09:31:00.1234Z stderr F ImportError: libbz2.so.1.0: cannot open shared object file: No such file or directory\n";
    let f = one(text);
    assert_eq!(f.module.as_deref(), Some("_bz2"));
    assert_eq!(f.line, 4);
    let text = "web-1  | Traceback (most recent call last):\nweb-1  |   File \"/usr/lib/python3.11/bz2.py\", line 17, in <module>\nweb-1  |     from _bz2 import BZ2Compressor\nweb-1  | ImportError: libbz2.so.1.0: cannot open shared object file: No such file or directory\n";
    assert_eq!(one(text).module.as_deref(), Some("_bz2"));
}

#[test]
fn never_panics_on_fragments() {
    // Pieces of every pattern, glued in many orders, with multi-byte
    // characters next to the cut points.
    let pieces = [
        ": cannot open shared object file",
        ": version `",
        "' not found (required by ",
        ": version ‘",
        "’",
        "File \"",
        "\", line ",
        "12",
        ", in <module>",
        "    from . import x",
        "ImportError: ",
        "Traceback (most recent call last):",
        "During handling of the above exception, another exception occurred:",
        ": undefined symbol: ",
        ": wrong ELF class: ",
        "Error loading shared library ",
        " (needed by ",
        "Error relocating ",
        ": symbol not found",
        " => not found",
        ": symbol ",
        " version ",
        " not defined in file ",
        "error while loading shared libraries",
        "é",
        "\u{1b}[",
        "\u{1b}]",
        "\r",
        "\n",
        " ",
        ": ",
        "2025-05-14T09:31:00Z ",
        " | ",
        "/lib/x.so",
        "init ",
        "^^^",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let n = (next() % 40) as usize;
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(pieces[(next() % pieces.len() as u64) as usize]);
        }
        let _ = parse(&s);
    }
    // Random bytes, lossily decoded.
    for _ in 0..500 {
        let n = (next() % 2000) as usize;
        let bytes: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn huge_lines_are_bounded() {
    let mut s = "é".repeat(3_000_000);
    s.push_str(": cannot open shared object file: No such file or directory");
    assert!(parse(&s).is_empty() || parse(&s).len() == 1);
    let s = "libz.so.1: cannot open shared object file: No such file or directory ".repeat(100_000);
    let f = parse(&s);
    assert_eq!(f.len(), 1);
    assert!(f[0].text.len() <= MAX_TEXT);
    let s = format!("ImportError: {}", "x".repeat(50_000_000));
    let _ = parse(&s);
}
