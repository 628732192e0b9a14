//! What an interpreter loads from, by CPython's own rules: its prefix and
//! stdlib as `Modules/getpath.py` finds them, the `libpython` beside them,
//! and the site directories of `Lib/site.py` (with Debian's
//! `dist-packages`) and of their `.pth` files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use crate::elf;
use crate::rootfs::Kind;

use super::discovery::Discovery;
use super::discovery::VenvCfg;
use super::names::major_minor;
use super::{Installation, SiteDir, SiteKind, Venv, is_within, join, parent, utf8};

impl Discovery<'_> {
    /// The one `PREFIX/lib/python3.X` with an `os.py`, if only one has.
    pub(super) fn version_from_stdlib(&self, prefix: &str) -> Option<String> {
        let lib = join(prefix, "lib");
        let found: Vec<String> = self
            .list_dir(&lib)
            .into_iter()
            .filter_map(|n| {
                let v = n.strip_prefix("python")?;
                let v = major_minor(v)?;
                let stdlib = join(&lib, &n);
                self.is_file(&join(&stdlib, "os.py")).then_some(v)
            })
            .collect();
        match found.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// `sys.base_prefix`: the parent of the interpreter's `bin`, except for
    /// an interpreter copied into a venv, whose base is its `home`.
    pub(super) fn prefix_of(
        &self,
        interpreter: &str,
        venvs: &[Venv],
        cfgs: &[(String, VenvCfg)],
    ) -> String {
        for (v, (_, cfg)) in venvs.iter().zip(cfgs) {
            if v.root != "/"
                && is_within(interpreter, &v.root)
                && let Some(home) = &cfg.home
            {
                let home = self.dir(home).unwrap_or_else(|| home.clone());
                return parent(&home).unwrap_or_else(|| "/".to_string());
            }
        }
        let dir = parent(interpreter).unwrap_or_else(|| "/".to_string());
        if Path::new(&dir).file_name().is_some_and(|n| n == "bin") {
            parent(&dir).unwrap_or_else(|| "/".to_string())
        } else {
            dir
        }
    }

    /// libpython, stdlib, lib-dynload and site directories of `inst`.
    pub(super) fn fill_dirs(
        &mut self,
        inst: &mut Installation,
        venvs: &[&Venv],
        homes: &BTreeMap<String, String>,
        links: &mut BTreeSet<String>,
    ) {
        let prefix = inst.prefix.clone();
        let pyver = format!("python{}", inst.version);
        inst.libpython = self.libpython(&prefix, &inst.version, links);

        // The stdlib is where `os.py` is (getpath.py's landmark).
        let stdlib_candidates = [
            join(&prefix, &format!("lib/{pyver}")),
            join(&prefix, &format!("lib64/{pyver}")),
        ];
        inst.stdlib = stdlib_candidates
            .iter()
            .find(|c| self.is_file(&join(c, "os.py")))
            .and_then(|c| self.dir_linked(c, links));
        let mut dynload_candidates: Vec<String> = Vec::new();
        if let Some(s) = &inst.stdlib {
            dynload_candidates.push(join(s, "lib-dynload"));
        }
        dynload_candidates.extend(stdlib_candidates.iter().map(|c| join(c, "lib-dynload")));
        inst.lib_dynload = dynload_candidates
            .iter()
            .find_map(|c| self.dir_linked(c, links));

        inst.site_dirs = self.site_dirs(&prefix, &pyver, venvs, homes, links);
    }

    /// `libpython3.X*.so*` in PREFIX/lib, lib64 and the multiarch dirs
    /// below lib: the entries and the files they lead to (sorted).
    fn libpython(&self, prefix: &str, ver: &str, links: &mut BTreeSet<String>) -> Vec<String> {
        let pyver = format!("python{ver}");
        let lib = join(prefix, "lib");
        let mut lib_dirs = vec![lib.clone(), join(prefix, "lib64")];
        lib_dirs.extend(
            self.list_dir(&lib)
                .into_iter()
                .filter(|n| n.contains("-linux-"))
                .map(|n| join(&lib, &n)),
        );
        let mut libpython: BTreeSet<String> = BTreeSet::new();
        let mut seen_dirs: BTreeSet<String> = BTreeSet::new();
        for d in lib_dirs {
            let Some(canon) = self.dir(&d) else {
                continue;
            };
            if !seen_dirs.insert(canon.clone()) {
                continue;
            }
            let before = libpython.len();
            for n in self.list_dir(&canon) {
                // `libpython3.1` must not take `libpython3.10.so`: after the
                // version come ABI flags (`d`, `t`) or the suffix.
                let ours = n.strip_prefix(&format!("lib{pyver}")).is_some_and(|rest| {
                    rest.starts_with(|c: char| c == '.' || c.is_ascii_lowercase())
                        && rest.contains(".so")
                }) || (n.starts_with("libpython3.so") && ver.starts_with("3."));
                if !ours {
                    continue;
                }
                let entry = join(&canon, &n);
                if let Ok(Some(r)) = self.root.resolve(Path::new(&entry))
                    && r.kind == Kind::Regular
                    && let Some(real) = utf8(&r.path)
                    && self
                        .root
                        .open(&r)
                        .is_ok_and(|f| elf::has_elf_magic(&f).unwrap_or(false))
                {
                    libpython.insert(entry);
                    libpython.insert(real);
                }
            }
            // A symlinked lib dir matters only when something is taken from it.
            if libpython.len() > before {
                self.dir_linked(&d, links);
            }
        }
        libpython.into_iter().collect()
    }

    /// Existing site directories of an installation whose prefix is
    /// `prefix`, for the venvs that run it and the users of `homes`, with
    /// those their `.pth` files add (sorted by path).
    fn site_dirs(
        &mut self,
        prefix: &str,
        pyver: &str,
        venvs: &[&Venv],
        homes: &BTreeMap<String, String>,
        links: &mut BTreeSet<String>,
    ) -> Vec<SiteDir> {
        // Site directories, as site.getsitepackages() and Debian's changes
        // to it name them.
        let mut sites: BTreeMap<String, SiteKind> = BTreeMap::new();
        let mut add = |d: &Self, path: String, kind: SiteKind, links: &mut BTreeSet<String>| {
            if let Some(c) = d.dir_linked(&path, links) {
                sites.entry(c).or_insert(kind);
            }
        };
        for v in venvs {
            let kind = SiteKind::Venv {
                root: v.root.clone(),
            };
            if let Some(sp) = &v.site_packages {
                add(self, sp.clone(), kind.clone(), links);
            }
            // Debian's site.py gives a venv the dist-packages a prefix has.
            for rel in [
                format!("local/lib/{pyver}/dist-packages"),
                "lib/python3/dist-packages".to_string(),
                format!("lib/{pyver}/dist-packages"),
            ] {
                add(self, join(&v.root, &rel), kind.clone(), links);
            }
        }
        if prefix == "/usr" {
            add(
                self,
                format!("/usr/local/lib/{pyver}/dist-packages"),
                SiteKind::Local,
                links,
            );
        }
        for rel in [
            "lib/python3/dist-packages".to_string(),
            format!("lib/{pyver}/dist-packages"),
            format!("lib/{pyver}/site-packages"),
            format!("lib64/{pyver}/dist-packages"),
            format!("lib64/{pyver}/site-packages"),
        ] {
            add(self, join(prefix, &rel), SiteKind::System, links);
        }
        for (home, user) in homes {
            add(
                self,
                join(home, &format!(".local/lib/{pyver}/site-packages")),
                SiteKind::User { user: user.clone() },
                links,
            );
        }

        // .pth files of each site directory (not of the directories they
        // add: site.py does not recurse).
        let site_paths: Vec<String> = sites.keys().cloned().collect();
        for site in site_paths {
            for n in self.list_dir(&site) {
                if !n.ends_with(".pth") {
                    continue;
                }
                let pth = join(&site, &n);
                let Some(bytes) = self.read_head(&pth) else {
                    continue;
                };
                for dir in pth_dirs(&site, &bytes) {
                    if let Some(c) = self.dir_linked(&dir, links) {
                        sites
                            .entry(c)
                            .or_insert_with(|| SiteKind::Pth { from: pth.clone() });
                    }
                }
            }
        }
        sites
            .into_iter()
            .map(|(path, kind)| SiteDir { path, kind })
            .collect()
    }
}

/// The directories a `.pth` file names, as site.addpackage() reads it
/// (existence is checked by the caller). Paths are made absolute against
/// the site directory and normalised lexically, like `os.path.abspath`.
pub(super) fn pth_dirs(site: &str, bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with("import ") || line.starts_with("import\t") {
            continue;
        }
        let line = line.trim_end();
        // os.path.exists() is False for a path with a NUL.
        if line.contains('\0') {
            continue;
        }
        out.push(abspath(site, line));
    }
    out
}

/// `os.path.abspath(os.path.join(base, rel))`: `..` removed lexically.
fn abspath(base: &str, rel: &str) -> String {
    let joined = Path::new(base).join(rel);
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pth_lines_become_absolute_paths() {
        assert_eq!(abspath("/a/b", "../c"), "/a/c");
        assert_eq!(abspath("/a/b", "/x/./y/../z"), "/x/z");
        assert_eq!(abspath("/a", "../../../.."), "/");
        assert_eq!(
            pth_dirs(
                "/s",
                b"\xef\xbb\xbfrel\n#c\nimport x\nimportant\n  \n sp \t\r\n"
            ),
            ["/s/rel", "/s/important", "/s/ sp"]
        );
    }
}
