//! `explain`: tie each failure found in a message to the builder — which
//! object failed, which file it needs, the chain from the Python module,
//! where that file is in the builder, who owns it, and the exact fix.

use serde::Serialize;

use crate::copyset::{CopyItem, CopyPlan};
use crate::emit;
use crate::explain::{Failure, Finding};
use crate::graph::Session;
use crate::owners::{Owner, Owners};
use crate::plan::PlanReport;
use crate::python::Inventory;
use crate::python::module::module_of;
use crate::runtime::RuntimeLoad;
use crate::runtime::resolve::{Callers, Ldconfig};
use crate::why::{self, Chain};

/// One failure, explained.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub finding: Finding,
    /// One line saying what went wrong, in the user's terms.
    pub summary: String,
    /// The `import` that fails, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<String>,
    /// One chain of DT_NEEDED edges from a Python module to the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    /// The scope's Python call that loads the file at run time
    /// (`file:line call`), when the failing module is the caller's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loaded_by: Option<String>,
    /// Where the needed file is in the builder (canonical paths).
    pub in_builder: Vec<String>,
    /// Who installed it there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// What to do, one instruction per line (Dockerfile lines verbatim).
    pub fix: Vec<String>,
}

/// What a diagnosis needs to know about the builder.
pub struct Context<'a> {
    pub session: &'a Session,
    pub entries: &'a [String],
    pub python: Option<&'a Inventory>,
    pub owners: &'a Owners,
    pub plan: Option<&'a PlanReport>,
    /// What the user copies themselves (canonical builder paths).
    pub scope: &'a [String],
    /// The scope's run-time loads, and who calls `dlopen` for them.
    pub runtime: &'a [RuntimeLoad],
    pub callers: &'a Callers,
    /// Where the target has a library (a soname), when it has it.
    pub target_has: &'a dyn Fn(&str) -> Option<String>,
}

/// Explain every finding.
pub fn diagnose(cx: &Context<'_>, findings: &[Finding]) -> Vec<Diagnosis> {
    findings.iter().map(|f| diagnose_one(cx, f)).collect()
}

fn diagnose_one(cx: &Context<'_>, f: &Finding) -> Diagnosis {
    let import = import_of(cx, f);
    let mut d = Diagnosis {
        finding: f.clone(),
        summary: String::new(),
        import: import.clone(),
        chain: None,
        loaded_by: None,
        in_builder: Vec::new(),
        owner: None,
        fix: Vec::new(),
    };
    let failing = match (&import, &f.object) {
        (Some(i), _) => format!("import {i} fails"),
        (None, Some(o)) => format!("{o} cannot be loaded"),
        (None, None) => "a load fails".into(),
    };
    match &f.failure {
        Failure::MissingLibrary { library } => {
            d.summary = format!("{failing}: {library} is missing from the image");
            let w = why::why(cx.session, cx.entries, cx.runtime, cx.callers, library);
            // The failing package loads it itself at run time: that call
            // is the way in, not some other object's DT_NEEDED chain.
            let top = import.as_deref().map(|m| m.split('.').next().unwrap_or(m));
            let own_call = w.runtime.iter().find(|l| {
                top.is_some_and(|t| {
                    let pkg = l.package.rsplit('/').next().unwrap_or(&l.package);
                    pkg == t || pkg.strip_suffix(".py") == Some(t)
                })
            });
            match own_call {
                Some(l) => {
                    d.loaded_by = l.calls.first().map(|c| format!("{} {}", c.place(), c.text));
                }
                None => d.chain = pick_chain(cx, &w.chains, f),
            }
            let files = w.builder_files();
            d.in_builder = files.clone();
            d.owner = files.first().and_then(|p| cx.owners.owner(p));
            missing_library_fix(cx, library, &files, &mut d.fix);
            also_missing(cx, library, d.chain.as_ref(), &mut d.fix);
        }
        Failure::LibraryNotFound { library } => {
            d.summary = format!(
                "{failing}: it looked for the {library} library by name and found none (ctypes.util.find_library(\"{library}\") returns None where /sbin/ldconfig and an ld.so.cache listing it are missing, as in a distroless image)"
            );
            not_found_fix(cx, library, &mut d);
        }
        Failure::MissingVersion {
            version,
            library,
            required_by,
        } => {
            d.summary = format!(
                "{required_by} needs {version}, which the image's {library} does not define"
            );
            d.owner = cx.owners.owner(required_by);
            // The library as the loader names it (`libc.so.6`): the
            // embedded targets whose copy defines the version are the way out.
            let soname = std::path::Path::new(library)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| library.clone());
            let suggested = crate::plan::targets_defining(&soname, version);
            if suggested.is_empty() {
                d.fix.push(format!(
                    "build on a builder whose {library} is as old as the target's, or use a target with {version}"
                ));
            } else {
                d.fix.push(format!(
                    "use a base image that has {version}: {} (ldslim scan --target {})",
                    suggested.join(", "),
                    suggested[0]
                ));
                d.fix
                    .push("or build on a builder as old as the current target".into());
            }
        }
        Failure::UndefinedSymbol { symbol } => {
            d.summary = format!("{failing}: symbol {symbol} is not defined by what it loads");
            if let Some(o) = &f.object {
                d.owner = cx.owners.owner(o);
            }
            d.fix.push(
                "a library in the image is a different version than in the builder: compare with `ldslim ldd` on both roots and copy the builder's"
                    .into(),
            );
        }
        Failure::WrongClass { class } => {
            d.summary =
                format!("{failing}: a library of the wrong class ({class}) is in the search path");
            d.fix
                .push("remove the other-architecture library from the image's search path".into());
        }
        Failure::Other { message } => {
            d.summary = format!("{failing}: {message}");
        }
    }
    d
}

