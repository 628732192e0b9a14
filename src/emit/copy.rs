//! The plan materialised into a directory, typically an extracted base
//! image. The directory is treated as a root, as the image will see it:
//! each `dest`'s directories are resolved inside it (`lib -> usr/lib` is
//! followed there; `evil -> /` leads back to the directory itself, never
//! to the host's `/`) and created when missing; the last component is
//! never followed, and nothing is replaced unless asked.
//!
//! All checks run before anything is written, so a plan that conflicts
//! with the directory (or with its builder, or with itself once the
//! directory's links are followed) leaves the directory as it was. A
//! failure after that (an I/O error, a builder file changing meanwhile)
//! is [`EmitError::Incomplete`], naming what was already written. Files are written to a temporary name beside their destination and
//! linked (or, when replacing, renamed) into place, so an interrupted run
//! never leaves a partial file under a library's name.

use std::collections::BTreeMap;
use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::source::{self, Exact};
use super::{EmitError, check};
use crate::copyset::{CopyItem, CopyKind, CopyPlan};
use crate::rootfs::{Kind, Root};

/// What [`copy`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopySummary {
    pub files_added: usize,
    pub symlinks_added: usize,
    pub dirs_created: usize,
    /// Items already present with the same bytes (or the same link text).
    pub unchanged: usize,
    /// Items that replaced something different (only with `force`).
    pub replaced: usize,
    /// Bytes of the regular files written.
    pub bytes_added: u64,
}

/// What is at an item's destination now.
#[derive(Debug, PartialEq, Eq)]
enum Existing {
    Absent,
    Same,
    /// Something else, described for the error message.
    Differs(String),
}

/// Copy the plan's files from `builder` into `dir` (which must exist).
/// An existing file with the same bytes, or a symlink with the same text,
/// is left alone and counted as unchanged; anything else already at a
/// destination is an error naming it, unless `force`, which replaces files
/// and symlinks (never a directory).
pub fn copy(
    dir: &Path,
    plan: &CopyPlan,
    builder: &Root,
    force: bool,
) -> Result<CopySummary, EmitError> {
    check::plan(plan)?;
    let target = Root::new(dir).map_err(|source| EmitError::Root {
        root: dir.to_path_buf(),
        source,
    })?;
    let mut found = Vec::with_capacity(plan.items.len());
    // Where each item lands in the directory, once its links are followed
    // there: two items may meet through a link of the directory that the
    // plan's target did not have (`/lib/x` and `/usr/lib/x` when
    // `lib -> usr/lib`).
    let mut landed: BTreeMap<PathBuf, &CopyItem> = BTreeMap::new();
    for item in &plan.items {
        verify_source(builder, item)?;
        let (parent, name) = check::split(&item.dest);
        let inside = parent_dir(&target, parent, None)?.join(name);
        if let Some(first) = landed.get(&inside) {
            if !same_content(builder, first, item)? {
                return Err(EmitError::PlanConflict {
                    path: item.dest.clone(),
                    problem: format!(
                        "lands on {} like {}, with other contents",
                        target.host_path(&inside).display(),
                        first.dest
                    ),
                });
            }
        } else {
            landed.insert(inside.clone(), item);
        }
        let state = existing(&target, &inside, item, builder)?;
        if let Existing::Differs(what) = &state
            && !force
        {
            return Err(EmitError::Exists {
                path: target.host_path(&inside),
                src: item.src.clone(),
                found: what.clone(),
            });
        }
        found.push(state);
    }
    // ... or one may land where another needs a directory.
    for (inside, item) in &landed {
        let under = inside
            .ancestors()
            .skip(1)
            .find_map(|a| landed.get(a).map(|dir_item| (a, dir_item)));
        if let Some((at, dir_item)) = under {
            return Err(EmitError::PlanConflict {
                path: dir_item.dest.clone(),
                problem: format!(
                    "lands on {}, which {} needs as a directory",
                    target.host_path(at).display(),
                    item.dest
                ),
            });
        }
    }

    // From here on the directory changes: a failure says what was done.
    let mut summary = CopySummary::default();
    let mut written: Vec<String> = Vec::new();
    for (item, before) in plan.items.iter().zip(found) {
        if before == Existing::Same {
            summary.unchanged += 1;
            continue;
        }
        let placed = place(&target, item, builder, force, &mut summary);
        match placed {
            Ok(true) => written.push(item.dest.clone()),
            Ok(false) => {}
            Err(source) if written.is_empty() && summary.dirs_created == 0 => return Err(source),
            Err(source) => {
                return Err(EmitError::Incomplete {
                    dir: dir.to_path_buf(),
                    failed: item.dest.clone(),
                    written,
                    dirs_created: summary.dirs_created,
                    source: Box::new(source),
                });
            }
        }
    }
    Ok(summary)
}

