//! `--layer full` (the default) and `--layer libs`: what each emitter
//! writes besides the libraries, on a small builder with a Python
//! installation, a venv, a user site and a wheel that installed a console
//! script and data outside its site directory.

mod common;
mod pyworld;

use std::process::{Command, Output};

use serde_json::Value;

fn ldslim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(args)
        .env_clear()
        .output()
        .expect("ldslim runs")
}

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
        "--emit",
        "list=/dev/null",
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
