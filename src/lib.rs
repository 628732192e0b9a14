//! ldslim: which shared libraries a program needs in a distroless image,
//! resolved exactly as glibc's loader would inside a foreign root.
//!
//! The pipeline, one module per step: [`rootfs`] (paths confined to a
//! root) → [`elf`] (facts of one file) → [`ldso`] (glibc's search rules) →
//! [`graph`] (load order and reasons) → [`scan`] (every object of a tree)
//! → [`plan`] (the final image) → [`render`] (text, JSON, CI formats, `ldd`
//! lines); [`pipeline`] runs the main job as one call. The layers and what
//! each module owns: docs/how-it-works.md, "Map of the code".

pub mod cli;
pub mod copyset;

/// A part of a test that cannot run on this machine: a note on a
/// developer's machine, a failure under scripts/test.sh (which sets
/// LDSLIM_TEST_STRICT: CI has every tool the tests use, and root).
#[cfg(test)]
pub(crate) fn cannot_run(why: &str) {
    assert!(
        std::env::var_os("LDSLIM_TEST_STRICT").is_none(),
        "{why} (LDSLIM_TEST_STRICT is set: every part of every test must run)"
    );
    eprintln!("note: {why}: this part is skipped");
}

pub mod debian;
pub mod diagnose;
pub mod elf;
pub mod emit;
pub mod explain;
pub mod findings;
pub mod graph;
pub mod image;
pub mod ldso;
pub mod locks;
pub mod misses;
pub mod objects;
pub mod owners;
pub mod pipeline;
pub mod plan;
pub mod python;
pub mod render;
pub mod rootfs;
pub mod runtime;
pub mod scan;
pub mod target;
pub mod trace;
pub mod walk;
pub mod why;
