//! Extension modules built for another CPython than the ones that would
//! import them. An interpreter imports an extension module only under a
//! file name with one of its suffixes (`importlib.machinery.
//! EXTENSION_SUFFIXES`: `.cpython-311-x86_64-linux-gnu.so`, `.abi3.so`,
//! `.so` for 3.11 on x86-64 Linux), so `_fast.cpython-312-x86_64-linux-gnu.so`
//! in the site directory of a 3.11 is never found: `import` fails with
//! "No module named …" although the file loads. Typical causes: a wheel
//! installed for the wrong `--python-version`, or site-packages copied
//! next to another interpreter.

use super::Inventory;
use crate::findings::Problem;

/// The CPython version in an extension module's file name
/// (`x.cpython-312-x86_64-linux-gnu.so` → `"3.12"`); `None` for `abi3`,
/// plain `.so` and anything else.
pub fn tagged_version(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".so")?;
    let (_, tag) = stem.rsplit_once(".cpython-")?;
    let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
    let (major, minor) = digits.split_at_checked(1)?;
    if major.is_empty() || minor.is_empty() {
        return None;
    }
    Some(format!("{major}.{minor}"))
}

/// Every object of `objects` (canonical paths) that is an extension module
/// tagged for a CPython version that no installation of `inv` whose import
/// path holds it has: a finding each, with the interpreters that see it
/// and the fix. A module no installation sees (outside every standard
/// library and site directory) is not judged.
pub fn foreign_extensions(inv: &Inventory, objects: &[String]) -> Vec<Problem> {
    // Each installation's import directories, `/`-terminated, built once.
    let import_dirs: Vec<(Vec<String>, &str, &str)> = inv
        .installations
        .iter()
        .map(|i| {
            let dirs = i
                .stdlib
                .iter()
                .chain(&i.lib_dynload)
                .chain(i.site_dirs.iter().map(|d| &d.path))
                .map(|dir| format!("{dir}/"))
                .collect();
            (dirs, i.interpreter.as_str(), i.version.as_str())
        })
        .collect();
    let mut out = Vec::new();
    for path in objects {
        let Some(name) = path.rsplit('/').next() else {
            continue;
        };
        let Some(version) = tagged_version(name) else {
            continue;
        };
        let seen_by: Vec<(&str, &str)> = import_dirs
            .iter()
            .filter(|(dirs, _, _)| dirs.iter().any(|dir| path.starts_with(dir.as_str())))
            .map(|(_, interp, version)| (*interp, *version))
            .collect();
        if seen_by.is_empty() || seen_by.iter().any(|(_, v)| *v == version || v.is_empty()) {
            continue;
        }
        let who: Vec<String> = seen_by
            .iter()
            .map(|(interp, v)| format!("{v} ({interp})"))
            .collect();
        out.push(Problem {
            path: path.clone(),
            message: format!(
                "an extension module for CPython {version} (its name says cpython-{}), but the Python that imports from here is {}: `import` does not find it there (No module named …); install the package's wheel for that Python (pip install --python-version {}), or give the image the Python it was built for",
                version.replace('.', ""),
                who.join(", "),
                seen_by.first().map_or("", |(_, v)| *v)
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tagged_version;

    #[test]
    fn versions_from_file_names() {
        let v = |n| tagged_version(n);
        assert_eq!(
            v("_x.cpython-311-x86_64-linux-gnu.so").as_deref(),
            Some("3.11")
        );
        assert_eq!(
            v("_x.cpython-312-aarch64-linux-gnu.so").as_deref(),
            Some("3.12")
        );
        assert_eq!(
            v("_x.cpython-39-x86_64-linux-gnu.so").as_deref(),
            Some("3.9")
        );
        assert_eq!(
            v("_x.cpython-313t-x86_64-linux-gnu.so").as_deref(),
            Some("3.13")
        );
        assert_eq!(v("_x.abi3.so"), None);
        assert_eq!(v("_x.so"), None);
        assert_eq!(v("libpython3.11.so.1.0"), None);
        assert_eq!(v("x.cpython-.so"), None);
        assert_eq!(v("x.cpython-3-x.so"), None);
    }
}
