//! The target data format: JSON Lines, one header line (the image and its
//! loader) then one line per path in byte order, so that a new package
//! version shows up in `git diff` as the lines of the files that changed.
//!
//! ```text
//! {"format":"ldslim-target/1","name":"distroless/cc-debian12","suite":"bookworm",...}
//! {"path":"/","kind":"dir","mode":"0755"}
//! {"path":"/bin","kind":"symlink","mode":"0777","target":"usr/bin"}
//! {"path":"/etc/group","kind":"file","mode":"0644","size":64}
//! {"path":"/lib/x86_64-linux-gnu/libc.so.6","kind":"file","mode":"0755","size":1922136,"elf":{...}}
//! ```
//!
//! Modes are octal strings (what `ls -l` readers expect), sizes are omitted
//! when 0. Parsing is strict: unknown fields, unsorted or duplicate paths and
//! malformed paths are errors naming the line, so a hand-edited or damaged
//! file never loads as a different image.
//!
//! The line types and [`render`] are here; reading is `parse`'s.

use serde::{Deserialize, Serialize};

use super::{EntryKind, TargetData};
use crate::elf::ElfFacts;

/// The `format` value of the header line; bumped when a reader of the old
/// format would misread the new one.
pub const FORMAT: &str = "ldslim-target/1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Header {
    pub(super) format: String,
    pub(super) name: String,
    pub(super) suite: String,
    pub(super) arch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) glibc: Option<String>,
    pub(super) interp: String,
    pub(super) dirs: Vec<String>,
    pub(super) packages: Vec<(String, String)>,
    pub(super) omitted: Vec<(String, usize)>,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Kind {
    Dir,
    File,
    Symlink,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Line {
    pub(super) path: String,
    pub(super) kind: Kind,
    pub(super) mode: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) elf: Option<ElfFacts>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One JSON line. These types hold only strings, integers, booleans,
/// sequences and structs, which serde_json always serialises.
fn to_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serialises to JSON")
}

/// The text of a target: header line, then one line per entry in path
/// order, each ending in `\n`. Entries are written under their map key.
pub fn render(data: &TargetData) -> String {
    let info = &data.info;
    let mut out = to_line(&Header {
        format: FORMAT.to_string(),
        name: info.name.clone(),
        suite: info.suite.clone(),
        arch: info.arch.clone(),
        glibc: info.glibc.clone(),
        interp: info.interp.clone(),
        dirs: info.dirs.clone(),
        packages: info.packages.clone(),
        omitted: data.omitted.clone(),
    });
    out.push('\n');
    for (path, e) in &data.entries {
        let (kind, target) = match &e.kind {
            EntryKind::Dir => (Kind::Dir, None),
            EntryKind::File => (Kind::File, None),
            EntryKind::Symlink(t) => (Kind::Symlink, Some(t.clone())),
        };
        out.push_str(&to_line(&Line {
            path: path.clone(),
            kind,
            mode: format!("{:04o}", e.mode),
            size: e.size,
            target,
            elf: e.elf.clone(),
        }));
        out.push('\n');
    }
    out
}
