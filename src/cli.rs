//! Command-line definitions: one struct per subcommand, each flag documented
//! where it is defined (clap renders `--help` from these comments).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ldso::Options;
use crate::ldso::cpu::{Cpu, Platform};
use crate::pipeline::TargetChoice;
use crate::scan::Scope;

pub mod completions;

/// Which shared libraries a program needs, resolved exactly as glibc's
/// loader would inside a root filesystem.
#[derive(Debug, Parser)]
#[command(
    name = "ldslim",
    version,
    about,
    max_term_width = 100,
    after_help = MAIN_EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

const MAIN_EXAMPLES: &str = "\
Examples:
  ldslim scan / --emit copy=/ldslim-out    # in a Dockerfile's builder stage
  ldslim scan ./rootfs --format json        # in CI, on an exported builder filesystem
  ldslim why ./rootfs libbz2.so.1.0         # what needs a library
  ldslim explain ./rootfs --file app.log    # a loader error explained, with the fix
  ldslim targets                            # the base images ldslim knows

Exit codes: 0 everything loads, 1 findings, 2 usage or I/O error.
Guides: docs/dockerfile.md, docs/ci.md, docs/cli.md and docs/json.md in the source repository.";

/// The whole command line, with what is known only at run time: the long
/// version (`--version`), which names the Debian package versions of the
/// embedded targets. Help, the man page and completions all come from it.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    // Built once per process, and it lives as long.
    let long: &'static str = Box::leak(long_version().into_boxed_str());
    Cli::command().long_version(long)
}

/// `0.1.0`, then each embedded target with the packages its data was made
/// from.
pub fn long_version() -> String {
    let mut s = format!(
        "{}\nembedded targets (the Debian packages their data was made from; `ldslim targets` for more):",
        env!("CARGO_PKG_VERSION")
    );
    for name in crate::target::embedded_names() {
        match crate::target::embedded(name) {
            Ok(t) => {
                let glibc = t
                    .info
                    .glibc
                    .as_deref()
                    .map(|g| format!(", glibc {g}"))
                    .unwrap_or_default();
                let packages: Vec<String> = t
                    .info
                    .packages
                    .iter()
                    .map(|(p, v)| format!("{p} {v}"))
                    .collect();
                s.push_str(&format!(
                    "\n  {name} ({} {}{glibc}): {}",
                    t.info.suite,
                    t.info.arch,
                    packages.join(", ")
                ));
            }
            Err(e) => s.push_str(&format!("\n  {name}: {e}")),
        }
    }
    s
}

/// Flags every subcommand takes, before or after its name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to colour the text report: `auto` colours only a terminal, and
    /// not when NO_COLOR is set; `always`; `never`.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        global = true
    )]
    pub color: ColorWhen,
    /// Print nothing but errors (on standard error); the exit code tells
    /// the outcome. Files asked for with --emit are still written.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print each stage's time and counts on standard error.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Whether to colour a stream that is (or is not) a terminal, given
    /// the value of NO_COLOR (any non-empty value turns `auto` off).
    pub fn enabled(self, is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print what glibc's loader would load for each FILE, as `ld.so --list`
    /// run inside ROOT prints it (without addresses).
    #[command(after_help = LDD_EXAMPLES)]
    Ldd(LddArgs),
    /// Find every ELF object under ROOT (or PATHs inside it), resolve each,
    /// and report what does not load.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(ScanArgs),
    /// Every chain of DT_NEEDED edges from the objects in scope that loads
    /// LIB (a soname or a path inside ROOT), the reason for each edge, and
    /// whether the target provides it.
    #[command(after_help = WHY_EXAMPLES)]
    Why(WhyArgs),
    /// Read an error message, a traceback or a whole container log (TEXT,
    /// --file, or standard input) and explain each loader failure in it:
    /// which object failed, which file it needs, the chain from the Python
    /// module, where that file is in the builder ROOT, who owns it, and the
    /// fix.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),
    /// Run COMMAND (the application's smoke test) and record every shared
    /// object, file, directory and program its processes open, for
    /// `scan --trace`. Exits with COMMAND's status.
    #[command(after_help = TRACE_EXAMPLES)]
    Trace(TraceArgs),
    /// List the base images ldslim knows (embedded target data): glibc
    /// version, entries, ELF objects and Debian package versions of each.
    #[command(after_help = TARGETS_EXAMPLES)]
    Targets(TargetsArgs),
    /// Print a shell completion script on standard output.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the man page ldslim(1) on standard output, or write one page
    /// per command into a directory.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
    /// Print the target data of an extracted image root (used by
    /// scripts/make-targets.sh).
    #[command(hide = true)]
    TargetData(TargetDataArgs),
}

