//! Planning against a base image: what is copied, where, and the checks
//! of the final image. Builder and target are tiny roots built at test
//! time; the target is a directory (`--target DIR`).

mod common;
use common::World;

fn plan_json(
    builder: &World,
    target: &World,
    paths: &[&str],
    extra: &[&str],
) -> (Option<i32>, serde_json::Value) {
    let t = target.root.display().to_string();
    let mut args: Vec<&str> = paths.to_vec();
    args.extend(["--format", "json", "--target", &t]);
    args.extend_from_slice(extra);
    let o = builder.ldslim("scan", &args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("json: {e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), v)
}

fn items(v: &serde_json::Value) -> Vec<(String, String, String)> {
    v["plan"]["copy"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            let kind = match i["kind"]["type"].as_str().unwrap() {
                "symlink" => format!("-> {}", i["kind"]["target"].as_str().unwrap()),
                other => other.to_string(),
            };
            (
                i["dest"].as_str().unwrap().to_string(),
                i["src"].as_str().unwrap().to_string(),
                kind,
            )
        })
        .collect()
}

/// The soname link and the real file are copied, at their builder paths;
/// libc, which the target has, is not.
#[test]
fn copies_the_symlink_chain_of_a_missing_library() {
    let builder = World::new();
    builder.lib(
        "/usr/lib/x86_64-linux-gnu/libx.so.1.0.0",
        "libx.so.1",
        &[],
        &[],
    );
    builder.symlink("libx.so.1.0.0", "/usr/lib/x86_64-linux-gnu/libx.so.1");
    builder.exe(
        "/app/bin/app",
        &["/usr/lib/x86_64-linux-gnu/libx.so.1"],
        &[],
    );
    let target = World::new();
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        items(&v),
        vec![
            (
                "/usr/lib/x86_64-linux-gnu/libx.so.1".into(),
                "/usr/lib/x86_64-linux-gnu/libx.so.1".into(),
                "-> libx.so.1.0.0".into()
            ),
            (
                "/usr/lib/x86_64-linux-gnu/libx.so.1.0.0".into(),
                "/usr/lib/x86_64-linux-gnu/libx.so.1.0.0".into(),
                "file".into()
            ),
        ]
    );
    assert_eq!(v["plan"]["loads"], true);
    assert_eq!(
        v["plan"]["copy"]["items"][0]["chain"],
        serde_json::json!(["/app/bin/app"])
    );
}

/// Dependencies of copied libraries are planned too, and nothing the
/// target has is copied.
#[test]
fn transitive_dependencies_and_nothing_the_target_has() {
    let builder = World::new();
    builder.lib(
        "/usr/lib/x86_64-linux-gnu/libdeep.so.2",
        "libdeep.so.2",
        &[],
        &[],
    );
    builder.lib(
        "/usr/lib/x86_64-linux-gnu/libmid.so.1",
        "libmid.so.1",
        &["/usr/lib/x86_64-linux-gnu/libdeep.so.2"],
        &[],
    );
    builder.lib(
        "/usr/lib/x86_64-linux-gnu/libshared.so.1",
        "libshared.so.1",
        &[],
        &[],
    );
    builder.exe(
        "/app/bin/app",
        &[
            "/usr/lib/x86_64-linux-gnu/libmid.so.1",
            "/usr/lib/x86_64-linux-gnu/libshared.so.1",
        ],
        &[],
    );
    let target = World::new();
    target.lib(
        "/usr/lib/x86_64-linux-gnu/libshared.so.1",
        "libshared.so.1",
        &[],
        &[],
    );
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    assert_eq!(code, Some(0), "{v}");
    let dests: Vec<String> = items(&v).into_iter().map(|(d, _, _)| d).collect();
    assert_eq!(
        dests,
        vec![
            "/usr/lib/x86_64-linux-gnu/libdeep.so.2",
            "/usr/lib/x86_64-linux-gnu/libmid.so.1"
        ]
    );
    let deep = &v["plan"]["copy"]["items"][0];
    assert_eq!(
        deep["chain"],
        serde_json::json!(["/app/bin/app", "/usr/lib/x86_64-linux-gnu/libmid.so.1"])
    );
}

