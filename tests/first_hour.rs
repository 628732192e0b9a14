//! What a new user meets in the first hour: shell completions that offer
//! what the commands take, exit codes in every `--help`, `ldd` output in
//! glibc's form, a prompt when `explain` waits for a terminal, install
//! steps for the man pages that work as written, a report that names what
//! it skipped, arrows that mean one thing each, a root without Python
//! told apart from a finding, and the copy set grouped by the import that
//! needs it.

mod common;
mod pyworld;

use std::process::{Command, Output};

use common::ldslim;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The embedded targets' names, as `ldslim targets` lists them.
fn target_names() -> Vec<String> {
    let o = ldslim(&["targets", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    v.as_array()
        .expect("a list")
        .iter()
        .map(|t| t["name"].as_str().expect("a name").to_string())
        .collect()
}

/// What bash's completion function offers for `words` (the last one being
/// completed), from the script `ldslim completions bash` prints, and the
/// `compopt` calls it makes (recorded: the builtin works only inside
/// readline's completion).
fn bash_complete(words: &[&str]) -> (Vec<String>, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = tmp.path().join("ldslim.bash");
    std::fs::write(&script, ldslim(&["completions", "bash"]).stdout).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let n = words.len();
    let program = format!(
        "source '{}'\n\
         compopt() {{ echo \"compopt $*\" >&2; }}\n\
         COMP_WORDS=({})\n\
         COMP_CWORD={}\n\
         _ldslim ldslim '{}' '{}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        n - 1,
        words[n - 1],
        words[n - 2],
    );
    let o = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let offered = stdout(&o).lines().map(str::to_string).collect();
    (offered, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn completions_leave_hidden_subcommands_out() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let text = stdout(&ldslim(&["completions", shell]));
        assert!(text.contains("explain"), "{shell}: {text}");
        assert!(!text.contains("target-data"), "{shell} offers target-data");
    }
    let (offered, _) = bash_complete(&["ldslim", ""]);
    for sub in [
        "ldd",
        "scan",
        "why",
        "explain",
        "trace",
        "targets",
        "completions",
        "man",
        "help",
    ] {
        assert!(offered.iter().any(|o| o == sub), "{sub}: {offered:?}");
    }
}

/// `--target <TAB>` offers the embedded targets and `none`, and (bash's
/// `plusdirs`) the directories, for a directory holding an extracted image.
#[test]
fn completions_offer_target_names_and_directories() {
    let mut names = target_names();
    assert!(names.iter().any(|n| n == "distroless/cc-debian12"));
    names.push("none".into());
    for sub in ["scan", "why", "explain"] {
        let (offered, compopt) = bash_complete(&["ldslim", sub, "ROOT", "--target", ""]);
        assert_eq!(offered, names, "ldslim {sub} ROOT --target <TAB>");
        assert!(compopt.contains("compopt -o plusdirs"), "{sub}: {compopt}");
    }
    let (offered, _) = bash_complete(&["ldslim", "scan", "ROOT", "--target", "distroless/cc"]);
    assert_eq!(
        offered,
        names
            .iter()
            .filter(|n| n.starts_with("distroless/cc"))
            .cloned()
            .collect::<Vec<_>>()
    );
    // zsh: every `--target` completes through a function offering both.
    let zsh = stdout(&ldslim(&["completions", "zsh"]));
    let specs: Vec<&str> = zsh
        .lines()
        .filter(|l| l.starts_with("'--target="))
        .collect();
    assert_eq!(specs.len(), 3, "{zsh}");
    for spec in specs {
        assert!(spec.ends_with(":TARGET:_ldslim_targets' \\"), "{spec}");
    }
    let function = zsh
        .split("_ldslim_targets() {")
        .nth(1)
        .and_then(|f| f.split("\n}").next())
        .expect("_ldslim_targets is defined");
    for name in &names {
        let escaped = name.replace(':', "\\:");
        assert!(
            function.contains(&format!(" {escaped}")) || function.contains(&format!("({escaped}")),
            "{name}: {function}"
        );
    }
    assert!(
        function.contains("'directories:directory:_files -/'"),
        "{function}"
    );
}

/// The subcommands `ldslim --help` lists (the hidden ones are not there),
/// read from its output so that a new one is walked too.
fn listed_subcommands() -> Vec<String> {
    let text = stdout(&ldslim(&["--help"]));
    let section = text
        .split("\nCommands:\n")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .expect("a Commands: section");
    // A name is indented by two spaces; its description's next lines by more.
    section
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Every help a user can ask for, short and long, says what the exit codes
/// mean: docs/cli.md promises it, and scripts are written from it.
#[test]
fn every_help_gives_exit_codes() {
    let subs = listed_subcommands();
    for sub in ["ldd", "scan", "why", "explain", "trace", "targets", "man"] {
        assert!(subs.iter().any(|s| s == sub), "{sub} not listed: {subs:?}");
    }
    let mut asks: Vec<Vec<String>> = vec![vec!["--help".into()], vec!["-h".into()]];
    for sub in &subs {
        // clap's `help` takes the next word as a command name: `ldslim
        // help` prints the top level's help, `help SUB` the subcommand's.
        if sub == "help" {
            asks.push(vec![sub.clone()]);
            continue;
        }
        for flag in ["--help", "-h"] {
            asks.push(vec![sub.clone(), flag.into()]);
        }
        asks.push(vec!["help".into(), sub.clone()]);
    }
    for args in asks {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = ldslim(&args);
        assert_eq!(o.status.code(), Some(0), "ldslim {}", args.join(" "));
        let text = stdout(&o);
        let line = text
            .lines()
            .find(|l| l.starts_with("Exit codes: "))
            .unwrap_or_else(|| panic!("ldslim {} gives no exit codes:\n{text}", args.join(" ")));
        assert!(line.contains(" 2 ") || line.contains("; 2 "), "{line}");
    }
}

/// A program compiled from testdata/rules/main.c into `dir`, needing libm
/// besides libc.
fn compile_program(dir: &std::path::Path) -> std::path::PathBuf {
    let program = dir.join("prog");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/main.c");
    let o = Command::new("cc")
        .arg("-o")
        .arg(&program)
        .arg(src)
        .args(["-Wl,--no-as-needed", "-lm"])
        .output()
        .expect("cc runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    program
}

/// `ldslim ldd / PROGRAM` prints what this machine's `ldd` prints, line for
/// line, without the vDSO and the addresses: the loader as a bare path (it
/// is found by the very name asked for), every other library as
/// `NAME => PATH`.
#[test]
fn ldd_lines_have_glibc_ldds_form() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let program = compile_program(tmp.path());
    let program = program.to_str().expect("a UTF-8 path");
    let ours = ldslim(&["ldd", "/", program]);
    assert_eq!(ours.status.code(), Some(0), "{}", stdout(&ours));
    let ours = stdout(&ours);
    let mut lines = ours.lines();
    assert_eq!(lines.next(), Some(format!("{program}:").as_str()));
    let ours: Vec<&str> = lines.collect();
    assert!(
        ours.contains(&format!("\t{}", common::INTERP).as_str()),
        "the loader's line: {ours:?}"
    );
    assert!(
        ours.iter().any(|l| l.starts_with("\tlibm.so.6 => /")),
        "{ours:?}"
    );
    let glibc = match Command::new("ldd").arg(program).output() {
        Ok(o) => o,
        Err(e) => return common::cannot_run(&format!("ldd: {e}")),
    };
    assert!(glibc.status.success(), "ldd: {}", stdout(&glibc));
    let glibc = common::normalise(&stdout(&glibc));
    assert_eq!(ours, glibc, "ldslim ldd / {program} against ldd {program}");
}

/// A pseudo-terminal: the side a user types into, and the terminal a
/// program reads.
fn pty() -> (std::fs::File, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors; no name, settings or size
    // are asked for.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both are open descriptors nothing else owns.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    }
}

const LIBZ_MESSAGE: &str = "python3: error while loading shared libraries: libz.so.1: cannot open shared object file: No such file or directory";

/// `ldslim explain ROOT` with a terminal on standard input says on
/// standard error what it waits for, before anything is typed; then it
/// answers what is pasted, up to Ctrl-D. From a pipe it says nothing.
#[test]
fn explain_prompts_on_a_terminal() {
    use std::io::{BufRead, Read, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path().to_str().expect("a UTF-8 path");
    let (mut terminal, stdin) = pty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(["explain", root])
        .env_clear()
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ldslim runs");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, received) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    // Nothing typed yet: ldslim must say what it waits for now.
    let prompt = match received.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => line,
        Err(e) => {
            let _ = child.kill();
            panic!("no prompt on standard error while waiting for the terminal ({e})");
        }
    };
    assert!(
        prompt.starts_with("ldslim: paste the error message") && prompt.contains("Ctrl-D"),
        "{prompt}"
    );
    assert!(prompt.contains("--file FILE"), "{prompt}");
    // A pasted line, then Ctrl-D at the start of the next: end of input.
    terminal
        .write_all(format!("{LIBZ_MESSAGE}\n\x04").as_bytes())
        .expect("typed");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ldslim explain did not end after Ctrl-D");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut answer = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut answer)
        .expect("stdout read");
    assert_eq!(status.code(), Some(0), "{answer}");
    assert!(
        answer.contains("libz.so.1 is missing from the image (line 1)"),
        "{answer}"
    );
    reader.join().expect("stderr read");
    let rest: Vec<String> = received.try_iter().collect();
    assert!(rest.is_empty(), "more on standard error: {rest:?}");

    // Piped in: no one to prompt.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(["explain", root, "-"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ldslim runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(LIBZ_MESSAGE.as_bytes())
        .expect("piped");
    let o = child.wait_with_output().expect("ldslim ends");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    assert!(stdout(&o).contains("libz.so.1 is missing from the image"));
}

/// The `sh` blocks of a section of a document, as written.
fn sh_blocks(doc: &str, heading: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).expect("the document");
    let section = text
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("{doc} has no {heading}"));
    section
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .map(str::to_string)
        .collect()
}

/// docs/cli.md's steps to install the man pages, run as written by a user
/// whose `ldslim` is where `cargo install` puts it (~/.cargo/bin, on
/// PATH), with a fresh HOME and no MANPATH: each ends with a `man
/// ldslim-scan` that must find the page.
#[test]
fn man_page_steps_work_as_written() {
    let man = ["/usr/bin/man", "/bin/man"]
        .into_iter()
        .find(|m| std::path::Path::new(m).exists());
    if man.is_none() {
        return common::cannot_run("man is not installed (man-db)");
    }
    let blocks = sh_blocks("docs/cli.md", "## Man pages");
    assert!(blocks.len() >= 2, "{blocks:?}");
    for block in blocks {
        let home = tempfile::tempdir().expect("tempdir");
        let bin = home.path().join(".cargo/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_ldslim"), bin.join("ldslim")).unwrap();
        let o = Command::new("bash")
            .args(["--norc", "--noprofile", "-e", "-c", &block])
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .expect("bash runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{block}\n{err}");
        // man justifies the text: compare words.
        let page = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            page.contains("NAME ldslim-scan - Find every ELF object"),
            "{block}\n{page}\n{err}"
        );
    }
}