const LDD_EXAMPLES: &str = "\
Examples:
  ldslim ldd ./rootfs /usr/bin/python3.11
  ldslim ldd ./rootfs /usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so
  ldslim ldd ./rootfs /opt/app/bin/server --library-path /opt/app/lib

Exit codes: 0 every FILE loads, 1 something is not found or would abort, 2 usage or I/O error.";

const TRACE_EXAMPLES: &str = "\
Examples:
  # In the builder stage, after installing the app (docs/dockerfile.md)
  ldslim trace -o /trace.json -- python -m pytest tests/smoke
  ldslim scan / --trace /trace.json --emit copy=/ldslim-out
  # An extracted builder root, as the image's user
  ldslim trace --root ./rootfs --user 65532:65532 -o app.json -- python3 -c 'import app'

Exit codes: COMMAND's own (128 + N when a signal N ended it); 2 when it
could not be traced.";

const SCAN_EXAMPLES: &str = "\
Examples:
  # In a Dockerfile's builder stage: the libraries the distroless stage lacks, as a
  # directory for one `COPY --from=builder /ldslim-out/ /` (docs/dockerfile.md)
  ldslim scan / --emit copy=/ldslim-out
  # In CI, on the builder's filesystem (`docker export`; docs/ci.md)
  ldslim scan ./rootfs
  ldslim scan ./rootfs --format json > ldslim.json
  ldslim scan ./rootfs --format github      # GitHub Actions annotations
  ldslim scan ./rootfs --format gitlab > gl-code-quality-report.json
  # Another base image; the COPY lines alone; a layer to ADD
  ldslim scan ./rootfs --target distroless/base-debian12 --emit dockerfile
  ldslim scan ./rootfs --emit tar=ldslim-layer.tar
  # What the layer holds, for scanners and audits (CycloneDX; docs/sbom.md)
  ldslim scan ./rootfs --emit copy=./out --emit sbom=ldslim.cdx.json
  # Only these paths; every file; one object's tree
  ldslim scan ./rootfs /usr/bin/python3.11 /usr/lib/python3.11
  ldslim scan ./rootfs --scope all --target none
  ldslim scan ./rootfs --tree /usr/bin/python3.11

Exit codes: 0 everything resolves and the final image loads, 1 findings, 2 usage or I/O error.";

const WHY_EXAMPLES: &str = "\
Examples:
  ldslim why ./rootfs libbz2.so.1.0
  ldslim why ./rootfs /usr/lib/x86_64-linux-gnu/libgfortran.so.5 /usr/local/lib/python3.11
  ldslim why ./rootfs libz.so.1 --format json

Exit codes: 0 something in scope loads LIB, 1 nothing does, 2 usage or I/O error.";

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  ldslim explain ./rootfs 'python3: error while loading shared libraries: libz.so.1: cannot open shared object file'
  docker logs my-app 2>&1 | ldslim explain ./rootfs -
  ldslim explain ./rootfs --file crash.log --format json

Exit codes: 0 every failure found has a fix, 1 none recognised or one without a fix, 2 usage or I/O error.";

const TARGETS_EXAMPLES: &str = "\
Examples:
  ldslim targets
  ldslim targets --format json

A target is named as listed (distroless/cc-debian12, distroless/base-debian13:arm64) in
`scan --target`, `why --target` and `explain --target`.

