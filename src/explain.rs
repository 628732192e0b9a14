//! Understanding what the loader and CPython printed: [`parse`] finds every
//! shared-library failure in arbitrary text — one message, a traceback, or a
//! whole container log with timestamps, ANSI colours and CRLF line ends.
//!
//! What glibc 2.36 and CPython 3.11 really print (captured in
//! `testdata/explain/` by `scripts/capture-messages.sh`):
//!
//! - the interpreter does not start: `PROG: error while loading shared
//!   libraries: libz.so.1: cannot open shared object file: No such file or
//!   directory` (PROG is `argv[0]` as exec'd, e.g. `/usr/bin/python3` or
//!   `python3.11`; the object that needs the library is not named);
//! - a version the image's library lacks, at startup one line per missing
//!   version: ``PROG: /lib/x86_64-linux-gnu/libc.so.6: version
//!   `GLIBC_2.38' not found (required by /usr/bin/python3.13)``; through
//!   `dlopen` the same without `PROG: `; newer glibc quotes `'…'`;
//! - `dlopen` errors as CPython re-raises them (`ImportError: …` for an
//!   extension module, `OSError: …` for `ctypes.CDLL`): `NAME: cannot open
//!   shared object file: …` names only the library that was not found —
//!   neither the extension module that needed it nor its path;
//!   `OBJ: undefined symbol: SYM`, `OBJ: wrong ELF class: ELFCLASS32`, and
//!   the other `OBJ: MESSAGE` errors of `elf/dl-load.c`;
//! - CPython 3.11 adds no "(from module X)" hint: the module being imported
//!   is told only by the traceback — `File ".../numpy/core/overrides.py",
//!   line 8, in <module>` frames and their code lines (`from
//!   numpy.core._multiarray_umath import (`), or Cython's `in init
//!   scipy._lib._ccallback_c`;
//! - re-raises: numpy's "IMPORTANT: PLEASE READ THIS…" and then "you should
//!   not try to import numpy from its source directory", scipy's "The
//!   `scipy` install you are using seems to be broken" — the real cause is
//!   the first exception of the chain; [`Finding::final_error`] links it to
//!   the exception the chain ended with.
//!
//! Also recognised: musl's `Error loading shared library NAME: … (needed by
//! OBJ)` and `Error relocating OBJ: SYM: symbol not found`, `ldd`'s
//! `NAME => not found`, glibc's `symbol SYM version V not defined in file
//! LIB with link time reference`, and `ModuleNotFoundError`/`ImportError`
//! chains without any loader message (as [`Failure::Other`]).
//!
//! Paths are taken as printed, up to the previous `": "` and the last
//! whitespace (a path with a space in it is cut there). Lines longer than
//! 16 KiB are read up to that length.

use serde::Serialize;

/// One failure the text tells about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub failure: Failure,
    /// The file that failed to load, as printed: the program for a library
    /// it cannot find at startup, the object whose symbol or version is
    /// missing, the file of the wrong class. `None` when the text does not
    /// name it (a `dlopen` error names only the missing library).
    pub object: Option<String>,
    /// The Python module being imported, when the text tells it (traceback
    /// frames and their import statements, `No module named 'X'`).
    pub module: Option<String>,
    /// 1-based line of the message in the text.
    pub line: usize,
    /// That line, without ANSI escapes and CR (at most 2 KiB).
    pub text: String,
    /// The exception the traceback chain ended with, when it is not this
    /// line: numpy's or scipy's re-raise that hides this cause.
    pub final_error: Option<FinalError>,
}

/// The last exception of a traceback chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FinalError {
    /// 1-based line of the exception.
    pub line: usize,
    /// The exception line (followed by its first message line when the
    /// exception line itself has no message, as numpy's `ImportError: `).
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Failure {
    /// A library the loader could not find (or open).
    MissingLibrary {
        library: String,
    },
    /// `library` (the path printed) lacks `version`, which `required_by` needs.
    MissingVersion {
        version: String,
        library: String,
        required_by: String,
    },
    UndefinedSymbol {
        symbol: String,
    },
    /// `ELFCLASS32` or `ELFCLASS64`.
    WrongClass {
        class: String,
    },
    /// A package looked for a library by name and found none, in its own
    /// words (`libpq library not found`, `Unable to find zbar shared
    /// library`, `failed to find libmagic`): most often
    /// `ctypes.util.find_library` returning `None`, which it always does in
    /// a distroless image (no `/sbin/ldconfig`). `library` is the name as
    /// `find_library` takes it (`pq`, `zbar`, `magic`).
    LibraryNotFound {
        library: String,
    },
    /// Any other loader error (`cannot enable executable stack …`, `invalid
    /// ELF header`, …) or an import failure without a loader message
    /// (`ModuleNotFoundError: No module named 'yaml'`).
    Other {
        message: String,
    },
}

/// How much of one line is looked at.
const MAX_SCAN: usize = 16 * 1024;
/// How much of one line a finding keeps.
const MAX_TEXT: usize = 2048;
/// How far back from a message a path is looked for.
const LOOKBACK: usize = 4096;
/// How many lines after an exception line still belong to its message.
const MESSAGE_WINDOW: usize = 40;
/// How many continuation lines an [`Failure::Other`] message takes.
const MESSAGE_LINES: usize = 3;

