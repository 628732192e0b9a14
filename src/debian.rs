//! The installed packages of a Debian root, as dpkg records them: each
//! package's control stanza and dependencies (`/var/lib/dpkg/status`), the
//! paths it installed and their checksums (`/var/lib/dpkg/info/NAME[:ARCH]
//! .list` and `.md5sums`, read when asked). Read through the [`Root`]:
//! confined to it, never a FIFO.

// dpkg's files are the root's, so hostile: nothing here may panic or
// overflow on them, and the compiler checks it.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;

use crate::owners::{list_dir, read, read_bytes};
use crate::rootfs::Root;

/// The fields only dpkg's status database has (deb-control(5) lists none of
/// them): what dpkg did with a package here, not what the package is.
const STATUS_ONLY: &[&str] = &[
    "Status",
    "Config-Version",
    "Conffiles",
    "Triggers-Awaited",
    "Triggers-Pending",
];

/// One installed package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub architecture: String,
    pub version: String,
    /// Its stanza as the status file has it, field for field and line for
    /// line, without the fields only dpkg's database has (`Status`,
    /// `Conffiles`, `Config-Version`, `Triggers-*`): the package's control
    /// file, as distroless registers a package in
    /// `/var/lib/dpkg/status.d/NAME`. Ends with a newline.
    pub control: String,
    /// `Depends` and `Pre-Depends`: each entry a list of alternatives,
    /// names only (versions and architecture qualifiers dropped).
    pub depends: Vec<Vec<String>>,
    /// Virtual packages it provides.
    pub provides: Vec<String>,
}

/// The installed packages of one root.
#[derive(Debug, Default)]
pub struct Dpkg {
    packages: HashMap<String, Package>,
    /// Virtual name → the installed packages providing it (sorted).
    providers: HashMap<String, Vec<String>>,
    /// Package name → its `.list` file's name in `/var/lib/dpkg/info`.
    lists: HashMap<String, String>,
}

impl Dpkg {
    /// Read the root's dpkg status; empty when there is none.
    pub fn load(root: &Root) -> Dpkg {
        let mut d = Dpkg::default();
        if let Some(text) = read(root, "/var/lib/dpkg/status") {
            for p in parse_status(&text) {
                for v in &p.provides {
                    d.providers
                        .entry(v.clone())
                        .or_default()
                        .push(p.name.clone());
                }
                d.packages.entry(p.name.clone()).or_insert(p);
            }
        }
        for list in d.providers.values_mut() {
            list.sort();
        }
        for name in list_dir(root, "/var/lib/dpkg/info") {
            if let Some(stem) = name.strip_suffix(".list") {
                let package = stem.split(':').next().unwrap_or(stem).to_string();
                d.lists.entry(package).or_insert(name);
            }
        }
        d
    }

    pub fn get(&self, name: &str) -> Option<&Package> {
        self.packages.get(name)
    }

    /// The installed package that satisfies one dependency entry: the
    /// first alternative installed, by name or as a provider of it — the
    /// package dpkg found when it configured the dependent one.
    pub fn satisfying(&self, alternatives: &[String]) -> Option<&Package> {
        alternatives.iter().find_map(|a| {
            self.packages.get(a).or_else(|| {
                self.providers
                    .get(a)
                    .and_then(|p| p.first())
                    .and_then(|p| self.packages.get(p))
            })
        })
    }

