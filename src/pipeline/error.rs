//! Why the main job could not run (exit status 2), each error with the path
//! or name it is about as a field; rendered once, by `Display`.

use std::path::PathBuf;

use super::target::ScopeArch;
use crate::rootfs::RootError;
use crate::target::{DEFAULT_ARCH, TargetError};

/// What a user should give as ROOT.
const ROOT_EXPECTED: &str = "ROOT must be a directory holding a filesystem: `/` inside the builder stage, or the builder exported and extracted (docker export ID | tar -x -C rootfs)";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The builder root cannot be opened.
    #[error("root {source}\n{ROOT_EXPECTED}{}", archive_hint(*.archive, path))]
    Root {
        path: PathBuf,
        source: RootError,
        /// It looks like an image archive.
        archive: bool,
    },
    /// The scope cannot be scanned (the root itself failed).
    #[error(transparent)]
    Scan(RootError),
    /// A `--trace` file cannot be read.
    #[error("--trace {}: {source}", path.display())]
    Trace {
        path: PathBuf,
        source: crate::trace::ReadError,
    },
    /// An extracted target cannot be opened.
    #[error("target {0}")]
    TargetRoot(RootError),
    #[error(
        "target {0}: not a directory; give a directory holding an extracted base image, or an embedded target (`ldslim targets` lists them)"
    )]
    TargetNotADirectory(String),
    #[error(
        "target {name}: {source}{}\n(`ldslim targets` describes each; a directory holding an extracted image works too)",
        did_you_mean(close)
    )]
    UnknownTarget {
        name: String,
        source: TargetError,
        /// Embedded targets whose names are close to it.
        close: Vec<String>,
    },
    #[error(
        "target {target} is {target_arch}, but the scope is {} ({} is); plan against a target of the scope's architecture (`ldslim targets` lists them, e.g. distroless/cc-debian12{}), or an extracted {} image",
        scope.0,
        scope.1,
        arch_suffix(scope.0),
        scope.0
    )]
    ArchMismatch {
        target: String,
        target_arch: String,
        scope: ScopeArch,
    },
}

fn archive_hint(archive: bool, path: &std::path::Path) -> String {
    if archive {
        format!(
            "; this looks like an archive: extract it first (mkdir rootfs && tar -xf {} -C rootfs)",
            path.display()
        )
    } else {
        String::new()
    }
}

fn did_you_mean(close: &[String]) -> String {
    match close {
        [] => String::new(),
        some => format!("; did you mean {}?", some.join(" or ")),
    }
}

fn arch_suffix(arch: &str) -> String {
    if arch == DEFAULT_ARCH {
        String::new()
    } else {
        format!(":{arch}")
    }
}
