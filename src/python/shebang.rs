//! What a script's first line asks the kernel to run, and the same script
//! with another interpreter. Console scripts of pip, uv and setuptools
//! name the interpreter that installed them: `#!/app/.venv/bin/python`,
//! or, when that path is long or has a space, pip's launcher
//! `#!/bin/sh` + `'''exec' "/long/path/python" "$0" "$@"` (distlib's
//! `ScriptMaker._build_shebang`). A script whose interpreter the image
//! lacks fails to start with "exec …: no such file or directory".

/// The kernel reads this much of a file for its `#!` line
/// (`BINPRM_BUF_SIZE`, Linux 5.1 and later).
const BINPRM_BUF_SIZE: usize = 256;

/// How a script is started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Launch {
    /// `#!INTERPRETER [ARG]`: the kernel runs INTERPRETER with the
    /// optional single argument (everything after the name, spaces kept).
    Direct {
        interpreter: String,
        arg: Option<String>,
    },
    /// `#!/usr/bin/env NAME`: `env` looks NAME up in `PATH` (with `-S`,
    /// the first word that is no option or assignment). `program` is
    /// `None` when the argument is an option `env` would read otherwise.
    Env {
        env: String,
        program: Option<String>,
    },
    /// pip's launcher: a shell that runs `python` on the script. `python`
    /// is `None` when the command is computed at run time (`$(…)`).
    Trampoline {
        shell: String,
        python: Option<String>,
    },
}

fn spacetab(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The `#!` line of a file that starts with `head`, read as
/// `fs/binfmt_script.c: load_script` reads it: from the first
/// 256 bytes (`BINPRM_BUF_SIZE`), the interpreter name up to a space, tab or
/// NUL, then one optional argument (the rest, trimmed of spaces and tabs).
/// `None` for a file without `#!`, or one the kernel refuses (no name, a
/// name cut off by the buffer's end): that fails in the builder alike.
pub fn parse(head: &[u8]) -> Option<Launch> {
    let rest = head.strip_prefix(b"#!")?;
    let buf = rest.get(..BINPRM_BUF_SIZE - 2).unwrap_or(rest);
    let line = match buf.iter().position(|&b| b == b'\n') {
        Some(n) => buf.get(..n)?,
        None => {
            // No newline: only a name that ends before the buffer does.
            let start = buf.iter().position(|&b| !spacetab(b))?;
            let tail = buf.get(start..)?;
            if !tail.iter().any(|&b| spacetab(b) || b == 0) && head.len() >= BINPRM_BUF_SIZE {
                return None;
            }
            buf
        }
    };
    let start = line.iter().position(|&b| !spacetab(b))?;
    let line = line.get(start..)?;
    let name_end = line
        .iter()
        .position(|&b| spacetab(b) || b == 0)
        .unwrap_or(line.len());
    let name = String::from_utf8_lossy(line.get(..name_end)?).into_owned();
    if name.is_empty() {
        return None;
    }
    let arg = match line.get(name_end) {
        Some(0) | None => None,
        Some(_) => {
            let a = line.get(name_end..)?;
            let a = a.split(|&b| b == 0).next().unwrap_or(a);
            let text = String::from_utf8_lossy(a);
            let t = text.trim_matches([' ', '\t', '\r']);
            (!t.is_empty()).then(|| t.to_string())
        }
    };
    let base = name.rsplit('/').next().unwrap_or(&name);
    if base == "env" {
        return Some(Launch::Env {
            program: arg.as_deref().and_then(env_program),
            env: name,
        });
    }
    if base == "sh"
        && let Some(python) = trampoline_python(head)
    {
        return Some(Launch::Trampoline {
            shell: name,
            python,
        });
    }
    Some(Launch::Direct {
        interpreter: name,
        arg,
    })
}

/// The program `env` runs for its one argument: the argument itself (env
/// gets it as one word, spaces and all), or with `-S` the first word that
/// is no option and no `NAME=VALUE`.
fn env_program(arg: &str) -> Option<String> {
    if let Some(split) = arg.strip_prefix("-S") {
        return split
            .split([' ', '\t'])
            .filter(|w| !w.is_empty())
            .find(|w| !w.starts_with('-') && !w.contains('='))
            .map(str::to_string);
    }
    (!arg.starts_with('-')).then(|| arg.to_string())
}

/// The second line of pip's launcher, `'''exec' PYTHON … "$0" "$@"`:
/// `Some(Some(python))`, `Some(None)` when the command is computed by the
/// shell, `None` when the file is no launcher.
fn trampoline_python(head: &[u8]) -> Option<Option<String>> {
    let (second, _) = launcher_lines(head)?;
    let cmd = second.strip_prefix("'''exec' ")?.trim_start();
    let exe = match cmd.chars().next()? {
        q @ ('"' | '\'') => {
            let inner = cmd.get(1..)?;
            inner.get(..inner.find(q)?)?
        }
        _ => cmd.split([' ', '\t']).next()?,
    };
    if exe.contains(['$', '`']) || !exe.starts_with('/') {
        return Some(None);
    }
    Some(Some(exe.to_string()))
}

/// The second line of a launcher and the offset just past its third
/// (`' '''`) line: where the Python code starts.
fn launcher_lines(bytes: &[u8]) -> Option<(String, usize)> {
    let first = bytes.iter().position(|&b| b == b'\n')? + 1;
    let rest = bytes.get(first..)?;
    let second_len = rest.iter().position(|&b| b == b'\n')?;
    let second = String::from_utf8_lossy(rest.get(..second_len)?).into_owned();
    if !second.starts_with("'''exec'") {
        return None;
    }
    let third_start = first + second_len + 1;
    let third = bytes.get(third_start..)?;
    if !third.starts_with(b"' '''") {
        return None;
    }
    let end = third
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| third_start + n + 1);
    Some((second, end))
}

