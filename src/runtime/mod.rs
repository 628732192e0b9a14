//! Libraries a program loads at run time, which no DT_NEEDED names.
//!
//! Python packages reach native code with `ctypes` and cffi: found in their
//! source by `pysource`, grouped here into one [`RuntimeLoad`] per library
//! and package (every call that loads it, every way they try), and
//! resolved in a root by `resolve` the way each call would resolve at run
//! time. The plan then makes each way that works in the builder work in
//! the final image too.

pub mod native;
pub mod pysource;
pub mod resolve;

use std::collections::BTreeMap;

use serde::Serialize;

use pysource::{Candidate, LoadCall, Via};

/// Which extension module calls `dlopen`: its RUNPATH and its loader chain
/// take part in the search (`elf/dl-open.c` searches from the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Caller {
    /// `_ctypes` of the interpreter's `lib-dynload`.
    Ctypes,
    /// cffi's `_cffi_backend`.
    Cffi,
    /// A native object, for itself (a `.note.dlopen` entry): the object is
    /// named next to the way.
    Native,
}

/// One way the program may get a library.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Way {
    /// `dlopen(name)`: a soname or file name searched by the loader's
    /// rules, or a path.
    Dlopen { name: String, from: Caller },
    /// `dlopen(ctypes.util.find_library(name))`.
    FindAndOpen { name: String, from: Caller },
    /// `ctypes.util.find_library(name)` returning a soname (used as a
    /// check, or passed somewhere ldslim does not follow).
    Find { name: String },
}

impl Way {
    /// The name the program writes.
    pub fn name(&self) -> &str {
        match self {
            Way::Dlopen { name, .. } | Way::FindAndOpen { name, .. } | Way::Find { name } => name,
        }
    }

    /// Whether it depends on `ctypes.util.find_library` (which needs
    /// `ldconfig` and an `ld.so.cache` listing the library).
    pub fn uses_find_library(&self) -> bool {
        !matches!(self, Way::Dlopen { .. })
    }

    /// How it reads in Python, for reports.
    pub fn describe(&self) -> String {
        match self {
            Way::Dlopen { name, from } => format!("{}({name:?})", caller_call(*from)),
            Way::FindAndOpen { name, from } => {
                format!("{}(find_library({name:?}))", caller_call(*from))
            }
            Way::Find { name } => format!("find_library({name:?})"),
        }
    }
}

fn caller_call(c: Caller) -> &'static str {
    match c {
        Caller::Ctypes => "CDLL",
        Caller::Cffi => "ffi.dlopen",
        Caller::Native => "dlopen",
    }
}

/// Where a load is written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CallSite {
    /// The Python file (a path inside the root).
    pub file: String,
    pub line: u32,
    pub via: Via,
    /// The call as written.
    pub text: String,
    /// What of its argument ldslim could not follow, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// Accepted with `--allow-runtime` (only for calls not tied to a load).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

impl CallSite {
    /// `file:line`.
    pub fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// What a way gives in a root.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Found {
        /// What `find_library` returned, for ways that use it.
        #[serde(skip_serializing_if = "Option::is_none")]
        soname: Option<String>,
        /// The path the loader opens (for `Find`: the cache's path).
        path: String,
        /// The file it is (canonical).
        real: String,
    },
    NotFound {
        why: String,
    },
}

impl Outcome {
    pub fn found(&self) -> Option<(&str, &str)> {
        match self {
            Outcome::Found { path, real, .. } => Some((path, real)),
            Outcome::NotFound { .. } => None,
        }
    }
}

/// A way and what it gave in the builder.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Tried {
    pub way: Way,
    pub builder: Outcome,
}

/// A library a package loads at run time: every call of the package that
/// loads it, and every way they try.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RuntimeLoad {
    /// The package (a directory inside the root) the calls are in.
    pub package: String,
    /// The library, as the names agree on it (`pq`, `cairo`, `sodium`).
    pub library: String,
    pub calls: Vec<CallSite>,
    /// Each way on Linux, sorted, with its outcome in the builder.
    pub tried: Vec<Tried>,
    /// Names for other systems the calls also try (`libpq.dll`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_systems: Vec<String>,
    /// Accepted with `--allow-runtime`: not a finding when it fails.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

impl RuntimeLoad {
    /// Whether some way finds the library in the builder.
    pub fn found_in_builder(&self) -> bool {
        self.tried.iter().any(|t| t.builder.found().is_some())
    }

