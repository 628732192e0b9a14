#!/usr/bin/env bash
# Record what CPython 3.11 and glibc really print when a shared library is
# missing (or unusable) in a distroless image, into testdata/explain/: the
# inputs of ldslim's message parser (src/explain.rs, tests/explain_messages.rs).
#
#   scripts/capture-messages.sh            # writes testdata/explain/*.txt and README.md
#   scripts/capture-messages.sh --out DIR  # elsewhere
#   scripts/capture-messages.sh --bin LDSLIM
#
# The final image is built the way tests/final_image.rs builds it:
#   base    = scripts/distroless-root.sh bookworm amd64 cc (last stdout line)
#   builder = scripts/make-root.sh (last stdout line)
#   FINAL   = base + /usr/bin/python3, /usr/bin/python3.11, /usr/lib/python3.11,
#             /usr/lib/python3, /usr/local/lib/python3.11 copied from the builder,
#             then `ldslim scan BUILDER <those paths> --target BASE --emit copy=FINAL`.
# Python must run there (`import pandas, bz2, lzma, sqlite3, ctypes, ssl`), or
# the script stops. Then, for each case, a hard-linked copy of FINAL
# (`cp -al`) gets one change (a library removed, or a file added) and one
# command is run in it with `chroot`, from an empty environment (`env -i`:
# nothing of the caller's environment, LD_* included, reaches the host's chroot
# binary or the program). Its stdout and stderr, merged, are saved verbatim as
# OUT/NAME.txt; OUT/README.md (generated) says, for each file, what was changed,
# the command and its exit status. One file (f-container-log.txt) is composed:
# a real capture wrapped in made-up container log lines; README.md says so.
#
# Case (d3) runs Debian 13's python3.13 binary on the Debian 12 base: the
# python3.13-minimal .deb of trixie is fetched with `apt-get download` through
# a private apt configuration under the cache directory (the machine's apt
# state is neither read nor changed), from the Debian mirror of the machine's
# apt sources (scripts/lib.sh), and kept in $CACHE/debs/capture/.
#
# Rerunnable: every path inside the roots is fixed, nothing time- or
# host-dependent is written, so a rerun rewrites the same files unless
# Debian's packages changed what they print. Needs root (chroot), cc with
# -m32 support, and what make-root.sh and distroless-root.sh need.
#
# Environment: LDSLIM_CACHE (default /var/cache/ldslim-e2e), LDSLIM_MIRROR.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
REPO=$PWD

log() { printf '[capture-messages] %s\n' "$*" >&2; }
die() { printf '[capture-messages] error: %s\n' "$*" >&2; exit 1; }

OUT=testdata/explain
BIN=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
        *) die "unknown argument $1" ;;
    esac
done

export LC_ALL=C
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
umask 022
exec </dev/null

[[ $(id -u) -eq 0 ]] || die "must run as root (chroot); try: sudo $0"
for tool in chroot cc cp dpkg-deb apt-get; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
CHROOT=$(command -v chroot)
CACHE=${LDSLIM_CACHE:-/var/cache/ldslim-e2e}
SRC=$REPO/testdata/explain/src
RULES=$REPO/testdata/rules

if [[ -z "$BIN" ]]; then
    log "cargo build --release"
    cargo build --release --quiet >&2
    BIN=$REPO/target/release/ldslim
fi
[[ -x "$BIN" ]] || die "$BIN is not an executable"

BUILDER=$(scripts/make-root.sh | tail -n 1)
BASE=$(scripts/distroless-root.sh bookworm amd64 cc | tail -n 1)
[[ -d "$BUILDER" && -d "$BASE" ]] || die "builder '$BUILDER' or base '$BASE' is not a directory"
log "builder $BUILDER"
log "base    $BASE"

mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/ldslim-capture.XXXXXX")
cleanup() {
    local rc=$?
    rm -rf --one-file-system "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- final image
SCOPE=(/usr/bin/python3 /usr/bin/python3.11 /usr/lib/python3.11 /usr/lib/python3 /usr/local/lib/python3.11)
FINAL=$WORK/final
cp -a "$BASE" "$FINAL"
for p in "${SCOPE[@]}"; do
    mkdir -p "$FINAL$(dirname "$p")"
    cp -a "$BUILDER$p" "$FINAL$p"
done
log "ldslim scan BUILDER ${SCOPE[*]} --target BASE --emit copy=FINAL"
# Exit 1 with the verdict "NOT VERIFIED" is a plan that loads, with
# possible run-time loads of copied libraries ldslim cannot check: the
# control run below decides.
rc=0
"$BIN" scan "$BUILDER" "${SCOPE[@]}" --target "$BASE" "--emit=copy=$FINAL" >"$WORK/plan.txt" 2>&1 || rc=$?
if [[ $rc -ne 0 ]] && ! { [[ $rc -eq 1 ]] && grep -q '^final image: NOT VERIFIED' "$WORK/plan.txt"; }; then
    tail -n 20 "$WORK/plan.txt" >&2
    die "ldslim scan failed"
fi
CONTROL=$(env -i "$CHROOT" "$FINAL" /usr/bin/python3 -c \
    "import pandas, bz2, lzma, sqlite3, ctypes, ssl, scipy.linalg, PIL.Image; print('ok')" 2>&1) \
    || die "python does not run in the final image: $CONTROL"
[[ $CONTROL == ok ]] || die "unexpected output of the control run: $CONTROL"

# ---------------------------------------------------------------- helpers
LIBDIR=/usr/lib/x86_64-linux-gnu
SITE=/usr/local/lib/python3.11/dist-packages
CASE_DIR=
declare -a CHANGES=()
declare -a README_ROWS=()

# new_case: a fresh hard-linked copy of FINAL (files the case removes or adds
# never touch FINAL: only directory entries of the copy change).
new_case() {
    CASE_DIR=$WORK/case
    rm -rf --one-file-system "$CASE_DIR"
    cp -al "$FINAL" "$CASE_DIR"
    CHANGES=()
}

# remove PATH...: remove paths (which must exist) from the case's image.
remove() {
    local p
    for p in "$@"; do
        [[ -e "$CASE_DIR$p" || -L "$CASE_DIR$p" ]] || die "$p is not in the final image"
        rm -f "$CASE_DIR$p"
        CHANGES+=("removed \`$p\`")
    done
}

# remove_lib DIR SONAME: the soname link and the file it names.
remove_lib() {
    local dir=$1 soname=$2 target
    [[ -L "$CASE_DIR$dir/$soname" ]] || die "$dir/$soname is not a symlink in the final image"
    target=$(readlink "$CASE_DIR$dir/$soname")
    [[ $target != */* ]] || die "$dir/$soname -> $target: expected a link in the same directory"
    remove "$dir/$soname" "$dir/$target"
}

# add SRC PATH MODE: install a host file into the case's image.
add() {
    install -D -m "$3" "$1" "$CASE_DIR$2"
    CHANGES+=("added \`$2\`")
}

# quote ARG...: the arguments as a shell would need them, each followed by a
# space ('...' around anything beyond [A-Za-z0-9_./=:-]).
quote() {
    local a
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./=:-]+$ ]]; then
            printf '%s ' "$a"
        else
            printf "'%s' " "${a//\'/\'\\\'\'}"
        fi
    done
}

# run NAME DESCRIPTION -- [VAR=VALUE...] PROGRAM ARGS...: chroot into the
# case's image with an empty environment (plus the VAR=VALUE given) and save
# stdout+stderr verbatim as OUT/NAME.txt.
run() {
    local name=$1 what=$2 rc=0 shown
    [[ ${3:-} == -- ]] || die "run $name: expected -- after the description"
    shift 3
    local vars=() cmd=()
    while [[ $# -gt 0 && $1 == *=* && $1 != /* ]]; do
        vars+=("$1")
        shift
    done
    cmd=("$@")
    env -i "${vars[@]}" "$CHROOT" "$CASE_DIR" "${cmd[@]}" >"$OUT/$name.txt" 2>&1 || rc=$?
    shown="env -i $(quote "${vars[@]}")chroot FINAL $(quote "${cmd[@]}")"
    local changes=none
    [[ ${#CHANGES[@]} -eq 0 ]] || changes=$(printf '%s; ' "${CHANGES[@]}")
    README_ROWS+=("| \`$name.txt\` | $what | ${changes%; } | \`${shown% }\` | $rc |")
    log "$name: exit $rc, $(wc -l <"$OUT/$name.txt") lines"
    rm -rf --one-file-system "$CASE_DIR"
}

# ---------------------------------------------------------------- objects for (d), (g), (h)
OBJ=$WORK/obj
mkdir -p "$OBJ"
# The stand-in libc.so.6 that defines GLIBC_2.38 (as tests/common World::stub_versioned builds it).
cc -shared -fPIC -nostdlib -o "$OBJ/libc-stub.so" "$RULES/glibc238.c" \
    -Wl,-soname,libc.so.6 "-Wl,--version-script=$RULES/glibc238.map"
cc -shared -fPIC -nostdlib -o "$OBJ/_speedups.so" "$SRC/speedups_glibc238.c" -Wl,--no-as-needed "$OBJ/libc-stub.so"
cc -shared -fPIC -nostdlib -o "$OBJ/libfastmath.so.1" "$SRC/fastmath_glibc238.c" \
    -Wl,-soname,libfastmath.so.1 -Wl,--no-as-needed "$OBJ/libc-stub.so"
cc -shared -fPIC -o "$OBJ/_native.so" "$SRC/native_undefined.c"
cc -m32 -shared -fPIC -nostdlib -o "$OBJ/_legacy.so" "$SRC/legacy32_ext.c"
EXT=cpython-311-x86_64-linux-gnu.so

# Debian 13's python3.13 (needs GLIBC_2.38 from libc.so.6 and libm.so.6).
fetch_python313() {
    local debs=$CACHE/debs/capture apt=$CACHE/apt/capture-trixie-amd64 mirror
    mkdir -p "$debs"
    if ! compgen -G "$debs/python3.13-minimal_*_amd64.deb" >/dev/null; then
        # shellcheck source=scripts/lib.sh
        source "$REPO/scripts/lib.sh"
        mirror=${LDSLIM_MIRROR:-$(ldslim_mirror trixie)}
        [[ -n "$mirror" ]] || mirror=$(ldslim_mirror bookworm)
        [[ -n "$mirror" ]] || die "no Debian mirror in the apt sources; set LDSLIM_MIRROR"
        mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/state/lists/partial" \
            "$apt/cache/archives/partial"
        : >"$apt/state/status"
        printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' "$mirror" \
            >"$apt/etc/sources.list"
        local opts=(
            -q
            -o "Dir::Etc::SourceList=$apt/etc/sources.list"
            -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d"
            -o "Dir::Etc::Preferences=$apt/etc/preferences"
            -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
            -o "Dir::State=$apt/state"
            -o "Dir::State::status=$apt/state/status"
            -o "Dir::Cache=$apt/cache"
            -o "Dir::Cache::Archives=$apt/cache/archives"
            -o "APT::Architecture=amd64"
            -o "APT::Architectures::=amd64"
            -o "Acquire::Languages=none"
            -o "Debug::NoLocking=1"
            -o "APT::Sandbox::User=root"
        )
        log "apt-get download python3.13-minimal (trixie, $mirror)"
        apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 \
            || { tail -n 20 "$apt/update.log" >&2; die "apt-get update failed"; }
        (cd "$debs" && apt-get "${opts[@]}" download python3.13-minimal) >"$apt/download.log" 2>&1 \
            || { tail -n 20 "$apt/download.log" >&2; die "apt-get download failed"; }
    fi
    local deb
    deb=$(compgen -G "$debs/python3.13-minimal_*_amd64.deb" | sort | tail -n 1)
    mkdir -p "$OBJ/py313"
    dpkg-deb -x "$deb" "$OBJ/py313"
    PY313_VERSION=$(dpkg-deb -f "$deb" Version)
}
fetch_python313

# ---------------------------------------------------------------- cases
PY=/usr/bin/python3

new_case
remove_lib "$LIBDIR" libz.so.1
run a-python-libz "the interpreter does not start: libz.so.1 missing (as \`/usr/bin/python3\`)" -- \
    "$PY" -c 'print("hello")'

new_case
remove_lib "$LIBDIR" libz.so.1
run a2-python311-path-libz "the same, started as \`python3.11\` through PATH (a Dockerfile's CMD [\"python3.11\", ...])" -- \
    PATH=/usr/local/bin:/usr/bin:/bin python3.11 -c 'print("hello")'

new_case
remove_lib "$LIBDIR" libbz2.so.1.0
run b-import-bz2 "\`import bz2\` without libbz2.so.1.0" -- "$PY" -c 'import bz2'

new_case
remove_lib "$LIBDIR" libffi.so.8
run c1-import-pandas-libffi "\`import pandas\` without libffi.so.8: pandas.errors imports ctypes" -- \
    "$PY" -c 'import pandas'

new_case
remove_lib "$LIBDIR" libffi.so.8
run c2-import-ctypes-libffi "\`import ctypes\` without libffi.so.8" -- "$PY" -c 'import ctypes'

new_case
add "$SRC/fastparse/__init__.py" "$SITE/fastparse/__init__.py" 0644
add "$OBJ/_speedups.so" "$SITE/fastparse/_speedups.$EXT" 0755
run d1-glibc238-extension "an extension module that needs GLIBC_2.38 (the base has glibc 2.36)" -- \
    "$PY" -c 'import fastparse'

new_case
add "$OBJ/libfastmath.so.1" /opt/app/lib/libfastmath.so.1 0755
run d2-glibc238-ctypes "a library that needs GLIBC_2.38, loaded with ctypes.CDLL" -- \
    "$PY" -c 'import ctypes; ctypes.CDLL("/opt/app/lib/libfastmath.so.1")'

new_case
add "$OBJ/py313/usr/bin/python3.13" /usr/bin/python3.13 0755
run d3-python313-glibc238 "Debian 13's python3.13 (python3.13-minimal $PY313_VERSION) on the Debian 12 base" -- \
    /usr/bin/python3.13 -c pass

new_case
remove "$SITE/numpy.libs/libgfortran-040039e1.so.5.0.0"
run e1-numpy-libgfortran "\`import numpy\` without numpy's vendored libgfortran: numpy's IMPORTANT message, then a misleading re-raise" -- \
    "$PY" -c 'import numpy'

new_case
remove_lib "$LIBDIR" libffi.so.8
run e2-scipy-libffi "\`import scipy\` without libffi.so.8: scipy's \"install ... seems to be broken\" re-raise" -- \
    "$PY" -c 'import scipy'

new_case
remove "$SITE/scipy.libs/libscipy_openblas-c128ec02.so"
run e3-scipy-linalg-openblas "\`import scipy.linalg\` without scipy's vendored OpenBLAS" -- \
    "$PY" -c 'import scipy.linalg'

new_case
remove "$SITE/numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so"
run e4-pandas-numpy-openblas "\`import pandas\` without numpy's vendored OpenBLAS: pandas' own re-raise" -- \
    "$PY" -c 'import pandas'

new_case
add "$SRC/nativeext/__init__.py" "$SITE/nativeext/__init__.py" 0644
add "$OBJ/_native.so" "$SITE/nativeext/_native.$EXT" 0755
run g-undefined-symbol "an extension module calling a function nothing defines" -- "$PY" -c 'import nativeext'

new_case
add "$SRC/legacy32/__init__.py" "$SITE/legacy32/__init__.py" 0644
add "$OBJ/_legacy.so" "$SITE/legacy32/_legacy.$EXT" 0755
run h-wrong-class "a 32-bit extension module" -- "$PY" -c 'import legacy32'

new_case
run i-module-not-found "a module that is not installed (no loader involved)" -- "$PY" -c 'import yaml'

new_case
remove "$SITE/pillow.libs/libjpeg-25f93ad1.so.62.4.0"
run j-pillow-libjpeg "\`from PIL import Image\` without Pillow's vendored libjpeg" -- \
    "$PY" -c 'from PIL import Image'

# ---------------------------------------------------------------- (f) composed log
# A container's log as `docker logs --timestamps` shows it: made-up application
# lines (some with ANSI colours) around the real capture e1-numpy-libgfortran.txt,
# which is copied line by line, each line behind a timestamp.
compose_log() {
    local n=0 line
    stamp() { printf '2025-05-14T09:31:%02d.%06dZ ' $((n / 10)) $((n * 37 % 1000000)); n=$((n + 1)); }
    noise() { stamp; printf '%s\n' "$1"; }
    noise $'\e[32mINFO\e[0m  [entrypoint] starting worker (pid 7, python3 /srv/app/main.py)'
    noise $'\e[32mINFO\e[0m  [config] loaded /srv/app/settings.toml: 14 keys, profile=production'
    noise $'\e[33mWARN\e[0m  [config] OTEL_EXPORTER_OTLP_ENDPOINT not set; tracing disabled'
    noise $'\e[32mINFO\e[0m  [db] connecting to postgres://app@db:5432/app (pool size 5)'
    noise $'\e[32mINFO\e[0m  [db] connected in 12.4 ms'
    noise $'\e[32mINFO\e[0m  [models] loading feature pipeline (numpy, pandas)'
    while IFS= read -r line || [[ -n $line ]]; do
        stamp
        printf '%s\n' "$line"
    done <"$OUT/e1-numpy-libgfortran.txt"
    noise $'\e[31mERROR\e[0m [entrypoint] worker exited with status 1'
    noise $'\e[32mINFO\e[0m  [entrypoint] shutting down: closing 1 database connection'
    noise $'\e[33mWARN\e[0m  [healthcheck] GET /healthz: connection refused (attempt 3/3)'
}
compose_log >"$OUT/f-container-log.txt"
README_ROWS+=("| \`f-container-log.txt\` | **composed**, not captured: a \`docker logs --timestamps\`-style log with made-up application lines (ANSI colours) around the real capture \`e1-numpy-libgfortran.txt\`, every line behind a timestamp | — | — | — |")

# ---------------------------------------------------------------- README
pkg_version() { awk -v p="$2" '$1 == "Package:" { cur = $2 } cur == p && $1 == "Version:" { print $2; exit }' "$1"; }
{
    cat <<EOF
# Captured loader and CPython messages

Generated by \`scripts/capture-messages.sh\`; do not edit by hand (rerun it).
Inputs of \`src/explain.rs\`, asserted by \`tests/explain_messages.rs\`.

Every \`.txt\` file except \`f-container-log.txt\` is the verbatim stdout and
stderr (merged) of one command, run by glibc's own loader and CPython under
\`chroot\` in a copy of FINAL with one change, from an empty environment
(\`env -i\`). FINAL is built the way \`tests/final_image.rs\` builds it:

- base: \`scripts/distroless-root.sh bookworm amd64 cc\` (libc6 $(awk '$1 == "libc6" { print $2 }' "$(dirname "$BASE")/packages.txt"), glibc 2.36);
- builder: \`scripts/make-root.sh\` (Debian 12, python3.11 $(pkg_version "$BUILDER/var/lib/dpkg/status" python3.11), the wheels of make-root.sh in \`$SITE\`);
- base + \`${SCOPE[*]}\` copied from the builder, then
  \`ldslim scan BUILDER ${SCOPE[*]} --target BASE --emit copy=FINAL\`;
  in FINAL, \`import pandas, bz2, lzma, sqlite3, ctypes, ssl, scipy.linalg, PIL.Image\` works.

Removing a library means removing its soname link and the file it points to
(e.g. \`libz.so.1\` and \`libz.so.1.2.13\`), or a wheel's vendored file.
The objects added in (d), (g) and (h) are compiled from \`src/\` here:
\`_speedups\` and \`libfastmath.so.1\` are linked against the stand-in
\`libc.so.6\` of \`testdata/rules/glibc238.{c,map}\` (it defines the version
GLIBC_2.38), so they need GLIBC_2.38, which the base's glibc 2.36 lacks;
\`_native\` calls a function nothing defines; \`_legacy\` is 32-bit (\`-m32\`).
(d3) is Debian 13's own \`/usr/bin/python3.13\` from trixie's python3.13-minimal.

What they show (glibc 2.36, CPython 3.11.2):

- at startup the loader names the program as exec'd (\`/usr/bin/python3\` or
  \`python3.11\`), not the object that needs the library (a, a2), and prints
  one line per library lacking a version (d3: libm.so.6 and libc.so.6);
- an \`ImportError\`/\`OSError\` for a library not found names only the
  library, never the extension module that needed it (b, c1, e*, j); only the
  traceback's last import statement tells the module (\`from _bz2 import …\`);
  CPython 3.11 adds no "(from module …)" hint;
- \`import pandas\` does go through ctypes: \`pandas/errors/__init__.py\` runs
  \`import ctypes\`, so a missing libffi.so.8 breaks pandas (c1), and scipy
  too, behind its "install … seems to be broken" re-raise (e2);
- numpy re-raises twice, ending with the misleading "you should not try to
  import numpy from its source directory" (e1); pandas' own re-raise of a
  broken numpy drops the loader message altogether (e4).

| file | case | change to FINAL | command | exit |
|---|---|---|---|---|
EOF
    printf '%s\n' "${README_ROWS[@]}"
} >"$OUT/README.md"

log "wrote $(find "$OUT" -maxdepth 1 -name '*.txt' | wc -l) captures and README.md to $OUT"
