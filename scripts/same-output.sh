#!/usr/bin/env bash
# Record everything an ldslim binary prints and writes on the test roots, so
# that a restructuring can be shown to change no byte of output:
#
#   scripts/same-output.sh BEFORE_BINARY /tmp/before
#   ...change the code, cargo build --release...
#   scripts/same-output.sh target/release/ldslim /tmp/after
#   diff -r /tmp/before /tmp/after && echo identical
#
# Roots: the differential Debian 12 root (scripts/make-root.sh), the six apps
# (scripts/make-apps-root.sh), the run-time loads root
# (scripts/make-runtime-root.sh), the arm64 merged-/usr root
# (scripts/make-arm64-root.sh), all built or reused from the cache, and a
# hostile root made here (FIFO, device, truncated and sparse ELF files,
# symlink loops, a link to /). Per root: the scan report as text, JSON,
# GitHub and GitLab lines, the --emit list, dockerfile and tar bytes, ldd
# lines of every ELF file of the library and program directories, a `why`
# and an `explain`. Exit codes are recorded beside each output. Needs root
# (the roots are built by debootstrap); takes a few minutes warm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ $# -eq 2 ]] || { echo "usage: $0 LDSLIM_BINARY OUTDIR" >&2; exit 2; }
BIN=$(realpath "$1")
OUT=$2
rm -rf "$OUT"
mkdir -p "$OUT"

# Run ldslim with NAME as the output file; stderr and the exit code beside it.
run() {
    local name=$1
    shift
    local rc=0
    NO_COLOR=1 "$BIN" --color never "$@" >"$OUT/$name" 2>"$OUT/$name.err" </dev/null || rc=$?
    echo "$rc" >"$OUT/$name.rc"
}

# The ELF files of a root's program and library directories, as paths inside it.
elf_files() {
    local root=$1
    (cd "$root" && find usr/bin usr/sbin usr/lib usr/local/lib -type f 2>/dev/null \
        | LC_ALL=C sort | while read -r f; do
            [[ $(head -c 4 "$f" 2>/dev/null | od -An -c | tr -d ' ') == 177ELF ]] && echo "/$f"
        done) || true
}

per_root() {
    local name=$1 root=$2 lib=$3
    local tmp
    tmp=$(mktemp -d)
    run "$name.scan.txt" scan "$root"
    run "$name.scan.json" scan "$root" --format json
    run "$name.scan.github" scan "$root" --format github
    run "$name.scan.gitlab" scan "$root" --format gitlab
    run "$name.scan.owners.txt" scan "$root" --owners
    # The colours of the text report, as a terminal gets them.
    local rc=0
    "$BIN" --color always scan "$root" -v >"$OUT/$name.scan.color" 2>"$OUT/$name.scan.color.err" </dev/null || rc=$?
    echo "$rc" >"$OUT/$name.scan.color.rc"
    # Stage times vary from run to run: keep the stage names and counts only.
    sed -i -E 's/[0-9]+(\.[0-9]+)? ?(ms|µs|s)\b/TIME/g' "$OUT/$name.scan.color.err"
    run "$name.all.json" scan "$root" --scope all --target none --format json
    run "$name.emit" scan "$root" -q --emit list --emit "dockerfile=$tmp/Dockerfile" \
        --emit "json=$tmp/plan.json" --emit "tar=$tmp/layer.tar"
    cp "$tmp/Dockerfile" "$OUT/$name.emit.dockerfile" 2>/dev/null || true
    cp "$tmp/plan.json" "$OUT/$name.emit.json" 2>/dev/null || true
    cp "$tmp/layer.tar" "$OUT/$name.emit.tar" 2>/dev/null || true
    rm -rf "$tmp"
    run "$name.why" why "$root" "$lib"
    run "$name.explain" explain "$root" "ImportError: $lib: cannot open shared object file: No such file or directory"
    mapfile -t elves < <(elf_files "$root")
    if [[ ${#elves[@]} -gt 0 ]]; then
        run "$name.ldd" ldd "$root" "${elves[@]}"
    fi
}

hostile_root() {
    local h=$1 base=$2
    mkdir -p "$h/usr/bin" "$h/usr/lib/x86_64-linux-gnu" "$h/lib64" "$h/etc" "$h/usr/local/lib"
    cp -a "$base/etc/os-release" "$base/usr/lib/os-release" "$h/usr/lib/" 2>/dev/null || true
    cp -a "$base/etc/os-release" "$h/etc/" 2>/dev/null || true
    cp "$base/usr/bin/python3.11" "$h/usr/bin/"
    for l in libc.so.6 libm.so.6 libz.so.1 libexpat.so.1; do
        cp -L "$base/usr/lib/x86_64-linux-gnu/$l" "$h/usr/lib/x86_64-linux-gnu/"
    done
    cp -L "$base/lib64/ld-linux-x86-64.so.2" "$h/lib64/"
    ln -s usr/lib "$h/lib"
    head -c 300 "$base/usr/lib/x86_64-linux-gnu/libz.so.1" >"$h/usr/lib/x86_64-linux-gnu/libtrunc.so.1"
    truncate -s 3G "$h/usr/lib/x86_64-linux-gnu/libsparse.so.1"
    mkfifo "$h/usr/lib/x86_64-linux-gnu/libfifo.so.1"
    mknod "$h/usr/lib/x86_64-linux-gnu/libdev.so.1" c 1 3 2>/dev/null || true
    ln -s / "$h/usr/lib/x86_64-linux-gnu/slash"
    ln -s loop-b "$h/usr/lib/x86_64-linux-gnu/loop-a.so"
    ln -s loop-a.so "$h/usr/lib/x86_64-linux-gnu/loop-b"
    ln -s ../../../../../../etc/passwd "$h/usr/lib/x86_64-linux-gnu/libescape.so.1"
    printf '\x7fELF\x02\x01\x01' >"$h/usr/local/lib/libtiny.so"
}

echo "[same-output] roots" >&2
DEBIAN=$(scripts/make-root.sh | tail -n 1)
APPS=$(scripts/make-apps-root.sh | tail -n 1)
RUNTIME=$(scripts/make-runtime-root.sh | tail -n 1)
ARM64=$(scripts/make-arm64-root.sh | tail -n 1)
HOSTILE=$(mktemp -d)
trap 'rm -rf "$HOSTILE"' EXIT
hostile_root "$HOSTILE" "$DEBIAN"

echo "[same-output] debian" >&2
per_root debian "$DEBIAN" libz.so.1
echo "[same-output] apps" >&2
per_root apps "$APPS" libbz2.so.1.0
echo "[same-output] runtime" >&2
per_root runtime "$RUNTIME" libmagic.so.1
echo "[same-output] arm64" >&2
per_root arm64 "$ARM64" libz.so.1
echo "[same-output] hostile" >&2
per_root hostile "$HOSTILE" libz.so.1
run hostile.paths.txt scan "$HOSTILE" /usr/lib /usr/local/lib /usr/bin --target none
run hostile.paths.json scan "$HOSTILE" /usr/lib /usr/local/lib /usr/bin --target none --format json
# The temporary root's name appears in some messages: make it a constant.
sed -i "s#$HOSTILE#HOSTILE#g" "$OUT"/hostile.* 2>/dev/null || true
echo "[same-output] $(find "$OUT" -type f | wc -l) files in $OUT" >&2
