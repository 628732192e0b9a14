//! Dynamic string tokens: `$ORIGIN`, `$LIB`, `$PLATFORM` and their `${...}`
//! forms, expanded the way `elf/dl-load.c: _dl_dst_substitute` does.

// The strings are RPATHs, RUNPATHs and DT_NEEDED names from the root's
// files, so hostile: nothing here may panic or overflow on them, and the
// compiler checks it.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// Values the tokens expand to for one object.
#[derive(Clone, Copy, Debug)]
pub struct DstValues<'a> {
    /// Directory the object was found in, as found (not its realpath):
    /// `elf/dl-object.c: _dl_new_object` cuts `l_name` at its last slash.
    /// `None` when the loader could not compute it.
    pub origin: Option<&'a str>,
    /// `$LIB`: Debian's glibc expands it to `lib/<triplet>`.
    pub lib: &'a str,
    /// `$PLATFORM`: the kernel's AT_PLATFORM, or glibc's name for the CPU
    /// (`cpu::Platform`).
    pub platform: &'a str,
}

/// What follows the token at the start of `s` (just after `$`) if it names
/// `name`, braced or not. An unbraced name must not run on into more name
/// characters (`elf/dl-load.c: is_dst`).
fn after_token<'s>(s: &'s str, name: &str) -> Option<&'s str> {
    if let Some(rest) = s.strip_prefix('{') {
        rest.strip_prefix(name)?.strip_prefix('}')
    } else {
        let rest = s.strip_prefix(name)?;
        let next = rest.bytes().next();
        let continues = matches!(next, Some(c) if c.is_ascii_alphanumeric() || c == b'_');
        (!continues).then_some(rest)
    }
}

/// Expand the tokens in `s`. `None` when a known token has no value (an
/// unknown `$ORIGIN`): glibc then discards the whole path element.
/// Unknown tokens (`$FOO`) are kept literally.
pub fn expand(s: &str, v: &DstValues<'_>) -> Option<String> {
    if !s.contains('$') {
        return Some(s.to_string());
    }
    let mut out = String::with_capacity(s.len().saturating_add(32));
    let mut rest = s;
    while let Some((before, after)) = rest.split_once('$') {
        out.push_str(before);
        let known = [
            ("ORIGIN", v.origin),
            ("PLATFORM", Some(v.platform)),
            ("LIB", Some(v.lib)),
        ];
        let mut matched = false;
        for (name, value) in known {
            if let Some(tail) = after_token(after, name) {
                out.push_str(value?);
                rest = tail;
                matched = true;
                break;
            }
        }
        if !matched {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// Whether `s` holds a `$PLATFORM` token, braced or not.
pub fn uses_platform(s: &str) -> bool {
    let mut rest = s;
    while let Some((_, after)) = rest.split_once('$') {
        if after_token(after, "PLATFORM").is_some() {
            return true;
        }
        rest = after;
    }
    false
}

/// The directory part of a path as glibc computes `l_origin`: everything
/// before the last slash, keeping a lone leading `/`. Relative names are
/// taken relative to `/`, the working directory inside the root.
pub fn origin_of(path: &str) -> String {
    match path.rsplit_once('/') {
        // The only slash is the leading one.
        Some(("", _)) => "/".to_string(),
        Some((dir, _)) if path.starts_with('/') => dir.to_string(),
        Some((dir, _)) => format!("/{dir}"),
        None => "/".to_string(),
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;

    const V: DstValues<'static> = DstValues {
        origin: Some("/opt/app/bin"),
        lib: "lib/x86_64-linux-gnu",
        platform: "x86_64",
    };

    #[test]
    fn expands_all_forms() {
        assert_eq!(expand("$ORIGIN/../lib", &V).unwrap(), "/opt/app/bin/../lib");
        assert_eq!(expand("${ORIGIN}/x", &V).unwrap(), "/opt/app/bin/x");
        assert_eq!(
            expand("/usr/$LIB/p", &V).unwrap(),
            "/usr/lib/x86_64-linux-gnu/p"
        );
        assert_eq!(expand("/x/${PLATFORM}", &V).unwrap(), "/x/x86_64");
        assert_eq!(expand("/a/$ORIGINAL", &V).unwrap(), "/a/$ORIGINAL");
        assert_eq!(expand("/a/$FOO/b$", &V).unwrap(), "/a/$FOO/b$");
        assert_eq!(expand("${ORIGIN", &V).unwrap(), "${ORIGIN");
    }

    #[test]
    fn platform_tokens_are_found_in_both_forms() {
        assert!(uses_platform("/opt/$PLATFORM/lib"));
        assert!(uses_platform("$ORIGIN:/x/${PLATFORM}"));
        assert!(!uses_platform("/opt/$PLATFORMS/lib"));
        assert!(!uses_platform("/opt/PLATFORM/$LIB"));
        assert!(!uses_platform("${PLATFORM"));
    }

    #[test]
    fn unknown_origin_discards_the_element() {
        let v = DstValues { origin: None, ..V };
        assert!(expand("$ORIGIN/lib", &v).is_none());
        assert_eq!(expand("/usr/lib", &v).unwrap(), "/usr/lib");
    }

    #[test]
    fn origin_is_the_directory_as_written() {
        assert_eq!(origin_of("/usr/lib/x/../libz.so"), "/usr/lib/x/..");
        assert_eq!(origin_of("/libz.so"), "/");
        assert_eq!(origin_of("lib/libz.so"), "/lib");
    }
}
