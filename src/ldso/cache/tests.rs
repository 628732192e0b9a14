use super::extensions::{EXT_TAG_GENERATOR, EXT_TAG_GLIBC_HWCAPS, EXTENSION_MAGIC};
use super::flags::{EF_MIPS_ABI2, EF_MIPS_NAN2008};
use super::lookup::libcmp;
use super::parse::{NEW_MAGIC, OLD_MAGIC};
use super::*;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LDCONFIG: &str = "/sbin/ldconfig";
const X86_64: u32 = 0x303;
const I386: u32 = 3;
const X32: u32 = 0x803;
const HOST_LDSO: &str = "/lib64/ld-linux-x86-64.so.2";
const HOST_LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";
const V3: &[&str] = &["x86-64-v3", "x86-64-v2"];
const V2: &[&str] = &["x86-64-v2"];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/ldcache")
}

fn ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Fails the test, saying what is missing, unless ldconfig can run.
fn need_tools() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(root, "needs root: ldconfig -r chroots");
    assert!(Path::new(LDCONFIG).exists(), "needs {LDCONFIG}");
    assert!(ok(Command::new("cc").arg("--version")), "needs cc");
}

/// x86-64 libraries: (soname, directory under the root).
const LIBS64: &[(&str, &str)] = &[
    ("libfoo.so.1", "usr/lib/x86_64-linux-gnu"),
    (
        "libfoo.so.1",
        "usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3",
    ),
    ("libbar.so.2", "lib"),
    ("libbaz.so.3", "opt/x/lib"),
    ("libdup.so.7", "opt/x/lib"),
    ("libdup.so.7", "usr/lib/x86_64-linux-gnu"),
    ("libnum.so.9", "lib"),
    ("libnum.so.10", "lib"),
    ("libi.so.1", "usr/lib/x86_64-linux-gnu"),
];

/// Libraries in legacy hwcaps subdirectories (glibc ≤ 2.36 ldconfig
/// gives them hwcap bits), each shadowing a plain one in /lib.
const LEGACY: &[(&str, &str)] = &[
    ("libtl.so.1", "lib/tls"),
    ("libxx.so.1", "lib/x86_64"),
    ("libhw.so.1", "lib/haswell"),
];

/// A tiny root filesystem with libraries, built at test time.
struct Fixture {
    /// Holds the temporary directory alive.
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Scratch space outside the root.
    build: PathBuf,
    /// i386 and x32 libraries could be built (binutils only).
    has_32: bool,
    /// The host's x86-64 libc and ld.so were copied in.
    has_libc: bool,
}

impl Fixture {
    /// The standard root: [`LIBS64`], i386/x32 libraries and the host's
    /// libc and ld.so, plus the [`LEGACY`] libraries if asked.
    fn build(legacy: bool) -> Fixture {
        let mut libs: Vec<(&str, &str)> = LIBS64.to_vec();
        if legacy {
            for &(soname, dir) in LEGACY {
                libs.push((soname, dir));
                libs.push((soname, "lib"));
            }
        }
        Fixture::build_from(&libs, true)
    }

    fn build_from(libs: &[(&str, &str)], extras: bool) -> Fixture {
        need_tools();
        let dir = tempfile::tempdir().unwrap();
        // Build artefacts stay out of the root.
        let root = dir.path().join("root");
        let build = dir.path().join("build");
        fs::create_dir_all(&build).unwrap();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/ld.so.conf"), "/opt/x/lib\n/lib\n").unwrap();
        let src = testdata().join("lib.c");
        for &(soname, dir) in libs {
            fs::create_dir_all(root.join(dir)).unwrap();
            let out = root.join(dir).join(soname);
            let status = Command::new("cc")
                .args(["-shared", "-fPIC", "-o"])
                .arg(&out)
                .arg(format!("-Wl,-soname,{soname}"))
                .arg(&src)
                .status()
                .unwrap();
            assert!(status.success(), "cc for {soname}");
        }
        let has_32 = extras && Fixture::build_32(&root, &build);
        let mut has_libc = false;
        if extras && Path::new(HOST_LIBC).exists() && Path::new(HOST_LDSO).exists() {
            fs::create_dir_all(root.join("lib/x86_64-linux-gnu")).unwrap();
            fs::create_dir_all(root.join("lib64")).unwrap();
            fs::copy(HOST_LIBC, root.join("lib/x86_64-linux-gnu/libc.so.6")).unwrap();
            fs::copy(HOST_LDSO, root.join("lib64/ld-linux-x86-64.so.2")).unwrap();
            has_libc = true;
        }
        Fixture {
            _dir: dir,
            root,
            build,
            has_32,
            has_libc,
        }
    }

    /// i386 and x32 libraries from `empty.s` with binutils alone: a
    /// 32-bit `libc.so.6` stub, `libi.so.1` twice without a libc
    /// dependency (ldconfig 2.36 flags those plain "ELF", 1),
    /// `libj.so.1` needing libc.so.6 ("libc6", 3), and x32 `libx.so.1`.
    fn build_32(root: &Path, build: &Path) -> bool {
        let asm = testdata().join("empty.s");
        let o32 = build.join("e32.o");
        let ox32 = build.join("ex32.o");
        if !ok(Command::new("as").arg("--32").arg("-o").arg(&o32).arg(&asm))
            || !ok(Command::new("as")
                .arg("--x32")
                .arg("-o")
                .arg(&ox32)
                .arg(&asm))
        {
            crate::cannot_run("no `as --32`/`--x32`: no i386 and x32 libraries");
            return false;
        }
        let link = |emul: &str, soname: &str, out: &Path, extra: &[&Path]| {
            let obj = if emul == "elf_i386" { &o32 } else { &ox32 };
            ok(Command::new("ld")
                .args(["-m", emul, "-shared", "-soname", soname, "-o"])
                .arg(out)
                .arg(obj)
                .args(extra))
        };
        fs::create_dir_all(root.join("lib")).unwrap();
        fs::create_dir_all(root.join("opt/x/lib")).unwrap();
        let libc32 = root.join("lib/libc.so.6");
        link("elf_i386", "libc.so.6", &libc32, &[])
            && link("elf_i386", "libi.so.1", &root.join("lib/libi.so.1"), &[])
            && link(
                "elf_i386",
                "libi.so.1",
                &root.join("opt/x/lib/libi.so.1"),
                &[],
            )
            && link(
                "elf_i386",
                "libj.so.1",
                &root.join("lib/libj.so.1"),
                &[&libc32],
            )
            && link(
                "elf32_x86_64",
                "libx.so.1",
                &root.join("lib/libx.so.1"),
                &[],
            )
    }

    fn root(&self) -> &Path {
        &self.root
    }

    /// Path inside the root (for ldconfig, which chroots) and outside.
    fn cache_path(&self, format: &str) -> (String, PathBuf) {
        let inner = format!("/etc/ld.so.cache.{format}");
        let outer = self.root().join(&inner[1..]);
        (inner, outer)
    }

