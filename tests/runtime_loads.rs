//! Libraries Python code loads at run time (ctypes, cffi): found in the
//! source, resolved in the builder, planned and checked in the image, and
//! a finding when ldslim cannot say they will load.

mod common;
mod pyworld;

use common::World;
use pyworld::{SITE, runtime_world};
use serde_json::Value;

fn scan(w: &World, target: &World, extra: &[&str]) -> (Option<i32>, Value, String) {
    let t = target.root.display().to_string();
    let mut args = vec!["--target", t.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let o = w.ldslim("scan", &args);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("json: {e}: {}", String::from_utf8_lossy(&o.stderr)));
    (
        o.status.code(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn text(w: &World, target: &World, extra: &[&str]) -> (Option<i32>, String) {
    let t = target.root.display().to_string();
    let mut args = vec!["--target", t.as_str()];
    args.extend_from_slice(extra);
    let o = w.ldslim("scan", &args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

fn dests(v: &Value) -> Vec<String> {
    v["plan"]["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dest"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn find_library_and_soname_loads_are_planned_and_checked() {
    let w = runtime_world(&[]);
    let target = World::new();
    let (code, v, _) = scan(&w, &target, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    let loads = v["runtime"]["loads"].as_array().unwrap();
    let libs: Vec<(&str, &str)> = loads
        .iter()
        .map(|l| {
            (
                l["package"].as_str().unwrap(),
                l["library"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        libs,
        [
            (format!("{SITE}/pkgfind").as_str(), "foo"),
            (format!("{SITE}/pkgname").as_str(), "bar")
        ]
    );
    let foo = &loads[0]["tried"][0];
    assert_eq!(foo["way"]["by"], "find_and_open");
    assert_eq!(foo["builder"]["soname"], "libfoo.so.1");
    assert_eq!(
        foo["builder"]["real"],
        "/usr/lib/x86_64-linux-gnu/libfoo.so.1.0"
    );
    assert_eq!(loads[0]["calls"][0]["line"], 2);
    // The libraries (libdep for libfoo's own DT_NEEDED), and what
    // find_library runs.
    assert_eq!(
        dests(&v),
        [
            "/etc/ld.so.cache",
            "/sbin/ldconfig",
            "/usr/lib/x86_64-linux-gnu/libbar.so.2",
            "/usr/lib/x86_64-linux-gnu/libdep.so.1",
            "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
            "/usr/lib/x86_64-linux-gnu/libfoo.so.1.0",
            // For an extension module of the world (a DT_NEEDED).
            "/usr/lib/x86_64-linux-gnu/libx.so.1",
        ]
    );
    let cache = &v["plan"]["copy"]["items"][0]["kind"];
    assert_eq!(cache["type"], "generated");
    assert_eq!(cache["entries"][0]["name"], "libfoo.so.1");
    assert_eq!(
        cache["entries"][0]["path"],
        "/usr/lib/x86_64-linux-gnu/libfoo.so.1"
    );
    let fl = &v["plan"]["find_library"];
    assert_eq!(fl["added"], true);
    assert_eq!(fl["needed_by"][0], "find_library(\"foo\")");
    let checks = v["plan"]["runtime"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    for c in checks {
        for way in c["ways"].as_array().unwrap() {
            assert_eq!(way["image"]["outcome"], "found", "{c:#}");
        }
    }
    assert_eq!(v["plan"]["loads"], true);
    // Said in text, why each file is there.
    let (code, t) = text(&w, &target, &[]);
    assert_eq!(code, Some(0));
    assert!(
        t.contains(&format!(
            "needed by {SITE}/pkgfind/__init__.py:2 (at run time: CDLL(find_library(\"foo\")))"
        )),
        "{t}"
    );
    assert!(
        t.contains(
            "For ctypes.util.find_library (find_library(\"foo\")), which runs /sbin/ldconfig -p"
        ),
        "{t}"
    );
    assert!(
        t.contains("/etc/ld.so.cache (") && t.contains("written by ldslim; lists libfoo.so.1)"),
        "{t}"
    );
    assert!(
        t.contains("; 2 run-time loads (ctypes, cffi) checked as in the builder"),
        "{t}"
    );
    // A Dockerfile cannot copy what ldslim writes: it says so.
    let tg = target.root.display().to_string();
    let o = w.ldslim("scan", &["--target", &tg, "--emit", "dockerfile"]);
    let df = String::from_utf8_lossy(&o.stdout);
    assert!(!df.contains("COPY --from=builder /etc/ld.so.cache"), "{df}");
    assert!(
        df.contains("# not from the builder: /etc/ld.so.cache"),
        "{df}"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("/etc/ld.so.cache is written by ldslim"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_library_the_builder_lacks_is_a_finding_unless_accepted() {
    let w = runtime_world(&[(
        "pkgmiss/__init__.py",
        "import ctypes\nlib = ctypes.CDLL('libmissing.so.3')\n",
    )]);
    let target = World::new();
    let (code, v, _) = scan(&w, &target, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    let miss = v["runtime"]["loads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["library"] == "missing")
        .expect("the load");
    assert_eq!(miss["tried"][0]["builder"]["outcome"], "not_found");
    let (code, t) = text(&w, &target, &[]);
    assert_eq!(code, Some(1));
    assert!(
        t.contains(&format!(
            "not found at run time: missing (loaded by {SITE}/pkgmiss)\n  at {SITE}/pkgmiss/__init__.py:2 ctypes.CDLL('libmissing.so.3')\n  CDLL(\"libmissing.so.3\"): dlopen(libmissing.so.3) finds nothing: searched /etc/ld.so.cache [ld.so.cache]"
        )),
        "{t}"
    );
    assert!(
        t.contains("(accept it with --allow-runtime missing)"),
        "{t}"
    );
    // Accepted: no longer a finding, and still listed.
    let (code, v, _) = scan(&w, &target, &["--allow-runtime", "missing"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(
        v["runtime"]["loads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["library"] == "missing" && l["allowed"] == true)
    );
    // A name that matches nothing is said.
    let (_, _, err) = scan(
        &w,
        &target,
        &["--allow-runtime", "missing", "--allow-runtime", "nosuch"],
    );
    assert!(
        err.contains("--allow-runtime nosuch: no run-time load or call of the scope is named so"),
        "{err}"
    );
}

#[test]
fn a_load_ldslim_cannot_follow_is_a_finding_unless_accepted() {
    let w = runtime_world(&[(
        "pkgenv/__init__.py",
        "import ctypes, os\nlib = ctypes.CDLL(os.environ['MYLIB'])\n",
    )]);
    let target = World::new();
    let (code, v, _) = scan(&w, &target, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    let unknown = &v["runtime"]["unknown"][0];
    assert_eq!(unknown["line"], 2);
    assert_eq!(unknown["unknown"], "os.environ['MYLIB']");
    let (_, t) = text(&w, &target, &[]);
    let place = format!("{SITE}/pkgenv/__init__.py:2");
    assert!(
        t.contains(&format!(
            "run-time load ldslim cannot follow: {place} ctypes.CDLL(os.environ['MYLIB'])\n  the library is os.environ['MYLIB'], which only the running program knows\n  (accept it with --allow-runtime {place})"
        )),
        "{t}"
    );
    // The file's end is enough to name it.
    let (code, v, _) = scan(&w, &target, &["--allow-runtime", "pkgenv/__init__.py:2"]);
    assert_eq!(code, Some(0), "{v:#}");
    // The CI formats carry the same finding.
    let tg = target.root.display().to_string();
    let o = w.ldslim("scan", &["--target", &tg, "--format", "github"]);
    assert_eq!(o.status.code(), Some(1));
    let gh = String::from_utf8_lossy(&o.stdout);
    assert!(
        gh.contains("::error file=") && gh.contains("a run-time load ldslim cannot follow"),
        "{gh}"
    );
}

#[test]
fn without_find_library_support_those_loads_fail_in_the_image() {
    let w = runtime_world(&[]);
    let target = World::new();
    let (code, v, _) = scan(&w, &target, &["--no-find-library"]);
    assert_eq!(code, Some(1), "{v:#}");
    assert!(!dests(&v).contains(&"/sbin/ldconfig".to_string()), "{v:#}");
    assert!(
        !dests(&v).contains(&"/etc/ld.so.cache".to_string()),
        "{v:#}"
    );
    let fl = &v["plan"]["find_library"];
    assert_eq!(fl["added"], false);
    assert!(
        fl["problem"]
            .as_str()
            .unwrap()
            .contains("--no-find-library")
    );
    assert_eq!(v["plan"]["loads"], false);
    let (_, t) = text(&w, &target, &["--no-find-library"]);
    assert!(
        t.contains(&format!("error: foo (loaded at run time by {SITE}/pkgfind) will not load in the image:\n   CDLL(find_library(\"foo\")): find_library returns None: there is no /sbin/ldconfig")),
        "{t}"
    );
}

/// The image made from the plan, read by the real `ldconfig -p` and
/// glibc's loader: `find_library("foo")` would find libfoo.so.1, which
/// loads with its libdep.
#[test]
#[ignore = "needs root (chroot); run scripts/test.sh"]
fn the_emitted_image_serves_find_library() {
    assert!(common::can_chroot(), "needs root (chroot)");
    let w = runtime_world(&[]);
    let image = World::new();
    let copy = format!("copy={}", image.root.display());
    let t = image.root.display().to_string();
    let o = w.ldslim("scan", &["--target", &t, "--emit", &copy]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = common::chrooted(&image.root, "/sbin/ldconfig")
        .arg("-p")
        .env_clear()
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    // CPython's regex: \s+(libfoo\.[^\s]+)\s+\(libc6,x86-64
    assert!(
        listing.contains("\tlibfoo.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libfoo.so.1\n"),
        "{listing}"
    );
    assert_eq!(
        image
            .glibc("/usr/lib/x86_64-linux-gnu/libfoo.so.1", None)
            .unwrap(),
        [
            "\tlibdep.so.1 => /usr/lib/x86_64-linux-gnu/libdep.so.1",
            "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6",
            "\t/lib64/ld-linux-x86-64.so.2 => /lib64/ld-linux-x86-64.so.2",
        ]
    );
}