/// A library the builder finds only through its ld.so.cache (here in
/// /usr/local/lib) would not load in an image without a cache: it is
/// relocated into a default directory by default, or its directory goes
/// into LD_LIBRARY_PATH with `--fix env`.
#[test]
fn library_found_only_through_the_builders_cache() {
    let builder = World::new();
    builder.lib("/usr/local/lib/libcached.so.3", "libcached.so.3", &[], &[]);
    builder.exe("/app/bin/app", &["/usr/local/lib/libcached.so.3"], &[]);
    builder.ldconfig(&["/usr/local/lib"], "new");
    let target = World::new();
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        items(&v),
        vec![(
            "/lib/x86_64-linux-gnu/libcached.so.3".into(),
            "/usr/local/lib/libcached.so.3".into(),
            "file".into()
        )]
    );
    let (code, v) = plan_json(&builder, &target, &["/app"], &["--fix", "env"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(items(&v)[0].0, "/usr/local/lib/libcached.so.3");
    assert_eq!(
        v["plan"]["copy"]["env"],
        serde_json::json!([["LD_LIBRARY_PATH", "/usr/local/lib"]])
    );
}

/// A builder object that needs GLIBC_2.38 cannot run on a glibc 2.36
/// target: an error naming the object, the version and the provider.
#[test]
fn glibc_2_38_need_against_an_older_target() {
    let builder = World::new();
    let stub = builder.stub_versioned("libc.so.6", "glibc238.c", "glibc238.map");
    // A shared object, so the link needs no real libc start files (the
    // stub's soname libc.so.6 would hide the real one from the linker).
    builder.exe_from("uses238.c", "/app/bin/new", &[&stub], &["-shared", "-fPIC"]);
    let target = World::new();
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    assert_eq!(code, Some(1), "{v}");
    let versions = v["plan"]["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "{v}");
    assert_eq!(versions[0]["object"], "/app/bin/new");
    assert_eq!(versions[0]["version"], "GLIBC_2.38");
    assert_eq!(versions[0]["from"], "libc.so.6");
    assert_eq!(versions[0]["provider"], "/lib/x86_64-linux-gnu/libc.so.6");
    assert_eq!(versions[0]["provider_in_target"], true);
    assert_eq!(v["plan"]["loads"], false);
    let o = builder.ldslim(
        "scan",
        &["/app", "--target", &target.root.display().to_string()],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("error: /app/bin/new needs GLIBC_2.38 from libc.so.6, but the image's /lib/x86_64-linux-gnu/libc.so.6 defines up to GLIBC_2.3"),
        "{text}"
    );
}

/// A library missing from the builder too is reported as such.
#[test]
fn missing_everywhere_is_an_error() {
    let builder = World::new();
    let gone = builder.stub("libgone.so.1");
    builder.exe("/app/bin/app", &[&gone], &[]);
    let target = World::new();
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    assert_eq!(code, Some(1));
    let missing = &v["plan"]["missing"][0];
    assert_eq!(missing["name"], "libgone.so.1");
    assert_eq!(missing["reason"], "not found in the builder either");
}

/// The same need against the embedded cc-debian12 (glibc 2.36): the error
/// names the debian13 targets, whose libc defines GLIBC_2.38, as the way out.
#[test]
fn glibc_2_38_against_embedded_debian12_points_to_debian13() {
    let builder = World::new();
    let stub = builder.stub_versioned("libc.so.6", "glibc238.c", "glibc238.map");
    builder.exe_from("uses238.c", "/app/bin/new", &[&stub], &["-shared", "-fPIC"]);
    let o = builder.ldslim("scan", &["/app", "--target", "distroless/cc-debian12"]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("target: distroless/cc-debian12 (amd64, glibc 2.36, embedded)"),
        "{text}"
    );
    assert!(
        text.contains("error: /app/bin/new needs GLIBC_2.38 from libc.so.6, but the image's /lib/x86_64-linux-gnu/libc.so.6 defines up to GLIBC_2.36"),
        "{text}"
    );
    assert!(text.contains("use a target that has it (distroless/base-debian13, distroless/base-nossl-debian13, distroless/cc-debian13)"), "{text}");
    // debian13 satisfies it.
    let o = builder.ldslim(
        "scan",
        &[
            "/app",
            "--target",
            "distroless/cc-debian13",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plan"]["versions"], serde_json::json!([]), "{v}");
}

/// python:3.x-slim's case: the interpreter in /usr/local/bin needs
/// /usr/local/lib/libpython3.x.so.1.0, which the builder finds only
/// through its ld.so.cache. Both are in what the user copies, yet the
/// image's loader would not find the library: it is relocated too.
#[test]
fn scope_library_found_only_through_the_builders_cache() {
    let builder = World::new();
    builder.lib(
        "/usr/local/lib/libpython9.9.so.1.0",
        "libpython9.9.so.1.0",
        &[],
        &[],
    );
    builder.exe(
        "/usr/local/bin/python9.9",
        &["/usr/local/lib/libpython9.9.so.1.0"],
        &[],
    );
    builder.ldconfig(&["/usr/local/lib"], "new");
    let target = World::new();
    let (code, v) = plan_json(&builder, &target, &["/usr/local"], &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        items(&v),
        vec![(
            "/lib/x86_64-linux-gnu/libpython9.9.so.1.0".into(),
            "/usr/local/lib/libpython9.9.so.1.0".into(),
            "file".into()
        )]
    );
    let (code, v) = plan_json(&builder, &target, &["/usr/local"], &["--fix", "env"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(items(&v), vec![]);
    assert_eq!(
        v["plan"]["copy"]["env"],
        serde_json::json!([["LD_LIBRARY_PATH", "/usr/local/lib"]])
    );
}

/// A builder whose program finds libb through `/usr/local/lib/$PLATFORM`
/// (outside the scope), for the platforms named.
fn platform_builder(platforms: &[&str]) -> World {
    let b = World::new();
    for p in platforms {
        b.lib(
            &format!("/usr/local/lib/{p}/libb.so.1"),
            "libb.so.1",
            &[],
            &[],
        );
    }
    b.exe(
        "/app/bin/app",
        &[&format!("/usr/local/lib/{}/libb.so.1", platforms[0])],
        &[
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,/usr/local/lib/$PLATFORM",
        ],
    );
    b
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

/// An image runs on whatever CPU it is given: a library found through
/// `$PLATFORM` is copied for every kind of CPU the builder has it for,
/// and the final image is checked on each kind — here Xeon Phi has none.
#[test]
fn platform_dependent_library_is_planned_for_every_kind_of_cpu() {
    let builder = platform_builder(&["x86_64", "haswell"]);
    let target = World::new();
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    let dests: Vec<String> = items(&v).into_iter().map(|i| i.0).collect();
    assert_eq!(
        dests,
        [
            "/usr/local/lib/haswell/libb.so.1",
            "/usr/local/lib/x86_64/libb.so.1"
        ],
        "{v}"
    );
    assert_eq!(v["plan"]["loads"], false, "{v}");
    assert_eq!(code, Some(1));
    let missing = v["plan"]["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{v}");
    assert_eq!(missing[0]["name"], "libb.so.1");
    assert_eq!(names(&missing[0]["cpus"]), ["xeon_phi/x86-64-v3"]);
    // The builder's own resolution depends on the CPU too, and says how.
    let dep = &v["cpu_dependent"][0];
    assert_eq!(dep["object"], "/app/bin/app", "{v}");
    assert_eq!(dep["needed"], "libb.so.1");
    let outcomes = dep["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 3, "{v}");
    assert_eq!(outcomes[0]["path"], "/usr/local/lib/x86_64/libb.so.1");
    assert_eq!(outcomes[1]["path"], "/usr/local/lib/haswell/libb.so.1");
    assert_eq!(
        names(&outcomes[1]["cpus"]),
        ["haswell/x86-64-v3", "haswell/x86-64-v4"]
    );
    assert!(outcomes[2]["path"].is_null());
    // The text says which CPUs the image fails on.
    let t = target.root.display().to_string();
    let o = builder.ldslim("scan", &["/app", "--target", &t]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(
            "error: libb.so.1 needed by /app/bin/app will not load in the image on xeon_phi/x86-64-v3: not found in the builder either"
        ),
        "{text}"
    );

    // With a build for every platform, every kind of CPU loads.
    let builder = platform_builder(&["x86_64", "haswell", "xeon_phi"]);
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["plan"]["loads"], true, "{v}");
    assert_eq!(items(&v).len(), 3, "{v}");
    assert_eq!(
        v["plan"]["cpu_dependent"][0]["outcomes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let o = builder.ldslim("scan", &["/app", "--target", &t]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("final image: all 1 objects of the scope load on every kind of CPU (1 library is found differently by kind of CPU, each kind checked)"),
        "{text}"
    );
}

/// The image built from that plan, run by glibc on emulated CPUs: the
/// program loads the Haswell build on Intel's Haswell and the x86_64 one
/// on AMD's, from exactly the files ldslim emitted.
#[test]
#[ignore = "needs root and qemu-user-static; run scripts/test.sh"]
fn platform_dependent_image_loads_on_emulated_cpus() {
    let builder = platform_builder(&["x86_64", "haswell", "xeon_phi"]);
    let image = World::new();
    let copy = format!("copy={}", image.root.display());
    let t = image.root.display().to_string();
    let o = builder.ldslim("scan", &["/app", "--target", &t, "--emit", &copy]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The user's own COPY of the scope.
    std::fs::create_dir_all(image.host("/app/bin")).unwrap();
    std::fs::copy(builder.host("/app/bin/app"), image.host("/app/bin/app")).unwrap();
    for cpu in common::EMULATED {
        let platform = if cpu.platform == "haswell" {
            "haswell"
        } else {
            "x86_64"
        };
        assert_eq!(
            image.glibc_on(cpu, "/app/bin/app")[0],
            format!("\tlibb.so.1 => /usr/local/lib/{platform}/libb.so.1"),
            "{}",
            cpu.model
        );
    }
}

/// A builder whose scope is arm64 (an x86-64 program with its ELF
/// machine set to aarch64: the target is chosen by the scope's
/// architecture before anything is loaded).
fn arm64_world() -> World {
    let w = World::new();
    w.exe("/usr/bin/app", &[], &[]);
    w.patch("/usr/bin/app", 18, &183u16.to_le_bytes());
    w.write("/etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n");
    w
}

#[test]
fn the_default_target_follows_the_scopes_architecture() {
    let w = arm64_world();
    let o = w.ldslim("scan", &["/usr/bin/app", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(
        v["plan"]["target"],
        "distroless/cc-debian12 (arm64, glibc 2.36, embedded)"
    );
    // An amd64 scope keeps the amd64 image.
    let amd64 = World::new();
    amd64.exe("/usr/bin/app", &[], &[]);
    let o = amd64.ldslim("scan", &["/usr/bin/app", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["plan"]["target"],
        "distroless/cc-debian12 (amd64, glibc 2.36, embedded)"
    );
}

#[test]
fn a_target_of_another_architecture_is_an_error_saying_which_is_which() {
    let w = arm64_world();
    let o = w.ldslim(
        "scan",
        &["/usr/bin/app", "--target", "distroless/cc-debian12"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "target distroless/cc-debian12 is amd64, but the scope is arm64 (/usr/bin/app is)"
        ) && err.contains("distroless/cc-debian12:arm64"),
        "{err}"
    );
    // An extracted image of the other architecture: its loader says so.
    let amd64 = World::new();
    let t = amd64.root.display().to_string();
    let o = w.ldslim("scan", &["/usr/bin/app", "--target", &t]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is amd64, but the scope is arm64"), "{err}");
    // The same scope of the right architecture plans.
    let o = w.ldslim(
        "scan",
        &["/usr/bin/app", "--target", "distroless/cc-debian12:arm64"],
    );
    assert_ne!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A wheel's vendored library needs a sibling it finds only through the
/// DT_RPATH of the extension module that loads it (inherited by the
/// libraries that module loads). Loaded on its own it fails; as the
/// module's dependency it loads. The scan warns instead of reporting it,
/// and the plan copies nothing for it; a module that loads the vendored
/// library without that RPATH still fails, and is reported alone.
#[test]
fn vendored_library_that_fails_only_on_its_own() {
    let builder = World::new();
    builder.lib("/app/pkg/libs/libsib.so", "libsib.so", &[], &[]);
    builder.lib(
        "/app/pkg/libs/libvend.so",
        "libvend.so",
        &["/app/pkg/libs/libsib.so"],
        &[],
    );
    builder.lib(
        "/app/pkg/ext.so",
        "ext.so",
        &["/app/pkg/libs/libvend.so"],
        &["-Wl,--disable-new-dtags,-rpath,$ORIGIN/libs"],
    );
    let target = World::new();
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["unresolved"], serde_json::json!([]), "{v:#}");
    let warned: Vec<&serde_json::Value> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| {
            w["needed"] == "libsib.so"
                && w["message"]
                    .as_str()
                    .unwrap()
                    .contains("not found when loaded on its own")
        })
        .collect();
    assert_eq!(warned.len(), 1, "{v:#}");
    assert_eq!(warned[0]["object"], "/app/pkg/libs/libvend.so");
    assert!(
        warned[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("resolves when loaded as a dependency (e.g. of /app/pkg/ext.so)"),
        "{v:#}"
    );
    assert_eq!(v["plan"]["missing"], serde_json::json!([]), "{v:#}");
    assert!(
        items(&v)
            .iter()
            .all(|(dest, _, _)| !dest.contains("libsib")),
        "{v:#}"
    );

    // Another module reaches the vendored library by its RUNPATH, which
    // its dependencies do not inherit: the sibling is missing there, and
    // that load (not the standalone one) is the finding.
    builder.lib(
        "/app/other/ext2.so",
        "ext2.so",
        &["/app/pkg/libs/libvend.so"],
        &["-Wl,--enable-new-dtags,-rpath,$ORIGIN/../pkg/libs"],
    );
    let (code, v) = plan_json(&builder, &target, &["/app"], &[]);
    assert_eq!(code, Some(1), "{v:#}");
    let unresolved = v["unresolved"].as_array().unwrap();
    assert_eq!(unresolved.len(), 1, "{v:#}");
    assert_eq!(unresolved[0]["name"], "libsib.so");
    assert_eq!(unresolved[0]["needed_by"], "/app/pkg/libs/libvend.so");
    assert_eq!(
        unresolved[0]["entries"],
        serde_json::json!(["/app/other/ext2.so"]),
        "{v:#}"
    );
    let missing = v["plan"]["missing"].as_array().unwrap();
    assert!(
        missing.iter().all(|m| m["entry"] == "/app/other/ext2.so"),
        "{v:#}"
    );
    assert!(!missing.is_empty(), "{v:#}");
}
