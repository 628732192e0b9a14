//! Hostile roots, built at test time: a rootfs comes from any container
//! image, so every file in it may be a trap. For each case `ldslim scan
//! ROOT --format json` and `ldslim ldd` must finish promptly (run as child
//! processes and killed after [`TIMEOUT`]), never panic (no "panicked" on
//! stderr, never exit code 101), name the file concerned in `errors`,
//! `fatal`, `skipped` or `unresolved`, exit 1 when something is wrong, and
//! print the same bytes twice.
//!
//! Objects are made from templates compiled once per run (an executable
//! needing a placeholder name, libraries with a placeholder soname) and
//! renamed byte-wise, so a case costs file copies, not compiler runs.

mod common;

use std::collections::BTreeSet;
use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::World;
use serde_json::Value;

/// Far above what any case needs (each takes well under a second); a run
/// still going after this is a hang.
const TIMEOUT: Duration = Duration::from_secs(20);
const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";
const BIN: &str = env!("CARGO_BIN_EXE_ldslim");

// ---------------------------------------------------------------------------
// Running ldslim

/// One finished run.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&self.stdout),
                self.stderr
            )
        })
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Run `cmd` with stdin closed, in its own process group; kill the group
/// and fail if it is still running after [`TIMEOUT`].
fn run_with_timeout(mut cmd: Command) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let shown = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{shown}: {e}"));
    let pump = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out = pump(child.stdout.take().map(|r| Box::new(r) as _));
    let err = pump(child.stderr.take().map(|r| Box::new(r) as _));
    let start = Instant::now();
    let status: ExitStatus = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            let pgid = i32::try_from(child.id()).expect("pid");
            // SAFETY: kill has no memory-safety preconditions; the group
            // is the child's own (process_group(0)).
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = child.wait();
            panic!("hung: still running after {TIMEOUT:?}, killed: {shown}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned(),
    }
}

fn ldslim_cmd(args: &[&OsStr]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear();
    cmd
}

/// Checks every run must pass: no panic, a documented exit code.
fn sane(r: &Run, what: &str) {
    assert!(
        !r.stderr.contains("panicked") && r.code != Some(101),
        "{what}: panicked (exit {:?}): {}",
        r.code,
        r.stderr
    );
    assert!(
        matches!(r.code, Some(0..=2)),
        "{what}: exit {:?} (killed by a signal?): {}",
        r.code,
        r.stderr
    );
}

/// Run ldslim twice with `args`: both runs must be sane and identical.
fn ldslim(args: &[&OsStr]) -> Run {
    let what = format!("ldslim {args:?}");
    let a = run_with_timeout(ldslim_cmd(args));
    sane(&a, &what);
    let b = run_with_timeout(ldslim_cmd(args));
    assert_eq!(a, b, "{what}: two runs differ");
    a
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// `ldslim scan ROOT [extra...] --format json --target none`.
fn scan(root: &Path, extra: &[&str]) -> (Run, Value) {
    let mut args: Vec<&OsStr> = vec![os("scan"), root.as_os_str()];
    args.extend(extra.iter().map(|s| os(s)));
    args.extend([
        os("--scope"),
        os("all"),
        os("--format"),
        os("json"),
        os("--target"),
        os("none"),
    ]);
    let r = ldslim(&args);
    let v = r.json();
    (r, v)
}

/// `ldslim ldd ROOT FILE...`.
fn ldd(root: &Path, files: &[&str], extra: &[&str]) -> Run {
    let mut args: Vec<&OsStr> = vec![os("ldd"), root.as_os_str()];
    args.extend(files.iter().map(|s| os(s)));
    args.extend(extra.iter().map(|s| os(s)));
    ldslim(&args)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array {key:?} in {v}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// `errors` has `path` with a message containing every one of `says`.
#[track_caller]
fn assert_error(v: &Value, path: &str, says: &[&str]) {
    let hit = list(v, "errors").iter().any(|e| {
        str_of(e, "path") == path && says.iter().all(|s| str_of(e, "message").contains(s))
    });
    assert!(
        hit,
        "no error for {path} saying {says:?}: {:#}",
        v["errors"]
    );
}

/// `fatal` has `entry` stopped at `path` with a message containing `says`.
#[track_caller]
fn assert_fatal(v: &Value, entry: &str, path: &str, says: &str) {
    let hit = list(v, "fatal").iter().any(|f| {
        str_of(f, "entry") == entry
            && str_of(f, "path") == path
            && str_of(f, "message").contains(says)
    });
    assert!(
        hit,
        "no fatal {entry} at {path} saying {says:?}: {:#}",
        v["fatal"]
    );
}

/// `unresolved` has `name` needed by `needed_by`; gives its search.
#[track_caller]
fn unresolved<'a>(v: &'a Value, name: &str, needed_by: &str) -> &'a Value {
    list(v, "unresolved")
        .iter()
        .find(|u| str_of(u, "name") == name && str_of(u, "needed_by") == needed_by)
        .unwrap_or_else(|| {
            panic!(
                "{name} needed by {needed_by} not unresolved: {:#}",
                v["unresolved"]
            )
        })
}

