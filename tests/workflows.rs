//! The two ways teams use ldslim, as documented:
//!
//! - Inside a Dockerfile (docs/dockerfile.md): each Dockerfile of that page
//!   is read from it and carried out without a Docker engine. The builder
//!   stage's `RUN ldslim …` line runs against a real Debian 12 builder root,
//!   the final stage's `COPY` lines assemble the image onto a
//!   distroless-cc-debian12-like root, and Python runs there under chroot.
//!   Ignored unless asked for (root, the builder roots): scripts/test.sh.
//! - In CI before the build (docs/ci.md): `--format json|github|gitlab` and
//!   the exit code on tiny roots, and the tar layer on the real root.

mod common;
mod pyworld;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

use common::ldslim;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ------------------------------------------------------------------ docs

/// The fenced block that follows `<!-- MARKER -->` in a doc.
fn block_after(doc: &str, marker: &str) -> String {
    let tag = format!("<!-- {marker} -->");
    let at = doc
        .find(&tag)
        .unwrap_or_else(|| panic!("{tag} not found in the doc"));
    let rest = &doc[at + tag.len()..];
    let open = rest.find("```").expect("a fenced block after the marker");
    let body = &rest[open..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    let close = body.find("\n```").expect("a closing fence");
    body[..close + 1].to_string()
}

/// One stage of a Dockerfile: its base, its name, its instructions (with
/// continuation lines joined, comments dropped).
#[derive(Debug)]
struct Stage {
    from: String,
    name: Option<String>,
    instructions: Vec<String>,
}

fn parse_dockerfile(text: &str) -> Vec<Stage> {
    let mut joined: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if current.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(t);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for ins in joined {
        let words: Vec<&str> = ins.split_whitespace().collect();
        if words[0] == "FROM" {
            stages.push(Stage {
                from: words[1].to_string(),
                name: (words.len() == 4 && words[2].eq_ignore_ascii_case("AS"))
                    .then(|| words[3].to_string()),
                instructions: Vec::new(),
            });
        } else {
            stages
                .last_mut()
                .expect("FROM first")
                .instructions
                .push(ins);
        }
    }
    stages
}

/// `["a", "b"]` of an exec-form ENTRYPOINT.
fn exec_form(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("ENTRYPOINT {s}: {e}"))
}

