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

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rustpython_ruff_python_ast as ast;
use rustpython_ruff_python_ast::visitor::{self, Visitor};
use rustpython_ruff_python_ast::{Expr, Stmt};
use rustpython_ruff_text_size::{Ranged, TextRange};
use serde::Serialize;

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

/// Reads other modules of the same program, for `from .x import f`.
pub trait Sources {
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
/// loads too.
pub fn load_calls_with(
    path: &str,
    source: &str,
    sources: &dyn Sources,
    wrappers: &[Wrapper],
) -> Vec<LoadCall> {
    let parsed =
        rustpython_ruff_python_parser::parse_unchecked_source(source, ast::PySourceType::Python);
    let shared = Shared {
        sources,
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
pub fn may_load(bytes: &[u8]) -> bool {
    // One SIMD pass for the three words (aho-corasick's packed searcher,
    // Teddy): a scan reads every `.py` of the scope (140 MB for the apps
    // root), and a byte-by-byte search took half the scan's time, a search
    // word by word or an automaton keyed on the first letters (`c`, `d`:
    // common ones) a fifth.
    const MARKS: [&str; 3] = ["ctypes", "cffi", "dlopen"];
    static SEARCHER: std::sync::LazyLock<Option<aho_corasick::packed::Searcher>> =
        std::sync::LazyLock::new(|| aho_corasick::packed::Searcher::new(MARKS));
    match SEARCHER.as_ref() {
        Some(s) => s.find(bytes).is_some(),
        // No SIMD on this CPU: the portable automaton.
        None => aho_corasick::AhoCorasick::new(MARKS).is_ok_and(|a| a.is_match(bytes)),
    }
}

/// Values are sets of alternatives; these bound the work on hostile or
/// merely large sources.
const MAX_ALTERNATIVES: usize = 64;
const MAX_DEPTH: u32 = 12;
/// Modules followed through imports, one inside the other.
const MAX_MODULE_DEPTH: u32 = 3;
/// Evaluation steps per module (a real module needs a few thousand).
const FUEL: u32 = 200_000;

struct Shared<'s> {
    sources: &'s dyn Sources,
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

/// A symbolic value.
#[derive(Clone, PartialEq)]
enum Val<'a> {
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

/// A binding and the offset in the source from where it holds.
#[derive(Clone, Copy)]
struct Bound<'a> {
    at: usize,
    b: Binding<'a>,
}

/// The names of one scope, each with every way it is bound.
type Scope<'a> = HashMap<&'a str, Vec<Bound<'a>>>;

/// Tells whether an `if` test is true on Linux, false, or cannot be told;
/// `None` keeps every branch.
type Prune<'p, 'a> = Option<&'p dyn Fn(&'a Expr) -> Option<bool>>;

/// What a name is bound to in a scope.
#[derive(Clone, Copy)]
enum Binding<'a> {
    Value(&'a Expr),
    /// A `for` target over this iterable.
    Iter(&'a Expr),
    Import {
        module: &'a str,
        /// `from module import name`; `None` for `import module`.
        name: Option<&'a str>,
        level: u32,
        /// `import a.b` binds `a`: the first component only.
        first_only: bool,
    },
    Func(&'a ast::StmtFunctionDef),
    Class(&'a ast::StmtClassDef),
    /// Bound in a way that cannot be followed (`with … as`, unpacking).
    Opaque,
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

    fn load_calls(&self) -> Vec<LoadCall> {
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
        const LOADERS: [&str; 6] = [
            "CDLL",
            "PyDLL",
            "LoadLibrary",
            "find_library",
            "dlopen",
            "FFI",
        ];
        let mut out: HashSet<&'a str> = HashSet::new();
        out.extend(["CDLL", "PyDLL", "LoadLibrary", "find_library", "dlopen"]);
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
                        LOADERS.iter().any(|l| text.contains(l)) || text.contains("cdll")
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

    /// `truth_of` as the module is read: no parameter is followed to its
    /// call sites and no function to its returns.
    fn quick_truth(&self, test: &'a Expr, frame: &Frame<'a>) -> Option<bool> {
        let was = self.quick.replace(true);
        let t = self.truth_of(test, frame);
        self.quick.set(was);
        t
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

    fn line_of(&self, offset: usize) -> u32 {
        let upto = self.source.get(..offset).unwrap_or(self.source);
        u32::try_from(upto.bytes().filter(|&b| b == b'\n').count() + 1).unwrap_or(u32::MAX)
    }

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

    // ----------------------------------------------------------- names

    fn locals_of(&self, f: FuncRef<'a>) -> Rc<Scope<'a>> {
        let key = f.def as *const _ as usize;
        if let Some(l) = self.locals.borrow().get(&key) {
            return l.clone();
        }
        // As for the globals: every branch first (what the tests below
        // look up while they are being decided), then the live ones.
        let mut all = HashMap::new();
        collect_bindings(&f.def.body, &mut all, None);
        self.locals.borrow_mut().insert(key, Rc::new(all));
        let frame = Frame {
            func: Some(f),
            args: None,
        };
        let mut live = HashMap::new();
        {
            let prune = |t: &'a Expr| self.quick_truth(t, &frame);
            collect_bindings(&f.def.body, &mut live, Some(&prune));
        }
        let rc = Rc::new(live);
        self.locals.borrow_mut().insert(key, rc.clone());
        rc
    }

    /// The values of `name` where it is used: at offset `at` of the
    /// source when known (a binding that comes later in the same scope is
    /// not seen there, unless nothing comes earlier: a loop).
    fn lookup(&self, name: &str, frame: &Frame<'a>, at: Option<usize>) -> Vec<Val<'a>> {
        if let Some(f) = frame.func {
            if is_param(f.def, name) {
                let mut vals = match &frame.args {
                    Some(args) => args
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| vec![Val::Unknown]),
                    None => self.param_values(f, name),
                };
                // A parameter the body assigns again before this use.
                if let (Some(at), Some(bs)) = (at, self.locals_of(f).get(name))
                    && bs.iter().any(|b| b.at <= at)
                {
                    let later: Vec<Binding<'a>> =
                        bs.iter().filter(|b| b.at <= at).map(|b| b.b).collect();
                    push_all(&mut vals, self.eval_bindings(name, &later, frame));
                }
                return vals;
            }
            let locals = self.locals_of(f);
            if let Some(bs) = locals.get(name) {
                return self.eval_bindings(name, &visible(bs, at), frame);
            }
        }
        match name {
            "__file__" => return vec![Val::Str(self.path.to_string())],
            "__name__" => return vec![Val::Unknown],
            _ => {}
        }
        if let Some(bs) = self.globals.get(name) {
            // A function reads a global as it is when the function runs.
            let at = if frame.func.is_none() { at } else { None };
            return self.eval_bindings(name, &visible(bs, at), &Frame::module());
        }
        match name {
            "str" | "bytes" | "len" | "bool" | "int" | "print" | "open" | "isinstance" => {
                vec![Val::Qual(format!("builtins.{name}"))]
            }
            _ => vec![Val::Unknown],
        }
    }

    fn eval_bindings(&self, name: &str, bs: &[Binding<'a>], frame: &Frame<'a>) -> Vec<Val<'a>> {
        let mut out = Vec::new();
        for b in bs {
            let vals = match *b {
                Binding::Value(e) => self.eval(e, frame),
                Binding::Iter(e) => self
                    .eval(e, frame)
                    .into_iter()
                    .flat_map(|v| match v {
                        Val::Seq(items) => items.into_iter().flatten().collect(),
                        _ => vec![Val::Unknown],
                    })
                    .collect(),
                Binding::Import {
                    module,
                    name: imported,
                    level,
                    first_only,
                } => vec![self.import(module, imported, level, first_only, name)],
                Binding::Func(def) => vec![Val::Func(FuncRef {
                    def,
                    class: frame.func.and_then(|f| f.class),
                })],
                Binding::Class(c) => vec![Val::Class(c)],
                Binding::Opaque => vec![Val::Unknown],
            };
            push_all(&mut out, vals);
        }
        if out.is_empty() {
            out.push(Val::Unknown);
        }
        out
    }

    /// What an import binds.
    fn import(
        &self,
        module: &str,
        name: Option<&str>,
        level: u32,
        first_only: bool,
        bound: &str,
    ) -> Val<'a> {
        if level == 0 && name.is_none() {
            // `import a.b` binds `a`; `import a.b as c` binds `a.b`.
            let m = if first_only {
                module.split('.').next().unwrap_or(module)
            } else {
                module
            };
            return Val::Qual(m.to_string());
        }
        if let Some(path) = self.module_path(module, level) {
            return match name {
                Some(n) => Val::Extern {
                    path,
                    name: n.to_string(),
                },
                None => Val::Unknown,
            };
        }
        match name {
            Some(n) if level == 0 => Val::Qual(format!("{module}.{n}")),
            _ => Val::Qual(format!("?.{bound}")),
        }
    }

    /// The file of a module of this program, relative (`from .misc`) or
    /// absolute within this module's package tree.
    fn module_path(&self, module: &str, level: u32) -> Option<String> {
        let dir = self.path.rsplit_once('/').map_or("", |(d, _)| d);
        let base = if level > 0 {
            let mut d = dir.to_string();
            for _ in 1..level {
                d = d.rsplit_once('/').map(|(p, _)| p.to_string())?;
            }
            d
        } else {
            // The directory on sys.path: above the outermost package
            // (directory with __init__.py) holding this module.
            let top = module.split('.').next()?;
            let mut d = dir.to_string();
            loop {
                if d.rsplit('/').next() == Some(top) {
                    break d.rsplit_once('/').map(|(p, _)| p.to_string())?;
                }
                d = d.rsplit_once('/').map(|(p, _)| p.to_string())?;
                if d.is_empty() {
                    return None;
                }
            }
        };
        let rel = module.replace('.', "/");
        let stem = if rel.is_empty() {
            base
        } else {
            format!("{base}/{rel}")
        };
        [format!("{stem}.py"), format!("{stem}/__init__.py")]
            .into_iter()
            .find(|p| p != self.path && self.shared.sources.read(p).is_some())
    }

    /// Values of a parameter of `f` when nothing bound it: the arguments
    /// at its call sites in this module, and its default.
    fn param_values(&self, f: FuncRef<'a>, name: &str) -> Vec<Val<'a>> {
        if self.quick.get() {
            return vec![Val::Unknown];
        }
        let key = (f.def as *const _ as usize, name.to_string());
        if let Some(v) = self.params.borrow().get(&key) {
            return v.clone();
        }
        if !self.busy.borrow_mut().insert(key.clone()) {
            return vec![Val::Unknown];
        }
        let mut out = Vec::new();
        let fname = f.def.name.as_str();
        for site in self.calls_by_name.get(fname).into_iter().flatten() {
            let frame = Frame {
                func: site.within,
                args: None,
            };
            if !self
                .eval(&site.call.func, &frame)
                .iter()
                .any(|v| matches!(v, Val::Func(g) if g == &f))
            {
                continue;
            }
            let bound = self.bind(f, site.call, &frame, is_method_call(&site.call.func));
            push_all(
                &mut out,
                bound
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| vec![Val::Unknown]),
            );
        }
        if out.is_empty() {
            // Never called here: whatever a caller elsewhere passes, or
            // its default.
            out = vec![Val::Input(name.to_string())];
            if let Some(d) = self.default_of(f, name) {
                push_all(&mut out, self.eval(d, &Frame::module()));
            }
        }
        self.busy.borrow_mut().remove(&key);
        self.params.borrow_mut().insert(key, out.clone());
        out
    }

    fn default_of(&self, f: FuncRef<'a>, name: &str) -> Option<&'a Expr> {
        let p = &f.def.parameters;
        p.posonlyargs
            .iter()
            .chain(&p.args)
            .chain(&p.kwonlyargs)
            .find(|a| a.parameter.name.as_str() == name)
            .and_then(|a| a.default.as_deref())
    }

    /// The parameters of `f` bound to the arguments of `call`.
    fn bind(
        &self,
        f: FuncRef<'a>,
        call: &'a ast::ExprCall,
        frame: &Frame<'a>,
        via_attribute: bool,
    ) -> HashMap<String, Vec<Val<'a>>> {
        let p = &f.def.parameters;
        let positional: Vec<&ast::ParameterWithDefault> =
            p.posonlyargs.iter().chain(&p.args).collect();
        // A method called on an instance or a class gets self/cls first.
        let skip = usize::from(
            via_attribute && f.class.is_some() && !is_static(f.def) && !positional.is_empty(),
        );
        let mut out: HashMap<String, Vec<Val<'a>>> = HashMap::new();
        for (a, param) in call.arguments.args.iter().zip(positional.iter().skip(skip)) {
            if matches!(a, Expr::Starred(_)) {
                break;
            }
            out.insert(param.parameter.name.to_string(), self.eval(a, frame));
        }
        for k in call.arguments.keywords.iter() {
            if let Some(arg) = &k.arg {
                out.insert(arg.to_string(), self.eval(&k.value, frame));
            }
        }
        for param in positional
            .iter()
            .chain(p.kwonlyargs.iter().collect::<Vec<_>>().iter())
        {
            let n = param.parameter.name.to_string();
            if let std::collections::hash_map::Entry::Vacant(e) = out.entry(n) {
                e.insert(
                    param
                        .default
                        .as_deref()
                        .map(|d| self.eval(d, &Frame::module()))
                        .unwrap_or_else(|| vec![Val::Unknown]),
                );
            }
        }
        out
    }

    /// What calling `f` with `call`'s arguments returns.
    fn call_func(
        &self,
        f: FuncRef<'a>,
        call: &'a ast::ExprCall,
        frame: &Frame<'a>,
    ) -> Vec<Val<'a>> {
        let args = Rc::new(self.bind(f, call, frame, is_method_call(&call.func)));
        let inner = Frame {
            func: Some(f),
            args: Some(args),
        };
        if let Some(items) = self.generated(f, &inner) {
            return vec![items];
        }
        let returns = self.returns(f, &inner);
        let mut out = Vec::new();
        for r in returns {
            match r {
                Some(e) => push_all(&mut out, self.eval(e, &inner)),
                None => push_all(&mut out, vec![Val::None]),
            }
        }
        if out.is_empty() {
            out.push(Val::None);
        }
        out
    }

    /// What calling the function `name` of another module returns, with
    /// arguments evaluated here (only plain values cross).
    fn call_extern(&self, path: &str, name: &str, args: Vec<Vec<Val<'a>>>) -> Vec<Val<'a>> {
        let shared = self.shared;
        if shared.depth.get() >= MAX_MODULE_DEPTH {
            return vec![Val::Unknown];
        }
        let Some(source) = shared.sources.read(path) else {
            return vec![Val::Unknown];
        };
        shared.depth.set(shared.depth.get() + 1);
        let parsed = rustpython_ruff_python_parser::parse_unchecked_source(
            &source,
            ast::PySourceType::Python,
        );
        let other = ModuleEval::new(shared, path, &source, parsed.syntax());
        let plain: Vec<Vec<PlainVal>> = args
            .into_iter()
            .map(|alts| alts.into_iter().map(PlainVal::from).collect())
            .collect();
        let got = other.call_named(name, plain);
        shared.depth.set(shared.depth.get() - 1);
        got.into_iter().map(PlainVal::into_val).collect()
    }

    /// The module-level `name` called with `args`, or its value when
    /// `args` is `None`.
    fn call_named(&self, name: &str, args: Vec<Vec<PlainVal>>) -> Vec<PlainVal> {
        let vals = self.lookup(name, &Frame::module(), None);
        let mut out = Vec::new();
        for v in vals {
            match v {
                Val::Func(f) => {
                    let p = &f.def.parameters;
                    let mut bound: HashMap<String, Vec<Val<'a>>> = HashMap::new();
                    for (param, a) in p.posonlyargs.iter().chain(&p.args).zip(&args) {
                        bound.insert(
                            param.parameter.name.to_string(),
                            a.iter().cloned().map(PlainVal::into_val).collect(),
                        );
                    }
                    for param in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
                        let n = param.parameter.name.to_string();
                        if let std::collections::hash_map::Entry::Vacant(e) = bound.entry(n) {
                            e.insert(
                                param
                                    .default
                                    .as_deref()
                                    .map(|d| self.eval(d, &Frame::module()))
                                    .unwrap_or_else(|| vec![Val::Unknown]),
                            );
                        }
                    }
                    let inner = Frame {
                        func: Some(f),
                        args: Some(Rc::new(bound)),
                    };
                    let returns = self.returns(f, &inner);
                    for r in returns {
                        let vs = match r {
                            Some(e) => self.eval(e, &inner),
                            None => vec![Val::None],
                        };
                        out.extend(vs.into_iter().map(PlainVal::from));
                    }
                }
                other => out.push(PlainVal::from(other)),
            }
        }
        out.truncate(MAX_ALTERNATIVES);
        out
    }

    // ----------------------------------------------------------- values

    fn eval(&self, e: &'a Expr, frame: &Frame<'a>) -> Vec<Val<'a>> {
        if self.depth.get() >= MAX_DEPTH || self.fuel.get() == 0 {
            return vec![Val::Unknown];
        }
        self.fuel.set(self.fuel.get() - 1);
        self.depth.set(self.depth.get() + 1);
        let mut v = self.eval_inner(e, frame);
        self.depth.set(self.depth.get() - 1);
        v.truncate(MAX_ALTERNATIVES);
        if v.is_empty() {
            v.push(Val::Unknown);
        }
        v
    }

    fn eval_inner(&self, e: &'a Expr, frame: &Frame<'a>) -> Vec<Val<'a>> {
        match e {
            Expr::StringLiteral(s) => vec![Val::Str(s.value.to_str().to_string())],
            Expr::BytesLiteral(b) => {
                let bytes: Vec<u8> = b.value.bytes().collect();
                vec![Val::Str(String::from_utf8_lossy(&bytes).into_owned())]
            }
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => vec![i.as_i64().map_or(Val::Unknown, Val::Int)],
                _ => vec![Val::Unknown],
            },
            Expr::BooleanLiteral(b) => vec![Val::Bool(b.value)],
            Expr::NoneLiteral(_) => vec![Val::None],
            Expr::FString(f) => self.fstring(f, frame),
            Expr::Tuple(t) => vec![self.seq(t.elts.iter(), frame)],
            Expr::List(l) => vec![self.seq(l.elts.iter(), frame)],
            Expr::Set(s) => vec![self.seq(s.elts.iter(), frame)],
            Expr::Name(n) => self.lookup(n.id.as_str(), frame, Some(n.range.start().to_usize())),
            Expr::Named(n) => self.eval(&n.value, frame),
            Expr::Attribute(a) => {
                let attr = a.attr.as_str();
                let mut out = Vec::new();
                for v in self.eval(&a.value, frame) {
                    out.push(self.attribute(v, attr, frame));
                }
                out
            }
            Expr::Call(c) => self.call(c, frame),
            Expr::BoolOp(b) => self.bool_op(b, frame),
            Expr::Compare(c) => self.compare(c, frame),
            Expr::UnaryOp(u) => match u.op {
                ast::UnaryOp::Not => self
                    .eval(&u.operand, frame)
                    .into_iter()
                    .map(|v| match truth(&v) {
                        Some(t) => Val::Bool(!t),
                        None => Val::Unknown,
                    })
                    .collect(),
                _ => vec![Val::Unknown],
            },
            Expr::If(i) => match self.truth_of(&i.test, frame) {
                Some(true) => self.eval(&i.body, frame),
                Some(false) => self.eval(&i.orelse, frame),
                None => {
                    let mut out = self.eval(&i.body, frame);
                    push_all(&mut out, self.eval(&i.orelse, frame));
                    out
                }
            },
            Expr::BinOp(b) => self.bin_op(b, frame),
            Expr::Subscript(s) => {
                let index = self.eval(&s.slice, frame);
                let mut out = Vec::new();
                for v in self.eval(&s.value, frame) {
                    match (v, index.as_slice()) {
                        (Val::Seq(items), [Val::Int(i)]) => {
                            let at = if *i < 0 {
                                items.len().checked_sub(i.unsigned_abs() as usize)
                            } else {
                                usize::try_from(*i).ok()
                            };
                            match at.and_then(|at| items.get(at)) {
                                Some(alts) => push_all(&mut out, alts.clone()),
                                None => out.push(Val::Unknown),
                            }
                        }
                        _ => out.push(Val::Unknown),
                    }
                }
                out
            }
            _ => vec![Val::Unknown],
        }
    }

    fn seq<'e>(&self, elts: impl Iterator<Item = &'a Expr>, frame: &Frame<'a>) -> Val<'a> {
        let mut items = Vec::new();
        for e in elts {
            if let Expr::Starred(s) = e {
                // `(*A, "b")`: the elements of A.
                for v in self.eval(&s.value, frame) {
                    match v {
                        Val::Seq(inner) => items.extend(inner),
                        _ => items.push(vec![Val::Unknown]),
                    }
                }
                continue;
            }
            items.push(self.eval(e, frame));
        }
        Val::Seq(items)
    }

    fn fstring(&self, f: &'a ast::ExprFString, frame: &Frame<'a>) -> Vec<Val<'a>> {
        let mut acc: Vec<String> = vec![String::new()];
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => {
                    for s in &mut acc {
                        s.push_str(l.as_str());
                    }
                }
                ast::FStringPart::FString(fs) => {
                    for el in fs.elements.iter() {
                        match el {
                            ast::InterpolatedStringElement::Literal(l) => {
                                for s in &mut acc {
                                    s.push_str(&l.value);
                                }
                            }
                            ast::InterpolatedStringElement::Interpolation(i) => {
                                if i.format_spec.is_some() {
                                    return vec![Val::Unknown];
                                }
                                let parts: Vec<String> = self
                                    .eval(&i.expression, frame)
                                    .into_iter()
                                    .map(|v| as_text(&v))
                                    .collect::<Option<Vec<_>>>()
                                    .unwrap_or_default();
                                if parts.is_empty() {
                                    return vec![Val::Unknown];
                                }
                                acc = product(&acc, &parts);
                            }
                        }
                    }
                }
            }
        }
        acc.into_iter().map(Val::Str).collect()
    }

    fn attribute(&self, v: Val<'a>, attr: &str, frame: &Frame<'a>) -> Val<'a> {
        match v {
            Val::Qual(q) => {
                let full = format!("{q}.{attr}");
                match full.as_str() {
                    // What Python knows on Linux.
                    "sys.platform" => Val::Str("linux".into()),
                    "os.name" => Val::Str("posix".into()),
                    "os.sep" => Val::Str("/".into()),
                    "os.pathsep" => Val::Str(":".into()),
                    _ => Val::Qual(full),
                }
            }
            Val::Inst(c) => Val::Qual(format!("{c}.{attr}")),
            Val::Class(c) => self.class_member(c, attr),
            Val::Str(_) => Val::Bound(Box::new(v), attr.to_string()),
            Val::Extern { path, name } => Val::Extern {
                path,
                name: format!("{name}.{attr}"),
            },
            Val::Unknown | Val::Input(_) => {
                // `self.method` / `cls.method` inside a class.
                if let Some(c) = frame.func.and_then(|f| f.class) {
                    return self.class_member(c, attr);
                }
                Val::Unknown
            }
            _ => Val::Unknown,
        }
    }

    fn class_member(&self, c: &'a ast::StmtClassDef, attr: &str) -> Val<'a> {
        for s in &c.body {
            match s {
                Stmt::FunctionDef(f) if f.name.as_str() == attr => {
                    return Val::Func(FuncRef {
                        def: f,
                        class: Some(c),
                    });
                }
                Stmt::Assign(a)
                    if a.targets
                        .iter()
                        .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == attr)) =>
                {
                    return self
                        .eval(&a.value, &Frame::module())
                        .into_iter()
                        .next()
                        .unwrap_or(Val::Unknown);
                }
                _ => {}
            }
        }
        Val::Unknown
    }

    fn call(&self, c: &'a ast::ExprCall, frame: &Frame<'a>) -> Vec<Val<'a>> {
        let args = &c.arguments.args;
        let arg = |i: usize| -> Vec<Val<'a>> {
            args.get(i)
                .map(|a| self.eval(a, frame))
                .unwrap_or_else(|| vec![Val::Unknown])
        };
        let keyword = |k: &str| -> Option<&'a Expr> {
            c.arguments
                .keywords
                .iter()
                .find(|kw| kw.arg.as_ref().is_some_and(|a| a.as_str() == k))
                .map(|kw| &kw.value)
        };
        let mut out = Vec::new();
        for callee in self.eval(&c.func, frame) {
            match callee {
                Val::Qual(q) => match q.as_str() {
                    "ctypes.util.find_library" => {
                        for v in arg(0) {
                            out.push(match v {
                                Val::Str(s) => Val::Found(s),
                                // Whatever the caller names, found.
                                Val::Input(p) => Val::Input(p),
                                _ => Val::Unknown,
                            });
                        }
                    }
                    "os.path.join" | "posixpath.join" | "pathlib.Path" | "pathlib.PurePath"
                    | "pathlib.PosixPath" => {
                        let parts: Vec<Vec<Val<'a>>> = (0..args.len()).map(arg).collect();
                        push_all(&mut out, join_paths(&parts));
                    }
                    "os.path.dirname" | "posixpath.dirname" => {
                        for v in arg(0) {
                            out.push(match v {
                                Val::Str(s) => {
                                    Val::Str(s.rsplit_once('/').map_or("", |x| x.0).to_string())
                                }
                                _ => Val::Unknown,
                            });
                        }
                    }
                    "os.path.abspath" | "os.path.realpath" | "os.path.normpath" | "os.fspath"
                    | "os.fsdecode" => push_all(&mut out, arg(0)),
                    "builtins.str" => push_all(
                        &mut out,
                        arg(0)
                            .into_iter()
                            .map(|v| match v {
                                Val::Int(i) => Val::Str(i.to_string()),
                                other => other,
                            })
                            .collect(),
                    ),
                    "os.environ.get" | "os.getenv" => {
                        out.push(Val::Unknown);
                        if args.len() > 1 {
                            push_all(&mut out, arg(1));
                        } else if let Some(d) = keyword("default") {
                            push_all(&mut out, self.eval(d, frame));
                        }
                    }
                    "platform.system" => out.push(Val::Str("Linux".into())),
                    "cffi.FFI" => out.push(Val::Inst("cffi.FFI".into())),
                    _ => out.push(Val::Unknown),
                },
                Val::Bound(recv, method) => {
                    push_all(&mut out, self.method(*recv, &method, c, frame));
                }
                Val::Func(_) | Val::Extern { .. } if self.quick.get() => out.push(Val::Unknown),
                Val::Func(f) => {
                    let key = (f.def as *const _ as usize, String::from("()"));
                    if !self.busy.borrow_mut().insert(key.clone()) {
                        out.push(Val::Unknown);
                        continue;
                    }
                    push_all(&mut out, self.call_func(f, c, frame));
                    self.busy.borrow_mut().remove(&key);
                }
                Val::Extern { path, name } => {
                    let evaluated = (0..args.len()).map(arg).collect();
                    push_all(&mut out, self.call_extern(&path, &name, evaluated));
                }
                _ => out.push(Val::Unknown),
            }
        }
        out
    }

    /// A method of a string: what library names are built with.
    fn method(
        &self,
        recv: Val<'a>,
        method: &str,
        c: &'a ast::ExprCall,
        frame: &Frame<'a>,
    ) -> Vec<Val<'a>> {
        let Val::Str(s) = recv else {
            return vec![Val::Unknown];
        };
        let args: Vec<Vec<Val<'a>>> = c
            .arguments
            .args
            .iter()
            .map(|a| self.eval(a, frame))
            .collect();
        let texts = |i: usize| -> Vec<String> {
            args.get(i)
                .map(|alts| alts.iter().filter_map(as_text).collect())
                .unwrap_or_default()
        };
        match method {
            "startswith" | "endswith" => {
                let mut out = Vec::new();
                for v in args.first().into_iter().flatten() {
                    let prefixes: Vec<String> = match v {
                        Val::Str(p) => vec![p.clone()],
                        Val::Seq(items) => items
                            .iter()
                            .flatten()
                            .filter_map(|x| match x {
                                Val::Str(p) => Some(p.clone()),
                                _ => None,
                            })
                            .collect(),
                        _ => {
                            out.push(Val::Unknown);
                            continue;
                        }
                    };
                    let hit = prefixes.iter().any(|p| {
                        if method == "startswith" {
                            s.starts_with(p.as_str())
                        } else {
                            s.ends_with(p.as_str())
                        }
                    });
                    out.push(Val::Bool(hit));
                }
                out
            }
            "lower" => vec![Val::Str(s.to_lowercase())],
            "upper" => vec![Val::Str(s.to_uppercase())],
            "strip" if args.is_empty() => vec![Val::Str(s.trim().to_string())],
            "replace" => {
                let (from, to) = (texts(0), texts(1));
                let mut out = Vec::new();
                for f in &from {
                    for t in &to {
                        out.push(Val::Str(s.replace(f.as_str(), t)));
                    }
                }
                out
            }
            "format" => {
                // Positional `{}` and `{0}` fields only.
                let mut acc = vec![String::new()];
                let mut rest = s.as_str();
                let mut next = 0usize;
                while let Some(open) = rest.find('{') {
                    let Some(close) = rest[open..].find('}') else {
                        return vec![Val::Unknown];
                    };
                    for a in &mut acc {
                        a.push_str(&rest[..open]);
                    }
                    let field = &rest[open + 1..open + close];
                    let index = if field.is_empty() {
                        next += 1;
                        next - 1
                    } else {
                        match field.parse::<usize>() {
                            Ok(i) => i,
                            Err(_) => return vec![Val::Unknown],
                        }
                    };
                    let parts = texts(index);
                    if parts.is_empty() {
                        return vec![Val::Unknown];
                    }
                    acc = product(&acc, &parts);
                    rest = &rest[open + close + 1..];
                }
                for a in &mut acc {
                    a.push_str(rest);
                }
                acc.into_iter().map(Val::Str).collect()
            }
            _ => vec![Val::Unknown],
        }
    }

    /// `a or b`, `a and b`: every operand that may be the result. An
    /// operand Python would pass over (falsy for `or`, truthy for `and`)
    /// is the result only when it is the last.
    fn bool_op(&self, b: &'a ast::ExprBoolOp, frame: &Frame<'a>) -> Vec<Val<'a>> {
        let passes_over = |v: &Val<'a>| match b.op {
            ast::BoolOp::Or => truth(v) == Some(false),
            ast::BoolOp::And => truth(v) == Some(true),
        };
        let mut out = Vec::new();
        let n = b.values.len();
        for (i, e) in b.values.iter().enumerate() {
            let alts = self.eval(e, frame);
            let last = i + 1 == n;
            let decides = alts.iter().all(|v| !passes_over(v) && truth(v).is_some());
            push_all(
                &mut out,
                alts.into_iter()
                    .filter(|v| last || !passes_over(v))
                    .collect(),
            );
            if decides {
                break;
            }
        }
        out
    }

    fn compare(&self, c: &'a ast::ExprCompare, frame: &Frame<'a>) -> Vec<Val<'a>> {
        let mut left = self.eval(&c.left, frame);
        let mut result: Option<bool> = Some(true);
        for (op, right) in c.ops.iter().zip(c.comparators.iter()) {
            let right = self.eval(right, frame);
            let mut outcomes: Vec<Option<bool>> = Vec::new();
            for l in &left {
                for r in &right {
                    outcomes.push(compare_vals(l, *op, r));
                }
            }
            let this = if outcomes.iter().all(|o| *o == Some(true)) {
                Some(true)
            } else if outcomes.iter().all(|o| *o == Some(false)) {
                Some(false)
            } else {
                None
            };
            result = match (result, this) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            left = right;
        }
        vec![result.map_or(Val::Unknown, Val::Bool)]
    }

    fn bin_op(&self, b: &'a ast::ExprBinOp, frame: &Frame<'a>) -> Vec<Val<'a>> {
        let l = self.eval(&b.left, frame);
        let r = self.eval(&b.right, frame);
        match b.op {
            ast::Operator::Add => {
                let mut out = Vec::new();
                for x in &l {
                    for y in &r {
                        out.push(match (x, y) {
                            (Val::Str(a), Val::Str(b)) => Val::Str(format!("{a}{b}")),
                            (Val::Int(a), Val::Int(b)) => Val::Int(a.wrapping_add(*b)),
                            _ => Val::Unknown,
                        });
                    }
                }
                out
            }
            // A path built with `/` (pathlib).
            ast::Operator::Div => join_paths(&[l, r]),
            ast::Operator::Mod => {
                let mut out = Vec::new();
                for x in &l {
                    let Val::Str(fmt) = x else {
                        out.push(Val::Unknown);
                        continue;
                    };
                    for y in &r {
                        let values: Vec<String> = match y {
                            Val::Seq(items) => items
                                .iter()
                                .map(|alts| alts.first().and_then(as_text))
                                .collect::<Option<Vec<_>>>()
                                .unwrap_or_default(),
                            v => as_text(v).into_iter().collect(),
                        };
                        out.push(percent_format(fmt, &values).map_or(Val::Unknown, Val::Str));
                    }
                }
                out
            }
            _ => vec![Val::Unknown],
        }
    }

    /// What a generator function yields, as a sequence (`None` when `f`
    /// is not a generator).
    fn generated(&self, f: FuncRef<'a>, frame: &Frame<'a>) -> Option<Val<'a>> {
        let mut yields = Vec::new();
        let prune = |t: &'a Expr| self.truth_of(t, frame);
        collect_yields(&f.def.body, &mut yields, Some(&prune));
        if yields.is_empty() {
            return None;
        }
        let mut items = Vec::new();
        for (from, e) in yields {
            let vals = self.eval(e, frame);
            if from {
                for v in vals {
                    match v {
                        Val::Seq(inner) => items.extend(inner),
                        _ => items.push(vec![Val::Unknown]),
                    }
                }
            } else {
                items.push(vals);
            }
        }
        Some(Val::Seq(items))
    }

    /// The `return`s of `f` that can run on Linux with `frame`'s values.
    fn returns(&self, f: FuncRef<'a>, frame: &Frame<'a>) -> Vec<Option<&'a Expr>> {
        let mut out = Vec::new();
        let prune = |t: &'a Expr| self.truth_of(t, frame);
        collect_returns(&f.def.body, &mut out, Some(&prune));
        out
    }

    /// Whether `test` is true on Linux, false, or cannot be told.
    fn truth_of(&self, test: &'a Expr, frame: &Frame<'a>) -> Option<bool> {
        let vals = self.eval(test, frame);
        let t: Vec<Option<bool>> = vals.iter().map(truth).collect();
        if t.iter().all(|x| *x == Some(true)) {
            Some(true)
        } else if t.iter().all(|x| *x == Some(false)) {
            Some(false)
        } else {
            None
        }
    }
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

