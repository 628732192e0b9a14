//! The plan as a list of builder paths for GNU tar:
//! `tar -C BUILDER -cf layer.tar -T LIST`.
//!
//! Lines are relative (`usr/lib/...`, no leading `/`): GNU tar applies
//! `-C` only to relative names; an absolute name is opened from the host's
//! own `/`, whatever `-C` says (it merely strips the `/` from the member
//! name), which would archive the machine's files instead of the builder's.
//! The test `list_is_relative_sorted_and_feeds_gnu_tar` runs both forms against real GNU tar.
//!
//! GNU tar unquotes `-T` names by default (`--unquote`), so a `\` is
//! written `\\` and a newline `\n`; a line that would begin with `-` is
//! written `./-...` so that tar does not take it for an option.
//! tar archives each listed symlink as a link and, as no directory is
//! listed, never recurses.

use std::collections::BTreeSet;
use std::io::{self, Write};

use super::check;
use crate::copyset::{CopyItem, CopyPlan};

/// Write one builder `src` per line, sorted, for the items that stay at
/// their own path. Items whose `dest` differs from `src` cannot be said in
/// such a list; they are returned, in plan order, for the caller to warn
/// about (or to emit another way).
pub fn list<'p>(out: &mut dyn Write, plan: &'p CopyPlan) -> io::Result<Vec<&'p CopyItem>> {
    check::plan(plan).map_err(super::EmitError::into_io)?;
    let mut lines = BTreeSet::new();
    let mut moved = Vec::new();
    for item in &plan.items {
        if item.dest == item.src && !matches!(item.kind, crate::copyset::CopyKind::Generated { .. })
        {
            lines.insert(line(&item.src));
        } else {
            moved.push(item);
        }
    }
    for l in &lines {
        writeln!(out, "{l}")?;
    }
    Ok(moved)
}

/// A checked absolute path as a `tar -T` line relative to `-C`.
fn line(src: &str) -> String {
    let rel = src.trim_start_matches('/');
    let mut l = String::with_capacity(rel.len() + 2);
    if rel.starts_with('-') {
        l.push_str("./");
    }
    for c in rel.chars() {
        match c {
            '\\' => l.push_str("\\\\"),
            '\n' => l.push_str("\\n"),
            c => l.push(c),
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_relative_and_quoted_for_gnu_tar() {
        assert_eq!(line("/usr/lib/libz.so.1"), "usr/lib/libz.so.1");
        assert_eq!(line("/-x/a"), "./-x/a");
        assert_eq!(line("/a\\b/c\nd"), "a\\\\b/c\\nd");
    }
}
