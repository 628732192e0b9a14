//! The plan as Dockerfile lines: `COPY --from=STAGE` grouped by
//! destination directory, one `COPY` per item that changes name, then `ENV`.
//!
//! # Symlinks
//!
//! A `COPY` source that is itself a symlink is dereferenced: BuildKit's
//! Dockerfile frontend builds every `COPY`/`ADD` with
//! `llb.CopyInfo{FollowSymlinks: true, ...}`
//! (moby/buildkit `frontend/dockerfile/dockerfile2llb/convert_copy.go`),
//! the file op passes it on as `ci.FollowLinks`
//! (`solver/llbsolver/file/backend.go`), and fsutil's `copy.Copy` then
//! resolves the whole source path, last component included
//! (`rootPath` → `fs.RootPath` in `tonistiigi/fsutil/copy/copy.go`) while
//! naming the copy `filepath.Base(src)` when the destination is a
//! directory (`prepareTargetDir`; a destination ending in `/` is created
//! as a directory first). So `COPY --from=b /l/libz.so.1 /l/` puts
//! a regular file named `libz.so.1` holding the link target's bytes; the
//! link itself cannot be kept by a single-file `COPY` (moby/moby#40449,
//! "Dockerfile COPY from image resolves symbolic links", is this very
//! case). Only links *inside* a copied directory are kept.
//!
//! What is emitted instead: a link whose target file (following links of
//! the plan) is also in the plan gets that file's bytes directly under the
//! link's name (`COPY --from=b /l/libz.so.1.2.13 /l/libz.so.1`), which is
//! all the loader opens. The target file (or an intermediate link) is then
//! copied under its own name only if that name is needed too — its
//! `needed_as` is its own file name — so the same bytes are not copied
//! twice when only the soname is looked up. A link whose target is not in
//! the plan is copied by its own path: BuildKit dereferences it inside the
//! builder stage, giving the right bytes under the link's name. A comment
//! says that `--emit tar=` keeps links exactly: `ADD` of a local tar
//! unpacks it, links included.
//!
//! Paths are written bare when they hold only characters no Dockerfile
//! parser treats specially, in the JSON form when they also hold spaces
//! (the form the Dockerfile reference requires for whitespace), and are
//! refused otherwise (quotes, `$`, `\`, wildcards `*?[`, control
//! characters): COPY expands variables, escapes and wildcards in its
//! sources, and a path that might be read differently is better emitted
//! by `--emit tar=` or `--emit copy=`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{self, Write};

use super::{EmitError, check};
use crate::copyset::{CopyItem, CopyKind, CopyPlan};

/// As many links as the kernel follows in one lookup (`MAXSYMLINKS`).
const MAX_HOPS: usize = 40;

/// Write the Dockerfile lines that add `plan` from the stage (or image)
/// `stage`, starting with a comment naming the plan's target.
pub fn dockerfile(out: &mut dyn Write, plan: &CopyPlan, stage: &str) -> io::Result<()> {
    let text = render(plan, stage).map_err(EmitError::into_io)?;
    out.write_all(text.as_bytes())
}

/// Items no `COPY --from` can add: files ldslim writes, which the builder
/// does not have (a `COPY` of the builder's own `/etc/ld.so.cache` would
/// copy something else).
pub fn not_in_builder(plan: &CopyPlan) -> Vec<&CopyItem> {
    plan.items
        .iter()
        .filter(|i| matches!(i.kind, CopyKind::Generated { .. }))
        .collect()
}

fn render(plan: &CopyPlan, stage: &str) -> Result<String, EmitError> {
    let generated = not_in_builder(plan);
    let copied = CopyPlan {
        target: plan.target.clone(),
        items: plan
            .items
            .iter()
            .filter(|i| !matches!(i.kind, CopyKind::Generated { .. }))
            .cloned()
            .collect(),
        env: plan.env.clone(),
        trees: plan.trees.clone(),
    };
    let mut text = render_copies(&copied, stage)?;
    for item in generated {
        text.push_str(&format!(
            "# not from the builder: {} is written by ldslim ({}); --emit copy=DIR or tar=FILE include it\n",
            item.dest,
            item.chain.first().map_or("", String::as_str)
        ));
    }
    Ok(text)
}

