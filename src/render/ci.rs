//! Findings for CI systems: each finding of a scan and its plan as an
//! [`Annotation`], rendered as GitHub Actions workflow commands or a GitLab
//! Code Quality report.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::ldd::cpu_dependence;
use super::{allow_name, human_bytes, on_cpus, steps, summary_line, version_words, without_prefix};
use crate::copyset::{CopyItem, CopyKind};
use crate::findings::CHAIN;
use crate::ldso::Step;
use crate::plan::PlanReport;
use crate::scan::ScanReport;

/// How serious a CI annotation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Makes the exit code 1: the image would not start or import.
    Error,
    /// Works, but only by accident (load order) or not as planned.
    Warning,
    /// For information: what the plan copies.
    Notice,
}

/// One finding for a CI system, before it is rendered in that system's
/// format: what ([`Level`], `check`), where (`path`, inside the root or
/// the image), a one-line `title` and a `message` that may span lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    /// A stable name of the kind of finding: `not-found`, `load-error`,
    /// `bad-file`, `mismatch`, `load-order`, `cpu-dependent`, `runtime-not-found`,
    /// `runtime-unknown`, `image-missing`, `image-version`,
    /// `image-refused`, `image-runtime`, `image-declared`,
    /// `image-unverified`, `python-venv-interpreter`, `python-venv-home`,
    /// `python-venv-version`, `python-shebang`, `python-pth`,
    /// `python-prefix`, `conflict`, `copy`.
    pub check: &'static str,
    pub path: String,
    pub title: String,
    pub message: String,
    /// What, besides `check` and `path`, tells this finding from others
    /// (a library name): part of its fingerprint.
    pub key: String,
}

fn steps_text(steps_: &[Step]) -> String {
    let mut out = Vec::new();
    // Rendering into memory cannot fail.
    let _ = steps(&mut out, steps_, "");
    String::from_utf8_lossy(&out).trim_end().to_string()
}

