//! The emitters of a copy plan against a tiny builder root: a symlink chain
//! `libz.so.1 -> libz.so.1.2.13`, a directory reached through `lib ->
//! usr/lib`, a relocation, a path longer than a tar header holds, and an
//! environment variable.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use ldslim::emit::{self, CopySummary, EmitError, TarSummary};
use ldslim::plan::{CopyItem, CopyKind, CopyPlan};
use ldslim::rootfs::Root;

const MULTIARCH: &str = "/usr/lib/x86_64-linux-gnu";
const PROPACK: &str = "/usr/local/lib/python3.11/site-packages/scipy/sparse/linalg/_propack";

struct Builder {
    dir: tempfile::TempDir,
    root: Root,
    plan: CopyPlan,
}

fn put(root: &Path, inside: &str, data: &[u8], mode: u32) {
    let host = root.join(inside.trim_start_matches('/'));
    fs::create_dir_all(host.parent().unwrap()).unwrap();
    fs::write(&host, data).unwrap();
    fs::set_permissions(&host, fs::Permissions::from_mode(mode)).unwrap();
}

fn file(dest: &str, src: &str, mode: u32, size: u64, needed_as: &str) -> CopyItem {
    CopyItem {
        dest: dest.into(),
        src: src.into(),
        kind: CopyKind::File { mode, size },
        needed_as: needed_as.into(),
        chain: vec!["/usr/local/bin/python3.11".into()],
    }
}

fn builder() -> Builder {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path();
    put(
        b,
        &format!("{MULTIARCH}/libz.so.1.2.13"),
        b"zlib 1.2.13\n",
        0o644,
    );
    symlink(
        "libz.so.1.2.13",
        b.join("usr/lib/x86_64-linux-gnu/libz.so.1"),
    )
    .unwrap();
    put(b, &format!("{MULTIARCH}/libffi.so.8"), b"ffi", 0o644);
    symlink("usr/lib", b.join("lib")).unwrap();
    put(b, "/opt/app/lib/libapp.so", b"app\0", 0o755);
    put(b, "/opt/venv/lib/libvenv.so.1", b"venv", 0o644);
    let d = format!("{PROPACK}/_dpropack.cpython-311-x86_64-linux-gnu.so");
    let s = format!("{PROPACK}/_spropack.cpython-311-x86_64-linux-gnu.so");
    put(b, &d, b"dpropack", 0o755);
    put(b, &s, b"spropack!", 0o755);

    let mut items = vec![
        // The builder reaches it through `lib -> usr/lib`; a target that
        // is not usr-merged has a real /lib.
        file(
            "/lib/x86_64-linux-gnu/libffi.so.8",
            "/lib/x86_64-linux-gnu/libffi.so.8",
            0o644,
            3,
            "libffi.so.8",
        ),
        file(
            "/opt/venv/lib/libvenv.so.1",
            "/opt/venv/lib/libvenv.so.1",
            0o644,
            4,
            "libvenv.so.1",
        ),
        // Relocated into a default directory of the target's loader.
        file(
            &format!("{MULTIARCH}/libapp.so"),
            "/opt/app/lib/libapp.so",
            0o755,
            4,
            "libapp.so",
        ),
        CopyItem {
            dest: format!("{MULTIARCH}/libz.so.1"),
            src: format!("{MULTIARCH}/libz.so.1"),
            kind: CopyKind::Symlink {
                target: "libz.so.1.2.13".into(),
            },
            needed_as: "libz.so.1".into(),
            chain: vec![],
        },
        file(
            &format!("{MULTIARCH}/libz.so.1.2.13"),
            &format!("{MULTIARCH}/libz.so.1.2.13"),
            0o644,
            12,
            "libz.so.1",
        ),
        file(
            &d,
            &d,
            0o755,
            8,
            "_dpropack.cpython-311-x86_64-linux-gnu.so",
        ),
        file(
            &s,
            &s,
            0o755,
            9,
            "_spropack.cpython-311-x86_64-linux-gnu.so",
        ),
    ];
    items.sort();
    let plan = CopyPlan {
        target: "distroless/cc-debian12".into(),
        items,
        env: vec![("LD_LIBRARY_PATH".into(), "/opt/venv/lib".into())],
        trees: vec![],
    };
    let root = Root::new(dir.path()).unwrap();
    Builder { dir, root, plan }
}

