//! `ldslim`: parse flags, run one subcommand, map the outcome to an exit
//! code: 0 everything resolves, 1 findings, 2 usage or I/O error.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use ldslim::cli::{Cli, Command, Emit, Format, LddArgs, ScanArgs, ScanFormat};
use ldslim::emit;
use ldslim::graph::Session;
use ldslim::pipeline::{self, Choices, Observer, ScanRequest};
use ldslim::plan;
use ldslim::render;
use ldslim::render::style::Styled;
use ldslim::scan::{self, Progress};

/// How a run ended.
enum Outcome {
    Clean,
    Findings,
    /// Another program's exit status, passed on (`trace`).
    Status(u8),
}

/// Why a command could not run (exit status 2): the library's typed
/// errors, and the context only the command line knows.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Pipeline(#[from] pipeline::Error),
    #[error(transparent)]
    Load(#[from] ldslim::graph::EntryError),
    #[error(transparent)]
    Emit(#[from] emit::EmitError),
    #[error(transparent)]
    Target(#[from] ldslim::target::TargetError),
    #[error("trace: {0}")]
    Trace(#[from] ldslim::trace::TraceError),
    /// Flags that cannot work together.
    #[error("{0}")]
    Usage(&'static str),
    /// A file named on the command line.
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: io::Error },
    /// A file named on the command line whose content is wrong.
    #[error("{}: {source}", path.display())]
    Data {
        path: PathBuf,
        source: ldslim::target::TargetError,
    },
    /// A flag's value that cannot be carried out.
    #[error("{flag}: {source}")]
    Flag { flag: String, source: io::Error },
    /// The default scope, the root's Python installations, is empty: the
    /// command was pointed at the wrong directory or needs to be told
    /// what to scan, which is for the user to fix, not a finding.
    #[error(
        "{}: no Python installation found (searched: every `bin` directory up to 12 levels deep for python, python3 and python3.X, and for venvs' pyvenv.cfg; /proc, /sys and /dev left out)\nIs ROOT the builder's whole filesystem? If it is, {instead}",
        root.display()
    )]
    NoPython { root: PathBuf, instead: String },
}

/// What the global flags ask of every command: colour, quiet, verbose.
struct Ui {
    /// Colour the text report on standard output.
    color: bool,
    /// Nothing but errors.
    quiet: bool,
    /// Each stage's time and counts on standard error.
    verbose: bool,
    /// When the previous stage ended (stages may end on any thread).
    last: std::sync::Mutex<std::time::Instant>,
}

impl Ui {
    fn new(g: &ldslim::cli::GlobalArgs) -> Ui {
        let no_color = std::env::var_os("NO_COLOR");
        Ui {
            color: !g.quiet
                && g.color
                    .enabled(io::stdout().is_terminal(), no_color.as_deref()),
            quiet: g.quiet,
            verbose: g.verbose,
            last: std::sync::Mutex::new(std::time::Instant::now()),
        }
    }

    /// With --verbose, one line on stderr: the stage that just ended, its
    /// time since the previous stage, and what it counted.
    fn stage(&self, name: &str, detail: impl std::fmt::Display) {
        let now = std::time::Instant::now();
        let mut last = ldslim::locks::lock(&self.last);
        let took = now.duration_since(std::mem::replace(&mut *last, now));
        if self.verbose {
            eprintln!(
                "ldslim: {name}: {detail} ({:.1} ms)",
                took.as_secs_f64() * 1000.0
            );
        }
    }

    /// An informational line on stderr (not with --quiet).
    fn info(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("ldslim: {message}");
        }
    }

    /// Where a report goes: standard output (coloured when `text` and
    /// colour is on), or nowhere with --quiet.
    fn out(&self, text: bool) -> Styled<Box<dyn Write>> {
        if self.quiet {
            return Styled::plain(Box::new(io::sink()));
        }
        let w = io::BufWriter::new(io::stdout().lock());
        Styled::new(Box::new(w), text && self.color)
    }
}

