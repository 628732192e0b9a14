//! Discovery on roots built for each layout, and the scope it gives.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use super::discovery::MAX_SMALL_FILE;
use super::*;

/// A root under construction.
struct T {
    dir: tempfile::TempDir,
}

impl T {
    fn new() -> T {
        T {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn host(&self, p: &str) -> PathBuf {
        self.dir.path().join(p.trim_start_matches('/'))
    }
    fn mkdir(&self, p: &str) -> &Self {
        fs::create_dir_all(self.host(p)).unwrap();
        self
    }
    fn write(&self, p: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let h = self.host(p);
        fs::create_dir_all(h.parent().unwrap()).unwrap();
        fs::write(h, bytes).unwrap();
        self
    }
    /// Any small ELF executable will do as an interpreter or a library.
    fn elf(&self, p: &str) -> &Self {
        let h = self.host(p);
        fs::create_dir_all(h.parent().unwrap()).unwrap();
        fs::copy(fs::canonicalize("/bin/true").unwrap(), h).unwrap();
        self
    }
    fn link(&self, p: &str, target: &str) -> &Self {
        let h = self.host(p);
        fs::create_dir_all(h.parent().unwrap()).unwrap();
        symlink(target, h).unwrap();
        self
    }
    fn discover(&self) -> Inventory {
        discover(&Root::new(self.dir.path()).unwrap())
    }
}

fn kind_of<'a>(i: &'a Installation, path: &str) -> Option<&'a SiteKind> {
    i.site_dirs.iter().find(|s| s.path == path).map(|s| &s.kind)
}

/// python:3.12-style: upstream CPython in /usr/local, a venv made by it.
fn upstream() -> T {
    let t = T::new();
    t.elf("/usr/local/bin/python3.12")
        .link("/usr/local/bin/python3", "python3.12")
        .link("/usr/local/bin/python", "python3")
        .write("/usr/local/bin/python3.12-config", "#!/bin/sh\n")
        .elf("/usr/local/lib/libpython3.12.so.1.0")
        .link("/usr/local/lib/libpython3.12.so", "libpython3.12.so.1.0")
        .elf("/usr/local/lib/libpython3.so")
        .write("/usr/local/lib/libpython3.12.a", "!<arch>\n")
        .write("/usr/local/lib/python3.12/os.py", "")
        .elf("/usr/local/lib/python3.12/lib-dynload/_bz2.cpython-312-x86_64-linux-gnu.so")
        .mkdir("/usr/local/lib/python3.12/site-packages/pkg")
        .link("/opt/venv/bin/python", "/usr/local/bin/python3.12")
        .link("/opt/venv/bin/python3", "python")
        .write("/opt/venv/bin/activate", "# not an interpreter\n")
        .write(
            "/opt/venv/pyvenv.cfg",
            "home = /usr/local/bin\nimplementation = CPython\nversion_info = 3.12.1.final.0\n\
             include-system-site-packages = TRUE\n",
        )
        .mkdir("/opt/venv/lib/python3.12/site-packages/yaml")
        .link("/opt/venv/lib64", "lib")
        .mkdir("/opt/venv/extra")
        .mkdir("/srv/lib")
        .write(
            "/opt/venv/lib/python3.12/site-packages/zz.pth",
            "# comment\nimport sys; sys.path.append('/nope')\n\n../../../extra\n/srv/lib\n\
             /srv/lib/../lib\n/does/not/exist\n/etc\n",
        );
    t
}

#[test]
fn upstream_python_and_its_venv() {
    let t = upstream();
    let inv = t.discover();
    assert_eq!(inv.installations.len(), 1, "{inv:#?}");
    let i = &inv.installations[0];
    assert_eq!(i.interpreter, "/usr/local/bin/python3.12");
    assert_eq!(i.version, "3.12");
    assert_eq!(i.prefix, "/usr/local");
    assert_eq!(
        i.names,
        [
            "/opt/venv/bin/python",
            "/opt/venv/bin/python3",
            "/usr/local/bin/python",
            "/usr/local/bin/python3",
            "/usr/local/bin/python3.12",
        ]
    );
    assert_eq!(
        i.links,
        [
            "/opt/venv/bin/python",
            "/opt/venv/bin/python3",
            "/usr/local/bin/python",
            "/usr/local/bin/python3",
        ]
    );
    assert_eq!(
        i.libpython,
        [
            "/usr/local/lib/libpython3.12.so",
            "/usr/local/lib/libpython3.12.so.1.0",
            "/usr/local/lib/libpython3.so",
        ]
    );
    assert_eq!(i.stdlib.as_deref(), Some("/usr/local/lib/python3.12"));
    assert_eq!(
        i.lib_dynload.as_deref(),
        Some("/usr/local/lib/python3.12/lib-dynload")
    );
    let venv = SiteKind::Venv {
        root: "/opt/venv".into(),
    };
    let from = || SiteKind::Pth {
        from: "/opt/venv/lib/python3.12/site-packages/zz.pth".into(),
    };
    assert_eq!(
        i.site_dirs,
        [
            SiteDir {
                path: "/opt/venv/extra".into(),
                kind: from()
            },
            SiteDir {
                path: "/opt/venv/lib/python3.12/site-packages".into(),
                kind: venv
            },
            SiteDir {
                path: "/srv/lib".into(),
                kind: from()
            },
            SiteDir {
                path: "/usr/local/lib/python3.12/site-packages".into(),
                kind: SiteKind::System
            },
        ]
    );
    assert_eq!(
        inv.venvs,
        [Venv {
            root: "/opt/venv".into(),
            home: Some("/usr/local/bin".into()),
            version: Some("3.12".into()),
            site_packages: Some("/opt/venv/lib/python3.12/site-packages".into()),
            interpreter: Some("/usr/local/bin/python3.12".into()),
            system_site_packages: true,
        }]
    );
    assert!(inv.problems.is_empty(), "{:#?}", inv.problems);
    assert_eq!(
        inv.scope(),
        [
            "/opt/venv",
            "/srv/lib",
            "/usr/local/bin/python",
            "/usr/local/bin/python3",
            "/usr/local/bin/python3.12",
            "/usr/local/lib/libpython3.12.so",
            "/usr/local/lib/libpython3.12.so.1.0",
            "/usr/local/lib/libpython3.so",
            "/usr/local/lib/python3.12",
        ]
    );
}

