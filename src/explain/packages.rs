//! A package's own words for a library it looked for by name and did not
//! find (most often `ctypes.util.find_library` returning `None`).

/// The library a package says it could not find, in the words the
/// packages of the run-time loads test use (measured there): psycopg's
/// `libpq library not found` and `no pq wrapper available`, pyzbar's and
/// pylibdmtx's `Unable to find zbar shared library`, python-magic's
/// `failed to find libmagic`, opuslib's `Could not find Opus library`,
/// libnacl's `Could not locate nacl lib, searched for libsodium.so, …`,
/// sounddevice's `PortAudio library not found`, cairocffi's `no library
/// called "cairo-2" was found`. Returns the name as `find_library` takes
/// it.
pub(super) fn not_found_by_package(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let word_before = |at: usize| -> Option<&str> { line[..at].split_whitespace().next_back() };
    let word_after = |at: usize| -> Option<&str> {
        line.get(at..)?
            .split(|c: char| c.is_whitespace() || c == ',')
            .find(|w| !w.is_empty())
    };
    let found = if let Some(at) = lower.find("no library called ") {
        word_after(at + "no library called ".len())
    } else if let Some(at) = lower.find("unable to find ") {
        lower[at..]
            .contains(" shared library")
            .then(|| word_after(at + "unable to find ".len()))
            .flatten()
    } else if let Some(at) = lower.find(" library not found") {
        word_before(at)
    } else if let Some(at) = lower.find("failed to find ") {
        word_after(at + "failed to find ".len())
    } else if let Some(at) = lower.find("could not find ") {
        lower[at..]
            .contains(" library")
            .then(|| word_after(at + "could not find ".len()))
            .flatten()
    } else if let Some(at) = lower.find("could not locate ") {
        // libnacl lists the names it tried: the first is the library.
        match lower.find("searched for ") {
            Some(s) => word_after(s + "searched for ".len()),
            None => word_after(at + "could not locate ".len()),
        }
    } else if let Some(at) = lower.find("no ") {
        lower[at..]
            .contains(" wrapper available")
            .then(|| word_after(at + "no ".len()))
            .flatten()
    } else {
        None
    };
    let word = found?.trim_matches(|c: char| {
        !(c.is_ascii_alphanumeric() || c == '_' || c == '+' || c == '-' || c == '.')
    });
    let word = word.trim_end_matches('.');
    let name = crate::runtime::stem(word);
    (name.len() >= 2
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b)))
    .then_some(name)
}
