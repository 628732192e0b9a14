//! Every command of README.md and docs/*.md runs as written, so that a
//! step that stops working turns CI red rather than a new user's first hour.
//!
//! Each fenced block is one of:
//! - `sh`, `bash`, `shell`: run with `set -e`, in order, from the top of a
//!   checkout of this repository;
//! - `console`: a transcript; each `$ COMMAND` is run, and each line shown
//!   after it must appear in what it prints (`…` stands for what the page
//!   leaves out, and the lines of standard output in their order);
//! - `dockerfile`, `yaml`: never run here;
//! - anything else (output, data, source files): not a command, and then it
//!   may hold no `$ ` transcript line.
//!
//! The line before a block (an HTML comment, unseen on the rendered page)
//! says more: `<!-- exit: N -->` the status it ends with (a block's last
//! command; 0 when unmarked), `<!-- not run: WHY -->`, `<!-- run by: PATH
//! [FUNCTION] -->` what runs it instead (a script, or a test function), and
//! `<!-- dockerfile: APP -->` a Dockerfile tests/workflows.rs carries out. A
//! command block with none of these that cannot run here fails the test.
//!
//! What a reader has, the test makes: the blocks run in a directory of
//! links to this repository's files (its own `target/`, kept between runs
//! under the test target's tmp directory, so that `cargo install` and the
//! static build are incremental), with a fresh HOME, `ldslim` on PATH
//! (unless the page installs it), and beside them the example roots:
//! `rootfs` and `builder-rootfs` are the Debian 12 builder root
//! (LDSLIM_E2E_ROOT; without it, the blocks from the first that uses them
//! on are skipped, which fails under scripts/test.sh), `empty` an empty
//! directory, `rootfs.tar` an archive. `/usr/local/bin/` is a directory of
//! the test's own: nothing is installed on the machine. Cargo runs offline,
//! with the crates the test's own build has.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The documents whose commands are run: one test each, so that they run in
/// parallel and a failure names its page.
const DOCS: &[&str] = &[
    "README.md",
    "docs/ci.md",
    "docs/cli.md",
    "docs/dockerfile.md",
    "docs/e2e.md",
    "docs/fuzzing.md",
    "docs/how-it-works.md",
    "docs/json.md",
    "docs/layer.md",
    "docs/performance.md",
    "docs/python-image.md",
    "docs/runtime-loads.md",
    "docs/sbom.md",
    "docs/targets.md",
    "docs/trace.md",
];

/// What the comment before a block says about it.
#[derive(Debug, Clone, PartialEq)]
enum Marker {
    None,
    Exit(i32),
    NotRun,
    RunBy,
}

#[derive(Debug)]
struct Block {
    doc: String,
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    /// The lines inside the fences, without the fence's indentation.
    body: String,
    marker: Marker,
}

impl Block {
    fn at(&self) -> String {
        format!("{}:{}", self.doc, self.line)
    }
}

/// A marker comment's meaning, checked: a reason is given, the script or
/// test named exists.
fn parse_marker(doc: &str, line: usize, comment: &str) -> Result<Marker, String> {
    let inner = comment
        .trim()
        .strip_prefix("<!--")
        .and_then(|c| c.strip_suffix("-->"))
        .map(str::trim)
        .unwrap_or_default();
    let at = format!("{doc}:{line}");
    if let Some(n) = inner.strip_prefix("exit:") {
        let n = n.split_whitespace().next().unwrap_or_default();
        return n
            .parse()
            .map(Marker::Exit)
            .map_err(|_| format!("{at}: `exit:` takes a number: {comment}"));
    }
    if let Some(why) = inner.strip_prefix("not run:") {
        if why.trim().is_empty() {
            return Err(format!("{at}: `not run:` says why: {comment}"));
        }
        return Ok(Marker::NotRun);
    }
    if let Some(by) = inner.strip_prefix("run by:") {
        let mut words = by.split_whitespace();
        let path = words.next().unwrap_or_default();
        let file = repo().join(path);
        if path.is_empty() || !file.exists() {
            return Err(format!(
                "{at}: `run by:` names a file of the repository: {comment}"
            ));
        }
        if path.ends_with(".rs")
            && let Some(function) = words.next()
        {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.contains(&format!("fn {function}(")) {
                return Err(format!("{at}: {path} has no fn {function}: {comment}"));
            }
        }
        return Ok(Marker::RunBy);
    }
    if let Some(app) = inner.strip_prefix("dockerfile:") {
        let workflows = std::fs::read_to_string(repo().join("tests/workflows.rs")).unwrap();
        if !workflows.contains(&format!("\"{}\"", app.trim())) {
            return Err(format!(
                "{at}: tests/workflows.rs does not build {}: {comment}",
                app.trim()
            ));
        }
        return Ok(Marker::RunBy);
    }
    Ok(Marker::None)
}