/// Every finding of a scan and its plan, in report order: builder
/// findings first, then the final image's, then what the plan copies (one
/// notice per library).
pub fn annotations(r: &ScanReport, plan: Option<&PlanReport>) -> Vec<Annotation> {
    let mut out = Vec::new();
    for u in &r.unresolved {
        let more = u.entry_count.saturating_sub(u.entries.len());
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        out.push(Annotation {
            level: Level::Error,
            check: "not-found",
            path: u.needed_by.clone(),
            title: format!("{} not found", u.name),
            message: format!(
                "{} needs {}, which the loader does not find in the builder.\nLoaded from: {}{tail}\nSearched:\n{}",
                u.needed_by,
                u.name,
                u.entries.join(", "),
                steps_text(&u.searched)
            ),
            key: u.name.clone(),
        });
    }
    for f in &r.fatal {
        out.push(Annotation {
            level: Level::Error,
            check: "load-error",
            path: f.fatal.path.clone(),
            title: "glibc would abort the load".into(),
            message: format!("loading {}: {}", f.entry, f.fatal),
            key: f.entry.clone(),
        });
    }
    for m in &r.mismatched {
        out.push(Annotation {
            level: Level::Error,
            check: "mismatch",
            path: m.path.clone(),
            title: "built for another system than the root".into(),
            message: m.message.clone(),
            key: String::new(),
        });
    }
    for e in &r.errors {
        out.push(Annotation {
            level: Level::Error,
            check: "bad-file",
            path: e.path.clone(),
            title: "bad file".into(),
            message: e.message.clone(),
            key: String::new(),
        });
    }
    for w in &r.warnings {
        out.push(Annotation {
            level: Level::Warning,
            check: "load-order",
            path: w.object.clone(),
            title: format!("{} resolves only by load order", w.needed),
            message: format!("{}: {}: {}", w.object, w.needed, w.message),
            key: format!("{}\0{}", w.needed, w.message),
        });
    }
    for d in &r.cpu_dependent {
        let mut text = Vec::new();
        // Rendering into memory cannot fail.
        let _ = cpu_dependence(&mut text, d, "");
        out.push(Annotation {
            level: if d.fails_somewhere() {
                Level::Error
            } else {
                Level::Warning
            },
            check: "cpu-dependent",
            path: d.object.clone(),
            title: if d.fails_somewhere() {
                format!("{} is not found on some kinds of CPU", d.needed)
            } else {
                format!("{} is found differently by kind of CPU", d.needed)
            },
            message: String::from_utf8_lossy(&text).trim_end().to_string(),
            key: d.needed.clone(),
        });
    }
    let (rt_missing, rt_unknown) = r.runtime.unresolved();
    for l in rt_missing {
        let tried: Vec<String> = l
            .tried
            .iter()
            .filter_map(|t| match &t.builder {
                crate::runtime::Outcome::NotFound { why } => {
                    Some(format!("{}: {why}", t.way.describe()))
                }
                _ => None,
            })
            .collect();
        let first = l.calls.first();
        out.push(Annotation {
            level: Level::Error,
            check: "runtime-not-found",
            path: first.map_or(l.package.clone(), |c| c.file.clone()),
            title: format!("{} (loaded at run time) not found", l.library),
            message: format!(
                "{} loads {} at run time ({}), which the builder does not have.\n{}\nAccept it with --allow-runtime {}",
                l.package,
                l.library,
                l.calls.iter().map(|c| c.place()).collect::<Vec<_>>().join(", "),
                tried.join("\n"),
                l.library
            ),
            key: l.library.clone(),
        });
    }
    for c in rt_unknown {
        out.push(Annotation {
            level: Level::Error,
            check: "runtime-unknown",
            path: c.file.clone(),
            title: "a run-time load ldslim cannot follow".into(),
            message: format!(
                "{} {}: the library is {}, which only the running program knows. Accept it with --allow-runtime {}",
                c.place(),
                c.text,
                c.unknown.as_deref().unwrap_or("not known"),
                c.place()
            ),
            key: format!("{}", c.line),
        });
    }
    let Some(p) = plan else {
        return out;
    };
    for c in p.runtime_failures() {
        let why: Vec<String> = c
            .ways
            .iter()
            .filter_map(|w| match &w.image {
                crate::runtime::Outcome::NotFound { why } => {
                    Some(format!("{}: {why}", w.way.describe()))
                }
                _ => None,
            })
            .collect();
        out.push(Annotation {
            level: Level::Error,
            check: "image-runtime",
            path: c.package.clone(),
            title: format!(
                "{} (loaded at run time) will not load in {}",
                c.library, p.target
            ),
            message: why.join("\n"),
            key: format!("{}\0{}", c.library, p.copy.target),
        });
    }
    for d in p.declared.iter().filter(|d| d.fails()) {
        out.push(Annotation {
            level: Level::Error,
            check: "image-declared",
            path: d.object.clone(),
            title: format!(
                "{} (declared in .note.dlopen) will not load in {}",
                d.declared.sonames.join(" or "),
                p.target
            ),
            message: match &d.image {
                crate::runtime::Outcome::NotFound { why } => why.clone(),
                _ => String::new(),
            },
            key: format!("{}\0{}", d.declared.sonames.join(","), p.copy.target),
        });
    }
    for u in p.unverified_loads() {
        out.push(Annotation {
            level: Level::Error,
            check: "image-unverified",
            path: u.object.clone(),
            title: format!(
                "{} {}, which {} lacks",
                u.object.rsplit('/').next().unwrap_or(&u.object),
                u.named.describe(),
                p.target
            ),
            message: format!(
                "{} calls {} and names {} (the builder has {}). ldslim cannot tell whether it loads it: check the application in the image, copy what it needs, or accept it with --allow-runtime {}",
                u.object,
                u.calls.join(", "),
                u.named.name(),
                u.builder,
                allow_name(u)
            ) + &format!(" (or copy it with --include {})", u.builder),
            key: format!("{}\0{}\0{}", u.object, u.named.name(), p.copy.target),
        });
    }
    for m in &p.missing {
        out.push(Annotation {
            level: Level::Error,
            check: "image-missing",
            path: m.needed_by.clone(),
            title: format!(
                "{} will not load in {}{}",
                m.name,
                p.target,
                on_cpus(&m.cpus)
            ),
            message: format!(
                "{} needs {} (loading {}): {}\nSearched in the image:\n{}",
                m.needed_by,
                m.name,
                m.entry,
                m.reason,
                steps_text(&m.searched)
            ),
            key: format!("{}\0{}\0{}", m.name, m.entry, p.copy.target),
        });
    }
    for v in &p.versions {
        let (has, way_out) = version_words(v);
        out.push(Annotation {
            level: Level::Error,
            check: "image-version",
            path: v.object.clone(),
            title: format!("{} needs {}, which {} lacks", v.object, v.version, p.target),
            message: format!(
                "{} needs {} from {}, but the image's {} defines {has}: {way_out}",
                v.object, v.version, v.from, v.provider
            ),
            key: format!("{}\0{}\0{}", v.version, v.from, p.copy.target),
        });
    }
    for crate::plan::Refused { entry, reason: why } in &p.refused {
        out.push(Annotation {
            level: Level::Error,
            check: "image-refused",
            path: entry.clone(),
            title: format!("{entry} cannot be loaded in {}", p.target),
            message: without_prefix(why, entry).to_string(),
            key: p.copy.target.clone(),
        });
    }
    for f in &p.python_checks {
        let (level, also) = if f.in_builder_too {
            (Level::Warning, " (in the builder too)")
        } else {
            (Level::Error, "")
        };
        out.push(Annotation {
            level,
            check: f.check.name(),
            path: f.path.clone(),
            title: format!("{} in {}{also}", f.check.title(), p.target),
            message: format!("{}\nFix: {}", f.problem, f.fix),
            key: p.copy.target.clone(),
        });
    }
    for c in &p.conflicts {
        out.push(Annotation {
            level: Level::Warning,
            check: "conflict",
            path: c.src.clone(),
            title: format!("{} would replace the target's own {}", c.needed_as, c.dest),
            message: format!(
                "{} (for {}) would replace the target's own {}; not copied",
                c.src, c.needed_as, c.dest
            ),
            key: format!("{}\0{}", c.dest, p.copy.target),
        });
    }
    let mut by_name: BTreeMap<&str, Vec<&CopyItem>> = BTreeMap::new();
    for item in &p.copy.items {
        by_name.entry(&item.needed_as).or_default().push(item);
    }
    for (name, items) in by_name {
        let file = items
            .iter()
            .find(|i| matches!(i.kind, CopyKind::File { .. }))
            .or(items.first())
            .map(|i| i.src.clone())
            .unwrap_or_default();
        let lines: Vec<String> = items
            .iter()
            .map(|i| match &i.kind {
                CopyKind::Symlink { target } => format!("{} -> {target}", i.dest),
                CopyKind::Generated { size, .. } => {
                    format!("{} ({}, written by ldslim)", i.dest, human_bytes(*size))
                }
                CopyKind::File { size, .. } if i.dest == i.src => {
                    format!("{} ({})", i.dest, human_bytes(*size))
                }
                CopyKind::File { size, .. } => {
                    format!("{} ({}), from {}", i.dest, human_bytes(*size), i.src)
                }
            })
            .collect();
        let chain = items
            .first()
            .map(|i| i.chain.join(CHAIN))
            .unwrap_or_default();
        out.push(Annotation {
            level: Level::Notice,
            check: "copy",
            path: file,
            title: format!("{} lacks {name}: copied from the builder", p.target),
            message: format!("{}\nneeded by {chain}", lines.join("\n")),
            key: format!("{name}\0{}", p.copy.target),
        });
    }
    out
}