/// A root with seven object files (`cc -c`: ET_REL, which the loader
/// never maps) and a program in /app, and the loader in /lib64.
fn root_with_skipped_objects() -> common::World {
    let w = common::World::new();
    w.exe("/app/prog", &[], &[]);
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/main.c");
    for n in 1..=7 {
        let o = Command::new("cc")
            .arg("-c")
            .arg("-o")
            .arg(w.host(&format!("/app/part{n}.o")))
            .arg(&src)
            .output()
            .expect("cc runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    w
}

/// The text report names each skipped object and why, where its summary
/// counts them: the first five, then how many more and where they are;
/// -v names them all on standard error, leaving the report as it was.
#[test]
fn scan_text_names_skipped_objects() {
    let w = root_with_skipped_objects();
    let scan = |extra: &[&str]| {
        let mut args = vec!["/app", "/lib64", "--target", "none"];
        args.extend_from_slice(extra);
        let o = w.ldslim("scan", &args);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        o
    };
    let object = "an object file (ELF type 1, ET_REL): linked into programs, never loaded";
    let plain = scan(&[]);
    let text = stdout(&plain);
    let listed: Vec<&str> = text
        .split("skipped (nothing for the loader to resolve):\n")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .unwrap_or_else(|| panic!("no skipped objects listed:\n{text}"))
        .lines()
        .collect();
    let mut want: Vec<String> = (1..=5)
        .map(|n| format!("  /app/part{n}.o: {object}"))
        .collect();
    want.push("  … and 3 more (all of them with -v, or --format json)".into());
    assert_eq!(listed, want, "{text}");
    assert!(text.contains(", 8 skipped;"), "{text}");

    let verbose = scan(&["-v"]);
    assert_eq!(verbose.stdout, plain.stdout, "-v changed the report");
    let err = String::from_utf8_lossy(&verbose.stderr);
    let mut skipped: Vec<String> = (1..=7)
        .map(|n| format!("ldslim: skipped /app/part{n}.o: {object}"))
        .collect();
    skipped.push(format!(
        "ldslim: skipped {}: the dynamic loader: it maps itself and needs nothing",
        common::INTERP
    ));
    let got: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("ldslim: skipped "))
        .collect();
    assert_eq!(got, skipped, "{err}");
}

const X11: &str = "/usr/lib/x86_64-linux-gnu/libX11.so.6";
const TKINTER: &str = "/usr/lib/python3.11/lib-dynload/_tkinter.cpython-311-x86_64-linux-gnu.so";

/// A Python builder whose `_tkinter` needs libtk8.6.so, which needs
/// libX11.so.6, a symlink to libX11.so.6.4.0: none of them in the target.
fn tkinter_world() -> common::World {
    let w = pyworld::clean_python_world();
    w.lib(&format!("{X11}.4.0"), "libX11.so.6", &[], &[]);
    w.symlink("libX11.so.6.4.0", X11);
    let tk = "/usr/lib/x86_64-linux-gnu/libtk8.6.so";
    w.lib(tk, "libtk8.6.so", &[X11], &[]);
    w.lib(TKINTER, "_tkinter.so", &[tk], &[]);
    w
}

/// In text output `->` is a symlink (as `ls -l` writes it) and ` > ` a
/// chain of loads (A needs B), in scan, why, explain and the CI
/// annotations alike.
#[test]
fn chains_and_symlinks_read_apart() {
    let w = tkinter_world();
    let tk = "/usr/lib/x86_64-linux-gnu/libtk8.6.so";
    let link = format!("{X11} -> libX11.so.6.4.0");
    let run = |sub: &str, args: &[&str]| {
        let o = w.ldslim(sub, args);
        assert_eq!(o.status.code(), Some(0), "{sub}: {}", stdout(&o));
        stdout(&o)
    };
    let arrows = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("->"))
            .map(|l| l.trim().to_string())
            .collect()
    };

    let scan = run("scan", &["--detail"]);
    assert_eq!(arrows(&scan), vec![link.as_str()], "{scan}");
    assert!(
        scan.contains(&format!(
            "\n      needed by {TKINTER} > {tk} (import tkinter)\n"
        )),
        "{scan}"
    );

    let why = run("why", &["libX11.so.6"]);
    assert_eq!(arrows(&why), vec![link.as_str()], "{why}");
    assert!(
        why.contains(&format!(
            "\n  {TKINTER} (import tkinter)\n     > libtk8.6.so => {tk} [default path]\n        > libX11.so.6 => {X11} [default path]\n"
        )),
        "{why}"
    );

    let explain = run(
        "explain",
        &["ImportError: libX11.so.6: cannot open shared object file: No such file or directory"],
    );
    assert_eq!(arrows(&explain), Vec::<String>::new(), "{explain}");
    assert!(
        explain.contains(&format!(
            "\n  chain: {TKINTER} > libtk8.6.so > libX11.so.6\n"
        )),
        "{explain}"
    );

    // The CI annotation of each copy (GitLab's report carries them all).
    let gitlab = run("scan", &["--format", "gitlab"]);
    assert!(gitlab.contains(&link), "{gitlab}");
    assert!(gitlab.contains(&format!("{TKINTER} > {tk}")), "{gitlab}");
    assert!(!gitlab.contains(&format!("{TKINTER} -> ")), "{gitlab}");
}

