//! Names imported from other modules of the same package: which file a
//! relative or absolute import names, and what calling one of its
//! functions returns (the other module evaluated in turn, bounded).

use std::collections::HashMap;
use std::rc::Rc;

use super::values::Val;
use super::{Frame, MAX_ALTERNATIVES, MAX_MODULE_DEPTH, ModuleEval};

impl<'a> ModuleEval<'a> {
    /// What an import binds.
    pub(super) fn import(
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
            .find(|p| p != self.path && self.shared.cache.exists(p))
    }

    /// What calling the function `name` of another module returns, with
    /// arguments evaluated here (only plain values cross).
    pub(super) fn call_extern(
        &self,
        path: &str,
        name: &str,
        args: Vec<Vec<Val<'a>>>,
    ) -> Vec<Val<'a>> {
        let shared = self.shared;
        if shared.depth.get() >= MAX_MODULE_DEPTH {
            return vec![Val::Unknown];
        }
        let Some(module) = shared.cache.module(path) else {
            return vec![Val::Unknown];
        };
        shared.depth.set(shared.depth.get() + 1);
        let other = ModuleEval::new(shared, path, &module.source, module.syntax());
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
                    self.bind_defaults(f, &mut bound);
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