/// A value that can leave its module (no references into its AST).
#[derive(Clone)]
enum PlainVal {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    Found(String),
    Qual(String),
    Inst(String),
    Extern { path: String, name: String },
    Seq(Vec<Vec<PlainVal>>),
    Unknown,
}

impl From<Val<'_>> for PlainVal {
    fn from(v: Val<'_>) -> Self {
        match v {
            Val::Str(s) => PlainVal::Str(s),
            Val::Int(i) => PlainVal::Int(i),
            Val::Bool(b) => PlainVal::Bool(b),
            Val::None => PlainVal::None,
            Val::Found(s) => PlainVal::Found(s),
            Val::Qual(q) => PlainVal::Qual(q),
            Val::Inst(c) => PlainVal::Inst(c),
            Val::Extern { path, name } => PlainVal::Extern { path, name },
            Val::Seq(items) => PlainVal::Seq(
                items
                    .into_iter()
                    .map(|alts| alts.into_iter().map(PlainVal::from).collect())
                    .collect(),
            ),
            Val::Func(_) | Val::Class(_) | Val::Bound(..) | Val::Input(_) | Val::Unknown => {
                PlainVal::Unknown
            }
        }
    }
}

impl PlainVal {
    fn into_val<'a>(self) -> Val<'a> {
        match self {
            PlainVal::Str(s) => Val::Str(s),
            PlainVal::Int(i) => Val::Int(i),
            PlainVal::Bool(b) => Val::Bool(b),
            PlainVal::None => Val::None,
            PlainVal::Found(s) => Val::Found(s),
            PlainVal::Qual(q) => Val::Qual(q),
            PlainVal::Inst(c) => Val::Inst(c),
            PlainVal::Extern { path, name } => Val::Extern { path, name },
            PlainVal::Seq(items) => Val::Seq(
                items
                    .into_iter()
                    .map(|alts| alts.into_iter().map(PlainVal::into_val).collect())
                    .collect(),
            ),
            PlainVal::Unknown => Val::Unknown,
        }
    }
}

