//! Which calls load a library — `ctypes.CDLL`, `PyDLL`,
//! `cdll.LoadLibrary`, `ctypes.util.find_library`, cffi's `ffi.dlopen`, a
//! wrapper of one found in another module — and what each may load.

use std::collections::HashSet;
use std::rc::Rc;

use rustpython_ruff_python_ast::Expr;
use rustpython_ruff_text_size::{Ranged, TextRange};

use super::scope::{Binding, Scope};
use super::values::Val;
use super::{Candidate, Frame, LoadCall, ModuleEval, Via, Wrapper, tail_name};

/// The names of the calls that load, and cffi's `FFI` (whose instances
/// do).
const LOADERS: [&str; 6] = [
    "CDLL",
    "PyDLL",
    "LoadLibrary",
    "find_library",
    "dlopen",
    "FFI",
];

/// Whether the code `text` names a loader (or `ctypes.cdll`, whose
/// `LoadLibrary` loads).
fn mentions_loader(text: &str) -> bool {
    LOADERS.iter().any(|l| text.contains(l)) || text.contains("cdll")
}

/// Whether a module whose source is `source` can hold a load call at all,
/// known without parsing it: most files the scan reads name `ctypes` only
/// in passing (48 of the apps root's 74, 1.6 of its 2.2 MB: numpy's), and
/// parsing them was most of the analysis.
///
/// Exact, not a guess: a call is a load only when the last name of its
/// callee is one of `loadish_names`, and each of those is written in the
/// source — a loader or a wrapper by its name, a name bound to an
/// expression that mentions one, a name imported as a loader or a
/// wrapper. Python (and the parser) read identifiers NFKC-normalised, so
/// `ＣＤＬＬ` is `CDLL`: the words a non-ASCII source holds are looked at
/// normalised too (a source was parsed for any non-ASCII letter before,
/// and scipy's 400 kB `_continuous_distns.py`, with six accented letters
/// in its docstrings, was 40 % of a scan's parsing).
pub(super) fn may_call_loader(source: &str, wrappers: &[Wrapper]) -> bool {
    let named = |text: &str| {
        mentions_loader(text) || wrappers.iter().any(|w| text.contains(w.function.as_str()))
    };
    named(source) || (!source.is_ascii() && super::normalised_word_where(source, &named))
}

/// Which argument of a load call names the library.
enum ArgSpec {
    /// The first (or `name=`).
    Name,
    /// A wrapper's parameter; `finds`: it goes through `find_library`.
    Param {
        name: String,
        index: usize,
        finds: bool,
    },
}

