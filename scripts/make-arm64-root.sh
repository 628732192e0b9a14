#!/usr/bin/env bash
# Build (or reuse) an arm64 Debian 12 builder root on any host, and print its
# path as the last line of stdout: the root of the arm64 differential test
# (tests/differential.rs), whose oracle is glibc's aarch64 loader run under
# qemu-aarch64-static.
#
#   scripts/make-arm64-root.sh              # merged /usr, as debootstrap makes it
#   scripts/make-arm64-root.sh --split-usr  # a real /lib, /bin, as distroless images have
#
# debootstrap --foreign --arch=arm64 downloads the packages and unpacks the
# essential ones; its second stage would run arm64 programs, which needs
# binfmt_misc. So every downloaded package is unpacked instead with
# `dpkg-deb --fsys-tarfile | tar -x --keep-directory-symlink` (which keeps
# the merged-/usr links) and no maintainer script runs. The merged root's
# loader cache is made by its own ldconfig under qemu; the split root has
# none, like a distroless image. The aarch64 wheels of a few
# PyPI packages go into /usr/local/lib/python3.11/dist-packages, as pip would
# put them. qemu-aarch64-static is copied to /usr/bin in the root, so the
# oracle runs by chroot with nothing of the host's but the emulator.
#
# Cache: ${LDSLIM_CACHE:-/var/cache/ldslim-e2e}/arm64-root-<merged|split>-<key>,
# <key> a hash of this script; ready once .complete exists.
#
# Environment: LDSLIM_CACHE, LDSLIM_MIRROR (default: the machine's apt
# sources), PYTHON (host python with pip, default python3), QEMU (default
# /usr/bin/qemu-aarch64-static, Debian package qemu-user-static).
set -euo pipefail

SUITE=bookworm
PYVER=3.11
SITE_DIR=usr/local/lib/python${PYVER}/dist-packages
# Debian libraries with many objects and DT_NEEDED chains, plus Python.
DEBS=python3,libpython3.11,libssl3,libsqlite3-0,libxml2,libxslt1.1,libffi8,libbz2-1.0,liblzma5,zlib1g,libgomp1,libstdc++6
WHEELS=(numpy==1.26.4 pandas==2.2.3 python-dateutil==2.9.0.post0 pytz==2024.2 tzdata==2024.2 six==1.16.0
    lxml==5.3.0 cryptography==43.0.3 cffi==1.17.1 pycparser==2.22 PyYAML==6.0.2 msgpack==1.1.0)

log() { printf '[make-arm64-root] %s\n' "$*" >&2; }
die() { printf '[make-arm64-root] error: %s\n' "$*" >&2; exit 1; }

LAYOUT=merged
case "${1:-}" in
    "") ;;
    --split-usr) LAYOUT=split ;;
    *) die "usage: $0 [--split-usr]" ;;
esac

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export LC_ALL=C
CACHE=${LDSLIM_CACHE:-/var/cache/ldslim-e2e}
PYTHON=${PYTHON:-python3}
QEMU=${QEMU:-/usr/bin/qemu-aarch64-static}

KEY=$(sha256sum "$SCRIPT_PATH" | cut -c1-12)
ROOT="$CACHE/arm64-root-$LAYOUT-$KEY"
if [[ -f "$ROOT/.complete" ]]; then
    log "reusing cached root $ROOT"
    printf '%s\n' "$ROOT"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found; apt-get install -y debootstrap"
[[ -x "$QEMU" ]] || die "$QEMU not found; apt-get install -y qemu-user-static"
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "'$PYTHON -m pip' does not work"
# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"
MIRROR=${LDSLIM_MIRROR:-$(ldslim_mirror "$SUITE")}
[[ -n "$MIRROR" ]] || die "no '$SUITE' Debian mirror in the apt sources; set LDSLIM_MIRROR"

mkdir -p "$CACHE"
exec 9>"$CACHE/arm64-root-$LAYOUT-$KEY.lock"
flock 9
if [[ -f "$ROOT/.complete" ]]; then
    printf '%s\n' "$ROOT"
    exit 0
fi
TMP="$CACHE/arm64-root-$LAYOUT-$KEY.tmp.$$"
cleanup() {
    local rc=$?
    [[ -e "$TMP" ]] && rm -rf --one-file-system "$TMP"
    exit "$rc"
}
trap cleanup EXIT
START=$SECONDS

