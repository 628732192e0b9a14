//! A builder of tiny root filesystems for loader-rule tests, and the two
//! ways to ask what loads: ldslim, and glibc's own loader under chroot.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const INTERP: &str = "/lib64/ld-linux-x86-64.so.2";
pub const MULTIARCH: &str = "/lib/x86_64-linux-gnu";

/// A root under construction, plus a scratch directory for sources.
pub struct World {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    stubs: std::cell::Cell<u32>,
}

/// Marks a `needs` entry as a host path of a stub, not a path in the root.
const STUB_MARK: &str = "stub:";

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rules")
        .join(name)
}

/// `ldslim ARGS` with an empty environment (no colour, no pager, no
/// variable of the machine's), as a user's script would run it.
pub fn ldslim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldslim"))
        .args(args)
        .env_clear()
        .output()
        .expect("ldslim runs")
}

/// A part of a test that cannot run on this machine (no root, a tool
/// missing): a note on a developer's machine; a failure under
/// scripts/test.sh, which sets LDSLIM_TEST_STRICT because CI installs
/// everything the tests use and runs them as root, so nothing is skipped
/// there without anyone seeing it.
pub fn cannot_run(why: &str) {
    assert!(
        std::env::var_os("LDSLIM_TEST_STRICT").is_none(),
        "{why} (LDSLIM_TEST_STRICT is set: every part of every test must run)"
    );
    eprintln!("note: {why}: this part is skipped");
}

