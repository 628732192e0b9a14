//! One loader rule per test, on tiny roots built from `testdata/rules/`.
//! Each asserts ldslim's whole answer and, as root, that glibc's own
//! loader under chroot gives the same.

mod common;
use common::World;

const LIBC: &str = "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6";
const RTLD: &str = "/lib64/ld-linux-x86-64.so.2";
const RPATH: &str = "-Wl,--disable-new-dtags";
const RUNPATH: &str = "-Wl,--enable-new-dtags";

#[test]
fn default_directories_resolve_libc_and_loader() {
    let w = World::new();
    w.lib("/usr/lib/x86_64-linux-gnu/libx.so.1", "libx.so.1", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &["/usr/lib/x86_64-linux-gnu/libx.so.1"],
        &[],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "libx.so.1 => /usr/lib/x86_64-linux-gnu/libx.so.1",
            LIBC,
            RTLD,
        ],
    );
}

#[test]
fn rpath_beats_library_path_beats_runpath() {
    let w = World::new();
    for dir in ["/opt/r", "/opt/llp", "/opt/run"] {
        w.lib(&format!("{dir}/libx.so.1"), "libx.so.1", &[], &[]);
    }
    w.exe(
        "/usr/bin/with-rpath",
        &["/opt/r/libx.so.1"],
        &[RPATH, "-Wl,-rpath,/opt/r"],
    );
    w.exe(
        "/usr/bin/with-runpath",
        &["/opt/run/libx.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/run"],
    );
    // DT_RPATH is searched before LD_LIBRARY_PATH...
    w.expect(
        "/usr/bin/with-rpath",
        Some("/opt/llp"),
        &["libx.so.1 => /opt/r/libx.so.1", LIBC, RTLD],
    );
    // ...which is searched before DT_RUNPATH.
    w.expect(
        "/usr/bin/with-runpath",
        Some("/opt/llp"),
        &["libx.so.1 => /opt/llp/libx.so.1", LIBC, RTLD],
    );
    w.expect(
        "/usr/bin/with-runpath",
        None,
        &["libx.so.1 => /opt/run/libx.so.1", LIBC, RTLD],
    );
}

/// main -> liba (default dir, RPATH /opt/a) -> libb (/opt/a, nothing) ->
/// libq, which only /opt/a has: found through liba's RPATH, inherited.
#[test]
fn rpath_is_inherited_from_the_loader_chain() {
    let w = World::new();
    w.lib("/opt/a/libq.so.1", "libq.so.1", &[], &[]);
    w.lib("/opt/a/libb.so.1", "libb.so.1", &["/opt/a/libq.so.1"], &[]);
    w.lib(
        "/usr/lib/x86_64-linux-gnu/liba.so.1",
        "liba.so.1",
        &["/opt/a/libb.so.1"],
        &[RPATH, "-Wl,-rpath,/opt/a"],
    );
    w.exe(
        "/usr/bin/app",
        &["/usr/lib/x86_64-linux-gnu/liba.so.1"],
        &[],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "liba.so.1 => /usr/lib/x86_64-linux-gnu/liba.so.1",
            LIBC,
            "libb.so.1 => /opt/a/libb.so.1",
            RTLD,
            "libq.so.1 => /opt/a/libq.so.1",
        ],
    );
    // The reason travels with the edge, and the inheritance is flagged.
    let o = w.ldslim("scan", &["--tree", "/usr/bin/app"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(
            "libq.so.1 => /opt/a/libq.so.1 [rpath of /usr/lib/x86_64-linux-gnu/liba.so.1]"
        ),
        "{text}"
    );
    assert!(
        text.contains("warning: /opt/a/libb.so.1: libq.so.1: found only through the RPATH of"),
        "{text}"
    );
}