    /// The file the builder loads (the first way that finds one).
    pub fn builder_file(&self) -> Option<&str> {
        self.tried
            .iter()
            .find_map(|t| t.builder.found().map(|f| f.1))
    }

    /// Whether the allow list names it: its library, one of its names, or
    /// one of its calls (`FILE:LINE`, the file as a suffix).
    pub fn allowed_by(&self, allow: &[String]) -> bool {
        allow.iter().any(|a| {
            *a == self.library
                || self.tried.iter().any(|t| t.way.name() == a)
                || self.calls.iter().any(|c| site_matches(c, a))
        })
    }
}

/// Whether `FILE:LINE`, or `FILE.py` for every call of a file (FILE a
/// path or its end), names `c`.
pub fn site_matches(c: &CallSite, allow: &str) -> bool {
    let same_file = |file: &str| {
        c.file == file
            || c.file
                .ends_with(&format!("/{}", file.trim_start_matches('/')))
    };
    match allow.rsplit_once(':') {
        Some((file, line)) => line.parse::<u32>().is_ok_and(|l| l == c.line) && same_file(file),
        // A whole file: every call in it.
        None => allow.ends_with(".py") && same_file(allow),
    }
}

/// Every load found, grouped; and the calls whose library could not be
/// told at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Found {
    pub loads: Vec<RuntimeLoad>,
    /// Calls with no name ldslim could follow, not attached to any load.
    pub unknown: Vec<CallSite>,
    /// The objects the loads were resolved from (the final image has them
    /// at the same paths).
    #[serde(skip)]
    pub callers: resolve::Callers,
    /// Whether the scope's source was read for run-time loads at all
    /// (`--no-runtime` turns it off).
    pub checked: bool,
}

impl Found {
    /// Mark what `allow` names as accepted; the entries of `allow` that
    /// name nothing are returned.
    pub fn allow(&mut self, allow: &[String]) -> Vec<String> {
        for l in &mut self.loads {
            l.allowed = l.allowed_by(allow);
        }
        for c in &mut self.unknown {
            c.allowed = allow.iter().any(|a| site_matches(c, a));
        }
        allow
            .iter()
            .filter(|a| {
                !self
                    .loads
                    .iter()
                    .any(|l| l.allowed_by(std::slice::from_ref(a)))
                    && !self.unknown.iter().any(|c| site_matches(c, a))
            })
            .cloned()
            .collect()
    }

    /// Loads not found in the builder, and calls ldslim cannot follow,
    /// that nobody accepted: findings.
    pub fn unresolved(&self) -> (Vec<&RuntimeLoad>, Vec<&CallSite>) {
        (
            self.loads
                .iter()
                .filter(|l| !l.allowed && !l.found_in_builder())
                .collect(),
            self.unknown.iter().filter(|c| !c.allowed).collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.loads.is_empty() && self.unknown.is_empty()
    }
}

/// Whether a name is for another system (a Windows DLL, a macOS dylib or
/// framework): ignored on Linux, and said so.
pub fn for_other_systems(name: &str) -> bool {
    // Windows' own libraries, often named without `.dll`.
    const WINDOWS: &[&str] = &[
        "msvcrt", "ucrtbase", "kernel32", "user32", "gdi32", "advapi32", "ole32", "oleaut32",
        "shell32", "shlwapi", "ws2_32", "winmm", "ntdll", "crypt32", "bcrypt", "ncrypt", "secur32",
        "comdlg32", "winspool", "opengl32", "psapi", "iphlpapi", "dbghelp", "version",
    ];
    let lower = name.to_ascii_lowercase();
    if WINDOWS.contains(&lower.as_str()) || lower.starts_with("api-ms-win-") {
        return true;
    }
    lower.ends_with(".dll")
        || lower.ends_with(".dylib")
        || lower.contains(".dylib.")
        || lower.contains(".framework/")
        || lower.contains('\\')
        || lower.starts_with("/system/")
        || lower.starts_with("/usr/lib/system/")
}

/// The library a name means, for grouping: `libsodium.so.23`, `sodium`,
/// `/usr/local/lib/libsodium.so`, `libsodium-23` are all `sodium`.
pub fn stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let lower = base.to_ascii_lowercase();
    let mut s: &str = lower.strip_prefix("lib").unwrap_or(&lower);
    for ext in [".so", ".dylib", ".dll"] {
        if let Some(at) = s.find(ext)
            && s[at + ext.len()..].chars().next().is_none_or(|c| c == '.')
        {
            s = &s[..at];
        }
    }
    // Version suffixes after `-` or `.` (`cairo-2`, `glib-2.0`,
    // `cairo.2`), not digits that are part of the name (`bz2`, `sqlite3`).
    let t = s.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let removed = &s[t.len()..];
    if let Some(base) = t.strip_suffix('-').filter(|b| !b.is_empty()) {
        return base.to_string();
    }
    if removed.starts_with('.') && !t.is_empty() {
        return t.to_string();
    }
    s.to_string()
}

