#!/usr/bin/env bash
# Fetch (or reuse) the official CycloneDX JSON schemas, and print the
# directory holding them as the last line of stdout. tests/sbom.rs validates
# `ldslim scan --emit sbom` against bom-1.5 there.
#
#   scripts/cyclonedx-schema.sh     # prints e.g. /var/cache/ldslim-e2e/cyclonedx-schema-10.3.0
#
# The schemas come from the npm package @cyclonedx/cyclonedx-library (pinned
# below), whose res/schema/ holds the CycloneDX specification's JSON schemas
# for offline use: bom-1.5.SNAPSHOT.schema.json and the two it refers to,
# spdx.SNAPSHOT.schema.json and jsf-0.82.SNAPSHOT.schema.json (their $refs
# name them relative to the schemas' $id, http://cyclonedx.org/schema/). The
# package is fetched with `npm pack`, through npm's own configuration
# (registry, proxy, cache); nothing of it is installed or run.
#
# Cache: $CACHE/cyclonedx-schema-VERSION/ holds the schema files and
# .complete (written last); built in a temporary directory moved into place.
#
# Environment:
#   LDSLIM_CACHE   cache directory (default /var/cache/ldslim-e2e)
#
# Exit status 3 when npm is missing and nothing is cached (install it:
# apt-get install npm). Progress goes to stderr; only the path to stdout.
set -euo pipefail

VERSION=10.3.0
PACKAGE=@cyclonedx/cyclonedx-library

log() { printf '[cyclonedx-schema] %s\n' "$*" >&2; }
die() { printf '[cyclonedx-schema] error: %s\n' "$*" >&2; exit 1; }

CACHE=${LDSLIM_CACHE:-/var/cache/ldslim-e2e}
OUT="$CACHE/cyclonedx-schema-$VERSION"
if [[ -f "$OUT/.complete" ]]; then
    printf '%s\n' "$OUT"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    log "npm not found; install it (apt-get install npm)"
    exit 3
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/cyclonedx-schema.lock"
flock 9
if [[ -f "$OUT/.complete" ]]; then
    printf '%s\n' "$OUT"
    exit 0
fi

TMP=$(mktemp -d "$CACHE/cyclonedx-schema.tmp.XXXXXX")
trap 'rm -rf --one-file-system "$TMP"' EXIT
log "npm pack $PACKAGE@$VERSION"
(cd "$TMP" && npm pack --silent "$PACKAGE@$VERSION" </dev/null >/dev/null) \
    || die "npm pack $PACKAGE@$VERSION failed"
TGZ=$(find "$TMP" -maxdepth 1 -name '*.tgz' | head -n 1)
[[ -n "$TGZ" ]] || die "npm pack wrote no .tgz"
tar -xzf "$TGZ" -C "$TMP" package/res/schema
mkdir "$TMP/out"
for f in bom-1.5.SNAPSHOT.schema.json spdx.SNAPSHOT.schema.json jsf-0.82.SNAPSHOT.schema.json; do
    [[ -f "$TMP/package/res/schema/$f" ]] || die "$PACKAGE@$VERSION has no res/schema/$f"
    cp "$TMP/package/res/schema/$f" "$TMP/out/$f"
done
rm -rf --one-file-system "$OUT"
mv -T "$TMP/out" "$OUT"
date -u +%Y-%m-%dT%H:%M:%SZ >"$OUT/.complete"
log "schemas ready: $OUT"
printf '%s\n' "$OUT"