    /// Run `ldconfig -r ROOT -c FORMAT`; `-C` and `-f` are looked up
    /// inside the root because ldconfig chroots into it first.
    fn cache(&self, format: &str) -> Vec<u8> {
        self.try_cache(format)
            .unwrap_or_else(|| panic!("ldconfig -c {format} failed"))
    }

    fn try_cache(&self, format: &str) -> Option<Vec<u8>> {
        let (inner, outer) = self.cache_path(format);
        let _ = fs::remove_file(&outer);
        let status = Command::new(LDCONFIG)
            .arg("-r")
            .arg(self.root())
            .args([
                "-X",
                "-i",
                "-C",
                &inner,
                "-f",
                "/etc/ld.so.conf",
                "-c",
                format,
            ])
            .status()
            .unwrap();
        if !status.success() {
            return None;
        }
        fs::read(outer).ok()
    }
}

fn path<'a>(
    c: &'a LdCache,
    name: &str,
    abi: impl Into<CacheAbi>,
    hwcaps: &[&str],
) -> Option<&'a str> {
    c.lookup(name, abi, hwcaps)
}

const FOO: &str = "/usr/lib/x86_64-linux-gnu/libfoo.so.1";
const FOO_V3: &str = "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.1";

/// Answers that do not depend on the format.
fn check_common(c: &LdCache, fx: &Fixture) {
    for hw in [V3, V2, &[][..]] {
        assert_eq!(path(c, "libbar.so.2", X86_64, hw), Some("/lib/libbar.so.2"));
        assert_eq!(
            path(c, "libbaz.so.3", X86_64, hw),
            Some("/opt/x/lib/libbaz.so.3")
        );
        // Same flags in two directories: the first directory ldconfig
        // scanned (ld.so.conf order) is stored first and wins.
        assert_eq!(
            path(c, "libdup.so.7", X86_64, hw),
            Some("/opt/x/lib/libdup.so.7")
        );
        assert_eq!(path(c, "libnum.so.9", X86_64, hw), Some("/lib/libnum.so.9"));
        assert_eq!(
            path(c, "libnum.so.10", X86_64, hw),
            Some("/lib/libnum.so.10")
        );
        // _dl_cache_libcmp compares digit runs as numbers.
        assert_eq!(
            path(c, "libnum.so.010", X86_64, hw),
            Some("/lib/libnum.so.10")
        );
        assert_eq!(
            path(c, "libi.so.1", X86_64, hw),
            Some("/usr/lib/x86_64-linux-gnu/libi.so.1")
        );
        assert_eq!(path(c, "libnope.so.1", X86_64, hw), None);
        assert_eq!(path(c, "libfoo.so", X86_64, hw), None);
        assert_eq!(path(c, "", X86_64, hw), None);
        // Wrong flags: AArch64 entries do not exist here.
        assert_eq!(path(c, "libbar.so.2", 0xa03, hw), None);
    }
    if fx.has_libc {
        assert_eq!(
            path(c, "libc.so.6", X86_64, V3),
            Some("/lib/x86_64-linux-gnu/libc.so.6")
        );
    }
    if fx.has_32 {
        assert_eq!(path(c, "libj.so.1", I386, &[]), Some("/lib/libj.so.1"));
        assert_eq!(path(c, "libj.so.1", X86_64, &[]), None);
        assert_eq!(path(c, "libx.so.1", X32, &[]), Some("/lib/libx.so.1"));
        assert_eq!(path(c, "libx.so.1", X86_64, &[]), None);
        assert_eq!(path(c, "libx.so.1", I386, &[]), None);
        assert_eq!(path(c, "libc.so.6", I386, &[]), Some("/lib/libc.so.6"));
        assert_eq!(path(c, "libbar.so.2", I386, &[]), None);
    }
}

#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn ldconfig_new_format() {
    let fx = Fixture::build(false);
    let c = LdCache::parse(&fx.cache("new")).unwrap();
    assert_eq!(c.format(), CacheFormat::New);
    assert_eq!(c.byte_order(), ByteOrder::Little);
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(
        c.hwcaps_subdirs().collect::<Vec<_>>(),
        vec![&b"x86-64-v3"[..]]
    );
    assert!(c.generator().is_some_and(|g| g.starts_with(b"ldconfig")));
    check_common(&c, &fx);
    // search_cache: a glibc-hwcaps entry the CPU supports beats the
    // plain one; unsupported, it is skipped.
    assert_eq!(path(&c, "libfoo.so.1", X86_64, V3), Some(FOO_V3));
    assert_eq!(path(&c, "libfoo.so.1", X86_64, V2), Some(FOO));
    assert_eq!(path(&c, "libfoo.so.1", X86_64, &[]), Some(FOO));
    assert_eq!(path(&c, "libfoo.so.01", X86_64, V3), Some(FOO_V3));
    if fx.has_32 {
        // i386 accepts flags 1 and 3 and stops only at 3. In the new
        // format the first plain entry after an acceptable one ends
        // the scan, so the first "ELF" entry wins.
        assert_eq!(
            path(&c, "libi.so.1", I386, &[]),
            Some("/opt/x/lib/libi.so.1")
        );
    }
}

#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn ldconfig_old_format() {
    let fx = Fixture::build(false);
    let c = LdCache::parse(&fx.cache("old")).unwrap();
    assert_eq!(c.format(), CacheFormat::Old);
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(c.generator(), None);
    assert_eq!(c.hwcaps_subdirs().count(), 0);
    check_common(&c, &fx);
    // The old table has the glibc-hwcaps entry as a plain entry sorted
    // first: ld.so returns it whatever the CPU (confirmed against the
    // real ld.so in `real_ld_so_agrees`).
    assert_eq!(path(&c, "libfoo.so.1", X86_64, V3), Some(FOO_V3));
    assert_eq!(path(&c, "libfoo.so.1", X86_64, &[]), Some(FOO_V3));
    if fx.has_32 {
        // Old layout: no early stop, each acceptable non-exact entry
        // replaces the previous one, so the *last* "ELF" entry wins.
        assert_eq!(path(&c, "libi.so.1", I386, &[]), Some("/lib/libi.so.1"));
    }
}

