//! The plan as a CycloneDX 1.5 SBOM (JSON): which Debian packages and
//! Python distributions the copied files come from, and every file with
//! its SHA-256, so that a scanner or an auditor sees what the layer holds
//! without the builder. The layout is in docs/sbom.md.
//!
//! - A Debian package (the owner of a copied file in the builder's dpkg
//!   database) is a `library` component with its version and
//!   architecture from `/var/lib/dpkg/status` and the purl
//!   `pkg:deb/ID/NAME@VERSION?arch=ARCH&distro=ID-VERSION_ID` (`ID`,
//!   `VERSION_ID` from the builder's os-release); a wheel (a `RECORD` of a
//!   site directory lists the file) is a `library` component
//!   `pkg:pypi/NAME@VERSION`, its name normalised as PyPI does (PEP 503).
//!   Each lists where its copied files are in `evidence.occurrences`.
//! - Every regular file of the layer (copied or written by ldslim) is a
//!   `file` component named by its path in the image, with its SHA-256:
//!   top-level components, which every consumer reads (nested ones are
//!   not read by all scanners), linked to their package by the package's
//!   occurrences; a file of no known owner is there all the same.
//! - The operating system (`operating-system`, from os-release) depends on
//!   the Debian packages, and the layer (`metadata.component`) on it and
//!   the wheels: the graph scanners build from their own SBOMs.
//!
//! The same plan and builder give the same bytes: everything is sorted,
//! there is no serial number (CycloneDX asks for a new one each time a BOM
//! is made, even of the same content) and a timestamp only from
//! `SOURCE_DATE_EPOCH`.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::source::{self, Exact};
use super::{EmitError, check};
use crate::copyset::{CopyItem, CopyKind, CopyPlan};
use crate::debian::Dpkg;
use crate::owners::{Owner, Owners, read};
use crate::rootfs::Root;

/// The CycloneDX version written (docs/sbom.md).
pub const SPEC_VERSION: &str = "1.5";

/// The `bom-ref` of the layer itself.
const LAYER: &str = "ldslim-layer";

/// The last second an RFC 3339 timestamp can say (9999-12-31T23:59:59Z).
const LAST_SECOND: u64 = 253_402_300_799;

/// The SBOM of `plan`'s files, read from `builder`: pretty-printed JSON
/// ending with a newline. Wheels are found through the `RECORD`s of
/// `site_dirs` and of each site directory (`site-packages`,
/// `dist-packages`) a copied file is in.
pub fn sbom(plan: &CopyPlan, builder: &Root, site_dirs: &[String]) -> Result<Vec<u8>, EmitError> {
    check::plan(plan)?;
    let epoch = match std::env::var_os("SOURCE_DATE_EPOCH") {
        Some(v) if !v.is_empty() => Some(super::source_date_epoch()?),
        _ => None,
    };
    let hashes = hashes(plan, builder)?;
    let mut dirs: BTreeSet<String> = site_dirs.iter().cloned().collect();
    dirs.extend(site_dirs_of(&plan.items));
    let dirs: Vec<String> = dirs.into_iter().collect();
    let facts = Facts {
        owners: Owners::load(builder, &dirs),
        dpkg: Dpkg::load(builder),
        os: OsRelease::read(builder),
    };
    let bom = bom(plan, &hashes, &facts, epoch)?;
    let mut text = serde_json::to_vec_pretty(&bom).map_err(|e| EmitError::Io {
        path: "(the SBOM)".into(),
        source: e.into(),
    })?;
    text.push(b'\n');
    Ok(text)
}

/// What the builder says about the copied files.
struct Facts {
    owners: Owners,
    dpkg: Dpkg,
    os: OsRelease,
}

