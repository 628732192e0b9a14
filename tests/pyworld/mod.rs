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

pub const SITE: &str = "/usr/local/lib/python3.11/dist-packages";

/// A builder whose Python packages load libraries at run time: `pkgfind`
/// through `ctypes.util.find_library("foo")` (libfoo.so.1, which needs
/// libdep.so.1), `pkgname` by soname (`CDLL("libbar.so.2")`), plus the
/// modules in `extra` (`(path under the site, source)`). It has
/// `_ctypes`, `/sbin/ldconfig` (the host's) and an `/etc/ld.so.cache`
/// listing its libraries, as a Debian builder does.
pub fn runtime_world(extra: &[(&str, &str)]) -> World {
    use ldslim::ldso::cache::ByteOrder;
    use ldslim::ldso::cache_write::{CacheRecord, new_format};
    let w = clean_python_world();
    let lib = |n: &str| format!("/usr/lib/x86_64-linux-gnu/{n}");
    w.lib(
        &format!("{DYNLOAD}/_ctypes.cpython-311-x86_64-linux-gnu.so"),
        "_ctypes.so",
        &[],
        &[],
    );
    w.lib(&lib("libdep.so.1"), "libdep.so.1", &[], &[]);
    w.lib(
        &lib("libfoo.so.1.0"),
        "libfoo.so.1",
        &[&lib("libdep.so.1")],
        &[],
    );
    w.symlink("libfoo.so.1.0", &lib("libfoo.so.1"));
    w.lib(&lib("libbar.so.2"), "libbar.so.2", &[], &[]);
    let ldconfig = std::fs::read("/sbin/ldconfig").expect("the host's /sbin/ldconfig");
    w.write("/sbin/ldconfig", &ldconfig);
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            w.host("/sbin/ldconfig"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let rec = |n: &str| CacheRecord {
        name: n.into(),
        path: lib(n),
        flags: 0x0303,
    };
    let mut records = vec![rec("libfoo.so.1"), rec("libdep.so.1"), rec("libbar.so.2")];
    records.push(CacheRecord {
        name: "libc.so.6".into(),
        path: "/lib/x86_64-linux-gnu/libc.so.6".into(),
        flags: 0x0303,
    });
    w.write("/etc/ld.so.cache", &new_format(&records, ByteOrder::Little));
    w.write(
        &format!("{SITE}/pkgfind/__init__.py"),
        b"import ctypes, ctypes.util\n_lib = ctypes.CDLL(ctypes.util.find_library('foo'))\n",
    );
    w.write(
        &format!("{SITE}/pkgname/__init__.py"),
        b"from ctypes import CDLL\n_bar = CDLL('libbar.so.2')\n",
    );
    for (path, code) in extra {
        w.write(&format!("{SITE}/{path}"), code.as_bytes());
    }
    w
}
