//! `elf/dl-load.c: open_verify`: whether glibc accepts a file it found
//! for the loader's ABI, skips it and searches on, or stops the load.

use std::path::Path;

use super::{ELFOSABI_GNU, ELFOSABI_SYSV, Fatal, Loader};
use crate::elf::consts::{ET_DYN, ET_EXEC};
use crate::elf::{Class, ElfFacts};
use crate::objects::Objects;
use crate::rootfs::{FactsError, Kind, Resolved};

impl Loader {
    /// `open_verify`: would glibc accept this file for this ABI?
    pub fn try_file(&self, objects: &Objects, path: &str) -> Result<Candidate, Fatal> {
        let fatal = |message: String| Fatal {
            path: path.to_string(),
            message,
        };
        let file = match objects.resolve(Path::new(path)) {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(Candidate::Absent),
            // A symlink loop makes open() fail with ELOOP, which open_path
            // treats like a missing file and moves on.
            Err(e) => {
                // Resolution errors already start with the path resolved.
                let e = e.to_string();
                return Ok(Candidate::Skipped(if e.starts_with(path) {
                    e
                } else {
                    format!("{path}: {e}")
                }));
            }
        };
        match file.kind {
            Kind::Regular => {}
            Kind::Directory => return Err(fatal("cannot read file data: Is a directory".into())),
            Kind::Special => {
                return Err(fatal(
                    "not a regular file (glibc would block or fail opening it)".into(),
                ));
            }
        }
        let facts = objects.facts(&file);
        let facts = match facts.as_ref() {
            Ok(f) => f,
            Err(FactsError::Elf { source, .. }) => {
                let message = match source {
                    crate::elf::ElfError::NotElf => "invalid ELF header".to_string(),
                    other => other.to_string(),
                };
                return Err(fatal(message));
            }
            Err(e @ FactsError::Root(_)) => return Err(fatal(e.to_string())),
        };
        match self.verdict(facts) {
            Verdict::Accept => Ok(Candidate::Accepted(file)),
            Verdict::Skip(why) => Ok(Candidate::Skipped(format!("{path}: skipped, {why}"))),
            Verdict::Fatal(m) => Err(fatal(m)),
        }
    }

    /// The checks of `elf/dl-load.c: open_verify`, in its order.
    pub fn verdict(&self, f: &ElfFacts) -> Verdict {
        if f.class != self.abi.class {
            // "This is not a fatal error. On architectures where 32-bit and
            // 64-bit binaries can be run this might happen."
            return Verdict::Skip(format!("wrong ELF class: {}", f.class));
        }
        if f.data != self.abi.data {
            return Verdict::Fatal(format!(
                "ELF file data encoding not {}",
                match self.abi.data {
                    crate::elf::Data::Little => "little-endian",
                    crate::elf::Data::Big => "big-endian",
                }
            ));
        }
        if f.osabi != ELFOSABI_SYSV && f.osabi != ELFOSABI_GNU {
            return Verdict::Fatal("ELF file OS ABI invalid".into());
        }
        // VALID_ELF_ABIVERSION: 0, or below LIBC_ABI_MAX for GNU objects.
        if !(f.abi_version == 0 || (f.osabi == ELFOSABI_GNU && f.abi_version < 3)) {
            return Verdict::Fatal("ELF file ABI version invalid".into());
        }
        if f.machine != self.abi.machine {
            // elf_machine_matches_host fails: skipped, not fatal.
            return Verdict::Skip(format!("wrong machine {}", f.machine));
        }
        if f.e_type != ET_DYN && f.e_type != ET_EXEC {
            return Verdict::Fatal("only ET_DYN and ET_EXEC can be loaded".into());
        }
        let want = if f.class == Class::Elf64 { 56 } else { 32 };
        if f.phentsize != want {
            return Verdict::Fatal("ELF file's phentsize not the expected size".into());
        }
        Verdict::Accept
    }
}

/// One candidate file as `open_path` sees it.
#[derive(Clone, Debug)]
pub enum Candidate {
    Absent,
    Skipped(String),
    Accepted(Resolved),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Skip(String),
    Fatal(String),
}
