//! Data files of copied libraries, without a trace: a library copied
//! from a Debian package often needs files that package, or a package of
//! data it depends on, installed (libmagic1's `/etc/magic` and, through
//! libmagic-mgc, `magic.mgc`; libx11-6's locale tables in libx11-data;
//! libasound2's configuration in libasound2-data; fontconfig's
//! configuration and a font). The rule, conservative and said in the
//! report (docs/trace.md):
//!
//! - the package that installed each copied library, and each package
//!   it depends on that is *data only*, and theirs in turn (at most
//!   [`MAX_DEPTH`] steps; the first installed alternative of each
//!   dependency, as dpkg chose it);
//! - a package is data only when none of its files is an ELF object or
//!   sits in a directory of programs or of Perl or Python modules
//!   (`debconf`, `ucf`, `adduser`, `libc6` are not);
//! - of those packages that the target does not carry itself (its
//!   `/var/lib/dpkg/status.d/NAME`, as distroless records them), every
//!   file and symlink the target lacks, except
//!   ELF objects (libraries and plugins are the loader rules' business),
//!   programs and scripts (any execute bit) and what no library reads: documentation, manuals, translations,
//!   headers, static archives, pkg-config files, service units,
//!   completion scripts.
//!
//! `--no-package-data` turns it off.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::{CopyKind, MissingEdge, Planner};
use crate::debian::Dpkg;
use crate::rootfs::{Kind, Root};

/// Dependency steps followed from a library's package.
const MAX_DEPTH: usize = 3;

/// Files of one package copied as the data of copied libraries.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PackageData {
    /// The package whose files were copied.
    pub package: String,
    /// How it was reached: the library's own package first, then each
    /// data-only dependency (`["libmagic1", "libmagic-mgc"]`).
    pub via: Vec<String>,
    /// A copied library its chain starts from (path in the image).
    pub library: String,
    /// The paths copied (sorted).
    pub files: Vec<String>,
}

/// Directories whose files no library reads at run time.
const NOT_DATA: &[&str] = &[
    "/usr/share/doc",
    "/usr/share/doc-base",
    "/usr/share/man",
    "/usr/share/info",
    "/usr/share/lintian",
    "/usr/share/bug",
    "/usr/share/locale",
    "/usr/share/bash-completion",
    "/usr/share/zsh",
    "/usr/share/fish",
    "/usr/share/menu",
    "/usr/share/applications",
    "/usr/share/gtk-doc",
    "/usr/share/gir-1.0",
    "/usr/share/pkgconfig",
    "/usr/share/debconf",
    "/usr/include",
    "/usr/lib/debug",
    "/etc/init.d",
    "/etc/logrotate.d",
    "/etc/cron.d",
    "/etc/cron.daily",
    "/lib/systemd",
    "/usr/lib/systemd",
];

/// Directories whose files make a package more than data.
const PROGRAMS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/games",
    "/usr/libexec",
    "/usr/share/perl5",
    "/usr/lib/python3",
    "/usr/lib/python3.11",
    "/usr/share/perl",
];

fn under(path: &str, dirs: &[&str]) -> bool {
    dirs.iter()
        .any(|d| path.starts_with(d) && path[d.len()..].starts_with('/'))
}

/// Whether a listed path is data (before looking at its bytes).
fn data_path(path: &str) -> bool {
    !under(path, NOT_DATA)
        && !under(path, PROGRAMS)
        && !path.ends_with(".a")
        && !path.ends_with(".h")
        && !path.ends_with(".pc")
        && !path.contains("/pkgconfig/")
}

/// A listed path's kind in the root, and whether it is an ELF file or a
/// program (any execute bit: maintainer helpers, scripts).
fn look(root: &Root, path: &str) -> Option<(Kind, bool)> {
    let p = Path::new(path);
    let r = root.resolve(p).ok()??;
    let elf = r.kind == Kind::Regular
        && root.open(&r).is_ok_and(|f| {
            let mut magic = [0u8; 4];
            let executable = f.file.metadata().is_ok_and(|m| {
                std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            });
            executable
                || std::os::unix::fs::FileExt::read_exact_at(&f.file, &mut magic, 0).is_ok()
                    && magic == *b"\x7fELF"
        });
    Some((r.kind, elf))
}

