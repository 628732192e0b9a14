//! Who owns a file in a root: a Debian package or a wheel.
//!
//! Read once, at [`Owners::load`]:
//! - dpkg's database: `/var/lib/dpkg/info/NAME[:ARCH].list` (every path
//!   the package installed, symlinks under their own names), versions from
//!   `/var/lib/dpkg/status`;
//! - distroless' registration: `/var/lib/dpkg/status.d/NAME` (the
//!   package's control stanza: `Package:`, `Version:`) and `NAME.md5sums`
//!   (paths relative to `/`, regular files only — so the symlinks next to a
//!   listed shared object that resolve to it are added, for soname links);
//! - wheels: `*.dist-info/RECORD` in each site directory given (paths
//!   relative to the site directory), name and version from the
//!   dist-info's `METADATA` or its directory name `Name-Version.dist-info`.
//!
//! Listed paths are kept as listed and, in a usr-merged root, also through
//! the root's top-level directory symlinks (`/lib -> usr/lib`, …), so that
//! the canonical path of a file (`/usr/lib/x86_64-linux-gnu/libz.so.1.2.13`)
//! finds the package that lists `/lib/x86_64-linux-gnu/libz.so.1.2.13`.
//!
//! Every file is read through the [`Root`] (confined to it, no FIFO ever
//! opened) and only when at most 64 MiB; unreadable parts are skipped.

// The files are the root's, so hostile: nothing here may panic or overflow
// on them, and the compiler checks it.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::rootfs::Tree;
use crate::rootfs::{Kind, Root};

/// Files larger than this are not read.
const MAX_READ: u64 = 64 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Owner {
    Deb {
        package: String,
        version: Option<String>,
    },
    Wheel {
        name: String,
        version: String,
    },
}

/// Path → owner for one root.
#[derive(Debug, Default)]
pub struct Owners {
    owners: Vec<Owner>,
    paths: HashMap<String, usize>,
    /// Top-level directory symlinks: ("/lib", "/usr/lib").
    aliases: Vec<(String, String)>,
    /// When set, only paths with one of these file names are recorded.
    names: Option<HashSet<String>>,
}

impl Owners {
    /// Read the root's dpkg database (or distroless' `status.d`) and the
    /// wheels' `RECORD`s of `site_dirs` (paths inside the root).
    pub fn load(root: &Root, site_dirs: &[String]) -> Owners {
        let mut o = Owners {
            aliases: top_level_aliases(root),
            ..Owners::default()
        };
        o.load_dpkg_lists(root);
        o.load_status_d(root);
        for dir in site_dirs {
            o.load_wheels(root, dir);
        }
        o
    }

