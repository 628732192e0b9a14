//! The module a traceback was importing, from its frames: Cython's `init
//! X`, the import statements shown, the file a frame runs at module level.

use crate::python::module::{DottedName, dotted_name, is_identifier};

use super::traceback::{Block, Frame};

/// The module a traceback block was importing: innermost first, a Cython
/// `init X` frame, an import statement of a frame, or a frame running a
/// module's top level (`in <module>`) of a file under a Python library
/// directory.
pub(super) fn block_module(block: &Block) -> Option<String> {
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

/// The module a file is, when it lies under `site-packages`,
/// `dist-packages` or a `lib/pythonX.Y` directory.
fn path_module(path: &str) -> Option<DottedName> {
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
    let parts: Vec<&str> = stem.split('/').collect();
    let (file, dirs) = parts.split_last()?;
    // `__init__` straight in a library directory is no package, and no
    // module an application imports.
    if dirs.is_empty() && *file == "__init__" {
        return None;
    }
    dotted_name(dirs, file)
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
fn resolve_import(imp: &Import<'_>, own: Option<&DottedName>, outer: &[Frame]) -> Option<String> {
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
