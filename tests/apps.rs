//! End to end with real applications: the six apps of the distroless-Python
//! story (testdata/apps/: hello world, Flask under gunicorn, FastAPI under
//! uvicorn[standard], pandas, google-cloud-pubsub, the Kubernetes client),
//! installed in a Debian 12 builder root the ways users install them
//! (scripts/make-apps-root.sh), moved onto a distroless-cc-debian12-like base
//! (scripts/distroless-root.sh) with exactly the files `ldslim scan --emit
//! copy=` adds, and run there by glibc itself, under chroot, as the nonroot
//! user (65532), with the /dev a container runtime would mount. For each
//! app:
//!
//! 1. the app runs in the builder (the harness itself works);
//! 2. negative control: base + interpreter + stdlib + the app's site dir and
//!    code, without ldslim's files, fails, and `ldslim explain` names the
//!    missing file and a fix;
//! 3. `ldslim scan BUILDER PATHS --target BASE --emit copy=FINAL` exits 0,
//!    adds nothing it does not report and overwrites nothing of the base, and
//!    the app runs in FINAL with its real output checked (servers answer a
//!    real HTTP request on 127.0.0.1);
//! 4. minimality: every emitted regular file is removed in turn: either the
//!    app breaks without it, or `ldslim why` shows the DT_NEEDED chain from an
//!    object in scope that loads it.
//!
//! And `apps_root_matches_glibc` runs the core's differential test
//! (tests/differential.rs, its own compiled binary) over the apps root.
//!
//! Results: target/apps/APP.json, and the table target/apps-report.md
//! (rewritten after every test). Needs root. `scripts/test.sh` runs these
//! (they are ignored otherwise); `scripts/e2e-apps.sh` runs only these.
//! The roots come from LDSLIM_APPS_ROOT / LDSLIM_APPS_TARGET when set,
//! otherwise from the scripts (built once, then cached).

mod common;

use common::DevMount;
use std::collections::BTreeSet;
use std::ffi::CString;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// distroless' nonroot user and group.
const NONROOT: u32 = 65532;
/// The interpreter and the standard library, copied for every app.
const INTERPRETER: &[&str] = &[
    "/usr/bin/python3.11",
    "/usr/bin/python3",
    "/usr/lib/python3.11",
    "/usr/lib/python3",
];
/// distroless' image environment (PATH, SSL_CERT_FILE), plus unbuffered
/// output so that a stopped server's log is complete.
const BASE_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
    ("PYTHONUNBUFFERED", "1"),
];
/// A one-shot app must finish within this.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// A server must accept connections within this.
const START_TIMEOUT: Duration = Duration::from_secs(90);
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Any one ldslim command must finish within this.
const LDSLIM_TIMEOUT: Duration = Duration::from_secs(600);
/// SIGTERM to a server, then this long, then SIGKILL of its process group.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Lines of stderr that mean a broken app even when its output looks right
/// (pandas, for one, only warns when `lzma` does not import).
const RED_FLAGS: &[&str] = &[
    "cannot open shared object file",
    "ImportError",
    "ModuleNotFoundError",
    "Could not import",
    "error while loading shared libraries",
];

// ------------------------------------------------------------------ the apps

/// Where an app's packages are (testdata/apps/manifest).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Site {
    None,
    System,
    Venv,
    User,
}

impl Site {
    fn parse(s: &str) -> Site {
        match s {
            "none" => Site::None,
            "system" => Site::System,
            "venv" => Site::Venv,
            "user" => Site::User,
            _ => panic!("testdata/apps/manifest: unknown site {s:?}"),
        }
    }
    /// The directory copied into the final image (and scanned).
    fn dir(self) -> Option<&'static str> {
        match self {
            Site::None => None,
            Site::System => Some("/usr/local/lib/python3.11/dist-packages"),
            Site::Venv => Some("/app/.venv"),
            Site::User => Some("/home/app/.local/lib/python3.11/site-packages"),
        }
    }
    fn python(self) -> &'static str {
        match self {
            Site::Venv => "/app/.venv/bin/python",
            _ => "/usr/bin/python3",
        }
    }
    /// HOME: distroless' nonroot home, or the user whose user site it is.
    fn home(self) -> &'static str {
        match self {
            Site::User => "/home/app",
            _ => "/home/nonroot",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Site::None => "stdlib only",
            Site::System => "system dist-packages",
            Site::Venv => "venv /app/.venv",
            Site::User => "user site (uid 1000)",
        }
    }
}

enum Mode {
    /// Runs to completion; stdout is checked.
    Once,
    /// Serves HTTP on the port given as the last argument; the body of
    /// `GET /` is checked.
    Serve,
}

struct Spec {
    name: &'static str,
    script: &'static str,
    /// The same app started by a console script of its packages instead
    /// of `python SCRIPT` (program and arguments; a server's port last).
    console: Option<&'static [&'static str]>,
    mode: Mode,
    env: &'static [(&'static str, &'static str)],
    check: fn(&str) -> Result<(), String>,
}

fn expect_lines(out: &str, want: &[&str]) -> Result<(), String> {
    for w in want {
        if !out.lines().any(|l| l.trim() == *w) {
            return Err(format!("no line {w:?} in the output"));
        }
    }
    Ok(())
}

const SPECS: &[Spec] = &[
    Spec {
        name: "hello",
        script: "/app/hello/main.py",
        console: None,
        mode: Mode::Once,
        env: &[],
        check: |out| expect_lines(out, &["Hello, world! (Python 3.11, uid 65532)"]),
    },
    Spec {
        name: "flask",
        script: "/app/flask/run.py",
        console: None,
        mode: Mode::Serve,
        env: &[],
        check: |body| {
            let ok = body.starts_with("Hello from Flask 3.") && body.contains(" under gunicorn ");
            if ok {
                Ok(())
            } else {
                Err(format!("unexpected body {body:?}"))
            }
        },
    },
    Spec {
        name: "fastapi",
        script: "/app/fastapi/run.py",
        // What run.py asks of uvicorn, by uvicorn's own command (the script
        // pip writes into the venv's bin/, `#!/app/.venv/bin/python`).
        console: Some(&[
            "/app/.venv/bin/uvicorn",
            "--app-dir",
            "/app/fastapi",
            "--host",
            "127.0.0.1",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--ws",
            "websockets-sansio",
            "main:app",
            "--port",
        ]),
        mode: Mode::Serve,
        env: &[],
        check: |body| {
            let want = r#"{"message":"Hello from FastAPI","loop":"uvloop","libyaml":true}"#;
            if body == want {
                Ok(())
            } else {
                Err(format!("body {body:?}, expected {want:?}"))
            }
        },
    },
    Spec {
        name: "pandas",
        script: "/app/pandas/main.py",
        console: None,
        mode: Mode::Once,
        env: &[],
        check: |out| {
            expect_lines(
                out,
                &["result: Lima=18 Oslo=27 Pune=11 rolling=15 trace=285"],
            )
        },
    },
    Spec {
        name: "pubsub",
        script: "/app/pubsub/main.py",
        console: None,
        mode: Mode::Once,
        env: &[("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")],
        check: |out| {
            let built = out.lines().any(|l| {
                l.starts_with(
                    "publisher built: projects/demo-project/topics/demo-topic via 127.0.0.1:8085 (grpc ",
                )
            });
            if !built {
                return Err("no 'publisher built: ... via 127.0.0.1:8085' line".into());
            }
            expect_lines(out, &["published over gRPC on loopback: id-1"])
        },
    },
    Spec {
        name: "kubernetes",
        script: "/app/kubernetes/main.py",
        console: None,
        mode: Mode::Once,
        env: &[],
        check: |out| {
            expect_lines(
                out,
                &[
                    "ApiClient built for https://127.0.0.1:6443",
                    "server version over loopback: v1.31.0-fake",
                ],
            )
        },
    },
];

