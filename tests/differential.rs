//! Differential test: `ldslim ldd` against glibc's own dynamic loader, over
//! every ELF object of a real Debian 12 root filesystem.
//!
//! The root is built (and cached) by `scripts/make-root.sh`; `scripts/test.sh`
//! builds it and runs these tests with `LDSLIM_E2E_ROOT` pointing at it:
//!
//! ```text
//! scripts/test.sh                       # everything
//! LDSLIM_E2E_ROOT=$(scripts/make-root.sh) \
//!     cargo nextest run --run-ignored all --test differential
//! ```
//!
//! glibc's side is `ldd`'s own mechanism: inside `chroot ROOT`, with an empty
//! environment except `LD_TRACE_LOADED_OBJECTS=1`, run the loader `ldd` would
//! pick for the file (`/lib64/ld-linux-x86-64.so.2` for x86-64 objects,
//! `/lib/ld-linux.so.2` for i386 ones when the root has it) as
//! `LOADER FILE`. Trace mode rather than `ld.so --list`: `--list` treats a
//! missing library as fatal and exits 127, while trace mode prints
//! `NAME => not found` and goes on, exactly as `ldd` shows it. The chroot is
//! done in the child between fork and exec, so no binary but the root's own
//! loader takes part, and the root's `/etc/ld.so.cache` and default paths
//! apply.
//!
//! A file agrees when glibc exits 0 and its normalised lines equal ldslim's,
//! or when glibc refuses it (nonzero exit or a signal: ET_REL, a static
//! executable, the wrong class) and ldslim prints an `\terror:` line for it.
//!
//! Must run as root (chroot(2) needs CAP_SYS_CHROOT).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CString, OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test; `LDSLIM_BIN` overrides it (e.g. a release build).
fn ldslim_bin() -> OsString {
    std::env::var_os("LDSLIM_BIN")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_ldslim").into())
}
/// glibc's loaders, as paths inside the root (Debian's `ldd` RTLDLIST).
const LDSO_X86_64: &str = "/lib64/ld-linux-x86-64.so.2";
const LDSO_I386: &str = "/lib/ld-linux.so.2";
const LDSO_X32: &str = "/libx32/ld-linux-x32.so.2";
const LDSO_AARCH64: &str = "/lib/ld-linux-aarch64.so.1";
/// glibc's aarch64 loader runs under this emulator, which
/// scripts/make-arm64-root.sh copies into the arm64 roots (static: nothing
/// of the host's but it takes part).
const QEMU_AARCH64: &str = "/usr/bin/qemu-aarch64-static";
/// Files per `ldslim ldd` invocation.
const BATCH: usize = 200;
/// How many disagreements are printed in full on stderr.
const SHOW: usize = 20;
const GLIBC_TIMEOUT: Duration = Duration::from_secs(60);
const LDSLIM_TIMEOUT: Duration = Duration::from_secs(600);

// ------------------------------------------------------------------ helpers

fn e2e_root() -> PathBuf {
    let Some(root) = std::env::var_os("LDSLIM_E2E_ROOT").filter(|v| !v.is_empty()) else {
        panic!(
            "LDSLIM_E2E_ROOT is not set: this test needs a Debian root filesystem. \
             Run scripts/test.sh (it builds one with scripts/make-root.sh and sets the variable), \
             or: LDSLIM_E2E_ROOT=$(scripts/make-root.sh) cargo nextest run --run-ignored all --test differential"
        );
    };
    let root = PathBuf::from(root);
    assert!(
        root.join("lib64/ld-linux-x86-64.so.2").exists(),
        "LDSLIM_E2E_ROOT={} does not look like an x86-64 Debian root (no lib64/ld-linux-x86-64.so.2)",
        root.display()
    );
    root
}

