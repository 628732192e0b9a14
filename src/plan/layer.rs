//! `--layer full`: the Python side of the image joins the libraries, so
//! that one `COPY --from=builder /ldslim-out/ /` is the whole layer.
//!
//! What the user used to copy by hand is what the scan scanned: the scope's
//! paths (interpreters and the links that name them, `libpython`, the
//! standard library, site directories, whole venvs, directories added by
//! `.pth` files, or the PATHs given). Each is listed as it is in the builder
//! — files with their permission bits, symlinks as links, directories
//! walked (without following links) — and goes to the same path in the
//! image, where the plan already assumed it (`FinalImage` lays the scope
//! over the base). Beside them, what the wheels of the site directories
//! installed outside them (console scripts in `PREFIX/bin`, data under
//! `PREFIX/share`), as their `RECORD`s list them.
//!
//! A path the base already has is left to the base and counted: a layer
//! that replaced the base's files could break what the base's own programs
//! load, and the plan checked the image with the base's file there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::copyset::{CopyItem, CopyKind, CopyPlan};
use crate::python::{Inventory, SiteKind};
use crate::rootfs::{Node, Root, Tree};
use crate::scan::Listing;

/// Which files the emitters write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Everything the image needs beyond the base: the Python files of the
    /// scope and the libraries.
    #[default]
    Full,
    /// Only the libraries (and what they bring): the Python files are
    /// copied by hand.
    Libs,
}

/// The Python files of the layer, by what they are.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PythonLayer {
    pub parts: Vec<LayerPart>,
    pub files: usize,
    pub links: usize,
    /// Bytes of the regular files.
    pub bytes: u64,
    /// Directories of the scope copied whole (nothing below them is left
    /// out), for emitters that can copy a directory at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trees: Vec<String>,
    /// Paths of the scope the base already has: left to the base.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub in_base: Vec<String>,
    /// What could not be listed (fully), and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// What `--prune` left out, by category.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<super::prune::Pruned>,
    /// What the pruning rules knew (with `--prune`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<super::prune::Evidence>,
}

/// One kind of Python files: an interpreter with its names, a standard
/// library, a site directory, a venv…
#[derive(Clone, Debug, Serialize)]
pub struct LayerPart {
    /// What it is, e.g. `python 3.11 standard library`.
    pub what: String,
    /// The builder paths it copies (to the same paths), sorted.
    pub paths: Vec<String>,
    pub files: usize,
    pub links: usize,
    pub bytes: u64,
    /// Every file and symlink, sorted by path.
    pub items: Vec<LayerItem>,
}

/// One path of the layer (at the same path in the builder and the image).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LayerItem {
    pub path: String,
    #[serde(flatten)]
    pub kind: CopyKind,
}

/// Files and links below one directory of the layer, at most this many: a
/// PATH of `/` given by mistake stops here and says so.
const MAX_FILES: usize = 1_000_000;

