//! Format strictness, hostile input, and listing a small root.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use super::*;

fn info() -> TargetInfo {
    TargetInfo {
        name: "distroless/test-debian12".into(),
        suite: "bookworm".into(),
        arch: "amd64".into(),
        packages: vec![("base-files".into(), "12.4".into())],
        interp: "/lib64/ld-linux-x86-64.so.2".into(),
        dirs: vec!["/lib/x86_64-linux-gnu/".into(), "/usr/lib/".into()],
        glibc: Some("2.36".into()),
    }
}

fn entry(path: &str, mode: u32, kind: EntryKind, size: u64) -> (String, TargetEntry) {
    (
        path.to_string(),
        TargetEntry {
            path: path.to_string(),
            mode,
            kind,
            size,
            elf: None,
        },
    )
}

fn sample() -> TargetData {
    let facts =
        crate::elf::read_facts(&fs::read(std::env::current_exe().unwrap()).unwrap()).unwrap();
    let mut entries: BTreeMap<String, TargetEntry> = [
        entry("/", 0o755, EntryKind::Dir, 0),
        entry("/bin", 0o777, EntryKind::Symlink("usr/bin".into()), 0),
        entry("/tmp", 0o1777, EntryKind::Dir, 0),
        entry("/etc/passwd", 0o644, EntryKind::File, 149),
        entry("/usr/lib/x.so", 0o755, EntryKind::File, 12),
    ]
    .into_iter()
    .collect();
    entries.get_mut("/usr/lib/x.so").unwrap().elf = Some(facts);
    TargetData {
        info: info(),
        entries,
        omitted: vec![("/usr/share/doc/".into(), 3)],
    }
}