fn render_copies(plan: &CopyPlan, stage: &str) -> Result<String, EmitError> {
    check::plan(plan)?;
    if stage.is_empty() || !matches!(quoting("stage", stage), Ok(Quoting::Bare)) {
        return Err(EmitError::Unwritable {
            what: "stage",
            value: stage.into(),
            problem: "a stage name must be one plain word",
        });
    }
    // A directory copied whole is one `COPY`, which keeps the links inside
    // it; its items are not written again.
    let in_tree = |dest: &str| {
        plan.trees.iter().any(|t| {
            dest.strip_prefix(t.as_str())
                .is_some_and(|r| r.starts_with('/'))
        })
    };
    let outside: Vec<&CopyItem> = plan.items.iter().filter(|i| !in_tree(&i.dest)).collect();
    let mut by_src: HashMap<&str, &CopyItem> = HashMap::new();
    for item in outside.iter().copied() {
        by_src.entry(item.src.as_str()).or_insert(item);
    }

    // What each item's bytes are copied from, and which items are reached
    // through a link of the plan (and so may be needed only as its target).
    let mut content: Vec<&str> = Vec::with_capacity(outside.len());
    let mut behind_link: HashSet<&str> = HashSet::new();
    for item in outside.iter().copied() {
        match follow(item, &by_src) {
            Some((file, passed)) => {
                behind_link.extend(passed);
                content.push(file);
            }
            None => content.push(&item.src),
        }
    }

    let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut renames: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (item, from) in outside.iter().copied().zip(content) {
        if behind_link.contains(item.src.as_str()) && !named(item) {
            continue;
        }
        let (dir, name) = check::split(&item.dest);
        if item.dest == item.src && check::split(from).1 == name {
            groups.entry(dir).or_default().insert(from);
        } else {
            renames.insert((&item.dest, from));
        }
    }

    let mut text = String::new();
    let target: String = plan
        .target
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.push_str(&format!("# ldslim: files for {target}\n"));
    if plan
        .items
        .iter()
        .any(|i| matches!(i.kind, CopyKind::Symlink { .. }))
    {
        text.push_str(
            "# COPY dereferences a source that is a symlink, so links are copied as the files \
             they point to, under the link's name; --emit tar= keeps links exactly \
             (ADD of a local tar keeps symlinks).\n",
        );
    }
    for tree in &plan.trees {
        copy_line(&mut text, stage, &[tree, tree])?;
    }
    for (dir, srcs) in &groups {
        let dest = if dir.ends_with('/') {
            dir.to_string()
        } else {
            format!("{dir}/")
        };
        let words: Vec<&str> = srcs.iter().copied().chain([dest.as_str()]).collect();
        copy_line(&mut text, stage, &words)?;
    }
    for (dest, from) in &renames {
        copy_line(&mut text, stage, &[from, dest])?;
    }
    for (name, value) in &plan.env {
        text.push_str(&env_line(name, value)?);
    }
    Ok(text)
}

/// The regular file a symlink item ends at through links of the plan, and
/// the items passed on the way (the file included). `None` for a regular
/// file item, or when the chain leaves the plan.
fn follow<'p>(
    item: &'p CopyItem,
    by_src: &HashMap<&str, &'p CopyItem>,
) -> Option<(&'p str, Vec<&'p str>)> {
    let CopyKind::Symlink { .. } = item.kind else {
        return None;
    };
    let mut cur = item;
    let mut passed = Vec::new();
    for _ in 0..MAX_HOPS {
        let CopyKind::Symlink { target } = &cur.kind else {
            return Some((&cur.src, passed));
        };
        let next = link_target(&cur.src, target)?;
        cur = by_src.get(next.as_str())?;
        passed.push(cur.src.as_str());
    }
    None
}

