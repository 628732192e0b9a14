//! The Debian packages of the copied files, registered as distroless
//! registers its own: image scanners (trivy, grype) find a distroless
//! image's packages in `/var/lib/dpkg/status.d/NAME` (the package's control
//! file) and `NAME.md5sums`, and see nothing of a file that no record
//! names. So each package that installed a copied file in the builder gets
//! its record in the image, made from the builder's dpkg database:
//!
//! - `NAME`: the package's stanza of `/var/lib/dpkg/status`, without the
//!   fields only dpkg's own database has (`Status`, `Conffiles`, …;
//!   [`crate::debian::Package::control`]) — what distroless writes from the
//!   `.deb`'s control file;
//! - `NAME.md5sums`: `/var/lib/dpkg/info/NAME[:ARCH].md5sums`, as it is.
//!
//! A package the base image already records (its `status.d/NAME` exists,
//! or cannot be told not to) is left alone: the base's record is the one
//! of its own files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::copyset::{CopyItem, CopyKind, CopyPlan, DpkgFile, Generated};
use crate::debian::Dpkg;
use crate::owners::{Owner, Owners};
use crate::rootfs::{Root, Tree};

/// Where distroless keeps its packages' records.
pub const STATUS_D: &str = "/var/lib/dpkg/status.d";

/// `plan` with the `status.d` records of its files' packages added
/// ([`status_d`]), sorted by `dest` again.
pub fn with_status_d(plan: &CopyPlan, builder: &Root, target: &dyn Tree) -> CopyPlan {
    let mut out = plan.clone();
    out.items.extend(status_d(&plan.items, builder, target));
    out.items.sort();
    out
}

/// Whether `item` is a `status.d` record ldslim writes.
pub fn is_status_d(item: &CopyItem) -> bool {
    matches!(
        &item.kind,
        CopyKind::Generated {
            content: Generated::DpkgStatusD { .. },
            ..
        }
    )
}

/// `plan` without its `status.d` records (for an emitter that can only say
/// builder files), and how many there were.
pub fn without_status_d(plan: &CopyPlan) -> (CopyPlan, usize) {
    let mut out = plan.clone();
    out.items.retain(|i| !is_status_d(i));
    let n = plan.items.len() - out.items.len();
    (out, n)
}

/// The `status.d` files for the Debian packages that installed `items`
/// (by their builder `src`, through the builder's usr-merge links), except
/// those `target` records itself and those whose place `items` already
/// take. Sorted by `dest`.
pub fn status_d(items: &[CopyItem], builder: &Root, target: &dyn Tree) -> Vec<CopyItem> {
    let owners = Owners::load(builder, &[]);
    let mut copied: BTreeMap<String, usize> = BTreeMap::new();
    for item in items {
        if matches!(item.kind, CopyKind::Generated { .. }) {
            continue;
        }
        if let Some(Owner::Deb { package, .. }) = owners.owner(&item.src) {
            *copied.entry(package).or_default() += 1;
        }
    }
    if copied.is_empty() {
        return Vec::new();
    }
    let dests: BTreeSet<&str> = items.iter().map(|i| i.dest.as_str()).collect();
    let dpkg = Dpkg::load(builder);
    let mut out = Vec::new();
    for (name, count) in copied {
        let Some(package) = dpkg.get(&name) else {
            continue;
        };
        let dest = format!("{STATUS_D}/{name}");
        let sums = format!("{dest}.md5sums");
        if !package_name(&name)
            || taken(&dests, &dest)
            || taken(&dests, &sums)
            || !matches!(crate::rootfs::resolve(target, Path::new(&dest)), Ok(None))
        {
            continue;
        }
        let chain = vec![format!(
            "dpkg status of {name} (owns {count} copied file{})",
            if count == 1 { "" } else { "s" }
        )];
        let item = |dest: &str, file: DpkgFile, bytes: Vec<u8>| CopyItem {
            dest: dest.to_string(),
            src: dest.to_string(),
            kind: CopyKind::generated(Generated::DpkgStatusD {
                package: name.clone(),
                file,
                bytes,
            }),
            needed_as: dest.to_string(),
            chain: chain.clone(),
        };
        out.push(item(
            &dest,
            DpkgFile::Control,
            package.control.clone().into_bytes(),
        ));
        if let Some(bytes) = dpkg.md5sums(builder, &name) {
            out.push(item(&sums, DpkgFile::Md5sums, bytes));
        }
    }
    out
}

/// A name Debian allows for a package (Policy 5.6.1): lower-case letters,
/// digits, `+`, `-` and `.`, starting with a letter or digit, at least two
/// long. Anything else from a hostile root would be a path, not a name.
fn package_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