fn gnu_tar_available() -> bool {
    let ok = Command::new("tar")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("GNU"));
    if !ok {
        common::cannot_run("GNU tar not found: the part of this test that runs it");
    }
    ok
}

/// Every entry of a tarball: name, type, link text, mode, uid, gid,
/// mtime, user and group names, contents.
#[derive(Debug, PartialEq)]
struct Entry {
    path: String,
    kind: char,
    link: Option<String>,
    mode: u32,
    owner: (u64, u64),
    mtime: u64,
    names: (Vec<u8>, Vec<u8>),
    data: Vec<u8>,
}

fn read_tar(path: &Path) -> Vec<Entry> {
    let mut archive = tar::Archive::new(fs::File::open(path).unwrap());
    let mut out = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(Entry {
            path: e.path().unwrap().to_string_lossy().into_owned(),
            kind: h.entry_type().as_byte() as char,
            link: e
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned()),
            mode: h.mode().unwrap(),
            owner: (h.uid().unwrap(), h.gid().unwrap()),
            mtime: h.mtime().unwrap(),
            names: (
                h.username_bytes().unwrap_or_default().to_vec(),
                h.groupname_bytes().unwrap_or_default().to_vec(),
            ),
            data,
        });
    }
    out
}

#[test]
fn list_is_relative_sorted_and_feeds_gnu_tar() {
    let b = builder();
    let mut out = Vec::new();
    let moved = emit::list(&mut out, &b.plan).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        format!(
            "lib/x86_64-linux-gnu/libffi.so.8\n\
             opt/venv/lib/libvenv.so.1\n\
             usr/lib/x86_64-linux-gnu/libz.so.1\n\
             usr/lib/x86_64-linux-gnu/libz.so.1.2.13\n\
             {p}/_dpropack.cpython-311-x86_64-linux-gnu.so\n\
             {p}/_spropack.cpython-311-x86_64-linux-gnu.so\n",
            p = PROPACK.trim_start_matches('/')
        )
    );
    // The relocation cannot be said by a list of builder paths.
    let moved: Vec<&str> = moved.iter().map(|i| i.dest.as_str()).collect();
    assert_eq!(moved, [format!("{MULTIARCH}/libapp.so")]);

    if !gnu_tar_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let list = work.path().join("list");
    fs::write(&list, &text).unwrap();
    let layer = work.path().join("layer.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(b.dir.path())
        .arg("-cf")
        .arg(&layer)
        .arg("-T")
        .arg(&list)
        .status()
        .unwrap();
    assert!(status.success());
    let entries = read_tar(&layer);
    let names: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let expected: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(names, expected);
    let z = entries
        .iter()
        .find(|e| e.path.ends_with("libz.so.1"))
        .unwrap();
    assert_eq!((z.kind, z.link.as_deref()), ('2', Some("libz.so.1.2.13")));
    let ffi = entries
        .iter()
        .find(|e| e.path.ends_with("libffi.so.8"))
        .unwrap();
    assert_eq!(ffi.data, b"ffi");

    // The same list with absolute lines: GNU tar ignores -C for them and
    // reads the host's own files (here: fails, the host has no
    // /opt/venv/lib/libvenv.so.1) — why the lines are relative.
    let abs: String = text.lines().map(|l| format!("/{l}\n")).collect();
    fs::write(&list, abs).unwrap();
    let out = Command::new("tar")
        .arg("-C")
        .arg(b.dir.path())
        .arg("-cf")
        .arg(work.path().join("abs.tar"))
        .arg("-T")
        .arg(&list)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/opt/venv/lib/libvenv.so.1"), "{err}");
}