/// Same shape with DT_RUNPATH on liba: libb is found (liba's own
/// RUNPATH) but libq is not, because RUNPATH is never inherited.
#[test]
fn runpath_is_not_inherited() {
    let w = World::new();
    w.lib("/opt/a/libq.so.1", "libq.so.1", &[], &[]);
    w.lib("/opt/a/libb.so.1", "libb.so.1", &["/opt/a/libq.so.1"], &[]);
    w.lib(
        "/usr/lib/x86_64-linux-gnu/liba.so.1",
        "liba.so.1",
        &["/opt/a/libb.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/a"],
    );
    w.exe(
        "/usr/bin/app",
        &["/usr/lib/x86_64-linux-gnu/liba.so.1"],
        &[],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "liba.so.1 => /usr/lib/x86_64-linux-gnu/liba.so.1",
            LIBC,
            "libb.so.1 => /opt/a/libb.so.1",
            RTLD,
            "libq.so.1 => not found",
        ],
    );
    let o = w.ldslim("scan", &["/usr/bin"]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("not found: libq.so.1\n  needed by /opt/a/libb.so.1"),
        "{text}"
    );
    assert!(
        text.contains(" 1. /lib/x86_64-linux-gnu/ [default path]"),
        "{text}"
    );
}

/// An object with DT_RUNPATH ignores the DT_RPATH it would inherit.
#[test]
fn rpath_ignored_when_runpath_present() {
    let w = World::new();
    w.lib("/opt/a/libq.so.1", "libq.so.1", &[], &[]);
    w.lib(
        "/opt/a/libb.so.1",
        "libb.so.1",
        &["/opt/a/libq.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/empty"],
    );
    w.exe(
        "/usr/bin/app",
        &["/opt/a/libb.so.1"],
        &[RPATH, "-Wl,-rpath,/opt/a"],
    );
    w.expect(
        "/usr/bin/app",
        None,
        // Placeholders for missing libraries are not in the search list,
        // so the loader lands right after libc, before libq's placeholder.
        &[
            "libb.so.1 => /opt/a/libb.so.1",
            LIBC,
            RTLD,
            "libq.so.1 => not found",
        ],
    );
}

/// $ORIGIN is the directory as found, and `..` after a symlinked
/// directory is physical: /srv/bin -> /opt/app/bin, so
/// $ORIGIN/../lib is /opt/app/lib, never the decoy /srv/lib.
#[test]
fn origin_through_a_symlinked_directory() {
    let w = World::new();
    w.lib("/opt/app/lib/libx.so.1", "libx.so.1", &[], &[]);
    w.lib("/srv/lib/libx.so.1", "libx.so.1", &[], &[]);
    w.exe(
        "/opt/app/bin/app",
        &["/opt/app/lib/libx.so.1"],
        &[RUNPATH, "-Wl,-rpath,$ORIGIN/../lib"],
    );
    w.symlink("/opt/app/bin", "/srv/bin");
    w.expect(
        "/srv/bin/app",
        None,
        &["libx.so.1 => /srv/bin/../lib/libx.so.1", LIBC, RTLD],
    );
    let o = w.ldslim("scan", &["--format", "json", "--tree", "/srv/bin/app"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("[runpath]"), "{text}");
}

/// DF_1_NODEFLIB on the requesting object: neither the default
/// directories nor cache entries under them are used for its needs; other
/// cache entries are. (GNU ld: `-z nodefaultlib`.)
#[test]
fn nodeflib_skips_default_dirs_and_their_cache_entries() {
    let w = World::new();
    w.lib("/usr/lib/x86_64-linux-gnu/libx.so.1", "libx.so.1", &[], &[]);
    w.lib("/opt/c/liby.so.1", "liby.so.1", &[], &[]);
    w.lib(
        "/opt/n/libn.so.1",
        "libn.so.1",
        &["/usr/lib/x86_64-linux-gnu/libx.so.1", "/opt/c/liby.so.1"],
        &["-Wl,-z,nodefaultlib"],
    );
    w.exe(
        "/usr/bin/app",
        &["/opt/n/libn.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/n"],
    );
    w.ldconfig(&["/opt/c"], "new");
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "libn.so.1 => /opt/n/libn.so.1",
            LIBC,
            // libn's libx.so.1: the cache entry is under a default
            // directory, so ignored, and the default directories are skipped.
            "libx.so.1 => not found",
            "liby.so.1 => /opt/c/liby.so.1",
            RTLD,
        ],
    );
    // As the entry itself, libn's own libc.so.6 is not found either;
    // liby's libc.so.6 (no DF_1_NODEFLIB) then comes from the cache.
    w.expect(
        "/opt/n/libn.so.1",
        None,
        &[
            "libx.so.1 => not found",
            "liby.so.1 => /opt/c/liby.so.1",
            "libc.so.6 => not found",
            LIBC,
            RTLD,
        ],
    );
}

