//! `ldslim trace`: run a command (the application's smoke test) and record
//! what its processes really open — the shared objects the loader maps,
//! `dlopen`ed ones included, the regular files they read, the directories
//! they list and the programs they execute — as paths inside the root, in
//! a versioned JSON file that `scan --trace` merges into the plan.
//!
//! The mechanism and its limits: `trace/tracer.rs` and docs/trace.md.

mod filter;
mod tracer;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CString, OsString};
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::elf::consts::ET_DYN;

pub use tracer::{Ending, StartError};

/// The `schema` of a trace file.
pub const SCHEMA: &str = "ldslim.trace/1";

/// What to run and where.
#[derive(Clone, Debug, Default)]
pub struct TraceOptions {
    /// The command and its arguments.
    pub command: Vec<OsString>,
    /// Run it `chroot`ed into this directory (needs root); paths are
    /// recorded inside it. `None`: on the running system.
    pub root: Option<PathBuf>,
    /// Run it as this user and group (numbers).
    pub user: Option<(u32, u32)>,
}

/// A trace, as written to its JSON file (docs/json.md, `ldslim.trace/1`).
/// Every list is sorted; nothing depends on process ids or timing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub schema: String,
    /// The command traced, as given.
    pub command: Vec<String>,
    /// `--root` as given; `None` for the running system.
    pub root: Option<String>,
    /// `--user` as given (`UID:GID`).
    pub user: Option<String>,
    /// The machine the command ran on (`uname -m` of ldslim's build).
    pub machine: String,
    /// How the command ended: `{"code": N}` or `{"signal": N}`.
    pub exit: Exit,
    /// Processes and threads seen, the command's own included.
    pub tasks: usize,
    /// The distinct command lines that ran (each process's
    /// `/proc/PID/cmdline`, at most 200 characters).
    pub commands: Vec<String>,
    /// ELF shared objects opened (`ET_DYN`: libraries, extension modules,
    /// plugins), whoever opened them.
    pub objects: Vec<Opened>,
    /// Other regular files opened for reading.
    pub files: Vec<Opened>,
    /// Directories opened (listed).
    pub directories: Vec<Opened>,
    /// Programs executed.
    pub executables: Vec<Opened>,
    /// Paths opened outside the root (e.g. `/proc` of the host when it is
    /// not mounted in the root): not part of the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<String>,
}

/// How the traced command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// As a shell reports it: the code, or 128 + the signal.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// One file the command opened.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Opened {
    /// What was opened: its path inside the root, no symlink in it.
    pub path: String,
    /// Other paths the processes gave for it (through symlinks, relative
    /// paths), inside the root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opened_as: Vec<String>,
    /// The command lines that opened it (indices are not stable across
    /// runs; the lines are).
    pub by: Vec<String>,
}

/// Why a trace could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("no command to trace")]
    NoCommand,
    #[error("--root {0}: {1}")]
    Root(PathBuf, std::io::Error),
    #[error("a command argument contains a NUL byte")]
    Nul,
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the tracer thread panicked")]
    TracerPanicked,
}

