//! `ldd`-style lines (what the differential test holds against
//! `ld.so --list`) and the `scan --tree` view of one entry's load order.

use std::io::{self, Write};

use super::style::{Style, Styled};
use super::without_prefix;
use crate::graph::CpuDependence;
use crate::graph::{EntryError, LoadOrder};

/// `ldd`-style lines for one entry: the contract the differential test
/// holds against `ld.so --list` (addresses and the vDSO left out).
pub fn ldd(
    out: &mut Styled,
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
                    // glibc prints an object found by the very name asked
                    // for (the loader by its PT_INTERP path, a DT_NEEDED
                    // path) without `=>` (elf/rtld.c, `l_libname->name`
                    // equal to `l_name`).
                    Some(p) if *p == o.name => writeln!(out, "\t{p}")?,
                    Some(p) => writeln!(out, "\t{} => {}", o.name, p)?,
                    None => {
                        write!(out, "\t{} => ", o.name)?;
                        out.line(Style::Missing, "not found")?
                    }
                }
            }
            Ok(())
        }
    }
}

/// One object's tree with the reason on each edge. Each object's children
/// are shown once, under the edge that loaded it.
pub fn tree(out: &mut Styled, order: &LoadOrder) -> io::Result<()> {
    writeln!(out, "{} [{}]", order.entry, order.abi)?;
    let mut shown = vec![false; order.objects.len()];
    shown[0] = true;
    tree_children(out, order, 0, "", &mut shown)?;
    if let Some(f) = &order.fatal {
        out.span(Style::Error, "error:")?;
        writeln!(out, " {f} (glibc stops loading here)")?;
    }
    for w in &order.warnings {
        out.span(Style::Warning, "warning:")?;
        writeln!(out, " {}: {}: {}", w.object, w.needed, w.message)?;
    }
    for d in &order.cpu_dependent {
        cpu_dependence(out, d, "")?;
    }
    Ok(())
}

/// What each kind of CPU loads for an edge that depends on the CPU, one
/// line per distinct outcome.
pub fn cpu_dependence(
    out: &mut (impl Write + ?Sized),
    d: &CpuDependence,
    indent: &str,
) -> io::Result<()> {
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
    out: &mut Styled,
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
            None => {
                write!(out, "{prefix}{branch}{} => ", e.needed)?;
                out.line(Style::Missing, "not found")?
            }
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
