//! `ldslim trace` on a compiled program that loads a plugin with dlopen,
//! reads data through a symlink, from a thread and from a forked child,
//! executes a program and writes a temporary file (testdata/rules/
//! tracehost.c); and `scan --trace`, whose image must run the program.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::World;
use serde_json::Value;

const PLUGIN: &str = "/usr/lib/tracehost/plugins/libplug.so";
const DEP: &str = "/usr/lib/x86_64-linux-gnu/libdep.so.1";

/// A root with the program, its plugin (needing libdep.so.1, found by
/// the plugin's RUNPATH so that the program runs on the host too), its
/// data, and a second program to execute.
fn trace_world() -> World {
    let w = World::new();
    w.lib(DEP, "libdep.so.1", &[], &[]);
    w.lib(
        PLUGIN,
        "libplug.so",
        &[DEP],
        &["-Wl,--enable-new-dtags,-rpath,$ORIGIN/../../x86_64-linux-gnu"],
    );
    w.exe_from("tracehost.c", "/usr/bin/tracehost", &[], &["-pthread"]);
    w.exe("/usr/bin/helper", &[], &[]);
    w.write("/usr/share/tracehost/data-1.txt", b"data");
    w.symlink("data-1.txt", "/usr/share/tracehost/data.txt");
    w.write("/usr/share/tracehost/thread.txt", b"thread");
    w.write("/etc/tracehost.conf", b"conf");
    w.write("/usr/lib/tracehost/filters/README", b"filters go here");
    w.mkdir("/tmp");
    chmod(&w.host("/tmp"), 0o1777);
    w
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn ldslim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(args)
        .output()
        .expect("ldslim runs")
}

