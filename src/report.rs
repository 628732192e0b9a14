//! Rendering results for people (text) and programs (JSON, `ldd` lines).
//! Every reason label comes from [`How::label`], so an edge reads the same
//! everywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use crate::copyset::{CopyItem, CopyKind};
use crate::diagnose::Diagnosis;
use crate::graph::CpuDependence;
use crate::graph::{EntryError, LoadOrder};
use crate::ldso::Step;
use crate::owners::Owner;
use crate::plan::PlanReport;
use crate::python::module::module_of;
use crate::python::{Inventory, SiteKind};
use crate::scan::ScanReport;
use crate::why::WhyReport;

/// `ldd`-style lines for one entry: the contract the differential test
/// holds against `ld.so --list` (addresses and the vDSO left out).
pub fn ldd(
    out: &mut dyn Write,
    entry: &str,
    result: &Result<LoadOrder, EntryError>,
) -> io::Result<()> {
    writeln!(out, "{entry}:")?;
    match result {
        // glibc's trace mode says this of its own loader.
        Err(EntryError::IsLoader(_)) => writeln!(out, "\tstatically linked"),
        Err(e) => writeln!(out, "\terror: {}", without_prefix(&e.to_string(), entry)),
        // glibc stops at the first fatal defect and lists nothing.
        Ok(order) if order.fatal.is_some() => {
            let f = order
                .fatal
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_default();
            writeln!(out, "\terror: {f}")
        }
        // Nothing to load besides the entry: glibc's trace mode prints this.
        Ok(order) if order.objects.len() == 1 => writeln!(out, "\tstatically linked"),
        Ok(order) => {
            for o in order.objects.iter().skip(1) {
                match &o.path {
                    Some(p) => writeln!(out, "\t{} => {}", o.name, p)?,
                    None => writeln!(out, "\t{} => not found", o.name)?,
                }
            }
            Ok(())
        }
    }
}

fn without_prefix<'a>(message: &'a str, path: &str) -> &'a str {
    message
        .strip_prefix(path)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
}

/// One object's tree with the reason on each edge. Each object's children
/// are shown once, under the edge that loaded it.
pub fn tree(out: &mut dyn Write, order: &LoadOrder) -> io::Result<()> {
    writeln!(out, "{} [{}]", order.entry, order.abi)?;
    let mut shown = vec![false; order.objects.len()];
    shown[0] = true;
    tree_children(out, order, 0, "", &mut shown)?;
    if let Some(f) = &order.fatal {
        writeln!(out, "error: {f} (glibc stops loading here)")?;
    }
    for w in &order.warnings {
        writeln!(out, "warning: {}: {}: {}", w.object, w.needed, w.message)?;
    }
    for d in &order.cpu_dependent {
        cpu_dependence(out, d, "")?;
    }
    Ok(())
}

/// What each kind of CPU loads for an edge that depends on the CPU, one
/// line per distinct outcome.
pub fn cpu_dependence(out: &mut dyn Write, d: &CpuDependence, indent: &str) -> io::Result<()> {
    writeln!(
        out,
        "{indent}depends on the CPU: {} needs {}:",
        d.object, d.needed
    )?;
    for o in &d.outcomes {
        match &o.path {
            Some(p) => writeln!(out, "{indent}    {p} on {}", o.cpus.join(", "))?,
            None => writeln!(out, "{indent}    not found on {}", o.cpus.join(", "))?,
        }
    }
    Ok(())
}

fn tree_children(
    out: &mut dyn Write,
    order: &LoadOrder,
    n: usize,
    prefix: &str,
    shown: &mut [bool],
) -> io::Result<()> {
    let needs = &order.objects[n].needs;
    for (i, e) in needs.iter().enumerate() {
        let last = i + 1 == needs.len();
        let (branch, next) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let target = &order.objects[e.object];
        let expand = !shown[e.object] && target.loaded_by == Some(n);
        match &target.path {
            None => writeln!(out, "{prefix}{branch}{} => not found", e.needed)?,
            Some(p) => writeln!(
                out,
                "{prefix}{branch}{} => {p} [{}]",
                e.needed,
                e.how.label()
            )?,
        }
        if expand {
            shown[e.object] = true;
            tree_children(out, order, e.object, &format!("{prefix}{next}"), shown)?;
        }
    }
    Ok(())
}

