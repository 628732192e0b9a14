//! Running one command under ptrace and seeing each file its processes
//! open or execute: the command's process and every process or thread it
//! starts (`PTRACE_O_TRACEFORK|VFORK|CLONE`), stopped only at the calls of
//! [`super::filter`].
//!
//! Why ptrace with a seccomp filter: it needs no capability beyond being
//! the parent of the traced process (no `CAP_SYS_ADMIN`, no
//! `CAP_SYS_PTRACE`), Docker's default seccomp profile allows `ptrace`,
//! `seccomp` and `process_vm_readv` (kernel ≥ 4.8), it sees `dlopen` and
//! plain `open` alike in every process of the tree, and the filter keeps
//! the cost to two stops per open. An `LD_AUDIT` module would see only the
//! loader's opens and needs a shared object on disk; fanotify needs
//! `CAP_SYS_ADMIN`.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::filter;

/// How to start the command.
pub(super) struct Spawn {
    /// Paths to try in order (the command, or `$PATH` entries joined
    /// with it), as the child sees them.
    pub candidates: Vec<CString>,
    pub argv: Vec<CString>,
    /// The host directory the child `chroot`s into.
    pub root: Option<CString>,
    pub user: Option<(u32, u32)>,
}

/// One file a traced process opened for reading or executed, as the
/// tracer saw it (host paths).
pub(super) struct Raw {
    /// The path the process gave, made absolute on the host (relative
    /// ones joined to the process's directory of the call).
    pub asked: Option<PathBuf>,
    /// What the kernel opened (`/proc/PID/fd/N` or `/proc/PID/exe`).
    pub real: Option<PathBuf>,
    pub exec: bool,
    /// Index into [`Outcome::commands`] of the process's command line.
    pub by: usize,
}

/// How the command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Code(i32),
    Signal(i32),
}

pub(super) struct Outcome {
    pub opened: Vec<Raw>,
    pub commands: Vec<String>,
    pub ending: Ending,
    /// Processes and threads seen, the command's included.
    pub tasks: usize,
}

/// Why the command could not be started under the tracer.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{step}: {source}")]
    Setup {
        step: &'static str,
        source: io::Error,
    },
    #[error("cannot start the command: {step}: {source}")]
    Child { step: String, source: io::Error },
}

/// One system call stopped at its entry, waiting for its result.
struct Pending {
    asked: Option<PathBuf>,
    exec: bool,
}

struct Task {
    by: usize,
    pending: Option<Pending>,
}

/// Start the command stopped, trace it and everything it starts until
/// the last of them ends. Runs on the calling thread, which becomes the
/// tracer: with `spawn.user`, that thread alone takes the user's
/// credentials (ptrace and `/proc` allow a process of the same user
/// without `CAP_SYS_PTRACE`), the rest of the process keeps its own.
pub(super) fn run(
    spawn: &Spawn,
    root: Option<PathBuf>,
    command: String,
) -> Result<Outcome, StartError> {
    let setup = |step| move |source| StartError::Setup { step, source };
    let prog = filter::program();
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    let mut argv: Vec<*const libc::c_char> = spawn.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut pipe = [0; 2];
    // SAFETY: a plain pipe2 call on a two-int array.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(setup("pipe")(io::Error::last_os_error()));
    }
    // SAFETY: the child runs only async-signal-safe calls (no allocation:
    // everything it uses was built above) and leaves by exec or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        close(pipe[0]);
        close(pipe[1]);
        return Err(setup("fork")(e));
    }
    if pid == 0 {
        close(pipe[0]);
        child(spawn, &fprog, &argv, pipe[1]);
    }
    close(pipe[1]);
    let result = trace(pid, spawn.user, root, command);
    let failed = read_failure(pipe[0]);
    close(pipe[0]);
    match failed {
        Some(e) => Err(e),
        None => result,
    }
}

fn close(fd: libc::c_int) {
    // SAFETY: closing a descriptor this function owns.
    unsafe { libc::close(fd) };
}

