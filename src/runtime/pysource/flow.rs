//! Which statements can run on Linux: `if` chains decided by what Python
//! knows there, control flow ended by `return` and `raise`, and the
//! `return`s and `yield`s of a function body that can run.

use rustpython_ruff_python_ast as ast;
use rustpython_ruff_python_ast::{Expr, Stmt};

use super::values::truth;
use super::{Frame, ModuleEval};

/// Tells whether an `if` test is true on Linux, false, or cannot be told;
/// `None` keeps every branch.
pub(super) type Prune<'p, 'a> = Option<&'p dyn Fn(&'a Expr) -> Option<bool>>;

impl<'a> ModuleEval<'a> {
    /// `truth_of` as the module is read: no parameter is followed to its
    /// call sites and no function to its returns.
    pub(super) fn quick_truth(&self, test: &'a Expr, frame: &Frame<'a>) -> Option<bool> {
        let was = self.quick.replace(true);
        let t = self.truth_of(test, frame);
        self.quick.set(was);
        t
    }

    /// Whether `test` is true on Linux, false, or cannot be told.
    pub(super) fn truth_of(&self, test: &'a Expr, frame: &Frame<'a>) -> Option<bool> {
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

/// The bodies of an `if`/`elif`/`else` chain that can run: up to the
/// first branch true on Linux, without those false on Linux.
pub(super) fn live_branches<'a>(i: &'a ast::StmtIf, prune: Prune<'_, 'a>) -> Vec<&'a [Stmt]> {
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
pub(super) fn reachable<'a, 'b>(body: &'a [Stmt], prune: Prune<'b, 'a>) -> &'a [Stmt] {
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
pub(super) fn collect_returns<'a>(
    body: &'a [Stmt],
    out: &mut Vec<Option<&'a Expr>>,
    prune: Prune<'_, 'a>,
) {
    each_reachable(body, prune, &mut |s| {
        if let Stmt::Return(r) = s {
            out.push(r.value.as_deref());
        }
    });
}

/// Every `yield X` (false) and `yield from X` (true) of a function body
/// that can run.
pub(super) fn collect_yields<'a>(
    body: &'a [Stmt],
    out: &mut Vec<(bool, &'a Expr)>,
    prune: Prune<'_, 'a>,
) {
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