/// The fenced blocks of a document.
fn blocks(doc: &str) -> Result<Vec<Block>, String> {
    let text = std::fs::read_to_string(repo().join(doc)).map_err(|e| format!("{doc}: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let Some(info) = l.trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let indent = l.len() - l.trim_start().len();
        let lang = info
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let before = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
        let marker = match before {
            Some(c) if c.trim_start().starts_with("<!--") => parse_marker(doc, i + 1, c)?,
            _ => Marker::None,
        };
        let mut body = String::new();
        let mut j = i + 1;
        while j < lines.len() && !lines[j].trim_start().starts_with("```") {
            let b = lines[j];
            let cut = b.len() - b.trim_start().len();
            body.push_str(&b[cut.min(indent)..]);
            body.push('\n');
            j += 1;
        }
        if j == lines.len() {
            return Err(format!("{doc}:{}: the block is never closed", i + 1));
        }
        out.push(Block {
            doc: doc.to_string(),
            line: i + 1,
            lang,
            body,
            marker,
        });
        i = j + 1;
    }
    Ok(out)
}

#[derive(Debug, PartialEq)]
enum Kind {
    Script,
    Transcript,
    Elsewhere,
    NotCommands,
}

/// How a block is treated, or why it cannot be classified.
fn classify(b: &Block) -> Result<Kind, String> {
    let transcript_line = b.body.lines().find(|l| l.starts_with("$ "));
    match (b.lang.as_str(), &b.marker) {
        (_, Marker::NotRun | Marker::RunBy) => Ok(Kind::Elsewhere),
        ("sh" | "bash" | "shell", _) => Ok(Kind::Script),
        ("console", _) => {
            if !b.body.starts_with("$ ") {
                return Err(format!("{}: a console block starts with `$ `", b.at()));
            }
            Ok(Kind::Transcript)
        }
        ("dockerfile" | "yaml" | "yml", _) => Err(format!(
            "{}: a {} block cannot run here: say what runs it (<!-- run by: PATH -->, \
             <!-- dockerfile: APP -->) or why not (<!-- not run: WHY -->)",
            b.at(),
            b.lang
        )),
        (_, Marker::Exit(_)) => Err(format!(
            "{}: `exit:` marks a block that runs, not a {:?} block",
            b.at(),
            b.lang
        )),
        (_, Marker::None) => match transcript_line {
            Some(l) => Err(format!(
                "{}: `{l}` is a command: a transcript is a ```console block, so that it is run",
                b.at()
            )),
            None => Ok(Kind::NotCommands),
        },
    }
}

/// Everything a block needs, made once per document.
struct Reader {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    checkout: PathBuf,
    prefix: PathBuf,
    path: String,
    has_roots: bool,
}

/// The directory holding `cargo` on this process's PATH.
fn cargo_dir() -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .find(|d| d.join("cargo").is_file())
        .expect("cargo on PATH")
}