/// Python's truth of a constant; `None` when it cannot be told.
fn truth(v: &Val<'_>) -> Option<bool> {
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

fn compare_vals(l: &Val<'_>, op: ast::CmpOp, r: &Val<'_>) -> Option<bool> {
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

fn as_text(v: &Val<'_>) -> Option<String> {
    match v {
        Val::Str(s) => Some(s.clone()),
        Val::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn product(acc: &[String], parts: &[String]) -> Vec<String> {
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
fn join_paths<'a>(parts: &[Vec<Val<'a>>]) -> Vec<Val<'a>> {
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
fn percent_format(fmt: &str, values: &[String]) -> Option<String> {
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

fn push_all<'a>(out: &mut Vec<Val<'a>>, vals: Vec<Val<'a>>) {
    for v in vals {
        if out.len() >= MAX_ALTERNATIVES {
            return;
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
}

fn is_param(def: &ast::StmtFunctionDef, name: &str) -> bool {
    def.parameters.includes(name)
}

fn is_static(def: &ast::StmtFunctionDef) -> bool {
    def.decorator_list
        .iter()
        .any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"))
}

fn is_method_call(func: &Expr) -> bool {
    matches!(func, Expr::Attribute(_))
}

/// The last component of a callee: `f` of `f(…)` and of `x.y.f(…)`.
fn tail_name(func: &Expr) -> Option<&str> {
    match func {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

/// The bodies of an `if`/`elif`/`else` chain that can run: up to the
/// first branch true on Linux, without those false on Linux.
fn live_branches<'a>(i: &'a ast::StmtIf, prune: Prune<'_, 'a>) -> Vec<&'a [Stmt]> {
    let chain = std::iter::once((Some(&*i.test), i.body.as_slice())).chain(
        i.elif_else_clauses
            .iter()
            .map(|c| (c.test.as_ref(), c.body.as_slice())),
    );
    let mut out = Vec::new();
    for (test, body) in chain {
        let t = match (test, prune) {
            (None, _) => Some(true),
            (Some(t), Some(p)) => p(t),
            (Some(_), None) => None,
        };
        match t {
            Some(false) => continue,
            Some(true) => {
                out.push(body);
                break;
            }
            None => out.push(body),
        }
    }
    out
}

/// Whether a statement never lets control reach the next one on Linux: a
/// `return` or `raise`, or an `if` chain whose branches that can run all
/// end so and one of which always runs.
fn terminates<'a>(s: &'a Stmt, prune: Prune<'_, 'a>) -> bool {
    match s {
        Stmt::Return(_) | Stmt::Raise(_) => true,
        Stmt::If(i) => {
            let Some(p) = prune else {
                return false;
            };
            let chain = std::iter::once(Some(&*i.test))
                .chain(i.elif_else_clauses.iter().map(|c| c.test.as_ref()));
            // Some branch runs for sure: one true on Linux, or the else.
            let certain = chain.clone().any(|t| t.is_none_or(|t| p(t) == Some(true)));
            certain
                && live_branches(i, prune)
                    .iter()
                    .all(|b| b.last().is_some_and(|l| terminates(l, prune)))
        }
        _ => false,
    }
}

/// The statements of a block that can run: up to the first one that ends
/// control flow on Linux.
fn reachable<'a, 'b>(body: &'a [Stmt], prune: Prune<'b, 'a>) -> &'a [Stmt] {
    match body.iter().position(|s| terminates(s, prune)) {
        Some(at) => &body[..=at],
        None => body,
    }
}

/// Every statement of a function body that can run, those of its nested
/// blocks included (not those of the functions defined inside it).
fn each_reachable<'a>(body: &'a [Stmt], prune: Prune<'_, 'a>, visit: &mut dyn FnMut(&'a Stmt)) {
    for s in reachable(body, prune) {
        visit(s);
        let mut inner = |b: &'a [Stmt]| each_reachable(b, prune, visit);
        match s {
            Stmt::If(i) => {
                for b in live_branches(i, prune) {
                    inner(b);
                }
            }
            Stmt::For(f) => {
                inner(&f.body);
                inner(&f.orelse);
            }
            Stmt::While(w) => {
                inner(&w.body);
                inner(&w.orelse);
            }
            Stmt::With(w) => inner(&w.body),
            Stmt::Try(t) => {
                inner(&t.body);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    inner(&h.body);
                }
                inner(&t.orelse);
                inner(&t.finalbody);
            }
            Stmt::Match(m) => {
                for c in &m.cases {
                    inner(&c.body);
                }
            }
            _ => {}
        }
    }
}

/// Every `return` of a function body that can run (not those of the
/// functions inside it).
fn collect_returns<'a>(body: &'a [Stmt], out: &mut Vec<Option<&'a Expr>>, prune: Prune<'_, 'a>) {
    each_reachable(body, prune, &mut |s| {
        if let Stmt::Return(r) = s {
            out.push(r.value.as_deref());
        }
    });
}

/// Every `yield X` (false) and `yield from X` (true) of a function body
/// that can run.
fn collect_yields<'a>(body: &'a [Stmt], out: &mut Vec<(bool, &'a Expr)>, prune: Prune<'_, 'a>) {
    each_reachable(body, prune, &mut |s| {
        if let Stmt::Expr(e) = s {
            match &*e.value {
                Expr::Yield(y) => {
                    if let Some(v) = &y.value {
                        out.push((false, v));
                    }
                }
                Expr::YieldFrom(y) => out.push((true, &y.value)),
                _ => {}
            }
        }
    });
}

/// The bindings of `bs` that hold at offset `at` (all of them when none
/// comes before it, or when `at` is unknown).
fn visible<'a>(bs: &[Bound<'a>], at: Option<usize>) -> Vec<Binding<'a>> {
    let before: Vec<Binding<'a>> = match at {
        Some(at) => bs.iter().filter(|b| b.at <= at).map(|b| b.b).collect(),
        None => Vec::new(),
    };
    if before.is_empty() {
        bs.iter().map(|b| b.b).collect()
    } else {
        before
    }
}