/// Directory for the report: Cargo's target directory.
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// Every regular file under `root` (not following symlinks, skipping the
/// top-level proc, sys and dev) whose first 4 bytes are `\x7fELF`, as absolute
/// paths inside the root, sorted.
fn enumerate_elf(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut non_utf8 = 0usize;
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .same_file_system(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.depth() == 1
                && e.file_type().is_dir()
                && matches!(e.file_name().to_str(), Some("proc" | "sys" | "dev")))
        });
    for entry in walker {
        let entry = entry.unwrap_or_else(|e| panic!("walking {}: {e}", root.display()));
        if !entry.file_type().is_file() {
            continue;
        }
        let mut magic = [0u8; 4];
        let is_elf = fs::File::open(entry.path())
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && magic == *b"\x7fELF";
        if !is_elf {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir yields paths under the root");
        match rel.to_str() {
            Some(rel) => out.push(format!("/{rel}")),
            None => {
                non_utf8 += 1;
                eprintln!("skipping ELF file with a non-UTF-8 name: {}", rel.display());
            }
        }
    }
    if non_utf8 > 0 {
        eprintln!("skipped {non_utf8} ELF files with non-UTF-8 names");
    }
    out.sort();
    out
}

struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Runs `cmd` with piped stdout/stderr, killing it after `timeout`.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> io::Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let mut nap = Duration::from_micros(200);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait()?;
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    };
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    Ok(Output {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
    })
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => format!("{status}"),
    }
}

// ------------------------------------------------------------------ glibc side

#[derive(Debug)]
enum Glibc {
    /// Exit 0: the normalised lines.
    Listed(Vec<String>),
    /// glibc would not list it: status and the reason it gave.
    Refused { status: String, reason: String },
}

/// The loader `ldd` would pick for an object with this ELF header: Debian's
/// `ldd` tries each loader of its RTLDLIST (`/lib/ld-linux.so.2
/// /lib64/ld-linux-x86-64.so.2 /libx32/ld-linux-x32.so.2`) with `--verify` and
/// uses the first that accepts the file, i.e. the one of the file's class and
/// machine. Anything else gets the x86-64 loader, which then refuses it.
fn loader_for(header: &[u8]) -> &'static str {
    const EM_386: u16 = 3;
    const EM_X86_64: u16 = 62;
    let class = header.get(4).copied();
    let little = header.get(5) == Some(&1);
    let machine = header
        .get(18..20)
        .map(|b| {
            if little {
                u16::from_le_bytes([b[0], b[1]])
            } else {
                u16::from_be_bytes([b[0], b[1]])
            }
        })
        .unwrap_or(0);
    const EM_AARCH64: u16 = 183;
    match (class, machine) {
        (Some(1), EM_386) => LDSO_I386,
        (Some(1), EM_X86_64) => LDSO_X32,
        (Some(2), EM_AARCH64) => LDSO_AARCH64,
        _ => LDSO_X86_64,
    }
}