    /// The owners of `paths` alone, from the root's dpkg database (or
    /// distroless' `status.d`): only lines naming a file of the same name
    /// are kept, which a database of tens of thousands of paths makes much
    /// cheaper than [`Owners::load`], with the same answers for `paths`
    /// (normalising leaves a path's last component as it is, but for `.`
    /// and `..`, which name no file).
    pub fn load_for(root: &Root, paths: &[&str]) -> Owners {
        let names = paths
            .iter()
            .filter_map(|p| Path::new(p).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        let mut o = Owners {
            aliases: top_level_aliases(root),
            names: Some(names),
            ..Owners::default()
        };
        o.load_dpkg_lists(root);
        o.load_status_d(root);
        o
    }

    /// The owner of `path` (a canonical path inside the root; a path
    /// through a top-level symlink works too).
    pub fn owner(&self, path: &str) -> Option<Owner> {
        let p = normalize(path);
        self.paths
            .get(&p)
            .or_else(|| self.alias_of(&p).and_then(|a| self.paths.get(&a)))
            .and_then(|&i| self.owners.get(i))
            .cloned()
    }

    /// How many paths have an owner.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    fn alias_of(&self, p: &str) -> Option<String> {
        self.aliases.iter().find_map(|(from, to)| {
            let rest = p.strip_prefix(from.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then(|| format!("{to}{rest}"))
        })
    }

    fn add_owner(&mut self, owner: Owner) -> usize {
        let index = self.owners.len();
        self.owners.push(owner);
        index
    }

    /// Record `path` (as listed) for `owner`; the first owner of a path
    /// keeps it.
    fn insert(&mut self, path: &str, owner: usize) {
        if let Some(names) = &self.names {
            let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            if !names.contains(last) && last != "." && last != ".." {
                return;
            }
        }
        let p = normalize(path);
        if p == "/" {
            return;
        }
        if let Some(a) = self.alias_of(&p) {
            self.paths.entry(a).or_insert(owner);
        }
        self.paths.entry(p).or_insert(owner);
    }

    fn load_dpkg_lists(&mut self, root: &Root) {
        let versions = read(root, "/var/lib/dpkg/status")
            .map(|t| status_versions(&t))
            .unwrap_or_default();
        // With names to look for, only the lines holding one of them are
        // read as text (one search for all of them per list); the lists
        // are read in parallel and kept in their order, so the first
        // package listing a path still owns it.
        let wanted = self.names.as_ref().and_then(|names| {
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(names.iter().filter(|n| !n.is_empty()))
                .ok()
        });
        let lists: Vec<(String, Vec<String>)> = list_dir(root, "/var/lib/dpkg/info")
            .into_par_iter()
            .filter_map(|name| {
                let stem = name.strip_suffix(".list")?;
                let bytes = read_bytes(root, &format!("/var/lib/dpkg/info/{name}"))?;
                let lines = match &wanted {
                    Some(ac) => lines_matching(&bytes, ac),
                    None => String::from_utf8_lossy(&bytes)
                        .lines()
                        .map(str::to_string)
                        .collect(),
                };
                Some((stem.to_string(), lines))
            })
            .collect();
        for (stem, lines) in lists {
            let (package, arch) = match stem.split_once(':') {
                Some((p, a)) => (p, Some(a)),
                None => (stem.as_str(), None),
            };
            if package.is_empty() {
                continue;
            }
            let version = arch
                .and_then(|a| versions.get(&(package.to_string(), Some(a.to_string()))))
                .or_else(|| versions.get(&(package.to_string(), None)))
                .cloned();
            let owner = self.add_owner(Owner::Deb {
                package: package.to_string(),
                version,
            });
            for line in &lines {
                let line = line.trim_end();
                if line.starts_with('/') {
                    self.insert(line, owner);
                }
            }
        }
    }

    fn load_status_d(&mut self, root: &Root) {
        const DIR: &str = "/var/lib/dpkg/status.d";
        let names = list_dir(root, DIR);
        for name in &names {
            if name.contains('.') && (name.ends_with(".md5sums") || name.ends_with(".list")) {
                continue;
            }
            let Some(stanza) = read(root, &format!("{DIR}/{name}")) else {
                continue;
            };
            let fields = first_stanza(&stanza);
            let package = fields
                .get("Package")
                .cloned()
                .unwrap_or_else(|| name.split(':').next().unwrap_or(name).to_string());
            let owner = self.add_owner(Owner::Deb {
                package,
                version: fields.get("Version").cloned(),
            });
            let Some(sums) = read(root, &format!("{DIR}/{name}.md5sums")) else {
                continue;
            };
            let mut lib_dirs = BTreeSet::new();
            for line in sums.lines() {
                // "<md5>  <path relative to />"
                let Some((_, rel)) = line.split_once("  ") else {
                    continue;
                };
                let rel = rel.trim_end();
                if rel.is_empty() {
                    continue;
                }
                let path = normalize(&format!("/{rel}"));
                if let Some((dir, file)) = path.rsplit_once('/')
                    && (file.ends_with(".so") || file.contains(".so."))
                {
                    lib_dirs.insert(if dir.is_empty() {
                        "/".to_string()
                    } else {
                        dir.to_string()
                    });
                }
                self.insert(&path, owner);
            }
            self.add_links_to(root, &lib_dirs, owner);
        }
    }

    /// md5sums list regular files only: add the symlinks in `dirs` that
    /// resolve to a file of `owner` (`libstdc++.so.6 -> libstdc++.so.6.0.30`).
    fn add_links_to(&mut self, root: &Root, dirs: &BTreeSet<String>, owner: usize) {
        for dir in dirs {
            let Ok(Some(d)) = root.resolve(Path::new(dir)) else {
                continue;
            };
            if d.kind != Kind::Directory {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(root.host_path(&d.path)) else {
                continue;
            };
            let mut links: Vec<String> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect();
            links.sort();
            for name in links {
                let link = d.path.join(&name);
                let Ok(Some(target)) = root.resolve(&link) else {
                    continue;
                };
                let target = target.path.to_string_lossy().into_owned();
                if self.paths.get(&target) == Some(&owner) {
                    self.insert(&link.to_string_lossy(), owner);
                }
            }
        }
    }

    fn load_wheels(&mut self, root: &Root, site_dir: &str) {
        let Ok(Some(site)) = root.resolve(Path::new(site_dir)) else {
            return;
        };
        if site.kind != Kind::Directory {
            return;
        }
        let site_path = site.path.to_string_lossy().into_owned();
        for name in list_dir(root, &site_path) {
            let Some(stem) = name.strip_suffix(".dist-info") else {
                continue;
            };
            let dist = format!("{}/{name}", site_path.trim_end_matches('/'));
            let Some(record) = read(root, &format!("{dist}/RECORD")) else {
                continue;
            };
            let (mut wheel_name, mut version) = match stem.split_once('-') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => (stem.to_string(), String::new()),
            };
            if let Some(meta) = read(root, &format!("{dist}/METADATA")) {
                let fields = first_stanza(&meta);
                if let Some(n) = fields.get("Name") {
                    wheel_name = n.clone();
                }
                if let Some(v) = fields.get("Version") {
                    version = v.clone();
                }
            }
            if wheel_name.is_empty() {
                continue;
            }
            let owner = self.add_owner(Owner::Wheel {
                name: wheel_name,
                version,
            });
            for line in record.lines() {
                let Some(rel) = csv_first_field(line) else {
                    continue;
                };
                let path = if rel.starts_with('/') {
                    rel
                } else {
                    format!("{site_path}/{rel}")
                };
                self.insert(&path, owner);
            }
        }
    }
}

/// What the wheels of `site_dir` installed outside it — console scripts in
/// `PREFIX/bin`, data files under `PREFIX/share` — as their `RECORD`s list
/// them (normalised, sorted), keeping only paths below `prefix`: a `RECORD`
/// is the root's text, and a line naming `../../../../etc/passwd` must not
/// put the builder's `/etc` into an image.
pub fn installed_outside(root: &Root, site_dir: &str, prefix: &str) -> Vec<String> {
    let Ok(Some(site)) = root.resolve(Path::new(site_dir)) else {
        return Vec::new();
    };
    if site.kind != Kind::Directory {
        return Vec::new();
    }
    let site_path = site.path.to_string_lossy().into_owned();
    let mut out = BTreeSet::new();
    for name in list_dir(root, &site_path) {
        if !name.ends_with(".dist-info") {
            continue;
        }
        let dist = format!("{}/{name}", site_path.trim_end_matches('/'));
        let Some(record) = read_bytes(root, &format!("{dist}/RECORD")) else {
            continue;
        };
        for line in record.split(|&b| b == b'\n') {
            // A relative path without `..` stays in the site directory:
            // most lines, told apart on the bytes, before any allocation.
            let field = line.split(|&b| b == b',').next().unwrap_or(line);
            let outside = field.starts_with(b"/")
                || field.starts_with(b"\"")
                || memchr::memmem::find(field, b"..").is_some()
                    && field.split(|&b| b == b'/').any(|c| c == b"..");
            if !outside {
                continue;
            }
            let Some(rel) = csv_first_field(&String::from_utf8_lossy(line)) else {
                continue;
            };
            let path = normalize(&if rel.starts_with('/') {
                rel
            } else {
                format!("{site_path}/{rel}")
            });
            if !Path::new(&path).starts_with(&site_path) && Path::new(&path).starts_with(prefix) {
                out.insert(path);
            }
        }
    }
    out.into_iter().collect()
}

/// The root's top-level symlinks to directories inside it, e.g. ("/lib",
/// "/usr/lib") in a usr-merged root.
fn top_level_aliases(root: &Root) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(root.host_dir()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|name| {
            let from = format!("/{name}");
            let r = root.resolve(Path::new(&from)).ok()??;
            let to = r.path.to_string_lossy().into_owned();
            (r.kind == Kind::Directory && to != from && to != "/").then_some((from, to))
        })
        .collect();
    out.sort();
    out
}