/// The names a block binds at its own level (not inside the functions
/// and classes it defines), each with every way it is bound and where
/// that takes effect; branches `prune` says cannot run are left out.
fn collect_bindings<'a>(body: &'a [Stmt], out: &mut Scope<'a>, prune: Prune<'_, 'a>) {
    let mut c = Collector { out, prune };
    c.block(body);
}

struct Collector<'o, 'p, 'a> {
    out: &'o mut Scope<'a>,
    prune: Prune<'p, 'a>,
}

impl<'a> Collector<'_, '_, 'a> {
    fn add(&mut self, name: &'a str, at: usize, b: Binding<'a>) {
        self.out.entry(name).or_default().push(Bound { at, b });
    }

    fn targets(&mut self, t: &'a Expr, value: Option<&'a Expr>, at: usize) {
        match t {
            Expr::Name(n) => self.add(
                n.id.as_str(),
                at,
                value.map_or(Binding::Opaque, Binding::Value),
            ),
            Expr::Tuple(tu) => {
                for e in &tu.elts {
                    self.targets(e, None, at);
                }
            }
            Expr::List(l) => {
                for e in &l.elts {
                    self.targets(e, None, at);
                }
            }
            _ => {}
        }
    }

    /// `name := value` anywhere in an expression of this scope.
    fn walrus(&mut self, e: &'a Expr) {
        struct Find<'a> {
            found: Vec<(&'a str, usize, &'a Expr)>,
        }
        impl<'a> Visitor<'a> for Find<'a> {
            fn visit_expr(&mut self, e: &'a Expr) {
                if let Expr::Named(n) = e
                    && let Expr::Name(t) = &*n.target
                {
                    self.found
                        .push((t.id.as_str(), n.range.end().to_usize(), &n.value));
                }
                if !matches!(e, Expr::Lambda(_)) {
                    visitor::walk_expr(self, e);
                }
            }
            fn visit_stmt(&mut self, _: &'a Stmt) {}
        }
        let mut f = Find { found: Vec::new() };
        f.visit_expr(e);
        for (name, at, value) in f.found {
            self.add(name, at, Binding::Value(value));
        }
    }

    fn block(&mut self, body: &'a [Stmt]) {
        for s in reachable(body, self.prune) {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &'a Stmt) {
        let end = s.range().end().to_usize();
        match s {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    self.targets(t, Some(&a.value), end);
                }
                self.walrus(&a.value);
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.targets(&a.target, Some(v), end);
                    self.walrus(v);
                }
            }
            Stmt::AugAssign(a) => self.targets(&a.target, None, end),
            Stmt::Expr(e) => self.walrus(&e.value),
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.walrus(v);
                }
            }
            Stmt::For(f) => {
                let at = f.iter.range().end().to_usize();
                if let Expr::Name(n) = &*f.target {
                    self.add(n.id.as_str(), at, Binding::Iter(&f.iter));
                } else {
                    self.targets(&f.target, None, at);
                }
                self.block(&f.body);
                self.block(&f.orelse);
            }
            Stmt::While(w) => {
                self.walrus(&w.test);
                self.block(&w.body);
                self.block(&w.orelse);
            }
            Stmt::If(i) => {
                self.walrus(&i.test);
                for c in &i.elif_else_clauses {
                    if let Some(t) = &c.test {
                        self.walrus(t);
                    }
                }
                for b in live_branches(i, self.prune) {
                    self.block(b);
                }
            }
            Stmt::With(w) => {
                for item in &w.items {
                    if let Some(v) = &item.optional_vars {
                        self.targets(v, None, item.range.end().to_usize());
                    }
                }
                self.block(&w.body);
            }
            Stmt::Try(t) => {
                self.block(&t.body);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(n) = &h.name {
                        self.add(n.as_str(), h.range.start().to_usize(), Binding::Opaque);
                    }
                    self.block(&h.body);
                }
                self.block(&t.orelse);
                self.block(&t.finalbody);
            }
            Stmt::Match(m) => {
                for c in &m.cases {
                    self.block(&c.body);
                }
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    let module = a.name.as_str();
                    match &a.asname {
                        Some(asn) => self.add(
                            asn.as_str(),
                            end,
                            Binding::Import {
                                module,
                                name: None,
                                level: 0,
                                first_only: false,
                            },
                        ),
                        None => self.add(
                            module.split('.').next().unwrap_or(module),
                            end,
                            Binding::Import {
                                module,
                                name: None,
                                level: 0,
                                first_only: true,
                            },
                        ),
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map_or("", |m| m.as_str());
                for a in &i.names {
                    let name = a.name.as_str();
                    let bound = a.asname.as_ref().map_or(name, |n| n.as_str());
                    self.add(
                        bound,
                        end,
                        Binding::Import {
                            module,
                            name: Some(name),
                            level: i.level,
                            first_only: false,
                        },
                    );
                }
            }
            Stmt::FunctionDef(f) => self.add(
                f.name.as_str(),
                s.range().start().to_usize(),
                Binding::Func(f),
            ),
            Stmt::ClassDef(c) => self.add(
                c.name.as_str(),
                s.range().start().to_usize(),
                Binding::Class(c),
            ),
            _ => {}
        }
    }
}

