//! The message parser on what glibc 2.36 and CPython 3.11 really printed:
//! the captures of `testdata/explain/` (made by
//! `scripts/capture-messages.sh`, described in its README.md), as they are
//! and dressed up as container logs (CRLF, ANSI colours, timestamps).

use std::path::{Path, PathBuf};

use ldslim::explain::{Failure, Finding, parse};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/explain")
}

fn capture(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const SITE: &str = "/usr/local/lib/python3.11/dist-packages";

fn missing(lib: &str) -> Failure {
    Failure::MissingLibrary {
        library: lib.into(),
    }
}

fn glibc238(library: &str, required_by: &str) -> Failure {
    Failure::MissingVersion {
        version: "GLIBC_2.38".into(),
        library: library.into(),
        required_by: required_by.into(),
    }
}

/// What a capture must yield: (failure, object, module, line, final error line).
struct Expect {
    failure: Failure,
    object: Option<String>,
    module: Option<&'static str>,
    line: usize,
    final_line: Option<usize>,
}

fn expect(
    failure: Failure,
    object: Option<&str>,
    module: Option<&'static str>,
    line: usize,
    final_line: Option<usize>,
) -> Expect {
    Expect {
        failure,
        object: object.map(str::to_string),
        module,
        line,
        final_line,
    }
}

fn cases() -> Vec<(&'static str, Vec<Expect>)> {
    let ext = |rel: &str| format!("{SITE}/{rel}.cpython-311-x86_64-linux-gnu.so");
    vec![
        (
            "a-python-libz.txt",
            vec![expect(missing("libz.so.1"), Some("/usr/bin/python3"), None, 1, None)],
        ),
        (
            "a2-python311-path-libz.txt",
            vec![expect(missing("libz.so.1"), Some("python3.11"), None, 1, None)],
        ),
        (
            // The ImportError names only the library, not _bz2's file.
            "b-import-bz2.txt",
            vec![expect(missing("libbz2.so.1.0"), None, Some("_bz2"), 5, None)],
        ),
        (
            // pandas → pandas.errors → `import ctypes` → _ctypes → libffi.
            "c1-import-pandas-libffi.txt",
            vec![expect(missing("libffi.so.8"), None, Some("_ctypes"), 13, None)],
        ),
        (
            "c2-import-ctypes-libffi.txt",
            vec![expect(missing("libffi.so.8"), None, Some("_ctypes"), 5, None)],
        ),
        (
            "d1-glibc238-extension.txt",
            vec![expect(
                glibc238("/lib/x86_64-linux-gnu/libc.so.6", &ext("fastparse/_speedups")),
                Some(&ext("fastparse/_speedups")),
                Some("fastparse._speedups"),
                6,
                None,
            )],
        ),
        (
            "d2-glibc238-ctypes.txt",
            vec![expect(
                glibc238("/lib/x86_64-linux-gnu/libc.so.6", "/opt/app/lib/libfastmath.so.1"),
                Some("/opt/app/lib/libfastmath.so.1"),
                None,
                6,
                None,
            )],
        ),
        (
            // One line per library lacking the version.
            "d3-python313-glibc238.txt",
            vec![
                expect(
                    glibc238("/lib/x86_64-linux-gnu/libm.so.6", "/usr/bin/python3.13"),
                    Some("/usr/bin/python3.13"),
                    None,
                    1,
                    None,
                ),
                expect(
                    glibc238("/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/python3.13"),
                    Some("/usr/bin/python3.13"),
                    None,
                    2,
                    None,
                ),
            ],
        ),
        (
            // Three chained tracebacks; "Original error was: …" (line 40)
            // repeats the cause; the chain ends with "you should not try to
            // import numpy from its source directory" (line 48).
            "e1-numpy-libgfortran.txt",
            vec![expect(
                missing("libgfortran-040039e1.so.5.0.0"),
                None,
                Some("numpy.core._multiarray_umath"),
                8,
                Some(48),
            )],
        ),
        (
            "e2-scipy-libffi.txt",
            vec![expect(missing("libffi.so.8"), None, Some("_ctypes"), 9, Some(17))],
        ),
        (
            "e3-scipy-linalg-openblas.txt",
            vec![expect(
                missing("libscipy_openblas-c128ec02.so"),
                None,
                Some("scipy.linalg._fblas"),
                9,
                None,
            )],
        ),
        (
            // pandas' re-raise drops numpy's cause: no loader message at all.
            "e4-pandas-numpy-openblas.txt",
            vec![expect(
                Failure::Other {
                    message: "ImportError: Unable to import required dependencies: numpy: Error importing numpy: you should not try to import numpy from its source directory; please exit the numpy source tree, and relaunch your python interpreter from there.".into(),
                },
                None,
                Some("pandas"),
                5,
                None,
            )],
        ),
        (
            // The composed log: e1 behind timestamps, 6 noise lines first.
            "f-container-log.txt",
            vec![expect(
                missing("libgfortran-040039e1.so.5.0.0"),
                None,
                Some("numpy.core._multiarray_umath"),
                14,
                Some(54),
            )],
        ),
        (
            "g-undefined-symbol.txt",
            vec![expect(
                Failure::UndefinedSymbol {
                    symbol: "ldslim_missing_function_v2".into(),
                },
                Some(&ext("nativeext/_native")),
                Some("nativeext._native"),
                6,
                None,
            )],
        ),
        (
            "h-wrong-class.txt",
            vec![expect(
                Failure::WrongClass {
                    class: "ELFCLASS32".into(),
                },
                Some(&ext("legacy32/_legacy")),
                Some("legacy32._legacy"),
                6,
                None,
            )],
        ),
        (
            "i-module-not-found.txt",
            vec![expect(
                Failure::Other {
                    message: "ModuleNotFoundError: No module named 'yaml'".into(),
                },
                None,
                Some("yaml"),
                3,
                None,
            )],
        ),
        (
            "j-pillow-libjpeg.txt",
            vec![expect(
                missing("libjpeg-25f93ad1.so.62.4.0"),
                None,
                Some("PIL._imaging"),
                5,
                None,
            )],
        ),
    ]
}

fn check(name: &str, text: &str, want: &[Expect], line_offset: usize) {
    let got = parse(text);
    assert_eq!(
        got.len(),
        want.len(),
        "{name}: {}",
        serde_json::to_string_pretty(&got).unwrap()
    );
    for (g, w) in got.iter().zip(want) {
        let ctx = || format!("{name}: {}", serde_json::to_string_pretty(g).unwrap());
        assert_eq!(g.failure, w.failure, "{}", ctx());
        assert_eq!(g.object, w.object, "{}", ctx());
        assert_eq!(g.module.as_deref(), w.module, "{}", ctx());
        assert_eq!(g.line, w.line + line_offset, "{}", ctx());
        assert_eq!(
            g.final_error.as_ref().map(|f| f.line),
            w.final_line.map(|l| l + line_offset),
            "{}",
            ctx()
        );
        // `text` is the line itself, cleaned.
        let line = text.split('\n').nth(g.line - 1).unwrap();
        let clean: String = strip_for_compare(line);
        assert_eq!(g.text, clean, "{}", ctx());
    }
}

/// The line as `Finding::text` keeps it: no CR, no ANSI escapes, no
/// trailing whitespace.
fn strip_for_compare(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Only CSI ... m in these tests.
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out.trim_end().to_string()
}

#[test]
fn every_capture_yields_its_findings() {
    for (name, want) in cases() {
        check(name, &capture(name), &want, 0);
    }
}

#[test]
fn every_capture_is_asserted_and_described() {
    let readme = capture("README.md");
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    let asserted: Vec<&str> = cases().iter().map(|(n, _)| *n).collect();
    for n in &names {
        assert!(asserted.contains(&n.as_str()), "{n} is not asserted");
        assert!(
            readme.contains(&format!("`{n}`")),
            "{n} is not in README.md"
        );
    }
    assert_eq!(names.len(), asserted.len());
}

/// The same captures with CRLF line ends, ANSI colour around every line,
/// and behind CRI log prefixes: the same findings.
#[test]
fn captures_dressed_as_container_logs() {
    for (name, want) in cases() {
        let text = capture(name);
        let crlf = text.replace('\n', "\r\n");
        check(&format!("{name} (CRLF)"), &crlf, &want, 0);
        let ansi: String = text
            .split('\n')
            .map(|l| format!("\u{1b}[31m{l}\u{1b}[0m"))
            .collect::<Vec<_>>()
            .join("\n");
        let got = parse(&ansi);
        assert_eq!(got.len(), want.len(), "{name} (ANSI)");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (&g.failure, &g.object, g.line),
                (&w.failure, &w.object, w.line),
                "{name} (ANSI)"
            );
            assert_eq!(g.module.as_deref(), w.module, "{name} (ANSI)");
        }
        // Kubernetes' CRI log file format, after two lines of noise.
        let mut cri = String::from(
            "2025-05-14T09:30:59.000000001Z stdout F listening on :8080\n2025-05-14T09:30:59.5Z stderr F WARNING: no config file\n",
        );
        for (i, l) in text.split('\n').enumerate() {
            if i > 0 {
                cri.push('\n');
            }
            cri.push_str(&format!(
                "2025-05-14T09:31:{:02}.{}Z stderr F {l}",
                i % 60,
                i + 1
            ));
        }
        let got = parse(&cri);
        assert_eq!(got.len(), want.len(), "{name} (CRI)");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (&g.failure, &g.object, g.module.as_deref(), g.line),
                (&w.failure, &w.object, w.module, w.line + 2),
                "{name} (CRI)"
            );
        }
    }
}

