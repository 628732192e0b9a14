//! The plan for people: what the target lacks and where the builder has
//! it, what `ctypes.util.find_library`, declared and possible run-time
//! loads, package data and traces add, and whether the final image loads.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use super::style::{Style, Styled};
use super::{allow_name, human_bytes, import_hint, on_cpus, steps, version_words, without_prefix};
use crate::copyset::{CopyItem, CopyKind, CopyPlan};
use crate::findings::CHAIN;
use crate::owners::Owner;
use crate::plan::{CopyGroup, Needer, PlanReport, PythonLayer};
use crate::python::Inventory;

/// The plan for people: what the target lacks and where it is in the
/// builder first, grouped by what needs it (with `detail`, each library
/// under its group with its paths and a chain), then what would still
/// fail in the final image.
pub fn plan_text(
    out: &mut Styled,
    p: &PlanReport,
    inv: Option<&Inventory>,
    detail: bool,
) -> io::Result<()> {
    out.span(Style::Heading, "target:")?;
    writeln!(out, " {}", p.target)?;
    if let Some(layer) = &p.layer {
        layer_text(out, layer)?;
    }
    // What makes find_library work, and the data files of the
    // package-data rule, are said on their own below.
    let data: BTreeSet<&str> = p
        .package_data
        .iter()
        .flat_map(|d| d.files.iter().map(String::as_str))
        .collect();
    let support = |i: &CopyItem| {
        i.needed_as == crate::runtime::resolve::LDCONFIG
            || i.needed_as == crate::ldso::LD_SO_CACHE
            || data.contains(i.dest.as_str())
    };
    if p.copy.items.is_empty() {
        out.line(
            Style::Ok,
            "The target provides every library the scope needs; nothing to copy.",
        )?;
    } else {
        // Paths a trace or --include added are named by path; libraries
        // by their DT_NEEDED name.
        let names: BTreeSet<&str> = p
            .copy
            .items
            .iter()
            .filter(|i| !support(i))
            .map(|i| i.needed_as.as_str())
            .collect();
        let others = names.iter().filter(|n| n.starts_with('/')).count();
        let libs = names.len() - others;
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
        let files = p.copy.items.len();
        out.line(
            Style::Heading,
            format_args!(
                "The target lacks {what}; copy {} path{} ({}) from the builder, for what needs {} (biggest first):",
                files,
                if files == 1 { "" } else { "s" },
                human_bytes(p.bytes),
                if files == 1 { "it" } else { "them" }
            ),
        )?;
        let by_dest: BTreeMap<&str, &CopyItem> =
            p.copy.items.iter().map(|i| (i.dest.as_str(), i)).collect();
        let interpreters = interpreter_names(&p.groups);
        for g in &p.groups {
            writeln!(out, "{}", group_line(g, p, &by_dest, &interpreters))?;
            if !detail {
                continue;
            }
            let mut by_name: BTreeMap<&str, Vec<&CopyItem>> = BTreeMap::new();
            for item in g.paths.iter().filter_map(|d| by_dest.get(d.as_str())) {
                if !support(item) {
                    by_name.entry(&item.needed_as).or_default().push(item);
                }
            }
            for (name, items) in &by_name {
                library_text(out, p, inv, name, items)?;
            }
        }
        if !detail {
            out.line(
                Style::Aside,
                "  (each library with its paths and what needs it: --detail; every chain that loads one: ldslim why)",
            )?;
        }
    }
    if let Some(f) = &p.find_library {
        find_library_text(out, p, f)?;
    }
    for (k, v) in &p.copy.env {
        writeln!(out, "The image must set {k}={v}")?;
    }
    for c in &p.conflicts {
        out.span(Style::Warning, "conflict:")?;
        writeln!(
            out,
            " {} (for {}) would replace the target's own {}; not copied",
            c.src, c.needed_as, c.dest
        )?;
    }
    for v in &p.versions {
        let (has, way_out) = version_words(v);
        out.span(Style::Error, "error:")?;
        writeln!(
            out,
            " {} needs {} from {}, but the image's {} defines {has}: {way_out}",
            v.object, v.version, v.from, v.provider
        )?;
    }
    for m in &p.missing {
        out.span(Style::Error, "error:")?;
        writeln!(
            out,
            " {} needed by {} will not load in the image{}: {}",
            m.name,
            m.needed_by,
            on_cpus(&m.cpus),
            m.reason
        )?;
        steps(out, &m.searched, "   ")?;
    }
    for crate::plan::Refused { entry, reason: why } in &p.refused {
        out.span(Style::Error, "error:")?;
        writeln!(
            out,
            " {entry} cannot be loaded in the image: {}",
            without_prefix(why, entry)
        )?;
    }
    for c in p.runtime_failures() {
        out.span(Style::Error, "error:")?;
        writeln!(
            out,
            " {} (loaded at run time by {}) will not load in the image:",
            c.library, c.package
        )?;
        for w in c.ways.iter().filter(|w| w.image.found().is_none()) {
            if let crate::runtime::Outcome::NotFound { why } = &w.image {
                writeln!(out, "   {}: {why}", w.way.describe())?;
            }
        }
    }
    native_text(out, p)?;
    for f in &p.python_checks {
        if f.in_builder_too {
            out.span(Style::Warning, "warning:")?;
            writeln!(out, " {}: {} (in the builder too)", f.path, f.problem)?;
        } else {
            out.span(Style::Error, "error:")?;
            writeln!(out, " {}: {}", f.path, f.problem)?;
        }
        writeln!(out, "   fix: {}", f.fix)?;
    }
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
        out.line(
            Style::Ok,
            format_args!(
                "final image: all {} objects of the scope load on every kind of CPU ({differ} librar{} found differently by kind of CPU, each kind checked){runtime}",
                p.checked,
                if differ == 1 { "y is" } else { "ies are" }
            ),
        )
    } else if p.loads() {
        out.line(
            Style::Ok,
            format_args!(
                "final image: all {} objects of the scope load{runtime}",
                p.checked
            ),
        )
    } else if p.libraries_load() {
        let n = p.python_failures().count();
        out.line(
            Style::Error,
            format_args!(
                "final image: all {} objects of the scope load, but Python would NOT work there: {n} problem{} (above)",
                p.checked,
                if n == 1 { "" } else { "s" }
            ),
        )
    } else {
        out.line(
            Style::Error,
            format_args!(
                "final image: would NOT load ({} objects checked)",
                p.checked
            ),
        )
    }
}