/// The ways a call tries on Linux, and the names it gives for other
/// systems.
fn ways_of(call: &LoadCall) -> (Vec<Way>, Vec<String>) {
    let mut ways = Vec::new();
    let mut other = Vec::new();
    for c in &call.candidates {
        let name = match c {
            Candidate::Name(n) | Candidate::FoundBy(n) => n,
            Candidate::Program => continue,
        };
        if for_other_systems(name) {
            other.push(name.clone());
            continue;
        }
        let from = match call.via {
            Via::Cffi => Caller::Cffi,
            _ => Caller::Ctypes,
        };
        match (call.via, c) {
            (Via::FindLibrary, Candidate::Name(n)) => ways.push(Way::Find { name: n.clone() }),
            (Via::FindLibrary, _) => {}
            (_, Candidate::FoundBy(n)) => ways.push(Way::FindAndOpen {
                name: n.clone(),
                from,
            }),
            (Via::Cffi, Candidate::Name(n)) => {
                ways.push(Way::Dlopen {
                    name: n.clone(),
                    from,
                });
                // cffi tries find_library(name) when dlopen(name) fails
                // and the name has no '/'; a file name never matches
                // `lib<name>.` then, so only bare names count.
                if !n.contains('/') && !n.contains(".so") {
                    ways.push(Way::FindAndOpen {
                        name: n.clone(),
                        from,
                    });
                }
            }
            (_, Candidate::Name(n)) => ways.push(Way::Dlopen {
                name: n.clone(),
                from,
            }),
            (_, Candidate::Program) => {}
        }
    }
    (ways, other)
}

/// Read every Python source `(path, text)` of a program, group its loads
/// by package (`package_of` a path) and library, and resolve each way with
/// `resolver`. Sources are analysed in parallel; `sources` reads the other
/// modules they import, each once for all files and both passes.
pub fn discover(
    files: Vec<(String, String)>,
    package_of: &(dyn Fn(&str) -> String + Sync),
    sources: &dyn pysource::Sources,
    resolver: &resolve::Resolver<'_>,
) -> Found {
    use rayon::prelude::*;
    let cache = pysource::Cache::new(sources);
    let analyse = |wrappers: &[pysource::Wrapper], only: Option<&[&str]>| {
        files
            .par_iter()
            .filter(|(_, text)| only.is_none_or(|names| names.iter().any(|n| text.contains(n))))
            .map(|(path, text)| {
                let calls = cache.load_calls(path, text, wrappers);
                (path.clone(), package_of(path), calls)
            })
            .filter(|(_, _, c)| !c.is_empty())
            .collect::<Vec<_>>()
    };
    let mut calls: Vec<(String, String, Vec<LoadCall>)> = analyse(&[], None);
    // Functions that load whatever their caller names: their callers in
    // other modules load, so those modules are read again knowing them.
    let mut wrappers: Vec<pysource::Wrapper> = calls
        .iter()
        .flat_map(|(_, _, cs)| cs.iter().filter_map(|c| c.wrapper.clone()))
        .collect();
    wrappers.sort();
    wrappers.dedup();
    if !wrappers.is_empty() {
        let names: Vec<&str> = wrappers.iter().map(|w| w.function.as_str()).collect();
        let again = analyse(&wrappers, Some(&names));
        let redone: std::collections::HashSet<&String> = again.iter().map(|(p, _, _)| p).collect();
        calls.retain(|(p, _, _)| !redone.contains(p));
        calls.extend(again);
    }
    let mut found = group(calls);
    found.callers = resolver.callers().clone();
    for l in &mut found.loads {
        for t in &mut l.tried {
            t.builder = resolver.resolve(&t.way);
        }
    }
    found
}

