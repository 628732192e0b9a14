//! Emitters of a [`CopyPlan`]: the same plan written five ways, one module
//! each.
//!
//! - [`list`]: builder paths for `tar -C BUILDER -cf layer.tar -T LIST`.
//! - [`dockerfile`]: `COPY --from=STAGE` and `ENV` lines.
//! - [`tar()`]: a reproducible layer tarball, links kept as links.
//! - [`copy`]: the files materialised into a directory seen as a root.
//! - [`sbom()`]: a CycloneDX SBOM of the files, their packages and hashes.
//!
//! What they write is the plan plus what image scanners need to see the
//! copied files' packages: [`with_status_d`] adds their dpkg records.
//!
//! Every emitter first checks the plan's paths (`check.rs`): a `..` or a
//! relative path in a plan would let a tarball or a copy write outside the
//! image, so such a plan is refused before anything is written.

mod check;
mod copy;
mod dockerfile;
mod list;
mod sbom;
mod source;
mod status_d;
mod tarball;
mod temp;

use std::io;
use std::path::PathBuf;

use crate::rootfs::RootError;

pub use copy::{CopySummary, copy};
pub use dockerfile::{dockerfile, not_in_builder};
pub use list::list;
pub use sbom::sbom;
pub use status_d::{STATUS_D, is_status_d, status_d, with_status_d, without_status_d};
pub use tarball::{TarSummary, source_date_epoch, tar, tar_with_mtime};
pub use temp::write_file;

#[cfg(doc)]
use crate::copyset::CopyPlan;

/// What went wrong while emitting a plan, naming the path concerned.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// A path of the plan no emitter may write.
    #[error("plan path {path:?}: {problem}")]
    PlanPath { path: String, problem: String },
    /// Two items of the plan that cannot both exist in one image.
    #[error("plan: {path} {problem}")]
    PlanConflict { path: String, problem: String },
    /// An item's `src` is not in the builder root.
    #[error("builder {path}: no such file")]
    SourceMissing { path: String },
    /// The builder's file is not what the plan says it is.
    #[error("builder {path}: the plan says {expected}, the builder has {found}")]
    SourceMismatch {
        path: String,
        expected: String,
        found: String,
    },
    /// Something different is already at an item's destination.
    #[error("{}: already exists and differs from builder {src} ({found}); not replaced without force", path.display())]
    Exists {
        path: PathBuf,
        src: String,
        found: String,
    },
    /// The destination directory has something in the way of an item.
    #[error("{}: {problem}", path.display())]
    Destination { path: PathBuf, problem: String },
    /// Something that cannot be written safely in a Dockerfile.
    #[error("{what} {value:?} cannot be written in a Dockerfile: {problem}")]
    Unwritable {
        what: &'static str,
        value: String,
        problem: &'static str,
    },
    #[error("SOURCE_DATE_EPOCH={value:?} is not a whole number of seconds")]
    SourceDateEpoch { value: String },
    /// A `SOURCE_DATE_EPOCH` that a timestamp (`YYYY-MM-DDThh:mm:ssZ`)
    /// cannot say.
    #[error("SOURCE_DATE_EPOCH={0} is after the year 9999, which an SBOM's timestamp cannot say")]
    EpochPastYear9999(u64),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// A copy that failed after changing the directory: it is left partly
    /// written.
    #[error(
        "{}: copy incomplete, the directory is partly written: {failed} failed ({source}) after {}",
        dir.display(),
        done_text(written, *dirs_created)
    )]
    Incomplete {
        dir: PathBuf,
        /// The item's `dest` that failed.
        failed: String,
        /// The items' `dest`s written before it.
        written: Vec<String>,
        dirs_created: usize,
        source: Box<EmitError>,
    },
    /// A resolution failure inside a root (a loop, an unreadable
    /// directory); `root` says which root, the message says where in it.
    #[error("{source} (inside {})", root.display())]
    Root { root: PathBuf, source: RootError },
}

/// "writing /a, /b and 2 more, and creating 3 directories".
fn done_text(written: &[String], dirs: usize) -> String {
    const SHOWN: usize = 10;
    let mut text = String::new();
    if !written.is_empty() {
        text = format!("writing {}", written[..written.len().min(SHOWN)].join(", "));
        if written.len() > SHOWN {
            text.push_str(&format!(" and {} more", written.len() - SHOWN));
        }
    }
    if dirs > 0 {
        if !text.is_empty() {
            text.push_str(", and ");
        }
        text.push_str(&format!("creating {dirs} directories"));
    }
    text
}

impl EmitError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> EmitError {
        let path = path.into();
        move |source| EmitError::Io { path, source }
    }

    /// For the emitters that write text and so return `io::Result`.
    fn into_io(self) -> io::Error {
        let kind = match &self {
            EmitError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, self)
    }
}