/// One library (or path) of the copy set with its paths and one chain
/// that needs it: what `--detail` lists under its group.
fn library_text(
    out: &mut Styled,
    p: &PlanReport,
    inv: Option<&Inventory>,
    name: &str,
    items: &[&CopyItem],
) -> io::Result<()> {
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
            Some(c)
                if c.starts_with("--include")
                    || c.starts_with("--rewrite-shebangs")
                    || c.starts_with("seen at run time") =>
            {
                ""
            }
            _ => "needed by ",
        };
        writeln!(out, "      {by}{}{hint}", item.chain.join(CHAIN))?;
    }
    Ok(())
}

/// Width the group lines are wrapped to.
const WIDTH: usize = 100;

/// The file names of the interpreters the groups name, unless two share
/// one: then they are named by path.
fn interpreter_names(groups: &[CopyGroup]) -> BTreeMap<&str, String> {
    let paths: BTreeSet<&str> = groups
        .iter()
        .flat_map(|g| &g.needed_by)
        .filter_map(|n| match n {
            Needer::Interpreter(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    let file = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    paths
        .iter()
        .map(|p| {
            let shared = paths.iter().any(|o| o != p && file(o) == file(p));
            (*p, if shared { p.to_string() } else { file(p) })
        })
        .collect()
}

/// `import tkinter`, `python3.11 itself`, or the needer's own words.
fn needer_words(n: &Needer, interpreters: &BTreeMap<&str, String>) -> String {
    match n {
        Needer::Interpreter(p) => format!(
            "{} itself",
            interpreters
                .get(p.as_str())
                .map_or(p.as_str(), String::as_str)
        ),
        Needer::Import(i) => format!("import {i}"),
        Needer::Other(s) => s.clone(),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One group of the copy set on a line (wrapped): its bytes, how many
/// libraries (or paths), what needs it, and its libraries by name — with
/// their package under `--owners` — then its other paths.
fn group_line(
    g: &CopyGroup,
    p: &PlanReport,
    by_dest: &BTreeMap<&str, &CopyItem>,
    interpreters: &BTreeMap<&str, String>,
) -> String {
    let count = match g.libraries.len() {
        0 => format!(
            "{:>2} {:<9}",
            g.paths.len(),
            if g.paths.len() == 1 { "path" } else { "paths" }
        ),
        n => format!("{n:>2} {:<9}", if n == 1 { "library" } else { "libraries" }),
    };
    let prefix = format!("  {:>10}  {count}  ", human_bytes(g.bytes));
    let needers: Vec<String> = g
        .needed_by
        .iter()
        .map(|n| needer_words(n, interpreters))
        .collect();
    let label = if needers.len() == 1 {
        needers[0].clone()
    } else {
        format!("shared by {}", and_list(&needers))
    };
    let items: Vec<&CopyItem> = g
        .paths
        .iter()
        .filter_map(|d| by_dest.get(d.as_str()).copied())
        .collect();
    let mut parts: Vec<String> = g
        .libraries
        .iter()
        .map(|lib| {
            let owner = items
                .iter()
                .filter(|i| &i.needed_as == lib)
                .find_map(|i| p.owners.get(&i.src))
                .map(|o| match o {
                    Owner::Deb { package, .. } => format!(" ({package})"),
                    Owner::Wheel { name, .. } => format!(" (wheel {name})"),
                })
                .unwrap_or_default();
            format!("{lib}{owner}")
        })
        .collect();
    // The package data by package; other paths by path, the first few.
    let mut data: BTreeSet<&str> = BTreeSet::new();
    let mut paths: Vec<&str> = Vec::new();
    for i in items.iter().filter(|i| i.needed_as.starts_with('/')) {
        match p
            .package_data
            .iter()
            .find(|d| d.files.binary_search(&i.dest).is_ok())
        {
            Some(d) => {
                data.insert(&d.package);
            }
            None => paths.push(&i.dest),
        }
    }
    parts.extend(data.iter().map(|d| format!("data of {d}")));
    const NAMED: usize = 3;
    if paths.len() > NAMED + 1 {
        parts.extend(paths[..NAMED].iter().map(|p| p.to_string()));
        parts.push(format!("and {} more paths", paths.len() - NAMED));
    } else {
        parts.extend(paths.iter().map(|p| p.to_string()));
    }
    // Broken between the label's words and between the parts, never
    // inside a part: a library stays on one line with its package.
    let mut words: Vec<String> = label.split(' ').map(str::to_string).collect();
    if let Some(last) = words.last_mut() {
        last.push(':');
    }
    let n = parts.len();
    words.extend(parts.into_iter().enumerate().map(|(k, part)| {
        if k + 1 < n { format!("{part},") } else { part }
    }));
    wrap(&words, &prefix, &" ".repeat(prefix.len()))
}

/// `words` after `first`, one space apart, broken so that lines stay
/// within [`WIDTH`] where a word allows, each further line after `indent`.
fn wrap(words: &[String], first: &str, indent: &str) -> String {
    let mut out = first.to_string();
    let mut col = first.chars().count();
    let mut at_start = true;
    for word in words {
        let w = word.chars().count();
        if !at_start && col + 1 + w > WIDTH {
            out.push('\n');
            out.push_str(indent);
            col = indent.chars().count();
            at_start = true;
        }
        if !at_start {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += w;
        at_start = false;
    }
    out
}

/// The Python files of the layer, one line per part, biggest first.
fn layer_text(out: &mut Styled, layer: &PythonLayer) -> io::Result<()> {
    out.line(
        Style::Heading,
        format_args!(
            "The Python files ({} file{} and {} link{}, {}) go into the layer as they are:",
            layer.files,
            if layer.files == 1 { "" } else { "s" },
            layer.links,
            if layer.links == 1 { "" } else { "s" },
            human_bytes(layer.bytes)
        ),
    )?;
    for part in &layer.parts {
        let mut paths = part
            .paths
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if part.paths.len() > 3 {
            paths.push_str(&format!(" and {} more", part.paths.len() - 3));
        }
        writeln!(
            out,
            "  {:>10}  {:>6} file{}  {}: {paths}",
            human_bytes(part.bytes),
            part.files,
            if part.files == 1 { " " } else { "s" },
            part.what
        )?;
    }
    if !layer.in_base.is_empty() {
        writeln!(
            out,
            "  ({} path{} the target already has {} left to it, e.g. {})",
            layer.in_base.len(),
            if layer.in_base.len() == 1 { "" } else { "s" },
            if layer.in_base.len() == 1 {
                "is"
            } else {
                "are"
            },
            layer.in_base[0]
        )?;
    }
    for problem in &layer.problems {
        out.span(Style::Warning, "warning:")?;
        writeln!(out, " not in the layer: {problem}")?;
    }
    for p in &layer.pruned {
        match &p.refused {
            Some(why) => {
                out.span(Style::Warning, "warning:")?;
                writeln!(out, " --prune {} did nothing: {why}", p.category.name())?;
            }
            None => writeln!(
                out,
                "  left out by --prune {}: {} file{} and {} link{} ({})",
                p.category.name(),
                p.files,
                if p.files == 1 { "" } else { "s" },
                p.links,
                if p.links == 1 { "" } else { "s" },
                human_bytes(p.bytes)
            )?,
        }
        for k in &p.kept {
            writeln!(out, "      kept {}: imported by {}", k.what, k.imported_by)?;
        }
    }
    if let Some(e) = &layer.evidence {
        let reached = e
            .stdlib_modules_reached
            .map(|n| format!(", reaching {n} standard-library modules"))
            .unwrap_or_default();
        writeln!(
            out,
            "  evidence: the imports of {} Python file{}{reached}, and {} trace{}; {} import{} by a name computed at run time cannot be seen",
            e.python_files,
            if e.python_files == 1 { "" } else { "s" },
            e.traces,
            if e.traces == 1 { "" } else { "s" },
            e.dynamic_imports,
            if e.dynamic_imports == 1 { "" } else { "s" },
        )?;
    }
    Ok(())
}

/// The plan as the `COPY` lines of a Dockerfile, under a heading.
pub fn dockerfile(out: &mut Styled, plan: &CopyPlan) -> io::Result<()> {
    out.line(Style::Heading, "Dockerfile (after FROM <target>):")?;
    let mut text = Vec::new();
    crate::emit::dockerfile(&mut text, plan, "builder")?;
    // What the emitter says besides COPY lines is Dockerfile comments:
    // whole lines that start with `#`.
    for line in String::from_utf8_lossy(&text).split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if body.starts_with('#') {
            out.span(Style::Aside, body)?;
        } else {
            write!(out, "{body}")?;
        }
        write!(out, "{nl}")?;
    }
    writeln!(out)
}

/// Declared loads that fail or are left out, and possible loads the image
/// lacks, by object.
fn native_text(out: &mut Styled, p: &PlanReport) -> io::Result<()> {
    for d in &p.declared {
        let names = d.declared.sonames.join(" or ");
        let what = declared_words(d);
        if d.fails() {
            out.span(Style::Error, "error:")?;
            writeln!(
                out,
                " {names} ({what}, declared by {} in .note.dlopen) will not load in the image",
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
            out.span(Style::Warning, "warning:")?;
            writeln!(out, " {object}: {problem}")?;
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
        out.span(Style::Warning, "warning:")?;
        writeln!(out, " {problem}")?;
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
                d.via.join(CHAIN),
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
fn trace_text(out: &mut Styled, t: &crate::plan::TraceReport) -> io::Result<()> {
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
        out.span(Style::Warning, "warning:")?;
        writeln!(out, " --trace: {problem}")?;
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

/// What the plan adds for `ctypes.util.find_library`, and for which calls.
fn find_library_text(
    out: &mut Styled,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The Dockerfile under the plan: its comments dim and its COPY lines
    /// plain in colour, the same bytes without escapes when colour is off.
    #[test]
    fn dockerfile_comments_are_asides() {
        let plan = CopyPlan {
            target: "distroless/cc-debian12".into(),
            items: vec![CopyItem {
                dest: "/usr/lib/libx.so.1".into(),
                src: "/usr/lib/libx.so.1".into(),
                kind: CopyKind::File {
                    mode: 0o644,
                    size: 10,
                },
                needed_as: "libx.so.1".into(),
                chain: vec!["/usr/bin/python3.11".into()],
            }],
            ..CopyPlan::default()
        };
        let render = |color: bool| {
            let mut out = Styled::new(Vec::new(), color);
            dockerfile(&mut out, &plan).unwrap();
            String::from_utf8(out.into_inner()).unwrap()
        };
        let coloured = render(true);
        let lines: Vec<&str> = coloured.lines().collect();
        assert_eq!(lines[0], "\x1b[1mDockerfile (after FROM <target>):\x1b[0m");
        assert!(lines[1].starts_with("\x1b[2m# ") && lines[1].ends_with("\x1b[0m"));
        assert!(lines.contains(&"COPY --from=builder /usr/lib/libx.so.1 /usr/lib/"));
        assert_eq!(
            coloured
                .replace("\x1b[1m", "")
                .replace("\x1b[2m", "")
                .replace("\x1b[0m", ""),
            render(false)
        );
        assert!(render(false).ends_with("\n\n"));
    }
}