fn manifest() -> Vec<(String, Site)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/apps/manifest");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().to_string();
            let site = Site::parse(w.next().unwrap_or_else(|| panic!("{l:?}: no site")));
            (name, site)
        })
        .collect()
}

fn site_of(app: &str) -> Site {
    manifest()
        .into_iter()
        .find(|(n, _)| n == app)
        .unwrap_or_else(|| panic!("{app} is not in testdata/apps/manifest"))
        .1
}

fn spec(app: &str) -> &'static Spec {
    SPECS
        .iter()
        .find(|s| s.name == app)
        .unwrap_or_else(|| panic!("no Spec for {app} in tests/apps.rs"))
}

/// The paths the user copies from the builder for this app (and ldslim scans).
fn scope(app: &str, site: Site) -> Vec<String> {
    let mut v: Vec<String> = INTERPRETER.iter().map(|s| s.to_string()).collect();
    v.extend(site.dir().map(str::to_string));
    v.push(format!("/app/{app}"));
    v
}

// ------------------------------------------------------------------ roots, tools

struct Roots {
    builder: PathBuf,
    target: PathBuf,
}

fn script(name: &str, args: &[&str]) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name);
    eprintln!("[apps] running {} {}", path.display(), args.join(" "));
    let o = Command::new("bash")
        .arg(&path)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", path.display()));
    assert!(o.status.success(), "{} {args:?} failed", path.display());
    let text = String::from_utf8_lossy(&o.stdout);
    PathBuf::from(
        text.lines()
            .last()
            .expect("the script prints a path")
            .trim(),
    )
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn builder_root() -> &'static Path {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        env_path("LDSLIM_APPS_ROOT").unwrap_or_else(|| script("make-apps-root.sh", &[]))
    })
}

fn roots() -> Roots {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the apps test chroots and changes user, which needs root"
    );
    let builder = builder_root().to_path_buf();
    let target = env_path("LDSLIM_APPS_TARGET")
        .unwrap_or_else(|| script("distroless-root.sh", &["bookworm", "amd64", "cc"]));
    assert!(
        builder.join("usr/bin/python3.11").exists(),
        "{} is not the apps root",
        builder.display()
    );
    assert!(
        target.join("etc/passwd").exists(),
        "{} is not a base root",
        target.display()
    );
    Roots { builder, target }
}

fn ldslim_bin() -> PathBuf {
    env_path("LDSLIM_BIN").unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ldslim")))
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// ldslim with `args` (and `stdin`), killed after [`LDSLIM_TIMEOUT`].
fn ldslim(args: &[&str], stdin: Option<&str>) -> Out {
    let mut cmd = Command::new(ldslim_bin());
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("ldslim runs");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let text = text.to_string();
        thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break Some(s);
        }
        if start.elapsed() > LDSLIM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let text = |rx: mpsc::Receiver<Vec<u8>>| {
        rx.recv_timeout(Duration::from_secs(10))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let stdout = text(out);
    let mut stderr = text(err);
    if status.is_none() {
        stderr.push_str(&format!("\n(killed after {LDSLIM_TIMEOUT:?})"));
    }
    Out {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
    }
}

/// Read a pipe to its end on a thread; the bytes arrive on the receiver.
fn drain(mut r: Box<dyn Read + Send>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Cargo's target directory (where the reports go).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

fn inside(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

// ------------------------------------------------------------------ running an app

/// A process (and everything it forks) in its own process group, killed
/// with the group when dropped.
struct Group {
    child: Child,
    pgid: i32,
    status: Option<ExitStatus>,
    out: mpsc::Receiver<Vec<u8>>,
    err: mpsc::Receiver<Vec<u8>>,
}

impl Group {
    /// `program` run inside `root`: chroot, then uid/gid 65532 with no
    /// supplementary groups, in a new process group. The environment is
    /// exactly `env`.
    fn spawn(root: &Path, program: &str, args: &[String], env: &[(&str, &str)]) -> Group {
        let dir = CString::new(root.as_os_str().as_bytes()).expect("no NUL");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: only async-signal-safe system calls between fork and exec;
        // the CString is made before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setpgid(0, 0) != 0
                    || libc::chroot(dir.as_ptr()) != 0
                    || libc::chdir(c"/".as_ptr()) != 0
                    || libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(NONROOT) != 0
                    || libc::setuid(NONROOT) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {program} in {}: {e}", root.display()));
        let pgid = child.id() as i32;
        let out = drain(Box::new(child.stdout.take().unwrap()));
        let err = drain(Box::new(child.stderr.take().unwrap()));
        Group {
            child,
            pgid,
            status: None,
            out,
            err,
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            if start.elapsed() > limit {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(-self.pgid, sig);
        }
    }

    /// SIGTERM to the leader (what `docker stop` does to PID 1), a grace
    /// period, then SIGKILL to the whole group; the leader's status and
    /// whether it needed the SIGKILL.
    fn stop(&mut self) -> (ExitStatus, bool) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(self.pgid, libc::SIGTERM);
        }
        let mut killed = false;
        let status = match self.wait_for(STOP_GRACE) {
            Some(s) => s,
            None => {
                killed = true;
                self.signal(libc::SIGKILL);
                let s = self.child.wait().expect("wait");
                self.status = Some(s);
                s
            }
        };
        // Workers the leader did not reap.
        self.signal(libc::SIGKILL);
        (status, killed)
    }

    /// stdout and stderr, once the group is gone (bounded: a process that
    /// escaped the group could hold the pipes).
    fn output(&mut self) -> (String, String) {
        let take = |rx: &mpsc::Receiver<Vec<u8>>| {
            rx.recv_timeout(Duration::from_secs(10))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|_| "(output not closed 10 s after the process ended)".into())
        };
        (take(&self.out), take(&self.err))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
        if self.status.is_none() {
            let _ = self.child.wait();
        }
    }
}

/// How one run of an app went.
#[derive(Debug)]
struct Outcome {
    ok: bool,
    /// One line: what the check saw, or why it failed.
    detail: String,
    stdout: String,
    stderr: String,
    secs: f64,
}

impl Outcome {
    /// The line a user would paste into `ldslim explain`.
    fn message(&self) -> String {
        message_of(&self.stderr).unwrap_or_else(|| self.detail.clone())
    }
}

fn message_of(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.contains("cannot open shared object file"))
        .or_else(|| {
            lines.iter().rev().find(|l| {
                l.starts_with("ImportError")
                    || l.starts_with("ModuleNotFoundError")
                    || l.starts_with("OSError")
                    || l.contains("error while loading shared libraries")
            })
        })
        .or(lines.last())
        .map(|s| s.to_string())
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => format!("{status}"),
    }
}

