//! `scan --trace FILE`: what a traced run of the application opened
//! (`ldslim trace`), merged into the plan. A traced shared object or
//! program joins the image with its DT_NEEDED closure, planned and checked
//! like an object of the scope; a traced data file is copied with its
//! symlink chain when the target lacks it. What a trace shows but the
//! image must not take is left out by the rules of [`rule`], each said in
//! the report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::{MissingEdge, Planner};
use crate::runtime::Outcome;
use crate::runtime::resolve::Resolver;
use crate::trace::{Opened, Trace};

/// What the traces added to the plan and what they left out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TraceReport {
    /// The command of each trace merged.
    pub commands: Vec<String>,
    /// Paths the traces added (each with its symlink chain and, for
    /// objects, its closure, which the copy items show).
    pub added: Vec<TracedPath>,
    /// Traced paths not copied, and the rule that left each out.
    pub left_out: Vec<LeftOut>,
    /// Directories the command listed whose entries the image lacks
    /// (plugin directories, configuration directories): what neither the
    /// closure nor a traced open explains, reported, not copied.
    pub directories: Vec<ListedDirectory>,
    /// Traced paths that could not be copied (fully), and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One traced path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TracedPath {
    pub path: String,
    pub kind: TracedKind,
    /// "seen at run time by trace: COMMAND".
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TracedKind {
    Object,
    File,
    Executable,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LeftOut {
    pub path: String,
    pub kind: TracedKind,
    pub rule: Rule,
    /// Where the target has it, when `rule` is `in_target`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_has: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ListedDirectory {
    pub path: String,
    pub by: String,
    /// Entries of the builder's directory the image lacks (sorted, at most
    /// 20 listed) and how many in all.
    pub lacking: Vec<String>,
    pub lacking_count: usize,
}

/// Why a traced path is not copied. The rules, in the order they apply:
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `/proc`, `/sys`, `/dev`, `/run`: the kernel's and the container
    /// runtime's, never an image's files.
    PseudoFilesystem,
    /// `/tmp`, `/var/tmp`: written while the command ran.
    Temporary,
    /// `/var/cache`, or under a `.cache` directory: rebuilt at run time.
    Cache,
    /// `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`: the container
    /// runtime mounts its own over the image's.
    ContainerRuntime,
    /// `/etc/ld.so.cache`: the builder's describes the builder; the plan
    /// writes the image's own when `find_library` needs one.
    LoaderCache,
    /// Inside the scope: the user copies the scope itself.
    Scope,
    /// The target has the path (a file of its own), or its loader finds
    /// the object's soname.
    InTarget,
    /// The builder no longer has it (the command wrote and removed it).
    NotInBuilder,
}

/// The rule that leaves `path` out, before looking at the builder or the
/// target (those are [`Rule::InTarget`] and [`Rule::NotInBuilder`]).
pub fn rule(path: &str, scope: &[std::path::PathBuf]) -> Option<Rule> {
    let under = |dir: &str| path == dir || path.starts_with(&format!("{dir}/"));
    if ["/proc", "/sys", "/dev", "/run"].iter().any(|d| under(d)) {
        Some(Rule::PseudoFilesystem)
    } else if ["/tmp", "/var/tmp"].iter().any(|d| under(d)) {
        Some(Rule::Temporary)
    } else if under("/var/cache") || path.contains("/.cache/") {
        Some(Rule::Cache)
    } else if ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"].contains(&path) {
        Some(Rule::ContainerRuntime)
    } else if path == crate::ldso::LD_SO_CACHE {
        Some(Rule::LoaderCache)
    } else if scope.iter().any(|s| Path::new(path).starts_with(s)) {
        Some(Rule::Scope)
    } else {
        None
    }
}