#[test]
fn dockerfile_text() {
    let b = builder();
    let mut out = Vec::new();
    emit::dockerfile(&mut out, &b.plan, "builder").unwrap();
    let text = String::from_utf8(out).unwrap();
    let expected = format!(
        "# ldslim: files for distroless/cc-debian12\n\
         # COPY dereferences a source that is a symlink, so links are copied as the files they \
         point to, under the link's name; --emit tar= keeps links exactly (ADD of a local tar \
         keeps symlinks).\n\
         COPY --from=builder /lib/x86_64-linux-gnu/libffi.so.8 /lib/x86_64-linux-gnu/\n\
         COPY --from=builder /opt/venv/lib/libvenv.so.1 /opt/venv/lib/\n\
         COPY --from=builder \\\n    \
         {p}/_dpropack.cpython-311-x86_64-linux-gnu.so \\\n    \
         {p}/_spropack.cpython-311-x86_64-linux-gnu.so \\\n    \
         {p}/\n\
         COPY --from=builder /opt/app/lib/libapp.so {m}/libapp.so\n\
         COPY --from=builder {m}/libz.so.1.2.13 {m}/libz.so.1\n\
         ENV LD_LIBRARY_PATH=/opt/venv/lib\n",
        p = PROPACK,
        m = MULTIARCH
    );
    assert_eq!(text, expected);
}

#[test]
fn tar_layer_reads_back_exactly_and_is_reproducible() {
    let b = builder();
    let out = tempfile::tempdir().unwrap();
    let one = out.path().join("one.tar");
    let two = out.path().join("two.tar");
    let summary = emit::tar_with_mtime(&one, &b.plan, &b.root, 0).unwrap();
    assert_eq!(
        summary,
        TarSummary {
            directories: 16,
            files: 6,
            symlinks: 1,
            bytes: 3 + 4 + 4 + 12 + 8 + 9,
        }
    );
    emit::tar_with_mtime(&two, &b.plan, &b.root, 0).unwrap();
    assert_eq!(fs::read(&one).unwrap(), fs::read(&two).unwrap());
    // Nothing but the two archives: the temporary files were renamed.
    let mut left: Vec<_> = fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["one.tar", "two.tar"]);

    let dir = |path: &str| Entry {
        path: path.into(),
        kind: '5',
        link: None,
        mode: 0o755,
        owner: (0, 0),
        mtime: 0,
        names: (vec![], vec![]),
        data: vec![],
    };
    let reg = |path: &str, mode: u32, data: &[u8]| Entry {
        kind: '0',
        mode,
        data: data.to_vec(),
        ..dir(path)
    };
    let p = PROPACK.trim_start_matches('/');
    let expected = vec![
        dir("lib/"),
        dir("lib/x86_64-linux-gnu/"),
        reg("lib/x86_64-linux-gnu/libffi.so.8", 0o644, b"ffi"),
        dir("opt/"),
        dir("opt/venv/"),
        dir("opt/venv/lib/"),
        reg("opt/venv/lib/libvenv.so.1", 0o644, b"venv"),
        dir("usr/"),
        dir("usr/lib/"),
        dir("usr/lib/x86_64-linux-gnu/"),
        reg("usr/lib/x86_64-linux-gnu/libapp.so", 0o755, b"app\0"),
        Entry {
            kind: '2',
            link: Some("libz.so.1.2.13".into()),
            mode: 0o777,
            ..dir("usr/lib/x86_64-linux-gnu/libz.so.1")
        },
        reg(
            "usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
            0o644,
            b"zlib 1.2.13\n",
        ),
        dir("usr/local/"),
        dir("usr/local/lib/"),
        dir("usr/local/lib/python3.11/"),
        dir("usr/local/lib/python3.11/site-packages/"),
        dir("usr/local/lib/python3.11/site-packages/scipy/"),
        dir("usr/local/lib/python3.11/site-packages/scipy/sparse/"),
        dir("usr/local/lib/python3.11/site-packages/scipy/sparse/linalg/"),
        dir(&format!("{p}/")),
        reg(
            &format!("{p}/_dpropack.cpython-311-x86_64-linux-gnu.so"),
            0o755,
            b"dpropack",
        ),
        reg(
            &format!("{p}/_spropack.cpython-311-x86_64-linux-gnu.so"),
            0o755,
            b"spropack!",
        ),
    ];
    assert_eq!(read_tar(&one), expected);

    // SOURCE_DATE_EPOCH's value goes into every entry.
    let dated = out.path().join("dated.tar");
    emit::tar_with_mtime(&dated, &b.plan, &b.root, 1_700_000_000).unwrap();
    assert!(read_tar(&dated).iter().all(|e| e.mtime == 1_700_000_000));

    if gnu_tar_available() {
        // GNU tar extracts it: the long names and the link come out whole.
        let x = tempfile::tempdir().unwrap();
        let status = Command::new("tar")
            .arg("-C")
            .arg(x.path())
            .arg("-xf")
            .arg(&one)
            .status()
            .unwrap();
        assert!(status.success());
        let link = x.path().join("usr/lib/x86_64-linux-gnu/libz.so.1");
        assert_eq!(
            fs::read_link(&link).unwrap(),
            PathBuf::from("libz.so.1.2.13")
        );
        assert_eq!(fs::read(&link).unwrap(), b"zlib 1.2.13\n");
        let long = x
            .path()
            .join(p)
            .join("_dpropack.cpython-311-x86_64-linux-gnu.so");
        assert_eq!(fs::read(long).unwrap(), b"dpropack");
    }
}