impl<'a> ModuleEval<'a> {
    pub(super) fn load_calls(&self) -> Vec<LoadCall> {
        let loadish = self.loadish_names();
        let mut out = Vec::new();
        for site in &self.calls {
            // Only calls whose callee is, or may be bound to, a loader
            // are followed: a large module has thousands of other calls.
            if !tail_name(&site.call.func).is_some_and(|n| loadish.contains(n)) {
                continue;
            }
            let frame = Frame {
                func: site.within,
                args: None,
            };
            let Some((via, spec)) = self.load_kind(&site.call.func, &frame) else {
                continue;
            };
            let arg = match &spec {
                ArgSpec::Name => site.call.arguments.args.first().or_else(|| {
                    site.call
                        .arguments
                        .keywords
                        .iter()
                        .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "name"))
                        .map(|k| &k.value)
                }),
                ArgSpec::Param { name, index, .. } => {
                    site.call.arguments.args.get(*index).or_else(|| {
                        site.call
                            .arguments
                            .keywords
                            .iter()
                            .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == name))
                            .map(|k| &k.value)
                    })
                }
            };
            let finds = matches!(spec, ArgSpec::Param { finds: true, .. });
            let mut candidates = Vec::new();
            let mut unknown = None;
            let mut input = None;
            match arg {
                None if finds => continue,
                None => candidates.push(Candidate::Program),
                Some(arg) => {
                    for v in self.eval(arg, &frame) {
                        match v {
                            Val::Str(s) if finds => candidates.push(Candidate::FoundBy(s)),
                            Val::Str(s) => candidates.push(Candidate::Name(s)),
                            Val::Found(n) => candidates.push(Candidate::FoundBy(n)),
                            Val::None => candidates.push(Candidate::Program),
                            Val::Input(p) => input = Some(p),
                            _ => unknown = Some(self.text_of(arg.range())),
                        }
                    }
                }
            }
            // A load of whatever the function's caller names: the function
            // is a loader of its own, when it is a module-level one.
            let wrapper = input.and_then(|param| {
                let f = site.within.filter(|f| f.class.is_none())?;
                let index = f
                    .def
                    .parameters
                    .posonlyargs
                    .iter()
                    .chain(&f.def.parameters.args)
                    .position(|p| p.parameter.name.as_str() == param)?;
                Some(Wrapper {
                    path: self.path.to_string(),
                    function: f.def.name.to_string(),
                    param,
                    index,
                    via: if via == Via::FindLibrary {
                        Via::Ctypes
                    } else {
                        via
                    },
                    finds: via == Via::FindLibrary || self.arg_is_found(arg),
                })
            });
            candidates.sort();
            candidates.dedup();
            out.push(LoadCall {
                line: self.line_of(site.call.range.start().to_usize()),
                via,
                text: self.text_of(site.call.range),
                candidates,
                unknown,
                wrapper,
            });
        }
        out
    }

    /// Names a load call can be made through: the loaders' own names, and
    /// every name this module binds by importing one of them or to an
    /// expression that mentions one (`lib_type = ctypes.WinDLL if nt else
    /// ctypes.CDLL`, `ffi = FFI()`).
    fn loadish_names(&self) -> HashSet<&'a str> {
        let mut out: HashSet<&'a str> = HashSet::new();
        // (`FFI` is not called to load: its instances are.)
        out.extend(LOADERS.iter().filter(|&&l| l != "FFI"));
        out.extend(self.shared.wrappers.iter().map(|w| w.function.as_str()));
        let mut scopes: Vec<Rc<Scope<'a>>> = vec![Rc::new(self.globals.clone())];
        scopes.extend(self.funcs.iter().map(|f| self.locals_of(*f)));
        for scope in scopes {
            for (name, bs) in scope.iter() {
                let mentions = bs.iter().any(|b| match b.b {
                    Binding::Value(e) => {
                        let r = e.range();
                        let text = self
                            .source
                            .get(r.start().to_usize()..r.end().to_usize())
                            .unwrap_or("");
                        mentions_loader(text)
                    }
                    Binding::Import { name: Some(n), .. } => {
                        LOADERS.contains(&n) || self.shared.wrappers.iter().any(|w| w.function == n)
                    }
                    _ => false,
                });
                if mentions {
                    out.insert(name);
                }
            }
        }
        out
    }

    /// Whether the argument of a wrapper's load is a `find_library`
    /// result of its parameter (`CDLL(find_library(name))`).
    fn arg_is_found(&self, arg: Option<&'a Expr>) -> bool {
        let Some(Expr::Call(c)) = arg else {
            return false;
        };
        tail_name(&c.func) == Some("find_library")
    }

    /// Whether calling `func` loads a library, how, and which argument
    /// names it.
    fn load_kind(&self, func: &'a Expr, frame: &Frame<'a>) -> Option<(Via, ArgSpec)> {
        for v in self.eval(func, frame) {
            if let Val::Extern { path, name } = &v
                && let Some(w) = self
                    .shared
                    .wrappers
                    .iter()
                    .find(|w| &w.path == path && &w.function == name)
            {
                return Some((
                    w.via,
                    ArgSpec::Param {
                        name: w.param.clone(),
                        index: w.index,
                        finds: w.finds,
                    },
                ));
            }
            let q = match &v {
                Val::Qual(q) => q.as_str(),
                // `ffi.dlopen` of an `ffi` another module of the package
                // made (cffi's generated out-of-line modules).
                Val::Extern { name, .. } => name.as_str(),
                _ => continue,
            };
            match q {
                "ctypes.util.find_library" => return Some((Via::FindLibrary, ArgSpec::Name)),
                "ctypes.CDLL"
                | "ctypes.PyDLL"
                | "ctypes.cdll.LoadLibrary"
                | "ctypes.pydll.LoadLibrary"
                | "ctypes.CDLL.__init__" => return Some((Via::Ctypes, ArgSpec::Name)),
                "cffi.FFI.dlopen" => return Some((Via::Cffi, ArgSpec::Name)),
                _ => {}
            }
            // An `ffi` object made elsewhere (a compiled cffi module's
            // `from _mod import ffi`): known by its name.
            if let Some(owner) = q.strip_suffix(".dlopen")
                && owner
                    .rsplit('.')
                    .next()
                    .is_some_and(|o| o.to_ascii_lowercase().contains("ffi"))
            {
                return Some((Via::Cffi, ArgSpec::Name));
            }
        }
        None
    }

    /// 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> u32 {
        let upto = self.source.get(..offset).unwrap_or(self.source);
        u32::try_from(upto.bytes().filter(|&b| b == b'\n').count() + 1).unwrap_or(u32::MAX)
    }

    /// The code at `range` as a call is shown: its first line, cut at 100
    /// characters, `…` when anything is left out.
    fn text_of(&self, range: TextRange) -> String {
        let s = self
            .source
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("");
        let first = s.lines().next().unwrap_or("").trim_end();
        let mut t: String = first.chars().take(100).collect();
        if t.len() < s.trim_end().len() {
            t.push('…');
        }
        t
    }
}
