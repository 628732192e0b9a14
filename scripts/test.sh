#!/usr/bin/env bash
# The project's one test command: unit, integration and end-to-end tests.
#
#   scripts/test.sh                      # everything (builds/reuses the Debian root)
#   scripts/test.sh --test differential  # extra arguments go to cargo nextest run
#   scripts/test.sh -E 'test(differential)'
#
# The end-to-end tests need a real Debian 12 root filesystem; it is built (once,
# then cached) by scripts/make-root.sh, which needs root and debootstrap. Set
# LDSLIM_E2E_ROOT to use an existing root instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z "${LDSLIM_E2E_ROOT:-}" ]]; then
    echo "[test] building or reusing the Debian root (scripts/make-root.sh)" >&2
    LDSLIM_E2E_ROOT=$(scripts/make-root.sh | tail -n 1)
fi
[[ -d "$LDSLIM_E2E_ROOT" ]] || { echo "[test] error: root '$LDSLIM_E2E_ROOT' is not a directory" >&2; exit 1; }
export LDSLIM_E2E_ROOT
echo "[test] LDSLIM_E2E_ROOT=$LDSLIM_E2E_ROOT" >&2
# Every part of every test runs here: a test that would skip a part for want
# of root or of a tool (strace, qemu-user-static, binutils...) fails instead.
export LDSLIM_TEST_STRICT=1

if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --run-ignored all --no-fail-fast "$@"
else
    echo "[test] cargo-nextest not found; falling back to cargo test" >&2
    exec cargo test --no-fail-fast "$@" -- --include-ignored
fi