/// Runs `loader` in trace mode on `file` (paths inside `root`), chrooted.
/// `None` when the loader does not exist in the root.
fn run_loader(root: &Path, loader: &str, file: &str) -> Option<Glibc> {
    let root_c = CString::new(root.as_os_str().as_bytes()).expect("root path has no NUL");
    // The aarch64 loader runs under qemu-user: the emulator passes its
    // environment, LD_TRACE_LOADED_OBJECTS with it, to the loader.
    let mut cmd = if loader == LDSO_AARCH64 {
        if !root.join(QEMU_AARCH64.trim_start_matches('/')).exists() {
            return None;
        }
        let mut c = Command::new(QEMU_AARCH64);
        c.arg(loader);
        c
    } else {
        Command::new(loader)
    };
    cmd.arg(file)
        .env_clear()
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .current_dir("/");
    // SAFETY: chroot(2) and chdir(2) are async-signal-safe system calls; the
    // closure allocates nothing (the CString was built before fork).
    unsafe {
        cmd.pre_exec(move || {
            if libc::chroot(root_c.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::chdir(c"/".as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = match run_with_timeout(cmd, GLIBC_TIMEOUT) {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => panic!(
            "running {loader} {file} chrooted in {}: {e}",
            root.display()
        ),
    };
    if out.timed_out {
        return Some(Glibc::Refused {
            status: "timeout".into(),
            reason: format!("still running after {GLIBC_TIMEOUT:?}"),
        });
    }
    if out.status.success() {
        return Some(Glibc::Listed(normalise_glibc(&out.stdout)));
    }
    Some(Glibc::Refused {
        status: describe_status(out.status),
        reason: glibc_reason(file, &out.stderr),
    })
}

/// glibc's verdict on `file` (a path inside `root`) and the loader that gave it.
fn glibc_trace(root: &Path, file: &str) -> (Glibc, &'static str) {
    let mut header = [0u8; 20];
    let host_path = root.join(file.trim_start_matches('/'));
    let n = fs::File::open(&host_path)
        .and_then(|mut f| f.read(&mut header))
        .unwrap_or_else(|e| panic!("reading {}: {e}", host_path.display()));
    let loader = loader_for(&header[..n]);
    if let Some(g) = run_loader(root, loader, file) {
        return (g, loader);
    }
    // What no loader of its kind is there for goes to the root's own.
    let own = if root.join(LDSO_X86_64.trim_start_matches('/')).exists() {
        LDSO_X86_64
    } else {
        LDSO_AARCH64
    };
    match run_loader(root, own, file) {
        Some(g) => (g, own),
        None => panic!("{} has no {own}", root.display()),
    }
}

/// glibc's stdout, made comparable with `ldslim ldd`'s:
/// the vDSO line goes, ` (0x...)` address suffixes go, and a lone
/// `\tstatically linked` (an object without DT_NEEDED) becomes no lines.
fn normalise_glibc(stdout: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in stdout.lines() {
        let Some(body) = line.strip_prefix('\t') else {
            lines.push(line.to_string());
            continue;
        };
        let body = strip_address(body);
        // The vDSO: linux-vdso.so.1 for x86-64 and x32, linux-gate.so.1 for i386.
        if ["linux-vdso.so.1", "linux-gate.so.1"]
            .iter()
            .any(|v| body == *v || body.starts_with(&format!("{v} =>")))
        {
            continue;
        }
        lines.push(format!("\t{body}"));
    }
    if lines.len() == 1 && lines[0] == "\tstatically linked" {
        lines.clear();
    }
    lines
}

/// Removes a trailing ` (0x<hex>)`.
fn strip_address(s: &str) -> &str {
    if let Some(open) = s.rfind(" (0x")
        && s.ends_with(')')
        && s[open + 4..s.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    {
        return &s[..open];
    }
    s
}

/// The interesting part of ld.so's complaint, without the file name:
/// `FILE: error while loading shared libraries: X: REASON` → `REASON`.
fn glibc_reason(file: &str, stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.is_empty() {
        return "(no message)".into();
    }
    let line = line
        .strip_prefix(file)
        .map(|r| r.trim_start_matches(": "))
        .unwrap_or(line);
    let line = line
        .strip_prefix("error while loading shared libraries: ")
        .unwrap_or(line);
    let line = line
        .strip_prefix(file)
        .map(|r| r.trim_start_matches(": "))
        .unwrap_or(line);
    line.to_string()
}

/// glibc's verdict on every file, computed with a few worker threads.
fn glibc_all(root: &Path, files: &[String]) -> Vec<(Glibc, &'static str)> {
    let workers = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4);
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<(Glibc, &'static str)>> = (0..files.len()).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, (Glibc, &'static str))>> = thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= files.len() {
                            break mine;
                        }
                        mine.push((i, glibc_trace(root, &files[i])));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("glibc worker panicked"))
            .collect()
    });
    for (i, g) in chunks.into_iter().flatten() {
        results[i] = Some(g);
    }
    results
        .into_iter()
        .map(|g| g.expect("every file was run"))
        .collect()
}

// ------------------------------------------------------------------ ldslim side

/// `ldslim ldd ROOT FILE...` over all files, in batches: file → its lines.
fn ldslim_all(root: &Path, files: &[String]) -> HashMap<String, Vec<String>> {
    let mut map = HashMap::new();
    for batch in files.chunks(BATCH) {
        let mut cmd = Command::new(ldslim_bin());
        cmd.arg("ldd").arg(root).args(batch);
        let out = run_with_timeout(cmd, LDSLIM_TIMEOUT)
            .unwrap_or_else(|e| panic!("running {:?}: {e}", ldslim_bin()));
        let code = out.status.code();
        assert!(
            !out.timed_out && matches!(code, Some(0 | 1)),
            "`ldslim ldd {} <{} files starting with {}>` ended with {}{} (expected exit 0 or 1)\nstderr:\n{}",
            root.display(),
            batch.len(),
            batch[0],
            describe_status(out.status),
            if out.timed_out {
                " after a timeout"
            } else {
                ""
            },
            tail(&out.stderr, 40),
        );
        let mut current: Option<String> = None;
        for line in out.stdout.lines() {
            if line.starts_with('\t') {
                let file = current
                    .as_ref()
                    .unwrap_or_else(|| panic!("ldslim printed {line:?} before any FILE: header"));
                map.get_mut(file)
                    .map(|v: &mut Vec<String>| v.push(line.to_string()))
                    .expect("current file is in the map");
            } else if let Some(file) = line.strip_suffix(':') {
                current = Some(file.to_string());
                map.insert(file.to_string(), Vec::new());
            } else if !line.is_empty() {
                panic!("unexpected line in ldslim's output: {line:?}");
            }
        }
    }
    map
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// ldslim's lines, made comparable: a lone `\tstatically linked` is no lines.
fn normalise_ldslim(lines: &[String]) -> Vec<String> {
    if lines.len() == 1 && lines[0] == "\tstatically linked" {
        return Vec::new();
    }
    lines.to_vec()
}

fn is_error(lines: &[String]) -> bool {
    lines.iter().any(|l| l.starts_with("\terror:"))
}

// ------------------------------------------------------------------ comparison

struct Disagreement {
    file: String,
    glibc_status: String,
    glibc: Vec<String>,
    ldslim: Vec<String>,
}

impl Disagreement {
    fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "=== {}", self.file);
        let _ = writeln!(s, "--- glibc ({})", self.glibc_status);
        let _ = writeln!(s, "+++ ldslim");
        for line in diff_lines(&self.glibc, &self.ldslim) {
            let _ = writeln!(s, "{line}");
        }
        s
    }
}

