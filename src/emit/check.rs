//! The checks every emitter runs on a plan before writing anything, and
//! the string-path helpers they share once a path has passed them.

use super::EmitError;
use crate::copyset::{CopyKind, CopyPlan};

/// Refuse a plan whose paths could write outside the image (relative
/// paths, `..`) or that asks for two things at one place.
pub(super) fn plan(plan: &CopyPlan) -> Result<(), EmitError> {
    let mut dests: Vec<&str> = Vec::with_capacity(plan.items.len());
    for item in &plan.items {
        path(&item.dest)?;
        if item.src != item.dest {
            path(&item.src)?;
        }
        if let CopyKind::Symlink { target } = &item.kind
            && (target.is_empty() || target.contains('\0'))
        {
            return Err(EmitError::PlanPath {
                path: item.src.clone(),
                problem: format!("symlink target {target:?} is empty or has a NUL byte"),
            });
        }
        dests.push(&item.dest);
    }
    // Sorted (a plan's items usually are already): a path listed twice is
    // next to itself, and what is below `d` is the run of `d/…`, one
    // binary search away (a set look-up per ancestor of each of a
    // 16k-file layer took as long as the rest of a text report).
    dests.sort_unstable();
    if let Some(w) = dests.windows(2).find(|w| w[0] == w[1]) {
        return Err(EmitError::PlanConflict {
            path: w[0].to_string(),
            problem: "is listed twice".into(),
        });
    }
    // A dest that is also a parent of another would have to be both a
    // file and a directory.
    for dest in &dests {
        let below = format!("{dest}/");
        let at = dests.partition_point(|d| *d < below.as_str());
        if let Some(child) = dests.get(at).filter(|c| c.starts_with(&below)) {
            return Err(EmitError::PlanConflict {
                path: dest.to_string(),
                problem: format!("is an item and also a directory of {child}"),
            });
        }
    }
    Ok(())
}

/// An absolute, normalised path naming something below `/`: no empty,
/// `.` or `..` component, no trailing slash, no NUL byte.
pub(super) fn path(p: &str) -> Result<(), EmitError> {
    let bad = |problem: &str| {
        Err(EmitError::PlanPath {
            path: p.to_string(),
            problem: problem.to_string(),
        })
    };
    let Some(rest) = p.strip_prefix('/') else {
        return bad("not absolute");
    };
    if rest.is_empty() {
        return bad("names the root directory itself");
    }
    if p.contains('\0') {
        return bad("contains a NUL byte");
    }
    for comp in rest.split('/') {
        match comp {
            "" => return bad("has an empty component (`//` or a trailing `/`)"),
            "." | ".." => return bad("has a `.` or `..` component"),
            _ => {}
        }
    }
    Ok(())
}

/// The proper ancestors of a checked path below `/`, outermost first:
/// `/usr/lib/x` gives `/usr`, `/usr/lib`.
pub(super) fn ancestors(p: &str) -> impl Iterator<Item = &str> {
    p.match_indices('/').skip(1).map(move |(i, _)| &p[..i])
}

/// Parent directory and last component of a checked path.
pub(super) fn split(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(0) => ("/", &p[1..]),
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("/", p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copyset::CopyItem;

    fn item(dest: &str) -> CopyItem {
        CopyItem {
            dest: dest.into(),
            src: dest.into(),
            kind: CopyKind::File {
                mode: 0o644,
                size: 0,
            },
            needed_as: "x".into(),
            chain: vec![],
        }
    }

    #[test]
    fn paths_that_could_escape_are_refused() {
        for p in [
            "usr/lib/x",
            "/",
            "/usr/../etc/passwd",
            "/usr/./lib",
            "/usr//lib",
            "/usr/lib/",
        ] {
            assert!(path(p).is_err(), "{p}");
        }
        assert!(path("/usr/lib/x86_64-linux-gnu/libz.so.1").is_ok());
    }

    #[test]
    fn a_dest_that_is_a_parent_of_another_conflicts() {
        let p = CopyPlan {
            items: vec![item("/usr/lib64"), item("/usr/lib64/x")],
            ..Default::default()
        };
        let e = plan(&p).unwrap_err().to_string();
        assert!(e.contains("/usr/lib64 is an item"), "{e}");
        let p = CopyPlan {
            items: vec![item("/a"), item("/a")],
            ..Default::default()
        };
        assert!(plan(&p).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn split_and_ancestors() {
        assert_eq!(split("/libx.so"), ("/", "libx.so"));
        assert_eq!(split("/usr/lib/libx.so"), ("/usr/lib", "libx.so"));
        let a: Vec<&str> = ancestors("/usr/lib/x/libx.so").collect();
        assert_eq!(a, ["/usr", "/usr/lib", "/usr/lib/x"]);
        assert_eq!(ancestors("/libx.so").count(), 0);
    }
}
