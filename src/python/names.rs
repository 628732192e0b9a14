//! What interpreter and library file names tell: which names are Python
//! interpreters, and the version a name or a version string carries.

/// The version in an interpreter file name: `Some(Some("3.11"))` for
/// `python3.11` (`python3.13t` too), `Some(None)` for `python`/`python3`,
/// None for anything else (`python3.11-config`, `python-argcomplete`).
pub(super) fn python_name(name: &str) -> Option<Option<String>> {
    let rest = name.strip_prefix("python")?;
    let abi_start = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    let (num, abi) = rest.split_at(abi_start);
    if !abi.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    if num.is_empty() {
        return abi.is_empty().then_some(None);
    }
    let parts: Vec<&str> = num.split('.').collect();
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    if !abi.is_empty() && parts.len() != 2 {
        return None;
    }
    Some(major_minor(num))
}

/// `"3.11"` from `"3.11.2"`, `"3.11.2.final.0"` or `"3.11"`.
pub(super) fn major_minor(v: &str) -> Option<String> {
    let mut parts = v.trim().split('.');
    let major = parts.next()?;
    let minor = parts.next()?;
    let minor: String = minor.chars().take_while(|c| c.is_ascii_digit()).collect();
    if major.is_empty() || !major.chars().all(|c| c.is_ascii_digit()) || minor.is_empty() {
        return None;
    }
    Some(format!("{major}.{minor}"))
}

/// `"3.11"` from a DT_NEEDED `libpython3.11.so.1.0` (or `libpython3.13t.so`).
pub(super) fn libpython_version(needed: &str) -> Option<String> {
    let rest = needed.strip_prefix("libpython")?;
    let (ver, _) = rest.split_once(".so")?;
    let ver = ver.trim_end_matches(|c: char| c.is_ascii_lowercase());
    major_minor(ver).filter(|mm| mm.len() == ver.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(python_name("python"), Some(None));
        assert_eq!(python_name("python3"), Some(None));
        assert_eq!(python_name("python3.11"), Some(Some("3.11".into())));
        assert_eq!(python_name("python3.13t"), Some(Some("3.13".into())));
        assert_eq!(python_name("python2.7"), Some(Some("2.7".into())));
        for bad in [
            "python3.11-config",
            "python-argcomplete",
            "python3t",
            "python3.",
            "python3.11.2",
            "pythonw",
            "py",
            "python3.11.",
        ] {
            assert_eq!(python_name(bad), None, "{bad}");
        }
        assert_eq!(major_minor("3.11.2.final.0").as_deref(), Some("3.11"));
        assert_eq!(major_minor(" 3.12 ").as_deref(), Some("3.12"));
        assert_eq!(major_minor("3"), None);
        assert_eq!(major_minor("x.1"), None);
        assert_eq!(
            libpython_version("libpython3.11.so.1.0").as_deref(),
            Some("3.11")
        );
        assert_eq!(
            libpython_version("libpython3.13t.so.1.0").as_deref(),
            Some("3.13")
        );
        assert_eq!(libpython_version("libpython3.so"), None);
        assert_eq!(libpython_version("libc.so.6"), None);
    }
}