/// A small LCS line diff: ` x` common, `-x` only glibc, `+x` only ldslim.
fn diff_lines(a: &[String], b: &[String]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!(" {}", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("-{}", a[i]));
            i += 1;
        } else {
            out.push(format!("+{}", b[j]));
            j += 1;
        }
    }
    if out.is_empty() {
        out.push(" (no lines on either side)".into());
    }
    out
}

#[test]
#[ignore = "needs a Debian root; run scripts/test.sh"]
fn differential_ldd_matches_glibc() {
    differential(&e2e_root(), "differential-report.txt", &[]);
}

/// An arm64 Debian 12 root (scripts/make-arm64-root.sh), `args` its
/// layout.
fn arm64_root(args: &[&str]) -> PathBuf {
    common::script_root("make-arm64-root.sh", args)
}

#[test]
#[ignore = "needs root, the network (debootstrap --foreign, PyPI) and qemu-user-static; run scripts/test.sh"]
fn differential_ldd_matches_glibc_on_arm64_merged_usr() {
    let root = arm64_root(&[]);
    differential(
        &root,
        "differential-arm64-merged-report.txt",
        &[QEMU_AARCH64],
    );
}

#[test]
#[ignore = "needs root, the network (debootstrap --foreign, PyPI) and qemu-user-static; run scripts/test.sh"]
fn differential_ldd_matches_glibc_on_arm64_split_usr() {
    let root = arm64_root(&["--split-usr"]);
    assert!(
        fs::symlink_metadata(root.join("lib")).is_ok_and(|m| m.is_dir()),
        "a split-/usr root has a real /lib"
    );
    differential(
        &root,
        "differential-arm64-split-report.txt",
        &[QEMU_AARCH64],
    );
}

