//! An independent opinion: `readelf -dW` / `readelf -VW` (binutils, which
//! reads the section headers) against our dynamic-segment walk.

use std::path::Path;
use std::process::Command;

use goblin::elf::dynamic::DF_1_NODEFLIB;

use crate::elf::{ElfFacts, SizedFile, read_facts};

/// What readelf reports, in the shape of our facts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Readelf {
    pub needed: Vec<String>,
    pub soname: Option<String>,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    pub nodeflib: bool,
    /// (file, [(name, weak)])
    pub verneed: Vec<(String, Vec<(String, bool)>)>,
    /// (name, base)
    pub verdef: Vec<(String, bool)>,
}

impl Readelf {
    pub fn from_facts(f: &ElfFacts) -> Self {
        Self {
            needed: f.needed.clone(),
            soname: f.soname.clone(),
            rpath: f.rpath.clone(),
            runpath: f.runpath.clone(),
            nodeflib: f.flags_1 & DF_1_NODEFLIB != 0,
            verneed: f
                .verneed
                .iter()
                .map(|n| {
                    let v = n.versions.iter().map(|v| (v.name.clone(), v.weak));
                    (n.file.clone(), v.collect())
                })
                .collect(),
            verdef: f.verdef.iter().map(|d| (d.name.clone(), d.base)).collect(),
        }
    }
}

pub fn available() -> bool {
    Command::new("readelf").arg("--version").output().is_ok()
}

fn run(args: &[&str], path: &Path) -> String {
    let out = Command::new("readelf")
        .args(args)
        .arg(path)
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(out.status.success(), "readelf {args:?} {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text between the first `[` and the last `]`.
fn bracketed(line: &str) -> Option<String> {
    let start = line.find('[')? + 1;
    let end = line.rfind(']')?;
    Some(line.get(start..end)?.to_string())
}

pub fn parse(path: &Path) -> Readelf {
    let mut r = Readelf::default();
    for line in run(&["-dW"], path).lines() {
        if line.contains("(NEEDED)") {
            r.needed.extend(bracketed(line));
        } else if line.contains("(SONAME)") {
            r.soname = bracketed(line);
        } else if line.contains("(RPATH)") {
            r.rpath = bracketed(line);
        } else if line.contains("(RUNPATH)") {
            r.runpath = bracketed(line);
        } else if line.contains("(FLAGS_1)") {
            r.nodeflib = line.split_whitespace().any(|w| w == "NODEFLIB");
        }
    }

    #[derive(PartialEq)]
    enum Mode {
        Other,
        Def,
        Need,
    }
    let mut mode = Mode::Other;
    for line in run(&["-VW"], path).lines() {
        if line.starts_with("Version definition section") {
            mode = Mode::Def;
        } else if line.starts_with("Version needs section") {
            mode = Mode::Need;
        } else if line.starts_with("Version symbols section") {
            mode = Mode::Other;
        } else if mode == Mode::Def && line.contains("Rev:") {
            // "  0x001c: Rev: 1  Flags: none  Index: 2  Cnt: 1  Name: LIBX_1.0"
            let name = line.split_once("Name: ").unwrap().1.to_string();
            let flags = line.split_once("Flags: ").unwrap().1;
            r.verdef.push((name, flags.starts_with("BASE")));
        } else if mode == Mode::Need && line.contains("File: ") {
            // "  000000: Version: 1  File: libc.so.6  Cnt: 1"
            let file = line.split_once("File: ").unwrap().1;
            let file = file.split_once("  Cnt:").unwrap().0.to_string();
            r.verneed.push((file, vec![]));
        } else if mode == Mode::Need && line.contains("Name: ") {
            // "  0x0010:   Name: GLIBC_2.2.5  Flags: none  Version: 2"
            let rest = line.split_once("Name: ").unwrap().1;
            let (name, flags) = rest.split_once("  Flags: ").unwrap();
            let weak = flags.split_whitespace().next() == Some("WEAK");
            r.verneed
                .last_mut()
                .unwrap()
                .1
                .push((name.to_string(), weak));
        }
    }
    r
}

/// Our facts of `path` agree with readelf's.
pub fn assert_agrees(path: &Path) {
    let facts = read_facts(&SizedFile::open(path).unwrap()).unwrap();
    assert_eq!(
        Readelf::from_facts(&facts),
        parse(path),
        "{}",
        path.display()
    );
}