/// The entry loads /opt/hidden/libs-real.so by path (its DT_NEEDED has a
/// slash); that object's soname is libs.so.1, which libu then needs.
fn soname_reuse_world() -> World {
    let w = World::new();
    let by_path = w.stub("/opt/hidden/libs-real.so");
    let by_soname = w.stub("libs.so.1");
    w.lib(
        "/usr/lib/x86_64-linux-gnu/libu.so.1",
        "libu.so.1",
        &[&by_soname],
        &[],
    );
    w.exe(
        "/usr/bin/app",
        &[&by_path, "/usr/lib/x86_64-linux-gnu/libu.so.1"],
        &[],
    );
    w.lib("/opt/hidden/libs-real.so", "libs.so.1", &[], &[]);
    w
}

/// A DT_NEEDED equal to a loaded object's DT_SONAME reuses it without a
/// search, even when no search would find it.
#[test]
fn soname_reuse() {
    let w = soname_reuse_world();
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "/opt/hidden/libs-real.so",
            "libu.so.1 => /usr/lib/x86_64-linux-gnu/libu.so.1",
            LIBC,
            RTLD,
        ],
    );
    let o = w.ldslim("scan", &["--tree", "/usr/bin/app"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("libs.so.1 => /opt/hidden/libs-real.so [already loaded]"),
        "{text}"
    );
    assert!(
        text.contains("resolves only because /opt/hidden/libs-real.so was loaded earlier"),
        "{text}"
    );
}

