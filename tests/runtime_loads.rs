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

/// The libraries and paths of the copy group `needed_by` names (pairs of
/// kind and name).
fn group(v: &Value, needed_by: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let want: Vec<Value> = needed_by
        .iter()
        .map(|(kind, name)| serde_json::json!({ "kind": kind, "name": name }))
        .collect();
    let groups = v["plan"]["groups"].as_array().expect("plan.groups");
    let g = groups
        .iter()
        .find(|g| g["needed_by"].as_array() == Some(&want))
        .unwrap_or_else(|| panic!("no group of {needed_by:?}: {groups:#?}"));
    let strings = |k: &str| -> Vec<String> {
        g[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    (strings("libraries"), strings("paths"))
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
    // What the run-time load copies, its closure and find_library's
    // support included, is the group of the package whose code loads it.
    let (libs, paths) = group(&v, &[("import", "pkgfind")]);
    assert_eq!(libs, ["libdep.so.1", "libfoo.so.1"]);
    assert_eq!(
        paths,
        [
            "/etc/ld.so.cache",
            "/sbin/ldconfig",
            "/usr/lib/x86_64-linux-gnu/libdep.so.1",
            "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
            "/usr/lib/x86_64-linux-gnu/libfoo.so.1.0",
        ]
    );
    assert_eq!(group(&v, &[("import", "pkgname")]).0, ["libbar.so.2"]);
    // Said in text, why each file is there.
    let (code, t) = text(&w, &target, &["--detail"]);
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
            "\t/lib64/ld-linux-x86-64.so.2",
        ]
    );
}

const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";

/// A package whose extension module links `lib` (in the builder's
/// library directory), so that the library is in the image.
fn linked_by_extension(w: &World, pkg: &str, lib: &str) {
    w.lib(
        &format!("{SITE}/{pkg}/_ext.cpython-311-x86_64-linux-gnu.so"),
        "_ext.so",
        &[&format!("{LIBDIR}/{lib}")],
        &[],
    );
}

fn shared(w: &World, src: &str, soname: &str, needs: &[&str], flags: &[&str]) {
    let mut f = vec!["-shared", "-fPIC"];
    let so = format!("-Wl,-soname,{soname}");
    f.push(&so);
    f.extend_from_slice(flags);
    w.exe_from(src, &format!("{LIBDIR}/{soname}"), needs, &f);
}

