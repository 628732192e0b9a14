#!/usr/bin/env bash
# Build (or reuse) a root filesystem laid out like a distroless base image,
# extracted into a directory, and print that directory as the last line of
# stdout. ldslim's target data (src/target/data/, docs/targets.md) is generated
# from these roots.
#
#   scripts/distroless-root.sh SUITE ARCH FLAVOR
#     SUITE   bookworm (distroless *-debian12) | trixie (*-debian13)
#     ARCH    amd64 | arm64
#     FLAVOR  static | base-nossl | base | cc
#
# distroless (GoogleContainerTools/distroless) assembles each image from an
# explicit list of Debian packages, without their dependencies and without
# running maintainer scripts, plus a few files of its own. This script does the
# same from the current packages of SUITE, SUITE-updates and SUITE-security:
#   - each .deb's data is unpacked, in distroless' layer order: the static
#     packages, distroless' own files, then the base and cc packages;
#   - ca-certificates is not unpacked: like distroless, only the bundle
#     /etc/ssl/certs/ca-certificates.crt (every certificate under
#     /usr/share/ca-certificates concatenated) and the copyright file are added;
#   - each package's control file and md5sums go to
#     /var/lib/dpkg/status.d/NAME{,.md5sums} (there is no /var/lib/dpkg/status);
#   - distroless' own files: /etc/passwd, /etc/group (root 0, nobody 65534,
#     nonroot 65532; groups also tty 5, staff 50), /etc/nsswitch.conf,
#     /usr/lib/os-release (PRETTY_NAME="Distroless"; /etc/os-release is base-files'
#     symlink to it), /root, /home, /home/nonroot, /tmp;
#   - trixie is merged-/usr, as distroless' debian13 images: /bin, /sbin, /lib
#     (and /lib64 on amd64) are symlinks into /usr, and anything a package
#     ships under them lands in /usr.
# Nothing else: no /etc/ld.so.cache, no ldconfig, no shell.
#
# The .debs are fetched with `apt-get download` through a private apt
# configuration (its own sources list, lists and caches under the cache
# directory; the machine's apt state is neither read nor changed) and kept in
# $CACHE/debs/SUITE-ARCH/. The Debian mirror is read from the machine's apt
# sources (scripts/lib.sh); trixie is fetched from the same mirror as bookworm.
#
# Cache: $CACHE/distroless-SUITE-ARCH-FLAVOR-<key>/ holds root/ (the printed
# path), packages.txt ("NAME VERSION" per line) and .complete (written last).
# <key> hashes this script, scripts/lib.sh, the arguments and the resolved
# package versions, so a new Debian point release builds a new root. A build
# happens in a temporary directory that is moved into place.
#
# Environment:
#   LDSLIM_CACHE            cache directory (default /var/cache/ldslim-e2e)
#   LDSLIM_MIRROR           Debian mirror URL (default: from the apt sources)
#   LDSLIM_SECURITY_MIRROR  Debian security mirror URL (default: likewise)
#   LDSLIM_KEEP_ROOTS       builds kept per SUITE-ARCH-FLAVOR (default 2)
#   LDSLIM_APT_MAX_AGE      seconds the fetched package lists count as current
#                           (default 600; 0 always fetches them)
#   LDSLIM_PIN              "NAME=VERSION ..." for every package of the image:
#                           build from exactly these versions (what an embedded
#                           target records), from the mirror or from .debs
#                           cached earlier. Exit status 3 when one of them is in
#                           neither (Debian replaced it in a point release).
#
# Progress goes to stderr; only the root's path goes to stdout.
set -euo pipefail

log() { printf '[distroless-root] %s\n' "$*" >&2; }
die() { printf '[distroless-root] error: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: $0 bookworm|trixie amd64|arm64 static|base-nossl|base|cc"; }

[[ $# -eq 3 ]] || usage
SUITE=$1 ARCH=$2 FLAVOR=$3
case "$SUITE" in bookworm | trixie) ;; *) usage ;; esac
case "$ARCH" in amd64 | arm64) ;; *) usage ;; esac
case "$FLAVOR" in static | base-nossl | base | cc) ;; *) usage ;; esac