fn red_flag(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| RED_FLAGS.iter().any(|f| l.contains(f)))
        .map(|l| l.trim().to_string())
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `GET /` on 127.0.0.1:port: status and body.
fn http_get(port: u16) -> Result<(u16, String), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s =
        TcpStream::connect_timeout(&addr, HTTP_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(HTTP_TIMEOUT)).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: ldslim-apps-test\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    if head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    }) {
        return Err(format!("chunked response not expected: {text:?}"));
    }
    Ok((status, body.to_string()))
}

/// Run `spec` inside `root` as nonroot, and check its output.
fn run_app(root: &Path, spec: &Spec, site: Site) -> Outcome {
    run_as(root, spec, site, false)
}

/// Run the app by `python SCRIPT`, or by its console script.
fn run_as(root: &Path, spec: &Spec, site: Site, console: bool) -> Outcome {
    let launch: Vec<String> = match (console, spec.console) {
        (true, Some(argv)) => argv.iter().map(|a| a.to_string()).collect(),
        _ => vec![site.python().to_string(), spec.script.to_string()],
    };
    let mut env: Vec<(&str, &str)> = BASE_ENV.to_vec();
    env.push(("HOME", site.home()));
    env.extend(spec.env.iter().copied());
    let t0 = Instant::now();
    let mut out = match spec.mode {
        Mode::Once => run_once(root, spec, &launch, &env),
        Mode::Serve => {
            // A port found free can be taken before the server binds it.
            let mut attempt = 0;
            loop {
                let o = serve_once(root, spec, &launch, &env);
                attempt += 1;
                if o.ok || attempt == 3 || !o.stderr.contains("Address already in use") {
                    break o;
                }
            }
        }
    };
    out.secs = t0.elapsed().as_secs_f64();
    if out.ok
        && let Some(line) = red_flag(&out.stderr)
    {
        out.ok = false;
        out.detail = format!("output checked, but stderr says: {line}");
    }
    out
}

fn run_once(root: &Path, spec: &Spec, launch: &[String], env: &[(&str, &str)]) -> Outcome {
    let mut g = Group::spawn(root, &launch[0], &launch[1..], env);
    let status = g.wait_for(RUN_TIMEOUT);
    if status.is_none() {
        g.stop();
    }
    let (stdout, stderr) = g.output();
    let (ok, detail) = match status {
        None => (
            false,
            format!("still running after {RUN_TIMEOUT:?}; killed"),
        ),
        Some(s) if !s.success() => (
            false,
            format!(
                "{}: {}",
                describe(s),
                message_of(&stderr).unwrap_or_default()
            ),
        ),
        Some(_) => match (spec.check)(&stdout) {
            Ok(()) => (
                true,
                stdout
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            ),
            Err(e) => (false, format!("exit 0, but {e}")),
        },
    };
    Outcome {
        ok,
        detail,
        stdout,
        stderr,
        secs: 0.0,
    }
}

