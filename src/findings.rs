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
