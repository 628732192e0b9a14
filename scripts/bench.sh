#!/usr/bin/env bash
# ldslim side by side with the tools people use today, on the real builder
# roots of the end-to-end tests, warm page cache: the apps root
# (scripts/make-apps-root.sh: Debian 12 + python3 + the six apps' wheels,
# ~24k files, ~1.1k ELF objects; the walk section) and the fidelity root
# (scripts/make-root.sh: ~18k files, ~1.3k ELF objects; every section).
# Prints a Markdown table of medians and ratios (docs/performance.md has the
# latest).
#
#   scripts/bench.sh                 # everything (~6 min; lddtree is slow)
#   RUNS=20 scripts/bench.sh main    # one or more sections: main walk resolve big tty scale
#
# Sections:
#   main     the command users run, `ldslim scan ROOT` (the Python scope,
#            planned against the default target), and `--scope all` with
#            its plan, vs `find ROOT -type f`, with `--target none` and
#            `--no-runtime` rows as a breakdown, the plan's own time (the
#            `-v` stage line), the floor (the scope's sources listed and
#            read, nothing else: benches/floor), and what people use instead on the same
#            objects (the scope's ELF files): `libtree -p` by chroot and
#            pax-utils' `lddtree --root` (slow: fewer runs)
#   walk     ldslim scan (--scope all, and the default Python scope) vs
#            `find ROOT -type f` on both roots, and find variants that open
#            every file
#   resolve  the same ELF objects (every ET_EXEC/ET_DYN file of the root)
#            resolved by `ldslim ldd`, by `libtree -p` run inside a copy of
#            the root by chroot, and by pax-utils' `lddtree --root` (slow:
#            the full list LDDTREE_FULL_RUNS times, medians on every 10th object)
#   big      one 1 GiB (sparse) shared object vs the small one it was made from
#   tty      the progress bar: stderr a terminal (`script`) or not
#   scale    time and peak RSS on copies of the root with its dist-packages
#            replicated as venvs under /opt/pN (N = SCALE copies, default 10 and 20)
#   trace    (only when named) what `ldslim trace` costs: two snippets of the
#            run-time test (pyvips: 60 libraries mapped; gunicorn: a master, two
#            workers, one request) run as nonroot by chroot in a hard-link copy
#            of the run-time root (scripts/make-runtime-root.sh), untraced,
#            under `ldslim trace --root`, and under `strace -f` limited to the
#            same calls
#
# Scratch copies (hard links, `cp -al`; the cached root is never modified) go
# to $LDSLIM_BENCH_DIR (default /var/tmp/ldslim-bench), on the same file
# system as the root. Needs root (chroot), hyperfine, pax-utils with
# python3-pyelftools, libtree: `apt-get install -y hyperfine pax-utils
# python3-pyelftools libtree`.
#
# Environment:
#   LDSLIM_E2E_ROOT   the root (default: scripts/make-root.sh | tail -1)
#   LDSLIM_BIN        the ldslim binary (default: cargo build --release)
#   RUNS              runs per command (default 20; medians of >= 5)
#   ROUNDS            hyperfine runs the RUNS are split into (default 4)
#   LDSLIM_APPS_ROOT  the second root of the walk section (default:
#                     scripts/make-apps-root.sh | tail -1; APPS=0 skips it)
#   LDDTREE_FULL_RUNS runs of lddtree over the full list (default 4, one per round)
#   SCALE             replication counts for `scale` (default "10 20")
#   STATIC            0 leaves out the static build's rows (default: built
#                     with crt-static into target/static, or LDSLIM_STATIC_BIN)
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
RUNS=${RUNS:-20}
ROUNDS=${ROUNDS:-4}
LDDTREE_FULL_RUNS=${LDDTREE_FULL_RUNS:-4}
SCALE=${SCALE:-"10 20"}
SCRATCH=${LDSLIM_BENCH_DIR:-/var/tmp/ldslim-bench}
SECTIONS=("$@")
[[ ${#SECTIONS[@]} -gt 0 ]] || SECTIONS=(main walk resolve big tty scale)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }
want() { local s; for s in "${SECTIONS[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

# The host's own python3 (pyenv shims may hide Debian's, which has pyelftools).
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

# ------------------------------------------------------------------ inputs
[[ $(id -u) -eq 0 ]] || die "must run as root (chroot for libtree)"
command -v hyperfine >/dev/null || die "hyperfine not found: apt-get install -y hyperfine"
ROOT=${LDSLIM_E2E_ROOT:-$(scripts/make-root.sh | tail -1)}
ROOT=$(readlink -f "$ROOT")
[[ -d $ROOT ]] || die "no root at $ROOT"
if [[ -z ${LDSLIM_BIN:-} ]]; then
    log "cargo build --release"
    cargo build --release --quiet
    LDSLIM_BIN="${CARGO_TARGET_DIR:-target}/release/ldslim"
fi
BIN=$(readlink -f "$LDSLIM_BIN")
# The static build docs/cli.md gives for copying into builder images: no
# shared libraries to map at start-up, which is most of a short run.
# STATIC=0 leaves it out; LDSLIM_STATIC_BIN gives one.
STATIC_BIN=
if [[ ${STATIC:-1} != 0 ]]; then
    if [[ -z ${LDSLIM_STATIC_BIN:-} ]]; then
        log "cargo build --release (static)"
        RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --quiet \
            --target x86_64-unknown-linux-gnu --target-dir "${CARGO_TARGET_DIR:-target}/static"
        LDSLIM_STATIC_BIN="${CARGO_TARGET_DIR:-target}/static/x86_64-unknown-linux-gnu/release/ldslim"
    fi
    STATIC_BIN=$(readlink -f "$LDSLIM_STATIC_BIN")
fi
mkdir -p "$SCRATCH"
NAME=$(basename "$ROOT")

# elf_list ROOT: every ET_EXEC/ET_DYN file of ROOT (not /proc, /sys, /dev),
# found by reading headers with Python: independent of ldslim. Cached in
# $SCRATCH; prints the list's path.
elf_list() {
    local root=$1 list
    list=$SCRATCH/$(basename "$root").elf
    if [[ ! -s $list ]]; then
        log "listing the ELF objects of $root"
        "$PY" - "$root" >"$list.tmp" <<'EOF'
import os, struct, sys
root = sys.argv[1].rstrip('/')
out = []
for d, dirs, files in os.walk(root):
    if d == root:
        dirs[:] = [x for x in dirs if x not in ('proc', 'sys', 'dev')]
    for n in files:
        p = os.path.join(d, n)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        try:
            with open(p, 'rb') as f:
                h = f.read(18)
        except OSError:
            continue
        if len(h) == 18 and h[:4] == b'\x7fELF':
            if struct.unpack('<H' if h[5] == 1 else '>H', h[16:18])[0] in (2, 3):
                out.append(p[len(root):])
print('\n'.join(sorted(out)))
EOF
        mv "$list.tmp" "$list"
    fi
    printf '%s\n' "$list"
}
ELF_LIST=$(elf_list "$ROOT")
ELF_COUNT=$(wc -l <"$ELF_LIST")
SUBSET=$SCRATCH/$NAME.elf-subset
awk 'NR % 10 == 1' "$ELF_LIST" >"$SUBSET"
SUBSET_COUNT=$(wc -l <"$SUBSET")
FILES=$(find "$ROOT" -type f | wc -l)

# Commands with ~1.3k arguments go through a small sh script (hyperfine takes
# one command string, and a kernel argument string is at most 128 KiB); every
# tool is wrapped the same way, so each pays the same sh start.
wrap() { # wrap NAME LIST COMMAND-PREFIX...
    local name=$1 list=$2
    shift 2
    # shellcheck disable=SC2016 # $(cat ...) is for the generated script
    printf '#!/bin/sh\nexec %s$(cat %q)\n' "$(printf '%q ' "$@")" "$list" >"$SCRATCH/$name.sh"
    printf 'sh %s' "$SCRATCH/$name.sh"
}

# libtree reads only the running system: it runs inside a hard-link copy of
# the root, with its binary (it needs only libc, which the root has). Prints
# the copy's path.
libtree_root() {
    local root=$1 copy
    copy=$SCRATCH/chroot-$(basename "$root")
    if [[ ! -x $copy/usr/local/bin/libtree ]]; then
        log "hard-link copy of the root for libtree: $copy"
        rm -rf "$copy" "$copy.tmp"
        cp -al "$root" "$copy.tmp"
        cp "$(command -v libtree)" "$copy.tmp/usr/local/bin/libtree"
        mv "$copy.tmp" "$copy"
    fi
    printf '%s\n' "$copy"
}

need_resolvers() {
    command -v libtree >/dev/null || die "libtree not found: apt-get install -y libtree"
    command -v lddtree >/dev/null || die "lddtree not found: apt-get install -y pax-utils python3-pyelftools"
    "$PY" -c 'import elftools' 2>/dev/null || die "lddtree needs pyelftools: apt-get install -y python3-pyelftools"
}

# plan_ms ROOT: the median over 9 runs of the plan's own time, as
# `ldslim scan ROOT -v` reports it on its "plan:" stage line.
plan_ms() {
    local i
    for i in 1 2 3 4 5 6 7 8 9; do
        "$BIN" scan "$1" -v 2>&1 >/dev/null | sed -n 's/^ldslim: plan: .*(\([0-9.]*\) ms)$/\1/p'
    done | sort -g | sed -n 5p
}

# scope_elf ROOT: the ELF objects of ROOT's default Python scope (the
# object list filtered by the scope's paths from the JSON report); prints
# the list's path.
scope_elf() {
    local root=$1 list
    list=$SCRATCH/$(basename "$root").scope-elf
    "$BIN" scan "$root" --target none --format json 2>/dev/null |
        "$PY" -c 'import json, sys
paths = json.load(sys.stdin)["paths"]
for line in open(sys.argv[1]):
    p = line.strip()
    if any(p == d or p.startswith(d.rstrip("/") + "/") for d in paths):
        print(p)' "$(elf_list "$root")" >"$list"
    printf '%s\n' "$list"
}

# floor_script ROOT: a sh script that lists ROOT's default Python scope and
# reads every source the scan reads for run-time loads (the scope's `.py`
# files outside tests, examples and docs, as src/scan/walker.rs chooses
# them), and does nothing else: `find` lists on one CPU while
# benches/floor/read_sources.c reads on all of them. The part of the main
# job no design that reads the sources leaves out, done simply (ldslim's own
# walk, listing and reading on every CPU, can beat it). Prints the path.
floor_script() {
    local root=$1 script dirs
    script=$SCRATCH/floor-$(basename "$root").sh
    if [[ ! -x $SCRATCH/read_sources ]]; then
        cc -O2 -pthread -o "$SCRATCH/read_sources" benches/floor/read_sources.c
    fi
    dirs=$("$BIN" scan "$root" --target none --format json 2>/dev/null |
        "$PY" -c 'import json, shlex, sys
root = sys.argv[1]
print(" ".join(shlex.quote(root + p) for p in json.load(sys.stdin)["paths"]))' "$root")
    {
        echo '#!/bin/sh'
        printf 'find %s \\( -name tests -o -name test -o -name testing -o -name examples' "$dirs"
        printf ' -o -name _examples -o -name docs -o -name benchmarks \\) -prune -o -type f'
        printf ' -name "*.py" -print0 | %q\n' "$SCRATCH/read_sources"
    } >"$script"
    printf '%s\n' "$script"
}

# ------------------------------------------------------------------ report
TABLE=$SCRATCH/table.md
: >"$TABLE"
row() { printf '%s\n' "$*" >>"$TABLE"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# hf TITLE RUNS LABEL=COMMAND...: all commands timed together, RUNS times
# each, split into $ROUNDS hyperfine runs one after the other (A B C, A B C,
# ...), so a slow spell of this shared machine hits every command alike;
# medians over all runs and ratios to the first command go to the table.
hf() {
    local title=$1 runs=$2
    shift 2
    local labels=() cmds=() a round jsons=() before after
    for a in "$@"; do
        labels+=("${a%%=*}")
        cmds+=("${a#*=}")
    done
    local per=$(( (runs + ROUNDS - 1) / ROUNDS ))
    before=$(load)
    log "$title (load $before)"
    for round in $(seq 1 "$ROUNDS"); do
        hyperfine -N -i --style none -w 2 -r "$per" --export-json "$SCRATCH/hf-$round.json" "${cmds[@]}" >&2
        jsons+=("$SCRATCH/hf-$round.json")
    done
    after=$(load)
    "$PY" - "$title" "$before" "$after" "${#jsons[@]}" "${jsons[@]}" "${labels[@]}" >>"$TABLE" <<'EOF'
import json, statistics, sys
title, before, after, n, *rest = sys.argv[1:]
paths, labels = rest[:int(n)], rest[int(n):]
times = [[] for _ in labels]
for p in paths:
    for i, r in enumerate(json.load(open(p))['results']):
        times[i].extend(r['times'])
med = [statistics.median(t) for t in times]
print(f"\n**{title}** (load average before {before}, after {after}; {len(times[0])} runs each in {len(paths)} rounds)\n")
print("| command | median | min | max | ratio to first |")
print("|---|---:|---:|---:|---:|")
for label, t, m in zip(labels, times, med):
    ms = lambda s: f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"
    print(f"| {label} | {ms(m)} | {ms(min(t))} | {ms(max(t))} | {m / med[0]:.2f}× |")
EOF
}

# Peak RSS (KiB), median of 5 runs.
rss() {
    local i
    for i in 1 2 3 4 5; do
        /usr/bin/time -f '%M' -o "$SCRATCH/rss.txt" "$@" >/dev/null 2>&1 || true
        tail -1 "$SCRATCH/rss.txt"
    done | sort -n | sed -n 3p
}

{
    echo "# ldslim benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r)"
    echo "- root: $ROOT ($FILES regular files, $ELF_COUNT ET_EXEC/ET_DYN objects)"
    # shellcheck disable=SC2185 # GNU find --version
    echo "- ldslim: $BIN${STATIC_BIN:+ (static build: $STATIC_BIN)}; $(hyperfine --version); find $(find --version | head -1 | awk '{print $NF}'); libtree $(libtree --version 2>/dev/null || echo '?'); lddtree (pax-utils $(dpkg-query -W -f '${Version}' pax-utils 2>/dev/null || echo '?'))"
    echo "- load average at start: $(load)"
} >>"$TABLE"

# Warm the page cache.
find "$ROOT" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true

# ------------------------------------------------------------------ main
if want main; then
    need_resolvers
    main_roots=("$ROOT")
    if [[ ${APPS:-1} != 0 ]]; then
        main_roots=("$(readlink -f "${LDSLIM_APPS_ROOT:-$(scripts/make-apps-root.sh | tail -1)}")" "$ROOT")
    fi
    for r in "${main_roots[@]}"; do
        find "$r" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true
        nfiles=$(find "$r" -type f | wc -l)
        scope_list=$(scope_elf "$r")
        nscope=$(wc -l <"$scope_list")
        chroot_copy=$(libtree_root "$r")
        floor=$(floor_script "$r")
        rname=$(basename "$r")
        row ""
        row "- $rname: $nfiles regular files, $(wc -l <"$(elf_list "$r")") ET_EXEC/ET_DYN objects, $nscope of them in the Python scope; the plan alone (\`-v\`, median of 9): **$(plan_ms "$r") ms**; the scope's sources, which the floor reads: $(sh "$floor" 2>&1 >/dev/null)"
        hf "The main job: $rname" "$RUNS" \
            "find ROOT -type f=find $r -type f" \
            "ldslim scan ROOT (the main job)=$BIN scan $r" \
            "ldslim scan ROOT --scope all=$BIN scan $r --scope all" \
            "ldslim scan ROOT --target none=$BIN scan $r --target none" \
            "ldslim scan ROOT --target none --no-runtime=$BIN scan $r --target none --no-runtime" \
            "ldslim scan ROOT --scope all --target none=$BIN scan $r --scope all --target none" \
            "the floor: the scope's sources listed and read, nothing else (find and benches/floor, by sh)=sh $floor" \
            "libtree -p SCOPE-OBJECTS (chroot)=$(wrap "libtree-scope-$rname" "$scope_list" chroot "$chroot_copy" /usr/local/bin/libtree -p)"
        hf "The main job's objects, lddtree (slow): $rname" "$LDDTREE_FULL_RUNS" \
            "ldslim scan ROOT (the main job)=$BIN scan $r" \
            "lddtree --root ROOT -l SCOPE-OBJECTS=$(wrap "lddtree-scope-$rname" "$scope_list" "$PY" "$(command -v lddtree)" --root "$r" -l)"
    done
fi

# ------------------------------------------------------------------ walk
if want walk; then
    # The root the performance issue describes (Debian 12 + python3 + ~15
    # wheels with vendored libraries, ~25k files, ~1k ELF objects) is the
    # six-apps root of the end-to-end tests; the fidelity root follows.
    if [[ ${APPS:-1} != 0 ]]; then
        APPS_ROOT=$(readlink -f "${LDSLIM_APPS_ROOT:-$(scripts/make-apps-root.sh | tail -1)}")
        find "$APPS_ROOT" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true
        apps_files=$(find "$APPS_ROOT" -type f | wc -l)
        apps_elf=$(wc -l <"$(elf_list "$APPS_ROOT")")
        row "- apps root: $APPS_ROOT ($apps_files regular files, $apps_elf ET_EXEC/ET_DYN objects, $(du -sh --apparent-size "$APPS_ROOT" | cut -f1))"
        hf "Walk: the apps root ($apps_files files, $apps_elf ELF objects)" "$RUNS" \
            "find ROOT -type f=find $APPS_ROOT -type f" \
            "ldslim scan ROOT --scope all --target none=$BIN scan $APPS_ROOT --scope all --target none" \
            "ldslim scan ROOT --target none (Python scope)=$BIN scan $APPS_ROOT --target none"
    fi
    hf "Walk: the fidelity root ($FILES files, $ELF_COUNT ELF objects)" "$RUNS" \
        "find ROOT -type f=find $ROOT -type f" \
        "ldslim scan ROOT --scope all --target none=$BIN scan $ROOT --scope all --target none" \
        "ldslim scan ROOT --target none (Python scope)=$BIN scan $ROOT --target none" \
        "ldslim scan ROOT --scope all --target none, one thread=env RAYON_NUM_THREADS=1 $BIN scan $ROOT --scope all --target none" \
        "find ROOT -type f -size +51c (stat per file)=find $ROOT -type f -size +51c" \
        "find ROOT -type f -exec head -c4 {} + (open per file)=find $ROOT -type f -exec head -qc4 {} +"
fi

# ------------------------------------------------------------------ resolve
if want resolve; then
    need_resolvers
    CHROOT=$(libtree_root "$ROOT")
    static_all=() static_sub=()
    if [[ -n $STATIC_BIN ]]; then
        static_all=("ldslim ldd ROOT FILES, static build=$(wrap ldslim-static-all "$ELF_LIST" "$STATIC_BIN" ldd "$ROOT")")
        static_sub=("ldslim ldd ROOT FILES, static build=$(wrap ldslim-static-sub "$SUBSET" "$STATIC_BIN" ldd "$ROOT")")
    fi
    hf "Resolve: all $ELF_COUNT ELF objects" "$RUNS" \
        "ldslim ldd ROOT FILES=$(wrap ldslim-all "$ELF_LIST" "$BIN" ldd "$ROOT")" \
        "libtree -p FILES (chroot)=$(wrap libtree-all "$ELF_LIST" chroot "$CHROOT" /usr/local/bin/libtree -p)" \
        "ldslim ldd ROOT FILES, one thread=$(wrap ldslim-all-1 "$ELF_LIST" env RAYON_NUM_THREADS=1 "$BIN" ldd "$ROOT")" \
        "${static_all[@]}"
    hf "Resolve: all $ELF_COUNT ELF objects, lddtree (slow)" "$LDDTREE_FULL_RUNS" \
        "ldslim ldd ROOT FILES=$(wrap ldslim-all "$ELF_LIST" "$BIN" ldd "$ROOT")" \
        "lddtree --root ROOT -l FILES=$(wrap lddtree-all "$ELF_LIST" "$PY" "$(command -v lddtree)" --root "$ROOT" -l)"
    hf "Resolve: every 10th ELF object ($SUBSET_COUNT)" "$(( RUNS < 5 ? 5 : RUNS / 2 ))" \
        "ldslim ldd ROOT FILES=$(wrap ldslim-sub "$SUBSET" "$BIN" ldd "$ROOT")" \
        "libtree -p FILES (chroot)=$(wrap libtree-sub "$SUBSET" chroot "$CHROOT" /usr/local/bin/libtree -p)" \
        "lddtree --root ROOT -l FILES=$(wrap lddtree-sub "$SUBSET" "$PY" "$(command -v lddtree)" --root "$ROOT" -l)" \
        "${static_sub[@]}"
fi

# ------------------------------------------------------------------ big
if want big; then
    # A 1 GiB file whose first bytes are the root's libz: same headers, same
    # dynamic section, a hole after them.
    BIGROOT=$SCRATCH/big-$NAME
    if [[ ! -f $BIGROOT/opt/big/libbig.so ]]; then
        rm -rf "$BIGROOT"
        cp -al "$ROOT" "$BIGROOT.tmp"
        mkdir -p "$BIGROOT.tmp/opt/big"
        z=$(readlink -f "$ROOT/usr/lib/x86_64-linux-gnu/libz.so.1")
        cp "$z" "$BIGROOT.tmp/opt/big/libsmall.so"
        cp "$z" "$BIGROOT.tmp/opt/big/libbig.so"
        truncate -s 1G "$BIGROOT.tmp/opt/big/libbig.so"
        mv "$BIGROOT.tmp" "$BIGROOT"
    fi
    hf "One object: 1 GiB sparse vs the $(stat -c %s "$BIGROOT/opt/big/libsmall.so")-byte original" "$(( RUNS < 50 ? 50 : RUNS ))" \
        "ldslim ldd ROOT /opt/big/libsmall.so=$BIN ldd $BIGROOT /opt/big/libsmall.so" \
        "ldslim ldd ROOT /opt/big/libbig.so=$BIN ldd $BIGROOT /opt/big/libbig.so"
    for f in libsmall.so libbig.so; do
        bytes=$(strace -f -e trace=pread64,read -o "$SCRATCH/strace.out" "$BIN" ldd "$BIGROOT" "/opt/big/$f" >/dev/null 2>&1; \
            awk '/pread64\(|read\(/ { n = $NF; if (n ~ /^[0-9]+$/) s += n } END { print s + 0 }' "$SCRATCH/strace.out")
        row "- bytes read by \`ldslim ldd ROOT /opt/big/$f\` (whole process, strace): $bytes"
    done
fi

# ------------------------------------------------------------------ tty
if want tty; then
    command -v script >/dev/null || die "script not found (bsdutils)"
    hf "Progress bar: stderr a terminal or not (both under script -qec)" "$RUNS" \
        "stderr not a terminal=script -qec '$BIN scan $ROOT --scope all --target none >/dev/null 2>/dev/null' /dev/null" \
        "stderr a terminal (bar drawn)=script -qec '$BIN scan $ROOT --scope all --target none >/dev/null' /dev/null"
fi

# ------------------------------------------------------------------ scale
if want scale; then
    row ""
    row "**Scale: hard-link copies of the root with dist-packages replicated N times as venvs /opt/pN** (load average before $(load))"
    row ""
    row "| tree | files | ldslim scan --scope all: median | per 1k files | peak RSS | Python scope: median | peak RSS | find -type f |"
    row "|---|---:|---:|---:|---:|---:|---:|---:|"
    site=usr/local/lib/python3.11/dist-packages
    for n in 0 $SCALE; do
        if [[ $n -eq 0 ]]; then
            tree=$ROOT
        else
            tree=$SCRATCH/scale$n-$NAME
            if [[ ! -f $tree/.bench-complete ]]; then
                log "building $tree ($n copies of $site)"
                rm -rf "$tree"
                cp -al "$ROOT" "$tree.tmp"
                for i in $(seq 1 "$n"); do
                    v=$tree.tmp/opt/p$i
                    mkdir -p "$v/bin" "$v/lib/python3.11"
                    printf 'home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n' >"$v/pyvenv.cfg"
                    ln -s /usr/bin/python3.11 "$v/bin/python"
                    cp -al "$ROOT/$site" "$v/lib/python3.11/site-packages"
                done
                touch "$tree.tmp/.bench-complete"
                mv "$tree.tmp" "$tree"
            fi
            find "$tree" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true
        fi
        nfiles=$(find "$tree" -type f | wc -l)
        json=$SCRATCH/scale.json
        hyperfine -N -i --style none -w 1 -r "$(( RUNS < 5 ? 5 : RUNS / 2 ))" --export-json "$json" \
            "find $tree -type f" \
            "$BIN scan $tree --scope all --target none" \
            "$BIN scan $tree --target none" >&2
        rss_all=$(rss "$BIN" scan "$tree" --scope all --target none)
        rss_py=$(rss "$BIN" scan "$tree" --target none)
        "$PY" - "$json" "$n" "$nfiles" "$rss_all" "$rss_py" >>"$TABLE" <<'EOF'
import json, sys
path, n, files, rss_all, rss_py = sys.argv[1:]
r = [x['median'] for x in json.load(open(path))['results']]
files = int(files)
name = 'the root' if n == '0' else f'root + {n} × dist-packages'
print(f"| {name} | {files} | {r[1]*1000:.0f} ms | {r[1]*1e6/files:.2f} ms | {int(rss_all)/1024:.1f} MiB "
      f"| {r[2]*1000:.0f} ms | {int(rss_py)/1024:.1f} MiB | {r[0]*1000:.0f} ms |")
EOF
    done
fi

# ------------------------------------------------------------------ trace
if want trace; then
    command -v strace >/dev/null || die "strace not found: apt-get install -y strace"
    RT_ROOT=$(readlink -f "${LDSLIM_RUNTIME_ROOT:-$(scripts/make-runtime-root.sh | tail -n 1)}")
    tree=$SCRATCH/trace-$(basename "$RT_ROOT")
    if [[ ! -d $tree ]]; then
        log "hard-link copy of $RT_ROOT"
        rm -rf "$tree.tmp"
        cp -al "$RT_ROOT" "$tree.tmp"
        mv "$tree.tmp" "$tree"
    fi
    for s in pyvips gunicorn; do
        # A new file in the copy's own /tmp directory: the cached root is
        # not touched.
        rm -f "$tree/tmp/bench-$s.py"
        cp "testdata/runtime/$s.py" "$tree/tmp/bench-$s.py"
        chmod 644 "$tree/tmp/bench-$s.py"
        run="/usr/bin/python3 -B /tmp/bench-$s.py"
        hf "Tracing the $s snippet (chroot, as 65532)" "$RUNS" \
            "untraced=chroot --userspec=65532:65532 $tree $run" \
            "ldslim trace=$BIN trace -q --root $tree --user 65532:65532 -o $SCRATCH/trace-$s.json -- $run" \
            "strace -f (same calls)=strace -f -qq -o /dev/null -e trace=open,openat,openat2,execve,execveat chroot --userspec=65532:65532 $tree $run"
    done
fi

row ""
row "- load average at end: $(load)"
cat "$TABLE"