impl PythonLayer {
    /// The layer of `scope` (canonical builder paths and the links naming
    /// them), its parts named from `python`, leaving out what `target` has.
    /// What `listing` covers is taken from it; the rest is listed here.
    pub fn list(
        builder: &Root,
        scope: &[PathBuf],
        python: Option<&Inventory>,
        listing: Option<&Listing>,
        target: &dyn Tree,
    ) -> PythonLayer {
        let mut by_part: BTreeMap<String, (BTreeSet<String>, Vec<LayerItem>)> = BTreeMap::new();
        let mut layer = PythonLayer::default();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        // The scan's paths are canonical; an interpreter in them comes with
        // the links that name it (`/usr/bin/python3 -> python3.11`).
        let mut paths: BTreeSet<String> = scope.iter().map(|p| p.display().to_string()).collect();
        // (Not the names inside a venv: they come with the venv, or not.)
        if let Some(inv) = python {
            let in_venv = |p: &str| {
                inv.venvs
                    .iter()
                    .any(|v| v.root != "/" && Path::new(p).starts_with(&v.root))
            };
            for i in &inv.installations {
                if scope
                    .iter()
                    .any(|s| Path::new(&i.interpreter).starts_with(s))
                {
                    paths.extend(
                        i.names
                            .iter()
                            .chain(&i.links)
                            .filter(|n| {
                                !in_venv(n) || scope.iter().any(|s| Path::new(n).starts_with(s))
                            })
                            .cloned(),
                    );
                }
            }
        }
        let outermost: Vec<String> = paths
            .iter()
            .filter(|p| {
                !paths
                    .iter()
                    .any(|o| o != *p && Path::new(p).starts_with(Path::new(o)))
            })
            .cloned()
            .collect();
        let mut roots: Vec<(String, String)> = outermost
            .into_iter()
            .map(|p| (part_of(&p, python), p))
            .collect();
        let outside = outside_site_dirs(builder, python, &roots);
        roots.extend(outside.into_iter().map(|p| {
            (
                "installed by wheels outside their site directory".to_string(),
                p,
            )
        }));
        // A path can be listed twice only under two roots one inside the
        // other (a link's target inside a listed directory, an outside
        // path below another): only their items are remembered, to be
        // copied once. Most layers have none.
        let nested: Vec<bool> = roots
            .iter()
            .enumerate()
            .map(|(i, (_, p))| {
                roots.iter().enumerate().any(|(j, (_, o))| {
                    i != j && (Path::new(p).starts_with(o) || Path::new(o).starts_with(p))
                })
            })
            .collect();
        for ((what, path), nested) in roots.into_iter().zip(nested) {
            let part = by_part.entry(what).or_default();
            part.0.insert(path.clone());
            let (items, problems) = match list_path(builder, &path, listing) {
                Ok(listed) => listed,
                Err(e) => (Vec::new(), vec![format!("{path}: {e}")]),
            };
            let whole = problems.is_empty() && is_dir(builder, &path);
            layer.problems.extend(problems);
            let in_base = layer.in_base.len();
            // Nothing is in a directory the base lacks: one look-up per
            // directory (items come sorted, a directory's files together)
            // instead of one per file. Compared as text: the items' paths
            // are normal, and a `Path` compares component by component.
            let mut dir_in_base: Option<(String, bool)> = None;
            for item in items {
                if nested && !seen.insert(item.path.clone()) {
                    continue;
                }
                let dir = parent_text(&item.path);
                let may_be_there = match &dir_in_base {
                    Some((d, there)) if d == dir => *there,
                    _ => {
                        let there = !matches!(target.lstat(Path::new(dir)), Ok(None));
                        dir_in_base = Some((dir.to_string(), there));
                        there
                    }
                };
                if may_be_there && matches!(target.lstat(Path::new(&item.path)), Ok(Some(_))) {
                    layer.in_base.push(item.path);
                    continue;
                }
                part.1.push(item);
            }
            if whole && layer.in_base.len() == in_base {
                layer.trees.push(path);
            }
        }
        for (what, (paths, mut items)) in by_part {
            items.sort();
            let (files, links, bytes) = count(&items);
            layer.files += files;
            layer.links += links;
            layer.bytes += bytes;
            layer.parts.push(LayerPart {
                what,
                paths: paths.into_iter().collect(),
                files,
                links,
                bytes,
                items,
            });
        }
        // Biggest first: what a reader weighs first.
        layer
            .parts
            .sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.what.cmp(&b.what)));
        layer.in_base.sort();
        layer.trees.sort();
        layer
    }

    /// Every path, as copy items (`needed_as` empty, the part's name as the
    /// chain).
    pub fn items(&self) -> impl Iterator<Item = CopyItem> + '_ {
        self.parts.iter().flat_map(|p| {
            p.items.iter().map(|i| CopyItem {
                dest: i.path.clone(),
                src: i.path.clone(),
                kind: i.kind.clone(),
                needed_as: String::new(),
                chain: vec![p.what.clone()],
            })
        })
    }
}

/// The directory part of a normal absolute path (`/` for `/x`; the path
/// itself when it has no `/`).
fn parent_text(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => path,
    }
}

/// The libraries of `libs` and the Python files of `layer` as one plan
/// (sorted by destination; where both have a path, the library's item).
pub fn merged(libs: &CopyPlan, layer: &PythonLayer) -> CopyPlan {
    let lib_dests: BTreeSet<&str> = libs.items.iter().map(|i| i.dest.as_str()).collect();
    let mut items: Vec<CopyItem> = layer
        .items()
        .filter(|i| !lib_dests.contains(i.dest.as_str()))
        .chain(libs.items.iter().cloned())
        .collect();
    items.sort_by(|a, b| a.dest.cmp(&b.dest));
    CopyPlan {
        target: libs.target.clone(),
        items,
        env: libs.env.clone(),
        trees: layer.trees.clone(),
    }
}