/// The `import` the user typed, from the module the traceback names.
fn import_of(cx: &Context<'_>, f: &Finding) -> Option<String> {
    let module = f.module.as_deref()?;
    // A private stdlib module (`_bz2`) is imported through its public one
    // (`bz2`): ask the inventory which extension module implements it.
    if let Some(inv) = cx.python {
        for e in cx.entries {
            if let Some(m) = module_of(e, inv)
                && m.name == module
            {
                return Some(m.import);
            }
        }
    }
    Some(module.split('.').next().unwrap_or(module).to_string())
}

/// The chain that starts at the module the message names, else the shortest.
fn pick_chain(cx: &Context<'_>, chains: &[Chain], f: &Finding) -> Option<Chain> {
    let by_module = f.module.as_deref().and_then(|m| {
        chains.iter().find(|c| {
            cx.python
                .and_then(|inv| module_of(&c.entry, inv))
                .is_some_and(|x| x.name == m)
        })
    });
    let by_object = f.object.as_deref().and_then(|o| {
        chains
            .iter()
            .find(|c| c.entry == o || c.entry.ends_with(&format!("/{o}")))
    });
    by_module.or(by_object).or(chains.first()).cloned()
}

/// The object that failed usually lacks more than the one library the
/// loader stopped at (it reports the first): add the plan's other copies
/// for the same object, so one round of fixing is enough.
fn also_missing(cx: &Context<'_>, library: &str, chain: Option<&Chain>, fix: &mut Vec<String>) {
    let (Some(plan), Some(chain)) = (cx.plan, chain) else {
        return;
    };
    let items: Vec<_> = plan
        .copy
        .items
        .iter()
        .filter(|i| i.needed_as != library && i.chain.first() == Some(&chain.entry))
        .cloned()
        .collect();
    if items.is_empty() {
        return;
    }
    let names: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i.needed_as.as_str()).collect();
    fix.push(format!(
        "{} also needs {}, which the target lacks too:",
        chain.entry,
        names.into_iter().collect::<Vec<_>>().join(", ")
    ));
    fix.extend(copy_lines(plan, items));
}

