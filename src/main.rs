//! `ldslim`: parse flags, run one subcommand, map the outcome to an exit
//! code: 0 everything resolves, 1 findings, 2 usage or I/O error.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use ldslim::cli::{Cli, Command, Format, LddArgs, ScanArgs};
use ldslim::graph::Session;
use ldslim::plan::{self, PlanInput};
use ldslim::report;
use ldslim::root::Root;
use ldslim::scan::{self, Progress};
use ldslim::vfs::Tree;
use std::sync::Arc;

/// How a run ended.
enum Outcome {
    Clean,
    Findings,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ldd(args) => ldd(args),
        Command::Scan(args) => scan_cmd(args),
        Command::Targets(args) => targets_cmd(args),
        Command::TargetData(args) => target_data_cmd(args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        // A closed pipe (`ldslim scan / | head`) is the reader's choice.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ldslim: {e}");
            ExitCode::from(2)
        }
    }
}

fn open_root(path: &std::path::Path) -> io::Result<Root> {
    Root::new(path).map_err(|e| io::Error::other(format!("root {}", e)))
}

/// `ldslim ldd ROOT FILE...`
fn ldd(args: LddArgs) -> io::Result<Outcome> {
    let session = Session::new(open_root(&args.root)?, args.loader.options());
    let results: Vec<_> = {
        use rayon::prelude::*;
        args.files.par_iter().map(|f| session.load(f)).collect()
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut clean = true;
    for (file, result) in args.files.iter().zip(&results) {
        clean &= match result {
            Ok(order) => order.is_complete(),
            Err(e) => matches!(e, ldslim::graph::EntryError::IsLoader(_)),
        };
        report::ldd(&mut out, file, result)?;
    }
    out.flush()?;
    Ok(if clean {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// A spinner on stderr, drawn only when stderr is a terminal.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn file(&self) {
        self.0.inc(1);
    }
}

/// `ldslim scan ROOT [PATH...]`
fn scan_cmd(args: ScanArgs) -> io::Result<Outcome> {
    let session = Session::new(open_root(&args.root)?, args.loader.options());
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if let Some(file) = &args.tree {
        return match session.load(file) {
            Ok(order) => {
                report::tree(&mut out, &order)?;
                out.flush()?;
                Ok(if order.is_complete() {
                    Outcome::Clean
                } else {
                    Outcome::Findings
                })
            }
            Err(e) => Err(io::Error::other(e.to_string())),
        };
    }
    let bar = if io::stderr().is_terminal() {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} scanning: {pos} files ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    } else {
        ProgressBar::hidden()
    };
    let progress = Bar(bar);
    let report = scan::scan(&session, &args.paths, args.scope.into(), &progress)
        .map_err(|e| io::Error::other(e.to_string()))?;
    progress.0.finish_and_clear();
    for e in &report.errors {
        eprintln!("ldslim: {}: {}", e.path, e.message);
    }
    let plan = match pick_target(&args, &session)? {
        None => None,
        Some((name, tree)) => {
            let scope = report.paths.iter().map(std::path::PathBuf::from).collect();
            let input = PlanInput {
                builder: &session,
                target: tree,
                target_name: name,
                scope,
                entries: report.entries.clone(),
                opts: ldslim::ldso::Options {
                    // The image's CPU is unknown: rely on no hwcaps subdirectory.
                    hwcaps: ldslim::ldso::abi::Hwcaps::X86Level(1),
                    ..args.loader.options()
                },
                fix: args.fix.into(),
            };
            Some(plan::plan(&input))
        }
    };
    match args.format {
        Format::Text => {
            if let Some(p) = &plan {
                report::plan_text(&mut out, p)?;
                writeln!(out)?;
            }
            report::scan_text(&mut out, &report)?
        }
        Format::Json => report::scan_json(&mut out, &report, plan.as_ref())?,
    }
    out.flush()?;
    let image_fails = plan.as_ref().is_some_and(|p| !p.loads());
    Ok(if report.has_findings() || image_fails {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// The base image named by `--target`: `none`, a directory holding an
/// extracted image, or an embedded target; by default the distroless cc
/// image of the builder's Debian release.
fn pick_target(args: &ScanArgs, builder: &Session) -> io::Result<Option<(String, Arc<dyn Tree>)>> {
    let name = match args.target.as_deref() {
        Some("none") => return Ok(None),
        Some(t) if t.contains('/') && std::path::Path::new(t).is_dir() => {
            let root = Root::new(std::path::Path::new(t))
                .map_err(|e| io::Error::other(format!("target {e}")))?;
            let name = root.host_dir().display().to_string();
            return Ok(Some((name, Arc::new(root))));
        }
        Some(t) => t.to_string(),
        None => {
            let os_release = builder
                .objects()
                .read_small("/etc/os-release", 64 << 10)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            ldslim::target::default_for_builder(os_release.as_deref()).to_string()
        }
    };
    let data = ldslim::target::embedded(&name).map_err(|e| {
        io::Error::other(format!(
            "target {name}: {e} (see `ldslim targets`, or give a directory)"
        ))
    })?;
    let label = match &data.info.glibc {
        Some(g) => format!(
            "{} ({}, glibc {g}, embedded)",
            data.info.name, data.info.arch
        ),
        None => format!("{} ({}, embedded)", data.info.name, data.info.arch),
    };
    Ok(Some((
        label,
        Arc::new(ldslim::image::TargetTree::new(data)),
    )))
}

/// `ldslim targets`
fn targets_cmd(args: ldslim::cli::TargetsArgs) -> io::Result<Outcome> {
    use ldslim::target;
    let targets = target::embedded_names()
        .into_iter()
        .map(|name| Ok((name, target::embedded(name)?)))
        .collect::<Result<Vec<_>, target::TargetError>>()
        .map_err(io::Error::other)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Text => target::list_text(&mut out, &targets)?,
        Format::Json => target::list_json(&mut out, &targets)?,
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

/// `ldslim target-data DIR --name --suite --arch --packages`
fn target_data_cmd(args: ldslim::cli::TargetDataArgs) -> io::Result<Outcome> {
    use ldslim::target;
    let packages = std::fs::read_to_string(&args.packages)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", args.packages.display())))?;
    let packages = target::parse_packages(&packages)
        .map_err(|e| io::Error::other(format!("{}: {e}", args.packages.display())))?;
    let info = target::TargetInfo {
        name: args.name,
        suite: args.suite,
        arch: args.arch,
        packages,
        interp: String::new(),
        dirs: Vec::new(),
        glibc: None,
    };
    let data = target::from_root(&open_root(&args.dir)?, info).map_err(io::Error::other)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    out.write_all(target::render(&data).as_bytes())?;
    out.flush()?;
    Ok(Outcome::Clean)
}
