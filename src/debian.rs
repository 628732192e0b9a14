//! The installed packages of a Debian root, as dpkg records them: each
//! package's dependencies (`/var/lib/dpkg/status`) and the paths it
//! installed (`/var/lib/dpkg/info/NAME[:ARCH].list`, read when asked).
//! Read through the [`Root`]: confined to it, never a FIFO.

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

use crate::owners::{list_dir, read};
use crate::rootfs::Root;

/// One installed package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub architecture: String,
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
}

/// Installed stanzas of a status file.
fn parse_status(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields: HashMap<&str, String> = HashMap::new();
        let mut last: Option<&str> = None;
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) {
                // A continuation: only Depends-like fields matter here.
                if let Some(k) = last {
                    fields.entry(k).or_default().push_str(line);
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim();
                fields.entry(k).or_insert_with(|| v.trim().to_string());
                last = Some(k);
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
    }
}