#[test]
fn tar_keeps_a_long_link_text_byte_for_byte() {
    let b = builder();
    // Longer than the 100 bytes of a tar header's link field, with a
    // `./` and a `//` the tar crate's path handling would rewrite.
    let target = format!(
        "./../../local/lib/python3.11/site-packages/scipy/sparse/linalg//_propack/{}",
        "_dpropack.cpython-311-x86_64-linux-gnu.so"
    );
    assert!(target.len() > 100);
    symlink(
        &target,
        b.dir.path().join("usr/lib/x86_64-linux-gnu/libdp.so"),
    )
    .unwrap();
    let short = "./libz.so.1.2.13";
    symlink(
        short,
        b.dir.path().join("usr/lib/x86_64-linux-gnu/libzz.so"),
    )
    .unwrap();
    let link = |name: &str, target: &str| CopyItem {
        dest: format!("{MULTIARCH}/{name}"),
        src: format!("{MULTIARCH}/{name}"),
        kind: CopyKind::Symlink {
            target: target.into(),
        },
        needed_as: name.into(),
        chain: vec![],
    };
    let plan = CopyPlan {
        items: vec![link("libdp.so", &target), link("libzz.so", short)],
        ..Default::default()
    };
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("l.tar");
    emit::tar_with_mtime(&path, &plan, &b.root, 0).unwrap();
    let links: Vec<(String, Option<String>)> = read_tar(&path)
        .into_iter()
        .filter(|e| e.kind == '2')
        .map(|e| (e.path, e.link))
        .collect();
    assert_eq!(
        links,
        [
            (
                "usr/lib/x86_64-linux-gnu/libdp.so".to_string(),
                Some(target.clone())
            ),
            (
                "usr/lib/x86_64-linux-gnu/libzz.so".to_string(),
                Some(short.to_string())
            ),
        ]
    );
}

