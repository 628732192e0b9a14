//! Reading the target data format (see `format`). Strict, and built to
//! take any text: a damaged or hostile file is refused with the line it
//! fails on, never a panic.

// Nothing here may panic or overflow on its input, and the compiler checks
// it.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;

use serde::Deserialize;

use super::format::{FORMAT, Header, Kind, Line};
use super::{EntryKind, TargetData, TargetEntry, TargetError, TargetInfo};

/// Read a target written by [`render`](super::render).
pub fn parse(text: &str) -> Result<TargetData, TargetError> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Err(TargetError::Empty);
    }
    let mut lines = body
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i.saturating_add(1), l));
    let (_, first) = lines.next().ok_or(TargetError::Empty)?;
    let header: Header = from_json(1, first)?;
    if header.format != FORMAT {
        return Err(err(
            1,
            format!("format {:?}, expected {FORMAT:?}", header.format),
        ));
    }
    check_header(&header)?;
    let mut entries: BTreeMap<String, TargetEntry> = BTreeMap::new();
    for (n, text) in lines {
        let line: Line = from_json(n, text)?;
        check_path(&line.path).map_err(|m| err(n, format!("path {:?}: {m}", line.path)))?;
        if let Some((last, _)) = entries.last_key_value()
            && last.as_str() >= line.path.as_str()
        {
            return Err(err(
                n,
                format!(
                    "path {:?} is not after {last:?} (duplicate or out of order)",
                    line.path
                ),
            ));
        }
        let entry = entry(n, line)?;
        entries.insert(entry.path.clone(), entry);
    }
    Ok(TargetData {
        info: TargetInfo {
            name: header.name,
            suite: header.suite,
            arch: header.arch,
            packages: header.packages,
            interp: header.interp,
            dirs: header.dirs,
            glibc: header.glibc,
        },
        entries,
        omitted: header.omitted,
    })
}

fn err(line: usize, message: impl Into<String>) -> TargetError {
    TargetError::Line {
        line,
        message: message.into(),
    }
}

fn from_json<'a, T: Deserialize<'a>>(line: usize, text: &'a str) -> Result<T, TargetError> {
    serde_json::from_str(text).map_err(|e| err(line, e.to_string()))
}

fn check_header(h: &Header) -> Result<(), TargetError> {
    for (field, value) in [("name", &h.name), ("suite", &h.suite), ("arch", &h.arch)] {
        if value.is_empty() {
            return Err(err(1, format!("{field} is empty")));
        }
    }
    if !h.interp.starts_with('/') {
        return Err(err(1, format!("interp {:?} is not absolute", h.interp)));
    }
    for d in &h.dirs {
        if !d.starts_with('/') || !d.ends_with('/') {
            return Err(err(1, format!("loader directory {d:?} is not /.../")));
        }
    }
    for (p, _) in &h.omitted {
        if !p.starts_with('/') || !p.ends_with('/') {
            return Err(err(1, format!("omitted prefix {p:?} is not /.../")));
        }
    }
    if let Some((name, _)) = h
        .packages
        .iter()
        .find(|(n, v)| n.is_empty() || v.is_empty())
    {
        return Err(err(
            1,
            format!("package {name:?} has an empty name or version"),
        ));
    }
    Ok(())
}

/// An absolute path in normal form: `/`, or `/a/b` with no empty, `.` or
/// `..` components and no NUL.
fn check_path(p: &str) -> Result<(), &'static str> {
    if p == "/" {
        return Ok(());
    }
    let Some(rest) = p.strip_prefix('/') else {
        return Err("not absolute");
    };
    if p.contains('\0') {
        return Err("contains NUL");
    }
    if rest
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("not in normal form (empty, . or .. component, or trailing /)");
    }
    Ok(())
}

fn entry(n: usize, line: Line) -> Result<TargetEntry, TargetError> {
    let octal = !line.mode.is_empty() && line.mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
    let mode = u32::from_str_radix(&line.mode, 8)
        .ok()
        .filter(|m| octal && *m <= 0o7777)
        .ok_or_else(|| err(n, format!("mode {:?} is not octal 0..7777", line.mode)))?;
    if line.elf.is_some() && line.kind != Kind::File {
        return Err(err(n, "ELF facts on something that is not a file"));
    }
    let kind = match (line.kind, line.target) {
        (Kind::Symlink, Some(t)) if !t.is_empty() && !t.contains('\0') => EntryKind::Symlink(t),
        (Kind::Symlink, _) => return Err(err(n, "symlink without a (valid) target")),
        (_, Some(_)) => return Err(err(n, "target on something that is not a symlink")),
        (Kind::Dir, None) => EntryKind::Dir,
        (Kind::File, None) => EntryKind::File,
    };
    Ok(TargetEntry {
        path: line.path,
        mode,
        kind,
        size: line.size,
        elf: line.elf,
    })
}

/// Read a `packages.txt` as written by scripts/distroless-root.sh: one
/// `NAME VERSION` per line, in unpacking order; blank lines are skipped.
pub fn parse_packages(text: &str) -> Result<Vec<(String, String)>, TargetError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let mut words = l.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(name), Some(version), None) => Ok((name.to_string(), version.to_string())),
                _ => Err(err(
                    i.saturating_add(1),
                    format!("expected \"NAME VERSION\", got {l:?}"),
                )),
            }
        })
        .collect()
}