/// The child: into the root, the user, under the tracer and its filter,
/// then the command. A failing step writes its name and errno to `err`
/// (close-on-exec: a successful exec leaves it empty).
fn child(
    spawn: &Spawn,
    fprog: &libc::sock_fprog,
    argv: &[*const libc::c_char],
    err: libc::c_int,
) -> ! {
    fn fail(err: libc::c_int, step: &[u8]) -> ! {
        // SAFETY: async-signal-safe calls on memory of this frame.
        unsafe {
            let errno = *libc::__errno_location();
            let mut buf = [0u8; 64];
            let n = step.len().min(48);
            buf[..n].copy_from_slice(&step[..n]);
            buf[n] = 0;
            buf[n + 1..n + 5].copy_from_slice(&errno.to_ne_bytes());
            libc::write(err, buf.as_ptr().cast(), n + 5);
            libc::_exit(127);
        }
    }
    // SAFETY: system calls on values prepared before the fork.
    unsafe {
        if let Some(root) = &spawn.root {
            if libc::chroot(root.as_ptr()) != 0 {
                fail(err, b"chroot");
            }
            if libc::chdir(c"/".as_ptr()) != 0 {
                fail(err, b"chdir /");
            }
        }
        if let Some((uid, gid)) = spawn.user {
            if libc::setgroups(0, std::ptr::null()) != 0 {
                fail(err, b"setgroups");
            }
            if libc::setgid(gid) != 0 {
                fail(err, b"setgid");
            }
            if libc::setuid(uid) != 0 {
                fail(err, b"setuid");
            }
        }
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
            fail(err, b"ptrace(PTRACE_TRACEME)");
        }
        // The tracer sets its options (seccomp stops among them) before
        // the filter exists: a filter asking for a tracer that is not
        // there yet would fail every open with ENOSYS.
        libc::raise(libc::SIGSTOP);
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail(err, b"prctl(PR_SET_NO_NEW_PRIVS)");
        }
        if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, fprog) != 0 {
            fail(err, b"prctl(PR_SET_SECCOMP)");
        }
        let mut last = b"execve: command not found".as_slice();
        for c in &spawn.candidates {
            libc::execv(c.as_ptr(), argv.as_ptr());
            let e = *libc::__errno_location();
            if e != libc::ENOENT && e != libc::ENOTDIR {
                last = b"execve";
            }
        }
        if last.starts_with(b"execve: command") {
            *libc::__errno_location() = libc::ENOENT;
        }
        fail(err, last)
    }
}

fn read_failure(fd: libc::c_int) -> Option<StartError> {
    let mut buf = [0u8; 64];
    // SAFETY: reading into a local buffer.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 5 {
        return None;
    }
    let n = n as usize;
    let step = String::from_utf8_lossy(&buf[..n - 5]).into_owned();
    let errno = i32::from_ne_bytes(buf[n - 4..n].try_into().ok()?);
    Some(StartError::Child {
        step,
        source: io::Error::from_raw_os_error(errno),
    })
}

fn ptrace(req: libc::c_uint, pid: i32, addr: usize, data: usize) -> i64 {
    // SAFETY: requests on a tracee of this thread; `addr`/`data` are
    // values or pointers to live locals as each request requires.
    unsafe { libc::ptrace(req, pid, addr, data) }
}

fn resume(pid: i32, sig: i32) {
    ptrace(libc::PTRACE_CONT, pid, 0, sig as usize);
}

