//! Symbolic values — every alternative a Python expression may have — and
//! what Python does with constants: truth, comparison, `+`, `%`,
//! `os.path.join`.

use rustpython_ruff_python_ast as ast;

use super::{FuncRef, MAX_ALTERNATIVES};

/// A symbolic value.
#[derive(Clone, PartialEq)]
pub(super) enum Val<'a> {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    /// The result of `find_library(name)`.
    Found(String),
    /// A module or a name in one: `ctypes.util.find_library`, `os.path`.
    Qual(String),
    /// An instance of the class with this qualified name (`cffi.FFI`).
    Inst(String),
    Func(FuncRef<'a>),
    Class(&'a ast::StmtClassDef),
    /// A name imported from another module of the program.
    Extern {
        path: String,
        name: String,
    },
    /// A method of a value: `"lib{}.so".format`, `sys.platform.startswith`.
    Bound(Box<Val<'a>>, String),
    /// Whatever the caller of a function passes for this parameter: no
    /// call in the module tells.
    Input(String),
    /// A tuple or list: the alternatives of each element.
    Seq(Vec<Vec<Val<'a>>>),
    Unknown,
}

/// Python's truth of a constant; `None` when it cannot be told.
pub(super) fn truth(v: &Val<'_>) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        Val::Str(s) => Some(!s.is_empty()),
        Val::Int(i) => Some(*i != 0),
        Val::None => Some(false),
        Val::Seq(items) => Some(!items.is_empty()),
        Val::Qual(_) | Val::Func(_) | Val::Class(_) | Val::Inst(_) => Some(true),
        _ => None,
    }
}

pub(super) fn compare_vals(l: &Val<'_>, op: ast::CmpOp, r: &Val<'_>) -> Option<bool> {
    use ast::CmpOp::*;
    let eq = match (l, r) {
        (Val::Str(a), Val::Str(b)) => Some(a == b),
        (Val::Int(a), Val::Int(b)) => Some(a == b),
        (Val::Bool(a), Val::Bool(b)) => Some(a == b),
        (Val::None, Val::None) => Some(true),
        (Val::None, Val::Str(_) | Val::Int(_) | Val::Bool(_) | Val::Seq(_))
        | (Val::Str(_) | Val::Int(_) | Val::Bool(_) | Val::Seq(_), Val::None) => Some(false),
        _ => None,
    };
    let contains = || match (l, r) {
        (Val::Str(a), Val::Str(b)) => Some(b.contains(a.as_str())),
        (x, Val::Seq(items)) => {
            let all: Vec<Option<bool>> = items
                .iter()
                .map(|alts| {
                    let hits: Vec<Option<bool>> =
                        alts.iter().map(|y| compare_vals(x, Eq, y)).collect();
                    if hits.iter().all(|h| *h == Some(true)) {
                        Some(true)
                    } else if hits.iter().all(|h| *h == Some(false)) {
                        Some(false)
                    } else {
                        None
                    }
                })
                .collect();
            if all.contains(&Some(true)) {
                Some(true)
            } else if all.iter().all(|a| *a == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    };
    match op {
        Eq | Is => eq,
        NotEq | IsNot => eq.map(|e| !e),
        In => contains(),
        NotIn => contains().map(|c| !c),
        Lt | LtE | Gt | GtE => match (l, r) {
            (Val::Int(a), Val::Int(b)) => Some(match op {
                Lt => a < b,
                LtE => a <= b,
                Gt => a > b,
                _ => a >= b,
            }),
            _ => None,
        },
    }
}

pub(super) fn as_text(v: &Val<'_>) -> Option<String> {
    match v {
        Val::Str(s) => Some(s.clone()),
        Val::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

pub(super) fn product(acc: &[String], parts: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for a in acc {
        for p in parts {
            if out.len() >= MAX_ALTERNATIVES {
                return out;
            }
            out.push(format!("{a}{p}"));
        }
    }
    out
}

/// `os.path.join` of alternatives: an absolute part restarts the path.
pub(super) fn join_paths<'a>(parts: &[Vec<Val<'a>>]) -> Vec<Val<'a>> {
    let mut acc: Vec<String> = vec![String::new()];
    for alts in parts {
        let texts: Option<Vec<String>> = alts.iter().map(as_text).collect();
        let Some(texts) = texts.filter(|t| !t.is_empty()) else {
            return vec![Val::Unknown];
        };
        let mut next = Vec::new();
        for a in &acc {
            for t in &texts {
                let joined = if t.starts_with('/') || a.is_empty() {
                    t.clone()
                } else if a.ends_with('/') {
                    format!("{a}{t}")
                } else {
                    format!("{a}/{t}")
                };
                next.push(joined);
            }
        }
        next.truncate(MAX_ALTERNATIVES);
        acc = next;
    }
    acc.into_iter().map(Val::Str).collect()
}

/// `"lib%s.so" % name`: `%s`, `%d` and `%%` only.
pub(super) fn percent_format(fmt: &str, values: &[String]) -> Option<String> {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut next = values.iter();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next()? {
            '%' => out.push('%'),
            's' | 'd' | 'i' => out.push_str(next.next()?),
            _ => return None,
        }
    }
    next.next().is_none().then_some(out)
}

pub(super) fn push_all<'a>(out: &mut Vec<Val<'a>>, vals: Vec<Val<'a>>) {
    for v in vals {
        if out.len() >= MAX_ALTERNATIVES {
            return;
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
}