/// Every ELF object of `root` (but `skip`: the test's own emulator) through
/// `ldslim ldd` and glibc's loader; any disagreement fails, all of them
/// written to `report_name` in the target directory.
fn differential(root: &Path, report_name: &str, skip: &[&str]) {
    let root = root.to_path_buf();
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the differential test chroots into {} to run glibc's loader, which needs root",
        root.display()
    );

    let t0 = Instant::now();
    let mut files = enumerate_elf(&root);
    files.retain(|f| !skip.contains(&f.as_str()));
    assert!(
        !files.is_empty(),
        "no ELF files found under {}",
        root.display()
    );
    eprintln!(
        "{} ELF objects under {} ({:.1?})",
        files.len(),
        root.display(),
        t0.elapsed()
    );

    let t1 = Instant::now();
    let ldslim = ldslim_all(&root, &files);
    eprintln!("ldslim ldd: {:.1?}", t1.elapsed());

    let t2 = Instant::now();
    let glibc = glibc_all(&root, &files);
    eprintln!(
        "glibc ld.so trace, {} runs: {:.1?}",
        files.len(),
        t2.elapsed()
    );

    let mut agree_listed = 0usize;
    let mut agree_no_needed = 0usize;
    let mut agree_refused = 0usize;
    let mut with_not_found = 0usize;
    let mut refusals: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
    let mut disagreements = Vec::new();

    let mut loaders: BTreeMap<&str, usize> = BTreeMap::new();
    for (file, (g, loader)) in files.iter().zip(&glibc) {
        *loaders.entry(loader).or_default() += 1;
        let ours = ldslim.get(file);
        let (glibc_status, glibc_lines, agrees) = match g {
            Glibc::Listed(lines) => {
                let ok = ours.is_some_and(|o| normalise_ldslim(o) == *lines);
                if ok {
                    agree_listed += 1;
                    if lines.is_empty() {
                        agree_no_needed += 1;
                    }
                }
                if lines.iter().any(|l| l.ends_with(" => not found")) {
                    with_not_found += 1;
                }
                let status = if lines.is_empty() {
                    "exit 0, no DT_NEEDED: prints \"statically linked\"".to_string()
                } else {
                    "exit 0".to_string()
                };
                (status, lines.clone(), ok)
            }
            Glibc::Refused { status, reason } => {
                let entry = refusals
                    .entry((status.clone(), reason.clone()))
                    .or_insert_with(|| (0, file.clone()));
                entry.0 += 1;
                let ok = ours.is_some_and(|o| is_error(o));
                if ok {
                    agree_refused += 1;
                }
                (
                    format!("{status}, refused"),
                    vec![format!("\t(glibc refuses: {reason})")],
                    ok,
                )
            }
        };
        if !agrees {
            disagreements.push(Disagreement {
                file: file.clone(),
                glibc_status,
                glibc: glibc_lines,
                ldslim: match ours {
                    Some(lines) => lines.clone(),
                    None => vec!["\t(ldslim printed nothing for this file)".into()],
                },
            });
        }
    }

    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "ldslim ldd vs glibc ld.so (LD_TRACE_LOADED_OBJECTS=1, chroot)"
    );
    let _ = writeln!(
        summary,
        "root:                                 {}",
        root.display()
    );
    let _ = writeln!(
        summary,
        "ELF objects:                          {}",
        files.len()
    );
    for (loader, count) in &loaders {
        let _ = writeln!(summary, "  glibc loader {loader:<28}  {count}");
    }
    let _ = writeln!(
        summary,
        "agree:                                {}",
        agree_listed + agree_refused
    );
    let _ = writeln!(
        summary,
        "  listed identically:                 {agree_listed}"
    );
    let _ = writeln!(
        summary,
        "    of which no DT_NEEDED:            {agree_no_needed}"
    );
    let _ = writeln!(
        summary,
        "  glibc refused, ldslim errored:      {agree_refused}"
    );
    let _ = writeln!(
        summary,
        "disagree:                             {}",
        disagreements.len()
    );
    let _ = writeln!(
        summary,
        "glibc listings with 'not found':      {with_not_found}"
    );
    if !refusals.is_empty() {
        let _ = writeln!(summary, "glibc refusals (status, reason: count, e.g.):");
        for ((status, reason), (count, example)) in &refusals {
            let _ = writeln!(summary, "  {status}, {reason}: {count}, e.g. {example}");
        }
    }
    eprint!("\n{summary}");
    for d in disagreements.iter().take(SHOW) {
        eprint!("\n{}", d.render());
    }
    if disagreements.len() > SHOW {
        eprintln!(
            "\n... and {} more disagreements (all in the report)",
            disagreements.len() - SHOW
        );
    }

    let report_path = target_dir().join(report_name);
    let mut report = summary.clone();
    if !disagreements.is_empty() {
        let _ = writeln!(report, "\nall {} disagreements:", disagreements.len());
        for d in &disagreements {
            let _ = write!(report, "\n{}", d.render());
        }
    }
    match fs::create_dir_all(target_dir()).and_then(|()| fs::write(&report_path, &report)) {
        Ok(()) => eprintln!("\nreport written to {}", report_path.display()),
        Err(e) => eprintln!("\ncould not write {}: {e}", report_path.display()),
    }

    assert!(
        disagreements.is_empty(),
        "{} of {} ELF objects disagree with glibc (see above and {})",
        disagreements.len(),
        files.len(),
        report_path.display()
    );
}