/// A root without Python, scanned with the default scope (its Python
/// installations), is a usage error (exit 2), in every format, with what
/// was searched and what to give instead; nothing is printed or written
/// as if it were a report. The advice works.
#[test]
fn a_root_without_python_is_a_usage_error() {
    let w = common::World::new();
    let root = w.root.to_str().expect("a UTF-8 path");
    let out = tempfile::tempdir().expect("tempdir");
    let copy = out.path().join("ldslim-out");
    let emit = format!("copy={}", copy.display());
    for extra in [
        vec![],
        vec!["--format", "json"],
        vec!["--format", "github"],
        vec!["--emit", emit.as_str()],
    ] {
        let o = w.ldslim("scan", &extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "scan {extra:?}: {err}");
        assert_eq!(stdout(&o), "", "scan {extra:?}");
        assert!(
            err.starts_with(&format!(
                "ldslim: {root}: no Python installation found (searched: every `bin` directory"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("`ldslim scan {root} /usr/local /app`")),
            "{err}"
        );
        assert!(
            err.contains(&format!("`ldslim scan {root} --scope all`")),
            "{err}"
        );
        assert!(!copy.exists(), "scan {extra:?} made {}", copy.display());
    }
    let o = w.ldslim("why", &["libc.so.6"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("`ldslim why {root} libc.so.6 /usr/local /app`")),
        "{err}"
    );
    // What it says to do instead works.
    let o = w.ldslim("scan", &["--scope", "all", "--target", "none"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// The group of `groups` (from [`group_lines`] of `text`) needed by
/// `label`; the test fails with the report if there is none.
fn group<'a>(
    groups: &'a [(String, String, String, String)],
    label: &str,
    text: &str,
) -> &'a (String, String, String, String) {
    groups
        .iter()
        .find(|g| g.2 == label)
        .unwrap_or_else(|| panic!("no group {label}: {groups:#?}\n{text}"))
}

/// One line per copy group of the text report, continuation lines joined:
/// (bytes as written, libraries or paths as written, what needs it, what
/// it holds).
fn group_lines(text: &str) -> Vec<(String, String, String, String)> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("The target lacks "))
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with("(each library"));
    let mut joined: Vec<String> = Vec::new();
    for l in lines.by_ref() {
        // A group's line starts with its size; its continuations with
        // spaces up to the column of its label.
        match joined.last_mut() {
            Some(last) if l.starts_with(&" ".repeat(20)) => {
                last.push(' ');
                last.push_str(l.trim());
            }
            _ => joined.push(l.to_string()),
        }
    }
    joined
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   /") && l.contains(": "))
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let (size, unit, n, what) = (words[0], words[1], words[2], words[3]);
            if !["B", "KiB", "MiB", "GiB"].contains(&unit) {
                return None;
            }
            let rest = words[4..].join(" ");
            let (label, list) = rest.split_once(": ")?;
            Some((
                format!("{size} {unit}"),
                format!("{n} {what}"),
                label.to_string(),
                list.to_string(),
            ))
        })
        .collect()
}