#[test]
fn a_builder_that_differs_from_the_plan_is_an_error_naming_the_file() {
    let b = builder();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("layer.tar");
    let mut cases: Vec<(CopyPlan, &str, &str)> = Vec::new();
    let with = |f: &dyn Fn(&mut CopyItem)| {
        let mut plan = b.plan.clone();
        let i = plan
            .items
            .iter()
            .position(|i| i.src.ends_with("libz.so.1.2.13"))
            .unwrap();
        f(&mut plan.items[i]);
        plan
    };
    cases.push((
        with(&|i| {
            i.kind = CopyKind::File {
                mode: 0o644,
                size: 13,
            }
        }),
        "libz.so.1.2.13",
        "13 bytes",
    ));
    cases.push((
        with(&|i| i.src = format!("{MULTIARCH}/libz.so.1")),
        "libz.so.1",
        "a symbolic link",
    ));
    cases.push((
        with(&|i| {
            i.kind = CopyKind::Symlink {
                target: "libz.so.1.2.11".into(),
            }
        }),
        "libz.so.1.2.13",
        "a symbolic link to libz.so.1.2.11",
    ));
    cases.push((
        with(&|i| i.src = "/usr/lib/nowhere/libz.so.1.2.13".into()),
        "/usr/lib/nowhere/libz.so.1.2.13",
        "no such file",
    ));
    for (plan, names, says) in cases {
        let e = emit::tar_with_mtime(&path, &plan, &b.root, 0).unwrap_err();
        assert!(
            matches!(
                e,
                EmitError::SourceMismatch { .. } | EmitError::SourceMissing { .. }
            ),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains(names) && text.contains(says),
            "{text} / {names} / {says}"
        );
        // No archive, and no temporary file left behind.
        assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
    }
    // A plan path with `..` is refused before anything is read.
    let mut plan = b.plan.clone();
    plan.items[0].dest = "/usr/../../etc/passwd".into();
    let e = emit::tar_with_mtime(&path, &plan, &b.root, 0).unwrap_err();
    assert!(matches!(e, EmitError::PlanPath { .. }), "{e:?}");
}