/// `%`, CR and LF escaped as GitHub's workflow commands need in a message;
/// in a property (`for_property`), `:` and `,` too.
fn github_escape(s: &str, for_property: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if for_property => out.push_str("%3A"),
            ',' if for_property => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// The scan as GitHub Actions workflow commands: one `::error` or
/// `::warning` per finding (`file=` is the path inside the root), one
/// `::notice` for the whole copy plan, then the text summary line.
pub fn scan_github(
    out: &mut dyn Write,
    r: &ScanReport,
    plan: Option<&PlanReport>,
) -> io::Result<()> {
    // GitHub shows ten warnings of a step: nine, then how many more.
    const WARNINGS_SHOWN: usize = 9;
    let all = annotations(r, plan);
    let warnings = all.iter().filter(|a| a.level == Level::Warning).count();
    let mut warned = 0;
    for a in all.iter().filter(|a| a.level != Level::Notice) {
        let command = match a.level {
            Level::Error => "error",
            _ => "warning",
        };
        if a.level == Level::Warning {
            warned += 1;
            if warnings > WARNINGS_SHOWN + 1 && warned > WARNINGS_SHOWN {
                continue;
            }
        }
        writeln!(
            out,
            "::{command} file={},title={}::{}",
            github_escape(&a.path, true),
            github_escape(&format!("ldslim: {}", a.title), true),
            github_escape(&a.message, false)
        )?;
    }
    if warnings > WARNINGS_SHOWN + 1 {
        writeln!(
            out,
            "::warning title=ldslim%3A {} more warnings::all of them with --format json or --format gitlab",
            warnings - WARNINGS_SHOWN
        )?;
    }
    if let Some(p) = plan {
        let copies: Vec<&Annotation> = all.iter().filter(|a| a.level == Level::Notice).collect();
        let outcome = if p.verdict() == crate::plan::Verdict::Unverified {
            format!(
                "final image: NOT VERIFIED: all {} objects of the scope load, but {} possible run-time loads cannot be checked",
                p.checked,
                p.unverified_loads().count()
            )
        } else if p.loads() {
            format!("final image: all {} objects of the scope load", p.checked)
        } else if p.libraries_load() {
            let n = p.python_failures().count();
            format!(
                "final image: all {} objects of the scope load, but Python would NOT work there: {n} problem{}",
                p.checked,
                if n == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "final image: would NOT load ({} objects checked)",
                p.checked
            )
        };
        let message = if copies.is_empty() {
            format!(
                "The target provides every library the scope needs; nothing to copy.\n{outcome}"
            )
        } else {
            let names: Vec<&str> = copies
                .iter()
                .map(|a| a.key.split('\0').next().unwrap_or_default())
                .collect();
            format!(
                "The target lacks {} librar{} ({}); copy {} path{} ({}) from the builder.\n{outcome}",
                names.len(),
                if names.len() == 1 { "y" } else { "ies" },
                names.join(", "),
                p.copy.items.len(),
                if p.copy.items.len() == 1 { "" } else { "s" },
                human_bytes(p.bytes)
            )
        };
        writeln!(
            out,
            "::notice title={}::{}",
            github_escape(&format!("ldslim: plan for {}", p.target), true),
            github_escape(&message, false)
        )?;
    }
    writeln!(out, "{}", summary_line(r))
}

/// A stable 128-bit fingerprint (two FNV-1a hashes) in hex: the same
/// finding gets the same fingerprint on every run and every machine.
fn fingerprint(parts: &[&str]) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            b = b.rotate_left(5);
        }
    }
    format!("{a:016x}{b:016x}")
}

/// The scan as a GitLab Code Quality report: a JSON array of issues
/// (`description`, `check_name`, `fingerprint`, `severity`, `location`).
/// Errors are `critical`, warnings `minor`, the copy plan `info` (one
/// issue per library, so a merge request shows a library that is new).
pub fn scan_gitlab(
    out: &mut dyn Write,
    r: &ScanReport,
    plan: Option<&PlanReport>,
) -> io::Result<()> {
    let issues: Vec<serde_json::Value> = annotations(r, plan)
        .into_iter()
        .map(|a| {
            let severity = match a.level {
                Level::Error => "critical",
                Level::Warning => "minor",
                Level::Notice => "info",
            };
            let check = format!("ldslim/{}", a.check);
            serde_json::json!({
                "description": format!("{}\n{}", a.title, a.message),
                "check_name": check,
                "fingerprint": fingerprint(&[&check, &a.path, &a.key]),
                "severity": severity,
                "location": { "path": a.path, "lines": { "begin": 1 } },
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues).map_err(io::Error::other)?;
    writeln!(out)
}