/// [`merged`] without the layer's items below its `trees`.
pub(super) fn merged_beside_trees(libs: &CopyPlan, layer: &PythonLayer) -> CopyPlan {
    let in_tree = |p: &str| {
        layer.trees.iter().any(|t| {
            p.strip_prefix(t.as_str())
                .is_some_and(|r| r.starts_with('/'))
        })
    };
    let beside = PythonLayer {
        parts: layer
            .parts
            .iter()
            .map(|p| LayerPart {
                what: p.what.clone(),
                paths: Vec::new(),
                files: 0,
                links: 0,
                bytes: 0,
                items: p
                    .items
                    .iter()
                    .filter(|i| !in_tree(&i.path))
                    .cloned()
                    .collect(),
            })
            .collect(),
        trees: layer.trees.clone(),
        ..PythonLayer::default()
    };
    merged(libs, &beside)
}

/// Whether `path` is a directory in the builder (not a link to one).
fn is_dir(builder: &Root, path: &str) -> bool {
    matches!(builder.lstat(Path::new(path)), Ok(Some(st)) if st.node == Node::Directory)
}

pub(super) fn count(items: &[LayerItem]) -> (usize, usize, u64) {
    let mut files = 0;
    let mut links = 0;
    let mut bytes = 0;
    for i in items {
        match &i.kind {
            CopyKind::File { size, .. } | CopyKind::Generated { size, .. } => {
                files += 1;
                bytes += size;
            }
            CopyKind::Symlink { .. } => links += 1,
        }
    }
    (files, links, bytes)
}

/// What a scope path is, in words a reader of the report knows.
fn part_of(path: &str, python: Option<&Inventory>) -> String {
    let Some(inv) = python else {
        return "scanned path".into();
    };
    for i in &inv.installations {
        let v = if i.version.is_empty() {
            "python".to_string()
        } else {
            format!("python {}", i.version)
        };
        if path == i.interpreter || i.names.iter().chain(&i.links).any(|n| n == path) {
            return format!("{v} interpreter");
        }
        if i.libpython.iter().any(|l| l == path) {
            return format!("{v} libpython");
        }
        if i.stdlib.as_deref() == Some(path) || i.lib_dynload.as_deref() == Some(path) {
            return format!("{v} standard library");
        }
        if let Some(s) = i.site_dirs.iter().find(|s| s.path == path) {
            return match &s.kind {
                SiteKind::System => format!("{v} site packages (system)"),
                SiteKind::Local => format!("{v} site packages (local)"),
                SiteKind::User { user } => format!("{v} user site of {user}"),
                SiteKind::Venv { root } => format!("virtual environment {root}"),
                SiteKind::Pth { from } => format!("directory named by {from}"),
            };
        }
    }
    if let Some(v) = inv
        .venvs
        .iter()
        .find(|v| v.root == path || path == "/pyvenv.cfg")
    {
        return format!("virtual environment {}", v.root);
    }
    "scanned path".into()
}

/// Paths the wheels of each site directory installed outside it, below the
/// site directory's prefix (`/usr/local` of
/// `/usr/local/lib/python3.11/dist-packages`).
fn outside_site_dirs(
    builder: &Root,
    python: Option<&Inventory>,
    layer: &[(String, String)],
) -> Vec<String> {
    let mut out = BTreeSet::new();
    for i in python.iter().flat_map(|inv| &inv.installations) {
        for s in &i.site_dirs {
            // Only the site directories the layer copies.
            let copied = layer.iter().any(|(_, p)| Path::new(&s.path).starts_with(p));
            if matches!(s.kind, SiteKind::Pth { .. }) || !copied {
                continue;
            }
            let Some(prefix) = prefix_of(&s.path) else {
                continue;
            };
            // `RECORD`s of `pip install --target` name where the files were
            // before pip moved them: only what is there is copied.
            out.extend(
                crate::owners::installed_outside(builder, &s.path, &prefix)
                    .into_iter()
                    .filter(|p| !layer.iter().any(|(_, l)| Path::new(p).starts_with(l)))
                    .filter(|p| matches!(builder.lstat(Path::new(p)), Ok(Some(_)))),
            );
        }
    }
    out.into_iter().collect()
}

/// The directory above the `lib` (or `lib64`) of a site directory; `None`
/// for `/` itself, which would let a `RECORD` name anything.
fn prefix_of(site_dir: &str) -> Option<String> {
    let p = Path::new(site_dir);
    let lib = p.ancestors().find(|a| {
        matches!(
            a.file_name().and_then(|n| n.to_str()),
            Some("lib" | "lib64")
        )
    })?;
    let prefix = lib.parent()?;
    (prefix != Path::new("/")).then(|| prefix.display().to_string())
}

type Listed = (Vec<LayerItem>, Vec<String>);