/// The plan's rounds load without the warnings (nothing of the plan reads
/// them): the same objects, from the same paths, and no warning; the
/// default session still finds soname_reuse's.
#[test]
fn a_session_without_warnings_loads_the_same_objects() {
    use ldslim::graph::Session;
    use ldslim::ldso::Options;
    use ldslim::rootfs::Root;
    let w = soname_reuse_world();
    let load = |s: Session| s.load("/usr/bin/app").unwrap();
    let with = load(Session::new(
        Root::new(&w.root).unwrap(),
        Options::default(),
    ));
    let without =
        load(Session::new(Root::new(&w.root).unwrap(), Options::default()).without_warnings());
    assert!(
        with.warnings
            .iter()
            .any(|x| x.message.contains("loaded earlier")),
        "{:?}",
        with.warnings
    );
    assert!(without.warnings.is_empty(), "{:?}", without.warnings);
    let paths = |o: &ldslim::graph::LoadOrder| {
        o.objects
            .iter()
            .map(|x| (x.name.clone(), x.path.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&with), paths(&without));
    assert!(paths(&with).len() >= 4, "{:?}", paths(&with));
}

/// A wrong-class or wrong-machine candidate is skipped and the search
/// goes on to a later directory.
#[test]
fn wrong_class_and_machine_candidates_are_skipped() {
    let w = World::new();
    w.lib("/opt/good/libx.so.1", "libx.so.1", &[], &[]);
    w.lib("/opt/machine/libx.so.1", "libx.so.1", &[], &[]);
    w.lib("/opt/class/libx.so.1", "libx.so.1", &[], &[]);
    // e_machine (offset 18) = EM_AARCH64; e_ident[EI_CLASS] (4) = ELFCLASS32.
    w.patch("/opt/machine/libx.so.1", 18, &183u16.to_le_bytes());
    w.patch("/opt/class/libx.so.1", 4, &[1]);
    w.exe(
        "/usr/bin/app",
        &["/opt/good/libx.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/class:/opt/machine:/opt/good"],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &["libx.so.1 => /opt/good/libx.so.1", LIBC, RTLD],
    );
}

fn cache_case(format: &str) {
    let w = World::new();
    w.lib("/opt/c/libcached.so.3", "libcached.so.3", &[], &[]);
    w.exe("/usr/bin/app", &["/opt/c/libcached.so.3"], &[]);
    w.expect(
        "/usr/bin/app",
        None,
        &["libcached.so.3 => not found", LIBC, RTLD],
    );
    w.ldconfig(&["/opt/c"], format);
    w.expect(
        "/usr/bin/app",
        None,
        &["libcached.so.3 => /opt/c/libcached.so.3", LIBC, RTLD],
    );
}

#[test]
fn ld_so_cache_new_format() {
    cache_case("new");
}

#[test]
fn ld_so_cache_old_format() {
    cache_case("old");
}

#[test]
fn ld_so_cache_compat_format() {
    cache_case("compat");
}

/// /lib -> usr/lib: the first default directory, /lib/x86_64-linux-gnu,
/// finds what is physically in /usr/lib/x86_64-linux-gnu.
#[test]
fn usr_merged_root() {
    let w = World::usr_merged();
    w.lib("/usr/lib/x86_64-linux-gnu/libx.so.1", "libx.so.1", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &["/usr/lib/x86_64-linux-gnu/libx.so.1"],
        &[],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &["libx.so.1 => /lib/x86_64-linux-gnu/libx.so.1", LIBC, RTLD],
    );
}

/// /opt/up -> / is the root's `/`, never the host's: a library the host
/// has in its default directories is not found through it.
#[test]
fn absolute_symlink_to_slash_stays_in_the_root() {
    let w = World::new();
    w.lib("/usr/lib/x86_64-linux-gnu/libx.so.1", "libx.so.1", &[], &[]);
    w.symlink("/", "/opt/up");
    // libz.so.1 exists on the host, not in the root.
    let libz = w.stub("libz.so.1");
    w.exe(
        "/usr/bin/app",
        &["/usr/lib/x86_64-linux-gnu/libx.so.1", &libz],
        &[RUNPATH, "-Wl,-rpath,/opt/up/usr/lib/x86_64-linux-gnu"],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "libx.so.1 => /opt/up/usr/lib/x86_64-linux-gnu/libx.so.1",
            "libz.so.1 => not found",
            LIBC,
            RTLD,
        ],
    );
}

/// A missing library is reported once per object that needs it, as
/// glibc's trace mode does (its placeholder is never reused).
#[test]
fn missing_library_listed_per_requester() {
    let w = World::new();
    let gone = w.stub("libgone.so.1");
    w.lib(
        "/usr/lib/x86_64-linux-gnu/liba.so.1",
        "liba.so.1",
        &[&gone],
        &[],
    );
    w.exe(
        "/usr/bin/app",
        &["/usr/lib/x86_64-linux-gnu/liba.so.1", &gone],
        &[],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "liba.so.1 => /usr/lib/x86_64-linux-gnu/liba.so.1",
            "libgone.so.1 => not found",
            LIBC,
            RTLD,
            "libgone.so.1 => not found",
        ],
    );
}

