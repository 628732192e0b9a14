//! Messages of the loader — glibc's (`elf/dl-load.c`, `elf/dl-lookup.c`,
//! `elf/dl-version.c`, …), musl's and `ldd`'s — found anywhere on a line,
//! with the object each names.

use super::Failure;
use super::lines::{ceil_boundary, floor_boundary};
use super::packages::not_found_by_package;

/// How far back from a message a path is looked for.
const LOOKBACK: usize = 4096;

/// A failure and the object its message names.
type Named = (Failure, Option<String>);

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
pub(super) fn loader_failures(line: &str) -> Vec<Named> {
    let mut out = Vec::new();
    cannot_open(line, &mut out);
    version_not_found(line, &mut out);
    version_not_defined(line, &mut out);
    undefined_symbol(line, &mut out);
    wrong_class(line, &mut out);
    other_loader_errors(line, &mut out);
    musl_cannot_load(line, &mut out);
    musl_symbol_not_found(line, &mut out);
    if out.is_empty()
        && let Some(name) = not_found_by_package(line)
    {
        out.push((Failure::LibraryNotFound { library: name }, None));
    }
    ldd_not_found(line, &mut out);
    out
}

/// glibc: "[PROG: error while loading shared libraries: ][OBJ: ]NAME:
/// cannot open shared object file: ERRNO".
fn cannot_open(line: &str, out: &mut Vec<Named>) {
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
}

/// glibc: "LIB: version `V' not found (required by OBJ)", in any quotes.
fn version_not_found(line: &str, out: &mut Vec<Named>) {
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
}

/// glibc: "OBJ: symbol SYM version V not defined in file LIB with link time reference".
fn version_not_defined(line: &str, out: &mut Vec<Named>) {
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
}

/// glibc: "OBJ: undefined symbol: SYM".
fn undefined_symbol(line: &str, out: &mut Vec<Named>) {
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
}

/// glibc: "OBJ: wrong ELF class: ELFCLASS32".
fn wrong_class(line: &str, out: &mut Vec<Named>) {
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
}

/// glibc: "OBJ: MESSAGE" for the messages of [`OTHER_LOADER_ERRORS`].
fn other_loader_errors(line: &str, out: &mut Vec<Named>) {
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
}

/// musl: "Error loading shared library NAME: ERR (needed by OBJ)".
fn musl_cannot_load(line: &str, out: &mut Vec<Named>) {
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
}

/// musl: "Error relocating OBJ: SYM: symbol not found".
fn musl_symbol_not_found(line: &str, out: &mut Vec<Named>) {
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
}

/// ldd: "\tNAME => not found".
fn ldd_not_found(line: &str, out: &mut Vec<Named>) {
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