#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn ldconfig_compat_format() {
    let fx = Fixture::build(false);
    let bytes = fx.cache("compat");
    let c = LdCache::parse(&bytes).unwrap();
    assert_eq!(c.format(), CacheFormat::Compat);
    check_common(&c, &fx);
    // The hwcaps name index is header-relative but read file-relative:
    // it names garbage, so the glibc-hwcaps entry is never chosen.
    assert_ne!(c.hwcaps_subdirs().next(), Some(&b"x86-64-v3"[..]));
    assert_eq!(path(&c, "libfoo.so.1", X86_64, V3), Some(FOO));
    assert_eq!(path(&c, "libfoo.so.1", X86_64, &[]), Some(FOO));
    if fx.has_32 {
        assert_eq!(
            path(&c, "libi.so.1", I386, &[]),
            Some("/opt/x/lib/libi.so.1")
        );
    }
    // The new table is the one searched: same entries as `-c new`.
    let new = LdCache::parse(&fx.cache("new")).unwrap();
    let strip = |c: &LdCache| -> Vec<(Vec<u8>, Vec<u8>, u32, u64)> {
        c.entries()
            .map(|e| (e.name.to_vec(), e.path.to_vec(), e.flags, e.hwcap))
            .collect()
    };
    assert_eq!(strip(&c), strip(&new));
}

/// One line of `ldconfig -p` for an entry (`elf/cache.c: print_entry`).
fn print_line(e: &CacheEntry<'_>) -> String {
    let hw = match e.hwcaps_subdir {
        Some(s) => format!(", hwcap: \"{}\"", String::from_utf8_lossy(s)),
        None if e.hwcap != 0 => format!(", hwcap: {:#018x}", e.hwcap),
        None => String::new(),
    };
    format!(
        "\t{} ({}{hw}) => {}",
        e.name_lossy(),
        e.flags_description(),
        e.path_lossy()
    )
}

/// Compare every entry with `ldconfig -p -C file`.
fn cross_check_print(file: &Path, c: &LdCache) {
    let printed = stdout(Command::new(LDCONFIG).arg("-p").arg("-C").arg(file));
    let mut lines = printed.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with(&format!("{} libs found in cache", c.len())),
        "{header}"
    );
    let rest: Vec<&str> = lines.collect();
    let ours: Vec<String> = c.entries().map(|e| print_line(&e)).collect();
    assert_eq!(&rest[..ours.len()], &ours[..]);
    match c.generator() {
        Some(g) => assert_eq!(
            rest.get(ours.len()).copied(),
            Some(format!("Cache generated by: {}", String::from_utf8_lossy(g)).as_str())
        ),
        None => assert_eq!(rest.len(), ours.len()),
    }
}

#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn entries_match_ldconfig_print() {
    let fx = Fixture::build(false);
    for format in ["new", "old", "compat"] {
        fx.cache(format);
        let (_, outer) = fx.cache_path(format);
        let c = LdCache::parse(&fs::read(&outer).unwrap()).unwrap();
        cross_check_print(&outer, &c);
    }
}

#[test]
#[ignore = "reads this machine's /etc/ld.so.cache with its ldconfig; run scripts/test.sh"]
fn host_cache_matches_ldconfig_print() {
    let host = Path::new("/etc/ld.so.cache");
    assert!(host.exists(), "needs this machine's /etc/ld.so.cache");
    assert!(Path::new(LDCONFIG).exists(), "needs {LDCONFIG}");
    let c = LdCache::parse(&fs::read(host).unwrap()).unwrap();
    assert!(!c.is_empty());
    assert_eq!(c.validate(), Ok(()));
    cross_check_print(host, &c);
    // Every entry is found again by its own name (the first entry of
    // each name with the host's flags and no hwcaps is the answer).
    let mut firsts: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
    for e in c.entries() {
        if e.flags == X86_64 && e.hwcap == 0 {
            firsts.entry(e.name).or_insert(e.path);
        }
    }
    let q = Query::new(X86_64, &[]);
    for (name, p) in firsts {
        assert_eq!(
            c.lookup_with(name, &q),
            Some(p),
            "{}",
            String::from_utf8_lossy(name)
        );
    }
}

fn chroot_ld_so(root: &Path, opts: &[&str]) -> Command {
    let mut cmd = Command::new("chroot");
    cmd.arg(root)
        .arg("/lib64/ld-linux-x86-64.so.2")
        .args(opts)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    cmd
}

/// What the real ld.so got from the cache for each name it searched
/// while loading /prog: with LD_DEBUG=libs, "search cache=" is followed
/// by "trying file=PATH" (the cache's answer) or by the next search
/// step when the cache had nothing. The log starts with chroot's own
/// startup, which ends at "transferring control".
fn cache_answers(root: &Path, opts: &[&str]) -> BTreeMap<String, Option<String>> {
    let out = chroot_ld_so(root, opts)
        .args(["--list", "/prog"])
        .env("LD_DEBUG", "libs")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let mut answers = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_cache = false;
    for line in log
        .lines()
        .skip_while(|l| !l.contains("transferring control:"))
    {
        let msg = line.split_once(':').map_or("", |(_, m)| m.trim());
        if let Some(rest) = msg.strip_prefix("find library=") {
            current = rest.split(" [").next().map(str::to_string);
            in_cache = false;
        } else if msg.starts_with("search cache=") {
            in_cache = true;
        } else if in_cache {
            in_cache = false;
            if let Some(name) = current.take() {
                let hit = msg.strip_prefix("trying file=").map(str::to_string);
                answers.insert(name, hit);
            }
        }
    }
    answers
}

