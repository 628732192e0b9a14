//! `ldslim explain` on messages captured from real runs (testdata/explain/,
//! made by scripts/capture-messages.sh) against the real builder root:
//! the chain, the builder path, the owning package and the fix.

use std::path::Path;
use std::process::Command;

fn explain(file: &str) -> serde_json::Value {
    let root = std::env::var("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT: run scripts/test.sh");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/explain")
        .join(file);
    let o = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(["explain", &root, "--format", "json", "--file"])
        .arg(&path)
        .output()
        .expect("ldslim runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("json")
}

fn first(v: &serde_json::Value) -> &serde_json::Value {
    &v["failures"][0]
}

fn fix(d: &serde_json::Value) -> String {
    d["fix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn interpreter_does_not_start_without_libz() {
    let v = explain("a-python-libz.txt");
    let d = first(&v);
    assert_eq!(d["finding"]["failure"]["library"], "libz.so.1");
    assert_eq!(d["chain"]["entry"], "/usr/bin/python3.11");
    assert_eq!(
        d["in_builder"],
        serde_json::json!(["/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"])
    );
    assert_eq!(d["owner"]["package"], "zlib1g");
    let fix = fix(d);
    let mut lines = fix.lines();
    assert_eq!(
        lines.next(),
        Some(
            "COPY --from=builder /usr/lib/x86_64-linux-gnu/libz.so.1.2.13 /usr/lib/x86_64-linux-gnu/libz.so.1"
        )
    );
    // The loader stops at the first missing library; the interpreter also
    // lacks libexpat, and the fix says so, so one round is enough.
    assert_eq!(
        lines.next(),
        Some("/usr/bin/python3.11 also needs libexpat.so.1, which the target lacks too:")
    );
    assert_eq!(
        lines.next(),
        Some(
            "COPY --from=builder /usr/lib/x86_64-linux-gnu/libexpat.so.1.8.10 /usr/lib/x86_64-linux-gnu/libexpat.so.1"
        )
    );
}

#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn import_bz2() {
    let v = explain("b-import-bz2.txt");
    let d = first(&v);
    assert_eq!(d["import"], "bz2");
    assert_eq!(
        d["chain"]["entry"],
        "/usr/lib/python3.11/lib-dynload/_bz2.cpython-311-x86_64-linux-gnu.so"
    );
    assert_eq!(d["chain"]["links"][0]["needed"], "libbz2.so.1.0");
    assert_eq!(
        d["in_builder"],
        serde_json::json!(["/usr/lib/x86_64-linux-gnu/libbz2.so.1.0.4"])
    );
    assert_eq!(d["owner"]["package"], "libbz2-1.0");
    assert!(
        fix(d).contains("/usr/lib/x86_64-linux-gnu/libbz2.so.1.0"),
        "{}",
        fix(d)
    );
}

/// pandas imports ctypes (pandas/errors/__init__.py), whose _ctypes needs
/// libffi.so.8: the diagnosis names ctypes and libffi, not pandas.
#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn import_pandas_fails_through_ctypes() {
    let v = explain("c1-import-pandas-libffi.txt");
    let d = first(&v);
    assert_eq!(d["finding"]["failure"]["library"], "libffi.so.8");
    assert_eq!(d["import"], "ctypes");
    assert_eq!(
        d["chain"]["entry"],
        "/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so"
    );
    assert_eq!(d["owner"]["package"], "libffi8");
    assert_eq!(
        fix(d),
        "COPY --from=builder /usr/lib/x86_64-linux-gnu/libffi.so.8.1.2 /usr/lib/x86_64-linux-gnu/libffi.so.8"
    );
}

/// Debian 13's python3.13 on a Debian 12 base: the way out is a debian13
/// target.
#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn glibc_version_error_points_to_debian13() {
    let v = explain("d3-python313-glibc238.txt");
    let all = v["failures"].as_array().unwrap();
    assert_eq!(all.len(), 2, "libm.so.6 and libc.so.6: {v}");
    for d in all {
        assert_eq!(d["finding"]["failure"]["version"], "GLIBC_2.38");
        assert_eq!(
            d["finding"]["failure"]["required_by"],
            "/usr/bin/python3.13"
        );
        assert!(fix(d).contains("distroless/cc-debian13"), "{}", fix(d));
    }
}

/// numpy's re-raise hides the cause; the diagnosis finds it, and knows the
/// file belongs to the wheel the user copies.
#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn numpy_vendored_library() {
    let v = explain("e1-numpy-libgfortran.txt");
    let d = first(&v);
    assert_eq!(d["import"], "numpy");
    assert_eq!(d["owner"]["name"], "numpy");
    assert!(fix(d).contains("numpy.libs"), "{}", fix(d));
}

fn ldslim_json(args: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(args)
        .output()
        .expect("ldslim runs");
    assert_ne!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("json")
}

/// `scan --owners`: each copied file names its Debian package.
#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn scan_names_the_owner_of_each_copied_file() {
    let root = std::env::var("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT");
    let v = ldslim_json(&["scan", &root, "--owners", "--format", "json"]);
    let owners = &v["plan"]["owners"];
    assert_eq!(
        owners["/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"]["package"], "zlib1g",
        "{owners}"
    );
    assert_eq!(
        owners["/usr/lib/x86_64-linux-gnu/libffi.so.8.1.2"]["package"],
        "libffi8"
    );
    // The Python scope was used and reported.
    let inst = &v["python"]["installations"][0];
    assert_eq!(inst["interpreter"], "/usr/bin/python3.11");
}

/// `why libbz2.so.1.0`: the chain from _bz2 (import bz2), and the target
/// lacks it.
#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn why_libbz2() {
    let root = std::env::var("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT");
    let v = ldslim_json(&["why", &root, "libbz2.so.1.0", "--format", "json"]);
    assert_eq!(
        v["files"],
        serde_json::json!(["/usr/lib/x86_64-linux-gnu/libbz2.so.1.0.4"])
    );
    let chains = v["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 1, "{v}");
    assert_eq!(
        chains[0]["entry"],
        "/usr/lib/python3.11/lib-dynload/_bz2.cpython-311-x86_64-linux-gnu.so"
    );
    assert_eq!(chains[0]["links"][0]["needed"], "libbz2.so.1.0");
    assert_eq!(
        v["target"],
        "distroless/cc-debian12 (amd64, glibc 2.36, embedded)"
    );
    let copy: Vec<&str> = v["copy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dest"].as_str().unwrap())
        .collect();
    assert_eq!(
        copy,
        vec![
            "/usr/lib/x86_64-linux-gnu/libbz2.so.1.0",
            "/usr/lib/x86_64-linux-gnu/libbz2.so.1.0.4"
        ]
    );
    let text = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(["why", &root, "libbz2.so.1.0"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("_bz2.cpython-311-x86_64-linux-gnu.so (import bz2)"),
        "{text}"
    );
}

/// Scanning only a venv warns that its interpreter lives outside it.
#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn a_venv_alone_warns_about_its_interpreter() {
    let root = std::env::var("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT");
    let v = ldslim_json(&["scan", &root, "/app/.venv", "--format", "json"]);
    let warnings = v["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["object"] == "/app/.venv" && w["needed"] == "/usr/bin/python3.11"),
        "{warnings:?}"
    );
}