/// Every loader or import failure in `text`, in order of first appearance,
/// each failure once.
pub fn parse(text: &str) -> Vec<Finding> {
    let lines: Vec<Line> = text.split('\n').map(Line::new).collect();
    let mut blocks: Vec<Block> = Vec::new();
    let mut chains = 0usize;
    // The block whose exception message the following lines may belong to.
    let mut message_of: Option<(usize, usize)> = None;
    // A chain separator was seen since the last exception.
    let mut chained = false;
    // The previous line was a frame (the next indented one is its code).
    let mut after_frame = false;
    let mut loader: Vec<LoaderHit> = Vec::new();
    let mut exceptions: Vec<Exception> = Vec::new();

    for (idx, line) in lines.iter().enumerate() {
        let content = line.content();
        let was_after_frame = std::mem::take(&mut after_frame);
        if content.contains("Traceback (most recent call last):") {
            let chain = if chained && !blocks.is_empty() {
                blocks[blocks.len() - 1].chain
            } else {
                chains += 1;
                chains - 1
            };
            chained = false;
            message_of = None;
            blocks.push(Block::new(chain));
        } else if is_separator(content) {
            chained = !blocks.is_empty();
            message_of = None;
        } else if let Some(frame) = parse_frame(content) {
            let open = blocks.last().is_some_and(|b| b.exception.is_none());
            if !open {
                let chain = if chained && !blocks.is_empty() {
                    blocks[blocks.len() - 1].chain
                } else {
                    chains += 1;
                    chains - 1
                };
                chained = false;
                blocks.push(Block::new(chain));
            }
            message_of = None;
            if let Some(b) = blocks.last_mut() {
                b.frames.push(frame);
            }
            after_frame = true;
        } else if was_after_frame && is_code_line(content) {
            if let Some(f) = blocks.last_mut().and_then(|b| b.frames.last_mut()) {
                f.code = Some(code_of(content).to_string());
            }
        } else if is_caret_line(content) {
            // `^^^^` under the code of a frame.
        } else if let Some((class, message)) = parse_exception(content) {
            let open = blocks.last().is_some_and(|b| b.exception.is_none());
            if !open {
                let chain = if chained && !blocks.is_empty() {
                    blocks[blocks.len() - 1].chain
                } else {
                    chains += 1;
                    chains - 1
                };
                blocks.push(Block::new(chain));
            }
            chained = false;
            let b = blocks.len() - 1;
            blocks[b].exception = Some(idx);
            message_of = Some((b, idx));
            exceptions.push(Exception {
                idx,
                block: b,
                class: class.to_string(),
                message: message.to_string(),
            });
        }
        if let Some((_, since)) = message_of
            && idx > since + MESSAGE_WINDOW
        {
            message_of = None;
        }
        for (failure, object) in loader_failures(&line.clean) {
            loader.push(LoaderHit {
                idx,
                failure,
                object,
                block: message_of.map(|(b, _)| b),
            });
        }
    }

    // The last exception line of each chain.
    let mut chain_final: Vec<Option<usize>> = vec![None; chains];
    for b in &blocks {
        if let Some(slot) = chain_final.get_mut(b.chain) {
            *slot = (*slot).max(b.exception);
        }
    }
    let final_error = |chain: usize, own: usize| -> Option<FinalError> {
        let last = chain_final.get(chain).copied().flatten()?;
        if last == own {
            return None;
        }
        let mut text = lines[last].clean.trim_end().to_string();
        if exception_message_is_empty(&lines[last])
            && let Some(next) = lines[last + 1..]
                .iter()
                .take(MESSAGE_WINDOW)
                .map(|l| l.content().trim())
                .find(|t| !t.is_empty())
        {
            text.push(' ');
            text.push_str(next);
        }
        Some(FinalError {
            line: last + 1,
            text: clip(&text).to_string(),
        })
    };

    // A package that tries several names reports each failure: once a
    // Linux library name is missing in a traceback, its other attempts
    // (names for macOS or Windows, names it searched for first) are noise.
    let other_system = |f: &Failure| matches!(f, Failure::MissingLibrary { library } if crate::runtime::for_other_systems(library));
    let linux_missing =
        |f: &Failure| matches!(f, Failure::MissingLibrary { .. }) && !other_system(f);
    let chain_of = |hit: &LoaderHit| hit.block.map(|b| blocks[b].chain);
    let chains_missing: std::collections::BTreeSet<Option<usize>> = loader
        .iter()
        .filter(|h| linux_missing(&h.failure))
        .map(chain_of)
        .collect();
    let any_linux = loader.iter().any(|h| !other_system(&h.failure));
    loader.retain(|h| match &h.failure {
        f if other_system(f) => !any_linux,
        Failure::LibraryNotFound { .. } => !chains_missing.contains(&chain_of(h)),
        _ => true,
    });
    let mut findings: Vec<Finding> = Vec::new();
    let mut chains_with_loader = std::collections::BTreeSet::new();
    for hit in &loader {
        let (module, fin) = match hit.block {
            Some(b) => {
                chains_with_loader.insert(blocks[b].chain);
                (
                    block_module(&blocks[b]),
                    final_error(blocks[b].chain, hit.idx),
                )
            }
            None => (None, None),
        };
        findings.push(Finding {
            failure: hit.failure.clone(),
            object: hit.object.clone(),
            module,
            line: hit.idx + 1,
            text: clip(lines[hit.idx].clean.trim_end()).to_string(),
            final_error: fin,
        });
    }
    // Chains without a loader message: their first import failure.
    let mut done = std::collections::BTreeSet::new();
    for exc in &exceptions {
        let chain = blocks[exc.block].chain;
        if chains_with_loader.contains(&chain) || done.contains(&chain) {
            continue;
        }
        if !is_import_failure(&exc.class, &exc.message) {
            continue;
        }
        done.insert(chain);
        let message = other_message(&lines, exc);
        let module = module_from_message(&exc.message).or_else(|| block_module(&blocks[exc.block]));
        findings.push(Finding {
            failure: Failure::Other { message },
            object: None,
            module,
            line: exc.idx + 1,
            text: clip(lines[exc.idx].clean.trim_end()).to_string(),
            final_error: final_error(chain, exc.idx),
        });
    }
    findings.sort_by_key(|f| f.line);
    dedup(findings)
}

/// Merge repeats of the same failure: the first stays, and takes what it
/// lacks (object, module, final error) from the later ones.
fn dedup(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut seen: std::collections::HashMap<Failure, Vec<usize>> = std::collections::HashMap::new();
    for f in findings {
        let candidates = seen.entry(f.failure.clone()).or_default();
        let same = candidates
            .iter()
            .copied()
            .find(|&i| match (&out[i].object, &f.object) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            });
        match same.map(|i| &mut out[i]) {
            Some(o) => {
                if o.object.is_none() {
                    o.object = f.object;
                }
                if o.module.is_none() {
                    o.module = f.module;
                }
                if o.final_error.is_none() {
                    // Not the line the finding already is.
                    o.final_error = f.final_error.filter(|e| e.line != o.line);
                }
            }
            None => {
                candidates.push(out.len());
                out.push(f);
            }
        }
    }
    out
}

// ------------------------------------------------------------------ lines

struct Line {
    /// Without ANSI escapes and CR, at most [`MAX_SCAN`] bytes.
    clean: String,
    /// Where the content starts after a log prefix (timestamps, CRI stream
    /// tags, `service | `).
    start: usize,
}

impl Line {
    fn new(raw: &str) -> Line {
        let raw = prefix_of(raw, MAX_SCAN * 4);
        let mut clean = strip_ansi(raw);
        clean.truncate(floor_boundary(&clean, MAX_SCAN));
        let start = log_prefix_len(&clean);
        Line { clean, start }
    }