fn paths(t: &Value, list: &str) -> BTreeSet<String> {
    t[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {t:#}"))
        .iter()
        .map(|o| o["path"].as_str().unwrap().to_string())
        .collect()
}

fn entry<'a>(t: &'a Value, list: &str, path: &str) -> &'a Value {
    t[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {list}: {t:#}"))
}

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// What the trace of tracehost must hold, its paths below `prefix`.
fn check_trace(t: &Value, prefix: &str, by: &str) {
    let at = |p: &str| format!("{prefix}{p}");
    assert_eq!(t["schema"], "ldslim.trace/1");
    assert_eq!(t["exit"]["code"], 3, "{t:#}");
    let objects = paths(t, "objects");
    for p in [PLUGIN, DEP] {
        assert!(objects.contains(&at(p)), "{p} not traced: {objects:?}");
    }
    let files = paths(t, "files");
    for p in [
        "/usr/share/tracehost/data-1.txt",
        "/usr/share/tracehost/thread.txt",
        "/etc/tracehost.conf",
        "/tmp/tracehost.tmp",
    ] {
        assert!(files.contains(&at(p)), "{p} not traced: {files:?}");
    }
    // Opened through its symlink: the link is recorded.
    let data = entry(t, "files", &at("/usr/share/tracehost/data-1.txt"));
    assert_eq!(
        data["opened_as"],
        serde_json::json!([at("/usr/share/tracehost/data.txt")])
    );
    // The forked child's open is the program's; the executed program's
    // command line is its own.
    let conf = entry(t, "files", &at("/etc/tracehost.conf"));
    assert!(conf["by"][0].as_str().unwrap().ends_with(by), "{conf:#}");
    let helper = entry(t, "executables", &at("/usr/bin/helper"));
    assert_eq!(helper["by"], serde_json::json!(["helper from-child"]));
    assert!(
        paths(t, "executables").contains(&at("/usr/bin/tracehost")),
        "{t:#}"
    );
    // The program, its thread and two children.
    assert!(t["tasks"].as_u64().unwrap() >= 4, "{t:#}");
}

#[test]
fn trace_records_a_process_tree_on_the_running_system() {
    let w = trace_world();
    let out = w.root.parent().unwrap().join("trace.json");
    let root = w.root.display().to_string();
    let exe = w.host("/usr/bin/tracehost").display().to_string();
    let o = ldslim(&[
        "trace",
        "-q",
        "-o",
        out.to_str().unwrap(),
        "--",
        &exe,
        &root,
    ]);
    // The command's status is passed on.
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    let t = read(&out);
    check_trace(&t, &root, &root);
    assert_eq!(t["root"], Value::Null);
    // Deterministic: a second run writes the same file.
    let again = w.root.parent().unwrap().join("again.json");
    ldslim(&[
        "trace",
        "-q",
        "-o",
        again.to_str().unwrap(),
        "--",
        &exe,
        &root,
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    // To standard output with -o -.
    let o = ldslim(&["trace", "-q", "-o", "-", "--", &exe, &root]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, t);
}

#[test]
fn a_command_that_cannot_start_is_an_error_naming_it() {
    let o = ldslim(&["trace", "-o", "-", "--", "/nonexistent/program"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("No such file or directory"), "{err}");
    let o = ldslim(&["trace", "-o", "-", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(o.status.code(), Some(128 + 15), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["exit"]["signal"], 15);
}

/// The capabilities a process's bounding set lacks among `names`.
fn cap_bounding(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .expect("CapBnd printed");
    u64::from_str_radix(line.trim(), 16).unwrap()
}

#[test]
#[ignore = "needs root (chroot, another user) and setpriv; run scripts/test.sh"]
fn trace_works_chrooted_as_a_user_without_cap_sys_admin_or_cap_sys_ptrace() {
    assert!(common::can_chroot(), "needs root");
    let w = trace_world();
    let out = w.root.parent().unwrap().join("trace.json");
    // As in a container started with Docker's defaults: no CAP_SYS_ADMIN,
    // no CAP_SYS_PTRACE. The shell prints its bounding set, then becomes
    // ldslim.
    let script = format!(
        "grep CapBnd /proc/self/status >&2; exec {} trace -q --root {} --user 65532:65532 -o {} -- /usr/bin/tracehost",
        env!("CARGO_BIN_EXE_ldslim"),
        w.root.display(),
        out.display()
    );
    let o = Command::new("setpriv")
        .args([
            "--bounding-set",
            "-sys_admin,-sys_ptrace",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .expect("setpriv runs");
    let err = String::from_utf8_lossy(&o.stderr);
    let bnd = cap_bounding(&err);
    const CAP_SYS_PTRACE: u64 = 19;
    const CAP_SYS_ADMIN: u64 = 21;
    assert_eq!(bnd & (1 << CAP_SYS_ADMIN), 0, "{err}");
    assert_eq!(bnd & (1 << CAP_SYS_PTRACE), 0, "{err}");
    assert_eq!(o.status.code(), Some(3), "{err}");
    let t = read(&out);
    check_trace(&t, "", "/usr/bin/tracehost");
    assert_eq!(t["user"], "65532:65532");
    // The temporary file was written as the user.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(w.host("/tmp/tracehost.tmp"))
            .unwrap()
            .uid(),
        65532
    );
}

#[test]
#[ignore = "needs root (chroot); run scripts/test.sh"]
fn scan_with_a_trace_plans_what_the_program_opened_and_the_image_runs_it() {
    assert!(common::can_chroot(), "needs root");
    let w = trace_world();
    let target = World::new();
    let dir = w.root.parent().unwrap();
    let out = dir.join("trace.json");
    let root = w.root.display().to_string();
    let o = ldslim(&[
        "trace",
        "-q",
        "--root",
        &root,
        "-o",
        out.to_str().unwrap(),
        "--",
        "/usr/bin/tracehost",
    ]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");

    // Without the trace the image lacks the plugin: the program fails.
    let scan = |extra: &[&str], image: &Path| -> Value {
        let copy = format!("copy={}", image.display());
        let t = target.root.display().to_string();
        let mut args = vec![
            "scan",
            root.as_str(),
            "/usr/bin/tracehost",
            "--target",
            t.as_str(),
            "--format",
            "json",
            "--emit",
            copy.as_str(),
        ];
        args.extend_from_slice(extra);
        let o = ldslim(&args);
        assert_ne!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let run_in = |image: &Path| -> Option<i32> {
        copy_tree(&target.root, image);
        std::fs::create_dir_all(image.join("usr/bin")).unwrap();
        std::fs::copy(
            w.host("/usr/bin/tracehost"),
            image.join("usr/bin/tracehost"),
        )
        .unwrap();
        std::fs::create_dir_all(image.join("tmp")).unwrap();
        chmod(&image.join("tmp"), 0o1777);
        common::chrooted(image, "/usr/bin/tracehost")
            .output()
            .unwrap()
            .status
            .code()
    };
    let static_image = dir.join("static-image");
    let v = scan(&[], &static_image);
    // Static reading sees a loader call and a directory named in the
    // program's data: not verified.
    assert_eq!(v["plan"]["verdict"], "unverified", "{:#}", v["plan"]);
    let filters = |v: &Value| -> Value {
        v["plan"]["unverified"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["builder"] == "/usr/lib/tracehost/filters")
            .cloned()
            .unwrap_or_else(|| panic!("no evidence of the filters: {:#}", v["plan"]))
    };
    assert_eq!(filters(&v)["traced"], Value::Null);
    assert_eq!(
        run_in(&static_image),
        Some(10),
        "the plugin is missing without the trace"
    );

    let image = dir.join("image");
    let v = scan(&["--trace", out.to_str().unwrap()], &image);
    let plan = &v["plan"];
    assert_eq!(plan["verdict"], "loads", "{plan:#}");
    let items: BTreeSet<String> = plan["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dest"].as_str().unwrap().to_string())
        .collect();
    for p in [
        PLUGIN,
        DEP,
        "/usr/share/tracehost/data.txt",
        "/usr/share/tracehost/data-1.txt",
        "/usr/share/tracehost/thread.txt",
        "/etc/tracehost.conf",
        "/usr/bin/helper",
    ] {
        assert!(items.contains(p), "{p} not planned: {items:?}");
    }
    // The trace saw the directory listed and nothing in it used: the
    // evidence is covered, and the listing is reported.
    assert_eq!(filters(&v)["traced"], true);
    let trace = &plan["trace"];
    assert_eq!(
        trace["directories"],
        serde_json::json!([{
            "path": "/usr/lib/tracehost/filters",
            "by": "/usr/bin/tracehost",
            "lacking": ["/usr/lib/tracehost/filters/README"],
            "lacking_count": 1
        }])
    );
    let reason = "seen at run time by trace: /usr/bin/tracehost";
    let added = trace["added"].as_array().unwrap();
    assert!(
        added
            .iter()
            .any(|a| a["path"] == PLUGIN && a["kind"] == "object" && a["reason"] == reason),
        "{trace:#}"
    );
    let left: Vec<(String, String)> = trace["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (p, rule) in [
        ("/tmp/tracehost.tmp", "temporary"),
        ("/usr/bin/tracehost", "scope"),
        ("/lib/x86_64-linux-gnu/libc.so.6", "in_target"),
    ] {
        assert!(
            left.contains(&(p.to_string(), rule.to_string())),
            "{p} not left out as {rule}: {left:?}"
        );
    }
    // The copied data file keeps its link; the plugin's library was
    // opened too, so the trace is its reason as well.
    let item = |dest: &str| {
        plan["copy"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["dest"] == dest)
            .unwrap()
            .clone()
    };
    assert_eq!(
        item("/usr/share/tracehost/data.txt")["kind"]["type"],
        "symlink"
    );
    assert_eq!(item(DEP)["chain"][0], reason, "{:#}", item(DEP));
    assert_eq!(
        run_in(&image),
        Some(3),
        "the image built with the trace runs the program"
    );

    // The text report says what the trace did.
    let o = ldslim(&[
        "scan",
        &root,
        "/usr/bin/tracehost",
        "--target",
        &target.root.display().to_string(),
        "--trace",
        out.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(&format!("      {reason}")), "{text}");
    assert!(
        text.contains("Traces (1): 6 added (2 shared objects, 3 files, 1 programs"),
        "{text}"
    );
    assert!(
        text.contains("The target lacks 6 paths the traces or --include name"),
        "{text}"
    );
}

#[test]
fn a_trace_file_that_is_not_one_is_an_error_naming_it() {
    let w = trace_world();
    let bad = w.root.parent().unwrap().join("bad.json");
    std::fs::write(&bad, b"{\"schema\": \"ldslim.trace/9\"}").unwrap();
    let root = w.root.display().to_string();
    let o = ldslim(&[
        "scan",
        &root,
        "/usr/bin/tracehost",
        "--trace",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("--trace {}", bad.display())), "{err}");
}

#[test]
fn hostile_paths_in_a_trace_stay_inside_the_root_and_are_reported() {
    let w = trace_world();
    let target = World::new();
    w.symlink("/", "/usr/share/to-root");
    w.symlink("loop-b", "/usr/share/loop-a");
    w.symlink("loop-a", "/usr/share/loop-b");
    let file = |p: &str| serde_json::json!({"path": p, "by": ["x"]});
    let t = serde_json::json!({
        "schema": "ldslim.trace/1", "command": ["x"], "root": null, "user": null,
        "machine": "x86_64", "exit": {"code": 0}, "tasks": 1, "commands": ["x"],
        "objects": [], "directories": [], "executables": [],
        "files": [
            file("/../../../../etc/tracehost.conf"),
            file("/usr/share/to-root/etc/tracehost.conf"),
            file("/usr/share/loop-a"),
            file("relative/path"),
            file("/nonexistent"),
        ],
    });
    let f = w.root.parent().unwrap().join("hostile.json");
    std::fs::write(&f, t.to_string()).unwrap();
    let root = w.root.display().to_string();
    let o = ldslim(&[
        "scan",
        &root,
        "/usr/bin/tracehost",
        "--target",
        &target.root.display().to_string(),
        "--format",
        "json",
        "--trace",
        f.to_str().unwrap(),
    ]);
    assert_ne!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let srcs: Vec<String> = v["plan"]["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["src"].as_str().unwrap().to_string())
        .collect();
    // Both roads to the root's own file give that file, nothing of the host.
    assert!(
        srcs.contains(&"/etc/tracehost.conf".to_string()),
        "{srcs:?}"
    );
    let problems = v["plan"]["trace"]["problems"].to_string();
    assert!(problems.contains("loop"), "{problems}");
    assert!(problems.contains("relative/path"), "{problems}");
    let left = v["plan"]["trace"]["left_out"].to_string();
    assert!(left.contains("/nonexistent"), "{left}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let o = Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
