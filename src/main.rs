//! `ldslim`: parse flags, run one subcommand, map the outcome to an exit
//! code: 0 everything resolves, 1 findings, 2 usage or I/O error.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use ldslim::cli::{Cli, Command, Emit, Format, LddArgs, ScanArgs, ScanFormat};
use ldslim::emit;
use ldslim::graph::Session;
use ldslim::plan::{self, PlanInput};
use ldslim::render;
use ldslim::render::style::Styled;
use ldslim::root::Root;
use ldslim::scan::{self, Progress};
use ldslim::vfs::Tree;
use std::sync::Arc;

/// How a run ended.
enum Outcome {
    Clean,
    Findings,
    /// Another program's exit status, passed on (`trace`).
    Status(u8),
}

/// What the global flags ask of every command: colour, quiet, verbose.
struct Ui {
    /// Colour the text report on standard output.
    color: bool,
    /// Nothing but errors.
    quiet: bool,
    /// Each stage's time and counts on standard error.
    verbose: bool,
    last: std::cell::Cell<std::time::Instant>,
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
            last: std::cell::Cell::new(std::time::Instant::now()),
        }
    }

    /// With --verbose, one line on stderr: the stage that just ended, its
    /// time since the previous stage, and what it counted.
    fn stage(&self, name: &str, detail: impl std::fmt::Display) {
        let now = std::time::Instant::now();
        let took = now.duration_since(self.last.replace(now));
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
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
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

fn open_root(path: &std::path::Path) -> io::Result<Root> {
    Root::new(path).map_err(|e| {
        let expected = "ROOT must be a directory holding a filesystem: `/` inside the builder stage, or the builder exported and extracted (docker export ID | tar -x -C rootfs)";
        let hint = if path.is_file() && path.to_string_lossy().contains(".tar") {
            format!(
                "; this looks like an archive: extract it first (mkdir rootfs && tar -xf {} -C rootfs)",
                path.display()
            )
        } else {
            String::new()
        };
        io::Error::other(format!("root {e}\n{expected}{hint}"))
    })
}

/// `ldslim ldd ROOT FILE...`
fn ldd(args: LddArgs, ui: &Ui) -> io::Result<Outcome> {
    let session = Session::new(open_root(&args.root)?, args.loader.options());
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

/// A spinner on stderr, drawn only when stderr is a terminal.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn files(&self, n: usize) {
        self.0.inc(n as u64);
    }
}