#[test]
fn debian_layout_with_user_sites() {
    let t = T::new();
    t.elf("/usr/bin/python3.11")
        .link("/usr/bin/python3", "python3.11")
        .elf("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0")
        .link(
            "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1",
            "libpython3.11.so.1.0",
        )
        // Another version's library is not this one's.
        .elf("/usr/lib/x86_64-linux-gnu/libpython3.110.so.1.0")
        .write("/usr/lib/python3.11/os.py", "")
        .mkdir("/usr/lib/python3.11/lib-dynload")
        .mkdir("/usr/lib/python3/dist-packages")
        .mkdir("/usr/local/lib/python3.11/dist-packages")
        .mkdir("/home/u/.local/lib/python3.11/site-packages")
        .mkdir("/home/bob/.local/lib/python3.11/site-packages")
        .mkdir("/root/.local/lib/python3.11/site-packages")
        .mkdir("/var/lib/svc/.local/lib/python3.11/site-packages")
        // Another version's user site is not this one's.
        .mkdir("/home/u/.local/lib/python3.12/site-packages")
        .write(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/u:/bin/sh\n\
             svc:x:999:999::/var/lib/svc:/bin/false\nbroken line\n",
        );
    let inv = t.discover();
    let i = &inv.installations[0];
    assert_eq!(i.prefix, "/usr");
    assert_eq!(i.names, ["/usr/bin/python3", "/usr/bin/python3.11"]);
    assert_eq!(
        i.libpython,
        [
            "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1",
            "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
        ]
    );
    let user = |u: &str| SiteKind::User { user: u.into() };
    assert_eq!(
        kind_of(i, "/usr/lib/python3/dist-packages"),
        Some(&SiteKind::System)
    );
    assert_eq!(
        kind_of(i, "/usr/local/lib/python3.11/dist-packages"),
        Some(&SiteKind::Local)
    );
    assert_eq!(
        kind_of(i, "/home/u/.local/lib/python3.11/site-packages"),
        Some(&user("alice"))
    );
    assert_eq!(
        kind_of(i, "/home/bob/.local/lib/python3.11/site-packages"),
        Some(&user("bob"))
    );
    assert_eq!(
        kind_of(i, "/root/.local/lib/python3.11/site-packages"),
        Some(&user("root"))
    );
    assert_eq!(
        kind_of(i, "/var/lib/svc/.local/lib/python3.11/site-packages"),
        Some(&user("svc"))
    );
    assert_eq!(i.site_dirs.len(), 6, "{:#?}", i.site_dirs);
    assert!(inv.venvs.is_empty());
}

