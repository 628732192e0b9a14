//! `--include PATH`: builder paths the user adds to the image on ldslim's
//! advice (a plugin directory, a library's data) — copied as they are
//! (files, symlinks, whole trees), and every ELF object among them planned
//! and checked like an object of the scope, so a plugin's own DT_NEEDED
//! closure comes too.

use std::path::Path;

use super::groups::Cause;
use super::{CopyKind, MissingEdge, Planner};
use crate::rootfs::Node;

/// Files and links below one directory, at most this many: an include of
/// `/usr` by mistake stops here and says so.
const MAX_FILES: usize = 100_000;

impl Planner<'_> {
    /// Add every `--include` path; problems (a path the builder lacks, a
    /// tree too large) are returned as sentences.
    pub(super) fn add_includes(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        for inc in self.input.include.clone() {
            let m = MissingEdge {
                entry: String::new(),
                cpus: Vec::new(),
                requester: String::new(),
                needed: inc.clone(),
                name: inc.clone(),
                chain: vec![format!("--include {inc}")],
                searched: vec![],
            };
            if let Err(e) = self.include(&inc, &m, 0) {
                problems.push(format!("--include {inc}: {e}"));
            }
        }
        problems
    }

    pub(super) fn include(
        &mut self,
        path: &str,
        m: &MissingEdge,
        depth: usize,
    ) -> Result<(), String> {
        let builder = self.input.builder.objects();
        let p = Path::new(path);
        if !p.is_absolute() {
            return Err("not an absolute path in the builder".into());
        }
        // The directory resolved, the last component as it is: a symlink
        // is copied as a symlink, then what it points to.
        let at = match (p.parent(), p.file_name()) {
            (Some(dir), Some(name)) => match builder.resolve(dir) {
                Ok(Some(d)) => d.path.join(name),
                Ok(None) => return Err("not in the builder".into()),
                Err(e) => return Err(e.to_string()),
            },
            _ => return Err("the builder's root itself cannot be included".into()),
        };
        let st = builder
            .tree()
            .lstat(&at)
            .map_err(|e| e.to_string())?
            .ok_or("not in the builder")?;
        match st.node {
            Node::Symlink(text) => {
                self.include_link(&at, &text, m);
                match builder.resolve(&at) {
                    Ok(Some(r)) if depth < crate::rootfs::MAX_SYMLINKS => {
                        self.include(&r.path.display().to_string(), m, depth + 1)
                    }
                    Ok(Some(_)) | Err(_) => Err(format!("{} is a symlink loop", at.display())),
                    Ok(None) => Err(format!("{} -> {}: dangling", at.display(), text.display())),
                }
            }
            Node::Regular => {
                self.include_file(&at, m);
                Ok(())
            }
            Node::Directory => {
                let Some(host) = self.input.builder.host_root() else {
                    return Err("the builder is not a directory".into());
                };
                let (items, problems) = super::layer::list_tree(host.host_dir(), &at, MAX_FILES);
                // Files first, then the links to them.
                for item in &items {
                    if !matches!(item.kind, CopyKind::Symlink { .. }) {
                        self.include_file(Path::new(&item.path), m);
                    }
                }
                for item in &items {
                    if let CopyKind::Symlink { target } = &item.kind {
                        self.include_link(Path::new(&item.path), Path::new(target), m);
                    }
                }
                match problems.first() {
                    None => Ok(()),
                    Some(p) if problems.len() == 1 => Err(p.clone()),
                    Some(p) => Err(format!("{p} (and {} more)", problems.len() - 1)),
                }
            }
            Node::Special => Err("not a file, a directory or a symlink".into()),
        }
    }

    /// One symlink, copied as a link (what it points to is the caller's).
    fn include_link(&mut self, at: &Path, text: &Path, m: &MissingEdge) {
        let dest = at.display().to_string();
        self.add_item(
            dest.clone(),
            dest.clone(),
            CopyKind::Symlink {
                target: text.display().to_string(),
            },
            m,
        );
        self.runtime
            .used
            .insert(super::target_path(self.input.target.as_ref(), &dest));
    }

    /// One regular file; an ELF object among them is loaded as an entry of
    /// the image, so its closure is planned and checked.
    fn include_file(&mut self, at: &Path, m: &MissingEdge) {
        let path = at.display().to_string();
        self.add_file(path.clone(), path.clone(), m);
        let dest = super::target_path(self.input.target.as_ref(), &path);
        self.runtime.used.insert(dest.clone());
        let builder = self.input.builder.objects();
        if let Ok(Some(f)) = builder.resolve(at)
            && builder.facts(&f).as_ref().is_ok()
        {
            if let Some(reason) = m.chain.first() {
                self.runtime
                    .causes
                    .entry(dest.clone())
                    .or_default()
                    .insert(Cause::Reason(reason.clone()));
            }
            self.runtime.entries.insert(dest);
        }
    }
}