/// `bytes` (a whole script) started by `interpreter` instead: the new
/// first line and the code after the old launch lines (the `#!` line, and
/// a launcher's two more). `None` when no plain `#!` can name
/// `interpreter` (whitespace, or too long for the kernel's buffer).
pub fn rewrite(bytes: &[u8], interpreter: &str) -> Option<(String, Vec<u8>)> {
    let launch = parse(bytes)?;
    if interpreter.contains([' ', '\t', '\n', '\0']) || !interpreter.starts_with('/') {
        return None;
    }
    let (line, body_at) = match &launch {
        Launch::Direct { arg: Some(a), .. } => {
            (format!("#!{interpreter} {a}"), first_line_end(bytes))
        }
        Launch::Direct { arg: None, .. } | Launch::Env { .. } => {
            (format!("#!{interpreter}"), first_line_end(bytes))
        }
        Launch::Trampoline { .. } => (format!("#!{interpreter}"), launcher_lines(bytes)?.1),
    };
    if line.len() >= BINPRM_BUF_SIZE {
        return None;
    }
    Some((line, bytes.get(body_at..).unwrap_or_default().to_vec()))
}

fn first_line_end(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(i: &str, a: Option<&str>) -> Option<Launch> {
        Some(Launch::Direct {
            interpreter: i.into(),
            arg: a.map(str::to_string),
        })
    }

    #[test]
    fn lines_as_the_kernel_reads_them() {
        assert_eq!(
            parse(b"#!/usr/bin/python3\nx"),
            direct("/usr/bin/python3", None)
        );
        assert_eq!(
            parse(b"#!  /opt/py/bin/python -E -s \t\r\nx"),
            direct("/opt/py/bin/python", Some("-E -s"))
        );
        assert_eq!(parse(b"#!python\n"), direct("python", None));
        assert_eq!(
            parse(b"#!/usr/bin/python3"),
            direct("/usr/bin/python3", None)
        );
        assert_eq!(parse(b"# not\n"), None);
        assert_eq!(parse(b"#!   \n"), None);
        assert_eq!(parse(b""), None);
        // A name the buffer cuts off: the kernel refuses the file.
        let mut long = b"#!/".to_vec();
        long.extend(std::iter::repeat_n(b'a', 300));
        assert_eq!(parse(&long), None);
        // A long argument is only cut.
        let mut arg = b"#!/bin/py ".to_vec();
        arg.extend(std::iter::repeat_n(b'a', 300));
        assert!(
            matches!(parse(&arg), Some(Launch::Direct { interpreter, .. }) if interpreter == "/bin/py")
        );
    }

    #[test]
    fn env_and_its_program() {
        let env = |p: Option<&str>| {
            Some(Launch::Env {
                env: "/usr/bin/env".into(),
                program: p.map(str::to_string),
            })
        };
        assert_eq!(parse(b"#!/usr/bin/env python3\n"), env(Some("python3")));
        // One argument for env: "python3 -u" is the name it looks for.
        assert_eq!(
            parse(b"#!/usr/bin/env python3 -u\n"),
            env(Some("python3 -u"))
        );
        assert_eq!(
            parse(b"#!/usr/bin/env -S A=1 python3 -u\n"),
            env(Some("python3"))
        );
        assert_eq!(parse(b"#!/usr/bin/env -i\n"), env(None));
        assert_eq!(parse(b"#!/usr/bin/env\n"), env(None));
    }

    #[test]
    fn pips_launcher() {
        let s = b"#!/bin/sh\n'''exec' \"/very long/bin/python\" \"$0\" \"$@\"\n' '''\nimport sys\n";
        assert_eq!(
            parse(s),
            Some(Launch::Trampoline {
                shell: "/bin/sh".into(),
                python: Some("/very long/bin/python".into())
            })
        );
        let bare = b"#!/bin/sh\n'''exec' /opt/x/bin/python -E \"$0\" \"$@\"\n' '''\n";
        assert!(
            matches!(parse(bare), Some(Launch::Trampoline { python: Some(p), .. }) if p == "/opt/x/bin/python")
        );
        let computed =
            b"#!/bin/sh\n'''exec' \"$(dirname -- \"$0\")/python\" \"$0\" \"$@\"\n' '''\n";
        assert!(matches!(
            parse(computed),
            Some(Launch::Trampoline { python: None, .. })
        ));
        // A plain shell script is a direct start of the shell.
        assert_eq!(parse(b"#!/bin/sh\necho hi\n"), direct("/bin/sh", None));
        let (line, body) = rewrite(s, "/usr/bin/python3.11").unwrap();
        assert_eq!(line, "#!/usr/bin/python3.11");
        assert_eq!(body, b"import sys\n");
    }

    #[test]
    fn rewrites_keep_the_code_and_the_argument() {
        let (line, body) =
            rewrite(b"#!/old/python -E\nimport x\n", "/app/.venv/bin/python").unwrap();
        assert_eq!(line, "#!/app/.venv/bin/python -E");
        assert_eq!(body, b"import x\n");
        let (line, body) =
            rewrite(b"#!/usr/bin/env python3\nimport x\n", "/usr/bin/python3.11").unwrap();
        assert_eq!(line, "#!/usr/bin/python3.11");
        assert_eq!(body, b"import x\n");
        assert_eq!(rewrite(b"#!/old/python\n", "/with space/python"), None);
        assert_eq!(rewrite(b"#!/old/python\n", "python"), None);
        assert_eq!(rewrite(b"no shebang\n", "/usr/bin/python3"), None);
        let long = format!("/{}", "a".repeat(300));
        assert_eq!(rewrite(b"#!/old/python\n", &long), None);
    }
}
