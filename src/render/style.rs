//! Colour for the text reports.

use std::io::{self, Write};

const RED: &str = "\x1b[31m";
const BOLD_RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Colours a text report line by line, by what each line says, so that
/// every renderer stays plain text. Used only when colour is on: with
/// colour off the report is not passed through it at all, and the bytes
/// are the renderers' own. A line is written once its newline is (the
/// rest at [`Write::flush`]).
pub struct Colored<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> Colored<W> {
    pub fn new(inner: W) -> Colored<W> {
        Colored {
            inner,
            line: Vec::new(),
        }
    }

    fn emit_line(&mut self) -> io::Result<()> {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        self.inner.write_all(paint(&line).as_bytes())
    }
}

impl<W: Write> Write for Colored<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for chunk in buf.split_inclusive(|&b| b == b'\n') {
            self.line.extend_from_slice(chunk);
            if chunk.ends_with(b"\n") {
                self.emit_line()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            self.emit_line()?;
        }
        self.inner.flush()
    }
}

/// One line of a text report with ANSI colours: problems red, warnings
/// yellow, a final image that loads green, headings bold.
pub fn paint(line: &str) -> String {
    let (body, nl) = match line.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (line, ""),
    };
    let whole = |style: &str| format!("{style}{body}{RESET}{nl}");
    let label = |prefix: &str, style: &str| {
        format!(
            "{style}{}{RESET}{}{nl}",
            prefix.trim_end(),
            &body[prefix.trim_end().len()..]
        )
    };
    const LABELS: &[(&str, &str)] = &[
        ("not found: ", BOLD_RED),
        ("load error: ", BOLD_RED),
        ("error: ", BOLD_RED),
        ("bad file: ", RED),
        ("warning: ", YELLOW),
        ("conflict: ", YELLOW),
        ("target: ", BOLD),
    ];
    if body.starts_with("final image: all") {
        return whole(GREEN);
    }
    if body.starts_with("final image: would NOT load") {
        return whole(BOLD_RED);
    }
    if body.starts_with("The target lacks") || body.starts_with("Dockerfile (after FROM") {
        return whole(BOLD);
    }
    if body.starts_with("The target provides every library") {
        return whole(GREEN);
    }
    if body.starts_with('#') || body.starts_with("… and ") {
        return whole(DIM);
    }
    if body.starts_with("target ") && body.ends_with(": provides it; nothing to copy") {
        return whole(GREEN);
    }
    if body.starts_with("target ") && body.contains(": lacks it;") {
        return whole(YELLOW);
    }
    if body == "  fix:" {
        return whole(GREEN);
    }
    for (prefix, style) in LABELS {
        if body.starts_with(prefix) {
            return label(prefix, style);
        }
    }
    if let Some(name) = body.strip_suffix(" => not found") {
        return format!("{name} => {BOLD_RED}not found{RESET}{nl}");
    }
    line.to_string()
}