impl Reader {
    fn new(installs: bool) -> Reader {
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().join("home");
        let checkout = tmp.path().join("ldslim");
        let bin = tmp.path().join("bin");
        let prefix = tmp.path().join("prefix");
        for d in [&home, &checkout, &bin, &prefix.join("usr/local/bin")] {
            std::fs::create_dir_all(d).unwrap();
        }
        let link = |from: &Path, to: &Path| std::os::unix::fs::symlink(from, to).unwrap();
        for e in std::fs::read_dir(repo()).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if name != "target" && name != ".git" {
                link(&e.path(), &checkout.join(&name));
            }
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs-target");
        std::fs::create_dir_all(&target).unwrap();
        link(&target, &checkout.join("target"));
        std::fs::create_dir(checkout.join("empty")).unwrap();
        let tar = Command::new("tar")
            .arg("-cf")
            .arg(checkout.join("rootfs.tar"))
            .arg("-C")
            .arg(checkout.join("empty"))
            .arg(".")
            .status()
            .expect("tar runs");
        assert!(tar.success());
        let root = std::env::var_os("LDSLIM_E2E_ROOT").map(PathBuf::from);
        if let Some(root) = &root {
            link(root, &checkout.join("rootfs"));
            link(root, &checkout.join("builder-rootfs"));
        }
        link(Path::new(env!("CARGO_BIN_EXE_ldslim")), &bin.join("ldslim"));
        let mut dirs = vec![home.join(".cargo/bin")];
        if !installs {
            dirs.push(bin);
        }
        dirs.push(cargo_dir());
        for d in [
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ] {
            dirs.push(d.into());
        }
        let path = std::env::join_paths(dirs)
            .unwrap()
            .into_string()
            .expect("a UTF-8 PATH");
        Reader {
            _tmp: tmp,
            home,
            checkout,
            prefix,
            path,
            has_roots: root.is_some(),
        }
    }

    /// `bash` with the reader's environment: a fresh HOME where `cargo
    /// install` installs, this machine's toolchain and crates. Cargo runs
    /// offline: CI reaches no crate registry, and `cargo install` would
    /// otherwise ask the index whether a locked crate was yanked, retrying
    /// for minutes; the build itself needs only the crates already here.
    fn bash(&self) -> Command {
        let mut cmd = Command::new("bash");
        cmd.args(["--norc", "--noprofile"])
            .current_dir(&self.checkout)
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", &self.path)
            .env("CARGO_INSTALL_ROOT", self.home.join(".cargo"))
            .env("CARGO_NET_OFFLINE", "true");
        let real_home = std::env::var_os("HOME").map(PathBuf::from);
        for (var, default) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
            let dir = std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| real_home.as_ref().map(|h| h.join(default)));
            if let Some(dir) = dir.filter(|d| d.is_dir()) {
                cmd.env(var, dir);
            }
        }
        if let Some(t) = std::env::var_os("RUSTUP_TOOLCHAIN") {
            cmd.env("RUSTUP_TOOLCHAIN", t);
        }
        cmd
    }

    /// A path a block writes, as the shell would find it.
    fn resolve(&self, word: &str) -> PathBuf {
        let word = word.trim_matches(|c| c == '"' || c == '\'');
        match word.strip_prefix("~/") {
            Some(rest) => self.home.join(rest),
            None => self.checkout.join(word),
        }
    }
}

/// Whether a block names the example roots only the Debian 12 builder root
/// stands in for.
fn uses_roots(body: &str) -> bool {
    body.split(|c: char| !(c.is_ascii_alphanumeric() || "._/-".contains(c)))
        .map(|w| w.trim_start_matches("./"))
        .any(|w| w == "rootfs" || w == "builder-rootfs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn report(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// The files a script writes with `> FILE`.
fn redirected(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in body.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let line = line.split(" #").next().unwrap_or_default();
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            if *w == ">"
                && let Some(file) = words.get(i + 1)
            {
                out.push(*file);
            }
        }
    }
    out
}

