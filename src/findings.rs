//! Findings shared by the steps of the pipeline: a file one of them could
//! not use, and why. Its own module, below the scan and the Python
//! inventory that both report them.

use serde::Serialize;

/// A file the scan could not use, and why; the scan went on.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: String,
    pub message: String,
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