    /// The paths `name` installed, as listed (directories included).
    pub fn files(&self, root: &Root, name: &str) -> Vec<String> {
        let Some(list) = self.lists.get(name) else {
            return Vec::new();
        };
        read(root, &format!("/var/lib/dpkg/info/{list}"))
            .map(|t| {
                t.lines()
                    .map(str::trim_end)
                    .filter(|l| l.starts_with('/') && *l != "/.")
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The checksums file of `name`'s files (`/var/lib/dpkg/info/NAME:ARCH
    /// .md5sums`, of the architecture [`Dpkg::get`] gives, else `NAME
    /// .md5sums`), as its bytes; `None` when it has none.
    pub fn md5sums(&self, root: &Root, name: &str) -> Option<Vec<u8>> {
        let arch = self.packages.get(name).map(|p| p.architecture.as_str());
        arch.filter(|a| !a.is_empty())
            .and_then(|a| read_bytes(root, &format!("/var/lib/dpkg/info/{name}:{a}.md5sums")))
            .or_else(|| read_bytes(root, &format!("/var/lib/dpkg/info/{name}.md5sums")))
    }
}

/// Installed stanzas of a status file.
fn parse_status(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields: HashMap<&str, String> = HashMap::new();
        let mut last: Option<&str> = None;
        let mut control = String::new();
        // Whether the field the current line belongs to is kept.
        let mut kept = false;
        for line in stanza.lines() {
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if kept {
                    control.push_str(line);
                    control.push('\n');
                }
                // A continuation: only Depends-like fields matter here.
                if let Some(k) = last {
                    fields.entry(k).or_default().push_str(line);
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim();
                kept = !STATUS_ONLY.iter().any(|s| s.eq_ignore_ascii_case(k));
                if kept {
                    control.push_str(line);
                    control.push('\n');
                }
                fields.entry(k).or_insert_with(|| v.trim().to_string());
                last = Some(k);
            } else {
                kept = false;
            }
        }
        let installed = fields
            .get("Status")
            .is_some_and(|s| s.ends_with(" installed"));
        let Some(name) = fields.get("Package") else {
            continue;
        };
        if !installed {
            continue;
        }
        let mut depends = relations(fields.get("Pre-Depends").map_or("", String::as_str));
        depends.extend(relations(fields.get("Depends").map_or("", String::as_str)));
        let provides = relations(fields.get("Provides").map_or("", String::as_str))
            .into_iter()
            .flatten()
            .collect();
        out.push(Package {
            name: name.clone(),
            architecture: fields.get("Architecture").cloned().unwrap_or_default(),
            version: fields.get("Version").cloned().unwrap_or_default(),
            control,
            depends,
            provides,
        });
    }
    out
}

/// `a (>= 1), b:any | c` → `[[a], [b, c]]`.
fn relations(field: &str) -> Vec<Vec<String>> {
    field
        .split(',')
        .map(|entry| {
            entry
                .split('|')
                .filter_map(|alt| {
                    let name = alt.split(['(', '[', '<']).next()?.trim();
                    let name = name.split(':').next()?.trim();
                    (!name.is_empty()).then(|| name.to_string())
                })
                .collect::<Vec<_>>()
        })
        .filter(|alts| !alts.is_empty())
        .collect()
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

    #[test]
    fn status_stanzas_and_relations() {
        let text = "Package: fontconfig-config\nStatus: install ok installed\nArchitecture: all\nDepends: ucf (>= 0.29), fonts-dejavu-core | ttf-bitstream-vera\n | fonts-liberation, debconf (>= 0.5) | debconf-2.0\n\nPackage: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\n\nPackage: libmagic1\nStatus: install ok installed\nArchitecture: amd64\nPre-Depends: libc6:any (>= 2.34)\nDepends: libmagic-mgc (= 1:5.44-3)\nProvides: libmagic\n";
        let p = parse_status(text);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].depends,
            vec![
                vec!["ucf".to_string()],
                vec![
                    "fonts-dejavu-core".into(),
                    "ttf-bitstream-vera".into(),
                    "fonts-liberation".into()
                ],
                vec!["debconf".into(), "debconf-2.0".into()],
            ]
        );
        assert_eq!(
            p[1].depends,
            vec![vec!["libc6".to_string()], vec!["libmagic-mgc".into()]]
        );
        assert_eq!(p[1].provides, vec!["libmagic".to_string()]);
        assert_eq!(p[1].version, "");
    }

    #[test]
    fn control_is_the_stanza_without_status_only_fields() {
        let text = "Package: base-files\nEssential: yes\nStatus: install ok installed\nVersion: 12.4+deb12u15\nConffiles:\n /etc/issue 349d61a0e072d678e3e94923f0c3ce0e\n /etc/host.conf 4eb63731c9f5e30903ac4fc07a7fe3d6\nConfig-Version: 12.4\nDescription: Debian base system\n several files\n .\n more\ntriggers-pending: ldconfig\nHomepage: x\n\n\n\nPackage: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n";
        let p = parse_status(text);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].control,
            "Package: base-files\nEssential: yes\nVersion: 12.4+deb12u15\nDescription: Debian base system\n several files\n .\n more\nHomepage: x\n"
        );
        assert_eq!(p[0].version, "12.4+deb12u15");
        assert_eq!(
            p[1].control,
            "Package: zlib1g\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n"
        );
    }

    #[test]
    fn md5sums_of_the_stanzas_architecture() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("var/lib/dpkg/info");
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(
            dir.path().join("var/lib/dpkg/status"),
            "Package: zlib1g\nStatus: install ok installed\nArchitecture: i386\nVersion: 1\n\nPackage: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2\n",
        )
        .unwrap();
        std::fs::write(info.join("zlib1g:amd64.md5sums"), "a  usr/lib/x86_64\n").unwrap();
        std::fs::write(info.join("zlib1g:i386.md5sums"), b"b  usr/lib/i386-\xff\n").unwrap();
        std::fs::write(info.join("tzdata.md5sums"), "c  usr/share/zoneinfo/UTC\n").unwrap();
        // A FIFO is never opened.
        let fifo = std::ffi::CString::new(info.join("gone.md5sums").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let root = Root::new(dir.path()).unwrap();
        let d = Dpkg::load(&root);
        assert_eq!(
            d.md5sums(&root, "zlib1g").as_deref(),
            Some(&b"b  usr/lib/i386-\xff\n"[..])
        );
        assert_eq!(
            d.md5sums(&root, "tzdata").as_deref(),
            Some(&b"c  usr/share/zoneinfo/UTC\n"[..])
        );
        assert_eq!(d.md5sums(&root, "gone"), None);
        assert_eq!(d.md5sums(&root, "absent"), None);
    }
}
