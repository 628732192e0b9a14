//! One line of the text as it is read: without ANSI escapes and CR,
//! bounded in length, its content past the prefixes container logs add.

/// How much of one line is looked at.
const MAX_SCAN: usize = 16 * 1024;
/// How much of one line a finding keeps.
pub(super) const MAX_TEXT: usize = 2048;

pub(super) struct Line {
    /// Without ANSI escapes and CR, at most [`MAX_SCAN`] bytes.
    pub(super) clean: String,
    /// Where the content starts after a log prefix (timestamps, CRI stream
    /// tags, `service | `).
    start: usize,
}

impl Line {
    pub(super) fn new(raw: &str) -> Line {
        let raw = prefix_of(raw, MAX_SCAN * 4);
        let mut clean = strip_ansi(raw);
        clean.truncate(floor_boundary(&clean, MAX_SCAN));
        let start = log_prefix_len(&clean);
        Line { clean, start }
    }

    pub(super) fn content(&self) -> &str {
        self.clean.get(self.start..).unwrap_or("")
    }
}

/// The largest char boundary of `s` at or below `at`.
pub(super) fn floor_boundary(s: &str, at: usize) -> usize {
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
pub(super) fn ceil_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn prefix_of(s: &str, max: usize) -> &str {
    &s[..floor_boundary(s, max)]
}

pub(super) fn clip(s: &str) -> &str {
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