/// All captures in one log: each failure once, in order; the two libffi
/// captures (pandas, ctypes) and scipy's are one failure (the first kept).
#[test]
fn all_captures_in_one_log() {
    let mut log = String::new();
    let mut names: Vec<&str> = cases().iter().map(|(n, _)| *n).collect();
    names.retain(|n| *n != "f-container-log.txt");
    for n in &names {
        log.push_str("=== next run ===\n");
        log.push_str(&capture(n));
    }
    let got: Vec<Finding> = parse(&log);
    let libffi: Vec<&Finding> = got
        .iter()
        .filter(|f| f.failure == missing("libffi.so.8"))
        .collect();
    assert_eq!(libffi.len(), 1, "{libffi:?}");
    let kinds: Vec<String> = got
        .iter()
        .map(|f| match &f.failure {
            Failure::MissingLibrary { library } => library.clone(),
            Failure::MissingVersion {
                library,
                required_by,
                ..
            } => format!("{library} for {required_by}"),
            Failure::UndefinedSymbol { symbol } => symbol.clone(),
            Failure::WrongClass { class } => class.clone(),
            Failure::LibraryNotFound { library } => format!("find_library({library})"),
            Failure::Other { message } => message.chars().take(30).collect(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            // libz.so.1 twice: a different program each time.
            "libz.so.1",
            "libz.so.1",
            "libbz2.so.1.0",
            "libffi.so.8",
            "/lib/x86_64-linux-gnu/libc.so.6 for /usr/local/lib/python3.11/dist-packages/fastparse/_speedups.cpython-311-x86_64-linux-gnu.so",
            "/lib/x86_64-linux-gnu/libc.so.6 for /opt/app/lib/libfastmath.so.1",
            "/lib/x86_64-linux-gnu/libm.so.6 for /usr/bin/python3.13",
            "/lib/x86_64-linux-gnu/libc.so.6 for /usr/bin/python3.13",
            "libgfortran-040039e1.so.5.0.0",
            "libscipy_openblas-c128ec02.so",
            "ImportError: Unable to import ",
            "ldslim_missing_function_v2",
            "ELFCLASS32",
            "ModuleNotFoundError: No module",
            "libjpeg-25f93ad1.so.62.4.0",
        ],
        "{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
    // The first libffi finding (pandas') took scipy's final error.
    assert!(
        libffi[0]
            .final_error
            .as_ref()
            .unwrap()
            .text
            .contains("seems to be broken")
    );
}

/// The JSON form is stable: tagged failures, every field present.
#[test]
fn json_shape() {
    let got = parse(&capture("e2-scipy-libffi.txt"));
    let v = serde_json::to_value(&got).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{
            "failure": {"type": "missing_library", "library": "libffi.so.8"},
            "object": null,
            "module": "_ctypes",
            "line": 9,
            "text": "ImportError: libffi.so.8: cannot open shared object file: No such file or directory",
            "final_error": {
                "line": 17,
                "text": "ImportError: The `scipy` install you are using seems to be broken, (extension modules cannot be imported), please try reinstalling."
            }
        }])
    );
}