/// Numbered places searched, one per line.
fn steps(out: &mut dyn Write, steps: &[Step], indent: &str) -> io::Result<()> {
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

/// The scan report for people: findings first, then a one-line summary.
pub fn scan_text(out: &mut dyn Write, r: &ScanReport) -> io::Result<()> {
    for u in &r.unresolved {
        writeln!(out, "not found: {}", u.name)?;
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
        writeln!(out, "load error: {}: {}", f.entry, f.fatal)?;
    }
    if !r.fatal.is_empty() {
        writeln!(out)?;
    }
    // Many warnings are the same benign case repeated (vendored libraries
    // loaded on their own): show a screenful, the rest are in the JSON.
    const SHOWN: usize = 12;
    for w in r.warnings.iter().take(SHOWN) {
        writeln!(out, "warning: {}: {}: {}", w.object, w.needed, w.message)?;
    }
    if r.warnings.len() > SHOWN {
        writeln!(
            out,
            "… and {} more warnings (all of them with --format json)",
            r.warnings.len() - SHOWN
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
        writeln!(out, "bad file: {}: {}", e.path, e.message)?;
    }
    if !r.errors.is_empty() {
        writeln!(out)?;
    }
    writeln!(out, "{}", summary_line(r))
}

/// Run-time loads the scan could not resolve or follow: findings, each
/// with how to accept it.
fn runtime_text(out: &mut dyn Write, rt: &crate::runtime::Found) -> io::Result<()> {
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

/// The scan report as JSON (schema: docs/json.md), with the plan when
/// there is one.
pub fn scan_json(out: &mut dyn Write, r: &ScanReport, plan: Option<&PlanReport>) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        report: &'a ScanReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        plan: Option<PlanDoc<'a>>,
    }
    #[derive(serde::Serialize)]
    struct PlanDoc<'a> {
        #[serde(flatten)]
        plan: &'a PlanReport,
        loads: bool,
        verdict: crate::plan::Verdict,
    }
    let doc = Doc {
        schema: "ldslim.scan/2",
        report: r,
        plan: plan.map(|p| PlanDoc {
            plan: p,
            loads: p.verdict() == crate::plan::Verdict::Loads,
            verdict: p.verdict(),
        }),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

/// The plan for people: what the target lacks and where it is in the
/// builder first, then what would still fail in the final image.
pub fn plan_text(out: &mut dyn Write, p: &PlanReport, inv: Option<&Inventory>) -> io::Result<()> {
    writeln!(out, "target: {}", p.target)?;
    // Items grouped by the library they serve, in name order; what makes
    // find_library work is said on its own.
    let support = |i: &&CopyItem| {
        i.needed_as == crate::runtime::resolve::LDCONFIG || i.needed_as == crate::ldso::LD_SO_CACHE
    };
    // Data files of the package-data rule are said per package, below.
    let data: BTreeSet<&str> = p
        .package_data
        .iter()
        .flat_map(|d| d.files.iter().map(String::as_str))
        .collect();
    let support = |i: &&CopyItem| support(i) || data.contains(i.dest.as_str());
    let mut by_name: BTreeMap<&str, Vec<&CopyItem>> = BTreeMap::new();
    for item in p.copy.items.iter().filter(|i| !support(i)) {
        by_name.entry(&item.needed_as).or_default().push(item);
    }
    if by_name.is_empty() {
        writeln!(
            out,
            "The target provides every library the scope needs; nothing to copy."
        )?;
    } else {
        let files = p.copy.items.iter().filter(|i| !support(i)).count();
        let bytes: u64 = p
            .copy
            .items
            .iter()
            .filter(|i| !support(i))
            .map(|i| match i.kind {
                CopyKind::File { size, .. } | CopyKind::Generated { size, .. } => size,
                CopyKind::Symlink { .. } => 0,
            })
            .sum();
        // Paths a trace or --include added are named by path; libraries
        // by their DT_NEEDED name.
        let others = by_name.keys().filter(|n| n.starts_with('/')).count();
        let libs = by_name.len() - others;
        let what = match (libs, others) {
            (l, 0) => format!("{l} librar{}", if l == 1 { "y" } else { "ies" }),
            (0, o) => format!(
                "{o} path{} the traces or --include name",
                if o == 1 { "" } else { "s" }
            ),
            (l, o) => format!(
                "{l} librar{} and {o} path{} the traces or --include name",
                if l == 1 { "y" } else { "ies" },
                if o == 1 { "" } else { "s" }
            ),
        };
        writeln!(
            out,
            "The target lacks {what}; copy {} path{} ({}) from the builder:",
            files,
            if files == 1 { "" } else { "s" },
            human_bytes(bytes)
        )?;
        for (name, items) in &by_name {
            let owner = items
                .iter()
                .find_map(|i| p.owners.get(&i.src))
                .map(|o| match o {
                    Owner::Deb {
                        package,
                        version: Some(v),
                    } => format!("  (Debian package {package} {v})"),
                    Owner::Deb {
                        package,
                        version: None,
                    } => format!("  (Debian package {package})"),
                    Owner::Wheel { name, version } => format!("  (wheel {name} {version})"),
                })
                .unwrap_or_default();
            writeln!(out, "  {name}{owner}")?;
            for item in items {
                let what = match &item.kind {
                    CopyKind::Symlink { target } => format!("-> {target}"),
                    CopyKind::File { size, .. } => format!("({})", human_bytes(*size)),
                    CopyKind::Generated { size, .. } => {
                        format!("({}, written by ldslim)", human_bytes(*size))
                    }
                };
                if item.dest == item.src {
                    writeln!(out, "      {} {what}", item.dest)?;
                } else {
                    writeln!(out, "      {} {what}, from {}", item.dest, item.src)?;
                }
            }
            if let Some(item) = items.first() {
                let hint = item
                    .chain
                    .first()
                    .map(|e| import_hint(e, inv))
                    .unwrap_or_default();
                // An include or a trace is its own reason, not a chain.
                let by = match item.chain.first() {
                    Some(c) if c.starts_with("--include") || c.starts_with("seen at run time") => {
                        ""
                    }
                    _ => "needed by ",
                };
                writeln!(out, "      {by}{}{hint}", item.chain.join(" -> "))?;
            }
        }
    }
    if let Some(f) = &p.find_library {
        find_library_text(out, p, f)?;
    }
    for (k, v) in &p.copy.env {
        writeln!(out, "The image must set {k}={v}")?;
    }
    for c in &p.conflicts {
        writeln!(
            out,
            "conflict: {} (for {}) would replace the target's own {}; not copied",
            c.src, c.needed_as, c.dest
        )?;
    }
    for v in &p.versions {
        let (has, way_out) = version_words(v);
        writeln!(
            out,
            "error: {} needs {} from {}, but the image's {} defines {has}: {way_out}",
            v.object, v.version, v.from, v.provider
        )?;
    }
    for m in &p.missing {
        writeln!(
            out,
            "error: {} needed by {} will not load in the image{}: {}",
            m.name,
            m.needed_by,
            on_cpus(&m.cpus),
            m.reason
        )?;
        steps(out, &m.searched, "   ")?;
    }
    for (entry, why) in &p.refused {
        writeln!(
            out,
            "error: {entry} cannot be loaded in the image: {}",
            without_prefix(why, entry)
        )?;
    }
    for c in p.runtime_failures() {
        writeln!(
            out,
            "error: {} (loaded at run time by {}) will not load in the image:",
            c.library, c.package
        )?;
        for w in c.ways.iter().filter(|w| w.image.found().is_none()) {
            if let crate::runtime::Outcome::NotFound { why } = &w.image {
                writeln!(out, "   {}: {why}", w.way.describe())?;
            }
        }
    }
    native_text(out, p)?;
    let differ = p
        .cpu_dependent
        .iter()
        .map(|d| (&d.object, &d.needed))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let runtime = match p.runtime.len() {
        _ if !p.runtime_checked => {
            "; libraries loaded at run time (ctypes, cffi) were not looked for (--no-runtime)"
                .to_string()
        }
        0 => String::new(),
        n => format!(
            "; {n} run-time load{} (ctypes, cffi) checked as in the builder",
            if n == 1 { "" } else { "s" }
        ),
    };
    let declared = p
        .declared
        .iter()
        .filter(|d| d.declared.priority.is_copied() && d.builder.found().is_some())
        .count();
    let runtime = match declared {
        0 => runtime,
        n => format!(
            "{runtime}; {n} load{} declared in .note.dlopen checked",
            if n == 1 { "" } else { "s" }
        ),
    };
    let unverified = p.unverified_loads().count();
    if unverified > 0 && p.loads() {
        writeln!(
            out,
            "final image: NOT VERIFIED: all {} objects of the scope load{runtime}, but {unverified} possible run-time load{} of copied objects (above) cannot be checked",
            p.checked,
            if unverified == 1 { "" } else { "s" }
        )
    } else if p.loads() && differ > 0 {
        writeln!(
            out,
            "final image: all {} objects of the scope load on every kind of CPU ({differ} librar{} found differently by kind of CPU, each kind checked){runtime}",
            p.checked,
            if differ == 1 { "y is" } else { "ies are" }
        )
    } else if p.loads() {
        writeln!(
            out,
            "final image: all {} objects of the scope load{runtime}",
            p.checked
        )
    } else {
        writeln!(
            out,
            "final image: would NOT load ({} objects checked)",
            p.checked
        )
    }
}

/// Declared loads that fail or are left out, and possible loads the image
/// lacks, by object.
fn native_text(out: &mut dyn Write, p: &PlanReport) -> io::Result<()> {
    for d in &p.declared {
        let names = d.declared.sonames.join(" or ");
        let what = declared_words(d);
        if d.fails() {
            writeln!(
                out,
                "error: {names} ({what}, declared by {} in .note.dlopen) will not load in the image",
                d.object
            )?;
            if let crate::runtime::Outcome::NotFound { why } = &d.image {
                writeln!(out, "   {why}")?;
            }
        } else if d.declared.priority == crate::runtime::native::Priority::Suggested
            && d.image.found().is_none()
            && d.builder.found().is_some()
        {
            writeln!(
                out,
                "note: {} declares {names} ({what}) in .note.dlopen as suggested: not copied; copy it yourself for that feature",
                d.object
            )?;
        }
    }
    for (object, problems) in &p.declared_problems {
        for problem in problems {
            writeln!(out, "warning: {object}: {problem}")?;
        }
    }
    let mut by_object: BTreeMap<&str, Vec<&crate::plan::Unverified>> = BTreeMap::new();
    for u in p.unverified_loads() {
        by_object.entry(&u.object).or_default().push(u);
    }
    for (object, us) in &by_object {
        writeln!(
            out,
            "unverified: {object} calls {} and:",
            us[0].calls.join(", ")
        )?;
        for u in us {
            let builder = match &u.named {
                crate::runtime::native::Named::Library(_) => {
                    format!(" (the builder has {}; the image does not)", u.builder)
                }
                _ => " (in the builder, not in the image)".to_string(),
            };
            writeln!(out, "   {}{builder}", u.named.describe())?;
        }
        let includes: Vec<String> = us
            .iter()
            .map(|u| format!("--include {}", u.builder))
            .collect();
        writeln!(
            out,
            "   ldslim cannot tell whether it does: copy {} with {}, or accept {} with --allow-runtime {} (then run the application's smoke test in the image)",
            if us.len() == 1 { "it" } else { "them" },
            includes.join(" "),
            if us.len() == 1 { "it" } else { "them" },
            allow_name(us[0])
        )?;
    }
    for problem in &p.include_problems {
        writeln!(out, "warning: {problem}")?;
    }
    if !p.package_data.is_empty() {
        writeln!(
            out,
            "Data files of the copied libraries' Debian packages (--no-package-data leaves them out):"
        )?;
        for d in &p.package_data {
            let bytes: u64 = p
                .copy
                .items
                .iter()
                .filter(|i| d.files.binary_search(&i.dest).is_ok())
                .map(|i| match i.kind {
                    CopyKind::File { size, .. } => size,
                    _ => 0,
                })
                .sum();
            writeln!(
                out,
                "  {} ({}): {} path{} ({}), for {}",
                d.package,
                d.via.join(" -> "),
                d.files.len(),
                if d.files.len() == 1 { "" } else { "s" },
                human_bytes(bytes),
                d.library
            )?;
        }
    }
    if let Some(t) = &p.trace {
        trace_text(out, t)?;
    }
    Ok(())
}

/// What `--trace` added and left out, in a few lines.
fn trace_text(out: &mut dyn Write, t: &crate::plan::TraceReport) -> io::Result<()> {
    use crate::plan::TracedKind;
    let count = |k: TracedKind| t.added.iter().filter(|a| a.kind == k).count();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    for l in &t.left_out {
        let name = serde_json::to_value(l.rule)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        *rules.entry(name).or_default() += 1;
    }
    let rules: Vec<String> = rules.iter().map(|(r, n)| format!("{n} {r}")).collect();
    writeln!(
        out,
        "Traces ({}): {} added ({} shared objects, {} files, {} programs, each with what it needs), {} left out{}",
        t.commands.len(),
        t.added.len(),
        count(TracedKind::Object),
        count(TracedKind::File),
        count(TracedKind::Executable),
        t.left_out.len(),
        if rules.is_empty() {
            String::new()
        } else {
            format!(" ({})", rules.join(", "))
        }
    )?;
    for problem in &t.problems {
        writeln!(out, "warning: --trace: {problem}")?;
    }
    for d in &t.directories {
        writeln!(
            out,
            "note: {} was listed at run time (by {}); the image lacks {} of its entries: {}{} (copy what the application needs with --include, or trace a run that uses it)",
            d.path,
            d.by,
            d.lacking_count,
            d.lacking.join(" "),
            if d.lacking_count > d.lacking.len() {
                " …"
            } else {
                ""
            }
        )?;
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

/// `required: Support lz4 compression` or `recommended` for a declared load.
fn declared_words(d: &crate::plan::DeclaredCheck) -> String {
    let mut w = d.declared.priority.name().to_string();
    if let Some(f) = &d.declared.feature {
        w.push_str(&format!(", feature {f}"));
    }
    if let Some(desc) = &d.declared.description {
        w.push_str(&format!(": {desc}"));
    }
    w
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

/// What the plan adds for `ctypes.util.find_library`, and for which calls.
fn find_library_text(
    out: &mut dyn Write,
    p: &PlanReport,
    f: &crate::plan::FindLibrarySupport,
) -> io::Result<()> {
    let calls = f.needed_by.join(", ");
    if !f.added {
        let why = f.problem.as_deref().unwrap_or("not added");
        return writeln!(out, "ctypes.util.find_library ({calls}): {why}");
    }
    writeln!(
        out,
        "For ctypes.util.find_library ({calls}), which runs /sbin/ldconfig -p (a distroless image has neither it nor an ld.so.cache):"
    )?;
    for item in p.copy.items.iter().filter(|i| {
        i.needed_as == crate::runtime::resolve::LDCONFIG || i.needed_as == crate::ldso::LD_SO_CACHE
    }) {
        match &item.kind {
            CopyKind::Generated { size, .. } => {
                let names: Vec<&str> = f.entries.iter().map(|e| e.name.as_str()).collect();
                writeln!(
                    out,
                    "      {} ({}, written by ldslim; lists {})",
                    item.dest,
                    human_bytes(*size),
                    names.join(", ")
                )?
            }
            CopyKind::File { size, .. } => writeln!(
                out,
                "      {} ({}), from the builder's {}",
                item.dest,
                human_bytes(*size),
                item.src
            )?,
            CopyKind::Symlink { target } => writeln!(out, "      {} -> {target}", item.dest)?,
        }
    }
    Ok(())
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

/// What the target does about the library, in one sentence; the plan's
/// copies follow it when there are any.
fn why_verdict(w: &WhyReport, p: &PlanReport, in_target: Option<&str>) -> String {
    let builder = w.builder_files();
    if !why_target(w, p).is_empty() {
        return format!("target {}: lacks it; the plan copies:", p.target);
    }
    match (in_target, builder.first()) {
        (Some(at), _) => format!("target {}: provides it ({at}); nothing to copy", p.target),
        (None, None) => format!("target {}: lacks it, and so does the builder", p.target),
        (None, Some(file)) if w.is_loaded() => format!(
            "target {}: lacks it, and the plan does not copy it: see the plan (`ldslim scan`) for why {file} is left out",
            p.target
        ),
        (None, Some(file)) => format!(
            "target {}: lacks it; nothing in scope loads it, so the plan does not copy it (add it with `ldslim scan --include {file}` if the application loads it in a way ldslim cannot see)",
            p.target
        ),
    }
}

/// `why` for people: the file, each chain with the reason on each edge,
/// the run-time loads, and what the target does about it.
pub fn why_text(
    out: &mut dyn Write,
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
                "  {}-> {} => {} [{}]",
                "   ".repeat(depth + 1),
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
        writeln!(out, "{}", why_verdict(w, p, in_target))?;
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

/// `why` as JSON.
pub fn why_json(
    out: &mut dyn Write,
    w: &WhyReport,
    plan: Option<&PlanReport>,
    in_target: Option<&str>,
) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        why: &'a WhyReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<&'a str>,
        /// Where the target has it (absent when it lacks it).
        #[serde(skip_serializing_if = "Option::is_none")]
        in_target: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        copy: Option<Vec<&'a CopyItem>>,
    }
    let doc = Doc {
        schema: "ldslim.why/2",
        why: w,
        target: plan.map(|p| p.target.as_str()),
        in_target: plan.and(in_target),
        copy: plan.map(|p| why_target(w, p)),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

/// What `--scope python` found, so the user sees what was checked.
pub fn python_text(out: &mut dyn Write, inv: &Inventory) -> io::Result<()> {
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

/// ` (import bz2)` for an extension module, or nothing.
pub fn import_hint(path: &str, inv: Option<&Inventory>) -> String {
    inv.and_then(|inv| module_of(path, inv))
        .map(|m| format!(" (import {})", m.import))
        .unwrap_or_default()
}

/// `explain` for people: one block per failure, the fix last.
pub fn explain_text(out: &mut dyn Write, answers: &[Diagnosis]) -> io::Result<()> {
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
            writeln!(out, "  chain: {}", parts.join(" -> "))?;
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
            writeln!(out, "  fix:")?;
            for l in &a.fix {
                writeln!(out, "    {l}")?;
            }
        }
    }
    Ok(())
}

/// `explain` as JSON.
pub fn explain_json(out: &mut dyn Write, answers: &[Diagnosis]) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        failures: &'a [Diagnosis],
    }
    serde_json::to_writer_pretty(
        &mut *out,
        &Doc {
            schema: "ldslim.explain/1",
            failures: answers,
        },
    )
    .map_err(io::Error::other)?;
    writeln!(out)
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
    /// `image-unverified`, `conflict`, `copy`.
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
    for (entry, why) in &p.refused {
        out.push(Annotation {
            level: Level::Error,
            check: "image-refused",
            path: entry.clone(),
            title: format!("{entry} cannot be loaded in {}", p.target),
            message: without_prefix(why, entry).to_string(),
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
            .map(|i| i.chain.join(" -> "))
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

const RED: &str = "\x1b[31m";
const BOLD_RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Colours a text report line by line, by what each line says, so that
/// every renderer stays plain text. Used only when colour is on: with
/// colour off the report is not passed through it at all, and the bytes
/// are the renderers' own. A line is written once its newline is (the
/// rest at [`Write::flush`]).
pub struct Colored<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> Colored<W> {
    pub fn new(inner: W) -> Colored<W> {
        Colored {
            inner,
            line: Vec::new(),
        }
    }

    fn emit_line(&mut self) -> io::Result<()> {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        self.inner.write_all(paint(&line).as_bytes())
    }
}

impl<W: Write> Write for Colored<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for chunk in buf.split_inclusive(|&b| b == b'\n') {
            self.line.extend_from_slice(chunk);
            if chunk.ends_with(b"\n") {
                self.emit_line()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            self.emit_line()?;
        }
        self.inner.flush()
    }
}

/// One line of a text report with ANSI colours: problems red, warnings
/// yellow, a final image that loads green, headings bold.
pub fn paint(line: &str) -> String {
    let (body, nl) = match line.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (line, ""),
    };
    let whole = |style: &str| format!("{style}{body}{RESET}{nl}");
    let label = |prefix: &str, style: &str| {
        format!(
            "{style}{}{RESET}{}{nl}",
            prefix.trim_end(),
            &body[prefix.trim_end().len()..]
        )
    };
    const LABELS: &[(&str, &str)] = &[
        ("not found: ", BOLD_RED),
        ("load error: ", BOLD_RED),
        ("error: ", BOLD_RED),
        ("bad file: ", RED),
        ("warning: ", YELLOW),
        ("conflict: ", YELLOW),
        ("target: ", BOLD),
    ];
    if body.starts_with("final image: all") {
        return whole(GREEN);
    }
    if body.starts_with("final image: would NOT load") {
        return whole(BOLD_RED);
    }
    if body.starts_with("The target lacks") || body.starts_with("Dockerfile (after FROM") {
        return whole(BOLD);
    }
    if body.starts_with("The target provides every library") {
        return whole(GREEN);
    }
    if body.starts_with('#') || body.starts_with("… and ") {
        return whole(DIM);
    }
    if body.starts_with("target ") && body.ends_with(": provides it; nothing to copy") {
        return whole(GREEN);
    }
    if body.starts_with("target ") && body.contains(": lacks it;") {
        return whole(YELLOW);
    }
    if body == "  fix:" {
        return whole(GREEN);
    }
    for (prefix, style) in LABELS {
        if body.starts_with(prefix) {
            return label(prefix, style);
        }
    }
    if let Some(name) = body.strip_suffix(" => not found") {
        return format!("{name} => {BOLD_RED}not found{RESET}{nl}");
    }
    line.to_string()
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