fn missing_library_fix(cx: &Context<'_>, library: &str, files: &[String], fix: &mut Vec<String>) {
    let Some(plan) = cx.plan else {
        if files.is_empty() {
            fix.push(format!(
                "{library} is not in the builder either: install it there first"
            ));
        } else {
            fix.push(format!("copy {} into the image", files.join(", ")));
        }
        return;
    };
    let in_scope = |p: &String| {
        cx.scope
            .iter()
            .any(|s| std::path::Path::new(p).starts_with(s))
    };
    if !files.is_empty() && files.iter().all(in_scope) {
        let owner = files.first().and_then(|p| cx.owners.owner(p));
        let from = match owner {
            Some(Owner::Wheel { name, version }) => {
                format!(" (it comes with the wheel {name} {version})")
            }
            Some(Owner::Deb { package, .. }) => format!(" (Debian package {package})"),
            None => String::new(),
        };
        let dirs: std::collections::BTreeSet<String> = files
            .iter()
            .filter_map(|p| {
                std::path::Path::new(p)
                    .parent()
                    .map(|d| d.display().to_string())
            })
            .collect();
        fix.push(format!(
            "{library} is part of the Python packages you copy{from}: copy {} too (a COPY of site-packages must include the *.libs directories)",
            dirs.into_iter().collect::<Vec<_>>().join(", ")
        ));
        return;
    }
    let items = closure_items(plan, library, files);
    if !items.is_empty() {
        fix.extend(copy_lines(plan, items));
    } else if files.is_empty() {
        fix.push(format!(
            "{library} is not in the builder either: install the package that provides it in the builder stage"
        ));
    } else if let Some(at) = (cx.target_has)(library) {
        fix.push(format!(
            "the target {} provides {library} ({at}): the image must not remove or shadow it",
            plan.target
        ));
    } else {
        fix.push(format!(
            "nothing ldslim reads in the scope loads {library} (no DT_NEEDED, no run-time load it can follow), so the plan does not copy it: add it with `ldslim scan --include {}`, which copies it with the libraries it needs",
            files[0]
        ));
    }
}

/// The plan's items for a library (by the name it is needed as, or its
/// builder files) and for its own DT_NEEDED closure (items whose chain
/// passes through one of its files).
fn closure_items(plan: &PlanReport, library: &str, files: &[String]) -> Vec<CopyItem> {
    plan.copy
        .items
        .iter()
        .filter(|i| {
            i.needed_as == library
                || files.contains(&i.src)
                || i.chain.iter().any(|c| files.contains(c))
        })
        .cloned()
        .collect()
}

/// A library a package searched for by name: where the builder's
/// `ldconfig -p` finds it (what `find_library` reads), and what the image
/// needs so that the same search succeeds there.
fn not_found_fix(cx: &Context<'_>, name: &str, d: &mut Diagnosis) {
    let ldconfig = Ldconfig::read(cx.session);
    let (soname, path) = match ldconfig.find(name, true) {
        Ok(found) => found,
        Err(why) => {
            d.fix.push(format!(
                "no library lib{name}.so* in the builder either ({why}): install the package that provides it in the builder stage"
            ));
            return;
        }
    };
    let real = cx
        .session
        .objects()
        .resolve(std::path::Path::new(&path))
        .ok()
        .flatten()
        .map(|r| r.path.display().to_string())
        .unwrap_or(path.clone());
    d.in_builder = vec![real.clone()];
    d.owner = cx.owners.owner(&real);
    let Some(plan) = cx.plan else {
        d.fix.push(format!(
            "copy {real} into the image as {path}, with /sbin/ldconfig and an /etc/ld.so.cache that lists {soname} (ldslim scan --target … writes one)"
        ));
        return;
    };
    let files = vec![real.clone()];
    let items = closure_items(plan, &soname, &files);
    if items.is_empty() {
        d.fix.push(format!(
            "{soname} ({real}) is in the builder, but nothing ldslim reads in the scope loads it: add it with `ldslim scan --include {path}`"
        ));
    } else {
        d.fix.extend(copy_lines(plan, items));
    }
    match &plan.find_library {
        Some(fl) if fl.added => {
            let support: Vec<CopyItem> = plan
                .copy
                .items
                .iter()
                .filter(|i| i.needed_as == crate::runtime::resolve::LDCONFIG)
                .cloned()
                .collect();
            d.fix.extend(copy_lines(plan, support));
            d.fix.push(format!(
                "and the {} ldslim writes, which lists {soname}: `ldslim scan --emit copy=DIR` or `--emit tar=FILE` include it (a Dockerfile cannot take it from the builder, whose cache lists the builder's libraries)",
                fl.cache.as_deref().unwrap_or(crate::ldso::LD_SO_CACHE)
            ));
        }
        _ => d.fix.push(format!(
            "find_library(\"{name}\") also needs /sbin/ldconfig and an /etc/ld.so.cache listing {soname} in the image: `ldslim scan` adds both when the scope calls find_library"
        )),
    }
}

/// The Dockerfile lines that copy `items` (comments left out).
fn copy_lines(plan: &PlanReport, items: Vec<crate::copyset::CopyItem>) -> Vec<String> {
    let sub = CopyPlan {
        target: plan.copy.target.clone(),
        items,
        env: plan.copy.env.clone(),
        trees: Vec::new(),
    };
    let mut text = Vec::new();
    if emit::dockerfile(&mut text, &sub, "builder").is_err() {
        return Vec::new();
    }
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}
