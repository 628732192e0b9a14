//! `ldslim`: parse flags, run one subcommand, map the outcome to an exit
//! code: 0 everything resolves, 1 findings, 2 usage or I/O error.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use ldslim::cli::{Cli, Command, Format, LddArgs, ScanArgs};
use ldslim::graph::Session;
use ldslim::report;
use ldslim::root::Root;
use ldslim::scan::{self, Progress};

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
    match args.format {
        Format::Text => report::scan_text(&mut out, &report)?,
        Format::Json => report::scan_json(&mut out, &report)?,
    }
    out.flush()?;
    Ok(if report.has_findings() {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
