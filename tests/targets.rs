//! The embedded targets: what each distroless image really contains, checked
//! against facts of the Debian packages it is built from; consistent within
//! itself (its packages, its glibc, its flavors, its links, its objects all
//! loading); and (ignored, run by scripts/test.sh) rebuilt from exactly the
//! package versions it records. Whether Debian has moved on since is a
//! maintainer's question (`scripts/make-targets.sh --check`), not a test's.

use std::path::Path;
use std::process::{Command, Stdio};

use ldslim::target::{self, EntryKind, TargetData, TargetEntry};

fn load(name: &str) -> TargetData {
    target::embedded(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every entry whose file name is `name`, wherever it is.
fn named<'a>(t: &'a TargetData, name: &str) -> Vec<&'a TargetEntry> {
    t.entries
        .values()
        .filter(|e| e.path.rsplit('/').next() == Some(name))
        .collect()
}

fn verdefs(e: &TargetEntry) -> Vec<&str> {
    let facts = e
        .elf
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no ELF facts", e.path));
    facts.verdef.iter().map(|v| v.name.as_str()).collect()
}

fn find_libc(t: &TargetData) -> &TargetEntry {
    let dir = &t.info.dirs[0];
    t.resolve(&format!("{dir}libc.so.6"))
        .unwrap_or_else(|| panic!("{}: no libc.so.6 in {dir}", t.info.name))
}

#[test]
fn every_embedded_target_parses_and_is_canonical() {
    let names = target::embedded_names();
    assert_eq!(names.len(), 16, "{names:?}");
    for name in names {
        let t = load(name);
        let (image, arch) = name.split_once(':').unwrap_or((name, "amd64"));
        assert_eq!(t.info.name, image);
        assert_eq!(t.info.arch, arch);
        let suite = if image.ends_with("-debian12") {
            "bookworm"
        } else {
            "trixie"
        };
        assert_eq!(t.info.suite, suite, "{name}");
        assert!(t.entries.len() > 50, "{name}: {} entries", t.entries.len());
        // The committed text is exactly what render writes: no hand edits,
        // and the format round-trips.
        let text = target::render(&t);
        assert_eq!(target::parse(&text).unwrap(), t, "{name}");
        let file = format!(
            "{}/src/target/data/{}-{arch}.jsonl",
            env!("CARGO_MANIFEST_DIR"),
            image.trim_start_matches("distroless/")
        );
        let committed = std::fs::read_to_string(&file).unwrap();
        assert!(committed == text, "{file} is not in canonical form");
    }
}