/// A `sh` block run as a script: it ends with the status its marker gives,
/// by its last command, and each file it writes with `>` has something in
/// it.
fn run_script(r: &Reader, b: &Block) {
    let want = match b.marker {
        Marker::Exit(n) => n,
        _ => 0,
    };
    let body = b.body.replace(
        "/usr/local/bin/",
        &format!("{}/usr/local/bin/", r.prefix.display()),
    );
    // Line 1 and 2 are these; the block's first line is line 3.
    let script = format!("set -e\ntrap 'echo $LINENO >\"$LDSLIM_DOCS_ERR\"' ERR\n{body}");
    let err_line = r.home.join(".ldslim-docs-err");
    let _ = std::fs::remove_file(&err_line);
    let o = r
        .bash()
        .arg("-c")
        .arg(&script)
        .env("LDSLIM_DOCS_ERR", &err_line)
        .output()
        .expect("bash runs");
    let got = o.status.code();
    assert_eq!(
        got,
        Some(want),
        "{}: the block ends with {got:?}, the page says {want}\n{}\n{}",
        b.at(),
        b.body,
        report(&o)
    );
    if want != 0 {
        // The status is the last command's, not an earlier one's that
        // stopped the block.
        let last = b
            .body
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(i, _)| i + 3)
            .last()
            .expect("a command");
        let failed: usize = std::fs::read_to_string(&err_line)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        assert!(
            failed >= last,
            "{}: line {} of the block failed, not its last command\n{}\n{}",
            b.at(),
            failed.saturating_sub(2),
            b.body,
            report(&o)
        );
    }
    for file in redirected(&b.body) {
        let path = r.resolve(file);
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{}: {file} is empty or missing", b.at());
    }
}