/// Every note of an unresolved search, joined.
fn notes(u: &Value) -> String {
    u["searched"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["notes"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `ldd` printed `line` (after its tab) for the single file asked.
#[track_caller]
fn assert_ldd_line(r: &Run, line: &str) {
    let text = r.text();
    assert!(
        text.lines().any(|l| l.strip_prefix('\t') == Some(line)),
        "ldd printed no {line:?}:\n{text}"
    );
}

// ---------------------------------------------------------------------------
// Objects from templates

/// DT_NEEDED of the executable template, DT_NEEDED of the library
/// template, DT_SONAME of the library template: replaced by names of at
/// most this length (the rest of the placeholder becomes NULs).
const NEED: &str = "libNEED_placeholder_0123456789_0123456789_0123456789_012345678.so";
const NEED2: &str = "libNEXT_placeholder_0123456789_0123456789_0123456789_012345678.so";
const SONAME: &str = "libSELF_placeholder_0123456789_0123456789_0123456789_012345678.so";

struct Templates {
    /// main.c needing NEED (and libc.so.6).
    exe: Vec<u8>,
    /// lib.c with soname SONAME needing NEED2 (and libc.so.6).
    lib: Vec<u8>,
    /// lib.c with soname SONAME and no DT_NEEDED but libc.so.6.
    leaf: Vec<u8>,
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rules")
        .join(name)
}

fn cc(args: &[&OsStr]) {
    let o = Command::new("cc").args(args).output().expect("cc runs");
    assert!(
        o.status.success(),
        "cc {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |n: &str| dir.path().join(n);
        let lib_c = testdata("lib.c");
        let shared = |out: &Path, soname: &str, needs: &[&Path]| {
            let so = format!("-Wl,-soname,{soname}");
            let mut args: Vec<&OsStr> = vec![
                os("-shared"),
                os("-fPIC"),
                os("-o"),
                out.as_os_str(),
                lib_c.as_os_str(),
                os(&so),
                os("-Wl,--no-as-needed"),
            ];
            args.extend(needs.iter().map(|n| n.as_os_str()));
            cc(&args);
        };
        shared(&p("need.so"), NEED, &[]);
        shared(&p("need2.so"), NEED2, &[]);
        shared(&p("lib.so"), SONAME, &[&p("need2.so")]);
        shared(&p("leaf.so"), SONAME, &[]);
        let exe = p("exe");
        cc(&[
            os("-o"),
            exe.as_os_str(),
            testdata("main.c").as_os_str(),
            os("-Wl,--no-as-needed"),
            p("need.so").as_os_str(),
        ]);
        let read = |n: &str| fs::read(p(n)).expect("template");
        Templates {
            exe: read("exe"),
            lib: read("lib.so"),
            leaf: read("leaf.so"),
        }
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `template` with each placeholder replaced by a name (NUL-padded).
fn renamed(template: &[u8], subs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = template.to_vec();
    for (placeholder, name) in subs {
        assert!(
            name.len() <= placeholder.len() && !name.contains(&0),
            "{name:?}"
        );
        let mut with = name.to_vec();
        with.resize(placeholder.len(), 0);
        let mut n = 0;
        while let Some(i) = find(&b, placeholder.as_bytes()) {
            b[i..i + placeholder.len()].copy_from_slice(&with);
            n += 1;
        }
        assert!(n > 0, "{placeholder} not in template");
    }
    b
}

/// Write `bytes` at host path `p`, executable.
fn put(p: &Path, bytes: &[u8]) {
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, bytes).expect("write");
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// An executable at `inside` needing exactly `name` (plus libc.so.6).
fn exe_needing(w: &World, inside: &str, name: &[u8]) {
    put(&w.host(inside), &renamed(&templates().exe, &[(NEED, name)]));
}

/// A library at `inside` with `soname`, needing `needs` (plus libc.so.6).
fn lib_needing(w: &World, inside: &str, soname: &[u8], needs: &[u8]) {
    let b = renamed(&templates().lib, &[(SONAME, soname), (NEED2, needs)]);
    put(&w.host(inside), &b);
}

/// A library with `soname` needing only libc.so.6.
fn leaf(soname: &[u8]) -> Vec<u8> {
    renamed(&templates().leaf, &[(SONAME, soname)])
}

fn host_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

// ---------------------------------------------------------------------------
// ELF surgery (ELF64 little-endian, as the templates are)

struct Elf {
    phoff: u64,
    phnum: u64,
    phentsize: u64,
    /// (file offset of the program header, p_type, p_offset, p_vaddr, p_filesz)
    phdrs: Vec<(u64, u32, u64, u64, u64)>,
    dynamic: (u64, u64),
    /// (file offset of the entry, d_tag, d_val)
    dyns: Vec<(u64, u64, u64)>,
    strtab: u64,
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;

fn u16_at(b: &[u8], at: u64) -> u64 {
    let at = at as usize;
    u64::from(u16::from_le_bytes(b[at..at + 2].try_into().unwrap()))
}
fn u32_at(b: &[u8], at: u64) -> u64 {
    let at = at as usize;
    u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()))
}
fn u64_at(b: &[u8], at: u64) -> u64 {
    let at = at as usize;
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn set_u16(b: &mut [u8], at: u64, v: u16) {
    b[at as usize..at as usize + 2].copy_from_slice(&v.to_le_bytes());
}
fn set_u64(b: &mut [u8], at: u64, v: u64) {
    b[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes());
}

impl Elf {
    fn parse(b: &[u8]) -> Elf {
        assert_eq!(&b[..6], b"\x7fELF\x02\x01", "ELF64 LE template");
        let phoff = u64_at(b, 32);
        let phentsize = u16_at(b, 54);
        let phnum = u16_at(b, 56);
        let phdrs: Vec<_> = (0..phnum)
            .map(|i| {
                let at = phoff + i * phentsize;
                (
                    at,
                    u32_at(b, at) as u32,
                    u64_at(b, at + 8),
                    u64_at(b, at + 16),
                    u64_at(b, at + 32),
                )
            })
            .collect();
        let &(_, _, dyn_off, _, dyn_size) = phdrs
            .iter()
            .find(|p| p.1 == PT_DYNAMIC)
            .expect("PT_DYNAMIC");
        let dyns: Vec<_> = (0..dyn_size / 16)
            .map(|i| {
                let at = dyn_off + 16 * i;
                (at, u64_at(b, at), u64_at(b, at + 8))
            })
            .take_while(|d| d.1 != 0)
            .collect();
        let mut e = Elf {
            phoff,
            phnum,
            phentsize,
            phdrs,
            dynamic: (dyn_off, dyn_size),
            dyns,
            strtab: 0,
        };
        e.strtab = e.offset_of(e.tag(DT_STRTAB));
        e
    }
    fn tag(&self, tag: u64) -> u64 {
        self.dyns.iter().find(|d| d.1 == tag).expect("tag").2
    }
    fn entry(&self, tag: u64) -> u64 {
        self.dyns.iter().find(|d| d.1 == tag).expect("tag").0
    }
    /// File offset of a virtual address (through PT_LOAD).
    fn offset_of(&self, addr: u64) -> u64 {
        self.phdrs
            .iter()
            .filter(|p| p.1 == PT_LOAD)
            .find(|p| addr >= p.3 && addr < p.3 + p.4)
            .map(|p| p.2 + (addr - p.3))
            .expect("mapped")
    }
    /// The PT_LOAD holding PT_DYNAMIC: (p_offset, p_vaddr, p_filesz).
    fn dynamic_load(&self) -> (u64, u64, u64) {
        self.phdrs
            .iter()
            .filter(|p| p.1 == PT_LOAD)
            .find(|p| self.dynamic.0 >= p.2 && self.dynamic.0 < p.2 + p.4)
            .map(|p| (p.2, p.3, p.4))
            .expect("a PT_LOAD holds PT_DYNAMIC")
    }
}

// ---------------------------------------------------------------------------
// File system helpers

fn cstring(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL")
}

fn mkfifo(p: &Path) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(cstring(p).as_ptr(), 0o644) },
        0,
        "mkfifo {p:?}"
    );
}

/// A character or block device node; `false` when not permitted (not root).
fn mknod(p: &Path, kind: libc::mode_t, major: u32, minor: u32) -> bool {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    let dev = libc::makedev(major, minor);
    // SAFETY: a valid NUL-terminated path; mknod has no other preconditions.
    unsafe { libc::mknod(cstring(p).as_ptr(), kind | 0o644, dev) == 0 }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Every path below `dir` (relative, symlinks not followed) with what it
/// is: file contents, link text or "dir".
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.expect("walk");
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            let ft = e.file_type();
            let what = if ft.is_symlink() {
                let mut v = b"-> ".to_vec();
                v.extend(fs::read_link(e.path()).unwrap().as_os_str().as_bytes());
                v
            } else if ft.is_file() {
                fs::read(e.path()).unwrap()
            } else if ft.is_dir() {
                b"dir".to_vec()
            } else {
                b"special".to_vec()
            };
            (rel, what)
        })
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Symlinks

/// Symlinks to `/`, `/etc`, the host's library directories, absolute
/// chains and `..` chains past the root: all followed inside the root,
/// never on the host. Libraries that exist only on the host are not found.
#[test]
fn symlinks_out_of_the_root_stay_inside() {
    let w = World::new();
    let lib = |n: &str| format!("{LIBDIR}/{n}");
    w.symlink("/", &lib("up"));
    w.symlink("/etc", &lib("etc"));
    w.symlink("/usr/lib/x86_64-linux-gnu", &lib("hostlib"));
    // Host files by absolute and by climbing path.
    w.symlink("/lib/x86_64-linux-gnu/libz.so.1", &lib("libz.so.1"));
    w.symlink(
        "../../../../../../../../../../../lib/x86_64-linux-gnu/libselinux.so.1",
        &lib("libselinux.so.1"),
    );
    w.symlink("/etc/passwd", &lib("libpasswd.so.1"));
    w.symlink("up/etc/../../../etc/hostname", &lib("libhostname.so.1"));
    // An absolute chain that ends at a real file of the root, through `/`.
    put(
        &w.host(&lib("real/libchain.so.1.0")),
        &leaf(b"libchain.so.1"),
    );
    w.symlink("/a/b1", &lib("libchain.so.1"));
    w.symlink("/a/b2", "/a/b1");
    w.symlink(
        "/usr/lib/x86_64-linux-gnu/up/usr/lib/x86_64-linux-gnu/up/a/b3",
        "/a/b2",
    );
    w.symlink(
        "../../../../../../usr/lib/x86_64-linux-gnu/real/libchain.so.1.0",
        "/a/b3",
    );
    for n in [
        "libz.so.1",
        "libselinux.so.1",
        "libpasswd.so.1",
        "libhostname.so.1",
        "libchain.so.1",
    ] {
        exe_needing(&w, &format!("/app/{n}"), n.as_bytes());
    }
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for n in [
        "libz.so.1",
        "libselinux.so.1",
        "libpasswd.so.1",
        "libhostname.so.1",
    ] {
        unresolved(&v, n, &format!("/app/{n}"));
    }
    assert!(
        !list(&v, "unresolved")
            .iter()
            .any(|u| str_of(u, "name") == "libchain.so.1"),
        "{v:#}"
    );
    let r = ldd(&w.root, &["/app/libchain.so.1"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_ldd_line(&r, &format!("libchain.so.1 => {LIBDIR}/libchain.so.1"));
    // The host's library directory through a link to `/` and as
    // LD_LIBRARY_PATH: still the root's.
    for llp in [
        "--library-path=/usr/lib/x86_64-linux-gnu/up/lib/x86_64-linux-gnu",
        "--library-path=/usr/lib/x86_64-linux-gnu/hostlib:/lib/x86_64-linux-gnu/../../../..",
    ] {
        let r = ldd(&w.root, &["/app/libz.so.1"], &[llp]);
        assert_eq!(r.code, Some(1), "{}", r.text());
        assert_ldd_line(&r, "libz.so.1 => not found");
    }
}

/// Loops of every shape: each candidate is skipped with a note naming
/// the loop, as glibc's open fails with ELOOP and moves on.
#[test]
fn symlink_loops_are_named_and_skipped() {
    let w = World::new();
    let lib = |n: &str| format!("{LIBDIR}/{n}");
    w.symlink("libself.so.1", &lib("libself.so.1"));
    w.symlink("libmutual-b.so.1", &lib("libmutual-a.so.1"));
    w.symlink("libmutual-a.so.1", &lib("libmutual-b.so.1"));
    // 50 links to a real file: past the kernel's 40.
    put(&w.host("/chain/real.so"), &leaf(b"libchain50.so.1"));
    w.symlink("/chain/l1", &lib("libchain50.so.1"));
    for i in 1..50 {
        w.symlink(&format!("/chain/l{}", i + 1), &format!("/chain/l{i}"));
    }
    w.symlink("/chain/real.so", "/chain/l50");
    // A directory loop on the way.
    w.symlink("loopdir/loopdir", &lib("loopdir"));
    w.symlink("loopdir/libx.so.1", &lib("libdirloop.so.1"));
    let names = [
        "libself.so.1",
        "libmutual-a.so.1",
        "libchain50.so.1",
        "libdirloop.so.1",
    ];
    for n in names {
        exe_needing(&w, &format!("/app/{n}"), n.as_bytes());
    }
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for n in names {
        let u = unresolved(&v, n, &format!("/app/{n}"));
        let notes = notes(u);
        assert!(
            notes.contains(&lib(n)) && notes.contains("too many levels of symbolic links"),
            "{n}: {notes}"
        );
        assert!(!notes.contains(&format!("{0}: {0}", lib(n))), "{notes}");
    }
    for n in names {
        let r = ldd(&w.root, &[&format!("/app/{n}")], &[]);
        assert_eq!(r.code, Some(1));
        assert_ldd_line(&r, &format!("{n} => not found"));
    }
    // A loop as the file asked about, and as the path scanned.
    let r = ldd(&w.root, &[&lib("libself.so.1")], &[]);
    assert_eq!(r.code, Some(1));
    assert!(r.text().contains("too many levels"), "{}", r.text());
    let r = ldslim(&[
        os("scan"),
        w.root.as_os_str(),
        os(&lib("loopdir")),
        os("--target"),
        os("none"),
    ]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains(&lib("loopdir")) && r.stderr.contains("too many levels"),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------
// Special files

/// FIFOs, devices and a socket named like libraries, and FIFOs where the
/// loader's own files are (/etc/ld.so.cache, /etc/ld.so.preload, the
/// builder's /etc/os-release): never opened for reading, so nothing
/// blocks; each library-named one stops the load that finds it.
#[test]
fn special_files_never_block() {
    let w = World::new();
    let lib = |n: &str| format!("{LIBDIR}/{n}");
    let mut names = vec!["libfifo.so.1", "libsock.so.1"];
    mkfifo(&w.host(&lib("libfifo.so.1")));
    let sock = std::os::unix::net::UnixListener::bind(w.host(&lib("libsock.so.1"))).unwrap();
    drop(sock);
    if mknod(&w.host(&lib("libchr.so.1")), libc::S_IFCHR, 1, 3)
        && mknod(&w.host(&lib("libblk.so.1")), libc::S_IFBLK, 7, 0)
    {
        names.extend(["libchr.so.1", "libblk.so.1"]);
    } else {
        common::cannot_run("mknod not permitted (not root): no device cases");
    }
    mkfifo(&w.host("/etc/ld.so.cache"));
    mkfifo(&w.host("/etc/ld.so.preload"));
    mkfifo(&w.host("/etc/os-release"));
    mkfifo(&w.host("/app/fifo-entry"));
    // Python-shaped ones, for the default (python) scope.
    mkfifo(&w.host("/usr/bin/python3"));
    mkfifo(&w.host("/opt/venv/pyvenv.cfg"));
    mkfifo(&w.host("/usr/lib/python3.11/site-packages/evil.pth"));
    mkfifo(&w.host("/usr/lib/python3.11/os.py"));
    w.symlink("/usr/bin/python3", "/opt/venv/bin/python");
    for n in &names {
        exe_needing(&w, &format!("/app/{n}"), n.as_bytes());
    }
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for n in &names {
        assert_fatal(&v, &format!("/app/{n}"), &lib(n), "not a regular file");
    }
    // The default scope looks for Python installations among them, waits
    // on none, and finds none (a usage error).
    let r = ldslim(&[os("scan"), w.root.as_os_str(), os("--format"), os("json")]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("no Python installation found"),
        "{}",
        r.stderr
    );
    // The default target is chosen from the builder's /etc/os-release,
    // here a FIFO: read as absent, not waited on.
    let r = ldslim(&[
        os("scan"),
        w.root.as_os_str(),
        os("--scope"),
        os("all"),
        os("--format"),
        os("json"),
    ]);
    assert_eq!(r.code, Some(1));
    assert!(r.json()["plan"].is_object(), "{}", r.text());
    for n in &names {
        let r = ldd(&w.root, &[&format!("/app/{n}")], &[]);
        assert_eq!(r.code, Some(1));
        assert_ldd_line(
            &r,
            &format!(
                "error: {}: not a regular file (glibc would block or fail opening it)",
                lib(n)
            ),
        );
    }
    // A FIFO as the file asked about, as the path scanned, and as the
    // program's loader.
    let r = ldd(&w.root, &["/app/fifo-entry"], &[]);
    assert_eq!(r.code, Some(1));
    assert!(r.text().contains("not a regular file"), "{}", r.text());
    let (r, v) = scan(&w.root, &["/app/fifo-entry"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(v["files"], 0);
    fs::remove_file(w.host(common::INTERP)).unwrap();
    mkfifo(&w.host(common::INTERP));
    // A loader that is there but is a FIFO is a defect of every program
    // using it, not a root without that loader (whose programs would
    // only be skipped): exit 1, each program named.
    let unusable = "its loader is unusable: /lib64/ld-linux-x86-64.so.2: not a regular file";
    let r = ldd(&w.root, &["/app/libfifo.so.1"], &[]);
    assert_eq!(r.code, Some(1));
    assert_ldd_line(&r, &format!("error: {unusable}"));
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for n in &names {
        assert_error(&v, &format!("/app/{n}"), &[unusable]);
    }
    assert_error(&v, &lib("libc.so.6").replace("/usr", ""), &[unusable]);
}

// ---------------------------------------------------------------------------
// Permissions

/// Drop to `nobody` for one command, if we are root and setpriv exists.
fn as_nobody(args: &[&OsStr]) -> Option<Command> {
    if !is_root() {
        return Some(ldslim_cmd(args));
    }
    let ok = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "root without a working setpriv (util-linux): cannot drop to nobody for the permission cases"
    );
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(BIN)
        .args(args)
        .env_clear();
    Some(cmd)
}

fn run_as_nobody(args: &[&OsStr]) -> Option<Run> {
    let what = format!("ldslim (as nobody) {args:?}");
    let a = run_with_timeout(as_nobody(args)?);
    sane(&a, &what);
    let b = run_with_timeout(as_nobody(args)?);
    assert_eq!(a, b, "{what}: two runs differ");
    Some(a)
}

/// chmod 000 files and directories. Root reads them anyway, so ldslim is
/// run as `nobody` (setpriv) when the test runs as root: every unreadable
/// thing is named with "Permission denied".
#[test]
fn unreadable_files_and_directories() {
    let w = World::new();
    // Let `nobody` reach the root (tempdirs are 0700).
    fs::set_permissions(w.root.parent().unwrap(), fs::Permissions::from_mode(0o755)).unwrap();
    let lib = |n: &str| format!("{LIBDIR}/{n}");
    put(&w.host(&lib("libunread.so.1")), &leaf(b"libunread.so.1"));
    put(
        &w.host("/opt/sealed/libsealed.so.1"),
        &leaf(b"libsealed.so.1"),
    );
    exe_needing(&w, "/app/unread", b"libunread.so.1");
    exe_needing(&w, "/app/sealed", b"libsealed.so.1");
    put(
        &w.host("/etc/ld.so.cache"),
        b"glibc-ld.so.cache1.1 unreadable",
    );
    let mode = |p: &str, m: u32| fs::set_permissions(w.host(p), fs::Permissions::from_mode(m));
    mode(&lib("libunread.so.1"), 0o000).unwrap();
    mode("/opt/sealed", 0o000).unwrap();
    mode("/etc/ld.so.cache", 0o000).unwrap();
    let args = [
        os("scan"),
        w.root.as_os_str(),
        os("--scope"),
        os("all"),
        os("--format"),
        os("json"),
        os("--target"),
        os("none"),
        os("--library-path"),
        os("/opt/sealed"),
    ];
    let Some(r) = run_as_nobody(&args) else {
        return;
    };
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let v = r.json();
    assert_error(&v, "/opt/sealed", &["Permission denied"]);
    assert_error(&v, &lib("libunread.so.1"), &["Permission denied"]);
    // The load that meets the unreadable library names it.
    assert_fatal(
        &v,
        "/app/unread",
        &lib("libunread.so.1"),
        "Permission denied",
    );
    // A directory that cannot be searched is noted where it was searched.
    let u = unresolved(&v, "libsealed.so.1", "/app/sealed");
    assert!(notes(u).contains("Permission denied"), "{u:#}");
    // So is the unreadable cache, where it would have been searched.
    assert!(
        notes(u).contains("/etc/ld.so.cache: Permission denied (os error 13), ignored"),
        "{u:#}"
    );
    let r = run_as_nobody(&[
        os("ldd"),
        w.root.as_os_str(),
        os("/app/unread"),
        os("/app/sealed"),
    ])
    .expect("setpriv worked above");
    assert_eq!(r.code, Some(1));
    assert!(
        r.text()
            .contains(&format!("error: {}: ", lib("libunread.so.1")))
            && r.text().contains("Permission denied"),
        "{}",
        r.text()
    );
    // Put the modes back so that the temporary directory can be removed
    // when not root.
    mode(&lib("libunread.so.1"), 0o644).unwrap();
    mode("/opt/sealed", 0o755).unwrap();
}

/// A root that holds no Python and cannot even be listed: both are said,
/// the problem with the root first (it is not hidden by the no-Python
/// message, whose path is also `/`).
#[test]
fn problems_at_the_root_are_reported_when_no_python_is_found() {
    let w = World::new();
    fs::set_permissions(w.root.parent().unwrap(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&w.root, fs::Permissions::from_mode(0o311)).unwrap();
    let r = run_as_nobody(&[os("scan"), w.root.as_os_str()]).expect("setpriv");
    fs::set_permissions(&w.root, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        lines[0].starts_with("ldslim: /: ")
            && lines[0].ends_with("Permission denied (os error 13)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(": no Python installation found (searched: "),
        "{}",
        r.stderr
    );
    // The no-Python finding is said once, in its own words.
    assert_eq!(
        r.stderr.matches("no Python installation found").count(),
        1,
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------
// Size and shape of the tree

/// 100 000 entries in one search directory: the walk and the searches
/// stay fast, the empty file named like a library stops its load.
#[test]
fn a_directory_with_100000_entries() {
    let w = World::new();
    let dir = w.host(LIBDIR);
    for i in 0..100_000 {
        fs::File::create(dir.join(format!("libm{i:06}.so.1"))).unwrap();
    }
    put(&dir.join("libreal.so.1"), &leaf(b"libreal.so.1"));
    exe_needing(&w, "/app/empty", b"libm054321.so.1");
    exe_needing(&w, "/app/real", b"libreal.so.1");
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(v["files"].as_u64() > Some(100_000), "{}", v["files"]);
    assert_fatal(
        &v,
        "/app/empty",
        &format!("{LIBDIR}/libm054321.so.1"),
        "invalid ELF header",
    );
    let r = ldd(&w.root, &["/app/real"], &[]);
    assert_eq!(r.code, Some(0));
    assert_ldd_line(&r, &format!("libreal.so.1 => {LIBDIR}/libreal.so.1"));
}

/// mkdir and descend `depth` times with `name`, relative to an open
/// directory, so that the host path may exceed PATH_MAX; then put
/// `bytes` at the bottom as `file`.
fn nest(top: &Path, name: &str, depth: usize, file: &str, bytes: &[u8]) {
    fs::create_dir_all(top).unwrap();
    let c = |s: &str| CString::new(s).unwrap();
    // SAFETY: plain *at(2) calls on descriptors this function owns, with
    // NUL-terminated names; every descriptor is closed once replaced.
    unsafe {
        let mut fd = libc::open(cstring(top).as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
        assert!(fd >= 0);
        for _ in 0..depth {
            assert_eq!(libc::mkdirat(fd, c(name).as_ptr(), 0o755), 0);
            let next = libc::openat(fd, c(name).as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            assert!(next >= 0);
            libc::close(fd);
            fd = next;
        }
        let f = libc::openat(fd, c(file).as_ptr(), libc::O_WRONLY | libc::O_CREAT, 0o755);
        assert!(f >= 0);
        assert_eq!(
            libc::write(f, bytes.as_ptr().cast(), bytes.len()),
            bytes.len() as isize
        );
        libc::close(f);
        libc::close(fd);
    }
}

/// 200 levels of directories: found through LD_LIBRARY_PATH and through a
/// symlink; with long names (a host path past PATH_MAX) the walk names
/// the directory it cannot enter.
#[test]
fn deep_nesting() {
    let w = World::new();
    nest(
        &w.host("/deep"),
        "d",
        200,
        "libdeep.so.1",
        &leaf(b"libdeep.so.1"),
    );
    let deep = format!("/deep{}", "/d".repeat(200));
    w.symlink(
        &format!("{deep}/libdeep.so.1"),
        &format!("{LIBDIR}/libdeep.so.1"),
    );
    let long = "l".repeat(200);
    nest(
        &w.host("/verydeep"),
        &long,
        30,
        "libvd.so.1",
        &leaf(b"libvd.so.1"),
    );
    exe_needing(&w, "/app/deep", b"libdeep.so.1");
    exe_needing(&w, "/app/vd", b"libvd.so.1");
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    // The walk opens every directory relative to its parent, so the library
    // deeper than PATH_MAX is read and examined like any other (nothing is
    // wrong with it); only naming it by its full path fails, below.
    assert!(
        list(&v, "errors")
            .iter()
            .all(|e| !str_of(e, "path").starts_with("/verydeep/")),
        "{:#}",
        v["errors"]
    );
    unresolved(&v, "libvd.so.1", "/app/vd");
    let vd = format!("/verydeep{}/libvd.so.1", format!("/{long}").repeat(30));
    let r = ldd(&w.root, &[vd.as_str()], &[]);
    assert_eq!(r.code, Some(1), "{}", r.text());
    assert!(r.text().contains("File name too long"), "{}", r.text());
    let r = ldd(&w.root, &["/app/deep"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_ldd_line(&r, &format!("libdeep.so.1 => {LIBDIR}/libdeep.so.1"));
    let llp = format!("--library-path={deep}");
    let r = ldd(&w.root, &["/app/deep"], &[&llp]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_ldd_line(&r, &format!("libdeep.so.1 => {deep}/libdeep.so.1"));
    let llp = format!("--library-path=/verydeep{}", format!("/{long}").repeat(30));
    let r = ldd(&w.root, &["/app/vd"], &[&llp]);
    assert_eq!(r.code, Some(1), "{}", r.text());
    assert_ldd_line(&r, "libvd.so.1 => not found");
}

/// Names that are not UTF-8: files and directories are reported with
/// their exact bytes, a UTF-8 link to such a file works.
#[test]
fn non_utf8_names() {
    let w = World::new();
    let raw = |s: &[u8]| PathBuf::from(OsString::from_vec(s.to_vec()));
    let host = |inside: &[u8]| w.root.join(raw(inside));
    put(&host(b"opt/lib\xff.so"), &leaf(b"libff.so"));
    put(&host(b"opt/d\xfe\xff/libgood.so"), &leaf(b"libgood.so"));
    put(
        &host(b"usr/lib/x86_64-linux-gnu/lib\xe9.so.1.0"),
        &leaf(b"libnu.so.1"),
    );
    symlink(
        raw(b"lib\xe9.so.1.0"),
        w.host(&format!("{LIBDIR}/libnu.so.1")),
    )
    .unwrap();
    exe_needing(&w, "/app/nu", b"libnu.so.1");
    // Two names whose lossy forms are the same stay two errors.
    put(&host(b"opt/lib\xfe.so"), &leaf(b"libfe.so"));
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for (shown, exact) in [
        ("/opt/lib\u{fffd}.so", "\\xFF"),
        ("/opt/lib\u{fffd}.so", "\\xFE"),
        ("/usr/lib/x86_64-linux-gnu/lib\u{fffd}.so.1.0", "\\xE9"),
        ("/opt/d\u{fffd}\u{fffd}/libgood.so", "\\xFE\\xFF"),
    ] {
        assert_error(&v, shown, &["not valid UTF-8", exact]);
    }
    let r = ldd(&w.root, &["/app/nu"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_ldd_line(&r, &format!("libnu.so.1 => {LIBDIR}/libnu.so.1"));
    // A DT_NEEDED that is not UTF-8 does not crash anything either.
    exe_needing(&w, "/app/raw-need", b"lib\xff\xfe.so");
    let r = ldd(&w.root, &["/app/raw-need"], &[]);
    assert_eq!(r.code, Some(1), "{}", r.text());
}

// ---------------------------------------------------------------------------
// Malformed ELF files

/// A library truncated at every header boundary (e_ident, the ELF header,
/// each program header, PT_DYNAMIC, the dynamic string table): each
/// prefix is reported under its path, and the program needing it stops
/// there, as glibc would.
#[test]
fn elf_truncated_at_every_header_boundary() {
    let w = World::new();
    let full = leaf(b"libtrunc.so.1");
    let e = Elf::parse(&full);
    let (dyn_off, dyn_size) = e.dynamic;
    let mut cuts: BTreeSet<u64> = [0, 1, 3, 4, 5, 15, 16, 17, 40, 63, 64].into();
    for i in 0..=e.phnum {
        let at = e.phoff + i * e.phentsize;
        cuts.extend([at.saturating_sub(1), at, at + 4]);
    }
    cuts.extend([
        dyn_off,
        dyn_off + 1,
        dyn_off + 8,
        dyn_off + 16,
        dyn_off + dyn_size - 1,
    ]);
    // The string table comes before PT_DYNAMIC in the template; to cut
    // inside it, point DT_STRTAB just before the end of PT_DYNAMIC's
    // PT_LOAD and cut there.
    let mut strcut = full.clone();
    let (load_off, load_vaddr, load_size) = e.dynamic_load();
    let load_end = load_off + load_size;
    assert!(load_end >= dyn_off + dyn_size);
    set_u64(
        &mut strcut,
        e.entry(DT_STRTAB) + 8,
        load_vaddr + load_size - 3,
    );
    strcut.truncate(load_end as usize);

    let mut cases: Vec<(String, Vec<u8>)> = cuts
        .iter()
        .filter(|&&c| (c as usize) < full.len())
        .map(|&c| (format!("libcut{c}.so"), full[..c as usize].to_vec()))
        .collect();
    cases.push(("libcutstr.so".into(), strcut));
    for (name, bytes) in &cases {
        w.write(&format!("{LIBDIR}/{name}"), bytes);
        exe_needing(&w, &format!("/app/{name}"), name.as_bytes());
    }
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for (name, bytes) in &cases {
        let path = format!("{LIBDIR}/{name}");
        let fatal = list(&v, "fatal")
            .iter()
            .find(|f| str_of(f, "entry") == format!("/app/{name}"))
            .unwrap_or_else(|| panic!("{name}: no fatal: {:#}", v["fatal"]));
        assert_eq!(str_of(fatal, "path"), path, "{fatal}");
        if bytes.len() >= 4 {
            // An ELF magic: a bad file, in `errors` under its path.
            let err = list(&v, "errors")
                .iter()
                .find(|e| str_of(e, "path") == path)
                .unwrap_or_else(|| panic!("{name}: no error: {:#}", v["errors"]));
            let m = str_of(err, "message");
            assert!(
                m.contains("truncated")
                    || m.contains("past the end of the file")
                    || m.contains("outside"),
                "{name}: {m}"
            );
        }
    }
    let files: Vec<String> = cases.iter().map(|(n, _)| format!("/app/{n}")).collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let r = ldd(&w.root, &files, &[]);
    assert_eq!(r.code, Some(1));
    let text = r.text();
    for (name, _) in &cases {
        assert!(
            text.contains(&format!("/app/{name}:\n\terror: {LIBDIR}/{name}: ")),
            "{name}: {text}"
        );
    }
}

/// A minimal ELF64 shared object (one PT_LOAD over the file, PT_DYNAMIC)
/// needing `needed` and named `soname`.
fn synthetic_lib(soname: &str, needed: &[String]) -> Vec<u8> {
    let mut strtab = vec![0u8];
    let mut add = |s: &str| {
        let at = strtab.len() as u64;
        strtab.extend_from_slice(s.as_bytes());
        strtab.push(0);
        at
    };
    let mut dyns: Vec<(u64, u64)> = needed.iter().map(|n| (DT_NEEDED, add(n))).collect();
    dyns.push((DT_SONAME, add(soname)));
    let dyn_off = 64 + 2 * 56;
    let dyn_size = (dyns.len() as u64 + 3) * 16;
    let str_off = dyn_off + dyn_size;
    dyns.extend([
        (DT_STRTAB, str_off),
        (DT_STRSZ, strtab.len() as u64),
        (0, 0),
    ]);
    let total = str_off + strtab.len() as u64;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    for v in [3u16, 62] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&1u32.to_le_bytes());
    for v in [0u64, 64, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 2, 64, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let phdr = |b: &mut Vec<u8>, p_type: u32, off: u64, size: u64| {
        b.extend_from_slice(&p_type.to_le_bytes());
        b.extend_from_slice(&6u32.to_le_bytes());
        for v in [off, off, off, size, size, 8] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    };
    phdr(&mut b, PT_LOAD, 0, total);
    phdr(&mut b, PT_DYNAMIC, dyn_off, dyn_size);
    for (t, v) in dyns {
        b.extend_from_slice(&t.to_le_bytes());
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&strtab);
    assert_eq!(b.len() as u64, total);
    b
}

/// 100 000 DT_NEEDED entries (1.6 MB of dynamic section, within every
/// other bound): each would be a search for every program loading the
/// object, so the file is refused as malformed; 1000 are simulated.
#[test]
fn a_hundred_thousand_needed_entries() {
    let w = World::new();
    let names: Vec<String> = (0..100_000).map(|i| format!("libn{i}.so")).collect();
    w.write(
        &format!("{LIBDIR}/libmany.so"),
        &synthetic_lib("libmany.so", &names),
    );
    w.write(
        &format!("{LIBDIR}/libsome.so"),
        &synthetic_lib("libsome.so", &names[..1000]),
    );
    exe_needing(&w, "/app/many", b"libmany.so");
    exe_needing(&w, "/app/some", b"libsome.so");
    let t = Instant::now();
    let (r, v) = scan(&w.root, &[]);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let many = format!("{LIBDIR}/libmany.so");
    assert_error(&v, &many, &["more than 4096 DT_NEEDED"]);
    assert_fatal(&v, "/app/many", &many, "more than 4096 DT_NEEDED");
    let u = unresolved(&v, "libn999.so", &format!("{LIBDIR}/libsome.so"));
    assert_eq!(
        u["entries"],
        serde_json::json!(["/app/some", "/usr/lib/x86_64-linux-gnu/libsome.so"])
    );
}

/// Header fields patched to hostile values: huge counts and offsets,
/// PT_DYNAMIC outside the file, string offsets out of range, strings
/// without a terminating NUL, a string table at an unmapped address.
#[test]
fn elf_fields_out_of_range() {
    let w = World::new();
    let full = leaf(b"libpatched.so.1");
    let e = Elf::parse(&full);
    let len = full.len() as u64;
    let dyn_ph = e.phdrs.iter().find(|p| p.1 == PT_DYNAMIC).unwrap().0;
    type Patch = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, &str, Patch)> = vec![
        (
            "phnum-xnum",
            "PN_XNUM",
            Box::new(|b| set_u16(b, 56, 0xffff)),
        ),
        (
            "phnum-huge",
            "program header table",
            Box::new(|b| set_u16(b, 56, 0xfffe)),
        ),
        (
            "phoff-huge",
            "program header table",
            Box::new(|b| set_u64(b, 32, u64::MAX - 8)),
        ),
        (
            "phentsize-small",
            "e_phentsize",
            Box::new(|b| set_u16(b, 54, 8)),
        ),
        (
            "dyn-outside",
            "PT_DYNAMIC at offset",
            Box::new(move |b| set_u64(b, dyn_ph + 8, len + 4096)),
        ),
        (
            "dyn-wraps",
            "PT_DYNAMIC at offset",
            Box::new(move |b| set_u64(b, dyn_ph + 8, u64::MAX - 15)),
        ),
        (
            "dyn-huge",
            "PT_DYNAMIC at offset",
            Box::new(move |b| set_u64(b, dyn_ph + 32, u64::MAX)),
        ),
        (
            "soname-range",
            "DT_SONAME string offset",
            Box::new({
                let at = e.entry(DT_SONAME) + 8;
                move |b| set_u64(b, at, 0xffff_ff00)
            }),
        ),
        (
            "soname-wrap",
            "DT_SONAME",
            Box::new({
                let at = e.entry(DT_SONAME) + 8;
                move |b| set_u64(b, at, u64::MAX)
            }),
        ),
        (
            "needed-range",
            "DT_NEEDED string offset",
            Box::new({
                let at = e.entry(DT_NEEDED) + 8;
                move |b| set_u64(b, at, 1 << 40)
            }),
        ),
        (
            "strtab-unmapped",
            "DT_STRTAB address",
            Box::new({
                let at = e.entry(DT_STRTAB) + 8;
                move |b| set_u64(b, at, 0xdead_0000_0000)
            }),
        ),
        (
            "unterminated",
            "no terminating NUL",
            Box::new({
                // Every byte of the string table from the soname on is made
                // non-NUL.
                let start = e.strtab + e.tag(DT_SONAME);
                let end = e.strtab + e.tag(DT_STRSZ);
                move |b| b[start as usize..end as usize].fill(b'A')
            }),
        ),
    ];
    for (name, _, patch) in &cases {
        let mut b = full.clone();
        patch(&mut b);
        w.write(&format!("{LIBDIR}/lib{name}.so"), &b);
        exe_needing(
            &w,
            &format!("/app/{name}"),
            format!("lib{name}.so").as_bytes(),
        );
    }
    // Section headers are never read: huge or absurd ones are harmless.
    let mut b = full.clone();
    set_u16(&mut b, 60, 0xffff);
    set_u64(&mut b, 40, u64::MAX - 1);
    w.write(&format!("{LIBDIR}/libshnum.so"), &b);
    exe_needing(&w, "/app/shnum", b"libshnum.so");

    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for (name, says, _) in &cases {
        let path = format!("{LIBDIR}/lib{name}.so");
        assert_error(&v, &path, &[says]);
        assert_fatal(&v, &format!("/app/{name}"), &path, says);
    }
    assert!(
        !list(&v, "errors")
            .iter()
            .any(|e| str_of(e, "path").contains("shnum")),
        "{v:#}"
    );
    let r = ldd(&w.root, &["/app/shnum"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_ldd_line(&r, &format!("libshnum.so => {LIBDIR}/libshnum.so"));
}

/// An object needing itself (by soname and by path) and a two-library
/// cycle: each is loaded once, the load ends, and glibc agrees.
#[test]
fn self_needs_and_cycles() {
    let w = World::new();
    lib_needing(
        &w,
        &format!("{LIBDIR}/libself.so.1"),
        b"libself.so.1",
        b"libself.so.1",
    );
    let abs = format!("{LIBDIR}/libabs.so");
    lib_needing(&w, &abs, b"libabs.so", abs.as_bytes());
    lib_needing(
        &w,
        &format!("{LIBDIR}/liba.so.1"),
        b"liba.so.1",
        b"libb.so.1",
    );
    lib_needing(
        &w,
        &format!("{LIBDIR}/libb.so.1"),
        b"libb.so.1",
        b"liba.so.1",
    );
    exe_needing(&w, "/app/self", b"libself.so.1");
    exe_needing(&w, "/app/abs", abs.as_bytes());
    exe_needing(&w, "/app/cycle", b"libb.so.1");
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        list(&v, "unresolved").is_empty() && list(&v, "fatal").is_empty(),
        "{v:#}"
    );
    let expect = [
        (
            "/app/self",
            vec![format!("libself.so.1 => {LIBDIR}/libself.so.1")],
        ),
        ("/app/abs", vec![abs.to_string()]),
        (
            "/app/cycle",
            vec![
                format!("libb.so.1 => {LIBDIR}/libb.so.1"),
                format!("liba.so.1 => {LIBDIR}/liba.so.1"),
            ],
        ),
    ];
    for (file, libs) in expect {
        let r = ldd(&w.root, &[file], &[]);
        assert_eq!(r.code, Some(0), "{}", r.text());
        let got: Vec<String> = r.text().lines().skip(1).map(str::to_string).collect();
        for l in &libs {
            assert_eq!(
                got.iter().filter(|g| **g == format!("\t{l}")).count(),
                1,
                "{got:?}"
            );
        }
        if let Some(glibc) = w.glibc(file, None) {
            assert_eq!(got, glibc, "glibc disagrees for {file}");
        }
    }
    // The tree and `why` walk the same cycles.
    let r = ldslim(&[
        os("scan"),
        w.root.as_os_str(),
        os("--tree"),
        os("/app/cycle"),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.text().matches("libb.so.1 =>").count(), 2, "{}", r.text());
    let r = ldslim(&[
        os("why"),
        w.root.as_os_str(),
        os("liba.so.1"),
        os("/app"),
        os("--target"),
        os("none"),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.text().contains("/app/cycle"), "{}", r.text());
}

/// A 4 GiB sparse library, a 4 GiB sparse file with only an ELF header,
/// and 4 GiB loader files: only headers are read, so this is as fast as a
/// small file, and the big loader files are ignored rather than read.
#[test]
fn huge_sparse_files() {
    let w = World::new();
    let big = 4u64 << 30;
    let make = |inside: &str, head: &[u8]| {
        let p = w.host(inside);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let f = fs::File::create(&p).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, head, 0).unwrap();
        f.set_len(big).unwrap();
    };
    let real = leaf(b"libhuge.so");
    make(&format!("{LIBDIR}/libhuge.so"), &real);
    make(&format!("{LIBDIR}/libhugehdr.so"), &real[..64]);
    make("/etc/ld.so.cache", b"glibc-ld.so.cache1.1");
    make("/etc/ld.so.preload", b"libhuge.so");
    exe_needing(&w, "/app/huge", b"libhuge.so");
    exe_needing(&w, "/app/hugehdr", b"libhugehdr.so");
    let t = Instant::now();
    let (r, v) = scan(&w.root, &[]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        list(&v, "skipped")
            .iter()
            .any(|s| str_of(s, "path") == format!("{LIBDIR}/libhugehdr.so")
                && str_of(s, "message").contains("static")),
        "{v:#}"
    );
    let r = ldd(&w.root, &["/app/huge", "/app/hugehdr"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert_ldd_line(&r, &format!("libhuge.so => {LIBDIR}/libhuge.so"));
    assert_ldd_line(&r, &format!("libhugehdr.so => {LIBDIR}/libhugehdr.so"));
}

/// An /etc/ld.so.preload of 1 MiB: every name of it costs a search for
/// every program, so only the first 1024 different names are simulated
/// (with a warning) and the run stays fast. Host paths in it are not
/// found, repeated names count once.
#[test]
fn a_huge_ld_so_preload_is_cut() {
    let w = World::new();
    for i in 0..8 {
        exe_needing(&w, &format!("/app/p{i}"), b"libc.so.6");
    }
    let mut text = String::from("/etc/passwd libc.so.6 /etc/passwd\n");
    let mut i = 0u32;
    while text.len() < (1 << 20) - 16 {
        text.push_str(&format!("lib{i:x}.so:"));
        i += 1;
    }
    w.write("/etc/ld.so.preload", text.as_bytes());
    let t = Instant::now();
    let (r, v) = scan(&w.root, &[]);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let warnings = list(&v, "warnings");
    assert!(
        warnings
            .iter()
            .any(|x| str_of(x, "object") == "/etc/ld.so.preload"
                && str_of(x, "message").contains("only the first 1024")),
        "{:#}",
        v["warnings"]
    );
    assert!(
        warnings.iter().any(|x| str_of(x, "needed") == "/etc/passwd"
            && str_of(x, "message").contains("cannot be preloaded")),
        "{:#}",
        v["warnings"]
    );
}

/// A root whose loader cache is garbage names it where the cache would
/// have been searched, instead of silently ignoring it.
#[test]
fn garbage_ld_so_cache_is_named() {
    let w = World::new();
    w.write(
        "/etc/ld.so.cache",
        b"glibc-ld.so.cache1.1\0\0\0\xff\xff\xff\xffgarbage",
    );
    exe_needing(&w, "/app/x", b"libnowhere.so.1");
    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let u = unresolved(&v, "libnowhere.so.1", "/app/x");
    let cache = u["searched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| str_of(s, "place") == "/etc/ld.so.cache")
        .unwrap_or_else(|| panic!("{u:#}"));
    let n = notes(&serde_json::json!({ "searched": [cache] }));
    assert!(
        n.contains("/etc/ld.so.cache") && n.contains("ignored"),
        "{n}"
    );
}

// ---------------------------------------------------------------------------
// Nothing outside the root

/// inotify watches on host files: did anything open or read them?
struct Watch {
    fd: i32,
}

impl Watch {
    fn new(paths: &[&Path]) -> Watch {
        // SAFETY: inotify_init1 has no preconditions.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0, "inotify_init1");
        for p in paths {
            let mask = libc::IN_OPEN | libc::IN_ACCESS | libc::IN_MODIFY;
            // SAFETY: a valid descriptor and NUL-terminated path.
            let wd = unsafe { libc::inotify_add_watch(fd, cstring(p).as_ptr(), mask) };
            assert!(wd >= 0, "inotify_add_watch {p:?}");
        }
        Watch { fd }
    }

    /// Bytes of pending events (0: none).
    fn pending(&self) -> usize {
        let mut buf = [0u8; 4096];
        // SAFETY: reading into a buffer of the size given.
        let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
        usize::try_from(n).unwrap_or(0)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: our own descriptor.
        unsafe { libc::close(self.fd) };
    }
}

/// Canaries on the host, outside the root: a valid library, a FIFO (a
/// blocking open would hang the run) and a directory, each reached from
/// inside the root by absolute and climbing symlinks, by a DT_NEEDED that
/// is their host path, by LD_LIBRARY_PATH and as the loader's own files.
/// inotify proves none is opened; each is reported not found.
#[test]
fn nothing_outside_the_root_is_opened() {
    let w = World::new();
    let outer = w.root.parent().unwrap().join("outside");
    let canary = outer.join("libcanary.so.1");
    let fifo = outer.join("canary.fifo");
    put(&canary, &leaf(b"libcanary.so.1"));
    mkfifo(&fifo);
    let climb = format!("../../../../../../../../../..{}", host_str(&canary));
    let lib = |n: &str| format!("{LIBDIR}/{n}");
    w.symlink(host_str(&canary), &lib("libcanary.so.1"));
    w.symlink(&climb, &lib("libclimb.so.1"));
    w.symlink(host_str(&fifo), &lib("libfifo.so.1"));
    w.symlink(host_str(&outer), "/opt/ext");
    for loader_file in ["/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/os-release"] {
        w.symlink(host_str(&fifo), loader_file);
    }
    let needs: Vec<(&str, String)> = vec![
        ("canary", "libcanary.so.1".into()),
        ("climb", "libclimb.so.1".into()),
        ("fifo", "libfifo.so.1".into()),
        ("abs", host_str(&canary).to_string()),
        ("absfifo", host_str(&fifo).to_string()),
    ];
    for (exe, name) in &needs {
        exe_needing(&w, &format!("/app/{exe}"), name.as_bytes());
    }
    let watch = Watch::new(&[&outer, &canary, &fifo]);
    assert_eq!(watch.pending(), 0);

    let (r, v) = scan(&w.root, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for (exe, name) in &needs {
        unresolved(&v, name, &format!("/app/{exe}"));
    }
    let exes: Vec<String> = needs.iter().map(|(e, _)| format!("/app/{e}")).collect();
    let exes: Vec<&str> = exes.iter().map(String::as_str).collect();
    for extra in [&[][..], &["--library-path=/opt/ext:/opt/ext/"][..]] {
        let r = ldd(&w.root, &exes, extra);
        assert_eq!(r.code, Some(1));
        for (_, name) in &needs {
            assert_ldd_line(&r, &format!("{name} => not found"));
        }
    }
    // With the embedded default target: the plan looks at the same files.
    let r = ldslim(&[
        os("scan"),
        w.root.as_os_str(),
        os("--scope"),
        os("all"),
        os("--format"),
        os("json"),
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(watch.pending(), 0, "a file outside the root was opened");
}

/// A library present only on the host (here in /lib/x86_64-linux-gnu) is
/// not found in the root — even with the host's own /etc/ld.so.cache
/// copied into the root, whose paths are then looked up inside the root.
#[test]
fn host_only_libraries_are_not_found() {
    let w = World::new();
    let names: Vec<&str> = ["libz.so.1", "libselinux.so.1"]
        .into_iter()
        .filter(|n| Path::new("/lib/x86_64-linux-gnu").join(n).exists())
        .collect();
    if names.is_empty() {
        common::cannot_run("the host has neither libz.so.1 nor libselinux.so.1");
        return;
    }
    for n in &names {
        exe_needing(&w, &format!("/app/{n}"), n.as_bytes());
    }
    let check = |cache: bool| {
        let (r, v) = scan(&w.root, &[]);
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        for n in &names {
            let u = unresolved(&v, n, &format!("/app/{n}"));
            if cache {
                let notes = notes(u);
                assert!(notes.contains("listed but missing"), "{n}: {u:#}");
            }
        }
    };
    check(false);
    if fs::copy("/etc/ld.so.cache", w.host("/etc/ld.so.cache")).is_ok() {
        check(true);
    }
}

/// The path an `open`-family call of an `strace -y` line names: its
/// string argument, made absolute with the directory `-y` shows for the
/// descriptor argument (`openat(3</root/usr>, "lib", ...)`).
fn traced_path(line: &str) -> Option<PathBuf> {
    let call = ["openat2(", "openat(", "open(", "creat("]
        .iter()
        .find_map(|c| line.find(c).map(|i| (i + c.len(), *c)))?;
    let args = &line[call.0..];
    let name = args.split('"').nth(1)?;
    if name.starts_with('/') || call.1 == "open(" || call.1 == "creat(" {
        return Some(PathBuf::from(name));
    }
    // The descriptor: `3</dir>` or `AT_FDCWD</dir>`.
    let first = args.split('"').next()?;
    let base = first.split_once('<')?.1.split_once('>')?.0;
    Some(Path::new(base).join(name))
}

/// strace over `ldslim scan` (both scopes) and `ldslim ldd` of a root full
/// of links to the host: after the program's own startup (its loader, its
/// libraries, /proc and /sys), every path it opens — by absolute path or
/// relative to a directory descriptor — is under the root's directory.
#[test]
fn strace_sees_only_paths_in_the_root() {
    let ok = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-y",
            "-e",
            "trace=openat",
            "-o",
            "/dev/null",
            "true",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        common::cannot_run("strace is missing or cannot trace here (apt-get install strace)");
        return;
    }
    let w = World::new();
    let lib = |n: &str| format!("{LIBDIR}/{n}");
    w.symlink("/", &lib("up"));
    w.symlink("/lib/x86_64-linux-gnu/libz.so.1", &lib("libz.so.1"));
    w.symlink("../../../../../../../../etc/passwd", &lib("libpasswd.so.1"));
    w.symlink(
        "/usr/lib/x86_64-linux-gnu/up/etc/shadow",
        &lib("libshadow.so.1"),
    );
    w.symlink("/etc", "/opt/etc");
    let _ = fs::copy("/etc/ld.so.cache", w.host("/etc/ld.so.cache"));
    // For the default (python) scope: interpreters and site directories
    // that exist only on the host.
    w.symlink("/usr/bin/python3.11", "/usr/bin/python3");
    w.symlink("/usr/lib/python3", "/usr/local/lib/python3.11");
    w.symlink("/usr/bin/python3", "/opt/venv/bin/python");
    w.write(
        "/opt/venv/pyvenv.cfg",
        b"home = /usr/bin\nversion = 3.11.2\n",
    );
    for n in [
        "libz.so.1",
        "libpasswd.so.1",
        "libshadow.so.1",
        "/etc/passwd",
    ] {
        exe_needing(&w, &format!("/app/{}", n.replace('/', "_")), n.as_bytes());
    }
    let trace = w.root.parent().unwrap().join("trace");
    let root = fs::canonicalize(&w.root).unwrap();
    // With the exit code each ends with: the default scope finds no
    // Python inside the root (a usage error), the others their findings.
    let runs: Vec<(Vec<&OsStr>, i32)> = vec![
        (
            vec![
                os("scan"),
                root.as_os_str(),
                os("--scope"),
                os("all"),
                os("--format"),
                os("json"),
            ],
            1,
        ),
        (
            vec![os("scan"), root.as_os_str(), os("--format"), os("json")],
            2,
        ),
        (
            vec![
                os("ldd"),
                root.as_os_str(),
                os("/app/libz.so.1"),
                os("/app/_etc_passwd"),
                os("--library-path=/opt/etc:/lib/x86_64-linux-gnu"),
            ],
            1,
        ),
    ];
    for (args, code) in runs {
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-y", "-s", "8192", "-e"])
            .arg("trace=open,openat,openat2,creat")
            .arg("-o")
            .arg(&trace)
            .arg(BIN)
            .args(&args)
            .env_clear();
        let r = run_with_timeout(cmd);
        sane(&r, "strace ldslim");
        assert_eq!(r.code, Some(code), "{args:?}: {}", r.stderr);
        let text = fs::read_to_string(&trace).unwrap();
        let mut startup = true;
        let mut opened_in_root = 0;
        for line in text.lines().filter(|l| !l.contains("resumed>")) {
            let path =
                traced_path(line).unwrap_or_else(|| panic!("cannot tell what this opens: {line}"));
            if path.starts_with(&root) {
                startup = false;
                opened_in_root += 1;
                continue;
            }
            let system = ["/proc/", "/sys/"].iter().any(|p| path.starts_with(p));
            let loader = path == Path::new("/etc/ld.so.cache")
                || ["/lib/", "/lib64/", "/usr/lib/"]
                    .iter()
                    .any(|p| path.starts_with(p));
            assert!(
                system || (startup && loader),
                "opened outside the root: {} ({line})\n(startup: {startup}, args {args:?})",
                path.display()
            );
        }
        assert!(opened_in_root > 0, "{text}");
    }
}

// ---------------------------------------------------------------------------
// Emitters

/// Every path in a tar file, with its link text, read back with the tar
/// crate.
fn tar_paths(path: &Path) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut a = tar::Archive::new(fs::File::open(path).unwrap());
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let p = e.path_bytes().into_owned();
            let l = e.link_name_bytes().map(|l| l.into_owned());
            (p, l)
        })
        .collect()
}

/// A builder whose program needs two libraries only it has (one through
/// a climbing symlink chain, one through a RUNPATH), and a target image
/// with `lib -> <host dir outside>` and `evil -> /`.
struct EmitSetup {
    builder: World,
    outer: tempfile::TempDir,
    img: PathBuf,
    outside: PathBuf,
}

fn emit_setup() -> EmitSetup {
    let builder = World::new();
    put(
        &builder.host("/lib/x86_64-linux-gnu/liba.so.1.0"),
        &leaf(b"liba.so.1"),
    );
    builder.symlink(
        "../../../../../../../lib/x86_64-linux-gnu/liba.so.1.0",
        "/lib/x86_64-linux-gnu/liba.so.1",
    );
    lib_needing(
        &builder,
        "/opt/app/lib/libo.so.1",
        b"libo.so.1",
        b"liba.so.1",
    );
    // The program finds libo through its RUNPATH in both images.
    let libo = builder.stub("libo.so.1");
    builder.exe(
        "/usr/bin/app",
        &[&libo],
        &["-Wl,--enable-new-dtags", "-Wl,-rpath,/opt/app/lib"],
    );
    let outer = tempfile::tempdir().unwrap();
    let outer_abs = fs::canonicalize(outer.path()).unwrap();
    let outside = outer_abs.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let img = outer_abs.join("img");
    let inside_outside = img.join(outside.strip_prefix("/").unwrap());
    fs::create_dir_all(inside_outside.join("x86_64-linux-gnu")).unwrap();
    fs::create_dir_all(img.join("lib64")).unwrap();
    fs::create_dir_all(img.join("usr/lib/x86_64-linux-gnu")).unwrap();
    fs::create_dir_all(img.join("data")).unwrap();
    fs::copy(
        builder.host(common::INTERP),
        img.join("lib64/ld-linux-x86-64.so.2"),
    )
    .unwrap();
    fs::copy(
        builder.host("/lib/x86_64-linux-gnu/libc.so.6"),
        inside_outside.join("x86_64-linux-gnu/libc.so.6"),
    )
    .unwrap();
    symlink(&outside, img.join("lib")).unwrap();
    symlink("/", img.join("evil")).unwrap();
    symlink("/evil/data", img.join("opt")).unwrap();
    EmitSetup {
        builder,
        outer,
        img,
        outside,
    }
}

/// `--emit tar=` and `--emit copy=` with a hostile builder and target:
/// the layer has only relative paths without `..`, and the copy writes
/// only inside the target directory (through its links, resolved there).
#[test]
fn emitters_stay_inside() {
    let s = emit_setup();
    let layer = s.outer.path().join("layer.tar");
    let outer_before: Vec<_> = snapshot(s.outer.path())
        .into_iter()
        .filter(|(p, _)| !p.starts_with("img"))
        .collect();
    let tar_arg = format!("tar={}", layer.display());
    let copy_arg = format!("copy={}", s.img.display());
    let args = [
        os("scan"),
        s.builder.root.as_os_str(),
        os("/usr/bin"),
        os("--target"),
        s.img.as_os_str(),
        os("--emit"),
        os(&tar_arg),
        os("--emit"),
        os(&copy_arg),
    ];
    // The layer alone, twice: the same bytes.
    let r = ldslim(&args[..7]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.text(), r.stderr);
    let first = fs::read(&layer).unwrap();
    let r = run_with_timeout(ldslim_cmd(&args));
    sane(&r, "emit");
    assert_eq!(r.code, Some(0), "{}\n{}", r.text(), r.stderr);
    assert_eq!(fs::read(&layer).unwrap(), first);
    let entries = tar_paths(&layer);
    assert!(!entries.is_empty());
    // Applied on the image, no entry replaces one of its links (a `lib/`
    // directory entry over `lib -> ...` would break the image).
    for (p, _) in entries.iter().filter(|(p, _)| p.ends_with(b"/")) {
        let p = OsStr::from_bytes(p);
        let at = s.img.join(Path::new(p).components().as_path());
        let is_link = fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink());
        assert!(!is_link, "the layer's {p:?} replaces a link of the image");
    }
    for (p, _) in &entries {
        let p = Path::new(OsStr::from_bytes(p));
        assert!(
            p.is_relative() && !p.components().any(|c| c.as_os_str() == ".."),
            "tar entry {p:?}"
        );
    }
    let names: Vec<String> = entries
        .iter()
        .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
        .collect();
    let outside_rel = s.outside.strip_prefix("/").unwrap().display().to_string();
    assert!(
        names.contains(&format!("{outside_rel}/x86_64-linux-gnu/liba.so.1.0"))
            && names.contains(&"data/app/lib/libo.so.1".to_string()),
        "{names:#?}"
    );
    // Nothing appeared outside the image directory.
    assert!(fs::read_dir(&s.outside).unwrap().next().is_none());
    let outer_after: Vec<_> = snapshot(s.outer.path())
        .into_iter()
        .filter(|(p, _)| !p.starts_with("img") && p != Path::new("layer.tar"))
        .collect();
    assert_eq!(outer_before, outer_after);
    assert!(!Path::new("/data/app").exists());
    // The copy went through the links inside the image.
    let inside = s.img.join(&outside_rel).join("x86_64-linux-gnu");
    assert_eq!(
        fs::read(inside.join("liba.so.1.0")).unwrap(),
        leaf(b"liba.so.1")
    );
    assert!(s.img.join("data/app/lib/libo.so.1").is_file());
    // Planned again against the image as copied: nothing left to copy.
    let r = run_with_timeout(ldslim_cmd(&args));
    sane(&r, "emit again");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("0 files, 0 symlinks added"),
        "{}",
        r.stderr
    );
    assert!(tar_paths(&layer).is_empty());
}

/// `ldslim scan BUILDER /usr/bin --target IMG --emit E...` on an
/// [`emit_setup`], checked to end sanely.
fn scan_emitting(s: &EmitSetup, emits: &[String]) -> Run {
    let mut args: Vec<&OsStr> = vec![
        os("scan"),
        s.builder.root.as_os_str(),
        os("/usr/bin"),
        os("--target"),
        s.img.as_os_str(),
    ];
    for e in emits {
        args.extend([os("--emit"), os(e)]);
    }
    let r = run_with_timeout(ldslim_cmd(&args));
    sane(&r, "emit");
    r
}

/// A copy that conflicts with the target, and tar files that cannot be
/// written: exit 2, the file named, no tar file and no temporary file,
/// the target directory untouched.
#[test]
fn failed_emits_leave_nothing_that_looks_complete() {
    let s = emit_setup();
    // The plan is made against `img`; the copy goes into `img2`, the same
    // image with another liba where the plan puts the builder's. (Against
    // `img2` itself the plan would see the conflict and not copy it.)
    let img2 = s.outer.path().join("img2");
    let o = Command::new("cp")
        .arg("-a")
        .arg(&s.img)
        .arg(&img2)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let img2 = fs::canonicalize(img2).unwrap();
    let outside_rel = s.outside.strip_prefix("/").unwrap();
    let dest = img2.join(outside_rel).join("x86_64-linux-gnu/liba.so.1.0");
    fs::write(&dest, b"another liba").unwrap();
    let before = snapshot(&img2);
    let before_img = snapshot(&s.img);
    let layer = s.outer.path().join("layer.tar");
    let emit = |emits: &[String]| scan_emitting(&s, emits);
    let r = emit(&[
        format!("copy={}", img2.display()),
        format!("tar={}", layer.display()),
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&dest.display().to_string()) && r.stderr.contains("already exists"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&img2), before);
    assert!(!layer.exists());
    // The tar file's directory is missing; then it is a directory.
    let r = emit(&[format!("tar={}/nodir/layer.tar", s.outer.path().display())]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("nodir"), "{}", r.stderr);
    fs::create_dir(&layer).unwrap();
    let r = emit(&[format!("tar={}", layer.display())]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(layer.is_dir() && fs::read_dir(&layer).unwrap().next().is_none());
    let leftovers: Vec<_> = fs::read_dir(s.outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(snapshot(&s.img), before_img);
    assert_eq!(snapshot(&img2), before);
}

/// A text emit (`json=`, `list=`, `dockerfile=`) is written whole or not
/// at all: it replaces an earlier file only once complete, and a write that
/// fails half-way (here the disk fills up: a one-page tmpfs) leaves the
/// earlier file as it was and no temporary file beside it.
#[test]
fn text_emits_are_written_whole_or_not_at_all() {
    let s = emit_setup();
    let emit = |what: &str, dest: &Path| scan_emitting(&s, &[format!("{what}={}", dest.display())]);
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    // Replacing earlier files, successfully.
    let out = s.outer.path().join("out");
    fs::create_dir(&out).unwrap();
    for (what, file) in [
        ("json", "plan.json"),
        ("list", "files.txt"),
        ("dockerfile", "Dockerfile"),
    ] {
        let dest = out.join(file);
        fs::write(&dest, b"the previous one\n").unwrap();
        let r = emit(what, &dest);
        assert_eq!(r.code, Some(0), "{what}: {}", r.stderr);
        let text = fs::read_to_string(&dest).unwrap();
        assert!(!text.contains("the previous one"), "{what}: {text}");
        match what {
            "json" => {
                let v: Value = serde_json::from_str(&text).unwrap();
                let items = v["plan"]["copy"]["items"].as_array();
                assert!(items.is_some_and(|i| !i.is_empty()), "{v:#}");
            }
            // This plan relocates every library, which a list cannot say:
            // the list holds only the scope's own files (the Python layer,
            // /usr/bin here), and the libraries are named on stderr.
            "list" => {
                assert!(
                    !text.is_empty() && text.lines().all(|l| l.starts_with("usr/bin/")),
                    "{text}"
                );
                assert!(r.stderr.contains("a list cannot say that"), "{}", r.stderr);
            }
            _ => assert!(text.contains("COPY --from=builder"), "{text}"),
        }
    }
    assert_eq!(names(&out), ["Dockerfile", "files.txt", "plan.json"]);

    if !is_root() {
        common::cannot_run("not root: cannot mount a small tmpfs for the full-disk case");
        return;
    }
    let small = s.outer.path().join("small");
    fs::create_dir(&small).unwrap();
    let c = CString::new(small.as_os_str().as_bytes()).unwrap();
    // SAFETY: plain system call with valid NUL-terminated strings.
    let rc = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            c.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NOEXEC,
            c"size=4k".as_ptr().cast(),
        )
    };
    assert_eq!(rc, 0, "mount: {}", std::io::Error::last_os_error());
    struct Unmount(CString);
    impl Drop for Unmount {
        fn drop(&mut self) {
            // SAFETY: a path we mounted.
            unsafe { libc::umount2(self.0.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let _unmount = Unmount(c);
    // The earlier file takes the one page: nothing more fits.
    let dest = small.join("plan.json");
    fs::write(&dest, b"the previous plan\n").unwrap();
    // (Not `list`: this plan's list is empty, which fits.)
    for what in ["json", "dockerfile"] {
        let r = emit(what, &dest);
        assert_eq!(r.code, Some(2), "{what}: {}", r.stderr);
        assert!(
            r.stderr.contains("No space left on device"),
            "{what}: {}",
            r.stderr
        );
        assert_eq!(fs::read(&dest).unwrap(), b"the previous plan\n", "{what}");
        assert_eq!(names(&small), ["plan.json"], "{what}");
    }
}

/// The builder changes between planning and emitting (a file grows,
/// shrinks, vanishes or becomes a link): the emitters fail naming it, no
/// tar file is left, and the copy leaves the directory as it was.
#[test]
fn a_builder_changing_under_the_plan_fails_cleanly() {
    use ldslim::graph::Session;
    use ldslim::ldso::Options;
    use ldslim::plan::{Fix, PlanInput};
    use ldslim::rootfs::Root;

    let s = emit_setup();
    let session = Session::new(Root::new(&s.builder.root).unwrap(), Options::default());
    let report = ldslim::scan::scan(
        &session,
        &["/usr/bin".into()],
        ldslim::scan::Scope::All,
        &ldslim::scan::Quiet,
    )
    .unwrap();
    let input = PlanInput {
        builder: &session,
        target: Arc::new(Root::new(&s.img).unwrap()),
        target_name: "img".into(),
        scope: vec![PathBuf::from("/usr/bin")],
        entries: report.entries.clone(),
        opts: Options::default(),
        fix: Fix::Relocate,
        runtime: report.runtime.loads.clone(),
        callers: report.runtime.callers.clone(),
        find_library: true,
        runtime_checked: true,
        allow: vec![],
        include: vec![],
        traces: vec![],
        package_data: true,
        layer: ldslim::plan::Layer::Libs,
        prune: vec![],
        installations: report.inventory(),
        listing: report.listing(),
        rewrite_shebangs: false,
    };
    let plan = ldslim::plan::plan(&input);
    assert!(plan.loads(), "{plan:?}");
    assert!(plan.copy.items.len() >= 3, "{:?}", plan.copy.items);
    let root = session.host_root().unwrap();
    let lib = s.builder.host("/lib/x86_64-linux-gnu/liba.so.1.0");
    let good = fs::read(&lib).unwrap();
    let before = snapshot(&s.img);
    let layer = s.outer.path().join("layer.tar");
    type Change<'a> = Box<dyn Fn() + 'a>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "grew",
            Box::new(|| {
                let mut b = good.clone();
                b.extend_from_slice(b"more");
                fs::write(&lib, b).unwrap();
            }),
        ),
        (
            "shrank",
            Box::new(|| fs::write(&lib, &good[..100]).unwrap()),
        ),
        ("vanished", Box::new(|| fs::remove_file(&lib).unwrap())),
        (
            "became a link",
            Box::new(|| {
                fs::remove_file(&lib).unwrap();
                symlink("libc.so.6", &lib).unwrap();
            }),
        ),
    ];
    for (what, change) in changes {
        let _ = fs::remove_file(&lib);
        fs::write(&lib, &good).unwrap();
        change();
        let e = ldslim::emit::tar(&layer, &plan.copy, root).unwrap_err();
        assert!(e.to_string().contains("liba.so.1.0"), "{what}: {e}");
        assert!(!layer.exists(), "{what}");
        let e = ldslim::emit::copy(&s.img, &plan.copy, root, false).unwrap_err();
        assert!(e.to_string().contains("liba.so.1.0"), "{what}: {e}");
        assert_eq!(snapshot(&s.img), before, "{what}");
        assert_eq!(fs::read_dir(s.outer.path()).unwrap().count(), 2, "{what}");
    }
    let _ = fs::remove_file(&lib);
    fs::write(&lib, &good).unwrap();
    ldslim::emit::tar(&layer, &plan.copy, root).unwrap();
    ldslim::emit::copy(&s.img, &plan.copy, root, false).unwrap();
}

/// Two items of a plan that land on the same file of the target through
/// one of its links (`lib -> usr/lib`) with different contents: refused
/// before anything is written, both named.
#[test]
fn copy_items_colliding_through_a_target_link_are_refused_first() {
    use ldslim::plan::{CopyItem, CopyKind, CopyPlan};
    use ldslim::rootfs::Root;

    let b = tempfile::tempdir().unwrap();
    put(&b.path().join("x/a.so"), b"aaaa");
    put(&b.path().join("x/b.so"), b"bbbb");
    put(&b.path().join("x/c.so"), b"aaaa");
    let builder = Root::new(b.path()).unwrap();
    let img = tempfile::tempdir().unwrap();
    fs::create_dir_all(img.path().join("usr/lib")).unwrap();
    symlink("usr/lib", img.path().join("lib")).unwrap();
    let item = |dest: &str, src: &str| CopyItem {
        dest: dest.into(),
        src: src.into(),
        kind: CopyKind::File {
            mode: 0o644,
            size: 4,
        },
        needed_as: "libq.so".into(),
        chain: vec![],
    };
    let plan = CopyPlan {
        target: "img".into(),
        items: vec![
            item("/lib/q/libq.so", "/x/a.so"),
            item("/usr/lib/q/libq.so", "/x/b.so"),
        ],
        env: vec![],
        trees: vec![],
    };
    let before = snapshot(img.path());
    let e = ldslim::emit::copy(img.path(), &plan, &builder, false).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("/lib/q/libq.so") && text.contains("/usr/lib/q/libq.so"),
        "{text}"
    );
    assert_eq!(
        snapshot(img.path()),
        before,
        "written before the error: {text}"
    );
    // One where the other needs a directory.
    let plan = CopyPlan {
        items: vec![
            item("/lib/q", "/x/a.so"),
            item("/usr/lib/q/libq.so", "/x/b.so"),
        ],
        ..plan
    };
    let e = ldslim::emit::copy(img.path(), &plan, &builder, false).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("/lib/q") && text.contains("needs as a directory"),
        "{text}"
    );
    assert_eq!(
        snapshot(img.path()),
        before,
        "written before the error: {text}"
    );
    // The same bytes at both: one file, the other counted unchanged.
    let plan = CopyPlan {
        items: vec![
            item("/lib/q/libq.so", "/x/a.so"),
            item("/usr/lib/q/libq.so", "/x/c.so"),
        ],
        ..plan
    };
    let s = ldslim::emit::copy(img.path(), &plan, &builder, false).unwrap();
    assert_eq!((s.files_added, s.unchanged), (1, 1), "{s:?}");
    assert_eq!(
        fs::read(img.path().join("usr/lib/q/libq.so")).unwrap(),
        b"aaaa"
    );
}

/// Names near NAME_MAX (255 bytes): the temporary files beside the
/// destination must not be longer than the name itself allows.
#[test]
fn names_near_name_max_are_emitted() {
    use ldslim::plan::{CopyItem, CopyKind, CopyPlan};
    use ldslim::rootfs::Root;

    let long = format!("lib{}.so", "n".repeat(246));
    assert_eq!(long.len(), 252);
    let b = tempfile::tempdir().unwrap();
    put(&b.path().join("x").join(&long), b"long");
    let builder = Root::new(b.path()).unwrap();
    let plan = CopyPlan {
        target: "img".into(),
        items: vec![CopyItem {
            dest: format!("/usr/lib/{long}"),
            src: format!("/x/{long}"),
            kind: CopyKind::File {
                mode: 0o644,
                size: 4,
            },
            needed_as: long.clone(),
            chain: vec![],
        }],
        env: vec![],
        trees: vec![],
    };
    let out = tempfile::tempdir().unwrap();
    let img = out.path().join("img");
    fs::create_dir(&img).unwrap();
    let s = ldslim::emit::copy(&img, &plan, &builder, false).unwrap();
    assert_eq!(s.files_added, 1);
    assert_eq!(fs::read(img.join("usr/lib").join(&long)).unwrap(), b"long");
    let layer = out.path().join(format!("{}.tar", &long[..248]));
    ldslim::emit::tar(&layer, &plan, &builder).unwrap();
    assert_eq!(tar_paths(&layer).len(), 3);
    assert_eq!(fs::read_dir(out.path()).unwrap().count(), 2);
}

/// A copy that fails half way (here: one destination directory is not
/// writable for the user running it) says so, and what it wrote.
#[test]
fn a_copy_failing_half_way_says_so() {
    let s = emit_setup();
    // libo goes to /data/app/lib (via /opt), written first; liba to
    // <outside>/x86_64-linux-gnu (via /lib), made unwritable.
    for p in [
        s.outer.path(),
        s.img.as_path(),
        s.builder.root.parent().unwrap(),
    ] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let a = s
        .img
        .join(s.outside.strip_prefix("/").unwrap())
        .join("x86_64-linux-gnu");
    fs::set_permissions(&a, fs::Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(s.img.join("data"), fs::Permissions::from_mode(0o777)).unwrap();
    let copy = format!("copy={}", s.img.display());
    let args = [
        os("scan"),
        s.builder.root.as_os_str(),
        os("/usr/bin"),
        os("--target"),
        s.img.as_os_str(),
        os("--emit"),
        os(&copy),
    ];
    let Some(cmd) = as_nobody(&args) else {
        return;
    };
    if !is_root() {
        common::cannot_run("not root: the unwritable directory is ours");
        return;
    }
    let r = run_with_timeout(cmd);
    sane(&r, "copy as nobody");
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("incomplete")
            && r.stderr.contains("/data/app/lib/libo.so.1")
            && r.stderr.contains("liba.so.1")
            && r.stderr.contains("Permission denied"),
        "{}",
        r.stderr
    );
    let written = s.img.join("data/app/lib/libo.so.1");
    assert_eq!(fs::metadata(&written).unwrap().uid(), 65534);
    assert!(!a.join("liba.so.1.0").exists());
    fs::set_permissions(&a, fs::Permissions::from_mode(0o755)).unwrap();
}

// ---------------------------------------------------------------------------
// Fuzzing corpora, replayed

/// The seed corpora and the minimized regression inputs of `fuzz/`
/// (docs/fuzzing.md), run through the same entry points as the fuzz
/// targets, so `cargo test` keeps them passing without cargo-fuzz.
#[test]
fn fuzz_inputs_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let inputs = |target: &str| -> Vec<(PathBuf, Vec<u8>)> {
        ["corpus", "regressions"]
            .iter()
            .flat_map(|kind| {
                fs::read_dir(dir.join(kind).join(target))
                    .into_iter()
                    .flatten()
            })
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                let b = fs::read(&p).unwrap();
                (p, b)
            })
            .collect()
    };
    let elf = inputs("elf_facts");
    let cache = inputs("ld_so_cache");
    let target = inputs("target_data");
    assert!(!elf.is_empty() && !cache.is_empty() && !target.is_empty());
    for (p, b) in &elf {
        if let Ok(f) = ldslim::elf::read_facts(&b[..]) {
            assert!(f.needed.len() * 8 <= b.len(), "{p:?}");
        }
    }
    for (p, b) in &cache {
        let Ok(c) = ldslim::ldso::cache::LdCache::parse(b) else {
            continue;
        };
        let _ = c.validate();
        let names: Vec<Vec<u8>> = c.entries().take(8).map(|e| e.name.to_vec()).collect();
        for n in &names {
            for id in [0x303, 3, 0x803, 0xa03] {
                let q = ldslim::ldso::cache::Query::new(id, &["x86-64-v3", "x86-64-v2"]);
                if let Some(path) = c.lookup_with(n, &q) {
                    assert!(c.entries().any(|e| e.path == path), "{p:?}");
                }
            }
        }
    }
    for (p, b) in &target {
        let Ok(text) = std::str::from_utf8(b) else {
            continue;
        };
        if let Ok(d) = ldslim::target::parse(text) {
            let again = ldslim::target::parse(&ldslim::target::render(&d));
            assert_eq!(again.ok().as_ref(), Some(&d), "{p:?}");
        }
    }
}
