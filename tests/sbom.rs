//! What image scanners see of the layer, on the apps root
//! (scripts/make-apps-root.sh) planned against the distroless cc base
//! (scripts/distroless-root.sh), with the pandas app's interpreter, standard
//! library, pandas and numpy in the layer:
//!
//! - `--emit sbom`: valid CycloneDX 1.5 by the official JSON schema
//!   (scripts/cyclonedx-schema.sh), the same bytes on every run; it names
//!   the Debian packages with the versions the builder's dpkg gives, the
//!   wheels with their dist-info's versions, every regular file of the
//!   layer with the SHA-256 `sha256sum` computes;
//! - the dpkg records every emitter adds (`/var/lib/dpkg/status.d/NAME`,
//!   `NAME.md5sums`): read back by dpkg-query itself, they say of each
//!   package what the builder's dpkg says; they are there for exactly the
//!   packages (by `dpkg-query -S`) of the copied files that the base does
//!   not record, and a package the base records gets none.
//!
//! Needs the apps root (root and the network, or the cache) and npm for the
//! schema: `scripts/test.sh` runs these (they are ignored otherwise).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SITE: &str = "/usr/local/lib/python3.11/dist-packages";
const STATUS_D: &str = "var/lib/dpkg/status.d";

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The apps root and the distroless cc base (as tests/apps.rs finds them).
fn roots() -> (PathBuf, PathBuf) {
    let builder = env_path("LDSLIM_APPS_ROOT")
        .unwrap_or_else(|| common::script_root("make-apps-root.sh", &[]));
    let base = env_path("LDSLIM_APPS_TARGET")
        .unwrap_or_else(|| common::script_root("distroless-root.sh", &["bookworm", "amd64", "cc"]));
    assert!(builder.join("usr/bin/python3.11").exists());
    assert!(base.join(STATUS_D).join("libc6").exists());
    (builder, base)
}

