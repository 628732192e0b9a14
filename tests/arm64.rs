//! arm64 end to end, from an amd64 host: the plan for an arm64 builder
//! (scripts/make-arm64-root.sh) is the amd64 plan up to the directory
//! names, against the embedded `cc-debian12:arm64` and against an arm64
//! base extracted from Debian's packages (scripts/distroless-root.sh); the
//! default target follows the builder's architecture; and Python with
//! numpy and pandas — the pandas app of tests/apps.rs among it — runs in
//! the image built from the plan, under qemu-aarch64-static by chroot, as
//! the nonroot user.

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The standard library's scope: what decides the plan of every app whose
/// wheels vendor their libraries.
const STDLIB: &[&str] = &["/usr/bin/python3.11", "/usr/lib/python3.11"];
const SITE: &str = "/usr/local/lib/python3.11/dist-packages";
const QEMU: &str = "/usr/bin/qemu-aarch64-static";

fn amd64_root() -> PathBuf {
    match std::env::var_os("LDSLIM_E2E_ROOT").filter(|v| !v.is_empty()) {
        Some(r) => PathBuf::from(r),
        None => common::script_root("make-root.sh", &[]),
    }
}

/// `ldslim scan ROOT SCOPE… [extra]` as JSON, with its exit code.
fn scan(root: &Path, scope: &[&str], extra: &[&str]) -> (Option<i32>, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .arg("scan")
        .arg(root)
        .args(scope)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("ldslim runs");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.code(), v, stderr)
}

