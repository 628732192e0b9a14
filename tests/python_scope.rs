//! Python discovery over the real Debian 12 builder root of
//! scripts/make-root.sh: Debian's python3.11 with its stdlib, wheels in
//! /usr/local/lib/python3.11/dist-packages, the venv /app/.venv (PyYAML),
//! the user site of `app` (msgpack) and the directory its .pth file adds.

use std::path::PathBuf;
use std::time::Instant;

use ldslim::python::{self, Inventory, SiteKind};
use ldslim::rootfs::Root;

fn root_dir() -> PathBuf {
    let dir = std::env::var_os("LDSLIM_E2E_ROOT")
        .filter(|v| !v.is_empty())
        .expect("LDSLIM_E2E_ROOT: run scripts/test.sh, or LDSLIM_E2E_ROOT=$(scripts/make-root.sh | tail -1)");
    PathBuf::from(dir)
}

fn inventory() -> Inventory {
    let root = Root::new(&root_dir()).expect("the root opens");
    let t = Instant::now();
    let inv = python::discover(&root);
    eprintln!("discover() took {:?}", t.elapsed());
    inv
}

fn site_kind<'a>(inv: &'a Inventory, path: &str) -> Option<&'a SiteKind> {
    inv.installations
        .iter()
        .flat_map(|i| &i.site_dirs)
        .find(|s| s.path == path)
        .map(|s| &s.kind)
}

#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn finds_debian_python_venv_user_site_and_pth() {
    let inv = inventory();
    println!(
        "{}",
        serde_json::to_string_pretty(&inv).expect("an inventory serialises")
    );
    println!("scope: {:#?}", inv.scope());

    assert_eq!(
        inv.installations.len(),
        1,
        "one interpreter file in the root: {:#?}",
        inv.installations
    );
    let py = &inv.installations[0];
    assert_eq!(py.interpreter, "/usr/bin/python3.11");
    assert_eq!(py.version, "3.11");
    assert_eq!(py.prefix, "/usr");
    for name in [
        "/usr/bin/python3",
        "/usr/bin/python3.11",
        "/app/.venv/bin/python",
        "/app/.venv/bin/python3",
        "/app/.venv/bin/python3.11",
    ] {
        assert!(
            py.names.iter().any(|n| n == name),
            "{name} in {:?}",
            py.names
        );
    }
    assert!(
        py.links.iter().any(|l| l == "/usr/bin/python3"),
        "{:?}",
        py.links
    );
    assert_eq!(py.stdlib.as_deref(), Some("/usr/lib/python3.11"));
    assert_eq!(
        py.lib_dynload.as_deref(),
        Some("/usr/lib/python3.11/lib-dynload")
    );
    // Debian's python3.11 has libpython linked in; no libpython3.11 package.
    assert!(py.libpython.is_empty(), "{:?}", py.libpython);

    assert_eq!(
        site_kind(&inv, "/usr/lib/python3/dist-packages"),
        Some(&SiteKind::System)
    );
    assert_eq!(
        site_kind(&inv, "/usr/local/lib/python3.11/dist-packages"),
        Some(&SiteKind::Local)
    );
    assert_eq!(
        site_kind(&inv, "/app/.venv/lib/python3.11/site-packages"),
        Some(&SiteKind::Venv {
            root: "/app/.venv".into()
        })
    );
    assert_eq!(
        site_kind(&inv, "/home/app/.local/lib/python3.11/site-packages"),
        Some(&SiteKind::User { user: "app".into() })
    );
    assert_eq!(
        site_kind(&inv, "/opt/extra-libs"),
        Some(&SiteKind::Pth {
            from: "/home/app/.local/lib/python3.11/site-packages/app-extra.pth".into()
        })
    );
    assert_eq!(site_kind(&inv, "/opt/does-not-exist"), None);

    assert_eq!(inv.venvs.len(), 1, "{:#?}", inv.venvs);
    let venv = &inv.venvs[0];
    assert_eq!(venv.root, "/app/.venv");
    assert_eq!(venv.home.as_deref(), Some("/usr/bin"));
    assert_eq!(venv.version.as_deref(), Some("3.11"));
    assert_eq!(venv.interpreter.as_deref(), Some("/usr/bin/python3.11"));
    assert_eq!(
        venv.site_packages.as_deref(),
        Some("/app/.venv/lib/python3.11/site-packages")
    );
    assert!(!venv.system_site_packages);
    assert!(inv.problems.is_empty(), "{:#?}", inv.problems);

    let scope = inv.scope();
    for p in [
        "/app/.venv",
        "/home/app/.local/lib/python3.11/site-packages",
        "/opt/extra-libs",
        "/usr/bin/python3",
        "/usr/bin/python3.11",
        "/usr/lib/python3.11",
        "/usr/lib/python3/dist-packages",
        "/usr/local/lib/python3.11/dist-packages",
    ] {
        assert!(scope.iter().any(|s| s == p), "{p} in {scope:#?}");
    }
    // lib-dynload is inside the stdlib, the venv's site-packages inside it.
    assert!(!scope.iter().any(|s| s.ends_with("lib-dynload")));
    assert!(
        !scope
            .iter()
            .any(|s| s.ends_with(".venv/lib/python3.11/site-packages"))
    );
}