    fn content(&self) -> &str {
        self.clean.get(self.start..).unwrap_or("")
    }
}

/// The largest char boundary of `s` at or below `at`.
fn floor_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut i = at;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary of `s` at or above `at`.
fn ceil_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn prefix_of(s: &str, max: usize) -> &str {
    &s[..floor_boundary(s, max)]
}

fn clip(s: &str) -> &str {
    prefix_of(s, MAX_TEXT)
}

/// Remove ANSI escape sequences (CSI, OSC, two-byte escapes) and CRs.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {}
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    // Parameters and intermediates, then one final byte.
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    chars.next();
                    // Up to BEL or ESC \.
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\u{9b}' => {
                // 8-bit CSI.
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Length of the container-log prefixes of a line: RFC 3339 timestamps
/// (`docker logs -t`, CRI files, an application's own), CRI stream tags
/// (`stderr F `), compose services (`web-1  | `), kubectl `--prefix`
/// (`[pod/x/y] `), in any order and nested (at most 8).
fn log_prefix_len(line: &str) -> usize {
    let mut at = 0;
    for _ in 0..8 {
        let rest = line.get(at..).unwrap_or("");
        match one_prefix_len(rest) {
            Some(n) if n > 0 => at += n,
            _ => break,
        }
    }
    at.min(line.len())
}

fn one_prefix_len(r: &str) -> Option<usize> {
    // Timestamp: YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|±HH:MM] then a space.
    let b = r.as_bytes();
    if b.len() > 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && let Some(sp) = b[11..].iter().position(|&c| c == b' ')
        && b[11..11 + sp]
            .iter()
            .all(|c| c.is_ascii_digit() || b":.,+-Z".contains(c))
    {
        return Some(11 + sp + 1);
    }
    // CRI: "stdout F " / "stderr P ".
    for tag in ["stdout F ", "stderr F ", "stdout P ", "stderr P "] {
        if r.starts_with(tag) {
            return Some(tag.len());
        }
    }
    // kubectl logs --prefix: "[pod/name/container] ".
    if r.starts_with("[pod/")
        && let Some(end) = r.find("] ")
    {
        return Some(end + 2);
    }
    // compose: "name  | " (a name without spaces, at most 64 bytes), or
    // "name  |" alone.
    let head = &r[..floor_boundary(r, 80)];
    let bar = head.find(" | ").or_else(|| head.find(" |\t"));
    let (name, len) = match bar {
        Some(bar) => (&r[..bar], bar + 3),
        None if r.trim_end().ends_with(" |") && r.len() <= 80 => {
            let t = r.trim_end();
            (&t[..t.len() - 2], r.len())
        }
        None => return None,
    };
    let name = name.trim_end();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    ok.then_some(len)
}

// ------------------------------------------------------------------ tracebacks

struct Block {
    chain: usize,
    frames: Vec<Frame>,
    /// Index of the exception line that ends the block.
    exception: Option<usize>,
}

impl Block {
    fn new(chain: usize) -> Block {
        Block {
            chain,
            frames: Vec::new(),
            exception: None,
        }
    }
}

struct Frame {
    path: String,
    func: String,
    code: Option<String>,
}

struct Exception {
    idx: usize,
    block: usize,
    class: String,
    message: String,
}

struct LoaderHit {
    idx: usize,
    failure: Failure,
    object: Option<String>,
    block: Option<usize>,
}

fn is_separator(content: &str) -> bool {
    let t = content.trim();
    t == "During handling of the above exception, another exception occurred:"
        || t == "The above exception was the direct cause of the following exception:"
}

/// `  File "PATH", line N, in NAME`.
fn parse_frame(content: &str) -> Option<Frame> {
    let at = content.find("File \"")?;
    let rest = &content[at + 6..];
    let q = rest.find("\", line ")?;
    let path = &rest[..q];
    let after = &rest[q + 8..];
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let func = after[digits..]
        .strip_prefix(", in ")
        .map(str::trim)
        .unwrap_or("");
    Some(Frame {
        path: path.to_string(),
        func: func.to_string(),
        code: None,
    })
}

fn is_code_line(content: &str) -> bool {
    content.starts_with(' ') && !content.trim().is_empty() && !is_caret_line(content)
}

fn is_caret_line(content: &str) -> bool {
    let t = content.trim();
    !t.is_empty() && t.chars().all(|c| c == '^' || c == '~')
}

/// The code of a frame's code line; when a log prefix was not recognised,
/// the import statement inside it.
fn code_of(content: &str) -> &str {
    let t = content.trim();
    if t.starts_with("from ") || t.starts_with("import ") {
        return t;
    }
    for kw in ["    from ", "    import "] {
        if let Some(at) = content.find(kw) {
            return content[at..].trim();
        }
    }
    t
}

/// `Class: message` at the start of the content (a class ending in
/// `Error` or `Exception`, possibly dotted), or one of the import
/// failures anywhere after a space (a log prefix not recognised).
fn parse_exception(content: &str) -> Option<(&str, &str)> {
    if content.starts_with(char::is_whitespace) {
        return None;
    }
    let class_len = content
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
        .count();
    let class = &content[..class_len];
    let rest = &content[class_len..];
    let named = class.ends_with("Error")
        || class.ends_with("Exception")
        || class == "KeyboardInterrupt"
        || class == "SystemExit";
    if named && class.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        if rest.is_empty() {
            return Some((class, ""));
        }
        if let Some(m) = rest.strip_prefix(':') {
            return Some((class, m.trim()));
        }
    }
    for class in ["ModuleNotFoundError", "ImportError", "OSError"] {
        let pat_len = class.len() + 1;
        let mut from = 0;
        while let Some(at) = content[from..].find(class) {
            let at = from + at;
            from = at + class.len();
            let before_ok = content[..at].ends_with(' ') || content[..at].ends_with(']');
            if before_ok && content[at + class.len()..].starts_with(':') {
                return Some((class, content[at + pat_len..].trim()));
            }
        }
    }
    None
}

fn exception_message_is_empty(line: &Line) -> bool {
    parse_exception(line.content()).is_some_and(|(_, m)| m.is_empty())
}

/// Whether an exception that is not a loader message still tells of a
/// failed import.
fn is_import_failure(class: &str, message: &str) -> bool {
    let base = class.rsplit('.').next().unwrap_or(class);
    match base {
        "ImportError" | "ModuleNotFoundError" => true,
        "OSError" => {
            message.contains(".so") || message.contains("shared object") || message.contains("ELF")
        }
        _ => false,
    }
}

