#!/usr/bin/env bash
# Regenerate the target data embedded in ldslim: src/target/data/*.jsonl,
# one file per distroless image and architecture (docs/targets.md).
#
#   scripts/make-targets.sh                          # every target, into src/target/data/
#   scripts/make-targets.sh cc-debian12-amd64 ...    # only these (FLAVOR-debianN-ARCH)
#   scripts/make-targets.sh --out DIR --bin LDSLIM   # elsewhere, with a given ldslim binary
#   scripts/make-targets.sh --check                  # has Debian moved on? (changes nothing)
#   scripts/make-targets.sh --pinned --out DIR       # rebuild from the versions the data records
#
# --check (for maintainers, now and then): regenerates every target from the
# current packages into a temporary directory and compares with the committed
# data; prints each package that moved (old -> new version) and how to
# regenerate, and exits 1 when anything differs. It is not part of the tests:
# a Debian point release must not turn them red.
#
# --pinned: regenerates each target from exactly the package versions its
# committed data records (LDSLIM_PIN for distroless-root.sh), so that the
# result can be compared byte for byte with the data: tests/targets.rs does.
# A target whose versions the mirror no longer has (and the cache does not
# hold) is not built: DIR/TARGET.unavailable says which versions are gone.
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
MODE=make
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
        --check) MODE=check; shift ;;
        --pinned) MODE=pinned; shift ;;
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
COMMITTED=src/target/data
if [[ $MODE == check ]]; then
    [[ $OUT == "$COMMITTED" ]] || die "--check compares with $COMMITTED; it takes no --out"
    OUT=$(mktemp -d)
    trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"

# "NAME VERSION" per line, from the first line of a target's data.
recorded_packages() {
    head -n 1 "$1" | grep -o '"packages":\[\(\["[^"]*","[^"]*"\],\?\)*\]' \
        | grep -o '\["[^"]*","[^"]*"\]' | sed 's/^\["\([^"]*\)","\([^"]*\)"\]$/\1 \2/'
}

# The package versions of each image, for the table in docs/targets.md.
declare -A VERSION=() IMAGES=()
PKG_ORDER=()

START=$SECONDS
for t in "${TARGETS[@]}"; do
    [[ $t =~ ^(static|base-nossl|base|cc)-(debian12|debian13)-(amd64|arm64)$ ]] \
        || die "bad target '$t' (expected FLAVOR-debianN-ARCH, e.g. cc-debian12-amd64)"
    flavor=${BASH_REMATCH[1]} distro=${BASH_REMATCH[2]} arch=${BASH_REMATCH[3]}
    suite=$([[ $distro == debian12 ]] && echo bookworm || echo trixie)
    PIN=
    if [[ $MODE == pinned ]]; then
        [[ -f $COMMITTED/$t.jsonl ]] || die "--pinned: no $COMMITTED/$t.jsonl to take versions from"
        PIN=$(recorded_packages "$COMMITTED/$t.jsonl" | tr ' ' '=' | tr '\n' ' ')
        [[ -n $PIN ]] || die "--pinned: $COMMITTED/$t.jsonl records no packages"
    fi
    log "$t: building the $suite/$arch $flavor root${PIN:+ from the recorded versions}"
    rm -f "$OUT/$t.unavailable"
    errlog=$(mktemp)
    rc=0
    root=$(LDSLIM_PIN=$PIN scripts/distroless-root.sh "$suite" "$arch" "$flavor" 2>"$errlog" | tail -n 1) || rc=$?
    cat "$errlog" >&2
    if [[ $rc -eq 3 && $MODE == pinned ]]; then
        grep 'not on the mirror any more' "$errlog" | sed 's/^\[distroless-root\] //' >"$OUT/$t.unavailable"
        rm -f "$errlog"
        log "$t: not reproducible here: $(cat "$OUT/$t.unavailable")"
        continue
    fi
    rm -f "$errlog"
    [[ $rc -eq 0 ]] || die "scripts/distroless-root.sh failed for $t (exit $rc)"
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

if [[ $MODE == check ]]; then
    # What moved since the committed data was made, target by target.
    moved=0
    for t in "${TARGETS[@]}"; do
        if cmp -s "$OUT/$t.jsonl" "$COMMITTED/$t.jsonl"; then
            printf '%-28s unchanged\n' "$t"
            continue
        fi
        moved=1
        changes=$(join -a 1 -a 2 -e '(none)' -o '0,1.2,2.2' \
            <(recorded_packages "$COMMITTED/$t.jsonl" | sort) \
            <(recorded_packages "$OUT/$t.jsonl" | sort) \
            | awk '$2 != $3 { printf "%s%s %s -> %s", sep, $1, $2, $3; sep = ", " }')
        if [[ -n $changes ]]; then
            printf '%-28s Debian has moved on: %s\n' "$t" "$changes"
        else
            printf '%-28s same package versions, a different listing: did the generator (ldslim target-data) change?\n' "$t"
        fi
    done
    if [[ $moved -eq 1 ]]; then
        printf '\nRegenerate: scripts/make-targets.sh; review git diff src/target/data/ docs/targets.md; commit.\n'
        exit 1
    fi
    printf '\nThe embedded data matches the current Debian packages.\n'
    exit 0
fi

# The versions table of docs/targets.md, between its two marker lines; only
# when every target was regenerated into src/target/data, so that the table
# always describes the committed data.
DOC=docs/targets.md
if [[ $MODE == make && $OUT == src/target/data && ${#TARGETS[@]} -eq 16 && -f $DOC ]]; then
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
