//! A tiny builder root with a Python installation in it, for the tests of
//! the CLI's conventions, its JSON schemas and the CI formats: a fake
//! `python3.11` (a real ELF executable), its stdlib and `lib-dynload`, a
//! system site, a venv, a user site with a `.pth` file, and extension
//! modules that need a library the builder has (`libx.so.1`: the plan
//! copies it), one it lacks (`libgone.so.1`: not found) and a truncated
//! file (a bad file). Built on `common::World`.
#![allow(dead_code)]

use crate::common::World;

pub const DYNLOAD: &str = "/usr/lib/python3.11/lib-dynload";
pub const EXT_OK: &str = "/usr/lib/python3.11/lib-dynload/_x.cpython-311-x86_64-linux-gnu.so";
pub const EXT_GONE: &str = "/usr/lib/python3.11/lib-dynload/_gone.cpython-311-x86_64-linux-gnu.so";
pub const LIBX: &str = "/usr/lib/x86_64-linux-gnu/libx.so.1";
pub const TRUNCATED: &str = "/usr/local/lib/python3.11/dist-packages/bad/_trunc.so";

/// Everything: a plan with copies, a not-found, a bad file.
pub fn python_world() -> World {
    let w = clean_python_world();
    let gone = w.stub("libgone.so.1");
    w.lib(EXT_GONE, "_gone.so", &[&gone], &[]);
    // An ELF header that promises more than the file has.
    let mut bytes = std::fs::read(w.host(LIBX)).expect("libx");
    bytes.truncate(200);
    w.write(TRUNCATED, &bytes);
    w
}

/// A Python installation whose every extension loads in the builder; the
/// embedded target lacks `libx.so.1`, so the plan copies it.
pub fn clean_python_world() -> World {
    let w = World::new();
    w.exe("/usr/bin/python3.11", &[], &[]);
    w.symlink("python3.11", "/usr/bin/python3");
    w.write("/usr/lib/python3.11/os.py", b"");
    w.lib(LIBX, "libx.so.1", &[], &[]);
    w.lib(EXT_OK, "_x.so", &[LIBX], &[]);
    w.mkdir("/usr/lib/python3/dist-packages");
    w.mkdir("/usr/local/lib/python3.11/dist-packages");
    // A venv of that interpreter.
    w.write(
        "/app/.venv/pyvenv.cfg",
        b"home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
    );
    w.symlink("/usr/bin/python3.11", "/app/.venv/bin/python");
    w.mkdir("/app/.venv/lib/python3.11/site-packages");
    // A user site, and a directory its .pth file adds.
    w.write(
        "/etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    );
    w.write(
        "/home/app/.local/lib/python3.11/site-packages/extra.pth",
        b"/opt/extra\n",
    );
    w.mkdir("/opt/extra");
    w.write(
        "/etc/os-release",
        b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
    );
    w
}

/// `s` without ANSI colour sequences (`ESC [ ... m`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}
