#!/usr/bin/env bash
# Build (or reuse) the "builder" root of ldslim's application end-to-end test
# (tests/apps.rs, scripts/e2e-apps.sh), and print its path as the last line of
# stdout.
#
#   scripts/make-apps-root.sh       # prints e.g. /var/cache/ldslim-e2e/apps-root-1a2b3c4d5e6f
#
# The root is a copy of scripts/make-root.sh's Debian 12 root (debootstrap
# minbase, python3, python3-venv; built or reused by that script) whose Python
# package directories are emptied, then given the six applications of
# testdata/apps/ installed the ways users install them (testdata/apps/manifest):
#   /usr/local/lib/python3.11/dist-packages   flask+gunicorn, pandas, kubernetes
#   /app/.venv                                fastapi+uvicorn[standard], in a venv
#                                             made by the root's own python3 -m venv
#   /home/app/.local/lib/python3.11/site-packages
#                                             google-cloud-pubsub, the user site of
#                                             "app" (uid 1000)
# and each app's code in /app/APP/. Every package is pinned in
# testdata/apps/APP/requirements.txt and installed by the host's pip with
# --target and --only-binary=:all: --platform manylinux2014_x86_64
# --python-version 3.11 --implementation cp; the script checks that exactly the
# pinned distributions were installed, and that each app imports in the root.
#
# Cache: ${LDSLIM_CACHE:-/var/cache/ldslim-e2e}/apps-root-<key>, where <key>
# hashes this script, testdata/apps/ and the base root (its path and build
# time). Ready only once .complete exists (written last); built in a temporary
# directory next to it and moved into place. The wheels are kept in
# $CACHE/apps-wheels, so a rebuild needs no network.
#
# Environment:
#   LDSLIM_CACHE        cache directory (default /var/cache/ldslim-e2e)
#   LDSLIM_APPS_BASE    the Debian root to start from (default: scripts/make-root.sh's)
#   PYTHON              host python with pip (default python3)
#   LDSLIM_KEEP_ROOTS   how many apps roots to keep in the cache (default 2)
#
# Progress goes to stderr; only the root's path goes to stdout.
set -euo pipefail

PYVER=3.11
SYSTEM_SITE=usr/local/lib/python$PYVER/dist-packages
VENV=app/.venv
VENV_SITE=$VENV/lib/python$PYVER/site-packages
APP_USER=app
APP_ID=1000
USER_SITE=home/$APP_USER/.local/lib/python$PYVER/site-packages

log() { printf '[make-apps-root] %s\n' "$*" >&2; }
die() { printf '[make-apps-root] error: %s\n' "$*" >&2; exit 1; }

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
APPS=$(readlink -f "$SCRIPT_DIR/../testdata/apps")
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export LC_ALL=C
CACHE=${LDSLIM_CACHE:-/var/cache/ldslim-e2e}
PYTHON=${PYTHON:-python3}
START=$SECONDS

[[ $(id -u) -eq 0 ]] || die "must run as root (chroot, file ownership); try: sudo $0"
[[ -f "$APPS/manifest" ]] || die "$APPS/manifest not found"
"$PYTHON" -m pip --version >/dev/null 2>&1 \
    || die "'$PYTHON -m pip' does not work; install pip for the host python (or set PYTHON=...)"

# ---------------------------------------------------------------- manifest
# "APP SITE" lines; SITE is none, system, venv or user.
declare -A SITE_OF=()
APP_NAMES=()
while read -r app site _; do
    [[ -z "$app" || "$app" == \#* ]] && continue
    case "$site" in none | system | venv | user) ;; *) die "manifest: $app has unknown site '$site'" ;; esac
    [[ -d "$APPS/$app" ]] || die "manifest names $app, but $APPS/$app does not exist"
    SITE_OF[$app]=$site
    APP_NAMES+=("$app")
done <"$APPS/manifest"
[[ ${#APP_NAMES[@]} -gt 0 ]] || die "no apps in $APPS/manifest"
site_dir() {
    case "$1" in
        system) echo "$SYSTEM_SITE" ;;
        venv) echo "$VENV_SITE" ;;
        user) echo "$USER_SITE" ;;
    esac
}

# ---------------------------------------------------------------- base root
if [[ -n "${LDSLIM_APPS_BASE:-}" ]]; then
    BASE=$LDSLIM_APPS_BASE
else
    log "building or reusing the Debian base root (scripts/make-root.sh)"
    BASE=$("$SCRIPT_DIR/make-root.sh" | tail -n 1) || die "scripts/make-root.sh failed"
fi
BASE=$(readlink -f "$BASE")
[[ -x "$BASE/usr/bin/python$PYVER" ]] || die "base root $BASE has no /usr/bin/python$PYVER"
[[ -f "$BASE/usr/lib/python$PYVER/venv/__init__.py" ]] || die "base root $BASE has no venv module (python3-venv)"