#[test]
fn cc_debian12_has_glibc_2_36_and_gcc_12() {
    let t = load("distroless/cc-debian12");
    assert_eq!(t.info.glibc.as_deref(), Some("2.36"));
    assert_eq!(t.info.interp, "/lib64/ld-linux-x86-64.so.2");
    assert_eq!(
        t.info.dirs,
        [
            "/lib/x86_64-linux-gnu/",
            "/usr/lib/x86_64-linux-gnu/",
            "/lib/",
            "/usr/lib/"
        ]
    );
    // Debian 12 is not merged-/usr: libc6 installs into /lib itself.
    let libc = t.get("/lib/x86_64-linux-gnu/libc.so.6").expect("libc.so.6");
    assert_eq!(libc.kind, EntryKind::File);
    let facts = libc.elf.as_ref().unwrap();
    assert_eq!(facts.soname.as_deref(), Some("libc.so.6"));
    let defs = verdefs(libc);
    assert!(defs.contains(&"GLIBC_2.36"), "{defs:?}");
    assert!(!defs.contains(&"GLIBC_2.38"), "{defs:?}");
    assert_eq!(t.get("/lib").unwrap().kind, EntryKind::Dir);
    // The loader PT_INTERP names is a symlink into the multiarch directory.
    assert_eq!(
        t.get("/lib64/ld-linux-x86-64.so.2").unwrap().kind,
        EntryKind::Symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2".into())
    );
    let ld = t.resolve(&t.info.interp).unwrap();
    assert_eq!(ld.elf.as_ref().unwrap().e_type, 3, "ld.so is ET_DYN");

    let stdcxx = t
        .resolve("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
        .unwrap();
    assert_eq!(stdcxx.path, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30");
    let defs = verdefs(stdcxx);
    assert!(defs.contains(&"GLIBCXX_3.4.30"), "{defs:?}");
    assert!(!defs.contains(&"GLIBCXX_3.4.31"), "{defs:?}");
    // What the loader finds in its default directories: libgcc_s is in
    // /lib, the rest in /usr/lib.
    for (lib, dir) in [
        ("libgcc_s.so.1", "/lib/x86_64-linux-gnu/"),
        ("libgomp.so.1", "/usr/lib/x86_64-linux-gnu/"),
        ("libssl.so.3", "/usr/lib/x86_64-linux-gnu/"),
        ("libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/"),
    ] {
        let found = t
            .info
            .dirs
            .iter()
            .find_map(|d| t.resolve(&format!("{d}{lib}")))
            .unwrap_or_else(|| panic!("{lib} not in the default directories"));
        assert!(found.path.starts_with(dir), "{lib}: {}", found.path);
        assert!(found.elf.is_some(), "{lib}");
    }
}

#[test]
fn base_debian12_has_libssl_but_no_libstdcxx() {
    let t = load("distroless/base-debian12");
    assert!(t.resolve("/usr/lib/x86_64-linux-gnu/libssl.so.3").is_some());
    assert!(named(&t, "libstdc++.so.6").is_empty());
    assert!(named(&t, "libgcc_s.so.1").is_empty());
    let nossl = load("distroless/base-nossl-debian12");
    assert!(named(&nossl, "libssl.so.3").is_empty());
    assert!(!named(&nossl, "libc.so.6").is_empty());
}

#[test]
fn static_has_no_libc_and_no_loader() {
    for name in ["distroless/static-debian12", "distroless/static-debian13"] {
        let t = load(name);
        assert!(named(&t, "libc.so.6").is_empty(), "{name}");
        assert!(t.resolve(&t.info.interp).is_none(), "{name}");
        assert!(t.elf_objects().next().is_none(), "{name} has ELF files");
        assert_eq!(t.info.glibc, None);
        assert!(t.info.dirs.is_empty());
        // But what the static image is for is there.
        assert!(t.get("/etc/ssl/certs/ca-certificates.crt").is_some());
        assert!(t.get("/etc/services").is_some());
        assert!(t.get("/etc/mime.types").is_some());
    }
}

#[test]
fn debian13_is_merged_usr_with_glibc_2_41() {
    let t = load("distroless/cc-debian13");
    assert_eq!(t.info.glibc.as_deref(), Some("2.41"));
    for (link, to) in [
        ("/lib", "usr/lib"),
        ("/bin", "usr/bin"),
        ("/sbin", "usr/sbin"),
        ("/lib64", "usr/lib64"),
    ] {
        assert_eq!(
            t.get(link).unwrap().kind,
            EntryKind::Symlink(to.into()),
            "{link}"
        );
    }
    let libc = find_libc(&t);
    assert_eq!(libc.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    let defs = verdefs(libc);
    assert!(defs.contains(&"GLIBC_2.41"), "{defs:?}");
    assert!(!defs.contains(&"GLIBC_2.42"), "{defs:?}");
    // Nothing of a package escaped the merge.
    assert!(t.entries.keys().all(|p| !p.starts_with("/lib/")));
    let stdcxx = t.resolve("/lib/x86_64-linux-gnu/libstdc++.so.6").unwrap();
    assert!(verdefs(stdcxx).contains(&"GLIBCXX_3.4.33"));
    // Debian 13's base adds zlib and zstd.
    let base = load("distroless/base-debian13");
    for lib in ["libz.so.1", "libzstd.so.1", "libssl.so.3"] {
        assert!(!named(&base, lib).is_empty(), "{lib}");
    }
    let arm = load("distroless/cc-debian13:arm64");
    assert!(arm.get("/lib64").is_none(), "arm64 has no /lib64");
    assert_eq!(arm.info.interp, "/lib/ld-linux-aarch64.so.1");
    assert_eq!(find_libc(&arm).elf.as_ref().unwrap().machine, 183);
}

#[test]
fn distroless_files_in_every_target() {
    for name in target::embedded_names() {
        let t = load(name);
        assert!(
            t.get("/etc/ld.so.cache").is_none(),
            "{name} has ld.so.cache"
        );
        assert!(named(&t, "ldconfig").is_empty(), "{name} has ldconfig");
        assert!(named(&t, "sh").is_empty(), "{name} has a shell");
        let mode = |p: &str| t.get(p).unwrap_or_else(|| panic!("{name}: no {p}")).mode;
        assert_eq!(mode("/tmp"), 0o1777, "{name}");
        assert_eq!(mode("/root"), 0o700, "{name}");
        assert_eq!(mode("/home/nonroot"), 0o700, "{name}");
        assert_eq!(mode("/etc/passwd"), 0o644, "{name}");
        assert_eq!(mode("/etc/group"), 0o644, "{name}");
        assert_eq!(mode("/etc/nsswitch.conf"), 0o644, "{name}");
        assert_eq!(mode("/usr/lib/os-release"), 0o555, "{name}");
        assert_eq!(
            t.get("/etc/os-release").unwrap().kind,
            EntryKind::Symlink("../usr/lib/os-release".into())
        );
        assert!(
            t.get("/var/lib/dpkg/status.d/base-files").is_some(),
            "{name}"
        );
        assert!(t.get("/var/lib/dpkg/status").is_none(), "{name}");
        // ca-certificates contributes its bundle, not its certificates.
        assert!(t.get("/etc/ssl/certs/ca-certificates.crt").unwrap().size > 100_000);
        assert!(t.get("/usr/share/ca-certificates").is_none(), "{name}");
        let omitted: Vec<&str> = t.omitted.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(omitted, target::OMITTED, "{name}");
        let zoneinfo = t.omitted.iter().find(|(p, _)| p == "/usr/share/zoneinfo/");
        assert!(zoneinfo.is_some_and(|(_, n)| *n > 500), "{name}");
        let packages: Vec<&str> = t.info.packages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(packages[0], "base-files", "{name}");
        assert!(packages.contains(&"ca-certificates"));
        if name.contains("/static-") {
            assert!(!packages.contains(&"libc6"));
        } else {
            assert!(t.get("/var/lib/dpkg/status.d/libc6").is_some(), "{name}");
            let ld = t
                .resolve(&t.info.interp)
                .unwrap_or_else(|| panic!("{name}"));
            assert!(ld.elf.is_some(), "{name}");
        }
    }
}

#[test]
fn targets_command_lists_every_target() {
    let out = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .arg("targets")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let heads: Vec<&str> = text
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with(' '))
        .collect();
    assert_eq!(heads.len(), 16, "{text}");
    assert!(
        text.contains("made from exactly the Debian package versions listed under it"),
        "{text}"
    );
    assert!(heads[3].starts_with("distroless/cc-debian12 "), "{text}");
    assert!(heads[3].contains("glibc 2.36"), "{text}");
    assert!(text.contains("\n    libc6 2.36-"), "{text}");

    let out = Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(["targets", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = json.as_array().unwrap();
    assert_eq!(all.len(), 16);
    let cc13 = all
        .iter()
        .find(|t| t["name"] == "distroless/cc-debian13")
        .unwrap();
    assert_eq!(cc13["glibc"], "2.41");
    assert!(cc13["elf_objects"].as_u64().unwrap() > 100);
    assert!(
        cc13["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "gcc-14-base")
    );
}

/// Each target's recorded packages are exactly the packages the image
/// registers (`/var/lib/dpkg/status.d/NAME`, as distroless does), and the
/// same names for both architectures.
#[test]
fn recorded_packages_are_the_images_own() {
    for name in target::embedded_names() {
        let t = load(name);
        let mut recorded: Vec<&str> = t.info.packages.iter().map(|(n, _)| n.as_str()).collect();
        recorded.sort();
        let registered: Vec<&str> = t
            .entries
            .keys()
            .filter_map(|p| p.strip_prefix("/var/lib/dpkg/status.d/"))
            .filter(|n| !n.ends_with(".md5sums"))
            .collect();
        assert_eq!(recorded, registered, "{name}");
        for (pkg, version) in &t.info.packages {
            assert!(
                !version.is_empty() && !version.contains(' '),
                "{name}: {pkg} {version:?}"
            );
        }
        if let Some((image, _)) = name.split_once(':') {
            let amd64 = load(image);
            let names = |t: &TargetData| -> Vec<String> {
                t.info.packages.iter().map(|(n, _)| n.clone()).collect()
            };
            assert_eq!(names(&t), names(&amd64), "{name} and {image}");
        }
    }
}

/// The glibc version a target declares is its libc6 package's upstream
/// version and the newest `GLIBC_2.N` its libc.so.6 defines.
#[test]
fn glibc_version_is_libc6s() {
    for name in target::embedded_names() {
        let t = load(name);
        let libc6 = t.info.packages.iter().find(|(n, _)| n == "libc6");
        let Some((_, version)) = libc6 else {
            assert_eq!(t.info.glibc, None, "{name}");
            continue;
        };
        let upstream = version.split('-').next().unwrap();
        assert_eq!(t.info.glibc.as_deref(), Some(upstream), "{name}");
        let newest = verdefs(find_libc(&t))
            .iter()
            .filter_map(|v| v.strip_prefix("GLIBC_2."))
            .filter_map(|v| v.parse::<u32>().ok())
            .max()
            .unwrap();
        assert_eq!(format!("2.{newest}"), upstream, "{name}");
    }
}

/// static < base-nossl < base < cc: each flavor holds the one before it,
/// entry for entry (same kind, mode, size and ELF facts), and records its
/// packages first.
#[test]
fn flavors_nest() {
    for distro in ["debian12", "debian13"] {
        for arch in ["", ":arm64"] {
            let chain = ["static", "base-nossl", "base", "cc"];
            for pair in chain.windows(2) {
                let small = load(&format!("distroless/{}-{distro}{arch}", pair[0]));
                let big = load(&format!("distroless/{}-{distro}{arch}", pair[1]));
                let what = format!("{}-{distro}{arch} in {}", pair[0], pair[1]);
                for (path, e) in &small.entries {
                    // The package registry's directory listing grows.
                    if path == "/var/lib/dpkg/status.d" {
                        continue;
                    }
                    assert_eq!(big.get(path), Some(e), "{what}: {path}");
                }
                for p in &small.info.packages {
                    assert!(big.info.packages.contains(p), "{what}: {p:?}");
                }
            }
        }
    }
}

/// Every symlink of a target leads to something the target lists (or
/// into a directory it records only as a count).
#[test]
fn symlinks_resolve_inside_each_target() {
    for name in target::embedded_names() {
        let t = load(name);
        for (path, e) in &t.entries {
            let EntryKind::Symlink(text) = &e.kind else {
                continue;
            };
            let omitted = t.omitted.iter().any(|(p, _)| {
                let dir = std::path::Path::new(path).parent().unwrap();
                dir.join(text).to_string_lossy().starts_with(p.as_str())
                    || text.starts_with(p.as_str())
            });
            assert!(
                t.resolve(path).is_some() || omitted,
                "{name}: {path} -> {text} leads nowhere"
            );
        }
    }
}

/// Every ELF object of a target loads in it, as its own loader would load
/// it: the data describes a working image.
#[test]
fn every_elf_object_of_a_target_loads_in_it() {
    use ldslim::graph::Session;
    use ldslim::image::TargetTree;
    use ldslim::ldso::{Options, cpu::Cpu};
    for name in target::embedded_names() {
        let t = load(name);
        let objects: Vec<String> = t
            .elf_objects()
            .filter(|(_, f)| f.dynamic && !f.needed.is_empty())
            .map(|(e, _)| e.path.clone())
            .collect();
        let session = Session::over(
            std::sync::Arc::new(TargetTree::new(t)),
            Options {
                library_path: None,
                cpu: Cpu::BASELINE,
            },
        );
        let mut failures = Vec::new();
        for path in &objects {
            match session.load(path) {
                Ok(o) if o.is_complete() => {}
                Ok(o) => failures.push(format!(
                    "{path}: {:?} {:?}",
                    o.missing().map(|m| &m.name).collect::<Vec<_>>(),
                    o.fatal
                )),
                Err(e) => failures.push(e.to_string()),
            }
        }
        assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
    }
}

/// The committed data is what the generator makes from exactly the
/// package versions it records: every target is rebuilt from those
/// versions (`scripts/make-targets.sh --pinned`, which downloads them or
/// takes them from the cache) and compared byte for byte. So a hand edit,
/// or a change to the generator without regenerating, fails here.
///
/// Whether Debian has published newer versions is not this test's
/// business (it would fail after every point release):
/// `scripts/make-targets.sh --check` tells a maintainer. A target whose
/// recorded versions the mirror no longer offers, and the cache does not
/// hold, is named and not compared.
#[test]
#[ignore = "downloads Debian packages; run scripts/test.sh"]
fn embedded_data_reproduces_from_its_recorded_versions() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let names: Vec<String> = target::embedded_names()
        .iter()
        .map(|n| {
            let (image, arch) = n.split_once(':').unwrap_or((n, "amd64"));
            format!("{}-{arch}", image.trim_start_matches("distroless/"))
        })
        .collect();
    let status = Command::new(repo.join("scripts/make-targets.sh"))
        .arg("--pinned")
        .arg("--out")
        .arg(out.path())
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_ldslim"))
        .args(&names)
        .env("CI", "true")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "scripts/make-targets.sh --pinned failed: {status}"
    );

    let mut problems = Vec::new();
    let mut compared = 0;
    for name in &names {
        let gone = out.path().join(format!("{name}.unavailable"));
        if let Ok(why) = std::fs::read_to_string(&gone) {
            eprintln!("note: {name} not compared: {}", why.trim());
            continue;
        }
        let file = format!("{name}.jsonl");
        let fresh = std::fs::read_to_string(out.path().join(&file))
            .unwrap_or_else(|e| panic!("{file}: not made and not marked unavailable: {e}"));
        let committed = std::fs::read_to_string(repo.join("src/target/data").join(&file)).unwrap();
        compared += 1;
        if fresh != committed {
            let line = fresh
                .lines()
                .zip(committed.lines())
                .position(|(a, b)| a != b)
                .map_or(fresh.lines().count().min(committed.lines().count()), |i| i)
                + 1;
            problems.push(format!("{file}: differs from line {line}"));
        }
    }
    eprintln!("{compared} of {} targets rebuilt and compared", names.len());
    assert!(
        problems.is_empty(),
        "the embedded target data is not what its recorded package versions make:\n  {}\n\
         The generator (ldslim target-data, scripts/distroless-root.sh) changed, or the data \
         was edited: run scripts/make-targets.sh, review `git diff src/target/data/` and commit.",
        problems.join("\n  ")
    );
}