/// Whether an actual line is the shown one; `…` in it stands for what the
/// page leaves out.
fn matches(shown: &str, actual: &str) -> bool {
    let shown = shown.trim_end();
    let actual = actual.trim_end();
    if !shown.contains('…') {
        return shown == actual;
    }
    let mut rest = actual;
    let pieces: Vec<&str> = shown.split('…').collect();
    for (i, piece) in pieces.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(piece) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == pieces.len() - 1 {
            return rest.ends_with(piece);
        } else {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The commands of a transcript, each with the lines shown after it.
fn transcript(body: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut continued = false;
    for line in body.lines() {
        if continued {
            let (cmd, _) = out.last_mut().expect("a command");
            cmd.push('\n');
            cmd.push_str(line);
            continued = line.ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            out.push((cmd.to_string(), Vec::new()));
            continued = cmd.ends_with('\\');
        } else if !line.trim().is_empty() {
            out.last_mut()
                .expect("a command first")
                .1
                .push(line.to_string());
        }
    }
    out
}

/// A `console` block: each command ends with the status its marker gives,
/// and prints the lines shown, those of standard output in their order.
fn run_transcript(r: &Reader, b: &Block) {
    let want = match b.marker {
        Marker::Exit(n) => n,
        _ => 0,
    };
    for (cmd, shown) in transcript(&b.body) {
        let o = r.bash().arg("-c").arg(&cmd).output().expect("bash runs");
        assert_eq!(
            o.status.code(),
            Some(want),
            "{}: `{cmd}` ends with {:?}, the page says {want}\n{}",
            b.at(),
            o.status.code(),
            report(&o)
        );
        let stdout = text(&o.stdout);
        let stderr = text(&o.stderr);
        let out: Vec<&str> = stdout.lines().collect();
        let mut next = 0;
        for line in shown.iter().filter(|l| l.trim() != "…") {
            if let Some(at) = out[next..].iter().position(|a| matches(line, a)) {
                next += at + 1;
                continue;
            }
            assert!(
                stderr.lines().any(|a| matches(line, a)),
                "{}: `{cmd}` does not print, where the page shows it:\n{line}\n{}",
                b.at(),
                report(&o)
            );
        }
    }
}

/// Check every block of `doc`, then run those that run here, in order.
fn run_doc(doc: &str) {
    let blocks = blocks(doc).unwrap_or_else(|e| panic!("{e}"));
    let mut run = Vec::new();
    for b in &blocks {
        match classify(b).unwrap_or_else(|e| panic!("{e}")) {
            Kind::Script | Kind::Transcript => run.push(b),
            Kind::Elsewhere | Kind::NotCommands => {}
        }
    }
    let installs = run
        .iter()
        .any(|b| b.lang != "console" && b.body.contains("cargo install "));
    let r = Reader::new(installs);
    for b in run {
        if uses_roots(&b.body) && !r.has_roots {
            return common::cannot_run(&format!(
                "LDSLIM_E2E_ROOT is not set: {} and the blocks after it, which use the \
                 Debian 12 builder root (scripts/make-root.sh), are not run",
                b.at()
            ));
        }
        if b.lang == "console" {
            run_transcript(&r, b);
        } else {
            run_script(&r, b);
        }
    }
}

/// Every page is in DOCS, and every block of every page is run here, or
/// says what runs it or why it cannot run.
#[test]
fn every_command_block_is_run_or_marked() {
    let mut pages = vec!["README.md".to_string()];
    for e in std::fs::read_dir(repo().join("docs")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            pages.push(format!("docs/{name}"));
        }
    }
    pages.sort();
    let mut listed: Vec<String> = DOCS.iter().map(|d| d.to_string()).collect();
    listed.sort();
    assert_eq!(listed, pages, "DOCS lists every page");
    let mut errors = Vec::new();
    let mut ran = 0;
    for doc in DOCS {
        match blocks(doc) {
            Ok(blocks) => {
                for b in &blocks {
                    match classify(b) {
                        Ok(Kind::Script | Kind::Transcript) => ran += 1,
                        Ok(_) => {}
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(ran >= 10, "only {ran} blocks run");
}

/// The checks themselves: a transcript's `…`, a command shown as output, a
/// Dockerfile nobody runs.
#[test]
fn the_checks_tell_blocks_apart() {
    assert!(matches("a … c", "a b c"));
    assert!(matches(
        "known: x, …; did you mean y?",
        "known: x, z, w; did you mean y?"
    ));
    assert!(!matches("a … c", "a b d"));
    assert!(!matches("a b", "a b c"));
    let block = |lang: &str, body: &str, marker: Marker| Block {
        doc: "t.md".into(),
        line: 1,
        lang: lang.into(),
        body: body.into(),
        marker,
    };
    assert_eq!(
        classify(&block("sh", "ls\n", Marker::None)),
        Ok(Kind::Script)
    );
    assert!(classify(&block("text", "$ ls\nout\n", Marker::None)).is_err());
    assert!(classify(&block("", "$ ls\n", Marker::None)).is_err());
    assert!(classify(&block("dockerfile", "FROM x\n", Marker::None)).is_err());
    assert_eq!(
        classify(&block("yaml", "a: b\n", Marker::NotRun)),
        Ok(Kind::Elsewhere)
    );
    assert!(classify(&block("text", "out\n", Marker::Exit(1))).is_err());
    assert!(parse_marker("t.md", 1, "<!-- not run: -->").is_err());
    assert!(parse_marker("t.md", 1, "<!-- run by: scripts/nothing.sh -->").is_err());
    assert!(
        parse_marker(
            "t.md",
            1,
            "<!-- run by: tests/first_hour.rs no_such_test -->"
        )
        .is_err()
    );
    assert_eq!(
        parse_marker("t.md", 1, "<!-- exit: 2 -->"),
        Ok(Marker::Exit(2))
    );
    assert_eq!(
        transcript("$ a \\\n  b\nout\n$ c\n"),
        vec![
            ("a \\\n  b".to_string(), vec!["out".to_string()]),
            ("c".to_string(), vec![])
        ]
    );
    assert_eq!(
        redirected("x > a.json   # y > z\nx 2> e >&2 > ~/b\n"),
        vec!["a.json", "~/b"]
    );
    assert!(uses_roots("ldslim scan ./builder-rootfs /app"));
    assert!(!uses_roots("ldslim scan rootfs.tar"));
}

macro_rules! doc_tests {
    ($($name:ident => $doc:literal,)*) => {$(
        #[test]
        fn $name() {
            run_doc($doc);
        }
    )*};
}

doc_tests! {
    readme => "README.md",
    ci_md => "docs/ci.md",
    cli_md => "docs/cli.md",
    dockerfile_md => "docs/dockerfile.md",
    e2e_md => "docs/e2e.md",
    fuzzing_md => "docs/fuzzing.md",
    how_it_works_md => "docs/how-it-works.md",
    json_md => "docs/json.md",
    layer_md => "docs/layer.md",
    performance_md => "docs/performance.md",
    python_image_md => "docs/python-image.md",
    runtime_loads_md => "docs/runtime-loads.md",
    sbom_md => "docs/sbom.md",
    targets_md => "docs/targets.md",
    trace_md => "docs/trace.md",
}