# Glob order and `sort` must not depend on the caller's locale: the CA bundle
# is concatenated in glob order.
export LC_ALL=C
export DEBIAN_FRONTEND=noninteractive
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
umask 022
exec </dev/null

SCRIPT_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"
CACHE=${LDSLIM_CACHE:-/var/cache/ldslim-e2e}

# ---------------------------------------------------------------- packages
# distroless' lists (static/config.bzl, base/config.bzl, cc/config.bzl).
# Each flavor adds to the one before: static < base-nossl, base < cc.
if [[ $SUITE == bookworm ]]; then
    STATIC_PKGS=(base-files netbase tzdata media-types)
    BASE_PKGS=(libc6)
    [[ $FLAVOR == base-nossl ]] || BASE_PKGS+=(libssl3)
    CC_PKGS=(libgomp1 libstdc++6 libgcc-s1 gcc-12-base)
else
    STATIC_PKGS=(base-files netbase tzdata tzdata-legacy media-types)
    BASE_PKGS=(libc6)
    [[ $FLAVOR == base-nossl ]] || BASE_PKGS+=(libssl3t64 libzstd1 zlib1g)
    CC_PKGS=(libgomp1 libstdc++6 libgcc-s1 gcc-14-base)
fi
case "$FLAVOR" in
    static) BASE_PKGS=() CC_PKGS=() ;;
    base-nossl | base) CC_PKGS=() ;;
esac
ALL_PKGS=("${STATIC_PKGS[@]}" ca-certificates "${BASE_PKGS[@]}" "${CC_PKGS[@]}")

# ---------------------------------------------------------------- preflight
for tool in apt-get apt-cache dpkg-deb tar sha256sum flock; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (this script needs a Debian-like host)"
done

MIRROR=${LDSLIM_MIRROR:-$(ldslim_mirror "$SUITE")}
[[ -n "$MIRROR" ]] || MIRROR=$(ldslim_mirror bookworm)
[[ -n "$MIRROR" ]] || die "no Debian mirror for '$SUITE' or bookworm in /etc/apt/sources.list{,.d/*}; set LDSLIM_MIRROR"
SECURITY_MIRROR=${LDSLIM_SECURITY_MIRROR:-$(ldslim_mirror "$SUITE-security")}
[[ -n "$SECURITY_MIRROR" ]] || SECURITY_MIRROR=$(ldslim_mirror bookworm-security)
if [[ -z "$SECURITY_MIRROR" && "${MIRROR%/}" == */debian ]]; then
    # Debian's own layout: the security archive sits next to the main one.
    SECURITY_MIRROR="${MIRROR%/}-security"
fi
[[ -n "$SECURITY_MIRROR" ]] || die "no Debian security mirror found in the apt sources; set LDSLIM_SECURITY_MIRROR"

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f "$KEYRING" ]] || die "$KEYRING not found; install it: apt-get install -y debian-archive-keyring"

mkdir -p "$CACHE"
# One run per SUITE-ARCH at a time: they share the apt state and the .debs.
exec 9>"$CACHE/distroless-$SUITE-$ARCH.lock"
if ! flock -n 9; then
    log "another run for $SUITE-$ARCH holds the lock; waiting for it"
    flock 9
fi

START=$SECONDS

# ---------------------------------------------------------------- apt
APT_DIR="$CACHE/apt/$SUITE-$ARCH"
DEB_DIR="$CACHE/debs/$SUITE-$ARCH"
mkdir -p "$APT_DIR/etc/sources.list.d" "$APT_DIR/etc/preferences.d" \
    "$APT_DIR/state/lists/partial" "$APT_DIR/cache/archives/partial" "$DEB_DIR"
