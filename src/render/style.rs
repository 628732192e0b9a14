//! Colour for the text reports. A renderer says what a span of text is (a
//! [`Style`]); [`Styled`] writes it with ANSI colour when colour is on and
//! as it is when off, so the plain report is the coloured one without its
//! escapes, and rewording a line never changes its colour.

use std::fmt::Display;
use std::io::{self, Write};

/// What a span of a text report is, which decides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// What the loader does not find: `not found`.
    Missing,
    /// A failure: an error's label, a final image that would not load.
    Error,
    /// A file that could not be read as what it claims to be.
    BadFile,
    /// Works, but only by accident or not as planned: a warning's or a
    /// conflict's label, a target that lacks what `why` asks about.
    Warning,
    /// What works or is the way out: a final image that loads, a target
    /// that needs nothing copied, the fix.
    Ok,
    /// What the lines under it are about: the target, what to copy, the
    /// Dockerfile.
    Heading,
    /// Beside the point: Dockerfile comments, how many more lines there are.
    Aside,
}

impl Style {
    /// The ANSI escape that starts the style: problems red, warnings
    /// yellow, what works green, headings bold.
    fn ansi(self) -> &'static str {
        match self {
            Style::Missing | Style::Error => "\x1b[1;31m",
            Style::BadFile => "\x1b[31m",
            Style::Warning => "\x1b[33m",
            Style::Ok => "\x1b[32m",
            Style::Heading => "\x1b[1m",
            Style::Aside => "\x1b[2m",
        }
    }
}

const RESET: &str = "\x1b[0m";

/// A writer for a text report: plain text through [`Write`], and spans of
/// a [`Style`] through [`Styled::span`], coloured only when colour is on.
/// Renderers take `&mut Styled` (over any writer); machine-readable
/// output takes a plain writer and never sees colour.
pub struct Styled<W: ?Sized + Write = dyn Write> {
    color: bool,
    out: W,
}

impl<W: Write> Styled<W> {
    /// `out` with colour when `color` is true.
    pub fn new(out: W, color: bool) -> Styled<W> {
        Styled { color, out }
    }

    /// `out` without colour.
    pub fn plain(out: W) -> Styled<W> {
        Styled::new(out, false)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: ?Sized + Write> Styled<W> {
    /// `text` as a span of `style`.
    pub fn span(&mut self, style: Style, text: impl Display) -> io::Result<()> {
        if self.color {
            write!(self.out, "{}{text}{RESET}", style.ansi())
        } else {
            write!(self.out, "{text}")
        }
    }

    /// `text` as a span of `style`, then a newline (outside the span).
    pub fn line(&mut self, style: Style, text: impl Display) -> io::Result<()> {
        self.span(style, text)?;
        writeln!(self.out)
    }
}

impl<W: ?Sized + Write> Write for Styled<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(color: bool, f: impl Fn(&mut Styled) -> io::Result<()>) -> String {
        let mut out = Styled::new(Vec::new(), color);
        f(&mut out).unwrap();
        String::from_utf8(out.into_inner()).unwrap()
    }

    #[test]
    fn a_span_is_coloured_only_when_colour_is_on() {
        let report = |out: &mut Styled| {
            out.span(Style::Missing, "not found:")?;
            writeln!(out, " libz.so.1")?;
            out.line(Style::Ok, "final image: all 3 objects of the scope load")
        };
        assert_eq!(
            render(false, report),
            "not found: libz.so.1\nfinal image: all 3 objects of the scope load\n"
        );
        assert_eq!(
            render(true, report),
            "\x1b[1;31mnot found:\x1b[0m libz.so.1\n\x1b[32mfinal image: all 3 objects of the scope load\x1b[0m\n"
        );
    }

    /// The colours of today's reports, one per style: a terminal sees the
    /// same colours whatever renders them.
    #[test]
    fn each_style_has_its_colour() {
        for (style, ansi) in [
            (Style::Missing, "\x1b[1;31m"),
            (Style::Error, "\x1b[1;31m"),
            (Style::BadFile, "\x1b[31m"),
            (Style::Warning, "\x1b[33m"),
            (Style::Ok, "\x1b[32m"),
            (Style::Heading, "\x1b[1m"),
            (Style::Aside, "\x1b[2m"),
        ] {
            assert_eq!(
                render(true, |out| out.span(style, "x")),
                format!("{ansi}x\x1b[0m"),
                "{style:?}"
            );
        }
    }
}