impl Planner<'_> {
    /// Copy the data files of the copied libraries' packages.
    pub(super) fn add_package_data(&mut self) -> Vec<PackageData> {
        let Some(root) = self.input.builder.host_root() else {
            return Vec::new();
        };
        let builder = self.input.builder.objects();
        // The copied libraries, by the package that installed them.
        let libraries: Vec<(String, String)> = self
            .items
            .values()
            .filter(|i| matches!(i.kind, CopyKind::File { .. }))
            // ldconfig (for find_library) is a static program: no
            // PT_INTERP to tell it from a library.
            .filter(|i| i.needed_as != crate::runtime::resolve::LDCONFIG)
            .filter(|i| {
                builder
                    .resolve(Path::new(&i.src))
                    .ok()
                    .flatten()
                    // Libraries and plugins, not programs (a copied
                    // ldconfig brings no libc-bin configuration).
                    .is_some_and(
                        |f| matches!(builder.facts(&f).as_ref(), Ok(e) if e.interp.is_none()),
                    )
            })
            .map(|i| (i.src.clone(), i.dest.clone()))
            .collect();
        if libraries.is_empty() {
            return Vec::new();
        }
        let srcs: Vec<&str> = libraries.iter().map(|(src, _)| src.as_str()).collect();
        // Two independent readings of dpkg's database, one per core.
        let (owners, dpkg) = rayon::join(
            || crate::owners::Owners::load_for(root, &srcs),
            || Dpkg::load(root),
        );
        let mut by_package: BTreeMap<String, String> = BTreeMap::new();
        for (src, dest) in &libraries {
            if let Some(crate::owners::Owner::Deb { package, .. }) = owners.owner(src) {
                by_package.entry(package).or_insert_with(|| dest.clone());
            }
        }
        let mut data_only: BTreeMap<String, bool> = BTreeMap::new();
        let mut is_data_only = |name: &str| -> bool {
            *data_only.entry(name.to_string()).or_insert_with(|| {
                dpkg.files(root, name).par_iter().all(|f| {
                    !under(f, PROGRAMS)
                        && look(root, f).is_none_or(|(kind, elf)| kind != Kind::Regular || !elf)
                })
            })
        };
        // Each package once, reached from the first library (in package
        // order) whose chain gets there.
        let mut reached: BTreeMap<String, (Vec<String>, String)> = BTreeMap::new();
        for (package, library) in &by_package {
            let mut queue = VecDeque::from([(vec![package.clone()], 0)]);
            while let Some((via, depth)) = queue.pop_front() {
                let name = via.last().cloned().unwrap_or_default();
                if reached.contains_key(&name) {
                    continue;
                }
                reached.insert(name.clone(), (via.clone(), library.clone()));
                if depth >= MAX_DEPTH {
                    continue;
                }
                let Some(p) = dpkg.get(&name) else { continue };
                for alternatives in &p.depends {
                    if let Some(d) = dpkg.satisfying(alternatives)
                        && !reached.contains_key(&d.name)
                        && is_data_only(&d.name)
                    {
                        let mut v = via.clone();
                        v.push(d.name.clone());
                        queue.push_back((v, depth + 1));
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (package, (via, library)) in reached {
            // A package the target carries (distroless records each in
            // /var/lib/dpkg/status.d/) is the target's, data and all:
            // tzdata, for one.
            let status_d = format!("/var/lib/dpkg/status.d/{package}");
            if !matches!(self.input.target.lstat(Path::new(&status_d)), Ok(None)) {
                continue;
            }
            let reason = if via.len() == 1 {
                format!("data of Debian package {package}, which installed {library}")
            } else {
                format!(
                    "data of Debian package {package} ({}), for {library}",
                    via.join(crate::findings::CHAIN)
                )
            };
            let mut files = BTreeSet::new();
            // Each file's kind looked up on every core (a path walk of the
            // root, an open and a read each); what is copied is decided in
            // the list's order.
            let looked: Vec<(String, Option<(Kind, bool)>)> = dpkg
                .files(root, &package)
                .into_par_iter()
                .filter(|f| data_path(f))
                .map(|f| {
                    let kind = look(root, &f);
                    (f, kind)
                })
                .collect();
            for (f, looked) in looked {
                let Some((kind, elf)) = looked else {
                    continue;
                };
                // Directories come with their files, and a symlink to a
                // directory is the layout of the root (`/lib64 ->
                // usr/lib64`), not data; ELF objects are the loader rules'
                // business.
                if kind != Kind::Regular || elf {
                    continue;
                }
                // Copied only where the target certainly lacks it (an
                // embedded target that records a directory by its count
                // cannot say: left to the target).
                let dest = super::target_path(self.input.target.as_ref(), &f);
                if self.items.contains_key(&dest)
                    || !matches!(self.input.target.lstat(Path::new(&dest)), Ok(None))
                {
                    continue;
                }
                let m = MissingEdge {
                    entry: String::new(),
                    cpus: Vec::new(),
                    requester: String::new(),
                    needed: f.clone(),
                    name: f.clone(),
                    chain: vec![reason.clone()],
                    searched: vec![],
                };
                if self.include(&f, &m, 0).is_ok() {
                    // Under the name the copy item has: the directory
                    // canonical in the builder.
                    let p = Path::new(&f);
                    let at = p
                        .parent()
                        .and_then(|d| builder.resolve(d).ok().flatten())
                        .map(|d| d.path.join(p.file_name().unwrap_or_default()));
                    files.insert(at.map_or(f, |a| a.display().to_string()));
                }
            }
            if !files.is_empty() {
                out.push(PackageData {
                    package,
                    via,
                    library,
                    files: files.into_iter().collect(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_and_build_files_are_not_data() {
        assert!(data_path("/usr/lib/file/magic.mgc"));
        assert!(data_path("/etc/magic"));
        assert!(data_path("/usr/share/X11/locale/locale.dir"));
        assert!(!data_path("/usr/share/doc/libmagic1/copyright"));
        assert!(!data_path("/usr/share/locale/de/LC_MESSAGES/libc.mo"));
        assert!(!data_path("/usr/bin/file"));
        assert!(!data_path("/usr/include/magic.h"));
        assert!(!data_path(
            "/usr/lib/x86_64-linux-gnu/pkgconfig/libmagic.pc"
        ));
        assert!(!data_path("/usr/lib/x86_64-linux-gnu/libmagic.a"));
        assert!(data_path("/usr/share/docs-not-doc/x"));
    }
}