/// The glibc-hwcaps subdirectories ld.so searches, in priority order.
fn active_hwcaps(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Subdirectories of glibc-hwcaps"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.contains("searched"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Fails the test unless the host's ld.so runs chrooted in the fixture.
fn need_chroot(fx: &Fixture) {
    assert!(fx.has_libc, "needs the host's x86-64 libc and ld.so");
    assert!(
        ok(&mut chroot_ld_so(fx.root(), &["--help"])),
        "cannot run the host ld.so in a chroot of the fixture"
    );
}

fn link_prog(fx: &Fixture, libs: &[&str]) {
    let root = fx.root();
    let mut cmd = Command::new("cc");
    cmd.arg("-o")
        .arg(root.join("prog"))
        .arg(testdata().join("main.c"));
    cmd.arg("-Wl,--no-as-needed");
    for l in libs {
        if l.starts_with('-') {
            cmd.arg(l);
        } else {
            cmd.arg(root.join(l));
        }
    }
    assert!(cmd.status().unwrap().success(), "linking prog");
}

/// The glibc-hwcaps list of `ld.so --help` under `opts`.
fn active_for(fx: &Fixture, opts: &[&str]) -> Vec<String> {
    active_hwcaps(&stdout(chroot_ld_so(fx.root(), opts).arg("--help")))
}

/// The ground truth: the host's glibc 2.36 ld.so, chrooted into the
/// fixture, looking up a program's DT_NEEDED names in each cache
/// format, under several glibc-hwcaps settings.
#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn real_ld_so_agrees() {
    let fx = Fixture::build(false);
    need_chroot(&fx);
    // A library the cache does not know, to see ld.so's "no answer".
    let missing = fx.build.join("libmissing.so.1");
    assert!(
        Command::new("cc")
            .args(["-shared", "-fPIC", "-Wl,-soname,libmissing.so.1", "-o"])
            .arg(&missing)
            .arg(testdata().join("lib.c"))
            .status()
            .unwrap()
            .success()
    );
    link_prog(
        &fx,
        &[
            "usr/lib/x86_64-linux-gnu/libfoo.so.1",
            "lib/libbar.so.2",
            "opt/x/lib/libbaz.so.3",
            "opt/x/lib/libdup.so.7",
            "lib/libnum.so.9",
            "lib/libnum.so.10",
            "usr/lib/x86_64-linux-gnu/libi.so.1",
            // libc before the missing library, which stops the load.
            "-lc",
            missing.to_str().unwrap(),
        ],
    );
    let variants: &[&[&str]] = &[
        &[],
        &["--glibc-hwcaps-mask", "x86-64-v2"],
        &["--glibc-hwcaps-mask", "none"],
        &[
            "--glibc-hwcaps-mask",
            "none",
            "--glibc-hwcaps-prepend",
            "x86-64-v3",
        ],
        &["--glibc-hwcaps-prepend", "other:x86-64-v2"],
    ];
    let mut compared = 0;
    for format in ["new", "old", "compat"] {
        let bytes = fx.cache(format);
        fs::write(fx.root().join("etc/ld.so.cache"), &bytes).unwrap();
        let c = LdCache::parse(&bytes).unwrap();
        for opts in variants {
            let active = active_for(&fx, opts);
            let active: Vec<&str> = active.iter().map(String::as_str).collect();
            let got = cache_answers(fx.root(), opts);
            assert_eq!(got.len(), 9, "{got:?}");
            assert_eq!(got.get("libmissing.so.1"), Some(&None));
            for (name, want) in &got {
                assert_eq!(
                    path(&c, name, X86_64, &active),
                    want.as_deref(),
                    "{format} {opts:?} {name}"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 3 * 5 * 9);
}

/// Legacy hwcaps subdirectories, new format, against the real ld.so.
#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn legacy_hwcaps_like_ld_so() {
    let fx = Fixture::build(true);
    let bytes = fx.cache("new");
    let c = LdCache::parse(&bytes).unwrap();
    let hw = |name: &str| {
        c.entries()
            .find(|e| e.name == name.as_bytes() && e.hwcap != 0)
            .map(|e| e.hwcap)
    };
    assert_eq!(hw("libtl.so.1"), Some(HWCAP_TLS));
    assert_eq!(hw("libxx.so.1"), Some(1 << 1));
    assert_eq!(hw("libhw.so.1"), Some(1 << 50));
    // glibc ≥ 2.40 ignores them all; 2.36 always takes `tls`.
    let plain = |n: &str| format!("/lib/{n}");
    for n in ["libtl.so.1", "libxx.so.1", "libhw.so.1"] {
        let mut q = Query::new(X86_64, &[]);
        q.legacy = LegacyHwcaps::NONE;
        assert_eq!(c.lookup_with(n.as_bytes(), &q), Some(plain(n).as_bytes()));
    }
    assert_eq!(
        path(&c, "libtl.so.1", X86_64, &[]),
        Some("/lib/tls/libtl.so.1")
    );
    assert_eq!(path(&c, "libxx.so.1", X86_64, &[]), Some("/lib/libxx.so.1"));
    let mut q = Query::new(X86_64, &[]);
    q.legacy = LegacyHwcaps::x86_64_glibc_2_36(false, Some("haswell"));
    assert_eq!(
        c.lookup_with(b"libhw.so.1", &q),
        Some(&b"/lib/haswell/libhw.so.1"[..])
    );
    assert_eq!(
        c.lookup_with(b"libxx.so.1", &q),
        Some(&b"/lib/x86_64/libxx.so.1"[..])
    );

    need_chroot(&fx);
    link_prog(&fx, &["lib/libtl.so.1", "lib/libxx.so.1", "lib/libhw.so.1"]);
    fs::write(fx.root().join("etc/ld.so.cache"), &bytes).unwrap();
    let help = stdout(chroot_ld_so(fx.root(), &[]).arg("--help"));
    let legacy: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Legacy HWCAP"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let platform = legacy
        .iter()
        .find(|l| l.contains("AT_PLATFORM"))
        .and_then(|l| l.split_whitespace().next());
    let avx512 = legacy.iter().any(|l| l.contains("avx512_1 (supported"));
    let mut q = Query::new(X86_64, &[]);
    q.legacy = LegacyHwcaps::x86_64_glibc_2_36(avx512, platform);
    let got = cache_answers(fx.root(), &[]);
    for n in ["libtl.so.1", "libxx.so.1", "libhw.so.1"] {
        let want = got.get(n).unwrap();
        let ours = c
            .lookup_with(n.as_bytes(), &q)
            .map(|p| String::from_utf8_lossy(p).into_owned());
        assert_eq!(&ours, want, "{n} (platform {platform:?})");
    }
}

/// glibc 2.36's writer drops legacy-hwcap entries from the old table
/// but fills the slots with two different indices (`save_cache`:
/// `libs[idx_old].key = str_offset + pad`, then key and value written
/// to `libs[idx_new]`): every old key ends up pointing at the padding,
/// one value is never written, and the last write lands past the
/// array. ldconfig may die of it and `ldconfig -p` crashes reading the
/// result; we only have to survive it.
#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn old_table_from_buggy_writer_is_survivable() {
    let mut libs: Vec<(&str, &str)> = vec![("libbar.so.2", "lib")];
    for &(soname, dir) in LEGACY {
        libs.push((soname, dir));
        libs.push((soname, "lib"));
    }
    let fx = Fixture::build_from(&libs, false);
    let names: Vec<&str> = libs.iter().map(|l| l.0).collect();
    for format in ["old", "compat"] {
        let Some(bytes) = fx.try_cache(format) else {
            eprintln!("note: ldconfig -c {format} died on legacy hwcaps dirs");
            continue;
        };
        let Ok(c) = LdCache::parse(&bytes) else {
            continue;
        };
        exercise(&c, &names);
        if format == "old" {
            let first = c.entries().next().map(|e| e.name);
            assert!(c.entries().all(|e| Some(e.name) == first));
            assert_ne!(
                path(&c, "libbar.so.2", X86_64, &[]),
                Some("/lib/libbar.so.2")
            );
        }
    }
}

// ----- hand-made caches -------------------------------------------

struct Spec<'a> {
    name: &'a str,
    path: &'a str,
    flags: u32,
    hwcap: u64,
}

fn spec<'a>(name: &'a str, path: &'a str, flags: u32, hwcap: u64) -> Spec<'a> {
    Spec {
        name,
        path,
        flags,
        hwcap,
    }
}

fn named(index: u32, isa_level: u64) -> u64 {
    DL_CACHE_HWCAP_EXTENSION | (isa_level << 32) | u64::from(index)
}