/// `Class: message` plus up to [`MESSAGE_LINES`] continuation lines, on one
/// line.
fn other_message(lines: &[Line], exc: &Exception) -> String {
    let mut text = lines[exc.idx].content().trim().to_string();
    let mut taken = 0;
    let mut blank_run = 0;
    for l in lines[exc.idx + 1..].iter().take(MESSAGE_WINDOW) {
        let c = l.content();
        if is_separator(c) || c.contains("Traceback (most recent call last):") {
            break;
        }
        if parse_frame(c).is_some() || parse_exception(c).is_some() {
            break;
        }
        let t = c.trim();
        if t.is_empty() {
            // Leading blank lines (numpy's "ImportError: \n\nIMPORTANT…")
            // are skipped; a blank line after the message ends it.
            if taken > 0 || exc.message.is_empty() && blank_run > 1 {
                break;
            }
            blank_run += 1;
            continue;
        }
        if taken == MESSAGE_LINES {
            break;
        }
        text.push(' ');
        text.push_str(t);
        taken += 1;
    }
    clip(&text).to_string()
}

/// `No module named 'X'`, `cannot import name 'Y' from 'X' (…)`.
fn module_from_message(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("No module named ") {
        return quoted(rest).map(str::to_string);
    }
    if message.starts_with("cannot import name ") {
        let at = message.find(" from ")?;
        let rest = &message[at + 6..];
        let rest = rest
            .strip_prefix("partially initialized module ")
            .unwrap_or(rest);
        return quoted(rest).map(str::to_string);
    }
    None
}

/// The text inside the quotes at the start of `s`.
fn quoted(s: &str) -> Option<&str> {
    let q = s.chars().next()?;
    if !matches!(q, '\'' | '"' | '`' | '‘') {
        return None;
    }
    let inner = &s[q.len_utf8()..];
    let end = inner.find(['\'', '"', '’'])?;
    let m = &inner[..end];
    (!m.is_empty()).then_some(m)
}

// ------------------------------------------------------------------ modules

/// The module a traceback block was importing: innermost first, a Cython
/// `init X` frame, an import statement of a frame, or a frame running a
/// module's top level (`in <module>`) of a file under a Python library
/// directory.
fn block_module(block: &Block) -> Option<String> {
    for (k, frame) in block.frames.iter().enumerate().rev() {
        if let Some(m) = frame.func.strip_prefix("init ")
            && is_dotted_name(m)
        {
            return Some(m.to_string());
        }
        let own = path_module(&frame.path);
        if let Some(code) = &frame.code
            && let Some(imp) = parse_import(code)
            && let Some(m) = resolve_import(&imp, own.as_ref(), &block.frames[..k])
        {
            return Some(m);
        }
        if frame.func == "<module>"
            && let Some(own) = own
        {
            return Some(own.name);
        }
    }
    None
}

struct PyModule {
    name: String,
    is_package: bool,
}

/// The module a file is, when it lies under `site-packages`,
/// `dist-packages` or a `lib/pythonX.Y` directory.
fn path_module(path: &str) -> Option<PyModule> {
    let rel = ["/site-packages/", "/dist-packages/"]
        .iter()
        .filter_map(|m| path.rfind(m).map(|at| &path[at + m.len()..]))
        .next()
        .or_else(|| {
            let at = path.rfind("/lib/python")?;
            let rest = &path[at + 11..];
            let slash = rest.find('/')?;
            let ver = &rest[..slash];
            if !ver.starts_with('3') || !ver.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return None;
            }
            let rest = &rest[slash + 1..];
            Some(rest.strip_prefix("lib-dynload/").unwrap_or(rest))
        })?;
    let stem = rel
        .strip_suffix(".py")
        .or_else(|| rel.strip_suffix(".pyc"))
        .or_else(|| {
            rel.strip_suffix(".so")
                .map(|s| s.split('.').next().unwrap_or(s))
        })?;
    let mut parts: Vec<&str> = stem.split('/').collect();
    let is_package = parts.last() == Some(&"__init__");
    if is_package {
        parts.pop();
    }
    if parts.is_empty() || !parts.iter().all(|p| is_identifier(p)) {
        return None;
    }
    Some(PyModule {
        name: parts.join("."),
        is_package,
    })
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn is_dotted_name(s: &str) -> bool {
    s.split('.').all(is_identifier)
}

enum Import<'a> {
    /// `import a.b` (one name; several are ambiguous).
    Plain(&'a str),
    /// `from X import Y`: dots, X, and Y when a single name is imported.
    From {
        dots: usize,
        module: &'a str,
        single: Option<&'a str>,
    },
}

fn parse_import(code: &str) -> Option<Import<'_>> {
    let code = code.split('#').next().unwrap_or("").trim();
    if let Some(rest) = code.strip_prefix("import ") {
        let rest = rest.trim();
        if rest.contains(',') {
            return None;
        }
        let name = rest.split_whitespace().next()?;
        return is_dotted_name(name).then_some(Import::Plain(name));
    }
    let rest = code.strip_prefix("from ")?;
    let (src, names) = rest.split_once(" import ")?;
    let src = src.trim();
    let dots = src.bytes().take_while(|&b| b == b'.').count();
    let module = &src[dots..];
    if !module.is_empty() && !is_dotted_name(module) {
        return None;
    }
    if dots == 0 && module.is_empty() {
        return None;
    }
    let names = names.trim();
    let single = if names.contains([',', '(', '*']) {
        None
    } else {
        names.split_whitespace().next().filter(|n| is_identifier(n))
    };
    Some(Import::From {
        dots,
        module,
        single,
    })
}

/// The module an import statement of a frame imports: relative imports
/// resolved against the frame's package; `from X import Y` is X.Y when X is
/// itself being imported by an outer frame (then Y is the submodule that
/// failed), or when X is `.`.
fn resolve_import(imp: &Import<'_>, own: Option<&PyModule>, outer: &[Frame]) -> Option<String> {
    match *imp {
        Import::Plain(name) => Some(name.to_string()),
        Import::From {
            dots,
            module,
            single,
        } => {
            let base = if dots == 0 {
                module.to_string()
            } else {
                let own = own?;
                let mut parts: Vec<&str> = own.name.split('.').collect();
                if !own.is_package {
                    parts.pop();
                }
                for _ in 1..dots {
                    parts.pop()?;
                }
                if parts.is_empty() {
                    return None;
                }
                if !module.is_empty() {
                    parts.extend(module.split('.'));
                }
                if parts.is_empty() {
                    return None;
                }
                parts.join(".")
            };
            let being_imported = || {
                outer.iter().any(|f| {
                    f.func == "<module>"
                        && path_module(&f.path).is_some_and(|m| m.is_package && m.name == base)
                })
            };
            match single {
                Some(name) if module.is_empty() || being_imported() => {
                    Some(format!("{base}.{name}"))
                }
                _ => Some(base),
            }
        }
    }
}

