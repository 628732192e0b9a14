//! What a call may return: the functions of the standard library that
//! build names and paths, string methods, and the module's own functions —
//! their parameters bound at their call sites, their `return`s and
//! `yield`s that can run.

use std::collections::HashMap;
use std::rc::Rc;

use rustpython_ruff_python_ast as ast;
use rustpython_ruff_python_ast::Expr;

use super::flow::{collect_returns, collect_yields};
use super::values::{Val, as_text, join_paths, product, push_all};
use super::{Frame, FuncRef, ModuleEval};

impl<'a> ModuleEval<'a> {
    /// Values of a parameter of `f` when nothing bound it: the arguments
    /// at its call sites in this module, and its default.
    pub(super) fn param_values(&self, f: FuncRef<'a>, name: &str) -> Vec<Val<'a>> {
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
        self.bind_defaults(f, &mut out);
        out
    }

    /// The parameters of `f` that `bound` lacks, bound to their default
    /// (evaluated at module level: Python evaluates defaults when the
    /// `def` runs) or, without one, to an unknown value.
    pub(super) fn bind_defaults(&self, f: FuncRef<'a>, bound: &mut HashMap<String, Vec<Val<'a>>>) {
        let p = &f.def.parameters;
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

    pub(super) fn call(&self, c: &'a ast::ExprCall, frame: &Frame<'a>) -> Vec<Val<'a>> {
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
    pub(super) fn returns(&self, f: FuncRef<'a>, frame: &Frame<'a>) -> Vec<Option<&'a Expr>> {
        let mut out = Vec::new();
        let prune = |t: &'a Expr| self.truth_of(t, frame);
        collect_returns(&f.def.body, &mut out, Some(&prune));
        out
    }
}

fn is_static(def: &ast::StmtFunctionDef) -> bool {
    def.decorator_list
        .iter()
        .any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"))
}

fn is_method_call(func: &Expr) -> bool {
    matches!(func, Expr::Attribute(_))
}
