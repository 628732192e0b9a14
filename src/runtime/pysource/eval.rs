//! What an expression may be: literals, names, attributes (with what
//! Python knows on Linux: `sys.platform`, `os.name`), f-strings, tuples and
//! lists, operators, conditional expressions, subscripts.

use rustpython_ruff_python_ast as ast;
use rustpython_ruff_python_ast::{Expr, Stmt};

use super::values::{
    Val, as_text, compare_vals, join_paths, percent_format, product, push_all, truth,
};
use super::{Frame, FuncRef, MAX_ALTERNATIVES, MAX_DEPTH, ModuleEval};

impl<'a> ModuleEval<'a> {
    pub(super) fn eval(&self, e: &'a Expr, frame: &Frame<'a>) -> Vec<Val<'a>> {
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
}