Exit codes: 0 listed, 2 usage or I/O error (an embedded target's data unreadable).";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  ldslim completions bash > ~/.local/share/bash-completion/completions/ldslim
  ldslim completions zsh > ~/.zfunc/_ldslim       # with fpath+=(~/.zfunc) in ~/.zshrc
  ldslim completions fish > ~/.config/fish/completions/ldslim.fish

Exit codes: 0 printed, 2 usage or I/O error.";

const MAN_EXAMPLES: &str = "\
Examples:
  ldslim man | man -l -
  ldslim man --dir ~/.cargo/share/man/man1        # beside ~/.cargo/bin/ldslim: man finds them by PATH
  ldslim man --dir /usr/local/share/man/man1      # ldslim.1, ldslim-scan.1, ... for everyone

Exit codes: 0 printed or written, 2 usage or I/O error (DIR cannot be made or written).";

/// A shell to complete in.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write ldslim.1 and one page per command (ldslim-scan.1, ...) into
    /// this directory instead of printing ldslim.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[command(flatten)]
    pub out: TextOrJson,
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
    /// The platform glibc gives the CPU, which `$PLATFORM` expands to and,
    /// before glibc 2.37, names a subdirectory tried in every search
    /// directory: this CPU's (`host`: `haswell` or `xeon_phi` on Intel CPUs
    /// with those features, else `x86_64`), or the one named. A result that
    /// depends on it is reported with what every other kind of CPU gets.
    #[arg(long, value_enum, default_value = "host")]
    pub platform: PlatformArg,
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

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PlatformArg {
    Host,
    /// The kernel's AT_PLATFORM, kept (AMD, and Intel before Haswell).
    #[value(name = "x86_64")]
    X86_64,
    /// Intel since Haswell.
    Haswell,
    /// Intel Xeon Phi.
    #[value(name = "xeon_phi")]
    XeonPhi,
}

impl LoaderArgs {
    pub fn options(&self) -> Options {
        Options {
            library_path: self.library_path.clone(),
            cpu: self.cpu(),
        }
    }

    /// The CPU the flags describe.
    pub fn cpu(&self) -> Cpu {
        let host = Cpu::host();
        Cpu {
            level: match self.hwcaps {
                HwcapsArg::Host => host.level,
                HwcapsArg::Baseline => 1,
                HwcapsArg::V2 => 2,
                HwcapsArg::V3 => 3,
                HwcapsArg::V4 => 4,
            },
            platform: match self.platform {
                PlatformArg::Host => host.platform,
                PlatformArg::X86_64 => Platform::Kernel,
                PlatformArg::Haswell => Platform::Haswell,
                PlatformArg::XeonPhi => Platform::XeonPhi,
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct LddArgs {
    #[command(flatten)]
    pub builder: BuilderRoot,
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

/// `scan --format`: the formats of [`Format`] plus CI annotations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// The report for people.
    Text,
    /// One JSON object (schema: docs/json.md).
    Json,
    /// GitHub Actions workflow commands (`::error file=…,title=…::…`).
    Github,
    /// A GitLab Code Quality report (JSON).
    Gitlab,
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
    #[command(flatten)]
    pub builder: BuilderRoot,
    /// Only scan these paths inside ROOT (instead of the scope).
    pub paths: Vec<String>,
    /// Which files to scan when no PATH is given.
    #[arg(long, value_enum, default_value = "python")]
    pub scope: ScopeArg,
    /// Output format: `text`; `json` (docs/json.md); `github` (workflow
    /// commands that annotate a GitHub Actions run); `gitlab` (a GitLab
    /// Code Quality report). See docs/ci.md.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ScanFormat,
    /// Print one object's dependency tree, with the reason for each edge,
    /// instead of scanning.
    #[arg(long, value_name = "FILE")]
    pub tree: Option<String>,
    /// In the text report, list each library to copy under the group of
    /// what needs it: its paths (links and files, with sizes), its package
    /// with --owners, and one chain that loads it. The JSON always has
    /// them.
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub target: TargetArg,
    /// When the image's loader would not find a library where the
    /// builder's did (e.g. found through the builder's ld.so.cache):
    /// copy it into a default directory, or set LD_LIBRARY_PATH.
    #[arg(long, value_enum, default_value = "relocate")]
    pub fix: FixArg,
    /// Write the copy set: `list` (builder paths, one per line, for
    /// `tar -C BUILDER -T`), `dockerfile` (COPY --from=builder lines),
    /// `json` (the whole report), `sbom` (CycloneDX JSON: the copied
    /// files' packages and hashes, docs/sbom.md), each to stdout or to
    /// `=FILE`; `tar=FILE` (a layer, symlinks kept); `copy=DIR`
    /// (materialise into an extracted base image). Each adds the dpkg
    /// records of the copied files' packages for image scanners. Repeatable.
    /// A FILE is written whole or not at all (a temporary file beside it,
    /// renamed when complete).
    #[arg(long, value_name = "KIND[=PATH]", value_parser = parse_emit)]
    pub emit: Vec<Emit>,
    /// What the emitters write: `full`, every file the image needs beyond
    /// its base (the scope's Python files — interpreters and their links,
    /// standard library, site directories, venvs — and the libraries), for
    /// one `COPY --from=builder /ldslim-out/ /`; `libs`, only the libraries
    /// (the Python files copied by hand).
    #[arg(long, value_enum, default_value = "full")]
    pub layer: LayerArg,
    /// Leave Python files the application does not need out of the layer,
    /// by category (comma-separated, repeatable): `tests` (test
    /// directories), `sources` (C/Cython/Fortran sources and headers),
    /// `stubs` (`.pyi`), `build-tools` (pip, setuptools, wheel,
    /// ensurepip), `unused-stdlib` (standard-library modules no code in
    /// scope imports, and the libraries only they need). Never a file some
    /// import in scope names; docs/layer.md gives each rule.
    #[arg(long, value_enum, value_name = "CATEGORY", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub prune: Vec<PruneArg>,
    /// Name the Debian package or wheel that owns each file to copy (from
    /// the builder's dpkg database and the wheels' RECORD files).
    #[arg(long)]
    pub owners: bool,
    /// Accept a run-time load ldslim cannot resolve, follow or verify: its
    /// library (`pq`), a name it tries (`libpq.so.5`), the call (`FILE:LINE`,
    /// the file as written in the report or its end), every call of a file
    /// (`FILE.py`), or a library whose possible run-time loads the image
    /// lacks (its soname, e.g. `libkrb5.so.3`). Repeatable.
    #[arg(long, value_name = "NAME", action = clap::ArgAction::Append)]
    pub allow_runtime: Vec<String>,
    /// Copy a builder path into the image as it is (a file, a symlink, a
    /// whole directory): a plugin directory or a library's data the report
    /// says may be loaded at run time. Its ELF objects are planned and
    /// checked like the scope's (their libraries are copied too).
    /// Repeatable.
    #[arg(long, value_name = "PATH", action = clap::ArgAction::Append)]
    pub include: Vec<String>,
    /// Merge a trace written by `ldslim trace`: the shared objects and
    /// programs it saw join the image with their libraries, the data files
    /// it read are copied where the target lacks them (docs/trace.md says
    /// what is left out). Repeatable.
    #[arg(long, value_name = "FILE", action = clap::ArgAction::Append)]
    pub trace: Vec<PathBuf>,
    /// Do not copy the data files of the copied libraries' Debian packages
    /// and of the data-only packages they depend on (libmagic's database,
    /// libX11's locale tables; docs/trace.md gives the rule).
    #[arg(long)]
    pub no_package_data: bool,
    /// Copy each script of a venv's `bin/` (or of a `pip --target` site
    /// directory's) whose `#!` names an interpreter the image lacks
    /// rewritten to name the venv's (or the installation's) Python the
    /// image has, instead of reporting it. `--emit copy=`/`tar=` write
    /// the rewritten scripts in the layer (with `--layer libs`, copy them
    /// after the scope's own files).
    #[arg(long)]
    pub rewrite_shebangs: bool,
    /// Do not look for libraries loaded at run time (the Python code's
    /// ctypes and cffi calls, what native objects declare in .note.dlopen
    /// or suggest by their bytes): the plan then covers DT_NEEDED only,
    /// and the report says the run-time loads were not checked.
    #[arg(long, conflicts_with_all = ["allow_runtime", "no_find_library"])]
    pub no_runtime: bool,
    /// Do not add `/sbin/ldconfig` and an `/etc/ld.so.cache` to the image
    /// for `ctypes.util.find_library`: the report then says which loads
    /// return None there.
    #[arg(long)]
    pub no_find_library: bool,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LayerArg {
    Full,
    Libs,
}

impl From<LayerArg> for crate::plan::Layer {
    fn from(l: LayerArg) -> crate::plan::Layer {
        match l {
            LayerArg::Full => crate::plan::Layer::Full,
            LayerArg::Libs => crate::plan::Layer::Libs,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PruneArg {
    Tests,
    Sources,
    Stubs,
    BuildTools,
    UnusedStdlib,
}

impl From<PruneArg> for crate::plan::Prune {
    fn from(p: PruneArg) -> crate::plan::Prune {
        match p {
            PruneArg::Tests => crate::plan::Prune::Tests,
            PruneArg::Sources => crate::plan::Prune::Sources,
            PruneArg::Stubs => crate::plan::Prune::Stubs,
            PruneArg::BuildTools => crate::plan::Prune::BuildTools,
            PruneArg::UnusedStdlib => crate::plan::Prune::UnusedStdlib,
        }
    }
}

/// One `--emit` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Emit {
    List(Option<PathBuf>),
    Dockerfile(Option<PathBuf>),
    Json(Option<PathBuf>),
    Sbom(Option<PathBuf>),
    Tar(PathBuf),
    Copy(PathBuf),
}

impl Emit {
    /// Whether it writes to standard output.
    pub fn to_stdout(&self) -> bool {
        matches!(
            self,
            Emit::List(None) | Emit::Dockerfile(None) | Emit::Json(None) | Emit::Sbom(None)
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
        ("sbom", p) => Ok(Emit::Sbom(p)),
        ("tar", Some(p)) => Ok(Emit::Tar(p)),
        ("copy", Some(p)) => Ok(Emit::Copy(p)),
        ("tar" | "copy", None) => Err(format!("{kind} needs a path: {kind}=PATH")),
        _ => Err(format!(
            "unknown emitter {kind:?}: list, dockerfile, json, sbom, tar=FILE or copy=DIR"
        )),
    }
}

/// ROOT, the same for every command that reads a builder.
#[derive(Debug, Args)]
pub struct BuilderRoot {
    /// The builder's root filesystem: a directory (`/` is this system,
    /// whose /proc, /sys and /dev are skipped).
    #[arg(value_name = "ROOT")]
    pub root: PathBuf,
}

/// `--format` of the commands whose output is text or JSON.
#[derive(Debug, Args)]
pub struct TextOrJson {
    /// Output format: `text` for people, `json` for programs (docs/json.md).
    #[arg(long = "format", value_enum, default_value = "text")]
    pub format: Format,
}

/// `--target`, the same for every command that plans.
#[derive(Debug, Args)]
pub struct TargetArg {
    /// The base image the scope is copied into: an embedded target (see
    /// `ldslim targets`), a directory holding an extracted image, or
    /// `none` to check the builder only. Default: distroless/cc-debianN,
    /// N from the builder's /etc/os-release.
    #[arg(long = "target", value_name = "TARGET", value_parser = parse_target)]
    target: Option<TargetChoice>,
}

impl TargetArg {
    /// The target chosen, [`TargetChoice::Default`] when none was given.
    pub fn choice(&self) -> TargetChoice {
        self.target.clone().unwrap_or_default()
    }
}

fn parse_target(s: &str) -> Result<TargetChoice, String> {
    match s.parse() {
        Ok(t) => Ok(t),
        Err(never) => match never {},
    }
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    #[command(flatten)]
    pub builder: BuilderRoot,
    /// The library: a soname (libbz2.so.1.0) or a path inside ROOT.
    pub lib: String,
    /// Only consider objects under these paths inside ROOT.
    pub paths: Vec<String>,
    #[command(flatten)]
    pub target: TargetArg,
    #[command(flatten)]
    pub out: TextOrJson,
    #[command(flatten)]
    pub loader: LoaderArgs,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Where to write the trace (JSON, `ldslim.trace/1`); `-`: standard
    /// output.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        default_value = "ldslim-trace.json"
    )]
    pub output: PathBuf,
    /// Run COMMAND chrooted into this root filesystem (needs root); paths
    /// are recorded inside it.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Run COMMAND as this user and group (numbers), e.g. 65532:65532.
    #[arg(long, value_name = "UID:GID", value_parser = parse_user)]
    pub user: Option<(u32, u32)>,
    /// The command and its arguments (after `--`, or after ldslim's own
    /// options: everything from the first word that is not one of them).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<std::ffi::OsString>,
}

fn parse_user(s: &str) -> Result<(u32, u32), String> {
    let (u, g) = s
        .split_once(':')
        .ok_or("expected UID:GID, e.g. 65532:65532")?;
    let num = |x: &str| {
        x.parse::<u32>()
            .map_err(|_| format!("{x:?} is not a number (names are not looked up: give UID:GID)"))
    };
    Ok((num(u)?, num(g)?))
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub builder: BuilderRoot,
    /// The message itself; `-` or nothing reads standard input (on a
    /// terminal: paste it, then press Ctrl-D on a new line).
    pub text: Vec<String>,
    /// Read the message from this file (e.g. a saved container log).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArg,
    #[command(flatten)]
    pub out: TextOrJson,
    #[command(flatten)]
    pub loader: LoaderArgs,
}