/// Every path under `dir`, relative, sorted, symlinks not followed.
fn tree(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

/// An extracted base image: usr-merged (`lib -> usr/lib`), with a hostile
/// absolute symlink to `/` and a relative one climbing out.
fn image(outer: &Path) -> PathBuf {
    let img = outer.join("img");
    fs::create_dir_all(img.join("usr/lib/x86_64-linux-gnu")).unwrap();
    symlink("usr/lib", img.join("lib")).unwrap();
    symlink("/", img.join("evil")).unwrap();
    symlink("../../../../../../..", img.join("usr/up")).unwrap();
    fs::canonicalize(img).unwrap()
}

#[test]
fn copy_stays_inside_the_directory_and_is_idempotent() {
    let b = builder();
    let outer = tempfile::tempdir().unwrap();
    let img = image(outer.path());
    let outer_abs = fs::canonicalize(outer.path()).unwrap();
    let mut plan = b.plan.clone();
    // Both would land in `outer` if a symlink were followed on the host.
    for dest in [
        format!("/evil{}/pwned.so", outer_abs.display()),
        format!("/usr/up{}/pwned2.so", outer_abs.display()),
    ] {
        plan.items
            .push(file(&dest, "/opt/venv/lib/libvenv.so.1", 0o644, 4, "x"));
    }
    plan.items.sort();

    let summary = emit::copy(&img, &plan, &b.root, false).unwrap();
    assert_eq!(
        summary,
        CopySummary {
            files_added: 8,
            symlinks_added: 1,
            dirs_created: 11 + outer_abs.components().count() - 1,
            unchanged: 0,
            replaced: 0,
            bytes_added: 3 + 4 + 4 + 12 + 8 + 9 + 4 + 4,
        }
    );
    assert_eq!(
        tree(outer.path())
            .iter()
            .filter(|p| !p.starts_with("img"))
            .count(),
        0
    );
    let inside_outer = img.join(outer_abs.strip_prefix("/").unwrap());
    assert_eq!(fs::read(inside_outer.join("pwned.so")).unwrap(), b"venv");
    assert_eq!(fs::read(inside_outer.join("pwned2.so")).unwrap(), b"venv");

    // `lib -> usr/lib` was followed inside the image and kept a link.
    assert!(
        fs::symlink_metadata(img.join("lib"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let m = img.join("usr/lib/x86_64-linux-gnu");
    assert_eq!(fs::read(m.join("libffi.so.8")).unwrap(), b"ffi");
    assert_eq!(
        fs::read_link(m.join("libz.so.1")).unwrap(),
        PathBuf::from("libz.so.1.2.13")
    );
    assert_eq!(fs::read(m.join("libz.so.1")).unwrap(), b"zlib 1.2.13\n");
    let app = fs::metadata(m.join("libapp.so")).unwrap();
    assert_eq!(app.mode() & 0o7777, 0o755);
    let z = fs::metadata(m.join("libz.so.1.2.13")).unwrap();
    assert_eq!(z.mode() & 0o7777, 0o644);
    let venv_dir = fs::metadata(img.join("opt/venv/lib")).unwrap();
    assert_eq!(venv_dir.mode() & 0o7777, 0o755);
    // No temporary names left beside the files.
    assert!(!tree(&img).iter().any(|p| p.contains(".ldslim.")));

    let before = tree(&img);
    let again = emit::copy(&img, &plan, &b.root, false).unwrap();
    assert_eq!(
        again,
        CopySummary {
            unchanged: plan.items.len(),
            ..Default::default()
        }
    );
    assert_eq!(tree(&img), before);
}

#[test]
fn copy_never_replaces_silently() {
    let b = builder();
    let outer = tempfile::tempdir().unwrap();
    let img = image(outer.path());
    let m = img.join("usr/lib/x86_64-linux-gnu");
    fs::write(m.join("libz.so.1.2.13"), b"zlib 1.2.11\n").unwrap();
    symlink("libz.so.1.2.11", m.join("libz.so.1")).unwrap();
    let before = tree(&img);

    let e = emit::copy(&img, &b.plan, &b.root, false).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, EmitError::Exists { .. }), "{e:?}");
    assert!(
        text.contains(&format!("{}", m.join("libz.so.1").display()))
            && text.contains("a symbolic link to libz.so.1.2.11"),
        "{text}"
    );
    // The checks come first: nothing was written.
    assert_eq!(tree(&img), before);

    // Only the file differing.
    fs::remove_file(m.join("libz.so.1")).unwrap();
    symlink("libz.so.1.2.13", m.join("libz.so.1")).unwrap();
    let e = emit::copy(&img, &b.plan, &b.root, false).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("{}", m.join("libz.so.1.2.13").display())),
        "{e}"
    );
    assert!(e.to_string().contains("other contents"), "{e}");

    let forced = emit::copy(&img, &b.plan, &b.root, true).unwrap();
    assert_eq!((forced.replaced, forced.unchanged), (1, 1));
    assert_eq!(
        fs::read(m.join("libz.so.1.2.13")).unwrap(),
        b"zlib 1.2.13\n"
    );
    assert_eq!(
        fs::metadata(m.join("libz.so.1.2.13")).unwrap().mode() & 0o7777,
        0o644
    );
}

#[test]
fn copy_refuses_what_is_in_the_way() {
    let b = builder();
    let outer = tempfile::tempdir().unwrap();
    let img = image(outer.path());
    // /opt is a link to nowhere: creating its target would be a guess.
    symlink("/nonexistent", img.join("opt")).unwrap();
    let e = emit::copy(&img, &b.plan, &b.root, true).unwrap_err();
    assert!(e.to_string().contains("leads nowhere"), "{e}");
    fs::remove_file(img.join("opt")).unwrap();
    // A directory where a library goes is never replaced, even by force.
    fs::create_dir_all(img.join("opt/venv/lib/libvenv.so.1")).unwrap();
    let e = emit::copy(&img, &b.plan, &b.root, true).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
}
