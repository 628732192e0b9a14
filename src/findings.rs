//! Findings shared by the steps of the pipeline: a file one of them could
//! not use, and why; an object with nothing to resolve; a load that works
//! only by accident. Its own module, below the scan and the Python
//! inventory that both report them.

use std::fmt;

use serde::Serialize;

/// How text output writes a chain of loads: `A > B > C`, A needs (or
/// loads) B, which needs C. Not `->`, which is a symlink there (`libz.so.1
/// -> libz.so.1.2.13`, as `ls -l` writes it), nor `=>`, ldd's "resolves
/// to" (`libz.so.1 => /usr/lib/…/libz.so.1`).
pub const CHAIN: &str = " > ";

/// A file the scan could not use, and why; the scan went on.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// Something that loads, but only by accident (of load order, of an
/// inherited RPATH) or not as the user may think: reported, not a finding.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// The object whose DT_NEEDED is concerned.
    pub object: String,
    pub needed: String,
    pub message: String,
}

/// An ELF object the scan has nothing to resolve for (not a finding: it
/// is counted, and named with its reason).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped {
    pub path: String,
    #[serde(rename = "message", serialize_with = "as_text")]
    pub reason: SkipReason,
}

/// Why an ELF object has nothing to resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// No dynamic section: a static program.
    Static,
    /// An ELF type the loader does not map (`ET_REL`, `ET_CORE`, ...).
    NotLoadable(u16),
    /// The dynamic loader itself (`ld.so` maps itself).
    Loader,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Static => f.write_str("static: no dynamic section"),
            SkipReason::NotLoadable(t) => write!(f, "ELF type {t} is not loadable"),
            SkipReason::Loader => f.write_str("loader cannot load itself"),
        }
    }
}

fn as_text<S: serde::Serializer>(reason: &SkipReason, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(reason)
}

/// A message from a lower layer without the path it starts with (`PATH:
/// message`): a problem shows its path on its own.
pub(crate) fn strip_path(message: &str, path: &str) -> String {
    message
        .strip_prefix(path)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
        .to_string()
}