/// An edge that resolves only because another object loaded the library
/// first is flagged.
#[test]
fn load_order_dependence_is_warned() {
    let w = World::new();
    w.lib("/opt/p/libp.so.1", "libp.so.1", &[], &[]);
    w.lib(
        "/usr/lib/x86_64-linux-gnu/libk.so.1",
        "libk.so.1",
        &["/opt/p/libp.so.1"],
        &[],
    );
    w.exe(
        "/usr/bin/app",
        &["/opt/p/libp.so.1", "/usr/lib/x86_64-linux-gnu/libk.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/p"],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "libp.so.1 => /opt/p/libp.so.1",
            "libk.so.1 => /usr/lib/x86_64-linux-gnu/libk.so.1",
            LIBC,
            RTLD,
        ],
    );
    let o = w.ldslim("scan", &["/usr/bin", "--format", "json"]);
    let text = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let warnings = v["warnings"].as_array().expect("warnings array");
    assert!(
        warnings
            .iter()
            .any(|x| x["object"] == "/usr/lib/x86_64-linux-gnu/libk.so.1"
                && x["needed"] == "libp.so.1"
                && x["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("resolves only because")),
        "{text}"
    );
    assert_eq!(o.status.code(), Some(0), "warnings alone are not findings");
}

/// A real 32-bit object (built with `-m32 -nostdlib`) named like the
/// library is skipped for the 64-bit requester, as glibc skips it.
#[test]
fn real_32_bit_candidate_is_skipped() {
    let w = World::new();
    w.lib("/opt/good/libx.so.1", "libx.so.1", &[], &[]);
    w.lib32("/opt/i386/libx.so.1", "libx.so.1");
    w.exe(
        "/usr/bin/app",
        &["/opt/good/libx.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/i386:/opt/good"],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &["libx.so.1 => /opt/good/libx.so.1", LIBC, RTLD],
    );
    // The tree says what was skipped when nothing else is there.
    std::fs::remove_file(w.host("/opt/good/libx.so.1")).unwrap();
    let o = w.ldslim("scan", &["/usr/bin"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("/opt/i386/libx.so.1: skipped, wrong ELF class: ELFCLASS32"),
        "{text}"
    );
}

/// glibc-hwcaps subdirectories are tried before each directory; with
/// `--hwcaps baseline` they are not.
#[test]
fn glibc_hwcaps_subdirectories_first() {
    let w = World::new();
    w.lib("/opt/h/libx.so.1", "libx.so.1", &[], &[]);
    w.lib(
        "/opt/h/glibc-hwcaps/x86-64-v2/libx.so.1",
        "libx.so.1",
        &[],
        &[],
    );
    w.exe(
        "/usr/bin/app",
        &["/opt/h/libx.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/h"],
    );
    if ldslim::ldso::cpu::Cpu::host().level >= 2 {
        w.expect(
            "/usr/bin/app",
            None,
            &[
                "libx.so.1 => /opt/h/glibc-hwcaps/x86-64-v2/libx.so.1",
                LIBC,
                RTLD,
            ],
        );
    }
    let lines = w.ldd("/usr/bin/app", &["--hwcaps", "baseline"]);
    assert_eq!(lines[0], "\tlibx.so.1 => /opt/h/libx.so.1");
}

/// A root whose program finds liba through `$LIB` and libb through
/// `$PLATFORM`, which only the `x86_64` and `haswell` platforms have.
fn platform_world() -> World {
    let w = World::new();
    w.lib(
        "/opt/t/lib/x86_64-linux-gnu/liba.so.1",
        "liba.so.1",
        &[],
        &[],
    );
    w.lib("/opt/p/x86_64/libb.so.1", "libb.so.1", &[], &[]);
    w.lib("/opt/p/haswell/libb.so.1", "libb.so.1", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &[
            "/opt/t/lib/x86_64-linux-gnu/liba.so.1",
            "/opt/p/x86_64/libb.so.1",
        ],
        &[RUNPATH, "-Wl,-rpath,/opt/t/$LIB:/opt/p/${PLATFORM}"],
    );
    w
}

fn platform_lines(platform: &str) -> Vec<String> {
    vec![
        "liba.so.1 => /opt/t/lib/x86_64-linux-gnu/liba.so.1".into(),
        format!("libb.so.1 => /opt/p/{platform}/libb.so.1"),
        LIBC.into(),
        RTLD.into(),
    ]
}

/// `$LIB` is Debian's `lib/x86_64-linux-gnu`; `$PLATFORM` is the platform
/// glibc gives the CPU: `haswell` on Intel CPUs since Haswell, `x86_64`
/// (the kernel's AT_PLATFORM) on others. Whatever CPU runs the test,
/// ldslim told a platform answers for it, says what the others load, and
/// agrees with glibc on this machine's CPU.
#[test]
fn lib_and_platform_tokens() {
    let w = platform_world();
    for platform in ["x86_64", "haswell"] {
        let lines = w.ldd("/usr/bin/app", &["--platform", platform]);
        let want: Vec<String> = platform_lines(platform)
            .iter()
            .map(|l| format!("\t{l}"))
            .collect();
        assert_eq!(lines, want, "--platform {platform}");
    }
    let o = w.ldslim(
        "ldd",
        &[
            "/usr/bin/app",
            "--platform",
            "xeon_phi",
            "--hwcaps",
            "x86-64-v3",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("\tlibb.so.1 => not found\n"), "{text}");
    assert_eq!(o.status.code(), Some(1));
    // What the other kinds of CPU load, whichever this one is.
    let notes = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        notes,
        "ldslim: depends on the CPU: /usr/bin/app needs libb.so.1:\n\
         ldslim:     /opt/p/x86_64/libb.so.1 on x86_64/baseline, x86_64/x86-64-v2, x86_64/x86-64-v3, x86_64/x86-64-v4\n\
         ldslim:     /opt/p/haswell/libb.so.1 on haswell/x86-64-v3, haswell/x86-64-v4\n\
         ldslim:     not found on xeon_phi/x86-64-v3\n"
    );
    let here = w.ldd("/usr/bin/app", &[]);
    if let Some(glibc) = w.glibc("/usr/bin/app", None) {
        assert_eq!(here, glibc, "ldslim and glibc on this machine's CPU");
    }
}

/// The same program on each CPU qemu emulates, Intel's Haswell among
/// them: ldslim told the CPU, ldslim running on it (reading the CPU
/// itself) and glibc running on it load the same libb.
#[test]
#[ignore = "needs root and qemu-user-static; run scripts/test.sh"]
fn platform_token_on_every_kind_of_cpu() {
    let w = platform_world();
    w.expect_on_every_cpu("/usr/bin/app", |cpu| platform_lines(cpu.platform));
}

/// Before glibc 2.37 every search directory is tried with the legacy
/// subdirectories first, built from the platform and the HWCAP names, and
/// after the glibc-hwcaps ones: which file wins depends on the CPU.
#[test]
#[ignore = "needs root and qemu-user-static; run scripts/test.sh"]
fn legacy_and_hwcaps_subdirectories_on_every_kind_of_cpu() {
    let w = World::new();
    let libs: &[(&str, &[&str])] = &[
        // haswell/ on Intel, x86_64/ (the HWCAP name) everywhere else.
        ("liba.so.1", &["haswell", "x86_64", ""]),
        // glibc-hwcaps/ from x86-64-v2 up, tls/ below.
        ("libb.so.1", &["glibc-hwcaps/x86-64-v2", "tls", ""]),
        // platform/hwcap pairs.
        ("libq.so.1", &["haswell/x86_64", "x86_64", ""]),
        // Only the x86_64 platform tries x86_64/x86_64: Haswell finds none.
        ("libr.so.1", &["x86_64/x86_64"]),
    ];
    let mut needs = Vec::new();
    for (name, dirs) in libs {
        for d in dirs.iter() {
            let dir = if d.is_empty() {
                "/opt/h".to_string()
            } else {
                format!("/opt/h/{d}")
            };
            w.lib(&format!("{dir}/{name}"), name, &[], &[]);
        }
        needs.push(format!("/opt/h/{}/{name}", dirs[0]));
    }
    let needs: Vec<&str> = needs.iter().map(String::as_str).collect();
    w.exe("/usr/bin/app", &needs, &[RUNPATH, "-Wl,-rpath,/opt/h"]);
    w.expect_on_every_cpu("/usr/bin/app", |cpu| {
        let intel = cpu.platform == "haswell";
        let found = |n: &str, d: &str| format!("{n} => /opt/h/{d}/{n}");
        vec![
            found("liba.so.1", if intel { "haswell" } else { "x86_64" }),
            found(
                "libb.so.1",
                if cpu.hwcaps == "baseline" {
                    "tls"
                } else {
                    "glibc-hwcaps/x86-64-v2"
                },
            ),
            found("libq.so.1", if intel { "haswell/x86_64" } else { "x86_64" }),
            if intel {
                "libr.so.1 => not found".to_string()
            } else {
                found("libr.so.1", "x86_64/x86_64")
            },
            LIBC.into(),
            RTLD.into(),
        ]
    });
}

/// The subdirectories tried in a search directory, in order, are exactly
/// those glibc's LD_DEBUG=libs lists on each emulated CPU.
#[test]
#[ignore = "needs root and qemu-user-static; run scripts/test.sh"]
fn subdirectory_order_is_glibcs_on_every_kind_of_cpu() {
    use ldslim::ldso::abi::ABIS;
    use ldslim::ldso::cpu::{Cpu, Platform, subdirs};
    let w = World::new();
    w.lib("/opt/n/libx.so.1", "libx.so.1", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &["/opt/n/libx.so.1"],
        &[RUNPATH, "-Wl,-rpath,/nowhere"],
    );
    for cpu in common::EMULATED {
        let o = w.run_on(
            cpu,
            &[("LD_DEBUG", "libs"), ("LD_TRACE_LOADED_OBJECTS", "1")],
            &[common::INTERP, "/usr/bin/app"],
        );
        let debug = String::from_utf8_lossy(&o.stderr);
        let glibc: Vec<String> = debug
            .lines()
            .find_map(|l| l.split_once("search path=/nowhere").map(|x| x.1))
            .and_then(|rest| rest.split('\t').next())
            .unwrap_or_else(|| panic!("no RUNPATH search on {}: {debug}", cpu.model))
            .split(":/nowhere")
            .map(|s| s.trim_start_matches('/').to_string())
            .collect();
        let level = match cpu.hwcaps {
            "baseline" => 1,
            h => h.trim_start_matches("x86-64-v").parse().unwrap(),
        };
        let ours = Cpu {
            level,
            platform: Platform::from_name(cpu.platform).unwrap(),
        };
        let x86_64 = ABIS.iter().find(|a| a.name == "x86_64").unwrap();
        let ours: Vec<String> = subdirs(&ours.for_abi(x86_64), Some(36))
            .iter()
            .map(|s| s.trim_end_matches('/').to_string())
            .collect();
        // Both end with the directory itself ("").
        assert_eq!(ours, glibc, "{} ({})", cpu.model, cpu.name);
    }
}

/// A DT_NEEDED with a slash and `$ORIGIN` is opened as a path after
/// expansion, with no search.
#[test]
fn needed_with_origin_and_slash_is_a_path() {
    let w = World::new();
    w.lib("/opt/app/plugins/libplug.so", "libplug.so", &[], &[]);
    let by_path = w.stub("$ORIGIN/../plugins/libplug.so");
    w.exe("/opt/app/bin/app", &[&by_path], &[]);
    w.expect(
        "/opt/app/bin/app",
        None,
        &["/opt/app/bin/../plugins/libplug.so", LIBC, RTLD],
    );
}

/// Two names for one file (a symlink in an RPATH directory) load it once:
/// glibc compares device and inode.
#[test]
fn same_file_under_two_names_loads_once() {
    let w = World::new();
    w.lib("/opt/real/libx.so.1.2", "libx.so.1", &[], &[]);
    w.symlink("libx.so.1.2", "/opt/real/libx.so.1");
    w.symlink("/opt/real/libx.so.1.2", "/opt/alias/libx-alias.so");
    let alias = w.stub("libx-alias.so");
    w.lib(
        "/opt/real/liby.so.1",
        "liby.so.1",
        &[&alias],
        &[RUNPATH, "-Wl,-rpath,/opt/alias"],
    );
    w.exe(
        "/usr/bin/app",
        &["/opt/real/libx.so.1", "/opt/real/liby.so.1"],
        &[RUNPATH, "-Wl,-rpath,/opt/real"],
    );
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "libx.so.1 => /opt/real/libx.so.1",
            "liby.so.1 => /opt/real/liby.so.1",
            LIBC,
            RTLD,
        ],
    );
    let o = w.ldslim("scan", &["--tree", "/usr/bin/app"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("libx-alias.so => /opt/real/libx.so.1 [same file as a loaded object]"),
        "{text}"
    );
}

/// An empty RUNPATH element is the working directory: glibc tries the
/// bare name, which under chroot is relative to `/`.
#[test]
fn empty_search_path_element_is_the_working_directory() {
    let w = World::new();
    w.lib("/libq.so.1", "libq.so.1", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &["/libq.so.1"],
        &[RUNPATH, "-Wl,-rpath,:/nonexistent"],
    );
    w.expect("/usr/bin/app", None, &["libq.so.1", LIBC, RTLD]);
}

/// /etc/ld.so.preload of the root: its objects load right after the
/// program, before its dependencies; a missing one is ignored.
#[test]
fn ld_so_preload_of_the_root() {
    let w = World::new();
    w.lib("/usr/lib/x86_64-linux-gnu/libpre.so", "libpre.so", &[], &[]);
    w.lib("/usr/lib/x86_64-linux-gnu/libx.so.1", "libx.so.1", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &["/usr/lib/x86_64-linux-gnu/libx.so.1"],
        &[],
    );
    w.write("/etc/ld.so.preload", b"libpre.so  libabsent.so\n");
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "libpre.so => /usr/lib/x86_64-linux-gnu/libpre.so",
            "libx.so.1 => /usr/lib/x86_64-linux-gnu/libx.so.1",
            LIBC,
            RTLD,
        ],
    );
}