// ------------------------------------------------------------------ loader messages

/// Loader errors that name an object and are not one of the kinds of
/// [`Failure`] (`elf/dl-load.c`, `elf/dl-reloc.c`, `elf/dl-tls.c`, …).
const OTHER_LOADER_ERRORS: &[&str] = &[
    ": cannot enable executable stack as shared object requires",
    ": invalid ELF header",
    ": file too short",
    ": ELF file OS ABI invalid",
    ": ELF file ABI version invalid",
    ": ELF file version does not match current one",
    ": ELF file version ident does not match current one",
    ": ELF file data encoding not little-endian",
    ": ELF file data encoding not big-endian",
    ": ELF load command address/offset not page-aligned",
    ": ELF load command address/offset not properly aligned",
    ": ELF load command alignment not page-aligned",
    ": only ET_DYN and ET_EXEC can be loaded",
    ": cannot allocate memory in static TLS block",
    ": failed to map segment from shared object",
    ": cannot change memory protections",
    ": cannot apply additional memory protection after relocation",
    ": cannot make segment writable for relocation",
    ": cannot restore segment prot after reloc",
    ": cannot create shared object descriptor",
    ": cannot read file data",
    ": object file has no dynamic section",
    ": shared object cannot be dlopen()ed",
    ": cannot dynamically load position-independent executable",
    ": cannot dynamically load executable",
    ": error while loading shared libraries",
];

/// Every loader failure on one line, with the object it names.
fn loader_failures(line: &str) -> Vec<(Failure, Option<String>)> {
    let mut out = Vec::new();
    for at in find_all(line, ": cannot open shared object file") {
        let Some((lib, lib_start)) = segment_before(line, at) else {
            continue;
        };
        let after = &line[at + ": cannot open shared object file".len()..];
        let errno = after.strip_prefix(": ").map_or("", |e| {
            let n = e
                .find(|c: char| !(c.is_ascii_alphabetic() || c == ' ' || c == '-' || c == '\''))
                .unwrap_or(e.len());
            e[..n].trim()
        });
        let object = program_before(line, lib_start).or_else(|| {
            let before = line[..lib_start].strip_suffix(": ")?;
            let (o, _) = segment_before(line, before.len())?;
            // cffi's `cannot load library 'NAME': NAME: cannot open…`
            // quotes the name it was given, which is no other object.
            let o = o.trim_end_matches(['\'', '"', '`', '’']);
            (looks_like_object(o) && o != lib).then_some(o)
        });
        if errno.is_empty() || errno == "No such file or directory" {
            out.push((
                Failure::MissingLibrary {
                    library: lib.to_string(),
                },
                object.map(str::to_string),
            ));
        } else {
            out.push((
                Failure::Other {
                    message: format!("cannot open shared object file: {errno}"),
                },
                Some(lib.to_string()),
            ));
        }
    }
    for at in find_all(line, ": version ") {
        let rest = &line[at + ": version ".len()..];
        let Some(q) = rest.chars().next() else {
            continue;
        };
        if !matches!(q, '`' | '\'' | '‘' | '"') {
            continue;
        }
        let inner = &rest[q.len_utf8()..];
        let Some(end) = inner.find(['\'', '’', '`', '"']) else {
            continue;
        };
        let version = &inner[..end];
        let close = inner[end..].chars().next().map_or(1, char::len_utf8);
        let tail = &inner[end + close..];
        let Some(tail) = tail.strip_prefix(" not found (required by ") else {
            continue;
        };
        let required_by = tail.find(')').map_or(tail, |e| &tail[..e]).trim();
        let Some((library, _)) = segment_before(line, at) else {
            continue;
        };
        if version.is_empty() || required_by.is_empty() {
            continue;
        }
        out.push((
            Failure::MissingVersion {
                version: version.to_string(),
                library: library.to_string(),
                required_by: required_by.to_string(),
            },
            Some(required_by.to_string()),
        ));
    }
    // glibc: "OBJ: symbol SYM version V not defined in file LIB with link time reference".
    for at in find_all(line, " not defined in file ") {
        let before = &line[..at];
        let Some(sym_at) = before.rfind(": symbol ") else {
            continue;
        };
        let words: Vec<&str> = before[sym_at + 9..].split(' ').collect();
        let [symbol, "version", version] = words[..] else {
            continue;
        };
        let rest = &line[at + " not defined in file ".len()..];
        let library = rest.split(' ').next().unwrap_or("").trim_end_matches(',');
        let Some((object, _)) = segment_before(line, sym_at) else {
            continue;
        };
        if symbol.is_empty() || library.is_empty() {
            continue;
        }
        out.push((
            Failure::MissingVersion {
                version: version.to_string(),
                library: library.to_string(),
                required_by: object.to_string(),
            },
            Some(object.to_string()),
        ));
    }
    for at in find_all(line, ": undefined symbol: ") {
        let rest = &line[at + ": undefined symbol: ".len()..];
        let symbol = rest
            .split(|c: char| c == ',' || c.is_whitespace())
            .next()
            .unwrap_or("");
        if symbol.is_empty() {
            continue;
        }
        let object = segment_before(line, at).map(|(o, _)| o.to_string());
        out.push((
            Failure::UndefinedSymbol {
                symbol: symbol.to_string(),
            },
            object,
        ));
    }
    for at in find_all(line, ": wrong ELF class: ") {
        let rest = &line[at + ": wrong ELF class: ".len()..];
        let class: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if class.is_empty() {
            continue;
        }
        let object = segment_before(line, at).map(|(o, _)| o.to_string());
        out.push((Failure::WrongClass { class }, object));
    }
    for phrase in OTHER_LOADER_ERRORS {
        if *phrase == ": error while loading shared libraries" {
            // Only when no other message followed it (handled above).
            if out.is_empty()
                && let Some(at) = line.find(phrase)
            {
                let rest = cut_message(line[at + 2..].trim());
                let object = segment_before(line, at).map(|(o, _)| o.to_string());
                if !rest.is_empty() {
                    out.push((
                        Failure::Other {
                            message: rest.to_string(),
                        },
                        object,
                    ));
                }
            }
            continue;
        }
        for at in find_all(line, phrase) {
            let message = cut_message(line[at + 2..].trim());
            let object = segment_before(line, at).map(|(o, _)| o.to_string());
            out.push((
                Failure::Other {
                    message: message.to_string(),
                },
                object,
            ));
        }
    }
    // musl: "Error loading shared library NAME: ERR (needed by OBJ)".
    for at in find_all(line, "Error loading shared library ") {
        let rest = &line[at + "Error loading shared library ".len()..];
        let Some(colon) = rest.find(": ") else {
            continue;
        };
        let lib = rest[..colon].trim();
        let err = &rest[colon + 2..];
        let object = err
            .find("(needed by ")
            .map(|n| &err[n + 11..])
            .map(|o| o.find(')').map_or(o, |e| &o[..e]).trim().to_string());
        let err = err.find(" (needed by ").map_or(err, |n| &err[..n]).trim();
        if lib.is_empty() || lib.contains(' ') {
            continue;
        }
        let failure = if err == "No such file or directory" {
            Failure::MissingLibrary {
                library: lib.to_string(),
            }
        } else {
            Failure::Other {
                message: format!("Error loading shared library {lib}: {err}"),
            }
        };
        out.push((failure, object));
    }
    // musl: "Error relocating OBJ: SYM: symbol not found".
    for at in find_all(line, ": symbol not found") {
        let before = &line[..at];
        let Some(rel) = before.rfind("Error relocating ") else {
            continue;
        };
        let inner = &before[rel + "Error relocating ".len()..];
        let Some((object, symbol)) = inner.rsplit_once(": ") else {
            continue;
        };
        if symbol.is_empty() || symbol.contains(' ') {
            continue;
        }
        out.push((
            Failure::UndefinedSymbol {
                symbol: symbol.to_string(),
            },
            Some(object.trim().to_string()),
        ));
    }
    if out.is_empty()
        && let Some(name) = not_found_by_package(line)
    {
        out.push((Failure::LibraryNotFound { library: name }, None));
    }
    // ldd: "\tNAME => not found".
    if let Some(at) = line.find(" => not found") {
        let name = line[..at].trim();
        if !name.is_empty() && !name.contains(char::is_whitespace) {
            out.push((
                Failure::MissingLibrary {
                    library: name.to_string(),
                },
                None,
            ));
        }
    }
    out
}