/// Rerunning the capture script reproduces the committed captures (needs
/// root, the Debian roots and network access to the Debian mirror or the
/// cached python3.13-minimal .deb).
#[test]
#[ignore = "needs root and the Debian roots; run scripts/test.sh"]
fn capture_script_reproduces_the_captures() {
    let out = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/capture-messages.sh");
    let o = std::process::Command::new("bash")
        .arg(script)
        .arg("--out")
        .arg(out.path())
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_ldslim"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (name, _) in cases() {
        let fresh = std::fs::read_to_string(out.path().join(name)).unwrap();
        assert_eq!(fresh, capture(name), "{name} differs from a fresh capture");
    }
}

/// Any cut of a capture (a log tail, a truncated paste) parses without
/// panicking, and a long log of noise around the captures stays fast.
#[test]
fn cut_and_long_logs() {
    for (name, _) in cases() {
        let text = capture(name);
        for (i, _) in text.char_indices() {
            let _ = parse(&text[..i]);
            let _ = parse(&text[i..]);
        }
    }
    let mut log = String::new();
    for i in 0..100_000 {
        log.push_str(&format!(
            "2025-05-14T09:31:00.{i:06}Z stdout F GET /api/items/{i} 200 1.{i}ms\n"
        ));
        if i % 20_000 == 0 {
            log.push_str(&capture("e1-numpy-libgfortran.txt"));
        }
    }
    let start = std::time::Instant::now();
    let got = parse(&log);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}