// ------------------------------------------------------------------ roots

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Docker's COPY of one source: a directory's contents go into DEST (made
/// when missing); a file goes to DEST, or into it when DEST ends in `/`.
fn docker_copy(src: &Path, image: &Path, dest: &str) {
    let d = image.join(dest.trim_start_matches('/'));
    if src.is_dir() {
        std::fs::create_dir_all(&d).unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", src.display()))
            .arg(&d)
            .status()
            .unwrap();
        assert!(st.success(), "COPY {} {dest}", src.display());
    } else {
        let d = if dest.ends_with('/') {
            std::fs::create_dir_all(&d).unwrap();
            d.join(src.file_name().unwrap())
        } else {
            std::fs::create_dir_all(d.parent().unwrap()).unwrap();
            d
        };
        common::cp_a(src, &d);
    }
}

/// A Dockerfile of docs/dockerfile.md carried out: returns the image.
struct Built {
    _tmp: tempfile::TempDir,
    image: PathBuf,
    /// The same, without the COPY of ldslim's output directory.
    bare: PathBuf,
    entrypoint: Vec<String>,
    env: Vec<(String, String)>,
}

/// Context files a builder stage copies into the builder root (for a
/// traced smoke test) and the directories made for them, removed when
/// dropped: the root is shared.
struct Placed {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

impl Placed {
    /// Copy `from` to `to` (a path in the builder root), making the
    /// directories it needs.
    fn copy(&mut self, from: &Path, to: &Path) {
        let mut made = Vec::new();
        let mut d = to.parent();
        while let Some(dir) = d.filter(|dir| !dir.exists()) {
            made.push(dir.to_path_buf());
            d = dir.parent();
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        self.dirs.extend(made.into_iter().rev());
        std::fs::copy(from, to).unwrap();
        self.files.push(to.to_path_buf());
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        for p in &self.files {
            let _ = std::fs::remove_file(p);
        }
        for d in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

fn build(app: &str, builder: &Path) -> Built {
    // The test's builder holds the other apps' packages too; pubsub's
    // google-auth loads a TLS offload library named in a configuration file,
    // which only the running program knows. A builder with this page's
    // packages alone has no such call.
    build_with(
        app,
        builder,
        &["google/auth/transport/_custom_tls_signer.py"],
        true,
    )
}

/// Build `app`'s Dockerfile: `allow` adds `--allow-runtime` values the
/// test's shared builder needs; `with_trace: false` runs the scan without
/// its `--trace` files.
fn build_with(app: &str, builder: &Path, allow: &[&str], with_trace: bool) -> Built {
    let doc = std::fs::read_to_string(manifest("docs/dockerfile.md")).unwrap();
    let stages = parse_dockerfile(&block_after(&doc, &format!("dockerfile: {app}")));
    let tmp = tempfile::tempdir().unwrap();
    // The build context: the files the page shows.
    let context = tmp.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    for marker in doc.lines().filter_map(|l| l.strip_prefix("<!-- context: ")) {
        let marker = marker.trim_end_matches(" -->");
        if let Some(file) = marker.strip_prefix(&format!("{app} ")) {
            std::fs::write(
                context.join(file),
                block_after(&doc, &format!("context: {marker}")),
            )
            .unwrap();
        }
    }
    // Where the builder stage's own writes go (its /ldslim-out).
    let scratch = tmp.path().join("builder-writes");
    std::fs::create_dir_all(&scratch).unwrap();
    let in_builder = |p: &str| -> PathBuf {
        let top = p
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        if !top.is_empty() && scratch.join(top).exists() {
            scratch.join(p.trim_start_matches('/'))
        } else {
            builder.join(p.trim_start_matches('/'))
        }
    };

    let b = stages
        .iter()
        .find(|s| s.name.as_deref() == Some("builder"))
        .expect("a builder stage");
    let runs: Vec<&String> = b
        .instructions
        .iter()
        .filter(|i| i.starts_with("RUN ldslim scan "))
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "one RUN ldslim scan in the builder: {runs:?}"
    );
    // The smoke tests it traces: run chrooted into the builder root, with
    // the context files the stage copies, their traces in the scratch
    // directory.
    let traces: Vec<&String> = b
        .instructions
        .iter()
        .filter(|i| i.starts_with("RUN ldslim trace "))
        .collect();
    let mut placed = Placed {
        files: Vec::new(),
        dirs: Vec::new(),
    };
    for ins in b
        .instructions
        .iter()
        .filter(|_| with_trace && !traces.is_empty())
    {
        let words: Vec<&str> = ins.split_whitespace().collect();
        if words[0] == "COPY" && !words[1].starts_with("--from") {
            let (dest, srcs) = words[1..].split_last().unwrap();
            // As Docker reads it: a destination ending in `/` (or for
            // several sources) is a directory, else the file itself.
            let into_dir = dest.ends_with('/') || srcs.len() > 1;
            for src in srcs {
                let to = builder.join(dest.trim_start_matches('/'));
                let to = if into_dir { to.join(src) } else { to };
                placed.copy(&context.join(src), &to);
            }
        }
    }
    for run in traces.iter().filter(|_| with_trace) {
        let words: Vec<&str> = run["RUN ldslim ".len()..].split_whitespace().collect();
        let mut argv: Vec<String> = vec![
            "trace".into(),
            "--root".into(),
            builder.display().to_string(),
        ];
        let mut i = 1;
        while i < words.len() {
            if words[i] == "-o" {
                argv.push("-o".into());
                argv.push(
                    scratch
                        .join(words[i + 1].trim_start_matches('/'))
                        .display()
                        .to_string(),
                );
                i += 2;
            } else {
                argv.push(words[i].into());
                i += 1;
            }
        }
        let _dev = common::DevMount::new(builder);
        let o = Command::new(env!("CARGO_BIN_EXE_ldslim"))
            .args(&argv)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .output()
            .unwrap();
        eprintln!("{app}: {run}\n{}", text(&o.stderr));
        assert!(
            o.status.success(),
            "`{run}` fails the build:\n{}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
    }
    drop(placed);
    let words: Vec<&str> = runs[0]["RUN ldslim ".len()..].split_whitespace().collect();
    let mut args: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let a = words[i];
        if a == "--trace" {
            if with_trace {
                args.push(a.into());
                args.push(
                    scratch
                        .join(words[i + 1].trim_start_matches('/'))
                        .display()
                        .to_string(),
                );
            }
            i += 2;
            continue;
        }
        args.push(if a == "/" {
            builder.display().to_string()
        } else if let Some((head, path)) = a.split_once("copy=/") {
            format!("{head}copy={}", scratch.join(path).display())
        } else {
            a.to_string()
        });
        i += 1;
    }
    let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
    for a in allow {
        argv.extend(["--allow-runtime", a]);
    }
    eprintln!("{app}: {}", runs[0]);
    let o = ldslim(&argv);
    eprintln!("{}", text(&o.stderr));
    // Without its trace the build stops (exit 1), but the files ldslim
    // could plan are written: the image shows what the trace adds.
    assert_eq!(
        o.status.code(),
        if with_trace { Some(0) } else { Some(1) },
        "`{}` fails the build:\n{}\n{}",
        runs[0],
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("final image: all ") || !with_trace,
        "{}",
        text(&o.stdout)
    );

    let last = stages.last().unwrap();
    assert!(
        last.from.starts_with("gcr.io/distroless/cc-debian12"),
        "the final stage is {}",
        last.from
    );
    let base = env_path("LDSLIM_DISTROLESS_CC")
        .unwrap_or_else(|| common::script_root("distroless-root.sh", &["bookworm", "amd64", "cc"]));
    let mut out = Built {
        image: tmp.path().join("image"),
        bare: tmp.path().join("bare"),
        _tmp: tmp,
        entrypoint: Vec::new(),
        env: Vec::new(),
    };
    for (image, with_ldslim) in [(&out.image, true), (&out.bare, false)] {
        common::cp_a(&base, image);
        for ins in &last.instructions {
            let words: Vec<&str> = ins.split_whitespace().collect();
            match words[0] {
                "COPY" if words[1] == "--from=builder" => {
                    assert_eq!(words.len(), 4, "{ins}");
                    if !with_ldslim && scratch.join(words[2].trim_matches('/')).exists() {
                        continue;
                    }
                    docker_copy(&in_builder(words[2]), image, words[3]);
                }
                "COPY" => {
                    let (dest, srcs) = words[1..].split_last().unwrap();
                    for s in srcs {
                        docker_copy(&context.join(s), image, dest);
                    }
                }
                "ENTRYPOINT" => out.entrypoint = exec_form(&ins["ENTRYPOINT".len()..]),
                "ENV" => {
                    let (k, v) = words[1].split_once('=').expect("ENV K=V");
                    out.env.push((k.into(), v.into()));
                }
                "WORKDIR" | "EXPOSE" | "USER" => {}
                other => panic!("the test does not know {other}: {ins}"),
            }
        }
    }
    out
}

/// A program of the image, run by glibc under chroot with distroless'
/// environment and the Dockerfile's ENV.
fn run_in(image: &Path, env: &[(String, String)], argv: &[String]) -> Output {
    let mut cmd = common::chrooted(image, &argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .envs(env.iter().map(|(k, v)| (k, v)));
    // A program the image lacks (an image without ldslim's layer has no
    // Python at all) fails as a shell would report it: exit 127.
    cmd.output().unwrap_or_else(|e| Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(127 << 8),
        stdout: Vec::new(),
        stderr: format!("{}: {e}", argv[0]).into_bytes(),
    })
}

fn python(built: &Built, image: &Path, code: &str) -> Output {
    let argv = vec![built.entrypoint[0].clone(), "-c".into(), code.into()];
    run_in(image, &built.env, &argv)
}

#[test]
#[ignore = "needs root and the Debian builder root; run scripts/test.sh"]
fn dockerfile_pandas_as_documented() {
    assert!(common::can_chroot(), "needs root (chroot)");
    let builder = env_path("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT: run scripts/test.sh");
    let built = build("pandas", &builder);
    // Without ldslim's COPY there is no Python at all: the page's final
    // stage copies nothing else from the builder (the whole layer is
    // ldslim's). tests/apps.rs keeps the hand-copied Python without the
    // libraries as its negative control.
    let o = python(&built, &built.bare, "import pandas");
    assert!(
        !o.status.success(),
        "pandas imported without ldslim's files"
    );
    assert!(
        !built.bare.join("usr/bin/python3.11").exists(),
        "the final stage copies Python besides ldslim's layer"
    );
    // With it: the import, then the ENTRYPOINT.
    let o = python(&built, &built.image, "import pandas");
    assert!(o.status.success(), "import pandas: {}", text(&o.stderr));
    let o = run_in(&built.image, &built.env, &built.entrypoint);
    assert!(o.status.success(), "ENTRYPOINT: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "sales: {'Lima': 5, 'Oslo': 10}\n");
}

#[test]
#[ignore = "needs root, the run-time packages' builder root and ptrace; run scripts/test.sh"]
fn dockerfile_smoke_test_under_trace_as_documented() {
    assert!(common::can_chroot(), "needs root (chroot)");
    let builder = common::script_root("make-runtime-root.sh", &[]);
    // The test's builder holds the other run-time packages too (vips,
    // psycopg's SASL, ...): their possible plugin loads are accepted here;
    // a builder with this page's packages alone has none of them.
    let others = [
        "libgdk_pixbuf-2.0.so.0",
        "libgio-2.0.so.0",
        "libsasl2.so.2",
        "libselinux.so.1",
        "libvips.so.42",
    ];
    let built = build_with("odbc", &builder, &others, true);
    let o = run_in(&built.bare, &built.env, &built.entrypoint);
    assert!(
        !o.status.success(),
        "the smoke test passed without ldslim's files"
    );
    let o = run_in(&built.image, &built.env, &built.entrypoint);
    assert!(o.status.success(), "smoke test: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "smoke test passed\n");
    // Without the trace, ldslim stops the build ("NOT VERIFIED": libodbc's
    // driver directory), and the image it would give fails the smoke test.
    let untraced = build_with("odbc", &builder, &others, false);
    let o = run_in(&untraced.image, &untraced.env, &untraced.entrypoint);
    assert!(
        !o.status.success(),
        "the smoke test passed without the trace"
    );
    assert!(text(&o.stderr).contains("SQLite3"), "{}", text(&o.stderr));
}

#[test]
#[ignore = "needs root and the apps builder root; run scripts/test.sh"]
fn dockerfile_flask_as_documented() {
    assert!(common::can_chroot(), "needs root (chroot)");
    let builder = match env_path("LDSLIM_APPS_ROOT") {
        Some(root) => root,
        None if manifest("scripts/make-apps-root.sh").exists() => {
            common::script_root("make-apps-root.sh", &[])
        }
        None => {
            eprintln!(
                "skipped: no LDSLIM_APPS_ROOT and no scripts/make-apps-root.sh to build the Flask root"
            );
            return;
        }
    };
    let built = build("flask", &builder);
    let check = "import sys; sys.path.insert(0, '/app'); \
                 import flask, gunicorn.app.base, run; print(run.app.name, flask.__name__)";
    let o = python(&built, &built.bare, check);
    assert!(!o.status.success(), "flask imported without ldslim's files");
    let o = python(&built, &built.image, check);
    assert!(
        o.status.success(),
        "import flask, gunicorn: {}",
        text(&o.stderr)
    );
    assert_eq!(text(&o.stdout), "app flask\n");
    assert_eq!(built.entrypoint, ["/usr/bin/python3.11", "/app/run.py"]);
}

// ------------------------------------------------------------------ CI

/// Every line is a workflow command, except the summary at the end; a
/// message never spans lines.
fn github_lines(out: &str) -> Vec<&str> {
    let lines: Vec<&str> = out.lines().collect();
    let (summary, commands) = lines.split_last().expect("output");
    assert!(summary.contains(" ELF objects, "), "{summary}");
    for l in commands {
        assert!(
            l.starts_with("::error ") || l.starts_with("::warning ") || l.starts_with("::notice "),
            "not a workflow command: {l}"
        );
    }
    commands.to_vec()
}

#[test]
fn github_annotations_and_exit_code() {
    let w = pyworld::python_world();
    let root = w.root.to_str().unwrap();
    let o = ldslim(&["scan", root, "--format", "github"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    let lines = github_lines(&out);
    let not_found = lines
        .iter()
        .find(|l| l.contains("libgone.so.1 not found"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        not_found.starts_with(&format!(
            "::error file={},title=ldslim%3A libgone.so.1 not found::{} needs libgone.so.1",
            pyworld::EXT_GONE,
            pyworld::EXT_GONE
        )),
        "{not_found}"
    );
    assert!(not_found.contains("%0ASearched:%0A"), "{not_found}");
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "::error file={},title=ldslim%3A bad file::",
            pyworld::TRUNCATED
        ))),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::error ")
                && l.contains("will not load in distroless/cc-debian12")),
        "{out}"
    );
    let notice = lines
        .iter()
        .find(|l| l.starts_with("::notice "))
        .expect("a plan notice");
    assert!(
        notice.starts_with("::notice title=ldslim%3A plan for distroless/cc-debian12 (amd64%2C glibc 2.36%2C embedded)::"),
        "{notice}"
    );
    assert!(notice.contains("libx.so.1"), "{notice}");
    assert!(notice.contains("final image: would NOT load"), "{notice}");

    // Clean: a notice only, exit 0.
    let w = pyworld::clean_python_world();
    let o = ldslim(&["scan", w.root.to_str().unwrap(), "--format", "github"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines = github_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains("final image: all "), "{out}");
}

#[test]
fn gitlab_code_quality_report() {
    let w = pyworld::python_world();
    let o = ldslim(&["scan", w.root.to_str().unwrap(), "--format", "gitlab"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let issues = v.as_array().expect("an array of issues");
    let mut fingerprints = std::collections::BTreeSet::new();
    for i in issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(i[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {i}");
        }
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&i["severity"].as_str().unwrap()),
            "{i}"
        );
        assert!(i["location"]["path"].as_str().is_some(), "{i}");
        assert_eq!(i["location"]["lines"]["begin"], 1, "{i}");
        assert!(
            fingerprints.insert(i["fingerprint"].as_str().unwrap().to_string()),
            "duplicate: {i}"
        );
    }
    let by_check = |c: &str| {
        issues
            .iter()
            .filter(|i| i["check_name"] == c)
            .collect::<Vec<_>>()
    };
    let nf = by_check("ldslim/not-found");
    assert_eq!(nf.len(), 1, "{v}");
    assert_eq!(nf[0]["severity"], "critical");
    assert_eq!(nf[0]["location"]["path"], pyworld::EXT_GONE);
    assert!(
        nf[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("libgone.so.1 not found\n")
    );
    assert_eq!(by_check("ldslim/bad-file").len(), 1, "{v}");
    assert!(!by_check("ldslim/image-missing").is_empty(), "{v}");
    let copies = by_check("ldslim/copy");
    assert!(copies.iter().all(|i| i["severity"] == "info"), "{v}");
    assert!(
        copies
            .iter()
            .any(|i| i["location"]["path"] == pyworld::LIBX),
        "{v}"
    );

    // The same findings in another root (another path on the host) have
    // the same fingerprints: GitLab compares them between pipelines.
    let again = pyworld::python_world();
    let o = ldslim(&["scan", again.root.to_str().unwrap(), "--format", "gitlab"]);
    let v2: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fps2: std::collections::BTreeSet<String> = v2
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fingerprints, fps2);

    // Nothing wrong: only the copy plan, as information.
    let w = pyworld::clean_python_world();
    let o = ldslim(&["scan", w.root.to_str().unwrap(), "--format", "gitlab"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|i| i["severity"] == "info"),
        "{v}"
    );
}

#[test]
fn every_format_gives_the_same_exit_code() {
    for (w, code) in [
        (pyworld::clean_python_world(), 0),
        (pyworld::python_world(), 1),
    ] {
        for format in ["text", "json", "github", "gitlab"] {
            let o = ldslim(&["scan", w.root.to_str().unwrap(), "--format", format]);
            assert_eq!(o.status.code(), Some(code), "{format}: {}", text(&o.stderr));
        }
    }
}

/// docs/ci.md's job on the real root: JSON and its exit code, the tar
/// layer, and that layer `ADD`ed onto the base with the Python files makes
/// an image where pandas imports.
#[test]
#[ignore = "needs root and the Debian builder root; run scripts/test.sh"]
fn ci_job_on_an_exported_root() {
    assert!(common::can_chroot(), "needs root (chroot)");
    let builder = env_path("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT: run scripts/test.sh");
    let root = builder.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("ldslim-layer.tar");
    let report = tmp.path().join("ldslim.json");
    let o = ldslim(&[
        "scan",
        root,
        "--format",
        "github",
        &format!("--emit=json={}", report.display()),
        &format!("--emit=tar={}", layer.display()),
        "--allow-runtime",
        "libkrb5.so.3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    github_lines(&text(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(v["plan"]["loads"], true);
    // Without accepting them, the possible loads are findings.
    let o = ldslim(&["scan", root, "--format", "gitlab"]);
    assert_eq!(o.status.code(), Some(1));
    let gl: serde_json::Value = serde_json::from_slice(&o.stdout).expect("a gitlab report");
    assert!(
        gl.as_array()
            .unwrap()
            .iter()
            .any(|i| i["check_name"] == "ldslim/image-unverified"),
        "{gl}"
    );
    let o = ldslim(&[
        "scan",
        root,
        "--format",
        "gitlab",
        "--allow-runtime",
        "libkrb5.so.3",
    ]);
    assert_eq!(o.status.code(), Some(0));
    serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("a gitlab report");

    // The image: base + the user's Python + `ADD ldslim-layer.tar /`.
    let base = env_path("LDSLIM_DISTROLESS_CC")
        .unwrap_or_else(|| common::script_root("distroless-root.sh", &["bookworm", "amd64", "cc"]));
    let image = tmp.path().join("image");
    common::cp_a(&base, &image);
    for p in [
        "/usr/bin/python3.11",
        "/usr/lib/python3.11",
        "/usr/local/lib/python3.11/dist-packages",
    ] {
        docker_copy(&builder.join(p.trim_start_matches('/')), &image, p);
    }
    let st = Command::new("tar")
        .args(["-x", "--keep-directory-symlink", "-f"])
        .arg(&layer)
        .arg("-C")
        .arg(&image)
        .status()
        .unwrap();
    assert!(st.success());
    let o = run_in(
        &image,
        &[],
        &[
            "/usr/bin/python3.11".into(),
            "-c".into(),
            "import pandas, bz2, lzma, sqlite3; print('ok')".into(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "ok\n");
}