// ------------------------------------------------------------------ scan

/// The object count in `ldslim scan --format json` output: `objects` as a
/// number (or, tolerated, an array of objects), at the top level or one level
/// down (e.g. under `summary`).
fn json_object_count(v: &serde_json::Value) -> Option<usize> {
    fn count(v: &serde_json::Value) -> Option<usize> {
        match v {
            serde_json::Value::Number(n) => n.as_u64().map(|n| n as usize),
            serde_json::Value::Array(a) => Some(a.len()),
            _ => None,
        }
    }
    let obj = v.as_object()?;
    if let Some(n) = obj.get("objects").and_then(count) {
        return Some(n);
    }
    obj.values()
        .filter_map(|inner| inner.as_object())
        .find_map(|inner| inner.get("objects").and_then(count))
}

#[test]
#[ignore = "needs a Debian root; run scripts/test.sh"]
fn scan_json_counts_every_elf_object() {
    let root = e2e_root();
    let files = enumerate_elf(&root);
    let mut cmd = Command::new(ldslim_bin());
    cmd.args([
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--scope"),
        OsStr::new("all"),
        OsStr::new("--format"),
        OsStr::new("json"),
    ]);
    let args: Vec<OsString> = cmd.get_args().map(OsStr::to_os_string).collect();
    let out = run_with_timeout(cmd, LDSLIM_TIMEOUT).expect("running ldslim scan");
    let code = out.status.code();
    assert!(
        !out.timed_out && matches!(code, Some(0 | 1)),
        "`ldslim {args:?}` ended with {}{} (expected exit 0 or 1)\nstderr:\n{}",
        describe_status(out.status),
        if out.timed_out {
            " after a timeout"
        } else {
            ""
        },
        tail(&out.stderr, 40)
    );
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`ldslim {args:?}` did not print valid JSON ({e}); first 2000 bytes:\n{}",
            out.stdout.chars().take(2000).collect::<String>()
        )
    });
    let objects = json_object_count(&json).unwrap_or_else(|| {
        panic!(
            "no numeric `objects` field in ldslim scan's JSON; top-level keys: {:?}",
            json.as_object().map(|o| o.keys().collect::<Vec<_>>())
        )
    });
    eprintln!(
        "ldslim scan: exit {}, objects = {objects}; ELF files enumerated by the test: {}",
        code.unwrap_or(-1),
        files.len()
    );
    assert_eq!(
        objects,
        files.len(),
        "ldslim scan counted {objects} objects, the test found {} ELF files under {}",
        files.len(),
        root.display()
    );
}