/// Run the command under the tracer and gather what it opened.
pub fn run(opts: &TraceOptions) -> Result<Trace, TraceError> {
    let Some(program) = opts.command.first() else {
        return Err(TraceError::NoCommand);
    };
    let root = match &opts.root {
        Some(r) => Some(std::fs::canonicalize(r).map_err(|e| TraceError::Root(r.clone(), e))?),
        None => None,
    };
    let cstr = |b: &[u8]| CString::new(b).map_err(|_| TraceError::Nul);
    let argv = opts
        .command
        .iter()
        .map(|a| cstr(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let candidates = candidates(program)
        .iter()
        .map(|p| cstr(p.as_os_str().as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let spawn = tracer::Spawn {
        candidates,
        argv,
        root: match &root {
            Some(r) => Some(cstr(r.as_os_str().as_bytes())?),
            None => None,
        },
        user: opts.user,
    };
    let shown = opts
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    // Rendered as the tracer renders `/proc/PID/cmdline`, so the
    // command's own line is one line, not two.
    let mut nul_joined = Vec::new();
    for a in &opts.command {
        nul_joined.extend_from_slice(a.as_bytes());
        nul_joined.push(0);
    }
    // The tracer gets a thread of its own: with --user it takes the
    // user's credentials, and this thread keeps its own to write the
    // trace wherever it was asked to.
    let line = tracer::render(&nul_joined);
    let host_root = root.clone();
    let outcome = std::thread::scope(|s| {
        s.spawn(|| tracer::run(&spawn, host_root, line))
            .join()
            .map_err(|_| TraceError::TracerPanicked)
    })??;
    Ok(gather(opts, root.as_deref(), shown, outcome))
}

/// Where `execvp` would look for `program`: itself when it names a path,
/// else each `$PATH` directory (glibc's default path when unset).
fn candidates(program: &OsString) -> Vec<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return vec![PathBuf::from(program)];
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"))
        .into_vec();
    path.split(|b| *b == b':')
        .map(|d| {
            let d = if d.is_empty() { b".".as_slice() } else { d };
            PathBuf::from(OsString::from_vec(d.to_vec())).join(program)
        })
        .collect()
}

/// What kind of file a traced path is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    File,
    Directory,
    Executable,
}

#[derive(Default)]
struct Seen {
    opened_as: BTreeSet<String>,
    by: BTreeSet<usize>,
}

fn gather(
    opts: &TraceOptions,
    root: Option<&Path>,
    command: Vec<String>,
    out: tracer::Outcome,
) -> Trace {
    let mut seen: BTreeMap<(String, bool), Seen> = BTreeMap::new();
    let mut outside = BTreeSet::new();
    let view = crate::rootfs::Root::new(root.unwrap_or(Path::new("/"))).ok();
    for raw in &out.opened {
        let Some(real) = &raw.real else { continue };
        let Some(path) = inside(root, real) else {
            if real.is_absolute() {
                outside.insert(real.display().to_string());
            }
            continue;
        };
        let asked = raw.asked.as_deref().and_then(|a| inside(root, a));
        // An executed script: the kernel runs its `#!` interpreter, which
        // `/proc/PID/exe` names; the script is an executable of its own.
        if raw.exec
            && let Some(a) = &asked
            && let Some(script) = canonical(&view, a)
            && script != path
        {
            let e = seen.entry((script.clone(), true)).or_default();
            e.by.insert(raw.by);
            if *a != script {
                e.opened_as.insert(a.clone());
            }
            seen.entry((path, true)).or_default().by.insert(raw.by);
            continue;
        }
        let e = seen.entry((path.clone(), raw.exec)).or_default();
        e.by.insert(raw.by);
        if let Some(asked) = asked
            && asked != path
        {
            e.opened_as.insert(asked);
        }
    }
    let host_root = root.unwrap_or(Path::new("/"));
    let mut lists: BTreeMap<u8, Vec<Opened>> = BTreeMap::new();
    for ((path, exec), s) in seen {
        let host = host_root.join(path.trim_start_matches('/'));
        let kind = if exec {
            Some(Kind::Executable)
        } else {
            kind_of(&host)
        };
        let Some(kind) = kind else { continue };
        let mut by: Vec<String> = s.by.iter().map(|i| out.commands[*i].clone()).collect();
        by.sort();
        by.dedup();
        lists.entry(kind as u8).or_default().push(Opened {
            path,
            opened_as: s.opened_as.into_iter().collect(),
            by,
        });
    }
    let mut take = |k: Kind| lists.remove(&(k as u8)).unwrap_or_default();
    let mut commands = out.commands.clone();
    commands.sort();
    commands.dedup();
    Trace {
        schema: SCHEMA.into(),
        command,
        root: opts.root.as_ref().map(|r| r.display().to_string()),
        user: opts.user.map(|(u, g)| format!("{u}:{g}")),
        machine: std::env::consts::ARCH.into(),
        exit: match out.ending {
            Ending::Code(c) => Exit::Code(c),
            Ending::Signal(s) => Exit::Signal(s),
        },
        tasks: out.tasks,
        commands,
        objects: take(Kind::Object),
        files: take(Kind::File),
        directories: take(Kind::Directory),
        executables: take(Kind::Executable),
        outside: outside.into_iter().collect(),
    }
}

/// A host path as a path inside the root, `.` components and repeated
/// slashes dropped (`..` kept: it may cross a symlink). `None` outside the
/// root, or for what is not a path (`pipe:[…]`, a deleted file).
fn inside(root: Option<&Path>, host: &Path) -> Option<String> {
    if !host.is_absolute() || host.as_os_str().as_bytes().ends_with(b" (deleted)") {
        return None;
    }
    let rel = match root {
        Some(r) => host.strip_prefix(r).ok()?,
        None => host.strip_prefix("/").ok()?,
    };
    let mut out = String::new();
    for c in rel.components() {
        match c {
            Component::Normal(n) => {
                out.push('/');
                out.push_str(&n.to_string_lossy());
            }
            Component::ParentDir => out.push_str("/.."),
            _ => {}
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// `path` with every symlink resolved inside the root, as the traced
/// process saw it (never through the host's `/`).
fn canonical(view: &Option<crate::rootfs::Root>, path: &str) -> Option<String> {
    let r = view.as_ref()?.resolve(Path::new(path)).ok()??;
    Some(r.path.display().to_string())
}

/// An opened path's kind, read now: a shared object is a regular file
/// whose ELF header says `ET_DYN`; devices, pipes and sockets are none.
// The header is the root's, so hostile: the compiler checks that nothing
// here can panic on it.
#[deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
fn kind_of(host: &Path) -> Option<Kind> {
    let md = std::fs::metadata(host).ok()?;
    if md.is_dir() {
        return Some(Kind::Directory);
    }
    if !md.is_file() {
        return None;
    }
    let mut head = [0u8; 18];
    let is_dyn = std::fs::File::open(host)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head[..4] == *b"\x7fELF"
        && match head[5] {
            1 => u16::from_le_bytes([head[16], head[17]]) == ET_DYN,
            2 => u16::from_be_bytes([head[16], head[17]]) == ET_DYN,
            _ => false,
        };
    Some(if is_dyn { Kind::Object } else { Kind::File })
}

/// Read a trace file written by `ldslim trace`.
// A trace file can come from anywhere: the compiler checks that nothing
// here can panic on it.
#[deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
pub fn read(path: &Path) -> Result<Trace, ReadError> {
    let text = std::fs::read(path).map_err(ReadError::Io)?;
    let t: Trace = serde_json::from_slice(&text).map_err(ReadError::Json)?;
    if t.schema != SCHEMA {
        return Err(ReadError::Schema(t.schema));
    }
    Ok(t)
}

/// Why a trace file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(std::io::Error),
    #[error("not a trace file: {0}")]
    Json(serde_json::Error),
    #[error("schema {0:?} is not {SCHEMA:?} (written by another version of ldslim?)")]
    Schema(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_root() {
        let r = Some(Path::new("/srv/root"));
        assert_eq!(
            inside(r, Path::new("/srv/root/usr/lib/x")).as_deref(),
            Some("/usr/lib/x")
        );
        assert_eq!(inside(r, Path::new("/srv/root")).as_deref(), Some("/"));
        assert_eq!(inside(r, Path::new("/srv/rootx/a")), None);
        assert_eq!(inside(r, Path::new("/etc/passwd")), None);
        assert_eq!(
            inside(None, Path::new("/a/./b//c/../d")).as_deref(),
            Some("/a/b/c/../d")
        );
        assert_eq!(inside(None, Path::new("/tmp/x (deleted)")), None);
        assert_eq!(inside(None, Path::new("pipe:[123]")), None);
    }

    #[test]
    fn commands_are_found_like_execvp() {
        assert_eq!(candidates(&"./x".into()), vec![PathBuf::from("./x")]);
        let c = candidates(&"python3".into());
        assert!(c.iter().all(|p| p.ends_with("python3")), "{c:?}");
    }
}
