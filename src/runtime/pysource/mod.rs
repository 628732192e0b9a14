//! Libraries Python code loads at run time, read from its source.
//!
//! A package that reaches native code through `ctypes` or cffi names its
//! library in Python: `ctypes.CDLL("libmagic.so.1")`,
//! `ctypes.util.find_library("pq")`, `ffi.dlopen(name)` with `name` taken
//! from a module constant, a tuple of candidates, a loop over them or a
//! small helper function. The loader never sees these names in any
//! DT_NEEDED, so they are read here: each module is parsed with a real
//! Python parser (ruff's, as RustPython publishes it), and a small
//! evaluator follows the argument of every such call back through the
//! module — constants, tuples and lists, `for` loops, f-strings, `+`, `%`
//! and `str.format`, `os.path.join`, the helper functions of the module
//! (their parameters bound at their call sites and defaults), functions
//! imported from modules of the same package — with what Python would
//! know on Linux (`sys.platform == "linux"`, `os.name == "posix"`,
//! `platform.system() == "Linux"`), so that branches for other systems are
//! left out. What it cannot follow is said, as the argument's source text.
//!
//! The module is walked once (`walker`) for its functions and call sites;
//! `scope` says what each name is bound to, `flow` which statements can
//! run on Linux, `eval` and `calls` what an expression and a call may be
//! (`values` holds the symbolic values), `imports` follows names into the
//! other modules of the package (read and parsed once per scan: `cache`),
//! and `loads` tells which calls load a library and what they load.

mod cache;
mod calls;
mod eval;
mod flow;
mod imports;
mod loads;
mod scope;
mod values;
mod walker;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rustpython_ruff_python_ast as ast;
use rustpython_ruff_python_ast::Expr;
use serde::Serialize;

pub use cache::Cache;
use scope::{Scope, collect_bindings};
use values::Val;
use walker::Walker;

/// How a call loads a library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// `ctypes.util.find_library(name)`: on Linux, the first entry of
    /// `/sbin/ldconfig -p` named `lib<name>.…` (then `gcc` and `ld`, which
    /// an image does not have); it returns that soname, or `None`.
    FindLibrary,
    /// `ctypes.CDLL(name)`, `PyDLL`, `cdll.LoadLibrary(name)`: `dlopen`.
    Ctypes,
    /// cffi's `ffi.dlopen(name)`: `dlopen(name)`, then, for a name
    /// without a `/`, `dlopen(ctypes.util.find_library(name))`.
    Cffi,
}

/// One value the argument of a load may have.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Candidate {
    /// A name or a path, as written (or built) in the source.
    Name(String),
    /// What `ctypes.util.find_library(NAME)` returned.
    FoundBy(String),
    /// `None`: ctypes then opens the program itself; nothing to load.
    Program,
}

/// A function of a module that loads whatever library its caller names
/// (`def load(name): return ctypes.CDLL(find_library(name))`): its calls
/// elsewhere are loads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Wrapper {
    /// The module file.
    pub path: String,
    /// The module-level function.
    pub function: String,
    /// The parameter that becomes the library name, and its position.
    pub param: String,
    pub index: usize,
    pub via: Via,
    /// `find_library(param)` rather than the name itself.
    pub finds: bool,
}

/// A call that loads a library, and what its argument may be.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LoadCall {
    /// 1-based line of the call.
    pub line: u32,
    pub via: Via,
    /// The call as written (its first line, shortened).
    pub text: String,
    /// Every value the argument may have, sorted.
    pub candidates: Vec<Candidate>,
    /// The part of the argument that could not be followed, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// The argument is (partly) a parameter of the module-level function
    /// the call is in, which nothing in this module calls: that function
    /// is a loader of its own (its callers load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<Wrapper>,
}

/// Reads other modules of the same program, for `from .x import f`
/// (shared by the files of a scan analysed in parallel: [`Cache`]).
pub trait Sources: Sync {
    /// The source of the module file at `path` (inside the root), if any.
    fn read(&self, path: &str) -> Option<String>;
}

/// No other module can be read.
pub struct NoSources;
impl Sources for NoSources {
    fn read(&self, _: &str) -> Option<String> {
        None
    }
}

/// Every load call in the module at `path` whose source is `source`,
/// sorted by line. A module that does not parse is read as far as the
/// parser recovers.
pub fn load_calls(path: &str, source: &str, sources: &dyn Sources) -> Vec<LoadCall> {
    load_calls_with(path, source, sources, &[])
}

