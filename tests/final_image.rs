//! End to end: a Debian 12 builder with python3, numpy and pandas; a
//! distroless-cc-debian12-like base made from Debian's own packages (no
//! ld.so.cache); the interpreter, stdlib and dist-packages copied into
//! it. Without ldslim's files Python does not start; with them (and only
//! them) `import pandas, bz2, lzma, sqlite3, ctypes, ssl` works, run by
//! glibc itself under chroot.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the user copies from the builder themselves.
const SCOPE: &[&str] = &[
    "/usr/bin/python3",
    "/usr/bin/python3.11",
    "/usr/lib/python3.11",
    "/usr/lib/python3",
    "/usr/local/lib/python3.11",
];

const IMPORTS: &str = "import pandas, bz2, lzma, sqlite3, ctypes, ssl; \
    print(int(pandas.DataFrame({'a': [1, 2, 3]}).a.sum()), bz2.decompress(bz2.compress(b'ok')).decode())";

fn builder() -> PathBuf {
    PathBuf::from(std::env::var("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT: run scripts/test.sh"))
}

/// The distroless-like base, built (or reused) by the repo's script.
fn base() -> PathBuf {
    base_of("cc")
}

fn base_of(flavor: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/distroless-root.sh");
    let o = Command::new("bash")
        .arg(script)
        .args(["bookworm", "amd64", flavor])
        .output()
        .expect("distroless-root.sh runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    PathBuf::from(text.lines().last().expect("a path").trim())
}

/// base + the scope, as a user's Dockerfile would assemble it.
fn assemble(base: &Path, builder: &Path, dir: &Path) {
    common::cp_a(base, dir);
    for p in SCOPE {
        let rel = p.trim_start_matches('/');
        common::cp_a(&builder.join(rel), &dir.join(rel));
    }
}

fn python(root: &Path) -> std::process::Output {
    common::chrooted(root, "/usr/bin/python3")
        .args(["-c", IMPORTS])
        .env_clear()
        .output()
        .expect("python runs")
}

fn ldslim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(args)
        .output()
        .expect("ldslim runs")
}

