//! What an emitter cannot carry, said on stderr: a list names builder
//! paths only (no renames, nothing ldslim writes), a `COPY` line copies
//! from the builder only.

use crate::copyset::{CopyItem, CopyKind};
use crate::emit;

/// The notes for the items `emit::list` left out.
pub fn list_left_out(left_out: &[&CopyItem]) -> Vec<String> {
    let (records, others): (Vec<&&CopyItem>, Vec<&&CopyItem>) =
        left_out.iter().partition(|i| emit::is_status_d(i));
    let mut notes: Vec<String> = status_d_left_out(records.len(), "a list")
        .into_iter()
        .collect();
    for item in others {
        notes.push(if matches!(item.kind, CopyKind::Generated { .. }) {
            format!(
                "ldslim: {} is written by ldslim, not in the builder: a list cannot say that; use --emit tar= or copy=",
                item.dest
            )
        } else {
            format!(
                "ldslim: {} must be copied to {}: a list cannot say that; use --emit tar= or dockerfile",
                item.src, item.dest
            )
        });
    }
    notes
}

/// The notes for what `--emit dockerfile` leaves out: `records` dpkg
/// records, and the other files ldslim writes (`not_in_builder`).
pub fn dockerfile_left_out(records: usize, not_in_builder: &[&CopyItem]) -> Vec<String> {
    let mut notes: Vec<String> = status_d_left_out(records, "a COPY line")
        .into_iter()
        .collect();
    for item in not_in_builder {
        notes.push(format!(
            "ldslim: {} is written by ldslim, not copied from the builder: a COPY line cannot add it; use --emit copy=DIR (docs/dockerfile.md) or --emit tar=FILE",
            item.dest
        ));
    }
    notes
}

/// What to say when an emitter cannot carry the `n` files of status.d.
fn status_d_left_out(n: usize, what: &str) -> Option<String> {
    (n > 0).then(|| {
        format!(
            "ldslim: {}/ ({n} files: the dpkg records of the copied files' packages, for image scanners) is written by ldslim, not in the builder: {what} cannot add it; use --emit copy=DIR or tar=FILE",
            emit::STATUS_D
        )
    })
}
