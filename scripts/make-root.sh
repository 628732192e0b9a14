#!/usr/bin/env bash
# Build (or reuse) a real Debian 12 "builder" root filesystem for ldslim's
# end-to-end tests, and print its path as the last line of stdout.
#
#   scripts/make-root.sh            # prints e.g. /var/cache/ldslim-e2e/root-1a2b3c4d5e6f
#
# The root is debootstrap --variant=minbase bookworm plus python3/python3-venv,
# with a set of binary wheels (numpy, pandas, Pillow, scipy, lxml,
# psycopg2-binary, pyzmq, cryptography) installed into
# /usr/local/lib/python3.11/dist-packages by the host's pip. Those wheels carry
# vendored shared libraries found through $ORIGIN RPATHs; numpy's vendored
# libgfortran has no RPATH of its own and finds its libquadmath only through
# the RPATH inherited from the extension module that loads it (scipy ships an
# RPATH-less copy of the same library next to its $ORIGIN-RPATH one).
#
# So that Python discovery meets every kind of site directory, the root also
# has a virtual environment /app/.venv (made by the root's own python3 -m venv,
# with PyYAML in its site-packages) and a user site for a user "app" (uid 1000,
# home /home/app) with msgpack and a .pth file that adds /opt/extra-libs.
#
# Cache: ${LDSLIM_CACHE:-/var/cache/ldslim-e2e}/root-<key>, where <key> hashes
# this script and its inputs. A root counts as ready only once its .complete
# marker exists (written last); anything else is rebuilt from scratch. The root
# is built in a temporary directory next to it and moved into place.
#
# Environment:
#   LDSLIM_CACHE    cache directory (default /var/cache/ldslim-e2e)
#   LDSLIM_MIRROR   Debian mirror URL (default: read from the machine's apt sources)
#   PYTHON          host python with pip (default python3)
#   LDSLIM_KEEP_ROOTS  how many built roots to keep in the cache (default 3)
#
# Progress goes to stderr; only the root's path goes to stdout.
set -euo pipefail

SUITE=bookworm
# python3 + venv are the builder root proper. The rest widen what the
# differential test sees: ET_REL objects (crt*.o from libc6-dev), a static
# executable (busybox-static), and i386 objects, their loader /lib/ld-linux.so.2
# and 32-bit entries in the root's ld.so.cache (libc6-i386: /usr/lib32,
# /etc/ld.so.conf.d/zz_i386-biarch-compat.conf).
PACKAGES=python3,python3-venv,libc6-dev,busybox-static,libc6-i386
# Pinned wheels: each has a cp311 manylinux2014 (manylinux_2_17) x86_64 wheel.
WHEELS=(
    numpy==1.26.4
    pandas==2.2.3
    Pillow==11.0.0
    scipy==1.14.1
    lxml==5.3.0
    psycopg2-binary==2.9.10
    pyzmq==26.2.0
    cryptography==43.0.3
    # their dependencies, pinned so the root does not drift
    cffi==1.17.1
    pycparser==2.22
    python-dateutil==2.9.0.post0
    pytz==2024.2
    tzdata==2024.2
    six==1.16.0
)
PYVER=3.11
SITE_DIR=usr/local/lib/python${PYVER}/dist-packages
# The virtual environment and the user site: one wheel with a C extension each.
VENV=app/.venv
VENV_SITE=$VENV/lib/python${PYVER}/site-packages
VENV_WHEELS=(PyYAML==6.0.2)
APP_USER=app
APP_ID=1000
USER_SITE=home/$APP_USER/.local/lib/python${PYVER}/site-packages
USER_WHEELS=(msgpack==1.1.0)
EXTRA_DIR=opt/extra-libs

log() { printf '[make-root] %s\n' "$*" >&2; }
die() { printf '[make-root] error: %s\n' "$*" >&2; exit 1; }

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
CACHE=${LDSLIM_CACHE:-/var/cache/ldslim-e2e}
PYTHON=${PYTHON:-python3}

# ---------------------------------------------------------------- cache key
KEY=$(
    {
        cat "$SCRIPT_PATH"
        printf 'suite=%s\npackages=%s\nwheels=%s\n' "$SUITE" "$PACKAGES" "${WHEELS[*]}"
        printf 'venv-wheels=%s\nuser-wheels=%s\n' "${VENV_WHEELS[*]}" "${USER_WHEELS[*]}"
    } | sha256sum | cut -c1-12
)
ROOT="$CACHE/root-$KEY"
MARKER="$ROOT/.complete"

if [[ -f "$MARKER" ]]; then
    log "reusing cached root $ROOT"
    printf '%s\n' "$ROOT"
    exit 0
fi

# ---------------------------------------------------------------- preflight
[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap needs it); try: sudo $0"
command -v debootstrap >/dev/null 2>&1 \
    || die "debootstrap not found; install it: apt-get install -y debootstrap"
