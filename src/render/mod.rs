//! Rendering results for people (text) and programs (JSON, CI formats,
//! `ldd` lines), one module per kind of output:
//!
//! - [`text`]: the scan, `why`, `explain` and `--scope python` reports for
//!   people, and [`plan_text`] the plan's part of the scan report;
//! - [`json`]: the same as JSON documents (schemas: docs/json.md);
//! - [`ci`]: findings as annotations for CI systems (GitHub workflow
//!   commands, GitLab Code Quality);
//! - [`ldd`]: `ldd`-style lines and `scan --tree`;
//! - [`style`]: colour for the text reports.
//!
//! Every reason label comes from [`How::label`](crate::ldso::How::label),
//! so an edge reads the same everywhere. The helpers here are shared by
//! more than one kind of output.

use std::io::{self, Write};

use crate::copyset::CopyItem;
use crate::ldso::Step;
use crate::plan::PlanReport;
use crate::python::Inventory;
use crate::python::module::module_of;
use crate::scan::ScanReport;
use crate::why::WhyReport;

pub mod ci;
pub mod emit_notes;
pub mod json;
pub mod ldd;
pub mod plan_text;
pub mod style;
pub mod text;

fn without_prefix<'a>(message: &'a str, path: &str) -> &'a str {
    message
        .strip_prefix(path)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
}

/// Numbered places searched, one per line.
fn steps(out: &mut (impl Write + ?Sized), steps: &[Step], indent: &str) -> io::Result<()> {
    let mut n = 0;
    for s in steps {
        if s.place.is_empty() {
            for note in &s.notes {
                writeln!(out, "{indent}   ({note})")?;
            }
            continue;
        }
        n += 1;
        writeln!(out, "{indent}{n:>2}. {} [{}]", s.place, s.source.label())?;
        for note in &s.notes {
            writeln!(out, "{indent}      {note}")?;
        }
    }
    Ok(())
}

/// The name to give `--allow-runtime` for a possible load: the object's
/// soname, else its file name.
fn allow_name(u: &crate::plan::Unverified) -> &str {
    u.soname
        .as_deref()
        .unwrap_or_else(|| u.object.rsplit('/').next().unwrap_or(&u.object))
}

/// ` on haswell/x86-64-v3, haswell/x86-64-v4` for a failure on some kinds
/// of CPU only; nothing when it fails on all.
fn on_cpus(cpus: &[String]) -> String {
    if cpus.is_empty() {
        String::new()
    } else {
        format!(" on {}", cpus.join(", "))
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// What the target does about the library of a `why`: provides it, or
/// lacks it and these items are copied.
fn why_target<'a>(w: &WhyReport, plan: &'a PlanReport) -> Vec<&'a CopyItem> {
    let files = w.builder_files();
    plan.copy
        .items
        .iter()
        .filter(|i| {
            i.needed_as == w.library
                || files.contains(&i.src)
                || w.runtime.iter().any(|l| i.src == l.file)
        })
        .collect()
}

/// ` (import bz2)` for an extension module, or nothing.
pub fn import_hint(path: &str, inv: Option<&Inventory>) -> String {
    inv.and_then(|inv| module_of(path, inv))
        .map(|m| format!(" (import {})", m.import))
        .unwrap_or_default()
}

/// The one-line summary that ends a text scan report.
fn summary_line(r: &ScanReport) -> String {
    // A scope of many paths (every Python of a big system) is listed in
    // the JSON; one line names the first few.
    const NAMED: usize = 4;
    let scanned = if r.paths == ["/"] {
        r.root.clone()
    } else if r.paths.len() > NAMED + 1 {
        format!(
            "{} and {} more paths in {}",
            r.paths[..NAMED].join(", "),
            r.paths.len() - NAMED,
            r.root
        )
    } else {
        format!("{} in {}", r.paths.join(", "), r.root)
    };
    let cpu = match r.cpu_dependent.len() {
        0 => String::new(),
        n => format!(", {n} CPU-dependent"),
    };
    let (rt_missing, rt_unknown) = r.runtime.unresolved();
    let cpu = match r.runtime.loads.len() {
        0 if rt_unknown.is_empty() => cpu,
        n => format!(
            "{cpu}; {n} run-time load{} ({} not found, {} not followed)",
            if n == 1 { "" } else { "s" },
            rt_missing.len(),
            rt_unknown.len()
        ),
    };
    let cpu = match r.mismatched.len() {
        0 => cpu,
        n => format!("{cpu}, {n} for a system the root is not"),
    };
    format!(
        "{}: {} files, {} ELF objects, {} resolved, {} skipped; {} not found, {} load errors, {} warnings{cpu}, {} bad files",
        scanned,
        r.files,
        r.objects,
        r.resolved,
        r.skipped.len(),
        r.unresolved.len(),
        r.fatal.len(),
        r.warnings.len(),
        r.errors.len()
    )
}

/// What a version problem's provider has, and the way out, in words shared
/// by the text report and the CI annotations.
fn version_words(v: &crate::plan::VersionProblem) -> (String, String) {
    let has = if v.provider_has.is_empty() {
        "no such versions".to_string()
    } else {
        format!("up to {}", v.provider_has.join(", "))
    };
    let way_out = if !v.provider_in_target {
        "the copied library is older than what needs it".to_string()
    } else if v.targets_with_it.is_empty() {
        "use a target whose libraries are as new as the builder's, or build on a builder as old as the target".to_string()
    } else {
        format!(
            "use a target that has it ({}), or build on a builder as old as the target",
            v.targets_with_it.join(", ")
        )
    };
    (has, way_out)
}
