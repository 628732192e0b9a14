//! ldslim: which shared libraries a program needs in a distroless image,
//! resolved exactly as glibc's loader would inside a foreign root.
//!
//! The pipeline, one module per step: [`root`] (paths confined to a root)
//! → [`elf`] (facts of one file) → [`ldso`] (glibc's search rules) →
//! [`graph`] (load order and reasons) → [`scan`] (every object of a tree)
//! → [`report`] (text and JSON).

pub mod cli;
pub mod diagnose;
pub mod elf;
pub mod emit;
pub mod explain;
pub mod graph;
pub mod image;
pub mod ldso;
pub mod objects;
pub mod owners;
pub mod plan;
pub mod python;
pub mod report;
pub mod root;
pub mod scan;
pub mod target;
pub mod vfs;
pub mod walk;
pub mod why;