"$PYTHON" -m pip --version >/dev/null 2>&1 \
    || die "'$PYTHON -m pip' does not work; install pip for the host python (or set PYTHON=...)"

# The Debian mirror: read from the machine's apt configuration, never hard-coded.
# shellcheck source=scripts/lib.sh
source "$(dirname "$SCRIPT_PATH")/lib.sh"
find_mirror() { ldslim_apt_uris "$SUITE"; }

if [[ -n "${LDSLIM_MIRROR:-}" ]]; then
    MIRROR=$LDSLIM_MIRROR
else
    MIRROR=$(find_mirror | grep -E '^(https?|file)://' | head -n1 || true)
fi
[[ -n "$MIRROR" ]] || die "no '$SUITE' Debian mirror found in /etc/apt/sources.list{,.d/*}; set LDSLIM_MIRROR"

mkdir -p "$CACHE"

# ---------------------------------------------------------------- locking
# Serialise concurrent builds of the same root.
exec 9>"$CACHE/root-$KEY.lock"
if ! flock -n 9; then
    log "another build of root-$KEY is running; waiting for it"
    flock 9
fi
if [[ -f "$MARKER" ]]; then
    log "reusing cached root $ROOT (built by a concurrent run)"
    printf '%s\n' "$ROOT"
    exit 0
fi

# Unmount everything mounted at or below a directory, deepest first.
umount_under() {
    local dir mnt
    dir=$(readlink -f "$1")
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
}

# Remove a directory tree that may still have proc/sys/etc. mounted inside it
# (an interrupted debootstrap leaves such mounts behind).
remove_tree() {
    [[ -e "$1" ]] || return 0
    umount_under "$1"
    rm -rf --one-file-system "$1"
}

