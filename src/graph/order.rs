//! What one load is made of: the objects glibc maps for an entry, in
//! order, with the DT_NEEDED edge and the search step that brought each in,
//! and what would make it differ on another kind of CPU. Plain data, shared
//! by the loader session that builds it and everything that reports on it.

use std::sync::Arc;

use serde::Serialize;

use crate::elf::ElfFacts;
use crate::findings::Warning;
use crate::ldso::{Fatal, How, Step};

/// Why an entry object cannot be loaded at all.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EntryError {
    #[error("{0}: no such file in the root")]
    Missing(String),
    #[error("{0}: not a regular file")]
    NotRegular(String),
    #[error("{0}")]
    Unreadable(String),
    #[error("{0}: not a dynamic executable")]
    NotDynamic(String),
    #[error("{path}: no known glibc loader for {class} machine {machine}")]
    NoAbi {
        path: String,
        class: String,
        machine: u16,
    },
    #[error("{path}: the root has no loader {interp}")]
    NoLoader { path: String, interp: String },
    #[error("{0}: loader cannot load itself")]
    IsLoader(String),
    #[error("{path}: {message}")]
    Refused { path: String, message: String },
}

/// One DT_NEEDED edge, resolved.
#[derive(Clone, Debug, Serialize)]
pub struct Edge {
    /// The DT_NEEDED string as written.
    pub needed: String,
    /// Index into [`LoadOrder::objects`].
    pub object: usize,
    pub how: How,
}

/// One object in load order.
#[derive(Clone, Debug, Serialize)]
pub struct LoadedObject {
    /// The name it was first requested by (`l_libname`), DSTs expanded.
    pub name: String,
    /// Where it was found (`l_name`), not normalised; `None`: not found.
    pub path: Option<String>,
    /// Its canonical path inside the root.
    pub real: Option<String>,
    /// How it was first found.
    pub how: How,
    /// Index of the object whose DT_NEEDED loaded it (`l_loader`).
    pub loaded_by: Option<usize>,
    /// This object's DT_NEEDED, in order (empty for not-found objects).
    pub needs: Vec<Edge>,
    /// For a not-found object: every place searched, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub searched: Vec<Step>,
    /// Its ELF facts (none for a not-found object).
    #[serde(skip)]
    pub facts: Option<Arc<ElfFacts>>,
}

/// Everything glibc would load for one entry.
#[derive(Clone, Debug, Serialize)]
pub struct LoadOrder {
    pub entry: String,
    pub abi: &'static str,
    /// In load order; `objects[0]` is the entry.
    pub objects: Vec<LoadedObject>,
    /// A defect that stops glibc's load; `objects` is then what was mapped
    /// before it.
    pub fatal: Option<Fatal>,
    pub warnings: Vec<Warning>,
    /// Some search of this load, or a DT_NEEDED name, depends on the CPU
    /// (`ldso::Searched`): another kind of CPU may load something else.
    #[serde(skip)]
    pub cpu_sensitive: bool,
    /// DT_NEEDED edges that other kinds of CPU resolve differently (filled
    /// by [`Session::load`](super::Session::load) when the load is
    /// CPU-sensitive).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpu_dependent: Vec<CpuDependence>,
}

impl LoadOrder {
    /// Objects that were searched for and not found.
    pub fn missing(&self) -> impl Iterator<Item = &LoadedObject> {
        self.objects.iter().filter(|o| o.path.is_none())
    }

    /// Whether everything loads.
    pub fn is_complete(&self) -> bool {
        self.fatal.is_none() && self.missing().next().is_none()
    }
}

/// One DT_NEEDED edge that kinds of CPU resolve differently.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CpuDependence {
    /// The object whose DT_NEEDED it is (its canonical path).
    pub object: String,
    pub needed: String,
    /// What each kind of CPU loads for it: one entry per distinct file.
    pub outcomes: Vec<CpuOutcome>,
}

impl CpuDependence {
    /// Whether some kind of CPU does not find the library at all.
    pub fn fails_somewhere(&self) -> bool {
        self.outcomes.iter().any(|o| o.path.is_none())
    }
}

/// What some kinds of CPU load for one edge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CpuOutcome {
    /// The kinds of CPU, by name (`haswell/x86-64-v3`), in the order of
    /// `Cpu::kinds`.
    pub cpus: Vec<String>,
    /// The path the loader opens; `None`: not found.
    pub path: Option<String>,
}
