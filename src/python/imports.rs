//! What a Python module imports, read from its source without running it:
//! every `import` and `from … import` statement wherever it is (a function
//! body, a `try`, an `if` — any of them may run), and calls of
//! `importlib.import_module` / `__import__` with a literal name. A name
//! computed at run time cannot be read; such calls are counted, so that a
//! decision taken on this evidence can say what it did not see.

use rustpython_ruff_python_ast as ast;
use rustpython_ruff_python_ast::visitor::{self, Visitor};
use rustpython_ruff_python_ast::{Expr, Stmt};

/// The imports of one module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imports {
    /// Absolute module names, as written or resolved against the module's
    /// package; `from a import b` gives `a` and `a.b` (`b` may be a
    /// submodule).
    pub modules: Vec<String>,
    /// Imports whose name is computed at run time (`import_module(name)`).
    pub dynamic: usize,
}

/// The imports of the module `name` (`pkg.mod`; for a package's
/// `__init__.py`, the package itself, with `is_package`) whose source is
/// `source`.
pub fn imports(source: &str, name: &str, is_package: bool) -> Imports {
    let parsed =
        rustpython_ruff_python_parser::parse_unchecked_source(source, ast::PySourceType::Python);
    let package: Vec<&str> = {
        let mut parts: Vec<&str> = name.split('.').filter(|p| !p.is_empty()).collect();
        if !is_package {
            parts.pop();
        }
        parts
    };
    let mut v = Collect {
        package,
        out: Imports::default(),
    };
    v.visit_body(parsed.suite());
    v.out.modules.sort();
    v.out.modules.dedup();
    v.out
}

struct Collect<'n> {
    /// The package relative imports start from.
    package: Vec<&'n str>,
    out: Imports,
}

impl Collect<'_> {
    /// `module` at `level` dots, made absolute; `None` when the dots climb
    /// above the top-level package.
    fn absolute(&self, module: Option<&str>, level: u32) -> Option<String> {
        if level == 0 {
            return module.map(str::to_string);
        }
        let up = usize::try_from(level).ok()?.checked_sub(1)?;
        let keep = self.package.len().checked_sub(up)?;
        let mut parts: Vec<&str> = self.package.get(..keep)?.to_vec();
        parts.extend(module.into_iter().flat_map(|m| m.split('.')));
        (!parts.is_empty()).then(|| parts.join("."))
    }

    fn add(&mut self, module: String) {
        self.out.modules.push(module);
    }
}

impl<'a> Visitor<'a> for Collect<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(i) => {
                for alias in &i.names {
                    self.add(alias.name.to_string());
                }
            }
            Stmt::ImportFrom(f) => {
                if let Some(base) = self.absolute(f.module.as_ref().map(|m| m.id.as_str()), f.level)
                {
                    for alias in &f.names {
                        if alias.name.as_str() != "*" {
                            self.add(format!("{base}.{}", alias.name));
                        }
                    }
                    self.add(base);
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr
            && is_import_call(&call.func)
        {
            match call.arguments.args.first() {
                Some(Expr::StringLiteral(s)) => {
                    let name = s.value.to_str().to_string();
                    // `import_module(".sub", __package__)`: relative to the
                    // module's own package.
                    let dots = name.chars().take_while(|c| *c == '.').count();
                    let rest = &name[dots..];
                    let resolved = match u32::try_from(dots) {
                        Ok(0) => Some(name.clone()),
                        Ok(level) => self.absolute((!rest.is_empty()).then_some(rest), level),
                        Err(_) => None,
                    };
                    match resolved {
                        Some(m) => self.add(m),
                        None => self.out.dynamic += 1,
                    }
                }
                _ => self.out.dynamic += 1,
            }
        }
        visitor::walk_expr(self, expr);
    }
}

/// `importlib.import_module(…)`, `import_module(…)`, `__import__(…)`.
fn is_import_call(func: &Expr) -> bool {
    match func {
        Expr::Name(n) => matches!(n.id.as_str(), "import_module" | "__import__"),
        Expr::Attribute(a) => {
            a.attr.as_str() == "import_module"
                && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "importlib")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_anywhere_and_literal_calls() {
        let src = "import os, json.decoder as d\n\
                   from . import sibling\n\
                   from ..up import thing\n\
                   from .sub.deep import *\n\
                   def f():\n    import nis\n\
                   try:\n    import _lzma\nexcept ImportError:\n    pass\n\
                   import importlib\n\
                   importlib.import_module('bz2')\n\
                   __import__(name)\n\
                   importlib.import_module('.rel', __package__)\n";
        let i = imports(src, "pkg.mod.x", false);
        assert_eq!(
            i.modules,
            [
                "_lzma",
                "bz2",
                "importlib",
                "json.decoder",
                "nis",
                "os",
                "pkg.mod",
                "pkg.mod.rel",
                "pkg.mod.sibling",
                "pkg.mod.sub.deep",
                "pkg.up",
                "pkg.up.thing",
            ]
        );
        assert_eq!(i.dynamic, 1);
    }

    #[test]
    fn a_package_is_its_own_package() {
        let i = imports("from . import a\nfrom .... import too_far\n", "p.q", true);
        assert_eq!(i.modules, ["p.q", "p.q.a"]);
    }
}
