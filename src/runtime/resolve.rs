//! Where a run-time load finds its library in a root, the way the call
//! would at run time: `dlopen` by the loader's rules from the extension
//! module that calls it, and `ctypes.util.find_library` as CPython runs it
//! on Linux — `/sbin/ldconfig -p`, the first line whose name matches
//! `lib<name>.` for the interpreter's ABI (`Lib/ctypes/util.py:
//! _findSoname_ldconfig`). Its other fallbacks (`gcc`, `ld`) are not
//! modelled: neither is in a Python builder image nor in a distroless one.

use std::path::Path;

use super::{Caller, Outcome, Way};
use crate::graph::Session;
use crate::ldso::cache::{FLAG_ELF_LIBC6, FLAG_TYPE_MASK, FLAG_X8664_LIB64, LdCache};
use crate::ldso::{LD_SO_CACHE, Lookup, Step};
use crate::rootfs::Kind;

/// The program's objects that take part: the extension modules that call
/// `dlopen`, and the interpreter (paths inside the root).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Callers {
    pub ctypes: Option<String>,
    pub cffi: Option<String>,
    pub interpreter: Option<String>,
}

impl Callers {
    /// Picked among the ELF objects of the scope: an interpreter
    /// (`python3.N`), its `_ctypes` and a `_cffi_backend`.
    pub fn from_entries(entries: &[String], interpreter: Option<&str>) -> Callers {
        let file = |p: &str| p.rsplit('/').next().unwrap_or("").to_string();
        Callers {
            ctypes: entries
                .iter()
                .find(|p| file(p).starts_with("_ctypes.") && p.ends_with(".so"))
                .cloned(),
            cffi: entries
                .iter()
                .find(|p| file(p).starts_with("_cffi_backend.") && p.ends_with(".so"))
                .cloned(),
            interpreter: interpreter.map(str::to_string).or_else(|| {
                entries
                    .iter()
                    .find(|p| {
                        let f = file(p);
                        f.starts_with("python3")
                            && f[7..].chars().all(|c| c.is_ascii_digit() || c == '.')
                    })
                    .cloned()
            }),
        }
    }
}

/// `ctypes.util.find_library` in one root: what `ldconfig -p` prints
/// there, or why it prints nothing.
#[derive(Clone, Debug)]
pub struct Ldconfig {
    /// `(name, path, flags)` in the cache's order, or why there is none.
    pub lines: Result<Vec<(String, String, u32)>, String>,
}

/// Where CPython runs it from.
pub const LDCONFIG: &str = "/sbin/ldconfig";

impl Ldconfig {
    /// What `/sbin/ldconfig -p` would print in the root of `session`.
    pub fn read(session: &Session) -> Ldconfig {
        let objects = session.objects();
        let lines = match objects.resolve(Path::new(LDCONFIG)) {
            Ok(Some(f))
                if f.kind == Kind::Regular
                    && objects
                        .tree()
                        .lstat(&f.path)
                        .ok()
                        .flatten()
                        .is_some_and(|st| st.mode & 0o111 != 0) =>
            {
                match objects.read_small(LD_SO_CACHE, 256 << 20) {
                    Ok(Some(bytes)) => match LdCache::parse(&bytes) {
                        Ok(c) => Ok(c
                            .entries()
                            .map(|e| {
                                (
                                    e.name_lossy().into_owned(),
                                    e.path_lossy().into_owned(),
                                    e.flags,
                                )
                            })
                            .collect()),
                        Err(e) => Err(format!("{LD_SO_CACHE} cannot be read by ldconfig: {e}")),
                    },
                    Ok(None) => Err(format!("there is no {LD_SO_CACHE}")),
                    Err(e) => Err(e),
                }
            }
            Ok(Some(_)) => Err(format!("{LDCONFIG} is not an executable file")),
            Ok(None) => Err(format!("there is no {LDCONFIG}")),
            Err(e) => Err(e.to_string()),
        };
        Ldconfig { lines }
    }

    /// `find_library(name)`: the first line whose name is `lib<name>.…`
    /// with the interpreter's ABI (`libc6,x86-64` for x86-64, any `libc6`
    /// elsewhere, as CPython's `mach_map` has it). `(soname, path)`.
    pub fn find(&self, name: &str, x86_64: bool) -> Result<(String, String), String> {
        let lines = self
            .lines
            .as_ref()
            .map_err(|e| format!("find_library returns None: {e}"))?;
        let prefix = format!("lib{name}.");
        lines
            .iter()
            .find(|(n, _, flags)| {
                let abi_ok = if x86_64 {
                    flags & 0xffff == FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
                } else {
                    flags & FLAG_TYPE_MASK == FLAG_ELF_LIBC6
                };
                // `\s+(lib<name>\.[^\s]+)\s+\(`: no space in the name.
                abi_ok
                    && n.starts_with(&prefix)
                    && n.len() > prefix.len()
                    && !n.contains(char::is_whitespace)
            })
            .map(|(n, p, _)| (n.clone(), p.clone()))
            .ok_or_else(|| {
                format!(
                    "find_library returns None: `ldconfig -p` lists no lib{name}.* for this ABI"
                )
            })
    }
}