/// [`load_calls`], where calls to `wrappers` (found in other modules) are
/// loads too. The files of one scan share a [`Cache`] instead.
pub fn load_calls_with(
    path: &str,
    source: &str,
    sources: &dyn Sources,
    wrappers: &[Wrapper],
) -> Vec<LoadCall> {
    Cache::new(sources).load_calls(path, source, wrappers)
}

/// [`load_calls_with`], the other modules read through `cache`.
fn analyse(path: &str, source: &str, cache: &Cache<'_>, wrappers: &[Wrapper]) -> Vec<LoadCall> {
    if !loads::may_call_loader(source, wrappers) {
        return Vec::new();
    }
    let parsed =
        rustpython_ruff_python_parser::parse_unchecked_source(source, ast::PySourceType::Python);
    let shared = Shared {
        cache,
        wrappers,
        depth: std::cell::Cell::new(0),
    };
    let m = ModuleEval::new(&shared, path, source, parsed.syntax());
    let mut out = m.load_calls();
    out.sort();
    out.dedup();
    out
}

/// Whether a file's bytes can hold a load call at all: every way to load
/// a library names `ctypes`, `cffi` or `dlopen` in the file (an `ffi`
/// object imported from elsewhere is still called `.dlopen`).
///
/// Python reads identifiers NFKC-normalised (`import ｃｔｙｐｅｓ` imports
/// `ctypes`), so the words of a non-ASCII source are looked at as the
/// parser will read them too.
pub fn may_load(bytes: &[u8]) -> bool {
    // One SIMD pass for the three words (aho-corasick's packed searcher,
    // Teddy): a scan reads every `.py` of the scope (140 MB for the apps
    // root), and a byte-by-byte search took half the scan's time, a search
    // word by word or an automaton keyed on the first letters (`c`, `d`:
    // common ones) a fifth.
    const MARKS: [&str; 3] = ["ctypes", "cffi", "dlopen"];
    static SEARCHER: std::sync::LazyLock<Option<aho_corasick::packed::Searcher>> =
        std::sync::LazyLock::new(|| aho_corasick::packed::Searcher::new(MARKS));
    let marked = |b: &[u8]| match SEARCHER.as_ref() {
        Some(s) => s.find(b).is_some(),
        // No SIMD on this CPU: the portable automaton.
        None => aho_corasick::AhoCorasick::new(MARKS).is_ok_and(|a| a.is_match(b)),
    };
    marked(bytes)
        || (!bytes.is_ascii()
            && std::str::from_utf8(bytes)
                .is_ok_and(|s| normalised_word_where(s, &|w| marked(w.as_bytes()))))
}

/// Whether `hit` holds for the NFKC form of a word of `source` that the
/// normalisation changes: what a search of the text as written misses and
/// a search of the names as Python reads them finds.
///
/// A word is a run of ASCII letters, digits and `_` and of non-ASCII
/// characters: every identifier lies within one (its characters are all
/// of these), and NFKC changes only words holding a non-ASCII character.
/// Normalising those words alone, not the whole text, keeps the cost to
/// the few such words of a source (the whole of one 400 kB module with
/// six accented letters in its docstrings took 8 ms, more than parsing
/// it).
pub(super) fn normalised_word_where(source: &str, hit: &dyn Fn(&str) -> bool) -> bool {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
    let bytes = source.as_bytes();
    let in_word = |b: &u8| !b.is_ascii() || b.is_ascii_alphanumeric() || *b == b'_';
    let mut from = 0;
    while let Some(at) = bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|b| !b.is_ascii()))
        .map(|i| from + i)
    {
        // Both ends sit at an ASCII byte or an end of the text: char
        // boundaries.
        let start = bytes
            .get(..at)
            .and_then(|before| before.iter().rposition(|b| !in_word(b)))
            .map_or(0, |i| i + 1);
        let end = bytes
            .get(at..)
            .and_then(|after| after.iter().position(|b| !in_word(b)))
            .map_or(bytes.len(), |i| at + i);
        let word = source.get(start..end).unwrap_or_default();
        // A word NFKC leaves as it is was searched as written.
        if is_nfkc_quick(word.chars()) != IsNormalized::Yes && hit(&word.nfkc().collect::<String>())
        {
            return true;
        }
        from = end.max(at + 1);
    }
    false
}

/// Values are sets of alternatives; these bound the work on hostile or
/// merely large sources.
const MAX_ALTERNATIVES: usize = 64;
const MAX_DEPTH: u32 = 12;
/// Modules followed through imports, one inside the other.
const MAX_MODULE_DEPTH: u32 = 3;
/// Evaluation steps per module (a real module needs a few thousand).
const FUEL: u32 = 200_000;