/// Lay out a cache exactly as `elf/cache.c: save_cache` does (compat:
/// old table padded to an even count, strings after the new table,
/// hwcaps name offsets relative to the new header).
fn build(format: CacheFormat, order: ByteOrder, entries: &[Spec<'_>], hwcaps: &[&str]) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&match order {
            ByteOrder::Little => x.to_le_bytes(),
            ByteOrder::Big => x.to_be_bytes(),
        })
    };
    let w64 = |v: &mut Vec<u8>, x: u64| {
        v.extend_from_slice(&match order {
            ByteOrder::Little => x.to_le_bytes(),
            ByteOrder::Big => x.to_be_bytes(),
        })
    };
    let mut strtab = Vec::new();
    let mut intern = |s: &str| {
        let off = strtab.len() as u32;
        strtab.extend_from_slice(s.as_bytes());
        strtab.push(0);
        off
    };
    let idx: Vec<(u32, u32)> = entries
        .iter()
        .map(|e| (intern(e.name), intern(e.path)))
        .collect();
    let hw: Vec<u32> = hwcaps.iter().map(|h| intern(h)).collect();
    let n = entries.len() as u32;
    let new_size = 48 + 24 * n;
    let mut out = Vec::new();
    if format != CacheFormat::New {
        let old_n = if format == CacheFormat::Compat {
            (n + 1) & !1
        } else {
            n
        };
        let shift = if format == CacheFormat::Compat {
            new_size
        } else {
            0
        };
        out.extend_from_slice(b"ld.so-1.7.0\0");
        w32(&mut out, old_n);
        for i in 0..old_n {
            let j = i.min(n.saturating_sub(1)) as usize;
            w32(&mut out, entries[j].flags);
            w32(&mut out, shift + idx[j].0);
            w32(&mut out, shift + idx[j].1);
        }
    }
    let hdr = out.len();
    if format != CacheFormat::Old {
        out.extend_from_slice(b"glibc-ld.so.cache1.1");
        w32(&mut out, n);
        w32(&mut out, strtab.len() as u32);
        out.push(match order {
            ByteOrder::Little => 2,
            ByteOrder::Big => 3,
        });
        out.extend_from_slice(&[0; 3]);
        w32(&mut out, 0); // extension offset, patched below
        out.extend_from_slice(&[0; 12]);
        for (e, &(k, v)) in entries.iter().zip(&idx) {
            w32(&mut out, e.flags);
            w32(&mut out, new_size + k);
            w32(&mut out, new_size + v);
            w32(&mut out, 0);
            w64(&mut out, e.hwcap);
        }
    }
    out.extend_from_slice(&strtab);
    if format != CacheFormat::Old {
        while out.len() % 4 != 0 {
            out.push(0);
        }
        let ext = out.len() as u32;
        let mut patch = Vec::new();
        w32(&mut patch, ext);
        out[hdr + 32..hdr + 36].copy_from_slice(&patch);
        let gen_text = b"hand-made";
        w32(&mut out, EXTENSION_MAGIC);
        w32(&mut out, 2);
        let data = ext + 8 + 2 * 16;
        w32(&mut out, EXT_TAG_GLIBC_HWCAPS);
        w32(&mut out, 0);
        w32(&mut out, data);
        w32(&mut out, 4 * hw.len() as u32);
        w32(&mut out, EXT_TAG_GENERATOR);
        w32(&mut out, 0);
        w32(&mut out, data + 4 * hw.len() as u32);
        w32(&mut out, gen_text.len() as u32);
        for h in &hw {
            w32(&mut out, new_size + h);
        }
        out.extend_from_slice(gen_text);
    }
    out
}

/// Three glibc-hwcaps variants and a plain entry, as ldconfig sorts
/// them (extension entries first, by name), for two names.
fn hwcaps_specs() -> Vec<Spec<'static>> {
    vec![
        spec("libp.so.1", "/v2/libp.so.1", X86_64, named(0, 0)),
        spec("libp.so.1", "/v3/libp.so.1", X86_64, named(1, 0)),
        spec("libp.so.1", "/v4/libp.so.1", X86_64, named(2, 3)),
        spec("libp.so.1", "/plain/libp.so.1", X86_64, 0),
        spec("liba.so.1", "/v3/liba.so.1", X86_64, named(1, 0)),
        spec("liba.so.1", "/plain/liba.so.1", X86_64, 0),
    ]
}
const HWCAPS_NAMES: &[&str] = &["x86-64-v2", "x86-64-v3", "x86-64-v4"];

#[test]
fn hwcaps_priority_and_isa_level() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let bytes = build(CacheFormat::New, order, &hwcaps_specs(), HWCAPS_NAMES);
        let c = LdCache::parse(&bytes).unwrap();
        assert_eq!(c.byte_order(), order);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.generator(), Some(&b"hand-made"[..]));
        let all = &["x86-64-v4", "x86-64-v3", "x86-64-v2"];
        assert_eq!(path(&c, "libp.so.1", X86_64, all), Some("/v4/libp.so.1"));
        assert_eq!(path(&c, "libp.so.1", X86_64, V3), Some("/v3/libp.so.1"));
        assert_eq!(path(&c, "libp.so.1", X86_64, V2), Some("/v2/libp.so.1"));
        assert_eq!(path(&c, "libp.so.1", X86_64, &[]), Some("/plain/libp.so.1"));
        assert_eq!(
            path(&c, "libp.so.1", X86_64, &["other"]),
            Some("/plain/libp.so.1")
        );
        // Priority is the position in the loader's list, not the name.
        assert_eq!(
            path(&c, "libp.so.1", X86_64, &["x86-64-v2", "x86-64-v3"]),
            Some("/v2/libp.so.1")
        );
        assert_eq!(path(&c, "liba.so.1", X86_64, all), Some("/v3/liba.so.1"));
        assert_eq!(path(&c, "liba.so.1", X86_64, V2), Some("/plain/liba.so.1"));
        // The v4 entry needs ISA level 3 (bit 8): a CPU reporting only
        // up to v3 cannot use it even if "x86-64-v4" is prepended.
        let mut q = Query::new(X86_64, all);
        q.x86_isa = Some(0b0111);
        assert_eq!(c.lookup_with(b"libp.so.1", &q), Some(&b"/v3/libp.so.1"[..]));
        // Non-x86 loaders skip the ISA check.
        let arm64: Vec<Spec<'_>> = hwcaps_specs()
            .into_iter()
            .map(|s| Spec { flags: 0xa03, ..s })
            .collect();
        let c = LdCache::parse(&build(CacheFormat::New, order, &arm64, HWCAPS_NAMES)).unwrap();
        let mut q = Query::new(0xa03, all);
        q.x86_isa = Some(0b0001);
        assert_eq!(c.lookup_with(b"libp.so.1", &q), Some(&b"/v4/libp.so.1"[..]));
    }
}