/// `path` as it is in the builder: a file, a link, or every file and link
/// below a directory (with what could not be listed there). Its directory
/// is resolved (a layer item's directories hold no symlinks, as the
/// emitters require); its last component is not.
fn list_path(builder: &Root, path: &str, listing: Option<&Listing>) -> Result<Listed, String> {
    let p = Path::new(path);
    let at = match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => match builder.resolve(dir) {
            Ok(Some(d)) => d.path.join(name),
            Ok(None) => return Err("not in the builder".into()),
            Err(e) => return Err(e.to_string()),
        },
        _ => return Err("the builder's root itself cannot be copied".into()),
    };
    let path = at.display().to_string();
    let covered = listing.and_then(|l| l.below(&path));
    let walked = covered.is_some();
    if let Some((items, problems)) = covered {
        let mut items: Vec<LayerItem> = items
            .into_iter()
            .map(|i| LayerItem {
                path: i.path.clone(),
                kind: i.kind.clone(),
            })
            .collect();
        let mut problems: Vec<String> = problems
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        if items.len() > MAX_FILES {
            items.truncate(MAX_FILES);
            problems.push(format!(
                "{path}: more than {MAX_FILES} files below it; the rest is left out"
            ));
        }
        if !items.is_empty() || !problems.is_empty() {
            return Ok((items, problems));
        }
    }
    let st = builder
        .lstat(&at)
        .map_err(|e| e.to_string())?
        .ok_or("not in the builder")?;
    match st.node {
        Node::Symlink(text) => Ok((
            vec![LayerItem {
                path,
                kind: CopyKind::Symlink {
                    target: text.display().to_string(),
                },
            }],
            Vec::new(),
        )),
        Node::Regular => Ok((
            vec![LayerItem {
                path,
                kind: CopyKind::File {
                    mode: st.mode,
                    size: st.size,
                },
            }],
            Vec::new(),
        )),
        // The scan walked it and found nothing to list: an empty tree (of
        // directories at most), not worth walking again.
        Node::Directory if walked => Ok((Vec::new(), Vec::new())),
        Node::Directory => Ok(list_tree(builder.host_dir(), &at, MAX_FILES)),
        Node::Special => Err("not a file, a directory or a symlink".into()),
    }
}

/// Every regular file and symlink below `dir` (at most `max`), and what
/// could not be read.
pub(super) fn list_tree(host_root: &Path, dir: &Path, max: usize) -> Listed {
    struct Listing {
        items: Mutex<Vec<LayerItem>>,
        errors: Mutex<Vec<String>>,
        max: usize,
    }
    impl Listing {
        fn push(&self, item: LayerItem) {
            let mut items = crate::locks::lock(&self.items);
            if items.len() <= self.max {
                items.push(item);
            }
        }
    }
    impl crate::walk::Visit for Listing {
        type Out = ();
        fn file(&self, entry: &crate::walk::Entry<'_>) -> Option<()> {
            match entry.lstat() {
                Ok(st) => self.push(LayerItem {
                    path: entry.path().display().to_string(),
                    kind: CopyKind::File {
                        mode: st.st_mode & 0o7777,
                        size: u64::try_from(st.st_size).unwrap_or(0),
                    },
                }),
                Err(e) => crate::locks::lock(&self.errors)
                    .push(format!("{}: {e}", entry.path().display())),
            }
            None
        }
        fn other(&self, entry: &crate::walk::Entry<'_>, d_type: u8) -> Option<()> {
            if d_type == libc::DT_LNK {
                match entry.read_link() {
                    Ok(text) => self.push(LayerItem {
                        path: entry.path().display().to_string(),
                        kind: CopyKind::Symlink {
                            target: text.display().to_string(),
                        },
                    }),
                    Err(e) => crate::locks::lock(&self.errors)
                        .push(format!("{}: {e}", entry.path().display())),
                }
            }
            None
        }
        fn error(&self, path: &Path, error: std::io::Error) -> Option<()> {
            crate::locks::lock(&self.errors).push(format!("{}: {error}", path.display()));
            None
        }
    }
    let listing = Listing {
        items: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
        max,
    };
    crate::walk::walk(host_root, &[dir.to_path_buf()], &listing);
    let mut errors = crate::locks::into_inner(listing.errors);
    let mut items = crate::locks::into_inner(listing.items);
    if items.len() > max {
        items.truncate(max);
        errors.push(format!(
            "{}: more than {max} files below it; the rest is left out",
            dir.display()
        ));
    }
    errors.sort();
    items.sort();
    (items, errors)
}