/// Whether an item of the plan is at `dest`, below it, or at one of its
/// directories.
fn taken(dests: &BTreeSet<&str>, dest: &str) -> bool {
    dests.contains(dest)
        || dests
            .iter()
            .any(|d| d.strip_prefix(dest).is_some_and(|r| r.starts_with('/')))
        || dest
            .match_indices('/')
            .skip(1)
            .any(|(i, _)| dest.get(..i).is_some_and(|a| dests.contains(a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn write(root: &Path, inside: &str, text: &str) {
        let p = root.join(inside.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn file(src: &str) -> CopyItem {
        CopyItem {
            dest: src.into(),
            src: src.into(),
            kind: CopyKind::File {
                mode: 0o644,
                size: 1,
            },
            needed_as: "x".into(),
            chain: vec![],
        }
    }

    /// A usr-merged builder: zlib1g (listed under /lib, with md5sums and
    /// a conffile), libfoo1 (no md5sums), a package with a name no Debian
    /// package has, and a file of no package.
    fn builder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("usr/lib")).unwrap();
        symlink("usr/lib", r.join("lib")).unwrap();
        write(
            r,
            "/var/lib/dpkg/status",
            "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\nConffiles:\n /etc/z 00\nDescription: z\n more\n\n\
             Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\n\
             Package: Bad_Name\nStatus: install ok installed\nVersion: 1\n",
        );
        write(
            r,
            "/var/lib/dpkg/info/zlib1g:amd64.list",
            "/lib/x86_64-linux-gnu/libz.so.1.2.13\n/lib/x86_64-linux-gnu/libz.so.1\n",
        );
        write(r, "/var/lib/dpkg/info/zlib1g:amd64.md5sums", "00  lib/z\n");
        write(
            r,
            "/var/lib/dpkg/info/libfoo1.list",
            "/usr/lib/libfoo.so.1\n",
        );
        write(r, "/var/lib/dpkg/info/Bad_Name.list", "/usr/lib/bad\n");
        dir
    }

    fn items() -> Vec<CopyItem> {
        let mut link = file("/usr/lib/x86_64-linux-gnu/libz.so.1");
        link.kind = CopyKind::Symlink {
            target: "libz.so.1.2.13".into(),
        };
        let mut generated = file("/etc/ld.so.cache");
        generated.kind = CopyKind::generated(Generated::LdSoCache { entries: vec![] });
        vec![
            file("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"),
            link,
            file("/usr/lib/libfoo.so.1"),
            file("/usr/lib/bad"),
            file("/usr/lib/nobody"),
            generated,
        ]
    }

    #[test]
    fn records_of_the_copied_files_packages() {
        let b = builder();
        let builder = Root::new(b.path()).unwrap();
        let t = tempfile::tempdir().unwrap();
        let target = Root::new(t.path()).unwrap();
        let added = status_d(&items(), &builder, &target);
        let dests: Vec<&str> = added.iter().map(|i| i.dest.as_str()).collect();
        assert_eq!(
            dests,
            [
                "/var/lib/dpkg/status.d/libfoo1",
                "/var/lib/dpkg/status.d/zlib1g",
                "/var/lib/dpkg/status.d/zlib1g.md5sums",
            ]
        );
        let zlib = &added[1];
        assert_eq!(zlib.src, zlib.dest);
        assert_eq!(zlib.chain, ["dpkg status of zlib1g (owns 2 copied files)"]);
        let CopyKind::Generated { content, size, .. } = &zlib.kind else {
            panic!("{zlib:?}")
        };
        assert_eq!(
            content.bytes(),
            b"Package: zlib1g\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\nDescription: z\n more\n"
        );
        assert_eq!(*size, content.bytes().len() as u64);
        assert_eq!(added[2].kind, {
            CopyKind::generated(Generated::DpkgStatusD {
                package: "zlib1g".into(),
                file: DpkgFile::Md5sums,
                bytes: b"00  lib/z\n".to_vec(),
            })
        });
        assert_eq!(
            added[0].chain,
            ["dpkg status of libfoo1 (owns 1 copied file)"]
        );
        // Added to a plan, sorted with it.
        let plan = CopyPlan {
            target: "t".into(),
            items: items(),
            env: vec![],
            trees: vec![],
        };
        let with = with_status_d(&plan, &builder, &target);
        assert_eq!(with.items.len(), plan.items.len() + 3);
        assert!(with.items.windows(2).all(|w| w[0].dest < w[1].dest));
    }

    #[test]
    fn none_for_what_the_base_records_or_the_plan_holds() {
        let b = builder();
        let builder = Root::new(b.path()).unwrap();
        let t = tempfile::tempdir().unwrap();
        // The base records libfoo1; a symlink to a record counts too.
        write(
            t.path(),
            "/var/lib/dpkg/status.d/libfoo1",
            "Package: libfoo1\n",
        );
        write(t.path(), "/other/zlib", "Package: zlib1g\n");
        let target = Root::new(t.path()).unwrap();
        let added = status_d(&items(), &builder, &target);
        assert_eq!(added.len(), 2, "{added:?}");
        symlink("/other/zlib", t.path().join("var/lib/dpkg/status.d/zlib1g")).unwrap();
        assert_eq!(status_d(&items(), &builder, &target), vec![]);
        // The plan already puts something at a record's place, or at its
        // directory.
        let empty = tempfile::tempdir().unwrap();
        let target = Root::new(empty.path()).unwrap();
        for taken in [
            "/var/lib/dpkg/status.d/zlib1g.md5sums",
            "/var/lib/dpkg/status.d/zlib1g/x",
            "/var/lib/dpkg/status.d",
        ] {
            let mut with = items();
            with.push(file(taken));
            let names: Vec<String> = status_d(&with, &builder, &target)
                .into_iter()
                .map(|i| i.dest)
                .collect();
            assert!(
                !names.iter().any(|n| n.contains("zlib1g")),
                "{taken}: {names:?}"
            );
        }
    }

    #[test]
    fn package_names() {
        for ok in ["zlib1g", "libstdc++6", "libbz2-1.0", "g++"] {
            assert!(package_name(ok), "{ok}");
        }
        for bad in ["", "a", "..", ".x", "-x", "Bad_Name", "a/b", "x y", "libé"] {
            assert!(!package_name(bad), "{bad}");
        }
    }
}