/// `dest` → SHA-256 (lower-case hex) of every regular file of the layer.
fn hashes(plan: &CopyPlan, builder: &Root) -> Result<BTreeMap<String, String>, EmitError> {
    plan.items
        .par_iter()
        .filter_map(|item| {
            let hash = match &item.kind {
                CopyKind::File { size, .. } => file_hash(item, *size, builder),
                CopyKind::Generated { content, .. } => Ok(hex(&Sha256::digest(content.bytes()))),
                CopyKind::Symlink { .. } => return None,
            };
            Some(hash.map(|h| (item.dest.clone(), h)))
        })
        .collect()
}

/// The SHA-256 of the builder file behind `item`, which must be the plan's
/// `size` bytes from start to end.
fn file_hash(item: &CopyItem, size: u64, builder: &Root) -> Result<String, EmitError> {
    let (file, host) = source::open_file(builder, item, size)?;
    let mut data = Exact::new(&file, &host, &item.src);
    let mut hasher = Sha256::new();
    io::copy(&mut data, &mut hasher).map_err(|e| {
        data.failure.take().unwrap_or(EmitError::Io {
            path: host.clone(),
            source: e,
        })
    })?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The site directories (`…/site-packages`, `…/dist-packages`) the copied
/// files are in.
fn site_dirs_of(items: &[CopyItem]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for item in items {
        for (i, _) in item.src.match_indices('/').skip(1) {
            let dir = &item.src[..i];
            if dir.ends_with("/site-packages") || dir.ends_with("/dist-packages") {
                out.insert(dir.to_string());
            }
        }
    }
    out
}

fn bom(
    plan: &CopyPlan,
    hashes: &BTreeMap<String, String>,
    facts: &Facts,
    epoch: Option<u64>,
) -> Result<Bom, EmitError> {
    let timestamp = match epoch {
        Some(s) if s > LAST_SECOND => return Err(EmitError::EpochPastYear9999(s)),
        Some(s) => Some(rfc3339(s)),
        None => None,
    };
    // purl → the package's component, and where its files are.
    let mut packages: BTreeMap<String, (Component, BTreeSet<String>, bool)> = BTreeMap::new();
    for item in &plan.items {
        if matches!(item.kind, CopyKind::Generated { .. }) {
            continue;
        }
        let Some(owner) = facts.owners.owner(&item.src) else {
            continue;
        };
        let (component, deb) = package(&owner, facts);
        let Some(purl) = component.purl.clone() else {
            continue;
        };
        packages
            .entry(purl)
            .or_insert_with(|| (component, BTreeSet::new(), deb))
            .1
            .insert(item.dest.clone());
    }
    let os = facts.os.component();
    let mut debs = Vec::new();
    let mut layer_deps = Vec::new();
    let mut components = Vec::new();
    for (purl, (mut component, places, deb)) in packages {
        component.evidence = Some(Evidence {
            occurrences: places
                .into_iter()
                .map(|location| Occurrence { location })
                .collect(),
        });
        if deb && os.is_some() {
            debs.push(purl);
        } else {
            layer_deps.push(purl);
        }
        components.push(component);
    }
    let mut dependencies = Vec::new();
    if let Some(os) = os.filter(|_| !debs.is_empty()) {
        let os_ref = os.bom_ref.clone().unwrap_or_default();
        layer_deps.insert(0, os_ref.clone());
        dependencies.push(Dependency {
            reference: os_ref,
            depends_on: debs,
        });
        components.insert(0, os);
    }
    dependencies.insert(
        0,
        Dependency {
            reference: LAYER.into(),
            depends_on: layer_deps,
        },
    );
    components.extend(hashes.iter().map(|(dest, sha256)| Component {
        kind: "file",
        bom_ref: Some(format!("file:{dest}")),
        name: dest.clone(),
        hashes: vec![Hash {
            alg: "SHA-256",
            content: sha256.clone(),
        }],
        ..Component::default()
    }));
    Ok(Bom {
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        version: 1,
        metadata: Metadata {
            timestamp,
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: "ldslim".into(),
                    version: Some(env!("CARGO_PKG_VERSION").into()),
                    ..Component::default()
                }],
            },
            component: Component {
                kind: "container",
                bom_ref: Some(LAYER.into()),
                name: "ldslim layer".into(),
                description: Some(format!(
                    "The files ldslim adds to {} (the base image's own are not listed)",
                    plan.target
                )),
                ..Component::default()
            },
        },
        components,
        dependencies,
    })
}

