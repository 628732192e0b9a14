//! Text reports for people: the scan's findings and summary, what
//! `--scope python` found, `why` and `explain`. The plan's part of the scan
//! report is [`super::plan_text`].

use std::io::{self, Write};

use super::ldd::cpu_dependence;
use super::style::{Style, Styled};
use super::{import_hint, steps, summary_line, why_target};
use crate::copyset::CopyKind;
use crate::diagnose::Diagnosis;
use crate::elf::consts::{ET_CORE, ET_REL};
use crate::findings::{CHAIN, SkipReason, Skipped};
use crate::owners::Owner;
use crate::plan::PlanReport;
use crate::python::{Inventory, SiteKind};
use crate::scan::ScanReport;
use crate::why::WhyReport;

/// The scan report for people: findings first, then the first few objects
/// skipped, then a one-line summary.
pub fn scan_text(out: &mut Styled, r: &ScanReport) -> io::Result<()> {
    for u in &r.unresolved {
        out.span(Style::Missing, "not found:")?;
        writeln!(out, " {}", u.name)?;
        writeln!(out, "  needed by {}", u.needed_by)?;
        if u.entry_count > 1 || u.entries.first() != Some(&u.needed_by) {
            let shown = u.entries.join(", ");
            let more = u.entry_count.saturating_sub(u.entries.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            writeln!(
                out,
                "  loaded from {} entr{}: {shown}{tail}",
                u.entry_count,
                if u.entry_count == 1 { "y" } else { "ies" }
            )?;
        }
        writeln!(out, "  searched:")?;
        steps(out, &u.searched, "   ")?;
        writeln!(out)?;
    }
    for f in &r.fatal {
        out.span(Style::Error, "load error:")?;
        writeln!(out, " {}: {}", f.entry, f.fatal)?;
    }
    if !r.fatal.is_empty() {
        writeln!(out)?;
    }
    // Many warnings are the same benign case repeated (vendored libraries
    // loaded on their own): show a screenful, the rest are in the JSON.
    const SHOWN: usize = 12;
    for w in r.warnings.iter().take(SHOWN) {
        out.span(Style::Warning, "warning:")?;
        writeln!(out, " {}: {}: {}", w.object, w.needed, w.message)?;
    }
    if r.warnings.len() > SHOWN {
        out.line(
            Style::Aside,
            format_args!(
                "… and {} more warnings (all of them with --format json)",
                r.warnings.len() - SHOWN
            ),
        )?;
    }
    if !r.warnings.is_empty() {
        writeln!(out)?;
    }
    for d in &r.cpu_dependent {
        cpu_dependence(out, d, "")?;
    }
    if !r.cpu_dependent.is_empty() {
        writeln!(out)?;
    }
    runtime_text(out, &r.runtime)?;
    for m in &r.mismatched {
        writeln!(out, "mismatch: {}: {}", m.path, m.message)?;
    }
    if !r.mismatched.is_empty() {
        writeln!(out)?;
    }
    for e in &r.errors {
        out.span(Style::BadFile, "bad file:")?;
        writeln!(out, " {}: {}", e.path, e.message)?;
    }
    if !r.errors.is_empty() {
        writeln!(out)?;
    }
    skipped_text(out, &r.skipped)?;
    writeln!(out, "{}", summary_line(r))
}

/// The objects with nothing to resolve, each with why: the summary counts
/// them, and a count alone leaves the reader guessing whether something
/// was missed. Not findings, so a few lines: a root's hundreds of `.o`
/// files (`--scope all`) are listed by -v (on standard error, where -v
/// writes) and in the JSON.
fn skipped_text(out: &mut Styled, skipped: &[Skipped]) -> io::Result<()> {
    const SHOWN: usize = 5;
    if skipped.is_empty() {
        return Ok(());
    }
    out.line(
        Style::Heading,
        "skipped (nothing for the loader to resolve):",
    )?;
    for s in skipped.iter().take(SHOWN) {
        writeln!(out, "  {}: {}", s.path, skip_words(s.reason))?;
    }
    if skipped.len() > SHOWN {
        out.line(
            Style::Aside,
            format_args!(
                "  … and {} more (all of them with -v, or --format json)",
                skipped.len() - SHOWN
            ),
        )?;
    }
    writeln!(out)
}

/// Why an object is skipped, in words for people (the JSON keeps the
/// terse [`SkipReason`] message).
pub fn skip_words(reason: SkipReason) -> String {
    match reason {
        SkipReason::Static => "statically linked: it loads no shared library".into(),
        SkipReason::NotLoadable(ET_REL) => {
            "an object file (ELF type 1, ET_REL): linked into programs, never loaded".into()
        }
        SkipReason::NotLoadable(ET_CORE) => "a core dump (ELF type 4, ET_CORE)".into(),
        SkipReason::NotLoadable(t) => {
            format!("ELF type {t}: neither a program nor a shared library, never loaded")
        }
        SkipReason::Loader => "the dynamic loader: it maps itself and needs nothing".into(),
    }
}

/// Run-time loads the scan could not resolve or follow: findings, each
/// with how to accept it.
fn runtime_text(out: &mut Styled, rt: &crate::runtime::Found) -> io::Result<()> {
    let (loads, calls) = rt.unresolved();
    for l in &loads {
        writeln!(
            out,
            "not found at run time: {} (loaded by {})",
            l.library, l.package
        )?;
        for c in &l.calls {
            writeln!(out, "  at {} {}", c.place(), c.text)?;
        }
        for t in &l.tried {
            if let crate::runtime::Outcome::NotFound { why } = &t.builder {
                writeln!(out, "  {}: {why}", t.way.describe())?;
            }
        }
        if !l.other_systems.is_empty() {
            writeln!(
                out,
                "  (for other systems, not tried: {})",
                l.other_systems.join(", ")
            )?;
        }
        writeln!(out, "  (accept it with --allow-runtime {})", l.library)?;
        writeln!(out)?;
    }
    for c in &calls {
        writeln!(
            out,
            "run-time load ldslim cannot follow: {} {}",
            c.place(),
            c.text
        )?;
        if let Some(u) = &c.unknown {
            writeln!(
                out,
                "  the library is {u}, which only the running program knows"
            )?;
        }
        writeln!(out, "  (accept it with --allow-runtime {})", c.place())?;
        writeln!(out)?;
    }
    Ok(())
}

/// What the target does about the library, in one line; the plan's
/// copies follow it when there are any.
fn why_verdict(
    out: &mut Styled,
    w: &WhyReport,
    p: &PlanReport,
    in_target: Option<&str>,
) -> io::Result<()> {
    let builder = w.builder_files();
    if !why_target(w, p).is_empty() {
        return out.line(
            Style::Warning,
            format_args!("target {}: lacks it; the plan copies:", p.target),
        );
    }
    match (in_target, builder.first()) {
        (Some(at), _) => writeln!(
            out,
            "target {}: provides it ({at}); nothing to copy",
            p.target
        ),
        (None, None) => writeln!(out, "target {}: lacks it, and so does the builder", p.target),
        (None, Some(file)) if w.is_loaded() => writeln!(
            out,
            "target {}: lacks it, and the plan does not copy it: see the plan (`ldslim scan`) for why {file} is left out",
            p.target
        ),
        (None, Some(file)) => out.line(
            Style::Warning,
            format_args!(
                "target {}: lacks it; nothing in scope loads it, so the plan does not copy it (add it with `ldslim scan --include {file}` if the application loads it in a way ldslim cannot see)",
                p.target
            ),
        ),
    }
}

/// `why` for people: the file, each chain with the reason on each edge,
/// the run-time loads, and what the target does about it.
pub fn why_text(
    out: &mut Styled,
    w: &WhyReport,
    plan: Option<&PlanReport>,
    in_target: Option<&str>,
    inv: Option<&Inventory>,
) -> io::Result<()> {
    match (&w.files[..], &w.builder) {
        ([], Some(crate::runtime::Outcome::Found { path, real, .. })) => writeln!(
            out,
            "{}: {real} in the builder (dlopen finds {path})",
            w.library
        )?,
        ([], Some(crate::runtime::Outcome::NotFound { why })) => {
            writeln!(out, "{}: not in the builder ({why})", w.library)?
        }
        ([], None) => writeln!(out, "{}: not loaded by anything in scope", w.library)?,
        (files, _) => writeln!(out, "{}: {}", w.library, files.join(", "))?,
    }
    if !w.runtime.is_empty() {
        writeln!(out, "loaded at run time by the scope's Python code:")?;
        for l in &w.runtime {
            for c in &l.calls {
                writeln!(out, "  {} {}", c.place(), c.text)?;
            }
            let ways: Vec<String> = l.ways.iter().map(|w| w.describe()).collect();
            writeln!(out, "  which open {} as {}", l.file, ways.join(", "))?;
        }
    }
    let n = w.chains.len();
    if n > 0 {
        writeln!(
            out,
            "{n} chain{} load{} it:",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" }
        )?;
    }
    for c in &w.chains {
        match &c.runtime {
            Some(call) => writeln!(out, "  {} (loaded at run time: {call})", c.entry)?,
            None => writeln!(out, "  {}{}", c.entry, import_hint(&c.entry, inv))?,
        }
        for (depth, l) in c.links.iter().enumerate() {
            writeln!(
                out,
                "  {}{}{} => {} [{}]",
                "   ".repeat(depth + 1),
                CHAIN.trim_start(),
                l.needed,
                l.path,
                l.how.label()
            )?;
        }
    }
    if !w.is_loaded() {
        writeln!(
            out,
            "nothing in scope loads it: no DT_NEEDED chain from the scope, and no run-time load of its Python code that ldslim can follow"
        )?;
    }
    if let Some(p) = plan {
        let name = w.library.rsplit('/').next().unwrap_or(&w.library);
        for d in p
            .declared
            .iter()
            .filter(|d| d.declared.sonames.iter().any(|s| s == name))
        {
            writeln!(
                out,
                "declared in the .note.dlopen of {} ({})",
                d.object,
                d.declared.priority.name()
            )?;
        }
        for u in p.unverified.iter().filter(|u| {
            u.named.name() == w.library || u.builder == w.library || w.files.contains(&u.builder)
        }) {
            writeln!(
                out,
                "{} {} (its read-only data names it; it calls {}): not verified",
                u.object,
                u.named.describe(),
                u.calls.join(", ")
            )?;
        }
        why_verdict(out, w, p, in_target)?;
        for i in why_target(w, p) {
            match &i.kind {
                CopyKind::Symlink { target } => writeln!(out, "    {} -> {target}", i.dest)?,
                CopyKind::File { .. } => writeln!(out, "    {}", i.dest)?,
                CopyKind::Generated { .. } => writeln!(out, "    {} (written by ldslim)", i.dest)?,
            }
        }
    }
    Ok(())
}

/// What `--scope python` found, so the user sees what was checked.
pub fn python_text(out: &mut Styled, inv: &Inventory) -> io::Result<()> {
    for i in &inv.installations {
        let version = if i.version.is_empty() {
            "?"
        } else {
            i.version.as_str()
        };
        let others: Vec<&str> = i
            .names
            .iter()
            .map(String::as_str)
            .filter(|n| *n != i.interpreter)
            .collect();
        if others.is_empty() {
            writeln!(out, "python {version}: {}", i.interpreter)?;
        } else {
            writeln!(
                out,
                "python {version}: {} (also {})",
                i.interpreter,
                others.join(", ")
            )?;
        }
        if let Some(s) = &i.stdlib {
            writeln!(out, "    stdlib {s}")?;
        }
        for d in &i.site_dirs {
            let kind = match &d.kind {
                SiteKind::System => "system".to_string(),
                SiteKind::Local => "local".to_string(),
                SiteKind::User { user } => format!("user site of {user}"),
                SiteKind::Venv { root } => format!("venv {root}"),
                SiteKind::Pth { from } => format!("added by {from}"),
            };
            writeln!(out, "    packages {} ({kind})", d.path)?;
        }
    }
    Ok(())
}

/// `explain` for people: one block per failure, the fix last.
pub fn explain_text(out: &mut Styled, answers: &[Diagnosis]) -> io::Result<()> {
    if answers.is_empty() {
        return writeln!(out, "no loader or import failure recognised in the text");
    }
    for (n, a) in answers.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{} (line {})", a.summary, a.finding.line)?;
        if let Some(f) = &a.finding.final_error {
            writeln!(
                out,
                "  (the traceback ends at line {} with: {})",
                f.line, f.text
            )?;
        }
        if let Some(c) = &a.chain {
            let mut parts = vec![c.entry.clone()];
            parts.extend(c.links.iter().map(|l| l.needed.clone()));
            writeln!(out, "  chain: {}", parts.join(CHAIN))?;
        }
        if let Some(call) = &a.loaded_by {
            writeln!(out, "  loaded at run time by: {call}")?;
        }
        if !a.in_builder.is_empty() {
            let owner = match &a.owner {
                Some(Owner::Deb { package, version }) => match version {
                    Some(v) => format!(" (Debian package {package} {v})"),
                    None => format!(" (Debian package {package})"),
                },
                Some(Owner::Wheel { name, version }) => format!(" (wheel {name} {version})"),
                None => String::new(),
            };
            writeln!(out, "  in the builder: {}{owner}", a.in_builder.join(", "))?;
        }
        if !a.fix.is_empty() {
            out.line(Style::Ok, "  fix:")?;
            for l in &a.fix {
                writeln!(out, "    {l}")?;
            }
        }
    }
    Ok(())
}
