#!/usr/bin/env bash
# Regenerate the target data embedded in ldslim: src/target/data/*.jsonl,
# one file per distroless image and architecture (docs/targets.md).
#
#   scripts/make-targets.sh                          # every target, into src/target/data/
#   scripts/make-targets.sh cc-debian12-amd64 ...    # only these (FLAVOR-debianN-ARCH)
#   scripts/make-targets.sh --out DIR --bin LDSLIM   # elsewhere, with a given ldslim binary
#
# For each target, scripts/distroless-root.sh builds (or reuses from its cache)
# the image's root from the current Debian packages, and `ldslim target-data`
# lists it. Run it, then review `git diff src/target/data/` (a new Debian point
# release shows up as changed package versions in the first line and as
# changed sizes and ELF facts of the files that changed) and docs/targets.md.
#
# Targets: FLAVOR static | base-nossl | base | cc, debian12 (bookworm) or
# debian13 (trixie), amd64 or arm64. What each contains, what the listing
# leaves out and why: docs/targets.md. Needs what distroless-root.sh needs
# (apt-get, dpkg-deb, the network to the Debian mirror); runs as root in CI
# (CI=true, no stdin) as well as interactively.
#
# Without --bin, ldslim is built first with `cargo build --release`.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

log() { printf '[make-targets] %s\n' "$*" >&2; }
die() { printf '[make-targets] error: %s\n' "$*" >&2; exit 1; }

OUT=src/target/data
BIN=
TARGETS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    for arch in amd64 arm64; do
        for distro in debian12 debian13; do
            for flavor in static base-nossl base cc; do
                TARGETS+=("$flavor-$distro-$arch")
            done
        done
    done
fi

if [[ -z "$BIN" ]]; then
    log "cargo build --release"
    cargo build --release --quiet >&2
    BIN=target/release/ldslim
fi
[[ -x "$BIN" ]] || die "$BIN is not an executable"
mkdir -p "$OUT"

# The package versions of each image, for the table in docs/targets.md.
declare -A VERSION=() IMAGES=()
PKG_ORDER=()

START=$SECONDS
for t in "${TARGETS[@]}"; do
    [[ $t =~ ^(static|base-nossl|base|cc)-(debian12|debian13)-(amd64|arm64)$ ]] \
        || die "bad target '$t' (expected FLAVOR-debianN-ARCH, e.g. cc-debian12-amd64)"
    flavor=${BASH_REMATCH[1]} distro=${BASH_REMATCH[2]} arch=${BASH_REMATCH[3]}
    suite=$([[ $distro == debian12 ]] && echo bookworm || echo trixie)
    log "$t: building the $suite/$arch $flavor root"
    root=$(scripts/distroless-root.sh "$suite" "$arch" "$flavor" | tail -n 1)
    [[ -d "$root" ]] || die "scripts/distroless-root.sh printed '$root', not a directory"
    "$BIN" target-data "$root" --name "distroless/$flavor-$distro" --suite "$suite" --arch "$arch" \
        --packages "$(dirname "$root")/packages.txt" >"$OUT/$t.jsonl.tmp"
    mv "$OUT/$t.jsonl.tmp" "$OUT/$t.jsonl"
    while read -r pkg version; do
        [[ -n "${IMAGES[$distro|$pkg]+x}" ]] || PKG_ORDER+=("$distro|$pkg")
        [[ " ${IMAGES[$distro|$pkg]:-} " == *" $flavor "* ]] || IMAGES[$distro|$pkg]+=" $flavor"
        VERSION[$distro|$pkg|$arch]=$version
    done <"$(dirname "$root")/packages.txt"
    log "$t: $OUT/$t.jsonl ($(wc -c <"$OUT/$t.jsonl") bytes, $(($(wc -l <"$OUT/$t.jsonl") - 1)) entries)"
done
log "done in $((SECONDS - START)) s"

# The versions table of docs/targets.md, between its two marker lines; only
# when every target was regenerated into src/target/data, so that the table
# always describes the committed data.
DOC=docs/targets.md
if [[ $OUT == src/target/data && ${#TARGETS[@]} -eq 16 && -f $DOC ]]; then
    table=$(
        for distro in debian12 debian13; do
            suite=$([[ $distro == debian12 ]] && echo bookworm || echo trixie)
            printf '\n%s (%s):\n\n| package | images | amd64 | arm64 |\n|---|---|---|---|\n' "$distro" "$suite"
            for key in "${PKG_ORDER[@]}"; do
                [[ $key == "$distro|"* ]] || continue
                pkg=${key#*|}
                printf '| %s | %s | %s | %s |\n' "$pkg" "$(sed 's/^ //; s/ /, /g' <<<"${IMAGES[$key]}")" \
                    "${VERSION[$key|amd64]:--}" "${VERSION[$key|arm64]:--}"
            done
        done
    )
    TABLE=$table awk '
        /^<!-- versions:end -->/ { print ENVIRON["TABLE"]; print ""; skip = 0 }
        !skip { print }
        /^<!-- versions:begin -->/ { skip = 1 }
    ' "$DOC" >"$DOC.tmp"
    mv "$DOC.tmp" "$DOC"
    log "updated the versions table in $DOC"
fi
