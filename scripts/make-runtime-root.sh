#!/usr/bin/env bash
# Build (or reuse) the builder root of the run-time loads end-to-end test
# (tests/runtime_apps.rs), and print its path as the last line of stdout.
#
#   scripts/make-runtime-root.sh    # prints e.g. /var/cache/ldslim-e2e/runtime-root-1a2b3c4d5e6f
#
# A Debian 12 root (debootstrap --variant=minbase bookworm, python3) with the
# Debian libraries that real PyPI packages load at run time, and those
# packages installed into /usr/local/lib/python3.11/dist-packages the way a
# user installs them (pip, pinned): each loads its library with ctypes or
# cffi, not through a DT_NEEDED (testdata/runtime/manifest says how).
#
# Cache: ${LDSLIM_CACHE:-/var/cache/ldslim-e2e}/runtime-root-<key>, <key> a hash
# of this script and testdata/runtime/manifest; ready once .complete exists.
# Wheels (and the two pure wheels built from sdists) are kept in
# $CACHE/runtime-wheels, so a rebuild needs no PyPI.
#
# Environment: LDSLIM_CACHE, LDSLIM_MIRROR (default: the machine's apt
# sources), PYTHON (host python with pip, default python3).
#
# Progress goes to stderr; only the root's path goes to stdout.
set -euo pipefail

SUITE=bookworm
PYVER=3.11
SITE_DIR=usr/local/lib/python${PYVER}/dist-packages

log() { printf '[make-runtime-root] %s\n' "$*" >&2; }
die() { printf '[make-runtime-root] error: %s\n' "$*" >&2; exit 1; }

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
MANIFEST=$(readlink -f "$SCRIPT_DIR/../testdata/runtime/manifest")
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export LC_ALL=C
CACHE=${LDSLIM_CACHE:-/var/cache/ldslim-e2e}
PYTHON=${PYTHON:-python3}

[[ -f "$MANIFEST" ]] || die "$MANIFEST not found"
# Manifest lines: PACKAGE DEBIAN-PACKAGE STYLE PIP-REQUIREMENT...
DEBS=(python3)
REQS=()
while read -r pkg deb _style reqs; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    [[ "$deb" == - ]] || DEBS+=("$deb")
    read -r -a more <<<"$reqs"
    REQS+=("${more[@]}")
done <"$MANIFEST"
PACKAGES=$(IFS=,; echo "${DEBS[*]}")

KEY=$( { cat "$SCRIPT_PATH" "$MANIFEST"; } | sha256sum | cut -c1-12)
ROOT="$CACHE/runtime-root-$KEY"
MARKER="$ROOT/.complete"
if [[ -f "$MARKER" ]]; then
    log "reusing cached root $ROOT"
    printf '%s\n' "$ROOT"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found; apt-get install -y debootstrap"
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "'$PYTHON -m pip' does not work"
# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"
MIRROR=${LDSLIM_MIRROR:-$(ldslim_mirror "$SUITE")}
[[ -n "$MIRROR" ]] || die "no '$SUITE' Debian mirror in the apt sources; set LDSLIM_MIRROR"

mkdir -p "$CACHE"
exec 9>"$CACHE/runtime-root-$KEY.lock"
flock 9
if [[ -f "$MARKER" ]]; then
    printf '%s\n' "$ROOT"
    exit 0
fi

TMP="$CACHE/runtime-root-$KEY.tmp.$$"
cleanup() {
    local rc=$?
    [[ -e "$TMP" ]] && rm -rf --one-file-system "$TMP"
    exit "$rc"
}
trap cleanup EXIT
rm -rf --one-file-system "$ROOT" "$CACHE/runtime-root-$KEY".tmp.* 2>/dev/null || true
START=$SECONDS

log "debootstrap --variant=minbase --include=$PACKAGES $SUITE; a few minutes"
mkdir -p "$TMP"
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$TMP" "$MIRROR" \
    >"$CACHE/runtime-root-$KEY.debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/runtime-root-$KEY.debootstrap.log" >&2 || true
    die "debootstrap failed; full log: $CACHE/runtime-root-$KEY.debootstrap.log"
fi
rm -f "$TMP/var/cache/apt/archives/"*.deb
[[ -x "$TMP/usr/bin/python$PYVER" ]] || die "the root has no python$PYVER"

# The wheels: binary ones as published; pyvips and opuslib exist only as
# sdists of pure Python, built into wheels once.
export PIP_CACHE_DIR="$CACHE/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore
WHEELHOUSE="$CACHE/runtime-wheels"
mkdir -p "$WHEELHOUSE" "$TMP/$SITE_DIR"
TARGET_ARGS=(--only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_27_x86_64
    --python-version "$PYVER" --implementation cp)
install_wheels() {
    "$PYTHON" -m pip install --quiet --no-warn-conflicts --no-index --find-links "$WHEELHOUSE" \
        --target "$TMP/$SITE_DIR" "${TARGET_ARGS[@]}" "${REQS[@]}" >&2
}
if ! install_wheels 2>/dev/null; then
    log "downloading wheels into $WHEELHOUSE: ${REQS[*]}"
    find "$TMP/$SITE_DIR" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    SDIST_ONLY=()
    BINARY=()
    for r in "${REQS[@]}"; do
        case "$r" in pyvips==* | opuslib==*) SDIST_ONLY+=("$r") ;; *) BINARY+=("$r") ;; esac
    done
    "$PYTHON" -m pip download --quiet --no-deps --dest "$WHEELHOUSE" "${TARGET_ARGS[@]}" "${BINARY[@]}" >&2 \
        || die "pip download failed"
    if [[ ${#SDIST_ONLY[@]} -gt 0 ]]; then
        "$PYTHON" -m pip wheel --quiet --no-deps -w "$WHEELHOUSE" "${SDIST_ONLY[@]}" >&2 \
            || die "pip wheel of ${SDIST_ONLY[*]} failed"
    fi
    install_wheels || die "pip install of the wheels failed"
fi

# Each package must work in the builder: the control of the test.
CHROOT=$(command -v chroot)
log "checking every package imports in the root"
while read -r pkg _ _ _; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    module=$(sed -n 's/^# import: //p' "$SCRIPT_DIR/../testdata/runtime/$pkg.py")
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$CHROOT" "$TMP" python3 -B -c "import $module" >&2 \
        || die "$pkg ($module) does not import in the builder root"
done <"$MANIFEST"

mv -T "$TMP" "$ROOT"
date -u +%Y-%m-%dT%H:%M:%SZ >"$MARKER"
log "root ready: $ROOT ($(du -sh "$ROOT" 2>/dev/null | cut -f1), built in $((SECONDS - START)) s)"
printf '%s\n' "$ROOT"