/// Credentials of this thread only (raw system calls: glibc's wrappers
/// would change every thread of the process).
fn become_user(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: credential system calls with integer arguments.
    unsafe {
        if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
            || libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0
            || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn trace(
    main: i32,
    user: Option<(u32, u32)>,
    root: Option<PathBuf>,
    command: String,
) -> Result<Outcome, StartError> {
    let mut status = 0;
    // SAFETY: waiting for this thread's child.
    let w = unsafe { libc::waitpid(main, &mut status, libc::__WALL) };
    if w != main || !libc::WIFSTOPPED(status) {
        // The child failed before its stop; the pipe says why.
        return Ok(Outcome {
            opened: Vec::new(),
            commands: vec![command],
            ending: ending(status),
            tasks: 1,
        });
    }
    let opts = libc::PTRACE_O_TRACESECCOMP
        | libc::PTRACE_O_TRACESYSGOOD
        | libc::PTRACE_O_TRACEFORK
        | libc::PTRACE_O_TRACEVFORK
        | libc::PTRACE_O_TRACECLONE
        | libc::PTRACE_O_TRACEEXEC
        | libc::PTRACE_O_EXITKILL;
    if ptrace(libc::PTRACE_SETOPTIONS, main, 0, opts as usize) != 0 {
        let e = io::Error::last_os_error();
        // SAFETY: killing this thread's child.
        unsafe { libc::kill(main, libc::SIGKILL) };
        return Err(StartError::Setup {
            step: "ptrace(PTRACE_SETOPTIONS)",
            source: e,
        });
    }
    if let Some((uid, gid)) = user
        && let Err(e) = become_user(uid, gid)
    {
        // SAFETY: as above.
        unsafe { libc::kill(main, libc::SIGKILL) };
        return Err(StartError::Setup {
            step: "taking the user's credentials for the tracer",
            source: e,
        });
    }
    let mut t = Tracer {
        opened: Vec::new(),
        commands: vec![command],
        index: HashMap::new(),
        tasks: HashMap::new(),
        inherit: HashMap::new(),
        seen: 1,
        root,
    };
    t.index.insert(t.commands[0].clone(), 0);
    t.tasks.insert(
        main,
        Task {
            by: 0,
            pending: None,
        },
    );
    resume(main, 0);
    let mut end = Ending::Code(0);
    loop {
        let mut status = 0;
        // SAFETY: waiting for any tracee of this thread.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
        if pid < 0 {
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                _ => break, // ECHILD: every traced process has ended.
            }
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            if pid == main {
                end = ending(status);
            }
            t.tasks.remove(&pid);
            continue;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        t.stop(pid, status);
    }
    Ok(Outcome {
        opened: t.opened,
        commands: t.commands,
        ending: end,
        tasks: t.seen,
    })
}

fn ending(status: i32) -> Ending {
    if libc::WIFSIGNALED(status) {
        Ending::Signal(libc::WTERMSIG(status))
    } else {
        Ending::Code(libc::WEXITSTATUS(status))
    }
}

struct Tracer {
    opened: Vec<Raw>,
    commands: Vec<String>,
    index: HashMap<String, usize>,
    tasks: HashMap<i32, Task>,
    /// New tasks announced by their parent's event before their first
    /// stop: the command they start with.
    inherit: HashMap<i32, usize>,
    seen: usize,
    /// The host directory the command was chrooted into: absolute paths
    /// the processes give are below it.
    root: Option<PathBuf>,
}

impl Tracer {
    fn stop(&mut self, pid: i32, status: i32) {
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if !self.tasks.contains_key(&pid) {
            // A new process or thread: its first stop is the SIGSTOP
            // the kernel sends it, not a signal to deliver.
            self.seen += 1;
            let by = self.inherit.remove(&pid).unwrap_or(0);
            self.tasks.insert(pid, Task { by, pending: None });
            if sig == libc::SIGSTOP && event == 0 {
                resume(pid, 0);
                return;
            }
        }
        match event {
            libc::PTRACE_EVENT_SECCOMP => self.entry(pid),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                let mut child: libc::c_ulong = 0;
                ptrace(
                    libc::PTRACE_GETEVENTMSG,
                    pid,
                    0,
                    &mut child as *mut _ as usize,
                );
                let by = self.tasks.get(&pid).map_or(0, |t| t.by);
                match self.tasks.get_mut(&(child as i32)) {
                    Some(t) => t.by = by,
                    None => {
                        self.inherit.insert(child as i32, by);
                    }
                }
                resume(pid, 0);
            }
            libc::PTRACE_EVENT_EXEC => {
                self.exec(pid);
                resume(pid, 0);
            }
            0 if sig == (libc::SIGTRAP | 0x80) => {
                self.exit(pid);
                resume(pid, 0);
            }
            0 => {
                // A signal for the process: deliver it, unless this is a
                // group stop (no siginfo), which a resume ends.
                let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::uninit();
                let group =
                    ptrace(libc::PTRACE_GETSIGINFO, pid, 0, info.as_mut_ptr() as usize) != 0;
                resume(pid, if group { 0 } else { sig });
            }
            _ => resume(pid, 0),
        }
    }

    /// A traced call's entry: note the path it asks for, then stop again
    /// at its exit for the result.
    fn entry(&mut self, pid: i32) {
        let Some(regs) = regs::read(pid) else {
            resume(pid, 0);
            return;
        };
        let (nr, a) = (regs::nr(&regs), regs::args(&regs));
        let (dirfd, path, flags, exec) = match nr {
            #[cfg(target_arch = "x86_64")]
            libc::SYS_open => (libc::AT_FDCWD, a[0], a[1] as i64, false),
            libc::SYS_openat => (a[0] as i32, a[1], a[2] as i64, false),
            libc::SYS_openat2 => {
                // `struct open_how` starts with its u64 flags.
                let flags = read_mem(pid, a[2] as usize, 8)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_ne_bytes);
                (a[0] as i32, a[1], flags as i64, false)
            }
            libc::SYS_execve => (libc::AT_FDCWD, a[0], 0, true),
            libc::SYS_execveat => (a[0] as i32, a[1], 0, true),
            _ => {
                resume(pid, 0);
                return;
            }
        };
        let reading = flags & libc::O_ACCMODE as i64 == libc::O_RDONLY as i64
            && flags & libc::O_PATH as i64 == 0;
        if !exec && !reading {
            resume(pid, 0);
            return;
        }
        let asked =
            read_cstr(pid, path as usize).map(|p| absolute(pid, dirfd, p, self.root.as_deref()));
        if let Some(task) = self.tasks.get_mut(&pid) {
            task.pending = Some(Pending { asked, exec });
        }
        ptrace(libc::PTRACE_SYSCALL, pid, 0, 0);
    }

    /// A traced call's exit: an open that succeeded is recorded with
    /// what the kernel opened.
    fn exit(&mut self, pid: i32) {
        let Some(task) = self.tasks.get_mut(&pid) else {
            return;
        };
        let Some(p) = task.pending.take() else { return };
        if p.exec {
            return; // A successful exec was recorded at its event.
        }
        let Some(regs) = regs::read(pid) else { return };
        let fd = regs::ret(&regs);
        if fd < 0 {
            return;
        }
        let real = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok();
        let by = task.by;
        self.opened.push(Raw {
            asked: p.asked,
            real,
            exec: false,
            by,
        });
    }

    /// A successful exec: the task runs a new command line.
    fn exec(&mut self, pid: i32) {
        let mut former: libc::c_ulong = 0;
        ptrace(
            libc::PTRACE_GETEVENTMSG,
            pid,
            0,
            &mut former as *mut _ as usize,
        );
        // A thread other than the leader exec'd: it now has the leader's
        // id, and its pending call moves with it.
        let former = former as i32;
        let mut pending = None;
        if former != pid
            && let Some(t) = self.tasks.remove(&former)
        {
            pending = t.pending;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let line = render(&cmdline);
        let by = match self.index.get(&line) {
            Some(i) => *i,
            None => {
                self.commands.push(line.clone());
                self.index.insert(line, self.commands.len() - 1);
                self.commands.len() - 1
            }
        };
        let task = self.tasks.entry(pid).or_insert(Task { by, pending: None });
        let pending = pending.or_else(|| task.pending.take());
        task.by = by;
        task.pending = None;
        let real = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        self.opened.push(Raw {
            asked: pending.and_then(|p| p.asked),
            real,
            exec: true,
            by,
        });
    }
}

/// A command line (`/proc/PID/cmdline`: NUL-separated) as one line:
/// arguments joined by spaces, line breaks and tabs as spaces, at most
/// 200 characters.
pub(super) fn render(cmdline: &[u8]) -> String {
    let line = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).replace(['\n', '\t', '\r'], " "))
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > 200 {
        let mut s: String = line.chars().take(199).collect();
        s.push('…');
        s
    } else {
        line
    }
}

