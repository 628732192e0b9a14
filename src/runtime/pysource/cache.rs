//! What the analyses of one scan share: every module read through an
//! import, its text read once and its syntax tree parsed once. Files are
//! analysed in parallel, so it is shared between threads (ruff's trees are
//! `Send` and `Sync`).
//!
//! Without it a scan read the modules a package's files import again at
//! every import, and read and parsed them again at every call into them
//! (numpy's `_core/numeric.py` two hundred times for one root).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rustpython_ruff_python_ast as ast;

use super::{LoadCall, Sources, Wrapper};

/// What the cache may hold, estimated in bytes: a hostile tree (thousands
/// of large modules) must not grow it without end. Past it, modules are
/// read and parsed again at each use, as without a cache: the same
/// results, only slower.
/// The modules the apps root's sources import weigh about 9 MB by this
/// estimate (0.5 MB of text).
const MAX_BYTES: usize = 64 << 20;
/// What a module's text and syntax tree weigh, per byte of text: ruff's
/// tree took 2 to 13 times its text for the modules of the apps root
/// (6 overall). A source written as one-byte nodes (`~~~~x`: one boxed
/// node per byte) weighs about 4 times the estimate: still bounded.
const WEIGHT_PER_TEXT_BYTE: usize = 16;

/// One module file read through [`Sources`].
pub(super) struct Module {
    pub(super) source: String,
    syntax: OnceLock<ast::ModModule>,
}

impl Module {
    fn new(source: String) -> Self {
        Module {
            source,
            syntax: OnceLock::new(),
        }
    }

    /// Its syntax tree, parsed at the first use (most modules are only
    /// tested for existence).
    pub(super) fn syntax(&self) -> &ast::ModModule {
        self.syntax.get_or_init(|| {
            rustpython_ruff_python_parser::parse_unchecked_source(
                &self.source,
                ast::PySourceType::Python,
            )
            .into_syntax()
        })
    }
}

/// What [`Sources`] gave for a path.
enum Entry {
    Missing,
    Kept(Arc<Module>),
    /// It exists, but keeping it would pass the budget.
    Large,
}

/// The modules of one scan, shared by the analyses of all its files.
pub struct Cache<'s> {
    sources: &'s dyn Sources,
    /// One slot per path, filled once (a thread asking for a path another
    /// is reading waits for it rather than reading it too).
    modules: Mutex<HashMap<String, Arc<OnceLock<Entry>>>>,
    /// Estimated bytes held, against `budget`.
    held: AtomicUsize,
    budget: usize,
}

impl<'s> Cache<'s> {
    /// An empty cache over `sources`.
    pub fn new(sources: &'s dyn Sources) -> Self {
        Self::with_budget(sources, MAX_BYTES)
    }

    /// An empty cache that holds at most about `budget` bytes.
    pub(super) fn with_budget(sources: &'s dyn Sources, budget: usize) -> Self {
        Cache {
            sources,
            modules: Mutex::default(),
            held: AtomicUsize::new(0),
            budget,
        }
    }

    /// Every load call in the module at `path` whose source is `source`,
    /// where calls to `wrappers` are loads too: [`super::load_calls_with`]
    /// with the modules it imports taken from this cache.
    pub fn load_calls(&self, path: &str, source: &str, wrappers: &[Wrapper]) -> Vec<LoadCall> {
        super::analyse(path, source, self, wrappers)
    }

    /// Takes `bytes` from the budget, if they fit.
    fn reserve(&self, bytes: usize) -> bool {
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                h.checked_add(bytes).filter(|&t| t <= self.budget)
            })
            .is_ok()
    }

    /// Whether the module file at `path` can be read.
    pub(super) fn exists(&self, path: &str) -> bool {
        match self.entry(path) {
            Some(slot) => !matches!(slot.get_or_init(|| self.load(path)), Entry::Missing),
            None => self.sources.read(path).is_some(),
        }
    }

    /// The module file at `path`, if it can be read.
    pub(super) fn module(&self, path: &str) -> Option<Arc<Module>> {
        if let Some(slot) = self.entry(path) {
            match slot.get_or_init(|| self.load(path)) {
                Entry::Missing => return None,
                Entry::Kept(m) => return Some(m.clone()),
                Entry::Large => {}
            }
        }
        self.sources.read(path).map(|s| Arc::new(Module::new(s)))
    }

    /// The slot of `path`; `None` when a new one would pass the budget.
    fn entry(&self, path: &str) -> Option<Arc<OnceLock<Entry>>> {
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = modules.get(path) {
            return Some(slot.clone());
        }
        if !self.reserve(path.len() + std::mem::size_of::<Entry>() + 64) {
            return None;
        }
        let slot = Arc::new(OnceLock::new());
        modules.insert(path.to_string(), slot.clone());
        Some(slot)
    }

    fn load(&self, path: &str) -> Entry {
        match self.sources.read(path) {
            None => Entry::Missing,
            Some(s) if self.reserve(s.len().saturating_mul(WEIGHT_PER_TEXT_BYTE)) => {
                Entry::Kept(Arc::new(Module::new(s)))
            }
            Some(_) => Entry::Large,
        }
    }
}