/// The lines of `text` holding a match of `ac`, each once, as text. (A
/// line whose last component is one of the names holds a match: names have
/// no `/`, so no match of another name overlaps that component, and the
/// longest match starting where it starts is the whole component.)
fn lines_matching(text: &[u8], ac: &aho_corasick::AhoCorasick) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = 0;
    for m in ac.find_iter(text) {
        if m.start() < next {
            continue;
        }
        let (before, after) = text.split_at(m.start());
        let start = memchr::memrchr(b'\n', before).map_or(0, |i| i.saturating_add(1));
        let end = memchr::memchr(b'\n', after).map_or(text.len(), |i| m.start().saturating_add(i));
        let line = text.get(start..end).unwrap_or_default();
        out.push(String::from_utf8_lossy(line).into_owned());
        next = end;
    }
    out
}

/// Names in a directory of the root, sorted; nothing when it is not one.
pub(crate) fn list_dir(root: &Root, dir: &str) -> Vec<String> {
    let Ok(Some(d)) = root.resolve(Path::new(dir)) else {
        return Vec::new();
    };
    if d.kind != Kind::Directory {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(root.host_path(&d.path)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// A regular file of the root as text (lossily), when at most [`MAX_READ`].
pub(crate) fn read(root: &Root, path: &str) -> Option<String> {
    read_bytes(root, path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// A regular file of the root, when at most [`MAX_READ`] bytes.
pub(crate) fn read_bytes(root: &Root, path: &str) -> Option<Vec<u8>> {
    let r = root.resolve(Path::new(path)).ok()??;
    if r.kind != Kind::Regular {
        return None;
    }
    root.read(&r, MAX_READ).ok()?
}

/// `/a/./b//c/../d` → `/a/b/d`, always absolute, never above `/`.
fn normalize(path: &str) -> String {
    // Nearly every path of a `.list` or `RECORD` is normal already.
    let plain = |c: &str| !c.is_empty() && c != "." && c != "..";
    if let Some(rest) = path.strip_prefix('/')
        && rest.split('/').all(plain)
    {
        return path.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = PathBuf::from("/");
    for p in parts {
        out.push(p);
    }
    out.to_string_lossy().into_owned()
}

/// The fields of the first RFC 822 stanza (continuation lines skipped).
fn first_stanza(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if out.is_empty() {
                continue;
            }
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.entry(k.trim().to_string())
                .or_insert_with(|| v.trim().to_string());
        }
    }
    out
}

/// `(package, architecture)` → version of every installed stanza of
/// `/var/lib/dpkg/status`; also `(package, None)` for the first one seen.
fn status_versions(text: &str) -> HashMap<(String, Option<String>), String> {
    let mut out = HashMap::new();
    let mut fields: HashMap<&str, &str> = HashMap::new();
    let mut flush = |fields: &mut HashMap<&str, &str>| {
        let installed = fields
            .get("Status")
            .is_none_or(|s| s.ends_with(" installed"));
        if installed && let (Some(p), Some(v)) = (fields.get("Package"), fields.get("Version")) {
            let arch = fields.get("Architecture").map(|a| a.to_string());
            out.entry((p.to_string(), arch))
                .or_insert_with(|| v.to_string());
            out.entry((p.to_string(), None))
                .or_insert_with(|| v.to_string());
        }
        fields.clear();
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut fields);
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            fields.entry(k.trim()).or_insert(v.trim());
        }
    }
    flush(&mut fields);
    out
}

/// The first field of a CSV line (RECORD): quoted with `""` escapes, or
/// up to the first comma.
fn csv_first_field(line: &str) -> Option<String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if let Some(rest) = line.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    out.push('"');
                } else {
                    return (!out.is_empty()).then_some(out);
                }
            } else {
                out.push(c);
            }
        }
        return None;
    }
    let f = line.split(',').next().unwrap_or("");
    (!f.is_empty()).then(|| f.to_string())
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn write(root: &Path, inside: &str, text: &str) {
        let p = root.join(inside.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn link(root: &Path, target: &str, inside: &str) {
        let p = root.join(inside.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
    }

    fn deb(package: &str, version: Option<&str>) -> Option<Owner> {
        Some(Owner::Deb {
            package: package.into(),
            version: version.map(str::to_string),
        })
    }

    /// A usr-merged Debian root with a dpkg database and one wheel.
    fn debian_root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("usr/lib/x86_64-linux-gnu")).unwrap();
        fs::create_dir_all(r.join("usr/bin")).unwrap();
        symlink("usr/lib", r.join("lib")).unwrap();
        symlink("usr/bin", r.join("bin")).unwrap();
        write(r, "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13", "z");
        link(r, "libz.so.1.2.13", "/usr/lib/x86_64-linux-gnu/libz.so.1");
        write(r, "/usr/bin/python3.11", "py");
        write(
            r,
            "/var/lib/dpkg/info/zlib1g:amd64.list",
            "/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libz.so.1.2.13\n/usr/share/doc/zlib1g/copyright\n/lib/x86_64-linux-gnu/libz.so.1\n",
        );
        write(
            r,
            "/var/lib/dpkg/info/python3.11-minimal.list",
            "/.\n/usr/bin/python3.11\n",
        );
        write(r, "/var/lib/dpkg/info/zlib1g:amd64.md5sums", "x  y\n");
        write(
            r,
            "/var/lib/dpkg/status",
            "Package: python3.11-minimal\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.11.2-6+deb12u8\nDescription: x\n long\n\nPackage: zlib1g\nStatus: deinstall ok config-files\nArchitecture: i386\nVersion: 1:1.2.11\n\nPackage: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 1:1.2.13.dfsg-1\n",
        );
        let site = "/usr/local/lib/python3.11/dist-packages";
        write(
            r,
            &format!("{site}/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"),
            "so",
        );
        write(
            r,
            &format!("{site}/numpy-1.26.4.dist-info/RECORD"),
            "../../bin/f2py,sha256=x,240\nnumpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so,sha256=y,1\n\"numpy/odd,name.py\",sha256=z,2\nnumpy.libs/libgfortran-040039e1.so.5.0.0,,\nnumpy-1.26.4.dist-info/RECORD,,\n",
        );
        write(
            r,
            &format!("{site}/numpy-1.26.4.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n\nVersion: 0\n",
        );
        write(
            r,
            &format!("{site}/python_dateutil-2.9.0.post0.dist-info/RECORD"),
            "dateutil/__init__.py,,\n",
        );
        dir
    }

    #[test]
    fn dpkg_lists_through_usr_merge_aliases() {
        let dir = debian_root();
        let root = Root::new(dir.path()).unwrap();
        let o = Owners::load(&root, &["/usr/local/lib/python3.11/dist-packages".into()]);
        let zlib = deb("zlib1g", Some("1:1.2.13.dfsg-1"));
        // The canonical real file and the soname link, both listed under /lib.
        assert_eq!(o.owner("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"), zlib);
        assert_eq!(o.owner("/usr/lib/x86_64-linux-gnu/libz.so.1"), zlib);
        // As listed, and not normalised.
        assert_eq!(o.owner("/lib/x86_64-linux-gnu/libz.so.1"), zlib);
        assert_eq!(o.owner("//usr/lib/./x86_64-linux-gnu/libz.so.1.2.13"), zlib);
        assert_eq!(
            o.owner("/usr/bin/python3.11"),
            deb("python3.11-minimal", Some("3.11.2-6+deb12u8"))
        );
        assert_eq!(o.owner("/bin/python3.11"), o.owner("/usr/bin/python3.11"));
        assert_eq!(o.owner("/usr/lib/x86_64-linux-gnu/libnothing.so"), None);
        assert_eq!(o.owner("/"), None);
    }

    /// Loaded for a few paths, the owners are those of a full load for
    /// exactly those paths (as listed, normalised, through `/lib`), and
    /// unknown for the rest.
    #[test]
    fn owners_of_some_paths() {
        let dir = debian_root();
        let root = Root::new(dir.path()).unwrap();
        let all = Owners::load(&root, &[]);
        let asked = [
            "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
            "//usr/lib/./x86_64-linux-gnu/libz.so.1.2.13",
            "/usr/bin/python3.11",
            "/usr/lib/x86_64-linux-gnu/libnothing.so",
        ];
        let some = Owners::load_for(&root, &asked);
        for p in asked {
            assert_eq!(some.owner(p), all.owner(p), "{p}");
        }
        assert!(some.owner(asked[0]).is_some());
        assert!(all.owner("/bin/python3.11").is_some());
        assert_eq!(some.owner("/bin/python3.11"), all.owner("/bin/python3.11"));
        assert!(some.len() < all.len(), "{} of {}", some.len(), all.len());
        // The soname link, a name not asked for.
        let unasked = "/lib/x86_64-linux-gnu/libz.so.1";
        assert!(all.owner(unasked).is_some());
        assert_eq!(some.owner(unasked), None);
        // One name the start of another, and a name inside another's
        // (the lists are searched for all names at once).
        let both = [asked[0], unasked, "/usr/lib/x86_64-linux-gnu/z.so.1"];
        let some = Owners::load_for(&root, &both);
        for p in both {
            assert_eq!(some.owner(p), all.owner(p), "{p}");
        }
        assert!(some.owner(unasked).is_some());
    }

    #[test]
    fn wheels_from_record() {
        let dir = debian_root();
        let root = Root::new(dir.path()).unwrap();
        // The site dir through a symlink: RECORD paths become canonical.
        link(
            dir.path(),
            "/usr/local/lib/python3.11/dist-packages",
            "/site",
        );
        let o = Owners::load(&root, &["/site".into(), "/no/such/dir".into()]);
        let numpy = Some(Owner::Wheel {
            name: "numpy".into(),
            version: "1.26.4".into(),
        });
        let site = "/usr/local/lib/python3.11/dist-packages";
        assert_eq!(
            o.owner(&format!(
                "{site}/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"
            )),
            numpy
        );
        assert_eq!(o.owner(&format!("{site}/numpy/odd,name.py")), numpy);
        assert_eq!(
            o.owner(&format!("{site}/numpy.libs/libgfortran-040039e1.so.5.0.0")),
            numpy
        );
        assert_eq!(o.owner("/usr/local/lib/bin/f2py"), numpy);
        // Without METADATA: the directory name.
        assert_eq!(
            o.owner(&format!("{site}/dateutil/__init__.py")),
            Some(Owner::Wheel {
                name: "python_dateutil".into(),
                version: "2.9.0.post0".into()
            })
        );
    }

    #[test]
    fn distroless_status_d_and_soname_links() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(r, "/lib/x86_64-linux-gnu/libc.so.6", "c");
        write(r, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "ld");
        link(
            r,
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "/lib64/ld-linux-x86-64.so.2",
        );
        write(r, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", "s");
        link(
            r,
            "libstdc++.so.6.0.30",
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        );
        link(r, "libc.so.6", "/usr/lib/x86_64-linux-gnu/libc-link.so");
        write(
            r,
            "/var/lib/dpkg/status.d/libc6",
            "Package: libc6\nVersion: 2.36-9+deb12u14\nArchitecture: amd64\n",
        );
        write(
            r,
            "/var/lib/dpkg/status.d/libc6.md5sums",
            "33f1cb6525f26614bd3a334d63632484  lib/x86_64-linux-gnu/libc.so.6\n108877c29ef6a482337ddc42ea8b0985  lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n",
        );
        write(
            r,
            "/var/lib/dpkg/status.d/libstdc++6",
            "Package: libstdc++6\nVersion: 12.2.0-14\n",
        );
        write(
            r,
            "/var/lib/dpkg/status.d/libstdc++6.md5sums",
            "00  usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30\n",
        );
        // A registration without md5sums, and one without a Package field.
        write(
            r,
            "/var/lib/dpkg/status.d/tzdata",
            "Package: tzdata\nVersion: 2025b\n",
        );
        write(r, "/var/lib/dpkg/status.d/netbase", "Version: 6.4\n");
        write(
            r,
            "/var/lib/dpkg/status.d/netbase.md5sums",
            "00  etc/protocols\n",
        );
        let root = Root::new(r).unwrap();
        let o = Owners::load(&root, &[]);
        let libc = deb("libc6", Some("2.36-9+deb12u14"));
        assert_eq!(o.owner("/lib/x86_64-linux-gnu/libc.so.6"), libc);
        assert_eq!(o.owner("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), libc);
        let stdcxx = deb("libstdc++6", Some("12.2.0-14"));
        assert_eq!(
            o.owner("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"),
            stdcxx
        );
        assert_eq!(o.owner("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"), stdcxx);
        // A link elsewhere to another package's file is not added.
        assert_eq!(o.owner("/usr/lib/x86_64-linux-gnu/libc-link.so"), None);
        assert_eq!(o.owner("/etc/protocols"), deb("netbase", Some("6.4")));
    }

    #[test]
    fn never_leaves_the_root_and_skips_what_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        // A .list that is a symlink to the host's /etc/passwd: resolved
        // inside the root, where it does not exist.
        link(r, "/etc/passwd", "/var/lib/dpkg/info/evil.list");
        link(
            r,
            "../../../../../../../../etc",
            "/var/lib/dpkg/info/up.list",
        );
        // A dpkg dir symlinked to / : resolves to the root's own /.
        link(r, "/", "/var/lib/dpkg/status.d");
        // A huge (sparse) list is skipped, not read.
        let big = fs::File::create(r.join("var/lib/dpkg/info/big.list")).unwrap();
        big.set_len(MAX_READ + 1).unwrap();
        // A FIFO named like a list is never opened.
        let fifo = std::ffi::CString::new(
            r.join("var/lib/dpkg/info/fifo.list")
                .to_str()
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        write(
            r,
            "/var/lib/dpkg/info/ok.list",
            "/../../../etc/shadow\n/usr/bin/ok\n",
        );
        write(
            r,
            "/site/x-1.dist-info/RECORD",
            "../../../../../../root/.ssh/id_rsa,,\n",
        );
        let root = Root::new(r).unwrap();
        let o = Owners::load(&root, &["/site".into()]);
        // Paths are names inside the root, whatever they say.
        assert_eq!(o.owner("/etc/shadow"), deb("ok", None));
        assert_eq!(o.owner("/usr/bin/ok"), deb("ok", None));
        assert_eq!(
            o.owner("/root/.ssh/id_rsa"),
            Some(Owner::Wheel {
                name: "x".into(),
                version: "1".into()
            })
        );
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn helpers() {
        assert_eq!(normalize("/a/./b//c/../d/"), "/a/b/d");
        assert_eq!(normalize("../../x"), "/x");
        assert_eq!(normalize(""), "/");
        assert_eq!(csv_first_field("\"a\"\"b,c\",x"), Some("a\"b,c".into()));
        assert_eq!(csv_first_field("\"unterminated"), None);
        assert_eq!(csv_first_field(",,"), None);
        let v = status_versions(
            "Package: a\nVersion: 1\n\nPackage: b\nStatus: purge ok not-installed\nVersion: 2\n",
        );
        assert_eq!(v.get(&("a".into(), None)).map(String::as_str), Some("1"));
        assert_eq!(v.get(&("b".into(), None)), None);
    }

    fn real_owners(root_dir: &Path, sites: &[&str]) -> Owners {
        let root = Root::new(root_dir).unwrap();
        let sites: Vec<String> = sites.iter().map(|s| s.to_string()).collect();
        Owners::load(&root, &sites)
    }

    #[test]
    #[ignore = "needs the Debian root; run scripts/test.sh"]
    fn real_builder_root() {
        let dir = PathBuf::from(std::env::var("LDSLIM_E2E_ROOT").expect("LDSLIM_E2E_ROOT"));
        let o = real_owners(
            &dir,
            &[
                "/usr/local/lib/python3.11/dist-packages",
                "/usr/lib/python3/dist-packages",
            ],
        );
        let root = Root::new(&dir).unwrap();
        let canonical = |p: &str| {
            root.resolve(Path::new(p))
                .unwrap()
                .unwrap()
                .path
                .to_string_lossy()
                .into_owned()
        };
        let z = canonical("/lib/x86_64-linux-gnu/libz.so.1");
        assert_eq!(z, "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
        match o.owner(&z) {
            Some(Owner::Deb {
                package,
                version: Some(v),
            }) => {
                assert_eq!(package, "zlib1g");
                assert!(v.contains("1.2.13"), "{v}");
            }
            other => panic!("{z}: {other:?}"),
        }
        assert!(matches!(
            o.owner("/usr/lib/x86_64-linux-gnu/libz.so.1"),
            Some(Owner::Deb { ref package, .. }) if package == "zlib1g"
        ));
        assert!(matches!(
            o.owner("/usr/lib/x86_64-linux-gnu/libbz2.so.1.0"),
            Some(Owner::Deb { ref package, version: Some(_) }) if package == "libbz2-1.0"
        ));
        assert!(matches!(
            o.owner(&canonical("/usr/bin/python3")),
            Some(Owner::Deb { ref package, .. }) if package == "python3.11-minimal"
        ));
        let numpy = Some(Owner::Wheel {
            name: "numpy".into(),
            version: "1.26.4".into(),
        });
        let site = "/usr/local/lib/python3.11/dist-packages";
        assert_eq!(
            o.owner(&format!(
                "{site}/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"
            )),
            numpy
        );
        assert_eq!(
            o.owner(&format!("{site}/numpy.libs/libgfortran-040039e1.so.5.0.0")),
            numpy
        );
        assert!(matches!(
            o.owner(&format!("{site}/PIL/_imaging.cpython-311-x86_64-linux-gnu.so")),
            Some(Owner::Wheel { ref name, .. }) if name == "pillow" || name == "Pillow"
        ));
        eprintln!("builder: {} paths with an owner", o.len());
    }

    #[test]
    #[ignore = "needs the network or the cache of scripts/distroless-root.sh; run scripts/test.sh"]
    fn real_distroless_base() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/distroless-root.sh");
        let out = std::process::Command::new("bash")
            .arg(script)
            .args(["bookworm", "amd64", "cc"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let dir = PathBuf::from(text.lines().last().unwrap().trim());
        let o = real_owners(&dir, &[]);
        let packages = fs::read_to_string(dir.parent().unwrap().join("packages.txt")).unwrap();
        let version = |p: &str| {
            packages
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{p} ")).map(str::to_string))
        };
        assert_eq!(
            o.owner("/lib/x86_64-linux-gnu/libc.so.6"),
            deb("libc6", version("libc6").as_deref())
        );
        assert_eq!(
            o.owner("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"),
            deb("libstdc++6", version("libstdc++6").as_deref())
        );
        assert_eq!(
            o.owner("/usr/lib/x86_64-linux-gnu/libssl.so.3"),
            deb("libssl3", version("libssl3").as_deref())
        );
        eprintln!("distroless cc: {} paths with an owner", o.len());
    }
}
