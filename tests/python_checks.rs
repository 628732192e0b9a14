//! The Python installations of the scope, checked in the final image
//! (`python::image_checks`): a venv whose interpreter the image lacks, a
//! script whose `#!` names a missing interpreter (and `--rewrite-shebangs`),
//! a `.pth` directory that was not copied, an interpreter whose standard
//! library is not where CPython's getpath looks. Each on a small root with
//! a compiled interpreter (tests/pyworld), against the embedded
//! distroless/cc-debian12; and on the real Debian root, where CPython
//! itself, run by glibc under chroot in the assembled image, fails as the
//! finding says and starts once its fix is applied.

mod common;
mod pyworld;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::World;
use serde_json::Value;

fn scan_json(w: &World, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let o = w.ldslim("scan", &all);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code(), v)
}

fn findings(v: &Value) -> Vec<Value> {
    v["plan"]["python_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn finding<'a>(found: &'a [Value], check: &str, path: &str) -> &'a Value {
    found
        .iter()
        .find(|f| f["check"] == check && f["path"] == path)
        .unwrap_or_else(|| panic!("no {check} finding for {path} in {found:#?}"))
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn executable(w: &World, inside: &str, bytes: &[u8]) {
    w.write(inside, bytes);
    std::fs::set_permissions(w.host(inside), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The world of tests/pyworld as a user copies it whole: nothing to say.
#[test]
fn a_consistent_installation_has_no_finding() {
    let w = pyworld::clean_python_world();
    executable(
        &w,
        "/app/.venv/bin/tool",
        b"#!/app/.venv/bin/python\nimport sys\n",
    );
    let (code, v) = scan_json(&w, &[]);
    assert_eq!(findings(&v), Vec::<Value>::new(), "{:#}", v["plan"]);
    assert_eq!(v["plan"]["verdict"], "loads", "{:#}", v["plan"]);
    assert_eq!(code, Some(0));
}

/// (a) A venv scanned alone: its bin/python leads to the builder's
/// interpreter, which is not in the image. A venv made by a Python the
/// builder does not have either: reported the same way, as the builder's
/// problem too.
#[test]
fn a_venv_whose_interpreter_the_image_lacks() {
    let w = pyworld::clean_python_world();
    let (code, v) = scan_json(&w, &["/app/.venv"]);
    let found = findings(&v);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = finding(&found, "venv_interpreter", "/app/.venv/bin/python");
    assert!(
        text(&f["problem"]).contains(
            "bin/python leads to /usr/bin/python3.11 in the builder, which the image does not have"
        ),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).contains("--include /usr/bin/python3.11"),
        "{f:#}"
    );
    assert_eq!(f["in_builder_too"], false);
    assert_eq!(v["plan"]["verdict"], "fails");
    assert_eq!(code, Some(1));
    // In the text report and as a CI annotation.
    let o = w.ldslim("scan", &["/app/.venv"]);
    let out = pyworld::strip_ansi(&String::from_utf8_lossy(&o.stdout));
    assert!(
        out.contains("error: /app/.venv/bin/python: bin/python leads to /usr/bin/python3.11"),
        "{out}"
    );
    assert!(out.contains("   fix: copy /usr/bin/python3.11"), "{out}");
    assert!(
        out.contains("but Python would NOT work there: 1 problem (above)"),
        "{out}"
    );
    let o = w.ldslim("scan", &["/app/.venv", "--format", "github"]);
    let gh = String::from_utf8_lossy(&o.stdout);
    assert!(
        gh.lines().any(|l| l.starts_with("::error ")
            && l.contains("file=/app/.venv/bin/python")
            && l.contains(
                "title=ldslim%3A the venv's interpreter is missing in distroless/cc-debian12"
            )),
        "{gh}"
    );
    assert_eq!(o.status.code(), Some(1));
    // The fix it names works.
    let (code, v) = scan_json(
        &w,
        &[
            "/app/.venv",
            "--include",
            "/usr/bin/python3.11",
            "--include",
            "/usr/lib/python3.11",
        ],
    );
    assert_eq!(findings(&v), Vec::<Value>::new(), "{:#}", v["plan"]);
    assert_eq!(code, Some(0), "{:#}", v["plan"]);

    // A venv of a Python 3.12 the builder never had.
    let w = pyworld::clean_python_world();
    w.write(
        "/app/old/pyvenv.cfg",
        b"home = /usr/local/bin\nversion = 3.12.1\n",
    );
    w.symlink("/usr/local/bin/python3.12", "/app/old/bin/python");
    w.mkdir("/app/old/lib/python3.12/site-packages");
    let (code, v) = scan_json(&w, &[]);
    let found = findings(&v);
    let f = finding(&found, "venv_interpreter", "/app/old/bin/python");
    assert!(
        text(&f["problem"]).contains(
            "leads to /usr/local/bin/python3.12, which neither the builder nor the image has"
        ),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).contains("python3 -m venv /app/old"),
        "{f:#}"
    );
    assert_eq!(f["in_builder_too"], true);
    // The scan's own finding (no interpreter of this venv in the root)
    // fails it; the image adds nothing of its own.
    assert_eq!(code, Some(1));
    assert_eq!(v["plan"]["verdict"], "loads", "{:#}", v["plan"]);
}

/// A venv whose pyvenv.cfg says 3.12 but runs the 3.11, and one whose
/// home holds no Python: both as wrong in the builder.
#[test]
fn a_venv_of_another_version_or_home() {
    let w = pyworld::clean_python_world();
    w.write(
        "/srv/v/pyvenv.cfg",
        b"home = /usr/bin\nversion_info = 3.12.0\n",
    );
    w.symlink("/usr/bin/python3.11", "/srv/v/bin/python");
    w.mkdir("/srv/v/lib/python3.12/site-packages");
    w.write(
        "/app/.venv/pyvenv.cfg",
        b"home = /opt/gone/bin\nversion = 3.11.2\n",
    );
    let (_, v) = scan_json(&w, &[]);
    let found = findings(&v);
    let f = finding(&found, "venv_version", "/srv/v/pyvenv.cfg");
    assert!(
        text(&f["problem"]).contains("the venv is for Python 3.12, but its bin/python runs /usr/bin/python3.11 in the image, a Python 3.11"),
        "{f:#}"
    );
    assert_eq!(f["in_builder_too"], true);
    let f = finding(&found, "venv_home", "/app/.venv/pyvenv.cfg");
    assert!(
        text(&f["problem"]).contains(
            "home = /opt/gone/bin, where the image has no Python (python3.11, python3, python)"
        ),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).contains("set home in /app/.venv/pyvenv.cfg to the directory of the Python the image has (/usr/bin)"),
        "{f:#}"
    );
    assert_eq!(found.len(), 2, "{found:#?}");
}

/// (b) Scripts of a venv's bin/: `#!/usr/bin/env python3` works in the
/// builder (it has env) and not in distroless (no env); pip's launcher
/// needs /bin/sh; a bash script needs bash; one naming a Python the builder
/// lacks too is the builder's problem as well. A script naming the venv's
/// own Python, and a file that is not executable, are fine.
#[test]
fn scripts_whose_interpreter_the_image_lacks() {
    let w = script_world();
    let (code, v) = scan_json(&w, &[]);
    let found = findings(&v);
    let venv_bin = "/app/.venv/bin";
    let f = finding(&found, "shebang", &format!("{venv_bin}/uvicorn"));
    assert!(
        text(&f["problem"]).contains("its #! runs /usr/bin/env, which the image does not have: running it fails with \"exec /app/.venv/bin/uvicorn: no such file or directory\""),
        "{f:#}"
    );
    assert_eq!(f["in_builder_too"], false);
    assert_eq!(f["rewrite"], "/app/.venv/bin/python");
    assert!(text(&f["fix"]).contains("--rewrite-shebangs"), "{f:#}");
    let f = finding(&found, "shebang", &format!("{venv_bin}/long"));
    assert!(
        text(&f["problem"])
            .contains("pip's launcher for a long interpreter path: its #! runs /bin/sh"),
        "{f:#}"
    );
    assert_eq!(f["in_builder_too"], false);
    assert_eq!(f["rewrite"], "/app/.venv/bin/python");
    let f = finding(&found, "shebang", &format!("{venv_bin}/deploy"));
    assert!(
        text(&f["problem"]).contains("its #! names /bin/bash, which the image does not have"),
        "{f:#}"
    );
    // Never given a Python: it is no Python script.
    assert_eq!(f.get("rewrite"), None, "{f:#}");
    assert!(text(&f["fix"]).contains("--include /bin/bash"), "{f:#}");
    let f = finding(&found, "shebang", &format!("{venv_bin}/granian"));
    assert!(
        text(&f["problem"])
            .contains("its #! names /usr/local/bin/python3.12, which the image does not have"),
        "{f:#}"
    );
    assert_eq!(f["in_builder_too"], true);
    // pip --target's bin/ in a site directory: its scripts too.
    let f = finding(
        &found,
        "shebang",
        "/usr/local/lib/python3.11/dist-packages/bin/pkg",
    );
    assert_eq!(f["rewrite"], "/usr/bin/python3.11");
    assert_eq!(f["in_builder_too"], false);
    assert_eq!(found.len(), 5, "{found:#?}");
    assert_eq!(v["plan"]["verdict"], "fails");
    assert_eq!(code, Some(1));
    let o = w.ldslim("scan", &[]);
    let out = pyworld::strip_ansi(&String::from_utf8_lossy(&o.stdout));
    assert!(
        out.contains("warning: /app/.venv/bin/granian: its #! names /usr/local/bin/python3.12, which the image does not have") && out.contains("(in the builder too)"),
        "{out}"
    );
}

/// `--rewrite-shebangs`: the Python scripts are copied with the image's
/// Python in their `#!` and the rest of their bytes, as generated items
/// that take the place of the layer's own copies; what is left is the
/// bash script.
#[test]
fn rewrite_shebangs_writes_the_scripts_with_the_images_python() {
    let w = script_world();
    let out = tempfile::tempdir().unwrap();
    let copy = format!("--emit=copy={}", out.path().display());
    let (code, v) = scan_json(&w, &["--rewrite-shebangs", &copy]);
    let found = findings(&v);
    assert_eq!(found.len(), 1, "{found:#?}");
    finding(&found, "shebang", "/app/.venv/bin/deploy");
    assert_eq!(code, Some(1));
    let read = |p: &str| std::fs::read(out.path().join(p.trim_start_matches('/'))).unwrap();
    assert_eq!(
        read("/app/.venv/bin/uvicorn"),
        b"#!/app/.venv/bin/python\nimport uvicorn.main\nuvicorn.main.main()\n"
    );
    // The launcher's lines go, its Python code stays.
    assert_eq!(
        read("/app/.venv/bin/long"),
        b"#!/app/.venv/bin/python\nimport sys\nprint(sys.argv)\n"
    );
    assert_eq!(
        read("/app/.venv/bin/granian"),
        b"#!/app/.venv/bin/python -E\nimport granian\n"
    );
    assert_eq!(
        read("/usr/local/lib/python3.11/dist-packages/bin/pkg"),
        b"#!/usr/bin/python3.11\nimport pkg\n"
    );
    let mode = std::fs::metadata(out.path().join("app/.venv/bin/uvicorn"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    // The layer has the bash script and the script that was fine as they
    // are.
    assert_eq!(read("/app/.venv/bin/deploy"), b"#!/bin/bash\necho deploy\n");
    assert_eq!(
        read("/app/.venv/bin/tool"),
        b"#!/app/.venv/bin/python\nimport sys\n"
    );
    let items = v["plan"]["copy"]["items"].as_array().unwrap();
    let item = items
        .iter()
        .find(|i| i["dest"] == "/app/.venv/bin/uvicorn")
        .expect("an item");
    let kind = &item["kind"];
    assert_eq!(kind["type"], "generated");
    assert_eq!(kind["content"], "script");
    assert_eq!(kind["from"], "/app/.venv/bin/uvicorn");
    assert_eq!(kind["shebang"], "#!/app/.venv/bin/python");
    assert_eq!(kind["mode"], 0o755);

    // With the library layer only, the rewritten scripts are all of the
    // venv it writes: the user's own COPY of the venv must come first.
    let libs = tempfile::tempdir().unwrap();
    let copy = format!("--emit=copy={}", libs.path().display());
    scan_json(&w, &["--rewrite-shebangs", "--layer", "libs", &copy]);
    assert!(libs.path().join("app/.venv/bin/uvicorn").exists());
    assert!(!libs.path().join("app/.venv/bin/deploy").exists());
    assert!(!libs.path().join("app/.venv/bin/tool").exists());

    // Without the bash script the image is sound.
    std::fs::remove_file(w.host("/app/.venv/bin/deploy")).unwrap();
    let (code, v) = scan_json(&w, &["--rewrite-shebangs"]);
    assert_eq!(findings(&v), Vec::<Value>::new());
    assert_eq!(code, Some(0), "{:#}", v["plan"]);
}

/// pyworld with scripts in the venv's bin/ and in a `pip --target` bin/.
fn script_world() -> World {
    let w = pyworld::clean_python_world();
    // What the builder has and distroless does not.
    w.exe("/usr/bin/env", &[], &[]);
    executable(&w, "/bin/sh", b"");
    executable(&w, "/bin/bash", b"");
    let bin = "/app/.venv/bin";
    executable(
        &w,
        &format!("{bin}/uvicorn"),
        b"#!/usr/bin/env python3\nimport uvicorn.main\nuvicorn.main.main()\n",
    );
    executable(
        &w,
        &format!("{bin}/long"),
        b"#!/bin/sh\n'''exec' \"/app/.venv/bin/python\" \"$0\" \"$@\"\n' '''\nimport sys\nprint(sys.argv)\n",
    );
    executable(&w, &format!("{bin}/deploy"), b"#!/bin/bash\necho deploy\n");
    executable(
        &w,
        &format!("{bin}/granian"),
        b"#!/usr/local/bin/python3.12 -E\nimport granian\n",
    );
    executable(
        &w,
        &format!("{bin}/tool"),
        b"#!/app/.venv/bin/python\nimport sys\n",
    );
    // Not executable: never started by its #!.
    w.write(&format!("{bin}/notes"), b"#!/nowhere/python\n");
    executable(
        &w,
        &format!("{}/bin/pkg", pyworld::SITE),
        b"#!/usr/bin/env python3\nimport pkg\n",
    );
    w
}

/// (c) A .pth file whose directory was not copied.
#[test]
fn a_pth_directory_the_image_lacks() {
    let w = pyworld::clean_python_world();
    let user_site = "/home/app/.local/lib/python3.11/site-packages";
    let base = ["/usr/bin/python3.11", "/usr/lib/python3.11", user_site];
    let (code, v) = scan_json(&w, &base);
    let found = findings(&v);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = finding(&found, "pth", &format!("{user_site}/extra.pth"));
    assert!(
        text(&f["problem"]).contains(
            "it adds /opt/extra to sys.path, which the builder has and the image does not"
        ),
        "{f:#}"
    );
    assert!(text(&f["fix"]).contains("--include /opt/extra"), "{f:#}");
    assert_eq!(code, Some(1));
    let mut with = base.to_vec();
    with.push("/opt/extra");
    let (code, v) = scan_json(&w, &with);
    assert_eq!(findings(&v), Vec::<Value>::new());
    assert_eq!(code, Some(0), "{:#}", v["plan"]);
}

/// (d) The interpreter without its standard library: CPython's search
/// from /usr/bin finds neither os.py nor lib-dynload.
#[test]
fn an_interpreter_without_its_standard_library() {
    let w = pyworld::clean_python_world();
    let (code, v) = scan_json(&w, &["/usr/bin/python3.11"]);
    let found = findings(&v);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = finding(&found, "prefix", "/usr/bin/python3.11");
    let problem = text(&f["problem"]);
    assert!(
        problem.contains("CPython 3.11 looks for its standard library from /usr/bin upwards")
            && problem.contains("no lib/python3.11/os.py or lib/python311.zip")
            && problem.contains("Could not find platform independent libraries <prefix>")
            && problem.contains("no lib/python3.11/lib-dynload"),
        "{f:#}"
    );
    // lib-dynload is inside the stdlib: one path to add.
    assert!(
        text(&f["fix"]).ends_with("(or --include /usr/lib/python3.11)"),
        "{f:#}"
    );
    assert_eq!(code, Some(1));
    // Only lib-dynload missing: the stdlib is a zip.
    let w = pyworld::clean_python_world();
    std::fs::remove_file(w.host("/usr/lib/python3.11/os.py")).unwrap();
    w.write("/usr/lib/python311.zip", b"PK");
    let (_, v) = scan_json(&w, &["/usr/bin/python3.11", "/usr/lib/python311.zip"]);
    let found = findings(&v);
    let f = finding(&found, "prefix", "/usr/bin/python3.11");
    assert!(
        !text(&f["problem"]).contains("platform independent")
            && text(&f["problem"]).contains("Could not find platform dependent libraries"),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).contains("--include /usr/lib/python3.11/lib-dynload"),
        "{f:#}"
    );
    let (code, v) = scan_json(
        &w,
        &[
            "/usr/bin/python3.11",
            "/usr/lib/python311.zip",
            "/usr/lib/python3.11",
        ],
    );
    assert_eq!(findings(&v), Vec::<Value>::new());
    assert_eq!(code, Some(0), "{:#}", v["plan"]);
}

/// The real Debian root: the interpreter copied without its standard
/// library, and a venv without its interpreter, fail in the assembled
/// image as the findings say (CPython run by glibc under chroot), and the
/// fixes they name make them start.
#[test]
#[ignore = "needs the Debian root and root privileges; run scripts/test.sh"]
fn real_python_fails_as_the_findings_say() {
    if !common::can_chroot() {
        common::cannot_run("chroot needs root");
        return;
    }
    let builder = std::env::var_os("LDSLIM_E2E_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| common::script_root("make-root.sh", &[]));
    let base = common::script_root("distroless-root.sh", &["bookworm", "amd64", "cc"]);
    let tmp = tempfile::tempdir().unwrap();
    let ldslim = |args: &[&str]| -> (Option<i32>, Value) {
        let report = tmp.path().join("plan.json");
        let o = Command::new(env!("CARGO_BIN_EXE_ldslim"))
            .arg("scan")
            .arg(&builder)
            .args(args)
            .arg("--target")
            .arg(&base)
            .arg(format!("--emit=json={}", report.display()))
            .output()
            .unwrap();
        let v = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        (o.status.code(), v)
    };
    // The image: base, the scope, ldslim's files (as a tar layer).
    let assemble = |name: &str, scope: &[&str], extra: &[&str]| -> std::path::PathBuf {
        let image = tmp.path().join(name);
        common::cp_a(&base, &image);
        for p in scope {
            common::cp_a(
                &builder.join(p.trim_start_matches('/')),
                &image.join(p.trim_start_matches('/')),
            );
        }
        let layer = tmp.path().join(format!("{name}.tar"));
        let mut args: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(format!("--emit=tar={}", layer.display()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        ldslim(&argv);
        let st = Command::new("tar")
            .args(["-x", "--keep-directory-symlink", "-f"])
            .arg(&layer)
            .arg("-C")
            .arg(&image)
            .status()
            .unwrap();
        assert!(st.success());
        image
    };
    let run = |image: &Path, program: &str| {
        common::chrooted(image, program)
            .args(["-c", "import os, json; print('ok')"])
            .env_clear()
            .output()
            .unwrap()
    };

    // (d) the interpreter alone.
    let (code, v) = ldslim(&["/usr/bin/python3.11"]);
    let found = findings(&v);
    assert_eq!(code, Some(1));
    let f = finding(&found, "prefix", "/usr/bin/python3.11");
    assert!(
        text(&f["fix"]).contains("--include /usr/lib/python3.11"),
        "{f:#}"
    );
    let image = assemble("bare", &["/usr/bin/python3.11"], &[]);
    let o = run(&image, "/usr/bin/python3.11");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "python started without its stdlib");
    assert!(
        err.contains("Could not find platform independent libraries <prefix>"),
        "{err}"
    );
    // Its fix.
    let (_, v) = ldslim(&[
        "/usr/bin/python3.11",
        "--include",
        "/usr/lib/python3.11",
        "--allow-runtime",
        "libkrb5.so.3",
    ]);
    assert_eq!(findings(&v), Vec::<Value>::new(), "{:#}", v["plan"]);
    assert_ne!(v["plan"]["verdict"], "fails", "{:#}", v["plan"]);
    let image = assemble(
        "fixed",
        &["/usr/bin/python3.11"],
        &[
            "--include",
            "/usr/lib/python3.11",
            "--allow-runtime",
            "libkrb5.so.3",
        ],
    );
    let o = run(&image, "/usr/bin/python3.11");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ok");

    // (a) the venv alone: its bin/python leads nowhere in the image.
    let (code, v) = ldslim(&["/app/.venv"]);
    let found = findings(&v);
    assert_eq!(code, Some(1));
    let image = assemble("venv", &["/app/.venv"], &[]);
    // The exec itself fails, as a container runtime reports it.
    let e = common::chrooted(&image, "/app/.venv/bin/python")
        .env_clear()
        .output()
        .expect_err("the venv's python started in an image without its interpreter");
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
    // Its fix: its bin/python3 leads through the link /usr/bin/python3,
    // which the finding names with the interpreter and its stdlib.
    let f = finding(&found, "venv_interpreter", "/app/.venv/bin/python");
    assert!(
        text(&f["problem"]).contains("through the link /usr/bin/python3 -> python3.11"),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).contains("--include /usr/bin/python3)"),
        "{f:#}"
    );
    let fix = [
        "--include",
        "/usr/bin/python3",
        "--include",
        "/usr/lib/python3.11",
        "--allow-runtime",
        "libkrb5.so.3",
    ];
    let mut args = vec!["/app/.venv"];
    args.extend(fix);
    let (_, v) = ldslim(&args);
    assert_eq!(findings(&v), Vec::<Value>::new(), "{:#}", v["plan"]);
    let image = assemble("venv-fixed", &["/app/.venv"], &fix);
    let o = run(&image, "/app/.venv/bin/python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The cached roots with their default scope: the apps root (the FastAPI
/// app's venv at /app/.venv, made by the root's python3 -m venv, with
/// uvicorn's console scripts) has nothing to say; the Debian root's only findings are the scripts that
/// `pip install --target` on the host wrote into dist-packages/bin with the
/// host's interpreter, which the builder lacks too (warnings, with the
/// rewrite to the image's Python as their fix).
#[test]
#[ignore = "needs the cached apps and Debian roots; run scripts/test.sh"]
fn the_cached_roots_hold_together_in_the_image() {
    let env_path = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    let scan = |root: &Path| -> (Option<i32>, Value) {
        let o = Command::new(env!("CARGO_BIN_EXE_ldslim"))
            .arg("scan")
            .arg(root)
            .args(["--format", "json"])
            .output()
            .unwrap();
        (
            o.status.code(),
            serde_json::from_slice(&o.stdout).expect("json"),
        )
    };
    let apps = env_path("LDSLIM_APPS_ROOT")
        .unwrap_or_else(|| common::script_root("make-apps-root.sh", &[]));
    assert!(
        apps.join("app/.venv/pyvenv.cfg").exists(),
        "{} is not the apps root",
        apps.display()
    );
    // Its console scripts name the venv's Python: the check reads them.
    let uvicorn =
        std::fs::read(apps.join("app/.venv/bin/uvicorn")).expect("the venv's uvicorn script");
    assert!(uvicorn.starts_with(b"#!/app/.venv/bin/python\n"));
    let (_, v) = scan(&apps);
    assert_eq!(findings(&v), Vec::<Value>::new(), "{:#}", v["plan"]);
    assert_ne!(v["plan"]["verdict"], "fails", "{:#}", v["plan"]);

    let debian =
        env_path("LDSLIM_E2E_ROOT").unwrap_or_else(|| common::script_root("make-root.sh", &[]));
    let (_, v) = scan(&debian);
    let found = findings(&v);
    assert!(!found.is_empty(), "{:#}", v["plan"]);
    for f in &found {
        assert_eq!(f["check"], "shebang", "{f:#}");
        assert!(
            text(&f["path"]).starts_with("/usr/local/lib/python3.11/dist-packages/bin/"),
            "{f:#}"
        );
        assert_eq!(f["in_builder_too"], true, "{f:#}");
        assert_eq!(f["rewrite"], "/usr/bin/python3.11", "{f:#}");
    }
    assert_ne!(v["plan"]["verdict"], "fails", "{:#}", v["plan"]);
}