/// The plan's items as (needed_as, dest) with the architecture's names
/// made neutral.
fn neutral(plan: &Value) -> BTreeSet<(String, String)> {
    plan["copy"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no plan: {plan:#}"))
        .iter()
        .map(|i| {
            let n = |k: &str| {
                i[k].as_str()
                    .unwrap()
                    .replace("aarch64-linux-gnu", "TRIPLET")
                    .replace("x86_64-linux-gnu", "TRIPLET")
            };
            (n("needed_as"), n("dest"))
        })
        .collect()
}

#[test]
#[ignore = "needs root, the network (debootstrap --foreign, PyPI, Debian packages) and the amd64 Debian root; run scripts/test.sh"]
fn the_arm64_plan_is_the_amd64_plan_up_to_the_directory_names() {
    assert!(common::can_chroot(), "needs root");
    let arm64 = common::script_root("make-arm64-root.sh", &[]);
    let amd64 = amd64_root();

    // No --target: each builder gets the cc image of its architecture.
    let (code, a, err) = scan(&arm64, STDLIB, &["--allow-runtime", "libkrb5.so.3"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        a["plan"]["target"],
        "distroless/cc-debian12 (arm64, glibc 2.36, embedded)"
    );
    let (code, x, err) = scan(&amd64, STDLIB, &["--allow-runtime", "libkrb5.so.3"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        x["plan"]["target"],
        "distroless/cc-debian12 (amd64, glibc 2.36, embedded)"
    );
    let (arm, amd) = (neutral(&a["plan"]), neutral(&x["plan"]));
    assert_eq!(
        arm,
        amd,
        "arm64 plan vs amd64 plan: only in arm64 {:?}; only in amd64 {:?}",
        arm.difference(&amd).collect::<Vec<_>>(),
        amd.difference(&arm).collect::<Vec<_>>()
    );
    assert!(arm.len() >= 20, "{arm:?}");
    assert!(
        a["plan"]["copy"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| !i["dest"].as_str().unwrap().contains("x86_64")),
        "{:#}",
        a["plan"]
    );

    // The same plan against an arm64 base extracted from Debian's
    // packages (a real /lib, no ld.so.cache, as distroless has).
    let base = common::script_root("distroless-root.sh", &["bookworm", "arm64", "cc"]);
    let t = base.display().to_string();
    let (code, b, err) = scan(
        &arm64,
        STDLIB,
        &["--target", &t, "--allow-runtime", "libkrb5.so.3"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(neutral(&b["plan"]), arm, "{:#}", b["plan"]);

    // An amd64 target for the arm64 builder is an error saying which is
    // which, by name and as an extracted image.
    let (code, _, err) = scan(&arm64, STDLIB, &["--target", "distroless/cc-debian12"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is amd64, but the scope is arm64"), "{err}");
    let amd64_base = common::script_root("distroless-root.sh", &["bookworm", "amd64", "cc"]);
    let (code, _, err) = scan(&arm64, STDLIB, &["--target", amd64_base.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is amd64, but the scope is arm64"), "{err}");
}

/// Run `python3.11 -c CODE` in `image` under qemu-user, by chroot, as
/// 65532: (success, stdout, stderr).
fn python_in(image: &Path, code: &str) -> (bool, String, String) {
    let _dev = common::DevMount::new(image);
    let dir = std::ffi::CString::new(image.as_os_str().as_encoded_bytes()).unwrap();
    let mut cmd = Command::new("/.qemu-aarch64-static");
    cmd.args(["/usr/bin/python3.11", "-c", code])
        .env_clear()
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null());
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::chroot(dir.as_ptr()) != 0
                || libc::chdir(c"/".as_ptr()) != 0
                || libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65532) != 0
                || libc::setuid(65532) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().expect("qemu runs");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs root, the network (debootstrap --foreign, PyPI, Debian packages) and qemu-user-static; run scripts/test.sh"]
fn pandas_runs_in_the_arm64_image_under_emulation() {
    assert!(common::can_chroot(), "needs root");
    let arm64 = common::script_root("make-arm64-root.sh", &[]);
    let base = common::script_root("distroless-root.sh", &["bookworm", "arm64", "cc"]);
    let tmp = tempfile::tempdir().unwrap();
    let assemble = |dir: &Path| {
        common::cp_a(&base, dir);
        for p in ["/usr/bin/python3.11", "/usr/lib/python3.11", SITE] {
            let rel = p.trim_start_matches('/');
            common::cp_a(&arm64.join(rel), &dir.join(rel));
        }
        // The emulator, for the test only, at a path nothing else uses.
        std::fs::copy(QEMU, dir.join(".qemu-aarch64-static")).unwrap();
    };
    let code = "import numpy, pandas, lxml.etree, yaml, bz2, lzma, sqlite3, ctypes, ssl; \
                print(int(pandas.DataFrame({'a': numpy.arange(4)}).a.sum()), lxml.etree.LXML_VERSION[0])";

    let bare = tmp.path().join("bare");
    assemble(&bare);
    let (ok, _, err) = python_in(&bare, code);
    assert!(!ok, "python ran without ldslim's files");
    assert!(err.contains("cannot open shared object file"), "{err}");

    let image = tmp.path().join("image");
    assemble(&image);
    let copy = format!("copy={}", image.display());
    let t = base.display().to_string();
    let (status, v, err) = scan(
        &arm64,
        &["/usr/bin/python3.11", "/usr/lib/python3.11", SITE],
        &[
            "--target",
            &t,
            "--emit",
            &copy,
            "--allow-runtime",
            "libkrb5.so.3",
        ],
    );
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(v["plan"]["verdict"], "loads", "{:#}", v["plan"]);
    let (ok, out, err) = python_in(&image, code);
    assert!(ok, "python in the arm64 image: {err}");
    assert_eq!(out.trim(), "6 5");
    // The pandas app of tests/apps.rs, with its known answer.
    let app = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/apps/pandas/main.py"),
    )
    .unwrap();
    let (ok, out, err) = python_in(&image, &app);
    assert!(ok, "the pandas app in the arm64 image: {err}");
    assert!(
        out.lines()
            .any(|l| l == "result: Lima=18 Oslo=27 Pune=11 rolling=15 trace=285"),
        "{out}"
    );
}