USR_FLAG=--merged-usr
[[ $LAYOUT == split ]] && USR_FLAG=--no-merged-usr
log "debootstrap --foreign --arch=arm64 $USR_FLAG --variant=minbase --include=$DEBS $SUITE"
mkdir -p "$TMP"
if ! debootstrap --foreign --arch=arm64 "$USR_FLAG" --variant=minbase --include="$DEBS" \
    "$SUITE" "$TMP" "$MIRROR" >"$CACHE/arm64-root-$LAYOUT-$KEY.debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/arm64-root-$LAYOUT-$KEY.debootstrap.log" >&2 || true
    die "debootstrap failed; full log: $CACHE/arm64-root-$LAYOUT-$KEY.debootstrap.log"
fi

log "unpacking every package (no second stage: it would run arm64 programs)"
# dpkg's database as the second stage would leave it (each package's
# control stanza, installed, and the list of its paths), so that what
# reads it (owners, the package-data rule) sees a builder's.
mkdir -p "$TMP/var/lib/dpkg/info"
: >"$TMP/var/lib/dpkg/status"
n=0
for deb in "$TMP"/var/cache/apt/archives/*.deb; do
    dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$TMP"
    pkg=$(dpkg-deb -f "$deb" Package)
    list=$pkg
    [[ $(dpkg-deb -f "$deb" Multi-Arch) == same ]] && list="$pkg:arm64"
    dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' -e 's|^$|/.|' \
        >"$TMP/var/lib/dpkg/info/$list.list"
    dpkg-deb -f "$deb" | awk '{ print } /^Package:/ { print "Status: install ok installed" }' \
        >>"$TMP/var/lib/dpkg/status"
    printf '\n' >>"$TMP/var/lib/dpkg/status"
    n=$((n + 1))
done
rm -f "$TMP"/var/cache/apt/archives/*.deb
rm -rf "$TMP/debootstrap"
log "$n packages unpacked"
[[ -e "$TMP/lib/ld-linux-aarch64.so.1" ]] || die "no aarch64 loader in the root"
[[ -e "$TMP/usr/bin/python$PYVER" ]] || die "the root has no python$PYVER"

cp "$QEMU" "$TMP/usr/bin/qemu-aarch64-static"
# The merged root gets its ld.so.cache, as a builder has one; the split
# one, like a distroless image, has none: its loader searches its default
# directories, read from its own ld.so.
if [[ $LAYOUT == merged ]]; then
    log "ld.so.cache by the root's ldconfig, under qemu"
    chroot "$TMP" /usr/bin/qemu-aarch64-static /sbin/ldconfig
fi

export PIP_CACHE_DIR="$CACHE/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore
WHEELHOUSE="$CACHE/arm64-wheels"
mkdir -p "$WHEELHOUSE" "$TMP/$SITE_DIR"
TARGET_ARGS=(--only-binary=:all: --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64
    --platform manylinux_2_28_aarch64 --python-version "$PYVER" --implementation cp)
install_wheels() {
    "$PYTHON" -m pip install --quiet --no-warn-conflicts --no-index --find-links "$WHEELHOUSE" \
        --target "$TMP/$SITE_DIR" "${TARGET_ARGS[@]}" "${WHEELS[@]}" >&2
}
if ! install_wheels 2>/dev/null; then
    log "downloading aarch64 wheels into $WHEELHOUSE"
    find "$TMP/$SITE_DIR" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    "$PYTHON" -m pip download --quiet --no-deps --dest "$WHEELHOUSE" "${TARGET_ARGS[@]}" "${WHEELS[@]}" >&2 \
        || die "pip download failed"
    install_wheels || die "pip install of the wheels failed"
fi

log "checking the root's python imports numpy and pandas under qemu"
env -i PATH=/usr/bin:/bin "$(command -v chroot)" "$TMP" /usr/bin/qemu-aarch64-static /usr/bin/python$PYVER -c \
    "import numpy, pandas, lxml.etree, yaml; print(numpy.__version__, pandas.__version__)" >&2 \
    || die "python does not import the wheels in the arm64 root"

mv -T "$TMP" "$ROOT"
date -u +%Y-%m-%dT%H:%M:%SZ >"$ROOT/.complete"
log "root ready: $ROOT ($(du -sh "$ROOT" 2>/dev/null | cut -f1), built in $((SECONDS - START)) s)"
printf '%s\n' "$ROOT"
