//! Libraries native code loads at run time. Two sources, told apart in
//! every report:
//!
//! - **Declared**: the `.note.dlopen` metadata an object carries
//!   (<https://systemd.io/ELF_DLOPEN_METADATA/>): sonames with a priority.
//!   The plan treats a `required` or `recommended` entry as a load to make
//!   work in the image (copied with its closure, checked); a `suggested`
//!   one is reported and left out (the library works without it, by its
//!   own account).
//! - **Evidence**: an object that imports a loader function
//!   ([`LOADER_CALLS`]) and whose read-only data names a soname or a path,
//!   or that sits next to a directory of plugins named after it. Not a
//!   load ldslim can resolve (the code may never take that branch, and the
//!   name may be a format's prefix), so nothing is copied for it; when the
//!   builder has what it names and the image lacks it, the plan says the
//!   image is not verified.

use serde::Serialize;

/// Functions that load a library by name or path: glibc's `dlopen` and
/// `dlmopen`, and the wrappers libraries in a Debian builder use instead
/// of calling them directly (GLib's GModule, libltdl, MIT Kerberos's
/// plugin loader, NSPR, libuv, SDL).
pub const LOADER_CALLS: &[&str] = &[
    "PR_LoadLibrary",
    "PR_LoadLibraryWithFlags",
    "SDL_LoadObject",
    "dlmopen",
    "dlopen",
    "g_module_open",
    "g_module_open_full",
    "krb5int_open_plugin",
    "lt_dlopen",
    "lt_dlopenadvise",
    "lt_dlopenext",
    "uv_dlopen",
];

/// How much a library needs what it declares (the specification's
/// words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// "the binary will not work if it cannot be found".
    Required,
    /// "in most cases the dependency should be provided" (the default).
    Recommended,
    /// "only needed for full-featured installations".
    Suggested,
}

impl Priority {
    /// Whether the plan makes it load in the image.
    pub fn is_copied(self) -> bool {
        self != Priority::Suggested
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::Required => "required",
            Priority::Recommended => "recommended",
            Priority::Suggested => "suggested",
        }
    }
}

/// One entry of a `.note.dlopen` note.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Declared {
    /// Alternatives, in the object's order: the first that loads is used.
    pub sonames: Vec<String>,
    pub priority: Priority,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The entries of an object's dlopen notes (each a JSON object or an array
/// of them; `soname` a string or an array of strings). A note that is not
/// such JSON is an error naming what is wrong; the other notes still count.
pub fn declared(notes: &[String]) -> (Vec<Declared>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for text in notes {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Array(items)) => {
                for item in &items {
                    match entry(item) {
                        Ok(d) => out.push(d),
                        Err(e) => problems.push(e),
                    }
                }
            }
            Ok(item @ serde_json::Value::Object(_)) => match entry(&item) {
                Ok(d) => out.push(d),
                Err(e) => problems.push(e),
            },
            Ok(_) => {
                problems.push("a .note.dlopen that is neither a JSON object nor an array".into())
            }
            Err(e) => problems.push(format!("a .note.dlopen that is not JSON: {e}")),
        }
    }
    out.sort();
    out.dedup();
    (out, problems)
}

fn entry(v: &serde_json::Value) -> Result<Declared, String> {
    let text = |key: &str| v.get(key).and_then(|s| s.as_str()).map(str::to_string);
    let sonames: Vec<String> = match v.get("soname") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    if sonames.is_empty() {
        return Err(format!("a .note.dlopen entry without a soname: {v}"));
    }
    let priority = match text("priority").as_deref() {
        Some("required") => Priority::Required,
        None | Some("recommended") => Priority::Recommended,
        Some("suggested") => Priority::Suggested,
        Some(other) => {
            return Err(format!(
                "a .note.dlopen entry with priority {other:?} (not required, recommended or suggested)"
            ));
        }
    };
    Ok(Declared {
        sonames,
        priority,
        feature: text("feature"),
        description: text("description"),
    })
}

/// A soname or library file name as `dlopen` takes it: `lib….so` with an
/// optional numeric version, no directory.
pub fn is_library_name(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("lib") else {
        return false;
    };
    let Some(at) = rest.find(".so") else {
        return false;
    };
    let (stem, tail) = rest.split_at(at);
    !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b))
        && tail[3..]
            .split('.')
            .skip(1)
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && (tail.len() == 3 || tail[3..].starts_with('.'))
}