fn main() -> ExitCode {
    tune_allocator();
    // The long version parses every embedded target: only when asked for.
    let cmd = if std::env::args_os().skip(1).any(|a| a == "--version") {
        ldslim::cli::command()
    } else {
        <Cli as clap::CommandFactory>::command()
    };
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&cmd.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let ui = Ui::new(&cli.global);
    let result = match cli.command {
        Command::Ldd(args) => ldd(args, &ui),
        Command::Scan(args) => scan_cmd(args, &ui),
        Command::Why(args) => why_cmd(args, &ui),
        Command::Explain(args) => explain_cmd(args, &ui),
        Command::Trace(args) => trace_cmd(args, &ui),
        Command::Targets(args) => targets_cmd(args, &ui),
        Command::Completions(args) => completions_cmd(args),
        Command::Man(args) => man_cmd(args, &ui),
        Command::TargetData(args) => target_data_cmd(args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Ok(Outcome::Status(s)) => ExitCode::from(s),
        // A closed pipe (`ldslim scan / | head`) is the reader's choice.
        Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ldslim: {e}");
            ExitCode::from(2)
        }
    }
}

/// A scan allocates a few MiB in small pieces on every thread and frees
/// little before it exits. glibc grows each thread's heap by the request
/// plus 128 KiB (`mprotect` each time) and trims it back whenever 128 KiB
/// are free at the top: a tenth of an `ldd` run went to growing heaps.
/// Growing by 8 MiB at a time (address space only: pages are touched when
/// used) and never trimming removes that.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 8 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// `ldslim ldd ROOT FILE...`
fn ldd(args: LddArgs, ui: &Ui) -> Result<Outcome, Failure> {
    let session = Session::new(
        pipeline::open_root(&args.builder.root)?,
        args.loader.options(),
    );
    // Each entry is resolved and its lines formatted on a worker; only the
    // writing, in the order given, is left to this thread.
    // What the lines say is what glibc prints on this CPU (or the one the
    // flags describe); what other kinds of CPU would load instead goes to
    // standard error.
    let color = ui.color;
    let results: Vec<(bool, Vec<u8>, Vec<u8>)> = {
        use rayon::prelude::*;
        args.files
            .par_iter()
            .map(|f| {
                let result = session.load(f);
                let clean = match &result {
                    Ok(order) => order.is_complete(),
                    Err(e) => matches!(e, ldslim::graph::EntryError::IsLoader(_)),
                };
                let mut text = Styled::new(Vec::new(), color);
                let mut notes = Vec::new();
                // Writing to a Vec cannot fail.
                let _ = render::ldd::ldd(&mut text, f, &result);
                if let Ok(order) = &result {
                    for d in &order.cpu_dependent {
                        let _ = render::ldd::cpu_dependence(&mut notes, d, "ldslim: ");
                    }
                }
                (clean, text.into_inner(), notes)
            })
            .collect()
    };
    ui.stage("resolve", format_args!("{} files", args.files.len()));
    let mut out = ui.out(true);
    let mut clean = true;
    for (ok, text, notes) in &results {
        clean &= ok;
        out.write_all(text)?;
        if !ui.quiet && !notes.is_empty() {
            // After the lines they are about, on a terminal too.
            out.flush()?;
            io::stderr().write_all(notes)?;
        }
    }
    out.flush()?;
    // As in `scan`: the process ends next, nothing needs freeing.
    std::mem::forget((session, results));
    Ok(if clean {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// What a scan shows while it runs: a spinner on stderr (drawn only when
/// stderr is a terminal), then, with --verbose, each stage's line; the
/// problems of the scope as soon as it is scanned.
struct Watch<'a> {
    bar: ProgressBar,
    ui: &'a Ui,
}

impl Progress for Watch<'_> {
    fn files(&self, n: usize) {
        self.bar.inc(n as u64);
    }
}

impl Observer for Watch<'_> {
    fn scanned(&self, report: &scan::ScanReport) {
        self.bar.finish_and_clear();
        self.ui.stage(
            "scan",
            format_args!(
                "{} paths ({}), {} files, {} ELF objects, {} resolved, {} not found, {} warnings",
                report.paths.len(),
                match &report.python {
                    Some(inv) => format!("Python scope: {} interpreters", inv.installations.len()),
                    None => "as given".to_string(),
                },
                report.files,
                report.objects,
                report.resolved,
                report.unresolved.len(),
                report.warnings.len(),
            ),
        );
        // The report names the first few; -v all of them, beside the
        // stage's counts.
        if self.ui.verbose {
            for s in &report.skipped {
                eprintln!(
                    "ldslim: skipped {}: {}",
                    s.path,
                    render::text::skip_words(s.reason)
                );
            }
        }
        // Every problem, wherever it is (the root itself included); an
        // empty Python scope is an error of its own, said last.
        for e in &report.errors {
            eprintln!("ldslim: {}: {}", e.path, e.message);
        }
    }

    fn planned(&self, plan: Option<&plan::PlanReport>, unused_allow: &[String]) {
        for unused in unused_allow {
            self.ui.info(format_args!(
                "--allow-runtime {unused}: no run-time load or call of the scope is named so"
            ));
        }
        if let Some(p) = plan {
            self.ui.stage(
                "plan",
                format_args!(
                    "{}: {} paths to copy ({} bytes), {} objects checked, {} missing, {} version errors",
                    p.target,
                    p.copy.items.len(),
                    p.bytes,
                    p.checked,
                    p.missing.len(),
                    p.versions.len()
                ),
            );
        }
    }

    fn owners(&self, named: usize) {
        self.ui.stage("owners", format_args!("{named} files named"));
    }
}