/// testdata/rules/dlopen_note.c declares a required load (two
/// alternatives, the builder has the second), a recommended one and a
/// suggested one, and carries a note that is not JSON.
#[test]
fn loads_declared_in_dlopen_notes_are_planned_and_checked() {
    let w = runtime_world(&[]);
    w.lib(
        &format!("{LIBDIR}/libreq.so.1"),
        "libreq.so.1",
        &[&format!("{LIBDIR}/libdep.so.1")],
        &[],
    );
    w.lib(&format!("{LIBDIR}/librec.so.1"), "librec.so.1", &[], &[]);
    w.lib(&format!("{LIBDIR}/libsug.so.1"), "libsug.so.1", &[], &[]);
    shared(&w, "dlopen_note.c", "libnoted.so.1", &[], &[]);
    linked_by_extension(&w, "pkgnote", "libnoted.so.1");
    let target = World::new();
    let (code, v, _) = scan(&w, &target, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    let d = dests(&v);
    let lib = |n: &str| format!("{LIBDIR}/{n}");
    for copied in ["libnoted.so.1", "libreq.so.1", "libdep.so.1", "librec.so.1"] {
        assert!(d.contains(&lib(copied)), "{copied} not copied: {d:?}");
    }
    assert!(
        !d.contains(&lib("libsug.so.1")),
        "a suggested load is not copied: {d:?}"
    );
    let declared = v["plan"]["declared"].as_array().unwrap();
    let by = |p: &str| declared.iter().find(|x| x["priority"] == p).unwrap();
    assert_eq!(
        by("required")["sonames"],
        serde_json::json!(["libzip9.so.9", "libreq.so.1"])
    );
    assert_eq!(by("required")["object"], lib("libnoted.so.1"));
    assert_eq!(by("required")["builder"]["path"], lib("libreq.so.1"));
    assert_eq!(by("required")["image"]["outcome"], "found");
    assert_eq!(by("recommended")["feature"], "fmt");
    assert_eq!(by("recommended")["image"]["outcome"], "found");
    assert_eq!(by("suggested")["image"]["outcome"], "not_found");
    assert_eq!(v["plan"]["verdict"], "loads");
    let problems = &v["plan"]["declared_problems"][lib("libnoted.so.1")];
    assert!(
        problems[0].as_str().unwrap().contains("not JSON"),
        "{problems}"
    );
    // A declared load counts as what loads the object declaring it: the
    // extension module that needs libnoted; libdep, which libfoo (loaded
    // by pkgfind's code) needs too, is theirs together.
    assert_eq!(
        group(&v, &[("import", "pkgnote")]).0,
        ["libnoted.so.1", "librec.so.1", "libreq.so.1"]
    );
    assert_eq!(
        group(&v, &[("import", "pkgfind"), ("import", "pkgnote")]).0,
        ["libdep.so.1"]
    );
    let (_, t) = text(&w, &target, &["--detail"]);
    assert!(
        t.contains(&format!(
            "needed by {} (at run time: dlopen(\"libreq.so.1\"), declared in its .note.dlopen)",
            lib("libnoted.so.1")
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "note: {} declares libsug.so.1 (suggested, feature extra) in .note.dlopen as suggested: not copied",
            lib("libnoted.so.1")
        )),
        "{t}"
    );
    assert!(
        t.contains("; 2 loads declared in .note.dlopen checked"),
        "{t}"
    );

    // The builder lacks what a required entry names: the image cannot
    // have it either, and the plan does not pretend otherwise.
    std::fs::remove_file(w.host(&lib("libreq.so.1"))).unwrap();
    let (_, v, _) = scan(&w, &target, &[]);
    let declared = v["plan"]["declared"].as_array().unwrap();
    let req = declared
        .iter()
        .find(|x| x["priority"] == "required")
        .unwrap();
    assert_eq!(req["builder"]["outcome"], "not_found");
    assert!(
        req["builder"]["why"]
            .as_str()
            .unwrap()
            .contains("libzip9.so.9"),
        "{req}"
    );
}

/// testdata/rules/plughost.c calls dlopen and names a library, a data
/// file, the resolver's configuration and a debug link; a directory of
/// plugins named after it sits next to it.
fn plughost_world(dlopen: bool) -> World {
    let w = runtime_world(&[]);
    let flags: &[&str] = if dlopen { &[] } else { &["-DNO_DLOPEN"] };
    shared(&w, "plughost.c", "libplughost.so.1", &[], flags);
    linked_by_extension(&w, "pkgplug", "libplughost.so.1");
    w.lib(
        &format!("{LIBDIR}/libplugdep.so.3"),
        "libplugdep.so.3",
        &[],
        &[],
    );
    w.lib(
        &format!("{LIBDIR}/libmoddep.so.1"),
        "libmoddep.so.1",
        &[],
        &[],
    );
    w.lib(
        &format!("{LIBDIR}/plughost-modules/2.0/mod-a.so"),
        "mod-a.so",
        &[&format!("{LIBDIR}/libmoddep.so.1")],
        &[],
    );
    w.write("/usr/share/plughost/plughost.conf", b"modules=a\n");
    w.write("/etc/resolv.conf", b"nameserver 192.0.2.1\n");
    w
}

#[test]
fn possible_run_time_loads_leave_the_image_unverified() {
    let w = plughost_world(true);
    let target = World::new();
    let (code, v, err) = scan(&w, &target, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["plan"]["verdict"], "unverified");
    assert_eq!(v["plan"]["loads"], false);
    assert!(
        err.contains("is not verified: 3 possible run-time loads"),
        "{err}"
    );
    let host = format!("{LIBDIR}/libplughost.so.1");
    let mut got: Vec<(String, String, String)> = v["plan"]["unverified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert_eq!(u["object"], host.as_str());
            assert_eq!(u["soname"], "libplughost.so.1");
            assert_eq!(u["calls"], serde_json::json!(["dlopen"]));
            (
                u["named"]["kind"].as_str().unwrap().to_string(),
                u["named"]["name"].as_str().unwrap().to_string(),
                u["builder"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        got,
        [
            s(
                "data",
                "/usr/share/plughost/plughost.conf",
                "/usr/share/plughost/plughost.conf"
            ),
            s(
                "library",
                "libplugdep.so.3",
                &format!("{LIBDIR}/libplugdep.so.3")
            ),
            s(
                "plugin_dir",
                &format!("{LIBDIR}/plughost-modules"),
                &format!("{LIBDIR}/plughost-modules")
            ),
        ]
    );
    let (_, t) = text(&w, &target, &[]);
    assert!(
        t.contains(&format!(
            "unverified: {host} calls dlopen and:\n   may dlopen libplugdep.so.3 (the builder has {LIBDIR}/libplugdep.so.3; the image does not)\n"
        )),
        "{t}"
    );
    assert!(
        t.contains(
            "   may read /usr/share/plughost/plughost.conf (in the builder, not in the image)\n"
        ),
        "{t}"
    );
    assert!(t.contains(&format!("   may load plugins from {LIBDIR}/plughost-modules (in the builder, not in the image)\n")), "{t}");
    assert!(
        t.contains("or accept them with --allow-runtime libplughost.so.1"),
        "{t}"
    );
    assert!(t.contains("final image: NOT VERIFIED: all "), "{t}");
    let tg = target.root.display().to_string();
    let o = w.ldslim("scan", &["--target", &tg, "--format", "github"]);
    assert_eq!(o.status.code(), Some(1));
    let gh = String::from_utf8_lossy(&o.stdout);
    assert!(
        gh.contains("::error file=") && gh.contains("may load plugins from"),
        "{gh}"
    );

    // Accepted by the library's soname: verified as far as ldslim goes.
    let (code, v, err) = scan(&w, &target, &["--allow-runtime", "libplughost.so.1"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["plan"]["verdict"], "loads");
    assert!(
        v["plan"]["unverified"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["allowed"] == true)
    );
    assert!(
        !err.contains("--allow-runtime libplughost.so.1: no run-time load"),
        "{err}"
    );

    // Copied on the report's advice: the plugins come with their own
    // DT_NEEDED, and what is copied is no longer a possible load.
    let (code, v, _) = scan(
        &w,
        &target,
        &[
            "--include",
            &format!("{LIBDIR}/plughost-modules"),
            "--include",
            "/usr/share/plughost/plughost.conf",
            "--include",
            &format!("{LIBDIR}/libplugdep.so.3"),
            "--include",
            "/nonexistent/thing",
        ],
    );
    assert_eq!(code, Some(0), "{v:#}");
    let d = dests(&v);
    for p in [
        format!("{LIBDIR}/plughost-modules/2.0/mod-a.so"),
        format!("{LIBDIR}/libmoddep.so.1"),
        "/usr/share/plughost/plughost.conf".into(),
        format!("{LIBDIR}/libplugdep.so.3"),
    ] {
        assert!(d.contains(&p), "{p} not copied: {d:?}");
    }
    assert!(
        v["plan"]["unverified"].is_null(),
        "{:#}",
        v["plan"]["unverified"]
    );
    assert_eq!(
        v["plan"]["include_problems"],
        serde_json::json!(["--include /nonexistent/thing: not in the builder"])
    );
}

#[test]
fn names_without_a_loader_call_are_not_evidence() {
    let w = plughost_world(false);
    let target = World::new();
    let (code, v, _) = scan(&w, &target, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(
        v["plan"]["unverified"].is_null(),
        "{:#}",
        v["plan"]["unverified"]
    );
    // And nothing at all is looked for with --no-runtime.
    let w = plughost_world(true);
    let (code, v, _) = scan(&w, &target, &["--no-runtime"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["plan"]["verdict"], "loads");
}

/// The linker keeps `dlopen` only as the tail of `plugin_dlopen` in the
/// dynamic string table: the import is still seen.
#[test]
fn a_loader_call_stored_as_the_tail_of_another_name_counts() {
    let w = World::new();
    w.exe_from(
        "tailmerge.c",
        "/lib/libtm.so",
        &[],
        &["-shared", "-fPIC", "-Wl,-soname,libtm.so"],
    );
    let table = std::fs::read(w.host("/lib/libtm.so")).unwrap();
    assert!(
        !table.windows(8).any(|x| x == b"\0dlopen\0"),
        "the linker kept \"dlopen\" whole: this test needs a tail-merged table"
    );
    let f = ldslim::elf::SizedFile::open(w.host("/lib/libtm.so")).unwrap();
    let h = ldslim::elf::read_load_hints(
        &f,
        &ldslim::elf::LoaderCalls::new(ldslim::runtime::native::LOADER_CALLS),
        ldslim::runtime::native::NAMED_LOAD_MARKS,
        &ldslim::runtime::native::is_named_load,
    )
    .unwrap();
    assert_eq!(h.calls, ["dlopen"]);
    assert_eq!(h.names, ["/usr/share/tailmerge/conf"]);
}

fn out(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `why` for libraries outside the DT_NEEDED graph: loaded at run time,
/// needed by one that is, in the builder but loaded by nothing, nowhere,
/// and in the target.
#[test]
fn why_tells_run_time_loads_and_never_claims_what_the_target_lacks() {
    let w = runtime_world(&[]);
    w.lib(
        &format!("{LIBDIR}/libunused.so.1"),
        "libunused.so.1",
        &[],
        &[],
    );
    let target = World::new();
    let tg = target.root.display().to_string();
    let why = |lib: &str| w.ldslim("why", &[lib, "--target", &tg]);

    let o = why("libfoo.so.1");
    let t = out(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("loaded at run time by the scope's Python code:\n"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "  {SITE}/pkgfind/__init__.py:2 ctypes.CDLL(ctypes.util.find_library('foo'))\n"
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "  which open {LIBDIR}/libfoo.so.1.0 as CDLL(find_library(\"foo\")), find_library(\"foo\")\n"
        )),
        "{t}"
    );
    assert!(t.contains("lacks it; the plan copies:\n"), "{t}");
    assert!(t.contains(&format!("    {LIBDIR}/libfoo.so.1.0\n")), "{t}");

    // Needed by a library loaded at run time: the chain starts at the call.
    let o = why("libdep.so.1");
    let t = out(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!(
            "  {LIBDIR}/libfoo.so.1.0 (loaded at run time: {SITE}/pkgfind/__init__.py:2 (CDLL(find_library(\"foo\"))))\n     > libdep.so.1 => "
        )),
        "{t}"
    );

    // In the builder, loaded by nothing: found by name, and not copied.
    let o = why("libunused.so.1");
    let t = out(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "libunused.so.1: {LIBDIR}/libunused.so.1 in the builder (dlopen finds "
        )),
        "{t}"
    );
    assert!(t.contains("nothing in scope loads it"), "{t}");
    assert!(
        t.contains(&format!(
            "lacks it; nothing in scope loads it, so the plan does not copy it (add it with `ldslim scan --include {LIBDIR}/libunused.so.1`"
        )),
        "{t}"
    );
    assert!(!t.contains("provides it"), "{t}");

    // Nowhere: the target does not "provide" it.
    let o = why("libnosuch.so.9");
    let t = out(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("libnosuch.so.9: not in the builder (dlopen(libnosuch.so.9) finds nothing"),
        "{t}"
    );
    assert!(t.contains("lacks it, and so does the builder"), "{t}");
    assert!(!t.contains("provides it"), "{t}");

    // What the target has, it provides, and says where.
    let t = out(&why("libc.so.6"));
    assert!(
        t.contains("provides it (/lib/x86_64-linux-gnu/libc.so.6); nothing to copy"),
        "{t}"
    );

    // The same in JSON.
    let o = w.ldslim(
        "why",
        &["libunused.so.1", "--target", &tg, "--format", "json"],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema"], "ldslim.why/2");
    assert_eq!(v["builder"]["outcome"], "found");
    assert!(v["in_target"].is_null());
    assert_eq!(v["copy"], serde_json::json!([]));
    let o = w.ldslim("why", &["libfoo.so.1", "--target", &tg, "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["runtime"][0]["package"], format!("{SITE}/pkgfind"));
    assert_eq!(v["runtime"][0]["ways"][0]["by"], "find_and_open");
}

/// `explain` on what run-time loaders print, tied to the builder's file
/// and the exact fix.
#[test]
fn explain_ties_run_time_load_messages_to_the_builder() {
    let w = runtime_world(&[]);
    let target = World::new();
    let tg = target.root.display().to_string();
    let explain = |msg: &str| w.ldslim("explain", &[msg, "--target", &tg]);

    // CDLL by soname.
    let o =
        explain("OSError: libbar.so.2: cannot open shared object file: No such file or directory");
    let t = out(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!("in the builder: {LIBDIR}/libbar.so.2")),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "COPY --from=builder {LIBDIR}/libbar.so.2 {LIBDIR}/"
        )),
        "{t}"
    );
    assert!(!t.contains("not in the builder either"), "{t}");

    // cffi's message: the library with its own DT_NEEDED, no stray quote.
    let msg = format!(
        "Traceback (most recent call last):\n  File \"{SITE}/pkgfind/__init__.py\", line 2, in <module>\nOSError: cannot load library 'libfoo.so.1': libfoo.so.1: cannot open shared object file: No such file or directory.  Additionally, ctypes.util.find_library() did not manage to locate a library called 'libfoo.so.1'\n"
    );
    let o = w.ldslim("explain", &[&msg, "--target", &tg, "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = &v["failures"][0];
    assert_eq!(a["finding"]["object"], Value::Null, "{a:#}");
    let fix = a["fix"].to_string();
    assert!(
        fix.contains("libfoo.so.1.0") && fix.contains("libdep.so.1"),
        "{a:#}"
    );
    assert!(
        a["loaded_by"]
            .as_str()
            .is_some_and(|c| c.starts_with(&format!("{SITE}/pkgfind/__init__.py:2 ctypes."))),
        "{a:#}"
    );

    // find_library returning None, in the package's words.
    let o = explain("OSError: foo library not found");
    let t = out(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("it looked for the foo library by name and found none"),
        "{t}"
    );
    assert!(
        t.contains(&format!("in the builder: {LIBDIR}/libfoo.so.1.0")),
        "{t}"
    );
    assert!(
        t.contains("COPY --from=builder /sbin/ldconfig /sbin/\n"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "COPY --from=builder {LIBDIR}/libdep.so.1 {LIBDIR}/\n"
        )),
        "{t}"
    );
    assert!(
        t.contains("/etc/ld.so.cache ldslim writes, which lists libfoo.so.1"),
        "{t}"
    );

    // A library the builder lacks too.
    let t = out(&explain(
        "ImportError: failed to find libmagic.  Check your installation",
    ));
    assert!(
        t.contains("no library libmagic.so* in the builder either"),
        "{t}"
    );

    // Names for other systems next to the Linux one are not findings.
    let msg = "OSError: no library called \"foo\" was found\ncannot load library 'libfoo.so.1': libfoo.so.1: cannot open shared object file: No such file or directory\ncannot load library 'libfoo.1.dylib': libfoo.1.dylib: cannot open shared object file: No such file or directory\ncannot load library 'libfoo-1.dll': libfoo-1.dll: cannot open shared object file: No such file or directory\n";
    let o = w.ldslim("explain", &[msg, "--target", &tg, "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{v:#}");
    assert_eq!(failures[0]["finding"]["failure"]["library"], "libfoo.so.1");
}

/// `--include` on what a hostile builder holds: a symlink to `/`, a
/// symlink loop, a FIFO, a dangling link. Each is a named problem, the
/// scan goes on, nothing outside the root is read or copied, nothing
/// blocks.
#[test]
fn include_of_hostile_paths_is_reported_and_stays_inside_the_root() {
    let w = runtime_world(&[]);
    w.mkdir("/opt/data");
    w.write("/opt/data/ok.conf", b"x\n");
    std::os::unix::fs::symlink("/", w.host("/opt/to-root")).unwrap();
    std::os::unix::fs::symlink("/opt/loop", w.host("/opt/loop")).unwrap();
    std::os::unix::fs::symlink("/nowhere", w.host("/opt/dangling")).unwrap();
    let fifo =
        std::ffi::CString::new(w.host("/opt/data/fifo").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: plain system call with a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let fifo2 = std::ffi::CString::new(w.host("/opt/fifo").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::mkfifo(fifo2.as_ptr(), 0o644) }, 0);
    let target = World::new();
    let (code, v, err) = scan(
        &w,
        &target,
        &[
            "--include",
            "/opt/to-root",
            "--include",
            "/opt/loop",
            "--include",
            "/opt/dangling",
            "--include",
            "/opt/fifo",
            "--include",
            "/opt/data",
            "--include",
            "relative/path",
            "--include",
            "/",
        ],
    );
    assert_ne!(code, Some(2), "{err}");
    let problems: Vec<String> = v["plan"]["include_problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let has = |inc: &str, what: &str| {
        problems
            .iter()
            .any(|p| p.starts_with(&format!("--include {inc}: ")) && p.contains(what))
    };
    assert!(has("/opt/to-root", "root itself"), "{problems:?}");
    assert!(has("/opt/loop", "loop"), "{problems:?}");
    assert!(has("/opt/dangling", "dangling"), "{problems:?}");
    assert!(
        has("/opt/fifo", "not a file, a directory or a symlink"),
        "{problems:?}"
    );
    assert!(has("relative/path", "not an absolute path"), "{problems:?}");
    assert!(has("/", "root itself"), "{problems:?}");
    // The directory's file is copied, its FIFO is not; every source is a
    // builder path.
    let items = v["plan"]["copy"]["items"].as_array().unwrap();
    let srcs: Vec<&str> = items.iter().map(|i| i["src"].as_str().unwrap()).collect();
    assert!(srcs.contains(&"/opt/data/ok.conf"), "{srcs:?}");
    assert!(!srcs.iter().any(|s| s.contains("fifo")), "{srcs:?}");
    for i in items {
        assert!(i["src"].as_str().unwrap().starts_with('/'));
    }
}
