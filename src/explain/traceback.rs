//! Tracebacks: blocks of frames ending in an exception line, chained by
//! "During handling of the above exception…" separators, read in one pass
//! over the lines together with the loader messages among them.

use super::Failure;
use super::lines::{Line, clip};
use super::loader::loader_failures;

/// How many lines after an exception line still belong to its message.
pub(super) const MESSAGE_WINDOW: usize = 40;
/// How many continuation lines an [`Failure::Other`] message takes.
const MESSAGE_LINES: usize = 3;

/// What the lines tell, read once in order.
pub(super) struct Reading {
    /// Traceback blocks, in order; a chain of them shares a chain number.
    pub(super) blocks: Vec<Block>,
    /// How many chains there are.
    pub(super) chains: usize,
    /// Every loader message.
    pub(super) loader: Vec<LoaderHit>,
    /// Every exception line.
    pub(super) exceptions: Vec<Exception>,
}

impl Reading {
    /// The chain a new block belongs to: the previous block's after a
    /// chain separator, else a new one.
    fn chain_of_new_block(&mut self, chained: bool) -> usize {
        match self.blocks.last() {
            Some(b) if chained => b.chain,
            _ => {
                self.chains += 1;
                self.chains - 1
            }
        }
    }
}

/// Blocks, chains, exception lines and loader messages of `lines`.
pub(super) fn read(lines: &[Line]) -> Reading {
    let mut read = Reading {
        blocks: Vec::new(),
        chains: 0,
        loader: Vec::new(),
        exceptions: Vec::new(),
    };
    // The block whose exception message the following lines may belong to.
    let mut message_of: Option<(usize, usize)> = None;
    // A chain separator was seen since the last exception.
    let mut chained = false;
    // The previous line was a frame (the next indented one is its code).
    let mut after_frame = false;

    for (idx, line) in lines.iter().enumerate() {
        let content = line.content();
        let was_after_frame = std::mem::take(&mut after_frame);
        if content.contains("Traceback (most recent call last):") {
            let chain = read.chain_of_new_block(chained);
            chained = false;
            message_of = None;
            read.blocks.push(Block::new(chain));
        } else if is_separator(content) {
            chained = !read.blocks.is_empty();
            message_of = None;
        } else if let Some(frame) = parse_frame(content) {
            let open = read.blocks.last().is_some_and(|b| b.exception.is_none());
            if !open {
                let chain = read.chain_of_new_block(chained);
                chained = false;
                read.blocks.push(Block::new(chain));
            }
            message_of = None;
            if let Some(b) = read.blocks.last_mut() {
                b.frames.push(frame);
            }
            after_frame = true;
        } else if was_after_frame && is_code_line(content) {
            if let Some(f) = read.blocks.last_mut().and_then(|b| b.frames.last_mut()) {
                f.code = Some(code_of(content).to_string());
            }
        } else if is_caret_line(content) {
            // `^^^^` under the code of a frame.
        } else if let Some((class, message)) = parse_exception(content) {
            let open = read.blocks.last().is_some_and(|b| b.exception.is_none());
            if !open {
                let chain = read.chain_of_new_block(chained);
                read.blocks.push(Block::new(chain));
            }
            chained = false;
            let b = read.blocks.len() - 1;
            read.blocks[b].exception = Some(idx);
            message_of = Some((b, idx));
            read.exceptions.push(Exception {
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
            read.loader.push(LoaderHit {
                idx,
                failure,
                object,
                block: message_of.map(|(b, _)| b),
            });
        }
    }
    read
}

pub(super) struct Block {
    pub(super) chain: usize,
    pub(super) frames: Vec<Frame>,
    /// Index of the exception line that ends the block.
    pub(super) exception: Option<usize>,
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

pub(super) struct Frame {
    pub(super) path: String,
    pub(super) func: String,
    pub(super) code: Option<String>,
}

pub(super) struct Exception {
    pub(super) idx: usize,
    pub(super) block: usize,
    pub(super) class: String,
    pub(super) message: String,
}

pub(super) struct LoaderHit {
    pub(super) idx: usize,
    pub(super) failure: Failure,
    pub(super) object: Option<String>,
    pub(super) block: Option<usize>,
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

pub(super) fn exception_message_is_empty(line: &Line) -> bool {
    parse_exception(line.content()).is_some_and(|(_, m)| m.is_empty())
}

/// Whether an exception that is not a loader message still tells of a
/// failed import.
pub(super) fn is_import_failure(class: &str, message: &str) -> bool {
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
pub(super) fn other_message(lines: &[Line], exc: &Exception) -> String {
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
pub(super) fn module_from_message(message: &str) -> Option<String> {
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