TMP="$CACHE/root-$KEY.tmp.$$"
cleanup() {
    local rc=$?
    if [[ -e "$TMP" ]]; then
        log "cleaning up unfinished build $TMP"
        remove_tree "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of earlier interrupted builds of this key (we hold the lock).
for stale in "$CACHE/root-$KEY".tmp.* "$ROOT"; do
    if [[ -e "$stale" ]]; then
        log "removing incomplete build $stale"
        remove_tree "$stale"
    fi
done

START=$SECONDS

# ---------------------------------------------------------------- debootstrap
log "debootstrap --variant=minbase --include=$PACKAGES $SUITE (mirror $MIRROR); this takes a minute or two"
mkdir -p "$TMP"
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$TMP" "$MIRROR" \
    >"$CACHE/root-$KEY.debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/root-$KEY.debootstrap.log" >&2 || true
    die "debootstrap failed; full log: $CACHE/root-$KEY.debootstrap.log"
fi
log "debootstrap done in $((SECONDS - START)) s"

# debootstrap unmounts what it mounted, but make sure nothing stays mounted
# before the tree is moved.
umount_under "$TMP"

# Drop what only makes the cache bigger.
rm -f "$TMP/var/cache/apt/archives/"*.deb

[[ -x "$TMP/usr/bin/python$PYVER" ]] \
    || die "the root has no python$PYVER; has $SUITE changed its python?"

# Commands run inside the root see none of the host's environment (a host
# PYTHONPATH or VIRTUAL_ENV would change what python does there); python -B
# keeps them from leaving __pycache__ files behind. chroot itself is found on
# the host's PATH, before env -i empties it.
CHROOT=$(command -v chroot) || die "chroot not found"
in_root() { env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"; }

# ---------------------------------------------------------------- venv and user
# The venv is made by the root's own interpreter, so its bin/python links and
# pyvenv.cfg are what a builder image really has.
log "creating the virtual environment /$VENV and the user $APP_USER"
in_root "$CHROOT" "$TMP" python3 -B -m venv --without-pip "/$VENV" >&2 \
    || die "python3 -m venv inside the root failed"
[[ -f "$TMP/$VENV/pyvenv.cfg" && -d "$TMP/$VENV_SITE" ]] \
    || die "/$VENV has no pyvenv.cfg or no $VENV_SITE"
# Appended by hand: minbase's useradd would also want the shadow files.
grep -q "^$APP_USER:" "$TMP/etc/passwd" \
    || printf '%s:x:%s:%s::/home/%s:/bin/sh\n' "$APP_USER" "$APP_ID" "$APP_ID" "$APP_USER" >>"$TMP/etc/passwd"
grep -q "^$APP_USER:" "$TMP/etc/group" \
    || printf '%s:x:%s:\n' "$APP_USER" "$APP_ID" >>"$TMP/etc/group"
mkdir -p "$TMP/$USER_SITE" "$TMP/$EXTRA_DIR"
printf '"""A pure module reached only through a .pth file of the user site."""\nGREETING = "hello from /%s"\n' \
    "$EXTRA_DIR" >"$TMP/$EXTRA_DIR/extra_hello.py"
# What site.addpackage meets in the wild: a comment, an import line (run, not
# a path), a directory that exists and one that does not (skipped).
cat >"$TMP/$USER_SITE/app-extra.pth" <<PTH
# extra directories of the app
import os
/$EXTRA_DIR
/opt/does-not-exist
PTH

# ---------------------------------------------------------------- wheels
T1=$SECONDS
log "installing wheels into /$SITE_DIR: ${WHEELS[*]}; into /$VENV_SITE: ${VENV_WHEELS[*]}; into /$USER_SITE: ${USER_WHEELS[*]}"
export PIP_CACHE_DIR="$CACHE/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore
# The wheels are kept in a wheelhouse next to the roots, so that a rebuild
# (say after an edit of this script) installs them without the network.
WHEELHOUSE="$CACHE/wheels"
PIP_TARGET_ARGS=(
    --only-binary=:all:
    --platform manylinux2014_x86_64
    --python-version "$PYVER"
    --implementation cp
)
mkdir -p "$TMP/$SITE_DIR" "$PIP_CACHE_DIR" "$WHEELHOUSE"
# pip_install_offline DIR WHEEL...: install into DIR (inside the root).
pip_install_offline() {
    local dir=$1
    shift
    "$PYTHON" -m pip install --quiet --no-warn-conflicts --no-index --find-links "$WHEELHOUSE" \
        --target "$TMP/$dir" "${PIP_TARGET_ARGS[@]}" "$@" >&2
}
install_all_wheels() {
    pip_install_offline "$SITE_DIR" "${WHEELS[@]}" \
        && pip_install_offline "$VENV_SITE" "${VENV_WHEELS[@]}" \
        && pip_install_offline "$USER_SITE" "${USER_WHEELS[@]}"
}
# Before the wheels, these directories hold nothing but the user site's .pth
# file, so emptying them (the .pth spared) undoes a failed attempt.
reset_wheel_dirs() {
    local dir
    for dir in "$SITE_DIR" "$VENV_SITE" "$USER_SITE"; do
        find "${TMP:?}/$dir" -mindepth 1 -maxdepth 1 ! -name app-extra.pth -exec rm -rf {} +
    done
}
if ! install_all_wheels 2>/dev/null; then
    log "downloading wheels into $WHEELHOUSE"
    reset_wheel_dirs
    "$PYTHON" -m pip download --quiet --dest "$WHEELHOUSE" "${PIP_TARGET_ARGS[@]}" \
        "${WHEELS[@]}" "${VENV_WHEELS[@]}" "${USER_WHEELS[@]}" >&2 \
        || die "pip download of the wheels failed"
    install_all_wheels || die "pip install of the wheels failed"
fi
chown -R "$APP_ID:$APP_ID" "$TMP/home/$APP_USER"
log "wheels installed in $((SECONDS - T1)) s"

# A quick sanity check: the vendored libgfortran copies must be there.
for pkg in numpy scipy; do
    compgen -G "$TMP/$SITE_DIR/$pkg.libs/libgfortran-*.so*" >/dev/null \
        || die "$pkg.libs/libgfortran-* missing from the installed wheels"
done
# The venv and the user site must work for the root's own python, not just
# look right: each import below loads a C extension.
in_root "$CHROOT" "$TMP" "/$VENV/bin/python" -B -c 'import yaml._yaml' >&2 \
    || die "/$VENV cannot import PyYAML's C extension"
in_root HOME="/home/$APP_USER" "$CHROOT" "$TMP" python3 -B -c 'import msgpack._cmsgpack, extra_hello' >&2 \
    || die "the user site of $APP_USER (msgpack, .pth -> /$EXTRA_DIR) does not work"

# ---------------------------------------------------------------- publish
mv -T "$TMP" "$ROOT"
sync -f "$ROOT" 2>/dev/null || true
date -u +%Y-%m-%dT%H:%M:%SZ >"$MARKER"
# Keep the cache bounded: only the newest few roots (by marker time) stay.
KEEP=${LDSLIM_KEEP_ROOTS:-3}
# shellcheck disable=SC2012 # our own names: root-<hex>/.complete
mapfile -t OLD_ROOTS < <(ls -1t "$CACHE"/root-*/.complete 2>/dev/null | tail -n +"$((KEEP + 1))" || true)
for marker in "${OLD_ROOTS[@]}"; do
    old=$(dirname "$marker")
    [[ "$old" == "$ROOT" ]] && continue
    log "pruning old root $old"
    rm -f "$marker"
    remove_tree "$old"
    rm -f "$old.lock" "$old.debootstrap.log"
done

log "root ready: $ROOT ($(du -sh "$ROOT" 2>/dev/null | cut -f1), built in $((SECONDS - START)) s)"
printf '%s\n' "$ROOT"