/// Walks the module once: every function (with its class) and every call
/// (with the function it is in), leaving out branches that cannot run on
/// Linux.
struct Walker<'m, 'a> {
    m: &'m ModuleEval<'a>,
    within: Option<FuncRef<'a>>,
    class: Option<&'a ast::StmtClassDef>,
    funcs: Vec<FuncRef<'a>>,
    calls: Vec<Site<'a>>,
}

impl<'a> Walker<'_, 'a> {
    fn block(&mut self, body: &'a [Stmt]) {
        let (m, frame) = (self.m, self.frame());
        let prune = |t: &'a Expr| m.quick_truth(t, &frame);
        for s in reachable(body, Some(&prune)) {
            self.stmt(s);
        }
    }

    fn frame(&self) -> Frame<'a> {
        Frame {
            func: self.within,
            args: None,
        }
    }

    fn stmt(&mut self, s: &'a Stmt) {
        match s {
            Stmt::FunctionDef(f) => {
                let fr = FuncRef {
                    def: f,
                    class: self.class,
                };
                self.funcs.push(fr);
                for d in &f.decorator_list {
                    self.expr(&d.expression);
                }
                for p in f.parameters.iter_non_variadic_params() {
                    if let Some(d) = &p.default {
                        self.expr(d);
                    }
                }
                let (outer, outer_class) = (self.within, self.class);
                self.within = Some(fr);
                self.class = None;
                self.block(&f.body);
                self.within = outer;
                self.class = outer_class;
            }
            Stmt::ClassDef(c) => {
                let outer = self.class;
                self.class = Some(c);
                self.block(&c.body);
                self.class = outer;
            }
            Stmt::If(i) => {
                // if / elif / else: the first branch true on Linux is the
                // last one that can run; branches false on Linux never do.
                let frame = self.frame();
                let mut tests: Vec<(Option<&'a Expr>, &'a [Stmt])> = vec![(Some(&i.test), &i.body)];
                tests.extend(
                    i.elif_else_clauses
                        .iter()
                        .map(|c| (c.test.as_ref(), c.body.as_slice())),
                );
                for (test, body) in tests {
                    let t = match test {
                        Some(t) => {
                            self.expr(t);
                            self.m.quick_truth(t, &frame)
                        }
                        None => Some(true),
                    };
                    match t {
                        Some(false) => continue,
                        Some(true) => {
                            self.block(body);
                            break;
                        }
                        None => self.block(body),
                    }
                }
            }
            _ => {
                let mut v = Calls { w: self };
                visitor::walk_stmt(&mut v, s);
            }
        }
    }

    fn expr(&mut self, e: &'a Expr) {
        let mut v = Calls { w: self };
        v.visit_expr(e);
    }
}

/// Finds calls in statements and expressions, handing nested blocks back
/// to the walker (so that `if` pruning and function scopes apply).
struct Calls<'w, 'm, 'a> {
    w: &'w mut Walker<'m, 'a>,
}

impl<'a> Visitor<'a> for Calls<'_, '_, 'a> {
    fn visit_stmt(&mut self, s: &'a Stmt) {
        match s {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) | Stmt::If(_) => self.w.stmt(s),
            _ => visitor::walk_stmt(self, s),
        }
    }

    fn visit_expr(&mut self, e: &'a Expr) {
        if let Expr::Call(c) = e {
            self.w.calls.push(Site {
                call: c,
                within: self.w.within,
            });
        }
        // A lambda's body is a function of its own; its calls are rare
        // places for a load and are still found, with the outer scope.
        visitor::walk_expr(self, e);
    }
}

#[cfg(test)]
mod tests;