/// `ldslim scan BUILDER /usr/bin/python3.11 /usr/lib/python3.11 --target
/// TARGET`, with pandas and numpy included (their files join the plan),
/// then `extra`; SOURCE_DATE_EPOCH as `epoch` says.
fn scan(builder: &Path, target: &Path, extra: &[&str], epoch: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ldslim"));
    cmd.arg("scan")
        .arg(builder)
        .args(["/usr/bin/python3.11", "/usr/lib/python3.11", "--target"])
        .arg(target);
    for dir in ["pandas", "numpy", "numpy.libs"] {
        cmd.arg("--include").arg(format!("{SITE}/{dir}"));
    }
    cmd.args(extra).env_remove("SOURCE_DATE_EPOCH");
    if let Some(e) = epoch {
        cmd.env("SOURCE_DATE_EPOCH", e);
    }
    let o = cmd.output().expect("ldslim runs");
    // 1: the image is "not verified" (a possible run-time load), which
    // changes nothing of what is emitted.
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "ldslim scan {extra:?}: {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The emitted plan's items: `dest` → (`src`, `type`).
/// Every path the emitters write: the libraries (and records) of
/// `plan.copy`, and the Python files of `plan.layer` (at the same path in
/// the builder).
fn items(plan: &Value) -> BTreeMap<String, (String, String)> {
    let mut all: BTreeMap<String, (String, String)> = plan["plan"]["copy"]["items"]
        .as_array()
        .expect("copy items")
        .iter()
        .map(|i| {
            (
                i["dest"].as_str().unwrap().to_string(),
                (
                    i["src"].as_str().unwrap().to_string(),
                    i["kind"]["type"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    for part in plan["plan"]["layer"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for i in part["items"].as_array().expect("layer items") {
            let path = i["path"].as_str().unwrap().to_string();
            all.entry(path.clone())
                .or_insert((path, i["type"].as_str().unwrap().to_string()));
        }
    }
    all
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn dpkg_query(admindir: &Path, args: &[&str]) -> String {
    run(Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args(args))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The directory of the official CycloneDX schemas, or `None` without npm.
fn schema_dir() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cyclonedx-schema.sh");
    let o = Command::new("bash")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash runs");
    if o.status.code() == Some(3) {
        return None;
    }
    assert!(
        o.status.success(),
        "scripts/cyclonedx-schema.sh: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    Some(PathBuf::from(out.lines().last().expect("a path").trim()))
}

/// The schemas' `$ref`s (`http://cyclonedx.org/schema/NAME`), from the
/// directory: nothing is fetched.
struct LocalSchemas(PathBuf);

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix("http://cyclonedx.org/schema/")
            .filter(|n| !n.contains('/'))
            .ok_or_else(|| format!("{uri}: not a CycloneDX schema"))?;
        Ok(serde_json::from_str(&fs::read_to_string(
            self.0.join(name),
        )?)?)
    }
}

fn validate_cyclonedx(doc: &Value) {
    let Some(dir) = schema_dir() else {
        common::cannot_run(
            "npm is not installed: the SBOM is not validated against CycloneDX's schema (apt-get install npm)",
        );
        return;
    };
    let schema = json(&dir.join("bom-1.5.SNAPSHOT.schema.json"));
    let validator = jsonschema::options()
        .with_retriever(LocalSchemas(dir))
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the CycloneDX 1.5 schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("  at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the SBOM is not valid CycloneDX 1.5:\n{}",
        errors.join("\n")
    );
}

fn components<'a>(bom: &'a Value, kind: &str) -> Vec<&'a Value> {
    bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| c["type"] == kind)
        .collect()
}

/// The one library component named `name` whose purl is of `purl_type`.
fn library<'a>(bom: &'a Value, purl_type: &str, name: &str) -> &'a Value {
    let found: Vec<_> = components(bom, "library")
        .into_iter()
        .filter(|c| c["name"] == name && c["purl"].as_str().unwrap().starts_with(purl_type))
        .collect();
    assert_eq!(found.len(), 1, "{name} ({purl_type}): {found:?}");
    found[0]
}

fn occurrences(c: &Value) -> BTreeSet<String> {
    c["evidence"]["occurrences"]
        .as_array()
        .map(|o| {
            o.iter()
                .map(|x| x["location"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn dist_info_version(builder: &Path, dist: &str) -> String {
    let meta = fs::read_to_string(builder.join(&SITE[1..]).join(dist).join("METADATA")).unwrap();
    meta.lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .unwrap()
        .to_string()
}

#[test]
#[ignore = "needs the apps root (root, the network or the cache), the distroless base and npm; run scripts/test.sh"]
fn sbom_names_the_packages_wheels_and_file_hashes() {
    let (builder, base) = roots();
    let tmp = tempfile::tempdir().unwrap();
    let f = |n: &str| tmp.path().join(n);
    let arg = |k: &str, n: &str| format!("{k}={}", f(n).display());
    scan(
        &builder,
        &base,
        &[
            "--emit",
            &arg("sbom", "a.json"),
            "--emit",
            &arg("json", "plan.json"),
        ],
        None,
    );
    scan(&builder, &base, &["--emit", &arg("sbom", "b.json")], None);
    scan(
        &builder,
        &base,
        &["--emit", &arg("sbom", "c.json")],
        Some("1700000000"),
    );
    // Deterministic: the same bytes twice; SOURCE_DATE_EPOCH adds the
    // timestamp and nothing else.
    assert_eq!(
        fs::read(f("a.json")).unwrap(),
        fs::read(f("b.json")).unwrap()
    );
    let bom = json(&f("a.json"));
    let mut dated = json(&f("c.json"));
    assert_eq!(bom["metadata"].get("timestamp"), None);
    assert_eq!(dated["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    dated["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("timestamp");
    assert_eq!(bom, dated);
    validate_cyclonedx(&bom);
    validate_cyclonedx(&json(&f("c.json")));
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");

    // Debian packages: the builder's versions and architectures, the
    // distribution of its os-release.
    let admindir = builder.join("var/lib/dpkg");
    let os_release = fs::read_to_string(builder.join("etc/os-release")).unwrap();
    let version_id = os_release
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_ID="))
        .unwrap()
        .trim_matches('"');
    for package in ["libbz2-1.0", "zlib1g", "liblzma5", "libffi8"] {
        let said = dpkg_query(
            &admindir,
            &["-W", "-f", "${Version} ${Architecture}", package],
        );
        let (version, arch) = said.split_once(' ').unwrap();
        let c = library(&bom, "pkg:deb/", package);
        assert_eq!(c["version"], version, "{package}");
        let purl = c["purl"].as_str().unwrap();
        let rest = purl
            .strip_prefix(&format!("pkg:deb/debian/{package}@"))
            .unwrap_or_else(|| panic!("{purl}"));
        let (v, qualifiers) = rest.split_once('?').unwrap();
        assert_eq!(percent_decode(v), version, "{purl}");
        assert_eq!(
            qualifiers,
            format!("arch={arch}&distro=debian-{version_id}"),
            "{purl}"
        );
        assert_eq!(c["bom-ref"], purl);
    }
    let os = components(&bom, "operating-system");
    assert_eq!(os.len(), 1);
    assert_eq!(os[0]["name"], "debian");
    assert_eq!(os[0]["version"], version_id);
    let deps = bom["dependencies"].as_array().unwrap();
    let os_deps = deps.iter().find(|d| d["ref"] == os[0]["bom-ref"]).unwrap();
    assert!(
        os_deps["dependsOn"]
            .as_array()
            .unwrap()
            .contains(&library(&bom, "pkg:deb/", "zlib1g")["purl"])
    );

    // Wheels: the dist-info's versions, PyPI's names.
    for (name, dist) in [
        ("pandas", "pandas-2.3.2.dist-info"),
        ("numpy", "numpy-2.2.6.dist-info"),
    ] {
        let version = dist_info_version(&builder, dist);
        let c = library(&bom, "pkg:pypi/", name);
        assert_eq!(c["purl"], format!("pkg:pypi/{name}@{version}"));
        assert_eq!(c["version"], version);
    }

    // Every regular file of the layer is a file component, and nothing
    // else; the hashes are sha256sum's.
    let plan = items(&json(&f("plan.json")));
    let regular: BTreeSet<&String> = plan
        .iter()
        .filter(|(_, (_, t))| t != "symlink")
        .map(|(d, _)| d)
        .collect();
    let files: BTreeMap<String, String> = components(&bom, "file")
        .into_iter()
        .map(|c| {
            assert_eq!(c["hashes"][0]["alg"], "SHA-256");
            (
                c["name"].as_str().unwrap().to_string(),
                c["hashes"][0]["content"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(files.keys().collect::<BTreeSet<_>>(), regular);
    assert!(files.len() > 1000, "{} files", files.len());
    let bz2 = files
        .keys()
        .find(|d| d.contains("/libbz2.so.1.0."))
        .expect("libbz2 in the layer");
    let pandas_so = files
        .keys()
        .find(|d| d.starts_with(&format!("{SITE}/pandas/_libs/")) && d.ends_with(".so"))
        .expect("a pandas extension in the layer");
    for dest in [bz2, pandas_so] {
        let src = &plan[dest].0;
        let out = run(Command::new("sha256sum").arg(builder.join(&src[1..])));
        assert_eq!(
            &files[dest],
            out.split_whitespace().next().unwrap(),
            "{dest}"
        );
    }
    // Each file of a package is one of its occurrences; the dpkg records
    // ldslim writes belong to no package and are listed all the same.
    assert!(occurrences(library(&bom, "pkg:deb/", "libbz2-1.0")).contains(bz2));
    assert!(occurrences(library(&bom, "pkg:pypi/", "pandas")).contains(pandas_so));
    assert!(
        occurrences(library(&bom, "pkg:pypi/", "numpy"))
            .iter()
            .any(|o| o.starts_with(&format!("{SITE}/numpy.libs/")))
    );
    let owned: BTreeSet<String> = components(&bom, "library")
        .into_iter()
        .flat_map(occurrences)
        .collect();
    let record = format!("/{STATUS_D}/zlib1g");
    assert!(files.contains_key(&record) && !owned.contains(&record));
}

/// The records of `dir` (a copy of the layer): name → bytes.
fn records(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let d = dir.join(STATUS_D);
    let mut out = BTreeMap::new();
    for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
        let e = e.unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(e.metadata().unwrap().permissions().mode() & 0o7777, 0o644);
        out.insert(
            e.file_name().into_string().unwrap(),
            fs::read(e.path()).unwrap(),
        );
    }
    out
}

/// The Debian packages that installed these builder paths, by
/// `dpkg-query -S` (asked for each path and its name through the
/// usr-merge links: dpkg lists what the package shipped, `/lib/…`).
fn dpkg_owners(admindir: &Path, paths: &[&str]) -> BTreeSet<String> {
    let mut asked = Vec::new();
    for p in paths {
        asked.push(p.to_string());
        for d in ["bin", "sbin", "lib", "lib32", "lib64"] {
            if let Some(rest) = p.strip_prefix(&format!("/usr/{d}/")) {
                asked.push(format!("/{d}/{rest}"));
            }
        }
    }
    // Not every path is a package's: dpkg-query exits 1 and says so.
    let o = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .arg("-S")
        .args(&asked)
        .output()
        .unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(": /"))
        .flat_map(|(pkgs, _)| {
            pkgs.split(", ")
                .map(|p| p.split(':').next().unwrap().to_string())
        })
        .collect()
}

/// The builder's `dpkg-query -s` of these packages without its status-only
/// fields (a `Conffiles` block, `Config-Version`), the status line kept.
fn builder_stanzas(admindir: &Path, packages: &[&str]) -> String {
    let mut args = vec!["-s"];
    args.extend(packages);
    let mut out = String::new();
    let mut skipping = false;
    for line in dpkg_query(admindir, &args).lines() {
        if line.starts_with(' ') && skipping {
            continue;
        }
        skipping = line.starts_with("Conffiles:") || line.starts_with("Config-Version:");
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
#[ignore = "needs the apps root (root, the network or the cache) and the distroless base; run scripts/test.sh"]
fn status_d_records_read_back_with_dpkg() {
    let (builder, base) = roots();
    let admindir = builder.join("var/lib/dpkg");
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("layer");
    let plan_json = tmp.path().join("plan.json");
    scan(
        &builder,
        &base,
        &[
            "--emit",
            &format!("copy={}", layer.display()),
            "--emit",
            &format!("json={}", plan_json.display()),
        ],
        None,
    );
    let recs = records(&layer);
    let packages: Vec<&str> = recs
        .keys()
        .filter(|n| !n.ends_with(".md5sums"))
        .map(String::as_str)
        .collect();

    // Exactly the packages of the copied files, by dpkg, that the base
    // does not record.
    let plan = items(&json(&plan_json));
    let srcs: Vec<&str> = plan
        .values()
        .filter(|(_, t)| t != "generated")
        .map(|(s, _)| s.as_str())
        .collect();
    let base_has: BTreeSet<String> = fs::read_dir(base.join(STATUS_D))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let expected: BTreeSet<String> = dpkg_owners(&admindir, &srcs)
        .into_iter()
        .filter(|p| !base_has.contains(p))
        .collect();
    assert_eq!(
        packages
            .iter()
            .map(|p| p.to_string())
            .collect::<BTreeSet<_>>(),
        expected
    );
    for p in ["libbz2-1.0", "zlib1g", "liblzma5"] {
        assert!(packages.contains(&p), "no record of {p}: {packages:?}");
    }
    assert!(!packages.iter().any(|p| base_has.contains(*p)));

    // Read back by dpkg itself: a status file of the records (each marked
    // installed, as dpkg's own database would) says of each package what
    // the builder's dpkg says.
    let db = tmp.path().join("dpkg");
    fs::create_dir_all(db.join("info")).unwrap();
    fs::create_dir_all(db.join("updates")).unwrap();
    let mut status = String::new();
    for p in &packages {
        let text = String::from_utf8(recs[*p].clone()).unwrap();
        assert!(
            text.ends_with('\n') && !text.contains("\n\n"),
            "{p}: {text:?}"
        );
        assert!(
            !text.contains("\nStatus:") && !text.contains("\nConffiles:"),
            "{p}"
        );
        let (first, rest) = text.split_once('\n').unwrap();
        assert_eq!(first, format!("Package: {p}"));
        status.push_str(&format!("{first}\nStatus: install ok installed\n{rest}\n"));
    }
    fs::write(db.join("status"), status).unwrap();
    let format = [
        "-W",
        "-f",
        "${Package} ${Version} ${Architecture} ${Source}\n",
    ];
    let mut args = format.to_vec();
    args.extend(&packages);
    assert_eq!(dpkg_query(&db, &args), dpkg_query(&admindir, &args));
    assert_eq!(
        builder_stanzas(&db, &packages),
        builder_stanzas(&admindir, &packages)
    );

    // The md5sums are the builder's.
    let mut sums = 0;
    for p in &packages {
        let info = admindir.join("info");
        let theirs = fs::read(info.join(format!("{p}:amd64.md5sums")))
            .or_else(|_| fs::read(info.join(format!("{p}.md5sums"))));
        match (theirs, recs.get(&format!("{p}.md5sums"))) {
            (Ok(t), Some(ours)) => {
                assert_eq!(&t, ours, "{p}.md5sums");
                sums += 1;
            }
            (Err(_), None) => {}
            (t, ours) => panic!(
                "{p}.md5sums: builder {:?}, layer {:?}",
                t.is_ok(),
                ours.is_some()
            ),
        }
    }
    // Nothing else is there: a control file and its md5sums per package.
    assert_eq!(recs.len(), packages.len() + sums);
    assert!(sums >= 3);
}

#[test]
#[ignore = "needs the apps root (root, the network or the cache) and the distroless base; run scripts/test.sh"]
fn a_package_the_base_records_gets_no_record() {
    let (builder, base) = roots();
    let tmp = tempfile::tempdir().unwrap();
    // The base, recording zlib1g as its own (as an image with zlib1g
    // does) while it lacks its library: zlib's files are copied, its
    // record is the base's.
    let target = tmp.path().join("base");
    common::cp_a(&base, &target);
    assert!(!target.join(STATUS_D).join("zlib1g").exists());
    let stanza = dpkg_query(&builder.join("var/lib/dpkg"), &["-s", "zlib1g"]);
    fs::write(target.join(STATUS_D).join("zlib1g"), stanza).unwrap();
    let layer = tmp.path().join("layer");
    let plan_json = tmp.path().join("plan.json");
    scan(
        &builder,
        &target,
        &[
            "--emit",
            &format!("copy={}", layer.display()),
            "--emit",
            &format!("json={}", plan_json.display()),
        ],
        None,
    );
    let plan = items(&json(&plan_json));
    assert!(
        plan.keys().any(|d| d.contains("/libz.so.1")),
        "zlib is copied"
    );
    let recs = records(&layer);
    assert!(!recs.contains_key("zlib1g") && !recs.contains_key("zlib1g.md5sums"));
    assert!(recs.contains_key("libbz2-1.0"), "{:?}", recs.keys());
    for name in recs.keys() {
        let package = name.trim_end_matches(".md5sums");
        assert!(
            !target.join(STATUS_D).join(package).exists(),
            "{name}: the base records {package}"
        );
    }
}