/// What every module evaluated for one scan of a file shares: the other
/// modules, the wrappers known, how deep imports are followed.
struct Shared<'s> {
    cache: &'s Cache<'s>,
    wrappers: &'s [Wrapper],
    /// Nesting of modules evaluated for imports.
    depth: std::cell::Cell<u32>,
}

/// A function defined in the module, with the class it is a method of.
#[derive(Clone, Copy)]
struct FuncRef<'a> {
    def: &'a ast::StmtFunctionDef,
    class: Option<&'a ast::StmtClassDef>,
}

impl PartialEq for FuncRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.def, other.def)
    }
}

/// Where an expression is evaluated: in a function (with its parameters
/// bound to values when it was called from a known place) or at module
/// level.
#[derive(Clone)]
struct Frame<'a> {
    func: Option<FuncRef<'a>>,
    args: Option<Rc<HashMap<String, Vec<Val<'a>>>>>,
}

impl Frame<'_> {
    fn module() -> Self {
        Frame {
            func: None,
            args: None,
        }
    }
}

/// A call site of a module function, for binding its parameters.
#[derive(Clone, Copy)]
struct Site<'a> {
    call: &'a ast::ExprCall,
    /// The function the call is in.
    within: Option<FuncRef<'a>>,
}

/// One module being evaluated: its names, functions and call sites, and
/// the state that bounds the work on it.
struct ModuleEval<'a> {
    shared: &'a Shared<'a>,
    path: &'a str,
    source: &'a str,
    globals: Scope<'a>,
    /// Every function of the module (methods too), in source order.
    funcs: Vec<FuncRef<'a>>,
    locals: std::cell::RefCell<HashMap<usize, Rc<Scope<'a>>>>,
    /// Calls by the last component of their callee (`f(…)`, `x.f(…)`).
    calls_by_name: HashMap<&'a str, Vec<Site<'a>>>,
    /// Every call, with the function it is in.
    calls: Vec<Site<'a>>,
    /// (function, parameter) being evaluated: recursion stops there.
    busy: std::cell::RefCell<HashSet<(usize, String)>>,
    /// Values of parameters found at call sites, once per parameter.
    params: std::cell::RefCell<HashMap<(usize, String), Vec<Val<'a>>>>,
    depth: std::cell::Cell<u32>,
    /// Evaluation steps left for this module: a source built to make the
    /// evaluator explode gets "unknown" instead of a hang.
    fuel: std::cell::Cell<u32>,
    /// Deciding `if` tests while the module is read: constants and
    /// imports only, no function is followed.
    quick: std::cell::Cell<bool>,
}

impl<'a> ModuleEval<'a> {
    fn new(
        shared: &'a Shared<'a>,
        path: &'a str,
        source: &'a str,
        module: &'a ast::ModModule,
    ) -> Self {
        let mut m = ModuleEval {
            shared,
            path,
            source,
            globals: HashMap::new(),
            funcs: Vec::new(),
            locals: Default::default(),
            calls_by_name: HashMap::new(),
            calls: Vec::new(),
            busy: Default::default(),
            params: Default::default(),
            depth: std::cell::Cell::new(0),
            fuel: std::cell::Cell::new(FUEL),
            quick: std::cell::Cell::new(false),
        };
        // Names first as if every branch ran; then again without the
        // branches for other systems, which those names tell apart.
        let mut globals = HashMap::new();
        collect_bindings(&module.body, &mut globals, None);
        m.globals = globals;
        let mut pruned = HashMap::new();
        {
            let prune = |t: &'a Expr| m.quick_truth(t, &Frame::module());
            collect_bindings(&module.body, &mut pruned, Some(&prune));
        }
        m.globals = pruned;
        // Platform conditions need the globals; branches for other
        // systems are left out of everything below.
        let mut walker = Walker {
            m: &m,
            within: None,
            class: None,
            funcs: Vec::new(),
            calls: Vec::new(),
        };
        walker.block(&module.body);
        let (funcs, calls) = (walker.funcs, walker.calls);
        for site in &calls {
            if let Some(name) = tail_name(&site.call.func) {
                m.calls_by_name.entry(name).or_default().push(*site);
            }
        }
        m.funcs = funcs;
        m.calls = calls;
        m
    }
}

/// The last component of a callee: `f` of `f(…)` and of `x.y.f(…)`.
fn tail_name(func: &Expr) -> Option<&str> {
    match func {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
