//! The structure holds: every module of `src/` imports only modules below
//! it in the pipeline (docs/how-it-works.md, "Map of the code"), so there is
//! no import circle, and no file is a room with several jobs (at most ~800
//! lines of code before its tests).
//!
//! Read from the source text: `crate::NAME` (and `ldslim::NAME` in the
//! binary) outside comments and outside `#[cfg(test)]` modules.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The modules of the library, bottom first: each may import only those
/// before it. Grouped as in docs/how-it-works.md.
const LAYERS: &[&[&str]] = &[
    // Foundations: bytes of one file, walking a tree, shared findings,
    // what a computation did not find.
    &["elf", "walk", "findings", "locks", "misses"],
    // File access: a root filesystem as the loader sees it, memoised.
    &["rootfs", "objects"],
    // glibc's loader rules.
    &["ldso"],
    // What a root and a base image hold beyond ELF files.
    &["copyset", "owners", "debian", "trace", "target", "image"],
    // Loads: the load order of one entry.
    &["graph"],
    // Python: installations, and what their code loads at run time.
    &["runtime", "python"],
    // The scan of a scope, and questions about it.
    &["scan", "why", "explain"],
    // The plan for the final image, and the diagnosis of a failure.
    &["emit", "plan", "diagnose"],
    // Reports, then the main job as one call, then the command line.
    &["render", "pipeline", "cli"],
];

/// Modules of the binary above everything.
const BINARY: &str = "main";

/// Files whose code (before their tests) may be this long.
const MAX_CODE_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            // Unit tests in their own folders (`elf/tests/`) are not code.
            if p.file_name().is_some_and(|n| n == "tests") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs")
            && p.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(p);
        }
    }
}

/// The code of a file with line numbers: up to its `#[cfg(test)] mod
/// tests`, comments left out.
fn code(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = Vec::new();
    let mut it = text.lines().enumerate().peekable();
    while let Some((n, line)) = it.next() {
        if line.starts_with("#[cfg(test)]")
            && it.peek().is_some_and(|(_, next)| {
                next.starts_with("mod tests") || next.starts_with("#[allow")
            })
        {
            break;
        }
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        lines.push((n + 1, line.to_string()));
    }
    lines
}

/// The top-level module a file belongs to (`src/plan/native.rs` → `plan`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The modules `line` names through `crate::` or `ldslim::`.
fn imports(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["crate::", "ldslim::"] {
        let mut rest = line;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

fn rank(module: &str) -> Option<usize> {
    if module == BINARY {
        return Some(usize::MAX);
    }
    LAYERS
        .iter()
        .flat_map(|layer| layer.iter())
        .position(|m| *m == module)
}

#[test]
fn every_module_imports_only_modules_below_it() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = BTreeSet::new();
    let mut unplaced = BTreeSet::new();
    for f in &files {
        let from = module_of(f);
        if from == "lib" {
            continue;
        }
        let Some(from_rank) = rank(&from) else {
            unplaced.insert(from);
            continue;
        };
        for (n, line) in code(f) {
            for to in imports(&line) {
                // `crate::cannot_run`, the test helper of lib.rs.
                if to == from || to == "cannot_run" {
                    continue;
                }
                match rank(&to) {
                    Some(r) if r < from_rank => {}
                    Some(_) => {
                        wrong.insert(format!(
                            "{}:{}: {from} imports {to}, which is not below it",
                            f.strip_prefix(src()).unwrap().display(),
                            n
                        ));
                    }
                    None => {
                        unplaced.insert(to);
                    }
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS (and from the map in docs/how-it-works.md): {unplaced:?}"
    );
    assert!(wrong.is_empty(), "imports that run up:\n{}", {
        let v: Vec<_> = wrong.into_iter().collect();
        v.join("\n")
    });
}

#[test]
fn every_module_of_lib_rs_is_placed() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let placed: BTreeSet<&str> = LAYERS.iter().flat_map(|l| l.iter().copied()).collect();
    let missing: Vec<_> = declared.difference(&placed).collect();
    assert!(missing.is_empty(), "not in LAYERS: {missing:?}");
}

#[test]
fn no_file_has_more_than_800_lines_of_code() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let n = text
                .lines()
                .take_while(|l| !l.starts_with("#[cfg(test)]"))
                .count();
            (n > MAX_CODE_LINES).then(|| {
                format!(
                    "{}: {n} lines before its tests",
                    f.strip_prefix(src()).unwrap().display()
                )
            })
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}