/// Put one item in place (its directories created as needed); `false`
/// when an earlier item already put the same thing there.
fn place(
    target: &Root,
    item: &CopyItem,
    builder: &Root,
    force: bool,
    summary: &mut CopySummary,
) -> Result<bool, EmitError> {
    let (parent, name) = check::split(&item.dest);
    let inside = parent_dir(target, parent, Some(&mut summary.dirs_created))?.join(name);
    // Looked at again: an earlier item may have put the same thing at the
    // same place through another path (checked above to be the same).
    match existing(target, &inside, item, builder)? {
        Existing::Same => {
            summary.unchanged += 1;
            Ok(false)
        }
        Existing::Absent => {
            write(target, &inside, item, builder, false, summary)?;
            Ok(true)
        }
        Existing::Differs(_) if force => {
            write(target, &inside, item, builder, true, summary)?;
            summary.replaced += 1;
            Ok(true)
        }
        Existing::Differs(what) => Err(EmitError::Exists {
            path: target.host_path(&inside),
            src: item.src.clone(),
            found: what,
        }),
    }
}

/// Whether two items put the same thing in place: the same link text, or
/// builder files with the same bytes.
fn same_content(builder: &Root, a: &CopyItem, b: &CopyItem) -> Result<bool, EmitError> {
    match (&a.kind, &b.kind) {
        (CopyKind::Symlink { target: x }, CopyKind::Symlink { target: y }) => Ok(x == y),
        (CopyKind::File { size: x, .. }, CopyKind::File { size: y, .. }) if x == y => {
            if a.src == b.src {
                return Ok(true);
            }
            let (fa, ha) = source::open_file(builder, a, *x)?;
            let (fb, hb) = source::open_file(builder, b, *y)?;
            let mut ra = Exact::new(&fa, &ha, &a.src);
            let mut rb = Exact::new(&fb, &hb, &b.src);
            same_bytes(&mut ra, &mut rb).map_err(|e| {
                ra.failure
                    .take()
                    .or_else(|| rb.failure.take())
                    .unwrap_or(EmitError::Io {
                        path: ha,
                        source: e,
                    })
            })
        }
        _ => Ok(false),
    }
}

fn verify_source(builder: &Root, item: &CopyItem) -> Result<(), EmitError> {
    match &item.kind {
        CopyKind::File { size, .. } => source::open_file(builder, item, *size).map(|_| ()),
        CopyKind::Symlink { target } => source::check_link(builder, item, target),
        // Written from the plan, not read from the builder.
        CopyKind::Generated { .. } => Ok(()),
    }
}