fn serve_once(root: &Path, spec: &Spec, launch: &[String], env: &[(&str, &str)]) -> Outcome {
    let port = free_port();
    let mut args = launch[1..].to_vec();
    args.push(port.to_string());
    let mut g = Group::spawn(root, &launch[0], &args, env);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let start = Instant::now();
    let mut early_exit = None;
    let listening = loop {
        if let Some(s) = g.exited() {
            early_exit = Some(s);
            break false;
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok() {
            break true;
        }
        if start.elapsed() > START_TIMEOUT {
            break false;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let response = listening.then(|| http_get(port));
    let (status, killed) = match early_exit {
        Some(s) => {
            g.signal(libc::SIGKILL);
            (s, false)
        }
        None => g.stop(),
    };
    let (stdout, stderr) = g.output();
    let (ok, detail) = match (early_exit, response) {
        (Some(s), _) => (
            false,
            format!(
                "server ended ({}) before listening: {}",
                describe(s),
                message_of(&stderr).unwrap_or_default()
            ),
        ),
        (None, None) => (
            false,
            format!("not listening on 127.0.0.1:{port} after {START_TIMEOUT:?}"),
        ),
        (None, Some(Err(e))) => (false, format!("GET / on 127.0.0.1:{port}: {e}")),
        (None, Some(Ok((code, body)))) if code != 200 => {
            (false, format!("GET / answered {code}: {body:?}"))
        }
        (None, Some(Ok((_, body)))) => match (spec.check)(&body) {
            Ok(()) if killed => (
                true,
                format!(
                    "GET / -> 200 {:?} (did not stop on SIGTERM within {STOP_GRACE:?}: killed)",
                    body.trim()
                ),
            ),
            Ok(()) => (
                true,
                format!("GET / -> 200 {:?} ({})", body.trim(), describe(status)),
            ),
            Err(e) => (false, format!("GET / -> 200, but {e}")),
        },
    };
    Outcome {
        ok,
        detail,
        stdout,
        stderr,
        secs: 0.0,
    }
}

// ------------------------------------------------------------------ explain

/// Whether `ldslim explain` exists (it is being written): `Err` with what
/// `ldslim explain --help` said when it does not.
fn explain_available() -> Result<(), String> {
    let o = ldslim(&["explain", "--help"], None);
    if o.code == Some(0) {
        Ok(())
    } else {
        Err(format!(
            "`ldslim explain --help` exited {:?}: {}",
            o.code,
            o.stderr.lines().next().unwrap_or("").trim()
        ))
    }
}

/// The library a loader or ImportError message says is missing.
fn missing_soname(message: &str) -> Option<String> {
    let i = message.find(": cannot open shared object file")?;
    let head = &message[..i];
    let start = head.rfind([' ', ':']).map(|j| j + 1).unwrap_or(0);
    Some(head[start..].to_string())
}

/// `ldslim explain BUILDER -`, given the app's whole stderr (a traceback, a
/// server log) on stdin, must name the library `message` says is missing,
/// where it is in the builder (one of `paths`), and a fix (a COPY line or a
/// copy instruction).
fn check_explain(
    builder: &Path,
    message: &str,
    log: &str,
    paths: &[String],
) -> Result<String, String> {
    let input = if log.trim().is_empty() { message } else { log };
    let o = ldslim(&["explain", builder.to_str().unwrap(), "-"], Some(input));
    if !matches!(o.code, Some(0 | 1)) {
        return Err(format!(
            "`ldslim explain` exited {:?} on {message:?}: {}",
            o.code,
            o.stderr.trim()
        ));
    }
    let text = o.stdout;
    let soname = missing_soname(message);
    if let Some(so) = &soname
        && !text.contains(so.as_str())
    {
        return Err(format!(
            "`ldslim explain` does not name {so} for {message:?}:\n{text}"
        ));
    }
    if !paths.is_empty() && !names_builder_file(&text, builder, paths) {
        return Err(format!(
            "`ldslim explain` names no path of the builder that is {paths:?} (where the builder has it) \
             for {message:?}:\n{text}"
        ));
    }
    if !text.to_ascii_lowercase().contains("copy") {
        return Err(format!(
            "`ldslim explain` gives no fix (no COPY/copy) for {message:?}:\n{text}"
        ));
    }
    Ok(format!(
        "names {} and a fix",
        soname.unwrap_or_else(|| "the file".into())
    ))
}

/// Whether `text` names a path that is, in the builder, the same file as one
/// of `paths` (any spelling: /lib/x86_64-linux-gnu/libz.so.1 through the
/// usr-merge link, the soname link, or the file itself).
fn names_builder_file(text: &str, builder: &Path, paths: &[String]) -> bool {
    use std::os::unix::fs::MetadataExt;
    let id = |p: &str| {
        fs::metadata(inside(builder, p))
            .ok()
            .map(|m| (m.dev(), m.ino()))
    };
    let wanted: BTreeSet<(u64, u64)> = paths.iter().filter_map(|p| id(p)).collect();
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| "'\"`()[]{},;:".contains(c)))
        .filter(|w| w.starts_with('/'))
        .any(|w| id(w).is_some_and(|i| wanted.contains(&i)))
}

/// `a/b/../c` without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Each emitted symlink must be the name the loader asks for (its
/// `needed_as`) or a link on the way from such a name to an emitted file.
fn check_links(items: &[Value]) -> (usize, Vec<String>) {
    let links: std::collections::BTreeMap<&str, &str> = items
        .iter()
        .filter(|i| i["kind"]["type"] == "symlink")
        .filter_map(|i| Some((i["dest"].as_str()?, i["kind"]["target"].as_str()?)))
        .collect();
    let files: BTreeSet<&str> = items
        .iter()
        .filter(|i| i["kind"]["type"] == "file")
        .filter_map(|i| i["dest"].as_str())
        .collect();
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    for i in items.iter().filter(|i| i["kind"]["type"] == "symlink") {
        let dest = i["dest"].as_str().unwrap_or("");
        let name = Path::new(dest).file_name().and_then(|n| n.to_str());
        if name != i["needed_as"].as_str() {
            continue;
        }
        let mut cur = dest.to_string();
        let mut hops = 0;
        while let Some(to) = links.get(cur.as_str()) {
            used.insert(cur.clone());
            let parent = Path::new(&cur).parent().unwrap_or(Path::new("/"));
            cur = normalise(&parent.join(to)).display().to_string();
            hops += 1;
            if hops > 40 {
                break;
            }
        }
        if !files.contains(cur.as_str()) {
            problems.push(format!(
                "{dest} leads to {cur}, which is not an emitted file"
            ));
        }
    }
    for l in links.keys() {
        if !used.contains(*l) {
            problems.push(format!(
                "{l} is a symlink that is neither a needed name nor on the way from one to a file"
            ));
        }
    }
    (used.len(), problems)
}

// ------------------------------------------------------------------ the per-app test

fn rel_set(root: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .map(|e| e.expect("walk"))
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap();
            format!("/{}", rel.display())
        })
        .collect()
}

fn is_under(path: &str, dir: &str) -> bool {
    path == dir || path.starts_with(&format!("{}/", dir.trim_end_matches('/')))
}

fn ancestors(path: &str) -> impl Iterator<Item = String> + '_ {
    Path::new(path)
        .ancestors()
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty())
}

