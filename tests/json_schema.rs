//! The JSON Schemas of docs/schema/ hold for what ldslim really prints:
//! `scan`, `why` and `explain --format json`, on tiny roots (every kind of
//! finding the schema describes) and, ignored unless asked for, on the real
//! Debian 12 builder root.
//!
//! The published schemas leave objects open (a consumer of `…/1` must
//! ignore keys added later); here every object is closed first, so a key
//! the output has and the schema does not document fails the test.

mod common;
mod pyworld;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schema")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if let Err(e) = jsonschema::meta::validate(&v) {
        panic!("{} is not a valid JSON Schema: {e}", path.display());
    }
    v
}

/// Every object schema that lists `properties` gets `additionalProperties:
/// false` (unless it says otherwise). `if` conditions are left alone: closing
/// them would change what they test.
fn closed(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                for (k, child) in map.iter_mut() {
                    if k != "if" {
                        walk(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// Validate `doc` against docs/schema/NAME.schema.json, open and closed;
/// every error is listed with where it is.
fn check(name: &str, doc: &Value) {
    let open = schema(name);
    for (how, s) in [("open", open.clone()), ("closed", closed(open))] {
        let validator = jsonschema::validator_for(&s)
            .unwrap_or_else(|e| panic!("{name}.schema.json ({how}) does not compile: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| format!("  at {}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "ldslim's output does not match docs/schema/{name}.schema.json ({how}):\n{}\n{}",
            errors.join("\n"),
            serde_json::to_string_pretty(doc).unwrap_or_default()
        );
    }
}

fn ldslim(args: &[&str]) -> (Option<i32>, Value) {
    let o = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(args)
        .env_clear()
        .output()
        .expect("ldslim runs");
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "ldslim {args:?}: not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code(), v)
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

#[test]
fn scan_json_matches_its_schema() {
    let w = pyworld::python_world();
    let root = w.root.to_str().unwrap();
    let (code, v) = ldslim(&["scan", root, "--format", "json", "--owners"]);
    assert_eq!(code, Some(1), "a not-found and a bad file are findings");
    // The document exercises what the schema describes.
    assert!(len(&v["unresolved"]) >= 1, "{v}");
    assert!(len(&v["errors"]) >= 1, "{v}");
    assert!(len(&v["python"]["installations"]) == 1, "{v}");
    assert!(len(&v["python"]["venvs"]) == 1, "{v}");
    let kinds: Vec<&str> = v["python"]["installations"][0]["site_dirs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    for kind in ["system", "local", "venv", "user", "pth"] {
        assert!(kinds.contains(&kind), "no {kind} site dir: {kinds:?}");
    }
    let items = &v["plan"]["copy"]["items"];
    assert!(len(items) >= 1, "{v}");
    assert!(len(&v["plan"]["missing"]) >= 1, "{v}");
    assert!(len(&v["plan"]["layer"]["parts"]) >= 1, "{v}");
    check("scan", &v);

    // The layer pruned: what each category did, and its evidence.
    let (_, v) = ldslim(&[
        "scan",
        root,
        "--format",
        "json",
        "--prune",
        "tests,sources,stubs,build-tools,unused-stdlib",
    ]);
    assert_eq!(len(&v["plan"]["layer"]["pruned"]), 5, "{v}");
    assert!(v["plan"]["layer"]["evidence"].is_object(), "{v}");
    check("scan", &v);

    // No plan, no Python inventory, every file.
    let (_, v) = ldslim(&[
        "scan", root, "--scope", "all", "--target", "none", "--format", "json",
    ]);
    assert!(v.get("plan").is_none() && v.get("python").is_none(), "{v}");
    assert!(len(&v["skipped"]) >= 1, "the loader itself is skipped: {v}");
    check("scan", &v);

    // --fix env on a library the builder finds only through its cache.
    let w = pyworld::clean_python_world();
    w.lib("/opt/vendor/lib/libv.so.2", "libv.so.2", &[], &[]);
    w.lib(
        "/usr/lib/python3.11/lib-dynload/_v.cpython-311-x86_64-linux-gnu.so",
        "_v.so",
        &["/opt/vendor/lib/libv.so.2"],
        &[],
    );
    w.ldconfig(&["/opt/vendor/lib"], "new");
    let root = w.root.to_str().unwrap();
    let (code, v) = ldslim(&["scan", root, "--format", "json", "--fix", "env"]);
    assert_eq!(code, Some(0), "{v}");
    assert!(len(&v["plan"]["copy"]["env"]) == 1, "{v}");
    check("scan", &v);
    // What --emit writes adds the dpkg records of the copied files'
    // packages.
    w.write(
        "/var/lib/dpkg/status",
        b"Package: libv2\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2\n",
    );
    w.write(
        "/var/lib/dpkg/info/libv2.list",
        b"/opt/vendor/lib/libv.so.2\n",
    );
    w.write(
        "/var/lib/dpkg/info/libv2.md5sums",
        b"00  opt/vendor/lib/libv.so.2\n",
    );
    let (_, v) = ldslim(&["scan", root, "--fix", "env", "--emit", "json"]);
    let records: Vec<&Value> = v["plan"]["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"]["content"] == "dpkg_status_d")
        .collect();
    assert_eq!(records.len(), 2, "{v}");
    check("scan", &v);

    // Loads a library declares in .note.dlopen, and possible loads of a
    // library that calls dlopen and names what the image lacks.
    let w = pyworld::runtime_world(&[]);
    let lib = |n: &str| format!("/usr/lib/x86_64-linux-gnu/{n}");
    for n in [
        "libreq.so.1",
        "librec.so.1",
        "libsug.so.1",
        "libplugdep.so.3",
    ] {
        w.lib(&lib(n), n, &[], &[]);
    }
    for (src, soname) in [
        ("dlopen_note.c", "libnoted.so.1"),
        ("plughost.c", "libplughost.so.1"),
    ] {
        let so = format!("-Wl,-soname,{soname}");
        w.exe_from(src, &lib(soname), &[], &["-shared", "-fPIC", &so]);
    }
    w.lib(
        &format!(
            "{}/pkgn/_ext.cpython-311-x86_64-linux-gnu.so",
            pyworld::SITE
        ),
        "_ext.so",
        &[&lib("libnoted.so.1"), &lib("libplughost.so.1")],
        &[],
    );
    w.write("/usr/share/plughost/plughost.conf", b"x\n");
    let root = w.root.to_str().unwrap();
    let target = common::World::new();
    let t = target.root.to_str().unwrap();
    let (code, v) = ldslim(&["scan", root, "--format", "json", "--target", t]);
    assert_eq!(code, Some(1), "{v}");
    assert!(
        len(&v["plan"]["declared"]) == 3 && len(&v["plan"]["unverified"]) >= 2,
        "{v}"
    );
    assert!(v["plan"]["declared_problems"].is_object(), "{v}");
    check("scan", &v);
    let (_, v) = ldslim(&[
        "scan",
        root,
        "--format",
        "json",
        "--target",
        t,
        "--include",
        "/nonexistent",
    ]);
    assert!(len(&v["plan"]["include_problems"]) == 1, "{v}");
    check("scan", &v);

    // A symbol version the target's glibc lacks.
    let w = common::World::new();
    let stub = w.stub_versioned("libc.so.6", "glibc238.c", "glibc238.map");
    w.exe_from("uses238.c", "/app/bin/new", &[&stub], &["-shared", "-fPIC"]);
    let root = w.root.to_str().unwrap();
    let (code, v) = ldslim(&[
        "scan",
        root,
        "/app",
        "--format",
        "json",
        "--target",
        "distroless/cc-debian12",
    ]);
    assert_eq!(code, Some(1), "{v}");
    assert!(len(&v["plan"]["versions"]) == 1, "{v}");
    check("scan", &v);

    // A library found through $PLATFORM: resolved differently, or not at
    // all, on other kinds of CPU, in the builder and in the image.
    let w = common::World::new();
    let target = common::World::new();
    for p in ["x86_64", "haswell"] {
        w.lib(&format!("/opt/p/{p}/libb.so.1"), "libb.so.1", &[], &[]);
    }
    w.exe(
        "/app/bin/app",
        &["/opt/p/x86_64/libb.so.1"],
        &["-Wl,--enable-new-dtags", "-Wl,-rpath,/opt/p/$PLATFORM"],
    );
    let root = w.root.to_str().unwrap();
    let t = target.root.to_str().unwrap();
    let (code, v) = ldslim(&[
        "scan", root, "/app", "/opt", "--format", "json", "--target", t,
    ]);
    assert_eq!(code, Some(1), "not found on Xeon Phi: {v}");
    assert!(len(&v["cpu_dependent"]) == 1, "{v}");
    assert!(len(&v["plan"]["cpu_dependent"]) == 1, "{v}");
    assert!(len(&v["plan"]["missing"][0]["cpus"]) == 1, "{v}");
    check("scan", &v);

    // Run-time loads: found (find_library and soname), not found, not
    // followed; what the plan adds for find_library.
    let w = pyworld::runtime_world(&[
        (
            "pkgmiss/__init__.py",
            "import ctypes\nctypes.CDLL('libmissing.so.3')\n",
        ),
        (
            "pkgenv/__init__.py",
            "import ctypes, os\nctypes.CDLL(os.environ['X'])\n",
        ),
    ]);
    let root = w.root.to_str().unwrap();
    let (code, v) = ldslim(&[
        "scan",
        root,
        "--format",
        "json",
        "--target",
        t,
        "--allow-runtime",
        "pkgenv/__init__.py:2",
    ]);
    assert_eq!(code, Some(1), "{v}");
    assert!(len(&v["runtime"]["loads"]) == 3, "{v}");
    assert!(len(&v["runtime"]["unknown"]) == 1, "{v}");
    assert!(len(&v["plan"]["runtime"]) == 2, "{v}");
    assert!(v["plan"]["find_library"]["added"] == true, "{v}");
    check("scan", &v);
}

/// The final image's Python checks, and a script rewritten by
/// `--rewrite-shebangs` (a generated copy item).
#[test]
fn python_checks_match_the_schema() {
    use std::os::unix::fs::PermissionsExt;
    let w = pyworld::clean_python_world();
    w.exe("/usr/bin/env", &[], &[]);
    for (path, text) in [
        (
            "/app/.venv/bin/serve",
            &b"#!/usr/bin/env python3\nimport serve\n"[..],
        ),
        (
            "/app/.venv/bin/old",
            b"#!/usr/local/bin/python3.12\nimport old\n",
        ),
    ] {
        w.write(path, text);
        std::fs::set_permissions(w.host(path), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let root = w.root.to_str().unwrap();
    let (code, v) = ldslim(&["scan", root, "/app/.venv", "--format", "json"]);
    assert_eq!(code, Some(1), "{v}");
    let checks = &v["plan"]["python_checks"];
    assert!(len(checks) >= 2, "{v}");
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["in_builder_too"] == true),
        "{v}"
    );
    check("scan", &v);
    let (code, v) = ldslim(&["scan", root, "--rewrite-shebangs", "--format", "json"]);
    assert_eq!(code, Some(0), "{v}");
    assert!(
        v["plan"]["copy"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"]["content"] == "script"),
        "{v}"
    );
    check("scan", &v);
}

#[test]
fn trace_json_matches_its_schema() {
    // A shell that lists a directory, reads a file, runs a program (the
    // shell and `ls` map libraries) and is ended by a signal.
    let (code, v) = ldslim(&[
        "trace",
        "-q",
        "-o",
        "-",
        "--",
        "/bin/sh",
        "-c",
        "ls / >/dev/null; cat /etc/hostname /etc/passwd >/dev/null; kill -TERM $$",
    ]);
    assert_eq!(code, Some(128 + 15), "{v}");
    for list in ["objects", "files", "directories", "executables"] {
        assert!(len(&v[list]) >= 1, "no {list}: {v}");
    }
    assert_eq!(v["exit"]["signal"], 15);
    check("trace", &v);
}

#[test]
fn scan_with_a_trace_matches_its_schema() {
    let w = pyworld::clean_python_world();
    w.write("/usr/share/app/data-1.txt", b"data");
    w.symlink("data-1.txt", "/usr/share/app/data.txt");
    w.write("/usr/share/app/plugins/unused.txt", b"x");
    w.lib("/usr/lib/app/libplug.so", "libplug.so", &[], &[]);
    // Its Debian package ships data: the package-data rule copies it.
    w.write("/usr/share/app/plug.dat", b"dat");
    w.write(
        "/var/lib/dpkg/status",
        b"Package: libplug1\nStatus: install ok installed\nArchitecture: amd64\n",
    );
    w.write(
        "/var/lib/dpkg/info/libplug1:amd64.list",
        b"/usr/lib/app/libplug.so\n/usr/share/app/plug.dat\n",
    );
    let opened = |p: &str, by: &str| serde_json::json!({"path": p, "by": [by]});
    let trace = serde_json::json!({
        "schema": "ldslim.trace/1", "command": ["python3", "-c", "import app"],
        "root": null, "user": null, "machine": "x86_64", "exit": {"code": 0}, "tasks": 1,
        "commands": ["python3 -c import app"],
        "objects": [opened("/usr/lib/app/libplug.so", "python3 -c import app")],
        "files": [
            {"path": "/usr/share/app/data-1.txt", "opened_as": ["/usr/share/app/data.txt"], "by": ["python3 -c import app"]},
            opened("/tmp/x", "python3 -c import app"),
            opened("/proc/self/maps", "python3 -c import app"),
            opened("relative", "python3 -c import app"),
        ],
        "directories": [opened("/usr/share/app/plugins", "python3 -c import app")],
        "executables": [],
    });
    check("trace", &trace);
    let file = w.root.parent().unwrap().join("trace.json");
    std::fs::write(&file, trace.to_string()).unwrap();
    let root = w.root.to_str().unwrap();
    let (_, v) = ldslim(&[
        "scan",
        root,
        "--format",
        "json",
        "--trace",
        file.to_str().unwrap(),
    ]);
    let t = &v["plan"]["trace"];
    for list in ["added", "left_out", "directories", "problems"] {
        assert!(len(&t[list]) >= 1, "no {list}: {t:#}");
    }
    assert!(len(&v["plan"]["package_data"]) == 1, "{:#}", v["plan"]);
    check("scan", &v);
}

#[test]
fn why_json_matches_its_schema() {
    let w = pyworld::python_world();
    let root = w.root.to_str().unwrap();
    let (code, v) = ldslim(&["why", root, "libx.so.1", "--format", "json"]);
    assert_eq!(code, Some(0), "{v}");
    assert!(len(&v["chains"]) >= 1 && len(&v["copy"]) >= 1, "{v}");
    check("why", &v);
    let (code, v) = ldslim(&[
        "why",
        root,
        "libnothing.so.9",
        "--format",
        "json",
        "--target",
        "none",
    ]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v.get("target").is_none(), "{v}");
    check("why", &v);
    // A library loaded at run time, and one of its DT_NEEDED.
    let w = pyworld::runtime_world(&[]);
    let root = w.root.to_str().unwrap();
    for lib in ["libfoo.so.1", "libdep.so.1", "libc.so.6"] {
        let (_, v) = ldslim(&["why", root, lib, "--format", "json"]);
        check("why", &v);
    }
    let (_, v) = ldslim(&["why", root, "libfoo.so.1", "--format", "json"]);
    assert!(
        len(&v["runtime"]) == 1 && v["builder"]["outcome"] == "found",
        "{v}"
    );
}

#[test]
fn explain_json_matches_its_schema() {
    let w = pyworld::python_world();
    let root = w.root.to_str().unwrap();
    // One message of each kind of failure.
    let text = format!(
        "/usr/bin/python3.11: error while loading shared libraries: libx.so.1: cannot open shared object file: No such file or directory\n\
         Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>\n    import _gone\n\
         ImportError: libgone.so.1: cannot open shared object file: No such file or directory\n\
         /usr/bin/python3.11: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /usr/bin/python3.11)\n\
         ImportError: {ext}: undefined symbol: PyFoo_Bar\n\
         ImportError: {ext}: wrong ELF class: ELFCLASS32\n\
         ModuleNotFoundError: No module named 'yaml'\n\
         OSError: PortAudio library not found\n",
        ext = pyworld::EXT_OK
    );
    let (_, v) = ldslim(&["explain", root, "--format", "json", &text]);
    let types: Vec<&str> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["finding"]["failure"]["type"].as_str())
        .collect();
    for t in [
        "missing_library",
        "missing_version",
        "undefined_symbol",
        "wrong_class",
        "library_not_found",
        "other",
    ] {
        assert!(types.contains(&t), "no {t} failure: {types:?}\n{v}");
    }
    check("explain", &v);
    let (code, v) = ldslim(&["explain", root, "--format", "json", "all is well"]);
    assert_eq!(code, Some(1));
    check("explain", &v);
}

fn real_root() -> PathBuf {
    PathBuf::from(std::env::var("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT: run scripts/test.sh"))
}

#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn real_root_output_matches_the_schemas() {
    let root = real_root();
    let root = root.to_str().unwrap();
    for args in [
        vec!["scan", root, "--format", "json"],
        vec!["scan", root, "--format", "json", "--owners"],
        vec![
            "scan",
            root,
            "--format",
            "json",
            "--fix",
            "env",
            "--target",
            "distroless/static-debian12",
        ],
        vec![
            "scan",
            root,
            "--format",
            "json",
            "--target",
            "distroless/cc-debian13",
        ],
        vec![
            "scan", root, "/usr/bin", "--format", "json", "--target", "none",
        ],
    ] {
        let (_, v) = ldslim(&args);
        check("scan", &v);
    }
    for lib in [
        "libbz2.so.1.0",
        "libz.so.1",
        "libgfortran-040039e1.so.5.0.0",
        "libc.so.6",
    ] {
        let (_, v) = ldslim(&["why", root, lib, "--format", "json"]);
        check("why", &v);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/explain");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let (_, v) = ldslim(&[
            "explain",
            root,
            "--format",
            "json",
            "--file",
            f.to_str().unwrap(),
        ]);
        check("explain", &v);
    }
}

/// The closed check is what catches an undocumented key: a key added to a
/// real document fails it, deep inside as at the top.
#[test]
fn an_undocumented_key_fails_the_closed_schema() {
    let w = pyworld::python_world();
    let (_, mut v) = ldslim(&["scan", w.root.to_str().unwrap(), "--format", "json"]);
    v["plan"]["copy"]["items"][0]["surprise"] = Value::from(1);
    let s = closed(schema("scan"));
    let validator = jsonschema::validator_for(&s).expect("compiles");
    assert!(
        !validator.is_valid(&v),
        "an extra key inside a copy item passed"
    );
    let open = jsonschema::validator_for(&schema("scan")).expect("compiles");
    assert!(open.is_valid(&v), "the published schema must stay open");
}