/// Group the calls found in each file (`(file, package, calls)`) into
/// loads: one per package and library. A call whose argument could not be
/// followed at all joins the one load of its file, or of its package, when
/// there is exactly one; otherwise it is listed as unknown.
pub fn group(files: Vec<(String, String, Vec<LoadCall>)>) -> Found {
    type Key = (String, String);
    /// The calls of one load, its ways, and its names for other systems.
    type Parts = (Vec<CallSite>, Vec<Way>, Vec<String>);
    let mut loads: BTreeMap<Key, Parts> = BTreeMap::new();
    let mut opaque: Vec<(String, CallSite)> = Vec::new();
    for (file, package, calls) in files {
        for call in calls {
            let site = CallSite {
                file: file.clone(),
                line: call.line,
                via: call.via,
                text: call.text.clone(),
                unknown: call.unknown.clone(),
                allowed: false,
            };
            let (ways, other) = ways_of(&call);
            // A wrapper's own call loads nothing by itself: its callers
            // do, and were read as loads.
            if ways.is_empty() && call.wrapper.is_some() && call.unknown.is_none() {
                continue;
            }
            if ways.is_empty() {
                if !other.is_empty() && call.unknown.is_none() {
                    // Only for other systems: nothing to do on Linux, but
                    // kept with a load of the same library if there is one.
                    let key = (package.clone(), stem(&other[0]));
                    if let Some(l) = loads.get_mut(&key) {
                        l.0.push(site);
                        l.2.extend(other);
                    }
                    continue;
                }
                if call.unknown.is_some() {
                    opaque.push((package.clone(), site));
                }
                continue;
            }
            let mut by_stem: BTreeMap<String, Vec<Way>> = BTreeMap::new();
            for w in ways {
                by_stem.entry(stem(w.name())).or_default().push(w);
            }
            for (s, ws) in by_stem {
                let l = loads.entry((package.clone(), s)).or_default();
                if !l.0.contains(&site) {
                    l.0.push(site.clone());
                }
                l.1.extend(ws);
                l.2.extend(other.iter().cloned());
            }
        }
    }
    let mut unknown = Vec::new();
    for (package, site) in opaque {
        let in_file: Vec<Key> = loads
            .iter()
            .filter(|(k, l)| k.0 == package && l.0.iter().any(|c| c.file == site.file))
            .map(|(k, _)| k.clone())
            .collect();
        let in_package: Vec<Key> = loads.keys().filter(|k| k.0 == package).cloned().collect();
        let target = match (in_file.as_slice(), in_package.as_slice()) {
            ([one], _) | ([], [one]) => Some(one.clone()),
            _ => None,
        };
        match target.and_then(|k| loads.get_mut(&k)) {
            Some(l) => l.0.push(site),
            None => unknown.push(site),
        }
    }
    let loads = loads
        .into_iter()
        .map(|((package, library), (mut calls, mut ways, mut other))| {
            calls.sort();
            calls.dedup();
            ways.sort();
            ways.dedup();
            other.sort();
            other.dedup();
            RuntimeLoad {
                package,
                library,
                calls,
                tried: ways
                    .into_iter()
                    .map(|way| Tried {
                        way,
                        builder: Outcome::NotFound {
                            why: "not resolved yet".into(),
                        },
                    })
                    .collect(),
                other_systems: other,
                allowed: false,
            }
        })
        .collect();
    unknown.sort();
    Found {
        loads,
        unknown,
        callers: resolve::Callers::default(),
        checked: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_agree_on_the_library() {
        for (name, s) in [
            ("libsodium.so.23", "sodium"),
            ("sodium", "sodium"),
            ("libsodium", "sodium"),
            ("/usr/local/lib/libsodium.so", "sodium"),
            ("libsodium-23", "sodium"),
            ("cairo-2", "cairo"),
            ("libcairo-2.dll", "cairo"),
            ("libcairo.2.dylib", "cairo"),
            ("libcairo.so.2", "cairo"),
            ("libglib-2.0.so.0", "glib"),
            ("glib-2.0", "glib"),
            ("pq", "pq"),
            ("libpq.so.5", "pq"),
            ("c", "c"),
            ("libc.so", "c"),
            ("libc.so.6", "c"),
            ("libstdc++.so.6", "stdc++"),
            ("MediaInfo.dll", "mediainfo"),
            ("libmediainfo.so.0", "mediainfo"),
            ("libz.so.1.2.13", "z"),
            ("libssl.so.3", "ssl"),
            ("libsqlite3.so.0", "sqlite3"),
        ] {
            assert_eq!(stem(name), s, "{name}");
        }
    }

    #[test]
    fn other_systems_names() {
        for n in [
            "libpq.dll",
            "bin\\libportaudio-2.dll",
            "libcairo.2.dylib",
            "/System/Library/Frameworks/Security.framework/Security",
            "/usr/lib/system/libcommonCrypto.dylib",
        ] {
            assert!(for_other_systems(n), "{n}");
        }
        for n in ["libpq.so.5", "pq", "/usr/lib/libx.so", "libdylibish.so"] {
            assert!(!for_other_systems(n), "{n}");
        }
    }

    fn call(line: u32, via: Via, cands: &[Candidate], unknown: Option<&str>) -> LoadCall {
        LoadCall {
            line,
            via,
            text: format!("call{line}"),
            candidates: cands.to_vec(),
            unknown: unknown.map(str::to_string),
            wrapper: None,
        }
    }

    #[test]
    fn calls_group_by_package_and_library() {
        use Candidate::*;
        let files = vec![
            (
                "/s/psycopg/pq/misc.py".to_string(),
                "/s/psycopg".to_string(),
                vec![call(74, Via::FindLibrary, &[Name("pq".into())], None)],
            ),
            (
                "/s/psycopg/pq/_pq_ctypes.py".to_string(),
                "/s/psycopg".to_string(),
                vec![
                    call(22, Via::Ctypes, &[FoundBy("pq".into())], None),
                    call(32, Via::FindLibrary, &[Name("c".into())], None),
                    call(
                        36,
                        Via::Ctypes,
                        &[Name("libc.so".into()), FoundBy("c".into())],
                        None,
                    ),
                    call(50, Via::Ctypes, &[], Some("somewhere")),
                ],
            ),
            (
                "/s/other/x.py".to_string(),
                "/s/other".to_string(),
                vec![
                    call(1, Via::Cffi, &[Name("libpq.dll".into())], None),
                    call(2, Via::Ctypes, &[], Some("os.environ['X']")),
                ],
            ),
        ];
        let found = group(files);
        let keys: Vec<(String, String, usize)> = found
            .loads
            .iter()
            .map(|l| (l.package.clone(), l.library.clone(), l.calls.len()))
            .collect();
        assert_eq!(
            keys,
            [
                ("/s/psycopg".to_string(), "c".to_string(), 2),
                ("/s/psycopg".to_string(), "pq".to_string(), 2),
            ]
        );
        let pq = &found.loads[1];
        let ways: Vec<String> = pq.tried.iter().map(|t| t.way.describe()).collect();
        assert_eq!(ways, ["CDLL(find_library(\"pq\"))", "find_library(\"pq\")"]);
        // Two loads in the file: the opaque call there joins neither; the
        // one in `other`, whose only call is for Windows, neither.
        let unknown: Vec<String> = found.unknown.iter().map(|c| c.place()).collect();
        assert_eq!(
            unknown,
            ["/s/other/x.py:2", "/s/psycopg/pq/_pq_ctypes.py:50"]
        );
    }

    #[test]
    fn cffi_names_are_also_tried_through_find_library() {
        let c = call(
            9,
            Via::Cffi,
            &[
                Candidate::Name("cairo".into()),
                Candidate::Name("libcairo.so.2".into()),
            ],
            None,
        );
        let (ways, _) = ways_of(&c);
        let d: Vec<String> = ways.iter().map(Way::describe).collect();
        assert_eq!(
            d,
            [
                "ffi.dlopen(\"cairo\")",
                "ffi.dlopen(find_library(\"cairo\"))",
                "ffi.dlopen(\"libcairo.so.2\")"
            ]
        );
    }

    #[test]
    fn allow_list_by_library_name_or_call() {
        let l = RuntimeLoad {
            package: "/s/psycopg".into(),
            library: "pq".into(),
            calls: vec![CallSite {
                file: "/s/psycopg/pq/misc.py".into(),
                line: 74,
                via: Via::FindLibrary,
                text: String::new(),
                unknown: None,
                allowed: false,
            }],
            tried: vec![],
            other_systems: vec![],
            allowed: false,
        };
        assert!(l.allowed_by(&["pq".into()]));
        assert!(l.allowed_by(&["psycopg/pq/misc.py:74".into()]));
        assert!(l.allowed_by(&["/s/psycopg/pq/misc.py:74".into()]));
        assert!(!l.allowed_by(&["misc.py:75".into(), "sodium".into()]));
        // A whole file, by its path or the end of it.
        assert!(l.allowed_by(&["pq/misc.py".into()]));
        assert!(!l.allowed_by(&["sc.py".into(), "pq/misc".into()]));
    }
}
