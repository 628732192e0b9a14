//! The command line behaves like the tools people already use: examples in
//! every `--help`, completions and a man page, a long `--version`, colour
//! only where it belongs (and never a changed byte when it is off),
//! `--quiet` and `--verbose`, and errors that say what to do next.

mod common;
mod pyworld;

use std::process::{Command, Output};

use common::ldslim;

fn ldslim_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("ldslim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The visible subcommands, as `ldslim --help` lists them.
const SUBCOMMANDS: &[&str] = &[
    "ldd",
    "scan",
    "why",
    "explain",
    "targets",
    "completions",
    "man",
];

#[test]
fn every_help_has_examples() {
    for args in [vec!["--help"], vec!["-h"]] {
        let o = ldslim(&args);
        assert_eq!(o.status.code(), Some(0));
        let text = stdout(&o);
        assert!(text.contains("Examples:\n  ldslim scan /"), "{text}");
        for sub in SUBCOMMANDS {
            assert!(
                text.contains(&format!("\n  {sub} ")),
                "{sub} not listed: {text}"
            );
        }
    }
    for sub in SUBCOMMANDS {
        for flag in ["--help", "-h"] {
            let o = ldslim(&[sub, flag]);
            assert_eq!(o.status.code(), Some(0), "{sub} {flag}");
            let text = stdout(&o);
            assert!(
                text.contains("Examples:\n  ldslim ") || text.contains("Examples:\n  # "),
                "ldslim {sub} {flag} has no examples:\n{text}"
            );
        }
    }
    // The global flags are documented on each subcommand too.
    let text = stdout(&ldslim(&["scan", "--help"]));
    for flag in [
        "--color <WHEN>",
        "-q, --quiet",
        "-v, --verbose",
        "github",
        "gitlab",
    ] {
        assert!(text.contains(flag), "{flag}: {text}");
    }
}

#[test]
fn version_short_and_long() {
    let o = ldslim(&["-V"]);
    assert_eq!(
        stdout(&o),
        format!("ldslim {}\n", env!("CARGO_PKG_VERSION"))
    );
    let o = ldslim(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(
        text.starts_with(&format!("ldslim {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    // Every embedded target, with its Debian packages.
    let targets = stdout(&ldslim(&["targets", "--format", "json"]));
    let targets: serde_json::Value = serde_json::from_str(&targets).unwrap();
    for t in targets.as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("  {name} (")))
            .unwrap_or_else(|| panic!("{name} missing from --version:\n{text}"));
        for p in t["packages"].as_array().unwrap() {
            let pv = format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            );
            assert!(line.contains(&pv), "{pv} missing from: {line}");
        }
    }
    assert!(text.contains("libc6 2.36-"), "{text}");
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = ldslim(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let text = stdout(&o);
        // fish names long options `-l NAME`, the others `--NAME`.
        let long = |name: &str| match shell {
            "fish" => format!("-l {name}"),
            _ => format!("--{name}"),
        };
        for word in [
            "ldslim".into(),
            "scan".into(),
            "explain".into(),
            long("emit"),
            long("target"),
        ] {
            assert!(text.contains(&word), "{shell}: no {word}");
        }
    }
    // The bash script is valid bash.
    let o = ldslim(&["completions", "bash"]);
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("ldslim.bash");
    std::fs::write(&f, &o.stdout).unwrap();
    let st = Command::new("bash")
        .arg("-n")
        .arg(&f)
        .status()
        .expect("bash");
    assert!(st.success(), "bash -n rejects the completion script");
    // An unknown shell is a usage error that lists the known ones.
    let o = ldslim(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bash"), "{}", stderr(&o));
}

#[test]
fn man_page_to_stdout_and_into_a_directory() {
    let o = ldslim(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains(".TH ldslim 1"), "{text}");
    assert!(text.contains("completions"), "{text}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    let o = ldslim(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for page in [
        "ldslim.1",
        "ldslim-scan.1",
        "ldslim-why.1",
        "ldslim-explain.1",
        "ldslim-ldd.1",
        "ldslim-targets.1",
    ] {
        let body =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(body.starts_with(".ie") || body.contains(".TH"), "{page}");
    }
    // The internal generator of target data gets no page.
    assert!(!dir.join("ldslim-target-data.1").exists());
}

/// Text reports in colour and not: stripping the escapes of the coloured
/// one gives the plain one byte for byte, and the plain one is what
/// `--color never`, `NO_COLOR` and a pipe all print.
#[test]
fn colour_is_only_escapes_and_off_by_default_in_a_pipe() {
    let w = pyworld::python_world();
    let root = w.root.to_str().unwrap();
    let runs: &[&[&str]] = &[
        &["scan", root],
        &["scan", root, "--tree", pyworld::EXT_GONE],
        &["why", root, "libx.so.1"],
        &["why", root, "libx.so.1", "--target", "none"],
        &["ldd", root, pyworld::EXT_GONE],
        &[
            "explain",
            root,
            "ImportError: libgone.so.1: cannot open shared object file: No such file or directory",
        ],
        &["targets"],
    ];
    for args in runs {
        let plain = ldslim(args);
        let mut with = args.to_vec();
        with.extend(["--color", "never"]);
        let never = ldslim(&with);
        let no_color = ldslim_env(args, &[("NO_COLOR", "1")]);
        assert_eq!(
            plain.stdout, never.stdout,
            "{args:?}: --color never differs"
        );
        assert_eq!(plain.stdout, no_color.stdout, "{args:?}: NO_COLOR differs");
        assert!(
            !stdout(&plain).contains('\x1b'),
            "{args:?}: colour in a pipe"
        );
        let mut with = args.to_vec();
        with.extend(["--color", "always"]);
        let always = ldslim(&with);
        assert_eq!(always.status.code(), plain.status.code(), "{args:?}");
        let coloured = stdout(&always);
        assert_eq!(pyworld::strip_ansi(&coloured), stdout(&plain), "{args:?}");
        // (`targets` and a `why` without a target have nothing to colour.)
        if !args.contains(&"targets") && !args.contains(&"none") {
            assert!(
                coloured.contains("\x1b["),
                "{args:?}: no colour with --color always"
            );
        }
    }
    // Machine-readable output never gets colour.
    for format in ["json", "github", "gitlab"] {
        let o = ldslim(&["scan", root, "--format", format, "--color", "always"]);
        assert!(!stdout(&o).contains('\x1b'), "{format} coloured");
    }
    let o = ldslim(&["scan", root, "--emit", "dockerfile", "--color", "always"]);
    assert!(!stdout(&o).contains('\x1b'), "--emit coloured");
    // The flag wins over the environment.
    let o = ldslim_env(&["scan", root, "--color", "always"], &[("NO_COLOR", "1")]);
    assert!(stdout(&o).contains('\x1b'));
}

/// `auto` on a real terminal colours, unless NO_COLOR is set (util-linux
/// `script` gives the command a pseudo-terminal).
#[test]
fn colour_auto_on_a_terminal() {
    let have_script = Command::new("script").arg("--version").output().is_ok();
    if !have_script {
        common::cannot_run("no `script` (util-linux) to make a terminal");
        return;
    }
    let w = pyworld::python_world();
    let cmd = format!("{} scan {}", env!("CARGO_BIN_EXE_ldslim"), w.root.display());
    let run = |no_color: Option<&str>| -> String {
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        String::from_utf8_lossy(&c.output().expect("script runs").stdout).into_owned()
    };
    assert!(run(None).contains("\x1b[1;31mnot found:"), "{}", run(None));
    assert!(!run(Some("1")).contains("\x1b[1;31m"));
    // An empty NO_COLOR does not count (no-color.org).
    assert!(run(Some("")).contains("\x1b[1;31m"));
}

#[test]
fn quiet_prints_only_errors_and_keeps_the_exit_code() {
    let w = pyworld::python_world();
    let root = w.root.to_str().unwrap();
    for (args, code) in [
        (vec!["scan", root], 1),
        (vec!["-q", "scan", root], 1),
        (vec!["scan", root, "--quiet", "--format", "json"], 1),
        (vec!["why", root, "libx.so.1", "-q"], 0),
        (vec!["why", root, "libnothing.so", "-q"], 1),
        (vec!["-q", "targets"], 0),
    ] {
        let o = ldslim(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}");
        if args.contains(&"-q") || args.contains(&"--quiet") {
            assert_eq!(stdout(&o), "", "{args:?} printed a report");
        }
    }
    // The errors still reach stderr: the bad file and the final image.
    let o = ldslim(&["-q", "scan", root]);
    let err = stderr(&o);
    assert!(err.contains(pyworld::TRUNCATED), "{err}");
    assert!(err.contains("would not load"), "{err}");
    // What --emit was asked to write is still written; informational lines are not.
    let clean = pyworld::clean_python_world();
    let croot = clean.root.to_str().unwrap();
    let o = ldslim(&["-q", "scan", croot, "--emit", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(pyworld::LIBX.trim_start_matches('/')),
        "{}",
        stdout(&o)
    );
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("layer.tar");
    let o = ldslim(&[
        "-q",
        "scan",
        croot,
        &format!("--emit=tar={}", tar.display()),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(tar.exists());
    assert_eq!(stderr(&o), "", "quiet printed an informational line");
    // -q and -v contradict each other.
    let o = ldslim(&["-q", "-v", "targets"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn verbose_times_each_stage_on_stderr_only() {
    let w = pyworld::python_world();
    let root = w.root.to_str().unwrap();
    let plain = ldslim(&["scan", root]);
    let o = ldslim(&["scan", root, "-v", "--owners"]);
    assert_eq!(o.stdout, plain.stdout, "--verbose changed the report");
    assert_eq!(o.status.code(), plain.status.code());
    let err = stderr(&o);
    for stage in ["ldslim: scan: ", "ldslim: plan: ", "ldslim: owners: "] {
        let line = err
            .lines()
            .find(|l| l.starts_with(stage))
            .unwrap_or_else(|| panic!("no {stage:?} line: {err}"));
        assert!(line.ends_with(" ms)"), "{line}");
    }
    assert!(err.contains("ELF objects"), "{err}");
    for args in [
        vec!["-v", "why", root, "libx.so.1"],
        vec![
            "-v",
            "explain",
            root,
            "libx.so.1: cannot open shared object file",
        ],
    ] {
        let err = stderr(&ldslim(&args));
        assert!(err.contains("ldslim: scan: "), "{args:?}: {err}");
    }
}

#[test]
fn errors_say_what_to_do_next() {
    let w = pyworld::clean_python_world();
    let root = w.root.to_str().unwrap();
    // An unknown target: the known ones, and the closest.
    let o = ldslim(&["scan", root, "--target", "cc-debian12"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("distroless/base-debian13"), "{err}");
    assert!(err.contains("did you mean distroless/cc-debian12"), "{err}");
    assert!(err.contains("ldslim targets"), "{err}");
    // A target path that is not a directory.
    let o = ldslim(&["scan", root, "--target", "./no-such-dir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a directory"), "{}", stderr(&o));
    // A root that is a file, or an archive.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("rootfs.tar");
    std::fs::write(&file, b"not really").unwrap();
    for sub in ["scan", "why", "explain", "ldd"] {
        let mut args = vec![sub, file.to_str().unwrap()];
        args.extend(match sub {
            "why" => vec!["libz.so.1"],
            "explain" => vec!["x"],
            "ldd" => vec!["/bin/sh"],
            _ => vec![],
        });
        let o = ldslim(&args);
        assert_eq!(o.status.code(), Some(2), "{sub}");
        let err = stderr(&o);
        assert!(err.contains("ROOT must be a directory"), "{sub}: {err}");
        assert!(err.contains("tar -xf"), "{sub}: {err}");
    }
    let o = ldslim(&["scan", tmp.path().join("nope").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("ROOT must be a directory"),
        "{}",
        stderr(&o)
    );
    // No Python in the root: say how to scan it anyway, and print no plan.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = ldslim(&["scan", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("no Python installation found"), "{err}");
    assert!(err.contains("--scope all"), "{err}");
    assert_eq!(stdout(&o), "", "a plan for nothing was printed");
    // Two --emit to stdout.
    let o = ldslim(&["scan", root, "--emit", "list", "--emit", "dockerfile"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("=FILE"), "{}", stderr(&o));
}

#[test]
fn emit_copy_makes_a_fresh_output_directory() {
    let w = pyworld::clean_python_world();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ldslim-out");
    let o = ldslim(&[
        "scan",
        w.root.to_str().unwrap(),
        &format!("--emit=copy={}", out.display()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.join(pyworld::LIBX.trim_start_matches('/')).is_file());
    // Its parent must exist: a typo is not turned into a tree of directories.
    let deep = tmp.path().join("a/b/c");
    let o = ldslim(&[
        "scan",
        w.root.to_str().unwrap(),
        &format!("--emit=copy={}", deep.display()),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn exit_codes_are_0_1_2() {
    let clean = pyworld::clean_python_world();
    let dirty = pyworld::python_world();
    assert_eq!(
        ldslim(&["scan", clean.root.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        ldslim(&["scan", dirty.root.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(ldslim(&["scan"]).status.code(), Some(2));
    assert_eq!(
        ldslim(&["scan", "/nonexistent-root"]).status.code(),
        Some(2)
    );
    assert_eq!(ldslim(&["frobnicate"]).status.code(), Some(2));
}