/// The library a package says it could not find, in the words the
/// packages of the run-time loads test use (measured there): psycopg's
/// `libpq library not found` and `no pq wrapper available`, pyzbar's and
/// pylibdmtx's `Unable to find zbar shared library`, python-magic's
/// `failed to find libmagic`, opuslib's `Could not find Opus library`,
/// libnacl's `Could not locate nacl lib, searched for libsodium.so, …`,
/// sounddevice's `PortAudio library not found`, cairocffi's `no library
/// called "cairo-2" was found`. Returns the name as `find_library` takes
/// it.
fn not_found_by_package(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let word_before = |at: usize| -> Option<&str> { line[..at].split_whitespace().next_back() };
    let word_after = |at: usize| -> Option<&str> {
        line.get(at..)?
            .split(|c: char| c.is_whitespace() || c == ',')
            .find(|w| !w.is_empty())
    };
    let found = if let Some(at) = lower.find("no library called ") {
        word_after(at + "no library called ".len())
    } else if let Some(at) = lower.find("unable to find ") {
        lower[at..]
            .contains(" shared library")
            .then(|| word_after(at + "unable to find ".len()))
            .flatten()
    } else if let Some(at) = lower.find(" library not found") {
        word_before(at)
    } else if let Some(at) = lower.find("failed to find ") {
        word_after(at + "failed to find ".len())
    } else if let Some(at) = lower.find("could not find ") {
        lower[at..]
            .contains(" library")
            .then(|| word_after(at + "could not find ".len()))
            .flatten()
    } else if let Some(at) = lower.find("could not locate ") {
        // libnacl lists the names it tried: the first is the library.
        match lower.find("searched for ") {
            Some(s) => word_after(s + "searched for ".len()),
            None => word_after(at + "could not locate ".len()),
        }
    } else if let Some(at) = lower.find("no ") {
        lower[at..]
            .contains(" wrapper available")
            .then(|| word_after(at + "no ".len()))
            .flatten()
    } else {
        None
    };
    let word = found?.trim_matches(|c: char| {
        !(c.is_ascii_alphanumeric() || c == '_' || c == '+' || c == '-' || c == '.')
    });
    let word = word.trim_end_matches('.');
    let name = crate::runtime::stem(word);
    (name.len() >= 2
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b)))
    .then_some(name)
}

/// Every start index of `pat` in `s` (non-overlapping), at most 64.
fn find_all(s: &str, pat: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while out.len() < 64 {
        let Some(at) = s.get(from..).and_then(|r| r.find(pat)) else {
            break;
        };
        out.push(from + at);
        from += at + pat.len();
    }
    out
}

/// The name or path printed just before `end`: the text after the previous
/// `": "` (looking back at most [`LOOKBACK`] bytes), as its last
/// whitespace-separated word. Returns it and its start.
fn segment_before(line: &str, end: usize) -> Option<(&str, usize)> {
    let end = floor_boundary(line, end);
    let lo = ceil_boundary(line, end.saturating_sub(LOOKBACK));
    let window = &line[lo..end];
    let seg_start = window.rfind(": ").map_or(0, |p| p + 2);
    let seg = window[seg_start..].trim_end();
    let word_start = seg
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(p, c)| p + c.len_utf8());
    let word = &seg[word_start..];
    let bare = word.trim_start_matches(['\'', '"', '(', '[', '`']);
    if bare.is_empty() {
        return None;
    }
    Some((
        bare,
        lo + seg_start + word_start + (word.len() - bare.len()),
    ))
}

/// `PROG: error while loading shared libraries: ` ending at `lib_start`:
/// PROG.
fn program_before(line: &str, lib_start: usize) -> Option<&str> {
    let before = line.get(..lib_start)?.strip_suffix(": ")?;
    let at = before
        .strip_suffix("error while loading shared libraries")?
        .len();
    segment_before(line, at.checked_sub(2)?).map(|(p, _)| p)
}

/// Whether a word names a file that could be loaded (the `OBJ: NAME:
/// cannot open shared object file` form).
fn looks_like_object(word: &str) -> bool {
    word.contains('/') || word.ends_with(".so") || word.contains(".so.")
}

