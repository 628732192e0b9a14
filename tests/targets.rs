//! The embedded targets: what each distroless image really contains, checked
//! against facts of the Debian packages it is built from, and (ignored, run
//! by scripts/test.sh) regenerated from the current Debian packages to catch
//! drift between the committed data and the archive.

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
    let heads: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(heads.len(), 16, "{text}");
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

/// Regenerates every embedded target from the current Debian packages
/// (scripts/make-targets.sh, which downloads them) and compares the result
/// byte for byte with the committed data.
#[test]
#[ignore = "downloads Debian packages; run scripts/test.sh"]
fn embedded_data_matches_current_debian_packages() {
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
        .arg("--out")
        .arg(out.path())
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_ldslim"))
        .args(&names)
        .env("CI", "true")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "scripts/make-targets.sh failed: {status}");

    let mut problems = Vec::new();
    for name in &names {
        let file = format!("{name}.jsonl");
        let fresh = std::fs::read_to_string(out.path().join(&file)).unwrap();
        let committed = std::fs::read_to_string(repo.join("src/target/data").join(&file)).unwrap();
        if fresh == committed {
            continue;
        }
        let (new, old) = (
            target::parse(&fresh).unwrap(),
            target::parse(&committed).unwrap(),
        );
        let moved: Vec<String> = new
            .info
            .packages
            .iter()
            .filter(|p| !old.info.packages.contains(p))
            .map(|(n, v)| {
                let was = old.info.packages.iter().find(|(o, _)| o == n);
                format!("{n} {} -> {v}", was.map_or("(none)", |(_, v)| v.as_str()))
            })
            .collect();
        if moved.is_empty() {
            let line = fresh
                .lines()
                .zip(committed.lines())
                .position(|(a, b)| a != b)
                .map_or(fresh.lines().count().min(committed.lines().count()), |i| i)
                + 1;
            problems.push(format!(
                "{file}: same package versions but a different listing from line {line} \
                 (did the generator change?)"
            ));
        } else {
            problems.push(format!("{file}: Debian has moved on: {}", moved.join(", ")));
        }
    }
    assert!(
        problems.is_empty(),
        "the embedded target data no longer matches the Debian packages:\n  {}\n\
         Run scripts/make-targets.sh, review `git diff src/target/data/` and commit it.",
        problems.join("\n  ")
    );
}