/// Big-endian caches written byte by byte from the documented layout
/// answer exactly like their little-endian twins, in every format.
#[test]
fn handmade_big_endian_matches_little_endian() {
    let specs = vec![
        spec("libz.so.1", "/lib/libz.so.1", X86_64, 0),
        spec("libm.so.6", "/lib64/libm.so.6", X86_64, 0),
        spec("libm.so.6", "/lib/libm.so.6", I386, 0),
        spec("libm.so.6", "/old/libm.so.6", FLAG_ELF, 0),
        spec("libc.so.6", "/lib/libc.so.6", X86_64, 0),
    ];
    for format in [CacheFormat::Old, CacheFormat::New, CacheFormat::Compat] {
        let le = LdCache::parse(&build(format, ByteOrder::Little, &specs, &[])).unwrap();
        let be = LdCache::parse(&build(format, ByteOrder::Big, &specs, &[])).unwrap();
        assert_eq!(le.format(), format);
        assert_eq!(be.format(), format);
        assert_eq!(be.byte_order(), ByteOrder::Big);
        assert_eq!(be.validate(), Ok(()));
        assert_eq!(
            le.entries().collect::<Vec<_>>(),
            be.entries().collect::<Vec<_>>()
        );
        for c in [&le, &be] {
            assert_eq!(path(c, "libm.so.6", X86_64, &[]), Some("/lib64/libm.so.6"));
            assert_eq!(path(c, "libm.so.6", I386, &[]), Some("/lib/libm.so.6"));
            assert_eq!(path(c, "libz.so.1", X86_64, &[]), Some("/lib/libz.so.1"));
            assert_eq!(path(c, "libc.so.6", X86_64, &[]), Some("/lib/libc.so.6"));
            assert_eq!(path(c, "libz.so.1", I386, &[]), None);
        }
    }
}

fn swap4(b: &mut [u8], at: usize) -> u32 {
    let v = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    b[at..at + 4].reverse();
    v
}

/// Byte-swap a little-endian cache written by ldconfig: the old table
/// (if any), the new header, entries, extension directory and hwcaps
/// array; strings and the generator text stay as they are.
fn byte_swap(le: &[u8]) -> Vec<u8> {
    let mut b = le.to_vec();
    let mut hdr = 0;
    if b.starts_with(OLD_MAGIC) {
        let n = swap4(&mut b, 12) as usize;
        for i in 0..n {
            for f in 0..3 {
                swap4(&mut b, 16 + 12 * i + 4 * f);
            }
        }
        hdr = (16 + 12 * n).div_ceil(8) * 8;
        if !b[hdr..].starts_with(NEW_MAGIC) {
            return b;
        }
    }
    let n = swap4(&mut b, hdr + 20) as usize;
    swap4(&mut b, hdr + 24);
    assert_eq!(b[hdr + 28], 2);
    b[hdr + 28] = 3;
    let ext = swap4(&mut b, hdr + 32) as usize;
    for i in 0..n {
        let e = hdr + 48 + 24 * i;
        for f in 0..4 {
            swap4(&mut b, e + 4 * f);
        }
        b[e + 16..e + 24].reverse();
    }
    if ext != 0 {
        swap4(&mut b, ext);
        let count = swap4(&mut b, ext + 4) as usize;
        for s in 0..count {
            let at = ext + 8 + 16 * s;
            let tag = swap4(&mut b, at);
            swap4(&mut b, at + 4);
            let offset = swap4(&mut b, at + 8) as usize;
            let size = swap4(&mut b, at + 12) as usize;
            if tag == EXT_TAG_GLIBC_HWCAPS {
                for k in 0..size / 4 {
                    swap4(&mut b, offset + 4 * k);
                }
            }
        }
    }
    b
}

#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn byte_swapped_ldconfig_caches_parse_identically() {
    let fx = Fixture::build(false);
    for format in ["new", "compat", "old"] {
        let le_bytes = fx.cache(format);
        let be_bytes = byte_swap(&le_bytes);
        assert_ne!(le_bytes, be_bytes);
        let le = LdCache::parse(&le_bytes).unwrap();
        let be = LdCache::parse(&be_bytes).unwrap();
        assert_eq!(be.byte_order(), ByteOrder::Big, "{format}");
        assert_eq!(le.format(), be.format());
        assert_eq!(
            le.entries().collect::<Vec<_>>(),
            be.entries().collect::<Vec<_>>()
        );
        assert_eq!(le.generator(), be.generator());
        for (name, _) in LIBS64 {
            for hw in [V3, V2, &[][..]] {
                assert_eq!(le.lookup(name, X86_64, hw), be.lookup(name, X86_64, hw));
            }
            assert_eq!(le.lookup(name, I386, &[]), be.lookup(name, I386, &[]));
        }
    }
}

#[test]
fn pre_2_33_new_format_without_byte_order_flag() {
    let specs = hwcaps_specs();
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let mut bytes = build(CacheFormat::New, order, &specs, HWCAPS_NAMES);
        bytes[28] = 0;
        let c = LdCache::parse(&bytes).unwrap();
        assert_eq!(c.byte_order(), order);
        assert_eq!(path(&c, "libp.so.1", X86_64, V3), Some("/v3/libp.so.1"));
    }
}

// ----- hostile input ----------------------------------------------

fn exercise(c: &LdCache, names: &[&str]) {
    let _ = c.validate();
    let _ = c.format();
    let _ = c.generator();
    let _ = c.hwcaps_subdirs().count();
    for e in c.entries() {
        let _ = print_line(&e);
    }
    for name in names {
        for abi in [X86_64, I386, X32] {
            let _ = c.lookup(name, abi, V3);
            let _ = c.lookup(name, abi, &["x86-64-v4", "x86-64-v3", "x86-64-v2", "x"]);
        }
    }
}

#[test]
fn truncation_at_every_length() {
    let files: Vec<Vec<u8>> = vec![
        build(
            CacheFormat::New,
            ByteOrder::Little,
            &hwcaps_specs(),
            HWCAPS_NAMES,
        ),
        build(
            CacheFormat::Compat,
            ByteOrder::Big,
            &hwcaps_specs(),
            HWCAPS_NAMES,
        ),
        build(CacheFormat::Old, ByteOrder::Little, &hwcaps_specs(), &[]),
    ];
    truncations(&files);
}

/// The same on caches the real ldconfig wrote, in every format.
#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn truncation_of_ldconfig_caches() {
    let fx = Fixture::build(false);
    truncations(&["new", "old", "compat"].map(|f| fx.cache(f)));
}