// ------------------------------------------------------------------ unit checks of the harness

#[test]
fn normalises_glibc_output() {
    let out = "\tlinux-vdso.so.1 (0x00007ffd1c5f1000)\n\
               \tlibquadmath-96973f99.so.0.0.0 => not found\n\
               \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f35aa067000)\n\
               \t/lib64/ld-linux-x86-64.so.2 (0x00007f35aa266000)\n";
    assert_eq!(
        normalise_glibc(out),
        vec![
            "\tlibquadmath-96973f99.so.0.0.0 => not found",
            "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6",
            "\t/lib64/ld-linux-x86-64.so.2",
        ]
    );
    assert!(normalise_glibc("\tstatically linked\n").is_empty());
    assert_eq!(strip_address("a (0xzz)"), "a (0xzz)");
    assert_eq!(
        glibc_reason(
            "/x.o",
            "/x.o: error while loading shared libraries: /x.o: only ET_DYN and ET_EXEC can be loaded\n"
        ),
        "only ET_DYN and ET_EXEC can be loaded"
    );
    let d = diff_lines(
        &["a".into(), "b".into(), "c".into()],
        &["a".into(), "c".into(), "d".into()],
    );
    assert_eq!(d, vec![" a", "-b", " c", "+d"]);
}

/// The subdirectories each of the root's own loaders (x86-64 and i386)
/// tries in a search directory, in order, are what ldslim models for this
/// machine's CPU: glibc's LD_DEBUG=libs shows them for an LD_LIBRARY_PATH
/// directory (the i386 loader uses `sse2` and `i686`, not the x86-64 names).
#[test]
#[ignore = "needs a Debian root; run scripts/test.sh"]
fn subdirectories_of_each_loader_are_glibcs() {
    use ldslim::ldso::abi::ABIS;
    use ldslim::ldso::cpu::{Cpu, subdirs};
    let root = e2e_root();
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "chroot needs root");
    for (abi, ldso, object) in [
        (
            "x86_64",
            LDSO_X86_64,
            "/usr/lib/x86_64-linux-gnu/libresolv.so.2",
        ),
        ("i386", LDSO_I386, "/usr/lib32/libresolv.so.2"),
    ] {
        assert!(
            root.join(&object[1..]).exists(),
            "{object} in {}",
            root.display()
        );
        let o = common::chrooted(&root, ldso)
            .arg(object)
            .env_clear()
            .env("LD_LIBRARY_PATH", "/nowhere")
            .env("LD_DEBUG", "libs")
            .env("LD_TRACE_LOADED_OBJECTS", "1")
            .output()
            .unwrap();
        let debug = String::from_utf8_lossy(&o.stderr);
        let glibc: Vec<String> = debug
            .lines()
            .find_map(|l| l.split_once("search path=/nowhere").map(|x| x.1))
            .and_then(|rest| rest.split('\t').next())
            .unwrap_or_else(|| panic!("no LD_LIBRARY_PATH search by {ldso}: {debug}"))
            .split(":/nowhere")
            .map(|s| s.trim_start_matches('/').to_string())
            .collect();
        let abi = ABIS.iter().find(|a| a.name == abi).unwrap();
        let ours: Vec<String> = subdirs(&Cpu::host().for_abi(abi), Some(36))
            .iter()
            .map(|s| s.trim_end_matches('/').to_string())
            .collect();
        assert_eq!(ours, glibc, "{ldso}");
    }
}
