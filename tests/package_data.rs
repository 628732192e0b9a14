//! The package-data rule: the data files of a copied library's Debian
//! package, and of the data-only packages it depends on, join the plan;
//! documentation, programs and packages that are more than data do not.

mod common;

use std::collections::BTreeSet;

use common::World;
use serde_json::Value;

const LIB: &str = "/usr/lib/x86_64-linux-gnu/libfoo.so.1";

/// A builder whose program needs libfoo.so.1, installed by libfoo1, which
/// depends on libfoo-data (data only), a virtual package provided by
/// fonts-bar (data only, reached through its alternative), and debconf
/// (a program: not data); a dpkg database that says so.
fn world() -> World {
    let w = World::new();
    w.lib(LIB, "libfoo.so.1", &[], &[]);
    w.exe("/usr/bin/app", &[LIB], &[]);
    w.write("/etc/foo.conf", b"conf");
    w.write("/usr/share/doc/libfoo1/copyright", b"(c)");
    w.write("/usr/share/foo/db-1", b"db");
    w.symlink("db-1", "/usr/share/foo/db");
    w.write("/usr/share/locale/de/LC_MESSAGES/foo.mo", b"mo");
    w.write("/usr/share/fonts/bar.ttf", b"font");
    w.write("/usr/bin/debconf", b"#!/usr/bin/perl\n");
    w.write("/usr/share/debconf/confmodule", b"sh");
    // A maintainer helper script of the library's package is not data.
    w.write("/usr/share/libfoo1/cleanup", b"#!/bin/sh\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        w.host("/usr/share/libfoo1/cleanup"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let stanza = |name: &str, arch: &str, more: &str| {
        format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: {arch}\nVersion: 1.0\n{more}\n"
        )
    };
    let status = [
        stanza("libfoo1", "amd64", "Depends: libc6 (>= 2.34), libfoo-data (= 1.0), fonts-missing | fonts-virtual, debconf | debconf-2.0\n"),
        stanza("libfoo-data", "all", ""),
        stanza("fonts-bar", "all", "Provides: fonts-virtual\n"),
        stanza("debconf", "all", ""),
    ]
    .join("");
    w.write("/var/lib/dpkg/status", status.as_bytes());
    let list = |name: &str, paths: &[&str]| {
        let mut text = String::from("/.\n");
        for p in paths {
            text.push_str(p);
            text.push('\n');
        }
        w.write(&format!("/var/lib/dpkg/info/{name}"), text.as_bytes());
    };
    list(
        "libfoo1:amd64.list",
        &[
            "/etc",
            "/etc/foo.conf",
            "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
            "/usr/share/doc/libfoo1/copyright",
        ],
    );
    list(
        "libfoo-data.list",
        &[
            "/usr/share/foo",
            "/usr/share/foo/db",
            "/usr/share/foo/db-1",
            "/usr/share/locale/de/LC_MESSAGES/foo.mo",
        ],
    );
    list("fonts-bar.list", &["/usr/share/fonts/bar.ttf"]);
    list(
        "debconf.list",
        &["/usr/bin/debconf", "/usr/share/debconf/confmodule"],
    );
    w
}

fn plan(w: &World, target: &World, extra: &[&str]) -> Value {
    let t = target.root.display().to_string();
    let mut args = vec!["/usr/bin/app", "--target", t.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let o = w.ldslim("scan", &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["plan"].clone()
}

fn dests(plan: &Value) -> BTreeSet<String> {
    plan["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dest"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn data_of_a_copied_librarys_packages_is_planned_by_the_rule() {
    let w = world();
    let target = World::new();
    let p = plan(&w, &target, &[]);
    let got = dests(&p);
    let want: BTreeSet<String> = [
        LIB,
        "/etc/foo.conf",
        "/usr/share/foo/db",
        "/usr/share/foo/db-1",
        "/usr/share/fonts/bar.ttf",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(got, want, "{p:#}");
    let data = p["package_data"].as_array().unwrap();
    let summary: Vec<(String, Vec<String>)> = data
        .iter()
        .map(|d| {
            (
                d["package"].as_str().unwrap().to_string(),
                d["via"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "fonts-bar".to_string(),
                vec!["libfoo1".into(), "fonts-bar".into()]
            ),
            (
                "libfoo-data".into(),
                vec!["libfoo1".into(), "libfoo-data".into()]
            ),
            ("libfoo1".into(), vec!["libfoo1".into()]),
        ]
    );
    let item = p["copy"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["dest"] == "/usr/share/foo/db")
        .unwrap()
        .clone();
    assert_eq!(item["kind"]["type"], "symlink");
    assert_eq!(
        item["chain"][0],
        format!("data of Debian package libfoo-data (libfoo1 > libfoo-data), for {LIB}")
    );
    // Switched off: the library alone.
    let p = plan(&w, &target, &["--no-package-data"]);
    assert_eq!(dests(&p), BTreeSet::from([LIB.to_string()]));
    assert!(p.get("package_data").is_none(), "{p:#}");
}

#[test]
fn a_library_the_target_has_brings_no_data() {
    let w = world();
    let target = World::new();
    target.lib(LIB, "libfoo.so.1", &[], &[]);
    let p = plan(&w, &target, &[]);
    assert!(dests(&p).is_empty(), "{p:#}");
}

#[test]
fn a_data_package_the_target_carries_is_left_to_it() {
    // distroless records its packages in /var/lib/dpkg/status.d (tzdata,
    // for one): their files are the target's, even where it is not known
    // file by file.
    let w = world();
    let target = World::new();
    target.write("/var/lib/dpkg/status.d/fonts-bar", b"Package: fonts-bar\n");
    let p = plan(&w, &target, &[]);
    let got = dests(&p);
    assert!(!got.contains("/usr/share/fonts/bar.ttf"), "{got:?}");
    assert!(got.contains("/usr/share/foo/db-1"), "{got:?}");
}
