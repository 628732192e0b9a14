//! `ldslim targets`: what each embedded target is.

use std::io::{self, Write};

use serde::Serialize;

use super::TargetData;

#[derive(Serialize)]
struct Summary<'a> {
    /// The name that selects it (`distroless/cc-debian12:arm64`).
    name: &'a str,
    image: &'a str,
    arch: &'a str,
    suite: &'a str,
    glibc: Option<&'a str>,
    interp: &'a str,
    dirs: &'a [String],
    entries: usize,
    elf_objects: usize,
    omitted: Vec<Omitted<'a>>,
    packages: Vec<Package<'a>>,
}

#[derive(Serialize)]
struct Omitted<'a> {
    prefix: &'a str,
    files: usize,
}

#[derive(Serialize)]
struct Package<'a> {
    name: &'a str,
    version: &'a str,
}

fn summary<'a>(key: &'a str, t: &'a TargetData) -> Summary<'a> {
    Summary {
        name: key,
        image: &t.info.name,
        arch: &t.info.arch,
        suite: &t.info.suite,
        glibc: t.info.glibc.as_deref(),
        interp: &t.info.interp,
        dirs: &t.info.dirs,
        entries: t.entries.len(),
        elf_objects: t.elf_objects().count(),
        omitted: t
            .omitted
            .iter()
            .map(|(prefix, files)| Omitted {
                prefix,
                files: *files,
            })
            .collect(),
        packages: t
            .info
            .packages
            .iter()
            .map(|(name, version)| Package { name, version })
            .collect(),
    }
}

/// One line per target (name, arch, suite, glibc, entries, ELF objects),
/// then its packages indented.
pub fn list_text(out: &mut dyn Write, targets: &[(&str, TargetData)]) -> io::Result<()> {
    let width = targets.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, t) in targets {
        let s = summary(key, t);
        writeln!(
            out,
            "{:width$}  {:5}  {:8}  glibc {:4}  {:5} entries  {:3} ELF",
            s.name,
            s.arch,
            s.suite,
            s.glibc.unwrap_or("-"),
            s.entries,
            s.elf_objects,
        )?;
        for p in &s.packages {
            writeln!(out, "    {} {}", p.name, p.version)?;
        }
    }
    // The data is a snapshot: say of what, and what to do about a newer image.
    writeln!(
        out,
        "\nEach target was made from exactly the Debian package versions listed under it. An image\n\
         published later may carry newer point releases of them (its /var/lib/dpkg/status.d/ says\n\
         which); to plan against an image exactly, extract it and give the directory to --target."
    )
}

/// The same as a JSON array, with the loader facts and omitted prefixes too.
pub fn list_json(out: &mut dyn Write, targets: &[(&str, TargetData)]) -> io::Result<()> {
    let all: Vec<Summary> = targets.iter().map(|(k, t)| summary(k, t)).collect();
    serde_json::to_writer_pretty(&mut *out, &all).map_err(io::Error::other)?;
    writeln!(out)
}