/// `ldslim scan ROOT [PATH...]`
fn scan_cmd(args: ScanArgs, ui: &Ui) -> Result<Outcome, Failure> {
    let stdout_emits = args.emit.iter().filter(|e| e.to_stdout()).count();
    if stdout_emits > 1 {
        return Err(Failure::Usage(
            "only one --emit can write to stdout; give the others a =FILE",
        ));
    }
    if !args.prune.is_empty() && args.layer == ldslim::cli::LayerArg::Libs {
        return Err(Failure::Usage(
            "--prune leaves Python files out of the layer: it needs --layer full",
        ));
    }
    // An --emit to stdout is the output asked for: never coloured, written
    // even with --quiet.
    let mut out: Styled<Box<dyn Write>> = if stdout_emits > 0 {
        Styled::plain(Box::new(io::BufWriter::new(io::stdout().lock())))
    } else {
        ui.out(args.format == ScanFormat::Text)
    };
    if let Some(file) = &args.tree {
        let session = Session::new(
            pipeline::open_root(&args.builder.root)?,
            args.loader.options(),
        );
        let order = session.load(file)?;
        render::ldd::tree(&mut out, &order)?;
        out.flush()?;
        return Ok(if order.is_complete() {
            Outcome::Clean
        } else {
            Outcome::Findings
        });
    }
    let bar = if io::stderr().is_terminal() && !ui.quiet {
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
    let request = ScanRequest {
        root: args.builder.root.clone(),
        paths: args.paths.clone(),
        scope: args.scope.into(),
        runtime: !args.no_runtime,
        loader: args.loader.options(),
        target: args.target.choice(),
        choices: Choices {
            fix: args.fix.into(),
            find_library: !args.no_find_library,
            allow: args.allow_runtime.clone(),
            include: args.include.clone(),
            traces: args.trace.clone(),
            package_data: !args.no_package_data,
            layer: args.layer.into(),
            prune: args.prune.iter().map(|&p| p.into()).collect(),
            rewrite_shebangs: args.rewrite_shebangs,
        },
        owners: args.owners,
    };
    let watch = Watch { bar, ui };
    let done = pipeline::run(&request, &watch)?;
    if done.no_python {
        let root = args.builder.root.display();
        return Err(Failure::NoPython {
            root: args.builder.root.clone(),
            instead: format!(
                "give the paths to scan: the installation's prefix, the application, its venv (e.g. `ldslim scan {root} /usr/local /app`); or scan every file (`ldslim scan {root} --scope all`)"
            ),
        });
    }
    let (report, plan) = (&done.report, done.plan.as_ref());
    if stdout_emits == 0 {
        match args.format {
            ScanFormat::Text => {
                if let Some(inv) = &report.python {
                    render::text::python_text(&mut out, inv)?;
                }
                if let Some(p) = plan {
                    render::plan_text::plan_text(&mut out, p, report.python.as_ref(), args.detail)?;
                    render::plan_text::dockerfile(&mut out, &p.emitted_beside_trees())?;
                }
                render::text::scan_text(&mut out, report)?
            }
            ScanFormat::Json => render::json::scan_json(&mut out, report, plan)?,
            ScanFormat::Github => render::ci::scan_github(&mut out, report, plan)?,
            ScanFormat::Gitlab => render::ci::scan_gitlab(&mut out, report, plan)?,
        }
    }
    let emitted = (!args.emit.is_empty())
        .then(|| done.emitted_plan())
        .flatten();
    for e in &args.emit {
        emit_one(e, &mut out, report, emitted.as_ref(), &done.session, ui)?;
        ui.stage("emit", format_args!("{e:?}"));
    }
    out.flush()?;
    if let Some(p) = plan.filter(|p| !p.loads()) {
        eprintln!("ldslim: {}", p.would_not_load());
    }
    if let Some(p) = plan.filter(|p| p.verdict() == plan::Verdict::Unverified) {
        let n = p.unverified_loads().count();
        eprintln!(
            "ldslim: the final image ({}) is not verified: {n} possible run-time {} of copied objects cannot be checked",
            p.target,
            if n == 1 { "load" } else { "loads" }
        );
    }
    let outcome = if done.has_findings() {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    // The process ends next: freeing every memoised object, path and load
    // order one at a time would only delay the exit (~5 % of a scan of a
    // whole root).
    std::mem::forget(done);
    Ok(outcome)
}

/// The scope of a builder root, scanned without a progress bar: what `why`
/// and `explain` start from.
fn scan_quietly(
    root: &std::path::Path,
    loader: &ldslim::cli::LoaderArgs,
    paths: &[String],
    ui: &Ui,
) -> Result<(Session, scan::ScanReport), Failure> {
    let (session, report) = pipeline::scan_scope(root, &loader.options(), paths)?;
    ui.stage(
        "scan",
        format_args!(
            "{} paths, {} entries",
            report.paths.len(),
            report.entries.len()
        ),
    );
    Ok((session, report))
}

/// `ldslim why ROOT LIB [PATH...]`
fn why_cmd(args: ldslim::cli::WhyArgs, ui: &Ui) -> Result<Outcome, Failure> {
    let (session, report) = scan_quietly(&args.builder.root, &args.loader, &args.paths, ui)?;
    if report.found_no_python() {
        let root = args.builder.root.display();
        return Err(Failure::NoPython {
            root: args.builder.root.clone(),
            instead: format!(
                "give the paths to look in after LIB: the installation's prefix, the application, its venv (e.g. `ldslim why {root} {} /usr/local /app`)",
                args.lib
            ),
        });
    }
    let answer = ldslim::why::why(
        &session,
        &report.entries,
        &report.runtime.loads,
        &report.runtime.callers,
        &args.lib,
    );
    ui.stage("why", format_args!("{} chains", answer.chains.len()));
    let target = pipeline::open_for_scope(&session, &report, &args.target.choice())?;
    let target_has = pipeline::target_lookup(&session, &report, target.as_ref());
    let plan = pipeline::plan_for(
        &session,
        &report,
        target,
        &args.loader.options(),
        &Choices::default(),
    )?;
    ui.stage(
        "plan",
        format_args!(
            "{} paths to copy",
            plan.as_ref().map_or(0, |p| p.copy.items.len())
        ),
    );
    let in_target = target_has(&args.lib);
    let mut out = ui.out(matches!(args.out.format, Format::Text));
    match args.out.format {
        Format::Text => render::text::why_text(
            &mut out,
            &answer,
            plan.as_ref(),
            in_target.as_deref(),
            report.python.as_ref(),
        )?,
        Format::Json => {
            render::json::why_json(&mut out, &answer, plan.as_ref(), in_target.as_deref())?
        }
    }
    out.flush()?;
    Ok(if !answer.is_loaded() {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// `ldslim explain ROOT [TEXT | - | --file F]`
fn explain_cmd(args: ldslim::cli::ExplainArgs, ui: &Ui) -> Result<Outcome, Failure> {
    let text = match (&args.file, args.text.as_slice()) {
        (Some(f), _) => std::fs::read(f)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|source| Failure::File {
                path: f.clone(),
                source,
            })?,
        (None, []) => read_stdin(ui)?,
        (None, [dash]) if dash == "-" => read_stdin(ui)?,
        (None, words) => words.join(" "),
    };
    let findings = ldslim::explain::parse(&text);
    ui.stage(
        "parse",
        format_args!(
            "{} lines, {} failures",
            text.lines().count(),
            findings.len()
        ),
    );
    let (session, report) = scan_quietly(&args.builder.root, &args.loader, &[], ui)?;
    let target = pipeline::open_for_scope(&session, &report, &args.target.choice())?;
    let target_has = pipeline::target_lookup(&session, &report, target.as_ref());
    let plan = pipeline::plan_for(
        &session,
        &report,
        target,
        &args.loader.options(),
        &Choices::default(),
    )?;
    let builder = session
        .host_root()
        .ok_or(Failure::Usage("the builder must be a directory"))?;
    let owners = ldslim::owners::Owners::load(builder, &pipeline::site_dirs(&report));
    let cx = ldslim::diagnose::Context {
        session: &session,
        entries: &report.entries,
        python: report.python.as_ref(),
        owners: &owners,
        plan: plan.as_ref(),
        scope: &report.paths,
        runtime: &report.runtime.loads,
        callers: &report.runtime.callers,
        target_has: &*target_has,
    };
    let answers = ldslim::diagnose::diagnose(&cx, &findings);
    ui.stage("diagnose", format_args!("{} answers", answers.len()));
    let mut out = ui.out(matches!(args.out.format, Format::Text));
    match args.out.format {
        Format::Text => render::text::explain_text(&mut out, &answers)?,
        Format::Json => render::json::explain_json(&mut out, &answers)?,
    }
    out.flush()?;
    // Found and explained: 0. Nothing recognised, or no fix: 1.
    let all_fixed = !answers.is_empty() && answers.iter().all(|a| !a.fix.is_empty());
    Ok(if all_fixed {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

fn read_stdin(ui: &Ui) -> io::Result<String> {
    use std::io::Read;
    // Nothing piped in: someone at a terminal would otherwise see ldslim
    // wait without a word until they type something.
    if io::stdin().is_terminal() {
        ui.info(
            "paste the error message (from `docker run` or the app's log), then press Ctrl-D on a new line; or give it as TEXT, or --file FILE",
        );
    }
    let mut bytes = Vec::new();
    // A whole container log fits; a runaway pipe stops at 256 MiB.
    io::stdin().take(256 << 20).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Carry out one `--emit`.
fn emit_one(
    e: &Emit,
    stdout: &mut dyn Write,
    report: &scan::ScanReport,
    plan: Option<&plan::PlanReport>,
    session: &Session,
    ui: &Ui,
) -> Result<(), Failure> {
    let Some(plan) = plan else {
        return Err(Failure::Usage("--emit needs a target (not --target none)"));
    };
    let builder = session
        .host_root()
        .ok_or(Failure::Usage("--emit needs the builder as a directory"))?;
    let copy = plan.emitted();
    let copy = copy.as_ref();
    let mut write_to = |path: &Option<std::path::PathBuf>,
                        body: &dyn Fn(&mut dyn Write) -> io::Result<()>|
     -> Result<(), Failure> {
        match path {
            None => Ok(body(stdout)?),
            // Whole or not at all: a failed write leaves any earlier file
            // as it was and nothing that looks complete.
            Some(p) => Ok(emit::write_file(p, |w| body(w))?),
        }
    };
    match e {
        Emit::List(p) => write_to(p, &|out| {
            let left_out = emit::list(out, copy)?;
            for note in render::emit_notes::list_left_out(&left_out) {
                eprintln!("{note}");
            }
            Ok(())
        }),
        Emit::Dockerfile(p) => {
            let (copies, records) = emit::without_status_d(copy);
            write_to(p, &|out| {
                let generated = emit::not_in_builder(&copies);
                for note in render::emit_notes::dockerfile_left_out(records, &generated) {
                    eprintln!("{note}");
                }
                emit::dockerfile(out, &copies, "builder")
            })
        }
        Emit::Json(p) => write_to(p, &|out| render::json::scan_json(out, report, Some(plan))),
        Emit::Sbom(p) => {
            let sbom = emit::sbom(copy, builder, &pipeline::site_dirs(report))?;
            write_to(p, &|out| out.write_all(&sbom))
        }
        Emit::Tar(p) => {
            let s = emit::tar(p, copy, builder)?;
            ui.info(format_args!(
                "wrote {}: {} files, {} symlinks, {} directories, {} bytes",
                p.display(),
                s.files,
                s.symlinks,
                s.directories,
                s.bytes
            ));
            Ok(())
        }
        Emit::Copy(dir) => {
            // A fresh output directory (`RUN ldslim scan / --emit
            // copy=/ldslim-out` in a Dockerfile) is made; its parent must exist.
            if !dir.exists() {
                std::fs::create_dir(dir).map_err(|source| Failure::Flag {
                    flag: format!("--emit copy={}", dir.display()),
                    source,
                })?;
            }
            let s = emit::copy(dir, copy, builder, false)?;
            ui.info(format_args!(
                "copied into {}: {} files, {} symlinks added ({} bytes), {} already there",
                dir.display(),
                s.files_added,
                s.symlinks_added,
                s.bytes_added,
                s.unchanged
            ));
            Ok(())
        }
    }
}

/// `ldslim completions SHELL`
fn completions_cmd(args: ldslim::cli::CompletionsArgs) -> Result<Outcome, Failure> {
    // Made in memory: the generator panics on a write error (`| head`).
    let script = ldslim::cli::completions::script(args.shell);
    let mut out = io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(Outcome::Clean)
}

/// `ldslim man [--dir DIR]`
fn man_cmd(args: ldslim::cli::ManArgs, ui: &Ui) -> Result<Outcome, Failure> {
    let cmd = ldslim::cli::command();
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(cmd, dir))
                .map_err(|source| Failure::File {
                    path: dir.clone(),
                    source,
                })?;
            ui.info(format_args!("wrote the man pages into {}", dir.display()));
        }
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(Outcome::Clean)
}

/// `ldslim targets`
/// `ldslim trace -o FILE [--root DIR] [--user UID:GID] -- COMMAND…`
fn trace_cmd(args: ldslim::cli::TraceArgs, ui: &Ui) -> Result<Outcome, Failure> {
    use ldslim::trace;
    let opts = trace::TraceOptions {
        command: args.command,
        root: args.root,
        user: args.user,
    };
    let t = trace::run(&opts)?;
    let body = |w: &mut dyn Write| {
        serde_json::to_writer_pretty(&mut *w, &t)?;
        writeln!(w)
    };
    if args.output.as_os_str() == "-" {
        let mut out = io::BufWriter::new(io::stdout().lock());
        body(&mut out)?;
        out.flush()?;
    } else {
        ldslim::emit::write_file(&args.output, body)?;
        ui.info(format_args!(
            "trace: {} shared objects, {} files, {} directories, {} programs ({} processes and threads) in {}",
            t.objects.len(),
            t.files.len(),
            t.directories.len(),
            t.executables.len(),
            t.tasks,
            args.output.display()
        ));
    }
    if t.exit != trace::Exit::Code(0) {
        ui.info(format_args!(
            "trace: the command exited with status {}: the trace records what it opened until then",
            t.exit.status()
        ));
    }
    Ok(Outcome::Status(t.exit.status().clamp(0, 255) as u8))
}

fn targets_cmd(args: ldslim::cli::TargetsArgs, ui: &Ui) -> Result<Outcome, Failure> {
    use ldslim::target;
    let targets = target::embedded_names()
        .into_iter()
        .map(|name| Ok((name, target::embedded(name)?)))
        .collect::<Result<Vec<_>, target::TargetError>>()?;
    let mut out = ui.out(matches!(args.out.format, Format::Text));
    match args.out.format {
        Format::Text => target::list_text(&mut out, &targets)?,
        Format::Json => target::list_json(&mut out, &targets)?,
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

/// `ldslim target-data DIR --name --suite --arch --packages`
fn target_data_cmd(args: ldslim::cli::TargetDataArgs) -> Result<Outcome, Failure> {
    use ldslim::target;
    let packages = std::fs::read_to_string(&args.packages).map_err(|source| Failure::File {
        path: args.packages.clone(),
        source,
    })?;
    let packages = target::parse_packages(&packages).map_err(|source| Failure::Data {
        path: args.packages.clone(),
        source,
    })?;
    let info = target::TargetInfo {
        name: args.name,
        suite: args.suite,
        arch: args.arch,
        packages,
        interp: String::new(),
        dirs: Vec::new(),
        glibc: None,
    };
    let data = target::from_root(&pipeline::open_root(&args.dir)?, info)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    out.write_all(target::render(&data).as_bytes())?;
    out.flush()?;
    Ok(Outcome::Clean)
}
