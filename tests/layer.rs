//! `--layer full` (the default) and `--layer libs`: what each emitter
//! writes besides the libraries, on a small builder with a Python
//! installation, a venv, a user site and a wheel that installed a console
//! script and data outside its site directory.

mod common;
mod pyworld;

use std::process::Output;

use serde_json::Value;

use common::ldslim;

const SITE: &str = "/usr/local/lib/python3.11/dist-packages";

/// The Python world plus a wheel whose `RECORD` names a console script and
/// a data file under `/usr/local`, a script it no longer has, and (hostile)
/// a file outside the prefix that the builder does have.
fn world() -> common::World {
    let w = pyworld::clean_python_world();
    w.write(&format!("{SITE}/demo/__init__.py"), b"");
    w.write(
        "/usr/local/bin/demo",
        b"#!/usr/bin/python3\nfrom demo import main\nmain()\n",
    );
    w.write("/usr/local/share/demo/data.txt", b"data\n");
    w.write("/etc/shadow", b"root:*:19000:0:99999:7:::\n");
    w.write(
        &format!("{SITE}/demo-1.0.dist-info/METADATA"),
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    );
    w.write(
        &format!("{SITE}/demo-1.0.dist-info/RECORD"),
        b"demo/__init__.py,,\n\
          demo-1.0.dist-info/METADATA,,\n\
          ../../../bin/demo,sha256=x,40\n\
          ../../../bin/gone,sha256=x,40\n\
          ../../../share/demo/data.txt,sha256=x,5\n\
          ../../../../../etc/shadow,sha256=x,26\n",
    );
    w
}

fn root(w: &common::World) -> &str {
    w.root.to_str().unwrap()
}