/// A path the process gave, absolute on the host: a relative one is
/// joined to the directory of `dirfd` (or the working directory).
fn absolute(pid: i32, dirfd: i32, path: Vec<u8>, root: Option<&Path>) -> PathBuf {
    let p = PathBuf::from(OsStr::from_bytes(&path));
    if let Ok(inside) = p.strip_prefix("/") {
        return match root {
            Some(r) => r.join(inside),
            None => p,
        };
    }
    let base = if dirfd == libc::AT_FDCWD {
        format!("/proc/{pid}/cwd")
    } else {
        format!("/proc/{pid}/fd/{dirfd}")
    };
    match std::fs::read_link(base) {
        Ok(b) if path.is_empty() => b,
        Ok(b) => b.join(p),
        Err(_) => p,
    }
}

/// A NUL-terminated string of the tracee, at most `PATH_MAX` bytes.
fn read_cstr(pid: i32, addr: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < libc::PATH_MAX as usize {
        // Up to the end of the page: the next one may not be mapped.
        let chunk = 4096 - at % 4096;
        let bytes = read_mem(pid, at, chunk)?;
        if let Some(end) = bytes.iter().position(|b| *b == 0) {
            out.extend_from_slice(&bytes[..end]);
            return Some(out);
        }
        out.extend_from_slice(&bytes);
        at += chunk;
    }
    None
}