: >"$APT_DIR/state/status"
cat >"$APT_DIR/etc/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR $SUITE main
deb [signed-by=$KEYRING] $MIRROR $SUITE-updates main
deb [signed-by=$KEYRING] $SECURITY_MIRROR $SUITE-security main
EOF
APT_OPTS=(
    -q
    -o "Dir::Etc::SourceList=$APT_DIR/etc/sources.list"
    -o "Dir::Etc::SourceParts=$APT_DIR/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$APT_DIR/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$APT_DIR/etc/preferences.d"
    -o "Dir::State=$APT_DIR/state"
    -o "Dir::State::status=$APT_DIR/state/status"
    -o "Dir::Cache=$APT_DIR/cache"
    -o "Dir::Cache::Archives=$APT_DIR/cache/archives"
    -o "APT::Architecture=$ARCH"
    -o "APT::Architectures::=$ARCH"
    -o "Acquire::Languages=none"
    # Our own state directories need no lock against the machine's apt.
    -o "Debug::NoLocking=1"
    # The download directory belongs to root, not to the _apt sandbox user.
    -o "APT::Sandbox::User=root"
)

# scripts/make-targets.sh asks for each SUITE-ARCH four times in a row: lists
# fetched from the same sources a few minutes ago are reused.
MAX_AGE=${LDSLIM_APT_MAX_AGE:-600}
STAMP="$APT_DIR/state/updated"
if [[ -f "$STAMP" ]] && cmp -s "$STAMP" "$APT_DIR/etc/sources.list" \
    && [[ $(($(date +%s) - $(stat -c %Y "$STAMP"))) -lt $MAX_AGE ]]; then
    log "apt lists for $SUITE/$ARCH fetched less than $MAX_AGE s ago; reusing them"
else
    log "apt-get update for $SUITE/$ARCH (mirror $MIRROR, security $SECURITY_MIRROR)"
    rm -f "$STAMP"
    if apt-get "${APT_OPTS[@]}" update >"$APT_DIR/update.log" 2>&1; then
        cp "$APT_DIR/etc/sources.list" "$STAMP"
    elif compgen -G "$APT_DIR/state/lists/*Packages*" >/dev/null; then
        log "warning: apt-get update failed (see $APT_DIR/update.log); using the package lists from an earlier run"
    else
        tail -n 20 "$APT_DIR/update.log" >&2 || true
        die "apt-get update failed; full log: $APT_DIR/update.log"
    fi
fi

# A .deb of PKG at VERSION kept from an earlier run (apt names it
# NAME_VERSION_ARCH.deb, with an epoch's ':' as '%3a').
cached_deb() {
    local pkg=$1 version=$2 f
    for f in "$DEB_DIR/${pkg}_${version//:/%3a}_"*.deb; do
        [[ -f "$f" ]] && dpkg-deb --info "$f" >/dev/null 2>&1 && { printf '%s\n' "$f"; return 0; }
    done
    return 1
}