/// The shortest `ldslim why` chain for `lib` from the scope, rendered
/// `entry -> needed -> ...`; Err when there is none from an object in scope.
fn why_chain(roots: &Roots, lib: &str, scope: &[String]) -> Result<(usize, String), String> {
    let mut args = vec!["why", roots.builder.to_str().unwrap(), lib];
    args.extend(scope.iter().map(String::as_str));
    args.extend([
        "--target",
        roots.target.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let o = ldslim(&args, None);
    let v: Value = serde_json::from_str(&o.stdout).map_err(|e| {
        format!(
            "`ldslim why {lib}`: exit {:?}, no JSON ({e}): {}",
            o.code,
            o.stderr.trim()
        )
    })?;
    let chains = v["chains"].as_array().cloned().unwrap_or_default();
    let in_scope: Vec<&Value> = chains
        .iter()
        .filter(|c| {
            let entry = c["entry"].as_str().unwrap_or("");
            scope.iter().any(|s| is_under(entry, s))
        })
        .collect();
    let best = in_scope
        .iter()
        .min_by_key(|c| c["links"].as_array().map_or(0, Vec::len))
        .ok_or_else(|| format!("`ldslim why {lib}` shows no chain from an object in scope"))?;
    let mut s = best["entry"].as_str().unwrap_or("?").to_string();
    for l in best["links"].as_array().into_iter().flatten() {
        let _ = write!(s, " -> {}", l["needed"].as_str().unwrap_or("?"));
    }
    Ok((in_scope.len(), s))
}

fn run_app_test(app: &str) {
    let t_all = Instant::now();
    let site = site_of(app);
    let spec = spec(app);
    let roots = roots();
    let scope = scope(app, site);
    let mut failures: Vec<String> = Vec::new();
    let mut report = json!({
        "app": app,
        "site": site.label(),
        "scope": scope,
        "builder": roots.builder,
        "target": roots.target,
    });
    eprintln!("[apps] {app}: builder {}", roots.builder.display());

    // 1. The harness: the app runs in the builder itself.
    let b = run_app(&roots.builder, spec, site);
    eprintln!(
        "[apps] {app}: in the builder: {} ({:.1} s)",
        b.detail, b.secs
    );
    report["builder_run"] = json!({"ok": b.ok, "detail": b.detail, "secs": b.secs});
    if !b.ok {
        finish(
            app,
            report,
            &["the app fails in the builder root itself: a harness problem, not ldslim's".into()],
            &b,
            t_all,
        );
        return;
    }

    // 2. Negative control: the assembly without ldslim's files.
    let tmp = tempfile::Builder::new()
        .prefix(&format!("ldslim-apps-{app}-"))
        .tempdir()
        .unwrap();
    let fin = tmp.path().join("final");
    let t = Instant::now();
    common::cp_a(&roots.target, &fin);
    for p in &scope {
        common::cp_a(&inside(&roots.builder, p), &inside(&fin, p));
    }
    eprintln!(
        "[apps] {app}: assembled in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Dropped before `tmp`: unmounted before the directory is removed, on
    // failure too.
    let _dev = DevMount::new(&fin);
    let neg = run_app(&fin, spec, site);
    let negative = neg.message();
    eprintln!("[apps] {app}: without ldslim's files: {negative}");
    report["negative"] = json!({"failed": !neg.ok, "message": negative});
    if neg.ok {
        failures.push(format!(
            "negative control: the app ran without ldslim's files ({})",
            neg.detail
        ));
    }

    // 3. ldslim's files, and only them.
    let before = rel_set(&fin);
    let plan_path = tmp.path().join("plan.json");
    let mut args: Vec<String> = vec!["scan".into(), roots.builder.display().to_string()];
    args.extend(scope.iter().cloned());
    args.extend([
        "--target".into(),
        roots.target.display().to_string(),
        // The Python files are in FINAL already (copied by hand above):
        // ldslim adds the libraries.
        "--layer=libs".into(),
        format!("--emit=copy={}", fin.display()),
        format!("--emit=json={}", plan_path.display()),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = Instant::now();
    let o = ldslim(&argv, None);
    let scan_secs = t.elapsed().as_secs_f64();
    report["scan"] =
        json!({"command": format!("ldslim {}", args.join(" ")), "exit": o.code, "secs": scan_secs});
    // Exit 1 with nothing failing is ldslim being honest about what it
    // cannot check: run-time loads whose library only the running program
    // knows (google-auth's TLS offload library, a path from a config file),
    // possible loads of copied libraries (Kerberos plugins). The app's own
    // run below decides; accepting them by name must then give exit 0 and
    // the verdict "loads".
    let v: Option<Value> = fs::read(&plan_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let verdict = v.as_ref().map(|v| v["plan"]["verdict"].clone());
    let unverified_ok = o.code == Some(1) && verdict != Some(json!("fails"));
    if o.code != Some(0) && !unverified_ok {
        failures.push(format!(
            "`ldslim {}` exited {:?}:\n{}\n{}",
            args.join(" "),
            o.code,
            o.stdout,
            o.stderr
        ));
        finish(app, report, &failures, &neg, t_all);
        return;
    }
    let v = v.expect("plan JSON");
    let plan = &v["plan"];
    let mut accepted: BTreeSet<String> = plan["unverified"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| {
            u["soname"]
                .as_str()
                .or(u["object"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    accepted.extend(
        v["runtime"]["unknown"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{}:{}", c["file"].as_str().unwrap_or(""), c["line"])),
    );
    accepted.extend(
        v["runtime"]["loads"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| {
                l["tried"]
                    .as_array()
                    .is_none_or(|t| t.iter().all(|t| t["builder"]["outcome"] != "found"))
            })
            .filter_map(|l| l["library"].as_str().map(str::to_string)),
    );
    report["unverified"] = json!(accepted);
    if o.code != Some(0) || !accepted.is_empty() {
        let mut again = args.clone();
        again.retain(|a| !a.starts_with("--emit"));
        again.extend(["--format".into(), "json".into()]);
        for a in &accepted {
            again.extend(["--allow-runtime".into(), a.clone()]);
        }
        let argv: Vec<&str> = again.iter().map(String::as_str).collect();
        let o2 = ldslim(&argv, None);
        let v2: Value = serde_json::from_str(&o2.stdout).unwrap_or(Value::Null);
        if o2.code != Some(0) || v2["plan"]["verdict"] != "loads" {
            failures.push(format!(
                "`ldslim {}` (what ldslim could not check accepted) exited {:?}, verdict {}:\n{}",
                again.join(" "),
                o2.code,
                v2["plan"]["verdict"],
                o2.stderr
            ));
        }
    }
    if plan["verdict"] == "fails" || !plan["missing"].as_array().is_none_or(|m| m.is_empty()) {
        failures.push(format!(
            "plan.verdict is {}: {}",
            plan["verdict"], plan["missing"]
        ));
    }
    let items: Vec<Value> = plan["copy"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let files: Vec<&Value> = items
        .iter()
        .filter(|i| i["kind"]["type"] == "file")
        .collect();
    let bytes = plan["bytes"].as_u64().unwrap_or(0);
    report["emitted"] = json!({
        "paths": items.len(),
        "files": files.len(),
        "symlinks": items.len() - files.len(),
        "bytes": bytes,
        "sonames": items.iter().filter_map(|i| i["needed_as"].as_str()).collect::<BTreeSet<_>>(),
    });
    eprintln!(
        "[apps] {app}: ldslim added {} paths ({} files), {bytes} bytes, in {scan_secs:.2} s",
        items.len(),
        files.len()
    );
    // Nothing but the reported items was added, and nothing of the base was
    // replaced by one.
    let dests: BTreeSet<String> = items
        .iter()
        .filter_map(|i| i["dest"].as_str().map(str::to_string))
        .collect();
    let allowed: BTreeSet<String> = dests.iter().flat_map(|d| ancestors(d)).collect();
    for p in rel_set(&fin).difference(&before) {
        if !allowed.contains(p) {
            failures.push(format!(
                "{p} appeared in the final image but is not in ldslim's plan"
            ));
        }
    }
    for d in &dests {
        if inside(&roots.target, d).symlink_metadata().is_ok() {
            failures.push(format!("{d} is in the plan although the base has it"));
        }
        if inside(&fin, d).symlink_metadata().is_err() {
            failures.push(format!("{d} is in the plan but not in the final image"));
        }
    }

    let fin_run = run_app(&fin, spec, site);
    eprintln!(
        "[apps] {app}: in the final image: {} ({:.1} s)",
        fin_run.detail, fin_run.secs
    );
    report["final_run"] = json!({"ok": fin_run.ok, "detail": fin_run.detail, "secs": fin_run.secs});
    if !fin_run.ok {
        failures.push(format!(
            "the app fails in the final image: {}\nstdout:\n{}\nstderr:\n{}",
            fin_run.detail, fin_run.stdout, fin_run.stderr
        ));
    }

    // 4. Minimality: each emitted regular file, removed in turn.
    let mut minimality = Vec::new();
    // (the message line, the whole stderr it came from, the builder paths
    // of the missing library)
    let mut messages: Vec<(String, String, Vec<String>)> = Vec::new();
    let src_paths = |soname: &str| -> Vec<String> {
        items
            .iter()
            .filter(|i| i["needed_as"] == soname)
            .flat_map(|i| [i["src"].as_str(), i["dest"].as_str()])
            .flatten()
            .map(str::to_string)
            .collect()
    };
    if fin_run.ok {
        let aside = tmp.path().join("aside");
        fs::create_dir_all(&aside).unwrap();
        for (n, item) in files.iter().enumerate() {
            let dest = item["dest"].as_str().unwrap();
            let src = item["src"].as_str().unwrap_or(dest);
            let needed_as = item["needed_as"].as_str().unwrap_or("");
            let here = inside(&fin, dest);
            let away = aside.join(n.to_string());
            fs::rename(&here, &away).unwrap();
            let r = run_app(&fin, spec, site);
            fs::rename(&away, &here).unwrap();
            let entry = if !r.ok {
                let m = r.message();
                messages.push((m.clone(), r.stderr.clone(), src_paths(needed_as)));
                json!({"file": dest, "needed_as": needed_as, "verdict": "breaks", "detail": m})
            } else if let Some(reason) = item["chain"][0]
                .as_str()
                .filter(|c| c.starts_with("data of Debian package"))
            {
                // Copied by the package-data rule (docs/trace.md), not
                // for a load: the app runs without a data file it does
                // not read, and the rule says which library it serves.
                json!({"file": dest, "needed_as": needed_as, "verdict": "package-data", "detail": reason})
            } else {
                match why_chain(&roots, src, &scope) {
                    Ok((count, chain)) => json!({
                        "file": dest, "needed_as": needed_as, "verdict": "chain",
                        "chains": count, "detail": chain,
                    }),
                    Err(e) => {
                        failures.push(format!(
                            "{dest}: the app runs without it and {e}: not needed?"
                        ));
                        json!({"file": dest, "needed_as": needed_as, "verdict": "unneeded", "detail": e})
                    }
                }
            };
            eprintln!(
                "[apps] {app}: without {dest}: {} — {}",
                entry["verdict"].as_str().unwrap(),
                entry["detail"].as_str().unwrap_or("")
            );
            minimality.push(entry);
        }
    }
    report["minimality"] = json!(minimality);
    let (soname_links, problems) = check_links(&items);
    report["links"] = json!({"needed": soname_links, "problems": problems});
    failures.extend(problems);

    // 6. The whole layer: the base plus only what `ldslim scan BUILDER
    // --emit copy=OUT` (default scope, default `--layer full`) writes, as a
    // Dockerfile's `COPY --from=builder /ldslim-out/ /` would lay it.
    report["full_layer"] = full_layer(app, spec, site, &roots, &accepted, &[], &mut failures);

    // 7. The layer pruned of every category (docs/layer.md), with the
    // app's own scope and code as the evidence of what it imports: it
    // still runs.
    let mut pruned: Vec<String> = scope.clone();
    pruned.push("--prune=tests,sources,stubs,build-tools,unused-stdlib".into());
    report["pruned_layer"] = full_layer(app, spec, site, &roots, &accepted, &pruned, &mut failures);

    // 5. The failure messages, explained.
    if !neg.ok {
        let so = missing_soname(&negative).unwrap_or_default();
        messages.insert(0, (negative.clone(), neg.stderr.clone(), src_paths(&so)));
    }
    match explain_available() {
        Err(why) => {
            report["explain"] = json!({"available": false, "detail": why});
            failures.push(format!(
                "the negative-control check needs `ldslim explain BUILDER -`, which this ldslim \
                 lacks ({why}); {} message(s) wait for it",
                messages.len()
            ));
        }
        Ok(()) => {
            let mut ok = 0;
            for (m, log, paths) in &messages {
                match check_explain(&roots.builder, m, log, paths) {
                    Ok(_) => ok += 1,
                    Err(e) => failures.push(e),
                }
            }
            report["explain"] = json!({"available": true, "messages": messages.len(), "ok": ok});
        }
    }

    finish(app, report, &failures, &fin_run, t_all);
}

/// Step 6: the app (and its console script, if it has one) in the base
/// plus the full layer and nothing else.
fn full_layer(
    app: &str,
    spec: &Spec,
    site: Site,
    roots: &Roots,
    accepted: &BTreeSet<String>,
    extra: &[String],
    failures: &mut Vec<String>,
) -> Value {
    let label = if extra.is_empty() {
        "full layer"
    } else {
        "pruned layer"
    };
    let tmp = tempfile::Builder::new()
        .prefix(&format!("ldslim-apps-{app}-full-"))
        .tempdir()
        .unwrap();
    let out = tmp.path().join("ldslim-out");
    let plan_path = tmp.path().join("plan.json");
    let mut args: Vec<String> = vec![
        "scan".into(),
        roots.builder.display().to_string(),
        "--target".into(),
        roots.target.display().to_string(),
        format!("--emit=copy={}", out.display()),
        format!("--emit=json={}", plan_path.display()),
    ];
    args.extend(extra.iter().cloned());
    // What the app's scope accepted; a pruned layer may no longer hold the
    // code of a call accepted by name (an unused --allow-runtime is only
    // a warning).
    for a in accepted {
        args.extend(["--allow-runtime".into(), a.clone()]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = Instant::now();
    let o = ldslim(&argv, None);
    let secs = t.elapsed().as_secs_f64();
    let v: Value = fs::read(&plan_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let verdict = v["plan"]["verdict"].clone();
    let mut result = json!({
        "command": format!("ldslim {}", args.join(" ")),
        "exit": o.code,
        "secs": secs,
        "verdict": verdict,
        "python_files": v["plan"]["layer"]["files"],
        "python_bytes": v["plan"]["layer"]["bytes"],
        "library_bytes": v["plan"]["bytes"],
        "pruned": v["plan"]["layer"]["pruned"],
    });
    // The whole builder's scope: other apps' run-time loads may be left
    // unverified (exit 1); nothing may fail.
    if o.code != Some(0) && !(o.code == Some(1) && verdict != json!("fails")) {
        failures.push(format!(
            "{label}: `ldslim {}` exited {:?}:\n{}",
            args.join(" "),
            o.code,
            o.stderr
        ));
        return result;
    }
    // Nothing of the base is replaced: every file and link of the layer is
    // new to it.
    let layer = rel_set(&out);
    let replaced: Vec<&String> = layer
        .iter()
        .filter(|p| {
            let at = inside(&roots.target, p);
            at.symlink_metadata()
                .is_ok_and(|m| !m.is_dir() || inside(&out, p).is_symlink())
        })
        .collect();
    if !replaced.is_empty() {
        failures.push(format!(
            "{label}: {} paths of the base would be replaced: {:?}",
            replaced.len(),
            &replaced[..replaced.len().min(10)]
        ));
    }
    let fin = tmp.path().join("final");
    common::cp_a(&roots.target, &fin);
    let st = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", out.display()))
        .arg(&fin)
        .status()
        .expect("cp runs");
    assert!(st.success(), "cp -a {}/. {}", out.display(), fin.display());
    // The application's own code, as a Dockerfile's `COPY main.py /app/`.
    let code = format!("/app/{app}");
    common::cp_a(&inside(&roots.builder, &code), &inside(&fin, &code));
    let _dev = DevMount::new(&fin);
    let mut runs = vec![("python", run_as(&fin, spec, site, false))];
    if spec.console.is_some() {
        runs.push(("console script", run_as(&fin, spec, site, true)));
    }
    for (how, r) in &runs {
        eprintln!("[apps] {app}: {label}, by {how}: {}", r.detail);
        result[*how] = json!({"ok": r.ok, "detail": r.detail});
        if !r.ok {
            failures.push(format!(
                "the app fails (started by {how}) in the base plus the {label}: {}\nstdout:\n{}\nstderr:\n{}",
                r.detail, r.stdout, r.stderr
            ));
        }
    }
    result
}

/// Record the result, rewrite the report, and fail with every failure.
fn finish(app: &str, mut report: Value, failures: &[String], last: &Outcome, t_all: Instant) {
    report["ok"] = json!(failures.is_empty());
    report["failures"] = json!(failures);
    report["secs"] = json!(t_all.elapsed().as_secs_f64());
    let dir = target_dir().join("apps");
    fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join(format!(".{app}.json.tmp"));
    fs::write(&tmp, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    fs::rename(&tmp, dir.join(format!("{app}.json"))).unwrap();
    write_report();
    if !failures.is_empty() {
        panic!(
            "{app}: {} failure(s):\n- {}\n(last run: stdout:\n{}\nstderr:\n{})",
            failures.len(),
            failures.join("\n- "),
            last.stdout,
            last.stderr
        );
    }
}

// ------------------------------------------------------------------ report

fn fmt_bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

/// target/apps-report.md from every target/apps/*.json present.
fn write_report() {
    let dir = target_dir().join("apps");
    let mut apps = Vec::new();
    for (name, _) in manifest() {
        if let Ok(bytes) = fs::read(dir.join(format!("{name}.json")))
            && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
        {
            apps.push(v);
        }
    }
    let fidelity: Option<Value> = fs::read(dir.join("fidelity.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| app | packages | result | emitted (files + links) | bytes added | removal breaks the app | only on a DT_NEEDED chain | without ldslim's files | explain | time |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for v in &apps {
        let e = &v["emitted"];
        let min = v["minimality"].as_array().cloned().unwrap_or_default();
        let count = |verdict: &str| min.iter().filter(|m| m["verdict"] == verdict).count();
        let breaks: Vec<&str> = min
            .iter()
            .filter(|m| m["verdict"] == "breaks")
            .filter_map(|m| m["needed_as"].as_str())
            .collect();
        let explain = match v["explain"]["available"].as_bool() {
            Some(true) => format!(
                "{}/{} ok",
                v["explain"]["ok"].as_u64().unwrap_or(0),
                v["explain"]["messages"].as_u64().unwrap_or(0)
            ),
            Some(false) => "n/a (no `explain`)".into(),
            None => "-".into(),
        };
        let result = if v["ok"] == true {
            "pass".to_string()
        } else if v["failures"]
            .as_array()
            .is_some_and(|f| f.len() == 1 && f[0].as_str().unwrap_or("").contains("ldslim explain"))
        {
            "pass, explain missing".to_string()
        } else {
            format!(
                "**FAIL** ({})",
                v["failures"].as_array().map_or(0, Vec::len)
            )
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} ({} + {}) | {} | {} {} | {}{} | `{}` | {} | {:.0} s |",
            v["app"].as_str().unwrap_or("?"),
            v["site"].as_str().unwrap_or("?"),
            result,
            e["paths"].as_u64().unwrap_or(0),
            e["files"].as_u64().unwrap_or(0),
            e["symlinks"].as_u64().unwrap_or(0),
            fmt_bytes(e["bytes"].as_u64().unwrap_or(0)),
            count("breaks"),
            if breaks.is_empty() {
                String::new()
            } else {
                format!("({})", breaks.join(", "))
            },
            count("chain"),
            match (count("package-data"), count("unneeded")) {
                (0, 0) => String::new(),
                (d, 0) => format!(", {d} package data"),
                (0, u) => format!(", **{u} unneeded**"),
                (d, u) => format!(", {d} package data, **{u} unneeded**"),
            },
            v["negative"]["message"]
                .as_str()
                .unwrap_or("-")
                .replace('|', "\\|"),
            explain,
            v["secs"].as_f64().unwrap_or(0.0),
        );
    }
    if let Some(f) = &fidelity {
        let _ = writeln!(
            s,
            "\nFidelity (tests/differential.rs over the apps root, `ldslim ldd` vs glibc's loader): \
             {} ELF objects, {} agree, {} disagree{}.",
            f["objects"],
            f["agree"],
            f["disagree"],
            if f["ok"] == true { "" } else { " — **FAIL**" }
        );
    }
    for v in &apps {
        let _ = writeln!(s, "\n### {}\n", v["app"].as_str().unwrap_or("?"));
        let _ = writeln!(
            s,
            "Scope: `{}`; in the builder: {}; in the final image: {}. \
             Emitted symlinks: {} named as a DT_NEEDED asks (or a hop from such a name to the file).\n",
            v["scope"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "))
                .unwrap_or_default(),
            v["builder_run"]["detail"].as_str().unwrap_or("-"),
            v["final_run"]["detail"].as_str().unwrap_or("-"),
            v["links"]["needed"].as_u64().unwrap_or(0),
        );
        for m in v["minimality"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "- `{}` ({}): {} — {}",
                m["file"].as_str().unwrap_or("?"),
                m["needed_as"].as_str().unwrap_or("?"),
                match m["verdict"].as_str() {
                    Some("breaks") => "removing it breaks the app",
                    Some("chain") => "the app runs without it; `ldslim why`",
                    Some("package-data") => "the app runs without it; the package-data rule",
                    _ => "**not shown to be needed**",
                },
                m["detail"].as_str().unwrap_or("")
            );
        }
        for f in v["failures"].as_array().into_iter().flatten() {
            let first = f.as_str().unwrap_or("").lines().next().unwrap_or("");
            let _ = writeln!(s, "- failure: {first}");
        }
    }
    let path = target_dir().join("apps-report.md");
    let tmp = target_dir().join(format!(".apps-report.md.{}", std::process::id()));
    let text = format!(
        "# ldslim on six real applications\n\n\
         Generated by tests/apps.rs (scripts/e2e-apps.sh). Builder: `{}`; base: `{}`.\n\n{s}",
        apps.first()
            .and_then(|v| v["builder"].as_str())
            .unwrap_or("-"),
        apps.first()
            .and_then(|v| v["target"].as_str())
            .unwrap_or("-"),
    );
    if fs::write(&tmp, text).is_ok() {
        let _ = fs::rename(&tmp, &path);
    }
}

// ------------------------------------------------------------------ tests

#[test]
#[ignore = "needs root and the apps root; run scripts/test.sh or scripts/e2e-apps.sh"]
fn app_hello() {
    run_app_test("hello");
}

#[test]
#[ignore = "needs root and the apps root; run scripts/test.sh or scripts/e2e-apps.sh"]
fn app_flask_gunicorn() {
    run_app_test("flask");
}

#[test]
#[ignore = "needs root and the apps root; run scripts/test.sh or scripts/e2e-apps.sh"]
fn app_fastapi_uvicorn() {
    run_app_test("fastapi");
}

#[test]
#[ignore = "needs root and the apps root; run scripts/test.sh or scripts/e2e-apps.sh"]
fn app_pandas() {
    run_app_test("pandas");
}

#[test]
#[ignore = "needs root and the apps root; run scripts/test.sh or scripts/e2e-apps.sh"]
fn app_pubsub() {
    run_app_test("pubsub");
}

#[test]
#[ignore = "needs root and the apps root; run scripts/test.sh or scripts/e2e-apps.sh"]
fn app_kubernetes() {
    run_app_test("kubernetes");
}

/// The core's differential test (tests/differential.rs), its own compiled
/// binary, over the apps root: every ELF object there, `ldslim ldd` against
/// glibc's loader under chroot. It runs in a private mount namespace where
/// target/differential-report.txt is bound to target/apps-differential-report.txt,
/// so that it never overwrites the report of the differential test proper,
/// which may be running at the same time.
#[test]
#[ignore = "needs root and the apps root; run scripts/test.sh or scripts/e2e-apps.sh"]
fn apps_root_matches_glibc() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "needs root (chroot, mount namespace)"
    );
    let builder = builder_root();
    let t0 = Instant::now();
    let bin = sibling_test_binary("differential");
    let shared = target_dir().join("differential-report.txt");
    let private = target_dir().join("apps-differential-report.txt");
    fs::write(&private, "").unwrap();
    if !shared.exists() {
        let _ = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&shared);
    }
    let src = CString::new(private.as_os_str().as_bytes()).unwrap();
    let dst = CString::new(shared.as_os_str().as_bytes()).unwrap();
    let mut cmd = Command::new(&bin);
    cmd.args([
        "--ignored",
        "--exact",
        "differential_ldd_matches_glibc",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("LDSLIM_E2E_ROOT", builder)
    .env("LDSLIM_BIN", ldslim_bin())
    .stdin(Stdio::null());
    // SAFETY: unshare and mount are system calls; the CStrings are made
    // before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                || libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    eprintln!(
        "[apps] differential test over {} ({})",
        builder.display(),
        bin.display()
    );
    let o = cmd.output().expect("the differential test binary runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.trim().parse().ok())
    };
    let (objects, agree, disagree) = (field("ELF objects:"), field("agree:"), field("disagree:"));
    let ok = o.status.success() && objects.is_some() && disagree == Some(0);
    let dir = target_dir().join("apps");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("fidelity.json"),
        serde_json::to_string_pretty(&json!({
            "root": builder, "objects": objects, "agree": agree, "disagree": disagree,
            "ok": ok, "secs": t0.elapsed().as_secs_f64(),
            "report": private,
        }))
        .unwrap(),
    )
    .unwrap();
    write_report();
    eprintln!(
        "[apps] fidelity: {objects:?} ELF objects, {agree:?} agree, {disagree:?} disagree ({:.0} s; {})",
        t0.elapsed().as_secs_f64(),
        private.display()
    );
    assert!(
        ok,
        "the differential test over the apps root failed ({}):\n{}",
        o.status,
        text.lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Another integration-test binary of this crate, built by the same cargo
/// run: `<deps dir>/<name>-<hash>`, the newest if several.
fn sibling_test_binary(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("current_exe");
    let deps = me.parent().expect("the test binary's directory");
    let prefix = format!("{name}-");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(deps)
        .expect("read the deps directory")
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&prefix)
                && n[prefix.len()..].chars().all(|c| c.is_ascii_hexdigit())
                && e.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p).unwrap_or_else(|| {
        panic!(
            "no {name} test binary next to {}: build it with `cargo test --no-run --test {name}` \
             (scripts/test.sh and scripts/e2e-apps.sh do)",
            me.display()
        )
    })
}

#[test]
fn messages_name_the_missing_library() {
    assert_eq!(
        missing_soname(
            "/usr/bin/python3: error while loading shared libraries: libz.so.1: cannot open shared object file: No such file or directory"
        )
        .as_deref(),
        Some("libz.so.1")
    );
    assert_eq!(
        missing_soname(
            "ImportError: libffi.so.8: cannot open shared object file: No such file or directory"
        )
        .as_deref(),
        Some("libffi.so.8")
    );
    assert_eq!(
        missing_soname("ModuleNotFoundError: No module named 'x'"),
        None
    );
    assert_eq!(
        message_of("Traceback (most recent call last):\n  File \"x\"\nImportError: libbz2.so.1.0: cannot open shared object file: No such file or directory\n").as_deref(),
        Some("ImportError: libbz2.so.1.0: cannot open shared object file: No such file or directory")
    );
    // Every app of the manifest has a spec, and the other way round.
    let names: BTreeSet<String> = manifest().into_iter().map(|(n, _)| n).collect();
    let specs: BTreeSet<String> = SPECS.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, specs);
}

#[test]
fn links_are_needed_names_or_hops() {
    let item = |dest: &str, kind: Value, needed: &str| json!({"dest": dest, "kind": kind, "needed_as": needed});
    let link = |to: &str| json!({"type": "symlink", "target": to});
    let file = json!({"type": "file", "mode": 420, "size": 1});
    let items = vec![
        item("/usr/lib/libz.so.1", link("libz.so.1.2.13"), "libz.so.1"),
        item("/usr/lib/libz.so.1.2.13", file.clone(), "libz.so.1"),
        item(
            "/usr/lib/liba.so.1",
            link("../lib/liba.so.1.0"),
            "liba.so.1",
        ),
        item("/usr/lib/liba.so.1.0", link("liba.so.1.0.0"), "liba.so.1"),
        item("/usr/lib/liba.so.1.0.0", file, "liba.so.1"),
        item("/usr/lib/libextra.so", link("libz.so.1.2.13"), "libz.so.1"),
    ];
    let (used, problems) = check_links(&items);
    assert_eq!(used, 3);
    assert_eq!(
        problems,
        vec![
            "/usr/lib/libextra.so is a symlink that is neither a needed name nor on the way from one to a file"
        ]
    );
}