/// `ldslim scan ROOT [PATH...]`
fn scan_cmd(args: ScanArgs, ui: &Ui) -> io::Result<Outcome> {
    let session = Session::new(open_root(&args.root)?, args.loader.options());
    let stdout_emits = args.emit.iter().filter(|e| e.to_stdout()).count();
    if stdout_emits > 1 {
        return Err(io::Error::other(
            "only one --emit can write to stdout; give the others a =FILE",
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
        return match session.load(file) {
            Ok(order) => {
                render::ldd::tree(&mut out, &order)?;
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
    let progress = Bar(bar);
    let report = scan::scan_with(
        &session,
        &args.paths,
        args.scope.into(),
        !args.no_runtime,
        &progress,
    )
    .map_err(|e| io::Error::other(e.to_string()))?;
    progress.0.finish_and_clear();
    let mut report = report;
    let unused_allow = report.runtime.allow(&args.allow_runtime);
    ui.stage(
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
    let no_python = args.paths.is_empty()
        && report
            .python
            .as_ref()
            .is_some_and(|inv| inv.installations.is_empty());
    // The no-Python finding gets a fuller message below; every other
    // problem, wherever it is (the root itself included), is printed.
    let stand_in = scan::no_python();
    for e in &report.errors {
        if no_python && *e == stand_in {
            continue;
        }
        eprintln!("ldslim: {}: {}", e.path, e.message);
    }
    if no_python {
        let root = args.root.display();
        eprintln!(
            "ldslim: {root}: no Python installation found; give PATHs to scan, or --scope all (e.g. `ldslim scan {root} /app /opt/venv`, or `ldslim scan {root} --scope all`)"
        );
        if args.format == ScanFormat::Text && stdout_emits == 0 {
            return Ok(Outcome::Findings);
        }
    }
    let traces = args
        .trace
        .iter()
        .map(|f| {
            ldslim::trace::read(f)
                .map_err(|e| io::Error::other(format!("--trace {}: {e}", f.display())))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut plan = plan_for(
        &session,
        &report,
        args.target.as_deref(),
        &args.loader,
        Choices {
            fix: args.fix.into(),
            find_library: !args.no_find_library,
            allow: args.allow_runtime.clone(),
            include: args.include.clone(),
            traces,
            package_data: !args.no_package_data,
        },
    )?;
    for unused in unused_allow {
        if !plan.as_ref().is_some_and(|p| p.uses_allow(&unused)) {
            ui.info(format_args!(
                "--allow-runtime {unused}: no run-time load or call of the scope is named so"
            ));
        }
    }
    if let Some(p) = &plan {
        ui.stage(
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
    if let (true, Some(p), Some(builder)) = (args.owners, plan.as_mut(), session.host_root()) {
        let owners = ldslim::owners::Owners::load(builder, &site_dirs(&report));
        for item in &p.copy.items {
            if let Some(o) = owners.owner(&item.src) {
                p.owners.insert(item.src.clone(), o);
            }
        }
        ui.stage("owners", format_args!("{} files named", p.owners.len()));
    }
    if stdout_emits == 0 {
        match args.format {
            ScanFormat::Text => {
                if let Some(inv) = &report.python {
                    render::text::python_text(&mut out, inv)?;
                }
                if let Some(p) = &plan {
                    render::plan_text::plan_text(&mut out, p, report.python.as_ref())?;
                    render::plan_text::dockerfile(&mut out, &p.copy)?;
                }
                render::text::scan_text(&mut out, &report)?
            }
            ScanFormat::Json => render::json::scan_json(&mut out, &report, plan.as_ref())?,
            ScanFormat::Github => render::ci::scan_github(&mut out, &report, plan.as_ref())?,
            ScanFormat::Gitlab => render::ci::scan_gitlab(&mut out, &report, plan.as_ref())?,
        }
    }
    for e in &args.emit {
        emit_one(e, &mut out, &report, plan.as_ref(), &session, ui)?;
        ui.stage("emit", format_args!("{e:?}"));
    }
    out.flush()?;
    if let Some(p) = plan.as_ref().filter(|p| !p.loads()) {
        eprintln!(
            "ldslim: the final image ({}) would not load: {} missing, {} version errors",
            p.target,
            p.missing.len(),
            p.versions.len()
        );
    }
    if let Some(p) = plan
        .as_ref()
        .filter(|p| p.verdict() == plan::Verdict::Unverified)
    {
        eprintln!(
            "ldslim: the final image ({}) is not verified: {} possible run-time loads of copied objects cannot be checked",
            p.target,
            p.unverified_loads().count()
        );
    }
    let image_fails = plan
        .as_ref()
        .is_some_and(|p| p.verdict() != plan::Verdict::Loads);
    let outcome = if report.has_findings() || image_fails {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    // The process ends next: freeing every memoised object, path and load
    // order one at a time would only delay the exit (~5 % of a scan of a
    // whole root).
    std::mem::forget((session, report, plan));
    Ok(outcome)
}

/// What the user chose for a plan (`scan`'s flags; defaults for `why`
/// and `explain`).
struct Choices {
    fix: plan::Fix,
    find_library: bool,
    allow: Vec<String>,
    include: Vec<String>,
    traces: Vec<ldslim::trace::Trace>,
    package_data: bool,
}

impl Default for Choices {
    fn default() -> Choices {
        Choices {
            fix: plan::Fix::Relocate,
            find_library: true,
            allow: Vec::new(),
            include: Vec::new(),
            traces: Vec::new(),
            package_data: true,
        }
    }
}

/// The plan of `report`'s scope against the chosen target (`None` for
/// `--target none`).
fn plan_for(
    session: &Session,
    report: &scan::ScanReport,
    target: Option<&str>,
    loader: &ldslim::cli::LoaderArgs,
    choices: Choices,
) -> io::Result<Option<plan::PlanReport>> {
    let arch = scope_arch(session, report);
    let Some((name, tree)) = pick_target(target, session, arch.as_ref())? else {
        return Ok(None);
    };
    let input = PlanInput {
        builder: session,
        target: tree,
        target_name: name,
        scope: report.paths.iter().map(std::path::PathBuf::from).collect(),
        entries: report.entries.clone(),
        opts: ldslim::ldso::Options {
            // The image's CPU is unknown: planned for the baseline, and
            // checked on every kind of CPU where a load depends on it.
            cpu: ldslim::ldso::cpu::Cpu::BASELINE,
            ..loader.options()
        },
        fix: choices.fix,
        runtime: report.runtime.loads.clone(),
        callers: report.runtime.callers.clone(),
        find_library: choices.find_library,
        runtime_checked: report.runtime.checked,
        allow: choices.allow,
        include: choices.include,
        traces: choices.traces,
        package_data: choices.package_data,
    };
    Ok(Some(plan::plan(&input)))
}

/// The scope (PATHs, else the Python installations) of a builder root,
/// scanned without a progress bar: what `why` and `explain` start from.
fn scan_quietly(
    root: &std::path::Path,
    loader: &ldslim::cli::LoaderArgs,
    paths: &[String],
    ui: &Ui,
) -> io::Result<(Session, scan::ScanReport)> {
    let session = Session::new(open_root(root)?, loader.options());
    let report = scan::scan(&session, paths, scan::Scope::Python, &scan::Quiet)
        .map_err(|e| io::Error::other(e.to_string()))?;
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

/// Where the chosen target has a library (by soname, in its loader's
/// default directories, or by path); always `None` with `--target none`.
type TargetHas = Box<dyn Fn(&str) -> Option<String>>;

fn target_lookup(
    session: &Session,
    report: &scan::ScanReport,
    target: Option<&str>,
) -> io::Result<TargetHas> {
    let arch = scope_arch(session, report);
    let Some((_, tree)) = pick_target(target, session, arch.as_ref())? else {
        return Ok(Box::new(|_: &str| None));
    };
    // The loader the image's programs use: the interpreter's.
    let interp = report
        .runtime
        .callers
        .interpreter
        .as_deref()
        .and_then(|i| {
            let objects = session.objects();
            let f = objects.resolve(std::path::Path::new(i)).ok()??;
            objects.facts(&f).as_ref().as_ref().ok()?.interp.clone()
        })
        .unwrap_or_else(|| ldslim::ldso::abi::ABIS[0].interp.to_string());
    Ok(Box::new(move |lib: &str| {
        ldslim::why::in_tree(tree.clone(), &interp, lib)
    }))
}

/// `ldslim why ROOT LIB [PATH...]`
fn why_cmd(args: ldslim::cli::WhyArgs, ui: &Ui) -> io::Result<Outcome> {
    let (session, report) = scan_quietly(&args.root, &args.loader, &args.paths, ui)?;
    let answer = ldslim::why::why(
        &session,
        &report.entries,
        &report.runtime.loads,
        &report.runtime.callers,
        &args.lib,
    );
    ui.stage("why", format_args!("{} chains", answer.chains.len()));
    let target_has = target_lookup(&session, &report, args.target.as_deref())?;
    let plan = plan_for(
        &session,
        &report,
        args.target.as_deref(),
        &args.loader,
        Choices::default(),
    )?;
    ui.stage(
        "plan",
        format_args!(
            "{} paths to copy",
            plan.as_ref().map_or(0, |p| p.copy.items.len())
        ),
    );
    let in_target = target_has(&args.lib);
    let mut out = ui.out(matches!(args.format, Format::Text));
    match args.format {
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
fn explain_cmd(args: ldslim::cli::ExplainArgs, ui: &Ui) -> io::Result<Outcome> {
    let text = match (&args.file, args.text.as_slice()) {
        (Some(f), _) => std::fs::read(f)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| io::Error::other(format!("{}: {e}", f.display())))?,
        (None, []) => read_stdin()?,
        (None, [dash]) if dash == "-" => read_stdin()?,
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
    let (session, report) = scan_quietly(&args.root, &args.loader, &[], ui)?;
    let plan = plan_for(
        &session,
        &report,
        args.target.as_deref(),
        &args.loader,
        Choices::default(),
    )?;
    let site_dirs = site_dirs(&report);
    let builder = session
        .host_root()
        .ok_or_else(|| io::Error::other("the builder must be a directory"))?;
    let owners = ldslim::owners::Owners::load(builder, &site_dirs);
    let target_has = target_lookup(&session, &report, args.target.as_deref())?;
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
    let mut out = ui.out(matches!(args.format, Format::Text));
    match args.format {
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

/// The site directories the Python scope found (where wheels' RECORDs are).
fn site_dirs(report: &scan::ScanReport) -> Vec<String> {
    report
        .python
        .iter()
        .flat_map(|inv| inv.installations.iter())
        .flat_map(|i| i.site_dirs.iter().map(|d| d.path.clone()))
        .collect()
}

fn read_stdin() -> io::Result<String> {
    use std::io::Read;
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
) -> io::Result<()> {
    let Some(plan) = plan else {
        return Err(io::Error::other(
            "--emit needs a target (not --target none)",
        ));
    };
    let builder = session
        .host_root()
        .ok_or_else(|| io::Error::other("--emit needs the builder as a directory"))?;
    let mut write_to = |path: &Option<std::path::PathBuf>,
                        body: &dyn Fn(&mut dyn Write) -> io::Result<()>|
     -> io::Result<()> {
        match path {
            None => body(stdout),
            // Whole or not at all: a failed write leaves any earlier file
            // as it was and nothing that looks complete.
            Some(p) => {
                emit::write_file(p, |w| body(w)).map_err(|err| io::Error::other(err.to_string()))
            }
        }
    };
    match e {
        Emit::List(p) => write_to(p, &|out| {
            let left_out = emit::list(out, &plan.copy)?;
            for item in left_out {
                if matches!(item.kind, plan::CopyKind::Generated { .. }) {
                    eprintln!(
                        "ldslim: {} is written by ldslim, not in the builder: a list cannot say that; use --emit tar= or copy=",
                        item.dest
                    );
                    continue;
                }
                eprintln!(
                    "ldslim: {} must be copied to {}: a list cannot say that; use --emit tar= or dockerfile",
                    item.src, item.dest
                );
            }
            Ok(())
        }),
        Emit::Dockerfile(p) => write_to(p, &|out| {
            for item in emit::not_in_builder(&plan.copy) {
                eprintln!(
                    "ldslim: {} is written by ldslim, not copied from the builder: a COPY line cannot add it; use --emit copy=DIR (docs/dockerfile.md) or --emit tar=FILE",
                    item.dest
                );
            }
            emit::dockerfile(out, &plan.copy, "builder")
        }),
        Emit::Json(p) => write_to(p, &|out| render::json::scan_json(out, report, Some(plan))),
        Emit::Tar(p) => {
            let s = emit::tar(p, &plan.copy, builder)
                .map_err(|err| io::Error::other(err.to_string()))?;
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
                std::fs::create_dir(dir).map_err(|err| {
                    io::Error::other(format!("--emit copy={}: {err}", dir.display()))
                })?;
            }
            let s = emit::copy(dir, &plan.copy, builder, false)
                .map_err(|err| io::Error::other(err.to_string()))?;
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

/// The base image named by `--target`: `none`, a directory holding an
/// extracted image, or an embedded target; by default the distroless cc
/// image of the builder's Debian release.
/// The scope's architecture and an object that shows it: the
/// interpreter's when there is one, else that of most of its entries
/// (Debian's name, e.g. `arm64`; an i386 helper among amd64 objects does
/// not decide).
fn scope_arch(session: &Session, report: &scan::ScanReport) -> Option<(&'static str, String)> {
    let objects = session.objects();
    let arch_of = |p: &String| {
        let f = objects.resolve(std::path::Path::new(p)).ok()??;
        let facts = objects.facts(&f);
        let facts: &ldslim::elf::ElfFacts = facts.as_ref().as_ref().ok()?;
        let abi = ldslim::ldso::abi::Abi::for_object(facts)?;
        Some((ldslim::target::arch_for_abi(abi.name)?, p.clone()))
    };
    if let Some(found) = report
        .runtime
        .callers
        .interpreter
        .as_ref()
        .and_then(arch_of)
    {
        return Some(found);
    }
    let mut counts: std::collections::BTreeMap<&'static str, (usize, String)> =
        std::collections::BTreeMap::new();
    for (arch, path) in report.entries.iter().filter_map(arch_of) {
        counts.entry(arch).or_insert((0, path)).0 += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, (n, _))| *n)
        .map(|(arch, (_, path))| (arch, path))
}

/// The error for a target of another architecture than the scope's.
fn arch_mismatch(target: &str, target_arch: &str, scope: &(&str, String)) -> io::Error {
    io::Error::other(format!(
        "target {target} is {target_arch}, but the scope is {} ({} is); plan against a target of the scope's architecture (`ldslim targets` lists them, e.g. distroless/cc-debian12{}), or an extracted {} image",
        scope.0,
        scope.1,
        if scope.0 == ldslim::target::DEFAULT_ARCH {
            String::new()
        } else {
            format!(":{}", scope.0)
        },
        scope.0
    ))
}

fn pick_target(
    target: Option<&str>,
    builder: &Session,
    arch: Option<&(&'static str, String)>,
) -> io::Result<Option<(String, Arc<dyn Tree>)>> {
    let name = match target {
        Some("none") => return Ok(None),
        Some(t) if t.contains('/') && std::path::Path::new(t).is_dir() => {
            let root = Root::new(std::path::Path::new(t))
                .map_err(|e| io::Error::other(format!("target {e}")))?;
            let name = root.host_dir().display().to_string();
            // An extracted image's architecture is its loader's (a
            // static base has none, and no architecture to mismatch).
            if let Some(scope) = arch {
                let has = ldslim::ldso::abi::ABIS.iter().find(|abi| {
                    matches!(root.resolve(std::path::Path::new(abi.interp)), Ok(Some(r)) if r.kind == ldslim::root::Kind::Regular)
                });
                if let Some(t_arch) = has.and_then(|abi| ldslim::target::arch_for_abi(abi.name))
                    && !ldslim::ldso::abi::ABIS.iter().any(|abi| {
                        ldslim::target::arch_for_abi(abi.name) == Some(scope.0)
                            && matches!(root.resolve(std::path::Path::new(abi.interp)), Ok(Some(_)))
                    })
                {
                    return Err(arch_mismatch(&name, t_arch, scope));
                }
            }
            return Ok(Some((name, Arc::new(root))));
        }
        Some(t) if t.starts_with('/') || t.starts_with('.') => {
            return Err(io::Error::other(format!(
                "target {t}: not a directory; give a directory holding an extracted base image, or an embedded target (`ldslim targets` lists them)"
            )));
        }
        Some(t) => t.to_string(),
        None => {
            let os_release = builder
                .objects()
                .read_small("/etc/os-release", 64 << 10)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            ldslim::target::default_target(os_release.as_deref(), arch.map(|a| a.0))
        }
    };
    let data = ldslim::target::embedded(&name).map_err(|e| {
        // `cc-debian12` for `distroless/cc-debian12`, and the like.
        let close: Vec<&str> = ldslim::target::embedded_names()
            .into_iter()
            .filter(|k| k.ends_with(&format!("/{name}")) || k.contains(name.as_str()))
            .collect();
        let hint = match close.as_slice() {
            [] => String::new(),
            some => format!("; did you mean {}?", some.join(" or ")),
        };
        io::Error::other(format!(
            "target {name}: {e}{hint}\n(`ldslim targets` describes each; a directory holding an extracted image works too)"
        ))
    })?;
    if let Some(scope) = arch
        && data.info.arch != scope.0
    {
        return Err(arch_mismatch(&name, &data.info.arch, scope));
    }
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

/// `ldslim completions SHELL`
fn completions_cmd(args: ldslim::cli::CompletionsArgs) -> io::Result<Outcome> {
    let mut cmd = ldslim::cli::command();
    // Into memory first: the generator panics on a write error (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "ldslim", &mut script);
    let mut out = io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(Outcome::Clean)
}

/// `ldslim man [--dir DIR]`
fn man_cmd(args: ldslim::cli::ManArgs, ui: &Ui) -> io::Result<Outcome> {
    let cmd = ldslim::cli::command();
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(cmd, dir))
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
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
fn trace_cmd(args: ldslim::cli::TraceArgs, ui: &Ui) -> io::Result<Outcome> {
    use ldslim::trace;
    let opts = trace::TraceOptions {
        command: args.command,
        root: args.root,
        user: args.user,
    };
    let t = trace::run(&opts).map_err(|e| io::Error::other(format!("trace: {e}")))?;
    let body = |w: &mut dyn Write| {
        serde_json::to_writer_pretty(&mut *w, &t)?;
        writeln!(w)
    };
    if args.output.as_os_str() == "-" {
        let mut out = io::BufWriter::new(io::stdout().lock());
        body(&mut out)?;
        out.flush()?;
    } else {
        ldslim::emit::write_file(&args.output, body).map_err(io::Error::other)?;
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

fn targets_cmd(args: ldslim::cli::TargetsArgs, ui: &Ui) -> io::Result<Outcome> {
    use ldslim::target;
    let targets = target::embedded_names()
        .into_iter()
        .map(|name| Ok((name, target::embedded(name)?)))
        .collect::<Result<Vec<_>, target::TargetError>>()
        .map_err(io::Error::other)?;
    let mut out = ui.out(matches!(args.format, Format::Text));
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