# ---------------------------------------------------------------- cache key
KEY=$(
    {
        cat "$SCRIPT_PATH"
        printf 'base=%s\n' "$BASE"
        cat "$BASE/.complete" 2>/dev/null || true
        # Every file of testdata/apps, by path and content.
        (cd "$APPS" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -c1-12
)
ROOT="$CACHE/apps-root-$KEY"
MARKER="$ROOT/.complete"
if [[ -f "$MARKER" ]]; then
    log "reusing cached apps root $ROOT"
    printf '%s\n' "$ROOT"
    exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/apps-root-$KEY.lock"
if ! flock -n 9; then
    log "another build of apps-root-$KEY is running; waiting for it"
    flock 9
fi
if [[ -f "$MARKER" ]]; then
    log "reusing cached apps root $ROOT (built by a concurrent run)"
    printf '%s\n' "$ROOT"
    exit 0
fi

# Unmount everything at or below a directory, deepest first, then remove it.
remove_tree() {
    local dir mnt
    [[ -e "$1" ]] || return 0
    dir=$(readlink -f "$1")
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
    rm -rf --one-file-system "$1"
}

TMP="$CACHE/apps-root-$KEY.tmp.$$"
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
for stale in "$CACHE/apps-root-$KEY".tmp.* "$ROOT"; do
    if [[ -e "$stale" ]]; then
        log "removing incomplete build $stale"
        remove_tree "$stale"
    fi
done

# ---------------------------------------------------------------- copy the base
log "copying the base root $BASE ($(du -sh "$BASE" 2>/dev/null | cut -f1))"
cp -a "$BASE" "$TMP"
rm -f "$TMP/.complete"

# Start from empty package directories, whatever the base has put there: the
# apps' pins alone decide what is installed.
rm -rf "${TMP:?}/$SYSTEM_SITE" "${TMP:?}/app" "${TMP:?}/home/$APP_USER"
mkdir -p "$TMP/$SYSTEM_SITE"

# Commands run inside the root see none of the host's environment; -B keeps
# python from leaving __pycache__ files behind.
CHROOT=$(command -v chroot) || die "chroot not found"
in_root() { env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"; }

# ---------------------------------------------------------------- user and venv
existing=$(awk -F: -v id="$APP_ID" '$3 == id { print $1 }' "$TMP/etc/passwd")
if [[ -z "$existing" ]]; then
    # Appended by hand: minbase's useradd would also want the shadow files.
    printf '%s:x:%s:%s::/home/%s:/bin/sh\n' "$APP_USER" "$APP_ID" "$APP_ID" "$APP_USER" >>"$TMP/etc/passwd"
elif [[ "$existing" != "$APP_USER" ]]; then
    die "uid $APP_ID is '$existing' in the base root's /etc/passwd, not '$APP_USER'"
fi
grep -q "^$APP_USER:" "$TMP/etc/group" || printf '%s:x:%s:\n' "$APP_USER" "$APP_ID" >>"$TMP/etc/group"
install -d -m 0755 -o "$APP_ID" -g "$APP_ID" "$TMP/home/$APP_USER"

log "creating the virtual environment /$VENV with the root's python3 -m venv"
in_root "$CHROOT" "$TMP" "python$PYVER" -B -m venv --without-pip "/$VENV" >&2 \
    || die "python3 -m venv inside the root failed"
[[ -f "$TMP/$VENV/pyvenv.cfg" && -d "$TMP/$VENV_SITE" ]] || die "/$VENV has no pyvenv.cfg or no $VENV_SITE"

# ---------------------------------------------------------------- wheels
export PIP_CACHE_DIR="$CACHE/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore
WHEELHOUSE="$CACHE/apps-wheels"
mkdir -p "$PIP_CACHE_DIR" "$WHEELHOUSE"
PIP_PLATFORM=(--only-binary=:all: --platform manylinux2014_x86_64 --python-version "$PYVER" --implementation cp)

# install_site SITE: every app of that site in one pip run (one resolution, as
# a user installing them into one environment would).
install_site() {
    local site=$1 dir app reqs=()
    dir=$(site_dir "$site")
    for app in "${APP_NAMES[@]}"; do
        [[ ${SITE_OF[$app]} == "$site" && -f "$APPS/$app/requirements.txt" ]] && reqs+=(-r "$APPS/$app/requirements.txt")
    done
    [[ ${#reqs[@]} -gt 0 ]] || return 0
    mkdir -p "$TMP/$dir"
    if ! "$PYTHON" -m pip install --quiet --no-warn-conflicts --no-index --find-links "$WHEELHOUSE" \
        --target "$TMP/$dir" "${PIP_PLATFORM[@]}" "${reqs[@]}" >&2 2>"$CACHE/apps-pip.log"; then
        log "downloading the wheels for /$dir into $WHEELHOUSE"
        "$PYTHON" -m pip download --quiet --dest "$WHEELHOUSE" "${PIP_PLATFORM[@]}" "${reqs[@]}" >&2 \
            || die "pip download for /$dir failed"
        find "${TMP:?}/$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
        "$PYTHON" -m pip install --quiet --no-warn-conflicts --no-index --find-links "$WHEELHOUSE" \
            --target "$TMP/$dir" "${PIP_PLATFORM[@]}" "${reqs[@]}" >&2 \
            || die "pip install into /$dir failed"
    fi
    # pip --target puts console scripts in DIR/bin with the host
    # interpreter's path in their shebang: useless in any image. In the
    # venv they go where pip run by the venv's own python puts them, with
    # the shebang it writes (the venv's bin/python): console-script apps.
    if [[ $site == venv && -d "$TMP/$dir/bin" ]]; then
        local script first
        for script in "$TMP/$dir"/bin/*; do
            IFS= read -r first <"$script" || true
            [[ $first == '#!'*python* ]] || continue
            { printf '#!/%s/bin/python\n' "$VENV"; tail -n +2 "$script"; } >"$TMP/$VENV/bin/${script##*/}"
            chmod 0755 "$TMP/$VENV/bin/${script##*/}"
        done
    fi
    rm -rf "${TMP:?}/$dir/bin"
    # Exactly the pinned distributions, no more (an unpinned new dependency
    # would make the root drift), no fewer.
    "$PYTHON" - "$TMP/$dir" "${reqs[@]}" <<'PY' || die "/$dir does not hold exactly the pinned distributions"
import pathlib, re, sys
site, reqs = pathlib.Path(sys.argv[1]), sys.argv[2:]
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
want = set()
for flag, path in zip(reqs[::2], reqs[1::2]):
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[^]]*\])?==(\S+)", line)
            if not m:
                sys.exit(f"{path}: not an exact pin: {line}")
            want.add((norm(m[1]), m[3]))
have = set()
for d in site.glob("*.dist-info"):
    name, _, version = d.name[: -len(".dist-info")].rpartition("-")
    have.add((norm(name), version))
for n, v in sorted(want - have):
    print(f"pinned but not installed: {n}=={v}", file=sys.stderr)
for n, v in sorted(have - want):
    print(f"installed but not pinned: {n}=={v}", file=sys.stderr)
sys.exit(1 if want != have else 0)
PY
    log "/$dir: $(find "$TMP/$dir" -maxdepth 1 -name '*.dist-info' | wc -l) distributions, $(du -sh "$TMP/$dir" | cut -f1)"
}

T1=$SECONDS
for site in system venv user; do
    install_site "$site"
done
chown -R "$APP_ID:$APP_ID" "$TMP/home/$APP_USER"
log "wheels installed in $((SECONDS - T1)) s"

# ---------------------------------------------------------------- the apps' code
install -d -m 0755 "$TMP/app"
for app in "${APP_NAMES[@]}"; do
    install -d -m 0755 "$TMP/app/$app"
    find "$APPS/$app" -maxdepth 1 -type f -exec install -m 0644 -t "$TMP/app/$app" {} +
done

# ---------------------------------------------------------------- checks
# Each app's top-level imports, with its own interpreter and site, as root in
# the builder (the full runs are tests/apps.rs's job).
declare -A IMPORTS=(
    [hello]="json, ssl"
    [flask]="flask, gunicorn.app.base"
    [fastapi]="fastapi, uvicorn, uvloop, httptools, websockets, watchfiles, yaml"
    [pandas]="pandas, numpy"
    [pubsub]="grpc, google.cloud.pubsub_v1"
    [kubernetes]="kubernetes.client"
)
for app in "${APP_NAMES[@]}"; do
    python=/usr/bin/python3 home=/root
    case "${SITE_OF[$app]}" in
        venv) python=/$VENV/bin/python ;;
        user) home=/home/$APP_USER ;;
    esac
    in_root HOME="$home" "$CHROOT" "$TMP" "$python" -B -c "import ${IMPORTS[$app]:-sys}" >&2 \
        || die "$app does not import in the builder root ($python -c 'import ${IMPORTS[$app]:-sys}')"
done
log "every app imports in the builder root"

# ---------------------------------------------------------------- publish
mv -T "$TMP" "$ROOT"
sync -f "$ROOT" 2>/dev/null || true
date -u +%Y-%m-%dT%H:%M:%SZ >"$MARKER"
KEEP=${LDSLIM_KEEP_ROOTS:-2}
# shellcheck disable=SC2012 # our own names: apps-root-<hex>/.complete
mapfile -t OLD < <(ls -1t "$CACHE"/apps-root-*/.complete 2>/dev/null | tail -n +"$((KEEP + 1))" || true)
for marker in "${OLD[@]}"; do
    old=$(dirname "$marker")
    [[ "$old" == "$ROOT" ]] && continue
    log "pruning old apps root $old"
    rm -f "$marker"
    remove_tree "$old"
    rm -f "$old.lock"
done

log "apps root ready: $ROOT ($(du -sh "$ROOT" 2>/dev/null | cut -f1), built in $((SECONDS - START)) s)"
printf '%s\n' "$ROOT"