declare -A PIN=()
if [[ -n "${LDSLIM_PIN:-}" ]]; then
    # Exactly the versions asked for; each one from the cache or the mirror.
    for nv in $LDSLIM_PIN; do
        PIN[${nv%%=*}]=${nv#*=}
    done
    PKG_VERSIONS=$(
        for pkg in "${ALL_PKGS[@]}"; do
            [[ -n "${PIN[$pkg]:-}" ]] || die "LDSLIM_PIN names no version of $pkg"
            printf '%s %s\n' "$pkg" "${PIN[$pkg]}"
        done
    )
    GONE=()
    for pkg in "${ALL_PKGS[@]}"; do
        cached_deb "$pkg" "${PIN[$pkg]}" >/dev/null && continue
        # `apt-cache show NAME=VERSION` succeeds even for a version it lacks.
        apt-cache "${APT_OPTS[@]}" madison "$pkg" 2>/dev/null \
            | awk -v v="${PIN[$pkg]}" -F' *[|] *' '$2 == v { found = 1 } END { exit !found }' && continue
        GONE+=("$pkg ${PIN[$pkg]}")
    done
    if [[ ${#GONE[@]} -gt 0 ]]; then
        log "not on the mirror any more, and not cached in $DEB_DIR: $(printf '%s, ' "${GONE[@]}" | sed 's/, $//')"
        exit 3
    fi
else
    # The candidate version of each package: the newest of SUITE, -updates
    # and -security.
    PKG_VERSIONS=$(
        apt-cache "${APT_OPTS[@]}" show --no-all-versions "${ALL_PKGS[@]}" 2>/dev/null \
            | awk '/^Package:/ { p = $2 } /^Version:/ { print p, $2 }'
    )
    for pkg in "${ALL_PKGS[@]}"; do
        grep -q "^$pkg " <<<"$PKG_VERSIONS" || die "package $pkg not found in $SUITE for $ARCH"
    done
fi
log "packages: $(tr '\n' ' ' <<<"$PKG_VERSIONS")"

# ---------------------------------------------------------------- cache key
KEY=$(
    {
        cat "$SCRIPT_DIR/distroless-root.sh" "$SCRIPT_DIR/lib.sh"
        printf 'suite=%s\narch=%s\nflavor=%s\n%s\n' "$SUITE" "$ARCH" "$FLAVOR" "$PKG_VERSIONS"
    } | sha256sum | cut -c1-12
)
NAME="distroless-$SUITE-$ARCH-$FLAVOR"
OUT="$CACHE/$NAME-$KEY"
if [[ -f "$OUT/.complete" ]]; then
    log "reusing cached root $OUT/root"
    printf '%s\n' "$OUT/root"
    exit 0
fi

# ---------------------------------------------------------------- download
# `apt-get --print-uris download` names each .deb and its checksum without
# fetching it; only what the cache lacks (or holds corrupted) is fetched. A
# pinned version already cached is used as it is: the mirror may not have it.
declare -A DEB_FILE=()
SPECS=()
for pkg in "${ALL_PKGS[@]}"; do
    if [[ -n "${PIN[$pkg]:-}" ]]; then
        if f=$(cached_deb "$pkg" "${PIN[$pkg]}"); then
            DEB_FILE[$pkg]=$f
        else
            SPECS+=("$pkg=${PIN[$pkg]}")
        fi
    else
        SPECS+=("$pkg")
    fi
done
URIS=()
if [[ ${#SPECS[@]} -gt 0 ]]; then
    mapfile -t URIS < <(apt-get "${APT_OPTS[@]}" --print-uris download "${SPECS[@]}" 2>/dev/null | grep "^'")
fi
[[ ${#URIS[@]} -eq ${#SPECS[@]} ]] \
    || die "apt-get --print-uris listed ${#URIS[@]} .debs for ${#SPECS[@]} packages"
MISSING=()
for line in "${URIS[@]}"; do
    # 'URI' FILENAME SIZE SHA256:HEX
    read -r _ file _ sum <<<"$line"
    pkg=${file%%_*}
    DEB_FILE[$pkg]="$DEB_DIR/$file"
    if [[ -f "$DEB_DIR/$file" ]] && [[ $sum == SHA256:* ]] \
        && [[ $(sha256sum "$DEB_DIR/$file" | cut -d' ' -f1) == "${sum#SHA256:}" ]]; then
        continue
    fi
    rm -f "$DEB_DIR/$file"
    MISSING+=("$pkg=$(awk -v p="$pkg" '$1 == p { print $2 }' <<<"$PKG_VERSIONS")")
done
if [[ ${#MISSING[@]} -gt 0 ]]; then
    log "downloading ${#MISSING[@]} .debs into $DEB_DIR"
    (cd "$DEB_DIR" && apt-get "${APT_OPTS[@]}" download "${MISSING[@]}") >"$APT_DIR/download.log" 2>&1 || {
        tail -n 20 "$APT_DIR/download.log" >&2 || true
        die "apt-get download failed; full log: $APT_DIR/download.log"
    }
fi
for pkg in "${ALL_PKGS[@]}"; do
    [[ -f "${DEB_FILE[$pkg]:-}" ]] || die "no .deb for $pkg after the download"
done

# ---------------------------------------------------------------- build
TMP="$CACHE/$NAME-$KEY.tmp.$$"
cleanup() {
    local rc=$?
    [[ -e "$TMP" ]] && rm -rf --one-file-system "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for stale in "$CACHE/$NAME-$KEY".tmp.* "$OUT"; do
    [[ -e "$stale" ]] || continue
    log "removing incomplete build $stale"
    rm -rf --one-file-system "$stale"
done

ROOT="$TMP/root"
mkdir -p "$ROOT"
chmod 0755 "$ROOT"

# Unpack a tar stream into the root as an image layer would be: modes kept
# (the sticky /tmp too, whoever runs this), owners not (the target data has
# none), and an existing symlink to a directory kept, which is how a package
# shipping /lib/... lands in /usr/lib on a merged-/usr root.
untar() {
    tar -x -C "$ROOT" --same-permissions --no-same-owner --keep-directory-symlink -f -
}

# Write a file of distroless' own with its mode.
put_file() {
    local path=$1 mode=$2
    mkdir -p "$(dirname "$ROOT$path")"
    cat >"$ROOT$path"
    chmod "$mode" "$ROOT$path"
}

put_dir() {
    mkdir -p "$ROOT$1"
    chmod "$2" "$ROOT$1"
}

# /var/lib/dpkg/status.d/NAME (the control file) and NAME.md5sums, as
# distroless registers each package.
register() {
    local pkg=$1 ctl
    ctl=$(mktemp -d "$TMP/control.XXXXXX")
    dpkg-deb --ctrl-tarfile "${DEB_FILE[$pkg]}" | tar -x -C "$ctl" --no-same-owner -f -
    put_dir /var/lib/dpkg/status.d 0755
    install -m 0644 "$ctl/control" "$ROOT/var/lib/dpkg/status.d/$pkg"
    if [[ -f "$ctl/md5sums" ]]; then
        install -m 0644 "$ctl/md5sums" "$ROOT/var/lib/dpkg/status.d/$pkg.md5sums"
    fi
    rm -rf "$ctl"
}

install_pkg() {
    local pkg=$1
    dpkg-deb --fsys-tarfile "${DEB_FILE[$pkg]}" | untar
    register "$pkg"
}

if [[ $SUITE == trixie ]]; then
    # Made before any package is unpacked, so that a package shipping
    # /lib/... (a real directory in its tar) cannot turn /lib into one.
    MERGED=(bin sbin lib)
    [[ $ARCH == amd64 ]] && MERGED+=(lib64)
    for d in "${MERGED[@]}"; do
        put_dir "/usr/$d" 0755
        ln -sfn "usr/$d" "$ROOT/$d"
    done
fi

log "unpacking ${ALL_PKGS[*]}"
for pkg in "${STATIC_PKGS[@]}"; do
    install_pkg "$pkg"
done

# distroless' own files (common/BUILD.bazel, static/static.bzl), in its layer
# order; each of these replaces what a package put at the same path.
put_dir / 0755
put_file /etc/passwd 0644 <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
put_dir /root 0700
put_dir /home 0755
put_dir /home/nonroot 0700
if [[ $(id -u) -eq 0 ]]; then
    chown 65532:65532 "$ROOT/home/nonroot"
fi
put_file /etc/group 0644 <<'EOF'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
EOF
put_dir /tmp 1777
put_file /etc/nsswitch.conf 0644 <<'EOF'
# /etc/nsswitch.conf
#
# Example configuration of GNU Name Service Switch functionality.
# If you have the `glibc-doc-reference' and `info' packages installed, try:
# `info libc "Name Service Switch"' for information about this file.

passwd:         compat
group:          compat
shadow:         compat
gshadow:        files

hosts:          files dns
networks:       files

protocols:      db files
services:       db files
ethers:         db files
rpc:            db files

netgroup:       nis
EOF
VERSION_ID=$([[ $SUITE == bookworm ]] && echo 12 || echo 13)
put_file /usr/lib/os-release 0555 <<EOF
PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="$VERSION_ID"
VERSION="Debian GNU/Linux $VERSION_ID ($SUITE)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
SUPPORT_URL="https://github.com/GoogleContainerTools/distroless/blob/master/README.md"
BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"
EOF

# The CA bundle: every file under /usr/share/ca-certificates, depth first in
# glob order, line by line (a last line without a newline is dropped, as
# distroless' concatenation does).
CA_TMP=$(mktemp -d "$TMP/ca.XXXXXX")
dpkg-deb --fsys-tarfile "${DEB_FILE[ca-certificates]}" \
    | tar -x -C "$CA_TMP" --no-same-owner -f - ./usr/share/ca-certificates ./usr/share/doc/ca-certificates/copyright
append_certs() {
    local dir=$1 cert line
    [[ -d "$dir" ]] || return 0
    for cert in "$dir"/*; do
        if [[ -d "$cert" ]]; then
            append_certs "$cert"
            continue
        fi
        while IFS= read -r line; do
            printf '%s\n' "$line"
        done <"$cert"
    done
}
put_dir /etc/ssl 0755
put_dir /etc/ssl/certs 0755
append_certs "$CA_TMP/usr/share/ca-certificates" | put_file /etc/ssl/certs/ca-certificates.crt 0555
put_dir /usr/share/doc/ca-certificates 0755
put_file /usr/share/doc/ca-certificates/copyright 0555 <"$CA_TMP/usr/share/doc/ca-certificates/copyright"
rm -rf "$CA_TMP"
register ca-certificates

for pkg in "${BASE_PKGS[@]}" "${CC_PKGS[@]}"; do
    install_pkg "$pkg"
done

# ---------------------------------------------------------------- checks
if [[ $SUITE == trixie ]]; then
    for d in "${MERGED[@]}"; do
        [[ -L "$ROOT/$d" && $(readlink "$ROOT/$d") == "usr/$d" ]] \
            || die "/$d is not the merged-/usr symlink to usr/$d after unpacking"
    done
fi
[[ ! -e "$ROOT/etc/ld.so.cache" ]] || die "/etc/ld.so.cache exists; distroless images have none"
if [[ $FLAVOR != static ]]; then
    # A stale or missing loader would make every generated fact wrong.
    case "$ARCH" in
        amd64) LOADER=/lib64/ld-linux-x86-64.so.2 ;;
        arm64) LOADER=/lib/ld-linux-aarch64.so.1 ;;
    esac
    [[ -e "$ROOT$LOADER" ]] || die "$LOADER missing from the $FLAVOR root"
fi

printf '%s\n' "$PKG_VERSIONS" >"$TMP/packages.txt"

# ---------------------------------------------------------------- publish
mv -T "$TMP" "$OUT"
date -u +%Y-%m-%dT%H:%M:%SZ >"$OUT/.complete"

# Keep the cache bounded: the newest few builds of this SUITE-ARCH-FLAVOR.
KEEP=${LDSLIM_KEEP_ROOTS:-2}
# shellcheck disable=SC2012 # our own names: distroless-*-<hex>/.complete
mapfile -t OLD < <(ls -1t "$CACHE/$NAME"-*/.complete 2>/dev/null | tail -n +"$((KEEP + 1))" || true)
for marker in "${OLD[@]}"; do
    old=$(dirname "$marker")
    [[ "$old" == "$OUT" ]] && continue
    log "pruning old build $old"
    rm -f "$marker"
    rm -rf --one-file-system "$old"
done

log "root ready: $OUT/root ($(du -sh "$OUT/root" 2>/dev/null | cut -f1), $((SECONDS - START)) s)"
printf '%s\n' "$OUT/root"