/// The component of a file's owner, and whether it is a Debian package.
fn package(owner: &Owner, facts: &Facts) -> (Component, bool) {
    match owner {
        Owner::Deb { package, version } => {
            let (version, arch) = match facts.dpkg.get(package) {
                Some(p) => (p.version.clone(), p.architecture.clone()),
                None => (version.clone().unwrap_or_default(), String::new()),
            };
            let mut qualifiers = Vec::new();
            if !arch.is_empty() {
                qualifiers.push(("arch", arch));
            }
            if let Some(distro) = facts.os.distro() {
                qualifiers.push(("distro", distro));
            }
            let namespace = facts.os.id.as_deref().unwrap_or("debian");
            let purl = purl(&format!("deb/{namespace}"), package, &version, &qualifiers);
            (library(package, &version, purl), true)
        }
        Owner::Wheel { name, version } => {
            let purl = purl("pypi", &pep503(name), version, &[]);
            (library(name, version, purl), false)
        }
    }
}

fn library(name: &str, version: &str, purl: String) -> Component {
    Component {
        kind: "library",
        bom_ref: Some(purl.clone()),
        name: name.to_string(),
        version: (!version.is_empty()).then(|| version.to_string()),
        purl: Some(purl),
        ..Component::default()
    }
}

/// `pkg:TYPE/NAME@VERSION?K=V&…`, name, version and values percent-encoded,
/// qualifiers in the order given (sorted by key, as the purl spec wants).
fn purl(kind: &str, name: &str, version: &str, qualifiers: &[(&str, String)]) -> String {
    let mut out = format!("pkg:{kind}/{}", encode(name));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    for (i, (k, v)) in qualifiers.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

/// Every byte but ASCII letters, digits and `.-_~` as `%XX`: `1:1.2+b1` is
/// `1%3A1.2%2Bb1`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A distribution name as PyPI compares them (PEP 503): lower case, each
/// run of `-`, `_` and `.` one `-` (`Python_Dateutil` is
/// `python-dateutil`).
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `1970-01-01T00:00:00Z` for 0 (at most [`LAST_SECOND`]).
fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    // Days to a civil date (H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms"), in whole numbers that stay small below LAST_SECOND.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// The builder's distribution, from `/etc/os-release` (or
/// `/usr/lib/os-release`): `ID` and `VERSION_ID`, when they are the
/// lower-case words os-release(5) allows.
#[derive(Debug, Default, PartialEq, Eq)]
struct OsRelease {
    id: Option<String>,
    version_id: Option<String>,
}

impl OsRelease {
    fn read(root: &Root) -> OsRelease {
        let text = read(root, "/etc/os-release").or_else(|| read(root, "/usr/lib/os-release"));
        text.as_deref().map(OsRelease::parse).unwrap_or_default()
    }

    fn parse(text: &str) -> OsRelease {
        let value = |key: &str| {
            text.lines().rev().find_map(|l| {
                let v = l.trim().strip_prefix(key)?.strip_prefix('=')?;
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(v);
                let word = !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
                word.then(|| v.to_string())
            })
        };
        OsRelease {
            id: value("ID"),
            version_id: value("VERSION_ID"),
        }
    }

    /// The purl qualifier `distro`: `debian-12`.
    fn distro(&self) -> Option<String> {
        let id = self.id.as_ref()?;
        Some(match &self.version_id {
            Some(v) => format!("{id}-{v}"),
            None => id.clone(),
        })
    }

    fn component(&self) -> Option<Component> {
        Some(Component {
            kind: "operating-system",
            bom_ref: Some(format!("os:{}", self.distro()?)),
            name: self.id.clone()?,
            version: self.version_id.clone(),
            ..Component::default()
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    bom_format: &'static str,
    spec_version: &'static str,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    tools: Tools,
    component: Component,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Debug, Default, Serialize)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence>,
}

#[derive(Debug, Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Debug, Serialize)]
struct Evidence {
    occurrences: Vec<Occurrence>,
}

#[derive(Debug, Serialize)]
struct Occurrence {
    location: String,
}

#[derive(Serialize)]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(rename = "dependsOn")]
    depends_on: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copyset::Generated;
    use std::fs;
    use std::path::Path;

    #[test]
    fn names_versions_and_purls() {
        assert_eq!(pep503("Python_Dateutil"), "python-dateutil");
        assert_eq!(pep503("zope.interface"), "zope-interface");
        assert_eq!(pep503("a-_.-b__c"), "a-b-c");
        assert_eq!(pep503("NumPy"), "numpy");
        assert_eq!(encode("1:1.2.13.dfsg-1"), "1%3A1.2.13.dfsg-1");
        assert_eq!(encode("libstdc++6"), "libstdc%2B%2B6");
        assert_eq!(encode("2.0~rc1_x"), "2.0~rc1_x");
        assert_eq!(encode("é/?"), "%C3%A9%2F%3F");
        assert_eq!(
            purl(
                "deb/debian",
                "libbz2-1.0",
                "1.0.8-5+b1",
                &[("arch", "amd64".into()), ("distro", "debian-12".into())]
            ),
            "pkg:deb/debian/libbz2-1.0@1.0.8-5%2Bb1?arch=amd64&distro=debian-12"
        );
        assert_eq!(purl("pypi", "numpy", "", &[]), "pkg:pypi/numpy");
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339(LAST_SECOND), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn os_release_words_only() {
        let os = OsRelease::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\nIDX=no\n",
        );
        assert_eq!(os.id.as_deref(), Some("debian"));
        assert_eq!(os.distro().as_deref(), Some("debian-12"));
        let c = os.component().unwrap();
        assert_eq!(
            (c.name.as_str(), c.version.as_deref()),
            ("debian", Some("12"))
        );
        // Not a word: ignored; no ID: no distribution at all.
        let os = OsRelease::parse("ID='../../x'\nVERSION_ID=12 13\n");
        assert_eq!(os, OsRelease::default());
        assert_eq!(os.distro(), None);
        assert!(os.component().is_none());
        let os = OsRelease::parse("ID=debian\n");
        assert_eq!(os.distro().as_deref(), Some("debian"));
    }

    fn write(root: &Path, inside: &str, text: &str) {
        let p = root.join(inside.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn item(path: &str, kind: CopyKind) -> CopyItem {
        CopyItem {
            dest: path.into(),
            src: path.into(),
            kind,
            needed_as: String::new(),
            chain: vec![],
        }
    }

    #[test]
    fn packages_wheels_and_files_of_a_plan() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(r, "/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
        write(
            r,
            "/var/lib/dpkg/status",
            "Package: libstdc++6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.2.0-14\n",
        );
        write(
            r,
            "/var/lib/dpkg/info/libstdc++6:amd64.list",
            "/usr/lib/libstdc++.so.6.0.30\n/usr/lib/libstdc++.so.6\n",
        );
        write(r, "/usr/lib/libstdc++.so.6.0.30", "abc");
        std::os::unix::fs::symlink("libstdc++.so.6.0.30", r.join("usr/lib/libstdc++.so.6"))
            .unwrap();
        // A venv's wheel, found from where its file is.
        let site = "/app/.venv/lib/python3.11/site-packages";
        write(
            r,
            &format!("{site}/Py_Yaml-6.0.dist-info/RECORD"),
            "yaml/x.py,,\n",
        );
        write(r, &format!("{site}/yaml/x.py"), "");
        write(r, "/opt/mine", "mine");
        let mut plan = CopyPlan {
            target: "distroless/cc-debian12".into(),
            items: vec![
                item(
                    "/usr/lib/libstdc++.so.6.0.30",
                    CopyKind::File {
                        mode: 0o644,
                        size: 3,
                    },
                ),
                item(
                    "/usr/lib/libstdc++.so.6",
                    CopyKind::Symlink {
                        target: "libstdc++.so.6.0.30".into(),
                    },
                ),
                item(
                    &format!("{site}/yaml/x.py"),
                    CopyKind::File {
                        mode: 0o644,
                        size: 0,
                    },
                ),
                item(
                    "/opt/mine",
                    CopyKind::File {
                        mode: 0o644,
                        size: 4,
                    },
                ),
                item(
                    "/var/lib/dpkg/status.d/x",
                    CopyKind::generated(Generated::DpkgStatusD {
                        package: "x".into(),
                        file: crate::copyset::DpkgFile::Control,
                        bytes: b"abc".to_vec(),
                    }),
                ),
            ],
            env: vec![],
            trees: vec![],
        };
        plan.items.sort();
        let root = Root::new(r).unwrap();
        let bom: serde_json::Value =
            serde_json::from_slice(&sbom(&plan, &root, &[]).unwrap()).unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let mine = hex(&Sha256::digest(b"mine"));
        let components = serde_json::json!([
            {"type": "operating-system", "bom-ref": "os:debian-12", "name": "debian", "version": "12"},
            {"type": "library", "bom-ref": "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=debian-12",
             "name": "libstdc++6", "version": "12.2.0-14",
             "purl": "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=debian-12",
             "evidence": {"occurrences": [{"location": "/usr/lib/libstdc++.so.6"}, {"location": "/usr/lib/libstdc++.so.6.0.30"}]}},
            {"type": "library", "bom-ref": "pkg:pypi/py-yaml@6.0", "name": "Py_Yaml", "version": "6.0",
             "purl": "pkg:pypi/py-yaml@6.0",
             "evidence": {"occurrences": [{"location": format!("{site}/yaml/x.py")}]}},
            {"type": "file", "bom-ref": format!("file:{site}/yaml/x.py"), "name": format!("{site}/yaml/x.py"),
             "hashes": [{"alg": "SHA-256", "content": empty}]},
            {"type": "file", "bom-ref": "file:/opt/mine", "name": "/opt/mine",
             "hashes": [{"alg": "SHA-256", "content": mine}]},
            {"type": "file", "bom-ref": "file:/usr/lib/libstdc++.so.6.0.30", "name": "/usr/lib/libstdc++.so.6.0.30",
             "hashes": [{"alg": "SHA-256", "content": abc}]},
            {"type": "file", "bom-ref": "file:/var/lib/dpkg/status.d/x", "name": "/var/lib/dpkg/status.d/x",
             "hashes": [{"alg": "SHA-256", "content": abc}]},
        ]);
        assert_eq!(bom["components"], components);
        assert_eq!(
            bom["dependencies"],
            serde_json::json!([
                {"ref": "ldslim-layer", "dependsOn": ["os:debian-12", "pkg:pypi/py-yaml@6.0"]},
                {"ref": "os:debian-12", "dependsOn": ["pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=debian-12"]},
            ])
        );
        // A builder file that is not what the plan says fails the SBOM.
        write(r, "/opt/mine", "mine, changed");
        assert!(matches!(
            sbom(&plan, &root, &[]),
            Err(EmitError::SourceMismatch { .. })
        ));
    }

    #[test]
    fn a_timestamp_past_9999_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path()).unwrap();
        let facts = Facts {
            owners: Owners::load(&root, &[]),
            dpkg: Dpkg::load(&root),
            os: OsRelease::default(),
        };
        let plan = CopyPlan::default();
        let bom = |e| bom(&plan, &BTreeMap::new(), &facts, e);
        assert!(matches!(
            bom(Some(LAST_SECOND + 1)),
            Err(EmitError::EpochPastYear9999(_))
        ));
        let b = bom(Some(0)).unwrap();
        assert_eq!(
            b.metadata.timestamp.as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        // No OS, no packages: the layer depends on nothing.
        assert!(b.components.is_empty());
        assert_eq!(b.dependencies.len(), 1);
    }
}
