//! The plan: which builder files the final image needs on top of its base,
//! where they go, and whether the result will load.

use serde::Serialize;

/// What one copied path is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CopyKind {
    /// A regular file; `mode` is its permission bits (e.g. 0o644).
    File { mode: u32, size: u64 },
    /// A symbolic link, kept as a link; `target` is the link text as
    /// written in the builder (usually relative, e.g. `libz.so.1.2.13`).
    Symlink { target: String },
}

/// One path to add to the final image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CopyItem {
    /// Where it goes in the final image (absolute path inside the image).
    pub dest: String,
    /// Where it is in the builder root (absolute path inside the builder;
    /// its directories contain no symlinks).
    pub src: String,
    pub kind: CopyKind,
    /// The DT_NEEDED name this item serves.
    pub needed_as: String,
    /// One chain of objects that loads it, from an object of the scope to
    /// the object whose DT_NEEDED names it (paths inside the image).
    pub chain: Vec<String>,
}

/// Everything to add, sorted by `dest`, plus environment the image needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CopyPlan {
    /// The target (base image) the plan is for, e.g. `distroless/cc-debian12`.
    pub target: String,
    pub items: Vec<CopyItem>,
    /// Environment variables the final image must set (e.g.
    /// `LD_LIBRARY_PATH`), sorted by name.
    pub env: Vec<(String, String)>,
}