/// Every prefix of each cache parses or is refused, never panics, and
/// answers only paths (or prefixes of paths) the whole cache has.
fn truncations(files: &[Vec<u8>]) {
    let mut names: Vec<&str> = LIBS64.iter().map(|l| l.0).collect();
    names.extend(["libp.so.1", "liba.so.1", "libc.so.6", "libi.so.1"]);
    for full in files {
        let whole = LdCache::parse(full).unwrap();
        let all_paths: Vec<Vec<u8>> = whole.entries().map(|e| e.path.to_vec()).collect();
        for cut in 0..full.len() {
            let Ok(c) = LdCache::parse(&full[..cut]) else {
                continue;
            };
            exercise(&c, &names);
            // Whatever survives is a prefix of what was there.
            for name in &names {
                if let Some(p) = c.lookup_with(name.as_bytes(), &Query::new(X86_64, V3)) {
                    assert!(all_paths.iter().any(|a| a.starts_with(p)), "{cut}: {p:?}");
                }
            }
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let files = vec![
        build(
            CacheFormat::New,
            ByteOrder::Little,
            &hwcaps_specs(),
            HWCAPS_NAMES,
        ),
        build(
            CacheFormat::Compat,
            ByteOrder::Little,
            &hwcaps_specs(),
            HWCAPS_NAMES,
        ),
        build(CacheFormat::Old, ByteOrder::Big, &hwcaps_specs(), &[]),
    ];
    corruptions(&files);
}

#[test]
#[ignore = "needs root (ldconfig -r chroots), ldconfig and cc; run scripts/test.sh"]
fn corrupted_ldconfig_cache_never_panics() {
    let fx = Fixture::build(false);
    corruptions(&[fx.cache("new")]);
}

/// Every byte of each cache set to a few telling values: parsed or
/// refused, never a panic.
fn corruptions(files: &[Vec<u8>]) {
    let names = ["libp.so.1", "liba.so.1", "libfoo.so.1", "libbar.so.2"];
    for full in files {
        for at in 0..full.len() {
            for v in [0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0xff] {
                let mut b = full.clone();
                b[at] = v;
                if let Ok(c) = LdCache::parse(&b) {
                    exercise(&c, &names);
                }
            }
        }
    }
}

#[test]
fn errors_are_precise() {
    let good = build(
        CacheFormat::New,
        ByteOrder::Little,
        &hwcaps_specs(),
        HWCAPS_NAMES,
    );
    assert_eq!(LdCache::parse(b"").unwrap_err(), CacheError::BadMagic);
    assert_eq!(
        LdCache::parse(b"\x7fELF....").unwrap_err(),
        CacheError::BadMagic
    );
    assert_eq!(
        LdCache::parse(&good[..48]).unwrap_err(),
        CacheError::Truncated {
            what: "new-format header",
            needed: 48,
            len: 48
        }
    );
    assert_eq!(
        LdCache::parse(b"ld.so-1.7.0\0\0\0\0\0")
            .unwrap_err()
            .to_string(),
        "truncated: the old-format header needs more than 16 bytes, the file has 16"
    );
    let mut b = good.clone();
    b[20..24].copy_from_slice(&1000u32.to_le_bytes());
    let e = LdCache::parse(&b).unwrap_err();
    assert!(
        matches!(e, CacheError::TooManyEntries { nlibs: 1000, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("claims 1000 entries"), "{e}");
    // Flags byte 1 is "invalid" and 4 has no valid order bits: glibc
    // ignores the cache in both cases.
    for flags in [1u8, 4] {
        let mut b = good.clone();
        b[28] = flags;
        assert_eq!(
            LdCache::parse(&b).unwrap_err(),
            CacheError::BadByteOrder { at: 0, flags }
        );
    }
    // A cache with no entries is fine.
    let empty = LdCache::parse(&build(CacheFormat::New, ByteOrder::Little, &[], &[])).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.lookup("libc.so.6", X86_64, &[]), None);
    // ...but an old-format one is exactly its 16-byte header, and
    // `_dl_load_cache_lookup` wants more than that: ignored.
    let empty_old = build(CacheFormat::Old, ByteOrder::Little, &[], &[]);
    assert!(matches!(
        LdCache::parse(&empty_old),
        Err(CacheError::Truncated {
            needed: 16,
            len: 16,
            ..
        })
    ));
}

/// Damage ld.so tolerates: the cache still parses and lookups follow
/// `search_cache`; `validate` names the problem.
#[test]
fn damage_inside_entries() {
    let specs = vec![
        spec("libz.so.1", "/lib/libz.so.1", X86_64, 0),
        spec("libm.so.6", "/lib/libm.so.6", X86_64, 0),
        spec("libc.so.6", "/lib/libc.so.6", X86_64, 0),
    ];
    let good = build(CacheFormat::New, ByteOrder::Little, &specs, &[]);
    let entry = |i: usize| 48 + 24 * i;

    // A bad *value*: the entry is skipped, the name is not found.
    let mut b = good.clone();
    b[entry(1) + 8..entry(1) + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let c = LdCache::parse(&b).unwrap();
    assert_eq!(c.lookup("libm.so.6", X86_64, &[]), None);
    assert_eq!(c.lookup("libz.so.1", X86_64, &[]), Some("/lib/libz.so.1"));
    let e = c.validate().unwrap_err();
    assert_eq!(
        e,
        CacheError::StringOutOfRange {
            entry: 1,
            field: "path",
            offset: u32::MAX,
            limit: b.len() as u64
        }
    );
    assert!(
        e.to_string()
            .starts_with("entry 1: path string offset 0xffffffff is outside")
    );

    // A bad *key* met by the binary search ends the whole lookup, even
    // for names that are present elsewhere.
    let mut b = good.clone();
    b[entry(1) + 4..entry(1) + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let c = LdCache::parse(&b).unwrap();
    assert_eq!(c.lookup("libz.so.1", X86_64, &[]), None);
    assert_eq!(c.lookup("libc.so.6", X86_64, &[]), None);

    // A broken extension directory only disables glibc-hwcaps.
    let mut b = build(
        CacheFormat::New,
        ByteOrder::Little,
        &hwcaps_specs(),
        HWCAPS_NAMES,
    );
    let ext = u32::from_le_bytes(b[32..36].try_into().unwrap()) as usize;
    b[ext] ^= 0xff;
    let c = LdCache::parse(&b).unwrap();
    assert_eq!(c.lookup("libp.so.1", X86_64, V3), Some("/plain/libp.so.1"));
    assert!(matches!(
        c.validate(),
        Err(CacheError::BadExtension {
            reason: "bad magic",
            ..
        })
    ));

    // Entries out of order.
    let unsorted = vec![
        spec("liba.so.1", "/a", X86_64, 0),
        spec("libz.so.1", "/z", X86_64, 0),
    ];
    let c = LdCache::parse(&build(CacheFormat::New, ByteOrder::Little, &unsorted, &[])).unwrap();
    assert_eq!(
        c.validate(),
        Err(CacheError::Unsorted { prev: 0, entry: 1 })
    );

    // A hwcaps index past the section.
    let bad = vec![spec("libq.so.1", "/q", X86_64, named(7, 0))];
    let c = LdCache::parse(&build(
        CacheFormat::New,
        ByteOrder::Little,
        &bad,
        HWCAPS_NAMES,
    ))
    .unwrap();
    assert_eq!(
        c.validate(),
        Err(CacheError::HwcapsIndexOutOfRange {
            entry: 0,
            index: 7,
            count: 3
        })
    );
    assert_eq!(c.lookup("libq.so.1", X86_64, V3), None);
}

/// `search_cache` flag rules on hand-made tables.
#[test]
fn flags_rules() {
    // Generic loader (i386): accepts 1 and 3, stops at 3.
    let specs = vec![
        spec("libk.so.1", "/x86_64/libk.so.1", X86_64, 0),
        spec("libk.so.1", "/elf1/libk.so.1", FLAG_ELF, 0),
        spec("libk.so.1", "/elf2/libk.so.1", FLAG_ELF, 0),
    ];
    let with_libc6 = {
        let mut s = vec![spec("libk.so.1", "/x86_64/libk.so.1", X86_64, 0)];
        s.push(spec("libk.so.1", "/libc6/libk.so.1", I386, 0));
        s.push(spec("libk.so.1", "/elf1/libk.so.1", FLAG_ELF, 0));
        s
    };
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let new = LdCache::parse(&build(CacheFormat::New, order, &specs, &[])).unwrap();
        let old = LdCache::parse(&build(CacheFormat::Old, order, &specs, &[])).unwrap();
        assert_eq!(path(&new, "libk.so.1", I386, &[]), Some("/elf1/libk.so.1"));
        assert_eq!(path(&old, "libk.so.1", I386, &[]), Some("/elf2/libk.so.1"));
        assert_eq!(
            path(&new, "libk.so.1", X86_64, &[]),
            Some("/x86_64/libk.so.1")
        );
        for f in [CacheFormat::New, CacheFormat::Old] {
            let c = LdCache::parse(&build(f, order, &with_libc6, &[])).unwrap();
            assert_eq!(path(&c, "libk.so.1", I386, &[]), Some("/libc6/libk.so.1"));
        }
    }
    // ARM hard-float: default id 3, also 0x903; never plain "ELF".
    let arm = cache_abi(40, false, 0x0500_0400).unwrap();
    assert_eq!(arm.default_id, 3);
    assert!(arm.accepts(0x903) && arm.accepts(3) && !arm.accepts(1) && !arm.accepts(0xb03));
    let specs = vec![
        spec("libk.so.1", "/hf/libk.so.1", FLAG_ARM_LIBHF | 3, 0),
        spec("libk.so.1", "/sf/libk.so.1", FLAG_ARM_LIBSF | 3, 0),
        spec("libk.so.1", "/elf/libk.so.1", FLAG_ELF, 0),
    ];
    let c = LdCache::parse(&build(CacheFormat::New, ByteOrder::Little, &specs, &[])).unwrap();
    assert_eq!(path(&c, "libk.so.1", arm, &[]), Some("/hf/libk.so.1"));
    let soft = cache_abi(40, false, 0x0500_0200).unwrap();
    assert_eq!(path(&c, "libk.so.1", soft, &[]), Some("/sf/libk.so.1"));
}

#[test]
fn libcmp_like_glibc() {
    use Ordering::*;
    let cmp = |a: &str, b: &str| libcmp(a.as_bytes(), b.as_bytes(), true);
    assert_eq!(cmp("libc.so.6", "libc.so.6"), Equal);
    assert_eq!(cmp("libfoo.so.10", "libfoo.so.9"), Greater);
    assert_eq!(cmp("libfoo.so.9", "libfoo.so.10"), Less);
    assert_eq!(cmp("libfoo.so.01", "libfoo.so.1"), Equal);
    // A digit sorts after any other character, "." included.
    assert_eq!(cmp("lib1", "liba"), Greater);
    assert_eq!(cmp("liba", "lib1"), Less);
    assert_eq!(cmp("libz3.so", "libz.so"), Greater);
    assert_eq!(cmp("libc.so", "libc.so.6"), Less);
    assert_eq!(cmp("libc.so.6", "libc.so"), Greater);
    assert_eq!(cmp("", "a"), Less);
    // Bytes >= 0x80 depend on the loader's char signedness.
    assert_eq!(libcmp(b"\xe9", b"a", true), Less);
    assert_eq!(libcmp(b"\xe9", b"a", false), Greater);
    assert_eq!(libcmp(b"a", b"a\xe9", true), Greater);
    // Long digit runs wrap like C int arithmetic instead of panicking.
    assert_eq!(cmp("99999999999999999999", "99999999999999999999"), Equal);
    let _ = cmp("4294967296", "0");
}

#[test]
fn flags_ids_per_machine() {
    assert_eq!(default_flags_id(62, true), Some(0x303));
    assert_eq!(default_flags_id(62, false), Some(0x803));
    assert_eq!(default_flags_id(3, false), Some(3));
    assert_eq!(default_flags_id(183, true), Some(0xa03));
    assert_eq!(default_flags_id(40, false), Some(3));
    assert_eq!(default_flags_id(21, true), Some(0x503));
    assert_eq!(default_flags_id(22, true), Some(0x403));
    assert_eq!(default_flags_id(22, false), Some(3));
    assert_eq!(default_flags_id(243, true), Some(0x1003));
    assert_eq!(default_flags_id(43, true), Some(0x103));
    assert_eq!(default_flags_id(8, true), Some(0x703));
    assert_eq!(default_flags_id(258, true), Some(0x1203));
    assert_eq!(
        default_flags_id(62, true)
            .map(CacheAbi::from)
            .map(|a| a.also_accepts),
        Some(None)
    );
    assert_eq!(CacheAbi::from(3).also_accepts, Some(FLAG_ELF));
    assert!(!CacheAbi::from(0xa03).signed_char);
    assert_eq!(
        cache_abi(8, false, EF_MIPS_ABI2 | EF_MIPS_NAN2008).map(|a| a.default_id),
        Some(0xd03)
    );
    assert_eq!(cache_abi(243, true, 0x2), None);
    assert_eq!(cache_abi(243, true, 0x0).map(|a| a.default_id), Some(0xf03));
    assert_eq!(default_flags_id(0xffff, true), None);
    assert_eq!(default_flags_id(183, false), None);
}

#[test]
fn flags_descriptions() {
    let d = |flags| {
        CacheEntry {
            name: b"",
            path: b"",
            flags,
            hwcap: 0,
            hwcaps_subdir: None,
        }
        .flags_description()
    };
    assert_eq!(d(0x303), "libc6,x86-64");
    assert_eq!(d(3), "libc6");
    assert_eq!(d(1), "ELF");
    assert_eq!(d(0x803), "libc6,x32");
    assert_eq!(d(0xa03), "libc6,AArch64");
    assert_eq!(d(0x903), "libc6,hard-float");
    assert_eq!(d(0x1003), "libc6,double-float");
    assert_eq!(d(0x7f03), "libc6,32512");
    assert_eq!(d(0x42), "unknown");
}
