//! The seccomp filter of a traced process: it stops only at the system
//! calls that open or execute a file, so every other call (reads, mmaps,
//! futexes: nearly all of them) runs at full speed, not through ptrace.

/// `seccomp_data.nr` and `.arch` offsets (`linux/seccomp.h`).
const NR: u32 = 0;
const ARCH: u32 = 4;

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const RET_ALLOW: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW

/// `AUDIT_ARCH_*` of the native system-call ABI (`linux/audit.h`). Calls
/// through another ABI (i386's `int 0x80`, x32) are not traced: a 32-bit
/// program started by the command runs untraced (docs/trace.md).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

/// The calls that open or execute a file by name. `open` exists only on
/// x86_64; aarch64 has `openat` alone.
#[cfg(target_arch = "x86_64")]
pub(super) const TRACED: &[i64] = &[
    libc::SYS_open,
    libc::SYS_openat,
    libc::SYS_openat2,
    libc::SYS_execve,
    libc::SYS_execveat,
];
#[cfg(target_arch = "aarch64")]
pub(super) const TRACED: &[i64] = &[
    libc::SYS_openat,
    libc::SYS_openat2,
    libc::SYS_execve,
    libc::SYS_execveat,
];

fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter program: native ABI and a traced call → `SECCOMP_RET_TRACE`
/// (a ptrace stop), anything else → allowed.
pub(super) fn program() -> Vec<libc::sock_filter> {
    let n = TRACED.len();
    let mut p = Vec::with_capacity(n + 5);
    p.push(op(LD_W_ABS, 0, 0, ARCH));
    // Another ABI: jump over the call checks to "allow".
    p.push(op(JEQ_K, 0, (n + 1) as u8, AUDIT_ARCH));
    p.push(op(LD_W_ABS, 0, 0, NR));
    for (i, nr) in TRACED.iter().enumerate() {
        // Match: jump to the final "trace", past the remaining checks
        // and "allow".
        p.push(op(JEQ_K, (n - i) as u8, 0, *nr as u32));
    }
    p.push(op(RET_K, 0, 0, RET_ALLOW));
    p.push(op(RET_K, 0, 0, libc::SECCOMP_RET_TRACE));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small interpreter of the program's three instructions, to check
    /// the jump offsets the kernel would follow.
    fn run(p: &[libc::sock_filter], arch: u32, nr: u32) -> u32 {
        let mut pc = 0;
        let mut acc = 0;
        loop {
            let i = p[pc];
            match i.code {
                LD_W_ABS => acc = if i.k == ARCH { arch } else { nr },
                JEQ_K => {
                    pc += if acc == i.k { i.jt } else { i.jf } as usize;
                }
                RET_K => return i.k,
                c => panic!("unexpected opcode {c:#x}"),
            }
            pc += 1;
        }
    }

    #[test]
    fn only_native_open_and_exec_calls_stop() {
        let p = program();
        for nr in TRACED {
            assert_eq!(run(&p, AUDIT_ARCH, *nr as u32), libc::SECCOMP_RET_TRACE);
            assert_eq!(run(&p, 0x4000_0003, *nr as u32), RET_ALLOW);
        }
        for nr in [
            libc::SYS_read,
            libc::SYS_mmap,
            libc::SYS_close,
            libc::SYS_clone,
        ] {
            assert_eq!(run(&p, AUDIT_ARCH, nr as u32), RET_ALLOW);
        }
    }
}