/// Where a link at `src` points, as a plan `src` path. Leading `..` are
/// applied to `src`'s directory, which the plan guarantees symlink-free,
/// so they are exact; a `..` after a name could climb out of a symlinked
/// directory, which only the builder could tell, so such a target gives
/// `None` (the link is then copied by its own path).
fn link_target(src: &str, target: &str) -> Option<String> {
    let base = if target.starts_with('/') {
        "/"
    } else {
        check::split(src).0
    };
    let mut parts: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
    let mut named = false;
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." if !named => {
                parts.pop();
            }
            ".." => return None,
            c => {
                named = true;
                parts.push(c);
            }
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Whether an item is looked up by its own name: its `needed_as` is its
/// file name (or, for a DT_NEEDED with a slash, anything: kept to be safe).
fn named(item: &CopyItem) -> bool {
    // A file of the Python layer (no DT_NEEDED name) is needed by its path.
    item.needed_as.is_empty()
        || item.needed_as.contains('/')
        || check::split(&item.dest).1 == item.needed_as
}

#[derive(Debug, PartialEq, Eq)]
enum Quoting {
    Bare,
    Json,
}

/// How a word can be written; an error for what only a tar or a copy can
/// carry safely.
fn quoting(what: &'static str, word: &str) -> Result<Quoting, EmitError> {
    let mut spaces = false;
    for c in word.chars() {
        match c {
            ' ' => spaces = true,
            '/' | '.' | '_' | '-' | '+' | '@' | ':' | ',' | '=' => {}
            c if c.is_alphanumeric() => {}
            _ => {
                return Err(EmitError::Unwritable {
                    what,
                    value: word.into(),
                    problem: "it holds a character a Dockerfile expands or splits on; \
                              use --emit tar= or --emit copy=",
                });
            }
        }
    }
    Ok(if spaces { Quoting::Json } else { Quoting::Bare })
}

fn copy_line(text: &mut String, stage: &str, words: &[&str]) -> Result<(), EmitError> {
    let mut json = false;
    for w in words {
        json |= quoting("path", w)? == Quoting::Json;
    }
    if json {
        let quoted: Vec<String> = words
            .iter()
            .map(|w| serde_json::Value::from(*w).to_string())
            .collect();
        text.push_str(&format!("COPY --from={stage} [{}]\n", quoted.join(", ")));
    } else if words.len() == 2 {
        text.push_str(&format!("COPY --from={stage} {} {}\n", words[0], words[1]));
    } else {
        // One source per line keeps a long group readable and diffable.
        text.push_str(&format!("COPY --from={stage}"));
        for w in words {
            text.push_str(&format!(" \\\n    {w}"));
        }
        text.push('\n');
    }
    Ok(())
}