/// A loader message ends at the end of the line, or where a quoting log
/// format (JSON) closes it.
fn cut_message(s: &str) -> &str {
    let end = [s.find("\\n"), s.find('"')]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(s.len());
    s[..end].trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Finding {
        let f = parse(text);
        assert_eq!(f.len(), 1, "{f:#?}");
        f.into_iter().next().unwrap()
    }

    #[test]
    fn startup_missing_library_names_the_program() {
        let f = one(
            "python3.11: error while loading shared libraries: libz.so.1: cannot open shared object file: No such file or directory\n",
        );
        assert_eq!(
            f.failure,
            Failure::MissingLibrary {
                library: "libz.so.1".into()
            }
        );
        assert_eq!(f.object.as_deref(), Some("python3.11"));
        assert_eq!(f.line, 1);
        assert_eq!(f.module, None);
    }

    #[test]
    fn both_quote_styles_of_a_version_error() {
        for q in [("`", "'"), ("'", "'"), ("‘", "’")] {
            let text = format!(
                "ImportError: /lib/x86_64-linux-gnu/libc.so.6: version {}GLIBC_2.38{} not found (required by /opt/x.so)",
                q.0, q.1
            );
            let f = one(&text);
            assert_eq!(
                f.failure,
                Failure::MissingVersion {
                    version: "GLIBC_2.38".into(),
                    library: "/lib/x86_64-linux-gnu/libc.so.6".into(),
                    required_by: "/opt/x.so".into()
                },
                "{text}"
            );
            assert_eq!(f.object.as_deref(), Some("/opt/x.so"));
        }
    }

    #[test]
    fn object_name_form_and_crlf_and_ansi() {
        let text = "noise\r\n\u{1b}[31mERROR\u{1b}[0m /app/plugin.so: libfoo.so.2: cannot open shared object file: No such file or directory\r\n";
        let f = one(text);
        assert_eq!(
            f.failure,
            Failure::MissingLibrary {
                library: "libfoo.so.2".into()
            }
        );
        assert_eq!(f.object.as_deref(), Some("/app/plugin.so"));
        assert_eq!(f.line, 2);
        assert!(
            !f.text.contains('\r') && !f.text.contains('\u{1b}'),
            "{:?}",
            f.text
        );
    }

    #[test]
    fn other_loader_errors_and_permission() {
        let f = one(
            "ImportError: /usr/lib/x/_m.so: cannot enable executable stack as shared object requires: Invalid argument",
        );
        assert_eq!(
            f.failure,
            Failure::Other {
                message:
                    "cannot enable executable stack as shared object requires: Invalid argument"
                        .into()
            }
        );
        assert_eq!(f.object.as_deref(), Some("/usr/lib/x/_m.so"));
        let f = one("OSError: /opt/lib.so: cannot open shared object file: Permission denied");
        assert_eq!(
            f.failure,
            Failure::Other {
                message: "cannot open shared object file: Permission denied".into()
            }
        );
        assert_eq!(f.object.as_deref(), Some("/opt/lib.so"));
        let f =
            one("ImportError: /usr/lib/libgomp.so.1: cannot allocate memory in static TLS block");
        assert_eq!(f.object.as_deref(), Some("/usr/lib/libgomp.so.1"));
    }

    #[test]
    fn symbol_errors() {
        let f = one(
            "/usr/bin/app: symbol lookup error: /usr/lib/libx.so.1: undefined symbol: foo_v2, version X_2",
        );
        assert_eq!(
            f.failure,
            Failure::UndefinedSymbol {
                symbol: "foo_v2".into()
            }
        );
        assert_eq!(f.object.as_deref(), Some("/usr/lib/libx.so.1"));
        let f = one(
            "/usr/bin/app: relocation error: /usr/lib/liby.so: symbol memfd_create version GLIBC_2.27 not defined in file libc.so.6 with link time reference",
        );
        assert_eq!(
            f.failure,
            Failure::MissingVersion {
                version: "GLIBC_2.27".into(),
                library: "libc.so.6".into(),
                required_by: "/usr/lib/liby.so".into()
            }
        );
    }

    #[test]
    fn musl_and_ldd() {
        let f = one(
            "Error loading shared library libz.so.1: No such file or directory (needed by /usr/bin/python3.11)",
        );
        assert_eq!(
            f.failure,
            Failure::MissingLibrary {
                library: "libz.so.1".into()
            }
        );
        assert_eq!(f.object.as_deref(), Some("/usr/bin/python3.11"));
        let f = one("Error relocating /usr/lib/x.so: PyFoo: symbol not found");
        assert_eq!(
            f.failure,
            Failure::UndefinedSymbol {
                symbol: "PyFoo".into()
            }
        );
        let found = parse(
            "/usr/bin/python3.11:\n\tlibz.so.1 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6\n",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
    }

    #[test]
    fn module_not_found_is_other_with_the_module() {
        let f = one(
            "Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>\n    import yaml\nModuleNotFoundError: No module named 'yaml'\n",
        );
        assert_eq!(
            f.failure,
            Failure::Other {
                message: "ModuleNotFoundError: No module named 'yaml'".into()
            }
        );
        assert_eq!(f.module.as_deref(), Some("yaml"));
        assert_eq!(f.line, 4);
    }

    #[test]
    fn unrelated_exceptions_are_not_findings() {
        assert!(
            parse("Traceback (most recent call last):\n  File \"/app/x.py\", line 3, in f\n    d[k]\nKeyError: 'k'\n")
                .is_empty()
        );
        assert!(parse("OSError: [Errno 98] Address already in use").is_empty());
        assert!(parse("").is_empty());
    }

    #[test]
    fn packages_that_found_no_library_by_name() {
        // Each message as the package prints it (measured in the run-time
        // loads test's builder and image).
        for (text, name) in [
            (
                "- couldn't import psycopg 'python' implementation: libpq library not found",
                "pq",
            ),
            ("ImportError: no pq wrapper available.", "pq"),
            ("ImportError: Unable to find zbar shared library", "zbar"),
            ("ImportError: Unable to find dmtx shared library", "dmtx"),
            (
                "ImportError: failed to find libmagic.  Check your installation",
                "magic",
            ),
            (
                "Exception: Could not find Opus library. Make sure it is installed.",
                "opus",
            ),
            (
                "OSError: Could not locate nacl lib, searched for libsodium.so, libsodium.so.23, libsodium.so.18",
                "sodium",
            ),
            ("OSError: PortAudio library not found", "portaudio"),
            ("OSError: no library called \"cairo-2\" was found", "cairo"),
        ] {
            let f = one(text);
            assert_eq!(
                f.failure,
                Failure::LibraryNotFound {
                    library: name.into()
                },
                "{text}"
            );
        }
        // A loader message on the line wins.
        let f =
            one("OSError: libpq.so.5: cannot open shared object file: No such file or directory");
        assert!(matches!(f.failure, Failure::MissingLibrary { .. }));
    }

    #[test]
    fn cffi_names_no_other_object_and_other_systems_names_are_noise() {
        let f = one(
            "OSError: cannot load library 'libvips.so.42': libvips.so.42: cannot open shared object file: No such file or directory.  Additionally, ctypes.util.find_library() did not manage to locate a library called 'libvips.so.42'",
        );
        assert_eq!(
            f.failure,
            Failure::MissingLibrary {
                library: "libvips.so.42".into()
            }
        );
        assert_eq!(f.object, None, "no stray quote, no object");
        // cairocffi tries names in turn: the Linux soname is the finding.
        let text = "Traceback (most recent call last):\n  File \"/s/cairocffi/__init__.py\", line 48, in <module>\n    cairo = dlopen(\nOSError: no library called \"cairo-2\" was found\nno library called \"cairo\" was found\ncannot load library 'libcairo.so.2': libcairo.so.2: cannot open shared object file: No such file or directory\ncannot load library 'libcairo.2.dylib': libcairo.2.dylib: cannot open shared object file: No such file or directory\ncannot load library 'libcairo-2.dll': libcairo-2.dll: cannot open shared object file: No such file or directory\n";
        let f = one(text);
        assert_eq!(
            f.failure,
            Failure::MissingLibrary {
                library: "libcairo.so.2".into()
            }
        );
        // Alone, a name for another system is still reported.
        let f = one(
            "OSError: cannot load library 'libfoo.dylib': libfoo.dylib: cannot open shared object file: No such file or directory",
        );
        assert!(matches!(f.failure, Failure::MissingLibrary { .. }));
    }

    #[test]
    fn modules_from_frames() {
        let text = "Traceback (most recent call last):\n  File \"/srv/app/main.py\", line 3, in <module>\n    import foo\n  File \"/venv/lib/python3.12/site-packages/foo/__init__.py\", line 5, in <module>\n    _lib = load()\n  File \"/venv/lib/python3.12/site-packages/foo/_loader.py\", line 9, in load\n    return ctypes.CDLL(path)\n  File \"/usr/lib/python3.12/ctypes/__init__.py\", line 379, in __init__\n    self._handle = _dlopen(self._name, mode)\nOSError: libbar.so.3: cannot open shared object file: No such file or directory\n";
        let f = one(text);
        assert_eq!(f.module.as_deref(), Some("foo"));
        let text = "Traceback (most recent call last):\n  File \"/x/dist-packages/pkg/sub/__init__.py\", line 1, in <module>\n    from .. import _core as core\nImportError: libq.so: cannot open shared object file: No such file or directory\n";
        assert_eq!(one(text).module.as_deref(), Some("pkg._core"));
        // Beyond the top-level package: the frame's own module.
        let text = "Traceback (most recent call last):\n  File \"/x/dist-packages/pkg/mod.py\", line 1, in <module>\n    from ..a import b\nImportError: libq.so: cannot open shared object file: No such file or directory\n";
        assert_eq!(one(text).module.as_deref(), Some("pkg.mod"));
    }

    #[test]
    fn repeated_failure_is_one_finding() {
        let msg =
            "ImportError: libz.so.1: cannot open shared object file: No such file or directory\n";
        let text = msg.repeat(50);
        let f = parse(&text);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].line, 1);
    }

    #[test]
    fn log_prefixes_are_stripped() {
        let text = "2025-05-14T09:31:00.1Z stderr F Traceback (most recent call last):\n2025-05-14T09:31:00.12Z stderr F   File \"/usr/lib/python3.11/bz2.py\", line 17, in <module>\n2025-05-14T09:31:00.123Z stderr F     from _bz2 import BZ2Compressor\n2025-05-14T09:31:00.1234Z stderr F ImportError: libbz2.so.1.0: cannot open shared object file: No such file or directory\n";
        let f = one(text);
        assert_eq!(f.module.as_deref(), Some("_bz2"));
        assert_eq!(f.line, 4);
        let text = "web-1  | Traceback (most recent call last):\nweb-1  |   File \"/usr/lib/python3.11/bz2.py\", line 17, in <module>\nweb-1  |     from _bz2 import BZ2Compressor\nweb-1  | ImportError: libbz2.so.1.0: cannot open shared object file: No such file or directory\n";
        assert_eq!(one(text).module.as_deref(), Some("_bz2"));
    }

    #[test]
    fn never_panics_on_fragments() {
        // Pieces of every pattern, glued in many orders, with multi-byte
        // characters next to the cut points.
        let pieces = [
            ": cannot open shared object file",
            ": version `",
            "' not found (required by ",
            ": version ‘",
            "’",
            "File \"",
            "\", line ",
            "12",
            ", in <module>",
            "    from . import x",
            "ImportError: ",
            "Traceback (most recent call last):",
            "During handling of the above exception, another exception occurred:",
            ": undefined symbol: ",
            ": wrong ELF class: ",
            "Error loading shared library ",
            " (needed by ",
            "Error relocating ",
            ": symbol not found",
            " => not found",
            ": symbol ",
            " version ",
            " not defined in file ",
            "error while loading shared libraries",
            "é",
            "\u{1b}[",
            "\u{1b}]",
            "\r",
            "\n",
            " ",
            ": ",
            "2025-05-14T09:31:00Z ",
            " | ",
            "/lib/x.so",
            "init ",
            "^^^",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let n = (next() % 40) as usize;
            let mut s = String::new();
            for _ in 0..n {
                s.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let _ = parse(&s);
        }
        // Random bytes, lossily decoded.
        for _ in 0..500 {
            let n = (next() % 2000) as usize;
            let bytes: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn huge_lines_are_bounded() {
        let mut s = "é".repeat(3_000_000);
        s.push_str(": cannot open shared object file: No such file or directory");
        assert!(parse(&s).is_empty() || parse(&s).len() == 1);
        let s =
            "libz.so.1: cannot open shared object file: No such file or directory ".repeat(100_000);
        let f = parse(&s);
        assert_eq!(f.len(), 1);
        assert!(f[0].text.len() <= MAX_TEXT);
        let s = format!("ImportError: {}", "x".repeat(50_000_000));
        let _ = parse(&s);
    }
}
