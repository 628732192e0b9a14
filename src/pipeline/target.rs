//! Which base image a plan is made against: `--target` parsed into a
//! [`TargetChoice`], then opened as a tree, with the policy a user expects
//! when nothing is given (the cc image of the builder's Debian release, of
//! the scope's architecture) and a refusal when the target's architecture
//! is not the scope's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use super::Error;
use crate::graph::Session;
use crate::ldso::abi::{ABIS, Abi};
use crate::rootfs::{Kind, Root, Tree};
use crate::scan::ScanReport;

/// `--target`, parsed: what kind of base image the user named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TargetChoice {
    /// Nothing given: the distroless cc image of the builder's release.
    #[default]
    Default,
    /// `none`: check the builder only, no plan.
    None,
    /// A directory holding an extracted image.
    Dir(PathBuf),
    /// A path that is not a directory (refused when the plan is made, so
    /// `--help` and the other flags still parse).
    NotADir(String),
    /// An embedded target by name (`distroless/cc-debian12`, `…:arm64`).
    Embedded(String),
}

impl FromStr for TargetChoice {
    type Err = std::convert::Infallible;

    fn from_str(t: &str) -> Result<TargetChoice, Self::Err> {
        Ok(match t {
            "none" => TargetChoice::None,
            t if t.contains('/') && Path::new(t).is_dir() => TargetChoice::Dir(PathBuf::from(t)),
            t if t.starts_with('/') || t.starts_with('.') => TargetChoice::NotADir(t.to_string()),
            t => TargetChoice::Embedded(t.to_string()),
        })
    }
}

/// The scope's architecture (Debian's name, e.g. `arm64`) and an object
/// that shows it: the interpreter's when there is one, else that of most
/// of its entries (an i386 helper among amd64 objects does not decide).
pub type ScopeArch = (&'static str, String);

/// The architecture of `report`'s scope, when any object of it has one
/// ldslim knows.
pub fn scope_arch(session: &Session, report: &ScanReport) -> Option<ScopeArch> {
    let objects = session.objects();
    let arch_of = |p: &String| {
        let f = objects.resolve(Path::new(p)).ok()??;
        let facts = objects.facts(&f);
        let facts: &crate::elf::ElfFacts = facts.as_ref().as_ref().ok()?;
        let abi = Abi::for_object(facts)?;
        Some((crate::target::arch_for_abi(abi.name)?, p.clone()))
    };
    if let Some(found) = report
        .runtime
        .callers
        .interpreter
        .as_ref()
        .and_then(arch_of)
    {
        return Some(found);
    }
    let mut counts: BTreeMap<&'static str, (usize, String)> = BTreeMap::new();
    for (arch, path) in report.entries.iter().filter_map(arch_of) {
        counts.entry(arch).or_insert((0, path)).0 += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, (n, _))| *n)
        .map(|(arch, (_, path))| (arch, path))
}

/// A target opened for planning: its name for reports and its tree.
pub type OpenTarget = (String, Arc<dyn Tree>);

/// Open the target `choice` names for a scope of architecture `arch`;
/// `Ok(None)` for `--target none`.
pub fn open(
    choice: &TargetChoice,
    builder: &Session,
    arch: Option<&ScopeArch>,
) -> Result<Option<OpenTarget>, Error> {
    let name = match choice {
        TargetChoice::None => return Ok(None),
        TargetChoice::Dir(dir) => return open_dir(dir, arch).map(Some),
        TargetChoice::NotADir(t) => return Err(Error::TargetNotADirectory(t.clone())),
        TargetChoice::Embedded(t) => t.clone(),
        TargetChoice::Default => {
            let os_release = builder
                .objects()
                .read_small("/etc/os-release", 64 << 10)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            crate::target::default_target(os_release.as_deref(), arch.map(|a| a.0))
        }
    };
    let data = crate::target::embedded(&name).map_err(|source| {
        // `cc-debian12` for `distroless/cc-debian12`, and the like.
        let close = crate::target::embedded_names()
            .into_iter()
            .filter(|k| k.ends_with(&format!("/{name}")) || k.contains(name.as_str()))
            .map(str::to_string)
            .collect();
        Error::UnknownTarget {
            name: name.clone(),
            source,
            close,
        }
    })?;
    if let Some(scope) = arch
        && data.info.arch != scope.0
    {
        return Err(Error::ArchMismatch {
            target: name,
            target_arch: data.info.arch.clone(),
            scope: scope.clone(),
        });
    }
    let label = match &data.info.glibc {
        Some(g) => format!(
            "{} ({}, glibc {g}, embedded)",
            data.info.name, data.info.arch
        ),
        None => format!("{} ({}, embedded)", data.info.name, data.info.arch),
    };
    Ok(Some((label, Arc::new(crate::image::TargetTree::new(data)))))
}

/// An extracted image. Its architecture is its loader's (a static base has
/// none, and no architecture to mismatch).
fn open_dir(dir: &Path, arch: Option<&ScopeArch>) -> Result<OpenTarget, Error> {
    let root = Root::new(dir).map_err(Error::TargetRoot)?;
    let name = root.host_dir().display().to_string();
    if let Some(scope) = arch {
        let has = ABIS.iter().find(|abi| {
            matches!(root.resolve(Path::new(abi.interp)), Ok(Some(r)) if r.kind == Kind::Regular)
        });
        if let Some(t_arch) = has.and_then(|abi| crate::target::arch_for_abi(abi.name))
            && !ABIS.iter().any(|abi| {
                crate::target::arch_for_abi(abi.name) == Some(scope.0)
                    && matches!(root.resolve(Path::new(abi.interp)), Ok(Some(_)))
            })
        {
            return Err(Error::ArchMismatch {
                target: name,
                target_arch: t_arch.to_string(),
                scope: scope.clone(),
            });
        }
    }
    Ok((name, Arc::new(root)))
}
