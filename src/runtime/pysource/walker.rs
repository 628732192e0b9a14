//! The one walk of a module that finds its functions (with their class)
//! and its call sites (with the function each is in), leaving out branches
//! that cannot run on Linux.

use rustpython_ruff_python_ast as ast;
use rustpython_ruff_python_ast::visitor::{self, Visitor};
use rustpython_ruff_python_ast::{Expr, Stmt};

use super::flow::reachable;
use super::{Frame, FuncRef, ModuleEval, Site};

/// Walks the module once: every function (with its class) and every call
/// (with the function it is in), leaving out branches that cannot run on
/// Linux.
pub(super) struct Walker<'m, 'a> {
    pub(super) m: &'m ModuleEval<'a>,
    pub(super) within: Option<FuncRef<'a>>,
    pub(super) class: Option<&'a ast::StmtClassDef>,
    pub(super) funcs: Vec<FuncRef<'a>>,
    pub(super) calls: Vec<Site<'a>>,
}

impl<'a> Walker<'_, 'a> {
    pub(super) fn block(&mut self, body: &'a [Stmt]) {
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
