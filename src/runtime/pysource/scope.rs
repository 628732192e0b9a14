//! Names: what each name of a scope is bound to (assignments, `for`
//! targets, imports, definitions, each from where it holds) and its values
//! where it is used.

use std::collections::HashMap;
use std::rc::Rc;

use rustpython_ruff_python_ast as ast;
use rustpython_ruff_python_ast::visitor::{self, Visitor};
use rustpython_ruff_python_ast::{Expr, Stmt};
use rustpython_ruff_text_size::Ranged;

use super::flow::{Prune, live_branches, reachable};
use super::values::{Val, push_all};
use super::{Frame, FuncRef, ModuleEval};

/// A binding and the offset in the source from where it holds.
#[derive(Clone, Copy)]
pub(super) struct Bound<'a> {
    pub(super) at: usize,
    pub(super) b: Binding<'a>,
}

/// The names of one scope, each with every way it is bound.
pub(super) type Scope<'a> = HashMap<&'a str, Vec<Bound<'a>>>;

/// What a name is bound to in a scope.
#[derive(Clone, Copy)]
pub(super) enum Binding<'a> {
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

impl<'a> ModuleEval<'a> {
    pub(super) fn locals_of(&self, f: FuncRef<'a>) -> Rc<Scope<'a>> {
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
    pub(super) fn lookup(&self, name: &str, frame: &Frame<'a>, at: Option<usize>) -> Vec<Val<'a>> {
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

    pub(super) fn eval_bindings(
        &self,
        name: &str,
        bs: &[Binding<'a>],
        frame: &Frame<'a>,
    ) -> Vec<Val<'a>> {
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
}

fn is_param(def: &ast::StmtFunctionDef, name: &str) -> bool {
    def.parameters.includes(name)
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
pub(super) fn collect_bindings<'a>(body: &'a [Stmt], out: &mut Scope<'a>, prune: Prune<'_, 'a>) {
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