/// An absolute path where a library or the data it reads may live: below
/// `/usr`, `/lib*`, `/etc`, `/opt` or `/var/lib`, as plain text (a format
/// string or a list is not a path). Debug-info paths, which some libraries
/// name for their debugger links, are not loads.
pub fn is_load_path(s: &str) -> bool {
    const ROOTS: &[&str] = &["/usr/", "/lib", "/etc/", "/opt/", "/var/lib/"];
    s.len() > 5
        && ROOTS.iter().any(|r| s.starts_with(r))
        && !s.starts_with("/usr/lib/debug")
        && !s.starts_with("/usr/src")
        && !s.starts_with("/usr/include")
        && !s.ends_with('/')
        && !s.contains("//")
        && s.split('/').filter(|c| !c.is_empty()).count() >= 2
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._+-@".contains(&b))
}

/// What every name [`is_named_load`] keeps holds: `.so` (a library name)
/// or the start of a load path. Only `.rodata` strings with one of them
/// are offered to it.
pub const NAMED_LOAD_MARKS: &[&str] = &[".so", "/usr/", "/lib", "/etc/", "/opt/", "/var/lib/"];

/// What evidence names are kept from `.rodata`.
pub fn is_named_load(s: &str) -> bool {
    is_library_name(s) || is_load_path(s)
}