#[test]
fn hostile_trees_do_not_panic_or_escape() {
    let t = T::new();
    t.elf("/usr/bin/python3.11")
        .write("/usr/lib/python3.11/os.py", "")
        // Loops, a script, a dangling name, a link out of the root.
        .link("/usr/bin/python3", "python3")
        .link("/usr/local/bin/python3", "/usr/local/bin/python")
        .link("/usr/local/bin/python", "python3")
        .write(
            "/usr/local/bin/python3.9",
            "#!/bin/sh\nexec python3.11 \"$@\"\n",
        )
        .link("/usr/local/bin/python2", "/nowhere/python2")
        .link("/opt/v/bin/python", "../../../../../../../bin/true")
        .write(
            "/opt/v/pyvenv.cfg",
            b"\xff\xfe\x00binary\x00home\x00=\x01\n".as_slice(),
        )
        // A venv whose cfg is huge and whose interpreter loops.
        .link("/srv/w/bin/python", "python")
        .write("/srv/w/pyvenv.cfg", {
            let mut cfg = b"home = /usr/bin\nversion = 3.11.4\n".to_vec();
            cfg.resize(MAX_SMALL_FILE * 4, b'#');
            cfg
        })
        // A binary .pth in a site dir, and one that is a directory.
        .mkdir("/usr/local/lib/python3.11/dist-packages/dir.pth")
        .write(
            "/usr/local/lib/python3.11/dist-packages/bin.pth",
            b"\x7fELF\x00\x01/usr\x00\n\xff\xff\n/usr/lib\n".as_slice(),
        )
        // Walked past: pseudo filesystems and site trees.
        .write("/proc/1/root/venv/pyvenv.cfg", "home = /usr/bin\n")
        .write(
            "/usr/local/lib/python3.11/dist-packages/virtualenv/pyvenv.cfg",
            "home = /usr/bin\n",
        );
    // A FIFO named like a cfg must not block the walk or the read.
    let fifo = t.host("/opt/f/pyvenv.cfg");
    fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);

    let inv = t.discover();
    assert_eq!(inv.installations.len(), 1, "{inv:#?}");
    let i = &inv.installations[0];
    assert_eq!(i.interpreter, "/usr/bin/python3.11");
    // /srv/w found its interpreter through home: its own bin/python loops.
    assert_eq!(i.names, ["/usr/bin/python3.11"]);
    assert_eq!(
        kind_of(i, "/usr/lib"),
        Some(&SiteKind::Pth {
            from: "/usr/local/lib/python3.11/dist-packages/bin.pth".into()
        })
    );
    let roots: Vec<&str> = inv.venvs.iter().map(|v| v.root.as_str()).collect();
    assert_eq!(roots, ["/opt/f", "/opt/v", "/srv/w"]);
    let w = &inv.venvs[2];
    assert_eq!(w.version.as_deref(), Some("3.11"));
    assert_eq!(w.interpreter.as_deref(), Some("/usr/bin/python3.11"));
    assert_eq!(inv.venvs[1].interpreter, None);
    assert_eq!(inv.venvs[1].home, None);
    let says = |path: &str, what: &str| {
        inv.problems
            .iter()
            .any(|p| p.path == path && p.message.contains(what))
    };
    assert!(
        says("/usr/bin/python3", "too many levels"),
        "{:#?}",
        inv.problems
    );
    assert!(
        says("/srv/w/bin/python", "too many levels"),
        "{:#?}",
        inv.problems
    );
    assert!(
        says("/srv/w/pyvenv.cfg", "only its beginning"),
        "{:#?}",
        inv.problems
    );
    assert!(says("/opt/v", "no interpreter"), "{:#?}", inv.problems);
    assert!(!inv.problems.iter().any(|p| p.path.contains("python2")));
    // The scope has /usr/lib (from the .pth), and so swallows the stdlib.
    let scope = inv.scope();
    assert!(scope.contains(&"/usr/lib".to_string()), "{scope:#?}");
    assert!(
        !scope.iter().any(|s| s.starts_with("/usr/lib/")),
        "{scope:#?}"
    );
}

#[test]
fn interpreter_copied_into_a_venv_and_version_from_the_stdlib() {
    let t = T::new();
    t.elf("/opt/py/bin/python")
        .write("/opt/py/lib/python3.10/os.py", "")
        .mkdir("/opt/py/lib/python3.10/lib-dynload")
        .elf("/app/venv/bin/python3.10")
        .link("/app/venv/bin/python", "python3.10")
        .write("/app/venv/pyvenv.cfg", "home=/opt/py/bin\n")
        .mkdir("/app/venv/lib/python3.10/site-packages")
        // A venv at the root itself must not make the scope `/`.
        .write("/pyvenv.cfg", "home = /opt/py/bin\n");
    let inv = t.discover();
    let by = |p: &str| {
        inv.installations
            .iter()
            .find(|i| i.interpreter == p)
            .unwrap_or_else(|| panic!("{p} in {inv:#?}"))
    };
    let base = by("/opt/py/bin/python");
    assert_eq!(base.version, "3.10");
    assert_eq!(base.prefix, "/opt/py");
    assert_eq!(
        base.lib_dynload.as_deref(),
        Some("/opt/py/lib/python3.10/lib-dynload")
    );
    let copy = by("/app/venv/bin/python3.10");
    assert_eq!(copy.version, "3.10");
    assert_eq!(copy.prefix, "/opt/py");
    assert_eq!(copy.stdlib.as_deref(), Some("/opt/py/lib/python3.10"));
    assert_eq!(
        kind_of(copy, "/app/venv/lib/python3.10/site-packages"),
        Some(&SiteKind::Venv {
            root: "/app/venv".into()
        })
    );
    let scope = inv.scope();
    assert!(!scope.contains(&"/".to_string()), "{scope:#?}");
    assert!(scope.contains(&"/pyvenv.cfg".to_string()), "{scope:#?}");
    assert!(scope.contains(&"/app/venv".to_string()), "{scope:#?}");
}

#[test]
fn scope_keeps_outermost_paths() {
    let got = outermost(
        ["/a", "/a/b", "/a-b", "/a-b/c", "/ab", "/c/d", "/c"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    assert_eq!(got, ["/a", "/a-b", "/ab", "/c"]);
}
