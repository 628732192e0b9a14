//! `ldslim scan` as a user runs it: exit codes, reports, JSON, and files
//! that are not what their names say.

mod common;
mod pyworld;
use common::World;

#[test]
fn clean_root_exits_zero_and_counts_objects() {
    let w = World::new();
    w.lib("/usr/lib/x86_64-linux-gnu/libx.so.1", "libx.so.1", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &["/usr/lib/x86_64-linux-gnu/libx.so.1"],
        &[],
    );
    w.write("/usr/share/doc/readme", b"not an object");
    let o = w.ldslim("scan", &["--scope", "all", "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["schema"], "ldslim.scan/2");
    // app, libx, libc, ld.so
    assert_eq!(v["objects"], 4);
    assert_eq!(v["files"], 5);
    assert_eq!(v["unresolved"].as_array().map(Vec::len), Some(0));
    // The loader itself is an object with nothing to resolve.
    assert!(v["skipped"].as_array().unwrap().is_empty() || v["resolved"].as_u64() >= Some(3));
}

#[test]
fn missing_library_is_a_finding_with_the_search_listed() {
    let w = World::new();
    let gone = w.stub("libbz2.so.1.0");
    w.lib(
        "/usr/lib/python3.11/lib-dynload/_bz2.so",
        "_bz2.so",
        &[&gone],
        &[],
    );
    let o = w.ldslim("scan", &["/usr/lib/python3.11"]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(
            "not found: libbz2.so.1.0\n  needed by /usr/lib/python3.11/lib-dynload/_bz2.so\n  searched:\n    1. /lib/x86_64-linux-gnu/ [default path]\n    2. /usr/lib/x86_64-linux-gnu/ [default path]\n    3. /lib/ [default path]\n    4. /usr/lib/ [default path]\n"
        ),
        "{text}"
    );
    assert!(text.contains("1 not found"), "{text}");
}

/// A truncated ELF file, a FIFO and a device named like libraries, and a
/// symlink loop: each is reported or skipped, none stops or hangs the scan.
#[test]
fn bad_files_are_reported_and_the_scan_goes_on() {
    let w = World::new();
    w.lib(
        "/usr/lib/x86_64-linux-gnu/libgood.so.1",
        "libgood.so.1",
        &[],
        &[],
    );
    let good = std::fs::read(w.host("/usr/lib/x86_64-linux-gnu/libgood.so.1")).unwrap();
    w.write("/usr/lib/x86_64-linux-gnu/libtrunc.so.1", &good[..100]);
    let fifo = std::ffi::CString::new(
        w.host("/usr/lib/x86_64-linux-gnu/libfifo.so.1")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    w.symlink("libloop.so.1", "/usr/lib/x86_64-linux-gnu/libloop.so.1");
    w.symlink("/", "/usr/lib/x86_64-linux-gnu/up");
    // An executable that needs all of them.
    let needs: Vec<String> = [
        "libgood.so.1",
        "libtrunc.so.1",
        "libfifo.so.1",
        "libloop.so.1",
    ]
    .iter()
    .map(|n| w.stub(n))
    .collect();
    let needs: Vec<&str> = needs.iter().map(String::as_str).collect();
    w.exe("/usr/bin/app", &needs, &[]);
    let o = w.ldslim("scan", &["--scope", "all", "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["path"] == "/usr/lib/x86_64-linux-gnu/libtrunc.so.1"
                && e["message"]
                    .as_str()
                    .unwrap()
                    .contains("past the end of the file")),
        "{errors:?}"
    );
    // The executable's load stops at the truncated candidate, as glibc's would.
    let fatal = v["fatal"].as_array().unwrap();
    assert!(
        fatal.iter().any(|f| f["entry"] == "/usr/bin/app"),
        "{fatal:?}"
    );
    // The error names the file on stderr too.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("ldslim: /usr/lib/x86_64-linux-gnu/libtrunc.so.1: program header table"),
        "{stderr}"
    );
}

#[test]
fn tree_shows_the_reason_on_each_edge() {
    let w = World::new();
    w.lib("/opt/a/liba.so.1", "liba.so.1", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &["/opt/a/liba.so.1"],
        &["-Wl,--enable-new-dtags", "-Wl,-rpath,/opt/a"],
    );
    let o = w.ldslim("scan", &["--tree", "/usr/bin/app"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text,
        "/usr/bin/app [x86_64]\n\
         ├── liba.so.1 => /opt/a/liba.so.1 [runpath]\n\
         │   └── libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 [already loaded]\n\
         └── libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 [default path]\n    \
             └── ld-linux-x86-64.so.2 => /lib64/ld-linux-x86-64.so.2 [already loaded]\n"
    );
}

#[test]
fn usage_errors_exit_two() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(["scan", "/nonexistent/root"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/root"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(["scan", "--format", "yaml", "/"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Two runs print the same bytes (sorted output, no timing, no addresses).
#[test]
fn output_is_deterministic() {
    let w = World::new();
    for i in 0..20 {
        w.lib(
            &format!("/opt/l/lib{i}.so"),
            &format!("lib{i}.so"),
            &[],
            &[],
        );
    }
    let gone = w.stub("libmissing.so.1");
    w.exe(
        "/usr/bin/app",
        &["/opt/l/lib3.so", &gone],
        &["-Wl,-rpath,/opt/l"],
    );
    let a = w.ldslim("scan", &["--scope", "all", "--format", "json"]);
    let b = w.ldslim("scan", &["--scope", "all", "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
    let a = w.ldslim("scan", &["--scope", "all"]);
    let b = w.ldslim("scan", &["--scope", "all"]);
    assert_eq!(a.stdout, b.stdout);
}

/// /proc, /sys and /dev at the top of a root are never walked (on a live
/// system they are pseudo filesystems); the same names deeper are.
#[test]
fn pseudo_filesystems_are_not_walked() {
    let w = World::new();
    w.lib("/proc/1/libhidden.so", "libhidden.so", &[], &[]);
    w.lib("/dev/libdev.so", "libdev.so", &[], &[]);
    w.lib("/opt/proc/libseen.so", "libseen.so", &[], &[]);
    let o = w.ldslim("scan", &["--scope", "all", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    // ld.so, libc, libseen
    assert_eq!(v["objects"], 3, "{v}");
}

/// The default scope is Python: a root without any says so, as the usage
/// error it is.
#[test]
fn a_root_without_python_says_so() {
    let w = World::new();
    let o = w.ldslim("scan", &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no Python installation found"), "{err}");
    assert!(err.contains(" --scope all`"), "{err}");
}

/// Objects the root has no loader for are findings that name the
/// mismatch, not silent skips: a library for another architecture (an
/// aarch64 wheel's extension in an x86-64 root), a program for musl libc.
#[test]
fn objects_for_another_system_are_findings_that_say_which() {
    let w = World::new();
    w.lib("/opt/app/libarm.so", "libarm.so", &[], &[]);
    w.patch("/opt/app/libarm.so", 18, &183u16.to_le_bytes());
    w.exe(
        "/opt/app/musl-tool",
        &[],
        &["-Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1"],
    );
    w.exe("/opt/app/fine", &[], &[]);
    let o = w.ldslim(
        "scan",
        &["/opt/app", "--target", "none", "--format", "json"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m: Vec<(String, String)> = v["mismatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0].0, "/opt/app/libarm.so");
    assert!(
        m[0].1.starts_with(
            "built for aarch64, and the root has no aarch64 loader (/lib/ld-linux-aarch64.so.1)"
        ),
        "{m:?}"
    );
    assert_eq!(m[1].0, "/opt/app/musl-tool");
    assert!(m[1].1.starts_with("built for musl libc"), "{m:?}");
    assert_eq!(v["skipped"], serde_json::json!([]), "{v:#}");
    // In text, each is named.
    let o = w.ldslim("scan", &["/opt/app", "--target", "none"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("mismatch: /opt/app/libarm.so: built for aarch64"),
        "{text}"
    );
    assert!(
        text.contains("mismatch: /opt/app/musl-tool: built for musl libc"),
        "{text}"
    );
}

/// An extension module built for CPython 3.12 in the site directory of a
/// 3.11 is never imported by it (its file name has no 3.11 suffix), though
/// it loads: a mismatch with the fix, in a site directory as in a
/// directory a `.pth` file adds. Modules tagged for 3.11, `abi3` and
/// untagged ones are fine.
#[test]
fn extension_module_for_another_python_is_a_mismatch() {
    let w = pyworld::clean_python_world();
    let site = "/usr/local/lib/python3.11/dist-packages/fast";
    w.lib(
        &format!("{site}/_speed.cpython-312-x86_64-linux-gnu.so"),
        "_speed.so",
        &[],
        &[],
    );
    w.lib(
        &format!("{site}/_ok.cpython-311-x86_64-linux-gnu.so"),
        "_ok.so",
        &[],
        &[],
    );
    w.lib(&format!("{site}/_stable.abi3.so"), "_stable.so", &[], &[]);
    w.lib(&format!("{site}/_plain.so"), "_plain.so", &[], &[]);
    // In the directory a user site's .pth file adds: on the import path too.
    w.lib(
        "/opt/extra/_pth.cpython-312-x86_64-linux-gnu.so",
        "_pth.so",
        &[],
        &[],
    );
    let o = w.ldslim("scan", &["--target", "none", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let mismatched = v["mismatched"].as_array().unwrap();
    assert_eq!(mismatched.len(), 2, "{v:#}");
    assert_eq!(
        mismatched[0]["path"],
        "/opt/extra/_pth.cpython-312-x86_64-linux-gnu.so"
    );
    let mismatched = &mismatched[1..];
    assert_eq!(
        mismatched[0]["path"],
        format!("{site}/_speed.cpython-312-x86_64-linux-gnu.so")
    );
    let message = mismatched[0]["message"].as_str().unwrap();
    assert!(message.contains("CPython 3.12"), "{message}");
    assert!(message.contains("3.11 (/usr/bin/python3.11)"), "{message}");
    assert!(
        message.contains("pip install --python-version 3.11"),
        "{message}"
    );
    assert_eq!(o.status.code(), Some(1), "{v:#}");

    let o = w.ldslim("scan", &["--target", "none"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(&format!(
            "mismatch: {site}/_speed.cpython-312-x86_64-linux-gnu.so: an extension module for CPython 3.12"
        )),
        "{text}"
    );

    // Without them, the same world is clean.
    std::fs::remove_file(w.host(&format!("{site}/_speed.cpython-312-x86_64-linux-gnu.so")))
        .unwrap();
    std::fs::remove_file(w.host("/opt/extra/_pth.cpython-312-x86_64-linux-gnu.so")).unwrap();
    let o = w.ldslim("scan", &["--target", "none", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["mismatched"], serde_json::json!([]), "{v:#}");
    assert_eq!(o.status.code(), Some(0), "{v:#}");
}