/// Whether glibc's loader can be asked (chroot needs root).
pub fn can_chroot() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl World {
    /// A Debian-like root: /lib64/ld-linux-x86-64.so.2 and
    /// /lib/x86_64-linux-gnu/libc.so.6 copied from the host.
    pub fn new() -> World {
        Self::build(false)
    }

    /// A usr-merged root: /lib -> usr/lib, /lib64 -> usr/lib64.
    pub fn usr_merged() -> World {
        Self::build(true)
    }

    fn build(merged: bool) -> World {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        fs::create_dir_all(&root).unwrap();
        let w = World {
            _tmp: tmp,
            root,
            stubs: std::cell::Cell::new(0),
        };
        if merged {
            fs::create_dir_all(w.host("/usr/lib/x86_64-linux-gnu")).unwrap();
            fs::create_dir_all(w.host("/usr/lib64")).unwrap();
            symlink("usr/lib", w.host("/lib")).unwrap();
            symlink("usr/lib64", w.host("/lib64")).unwrap();
        }
        w.copy_host("/lib64/ld-linux-x86-64.so.2", INTERP);
        w.copy_host(
            "/lib/x86_64-linux-gnu/libc.so.6",
            &format!("{MULTIARCH}/libc.so.6"),
        );
        fs::create_dir_all(w.host("/usr/lib/x86_64-linux-gnu")).unwrap();
        fs::create_dir_all(w.host("/etc")).unwrap();
        w
    }

    /// Host path of a path inside the root.
    pub fn host(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    fn copy_host(&self, host_src: &str, dest: &str) {
        let real = fs::canonicalize(host_src).expect("host file");
        let d = self.host(dest);
        fs::create_dir_all(d.parent().unwrap()).unwrap();
        fs::copy(real, d).unwrap();
    }

    pub fn mkdir(&self, inside: &str) {
        fs::create_dir_all(self.host(inside)).unwrap();
    }

    pub fn symlink(&self, target: &str, link: &str) {
        let l = self.host(link);
        fs::create_dir_all(l.parent().unwrap()).unwrap();
        symlink(target, l).unwrap();
    }

    pub fn write(&self, inside: &str, bytes: &[u8]) {
        let p = self.host(inside);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    fn cc(&self, src: &str, out: &str, args: &[String]) {
        let out_host = self.host(out);
        fs::create_dir_all(out_host.parent().unwrap()).unwrap();
        let mut cmd = Command::new("cc");
        cmd.arg("-o").arg(&out_host).arg(testdata(src));
        cmd.arg("-Wl,--no-as-needed");
        cmd.args(args);
        let o = cmd.output().expect("cc runs");
        assert!(
            o.status.success(),
            "cc failed for {out}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Link flags that make DT_NEEDED entries for objects already in the
    /// root (the linker records each one's DT_SONAME, or its path as given
    /// when it has none).
    fn needs(&self, needs: &[&str]) -> Vec<String> {
        needs
            .iter()
            .map(|n| match n.strip_prefix(STUB_MARK) {
                Some(host) => host.to_string(),
                None => self.host(n).display().to_string(),
            })
            .collect()
    }

    /// Compile a shared object at `inside` with `soname`, needing the
    /// objects at `needs` (paths inside the root), plus extra flags.
    pub fn lib(&self, inside: &str, soname: &str, needs: &[&str], flags: &[&str]) {
        let mut args = vec![
            "-shared".to_string(),
            "-fPIC".into(),
            format!("-Wl,-soname,{soname}"),
        ];
        args.extend(flags.iter().map(|s| s.to_string()));
        args.extend(self.needs(needs));
        self.cc("lib.c", inside, &args);
    }

    /// A stub to link against, outside the root, so that the object
    /// linked gets a DT_NEEDED of exactly `soname` (which may contain a
    /// slash) without the root containing anything by that name.
    /// Returns a path usable in `needs`.
    pub fn stub(&self, soname: &str) -> String {
        let n = self.stubs.get() + 1;
        self.stubs.set(n);
        let path = self._tmp.path().join(format!("stubs/{n}/lib.so"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let o = Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&path)
            .arg(testdata("lib.c"))
            .arg(format!("-Wl,-soname,{soname}"))
            .output()
            .expect("cc runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        format!("{STUB_MARK}{}", path.display())
    }

    /// A real 32-bit shared object (no libc: `-m32 -nostdlib`, which links
    /// without the 32-bit C library installed).
    pub fn lib32(&self, inside: &str, soname: &str) {
        let args = vec![
            "-m32".to_string(),
            "-nostdlib".into(),
            "-shared".into(),
            "-fPIC".into(),
            format!("-Wl,-soname,{soname}"),
        ];
        self.cc("lib.c", inside, &args);
    }

    /// A stub library outside the root with `soname`, built from `src`
    /// with a version script (so objects linked against it record version
    /// needs).
    pub fn stub_versioned(&self, soname: &str, src: &str, map: &str) -> String {
        let n = self.stubs.get() + 1;
        self.stubs.set(n);
        let path = self._tmp.path().join(format!("stubs/{n}/lib.so"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let o = Command::new("cc")
            .args(["-shared", "-fPIC", "-nostdlib", "-o"])
            .arg(&path)
            .arg(testdata(src))
            .arg(format!("-Wl,-soname,{soname}"))
            .arg(format!("-Wl,--version-script={}", testdata(map).display()))
            .output()
            .expect("cc runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        format!("{STUB_MARK}{}", path.display())
    }

    /// Compile an executable at `inside` from `src` in testdata/rules.
    pub fn exe_from(&self, src: &str, inside: &str, needs: &[&str], flags: &[&str]) {
        let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        args.extend(self.needs(needs));
        self.cc(src, inside, &args);
    }

    /// Compile an executable at `inside`.
    pub fn exe(&self, inside: &str, needs: &[&str], flags: &[&str]) {
        let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        args.extend(self.needs(needs));
        self.cc("main.c", inside, &args);
    }

    /// Overwrite bytes of a file in the root (to make other-machine or
    /// other-class candidates from a compiled object).
    pub fn patch(&self, inside: &str, offset: usize, bytes: &[u8]) {
        let p = self.host(inside);
        let mut data = fs::read(&p).unwrap();
        data[offset..offset + bytes.len()].copy_from_slice(bytes);
        fs::write(p, data).unwrap();
    }

    /// Build the root's /etc/ld.so.cache from /etc/ld.so.conf with the
    /// host's ldconfig, in `format` (old, compat or new).
    pub fn ldconfig(&self, conf_dirs: &[&str], format: &str) {
        self.write("/etc/ld.so.conf", (conf_dirs.join("\n") + "\n").as_bytes());
        let o = Command::new("/sbin/ldconfig")
            .arg("-r")
            .arg(&self.root)
            .args([
                "-X",
                "-c",
                format,
                "-C",
                "/etc/ld.so.cache",
                "-f",
                "/etc/ld.so.conf",
            ])
            .output()
            .expect("ldconfig runs");
        assert!(
            o.status.success(),
            "ldconfig: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Run the ldslim binary with `args` after the root.
    pub fn ldslim(&self, sub: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ldslim"))
            .arg(sub)
            .arg(&self.root)
            .args(args)
            .env_clear()
            .output()
            .expect("ldslim runs")
    }

    /// `ldslim ldd ROOT FILE` lines after the `FILE:` header.
    pub fn ldd(&self, file: &str, extra: &[&str]) -> Vec<String> {
        let mut args = vec![file];
        args.extend_from_slice(extra);
        let o = self.ldslim("ldd", &args);
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(
            o.status.code() != Some(2),
            "ldslim ldd failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(format!("{file}:").as_str()), "{text}");
        lines.map(|l| l.to_string()).collect()
    }

    /// glibc's answer, normalised to ldslim's format; `None` when chroot
    /// is not possible here. Trace mode (`LD_TRACE_LOADED_OBJECTS=1`, what
    /// `ldd` sets) rather than `--list`: glibc 2.36's `--list` aborts at
    /// the first missing library instead of reporting "not found".
    pub fn glibc(&self, file: &str, library_path: Option<&str>) -> Option<Vec<String>> {
        if !can_chroot() {
            cannot_run("not root: no comparison with glibc (chroot)");
            return None;
        }
        let mut cmd = chrooted(&self.root, INTERP);
        cmd.arg(file)
            .env_clear()
            .env("LD_TRACE_LOADED_OBJECTS", "1");
        if let Some(p) = library_path {
            cmd.env("LD_LIBRARY_PATH", p);
        }
        let o = cmd.output().expect("chroot runs");
        if !o.status.success() {
            return Some(vec![format!(
                "\terror: glibc exit {:?}: {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stderr).trim()
            )]);
        }
        Some(normalise(&String::from_utf8_lossy(&o.stdout)))
    }

    /// Assert ldslim prints `expected` for `file`, and that glibc agrees.
    pub fn expect(&self, file: &str, library_path: Option<&str>, expected: &[&str]) {
        let mut extra = vec![];
        let arg;
        if let Some(p) = library_path {
            arg = format!("--library-path={p}");
            extra.push(arg.as_str());
        }
        let got = self.ldd(file, &extra);
        let want: Vec<String> = expected.iter().map(|s| format!("\t{s}")).collect();
        assert_eq!(got, want, "ldslim ldd {file}");
        if let Some(g) = self.glibc(file, library_path) {
            assert_eq!(
                got, g,
                "ldslim disagrees with glibc's ld.so --list for {file}"
            );
        }
    }
}

/// glibc's `--list` output in ldslim's form: no vDSO, no addresses.
pub fn normalise(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("linux-vdso.so"))
        .map(|l| match l.rfind(" (0x") {
            Some(i) => l[..i].to_string(),
            None => l.to_string(),
        })
        .collect()
}

/// A command run inside `root` (chroot + chdir in the child, just before
/// exec), so that its environment reaches only the program inside the root
/// and not a host `chroot` binary, which would itself obey
/// LD_TRACE_LOADED_OBJECTS.
pub fn chrooted(root: &Path, program: &str) -> Command {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let dir = std::ffi::CString::new(root.as_os_str().as_bytes()).expect("root path without NUL");
    let mut cmd = Command::new(program);
    // SAFETY: only async-signal-safe calls (chroot, chdir) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::chroot(dir.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// The user-mode emulator that runs x86-64 programs on another CPU model:
/// glibc's loader asked about CPUs this machine is not.
pub const QEMU: &str = "/usr/bin/qemu-x86_64-static";

/// A CPU qemu-user emulates (`-cpu MODEL`), with the flags that describe
/// the same CPU to ldslim and the name ldslim gives it.
#[derive(Clone, Copy, Debug)]
pub struct Emulated {
    pub model: &'static str,
    pub hwcaps: &'static str,
    pub platform: &'static str,
    pub name: &'static str,
}

/// The kinds of CPU qemu 7.2's TCG can present to glibc 2.36: Intel's
/// Haswell (glibc renames the platform), an AMD model and Intel's Nehalem
/// (it does not), and qemu's baseline. AVX-512 (Intel's avx512_1 and
/// Xeon Phi) is beyond TCG.
pub const EMULATED: &[Emulated] = &[
    Emulated {
        model: "qemu64",
        hwcaps: "baseline",
        platform: "x86_64",
        name: "x86_64/baseline",
    },
    Emulated {
        model: "Nehalem",
        hwcaps: "x86-64-v2",
        platform: "x86_64",
        name: "x86_64/x86-64-v2",
    },
    Emulated {
        model: "EPYC-Rome",
        hwcaps: "x86-64-v3",
        platform: "x86_64",
        name: "x86_64/x86-64-v3",
    },
    Emulated {
        model: "Haswell",
        hwcaps: "x86-64-v3",
        platform: "haswell",
        name: "haswell/x86-64-v3",
    },
];

/// Fails the test, with what to install, when the emulator is missing.
pub fn need_qemu() {
    assert!(
        Path::new(QEMU).exists(),
        "needs {QEMU} (apt-get install qemu-user-static; .ci/run installs it)"
    );
}

/// qemu's warnings about CPU features its TCG leaves out.
fn without_qemu_warnings(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.contains("TCG doesn't support requested feature"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl World {
    /// Run `program` (inside the root) with `args` under qemu emulating
    /// `cpu`, chrooted into the root, with `env` reaching only the
    /// emulated program. The emulator is linked into the root for the run
    /// and removed after it, so the root is left as it was.
    pub fn run_on(&self, cpu: &Emulated, env: &[(&str, &str)], args: &[&str]) -> Output {
        assert!(can_chroot(), "needs root (chroot)");
        need_qemu();
        const INSIDE: &str = "/.ldslim-test-qemu";
        let host = self.host(INSIDE);
        if fs::hard_link(QEMU, &host).is_err() {
            fs::copy(QEMU, &host).expect("copy qemu into the root");
        }
        let mut cmd = chrooted(&self.root, INSIDE);
        cmd.env_clear();
        for (k, v) in env {
            cmd.arg("-E").arg(format!("{k}={v}"));
        }
        cmd.args(["-cpu", cpu.model]).args(args);
        let out = cmd.output().expect("qemu runs");
        fs::remove_file(&host).expect("remove qemu from the root");
        out
    }

    /// glibc's answer for `file` on an emulated CPU, as [`World::glibc`].
    pub fn glibc_on(&self, cpu: &Emulated, file: &str) -> Vec<String> {
        let o = self.run_on(cpu, &[("LD_TRACE_LOADED_OBJECTS", "1")], &[INTERP, file]);
        if !o.status.success() {
            return vec![format!(
                "\terror: glibc exit {:?}: {}",
                o.status.code(),
                without_qemu_warnings(&o.stderr)
            )];
        }
        normalise(&String::from_utf8_lossy(&o.stdout))
    }

    /// `ldslim ldd` run natively, told the CPU by its flags.
    pub fn ldd_on(&self, cpu: &Emulated, file: &str) -> Vec<String> {
        self.ldd(file, &["--hwcaps", cpu.hwcaps, "--platform", cpu.platform])
    }

    /// `ldslim ldd` itself run on the emulated CPU, with no CPU flags: its
    /// own reading of the CPU decides. Lines after the `FILE:` header, and
    /// standard error.
    pub fn ldd_under(&self, cpu: &Emulated, file: &str) -> (Vec<String>, String) {
        need_qemu();
        let o = Command::new(QEMU)
            .args(["-cpu", cpu.model, env!("CARGO_BIN_EXE_ldslim"), "ldd"])
            .arg(&self.root)
            .arg(file)
            .env_clear()
            .output()
            .expect("qemu runs ldslim");
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(
            o.status.code() != Some(2),
            "ldslim ldd failed: {}",
            without_qemu_warnings(&o.stderr)
        );
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(format!("{file}:").as_str()), "{text}");
        (
            lines.map(|l| l.to_string()).collect(),
            without_qemu_warnings(&o.stderr),
        )
    }

    /// On every emulated CPU: ldslim told that CPU, ldslim run on it, and
    /// glibc run on it give `expected(cpu)` for `file`; and on this
    /// machine's own CPU, ldslim and glibc agree.
    pub fn expect_on_every_cpu(&self, file: &str, expected: impl Fn(&Emulated) -> Vec<String>) {
        for cpu in EMULATED {
            let want: Vec<String> = expected(cpu).iter().map(|s| format!("\t{s}")).collect();
            assert_eq!(
                self.ldd_on(cpu, file),
                want,
                "ldslim ldd, told {}",
                cpu.name
            );
            assert_eq!(
                self.ldd_under(cpu, file).0,
                want,
                "ldslim ldd run on {}",
                cpu.model
            );
            assert_eq!(self.glibc_on(cpu, file), want, "glibc on {}", cpu.model);
        }
        let here = self.ldd(file, &[]);
        let glibc = self.glibc(file, None).expect("needs root (chroot)");
        assert_eq!(here, glibc, "ldslim and glibc on this machine's CPU");
    }
}

/// The /dev a container runtime gives every container (runc's default
/// devices), which the image itself does not have: a tmpfs on ROOT/dev with
/// null, zero, full, random, urandom and tty, and the usual links. Without
/// it, grpcio (abseil) aborts reading /dev/urandom ("Failed generating
/// seed-material for URBG"). Unmounted when dropped. /proc is not needed by
/// any of the apps and is not mounted.
pub struct DevMount {
    dir: PathBuf,
    created: bool,
}

impl DevMount {
    pub fn new(root: &Path) -> DevMount {
        let dir = root.join("dev");
        // base-files ships an empty /dev; the mount hides whatever is there.
        let created = !dir.is_dir();
        if created {
            std::fs::create_dir(&dir).unwrap();
        }
        let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: plain system call with valid NUL-terminated strings.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                c.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NOEXEC,
                c"mode=755,size=64k".as_ptr().cast(),
            )
        };
        assert_eq!(
            rc,
            0,
            "mount tmpfs on {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        );
        let guard = DevMount { dir, created };
        for (name, major, minor) in [
            ("null", 1, 3),
            ("zero", 1, 5),
            ("full", 1, 7),
            ("random", 1, 8),
            ("urandom", 1, 9),
            ("tty", 5, 0),
        ] {
            let node = std::ffi::CString::new(guard.dir.join(name).as_os_str().as_encoded_bytes())
                .unwrap();
            // SAFETY: plain system calls with a valid path.
            let rc = unsafe {
                libc::mknod(
                    node.as_ptr(),
                    libc::S_IFCHR | 0o666,
                    libc::makedev(major, minor),
                ) | libc::chmod(node.as_ptr(), 0o666)
            };
            assert_eq!(
                rc,
                0,
                "mknod /dev/{name}: {}",
                std::io::Error::last_os_error()
            );
        }
        for (link, to) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            std::os::unix::fs::symlink(to, guard.dir.join(link)).unwrap();
        }
        // POSIX shared memory lives in a tmpfs of its own, 64 MiB as a
        // container runtime mounts it: audio libraries map files there, and
        // a map past the end of the small /dev above dies with SIGBUS.
        let shm = guard.dir.join("shm");
        std::fs::create_dir(&shm).unwrap();
        let c = std::ffi::CString::new(shm.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: plain system call with valid NUL-terminated strings.
        let rc = unsafe {
            libc::mount(
                c"shm".as_ptr(),
                c.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                c"mode=1777,size=64m".as_ptr().cast(),
            )
        };
        assert_eq!(
            rc,
            0,
            "mount tmpfs on {}: {}",
            shm.display(),
            std::io::Error::last_os_error()
        );
        guard
    }
}

impl Drop for DevMount {
    fn drop(&mut self) {
        let shm =
            std::ffi::CString::new(self.dir.join("shm").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: plain system call with a valid path; a failure shows below,
        // where the detach of /dev takes /dev/shm with it.
        unsafe { libc::umount2(shm.as_ptr(), libc::MNT_DETACH) };
        let c = std::ffi::CString::new(self.dir.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: plain system call with a valid path.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } != 0 {
            eprintln!(
                "warning: umount {}: {}",
                self.dir.display(),
                std::io::Error::last_os_error()
            );
        }
        if self.created {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// `cp -a FROM TO`, with TO's parent made first.
pub fn cp_a(from: &Path, to: &Path) {
    fs::create_dir_all(to.parent().expect("a parent")).unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

/// Run `scripts/NAME ARGS` (standard input closed) and return the last line
/// it prints: the root it built or reused.
pub fn script_root(name: &str, args: &[&str]) -> PathBuf {
    let o = Command::new("bash")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scripts")
                .join(name),
        )
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        o.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    PathBuf::from(out.lines().last().expect("a path").trim())
}