/// The name a library's plugin directory starts with: its file name
/// without `lib`, the `.so` suffix and a trailing API version, `_` as `-`,
/// lower case (`libgdk_pixbuf-2.0.so.0` → `gdk-pixbuf`, `libvips.so.42` →
/// `vips`, `libsasl2.so.2` → `sasl2`). `None` for names too short to tell
/// anything apart.
pub fn plugin_stem(file: &str) -> Option<String> {
    let rest = file.strip_prefix("lib")?;
    let stem = &rest[..rest.find(".so")?];
    let mut s = stem.to_ascii_lowercase().replace('_', "-");
    // `-2.0`, `-3`: an API version, not part of the name.
    if let Some(dash) = s.rfind('-')
        && s[dash + 1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
        && dash > 0
    {
        s.truncate(dash);
    }
    (s.len() >= 3).then_some(s)
}

/// Whether directory `name` is named after `stem`: equal, or `stem`
/// followed by a separator or a version (`vips-modules-8.14`,
/// `gdk-pixbuf-2.0`, `sasl2`).
pub fn dir_matches_stem(name: &str, stem: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('_', "-");
    match n.strip_prefix(stem) {
        Some("") => true,
        Some(rest) => {
            rest.starts_with(['-', '.']) || rest.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Paths a library names that do not make an image incomplete: files a
/// container runtime provides or the base already owns (resolver and
/// identity files, the time zone), lists of the host's mounts, message
/// translations (a library without them speaks English) and documentation.
pub fn is_host_data(path: &str) -> bool {
    const FILES: &[&str] = &[
        "/etc/fstab",
        "/etc/group",
        "/etc/host.conf",
        "/etc/hostname",
        "/etc/hosts",
        "/etc/localtime",
        "/etc/machine-id",
        "/etc/mtab",
        "/etc/nsswitch.conf",
        "/etc/passwd",
        "/etc/resolv.conf",
        "/etc/shadow",
        "/etc/timezone",
    ];
    const TREES: &[&str] = &[
        "/usr/lib/locale",
        "/usr/share/doc",
        "/usr/share/info",
        "/usr/share/locale",
        "/usr/share/man",
        "/usr/share/zoneinfo",
    ];
    FILES.contains(&path)
        || TREES
            .iter()
            .any(|t| path == *t || path.strip_prefix(t).is_some_and(|r| r.starts_with('/')))
}

/// What an evidence names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Named {
    /// A library name in its read-only data, resolved as its `dlopen`
    /// would resolve it.
    Library(String),
    /// A directory of ELF objects: named in its read-only data, or next to
    /// it and named after it.
    PluginDir(String),
    /// The path of an ELF object, in its read-only data.
    Object(String),
    /// Any other path in its read-only data (configuration, data).
    Data(String),
}

impl Named {
    pub fn name(&self) -> &str {
        match self {
            Named::Library(s) | Named::PluginDir(s) | Named::Object(s) | Named::Data(s) => s,
        }
    }

    /// How it reads in a sentence: "loads libjack.so.0", "reads /usr/share/alsa".
    pub fn describe(&self) -> String {
        match self {
            Named::Library(s) => format!("may dlopen {s}"),
            Named::PluginDir(s) => format!("may load plugins from {s}"),
            Named::Object(s) => format!("may load {s}"),
            Named::Data(s) => format!("may read {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_as_systemd_writes_them_and_as_the_specification_does() {
        let notes = vec![
            r#"[{"feature":"lz4","description":"Support lz4 compression","priority":"suggested","soname":["liblz4.so.1"]},{"feature":"bpf","priority":"required","soname":["libbpf.so.1","libbpf.so.0"]}]"#.to_string(),
            r#"{"soname":"libfoo.so.1","feature":"foo"}"#.to_string(),
            "not json".to_string(),
            r#"[{"feature":"x"},{"soname":"liba.so","priority":"urgent"}]"#.to_string(),
        ];
        let (d, problems) = declared(&notes);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].sonames, ["libbpf.so.1", "libbpf.so.0"]);
        assert_eq!(d[0].priority, Priority::Required);
        assert_eq!(d[1].sonames, ["libfoo.so.1"]);
        assert_eq!(d[1].priority, Priority::Recommended, "the default");
        assert_eq!(d[2].priority, Priority::Suggested);
        assert_eq!(d[2].description.as_deref(), Some("Support lz4 compression"));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("not JSON"));
        assert!(problems[1].contains("without a soname"));
        assert!(problems[2].contains("\"urgent\""));
    }

    #[test]
    fn library_names_and_load_paths() {
        for yes in [
            "libz.so.1",
            "libasound.so.2",
            "libjack.so.0",
            "libfoo.so",
            "libstdc++.so.6",
            "libgdk_pixbuf-2.0.so.0",
            "libOpenEXR-3_1.so.30",
        ] {
            assert!(is_library_name(yes), "{yes}");
            assert!(NAMED_LOAD_MARKS.iter().any(|m| yes.contains(m)), "{yes}");
        }
        for no in [
            "libz",
            "lib.so.1",
            "libz.so.1a",
            "libz.so.",
            "libasound_module_pcm_%s.so",
            "/usr/lib/libz.so.1",
            "libz.sox",
            "libz.so.1.",
            "libfoo.so.1 bar",
        ] {
            assert!(!is_library_name(no), "{no}");
        }
        for yes in [
            "/usr/share/alsa",
            "/usr/lib/x86_64-linux-gnu/alsa-lib",
            "/etc/jackd.conf",
            "/lib64/ld-linux-x86-64.so.2",
            "/opt/app/plugins",
            "/var/lib/foo/db",
        ] {
            assert!(is_load_path(yes), "{yes}");
            assert!(NAMED_LOAD_MARKS.iter().any(|m| yes.contains(m)), "{yes}");
        }
        for no in [
            "/usr",
            "/etc",
            "/usr/lib/debug/.dwz/x86_64-linux-gnu/libfoo.debug",
            "/usr/share/%s/x",
            "/tmp/x",
            "/usr/share/x y",
            "/proc/self/maps",
            "/usr/share/alsa/",
            "/dev/snd",
            "/usr//lib/x",
            "relative/path",
        ] {
            assert!(!is_load_path(no), "{no}");
        }
    }

    #[test]
    fn paths_of_the_host_or_the_base_are_not_the_images_business() {
        for yes in [
            "/etc/resolv.conf",
            "/etc/localtime",
            "/usr/share/locale",
            "/usr/share/locale/de/LC_MESSAGES",
            "/usr/share/zoneinfo/UTC",
        ] {
            assert!(is_host_data(yes), "{yes}");
        }
        for no in [
            "/usr/share/alsa",
            "/usr/share/localedata",
            "/etc/krb5.conf",
            "/usr/share/X11/locale",
        ] {
            assert!(!is_host_data(no), "{no}");
        }
    }

    #[test]
    fn plugin_directories_named_after_their_library() {
        assert_eq!(plugin_stem("libvips.so.42").as_deref(), Some("vips"));
        assert_eq!(
            plugin_stem("libgdk_pixbuf-2.0.so.0").as_deref(),
            Some("gdk-pixbuf")
        );
        assert_eq!(plugin_stem("libsasl2.so.2").as_deref(), Some("sasl2"));
        assert_eq!(plugin_stem("libgio-2.0.so.0").as_deref(), Some("gio"));
        assert_eq!(
            plugin_stem("libz.so.1"),
            None,
            "too short to match anything safely"
        );
        assert!(dir_matches_stem("vips-modules-8.14", "vips"));
        assert!(dir_matches_stem("gdk-pixbuf-2.0", "gdk-pixbuf"));
        assert!(dir_matches_stem("sasl2", "sasl2"));
        assert!(dir_matches_stem("gio", "gio"));
        assert!(!dir_matches_stem("giomm-2.4", "gio"));
        assert!(!dir_matches_stem("vipsx", "vips"));
    }
}