/// The plan a scan wrote to `report`, once the scan's exit agrees with it:
/// 0 when everything loads; 1 when everything ldslim resolves loads but
/// copied libraries may load at run time what the base lacks (a glibc
/// copied onto a base without one names its gconv modules, say) — python
/// running in the image below is the judge of those.
fn planned(o: &std::process::Output, report: &Path, what: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    let plan = &v["plan"];
    let expected = match plan["verdict"].as_str() {
        Some("loads") => Some(0),
        Some("unverified") => Some(1),
        _ => panic!("{what}: the image would not load: {plan}"),
    };
    assert_eq!(
        o.status.code(),
        expected,
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(plan["missing"], serde_json::json!([]), "{what}");
    v
}

#[test]
#[ignore = "needs the Debian root and root privileges; run scripts/test.sh"]
fn python_runs_in_the_final_image_with_exactly_the_emitted_files() {
    let builder = builder();
    let base = base();
    let tmp = tempfile::tempdir().unwrap();

    // Negative control: the scope alone on the base.
    let bare = tmp.path().join("bare");
    assemble(&base, &builder, &bare);
    let o = python(&bare);
    assert!(
        !o.status.success(),
        "python unexpectedly ran without ldslim's files"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("libz.so.1: cannot open shared object file"),
        "{err}"
    );

    // ldslim plans against the base directory and copies into the image.
    let fin = tmp.path().join("final");
    assemble(&base, &builder, &fin);
    let report = tmp.path().join("plan.json");
    let mut args: Vec<String> = vec!["scan".into(), builder.display().to_string()];
    args.extend(SCOPE.iter().map(|s| s.to_string()));
    args.extend([
        "--target".into(),
        base.display().to_string(),
        format!("--emit=copy={}", fin.display()),
        format!("--emit=json={}", report.display()),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let v = planned(&ldslim(&argv), &report, "cc");
    let plan = &v["plan"];

    // glibc, under chroot, runs it.
    let o = python(&fin);
    assert!(
        o.status.success(),
        "python failed in the final image: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "6 ok");

    // The core resolver agrees: everything in the image resolves there.
    let mut check: Vec<&str> = vec!["scan", fin.to_str().unwrap()];
    check.extend(SCOPE);
    check.extend(["--target", "none"]);
    let o = ldslim(&check);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // Nothing the base already has was copied.
    let items = plan["copy"]["items"].as_array().unwrap();
    for it in items {
        let dest = it["dest"].as_str().unwrap();
        assert!(
            !base.join(dest.trim_start_matches('/')).exists(),
            "{dest} is already in the base"
        );
    }
    for lib in [
        "libc.so.6",
        "libssl.so.3",
        "libcrypto.so.3",
        "libstdc++.so.6",
        "libgcc_s.so.1",
    ] {
        assert!(
            !items.iter().any(|i| i["needed_as"] == lib),
            "{lib} copied although the cc base has it"
        );
    }

    // The embedded cc-debian12 target gives the same plan as the real base
    // (as emitted: with the same dpkg records).
    let mut emb: Vec<&str> = vec!["scan", builder.to_str().unwrap()];
    emb.extend(SCOPE);
    emb.extend(["--emit", "json"]);
    let o = ldslim(&emb);
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let dests = |p: &serde_json::Value| -> Vec<String> {
        p["copy"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["dest"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        dests(&e["plan"]),
        dests(plan),
        "embedded target and real base disagree"
    );

    let files = items.iter().filter(|i| i["kind"]["type"] == "file").count();
    let summary = format!(
        "final image: {} paths added ({} files, {} symlinks), {} bytes; python {}",
        items.len(),
        files,
        items.len() - files,
        plan["bytes"],
        String::from_utf8_lossy(&python(&fin).stdout).trim()
    );
    eprintln!("{summary}");
    let _ = std::fs::write(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/final-image-report.txt"),
        format!(
            "{summary}\n{}\n",
            serde_json::to_string_pretty(&plan["copy"]).unwrap()
        ),
    );
}

/// Every kind of debian12 base: the plan copies what that base lacks (for
/// `static`, the loader and libc too) and Python runs on each.
#[test]
#[ignore = "needs the Debian root and root privileges; run scripts/test.sh"]
fn each_base_kind_gets_what_it_lacks() {
    let builder = builder();
    // (flavor, libraries the plan must copy, libraries it must not)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "static",
            &["libc.so.6", "/lib64/ld-linux-x86-64.so.2", "libz.so.1"],
            &[],
        ),
        (
            "base-nossl",
            &["libssl.so.3", "libcrypto.so.3", "libz.so.1"],
            &["libc.so.6"],
        ),
        (
            "base",
            &["libz.so.1"],
            &["libc.so.6", "libssl.so.3", "libcrypto.so.3"],
        ),
        (
            "cc",
            &["libz.so.1"],
            &[
                "libc.so.6",
                "libssl.so.3",
                "libstdc++.so.6",
                "libgcc_s.so.1",
            ],
        ),
    ];
    for (flavor, copied, kept) in cases {
        let base = base_of(flavor);
        let tmp = tempfile::tempdir().unwrap();
        let fin = tmp.path().join("final");
        assemble(&base, &builder, &fin);
        let report = tmp.path().join("plan.json");
        let mut args: Vec<String> = vec!["scan".into(), builder.display().to_string()];
        args.extend(SCOPE.iter().map(|s| s.to_string()));
        args.extend([
            "--target".into(),
            base.display().to_string(),
            format!("--emit=copy={}", fin.display()),
            format!("--emit=json={}", report.display()),
        ]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = planned(&ldslim(&argv), &report, flavor);
        let items = v["plan"]["copy"]["items"].as_array().unwrap();
        let needed: Vec<&str> = items
            .iter()
            .filter_map(|i| i["needed_as"].as_str())
            .collect();
        for lib in *copied {
            assert!(
                needed.contains(lib),
                "{flavor}: {lib} not copied: {needed:?}"
            );
        }
        for lib in *kept {
            assert!(
                !needed.contains(lib),
                "{flavor}: {lib} copied although the base has it"
            );
        }
        let o = python(&fin);
        assert!(
            o.status.success(),
            "{flavor}: python failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "6 ok",
            "{flavor}"
        );
        eprintln!(
            "{flavor}: {} paths, {} bytes added; python ran",
            items.len(),
            v["plan"]["bytes"]
        );
    }
}
