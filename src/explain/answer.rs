//! From what was read to the findings: each loader message with the
//! module its traceback was importing and the exception its chain ended
//! with, each chain without one by its first import failure, repeats
//! merged.

use std::collections::BTreeSet;

use super::imports::block_module;
use super::lines::{Line, clip};
use super::traceback::{
    Block, LoaderHit, MESSAGE_WINDOW, Reading, exception_message_is_empty, is_import_failure,
    module_from_message, other_message,
};
use super::{Failure, FinalError, Finding};

/// The findings of what was read from `lines`, in order of first
/// appearance, each failure once.
pub(super) fn findings(lines: &[Line], read: Reading) -> Vec<Finding> {
    let Reading {
        blocks,
        chains,
        mut loader,
        exceptions,
    } = read;
    let finals = FinalErrors::new(lines, &blocks, chains);
    drop_other_attempts(&mut loader, &blocks);
    let mut findings: Vec<Finding> = Vec::new();
    let mut chains_with_loader = BTreeSet::new();
    for hit in &loader {
        let (module, fin) = match hit.block {
            Some(b) => {
                chains_with_loader.insert(blocks[b].chain);
                (
                    block_module(&blocks[b]),
                    finals.of(blocks[b].chain, hit.idx),
                )
            }
            None => (None, None),
        };
        findings.push(Finding {
            failure: hit.failure.clone(),
            object: hit.object.clone(),
            module,
            line: hit.idx + 1,
            text: clip(lines[hit.idx].clean.trim_end()).to_string(),
            final_error: fin,
        });
    }
    // Chains without a loader message: their first import failure.
    let mut done = BTreeSet::new();
    for exc in &exceptions {
        let chain = blocks[exc.block].chain;
        if chains_with_loader.contains(&chain) || done.contains(&chain) {
            continue;
        }
        if !is_import_failure(&exc.class, &exc.message) {
            continue;
        }
        done.insert(chain);
        let message = other_message(lines, exc);
        let module = module_from_message(&exc.message).or_else(|| block_module(&blocks[exc.block]));
        findings.push(Finding {
            failure: Failure::Other { message },
            object: None,
            module,
            line: exc.idx + 1,
            text: clip(lines[exc.idx].clean.trim_end()).to_string(),
            final_error: finals.of(chain, exc.idx),
        });
    }
    findings.sort_by_key(|f| f.line);
    dedup(findings)
}

/// The last exception line of each chain: the exception a finding's chain
/// ended with.
struct FinalErrors<'l> {
    lines: &'l [Line],
    last: Vec<Option<usize>>,
}

impl<'l> FinalErrors<'l> {
    fn new(lines: &'l [Line], blocks: &[Block], chains: usize) -> Self {
        let mut last: Vec<Option<usize>> = vec![None; chains];
        for b in blocks {
            if let Some(slot) = last.get_mut(b.chain) {
                *slot = (*slot).max(b.exception);
            }
        }
        FinalErrors { lines, last }
    }

    /// The final error of `chain` for a finding on line index `own`; none
    /// when that is the line itself.
    fn of(&self, chain: usize, own: usize) -> Option<FinalError> {
        let lines = self.lines;
        let last = self.last.get(chain).copied().flatten()?;
        if last == own {
            return None;
        }
        let mut text = lines[last].clean.trim_end().to_string();
        if exception_message_is_empty(&lines[last])
            && let Some(next) = lines[last + 1..]
                .iter()
                .take(MESSAGE_WINDOW)
                .map(|l| l.content().trim())
                .find(|t| !t.is_empty())
        {
            text.push(' ');
            text.push_str(next);
        }
        Some(FinalError {
            line: last + 1,
            text: clip(&text).to_string(),
        })
    }
}

/// A package that tries several names reports each failure: once a
/// Linux library name is missing in a traceback, its other attempts
/// (names for macOS or Windows, names it searched for first) are noise.
fn drop_other_attempts(loader: &mut Vec<LoaderHit>, blocks: &[Block]) {
    let other_system = |f: &Failure| matches!(f, Failure::MissingLibrary { library } if crate::runtime::for_other_systems(library));
    let linux_missing =
        |f: &Failure| matches!(f, Failure::MissingLibrary { .. }) && !other_system(f);
    let chain_of = |hit: &LoaderHit| hit.block.map(|b| blocks[b].chain);
    let chains_missing: BTreeSet<Option<usize>> = loader
        .iter()
        .filter(|h| linux_missing(&h.failure))
        .map(chain_of)
        .collect();
    let any_linux = loader.iter().any(|h| !other_system(&h.failure));
    loader.retain(|h| match &h.failure {
        f if other_system(f) => !any_linux,
        Failure::LibraryNotFound { .. } => !chains_missing.contains(&chain_of(h)),
        _ => true,
    });
}
/// Merge repeats of the same failure: the first stays, and takes what it
/// lacks (object, module, final error) from the later ones.
fn dedup(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut seen: std::collections::HashMap<Failure, Vec<usize>> = std::collections::HashMap::new();
    for f in findings {
        let candidates = seen.entry(f.failure.clone()).or_default();
        let same = candidates
            .iter()
            .copied()
            .find(|&i| match (&out[i].object, &f.object) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            });
        match same.map(|i| &mut out[i]) {
            Some(o) => {
                if o.object.is_none() {
                    o.object = f.object;
                }
                if o.module.is_none() {
                    o.module = f.module;
                }
                if o.final_error.is_none() {
                    // Not the line the finding already is.
                    o.final_error = f.final_error.filter(|e| e.line != o.line);
                }
            }
            None => {
                candidates.push(out.len());
                out.push(f);
            }
        }
    }
    out
}