/// `ENV NAME=VALUE`, the value in double quotes (with `\`, `"` and `$`
/// escaped, as the Dockerfile reference describes for ENV) unless plain.
fn env_line(name: &str, value: &str) -> Result<String, EmitError> {
    let mut chars = name.chars();
    let valid_name = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(EmitError::Unwritable {
            what: "environment variable name",
            value: name.into(),
            problem: "not a shell variable name",
        });
    }
    if value.chars().any(char::is_control) {
        return Err(EmitError::Unwritable {
            what: "environment value",
            value: value.into(),
            problem: "it holds a control character",
        });
    }
    if !value.is_empty() && matches!(quoting("environment value", value), Ok(Quoting::Bare)) {
        return Ok(format!("ENV {name}={value}\n"));
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    Ok(format!("ENV {name}=\"{quoted}\"\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, needed_as: &str) -> CopyItem {
        CopyItem {
            dest: path.into(),
            src: path.into(),
            kind: CopyKind::File {
                mode: 0o644,
                size: 1,
            },
            needed_as: needed_as.into(),
            chain: vec![],
        }
    }

    fn link(path: &str, target: &str, needed_as: &str) -> CopyItem {
        CopyItem {
            kind: CopyKind::Symlink {
                target: target.into(),
            },
            ..file(path, needed_as)
        }
    }

    fn text(items: Vec<CopyItem>) -> String {
        let plan = CopyPlan {
            target: "t".into(),
            items,
            env: vec![],
            trees: vec![],
        };
        render(&plan, "builder").unwrap()
    }

    const NOTE: &str = "# COPY dereferences a source that is a symlink, so links are copied as the files they point to, under the link's name; --emit tar= keeps links exactly (ADD of a local tar keeps symlinks).\n";

    #[test]
    fn a_chain_of_links_copies_the_file_once_per_needed_name() {
        // libfoo.so.1 -> libfoo.so.1.0 -> ../lib/libfoo.so.1.0.0; only
        // the soname is needed, the intermediate names are not.
        let got = text(vec![
            link("/lib/libfoo.so.1", "libfoo.so.1.0", "libfoo.so.1"),
            link(
                "/lib/libfoo.so.1.0",
                "../lib/libfoo.so.1.0.0",
                "libfoo.so.1",
            ),
            file("/lib/libfoo.so.1.0.0", "libfoo.so.1"),
        ]);
        assert_eq!(
            got,
            format!(
                "# ldslim: files for t\n{NOTE}COPY --from=builder /lib/libfoo.so.1.0.0 /lib/libfoo.so.1\n"
            )
        );
    }

    #[test]
    fn a_target_needed_by_its_own_name_is_kept() {
        let got = text(vec![
            link("/lib/libbar.so.2", "libbar.so.2.1", "libbar.so.2"),
            file("/lib/libbar.so.2.1", "libbar.so.2.1"),
        ]);
        assert_eq!(
            got,
            format!(
                "# ldslim: files for t\n{NOTE}COPY --from=builder /lib/libbar.so.2.1 /lib/\n\
                 COPY --from=builder /lib/libbar.so.2.1 /lib/libbar.so.2\n"
            )
        );
    }

    #[test]
    fn a_link_whose_target_is_outside_the_plan_is_copied_by_its_path() {
        let got = text(vec![
            link("/lib/liba.so.1", "/usr/lib/liba.so.1.0", "liba.so.1"),
            link("/lib/libb.so.1", "x/../libb.so.1.0", "libb.so.1"),
            file("/lib/libb.so.1.0", "libb.so.1"),
        ]);
        // BuildKit dereferences both inside the builder stage; libb's
        // target could not be matched exactly, so its file is kept.
        assert_eq!(
            got,
            format!(
                "# ldslim: files for t\n{NOTE}COPY --from=builder \\\n    /lib/liba.so.1 \\\n    \
                 /lib/libb.so.1 \\\n    /lib/libb.so.1.0 \\\n    /lib/\n"
            )
        );
    }

    #[test]
    fn link_targets_resolve_lexically_only_when_exact() {
        assert_eq!(
            link_target("/usr/lib/x/libz.so.1", "libz.so.1.2").as_deref(),
            Some("/usr/lib/x/libz.so.1.2")
        );
        assert_eq!(
            link_target("/usr/lib/x/libz.so.1", "../../../../y/./z").as_deref(),
            Some("/y/z")
        );
        assert_eq!(
            link_target("/usr/lib/x/l", "/opt//l").as_deref(),
            Some("/opt/l")
        );
        assert_eq!(link_target("/usr/lib/x/l", "d/../l"), None);
    }

    #[test]
    fn spaces_take_the_json_form_and_specials_are_refused() {
        let got = text(vec![file("/opt/my app/lib.so", "lib.so")]);
        assert_eq!(
            got,
            "# ldslim: files for t\nCOPY --from=builder [\"/opt/my app/lib.so\", \"/opt/my app/\"]\n"
        );
        let plan = CopyPlan {
            items: vec![file("/opt/$HOME/lib.so", "lib.so")],
            ..Default::default()
        };
        let e = render(&plan, "builder").unwrap_err().to_string();
        assert!(e.contains("/opt/$HOME/lib.so"), "{e}");
        assert!(render(&CopyPlan::default(), "two words").is_err());
    }

    #[test]
    fn env_values_are_quoted_when_not_plain() {
        assert_eq!(
            env_line("LD_LIBRARY_PATH", "/opt/lib:/usr/lib").unwrap(),
            "ENV LD_LIBRARY_PATH=/opt/lib:/usr/lib\n"
        );
        assert_eq!(
            env_line("A", "x $y \"z\"").unwrap(),
            "ENV A=\"x \\$y \\\"z\\\"\"\n"
        );
        assert_eq!(env_line("A", "").unwrap(), "ENV A=\"\"\n");
        assert!(env_line("1A", "x").is_err());
        assert!(env_line("A", "x\ny").is_err());
    }
}
