//! Where an interpreter finds its standard library, by the rule of CPython
//! 3.11's `Modules/getpath.py` on Linux (no `PYTHONHOME`, no `._pth`, not
//! a build directory):
//!
//! - the search starts in `executable_dir`: the `home` of a `pyvenv.cfg`
//!   beside the executable as invoked or one directory up, else the
//!   directory of the executable with its symlinks resolved;
//! - `prefix` is the first directory, from there upwards, holding
//!   `PLATLIBDIR/pythonXY.zip`, else the first holding
//!   `PLATLIBDIR/pythonX.Y/os.py` (or `os.pyc`); else the compiled-in
//!   `PREFIX`, with `Could not find platform independent libraries
//!   <prefix>` when that lacks them too;
//! - `exec_prefix` is the first directory upwards holding the directory
//!   `PLATLIBDIR/pythonX.Y/lib-dynload`, else `EXEC_PREFIX`, with `Could
//!   not find platform dependent libraries <exec_prefix>`.
//!
//! `search_up` stops below `/`: its `dirname` of `/usr` is the empty
//! string, so `/` itself is never tried (`Modules/getpath.c:
//! getpath_dirname`). On Linux the search never starts beside `libpython`
//! (getpath.c gives `library` only on Windows and macOS frameworks).

use std::path::Path;

use crate::rootfs::{self, Kind, Tree};

/// What a search found in a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// The directory whose landmark was found.
    At(String),
    /// No directory has the landmark.
    Missing,
    /// Some directory could not be looked into (an embedded target's
    /// omitted prefix, a symlink loop): whether it has one is not known.
    Unknown,
}

/// The landmarks of one Python version with one `PLATLIBDIR`.
pub struct Landmarks {
    /// `lib/python311.zip`
    pub zip: String,
    /// `lib/python3.11/os.py`, `lib/python3.11/os.pyc`
    pub stdlib: [String; 2],
    /// `lib/python3.11/lib-dynload`
    pub dynload: String,
}

impl Landmarks {
    /// For `version` `"3.11"` and `platlibdir` `"lib"` (Debian's; Fedora's
    /// is `lib64`).
    pub fn new(version: &str, platlibdir: &str) -> Landmarks {
        let dir = format!("{platlibdir}/python{version}");
        Landmarks {
            zip: format!("{platlibdir}/python{}.zip", version.replace('.', "")),
            stdlib: [format!("{dir}/os.py"), format!("{dir}/os.pyc")],
            dynload: format!("{dir}/lib-dynload"),
        }
    }

    /// `prefix`, searched from `start`, else `fallback` (the compiled-in
    /// `PREFIX`) when it has the stdlib landmark.
    pub fn prefix(&self, tree: &dyn Tree, start: &str, fallback: &str) -> Found {
        let zip = search_up(tree, start, std::slice::from_ref(&self.zip), Kind::Regular);
        if !matches!(zip, Found::Missing) {
            return zip;
        }
        let stdlib = search_up(tree, start, &self.stdlib, Kind::Regular);
        if !matches!(stdlib, Found::Missing) {
            return stdlib;
        }
        at(tree, fallback, &self.stdlib, Kind::Regular)
    }

    /// `exec_prefix`, searched from `start`, else `fallback` (the
    /// compiled-in `EXEC_PREFIX`) when it has `lib-dynload`.
    pub fn exec_prefix(&self, tree: &dyn Tree, start: &str, fallback: &str) -> Found {
        let found = search_up(
            tree,
            start,
            std::slice::from_ref(&self.dynload),
            Kind::Directory,
        );
        if !matches!(found, Found::Missing) {
            return found;
        }
        at(
            tree,
            fallback,
            std::slice::from_ref(&self.dynload),
            Kind::Directory,
        )
    }
}

/// `search_up`: `start` and each parent below `/`, the first with one of
/// `landmarks` of `kind`.
fn search_up(tree: &dyn Tree, start: &str, landmarks: &[String], kind: Kind) -> Found {
    let mut unknown = false;
    let mut dir = Some(Path::new(start));
    while let Some(d) = dir.filter(|d| *d != Path::new("/") && !d.as_os_str().is_empty()) {
        match at(tree, &d.to_string_lossy(), landmarks, kind) {
            Found::Missing => {}
            Found::Unknown => unknown = true,
            found => return found,
        }
        dir = d.parent();
    }
    if unknown {
        Found::Unknown
    } else {
        Found::Missing
    }
}

/// Whether `dir` has one of `landmarks` of `kind`.
fn at(tree: &dyn Tree, dir: &str, landmarks: &[String], kind: Kind) -> Found {
    let mut unknown = false;
    for l in landmarks {
        match rootfs::resolve(tree, &Path::new(dir).join(l)) {
            Ok(Some(r)) if r.kind == kind => return Found::At(dir.to_string()),
            Ok(_) => {}
            Err(_) => unknown = true,
        }
    }
    if unknown {
        Found::Unknown
    } else {
        Found::Missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::Root;

    #[test]
    fn the_search_goes_up_but_not_to_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |p: &str| std::fs::create_dir_all(dir.path().join(p)).unwrap();
        let file = |p: &str| std::fs::write(dir.path().join(p), b"").unwrap();
        mk("opt/py/bin");
        mk("opt/py/lib/python3.11/lib-dynload");
        file("opt/py/lib/python3.11/os.py");
        mk("lib/python3.12/lib-dynload");
        file("lib/python3.12/os.py");
        mk("bin");
        let root = Root::new(dir.path()).unwrap();
        let l = Landmarks::new("3.11", "lib");
        assert_eq!(l.zip, "lib/python311.zip");
        assert_eq!(
            l.prefix(&root, "/opt/py/bin", "/usr"),
            Found::At("/opt/py".into())
        );
        assert_eq!(
            l.exec_prefix(&root, "/opt/py/bin", "/usr"),
            Found::At("/opt/py".into())
        );
        assert_eq!(l.prefix(&root, "/opt/other/bin", "/usr"), Found::Missing);
        // The compiled-in prefix is the last resort.
        assert_eq!(
            l.prefix(&root, "/opt/other/bin", "/opt/py"),
            Found::At("/opt/py".into())
        );
        // `/` is never searched: /bin does not find /lib/python3.12.
        let l12 = Landmarks::new("3.12", "lib");
        assert_eq!(l12.prefix(&root, "/bin", "/usr"), Found::Missing);
        assert_eq!(l12.exec_prefix(&root, "/bin", "/usr"), Found::Missing);
        // The zip is a landmark of its own.
        mk("srv/lib");
        file("srv/lib/python311.zip");
        assert_eq!(
            l.prefix(&root, "/srv/bin", "/usr"),
            Found::At("/srv".into())
        );
    }
}
