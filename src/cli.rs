//! Command-line definitions: one struct per subcommand, each flag documented
//! where it is defined (clap renders `--help` from these comments).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ldso::Options;
use crate::ldso::abi::Hwcaps;
use crate::scan::Scope;

/// Which shared libraries a program needs, resolved exactly as glibc's
/// loader would inside a root filesystem.
#[derive(Debug, Parser)]
#[command(name = "ldslim", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print what glibc's loader would load for each FILE, as `ld.so --list`
    /// run inside ROOT prints it (without addresses).
    Ldd(LddArgs),
    /// Find every ELF object under ROOT (or PATHs inside it), resolve each,
    /// and report what does not load.
    Scan(ScanArgs),
    /// Every chain of DT_NEEDED edges from the objects in scope that loads
    /// LIB (a soname or a path inside ROOT), the reason for each edge, and
    /// whether the target provides it.
    Why(WhyArgs),
    /// Read an error message, a traceback or a whole container log (TEXT,
    /// --file, or standard input) and explain each loader failure in it:
    /// which object failed, which file it needs, the chain from the Python
    /// module, where that file is in the builder ROOT, who owns it, and the
    /// fix.
    Explain(ExplainArgs),
    /// List the base images ldslim knows (embedded target data): glibc
    /// version, entries, ELF objects and Debian package versions of each.
    Targets(TargetsArgs),
    /// Print the target data of an extracted image root (used by
    /// scripts/make-targets.sh).
    #[command(hide = true)]
    TargetData(TargetDataArgs),
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct TargetDataArgs {
    /// The extracted image (a directory).
    pub dir: PathBuf,
    /// The image's name, e.g. distroless/cc-debian12.
    #[arg(long)]
    pub name: String,
    /// Debian suite, e.g. bookworm.
    #[arg(long)]
    pub suite: String,
    /// Debian architecture, e.g. amd64.
    #[arg(long)]
    pub arch: String,
    /// The image's packages: one "NAME VERSION" per line.
    #[arg(long, value_name = "FILE")]
    pub packages: PathBuf,
}