/// Resolves run-time loads in one root.
pub struct Resolver<'s> {
    session: &'s Session,
    callers: Callers,
    ldconfig: Ldconfig,
}

impl<'s> Resolver<'s> {
    pub fn new(session: &'s Session, callers: Callers) -> Resolver<'s> {
        Resolver {
            ldconfig: Ldconfig::read(session),
            session,
            callers,
        }
    }

    pub fn callers(&self) -> &Callers {
        &self.callers
    }

    fn x86_64(&self) -> bool {
        let Some(main) = &self.callers.interpreter else {
            return true;
        };
        let objects = self.session.objects();
        match objects.resolve(Path::new(main)) {
            Ok(Some(f)) => match objects.facts(&f).as_ref() {
                Ok(facts) => {
                    facts.machine == crate::elf::consts::EM_X86_64
                        && facts.class == crate::elf::Class::Elf64
                }
                Err(_) => true,
            },
            _ => true,
        }
    }

    /// What `way` gives in this root.
    pub fn resolve(&self, way: &Way) -> Outcome {
        match way {
            Way::Dlopen { name, from } => self.dlopen(*from, name),
            Way::Find { name } => match self.ldconfig.find(name, self.x86_64()) {
                Ok((soname, path)) => {
                    let real = self
                        .session
                        .objects()
                        .resolve(Path::new(&path))
                        .ok()
                        .flatten()
                        .map(|r| r.path.display().to_string());
                    match real {
                        Some(real) => Outcome::Found {
                            soname: Some(soname),
                            path,
                            real,
                        },
                        None => Outcome::NotFound {
                            why: format!(
                                "find_library returns {soname}, whose file {path} the cache lists but the root lacks"
                            ),
                        },
                    }
                }
                Err(why) => Outcome::NotFound { why },
            },
            Way::FindAndOpen { name, from } => match self.ldconfig.find(name, self.x86_64()) {
                Ok((soname, _)) => match self.dlopen(*from, &soname) {
                    Outcome::Found { path, real, .. } => Outcome::Found {
                        soname: Some(soname),
                        path,
                        real,
                    },
                    Outcome::NotFound { why } => Outcome::NotFound {
                        why: format!("find_library returns {soname}, then {why}"),
                    },
                },
                Err(why) => Outcome::NotFound { why },
            },
        }
    }

    /// `dlopen(name)` from the extension module behind `from`.
    pub fn dlopen(&self, from: Caller, name: &str) -> Outcome {
        let caller = match from {
            Caller::Ctypes | Caller::Native => self.callers.ctypes.as_ref(),
            Caller::Cffi => self.callers.cffi.as_ref().or(self.callers.ctypes.as_ref()),
        };
        let (Some(caller), Some(main)) = (
            caller.or(self.callers.interpreter.as_ref()),
            &self.callers.interpreter,
        ) else {
            return Outcome::NotFound {
                why: "no Python interpreter in scope to load it".into(),
            };
        };
        self.dlopen_by(caller, main, name)
    }

    /// `dlopen(name)` called by the object at `caller` in a process whose
    /// main program is `main` (paths inside the root).
    pub fn dlopen_by(&self, caller: &str, main: &str, name: &str) -> Outcome {
        if name.contains('/') && !name.starts_with('/') {
            return Outcome::NotFound {
                why: format!(
                    "{name} is relative to the working directory, which only the running program knows"
                ),
            };
        }
        match self.session.dlopen_from(caller, main, name) {
            Ok(s) => match s.lookup {
                Lookup::Found(f) => Outcome::Found {
                    soname: None,
                    path: f.path,
                    real: f.file.path.display().to_string(),
                },
                Lookup::NotFound(steps) => Outcome::NotFound {
                    why: format!("dlopen({name}) finds nothing: {}", searched(&steps)),
                },
            },
            Err(e) => Outcome::NotFound {
                why: format!("dlopen({name}) fails: {e}"),
            },
        }
    }
}

/// The places searched, in one line.
fn searched(steps: &[Step]) -> String {
    let places: Vec<String> = steps
        .iter()
        .filter(|s| !s.place.is_empty())
        .map(|s| format!("{} [{}]", s.place, s.source.label()))
        .collect();
    if places.is_empty() {
        "no such file".into()
    } else {
        format!("searched {}", places.join(", "))
    }
}