fn line_error(text: &str) -> (usize, String) {
    match parse(text) {
        Err(TargetError::Line { line, message }) => (line, message),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn round_trip() {
    let data = sample();
    let text = render(&data);
    assert_eq!(parse(&text).unwrap(), data);
    assert_eq!(render(&parse(&text).unwrap()), text);
    assert!(text.ends_with('\n'));
    assert!(text.contains(r#"{"path":"/tmp","kind":"dir","mode":"1777"}"#));
    assert!(text.contains(r#""kind":"symlink","mode":"0777","target":"usr/bin"}"#));
}

#[test]
fn no_glibc_round_trips() {
    let mut data = sample();
    data.info.glibc = None;
    data.info.dirs.clear();
    assert_eq!(parse(&render(&data)).unwrap(), data);
}

#[test]
fn errors_name_the_line() {
    let text = render(&sample());
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{not json";
    let (line, _) = line_error(&lines.join("\n"));
    assert_eq!(line, 4);
    let e = parse(&lines.join("\n")).unwrap_err().to_string();
    assert!(e.starts_with("line 4: "), "{e}");
}

#[test]
fn empty_is_an_error() {
    assert!(matches!(parse(""), Err(TargetError::Empty)));
    assert!(matches!(parse("\n"), Err(TargetError::Empty)));
}

#[test]
fn header_checks() {
    let text = render(&sample());
    let header = text.lines().next().unwrap();
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    for (from, to, what) in [
        (FORMAT, "ldslim-target/99", "format"),
        (r#""arch":"amd64""#, r#""arch":"""#, "arch is empty"),
        (r#""interp":"/lib64"#, r#""interp":"lib64"#, "not absolute"),
        (r#""/usr/lib/"]"#, r#""/usr/lib"]"#, "loader directory"),
        (
            r#"["/usr/share/doc/",3]"#,
            r#"["usr/share/doc/",3]"#,
            "omitted prefix",
        ),
        (
            r#"["base-files","12.4"]"#,
            r#"["base-files",""]"#,
            "empty name or version",
        ),
        (r#""format""#, r#""extra":1,"format""#, "unknown field"),
    ] {
        assert!(header.contains(from), "{from}");
        let (line, message) = line_error(&format!("{}\n{body}", header.replace(from, to)));
        assert_eq!(line, 1);
        assert!(message.contains(what), "{what}: {message}");
    }
}

#[test]
fn entry_checks() {
    let text = render(&sample());
    let header = text.lines().next().unwrap();
    for (entry, what) in [
        (
            r#"{"path":"etc","kind":"dir","mode":"0755"}"#,
            "not absolute",
        ),
        (
            r#"{"path":"/etc/","kind":"dir","mode":"0755"}"#,
            "normal form",
        ),
        (
            r#"{"path":"/a//b","kind":"dir","mode":"0755"}"#,
            "normal form",
        ),
        (
            r#"{"path":"/a/../b","kind":"dir","mode":"0755"}"#,
            "normal form",
        ),
        (
            r#"{"path":"/a/./b","kind":"dir","mode":"0755"}"#,
            "normal form",
        ),
        (r#"{"path":"/a\u0000","kind":"dir","mode":"0755"}"#, "NUL"),
        (r#"{"path":"/a","kind":"dir","mode":"755x"}"#, "octal"),
        (r#"{"path":"/a","kind":"dir","mode":"+755"}"#, "octal"),
        (r#"{"path":"/a","kind":"dir","mode":""}"#, "octal"),
        (r#"{"path":"/a","kind":"dir","mode":"17777"}"#, "octal"),
        (
            r#"{"path":"/a","kind":"dir","mode":"77777777777777"}"#,
            "octal",
        ),
        (
            r#"{"path":"/a","kind":"symlink","mode":"0777"}"#,
            "symlink without",
        ),
        (
            r#"{"path":"/a","kind":"symlink","mode":"0777","target":""}"#,
            "symlink without",
        ),
        (
            r#"{"path":"/a","kind":"file","mode":"0644","target":"b"}"#,
            "not a symlink",
        ),
        (
            r#"{"path":"/a","kind":"fifo","mode":"0644"}"#,
            "unknown variant",
        ),
        (
            r#"{"path":"/a","kind":"dir","mode":"0755","owner":0}"#,
            "unknown field",
        ),
        (
            r#"{"path":"/a","kind":"file","mode":"0644","size":-1}"#,
            "invalid value",
        ),
        (
            r#"{"path":"/a","kind":"dir","mode":"0755","elf":{}}"#,
            "missing field",
        ),
        ("", "EOF"),
    ] {
        let (line, message) = line_error(&format!("{header}\n{entry}\n"));
        assert_eq!(line, 2, "{entry}");
        assert!(message.contains(what), "{entry}: {message}");
    }
}

#[test]
fn order_and_duplicates() {
    let text = render(&sample());
    let header = text.lines().next().unwrap();
    let a = r#"{"path":"/a","kind":"dir","mode":"0755"}"#;
    let b = r#"{"path":"/b","kind":"dir","mode":"0755"}"#;
    let (line, message) = line_error(&format!("{header}\n{b}\n{a}\n"));
    assert_eq!(line, 3);
    assert!(message.contains("out of order"), "{message}");
    let (line, _) = line_error(&format!("{header}\n{a}\n{a}\n"));
    assert_eq!(line, 3);
    // A blank line in the middle is not an entry.
    let (line, _) = line_error(&format!("{header}\n{a}\n\n{b}\n"));
    assert_eq!(line, 3);
    // A checkout with CRLF line ends reads the same (CR is JSON whitespace).
    assert_eq!(
        parse(&format!("{header}\r\n{a}\r\n")).unwrap(),
        parse(&format!("{header}\n{a}\n")).unwrap()
    );
}

#[test]
fn elf_only_on_files() {
    let data = sample();
    let text = render(&data);
    let elf_line = text.lines().find(|l| l.contains("\"elf\"")).unwrap();
    let as_dir = elf_line.replace(r#""kind":"file""#, r#""kind":"dir""#);
    let header = text.lines().next().unwrap();
    let (_, message) = line_error(&format!("{header}\n{as_dir}\n"));
    assert!(message.contains("ELF facts"), "{message}");
}

/// Damaged copies of real data: every truncation and a byte flipped at every
/// position of a few lines give a typed error or data, never a panic.
#[test]
fn hostile_input_never_panics() {
    let text = render(&sample());
    for end in 0..text.len() {
        if text.is_char_boundary(end) {
            let _ = parse(&text[..end]);
        }
    }
    let bytes = text.as_bytes();
    for i in 0..bytes.len().min(4000) {
        for flip in [b'"', b'}', b'\\', b'0', b'\n', b'/'] {
            let mut damaged = bytes.to_vec();
            damaged[i] = flip;
            if let Ok(s) = std::str::from_utf8(&damaged) {
                let _ = parse(s);
            }
        }
    }
    let deep = format!("{}\n", "[".repeat(100_000));
    assert!(parse(&deep).is_err());
}

#[test]
fn packages_file() {
    let p = parse_packages("libc6 2.36-9\n\nzlib1g 1:1.2.13\n").unwrap();
    assert_eq!(
        p,
        vec![
            ("libc6".to_string(), "2.36-9".to_string()),
            ("zlib1g".to_string(), "1:1.2.13".to_string())
        ]
    );
    let e = parse_packages("libc6 2.36\nbroken\n")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("line 2: "), "{e}");
    assert!(parse_packages("a b c\n").is_err());
}

#[test]
fn builder_default() {
    let d12 = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n";
    let d13 = "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"13\"\n";
    assert_eq!(default_for_builder(Some(d12)), "distroless/cc-debian12");
    assert_eq!(default_for_builder(Some(d13)), "distroless/cc-debian13");
    assert_eq!(
        default_for_builder(Some("VERSION_ID=13")),
        "distroless/cc-debian13"
    );
    assert_eq!(
        default_for_builder(Some("VERSION_ID=\"22.04\"")),
        "distroless/cc-debian12"
    );
    assert_eq!(default_for_builder(Some("")), "distroless/cc-debian12");
    assert_eq!(
        default_target(Some(d12), Some("arm64")),
        "distroless/cc-debian12:arm64"
    );
    assert_eq!(
        default_target(Some(d13), Some("amd64")),
        "distroless/cc-debian13"
    );
    assert_eq!(default_target(None, None), "distroless/cc-debian12");
    for arch in ["amd64", "arm64"] {
        let name = default_target(Some(d12), Some(arch));
        assert_eq!(embedded(&name).unwrap().info.arch, arch, "{name}");
    }
    assert_eq!(default_for_builder(None), "distroless/cc-debian12");
    for name in [
        default_for_builder(Some(d12)),
        default_for_builder(Some(d13)),
    ] {
        assert!(embedded_names().contains(&name));
    }
}

#[test]
fn unknown_target_lists_the_known_ones() {
    let e = embedded("distroless/nope-debian12").unwrap_err();
    assert!(matches!(e, TargetError::Unknown { .. }));
    assert!(e.to_string().contains("distroless/cc-debian12"), "{e}");
    assert!(embedded("distroless/cc-debian12:sparc").is_err());
    let amd = embedded("distroless/cc-debian12:amd64").unwrap();
    assert_eq!(amd, embedded("distroless/cc-debian12").unwrap());
}

#[test]
fn arch_abis() {
    assert_eq!(
        abi_for_arch("amd64").unwrap().interp,
        "/lib64/ld-linux-x86-64.so.2"
    );
    assert_eq!(
        abi_for_arch("arm64").unwrap().interp,
        "/lib/ld-linux-aarch64.so.1"
    );
    assert!(abi_for_arch("sparc64").is_none());
}

/// A small root: a merged-/usr symlink, modes, an omitted directory, an ELF
/// file (this test binary), and no loader.
#[test]
fn from_root_lists_everything() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("usr/lib")).unwrap();
    fs::create_dir_all(d.join("usr/share/doc/pkg")).unwrap();
    fs::write(d.join("usr/share/doc/pkg/copyright"), b"c").unwrap();
    symlink("copyright", d.join("usr/share/doc/pkg/link")).unwrap();
    symlink("usr/lib", d.join("lib")).unwrap();
    fs::create_dir(d.join("tmp")).unwrap();
    fs::set_permissions(d.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::copy(std::env::current_exe().unwrap(), d.join("usr/lib/prog")).unwrap();
    fs::write(d.join("usr/lib/data"), b"hello").unwrap();
    fs::set_permissions(d.join("usr/lib/data"), fs::Permissions::from_mode(0o640)).unwrap();

    let root = Root::new(d).unwrap();
    let mut i = info();
    i.interp = String::new();
    let data = from_root(&root, i).unwrap();
    assert_eq!(data.info.interp, "/lib64/ld-linux-x86-64.so.2");
    assert!(data.info.dirs.is_empty(), "no loader, no directories");
    assert_eq!(data.info.glibc, None);
    assert_eq!(data.get("/").unwrap().kind, EntryKind::Dir);
    assert_eq!(
        data.get("/lib").unwrap().kind,
        EntryKind::Symlink("usr/lib".into())
    );
    assert_eq!(data.get("/tmp").unwrap().mode, 0o1777);
    let file = data.get("/usr/lib/data").unwrap();
    assert_eq!(
        (file.mode, file.size, file.kind.clone()),
        (0o640, 5, EntryKind::File)
    );
    assert!(file.elf.is_none());
    assert!(data.get("/usr/lib/prog").unwrap().elf.is_some());
    assert!(
        data.get("/usr/share/doc").is_some(),
        "the omitted directory itself is listed"
    );
    assert!(data.get("/usr/share/doc/pkg").is_none());
    let doc = data.omitted.iter().find(|(p, _)| p == "/usr/share/doc/");
    assert_eq!(doc, Some(&("/usr/share/doc/".to_string(), 2)));
    assert_eq!(data.omitted.len(), OMITTED.len());
    assert_eq!(parse(&render(&data)).unwrap(), data);
}

#[test]
fn from_root_rejects_special_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let root = Root::new(dir.path()).unwrap();
    let e = from_root(&root, info()).unwrap_err().to_string();
    assert!(e.starts_with("/fifo: "), "{e}");
}

#[test]
fn from_root_rejects_a_broken_elf() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.so"), b"\x7fELF\x02\x01\x01").unwrap();
    let root = Root::new(dir.path()).unwrap();
    let e = from_root(&root, info()).unwrap_err();
    assert!(
        matches!(e, TargetError::Elf { ref path, .. } if path == "/bad.so"),
        "{e}"
    );
}

#[test]
fn from_root_unknown_arch() {
    let dir = tempfile::tempdir().unwrap();
    let root = Root::new(dir.path()).unwrap();
    let mut i = info();
    i.interp = String::new();
    i.arch = "sparc64".into();
    assert!(matches!(
        from_root(&root, i),
        Err(TargetError::UnknownArch(_))
    ));
}

#[test]
fn resolve_follows_symlinks_inside_the_listing() {
    let mut data = sample();
    for (path, kind) in [
        ("/usr", EntryKind::Dir),
        ("/usr/bin", EntryKind::Dir),
        ("/usr/lib", EntryKind::Dir),
        ("/lib", EntryKind::Symlink("usr/lib".into())),
        ("/usr/lib/abs", EntryKind::Symlink("/lib/x.so".into())),
        (
            "/usr/lib/up",
            EntryKind::Symlink("../../../usr/./lib/x.so".into()),
        ),
        ("/loop", EntryKind::Symlink("loop".into())),
    ] {
        let (k, e) = entry(path, 0o777, kind, 0);
        data.entries.insert(k, e);
    }
    let x = |p| data.resolve(p).map(|e| e.path.as_str());
    assert_eq!(x("/lib/x.so"), Some("/usr/lib/x.so"));
    assert_eq!(x("//lib/./x.so"), Some("/usr/lib/x.so"));
    assert_eq!(x("/usr/lib/abs"), Some("/usr/lib/x.so"));
    assert_eq!(x("/usr/lib/up"), Some("/usr/lib/x.so"));
    assert_eq!(x("/bin"), Some("/usr/bin"));
    assert_eq!(x("/"), Some("/"));
    assert_eq!(x("/../.."), Some("/"));
    assert_eq!(x("/lib/x.so/more"), None, "a file is not a directory");
    assert_eq!(x("/lib/nope.so"), None);
    assert_eq!(x("/loop"), None);
    assert_eq!(x("/loop/x"), None);
}