/// How the image's loader is set up.
#[derive(Debug, Args)]
pub struct LoaderArgs {
    /// LD_LIBRARY_PATH of the image (the host's environment is never read).
    #[arg(long, value_name = "DIRS")]
    pub library_path: Option<String>,
    /// glibc-hwcaps subdirectories to consider: those this CPU supports
    /// (`host`), none (`baseline`), or up to an x86-64 level.
    #[arg(long, value_enum, default_value = "host")]
    pub hwcaps: HwcapsArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HwcapsArg {
    Host,
    Baseline,
    #[value(name = "x86-64-v2")]
    V2,
    #[value(name = "x86-64-v3")]
    V3,
    #[value(name = "x86-64-v4")]
    V4,
}

impl LoaderArgs {
    pub fn options(&self) -> Options {
        Options {
            library_path: self.library_path.clone(),
            hwcaps: match self.hwcaps {
                HwcapsArg::Host => Hwcaps::Host,
                HwcapsArg::Baseline => Hwcaps::X86Level(1),
                HwcapsArg::V2 => Hwcaps::X86Level(2),
                HwcapsArg::V3 => Hwcaps::X86Level(3),
                HwcapsArg::V4 => Hwcaps::X86Level(4),
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct LddArgs {
    /// The root filesystem (a directory).
    pub root: PathBuf,
    /// Files to list, as paths inside ROOT (e.g. /usr/bin/python3).
    #[arg(required = true)]
    pub files: Vec<String>,
    #[command(flatten)]
    pub loader: LoaderArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScopeArg {
    /// Every Python installation found in ROOT: interpreters, stdlib,
    /// site-packages, user sites, virtual environments, .pth directories.
    Python,
    /// Every file under ROOT.
    All,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Scope {
        match s {
            ScopeArg::Python => Scope::Python,
            ScopeArg::All => Scope::All,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The root filesystem (a directory; `/` scans this system, skipping
    /// /proc, /sys and /dev).
    pub root: PathBuf,
    /// Only scan these paths inside ROOT (instead of the scope).
    pub paths: Vec<String>,
    /// Which files to scan when no PATH is given.
    #[arg(long, value_enum, default_value = "python")]
    pub scope: ScopeArg,
    /// Output format; JSON is described in docs/json.md.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Print one object's dependency tree, with the reason for each edge,
    /// instead of scanning.
    #[arg(long, value_name = "FILE")]
    pub tree: Option<String>,
    /// The base image the scope is copied into: an embedded target (see
    /// `ldslim targets`), a directory holding an extracted image, or
    /// `none` to check the builder only. Default: distroless/cc-debianN,
    /// N from the builder's /etc/os-release.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// When the image's loader would not find a library where the
    /// builder's did (e.g. found through the builder's ld.so.cache):
    /// copy it into a default directory, or set LD_LIBRARY_PATH.
    #[arg(long, value_enum, default_value = "relocate")]
    pub fix: FixArg,
    /// Write the copy set: `list` (builder paths, one per line, for
    /// `tar -C BUILDER -T`), `dockerfile` (COPY --from=builder lines),
    /// `json` (the whole report), each to stdout or to `=FILE`;
    /// `tar=FILE` (a layer, symlinks kept); `copy=DIR` (materialise into
    /// an extracted base image). Repeatable.
    #[arg(long, value_name = "KIND[=PATH]", value_parser = parse_emit)]
    pub emit: Vec<Emit>,
    /// Name the Debian package or wheel that owns each file to copy (from
    /// the builder's dpkg database and the wheels' RECORD files).
    #[arg(long)]
    pub owners: bool,
    #[command(flatten)]
    pub loader: LoaderArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FixArg {
    Relocate,
    Env,
}

impl From<FixArg> for crate::plan::Fix {
    fn from(f: FixArg) -> crate::plan::Fix {
        match f {
            FixArg::Relocate => crate::plan::Fix::Relocate,
            FixArg::Env => crate::plan::Fix::Env,
        }
    }
}

/// One `--emit` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Emit {
    List(Option<PathBuf>),
    Dockerfile(Option<PathBuf>),
    Json(Option<PathBuf>),
    Tar(PathBuf),
    Copy(PathBuf),
}

impl Emit {
    /// Whether it writes to standard output.
    pub fn to_stdout(&self) -> bool {
        matches!(
            self,
            Emit::List(None) | Emit::Dockerfile(None) | Emit::Json(None)
        )
    }
}

fn parse_emit(s: &str) -> Result<Emit, String> {
    let (kind, path) = match s.split_once('=') {
        Some((k, p)) if !p.is_empty() => (k, Some(PathBuf::from(p))),
        Some((k, _)) => return Err(format!("{k}= needs a path")),
        None => (s, None),
    };
    match (kind, path) {
        ("list", p) => Ok(Emit::List(p)),
        ("dockerfile", p) => Ok(Emit::Dockerfile(p)),
        ("json", p) => Ok(Emit::Json(p)),
        ("tar", Some(p)) => Ok(Emit::Tar(p)),
        ("copy", Some(p)) => Ok(Emit::Copy(p)),
        ("tar" | "copy", None) => Err(format!("{kind} needs a path: {kind}=PATH")),
        _ => Err(format!(
            "unknown emitter {kind:?}: list, dockerfile, json, tar=FILE or copy=DIR"
        )),
    }
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The builder root filesystem (a directory).
    pub root: PathBuf,
    /// The library: a soname (libbz2.so.1.0) or a path inside ROOT.
    pub lib: String,
    /// Only consider objects under these paths inside ROOT.
    pub paths: Vec<String>,
    /// The base image, as for `scan --target`.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub loader: LoaderArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The builder root filesystem (a directory).
    pub root: PathBuf,
    /// The message itself; `-` or nothing reads standard input.
    pub text: Vec<String>,
    /// Read the message from this file (e.g. a saved container log).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The base image, as for `scan --target`.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub loader: LoaderArgs,
}
