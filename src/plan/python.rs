//! The final image's Python checks in the plan ([`crate::python::image_checks`]),
//! and `--rewrite-shebangs`: a script whose `#!` names an interpreter the
//! image lacks, where the image has the Python of its venv or site
//! directory, is copied rewritten to name that one (a generated item).

use std::path::Path;

use super::{CopyItem, CopyKind, Generated, Planner};
use crate::image::FinalImage;
use crate::python::image_checks::{self, PythonFinding};

/// Scripts are rewritten only up to this size; console scripts are a few
/// hundred bytes.
const MAX_SCRIPT: u64 = 1 << 20;

impl Planner<'_> {
    /// The findings of the scope's Python installations in `image`, less
    /// the scripts `--rewrite-shebangs` rewrote.
    pub(super) fn python_checks(&mut self, image: &FinalImage) -> Vec<PythonFinding> {
        let (Some(inv), Some(root)) = (self.input.installations, self.input.builder.host_root())
        else {
            return Vec::new();
        };
        let mut found = image_checks::check(inv, image, root);
        if self.input.rewrite_shebangs {
            found.retain(|f| !self.rewrite(f));
        }
        found
    }

    /// Add the script of `f` rewritten to the interpreter it proposes;
    /// true when it was.
    fn rewrite(&mut self, f: &PythonFinding) -> bool {
        let Some(interpreter) = &f.rewrite else {
            return false;
        };
        let objects = self.input.builder.objects();
        let Ok(Some(bytes)) = objects.read_small(&f.path, MAX_SCRIPT) else {
            return false;
        };
        let Some((shebang, body)) = crate::python::shebang::rewrite(&bytes, interpreter) else {
            return false;
        };
        let mode = match objects.tree().lstat(Path::new(&f.path)) {
            Ok(Some(st)) => st.mode,
            _ => 0o755,
        };
        let content = Generated::Script {
            from: f.path.clone(),
            shebang,
            body,
        };
        let size = content.bytes().len() as u64;
        let dest = super::target_path(self.input.target.as_ref(), &f.path);
        self.items.insert(
            dest.clone(),
            CopyItem {
                src: dest.clone(),
                dest,
                kind: CopyKind::Generated {
                    mode,
                    size,
                    content,
                },
                needed_as: f.path.clone(),
                chain: vec![format!(
                    "--rewrite-shebangs: its #! named an interpreter the image lacks; it runs {interpreter} instead"
                )],
            },
        );
        true
    }
}
