//! Generated inputs for the benches: small roots built with the host's `cc`
//! from `testdata/rules/lib.c`, the host's loader and libc copied in, as
//! `tests/common` does for the loader-rule tests.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const INTERP: &str = "/lib64/ld-linux-x86-64.so.2";
pub const MULTIARCH: &str = "/lib/x86_64-linux-gnu";

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rules")
        .join(name)
}

/// A root directory under a temporary directory, removed on drop.
pub struct Root {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Root {
    /// A root with the host's loader and libc.
    pub fn new() -> Root {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("root");
        let r = Root { _tmp: tmp, dir };
        r.copy_host("/lib64/ld-linux-x86-64.so.2", INTERP);
        r.copy_host(
            "/lib/x86_64-linux-gnu/libc.so.6",
            &format!("{MULTIARCH}/libc.so.6"),
        );
        fs::create_dir_all(r.host("/etc")).unwrap();
        r
    }

    pub fn host(&self, inside: &str) -> PathBuf {
        self.dir.join(inside.trim_start_matches('/'))
    }

    fn copy_host(&self, host_src: &str, dest: &str) {
        let real = fs::canonicalize(host_src).expect("host file");
        let d = self.host(dest);
        fs::create_dir_all(d.parent().unwrap()).unwrap();
        fs::copy(real, d).unwrap();
    }

    pub fn write(&self, inside: &str, bytes: &[u8]) {
        let p = self.host(inside);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    pub fn symlink(&self, target: &str, link: &str) {
        let l = self.host(link);
        fs::create_dir_all(l.parent().unwrap()).unwrap();
        symlink(target, l).unwrap();
    }

    /// Compile `src` (in testdata/rules) to `out` inside the root.
    pub fn cc(&self, src: &str, out: &str, args: &[String]) {
        let out_host = self.host(out);
        fs::create_dir_all(out_host.parent().unwrap()).unwrap();
        let o = Command::new("cc")
            .arg("-o")
            .arg(&out_host)
            .arg(testdata(src))
            .arg("-Wl,--no-as-needed")
            .args(args)
            .output()
            .expect("cc runs");
        assert!(
            o.status.success(),
            "cc failed for {out}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// A shared object at `inside` with `soname`, needing the objects at
    /// `needs` (paths inside the root), plus extra flags.
    pub fn lib(&self, inside: &str, soname: &str, needs: &[&str], flags: &[&str]) {
        let mut args = vec![
            "-shared".to_string(),
            "-fPIC".into(),
            format!("-Wl,-soname,{soname}"),
        ];
        args.extend(flags.iter().map(|s| s.to_string()));
        args.extend(needs.iter().map(|n| self.host(n).display().to_string()));
        self.cc("lib.c", inside, &args);
    }

    /// An executable at `inside` needing the objects at `needs`.
    pub fn exe(&self, inside: &str, needs: &[&str], flags: &[&str]) {
        let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        args.extend(needs.iter().map(|n| self.host(n).display().to_string()));
        self.cc("main.c", inside, &args);
    }

    /// `ldconfig -r ROOT` over `dirs`, writing /etc/ld.so.cache.
    pub fn ldconfig(&self, dirs: &[&str]) {
        self.write("/etc/ld.so.conf", (dirs.join("\n") + "\n").as_bytes());
        let o = Command::new("/sbin/ldconfig")
            .arg("-r")
            .arg(&self.dir)
            .args(["-X", "-C", "/etc/ld.so.cache", "-f", "/etc/ld.so.conf"])
            .output()
            .expect("ldconfig runs");
        assert!(
            o.status.success(),
            "ldconfig: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Copies of one compiled object whose DT_SONAME (a fixed-width
/// placeholder) is patched to `name` in each copy: thousands of distinct
/// libraries for the price of one `cc`.
pub struct SonameTemplate {
    bytes: Vec<u8>,
    at: usize,
}

/// Width of the patched names: `libb000000.so.1`.
pub const TEMPLATE_NAME: &str = "libbXXXXXX.so.1";

impl SonameTemplate {
    pub fn new(root: &Root) -> SonameTemplate {
        root.lib("/tmp/template.so", TEMPLATE_NAME, &[], &[]);
        let bytes = fs::read(root.host("/tmp/template.so")).unwrap();
        fs::remove_file(root.host("/tmp/template.so")).unwrap();
        let at = bytes
            .windows(TEMPLATE_NAME.len())
            .position(|w| w == TEMPLATE_NAME.as_bytes())
            .expect("soname in .dynstr");
        SonameTemplate { bytes, at }
    }

    /// The name of copy `i`.
    pub fn name(i: usize) -> String {
        format!("libb{i:06}.so.1")
    }

    /// Write copy `i` (soname [`Self::name`]) at `inside`.
    pub fn write(&self, root: &Root, i: usize, inside: &str) {
        let mut b = self.bytes.clone();
        b[self.at..self.at + TEMPLATE_NAME.len()].copy_from_slice(Self::name(i).as_bytes());
        root.write(inside, &b);
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}
