//! The copy set: what goes into the final image beyond its base, as the
//! plan decides it and the simulated image and the emitters read it. Below
//! plan, image and emit, so that none of them imports another for it.

use serde::Serialize;

use crate::ldso::cache_write::CacheRecord;

/// What one copied path is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CopyKind {
    /// A regular file; `mode` is its permission bits (e.g. 0o644).
    File { mode: u32, size: u64 },
    /// A symbolic link, kept as a link; `target` is the link text as
    /// written in the builder (usually relative, e.g. `libz.so.1.2.13`).
    Symlink { target: String },
    /// A file ldslim writes (no builder file is behind it as it is; `src`
    /// repeats `dest`).
    Generated {
        mode: u32,
        size: u64,
        #[serde(flatten)]
        content: Generated,
    },
}

/// What a generated file holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "content", rename_all = "snake_case")]
pub enum Generated {
    /// An `/etc/ld.so.cache` listing these libraries, for
    /// `ctypes.util.find_library` (which runs `ldconfig -p`).
    LdSoCache { entries: Vec<CacheRecord> },
    /// A Debian package's record where distroless images keep them, so
    /// that image scanners see the package of copied files:
    /// `/var/lib/dpkg/status.d/NAME` (its control stanza) or `NAME.md5sums`.
    /// The bytes come from the builder's dpkg database and are not
    /// serialised.
    DpkgStatusD {
        package: String,
        file: DpkgFile,
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// The builder's script `from` with its first line replaced by
    /// `shebang` (`--rewrite-shebangs`): the interpreter its `#!` named is
    /// not in the image, this one is. `body` is the script after its old
    /// launch lines.
    Script {
        from: String,
        shebang: String,
        #[serde(skip)]
        body: Vec<u8>,
    },
}

/// Which file of a package's `status.d` record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DpkgFile {
    /// `NAME`: the stanza of `/var/lib/dpkg/status` without dpkg's own
    /// bookkeeping (the package's control file).
    Control,
    /// `NAME.md5sums`: `/var/lib/dpkg/info/NAME[:ARCH].md5sums`.
    Md5sums,
}

impl Generated {
    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Generated::LdSoCache { entries } => {
                crate::ldso::cache_write::new_format(entries, crate::ldso::cache::ByteOrder::Little)
            }
            Generated::DpkgStatusD { bytes, .. } => bytes.clone(),
            Generated::Script { shebang, body, .. } => {
                let mut bytes = Vec::with_capacity(shebang.len() + 1 + body.len());
                bytes.extend_from_slice(shebang.as_bytes());
                bytes.push(b'\n');
                bytes.extend_from_slice(body);
                bytes
            }
        }
    }
}

impl CopyKind {
    /// A generated file of `content`, with its size.
    pub fn generated(content: Generated) -> CopyKind {
        let size = content.bytes().len() as u64;
        CopyKind::Generated {
            mode: 0o644,
            size,
            content,
        }
    }
}

/// One path to add to the final image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CopyItem {
    /// Where it goes in the final image (absolute path inside the image).
    pub dest: String,
    /// Where it is in the builder root (absolute path inside the builder;
    /// its directories contain no symlinks).
    pub src: String,
    pub kind: CopyKind,
    /// The DT_NEEDED name this item serves.
    pub needed_as: String,
    /// One chain of objects that loads it, from an object of the scope to
    /// the object whose DT_NEEDED names it (paths inside the image).
    pub chain: Vec<String>,
}

/// Everything to add, sorted by `dest`, plus environment the image needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CopyPlan {
    /// The target (base image) the plan is for, e.g. `distroless/cc-debian12`.
    pub target: String,
    pub items: Vec<CopyItem>,
    /// Environment variables the final image must set (e.g.
    /// `LD_LIBRARY_PATH`), sorted by name.
    pub env: Vec<(String, String)>,
    /// Directories copied whole: every file and symlink below them is an
    /// item, and nothing else is there, so one `COPY` of the directory
    /// (which keeps the links inside it) adds them all (sorted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trees: Vec<String>,
}