fn lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_full_layer_holds_the_python_files_and_the_libraries() {
    let w = world();
    let o = ldslim(&["scan", root(&w), "--emit", "list"]);
    assert!(
        o.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let list = lines(&o);
    for want in [
        "usr/bin/python3.11",
        // The link that names the interpreter, as a link.
        "usr/bin/python3",
        "usr/lib/python3.11/os.py",
        "usr/lib/python3.11/lib-dynload/_x.cpython-311-x86_64-linux-gnu.so",
        "app/.venv/pyvenv.cfg",
        "app/.venv/bin/python",
        "home/app/.local/lib/python3.11/site-packages/extra.pth",
        "usr/local/lib/python3.11/dist-packages/demo/__init__.py",
        // Installed by the wheel outside its site directory.
        "usr/local/bin/demo",
        "usr/local/share/demo/data.txt",
        // And the library the target lacks.
        "usr/lib/x86_64-linux-gnu/libx.so.1",
    ] {
        assert!(list.iter().any(|l| l == want), "{want} not in {list:#?}");
    }
    // A RECORD line that leaves the prefix, or names what is not there.
    for never in ["etc/shadow", "usr/local/bin/gone"] {
        assert!(!list.iter().any(|l| l == never), "{never} in {list:#?}");
    }
    let mut sorted = list.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(list, sorted, "sorted, each path once");

    // --layer libs: the libraries alone, as before the layer existed.
    let o = ldslim(&["scan", root(&w), "--layer", "libs", "--emit", "list"]);
    assert_eq!(lines(&o), ["usr/lib/x86_64-linux-gnu/libx.so.1"]);
}

#[test]
fn the_layer_in_json_is_grouped_by_what_it_is() {
    let w = world();
    let o = ldslim(&["scan", root(&w), "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let layer = &v["plan"]["layer"];
    let parts = layer["parts"].as_array().unwrap();
    let what: Vec<&str> = parts.iter().map(|p| p["what"].as_str().unwrap()).collect();
    for want in [
        "python 3.11 interpreter",
        "python 3.11 standard library",
        "python 3.11 site packages (local)",
        "virtual environment /app/.venv",
        "python 3.11 user site of app",
        "installed by wheels outside their site directory",
    ] {
        assert!(what.contains(&want), "{want} not in {what:?}");
    }
    // The totals are the parts' sums, and the parts' items.
    let sum = |k: &str| parts.iter().map(|p| p[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(layer["files"].as_u64(), Some(sum("files")));
    assert_eq!(layer["bytes"].as_u64(), Some(sum("bytes")));
    for p in parts {
        let files = p["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "file")
            .count() as u64;
        assert_eq!(p["files"].as_u64(), Some(files), "{p:#}");
    }
    assert!(
        layer["trees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "/usr/lib/python3.11"),
        "{layer:#}"
    );
    // The report's copy stays the libraries.
    let copy: Vec<&str> = v["plan"]["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dest"].as_str().unwrap())
        .collect();
    assert_eq!(copy, [pyworld::LIBX]);
    // --layer libs: no layer at all.
    let o = ldslim(&["scan", root(&w), "--format", "json", "--layer", "libs"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["plan"].get("layer").is_none(), "{:#}", v["plan"]);
}

#[test]
fn the_dockerfile_copies_whole_directories_once() {
    let w = world();
    let o = ldslim(&["scan", root(&w), "--emit", "dockerfile"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    for want in [
        "COPY --from=builder /usr/lib/python3.11 /usr/lib/python3.11",
        "COPY --from=builder /app/.venv /app/.venv",
        "COPY --from=builder /usr/local/lib/python3.11/dist-packages /usr/local/lib/python3.11/dist-packages",
    ] {
        assert!(text.lines().any(|l| l == want), "{want:?} not in\n{text}");
    }
    // Nothing below a directory copied whole is written again.
    assert!(!text.contains("os.py"), "{text}");
    assert!(!text.contains("pyvenv.cfg"), "{text}");
    // The interpreter, under its own name and its link's.
    assert!(
        text.lines()
            .any(|l| l.starts_with("COPY --from=builder ") && l.ends_with(" /usr/bin/python3")),
        "{text}"
    );
}

#[test]
fn the_tar_layer_keeps_links_and_modes() {
    let w = world();
    let out = tempfile::tempdir().unwrap();
    let tar = out.path().join("layer.tar");
    let o = ldslim(&[
        "scan",
        root(&w),
        "--emit",
        &format!("tar={}", tar.display()),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    let mut links = Vec::new();
    let mut modes = Vec::new();
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        if let Some(t) = e.link_name().unwrap() {
            links.push((path.clone(), t.display().to_string()));
        }
        modes.push((path, e.header().mode().unwrap()));
    }
    assert!(
        links.contains(&("usr/bin/python3".into(), "python3.11".into())),
        "{links:?}"
    );
    assert!(
        links.contains(&("app/.venv/bin/python".into(), "/usr/bin/python3.11".into())),
        "{links:?}"
    );
    let mode = |p: &str| modes.iter().find(|(m, _)| m == p).map(|(_, m)| *m & 0o777);
    let exe = std::fs::metadata(w.host("/usr/bin/python3.11")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        mode("usr/bin/python3.11"),
        Some(exe.permissions().mode() & 0o777)
    );
    assert_eq!(mode("usr/lib/python3.11/os.py"), Some(0o644));
}

#[test]
fn paths_the_base_has_are_left_to_it() {
    let w = world();
    // A CA bundle as a PATH to scan: distroless cc has its own.
    w.write("/etc/ssl/certs/ca-certificates.crt", b"builder's bundle\n");
    let o = ldslim(&[
        "scan",
        root(&w),
        "/usr/bin/python3.11",
        "/usr/lib/python3.11",
        "/etc/ssl/certs/ca-certificates.crt",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let layer = &v["plan"]["layer"];
    assert_eq!(
        layer["in_base"],
        serde_json::json!(["/etc/ssl/certs/ca-certificates.crt"]),
        "{layer:#}"
    );
    let o = ldslim(&[
        "scan",
        root(&w),
        "/usr/bin/python3.11",
        "/usr/lib/python3.11",
        "/etc/ssl/certs/ca-certificates.crt",
        "--emit",
        "list",
    ]);
    let list = lines(&o);
    assert!(
        list.iter().any(|l| l == "usr/lib/python3.11/os.py"),
        "{list:?}"
    );
    assert!(!list.iter().any(|l| l.starts_with("etc/")), "{list:?}");
}

/// The pruning rules on a world with test directories, sources, stubs,
/// build tools and an unused extension module of the standard library.
fn prune_world() -> common::World {
    let w = world();
    for (path, text) in [
        ("demo/util.py", "from demo.fixtures import data\n"),
        ("demo/tests/__init__.py", ""),
        ("demo/tests/test_a.py", "import demo\n"),
        ("demo/fixtures/tests/__init__.py", ""),
        ("demo/fixtures/__init__.py", "data = 1\n"),
        // A test directory a test imports: no evidence that it runs.
        ("other/tests/helpers.py", ""),
        ("other/__init__.py", ""),
        ("conftest.py", "import other.tests.helpers\n"),
        ("demo/_speed.c", "int x;\n"),
        ("demo/_speed.pyx", "cdef int x\n"),
        ("demo/__init__.pyi", "x: int\n"),
        ("demo/py.typed", ""),
        ("pip/__init__.py", ""),
        ("pip-24.0.dist-info/RECORD", "pip/__init__.py,,\n"),
        ("setuptools/__init__.py", ""),
        ("pkg_resources/__init__.py", ""),
        (
            "setuptools-69.0.dist-info/RECORD",
            "setuptools/__init__.py,,\n",
        ),
        ("uses_resources.py", "import pkg_resources\n"),
    ] {
        w.write(&format!("{SITE}/{path}"), text.as_bytes());
    }
    // A test directory code outside it imports: kept.
    w.write(
        &format!("{SITE}/demo/fixtures/tests/data.py"),
        b"value = 2\n",
    );
    w.write(
        &format!("{SITE}/demo/fixtures/__init__.py"),
        b"from .tests.data import value\n",
    );
    w
}

fn pruned(w: &common::World, args: &[&str]) -> Value {
    let mut argv = vec!["scan", root(w), "--format", "json"];
    argv.extend(args);
    let o = ldslim(&argv);
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

fn layer_paths(v: &Value) -> Vec<String> {
    v["plan"]["layer"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().iter())
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_prune_category_leaves_out_what_its_rule_says_and_keeps_what_is_imported() {
    let w = prune_world();
    let all = layer_paths(&pruned(&w, &[]));
    let v = pruned(&w, &["--prune", "tests,sources,stubs,build-tools"]);
    let left = layer_paths(&v);
    let gone: Vec<&String> = all.iter().filter(|p| !left.contains(p)).collect();
    let site = |p: &str| format!("{SITE}/{p}");
    for p in [
        "demo/tests/test_a.py",
        "demo/tests/__init__.py",
        "other/tests/helpers.py",
        "conftest.py",
        "demo/_speed.c",
        "demo/_speed.pyx",
        "demo/__init__.pyi",
        "demo/py.typed",
        "pip/__init__.py",
        "pip-24.0.dist-info/RECORD",
    ] {
        assert!(gone.contains(&&site(p)), "{p} not pruned: {gone:#?}");
    }
    for p in [
        "demo/__init__.py",
        "demo/util.py",
        "demo/fixtures/tests/data.py",
        "setuptools/__init__.py",
        "pkg_resources/__init__.py",
    ] {
        assert!(left.contains(&site(p)), "{p} pruned");
    }
    let cats = v["plan"]["layer"]["pruned"].as_array().unwrap();
    let cat = |name: &str| cats.iter().find(|c| c["category"] == name).unwrap();
    assert_eq!(
        cat("tests")["kept"],
        serde_json::json!([{
            "what": site("demo/fixtures/tests"),
            "imported_by": site("demo/fixtures/__init__.py"),
        }])
    );
    assert_eq!(cat("build-tools")["kept"][0]["what"], "setuptools");
    assert_eq!(
        cat("build-tools")["kept"][0]["imported_by"],
        site("uses_resources.py")
    );
    assert_eq!(cat("sources")["files"], 2);
    assert_eq!(cat("stubs")["files"], 2);
    // The counts are those of the layer.
    let layer = &v["plan"]["layer"];
    assert_eq!(
        layer["files"].as_u64().unwrap() as usize,
        left.len() - 2,
        "two of the items are links"
    );
}

#[test]
fn unused_stdlib_needs_evidence_and_drops_the_libraries_only_it_needed() {
    let w = pyworld::clean_python_world();
    // Only the standard library and the interpreter: no evidence.
    let v = pruned(
        &w,
        &[
            "/usr/bin/python3.11",
            "/usr/lib/python3.11",
            "--prune",
            "unused-stdlib",
        ],
    );
    let cat = &v["plan"]["layer"]["pruned"][0];
    assert!(
        cat["refused"].as_str().unwrap().contains("no evidence"),
        "{cat:#}"
    );
    assert_eq!(cat["files"], 0);
    // The application's code as evidence: it does not import `_x`, whose
    // extension (and libx.so.1, which only it needs) is left out.
    w.write("/app/main.py", b"import os\nprint('hi')\n");
    let v = pruned(
        &w,
        &[
            "/usr/bin/python3.11",
            "/usr/lib/python3.11",
            "/app",
            "--prune",
            "unused-stdlib",
        ],
    );
    let left = layer_paths(&v);
    assert!(!left.iter().any(|p| p == pyworld::EXT_OK), "{left:#?}");
    assert!(
        left.iter().any(|p| p == "/usr/lib/python3.11/os.py"),
        "{left:#?}"
    );
    assert!(left.iter().any(|p| p == "/app/main.py"), "{left:#?}");
    assert_eq!(v["plan"]["copy"]["items"], serde_json::json!([]));
    let e = &v["plan"]["layer"]["evidence"];
    assert_eq!(e["python_files"], 2, "{e:#}");
    // It imports `_x`: the extension stays, and its library is copied.
    w.write("/app/main.py", b"def later():\n    import _x\n");
    let v = pruned(
        &w,
        &[
            "/usr/bin/python3.11",
            "/usr/lib/python3.11",
            "/app",
            "--prune",
            "unused-stdlib",
        ],
    );
    assert!(layer_paths(&v).iter().any(|p| p == pyworld::EXT_OK));
    assert_eq!(v["plan"]["copy"]["items"][0]["dest"], pyworld::LIBX);
}

#[test]
fn prune_needs_the_full_layer() {
    let w = pyworld::clean_python_world();
    let o = ldslim(&["scan", root(&w), "--layer", "libs", "--prune", "tests"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--prune"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn what_wheels_installed_outside_comes_only_with_their_site_directory() {
    let w = world();
    // The site directory is not in the layer: neither is its console
    // script.
    let o = ldslim(&[
        "scan",
        root(&w),
        "/usr/bin/python3.11",
        "/usr/lib/python3.11",
        "--emit",
        "list",
    ]);
    let list = lines(&o);
    assert!(
        list.iter().any(|l| l == "usr/lib/python3.11/os.py"),
        "{list:?}"
    );
    assert!(
        !list.iter().any(|l| l.starts_with("usr/local/")),
        "{list:?}"
    );
    // It is: the script comes too.
    let o = ldslim(&[
        "scan",
        root(&w),
        "/usr/bin/python3.11",
        SITE,
        "--emit",
        "list",
    ]);
    assert!(lines(&o).iter().any(|l| l == "usr/local/bin/demo"));
}

/// An emit to a device (`/dev/null`, `/dev/stdout`) writes to it: a
/// rename onto it would replace the device by a regular file.
#[test]
fn an_emit_to_a_device_writes_to_it_and_keeps_it() {
    use std::os::unix::fs::FileTypeExt;
    let w = world();
    if !common::can_chroot() {
        common::cannot_run("not root: cannot make a device node");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    let c = std::ffi::CString::new(null.to_str().unwrap()).unwrap();
    // SAFETY: a valid path; mode and device numbers of /dev/null.
    assert_eq!(
        unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) },
        0
    );
    for kind in ["list", "json", "dockerfile", "sbom", "tar"] {
        let o = ldslim(&[
            "scan",
            root(&w),
            "--emit",
            &format!("{kind}={}", null.display()),
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{kind}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let ft = std::fs::symlink_metadata(&null).unwrap().file_type();
        assert!(ft.is_char_device(), "--emit {kind}= replaced the device");
    }
    // Nothing left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// A `RECORD` may name a directory (it is the root's text): when that
/// directory holds a path of the scope, what is below both is copied once.
#[test]
fn a_path_under_two_parts_of_the_layer_is_copied_once() {
    let w = world();
    w.write(
        &format!("{SITE}/demo-1.0.dist-info/RECORD"),
        b"demo/__init__.py,,\n../../../share,,\n",
    );
    let o = ldslim(&[
        "scan",
        root(&w),
        "/usr/bin/python3.11",
        SITE,
        "/usr/local/share/demo",
        "--emit",
        "list",
    ]);
    let list = lines(&o);
    let data: Vec<&String> = list
        .iter()
        .filter(|l| l.as_str() == "usr/local/share/demo/data.txt")
        .collect();
    assert_eq!(
        data.len(),
        1,
        "{list:?} {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
