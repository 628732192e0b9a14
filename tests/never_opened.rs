//! The walk of a scan leaves Python source, bytecode and stub files
//! unopened outside `bin` and `sbin` (docs/how-it-works.md, "Files never
//! opened"): neither glibc's loader nor Python's import system maps a file
//! by such a name. What does map one is still seen: a ctypes load names it by path
//! and the run-time-loads reading resolves it, and a program with such a
//! name where programs are run from is an entry like any other.

mod common;
mod pyworld;

use common::World;
use pyworld::{LIBX, SITE, runtime_world};
use serde_json::Value;

const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";

fn scan_json(w: &World, target: &World, extra: &[&str]) -> (Option<i32>, Value, String) {
    let t = target.root.display().to_string();
    let mut args = vec!["--target", t.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let o = w.ldslim("scan", &args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("json: {e}: {stderr}"));
    (o.status.code(), v, stderr)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn python_named_files_are_not_objects_but_what_loads_them_still_sees_them() {
    let w = runtime_world(&[]);
    let pkg = format!("{SITE}/pyelf");
    // ELF bytes under bytecode and stub names: a truncated header (a bad
    // file, were it read), a library needing one the builder lacks (a
    // finding, were it an entry), and a library a ctypes call loads by
    // path, which needs a library of its own.
    let libx = std::fs::read(w.host(LIBX)).unwrap();
    w.write(&format!("{pkg}/_trunc.pyc"), &libx[..200]);
    let gone = w.stub("libnowhere.so.1");
    w.lib(&format!("{pkg}/stub.pyi"), "stub.so", &[&gone], &[]);
    w.lib(
        &format!("{pkg}/__pycache__/old.pyo"),
        "old.so",
        &[&gone],
        &[],
    );
    let dep = format!("{LIBDIR}/libbypath.so.1");
    w.lib(&dep, "libbypath.so.1", &[], &[]);
    w.lib(&format!("{pkg}/native.pyc"), "native.so", &[&dep], &[]);
    w.write(
        &format!("{pkg}/__init__.py"),
        b"import ctypes, os\n_lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), 'native.pyc'))\n",
    );
    // A program named like a script where programs run from: an entry.
    let own = format!("{LIBDIR}/libtoolonly.so.1");
    w.lib(&own, "libtoolonly.so.1", &[], &[]);
    w.exe("/app/.venv/bin/tool.py", &[&own], &[]);

    let target = World::new();
    let (code, v, stderr) = scan_json(&w, &target, &[]);
    assert_eq!(code, Some(0), "{stderr}\n{v:#}");
    assert!(strings(&v["errors"]).is_empty(), "{v:#}");
    assert!(strings(&v["unresolved"]).is_empty(), "{v:#}");
    // The by-path load resolves to the `.pyc` and brings its DT_NEEDED;
    // the program in `bin` brings its own.
    let loads = v["runtime"]["loads"].as_array().unwrap();
    let by_path = loads
        .iter()
        .find(|l| l["package"] == pkg.as_str())
        .unwrap_or_else(|| panic!("no load of {pkg}: {loads:#?}"));
    assert_eq!(
        by_path["tried"][0]["builder"]["real"],
        format!("{pkg}/native.pyc"),
        "{by_path:#}"
    );
    let dests: Vec<&str> = v["plan"]["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dest"].as_str().unwrap())
        .collect();
    assert!(dests.contains(&dep.as_str()), "{dests:?}");
    assert!(dests.contains(&own.as_str()), "{dests:?}");
    // And the files left unopened are still copied with the layer, as
    // they are.
    let t = target.root.display().to_string();
    let o = w.ldslim("scan", &["--target", &t, "--emit", "list"]);
    let list = String::from_utf8_lossy(&o.stdout);
    for f in [
        "_trunc.pyc",
        "stub.pyi",
        "__pycache__/old.pyo",
        "native.pyc",
    ] {
        assert!(
            // The list names paths relative to the layer's top.
            list.lines()
                .any(|l| format!("/{l}") == format!("{pkg}/{f}")),
            "{f} not in the layer:\n{list}"
        );
    }

    // Told to scan everything, the same: names decide, not the scope.
    let (code, v, stderr) = scan_json(&w, &target, &["--scope", "all"]);
    assert_eq!(code, Some(0), "{stderr}\n{v:#}");
    assert!(strings(&v["errors"]).is_empty(), "{v:#}");
}