/// Whether a trace opened `path` (a file, or anything under it when it
/// is a directory), by its real path or a path it was opened as.
pub(super) fn seen(traces: &[Trace], path: &str) -> bool {
    let dir = format!("{}/", path.trim_end_matches('/'));
    let hit = |p: &str| p == path || p.starts_with(&dir);
    traces.iter().any(|t| {
        [&t.objects, &t.files, &t.directories, &t.executables]
            .into_iter()
            .flatten()
            .any(|o| hit(&o.path) || o.opened_as.iter().any(|a| hit(a)))
    })
}

/// Every traced path of `traces` by kind, each once, with the first
/// command that opened it (traces and commands in sorted order).
fn traced(traces: &[Trace]) -> BTreeMap<(TracedKind, String), (Opened, String)> {
    let mut out: BTreeMap<(TracedKind, String), (Opened, String)> = BTreeMap::new();
    for t in traces {
        let lists = [
            (TracedKind::Object, &t.objects),
            (TracedKind::File, &t.files),
            (TracedKind::Executable, &t.executables),
        ];
        for (kind, list) in lists {
            for o in list {
                let by = o.by.first().cloned().unwrap_or_else(|| t.command.join(" "));
                let e = out
                    .entry((kind, o.path.clone()))
                    .or_insert_with(|| (o.clone(), by));
                let mut more: BTreeSet<String> = e.0.opened_as.iter().cloned().collect();
                more.extend(o.opened_as.iter().cloned());
                e.0.opened_as = more.into_iter().collect();
            }
        }
    }
    out
}