#[test]
#[ignore = "needs the Debian root; run scripts/test.sh"]
fn extension_modules_are_named_as_python_imports_them() {
    let inv = inventory();
    let cases = [
        (
            "/usr/lib/python3.11/lib-dynload/_bz2.cpython-311-x86_64-linux-gnu.so",
            "_bz2",
            "bz2",
        ),
        (
            "/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so",
            "_sqlite3",
            "sqlite3",
        ),
        (
            "/usr/lib/python3.11/lib-dynload/mmap.cpython-311-x86_64-linux-gnu.so",
            "mmap",
            "mmap",
        ),
        (
            "/usr/local/lib/python3.11/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
            "numpy.core._multiarray_umath",
            "numpy",
        ),
        (
            "/usr/local/lib/python3.11/dist-packages/cryptography/hazmat/bindings/_rust.abi3.so",
            "cryptography.hazmat.bindings._rust",
            "cryptography",
        ),
        (
            "/app/.venv/lib/python3.11/site-packages/yaml/_yaml.cpython-311-x86_64-linux-gnu.so",
            "yaml._yaml",
            "yaml",
        ),
        (
            "/home/app/.local/lib/python3.11/site-packages/msgpack/_cmsgpack.cpython-311-x86_64-linux-gnu.so",
            "msgpack._cmsgpack",
            "msgpack",
        ),
    ];
    let root = root_dir();
    for (path, name, import) in cases {
        assert!(
            root.join(path.trim_start_matches('/')).is_file(),
            "{path} is in the root"
        );
        let m =
            python::module::module_of(path, &inv).unwrap_or_else(|| panic!("{path} is a module"));
        assert_eq!(
            (m.name.as_str(), m.import.as_str()),
            (name, import),
            "{path}"
        );
    }
    // Every extension module under the stdlib and site dirs gets a name;
    // the vendored libraries of wheels (numpy.libs/…) do not.
    let mut named = 0;
    for dir in inv.scope() {
        for e in walkdir::WalkDir::new(root.join(dir.trim_start_matches('/')))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
        {
            let inside = format!(
                "/{}",
                e.path()
                    .strip_prefix(&root)
                    .expect("below the root")
                    .display()
            );
            let got = python::module::module_of(&inside, &inv);
            if inside.contains(".libs/") {
                assert_eq!(got, None, "{inside}");
            } else if inside.ends_with(".so") {
                assert!(got.is_some(), "{inside} has no module name");
                named += 1;
            }
        }
    }
    assert!(named > 200, "only {named} extension modules named");
}