/// `len` bytes of the tracee's memory at `addr`.
fn read_mem(pid: i32, addr: usize, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: one local buffer of `len` bytes; the remote range is only
    // read by the kernel, which checks it.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n == len as isize {
        return Some(buf);
    }
    // Word by word through ptrace (a kernel or a seccomp profile without
    // process_vm_readv).
    let word = std::mem::size_of::<libc::c_long>();
    let start = addr - addr % word;
    let mut bytes = Vec::with_capacity(len + word);
    let mut at = start;
    while at < addr + len {
        // SAFETY: errno is this thread's.
        unsafe { *libc::__errno_location() = 0 };
        let w = ptrace(libc::PTRACE_PEEKDATA, pid, at, 0);
        // SAFETY: as above.
        if w == -1 && unsafe { *libc::__errno_location() } != 0 {
            return None;
        }
        bytes.extend_from_slice(&w.to_ne_bytes());
        at += word;
    }
    Some(bytes[addr - start..addr - start + len].to_vec())
}

/// Registers at a stop, per architecture.
mod regs {
    pub type Regs = libc::user_regs_struct;

    pub fn read(pid: i32) -> Option<Regs> {
        let mut regs = std::mem::MaybeUninit::<Regs>::zeroed();
        let mut iov = libc::iovec {
            iov_base: regs.as_mut_ptr().cast(),
            iov_len: std::mem::size_of::<Regs>(),
        };
        let r = super::ptrace(
            libc::PTRACE_GETREGSET,
            pid,
            libc::NT_PRSTATUS as usize,
            &mut iov as *mut _ as usize,
        );
        // A 32-bit tracee's set is shorter: not ours to read.
        if r != 0 || iov.iov_len != std::mem::size_of::<Regs>() {
            return None;
        }
        // SAFETY: the kernel filled the whole struct (length checked).
        Some(unsafe { regs.assume_init() })
    }

    #[cfg(target_arch = "x86_64")]
    pub fn nr(r: &Regs) -> i64 {
        r.orig_rax as i64
    }
    #[cfg(target_arch = "x86_64")]
    pub fn args(r: &Regs) -> [u64; 4] {
        [r.rdi, r.rsi, r.rdx, r.r10]
    }
    #[cfg(target_arch = "x86_64")]
    pub fn ret(r: &Regs) -> i64 {
        r.rax as i64
    }

    #[cfg(target_arch = "aarch64")]
    pub fn nr(r: &Regs) -> i64 {
        r.regs[8] as i64
    }
    #[cfg(target_arch = "aarch64")]
    pub fn args(r: &Regs) -> [u64; 4] {
        [r.regs[0], r.regs[1], r.regs[2], r.regs[3]]
    }
    #[cfg(target_arch = "aarch64")]
    pub fn ret(r: &Regs) -> i64 {
        r.regs[0] as i64
    }
}