/// Resolve the directory `parent` inside `root`, component by component,
/// giving its canonical path inside the root. A missing directory is
/// created (0755) when `created` counts creations, else the answer is
/// where it will be once created. A symlink on the way is followed inside
/// the root; one that leads nowhere, or to a non-directory, is an error:
/// creating its target would be guessing.
fn parent_dir(
    root: &Root,
    parent: &str,
    mut created: Option<&mut usize>,
) -> Result<PathBuf, EmitError> {
    let mut canon = PathBuf::from("/");
    for comp in parent.split('/').filter(|c| !c.is_empty()) {
        let next = canon.join(comp);
        let host = root.host_path(&next);
        match fs::symlink_metadata(&host) {
            Ok(meta) if meta.is_dir() => canon = next,
            Ok(meta) if meta.file_type().is_symlink() => {
                let resolved = root.resolve(&next).map_err(|source| EmitError::Root {
                    root: root.host_dir().to_path_buf(),
                    source,
                })?;
                match resolved {
                    Some(r) if r.kind == Kind::Directory => canon = r.path,
                    Some(_) => return Err(not_a_dir(host, "a symbolic link to a non-directory")),
                    None => return Err(not_a_dir(host, "a symbolic link that leads nowhere")),
                }
            }
            Ok(meta) => return Err(not_a_dir(host, &source::describe(&meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let Some(count) = created.as_deref_mut() else {
                    // Not creating: where it will be, once created.
                    canon = next;
                    continue;
                };
                DirBuilder::new()
                    .mode(0o755)
                    .create(&host)
                    .map_err(EmitError::io(&host))?;
                // The umask must not decide the image's modes.
                fs::set_permissions(&host, Permissions::from_mode(0o755))
                    .map_err(EmitError::io(&host))?;
                *count += 1;
                canon = next;
            }
            Err(source) => return Err(EmitError::Io { path: host, source }),
        }
    }
    Ok(canon)
}

fn not_a_dir(path: PathBuf, what: &str) -> EmitError {
    EmitError::Destination {
        path,
        problem: format!("should be a directory, is {what}"),
    }
}

/// Compare what is at `inside` (not following it) with the item.
fn existing(
    root: &Root,
    inside: &Path,
    item: &CopyItem,
    builder: &Root,
) -> Result<Existing, EmitError> {
    let host = root.host_path(inside);
    let meta = match fs::symlink_metadata(&host) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(source) => return Err(EmitError::Io { path: host, source }),
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err(EmitError::Destination {
            path: host,
            problem: format!("is a directory; the plan puts builder {} here", item.src),
        });
    }
    if ft.is_symlink() {
        let text = fs::read_link(&host).map_err(EmitError::io(&host))?;
        return Ok(match &item.kind {
            CopyKind::Symlink { target } if text.as_os_str().as_bytes() == target.as_bytes() => {
                Existing::Same
            }
            _ => Existing::Differs(format!("a symbolic link to {}", text.display())),
        });
    }
    if let CopyKind::Generated { content, .. } = &item.kind {
        let same = ft.is_file() && fs::read(&host).is_ok_and(|b| b == content.bytes());
        return Ok(if same {
            Existing::Same
        } else {
            Existing::Differs(source::describe(&meta))
        });
    }
    let CopyKind::File { size, .. } = item.kind else {
        return Ok(Existing::Differs(source::describe(&meta)));
    };
    if !ft.is_file() || meta.len() != size {
        return Ok(Existing::Differs(source::describe(&meta)));
    }
    let (theirs, _) = root.open_walked(inside).map_err(|source| EmitError::Root {
        root: root.host_dir().to_path_buf(),
        source,
    })?;
    let (ours, ours_host) = source::open_file(builder, item, size)?;
    let mut a = Exact::new(&ours, &ours_host, &item.src);
    let mut b = &theirs.file;
    match same_bytes(&mut a, &mut b) {
        Ok(true) => Ok(Existing::Same),
        Ok(false) => Ok(Existing::Differs(
            "a regular file with other contents".into(),
        )),
        Err(e) => Err(a.failure.take().unwrap_or(EmitError::Io {
            path: host,
            source: e,
        })),
    }
}

fn same_bytes(a: &mut dyn Read, b: &mut dyn Read) -> io::Result<bool> {
    let mut ba = vec![0u8; 64 * 1024];
    let mut bb = vec![0u8; 64 * 1024];
    loop {
        let n = read_full(a, &mut ba)?;
        let m = read_full(b, &mut bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Put the item at `inside`, which was found absent (`replace` false) or
/// holding something else that is to be replaced.
fn write(
    root: &Root,
    inside: &Path,
    item: &CopyItem,
    builder: &Root,
    replace: bool,
    summary: &mut CopySummary,
) -> Result<(), EmitError> {
    let host = root.host_path(inside);
    match &item.kind {
        CopyKind::Symlink { target } => {
            if replace {
                let tmp = Temp::beside(&host);
                symlink(target, &tmp.0).map_err(EmitError::io(&tmp.0))?;
                fs::rename(&tmp.0, &host).map_err(EmitError::io(&host))?;
            } else {
                // symlink(2) never replaces: something that appeared since
                // the check is an error, not overwritten.
                symlink(target, &host).map_err(EmitError::io(&host))?;
            }
            summary.symlinks_added += 1;
        }
        CopyKind::Generated { mode, content, .. } => {
            let bytes = content.bytes();
            write_file(&host, *mode, replace, |out, tmp| {
                io::Write::write_all(out, &bytes).map_err(EmitError::io(tmp))
            })?;
            summary.files_added += 1;
            summary.bytes_added += bytes.len() as u64;
        }
        CopyKind::File { mode, size } => {
            let (file, src_host) = source::open_file(builder, item, *size)?;
            write_file(&host, *mode, replace, |out, tmp| {
                let mut data = Exact::new(&file, &src_host, &item.src);
                io::copy(&mut data, out).map(drop).map_err(|e| {
                    data.failure.take().unwrap_or(EmitError::Io {
                        path: tmp.to_path_buf(),
                        source: e,
                    })
                })
            })?;
            summary.files_added += 1;
            summary.bytes_added += size;
        }
    }
    Ok(())
}

/// A regular file at `host` with `mode`, its bytes written by `fill` into
/// a new temporary file beside it, then put in place: renamed over what is
/// there when `replace`, else hard-linked (link(2) fails if the name
/// exists, where rename would silently replace it).
fn write_file(
    host: &Path,
    mode: u32,
    replace: bool,
    fill: impl FnOnce(&mut fs::File, &Path) -> Result<(), EmitError>,
) -> Result<(), EmitError> {
    let tmp = Temp::beside(host);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp.0)
        .map_err(EmitError::io(&tmp.0))?;
    fill(&mut out, &tmp.0)?;
    out.set_permissions(Permissions::from_mode(mode & 0o7777))
        .map_err(EmitError::io(&tmp.0))?;
    drop(out);
    if replace {
        fs::rename(&tmp.0, host).map_err(EmitError::io(host))?;
    } else {
        fs::hard_link(&tmp.0, host).map_err(EmitError::io(host))?;
    }
    Ok(())
}

/// A temporary name beside a destination, removed when dropped (after a
/// rename there is nothing left to remove).
struct Temp(PathBuf);

impl Temp {
    fn beside(dest: &Path) -> Temp {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let mut name = std::ffi::OsString::from(".");
        // Not the destination's name: a name near NAME_MAX would make
        // the temporary one too long.
        name.push(format!(
            "ldslim.{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        Temp(dest.with_file_name(name))
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