impl Planner<'_> {
    /// Add what the traces opened; what is left out, and why, is in the
    /// report.
    pub(super) fn add_traces(&mut self) -> Option<TraceReport> {
        let traces = &self.input.traces;
        if traces.is_empty() {
            return None;
        }
        let mut report = TraceReport {
            commands: traces.iter().map(|t| t.command.join(" ")).collect(),
            ..TraceReport::default()
        };
        let (image, _) = self.simulate(None);
        let session = crate::graph::Session::over(image.clone(), self.options());
        let resolver = Resolver::new(&session, self.input.callers.clone());
        let builder = self.input.builder.objects_shared();
        for ((kind, path), (opened, by)) in traced(traces) {
            let left = |rule, target_has| LeftOut {
                path: path.clone(),
                kind,
                rule,
                target_has,
            };
            if let Some(r) = rule(&path, &self.input.scope) {
                report.left_out.push(left(r, None));
                continue;
            }
            if !path.starts_with('/') {
                report
                    .problems
                    .push(format!("{path}: not an absolute path"));
                continue;
            }
            let file = match builder.resolve(Path::new(&path)) {
                Ok(Some(f)) => f,
                Ok(None) => {
                    report.left_out.push(left(Rule::NotInBuilder, None));
                    continue;
                }
                Err(e) => {
                    report.problems.push(format!("{path}: {e}"));
                    continue;
                }
            };
            let dest = super::target_path(self.input.target.as_ref(), &path);
            match self.input.target.lstat(Path::new(&dest)) {
                Ok(None) => {}
                Ok(Some(_)) => {
                    report.left_out.push(left(Rule::InTarget, Some(dest)));
                    continue;
                }
                // An embedded target that records this directory by its
                // count only: its own files are there, this one likely.
                Err(e) => {
                    report
                        .left_out
                        .push(left(Rule::InTarget, Some(format!("{dest} ({e})"))));
                    continue;
                }
            }
            // An object whose soname the image's loader finds in the
            // target (the target's libc for the builder's, at another
            // path on a split-/usr target) is the target's to provide.
            if kind == TracedKind::Object
                && let Ok(facts) = builder.facts(&file).as_ref()
                && let Some(soname) = &facts.soname
                && let Some(main) = self.input.callers.interpreter.as_deref().or(self
                    .input
                    .entries
                    .first()
                    .map(String::as_str))
                && let Outcome::Found { real, .. } = resolver.dlopen_by(main, main, soname)
                && !image.is_from_builder(Path::new(&real))
            {
                report.left_out.push(left(Rule::InTarget, Some(real)));
                continue;
            }
            let reason = format!("seen at run time by trace: {by}");
            let m = MissingEdge {
                entry: String::new(),
                cpus: Vec::new(),
                requester: String::new(),
                needed: path.clone(),
                name: path.clone(),
                chain: vec![reason.clone()],
                searched: vec![],
            };
            // The names it was opened by first (symlinks: copied as
            // links), then the file itself.
            for asked in &opened.opened_as {
                if rule(asked, &self.input.scope).is_none()
                    && let Err(e) = self.include(asked, &m, 0)
                {
                    report
                        .problems
                        .push(format!("{asked} (opened as {path}): {e}"));
                }
            }
            if let Err(e) = self.include(&path, &m, 0) {
                report.problems.push(format!("{path}: {e}"));
                continue;
            }
            report.added.push(TracedPath { path, kind, reason });
        }
        report.directories = self.listed_directories(traces, &image);
        Some(report)
    }

    /// Directories a trace listed, outside the rules, whose builder
    /// entries the image will lack (after the traced copies).
    fn listed_directories(
        &self,
        traces: &[Trace],
        image: &crate::image::FinalImage,
    ) -> Vec<ListedDirectory> {
        let mut out = BTreeMap::new();
        let Some(host) = self.input.builder.host_root() else {
            return Vec::new();
        };
        for t in traces {
            for d in &t.directories {
                // `/` and top-level directories are listed by path
                // searches of every kind; their entries are the image's
                // layout, not a plugin set.
                let depth = d.path.split('/').filter(|c| !c.is_empty()).count();
                if depth < 2
                    || rule(&d.path, &self.input.scope).is_some()
                    || out.contains_key(&d.path)
                {
                    continue;
                }
                let Ok(entries) = std::fs::read_dir(host.host_path(Path::new(&d.path))) else {
                    continue;
                };
                let mut lacking: Vec<String> = entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        format!(
                            "{}/{}",
                            d.path.trim_end_matches('/'),
                            e.file_name().to_string_lossy()
                        )
                    })
                    .filter(|p| {
                        let dest = super::target_path(self.input.target.as_ref(), p);
                        !self.items.contains_key(&dest)
                            && !matches!(
                                crate::rootfs::Tree::lstat(image, Path::new(&dest)),
                                Ok(Some(_))
                            )
                    })
                    .collect();
                if lacking.is_empty() {
                    continue;
                }
                lacking.sort();
                let count = lacking.len();
                lacking.truncate(20);
                out.insert(
                    d.path.clone(),
                    ListedDirectory {
                        path: d.path.clone(),
                        by: d.by.first().cloned().unwrap_or_default(),
                        lacking,
                        lacking_count: count,
                    },
                );
            }
        }
        out.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_leave_out_what_no_image_should_take() {
        let scope = vec![std::path::PathBuf::from("/usr/lib/python3.11")];
        let r = |p| rule(p, &scope);
        assert_eq!(r("/proc/self/maps"), Some(Rule::PseudoFilesystem));
        assert_eq!(r("/dev/urandom"), Some(Rule::PseudoFilesystem));
        assert_eq!(r("/devices"), None);
        assert_eq!(r("/tmp/x"), Some(Rule::Temporary));
        assert_eq!(r("/root/.cache/fontconfig/a"), Some(Rule::Cache));
        assert_eq!(r("/var/cache/fontconfig/a"), Some(Rule::Cache));
        assert_eq!(r("/etc/resolv.conf"), Some(Rule::ContainerRuntime));
        assert_eq!(r("/etc/ld.so.cache"), Some(Rule::LoaderCache));
        assert_eq!(r("/usr/lib/python3.11/os.py"), Some(Rule::Scope));
        assert_eq!(r("/usr/lib/python3.11x/os.py"), None);
        assert_eq!(r("/usr/share/misc/magic.mgc"), None);
        assert_eq!(r("/etc/odbcinst.ini"), None);
    }
}