/// `6.2 MiB` in bytes (as rounded).
fn bytes_of(size: &str) -> f64 {
    let (n, unit) = size.split_once(' ').expect("a size");
    let n: f64 = n.parse().expect("a number");
    n * match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        _ => 1024.0 * 1024.0 * 1024.0,
    }
}

/// The JSON's groups partition the copy set: each item in one group, the
/// bytes adding up to the plan's, no library in two groups, biggest first.
fn assert_groups_add_up(v: &serde_json::Value) {
    let plan = &v["plan"];
    let groups = plan["groups"].as_array().expect("plan.groups");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    };
    let mut paths: Vec<String> = groups.iter().flat_map(|g| strings(&g["paths"])).collect();
    paths.sort();
    let mut dests: Vec<String> = plan["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dest"].as_str().unwrap().to_string())
        .collect();
    dests.sort();
    assert_eq!(
        paths, dests,
        "the groups' paths are the copy set's, once each"
    );
    let bytes: Vec<u64> = groups
        .iter()
        .map(|g| g["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(bytes.iter().sum::<u64>(), plan["bytes"].as_u64().unwrap());
    assert!(
        bytes.windows(2).all(|w| w[0] >= w[1]),
        "not biggest first: {bytes:?}"
    );
    let libs: Vec<String> = groups
        .iter()
        .flat_map(|g| strings(&g["libraries"]))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = libs.iter().collect();
    assert_eq!(
        libs.len(),
        distinct.len(),
        "a library in two groups: {libs:?}"
    );
    let needed: std::collections::BTreeSet<&str> = plan["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["needed_as"].as_str().unwrap())
        .filter(|n| !n.starts_with('/'))
        .collect();
    assert_eq!(
        distinct.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        needed.into_iter().collect::<Vec<_>>()
    );
}

/// The text report's groups: sizes biggest first, and as many libraries
/// as the heading says the target lacks.
fn assert_text_groups_add_up(text: &str, groups: &[(String, String, String, String)]) {
    assert!(!groups.is_empty(), "no group lines: {text}");
    let sizes: Vec<f64> = groups.iter().map(|g| bytes_of(&g.0)).collect();
    assert!(
        sizes.windows(2).all(|w| w[0] >= w[1]),
        "not biggest first: {groups:#?}"
    );
    let libraries: usize = groups
        .iter()
        .filter(|g| g.1.ends_with(" library") || g.1.ends_with(" libraries"))
        .map(|g| g.1.split(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    let heading = text
        .lines()
        .find(|l| l.starts_with("The target lacks "))
        .expect("a heading");
    assert!(
        heading.starts_with(&format!("The target lacks {libraries} librar")),
        "{heading} vs {groups:#?}"
    );
}

const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";

/// A Python whose interpreter needs libz; `_tkinter` needs libtk and libtcl,
/// libtk libX11; `_curses` libncursesw and libtinfo; readline libreadline,
/// which needs libtinfo too; `_curses_panel` libpanelw and libncursesw.
fn importers_world() -> common::World {
    let w = tkinter_world();
    let lib = |name: &str, needs: &[&str]| {
        let path = format!("{LIBDIR}/{name}");
        w.lib(&path, name, needs, &[]);
        path
    };
    let z = lib("libz.so.1", &[]);
    w.exe("/usr/bin/python3.11", &[&z], &[]);
    let tcl = lib("libtcl8.6.so", &[]);
    let tk = format!("{LIBDIR}/libtk8.6.so");
    w.lib(&tk, "libtk8.6.so", &[X11, &tcl], &[]);
    w.lib(TKINTER, "_tkinter.so", &[&tk, &tcl], &[]);
    let tinfo = lib("libtinfo.so.6", &[]);
    let ncurses = lib("libncursesw.so.6", &[&tinfo]);
    let readline = lib("libreadline.so.8", &[&tinfo]);
    let panel = lib("libpanelw.so.6", &[&ncurses]);
    let dynload = "/usr/lib/python3.11/lib-dynload";
    let ext = |name: &str, needs: &[&str]| {
        w.lib(
            &format!("{dynload}/{name}.cpython-311-x86_64-linux-gnu.so"),
            &format!("{name}.so"),
            needs,
            &[],
        )
    };
    ext("_curses", &[&ncurses, &tinfo]);
    ext("readline", &[&readline]);
    ext("_curses_panel", &[&panel, &ncurses]);
    w
}

/// The text report groups the copy set by what needs it, biggest first:
/// tkinter's Tcl/Tk/X11 stack together, what the interpreter needs, a
/// library two imports need on a line of its own, a submodule's library
/// apart from its parent's; the libraries' paths and chains with
/// --detail only.
#[test]
fn copy_set_grouped_by_import() {
    let w = importers_world();
    let o = w.ldslim("scan", &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let groups = group_lines(&text);
    let find = |label: &str| group(&groups, label, &text);
    let tk = find("import tkinter");
    assert_eq!(
        (tk.1.as_str(), tk.3.as_str()),
        ("3 libraries", "libX11.so.6, libtcl8.6.so, libtk8.6.so")
    );
    assert_eq!(groups[0].2, "import tkinter", "{text}");
    assert_eq!(find("python3.11 itself").3, "libz.so.1");
    assert_eq!(
        find("shared by import curses and import readline").3,
        "libtinfo.so.6"
    );
    // What curses.panel needs with curses is curses'.
    assert_eq!(find("import curses").3, "libncursesw.so.6");
    assert_eq!(find("import curses.panel").3, "libpanelw.so.6");
    assert_eq!(find("import readline").3, "libreadline.so.8");
    assert_eq!(find("import _x").3, "libx.so.1");
    assert_eq!(groups.len(), 7, "{groups:#?}");
    assert_text_groups_add_up(&text, &groups);
    assert!(!text.contains("needed by "), "{text}");
    assert!(text.contains("--detail"), "{text}");

    // --detail: each library under its group, with its paths and a chain.
    let detail = stdout(&w.ldslim("scan", &["--detail"]));
    assert_eq!(group_lines(&detail), groups, "{detail}");
    let tk_at = detail.find("  import tkinter: ").expect("tkinter's group");
    let x11_at = detail.find(&format!("\n      {X11} -> libX11.so.6.4.0\n"));
    let z_at = detail.find("  python3.11 itself: libz.so.1\n");
    assert!(
        matches!((x11_at, z_at), (Some(x), Some(z)) if tk_at < x && x < z),
        "{detail}"
    );
    assert!(
        detail.contains("\n      needed by /usr/bin/python3.11\n"),
        "{detail}"
    );

    let o = w.ldslim("scan", &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_groups_add_up(&v);
    assert_eq!(
        v["plan"]["groups"][0]["needed_by"],
        serde_json::json!([{ "kind": "import", "name": "tkinter" }])
    );
}

/// The real Debian 12 builder (scripts/make-root.sh): its Python 3.11's
/// Kerberos stack is the `nis` module's alone, what the interpreter needs
/// (zlib, expat) is its own group, libtinfo is curses' and readline's
/// together; the groups come biggest first and add up to the copy set.
#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn real_root_copy_set_grouped_by_import() {
    let root = std::env::var("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT: run scripts/test.sh");
    let o = ldslim(&["scan", &root]);
    let text = stdout(&o);
    // The Kerberos plugin directory makes it "not verified" (exit 1).
    assert_eq!(o.status.code(), Some(1), "{text}");
    let groups = group_lines(&text);
    let find = |label: &str| group(&groups, label, &text);
    let nis = find("import nis");
    for lib in [
        "libtirpc.so.3",
        "libgssapi_krb5.so.2",
        "libkrb5.so.3",
        "libk5crypto.so.3",
        "libnsl.so.2",
    ] {
        assert!(nis.3.split(", ").any(|l| l == lib), "{lib}: {nis:?}");
    }
    assert!(nis.3.ends_with(", data of libtirpc-common"), "{nis:?}");
    assert_eq!(nis.1, "8 libraries");
    assert_eq!(find("python3.11 itself").3, "libexpat.so.1, libz.so.1");
    assert_eq!(
        find("shared by import curses and import readline").3,
        "libtinfo.so.6"
    );
    assert_eq!(find("import dbm.ndbm").3, "libdb-5.3.so");
    assert_text_groups_add_up(&text, &groups);

    let o = ldslim(&["scan", &root, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_groups_add_up(&v);
    let heading = text
        .lines()
        .find(|l| l.starts_with("The target lacks "))
        .unwrap();
    let items = v["plan"]["copy"]["items"].as_array().unwrap().len();
    assert!(
        heading.contains(&format!("; copy {items} paths (")),
        "{heading}"
    );
}