/// The `/etc/ld.so.cache` ldslim writes for an image is one glibc's own
/// loader searches and `ldconfig -p` prints, with the flags
/// `ctypes.util.find_library` looks for (`libc6,x86-64`).
#[test]
fn generated_cache_is_read_by_glibc_and_ldconfig() {
    use ldslim::ldso::cache::ByteOrder;
    use ldslim::ldso::cache_write::{CacheRecord, new_format};
    let w = World::new();
    w.lib("/opt/x/libfoo.so.1", "libfoo.so.1", &[], &[]);
    w.lib("/opt/y/libbar.so.10", "libbar.so.10", &[], &[]);
    w.exe(
        "/usr/bin/app",
        &["/opt/x/libfoo.so.1", "/opt/y/libbar.so.10"],
        &[],
    );
    let rec = |name: &str, path: &str| CacheRecord {
        name: name.into(),
        path: path.into(),
        flags: 0x0303,
    };
    w.write(
        "/etc/ld.so.cache",
        &new_format(
            &[
                rec("libfoo.so.1", "/opt/x/libfoo.so.1"),
                rec("libbar.so.10", "/opt/y/libbar.so.10"),
                rec("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
            ],
            ByteOrder::Little,
        ),
    );
    // Found through the cache (neither directory is searched otherwise).
    w.expect(
        "/usr/bin/app",
        None,
        &[
            "libfoo.so.1 => /opt/x/libfoo.so.1",
            "libbar.so.10 => /opt/y/libbar.so.10",
            LIBC,
            RTLD,
        ],
    );
    if !common::can_chroot() {
        return common::cannot_run("not root: ldconfig -p of the written cache");
    }
    let o = std::process::Command::new("/sbin/ldconfig")
        .arg("-p")
        .arg("-C")
        .arg(w.host("/etc/ld.so.cache"))
        .env_clear()
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text,
        "3 libs found in cache `".to_string()
            + &w.host("/etc/ld.so.cache").display().to_string()
            + "'\n\
             \tlibfoo.so.1 (libc6,x86-64) => /opt/x/libfoo.so.1\n\
             \tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6\n\
             \tlibbar.so.10 (libc6,x86-64) => /opt/y/libbar.so.10\n"
    );
}
